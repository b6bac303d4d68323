"""Pages: a CSR's personal phrases, and the public page of a published article (the
link on the card a customer receives)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assist import markdown, selectors, services
from assist.forms import PersonalPhraseForm
from assist.models import Phrase
from assist.placeholders import PLACEHOLDERS
from assist.services import AssistError
from config.users import Role, user_roles


def _csr_only(request: HttpRequest) -> None:
    if Role.CSR not in user_roles(request.user):
        raise PermissionDenied("Personal phrases are for CSRs.")


def _own_phrase(request: HttpRequest, phrase_id: int) -> Phrase:
    phrase = selectors.personal_phrases(user=request.user).filter(pk=phrase_id).first()  # type: ignore[arg-type]
    if phrase is None:
        raise Http404("You have no such phrase.")
    return phrase


def _save(request: HttpRequest, form: PersonalPhraseForm, phrase_id: int | None) -> bool:
    if not form.is_valid():
        return False
    try:
        services.personal_phrase_save(user=request.user, phrase_id=phrase_id, **form.cleaned_data)  # type: ignore[arg-type]
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def phrases(request: HttpRequest) -> HttpResponse:
    """The CSR's own phrases, and a form to add one."""
    _csr_only(request)
    form = PersonalPhraseForm(request.POST or None)
    if request.method == "POST" and _save(request, form, None):
        return redirect(reverse("assist:phrases") + "?saved=1")
    context = {
        "nav": "phrases",
        "form": form,
        "phrases": selectors.personal_phrases(user=request.user),  # type: ignore[arg-type]
        "placeholders": PLACEHOLDERS,
        "saved": request.GET.get("saved") == "1",
    }
    return render(request, "assist/phrases.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def phrase_edit(request: HttpRequest, phrase_id: int) -> HttpResponse:
    _csr_only(request)
    phrase = _own_phrase(request, phrase_id)
    form = (
        PersonalPhraseForm(request.POST)
        if request.method == "POST"
        else PersonalPhraseForm.for_phrase(phrase)
    )
    if request.method == "POST" and _save(request, form, phrase.pk):
        return redirect(reverse("assist:phrases") + "?saved=1")
    context = {"nav": "phrases", "form": form, "phrase": phrase, "placeholders": PLACEHOLDERS}
    return render(request, "assist/phrase_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def phrase_delete(request: HttpRequest, phrase_id: int) -> HttpResponse:
    _csr_only(request)
    try:
        services.personal_phrase_delete(user=request.user, phrase_id=phrase_id)  # type: ignore[arg-type]
    except AssistError as error:
        raise Http404(error.message) from None
    return redirect(reverse("assist:phrases"))


@require_GET
def article_public(request: HttpRequest, slug: str) -> HttpResponse:
    """A published article for anyone (customers follow the card's link); drafts are
    not found."""
    article = selectors.published_articles().filter(slug=slug).first()
    if article is None:
        raise Http404("No such article.")
    return render(
        request, "assist/article.html", {"article": article, "html": markdown.render(article.body)}
    )
