"""The live tick publishes only what changed, and alerts once when they start and once
when they end."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import InteractionStatus, SentimentLabel
from supervision import events

pytestmark = pytest.mark.django_db


def test_nothing_is_computed_while_no_manager_watches(make_chat):
    make_chat(status=InteractionStatus.QUEUED)
    assert events.live_tick() is None


def test_a_tick_sends_changed_rows_only_and_alerts_once(make_chat, make_csr, queue):
    for section in events.SECTIONS:
        events.watchers_touch(section)
    csr = make_csr()
    first = events.live_tick()
    assert first is not None and [q["id"] for q in first["queues"]] == [queue.pk]
    assert events.live_tick() is None  # nothing changed
    late = make_chat(
        status=InteractionStatus.QUEUED, queued_at=timezone.now() - timedelta(seconds=45)
    )
    update = events.live_tick()
    assert update["queues"][0]["waiting"] == 1
    assert [c["id"] for c in update["chats"]] == [late.id]
    assert update["csrs"] == []  # the CSR's row did not change
    (alert,) = update["alerts"]
    assert alert["kind"] == "service_level" and alert["interaction_id"] == late.id
    sad = make_chat(csr=csr, sentiment_label=SentimentLabel.NEGATIVE)
    update = events.live_tick()
    assert [a["key"] for a in update["alerts"]] == [f"negative:{sad.id}"]
    assert [c["id"] for c in update["csrs"]] == [csr.pk]
    late.interaction.status = InteractionStatus.ABANDONED
    late.interaction.save()
    update = events.live_tick(alerts=False)  # a tick between alert runs keeps them
    assert update["chats_removed"] == [late.id] and update["alerts_cleared"] == []
    update = events.live_tick()
    assert update["chats_removed"] == []
    assert update["alerts_cleared"] == [f"sla:{late.id}"]


def test_a_dead_beat_still_raises_its_alert(make_chat):
    """No health report from beat's task: the tick makes one, and beat is red."""
    events.watchers_touch("queues")
    update = events.live_tick()
    assert "health:beat" in [a["key"] for a in update["alerts"]]
