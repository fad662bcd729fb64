"""Closes on thin and empty books, as scenario files in tests/scenarios: the outcome is judged by
the simulated venues' own records (the report's invariants and final positions), then by the
result.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekit.clock import run_virtual
from hedgekit.scenario import load_scenario
from hedgekit.simulate import simulate_async
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

SCENARIOS = Path(__file__).parents[1] / "scenarios"
D = Decimal


def run(name: str) -> tuple[dict[str, Any], dict[str, VenueSession]]:
    kept: dict[str, VenueSession] = {}

    def keep(_venues: dict[str, SimVenue], sessions: dict[str, VenueSession]) -> None:
        kept.update(sessions)

    report: dict[str, Any] = run_virtual(
        simulate_async(load_scenario(SCENARIOS / name), on_ready=keep)
    )
    return report, kept


def failed_invariants(report: dict[str, Any]) -> dict[str, str]:
    return {k: v["detail"] for k, v in report["invariants"].items() if not v["held"]}


def test_a_close_on_thin_books_keeps_taking_the_refilled_book_until_flat() -> None:
    report, sessions = run("close_thin_book.toml")
    assert failed_invariants(report) == {}
    assert {n: D(v["position"]) for n, v in report["venues"].items()} == {"hl": D(0), "aster": D(0)}
    r = report["result"]
    assert r["status"] == "closed" and r["phase"] == "phase2"
    assert r["positions_after"] == {"hl": "0", "aster": "0"}
    assert report["virtual_s"] < 10  # well within the 20 s deadline
    for name in ("hl", "aster"):
        tracker = sessions[name].tracker
        orders = [tracker.order(c) for c in tracker.all_client_ids()]
        assert all(o.request.reduce_only for o in orders)
        iocs = [o for o in orders if o.request.tif.value == "ioc"]
        assert len(iocs) >= 4  # 11.83 against 3 a refill
        assert sum(o.filled for o in orders) == D("11.83")


def test_a_lone_leg_on_an_empty_book_is_closed_when_the_book_returns() -> None:
    report, _sessions = run("close_empty_book.toml")
    assert failed_invariants(report) == {}
    assert D(report["venues"]["hl"]["position"]) == 0
    r = report["result"]
    assert r["status"] == "closed" and r["phase"] == "emergency"
    assert "hl" not in r["dust"]
    assert report["virtual_s"] >= 3  # it waited for the book (back at 4 s, the close began at 1 s)
