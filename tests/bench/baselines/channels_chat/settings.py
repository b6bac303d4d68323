"""Minimal settings for the Channels tutorial chat baseline: no database, no apps of
ours, and the portal's channel layer configuration (imported from config.settings, so
both always match)."""

import os

from config import settings as portal

SECRET_KEY = "bench-baseline-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["daphne", "channels"]
ASGI_APPLICATION = f"{__package__}.asgi.application"
DATABASES: dict = {}
USE_TZ = True
TIME_ZONE = "UTC"
# The SAME layer as the portal (backend — CHANNEL_LAYER_BACKEND —, hosts, capacity,
# expiry); only the prefix is its own so the two never share groups.
CHANNEL_LAYERS = {
    "default": {
        **portal.CHANNEL_LAYERS["default"],
        "CONFIG": {
            **portal.CHANNEL_LAYERS["default"]["CONFIG"],
            "prefix": os.environ.get("BASELINE_LAYER_PREFIX", "baseline"),
        },
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
