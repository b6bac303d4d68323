"""The start-up heap of daphne and the Celery processes is frozen out of the garbage
collector's reach (config/gcfreeze.py), so full collections walk only what came after;
daphne also freezes what it made later, and collects the frozen objects now and then."""

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from celery.signals import beat_init, worker_init, worker_ready

from config.gcfreeze import PeriodicFreeze, freeze_startup_objects

ROOT = Path(__file__).resolve().parents[1]


def _tracked(obj: object) -> bool:
    """Whether the collector still walks `obj` (frozen objects are in no generation)."""
    return any(candidate is obj for candidate in gc.get_objects())


@pytest.fixture
def unfrozen():
    """Leave the test process's collector as it was: everything frozen goes back."""
    yield
    gc.unfreeze()


def test_objects_alive_at_the_freeze_leave_the_collector_and_later_ones_do_not(unfrozen):
    before = ["made before"]  # a list is always tracked (a dict of strings is not)
    assert _tracked(before)

    freeze_startup_objects()
    after = ["made after"]

    assert not _tracked(before)
    assert _tracked(after)


# Celery's Django fixup also hears worker_init, and warns that no worker sent it.
@pytest.mark.filterwarnings("ignore::celery.exceptions.FixupWarning")
@pytest.mark.parametrize("signal", [worker_init, worker_ready, beat_init])
def test_celery_processes_freeze_when_they_start(unfrozen, signal):
    import config.celery_app  # noqa: F401 - connects the handlers

    made_while_booting = ["made while booting"]
    signal.send(sender=None)
    assert not _tracked(made_while_booting)


def test_the_asgi_module_freezes_after_loading_the_urlconf():
    # In a process of its own, as daphne imports it: the URLconf is loaded lazily by
    # Django, so this fails if the freeze came before it (the patterns would still be
    # walked by every full collection).
    script = (
        "import gc, config.asgi\n"
        "from django.urls import get_resolver\n"
        "patterns = get_resolver().url_patterns\n"
        "assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()\n"
        "assert not any(o is patterns for o in gc.get_objects()), 'URLconf not frozen'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Node:
    """Weak-referenceable, so a test can tell when the collector freed it."""

    other: "_Node | None" = None


def test_a_daphne_process_freezes_what_it_made_every_few_seconds(unfrozen):
    clock = _Clock()
    freeze = PeriodicFreeze(freeze_seconds=10, collect_frozen_seconds=3600, clock=clock)
    made_later = ["a socket's object"]

    clock.now += 9
    freeze.tick()
    assert _tracked(made_later)

    clock.now += 1
    freeze.tick()
    assert not _tracked(made_later)


def test_cycles_left_among_frozen_objects_are_freed_by_the_periodic_full_collection(unfrozen):
    clock = _Clock()
    freeze = PeriodicFreeze(freeze_seconds=10, collect_frozen_seconds=3600, clock=clock)
    node, still_used = _Node(), ["still used"]
    node.other = _Node()
    node.other.other = node  # a reference cycle, as a closed socket may leave
    freed = weakref.ref(node)
    clock.now += 10
    freeze.tick()
    del node

    gc.collect()
    assert freed() is not None  # frozen: the collector does not see it

    clock.now += 3590
    freeze.tick()
    assert freed() is None
    assert not _tracked(still_used)  # what lives on is frozen again
