"""Lighter: what one order costs on our side before it leaves, beside the venue's own signer.

* ``lighter-sign``: one CreateOrder signed by the native signer (``lighter-sdk``'s Go library)
  through :class:`~hedgekit.venues.lighter.signing.LighterSigner` (its ctypes call and the
  decoding of the answer) beside the bare library call it wraps. About 1.2 ms each here, on the
  main thread (about 0.5 ms on the signer's worker thread, where the adapter signs:
  ``benches/live_lighter.py``); either way too long for the event loop.
* ``lighter-book``: one ``update/order_book`` message (5 levels) parsed (``orjson``) and
  applied to the Rust book level by level from Python, the path the adapter takes (no
  Lighter-shaped Rust apply exists: at a few µs it is not needed).

Each pair is checked to give the same transaction (or book) before it is timed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from hedgekit._core import OrderBook
from hedgekit.venues.lighter import wire
from hedgekit.venues.lighter.signing import (
    LighterCredentials,
    LighterSigner,
    _library,
    generate_api_key,
)

PRIVATE, _PUBLIC = generate_api_key()
SIGNER = LighterSigner(LighterCredentials(123456, 3, PRIVATE), "http://127.0.0.1:1")
LIB, DECODE = _library()
ORDER: dict[str, Any] = {
    "market_index": 0, "client_order_index": 17, "base_amount": 2500, "price": 311800,
    "is_ask": False, "order_type": wire.TYPE_LIMIT, "time_in_force": wire.TIF_POST_ONLY,
    "reduce_only": False, "order_expiry_ms": 1_900_000_000_000, "nonce": 812,
}  # fmt: skip


def _bare() -> str | None:
    r = LIB.SignCreateOrder(0, 17, 2500, 311800, 0, 0, 2, 0, 0, 1_900_000_000_000,
                            0, 0, 0, 0, 0, 0, 812, 3, 123456)  # fmt: skip
    info = DECODE(r.txInfo)
    DECODE(r.txHash)
    DECODE(r.messageToSign)
    DECODE(r.err)
    return info


def _fields(tx_info: str | None) -> dict[str, Any]:
    info = orjson.loads(tx_info or "{}")
    info.pop("Sig", None)
    info.pop("ExpiredAt", None)
    return dict(info)


@pytest.mark.benchmark(group="lighter-sign")
def test_hedgekit_lighter_sign_create_order(benchmark: Any) -> None:
    assert _fields(SIGNER.create_order(**ORDER).tx_info) == _fields(_bare())
    benchmark(SIGNER.create_order, **ORDER)


@pytest.mark.benchmark(group="lighter-sign")
def test_native_signer_bare_call(benchmark: Any) -> None:
    assert _fields(_bare())["Nonce"] == 812
    benchmark(_bare)


UPDATE = orjson.dumps(
    {"type": "update/order_book", "channel": "order_book:0", "order_book": {
        "code": 0, "offset": 2, "nonce": 12, "begin_nonce": 11,
        "asks": [{"price": "3000.30", "size": "0.5000"}, {"price": "3000.50", "size": "0.0000"}],
        "bids": [{"price": "2999.90", "size": "2.0000"}, {"price": "2999.80", "size": "0.0000"},
                 {"price": "2999.70", "size": "1.1000"}]}}
)  # fmt: skip


def _book() -> OrderBook:
    book = OrderBook("lighter", "ETH")
    book.apply_snapshot(
        [(f"{3000 - i / 10:.2f}", "1") for i in range(50)],
        [(f"{3000.1 + i / 10:.2f}", "1") for i in range(50)],
    )
    return book


def _apply(book: OrderBook) -> None:
    ob = orjson.loads(UPDATE)["order_book"]
    for side, key in (("bid", "bids"), ("ask", "asks")):
        for lv in ob[key]:
            book.apply_delta(side, lv["price"], lv["size"], 1)


@pytest.mark.benchmark(group="lighter-book")
def test_lighter_book_update_from_python(benchmark: Any) -> None:
    book = _book()
    _apply(book)
    bids = dict(book.levels("bid", 5))
    assert bids[Decimal("2999.9")] == 2 and Decimal("2999.8") not in bids
    benchmark(_apply, book)
