"""The collateral rebalancing planner: conservation, targets kept, infeasibility reported."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk import (
    Account,
    MarginTable,
    PositionState,
    Route,
    VenueTarget,
    plan_rebalance,
)


def test_one_deficit_from_the_cheapest_route() -> None:
    targets = [
        VenueTarget.free_collateral("hl", D(10000), D(4000), D(1000)),  # surplus 5000
        VenueTarget.free_collateral("aster", D(1000), D(3000), D(500)),  # deficit 2500
        VenueTarget("lighter", D(9000), D(2000)),  # surplus 7000
    ]
    routes = [
        Route("hl", "aster", D(1), expected_wait_s=300),
        Route("lighter", "aster", D("0.5"), expected_wait_s=600),
    ]
    plan = plan_rebalance(targets, routes)
    assert plan.feasible and not plan.shortfalls
    (t,) = plan.transfers
    assert (t.from_venue, t.to_venue, t.amount, t.cost, t.wait_s) == (
        "lighter",
        "aster",
        D("2500.5"),
        D("0.5"),
        600,
    )
    assert t.received == 2500
    assert plan.after == {"hl": 10000, "aster": 3500, "lighter": D("6499.5")}
    assert plan.total_cost == D("0.5") and plan.wait_s == 600


def test_partial_transfers_then_a_shortfall() -> None:
    targets = [
        VenueTarget("a", D(100), D(0)),
        VenueTarget("b", D(50), D(0)),
        VenueTarget("c", D(0), D(500)),
    ]
    routes = [Route("a", "c", D(1)), Route("b", "c", D(2))]
    plan = plan_rebalance(targets, routes)
    assert not plan.feasible
    assert [(t.from_venue, t.amount) for t in plan.transfers] == [("a", D(100)), ("b", D(50))]
    assert plan.shortfalls == {"c": D(500) - 99 - 48}
    assert plan.after["a"] == plan.after["b"] == 0


def test_min_amount_overfunds_rather_than_fails() -> None:
    targets = [VenueTarget("a", D(1000), D(0)), VenueTarget("b", D(0), D(10))]
    plan = plan_rebalance(targets, [Route("a", "b", D(1), min_amount=D(100))])
    (t,) = plan.transfers
    assert t.amount == 100 and plan.after["b"] == 99 and plan.feasible
    # a source whose whole surplus is below the route's minimum cannot use it
    poor = [VenueTarget("a", D(50), D(0)), VenueTarget("b", D(0), D(10))]
    plan = plan_rebalance(poor, [Route("a", "b", D(1), min_amount=D(100))])
    assert plan.transfers == () and plan.shortfalls == {"b": 10}


def test_no_route_and_fee_eating_the_surplus() -> None:
    targets = [VenueTarget("a", D(1000), D(0)), VenueTarget("b", D(0), D(10))]
    assert plan_rebalance(targets, []).shortfalls == {"b": 10}
    tiny = [VenueTarget("a", D(1), D(0)), VenueTarget("b", D(0), D(10))]
    assert plan_rebalance(tiny, [Route("a", "b", D(1))]).transfers == ()


def test_a_receiving_venue_never_forwards() -> None:
    # "b" is overfunded by a minimum; it must not pass that on within the same plan
    targets = [
        VenueTarget("a", D(1000), D(0)),
        VenueTarget("b", D(0), D(10)),
        VenueTarget("c", D(0), D(5)),
    ]
    routes = [Route("a", "b", D(0), min_amount=D(500)), Route("b", "c", D(0))]
    plan = plan_rebalance(targets, routes)
    assert all(t.from_venue == "a" for t in plan.transfers)
    assert plan.shortfalls == {"c": 5}


def test_distance_target_through_the_margin_model() -> None:
    table = MarginTable.hyperliquid(40)
    account = Account(
        D(1000), {"BTC": PositionState(D(1), D(50000), D(50000), D(10))}, {"BTC": table}
    )
    t = VenueTarget.liquidation_distance("hl", account, D("0.2"))
    # distance 20% means equity == maintenance at 40,000: C - 10,000 == 500, so C = 10,500 —
    # but the initial margin (5,000 at 10x) is also required, so the larger one stands
    assert t.required == 10500 and t.surplus == -9500
    t2 = VenueTarget.liquidation_distance("hl", account, D("0.01"), free=D(100))
    assert t2.required == 5100


def test_validation() -> None:
    with pytest.raises(InvalidArgumentError, match="two venues"):
        Route("a", "a", D(0))
    with pytest.raises(InvalidArgumentError, match="fee must not be negative"):
        Route("a", "b", D(-1))
    with pytest.raises(InvalidArgumentError, match="collateral must not be negative"):
        VenueTarget("a", D(-1), D(0))
    with pytest.raises(InvalidArgumentError, match="two targets for venue 'a'"):
        plan_rebalance([VenueTarget("a", D(1), D(0)), VenueTarget("a", D(1), D(0))], [])


venues = ["v0", "v1", "v2", "v3", "v4"]
amounts = st.integers(0, 10**6).map(lambda n: D(n).scaleb(-2))


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[VenueTarget], list[Route]]:
    names = venues[: draw(st.integers(2, 5))]
    targets = [VenueTarget(v, draw(amounts), draw(amounts)) for v in names]
    routes = [
        Route(
            a,
            b,
            draw(st.integers(0, 500).map(lambda n: D(n).scaleb(-2))),
            draw(st.one_of(st.just(D(0)), amounts)),
            draw(st.integers(0, 3600)),
        )
        for a in names
        for b in names
        if a != b and draw(st.booleans())
    ]
    return targets, routes


@given(problems())
def test_plan_properties(problem: tuple[list[VenueTarget], list[Route]]) -> None:
    targets, routes = problem
    plan = plan_rebalance(targets, routes)
    before = {t.venue: t.collateral for t in targets}
    required = {t.venue: t.required for t in targets}
    # conservation: what leaves = what arrives + fees, venue by venue and in total
    sent = sum((t.amount for t in plan.transfers), D(0))
    received = sum((t.received for t in plan.transfers), D(0))
    assert sent == received + plan.total_cost
    assert sum(before.values()) - sum(plan.after.values()) == plan.total_cost
    for v, held in before.items():
        out = sum((t.amount for t in plan.transfers if t.from_venue == v), D(0))
        inn = sum((t.received for t in plan.transfers if t.to_venue == v), D(0))
        assert plan.after[v] == held - out + inn
    # no venue pushed below its own target; a venue that sends was above it
    for t in plan.transfers:
        assert plan.after[t.from_venue] >= required[t.from_venue]
        assert t.amount > t.cost and t.amount > 0
        route_ok = any(
            r.from_venue == t.from_venue
            and r.to_venue == t.to_venue
            and r.fee == t.cost
            and t.amount >= r.min_amount
            for r in routes
        )
        assert route_ok
    # shortfalls are exactly the venues still below target, by the exact amount
    assert dict(plan.shortfalls) == {
        v: required[v] - plan.after[v] for v in before if plan.after[v] < required[v]
    }
    assert plan.feasible == (not plan.shortfalls)


@given(st.lists(st.tuples(amounts, amounts), min_size=2, max_size=5))
def test_free_complete_routes_are_feasible_exactly_when_the_totals_allow(
    rows: list[tuple[D, D]],
) -> None:
    targets = [VenueTarget(f"v{i}", c, r) for i, (c, r) in enumerate(rows)]
    names = [t.venue for t in targets]
    routes = [Route(a, b, D(0)) for a in names for b in names if a != b]
    plan = plan_rebalance(targets, routes)
    total_surplus = sum((max(t.surplus, D(0)) for t in targets), D(0))
    total_deficit = sum((max(-t.surplus, D(0)) for t in targets), D(0))
    assert plan.feasible == (total_surplus >= total_deficit)
    if not plan.feasible:
        assert sum(plan.shortfalls.values(), D(0)) == total_deficit - total_surplus
