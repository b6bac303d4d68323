from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        # Saving the App Studio settings drops their cached copies; changing a channel
        # drops the copies kept of channels (config/memo.py).
        from django.db.models.signals import post_save

        from chat import receivers, tasks  # noqa: F401
        from chat.models import AppStudioSettings, BotClient, Channel
        from chat.selectors.settings import app_studio_settings_saved
        from config.memo import memos_clear_on_changes_to

        post_save.connect(
            app_studio_settings_saved, sender=AppStudioSettings, dispatch_uid="app-studio"
        )
        memos_clear_on_changes_to(Channel, BotClient)
        # A user's sockets close when their session ends (logout, password, deactivation).
        receivers.connect()
