"""Operations write their intent, orders, answers, fills, incidents and result to the journal,
and the result is returned only after everything is written."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hedgekit.clock import run_virtual
from hedgekit.execution import AtomicExecutor, CloseExecutor, CloseLeg
from hedgekit.execution.config import LegSpec
from hedgekit.execution.recorder import JournalWriteError
from hedgekit.scenario import load_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

SCENARIOS = Path(__file__).parents[1] / "scenarios"


class MemoryJournal:
    """Records in memory; a write takes one loop turn, like a real one."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.ops: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str | None, str, dict[str, Any]]] = []
        self.fail_after = fail_after

    async def start_operation(
        self,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        *,
        op_id: str | None = None,
        ts_ns: int | None = None,
    ) -> str:
        await asyncio.sleep(0)
        oid = op_id or f"op{len(self.ops) + 1}"
        self.ops[oid] = {
            "kind": kind,
            "legs": legs,
            "params": params,
            "status": "running",
            "events_at_start": len(self.events),
        }
        return oid

    async def record(
        self, op_id: str | None, event: str, data: dict[str, Any], *, ts_ns: int | None = None
    ) -> int:
        await asyncio.sleep(0)
        if self.fail_after is not None and len(self.events) >= self.fail_after:
            raise OSError("disk full")
        self.events.append((op_id, event, data))
        return len(self.events)

    async def finish_operation(
        self, op_id: str, status: str, result: dict[str, Any], *, ts_ns: int | None = None
    ) -> None:
        await asyncio.sleep(0)
        self.ops[op_id].update(status=status, result=result, events_at_finish=len(self.events))


def _run_with_journal(
    name: str, journal: MemoryJournal, kind: str = "open", sent: list[str] | None = None
) -> tuple[Any, dict[str, SimVenue]]:
    sc = load_scenario(SCENARIOS / name)
    box: dict[str, Any] = {}

    async def main() -> Any:
        venues = {cfg.name: SimVenue(cfg) for cfg in sc.venues}
        from hedgekit import FillLedger
        from hedgekit.clock import LoopClock

        ledger, clock = FillLedger(), LoopClock()
        sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await asyncio.sleep(sc.start_after_s)
        if sent is not None:
            for v in venues.values():
                real = v.engine.place

                def spy(now: int, req: Any, real: Any = real) -> Any:
                    sent.append(req.client_id)
                    return real(now, req)

                v.engine.place = spy  # type: ignore[method-assign]
        try:
            legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
            assert sc.size is not None
            result = await AtomicExecutor(sessions, journal=journal).open(legs, sc.size, sc.atomic)
            box["result"] = result
            if kind == "open+close":
                await asyncio.sleep(2)
                box["close"] = await CloseExecutor(sessions, journal=journal).close(
                    [CloseLeg(leg.venue, leg.symbol) for leg in legs]
                )
            return result
        finally:
            for s in sessions.values():
                await s.close()
            box["venues"] = venues

    run_virtual(main())
    return box, box["venues"]


def test_an_open_and_a_close_are_journalled_completely_before_they_return() -> None:
    journal = MemoryJournal()
    box, venues = _run_with_journal("cancel_fill_race.toml", journal, "open+close")
    assert [op["kind"] for op in journal.ops.values()] == ["open", "close"]
    op_id, op = next(iter(journal.ops.items()))
    assert op["events_at_start"] == 0 and op["status"] == "opened"
    mine = [(e, d) for o, e, d in journal.events if o == op_id]
    kinds = [e for e, _ in mine]
    assert kinds.index("order") < kinds.index("fill")
    assert "ack" in kinds and "cancel_answer" in kinds and "incident" in kinds
    # Every fill the venues executed for the open is journalled exactly once.
    journalled = sorted((d["venue"], d["trade_id"]) for e, d in mine if e == "fill")
    result = box["result"]
    from_result = sorted((leg.venue, f.trade_id) for leg in result.legs for f in leg.fills)
    assert journalled == from_result and len(set(journalled)) == len(journalled)
    # The result record was written after every order and fill of the operation.
    assert op["events_at_finish"] >= max(
        i for i, (o, _, _) in enumerate(journal.events, 1) if o == op_id
    )
    assert op["result"]["status"] == "opened"


def test_a_refused_open_is_journalled_too() -> None:
    journal = MemoryJournal()
    _run_with_journal("below_minimum.toml", journal)
    (op,) = journal.ops.values()
    assert op["status"] == "refused"
    assert [e for _, e, _ in journal.events] == ["incident"]


def test_no_order_is_sent_unjournalled_and_the_failure_is_raised_with_the_result() -> None:
    journal = MemoryJournal(fail_after=0)
    sent: list[str] = []
    with pytest.raises(JournalWriteError) as info:
        _run_with_journal("one_leg_never_fills.toml", journal, sent=sent)
    assert info.value.result.status.value == "not_filled"
    assert sent == []  # the venues never saw an order the journal does not know


def test_maker_fills_get_markouts_at_each_horizon_and_stats_read_them(tmp_path: Path) -> None:
    from hedgekit import FillLedger
    from hedgekit.clock import LoopClock
    from hedgekit.execution.recorder import MarkoutRecorder
    from hedgekit.journal import execution_stats, open_journal

    sc = load_scenario(SCENARIOS / "one_leg_never_fills.toml")

    async def main() -> tuple[list[Any], list[Any], int]:
        venues = {cfg.name: SimVenue(cfg) for cfg in sc.venues}
        ledger, clock = FillLedger(), LoopClock()
        sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        journal = await open_journal(str(tmp_path / "j.sqlite3"))
        markouts = MarkoutRecorder(journal, lambda venue, sym: venues[venue].quote(sym))
        await asyncio.sleep(sc.start_after_s)
        legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
        assert sc.size is not None
        await AtomicExecutor(sessions, journal=journal, markouts=markouts).open(
            legs, sc.size, sc.atomic
        )
        await asyncio.sleep(11)  # every horizon has passed
        await markouts.close()
        events = await journal.events(event="markout")
        rows = await execution_stats(journal)
        for s in sessions.values():
            await s.close()
        await journal.close()
        return events, rows, markouts.pending

    events, rows, pending = run_virtual(main())
    # hl's entry rested and was filled (maker): one markout per horizon; the hedge was a taker.
    assert sorted(e.data["horizon_s"] for e in events) == [0.5, 2.0, 10.0]
    assert {e.data["venue"] for e in events} == {"hl"}
    assert pending == 0
    assert any(r.to_dict().get("venue") == "hl" for r in rows)
