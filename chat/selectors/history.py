"""A customer's history: their earlier interactions, on any channel."""

from django.db.models import Q, QuerySet

from chat.models import Interaction


def customer_earlier_interactions(*, interaction: Interaction) -> QuerySet[Interaction]:
    """The interactions started before `interaction` by the same customer: the same
    Customer row, or the same verified identity (set when the customer authenticated,
    the same person on another channel or under another customer id). Newest first, with
    the channel, queue and CSR read in the same query. Who may see which of them is the
    caller's rule (portal.selectors.customer_history)."""
    same_customer = Q(customer_id=interaction.customer_id)
    if interaction.customer_verified_identity:
        same_customer |= Q(customer_verified_identity=interaction.customer_verified_identity)
    earlier = Q(created_at__lt=interaction.created_at) | Q(
        created_at=interaction.created_at, pk__lt=interaction.pk
    )
    return (
        Interaction.objects.filter(same_customer, earlier)
        .select_related("channel", "queue", "assigned_csr")
        .order_by("-created_at", "-pk")
    )
