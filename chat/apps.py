from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Services queue the app's Celery tasks by name (config.tasks): register them.
        # Saving the App Studio settings drops their cached copies.
        from django.db.models.signals import post_save

        from chat import tasks  # noqa: F401
        from chat.models import AppStudioSettings
        from chat.selectors.settings import app_studio_settings_saved

        post_save.connect(
            app_studio_settings_saved, sender=AppStudioSettings, dispatch_uid="app-studio"
        )
