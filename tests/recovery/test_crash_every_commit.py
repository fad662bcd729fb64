"""A crash after every journal commit, in turn, of opens and closes under faults.

For each seeded scenario (two simulated venues with latency, duplicated and held-back fill
events, lost requests and answers, stream disconnects, split fills and outside trades), the
operation runs with a journal whose storage kills the process right after its ``k``-th commit
(``crashkit``): the dead process sends nothing more and all its tasks are abandoned, while the
venues go on with whatever reached them. A new process — fresh sessions and a fresh journal over
the same storage, the same venues — then runs ``recover`` (twice). ``k`` runs from 1 until the
operation completes without reaching it. The same is done to a recovery (the process recovering
dies after each of its commits in turn, and a third one recovers), and over a SQLite file.

Checked against the venues' own truth after each recovery:

* the venues are hedged or flat (flat once recovery unwound an open or completed a close) —
  unless the operation finished before the crash and reported itself ``exposed`` — and nothing
  of ours rests on any venue;
* every order any venue ever had from us is named by an ``order`` record of the journal;
* the journal holds no unfinished operation, and a second recovery finds nothing to do.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicExecutor, CloseExecutor
from hedgekit.execution.config import CloseLeg, LegSpec
from hedgekit.execution.recovery import recover
from hedgekit.journal._backend import Backend
from hedgekit.journal._sqlite import SqliteBackend
from hedgekit.scenario import Scenario, parse_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

from crashkit import Crash, CrashAfter, Life, MemoryBackend, MemoryStore, journal_over  # isort: skip

D = Decimal
TOLERANCE = D("0.005")  # the largest minimum order of the two venues at these prices
MAX_COMMITS = 400  # a bound on the sweep: an operation never writes this many records


def scenario(seed: int, kind: str) -> Scenario:
    """Two venues under seeded faults; an open from flat, or a close of a held pair."""
    rng = random.Random(seed * 7919 + (kind == "close"))

    def faults() -> dict[str, Any]:
        f: dict[str, Any] = {
            "p_resp_loss": rng.choice([0.0, 0.0, 0.1]),
            "p_req_loss": rng.choice([0.0, 0.0, 0.05]),
            "request_timeout_ms": 500,
        }
        if rng.random() < 0.3:
            f["disconnects"] = [
                {
                    "start_ms": rng.randint(1000, 2500),
                    "duration_ms": 700,
                    "snapshot_fills": rng.choice([0, 5]),
                }
            ]
        return {
            "latency": {
                "entry_ms": rng.choice([2, 10, 30]),
                "response_ms": rng.choice([2, 10, 30]),
                "jitter_ms": rng.choice([0, 3]),
            },
            "delivery": {"p_dup": rng.choice([0.0, 0.5]), "p_holdback": rng.choice([0.0, 0.3])},
            "fills": {"split_fills": rng.choice([1, 2])},
            "faults": f,
        }

    def script(side: str) -> list[dict[str, Any]]:
        out = []
        for _ in range(rng.randint(0, 3)):
            size = rng.choice(["0.4", "0.9", "30"])
            out.append(
                {"at_ms": rng.randint(1050, 4000), "action": "trade", "side": side, "size": size}
            )
        return out

    open_ = kind == "open"
    data: dict[str, Any] = {
        "name": f"crash sweep {kind} {seed}",
        "seed": seed,
        "venues": [
            {
                "name": "hl",
                "personality": "hyperliquid",
                "instrument": {"symbol": "ETH", "kind": "hyperliquid", "sz_decimals": 3},
                "market": {
                    "mid": "2400",
                    "tick": "0.1",
                    "levels": 10,
                    "level_size": "5",
                    "script": script("sell" if open_ else "buy"),
                },
                **faults(),
            },
            {
                "name": "aster",
                "personality": "aster",
                "instrument": {
                    "symbol": "ETHUSDT",
                    "kind": "plain",
                    "tick": "0.01",
                    "step": "0.001",
                    "min_qty": "0.001",
                    "min_notional": "5",
                },
                "market": {
                    "mid": "2400.5",
                    "tick": "0.01",
                    "levels": 10,
                    "level_size": "5",
                    "script": script("buy" if open_ else "sell"),
                },
                **faults(),
            },
        ],
    }
    if open_:
        plan = rng.choice(["maker_both", "maker_both", "auto", "taker_both"])
        data["operation"] = {
            "kind": "open",
            "size": rng.choice(["1.5", "0.8"]),
            "legs": [{"venue": "hl", "side": "buy"}, {"venue": "aster", "side": "sell"}],
            "config": {"plan": plan, "entry_timeout_s": 3, "deadline_s": 4},
        }
    else:
        size = rng.choice(["1.5", "0.8"])
        data["positions"] = [
            {"venue": "hl", "size": size, "entry_price": "2390"},
            {"venue": "aster", "size": f"-{size}", "entry_price": "2391"},
        ]
        data["operation"] = {
            "kind": "close",
            "legs": [{"venue": "hl"}, {"venue": "aster"}],
            "config": {"phase1_timeout_s": 2, "deadline_s": 6},
        }
    return parse_scenario(data)


@dataclass
class Trial:
    crashed: bool
    commits: int
    outcomes: list[Any]
    again: list[Any]
    unfinished: list[str]
    positions: dict[str, Decimal]
    resting: list[str]
    unnamed: list[str]
    statuses: list[str]
    reported_exposed: bool


async def _sessions(venues: dict[str, Any]) -> dict[str, VenueSession]:
    ledger, clock = FillLedger(), LoopClock()
    sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
    for s in sessions.values():
        await s.start()
    return sessions


class Storage:
    """Where the journal lives across the processes: in memory, or a SQLite file."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.store = MemoryStore()
        self.opened: list[Backend] = []

    async def backend(self) -> Backend:
        if self.path is None:
            return MemoryBackend(self.store)
        b = await SqliteBackend.open(self.path, 5.0)
        self.opened.append(b)
        return b

    async def close(self) -> None:
        for b in self.opened:  # a dead process's file handle goes with it
            await b.close()


async def _trial(
    sc: Scenario, k: int, k_recovery: int | None = None, path: str | None = None
) -> Trial:
    """Runs the operation in a process that dies after its ``k``-th commit; then a second
    process recovers (dying in turn after its ``k_recovery``-th commit, when given, and a third
    recovering after it); returns the venues' truth and the journal's view."""
    storage = Storage(path)
    try:
        return await _processes(sc, k, k_recovery, storage)
    finally:
        await storage.close()


async def _processes(sc: Scenario, k: int, k_recovery: int | None, storage: Storage) -> Trial:
    venues = {cfg.name: SimVenue(cfg) for cfg in sc.venues}
    for p in sc.positions:
        venues[p.venue].engine.seed_position(p.symbol, p.size, p.entry_price)
    for v in venues.values():
        await v.connect()
    # --- the first process: runs the operation and dies right after the k-th commit ---
    life = Life(venues)
    backend = CrashAfter(await storage.backend(), k, life.die)
    journal = journal_over(backend)
    sessions = await _sessions(life.venues)
    await asyncio.sleep(sc.start_after_s)
    if sc.kind == "open":
        legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
        assert sc.size is not None
        op = AtomicExecutor(sessions, journal=journal).open(legs, sc.size, sc.atomic)
    else:
        op = CloseExecutor(sessions, journal=journal).close(
            [leg for leg in sc.legs if isinstance(leg, CloseLeg)], sc.close
        )
    await _live_or_die(life, asyncio.ensure_future(op), sessions)
    crashed = backend.dead
    await asyncio.sleep(2.0)  # the venues go on: requests on the wire land, resting orders may fill
    recovery_crashed = False
    if k_recovery is not None:
        # --- a second process starts recovering, and dies after its k_recovery-th commit ---
        life2 = Life(venues)
        backend2 = CrashAfter(await storage.backend(), k_recovery, life2.die)
        sessions2 = await _sessions(life2.venues)
        await asyncio.sleep(0.5)  # books arrive
        await _live_or_die(
            life2, asyncio.ensure_future(recover(journal_over(backend2), sessions2)), sessions2
        )
        recovery_crashed = backend2.dead
        await asyncio.sleep(2.0)
    # --- the last process: same venues, same journal storage, nothing else ---
    last = Life(venues)
    journal3 = journal_over(await storage.backend())
    sessions3 = await _sessions(last.venues)
    await asyncio.sleep(0.5)  # books arrive
    reported_exposed = any(o.status == "exposed" for o in await journal3.operations())
    outcomes = await recover(journal3, sessions3)
    await asyncio.sleep(1.0)
    again = await recover(journal3, sessions3)
    unfinished = [o.op_id for o in await journal3.unfinished()]
    named = {(e.data["venue"], e.data["client_id"]) for e in await journal3.events(event="order")}
    statuses = [o.status for o in await journal3.operations()]
    for s in sessions3.values():
        await s.close()
    await last.bury()
    sym = {n: v.config.instruments[0].symbol for n, v in venues.items()}
    return Trial(
        crashed=recovery_crashed if k_recovery is not None else crashed,
        commits=backend.commits,
        outcomes=outcomes,
        again=again,
        unfinished=unfinished,
        positions={n: v.engine.position(sym[n]) for n, v in venues.items()},
        resting=[f"{n}:{c}" for n, v in venues.items() for c in v.engine.open_orders()],
        unnamed=sorted(
            f"{n}:{c}"
            for n, v in venues.items()
            for c in v.engine._by_client
            if (n, c) not in named
        ),
        statuses=statuses,
        reported_exposed=reported_exposed,
    )


async def _live_or_die(
    life: Life, task: asyncio.Future[Any], sessions: dict[str, VenueSession]
) -> None:
    """Runs ``task`` until it completes or its process dies; then nothing of the process is
    left (a process that lived to the end closes its sessions)."""
    try:
        async with asyncio.timeout(300):
            await asyncio.shield(task)
    except (Crash, asyncio.CancelledError):
        pass
    if not life.dead:
        assert task.done() and task.exception() is None, task
        for s in sessions.values():
            await s.close()
    await life.bury()


def _sweep(
    seed: int, kind: str, k: int | None = None, path: str | None = None
) -> list[tuple[int, Trial]]:
    """Every crash point in turn: of the operation, or (given the operation's ``k``) of the
    recovery after it; the journal in memory, or in the SQLite file ``path`` (a new one per
    trial)."""
    sc = scenario(seed, kind)
    out = []
    for i in range(1, MAX_COMMITS):
        db = None if path is None else f"{path}-{i}.sqlite3"
        trial = run_virtual(_trial(sc, i, path=db) if k is None else _trial(sc, k, i, path=db))
        out.append((i, trial))
        if not trial.crashed:
            return out
    raise AssertionError(f"{kind} {seed}: still crashing after {MAX_COMMITS} commits")


def _check(kind: str, seed: int, k: int, t: Trial) -> None:
    ctx = f"{kind} seed={seed} k={k}: {t}"
    assert t.unfinished == [] and t.again == [], ctx
    assert all(o.status != "unresolved" for o in t.outcomes), ctx
    assert t.resting == [], ctx
    assert t.unnamed == [], ctx
    net = sum(t.positions.values(), D(0))
    # Hedged or flat — unless an operation that finished on its own said it was exposed (the
    # status agrees with the venues; no recovery is owed to a finished operation).
    assert abs(net) <= TOLERANCE or t.reported_exposed, ctx
    if any(o.status in ("closed", "rolled_back") for o in t.outcomes):
        assert all(abs(p) <= TOLERANCE for p in t.positions.values()), ctx  # flat


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["open", "close"])
@pytest.mark.parametrize("seed", range(1, 25))
def test_a_crash_after_any_commit_is_recovered_hedged_or_flat(kind: str, seed: int) -> None:
    trials = _sweep(seed, kind)
    assert len(trials) >= 3, trials  # the intent, at least one order, the result
    for k, t in trials:
        _check(kind, seed, k, t)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("kind", "seed"), [("open", 2), ("open", 6), ("close", 1), ("close", 12)])
def test_a_recovery_that_crashes_after_any_commit_is_recovered_in_turn(
    kind: str, seed: int
) -> None:
    sc = scenario(seed, kind)
    # The first crash point after which recovery has work to do (an unwind, or a close).
    k = next(
        k
        for k in range(1, MAX_COMMITS)
        if any(o.status in ("rolled_back", "closed") for o in run_virtual(_trial(sc, k)).outcomes)
    )
    trials = _sweep(seed, kind, k)
    assert len(trials) >= 3, trials
    for i, t in trials:
        _check(kind, seed, i, t)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["open", "close"])
def test_the_same_over_a_sqlite_journal(kind: str, tmp_path: Path) -> None:
    trials = _sweep(2, kind, path=str(tmp_path / "journal"))
    assert len(trials) >= 3, trials
    for k, t in trials:
        _check(kind, 2, k, t)
