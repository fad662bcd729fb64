"""``AtomicExecutor.open`` with a :class:`CircuitBreaker`, and its pre-flight, on two simulated
venues on the virtual clock: a conservative breaker makes both entries take at once, an open one
refuses before anything is placed, a reset restores the normal plan; malformed requests raise;
a stale book or a wide spread refuses the open with the venue named and nothing placed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicConfig, AtomicExecutor, EntryPlan, LegSpec, OpenStatus
from hedgekit.execution.breaker import BreakerState, CircuitBreaker
from hedgekit.execution.results import AtomicResult
from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    Disconnect,
    FaultConfig,
    MarketConfig,
    ScriptedEvent,
    SimVenue,
    SimVenueConfig,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, venue_config

D = Decimal
S = 1_000_000_000
T = TypeVar("T")
LEGS = (LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL))
QUICK = AtomicConfig(entry_timeout_s=1.0, deadline_s=5.0)


class Pair:
    """Two connected venues ("hl": Hyperliquid style, "aster": Aster style) with sessions."""

    def __init__(
        self, venues: dict[str, SimVenue], sessions: dict[str, VenueSession], clock: LoopClock
    ) -> None:
        self.venues = venues
        self.sessions = sessions
        self.clock = clock

    def requests(self, name: str) -> list[OrderRequest]:
        """Every order we sent to the venue, oldest first."""
        tracker = self.sessions[name].tracker
        return [tracker.order(c).request for c in tracker.all_client_ids()]

    def placed(self) -> int:
        """How many orders we sent to either venue."""
        return sum(len(self.requests(n)) for n in self.venues)


def run_pair(
    body: Callable[[Pair], Awaitable[T]],
    *,
    hl: MarketConfig | None = None,
    aster_market: MarketConfig | None = None,
    aster_faults: FaultConfig | None = None,
) -> T:
    """Runs ``body`` on the two venues, half a virtual second after they connect."""
    configs: list[SimVenueConfig] = [
        venue_config("hyperliquid", name="hl", mkt=hl),
        venue_config("aster", name="aster", mkt=aster_market, faults=aster_faults or FaultConfig()),
    ]

    async def main() -> T:
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
            return await body(Pair(venues, sessions, clock))
        finally:
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main())


def taker(ms: int, side: str) -> ScriptedEvent:
    """An outside taker of 20 at ``ms`` after the venue starts (``side`` is the aggressor)."""
    return ScriptedEvent(ms * MS, "trade", side=side, size=D("20"))


def kinds(result: AtomicResult) -> list[str]:
    return [i.kind for i in result.incidents]


# --------------------------------------------------------------------------------- the breaker
def test_conservative_breaker_takes_both_legs_at_once() -> None:
    breaker = CircuitBreaker()

    async def body(pair: Pair) -> tuple[AtomicResult, BreakerState, dict[str, list[OrderRequest]]]:
        now = pair.clock.now_ns()
        breaker.record_rollback(now, "earlier")
        state = breaker.record_rollback(now, "earlier again")
        ex = AtomicExecutor(pair.sessions, breaker=breaker)
        # Asked for resting entries; the breaker overrides the plan.
        result = await ex.open(LEGS, D("2"), AtomicConfig(plan=EntryPlan.MAKER_BOTH))
        return result, state, {n: pair.requests(n) for n in ("hl", "aster")}

    result, state, requests = run_pair(body)
    assert state is BreakerState.CONSERVATIVE
    assert result.status is OpenStatus.OPENED
    assert kinds(result)[0] == "conservative"
    for name, entries in requests.items():
        assert entries, name
        assert all(r.tif is TimeInForce.IOC for r in entries), name
    assert result.size == D("2")
    assert all(leg.maker_size == 0 for leg in result.legs)
    # Taking at once: opened within a few round trips, not after an entry timeout.
    assert result.ended_ns - result.started_ns < 1 * S


def test_conservative_configuration() -> None:
    cfg = AtomicConfig(plan=EntryPlan.MAKER_BOTH, slippage_budget_bps=D(25))
    c = AtomicExecutor.conservative(cfg)
    assert c.plan is EntryPlan.TAKER_BOTH
    assert c.slippage_budget_bps == D(10)
    assert c.hedge.step_timeout_s <= 0.2
    assert AtomicExecutor.conservative(
        AtomicConfig(slippage_budget_bps=D(5))
    ).slippage_budget_bps == D(5)


def test_open_breaker_refuses_and_places_nothing() -> None:
    breaker = CircuitBreaker()

    async def body(pair: Pair) -> tuple[AtomicResult, int]:
        now = pair.clock.now_ns()
        for _ in range(4):
            breaker.record_rollback(now)
        assert breaker.state(now) is BreakerState.OPEN
        result = await AtomicExecutor(pair.sessions, breaker=breaker).open(LEGS, D("2"), QUICK)
        return result, pair.placed()

    result, placed = run_pair(body)
    assert result.status is OpenStatus.REFUSED
    assert result.reason == "circuit breaker open"
    assert kinds(result) == ["refused"]
    assert placed == 0
    assert result.size == 0 and all(leg.filled == 0 for leg in result.legs)
    assert result.ok


def test_after_a_reset_the_open_is_normal_again() -> None:
    breaker = CircuitBreaker()

    async def body(pair: Pair) -> tuple[AtomicResult, AtomicResult, list[TimeInForce]]:
        now = pair.clock.now_ns()
        for _ in range(4):
            breaker.record_rollback(now)
        ex = AtomicExecutor(pair.sessions, breaker=breaker)
        refused = await ex.open(LEGS, D("2"), QUICK)
        breaker.reset(pair.clock.now_ns())
        normal = await ex.open(LEGS, D("2"), QUICK)
        return refused, normal, [r.tif for n in ("hl", "aster") for r in pair.requests(n)]

    refused, normal, tifs = run_pair(body)
    assert refused.status is OpenStatus.REFUSED
    # maker_both: both entries rest post-only; no outside trade fills them within the timeout.
    assert normal.status is OpenStatus.NOT_FILLED
    assert "conservative" not in kinds(normal) and "refused" not in kinds(normal)
    assert tifs and all(t is TimeInForce.POST_ONLY for t in tifs)


def test_hedges_and_rollbacks_feed_the_breaker() -> None:
    # Both entries rest from 0.5 s; from 0.8 s aster refuses every new order. hl's entry fills
    # (an outside seller at 1 s), the hedge on aster fails, and the filled leg is rolled back —
    # a failed hedge and a rollback: two bad outcomes, enough for CONSERVATIVE.
    hl = market(script=(taker(1000, "sell"),))
    refuse_all = FaultConfig(reject_windows=((800 * MS, 3_600 * S),))
    breaker = CircuitBreaker()

    async def body(pair: Pair) -> AtomicResult:
        return await AtomicExecutor(pair.sessions, breaker=breaker).open(
            LEGS, D("2"), AtomicConfig(entry_timeout_s=5, deadline_s=2)
        )

    result = run_pair(body, hl=hl, aster_faults=refuse_all)
    assert result.status is OpenStatus.ROLLED_BACK
    assert {"hedge_failed", "rollback"} <= set(kinds(result))
    assert [e.new_state for e in breaker.events] == [BreakerState.CONSERVATIVE]


# ----------------------------------------------------------------------------- malformed opens
@pytest.mark.parametrize(
    ("legs", "size", "match"),
    [
        ((LEGS[0],), D("1"), "two legs"),
        ((LEGS[0], LegSpec("hl", "ETH", Side.SELL)), D("1"), "different venue"),
        (LEGS, D(0), "positive"),
        (LEGS, D("-1"), "positive"),
    ],
    ids=["one-leg", "same-venue-twice", "zero-size", "negative-size"],
)
def test_open_raises_for_a_malformed_request(
    legs: tuple[LegSpec, ...], size: Decimal, match: str
) -> None:
    async def body(pair: Pair) -> int:
        with pytest.raises(ValueError, match=match):
            await AtomicExecutor(pair.sessions).open(legs, size)
        return pair.placed()

    assert run_pair(body) == 0


# ---------------------------------------------------------------------------------- pre-flight
def test_a_stale_book_at_pre_flight_refuses_naming_the_venue() -> None:
    # aster's public feed stalls from 0.2 s for a minute; 6 s later its book is too old.
    stall = FaultConfig(feed_stalls=(Disconnect(200 * MS, 60 * S),))

    async def body(pair: Pair) -> tuple[AtomicResult, int]:
        await asyncio.sleep(6.0)
        result = await AtomicExecutor(pair.sessions).open(
            LEGS, D("2"), AtomicConfig(max_book_age_s=5.0)
        )
        return result, pair.placed()

    result, placed = run_pair(body, aster_faults=stall)
    assert result.status is OpenStatus.REFUSED
    assert result.reason == "aster book unusable (stale)"
    assert placed == 0


def test_a_spread_wider_than_the_gate_refuses() -> None:
    # hl's spread is 40 ticks at 100: about 40 bps against a 15 bps gate.
    async def body(pair: Pair) -> tuple[AtomicResult, int]:
        result = await AtomicExecutor(pair.sessions).open(
            LEGS, D("2"), AtomicConfig(max_entry_spread_bps=D(15))
        )
        return result, pair.placed()

    result, placed = run_pair(body, hl=market(spread_ticks=40))
    assert result.status is OpenStatus.REFUSED
    assert result.reason == "hl spread wider than 15 bps"
    assert placed == 0


def test_the_same_spread_passes_a_wider_gate() -> None:
    async def body(pair: Pair) -> AtomicResult:
        return await AtomicExecutor(pair.sessions).open(
            LEGS, D("2"), AtomicConfig(max_entry_spread_bps=D(50), entry_timeout_s=1)
        )

    result = run_pair(body, hl=market(spread_ticks=40))
    assert result.status is OpenStatus.NOT_FILLED


def test_taker_legs_with_a_zero_slippage_budget_take_at_the_touch() -> None:
    cfg = AtomicConfig(plan=EntryPlan.TAKER_BOTH, slippage_budget_bps=D(0), entry_timeout_s=1)

    async def body(pair: Pair) -> AtomicResult:
        return await AtomicExecutor(pair.sessions).open(LEGS, D("2"), cfg)

    result = run_pair(body)
    assert result.status is OpenStatus.OPENED


def test_a_hedge_after_a_fill_with_a_rounded_fee_completes() -> None:
    # hl's resting sell (at 100.01) is lifted: 1.237 x 100.01 x 0.00015 = 0.0185568... rounds to a
    # 0.018557 fee, whose rate against the notional has no short decimal form.
    hl = market(script=(taker(1000, "buy"),))
    legs = (LegSpec("hl", "ETH", Side.SELL), LegSpec("aster", "ETH", Side.BUY))

    async def body(pair: Pair) -> AtomicResult:
        return await AtomicExecutor(pair.sessions).open(
            legs, D("1.237"), AtomicConfig(entry_timeout_s=5, deadline_s=5)
        )

    result = run_pair(body, hl=hl)
    assert result.status is OpenStatus.OPENED
