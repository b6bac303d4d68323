from django.apps import AppConfig


class CobrowseConfig(AppConfig):
    name = "cobrowse"
    verbose_name = "Co-browse"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        # A session ends with its chat (closed or transferred), and a customer's widget
        # that reconnects learns the session that stands: the chat app's hooks.
        from django.db.models.signals import post_save

        from chat.models import Message
        from chat.signals import customer_chat_opened, interaction_closed
        from cobrowse import receivers, tasks  # noqa: F401

        interaction_closed.connect(receivers.interaction_closed, dispatch_uid="cobrowse")
        customer_chat_opened.connect(receivers.customer_chat_opened, dispatch_uid="cobrowse")
        post_save.connect(receivers.message_saved, sender=Message, dispatch_uid="cobrowse")
