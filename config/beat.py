"""Celery beat's scheduler, waking when an entry is due instead of spinning up to it.

Beat sleeps for what `Scheduler.tick()` returns, and Celery's scheduler returns the time
left minus a 10 ms "drift" allowance. Beat so woke 10 ms early, found the entry not due
yet, and, the time left now being under 10 ms, was told to sleep zero or less seconds:
it ticked again without sleeping until the entry came due. That spin was ~10 ms of CPU
at every wake-up, 41 ms a second with overdue offers checked four times a second
(`OFFER_EXPIRY_SECONDS`), with nothing to do. Without the allowance beat sleeps the whole
time left; an entry is sent when due, not up to 10 ms before.
"""

from celery.beat import PersistentScheduler


class Scheduler(PersistentScheduler):
    """Celery's default scheduler (schedule kept in the `--schedule` file), no spin."""

    def adjust(self, n: float | None, drift: float = 0.0) -> float | None:
        return super().adjust(n, drift=drift)
