"""PostgreSQL storage through psycopg 3's asynchronous connection.

One connection per journal, in autocommit mode, every call one explicit transaction; an
``asyncio.Lock`` keeps calls in the order they were made. ``synchronous_commit`` is forced ``on``
for the session, so a committed record survives a server crash.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

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
from hedgekit.journal.errors import JournalError, JournalSchemaError

__all__ = ["PostgresBackend"]

T = TypeVar("T")
_MIGRATION_LOCK = 0x6865_6467_656A  # pg_advisory_xact_lock key: one migrator at a time
Conn = psycopg.AsyncConnection[Any]


class PostgresBackend(Backend):
    """The journal in a PostgreSQL database (see the module docstring)."""

    def __init__(self, conn: Conn, url: str, timeout_s: float) -> None:
        self._conn: Conn | None = conn
        self._url = url
        self._timeout_s = timeout_s
        self._closed = False
        self._lock = asyncio.Lock()
        self.schema_version = 0

    @staticmethod
    async def _connect(url: str, timeout_s: float) -> Conn:
        try:
            conn = await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=max(1, math.ceil(timeout_s))
            )
        except psycopg.Error as exc:
            raise JournalError(f"cannot connect to the PostgreSQL journal: {exc}") from exc
        try:
            await conn.execute("SET synchronous_commit = on")
            # the server gives up on a statement the client no longer waits for
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                (str(max(1, math.ceil(timeout_s * 1000))),),
            )
        except BaseException:
            await conn.close()
            raise
        return conn

    @classmethod
    async def open(cls, url: str, timeout_s: float) -> PostgresBackend:
        """Connect to ``url`` and migrate the schema."""
        backend = cls(await cls._connect(url, timeout_s), url, timeout_s)
        try:
            backend.schema_version = await backend._run(backend._migrate)
        except BaseException:
            await backend.close()
            raise
        return backend

    async def _run(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
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
                conn = self._conn = await self._connect(self._url, self._timeout_s)
            try:
                async with conn.transaction():
                    return await fn(conn)
            except psycopg.Error as exc:
                raise JournalError(f"journal storage error: {exc}") from exc

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

        return await self._run(go)

    async def append(
        self, op_id: str | None, items: list[tuple[str, str]], ts_ns: int
    ) -> list[int]:
        async def go(conn: Conn) -> list[int]:
            if op_id is not None:
                cur = await conn.execute("SELECT 1 FROM operations WHERE op_id = %s", (op_id,))
                if await cur.fetchone() is None:
                    raise JournalError(f"unknown operation {op_id!r}")
            return [await _insert_event(conn, op_id, ev, ts_ns, data) for ev, data in items]

        return await self._run(go)

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

        return await self._run(go)

    async def operations(self, where: OpFilter) -> list[OpRow]:
        clause, params = where.where("%s")

        async def go(conn: Conn) -> list[OpRow]:
            cur = await conn.execute(
                f"SELECT {OP_COLUMNS} FROM operations{clause} ORDER BY started_ns, op_id".encode(),
                params,
            )
            return [tuple(r) for r in await cur.fetchall()]

        return await self._run(go)

    async def events(self, op_id: str | None, event: str | None) -> list[EventRow]:
        clause, params = events_where(op_id, event, "%s")

        async def go(conn: Conn) -> list[EventRow]:
            cur = await conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events{clause} ORDER BY seq".encode(), params
            )
            return [tuple(r) for r in await cur.fetchall()]

        return await self._run(go)

    async def close(self) -> None:
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
