"""Small builders for simulated-venue tests."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hedgekit import Instrument
from hedgekit.model import OrderRequest, OrderType, Side, TimeInForce
from hedgekit.venues.sim import (
    Lat,
    LatencyConfig,
    MarketConfig,
    Personality,
    SimInstrument,
    SimVenueConfig,
    aster,
    hyperliquid,
    lighter,
)

MS = 1_000_000
D = Decimal

RULES = {
    "hyperliquid": Instrument.hyperliquid(sz_decimals=3),
    "aster": Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"),
    "lighter": Instrument.lighter(
        price_decimals=2, size_decimals=3, min_base_amount="0.001", min_quote_amount="10"
    ),
}
PERSONALITIES = {"hyperliquid": hyperliquid, "aster": aster, "lighter": lighter}


def market(**kw: Any) -> MarketConfig:
    base = MarketConfig(
        mid=D("100"), tick=D("0.01"), levels=5, level_size=D("7"), depth_growth=D(0)
    )
    return dataclasses.replace(base, **kw)


def venue_config(
    style: str = "hyperliquid",
    *,
    name: str | None = None,
    personality: Personality | None = None,
    mkt: MarketConfig | None = None,
    latency_ms: int = 10,
    feed_ms: int = 5,
    **kw: Any,
) -> SimVenueConfig:
    lat = LatencyConfig(
        entry=Lat(latency_ms * MS),
        response=Lat(latency_ms * MS),
        feed_public=Lat(feed_ms * MS),
        feed_private=Lat(feed_ms * MS),
    )
    kw.setdefault("latency", lat)
    return SimVenueConfig(
        name=name or style,
        personality=personality or PERSONALITIES[style](),
        instruments=(SimInstrument("ETH", RULES[style], mkt or market()),),
        **kw,
    )


_ids = iter(range(1, 10**9))


def order(
    side: str,
    size: str,
    price: str | None,
    *,
    tif: TimeInForce = TimeInForce.GTC,
    order_type: OrderType = OrderType.LIMIT,
    reduce_only: bool = False,
    client_id: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        symbol="ETH",
        side=Side(side),
        size=D(size),
        price=None if price is None else D(price),
        client_id=client_id or f"c{next(_ids)}",
        order_type=order_type,
        tif=tif,
        reduce_only=reduce_only,
    )
