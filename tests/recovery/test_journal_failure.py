"""A journal that dies in the middle of an operation never turns into exposure.

The journal takes the first ``n`` writes of an operation and then fails for good (a stopped
database, a disk error). Whatever ``n``, the operation still makes the pair safe — exposure-
reducing orders (hedges, rollbacks, closes) go out with their records kept for retry, new entries
do not — and then raises ``JournalWriteError`` carrying its result and the records it could not
write. Checked by the simulated venues' own positions and resting orders. A later process
recovering from the journal (once it works again) finds every order that filled — from the
records that were written, or from the venues' fills by client-id prefix — and ends hedged or
flat with nothing resting; replaying the kept records instead completes the journal.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicExecutor, CloseExecutor
from hedgekit.execution.config import CloseLeg, LegSpec
from hedgekit.execution.recorder import JournalWriteError, replay
from hedgekit.execution.recovery import recover
from hedgekit.journal import Journal, JournalError, open_journal
from hedgekit.scenario import Scenario, load_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

from crashkit import MemoryBackend, MemoryStore, journal_over  # isort: skip

SCENARIOS = Path(__file__).parents[1] / "scenarios"
D = Decimal
TOLERANCE = D("0.005")


class FailingJournal:
    """A journal that takes ``fail_after`` writes, then fails every call until repaired."""

    def __init__(self, inner: Journal, fail_after: int | None) -> None:
        self.inner = inner
        self.fail_after = fail_after
        self.writes = 0
        self.refused = 0

    def repair(self) -> None:
        self.fail_after = None

    def _check(self) -> None:
        if self.fail_after is not None and self.writes >= self.fail_after:
            self.refused += 1
            raise JournalError("journal storage error: could not connect to server")

    async def _write(self, aw: Awaitable[Any]) -> Any:
        try:
            self._check()
        except JournalError:
            if asyncio.iscoroutine(aw):
                aw.close()
            raise
        out = await aw
        self.writes += 1
        return out

    async def start_operation(
        self, kind: str, legs: list[dict[str, Any]], params: dict[str, Any], **k: Any
    ) -> str:
        out: str = await self._write(self.inner.start_operation(kind, legs, params, **k))
        return out

    async def record(self, op_id: str | None, event: str, data: dict[str, Any], **k: Any) -> int:
        out: int = await self._write(self.inner.record(op_id, event, data, **k))
        return out

    async def finish_operation(
        self, op_id: str, status: str, result: dict[str, Any], **k: Any
    ) -> None:
        await self._write(self.inner.finish_operation(op_id, status, result, **k))

    async def operation(self, op_id: str) -> Any:
        self._check()
        return await self.inner.operation(op_id)

    async def unfinished(self) -> Any:
        self._check()
        return await self.inner.unfinished()

    async def events(self, op_id: str | None = None, *, event: str | None = None) -> Any:
        self._check()
        return await self.inner.events(op_id, event=event)


@dataclass
class Run:
    result: Any = None
    error: JournalWriteError | None = None
    writes: int = 0
    positions: dict[str, Decimal] = field(default_factory=dict)
    resting: list[str] = field(default_factory=list)
    recovered: list[Any] = field(default_factory=list)
    after: dict[str, Decimal] = field(default_factory=dict)
    resting_after: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    filled_unnamed: list[str] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)


async def _sessions(venues: dict[str, SimVenue]) -> dict[str, VenueSession]:
    ledger, clock = FillLedger(), LoopClock()
    sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
    for s in sessions.values():
        await s.start()
    return sessions


def _truth(venues: dict[str, SimVenue]) -> tuple[dict[str, Decimal], list[str]]:
    positions = {n: v.engine.position(v.config.instruments[0].symbol) for n, v in venues.items()}
    resting = [f"{n}:{c}" for n, v in venues.items() for c in v.engine.open_orders()]
    return positions, resting


async def _operate(
    sc: Scenario,
    journal: Any,
    then: Callable[[Run, dict[str, SimVenue]], Awaitable[None]] | None = None,
) -> Run:
    """Runs the scenario's operation with ``journal``; ``then`` runs afterwards (a later process
    on the same venues)."""
    run = Run()
    venues = {cfg.name: SimVenue(cfg) for cfg in sc.venues}
    for p in sc.positions:
        venues[p.venue].engine.seed_position(p.symbol, p.size, p.entry_price)
    for v in venues.values():
        await v.connect()
    sessions = await _sessions(venues)
    await asyncio.sleep(sc.start_after_s)
    try:
        if sc.kind == "open":
            legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
            assert sc.size is not None
            run.result = await AtomicExecutor(sessions, journal=journal).open(
                legs, sc.size, sc.atomic
            )
        else:
            closing = [leg for leg in sc.legs if isinstance(leg, CloseLeg)]
            run.result = await CloseExecutor(sessions, journal=journal).close(closing, sc.close)
    except JournalWriteError as exc:
        run.error = exc
    for s in sessions.values():
        await s.close()
    await asyncio.sleep(sc.settle_s)
    run.positions, run.resting = _truth(venues)
    if then is not None:
        await then(run, venues)
    return run


async def _recover_later(
    run: Run, venues: dict[str, SimVenue], journal: Any, prefixes: tuple[str, ...] = ()
) -> None:
    """A new process on the same venues recovers from the journal (working again), told the
    executors' client-id prefix or (without) reading it from the journalled orders."""
    sessions = await _sessions(venues)
    await asyncio.sleep(0.5)
    run.recovered = await recover(journal, sessions, id_prefixes=prefixes)
    run.unfinished = [o.op_id for o in await journal.unfinished()]
    named = {(e.data["venue"], e.data["client_id"]) for e in await journal.events(event="order")}
    for s in sessions.values():
        await s.close()
    await asyncio.sleep(1.0)
    run.after, run.resting_after = _truth(venues)
    run.filled_unnamed = sorted(
        {
            f"{n}:{f.client_id}"
            for n, v in venues.items()
            for f in v.engine.fills()
            if (n, f.client_id) not in named
        }
    )
    run.unnamed = sorted(
        f"{n}:{c}" for n, v in venues.items() for c in v.engine._by_client if (n, c) not in named
    )


def _healthy_writes(sc: Scenario) -> int:
    async def main() -> int:
        journal = FailingJournal(journal_over(MemoryBackend(MemoryStore())), None)
        run = await _operate(sc, journal)
        assert run.error is None
        return journal.writes

    return run_virtual(main())


def _failing_run(sc: Scenario, n: int) -> Run:
    async def main() -> Run:
        journal = FailingJournal(journal_over(MemoryBackend(MemoryStore())), n)

        async def later(run: Run, venues: dict[str, SimVenue]) -> None:
            run.writes = journal.writes
            journal.repair()
            await _recover_later(run, venues, journal, ("hk",))

        return await _operate(sc, journal, later)

    return run_virtual(main())


def _safe(positions: dict[str, Decimal], kind: str) -> bool:
    if kind == "close":
        return all(abs(p) <= TOLERANCE for p in positions.values())
    return abs(sum(positions.values(), D(0))) <= TOLERANCE


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "name",
    [
        "one_leg_never_fills.toml",
        "cancel_fill_race.toml",
        "hedge_venue_refuses.toml",
        "imbalanced_close.toml",
        "accumulating_partial_fills.toml",
    ],
)
def test_a_journal_failing_after_any_write_leaves_the_pair_safe_and_recoverable(name: str) -> None:
    sc = load_scenario(SCENARIOS / name)
    total = _healthy_writes(sc)
    assert total >= 3
    for n in range(1, total):
        r = _failing_run(sc, n)
        ctx = f"{name}: the journal failed after {n} of {total} writes: {r}"
        # The operation finished making the pair safe, then raised with its result.
        assert r.error is not None and r.error.result is not None, ctx
        assert r.error.result.status.value != "exposed", ctx
        assert r.error.unwritten and r.error.unwritten[-1]["event"] == "result", ctx
        assert r.writes == n, ctx  # the journal took nothing after it failed
        assert _safe(r.positions, sc.kind), ctx
        assert r.resting == [], ctx
        # A later process recovers every order that filled and ends hedged or flat.
        assert r.unfinished == [], ctx
        assert all(o.status != "unresolved" for o in r.recovered), ctx
        assert r.filled_unnamed == [], ctx
        assert _safe(r.after, sc.kind), ctx
        assert r.resting_after == [], ctx


def test_an_unjournalled_start_sends_nothing() -> None:
    sc = load_scenario(SCENARIOS / "one_leg_never_fills.toml")

    async def main() -> tuple[Run, list[str]]:
        journal = FailingJournal(journal_over(MemoryBackend(MemoryStore())), 0)
        seen: list[str] = []

        async def later(run: Run, venues: dict[str, SimVenue]) -> None:
            seen.extend(c for v in venues.values() for c in v.engine._by_client)

        return await _operate(sc, journal, later), seen

    r, seen = run_virtual(main())
    assert r.error is not None and r.error.result is None
    assert seen == []


def test_the_kept_records_replayed_complete_the_journal() -> None:
    sc = load_scenario(SCENARIOS / "one_leg_never_fills.toml")

    async def main() -> tuple[Run, Any, list[Any], list[str]]:
        journal = FailingJournal(journal_over(MemoryBackend(MemoryStore())), 3)
        box: dict[str, Any] = {}

        async def later(run: Run, venues: dict[str, SimVenue]) -> None:
            journal.repair()
            assert run.error is not None
            await replay(journal, run.error.unwritten)
            box["op"] = await journal.operation(run.error.op_id)
            named = {
                (e.data["venue"], e.data["client_id"]) for e in await journal.events(event="order")
            }
            box["unnamed"] = sorted(
                f"{n}:{c}"
                for n, v in venues.items()
                for c in v.engine._by_client
                if (n, c) not in named
            )
            sessions = await _sessions(venues)
            box["recovered"] = await recover(journal, sessions)
            for s in sessions.values():
                await s.close()

        run = await _operate(sc, journal, later)
        return run, box["op"], box["recovered"], box["unnamed"]

    r, op, recovered, unnamed = run_virtual(main())
    assert r.error is not None and r.error.result is not None
    assert op is not None and op.finished and op.status == r.error.result.status.value
    assert unnamed == []  # every order any venue had is in the journal now
    assert recovered == []


class BrokenDisk:
    """Makes a SQLite journal's storage fail every transaction after ``n`` of them (the
    statement raises inside the transaction, as a disk I/O error does), until repaired."""

    def __init__(self, journal: Journal, n: int) -> None:
        backend: Any = journal._backend
        self.n = n
        self.commits = 0
        self.broken = True
        real = backend._run

        def run(fn: Callable[[sqlite3.Connection], Any]) -> Awaitable[Any]:
            if self.broken and self.commits >= self.n:

                def fail(conn: sqlite3.Connection) -> Any:
                    raise sqlite3.OperationalError("disk I/O error")

                return real(fail)

            async def counted() -> Any:
                out = await real(fn)
                self.commits += 1
                return out

            return counted()

        backend._run = run


@pytest.mark.timeout(120)
def test_a_sqlite_journal_whose_disk_fails_midway(tmp_path: Path) -> None:
    sc = load_scenario(SCENARIOS / "one_leg_never_fills.toml")
    total = _healthy_writes(sc)
    for n in range(1, total):
        db = str(tmp_path / f"journal-{n}.sqlite3")

        async def main(db: str = db, n: int = n) -> Run:
            journal = await open_journal(db)
            disk = BrokenDisk(journal, n)

            async def later(run: Run, venues: dict[str, SimVenue]) -> None:
                run.writes = disk.commits
                disk.broken = False
                await journal.close()
                again = await open_journal(db)  # the next process, the disk repaired
                try:
                    await _recover_later(run, venues, again)
                finally:
                    await again.close()

            return await _operate(sc, journal, later)

        r = run_virtual(main())
        ctx = f"the disk failed after {n} of {total} commits: {r}"
        assert r.error is not None and r.error.result is not None, ctx
        assert "disk I/O error" in str(r.error), ctx
        assert r.writes == n, ctx
        assert _safe(r.positions, sc.kind) and r.resting == [], ctx
        assert r.unfinished == [] and r.filled_unnamed == [], ctx
        assert _safe(r.after, sc.kind) and r.resting_after == [], ctx
