"""Asking for routing runs, and the marks that make requests coalesce.

A request costs one Redis round trip; a Celery task is queued only when no run of the
queue is waiting for a worker or routing it. A run, once started, sees every change
committed before it, and routes its queue once more when requests came in during its
pass (engine.route_queue_run). A burst of escalations, accepts and declines is a few
runs, each reading the queue's members once, not a task each."""

import logging
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django_redis import get_redis_connection

from config.redis import REDIS_ERRORS
from config.tasks import task_enqueue
from routing.selectors.csrs import csr_joined_queue_ids

logger = logging.getLogger(__name__)

ROUTE_TASK = "routing.tasks.route_queue"
ROUTE_PENDING_KEY = "routing-pending:{queue_id}"
# A run that never starts (its worker died) blocks new requests this long; the sweep
# routes everything meanwhile.
ROUTE_PENDING_SECONDS = 10
# Set while a task routes a queue, renewed on each of its passes; a run killed midway
# stops counting after this (one sweep, ROUTING_SWEEP_SECONDS' default).
ROUTE_RUNNING_KEY = "routing-running:{queue_id}"
ROUTE_RUNNING_SECONDS = 3
ROUTE_RETRY_KEY = "routing-retry:{queue_id}"
ROUTE_RETRY_DELAY_SECONDS = 0.5


def routing_request(*, queue_ids: Iterable[int]) -> None:
    """Ask for a routing run of each queue (call it after commit)."""
    for queue_id in sorted(set(queue_ids)):
        try:
            first, running = _request_mark(queue_id)
        except REDIS_ERRORS:  # Redis is down: ask anyway, uncoalesced
            logger.warning("Routing request for queue %s not coalesced (Redis is down)", queue_id)
            first, running = True, False
        if first and not running:
            task_enqueue(ROUTE_TASK, queue_id)


def route_after_commit(*, queue_id: int | None = None, csr_id: int | None = None) -> None:
    """Once the transaction commits, ask for a routing run of the queue, or of every
    queue the CSR joined (they have room now)."""

    def request() -> None:
        queue_ids = [queue_id] if queue_id is not None else []
        if csr_id is not None:
            queue_ids += csr_joined_queue_ids(user_id=csr_id)
        routing_request(queue_ids=queue_ids)

    transaction.on_commit(request, robust=True)


def _key(key: str, queue_id: int) -> str:
    return cache.make_key(key.format(queue_id=queue_id))


def _request_mark(queue_id: int) -> tuple[bool, bool]:
    """Mark the queue's request, in one atomic round trip: (whether this call made the
    mark, whether a run is routing the queue now)."""
    pipe = get_redis_connection("default").pipeline(transaction=True)
    pipe.set(_key(ROUTE_PENDING_KEY, queue_id), 1, nx=True, ex=ROUTE_PENDING_SECONDS)
    pipe.exists(_key(ROUTE_RUNNING_KEY, queue_id))
    made, running = pipe.execute()
    return bool(made), bool(running)


def run_mark(queue_id: int) -> None:
    """A run starts a pass: take the queue's pending request and mark the queue as being
    routed, atomically."""
    try:
        pipe = get_redis_connection("default").pipeline(transaction=True)
        pipe.delete(_key(ROUTE_PENDING_KEY, queue_id))
        pipe.set(_key(ROUTE_RUNNING_KEY, queue_id), 1, ex=ROUTE_RUNNING_SECONDS)
        pipe.execute()
    except REDIS_ERRORS:
        logger.warning("Could not mark the routing run of queue %s (Redis is down)", queue_id)


def run_unmark(queue_id: int) -> bool:
    """A pass is over: clear the run's mark, and say whether a request came in meanwhile
    (atomically with the clearing: a request made after it queues a task of its own)."""
    try:
        pipe = get_redis_connection("default").pipeline(transaction=True)
        pipe.delete(_key(ROUTE_RUNNING_KEY, queue_id))
        pipe.exists(_key(ROUTE_PENDING_KEY, queue_id))
        return bool(pipe.execute()[1])
    except REDIS_ERRORS:
        logger.warning("Could not clear the routing run of queue %s (Redis is down)", queue_id)
        return False


def run_in_progress(queue_id: int) -> bool:
    """Whether a routing task is routing this queue now (the sweep leaves it be)."""
    try:
        return bool(get_redis_connection("default").exists(_key(ROUTE_RUNNING_KEY, queue_id)))
    except REDIS_ERRORS:
        return False


def routing_retry_soon(*, queue_id: int) -> None:
    """A run passed over chats another transaction held: route the queue again in half
    a second, with at most one such retry pending per queue. Not at once: the holder is
    most often another run offering those very chats; where it was a customer's message
    or read mark (milliseconds), half a second later the chat is free. The sweep
    remains the backstop."""
    try:
        first = cache.add(ROUTE_RETRY_KEY.format(queue_id=queue_id), 1, timeout=1)
    except REDIS_ERRORS:
        first = True
    if first:
        task_enqueue(ROUTE_TASK, queue_id, countdown=ROUTE_RETRY_DELAY_SECONDS)
