"""Each daphne process's heartbeat in Redis, with the number of WebSockets it holds, for
the manager tools' system health (supervision.selectors.health).

`SocketCounter` wraps the WebSocket application and counts the connections it serves;
`heartbeat_start()` runs a daemon thread that writes the count every
HEARTBEAT_SECONDS to the cache (so under the deployment's cache key prefix) as
`PROCESS_KEY_PREFIX<host>:<pid>`, expiring after HEARTBEAT_TTL_SECONDS: a process that
dies drops out of the list on its own. The same thread keeps the objects of the
process's sockets out of full garbage collections (`config.gcfreeze.PeriodicFreeze`)."""

import json
import logging
import os
import socket
import threading
import time
from typing import Any

from django.core.cache import cache

from config.gcfreeze import PeriodicFreeze
from config.redis import REDIS_ERRORS

logger = logging.getLogger(__name__)

PROCESS_KEY_PREFIX = "portal:daphne:"
HEARTBEAT_SECONDS = 5.0
HEARTBEAT_TTL_SECONDS = 15


class SocketCounter:
    """ASGI middleware: counts the WebSocket connections open in this process."""

    open_sockets = 0

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        SocketCounter.open_sockets += 1
        try:
            await self.app(scope, receive, send)
        finally:
            SocketCounter.open_sockets -= 1


_started = False
_lock = threading.Lock()


def heartbeat_payload(started_at: float) -> str:
    return json.dumps(
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "sockets": SocketCounter.open_sockets,
            "started_at": started_at,
            "at": time.time(),
        }
    )


def heartbeat_start() -> None:
    """Start this process's heartbeat thread (once)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_beat, name="daphne-heartbeat", daemon=True).start()


def _beat() -> None:
    started_at = time.time()
    key = f"{PROCESS_KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"
    # The sockets' objects leave the collector's reach too (config/gcfreeze.py).
    freeze = PeriodicFreeze()
    while True:
        freeze.tick()
        try:
            cache.set(key, heartbeat_payload(started_at), timeout=HEARTBEAT_TTL_SECONDS)
        except REDIS_ERRORS as error:
            logger.debug("Daphne heartbeat not written: %r", error)
        time.sleep(HEARTBEAT_SECONDS)
