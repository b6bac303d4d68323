"""A JSON parser that refuses bodies over PORTAL["API_MAX_BODY_BYTES"]."""

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from chat.api.errors import RequestTooLarge


class BoundedJSONParser(JSONParser):
    """JSONParser with a size limit (413).

    DRF parsers read the raw request stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does
    not apply: refuse a declared Content-Length over the limit without reading, and never
    read more than one byte past the limit when the length is missing or wrong."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        limit = settings.PORTAL["API_MAX_BODY_BYTES"]
        request = parser_context.get("request")
        declared = _content_length(request)
        if declared is not None and declared > limit:
            raise _too_large(limit)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise _too_large(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}.") from None


def _content_length(request: Any) -> int | None:
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"The request body is larger than the limit of {limit} bytes "
        f"({limit / 1_048_576:.1f} MiB): send a shorter transcript."
    )
