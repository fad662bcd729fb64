"""Seeds the fault sweep once found breaking the guarantee, kept as scenario files: each ran with a
result that disagreed with the venues (a fill on an order still in doubt counted nowhere, a
cancelled order whose racing fills were never read, an order left resting, a leg past the pair
size). Every invariant must hold on each, judged by the simulated venues' own records."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgekit.simulate import simulate

SWEEP = Path(__file__).parent / "scenarios" / "sweep"


@pytest.mark.parametrize("path", sorted(SWEEP.glob("*.json")), ids=lambda p: p.stem)
def test_a_seed_the_sweep_once_broke_keeps_every_invariant(path: Path) -> None:
    report = simulate(path)
    failed = {k: v["detail"] for k, v in report["invariants"].items() if not v["held"]}
    assert failed == {}
    if report["result"]["unresolved"]:
        assert report["result"]["status"] == "exposed"
