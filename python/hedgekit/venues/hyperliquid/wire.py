"""Hyperliquid's wire format, outbound: actions, request bodies and WebSocket messages.

Pure functions, no I/O. Key order is part of the format: an action is signed as the msgpack of
its JSON with keys in the order built here (venues.md §1.4), so every builder returns a dict whose
insertion order is the venue's (``a, b, p, s, r, t, c`` inside an order).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

import orjson

from hedgekit.model import Side, TimeInForce
from hedgekit.venues.numbers import decimal_str

__all__ = [
    "MAINNET_URL",
    "TESTNET_URL",
    "cancel_action",
    "cancel_by_cloid_action",
    "cloid_for",
    "decimal_str",
    "exchange_body",
    "modify_action",
    "order_action",
    "order_wire",
    "post_message",
    "schedule_cancel_action",
    "subscribe_message",
    "tif_wire",
    "update_leverage_action",
    "ws_url",
]

MAINNET_URL = "https://api.hyperliquid.xyz"
"""The mainnet REST base (signatures use source ``"a"`` only against it, as the SDK's do)."""
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
"""The testnet REST base."""

_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")


def cloid_for(client_id: str) -> str:
    """The venue's client order id (``0x`` + 32 hex) for our client id.

    A client id that already is one is used as it is (lowercased); any other is hashed
    (the first 16 bytes of its SHA-256), so the mapping is the same in every process: after a
    restart, the journal's client id still finds its order.
    """
    if _CLOID.fullmatch(client_id):
        return client_id.lower()
    return "0x" + hashlib.sha256(client_id.encode()).hexdigest()[:32]


def tif_wire(tif: TimeInForce) -> str:
    """``Alo`` (post-only), ``Ioc`` or ``Gtc``."""
    return {TimeInForce.POST_ONLY: "Alo", TimeInForce.IOC: "Ioc", TimeInForce.GTC: "Gtc"}[tif]


def order_wire(
    asset: int,
    side: Side,
    price: Decimal,
    size: Decimal,
    *,
    reduce_only: bool,
    tif: TimeInForce,
    cloid: str | None,
) -> dict[str, Any]:
    """One order of an ``order`` or ``batchModify`` action (keys ``a,b,p,s,r,t[,c]``)."""
    wire: dict[str, Any] = {
        "a": asset,
        "b": side is Side.BUY,
        "p": decimal_str(price),
        "s": decimal_str(size),
        "r": reduce_only,
        "t": {"limit": {"tif": tif_wire(tif)}},
    }
    if cloid is not None:
        wire["c"] = cloid
    return wire


def order_action(orders: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"type":"order","orders":[…],"grouping":"na"}``."""
    return {"type": "order", "orders": orders, "grouping": "na"}


def cancel_action(asset: int, oid: int) -> dict[str, Any]:
    """Cancel by the venue's order id."""
    return {"type": "cancel", "cancels": [{"a": asset, "o": oid}]}


def cancel_by_cloid_action(asset: int, cloid: str) -> dict[str, Any]:
    """Cancel by client order id (note the long keys ``asset``, ``cloid``)."""
    return {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}]}


def modify_action(oid: int | str, order: dict[str, Any]) -> dict[str, Any]:
    """``batchModify`` of one order (``oid``: the venue's id or the cloid), as the SDK sends it."""
    return {"type": "batchModify", "modifies": [{"oid": oid, "order": order}]}


def schedule_cancel_action(time_ms: int | None) -> dict[str, Any]:
    """The dead-man switch: cancel every open order at ``time_ms`` (``None`` unsets it)."""
    action: dict[str, Any] = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = time_ms
    return action


def update_leverage_action(asset: int, leverage: int, *, cross: bool = True) -> dict[str, Any]:
    """``updateLeverage`` (cross margin by default)."""
    return {"type": "updateLeverage", "asset": asset, "isCross": cross, "leverage": leverage}


def exchange_body(
    action: dict[str, Any],
    nonce: int,
    signature: tuple[str, str, int],
    vault_address: str | None,
    expires_after: int | None = None,
) -> dict[str, Any]:
    """The ``/exchange`` body (and the payload of a WebSocket ``post``)."""
    r, s, v = signature
    return {
        "action": action,
        "nonce": nonce,
        "signature": {"r": r, "s": s, "v": v},
        "vaultAddress": vault_address,
        "expiresAfter": expires_after,
    }


def post_message(request_id: int, kind: str, payload: dict[str, Any]) -> bytes:
    """A WebSocket ``post`` (``kind``: ``"action"`` or ``"info"``)."""
    return orjson.dumps(
        {"method": "post", "id": request_id, "request": {"type": kind, "payload": payload}}
    )


def subscribe_message(subscription: dict[str, Any]) -> bytes:
    """A WebSocket ``subscribe``."""
    return orjson.dumps({"method": "subscribe", "subscription": subscription})


def ws_url(base_url: str) -> str:
    """The WebSocket URL of a REST base (``https://x`` → ``wss://x/ws``)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + "/ws"
    return base + "/ws"
