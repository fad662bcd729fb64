"""The fill ledger: every fill counted once, whatever the channel, order or timing.

A fill is (venue, order, trade id): one trade can fill several of our orders under one id."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit import FillLedger, FillStatus
from hedgekit.errors import ConversionError, InexactError

D = Decimal
ONE_RAW = 10**9
VENUES = ("hyperliquid", "aster", "lighter")
ORDERS = ("o0", "o1", "o2")


def snapshot(ledger: FillLedger, venue: str, order_id: str) -> tuple[Any, ...]:
    """Every user-visible field of an order, for before/after comparisons."""
    o = ledger.order(venue, order_id)
    assert o is not None
    return (
        o.side, o.size, o.filled, o.remaining, o.avg_price, o.notional, o.fees, o.maker_size,
        o.taker_size, o.fill_count, o.overfill, o.is_complete, o.first_fill_ns, o.last_fill_ns,
    )  # fmt: skip


# ---- every distinct fill counts once, totals match a model ----

trade_st = st.fixed_dictionaries(
    {
        "venue": st.sampled_from(VENUES),
        # Small id spaces so int 5 and str "5" both occur, on the same and other venues.
        "trade_id": st.one_of(st.integers(0, 30), st.integers(0, 30).map(str)),
        "order": st.sampled_from(ORDERS),
        "price": st.decimals(D("0.0001"), D("100000"), places=4),
        "size": st.decimals(D("0.000001"), D("10"), places=6),
        "fee": st.decimals(D("-1"), D("1"), places=8),
        "is_maker": st.booleans(),
        "ts_ns": st.integers(0, 2**62),
    }
)


@st.composite
def fill_streams(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """Distinct fills, the stream actually delivered (WS copy + REST copies, shuffled), and
    the orders registered only halfway through the stream. A fill is (venue, order, trade id):
    the small id space puts one trade id on several orders, as a trade that fills several of
    our orders does."""
    raw = draw(st.lists(trade_st, min_size=1, max_size=40))
    key = lambda t: (t["venue"], t["order"], type(t["trade_id"]), t["trade_id"])  # noqa: E731
    trades = list({key(t): t for t in raw}.values())
    rest_copies = draw(st.lists(st.sampled_from(trades), max_size=40))
    stream = draw(st.permutations(trades + rest_copies))
    late = draw(st.sets(st.sampled_from([f"{v}/{o}" for v in VENUES for o in ORDERS])))
    return trades, stream, late


@given(fill_streams())
def test_shuffled_duplicated_and_early_fills_count_once(
    case: tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]],
) -> None:
    trades, stream, late = case
    ledger = FillLedger()
    size = D(1000)
    for v in VENUES:
        for o in ORDERS:
            if f"{v}/{o}" not in late:
                ledger.register_order(v, o, "buy", size)

    def apply(t: dict[str, Any]) -> FillStatus:
        return ledger.apply(
            t["venue"], t["trade_id"], t["order"], t["price"], t["size"],
            fee=t["fee"], is_maker=t["is_maker"], ts_ns=t["ts_ns"],
        )  # fmt: skip

    statuses: list[FillStatus] = []
    buffered: list[dict[str, Any]] = []
    for k, t in enumerate(stream):
        if k == len(stream) // 2:  # the late acknowledgements arrive; retry what was buffered
            for key in late:
                v, o = key.split("/")
                ledger.register_order(v, o, "buy", size)
            statuses += [apply(b) for b in buffered]
            buffered = []
        s = apply(t)
        if s == FillStatus.UNKNOWN_ORDER:
            buffered.append(t)
        else:
            statuses.append(s)
    statuses += [apply(b) for b in buffered]

    assert FillStatus.UNKNOWN_ORDER not in statuses
    assert statuses.count(FillStatus.APPLIED) == len(trades)
    assert statuses.count(FillStatus.DUPLICATE) == len(stream) - len(trades)
    assert len(ledger) == len(trades)

    model: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"filled": D(0), "notional": D(0), "fees": D(0), "maker": D(0), "n": 0, "ts": []}
    )
    for t in trades:
        m = model[t["venue"], t["order"]]
        m["filled"] += t["size"]
        m["notional"] += t["price"] * t["size"]
        m["fees"] += t["fee"]
        m["maker"] += t["size"] if t["is_maker"] else 0
        m["n"] += 1
        if t["ts_ns"]:
            m["ts"].append(t["ts_ns"])
    for v in VENUES:
        for o in ORDERS:
            got = ledger.order(v, o)
            assert got is not None
            m = model[v, o]
            assert got.filled == m["filled"]
            assert got.notional == m["notional"]
            assert got.fees == m["fees"]
            assert got.maker_size == m["maker"]
            assert got.taker_size == m["filled"] - m["maker"]
            assert got.fill_count == m["n"]
            assert got.first_fill_ns == (min(m["ts"]) if m["ts"] else None)
            assert got.last_fill_ns == (max(m["ts"]) if m["ts"] else None)
            if m["n"] == 0:
                assert got.avg_price is None
            else:
                with localcontext() as ctx:
                    ctx.prec = 120  # enough digits that quantizing the quotient rounds once
                    exact = m["notional"] / m["filled"]
                assert got.avg_price == exact.quantize(D("1e-9"), rounding=ROUND_HALF_UP)


def test_ws_and_rest_copies_of_a_trade_count_once() -> None:
    ledger = FillLedger()
    ledger.register_order("hyperliquid", "c1", "sell", "2")
    ws = ledger.apply("hyperliquid", 9_123_456, "c1", "3118.5", "1.5", fee="0.7", ts_ns=10)
    rest = ledger.apply("hyperliquid", 9_123_456, "c1", "3118.5", "1.5", fee="0.7", ts_ns=10)
    assert ws is FillStatus.APPLIED
    assert rest is FillStatus.DUPLICATE
    o = ledger.order("hyperliquid", "c1")
    assert o is not None
    assert (o.filled, o.remaining, o.fill_count, o.fees) == (D("1.5"), D("0.5"), 1, D("0.7"))
    assert not o.is_complete


# ---- a fill before its order ----


def test_fill_before_order_registration_is_retryable() -> None:
    ledger = FillLedger()
    args = ("aster", 77, "early", "100", "1")
    assert ledger.apply(*args) is FillStatus.UNKNOWN_ORDER
    assert not ledger.seen("aster", 77, "early")
    assert len(ledger) == 0
    ledger.register_order("aster", "other", "buy", "1")
    assert ledger.apply(*args) is FillStatus.UNKNOWN_ORDER  # a known venue is not enough
    ledger.register_order("aster", "early", "buy", "1")
    assert ledger.apply(*args) is FillStatus.APPLIED
    assert ledger.apply(*args) is FillStatus.DUPLICATE
    o = ledger.order("aster", "early")
    assert o is not None and o.is_complete and o.filled == 1


# ---- overfill ----


def test_overfill_is_recorded_and_reported_not_clamped() -> None:
    ledger = FillLedger()
    ledger.register_order("lighter", "o", "buy", "1")
    assert ledger.apply("lighter", 1, "o", "10", "0.6") is FillStatus.APPLIED
    assert ledger.apply("lighter", 2, "o", "10", "0.6") is FillStatus.OVERFILL
    o = ledger.order("lighter", "o")
    assert o is not None
    assert (o.filled, o.overfill, o.remaining, o.fill_count) == (D("1.2"), D("0.2"), D(0), 2)
    assert o.is_complete
    assert ledger.apply("lighter", 3, "o", "10", "0.1") is FillStatus.OVERFILL
    # A modify up absorbs it; a modify below what filled makes the next fill an overfill.
    ledger.set_order_size("lighter", "o", "2")
    o = ledger.order("lighter", "o")
    assert o is not None and o.overfill == 0 and o.remaining == D("0.7")
    assert ledger.apply("lighter", 4, "o", "10", "0.1") is FillStatus.APPLIED
    ledger.set_order_size("lighter", "o", "1")
    assert ledger.apply("lighter", 5, "o", "10", "0.1") is FillStatus.OVERFILL
    o = ledger.order("lighter", "o")
    assert o is not None and o.overfill == D("0.5")


# ---- invalid values ----


@pytest.mark.parametrize(
    ("price", "size", "fee", "error"),
    [
        ("100", "-1", "0", ValueError),
        ("100", "0", "0", ValueError),
        ("0", "1", "0", ValueError),
        ("-5", "1", "0", ValueError),
        (D("NaN"), "1", "0", ConversionError),
        ("100", D("Infinity"), "0", ConversionError),
        ("100", "1", D("sNaN"), ConversionError),
        (100.5, "1", "0", TypeError),
        ("100", 1.0, "0", TypeError),
        ("100", "1", 0.1, TypeError),
        ("100", "0.0000000001", "0", InexactError),
        ("abc", "1", "0", ConversionError),
    ],
)
def test_invalid_fill_raises_and_changes_nothing(
    price: Any, size: Any, fee: Any, error: type[Exception]
) -> None:
    ledger = FillLedger()
    ledger.register_order("hyperliquid", "o", "buy", "5")
    ledger.apply("hyperliquid", 1, "o", "100", "1")
    before = snapshot(ledger, "hyperliquid", "o")
    with pytest.raises(error):
        ledger.apply("hyperliquid", 2, "o", price, size, fee=fee)
    assert snapshot(ledger, "hyperliquid", "o") == before
    assert len(ledger) == 1
    assert not ledger.seen("hyperliquid", 2, "o")
    # The trade is still retryable once it arrives with valid values.
    assert ledger.apply("hyperliquid", 2, "o", "100", "1") is FillStatus.APPLIED


@pytest.mark.parametrize(
    ("price_raw", "size_raw"), [(0, ONE_RAW), (ONE_RAW, -1), (-ONE_RAW, ONE_RAW)]
)
def test_invalid_raw_fill_raises_and_changes_nothing(price_raw: int, size_raw: int) -> None:
    ledger = FillLedger()
    ledger.register_order("aster", "o", "sell", "1")
    with pytest.raises(ValueError, match="positive"):
        ledger.apply_raw("aster", "t1", "o", price_raw, size_raw)
    assert ledger.order("aster", "o").fill_count == 0  # type: ignore[union-attr]
    assert not ledger.seen("aster", "t1", "o")


def test_trade_id_must_be_int_or_str() -> None:
    ledger = FillLedger()
    ledger.register_order("aster", "o", "buy", "1")
    for bad in (True, 1.0, None, b"1", D(1)):
        with pytest.raises(TypeError):
            ledger.apply("aster", bad, "o", "1", "1")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            ledger.seen("aster", bad, "o")  # type: ignore[arg-type]
    assert len(ledger) == 0


# ---- keys ----


def test_int_and_str_trade_ids_are_distinct_trades() -> None:
    ledger = FillLedger()
    ledger.register_order("lighter", "o", "buy", "10")
    assert ledger.apply("lighter", 5, "o", "1", "1") is FillStatus.APPLIED
    assert ledger.seen("lighter", 5, "o")
    assert not ledger.seen("lighter", "5", "o")
    assert ledger.apply("lighter", "5", "o", "1", "1") is FillStatus.APPLIED
    assert not ledger.seen("hyperliquid", 5, "o")  # another venue's trade 5 is another trade
    o = ledger.order("lighter", "o")
    assert o is not None and o.fill_count == 2


def test_large_and_negative_integer_trade_ids() -> None:
    ledger = FillLedger()
    ledger.register_order("hyperliquid", "o", "buy", "10")
    for tid in (2**64 - 1, 2**63, -1, 2**127 - 1):
        assert ledger.apply("hyperliquid", tid, "o", "1", "1") is FillStatus.APPLIED
        assert ledger.seen("hyperliquid", tid, "o")
    assert not ledger.seen("hyperliquid", 2**64 - 2, "o")
    with pytest.raises(OverflowError):
        ledger.seen("hyperliquid", 2**130, "o")


# ---- one trade, several of our orders ----


def test_one_trade_filling_two_orders_counts_both_fills() -> None:
    """An outside taker sweeps two of our resting asks; the venue reports the trade, so both
    fills carry one trade id. Both count; the copies by REST and by status query do not."""
    ledger = FillLedger()
    ledger.register_order("lighter", "a", "sell", "0.4")
    ledger.register_order("lighter", "b", "sell", "0.6")
    assert ledger.apply("lighter", 881, "a", "3118", "0.4", is_maker=True) is FillStatus.APPLIED
    assert ledger.seen("lighter", 881, "a") and not ledger.seen("lighter", 881, "b")
    assert ledger.apply("lighter", 881, "b", "3118", "0.6", is_maker=True) is FillStatus.APPLIED
    for order_id, size in (("b", "0.6"), ("a", "0.4"), ("b", "0.6")):  # REST, status query
        assert ledger.apply("lighter", 881, order_id, "3118", size) is FillStatus.DUPLICATE
    for order_id, size in (("a", D("0.4")), ("b", D("0.6"))):
        o = ledger.order("lighter", order_id)
        assert o is not None and o.is_complete and o.filled == size and o.fill_count == 1
    assert len(ledger) == 2


def test_shared_trade_for_an_order_not_yet_registered_is_not_a_duplicate() -> None:
    ledger = FillLedger()
    ledger.register_order("aster", "a", "buy", "1")
    assert ledger.apply("aster", "t7", "a", "10", "1") is FillStatus.APPLIED
    assert ledger.apply("aster", "t7", "late", "10", "1") is FillStatus.UNKNOWN_ORDER
    assert not ledger.seen("aster", "t7", "late")
    ledger.register_order("aster", "late", "buy", "1")
    assert ledger.apply("aster", "t7", "late", "10", "1") is FillStatus.APPLIED
    assert ledger.apply("aster", "t7", "late", "10", "1") is FillStatus.DUPLICATE


def test_seen_needs_the_order() -> None:
    """A trade id alone cannot say whether a fill was counted: the order is required."""
    ledger = FillLedger()
    ledger.register_order("aster", "a", "buy", "1")
    ledger.apply("aster", 1, "a", "10", "1")
    with pytest.raises(TypeError):
        ledger.seen("aster", 1)  # type: ignore[call-arg]
    assert ledger.seen("aster", 1, order_id="a")


@given(
    st.lists(
        st.tuples(st.sampled_from(ORDERS), st.integers(0, 5) | st.integers(0, 5).map(str)),
        min_size=1, max_size=40,
    ),
    st.lists(st.integers(0, 3), min_size=40, max_size=40),
    st.randoms(use_true_random=False),
)  # fmt: skip
def test_each_order_trade_key_counts_once(
    keys: list[tuple[str, int | str]], copies: list[int], rnd: Any
) -> None:
    """Every distinct (order, trade id) counts once, the same trade id on two orders counts
    twice, and every extra copy of a key is a duplicate, in any arrival order."""
    ledger = FillLedger()
    for o in ORDERS:
        ledger.register_order("v", o, "buy", "1000")
    stream = [k for i, k in enumerate(keys) for _ in range(1 + copies[i])]
    rnd.shuffle(stream)
    statuses = [ledger.apply("v", tid, o, "1", "1") for o, tid in stream]
    distinct = {(o, type(tid), tid) for o, tid in keys}
    assert statuses.count(FillStatus.APPLIED) == len(distinct) == len(ledger)
    assert statuses.count(FillStatus.DUPLICATE) == len(stream) - len(distinct)
    for o in ORDERS:
        got = ledger.order("v", o)
        assert got is not None
        assert got.fill_count == sum(1 for k in distinct if k[0] == o)
        for _, tid in keys:
            assert ledger.seen("v", tid, o) == ((o, type(tid), tid) in distinct)


# ---- the window ----


def test_window_evicts_the_oldest_keys_first() -> None:
    ledger = FillLedger(window=3)
    assert ledger.capacity == 3
    ledger.register_order("aster", "o", "buy", "100")
    for tid in range(5):
        ledger.apply("aster", tid, "o", "1", "1")
    assert len(ledger) == 3
    assert [ledger.seen("aster", t, "o") for t in range(5)] == [False, False, True, True, True]
    # The documented consequence: a copy older than the window is counted again.
    assert ledger.apply("aster", 0, "o", "1", "1") is FillStatus.APPLIED
    assert ledger.apply("aster", 4, "o", "1", "1") is FillStatus.DUPLICATE
    o = ledger.order("aster", "o")
    assert o is not None and o.fill_count == 6


@given(st.integers(1, 20), st.lists(st.integers(0, 50) | st.text(max_size=3), unique=True))
def test_window_keeps_exactly_the_newest_keys(window: int, ids: list[int | str]) -> None:
    ledger = FillLedger(window)
    ledger.register_order("v", "o", "buy", "1000")
    for tid in ids:
        assert ledger.apply("v", tid, "o", "1", "1") is FillStatus.APPLIED
    assert len(ledger) == min(window, len(ids))
    kept = ids[len(ids) - min(window, len(ids)) :]
    assert [t for t in ids if ledger.seen("v", t, "o")] == kept


@pytest.mark.parametrize("window", [0, -1])
def test_window_must_hold_a_key(window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        FillLedger(window)


def test_default_window_is_ten_thousand() -> None:
    assert FillLedger().capacity == 10_000


# ---- orders ----


def test_order_registration_rules() -> None:
    ledger = FillLedger()
    ledger.register_order("aster", "o", "buy", "1")
    ledger.register_order("aster", "o", "buy", D("1.0"))  # a repeated acknowledgement is fine
    with pytest.raises(ValueError, match="already registered"):
        ledger.register_order("aster", "o", "sell", "1")
    with pytest.raises(ValueError, match="already registered"):
        ledger.register_order("aster", "o", "buy", "2")
    with pytest.raises(ValueError, match="side"):
        ledger.register_order("aster", "p", "BUY", "1")
    with pytest.raises(ValueError, match="positive"):
        ledger.register_order("aster", "p", "buy", "0")
    with pytest.raises(KeyError):
        ledger.set_order_size("aster", "missing", "1")
    with pytest.raises(ValueError, match="positive"):
        ledger.set_order_size("aster", "o", "-1")
    assert ledger.order("aster", "p") is None
    assert ledger.order("nowhere", "o") is None


def test_forgetting_an_order_keeps_its_fill_keys() -> None:
    ledger = FillLedger()
    ledger.register_order("hyperliquid", "o", "sell", "1")
    ledger.apply("hyperliquid", "t1", "o", "50", "1", fee="-0.01", is_maker=True)
    final = ledger.forget_order("hyperliquid", "o")
    assert final is not None
    assert (final.venue, final.order_id, final.side) == ("hyperliquid", "o", "sell")
    assert (final.filled, final.fees, final.maker_size) == (D(1), D("-0.01"), D(1))
    assert ledger.order("hyperliquid", "o") is None
    assert ledger.forget_order("hyperliquid", "o") is None
    assert ledger.apply("hyperliquid", "t1", "o", "50", "1") is FillStatus.DUPLICATE
    assert ledger.apply("hyperliquid", "t2", "o", "50", "1") is FillStatus.UNKNOWN_ORDER


def test_apply_raw_equals_apply() -> None:
    a, b = FillLedger(), FillLedger()
    for ledger in (a, b):
        ledger.register_order("lighter", "o", "buy", "3")
    a.apply("lighter", 1, "o", "3118.25", "0.5", fee="0.001", is_maker=True, ts_ns=7)
    b.apply_raw("lighter", 1, "o", 3_118_250_000_000, 500_000_000, 1_000_000, True, 7)
    a.apply("lighter", 2, "o", "3118.3", "1.25", fee="-0.0005")
    b.apply_raw("lighter", 2, "o", 3_118_300_000_000, 1_250_000_000, fee_raw=-500_000)
    assert snapshot(a, "lighter", "o") == snapshot(b, "lighter", "o")


def test_apply_fill_is_apply_with_the_totals_right_after_it() -> None:
    """The tracker's one call per fill: the same status as ``apply``, and the order as
    ``order()`` reads it right after (nothing for a fill that did not count)."""
    a, b = FillLedger(), FillLedger()
    for ledger in (a, b):
        ledger.register_order("aster", "o", "sell", "2")
    fills = [
        (1, "2400.5", "0.5", "0.01", True, 5),
        (1, "2400.5", "0.5", "0.01", True, 5),  # the same fill again (stream and REST)
        (2, "2400.4", "1.5", "0.02", False, 6),  # completes the order
        (3, "2400.3", "0.1", "0", False, 7),  # beyond its size: recorded, overfilled
    ]
    for trade, price, size, fee, maker, ts in fills:
        status = a.apply("aster", trade, "o", price, size, fee=fee, is_maker=maker, ts_ns=ts)
        got, totals = b.apply_fill("aster", trade, "o", price, size, fee, maker, ts)
        assert got is status
        if status is FillStatus.DUPLICATE:
            assert totals is None
        else:
            after = snapshot(b, "aster", "o")
            assert totals is not None
            assert (totals.venue, totals.order_id) == ("aster", "o")
            assert after == snapshot(a, "aster", "o")
            assert totals.filled == after[2] and totals.is_complete == after[11]
    assert b.apply_fill("aster", 9, "nope", "1", "1") == (FillStatus.UNKNOWN_ORDER, None)
    before = snapshot(b, "aster", "o")
    with pytest.raises(ValueError):
        b.apply_fill("aster", 10, "o", "-1", "1")  # refused: nothing changes
    assert snapshot(b, "aster", "o") == before


def test_average_price_is_exact_and_rounded_to_nine_decimals() -> None:
    ledger = FillLedger()
    ledger.register_order("aster", "o", "buy", "3")
    ledger.apply("aster", 1, "o", "100.1", "1")
    ledger.apply("aster", 2, "o", "100.2", "2")
    o = ledger.order("aster", "o")
    assert o is not None
    assert o.notional == D("300.5")  # exact
    assert o.avg_price == D("100.166666667")  # 100.1666… rounded half up
    assert isinstance(o.avg_price, Decimal)


def test_fill_timestamps_are_first_and_last_regardless_of_arrival_order() -> None:
    ledger = FillLedger()
    ledger.register_order("aster", "o", "buy", "3")
    ledger.apply("aster", 1, "o", "1", "1", ts_ns=300)
    ledger.apply("aster", 2, "o", "1", "1", ts_ns=100)
    ledger.apply("aster", 3, "o", "1", "1")  # 0 = unknown, ignored
    o = ledger.order("aster", "o")
    assert o is not None and (o.first_fill_ns, o.last_fill_ns) == (100, 300)
    with pytest.raises(ValueError, match="timestamp"):
        ledger.apply("aster", 4, "o", "1", "1", ts_ns=-1)


# ---- values and reprs ----


def test_status_members_are_singletons_and_hashable() -> None:
    assert FillStatus.APPLIED is FillStatus.APPLIED
    assert FillStatus.APPLIED != FillStatus.DUPLICATE
    assert len({FillStatus.APPLIED, FillStatus.DUPLICATE, FillStatus.OVERFILL,
                FillStatus.UNKNOWN_ORDER, FillStatus.APPLIED}) == 4  # fmt: skip
    assert repr(FillStatus.UNKNOWN_ORDER) == "FillStatus.UNKNOWN_ORDER"


def test_reprs_show_the_state() -> None:
    ledger = FillLedger(window=8)
    ledger.register_order("aster", "c-1", "buy", "2")
    ledger.apply("aster", 1, "c-1", "10", "1")
    assert repr(ledger) == "FillLedger(len=1, capacity=8, orders=1)"
    r = repr(ledger.order("aster", "c-1"))
    assert r.startswith("OrderFills(venue='aster', order_id='c-1', side='buy'")
    assert "filled='1'" in r and "avg_price='10'" in r
