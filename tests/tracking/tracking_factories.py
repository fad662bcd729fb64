"""Builders of model values for the tracking tests."""

from __future__ import annotations

from decimal import Decimal

from hedgekit import FillLedger
from hedgekit.model import (
    Fill,
    Liquidity,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderUpdate,
    Side,
)
from hedgekit.tracking import OrderTracker, TrackerConfig

VENUE = "sim-a"
SYMBOL = "BTC"
S = 1_000_000_000
MS = 1_000_000


def tracker(config: TrackerConfig | None = None) -> tuple[OrderTracker, FillLedger]:
    ledger = FillLedger()
    return OrderTracker(VENUE, ledger, config), ledger


def request(cid: str = "c1", size: str = "1", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(SYMBOL, side, Decimal(size), Decimal(100), cid)


def fill(
    cid: str = "c1", trade_id: int | str = 1, size: str = "1", side: Side = Side.BUY,
    price: str = "100", voi: str | None = None,
) -> Fill:  # fmt: skip
    return Fill(
        VENUE, SYMBOL, cid, voi or "v-" + cid, trade_id, side, Decimal(price), Decimal(size),
        Decimal("0.01"), Liquidity.MAKER, 0,
    )  # fmt: skip


def ack(cid: str = "c1", status: OrderStatus = OrderStatus.OPEN, filled: str = "0") -> OrderAck:
    return OrderAck(cid, "v-" + cid, status, Decimal(filled), 1)


def update(
    cid: str = "c1", status: OrderStatus = OrderStatus.OPEN, filled: str = "0"
) -> OrderUpdate:
    return OrderUpdate(VENUE, SYMBOL, cid, "v-" + cid, status, Decimal(filled), 1)


def report(
    cid: str = "c1", status: OrderStatus = OrderStatus.OPEN, filled: str = "0",
    size: str = "1", fills: tuple[Fill, ...] = (), side: Side = Side.BUY,
) -> OrderStatusReport:  # fmt: skip
    return OrderStatusReport(
        VENUE, SYMBOL, cid, "v-" + cid, side, Decimal(size), Decimal(100), status,
        Decimal(filled), None, 1, fills=fills,
    )  # fmt: skip
