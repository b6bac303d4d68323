"""Service cases: case types configured in the admin, cases opened from a chat, and the
CSR's assistant that proposes and pre-fills them (docs/cases.md)."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"
    verbose_name = "Service cases"

    def ready(self) -> None:
        from cases import tasks  # noqa: F401 -- registers the Celery tasks
