"""Minimal settings for the Channels tutorial chat baseline: no database, no apps of
ours, and the portal's channel layer configuration (imported from config.settings, so
both always match)."""

import os

from config import settings as portal

SECRET_KEY = "bench-baseline-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["daphne", "channels"]
ASGI_APPLICATION = "tests.bench.baselines.channels_chat.asgi.application"
DATABASES: dict = {}
USE_TZ = True
# The SAME layer as the portal (backend, hosts, capacity, expiry); only the prefix is
# its own so the two never share groups.
CHANNEL_LAYERS = {
    "default": {
        **portal.CHANNEL_LAYERS["default"],
        "CONFIG": {
            **portal.CHANNEL_LAYERS["default"]["CONFIG"],
            "prefix": os.environ.get("BASELINE_LAYER_PREFIX", "baseline"),
        },
    }
}
# `bench_chat_latency.py --layer pubsub`: the portal then runs on the pub/sub layer too.
if os.environ.get("BASELINE_LAYER_BACKEND", "").endswith("RedisPubSubChannelLayer"):
    _host = CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {"address": _host["address"], "max_connections": _host["max_connections"]}
                ],
                "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            },
        }
    }
LOGGING = {"version": 1, "disable_existing_loggers": False}
