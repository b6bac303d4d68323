from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        import config.middleware  # noqa: F401  (registers its deploy check)

        # Models added by later migrations get their permissions onto the roles on every
        # migrate, not only when seed_demo runs (production never runs it). Django sends
        # post_migrate once per app with models, and this app has none: listen to auth's
        # (roles_sync creates the permissions it grants itself, so the order is no matter).
        post_migrate.connect(
            _roles_sync_after_migrate,
            sender=apps.get_app_config("auth"),
            dispatch_uid="portal.roles_sync",
        )


def _roles_sync_after_migrate(sender, using, **kwargs) -> None:
    from portal.services import roles_sync

    roles_sync(using=using)
