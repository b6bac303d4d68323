"""Publishing live events to the channel layer from synchronous code.

Services publish only after their transaction commits (`publish_on_commit`). Sync code
(Celery tasks, views, services run through `database_sync_to_async`) must not spin up
an event loop per send: channels-redis binds its connection pools to the loop they were
made on, and a loop per `async_to_sync` call means a fresh Redis connection per event
and "Event loop is closed" errors on teardown (channels_redis issue 332). Instead each
process keeps one event loop on a daemon thread for its layer traffic, and sends wait
for that loop so events leave in the order they were published.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        # A forked child (Celery prefork) inherits the variable but not the thread.
        if _loop is None or _loop_pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="realtime-publisher", daemon=True
            ).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _group_send_many(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    for group, message in messages:
        await layer.group_send(group, message)


def group_send_many(messages: list[tuple[str, Mapping[str, Any]]]) -> None:
    """Send layer messages to groups now, in order. Failures are logged, not raised:
    the database is the source of truth and clients catch up by sequence number."""
    if not messages:
        return
    batch = [(group, dict(message)) for group, message in messages]
    future = asyncio.run_coroutine_threadsafe(_group_send_many(batch), _publisher_loop())
    try:
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("Could not publish %d live event(s)", len(batch))


def publish_on_commit(group: str, handler: str, payload: Mapping[str, Any]) -> None:
    """Send `payload` to every socket in `group` once the current transaction commits.

    `handler` is the consumer method's layer type (e.g. "agent.event"); the consumer
    forwards `payload` to its client unchanged."""
    message = {"type": handler, "payload": dict(payload)}
    transaction.on_commit(lambda: group_send_many([(group, message)]))
