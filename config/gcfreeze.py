"""Keep the garbage collector's full passes short in the portal's long-running processes.

A daphne process or a Celery worker holds a few hundred thousand objects made at start-up
(Django, DRF, Channels, Twisted, Celery, the models, the URLconf) that live as long as the
process. CPython's full collection walks every one of them, and every request, socket
frame and task of the process waits while it runs. `gc.freeze()` moves what exists at
that moment out of the collector's reach, so later passes walk only what the process
made since. A daphne process also freezes, periodically, what it made later
(`PeriodicFreeze`, below).
"""

import gc
import time
from collections.abc import Callable


def freeze_startup_objects() -> None:
    """Collect once, then exempt everything still alive from future collections. Call
    when start-up is done: objects made after it are collected as usual."""
    gc.collect()
    gc.freeze()


# Why a daphne process also freezes what it makes later: it holds thousands of sockets
# for hours, whose objects (1.9 million tracked by the collector at 10,000 sockets)
# reference counting alone frees when a socket closes. Left in the generations they make
# every full collection walk all of them (1.7–7.4 s at 10,000 sockets, freeing next to
# nothing) while the event loop, and every socket with it, waits. Frozen every
# FREEZE_SECONDS, they leave the generations before a full pass can walk them. The
# cost: objects frozen are never collected, so whatever a socket leaves in reference
# cycles when it closes would stay in memory. So once every COLLECT_FROZEN_SECONDS
# everything is unfrozen, collected once and frozen again: one full pass over the whole
# process an hour (1.7 s at 10,000 sockets, where the collector's own came a few a
# minute), and that memory is bounded by what closes in an hour. Measured in
# docs/benchmarks.md.
FREEZE_SECONDS = 10.0
COLLECT_FROZEN_SECONDS = 3600.0


class PeriodicFreeze:
    """Freezes what the process made since the last call, and every
    COLLECT_FROZEN_SECONDS collects the frozen objects first. `tick()` is called
    regularly from one thread (daphne's process heartbeat, config/processes.py)."""

    def __init__(
        self,
        *,
        freeze_seconds: float = FREEZE_SECONDS,
        collect_frozen_seconds: float = COLLECT_FROZEN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.freeze_seconds = freeze_seconds
        self.collect_frozen_seconds = collect_frozen_seconds
        self.clock = clock
        self.frozen_at = self.collected_at = clock()

    def tick(self) -> None:
        now = self.clock()
        if now - self.collected_at >= self.collect_frozen_seconds:
            gc.unfreeze()
            freeze_startup_objects()  # collects, then freezes what survived
            self.frozen_at = self.collected_at = now
        elif now - self.frozen_at >= self.freeze_seconds:
            gc.freeze()
            self.frozen_at = now
