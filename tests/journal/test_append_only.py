"""The database itself keeps the journal append-only: every statement that could change or
remove a row (UPDATE, DELETE, REPLACE / INSERT OR REPLACE / UPDATE OR REPLACE, INSERT ... ON
CONFLICT DO UPDATE, TRUNCATE) is refused, and the rows are unchanged afterwards. The only change
allowed is the finish of a running operation, once. Journals of an older schema get the
protection when they are opened."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import psycopg
import pytest

from hedgekit.journal import LATEST_VERSION, open_journal
from hedgekit.journal.schema import MIGRATIONS

EV = "events (seq, op_id, event, ts_ns, data)"
OP = "operations (op_id, kind, status, legs, params, result, started_ns, finished_ns)"
NEW_OP = "'open', 'running', '[]', '{}', NULL, 1, NULL"

SQLITE_ATTEMPTS = [
    "UPDATE events SET data = '{}'",
    "DELETE FROM events",
    "DELETE FROM events WHERE seq = 1",
    f"REPLACE INTO {EV} VALUES (1, NULL, 'note', 0, '{{}}')",
    f"INSERT OR REPLACE INTO {EV} VALUES (2, NULL, 'note', 0, '{{}}')",
    f"INSERT INTO {EV} VALUES (1, NULL, 'note', 0, '{{}}')"
    " ON CONFLICT (seq) DO UPDATE SET data = excluded.data",
    "UPDATE OR REPLACE events SET seq = 1 WHERE seq = 2",
    "DELETE FROM operations",
    "DELETE FROM operations WHERE op_id = 'running'",
    f"REPLACE INTO {OP} VALUES ('done', {NEW_OP})",
    f"INSERT OR REPLACE INTO {OP} VALUES ('running', {NEW_OP})",
    # a new op_id whose rowid is the finished operation's: REPLACE would delete that row
    "REPLACE INTO operations (rowid, op_id, kind, status, legs, params, started_ns)"
    " VALUES ((SELECT rowid FROM operations WHERE op_id = 'done'),"
    " 'new', 'open', 'running', '[]', '{}', 1)",
    f"INSERT INTO {OP} VALUES ('done', {NEW_OP}) ON CONFLICT (op_id) DO UPDATE SET status = 'x'",
    "UPDATE operations SET status = 'rolled_back' WHERE op_id = 'done'",
    "UPDATE operations SET status = 'running', result = NULL, finished_ns = NULL"
    " WHERE op_id = 'done'",
    "UPDATE operations SET status = 'opened' WHERE op_id = 'running'",
    "UPDATE operations SET kind = 'close' WHERE op_id = 'running'",
    "UPDATE operations SET legs = '[]', status = 'opened', result = '{}', finished_ns = 9"
    " WHERE op_id = 'running'",
    "UPDATE operations SET op_id = 'other' WHERE op_id = 'running'",
    # finishing the running operation while taking over the finished one's rowid
    "UPDATE OR REPLACE operations"
    " SET rowid = (SELECT rowid FROM operations WHERE op_id = 'done'),"
    " status = 'opened', result = '{}', finished_ns = 9 WHERE op_id = 'running'",
]
POSTGRES_ATTEMPTS = [
    "UPDATE events SET data = '{}'",
    "DELETE FROM events",
    "TRUNCATE events",
    "TRUNCATE operations",
    "TRUNCATE events, operations",
    f"INSERT INTO {EV} OVERRIDING SYSTEM VALUE VALUES (1, NULL, 'note', 0, '{{}}')"
    " ON CONFLICT (seq) DO UPDATE SET data = excluded.data",
    "DELETE FROM operations",
    f"INSERT INTO {OP} VALUES ('done', {NEW_OP}) ON CONFLICT (op_id) DO UPDATE SET status = 'x'",
    f"INSERT INTO {OP} VALUES ('running', {NEW_OP})"
    " ON CONFLICT (op_id) DO UPDATE SET legs = excluded.legs, finished_ns = 9",
    "UPDATE operations SET status = 'rolled_back' WHERE op_id = 'done'",
    "UPDATE operations SET status = 'running', result = NULL, finished_ns = NULL"
    " WHERE op_id = 'done'",
    "UPDATE operations SET status = 'opened' WHERE op_id = 'running'",
    "UPDATE operations SET kind = 'close' WHERE op_id = 'running'",
    "UPDATE operations SET legs = '[]', status = 'opened', result = '{}', finished_ns = 9"
    " WHERE op_id = 'running'",
    "UPDATE operations SET op_id = 'other' WHERE op_id = 'running'",
]


def _fill(url: str) -> None:
    async def main() -> None:
        async with await open_journal(url) as j:
            await j.start_operation("open", [{"venue": "a"}], {}, op_id="done")
            await j.record("done", "fill", {"size": "1"})
            await j.finish_operation("done", "opened", {"ok": True})
            await j.start_operation("open", [{"venue": "b"}], {}, op_id="running")
            await j.record("running", "order", {"n": 1})
            await j.record(None, "note", {"free": True})

    asyncio.run(main())


def _snapshot(backend: str, url: str) -> tuple[list[Any], list[Any]]:
    if backend == "sqlite":
        conn = sqlite3.connect(url)
        try:
            ops = conn.execute("SELECT rowid, * FROM operations ORDER BY rowid").fetchall()
            evs = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
        finally:
            conn.close()
        return ops, evs
    with psycopg.connect(url) as pconn:
        ops = pconn.execute("SELECT * FROM operations ORDER BY op_id").fetchall()
        evs = pconn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    return ops, evs


def _attempt(backend: str, url: str, statement: str) -> None:
    """Run ``statement`` on its own connection, autocommit; it must be refused."""
    if backend == "sqlite":
        conn = sqlite3.connect(url, isolation_level=None)
        try:
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
        finally:
            conn.close()
        return
    with psycopg.connect(url, autocommit=True) as pconn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            pconn.execute(statement.encode())


@pytest.mark.parametrize("n", range(len(SQLITE_ATTEMPTS)), ids=lambda n: SQLITE_ATTEMPTS[n][:60])
def test_sqlite_refuses_every_change(tmp_path: Any, n: int) -> None:
    url = str(tmp_path / "j.db")
    _fill(url)
    before = _snapshot("sqlite", url)
    assert len(before[0]) == 2 and len(before[1]) == 6
    _attempt("sqlite", url, SQLITE_ATTEMPTS[n])
    assert _snapshot("sqlite", url) == before


@pytest.mark.parametrize(
    "n", range(len(POSTGRES_ATTEMPTS)), ids=lambda n: POSTGRES_ATTEMPTS[n][:60]
)
def test_postgres_refuses_every_change(pg_url: str, n: int) -> None:
    _fill(pg_url)
    before = _snapshot("postgresql", pg_url)
    assert len(before[0]) == 2 and len(before[1]) == 6
    _attempt("postgresql", pg_url, POSTGRES_ATTEMPTS[n])
    assert _snapshot("postgresql", pg_url) == before


def test_finishing_a_running_operation_is_the_one_change_allowed(journal_url: str) -> None:
    _fill(journal_url)

    async def main() -> None:
        async with await open_journal(journal_url) as j:
            await j.finish_operation("running", "opened", {"late": 1})
            op = await j.operation("running")
            assert op is not None and op.finished and op.result == {"late": 1}
            assert op.legs == [{"venue": "b"}]

    asyncio.run(main())


def _v2_statements(backend: str) -> list[str]:
    out: list[str] = []
    table = "INTEGER" if backend == "sqlite" else "BIGINT"
    out.append(
        f"CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ns {table} NOT NULL,"
        " description TEXT NOT NULL)"
    )
    for m in MIGRATIONS[:2]:
        out += list(m.sqlite if backend == "sqlite" else m.postgres)
        out.append(f"INSERT INTO schema_version VALUES ({m.version}, 1, 'by hand')")
    return out


def test_an_existing_v2_journal_gets_the_protection_when_opened(
    backend: str, journal_url: str
) -> None:
    if backend == "sqlite":
        conn = sqlite3.connect(journal_url)
        with conn:
            for s in _v2_statements(backend):
                conn.execute(s)
        conn.close()
    else:
        with psycopg.connect(journal_url) as pconn:
            for s in _v2_statements(backend):
                pconn.execute(s.encode())
    _fill(journal_url)  # opens it: migrated to the latest version

    async def version() -> int:
        async with await open_journal(journal_url) as j:
            return j.schema_version

    assert asyncio.run(version()) == LATEST_VERSION
    before = _snapshot(backend, journal_url)
    if backend == "sqlite":
        _attempt(backend, journal_url, f"REPLACE INTO {EV} VALUES (1, NULL, 'note', 0, '{{}}')")
        _attempt(backend, journal_url, f"REPLACE INTO {OP} VALUES ('done', {NEW_OP})")
    else:
        _attempt(backend, journal_url, "TRUNCATE events")
        _attempt(backend, journal_url, "DELETE FROM operations")
    assert _snapshot(backend, journal_url) == before
