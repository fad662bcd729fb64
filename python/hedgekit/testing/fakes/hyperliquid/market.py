"""The fake's markets: Hyperliquid perps on the simulated venue's matching engine.

Each :class:`FakeMarket` becomes one :class:`~hedgekit.venues.sim.SimInstrument` with
Hyperliquid's rules (:meth:`hedgekit._core.Instrument.hyperliquid`: 5 significant figures,
``6 - szDecimals`` decimals, lots of ``szDecimals``, $10 minimum value), Hyperliquid's one-tier
margin table at the asset's ``maxLeverage`` and the hourly funding schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hedgekit._core import Instrument
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues.sim import MarketConfig, SimInstrument

__all__ = ["DEFAULT_MARKETS", "FakeMarket", "instruments"]


@dataclass(frozen=True, slots=True)
class FakeMarket:
    """One perp of the fake.

    Attributes:
        coin: Its name (``"ETH"``); its asset id is its index in the markets given.
        sz_decimals: ``szDecimals``.
        mid: The outside book's starting mid.
        tick: Spacing of the outside book's levels (a valid price step near ``mid``).
        max_leverage: ``maxLeverage`` (the margin table's only tier).
        level_size: Outside size at the touch (deeper levels grow by a quarter per level).
        levels: Outside levels per side.
        funding_rate: Hourly funding rate (fraction; positive: longs pay).
    """

    coin: str
    sz_decimals: int
    mid: Decimal
    tick: Decimal
    max_leverage: int = 25
    level_size: Decimal = Decimal(5)
    levels: int = 20
    funding_rate: Decimal = Decimal("0.0000125")

    def __post_init__(self) -> None:
        if not 0 <= self.sz_decimals <= 6:
            raise ValueError(f"{self.coin}: szDecimals must lie in 0..6, got {self.sz_decimals}")
        if not Instrument.hyperliquid(self.sz_decimals).is_price_valid(self.tick):
            raise ValueError(f"{self.coin}: tick {self.tick} is not a valid Hyperliquid price")
        if self.max_leverage < 1:
            raise ValueError(f"{self.coin}: maxLeverage must be >= 1")


DEFAULT_MARKETS: tuple[FakeMarket, ...] = (
    FakeMarket("BTC", 5, Decimal(60000), Decimal(1), 40, Decimal("0.5")),
    FakeMarket("ETH", 4, Decimal(3000), Decimal("0.1"), 25, Decimal(5)),
    FakeMarket("SOL", 2, Decimal(150), Decimal("0.01"), 20, Decimal(100)),
)
"""BTC (asset 0), ETH (asset 1) and SOL (asset 2)."""


def instruments(markets: Sequence[FakeMarket]) -> tuple[SimInstrument, ...]:
    """The matching engine's instruments for ``markets`` (asset id = position)."""
    out = []
    for i, m in enumerate(markets):
        out.append(
            SimInstrument(
                m.coin,
                Instrument.hyperliquid(m.sz_decimals),
                MarketConfig(
                    mid=m.mid,
                    tick=m.tick,
                    levels=m.levels,
                    level_size=m.level_size,
                    funding_rate=m.funding_rate,
                ),
                asset_id=i,
                margin_table=MarginTable.hyperliquid(m.max_leverage),
                leverage=Decimal(min(20, m.max_leverage)),
            )
        )
    return tuple(out)
