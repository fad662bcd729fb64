"""Order book: hedgekit against a plain-Python book (two ``SortedDict``s) and NautilusTrader's
``OrderBook`` (when installed), side by side on the same data.

The book is a 20+20 level ETH book around 3120 with a 0.1 tick. Operations: one delta at the
top of the book, a batch of 100 deltas, one Hyperliquid ``l2Book`` message from its bytes (the
Python peer: ``orjson.loads`` then a rebuild with exact ``Decimal`` keys, as hedgekit is exact),
the whole BBO, one best price.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pytest
from sortedcontainers import SortedDict

from hedgekit import _core

ONE = 10**9
TICK = ONE // 10
BEST_BID = 3119_900_000_000
BEST_ASK = 3120_000_000_000
N = 20
BID_PX = [BEST_BID - i * TICK for i in range(N)]
ASK_PX = [BEST_ASK + i * TICK for i in range(N)]
SIZES = [(i + 1) * ONE // 4 for i in range(N)]


def _dec(raw: int) -> str:
    return str(Decimal(raw) / ONE)


HL_MSG = orjson.dumps(
    {
        "channel": "l2Book",
        "data": {
            "coin": "ETH",
            "time": 1760000000000,
            "levels": [
                [{"px": _dec(p), "sz": _dec(s), "n": 2} for p, s in zip(BID_PX, SIZES)],
                [{"px": _dec(p), "sz": _dec(s), "n": 2} for p, s in zip(ASK_PX, SIZES)],
            ],
        },
    }
)

# A batch of 100 deltas at existing levels (sizes change, the shape stays).
BATCH_SIDES = np.array([i % 2 == 0 for i in range(100)], dtype=np.uint8)
BATCH_PX = np.array(
    [(BID_PX if i % 2 == 0 else ASK_PX)[(i // 2) % N] for i in range(100)], dtype=np.int64
)
BATCH_SZ = np.array([ONE + i for i in range(100)], dtype=np.int64)
BATCH = list(zip(BATCH_SIDES.tolist(), BATCH_PX.tolist(), BATCH_SZ.tolist()))


class PyBook:
    """The usual pure-Python L2 book: raw-int price → size, one ``SortedDict`` per side."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()

    def apply_delta(self, is_bid: bool, px: Any, sz: Any) -> None:
        side = self.bids if is_bid else self.asks
        if sz:
            side[px] = sz
        else:
            side.pop(px, None)

    def apply_hyperliquid(self, msg: bytes) -> None:
        levels = orjson.loads(msg)["data"]["levels"]
        self.bids = SortedDict({Decimal(lv["px"]): Decimal(lv["sz"]) for lv in levels[0]})
        self.asks = SortedDict({Decimal(lv["px"]): Decimal(lv["sz"]) for lv in levels[1]})

    def best_bid(self) -> Any:
        return self.bids.peekitem(-1)[0] if self.bids else None

    def bbo(self) -> tuple[Any, Any, Any, Any]:
        b = self.bids.peekitem(-1) if self.bids else (None, None)
        a = self.asks.peekitem(0) if self.asks else (None, None)
        return (b[0], b[1], a[0], a[1])


def hedgekit_book() -> Any:
    book = _core.OrderBook("hyperliquid", "ETH")
    assert book.apply_hyperliquid(HL_MSG) == _core.BOOK_OK
    return book


def py_book() -> PyBook:
    book = PyBook()
    for p, s in zip(BID_PX, SIZES):
        book.apply_delta(True, p, s)
    for p, s in zip(ASK_PX, SIZES):
        book.apply_delta(False, p, s)
    return book


def nautilus_book() -> Any:
    pytest.importorskip("nautilus_trader")
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.data import BookOrder
    from nautilus_trader.model.enums import BookType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Price, Quantity

    book = OrderBook(InstrumentId.from_str("ETH-PERP.HYPERLIQUID"), BookType.L2_MBP)
    for side, pxs in ((OrderSide.BUY, BID_PX), (OrderSide.SELL, ASK_PX)):
        for i, (p, s) in enumerate(zip(pxs, SIZES)):
            order = BookOrder(side, Price.from_str(_dec(p)), Quantity.from_str(_dec(s)), i)
            book.update(order, 0)
    return book


def _nautilus_order(is_bid: bool, px: int, sz: int) -> Any:
    from nautilus_trader.model.data import BookOrder
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.objects import Price, Quantity

    side = OrderSide.BUY if is_bid else OrderSide.SELL
    return BookOrder(side, Price.from_str(_dec(px)), Quantity.from_str(_dec(sz)), px)


# --- one delta at the top of the book ---


@pytest.mark.benchmark(group="book-delta")
def test_delta_hedgekit_raw(benchmark: Any) -> None:
    book = hedgekit_book()
    assert book.apply_delta_raw(True, BEST_BID, 3 * ONE) == _core.BOOK_OK
    assert book.bbo_raw()[1] == 3 * ONE
    benchmark(book.apply_delta_raw, True, BEST_BID, 3 * ONE)


@pytest.mark.benchmark(group="book-delta")
def test_delta_python_sorteddict(benchmark: Any) -> None:
    book = py_book()
    book.apply_delta(True, BEST_BID, 3 * ONE)
    assert book.bbo()[1] == 3 * ONE
    benchmark(book.apply_delta, True, BEST_BID, 3 * ONE)


@pytest.mark.benchmark(group="book-delta")
def test_delta_nautilus(benchmark: Any) -> None:
    book = nautilus_book()
    order = _nautilus_order(True, BEST_BID, 3 * ONE)
    book.update(order, 0)
    assert str(book.best_bid_size()) == "3"
    benchmark(book.update, order, 0)


# --- a batch of 100 deltas ---


@pytest.mark.benchmark(group="book-batch-100")
def test_batch_hedgekit_raw(benchmark: Any) -> None:
    book = hedgekit_book()
    assert book.apply_deltas_raw(BATCH_SIDES, BATCH_PX, BATCH_SZ) == _core.BOOK_OK
    model = py_book()
    for is_bid, px, sz in BATCH:
        model.apply_delta(is_bid, px, sz)
    assert book.bbo_raw() == model.bbo()
    benchmark(book.apply_deltas_raw, BATCH_SIDES, BATCH_PX, BATCH_SZ)


@pytest.mark.benchmark(group="book-batch-100")
def test_batch_python_sorteddict(benchmark: Any) -> None:
    book = py_book()

    def run() -> None:
        for is_bid, px, sz in BATCH:
            book.apply_delta(is_bid, px, sz)

    run()
    assert len(book.bids) == N and len(book.asks) == N
    benchmark(run)


@pytest.mark.benchmark(group="book-batch-100")
def test_batch_nautilus(benchmark: Any) -> None:
    book = nautilus_book()
    orders = [_nautilus_order(bool(b), p, s) for b, p, s in BATCH]

    def run() -> None:
        for order in orders:
            book.update(order, 0)

    run()
    assert book.best_bid_price() is not None
    benchmark(run)


# --- a 20+20 Hyperliquid l2Book message from bytes ---


@pytest.mark.benchmark(group="book-hl-message")
def test_hl_message_hedgekit(benchmark: Any) -> None:
    book = _core.OrderBook()
    assert book.apply_hyperliquid(HL_MSG) == _core.BOOK_OK
    assert book.bbo_raw() == (BEST_BID, SIZES[0], BEST_ASK, SIZES[0])
    assert len(book.levels("ask", 100)) == N
    benchmark(book.apply_hyperliquid, HL_MSG)


@pytest.mark.benchmark(group="book-hl-message")
def test_hl_message_python_orjson_sorteddict(benchmark: Any) -> None:
    book = PyBook()
    book.apply_hyperliquid(HL_MSG)
    assert book.bbo() == (Decimal("3119.9"), Decimal("0.25"), Decimal(3120), Decimal("0.25"))
    benchmark(book.apply_hyperliquid, HL_MSG)


# --- the whole BBO ---


@pytest.mark.benchmark(group="book-bbo")
def test_bbo_hedgekit_raw(benchmark: Any) -> None:
    book = hedgekit_book()
    assert book.bbo_raw() == (BEST_BID, SIZES[0], BEST_ASK, SIZES[0])
    benchmark(book.bbo_raw)


@pytest.mark.benchmark(group="book-bbo")
def test_bbo_python_sorteddict(benchmark: Any) -> None:
    book = py_book()
    assert book.bbo() == (BEST_BID, SIZES[0], BEST_ASK, SIZES[0])
    benchmark(book.bbo)


@pytest.mark.benchmark(group="book-bbo")
def test_bbo_nautilus(benchmark: Any) -> None:
    book = nautilus_book()

    def bbo() -> tuple[Any, Any, Any, Any]:
        return (
            book.best_bid_price(),
            book.best_bid_size(),
            book.best_ask_price(),
            book.best_ask_size(),
        )

    assert str(bbo()[0]) == "3119.9"
    benchmark(bbo)


# --- one best price ---


@pytest.mark.benchmark(group="book-best-price")
def test_best_price_hedgekit_raw(benchmark: Any) -> None:
    book = hedgekit_book()
    assert book.best_bid_raw() == BEST_BID
    benchmark(book.best_bid_raw)


@pytest.mark.benchmark(group="book-best-price")
def test_best_price_python_sorteddict(benchmark: Any) -> None:
    book = py_book()
    assert book.best_bid() == BEST_BID
    benchmark(book.best_bid)


@pytest.mark.benchmark(group="book-best-price")
def test_best_price_nautilus(benchmark: Any) -> None:
    book = nautilus_book()
    assert str(book.best_bid_price()) == "3119.9"
    benchmark(book.best_bid_price)
