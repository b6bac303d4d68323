"""Keep the garbage collector's full passes short in the portal's long-running processes.

A daphne process or a Celery worker holds a few hundred thousand objects made at start-up
(Django, DRF, Channels, Twisted, Celery, the models, the URLconf) that live as long as the
process. CPython's full collection walks every one of them, and every request, socket
frame and task of the process waits while it runs. `gc.freeze()` moves what exists at
that moment out of the collector's reach, so later passes walk only what the process
made since.
"""

import gc


def freeze_startup_objects() -> None:
    """Collect once, then exempt everything still alive from future collections. Call
    when start-up is done: objects made after it are collected as usual."""
    gc.collect()
    gc.freeze()
