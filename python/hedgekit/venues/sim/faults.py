"""The simulated venue's random streams, latency sampler and rate limiter.

Every random draw comes from a stream seeded by ``"{seed}:{venue}:{component}"`` (``random.Random``
hashes a ``str`` seed with SHA-512, never the process-randomised ``hash()``), so an extra draw in
one component never shifts another and a scenario replays exactly from its seed. Floats appear
only in timing and probabilities, never in prices or sizes.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from hedgekit.venues.sim.config import Lat, LatencyConfig, RateLimit, RateLimitConfig

__all__ = ["LatencySampler", "RateDecision", "RateLimiter", "rng_stream"]


def rng_stream(seed: int, venue: str, component: str) -> random.Random:
    """An independent, reproducible random stream for one component of one venue."""
    return random.Random(f"{seed}:{venue}:{component}")


class LatencySampler:
    """Draws per-message latencies: ``base + min(Exp(jitter_mean), cap)`` ns per path.

    ``entry`` and ``response`` bases follow ``LatencyConfig.schedule`` when one is given
    (linear interpolation between points, edge values outside them).
    """

    def __init__(self, config: LatencyConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng

    def _jitter(self, lat: Lat) -> int:
        if lat.jitter_mean_ns <= 0:
            return 0
        draw = self._rng.expovariate(1.0 / lat.jitter_mean_ns)
        return int(min(draw, float(lat.cap_ns) if lat.cap_ns else draw))

    def _scheduled_base(self, lat: Lat, t_ns: int) -> int:
        points = self._config.schedule
        if not points:
            return lat.base_ns
        if t_ns <= points[0][0]:
            return points[0][1]
        for (t1, b1), (t2, b2) in zip(points, points[1:], strict=False):
            if t_ns <= t2:
                return b1 + (b2 - b1) * (t_ns - t1) // max(t2 - t1, 1)
        return points[-1][1]

    def entry(self, t_ns: int, op: str) -> int:
        """Client → engine latency for ``op`` at time ``t_ns`` (speed bump included)."""
        lat = self._config.entry
        return self._scheduled_base(lat, t_ns) + self._jitter(lat) + self._config.bump(op)

    def response(self, t_ns: int) -> int:
        """Engine → client latency of a REST answer."""
        lat = self._config.response
        return self._scheduled_base(lat, t_ns) + self._jitter(lat)

    def feed_public(self) -> int:
        """Engine → our book copy."""
        lat = self._config.feed_public
        return lat.base_ns + self._jitter(lat)

    def feed_private(self) -> int:
        """Engine → our private streams."""
        lat = self._config.feed_private
        return lat.base_ns + self._jitter(lat)


@dataclass(frozen=True, slots=True)
class RateDecision:
    """A refusal by the rate limiter.

    Attributes:
        retry_after_s: Seconds until the request would pass.
        banned: True when the refusal is a ban (HTTP 418) rather than a 429.
    """

    retry_after_s: float
    banned: bool


class _Bucket:
    __slots__ = ("limit", "tokens", "updated_ns", "window")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.tokens = float(limit.capacity)
        self.updated_ns: int | None = None
        self.window: deque[tuple[int, int]] = deque()

    def applies(self, op: str) -> bool:
        return not self.limit.ops or op in self.limit.ops

    def room(self, now_ns: int, weight: int) -> float:
        """0 when ``weight`` fits now, else the seconds until it would."""
        lim = self.limit
        if lim.window_ns:
            while self.window and self.window[0][0] <= now_ns - lim.window_ns:
                self.window.popleft()
            used = sum(w for _, w in self.window)
            if used + weight <= lim.capacity:
                return 0.0
            # The oldest entries leave the window first.
            need = used + weight - lim.capacity
            for ts, w in self.window:
                need -= w
                if need <= 0:
                    return (ts + lim.window_ns - now_ns) / 1e9
            return lim.window_ns / 1e9
        if self.updated_ns is not None and lim.refill_per_s > 0:
            elapsed = (now_ns - self.updated_ns) / 1e9
            self.tokens = min(float(lim.capacity), self.tokens + elapsed * lim.refill_per_s)
        self.updated_ns = now_ns
        if self.tokens >= weight:
            return 0.0
        if lim.refill_per_s <= 0:
            return math.inf
        return (weight - self.tokens) / lim.refill_per_s

    def take(self, now_ns: int, weight: int) -> None:
        if self.limit.window_ns:
            self.window.append((now_ns, weight))
        else:
            self.tokens -= weight


class RateLimiter:
    """Token buckets and sliding windows, checked at venue arrival.

    A refused request has no side effect (it is not counted). With ``ban_after`` set, that many
    refusals within one ban period earn a ban (Aster/Binance 418) during which every request is
    refused.
    """

    def __init__(self, config: RateLimitConfig) -> None:
        self._config = config
        self._buckets = [_Bucket(limit) for limit in config.limits]
        self._refusals: deque[int] = deque()
        self._banned_until = 0

    def admit(self, op: str, now_ns: int) -> RateDecision | None:
        """Counts the request if every applicable limit has room (``None``), else refuses it."""
        if now_ns < self._banned_until:
            return RateDecision((self._banned_until - now_ns) / 1e9, banned=True)
        weight = self._config.weight(op)
        applicable = [b for b in self._buckets if b.applies(op)]
        wait = max((b.room(now_ns, weight) for b in applicable), default=0.0)
        if wait > 0:
            return self._refuse(now_ns, wait)
        for b in applicable:
            b.take(now_ns, weight)
        return None

    def _refuse(self, now_ns: int, wait: float) -> RateDecision:
        cfg = self._config
        if cfg.ban_after is not None:
            self._refusals.append(now_ns)
            while self._refusals and self._refusals[0] <= now_ns - cfg.ban_ns:
                self._refusals.popleft()
            if len(self._refusals) > cfg.ban_after:
                self._banned_until = now_ns + cfg.ban_ns
                self._refusals.clear()
                return RateDecision(cfg.ban_ns / 1e9, banned=True)
        return RateDecision(math.ceil(wait * 1000) / 1000, banned=False)
