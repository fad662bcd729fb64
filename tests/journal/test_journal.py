"""Behaviour of the journal, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import orjson
import pytest

from hedgekit.execution.results import AtomicResult, Incident, LegResult, OpenStatus, Rollback
from hedgekit.journal import (
    EVENT_KINDS,
    LATEST_VERSION,
    EventRecord,
    Journal,
    JournalError,
    OperationRecord,
    open_journal,
)
from hedgekit.model import Fill, Liquidity, Side

T = TypeVar("T")


def run(url: str, body: Callable[[Journal], Awaitable[T]]) -> T:
    async def main() -> T:
        async with await open_journal(url) as journal:
            return await body(journal)

    return asyncio.run(main())


LEGS = [
    {"venue": "hyperliquid", "symbol": "BTC", "side": "buy", "size": Decimal("0.015")},
    {"venue": "aster", "symbol": "BTCUSDT", "side": "sell", "size": Decimal("0.015")},
]
PARAMS = {"mode": "aggressive_limit", "deadline_s": 30, "max_slippage_bps": Decimal("7.5")}


def _atomic_result() -> AtomicResult:
    fill = Fill(
        venue="hyperliquid",
        symbol="BTC",
        client_id="c1",
        venue_order_id="v1",
        trade_id=42,
        side=Side.BUY,
        price=Decimal("64000.5"),
        size=Decimal("0.015"),
        fee=Decimal("0.0144"),
        liquidity=Liquidity.MAKER,
        ts_ns=1_700_000_000_000_000_123,
    )
    leg = LegResult(
        venue="hyperliquid",
        symbol="BTC",
        side=Side.BUY,
        target=Decimal("0.015"),
        filled=Decimal("0.015"),
        net=Decimal("0.015"),
        avg_price=Decimal("64000.5"),
        fees=Decimal("0.0144"),
        maker_size=Decimal("0.015"),
        arrival_mid=Decimal(64000),
        fills=(fill,),
    )
    return AtomicResult(
        status=OpenStatus.OPENED,
        reason=None,
        requested=Decimal("0.015"),
        size=Decimal("0.015"),
        legs=(leg,),
        hedge_latency_ns=12_345_678,
        exposure_usd_s=1.25,
        max_exposure_usd=960.0,
        dust={"aster": Decimal("0.0001")},
        rollback=Rollback(flattened={"aster": Decimal(0)}, cost=Decimal("0.10"), complete=True),
        incidents=(Incident(ts_ns=5, kind="hedge", venue="aster", detail="hedged 0.015"),),
    )


def test_every_event_type_round_trips(journal_url: str) -> None:
    payloads: dict[str, dict[str, Any]] = {
        "order": {
            "client_id": "c1",
            "venue": "aster",
            "side": Side.BUY,
            "size": Decimal("1.5"),
            "price": Decimal("100.25"),
            "tif": "post_only",
            "reduce_only": False,
        },
        "ack": {"client_id": "c1", "venue_order_id": "v-9", "status": "open", "filled": Decimal(0)},
        "reject": {"client_id": "c2", "reason": "post-only would cross"},
        "fill": {
            "trade_id": 7,
            "price": Decimal("100.25"),
            "size": Decimal("0.5"),
            "fee": Decimal("-0.0001"),
            "liquidity": Liquidity.MAKER,
        },
        "cancel": {"client_id": "c1"},
        "cancel_answer": {"client_id": "c1", "answer": "already_filled"},
        "status": {"client_id": "c1", "status": "filled", "filled": Decimal("1.5")},
        "incident": Incident(ts_ns=9, kind="hedge", venue="aster", detail="x").to_dict(),
        "markout": {
            "venue": "aster",
            "symbol": "BTC",
            "side": "buy",
            "fill_price": "100",
            "placement_mid": "100",
            "horizon_s": 0.5,
            "mid": "100.01",
        },
        "funding": {
            "venue": "aster",
            "symbol": "BTC",
            "amount": Decimal("-0.24003"),
            "rate": Decimal("0.0001"),
            "position_size": Decimal(1),
            "price": Decimal("2400.3"),
        },
        "note": {"text": "hello", "nested": {"list": [1, 2.5, None, True], "t": (1, 2)}},
    }
    assert set(payloads) == EVENT_KINDS

    async def body(j: Journal) -> tuple[str, list[EventRecord], OperationRecord | None]:
        op = await j.start_operation("open", LEGS, PARAMS, ts_ns=1000)
        for i, (event, data) in enumerate(payloads.items()):
            await j.record(op, event, data, ts_ns=2000 + i)
        await j.finish_operation(op, "opened", _atomic_result().to_dict(), ts_ns=9000)
        return op, await j.events(op), await j.operation(op)

    op, events, record = run(journal_url, body)
    assert [e.event for e in events] == ["start", *payloads, "result"]
    assert all(e.op_id == op for e in events)
    assert [e.ts_ns for e in events] == [1000, *range(2000, 2000 + len(payloads)), 9000]
    expected = orjson.loads(
        orjson.dumps(
            {
                k: {kk: (str(vv) if isinstance(vv, Decimal) else vv) for kk, vv in v.items()}
                for k, v in payloads.items()
            }
        )
    )
    for e in events[1:-1]:
        assert e.data == expected[e.event], e.event
    assert events[0].data == {
        "kind": "open",
        "legs": record.legs if record else None,
        "params": record.params if record else None,
    }
    assert record is not None
    assert record.status == "opened" and record.kind == "open"
    assert record.started_ns == 1000 and record.finished_ns == 9000 and record.finished
    assert record.result == _atomic_result().to_dict()
    assert events[-1].data == {"status": "opened", "result": _atomic_result().to_dict()}
    assert record.legs[0] == {
        "venue": "hyperliquid",
        "symbol": "BTC",
        "side": "buy",
        "size": "0.015",
    }
    assert record.params == {
        "mode": "aggressive_limit",
        "deadline_s": 30,
        "max_slippage_bps": "7.5",
    }


def test_decimals_are_exact(journal_url: str) -> None:
    values = [
        Decimal("0.1"),
        Decimal("123456789012345678901234567890.123456789"),
        Decimal("-0.000000001"),
        Decimal("1E-30"),
        Decimal("2.50"),
        Decimal("NaN"),
    ]

    async def body(j: Journal) -> list[EventRecord]:
        await j.record(None, "note", {"values": values, "one": values[1]})
        return await j.events()

    (ev,) = run(journal_url, body)
    assert ev.op_id is None
    assert ev.data["values"] == [str(v) for v in values]
    assert [Decimal(s) for s in ev.data["values"][:-1]] == values[:-1]
    assert Decimal(ev.data["one"]) == values[1]
    assert ev.data["values"][4] == "2.50"  # not normalised: exactly what was given


def test_sequence_ids_increase_in_order(journal_url: str) -> None:
    async def body(j: Journal) -> tuple[list[int], list[int], list[EventRecord]]:
        op = await j.start_operation("close", LEGS, {})
        a = [await j.record(op, "note", {"i": i}) for i in range(5)]
        b = await j.record_many(op, [("order", {"i": 5}), ("ack", {"i": 6}), ("fill", {"i": 7})])
        return a, b, await j.events(op)

    a, b, events = run(journal_url, body)
    seqs = a + b
    assert seqs == sorted(seqs) and len(set(seqs)) == 8
    assert [e.seq for e in events][1:] == seqs
    assert [e.data.get("i") for e in events[1:]] == list(range(8))
    assert events[0].seq < seqs[0]


def test_filters(journal_url: str) -> None:
    async def body(j: Journal) -> None:
        a = await j.start_operation("open", LEGS, {}, op_id="a", ts_ns=100)
        b = await j.start_operation("close", LEGS, {}, op_id="b", ts_ns=200)
        await j.start_operation("open", LEGS, {}, op_id="c", ts_ns=300)
        await j.record(a, "fill", {"n": 1})
        await j.record(b, "fill", {"n": 2})
        await j.record(a, "note", {"n": 3})
        assert [o.op_id for o in await j.operations()] == ["a", "b", "c"]
        assert [o.op_id for o in await j.operations(kind="open")] == ["a", "c"]
        assert [o.op_id for o in await j.operations(since_ns=200)] == ["b", "c"]
        assert [o.op_id for o in await j.operations(until_ns=300)] == ["a", "b"]
        assert [o.op_id for o in await j.operations(since_ns=150, until_ns=250)] == ["b"]
        assert [e.data["n"] for e in await j.events(event="fill")] == [1, 2]
        assert [e.event for e in await j.events(a)] == ["start", "fill", "note"]
        assert [e.data["n"] for e in await j.events(a, event="note")] == [3]
        assert await j.operation("nope") is None

    run(journal_url, body)


def test_unfinished_operations(journal_url: str) -> None:
    async def body(j: Journal) -> None:
        done = await j.start_operation("open", LEGS, PARAMS, ts_ns=1)
        left = await j.start_operation("close", LEGS, PARAMS, ts_ns=2)
        await j.record(left, "order", {"client_id": "x"})
        await j.finish_operation(done, "opened", {"status": "opened"})
        (rec,) = await j.unfinished()
        assert rec.op_id == left and rec.status == "running" and rec.result is None
        assert rec.finished_ns is None and not rec.finished and rec.kind == "close"
        await j.finish_operation(left, "closed", {"status": "closed"})
        assert await j.unfinished() == []

    run(journal_url, body)


def test_finishing_twice_is_an_error(journal_url: str) -> None:
    async def body(j: Journal) -> None:
        op = await j.start_operation("open", LEGS, {})
        await j.finish_operation(op, "opened", {"a": 1})
        with pytest.raises(JournalError, match="already finished"):
            await j.finish_operation(op, "rolled_back", {"a": 2})
        rec = await j.operation(op)
        assert rec is not None and rec.status == "opened" and rec.result == {"a": 1}
        assert [e.event for e in await j.events(op)] == ["start", "result"]

    run(journal_url, body)


def test_bad_input_is_refused(journal_url: str) -> None:
    async def body(j: Journal) -> None:
        op = await j.start_operation("open", LEGS, {}, op_id="fixed")
        with pytest.raises(JournalError, match="already exists"):
            await j.start_operation("open", LEGS, {}, op_id="fixed")
        with pytest.raises(ValueError, match="unknown journal event"):
            await j.record(op, "bogus", {})
        with pytest.raises(ValueError, match="unknown journal event"):
            await j.record(op, "result", {})  # written by the journal itself only
        with pytest.raises(ValueError, match="unknown journal event"):
            await j.record_many(op, [("note", {}), ("nope", {})])
        with pytest.raises(JournalError, match="unknown operation"):
            await j.record("missing", "note", {})
        with pytest.raises(JournalError, match="unknown operation"):
            await j.finish_operation("missing", "opened", {})
        with pytest.raises(ValueError, match="running"):
            await j.finish_operation(op, "running", {})
        with pytest.raises(ValueError, match="ts_ns"):
            await j.record(op, "note", {}, ts_ns=-1)
        with pytest.raises(JournalError, match="cannot journal"):
            await j.record(op, "note", {"x": object()})
        # nothing of the refused calls was written
        assert [e.event for e in await j.events()] == ["start"]

    run(journal_url, body)


def test_reopen_keeps_everything(journal_url: str) -> None:
    async def write() -> tuple[str, str]:
        j = await open_journal(journal_url)
        done = await j.start_operation("open", LEGS, PARAMS, ts_ns=10)
        await j.record(done, "fill", {"size": Decimal("0.015")}, ts_ns=11)
        await j.finish_operation(done, "opened", {"size": Decimal("0.015")}, ts_ns=12)
        left = await j.start_operation("close", LEGS, PARAMS, ts_ns=20)
        await j.record(left, "order", {"client_id": "c9"}, ts_ns=21)
        await j.close()
        await j.close()  # idempotent
        with pytest.raises(JournalError, match="closed"):
            await j.record(left, "note", {})
        return done, left

    async def read(done: str, left: str) -> None:
        async with await open_journal(journal_url) as j:
            assert j.schema_version == LATEST_VERSION
            assert [o.op_id for o in await j.unfinished()] == [left]
            rec = await j.operation(done)
            assert rec is not None and rec.result == {"size": "0.015"}
            assert [(e.event, e.ts_ns) for e in await j.events()] == [
                ("start", 10),
                ("fill", 11),
                ("result", 12),
                ("start", 20),
                ("order", 21),
            ]
            # the journal goes on where it stopped
            seq = await j.record(left, "note", {})
            assert seq > max(e.seq for e in await j.events(left) if e.event != "note")

    done, left = asyncio.run(write())
    asyncio.run(read(done, left))


def test_concurrent_records_lose_nothing(journal_url: str) -> None:
    tasks, per_task = 40, 25

    async def body(j: Journal) -> list[EventRecord]:
        op = await j.start_operation("open", LEGS, {})

        async def worker(t: int) -> list[int]:
            return [await j.record(op, "fill", {"t": t, "n": n}) for n in range(per_task)]

        seqs = await asyncio.gather(*(worker(t) for t in range(tasks)))
        for s in seqs:
            assert s == sorted(s)
        events = await j.events(op, event="fill")
        assert sorted(x for s in seqs for x in s) == [e.seq for e in events]
        return events

    events = run(journal_url, body)
    assert len(events) == tasks * per_task
    assert len({(e.data["t"], e.data["n"]) for e in events}) == tasks * per_task
    for t in range(tasks):
        assert [e.data["n"] for e in events if e.data["t"] == t] == list(range(per_task))


def test_repr_masks_password(journal_url: str, backend: str) -> None:
    async def body(j: Journal) -> str:
        return repr(j)

    text = run(journal_url, body)
    assert f"schema_version={LATEST_VERSION}" in text
    if backend == "postgresql":
        assert "postgresql://postgres@127.0.0.1" in text


def test_calls_are_bounded_by_the_timeout(backend: str, journal_url: str) -> None:
    import sqlite3
    import time

    import psycopg

    from hedgekit.journal import JournalTimeoutError

    async def main() -> None:
        async with await open_journal(journal_url, timeout_s=0.5) as j:
            await j.record(None, "note", {"before": True})
            # another client holds the write lock
            if backend == "sqlite":
                blocker: Any = sqlite3.connect(journal_url, isolation_level=None)
                blocker.execute("BEGIN IMMEDIATE")
            else:
                blocker = psycopg.connect(journal_url)
                blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            try:
                t0 = time.monotonic()
                with pytest.raises(JournalError) as info:
                    await j.record(None, "note", {"blocked": True})
                assert time.monotonic() - t0 < 2.0
                if backend == "sqlite":  # the worker enforces the deadline: nothing written
                    assert isinstance(info.value, JournalTimeoutError)
                    assert "nothing written" in str(info.value)
                else:  # the client gave up, or the server's statement_timeout did
                    assert isinstance(info.value, JournalTimeoutError) or "timeout" in str(
                        info.value
                    )
            finally:
                blocker.rollback() if backend == "postgresql" else blocker.execute("ROLLBACK")
                blocker.close()
            await j.record(None, "note", {"after": True})  # usable again
            assert [e.data for e in await j.events()] == [{"before": True}, {"after": True}]

    asyncio.run(main())


CRASHER = """
import asyncio, os, sys
from hedgekit.journal import open_journal

async def main():
    j = await open_journal(sys.argv[1])
    op = await j.start_operation("open", [{"venue": "a"}], {}, op_id="crash")
    for i in range(50):
        await j.record(op, "fill", {"i": i})
    print("written", flush=True)
    os.kill(os.getpid(), 9)  # no close, no flush, no clean-up

asyncio.run(main())
"""


def test_a_killed_process_loses_no_committed_record(journal_url: str) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, journal_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr
    assert proc.stdout.strip() == "written"

    async def body(j: Journal) -> None:
        (op,) = await j.unfinished()
        assert op.op_id == "crash"
        assert [e.data["i"] for e in await j.events("crash", event="fill")] == list(range(50))

    run(journal_url, body)
