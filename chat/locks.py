"""The chat app's locking reads.

Every writer takes its row locks in one order, so that concurrent changes wait for each
other instead of deadlocking: customer → interaction → offer → CSR profile (the last two
are routing's, routing/locks.py). A transaction locks at most one interaction, except a
routing run, which locks a page of waiting chats at once and skips those another
transaction holds, and a batch of sends, which locks its chats in ascending id order
and nothing else before them. On SQLite, which locks the whole database for a write
transaction, these are plain reads. A webhook delivery's transactions lock deliveries alone.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from chat.models import Customer, Interaction, WebhookDelivery


def interactions_for_update() -> QuerySet[Interaction]:
    """Interactions, each row locked as it is read (related rows are read, not locked)."""
    return Interaction.objects.select_for_update(of=("self",))


def interaction_lock(
    interaction_id: int, *related: str, only: tuple[str, ...] = ()
) -> Interaction | None:
    """The interaction, its row locked until the transaction ends, with the `related`
    rows read in the same query; None when it does not exist. `only` names the fields
    read (the others are deferred), for the busiest callers."""
    rows = interactions_for_update().select_related(*related)
    if only:
        rows = rows.only(*only)
    try:
        return rows.get(pk=interaction_id)
    except Interaction.DoesNotExist:
        return None


def interactions_lock(
    interaction_ids: Iterable[int], *, only: tuple[str, ...] = ()
) -> QuerySet[Interaction]:
    """These interactions, locked in ascending id order (so that two writers that each
    lock several wait for each other instead of deadlocking) when the queryset is read.
    A batch of sends (chat.services.messages) is the one writer that locks several."""
    rows = interactions_for_update().filter(pk__in=interaction_ids).order_by("pk")
    return rows.only(*only) if only else rows


def customer_lock(*, external_id: str) -> Customer | None:
    """The customer with this external id, locked; None when there is none yet."""
    try:
        return Customer.objects.select_for_update().get(external_id=external_id)
    except Customer.DoesNotExist:
        return None


def webhook_deliveries_for_update() -> QuerySet[WebhookDelivery]:
    """Webhook deliveries, each row locked as it is read."""
    return WebhookDelivery.objects.select_for_update(of=("self",))
