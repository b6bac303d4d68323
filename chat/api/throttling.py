"""Rate limits of the bot API, counted per bot client rather than per address."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from chat.models import BotClient


class BotClientRateThrottle(SimpleRateThrottle):
    """REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["bot_client"] requests per client."""

    scope = "bot_client"

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

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        client = request.user
        if not isinstance(client, BotClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": client.pk}
