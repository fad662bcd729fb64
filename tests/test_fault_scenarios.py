"""The fault scenarios in tests/scenarios/faults: each file makes one injected failure happen
during a real operation. Each test checks, from the simulated venues' own records and counters,
that the failure did happen as described; whether the library then kept every invariant is the
report's business, not these tests'."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit.clock import run_virtual
from hedgekit.model import OrderStatus, TimeInForce
from hedgekit.scenario import load_scenario
from hedgekit.simulate import simulate, simulate_async
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

FAULTS = Path(__file__).parent / "scenarios" / "faults"
D = Decimal
S = 1_000_000_000


class Run:
    """A fault scenario's report with the venues and sessions it ran on."""

    def __init__(self, name: str) -> None:
        self.venues: dict[str, SimVenue] = {}
        self.sessions: dict[str, VenueSession] = {}

        def keep(venues: dict[str, SimVenue], sessions: dict[str, VenueSession]) -> None:
            self.venues, self.sessions = venues, sessions

        self.report: dict[str, Any] = run_virtual(
            simulate_async(load_scenario(FAULTS / name), on_ready=keep)
        )

    def stats(self, venue: str) -> dict[str, int]:
        return self.report["venues"][venue]["stats"]  # type: ignore[no-any-return]

    def sent(self, venue: str) -> dict[str, TimeInForce]:
        """Client id → time in force of every order the library sent to ``venue``."""
        tracker = self.sessions[venue].tracker
        return {cid: tracker.order(cid).request.tif for cid in tracker.all_client_ids()}


TESTED = {
    "reject_post_only.toml",
    "lose_place_answer.toml",
    "lose_cancel_request.toml",
    "shared_trade_id.toml",
    "lost_hedge_cancel.toml",
    "modify_new_id.toml",
    "positions_outage.toml",
    "cancel_outage_reprice.toml",
    "fill_processing_errors.toml",
}


def test_every_fault_scenario_is_checked_here() -> None:
    assert {p.name for p in FAULTS.glob("*.toml")} == TESTED


@pytest.mark.parametrize("name", sorted(TESTED))
def test_every_fault_scenario_reports_every_invariant_and_repeats_for_its_seed(name: str) -> None:
    run = Run(name)
    assert set(run.report["invariants"]) >= {
        "status_truthful",
        "no_leg_above_pair_size",
        "fills_counted_once",
    }
    assert Run(name).report == run.report
    assert simulate(FAULTS / name, seed=7) == simulate(FAULTS / name, seed=7)


def test_every_post_only_order_is_refused() -> None:
    run = Run("reject_post_only.toml")
    engine = run.venues["aster"].engine
    sent = run.sent("aster")
    post_only = [cid for cid, tif in sent.items() if tif is TimeInForce.POST_ONLY]
    assert len(post_only) >= 2  # the entry, repriced, and the hedge's post-only step
    assert run.stats("aster")["post_only_refused"] == len(post_only)
    for cid in post_only:
        (truth,) = engine.client_orders("ETHUSDT", cid)
        assert truth.status is OrderStatus.EXPIRED and truth.filled == 0, cid
    # Whatever filled on aster was not post-only; hl's post-only entry was not touched.
    assert all(sent[f.client_id] is not TimeInForce.POST_ONLY for f in engine.fills())
    assert run.stats("hl")["post_only_refused"] == 0
    assert run.venues["hl"].engine.orders()[0].status is OrderStatus.FILLED


def test_the_first_placement_answer_is_lost_and_the_order_exists() -> None:
    run = Run("lose_place_answer.toml")
    assert run.stats("hl")["lost_responses"] == 1 and run.stats("hl")["lost_requests"] == 0
    first = run.venues["hl"].engine.orders()[0]
    assert first.status is OrderStatus.FILLED and first.filled == D("1.5")  # it existed and traded


def test_the_first_cancel_request_is_lost_and_the_order_keeps_resting() -> None:
    run = Run("lose_cancel_request.toml")
    assert run.stats("aster")["lost_requests"] == 1 and run.stats("aster")["lost_responses"] == 0
    entry = run.venues["aster"].engine.orders()[0]
    # The cancel never arrived: the entry was still resting when the outside buyer came at 2 s,
    # after the cancel had been sent (hl's fill at 1.5 s triggered it).
    assert entry.status is OrderStatus.FILLED
    assert [f.ts_ns - run.venues["aster"].start_ns for f in entry.fills] == [2 * S]


def _one_order_at_a_time(run: Run, venue: str, at_ns: int) -> None:
    """The venue's truth: the outside trade at ``at_ns`` filled at most one of our orders, and no
    leg ever moved further than the pair size (a second order resting beside one whose cancel
    was lost would have been filled too)."""
    v = run.venues[venue]
    hit = {f.venue_order_id for f in v.engine.fills() if f.ts_ns - v.start_ns == at_ns}
    assert len(hit) <= 1
    assert run.report["invariants"]["no_leg_above_pair_size"]["held"]
    failed = {k: i["detail"] for k, i in run.report["invariants"].items() if not i["held"]}
    assert failed == {}


def test_a_lost_cancel_never_leaves_two_orders_for_one_shared_trade() -> None:
    """Trades reported with one id for several fills, and the cancel of the hedge's first step
    lost: the next step is not sized until the first is gone, so one outside trade cannot fill
    two of our orders (the one-trade-id mechanics themselves are tested on the engine)."""
    run = Run("shared_trade_id.toml")
    assert run.stats("aster")["lost_requests"] == 1
    _one_order_at_a_time(run, "aster", 1_900_000_000)


def test_a_lost_hedge_step_cancel_does_not_double_the_hedge() -> None:
    run = Run("lost_hedge_cancel.toml")
    assert run.stats("aster")["lost_requests"] == 1
    _one_order_at_a_time(run, "aster", 1_900_000_000)


def test_modify_answers_with_a_new_order_id_and_the_old_one_reads_cancelled() -> None:
    run = Run("modify_new_id.toml")
    assert run.stats("hl")["replaced_orders"] >= 1
    engine = run.venues["hl"].engine
    first, second = engine.client_orders("ETH", engine.orders()[0].client_id)
    assert first.venue_order_id != second.venue_order_id
    assert engine.replaced_by(first.venue_order_id) == second.venue_order_id
    assert first.status is OrderStatus.CANCELLED and first.filled == D("0.5")
    assert (
        second.status is OrderStatus.FILLED
        and second.size == D("1.0")
        and second.filled == D("1.0")
    )
    assert {f.venue_order_id for f in second.fills} == {second.venue_order_id}
    assert first.price != second.price  # repriced


def test_only_the_positions_endpoint_is_down() -> None:
    run = Run("positions_outage.toml")
    assert run.stats("aster")["outage_refusals"] >= 1
    assert run.stats("hl")["outage_refusals"] == 0
    # The order endpoints of the same venue worked meanwhile.
    assert run.venues["aster"].engine.orders()


def test_a_cancel_refused_by_an_outage_is_retried_before_the_entry_is_replaced() -> None:
    """hl's cancel endpoint answers 503 while the entry is repriced: the replacement is not
    placed beside the old order, so the sweep at 2.5 s cannot fill two entries."""
    run = Run("cancel_outage_reprice.toml")
    assert run.stats("hl")["outage_refusals"] >= 1 and run.stats("aster")["outage_refusals"] == 0
    _one_order_at_a_time(run, "hl", 2_500_000_000)


def test_fill_processing_raises_once_for_each_of_the_first_fills(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="hedgekit.tracking"):
        run = Run("fill_processing_errors.toml")
    for venue in ("hl", "aster"):
        assert len(run.venues[venue].engine.fills()) >= 2
        assert run.stats(venue)["fill_processing_errors"] == 2
    raised = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert len(raised) == 4
