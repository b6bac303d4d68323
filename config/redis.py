"""What a Redis call raises while Redis is down or restarting.

The cache (django-redis) wraps connection failures in its own exception, redis-py
clients raise theirs. Every caller on a request or socket path catches REDIS_ERRORS and
carries on without Redis (docs/operations.md, "Redis outages")."""

from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, ConnectionInterrupted)
