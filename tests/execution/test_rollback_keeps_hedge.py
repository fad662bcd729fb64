"""A rollback never leaves the pair more exposed than it found it.

In ``rollback_stuck_leg.json`` (a fault-sweep seed) an entry and an immediate hedge on Aster were
both lost in flight and both filled: Aster holds 217 against Hyperliquid's 96 on a pair of 121,
and then Aster's book is emptied for good by outside trades (a still market that never refills).
Nothing can be sold on Aster. The rollback used to flatten Hyperliquid anyway, leaving Aster's 217
naked; it now unwinds the unhedged excess first and takes no hedge away from a leg that cannot be
unwound. Judged by the simulated venues' own positions.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hedgekit.simulate import simulate

SCENARIO = Path(__file__).parents[1] / "scenarios" / "rollback_stuck_leg.json"


def test_a_leg_that_cannot_be_unwound_keeps_its_hedge() -> None:
    report = simulate(SCENARIO)
    aster = Decimal(report["venues"]["aster"]["position"])
    hl = Decimal(report["venues"]["hl"]["position"])
    assert aster == 217  # nothing could be sold: the book is empty
    assert hl == -96  # the hedge it had stays on
    assert abs(aster + hl) == 121  # as exposed as before the rollback, not 217
    assert report["result"]["status"] == "exposed"  # and said so
    inv = report["invariants"]
    assert inv["status_truthful"]["held"] and inv["positions_match"]["held"]
    assert inv["fills_counted_once"]["held"] and inv["no_resting_orders"]["held"]
