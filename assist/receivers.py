"""What assist does when the chat app or its own content changes."""

from typing import Any

from django.db.models.signals import post_save

from assist import services
from assist.models import Article
from config.oncommit import on_commit_robust


def customer_message_stored(*, interaction_id: int, seq: int, **kwargs: Any) -> None:
    """A customer wrote (after commit): rank suggestions for the CSR's panel in a
    worker, off the customer's send path (requests coalesce: one run per burst)."""
    services.suggestions_request(interaction_id=interaction_id, seq=seq)


def content_changed(sender: Any, instance: Any = None, **kwargs: Any) -> None:
    """A phrase or an article was saved or deleted (or its queues changed): refresh an
    article's full-text document, and move the index version once the change commits."""
    if (
        isinstance(instance, Article)
        and kwargs.get("signal") is post_save
        and not kwargs.get("raw")
    ):
        services.article_search_vector_update(article_ids=[instance.pk])
    on_commit_robust(services.content_changed)
