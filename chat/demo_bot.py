"""The demo site's scripted bot: its conversation as pure functions, and its API client.

The bot is an *external* bot that happens to live in this code base: it keeps no state
of its own (the widget holds the conversation state, sealed with an HMAC so it cannot be
edited), and it escalates through the public REST API over HTTP with its bot token,
exactly as a third-party bot would. `converse()` is the script; `escalation_request()`
builds the API call; `escalate_over_http()` is the only function here that does I/O.
"""

import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from django.utils.crypto import constant_time_compare, salted_hmac

logger = logging.getLogger(__name__)

# The demo data (portal.services.demo_seed) creates this channel, intent rules for these
# intents, and writes the bot's clear-text token to VAR_DIR / DEMO_BOT_TOKEN_FILE_NAME.
DEMO_CHANNEL = "web-messaging"
DEMO_BOT_TOKEN_FILE_NAME = "demo_bot_token"  # noqa: S105 (a file name, not a secret)
INTENT_BILLING = "billing"
INTENT_TECHNICAL = "technical"
INTENT_GENERAL = "general"

STATE_VERSION = 1
# The longest customer message the bot accepts, and how many lines it keeps (the oldest
# go first): a sealed state stays well under MAX_STATE_BYTES.
MAX_TEXT_CHARS = 2000
MAX_TRANSCRIPT_LINES = 30
MAX_NAME_CHARS = 60
MAX_STATE_BYTES = 96 * 1024
STATE_KEYS = frozenset({"v", "step", "cid", "name", "question", "transcript", "sig"})

TALK_TO_AN_AGENT = "Talk to an agent"
SUGGESTIONS = ["Opening hours", "I lost my card", TALK_TO_AN_AGENT]

Step = Literal["ask_name", "ask_question", "escalated"]


class BotState(TypedDict):
    v: int
    step: Step
    cid: str  # this conversation's id: the escalation's idempotency key
    name: str
    question: str
    transcript: list[dict[str, Any]]  # [{"from": "customer" | "bot", "text", "at"}]
    sig: NotRequired[str]


@dataclass(frozen=True)
class Turn:
    """What the bot does with one customer message."""

    state: BotState
    said: list[dict[str, Any]]  # the lines of this turn, customer's first, with `at`
    replies: list[str]  # the bot's lines of this turn
    suggestions: list[str]  # quick replies the widget shows as buttons
    escalate: bool  # hand the customer over to an agent now


class StateError(ValueError):
    """The state sent back by the widget is not one this server issued."""


# --- The script ------------------------------------------------------------------------

GREETING = (
    "Hi! I'm Nora, Northwind Bank's virtual assistant. I can answer common questions or "
    "put you through to one of our agents. What's your name?"
)
ASK_NAME_AGAIN = "Sorry, I didn't catch that. What should I call you? (Just a first name is fine.)"
OPENING_HOURS = (
    "Our branches are open Monday to Friday 9:00–17:00 and Saturday 9:00–13:00. Phone "
    "banking on 0800 123 4567 and our chat agents are here 24/7."
)
CARD_LOST = (
    "I'm sorry to hear that. Freeze your card straight away in the Northwind app "
    "(Cards › Freeze card) or call 0800 123 4567, day or night. A replacement card "
    "arrives within 5 working days; your PIN stays the same."
)
ANYTHING_ELSE = "Is there anything else? You can ask another question or talk to an agent."
NOT_SURE = (
    "I'm not sure I can answer that myself. Would you like to talk to an agent? They will "
    "see this conversation, so you won't have to repeat yourself."
)
HANDING_OVER = (
    "Thanks{name}. I'm putting you through to one of our agents now; they will see our "
    "conversation."
)

_AGENT = re.compile(
    r"\b(agent|agents|human|real person|representative|operator|advisor|adviser)\b", re.I
)
_OPENING_HOURS = re.compile(
    r"\b(opening hours|open(ing)? times?|hours|when (are|do) you (open|close))\b|"
    r"\b(open|opens|close|closes|closed) (on|at|today|tomorrow|saturday|sunday)\b",
    re.I,
)
_CARD_LOST = re.compile(
    r"\b(lost|lose|stolen|missing|can'?t find)\b.*\bcard\b|\bcard\b.*\b(lost|stolen|missing)\b",
    re.I,
)
_BILLING = re.compile(
    r"\b(bill|bills|billing|billed|charge|charged|charges|overcharged|refund|refunds|"
    r"refunded|invoice|invoices|payment|payments|pay|paid|fee|fees|direct debit)\b",
    re.I,
)
_TECHNICAL = re.compile(
    r"\b(log ?in|logging in|log-in|sign ?in|signing in|password|passcode|app|apps|"
    r"online banking|website|locked out|2fa|verification code|error|crash|crashes)\b",
    re.I,
)
_NAME_PREFIX = re.compile(
    r"^\s*(hi|hello|hey)?[,!. ]*(my name is|my name's|name's|i am|i'm|im|it's|its|"
    r"this is|call me)\s+",
    re.I,
)


def intent_for(question: str) -> str:
    """The escalation intent for the customer's question: billing and refund words are
    "billing", log-in, password and app words "technical", anything else "general"."""
    if _BILLING.search(question):
        return INTENT_BILLING
    if _TECHNICAL.search(question):
        return INTENT_TECHNICAL
    return INTENT_GENERAL


def wants_agent(text: str) -> bool:
    """The customer asks for a person ("Talk to an agent", "agent please", "a human")."""
    return bool(_AGENT.search(text))


def name_from(text: str) -> str:
    """The name in an answer to "What's your name?" ("I'm Dana" → "Dana"); "" when the
    answer does not look like a name (empty, a sentence, a question)."""
    name = _NAME_PREFIX.sub("", text).strip().strip(".!,;:")
    if not name or "?" in name or len(name.split()) > 4:
        return ""
    return name[:MAX_NAME_CHARS].strip()


def new_state(*, conversation_id: str) -> BotState:
    return {
        "v": STATE_VERSION,
        "step": "ask_name",
        "cid": conversation_id,
        "name": "",
        "question": "",
        "transcript": [],
    }


def converse(*, state: BotState | None, text: str, now: datetime, conversation_id: str) -> Turn:
    """The bot's answer to `text` in the conversation `state` (None: a new conversation,
    which it opens with a greeting whatever `text` says). Pure: `now` stamps the lines,
    `conversation_id` names a new conversation."""
    text = text.strip()
    if state is None:
        state = new_state(conversation_id=conversation_id)
        return _turn(state, now=now, customer="", replies=[GREETING], step="ask_name")
    if state["step"] == "escalated":
        raise StateError("This conversation was already handed over to an agent.")

    name, question = state["name"], state["question"]
    if wants_agent(text):
        # "agent, I was charged twice": the words around the request are the question.
        if intent_for(text) != INTENT_GENERAL:
            question = text
        polite = f", {name}" if name else ""
        return _turn(
            state,
            now=now,
            customer=text,
            replies=[HANDING_OVER.format(name=polite)],
            step="escalated",
            question=question,
            escalate=True,
        )
    if state["step"] == "ask_name":
        name = name_from(text)
        if not name:
            return _turn(state, now=now, customer=text, replies=[ASK_NAME_AGAIN], step="ask_name")
        reply = f"Nice to meet you, {name}. What can I help you with today?"
        return _turn(
            state,
            now=now,
            customer=text,
            replies=[reply],
            step="ask_question",
            name=name,
            suggestions=SUGGESTIONS,
        )
    # ask_question: every question is remembered; the latest one sets the intent.
    if _CARD_LOST.search(text):
        replies = [CARD_LOST, ANYTHING_ELSE]
    elif _OPENING_HOURS.search(text):
        replies = [OPENING_HOURS, ANYTHING_ELSE]
    else:
        replies = [NOT_SURE]
    return _turn(
        state,
        now=now,
        customer=text,
        replies=replies,
        step="ask_question",
        question=text,
        suggestions=[TALK_TO_AN_AGENT] if replies == [NOT_SURE] else SUGGESTIONS,
    )


def _turn(
    state: BotState,
    *,
    now: datetime,
    customer: str,
    replies: list[str],
    step: Step,
    name: str | None = None,
    question: str | None = None,
    suggestions: list[str] | None = None,
    escalate: bool = False,
) -> Turn:
    at = now.isoformat()
    said = [{"from": "customer", "text": customer, "at": at}] if customer else []
    said += [{"from": "bot", "text": reply, "at": at} for reply in replies]
    transcript = [*state["transcript"], *said][-MAX_TRANSCRIPT_LINES:]
    new: BotState = {
        "v": STATE_VERSION,
        "step": step,
        "cid": state["cid"],
        "name": state["name"] if name is None else name,
        "question": state["question"] if question is None else question,
        "transcript": transcript,
    }
    return Turn(
        state=new,
        said=said,
        replies=replies,
        suggestions=[] if escalate else list(suggestions or []),
        escalate=escalate,
    )


# --- The sealed state the widget keeps -------------------------------------------------

_SEAL_SALT = "chat.demo_bot.state"


def _canonical(state: dict[str, Any]) -> str:
    unsigned = {key: value for key, value in state.items() if key != "sig"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def state_seal(state: BotState) -> BotState:
    """The state with `sig`, an HMAC (keyed by SECRET_KEY) over everything else."""
    sig = salted_hmac(_SEAL_SALT, _canonical(dict(state)), algorithm="sha256").hexdigest()
    return {**state, "sig": sig}


def state_open(raw: Any) -> BotState | None:
    """The state the widget sent back, checked: None for `{}` (a new conversation); a
    StateError when it is not a dict this server sealed."""
    if not isinstance(raw, dict):
        raise StateError("`state` must be a JSON object: send {} to start a conversation.")
    if not raw:
        return None
    if not set(raw) <= STATE_KEYS:
        raise StateError("`state` has unknown keys: send back the state the bot gave you.")
    if len(_canonical(raw).encode()) > MAX_STATE_BYTES:
        raise StateError(f"`state` is larger than {MAX_STATE_BYTES // 1024} KiB.")
    sig = raw.get("sig")
    expected = salted_hmac(_SEAL_SALT, _canonical(raw), algorithm="sha256").hexdigest()
    if not isinstance(sig, str) or not constant_time_compare(sig, expected):
        raise StateError(
            "`state` is not one this server issued (it was changed, or the server's secret "
            "key changed): start a new conversation with {}."
        )
    if raw.get("v") != STATE_VERSION:
        raise StateError("`state` comes from another version of the bot: start again with {}.")
    return {key: value for key, value in raw.items() if key != "sig"}  # type: ignore[return-value]


def conversation_id_new() -> str:
    return secrets.token_hex(12)


# --- The escalation request ------------------------------------------------------------


def customer_external_id(customer_id: str) -> str:
    """The escalated customer's id for the widget's random id: what the demo login signs."""
    return f"demo-{customer_id}"


@dataclass(frozen=True)
class EscalationRequest:
    body: dict[str, Any]
    idempotency_key: str


def escalation_request(
    *,
    before: BotState,
    turn: Turn,
    customer_id: str,
    page_url: str,
    language: str,
) -> EscalationRequest:
    """The POST /api/v1/escalations/ call for an escalating turn.

    The same state, text and page always give the same body and key, so a double click
    or a retry after a lost reply returns the first escalation (the API answers 200 with
    the same interaction) instead of escalating twice: the earlier lines keep the times
    stored in the state, and this turn's lines are sent without a time, which the API
    reads as "now"."""
    lines = [*before["transcript"], *({**line, "at": None} for line in turn.said)]
    question = turn.state["question"]
    customer: dict[str, Any] = {"external_id": customer_external_id(customer_id)}
    if turn.state["name"]:
        customer["name"] = turn.state["name"]
    context: dict[str, Any] = {"demo": True, "source": "Northwind Bank help centre (demo site)"}
    if page_url:
        context["page_url"] = page_url
    if language:
        context["browser_language"] = language
    if question:
        context["question"] = question
    body = {
        "channel": DEMO_CHANNEL,
        "intent": intent_for(question),
        "customer": customer,
        "context": context,
        "transcript": lines[-MAX_TRANSCRIPT_LINES:],
    }
    return EscalationRequest(body=body, idempotency_key=f"demo-{turn.state['cid']}")


# --- Talking to the escalation API (the only I/O of this module) -----------------------


class EscalationFailed(Exception):
    """The escalation could not be made; `status` and `code` are for the widget."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bot_token_read(*, path: Path) -> str:
    """The demo bot's clear-text token, as `seed_demo` wrote it."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if not token:
        # The path is for the operator's log, not for the public page.
        logger.error("The demo bot's token file %s is missing or empty: run seed_demo.", path)
        raise EscalationFailed(
            503,
            "demo_bot_not_configured",
            "The demo bot has no API token yet: run `python3 manage.py seed_demo` on the "
            "server, then try again.",
        )
    return token


def escalate_over_http(
    *, url: str, token: str, request: EscalationRequest, timeout: float = 10.0
) -> dict[str, Any]:
    """POST the escalation to the API and return its JSON reply (201 or 200)."""
    http_request = urllib.request.Request(  # noqa: S310 (url is http(s), built by the caller)
        url,
        data=json.dumps(request.body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": request.idempotency_key,
            "User-Agent": "northwind-demo-bot/1",
        },
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read().decode())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read().decode()).get("message", "")
        except (ValueError, AttributeError):
            detail = ""
        raise EscalationFailed(
            502,
            "escalation_refused",
            f"The escalation API refused the request (HTTP {error.code}): {detail or error.reason}",
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EscalationFailed(
            502,
            "escalation_unreachable",
            f"Could not reach the escalation API at {url}: {reason}. Try again in a moment.",
        ) from None
    except ValueError:
        raise EscalationFailed(
            502, "escalation_refused", "The escalation API answered with something not JSON."
        ) from None
