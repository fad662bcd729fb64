"""The common market factor that several simulated venues share, and each venue's basis
(``docs/sim-realism.md``, ``sim-models`` §5).

A venue whose market has a :class:`~hedgekit.venues.sim.config.MarketFactor` moves its mid as

    mid_v(t) = mid_v(t0) · F(t − lag_v) / F(t0 − lag_v) · (1 + B_v(t))

where ``F`` is a geometric random walk on an absolute time grid (step ``k`` covers
``[k·step, (k+1)·step)`` of clock time) and ``B_v`` is the venue's own mean-reverting
(Ornstein–Uhlenbeck) basis, starting at 0 when the venue connects.

``F`` is derived, not shared: its ``k``-th log increment is the ``k % 1024``-th normal draw of a
stream seeded by ``"{seed}:factor:{k // 1024}"``, so any number of separate
:class:`FactorPath` objects built from one :class:`~hedgekit.venues.sim.config.MarketFactor`
agree on every step whatever order they are asked in, and two venues need no shared mutable
state (or even the same event loop turn) to move together.
"""

from __future__ import annotations

import math
import random

from hedgekit.venues.sim.config import MarketFactor

__all__ = ["BasisProcess", "FactorPath"]

_BLOCK = 1024
_NS_PER_S = 1_000_000_000


class FactorPath:
    """The log-level of one market factor on its absolute step grid, derived from its seed.

    Args:
        factor: The factor's configuration (seed, volatility, step).
    """

    __slots__ = ("_blocks", "_origin", "_sigma", "_x", "factor")

    def __init__(self, factor: MarketFactor) -> None:
        self.factor = factor
        self._sigma = factor.vol_bps_per_sqrt_s / 10_000 * math.sqrt(factor.step_ns / _NS_PER_S)
        self._blocks: dict[int, list[float]] = {}
        self._origin: int | None = None
        self._x: list[float] = []

    def index(self, t_ns: int) -> int:
        """The step that clock time ``t_ns`` falls in."""
        return t_ns // self.factor.step_ns

    def step_start(self, k: int) -> int:
        """The clock time at which step ``k`` begins."""
        return k * self.factor.step_ns

    def shock(self, k: int) -> float:
        """The standard normal draw behind step ``k``'s log increment."""
        b, i = divmod(k, _BLOCK)
        block = self._blocks.get(b)
        if block is None:
            if len(self._blocks) >= 4:
                self._blocks.clear()
            rng = random.Random(f"{self.factor.seed}:factor:{b}")
            block = self._blocks[b] = [rng.gauss(0.0, 1.0) for _ in range(_BLOCK)]
        return block[i]

    def log_return(self, k0: int, k1: int) -> float:
        """``log F(step k1) − log F(step k0)``: the sum of the log increments of steps
        ``k0 + 1 .. k1`` (negative when ``k1 < k0``)."""
        lo, hi = min(k0, k1), max(k0, k1)
        self._anchor(lo)
        self._extend(hi)
        assert self._origin is not None
        return self._x[k1 - self._origin] - self._x[k0 - self._origin]

    def _anchor(self, k: int) -> None:
        """Makes sure the cumulative levels start at or before step ``k`` (they are kept
        relative to the lowest step asked for)."""
        if self._origin is not None and k >= self._origin:
            return
        old_origin, old = self._origin, self._x
        self._origin, self._x = k, [0.0]
        if old_origin is not None:
            self._extend(old_origin)
            shift = self._x[-1]
            self._x.extend(v + shift for v in old[1:])

    def _extend(self, k: int) -> None:
        assert self._origin is not None
        x, sigma = self._x, self._sigma
        n = self._origin + len(x) - 1
        while n < k:
            n += 1
            x.append(x[-1] + sigma * self.shock(n))


class BasisProcess:
    """A venue's basis ``B``: an Ornstein–Uhlenbeck process stepped on the factor's grid.

    ``B_{k+1} = a·B_k + s·√(1 − a²)·z`` with ``a = exp(−ln 2 · step / half_life)``: it starts at
    0 and reverts towards 0 with stationary standard deviation ``s``.

    Args:
        stationary_std: ``s``, as a fraction of the price (0: no basis).
        half_life_s: The time in which a deviation halves on average.
        step_ns: The grid step.
        rng: Its own random stream.
    """

    __slots__ = ("_a", "_noise", "_rng", "value")

    def __init__(
        self, stationary_std: float, half_life_s: float, step_ns: int, rng: random.Random
    ) -> None:
        self._a = math.exp(-math.log(2) * (step_ns / _NS_PER_S) / half_life_s)
        self._noise = stationary_std * math.sqrt(max(0.0, 1.0 - self._a * self._a))
        self._rng = rng
        self.value = 0.0

    def advance(self) -> float:
        """Steps once and returns the new basis (no draw when the basis is off)."""
        if self._noise > 0:
            self.value = self._a * self.value + self._noise * self._rng.gauss(0.0, 1.0)
        return self.value
