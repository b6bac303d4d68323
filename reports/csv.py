"""CSV exports, streamed row by row: a year of chats never sits in memory.

Under ASGI a synchronous iterator would be read whole into memory before the first byte
(Django's StreamingHttpResponse), so the rows are handed over in chunks through an
async iterator that reads them on the request's thread; the export's query runs in one
transaction, so PostgreSQL streams its rows from a cursor instead of materialising
them first."""

import csv
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import HttpRequest, StreamingHttpResponse

ROWS_PER_CHUNK = 500


class _Echo:
    """A file-like object whose write returns what it was given (Django's streaming CSV
    recipe)."""

    def write(self, value: str) -> str:
        return value


def _safe(value: Any) -> Any:
    # A cell a spreadsheet would run as a formula is kept as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _chunks(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    buffer = ["\ufeff" + writer.writerow(header)]
    with transaction.atomic():
        for row in rows:
            buffer.append(writer.writerow([_safe(v) for v in row]))
            if len(buffer) >= ROWS_PER_CHUNK:
                yield "".join(buffer).encode()
                buffer = []
    if buffer:
        yield "".join(buffer).encode()


def _next(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def _on_request_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    pull = sync_to_async(_next, thread_sensitive=True)
    try:
        while (chunk := await pull(chunks)) is not None:
            yield chunk
    finally:
        # A client that went away leaves the generator (its transaction, its cursor) open.
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


def csv_response(
    request: HttpRequest, filename: str, header: list[str], rows: Iterable[list[Any]]
) -> StreamingHttpResponse:
    chunks = _chunks(header, rows)
    content = _on_request_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
