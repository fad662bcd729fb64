"""Scenario tests of the simulated venue: each behaviour the venues show, through the Venue API."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest
from simkit import MS, D, market, order, venue_config

from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import (
    InvalidOrderError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from hedgekit.model import (
    CancelResult,
    Fill,
    Liquidity,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    StreamStatus,
    TimeInForce,
)
from hedgekit.venues import Venue
from hedgekit.venues.sim import (
    DeliveryConfig,
    Disconnect,
    FaultConfig,
    FillConfig,
    Lat,
    LatencyConfig,
    LostMessage,
    Outage,
    PostOnlyMode,
    RateLimit,
    RateLimitConfig,
    ScriptedEvent,
    SimVenue,
    aster,
    hyperliquid,
)

S = 1_000_000_000


async def drain(stream, timeout: float = 1.0) -> list:  # type: ignore[no-untyped-def]
    """Every event delivered until the stream has been quiet for ``timeout`` (virtual) seconds."""
    out = []
    while (ev := await stream.get(timeout)) is not None:
        out.append(ev)
    return out


def test_sim_venue_implements_the_protocol() -> None:
    assert isinstance(SimVenue(venue_config()), Venue)


def test_answer_arrives_after_entry_plus_response_latency() -> None:
    async def main() -> tuple[int, int, object]:
        clock = LoopClock()
        venue = SimVenue(venue_config(latency_ms=10), clock)
        await venue.connect()
        q = venue.quote("ETH")
        assert q is not None
        t0 = clock.now_ns()
        ack = await venue.place(order("buy", "1", str(q.bid - D("1"))))
        return t0, clock.now_ns(), ack

    t0, t1, ack = run_virtual(main())
    assert t1 - t0 == 20 * MS
    assert ack.status is OrderStatus.OPEN  # type: ignore[attr-defined]


def test_our_book_lags_the_venue_by_the_feed_latency() -> None:
    script = (ScriptedEvent(100 * MS, "mid", price=D("105")),)

    async def main() -> tuple[Decimal, Decimal, Decimal]:
        venue = SimVenue(venue_config(mkt=market(script=script), feed_ms=5))
        await venue.connect()
        before = venue.quote("ETH").mid  # type: ignore[union-attr]
        await asyncio.sleep(0.104)
        still = venue.quote("ETH").mid  # type: ignore[union-attr]
        await asyncio.sleep(0.002)
        after = venue.quote("ETH").mid  # type: ignore[union-attr]
        return before, still, after

    before, still, after = run_virtual(main())
    assert before == still
    assert abs(after - D("105")) <= D("0.01")


def _busy_config(seed: int):  # type: ignore[no-untyped-def]
    cfg = venue_config(
        mkt=market(vol_bps_per_sqrt_s=20.0, trade_rate_per_s=2.0, trade_size=D("2"), levels=10),
        latency=LatencyConfig(
            entry=Lat(5 * MS, 3 * MS, 50 * MS),
            response=Lat(5 * MS, 3 * MS, 50 * MS),
            feed_public=Lat(2 * MS, 1 * MS, 20 * MS),
            feed_private=Lat(2 * MS, 2 * MS, 20 * MS),
        ),
        delivery=DeliveryConfig(p_dup=0.3, p_holdback=0.2, p_shuffle=0.5),
        seed=seed,
    )
    return cfg


def _run_busy(seed: int) -> tuple[list[object], list[Fill], int]:
    async def main() -> tuple[list[object], list[Fill], int]:
        venue = SimVenue(_busy_config(seed))
        stream = venue.events()
        await venue.connect()
        for i in range(40):
            q = venue.quote("ETH")
            assert q is not None
            side = "buy" if i % 2 == 0 else "sell"
            px = q.bid if side == "buy" else q.ask
            try:
                await venue.place(
                    order(side, "0.5", str(px), tif=TimeInForce.POST_ONLY, client_id=f"o{i}")
                )
            except PostOnlyRejectedError:
                pass
            await asyncio.sleep(3.0)
        events = await drain(stream, 5.0)
        await venue.close()
        return events, venue.engine.fills(), venue.stats["requests"]

    return run_virtual(main())


def test_same_seed_same_run_and_minutes_of_venue_time() -> None:
    a_events, a_fills, _ = _run_busy(7)
    b_events, b_fills, _ = _run_busy(7)
    c_events, c_fills, _ = _run_busy(8)
    assert a_fills, "the busy market should fill some of our resting orders"
    assert a_events == b_events
    assert a_fills == b_fills
    assert (c_events, c_fills) != (a_events, a_fills)


def test_outside_trades_consume_depth() -> None:
    script = (ScriptedEvent(50 * MS, "trade", side="buy", size=D("10")),)

    async def main() -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        venue = SimVenue(venue_config(mkt=market(script=script)))
        await venue.connect()
        before = venue.book("ETH").levels("ask", 3)
        await asyncio.sleep(0.1)
        return before, venue.book("ETH").levels("ask", 3)

    before, after = run_virtual(main())
    # 7 at the best ask and 3 of the next level are gone.
    assert after[0] == (before[1][0], before[1][1] - 3)
    assert after[1] == before[2]


def test_resting_order_fills_only_after_the_queue_ahead_trades() -> None:
    # Our buy joins the best bid behind 7 of outside size; outside sellers hit the bid.
    script = (
        ScriptedEvent(100 * MS, "trade", side="sell", size=D("5")),
        ScriptedEvent(200 * MS, "trade", side="sell", size=D("3")),
        ScriptedEvent(300 * MS, "trade", side="sell", size=D("4")),
    )

    async def main() -> list[Fill]:
        venue = SimVenue(venue_config(mkt=market(script=script)))
        stream = venue.events()
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "2", str(bid), tif=TimeInForce.POST_ONLY, client_id="q1"))
        events = await drain(stream)
        return [e for e in events if isinstance(e, Fill)]

    fills = run_virtual(main())
    # 5 leaves 2 ahead; 3 takes those 2 and fills us 1; 4 fills our last 1.
    assert [f.size for f in fills] == [D(1), D(1)]
    assert all(f.liquidity is Liquidity.MAKER for f in fills)


@pytest.mark.parametrize("style", ["hyperliquid", "aster", "aster-5022", "lighter"])
def test_post_only_that_would_cross_in_each_venue_style(style: str) -> None:
    if style == "aster-5022":
        cfg = venue_config("aster", personality=aster(post_only_mode=PostOnlyMode.SYNC_REJECT_CODE))
    else:
        cfg = venue_config(style)

    async def main() -> tuple[object, list[object]]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        ask = venue.quote("ETH").ask  # type: ignore[union-attr]
        try:
            result: object = await venue.place(
                order("buy", "1", str(ask), tif=TimeInForce.POST_ONLY, client_id="po")
            )
        except PostOnlyRejectedError as exc:
            result = exc
        return result, await drain(stream)

    result, events = run_virtual(main())
    updates = [e for e in events if isinstance(e, OrderUpdate)]
    if style == "hyperliquid":
        assert isinstance(result, PostOnlyRejectedError)
        assert "Post only order would have immediately matched, bbo was" in result.message
        assert updates == []
    elif style == "aster-5022":
        assert isinstance(result, PostOnlyRejectedError) and result.code == -5022
    elif style == "aster":
        assert result.status is OrderStatus.OPEN  # type: ignore[attr-defined]
        assert [u.status for u in updates][-1] is OrderStatus.EXPIRED
    else:
        assert result.status is OrderStatus.OPEN  # type: ignore[attr-defined]
        assert updates[-1].status is OrderStatus.CANCELLED
        assert updates[-1].reason == "canceled-post-only"


@pytest.mark.parametrize(
    ("style", "size", "code", "text"),
    [
        ("hyperliquid", "0.05", None, "Order must have minimum value of $10."),
        ("aster", "0.01", -4164, "Order's notional must be no smaller than 5"),
    ],
)
def test_minimum_notional_rejections_carry_the_venue_text(
    style: str, size: str, code: int | None, text: str
) -> None:
    async def main() -> OrderRejectedError:
        venue = SimVenue(venue_config(style))
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        with pytest.raises(OrderRejectedError) as info:
            await venue.place(order("buy", size, str(bid - 1)))
        return info.value

    err = run_virtual(main())
    assert err.definitive
    assert err.reason == "min_notional"
    assert err.code == code
    assert text in err.message


def test_lighter_minimum_is_reported_on_the_stream() -> None:
    async def main() -> tuple[object, list[object]]:
        venue = SimVenue(venue_config("lighter"))
        stream = venue.events()
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        ack = await venue.place(order("buy", "0.05", str(bid - 1), client_id="small"))
        return ack, await drain(stream)

    ack, events = run_virtual(main())
    assert ack.status is OrderStatus.OPEN  # type: ignore[attr-defined]
    rejected = [
        e for e in events if isinstance(e, OrderUpdate) and e.status is OrderStatus.REJECTED
    ]
    assert len(rejected) == 1 and rejected[0].client_id == "small"


@pytest.mark.parametrize("style", ["hyperliquid", "aster", "lighter"])
def test_cancel_fill_race_answers_already_filled_and_still_delivers_the_fill(style: str) -> None:
    # The cancel is sent at 100 ms and reaches the venue at 110 ms; a seller sweeps the bid at
    # 105 ms, filling our order while the cancel is in flight.
    async def main() -> tuple[CancelResult, list[object]]:
        venue = SimVenue(venue_config(style, latency_ms=10))
        stream = venue.events()
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid), tif=TimeInForce.POST_ONLY, client_id="race"))
        t_send = venue.now_ns()
        venue.schedule(
            t_send + 5 * MS,
            lambda t: venue.emit(t, venue.engine.external_trade(t, "ETH", Side.SELL, D("20"))),
        )
        result = await venue.cancel("ETH", client_id="race")
        return result, await drain(stream)

    result, events = run_virtual(main())
    assert result is CancelResult.ALREADY_FILLED
    fills = [e for e in events if isinstance(e, Fill)]
    assert sum(f.size for f in fills) == D(1)


def test_cancel_of_open_order_and_a_second_cancel() -> None:
    async def main() -> tuple[CancelResult, CancelResult]:
        venue = SimVenue(venue_config("aster"))
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid - 1), client_id="c"))
        first = await venue.cancel("ETH", client_id="c")
        second = await venue.cancel("ETH", client_id="c")
        return first, second

    assert run_virtual(main()) == (CancelResult.CANCELLED, CancelResult.ALREADY_CANCELLED)


def test_duplicate_fill_events_carry_the_same_trade_id() -> None:
    cfg = venue_config(delivery=DeliveryConfig(p_dup=1.0))

    async def main() -> list[Fill]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        ask = venue.quote("ETH").ask  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(ask), tif=TimeInForce.IOC))
        return [e for e in await drain(stream) if isinstance(e, Fill)]

    fills = run_virtual(main())
    assert len(fills) == 2 and fills[0] == fills[1]


def test_fill_can_arrive_before_the_acknowledgement() -> None:
    cfg = venue_config(delivery=DeliveryConfig(fill_before_ack=True))

    async def main() -> int:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        ask = venue.quote("ETH").ask  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(ask), tif=TimeInForce.IOC))
        return sum(
            isinstance(e, Fill)
            for e in [stream._queue.get_nowait() for _ in range(stream.pending())]
        )

    assert run_virtual(main()) == 1


def test_fills_during_a_dropped_stream_are_only_visible_by_query() -> None:
    script = (ScriptedEvent(1_500 * MS, "trade", side="sell", size=D("20")),)
    cfg = venue_config(
        mkt=market(script=script),
        faults=FaultConfig(disconnects=(Disconnect(1_000 * MS, 2_000 * MS),)),
    )

    async def main() -> tuple[list[object], object]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid), tif=TimeInForce.POST_ONLY, client_id="blind"))
        events = await drain(stream, 4.0)
        report = await venue.order_status("ETH", client_id="blind")
        return events, report

    events, report = run_virtual(main())
    assert not any(isinstance(e, Fill) for e in events)
    statuses = [e.connected for e in events if isinstance(e, StreamStatus)]
    assert statuses == [False, True]
    assert report.status is OrderStatus.FILLED  # type: ignore[attr-defined]
    assert sum(f.size for f in report.fills) == D(1)  # type: ignore[attr-defined]


def test_rate_limit_answers_429_with_retry_after_and_no_side_effect() -> None:
    limits = RateLimitConfig(limits=(RateLimit("ip", capacity=2, refill_per_s=1.0),))

    async def main() -> tuple[RateLimitedError, object]:
        venue = SimVenue(venue_config(limits=limits))
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid - 1)))
        await venue.place(order("buy", "1", str(bid - 1)))
        with pytest.raises(RateLimitedError) as info:
            await venue.place(order("buy", "1", str(bid - 1), client_id="third"))
        return info.value, venue.engine.order_status("ETH", client_id="third")

    err, third = run_virtual(main())
    assert err.code == 429 and err.definitive
    assert 0 < err.retry_after_s <= 1.0
    assert third is None


def test_lost_response_is_ambiguous_and_the_order_exists() -> None:
    cfg = venue_config(faults=FaultConfig(p_resp_loss=1.0, request_timeout_ns=500 * MS))

    async def main() -> tuple[VenueTimeoutError, object]:
        venue = SimVenue(cfg)
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        with pytest.raises(VenueTimeoutError) as info:
            await venue.place(order("buy", "1", str(bid - 1), client_id="ghost"))
        return info.value, venue.engine.order_status("ETH", client_id="ghost")

    err, truth = run_virtual(main())
    assert not err.definitive
    assert truth is not None and truth.status is OrderStatus.OPEN  # type: ignore[attr-defined]


def test_lost_request_times_out_and_nothing_happened() -> None:
    cfg = venue_config(faults=FaultConfig(p_req_loss=1.0, request_timeout_ns=500 * MS))

    async def main() -> object:
        venue = SimVenue(cfg)
        await venue.connect()
        with pytest.raises(VenueTimeoutError):
            await venue.place(order("buy", "1", "90", client_id="void"))
        return venue.engine.order_status("ETH", client_id="void")

    assert run_virtual(main()) is None


def test_injected_rejection_window() -> None:
    cfg = venue_config(faults=FaultConfig(reject_windows=((0, 1 * S),)))

    async def main() -> str:
        venue = SimVenue(cfg)
        await venue.connect()
        with pytest.raises(OrderRejectedError) as info:
            await venue.place(order("buy", "1", "90"))
        await asyncio.sleep(1.0)
        await venue.place(order("buy", "1", "90"))
        return info.value.reason

    assert run_virtual(main()) == "injected"


def test_taker_fees_positions_and_funding() -> None:
    cfg = venue_config(mkt=market(funding_rate=D("0.0001")))

    async def main() -> tuple[list[Fill], object, object]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(
            order("buy", "10", None, order_type=OrderType.MARKET, tif=TimeInForce.IOC)
        )
        fills = [e for e in await drain(stream) if isinstance(e, Fill)]
        before = (await venue.positions())["ETH"]
        await asyncio.sleep(3600)
        after = (await venue.positions())["ETH"]
        return fills, before, after

    fills, before, after = run_virtual(main())
    assert sum(f.size for f in fills) == D(10)
    assert all(f.liquidity is Liquidity.TAKER for f in fills)
    for f in fills:
        assert f.fee == (f.price * f.size * D("0.00045")).quantize(D("0.000001"))
    assert before.size == D(10)  # type: ignore[attr-defined]
    # A long pays positive funding: 10 x mark x 0.0001 once the hour has passed.
    assert after.funding == -(D(10) * after.mark_price * D("0.0001"))  # type: ignore[attr-defined]


def test_aster_book_diffs_resynchronise_after_a_gap() -> None:
    cfg = venue_config(
        "aster",
        mkt=market(vol_bps_per_sqrt_s=30.0, walk_interval_ns=100 * MS, levels=5),
        faults=FaultConfig(p_feed_drop=0.2),
        seed=3,
    )

    async def main() -> tuple[int, list[tuple[object, object]]]:
        venue = SimVenue(cfg)
        await venue.connect()
        await asyncio.sleep(20.05)
        seen = []
        # Midway between walk steps, whenever our book has applied the latest diff it must equal
        # the venue's book exactly.
        for _ in range(50):
            book = venue.book("ETH")
            if book.is_synced and book.last_update_id == venue._feed_seq["ETH"]:
                truth = venue.engine.book_levels("ETH", 5)
                seen.append(((book.levels("bid", 5), book.levels("ask", 5)), truth))
            await asyncio.sleep(0.1)
        return venue.stats["book_gaps"], seen

    gaps, seen = run_virtual(main())
    assert gaps > 0
    assert len(seen) > 10
    for ours, truth in seen:
        assert ours == truth


def test_speed_bumps_delay_taker_orders_more_than_maker_orders() -> None:
    lat = LatencyConfig(
        entry=Lat(10 * MS),
        response=Lat(10 * MS),
        speed_bumps=(("taker", 300 * MS), ("maker", 200 * MS), ("cancel", 200 * MS)),
    )

    async def main() -> tuple[int, int]:
        clock = LoopClock()
        venue = SimVenue(venue_config("lighter", latency=lat), clock)
        await venue.connect()
        q = venue.quote("ETH")
        assert q is not None
        t0 = clock.now_ns()
        await venue.place(order("buy", "1", str(q.bid - 1)))
        t1 = clock.now_ns()
        await venue.place(order("buy", "1", None, order_type=OrderType.MARKET, tif=TimeInForce.IOC))
        return t1 - t0, clock.now_ns() - t1

    assert run_virtual(main()) == (220 * MS, 320 * MS)


def test_the_same_venue_runs_in_real_time_on_a_normal_loop() -> None:
    async def main() -> tuple[object, list[object]]:
        venue = SimVenue(venue_config(latency_ms=1, feed_ms=1))
        stream = venue.events()
        await venue.connect()
        ask = venue.quote("ETH").ask  # type: ignore[union-attr]
        ack = await venue.place(order("buy", "1", str(ask), tif=TimeInForce.IOC))
        events = await drain(stream, 0.05)
        await venue.close()
        return ack, events

    ack, events = asyncio.run(main())
    assert ack.status is OrderStatus.FILLED  # type: ignore[attr-defined]
    assert sum(e.size for e in events if isinstance(e, Fill)) == D(1)


# --------------------------------------------------------------------------- injected faults


@pytest.mark.parametrize("style", ["hyperliquid", "aster", "lighter"])
def test_every_post_only_order_refused_with_the_venue_answer(style: str) -> None:
    cfg = venue_config(style, faults=FaultConfig(reject_post_only=True))

    async def main() -> tuple[object, list[object], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        far = venue.quote("ETH").bid - D(5)  # type: ignore[union-attr]  # would rest, never cross
        try:
            result: object = await venue.place(
                order("buy", "1", str(far), tif=TimeInForce.POST_ONLY, client_id="po")
            )
        except PostOnlyRejectedError as exc:
            result = exc
        gtc = await venue.place(order("buy", "1", str(far), client_id="gtc"))  # unaffected
        assert gtc.status is OrderStatus.OPEN
        return result, await drain(stream), venue

    result, events, venue = run_virtual(main())
    updates = [e for e in events if isinstance(e, OrderUpdate) and e.client_id == "po"]
    assert venue.stats["post_only_refused"] == 1
    assert venue.engine.open_orders() == ["gtc"]
    if style == "hyperliquid":
        assert isinstance(result, PostOnlyRejectedError) and updates == []
    else:
        assert result.status is OrderStatus.OPEN  # type: ignore[attr-defined]
        final = OrderStatus.EXPIRED if style == "aster" else OrderStatus.CANCELLED
        assert updates[-1].status is final and updates[-1].filled == 0


@pytest.mark.parametrize("kind", ["answer", "request"])
def test_the_nth_placement_loses_its_answer_or_itself(kind: str) -> None:
    lost = (LostMessage("place", 2, kind),)
    cfg = venue_config(faults=FaultConfig(lose_answers=lost, request_timeout_ns=500 * MS))

    async def main() -> tuple[SimVenue, VenueTimeoutError]:
        venue = SimVenue(cfg)
        await venue.connect()
        far = str(venue.quote("ETH").bid - D(5))  # type: ignore[union-attr]
        await venue.place(order("buy", "1", far, client_id="first"))
        with pytest.raises(VenueTimeoutError) as info:
            await venue.place(order("buy", "1", far, client_id="second"))
        await venue.place(order("buy", "1", far, client_id="third"))
        await venue.order_status("ETH", client_id="second")  # other kinds are not counted
        return venue, info.value

    venue, err = run_virtual(main())
    assert not err.definitive
    second = venue.engine.order_status("ETH", client_id="second")
    if kind == "answer":  # the engine acted: the order exists
        assert second is not None and second.status is OrderStatus.OPEN
        assert venue.stats["lost_responses"] == 1 and venue.stats["lost_requests"] == 0
        assert venue.engine.open_orders() == ["first", "second", "third"]
    else:  # nothing happened
        assert second is None
        assert venue.stats["lost_requests"] == 1 and venue.stats["lost_responses"] == 0
        assert venue.engine.open_orders() == ["first", "third"]


def test_a_lost_cancel_answer_leaves_the_cancel_done() -> None:
    lost = (LostMessage("cancel", 1),)
    cfg = venue_config(faults=FaultConfig(lose_answers=lost, request_timeout_ns=500 * MS))

    async def main() -> SimVenue:
        venue = SimVenue(cfg)
        await venue.connect()
        await venue.place(order("buy", "1", "90", client_id="c"))
        with pytest.raises(VenueTimeoutError):
            await venue.cancel("ETH", client_id="c")
        return venue

    venue = run_virtual(main())
    report = venue.engine.order_status("ETH", client_id="c")
    assert report is not None and report.status is OrderStatus.CANCELLED


def test_one_trade_filling_two_of_our_orders_shares_one_trade_id_on_the_stream() -> None:
    script = (ScriptedEvent(500 * MS, "trade", side="sell", size=D("30")),)
    cfg = venue_config(mkt=market(script=script), fills=FillConfig(shared_trade_id=True))

    async def main() -> tuple[list[Fill], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid), client_id="a"))
        await venue.place(order("buy", "2", str(bid - D("0.01")), client_id="b"))
        return [e for e in await drain(stream) if isinstance(e, Fill)], venue

    fills, venue = run_virtual(main())
    assert sorted((f.client_id, f.size) for f in fills) == [("a", D(1)), ("b", D(2))]
    assert len({f.trade_id for f in fills}) == 1
    assert len({f.venue_order_id for f in fills}) == 2
    assert fills == venue.engine.fills()  # what the venue recorded
    assert venue.engine.check_invariants() == []


def test_modify_that_assigns_a_new_venue_order_id() -> None:
    script = (ScriptedEvent(1_000 * MS, "trade", side="sell", size=D("30")),)
    cfg = venue_config(mkt=market(script=script), personality=hyperliquid(modify_new_id=True))

    async def main() -> tuple[str, object, list[object], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        placed = await venue.place(order("buy", "1", str(bid - D(1)), client_id="m"))
        ack = await venue.modify("ETH", "m", price=bid, size=D(1))
        assert ack.venue_order_id != placed.venue_order_id and ack.client_id == "m"
        events = await drain(stream, 2.0)
        old = await venue.order_status("ETH", venue_order_id=placed.venue_order_id)
        return ack.venue_order_id, old, events, venue

    new_id, old, events, venue = run_virtual(main())
    assert old.status is OrderStatus.CANCELLED  # type: ignore[attr-defined]
    fills = [e for e in events if isinstance(e, Fill)]
    updates = [e for e in events if isinstance(e, OrderUpdate)]
    assert fills and {f.venue_order_id for f in fills} == {new_id}
    assert {u.venue_order_id for u in updates if u.ts_ns > 0} >= {new_id}
    after_modify = [u for u in updates if u.venue_order_id != new_id]
    assert all(u.status is OrderStatus.OPEN for u in after_modify)  # only the original's placement
    assert venue.stats["replaced_orders"] == 1
    now = venue.engine.order_status("ETH", client_id="m")
    assert now is not None and now.venue_order_id == new_id and now.status is OrderStatus.FILLED


def test_an_outage_of_one_endpoint_only() -> None:
    outage = (Outage("positions", 200 * MS, 1_000 * MS),)
    cfg = venue_config(faults=FaultConfig(outages=outage))

    async def main() -> tuple[list[str], SimVenue]:
        venue = SimVenue(cfg)
        await venue.connect()
        seen = []
        await venue.positions()  # before the window
        seen.append("ok")
        await asyncio.sleep(0.3)
        try:
            await venue.positions()
            seen.append("ok")
        except VenueUnavailableError as exc:
            assert exc.code == 503 and not exc.definitive
            seen.append("503")
        ask = venue.quote("ETH").ask  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(ask), tif=TimeInForce.IOC, client_id="t"))
        await venue.order_status("ETH", client_id="t")
        seen.append("others ok")
        await asyncio.sleep(1.0)
        positions = await venue.positions()
        seen.append("ok" if positions["ETH"].size == D(1) else "wrong")
        return seen, venue

    seen, venue = run_virtual(main())
    assert seen == ["ok", "503", "others ok", "ok"]
    assert venue.stats["outage_refusals"] == 1


def test_with_check_rules_an_unplaceable_order_is_refused_before_it_is_sent() -> None:
    async def main() -> tuple[str, int]:
        venue = SimVenue(dataclasses.replace(venue_config("hyperliquid"), check_rules=True))
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        with pytest.raises(InvalidOrderError) as info:
            await venue.place(order("buy", "0.05", str(bid - 1)))  # $5 < $10
        return info.value.reason, venue.stats["requests"]

    assert run_virtual(main()) == ("below_min_notional", 0)


def test_run_time_faults_a_silent_stream_noticed_late_then_back_with_a_snapshot() -> None:
    async def main() -> list[object]:
        venue = SimVenue(venue_config("hyperliquid"))
        await venue.connect()
        events = venue.events()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        ack = await venue.place(order("buy", "1", str(bid)))
        await asyncio.sleep(0.1)
        t0 = venue.now_ns()
        venue.drop_stream(1_000 * MS, snapshot_fills=5, notice_ns=400 * MS)
        venue.fill_resting("ETH", ack.venue_order_id)  # while nobody hears it
        got: list[object] = []
        while (e := await events.get(timeout=2.0)) is not None:
            got.append((e.connected, e.ts_ns - t0) if isinstance(e, StreamStatus) else e)
        return got

    got = run_virtual(main())
    statuses = [g for g in got if isinstance(g, tuple)]
    assert statuses == [(False, 400 * MS), (True, 1_000 * MS)]
    fills = [g for g in got if isinstance(g, Fill)]
    assert sum(f.size for f in fills) == D(1)  # the snapshot after the silence, once
    assert got.index(statuses[1]) < got.index(fills[0])


def test_run_time_faults_race_a_cancel_and_cancel_an_accepted_order() -> None:
    async def main() -> tuple[CancelResult, list[object], object]:
        venue = SimVenue(venue_config("hyperliquid"))
        await venue.connect()
        events = venue.events()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid - 1), client_id="r1"))
        venue.race_next_cancel(200 * MS)
        result = await venue.cancel("ETH", client_id="r1")
        answered = venue.now_ns()
        late = []  # when each fill reached us, after the cancel's answer
        while (e := await events.get(timeout=1.0)) is not None:
            if isinstance(e, Fill):
                late.append(venue.now_ns() - answered)
        venue.cancel_next_accepted(50 * MS)
        ack = await venue.place(order("buy", "1", str(bid - 1), client_id="a1"))
        assert ack.status is OrderStatus.OPEN
        await asyncio.sleep(0.2)
        report = await venue.order_status("ETH", client_id="a1")
        return result, late, report

    result, late, report = run_virtual(main())
    assert result is CancelResult.ALREADY_FILLED
    assert late and all(d > 0 for d in late)  # the fill reached us after the answer
    assert report.status is OrderStatus.CANCELLED  # type: ignore[attr-defined]
    assert report.reason == "marginCanceled"  # type: ignore[attr-defined]


def test_run_time_faults_refuse_impossible_windows() -> None:
    venue = SimVenue(venue_config("hyperliquid"))
    with pytest.raises(ValueError):
        venue.drop_stream(100 * MS, notice_ns=100 * MS)
    with pytest.raises(ValueError):
        venue.lose_next("nonsense")
    with pytest.raises(ValueError):
        venue.race_next_cancel(-1)


@pytest.mark.parametrize(
    ("bump_ms", "expiry_ms", "executed"),
    [(3_500, 4_000, True), (4_500, 4_000, False), (9_000, 4_000, False), (9_000, 0, True),
     (4_500, 5_000, True)],
)  # fmt: skip
def test_a_placement_that_reaches_the_engine_past_its_deadline_is_refused_unexecuted(
    bump_ms: int, expiry_ms: int, executed: bool
) -> None:
    # The deadline stamped on a request when it is sent (expiresAfter, ExpiredAt, recvWindow)
    # is what lets a client believe "no such order" later: past it, a stalled request never
    # executes, however late it reaches the matching engine.
    async def main() -> tuple[object, OrderStatus | None, int]:
        lat = LatencyConfig(
            entry=Lat(10 * MS), response=Lat(10 * MS), speed_bumps=(("maker", bump_ms * MS),)
        )
        venue = SimVenue(
            venue_config(
                "hyperliquid",
                latency=lat,
                faults=FaultConfig(request_timeout_ns=20 * S),
                request_expiry_ns=expiry_ms * MS,
            )
        )
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        try:
            answer: object = await venue.place(order("buy", "1", str(bid - 1), client_id="x1"))
        except OrderRejectedError as exc:
            answer = exc
        report = await venue.order_status("ETH", client_id="x1")
        return answer, None if report is None else report.status, venue.stats["expired_requests"]

    answer, status, expired = run_virtual(main())
    if executed:
        assert status is OrderStatus.OPEN and expired == 0
    else:
        assert isinstance(answer, OrderRejectedError) and answer.reason == "expired"
        assert status is None and expired == 1  # the venue never saw an order


def test_a_modify_past_its_deadline_leaves_the_order_as_it_was() -> None:
    async def main() -> tuple[object, Decimal, Decimal | None]:
        # entry latency 10 ms at the start, 5 s from t = 1 s on
        lat = LatencyConfig(schedule=((0, 10 * MS), (1_000 * MS, 5_000 * MS)))
        venue = SimVenue(
            venue_config("hyperliquid", latency=lat, faults=FaultConfig(request_timeout_ns=30 * S))
        )
        await venue.connect()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        await venue.place(order("buy", "1", str(bid - 1), client_id="m1"))
        await asyncio.sleep(1.0)
        try:
            answer: object = await venue.modify("ETH", client_id="m1", price=bid - 2, size=D(1))
        except OrderRejectedError as exc:
            answer = exc
        report = await venue.order_status("ETH", client_id="m1")
        return answer, bid - 1, None if report is None else report.price

    answer, placed_at, price = run_virtual(main())
    assert isinstance(answer, OrderRejectedError) and answer.reason == "expired"
    assert price == placed_at  # still resting where it was placed


def test_overlapping_disconnects_keep_the_stream_down_until_the_last_one_ends() -> None:
    # Two scripted drops that overlap are one outage: the stream is not announced back while
    # another window still drops its events (a fill then would be lost behind "connected").
    async def main() -> list[object]:
        faults = FaultConfig(
            disconnects=(Disconnect(100 * MS, 1_000 * MS), Disconnect(500 * MS, 2_000 * MS, 5))
        )
        venue = SimVenue(venue_config("hyperliquid", faults=faults))
        await venue.connect()
        t0 = venue.start_ns
        events = venue.events()
        bid = venue.quote("ETH").bid  # type: ignore[union-attr]
        ack = await venue.place(order("buy", "1", str(bid), client_id="d1"))
        await asyncio.sleep(1.5 - (venue.now_ns() - t0) / S)  # inside the second window only
        venue.fill_resting("ETH", ack.venue_order_id)
        got: list[object] = []
        while (e := await events.get(timeout=3.0)) is not None:
            if isinstance(e, StreamStatus):
                got.append((e.connected, e.ts_ns - t0))
            elif isinstance(e, Fill):
                got.append(("fill", e.ts_ns - t0))
        return got

    got = run_virtual(main())
    statuses = [g for g in got if g[0] in (True, False)]
    assert [s for s in statuses if s[0] is True] == [(True, 2_500 * MS)]
    fills = [g for g in got if g[0] == "fill"]
    assert fills and got.index(fills[0]) > got.index((True, 2_500 * MS))  # only the snapshot
