"""`manage.py reports_rollup`: recompute the reports' facts of the chats closed in a
range of days (e.g. after a fix to a figure's definition, or a restore)."""

from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.selectors.filters import report_time_zone
from reports.services.rollup import facts_rollup


class Command(BaseCommand):
    help = (
        "Recompute the facts of every chat closed between --from and --to (local dates in "
        "App Studio's time zone, both included). Safe to repeat: facts are replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
        parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True)

    def handle(self, *args, start: date, end: date, **options) -> None:
        if end < start:
            raise CommandError("--to is before --from.")
        tz = report_time_zone()
        written = facts_rollup(
            start=datetime.combine(start, time.min, tz),
            end=datetime.combine(end + timedelta(days=1), time.min, tz),
        )
        self.stdout.write(
            f"Recomputed the facts of {written} chats closed {start} to {end} ({tz.key})."
        )
