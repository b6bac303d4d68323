"""Settings for the test suite: the real stack, isolated from a running portal."""

import os

from config.settings import *  # noqa: F403
from config.settings import (
    CACHES,
    CHANNEL_LAYERS,
    DATABASES,
    REDIS_URL,
    VAR_DIR,
    redis_url_with_db,
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A channel-layer prefix of its own per test process, so parallel runs and a running
# portal never see each other's messages.
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"test{os.getpid()}"
# The cache lives on its own Redis database: tests clear it between tests.
CACHES["default"]["LOCATION"] = redis_url_with_db(REDIS_URL, 13)
CACHES["default"]["KEY_PREFIX"] = f"test{os.getpid()}"

# No connection pool in the test process: channels.testing's communicator turns
# close_old_connections into a no-op, so pooled connections would never go back and
# the pool would run dry. The e2e tests' daphne subprocess pools, as production does.
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)

# Tasks run in the calling process: unit tests are about the logic. Tests of the
# plumbing start a real worker (tests/test_celery_connections.py; the browser tests'
# runportal).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_STORE_EAGER_RESULT = False

# WhiteNoise warns when STATIC_ROOT is missing; tests never collect static files.
STATIC_ROOT = VAR_DIR / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
