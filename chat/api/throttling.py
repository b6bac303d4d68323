"""Rate limits of the bot API, counted per bot client rather than per address.

DRF's SimpleRateThrottle keeps a list of request times in the cache and writes it back
after each request: concurrent requests of one client read the same list and overwrite
each other's entries, so a client sending in parallel was never limited (40 requests
at once against a limit of 10 all passed). The count here is one atomic Redis INCR per
clock-aligned window instead, which also costs one small round trip, not a list read
and write. While Redis is down requests are let through uncounted (config.ratelimit).
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from chat.models import BotClient
from config.ratelimit import window_count_or_none


class BotClientRateThrottle(SimpleRateThrottle):
    """REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["bot_client"] requests per client."""

    scope = "bot_client"
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs leave them out).
    num_requests: int
    duration: int
    retry_after: int

    def get_rate(self) -> str | None:
        # Read at request time (the base class reads the settings once, at import), so
        # a changed setting applies without a restart of the test process.
        try:
            # The stubs type the rates as numbers; DRF's are "N/period" strings.
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # type: ignore[return-value]
        except KeyError:
            raise ImproperlyConfigured(
                f"No throttle rate set for the '{self.scope}' scope."
            ) from None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        counted = window_count_or_none(self.key, window_seconds=self.duration)
        if counted is None:
            return True  # the cache is down: fail open (logged)
        self.retry_after = counted.retry_after
        return counted.count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window turns over (the Retry-After header)."""
        return self.retry_after

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        client = request.user
        if not isinstance(client, BotClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": client.pk}
