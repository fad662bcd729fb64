"""Data-quality gates: is an order book fit to price an order from?

A book is unusable when it is not synced (never snapshotted, or a sequence gap since the last
snapshot: the core :class:`~hedgekit.OrderBook` stays not synced until the next snapshot), when a
side is empty, when it is crossed, or when its last update is older than the gate's maximum age.
Executors call :meth:`BookGate.require` right before pricing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgekit._core import OrderBook
from hedgekit.errors import BookIntegrityError

__all__ = ["BookGate", "BookHealth"]


@dataclass(frozen=True, slots=True)
class BookHealth:
    """The verdict on one book.

    Attributes:
        usable: True when the book may be priced from.
        reason: ``None`` when usable, else ``"not_synced"``, ``"empty"``, ``"crossed"`` or
            ``"stale"`` (the first failing check, in that order).
        age_ns: Time since the book's last update (``now_ns`` itself if it never had one).
    """

    usable: bool
    reason: str | None
    age_ns: int


class BookGate:
    """Checks books for staleness, crossing, sync and emptiness.

    Args:
        max_age_ns: The oldest last update that is still fresh (> 0).

    Raises:
        ValueError: ``max_age_ns`` is not positive.
    """

    def __init__(self, max_age_ns: int) -> None:
        if max_age_ns <= 0:
            raise ValueError(f"max_age_ns must be positive, got {max_age_ns}")
        self.max_age_ns = max_age_ns

    def check(self, book: OrderBook, now_ns: int) -> BookHealth:
        """The book's health at ``now_ns``."""
        age = now_ns - book.last_update_ns
        reason: str | None = None
        if not book.is_synced:
            reason = "not_synced"
        elif book.best_bid() is None or book.best_ask() is None:
            reason = "empty"
        elif book.is_crossed:
            reason = "crossed"
        elif book.last_update_ns <= 0 or age > self.max_age_ns:
            reason = "stale"
        return BookHealth(reason is None, reason, age)

    def require(self, book: OrderBook, now_ns: int) -> BookHealth:
        """Like :meth:`check`, but raises when the book is unusable.

        Raises:
            hedgekit.errors.BookIntegrityError: ``kind`` is the reason.
        """
        health = self.check(book, now_ns)
        if health.reason is not None:
            detail = (
                f"{book.venue}/{book.symbol}: {health.reason}, age {health.age_ns} ns "
                f"(max {self.max_age_ns}), synced={book.is_synced}, crossed={book.is_crossed}"
            )
            raise BookIntegrityError(
                f"order book {book.venue}/{book.symbol} is unusable: {health.reason}",
                health.reason,
                detail,
            )
        return health
