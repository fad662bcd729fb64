"""Tests of the data-quality gate on real core order books."""

from __future__ import annotations

import json

import pytest

from hedgekit import OrderBook
from hedgekit.errors import BookIntegrityError
from hedgekit.tracking import BookGate, BookHealth

MS = 1_000_000


def _book(ts: int = 1_000 * MS) -> OrderBook:
    book = OrderBook("sim-a", "BTC")
    book.apply_snapshot([("99", "1")], [("101", "1")], ts)
    return book


def test_fresh_book_is_usable() -> None:
    gate = BookGate(max_age_ns=500 * MS)
    assert gate.check(_book(), 1_200 * MS) == BookHealth(True, None, 200 * MS)
    assert gate.require(_book(), 1_500 * MS).usable


def test_stale_book() -> None:
    gate = BookGate(max_age_ns=500 * MS)
    health = gate.check(_book(), 1_501 * MS)
    assert health == BookHealth(False, "stale", 501 * MS)
    with pytest.raises(BookIntegrityError) as info:
        gate.require(_book(), 1_501 * MS)
    assert info.value.kind == "stale" and "sim-a/BTC" in info.value.detail


def test_crossed_book() -> None:
    book = _book()
    book.apply_delta("bid", "102", "1", 1_001 * MS)
    assert book.is_crossed
    gate = BookGate(max_age_ns=500 * MS)
    assert gate.check(book, 1_002 * MS).reason == "crossed"
    with pytest.raises(BookIntegrityError) as info:
        gate.require(book, 1_002 * MS)
    assert info.value.kind == "crossed"
    book.apply_delta("bid", "102", "0", 1_003 * MS)  # uncrossed again
    assert gate.check(book, 1_004 * MS).usable


def _depth(first: int, last: int, prev: int) -> bytes:
    body = {"e": "depthUpdate", "E": 1, "T": 1, "s": "BTC", "U": first, "u": last, "pu": prev,
            "b": [["99", "2"]], "a": []}  # fmt: skip
    return json.dumps(body).encode()


def test_sequence_gap_is_unusable_until_next_snapshot() -> None:
    book = OrderBook("aster", "BTC")
    snapshot = {"lastUpdateId": 100, "E": 1, "T": 1, "bids": [["99", "1"]], "asks": [["101", "1"]]}
    book.apply_depth_snapshot(json.dumps(snapshot).encode(), 1_000 * MS)
    gate = BookGate(max_age_ns=500 * MS)
    assert gate.check(book, 1_000 * MS).usable
    book.apply_depth_update(_depth(99, 105, 98), 1_010 * MS)
    assert gate.check(book, 1_010 * MS).usable
    book.apply_depth_update(_depth(110, 120, 109), 1_020 * MS)  # pu != 105: a gap
    assert not book.is_synced
    with pytest.raises(BookIntegrityError) as info:
        gate.require(book, 1_020 * MS)
    assert info.value.kind == "not_synced"
    book.apply_depth_snapshot(json.dumps(snapshot).encode(), 1_030 * MS)
    assert gate.check(book, 1_030 * MS).usable


def test_empty_and_never_synced_books() -> None:
    gate = BookGate(max_age_ns=500 * MS)
    assert gate.check(OrderBook(), 0).reason == "not_synced"
    one_sided = OrderBook("sim-a", "BTC")
    one_sided.apply_snapshot([("99", "1")], [], 10)
    assert gate.check(one_sided, 10).reason == "empty"
    with pytest.raises(ValueError):
        BookGate(0)
