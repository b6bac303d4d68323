"""Configuration every request reads, kept for a moment in each process.

Channels, queues and intent rules change seldom (an administrator edits them) and are
read on every escalation. A function decorated with `memo_for(seconds)` keeps each
result it returns for that long in the process that asked. Saving or deleting such a
record clears the memos of the process that saved it once the change commits
(`memos_clear_on_change`, connected by the apps), so a change applies there at once
and in every other process within those seconds. Only results are kept, never a refusal (an
exception) or a miss (None): what a caller sends cannot fill the memory, which is
bounded besides. The instances kept are shared between threads: read them, never
change them."""

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

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


def memos_clear_on_change(**kwargs: Any) -> None:
    """Receiver of post_save, post_delete and m2m_changed for the records kept in memos:
    this process forgets them once the change commits."""
    transaction.on_commit(memo_clear)


def memos_clear_on_changes_to(*models: type[Model]) -> None:
    """Connect memos_clear_on_change to every change of `models` and of their
    many-to-many tables."""
    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(memos_clear_on_change, sender=model, dispatch_uid=f"memo-{model}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                memos_clear_on_change,
                sender=field.remote_field.through,
                dispatch_uid=f"memo-{model}-{field.name}",
            )
