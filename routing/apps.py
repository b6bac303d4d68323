from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        # Routing's part when a chat closes, a customer's socket opens or a customer
        # answers the long-wait choice is connected to the chat app's hooks.
        # Changing a queue or an intent rule drops the copies kept of them.
        from chat.signals import customer_chat_opened, customer_wait_choice, interaction_closed
        from config.memo import memos_clear_on_changes_to
        from routing import receivers, tasks  # noqa: F401
        from routing.models import IntentRule, Queue

        interaction_closed.connect(receivers.interaction_closed, dispatch_uid="routing")
        customer_chat_opened.connect(receivers.customer_chat_opened, dispatch_uid="routing")
        customer_wait_choice.connect(receivers.customer_wait_choice, dispatch_uid="routing")
        memos_clear_on_changes_to(Queue, IntentRule)
