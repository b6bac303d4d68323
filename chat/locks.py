"""The chat app's locking reads.

Every writer takes its row locks in one order, so that concurrent changes wait for each
other instead of deadlocking: customer → interaction → offer → CSR profile (the last two
are routing's, routing/locks.py). A transaction locks at most one interaction, except a
routing run, which locks a page of waiting chats at once and skips those another
transaction holds. On SQLite, which locks the whole database for a write transaction,
these are plain reads. A webhook delivery's transactions lock deliveries alone.
"""

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


def customer_lock(*, external_id: str) -> Customer | None:
    """The customer with this external id, locked; None when there is none yet."""
    try:
        return Customer.objects.select_for_update().get(external_id=external_id)
    except Customer.DoesNotExist:
        return None


def webhook_deliveries_for_update() -> QuerySet[WebhookDelivery]:
    """Webhook deliveries, each row locked as it is read."""
    return WebhookDelivery.objects.select_for_update(of=("self",))
