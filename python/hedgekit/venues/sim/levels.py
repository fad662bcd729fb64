"""Price levels of the simulated venue's book: FIFO queues of external and own segments.

A level at price P is a list of :class:`Segment` s, head first, e.g.
``[ext 7][own A 2][ext 3][own B 1]`` (``sim-models`` §4.2). External segments (``owner is None``)
stand for other traders' liquidity; an own segment holds the resting size of one of our orders,
named by its venue order id. Adjacent external segments are merged, which changes neither the
FIFO order nor any cancel split. Everything here is exact :class:`~decimal.Decimal` arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from hedgekit.venues.sim.config import CancelSplit

__all__ = ["BookSide", "Level", "Segment"]

_ZERO = Decimal(0)
_NANO = Decimal("1e-9")


class Segment:
    """One contiguous piece of a level's queue.

    Attributes:
        owner: ``None`` for external liquidity, else the venue order id of our order.
        qty: The size of the piece (> 0 while it is in a level).
    """

    __slots__ = ("owner", "qty")

    def __init__(self, owner: str | None, qty: Decimal) -> None:
        self.owner = owner
        self.qty = qty

    def __repr__(self) -> str:
        return f"Segment({self.owner!r}, {self.qty})"


class Level:
    """One price level: a FIFO queue of segments, head first.

    Attributes:
        price: The level's price.
        segments: The queue, head (next to trade) first.
    """

    __slots__ = ("price", "segments")

    def __init__(self, price: Decimal) -> None:
        self.price = price
        self.segments: list[Segment] = []

    def total(self) -> Decimal:
        """The visible size of the level (external and own)."""
        return sum((s.qty for s in self.segments), _ZERO)

    def external_total(self) -> Decimal:
        """The external size of the level."""
        return sum((s.qty for s in self.segments if s.owner is None), _ZERO)

    def has_own(self) -> bool:
        """True when one of our orders rests in this level."""
        return any(s.owner is not None for s in self.segments)

    def own_segment(self, owner: str) -> Segment | None:
        """The segment of our order ``owner``, or ``None``."""
        for s in self.segments:
            if s.owner == owner:
                return s
        return None

    def append(self, owner: str | None, qty: Decimal) -> None:
        """Adds ``qty`` at the tail (merged into a trailing external segment if both external)."""
        if qty <= 0:
            return
        if owner is None and self.segments and self.segments[-1].owner is None:
            self.segments[-1].qty += qty
        else:
            self.segments.append(Segment(owner, qty))

    def remove_owner(self, owner: str) -> None:
        """Removes our order's segment (if present)."""
        self.segments = [s for s in self.segments if s.owner != owner]
        self.normalize()

    def normalize(self) -> None:
        """Drops empty segments and merges adjacent external ones."""
        out: list[Segment] = []
        for s in self.segments:
            if s.qty <= 0:
                continue
            if s.owner is None and out and out[-1].owner is None:
                out[-1].qty += s.qty
            else:
                out.append(s)
        self.segments = out

    def consume_external(self, qty: Decimal) -> None:
        """Removes ``qty`` of external size FIFO from the head, skipping own segments."""
        left = qty
        for s in self.segments:
            if left <= 0:
                break
            if s.owner is None:
                take = min(left, s.qty)
                s.qty -= take
                left -= take
        self.normalize()

    def cancel_external(self, qty: Decimal, split: CancelSplit) -> Decimal:
        """Removes up to ``qty`` of external size as another trader's cancel.

        Args:
            qty: Size cancelled (more than the external size removes only the external size).
            split: ``TAIL`` takes from the last external segment backwards; ``PROPORTIONAL``
                spreads it over the external segments in proportion to their size (shares rounded
                down to 1e-9, the remainder taken from the tail).

        Returns:
            The size actually removed.
        """
        ext = [s for s in self.segments if s.owner is None]
        ext_total = sum((s.qty for s in ext), _ZERO)
        c = min(qty, ext_total)
        if c <= 0:
            return _ZERO
        if c == ext_total:
            for s in ext:
                s.qty = _ZERO
        else:
            left = c
            if split is CancelSplit.PROPORTIONAL:
                for s in ext:
                    share = (c * s.qty / ext_total).quantize(_NANO, rounding=ROUND_DOWN)
                    share = min(share, s.qty, left)
                    s.qty -= share
                    left -= share
            for s in reversed(ext):
                if left <= 0:
                    break
                take = min(left, s.qty)
                s.qty -= take
                left -= take
        self.normalize()
        return c


class BookSide:
    """One side of the book: levels keyed by price.

    Args:
        is_bid: True for the bid side (best = highest price).
    """

    __slots__ = ("_levels", "is_bid")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._levels: dict[Decimal, Level] = {}

    def __len__(self) -> int:
        return len(self._levels)

    def get(self, price: Decimal) -> Level | None:
        """The level at ``price``, or ``None``."""
        return self._levels.get(price)

    def get_or_create(self, price: Decimal) -> Level:
        """The level at ``price``, created empty if absent."""
        level = self._levels.get(price)
        if level is None:
            level = self._levels[price] = Level(price)
        return level

    def discard_if_empty(self, price: Decimal) -> None:
        """Removes the level at ``price`` if it holds nothing."""
        level = self._levels.get(price)
        if level is not None and not level.segments:
            del self._levels[price]

    def remove(self, price: Decimal) -> None:
        """Removes the level at ``price`` (whatever it holds)."""
        self._levels.pop(price, None)

    def best_first(self) -> list[Level]:
        """The levels, best first (a copy: safe to mutate the side while iterating)."""
        prices = sorted(self._levels, reverse=self.is_bid)
        return [self._levels[p] for p in prices]

    def best_price(self) -> Decimal | None:
        """The best price, or ``None`` for an empty side."""
        if not self._levels:
            return None
        return max(self._levels) if self.is_bid else min(self._levels)

    def is_better_or_equal(self, a: Decimal, b: Decimal) -> bool:
        """True when price ``a`` is at least as good as ``b`` on this side."""
        return a >= b if self.is_bid else a <= b

    def __iter__(self) -> Iterator[Level]:
        return iter(self.best_first())
