"""Proactive, weight-based rate limiting: token buckets over a venue's budgets.

A venue's limits are data (:class:`Budget`): Hyperliquid allows 1200 weight per minute per IP,
an ``l2Book`` costing 2, an action ``1 + batch // 40`` (venues.md §1.9). A request waits for its
weight *before* it is sent, so the venue never has to refuse it; a wait longer than the caller's
timeout is refused at once with :class:`~hedgekit.errors.RateLimitedError` (nothing was sent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hedgekit.errors import RateLimitedError

__all__ = ["HYPERLIQUID_BUDGETS", "HYPERLIQUID_INFO_WEIGHTS", "Budget", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget of a venue: ``capacity`` weight per ``window_s`` seconds.

    The bucket holds at most ``capacity`` (a burst of a whole window is allowed, as a venue's
    fixed or sliding window would allow it) and refills continuously at ``capacity / window_s``.

    Attributes:
        name: The budget's name (``"ip"``, ``"orders"``).
        capacity: Weight allowed per window (> 0).
        window_s: The window in seconds (> 0).
    """

    name: str
    capacity: float
    window_s: float

    def __post_init__(self) -> None:
        if self.capacity <= 0 or self.window_s <= 0:
            raise ValueError(f"budget {self.name!r}: capacity and window must be positive")

    @property
    def rate(self) -> float:
        """Weight regained per second."""
        return self.capacity / self.window_s


HYPERLIQUID_BUDGETS: tuple[Budget, ...] = (Budget("ip", 1200, 60.0),)
"""Hyperliquid's REST budget: 1200 weight per minute per IP (venues.md §1.9)."""

HYPERLIQUID_INFO_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "l2Book": 2,
        "allMids": 2,
        "clearinghouseState": 2,
        "orderStatus": 2,
        "spotClearinghouseState": 2,
        "exchangeStatus": 2,
        "userRole": 60,
    }
)
"""Weights of Hyperliquid ``/info`` requests; any other type weighs 20 (venues.md §1.9)."""


class _Bucket:
    __slots__ = ("budget", "level", "stamp")

    def __init__(self, budget: Budget, now: float) -> None:
        self.budget = budget
        self.level = float(budget.capacity)
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(
                float(self.budget.capacity), self.level + (now - self.stamp) * self.budget.rate
            )
            self.stamp = now

    def wait_for(self, weight: float) -> float:
        missing = weight - self.level
        # A deficit of float rounding (after sleeping exactly the computed wait) is no deficit:
        # waiting for it could spin on a clock that cannot advance by so little.
        return 0.0 if missing <= 1e-9 * self.budget.capacity else missing / self.budget.rate


class RateLimiter:
    """Token buckets, one per :class:`Budget`; callers are served first come, first served.

    Args:
        venue: The venue's name (for errors).
        budgets: The venue's budgets.
        monotonic: Seconds on a monotonic clock (default ``time.monotonic``; tests pass a
            virtual one).
        sleep: How to wait (default ``asyncio.sleep``; tests pass one that advances their
            virtual clock).
    """

    def __init__(
        self,
        venue: str,
        budgets: Iterable[Budget],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self._now = monotonic
        self._sleep = sleep
        now = monotonic()
        self._buckets = {b.name: _Bucket(b, now) for b in budgets}
        if not self._buckets:
            raise ValueError("a rate limiter needs at least one budget")
        self._lock = asyncio.Lock()
        self.granted = 0
        """Requests granted so far."""
        self.refused = 0
        """Requests refused because their wait would have outlasted their timeout."""

    @property
    def budgets(self) -> Mapping[str, Budget]:
        """The budgets, by name."""
        return {name: b.budget for name, b in self._buckets.items()}

    def available(self, budget: str | None = None) -> float:
        """The weight that could be spent now without waiting (``budget``: one budget, default
        the tightest)."""
        now = self._now()
        for b in self._buckets.values():
            b.refill(now)
        if budget is not None:
            return self._buckets[budget].level
        return min(b.level for b in self._buckets.values())

    async def acquire(
        self, weight: float = 1, *, timeout: float, budgets: Iterable[str] | None = None
    ) -> None:
        """Waits until ``weight`` is available in every named budget (default: all), then spends it.

        Args:
            weight: The request's weight (> 0, at most each budget's capacity).
            timeout: The longest wait, in seconds.
            budgets: The budgets the request counts against (default: every budget).

        Raises:
            hedgekit.errors.RateLimitedError: The wait would exceed ``timeout`` (nothing was
                spent; ``retry_after_s`` says how long it would have been).
            ValueError: A weight that no budget could ever grant.
        """
        names = tuple(self._buckets) if budgets is None else tuple(budgets)
        chosen = [self._buckets[n] for n in names]
        for b in chosen:
            if weight <= 0 or weight > b.budget.capacity:
                raise ValueError(
                    f"weight {weight} outside (0, {b.budget.capacity}] of budget {b.budget.name!r}"
                )
        deadline = self._now() + timeout
        try:
            async with asyncio.timeout(timeout):
                await self._lock.acquire()
        except TimeoutError:
            self.refused += 1
            raise RateLimitedError(
                self.venue, f"rate limit: no turn within {timeout:g} s", None, timeout
            ) from None
        try:
            while True:
                now = self._now()
                for b in chosen:
                    b.refill(now)
                wait = max(b.wait_for(weight) for b in chosen)
                if wait <= 0:
                    for b in chosen:
                        b.level -= weight
                    self.granted += 1
                    return
                if now + wait > deadline:
                    self.refused += 1
                    raise RateLimitedError(
                        self.venue,
                        f"rate limit: weight {weight:g} needs {wait:.3f} s, "
                        f"beyond the {timeout:g} s timeout",
                        None,
                        wait,
                    )
                await self._sleep(wait)
        finally:
            self._lock.release()

    def penalize(self, seconds: float) -> None:
        """Empties every bucket for ``seconds`` (the venue said 429: it knows better than our
        count)."""
        now = self._now()
        for b in self._buckets.values():
            b.refill(now)
            b.level = min(b.level, 0.0) - seconds * b.budget.rate
