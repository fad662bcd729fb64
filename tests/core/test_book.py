"""OrderBook: snapshots, deltas, batches, venue messages and the depth walk, from Python."""

from __future__ import annotations

import array
import json
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit import _core
from hedgekit.errors import ParseError

OrderBook = _core.OrderBook
OK, CROSSED, IGNORED, GAP = _core.BOOK_OK, _core.BOOK_CROSSED, _core.BOOK_IGNORED, _core.BOOK_GAP
ONE = 10**9
D = Decimal


class Model:
    """A plain-Python book: one dict per side."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def set(self, is_bid: bool, px: int, sz: int) -> None:
        side = self.bids if is_bid else self.asks
        if sz == 0:
            side.pop(px, None)
        else:
            side[px] = sz

    def levels(self, is_bid: bool) -> list[tuple[int, int]]:
        side = self.bids if is_bid else self.asks
        return sorted(side.items(), reverse=is_bid)

    def crossed(self) -> bool:
        return bool(self.bids and self.asks and max(self.bids) >= min(self.asks))


def raw_levels(book: OrderBook, side: str) -> list[tuple[int, int]]:
    return [(int(p * ONE), int(s * ONE)) for p, s in book.levels(side, depth=10_000)]


def assert_same(book: OrderBook, m: Model) -> None:
    assert raw_levels(book, "bid") == m.levels(True)
    assert raw_levels(book, "ask") == m.levels(False)
    assert book.is_crossed == m.crossed()
    bb, ba = m.levels(True), m.levels(False)
    assert book.bbo_raw() == (
        bb[0][0] if bb else None,
        bb[0][1] if bb else None,
        ba[0][0] if ba else None,
        ba[0][1] if ba else None,
    )
    assert book.best_bid_raw() == (bb[0][0] if bb else None)
    assert book.best_ask_raw() == (ba[0][0] if ba else None)


def state(book: OrderBook) -> tuple[object, ...]:
    return (
        book.levels("bid", 1000),
        book.levels("ask", 1000),
        book.is_crossed,
        book.is_synced,
        book.last_update_ns,
        book.venue_time_ms,
        book.last_update_id,
    )


prices = st.integers(1, 40).map(lambda p: p * 250_000_000)
sizes = st.one_of(st.just(0), st.integers(1, 5 * ONE))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("delta"), st.booleans(), prices, sizes),
        st.tuples(st.just("batch"), st.lists(st.tuples(st.booleans(), prices, sizes), max_size=15)),
        st.tuples(
            st.just("snapshot"),
            st.dictionaries(prices, st.integers(1, 5 * ONE), max_size=10),
            st.dictionaries(prices, st.integers(1, 5 * ONE), max_size=10),
        ),
    ),
    min_size=1,
    max_size=40,
)


@given(ops)
def test_book_agrees_with_a_plain_python_model(script: list[tuple]) -> None:
    book, m = OrderBook(), Model()
    for op in script:
        if op[0] == "delta":
            _, is_bid, px, sz = op
            m.set(is_bid, px, sz)
            status = book.apply_delta_raw(is_bid, px, sz, ts_ns=5)
        elif op[0] == "batch":
            for is_bid, px, sz in op[1]:
                m.set(is_bid, px, sz)
            status = book.apply_deltas_raw(
                np.array([b for b, _, _ in op[1]], dtype=np.bool_),
                np.array([p for _, p, _ in op[1]], dtype=np.int64),
                np.array([s for _, _, s in op[1]], dtype=np.int64),
            )
        else:
            m = Model()
            m.bids, m.asks = dict(op[1]), dict(op[2])
            status = book.apply_snapshot_raw(
                array.array("q", op[1].keys()),
                array.array("q", op[1].values()),
                np.array(list(op[2].keys()), dtype=np.int64),
                np.array(list(op[2].values()), dtype=np.int64),
            )
        assert status == (CROSSED if m.crossed() else OK)
        assert_same(book, m)


@given(st.lists(st.tuples(st.booleans(), prices, sizes), max_size=30))
def test_raw_and_decimal_apis_agree(deltas: list[tuple[bool, int, int]]) -> None:
    raw, exact = OrderBook(), OrderBook()
    for is_bid, px, sz in deltas:
        s1 = raw.apply_delta_raw(is_bid, px, sz)
        s2 = exact.apply_delta("bid" if is_bid else "ask", D(px) / ONE, str(D(sz) / ONE))
        assert s1 == s2
    assert raw.levels("bid", 100) == exact.levels("bid", 100)
    assert raw.levels("ask", 100) == exact.levels("ask", 100)
    assert raw.bbo_raw() == exact.bbo_raw()


def test_touch_stamp_holds_while_the_touch_does_and_only_for_a_usable_book() -> None:
    book = OrderBook("hyperliquid", "ETH")
    assert book.touch_stamp() is None  # never updated
    book.apply_snapshot([("100", "1")], [], ts_ns=5)
    assert book.touch_stamp() is None  # a side empty: no quote
    book.apply_snapshot([("100", "1")], [("101", "2")], ts_ns=5)
    stamp = book.touch_stamp()
    assert stamp == (5, *book.bbo_raw())
    book.apply_delta("ask", "103", "1", ts_ns=5)  # behind the touch
    assert book.touch_stamp() == stamp
    book.apply_delta("bid", "100", "3", ts_ns=5)  # the touch's size moves, same time
    assert book.touch_stamp() != stamp
    book.apply_delta("bid", "102", "1", ts_ns=6)  # crossed: no quote can be read
    assert book.is_crossed and book.touch_stamp() is None


def test_snapshot_queries_and_exact_values() -> None:
    book = OrderBook("hyperliquid", "ETH")
    status = book.apply_snapshot(
        [("3119.9", "1.5"), (D("3119.8"), 2)], [("3120.1", "0.5")], ts_ns=42
    )
    assert status == OK
    assert book.best_bid() == (D("3119.9"), D("1.5"))
    assert book.best_ask() == (D("3120.1"), D("0.5"))
    assert book.mid() == D("3120")
    assert book.spread_bps() == pytest.approx(0.2 / 3120 * 1e4)
    assert book.levels("bid") == [(D("3119.9"), D("1.5")), (D("3119.8"), D("2"))]
    assert book.levels("bid", depth=1) == [(D("3119.9"), D("1.5"))]
    assert book.last_update_ns == 42
    assert book.is_synced and not book.is_crossed
    assert (book.venue, book.symbol) == ("hyperliquid", "ETH")
    assert "3119.9 x 1.5" in repr(book) and "ETH" in repr(book)
    # levels straight from a JSON list of lists are fine; anything but a pair is refused
    assert book.apply_snapshot([["4.00000000", "431.00000000"]], []) == OK
    assert book.best_bid() == (D("4"), D("431")) and book.best_ask() is None
    with pytest.raises(TypeError):
        book.apply_snapshot([("1", "1", "1")], [])
    empty = OrderBook()
    assert empty.best_bid() is None and empty.mid() is None and empty.spread_bps() is None
    assert empty.bbo_raw() == (None, None, None, None)
    assert not empty.is_synced


def test_crossed_updates_are_reported_and_stay_flagged() -> None:
    book = OrderBook()
    book.apply_snapshot([("100", "1")], [("101", "1")])
    assert book.apply_delta("bid", "101", "1") == CROSSED
    assert book.is_crossed
    assert book.apply_delta("ask", "102", "1") == CROSSED  # still crossed
    spread = book.spread_bps()
    assert spread is not None and spread <= 0
    assert book.apply_delta("bid", "101", 0) == OK
    assert not book.is_crossed
    # a batch is judged once, at its end
    st_ = book.apply_deltas_raw(bytes([1, 1]), np.array([105 * ONE, 105 * ONE]), np.array([ONE, 0]))
    assert st_ == OK and not book.is_crossed


def test_invalid_updates_raise_and_change_nothing() -> None:
    book = OrderBook()
    book.apply_snapshot([("100", "1")], [("101", "1")])
    before = state(book)
    with pytest.raises(ValueError):
        book.apply_delta("bid", "0", "1")
    with pytest.raises(ValueError):
        book.apply_delta("bid", "100", "-1")
    with pytest.raises(ValueError):
        book.apply_delta("buy", "100", "1")
    with pytest.raises(ValueError):
        book.apply_delta_raw(True, -5, ONE)
    with pytest.raises(ValueError):
        book.apply_deltas_raw(bytes([1, 0]), np.array([ONE, -ONE]), np.array([ONE, ONE]))
    with pytest.raises(ValueError):
        book.apply_deltas_raw(bytes([1]), np.array([ONE, ONE]), np.array([ONE, ONE]))
    with pytest.raises(ValueError):
        book.apply_snapshot([("1", "1"), ("1", "2")], [])
    with pytest.raises(TypeError):
        book.apply_delta("bid", 100.5, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        book.apply_snapshot([(100.5, "1")], [])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        book.apply_snapshot_raw(
            np.array([1.0]),
            np.array([1.0]),
            np.array([], dtype=np.int64),
            np.array([], dtype=np.int64),
        )
    assert state(book) == before


HL = {
    "channel": "l2Book",
    "data": {
        "coin": "ETH",
        "time": 1760000000000,
        "levels": [
            [{"px": "3119.9", "sz": "1.5", "n": 3}, {"px": "3119.8", "sz": "2", "n": 1}],
            [{"px": "3120.1", "sz": "0.5", "n": 2}, {"px": "3120.5", "sz": "7.25", "n": 4}],
        ],
    },
}
HL_BYTES = json.dumps(HL).encode()


def test_hyperliquid_message_replaces_the_book() -> None:
    book = OrderBook("hyperliquid", "ETH")
    book.apply_delta("bid", "1", "1")
    assert book.apply_hyperliquid(HL_BYTES, ts_ns=7) == OK
    assert book.levels("bid") == [(D("3119.9"), D("1.5")), (D("3119.8"), D("2"))]
    assert book.levels("ask") == [(D("3120.1"), D("0.5")), (D("3120.5"), D("7.25"))]
    assert book.venue_time_ms == 1760000000000
    assert book.last_update_ns == 7
    # the bare data object, keys in another order, whitespace, unknown keys
    bare = (
        b' {"levels": [[], [{"n": 1, "sz": "3", "px": "5", "x": {"y": [null, "]"]}}]],'
        b' "coin": "ETH", "time": 5} '
    )
    assert book.apply_hyperliquid(bare) == OK
    assert book.best_bid() is None and book.best_ask() == (D("5"), D("3"))
    assert book.venue_time_ms == 5


@pytest.mark.parametrize(
    "wrap",
    [bytes, bytearray, memoryview, lambda b: b.decode(), lambda b: memoryview(b" " + b)[1:]],
    ids=["bytes", "bytearray", "memoryview", "str", "memoryview-slice"],
)
def test_venue_messages_are_read_from_any_byte_buffer(wrap: object) -> None:
    """A WebSocket frame's payload is handed on as it comes (a memoryview of the read buffer,
    a reassembled bytearray, text): every venue parser reads each the same."""
    book = OrderBook("hyperliquid", "ETH")
    assert book.apply_hyperliquid(wrap(HL_BYTES)) == OK  # type: ignore[operator]
    assert book.best_bid() == (D("3119.9"), D("1.5"))
    aster = OrderBook("aster", "BTCUSDT")
    snap = _depth_snapshot(7, [("4", "1")], [("5", "2")])
    assert aster.apply_depth_snapshot(wrap(snap)) == OK  # type: ignore[operator]
    assert aster.apply_depth_update(wrap(_depth_update(7, 8, 6, [("4", "3")], []))) == OK  # type: ignore[operator]
    assert aster.best_bid() == (D("4"), D("3"))


def test_a_message_that_is_not_bytes_is_refused_with_a_type_error() -> None:
    book = OrderBook("hyperliquid", "ETH")
    with pytest.raises(TypeError, match="bytes, str or a byte buffer"):
        book.apply_hyperliquid(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        book.apply_hyperliquid(array.array("q", [1, 2]))
    assert book.best_bid() is None


@pytest.mark.parametrize(
    "bad",
    [
        HL_BYTES.replace(b'"1.5"', b'"NaN"'),
        HL_BYTES.replace(b'"1.5"', b'"-1"'),
        HL_BYTES.replace(b'"1.5"', b'"1e400"'),
        HL_BYTES.replace(b'"1.5"', b'"0.0000000001"'),
        HL_BYTES.replace(b'"1.5"', b"1.5"),
        HL_BYTES.replace(b'"1.5"', b"NaN"),
        HL_BYTES.replace(b'"3119.9"', b'"0"'),
        HL_BYTES.replace(b'"3119.9"', b'"3119.8"'),
        HL_BYTES.replace(b"1760000000000", b'"1760000000000"'),
        HL_BYTES.replace(b'"levels"', b'"levelz"'),
        HL_BYTES.replace(b'"l2Book"', b'"trades"'),
        HL_BYTES + b"}",
        HL_BYTES.replace(b"]]}}", b"],[]]}}"),
        b"\x00\xffgarbage",
        b"",
        b"[]",
    ],
)
def test_malformed_hyperliquid_messages_raise_and_change_nothing(bad: bytes) -> None:
    book = OrderBook()
    book.apply_hyperliquid(HL_BYTES, ts_ns=1)
    before = state(book)
    with pytest.raises(ParseError) as exc:
        book.apply_hyperliquid(bad, ts_ns=2)
    assert isinstance(exc.value.position, int) and 0 <= exc.value.position <= len(bad)
    assert state(book) == before


def test_truncated_messages_raise_at_every_cut() -> None:
    book = OrderBook()
    book.apply_hyperliquid(HL_BYTES, ts_ns=1)
    before = state(book)
    for cut in range(len(HL_BYTES)):
        with pytest.raises(ParseError):
            book.apply_hyperliquid(HL_BYTES[:cut], ts_ns=2)
    assert state(book) == before
    update = _depth_update(1, 2, 0, [("1", "1")], [("2", "0")])
    for cut in range(0, len(update), 3):
        with pytest.raises(ParseError):
            book.apply_depth_update(update[:cut])
    assert state(book) == before


@given(st.binary(max_size=200))
def test_garbage_never_crashes_or_changes_the_book(data: bytes) -> None:
    book = OrderBook()
    book.apply_hyperliquid(HL_BYTES)
    before = state(book)
    for fn in (book.apply_hyperliquid, book.apply_depth_update, book.apply_depth_snapshot):
        try:
            fn(data)
        except ParseError:
            assert state(book) == before


def _pairs(v: list[tuple[str, str]]) -> list[list[str]]:
    return [[p, s] for p, s in v]


def _depth_snapshot(lid: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> bytes:
    body = {
        "lastUpdateId": lid,
        "E": 1589436922972,
        "T": 1589436922959,
        "bids": _pairs(bids),
        "asks": _pairs(asks),
    }
    return json.dumps(body).encode()


def _depth_update(
    first: int, last: int, prev: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> bytes:
    body = {
        "e": "depthUpdate", "E": 123456789, "T": 123456788, "s": "BTCUSDT",
        "U": first, "u": last, "pu": prev, "b": _pairs(bids), "a": _pairs(asks),
    }  # fmt: skip
    return json.dumps(body).encode()


def test_depth_sync_follows_the_venue_rules() -> None:
    book = OrderBook("aster", "BTCUSDT")
    # a diff before any snapshot: gap, nothing applied
    assert book.apply_depth_update(_depth_update(1, 2, 0, [("1", "1")], [])) == GAP
    assert not book.is_synced and book.best_bid() is None
    assert (
        book.apply_depth_snapshot(
            _depth_snapshot(
                1027024, [("4.00000000", "431.00000000")], [("4.00000200", "12.00000000")]
            )
        )
        == OK
    )
    assert book.is_synced and book.last_update_id == 1027024
    assert book.venue_time_ms == 1589436922959
    # older than the snapshot: dropped
    assert (
        book.apply_depth_update(_depth_update(1027000, 1027020, 1026999, [("3", "9")], []))
        == IGNORED
    )
    assert book.levels("bid") == [(D("4"), D("431"))]
    # first applied diff brackets lastUpdateId
    assert (
        book.apply_depth_update(
            _depth_update(1027020, 1027030, 1027019, [("4", "0"), ("3.9", "5")], [])
        )
        == OK
    )
    assert book.levels("bid") == [(D("3.9"), D("5"))]
    assert book.last_update_id == 1027030
    # chained by pu; qty 0 for an absent level is fine
    assert (
        book.apply_depth_update(
            _depth_update(1027031, 1027035, 1027030, [("1", "0")], [("4.1", "1")])
        )
        == OK
    )
    # a replay of an applied diff is old
    assert (
        book.apply_depth_update(_depth_update(1027031, 1027035, 1027030, [("1", "5")], []))
        == IGNORED
    )
    # wrapped form, crossing the book
    wrapped = (
        b'{"stream":"btcusdt@depth@100ms","data":'
        + _depth_update(1027036, 1027040, 1027035, [("5", "1")], [])
        + b"}"
    )
    assert book.apply_depth_update(wrapped) == CROSSED and book.is_crossed
    # a gap: reported, not applied, book unusable until a snapshot
    before = book.levels("bid")
    assert (
        book.apply_depth_update(_depth_update(1027050, 1027060, 1027049, [("6", "1")], [])) == GAP
    )
    assert not book.is_synced and book.levels("bid") == before
    assert book.apply_depth_update(_depth_update(1027041, 1027042, 1027040, [], [])) == GAP
    assert book.apply_depth_snapshot(_depth_snapshot(2000000, [("4", "1")], [("4.1", "1")])) == OK
    assert book.is_synced and not book.is_crossed
    # first diff after a snapshot that starts past it: gap
    assert book.apply_depth_update(_depth_update(2000001, 2000005, 2000000, [], [])) == GAP


def test_malformed_depth_messages_raise_and_keep_the_sync_state() -> None:
    book = OrderBook()
    book.apply_depth_snapshot(_depth_snapshot(100, [("1", "1")], [("2", "1")]))
    before = state(book)
    bad = [
        _depth_update(99, 101, 98, [("1", "-1")], []),
        _depth_update(99, 101, 98, [("NaN", "1")], []),
        _depth_update(99, 101, 98, [("1e400", "1")], []),
        _depth_update(99, 101, 98, [], []).replace(b'"pu": 98, ', b""),
        _depth_update(99, 101, 98, [], []).replace(b"depthUpdate", b"trade"),
        _depth_update(99, 101, 98, [], []).replace(b'"u": 101', b'"u": "101"'),
        b'{"e":"depthUpdate","U":99,"u":101,"pu":98,"b":[[1,"1"]],"a":[]}',
        b'{"e":"depthUpdate","U":99,"u":101,"pu":98,"b":[["1"]],"a":[]}',
        b'{"e":"depthUpdate","U":99,"u":101,"pu":98,"b":{},"a":[]}',
    ]
    for msg in bad:
        with pytest.raises(ParseError):
            book.apply_depth_update(msg)
        assert state(book) == before
    with pytest.raises(ParseError):
        book.apply_depth_snapshot(b'{"bids":[],"asks":[]}')
    assert state(book) == before
    with pytest.raises(ParseError):  # text is read like bytes: not JSON, refused
        book.apply_hyperliquid("not json")
    assert state(book) == before


def test_depth_walk() -> None:
    book = OrderBook()
    book.apply_snapshot([("99", "1"), ("100", "1")], [("101", "1"), ("102", "2"), ("110", "5")])
    w = book.walk("buy", "2")
    assert (w.vwap, w.filled, w.worst_price, w.best_price, w.complete) == (
        D("101.5"),
        D("2"),
        D("102"),
        D("101"),
        True,
    )
    assert w.side == "buy" and w.wanted == D("2")
    assert w.slippage_bps == pytest.approx(0.5 / 101 * 1e4)
    assert w.slippage_vs_mid_bps == pytest.approx(1.0 / 100.5 * 1e4)
    # rounded toward the worse price for the taker
    assert book.vwap("buy", "3") == (D("101.666666667"), D("3"))
    assert book.vwap("sell", "3") == (D("99.5"), D("2"))
    assert not book.walk("sell", "3").complete
    assert book.size_within_bps("buy", 100) == D("3")  # 102 is 99.0099 bps away: inside
    assert book.size_within_bps("buy", "99") == D("1")
    assert book.size_within_bps("sell", 1.5) == D("1")
    assert book.worst_price("buy", "100") == D("110")
    assert OrderBook().worst_price("buy", "1") is None
    assert OrderBook().vwap("buy", "1") is None
    s_thin = book.liquidity_score("buy", "3", 50)
    s_wide = book.liquidity_score("buy", "3", 100)
    assert 0 < s_thin < s_wide <= 1
    book.apply_delta("ask", "101", "10")
    assert book.liquidity_score("buy", "3", 50) > s_thin
    with pytest.raises(ValueError):
        book.walk("bid", "1")
    with pytest.raises(ValueError):
        book.walk("buy", "0")
    with pytest.raises(TypeError):
        book.walk("buy", 1.5)  # type: ignore[arg-type]


@given(
    st.dictionaries(prices, st.integers(1, 5 * ONE), min_size=1, max_size=10),
    st.dictionaries(prices, st.integers(1, 5 * ONE), min_size=1, max_size=10),
)
def test_more_depth_never_lowers_the_score(bids: dict[int, int], asks: dict[int, int]) -> None:
    asks = {p + 11 * ONE: s for p, s in asks.items()}  # keep the book uncrossed
    book = OrderBook()
    book.apply_snapshot_raw(
        np.array(list(bids), dtype=np.int64), np.array(list(bids.values()), dtype=np.int64),
        np.array(list(asks), dtype=np.int64), np.array(list(asks.values()), dtype=np.int64),
    )  # fmt: skip
    before = book.liquidity_score("buy", "3", 500)
    assert 0 <= before <= 1
    best = book.best_ask_raw()
    assert best is not None
    book.apply_delta_raw(False, best, asks[best] + ONE)
    assert book.liquidity_score("buy", "3", 500) >= before
