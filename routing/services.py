"""State changes of the routing app."""

import logging

from chat.models import Interaction

logger = logging.getLogger(__name__)


def interaction_route(*, interaction_id: int) -> None:
    """Offer a waiting interaction to an eligible CSR.

    Placeholder: the routing engine (a later issue) replaces this function. Until then
    it only loads the interaction and logs that it waits in its queue.
    """
    interaction = Interaction.objects.select_related("queue").filter(pk=interaction_id).first()
    if interaction is None:
        logger.warning("Interaction %s to route no longer exists", interaction_id)
        return
    logger.info(
        "Interaction %s (%s) waits in queue %s for the routing engine",
        interaction.pk,
        interaction.status,
        interaction.queue.slug,
    )
