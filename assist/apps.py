from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "assist"
    verbose_name = "Assist (phrases, knowledge, page push)"

    def ready(self) -> None:
        # Suggestions follow the customer's messages (chat's hook, sent after commit);
        # the task is registered by name (config.tasks). Changing a phrase or an article
        # makes every process rebuild its ranking index (assist.ranking).
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from assist import receivers, tasks  # noqa: F401
        from assist.models import Article, Phrase
        from chat.signals import customer_message_stored

        customer_message_stored.connect(receivers.customer_message_stored, dispatch_uid="assist")
        for model in (Article, Phrase):
            post_save.connect(
                receivers.content_changed, sender=model, dispatch_uid=f"assist-{model.__name__}"
            )
            post_delete.connect(
                receivers.content_changed, sender=model, dispatch_uid=f"assist-del-{model.__name__}"
            )
            m2m_changed.connect(
                receivers.content_changed,
                sender=model.queues.through,
                dispatch_uid=f"assist-m2m-{model.__name__}",
            )
