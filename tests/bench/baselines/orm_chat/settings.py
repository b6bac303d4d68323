"""Settings of the ORM chat baseline: one app (this one), a PostgreSQL database of its
own (BASELINE_DATABASE_URL), and from the portal's config.settings the channel layer
(only the prefix differs) and the database connection handling (connection age, health
checks, pool), so that the portal and this baseline differ by their code alone."""

import os

import dj_database_url

from config import settings as portal

SECRET_KEY = "bench-baseline-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["daphne", "channels", __package__]
ASGI_APPLICATION = f"{__package__}.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_portal_database = portal.DATABASES["default"]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["BASELINE_DATABASE_URL"],
        conn_max_age=_portal_database.get("CONN_MAX_AGE", 0),
        conn_health_checks=_portal_database.get("CONN_HEALTH_CHECKS", False),
    )
}
if "pool" in _portal_database.get("OPTIONS", {}):
    DATABASES["default"]["OPTIONS"] = {"pool": _portal_database["OPTIONS"]["pool"]}

CHANNEL_LAYERS = {
    "default": {
        **portal.CHANNEL_LAYERS["default"],
        "CONFIG": {
            **portal.CHANNEL_LAYERS["default"]["CONFIG"],
            "prefix": os.environ.get("BASELINE_LAYER_PREFIX", "baseline-orm"),
        },
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
