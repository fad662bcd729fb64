"""The Aster adapter's two hot inbound paths, as pytest-benchmark groups (the same calls
``benches/live_aster.py`` times for BENCHMARKS.md, where the over-the-wire figures are):

* ``aster-trade-update-ledger``: one ``ORDER_TRADE_UPDATE`` frame of one new fill through the
  adapter's user-socket handler (decode, parse, dedup, the order's state, the event queue) and
  into the ``FillLedger``;
* ``aster-depth-update-book``: one chained 10+10 ``depthUpdate`` frame through the market-socket
  handler (symbol read from the bytes) into the Rust book.

The adapter runs on a hand-moved clock here (no event loop is needed); each path is checked once
before it is timed. Each call needs a frame of its own (a new trade, a diff chained on the one
before), so the rounds are fixed: ``ROUNDS`` calls after ``WARMUP``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_aster import inbound_paths

from hedgekit.clock import ManualClock

ROUNDS, WARMUP = 10_000, 200
FILL_TO_LEDGER, BOOK = inbound_paths(ROUNDS + WARMUP + 2, ManualClock(1_760_000_000_000_000_000))


@pytest.mark.benchmark(group="aster-trade-update-ledger")
def test_hedgekit_order_trade_update_frame_to_ledger(benchmark: Any) -> None:
    benchmark.pedantic(FILL_TO_LEDGER, rounds=ROUNDS, warmup_rounds=WARMUP)


@pytest.mark.benchmark(group="aster-depth-update-book")
def test_hedgekit_depth_update_frame_to_book(benchmark: Any) -> None:
    benchmark.pedantic(BOOK, rounds=ROUNDS, warmup_rounds=WARMUP)
