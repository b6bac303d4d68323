"""Transactions whose loss in a database crash costs nothing but a retry.

A commit normally waits until PostgreSQL has flushed its write-ahead log to disk. On
this machine that flush takes 1–4 ms at the median and up to hundreds of milliseconds
when the disk stalls, and routing commits often (every page of chats, and until the
seventh session every chat): under load the runs spent more time waiting for the
disk than working, and chats queued behind them.

A routing transaction holds only state the portal rebuilds on its own: an offer, the
chat marked offered, the CSR's last-offer time and the decision's log row. Committed
with `synchronous_commit = off` it is visible to everyone at once and on disk within
PostgreSQL's `wal_writer_delay` (200 ms by default, three times that at worst). Should
PostgreSQL itself crash in that window, the chat is found queued again, the sweeper
routes it, and an offer already shown to a CSR answers "This chat is no longer
available". A later durable commit (an accept, a message) flushes every record before
its own, so nothing durable can ever depend on a lost routing step.

Messages, escalations, accepts and every other write keep durable commits.
"""

from django.db import connection


def transient_commit_column() -> str:
    """A select-list item ("…, ") for the first statement of a transaction whose loss
    the portal repairs by itself (see above): on PostgreSQL it sets that transaction's
    `synchronous_commit` to off, at no extra round trip; on SQLite it is empty.

    PostgreSQL evaluates it while reading the row, before FOR UPDATE SKIP LOCKED may
    skip that row: then the transaction writes nothing and the setting does nothing."""
    if connection.vendor != "postgresql":
        return ""
    return "set_config('synchronous_commit', 'off', true) AS transient_commit, "
