"""The fake's markets: Lighter perps with integer-scaled prices and sizes (``venues.md`` §3.2).

Each :class:`LighterMarket` becomes one :class:`~hedgekit.venues.sim.SimInstrument` (the core's
:meth:`hedgekit.Instrument.lighter` rules: tick ``10^-price_decimals``, step
``10^-size_decimals``, uint32 prices, Lighter's one-tier margin table) and one
``orderBookDetails`` entry written with the venue's field names. On the wire a price is the
integer ``px x 10^price_decimals`` (uint32) and a size the integer ``sz x 10^size_decimals``;
the read endpoints write human-unit decimal strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import Instrument
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues.sim import MarketConfig, SimInstrument

__all__ = ["DEFAULT_MARKETS", "LighterMarket", "instruments"]


def _fixed(value: Decimal, decimals: int) -> str:
    return format(value.quantize(Decimal(1).scaleb(-decimals)), "f")


@dataclass(frozen=True, slots=True)
class LighterMarket:
    """One perp of the fake.

    Attributes:
        symbol: ``"ETH"`` (also the engine's symbol).
        market_id: The market index (perps 0..254).
        size_decimals: ``size_decimals``: ``base_amount = size x 10^size_decimals``.
        price_decimals: ``price_decimals``: ``price = px x 10^price_decimals``.
        min_base_amount: Smallest order size (human units).
        min_quote_amount: Smallest order value ``size x price`` (human units).
        mid: The outside book's starting mid.
        book_tick: Spacing of the outside book's levels (a multiple of the tick).
        level_size: Outside size at the touch.
        levels: Outside levels per side.
        funding_rate: Hourly funding rate (fraction; positive: longs pay).
        min_imf: ``min_initial_margin_fraction`` (over 10,000; 500 = 20x).
        maintenance_mf: ``maintenance_margin_fraction`` (over 10,000).
        closeout_mf: ``closeout_margin_fraction`` (over 10,000).
    """

    symbol: str
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: Decimal
    min_quote_amount: Decimal
    mid: Decimal
    book_tick: Decimal
    level_size: Decimal = Decimal(5)
    levels: int = 20
    funding_rate: Decimal = Decimal("0.0000125")
    min_imf: int = 500
    maintenance_mf: int = 300
    closeout_mf: int = 200

    def __post_init__(self) -> None:
        if not 0 <= self.market_id <= 254:
            raise ValueError(f"{self.symbol}: a perp market id is 0..254, got {self.market_id}")
        if self.book_tick % self.tick != 0:
            raise ValueError(f"{self.symbol}: the book tick must be a multiple of the tick")

    @property
    def tick(self) -> Decimal:
        """One price unit, ``10^-price_decimals``."""
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def step(self) -> Decimal:
        """One size unit, ``10^-size_decimals``."""
        return Decimal(1).scaleb(-self.size_decimals)

    def price_of(self, units: int) -> Decimal:
        """The price an integer ``Price`` stands for."""
        return Decimal(units).scaleb(-self.price_decimals)

    def size_of(self, units: int) -> Decimal:
        """The size an integer ``BaseAmount`` stands for."""
        return Decimal(units).scaleb(-self.size_decimals)

    def px(self, value: Decimal) -> str:
        """A price as the read endpoints write it (``price_decimals`` decimals)."""
        return _fixed(value, self.price_decimals)

    def sz(self, value: Decimal) -> str:
        """A size as the read endpoints write it (``size_decimals`` decimals)."""
        return _fixed(value, self.size_decimals)

    def detail(self, mark: Decimal, last: Decimal, open_interest: Decimal) -> dict[str, Any]:
        """The market's ``orderBookDetails`` entry."""
        return {
            **self.book_entry(),
            "size_decimals": self.size_decimals,
            "price_decimals": self.price_decimals,
            "quote_multiplier": 1,
            "default_initial_margin_fraction": self.min_imf,
            "min_initial_margin_fraction": self.min_imf,
            "maintenance_margin_fraction": self.maintenance_mf,
            "closeout_margin_fraction": self.closeout_mf,
            "last_trade_price": float(last),
            "daily_trades_count": 0,
            "daily_base_token_volume": 0.0,
            "daily_quote_token_volume": 0.0,
            "daily_price_low": float(last),
            "daily_price_high": float(last),
            "daily_price_change": 0.0,
            "open_interest": float(open_interest),
            "daily_chart": {},
            "strategy_index": 0,
            "multiplier": "1",
            "market_flags": 0,
            "funding_clamp_small": "0.0500",
            "funding_clamp_big": "4.0000",
            "base_interest_rate": "0.0100",
            "mark_price": self.px(mark),
            "index_price": self.px(mark),
        }

    def book_entry(self) -> dict[str, Any]:
        """The market's ``orderBooks`` entry."""
        return {
            "symbol": self.symbol,
            "market_id": self.market_id,
            "market_type": "perp",
            "base_asset_id": 0,
            "quote_asset_id": 0,
            "status": "active",
            "taker_fee": "0.0000",
            "maker_fee": "0.0000",
            "liquidation_fee": "1.0000",
            "min_base_amount": self.sz(self.min_base_amount),
            "min_quote_amount": _fixed(self.min_quote_amount, 6),
            "order_quote_limit": "",
            "supported_size_decimals": self.size_decimals,
            "supported_price_decimals": self.price_decimals,
            "supported_quote_decimals": self.size_decimals + self.price_decimals,
            "is_maker_fee_enabled": False,
            "is_taker_fee_enabled": False,
            "created_at": "1717000000",
        }


DEFAULT_MARKETS: tuple[LighterMarket, ...] = (
    LighterMarket(
        "ETH", 0, 4, 2, Decimal("0.0050"), Decimal(10), Decimal(3000), Decimal("0.10"),
        level_size=Decimal(5),
    ),
    LighterMarket(
        "BTC", 1, 5, 1, Decimal("0.00020"), Decimal(10), Decimal(60000), Decimal("1.0"),
        level_size=Decimal("0.5"),
    ),
    LighterMarket(
        "SOL", 2, 3, 3, Decimal("0.050"), Decimal(10), Decimal(150), Decimal("0.010"),
        level_size=Decimal(100),
    ),
)  # fmt: skip
"""ETH (market 0), BTC (1) and SOL (2), with decimals and minimums of the venue's shape."""


def instruments(markets: Sequence[LighterMarket]) -> tuple[SimInstrument, ...]:
    """The matching engine's instruments for ``markets``."""
    return tuple(
        SimInstrument(
            m.symbol,
            Instrument.lighter(
                m.price_decimals, m.size_decimals, m.min_base_amount, m.min_quote_amount
            ),
            MarketConfig(
                mid=m.mid,
                tick=m.book_tick,
                levels=m.levels,
                level_size=m.level_size,
                funding_rate=m.funding_rate,
            ),
            asset_id=m.market_id,
            margin_table=MarginTable.lighter(m.min_imf, m.maintenance_mf),
            leverage=Decimal(10_000) / m.min_imf,
            funding_interval_s=3600,
        )
        for m in markets
    )
