"""hedgekit's numbers do not depend on the thread's decimal context.

Other libraries in a bot's process change it: ccxt's ``decimal_to_precision`` sets the calling
thread's context to ROUND_HALF_UP with the Underflow trap on, for good. An open and a close on
the simulated venues, and the Hyperliquid fake's account figures, come out the same under that
context as under Python's default."""

from __future__ import annotations

import decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit.simulate import simulate

SCENARIOS = Path(__file__).parent / "scenarios"


def _ccxt_like() -> decimal.Context:
    ctx = decimal.Context()
    ctx.rounding = decimal.ROUND_HALF_UP
    ctx.traps[decimal.Underflow] = True
    return ctx


def _under(ctx: decimal.Context, path: Path) -> dict[str, Any]:
    with decimal.localcontext(ctx):
        report = simulate(path)
    report.pop("returned_ns", None)
    return report


@pytest.mark.parametrize(
    "name", ["one_leg_never_fills.toml", "accumulating_partial_fills.toml", "imbalanced_close.toml"]
)
def test_a_run_is_the_same_whatever_the_ambient_rounding(name: str) -> None:
    assert _under(_ccxt_like(), SCENARIOS / name) == _under(decimal.Context(), SCENARIOS / name)


def test_a_tie_is_rounded_to_even_under_any_ambient_context() -> None:
    """The case that differs: a value exactly halfway between two 9-decimal steps."""
    from hedgekit.execution.results import tidy

    tie = decimal.Decimal("0.0000000025")
    with decimal.localcontext(_ccxt_like()):
        assert tidy(tie) == decimal.Decimal("0.000000002")
        assert tidy(-tie) == decimal.Decimal("-0.000000002")
    assert tidy(tie) == decimal.Decimal("0.000000002")
