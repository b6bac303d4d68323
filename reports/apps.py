"""Dashboard reports: per-chat and per-offer facts kept by a rollup, the managers'
Reports page, every user's dashboards, CSV exports and the history seed (docs/reports.md)."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # A closed chat's facts are written by a task queued when chat says it closed.
        from django.db.models.signals import post_save

        from chat.signals import interaction_closed, satisfaction_rated
        from reports import receivers, tasks  # noqa: F401 -- registers the Celery tasks
        from routing.models import CSRProfile
        from routing.signals import wrapup_released

        interaction_closed.connect(receivers.interaction_closed, dispatch_uid="reports")
        # A rating or a wrap-up that comes after the facts were written updates them.
        satisfaction_rated.connect(receivers.satisfaction_rated, dispatch_uid="reports")
        wrapup_released.connect(receivers.wrapup_released, dispatch_uid="reports")
        # Historical occupancy needs when CSRs were logged in: routing saves every status
        # change on the profile (routing.services.presence.csr_status_change).
        post_save.connect(receivers.csr_profile_saved, sender=CSRProfile, dispatch_uid="reports")
