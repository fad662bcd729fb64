"""Lighter's wire, incoming: ``orderBookDetails`` into exact instruments, order and trade
objects into reports and fills, account rows into positions and margins, funding rows, and
the venue's ``{"code", "message"}`` errors into :mod:`hedgekit.errors` (venues.md §3).

Numbers in Lighter's order, trade and account objects are human-unit decimal strings; they are
read as exact ``Decimal`` (a float is refused). What venues.md §5 lists as unconfirmed is a
switch of :class:`LighterQuirks`, defaulting to the most likely reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import Instrument
from hedgekit.errors import (
    OrderRejectedError,
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
    Position,
    Side,
)
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues.base import InstrumentInfo
from hedgekit.venues.numbers import dec

__all__ = [
    "INVALID_NONCE",
    "NOT_ACTIVE",
    "LighterInstrument",
    "LighterQuirks",
    "account_state",
    "error_for",
    "fill_from_trade",
    "funding_payment",
    "instruments",
    "order_report",
    "order_status",
    "positions",
    "ts_ns",
    "whole",
]

INVALID_NONCE = 21104
"""``invalid nonce``: refresh the key's nonce and re-sign."""
NOT_ACTIVE = (21600, 21715)
"""A cancel or modify of an order that is no longer active (filled, cancelled, unknown)."""
RATE_LIMITED = 23000
"""``Too Many Requests!``."""

_REASONS: dict[int, str] = {
    21701: "off_step",
    21702: "off_tick",
    21706: "min_notional",
    21727: "duplicate_client_id",
    21728: "duplicate_client_id",
    21732: "reduce_only",
    21739: "insufficient_margin",
}

_HOUR_NS = 3600 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class LighterQuirks:
    """The readings venues.md §5 leaves unconfirmed, as switches.

    Attributes:
        supported_decimals: Read ``supported_price_decimals``/``supported_size_decimals``
            instead of ``price_decimals``/``size_decimals`` (§5.9; equal in every sample seen).
        book_chain: How book continuity is checked (§5.12): ``"begin_nonce"`` (an update's
            ``begin_nonce`` equals the previous ``nonce``), ``"offset"`` (``offset`` steps by
            one) or ``"none"``.
        funding_rate_hours: The period ``funding-rates`` rates are quoted for (§5.13: 8 h per
            third-party code); they are reported per hour.
        details_fee_percent: ``orderBookDetails`` fees are percents (``"0.0280"`` = 0.028%).
        trade_fee_scale: A trade's ``maker_fee``/``taker_fee`` integer over this is a rate
            (§5.13: millionths).
        funding_received_positive: ``positionFunding.change`` is positive when received.
    """

    supported_decimals: bool = False
    book_chain: str = "begin_nonce"
    funding_rate_hours: int = 8
    details_fee_percent: bool = True
    trade_fee_scale: int = 1_000_000
    funding_received_positive: bool = True

    def __post_init__(self) -> None:
        if self.book_chain not in ("begin_nonce", "offset", "none"):
            raise ValueError(f"unknown book_chain {self.book_chain!r}")


@dataclass(frozen=True, slots=True)
class LighterInstrument:
    """One Lighter perpetual: its market id, integer scales, rules and margin fractions.

    Attributes:
        market_id: The market index (perps 0..254).
        price_decimals: ``price = px · 10^price_decimals`` on the wire.
        size_decimals: ``base_amount = size · 10^size_decimals``.
        info: Rules and fees (:class:`~hedgekit.venues.base.InstrumentInfo`).
        min_initial_margin_fraction: Over 10,000 (the leverage cap).
        default_initial_margin_fraction: Over 10,000.
        maintenance_margin_fraction: Over 10,000.
    """

    market_id: int
    price_decimals: int
    size_decimals: int
    info: InstrumentInfo
    min_initial_margin_fraction: int
    default_initial_margin_fraction: int
    maintenance_margin_fraction: int

    @property
    def symbol(self) -> str:
        """The venue's symbol (``"ETH"``)."""
        return self.info.symbol

    def margin_table(self) -> MarginTable | None:
        """The single-tier table of the fractions, ``None`` when they are missing or invalid."""
        try:
            return MarginTable.lighter(
                self.min_initial_margin_fraction, self.maintenance_margin_fraction
            )
        except (ValueError, TypeError):
            return None


def instruments(
    venue: str, details: Mapping[str, Any], quirks: LighterQuirks = LighterQuirks()
) -> dict[str, LighterInstrument]:
    """The active perpetuals of an ``orderBookDetails`` answer, by symbol.

    Raises:
        hedgekit.errors.ParseError: Not such an answer (via ``KeyError``/``ValueError``).
    """
    out: dict[str, LighterInstrument] = {}
    pre = "supported_" if quirks.supported_decimals else ""
    scale = Decimal(100) if quirks.details_fee_percent else Decimal(1)
    for row in details.get("order_book_details") or ():
        if str(row.get("market_type", "perp")) != "perp":
            continue
        if str(row.get("status", "active")) != "active":
            continue
        pd, sd = int(row[pre + "price_decimals"]), int(row[pre + "size_decimals"])
        rules = Instrument.lighter(
            pd, sd, str(row.get("min_base_amount", "0")), str(row.get("min_quote_amount", "0"))
        )
        symbol = str(row["symbol"])
        info = InstrumentInfo(
            venue, symbol, rules,
            dec(row.get("maker_fee", "0")) / scale, dec(row.get("taker_fee", "0")) / scale,
            3600,
        )  # fmt: skip
        out[symbol] = LighterInstrument(
            int(row["market_id"]), pd, sd, info,
            int(row.get("min_initial_margin_fraction") or 0),
            int(row.get("default_initial_margin_fraction") or 0),
            int(row.get("maintenance_margin_fraction") or 0),
        )  # fmt: skip
    return out


def whole(x: Decimal) -> Decimal:
    """``x`` without an exponent when it is a whole number (``2E+1`` → ``20``)."""
    return x.quantize(Decimal(1)) if x == x.to_integral_value() else x


def ts_ns(value: Any) -> int:
    """A Lighter timestamp (seconds, milliseconds or microseconds, by magnitude) in ns."""
    n = int(value or 0)
    if n < 10**11:
        return n * 1_000_000_000
    if n < 10**14:
        return n * 1_000_000
    return n * 1_000


_STATUS: dict[str, OrderStatus] = {
    "in-progress": OrderStatus.OPEN,
    "pending": OrderStatus.OPEN,
    "open": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "canceled-post-only": OrderStatus.EXPIRED,
    "canceled-too-much-slippage": OrderStatus.EXPIRED,
    "canceled-not-enough-liquidity": OrderStatus.EXPIRED,
    "canceled-expired": OrderStatus.EXPIRED,
    "canceled-reduce-only": OrderStatus.REJECTED,
    "canceled-position-not-allowed": OrderStatus.REJECTED,
    "canceled-margin-not-allowed": OrderStatus.REJECTED,
    "canceled-invalid-balance": OrderStatus.REJECTED,
}
_STATUS_REASON: dict[str, str] = {
    "canceled-post-only": "post_only",
    "canceled-too-much-slippage": "slippage",
    "canceled-not-enough-liquidity": "no_liquidity",
    "canceled-reduce-only": "reduce_only",
    "canceled-margin-not-allowed": "insufficient_margin",
    "canceled-position-not-allowed": "position_not_allowed",
    "canceled-invalid-balance": "insufficient_margin",
    "canceled-self-trade": "self_trade",
    "canceled-liquidation": "liquidation",
}


def order_status(status: str, filled: Decimal = Decimal(0)) -> tuple[OrderStatus, str | None]:
    """A Lighter order status as ours, with a reason for a venue-side cancel
    (``canceled-post-only`` → ``EXPIRED``/``"post_only"``: accepted, then refused, never
    resting). An unknown ``canceled-*`` is a cancel."""
    s = _STATUS.get(status)
    if s is None:
        s = OrderStatus.CANCELLED if status.startswith("canceled") else OrderStatus.OPEN
    if s is OrderStatus.OPEN and filled > 0:
        s = OrderStatus.PARTIALLY_FILLED
    if s is OrderStatus.EXPIRED and filled > 0 and status != "canceled-post-only":
        s = OrderStatus.CANCELLED  # an IOC/market remainder after a partial fill
    return s, _STATUS_REASON.get(status)


def order_report(
    venue: str, row: Mapping[str, Any], symbol: str, client_id_of: Callable[[int], str]
) -> OrderStatusReport:
    """An order object (REST ``accountActiveOrders``/``accountInactiveOrders``/``accountOrders``
    or WS ``account_all_orders``) as a report; ``client_id_of`` maps its
    ``client_order_index`` to our client id."""
    filled = dec(row.get("filled_base_amount") or "0")
    quote = dec(row.get("filled_quote_amount") or "0")
    status, reason = order_status(str(row.get("status", "open")), filled)
    size = dec(row.get("initial_base_amount") or row.get("base_size") or "0")
    price = row.get("price")
    return OrderStatusReport(
        venue,
        symbol,
        client_id_of(int(row.get("client_order_index") or 0)),
        str(row.get("order_index", row.get("order_id", ""))),
        Side.SELL if _truthy(row.get("is_ask")) else Side.BUY,
        size,
        dec(price) if price not in (None, "") else None,
        status,
        filled,
        (quote / filled) if filled > 0 else None,
        ts_ns(row.get("updated_at") or row.get("timestamp") or row.get("created_at")),
        reason,
    )


def _truthy(x: Any) -> bool:
    return x in (True, 1, "1", "true", "True")


def fill_from_trade(
    venue: str,
    row: Mapping[str, Any],
    symbol: str,
    account_index: int,
    client_id_of: Callable[[int], str],
    quirks: LighterQuirks = LighterQuirks(),
) -> Fill | None:
    """Our side of a trade object, ``None`` when neither side is our account. The fee is
    ``usd_amount · fee / trade_fee_scale`` (a positive cost)."""
    ask_acct = int(row.get("ask_account_id", -1))
    bid_acct = int(row.get("bid_account_id", -1))
    if ask_acct == account_index:
        side, oid, coi = Side.SELL, row.get("ask_id"), row.get("ask_client_id")
        maker = _truthy(row.get("is_maker_ask"))
    elif bid_acct == account_index:
        side, oid, coi = Side.BUY, row.get("bid_id"), row.get("bid_client_id")
        maker = not _truthy(row.get("is_maker_ask"))
    else:
        return None
    fee_field = "maker_fee" if maker else "taker_fee"
    usd = dec(row.get("usd_amount") or "0")
    fee = usd * Decimal(int(row.get(fee_field) or 0)) / quirks.trade_fee_scale
    return Fill(
        venue,
        symbol,
        client_id_of(int(coi or 0)),
        str(oid),
        int(row["trade_id"]),
        side,
        dec(row["price"]),
        dec(row["size"]),
        fee,
        Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ns(row.get("timestamp")),
    )


def positions(
    venue: str, rows: list[Mapping[str, Any]], symbol_of: Mapping[int, str], now_ns: int
) -> dict[str, Position]:
    """The non-flat positions of an account's ``positions`` (``sign`` ±1, ``position``
    unsigned), with entry, mark (``position_value / position``), liquidation price, funding
    paid out and leverage (100 / ``initial_margin_fraction`` percent)."""
    out: dict[str, Position] = {}
    for r in rows:
        size = dec(r.get("position") or "0")
        if size == 0:
            continue
        sym = symbol_of.get(int(r["market_id"]), str(r.get("symbol")))
        signed = -size if int(r.get("sign", 1)) < 0 else size
        value = dec(r.get("position_value") or "0")
        liq = dec(r.get("liquidation_price") or "0")
        imf = dec(r.get("initial_margin_fraction") or "0")
        out[sym] = Position(
            venue,
            sym,
            signed,
            dec(r["avg_entry_price"]) if r.get("avg_entry_price") else None,
            abs(value) / size if value else None,
            now_ns,
            -dec(r.get("total_funding_paid_out") or "0"),
            liq if liq > 0 else None,
            whole(Decimal(100) / imf) if imf > 0 else None,
        )
    return out


def account_state(
    venue: str,
    row: Mapping[str, Any],
    now_ns: int,
    maintenance_fractions: Mapping[int, int] | None = None,
) -> AccountState:
    """Collateral and cross margins of one ``account`` row.

    The margins are the row's ``cross_initial_margin_requirement`` and
    ``cross_maintenance_margin_requirement`` where it gives them; otherwise the initial margin
    is read as equity − available, and the maintenance margin as each position's value times
    its market's ``maintenance_margin_fraction`` / 10,000 (``maintenance_fractions``, by
    market id).
    """
    collateral = dec(row.get("collateral") or "0")
    raw_equity = row.get("total_asset_value") or row.get("cross_asset_value")
    equity = dec(raw_equity) if raw_equity else collateral
    available = dec(row.get("available_balance") or "0")
    im = row.get("cross_initial_margin_requirement")
    initial = dec(im) if im not in (None, "") else max(Decimal(0), equity - available)
    mm = row.get("cross_maintenance_margin_requirement")
    if mm not in (None, ""):
        maintenance = dec(mm)
    else:
        fractions = maintenance_fractions or {}
        maintenance = sum(
            (
                abs(dec(p.get("position_value") or "0"))
                * fractions.get(int(p.get("market_id", -1)), 0)
                / 10_000
                for p in row.get("positions") or ()
            ),
            Decimal(0),
        )
    return AccountState(venue, collateral, equity, available, initial, maintenance, now_ns)


def funding_rate(
    venue: str, row: Mapping[str, Any], symbol: str, now_ns: int, quirks: LighterQuirks
) -> FundingRate:
    """A ``funding-rates`` row (quoted per ``funding_rate_hours``) as the hourly rate, with
    the next settlement on the next whole hour."""
    raw = row["rate"]
    # a rate, not an order value: a JSON float is read by its shortest repr
    rate = (Decimal(repr(raw)) if isinstance(raw, float) else dec(raw)) / quirks.funding_rate_hours
    nxt = (now_ns // _HOUR_NS + 1) * _HOUR_NS
    return FundingRate(venue, symbol, rate, 3600, nxt, now_ns)


def funding_payment(
    venue: str, row: Mapping[str, Any], symbol: str, quirks: LighterQuirks
) -> FundingPayment:
    """A ``positionFunding`` row (received positive, paid negative)."""
    amount = dec(row.get("change") or "0")
    if not quirks.funding_received_positive:
        amount = -amount
    size = dec(row.get("position_size") or "0")
    if str(row.get("position_side", "long")) == "short":
        size = -abs(size)
    return FundingPayment(
        venue, symbol, amount, dec(row.get("rate") or "0"), size, ts_ns(row.get("timestamp"))
    )


def error_for(venue: str, code: int, message: str) -> VenueError:
    """The error of a ``{"code", "message"}`` answer (definitive: the API refused the tx)."""
    if code == RATE_LIMITED:
        return RateLimitedError(venue, message, code, 1.0)
    if code in (21120, 21500):  # unknown order / order not found on a read
        return UnknownOrderError(venue, message, code)
    return OrderRejectedError(venue, message, code, _REASONS.get(code, "other"))
