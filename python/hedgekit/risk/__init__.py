"""Risk across venues: exact, venue-independent building blocks.

- :mod:`~hedgekit.risk.tiers` and :mod:`~hedgekit.risk.margin`: margin tables in each venue's
  convention, a cross-margin :class:`Account` (equity, initial and maintenance margin,
  available, margin ratio, :meth:`~Account.can_open`, liquidation price and distance), a pair's
  liquidation distance and the largest size an account can open.
- :mod:`~hedgekit.risk.funding`: funding schedules, payments and accrual.
- :mod:`~hedgekit.risk.funding_book`: a pair's funding per leg, booked from the venues' own
  payments (each counted once), with the accrued estimate kept apart.
- :mod:`~hedgekit.risk.planner`: collateral rebalancing advice between venues.
- :mod:`~hedgekit.risk.alerts`: alert hooks (callbacks and a webhook), redacted.

Money, prices and sizes are :class:`~decimal.Decimal` (``int`` and decimal ``str`` accepted,
``float`` refused); sums and products are exact, and each quotient is rounded once, in a stated
direction. See ``docs/risk.md``.
"""

from __future__ import annotations

from hedgekit.risk.alerts import ALERT_KINDS, Alert, AlertCallback, AlertHub, AlertKind
from hedgekit.risk.funding import (
    FundingMode,
    FundingPayment,
    FundingSchedule,
    accrued,
    normalise_rate,
    payments,
)
from hedgekit.risk.margin import (
    Account,
    Decision,
    LegDistance,
    PairDistance,
    PositionState,
    Refusal,
    max_size_for,
    pair_liquidation_distance,
)
from hedgekit.risk.planner import Plan, Route, Transfer, VenueTarget, plan_rebalance
from hedgekit.risk.tiers import MarginTable, MarginTier

__all__ = [
    "ALERT_KINDS",
    "Account",
    "Alert",
    "AlertCallback",
    "AlertHub",
    "AlertKind",
    "Decision",
    "FundingMode",
    "FundingPayment",
    "FundingSchedule",
    "LegDistance",
    "MarginTable",
    "MarginTier",
    "PairDistance",
    "Plan",
    "PositionState",
    "Refusal",
    "Route",
    "Transfer",
    "VenueTarget",
    "accrued",
    "max_size_for",
    "normalise_rate",
    "pair_liquidation_distance",
    "payments",
    "plan_rebalance",
]

# The monitors (documented in :mod:`hedgekit.risk.drift` and :mod:`hedgekit.risk.monitor`) act through the executors, which use
# this package's models: imported on first use, so ``hedgekit.execution`` can import
# ``hedgekit.risk.margin`` without a cycle.
_LAZY = {
    "FundingBook": "hedgekit.risk.funding_book",
    "LegFunding": "hedgekit.risk.funding_book",
    "poll_funding": "hedgekit.risk.funding_book",
    "Drift": "hedgekit.risk.drift",
    "DriftConfig": "hedgekit.risk.drift",
    "DriftMonitor": "hedgekit.risk.drift",
    "DriftPolicy": "hedgekit.risk.drift",
    "PairLegs": "hedgekit.risk.drift",
    "Repair": "hedgekit.risk.drift",
    "PairRiskMonitor": "hedgekit.risk.monitor",
    "RiskAction": "hedgekit.risk.monitor",
    "RiskCheck": "hedgekit.risk.monitor",
    "RiskThresholds": "hedgekit.risk.monitor",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hedgekit.risk' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
