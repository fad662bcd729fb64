"""Fill ledger: the dedup check against a pure-Python set + deque, and apply_raw against apply.

Both dedups hold the same 10 000 keys (Hyperliquid-style integer trade ids of one order on each of
two venues; a key is (venue, order, trade id)) and are asked the same questions: a hit (a key in the
window) and a miss (a new fill).
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from itertools import count
from typing import Any

import pytest

from hedgekit import FillLedger, FillStatus

WINDOW = 10_000
VENUES = ("hyperliquid", "aster")
FIRST_TID = 900_000_000_000
PX_RAW, SZ_RAW, FEE_RAW = 3_118_250_000_000, 1_000_000, 150  # 3118.25, 0.001, 0.00000015
HIT = ("hyperliquid", FIRST_TID + WINDOW - 10, "o")  # applied recently: in the window
MISS = ("hyperliquid", FIRST_TID + 10 * WINDOW, "o")  # never applied


class PyDedup:
    """The usual pure-Python bounded dedup: a set for lookups, a deque for FIFO eviction."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.keys: set[tuple[str, int | str, str]] = set()
        self.order: deque[tuple[str, int | str, str]] = deque()

    def seen(self, venue: str, trade_id: int | str, order_id: str) -> bool:
        return (venue, trade_id, order_id) in self.keys

    def add(self, venue: str, trade_id: int | str, order_id: str) -> bool:
        key = (venue, trade_id, order_id)
        if key in self.keys:
            return False
        if len(self.order) == self.window:
            self.keys.discard(self.order.popleft())
        self.order.append(key)
        self.keys.add(key)
        return True


def filled_ledger() -> FillLedger:
    ledger = FillLedger(WINDOW)
    for venue in VENUES:
        ledger.register_order(venue, "o", "buy", "1000000")
    for i in range(WINDOW):
        venue = VENUES[i % 2]
        ledger.apply_raw(venue, FIRST_TID + i, "o", PX_RAW, SZ_RAW)
    return ledger


def filled_py_dedup() -> PyDedup:
    dedup = PyDedup(WINDOW)
    for i in range(WINDOW):
        dedup.add(VENUES[i % 2], FIRST_TID + i, "o")
    return dedup


LEDGER = filled_ledger()
PY_DEDUP = filled_py_dedup()


# ---- the dedup check ----


@pytest.mark.benchmark(group="ledger-seen")
def test_hedgekit_seen_hit(benchmark: Any) -> None:
    assert len(LEDGER) == WINDOW and LEDGER.seen(*HIT)
    benchmark(LEDGER.seen, *HIT)


@pytest.mark.benchmark(group="ledger-seen")
def test_hedgekit_seen_miss(benchmark: Any) -> None:
    assert not LEDGER.seen(*MISS)
    benchmark(LEDGER.seen, *MISS)


@pytest.mark.benchmark(group="ledger-seen")
def test_hedgekit_seen_str_id_miss(benchmark: Any) -> None:
    assert not LEDGER.seen("aster", "a1b2c3d4-trade", "o")
    benchmark(LEDGER.seen, "aster", "a1b2c3d4-trade", "o")


@pytest.mark.benchmark(group="ledger-seen")
def test_python_set_deque_seen_hit(benchmark: Any) -> None:
    assert len(PY_DEDUP.keys) == WINDOW and PY_DEDUP.seen(*HIT)
    benchmark(PY_DEDUP.seen, *HIT)


@pytest.mark.benchmark(group="ledger-seen")
def test_python_set_deque_seen_miss(benchmark: Any) -> None:
    assert not PY_DEDUP.seen(*MISS)
    benchmark(PY_DEDUP.seen, *MISS)


@pytest.mark.benchmark(group="ledger-seen")
def test_ledger_call_floor(benchmark: Any) -> None:
    """The cheapest call into the same object (``len``), for scale."""
    assert len(LEDGER) == WINDOW
    benchmark(LEDGER.__len__)


# ---- applying new fills (each call a new trade id, so none is a duplicate) ----


def fresh_ledger() -> FillLedger:
    ledger = FillLedger(WINDOW)
    ledger.register_order("hyperliquid", "o", "buy", "1000000000")
    return ledger


@pytest.mark.benchmark(group="ledger-apply")
def test_hedgekit_apply_raw(benchmark: Any) -> None:
    ledger = fresh_ledger()
    tids = count(FIRST_TID)
    args = ("o", PX_RAW, SZ_RAW, FEE_RAW, True, 1)
    assert ledger.apply_raw("hyperliquid", next(tids), *args) is FillStatus.APPLIED

    def run() -> FillStatus:
        return ledger.apply_raw("hyperliquid", next(tids), *args)

    benchmark(run)


@pytest.mark.benchmark(group="ledger-apply")
def test_hedgekit_apply_decimal(benchmark: Any) -> None:
    ledger = fresh_ledger()
    tids = count(FIRST_TID)
    px, sz, fee = Decimal("3118.25"), Decimal("0.001"), Decimal("0.00000015")
    assert ledger.apply("hyperliquid", next(tids), "o", px, sz, fee, True, 1) is FillStatus.APPLIED

    def run() -> FillStatus:
        return ledger.apply("hyperliquid", next(tids), "o", px, sz, fee, True, 1)

    benchmark(run)


@pytest.mark.benchmark(group="ledger-apply")
def test_hedgekit_apply_str(benchmark: Any) -> None:
    """Numbers as the venue's JSON text, as an adapter that skips Decimal would pass them."""
    ledger = fresh_ledger()
    tids = count(FIRST_TID)
    args = ("o", "3118.25", "0.001", "0.00000015", True, 1)
    assert ledger.apply("hyperliquid", next(tids), *args) is FillStatus.APPLIED

    def run() -> FillStatus:
        return ledger.apply("hyperliquid", next(tids), *args)

    benchmark(run)


@pytest.mark.benchmark(group="ledger-apply")
def test_hedgekit_apply_duplicate(benchmark: Any) -> None:
    """A duplicate (the common case for REST copies of WS fills) stops at the dedup check."""
    ledger = fresh_ledger()
    ledger.apply_raw("hyperliquid", FIRST_TID, "o", PX_RAW, SZ_RAW)
    assert ledger.apply_raw("hyperliquid", FIRST_TID, "o", PX_RAW, SZ_RAW) is FillStatus.DUPLICATE
    benchmark(ledger.apply_raw, "hyperliquid", FIRST_TID, "o", PX_RAW, SZ_RAW)
