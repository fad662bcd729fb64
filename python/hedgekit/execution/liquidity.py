"""Liquidity analysis, order sizing and slippage accounting: pure functions and frozen values.

Everything here is a pure function of its arguments: a book, instrument rules, prices, sizes.
Prices, sizes and notionals are exact :class:`~decimal.Decimal`; statistics (bps, scores) are
``float``. Nothing here places an order or reads a clock.

- :func:`analyze` reads a live :class:`~hedgekit.OrderBook` for one order and recommends an
  execution mode (:class:`Recommendation`), with the figures behind the choice
  (:class:`LiquidityReport`).
- :func:`split_sizes` cuts an order too big for the book into valid children.
- :func:`size_for_notional`, :func:`common_leg_size`, :func:`notional` and :func:`is_dust`
  turn USD amounts into sizes that every venue accepts, and say when a remainder is dust.
- :func:`slippage_bps`, :func:`cost_bps_incl_fees` and :class:`SlippageRecord` account for what
  an execution cost, with one sign convention: **positive is a cost** (a buy above the reference,
  a sell below it).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal, localcontext

from hedgekit._core import Instrument, OrderBook, common_size, spread_within
from hedgekit.errors import InvalidOrderError
from hedgekit.model import Side

__all__ = [
    "MARKET_DEPTH_FRACTION",
    "MIN_MARKET_SCORE",
    "LiquidityReport",
    "Recommendation",
    "SlippageRecord",
    "analyze",
    "common_leg_size",
    "cost_bps_incl_fees",
    "is_dust",
    "notional",
    "size_for_notional",
    "slippage_bps",
    "split_sizes",
]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)
_NANO = Decimal("1e-9")

MARKET_DEPTH_FRACTION = Decimal("0.25")
"""An order at most this fraction of the depth within the budget may go to market."""

MIN_MARKET_SCORE = 0.5
"""The default lowest liquidity score at which :func:`analyze` lets an order cross the spread.

For a size the book holds within the budget the score is ``budget / (budget + spread)``, so
0.5 means "the spread is no wider than the slippage budget".
"""


class Recommendation(enum.StrEnum):
    """The execution mode :func:`analyze` recommends for one order.

    The values are the execution modes' names, so a value can be handed to the executor as is;
    ``SPLIT`` and ``AVOID`` are not modes but instructions to the caller.

    Attributes:
        PASSIVE: Rest a maker order, fall back to market on timeout (``limit_with_fallback``).
        AGGRESSIVE: The adaptive ladder (``aggressive_limit``).
        MARKET: Take at once (``market_only``): the book holds the size well within budget.
        SPLIT: The size exceeds the depth within the slippage budget: send children
            (see :func:`split_sizes`).
        AVOID: The book is unusable (empty side, one-sided, crossed) or cannot hold the size.
    """

    PASSIVE = "limit_with_fallback"
    AGGRESSIVE = "aggressive_limit"
    MARKET = "market_only"
    SPLIT = "split"
    AVOID = "avoid"


@dataclass(frozen=True, slots=True)
class LiquidityReport:
    """What one book offers one order, and the mode recommended for it.

    Attributes:
        side: Our order's side (a buy takes the asks).
        size: The size analysed.
        spread_bps: The spread in bps of the mid (negative when crossed), ``None`` unless both
            sides have a level.
        mid: The mid price, ``None`` unless both sides have a level.
        depth_within_budget: The size available on the side we take within the slippage budget
            of the touch (inclusive).
        expected_vwap: The average price a taker of ``size`` would get now (rounded toward the
            worse price), ``None`` for an empty side.
        expected_slippage_bps: That VWAP against the touch, in bps (positive = cost).
        expected_slippage_vs_mid_bps: That VWAP against the mid, in bps (positive = cost).
        complete: True if the book holds the whole size (at any price).
        score: The core's liquidity score in ``[0, 1]`` (see ``OrderBook.liquidity_score``),
            with the slippage budget as its band.
        recommendation: The recommended mode.
        reason: Why, in a few words.
    """

    side: Side
    size: Decimal
    spread_bps: float | None
    mid: Decimal | None
    depth_within_budget: Decimal
    expected_vwap: Decimal | None
    expected_slippage_bps: float | None
    expected_slippage_vs_mid_bps: float | None
    complete: bool
    score: float
    recommendation: Recommendation
    reason: str


def analyze(
    book: OrderBook,
    side: Side,
    size: Decimal,
    *,
    slippage_budget_bps: Decimal,
    max_spread_bps: Decimal | None = None,
    min_score: float = MIN_MARKET_SCORE,
) -> LiquidityReport:
    """Analyses ``book`` for an order of ``size`` on ``side`` and recommends a mode.

    ``side`` is our order's side: a buy takes the asks, a sell the bids. The depth within the
    budget is ``book.size_within_bps(side, slippage_budget_bps)`` (measured from the touch) and
    the score is ``book.liquidity_score(side, size, slippage_budget_bps)``.

    The rules, applied in this order (the first that matches decides):

    1. The side we take is empty → ``AVOID`` ("empty side").
    2. The other side is empty → ``AVOID`` ("one-sided book": no mid, no spread to judge).
    3. The book is crossed or locked → ``AVOID`` ("crossed book").
    4. ``max_spread_bps`` is given and the spread is wider (exact comparison) → ``PASSIVE``
       ("wide spread: rest, do not cross").
    5. The book does not hold the whole size at any price → ``AVOID`` ("incomplete book").
    6. The size exceeds the depth within the budget → ``SPLIT``.
    7. The whole size is within the budget but the score is below ``min_score`` (the spread is
       wide next to the budget) → ``PASSIVE``.
    8. Otherwise → ``MARKET`` if ``size <= MARKET_DEPTH_FRACTION * depth_within_budget``
       (a quarter of it), else ``AGGRESSIVE``.

    Args:
        book: The venue's live book.
        side: Our order's side.
        size: The order's size (> 0).
        slippage_budget_bps: The most slippage from the touch we accept, in bps (> 0).
        max_spread_bps: The widest spread, in bps of the mid, at which we would cross; ``None``
            for no limit.
        min_score: The lowest score at which crossing is recommended (default
            :data:`MIN_MARKET_SCORE`).

    Returns:
        The report, with its figures filled in as far as the book allows.

    Raises:
        ValueError: A non-positive ``size`` or ``slippage_budget_bps``, or a negative
            ``max_spread_bps``.
    """
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if slippage_budget_bps <= 0:
        raise ValueError(f"slippage_budget_bps must be positive, got {slippage_budget_bps}")
    if max_spread_bps is not None and max_spread_bps < 0:
        raise ValueError(f"max_spread_bps must be >= 0, got {max_spread_bps}")

    side = Side(side)
    taken = book.best_ask() if side is Side.BUY else book.best_bid()
    other = book.best_bid() if side is Side.BUY else book.best_ask()
    spread = book.spread_bps()
    mid = book.mid()

    if taken is None:
        return LiquidityReport(
            side=side,
            size=size,
            spread_bps=spread,
            mid=mid,
            depth_within_budget=_ZERO,
            expected_vwap=None,
            expected_slippage_bps=None,
            expected_slippage_vs_mid_bps=None,
            complete=False,
            score=0.0,
            recommendation=Recommendation.AVOID,
            reason="empty side: nothing to take",
        )

    walk = book.walk(side.value, size)
    depth = book.size_within_bps(side.value, slippage_budget_bps)
    score = book.liquidity_score(side.value, size, slippage_budget_bps)

    def verdict(recommendation: Recommendation, reason: str) -> LiquidityReport:
        return LiquidityReport(
            side=side,
            size=size,
            spread_bps=spread,
            mid=mid,
            depth_within_budget=depth,
            expected_vwap=walk.vwap,
            expected_slippage_bps=walk.slippage_bps,
            expected_slippage_vs_mid_bps=walk.slippage_vs_mid_bps if mid is not None else None,
            complete=walk.complete,
            score=score,
            recommendation=recommendation,
            reason=reason,
        )

    if other is None:
        return verdict(Recommendation.AVOID, "one-sided book: no mid")
    if book.is_crossed:
        return verdict(Recommendation.AVOID, "crossed book")
    bid, ask = (other[0], taken[0]) if side is Side.BUY else (taken[0], other[0])
    if max_spread_bps is not None and not spread_within(bid, ask, max_spread_bps):
        return verdict(Recommendation.PASSIVE, "wide spread: rest, do not cross")
    if not walk.complete:
        return verdict(Recommendation.AVOID, f"incomplete book: holds {walk.filled} of {size}")
    if size > depth:
        return verdict(
            Recommendation.SPLIT,
            f"too big for the book: size {size} exceeds the {depth} available within "
            f"{slippage_budget_bps} bps",
        )
    if score < min_score:
        return verdict(
            Recommendation.PASSIVE,
            f"score {score:.3f} below {min_score}: spread wide next to the budget, rest",
        )
    if size <= MARKET_DEPTH_FRACTION * depth:
        return verdict(
            Recommendation.MARKET,
            f"deep book: size at most {MARKET_DEPTH_FRACTION} of the depth within budget",
        )
    return verdict(
        Recommendation.AGGRESSIVE,
        f"within budget but above {MARKET_DEPTH_FRACTION} of the depth: ladder in",
    )


def split_sizes(
    size: Decimal,
    depth_within_budget: Decimal,
    rules: Instrument,
    *,
    max_children: int = 10,
) -> list[Decimal]:
    """Cuts ``size`` into child orders that each fit within the depth of the budget.

    Each child is at most ``depth_within_budget`` floored to the step (the cap), on the step,
    and at least the minimum size; the children sum to ``size`` exactly. The fewest children
    possible are used, ``ceil(size / cap)``: all but the last are the cap and the last takes
    the remainder; if the remainder is below the minimum size, it borrows from the children
    before it (last first), each giving what it can down to the minimum size. The split is
    deterministic and sorted largest first. The minimum notional depends on a price and is left
    to the caller.

    Args:
        size: The order's size (> 0, on the step, at least the minimum size).
        depth_within_budget: The size the book offers within the slippage budget
            (:attr:`LiquidityReport.depth_within_budget`).
        rules: The venue's instrument rules.
        max_children: The most children allowed (>= 1).

    Returns:
        The child sizes; ``[size]`` if it fits whole.

    Raises:
        ValueError: ``size`` is not a valid order size, the depth is zero or floors below the
            minimum size, more than ``max_children`` children would be needed, or no split into
            that many valid children exists.
    """
    if max_children < 1:
        raise ValueError(f"max_children must be >= 1, got {max_children}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if rules.floor_size(_floor9(size)) != size:
        raise ValueError(f"size {size} is not on the step {rules.step_size}")
    min_size = _min_grid_size(rules)
    if size < min_size:
        raise ValueError(f"size {size} is below the minimum size {rules.min_qty}")
    if depth_within_budget <= 0:
        raise ValueError("no depth within the budget")
    cap = rules.floor_size(_floor9(depth_within_budget))
    if cap <= 0 or cap < min_size:
        raise ValueError(
            f"depth {depth_within_budget} floors to {cap}, below the minimum size {rules.min_qty}"
        )
    count = int((size / cap).to_integral_value(rounding=ROUND_CEILING))
    if count > max_children:
        raise ValueError(
            f"size {size} needs {count} children of at most {cap}, more than {max_children}"
        )
    if count * min_size > size:
        raise ValueError(
            f"size {size} cannot be cut into {count} children of at least {min_size} each"
        )
    children = [cap] * (count - 1) + [size - cap * (count - 1)]
    deficit = min_size - children[-1]
    index = count - 2
    while deficit > 0:  # the last child borrows from the ones before it, last first
        give = min(deficit, children[index] - min_size)
        children[index] -= give
        children[-1] += give
        deficit -= give
        index -= 1
    children.sort(reverse=True)
    return children


def notional(size: Decimal, price: Decimal) -> Decimal:
    """The exact notional ``size * price``.

    Args:
        size: The order size.
        price: The price.

    Returns:
        ``size * price``, exact.
    """
    return size * price


def size_for_notional(rules: Instrument, usd: Decimal, price: Decimal) -> Decimal:
    """The size worth at most ``usd`` at ``price``, floored to the step.

    Args:
        rules: The venue's instrument rules.
        usd: The notional to spend (>= 0).
        price: The price the size is valued at (> 0).

    Returns:
        ``floor_step(usd / price)``, or ``0`` if that size is below the minimum size or its
        notional at ``price`` below the minimum notional.

    Raises:
        ValueError: A non-positive price or a negative ``usd``.
    """
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    if usd < 0:
        raise ValueError(f"usd must be >= 0, got {usd}")
    size = rules.floor_size(_div_floor9(usd, price))
    if size <= 0 or size < rules.min_qty or size * price < rules.min_notional:
        return _ZERO
    return size


def common_leg_size(
    rules: Sequence[Instrument], usd: Decimal, prices: Sequence[Decimal]
) -> Decimal:
    """The largest size valid on every venue that costs at most ``usd`` on each.

    The smallest size implied by ``usd`` at each venue's price is reduced to the core's
    :func:`~hedgekit.common_size` (valid on every step and minimum size); the minimum notional
    is then checked on every venue at its own price.

    Args:
        rules: Each venue's instrument rules.
        usd: The notional per leg (>= 0).
        prices: Each venue's price, in the same order as ``rules`` (each > 0).

    Returns:
        The common size, or ``0`` if any venue would refuse it (too small a size or notional).

    Raises:
        ValueError: No instruments, a ``prices`` list of another length, a non-positive price or
            a negative ``usd``.
    """
    if not rules:
        raise ValueError("no instruments")
    if len(prices) != len(rules):
        raise ValueError(f"{len(prices)} prices for {len(rules)} instruments")
    if any(price <= 0 for price in prices):
        raise ValueError(f"prices must be positive, got {list(prices)}")
    if usd < 0:
        raise ValueError(f"usd must be >= 0, got {usd}")
    target = min(_div_floor9(usd, price) for price in prices)
    if target <= 0:
        return _ZERO
    try:
        size = common_size(list(rules), target)
    except InvalidOrderError:
        return _ZERO
    if size <= 0:
        return _ZERO
    for venue_rules, price in zip(rules, prices, strict=True):
        if size < venue_rules.min_qty or size * price < venue_rules.min_notional:
            return _ZERO
    return size


def is_dust(rules: Instrument, size: Decimal, price: Decimal, *, reduce_only: bool = False) -> bool:
    """True if ``size`` is a remainder to record, not to trade.

    That is: ``size > 0`` and an order of it (floored to the step) at ``price`` (rounded onto
    the grid as a passive buy) would be refused for its minimum size or minimum notional. A
    size that floors to zero is dust too.

    Args:
        rules: The venue's instrument rules.
        size: The remaining size (a size <= 0 is not dust).
        price: The price it would trade at (> 0).
        reduce_only: Check as a reduce-only order (some venues exempt it from the minimum
            notional).

    Returns:
        Whether the size is dust.

    Raises:
        hedgekit.errors.InvalidOrderError: ``price`` is not positive or rounds to zero.
    """
    if size <= 0:
        return False
    floored = rules.floor_size(_floor9(size))
    if floored <= 0:
        return True
    grid_price = rules.round_price(_floor9(price), Side.BUY.value)
    reason = rules.rejection(grid_price, floored, reduce_only)
    return reason in ("below_min_size", "below_min_notional")


def slippage_bps(side: Side, avg_price: Decimal, reference: Decimal) -> float:
    """Slippage of ``avg_price`` against ``reference``, in bps of the reference.

    Positive is a cost: a buy above the reference, or a sell below it.

    Args:
        side: Our order's side.
        avg_price: The average (or expected) execution price.
        reference: The reference price (e.g. the arrival mid), > 0.

    Returns:
        ``sign * (avg_price - reference) / reference * 1e4`` with ``sign`` +1 for a buy and -1
        for a sell.

    Raises:
        ValueError: A non-positive reference.
    """
    if reference <= 0:
        raise ValueError(f"reference must be positive, got {reference}")
    return float(Side(side).sign * (avg_price - reference) / reference * _BPS)


def cost_bps_incl_fees(
    side: Side, avg_price: Decimal, fees: Decimal, size: Decimal, reference: Decimal
) -> float:
    """Slippage plus fees, in bps of the reference notional.

    Args:
        side: Our order's side.
        avg_price: The average execution price.
        fees: The fees paid, signed (positive is a cost, negative a rebate).
        size: The executed size (> 0).
        reference: The reference price (> 0).

    Returns:
        ``slippage_bps(side, avg_price, reference) + fees / (size * reference) * 1e4``.

    Raises:
        ValueError: A non-positive size or reference.
    """
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    slip = slippage_bps(side, avg_price, reference)
    return slip + float(fees / (size * reference) * _BPS)


@dataclass(frozen=True, slots=True)
class SlippageRecord:
    """Expected against actual slippage of one execution, both against the arrival mid.

    Attributes:
        expected_bps: The slippage the book predicted (expected VWAP vs arrival mid), in bps,
            positive = cost; ``None`` if either was unknown.
        actual_bps: The slippage obtained (average fill price vs arrival mid), in bps,
            positive = cost; ``None`` if nothing filled or the mid was unknown.
        arrival_mid: The mid when the order was decided.
        avg_price: The average fill price.
        size: The filled size.
    """

    expected_bps: float | None
    actual_bps: float | None
    arrival_mid: Decimal | None
    avg_price: Decimal | None
    size: Decimal

    @property
    def excess_bps(self) -> float | None:
        """``actual_bps - expected_bps`` (positive: worse than predicted), or ``None``."""
        if self.actual_bps is None or self.expected_bps is None:
            return None
        return self.actual_bps - self.expected_bps

    @classmethod
    def measure(
        cls,
        side: Side,
        arrival_mid: Decimal | None,
        expected_vwap: Decimal | None,
        avg_price: Decimal | None,
        size: Decimal,
    ) -> SlippageRecord:
        """Builds a record from the arrival mid, the predicted VWAP and the fills' average.

        Args:
            side: Our order's side.
            arrival_mid: The mid when the order was decided (``None`` if unknown; a
                non-positive mid counts as unknown).
            expected_vwap: The VWAP the book predicted (:attr:`LiquidityReport.expected_vwap`).
            avg_price: The average fill price (``None`` if nothing filled).
            size: The filled size.

        Returns:
            The record; a figure whose inputs are missing is ``None``.
        """
        usable_mid = arrival_mid if arrival_mid is not None and arrival_mid > 0 else None
        expected = (
            slippage_bps(side, expected_vwap, usable_mid)
            if usable_mid is not None and expected_vwap is not None
            else None
        )
        actual = (
            slippage_bps(side, avg_price, usable_mid)
            if usable_mid is not None and avg_price is not None and size > 0
            else None
        )
        return cls(
            expected_bps=expected,
            actual_bps=actual,
            arrival_mid=arrival_mid,
            avg_price=avg_price,
            size=size,
        )


def _floor9(value: Decimal) -> Decimal:
    """``value`` rounded toward zero to 9 decimals (the core's exact resolution)."""
    return value.quantize(_NANO, rounding=ROUND_DOWN)


def _div_floor9(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` rounded toward zero to 9 decimals, never up."""
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.rounding = ROUND_DOWN
        return (numerator / denominator).quantize(_NANO, rounding=ROUND_DOWN)


def _min_grid_size(rules: Instrument) -> Decimal:
    """The smallest size on the step that is at least the minimum size (and positive)."""
    step = rules.step_size
    floored = rules.floor_size(rules.min_qty)
    smallest = floored if floored >= rules.min_qty else floored + step
    return max(smallest, step)
