"""Admin: shared phrases, knowledge articles, page push domains, and what was used."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from assist.models import Article, Phrase, PhraseUse, PushDomain, SuggestionPick
from assist.placeholders import PLACEHOLDERS, placeholders_check

PLACEHOLDER_HELP = "Placeholders: " + ", ".join(
    f"{{{name}}} ({label})" for name, label in PLACEHOLDERS.items()
)


class PhraseForm(forms.ModelForm):
    class Meta:
        model = Phrase
        fields = ["title", "text", "shortcut", "queues", "active", "owner"]
        help_texts = {"text": PLACEHOLDER_HELP}

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        try:
            placeholders_check(text)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        return text


@admin.register(Phrase)
class PhraseAdmin(admin.ModelAdmin):
    form = PhraseForm
    list_display = ["title", "shortcut", "owner", "active", "updated_at"]
    list_filter = ["active", ("owner", admin.EmptyFieldListFilter), "queues"]
    search_fields = ["title", "text", "shortcut"]
    filter_horizontal = ["queues"]
    raw_id_fields = ["owner"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "status", "updated_at"]
    list_filter = ["status", "category", "queues"]
    search_fields = ["title", "body", "tags", "intents"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["queues"]
    fields = [
        "title", "slug", "summary", "body", "category", "tags", "public_url", "queues", "intents",
        "status", "updated_at",
    ]  # fmt: skip
    readonly_fields = ["updated_at"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "public_url":
            kwargs["assume_scheme"] = "https"  # an address typed without one
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(PushDomain)
class PushDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "channel"]
    list_filter = ["channel"]
    search_fields = ["domain"]


@admin.register(PhraseUse)
class PhraseUseAdmin(admin.ModelAdmin):
    list_display = ["phrase", "user", "count", "last_used_at"]
    list_filter = ["user"]
    readonly_fields = ["phrase", "user", "count", "last_used_at"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(SuggestionPick)
class SuggestionPickAdmin(admin.ModelAdmin):
    list_display = ["intent", "kind", "item_id", "count", "last_picked_at"]
    list_filter = ["kind"]
    readonly_fields = ["intent", "kind", "item_id", "count", "last_picked_at"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
