"""A PostgreSQL journal on the virtual clock: its I/O and its timeouts run in real time, and
virtual time stands still while the database works (``hedgekit demo --journal postgresql://``)."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import psycopg
import pytest

from hedgekit.cli import EXIT_OK, main
from hedgekit.clock import run_virtual
from hedgekit.journal import JournalError, JournalTimeoutError, open_journal

pytestmark = pytest.mark.timeout(180)


def _demo(argv: list[str]) -> tuple[int, str, str]:
    cap_out, cap_err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cap_out, cap_err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = old
    return code, cap_out.getvalue(), cap_err.getvalue()


def _operations_table(out: str) -> list[str]:
    return out.split("Operations\n", 1)[1].split("\n\n", 1)[0].splitlines()


def test_demo_with_a_postgres_journal_finishes_and_journals_every_operation(
    pg_url: str, tmp_path: Path
) -> None:
    argv = ["demo", "--seed", "3", "--duration", "10", "--no-progress"]
    code, out, err = _demo([*argv, "--out", str(tmp_path / "pg"), "--journal", pg_url])
    assert code == EXIT_OK, err
    assert "journal open did not complete" not in err
    with psycopg.connect(pg_url) as conn:
        ops = conn.execute("SELECT kind, status FROM operations ORDER BY started_ns").fetchall()
        kinds = {r[0] for r in conn.execute("SELECT DISTINCT event FROM events").fetchall()}
    assert ops == [("open", "opened"), ("close", "closed")]
    assert {"start", "order", "fill", "result"} <= kinds
    # the journal does not change the run: the same operations as with the SQLite journal
    code, sqlite_out, err = _demo([*argv, "--out", str(tmp_path / "sqlite")])
    assert code == EXIT_OK, err
    assert _operations_table(out) == _operations_table(sqlite_out)


def test_journal_io_does_not_move_virtual_time(pg_url: str) -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with await open_journal(pg_url) as j:
            op = await j.start_operation("open", [{"venue": "a"}], {})
            await asyncio.gather(*(j.record(op, "fill", {"n": n}) for n in range(20)))
            await j.finish_operation(op, "opened", {})
            assert len(await j.events(op)) == 22
        return loop.time() - t0

    assert run_virtual(main()) == 0.0


def test_a_blocked_call_times_out_in_real_time_on_a_virtual_loop(pg_url: str) -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        async with await open_journal(pg_url, timeout_s=0.5) as j:
            await j.record(None, "note", {"before": True})
            blocker = psycopg.connect(pg_url)
            blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            try:
                t0, v0 = time.monotonic(), loop.time()
                with pytest.raises(JournalError) as info:
                    await j.record(None, "note", {"blocked": True})
                real, virtual = time.monotonic() - t0, loop.time() - v0
                assert isinstance(info.value, JournalTimeoutError) or "timeout" in str(info.value)
            finally:
                blocker.rollback()
                blocker.close()
            await j.record(None, "note", {"after": True})
            assert [e.data for e in await j.events()] == [{"before": True}, {"after": True}]
        return real, virtual

    real, virtual = run_virtual(main())
    assert 0.4 <= real < 3.0  # the timeout ran on the real clock, not at once
    assert virtual == 0.0
