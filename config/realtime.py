"""Publishing live events to the channel layer from synchronous code.

Services publish only after their transaction commits (`publish_on_commit`). Sync code
(Celery tasks, views, services run through `database_sync_to_async`) must not spin up
an event loop per send: channels-redis binds its connection pools to the loop they were
made on, and a loop per `async_to_sync` call means a fresh Redis connection per event
and "Event loop is closed" errors on teardown (channels_redis issue 332). Instead each
process keeps one event loop on a daemon thread for its layer traffic, fed by a FIFO
queue and drained by one task, so events leave in the order they were published.

Publishing does not wait for Redis: the thread that committed (often a database thread
of a daphne's pool) goes back to work at once, instead of holding its connection while
Redis answers. Clients catch up by sequence number, so an event
lost with a dying process costs a resume, not a message; `flush()` waits for the queue
where a short-lived process wants its events out before it exits. After a Redis restart
the first command on each pooled connection fails ("Connection closed by server"): a
batch that fails is sent once more, on a fresh connection, before it is given up.
"""

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from config.redis import REDIS_ERRORS

logger = logging.getLogger(__name__)

# What channels_redis raises while Redis is down or restarting: redis-py's errors
# ("Error 111 connecting", "Connection closed by server") and the OSErrors of a socket
# that breaks under it.
LAYER_ERRORS: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError)

FLUSH_TIMEOUT_SECONDS = 5.0

Batch = list[tuple[str, dict[str, Any]]]


class _Publisher:
    """One process's publisher: an event loop on a daemon thread and the queue of
    batches its single drain task sends, in order."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[Batch] | None = None
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.queue = asyncio.Queue()
            self.loop.create_task(self._drain())
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, name="realtime-publisher", daemon=True).start()
        ready.wait()

    async def _drain(self) -> None:
        assert self.queue is not None
        while True:
            batch = await self.queue.get()
            try:
                await self._send(batch)
            except LAYER_ERRORS as error:  # Redis is down: one line, not a traceback, each
                logger.warning("Could not publish %d live event(s): %r", len(batch), error)
            except Exception:
                logger.exception("Could not publish %d live event(s)", len(batch))
            finally:
                self.queue.task_done()

    async def _send(self, batch: Batch) -> None:
        layer = get_channel_layer()
        sent = 0
        for last_try in (False, True):
            try:
                for group, message in batch[sent:]:
                    await layer.group_send(group, message)
                    sent += 1
                return
            except LAYER_ERRORS:
                if last_try:
                    raise

    def put(self, batch: Batch) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, batch)  # type: ignore[union-attr]

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued so far has been sent (or failed)."""
        future = asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop)  # type: ignore[union-attr]
        try:
            future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            return False
        return True


_lock = threading.Lock()
_publisher: _Publisher | None = None


def _get_publisher() -> _Publisher:
    global _publisher
    with _lock:
        # A forked child (Celery prefork) inherits the variable but not the thread.
        if _publisher is None or _publisher.pid != os.getpid() or _publisher.loop.is_closed():
            _publisher = _Publisher()
        return _publisher


def group_send_many(messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Queue layer messages for their groups, to be sent in order without waiting.
    Failures are logged, not raised: the database is the source of truth and clients
    catch up by sequence number."""
    if not messages:
        return
    _get_publisher().put([(group, dict(message)) for group, message in messages])


def flush(timeout: float = FLUSH_TIMEOUT_SECONDS) -> bool:
    """Wait for this process's queued events to leave; False if they did not in time."""
    publisher = _publisher
    if publisher is None or publisher.pid != os.getpid() or publisher.loop.is_closed():
        return True
    return publisher.flush(timeout)


# Commands and scripts that publish and then exit would otherwise drop their last events.
atexit.register(flush)


def publish_on_commit(group: str, handler: str, payload: Mapping[str, Any]) -> None:
    """Send `payload` to every socket in `group` once the current transaction commits.

    `handler` is the consumer method's layer type (e.g. "agent.event"); the consumer
    forwards `payload` to its client unchanged."""
    message = {"type": handler, "payload": dict(payload)}
    transaction.on_commit(lambda: group_send_many([(group, message)]))
