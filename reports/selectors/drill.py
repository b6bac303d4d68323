"""The chats behind a figure: what a drill-down lists."""

from django.db.models import QuerySet

from reports.models import ChatFact
from reports.selectors.figures import DRILL_CONDITIONS, OFFER_DRILL, chat_facts, offer_facts
from reports.selectors.filters import ReportFilters

DRILL_METRICS = {"escalations", "offers_made", *DRILL_CONDITIONS, *OFFER_DRILL}


def drill_facts(filters: ReportFilters, metric: str) -> QuerySet[ChatFact]:
    """The chats a figure counted, newest first, with what the list shows."""
    if metric == "offers_made" or metric in OFFER_DRILL:
        offers = offer_facts(filters)
        if metric in OFFER_DRILL:
            offers = offers.filter(outcome=OFFER_DRILL[metric])
        facts = ChatFact.objects.filter(interaction_id__in=offers.values("interaction_id"))
    else:
        facts = chat_facts(filters)
        if metric in DRILL_CONDITIONS:
            facts = facts.filter(DRILL_CONDITIONS[metric])
    return facts.select_related("interaction", "queue", "channel", "csr").order_by(
        "-escalated_at", "-interaction_id"
    )
