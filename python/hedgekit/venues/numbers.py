"""What every live adapter does the same way with numbers and answers: a venue's number read as
an exact ``Decimal``, a ``Decimal`` written as the venue wants it, and a status report read as
the result of a cancel the venue did not explain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgekit._core import Instrument
from hedgekit.model import CancelResult, OrderStatus, OrderStatusReport, Side

__all__ = ["cancel_result_from", "dec", "decimal_str", "protection_price"]


def protection_price(rules: Instrument, side: Side, mid: Decimal, slippage: Decimal) -> Decimal:
    """The worst price a market order sent without one accepts: the mid moved ``slippage`` (a
    fraction) against us, rounded onto the grid away from the mid (a buy up, a sell down)."""
    factor = 1 + slippage if side is Side.BUY else 1 - slippage
    return rules.round_price(mid * factor, side.value, aggressive=True)


def dec(x: Any) -> Decimal:
    """A venue number (a string, or an int) as an exact Decimal.

    Raises:
        ValueError: A float (it would not be exact).
    """
    if isinstance(x, float):
        raise ValueError(f"a float where an exact number was expected: {x!r}")
    return Decimal(str(x))


def decimal_str(x: Decimal) -> str:
    """A price or size as venues want it signed: plain digits, no exponent, no trailing
    zeros (``Decimal("1670.10")`` → ``"1670.1"``, ``Decimal("1E+2")`` → ``"100"``).

    Raises:
        ValueError: A value that is not a finite Decimal.
    """
    if not isinstance(x, Decimal) or not x.is_finite():
        raise ValueError(f"expected a finite Decimal, got {x!r}")
    text = format(x, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def cancel_result_from(report: OrderStatusReport, *, cancelled_by_us: bool) -> CancelResult:
    """The result of a cancel, read from the order's status queried after it: filled (the fill
    is on its way), cancelled (by this cancel, or before it), or still live (the cancel
    failed)."""
    if report.status is OrderStatus.FILLED:
        return CancelResult.ALREADY_FILLED
    if report.status.is_terminal:
        return CancelResult.CANCELLED if cancelled_by_us else CancelResult.ALREADY_CANCELLED
    return CancelResult.FAILED
