from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        # Routing's part when a chat closes is connected to the chat app's hook.
        # Changing a queue or an intent rule drops the copies kept of them.
        from chat.signals import interaction_closed
        from config.memo import memos_clear_on_changes_to
        from routing import receivers, tasks  # noqa: F401
        from routing.models import IntentRule, Queue

        interaction_closed.connect(receivers.interaction_closed, dispatch_uid="routing")
        memos_clear_on_changes_to(Queue, IntentRule)
