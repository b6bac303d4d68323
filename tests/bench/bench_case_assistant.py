"""Case assistant benchmark: what one customer message costs the assistant.

Run: python tests/bench/bench_case_assistant.py [--repeat 20] [--requests 200]

1. The pure part, per customer line of tests/data/cases.tsv (112 lines, each --repeat
   times): rank the five demo case types (BM25 index built once) and run the three
   extractors; mean and p95 in microseconds.
2. The chat panel's endpoints, in-process through Django's test client against a test
   database made for the run (DATABASE_URL as for the tests; SQLite by default): the
   suggestions (`/case-assistant/`, what the panel fetches after each customer message)
   and a pre-filled form (`/case-types/<id>/form/`) of a chat with 20 customer
   messages; mean and p95 in milliseconds, and the queries of one request.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from cases.assistant.evaluate import labelled_lines_read  # noqa: E402
from cases.assistant.extract import (  # noqa: E402
    amounts_find,
    card_endings_find,
    dates_find,
    locale_get,
)
from cases.assistant.ranking import CaseTypeIndex  # noqa: E402
from cases.demo import demo_case_type_texts  # noqa: E402

LABELLED = Path(__file__).resolve().parents[2] / "tests" / "data" / "cases.tsv"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_pure(repeat: int) -> None:
    types, _ = demo_case_type_texts()
    index = CaseTypeIndex(types)
    locale = locale_get("en_GB")
    lines = [line.text for line in labelled_lines_read(LABELLED)]
    took = []
    for _ in range(repeat):
        for text in lines:
            start = time.perf_counter()
            index.rank(texts=[text])
            amounts_find(text, locale=locale)
            dates_find(text, now=NOW, locale=locale)
            card_endings_find(text)
            took.append((time.perf_counter() - start) * 1e6)
    print(
        f"pure: {len(took)} lines, rank + 3 extractors: mean {statistics.mean(took):.0f} µs, "
        f"p95 {percentile(took, 0.95):.0f} µs"
    )


def bench_endpoints(requests: int) -> None:
    from django.utils import timezone

    from cases.demo import demo_case_types_create
    from chat.models import InteractionStatus, SenderKind
    from chat.services.messages import message_create
    from config.users import Role
    from portal.services import roles_sync
    from tests.factories import interaction_factory, user_factory

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        roles_sync()
        dispute = next(t for t in demo_case_types_create() if t.prefix == "DSP")
        csr = user_factory(role=Role.CSR)
        interaction = interaction_factory(
            status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=timezone.now()
        )
        lines = [line.text for line in labelled_lines_read(LABELLED)][:20]
        for text in lines:
            interaction.refresh_from_db()
            message_create(interaction=interaction, sender_kind=SenderKind.CUSTOMER, text=text)
        client = Client()
        client.force_login(csr)
        for name, url in (
            ("suggestions", f"/portal-api/interactions/{interaction.pk}/case-assistant/"),
            ("form", f"/portal-api/interactions/{interaction.pk}/case-types/{dispute.pk}/form/"),
        ):
            assert client.get(url).status_code == 200
            calls: list[str] = []

            def count(execute, sql, params, many, context, calls=calls):
                calls.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                client.get(url)
            took = []
            for _ in range(requests):
                start = time.perf_counter()
                client.get(url)
                took.append((time.perf_counter() - start) * 1e3)
            print(
                f"{name}: {requests} requests on {connection.vendor}, mean "
                f"{statistics.mean(took):.2f} ms, p95 {percentile(took, 0.95):.2f} ms, "
                f"{len(calls)} queries"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")
    bench_pure(args.repeat)
    bench_endpoints(args.requests)


if __name__ == "__main__":
    main()
