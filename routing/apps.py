from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        # Routing's part when a chat closes is connected to the chat app's hook.
        from chat.signals import interaction_closed
        from routing import receivers, tasks  # noqa: F401

        interaction_closed.connect(receivers.interaction_closed, dispatch_uid="routing")
