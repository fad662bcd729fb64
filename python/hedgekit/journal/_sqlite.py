"""SQLite storage: one connection, owned by one dedicated worker thread.

Every call runs on that thread (``ThreadPoolExecutor(max_workers=1)``), so the event loop never
blocks and calls are applied in the order they were made. The worker enforces each call's
deadline itself (queue wait, lock wait through ``busy_timeout``, statements), rolling back what
missed it, so a call that timed out wrote nothing. The database is in WAL mode with
``synchronous=FULL``: a transaction is on disk when its ``COMMIT`` returns.

Read-only (``open(..., read_only=True)``): the existing file is opened with the URI
``file:...?mode=ro`` — nothing is created, migrated or written, the file stays byte for byte as
it was. In a location where SQLite cannot create the WAL's lock files (a read-only directory)
``mode=ro`` cannot read a WAL database; it is then opened ``immutable=1`` (no locking: no other
process can be writing to it either, since a writer needs those files too), unless a ``-wal``
file is there (its content would be ignored), which is refused.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import quote

from hedgekit.journal import schema
from hedgekit.journal._backend import (
    EVENT_COLUMNS,
    OP_COLUMNS,
    Backend,
    EventRow,
    OpFilter,
    OpRow,
    events_where,
)
from hedgekit.journal.errors import JournalError, JournalSchemaError, JournalTimeoutError

__all__ = ["SqliteBackend"]

T = TypeVar("T")


class SqliteBackend(Backend):
    """The journal in a SQLite file (see the module docstring)."""

    self_timed = True

    def __init__(
        self,
        path: str,
        executor: ThreadPoolExecutor,
        conn: sqlite3.Connection,
        timeout_s: float,
        *,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self._executor = executor
        self._conn: sqlite3.Connection | None = conn
        self._timeout_s = timeout_s
        self._begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        self.schema_version = 0

    @classmethod
    async def open(
        cls, path: str, busy_timeout_s: float, *, read_only: bool = False
    ) -> SqliteBackend:
        """Open (creating if needed) and migrate the database at ``path``; or, ``read_only``,
        open the existing file at ``path`` read-only and check it is a journal whose schema can
        be read as it is."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hedgekit-journal")
        loop = asyncio.get_running_loop()

        def connect() -> sqlite3.Connection:
            if read_only:
                return _connect_read_only(path, busy_timeout_s)
            conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_s)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            except BaseException:
                conn.close()
                raise
            return conn

        try:
            conn = await loop.run_in_executor(executor, connect)
        except (sqlite3.Error, JournalError) as exc:
            executor.shutdown(wait=False)
            if isinstance(exc, JournalError):
                raise
            if read_only and _not_a_database(exc):
                raise JournalSchemaError(f"not a hedgekit journal: {exc}") from exc
            raise JournalError(f"cannot open the SQLite journal {path!r}: {exc}") from exc
        backend = cls(path, executor, conn, busy_timeout_s, read_only=read_only)
        try:
            check = backend._inspect if read_only else backend._migrate
            backend.schema_version = await backend._run(check)
        except BaseException:
            await backend.close()
            raise
        return backend

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise JournalError("the journal is closed")
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self._timeout_s
        return await loop.run_in_executor(
            self._executor, _in_transaction, conn, fn, deadline, self._begin
        )

    @staticmethod
    def _inspect(conn: sqlite3.Connection) -> int:
        """The schema version of a journal opened read-only (nothing written).

        Raises:
            JournalSchemaError: Not a journal, or a schema that cannot be read as it is.
        """
        try:
            names = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            missing = [t for t in schema.JOURNAL_TABLES if t not in names]
            if missing:
                raise JournalSchemaError(schema.not_a_journal_message(missing))
            (found,) = conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            if _not_a_database(exc):
                raise JournalSchemaError(f"not a hedgekit journal: {exc}") from exc
            raise
        schema.check_readable(int(found))
        return int(found)

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> int:
        conn.execute(schema.VERSION_TABLE_SQLITE)
        (current,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        if current > schema.LATEST_VERSION:
            raise JournalSchemaError(schema.newer_error_message(current))
        for step in schema.pending(current):
            for stmt in step.sqlite:
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_version (version, applied_ns, description) VALUES (?, ?, ?)",
                (step.version, time.time_ns(), step.description),
            )
        return schema.LATEST_VERSION

    async def start(
        self, op_id: str, kind: str, legs: str, params: str, event_data: str, ts_ns: int
    ) -> int:
        def go(conn: sqlite3.Connection) -> int:
            if conn.execute("SELECT 1 FROM operations WHERE op_id = ?", (op_id,)).fetchone():
                raise JournalError(f"operation {op_id!r} already exists")
            conn.execute(
                f"INSERT INTO operations ({OP_COLUMNS})"
                " VALUES (?, ?, 'running', ?, ?, NULL, ?, NULL)",
                (op_id, kind, legs, params, ts_ns),
            )
            return _insert_event(conn, op_id, "start", ts_ns, event_data)

        return await self._run(go)

    async def append(
        self, op_id: str | None, items: list[tuple[str, str]], ts_ns: int
    ) -> list[int]:
        def go(conn: sqlite3.Connection) -> list[int]:
            if (
                op_id is not None
                and not conn.execute(
                    "SELECT 1 FROM operations WHERE op_id = ?", (op_id,)
                ).fetchone()
            ):
                raise JournalError(f"unknown operation {op_id!r}")
            return [_insert_event(conn, op_id, ev, ts_ns, data) for ev, data in items]

        return await self._run(go)

    async def finish(
        self, op_id: str, status: str, result: str, event_data: str, ts_ns: int
    ) -> int:
        def go(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT finished_ns FROM operations WHERE op_id = ?", (op_id,)
            ).fetchone()
            if row is None:
                raise JournalError(f"unknown operation {op_id!r}")
            if row[0] is not None:
                raise JournalError(f"operation {op_id!r} is already finished")
            conn.execute(
                "UPDATE operations SET status = ?, result = ?, finished_ns = ? WHERE op_id = ?",
                (status, result, ts_ns, op_id),
            )
            return _insert_event(conn, op_id, "result", ts_ns, event_data)

        return await self._run(go)

    async def operations(self, where: OpFilter) -> list[OpRow]:
        clause, params = where.where("?")
        sql = f"SELECT {OP_COLUMNS} FROM operations{clause} ORDER BY started_ns, op_id"
        return await self._run(lambda conn: list(conn.execute(sql, params).fetchall()))

    async def events(self, op_id: str | None, event: str | None) -> list[EventRow]:
        clause, params = events_where(op_id, event, "?")
        sql = f"SELECT {EVENT_COLUMNS} FROM events{clause} ORDER BY seq"
        return await self._run(lambda conn: list(conn.execute(sql, params).fetchall()))

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, conn.close)
        finally:
            self._executor.shutdown(wait=True)


def _insert_event(
    conn: sqlite3.Connection, op_id: str | None, event: str, ts_ns: int, data: str
) -> int:
    cur = conn.execute(
        "INSERT INTO events (op_id, event, ts_ns, data) VALUES (?, ?, ?, ?)",
        (op_id, event, ts_ns, data),
    )
    seq = cur.lastrowid
    assert seq is not None
    return seq


def _not_a_database(exc: sqlite3.Error) -> bool:
    """True when SQLite says the file is not a database (another kind of file)."""
    return "not a database" in str(exc)


def _connect_read_only(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    """A read-only connection to the existing SQLite file ``path`` (see the module docstring),
    its first read done (so that a file that is not a database fails here).

    Raises:
        JournalError: No such file, or a WAL file that a read-only location keeps us from
            reading.
        sqlite3.Error: SQLite could not read it.
    """
    if not os.path.isfile(path):
        raise JournalError(f"no such journal file {path!r}")
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        return _first_read(uri, busy_timeout_s)
    except sqlite3.OperationalError as exc:
        # a WAL database where its -shm/-wal cannot be created (a read-only location)
        code = getattr(exc, "sqlite_errorname", "")
        if not code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
            raise
        if os.path.exists(path + "-wal"):
            raise JournalError(
                f"cannot read the SQLite journal {path!r} read-only ({exc}), and opened "
                "immutable its -wal file would be ignored: read it where it can be locked"
            ) from exc
    return _first_read(f"{uri}&immutable=1", busy_timeout_s)


def _first_read(uri: str, busy_timeout_s: float) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_s)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _in_transaction(
    conn: sqlite3.Connection,
    fn: Callable[[sqlite3.Connection], T],
    deadline: float,
    begin: str = "BEGIN IMMEDIATE",
) -> T:
    """Run ``fn`` in one ``begin`` (``BEGIN IMMEDIATE``; ``BEGIN`` for a read-only
    connection) ... ``COMMIT`` (rolled back on any error), by
    ``deadline`` (``time.monotonic()``): a call that waited in the queue past it, or could not
    get the write lock by then, or whose statements ran past it, is rolled back and raises
    :class:`JournalTimeoutError` — so a timed-out call has written nothing."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise JournalTimeoutError("journal call timed out waiting for the worker; nothing written")
    try:
        conn.execute(f"PRAGMA busy_timeout = {max(1, int(remaining * 1000))}")
        conn.execute(begin)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise JournalTimeoutError(
                f"journal call timed out: the database stayed locked by another writer ({exc}); "
                "nothing written"
            ) from exc
        raise JournalError(f"journal storage error: {exc}") from exc
    except sqlite3.Error as exc:
        raise JournalError(f"journal storage error: {exc}") from exc
    try:
        out = fn(conn)
        if time.monotonic() > deadline:
            raise JournalTimeoutError("journal call timed out; rolled back, nothing written")
        conn.execute("COMMIT")
    except BaseException as exc:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:  # pragma: no cover - the transaction is already gone
            pass
        if isinstance(exc, sqlite3.Error):
            raise JournalError(f"journal storage error: {exc}") from exc
        raise
    return out
