"""The satisfaction survey's services: who is asked, when, and the one answer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.errors import ChatError
from chat.models import (
    ChannelKind,
    CsatSource,
    InteractionStatus,
    Message,
    SatisfactionRating,
    SenderKind,
    SystemEvent,
)
from chat.selectors.satisfaction import (
    CSAT_ANSWER_WINDOW,
    CSAT_COMMENT_MAX_CHARS,
    satisfaction_label,
)
from chat.services.interactions import interaction_end
from chat.services.satisfaction import satisfaction_answer, satisfaction_ask
from chat.signals import satisfaction_rated
from config.users import Role
from tests.factories import channel_factory, interaction_factory, user_factory

pytestmark = pytest.mark.django_db


def active_chat(**channel_fields):
    csr = user_factory(role=Role.CSR)
    channel = channel_factory(**channel_fields)
    interaction = interaction_factory(
        channel=channel, status=InteractionStatus.ACTIVE, assigned_csr=csr
    )
    return interaction, csr


def ended_chat(django_capture_on_commit_callbacks, **channel_fields):
    interaction, csr = active_chat(**channel_fields)
    with django_capture_on_commit_callbacks(execute=True):
        interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
    return interaction


@pytest.fixture
def rated():
    """The satisfaction_rated signals sent, as (interaction_id, rating, comment)."""
    got = []

    def receiver(sender, interaction_id, rating, comment, **kwargs):
        got.append((interaction_id, rating, comment))

    satisfaction_rated.connect(receiver, dispatch_uid="test_csat")
    yield got
    satisfaction_rated.disconnect(dispatch_uid="test_csat")


def test_a_chat_ended_by_its_csr_or_customer_is_asked_once(django_capture_on_commit_callbacks):
    """Ending a chat a CSR took creates its survey (unanswered); on the widget's channel
    no message is added for it (the widget asks with its own frame)."""
    for by in (SenderKind.CSR, SenderKind.CUSTOMER):
        interaction, csr = active_chat()
        last_seq = interaction.last_seq
        interaction_end(interaction_id=interaction.pk, by=by, user=csr)
        rating = SatisfactionRating.objects.get(interaction=interaction)
        assert (rating.rating, rating.answered_at) == (None, None)
        assert not Message.objects.filter(
            interaction=interaction, event=SystemEvent.CSAT_REQUESTED
        ).exists()
        interaction.refresh_from_db()
        assert interaction.last_seq == last_seq + 1  # the "ended" message alone
        # Never asked twice.
        assert satisfaction_ask(interaction=interaction) is None
        assert SatisfactionRating.objects.filter(interaction=interaction).count() == 1


def test_abandoned_chats_and_channels_with_the_survey_off_are_not_asked():
    """A customer leaving before a CSR joined abandons the chat: no survey; nor on a
    channel with csat_enabled off; nor on a public channel with no connector webhook."""
    queued = interaction_factory(status=InteractionStatus.QUEUED)
    interaction_end(interaction_id=queued.pk, by=SenderKind.CUSTOMER)
    off, csr = active_chat(csat_enabled=False)
    interaction_end(interaction_id=off.pk, by=SenderKind.CSR, user=csr)
    no_hook, csr2 = active_chat(kind=ChannelKind.SMS)
    interaction_end(interaction_id=no_hook.pk, by=SenderKind.CSR, user=csr2)
    assert not SatisfactionRating.objects.exists()


def test_a_public_channel_is_asked_through_a_system_message():
    """On a connector's channel the survey is a `csat_requested` system message (its
    webhook carries the question), visible to the connector, not internal."""
    interaction, csr = active_chat(kind=ChannelKind.WHATSAPP, webhook_url="https://c.example/h")
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
    asked = Message.objects.get(interaction=interaction, event=SystemEvent.CSAT_REQUESTED)
    assert (asked.sender_kind, asked.internal) == (SenderKind.SYSTEM, False)
    assert SatisfactionRating.objects.filter(interaction=interaction).exists()


def test_an_answer_is_stored_once_with_an_internal_message_and_the_signal(
    django_capture_on_commit_callbacks, rated
):
    """The answer is stored with its source; the CSR sees "Customer rated this chat 4/5"
    (internal: the customer's view hides it); satisfaction_rated is sent after commit;
    a second answer is refused and changes nothing."""
    interaction = ended_chat(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = satisfaction_answer(
            interaction_id=interaction.pk, rating=4, comment="  Quick!  ", via=CsatSource.WIDGET
        )
        assert rated == []  # not before commit
    for callback in callbacks:
        callback()
    assert rated == [(interaction.pk, 4, "Quick!")]
    row.refresh_from_db()
    assert (row.rating, row.comment, row.answered_via) == (4, "Quick!", "widget")
    assert row.answered_at is not None
    message = Message.objects.get(interaction=interaction, event=SystemEvent.CSAT_ANSWERED)
    assert message.internal
    assert message.text == "Customer rated this chat 4/5: “Quick!”"
    with pytest.raises(ChatError) as refused:
        satisfaction_answer(
            interaction_id=interaction.pk, rating=1, comment="", via=CsatSource.CONNECTOR
        )
    assert refused.value.code == "csat_answered"
    row.refresh_from_db()
    assert row.rating == 4
    assert len(rated) == 1


@pytest.mark.parametrize("rating", [0, 6, -1, True, "4", 4.0, None])
def test_a_rating_outside_1_to_5_is_refused(django_capture_on_commit_callbacks, rating):
    interaction = ended_chat(django_capture_on_commit_callbacks)
    with pytest.raises(ChatError) as refused:
        satisfaction_answer(
            interaction_id=interaction.pk, rating=rating, comment="", via=CsatSource.WIDGET
        )
    assert refused.value.code == "bad_rating"
    assert SatisfactionRating.objects.get(interaction=interaction).rating is None


def test_the_comment_has_a_length_limit(django_capture_on_commit_callbacks):
    interaction = ended_chat(django_capture_on_commit_callbacks)
    with pytest.raises(ChatError) as refused:
        satisfaction_answer(
            interaction_id=interaction.pk,
            rating=3,
            comment="x" * (CSAT_COMMENT_MAX_CHARS + 1),
            via=CsatSource.WIDGET,
        )
    assert refused.value.code == "comment_too_long"
    satisfaction_answer(
        interaction_id=interaction.pk,
        rating=3,
        comment="x" * CSAT_COMMENT_MAX_CHARS,
        via=CsatSource.WIDGET,
    )


def test_a_chat_never_asked_or_asked_too_long_ago_takes_no_answer(
    django_capture_on_commit_callbacks,
):
    """Not asked (open chat, survey off) → csat_not_asked; after the window →
    csat_expired; an unknown chat → not_found."""
    open_chat, _ = active_chat()
    with pytest.raises(ChatError) as refused:
        satisfaction_answer(interaction_id=open_chat.pk, rating=5, comment="", via="widget")
    assert refused.value.code == "csat_not_asked"
    old = ended_chat(django_capture_on_commit_callbacks)
    SatisfactionRating.objects.filter(interaction=old).update(
        asked_at=timezone.now() - CSAT_ANSWER_WINDOW - timedelta(seconds=1)
    )
    with pytest.raises(ChatError) as refused:
        satisfaction_answer(interaction_id=old.pk, rating=5, comment="", via="widget")
    assert refused.value.code == "csat_expired"
    with pytest.raises(ChatError) as refused:
        satisfaction_answer(interaction_id=10**9, rating=5, comment="", via="widget")
    assert refused.value.code == "not_found"


def test_rating_labels():
    assert satisfaction_label(None) == ""
    assert satisfaction_label(1) == "1/5 – Very dissatisfied"
    assert satisfaction_label(5) == "5/5 – Very satisfied"
