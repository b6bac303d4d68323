"""Celery's Redis transport (kombu's), keeping one client per channel for publishing.

kombu's Redis channel builds a new `redis.Redis` client for every message it publishes,
on the channel's own connection pool. Building one is ~0.2 ms of CPU, about 40% of
`send_task`, and the portal queues a task or two for every escalation, accept and
message. The client holds no state of its own besides that pool (redis-py clients are
safe to share between threads), so one serves every publish until the channel's pool
is replaced. Used for `redis://` broker URLs (config/settings.py).
"""

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _publish_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the consumer's BRPOP client, built once per channel anyway
            return super()._create_client(asynchronous=True)
        client = self._publish_client
        if client is None or client.connection_pool is not self.pool:
            client = self._publish_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
