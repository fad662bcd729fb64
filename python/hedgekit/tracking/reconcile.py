"""Position reconciliation policy: when to compare positions with the venue, and how.

Pure and clock-free: the caller passes the time. :class:`Reconciler` decides when a positions
fetch is due (periodically, and at once after a trigger such as a rejection, an unmatched fill, an
overfill or a reconnect, but never more often than a minimum interval). :class:`PositionBook`
accumulates the positions our applied fills imply, and :func:`compare` lists the symbols where the
venue disagrees beyond a tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from hedgekit.model import Fill, Position, Side

__all__ = ["PositionBook", "PositionMismatch", "ReconcileConfig", "Reconciler", "compare"]

_ZERO = Decimal(0)
_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    """When positions are fetched, and how far apart they may be.

    Attributes:
        interval_ns: Periodic fetch interval.
        min_interval_ns: Two fetches are never closer than this, whatever triggers them.
        tolerance: Largest absolute difference per symbol that is not a mismatch.
    """

    interval_ns: int = 30 * _S
    min_interval_ns: int = _S
    tolerance: Decimal = _ZERO

    def __post_init__(self) -> None:
        if self.interval_ns <= 0 or self.min_interval_ns < 0:
            raise ValueError("interval_ns must be positive and min_interval_ns not negative")


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    """One symbol where the venue's position differs from the one our fills imply.

    Attributes:
        symbol: The symbol.
        expected: Signed size from our fills.
        actual: Signed size the venue reports (zero when it lists none).
        difference: ``actual - expected``.
    """

    symbol: str
    expected: Decimal
    actual: Decimal
    difference: Decimal


class Reconciler:
    """Decides when a positions fetch is due.

    The first call to :meth:`due` returns ``"initial"``; afterwards ``"periodic"`` every
    ``interval_ns``, or the first pending trigger's reason as soon as ``min_interval_ns`` has
    passed since the last fetch. A trigger inside the minimum interval is remembered, not lost.

    Args:
        config: Intervals.
    """

    def __init__(self, config: ReconcileConfig | None = None) -> None:
        self.config = config or ReconcileConfig()
        self._last_ns: int | None = None
        self._pending: str | None = None
        self._pending_ns = 0

    @property
    def pending(self) -> str | None:
        """The reason of the trigger waiting for its fetch, if any."""
        return self._pending

    def trigger(self, reason: str, now_ns: int) -> None:
        """Asks for a fetch as soon as allowed (an earlier pending reason is kept)."""
        if self._pending is None:
            self._pending = reason
            self._pending_ns = now_ns

    def due(self, now_ns: int) -> str | None:
        """The reason a fetch should happen now, or ``None``."""
        if self._last_ns is None:
            return self._pending or "initial"
        since = now_ns - self._last_ns
        if self._pending is not None and since >= self.config.min_interval_ns:
            return self._pending
        if since >= self.config.interval_ns:
            return "periodic"
        return None

    def next_due_ns(self, now_ns: int) -> int:
        """When :meth:`due` will next return a reason (``now_ns`` if it does now)."""
        if self._last_ns is None:
            return now_ns
        at = self._last_ns + self.config.interval_ns
        if self._pending is not None:
            at = min(at, self._last_ns + self.config.min_interval_ns)
        return max(at, now_ns)

    def fetched(self, now_ns: int, started_ns: int | None = None) -> None:
        """Records a fetch. A trigger that arrived after ``started_ns`` (the fetch's start,
        default ``now_ns``) stays pending: the fetch may not reflect what caused it."""
        self._last_ns = now_ns
        start = now_ns if started_ns is None else started_ns
        if self._pending is not None and self._pending_ns <= start:
            self._pending = None


class PositionBook:
    """Signed positions per symbol implied by applied fills, from a snapshot, in venue time.

    A venue's position snapshot is taken at one venue time; fills travel separately and may arrive
    after a snapshot that already includes them, or before one that does not yet. So every fill is
    kept with its execution time: the baseline snapshot absorbs the fills executed up to its time,
    and :meth:`expected_at` gives the position as of any later snapshot's time, exactly, whatever
    order the fills arrived in.

    Args:
        initial: Starting signed sizes by symbol (default: none; :meth:`reset` sets them).
        as_of_ns: Venue time of ``initial``.
    """

    def __init__(self, initial: Mapping[str, Decimal] | None = None, as_of_ns: int = 0) -> None:
        self._base: dict[str, Decimal] = dict(initial or {})
        self._as_of = as_of_ns
        self._after: dict[str, Decimal] = {}
        # Fills newer than the last comparison time: the only ones expected_at may subtract.
        self._recent: list[tuple[int, str, Decimal]] = []
        self._horizon = as_of_ns
        self.initialized = initial is not None

    def reset(self, snapshot: Mapping[str, Decimal], as_of_ns: int = 0) -> None:
        """Takes ``snapshot`` (the venue's positions at venue time ``as_of_ns``) as the baseline.

        Fills already applied that executed after ``as_of_ns`` are kept on top of it; those
        executed before are part of the snapshot.
        """
        self._base = dict(snapshot)
        self._as_of = as_of_ns
        self._after = {}
        kept = [(ts, sym, q) for ts, sym, q in self._recent if ts > as_of_ns]
        for _, sym, q in kept:
            self._after[sym] = self._after.get(sym, _ZERO) + q
        self._recent = kept
        self._horizon = as_of_ns
        self.initialized = True

    def apply(self, fill: Fill) -> None:
        """Adds one applied fill: a buy adds its size, a sell subtracts it."""
        self.add(fill.symbol, fill.side, fill.size, fill.ts_ns)

    def add(self, symbol: str, side: Side, size: Decimal, ts_ns: int = 0) -> None:
        """Adds ``size`` on ``side`` to ``symbol``'s position, executed at venue time ``ts_ns``.

        A fill executed at or before the baseline's time is already part of it and is ignored;
        ``ts_ns == 0`` means unknown: such a fill always counts.
        """
        if self.initialized and 0 < ts_ns <= self._as_of:
            return
        q = side.sign * size
        self._after[symbol] = self._after.get(symbol, _ZERO) + q
        if not self.initialized or ts_ns > self._horizon:
            self._recent.append((ts_ns, symbol, q))

    def get(self, symbol: str) -> Decimal:
        """The signed size for ``symbol`` (zero when unknown)."""
        return self._base.get(symbol, _ZERO) + self._after.get(symbol, _ZERO)

    def positions(self) -> dict[str, Decimal]:
        """Every symbol's signed size from every applied fill (zeros included)."""
        return {s: self.get(s) for s in sorted(set(self._base) | set(self._after))}

    def expected_at(self, ts_ns: int) -> dict[str, Decimal]:
        """Signed sizes as of venue time ``ts_ns`` (fills executed later left out).

        Times must not go backwards between calls: fills at or before ``ts_ns`` are folded in
        and no longer kept one by one.
        """
        out = self.positions()
        keep: list[tuple[int, str, Decimal]] = []
        for ts, sym, q in self._recent:
            if ts > ts_ns:
                out[sym] = out.get(sym, _ZERO) - q
                keep.append((ts, sym, q))
        self._recent = keep
        self._horizon = max(self._horizon, ts_ns)
        return out


def compare(
    expected: Mapping[str, Decimal],
    actual: Mapping[str, Position],
    tolerance: Mapping[str, Decimal] | Decimal = _ZERO,
) -> list[PositionMismatch]:
    """Lists the symbols where ``actual`` differs from ``expected`` by more than the tolerance.

    A symbol missing from either side counts as flat.

    Args:
        expected: Signed sizes our fills imply.
        actual: The venue's positions by symbol.
        tolerance: One absolute tolerance, or one per symbol (missing symbols: zero).

    Returns:
        Mismatches sorted by symbol.
    """
    out: list[PositionMismatch] = []
    for symbol in sorted(set(expected) | set(actual)):
        exp = expected.get(symbol, _ZERO)
        pos = actual.get(symbol)
        act = _ZERO if pos is None else pos.size
        tol = tolerance.get(symbol, _ZERO) if isinstance(tolerance, Mapping) else tolerance
        diff = act - exp
        if abs(diff) > tol:
            out.append(PositionMismatch(symbol, exp, act, diff))
    return out
