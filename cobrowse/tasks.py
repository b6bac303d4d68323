"""Co-browse's Celery tasks: entry points that take ids and call a service."""

from celery import shared_task

from cobrowse import services


@shared_task(name="cobrowse.tasks.session_expire")
def session_expire(session_id: int) -> None:
    """The consent timeout of a request (queued with a countdown when it is made)."""
    services.cobrowse_expire(session_id=session_id)


@shared_task(name="cobrowse.tasks.sessions_sweep")
def sessions_sweep() -> int:
    """Beat's backstop for timers lost with their socket or worker."""
    return services.sessions_sweep()
