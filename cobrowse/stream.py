"""The live page of a running session, kept in Redis (never in the database): the last
full snapshot and the event frames since, so that a viewer who connects or reconnects
gets the current page at once; when the customer's page last sent something (idle
check); and which CSR viewers are connected (panel-closed check).

Keys, all under `<REDIS_PREFIX>:<session id>:` (`cobrowse:` by default) and expiring a
day after their last write: `frames` (list of the customer's frame texts, the first
holds the full snapshot), `bytes` (their total size), `epoch` (full snapshots so far),
`rate:<window>` (frames counted per 10-second window), `active_at` (unix time of the
last frame) and `viewers` (sorted set: viewer socket → when its presence lapses).
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from cobrowse.conf import cobrowse_setting

KEY_TTL_SECONDS = 24 * 3600
RATE_WINDOW_SECONDS = 10
# A viewer socket counts as present this long after its last sign of life (its
# heartbeat comes every 10 s).
VIEWER_PRESENCE_SECONDS = 25

# Count the frame against the session's rate; when allowed, store it (a full snapshot
# starts the backlog afresh) and return {1, frames stored, bytes stored, epoch};
# refused: {0, 0, 0, 0}. One round trip per customer frame.
_APPEND = """
local count = redis.call('INCR', KEYS[4])
if count == 1 then redis.call('EXPIRE', KEYS[4], ARGV[4]) end
if count > tonumber(ARGV[3]) then return {0, 0, 0, 0} end
local epoch
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], 0, 'EX', ARGV[5])
  epoch = redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
else
  epoch = tonumber(redis.call('GET', KEYS[3]) or '0')
end
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
local size = redis.call('INCRBY', KEYS[2], string.len(ARGV[1]))
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[5], ARGV[6], 'EX', ARGV[5])
return {1, n, size, epoch}
"""


def _key(session_id: int, name: str) -> str:
    return f"{cobrowse_setting('REDIS_PREFIX')}:{session_id}:{name}"


@dataclass(frozen=True)
class Appended:
    allowed: bool
    n: int  # the frame's place in its epoch (1 = the full snapshot)
    backlog_bytes: int
    epoch: int


# One asyncio client per event loop (daphne runs one; tests start several).
_async_clients: dict[int, tuple[aioredis.Redis, Any, asyncio.AbstractEventLoop]] = {}


def _async_client() -> tuple[aioredis.Redis, Any]:
    loop = asyncio.get_running_loop()
    found = _async_clients.get(id(loop))
    if found is None or found[2] is not loop:
        for key, (_, _, old) in list(_async_clients.items()):
            if old.is_closed():
                del _async_clients[key]
        client = aioredis.Redis.from_url(settings.REDIS_URL, max_connections=200)
        found = (client, client.register_script(_APPEND), loop)
        _async_clients[id(loop)] = found
    return found[0], found[1]


async def frame_append(session_id: int, text: str, *, snapshot: bool, rate_limit: int) -> Appended:
    """Store one customer frame (its text as received) if the session's rate allows."""
    _, script = _async_client()
    window = int(time.time()) // RATE_WINDOW_SECONDS
    keys = [
        _key(session_id, "frames"),
        _key(session_id, "bytes"),
        _key(session_id, "epoch"),
        _key(session_id, f"rate:{window}"),
        _key(session_id, "active_at"),
    ]
    args = [text, "1" if snapshot else "0", rate_limit, RATE_WINDOW_SECONDS * 2]
    args += [KEY_TTL_SECONDS, f"{time.time():.3f}"]
    allowed, n, size, epoch = await script(keys=keys, args=args)
    return Appended(bool(allowed), int(n), int(size), int(epoch))


async def frames_read(session_id: int) -> tuple[int, list[str]]:
    """The current epoch and its frames (full snapshot first), for a viewer catching up."""
    client, _ = _async_client()
    async with client.pipeline(transaction=True) as pipe:
        pipe.get(_key(session_id, "epoch"))
        pipe.lrange(_key(session_id, "frames"), 0, -1)
        epoch, frames = await pipe.execute()
    return int(epoch or 0), [frame.decode() for frame in frames]


async def viewer_present(session_id: int, socket_id: str) -> None:
    client, _ = _async_client()
    key = _key(session_id, "viewers")
    async with client.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {socket_id: time.time() + VIEWER_PRESENCE_SECONDS})
        pipe.expire(key, KEY_TTL_SECONDS)
        await pipe.execute()


async def viewer_gone(session_id: int, socket_id: str) -> None:
    client, _ = _async_client()
    await client.zrem(_key(session_id, "viewers"), socket_id)


async def touch(session_id: int) -> None:
    """The customer's page is there (its socket opened): count it as activity."""
    client, _ = _async_client()
    await client.set(_key(session_id, "active_at"), f"{time.time():.3f}", ex=KEY_TTL_SECONDS)


# --- sync side, for services and Celery tasks --------------------------------------------


def _sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def viewers_count(session_id: int) -> int:
    client = _sync_client()
    try:
        return int(client.zcount(_key(session_id, "viewers"), time.time(), "+inf"))
    finally:
        client.close()


def last_active_at(session_id: int) -> float | None:
    client = _sync_client()
    try:
        value = client.get(_key(session_id, "active_at"))
    finally:
        client.close()
    return float(value) if value else None


def stream_clear(session_id: int) -> None:
    """Forget the session's page (it ended)."""
    client = _sync_client()
    try:
        keys = list(client.scan_iter(match=_key(session_id, "*"), count=100))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
