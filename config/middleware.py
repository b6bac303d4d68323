"""Django's middleware, each marked synchronous only.

Under ASGI Django runs an async-capable middleware's every hook on its own hop between
the event loop and the request's thread; every view here is synchronous, so marking
the chain sync-only (the `async_capable` flag of Django's middleware API) runs the
whole chain and the view on the request's thread."""

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csrf, security


def _sync_only(middleware: type) -> type:
    """`middleware`, the same class but for its async_capable flag."""
    return type(
        middleware.__name__, (middleware,), {"async_capable": False, "__module__": __name__}
    )


SecurityMiddleware = _sync_only(security.SecurityMiddleware)
SessionMiddleware = _sync_only(sessions.SessionMiddleware)
CommonMiddleware = _sync_only(common.CommonMiddleware)
CsrfViewMiddleware = _sync_only(csrf.CsrfViewMiddleware)
AuthenticationMiddleware = _sync_only(auth.AuthenticationMiddleware)
MessageMiddleware = _sync_only(messages.MessageMiddleware)
XFrameOptionsMiddleware = _sync_only(clickjacking.XFrameOptionsMiddleware)
