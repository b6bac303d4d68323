"""Manager tools: live queue, CSR and chat monitors, system health, alerts, and joining
a chat (monitor, whisper, barge in, take over)."""

from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = "Manager tools"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from supervision import receivers, tasks  # noqa: F401 - connect and register
