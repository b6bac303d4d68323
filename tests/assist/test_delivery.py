"""Where a shared article and a pushed page go: the customer's socket gets the card
(its data), a public channel's webhook gets the title and the link, and the transcript
shows them."""

import itertools
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from assist.demo import demo_assist_seed
from assist.models import Article, PushDomain
from assist.services import article_share, page_push
from chat import webhooks
from chat.models import ChannelKind, WebhookDelivery
from tests.chat.conftest import CUSTOMER_HEADERS, chat_socket, make_live_chat
from tests.factories import channel_factory

_ids = itertools.count(1)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_customer_s_socket_gets_the_article_card_and_the_pushed_page():
    await sync_to_async(demo_assist_seed)()
    chat = await sync_to_async(make_live_chat)()
    await sync_to_async(PushDomain.objects.create)(
        channel=chat.interaction.channel, domain="northwind.example"
    )
    article = await sync_to_async(Article.objects.get)(slug="lost-or-stolen-card")
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        shared = await sync_to_async(article_share)(
            interaction_id=chat.id, user=chat.csr, article_id=article.pk, client_msg_id="a-1"
        )
        frame = (await customer.until_seq(shared.message.seq))[-1]
        assert frame["event"] == "article_shared"
        assert frame["data"]["title"] == "Report a lost or stolen card"
        assert frame["data"]["url"] == "/help/articles/lost-or-stolen-card/"
        pushed = await sync_to_async(page_push)(
            interaction_id=chat.id,
            user=chat.csr,
            url="https://northwind.example/cards",
            note="Cards page",
            client_msg_id="p-1",
        )
        frame = (await customer.until_seq(pushed.message.seq))[-1]
        assert (frame["event"], frame["data"]) == (
            "page_pushed",
            {"url": "https://northwind.example/cards", "note": "Cards page"},
        )
        assert frame["sender_kind"] == "csr"


@pytest.mark.django_db
def test_on_a_public_channel_the_webhook_carries_the_title_and_the_link(
    django_capture_on_commit_callbacks,
):
    demo_assist_seed()
    channel = channel_factory(
        kind=ChannelKind.WHATSAPP, webhook_url="http://127.0.0.1:9/hook", webhook_secret="s" * 32
    )
    chat = make_live_chat(channel=channel)
    PushDomain.objects.create(channel=channel, domain="northwind.example")
    article = Article.objects.get(slug="send-money-abroad")
    with django_capture_on_commit_callbacks(execute=False):
        article_share(
            interaction_id=chat.id, user=chat.csr, article_id=article.pk, client_msg_id="a-1"
        )
        page_push(
            interaction_id=chat.id,
            user=chat.csr,
            url="https://northwind.example/rates",
            note="Our rates",
            client_msg_id="p-1",
        )
    shared, pushed = WebhookDelivery.objects.order_by("message__seq")
    body = webhooks.delivery_payload(delivery=shared)
    assert body["message"]["link"] == {
        "title": "Send money abroad",
        "url": "/help/articles/send-money-abroad/",
    }
    assert "Send money abroad" in body["message"]["text"]
    assert webhooks.delivery_payload(delivery=pushed)["message"]["link"] == {
        "title": "Our rates",
        "url": "https://northwind.example/rates",
    }


@pytest.mark.django_db
def test_the_transcript_shows_the_shared_article_and_the_pushed_page():
    demo_assist_seed()
    chat = make_live_chat()
    PushDomain.objects.create(channel=chat.interaction.channel, domain="northwind.example")
    article = Article.objects.get(slug="lost-or-stolen-card")
    article_share(interaction_id=chat.id, user=chat.csr, article_id=article.pk, client_msg_id="a-1")
    page_push(
        interaction_id=chat.id,
        user=chat.csr,
        url="https://northwind.example/cards",
        note="",
        client_msg_id="p-1",
    )
    client = Client()
    client.force_login(chat.csr)
    text = b"".join(
        client.get(f"/interactions/{chat.id}/ChatTranscript.txt").streaming_content
    ).decode()
    assert "Report a lost or stolen card" in text
    assert "Shared a knowledge article" in text
    assert "https://northwind.example/cards" in text and "Pushed a page" in text
    data = json.loads(
        b"".join(client.get(f"/interactions/{chat.id}/ChatTranscript.json").streaming_content)
    )
    events = [m["event"] for m in data["messages"] if m["event"]]
    assert events == ["article_shared", "page_pushed"]
