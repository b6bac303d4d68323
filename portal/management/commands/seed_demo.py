"""`manage.py seed_demo`: create or refresh the demo data and print how to use it."""

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.services import demo_seed


class Command(BaseCommand):
    help = (
        "Create or refresh the demo data (idempotent): channels web-messaging and facebook, "
        "queues General, Billing and Technical support with intent rules, the App Studio "
        "settings, the demo users csr1-csr4, manager and admin (password: the user name "
        "followed by '-demo', reset on every run) and the 'Demo bot' API client, whose "
        "token is kept in VAR_DIR/demo_bot_token. For demos only: never on a real portal."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            self.stderr.write(
                "warning: DEBUG is off; the demo users have published passwords and 'admin' "
                "is a superuser. Remove them if this is a real portal."
            )
        seed = demo_seed()
        lines = ["Demo logins (user name / password — role):"]
        for login in seed.logins:
            superuser = ", superuser" if login.superuser else ""
            lines.append(
                f"  {login.username:<8} / {login.password:<13} — {login.role.value}{superuser}"
                f" ({login.full_name})"
            )
        change = "new token" if seed.bot_token_changed else "unchanged"
        lines += [
            "",
            f"Demo bot API token ({change}; also in {seed.bot_token_file}):",
            f"  {seed.bot_token}",
        ]
        self.stdout.write("\n".join(lines))
