"""The changes the live feed follows: after each commits, the next tick is due at once
(supervision.events). And chat's question whether a manager may open a chat: only in the
queues they supervise."""

from django.db.models.signals import post_delete, post_save

from chat.models import Interaction
from chat.signals import manager_access_check
from config.oncommit import on_commit_robust
from routing.models import CSRProfile, Offer, QueueMembership
from supervision import events
from supervision.selectors.scope import queue_in_scope, supervised_queue_ids


def _changed(sender, **kwargs) -> None:
    on_commit_robust(events.changed)


for model in (Interaction, Offer, CSRProfile, QueueMembership):
    post_save.connect(_changed, sender=model, dispatch_uid=f"supervision-{model.__name__}")
post_delete.connect(_changed, sender=QueueMembership, dispatch_uid="supervision-membership-del")


def _manager_access(sender, *, interaction: Interaction, user, **kwargs) -> bool:
    """False (refused) for a chat outside the queues a limited manager supervises."""
    return queue_in_scope(scope=supervised_queue_ids(user=user), queue_id=interaction.queue_id)


manager_access_check.connect(_manager_access, dispatch_uid="supervision-manager-access")
