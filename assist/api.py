"""The chat panel's JSON endpoints for phrases, knowledge, suggestions and page push
(session authentication; POSTs need the CSRF token as X-CSRFToken). Every one is for
the CSR handling the chat; a CSR's personal phrases are theirs alone."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from assist import selectors, services
from assist.services import AssistError
from chat.models import Interaction
from config.users import Role, user_roles

MAX_BODY_BYTES = 20_000


def _error(
    status: int, code: str, message: str, errors: list[dict[str, str]] | None = None
) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "errors": errors or []}, status=status)


def csr_endpoint(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Logged-in CSRs only; AssistError and ValidationError become 4xx answers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if not request.user.is_authenticated:
            return _error(401, "not_authenticated", "Log in to the portal first.")
        if Role.CSR not in user_roles(request.user):
            return _error(403, "forbidden", "Phrases, knowledge and page push are for CSRs.")
        try:
            return view(request, *args, **kwargs)
        except AssistError as error:
            return _error(error.status, error.code, error.message)
        except ValidationError as error:
            fields = getattr(error, "message_dict", {"__all__": error.messages})
            errors = [{"field": f, "message": m} for f, ms in fields.items() for m in ms]
            return _error(400, "invalid", " ".join(e["message"] for e in errors), errors)

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise AssistError("too_large", f"The request body can be at most {MAX_BODY_BYTES:,} bytes.")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        raise AssistError("bad_json", "Send a JSON object.") from None
    if not isinstance(body, dict):
        raise AssistError("bad_json", "Send a JSON object.")
    return body


def _user(request: HttpRequest) -> AbstractBaseUser:
    """The logged-in user (csr_endpoint has checked)."""
    return cast(AbstractBaseUser, request.user)


def _interaction(request: HttpRequest, interaction_id: int) -> Interaction:
    interaction = selectors.handling_interaction_get(
        interaction_id=interaction_id, user=_user(request)
    )
    if interaction is None:
        raise AssistError("not_party", "You are not handling this chat.", status=403)
    return interaction


def _id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise AssistError(f"bad_{name}", f"Send {name} as a positive whole number.")
    return value


@never_cache
@require_GET
@csr_endpoint
def phrases(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The phrases this CSR may use in the chat, placeholders filled; ?q= searches."""
    interaction = _interaction(request, interaction_id)
    items = selectors.phrases_for_chat(
        interaction=interaction,
        user=_user(request),
        q=request.GET.get("q", "")[:100],
    )
    return JsonResponse({"phrases": items})


@never_cache
@require_POST
@csr_endpoint
def phrase_used(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The CSR inserted a phrase (counted; a pick when it was suggested)."""
    body = _body(request)
    services.phrase_use(
        interaction_id=interaction_id,
        user=_user(request),
        phrase_id=_id(body.get("phrase_id"), "phrase_id"),
        suggested=bool(body.get("suggested")),
    )
    return JsonResponse({"ok": True})


@never_cache
@require_GET
@csr_endpoint
def suggestions(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The current suggestions (the same as the pushed `assist.suggestions` frame)."""
    interaction = _interaction(request, interaction_id)
    ranked = selectors.suggestions_rank(
        text=selectors.customer_recent_text(interaction_id=interaction.pk),
        intent=interaction.intent,
        queue_id=interaction.queue_id,
        user_id=_user(request).pk,
    )
    items = selectors.suggestions_out(ranked, interaction=interaction, user=_user(request))
    return JsonResponse(
        {"interaction_id": interaction.pk, "seq": interaction.last_seq, "items": items}
    )


@never_cache
@require_GET
@csr_endpoint
def article_search(request: HttpRequest) -> JsonResponse:
    """Published articles matching ?q= (for ?interaction= the chat's queue)."""
    queue_id = None
    raw = request.GET.get("interaction", "")
    if raw:
        if not raw.isdigit() or len(raw) > 12:
            raise AssistError("bad_interaction", "Send interaction as a whole number.")
        queue_id = _interaction(request, int(raw)).queue_id
    found = selectors.article_search(q=request.GET.get("q", ""), queue_id=queue_id)
    return JsonResponse({"articles": [selectors.article_out(a) for a in found]})


@never_cache
@require_GET
@csr_endpoint
def article_detail(request: HttpRequest, article_id: int) -> JsonResponse:
    """A published article, its Markdown rendered and sanitised."""
    article = selectors.article_get(article_id=article_id)
    if article is None:
        raise AssistError("not_found", "There is no published article with this id.", status=404)
    return JsonResponse(selectors.article_out(article, body=True))


@never_cache
@require_POST
@csr_endpoint
def article_share(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """Share an article with the customer: {article_id, client_msg_id, suggested?}."""
    body = _body(request)
    result = services.article_share(
        interaction_id=interaction_id,
        user=_user(request),
        article_id=_id(body.get("article_id"), "article_id"),
        client_msg_id=body.get("client_msg_id"),
        suggested=bool(body.get("suggested")),
    )
    return JsonResponse({"seq": result.message.seq, "created": result.created})


@never_cache
@require_POST
@csr_endpoint
def page_push(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """Push a page to the customer: {url, note?, client_msg_id}."""
    body = _body(request)
    result = services.page_push(
        interaction_id=interaction_id,
        user=_user(request),
        url=body.get("url"),
        note=body.get("note", ""),
        client_msg_id=body.get("client_msg_id"),
    )
    return JsonResponse({"seq": result.message.seq, "created": result.created})
