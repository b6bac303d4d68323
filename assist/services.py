"""Writes: personal phrases, counting phrase use and suggestion picks, sharing an article
and pushing a page (stored as the CSR's messages through chat's message_send), keeping
the articles' full-text documents and the ranking index's version."""

import contextlib
import logging
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.search import SearchVector
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from assist import events, selectors
from assist.models import Article, Phrase, PhraseUse, SuggestionKind, SuggestionPick
from assist.placeholders import placeholders_check
from chat.errors import ChatError
from chat.models import Interaction, InteractionStatus, SenderKind, SystemEvent
from chat.services.messages import SendResult, message_send
from config.redis import REDIS_ERRORS, shared_cache, shared_redis
from config.tasks import task_enqueue

logger = logging.getLogger(__name__)

MAX_NOTE_CHARS = 500
MAX_URL_CHARS = 2000


class AssistError(Exception):
    """A refusal with a code and a message a person can act on."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# --- Content version (the ranking index) -------------------------------------------------


def content_changed() -> None:
    """Phrases or articles changed: every process rebuilds its index on its next use."""
    # When the cache is down, processes keep their index until it answers again.
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(selectors.CONTENT_VERSION_KEY, uuid.uuid4().hex, timeout=None)


def article_search_vector_update(*, article_ids: list[int]) -> None:
    """Keep PostgreSQL's full-text documents of these articles (no-op elsewhere)."""
    if connection.vendor != "postgresql" or not article_ids:
        return
    Article.objects.filter(pk__in=article_ids).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("tags", weight="B", config="english")
        + SearchVector("summary", "body", weight="C", config="english")
    )


# --- Personal phrases ---------------------------------------------------------------------


def phrase_validate(*, title: str, text: str, shortcut: str) -> None:
    """The checks of a phrase at save time: placeholders, shortcut and lengths."""
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors.setdefault("title", []).append("A phrase needs a title.")
    if not text.strip():
        errors.setdefault("text", []).append("A phrase needs some text.")
    try:
        placeholders_check(text)
    except ValidationError as error:
        errors.setdefault("text", []).extend(error.messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def personal_phrase_save(
    *,
    user: AbstractBaseUser,
    title: str,
    text: str,
    shortcut: str = "",
    phrase_id: int | None = None,
) -> Phrase:
    """Create or change one of the user's own phrases; another CSR's phrase is "not
    found" (its existence is not revealed)."""
    phrase_validate(title=title, text=text, shortcut=shortcut)
    if phrase_id is None:
        phrase = Phrase(owner_id=user.pk)
    else:
        found = Phrase.objects.select_for_update().filter(pk=phrase_id, owner=user.pk).first()
        if found is None:
            raise AssistError("not_found", "You have no such phrase.", status=404)
        phrase = found
    phrase.title, phrase.text, phrase.shortcut = title.strip(), text, shortcut.strip()
    if (
        shortcut
        and Phrase.objects.filter(owner=user.pk, shortcut=phrase.shortcut)
        .exclude(pk=phrase.pk)
        .exists()
    ):
        raise ValidationError(
            {"shortcut": [f"You already have a phrase with the shortcut /{phrase.shortcut}."]}
        )
    phrase.save()
    return phrase


@transaction.atomic
def personal_phrase_delete(*, user: AbstractBaseUser, phrase_id: int) -> None:
    deleted, _ = Phrase.objects.filter(pk=phrase_id, owner=user.pk).delete()
    if not deleted:
        raise AssistError("not_found", "You have no such phrase.", status=404)


# --- Use ----------------------------------------------------------------------------------


def suggestion_pick(*, intent: str, kind: SuggestionKind, item_id: int) -> None:
    """A CSR used a suggestion: it ranks higher for this intent next time."""
    now = timezone.now()
    updated = SuggestionPick.objects.filter(intent=intent, kind=kind, item_id=item_id).update(
        count=F("count") + 1, last_picked_at=now
    )
    if not updated:
        try:
            with transaction.atomic():
                SuggestionPick.objects.create(intent=intent, kind=kind, item_id=item_id, count=1)
        except IntegrityError:  # created meanwhile by another pick
            SuggestionPick.objects.filter(intent=intent, kind=kind, item_id=item_id).update(
                count=F("count") + 1, last_picked_at=now
            )


@transaction.atomic
def phrase_use(
    *, interaction_id: int, user: AbstractBaseUser, phrase_id: int, suggested: bool = False
) -> None:
    """The CSR inserted a phrase into the message box: counted per phrase and CSR, and
    as a pick for the chat's intent when it came from the suggestions."""
    interaction = selectors.handling_interaction_get(interaction_id=interaction_id, user=user)
    if interaction is None:
        raise AssistError("not_party", "You are not handling this chat.", status=403)
    if (
        not selectors.phrases_usable(user=user, queue_id=interaction.queue_id)
        .filter(pk=phrase_id)
        .exists()
    ):
        raise AssistError("not_found", "There is no such phrase for this chat.", status=404)
    now = timezone.now()
    use, created = PhraseUse.objects.get_or_create(
        phrase_id=phrase_id, user_id=user.pk, defaults={"count": 1, "last_used_at": now}
    )
    if not created:
        PhraseUse.objects.filter(pk=use.pk).update(count=F("count") + 1, last_used_at=now)
    if suggested:
        suggestion_pick(intent=interaction.intent, kind=SuggestionKind.PHRASE, item_id=phrase_id)


# --- Share and push -------------------------------------------------------------------------


def _send(
    *,
    interaction_id: int,
    user: AbstractBaseUser,
    text: str,
    client_msg_id: Any,
    event: str,
    data: dict[str, Any],
) -> SendResult:
    try:
        return message_send(
            interaction_id=interaction_id,
            sender_kind=SenderKind.CSR,
            text=text,
            client_msg_id=client_msg_id,
            user=user,
            event=event,
            data=data,
        )
    except ChatError as error:
        status = {"not_found": 404, "not_party": 403, "chat_ended": 409}.get(error.code, 400)
        raise AssistError(error.code, error.message, status=status) from None


def article_share(
    *,
    interaction_id: int,
    user: AbstractBaseUser,
    article_id: int,
    client_msg_id: Any,
    suggested: bool = False,
) -> SendResult:
    """Send the customer an article's card, stored as the CSR's message
    (event `article_shared`, data: the card)."""
    interaction = selectors.handling_interaction_get(interaction_id=interaction_id, user=user)
    if interaction is None:
        raise AssistError("not_party", "You are not handling this chat.", status=403)
    article = selectors.article_get(article_id=article_id)
    if article is None:
        raise AssistError("not_found", "There is no published article with this id.", status=404)
    card = selectors.article_card(article)
    text = f"{card['title']}\n{card['summary']}\n{card['url']}".strip()
    with transaction.atomic():
        result = _send(
            interaction_id=interaction_id,
            user=user,
            text=text[:5000],
            client_msg_id=client_msg_id,
            event=SystemEvent.ARTICLE_SHARED,
            data=card,
        )
        if result.created and suggested:
            suggestion_pick(
                intent=interaction.intent, kind=SuggestionKind.ARTICLE, item_id=article.pk
            )
    return result


def page_push_check(*, url: Any, note: Any, channel_id: int) -> tuple[str, str]:
    if not isinstance(url, str) or not url.strip():
        raise AssistError("bad_url", "Enter the address of the page to push.")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise AssistError("bad_url", f"The address can be at most {MAX_URL_CHARS} characters.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise AssistError(
            "bad_url", "Enter a full web address starting with https:// (or http://)."
        ) from None
    note = note if isinstance(note, str) else ""
    if len(note) > MAX_NOTE_CHARS:
        raise AssistError("bad_note", f"The note can be at most {MAX_NOTE_CHARS} characters.")
    domains = selectors.push_domains(channel_id=channel_id)
    if not selectors.push_url_allowed(url=url, domains=domains):
        allowed = ", ".join(domains) if domains else "none: an administrator adds them in the admin"
        raise AssistError(
            "domain_not_allowed",
            f"Pages can only be pushed from this channel's allowed domains ({allowed}).",
            status=403,
        )
    return url, note.strip()


def page_push(
    *, interaction_id: int, user: AbstractBaseUser, url: Any, note: Any, client_msg_id: Any
) -> SendResult:
    """Push a web page to the customer, stored as the CSR's message (event
    `page_pushed`, data {url, note}); only from the channel's allowed domains."""
    interaction = selectors.handling_interaction_get(interaction_id=interaction_id, user=user)
    if interaction is None:
        raise AssistError("not_party", "You are not handling this chat.", status=403)
    url, note = page_push_check(url=url, note=note, channel_id=interaction.channel_id)
    text = f"{note}\n{url}" if note else url
    return _send(
        interaction_id=interaction_id,
        user=user,
        text=text,
        client_msg_id=client_msg_id,
        event=SystemEvent.PAGE_PUSHED,
        data={"url": url, "note": note},
    )


# --- Suggestions: pushing them after customer messages ----------------------------------

# Customer messages waiting for suggestions: a Redis hash of interaction id → the seq of
# its newest such message, and a flag set while a push run is queued. Requests coalesce
# (as sentiment's do): the send path pays one Redis round trip instead of a Celery
# publish per message, and a run pushes each waiting chat once, for its newest message.
# A run that never starts (its worker died) holds the flag this long; the next request
# then queues another.
SUGGEST_PENDING_KEY = "assist:suggest:pending"
SUGGEST_QUEUED_KEY = "assist:suggest:queued"
SUGGEST_QUEUED_SECONDS = 10
SUGGEST_RUN_TASK = "assist.tasks.suggestions_push_pending"
SUGGEST_ONE_TASK = "assist.tasks.suggestions_push"
# A chat whose newest message is this far past the one asked for has a newer request.
SUGGEST_BACKLOG_SEQS = 20


def suggestions_request(*, interaction_id: int, seq: int) -> None:
    """A customer message committed: have the handling CSR's suggestions pushed for it,
    with the next run (queued now unless one is queued already). While Redis cannot be
    reached, a task of its own."""
    try:
        # On the send path, in the socket's context: the process's one client, not a
        # cache backend per socket (config/redis.py).
        keys = shared_cache()
        pipe = shared_redis().pipeline(transaction=False)
        pipe.hset(keys.make_key(SUGGEST_PENDING_KEY), str(interaction_id), seq)
        pipe.set(keys.make_key(SUGGEST_QUEUED_KEY), 1, nx=True, ex=SUGGEST_QUEUED_SECONDS)
        _, first = pipe.execute()
    except RedisError:
        logger.warning("Suggestions for chat %s not coalesced", interaction_id, exc_info=True)
        task_enqueue(SUGGEST_ONE_TASK, interaction_id, seq)
        return
    if first:
        task_enqueue(SUGGEST_RUN_TASK)


def suggestions_push_pending() -> list[int]:
    """A push run: take every waiting chat and push its suggestions once, for its newest
    customer message; returns their ids. The queued flag is cleared first, so a message
    committed from then on queues the next run, and none is left waiting unseen."""
    client = get_redis_connection("default")
    client.delete(cache.make_key(SUGGEST_QUEUED_KEY))
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(cache.make_key(SUGGEST_PENDING_KEY))
    pipe.delete(cache.make_key(SUGGEST_PENDING_KEY))
    pending, _ = pipe.execute()
    taken = sorted((int(chat), int(seq)) for chat, seq in pending.items())
    for interaction_id, seq in taken:
        try:
            suggestions_push(interaction_id=interaction_id, seq=seq)
        except Exception:  # one chat's failure leaves the others' suggestions due
            logger.exception("Could not push suggestions for chat %s", interaction_id)
    return [interaction_id for interaction_id, _ in taken]


def suggestions_push(*, interaction_id: int, seq: int) -> None:
    """Rank phrases and articles against the customer's newest messages and push them to
    the panel of the CSR handling the chat, labelled with message `seq`."""
    interaction = (
        Interaction.objects.select_related("queue", "assigned_csr")
        .filter(pk=interaction_id, status=InteractionStatus.ACTIVE)
        .first()
    )
    if interaction is None or interaction.assigned_csr is None:
        return
    if interaction.last_seq - seq > SUGGEST_BACKLOG_SEQS:
        return  # a backlog: a newer message asks for its own
    user = interaction.assigned_csr
    ranked = selectors.suggestions_rank(
        text=selectors.customer_recent_text(interaction_id=interaction_id),
        intent=interaction.intent,
        queue_id=interaction.queue_id,
        user_id=user.pk,
    )
    items = selectors.suggestions_out(ranked, interaction=interaction, user=user)
    events.suggestions_publish(user_id=user.pk, interaction_id=interaction_id, seq=seq, items=items)
