"""``OrderExecutor`` against one simulated venue, on the virtual clock: each execution mode, the
repricing of a resting order, dust, a stale book and the adaptive choice — checked against what
the venue itself recorded (fills, fees, what still rests), not only against the result.

The simulated book (``simkit.market()``): mid 100, best bid 100, best ask 100.01, five levels of 7
on each side one cent apart; Hyperliquid fees 1.5 bps maker and 4.5 bps taker, $10 minimum value.
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
from hedgekit._core import break_even_price
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import ExecutionMode, OrderConfig, OrderExecutor, Reference
from hedgekit.execution.results import ExecutionResult
from hedgekit.model import Liquidity, OrderStatus, Side, TimeInForce
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    Disconnect,
    FaultConfig,
    ScriptedEvent,
    SimVenue,
    SimVenueConfig,
    aster,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, venue_config

D = Decimal
S = 1_000_000_000
T = TypeVar("T")

HL_MAKER = D("0.00015")
HL_TAKER = D("0.00045")
BID, ASK, MID = D("100"), D("100.01"), D("100.005")
TERMINAL = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}

Body = Callable[[SimVenue, VenueSession, OrderExecutor], Awaitable[T]]


def run(cfg: SimVenueConfig, body: Body[T], *, warmup_s: float = 0.1) -> T:
    """Runs ``body`` on a connected venue with a started session, on the virtual clock."""

    async def main() -> T:
        clock = LoopClock()
        venue = SimVenue(cfg, clock)
        session = VenueSession(venue, FillLedger(), clock)
        await venue.connect()
        await session.start()
        try:
            await asyncio.sleep(warmup_s)
            return await body(venue, session, OrderExecutor(session))
        finally:
            await session.close()
            await venue.close()

    return run_virtual(main())


def at(ms: int, action: str, **kw: object) -> ScriptedEvent:
    """A scripted market event ``ms`` milliseconds after the venue starts."""
    return ScriptedEvent(ms * MS, action, **kw)  # type: ignore[arg-type]


def nothing_rests(venue: SimVenue, result: ExecutionResult) -> bool:
    """Every order of ``result`` is over on the venue (filled, cancelled, expired or rejected)."""
    for cid in result.client_ids:
        truth = venue.engine.order_status("ETH", client_id=cid)
        if truth is not None and truth.status not in TERMINAL:
            return False
    return True


def venue_fills_of(venue: SimVenue, result: ExecutionResult) -> Decimal:
    """The size the venue says it filled for the result's orders."""
    return sum((f.size for f in venue.engine.fills() if f.client_id in result.client_ids), D(0))


# ------------------------------------------------------------------------------------ market_only
@pytest.mark.parametrize(
    ("side", "touch"),
    [(Side.BUY, ASK), (Side.SELL, BID)],
)
def test_market_only_takes_at_once_at_the_touch(side: Side, touch: Decimal) -> None:
    async def body(venue: SimVenue, session: VenueSession, ex: OrderExecutor) -> ExecutionResult:
        return await ex.execute("ETH", side, D("2"), OrderConfig(mode=ExecutionMode.MARKET_ONLY))

    r = run(venue_config(), body)
    assert r.complete and r.reason is None
    assert r.mode == "market_only"
    assert len(r.client_ids) == 1
    assert r.avg_price == touch
    assert r.maker_size == 0 and r.maker_share == 0.0
    assert r.fees == (D("2") * touch * HL_TAKER).quantize(D("0.000001"))
    assert r.arrival_mid == MID
    # Paying the half-spread is a cost, whichever the side.
    assert r.slippage_bps is not None and r.slippage_bps > 0
    assert r.slippage_bps == pytest.approx(float(D("0.005") / MID * 10_000))
    # Done within the round trip (10 ms there, 10 ms back), not after some timeout.
    assert r.ended_ns - r.started_ns == 20 * MS


@pytest.mark.parametrize("deadline_s", [None, 0.2, 5.0, 60.0])
@pytest.mark.parametrize("size", ["0.2", "2", "7"])
def test_a_take_that_fills_at_once_ends_with_its_answer_whatever_its_deadline(
    deadline_s: float | None, size: str
) -> None:
    # With a deadline, what an IOC leaves is taken again after a pause for the book to refill;
    # an IOC that filled everything leaves nothing to wait for: the execution ends with its
    # answer (the round trip), not a refill pause later.
    async def body(venue: SimVenue, session: VenueSession, ex: OrderExecutor) -> ExecutionResult:
        cfg = OrderConfig(mode=ExecutionMode.MARKET_ONLY)
        return await ex.execute("ETH", Side.SELL, D(size), cfg, deadline_s=deadline_s)

    r = run(venue_config(), body)
    assert r.complete and len(r.client_ids) == 1
    assert r.ended_ns - r.started_ns == 20 * MS


def test_market_only_walks_the_book_within_the_protection() -> None:
    # 10 to buy: 7 at 100.01 and 3 at 100.02, within 50 bps of the ask.
    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, Decimal]:
        r = await ex.execute("ETH", Side.BUY, D("10"), OrderConfig(mode=ExecutionMode.MARKET_ONLY))
        limit = session.tracker.order(r.client_ids[0]).request.price
        assert limit is not None
        return r, limit

    r, limit = run(venue_config(), body)
    assert r.complete
    assert r.avg_price == D("100.013")
    assert ASK < limit <= ASK * (1 + D(50) / 10_000)
    assert r.slippage_bps is not None and r.slippage_bps > 0


@pytest.mark.parametrize(
    "protection_bps",
    [
        D("0.5"),  # 100.01 x 1.00005 floors to 100.01 on the grid: the touch only
        D(0),  # no protection: exactly the opposite touch
    ],
)
def test_market_only_never_executes_beyond_the_protection(protection_bps: Decimal) -> None:
    # The IOC is limited at the ask: only the 7 there fill; the rest is reported, not chased
    # through the book.
    cfg = OrderConfig(mode=ExecutionMode.MARKET_ONLY, market_protection_bps=protection_bps)

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, bool]:
        r = await ex.execute("ETH", Side.BUY, D("10"), cfg)
        return r, nothing_rests(venue, r)

    r, clean = run(venue_config(), body)
    assert r.filled == D("7") and not r.complete
    assert r.avg_price == ASK
    assert r.reason == "not filled in time"
    assert clean


# ------------------------------------------------------------------------------------- limit_only
def test_limit_only_rests_post_only_at_the_bid_and_fills_as_maker() -> None:
    # An outside seller takes the 7 ahead of us and our 2 at 100.
    cfg = venue_config(mkt=market(script=(at(500, "trade", side="sell", size=D("9")),)))

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, list[object]]:
        r = await ex.execute(
            "ETH", Side.BUY, D("2"), OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=5)
        )
        return r, [session.tracker.order(c).request for c in r.client_ids]

    r, requests = run(cfg, body)
    assert r.complete and r.mode == "limit_only"
    assert len(requests) == 1
    req = requests[0]
    assert req.tif is TimeInForce.POST_ONLY and req.price == BID  # type: ignore[attr-defined]
    assert r.avg_price == BID
    assert r.maker_size == D("2") and r.maker_share == 1.0
    assert r.fees == D("2") * BID * HL_MAKER
    # Earned the half-spread instead of paying it.
    assert r.slippage_bps is not None and r.slippage_bps < 0


def test_limit_only_times_out_and_leaves_nothing_resting() -> None:
    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, bool, int]:
        r = await ex.execute(
            "ETH", Side.SELL, D("2"), OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=2)
        )
        return r, nothing_rests(venue, r), len(venue.engine.fills())

    r, clean, fills = run(venue_config(), body)
    assert r.filled == 0 and r.avg_price is None and r.maker_share is None
    assert r.reason == "not filled in time"
    assert r.client_ids and clean
    assert fills == 0
    assert 2 * S <= r.ended_ns - r.started_ns < 3 * S


# ---------------------------------------------------------------------------- limit_with_fallback
def test_limit_with_fallback_takes_the_rest_after_the_passive_timeout() -> None:
    # The seller takes the 7 ahead and 1 of our 3; the other 2 are taken by the IOC at the timeout.
    cfg = venue_config(mkt=market(script=(at(500, "trade", side="sell", size=D("8")),)))
    order_cfg = OrderConfig(mode=ExecutionMode.LIMIT_WITH_FALLBACK, timeout_s=1.5)

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, list[TimeInForce], bool]:
        r = await ex.execute("ETH", Side.BUY, D("3"), order_cfg)
        tifs = [session.tracker.order(c).request.tif for c in r.client_ids]
        return r, tifs, nothing_rests(venue, r)

    r, tifs, clean = run(cfg, body)
    assert r.complete and r.mode == "limit_with_fallback"
    assert tifs == [TimeInForce.POST_ONLY, TimeInForce.IOC]
    assert r.maker_size == D("1")
    assert r.avg_price == ((BID + 2 * ASK) / 3).quantize(D("1e-9")).normalize()
    assert r.fees == BID * HL_MAKER + (2 * ASK * HL_TAKER).quantize(D("0.000001"))
    assert r.ended_ns - r.started_ns >= int(1.5 * S)
    assert clean


@pytest.mark.parametrize(("room", "taken"), [("0", "1"), ("1.5", "2.5"), ("5", "3")])
def test_a_cap_keeps_the_next_step_within_what_the_caller_still_lacks(
    room: str, taken: str
) -> None:
    # As in the fallback test, the passive step fills 1 of 3; meanwhile the caller's other
    # orders filled (a hedge's leg got its entry's fill): the cap says how much more may be
    # added now, and the fallback IOC sends no more than that (nothing at 0); the result says
    # why it stopped short. A cap above what is left changes nothing.
    cfg = venue_config(mkt=market(script=(at(500, "trade", side="sell", size=D("8")),)))
    order_cfg = OrderConfig(mode=ExecutionMode.LIMIT_WITH_FALLBACK, timeout_s=1.5)
    asked: list[Decimal] = []

    def cap() -> Decimal:
        asked.append(D(room))
        return D(room) if venue_filled[0] else D("3")

    venue_filled = [False]

    async def body(venue: SimVenue, session: VenueSession, ex: OrderExecutor) -> ExecutionResult:
        async def flip() -> None:
            await asyncio.sleep(1.0)  # after the passive fill, before the fallback
            venue_filled[0] = True

        task = asyncio.ensure_future(flip())
        r = await ex.execute("ETH", Side.BUY, D("3"), order_cfg, cap=cap)
        await task
        assert nothing_rests(venue, r)
        assert venue_fills_of(venue, r) == r.filled
        return r

    r = run(cfg, body)
    assert r.filled == D(taken) and asked
    if D(taken) < 3:
        assert not r.complete and r.reason is not None and "other orders" in r.reason
    else:
        assert r.complete


# ------------------------------------------------------------------------------- aggressive_limit
def test_aggressive_limit_with_a_reference_fills_no_worse_than_break_even() -> None:
    # The other leg sold at 100.50: the buy's break-even (100.40) is above the ask, so the first
    # order already fills — at the ask, better than break-even.
    ref = Reference(D("100.50"), HL_TAKER)
    rules = venue_config().instruments[0].rules
    be = break_even_price(rules, "buy", ref.price, ref.fee_rate, HL_TAKER)
    assert be > ASK

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, list[object]]:
        r = await ex.execute(
            "ETH", Side.BUY, D("2"), OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT), reference=ref
        )
        return r, [session.tracker.order(c).request.price for c in r.client_ids]

    r, prices = run(venue_config(), body)
    assert r.complete and r.mode == "aggressive_limit"
    assert prices == [be]  # the break-even step alone did it
    assert r.avg_price is not None and r.avg_price <= be
    assert r.avg_price == ASK


def test_aggressive_limit_rests_at_break_even_inside_a_wide_spread() -> None:
    # Spread 99.95 / 100.05: the break-even buy (99.999) is inside it, so it rests post-only and
    # an outside seller fills it there, as maker.
    mkt = market(
        spread_ticks=10, script=(at(300, "trade", side="sell", size=D("5"), price=D("99.99")),)
    )
    ref = Reference(D("100.09"), HL_TAKER)
    rules = venue_config().instruments[0].rules
    be = break_even_price(rules, "buy", ref.price, ref.fee_rate, HL_TAKER)

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, object]:
        q = venue.quote("ETH")
        assert q is not None and q.bid < be < q.ask
        r = await ex.execute(
            "ETH", Side.BUY, D("2"), OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT), reference=ref
        )
        return r, session.tracker.order(r.client_ids[0]).request

    r, first = run(venue_config(mkt=mkt), body)
    assert first.price == be and first.tif is TimeInForce.POST_ONLY  # type: ignore[attr-defined]
    assert r.complete
    assert r.avg_price == be and r.maker_share == 1.0


def test_aggressive_limit_without_ladder_fills_ends_with_the_market_fallback() -> None:
    # The market jumps to 103 at 1.05 s; our copy of the book lags 800 ms behind, so every ladder
    # step (four of 210 ms from 1.1 s) is priced from the old book (around 100) and cannot fill.
    # The protected IOC at the end (1.94 s) is priced from the fresh book and takes the size.
    mkt = market(script=(at(1050, "mid", price=D("103")),))
    cfg = venue_config(mkt=mkt, feed_ms=800)
    order_cfg = OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.15)

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, list[tuple[str, Decimal, TimeInForce]], bool]:
        await asyncio.sleep(0.1)  # the jump has happened at the venue, not yet in our book
        q = venue.quote("ETH")
        assert q is not None and q.ask < D("101")
        r = await ex.execute("ETH", Side.BUY, D("2"), order_cfg)
        orders = [session.tracker.order(c) for c in r.client_ids]
        assert all(o.request.price is not None and o.request.price < D("101") for o in orders[:-1])
        seen = [(o.request.client_id, o.filled, o.request.tif) for o in orders]
        return r, seen, nothing_rests(venue, r)

    r, seen, clean = run(cfg, body, warmup_s=1.0)
    assert r.complete and r.mode == "aggressive_limit"
    *ladder_steps, last = seen
    assert ladder_steps, "the ladder ran before the fallback"
    assert all(filled == 0 for _, filled, _ in ladder_steps)
    assert last[2] is TimeInForce.IOC and last[1] == D("2")
    assert r.avg_price is not None and r.avg_price > D("102")
    assert r.maker_size == 0
    assert clean


def test_aggressive_limit_without_fallback_reports_the_shortfall() -> None:
    mkt = market(script=(at(1050, "mid", price=D("103")),))
    cfg = venue_config(mkt=mkt, feed_ms=800)
    order_cfg = OrderConfig(
        mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.15, market_fallback=False
    )

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, bool]:
        await asyncio.sleep(0.1)
        r = await ex.execute("ETH", Side.BUY, D("2"), order_cfg)
        return r, nothing_rests(venue, r)

    r, clean = run(cfg, body, warmup_s=1.0)
    assert r.filled == 0 and r.reason == "not filled in time"
    assert all(c.startswith("hkl") for c in r.client_ids)  # ladder orders only, no IOC
    assert clean


# ------------------------------------------------------------------------------------- repricing
def _drift_run(
    personality: object | None,
) -> tuple[ExecutionResult, dict[str, tuple[Decimal | None, OrderStatus]]]:
    # Our buy rests at 100; at 500 ms the market moves up 1% (far beyond 3 bps of tolerance).
    mkt = market(script=(at(500, "mid", price=D("101")),))
    cfg = venue_config(personality=personality, mkt=mkt)  # type: ignore[arg-type]
    order_cfg = OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=3)

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, dict[str, tuple[Decimal | None, OrderStatus]]]:
        task = asyncio.ensure_future(ex.execute("ETH", Side.BUY, D("2"), order_cfg))
        await asyncio.sleep(1.5)  # repriced by now, still resting
        mid_run: dict[str, tuple[Decimal | None, OrderStatus]] = {}
        for cid in session.tracker.all_client_ids():
            truth = venue.engine.order_status("ETH", client_id=cid)
            assert truth is not None
            mid_run[cid] = (truth.price, truth.status)
        return await task, mid_run

    return run(cfg, body)


def test_reprice_on_drift_modifies_the_same_order_where_the_venue_can() -> None:
    r, mid_run = _drift_run(None)
    assert len(r.client_ids) == 1
    ((cid, (price, status)),) = mid_run.items()
    assert cid == r.client_ids[0]
    assert status is OrderStatus.OPEN
    assert price is not None and price >= D("100.9")  # moved up with the market; 100 is gone


def test_reprice_on_drift_cancels_and_replaces_where_the_venue_cannot_modify() -> None:
    r, mid_run = _drift_run(aster(supports_modify=False))
    assert len(r.client_ids) == 2
    old, new = r.client_ids
    assert mid_run[old] == (BID, OrderStatus.CANCELLED)
    price, status = mid_run[new]
    assert status is OrderStatus.OPEN and price is not None and price >= D("100.9")


def test_small_moves_within_the_tolerance_keep_the_order_and_its_queue_place() -> None:
    # 100 → 100.02 is 2 bps: within the default 3 bps, so the order is left where it is.
    mkt = market(script=(at(500, "mid", price=D("100.025")),))

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, list[Decimal | None]]:
        r = await ex.execute(
            "ETH", Side.BUY, D("2"), OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=2)
        )
        return r, [session.tracker.order(c).request.price for c in r.client_ids]

    r, prices = run(venue_config(mkt=mkt), body)
    assert prices == [BID]
    assert r.filled == 0 and r.reason == "not filled in time"


# ------------------------------------------------------------------------------------------ dust
def test_a_size_below_the_venue_minimum_is_never_sent() -> None:
    # 0.05 at 100 is $5, under Hyperliquid's $10 minimum value.
    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, int]:
        r = await ex.execute(
            "ETH", Side.BUY, D("0.05"), OrderConfig(mode=ExecutionMode.MARKET_ONLY)
        )
        return r, venue.stats["requests"]

    r, requests = run(venue_config(), body)
    assert r.client_ids == ()
    assert requests == 0
    assert r.filled == 0
    assert r.reason == "remainder 0.05 is below the venue minimum"


def test_a_remainder_below_the_minimum_after_a_partial_fill_is_not_sent() -> None:
    # 1.05 rests; the seller fills 1 of it; the 0.05 left ($5) is dust: no IOC follows.
    cfg = venue_config(mkt=market(script=(at(500, "trade", side="sell", size=D("8")),)))
    order_cfg = OrderConfig(mode=ExecutionMode.LIMIT_WITH_FALLBACK, timeout_s=1.5)

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, bool]:
        r = await ex.execute("ETH", Side.BUY, D("1.05"), order_cfg)
        return r, nothing_rests(venue, r)

    r, clean = run(cfg, body)
    assert r.filled == D("1")
    assert len(r.client_ids) == 1  # the passive order only
    assert r.reason == "remainder 0.05 is below the venue minimum"
    assert clean


# ------------------------------------------------------------------------------------ stale book
@pytest.mark.parametrize(
    "mode", [ExecutionMode.MARKET_ONLY, ExecutionMode.LIMIT_ONLY, ExecutionMode.AGGRESSIVE_LIMIT]
)
def test_a_stale_book_places_nothing(mode: ExecutionMode) -> None:
    # The public feed stalls from 0.5 s for a minute: after 5 s our book is too old to price from.
    cfg = venue_config(faults=FaultConfig(feed_stalls=(Disconnect(500 * MS, 60 * S),)))

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, int]:
        await asyncio.sleep(6.0)
        r = await ex.execute("ETH", Side.BUY, D("2"), OrderConfig(mode=mode, max_book_age_s=5.0))
        return r, len(session.tracker.all_client_ids())

    r, placed = run(cfg, body)
    assert r.reason == "book unusable: stale"
    assert r.client_ids == () and r.filled == 0
    assert placed == 0


# -------------------------------------------------------------------------------------- adaptive
def test_adaptive_takes_at_once_on_a_deep_book_for_a_small_size() -> None:
    deep = market(levels=20, level_size=D("50"))

    async def body(venue: SimVenue, session: VenueSession, ex: OrderExecutor) -> ExecutionResult:
        return await ex.execute("ETH", Side.SELL, D("1"), OrderConfig(mode=ExecutionMode.ADAPTIVE))

    r = run(venue_config(mkt=deep), body)
    assert r.mode == "market_only"
    assert r.complete and r.avg_price == BID and r.maker_size == 0


def test_execute_refuses_a_non_positive_size() -> None:
    async def body(venue: SimVenue, session: VenueSession, ex: OrderExecutor) -> None:
        for size in (D(0), D("-1")):
            with pytest.raises(ValueError, match="positive"):
                await ex.execute("ETH", Side.BUY, size)

    run(venue_config(), body)


def test_fills_are_the_venues_own() -> None:
    # The result's filled size is the venue's record of those orders' fills, whatever the mode.
    cfg = venue_config(mkt=market(script=(at(500, "trade", side="sell", size=D("8")),)))

    async def body(
        venue: SimVenue, session: VenueSession, ex: OrderExecutor
    ) -> tuple[ExecutionResult, Decimal, Liquidity | None]:
        r = await ex.execute(
            "ETH",
            Side.BUY,
            D("3"),
            OrderConfig(mode=ExecutionMode.LIMIT_WITH_FALLBACK, timeout_s=1),
        )
        first = next(f for f in venue.engine.fills() if f.client_id == r.client_ids[0])
        return r, venue_fills_of(venue, r), first.liquidity

    r, truth, liq = run(cfg, body)
    assert r.filled == truth == D("3")
    assert liq is Liquidity.MAKER
