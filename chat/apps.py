from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        from chat import tasks  # noqa: F401
