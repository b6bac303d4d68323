"""Every figure of the reports, checked against the hand-counted chats of conftest.py:
a declined-then-missed-then-accepted offer chain, an abandoned chat, a chat transferred
to a CSR and then to a queue, and one across midnight in New York."""

from datetime import date

import pytest

from reports.models import ChatFact, OfferFact
from reports.selectors import figures
from reports.selectors.drill import drill_facts
from reports.selectors.figures import Group
from reports.selectors.filters import ReportFilters
from reports.services.rollup import facts_refresh
from tests.reports.conftest import NY

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 10)


def on(day: date = DAY, **kw) -> ReportFilters:
    return ReportFilters(start=day, end=day, tz=NY, **kw)


def test_the_totals_of_the_day_are_the_hand_counted_ones(history):
    t = figures.totals(on())
    assert t["escalations"] == 4
    assert t["answered"] == 3
    assert t["abandoned"] == 1
    assert t["service_level"] == 25.0  # only A was accepted within its queue's target
    assert t["wait_avg"] == pytest.approx((50 + 120 + 330) / 3, abs=0.1)
    assert t["wait_p90"] == 330.0
    assert t["first_response_avg"] == 30.0  # the whisper is not a response
    assert t["handle_avg"] == pytest.approx((660 + 1080 + 1170) / 3, abs=0.1)
    assert (t["transfers_to_csr"], t["transfers_to_queue"]) == (1, 1)
    assert (t["ended_by_csr"], t["ended_by_customer"], t["ended_by_system"]) == (1, 2, 1)
    assert (t["sentiment_positive"], t["sentiment_negative"], t["sentiment_neutral"]) == (1, 1, 0)
    assert t["sentiment_improved_share"] == 100.0  # one chat compared, and it improved
    assert (t["auth_requests"], t["auth_successes"], t["cobrowse_sessions"]) == (1, 1, 1)
    assert t["offers_made"] == 8
    assert (t["offers_accepted"], t["offers_declined"], t["offers_missed"]) == (5, 1, 1)
    assert t["offers_withdrawn"] == 1


def test_a_chat_across_midnight_counts_on_the_local_day_it_was_escalated(history):
    """D was escalated at 23:55 in New York, 04:55 UTC the next day."""
    hours = {row["key"].astimezone(NY).hour: row for row in figures.table(on(), Group.PERIOD)}
    assert sorted(hours) == [10, 11, 12, 23]
    assert hours[23]["escalations"] == 1
    assert hours[23]["wait_avg"] == 330.0
    next_day = figures.totals(on(date(2026, 11, 11)))
    assert next_day["escalations"] == 1  # E only
    utc = figures.totals(
        ReportFilters(start=date(2026, 11, 11), end=date(2026, 11, 11), tz=NY.__class__("UTC"))
    )
    assert utc["escalations"] == 2  # counted in UTC, D belongs to the 11th


def test_days_are_grouped_in_the_time_zone(history):
    rows = figures.table(ReportFilters(start=DAY, end=date(2026, 11, 12), tz=NY), Group.PERIOD)
    assert [(r["key"], r["escalations"]) for r in rows] == [(DAY, 4), (date(2026, 11, 11), 1)]


def test_a_chat_counts_for_the_queue_it_was_escalated_to(history):
    by_queue = {r["label"]: r for r in figures.table(on(), Group.QUEUE)}
    assert by_queue["Billing"]["escalations"] == 3  # C ended in Tech but came to Billing
    assert by_queue["Billing"]["service_level"] == pytest.approx(33.3)
    assert by_queue["Billing"]["wait_p90"] == 120.0
    assert by_queue["Tech"]["escalations"] == 1
    assert by_queue["Tech"]["offers_made"] == 2  # D's, and C's last offer made in Tech


def test_chats_taken_per_csr_count_every_accepted_offer(history):
    by_csr = {r["key"]: r for r in figures.table(on(), Group.CSR)}
    assert by_csr[history.csr1.pk]["offers_accepted"] == 2  # A and C
    assert by_csr[history.csr2.pk]["offers_accepted"] == 2  # C by transfer, and D
    assert by_csr[history.csr3.pk]["offers_accepted"] == 1  # C from the Tech queue
    assert by_csr[history.csr1.pk]["offers_declined"] == 1
    assert by_csr[history.csr2.pk]["offers_missed"] == 1
    assert by_csr[history.csr3.pk]["escalations"] == 1  # the chat C ended with them


def test_a_csr_filter_shows_only_that_csrs_figures(history):
    mine = figures.totals(on(csr_id=history.csr1.pk))
    assert mine["escalations"] == 1  # A ended with csr1
    assert mine["offers_made"] == 3  # two for A, one for C


def test_occupancy_is_handle_time_over_capacity_times_time_logged_in(history):
    """csr1: A's 660 s over 2 h × 2; csr2: D's 1170 s over the hour before midnight × 3
    (the span goes on after the range); csr3: C's 1080 s over 1 h × 1."""
    by_csr = {r["key"]: r["occupancy"] for r in figures.table(on(), Group.CSR)}
    assert by_csr == {history.csr1.pk: 4.6, history.csr2.pk: 10.8, history.csr3.pk: 30.0}
    assert figures.totals(on())["occupancy"] == pytest.approx(10.1)  # 2910 / 28800
    assert figures.totals(on(csr_id=history.csr3.pk))["occupancy"] == 30.0
    assert figures.totals(on(queue_id=history.billing.pk))["occupancy"] is None


def test_decline_reasons_are_counted(history):
    assert figures.decline_reasons(on()) == [{"reason": "On a call", "offers": 1}]


def test_the_channel_table(history):
    by_channel = {r["label"]: r["escalations"] for r in figures.table(on(), Group.CHANNEL)}
    assert by_channel == {"Web": 3, "SMS": 1}


def test_a_drill_down_lists_the_chats_behind_a_figure(history):
    ids = lambda qs: sorted(f.interaction_id for f in qs)  # noqa: E731
    c = history.chats
    assert ids(drill_facts(on(), "abandoned")) == [c["b"].pk]
    assert ids(drill_facts(on(), "escalations")) == sorted(c[k].pk for k in "abcd")
    assert ids(drill_facts(on(), "offers_missed")) == [c["a"].pk]
    assert ids(drill_facts(on(), "transfers_to_queue")) == [c["c"].pk]
    assert ids(drill_facts(on(hour=23), "escalations")) == [c["d"].pk]


def test_the_rollup_can_run_again_and_changes_nothing(history):
    before = sorted(
        ChatFact.objects.values_list("interaction_id", "wait_seconds", "handle_seconds")
    )
    offers = OfferFact.objects.count()
    assert facts_refresh(interaction_ids=[i.pk for i in history.chats.values()]) == 5
    assert (
        sorted(ChatFact.objects.values_list("interaction_id", "wait_seconds", "handle_seconds"))
        == before
    )
    assert OfferFact.objects.count() == offers == 9


def test_an_open_chat_has_no_facts(history):
    from chat.models import InteractionStatus

    chat = history.chats["e"]
    chat.status = InteractionStatus.ACTIVE
    chat.save()
    facts_refresh(interaction_ids=[chat.pk])
    assert not ChatFact.objects.filter(interaction_id=chat.pk).exists()


def test_whole_days_read_the_daily_tables_and_add_up_the_same(history):
    """Three days (shown by day) come from DailyStats: the 10th's chats and E."""
    from reports.models import DailyOfferStats, DailyStats

    assert DailyStats.objects.exists() and DailyOfferStats.objects.exists()
    span = ReportFilters(start=DAY, end=date(2026, 11, 12), tz=NY)
    t = figures.totals(span)
    assert (t["escalations"], t["answered"], t["abandoned"]) == (5, 4, 1)
    assert t["service_level"] == 40.0  # A and E
    assert t["wait_avg"] == pytest.approx((50 + 120 + 330 + 5) / 4, abs=0.1)
    assert t["wait_p90"] == 330.0
    assert t["handle_avg"] == pytest.approx((660 + 1080 + 1170 + 595) / 4, abs=0.1)
    assert (t["offers_made"], t["offers_accepted"], t["offers_missed"]) == (9, 6, 1)
    assert t["sentiment_improved_share"] == 100.0
    by_queue = {r["label"]: r for r in figures.table(span, Group.QUEUE)}
    assert by_queue["Tech"]["escalations"] == 2
    assert by_queue["Tech"]["wait_p90"] == 330.0
    by_csr = {r["key"]: r for r in figures.table(span, Group.CSR)}
    assert by_csr[history.csr3.pk]["offers_accepted"] == 2  # C, and E on the 11th
    long = ReportFilters(start=date(2026, 10, 1), end=date(2026, 11, 12), tz=NY)
    assert figures.totals(long)["escalations"] == 5
    # Over 31 days the p90 comes from the daily wait histograms: waits 5, 50, 120, 330
    # s; the ⌈0.9 × 4⌉ = 4th smallest (330 s) is in the bucket (300, 600], shown as 600.
    assert figures.totals(long)["wait_p90"] == 600.0


def test_the_daily_rows_keep_a_wait_histogram_that_adds_up_over_any_range(history):
    """The hand-counted waits: 50, 120 and 330 s on the 10th (D abandoned, no wait),
    5 s (E) on the 11th; a wait on an edge counts in the bucket below it."""
    from reports.models import WAIT_BUCKETS, DailyStats

    def histogram(**filters) -> dict[str, int]:
        rows = DailyStats.objects.filter(**filters)
        return {
            name: sum(rows.values_list(name, flat=True))
            for name, _, _ in WAIT_BUCKETS
            if sum(rows.values_list(name, flat=True))
        }

    assert histogram(day=DAY) == {"wait_le_60": 1, "wait_le_120": 1, "wait_le_600": 1}
    assert histogram(day=date(2026, 11, 11)) == {"wait_le_10": 1}
    year = ReportFilters(start=date(2025, 11, 13), end=date(2026, 11, 12), tz=NY)
    assert figures.totals(year)["wait_p90"] == 600.0
    by_queue = {r["label"]: r for r in figures.table(year, Group.QUEUE)}
    assert by_queue["Billing"]["wait_p90"] == 120.0  # its one wait, 120 s, on an edge
    assert by_queue["Tech"]["wait_p90"] == 600.0
    by_day = figures.table(year, Group.PERIOD)
    assert [r["escalations"] for r in by_day] == [5]  # by month: November only


def test_the_p90_of_a_histogram_is_the_upper_edge_of_the_bucket_of_its_rank():
    from reports.models import WAIT_BUCKETS

    def counts(**named: int) -> list[int]:
        return [named.get(name, 0) for name, _, _ in WAIT_BUCKETS]

    assert figures.wait_p90_from_buckets(counts()) is None
    # 10 waits: the 9th smallest is the p90; 8 up to 10 s, then one each above.
    assert figures.wait_p90_from_buckets(counts(wait_le_10=8, wait_le_30=1, wait_le_90=1)) == 30.0
    # 11 waits: ⌈9.9⌉ = the 10th smallest, the first of the two in (60, 90].
    assert figures.wait_p90_from_buckets(counts(wait_le_10=9, wait_le_90=2)) == 90.0
    # In the last bucket (over 20 min) the p90 shows as its lower edge.
    assert figures.wait_p90_from_buckets(counts(wait_le_10=1, wait_over_1200=9)) == 1200.0


def test_rebuilding_a_day_twice_counts_it_once(history):
    from reports.models import DailyStats
    from reports.services.rollup import days_rebuild

    days_rebuild(days=[DAY, DAY])
    days_rebuild(days=[DAY])
    assert sum(DailyStats.objects.filter(day=DAY).values_list("escalations", flat=True)) == 4
