"""The tick loop of one daphne process: it runs while the process holds managers'
sockets, and runs a tick (supervision.events) when one is due and no other process is
running one.

Ticks run on a thread of their own, not on daphne's pool: under load that pool is
queued with requests (escalation POSTs), and a tick waiting behind them reached the
pages seconds late (tests/bench/bench_supervision.py)."""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections

from supervision import events

logger = logging.getLogger(__name__)


class _Ticker:
    sockets = 0
    task: asyncio.Task | None = None


_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supervision-tick")


def _on_tick_thread(fn: Callable[..., Any], **kwargs: Any) -> "asyncio.Future[Any]":
    """Call fn on the tick thread, closing stale database connections around it (as
    config.sockets.db does on the pool)."""

    def call() -> Any:
        close_old_connections()
        try:
            return fn(**kwargs)
        finally:
            close_old_connections()

    return asyncio.get_running_loop().run_in_executor(_EXECUTOR, call)


def socket_opened() -> None:
    """A manager's socket opened in this process: make sure the loop runs (in this
    event loop)."""
    _Ticker.sockets += 1
    loop = asyncio.get_running_loop()
    task = _Ticker.task
    if task is None or task.done() or task.get_loop() is not loop:
        _Ticker.task = loop.create_task(_run())


def socket_closed() -> None:
    _Ticker.sockets = max(0, _Ticker.sockets - 1)


async def _run() -> None:
    last = last_alerts = -math.inf
    while _Ticker.sockets > 0:
        await asyncio.sleep(events.TICK_POLL_SECONDS)
        try:
            if await _on_tick_thread(events.tick_due, since_last=time.monotonic() - last):
                last = time.monotonic()
                alerts = last - last_alerts >= events.ALERTS_SECONDS
                if alerts:
                    last_alerts = last
                await _on_tick_thread(events.tick_run, alerts=alerts)
        except Exception:
            logger.exception("The manager tools' live tick failed")
