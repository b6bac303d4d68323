"""The upload benchmark's URLs (tests/bench/bench_upload.py): the portal's, plus the
baseline — a plain Django upload view (a form with a FileField, Django's default upload
handlers, the file saved through the default storage) at /bench/plain-upload/. Never
part of the product."""

from django import forms
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


class PlainUploadForm(forms.Form):
    file = forms.FileField()


@csrf_exempt
def plain_upload(request: HttpRequest) -> JsonResponse:
    form = PlainUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    upload = form.cleaned_data["file"]
    name = default_storage.save(f"bench-plain/{upload.name}", upload)
    return JsonResponse({"name": name, "size": upload.size}, status=201)


urlpatterns = [
    path("bench/plain-upload/", plain_upload),
    path("", include("config.urls")),
]
