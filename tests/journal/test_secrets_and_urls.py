"""Secrets never reach the journal's storage; URLs, timeouts and SQLite specifics."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from hedgekit.journal import (
    DEFAULT_SQLITE_FILE,
    JournalError,
    open_journal,
)
from hedgekit.secrets import MASK, Secret

RAW = "sk-live-abc123xyz"
SECRET = Secret(RAW)


async def _write_secrets(url: str) -> str:
    async with await open_journal(url) as j:
        op = await j.start_operation(
            "open",
            [{"venue": "aster", "api_key": SECRET, "note": f"key={RAW}"}],
            {"auth": f"Bearer {RAW}", "secret": SECRET, RAW: "as a key"},
        )
        await j.record(op, "order", {"headers": {"X-API-KEY": RAW}, "sig": [SECRET, (RAW,)]})
        await j.record_many(
            op,
            [("note", {"text": f"error: invalid key '{RAW}'"}), ("incident", {"detail": SECRET})],
        )
        await j.record(None, "note", {"k": RAW})
        await j.finish_operation(op, "opened", {"echo": f"{RAW}{RAW}", "s": SECRET})
        # what comes back is masked too
        for e in await j.events():
            assert RAW not in str(e.data)
        start = (await j.events(op))[0]
        assert start.data["legs"][0]["api_key"] == MASK
        assert start.data["params"]["auth"] == f"Bearer {MASK}"
        return op


def test_secrets_never_reach_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    asyncio.run(_write_secrets(str(db)))
    files = [p for p in tmp_path.iterdir() if p.name.startswith("j.db")]
    assert db in files
    for p in files:
        assert RAW.encode() not in p.read_bytes(), p
    assert MASK.encode() in db.read_bytes()


def test_secrets_never_reach_postgresql(pg_url: str) -> None:
    asyncio.run(_write_secrets(pg_url))
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT op_id || kind || status || legs || params || COALESCE(result, '') "
            "FROM operations UNION ALL SELECT COALESCE(op_id, '') || event || data FROM events"
        ).fetchall()
    assert len(rows) == 7
    for (text,) in rows:
        assert RAW not in text


def test_default_url_is_a_file_in_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def main() -> str:
        async with await open_journal() as j:
            await j.record(None, "note", {})
            return j.url

    url = asyncio.run(main())
    assert (tmp_path / DEFAULT_SQLITE_FILE).exists()
    assert url.endswith(DEFAULT_SQLITE_FILE)


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()

    async def main() -> None:
        async with await open_journal("sqlite:///sub/rel.db") as j:
            assert j.url == "sqlite:///sub/rel.db"
        async with await open_journal(f"sqlite:///{tmp_path}/abs.db"):
            pass
        async with await open_journal("sqlite://") as j:  # in memory
            await j.record(None, "note", {"x": 1})
            assert len(await j.events()) == 1

    asyncio.run(main())
    assert (tmp_path / "sub" / "rel.db").exists()
    assert (tmp_path / "abs.db").exists()


def test_sqlite_is_wal_with_full_sync(tmp_path: Path) -> None:
    db = tmp_path / "j.db"

    async def main() -> None:
        async with await open_journal(str(db)) as j:
            await j.record(None, "note", {})
            backend = j._backend
            conn = backend._conn  # type: ignore[attr-defined]
            loop = asyncio.get_running_loop()
            mode, sync = await loop.run_in_executor(
                backend._executor,  # type: ignore[attr-defined]
                lambda: (
                    conn.execute("PRAGMA journal_mode").fetchone()[0],
                    conn.execute("PRAGMA synchronous").fetchone()[0],
                ),
            )
            assert mode == "wal"
            assert sync == 2  # FULL

    asyncio.run(main())


def test_events_are_append_only_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "j.db"

    async def main() -> None:
        async with await open_journal(str(db)) as j:
            await j.record(None, "note", {"x": 1})

    asyncio.run(main())
    conn = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET data = '{}'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events")
    finally:
        conn.close()


def test_postgres_events_are_append_only(pg_url: str) -> None:
    async def main() -> None:
        async with await open_journal(pg_url) as j:
            await j.record(None, "note", {"x": 1})

    asyncio.run(main())
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE events SET data = '{}'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM events")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(JournalError, match="unknown journal URL scheme 'mysql'"):
        asyncio.run(open_journal("mysql://u:hunter22@h/db"))
    with pytest.raises(JournalError, match=r"\*\*\*") as info:
        asyncio.run(open_journal("redis://u:hunter22@h/db"))
    assert "hunter22" not in str(info.value)
    with pytest.raises(JournalError, match="malformed SQLite"):
        asyncio.run(open_journal("sqlite:relative.db"))


def test_postgres_password_is_masked_and_connection_errors_are_clear() -> None:
    with pytest.raises(JournalError, match="cannot connect") as info:
        asyncio.run(open_journal("postgresql://u:hunter22@127.0.0.1:1/db", timeout_s=3))
    assert "hunter22" not in str(info.value)


def test_postgres_url_repr_masks_password(pg_server: object, pg_url: str) -> None:
    # the test server trusts every login, so a password is accepted and ignored
    url = pg_url.replace("postgres@", "postgres:hunter22@")

    async def main() -> str:
        async with await open_journal(url) as j:
            return f"{j!r} {j} {j.url}"

    text = asyncio.run(main())
    assert "hunter22" not in text
    assert "postgres:***@127.0.0.1" in text


def test_bad_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        asyncio.run(open_journal(":memory:", timeout_s=0))
