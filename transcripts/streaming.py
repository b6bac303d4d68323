"""Transcript downloads as streamed HTTP responses.

The rendered pieces are gathered into chunks of about CHUNK_BYTES and streamed. Under
WSGI (and Django's test client) the response iterates them directly. Under ASGI
(daphne) Django would read a synchronous iterator to the end before sending anything,
so there the chunks are pulled a few at a time through `sync_to_async` (in the
request's own thread, on its own database connection) and sent as they come.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.cache import add_never_cache_headers

from transcripts.formats import Transcript, render_json, render_text

CHUNK_BYTES = 64 * 1024
# Chunks fetched per hop to the request's thread under ASGI.
CHUNKS_PER_HOP = 4


class TranscriptFormat(StrEnum):
    TXT = "txt"
    JSON = "json"


@dataclass(frozen=True)
class FormatSpec:
    filename: str
    content_type: str


FORMATS = {
    TranscriptFormat.TXT: FormatSpec("ChatTranscript.txt", "text/plain; charset=utf-8"),
    TranscriptFormat.JSON: FormatSpec("ChatTranscript.json", "application/json"),
}


def render(transcript: Transcript, fmt: TranscriptFormat) -> Iterator[str]:
    return render_text(transcript) if fmt is TranscriptFormat.TXT else render_json(transcript)


def encoded_chunks(pieces: Iterator[str], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The pieces as UTF-8, gathered into chunks of at least `size` bytes (the last
    one smaller)."""
    buffer: list[str] = []
    buffered = 0
    for piece in pieces:
        buffer.append(piece)
        buffered += len(piece)  # characters: a lower bound of the bytes
        if buffered >= size:
            yield "".join(buffer).encode()
            buffer, buffered = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _take(chunks: Iterator[bytes], count: int) -> list[bytes]:
    return list(islice(chunks, count))


async def _through_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks for an ASGI response, read in the request's thread a few at a time."""
    take = sync_to_async(_take, thread_sensitive=True)
    try:
        while batch := await take(chunks, CHUNKS_PER_HOP):
            for chunk in batch:
                yield chunk
    finally:
        # A client that went away leaves the generator (and its database cursor) open.
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


def transcript_response(
    *, request: HttpRequest, transcript: Transcript, fmt: TranscriptFormat
) -> StreamingHttpResponse:
    """A download of `transcript` in `fmt`: an attachment named ChatTranscript.txt or
    ChatTranscript.json, streamed, never cached."""
    spec = FORMATS[fmt]
    chunks = encoded_chunks(render(transcript, fmt))
    content = _through_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=spec.content_type)
    response["Content-Disposition"] = f'attachment; filename="{spec.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)
    return response
