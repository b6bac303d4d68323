"""Reads: the phrases a CSR may use in a chat (with placeholders filled), article search
and reading, the suggestions for a chat, and the page push allow-list."""

import uuid
from collections.abc import Iterator
from typing import Any, TypedDict
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from assist import markdown, ranking
from assist.models import (
    Article,
    ArticleStatus,
    Phrase,
    PhraseUse,
    PushDomain,
    SuggestionKind,
    SuggestionPick,
)
from assist.placeholders import placeholders_fill
from chat.models import Interaction, Message, SenderKind
from config.redis import REDIS_ERRORS
from config.users import display_name

CONTENT_VERSION_KEY = "assist:content-version"
# The customer's messages a suggestion reads (the newest ones).
SUGGEST_MESSAGES = 3
SUGGEST_LIMIT = 5
SEARCH_LIMIT = 20

_holder = ranking.IndexHolder()


# --- The chat a CSR works in ----------------------------------------------------------


def handling_interaction_get(*, interaction_id: int, user: AbstractBaseUser) -> Interaction | None:
    """The interaction if `user` is the CSR handling it (phrases, suggestions, sharing)."""
    return (
        Interaction.objects.select_related("queue", "channel")
        .filter(pk=interaction_id, assigned_csr_id=user.pk)
        .first()
    )


def placeholder_values(*, interaction: Interaction, user: AbstractBaseUser) -> dict[str, str]:
    first = (interaction.customer_name or "").split()
    return {
        "customer_first_name": first[0] if first else "there",
        "csr_name": display_name(user),
        "queue": interaction.queue.name,
        "interaction_id": str(interaction.pk),
    }


# --- Phrases ----------------------------------------------------------------------------


def phrases_usable(*, user: AbstractBaseUser, queue_id: int | None) -> QuerySet[Phrase]:
    """Active shared phrases for the queue, and the user's own phrases, the ones the user
    inserts most first."""
    queue_filter = Q(queues__isnull=True)
    if queue_id is not None:
        queue_filter |= Q(queues=queue_id)
    return (
        Phrase.objects.filter(active=True)
        .filter(
            Q(owner__isnull=True, pk__in=Phrase.objects.filter(queue_filter).values("pk"))
            | Q(owner=user.pk)
        )
        .annotate(used=Coalesce(Sum("uses__count", filter=Q(uses__user=user.pk)), 0))
        .order_by("-used", "title")
    )


class PhraseOut(TypedDict):
    id: int
    title: str
    shortcut: str
    personal: bool
    text: str  # placeholders filled for the chat


def phrases_for_chat(
    *, interaction: Interaction, user: AbstractBaseUser, q: str = ""
) -> list[PhraseOut]:
    values = placeholder_values(interaction=interaction, user=user)
    phrases = phrases_usable(user=user, queue_id=interaction.queue_id)
    if q:
        phrases = phrases.filter(
            Q(title__icontains=q) | Q(text__icontains=q) | Q(shortcut__istartswith=q.lstrip("/"))
        )
    return [
        {
            "id": p.pk,
            "title": p.title,
            "shortcut": p.shortcut,
            "personal": p.owner_id is not None,
            "text": placeholders_fill(p.text, values),
        }
        for p in phrases[:200]
    ]


def personal_phrases(*, user: AbstractBaseUser) -> QuerySet[Phrase]:
    return Phrase.objects.filter(owner=user.pk).order_by("title")


def phrase_usage(*, user: AbstractBaseUser | None = None) -> QuerySet[PhraseUse]:
    """How often each phrase was inserted, per CSR (reports)."""
    uses = PhraseUse.objects.select_related("phrase", "user").order_by("-count")
    return uses.filter(user=user.pk) if user is not None else uses


# --- Articles ---------------------------------------------------------------------------


def published_articles() -> QuerySet[Article]:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED)


def article_portal_url(article: Article) -> str:
    """The portal's public page of the article: absolute under PUBLIC_BASE_URL when set
    (connectors and host sites elsewhere), else a path on this server."""
    base = settings.PORTAL["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/help/articles/{article.slug}/"


def article_card(article: Article) -> dict[str, Any]:
    """What the customer receives when an article is shared."""
    return {
        "article_id": article.pk,
        "title": article.title,
        "summary": article.summary or markdown.plain_summary(article.body),
        "url": article.public_url or article_portal_url(article),
    }


def article_out(article: Article, *, body: bool = False) -> dict[str, Any]:
    out = {
        **article_card(article),
        "id": article.pk,
        "category": article.category,
        "tags": article.tag_list(),
        "public_url": article.public_url,
        "updated_at": article.updated_at.isoformat(),
    }
    if body:
        out["html"] = markdown.render(article.body)
    return out


def for_queue(queue_id: int) -> Q:
    """Articles for every queue (none listed) or listing this one; without a join that
    would need DISTINCT over whole rows."""
    links = Article.queues.through.objects.filter(article=OuterRef("pk"))
    return ~Exists(links) | Exists(links.filter(queue_id=queue_id))


def article_search(
    *, q: str, queue_id: int | None = None, limit: int = SEARCH_LIMIT
) -> list[Article]:
    """Published articles matching `q` (title, tags, summary and body), best first:
    PostgreSQL's full-text ranking, or the BM25 index on other databases. No query: the
    newest articles."""
    q = (q or "").strip()[:200]
    articles = published_articles().defer("search_vector")
    if queue_id is not None:
        articles = articles.filter(for_queue(queue_id))
    if not q:
        return list(articles.order_by("-updated_at", "title")[:limit])
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        query = SearchQuery(q, search_type="websearch", config="english")
        found: list[Article] = list(
            articles.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "title")[:limit]
        )
        if found:
            return found
        # Words that all match nowhere: any of them (an "or" query) rather than nothing.
        any_words = " OR ".join(ranking.words(q)[:10])
        if not any_words:
            return []
        query = SearchQuery(any_words, search_type="websearch", config="english")
        return list(
            articles.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "title")[:limit]
        )
    ranked = assist_index().rank(
        q, user_id=None, queue_id=queue_id, kinds=[SuggestionKind.ARTICLE], limit=limit
    )
    by_id = articles.in_bulk([r.item.id for r in ranked])
    return [by_id[r.item.id] for r in ranked if r.item.id in by_id]


def article_get(*, article_id: int) -> Article | None:
    return published_articles().filter(pk=article_id).first()


# --- The ranking index --------------------------------------------------------------------


def content_version() -> object:
    """A token that changes whenever phrases or articles change (and when the cache lost
    it: every process then rebuilds once)."""
    try:
        version = cache.get(CONTENT_VERSION_KEY)
        if version is None:
            cache.add(CONTENT_VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(CONTENT_VERSION_KEY)
        return version
    except REDIS_ERRORS:
        return None  # the cache is down: keep the index this process has


def index_entries() -> Iterator[tuple[ranking.Item, str]]:
    """Every active phrase and published article, with the text BM25 reads."""
    phrases = Phrase.objects.filter(active=True).prefetch_related(
        Prefetch("queues", to_attr="queue_list")
    )
    for phrase in phrases.iterator(chunk_size=1000):
        yield (
            ranking.Item(
                kind=SuggestionKind.PHRASE,
                id=phrase.pk,
                title=phrase.title,
                owner_id=phrase.owner_id,
                queue_ids=frozenset(q.pk for q in phrase.queue_list),  # type: ignore[attr-defined]
            ),
            f"{phrase.title} {phrase.title} {phrase.shortcut.replace('-', ' ')} {phrase.text}",
        )
    articles = published_articles().prefetch_related(Prefetch("queues", to_attr="queue_list"))
    for article in articles.iterator(chunk_size=1000):
        intents = article.intent_list()
        body = " ".join(article.body.split()[: ranking.BODY_WORDS])
        text = " ".join(
            [article.title] * 2
            + [article.summary]
            + [article.tags.replace(",", " ")] * 2
            + [ranking.intent_words(i) for i in intents]
            + [body]
        )
        yield (
            ranking.Item(
                kind=SuggestionKind.ARTICLE,
                id=article.pk,
                title=article.title,
                queue_ids=frozenset(q.pk for q in article.queue_list),  # type: ignore[attr-defined]
                intents=frozenset(intents),
            ),
            text,
        )


def assist_index() -> ranking.Index:
    version = content_version()
    if version is None and _holder.index is not None:
        return _holder.index
    return _holder.get(version, lambda: list(index_entries()))


# --- Suggestions --------------------------------------------------------------------------


def picks_for_intent(intent: str) -> dict[tuple[str, int], int]:
    return {
        (kind, item_id): count
        for kind, item_id, count in SuggestionPick.objects.filter(intent=intent).values_list(
            "kind", "item_id", "count"
        )
    }


def customer_recent_text(*, interaction_id: int, limit: int = SUGGEST_MESSAGES) -> str:
    """The customer's newest messages, the newest three times over: the conversation
    moves on, and the ranking follows what the customer said last."""
    texts = list(
        Message.objects.filter(
            interaction_id=interaction_id, sender_kind=SenderKind.CUSTOMER, internal=False
        )
        .order_by("-seq")
        .values_list("text", flat=True)[:limit]
    )
    return "\n".join([*reversed(texts), *texts[:1] * 2])


def suggestions_rank(
    *, text: str, intent: str, queue_id: int | None, user_id: int | None, limit: int = SUGGEST_LIMIT
) -> list[ranking.Ranked]:
    return assist_index().rank(
        text,
        user_id=user_id,
        queue_id=queue_id,
        intent=intent,
        picks=picks_for_intent(intent),
        limit=limit,
    )


def suggestions_out(
    ranked: list[ranking.Ranked], *, interaction: Interaction, user: AbstractBaseUser
) -> list[dict[str, Any]]:
    """The suggestions as the panel shows them: a phrase's text filled for the chat, an
    article's card, and why each was suggested."""
    phrase_ids = [r.item.id for r in ranked if r.item.kind == SuggestionKind.PHRASE]
    article_ids = [r.item.id for r in ranked if r.item.kind == SuggestionKind.ARTICLE]
    phrases = Phrase.objects.in_bulk(phrase_ids)
    articles = published_articles().in_bulk(article_ids)
    values = placeholder_values(interaction=interaction, user=user)
    out: list[dict[str, Any]] = []
    for r in ranked:
        why = {
            "words": list(r.matched),
            "intent": interaction.intent if r.intent else "",
            "picked": r.picks,
        }
        if r.item.kind == SuggestionKind.PHRASE and r.item.id in phrases:
            phrase = phrases[r.item.id]
            out.append(
                {
                    "kind": "phrase",
                    "id": phrase.pk,
                    "title": phrase.title,
                    "text": placeholders_fill(phrase.text, values),
                    "score": r.score,
                    "why": why,
                }
            )
        elif r.item.kind == SuggestionKind.ARTICLE and r.item.id in articles:
            out.append(
                {
                    **article_card(articles[r.item.id]),
                    "kind": "article",
                    "id": r.item.id,
                    "score": r.score,
                    "why": why,
                }
            )
    return out


# --- Page push --------------------------------------------------------------------------


def push_domains(*, channel_id: int) -> list[str]:
    return list(PushDomain.objects.filter(channel_id=channel_id).values_list("domain", flat=True))


def push_url_allowed(*, url: str, domains: list[str]) -> bool:
    """http(s) only, and the host is an allowed domain or a subdomain of one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower().rstrip(".")
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def phrase_use_totals() -> QuerySet[Phrase]:
    return Phrase.objects.annotate(total_uses=Sum("uses__count"), csrs=Count("uses"))
