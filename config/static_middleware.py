"""WhiteNoise's static files, without costing every other request two thread hops.

WhiteNoiseMiddleware is synchronous only. Under ASGI, Django runs a sync middleware on
the request's sync thread and hops back to the event loop for the rest of the chain,
then to the sync thread again for the view: every API request and page paid for three
loop round trips and held its database connection across them (under 50 escalations a
second, daphne's threads queued for the connection pool while the database idled).
This middleware is async-capable: requests outside the static URLs go straight on, and
static files are looked up and served by WhiteNoise as before.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.whitenoise = WhiteNoiseMiddleware(get_response)
        # WhiteNoise also serves WHITENOISE_ROOT files at the site root.
        self.everywhere = bool(getattr(settings, "WHITENOISE_ROOT", None))
        self.prefix = self.whitenoise.static_prefix
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _static_response(self, request: HttpRequest) -> HttpResponseBase | None:
        whitenoise = self.whitenoise
        if whitenoise.autorefresh:
            static_file = whitenoise.find_file(request.path_info)
        else:
            static_file = whitenoise.files.get(request.path_info)
        return None if static_file is None else whitenoise.serve(static_file, request)

    def _may_be_static(self, request: HttpRequest) -> bool:
        return self.everywhere or request.path_info.startswith(self.prefix)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        response = self._static_response(request) if self._may_be_static(request) else None
        return response if response is not None else self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if self._may_be_static(request):
            response = await sync_to_async(self._static_response, thread_sensitive=False)(request)
            if response is not None:
                return response
        return await self.get_response(request)
