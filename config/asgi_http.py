"""Django's HTTP handling under ASGI with the middleware chain and the view run in one
hop to the request's thread.

Django's own ASGIHandler runs the chain in async mode. Django's built-in middleware
(sessions, CSRF, auth, messages, security, common, clickjacking) is written for both
modes through MiddlewareMixin, which in async mode calls each process_request and
process_response through its own `sync_to_async`: about fifteen round trips between
the event loop and the request's thread for one request, before and after a view that
is itself synchronous. Every view here is synchronous, so this handler builds the chain
in sync mode and runs it, view included, in one hop. The request's thread, its
database connection and the disconnect handling are Django's, unchanged: only where the
chain runs differs.
"""

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # thread_sensitive: the request's own thread (ASGIHandler.__call__ gives each
        # request a ThreadSensitiveContext), as Django runs a sync view.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application, with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
