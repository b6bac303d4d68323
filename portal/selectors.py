"""Reads for the portal pages and the health check."""

import redis
from django.conf import settings
from django.db import connection


def health_report() -> dict:
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    return {"ok": all(checks.values()), "checks": checks}


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False
