"""The proactive rate limiter, paced on a virtual clock and judged by counting."""

from __future__ import annotations

import asyncio

import pytest

from hedgekit.errors import RateLimitedError
from hedgekit.venues.transport import HYPERLIQUID_BUDGETS, Budget, RateLimiter
from hedgekit.venues.transport.ratelimit import HYPERLIQUID_INFO_WEIGHTS


class VirtualTime:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_hyperliquid_spends_1200_weight_a_minute_and_no_more() -> None:
    async def main() -> None:
        t = VirtualTime()
        limiter = RateLimiter("hl", HYPERLIQUID_BUDGETS, monotonic=t.monotonic, sleep=t.sleep)
        weight = HYPERLIQUID_INFO_WEIGHTS["l2Book"]
        granted_at: list[float] = []
        for _ in range(1200):  # 2400 weight of l2Book reads
            await limiter.acquire(weight, timeout=120)
            granted_at.append(t.now)
        # the first 600 go at once (a full bucket), the next 600 at the refill rate of 20/s
        assert sum(1 for x in granted_at if x == 0) == 600
        assert sum(1 for x in granted_at if x <= 60.0 + 1e-9) == 1200
        # within any minute after the burst, at most 1200 weight was spent
        later = [x for x in granted_at if x > 0]
        assert len(later) == 600 and max(later) == pytest.approx(60.0)

    asyncio.run(main())


def test_a_wait_beyond_the_timeout_is_refused_at_once_and_spends_nothing() -> None:
    async def main() -> None:
        t = VirtualTime()
        limiter = RateLimiter("hl", [Budget("ip", 10, 10)], monotonic=t.monotonic, sleep=t.sleep)
        await limiter.acquire(10, timeout=1)
        with pytest.raises(RateLimitedError) as info:
            await limiter.acquire(5, timeout=1)  # needs 5 s of refill
        assert info.value.retry_after_s == pytest.approx(5.0)
        assert t.slept == [] and limiter.refused == 1
        await limiter.acquire(5, timeout=10)  # waits exactly the refill
        assert t.slept == [pytest.approx(5.0)] and limiter.granted == 2

    asyncio.run(main())


def test_a_request_counts_against_every_budget_it_names() -> None:
    async def main() -> None:
        t = VirtualTime()
        limiter = RateLimiter(
            "aster",
            [Budget("weight", 2400, 60), Budget("orders", 10, 10)],
            monotonic=t.monotonic,
            sleep=t.sleep,
        )
        for _ in range(10):
            await limiter.acquire(1, timeout=1, budgets=["weight", "orders"])
        await limiter.acquire(1, timeout=1, budgets=["weight"])  # a read is not an order
        assert limiter.available("orders") == 0
        with pytest.raises(RateLimitedError):
            await limiter.acquire(1, timeout=0.5, budgets=["weight", "orders"])
        with pytest.raises(ValueError):
            await limiter.acquire(11, timeout=1, budgets=["orders"])

    asyncio.run(main())


def test_concurrent_callers_are_served_in_arrival_order() -> None:
    async def main() -> None:
        t = VirtualTime()
        limiter = RateLimiter("hl", [Budget("ip", 4, 4)], monotonic=t.monotonic, sleep=t.sleep)
        order: list[int] = []

        async def one(i: int) -> None:
            await limiter.acquire(2, timeout=100)
            order.append(i)

        await asyncio.gather(*(one(i) for i in range(8)))
        assert order == list(range(8))
        assert limiter.granted == 8 and t.now == pytest.approx(12.0)  # 16 weight at 1/s, 4 free

    asyncio.run(main())
