"""Which origins may open a WebSocket: the ones Django's CSRF check accepts for a POST.

Browsers send `Origin` with every WebSocket handshake, and cookies go along whatever the
page that opens the socket, so the Origin check is what keeps another site's page from
using a CSR's session over a socket. Channels' `AllowedHostsOriginValidator` compares
only the host name with ALLOWED_HOSTS, so a page on any port of an allowed host (say
http://localhost:1) passed, while Django's CSRF check refuses that origin. Here each
handshake gets the list Django's `CsrfViewMiddleware` would accept, handed to channels'
own `OriginValidator` (which compares scheme, host and port):

- the handshake's own origin: `http://` or `https://` (as `request.is_secure()`
  decides, SECURE_PROXY_SSL_HEADER included) and the `Host` header (X-Forwarded-Host with
  USE_X_FORWARDED_HOST), when that host is one of ALLOWED_HOSTS;
- every entry of CSRF_TRUSTED_ORIGINS, where `https://*.example.com` admits the
  subdomains of example.com, as it does for CSRF.
"""

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import split_domain_port, validate_host

# Django's get_host() allows these while DEBUG is on and ALLOWED_HOSTS is empty.
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _is_secure(scope: dict[str, Any], headers: dict[str, str]) -> bool:
    """request.is_secure() for a handshake: the proxy's header when Django trusts one,
    else the connection's own scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        header = meta_name.removeprefix("HTTP_").replace("_", "-").lower()
        if header in headers:
            return headers[header].split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") in ("wss", "https")


def _host(scope: dict[str, Any], headers: dict[str, str], secure: bool) -> str | None:
    """request.get_host() for a handshake, or None where Django raises DisallowedHost."""
    if settings.USE_X_FORWARDED_HOST and "x-forwarded-host" in headers:
        host = headers["x-forwarded-host"]
    elif "host" in headers:
        host = headers["host"]
    elif scope.get("server"):
        name, port = scope["server"][0], str(scope["server"][1])
        host = name if port == ("443" if secure else "80") else f"{name}:{port}"
    else:
        return None
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = DEBUG_HOSTS
    domain, _ = split_domain_port(host)
    return host if domain and validate_host(domain, allowed_hosts) else None


def handshake_origin(scope: dict[str, Any]) -> str | None:
    """The origin of the page a same-site handshake comes from (CSRF's "good origin"),
    or None when its host is not one of ALLOWED_HOSTS."""
    headers = _headers(scope)
    secure = _is_secure(scope, headers)
    host = _host(scope, headers, secure)
    return None if host is None else f"{'https' if secure else 'http'}://{host}"


def trusted_origins() -> list[str]:
    """CSRF_TRUSTED_ORIGINS in channels' pattern syntax: Django's `https://*.example.com`
    is channels' `https://.example.com` (the domain and its subdomains)."""
    return [origin.replace("://*.", "://.", 1) for origin in settings.CSRF_TRUSTED_ORIGINS]


def allowed_origins(scope: dict[str, Any]) -> list[str]:
    own = handshake_origin(scope)
    return [*([own] if own else []), *trusted_origins()]


class CsrfOriginValidator:
    """ASGI middleware: a WebSocket handshake goes on only from an origin that Django's
    CSRF check would accept; any other, or none, is refused with HTTP 403 (channels'
    OriginValidator with the list for this handshake)."""

    def __init__(self, application: Any):
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        validator = OriginValidator(self.application, allowed_origins(scope))
        return await validator(scope, receive, send)
