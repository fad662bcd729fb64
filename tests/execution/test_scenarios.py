"""The regression scenarios of DESIGN.md, each a scenario file in tests/scenarios plus assertions.

Every run also checks the invariants against the simulated venues' own truth (fills counted
once, ledger = venue, nothing left resting, exposure bounded, positions consistent).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit.clock import run_virtual
from hedgekit.scenario import load_scenario, parse_scenario
from hedgekit.simulate import simulate, simulate_async
from hedgekit.tracking import TrackedState, VenueSession
from hedgekit.venues.sim import SimVenue

SCENARIOS = Path(__file__).parents[1] / "scenarios"
D = Decimal


class Run:
    """A scenario's report plus the venues and sessions it ran on (for deeper checks)."""

    def __init__(self, name: str) -> None:
        self.venues: dict[str, SimVenue] = {}
        self.sessions: dict[str, VenueSession] = {}

        def keep(venues: dict[str, SimVenue], sessions: dict[str, VenueSession]) -> None:
            self.venues, self.sessions = venues, sessions

        scenario = load_scenario(SCENARIOS / name)
        self.report: dict[str, Any] = run_virtual(simulate_async(scenario, on_ready=keep))
        self.result: dict[str, Any] = self.report["result"]

    def leg(self, venue: str) -> dict[str, Any]:
        return next(leg for leg in self.result["legs"] if leg["venue"] == venue)

    def kinds(self) -> list[str]:
        return [i["kind"] for i in self.result["incidents"]]

    def orders(self, venue: str) -> list[Any]:
        tracker = self.sessions[venue].tracker
        return [tracker.order(c) for c in tracker.all_client_ids()]


def _invariants_held(run: Run) -> None:
    failed = {k: v["detail"] for k, v in run.report["invariants"].items() if not v["held"]}
    assert failed == {}


def test_imbalanced_close_reports_dust_and_never_hedges_it() -> None:
    run = Run("imbalanced_close.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "closed"
    assert r["positions_before"] == {"aster": "-2.332", "lighter": "2.311"}
    assert r["positions_after"] == {"aster": "0", "lighter": "0"}
    assert D(r["imbalance"]) == D("0.021")
    assert "dust" in run.kinds()
    assert not {"hedge", "hedge_failed", "rollback", "exposed"} & set(run.kinds())
    # Each leg's orders closed exactly its own position, nothing more.
    assert sum(o.filled for o in run.orders("aster")) == D("2.332")
    assert sum(o.filled for o in run.orders("lighter")) == D("2.311")
    assert all(o.request.reduce_only for v in ("aster", "lighter") for o in run.orders(v))


def test_accumulating_partial_fills_are_recognised_as_one_full_fill() -> None:
    run = Run("accumulating_partial_fills.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "closed"
    assert r["positions_after"] == {"aster": "0", "lighter": "0"}
    lighter = run.leg("lighter")
    sizes = [D(f["size"]) for f in lighter["fills"]]
    cumulative = [sum(sizes[: i + 1]) for i in range(len(sizes))]
    assert cumulative == [
        D(x) for x in ("0.700", "0.930", "1.047", "1.230", "1.424", "2.084", "2.677", "2.983")
    ]
    # No order for a phantom remainder: Lighter's orders add up to exactly its position.
    assert sum(o.request.size for o in run.orders("lighter")) == D("2.983")
    # Aster's passive leg did not fill and fell back to a market (IOC) order.
    aster = run.orders("aster")
    assert aster[-1].request.tif.value == "ioc" and aster[-1].filled == D("2.983")
    assert "rollback" not in run.kinds()


@pytest.mark.parametrize("style", ["hyperliquid", "aster", "lighter"])
def test_post_only_rejection_reprices_at_once(style: str) -> None:
    run = Run(f"post_only_{style}.toml")
    _invariants_held(run)
    assert run.result["status"] == "opened"
    assert "post_only_reject" in run.kinds()
    orders = run.orders("px")
    first, second = orders[0], orders[1]
    assert first.filled == 0
    assert first.state in (TrackedState.REJECTED, TrackedState.EXPIRED, TrackedState.CANCELLED)
    ended = first.history[-1][0]
    placed = second.history[0][0]
    # "At once": the next order leaves as soon as the rejection is known, not after a timeout
    # (the entry timeout is 10 s; one round trip here is 20 ms).
    assert 0 <= placed - ended < 50_000_000
    assert second.request.price < first.request.price  # repriced from the fresh, lower book


def test_one_leg_fills_the_other_never_does_is_hedged_within_the_deadline() -> None:
    run = Run("one_leg_never_fills.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "opened"
    assert D(r["size"]) == D("1.5")
    assert "one_sided_fill" in run.kinds() and "hedge" in run.kinds()
    assert 0 < r["hedge_latency_ns"] < 10 * 10**9
    assert r["exposure_usd_s"] > 0
    assert D(run.leg("hl")["filled"]) == D(run.leg("aster")["filled"]) == D("1.5")


def test_hedge_venue_refusing_everything_rolls_back_with_its_cost() -> None:
    run = Run("hedge_venue_refuses.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "rolled_back"
    assert r["rollback"]["complete"] is True
    assert D(r["rollback"]["cost"]) > 0  # fees and the spread crossed twice
    assert D(run.leg("hl")["net"]) == 0 and D(run.leg("aster")["net"]) == 0
    assert run.kinds()[-1] == "rollback"


def test_cancel_fill_race_and_duplicates_count_each_fill_once() -> None:
    run = Run("cancel_fill_race.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "opened"
    assert run.report["venues"]["aster"]["stats"]["duplicated_events"] > 0
    entry = run.orders("aster")[0]
    assert entry.filled == D("0.6")  # the race fill, counted once despite its duplicate
    hedge = r["hedges"][0]
    assert D(hedge["requested"]) == D("0.9")  # sized from the ledger, not from a counter
    assert D(run.leg("aster")["filled"]) == D("1.5") == D(run.leg("hl")["filled"])


def test_leg_below_a_venue_minimum_is_refused_before_anything_is_placed() -> None:
    run = Run("below_minimum.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "refused"
    assert "below_min_notional" in r["reason"]
    for name in ("hl", "aster"):
        assert run.orders(name) == []
        assert run.report["venues"][name]["fills"] == 0


def test_fill_after_a_placement_timeout_is_counted_hedged_and_not_replaced() -> None:
    run = Run("fill_after_timeout.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "opened"
    hl = run.orders("hl")
    assert len(hl) == 1  # never re-placed
    states = [s for _, s in hl[0].history]
    assert TrackedState.UNCONFIRMED in states and states[-1] is TrackedState.FILLED
    assert hl[0].filled == D("1.5")
    assert D(run.leg("aster")["filled"]) == D("1.5")


def test_dropped_stream_outcome_found_by_status_query_and_pair_hedged() -> None:
    run = Run("stream_dropped.toml")
    _invariants_held(run)
    r = run.result
    assert r["status"] == "opened"
    assert run.report["venues"]["hl"]["stats"]["dropped_events"] > 0
    assert D(run.leg("hl")["filled"]) == D(run.leg("aster")["filled"]) == D("1.5")


def test_reports_are_json_serialisable_and_seeded_runs_repeat() -> None:
    import json

    a = simulate(SCENARIOS / "cancel_fill_race.toml")
    b = simulate(SCENARIOS / "cancel_fill_race.toml")
    assert json.loads(json.dumps(a)) == a
    assert a == b


def test_an_open_one_venue_cannot_margin_is_refused_with_nothing_placed() -> None:
    run = Run("margin_refused.toml")
    _invariants_held(run)
    assert run.result["status"] == "refused"
    assert run.result["reason"].startswith("aster margin: equity 3")
    # The venues' own books: no order of ours ever reached either.
    for name, venue in run.venues.items():
        assert venue.engine.orders() == [], name
        assert run.orders(name) == [], name


@pytest.mark.parametrize(
    ("budget_bps", "opened", "pauses"), [("3", "1.125", 2), ("6", "1.5", 1), ("10", "1.5", 0)]
)
def test_a_taker_open_on_a_thin_book_works_it_in_children_on_both_legs_together(
    budget_bps: str, opened: str, pauses: int
) -> None:
    # Both books hold 0.5 a level, 1 apart (4.2 bps): within a small slippage budget the pair of
    # 1.5 is taken in children, each pair of them sent on both legs together, a refill pause
    # between (the first fill does not stop them: every leg takes). What the budget holds once
    # the children are done is what the open gets (3 bps: the last child finds 0.125 a side);
    # both legs hold what the venues filled, equal and opposite. The open ends with its last
    # child's answer (a 30 ms round trip), never a refill pause after it.
    data = tomllib.loads((SCENARIOS / "frontier_clean.toml").read_text())
    for venue in data["venues"]:
        venue["market"].update(level_size="0.5", levels=10, tick="1", walk_interval_ms=100)
    data["operation"]["config"]["slippage_budget_bps"] = budget_bps
    seen: dict[str, SimVenue] = {}

    def keep(venues: dict[str, SimVenue], sessions: dict[str, VenueSession]) -> None:
        seen.update(venues)

    report = run_virtual(simulate_async(parse_scenario(data), on_ready=keep))
    result = report["result"]
    assert result["status"] == ("opened" if opened == "1.5" else "partial")
    assert seen["a"].engine.position("ETHUSDT") == D(opened)
    assert seen["b"].engine.position("ETHUSDT") == -D(opened)
    took_ns = result["ended_ns"] - result["started_ns"]
    assert pauses * 200_000_000 <= took_ns <= pauses * 200_000_000 + 100_000_000
