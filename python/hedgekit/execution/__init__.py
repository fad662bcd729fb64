"""Execution: one order by mode (:class:`OrderExecutor`), a pair opened as one operation
(:class:`AtomicExecutor`), a pair closed maker-first (:class:`CloseExecutor`), and what they need:
liquidity analysis, sizing, slippage and exposure accounting, a circuit breaker."""

from __future__ import annotations

from hedgekit.execution.atomic import AtomicExecutor
from hedgekit.execution.breaker import BreakerConfig, BreakerState, CircuitBreaker
from hedgekit.execution.close import CloseExecutor
from hedgekit.execution.config import (
    AtomicConfig,
    CloseConfig,
    CloseLeg,
    EntryPlan,
    ExecutionMode,
    HedgePricing,
    HedgeTiming,
    LegSpec,
    OrderConfig,
)
from hedgekit.execution.exposure import Exposure, measure_exposure
from hedgekit.execution.kill import (
    KillConfig,
    KillReport,
    KillSwitch,
    LatchState,
    VenueKill,
    read_latch,
    release_latch,
)
from hedgekit.execution.liquidity import (
    LiquidityReport,
    Recommendation,
    SlippageRecord,
    analyze,
    common_leg_size,
    cost_bps_incl_fees,
    is_dust,
    size_for_notional,
    slippage_bps,
    split_sizes,
)
from hedgekit.execution.operation import OperationTap
from hedgekit.execution.order import OrderExecutor, Reference
from hedgekit.execution.results import (
    AtomicResult,
    CloseResult,
    CloseStatus,
    ExecutionResult,
    Incident,
    LegResult,
    OpenStatus,
    Rollback,
)

__all__ = [
    "AtomicConfig",
    "AtomicExecutor",
    "AtomicResult",
    "BreakerConfig",
    "BreakerState",
    "CircuitBreaker",
    "CloseConfig",
    "CloseExecutor",
    "CloseLeg",
    "CloseResult",
    "CloseStatus",
    "EntryPlan",
    "ExecutionMode",
    "ExecutionResult",
    "Exposure",
    "HedgePricing",
    "HedgeTiming",
    "Incident",
    "KillConfig",
    "KillReport",
    "KillSwitch",
    "LatchState",
    "LegResult",
    "LegSpec",
    "LiquidityReport",
    "OpenStatus",
    "OperationTap",
    "OrderConfig",
    "OrderExecutor",
    "Recommendation",
    "Reference",
    "Rollback",
    "SlippageRecord",
    "VenueKill",
    "analyze",
    "common_leg_size",
    "cost_bps_incl_fees",
    "is_dust",
    "measure_exposure",
    "read_latch",
    "release_latch",
    "size_for_notional",
    "slippage_bps",
    "split_sizes",
]
