"""Static files are served by WhiteNoise; every other request passes straight through,
in both the sync and the async middleware chain."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from config.static_middleware import StaticFilesMiddleware

STATIC_PATH = "/static/portal/js/sentiment.js"


@pytest.fixture
def factory():
    return RequestFactory()


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@override_settings(WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True)  # app files
def test_sync_chain_serves_static_files_and_passes_the_rest_on(factory):
    middleware = StaticFilesMiddleware(lambda request: HttpResponse("from the view"))

    static = middleware(factory.get(STATIC_PATH))
    assert static.status_code == 200
    assert b"sentiment" in _body(static)
    assert middleware(factory.get("/api/v1/escalations/")).content == b"from the view"
    missing = middleware(factory.get("/static/portal/js/no-such-file.js"))
    assert missing.content == b"from the view"  # Django's 404 handling decides, as before


@pytest.mark.asyncio
@override_settings(WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True)
async def test_async_chain_serves_static_files_and_passes_the_rest_on(factory):
    calls = []

    async def view(request):
        calls.append(request.path)
        return HttpResponse("from the view")

    middleware = StaticFilesMiddleware(view)

    static = await middleware(factory.get(STATIC_PATH))
    assert static.status_code == 200
    assert (await middleware(factory.get("/portal/"))).content == b"from the view"
    assert calls == ["/portal/"]
