"""Aster's wire format, outbound: request parameters, paths and stream names.

Pure functions, no I/O. Prices and sizes are written from ``Decimal`` as plain digits (never
through a float); parameters are ``(key, value)`` string pairs in the order the docs list them
(the V3 signer sorts them, venues.md §2.13).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

import orjson

from hedgekit.model import OrderRequest, OrderType, Side, TimeInForce
from hedgekit.venues.numbers import decimal_str

__all__ = [
    "MAINNET_URL",
    "MAINNET_WS_URL",
    "Params",
    "cancel_params",
    "client_order_id",
    "decimal_str",
    "depth_stream",
    "modify_params",
    "order_params",
    "order_ref",
    "path",
    "stream_url",
    "subscribe_message",
    "tif_wire",
    "user_stream_url",
]

MAINNET_URL = "https://fapi.asterdex.com"
"""The REST base."""
MAINNET_WS_URL = "wss://fstream.asterdex.com"
"""The WebSocket base (``/ws/<listenKey>``, ``/stream?streams=…``)."""

Params = list[tuple[str, str]]

_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_HASHED = "hk-"

# Paths that keep their own version under V1 (venues.md §2.1, venue-adapters.md §2.2).
_V1_VERSIONS = {"positionRisk": "v2", "balance": "v2", "account": "v4"}


def path(version: str, endpoint: str) -> str:
    """``/fapi/<version>/<endpoint>``; under V1 a few endpoints live under v2/v4."""
    if version == "v1":
        version = _V1_VERSIONS.get(endpoint, "v1")
    return f"/fapi/{version}/{endpoint}"


def client_order_id(client_id: str) -> str:
    """The venue's ``newClientOrderId`` for our client id: itself when the venue accepts it
    (``^[.A-Z:/a-z0-9_-]{1,36}$``), else ``hk-`` and 32 hex digits of its SHA-256, the same in
    every process (a restarted process still finds its orders)."""
    if _CLIENT_ID.match(client_id):
        return client_id
    return _HASHED + hashlib.sha256(client_id.encode()).hexdigest()[:32]


def tif_wire(tif: TimeInForce) -> str:
    """``GTX`` (post-only), ``IOC`` or ``GTC``."""
    return {TimeInForce.POST_ONLY: "GTX", TimeInForce.IOC: "IOC", TimeInForce.GTC: "GTC"}[tif]


def order_params(request: OrderRequest, *, result: bool = True) -> Params:
    """``POST order`` parameters. A market order is ``type=MARKET`` (the venue's own price
    band protects it); ``result`` asks for ``newOrderRespType=RESULT`` so a GTX/IOC answer
    already carries its final status (venues.md §2.4)."""
    p: Params = [
        ("symbol", request.symbol),
        ("side", "BUY" if request.side is Side.BUY else "SELL"),
    ]
    if request.order_type is OrderType.MARKET:
        p += [("type", "MARKET"), ("quantity", decimal_str(request.size))]
    else:
        if request.price is None:
            raise ValueError("a limit order needs a price")
        p += [
            ("type", "LIMIT"),
            ("timeInForce", tif_wire(request.tif)),
            ("quantity", decimal_str(request.size)),
            ("price", decimal_str(request.price)),
        ]
    if request.reduce_only:
        p.append(("reduceOnly", "true"))
    p.append(("newClientOrderId", client_order_id(request.client_id)))
    if result:
        p.append(("newOrderRespType", "RESULT"))
    return p


def order_ref(symbol: str, *, order_id: int | None, client_order_id: str | None) -> Params:
    """``symbol`` and ``orderId`` (preferred) or ``origClientOrderId``.

    Raises:
        ValueError: Neither id given.
    """
    if order_id is not None:
        return [("symbol", symbol), ("orderId", str(order_id))]
    if client_order_id is not None:
        return [("symbol", symbol), ("origClientOrderId", client_order_id)]
    raise ValueError("an order is named by its orderId or its client order id")


def cancel_params(symbol: str, *, order_id: int | None, client_order_id: str | None) -> Params:
    """``DELETE order`` parameters."""
    return order_ref(symbol, order_id=order_id, client_order_id=client_order_id)


def modify_params(
    symbol: str, side: Side, price: Decimal, size: Decimal, *, order_id: int | None,
    client_order_id: str | None,
) -> Params:  # fmt: skip
    """``PUT order`` parameters (LIMIT only; both price and quantity, venues.md §2.4)."""
    return [
        *order_ref(symbol, order_id=order_id, client_order_id=client_order_id),
        ("side", "BUY" if side is Side.BUY else "SELL"),
        ("quantity", decimal_str(size)),
        ("price", decimal_str(price)),
    ]


def depth_stream(symbol: str, speed_ms: int = 100) -> str:
    """The diff stream of ``symbol`` (``ethusdt@depth@100ms``)."""
    return f"{symbol.lower()}@depth@{speed_ms}ms"


def subscribe_message(streams: list[str], request_id: int) -> bytes:
    """A live ``SUBSCRIBE``."""
    return orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": request_id})


def _ws_base(base: str) -> str:
    base = base.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


def stream_url(ws_base: str, streams: list[str]) -> str:
    """The combined-stream URL (``<base>/stream?streams=a/b``)."""
    return f"{_ws_base(ws_base)}/stream?streams={'/'.join(streams)}"


def user_stream_url(ws_base: str, listen_key: str) -> str:
    """The user-data stream URL (``<base>/ws/<listenKey>``)."""
    return f"{_ws_base(ws_base)}/ws/{listen_key}"
