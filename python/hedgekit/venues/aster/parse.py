"""Aster's wire format, inbound: venue payloads → :mod:`hedgekit.model` values, and the
venue's ``{"code", "msg"}`` errors → :mod:`hedgekit.errors`.

Pure functions, no I/O. Numbers are read as ``Decimal`` from the venue's strings (never through
a float); times are the venue's milliseconds turned into nanoseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import Instrument
from hedgekit.errors import (
    AmbiguousOutcomeError,
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    UnknownOrderError,
    VenueError,
)
from hedgekit.model import (
    AccountState,
    Fill,
    FundingPayment,
    FundingRate,
    Liquidity,
    OrderStatus,
    OrderStatusReport,
    OrderUpdate,
    Position,
    Side,
)
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues.base import InstrumentInfo
from hedgekit.venues.numbers import dec
from hedgekit.venues.transport import Budget

__all__ = [
    "BASE_MAKER_FEE",
    "BASE_TAKER_FEE",
    "CANCEL_REJECTED",
    "NO_SUCH_ORDER",
    "POST_ONLY_REJECTED",
    "AsterInstrument",
    "account_state",
    "dec",
    "error_for",
    "fill_from_trade",
    "fill_from_update",
    "funding_payment",
    "funding_rate",
    "instruments",
    "is_post_only_expiry",
    "margin_table",
    "order_status",
    "order_update",
    "positions",
    "rate_budgets",
    "status_report",
]

MS = 1_000_000
HOUR_S = 3600
ZERO = Decimal(0)
CANCEL_REJECTED = -2011
"""``"Unknown order sent."``: a cancel of a filled, cancelled or unknown order (venues.md §2.5)."""
NO_SUCH_ORDER = -2013
"""``"Order does not exist."``: a query of an order the venue does not know."""
POST_ONLY_REJECTED = -5022
"""Binance's synchronous post-only refusal; Aster may answer NEW → EXPIRED instead (§2.7)."""
BASE_MAKER_FEE = Decimal("0.0001")
"""Aster's base maker fee (ccxt's default; read ``commissionRate`` when it answers)."""
BASE_TAKER_FEE = Decimal("0.00035")
"""Aster's base taker fee."""

_STATUS = {
    "NEW": OrderStatus.OPEN,
    "NEW_INSURANCE": OrderStatus.OPEN,
    "NEW_ADL": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}

_REASONS: Mapping[int, str] = {
    -1111: "off_tick",
    -1121: "unknown_symbol",
    -2019: "insufficient_margin",
    -2022: "reduce_only",
    -4118: "reduce_only",
    -4004: "min_size",
    -4003: "min_size",
    -4013: "off_tick",
    -4014: "off_tick",
    -4023: "off_step",
    -4164: "min_notional",
    -5076: "min_notional",
    -4015: "duplicate_client_id",
}


def _opt(x: Any) -> Decimal | None:
    if x is None or x == "":
        return None
    d = dec(x)
    return None if d == 0 else d


def error_for(venue: str, code: int, msg: str, *, leverage: bool = False) -> VenueError:
    """The exception for one of the venue's ``{"code", "msg"}`` answers (the venue answered:
    definitive, except -1007 "timeout waiting for response", whose outcome is unknown)."""
    if code == POST_ONLY_REJECTED:
        return PostOnlyRejectedError(venue, msg, code)
    if code in (-1003, -1015):
        return RateLimitedError(venue, msg, code, 1.0)
    if code == NO_SUCH_ORDER:
        return UnknownOrderError(venue, msg, code)
    if code == -1007:
        return AmbiguousOutcomeError(venue, msg, code)
    reason = _REASONS.get(code, "other")
    if leverage and reason != "insufficient_margin":
        return LeverageRejectedError(venue, msg, code)
    return OrderRejectedError(venue, msg, code, reason)


@dataclass(frozen=True, slots=True)
class AsterInstrument:
    """One perpetual of ``exchangeInfo``.

    Attributes:
        info: The instrument's rules and our fees.
        min_price: ``PRICE_FILTER.minPrice``: the price grid's anchor (``(price − minPrice)``
            is a multiple of the tick; 0: none).
        max_qty: ``LOT_SIZE.maxQty`` (0: none).
        market_step: ``MARKET_LOT_SIZE.stepSize`` (the limit step when absent).
        market_max_qty: ``MARKET_LOT_SIZE.maxQty`` (0: none).
    """

    info: InstrumentInfo
    min_price: Decimal
    max_qty: Decimal
    market_step: Decimal
    market_max_qty: Decimal

    def on_grid(self, price: Decimal) -> bool:
        """True when ``price`` is on the venue's grid (anchored at ``minPrice``)."""
        tick = self.info.rules.tick_size
        return tick == 0 or (price - self.min_price) % tick == 0


def _filters(symbol: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f.get("filterType")): f for f in symbol.get("filters") or ()}


def instruments(
    venue: str,
    exchange_info: Mapping[str, Any],
    *,
    intervals_h: Mapping[str, int] | None = None,
    fees: Mapping[str, tuple[Decimal, Decimal]] | None = None,
) -> dict[str, AsterInstrument]:
    """Every trading perpetual of ``exchangeInfo``, from its filters (never from
    ``pricePrecision``/``quantityPrecision``, venues.md §2.2).

    Args:
        venue: The venue's name.
        exchange_info: The ``exchangeInfo`` answer.
        intervals_h: ``fundingInfo`` intervals in hours, by symbol (default 8).
        fees: (maker, taker) by symbol (default the base tier).
    """
    out: dict[str, AsterInstrument] = {}
    for s in exchange_info.get("symbols") or ():
        if (
            s.get("status", "TRADING") != "TRADING"
            or s.get("contractType", "PERPETUAL") != "PERPETUAL"
        ):
            continue
        sym = str(s["symbol"])
        f = _filters(s)
        price = f.get("PRICE_FILTER", {})
        lot = f.get("LOT_SIZE", {})
        market = f.get("MARKET_LOT_SIZE", lot)
        notional = f.get("MIN_NOTIONAL", {})
        tick = dec(price.get("tickSize", "0"))
        step = dec(lot.get("stepSize", "0"))
        if tick <= 0 or step <= 0:
            continue
        rules = Instrument.plain(
            tick,
            step,
            dec(lot.get("minQty", "0")),
            dec(notional.get("notional", notional.get("minNotional", "0"))),
        )
        maker, taker = (fees or {}).get(sym, (BASE_MAKER_FEE, BASE_TAKER_FEE))
        hours = (intervals_h or {}).get(sym, 8)
        info = InstrumentInfo(venue, sym, rules, maker, taker, hours * HOUR_S)
        out[sym] = AsterInstrument(
            info,
            dec(price.get("minPrice", "0")),
            dec(lot.get("maxQty", "0")),
            dec(market.get("stepSize", step)) or step,
            dec(market.get("maxQty", "0")),
        )
    return out


_INTERVAL_S = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


def rate_budgets(exchange_info: Mapping[str, Any]) -> tuple[Budget, ...]:
    """``exchangeInfo.rateLimits`` as limiter budgets: ``REQUEST_WEIGHT`` → ``"ip"`` (the
    first; any further window ``"ip-<seconds>"``), ``ORDERS`` → ``"orders"`` likewise; empty
    when the venue lists none (callers keep the documented defaults)."""
    out: list[Budget] = []
    seen: set[str] = set()
    for r in exchange_info.get("rateLimits") or ():
        kind = {"REQUEST_WEIGHT": "ip", "ORDERS": "orders"}.get(str(r.get("rateLimitType")))
        seconds = _INTERVAL_S.get(str(r.get("interval")), 0) * int(r.get("intervalNum", 1))
        limit = int(r.get("limit", 0))
        if kind is None or seconds <= 0 or limit <= 0:
            continue
        name = kind if kind not in seen else f"{kind}-{seconds}"
        seen.add(kind)
        out.append(Budget(name, limit, float(seconds)))
    return tuple(out)


def order_status(status: str) -> OrderStatus:
    """The model's status of the venue's ``status`` / ``X``.

    Raises:
        ValueError: A status the venue does not document.
    """
    try:
        return _STATUS[status]
    except KeyError:
        raise ValueError(f"unknown Aster order status {status!r}") from None


def is_post_only_expiry(tif: str, status: str, filled: Decimal) -> bool:
    """A GTX order the venue accepted and then expired unfilled because it would have crossed
    (the legacy Binance behaviour Aster documents, venues.md §2.7)."""
    return tif == "GTX" and status == "EXPIRED" and filled == 0


def status_report(
    venue: str, row: Mapping[str, Any], client_id_of: Callable[[str, int], str]
) -> OrderStatusReport:
    """An order object (``GET order``, ``openOrders``, a place/cancel/modify answer)."""
    filled = dec(row.get("executedQty", "0"))
    status = str(row["status"])
    reason = None
    if is_post_only_expiry(str(row.get("timeInForce", "")), status, filled):
        reason = "post_only"
    elif status in ("EXPIRED", "REJECTED", "CANCELED"):
        reason = status
    oid = int(row["orderId"])
    return OrderStatusReport(
        venue,
        str(row["symbol"]),
        client_id_of(str(row.get("clientOrderId", "")), oid),
        str(oid),
        Side.BUY if row["side"] == "BUY" else Side.SELL,
        dec(row["origQty"]),
        _opt(row.get("price")),
        order_status(status),
        filled,
        _opt(row.get("avgPrice")) if filled > 0 else None,
        int(row.get("updateTime", row.get("time", 0))) * MS,
        reason,
    )


def fill_from_trade(
    venue: str, row: Mapping[str, Any], client_id_of: Callable[[str, int], str]
) -> Fill:
    """A ``userTrades`` row (its ``commission`` is the fee charged, as a positive cost)."""
    oid = int(row["orderId"])
    return Fill(
        venue,
        str(row["symbol"]),
        client_id_of("", oid),
        str(oid),
        int(row["id"]),
        Side.BUY if row["side"] == "BUY" else Side.SELL,
        dec(row["price"]),
        dec(row["qty"]),
        abs(dec(row.get("commission", "0"))),
        Liquidity.MAKER if row.get("maker") else Liquidity.TAKER,
        int(row["time"]) * MS,
    )


def fill_from_update(
    venue: str, o: Mapping[str, Any], client_id_of: Callable[[str, int], str]
) -> Fill:
    """The fill of an ``ORDER_TRADE_UPDATE`` whose ``x`` is ``TRADE``."""
    oid = int(o["i"])
    return Fill(
        venue,
        str(o["s"]),
        client_id_of(str(o.get("c", "")), oid),
        str(oid),
        int(o["t"]),
        Side.BUY if o["S"] == "BUY" else Side.SELL,
        dec(o["L"]),
        dec(o["l"]),
        abs(dec(o.get("n", "0"))),
        Liquidity.MAKER if o.get("m") else Liquidity.TAKER,
        int(o.get("T", 0)) * MS,
    )


def order_update(
    venue: str, o: Mapping[str, Any], event_ms: int, client_id_of: Callable[[str, int], str]
) -> OrderUpdate:
    """The order-state part of an ``ORDER_TRADE_UPDATE``."""
    oid = int(o["i"])
    status = str(o["X"])
    filled = dec(o.get("z", "0"))
    reason = None
    if is_post_only_expiry(str(o.get("f", "")), status, filled):
        reason = "post_only"
    elif status in ("EXPIRED", "REJECTED", "CANCELED"):
        reason = status
    return OrderUpdate(
        venue,
        str(o["s"]),
        client_id_of(str(o.get("c", "")), oid),
        str(oid),
        order_status(status),
        filled,
        event_ms * MS,
        reason,
    )


def positions(venue: str, rows: Iterable[Mapping[str, Any]]) -> dict[str, Position]:
    """``positionRisk`` rows → the non-flat positions (one-way mode: ``positionSide`` BOTH;
    hedge-mode legs of one symbol are summed)."""
    out: dict[str, Position] = {}
    for r in rows:
        size = dec(r.get("positionAmt", "0"))
        if size == 0:
            continue
        sym = str(r["symbol"])
        prev = out.get(sym)
        if prev is not None:
            size += prev.size
        out[sym] = Position(
            venue,
            sym,
            size,
            _opt(r.get("entryPrice")),
            _opt(r.get("markPrice")),
            int(r.get("updateTime", 0)) * MS,
            liquidation_price=_opt(r.get("liquidationPrice")),
            leverage=_opt(r.get("leverage")),
        )
    return out


def funding_rate(venue: str, row: Mapping[str, Any], interval_h: int) -> FundingRate:
    """A ``premiumIndex`` row: ``lastFundingRate`` is the rate for the symbol's interval."""
    return FundingRate(
        venue,
        str(row["symbol"]),
        dec(row.get("lastFundingRate", "0")),
        interval_h * HOUR_S,
        int(row.get("nextFundingTime", 0)) * MS,
        int(row.get("time", 0)) * MS,
    )


def funding_payment(
    venue: str, row: Mapping[str, Any], position_size: Decimal = ZERO, rate: Decimal = ZERO
) -> FundingPayment:
    """An ``income`` row of type ``FUNDING_FEE`` (``income``: received positive, paid
    negative). The row does not carry the rate or the position; callers that know them pass
    them."""
    return FundingPayment(
        venue,
        str(row.get("symbol", "")),
        dec(row["income"]),
        rate,
        position_size,
        int(row["time"]) * MS,
    )


def account_state(venue: str, row: Mapping[str, Any], now_ns: int) -> AccountState:
    """An ``account`` answer (cross margin): wallet balance, margin balance, available,
    initial and maintenance margin."""
    collateral = dec(row.get("totalWalletBalance", "0"))
    equity = dec(row.get("totalMarginBalance", collateral))
    ts = int(row.get("updateTime", 0)) * MS or now_ns
    return AccountState(
        venue,
        collateral,
        equity,
        max(dec(row.get("availableBalance", "0")), ZERO),
        dec(row.get("totalInitialMargin", "0")),
        dec(row.get("totalMaintMargin", "0")),
        ts,
    )


def margin_table(brackets: Iterable[Mapping[str, Any]]) -> MarginTable:
    """A ``leverageBracket`` entry's ``brackets`` → the symbol's maintenance tiers."""
    return MarginTable.binance_brackets(
        [{k: dec(v) if k != "bracket" else v for k, v in b.items()} for b in brackets]
    )
