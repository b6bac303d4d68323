"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader.

Django registers its own timestamptz loader on every connection: a Python subclass of
psycopg's pure-Python loader, so every timestamp read is parsed in Python (2.6 µs a
value here, against 0.15 µs). A routing run reads two per CSR of the queue, and the
Celery worker spent a tenth of its time there under the routing benchmark. Django's
loader exists to return datetimes in the connection's time zone; psycopg's C loader
returns them in the session's, and Django sets the session to UTC when USE_TZ is on, so
where the connection's time zone is UTC the two return the same datetimes.
"""

import datetime
import functools
from typing import Any

from django.db.backends.postgresql import base
from psycopg import adapt

try:
    from psycopg_binary._psycopg import (  # type: ignore[attr-defined]  # not in its stubs
        TimestamptzLoader as _CTimestamptzLoader,
    )
except ImportError:  # psycopg without its C extension: keep Django's loader
    _CTimestamptzLoader = None


class _UtcTimestamptzLoader(adapt.Loader):
    # Django's create_cursor compares this with the connection's time zone and puts its
    # own loader back on a cursor where they differ.
    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load = _CTimestamptzLoader(oid, context).load  # type: ignore[misc]

    def load(self, data: Any) -> datetime.datetime:
        return self._load(data)


@functools.cache
def _adapters(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", _UtcTimestamptzLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if _CTimestamptzLoader is not None and self.timezone == datetime.UTC:
            params["context"] = _adapters(params["context"])
        return params
