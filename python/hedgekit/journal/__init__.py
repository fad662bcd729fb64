"""The journal: an append-only, durable record of every intent, order, acknowledgement, fill,
cancel answer, incident and result, written and committed before the call that records it
returns; the source a restarted process recovers from and execution statistics are read from.

SQLite by default (WAL, ``synchronous=FULL``, on one worker thread), PostgreSQL by URL (psycopg 3,
asynchronous, on an event loop of its own thread): either way the journal's I/O and timeouts run
in real time, and on a virtual-time loop virtual time stands still while the journal works. The
database itself refuses to change or remove what was written (schema version 3). Every payload
is redacted of secrets before it is written; a URL's password never reaches a message, an error
or a repr (:mod:`hedgekit.journal.urls`). ``open_journal(url, read_only=True)`` reads an existing
journal without ever writing to it.

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
