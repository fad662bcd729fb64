"""``CloseExecutor`` on two simulated venues, on the virtual clock: the emergency close of a lone
leg, nothing to close, the exit-spread gate that skips the passive phase, and the positions the
result reports — re-read from the venues, never assumed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import CloseConfig, CloseExecutor, CloseLeg, CloseStatus
from hedgekit.execution.results import CloseResult
from hedgekit.model import OrderStatus, TimeInForce
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import FaultConfig, MarketConfig, ScriptedEvent, SimVenue, SimVenueConfig

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, venue_config

D = Decimal
S = 1_000_000_000
LEGS = (CloseLeg("hl", "ETH"), CloseLeg("aster", "ETH"))
LIVE = {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}


class Pair:
    """Two connected venues ("hl": Hyperliquid style, "aster": Aster style) with sessions."""

    def __init__(self, venues: dict[str, SimVenue], sessions: dict[str, VenueSession]) -> None:
        self.venues = venues
        self.sessions = sessions

    def position(self, name: str) -> Decimal:
        """The venue's own record of the position."""
        return self.venues[name].engine.position("ETH")

    def requests(self, name: str) -> list[object]:
        """Every order we sent to the venue."""
        tracker = self.sessions[name].tracker
        return [tracker.order(c).request for c in tracker.all_client_ids()]

    def resting(self) -> list[str]:
        """Our orders still open on either venue."""
        out = []
        for name, session in self.sessions.items():
            for cid in session.tracker.all_client_ids():
                truth = self.venues[name].engine.order_status("ETH", client_id=cid)
                if truth is not None and truth.status in LIVE:
                    out.append(f"{name}:{cid}")
        return out


def run_pair(
    positions: dict[str, str],
    body: Callable[[Pair, CloseExecutor], Awaitable[CloseResult]],
    *,
    hl: MarketConfig | None = None,
    aster_market: MarketConfig | None = None,
    aster_faults: FaultConfig | None = None,
) -> tuple[CloseResult, Pair, dict[str, Decimal]]:
    """Runs ``body`` with the given starting positions; returns the result, the pair and the
    venues' positions when the close returned."""
    configs: list[SimVenueConfig] = [
        venue_config("hyperliquid", name="hl", mkt=hl),
        venue_config("aster", name="aster", mkt=aster_market, faults=aster_faults or FaultConfig()),
    ]

    async def main() -> tuple[CloseResult, Pair, dict[str, Decimal]]:
        clock = LoopClock()
        ledger = FillLedger()
        venues = {c.name: SimVenue(c, clock) for c in configs}
        for name, size in positions.items():
            venues[name].engine.seed_position("ETH", D(size), D("99"))
        sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        try:
            await asyncio.sleep(0.5)
            pair = Pair(venues, sessions)
            result = await body(pair, CloseExecutor(sessions, clock=clock))
            return result, pair, {n: pair.position(n) for n in venues}
        finally:
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main())


def taker(ms: int, side: str) -> ScriptedEvent:
    """An outside taker of 20 at ``ms`` after the venue starts (``side`` is the aggressor)."""
    return ScriptedEvent(ms * MS, "trade", side=side, size=D("20"))


def kinds(result: CloseResult) -> list[str]:
    return [i.kind for i in result.incidents]


async def close_default(pair: Pair, ex: CloseExecutor) -> CloseResult:
    return await ex.close(LEGS)


def test_a_lone_leg_is_flattened_at_once_as_an_emergency() -> None:
    # Only hl holds a position (the other leg is gone): it is flattened with a reduce-only IOC,
    # without waiting for a passive phase.
    result, pair, end = run_pair({"hl": "2"}, close_default)
    assert result.status is CloseStatus.CLOSED
    assert result.phase == "emergency"
    assert "emergency_close" in kinds(result)
    emergency = next(i for i in result.incidents if i.kind == "emergency_close")
    assert "aster" in emergency.detail
    assert result.positions_before == {"hl": D("2"), "aster": D(0)}
    assert result.positions_after == {"hl": D(0), "aster": D(0)} == end
    hl_orders = pair.requests("hl")
    assert hl_orders and all(r.reduce_only and r.tif is TimeInForce.IOC for r in hl_orders)  # type: ignore[attr-defined]
    assert pair.requests("aster") == []
    assert result.ended_ns - result.started_ns < 1 * S
    leg = next(leg for leg in result.legs if leg.venue == "hl")
    assert leg.net == D("-2") and leg.maker_size == 0
    assert pair.resting() == []


def test_a_short_lone_leg_is_bought_back() -> None:
    result, _pair, end = run_pair({"aster": "-1.5"}, close_default)
    assert result.status is CloseStatus.CLOSED and result.phase == "emergency"
    assert end == {"hl": D(0), "aster": D(0)}
    leg = next(leg for leg in result.legs if leg.venue == "aster")
    assert leg.net == D("1.5")


def test_nothing_to_close_places_nothing() -> None:
    result, pair, _end = run_pair({}, close_default)
    assert result.status is CloseStatus.NOTHING_TO_CLOSE
    assert result.orders == ()
    assert result.positions_before == result.positions_after == {"hl": D(0), "aster": D(0)}
    assert pair.requests("hl") == [] and pair.requests("aster") == []
    assert "emergency_close" not in kinds(result)


def test_positions_below_the_minimum_are_dust_not_orders() -> None:
    # 0.05 on hl is $5, below its $10 minimum: nothing can be sent, it is reported as dust.
    result, pair, end = run_pair({"hl": "0.05"}, close_default)
    assert result.status is CloseStatus.NOTHING_TO_CLOSE
    assert result.dust == {"hl": D("0.05")}
    assert pair.requests("hl") == []
    assert end["hl"] == D("0.05")


def test_a_wide_exit_spread_skips_the_passive_phase_and_still_closes() -> None:
    # aster's spread is 40 ticks (about 40 bps) against a 15 bps gate: no post-only rest, the
    # legs go straight to phase 2 (break-even, ladder, market) and close.
    wide = market(spread_ticks=40)
    cfg = CloseConfig(phase1_timeout_s=20)

    async def body(pair: Pair, ex: CloseExecutor) -> CloseResult:
        return await ex.close(LEGS, cfg)

    result, pair, end = run_pair({"hl": "2", "aster": "-2"}, body, aster_market=wide)
    assert result.status is CloseStatus.CLOSED
    assert "wide_spread" in kinds(result)
    spread_incident = next(i for i in result.incidents if i.kind == "wide_spread")
    assert spread_incident.venue == "aster"
    assert result.phase == "phase2"
    assert end == {"hl": D(0), "aster": D(0)}
    assert result.positions_after == end
    # No order of the passive phase (tag "c") was ever sent; well before its 20 s timeout.
    sent = [r.client_id for name in ("hl", "aster") for r in pair.requests(name)]  # type: ignore[attr-defined]
    assert sent and not any(c.startswith("hkc") for c in sent)
    assert result.ended_ns - result.started_ns < 5 * S
    assert pair.resting() == []


def test_a_narrow_spread_rests_passively_first() -> None:
    # Both books are one cent wide; outside traders lift the resting closes: phase 1 is enough.
    hl = market(script=(taker(1000, "buy"),))
    aster_market = market(script=(taker(1000, "sell"),))

    async def body(pair: Pair, ex: CloseExecutor) -> CloseResult:
        return await ex.close(LEGS, CloseConfig(phase1_timeout_s=5))

    result, _pair, end = run_pair({"hl": "2", "aster": "-2"}, body, hl=hl, aster_market=aster_market)
    assert result.status is CloseStatus.CLOSED
    assert result.phase == "passive"
    assert "wide_spread" not in kinds(result)
    assert all(leg.maker_share == 1.0 for leg in result.legs)
    assert end == {"hl": D(0), "aster": D(0)}


def test_positions_after_are_read_from_the_venues() -> None:
    # aster refuses every order: its short stays open. The result says so from the venue's own
    # position, and the status is exposed rather than closed.
    refuse_all = FaultConfig(reject_windows=((0, 3_600 * S),))
    cfg = CloseConfig(phase1_timeout_s=1, deadline_s=3)

    async def body(pair: Pair, ex: CloseExecutor) -> CloseResult:
        return await ex.close(LEGS, cfg)

    result, _pair, end = run_pair({"hl": "2", "aster": "-2"}, body, aster_faults=refuse_all)
    assert result.positions_after == end == {"hl": D(0), "aster": D("-2")}
    assert result.status is CloseStatus.EXPOSED
    assert result.reason is not None and "aster -2" in result.reason
    assert "exposed" in kinds(result)


def test_close_refuses_no_legs_and_a_repeated_venue() -> None:
    async def body(pair: Pair, ex: CloseExecutor) -> CloseResult:
        with pytest.raises(ValueError):
            await ex.close([])
        with pytest.raises(ValueError):
            await ex.close([CloseLeg("hl", "ETH"), CloseLeg("hl", "ETH")])
        return await ex.close(LEGS)

    result, _pair, _ = run_pair({}, body)
    assert result.status is CloseStatus.NOTHING_TO_CLOSE
