"""Hyperliquid's wire format, inbound: venue payloads → :mod:`hedgekit.model` values, and the
venue's error texts → :mod:`hedgekit.errors`.

Pure functions, no I/O. Numbers are read as ``Decimal`` from the venue's strings (never through a
float); times are the venue's milliseconds turned into nanoseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import Instrument
from hedgekit.errors import (
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
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
    "MISSING_ORDER",
    "Asset",
    "account_state",
    "assets",
    "dec",
    "error_for",
    "fill",
    "funding_payment",
    "funding_rates",
    "order_status",
    "positions",
    "status_report",
]

MS = 1_000_000
HOUR_MS = 3_600_000
ZERO = Decimal(0)
MISSING_ORDER = "Order was never placed, already canceled, or filled"
"""The one cancel error for a filled, a cancelled and an unknown order (venues.md §1.6)."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One perpetual of ``meta.universe``.

    Attributes:
        info: The instrument's rules and our fees.
        asset_id: Its index in the universe (orders name assets by it).
        max_leverage: The venue's cap (``maxLeverage``).
        margin_table: Its maintenance tiers.
    """

    info: InstrumentInfo
    asset_id: int
    max_leverage: int
    margin_table: MarginTable


def _tables(meta: Mapping[str, Any]) -> dict[int, Sequence[Mapping[str, Any]]]:
    out: dict[int, Sequence[Mapping[str, Any]]] = {}
    for row in meta.get("marginTables") or ():
        table_id, body = row
        out[int(table_id)] = body.get("marginTiers") or ()
    return out


def assets(
    venue: str, meta: Mapping[str, Any], fees: Mapping[str, Any] | None = None
) -> dict[str, Asset]:
    """The tradable perpetuals of a ``meta`` answer (delisted ones left out), with our fee rates
    from ``userFees`` (``userAddRate`` maker, ``userCrossRate`` taker; tier 0 without it).

    Rules are :meth:`hedgekit.Instrument.hyperliquid` from ``szDecimals``: sizes to
    ``szDecimals`` decimals, prices to 5 significant figures and ``6 - szDecimals`` decimals.
    """
    maker = dec(fees["userAddRate"]) if fees and "userAddRate" in fees else Decimal("0.00015")
    taker = dec(fees["userCrossRate"]) if fees and "userCrossRate" in fees else Decimal("0.00045")
    tables = _tables(meta)
    out: dict[str, Asset] = {}
    for index, u in enumerate(meta.get("universe") or ()):
        if u.get("isDelisted"):
            continue
        name = str(u["name"])
        cap = int(u.get("maxLeverage", 1))
        tiers = tables.get(int(u["marginTableId"])) if "marginTableId" in u else None
        table = MarginTable.hyperliquid(
            cap,
            [(dec(t["lowerBound"]), dec(t["maxLeverage"])) for t in tiers] if tiers else None,
        )
        rules = Instrument.hyperliquid(int(u["szDecimals"]))
        info = InstrumentInfo(venue, name, rules, maker, taker, 3600)
        out[name] = Asset(info, index, cap, table)
    return out


_STATUS: dict[str, OrderStatus] = {
    "open": OrderStatus.OPEN,
    "triggered": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "iocCancelRejected": OrderStatus.EXPIRED,
}


def order_status(status: str, orig_size: Decimal, remaining: Decimal) -> OrderStatus:
    """Our status for one of the venue's (venues.md §1.3): every ``…Canceled`` is
    ``CANCELLED``, every ``…Rejected`` is ``REJECTED``, an open order with fills is
    ``PARTIALLY_FILLED``."""
    mapped = _STATUS.get(status)
    if mapped is None:
        if status.endswith("Canceled") or status == "scheduledCancel":
            mapped = OrderStatus.CANCELLED
        elif status.endswith("Rejected"):
            mapped = OrderStatus.REJECTED
        else:
            mapped = OrderStatus.OPEN if status == "open" else OrderStatus.CANCELLED
    if mapped is OrderStatus.OPEN and remaining < orig_size:
        return OrderStatus.PARTIALLY_FILLED
    return mapped


def status_report(
    venue: str, answer: Mapping[str, Any], client_id_of: Callable[[str | None, int], str]
) -> OrderStatusReport | None:
    """An ``orderStatus`` answer as a report, ``None`` for ``unknownOid``.

    ``filled`` is ``origSz - sz`` as of the last status change (the venue does not refresh it
    in between: venues.md §1.3); fills themselves come from the fill stream.
    """
    if answer.get("status") != "order":
        return None
    outer = answer["order"]
    o = outer["order"]
    orig = dec(o.get("origSz", o["sz"]))
    remaining = dec(o["sz"])
    status = order_status(str(outer["status"]), orig, remaining)
    filled = orig - remaining
    if status is OrderStatus.FILLED:
        filled = orig
    oid = int(o["oid"])
    return OrderStatusReport(
        venue=venue,
        symbol=str(o["coin"]),
        client_id=client_id_of(o.get("cloid"), oid),
        venue_order_id=str(oid),
        side=Side.BUY if o["side"] == "B" else Side.SELL,
        size=orig,
        price=dec(o["limitPx"]),
        status=status,
        filled=filled,
        avg_price=None,
        ts_ns=int(outer.get("statusTimestamp", o.get("timestamp", 0))) * MS,
        reason=None if status in (OrderStatus.OPEN, OrderStatus.FILLED) else str(outer["status"]),
    )


def open_order(
    venue: str, row: Mapping[str, Any], client_id_of: Callable[[str | None, int], str]
) -> OrderStatusReport:
    """A ``frontendOpenOrders`` row as a report: resting, ``PARTIALLY_FILLED`` when
    ``sz < origSz``."""
    answer = {"status": "order", "order": {"order": row, "status": "open"}}
    report = status_report(venue, answer, client_id_of)
    assert report is not None
    return report


def fill(venue: str, f: Mapping[str, Any], client_id_of: Callable[[str | None, int], str]) -> Fill:
    """One ``WsFill`` / ``userFills`` row. A liquidation's fill gets the client id
    ``liquidation-<tid>`` (:func:`hedgekit.model.forced_fill_kind`)."""
    oid = int(f["oid"])
    tid = int(f["tid"])
    client_id = f"liquidation-{tid}" if f.get("liquidation") else client_id_of(f.get("cloid"), oid)
    return Fill(
        venue=venue,
        symbol=str(f["coin"]),
        client_id=client_id,
        venue_order_id=str(oid),
        trade_id=tid,
        side=Side.BUY if f["side"] == "B" else Side.SELL,
        price=dec(f["px"]),
        size=dec(f["sz"]),
        fee=dec(f.get("fee", "0")),
        liquidity=Liquidity.TAKER if f.get("crossed") else Liquidity.MAKER,
        ts_ns=int(f["time"]) * MS,
    )


def positions(venue: str, state: Mapping[str, Any]) -> dict[str, Position]:
    """Every non-flat position of a ``clearinghouseState``, with the venue's liquidation price
    and leverage; ``funding`` is ``-cumFunding.sinceOpen`` (the venue counts funding paid as
    positive)."""
    ts = int(state.get("time", 0)) * MS
    out: dict[str, Position] = {}
    for row in state.get("assetPositions") or ():
        p = row["position"]
        size = dec(p["szi"])
        if size == 0:
            continue
        value = dec(p.get("positionValue", "0"))
        liq = p.get("liquidationPx")
        lev = p.get("leverage") or {}
        cum = p.get("cumFunding") or {}
        out[str(p["coin"])] = Position(
            venue=venue,
            symbol=str(p["coin"]),
            size=size,
            entry_price=dec(p["entryPx"]) if p.get("entryPx") is not None else None,
            mark_price=value / abs(size) if value else None,
            ts_ns=ts,
            funding=-dec(cum["sinceOpen"]) if "sinceOpen" in cum else ZERO,
            liquidation_price=dec(liq) if liq is not None else None,
            leverage=dec(lev["value"]) if "value" in lev else None,
        )
    return out


def account_state(venue: str, state: Mapping[str, Any]) -> AccountState:
    """A ``clearinghouseState`` as margin figures (cross margin).

    ``equity`` is ``marginSummary.accountValue``; ``collateral`` is the equity less the
    positions' unrealised PnL; ``initial_margin`` is ``totalMarginUsed``;
    ``maintenance_margin`` is ``crossMaintenanceMarginUsed``.
    """
    summary = state.get("marginSummary") or {}
    equity = dec(summary.get("accountValue", "0"))
    upnl = sum(
        (dec(r["position"].get("unrealizedPnl", "0")) for r in state.get("assetPositions") or ()),
        ZERO,
    )
    initial = dec(summary.get("totalMarginUsed", "0"))
    return AccountState(
        venue=venue,
        collateral=equity - upnl,
        equity=equity,
        available=max(equity - initial, ZERO),
        initial_margin=initial,
        maintenance_margin=dec(state.get("crossMaintenanceMarginUsed", "0")),
        ts_ns=int(state.get("time", 0)) * MS,
    )


def funding_payment(venue: str, row: Mapping[str, Any]) -> FundingPayment:
    """One ``userFunding`` row (``{"time", "delta": {...}}``) or ``userFundings`` item
    (flat). The venue's ``usdc`` is already signed from our view (negative: paid)."""
    d = row.get("delta", row)
    return FundingPayment(
        venue=venue,
        symbol=str(d["coin"]),
        amount=dec(d["usdc"]),
        rate=dec(d["fundingRate"]),
        position_size=dec(d["szi"]),
        ts_ns=int(row["time"]) * MS,
    )


def funding_rates(venue: str, answer: Sequence[Any], now_ms: int) -> dict[str, FundingRate]:
    """A ``metaAndAssetCtxs`` answer as hourly rates, the next payment on the next hour."""
    meta, ctxs = answer[0], answer[1]
    next_ms = (now_ms // HOUR_MS + 1) * HOUR_MS
    out: dict[str, FundingRate] = {}
    for u, ctx in zip(meta.get("universe") or (), ctxs, strict=False):
        if u.get("isDelisted") or ctx.get("funding") is None:
            continue
        name = str(u["name"])
        out[name] = FundingRate(venue, name, dec(ctx["funding"]), 3600, next_ms * MS, now_ms * MS)
    return out


_REASONS: tuple[tuple[str, str], ...] = (
    ("Order must have minimum value", "min_notional"),
    ("Price must be divisible by tick size", "off_tick"),
    ("Order has invalid size", "off_step"),
    ("Order has zero size", "off_step"),
    ("Reduce only order would increase position", "reduce_only"),
    ("Insufficient margin", "insufficient_margin"),
    ("exceed margin tier limit", "leverage_above_cap"),
    ("Action expired", "expired"),  # past its expiresAfter: refused, nothing applied
)


def error_for(venue: str, text: str, *, leverage: bool = False) -> VenueError:
    """The exception for one of the venue's error texts (all definitive: the venue answered).

    ``leverage``: the text answers an ``updateLeverage`` (a refusal is then
    :class:`~hedgekit.errors.LeverageRejectedError`, insufficient margin aside).
    """
    if text.startswith("Post only order would have immediately matched"):
        return PostOnlyRejectedError(venue, text)
    if text.startswith("Too many cumulative requests"):
        # The address budget is spent: one request per 10 s until volume frees more.
        return RateLimitedError(venue, text, None, 10.0)
    for needle, reason in _REASONS:
        if needle in text:
            if leverage and reason != "insufficient_margin":
                return LeverageRejectedError(venue, text)
            return OrderRejectedError(venue, text, None, reason)
    if leverage:
        return LeverageRejectedError(venue, text)
    return OrderRejectedError(venue, text)
