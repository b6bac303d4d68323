"""Joining a chat: whispers stay inside the contact center (customer socket, connector
API, webhook, customer's transcript); barge in, take over and leave move the chat and
say who and when."""

import json

import pytest
from django.test import Client

from chat.events import customer_view, message_payload
from chat.models import Message, SystemEvent, WebhookDelivery
from chat.selectors.messages import messages_after
from routing.models import Offer
from supervision.errors import SupervisionError
from supervision.models import AuditAction, AuditEntry, ChatJoin, JoinMode, SupervisedQueue
from supervision.services import joins
from tests.factories import queue_factory
from transcripts.formats import render_json, render_text
from transcripts.selectors import Audience, transcript_build

pytestmark = pytest.mark.django_db


def _whisper(manager, chat, text="Offer the refund"):
    return joins.chat_whisper(
        manager=manager, interaction_id=chat.id, text=text, client_msg_id="w-1"
    )


def test_a_whisper_is_internal_and_never_leaves_the_contact_center(manager, make_csr, make_chat):
    csr = make_csr()
    chat = make_chat(csr=csr)
    chat.interaction.channel.webhook_url = "https://connector.example/hook"
    chat.interaction.channel.webhook_secret = "s" * 32
    chat.interaction.channel.save()
    message = _whisper(manager, chat)
    assert message.internal and message.event == SystemEvent.WHISPER
    assert message.author_name == "Jordan Lee (supervisor)"
    # The CSR's panel gets it, marked; the customer's socket only its place in line.
    assert message_payload(message)["internal"] is True
    hidden = customer_view(dict(message_payload(message)))
    assert hidden == {
        "type": "message",
        "interaction_id": chat.id,
        "seq": message.seq,
        "hidden": True,
    }
    # No webhook, and the customer's transcript leaves it out; the internal one marks it.
    assert not WebhookDelivery.objects.filter(message=message).exists()
    interaction = chat.interaction
    customer_side = "".join(
        render_text(transcript_build(interaction=interaction, audience=Audience.BOT_CLIENT))
    )
    assert "Offer the refund" not in customer_side
    internal = "".join(
        render_text(transcript_build(interaction=interaction, audience=Audience.CONTACT_CENTER))
    )
    assert "Offer the refund" in internal and "Internal: not shown to the customer" in internal
    entries = json.loads(
        "".join(
            render_json(transcript_build(interaction=interaction, audience=Audience.CONTACT_CENTER))
        )
    )
    assert (
        next(e for e in entries["messages"] if e["text"] == "Offer the refund")["internal"] is True
    )
    audit = AuditEntry.objects.get(action=AuditAction.CHAT_WHISPER)
    assert audit.actor == manager and audit.interaction_id == chat.id


def test_the_connector_api_skips_internal_messages_and_moves_past_them(
    bot_factory, manager, make_csr, make_chat, channel
):
    bot = bot_factory(channel=channel)
    chat = make_chat(csr=make_csr(), bot_client=bot.client)
    _whisper(manager, chat)
    response = bot.api.get(f"/api/v1/escalations/{chat.id}/messages/?after=0")
    assert response.status_code == 200, response.content
    body = response.json()
    assert all("Offer the refund" not in m["text"] for m in body["messages"])
    assert body["last_seq"] == chat.interaction.__class__.objects.get(pk=chat.id).last_seq
    assert body["has_more"] is False


def test_a_whisper_is_stored_once_per_client_id(manager, make_csr, make_chat):
    chat = make_chat(csr=make_csr())
    first, again = _whisper(manager, chat), _whisper(manager, chat)
    assert first.pk == again.pk
    assert Message.objects.filter(interaction_id=chat.id, event=SystemEvent.WHISPER).count() == 1


def test_barge_in_is_visible_and_lets_the_manager_write(manager, make_csr, make_chat):
    chat = make_chat(csr=make_csr())
    with pytest.raises(SupervisionError) as refused:
        joins.chat_supervisor_send(
            manager=manager, interaction_id=chat.id, text="Hi", client_msg_id="s-0"
        )
    assert refused.value.code == "not_joined"
    joins.chat_barge_in(manager=manager, interaction_id=chat.id)
    joined = Message.objects.get(interaction_id=chat.id, event=SystemEvent.SUPERVISOR_JOINED)
    assert joined.text == "Jordan Lee (supervisor) joined the chat" and not joined.internal
    sent = joins.chat_supervisor_send(
        manager=manager,
        interaction_id=chat.id,
        text="Hello, I am the supervisor",
        client_msg_id="s-1",
    )
    assert not sent.internal and sent.author_name == "Jordan Lee (supervisor)"
    joins.chat_leave(manager=manager, interaction_id=chat.id)
    left = Message.objects.get(interaction_id=chat.id, event=SystemEvent.SUPERVISOR_LEFT)
    assert left.text == "Jordan Lee (supervisor) left the chat" and not left.internal
    assert ChatJoin.objects.get(interaction_id=chat.id).left_at is not None


def test_monitoring_is_an_internal_note(manager, make_csr, make_chat):
    chat = make_chat(csr=make_csr())
    joins.chat_monitor(manager=manager, interaction_id=chat.id)
    joins.chat_monitor(manager=manager, interaction_id=chat.id)  # a reload: once
    notes = Message.objects.filter(interaction_id=chat.id, event=SystemEvent.SUPERVISOR_MONITORING)
    assert notes.count() == 1 and notes.get().internal
    assert ChatJoin.objects.get(interaction_id=chat.id).mode == JoinMode.MONITORING


def test_take_over_makes_the_chat_the_managers_and_frees_the_csr(manager, make_csr, make_chat):
    csr = make_csr(first_name="Alex", last_name="Morgan")
    chat = make_chat(csr=csr)
    joins.chat_take_over(manager=manager, interaction_id=chat.id, reason="escalated complaint")
    chat.interaction.refresh_from_db()
    assert chat.interaction.assigned_csr == manager
    message = Message.objects.get(interaction_id=chat.id, event=SystemEvent.TAKEN_OVER)
    assert message.text == "Jordan Lee (supervisor) took over the chat from Alex Morgan"
    assert not message.internal
    # Theirs now: they write without barging in, and cannot "leave" it.
    joins.chat_supervisor_send(
        manager=manager, interaction_id=chat.id, text="I take it from here", client_msg_id="t-1"
    )
    with pytest.raises(SupervisionError):
        joins.chat_leave(manager=manager, interaction_id=chat.id)
    assert AuditEntry.objects.filter(action=AuditAction.CHAT_TAKE_OVER, target_user=csr).exists()


def test_a_manager_limited_to_other_queues_cannot_join(manager, make_csr, make_chat):
    SupervisedQueue.objects.create(manager=manager, queue=queue_factory())
    chat = make_chat(csr=make_csr())
    for action in (joins.chat_monitor, joins.chat_barge_in):
        with pytest.raises(SupervisionError) as refused:
            action(manager=manager, interaction_id=chat.id)
        assert refused.value.status == 403
    assert not Message.objects.filter(
        interaction_id=chat.id, event__startswith="supervisor"
    ).exists()


def test_the_join_api_refuses_csrs_and_answers_the_state(manager, make_csr, make_chat):
    csr = make_csr()
    chat = make_chat(csr=csr)
    client = Client()
    client.force_login(csr)
    assert (
        client.post(f"/supervision-api/chats/{chat.id}/whisper/", {"text": "x"}).status_code == 403
    )
    client.force_login(manager)
    response = client.post(
        f"/supervision-api/chats/{chat.id}/whisper/",
        json.dumps({"text": "Check the order", "client_msg_id": "abc"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"]["has_csr"] is True
    bad = client.post(
        f"/supervision-api/chats/{chat.id}/whisper/",
        json.dumps({"text": "", "client_msg_id": "abd"}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "empty"
    assert not Offer.objects.exists()
    assert [m.seq for m in messages_after(interaction_id=chat.id, after_seq=0)]
