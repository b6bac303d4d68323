"""Internal notes: stored as internal messages by the CSR handling the chat (or a manager
who may open it), once per client id; never on any customer path (customer socket
payload, connector API, webhook, customer's transcript); marked in the internal
transcript and read by the next CSR after a transfer."""

import json

import pytest

from chat.errors import ChatError
from chat.events import customer_view, message_payload
from chat.models import InteractionStatus, Message, SenderKind, SystemEvent, WebhookDelivery
from chat.selectors.messages import messages_after
from chat.services.messages import MAX_MESSAGE_CHARS, message_send
from chat.services.notes import note_add
from config.users import Role
from routing.models import CSRStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_profile_ensure
from routing.services.transfers import interaction_transfer_to_csr
from supervision.models import SupervisedQueue
from tests.chat.conftest import make_bot, make_live_chat
from tests.factories import channel_factory, queue_factory, user_factory
from transcripts.formats import render_json, render_text
from transcripts.selectors import Audience, transcript_build

pytestmark = pytest.mark.django_db

SECRET = "Customer sounded upset about order A-1009; refund approved by billing"


@pytest.fixture
def queue(db):
    return queue_factory(name="General")


@pytest.fixture
def manager(db):
    return user_factory(role=Role.CSR_MANAGER, first_name="Jordan", last_name="Lee")


@pytest.fixture
def make_csr(queue):
    """An Available CSR in the queue (a transfer target must be one)."""

    def make(**fields):
        user = user_factory(role=Role.CSR, **fields)
        profile = csr_profile_ensure(user=user)
        profile.status = CSRStatus.AVAILABLE
        profile.save()
        QueueMembership.objects.create(user=user, queue=queue, joined=True)
        return user

    return make


@pytest.fixture
def make_chat(queue):
    channel = channel_factory(default_queue=queue)
    return lambda **overrides: make_live_chat(channel=channel, queue=queue, **overrides)


def _note(chat, user, text=SECRET, client_msg_id="n-1"):
    return note_add(interaction_id=chat.id, user=user, text=text, client_msg_id=client_msg_id)


def test_the_handling_csr_adds_an_internal_note(make_csr, make_chat):
    csr = make_csr(first_name="Alex", last_name="Kim")
    chat = make_chat(csr=csr)
    result = _note(chat, csr)
    note = result.message
    assert result.created
    assert note.internal and note.event == SystemEvent.NOTE
    assert note.sender_kind == SenderKind.CSR and note.author == csr
    assert note.author_name == "Alex Kim" and note.text == SECRET
    assert message_payload(note)["internal"] is True


def test_a_retried_note_is_stored_once(make_csr, make_chat):
    csr = make_csr()
    chat = make_chat(csr=csr)
    first, again = _note(chat, csr), _note(chat, csr)
    assert not again.created and again.message.pk == first.message.pk
    assert Message.objects.filter(interaction_id=chat.id, event=SystemEvent.NOTE).count() == 1


def test_a_note_cannot_reuse_the_id_of_a_message(make_csr, make_chat):
    csr = make_csr()
    chat = make_chat(csr=csr)
    message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CSR,
        text="Hello",
        client_msg_id="m-1",
        user=csr,
    )
    with pytest.raises(ChatError) as refused:
        _note(chat, csr, client_msg_id="m-1")
    assert refused.value.code == "bad_client_msg_id"


@pytest.mark.parametrize(
    ("text", "code"), [("", "empty"), ("   ", "empty"), ("x" * (MAX_MESSAGE_CHARS + 1), "too_long")]
)
def test_a_note_has_the_limits_of_a_message(make_csr, make_chat, text, code):
    csr = make_csr()
    chat = make_chat(csr=csr)
    with pytest.raises(ChatError) as refused:
        _note(chat, csr, text=text)
    assert refused.value.code == code
    assert not Message.objects.filter(interaction_id=chat.id, event=SystemEvent.NOTE).exists()


def test_a_csr_not_handling_the_chat_may_not_add_notes(make_csr, make_chat):
    chat = make_chat(csr=make_csr())
    with pytest.raises(ChatError) as refused:
        _note(chat, make_csr())
    assert refused.value.code == "not_party"
    assert "Only the CSR handling this chat" in refused.value.message


def test_no_note_in_an_ended_chat(make_csr, make_chat):
    csr = make_csr()
    chat = make_chat(csr=csr, status=InteractionStatus.ENDED)
    with pytest.raises(ChatError) as refused:
        _note(chat, csr)
    assert refused.value.code == "chat_ended"


def test_a_manager_who_may_open_the_chat_adds_notes_one_outside_their_queues_not(
    manager, make_csr, make_chat
):
    chat = make_chat(csr=make_csr())
    assert _note(chat, manager).message.author == manager
    limited = user_factory(role=Role.CSR_MANAGER)
    SupervisedQueue.objects.create(manager=limited, queue=queue_factory())
    with pytest.raises(ChatError) as refused:
        _note(chat, limited, client_msg_id="n-2")
    assert refused.value.code == "not_party"


def test_a_note_never_reaches_the_customer_the_webhook_or_the_customer_transcript(
    make_csr, make_chat
):
    csr = make_csr()
    chat = make_chat(csr=csr)
    channel = chat.interaction.channel
    channel.webhook_url = "https://connector.example/hook"
    channel.webhook_secret = "s" * 32
    channel.save()
    note = _note(chat, csr).message
    # The customer's socket gets only its place in the sequence.
    assert customer_view(dict(message_payload(note))) == {
        "type": "message",
        "interaction_id": chat.id,
        "seq": note.seq,
        "hidden": True,
    }
    # No webhook delivery (a visible CSR message on this channel does get one).
    assert not WebhookDelivery.objects.filter(message=note).exists()
    visible = message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CSR,
        text="Your refund is on its way",
        client_msg_id="m-2",
        user=csr,
    ).message
    assert WebhookDelivery.objects.filter(message=visible).exists()
    interaction = chat.interaction
    customer_side = "".join(
        render_text(transcript_build(interaction=interaction, audience=Audience.BOT_CLIENT))
    )
    assert SECRET not in customer_side and "Your refund is on its way" in customer_side
    internal = "".join(
        render_text(transcript_build(interaction=interaction, audience=Audience.CONTACT_CENTER))
    )
    assert SECRET in internal
    assert "Internal note: not shown to the customer" in internal
    entries = json.loads(
        "".join(
            render_json(transcript_build(interaction=interaction, audience=Audience.CONTACT_CENTER))
        )
    )
    (entry,) = [e for e in entries["messages"] if e["text"] == SECRET]
    assert entry["internal"] is True and entry["event"] == "note"


def test_the_connector_api_leaves_notes_out():
    channel = channel_factory()
    bot = make_bot(channel=channel)
    chat = make_live_chat(channel=channel, bot_client=bot.client)
    _note(chat, chat.csr)
    response = bot.api.get(f"/api/v1/escalations/{chat.id}/messages/?after=0")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["messages"] == [] or all(SECRET not in m["text"] for m in body["messages"])
    assert SECRET not in response.content.decode()
    assert body["last_seq"] == 1  # the cursor moves past the note
    # The bot API's transcript (the customer's side) leaves it out too, in both formats.
    for accept in ("text/plain", "application/json"):
        transcript = bot.api.get(f"/api/v1/escalations/{chat.id}/transcript/", HTTP_ACCEPT=accept)
        assert transcript.status_code == 200, transcript.content
        body_text = b"".join(transcript.streaming_content).decode()
        assert chat.interaction.customer_name in body_text  # the transcript itself
        assert SECRET not in body_text and "Internal note" not in body_text


def test_the_next_csr_after_a_transfer_reads_the_note(make_csr, make_chat):
    first, second = make_csr(), make_csr()
    chat = make_chat(csr=first)
    note = _note(chat, first).message
    offer = interaction_transfer_to_csr(interaction_id=chat.id, user=first, target=second)
    offer_accept(offer_id=offer.pk, user=second)
    replay = messages_after(interaction_id=chat.id, after_seq=0)
    (seen,) = [m for m in replay if m.seq == note.seq]
    assert seen.text == SECRET and seen.internal
    # And may add notes of their own now; the first CSR no more.
    assert _note(chat, second, client_msg_id="n-2").created
    with pytest.raises(ChatError):
        _note(chat, first, client_msg_id="n-3")
