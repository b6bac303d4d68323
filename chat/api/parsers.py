"""The API's JSON parser: a size limit, a nesting limit, finite numbers, and only text
that every supported database stores (docs/api.md#request-bodies)."""

import codecs
import math
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from chat.api.errors import request_too_large
from chat.validators import text_problem

# Deeper than any body the API documents (a transcript entry is 3 levels deep), far
# below the depth at which Python's json module runs out of stack.
MAX_JSON_DEPTH = 32
# JsonBodyError's code for a body that is valid JSON but not an object.
NOT_AN_OBJECT = "not_an_object"


class JsonBodyError(Exception):
    """A body refused before any view sees it: about one `field` (dotted path) or, when
    `field` is None, about the body as a whole."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "parse_error"):
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


def json_object_loads(raw: bytes, *, encoding: str = "utf-8") -> dict[str, Any]:
    """The JSON object in `raw`, or JsonBodyError: bad encoding or syntax, NaN or an
    infinite number, a top level that is not an object, nesting deeper than
    MAX_JSON_DEPTH, or a string (value or key) holding a NUL or a lone surrogate."""
    try:
        text = codecs.decode(raw, encoding)
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise JsonBodyError(_too_deep()) from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise JsonBodyError(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise JsonBodyError(
            f"Expected a dictionary (a JSON object, {{...}}) as the request body, but got "
            f"{_json_type(data)}.",
            code=NOT_AN_OBJECT,
        )
    _check_tree(data)
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:20]} is too large")
    return value


def _too_deep() -> str:
    return f"The request body is nested deeper than {MAX_JSON_DEPTH} levels."


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _check_tree(data: dict[str, Any]) -> None:
    """Walk the parsed body without recursion: its depth, and every string in it."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
            continue
        if not isinstance(value, dict | list):
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise JsonBodyError(_too_deep())
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, path, is_key=True)
                stack.append((item, (*path, key)))
        else:
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))


def _check_text(value: str, path: tuple[str, ...], *, is_key: bool = False) -> None:
    problem = text_problem(value)
    if problem is None:
        return
    message, code = problem
    if is_key:
        message = f"A key in this object is refused: {message}"
    raise JsonBodyError(message, field=".".join(path) or None, code=code)


class BoundedJSONParser(JSONParser):
    """JSONParser with a size limit (413) and json_object_loads's checks (400).

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE applies first (DRF reads JSON through
    `request.body`); chat.api.errors answers its RequestDataTooBig with the same 413.
    A declared Content-Length over the limit is refused without reading."""

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
            raise request_too_large(limit)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise request_too_large(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_object_loads(raw, encoding=encoding)
        except JsonBodyError as problem:
            if problem.code == NOT_AN_OBJECT:
                raise ValidationError([problem.message], code="invalid") from None
            if problem.field is None:
                raise ParseError(problem.message) from None
            raise ValidationError({problem.field: [problem.message]}, code=problem.code) from None


def _content_length(request: Any) -> int | None:
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
