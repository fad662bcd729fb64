"""The risk package's public surface: every exported name, method and property is documented,
and no float reaches a result."""

from __future__ import annotations

import inspect
from decimal import Decimal as D

import hedgekit.risk as risk
from hedgekit.risk import (
    Account,
    FundingSchedule,
    MarginTable,
    PositionState,
    Route,
    VenueTarget,
    payments,
    plan_rebalance,
)


def test_every_public_item_has_a_docstring() -> None:
    missing: list[str] = []
    for name in risk.__all__:
        obj = getattr(risk, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                target = member.fget if isinstance(member, property) else member
                if isinstance(target, classmethod | staticmethod):
                    target = target.__func__
                if callable(target) and not (getattr(target, "__doc__", None) or "").strip():
                    missing.append(f"{name}.{attr}")
    assert not missing, f"undocumented: {missing}"


def test_results_are_decimals_never_floats() -> None:
    t = MarginTable.hyperliquid(20)
    a = Account(D(1000), {"X": PositionState(D(3), D(7), D("6.5"), D(3))}, {"X": t})
    values = [
        a.equity,
        a.initial_margin,
        a.maintenance_margin,
        a.available,
        a.margin_ratio,
        a.liquidation_price("X"),
        a.collateral_for_distance(D("0.1")),
    ]
    values += [
        p.amount
        for p in payments(FundingSchedule.hyperliquid(), D(1), D("0.0001"), D(3), 0, 10**13)
    ]
    plan = plan_rebalance(
        [VenueTarget("a", D(10), D(0)), VenueTarget("b", D(0), D(3))], [Route("a", "b", D(1))]
    )
    values += [plan.total_cost, *plan.after.values(), *(t.amount for t in plan.transfers)]
    assert all(isinstance(v, D) for v in values if v is not None)
