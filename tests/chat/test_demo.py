"""The demo site: the scripted bot's logic, the /demo/ page, and the bot endpoint —
its input checks, CSRF, rate limit, and a real escalation over HTTP through the API."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client

from chat import demo_bot
from chat.models import Interaction, Message, SenderKind
from chat.services.bot_clients import bot_client_create
from chat.views import BOT_RATE_LIMIT
from tests.factories import channel_factory, intent_rule_factory, queue_factory

PAGE_URL = "/demo/"
BOT_URL = "/demo/bot/"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CUSTOMER_ID = "0b7a4c1e-5f7d-4d8e-9a51-2c4a3f6e8b90"


def turn(state, text: str) -> demo_bot.Turn:
    return demo_bot.converse(state=state, text=text, now=NOW, conversation_id="conv-1")


def talk(*texts: str) -> list[demo_bot.Turn]:
    """The turns of a conversation that opens with the greeting and then says `texts`."""
    turns = [turn(None, "")]
    for text in texts:
        turns.append(turn(turns[-1].state, text))
    return turns


# --- The script ------------------------------------------------------------------------


def test_a_new_conversation_opens_with_a_greeting_that_asks_the_name():
    """The first turn greets and asks for a name, whatever the widget sent."""
    first = turn(None, "")
    assert first.replies == [demo_bot.GREETING]
    assert "name" in first.replies[0]
    assert first.state["step"] == "ask_name"
    assert first.state["cid"] == "conv-1"
    assert first.state["transcript"] == [
        {"from": "bot", "text": demo_bot.GREETING, "at": NOW.isoformat()}
    ]
    assert not first.escalate


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ("Dana", "Dana"),
        ("I'm Dana", "Dana"),
        ("my name is Dana Reyes.", "Dana Reyes"),
        ("Hi, this is Sam", "Sam"),
        ("", ""),
        ("why do you need my name?", ""),
        ("I want to ask about my card being blocked", ""),
    ],
)
def test_the_name_is_taken_from_the_answer(answer, name):
    """Common phrasings give the bare name; sentences and questions are not names."""
    assert demo_bot.name_from(answer) == name


def test_after_the_name_it_asks_the_question_and_offers_quick_replies():
    """The bot greets the customer by name, asks what they need and suggests FAQs and an
    agent."""
    _, named = talk("I'm Dana")
    assert named.state["name"] == "Dana"
    assert named.state["step"] == "ask_question"
    assert named.replies == ["Nice to meet you, Dana. What can I help you with today?"]
    assert demo_bot.TALK_TO_AN_AGENT in named.suggestions


def test_an_answer_that_is_not_a_name_is_asked_again():
    _, again = talk("what are your fees for transfers abroad and such?")
    assert again.state["step"] == "ask_name"
    assert again.replies == [demo_bot.ASK_NAME_AGAIN]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What are your opening hours?", demo_bot.OPENING_HOURS),
        ("when do you open on saturday", demo_bot.OPENING_HOURS),
        ("I lost my card", demo_bot.CARD_LOST),
        ("my card was stolen last night", demo_bot.CARD_LOST),
    ],
)
def test_canned_answers_for_the_faqs(question, answer):
    """Opening hours and a lost card have canned answers, then the agent is offered."""
    *_, answered = talk("Dana", question)
    assert answered.replies[0] == answer
    assert demo_bot.TALK_TO_AN_AGENT in answered.suggestions
    assert not answered.escalate


def test_an_unknown_question_offers_an_agent():
    *_, unsure = talk("Dana", "Can I change the currency of my savings account?")
    assert unsure.replies == [demo_bot.NOT_SURE]
    assert unsure.suggestions == [demo_bot.TALK_TO_AN_AGENT]
    assert unsure.state["question"] == "Can I change the currency of my savings account?"


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("I was charged twice", "billing"),
        ("I want a refund", "billing"),
        ("Where is my invoice?", "billing"),
        ("I can't log in", "technical"),
        ("forgot my password", "technical"),
        ("the app crashes when I open it", "technical"),
        ("What are your opening hours?", "general"),
        ("", "general"),
    ],
)
def test_intent_from_the_question(question, intent):
    """Billing and refund words → billing; log-in, password and app words → technical;
    anything else → general (the demo seed has an intent rule for each)."""
    assert demo_bot.intent_for(question) == intent


@pytest.mark.parametrize("text", ["Talk to an agent", "agent", "AGENT please", "a human, now"])
def test_asking_for_an_agent_escalates(text):
    """The quick reply or typing "agent" hands over: the turn escalates, the state is
    closed, and the bot says so."""
    *_, handover = talk("Dana", "I was charged twice", text)
    assert handover.escalate
    assert handover.state["step"] == "escalated"
    assert handover.replies == [demo_bot.HANDING_OVER.format(name=", Dana")]
    assert handover.suggestions == []
    with pytest.raises(demo_bot.StateError):
        turn(handover.state, "hello?")


def test_agent_words_are_not_mistaken_for_agent_requests():
    """Words that merely contain "agent" do not escalate."""
    assert not demo_bot.wants_agent("I'd like a management account")
    assert not demo_bot.wants_agent("agency banking")


def test_the_escalation_request_carries_transcript_intent_context_and_customer():
    """The API call has the web-messaging channel, the intent of the question, the
    whole transcript (earlier lines with their times, this turn's lines without, which
    the API reads as now), the customer and the demo context."""
    *_, before, handover = talk("Dana", "I was charged twice", "Talk to an agent")
    request = demo_bot.escalation_request(
        before=before.state,
        turn=handover,
        customer_id=CUSTOMER_ID,
        page_url="http://testserver/demo/",
        language="en-GB",
    )
    body = request.body
    assert request.idempotency_key == "demo-conv-1"
    assert body["channel"] == "web-messaging"
    assert body["intent"] == "billing"
    assert body["customer"] == {"external_id": f"demo-{CUSTOMER_ID}", "name": "Dana"}
    assert body["context"] == {
        "demo": True,
        "source": "Northwind Bank help centre (demo site)",
        "page_url": "http://testserver/demo/",
        "browser_language": "en-GB",
        "question": "I was charged twice",
    }
    senders = [line["from"] for line in body["transcript"]]
    assert senders == ["bot", "customer", "bot", "customer", "bot", "customer", "bot"]
    assert [line["at"] for line in body["transcript"][-2:]] == [None, None]
    assert all(line["at"] == NOW.isoformat() for line in body["transcript"][:-2])
    assert body["transcript"][-2]["text"] == "Talk to an agent"


def test_the_same_turn_gives_the_same_escalation_request():
    """A double click or a retry sends the same body and key, so the API escalates once."""
    *_, before, _ = talk("Dana", "my app keeps crashing", "agent")
    requests = []
    for moment in (NOW, datetime(2026, 3, 1, 9, 31, 7, tzinfo=UTC)):
        again = demo_bot.converse(state=before.state, text="agent", now=moment, conversation_id="x")
        requests.append(
            demo_bot.escalation_request(
                before=before.state, turn=again, customer_id=CUSTOMER_ID, page_url="", language=""
            )
        )
    assert requests[0] == requests[1]
    assert requests[0].body["intent"] == "technical"


def test_a_request_for_an_agent_with_a_topic_sets_the_question():
    """ "agent, I need a refund" escalates with that as the question (billing)."""
    *_, handover = talk("Dana", "agent, I need a refund")
    assert handover.escalate
    assert handover.state["question"] == "agent, I need a refund"
    assert demo_bot.intent_for(handover.state["question"]) == "billing"


def test_the_transcript_keeps_the_latest_lines():
    state = talk("Dana")[-1].state
    for n in range(40):
        state = turn(state, f"question {n}").state
    assert len(state["transcript"]) == demo_bot.MAX_TRANSCRIPT_LINES
    assert state["transcript"][-1]["text"] == demo_bot.NOT_SURE


def test_a_sealed_state_opens_and_a_changed_one_does_not(settings):
    """The widget keeps the state; the server only takes back a state it sealed."""
    sealed = demo_bot.state_seal(talk("Dana")[-1].state)
    assert demo_bot.state_open(json.loads(json.dumps(sealed))) == talk("Dana")[-1].state
    assert demo_bot.state_open({}) is None
    forged = {**sealed, "name": "Mallory"}
    with pytest.raises(demo_bot.StateError, match="not one this server issued"):
        demo_bot.state_open(forged)
    with pytest.raises(demo_bot.StateError, match="unknown keys"):
        demo_bot.state_open({**sealed, "admin": True})
    with pytest.raises(demo_bot.StateError, match="JSON object"):
        demo_bot.state_open(["not", "a", "dict"])
    settings.SECRET_KEY = "another-secret-key-" * 3
    with pytest.raises(demo_bot.StateError):
        demo_bot.state_open(sealed)


# --- The page --------------------------------------------------------------------------


def test_demo_page_renders_the_help_centre_with_the_widget(client):
    """/demo/ is a bank's help centre that loads the widget from our own static files
    and sets the CSRF cookie the widget needs."""
    response = client.get(PAGE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Northwind Bank" in html
    assert "Contact us" in html
    assert "sends nothing" in html
    assert 'src="/static/chat/widget.js"' in html
    assert 'href="/static/chat/widget.css"' in html
    assert 'data-bot-url="/demo/bot/"' in html
    assert "csrftoken" in response.cookies
    # Nothing from another host: every src and href is a path or an in-page anchor.
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith(("/", "#")), url


def test_demo_site_is_404_when_switched_off(client, settings):
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": False}
    assert client.get(PAGE_URL).status_code == 404
    assert post(client, {}, "").status_code == 404


# --- The bot endpoint ------------------------------------------------------------------


def post(client: Client, state, text, *, customer_id: str = CUSTOMER_ID, **extra):
    body = {
        "state": state,
        "text": text,
        "client": {"customer_id": customer_id, "page_url": "http://testserver/demo/", **extra},
    }
    return client.post(BOT_URL, json.dumps(body), content_type="application/json")


def converse_over_http(client: Client, *texts: str) -> list[dict]:
    """POST the greeting turn and then each text, feeding the state back; the replies."""
    replies = [post(client, {}, "")]
    for text in texts:
        assert replies[-1].status_code == 200, replies[-1].content
        replies.append(post(client, replies[-1].json()["state"], text))
    return [reply.json() for reply in replies]


def test_the_bot_endpoint_talks_and_returns_a_sealed_state(client):
    """Greeting, name, FAQ: replies with times, suggestions, no escalation."""
    greeting, named, faq = converse_over_http(client, "I'm Dana", "opening hours?")
    assert greeting["replies"][0]["text"] == demo_bot.GREETING
    assert greeting["state"]["sig"]
    assert named["replies"][0]["text"].startswith("Nice to meet you, Dana")
    assert named["suggestions"] == demo_bot.SUGGESTIONS
    assert faq["replies"][0]["text"] == demo_bot.OPENING_HOURS
    assert faq["escalation"] is None
    assert [line["from"] for line in faq["state"]["transcript"]] == [
        "bot", "customer", "bot", "customer", "bot", "bot"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('{"state": {}, "text": "' + "x" * 2001 + '"', None, "not valid JSON"),
        (
            json.dumps({"state": {}, "text": "x" * 2001, "client": {"customer_id": CUSTOMER_ID}}),
            "text",
            "at most 2,000 characters; this one has 2,001",
        ),
        (json.dumps({"state": {}, "text": 5}), "text", "text must be a string"),
        (json.dumps({"state": [], "text": "hi"}), "state", "must be a JSON object"),
        (json.dumps({"state": {"role": "admin"}, "text": "hi"}), "state", "unknown keys"),
        (json.dumps(["hello"]), None, "Send a JSON object"),
        (
            json.dumps({"state": {}, "text": "", "client": {"customer_id": "x"}}),
            "client.customer_id",
            "8 to 64 letters",
        ),
        (
            json.dumps(
                {"state": {}, "text": "", "client": {"customer_id": CUSTOMER_ID, "language": 7}}
            ),
            "client.language",
            "at most 35 characters",
        ),
    ],
)
def test_bad_input_gets_a_clear_400(client, body, field, message):
    response = client.post(BOT_URL, body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid"
    assert message in error["message"]
    assert [item["field"] for item in error["errors"]] == ([field] if field else [])


def test_a_changed_state_is_refused(client):
    greeting = post(client, {}, "").json()
    forged = {**greeting["state"], "step": "ask_question", "name": "Admin"}
    response = post(client, forged, "hello")
    assert response.status_code == 400
    assert "not one this server issued" in response.json()["message"]


def test_an_empty_message_in_a_conversation_is_refused(client):
    greeting = post(client, {}, "").json()
    response = post(client, greeting["state"], "   ")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "text",
        "message": "Write a message first.",
        "code": "blank",
    }


def test_the_bot_endpoint_only_takes_post(client):
    assert client.get(BOT_URL).status_code == 405


def test_the_bot_endpoint_refuses_a_post_without_the_csrf_token():
    """The page sets the CSRF cookie; a POST without the X-CSRFToken header is refused,
    one with it is answered."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(PAGE_URL)
    body = json.dumps({"state": {}, "text": "", "client": {"customer_id": CUSTOMER_ID}})
    refused = browser.post(BOT_URL, body, content_type="application/json")
    assert refused.status_code == 403
    token = browser.cookies["csrftoken"].value
    answered = browser.post(
        BOT_URL, body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert answered.status_code == 200


def test_the_bot_endpoint_is_rate_limited_per_address(client):
    """30 requests a minute from one address; the 31st gets 429 with Retry-After.
    Another address is counted on its own."""
    for _ in range(BOT_RATE_LIMIT):
        assert post(client, {}, "").status_code == 200
    throttled = post(client, {}, "")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert "wait" in throttled.json()["message"]
    other = Client(REMOTE_ADDR="10.0.0.8")
    assert post(other, {}, "").status_code == 200


def test_escalating_without_the_demo_bot_token_says_to_run_seed_demo(
    client, settings, tmp_path, caplog
):
    """503 telling to run seed_demo; the token file's path goes to the log, not to the
    public page."""
    settings.VAR_DIR = tmp_path
    *_, before = converse_over_http(client, "Dana", "I was charged twice")
    response = post(client, before["state"], "Talk to an agent")
    assert response.status_code == 503
    error = response.json()
    assert error["code"] == "demo_bot_not_configured"
    assert "run `python3 manage.py seed_demo`" in error["message"]
    assert str(tmp_path) not in error["message"]
    assert str(tmp_path / "demo_bot_token") in caplog.text


# --- A real escalation, over HTTP, through the API -------------------------------------


@pytest.fixture
def demo_setup(transactional_db, settings, tmp_path, live_server):
    """What seed_demo sets up for the bot, with the bot's token in a temporary VAR_DIR,
    and the portal's public URL pointing at a live server."""
    queues = {slug: queue_factory(slug=slug, name=slug.title()) for slug in ("general", "billing")}
    queues["technical-support"] = queue_factory(slug="technical-support", name="Technical")
    intent_rule_factory(intent="billing", queue=queues["billing"])
    intent_rule_factory(intent="technical", queue=queues["technical-support"])
    intent_rule_factory(intent="general", queue=queues["general"])
    channel = channel_factory(slug="web-messaging", default_queue=queues["general"])
    _, token = bot_client_create(name="Demo bot", channels=[channel])
    (tmp_path / "demo_bot_token").write_text(token + "\n")
    settings.VAR_DIR = tmp_path
    settings.PORTAL = {**settings.PORTAL, "PUBLIC_BASE_URL": live_server.url}
    return queues


def test_talk_to_an_agent_escalates_through_the_api_over_http(client, demo_setup):
    """The bot POSTs to /api/v1/escalations/ of the live server with its token: one
    queued interaction in the Billing queue, with the bot transcript before the
    escalation notice, the customer and the context; the widget gets the token."""
    *_, before = converse_over_http(client, "I'm Dana", "I was charged twice for one order")
    response = post(client, before["state"], "Talk to an agent", language="en-GB")
    assert response.status_code == 200, response.content
    reply = response.json()
    escalation = reply["escalation"]
    assert reply["replies"][0]["text"] == demo_bot.HANDING_OVER.format(name=", Dana")
    assert reply["state"]["step"] == "escalated"

    interaction = Interaction.objects.select_related("customer", "queue", "channel").get()
    assert escalation["interaction_id"] == interaction.pk
    assert escalation["status"] == "queued"
    assert escalation["queue"] == {"slug": "billing", "name": "Billing"}
    assert escalation["position"] == 1
    assert escalation["customer_token"].startswith("cus_")
    assert escalation["customer_ws_url"].startswith(live_server_ws_prefix(interaction.pk))
    assert interaction.intent == "billing"
    assert interaction.queue.slug == "billing"
    assert interaction.channel.slug == "web-messaging"
    assert interaction.customer.name == "Dana"
    assert interaction.customer.external_id == f"demo-{CUSTOMER_ID}"
    assert interaction.idempotency_key == f"demo-{before['state']['cid']}"
    assert interaction.context["demo"] is True
    assert interaction.context["question"] == "I was charged twice for one order"
    assert interaction.context["page_url"] == "http://testserver/demo/"
    assert interaction.context["browser_language"] == "en-GB"

    messages = list(Message.objects.filter(interaction=interaction).order_by("seq"))
    transcript = [m for m in messages if m.pre_escalation]
    assert [(m.sender_kind, m.text) for m in transcript] == [
        (SenderKind.BOT, demo_bot.GREETING),
        (SenderKind.CUSTOMER, "I'm Dana"),
        (SenderKind.BOT, "Nice to meet you, Dana. What can I help you with today?"),
        (SenderKind.CUSTOMER, "I was charged twice for one order"),
        (SenderKind.BOT, demo_bot.NOT_SURE),
        (SenderKind.CUSTOMER, "Talk to an agent"),
        (SenderKind.BOT, demo_bot.HANDING_OVER.format(name=", Dana")),
    ]
    assert transcript[1].author_name == "Dana"
    assert messages[-1].sender_kind == SenderKind.SYSTEM
    assert messages[-1].text == "Customer escalated to the Billing queue"
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))


def live_server_ws_prefix(interaction_id: int) -> str:
    from django.conf import settings

    base = settings.PORTAL["PUBLIC_BASE_URL"].replace("http://", "ws://")
    return f"{base}/ws/customer/{interaction_id}/?token=cus_"


def test_a_double_click_escalates_once(client, demo_setup):
    """The same turn sent twice (a double click, a retry) gives one interaction; the
    second reply is the same chat with a new, equally valid customer token."""
    *_, before = converse_over_http(client, "Sam", "my app shows an error")
    first = post(client, before["state"], "agent")
    second = post(client, before["state"], "agent")
    assert first.status_code == second.status_code == 200
    one, two = first.json()["escalation"], second.json()["escalation"]
    assert one["interaction_id"] == two["interaction_id"]
    assert one["customer_token"] != two["customer_token"]
    interaction = Interaction.objects.get()
    assert interaction.intent == "technical"
    assert interaction.queue.slug == "technical-support"


def test_an_api_refusal_is_reported_to_the_widget(client, demo_setup, tmp_path):
    """A bot client the API refuses (here: not allowed on the channel) → 502 with the
    API's own explanation; nothing is stored."""
    _, token = bot_client_create(name="Other bot", channels=[])
    (tmp_path / "demo_bot_token").write_text(token)
    *_, before = converse_over_http(client, "Dana", "refund please")
    response = post(client, before["state"], "agent")
    assert response.status_code == 502
    error = response.json()
    assert error["code"] == "escalation_refused"
    assert "HTTP 403" in error["message"]
    assert "web-messaging" in error["message"]
    assert not Interaction.objects.exists()


def test_an_unreachable_api_is_reported_to_the_widget(client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    (Path(tmp_path) / "demo_bot_token").write_text("bot_whatever")
    settings.PORTAL = {**settings.PORTAL, "PUBLIC_BASE_URL": "http://127.0.0.1:9"}
    *_, before = converse_over_http(client, "Dana", "refund please")
    response = post(client, before["state"], "agent")
    assert response.status_code == 502
    assert response.json()["code"] == "escalation_unreachable"
    assert "http://127.0.0.1:9/api/v1/escalations/" in response.json()["message"]


def test_the_bot_never_sends_its_token_to_a_host_named_by_the_request(client, settings, tmp_path):
    """With ALLOWED_HOSTS "*" and no PUBLIC_BASE_URL, the bot refuses to escalate rather
    than POST its token to whatever Host header a request carries."""
    settings.VAR_DIR = tmp_path
    (Path(tmp_path) / "demo_bot_token").write_text("bot_whatever")
    settings.ALLOWED_HOSTS = ["*"]
    settings.PORTAL = {**settings.PORTAL, "PUBLIC_BASE_URL": ""}
    *_, before = converse_over_http(client, "Dana", "refund please")
    body = {"state": before["state"], "text": "agent", "client": {"customer_id": CUSTOMER_ID}}
    response = client.post(
        BOT_URL, json.dumps(body), content_type="application/json", HTTP_HOST="evil.example"
    )
    assert response.status_code == 503
    assert "PUBLIC_BASE_URL" in response.json()["message"]
