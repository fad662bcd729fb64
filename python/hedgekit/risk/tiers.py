"""Margin tiers of one market: the leverage cap and the maintenance requirement by notional.

A tier applies from its ``notional_floor`` up to the next tier's floor (the last one without
end). In a tier the maintenance margin of a position of notional ``n`` is
``n * maintenance_rate - maintenance_amount``; the amount (Binance's ``cum``, Hyperliquid's
"maintenance deduction") makes the requirement a continuous function of the notional, and a
:class:`MarginTable` refuses tiers that would not be continuous, so the requirement is
piecewise linear, continuous and zero at zero.

Three venue conventions build a table: :meth:`MarginTable.hyperliquid`,
:meth:`MarginTable.binance_brackets` (Aster) and :meth:`MarginTable.lighter`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk._exact import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ZERO,
    dec,
    div,
    exact,
    non_negative,
    positive,
)

__all__ = ["MarginTable", "MarginTier"]


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One tier of a margin table.

    Attributes:
        notional_floor: Position notional (quote units) from which the tier applies (≥ 0).
        max_leverage: The highest leverage a position in this tier may use (> 0).
        maintenance_rate: Maintenance margin per unit of notional, in (0, 1), and at most
            ``1 / max_leverage`` (the maintenance requirement never exceeds the initial one).
        maintenance_amount: Subtracted from ``notional * maintenance_rate`` (≥ 0): Binance's
            ``cum``, Hyperliquid's maintenance deduction.

    Raises:
        InvalidArgumentError: A value outside those ranges.
    """

    notional_floor: Decimal
    max_leverage: Decimal
    maintenance_rate: Decimal
    maintenance_amount: Decimal = ZERO

    @exact
    def __post_init__(self) -> None:
        floor = non_negative(self.notional_floor, "notional_floor")
        lev = positive(self.max_leverage, "max_leverage")
        rate = dec(self.maintenance_rate, "maintenance_rate")
        if not 0 < rate < 1:
            raise InvalidArgumentError(f"maintenance_rate must be in (0, 1), got {rate}")
        if rate * lev > 1:
            raise InvalidArgumentError(
                f"maintenance_rate {rate} is above 1/max_leverage (1/{lev}): the maintenance "
                "margin would exceed the initial margin at max leverage"
            )
        amount = non_negative(self.maintenance_amount, "maintenance_amount")
        object.__setattr__(self, "notional_floor", floor)
        object.__setattr__(self, "max_leverage", lev)
        object.__setattr__(self, "maintenance_rate", rate)
        object.__setattr__(self, "maintenance_amount", amount)

    @exact
    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """``notional * maintenance_rate - maintenance_amount`` (exact), for a notional in this
        tier."""
        return notional * self.maintenance_rate - self.maintenance_amount


@dataclass(frozen=True, slots=True)
class MarginTable:
    """The tiers of one market, lowest floor first.

    Args:
        tiers: At least one :class:`MarginTier`; floors strictly ascending from 0, max leverage
            not rising and maintenance rate not falling from one tier to the next; the first
            tier's maintenance amount 0; each later tier's amount the one that keeps the
            requirement continuous at its floor:
            ``amount[n] = amount[n-1] + floor[n] * (rate[n] - rate[n-1])``.

    Raises:
        InvalidArgumentError: Tiers that break one of those rules (the message names the tier
            and, for a discontinuity, the amount that would be continuous).
    """

    tiers: tuple[MarginTier, ...]
    _floors: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)

    @exact
    def __post_init__(self) -> None:
        tiers = tuple(self.tiers)
        if not tiers:
            raise InvalidArgumentError("a margin table needs at least one tier")
        for i, t in enumerate(tiers):
            if not isinstance(t, MarginTier):
                raise InvalidArgumentError(f"tier {i} is a {type(t).__name__}, not a MarginTier")
        if tiers[0].notional_floor != 0:
            raise InvalidArgumentError(
                f"the first tier must start at notional 0, not {tiers[0].notional_floor}"
            )
        if tiers[0].maintenance_amount != 0:
            raise InvalidArgumentError(
                "the first tier's maintenance_amount must be 0 (no position, no requirement), "
                f"got {tiers[0].maintenance_amount}"
            )
        for i in range(1, len(tiers)):
            prev, cur = tiers[i - 1], tiers[i]
            if cur.notional_floor <= prev.notional_floor:
                raise InvalidArgumentError(
                    f"tier floors must ascend strictly: tier {i} starts at {cur.notional_floor}, "
                    f"tier {i - 1} at {prev.notional_floor}"
                )
            if cur.max_leverage > prev.max_leverage or cur.maintenance_rate < prev.maintenance_rate:
                raise InvalidArgumentError(
                    f"tier {i}: max_leverage must not rise and maintenance_rate must not fall "
                    f"with the notional (tier {i - 1}: {prev.max_leverage}x, "
                    f"{prev.maintenance_rate}; tier {i}: {cur.max_leverage}x, "
                    f"{cur.maintenance_rate})"
                )
            want = prev.maintenance_amount + cur.notional_floor * (
                cur.maintenance_rate - prev.maintenance_rate
            )
            if cur.maintenance_amount != want:
                raise InvalidArgumentError(
                    f"tier {i} (floor {cur.notional_floor}): maintenance_amount "
                    f"{cur.maintenance_amount} makes the requirement jump at the floor; "
                    f"the continuous amount is {want}"
                )
        object.__setattr__(self, "tiers", tiers)
        object.__setattr__(self, "_floors", tuple(t.notional_floor for t in tiers))

    # ------------------------------------------------------------------------------ lookups

    def tier_index(self, notional: Decimal) -> int:
        """Index of the tier a position of ``notional`` (≥ 0) is in: the last whose floor is
        at or below it."""
        n = non_negative(notional, "notional")
        return bisect.bisect_right(self._floors, n) - 1

    def tier_for(self, notional: Decimal) -> MarginTier:
        """The tier a position of ``notional`` (≥ 0) is in."""
        return self.tiers[self.tier_index(notional)]

    def max_leverage_at(self, notional: Decimal) -> Decimal:
        """The leverage cap for a position of ``notional``."""
        return self.tier_for(notional).max_leverage

    @exact
    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """The maintenance margin of a position of ``notional`` (exact; 0 at 0)."""
        n = non_negative(notional, "notional")
        return self.tiers[bisect.bisect_right(self._floors, n) - 1].maintenance_margin(n)

    # --------------------------------------------------------------------- venue conventions

    @classmethod
    @exact
    def hyperliquid(
        cls,
        max_leverage: Decimal | int | str,
        tiers: Sequence[tuple[object, object]] | Sequence[Mapping[str, object]] | None = None,
    ) -> MarginTable:
        """Hyperliquid's table: maintenance rate = half the initial rate at max leverage.

        Per tier ``n`` (Hyperliquid docs, "Margin tiers"):
        ``maintenance_rate[n] = 1 / (2 * maxLeverage[n])`` and
        ``maintenance_deduction[n] = maintenance_deduction[n-1] + lowerBound[n] *
        (maintenance_rate[n] - maintenance_rate[n-1])``, ``maintenance_deduction[0] = 0``.
        A rate with no finite decimal expansion (max leverage 3, 6, 7, …) is rounded up at 28
        significant digits (the conservative side).

        Args:
            max_leverage: The asset's ``maxLeverage`` in ``meta.universe``. With ``tiers``, each
                tier's leverage is capped at it (how Hyperliquid combines the two when they
                differ is not documented; the cap is the conservative reading).
            tiers: The asset's ``marginTiers``: ``(lowerBound, maxLeverage)`` pairs or
                ``{"lowerBound": …, "maxLeverage": …}`` mappings, lowest first; ``None`` for a
                single tier (a table id below 50).

        Raises:
            InvalidArgumentError: A bad leverage or tier list.
        """
        cap = positive(max_leverage, "max_leverage")
        rows: list[tuple[Decimal, Decimal]] = []
        if tiers is None:
            rows.append((ZERO, cap))
        else:
            for i, row in enumerate(tiers):
                if isinstance(row, Mapping):
                    try:
                        lower, lev = row["lowerBound"], row["maxLeverage"]
                    except KeyError as exc:
                        raise InvalidArgumentError(
                            f"hyperliquid tier {i} lacks {exc.args[0]!r}"
                        ) from None
                else:
                    lower, lev = row
                rows.append(
                    (
                        non_negative(lower, f"tier {i} lowerBound"),
                        min(positive(lev, f"tier {i} maxLeverage"), cap),
                    )
                )
        out: list[MarginTier] = []
        amount = ZERO
        prev_rate: Decimal | None = None
        for floor, lev in rows:
            rate = div(Decimal(1), 2 * lev, ROUND_CEILING)
            if prev_rate is not None:
                amount = amount + floor * (rate - prev_rate)
            out.append(MarginTier(floor, lev, rate, amount))
            prev_rate = rate
        return cls(tuple(out))

    @classmethod
    @exact
    def binance_brackets(cls, brackets: Iterable[Mapping[str, object]]) -> MarginTable:
        """Aster's (Binance USDⓈ-M's) ``leverageBracket`` brackets.

        Each bracket is a mapping with ``notionalFloor``, ``initialLeverage``,
        ``maintMarginRatio`` and ``cum`` (other keys, such as ``bracket`` and ``notionalCap``,
        are ignored); values as ``Decimal``, ``int`` or ``str`` (parse the JSON with
        ``parse_float=Decimal``: floats are refused). Brackets may come in any order.

        Raises:
            InvalidArgumentError: A missing key, a bad value, or brackets whose ``cum`` is not
                continuous.
        """
        out: list[MarginTier] = []
        for i, b in enumerate(brackets):
            missing = [
                k
                for k in ("notionalFloor", "initialLeverage", "maintMarginRatio", "cum")
                if k not in b
            ]
            if missing:
                raise InvalidArgumentError(f"bracket {i} lacks {', '.join(missing)}")
            out.append(
                MarginTier(
                    dec(b["notionalFloor"], f"bracket {i} notionalFloor"),
                    dec(b["initialLeverage"], f"bracket {i} initialLeverage"),
                    dec(b["maintMarginRatio"], f"bracket {i} maintMarginRatio"),
                    dec(b["cum"], f"bracket {i} cum"),
                )
            )
        out.sort(key=lambda t: t.notional_floor)
        return cls(tuple(out))

    @classmethod
    @exact
    def lighter(cls, initial_fraction: int, maintenance_fraction: int) -> MarginTable:
        """Lighter's single-tier table from ``orderBookDetails`` margin fractions, integers over
        10,000 (``500`` = 5% = 20×).

        Args:
            initial_fraction: The smallest initial margin fraction allowed
                (``min_initial_margin_fraction``): max leverage = 10000 / it, rounded down at 28
                significant digits when it does not divide (the conservative side).
            maintenance_fraction: ``maintenance_margin_fraction``: the maintenance rate is
                it / 10000 (exact).

        Raises:
            InvalidArgumentError: Fractions outside 1..10000, or maintenance above initial.
        """
        for name, v in (
            ("initial_fraction", initial_fraction),
            ("maintenance_fraction", maintenance_fraction),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 10_000:
                raise InvalidArgumentError(f"{name} must be an int in 1..10000, got {v!r}")
        if maintenance_fraction > initial_fraction:
            raise InvalidArgumentError(
                f"maintenance_fraction {maintenance_fraction} is above initial_fraction "
                f"{initial_fraction}"
            )
        if maintenance_fraction == 10_000:
            raise InvalidArgumentError("maintenance_fraction must be below 10000 (rate < 1)")
        lev = div(Decimal(10_000), Decimal(initial_fraction), ROUND_FLOOR)
        rate = Decimal(maintenance_fraction).scaleb(-4)
        return cls((MarginTier(ZERO, lev, rate),))
