"""``hedgekit report`` only reads: the journal is opened read-only, never created, migrated or
written. Anything that is not a journal it can read is refused with exit 3 and one line, and left
byte for byte as it was; a journal in a read-only location can still be reported."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import pwd
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from hedgekit.cli import EXIT_INPUT, EXIT_OK, main
from hedgekit.journal import (
    LATEST_VERSION,
    JournalError,
    JournalSchemaError,
    open_journal,
)
from hedgekit.journal.schema import MIGRATIONS


def _make_journal(url: str) -> None:
    async def go() -> None:
        async with await open_journal(url) as j:
            legs = [{"venue": "aster", "symbol": "ETHUSDT", "side": "buy", "size": "1"}]
            op = await j.start_operation("open", legs, {})
            result = {"legs": [{"venue": "aster", "symbol": "ETHUSDT", "slippage_bps": 1.5}]}
            await j.finish_operation(op, "opened", result)

    asyncio.run(go())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _report(db: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["report", "--db", db])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _refused(code: int, err: str, *words: str) -> None:
    assert code == EXIT_INPUT, err
    assert err.startswith("hedgekit: error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err


# ----------------------------------------------------------------------------- SQLite


def _customers(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()


def _sqlite_script(path: Path, statements: list[str]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for s in statements:
            conn.execute(s)
    conn.close()


def _newer_journal(path: Path) -> None:
    _make_journal(str(path))
    _sqlite_script(path, [f"INSERT INTO schema_version VALUES ({LATEST_VERSION + 1}, 1, 'future')"])


MAKERS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "an empty file": (lambda p: p.write_bytes(b""), ("not a hedgekit journal",)),
    "another application's database": (_customers, ("not a hedgekit journal", "schema_version")),
    "not a database at all": (
        lambda p: p.write_bytes(b"this is not a database\n" * 300),
        ("not a hedgekit journal",),
    ),
    "a journal from a newer hedgekit": (_newer_journal, ("newer", "upgrade hedgekit")),
}


@pytest.mark.parametrize("what", list(MAKERS))
def test_what_is_not_a_readable_journal_is_refused_and_left_unchanged(
    what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, words = MAKERS[what]
    path = tmp_path / "x.db"
    make(path)
    before, listing = _digest(path), sorted(os.listdir(tmp_path))
    for db in (str(path), f"sqlite:///{path}"):
        code, _, err = _report(db, capsys)
        _refused(code, err, *words)
    with pytest.raises(JournalSchemaError, match=words[0]):
        asyncio.run(open_journal(str(path), read_only=True))
    assert _digest(path) == before
    if what != "a journal from a newer hedgekit":  # not WAL: SQLite creates no side file either
        assert sorted(os.listdir(tmp_path)) == listing


def test_a_missing_file_is_refused_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _report(str(tmp_path / "none.db"), capsys)
    _refused(code, err, "no such journal file")
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(JournalError, match="no such journal file"):
        asyncio.run(open_journal(str(tmp_path / "none.db"), read_only=True))
    assert not (tmp_path / "none.db").exists()


def test_a_journal_is_reported_without_being_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "j.db"
    _make_journal(str(path))
    before = _digest(path)
    code, out, err = _report(str(path), capsys)
    assert code == EXIT_OK, err
    assert "aster" in out
    assert _digest(path) == before


def test_an_older_schema_is_read_as_it_is_not_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "v1.db"
    v1 = MIGRATIONS[0]
    _sqlite_script(
        path,
        [
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL,"
            " description TEXT NOT NULL)",
            *v1.sqlite,
            "INSERT INTO schema_version VALUES (1, 1, 'operations and events')",
            "INSERT INTO operations VALUES ('old', 'open', 'opened', '[]', '{}',"
            ' \'{"legs": [{"venue": "aster", "symbol": "ETHUSDT"}]}\', 5, 6)',
        ],
    )
    before = _digest(path)
    code, out, err = _report(str(path), capsys)
    assert code == EXIT_OK, err
    assert "aster" in out
    assert _digest(path) == before

    async def version() -> int:
        async with await open_journal(str(path), read_only=True) as j:
            assert j.read_only and "read_only=True" in repr(j)
            return j.schema_version

    assert asyncio.run(version()) == 1
    assert _digest(path) == before


def test_a_read_only_journal_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _make_journal(str(path))
    before = _digest(path)

    async def go() -> None:
        async with await open_journal(str(path), read_only=True) as j:
            assert j.schema_version == LATEST_VERSION
            assert len(await j.operations()) == 1
            with pytest.raises(JournalError, match="read-only"):
                await j.record(None, "note", {})
            with pytest.raises(JournalError, match="read-only"):
                await j.start_operation("open", [], {})
            (op,) = await j.operations()
            with pytest.raises(JournalError, match="read-only"):
                await j.finish_operation(op.op_id, "closed", {})

    asyncio.run(go())
    assert _digest(path) == before


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user can reach (``tmp_path`` is private to the test's user)."""
    root = Path(tempfile.mkdtemp(prefix="hedgekit-ro-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(root)


def _run_as_nobody(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` in a forked child that dropped root for ``nobody``: (exit code, stderr)."""
    # imported now: the child may no longer read the interpreter's files
    import hedgekit.journal._sqlite  # noqa: F401
    import hedgekit.journal.stats  # noqa: F401

    user = pwd.getpwnam("nobody")
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        err = io.StringIO()
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            sys.stdout, sys.stderr = io.StringIO(), err
            code = main(argv)
        except BaseException as exc:  # noqa: BLE001
            err.write(f"child failed: {exc!r}")
        finally:
            os.write(wfd, err.getvalue().encode())
            os._exit(code)
    os.close(wfd)
    chunks = []
    while chunk := os.read(rfd, 65536):
        chunks.append(chunk)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()


def test_a_journal_in_a_read_only_location_can_be_reported(
    shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = shared_dir / "ro"
    where.mkdir()
    path = where / "journal.sqlite3"
    _make_journal(str(path))
    assert sorted(os.listdir(where)) == ["journal.sqlite3"]  # closed cleanly: no -wal, no -shm
    before = _digest(path)
    path.chmod(0o444)
    where.chmod(0o555)
    if os.geteuid() != 0:
        code, out, err = _report(str(path), capsys)
        assert code == EXIT_OK, err
        assert "aster" in out
    else:
        # root ignores permissions: report as `nobody`, for whom the location is read-only
        code, err = _run_as_nobody(["report", "--db", str(path)])
        if code == 99 and "PermissionError" in err:
            pytest.skip(f"cannot drop root privileges here to test a read-only location: {err}")
        assert code == EXIT_OK, err
    assert _digest(path) == before
    assert sorted(os.listdir(where)) == ["journal.sqlite3"]


# ------------------------------------------------------------------------- PostgreSQL


def _pg_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    return [r[0] for r in rows]


def test_postgres_database_that_is_not_a_journal_is_refused_and_left_empty(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _report(pg_url, capsys)
    _refused(code, err, "not a hedgekit journal")
    assert _pg_tables(pg_url) == []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    code, _, err = _report(pg_url, capsys)
    _refused(code, err, "not a hedgekit journal")
    assert _pg_tables(pg_url) == ["customers"]


def test_postgres_journal_is_reported_read_only_and_not_migrated(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ns BIGINT NOT NULL,"
            " description TEXT NOT NULL)"
        )
        for s in MIGRATIONS[0].postgres:
            conn.execute(s.encode())
        conn.execute("INSERT INTO schema_version VALUES (1, 1, 'operations and events')")
        conn.execute(
            "INSERT INTO operations VALUES ('old', 'open', 'opened', '[]', '{}',"
            ' \'{"legs": [{"venue": "aster", "symbol": "ETHUSDT"}]}\', 5, 6)'
        )
    code, out, err = _report(pg_url, capsys)
    assert code == EXIT_OK, err
    assert "aster" in out

    async def go() -> None:
        async with await open_journal(pg_url, read_only=True) as j:
            assert j.schema_version == 1
            with pytest.raises(JournalError, match="read-only"):
                await j.record(None, "note", {})
            # the session itself refuses writes, whatever the front end does
            with pytest.raises(JournalError, match="read-only"):
                await j._backend.append(None, [("note", "{}")], 1)

    asyncio.run(go())
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)
    # a newer schema is refused
    with psycopg.connect(pg_url) as conn:
        conn.execute(f"INSERT INTO schema_version VALUES ({LATEST_VERSION + 1}, 1, 'future')")
    code, _, err = _report(pg_url, capsys)
    _refused(code, err, "newer")
