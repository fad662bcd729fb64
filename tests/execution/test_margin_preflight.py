"""The open's margin pre-flight on simulated venues (cross margin, tiered maintenance): an open a
venue would not margin is refused before anything is placed — short of initial margin, a
leverage above the tier's cap, a liquidation price nearer than the configured floor, a venue
whose margin cannot be read — and an open with room goes ahead. Judged by the venues' own books
and positions: a refusal leaves nothing placed anywhere.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicConfig, AtomicExecutor, AtomicResult, LegSpec, OpenStatus
from hedgekit.model import Side
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import FaultConfig, MarginConfig, Outage, SimVenue

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, venue_config

D = Decimal
LEGS = [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)]


def open_pair(
    size: str,
    config: AtomicConfig,
    *,
    collateral: dict[str, str] | None = None,
    faults: dict[str, FaultConfig] | None = None,
) -> tuple[AtomicResult, dict[str, Decimal], dict[str, int], dict[str, Any]]:
    """Opens ``size`` (mid ~100) with taker entries; returns the result, the venues' positions,
    how many orders each venue received, and each venue's leverage after."""
    collateral = collateral or {}
    faults = faults or {}
    configs = [
        venue_config(
            style,
            name=name,
            mkt=market(level_size=D("50")),
            margin=MarginConfig(collateral=D(collateral.get(name, "1000000"))),
            faults=faults.get(name, FaultConfig()),
        )  # fmt: skip
        for name, style in (("hl", "hyperliquid"), ("aster", "aster"))
    ]

    async def main() -> tuple[AtomicResult, dict[str, Decimal], dict[str, int], dict[str, Any]]:
        clock = LoopClock()
        ledger = FillLedger()
        venues = {c.name: SimVenue(c, clock) for c in configs}
        sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        try:
            await asyncio.sleep(0.5)
            result = await AtomicExecutor(sessions, clock=clock).open(LEGS, D(size), config)
            await asyncio.sleep(1.0)
            return (
                result,
                {n: v.engine.position("ETH") for n, v in venues.items()},
                {n: len(s.tracker.all_client_ids()) for n, s in sessions.items()},
                {n: v.engine.leverage("ETH") for n, v in venues.items()},
            )
        finally:
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main())


TAKER = AtomicConfig(plan="taker_both", max_entry_spread_bps=D(50))  # type: ignore[arg-type]


def test_an_open_with_room_goes_ahead() -> None:
    result, held, sent, _ = open_pair("2", TAKER)
    assert result.status is OpenStatus.OPENED
    assert held == {"hl": 2, "aster": -2} and sent["hl"] >= 1


def test_an_open_one_venue_cannot_margin_is_refused_with_nothing_placed() -> None:
    # 2 ETH at ~100 on 20x leverage needs ~10 of initial margin: aster has 3.
    result, held, sent, _ = open_pair("2", TAKER, collateral={"aster": "3"})
    assert result.status is OpenStatus.REFUSED
    assert result.reason is not None and result.reason.startswith("aster margin:")
    assert held == {"hl": 0, "aster": 0} and sent == {"hl": 0, "aster": 0}


def test_a_leverage_above_the_tier_cap_is_refused_with_nothing_placed() -> None:
    # Hyperliquid's simulated table caps leverage at 25x.
    cfg = AtomicConfig(plan="taker_both", max_entry_spread_bps=D(50), leverage=D(40))  # type: ignore[arg-type]
    result, held, sent, lev = open_pair("2", cfg)
    assert result.status is OpenStatus.REFUSED
    assert result.reason is not None and "hl leverage 40 refused" in result.reason
    assert held == {"hl": 0, "aster": 0} and sent == {"hl": 0, "aster": 0}
    assert lev["hl"] == 20  # unchanged


def test_the_configured_leverage_is_set_on_both_legs() -> None:
    cfg = AtomicConfig(plan="taker_both", max_entry_spread_bps=D(50), leverage=D(5))  # type: ignore[arg-type]
    result, held, _, lev = open_pair("2", cfg)
    assert result.status is OpenStatus.OPENED and held == {"hl": 2, "aster": -2}
    assert lev == {"hl": 5, "aster": 5}


@pytest.mark.parametrize(("collateral", "opens"), [("12", False), ("100", True)])
def test_a_liquidation_price_nearer_than_the_floor_is_refused(collateral: str, opens: bool) -> None:
    # 2 ETH at ~100 with 12 of collateral: liquidated after a ~4 % move (under a 10 % floor);
    # with 100 of collateral, only after a ~48 % move.
    cfg = AtomicConfig(
        plan="taker_both", max_entry_spread_bps=D(50), min_liquidation_distance=D("0.1")
    )  # type: ignore[arg-type]
    result, held, sent, _ = open_pair("2", cfg, collateral={"hl": collateral, "aster": "100"})
    if opens:
        assert result.status is OpenStatus.OPENED and held == {"hl": 2, "aster": -2}
    else:
        assert result.status is OpenStatus.REFUSED
        assert result.reason is not None and result.reason.startswith(
            "hl liquidation price after the open"
        )
        assert "under the 10.00% floor" in result.reason
        assert held == {"hl": 0, "aster": 0} and sent == {"hl": 0, "aster": 0}


def test_margin_that_cannot_be_read_refuses_the_open() -> None:
    faults = {"aster": FaultConfig(outages=(Outage("account", 0, 600_000 * MS),))}
    result, held, sent, _ = open_pair("2", TAKER, faults=faults)
    assert result.status is OpenStatus.REFUSED
    assert result.reason is not None and result.reason.startswith("aster margin could not be read")
    assert held == {"hl": 0, "aster": 0} and sent == {"hl": 0, "aster": 0}


def test_margin_check_false_skips_the_reads() -> None:
    # The same outage does not matter when the check is off (and an account short of margin is
    # then the venue's to refuse, order by order).
    faults = {"aster": FaultConfig(outages=(Outage("account", 0, 600_000 * MS),))}
    cfg = AtomicConfig(plan="taker_both", max_entry_spread_bps=D(50), margin_check=False)  # type: ignore[arg-type]
    result, held, _, _ = open_pair("2", cfg, faults=faults)
    assert result.status is OpenStatus.OPENED and held == {"hl": 2, "aster": -2}


def test_bad_margin_settings_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="leverage must be positive"):
        AtomicConfig(leverage=D(0))
    with pytest.raises(ValueError, match="min_liquidation_distance"):
        AtomicConfig(min_liquidation_distance=D(1))
