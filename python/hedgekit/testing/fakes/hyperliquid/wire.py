"""Hyperliquid's wire shapes, as the fake writes them (``venues.md`` §1.3-1.7).

Numbers go out as decimal strings (``"3119.9"``, ``"0.25"``, ``"0.0"``), written from exact
:class:`~decimal.Decimal` values; times are integer milliseconds; sides are ``"B"``/``"A"``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.model import OrderStatus

__all__ = [
    "ZERO_ADDRESS",
    "OrderRecord",
    "Push",
    "fill_hash",
    "num",
    "parse_decimal",
    "status_name",
]

ZERO_ADDRESS = "0x" + "0" * 40
"""The counterparty named for outside flow."""


def num(value: Decimal) -> str:
    """A decimal as Hyperliquid writes it: plain notation, trailing zeros stripped, at least one
    decimal (``Decimal("3000")`` → ``"3000.0"``, ``Decimal("0.2500")`` → ``"0.25"``)."""
    if value == 0:
        return "0.0"
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def parse_decimal(value: object) -> Decimal | None:
    """A wire number (string or integer) as a finite Decimal, or ``None`` when it is not one.
    Floats are refused: the wire carries prices and sizes as strings."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        d = Decimal(value)
    except ArithmeticError:
        return None
    return d if d.is_finite() else None


def fill_hash(tid: int) -> str:
    """A 32-byte transaction hash for a trade (deterministic)."""
    return "0x" + hashlib.sha256(f"hl-fake-trade-{tid}".encode()).hexdigest()


def status_name(status: OrderStatus, *, ioc: bool, filled: Decimal, reason: str | None) -> str:
    """Hyperliquid's order status for the engine's ``status`` (``venues.md`` §1.3).

    A reason that is itself one of Hyperliquid's status names (``liquidatedCanceled``,
    ``scheduledCancel``, …) wins; an IOC remainder is ``canceled``, an IOC that matched nothing
    ``iocCancelRejected``.
    """
    if reason is not None and reason[:1].islower() and " " not in reason:
        return reason
    if status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        return "open"
    if status is OrderStatus.FILLED:
        return "filled"
    if status is OrderStatus.EXPIRED and ioc and filled == 0:
        return "iocCancelRejected"
    if status is OrderStatus.REJECTED:
        return "rejected"
    return "canceled"


@dataclass(slots=True)
class OrderRecord:
    """One order as the fake reports it (mutable: fills and status move it)."""

    oid: int
    key: str
    coin: str
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    tif: str
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str = "open"
    status_ts: int = 0
    filled: Decimal = Decimal(0)
    client_id: str = ""

    @property
    def sz(self) -> Decimal:
        """The size left."""
        return self.orig_sz - self.filled

    @property
    def side(self) -> str:
        """``"B"`` or ``"A"``."""
        return "B" if self.is_buy else "A"

    def basic(self) -> dict[str, Any]:
        """The ``openOrders`` shape."""
        return {
            "coin": self.coin,
            "side": self.side,
            "limitPx": num(self.limit_px),
            # what was left when the status last changed: a cancelled order keeps its unfilled
            # size (origSz - sz is the filled size, venues.md §1.3), a filled one reads 0
            "sz": num(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": num(self.orig_sz),
        }

    def frontend(self) -> dict[str, Any]:
        """The ``frontendOpenOrders`` / ``orderStatus`` shape."""
        out = self.basic()
        out.update(
            {
                "triggerCondition": "N/A",
                "isTrigger": False,
                "triggerPx": "0.0",
                "children": [],
                "isPositionTpsl": False,
                "reduceOnly": self.reduce_only,
                "orderType": "Limit",
                "tif": self.tif,
                "cloid": self.cloid,
            }
        )
        return out

    def ws_order(self) -> dict[str, Any]:
        """The ``orderUpdates`` element."""
        order = self.basic()
        if self.cloid is not None:
            order["cloid"] = self.cloid
        return {"order": order, "status": self.status, "statusTimestamp": self.status_ts}


@dataclass(frozen=True, slots=True)
class Push:
    """One message for WebSocket subscribers.

    Attributes:
        sub_type: The subscription type it answers (``"userFills"``, ``"orderUpdates"``,
            ``"userEvents"``, ``"userFundings"``, ``"trades"``).
        key: The user (lowercase) for user streams, the coin for ``trades``.
        data: The ``data`` of the message.
    """

    sub_type: str
    key: str
    data: Any

    @property
    def channel(self) -> str:
        """The ``channel`` it is sent on (``userEvents`` arrive on ``"user"``)."""
        return "user" if self.sub_type == "userEvents" else self.sub_type
