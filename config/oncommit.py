"""Robust after-commit calls with arguments."""

from collections.abc import Callable
from typing import Any

from django.db import transaction


def on_commit_robust(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    """After the transaction commits, call func(*args, **kwargs); an exception is logged
    and goes no further (the transaction's work is done and must not look failed).

    Not transaction.on_commit(partial(...), robust=True): Django 5.2 logs a failed
    robust hook by its __qualname__, which a partial lacks, so the AttributeError raised
    while logging escapes the hook, and a committed escalation answered 500."""

    def hook() -> None:
        func(*args, **kwargs)

    hook.__qualname__ = getattr(func, "__qualname__", repr(func))
    transaction.on_commit(hook, robust=True)
