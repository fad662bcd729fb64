"""The pair risk monitor on simulated venues (cross margin with maintenance tiers): it measures
each leg's liquidation distance, warns, reduces both legs together, closes the pair, and closes
the survivor when a venue liquidates one leg in a fast move — judged by the venues' positions.

Worked numbers (hl: one tier, 2 % maintenance): a long of 2 from 100 with collateral C is
liquidated at m = (200 - C) / 1.96, so C = 100 → 51.0 (49 % away), 60 → 71.4 (28.6 %),
40 → 81.6 (18.4 %), 20 → 91.8 (8.2 %).
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
from hedgekit.observability import Metrics
from hedgekit.risk import Alert, AlertHub
from hedgekit.risk.drift import PairLegs
from hedgekit.risk.monitor import PairRiskMonitor, RiskAction, RiskThresholds
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import MarginConfig, ScriptedEvent, SimVenue

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import market, venue_config

D = Decimal
S = 1_000_000_000
PAIR = PairLegs("eth", "hl", "ETH", "aster", "ETH")


def run(
    hl_collateral: str,
    *,
    body: Callable[[dict[str, SimVenue], PairRiskMonitor], Awaitable[Any]] | None = None,
    hl_script: tuple[ScriptedEvent, ...] = (),
    metrics: Metrics | None = None,
) -> tuple[Any, dict[str, Decimal], list[Alert]]:
    configs = [
        venue_config(
            "hyperliquid", name="hl", mkt=market(level_size=D("50"), script=hl_script),
            margin=MarginConfig(collateral=D(hl_collateral)),
        ),
        venue_config("aster", name="aster", mkt=market(level_size=D("50")), margin=MarginConfig(collateral=D(10_000))),
    ]  # fmt: skip
    alerts: list[Alert] = []

    async def main() -> tuple[Any, dict[str, Decimal], list[Alert]]:
        clock = LoopClock()
        ledger = FillLedger()
        venues = {c.name: SimVenue(c, clock) for c in configs}
        venues["hl"].engine.seed_position("ETH", D(2), D(100))
        venues["aster"].engine.seed_position("ETH", D(-2), D(100))
        sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        hub = AlertHub()
        hub.add(alerts.append)
        try:
            await asyncio.sleep(0.5)
            monitor = PairRiskMonitor(sessions, clock=clock, alerts=hub, metrics=metrics)
            out = await (body(venues, monitor) if body is not None else monitor.step(PAIR))
            await hub.drain()
            return out, {n: v.engine.position("ETH") for n, v in venues.items()}, alerts
        finally:
            await hub.close()
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main())


def test_a_healthy_pair_is_measured_and_left_alone() -> None:
    metrics = Metrics()
    check, held, alerts = run("100", metrics=metrics)
    assert check.action is RiskAction.NONE and alerts == []
    assert held == {"hl": 2, "aster": -2}
    assert check.distance is not None and check.distance.nearest == "long"
    assert D("0.48") < check.distance.distance < D("0.50")
    assert check.distance.long.source == "venue"  # the simulated venue reports its price
    text = metrics.render().decode()
    assert 'hedgekit_liquidation_distance_ratio{leg="pair",pair="eth"} 0.4' in text


def test_under_the_warning_threshold_an_alert_and_nothing_traded() -> None:
    check, held, alerts = run("60")
    assert check.action is RiskAction.WARN
    assert held == {"hl": 2, "aster": -2}
    assert [a.kind for a in alerts] == ["liquidation_risk"] and "long leg 28" in alerts[0].message


def test_under_the_reduce_threshold_both_legs_are_halved_together() -> None:
    check, held, alerts = run("40")
    assert check.action is RiskAction.REDUCE
    assert held == {"hl": 1, "aster": -1}  # still hedged, half the size
    assert [a.kind for a in alerts] == ["liquidation_risk"]


def test_under_the_close_threshold_the_pair_is_closed() -> None:
    check, held, _ = run("20")
    assert check.action is RiskAction.CLOSE
    assert held == {"hl": 0, "aster": 0}


def test_a_leg_liquidated_in_a_fast_move_has_its_survivor_closed() -> None:
    # hl holds 10 of collateral: liquidated at ~96.9. The mid drops to 90 two seconds in; the
    # venue force-closes the long; the monitor finds the short alone and closes it.
    async def body(venues: dict[str, SimVenue], monitor: PairRiskMonitor) -> Any:
        await asyncio.sleep(3.0)
        return await monitor.step(PAIR)

    check, held, alerts = run(
        "10", body=body, hl_script=(ScriptedEvent(2 * S, "mid", price=D(90)),)
    )
    assert check.action is RiskAction.LEG_LOST and "hl" in check.detail
    assert held == {"hl": 0, "aster": 0}
    assert [a.kind for a in alerts] == ["liquidation"]


def test_the_model_is_used_when_the_venue_reports_no_liquidation_price() -> None:
    # Without the venue's price the monitor computes it from the venue's tiers: same answer.
    async def body(venues: dict[str, SimVenue], monitor: PairRiskMonitor) -> Any:
        with_venue = await monitor.assess(PAIR)
        real = monitor.sessions["hl"].fetch_positions

        async def without_price(timeout_s: float | None = None) -> Any:
            import dataclasses

            return {
                k: dataclasses.replace(p, liquidation_price=None)
                for k, p in (await real(timeout_s)).items()
            }

        monitor.sessions["hl"].fetch_positions = without_price  # type: ignore[method-assign]
        return with_venue, await monitor.assess(PAIR)

    (venue_check, model_check), _, _ = run("60", body=body)
    assert (
        venue_check.distance.long.source == "venue" and model_check.distance.long.source == "model"
    )
    assert abs(venue_check.distance.long.distance - model_check.distance.long.distance) < D("0.001")


def test_thresholds_must_be_ordered_fractions() -> None:
    with pytest.raises(ValueError, match="warn_below > reduce_below"):
        RiskThresholds(warn_below=D("0.1"), reduce_below=D("0.2"))
    with pytest.raises(ValueError, match="fractions"):
        RiskThresholds(close_below=D(2))
    with pytest.raises(ValueError, match="reduce_fraction"):
        RiskThresholds(reduce_fraction=D(1))
