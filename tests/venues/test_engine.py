"""The simulated venue's matching engine: checks, post-only styles, taker walks, queue position,
positions, fees and funding, as a user of the sim would notice them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit._core import Instrument
from hedgekit.errors import OrderRejectedError, PostOnlyRejectedError
from hedgekit.model import (
    Fill,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    VenueEvent,
)
from hedgekit.venues.sim.config import (
    CancelSplit,
    FillConfig,
    MarketConfig,
    Personality,
    PostOnlyMode,
    QueueConfig,
    SimInstrument,
    aster,
    hyperliquid,
    lighter,
)
from hedgekit.venues.sim.engine import MatchingEngine

D = Decimal
SYM = "X"
PLAIN = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")
HL = Instrument.hyperliquid(sz_decimals=3)
LIGHTER = Instrument.lighter(
    price_decimals=2, size_decimals=3, min_base_amount="0.001", min_quote_amount="10"
)
RULES = {"hyperliquid": HL, "aster": PLAIN, "lighter": LIGHTER}
GTC, IOC, ALO = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY
BUY, SELL = Side.BUY, Side.SELL


def make(
    personality: Personality | None = None,
    rules: Instrument | None = None,
    queue: QueueConfig = QueueConfig(),  # noqa: B008 - frozen value
    fills: FillConfig = FillConfig(),  # noqa: B008 - frozen value
    **market: object,
) -> MatchingEngine:
    """An engine on one symbol: mid 100, tick 0.01, 5 levels of 7 per side (bid 100.00, ask
    100.01)."""
    p = personality or aster()
    cfg = MarketConfig(mid=D("100"), tick=D("0.01"), levels=5, level_size=D("7"), depth_growth=D(0))
    cfg = replace(cfg, **market)  # type: ignore[arg-type]
    inst = SimInstrument(SYM, rules or RULES[p.name], cfg, asset_id=4)
    return MatchingEngine(p.name, p, [inst], queue=queue, fills=fills)


def order(
    side: Side, size: str, price: str | None, cid: str, tif: TimeInForce = GTC, **kw: object
) -> OrderRequest:
    return OrderRequest(
        SYM,
        side,
        D(size),
        None if price is None else D(price),
        cid,
        tif=tif,
        **kw,  # type: ignore[arg-type]
    )


def fills_of(events: tuple[VenueEvent, ...] | list[VenueEvent]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def updates_of(events: tuple[VenueEvent, ...] | list[VenueEvent]) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def rejected(engine: MatchingEngine, request: OrderRequest) -> OrderRejectedError:
    out = engine.place(1, request)
    assert out.ack is None and out.error is not None and out.events == ()
    return out.error


def ok(engine: MatchingEngine, request: OrderRequest, now: int = 1) -> tuple[VenueEvent, ...]:
    out = engine.place(now, request)
    assert out.error is None and out.ack is not None, out.error
    return out.events


# --------------------------------------------------------------------------- the external book


def test_initial_book_straddles_the_mid() -> None:
    e = make()
    bids, asks = e.book_levels(SYM, 2)
    assert bids == [(D("100.00"), D(7)), (D("99.99"), D(7))]
    assert asks == [(D("100.01"), D(7)), (D("100.02"), D(7))]
    assert e.mid(SYM) == D(100)
    assert e.check_invariants() == []


def test_book_version_moves_only_when_the_visible_book_changes() -> None:
    e = make()
    v0 = e.book_version(SYM)
    e.external_cancel(1, SYM, BUY, D("90"), D(1))  # no such level
    assert e.book_version(SYM) == v0
    e.external_cancel(1, SYM, BUY, D("100"), D(1))
    assert e.book_version(SYM) == v0 + 1
    ok(e, order(BUY, "1", "99.50", "a"))
    assert e.book_version(SYM) == v0 + 2


# --------------------------------------------------------------------------- arrival checks


@pytest.mark.parametrize(
    ("personality", "size", "text", "code"),
    [
        (hyperliquid(), "0.05", "Order must have minimum value of $10.", None),
        (
            aster(),
            "0.01",
            "Order's notional must be no smaller than 5 (unless you choose reduce only)",
            -4164,
        ),
    ],
)
def test_min_notional_is_rejected_synchronously(
    personality: Personality, size: str, text: str, code: int | None
) -> None:
    e = make(personality)
    err = rejected(e, order(BUY, size, "99", "a"))
    assert (err.reason, err.message, err.code) == ("min_notional", text, code)
    assert e.order_status(SYM, client_id="a") is None  # no order was created


def test_lighter_minimums_are_accepted_then_rejected_on_the_stream() -> None:
    e = make(lighter())
    out = e.place(5, order(BUY, "0.05", "99", "a"))
    assert out.error is None and out.ack is not None
    assert out.ack.status is OrderStatus.OPEN and out.ack.filled == 0
    (update,) = out.events
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.REJECTED
    assert update.reason == "invalid order base or quote amount"
    report = e.order_status(SYM, client_id="a")
    assert report is not None and report.status is OrderStatus.REJECTED
    assert e.book_levels(SYM, 1)[0] == [(D("100.00"), D(7))]  # nothing rests


def test_min_size_grid_and_tick_texts() -> None:
    e = make(aster(), Instrument.plain("0.01", "0.001", min_qty="0.01", min_notional="5"))
    err = rejected(e, order(BUY, "0.005", "99", "a"))
    assert (err.reason, err.code, err.message) == (
        "min_size",
        -4004,
        "Quantity less than min quantity.",
    )
    err = rejected(e, order(BUY, "1", "99.001", "a"))
    assert (err.reason, err.code, err.message) == (
        "off_tick",
        -4014,
        "Price not increased by tick size.",
    )
    err = rejected(e, order(BUY, "1.0005", "99", "a"))
    assert (err.reason, err.code) == ("off_step", -4023)
    hl = make(hyperliquid())
    err = rejected(hl, order(BUY, "1", "99.0001", "a"))
    assert (err.reason, err.message) == ("off_tick", "Price must be divisible by tick size.")
    lt = make(lighter())
    err = rejected(lt, order(BUY, "1", "99.001", "a"))  # grid errors stay synchronous
    assert (err.reason, err.code) == ("off_tick", 21702)


def test_market_order_notional_uses_the_best_opposite_price() -> None:
    e = make(hyperliquid())
    # 0.1 at the ask 100.01 is $10.001: enough, although the protection price is far lower
    events = ok(e, OrderRequest(SYM, BUY, D("0.1"), None, "m", order_type=OrderType.MARKET))
    assert [(f.price, f.size) for f in fills_of(events)] == [(D("100.01"), D("0.1"))]
    err = rejected(e, OrderRequest(SYM, BUY, D("0.09"), None, "n", order_type=OrderType.MARKET))
    assert err.reason == "min_notional"


def test_duplicate_open_client_id_and_unknown_symbol() -> None:
    e = make()
    ok(e, order(BUY, "1", "99", "a"))
    assert rejected(e, order(BUY, "1", "98", "a")).reason == "duplicate_client_id"
    bad = OrderRequest("NOPE", BUY, D(1), D(1), "z")
    assert rejected(e, bad).reason == "unknown_symbol"
    e.cancel(2, SYM, client_id="a")
    ok(e, order(BUY, "1", "98", "a"))  # reusable once the first is closed


def test_reduce_only_never_increases_or_flips() -> None:
    e = make()
    err = rejected(e, order(SELL, "1", "99", "r", IOC, reduce_only=True))
    assert (err.reason, err.message) == (
        "reduce_only",
        "Reduce only order would increase position.",
    )
    ok(e, order(BUY, "1", "100.01", "b", IOC))
    assert (
        rejected(e, order(BUY, "1", "100.01", "r", IOC, reduce_only=True)).reason == "reduce_only"
    )
    assert rejected(e, order(SELL, "2", "100", "r", IOC, reduce_only=True)).reason == "reduce_only"
    ok(e, order(SELL, "1", "100", "r", IOC, reduce_only=True))
    assert e.position(SYM) == 0


# --------------------------------------------------------------------------- post-only


def test_post_only_sync_reject_hyperliquid_names_the_bbo() -> None:
    e = make(hyperliquid())
    err = rejected(e, order(BUY, "1", "100.01", "p", ALO))
    assert isinstance(err, PostOnlyRejectedError) and err.reason == "post_only"
    assert err.message == (
        "Post only order would have immediately matched, bbo was 100.00@100.01. asset=4"
    )
    assert e.order_status(SYM, client_id="p") is None
    assert e.fills() == []


def test_post_only_sync_reject_code() -> None:
    e = make(aster(post_only_mode=PostOnlyMode.SYNC_REJECT_CODE))
    err = rejected(e, order(SELL, "1", "100", "p", ALO))
    assert isinstance(err, PostOnlyRejectedError) and err.code == -5022


@pytest.mark.parametrize(
    ("personality", "final", "reason"),
    [
        (aster(), OrderStatus.EXPIRED, aster().post_only_text),
        (lighter(), OrderStatus.CANCELLED, "canceled-post-only"),
    ],
)
def test_post_only_accepted_then_dropped(
    personality: Personality, final: OrderStatus, reason: str
) -> None:
    e = make(personality)
    out = e.place(3, order(BUY, "1", "100.05", "p", ALO))
    assert out.ack is not None and out.ack.status is OrderStatus.OPEN and out.error is None
    assert [(u.status, u.reason) for u in updates_of(out.events)] == [
        (OrderStatus.OPEN, None),
        (final, reason),
    ]
    report = e.order_status(SYM, client_id="p")
    assert report is not None and report.status is final and report.filled == 0
    assert e.fills() == [] and e.book_levels(SYM, 1)[1] == [(D("100.01"), D(7))]


def test_post_only_that_does_not_cross_rests_at_the_tail() -> None:
    e = make()
    events = ok(e, order(BUY, "2", "100.00", "p", ALO))
    assert [u.status for u in updates_of(events)] == [OrderStatus.OPEN]
    assert e.book_levels(SYM, 1)[0] == [(D("100.00"), D(9))]
    assert e.external_trade(2, SYM, SELL, D(7)) == []  # the 7 ahead trade first


# --------------------------------------------------------------------------- taker fills


def test_taker_walks_levels_with_vwap_and_taker_fees_and_ioc_remainder_expires() -> None:
    e = make(aster())
    out = e.place(7, order(BUY, "20", "100.02", "t", IOC))
    assert out.ack is not None and out.ack.status is OrderStatus.EXPIRED
    assert out.ack.filled == D(14)
    fills = fills_of(out.events)
    assert [(f.price, f.size, f.liquidity) for f in fills] == [
        (D("100.01"), D(7), Liquidity.TAKER),
        (D("100.02"), D(7), Liquidity.TAKER),
    ]
    # 3.5 bps taker: 100.01*7*0.00035 = 0.2450245 -> 0.245024 (half even, 6 decimals)
    assert [f.fee for f in fills] == [D("0.245024"), D("0.245049")]
    assert len({f.trade_id for f in fills}) == 2
    (update,) = updates_of(out.events)
    assert out.events[-1] is update and update.status is OrderStatus.EXPIRED
    assert update.filled == D(14)
    report = e.order_status(SYM, client_id="t")
    assert report is not None and report.avg_price == D("100.015")
    assert e.book_levels(SYM, 1)[1] == [(D("100.03"), D(7))]  # liquidity was consumed


def test_ioc_fully_filled_reports_filled() -> None:
    e = make()
    out = e.place(1, order(BUY, "10", "100.02", "t", IOC))
    assert out.ack is not None and out.ack.status is OrderStatus.FILLED
    assert [u.status for u in updates_of(out.events)] == [OrderStatus.FILLED]
    report = e.order_status(SYM, client_id="t")
    assert report is not None and report.avg_price == D("100.013")  # (700.07 + 300.06) / 10


def test_gtc_remainder_rests_at_its_limit_and_later_fills_as_maker() -> None:
    e = make(hyperliquid())
    out = e.place(1, order(BUY, "10", "100.01", "g"))
    assert out.ack is not None and out.ack.status is OrderStatus.PARTIALLY_FILLED
    assert e.book_levels(SYM, 1) == ([(D("100.01"), D(3))], [(D("100.02"), D(7))])
    events = e.external_trade(2, SYM, SELL, D(1))
    (fill,) = fills_of(events)
    assert (fill.price, fill.size, fill.liquidity) == (D("100.01"), D(1), Liquidity.MAKER)
    assert fill.fee == D("0.015002")  # 1.5 bps maker (100.01 * 0.00015 = 0.0150015)
    assert updates_of(events)[-1].filled == D(8)


def test_own_orders_are_never_matched_against_each_other() -> None:
    e = make()
    ok(e, order(SELL, "1", "100.02", "s"))
    out = e.place(2, order(BUY, "20", "100.02", "b"))
    assert [(f.price, f.size) for f in fills_of(out.events)] == [
        (D("100.01"), D(7)),
        (D("100.02"), D(7)),
    ]
    assert out.ack is not None and out.ack.status is OrderStatus.EXPIRED  # would cross our sell
    s = e.order_status(SYM, client_id="s")
    assert s is not None and s.status is OrderStatus.OPEN and s.filled == 0
    assert e.check_invariants() == []


def test_split_fills_and_max_fill_per_event() -> None:
    e = make(fills=FillConfig(split_fills=3, max_fill_per_event=D("0.5")))
    out = e.place(1, order(BUY, "1", "100.01", "t", IOC))
    fills = fills_of(out.events)
    assert [f.size for f in fills] == [D("0.334"), D("0.333"), D("0.333")]
    assert len({f.trade_id for f in fills}) == 3
    ok(e, order(BUY, "2", "99", "m"))
    events = e.external_trade(2, SYM, SELL, D(100), limit_price=D(99))
    assert sum(f.size for f in fills_of(events)) == D("0.5")  # capped per external trade
    assert updates_of(events)[-1].status is OrderStatus.PARTIALLY_FILLED


# --------------------------------------------------------------------------- queue position


def test_queue_fills_only_after_the_size_ahead_traded() -> None:
    e = make()
    ok(e, order(BUY, "2", "100.00", "q"))  # behind 7 external
    assert e.external_trade(2, SYM, SELL, D(7)) == []
    events = e.external_trade(3, SYM, SELL, D(1))
    assert [f.size for f in fills_of(events)] == [D(1)]
    assert [u.status for u in updates_of(events)] == [OrderStatus.PARTIALLY_FILLED]


def test_an_external_trade_of_8_fills_1_of_an_order_of_2_behind_7() -> None:
    e = make()
    ok(e, order(BUY, "2", "100.00", "q"))
    events = e.external_trade(2, SYM, SELL, D(8))
    assert [(f.size, f.liquidity) for f in fills_of(events)] == [(D(1), Liquidity.MAKER)]
    report = e.order_status(SYM, client_id="q")
    assert report is not None and report.status is OrderStatus.PARTIALLY_FILLED
    assert report.filled == D(1)
    assert e.book_levels(SYM, 1)[0] == [(D("100.00"), D(1))]


@pytest.mark.parametrize(
    ("split", "filled"), [(CancelSplit.TAIL, D(0)), (CancelSplit.PROPORTIONAL, D(2))]
)
def test_where_external_cancels_land_decides_whether_we_fill(
    split: CancelSplit, filled: Decimal
) -> None:
    e = make(queue=QueueConfig(cancel_split=split))
    ok(e, order(BUY, "2", "100.00", "q"))  # [ext 7][own 2]
    e.external_add(2, SYM, BUY, D("100.00"), D(7))  # [ext 7][own 2][ext 7]
    e.external_cancel(3, SYM, BUY, D("100.00"), D(7))
    # tail: [ext 7][own 2]; proportional: [ext 3.5][own 2][ext 3.5]
    events = e.external_trade(4, SYM, SELL, D(7), limit_price=D("100.00"))
    assert sum((f.size for f in fills_of(events)), D(0)) == filled
    assert e.check_invariants() == []


def test_cancelling_more_than_the_external_size_keeps_our_order() -> None:
    e = make()
    ok(e, order(BUY, "2", "100.00", "q"))
    e.external_cancel(2, SYM, BUY, D("100.00"), D(50))
    assert e.book_levels(SYM, 1)[0] == [(D("100.00"), D(2))]
    assert [f.size for f in fills_of(e.external_trade(3, SYM, SELL, D(1)))] == [D(1)]


def test_crossing_external_add_trades_against_our_order() -> None:
    e = make()
    ok(e, order(SELL, "1", "100.05", "s"))
    events = e.external_add(2, SYM, BUY, D("100.05"), D(100))
    assert [(f.price, f.size) for f in fills_of(events)] == [(D("100.05"), D(1))]
    bids, asks = e.book_levels(SYM, 1)
    assert bids[0][0] == D("100.05") and asks == []  # 35 ext + ours consumed, 64 rest
    assert bids[0][1] == D(100) - D(35) - D(1)
    assert e.check_invariants() == []


# --------------------------------------------------------------------------- cancel and modify


def test_cancel_open_then_after_fill_gets_the_unknown_answer() -> None:
    e = make(hyperliquid())
    ok(e, order(BUY, "2", "100.00", "a"))
    e.external_trade(2, SYM, SELL, D(8))
    out = e.cancel(3, SYM, client_id="a")
    assert out.cancelled and out.filled == D(1) and out.error is None and out.known
    assert [(u.status, u.filled) for u in updates_of(out.events)] == [(OrderStatus.CANCELLED, D(1))]
    again = e.cancel(4, SYM, client_id="a")
    assert not again.cancelled and again.known and again.error is not None
    assert again.error.reason == "unknown_order"
    assert again.error.message == "Order was never placed, already canceled, or filled."
    ok(e, order(BUY, "1", "100.01", "f", IOC))
    filled = e.cancel(5, SYM, venue_order_id="2")
    assert not filled.cancelled and filled.known and filled.filled == D(1)
    never = e.cancel(6, SYM, client_id="nope")
    assert not never.cancelled and not never.known and never.error is not None


def test_cancel_unknown_texts_per_venue() -> None:
    for p, code in ((aster(), -2011), (lighter(), 21600)):
        out = make(p).cancel(1, SYM, client_id="x")
        assert out.error is not None and out.error.code == code
        assert out.error.message == p.cancel_unknown_text


def _queue_with_behind() -> MatchingEngine:
    e = make(hyperliquid())
    ok(e, order(BUY, "2", "100.00", "a"))  # [ext 7][a 2]
    e.external_add(2, SYM, BUY, D("100.00"), D(5))  # [ext 7][a 2][ext 5]
    return e


def test_modify_size_decrease_keeps_the_queue_place() -> None:
    e = _queue_with_behind()
    out = e.modify(3, SYM, "a", price=D("100.00"), size=D(1))
    assert out.ack is not None and out.ack.venue_order_id == "1"
    assert [u.status for u in updates_of(out.events)] == [OrderStatus.OPEN]
    assert [f.size for f in fills_of(e.external_trade(4, SYM, SELL, D(8)))] == [D(1)]


def test_modify_loses_priority_on_price_change_size_increase_or_when_configured() -> None:
    e = _queue_with_behind()
    e.modify(3, SYM, "a", price=D("99.99"), size=D(2))
    e.modify(4, SYM, "a", price=D("100.00"), size=D(2))  # back, now behind 12
    assert e.external_trade(5, SYM, SELL, D(12), limit_price=D("100.00")) == []
    e = _queue_with_behind()
    e.modify(3, SYM, "a", price=D("100.00"), size=D(3))
    assert e.external_trade(4, SYM, SELL, D(8)) == []
    e = make(queue=QueueConfig(modify_keeps_priority_on_decrease=False))
    ok(e, order(BUY, "2", "100.00", "a"))
    e.external_add(2, SYM, BUY, D("100.00"), D(5))
    e.modify(3, SYM, "a", price=D("100.00"), size=D(1))
    assert e.external_trade(4, SYM, SELL, D(8)) == []


@pytest.mark.parametrize("personality", [hyperliquid(), aster(), lighter()])
def test_crossing_post_only_modify_is_refused_and_the_original_stays(
    personality: Personality,
) -> None:
    e = make(personality)
    ok(e, order(BUY, "1", "99.00", "p", ALO))
    out = e.modify(2, SYM, "p", price=D("100.01"), size=D(1))
    assert isinstance(out.error, PostOnlyRejectedError) and out.ack is None
    report = e.order_status(SYM, client_id="p")
    assert report is not None and report.status is OrderStatus.OPEN and report.price == D(99)


def test_crossing_gtc_modify_takes_liquidity_and_checks_apply() -> None:
    e = make()
    ok(e, order(BUY, "10", "99.00", "g"))
    out = e.modify(2, SYM, "g", price=D("100.01"), size=D(10))
    assert [(f.price, f.size, f.liquidity) for f in fills_of(out.events)] == [
        (D("100.01"), D(7), Liquidity.TAKER)
    ]
    assert out.ack is not None and out.ack.status is OrderStatus.PARTIALLY_FILLED
    assert e.modify(3, SYM, "g", price=D("100.01"), size=D(7)).error is not None  # <= filled
    assert e.modify(3, SYM, "g", price=D("100.001"), size=D(9)).error is not None  # off tick
    bad = e.modify(3, SYM, "zz", price=D("100"), size=D(9)).error
    assert bad is not None and bad.reason == "unknown_order"
    assert e.check_invariants() == []


# --------------------------------------------------------------------------- market moves


def test_set_mid_through_our_resting_order_fills_it_as_maker() -> None:
    e = make()
    ok(e, order(BUY, "1", "99.99", "b"))
    events = e.set_mid(5, SYM, D("99"))
    (fill,) = fills_of(events)
    assert (fill.price, fill.size, fill.liquidity, fill.ts_ns) == (
        D("99.99"), D(1), Liquidity.MAKER, 5,
    )  # fmt: skip
    assert updates_of(events)[-1].status is OrderStatus.FILLED
    assert e.book_levels(SYM, 1) == ([(D("99.00"), D(7))], [(D("99.01"), D(7))])
    assert e.check_invariants() == []


def test_set_mid_keeps_our_queue_and_caps_the_size_ahead() -> None:
    e = make(level_size=D(7))
    ok(e, order(BUY, "2", "99.99", "b"))  # [ext 7][own 2]
    e.external_trade(2, SYM, SELL, D(10), limit_price=D("99.99"))  # 7 at 100.00, 3 at 99.99
    e.set_mid(3, SYM, D("100.005"))  # 99.99 is again a level of 7: [ext 4][own 2][ext 3]
    assert e.book_levels(SYM, 2)[0][1] == (D("99.99"), D(9))
    events = e.external_trade(4, SYM, SELL, D(12), limit_price=D("99.99"))  # 7 + 4 + 1 of us
    assert [f.size for f in fills_of(events)] == [D(1)]


# --------------------------------------------------------------------------- positions, fees, funding


def test_positions_entry_price_through_increase_reduce_and_flip() -> None:
    e = make()
    ok(e, order(BUY, "7", "100.01", "b1", IOC))
    ok(e, order(BUY, "1", "100.02", "b2", IOC))
    pos = e.positions(9)[SYM]
    assert pos.size == D(8) and pos.entry_price == D("100.01125")
    assert pos.mark_price == D(100) and pos.ts_ns == 9
    e.set_mid(2, SYM, D(100))  # refresh the liquidity
    ok(e, order(SELL, "4", "100.00", "s1", IOC))
    pos = e.positions(9)[SYM]
    assert pos.size == D(4) and pos.entry_price == D("100.01125")  # a reduction keeps the entry
    assert e.realized_pnl(SYM) == D("-0.045")
    e.set_mid(3, SYM, D(100))
    ok(e, order(SELL, "6", "100.00", "s2", IOC))
    pos = e.positions(9)[SYM]
    assert pos.size == D(-2) and pos.entry_price == D(100)  # a flip opens at the fill price
    e.set_mid(4, SYM, D(100))
    ok(e, order(BUY, "2", "100.01", "b3", IOC))
    assert e.positions(9) == {} and e.position(SYM) == 0


def test_fees_maker_versus_taker() -> None:
    e = make(hyperliquid())
    taker = fills_of(ok(e, order(BUY, "1", "100.01", "t", IOC)))[0]
    ok(e, order(SELL, "1", "100.01", "m"))
    maker = fills_of(e.external_trade(2, SYM, BUY, D(8)))[0]
    assert (taker.liquidity, taker.fee) == (Liquidity.TAKER, D("0.045004"))  # 0.0450045, half even
    assert (maker.liquidity, maker.fee) == (Liquidity.MAKER, D("0.015002"))
    lt = make(lighter())
    assert fills_of(ok(lt, order(BUY, "1", "100.01", "t", IOC)))[0].fee == 0


def test_funding_longs_pay_a_positive_rate_and_shorts_receive() -> None:
    e = make(hyperliquid())
    e.set_funding_rate(SYM, D("0.0001"))
    assert e.accrue_funding(1, SYM) == 0  # flat
    ok(e, order(BUY, "1", "100.01", "l", IOC))
    assert e.accrue_funding(2, SYM) == D("-0.01")
    assert e.positions(3)[SYM].funding == D("-0.01")
    e.set_mid(3, SYM, D(100))
    ok(e, order(SELL, "3", "100.00", "s", IOC))
    assert e.accrue_funding(4, SYM) == D("0.02")
    assert e.positions(5)[SYM].funding == D("0.01")
    rate = e.funding_rates(1_500_000_000_000)[SYM]
    assert (rate.rate, rate.interval_s, rate.next_funding_ns) == (
        D("0.0001"), 3600, 3_600_000_000_000,
    )  # fmt: skip


def test_order_status_and_fills_ledger() -> None:
    e = make()
    ok(e, order(BUY, "10", "100.02", "t", IOC), now=5)
    ok(e, order(SELL, "1", "100.00", "u", IOC), now=9)
    report = e.order_status(SYM, client_id="t", now_ns=11)
    assert report is not None and report.ts_ns == 11 and report.venue_order_id == "1"
    assert [f.size for f in report.fills] == [D(7), D(3)]
    assert e.order_status(SYM, venue_order_id="2") is not None
    assert e.order_status("other", client_id="t") is None
    assert [f.client_id for f in e.fills(SYM, since_ns=6)] == ["u"]
    assert len(e.fills()) == 3


# --------------------------------------------------------------------------- property

_OPS = st.one_of(
    st.tuples(
        st.just("place"),
        st.sampled_from([BUY, SELL]),
        st.integers(-6, 6),
        st.integers(1, 120),
        st.sampled_from([GTC, IOC, ALO]),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("modify"), st.integers(0, 40), st.integers(-6, 6), st.integers(1, 120)),
    st.tuples(st.just("trade"), st.sampled_from([BUY, SELL]), st.integers(1, 300)),
    st.tuples(
        st.just("ext_cancel"), st.sampled_from([BUY, SELL]), st.integers(-6, 6), st.integers(1, 90)
    ),
    st.tuples(st.just("add"), st.sampled_from([BUY, SELL]), st.integers(-6, 6), st.integers(1, 90)),
    st.tuples(st.just("mid"), st.integers(-8, 8)),
)


@given(
    ops=st.lists(_OPS, max_size=40),
    split=st.sampled_from(list(CancelSplit)),
    personality=st.sampled_from(["hyperliquid", "aster", "lighter"]),
    split_fills=st.integers(1, 3),
    cap=st.sampled_from([None, D("0.5"), D(2)]),
)
def test_random_runs_keep_the_invariants(
    ops: list[tuple[object, ...]],
    split: CancelSplit,
    personality: str,
    split_fills: int,
    cap: Decimal | None,
) -> None:
    p = {"hyperliquid": hyperliquid, "aster": aster, "lighter": lighter}[personality]()
    e = make(
        p,
        queue=QueueConfig(cancel_split=split),
        fills=FillConfig(split_fills=split_fills, max_fill_per_event=cap),
        level_size=D(3),
    )
    tick = D("0.01")
    mid = D(100)
    cids: list[str] = []
    for now, op in enumerate(ops, start=1):
        kind = op[0]
        if kind == "place":
            _, side, off, size, tif = op
            cid = f"c{len(cids)}"
            cids.append(cid)
            price = mid + int(off) * tick  # type: ignore[call-overload]
            e.place(now, OrderRequest(SYM, side, D(size) / 10, price, cid, tif=tif))  # type: ignore[arg-type]
        elif kind == "cancel" and cids:
            e.cancel(now, SYM, client_id=cids[int(op[1]) % len(cids)])  # type: ignore[call-overload]
        elif kind == "modify" and cids:
            _, idx, off, size = op
            cid = cids[int(idx) % len(cids)]  # type: ignore[call-overload]
            price = mid + int(off) * tick  # type: ignore[call-overload]
            e.modify(now, SYM, cid, price=price, size=D(size) / 10)  # type: ignore[arg-type]
        elif kind == "trade":
            e.external_trade(now, SYM, op[1], D(op[2]) / 10)  # type: ignore[arg-type]
        elif kind == "ext_cancel":
            price = mid + int(op[2]) * tick  # type: ignore[call-overload]
            e.external_cancel(now, SYM, op[1], price, D(op[3]) / 10)  # type: ignore[arg-type]
        elif kind == "add":
            price = mid + int(op[2]) * tick  # type: ignore[call-overload]
            e.external_add(now, SYM, op[1], price, D(op[3]) / 10)  # type: ignore[arg-type]
        elif kind == "mid":
            mid = D(100) + int(op[1]) * tick  # type: ignore[call-overload]
            e.set_mid(now, SYM, mid)
        assert e.check_invariants() == [], op
        bids, asks = e.book_levels(SYM, 50)
        assert all(q > 0 for _, q in bids + asks)
        if bids and asks:
            assert bids[0][0] < asks[0][0]
    ledger = e.fills()
    assert len({f.trade_id for f in ledger}) == len(ledger)
    from_orders: list[Fill] = []
    for cid in cids:
        report = e.order_status(SYM, client_id=cid)
        if report is None:
            continue
        assert sum((f.size for f in report.fills), D(0)) == report.filled <= report.size
        from_orders.extend(report.fills)
    assert sorted(from_orders, key=lambda f: f.trade_id) == ledger
    assert e.position(SYM) == sum((f.side.sign * f.size for f in ledger), D(0))


# --------------------------------------------------------------------------- injected venue faults


@pytest.mark.parametrize(
    ("personality", "status"),
    [
        (hyperliquid(), None),  # an error in the answer, no order
        (aster(), OrderStatus.EXPIRED),
        (lighter(), OrderStatus.CANCELLED),
    ],
)
def test_refusing_every_post_only_order_uses_the_venue_post_only_answer(
    personality: Personality, status: OrderStatus | None
) -> None:
    e = make(personality)
    far = order(BUY, "1", "95.00", "far", ALO)  # nowhere near the ask: would rest
    out = e.place(1, far, refuse_post_only=True)
    assert out.post_only_refused
    if status is None:
        assert isinstance(out.error, PostOnlyRejectedError) and out.ack is None
        assert e.order_status(SYM, client_id="far") is None
    else:
        assert out.ack is not None and out.ack.status is OrderStatus.OPEN
        assert [u.status for u in updates_of(out.events)] == [OrderStatus.OPEN, status]
        report = e.order_status(SYM, client_id="far")
        assert report is not None and report.status is status and report.filled == 0
    assert e.open_orders() == []
    # Only post-only orders: a GTC at the same price rests.
    gtc = e.place(2, order(BUY, "1", "95.00", "gtc"), refuse_post_only=True)
    assert gtc.ack is not None and not gtc.post_only_refused
    assert e.open_orders() == ["gtc"]
    # Without the fault the same post-only order rests.
    assert not make(personality).place(1, far).post_only_refused


def test_refusing_post_only_also_refuses_a_modify_of_a_post_only_order() -> None:
    e = make(aster())
    ok(e, order(BUY, "1", "95.00", "p", ALO))
    out = e.modify(2, SYM, "p", price=D("95.01"), size=D(1), refuse_post_only=True)
    assert isinstance(out.error, PostOnlyRejectedError) and out.post_only_refused
    report = e.order_status(SYM, client_id="p")
    assert report is not None and report.status is OrderStatus.OPEN and report.price == D(95)


@pytest.mark.parametrize("shared", [False, True])
def test_one_outside_trade_filling_two_orders_shares_its_trade_id_when_configured(
    shared: bool,
) -> None:
    e = make(fills=FillConfig(shared_trade_id=shared))
    ok(e, order(BUY, "1", "100.00", "a"))  # [ext 7][a 1]
    ok(e, order(BUY, "2", "99.99", "b"))  # [ext 7][b 2]
    events = e.external_trade(2, SYM, SELL, D(20))
    fills = fills_of(events)
    assert [(f.client_id, f.size) for f in fills] == [("a", D(1)), ("b", D(2))]
    assert len({f.venue_order_id for f in fills}) == 2
    assert len({f.trade_id for f in fills}) == (1 if shared else 2)
    assert e.check_invariants() == []
    # The next outside trade is another trade with another id.
    ok(e, order(BUY, "1", "99.98", "c"))
    later = fills_of(e.external_trade(3, SYM, SELL, D(20)))
    assert later and later[0].trade_id not in {f.trade_id for f in fills}


def test_a_mid_move_through_several_orders_is_one_shared_trade() -> None:
    e = make(fills=FillConfig(shared_trade_id=True))
    ok(e, order(BUY, "1", "99.99", "a"))
    ok(e, order(BUY, "1", "99.98", "b"))
    fills = fills_of(e.set_mid(2, SYM, D("99")))
    assert len(fills) == 2 and len({f.trade_id for f in fills}) == 1
    assert e.check_invariants() == []


def test_shared_trade_ids_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="split_fills"):
        FillConfig(shared_trade_id=True, split_fills=2)


def test_modify_with_a_new_venue_order_id_cancels_the_original_and_replaces_it() -> None:
    e = make(hyperliquid(modify_new_id=True))
    ok(e, order(BUY, "2", "100.00", "a"))  # [ext 7][a 2]
    first = fills_of(e.external_trade(2, SYM, SELL, D(8)))  # 1 of ours
    assert [(f.venue_order_id, f.size) for f in first] == [("1", D(1))]
    out = e.modify(3, SYM, "a", price=D("99.99"), size=D(3))
    assert out.ack is not None and out.error is None
    new_id = out.ack.venue_order_id
    assert new_id != "1" and out.ack.client_id == "a" and out.ack.status is OrderStatus.OPEN
    assert [(u.venue_order_id, u.status) for u in updates_of(out.events)] == [
        (new_id, OrderStatus.OPEN)
    ]
    old = e.order_status(SYM, venue_order_id="1")
    assert old is not None and old.status is OrderStatus.CANCELLED and old.filled == D(1)
    assert e.replaced_by("1") == new_id
    new = e.order_status(SYM, client_id="a")
    assert new is not None and new.venue_order_id == new_id
    assert new.size == D(2) and new.filled == 0 and new.price == D("99.99")  # 3 minus the 1 filled
    # Later fills and updates name only the new id.
    events = e.external_trade(4, SYM, SELL, D(100), limit_price=D("99.99"))
    assert {f.venue_order_id for f in fills_of(events)} == {new_id}
    assert {u.venue_order_id for u in updates_of(events)} == {new_id}
    assert sum(f.size for f in fills_of(events)) == D(2)
    reports = e.client_orders(SYM, "a")
    assert [r.venue_order_id for r in reports] == ["1", new_id]
    assert sum((r.filled for r in reports), D(0)) == D(3) == e.position(SYM)
    assert e.check_invariants() == []


def test_a_second_new_id_modify_counts_every_earlier_fill_of_the_client_order() -> None:
    """Sizes are totals: after fills on the original and on a first replacement, a second
    replacement is for what the client order as a whole has left, never more."""
    e = make(hyperliquid(modify_new_id=True), fills=FillConfig(max_fill_per_event=D("0.4")))
    ok(e, order(BUY, "2", "100.00", "a"))
    e.external_trade(2, SYM, SELL, D(100), limit_price=D("100.00"))  # 0.4 of ours
    assert e.modify(3, SYM, "a", price=D("99.90"), size=D(2)).ack is not None  # 1.6 left
    e.external_trade(4, SYM, SELL, D(100), limit_price=D("99.90"))  # 0.4 more
    assert e.modify(5, SYM, "a", price=D("99.80"), size=D(2)).ack is not None
    now = e.order_status(SYM, client_id="a")
    assert now is not None and now.size == D("1.2")  # 2 minus 0.4 minus 0.4
    for t in range(6, 12):
        e.external_trade(t, SYM, SELL, D(100), limit_price=D("99.80"))
    assert sum((r.filled for r in e.client_orders(SYM, "a")), D(0)) == D(2) == e.position(SYM)
    assert e.check_invariants() == []


def test_modify_with_a_new_id_then_cancel_by_client_id_cancels_the_replacement() -> None:
    e = make(aster(modify_new_id=True))
    ok(e, order(SELL, "1", "101.00", "s"))
    out = e.modify(2, SYM, "s", price=D("101.50"), size=D(1))
    assert out.ack is not None
    gone = e.cancel(3, SYM, client_id="s")
    assert gone.cancelled and [u.venue_order_id for u in updates_of(gone.events)] == [
        out.ack.venue_order_id
    ]
    stale = e.cancel(4, SYM, venue_order_id="1")  # the original is already cancelled
    assert not stale.cancelled and stale.error is not None and stale.error.reason == "unknown_order"
    assert e.open_orders() == [] and e.check_invariants() == []


@given(
    ops=st.lists(_OPS, max_size=40),
    personality=st.sampled_from(["hyperliquid", "aster", "lighter"]),
    shared=st.booleans(),
    cap=st.sampled_from([None, D("0.5")]),
)
def test_random_runs_with_new_id_modifies_and_shared_trade_ids_keep_the_invariants(
    ops: list[tuple[object, ...]], personality: str, shared: bool, cap: Decimal | None
) -> None:
    p = {"hyperliquid": hyperliquid, "aster": aster, "lighter": lighter}[personality](
        modify_new_id=True
    )
    e = make(p, fills=FillConfig(shared_trade_id=shared, max_fill_per_event=cap), level_size=D(3))
    tick = D("0.01")
    mid = D(100)
    cids: list[str] = []
    total: dict[str, Decimal] = {}  # each client order's total size, as last placed or modified
    for now, op in enumerate(ops, start=1):
        kind = op[0]
        if kind == "place":
            _, side, off, size, tif = op
            cid = f"c{len(cids)}"
            cids.append(cid)
            price = mid + int(off) * tick  # type: ignore[call-overload]
            total[cid] = D(size) / 10  # type: ignore[arg-type]
            e.place(now, OrderRequest(SYM, side, D(size) / 10, price, cid, tif=tif))  # type: ignore[arg-type]
        elif kind == "cancel" and cids:
            e.cancel(now, SYM, client_id=cids[int(op[1]) % len(cids)])  # type: ignore[call-overload]
        elif kind == "modify" and cids:
            _, idx, off, size = op
            cid = cids[int(idx) % len(cids)]  # type: ignore[call-overload]
            price = mid + int(off) * tick  # type: ignore[call-overload]
            out = e.modify(now, SYM, cid, price=price, size=D(size) / 10)  # type: ignore[arg-type]
            if out.ack is not None:
                total[cid] = D(size) / 10  # type: ignore[arg-type]
        elif kind == "trade":
            e.external_trade(now, SYM, op[1], D(op[2]) / 10)  # type: ignore[arg-type]
        elif kind == "ext_cancel":
            price = mid + int(op[2]) * tick  # type: ignore[call-overload]
            e.external_cancel(now, SYM, op[1], price, D(op[3]) / 10)  # type: ignore[arg-type]
        elif kind == "add":
            price = mid + int(op[2]) * tick  # type: ignore[call-overload]
            e.external_add(now, SYM, op[1], price, D(op[3]) / 10)  # type: ignore[arg-type]
        elif kind == "mid":
            mid = D(100) + int(op[1]) * tick  # type: ignore[call-overload]
            e.set_mid(now, SYM, mid)
        assert e.check_invariants() == [], op
    ledger = e.fills()
    # A fill is identified by its order and its trade id, even when trades share ids.
    assert len({(f.venue_order_id, f.trade_id) for f in ledger}) == len(ledger)
    from_orders = [f for cid in cids for r in e.client_orders(SYM, cid) for f in r.fills]
    assert sorted(
        from_orders, key=lambda f: (f.ts_ns, str(f.trade_id), f.venue_order_id)
    ) == sorted(ledger, key=lambda f: (f.ts_ns, str(f.trade_id), f.venue_order_id))
    assert e.position(SYM) == sum((f.side.sign * f.size for f in ledger), D(0))
    # A modify's size is the order's total: however many replacements, a client order never
    # fills more than that.
    for cid in cids:
        assert sum((r.filled for r in e.client_orders(SYM, cid)), D(0)) <= total[cid]
