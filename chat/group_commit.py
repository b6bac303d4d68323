"""Group commit of the chat sockets' sends.

Every send must be committed, with its sequence number, before it is acknowledged or
relayed, and a commit waits for the database's write-ahead log to reach the disk. One
transaction per send pays that wait, a thread hop, a pooled connection's check and four
round trips for every message. Here the sends of all the sockets of a process that
arrive while earlier ones are being stored wait together and are then stored as one
batch: one thread hop, one transaction and one log flush
(chat.services.messages.message_send_many), after which each sender gets its own
answer. A send arriving while nothing is being stored goes at once, so a quiet process
adds no delay; under load the batches grow by themselves. The senders are answered,
and the next batch may start, as soon as the batch has committed and its messages are
published; the slower after-commit work (sentiment requests, the apps' hooks) goes on
on the batch's thread meanwhile.

Each send keeps its own rate limit, refusal and retry answer (a refused send takes
nothing from its batch-mates); sends to one chat are numbered in the order they arrived.
A process killed mid-batch loses the whole transaction, so every send is either
acknowledged and stored, or neither (the client sends it again with the same id).
"""

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chat.errors import ChatRateLimited
from chat.services.messages import SendOutcome, SendRequest, message_send_many
from config.ratelimit import SharedLimit
from config.sockets import db

# A batch holds at most this many sends (bounding how long its chats stay locked), and
# at most this many batches are stored at once. One: a second batch stored alongside
# only fights the first (and the event loop) for the GIL; one batch at a time gave the
# same rate under pressure and a p50 lower by about a quarter at 200 messages/s
# (docs/benchmarks.md).
MAX_BATCH_SENDS = 100
MAX_BATCHES_IN_FLIGHT = 1


@dataclass
class _Pending:
    request: SendRequest
    limit: SharedLimit | None
    answer: asyncio.Future[SendOutcome] = field(repr=False)


class SendBatcher:
    """The sends of one event loop's sockets, stored in batches."""

    def __init__(
        self, *, max_sends: int = MAX_BATCH_SENDS, max_in_flight: int = MAX_BATCHES_IN_FLIGHT
    ):
        self.max_sends = max_sends
        self.max_in_flight = max_in_flight
        self.waiting: deque[_Pending] = deque()
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, request: SendRequest, *, limit: SharedLimit | None) -> SendOutcome:
        """Store `request` (after counting it against `limit`) with the next batch; its
        outcome once that batch has committed: the stored message, or the refusal."""
        answer: asyncio.Future[SendOutcome] = asyncio.get_running_loop().create_future()
        self.waiting.append(_Pending(request, limit, answer))
        self._start_batches()
        # A socket that closes meanwhile still has its send stored (its client will
        # find it on replay): shield the batch from the caller's cancellation.
        return await asyncio.shield(answer)

    def _start_batches(self) -> None:
        while self.waiting and self.in_flight < self.max_in_flight:
            count = min(len(self.waiting), self.max_sends)
            batch = [self.waiting.popleft() for _ in range(count)]
            self.in_flight += 1
            task = asyncio.create_task(self._store(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _store(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        answered = False

        def answer(outcomes: list[SendOutcome]) -> None:
            # Once the batch has committed (its sentiment requests and the apps' hooks
            # still running on its thread): answer the senders, start the next batch.
            nonlocal answered
            if answered:
                return
            answered = True
            self.in_flight -= 1
            for pending, outcome in zip(batch, outcomes, strict=True):
                if not pending.answer.done():
                    pending.answer.set_result(outcome)
            self._start_batches()

        try:
            outcomes = await _batch_store(
                [(p.request, p.limit) for p in batch],
                lambda outcomes: loop.call_soon_threadsafe(answer, list(outcomes)),
            )
        except Exception as error:  # a batch-wide failure is each sender's failure
            outcomes = [error] * len(batch)
        answer(outcomes)


@db
def _batch_store(
    sends: list[tuple[SendRequest, SharedLimit | None]],
    answered: Callable[[list[SendOutcome]], Any],
) -> list[SendOutcome]:
    """On a database thread: count the sends against their limits (one round trip to
    Redis), then store those allowed in one transaction; `answered` gets every outcome
    once they are committed."""
    limited = [(n, limit) for n, (_, limit) in enumerate(sends) if limit is not None]
    waits = SharedLimit.take_many([limit for _, limit in limited]) if limited else []
    outcomes: list[SendOutcome | None] = [None] * len(sends)
    for (n, limit), wait in zip(limited, waits, strict=True):
        if wait:
            outcomes[n] = ChatRateLimited(limit_message(limit), retry_after=wait)
    allowed = [n for n, outcome in enumerate(outcomes) if outcome is None]

    def merged(stored: list[SendOutcome]) -> list[SendOutcome]:
        for n, outcome in zip(allowed, stored, strict=True):
            outcomes[n] = outcome
        return outcomes  # type: ignore[return-value]

    if not allowed:
        return outcomes  # type: ignore[return-value]
    stored = message_send_many(
        [sends[n][0] for n in allowed], answered=lambda stored: answered(merged(stored))
    )
    return merged(stored)


def limit_message(limit: SharedLimit) -> str:
    """What a sender over one of the chat's limits is told."""
    return (
        f"Too many {limit.what}: at most {limit.events} per {limit.window_seconds} seconds "
        "in this chat."
    )


_batchers: dict[asyncio.AbstractEventLoop, SendBatcher] = {}


def send_batcher() -> SendBatcher:
    """This event loop's batcher (daphne runs one loop; tests may run several)."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        for closed in [other for other in _batchers if other.is_closed()]:
            del _batchers[closed]
        batcher = _batchers[loop] = SendBatcher()
    return batcher
