"""PostgreSQL storage through psycopg 3's asynchronous connection, on an event loop of its own.

One connection per journal, in autocommit mode, every call one explicit transaction; an
``asyncio.Lock`` keeps calls in the order they were made. ``synchronous_commit`` is forced ``on``
for the session, so a committed record survives a server crash.

The connection lives on a dedicated thread running its own event loop, in real time; the caller
awaits each call through ``run_in_executor`` (a waiter thread blocks until the call is done). So
the journal's I/O and its timeouts run on the real clock whatever loop the caller runs: on a
:class:`hedgekit.clock.VirtualTimeLoop` (the demo, simulations) virtual time stands still while
the database works — as it does for SQLite's worker thread — instead of jumping ahead while
psycopg waits on its socket and expiring every timeout at once. Each call, opening included, is
bounded there by the journal's timeout (the backend is ``self_timed``).

Read-only (``open(..., read_only=True)``): every transaction of the session is read-only
(``default_transaction_read_only``), and nothing is created or migrated: the database must
already be a journal whose schema can be read as it is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

try:
    import psycopg
    from psycopg.pq import TransactionStatus
except ImportError as _exc:  # the "postgres" extra is not installed: one line naming it
    raise ImportError(
        'PostgreSQL journals need psycopg, the "postgres" extra: pip install "hedgekit[postgres]"'
    ) from _exc

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
from hedgekit.journal.urls import mask_text

__all__ = ["PostgresBackend"]

T = TypeVar("T")
_MIGRATION_LOCK = 0x6865_6467_656A  # pg_advisory_xact_lock key: one migrator at a time
_BACKSTOP_S = 1.0  # the waiter's extra wait for a call the I/O loop bounds itself
Conn = psycopg.AsyncConnection[Any]


class _IoLoop:
    """An event loop on a thread of its own, where the connection lives (see the module
    docstring)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="hedgekit-journal-pg", daemon=True
        )
        self._thread.start()
        self._waiters = ThreadPoolExecutor(thread_name_prefix="hedgekit-journal-pg-wait")

    async def call(self, coro: Coroutine[Any, Any, T], wait_s: float) -> T:
        """Run ``coro`` on the I/O loop and wait for it, in a waiter thread, at most ``wait_s``
        real seconds (it is cancelled when the caller gives up)."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._waiters, concurrent.futures.wait, [fut], wait_s
            )
        except BaseException:
            fut.cancel()
            raise
        if not fut.done():
            fut.cancel()
            raise JournalTimeoutError(f"journal call did not complete within {wait_s} s")
        if fut.cancelled():
            raise JournalError("the journal call was cancelled: the journal is closed")
        return fut.result()

    async def stop(self) -> None:
        """Stop the loop and its thread (what still runs there is cancelled)."""

        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            await self.call(cancel_rest(), _BACKSTOP_S)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            caller = asyncio.get_running_loop()
            await caller.run_in_executor(self._waiters, self._thread.join, _BACKSTOP_S)
            if not self._thread.is_alive():
                self.loop.close()
            self._waiters.shutdown(wait=False)


class PostgresBackend(Backend):
    """The journal in a PostgreSQL database (see the module docstring)."""

    self_timed = True

    def __init__(self, url: str, timeout_s: float, *, read_only: bool = False) -> None:
        self._conn: Conn | None = None
        self._url = url
        self._timeout_s = timeout_s
        self._read_only = read_only
        self._closed = False
        self._lock = asyncio.Lock()
        self._io: _IoLoop | None = _IoLoop()
        self.schema_version = 0

    def __repr__(self) -> str:
        return f"PostgresBackend(read_only={self._read_only})"

    def _masked(self, exc: BaseException) -> tuple[str, BaseException | None]:
        """``exc``'s text with the URL's password masked, and ``exc`` itself as the cause to
        chain — ``None`` when its own text held the password."""
        raw = str(exc).strip()
        text = mask_text(raw, self._url)
        return text, (exc if text == raw else None)

    async def _connect(self) -> Conn:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, math.ceil(self._timeout_s))
            )
        except (psycopg.Error, ValueError, OSError) as exc:
            text, cause = self._masked(exc)
            raise JournalError(f"cannot connect to the PostgreSQL journal: {text}") from cause
        try:
            await conn.execute("SET synchronous_commit = on")
            # the server gives up on a statement the client no longer waits for
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                (str(max(1, math.ceil(self._timeout_s * 1000))),),
            )
            if self._read_only:
                await conn.execute("SET default_transaction_read_only = on")
        except BaseException:
            await conn.close()
            raise
        return conn

    @classmethod
    async def open(cls, url: str, timeout_s: float, *, read_only: bool = False) -> PostgresBackend:
        """Connect to ``url`` and migrate the schema; or, ``read_only``, check that the database
        is a journal whose schema can be read as it is (nothing written)."""
        backend = cls(url, timeout_s, read_only=read_only)
        try:
            check = backend._inspect if read_only else backend._migrate
            backend.schema_version = await backend._run(check, "open")
        except BaseException:
            await backend.close()
            raise
        return backend

    async def _run(self, fn: Callable[[Conn], Awaitable[T]], what: str) -> T:
        io = self._io
        if io is None:
            raise JournalError("the journal is closed")
        return await io.call(self._bounded(fn, what), self._timeout_s + _BACKSTOP_S)

    async def _bounded(self, fn: Callable[[Conn], Awaitable[T]], what: str) -> T:
        """``fn`` in one transaction, on the I/O loop, bounded by the timeout in real time."""
        try:
            return await asyncio.wait_for(self._locked(fn), self._timeout_s)
        except TimeoutError as exc:
            if isinstance(exc, JournalError):
                raise
            raise JournalTimeoutError(
                f"journal {what} did not complete within {self._timeout_s} s"
            ) from exc

    async def _locked(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        async with self._lock:
            if self._closed:
                raise JournalError("the journal is closed")
            conn = self._conn
            if conn is not None and (
                conn.broken or conn.info.transaction_status != TransactionStatus.IDLE
            ):
                # a call cancelled mid-transaction (timeout) or a lost connection: start afresh
                # (the server rolls back whatever the old connection left uncommitted)
                self._conn = None
                await conn.close()
                conn = None
            if conn is None:
                conn = self._conn = await self._connect()
            try:
                async with conn.transaction():
                    return await fn(conn)
            except psycopg.Error as exc:
                text, cause = self._masked(exc)
                raise JournalError(f"journal storage error: {text}") from cause

    @staticmethod
    async def _migrate(conn: Conn) -> int:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(schema.VERSION_TABLE_POSTGRES)
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        if current > schema.LATEST_VERSION:
            raise JournalSchemaError(schema.newer_error_message(current))
        for step in schema.pending(current):
            for stmt in step.postgres:
                await conn.execute(stmt.encode())
            await conn.execute(
                "INSERT INTO schema_version (version, applied_ns, description) VALUES (%s, %s, %s)",
                (step.version, time.time_ns(), step.description),
            )
        return schema.LATEST_VERSION

    @staticmethod
    async def _inspect(conn: Conn) -> int:
        """The schema version of a journal opened read-only (nothing written).

        Raises:
            JournalSchemaError: Not a journal, or a schema that cannot be read as it is.
        """
        tables = schema.JOURNAL_TABLES
        exists = ", ".join(f"to_regclass('{t}') IS NOT NULL" for t in tables)
        cur = await conn.execute(f"SELECT {exists}".encode())
        row = await cur.fetchone()
        missing = [t for t, ok in zip(tables, row or (), strict=True) if not ok]
        if missing:
            raise JournalSchemaError(schema.not_a_journal_message(missing))
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cur.fetchone()
        found = int(row[0]) if row else 0
        schema.check_readable(found)
        return found

    async def start(
        self, op_id: str, kind: str, legs: str, params: str, event_data: str, ts_ns: int
    ) -> int:
        async def go(conn: Conn) -> int:
            cur = await conn.execute(
                f"INSERT INTO operations ({OP_COLUMNS})"
                " VALUES (%s, %s, 'running', %s, %s, NULL, %s, NULL)"
                " ON CONFLICT (op_id) DO NOTHING",
                (op_id, kind, legs, params, ts_ns),
            )
            if cur.rowcount != 1:
                raise JournalError(f"operation {op_id!r} already exists")
            return await _insert_event(conn, op_id, "start", ts_ns, event_data)

        return await self._run(go, "write")

    async def append(
        self, op_id: str | None, items: list[tuple[str, str]], ts_ns: int
    ) -> list[int]:
        async def go(conn: Conn) -> list[int]:
            if op_id is not None:
                cur = await conn.execute("SELECT 1 FROM operations WHERE op_id = %s", (op_id,))
                if await cur.fetchone() is None:
                    raise JournalError(f"unknown operation {op_id!r}")
            return [await _insert_event(conn, op_id, ev, ts_ns, data) for ev, data in items]

        return await self._run(go, "write")

    async def finish(
        self, op_id: str, status: str, result: str, event_data: str, ts_ns: int
    ) -> int:
        async def go(conn: Conn) -> int:
            cur = await conn.execute(
                "SELECT finished_ns FROM operations WHERE op_id = %s FOR UPDATE", (op_id,)
            )
            row = await cur.fetchone()
            if row is None:
                raise JournalError(f"unknown operation {op_id!r}")
            if row[0] is not None:
                raise JournalError(f"operation {op_id!r} is already finished")
            await conn.execute(
                "UPDATE operations SET status = %s, result = %s, finished_ns = %s WHERE op_id = %s",
                (status, result, ts_ns, op_id),
            )
            return await _insert_event(conn, op_id, "result", ts_ns, event_data)

        return await self._run(go, "write")

    async def operations(self, where: OpFilter) -> list[OpRow]:
        clause, params = where.where("%s")

        async def go(conn: Conn) -> list[OpRow]:
            cur = await conn.execute(
                f"SELECT {OP_COLUMNS} FROM operations{clause} ORDER BY started_ns, op_id".encode(),
                params,
            )
            return [tuple(r) for r in await cur.fetchall()]

        return await self._run(go, "read")

    async def events(self, op_id: str | None, event: str | None) -> list[EventRow]:
        clause, params = events_where(op_id, event, "%s")

        async def go(conn: Conn) -> list[EventRow]:
            cur = await conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events{clause} ORDER BY seq".encode(), params
            )
            return [tuple(r) for r in await cur.fetchall()]

        return await self._run(go, "read")

    async def close(self) -> None:
        io, self._io = self._io, None
        if io is None:
            return
        try:
            await io.call(self._close_connection(), self._timeout_s + _BACKSTOP_S)
        finally:
            await io.stop()

    async def _close_connection(self) -> None:
        self._closed = True
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


async def _insert_event(conn: Conn, op_id: str | None, event: str, ts_ns: int, data: str) -> int:
    cur = await conn.execute(
        "INSERT INTO events (op_id, event, ts_ns, data) VALUES (%s, %s, %s, %s) RETURNING seq",
        (op_id, event, ts_ns, data),
    )
    row = await cur.fetchone()
    if row is None:  # pragma: no cover - RETURNING always yields the row
        raise JournalError("the database returned no sequence id")
    return int(row[0])
