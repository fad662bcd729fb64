"""The Hyperliquid adapter's two hot inbound paths, as pytest-benchmark groups (the same calls
``benches/live.py`` times for BENCHMARKS.md, where the over-the-wire figures are):

* ``hl-userfills-ledger``: one ``userFills`` frame of one new fill through the adapter's socket
  handler (decode, routing, parse, dedup, the event queue) and into the ``FillLedger``;
* ``hl-l2book-book``: one 20+20 ``l2Book`` frame through the socket handler (prefix routing)
  into the Rust parser and the book, beside the bare ``OrderBook.apply_hyperliquid`` on the same
  bytes (the handler's own cost is the difference).

The adapter runs on a hand-moved clock here (no event loop is needed); each path is checked once
before it is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import inbound_paths

from hedgekit._core import OrderBook
from hedgekit.clock import ManualClock

FILL_TO_LEDGER, BOOK = inbound_paths(ManualClock(1_760_000_000_000_000_000))


@pytest.mark.benchmark(group="hl-userfills-ledger")
def test_hedgekit_userfills_frame_to_ledger(benchmark: Any) -> None:
    benchmark(FILL_TO_LEDGER)


@pytest.mark.benchmark(group="hl-l2book-book")
def test_hedgekit_l2book_frame_to_book(benchmark: Any) -> None:
    benchmark(BOOK)


@pytest.mark.benchmark(group="hl-l2book-book")
def test_hedgekit_l2book_apply_hyperliquid_alone(benchmark: Any) -> None:
    bids = [
        {"px": f"{3119.9 - i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.2f}", "n": 1} for i in range(20)
    ]
    asks = [
        {"px": f"{3120.1 + i * 0.1:.1f}", "sz": f"{0.5 + i * 0.25:.2f}", "n": 1} for i in range(20)
    ]
    frame = orjson.dumps(
        {"channel": "l2Book", "data": {"coin": "ETH", "time": 1, "levels": [bids, asks]}}
    )
    book = OrderBook("hyperliquid", "ETH")
    book.apply_hyperliquid(frame, 1)
    assert book.best_bid() is not None
    benchmark(book.apply_hyperliquid, frame, 1)
