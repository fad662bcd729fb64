"""Tests of the reconciliation policy, the position book and the comparison."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tracking_factories import fill

from hedgekit.model import Fill, Position, Side
from hedgekit.tracking import PositionBook, PositionMismatch, ReconcileConfig, Reconciler, compare

S = 1_000_000_000


def test_first_fetch_is_initial_then_periodic() -> None:
    r = Reconciler()
    assert r.due(0) == "initial" and r.next_due_ns(0) == 0
    r.fetched(0)
    assert r.due(29 * S) is None
    assert r.next_due_ns(1 * S) == 30 * S
    assert r.due(30 * S) == "periodic"
    r.fetched(30 * S)
    assert r.due(31 * S) is None


def test_trigger_fires_at_once_when_allowed() -> None:
    r = Reconciler()
    r.fetched(0)
    r.trigger("rejection", 5 * S)
    assert r.due(5 * S) == "rejection" and r.next_due_ns(5 * S) == 5 * S
    r.fetched(5 * S)
    assert r.pending is None and r.due(5 * S) is None


def test_trigger_inside_min_interval_is_deferred_not_lost() -> None:
    r = Reconciler(ReconcileConfig(interval_ns=30 * S, min_interval_ns=1 * S))
    r.fetched(10 * S)
    r.trigger("overfill", 10 * S + 100)
    r.trigger("reconnect", 10 * S + 200)  # the first reason is kept
    assert r.due(10 * S + 500_000_000) is None
    assert r.next_due_ns(10 * S + 500_000_000) == 11 * S
    assert r.due(11 * S) == "overfill"
    r.fetched(11 * S)
    assert r.due(11 * S + 1) is None


def test_trigger_during_a_fetch_stays_pending() -> None:
    r = Reconciler()
    r.fetched(0)
    r.trigger("unmatched_fill", 3 * S)  # arrived while the fetch started at 2 s was running
    r.fetched(4 * S, started_ns=2 * S)
    assert r.pending == "unmatched_fill"
    assert r.due(5 * S) == "unmatched_fill"


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        ReconcileConfig(interval_ns=0)


def _pos(symbol: str, size: str) -> Position:
    return Position("sim-a", symbol, Decimal(size), None, None, 0)


def test_position_book_accumulates_signed_fills() -> None:
    book = PositionBook({"ETH": Decimal(2)})
    assert book.initialized
    book.apply(fill(size="1.5"))
    book.apply(fill(trade_id=2, size="0.5", side=Side.SELL))
    book.add("ETH", Side.SELL, Decimal(3))
    assert book.positions() == {"ETH": Decimal(-1), "BTC": Decimal("1.0")}
    assert book.get("SOL") == 0
    empty = PositionBook()
    assert not empty.initialized
    empty.reset({"BTC": Decimal(1)})
    assert empty.initialized and empty.get("BTC") == 1


def test_compare_with_tolerances() -> None:
    expected = {"BTC": Decimal(1), "ETH": Decimal(-2), "SOL": Decimal(0)}
    actual = {"BTC": _pos("BTC", "1.0005"), "ETH": _pos("ETH", "-2"), "DOGE": _pos("DOGE", "5")}
    assert compare(expected, actual, Decimal("0.001")) == [
        PositionMismatch("DOGE", Decimal(0), Decimal(5), Decimal(5))
    ]
    mismatches = compare(expected, actual)
    assert [m.symbol for m in mismatches] == ["BTC", "DOGE"]
    assert mismatches[0].difference == Decimal("0.0005")
    per_symbol = compare(expected, actual, {"BTC": Decimal("0.01"), "DOGE": Decimal(10)})
    assert per_symbol == []


def _f(ts: int, size: str, side: Side = Side.BUY) -> Fill:
    base = fill(size=size, side=side)
    return Fill(
        base.venue, base.symbol, base.client_id, base.venue_order_id, ts, side, base.price,
        Decimal(size), base.fee, base.liquidity, ts,
    )  # fmt: skip


def test_snapshot_absorbs_fills_executed_before_it_whatever_their_arrival() -> None:
    book = PositionBook()
    book.apply(_f(10, "1"))  # executed and seen before the first snapshot
    book.reset({"BTC": Decimal(3)}, as_of_ns=20)  # the venue counts 1 + a fill at 15 + 1 more
    book.apply(_f(15, "1"))  # arrives after the snapshot that already includes it: ignored
    book.apply(_f(30, "2"))  # executed after the snapshot: counts
    assert book.get("BTC") == Decimal(5)


def test_expected_at_leaves_out_fills_executed_after_the_snapshot_time() -> None:
    book = PositionBook({"BTC": Decimal(0)}, as_of_ns=0)
    book.apply(_f(10, "1"))
    book.apply(_f(50, "2"))
    assert book.expected_at(20) == {"BTC": Decimal(1)}
    book.apply(_f(15, "0.5"))  # late arrival, executed before 20: always part of the total
    assert book.expected_at(60) == {"BTC": Decimal("3.5")}
    assert book.positions() == {"BTC": Decimal("3.5")}
