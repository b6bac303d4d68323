"""Common phrases (shared and personal), their use, knowledge articles, what CSRs pick
from the suggestions, and the domains a channel may push pages from."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Phrase(models.Model):
    """A common phrase (canned response). Shared phrases have no owner and are managed in
    the admin; a CSR's personal phrases have the CSR as owner and are managed in the
    portal. The text may hold placeholders, filled when it is inserted
    (assist.placeholders)."""

    title = models.CharField(max_length=120)
    text = models.TextField(max_length=5000)
    shortcut = models.SlugField(
        max_length=40,
        blank=True,
        help_text="Typed as /shortcut in the chat panel's message box (letters, digits, - and _).",
    )
    queues = models.ManyToManyField(
        "routing.Queue",
        blank=True,
        related_name="+",
        help_text="The queues it applies to; none means every queue.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assist_phrases",
        help_text="Empty for a shared phrase; the CSR for a personal phrase.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["shortcut"],
                condition=Q(owner__isnull=True) & ~Q(shortcut=""),
                name="assist_phrase_unique_shared_shortcut",
            ),
            models.UniqueConstraint(
                fields=["owner", "shortcut"],
                condition=Q(owner__isnull=False) & ~Q(shortcut=""),
                name="assist_phrase_unique_personal_shortcut",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PhraseUse(models.Model):
    """How often a CSR inserted a phrase (ranking and reports)."""

    phrase = models.ForeignKey(Phrase, on_delete=models.CASCADE, related_name="uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phrase", "user"], name="assist_phrase_use_unique")
        ]

    def __str__(self) -> str:
        return f"{self.phrase} by {self.user}: {self.count}"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Article(models.Model):
    """A knowledge article: Markdown body, rendered and sanitised on the server."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    summary = models.CharField(
        max_length=300, blank=True, help_text="Shown on the card the customer receives."
    )
    body = models.TextField(help_text="Markdown. Raw HTML is removed when it is shown.")
    category = models.CharField(max_length=80, blank=True)
    tags = models.CharField(max_length=300, blank=True, help_text="Comma-separated.")
    public_url = models.URLField(
        max_length=500, blank=True, help_text="The article on the host website (optional)."
    )
    queues = models.ManyToManyField(
        "routing.Queue",
        blank=True,
        related_name="+",
        help_text="The queues it applies to; none means every queue.",
    )
    intents = models.CharField(
        max_length=300, blank=True, help_text="Comma-separated intents it answers (e.g. lost_card)."
    )
    status = models.CharField(
        max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    # PostgreSQL's full-text document (title A, tags B, summary and body C), kept by
    # assist.services.articles; unused on SQLite.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]

    def intent_list(self) -> list[str]:
        return [intent.strip() for intent in self.intents.split(",") if intent.strip()]


class SuggestionKind(models.TextChoices):
    PHRASE = "phrase", "Phrase"
    ARTICLE = "article", "Article"


class SuggestionPick(models.Model):
    """A suggestion the CSRs used, counted per intent: it ranks higher next time for
    that intent."""

    intent = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=SuggestionKind.choices)
    item_id = models.PositiveIntegerField()
    count = models.PositiveIntegerField(default=0)
    last_picked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["intent", "kind", "item_id"], name="assist_pick_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_id} for {self.intent or 'no intent'}: {self.count}"


class PushDomain(models.Model):
    """A domain a CSR may push pages from on a channel (its allow-list). `example.com`
    also allows its subdomains (`www.example.com`)."""

    channel = models.ForeignKey(
        "chat.Channel", on_delete=models.CASCADE, related_name="push_domains"
    )
    domain = models.CharField(max_length=253, help_text="A host name, e.g. northwind.example")

    class Meta:
        ordering = ["channel", "domain"]
        verbose_name = "page push domain"
        constraints = [
            models.UniqueConstraint(fields=["channel", "domain"], name="assist_push_domain_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.domain}"
