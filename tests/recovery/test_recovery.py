"""Recovery after a crash at several points of an open, against the same simulated venues.

The crash is emulated inside the test process: the hedgekit side stops dead at the chosen point
(an exception out of the order path, then every task hedgekit started is cancelled and its
sessions dropped), while the simulated venues keep running with whatever reached them. A new
set of sessions and a journal reopened from the same file then recover.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicExecutor
from hedgekit.execution.config import LegSpec
from hedgekit.execution.recovery import recover
from hedgekit.journal import open_journal
from hedgekit.model import OrderRequest
from hedgekit.scenario import load_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

SCENARIOS = Path(__file__).parents[1] / "scenarios"
D = Decimal


class Crash(BaseException):
    """The process dies here."""


async def _sessions(venues: dict[str, SimVenue]) -> dict[str, VenueSession]:
    ledger, clock = FillLedger(), LoopClock()
    sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
    for s in sessions.values():
        await s.start()
    return sessions


def _crash_and_recover(tmp_path: Path, point: str) -> dict[str, Any]:
    sc = load_scenario(SCENARIOS / "one_leg_never_fills.toml")
    db = str(tmp_path / "journal.sqlite3")

    async def main() -> dict[str, Any]:
        venues = {cfg.name: SimVenue(cfg) for cfg in sc.venues}
        for v in venues.values():
            await v.connect()
        # --- the first process ---
        survivors = asyncio.all_tasks()
        journal = await open_journal(db)
        sessions = await _sessions(venues)
        await asyncio.sleep(sc.start_after_s)
        ex = AtomicExecutor(sessions, journal=journal)
        sent: list[str] = []

        me = asyncio.current_task()

        def die() -> None:
            # Everything hedgekit runs stops at its next step, as if the process were gone.
            for t in asyncio.all_tasks():
                if t not in survivors and t is not me:
                    t.cancel()
            raise Crash

        def on_send(venue: str) -> Any:
            def hook(req: OrderRequest) -> None:
                sent.append(f"{venue}:{req.client_id}")
                if point == "between_legs" and len(sent) == 2:
                    die()  # the first leg's order is out, the second never leaves
                if point == "during_hedge" and req.client_id.startswith("hkl"):
                    die()  # one leg filled, the hedge order never leaves

            return hook

        for name, e in ex.executors.items():
            e.on_send = on_send(name)
        if point == "before_placement":
            real_start = journal.start_operation

            async def start_then_die(*a: Any, **k: Any) -> str:
                await real_start(*a, **k)
                raise Crash

            journal.start_operation = start_then_die  # type: ignore[method-assign]
        legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
        assert sc.size is not None
        task = asyncio.ensure_future(ex.open(legs, sc.size, sc.atomic))
        try:
            async with asyncio.timeout(30):
                await task
        except (Crash, TimeoutError, asyncio.CancelledError):
            pass
        # The process is gone: every task it started dies with it.
        doomed = [t for t in asyncio.all_tasks() if t not in survivors and t is not me]
        for t in doomed:
            t.cancel()
        await asyncio.gather(*doomed, return_exceptions=True)
        del ex, sessions
        await asyncio.sleep(2.0)  # the venues go on: resting orders may fill meanwhile
        # --- the second process ---
        journal2 = await open_journal(db)
        unfinished_before = [o.op_id for o in await journal2.unfinished()]
        sessions2 = await _sessions(venues)
        outcomes = await recover(journal2, sessions2)
        await asyncio.sleep(2.0)
        again = await recover(journal2, sessions2)
        unfinished_after = await journal2.unfinished()
        positions = {
            n: v.engine.position(v.config.instruments[0].symbol) for n, v in venues.items()
        }
        resting = [f"{n}:{c}" for n, v in venues.items() for c in v.engine.open_orders()]
        for s in sessions2.values():
            await s.close()
        await journal2.close()
        return {
            "before": unfinished_before,
            "outcomes": outcomes,
            "again": again,
            "after": unfinished_after,
            "positions": positions,
            "resting": resting,
            "sent": sent,
        }

    return run_virtual(main())


@pytest.mark.parametrize("point", ["before_placement", "between_legs", "during_hedge"])
def test_a_crashed_open_is_recovered_hedged_or_flat(tmp_path: Path, point: str) -> None:
    r = _crash_and_recover(tmp_path, point)
    assert len(r["before"]) == 1  # the intent was journalled before anything was placed
    assert r["after"] == [] and r["again"] == []  # finished once, nothing left
    (outcome,) = r["outcomes"]
    net = sum(r["positions"].values(), D(0))
    assert abs(net) <= D("0.005"), r  # hedged or flat
    assert r["resting"] == []
    if point == "before_placement":
        assert r["sent"] == [] and outcome.status == "not_filled"
    if point == "during_hedge":
        assert outcome.status == "rolled_back"
        assert all(p == 0 for p in r["positions"].values())
