"""What the chat panel's case assistant shows for one chat: the case types the chat
offers by Add task category, the ones that fit the conversation (with why), the
customer's other open cases, and a case type's form pre-filled with sources."""

from typing import Any
from zoneinfo import ZoneInfo

from cases.assistant.extract import locale_currency, locale_get
from cases.assistant.prefill import ChatFacts, CustomerLine, field_prefill
from cases.assistant.ranking import CaseTypeIndex, CaseTypeText
from cases.models import CaseType
from cases.selectors import case_summary, case_types_offered, customer_open_cases
from cases.services import interaction_locale
from chat.models import Interaction, Message, SenderKind
from chat.selectors.settings import app_studio_settings_get

# The customer's newest messages the assistant reads (the bot conversation included).
CUSTOMER_LINES = 20
SUGGESTIONS = 3


def auth_reminder(case_type: CaseType, interaction: Interaction) -> str:
    if case_type.requires_authentication and not interaction.authenticated:
        return (
            f"{case_type.name} needs an authenticated customer: request authentication "
            "first (Actions → Request authentication)."
        )
    return ""


def customer_lines(interaction: Interaction) -> list[CustomerLine]:
    rows = (
        Message.objects.filter(interaction=interaction, sender_kind=SenderKind.CUSTOMER)
        .order_by("-seq")
        .values_list("seq", "text", "created_at")[:CUSTOMER_LINES]
    )
    return [CustomerLine(seq=seq, text=text, created_at=at) for seq, text, at in reversed(rows)]


def _case_type_text(case_type: CaseType) -> CaseTypeText:
    return CaseTypeText(
        id=case_type.pk,
        name=case_type.name,
        description=case_type.description,
        phrases=case_type.phrase_list,
        intents=case_type.intent_list,
    )


def _case_type_item(case_type: CaseType, interaction: Interaction) -> dict[str, Any]:
    return {
        "id": case_type.pk,
        "name": case_type.name,
        "category": case_type.category,
        "requires_authentication": case_type.requires_authentication,
        "auth_reminder": auth_reminder(case_type, interaction),
    }


def assistant_state(*, interaction: Interaction) -> dict[str, Any]:
    """The assistant's suggestions for the chat as it is now."""
    offered = case_types_offered(interaction=interaction)
    by_id = {t.pk: t for t in offered}
    texts = [line.text for line in customer_lines(interaction)]
    ranked = CaseTypeIndex([_case_type_text(t) for t in offered]).rank(
        texts=texts, intent=interaction.intent, limit=SUGGESTIONS
    )
    return {
        "interaction_id": interaction.pk,
        "authenticated": interaction.authenticated,
        "suggestions": [
            {
                **_case_type_item(by_id[s.case_type_id], interaction),
                "score": s.score,
                "reasons": s.reasons,
            }
            for s in ranked
        ],
        "case_types": [_case_type_item(t, interaction) for t in offered],
        "open_cases": [
            case_summary(case) for case in customer_open_cases(customer_id=interaction.customer_id)
        ],
    }


def case_form(*, interaction: Interaction, case_type: CaseType) -> dict[str, Any]:
    """A case type's form for this chat, each field pre-filled where the assistant found a
    value, with its source. Nothing is saved."""
    facts = ChatFacts(
        context=interaction.context if isinstance(interaction.context, dict) else {},
        metadata=(
            interaction.customer_metadata if isinstance(interaction.customer_metadata, dict) else {}
        ),
        name=interaction.customer_name,
        email=interaction.customer_email,
        phone=interaction.customer_phone,
        authenticated=interaction.authenticated,
        verified_identity=interaction.customer_verified_identity,
    )
    lines = customer_lines(interaction)
    time_zone = ZoneInfo(app_studio_settings_get().time_zone)
    locale = locale_get(interaction_locale(interaction))
    fields = []
    for field in case_type.fields.all():
        found = field_prefill(field, facts=facts, lines=lines, time_zone=time_zone, locale=locale)
        fields.append(
            {
                "key": field.key,
                "label": field.label,
                "kind": field.kind,
                "required": field.required,
                "help_text": field.help_text,
                "choices": field.choice_list,
                "value": found.value if found else None,
                "source": found.source if found else "",
                "seq": found.seq if found else None,
            }
        )
    return {
        **_case_type_item(case_type, interaction),
        "authenticated": interaction.authenticated,
        "locale": str(locale),
        "default_currency": locale_currency(locale),
        "fields": fields,
    }
