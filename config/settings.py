"""Settings, read from environment variables only, with safe defaults for a local run.

Every variable is described in docs/configuration.md.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from csp.constants import NONE, SELF

from config.env import env_bool, env_int, env_list, env_str, local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off (see docs/configuration.md).")
    SECRET_KEY = local_secret_key(VAR_DIR)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "portal",
    "routing",
    "chat",
    "transcripts",
    "cobrowse",
    "assist",
    "cases",
    "reports",
    "supervision",
]

# Django's own, marked synchronous only (config/middleware.py): the chain and the view
# run on the request's thread in one hop.
MIDDLEWARE = [
    "config.middleware.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-csp's and our own header middleware: synchronous in this position.
    "csp.middleware.CSPMiddleware",
    "config.headers.PermissionsPolicyMiddleware",
    "config.middleware.SessionMiddleware",
    "config.middleware.CommonMiddleware",
    "config.middleware.JsonMethodNotAllowedMiddleware",
    "config.middleware.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "config.middleware.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused login into the lockout page. Async-capable
    # and innermost, so it adds no thread hop to the chain.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
CSRF_FAILURE_VIEW = "config.urls.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # daphne, the Celery worker and beat all write to the same file: wait for the lock
    # instead of failing, and take it up front so two writers never deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_portal.sqlite3")}
    VAR_DIR.mkdir(parents=True, exist_ok=True)
elif env_bool("DATABASE_POOL", True):
    # PostgreSQL: a connection pool per process. Persistent connections leak under ASGI
    # (Django's connections are per async context: every request or socket call would
    # leave one open until "too many clients"); a pooled connection goes back to the
    # pool when Django closes it, after each request and each consumer database call.
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ValueError(
            "DATABASE_CONN_MAX_AGE must be 0 while DATABASE_POOL is on (the pool keeps the "
            "connections); set DATABASE_POOL=false to use persistent connections instead."
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 20),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ----------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server as `url`, on database number `db`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


CHANNEL_LAYER_BACKEND = env_str("CHANNEL_LAYER_BACKEND", "pubsub")
if CHANNEL_LAYER_BACKEND not in ("core", "pubsub"):
    raise ValueError(f"CHANNEL_LAYER_BACKEND={CHANNEL_LAYER_BACKEND!r}: use core or pubsub.")
_layer_host = {
    "address": REDIS_URL,
    # None: redis-py 8's 5 s read timeout would otherwise close idle sockets with
    # code 1011 (channels_redis issue 422).
    "socket_timeout": None,
    "max_connections": env_int("CHANNEL_LAYER_MAX_CONNECTIONS", 1000),
}
if CHANNEL_LAYER_BACKEND == "pubsub":
    # Redis pub/sub: at-most-once like the core layer, cheaper per send; the database
    # is the source of truth and sockets catch up by seq (docs/websocket-protocol.md).
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [_layer_host],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "portal"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [_layer_host],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "portal"),
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1500),
                "expiry": env_int("CHANNEL_LAYER_EXPIRY", 60),
                "group_expiry": env_int("CHANNEL_LAYER_GROUP_EXPIRY", 86400),
            },
        }
    }

CACHES = {
    "default": {
        # django-redis: one connection pool per process, shared by every thread, and a
        # plain redis-py client (get_redis_connection) for the few structures Django's
        # cache API has no verb for (sets, atomic pipelines).
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env_str("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portal"),
        "TIMEOUT": 300,
        "OPTIONS": {
            # A Redis that is down answers at once; one that hangs must not hold a
            # request for long either (every caller has a path for a cache failure).
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
# No result backend: every task ignores its result (results go back over the channel
# layer), and a backend would be built on every request's thread that queues a task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A Redis restart must not stop a worker: it reconnects for as long as it takes.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
# Queueing a task from a request or a socket while Redis is down gives up quickly: the
# work it stands for is in the database and a sweep picks it up (docs/operations.md).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = "UTC"

# --- Auth, sessions, security ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before the password is checked.
    "config.logins.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection of /accounts/login/ and /admin/login/ (django-axes). Failures
# count per username AND address together: a contact floor shares one NAT address, so
# counting per address alone would lock every CSR out after a few typos, and per
# username alone would let anyone lock a named CSR out from anywhere
# (docs/operations.md#locked-out-logins).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False  # its start-up banner would open every manage.py command's output
AXES_VERBOSE = False  # its start-up banner would open every manage.py command's output
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_COOLOFF_SECONDS", 900))
# A lockout lasts the cool-off from the last counted failure; attempts while locked out
# do not extend it, so the page's "try again in N minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.logins.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.logins.client_address"
LOGIN_TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# Sessions end this long after login (a shift and its overtime), not after Django's
# default of two weeks.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every page is first-party: scripts, styles, fonts, images and sockets from this
# origin only, no inline code (django-csp; docs/configuration.md#headers). 'self' in
# connect-src covers the ws:// and wss:// sockets of the same host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no page uses, switched off (config/headers.py).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Preloading HSTS is a deliberate, hard-to-undo opt-in for the operator's domain,
    # so it stays off by default and its deploy-check warning is silenced.
    # W001-W003 look for Django's middleware by dotted path and miss the sync-only
    # subclasses in MIDDLEWARE; config.middleware checks the classes instead.
    SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003", "security.W021"]
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every JSON body: size, nesting and text limits (docs/api.md#request-bodies).
    "DEFAULT_PARSER_CLASSES": ["chat.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chat.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "bot_client": env_str("BOT_API_RATE", "600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CSR Interaction Portal API",
    "DESCRIPTION": "Bot escalation and channel connector API. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "InteractionStatusEnum": "chat.models.InteractionStatus",
        "CaseStatusEnum": "cases.models.CaseStatus",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}


# --- The portal's own settings, in one namespace --------------------------------------
class PortalSettings(TypedDict):
    """The keys of PORTAL and their types (not a setting: Django reads upper-case names)."""

    API_MAX_BODY_BYTES: int
    BOT_TRANSCRIPT_MAX_ENTRIES: int
    BOT_TRANSCRIPT_MAX_TEXT: int
    PUBLIC_BASE_URL: str
    PRESENCE_GRACE_SECONDS: int
    ACTIVE_CHAT_GRACE_SECONDS: int
    ROUTING_SWEEP_SECONDS: int
    CUSTOMER_TOKEN_GRACE_SECONDS: int
    DEMO_SITE_ENABLED: bool
    APP_STUDIO_CACHE_SECONDS: int
    IDENTITY_TOKEN_MAX_LIFETIME_SECONDS: int
    AUTH_ATTEMPTS_PER_MINUTE: int
    WEBHOOK_TIMEOUT_SECONDS: int
    WEBHOOK_MAX_ATTEMPTS: int
    WEBHOOK_BACKOFF_BASE_SECONDS: int
    WEBHOOK_BACKOFF_CAP_SECONDS: int
    ATTACHMENT_URL_SECONDS: int
    ATTACHMENT_WEBHOOK_URL_SECONDS: int
    ATTACHMENT_MAX_IMAGE_PIXELS: int
    CLAMD_ADDRESS: str
    CLAMD_TIMEOUT_SECONDS: int
    RETENTION_DAYS: int
    RETENTION_HOUR: int


PORTAL: PortalSettings = {
    # Largest JSON body the bot API accepts, in bytes.
    "API_MAX_BODY_BYTES": env_int("API_MAX_BODY_BYTES", 1_048_576),
    # The most entries a bot transcript may carry, and the longest text of one entry.
    "BOT_TRANSCRIPT_MAX_ENTRIES": 1000,
    "BOT_TRANSCRIPT_MAX_TEXT": 10_000,
    # Public base URL for links handed to customers (customer WebSocket URL); when
    # empty, the URL of the request is used.
    "PUBLIC_BASE_URL": env_str("PUBLIC_BASE_URL", ""),
    # A CSR whose socket has been silent this long is set Offline and loses their offer.
    # Above the clients' heartbeat (10 s) + ack timeout (10 s) + twice their maximum
    # reconnect backoff (10 s): a tab back within one maximum backoff stays present.
    "PRESENCE_GRACE_SECONDS": env_int("PRESENCE_GRACE_SECONDS", 45),
    # An Offline CSR's active chats go back to the front of their queue after this long.
    "ACTIVE_CHAT_GRACE_SECONDS": env_int("ACTIVE_CHAT_GRACE_SECONDS", 120),
    # How often Celery beat runs the routing sweeper (presence, everything waiting).
    "ROUTING_SWEEP_SECONDS": env_int("ROUTING_SWEEP_SECONDS", 3),
    # A customer's token keeps opening the (read-only) chat this long after it ended.
    "CUSTOMER_TOKEN_GRACE_SECONDS": env_int("CUSTOMER_TOKEN_GRACE_SECONDS", 600),
    # The public demo website at /demo/ (a bank's help page with the widget and a bot).
    "DEMO_SITE_ENABLED": env_bool("DEMO_SITE_ENABLED", DEBUG),
    # Seconds App Studio settings stay cached in each process before being re-read.
    "APP_STUDIO_CACHE_SECONDS": 300,
    # Identity tokens (docs/authentication.md) may expire at most this far ahead.
    "IDENTITY_TOKEN_MAX_LIFETIME_SECONDS": env_int("IDENTITY_TOKEN_MAX_LIFETIME_SECONDS", 600),
    # Authentication attempts allowed per interaction per minute (socket and API together).
    "AUTH_ATTEMPTS_PER_MINUTE": env_int("AUTH_ATTEMPTS_PER_MINUTE", 5),
    # Outbound webhooks (docs/webhooks.md): how long one POST may take, how many attempts
    # a delivery gets, and the retry backoff (base doubling per attempt, capped).
    "WEBHOOK_TIMEOUT_SECONDS": env_int("WEBHOOK_TIMEOUT_SECONDS", 5),
    "WEBHOOK_MAX_ATTEMPTS": env_int("WEBHOOK_MAX_ATTEMPTS", 8),
    "WEBHOOK_BACKOFF_BASE_SECONDS": env_int("WEBHOOK_BACKOFF_BASE_SECONDS", 2),
    "WEBHOOK_BACKOFF_CAP_SECONDS": env_int("WEBHOOK_BACKOFF_CAP_SECONDS", 300),
    # Attachments (docs/attachments.md): how long a signed file URL works in the chat
    # and in a webhook, the largest image decoded, and the optional ClamAV daemon
    # ("unix:///run/clamav/clamd.ctl" or "tcp://host:3310"; empty: files are not scanned).
    "ATTACHMENT_URL_SECONDS": env_int("ATTACHMENT_URL_SECONDS", 900),
    "ATTACHMENT_WEBHOOK_URL_SECONDS": env_int("ATTACHMENT_WEBHOOK_URL_SECONDS", 86400),
    "ATTACHMENT_MAX_IMAGE_PIXELS": env_int("ATTACHMENT_MAX_IMAGE_PIXELS", 40_000_000),
    "CLAMD_ADDRESS": env_str("CLAMD_ADDRESS", ""),
    "CLAMD_TIMEOUT_SECONDS": env_int("CLAMD_TIMEOUT_SECONDS", 30),
    # Retention (docs/operations.md#retention): closed chats are deleted this many days
    # after they ended, by a purge beat runs daily at this hour (UTC); 0 keeps them.
    "RETENTION_DAYS": max(env_int("PORTAL_RETENTION_DAYS", 0), 0),
    "RETENTION_HOUR": env_int("PORTAL_RETENTION_HOUR", 3),
}
if not 0 <= PORTAL["RETENTION_HOUR"] <= 23:
    raise ValueError("PORTAL_RETENTION_HOUR must be an hour of the day, 0 to 23.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # Celery's line for every task received and run, and beat's for every entry it
        # sends: at INFO the log is the portal's business events (escalated, offered,
        # accepted, ended) and errors. Failed tasks are still logged, at ERROR.
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
    },
}
