"""The demo host website at /demo/, its scripted bot's endpoint at /demo/bot/ and its
customer login at /demo/login/.

All answer 404 unless PORTAL["DEMO_SITE_ENABLED"]. The script is in chat.demo_bot; the
bot endpoint checks the input, rate-limits per address, and lets the bot escalate over
HTTP through our own REST API, like any external bot.
"""

import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import demo_bot, identity
from chat.api.parsers import NOT_AN_OBJECT, JsonBodyError, json_object_loads
from chat.models import Channel
from config.ratelimit import window_count_or_none

logger = logging.getLogger(__name__)

ESCALATIONS_PATH = "/api/v1/escalations/"
# Each client address may call the bot this many times per window.
BOT_RATE_LIMIT = 30
BOT_RATE_WINDOW_SECONDS = 60
MAX_BODY_BYTES = 128 * 1024
MAX_PAGE_URL_CHARS = 500
MAX_LANGUAGE_CHARS = 35
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def _demo_site_or_404() -> None:
    if not settings.PORTAL["DEMO_SITE_ENABLED"]:
        raise Http404("The demo site is switched off (DEMO_SITE_ENABLED).")


@never_cache
@ensure_csrf_cookie
@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    """A bank's help centre with the customer widget in the corner."""
    _demo_site_or_404()
    return render(request, "chat/demo.html")


@never_cache
@ensure_csrf_cookie
@require_GET
def demo_cards_page(request: HttpRequest) -> HttpResponse:
    """The bank's cards page: a second page of the demo site carrying the widget (the
    chat, and a co-browse session, carry on when the customer moves here)."""
    _demo_site_or_404()
    return render(request, "chat/demo_cards.html")


class BadInput(Exception):
    def __init__(self, field: str | None, message: str, code: str = "invalid"):
        super().__init__(message)
        self.field, self.message, self.code = field, message, code


class BodyTooLarge(Exception):
    """The body is over MAX_BODY_BYTES: the API's 413."""


@never_cache
@require_POST
def demo_bot_reply(request: HttpRequest) -> JsonResponse:
    """POST {"state": {...}, "text": "...", "client": {"customer_id", "page_url",
    "language"}} → {"state", "replies", "suggestions", "escalation"}.

    `state` is the one the previous reply returned ({} to start); the widget keeps it.
    On an escalating turn `escalation` carries the API's reply (interaction id, customer
    token and socket URL, queue position and wait)."""
    _demo_site_or_404()
    wait = _rate_limit_wait(request)
    if wait:
        response = _error(
            429,
            "throttled",
            f"Too many messages from your address: wait {wait} seconds and try again.",
        )
        response["Retry-After"] = str(wait)
        return response
    try:
        state, text, client = _bot_input(request)
        turn = demo_bot.converse(
            state=state,
            text=text,
            now=timezone.now(),
            conversation_id=demo_bot.conversation_id_new(),
        )
    except BadInput as problem:
        return _error(400, "invalid", problem.message, field=problem.field, item_code=problem.code)
    except BodyTooLarge as problem:
        return _error(413, "request_too_large", str(problem))
    except demo_bot.StateError as problem:
        return _error(400, "invalid", str(problem), field="state")

    escalation = None
    if turn.escalate:
        assert state is not None  # a new conversation opens with a greeting
        try:
            escalation = _escalate(request, before=state, turn=turn, client=client)
        except demo_bot.EscalationFailed as failure:
            logger.warning("Demo bot escalation failed: %s", failure.message)
            return _error(failure.status, failure.code, failure.message)
    return JsonResponse(
        {
            "state": demo_bot.state_seal(turn.state),
            "replies": [line for line in turn.said if line["from"] == "bot"],
            "suggestions": turn.suggestions,
            "escalation": escalation,
        }
    )


def _bot_input(request: HttpRequest) -> tuple[demo_bot.BotState | None, str, dict[str, str]]:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        raise BadInput(None, "The Content-Length header must be a whole number.")
    if int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge(
            f"The request body is larger than the limit of {MAX_BODY_BYTES} bytes "
            f"({MAX_BODY_BYTES // 1024} KiB)."
        )
    try:
        data = json_object_loads(request.body)
    except JsonBodyError as problem:
        if problem.code == NOT_AN_OBJECT:
            raise BadInput(None, 'Send a JSON object: {"state": {...}, "text": "..."}.') from None
        raise BadInput(problem.field, problem.message, problem.code) from None

    text = data.get("text", "")
    if not isinstance(text, str):
        raise BadInput("text", "text must be a string.")
    if len(text) > demo_bot.MAX_TEXT_CHARS:
        raise BadInput(
            "text",
            f"A message may be at most {demo_bot.MAX_TEXT_CHARS:,} characters; this one has "
            f"{len(text):,}.",
            "max_length",
        )
    state = demo_bot.state_open(data.get("state", {}))
    if state is not None and not text.strip():
        raise BadInput("text", "Write a message first.", "blank")

    client = data.get("client", {})
    if not isinstance(client, dict):
        raise BadInput("client", "client must be a JSON object.")
    customer_id = client.get("customer_id")
    if not isinstance(customer_id, str) or not _CUSTOMER_ID.match(customer_id):
        raise BadInput(
            "client.customer_id",
            "client.customer_id must be the widget's random id: 8 to 64 letters, digits or dashes.",
        )
    checked = {"customer_id": customer_id}
    for field, limit in (("page_url", MAX_PAGE_URL_CHARS), ("language", MAX_LANGUAGE_CHARS)):
        value = client.get(field, "")
        if not isinstance(value, str) or len(value) > limit:
            raise BadInput(
                f"client.{field}", f"client.{field} must be a string of at most {limit} characters."
            )
        checked[field] = value
    return state, text, checked


def _escalate(
    request: HttpRequest,
    *,
    before: demo_bot.BotState,
    turn: demo_bot.Turn,
    client: dict[str, str],
) -> dict[str, Any]:
    token = demo_bot.bot_token_read(path=settings.VAR_DIR / demo_bot.DEMO_BOT_TOKEN_FILE_NAME)
    call = demo_bot.escalation_request(
        before=before,
        turn=turn,
        customer_id=client["customer_id"],
        page_url=client["page_url"],
        language=client["language"],
    )
    url = _escalations_url(request)
    reply = demo_bot.escalate_over_http(url=url, token=token, request=call)
    return {
        "interaction_id": reply["id"],
        "status": reply["status"],
        "queue": reply["queue"],
        "position": reply["position"],
        "estimated_wait_seconds": reply["estimated_wait_seconds"],
        "customer_token": reply["customer_token"],
        "customer_ws_url": reply["customer_ws_url"],
    }


def _escalations_url(request: HttpRequest) -> str:
    """This server's escalation API: under PORTAL["PUBLIC_BASE_URL"] when set, else at
    the scheme and host of the request (already checked against ALLOWED_HOSTS)."""
    base = settings.PORTAL["PUBLIC_BASE_URL"]
    if not base:
        if "*" in settings.ALLOWED_HOSTS:
            # Any Host header would do: the bot would send its token wherever it names.
            raise demo_bot.EscalationFailed(
                503,
                "demo_bot_not_configured",
                "The demo bot needs PUBLIC_BASE_URL when ALLOWED_HOSTS allows any host: "
                "it will not send its API token to whatever host a request names.",
            )
        return request.build_absolute_uri(ESCALATIONS_PATH)
    parts = urlsplit(base)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + ESCALATIONS_PATH
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def _rate_limit_wait(request: HttpRequest) -> int:
    """Count this request against its address's window: 0 when within BOT_RATE_LIMIT,
    else the seconds until the window ends. Fixed windows in the shared cache, so every
    server process counts together; while the cache is down, not counted (0, logged)."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    key = f"demo-bot-rate:{address}"
    counted = window_count_or_none(key, window_seconds=BOT_RATE_WINDOW_SECONDS)
    if counted is None or counted.count <= BOT_RATE_LIMIT:
        return 0
    return counted.retry_after


def _error(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    item_code: str = "invalid",
) -> JsonResponse:
    """The REST API's error shape: {"code", "message", "errors": [{field, message, code}]}."""
    errors = [{"field": field, "message": message, "code": item_code}] if field else []
    return JsonResponse({"code": code, "message": message, "errors": errors}, status=status)


# --- The bank's customer login (/demo/login/) ------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    """A Northwind Bank customer; the password is always `<username>-demo`."""

    name: str
    number: str

    @property
    def identity(self) -> str:
        return f"{self.number} ({self.name})"


DEMO_ACCOUNTS = {
    "dana": DemoAccount(name="Dana Reyes", number="NB-1001"),
    "sam": DemoAccount(name="Sam Lee", number="NB-1002"),
}


@never_cache
@require_http_methods(["GET", "POST"])
def demo_login(request: HttpRequest) -> HttpResponse:
    """The bank's login page, which the widget opens when a CSR asks the customer to
    authenticate (?customer_id= the widget's random id). After a demo account logs in,
    the site does what a real host website does (docs/authentication.md): it signs the
    chat's customer id with the demo channel's identity secret, and the page hands the
    token to the widget that opened it (postMessage, same origin only)."""
    _demo_site_or_404()
    customer_id = request.GET.get("customer_id", "")
    if not _CUSTOMER_ID.match(customer_id):
        problem = "This sign-in link is not valid: use the Sign in button in the chat."
        return render(request, "chat/demo_login.html", {"problem": problem}, status=400)
    context: dict[str, Any] = {"customer_id": customer_id, "accounts": DEMO_ACCOUNTS}
    if request.method == "GET":
        return render(request, "chat/demo_login.html", context)
    username = request.POST.get("username", "").strip().lower()
    account = DEMO_ACCOUNTS.get(username)
    password = request.POST.get("password", "")
    if account is None or not hmac.compare_digest(password.encode(), f"{username}-demo".encode()):
        context.update(error="That user name and password do not match.", username=username)
        return render(request, "chat/demo_login.html", context, status=400)
    channel = Channel.objects.filter(slug=demo_bot.DEMO_CHANNEL).first()
    if channel is None or not channel.identity_secret:
        problem = (
            "The demo chat channel has no identity secret yet: run `python3 manage.py "
            "seed_demo` on the server, then try again."
        )
        return render(request, "chat/demo_login.html", {"problem": problem}, status=503)
    context["account"] = account
    context["token"] = identity.sign(
        secret=channel.identity_secret,
        customer_id=demo_bot.customer_external_id(customer_id),
        identity=account.identity,
    )
    return render(request, "chat/demo_login.html", context)
