"""Exact decimal arithmetic for the risk models: sums and products never round, a quotient rounds
once, at :data:`QUOTIENT_DIGITS` significant digits, in a direction the caller states.

Sums and products run in :data:`EXACT`, a 200-digit context that traps ``Inexact``: a value that
would need rounding raises :class:`decimal.Inexact` instead of silently losing digits. Divisions
go through :func:`div` only, never ``/`` (a non-terminating quotient in a trapping context would
raise).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Final, ParamSpec, TypeVar

from hedgekit.errors import InvalidArgumentError

__all__ = [
    "EXACT",
    "QUOTIENT_DIGITS",
    "ROUND_CEILING",
    "ROUND_FLOOR",
    "ROUND_HALF_EVEN",
    "ZERO",
    "dec",
    "div",
    "exact",
    "non_negative",
    "positive",
]

ZERO: Final = Decimal(0)
QUOTIENT_DIGITS: Final = 28
"""Significant digits a rounded quotient keeps (Python's default decimal precision)."""

EXACT: Final = Context(
    prec=200,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def exact(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Runs ``fn`` in the :data:`EXACT` context (sums and products exact or raising)."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(EXACT):
            return fn(*args, **kwargs)

    return wrapper


def div(a: Decimal, b: Decimal, rounding: str) -> Decimal:
    """``a / b`` rounded once at :data:`QUOTIENT_DIGITS` significant digits with ``rounding``
    (exact whenever the quotient fits)."""
    ctx = Context(
        prec=QUOTIENT_DIGITS,
        rounding=rounding,
        Emax=999_999,
        Emin=-999_999,
        traps=[InvalidOperation, DivisionByZero, Overflow],
    )
    q = ctx.divide(a, b)
    return q if q != 0 else ZERO


def dec(value: object, what: str) -> Decimal:
    """``value`` as a finite :class:`~decimal.Decimal`. A ``Decimal``, an ``int`` or a decimal
    ``str`` is accepted; a ``float`` is refused (it is binary, not the decimal it prints as).

    Raises:
        InvalidArgumentError: Anything else, or a non-finite value.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        hint = " (floats are inexact: pass a Decimal or a str)" if isinstance(value, float) else ""
        raise InvalidArgumentError(
            f"{what} must be a Decimal, int or decimal str, got {type(value).__name__} "
            f"{value!r}{hint}"
        )
    try:
        out = (
            value
            if isinstance(value, Decimal)
            else Decimal(value.strip() if isinstance(value, str) else value)
        )
    except InvalidOperation:
        raise InvalidArgumentError(f"{what} is not a decimal number: {value!r}") from None
    if not out.is_finite():
        raise InvalidArgumentError(f"{what} must be finite, got {value!r}")
    return out


def positive(value: object, what: str) -> Decimal:
    """:func:`dec`, refusing zero and negative values."""
    out = dec(value, what)
    if out <= 0:
        raise InvalidArgumentError(f"{what} must be positive, got {out}")
    return out


def non_negative(value: object, what: str) -> Decimal:
    """:func:`dec`, refusing negative values."""
    out = dec(value, what)
    if out < 0:
        raise InvalidArgumentError(f"{what} must not be negative, got {out}")
    return out
