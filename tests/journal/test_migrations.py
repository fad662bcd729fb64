"""Schema versions: a v1 database made by hand is migrated; a newer one is refused."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from hedgekit.journal import LATEST_VERSION, JournalError, JournalSchemaError, open_journal
from hedgekit.journal.schema import MIGRATIONS

V1 = {
    "sqlite": [
        (
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL,"
            " description TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE operations (op_id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,"
            " legs TEXT NOT NULL, params TEXT NOT NULL, result TEXT, started_ns INTEGER NOT NULL,"
            " finished_ns INTEGER)"
        ),
        (
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT,"
            " event TEXT NOT NULL, ts_ns INTEGER NOT NULL, data TEXT NOT NULL)"
        ),
    ],
    "postgresql": [
        (
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ns BIGINT NOT NULL,"
            " description TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE operations (op_id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,"
            " legs TEXT NOT NULL, params TEXT NOT NULL, result TEXT, started_ns BIGINT NOT NULL,"
            " finished_ns BIGINT)"
        ),
        (
            "CREATE TABLE events (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, op_id TEXT,"
            " event TEXT NOT NULL, ts_ns BIGINT NOT NULL, data TEXT NOT NULL)"
        ),
    ],
}
V1_DATA = [
    "INSERT INTO schema_version VALUES (1, 1, 'operations and events')",
    (
        "INSERT INTO operations VALUES ('old', 'open', 'running', '[{\"venue\":\"aster\"}]', '{}',"
        " NULL, 5, NULL)"
    ),
    (
        "INSERT INTO events (op_id, event, ts_ns, data)"
        " VALUES ('old', 'start', 5, '{\"kind\":\"open\"}')"
    ),
    "INSERT INTO events (op_id, event, ts_ns, data) VALUES ('old', 'order', 6, '{\"p\":\"1.10\"}')",
]

Exec = Callable[[list[str]], list[tuple[object, ...]]]


@pytest.fixture
def sql(backend: str, journal_url: str) -> Exec:
    """Run statements directly on the journal's database (one transaction); the last
    statement's rows."""

    def go(statements: list[str]) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        if backend == "sqlite":
            conn = sqlite3.connect(journal_url)
            try:
                with conn:
                    for s in statements:
                        rows = conn.execute(s).fetchall()
            finally:
                conn.close()
        else:
            with psycopg.connect(journal_url) as pconn:
                for s in statements:
                    cur = pconn.execute(s.encode())
                    rows = cur.fetchall() if cur.description else []
        return rows

    return go


def test_migrations_are_ordered_and_contiguous() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert all(len(m.sqlite) and len(m.postgres) for m in MIGRATIONS)


def test_a_new_database_gets_every_step(journal_url: str, sql: Exec) -> None:
    async def main() -> int:
        async with await open_journal(journal_url) as j:
            return j.schema_version

    assert asyncio.run(main()) == LATEST_VERSION
    rows = sql(["SELECT version FROM schema_version ORDER BY version"])
    assert [r[0] for r in rows] == list(range(1, LATEST_VERSION + 1))
    assert asyncio.run(main()) == LATEST_VERSION  # reopening applies nothing again
    assert len(sql(["SELECT version FROM schema_version"])) == LATEST_VERSION


def test_v1_database_is_migrated_to_latest(backend: str, journal_url: str, sql: Exec) -> None:
    sql(V1[backend] + V1_DATA)

    async def main() -> None:
        async with await open_journal(journal_url) as j:
            assert j.schema_version == LATEST_VERSION
            (old,) = await j.unfinished()
            assert old.op_id == "old" and old.legs == [{"venue": "aster"}]
            assert [(e.event, e.data) for e in await j.events("old")] == [
                ("start", {"kind": "open"}),
                ("order", {"p": "1.10"}),
            ]
            seq = await j.record("old", "note", {"after": "migration"})
            assert seq > 2
            await j.finish_operation("old", "opened", {})

    asyncio.run(main())
    rows = sql(["SELECT version, description FROM schema_version ORDER BY version"])
    assert [r[0] for r in rows] == list(range(1, LATEST_VERSION + 1))
    # version 2: the database itself refuses changes to events
    with pytest.raises(Exception, match="append-only"):
        sql(["DELETE FROM events"])
    assert len(sql(["SELECT seq FROM events"])) == 4  # start, order, note, result


def test_a_newer_schema_is_refused(journal_url: str, sql: Exec) -> None:
    async def create() -> None:
        async with await open_journal(journal_url):
            pass

    asyncio.run(create())
    sql([f"INSERT INTO schema_version VALUES ({LATEST_VERSION + 7}, 1, 'from the future')"])
    with pytest.raises(JournalSchemaError, match=rf"version {LATEST_VERSION + 7}, newer") as info:
        asyncio.run(create())
    assert isinstance(info.value, JournalError)
    assert "upgrade hedgekit" in str(info.value)


def test_a_failing_migration_leaves_the_database_as_it_was(
    backend: str, journal_url: str, sql: Exec
) -> None:
    # a v1 database where version 2's first index already exists under the same name but a
    # different table: step 2 fails half way and must be rolled back as a whole
    sql(
        V1[backend]
        + V1_DATA
        + ["CREATE TABLE other (x INTEGER)", "CREATE INDEX events_event_seq ON other (x)"]
    )

    async def main() -> None:
        async with await open_journal(journal_url):
            pass

    with pytest.raises(JournalError, match="events_event_seq"):
        asyncio.run(main())
    assert [r[0] for r in sql(["SELECT version FROM schema_version"])] == [1]
    if backend == "sqlite":
        idx = sql(["SELECT name FROM sqlite_master WHERE name = 'events_op_seq'"])
    else:
        idx = sql(["SELECT indexname FROM pg_indexes WHERE indexname = 'events_op_seq'"])
    assert idx == []


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError):
        asyncio.run(open_journal(str(bad)))
