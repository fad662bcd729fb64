"""ccxt's numbers made exact: a float or string from ccxt read as ``Decimal(str(x))`` and held
to the market's precision grid, instrument rules from a ccxt market in each of ccxt's precision
modes, and a ``Decimal`` written as the string ccxt sends.

No ccxt import: the three precision modes are ccxt's constants, repeated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hedgekit._core import Instrument
from hedgekit.errors import ConversionError
from hedgekit.venues.numbers import decimal_str

__all__ = [
    "DECIMAL_PLACES",
    "SIGNIFICANT_DIGITS",
    "TICK_SIZE",
    "exact",
    "grid_of",
    "instrument_rules",
    "on_grid",
    "significant_digits",
    "to_wire",
]

DECIMAL_PLACES = 2
"""ccxt's ``DECIMAL_PLACES``: a precision is a count of decimals (``2`` → a 0.01 grid)."""
SIGNIFICANT_DIGITS = 3
"""ccxt's ``SIGNIFICANT_DIGITS``: a precision is a count of significant figures."""
TICK_SIZE = 4
"""ccxt's ``TICK_SIZE``: a precision is the grid's spacing itself (``0.01``)."""

_MODES = (DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE)
_REPAIR = Decimal("1e-6")  # a value this close to the grid (in grid units) is a float artefact
_RELATIVE = Decimal("1e-12")  # the same for significant figures, relative to the value


def exact(x: Any, what: str = "number") -> Decimal:
    """A number from ccxt as an exact Decimal: ``Decimal(str(x))`` (a float's shortest repr is
    the decimal the exchange sent), never ``Decimal(float)``.

    Raises:
        hedgekit.errors.ConversionError: ``None``, a bool, NaN, an infinity or text that is not
            a number.
    """
    if x is None or isinstance(x, bool):
        raise ConversionError(f"{what}: expected a number, got {x!r}", repr(x)[:64], "not_a_number")
    if isinstance(x, Decimal):
        d = x
    else:
        try:
            d = Decimal(str(x))
        except (InvalidOperation, ValueError) as exc:
            raise ConversionError(
                f"{what}: not a number: {x!r}", repr(x)[:64], "not_a_number"
            ) from exc
    if not d.is_finite():
        raise ConversionError(f"{what}: not finite: {x!r}", repr(x)[:64], "not_finite")
    return d


def grid_of(mode: int, precision: Any) -> Decimal | None:
    """The grid spacing a ccxt precision stands for: the tick itself (``TICK_SIZE``),
    ``10**-n`` (``DECIMAL_PLACES``), ``None`` for ``SIGNIFICANT_DIGITS`` (no fixed grid).

    Raises:
        hedgekit.errors.ConversionError: An unknown mode, or a precision that is not one.
    """
    if mode not in _MODES:
        raise ConversionError(f"unknown ccxt precision mode {mode!r}", repr(mode), "mode")
    if mode == SIGNIFICANT_DIGITS:
        return None
    p = exact(precision, "precision")
    if mode == TICK_SIZE:
        if p <= 0:
            raise ConversionError(f"a tick must be positive, got {p}", str(p), "precision")
        return p
    if p != p.to_integral_value():
        raise ConversionError(f"a count of decimals must be whole, got {p}", str(p), "precision")
    return Decimal(1).scaleb(-int(p))


def significant_digits(d: Decimal) -> int:
    """How many significant figures ``d`` has (trailing zeros of an integer part count as
    placeholders, not figures: ``3000`` has 1, ``3000.5`` has 5)."""
    if d == 0:
        return 0
    return len(d.normalize().as_tuple().digits)


def on_grid(x: Any, mode: int, precision: Any, what: str = "number") -> Decimal:
    """``x`` from ccxt as an exact Decimal on the market's grid (see :func:`exact`).

    A value within a millionth of a grid step of the grid (in significant-figure mode, within
    1e-12 of itself) is a float artefact of ccxt's own arithmetic (``0.30000000000000004``) and
    is put back on it; anything further off is not a number this market can hold.

    Raises:
        hedgekit.errors.ConversionError: Not a number, or off the grid (``reason="off_grid"``).
    """
    d = exact(x, what)
    if mode == SIGNIFICANT_DIGITS:
        n = int(exact(precision, "precision"))
        if significant_digits(d) <= n:
            return d
        rounded = Decimal(f"{d:.{n}g}")
        if abs(d - rounded) <= abs(d) * _RELATIVE:
            return rounded
        raise ConversionError(
            f"{what} {d} has more than {n} significant figures", str(d)[:64], "off_grid"
        )
    grid = grid_of(mode, precision)
    assert grid is not None
    steps = d / grid
    whole = steps.to_integral_value()
    if steps == whole:
        return d
    if abs(steps - whole) <= _REPAIR:
        return (whole * grid).normalize() if whole else Decimal(0)
    raise ConversionError(f"{what} {d} is off the grid {grid}", str(d)[:64], "off_grid")


def to_wire(d: Decimal) -> str:
    """A price or size as the string ccxt sends: plain digits, no exponent, no trailing zeros
    (the same text for every exact Decimal of one value).

    Raises:
        ValueError: Not a finite Decimal.
    """
    return decimal_str(d)


def instrument_rules(
    market: Mapping[str, Any], mode: int, *, significant_prices: bool = False
) -> Instrument:
    """The order rules of a ccxt market (``load_markets()``'s ``precision`` and ``limits``).

    ``significant_prices``: prices follow Hyperliquid's rule (at most 5 significant figures and
    ``6 - szDecimals`` decimals), whatever ccxt's price precision says:
    :meth:`~hedgekit.Instrument.hyperliquid` from the amount grid's decimals.

    Raises:
        hedgekit.errors.ConversionError: A precision that is missing or not a grid, or a market
            in ``SIGNIFICANT_DIGITS`` mode without Hyperliquid's price rule (no fixed grid to
            check prices against).
    """
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    min_qty = _limit(limits, "amount")
    min_notional = _limit(limits, "cost")
    if significant_prices:
        step = grid_of(mode, precision.get("amount"))
        if step is None or step > 1:
            raise ConversionError(
                f"{market.get('symbol')}: no size grid for Hyperliquid's rule",
                repr(precision.get("amount")),
                "precision",
            )
        sz_decimals = max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]
        return Instrument.hyperliquid(sz_decimals, min_notional=min_notional)
    tick = grid_of(mode, precision.get("price"))
    step = grid_of(mode, precision.get("amount"))
    if tick is None or step is None:
        raise ConversionError(
            f"{market.get('symbol')}: significant-figure precision has no fixed grid",
            repr(precision),
            "precision",
        )
    return Instrument.plain(tick, step, min_qty, min_notional, None, False)


def _limit(limits: Mapping[str, Any], key: str) -> Decimal:
    value = (limits.get(key) or {}).get("min")
    return Decimal(0) if value is None else exact(value, f"limits.{key}.min")
