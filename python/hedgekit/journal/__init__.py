"""The journal: an append-only, durable record of every intent, order, acknowledgement, fill,
cancel answer, incident and result, written and committed before the call that records it
returns; the source a restarted process recovers from and execution statistics are read from.

SQLite by default (WAL, ``synchronous=FULL``, on one worker thread), PostgreSQL by URL (psycopg 3,
asynchronous). Every payload is redacted of secrets before it is written.

Example::

    async with await open_journal("sqlite:///journal.db") as journal:
        op = await journal.start_operation("open", legs, params)
        await journal.record(op, "order", {...})
        await journal.finish_operation(op, result.status.value, result.to_dict())
"""

from __future__ import annotations

from hedgekit.journal.core import DEFAULT_SQLITE_FILE, Journal, open_journal
from hedgekit.journal.errors import (
    JournalDataError,
    JournalError,
    JournalSchemaError,
    JournalTimeoutError,
)
from hedgekit.journal.records import EVENT_KINDS, EventRecord, OperationRecord
from hedgekit.journal.schema import LATEST_VERSION
from hedgekit.journal.stats import StatsRow, execution_stats, format_table

__all__ = [
    "DEFAULT_SQLITE_FILE",
    "EVENT_KINDS",
    "LATEST_VERSION",
    "EventRecord",
    "Journal",
    "JournalDataError",
    "JournalError",
    "JournalSchemaError",
    "JournalTimeoutError",
    "OperationRecord",
    "StatsRow",
    "execution_stats",
    "format_table",
    "open_journal",
]
