"""Placeholders: unknown ones are refused when a phrase is saved (not when it is sent);
known ones are filled when it is inserted."""

import pytest
from django.core.exceptions import ValidationError

from assist.admin import PhraseForm
from assist.placeholders import placeholders_check, placeholders_fill
from assist.services import personal_phrase_save
from config.users import Role
from tests.factories import user_factory


def test_known_placeholders_are_filled():
    text = "Hi {customer_first_name}, I'm {csr_name} ({queue}, #{interaction_id})."
    values = {
        "customer_first_name": "Dana",
        "csr_name": "Alex Morgan",
        "queue": "Billing",
        "interaction_id": "7",
    }
    assert placeholders_fill(text, values) == "Hi Dana, I'm Alex Morgan (Billing, #7)."


def test_an_unknown_placeholder_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(ValidationError) as caught:
        placeholders_check("Hello {customer_name} and {order}")
    message = caught.value.messages[0]
    assert "{customer_name}" in message and "{order}" in message
    assert "{customer_first_name}" in message


@pytest.mark.django_db
def test_a_personal_phrase_with_an_unknown_placeholder_is_not_saved():
    csr = user_factory(role=Role.CSR)
    with pytest.raises(ValidationError) as caught:
        personal_phrase_save(user=csr, title="Hi", text="Hello {first_name}")
    assert "text" in caught.value.message_dict
    assert not csr.assist_phrases.exists()


@pytest.mark.django_db
def test_the_admin_refuses_an_unknown_placeholder_when_saving():
    form = PhraseForm(data={"title": "Hi", "text": "Hello {nme}", "shortcut": "hi", "active": True})
    assert not form.is_valid()
    assert "{nme}" in form.errors["text"][0]
    ok = PhraseForm(
        data={
            "title": "Hi",
            "text": "Hello {customer_first_name}",
            "shortcut": "hi",
            "active": True,
        }
    )
    assert ok.is_valid(), ok.errors
