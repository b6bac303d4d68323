"""Reads of the retention purge: which closed interactions are due, and which of them
another record protects."""

from datetime import timedelta

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.models import OPEN_INTERACTION_STATUSES, Attachment, Interaction


def interactions_due(
    *, older_than_days: int | None = None, customer_external_id: str | None = None
) -> QuerySet[Interaction]:
    """Closed interactions that ended (or, never ended, were created) more than
    `older_than_days` ago, and/or those of the customer with this external id; in id
    order. Open chats are never due."""
    closed = Interaction.objects.exclude(status__in=OPEN_INTERACTION_STATUSES)
    if older_than_days is not None:
        cutoff = timezone.now() - timedelta(days=older_than_days)
        closed = closed.annotate(closed_at=Coalesce("ended_at", "created_at")).filter(
            closed_at__lt=cutoff
        )
    if customer_external_id:
        closed = closed.filter(customer__external_id=customer_external_id)
    return closed.order_by("pk")


def protecting_relations() -> list[models.ForeignObjectRel]:
    """The relations whose rows forbid deleting the interaction they point at (PROTECT
    or RESTRICT: a service case, say). Read from the models, so that chat names no app
    above it."""
    return [
        field
        for field in Interaction._meta.get_fields(include_hidden=True)
        if isinstance(field, models.ForeignObjectRel)
        and field.on_delete in (models.PROTECT, models.RESTRICT)
    ]


def protected_filter() -> Q:
    """Interactions some record of a protecting relation points at."""
    condition = Q(pk__in=[])
    for relation in protecting_relations():
        referring = relation.related_model._default_manager.filter(
            **{relation.field.name: OuterRef("pk")}
        )
        condition |= Q(Exists(referring))
    return condition


def files_unsent(*, older_than_hours: int) -> QuerySet[Attachment]:
    """Files uploaded at least this many hours ago and never sent in a message."""
    return Attachment.objects.filter(
        message__isnull=True,
        created_at__lt=timezone.now() - timedelta(hours=max(older_than_hours, 0)),
    ).order_by("pk")
