"""The fake's markets: Aster USDT perps on the simulated venue's matching engine.

Each :class:`AsterMarket` becomes one :class:`~hedgekit.venues.sim.SimInstrument` with
Binance/Aster filters (:meth:`hedgekit._core.Instrument.plain`), Aster's leverage brackets
(:data:`~hedgekit.venues.sim.ASTER_TABLE`) and its funding interval, and one ``exchangeInfo``
symbol entry written with the venue's field names (``venues.md`` §2.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import Instrument
from hedgekit.venues.sim import ASTER_TABLE, MarketConfig, SimInstrument

__all__ = ["DEFAULT_MARKETS", "AsterMarket", "instruments", "symbol_info"]


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@dataclass(frozen=True, slots=True)
class AsterMarket:
    """One perp of the fake.

    Attributes:
        symbol: ``"ETHUSDT"``.
        base: The base asset (``"ETH"``).
        tick: ``PRICE_FILTER.tickSize``.
        step: ``LOT_SIZE.stepSize`` (and ``MARKET_LOT_SIZE``'s).
        min_qty: ``LOT_SIZE.minQty``.
        min_notional: ``MIN_NOTIONAL.notional``.
        mid: The outside book's starting mid.
        book_tick: Spacing of the outside book's levels (a multiple of ``tick``).
        min_price: ``PRICE_FILTER.minPrice``: the grid's anchor (``(price - minPrice) %
            tickSize == 0``); a multiple of ``tick``.
        max_price: ``PRICE_FILTER.maxPrice``.
        max_qty: ``LOT_SIZE.maxQty``.
        market_max_qty: ``MARKET_LOT_SIZE.maxQty``.
        level_size: Outside size at the touch.
        levels: Outside levels per side.
        funding_rate: Funding rate per interval (fraction; positive: longs pay).
        funding_interval_h: ``fundingIntervalHours`` (8, or 4 for some symbols).
        multiplier_up: ``PERCENT_PRICE.multiplierUp``.
        multiplier_down: ``PERCENT_PRICE.multiplierDown``.
    """

    symbol: str
    base: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    min_notional: Decimal
    mid: Decimal
    book_tick: Decimal
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal(1_000_000)
    max_qty: Decimal = Decimal(10_000)
    market_max_qty: Decimal = Decimal(2_000)
    level_size: Decimal = Decimal(5)
    levels: int = 20
    funding_rate: Decimal = Decimal("0.0001")
    funding_interval_h: int = 8
    multiplier_up: Decimal = Decimal("1.0500")
    multiplier_down: Decimal = Decimal("0.9500")

    def __post_init__(self) -> None:
        if self.tick <= 0 or self.step <= 0 or self.min_qty < 0 or self.min_notional < 0:
            raise ValueError(f"{self.symbol}: tick and step must be positive, minimums >= 0")
        if self.min_price % self.tick != 0 or self.book_tick % self.tick != 0:
            raise ValueError(f"{self.symbol}: minPrice and the book tick must be on the tick")

    @property
    def price_decimals(self) -> int:
        """The most decimals a price may have (the tick's)."""
        return _decimals(self.tick)

    @property
    def qty_decimals(self) -> int:
        """The most decimals a quantity may have (the step's)."""
        return _decimals(self.step)


DEFAULT_MARKETS: tuple[AsterMarket, ...] = (
    AsterMarket(
        "BTCUSDT", "BTC", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal(5),
        Decimal(60000), Decimal("0.1"), min_price=Decimal("0.1"), level_size=Decimal("0.5"),
    ),
    AsterMarket(
        "ETHUSDT", "ETH", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(5),
        Decimal(3000), Decimal("0.1"), level_size=Decimal(5),
    ),
    AsterMarket(
        "SOLUSDT", "SOL", Decimal("0.001"), Decimal("0.01"), Decimal("0.01"), Decimal(5),
        Decimal(150), Decimal("0.01"), min_price=Decimal("0.001"), level_size=Decimal(100),
        funding_interval_h=4,
    ),
)  # fmt: skip
"""BTCUSDT, ETHUSDT and SOLUSDT (SOL on a 4-hour funding interval)."""


def instruments(markets: Sequence[AsterMarket]) -> tuple[SimInstrument, ...]:
    """The matching engine's instruments for ``markets``."""
    return tuple(
        SimInstrument(
            m.symbol,
            Instrument.plain(m.tick, m.step, m.min_qty, m.min_notional),
            MarketConfig(
                mid=m.mid,
                tick=m.book_tick,
                levels=m.levels,
                level_size=m.level_size,
                funding_rate=m.funding_rate,
            ),
            asset_id=i,
            margin_table=ASTER_TABLE,
            leverage=Decimal(20),
            funding_interval_s=m.funding_interval_h * 3600,
        )
        for i, m in enumerate(markets)
    )


def symbol_info(m: AsterMarket) -> dict[str, Any]:
    """``m``'s entry in ``exchangeInfo.symbols``."""
    return {
        "symbol": m.symbol,
        "pair": m.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": m.base,
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": m.price_decimals,
        "quantityPrecision": m.qty_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.015000",
        "marketTakeBound": "0.05",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": str(m.min_price),
                "maxPrice": str(m.max_price),
                "tickSize": str(m.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": str(m.min_qty),
                "maxQty": str(m.max_qty),
                "stepSize": str(m.step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": str(m.min_qty),
                "maxQty": str(m.market_max_qty),
                "stepSize": str(m.step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(m.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": str(m.multiplier_up),
                "multiplierDown": str(m.multiplier_down),
                "multiplierDecimal": 4,
            },
        ],
        "OrderType": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                      "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                       "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "HIDDEN"],
    }  # fmt: skip
