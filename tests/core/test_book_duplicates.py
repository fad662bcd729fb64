"""One rule for a price listed twice in one message: refused, for every venue and message kind.

A venue never sends the same price twice on one side of one message (snapshot or diff), so such
a message is corrupted. Applying it last-wins would hide that behind a guess; it is refused
instead, whatever the sizes (a size-0 entry included), and the book — levels, flags, times,
update id and sync state — is left exactly as it was. A refused diff therefore makes the next
diff a sequence gap, and the book resynchronises from a snapshot. The same price on both sides is
not a duplicate: it is a crossed book, reported as such.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from hedgekit import OrderBook
from hedgekit._core import BOOK_CROSSED, BOOK_GAP, BOOK_OK
from hedgekit.errors import InvalidArgumentError, ParseError

SIZES = [("1", "2"), ("0", "1"), ("1", "0"), ("0", "0"), ("1", "1")]
D = Decimal


def state(book: OrderBook) -> tuple[object, ...]:
    return (
        book.levels("bid", 100),
        book.levels("ask", 100),
        book.is_crossed,
        book.is_synced,
        book.last_update_ns,
        book.venue_time_ms,
        book.last_update_id,
    )


def sides(side: str, sizes: tuple[str, str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    dup = [("100", sizes[0]), ("99" if side == "bid" else "101", "1"), ("100", sizes[1])]
    return (dup, [("200", "1")]) if side == "bid" else ([("50", "1")], dup)


def hl_message(bids: list[tuple[str, str]], asks: list[tuple[str, str]], compact: bool) -> bytes:
    def side(v: list[tuple[str, str]]) -> list[dict[str, object]]:
        return [{"px": p, "sz": s, "n": 1} for p, s in v]

    data = {"coin": "ETH", "time": 5, "levels": [side(bids), side(asks)]}
    sep = (",", ":") if compact else (", ", ": ")
    return json.dumps({"channel": "l2Book", "data": data}, separators=sep).encode()


def depth_snapshot(lid: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> bytes:
    return json.dumps({"lastUpdateId": lid, "E": 1, "T": 2, "bids": bids, "asks": asks}).encode()


def depth_update(
    first: int, last: int, prev: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> bytes:
    body = {"e": "depthUpdate", "E": 3, "T": 4, "s": "X", "U": first, "u": last, "pu": prev,
            "b": bids, "a": asks}  # fmt: skip
    return json.dumps(body).encode()


def refused(apply: object, book: OrderBook, msg: bytes, side: str) -> None:
    before = state(book)
    with pytest.raises(ParseError) as exc:
        apply(msg, 99)  # type: ignore[operator]
    assert "listed twice" in exc.value.message
    assert exc.value.message.startswith("bids" if side == "bid" else "asks")
    assert msg[exc.value.position : exc.value.position + 1] == b"["
    assert state(book) == before


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("side", ["bid", "ask"])
@pytest.mark.parametrize("compact", [True, False], ids=["fast-path", "general-path"])
def test_hyperliquid_snapshot(side: str, sizes: tuple[str, str], compact: bool) -> None:
    book = OrderBook("hyperliquid", "ETH")
    book.apply_hyperliquid(hl_message([("9", "1")], [("11", "1")], True), 1)
    refused(book.apply_hyperliquid, book, hl_message(*sides(side, sizes), compact), side)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("side", ["bid", "ask"])
def test_depth_snapshot(side: str, sizes: tuple[str, str]) -> None:
    book = OrderBook("aster", "BTCUSDT")
    book.apply_depth_snapshot(depth_snapshot(100, [("9", "1")], [("11", "1")]), 1)
    refused(book.apply_depth_snapshot, book, depth_snapshot(200, *sides(side, sizes)), side)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("side", ["bid", "ask"])
@pytest.mark.parametrize("first_diff_applied", [False, True])
@pytest.mark.parametrize("ids", ["in sequence", "old", "gap"])
@pytest.mark.parametrize("wrapped", [False, True])
def test_depth_update(
    side: str, sizes: tuple[str, str], first_diff_applied: bool, ids: str, wrapped: bool
) -> None:
    book = OrderBook("aster", "BTCUSDT")
    book.apply_depth_snapshot(depth_snapshot(100, [("9", "1")], [("11", "1")]), 1)
    lid = 100
    if first_diff_applied:
        assert book.apply_depth_update(depth_update(95, 105, 94, [("9", "2")], []), 2) == BOOK_OK
        lid = 105
    seq = {
        "in sequence": (lid - 1 if not first_diff_applied else lid + 1, lid + 3, lid),
        "old": (lid - 10, lid - 1, lid - 11),
        "gap": (lid + 5, lid + 9, lid + 4),
    }[ids]
    msg = depth_update(*seq, *sides(side, sizes))
    if wrapped:
        msg = b'{"stream":"btcusdt@depth","data":' + msg + b"}"
    refused(book.apply_depth_update, book, msg, side)
    # Refusing the diff left the sync state alone; the venue's next diff does not chain onto
    # the refused one, so it is a gap and the book resynchronises from a snapshot.
    if ids == "in sequence":
        nxt = depth_update(lid + 4, lid + 6, lid + 3, [], [])
        assert book.apply_depth_update(nxt, 3) == BOOK_GAP and not book.is_synced


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("side", ["bid", "ask"])
def test_generic_snapshot(side: str, sizes: tuple[str, str]) -> None:
    """The path of venues whose levels arrive decoded (Lighter through the remote adapter)."""
    book = OrderBook("lighter", "ETH")
    book.apply_snapshot([("9", "1")], [("11", "1")])
    before = state(book)
    bids, asks = sides(side, sizes)
    with pytest.raises(InvalidArgumentError, match="listed twice"):
        book.apply_snapshot(bids, asks)
    assert state(book) == before

    def raw(v: list[tuple[str, str]], k: int) -> np.ndarray:
        return np.array([int(D(x[k]) * 10**9) for x in v], dtype=np.int64)

    with pytest.raises(InvalidArgumentError, match="listed twice"):
        book.apply_snapshot_raw(raw(bids, 0), raw(bids, 1), raw(asks, 0), raw(asks, 1))
    assert state(book) == before


def test_one_price_on_both_sides_is_a_crossed_book_not_a_duplicate() -> None:
    book = OrderBook()
    assert book.apply_hyperliquid(hl_message([("100", "1")], [("100", "1")], True)) == BOOK_CROSSED
    assert (
        book.apply_depth_snapshot(depth_snapshot(1, [("100", "1")], [("100", "1")])) == BOOK_CROSSED
    )
    assert book.apply_snapshot([("100", "1")], [("100", "1")]) == BOOK_CROSSED


def test_a_batch_is_a_sequence_not_a_message() -> None:
    """``apply_deltas_raw`` applies the caller's own sequence of updates in order (documented):
    a price may repeat there, and its last delta wins."""
    book = OrderBook()
    status = book.apply_deltas_raw(
        np.array([1, 1, 1], dtype=np.uint8),
        np.array([10**11, 10**11, 9 * 10**10], dtype=np.int64),
        np.array([10**9, 0, 10**9], dtype=np.int64),
    )
    assert status == BOOK_OK
    assert book.levels("bid") == [(D("90"), D("1"))]
