"""Configuration every request reads, kept for a moment in each process.

Channels, bot clients, queues and intent rules change seldom (an administrator edits
them) and are read on every escalation. A function decorated with `memo_for(seconds)`
keeps each result it returns for that long in the process that asked, so a change
reaches every process within those seconds. Only results are kept, never a refusal (an
exception) or a miss (None): what a caller sends cannot fill the memory, which is
bounded besides. The instances kept are shared between threads: read them, never
change them."""

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

MAX_ENTRIES = 512

_memos: list["OrderedDict[Any, tuple[float, Any]]"] = []
_lock = threading.Lock()


def memo_for(seconds: float) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Keep the decorated function's results for `seconds` per process, by arguments."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        kept: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        _memos.append(kept)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            key = (args, tuple(sorted(kwargs.items())))
            now = time.monotonic()
            with _lock:
                hit = kept.get(key)
            if hit is not None and now - hit[0] < seconds:
                return hit[1]
            value = fn(*args, **kwargs)
            if value is not None:
                with _lock:
                    kept[key] = (now, value)
                    kept.move_to_end(key)
                    while len(kept) > MAX_ENTRIES:
                        kept.popitem(last=False)
            return value

        return wrapper

    return decorate


def memo_clear() -> None:
    """Forget every kept result of this process (the tests, between tests)."""
    with _lock:
        for kept in _memos:
            kept.clear()
