"""The demo bank's five case types (called by the demo seed command)."""

from typing import Any

from django.db import transaction

from cases.assistant.ranking import CaseTypeText
from cases.models import CaseField, CaseType, Extractor, FieldKind, IdentityField

DEMO_CASE_TYPES: list[dict[str, Any]] = [
    {
        "name": "Report a lost or stolen card",
        "prefix": "LST",
        "category": "Cards",
        "description": "Block a lost or stolen card and order a replacement.",
        "requires_authentication": False,
        "intents": "lost_card, stolen_card, card_lost",
        "example_phrases": [
            "I lost my card",
            "my card was stolen",
            "my wallet was stolen with my bank card in it",
            "I can't find my debit card anywhere",
            "please block my card I think I left it somewhere",
            "someone stole my purse and my cards",
            "my credit card is missing",
            "I need to cancel my card because it's gone",
            "freeze my card it was pickpocketed",
        ],
        "fields": [
            {
                "key": "card_ending",
                "label": "Card ending",
                "required": True,
                "extractor": Extractor.CARD_ENDING,
                "context_keys": "card_last4, card_ending",
                "help_text": "The card's last four digits.",
            },
            {
                "key": "what_happened",
                "label": "Lost or stolen",
                "kind": FieldKind.CHOICE,
                "required": True,
                "choices": "Lost\nStolen",
            },
            {
                "key": "last_used_on",
                "label": "Last used on",
                "kind": FieldKind.DATE,
                "extractor": Extractor.DATE,
            },
            {"key": "replacement", "label": "Send a replacement card", "kind": FieldKind.YES_NO},
        ],
    },
    {
        "name": "Dispute a card payment",
        "prefix": "DSP",
        "category": "Payments",
        "description": "A card payment the customer does not recognise or disagrees with.",
        "requires_authentication": True,
        "intents": "card_dispute, dispute_payment, unrecognised_transaction, fraud",
        "example_phrases": [
            "there is a payment on my card I don't recognise",
            "someone took money from my card",
            "I was charged twice for the same thing",
            "I want to dispute a transaction",
            "a shop charged me the wrong amount",
            "I never received the goods but I was charged",
            "there's a transaction on my statement that isn't mine",
            "money was taken from my account without my permission",
            "unknown payment on my debit card",
            "I want a refund for a card payment, fraud",
        ],
        "fields": [
            {
                "key": "amount",
                "label": "Amount",
                "kind": FieldKind.MONEY,
                "required": True,
                "extractor": Extractor.AMOUNT,
            },
            {
                "key": "payment_date",
                "label": "Payment date",
                "kind": FieldKind.DATE,
                "required": True,
                "extractor": Extractor.DATE,
            },
            {
                "key": "card_ending",
                "label": "Card ending",
                "extractor": Extractor.CARD_ENDING,
                "context_keys": "card_last4, card_ending",
            },
            {
                "key": "merchant",
                "label": "Merchant",
                "context_keys": "merchant",
                "help_text": "Who took the payment, as on the statement.",
            },
            {
                "key": "reason",
                "label": "Reason",
                "kind": FieldKind.CHOICE,
                "required": True,
                "choices": "Not recognised\nCharged twice\nGoods not received\nWrong amount\nOther",
            },
        ],
    },
    {
        "name": "Change address",
        "prefix": "ADR",
        "category": "Account",
        "description": "The customer moved: change the address on their accounts.",
        "requires_authentication": True,
        "intents": "change_address, update_address, moving_house",
        "example_phrases": [
            "I moved house and need to change my address",
            "please update my address",
            "I have a new address",
            "we are moving to a new home next month",
            "my postcode has changed",
            "where do I change my home address",
            "send my statements to my new flat",
            "I relocated and need my correspondence address updated",
        ],
        "fields": [
            {
                "key": "full_name",
                "label": "Name on the account",
                "identity_field": IdentityField.NAME,
                "required": True,
            },
            {
                "key": "new_address",
                "label": "New address",
                "required": True,
                "context_keys": "new_address",
            },
            {"key": "postcode", "label": "Postcode", "required": True, "context_keys": "postcode"},
            {
                "key": "move_date",
                "label": "Moving date",
                "kind": FieldKind.DATE,
                "extractor": Extractor.DATE,
            },
        ],
    },
    {
        "name": "Increase a limit",
        "prefix": "LIM",
        "category": "Cards",
        "description": "Raise a credit limit, a daily spending or a transfer limit.",
        "requires_authentication": True,
        "intents": "increase_limit, credit_limit, raise_limit",
        "example_phrases": [
            "I want to increase my credit limit",
            "can you raise my limit",
            "my card keeps getting declined because of the daily limit",
            "I need a higher spending limit",
            "please increase my daily transfer limit",
            "how do I get a bigger credit limit on my card",
            "the limit is too low for a purchase I need to make",
            "can my overdraft limit go up",
        ],
        "fields": [
            {
                "key": "limit_kind",
                "label": "Which limit",
                "kind": FieldKind.CHOICE,
                "required": True,
                "choices": "Credit card limit\nDaily card spending limit\nDaily transfer limit",
            },
            {
                "key": "new_limit",
                "label": "New limit",
                "kind": FieldKind.MONEY,
                "required": True,
                "extractor": Extractor.AMOUNT,
            },
            {
                "key": "card_ending",
                "label": "Card ending",
                "extractor": Extractor.CARD_ENDING,
                "context_keys": "card_last4, card_ending",
            },
            {"key": "reason", "label": "Reason"},
        ],
    },
    {
        "name": "Close an account",
        "prefix": "CLS",
        "category": "Account",
        "description": "Close a current or savings account.",
        "requires_authentication": True,
        "intents": "close_account, cancel_account, leave_bank",
        "example_phrases": [
            "I want to close my account",
            "please close my savings account",
            "how do I cancel my current account",
            "I'm switching banks and want to shut my account",
            "I no longer need this account, close it",
            "terminate my account",
            "I want to leave the bank and move my money elsewhere",
            "close my account and transfer the balance",
        ],
        "fields": [
            {
                "key": "account_number",
                "label": "Account number",
                "required": True,
                "context_keys": "account_number, account",
            },
            {
                "key": "reason",
                "label": "Reason",
                "kind": FieldKind.CHOICE,
                "required": True,
                "choices": "Moving to another bank\nNo longer needed\nFees\n"
                "Unhappy with the service\nOther",
            },
            {
                "key": "closing_date",
                "label": "Close on",
                "kind": FieldKind.DATE,
                "extractor": Extractor.DATE,
            },
            {
                "key": "move_balance",
                "label": "Move the balance to another account",
                "kind": FieldKind.YES_NO,
            },
        ],
    },
]


def demo_case_type_texts() -> tuple[list[CaseTypeText], dict[int, str]]:
    """The demo case types as the ranking reads them (ids are their positions), and each
    id's prefix: for measuring the assistant without a database."""
    types = [
        CaseTypeText(
            id=index,
            name=spec["name"],
            description=spec["description"],
            phrases=spec["example_phrases"],
            intents=[intent.strip() for intent in spec["intents"].split(",")],
        )
        for index, spec in enumerate(DEMO_CASE_TYPES)
    ]
    return types, {index: spec["prefix"] for index, spec in enumerate(DEMO_CASE_TYPES)}


@transaction.atomic
def demo_case_types_create() -> list[CaseType]:
    """Create or refresh the five demo case types and their fields (cases keep theirs)."""
    created = []
    for order, spec in enumerate(DEMO_CASE_TYPES):
        case_type, _ = CaseType.objects.update_or_create(
            prefix=spec["prefix"],
            defaults={
                "name": spec["name"],
                "category": spec["category"],
                "description": spec["description"],
                "requires_authentication": spec["requires_authentication"],
                "intents": spec["intents"],
                "example_phrases": "\n".join(spec["example_phrases"]),
                "order": order,
                "active": True,
            },
        )
        keys = []
        for field_order, field_spec in enumerate(spec["fields"]):
            keys.append(field_spec["key"])
            CaseField.objects.update_or_create(
                case_type=case_type,
                key=field_spec["key"],
                defaults={
                    "label": field_spec["label"],
                    "kind": field_spec.get("kind", FieldKind.TEXT),
                    "required": field_spec.get("required", False),
                    "help_text": field_spec.get("help_text", ""),
                    "choices": field_spec.get("choices", ""),
                    "context_keys": field_spec.get("context_keys", ""),
                    "identity_field": field_spec.get("identity_field", ""),
                    "extractor": field_spec.get("extractor", ""),
                    "order": field_order,
                },
            )
        case_type.fields.exclude(key__in=keys).delete()
        created.append(case_type)
    return created
