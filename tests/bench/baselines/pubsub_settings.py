"""The portal's settings with RedisPubSubChannelLayer instead of RedisChannelLayer, for
`bench_chat_latency.py --layer pubsub` (daphne and Celery both run under it).
config/settings.py has no switch for the layer backend; this module stands in for one."""

from config.settings import *  # noqa: F403
from config.settings import CHANNEL_LAYERS as _PORTAL_LAYERS

_host = _PORTAL_LAYERS["default"]["CONFIG"]["hosts"][0]
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": _host["address"], "max_connections": _host["max_connections"]}],
            "prefix": _PORTAL_LAYERS["default"]["CONFIG"]["prefix"],
        },
    }
}
