"""hedgekit: atomic multi-venue, delta-neutral order execution with a Rust core.

The public API is what this module exports; ``hedgekit._core`` is an implementation detail.
Exact values are ``Decimal`` (``str`` and ``int`` are accepted as input); hot-path APIs named
``*_raw`` take raw fixed-point integers, ``value * 10**SCALE``.
"""

from __future__ import annotations

import logging as _logging
from typing import TYPE_CHECKING, Any

# A library logs and lets the application decide where records go: without a handler configured
# (or the CLI's --log), nothing is printed — not even a contained error's traceback.
_logging.getLogger("hedgekit").addHandler(_logging.NullHandler())

from hedgekit import errors
from hedgekit._core import (
    SCALE,
    FillLedger,
    FillStatus,
    Instrument,
    OrderBook,
    OrderFills,
    SpreadGate,
    __version__,
    break_even_price,
    common_size,
    ladder,
    limit_price,
    maker_price,
    spread_within,
)
from hedgekit.model import (
    AccountState,
    CancelResult,
    Deleverage,
    Fill,
    FundingPayment,
    FundingRate,
    Liquidation,
    Liquidity,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    OrderUpdate,
    Position,
    Side,
    StreamStatus,
    TimeInForce,
)

if TYPE_CHECKING:
    from hedgekit.runner import Runner


def __getattr__(name: str) -> Any:
    # ``hedgekit.Runner`` brings the executors, sessions and venues with it (about 140 ms of
    # imports): loaded when first used, so that ``import hedgekit`` stays light.
    if name == "Runner":
        from hedgekit.runner import Runner

        globals()["Runner"] = Runner  # found directly from now on
        return Runner
    raise AttributeError(f"module 'hedgekit' has no attribute {name!r}")


__all__ = [
    "SCALE",
    "Runner",
    "AccountState",
    "CancelResult",
    "Deleverage",
    "Fill",
    "FundingPayment",
    "FundingRate",
    "Liquidation",
    "Liquidity",
    "OrderAck",
    "OrderRequest",
    "OrderStatus",
    "OrderStatusReport",
    "OrderType",
    "OrderUpdate",
    "Position",
    "Side",
    "StreamStatus",
    "TimeInForce",
    "FillLedger",
    "FillStatus",
    "Instrument",
    "OrderBook",
    "OrderFills",
    "SpreadGate",
    "__version__",
    "break_even_price",
    "common_size",
    "errors",
    "ladder",
    "limit_price",
    "maker_price",
    "spread_within",
]
