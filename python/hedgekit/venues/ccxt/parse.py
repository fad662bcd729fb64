"""ccxt's unified structures (orders, trades, positions, funding rates, leverage tiers) read as
hedgekit's values, every price and size exact and on its market's grid."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.model import (
    Fill,
    FundingPayment,
    FundingRate,
    Liquidity,
    OrderStatus,
    OrderStatusReport,
    Position,
    Side,
)
from hedgekit.risk.tiers import MarginTable, MarginTier
from hedgekit.venues.ccxt.numbers import exact, on_grid

__all__ = [
    "Grid",
    "fill",
    "funding_payment",
    "funding_rate",
    "interval_s",
    "margin_table",
    "order_report",
    "order_status",
    "position",
]

MS = 1_000_000
ClientIdOf = Callable[[Mapping[str, Any]], str]
"""Our client id of a ccxt order or trade (from its ids)."""

_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


@dataclass(frozen=True, slots=True)
class Grid:
    """One market's precision as ccxt gives it: the mode and the price and amount
    precisions (read with :func:`hedgekit.venues.ccxt.numbers.on_grid`)."""

    mode: int
    price: Any
    amount: Any

    def px(self, x: Any) -> Decimal:
        """A price on the market's grid."""
        return on_grid(x, self.mode, self.price, "price")

    def sz(self, x: Any) -> Decimal:
        """A size on the market's grid."""
        return on_grid(x, self.mode, self.amount, "size")


def _opt(x: Any) -> Decimal | None:
    return None if x is None else exact(x)


def _ts(row: Mapping[str, Any], *keys: str) -> int:
    for k in keys:
        v = row.get(k)
        if v is not None:
            return int(v) * MS
    return 0


def order_status(status: str | None, size: Decimal, filled: Decimal) -> OrderStatus:
    """ccxt's order status (``open``, ``closed``, ``canceled``, ``expired``, ``rejected``)
    with the filled size: an open order with a fill is ``PARTIALLY_FILLED``, a closed one not
    wholly filled is ``CANCELLED`` (the rest was taken off)."""
    st = _STATUS.get(str(status).lower(), OrderStatus.OPEN)
    if st is OrderStatus.OPEN and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    if st is OrderStatus.FILLED and size > 0 and filled < size:
        return OrderStatus.CANCELLED
    return st


def order_report(
    venue: str,
    symbol: str,
    row: Mapping[str, Any],
    grid: Grid,
    client_id_of: ClientIdOf,
) -> OrderStatusReport:
    """A ccxt order as hedgekit's status report."""
    size = grid.sz(row["amount"]) if row.get("amount") is not None else Decimal(0)
    filled = grid.sz(row["filled"]) if row.get("filled") is not None else Decimal(0)
    if row.get("status") == "closed" and row.get("filled") is None:
        filled = size
    price = row.get("price")
    avg = row.get("average")
    side = Side.BUY if str(row.get("side")).lower() == "buy" else Side.SELL
    status = order_status(row.get("status"), size, filled)
    return OrderStatusReport(
        venue,
        symbol,
        client_id_of(row),
        str(row["id"]),
        side,
        size,
        None if price is None else grid.px(price),
        status,
        filled,
        None if avg is None or filled == 0 else exact(avg, "average"),
        _ts(row, "lastUpdateTimestamp", "timestamp"),
        None if status in (OrderStatus.OPEN, OrderStatus.FILLED) else str(row.get("status")),
    )


def fill(
    venue: str,
    symbol: str,
    row: Mapping[str, Any],
    grid: Grid,
    client_id: str,
) -> Fill:
    """A ccxt trade of ours as a :class:`~hedgekit.model.Fill` (fee positive when paid).

    Maker or taker: ccxt's ``takerOrMaker``, else the exchange's own flag where ccxt leaves it
    out (Hyperliquid's ``crossed``), else taker.
    """
    fee_row = row.get("fee") or {}
    fee = exact(fee_row["cost"], "fee") if fee_row.get("cost") is not None else Decimal(0)
    info = row.get("info") or {}
    tom = row.get("takerOrMaker")
    if tom is None and isinstance(info, Mapping) and "crossed" in info:
        tom = "taker" if info["crossed"] else "maker"
    if tom is None and isinstance(info, Mapping) and "maker" in info:
        tom = "maker" if info["maker"] else "taker"
    return Fill(
        venue,
        symbol,
        client_id,
        str(row.get("order")),
        str(row["id"]),
        Side.BUY if str(row.get("side")).lower() == "buy" else Side.SELL,
        grid.px(row["price"]),
        grid.sz(row["amount"]),
        fee,
        Liquidity.MAKER if tom == "maker" else Liquidity.TAKER,
        _ts(row, "timestamp"),
    )


def position(venue: str, row: Mapping[str, Any], grid: Grid | None) -> Position | None:
    """A ccxt position as a signed :class:`~hedgekit.model.Position` (``None`` when flat)."""
    contracts = row.get("contracts")
    if not contracts:
        return None
    size = exact(contracts, "contracts") * exact(row.get("contractSize") or 1, "contractSize")
    if grid is not None:
        size = grid.sz(size)
    if str(row.get("side")).lower() == "short":
        size = -size
    lev = row.get("leverage")
    return Position(
        venue,
        str(row["symbol"]),
        size,
        _opt(row.get("entryPrice")),
        _opt(row.get("markPrice")),
        _ts(row, "timestamp"),
        liquidation_price=_opt(row.get("liquidationPrice")),
        leverage=None if lev is None else exact(lev, "leverage").normalize(),
    )


def interval_s(text: Any, default: int) -> int:
    """ccxt's funding ``interval`` (``"1h"``, ``"8h"``) in seconds, ``default`` without one."""
    if not isinstance(text, str) or len(text) < 2 or not text[:-1].isdigit():
        return default
    unit = {"h": 3600, "m": 60, "d": 86400}.get(text[-1])
    return default if unit is None else int(text[:-1]) * unit


def funding_rate(venue: str, row: Mapping[str, Any], interval: int, now_ns: int) -> FundingRate:
    """A ccxt funding rate (``fetch_funding_rate``) as hedgekit's, for ``interval`` seconds."""
    next_ns = _ts(row, "nextFundingTimestamp", "fundingTimestamp")
    if next_ns == 0:
        step = interval * 1_000_000_000
        next_ns = (now_ns // step + 1) * step
    return FundingRate(
        venue,
        str(row["symbol"]),
        exact(row["fundingRate"], "fundingRate"),
        interval,
        next_ns,
        _ts(row, "timestamp") or now_ns,
    )


def funding_payment(venue: str, row: Mapping[str, Any]) -> FundingPayment:
    """One row of ``fetch_funding_history`` (``amount`` signed: received positive)."""
    info = row.get("info") or {}
    delta = info.get("delta") if isinstance(info, Mapping) else None
    rate = delta.get("fundingRate") if isinstance(delta, Mapping) else None
    szi = delta.get("szi") if isinstance(delta, Mapping) else None
    return FundingPayment(
        venue,
        str(row.get("symbol")),
        exact(row["amount"], "amount"),
        Decimal(0) if rate is None else exact(rate),
        Decimal(0) if szi is None else exact(szi),
        _ts(row, "timestamp"),
    )


def margin_table(tiers: Sequence[Mapping[str, Any]]) -> MarginTable | None:
    """ccxt's leverage tiers (``fetch_leverage_tiers``) as a :class:`MarginTable`; the
    maintenance amounts are the ones that keep the requirement continuous. ``None`` for none."""
    rows = sorted(tiers, key=lambda t: exact(t.get("minNotional") or 0))
    out: list[MarginTier] = []
    amount = Decimal(0)
    for i, t in enumerate(rows):
        floor = exact(t.get("minNotional") or 0)
        rate = exact(t["maintenanceMarginRate"])
        if i:
            amount += floor * (rate - out[-1].maintenance_rate)
        out.append(MarginTier(floor, exact(t["maxLeverage"]), rate, amount))
    return MarginTable(tuple(out)) if out else None
