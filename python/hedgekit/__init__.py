"""hedgekit: atomic multi-venue, delta-neutral order execution with a Rust core.

The public API is what this module exports; ``hedgekit._core`` is an implementation detail.
"""

from __future__ import annotations

from hedgekit import errors
from hedgekit._core import (
    SCALE,
    FillLedger,
    FillStatus,
    Instrument,
    OrderBook,
    RuleKind,
    __version__,
)

__all__ = [
    "SCALE",
    "FillLedger",
    "FillStatus",
    "Instrument",
    "OrderBook",
    "RuleKind",
    "__version__",
    "errors",
]
