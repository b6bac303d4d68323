"""OpenAPI description of the bot API: the bearer scheme and the error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class BotTokenScheme(OpenApiAuthenticationExtension):
    target_class = "chat.api.authentication.BotTokenAuthentication"
    name = "botToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A bot client's token, created in the admin (Bot API clients): "
            "`Authorization: Bearer bot_...`.",
        }


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        help_text="Dotted path of the field in the body (`customer.email`, `transcript.3.at`), "
        "`Idempotency-Key` for the header, null for the body as a whole.",
    )
    message = serializers.CharField(help_text="What is wrong, in a sentence.")
    code = serializers.CharField(
        help_text="Machine code: `required`, `invalid`, `max_value`, `empty`, `too_long`, "
        "`bad_client_msg_id`..."
    )

    class Meta:
        ref_name = "ErrorItem"


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine code: `invalid`, `parse_error`, `not_authenticated`, "
        "`authentication_failed`, `client_inactive`, `channel_not_allowed`, `not_found`, "
        "`idempotency_conflict`, `chat_ended`, `request_too_large`, `unsupported_media_type`, "
        "`throttled`."
    )
    message = serializers.CharField(help_text="What went wrong, for a human.")
    # A declared field, not Serializer.errors: DRF's metaclass takes fields off the class.
    errors = ErrorItemSerializer(  # type: ignore[assignment]
        many=True, help_text="Field problems; empty for other errors."
    )

    class Meta:
        ref_name = "Error"


def error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description, examples=list(examples))


def error_example(name: str, code: str, message: str, errors=()) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={"code": code, "message": message, "errors": list(errors)},
        response_only=True,
    )


ERROR_400 = error_response(
    "The body, a field or the Idempotency-Key header is not valid; `errors` says where.",
    error_example(
        "Invalid field",
        "invalid",
        "customer.email: Enter a valid email address.",
        [{"field": "customer.email", "message": "Enter a valid email address.", "code": "invalid"}],
    ),
    error_example(
        "Malformed JSON",
        "parse_error",
        "The request body is not valid JSON: Expecting value: line 1 column 1 (char 0).",
    ),
)
ERROR_400_BODY = error_response(
    "A body was sent that is not a JSON object (this endpoint needs none; send none, or `{}`).",
    error_example(
        "Malformed JSON",
        "parse_error",
        "The request body is not valid JSON: Expecting value: line 1 column 1 (char 0).",
    ),
)
ERROR_401 = error_response(
    "No bot token, or an unknown one.",
    error_example("No token", "not_authenticated", "Authentication credentials were not provided."),
    error_example("Unknown token", "authentication_failed", "Invalid bot token."),
)
ERROR_403 = error_response(
    "The bot client is inactive, or may not use the channel.",
    error_example("Inactive client", "client_inactive", "This bot client is inactive."),
    error_example(
        "Channel not allowed",
        "channel_not_allowed",
        "This bot client may not escalate on channel 'whatsapp'; an administrator can add it "
        "to the client's allowed channels.",
    ),
)
ERROR_404 = error_response("No escalation with this id was made by this bot client.")
ERROR_409 = error_response(
    "The Idempotency-Key (or external_id) was used before with a different body.",
    error_example(
        "Key reused",
        "idempotency_conflict",
        "Idempotency key 'conv-81' was already used for escalation 42 with a different "
        "request body. Send a new key for a new escalation, or the original body to get "
        "that escalation back.",
    ),
)
ERROR_400_MESSAGE = error_response(
    "The body is not valid: `errors` says which field (`text`: `empty`, `too_long`; "
    "`client_msg_id`: `bad_client_msg_id` when empty, over 64 characters or already used "
    "in this chat by the CSR; either: `required`).",
    error_example(
        "Empty text",
        "invalid",
        "text: A message needs some text.",
        [{"field": "text", "message": "A message needs some text.", "code": "empty"}],
    ),
    error_example(
        "Text too long",
        "invalid",
        "text: A message can be at most 5,000 characters; this one has 5,120.",
        [
            {
                "field": "text",
                "message": "A message can be at most 5,000 characters; this one has 5,120.",
                "code": "too_long",
            }
        ],
    ),
)
ERROR_400_QUERY = error_response(
    "`after` or `limit` is not valid.",
    error_example(
        "Negative after",
        "invalid",
        "after: Ensure this value is greater than or equal to 0.",
        [
            {
                "field": "after",
                "message": "Ensure this value is greater than or equal to 0.",
                "code": "min_value",
            }
        ],
    ),
)
ERROR_409_CHAT_ENDED = error_response(
    "The chat has ended and this `client_msg_id` was not stored before: nothing was "
    "stored (a retry of a message stored before the end gets 200).",
    error_example(
        "Chat ended", "chat_ended", "This chat has ended; messages can no longer be sent."
    ),
)
ERROR_409_ALREADY_ENDED = error_response(
    "The chat was already over (ended or abandoned).",
    error_example("Already ended", "chat_ended", "This chat has already ended."),
)
ERROR_413 = error_response(
    "The body is larger than the limit (1 MiB by default).",
    error_example(
        "Too large",
        "request_too_large",
        "The request body is larger than the limit of 1048576 bytes (1.0 MiB): send a "
        "shorter transcript.",
    ),
)
ERROR_415 = error_response(
    "The body is not `application/json`.",
    error_example(
        "Not JSON",
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
    ),
)
ERROR_429 = error_response(
    "Too many requests from this bot client; retry after `Retry-After` seconds.",
    error_example(
        "Throttled", "throttled", "Request was throttled. Expected available in 12 seconds."
    ),
)

RETRY_AFTER_HEADER = OpenApiParameter(
    name="Retry-After",
    type=int,
    location=OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request.",
)
WWW_AUTHENTICATE_HEADER = OpenApiParameter(
    name="WWW-Authenticate",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[401],
    description='`Bearer realm="api"`.',
)
ERROR_400_AUTH = error_response(
    "The body is not valid, or the identity token was refused; its `code` says why: "
    "`malformed_token`, `bad_signature`, `wrong_customer` (signed for another customer), "
    "`token_expired`, `expiry_too_far` (expires more than 10 minutes ahead). Nothing changed.",
    error_example(
        "Bad signature",
        "bad_signature",
        "The identity token's signature does not match: sign it with this channel's identity "
        "secret (see docs/authentication.md).",
    ),
    error_example(
        "Other customer",
        "wrong_customer",
        "The identity token was signed for a different customer.",
    ),
    error_example(
        "Expired",
        "token_expired",
        "The identity token has expired: ask the website for a new one.",
    ),
)
ERROR_409_AUTH = error_response(
    "The chat cannot be authenticated now: it has ended (`chat_ended`), the customer is "
    "already authenticated (`already_authenticated`), or the channel has no identity secret "
    "(`identity_not_configured`).",
    error_example(
        "Already authenticated",
        "already_authenticated",
        "The customer is already authenticated.",
    ),
    error_example(
        "No identity secret",
        "identity_not_configured",
        "This channel has no identity secret, so no identity token can be checked; an "
        "administrator can set one on the channel in the admin.",
    ),
)
ERROR_429_AUTH = error_response(
    "Too many authentication attempts for this chat (`rate_limited`, 5 a minute), or too "
    "many requests from this bot client (`throttled`); retry after `Retry-After` seconds.",
    error_example(
        "Too many attempts",
        "rate_limited",
        "Too many authentication attempts for this chat: at most 5 a minute. Try again in "
        "42 seconds.",
    ),
    error_example(
        "Throttled", "throttled", "Request was throttled. Expected available in 12 seconds."
    ),
)


# The path parameter of every /escalations/{id}/ endpoint.
ESCALATION_ID = OpenApiParameter(
    name="id",
    type=int,
    location=OpenApiParameter.PATH,
    description="The escalation's id, as returned when it was created.",
)
