"""OpenAPI description of the CSR's routing endpoints: what each one answers, errors
included, in the API's one error shape (chat.api.schema.ErrorSerializer)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from chat.api.schema import (
    ERROR_400_BODY,
    ERROR_413,
    error_example,
    error_response,
)
from chat.models import InteractionStatus
from routing.errors import CHAT_UNAVAILABLE
from routing.models import OfferStatus

# Every endpoint: session authentication answers 403 (not 401) without a login, as it
# names no WWW-Authenticate scheme; a POST without the CSRF token is refused the same way.
_NOT_LOGGED_IN = error_example(
    "Not logged in", "not_authenticated", "Authentication credentials were not provided."
)
_NOT_A_CSR = error_example("Not a CSR", "permission_denied", "Only CSRs may do this.")
_NO_CSRF = error_example(
    "No CSRF token",
    "permission_denied",
    "CSRF Failed: CSRF token missing.",
)
_INVALID = error_example(
    "Invalid field",
    "invalid",
    "reason: Ensure this field has no more than 200 characters.",
    [
        {
            "field": "reason",
            "message": "Ensure this field has no more than 200 characters.",
            "code": "max_length",
        }
    ],
)
_PARSE_ERROR = error_example(
    "Malformed JSON",
    "parse_error",
    "The request body is not valid JSON: Expecting value: line 1 column 1 (char 0).",
)
_NOT_JSON = error_example(
    "Not JSON", "unsupported_media_type", 'Unsupported media type "text/plain" in request.'
)

ERROR_403_GET = error_response("Not logged in, or not a CSR.", _NOT_LOGGED_IN, _NOT_A_CSR)
ERROR_403_POST = error_response(
    "Not logged in, not a CSR, or no CSRF token (`X-CSRFToken`).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    _NO_CSRF,
)
ERROR_415 = error_response("The body is not `application/json`.", _NOT_JSON)

STATUS_400 = error_response(
    "The body is not valid: an unknown status (`invalid`), Away without a reason "
    "(`reason_required`), or a reason that is not an active Away reason (`bad_reason`).",
    error_example(
        "Unknown status",
        "invalid",
        'status: "busy" is not a valid choice.',
        [{"field": "status", "message": '"busy" is not a valid choice.', "code": "invalid_choice"}],
    ),
    error_example("No reason", "reason_required", "Choose a reason for being Away."),
    error_example("Unknown reason", "bad_reason", "Unknown Away reason 'nap'."),
    _PARSE_ERROR,
)
QUEUE_403 = error_response(
    "Not logged in, not a CSR, no CSRF token, or a queue the CSR is not allowed in "
    "(`queue_not_allowed`; an inactive queue cannot be joined either).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    _NO_CSRF,
    error_example(
        "Not a member",
        "queue_not_allowed",
        "You may not join the Billing queue: ask an administrator.",
    ),
)
QUEUE_404 = error_response(
    "No queue with this slug.",
    error_example("Unknown queue", "not_found", "No Queue matches the given query."),
)
OFFER_400 = error_response("The body is not valid.", _INVALID, _PARSE_ERROR)
OFFER_403 = error_response(
    "Not logged in, not a CSR, no CSRF token, or an offer made to another CSR (`not_your_offer`).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    _NO_CSRF,
    error_example("Another CSR's offer", "not_your_offer", "This offer was made to another CSR."),
)
OFFER_409 = error_response(
    "The offer is no longer open: it expired, was withdrawn, was answered already, or "
    "does not exist (`offer_unavailable`).",
    error_example("Gone", "offer_unavailable", CHAT_UNAVAILABLE),
)
CHAT_403_GET = error_response(
    "Not logged in, not a CSR, or not the CSR handling this chat (`not_your_chat`).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    error_example("Not your chat", "not_your_chat", "You are not handling this chat."),
)
TRANSFER_400 = error_response(
    "The transfer cannot be made: a body naming neither or both of `queue` and `csr`, an "
    "unknown queue or CSR (`invalid`, see `errors`), a chat that is not active "
    "(`not_active`), an inactive queue (`queue_inactive`), or the CSR themselves "
    "(`bad_target`).",
    error_example(
        "Neither or both",
        "invalid",
        "Transfer to either a queue or a CSR.",
        [{"field": None, "message": "Transfer to either a queue or a CSR.", "code": "invalid"}],
    ),
    error_example(
        "Unknown queue",
        "invalid",
        "queue: Unknown queue.",
        [{"field": "queue", "message": "Unknown queue.", "code": "invalid"}],
    ),
    error_example("Not active", "not_active", "Only an active chat can be transferred."),
    error_example("Inactive queue", "queue_inactive", "The Night queue is not taking chats."),
    error_example("To oneself", "bad_target", "You cannot transfer a chat to yourself."),
    _PARSE_ERROR,
)
TRANSFER_403 = error_response(
    "Not logged in, not a CSR, no CSRF token, or not the CSR handling this chat (`not_your_chat`).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    _NO_CSRF,
    error_example("Not your chat", "not_your_chat", "You are not handling this chat."),
)
TRANSFER_409 = error_response(
    "The CSR chosen cannot take the chat now (`target_unavailable`): not Available, at "
    "capacity, or considering another offer.",
    error_example(
        "Busy",
        "target_unavailable",
        "Blake Chen is already considering another chat.",
    ),
)

STATE = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The CSR's state: the same payload as the `state` frame of /ws/agent/ "
    "(docs/websocket-protocol.md).",
)
ACCEPTED = OpenApiResponse(
    inline_serializer(
        "OfferAccepted",
        {
            "interaction_id": serializers.IntegerField(),
            "status": serializers.ChoiceField(choices=InteractionStatus.choices),
        },
    ),
    description="The chat is the CSR's: its status is now `active`.",
)
DECLINED = OpenApiResponse(
    inline_serializer(
        "OfferDeclined",
        {
            "offer_id": serializers.IntegerField(),
            "status": serializers.ChoiceField(choices=OfferStatus.choices),
        },
    ),
    description="Declined: the chat goes to the next CSR.",
)
TRANSFER_TARGETS = OpenApiResponse(
    inline_serializer(
        "TransferTargets",
        {
            "csrs": serializers.ListField(
                child=serializers.DictField(), help_text="CSRs who can take the chat now."
            ),
            "queues": serializers.ListField(
                child=serializers.DictField(), help_text="Active queues with their counts."
            ),
        },
    ),
    description="Where the chat can go.",
)
TRANSFERRED = OpenApiResponse(
    inline_serializer(
        "Transferred",
        {
            "interaction_id": serializers.IntegerField(),
            "status": serializers.ChoiceField(choices=InteractionStatus.choices),
            "offer_id": serializers.IntegerField(
                required=False, help_text="The offer made to the CSR chosen (to a CSR only)."
            ),
        },
    ),
    description="To a queue: the chat is `queued` at its front. To a CSR: `offered` to them.",
)

# Every POST parses its body, even where none is needed: a malformed one is a 400
# (parse_error), one over the size limit a 413, one that is not JSON a 415.
STATE_RESPONSES = {200: STATE, 403: ERROR_403_GET}
STATUS_RESPONSES = {
    200: STATE,
    400: STATUS_400,
    403: ERROR_403_POST,
    413: ERROR_413,
    415: ERROR_415,
}
QUEUE_RESPONSES = {
    200: STATE,
    400: ERROR_400_BODY,
    403: QUEUE_403,
    404: QUEUE_404,
    413: ERROR_413,
    415: ERROR_415,
}
ACCEPT_RESPONSES = {
    200: ACCEPTED,
    400: ERROR_400_BODY,
    403: OFFER_403,
    409: OFFER_409,
    413: ERROR_413,
    415: ERROR_415,
}
DECLINE_RESPONSES = {
    200: DECLINED,
    400: OFFER_400,
    403: OFFER_403,
    409: OFFER_409,
    413: ERROR_413,
    415: ERROR_415,
}
TRANSFER_TARGETS_RESPONSES = {200: TRANSFER_TARGETS, 403: CHAT_403_GET}
TRANSFER_RESPONSES = {
    200: TRANSFERRED,
    400: TRANSFER_400,
    403: TRANSFER_403,
    409: TRANSFER_409,
    413: ERROR_413,
    415: ERROR_415,
}

# --- Wrap-up --------------------------------------------------------------------------
WRAPUP = OpenApiResponse(
    inline_serializer(
        "Wrapup",
        {
            "interaction_id": serializers.IntegerField(),
            "queue": serializers.CharField(help_text="The queue's name."),
            "open": serializers.BooleanField(help_text="Not finished and not timed out yet."),
            "outcome": serializers.ChoiceField(
                choices=["", "completed", "timed_out"], help_text="Empty while open."
            ),
            "code_required": serializers.BooleanField(),
            "codes": serializers.ListField(
                child=inline_serializer(
                    "WrapupCode",
                    {"code": serializers.CharField(), "label": serializers.CharField()},
                ),
                help_text="The queue's active disposition codes, in order.",
            ),
            "code": serializers.CharField(allow_null=True, help_text="The code picked."),
            "code_label": serializers.CharField(allow_null=True),
            "summary": serializers.CharField(),
            "started_at": serializers.DateTimeField(),
            "due_at": serializers.DateTimeField(),
            "remaining_seconds": serializers.IntegerField(help_text="0 once released."),
            "released_at": serializers.DateTimeField(allow_null=True),
        },
    ),
    description="The chat's wrap-up.",
)
WRAPUP_400 = error_response(
    "The wrap-up cannot be finished so: no code where the queue requires one "
    "(`code_required`), a code that is not one of the chat queue's active codes "
    "(`bad_code`), a summary too long (`invalid`), or a malformed body.",
    error_example("No code", "code_required", "Pick a disposition code to finish the wrap-up."),
    error_example(
        "Another queue's code",
        "bad_code",
        "'refund' is not a disposition code of the Support queue.",
    ),
    _PARSE_ERROR,
)
WRAPUP_403_GET = error_response(
    "Not logged in, not a CSR, or another CSR's wrap-up (`not_your_wrapup`).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    error_example("Another CSR's", "not_your_wrapup", "This wrap-up is another CSR's."),
)
WRAPUP_403_POST = error_response(
    "Not logged in, not a CSR, no CSRF token, or another CSR's wrap-up (`not_your_wrapup`).",
    _NOT_LOGGED_IN,
    _NOT_A_CSR,
    _NO_CSRF,
    error_example("Another CSR's", "not_your_wrapup", "This wrap-up is another CSR's."),
)
WRAPUP_404 = error_response(
    "The chat has no wrap-up (`wrapup_not_found`): it does not exist, has not ended, "
    "ended before a CSR took it, or its queue has no wrap-up time.",
    error_example("None", "wrapup_not_found", "This chat has no wrap-up."),
)
WRAPUP_409 = error_response(
    "The wrap-up was released already (`wrapup_closed`): finished, or its time ran out.",
    error_example(
        "Timed out",
        "wrapup_closed",
        "The wrap-up time ran out: this chat was released without it.",
    ),
)
WRAPUP_GET_RESPONSES = {200: WRAPUP, 403: WRAPUP_403_GET, 404: WRAPUP_404}
WRAPUP_POST_RESPONSES = {
    200: WRAPUP,
    400: WRAPUP_400,
    403: WRAPUP_403_POST,
    404: WRAPUP_404,
    409: WRAPUP_409,
    413: ERROR_413,
    415: ERROR_415,
}
