"""Reference strategies built only on hedgekit's public API.

:mod:`hedgekit.strategies.funding_arb` is the funding-rate arbitrage: long the perpetual on the
venue that pays the lower funding rate, short it on the venue that pays the higher one, opened and
closed as one operation each by :class:`~hedgekit.execution.AtomicExecutor` and
:class:`~hedgekit.execution.CloseExecutor`.
"""

from __future__ import annotations

from hedgekit.strategies.funding_arb import (
    Closed,
    ConfigError,
    FundingArb,
    FundingArbConfig,
    Monitored,
    Opened,
    Opportunity,
    Skipped,
    StrategyEvent,
    StrategyPnL,
    VenuePnL,
)

__all__ = [
    "Closed",
    "ConfigError",
    "FundingArb",
    "FundingArbConfig",
    "Monitored",
    "Opened",
    "Opportunity",
    "Skipped",
    "StrategyEvent",
    "StrategyPnL",
    "VenuePnL",
]
