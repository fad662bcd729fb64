"""Aster's wire shapes as the fake writes them (``venues.md`` §2.2-2.8): order objects,
``userTrades`` rows and the user-data events.

Numbers go out as decimal strings written from exact :class:`~decimal.Decimal` values
(``"3000.10"`` keeps the tick's decimals for prices, the step's for quantities); times are
integer milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.model import OrderStatus

__all__ = ["STATUS", "OrderRecord", "Push", "num", "parse_decimal"]

STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}
"""The venue's status name for each engine status."""

_OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})


def num(value: Decimal, decimals: int | None = None) -> str:
    """``value`` in plain notation, with exactly ``decimals`` decimals when given (exact
    values only: a value with more decimals keeps them), else trailing zeros stripped."""
    if decimals is not None and value == value.quantize(Decimal(1).scaleb(-decimals)):
        return format(value.quantize(Decimal(1).scaleb(-decimals)), "f")
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def parse_decimal(value: str | None) -> Decimal | None:
    """A wire number as a finite Decimal, or ``None`` when it is not one."""
    if value is None or not value or value.strip() != value:
        return None
    try:
        d = Decimal(value)
    except ArithmeticError:
        return None
    return d if d.is_finite() else None


@dataclass(frozen=True, slots=True)
class Push:
    """One user-data event for ``user``'s listen-key subscribers."""

    user: str
    data: dict[str, Any]


@dataclass(slots=True)
class OrderRecord:
    """One order as the fake reports it (mutable: fills and status move it)."""

    order_id: int
    key: str
    symbol: str
    side: str
    type: str
    tif: str
    price: Decimal
    orig_qty: Decimal
    reduce_only: bool
    client_id: str
    time: int
    price_decimals: int
    qty_decimals: int
    update_time: int = 0
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in _OPEN

    @property
    def avg_price(self) -> Decimal:
        """The average fill price (0 with nothing filled)."""
        if self.executed == 0:
            return Decimal(0)
        return (self.cum_quote / self.executed).quantize(Decimal("0.00001")).normalize()

    def px(self, value: Decimal) -> str:
        """A price of this order's symbol."""
        return num(value, self.price_decimals)

    def qty(self, value: Decimal) -> str:
        """A quantity of this order's symbol."""
        return num(value, self.qty_decimals)

    def wire(self, *, ack: bool = False) -> dict[str, Any]:
        """The REST order object (``ack``: as accepted, before any match)."""
        executed = Decimal(0) if ack else self.executed
        quote = Decimal(0) if ack else self.cum_quote
        avg = Decimal(0) if ack else self.avg_price
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": "NEW" if ack else self.status,
            "clientOrderId": self.client_id,
            "price": self.px(self.price),
            "avgPrice": num(avg),
            "origQty": self.qty(self.orig_qty),
            "executedQty": self.qty(executed),
            "cumQty": self.qty(executed),
            "cumQuote": num(quote),
            "timeInForce": self.tif,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.type,
            "time": self.time,
            "updateTime": self.time if ack else self.update_time,
        }

    def event(self, x: str, now_ms: int, fill: dict[str, Any] | None = None) -> dict[str, Any]:
        """An ``ORDER_TRADE_UPDATE`` with execution type ``x`` (``fill``: the ``userTrades``
        row of a ``TRADE``)."""
        o: dict[str, Any] = {
            "s": self.symbol,
            "c": self.client_id,
            "S": self.side,
            "o": self.type,
            "f": self.tif,
            "q": self.qty(self.orig_qty),
            "p": self.px(self.price),
            "ap": num(self.avg_price),
            "sp": "0",
            "x": x,
            "X": self.status,
            "i": self.order_id,
            "l": "0",
            "z": self.qty(self.executed),
            "L": "0",
            "T": now_ms,
            "t": 0,
            "b": "0",
            "a": "0",
            "m": False,
            "R": self.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": self.type,
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
        }
        if fill is not None:
            o.update(
                {
                    "l": fill["qty"],
                    "L": fill["price"],
                    "N": "USDT",
                    "n": fill["commission"],
                    "t": fill["id"],
                    "m": fill["maker"],
                    "rp": fill["realizedPnl"],
                }
            )
        return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": now_ms, "o": o}
