"""Drift between a held pair's legs on simulated venues, on the virtual clock: a gap is acted on
only when a second read confirms it, then each policy — rehedge, flatten, adopt, halt — does
what it says, judged by the venues' own positions; dust is never traded; every repair is
journalled with its orders ahead; a confirmed drift raises an alert.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicConfig, AtomicExecutor, KillSwitch, LegSpec, OpenStatus
from hedgekit.journal import open_journal
from hedgekit.model import Side, TimeInForce
from hedgekit.risk import Alert, AlertHub
from hedgekit.risk.drift import DriftConfig, DriftMonitor, DriftPolicy, PairLegs
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import market, order, venue_config

D = Decimal
PAIR = PairLegs("eth", "hl", "ETH", "aster", "ETH")
Body = Callable[[dict[str, SimVenue], dict[str, VenueSession], DriftMonitor], Awaitable[Any]]


def run(
    body: Body,
    positions: dict[str, str],
    *,
    policy: DriftPolicy = DriftPolicy.REHEDGE,
    journal_url: str | None = None,
    kill: bool = False,
) -> tuple[Any, dict[str, Decimal], list[Alert]]:
    """Runs ``body`` with the venues seeded; returns its value, the venues' positions after it,
    and the alerts raised."""
    configs = [
        venue_config(style, name=name, mkt=market(level_size=D("50")))
        for name, style in (("hl", "hyperliquid"), ("aster", "aster"))
    ]
    alerts: list[Alert] = []

    async def main() -> tuple[Any, dict[str, Decimal], list[Alert]]:
        clock = LoopClock()
        ledger = FillLedger()
        venues = {c.name: SimVenue(c, clock) for c in configs}
        for name, size in positions.items():
            venues[name].engine.seed_position("ETH", D(size), D("100"))
        sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        journal = None if journal_url is None else await open_journal(journal_url)
        hub = AlertHub()
        hub.add(alerts.append)
        try:
            await asyncio.sleep(0.5)
            switch = KillSwitch(sessions, clock=clock) if kill else None
            monitor = DriftMonitor(
                sessions, clock=clock, config=DriftConfig(policy=policy), journal=journal,
                alerts=hub, kill_switch=switch,
            )  # fmt: skip
            out = await body(venues, sessions, monitor)
            await hub.drain()
            return out, {n: v.engine.position("ETH") for n, v in venues.items()}, alerts
        finally:
            await hub.close()
            if journal is not None:
                await journal.close()
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main())


async def step(
    venues: dict[str, SimVenue], sessions: dict[str, VenueSession], monitor: DriftMonitor
) -> Any:
    return await monitor.step(PAIR)


def test_matched_legs_are_left_alone() -> None:
    repair, held, alerts = run(step, {"hl": "2", "aster": "-2"})
    assert repair is None and held == {"hl": 2, "aster": -2} and alerts == []


def test_a_gap_that_closes_before_the_second_read_is_not_acted_on() -> None:
    # The short leg is being hedged right now: the first read sees hl 2 / aster 0, the second
    # (2 s later) sees the hedge done. Nothing is traded, no alert.
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], monitor: DriftMonitor
    ) -> Any:
        async def hedge_soon() -> None:
            await asyncio.sleep(0.5)
            await sessions["aster"].place(order("sell", "2", "90", tif=TimeInForce.IOC))

        task = asyncio.ensure_future(hedge_soon())
        drift = await monitor.check(PAIR)
        await task
        return drift

    drift, held, alerts = run(body, {"hl": "2"})
    assert drift is not None and not drift.confirmed
    assert held == {"hl": 2, "aster": -2}
    assert alerts == []


@pytest.mark.parametrize(
    ("long_", "short", "reduced"), [("2", "-1.5", "hl"), ("1", "-1.7", "aster")]
)
def test_rehedge_reduces_the_larger_leg_to_the_smaller(
    long_: str, short: str, reduced: str
) -> None:
    # As after an auto-deleverage of one leg: the other leg is brought down to match.
    repair, held, alerts = run(step, {"hl": long_, "aster": short})
    smaller = min(D(long_), -D(short))
    assert held == {"hl": smaller, "aster": -smaller}
    assert (
        repair is not None and repair.status == "repaired" and repair.policy is DriftPolicy.REHEDGE
    )
    assert repair.after == (smaller, -smaller)
    assert repair.result is not None and repair.result.filled == abs(D(long_) + D(short))
    assert [a.kind for a in alerts] == ["drift"] and alerts[0].amounts["gap"] == D(long_) + D(short)


def test_flatten_closes_both_legs() -> None:
    repair, held, _ = run(step, {"hl": "2", "aster": "-1.5"}, policy=DriftPolicy.FLATTEN)
    assert held == {"hl": 0, "aster": 0}
    assert repair is not None and repair.status == "repaired" and repair.after == (0, 0)


def test_adopt_trades_nothing_and_records_the_sizes() -> None:
    repair, held, alerts = run(step, {"hl": "2", "aster": "-1.5"}, policy=DriftPolicy.ADOPT)
    assert held == {"hl": 2, "aster": D("-1.5")}
    assert repair is not None and repair.status == "adopted" and repair.after == (2, D("-1.5"))
    assert [a.kind for a in alerts] == ["drift"]


def test_halt_latches_the_kill_switch_and_leaves_the_positions() -> None:
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], monitor: DriftMonitor
    ) -> Any:
        repair = await monitor.step(PAIR)
        assert monitor.kill_switch is not None
        ex = AtomicExecutor(sessions, kill_switch=monitor.kill_switch)
        refused = await ex.open(
            [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)],
            D("1"),
            AtomicConfig(),
        )
        return repair, refused

    (repair, refused), held, alerts = run(
        body, {"hl": "2", "aster": "-1.5"}, policy=DriftPolicy.HALT, kill=True
    )
    assert repair.status == "halted"
    assert refused.status is OpenStatus.REFUSED and "legs apart by 0.5" in (refused.reason or "")
    assert held == {"hl": 2, "aster": D("-1.5")}
    assert [a.kind for a in alerts] == ["drift", "kill_switch"]


def test_a_gap_below_the_minimum_order_is_dust_and_never_traded() -> None:
    # hl's minimum order value is $10: a 0.05 gap at ~100 is $5.
    repair, held, alerts = run(step, {"hl": "2.05", "aster": "-2"})
    assert held == {"hl": D("2.05"), "aster": -2}
    assert repair is not None and repair.status == "adopted" and repair.drift.dust
    assert [a.kind for a in alerts] == ["drift"] and "(dust)" in alerts[0].message


def test_a_repair_is_journalled_with_its_orders_ahead(tmp_path: Path) -> None:
    url = str(tmp_path / "j.sqlite3")
    repair, _, _ = run(step, {"hl": "2", "aster": "-1"}, journal_url=url)
    assert repair is not None and repair.op_id is not None

    async def read() -> tuple[Any, list[Any]]:
        j = await open_journal(url, read_only=True)
        try:
            return await j.operation(repair.op_id), await j.events(repair.op_id)
        finally:
            await j.close()

    op, events = asyncio.run(read())
    assert op.kind == "repair" and op.status == "repaired"
    kinds = [e.event for e in events]
    assert kinds[0] == "start" and kinds[-1] == "result"
    orders = [e.data for e in events if e.event == "order"]
    assert orders and {o["role"] for o in orders} == {"repair"}
    assert all(
        o["reduce_only"] is True and o["venue"] == "hl" and o["side"] == "sell" for o in orders
    )


def test_bad_pairs_and_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="different venues"):
        PairLegs("x", "hl", "ETH", "hl", "ETH")
    with pytest.raises(ValueError, match="confirm_after_s"):
        DriftConfig(confirm_after_s=0)
    with pytest.raises(ValueError):
        DriftConfig(policy="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(DriftPolicy.REHEDGE, ("1.5", "-1.5")), (DriftPolicy.FLATTEN, ("0", "0"))],
)
def test_an_auto_deleveraged_leg_is_repaired_and_the_ledger_agrees_with_the_venues(
    policy: DriftPolicy, expected: tuple[str, str]
) -> None:
    # aster deleverages 0.5 of our short (a reduce we never sent): the ledger counts the forced
    # fill, the monitor confirms the gap and repairs it; afterwards the positions our fills
    # imply equal each venue's own.
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], monitor: DriftMonitor
    ) -> Any:
        forced: list[str] = []
        sessions["aster"].add_forced_fill_listener(lambda f, kind: forced.append(kind))
        venues["aster"].adl("ETH", D("0.5"))
        await asyncio.sleep(1.0)
        repair = await monitor.step(PAIR)
        await asyncio.sleep(1.0)
        for s in sessions.values():
            await s.reconcile_now("check")
        return repair, forced, {n: s.last_mismatches for n, s in sessions.items()}

    (repair, forced, mismatches), held, alerts = run(
        body, {"hl": "2", "aster": "-2"}, policy=policy
    )
    assert forced == ["adl"]
    assert repair is not None and repair.status == "repaired"
    assert held == {"hl": D(expected[0]), "aster": D(expected[1])}
    assert mismatches == {"hl": [], "aster": []}
    assert [a.kind for a in alerts] == ["drift"]
