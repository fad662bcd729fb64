"""The numbers of one operation, read from the venues' own records, and their summaries over
many seeds (definitions: :mod:`hedgekit.frontier`)."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgekit.execution.exposure import measure_exposure
from hedgekit.model import Fill

__all__ = [
    "HORIZONS_S",
    "Distribution",
    "OpMetrics",
    "Summary",
    "horizon_label",
    "markout_charge",
    "measure_operation",
    "percentile",
    "summarise",
]

HORIZONS_S: tuple[float, ...] = (1.0, 5.0)
"""Markout horizons, seconds after each maker fill."""

_ZERO = Decimal(0)
_NS = 1_000_000_000


def horizon_label(h: float) -> str:
    """``1.0`` → ``"1s"`` (the key of a horizon in reports)."""
    return f"{h:g}s"


def _mid_at(
    history: Sequence[tuple[int, Decimal]], times: Sequence[int], t_ns: int
) -> Decimal | None:
    """The mid in force at ``t_ns``: the last one set at or before it (``None`` before the
    first)."""
    i = bisect.bisect_right(times, t_ns) - 1
    return history[i][1] if i >= 0 else None


def markout_charge(
    fills: Sequence[Fill],
    mid_history: Mapping[str, Sequence[tuple[int, Decimal]]],
    horizon_s: float,
) -> Decimal | None:
    """The adverse move of the mid after our maker fills, in USD, charged against us.

    For each maker fill ``f`` on venue ``v``: ``-side(f) x (mid_v(t + h) - mid_v(t)) x size(f)``
    with ``t`` the fill's venue time and ``mid_v(t)`` the venue's true mid in force at ``t``
    (set at or before ``t``, so a fill caused by a mid move is measured from the moved mid).
    Positive when the mid moved against us (we bought and it fell), negative when it moved our
    way. Taker fills are not charged.

    Returns:
        The sum over the maker fills, or ``None`` when a maker fill's venue has no recorded mid
        at ``t`` (the history does not cover it).
    """
    h_ns = round(horizon_s * _NS)
    times = {v: [t for t, _ in hist] for v, hist in mid_history.items()}
    total = _ZERO
    for f in fills:
        if not f.is_maker:
            continue
        hist = mid_history.get(f.venue, ())
        ts = times.get(f.venue, [])
        m0 = _mid_at(hist, ts, f.ts_ns)
        m1 = _mid_at(hist, ts, f.ts_ns + h_ns)
        if m0 is None or m1 is None:
            return None
        total -= f.side.sign * (m1 - m0) * f.size
    return total


@dataclass(frozen=True, slots=True)
class OpMetrics:
    """One operation (an open or a close) of one seed, from the venues' records.

    Attributes:
        op: ``"open"`` or ``"close"``.
        exposure_usd_s: ``∫ |net size| x price dt`` over the operation's window.
        cost_bps: Cost vs the arrival mid, fees included (``None``: nothing traded).
        markout_adjusted_bps: ``cost_bps`` plus the markout charge of the maker fills, per
            horizon label (``"1s"``, ``"5s"``); ``None`` when nothing traded.
        traded: Size traded, every leg.
        maker: Of it, as maker.
        fills: Fills in the window.
        broken: Open: the legs are not equal and opposite (their moves do not cancel within the
            dust). Close: some leg is not flat.
        full_size: Open: hedged, and every leg moved by the pair size (within the dust).
        oversize_legs: Open: legs whose position moved by more than the pair size.
    """

    op: str
    exposure_usd_s: float
    cost_bps: float | None
    markout_adjusted_bps: Mapping[str, float | None]
    traded: float
    maker: float
    fills: int
    broken: bool
    full_size: bool
    oversize_legs: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "op": self.op,
            "exposure_usd_s": self.exposure_usd_s,
            "cost_bps": self.cost_bps,
            "markout_adjusted_bps": dict(self.markout_adjusted_bps),
            "traded": self.traded,
            "maker": self.maker,
            "fills": self.fills,
            "broken": self.broken,
            "full_size": self.full_size,
            "oversize_legs": self.oversize_legs,
        }


def measure_operation(
    op: str,
    fills: Sequence[Fill],
    *,
    arrival_mids: Mapping[str, Decimal],
    mid_history: Mapping[str, Sequence[tuple[int, Decimal]]],
    t0_ns: int,
    t1_ns: int,
    start_net: Decimal,
    start_price: Decimal,
    before: Mapping[str, Decimal],
    after: Mapping[str, Decimal],
    size: Decimal,
    dust: Decimal,
    horizons_s: Sequence[float] = HORIZONS_S,
) -> OpMetrics:
    """Measures one operation from the venues' truth.

    Args:
        op: ``"open"`` or ``"close"``.
        fills: Our fills executed in ``[t0_ns, t1_ns]``, every venue (the venues' records).
        arrival_mids: Each venue's mid when the operation started.
        mid_history: Each venue's true mids ``(t_ns, mid)``, oldest first.
        t0_ns: Start of the operation.
        t1_ns: End of its window (late fills included).
        start_net: Net size across the legs at ``t0_ns``.
        start_price: Price of ``start_net`` until the first fill.
        before: Each leg venue's position at ``t0_ns``.
        after: Each leg venue's position at ``t1_ns``.
        size: The pair size.
        dust: Sizes within this count as equal (the largest minimum order of the legs' venues).
        horizons_s: Markout horizons.
    """
    exposure = measure_exposure(
        fills, t1_ns, start_net=start_net, start_price=start_price, start_ns=t0_ns
    )
    traded = sum((f.size for f in fills), _ZERO)
    maker = sum((f.size for f in fills if f.is_maker), _ZERO)
    cost = sum(
        (f.side.sign * (f.price - arrival_mids[f.venue]) * f.size + f.fee for f in fills), _ZERO
    )
    notional = sum((arrival_mids[f.venue] * f.size for f in fills), _ZERO)
    adjusted: dict[str, float | None] = {}
    for h in horizons_s:
        charge = markout_charge(fills, mid_history, h) if notional else None
        adjusted[horizon_label(h)] = (
            None if charge is None else float((cost + charge) / notional * 10_000)
        )
    moved = {v: after[v] - before.get(v, _ZERO) for v in after}
    if op == "open":
        neutral = abs(sum(moved.values(), _ZERO)) <= dust
        broken = not neutral
        full = neutral and all(abs(abs(m) - size) <= dust for m in moved.values())
        oversize = sum(1 for m in moved.values() if abs(m) > size)
    else:
        broken = any(abs(p) > dust for p in after.values())
        full = False
        oversize = 0
    return OpMetrics(
        op=op,
        exposure_usd_s=exposure.usd_seconds,
        cost_bps=float(cost / notional * 10_000) if notional else None,
        markout_adjusted_bps=adjusted,
        traded=float(traded),
        maker=float(maker),
        fills=len(fills),
        broken=broken,
        full_size=full,
        oversize_legs=oversize,
    )


def percentile(xs: Sequence[float], q: float) -> float | None:
    """The value of rank ``floor(q x n)`` (0-based, at most ``n - 1``) of the sorted values;
    ``None`` for no value. (``q = 0.99`` over 500 values is the 496th smallest.)"""
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else None


@dataclass(frozen=True, slots=True)
class Distribution:
    """Statistics of one number over many operations.

    Attributes:
        n: Values.
        mean: Arithmetic mean (``math.fsum`` based, exact to the last bit whatever the order).
        median: ``statistics.median``.
        q25: :func:`percentile` 0.25.
        q75: :func:`percentile` 0.75.
        p99: :func:`percentile` 0.99.
    """

    n: int
    mean: float | None
    median: float | None
    q25: float | None
    q75: float | None
    p99: float | None

    @classmethod
    def of(cls, xs: Sequence[float]) -> Distribution:
        """The statistics of ``xs`` (all ``None`` without values)."""
        if not xs:
            return cls(0, None, None, None, None, None)
        return cls(
            len(xs),
            statistics.fmean(xs),
            statistics.median(xs),
            percentile(xs, 0.25),
            percentile(xs, 0.75),
            percentile(xs, 0.99),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "n": self.n,
            "mean": self.mean,
            "median": self.median,
            "q25": self.q25,
            "q75": self.q75,
            "p99": self.p99,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """A policy's operations summarised.

    Attributes:
        operations: Operations summarised.
        exposure_usd_s: Over every operation.
        cost_bps: Over the operations that traded.
        markout_adjusted_bps: Per horizon label, over the operations that traded.
        maker_share: Maker size over traded size, every operation (``None``: nothing traded).
        traded: Size traded.
        full_size_opens: Opens that reached the pair size, hedged.
        broken_pairs: Operations that left the pair broken.
        oversize_legs: Legs moved by more than the pair size by an open.
    """

    operations: int
    exposure_usd_s: Distribution
    cost_bps: Distribution
    markout_adjusted_bps: Mapping[str, Distribution] = field(default_factory=dict)
    maker_share: float | None = None
    traded: float = 0.0
    full_size_opens: int = 0
    broken_pairs: int = 0
    oversize_legs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "operations": self.operations,
            "exposure_usd_s": self.exposure_usd_s.to_dict(),
            "cost_bps": self.cost_bps.to_dict(),
            "markout_adjusted_bps": {k: d.to_dict() for k, d in self.markout_adjusted_bps.items()},
            "maker_share": self.maker_share,
            "traded": self.traded,
            "full_size_opens": self.full_size_opens,
            "broken_pairs": self.broken_pairs,
            "oversize_legs": self.oversize_legs,
        }


def summarise(ops: Sequence[OpMetrics], horizons_s: Sequence[float] = HORIZONS_S) -> Summary:
    """Summarises operations (in a fixed order: the result depends on nothing else)."""
    traded_ops = [o for o in ops if o.cost_bps is not None]
    traded = math.fsum(o.traded for o in ops)
    maker = math.fsum(o.maker for o in ops)
    adjusted = {}
    for h in horizons_s:
        key = horizon_label(h)
        vals = [o.markout_adjusted_bps.get(key) for o in traded_ops]
        adjusted[key] = Distribution.of([v for v in vals if v is not None])
    return Summary(
        operations=len(ops),
        exposure_usd_s=Distribution.of([o.exposure_usd_s for o in ops]),
        cost_bps=Distribution.of([o.cost_bps for o in traded_ops if o.cost_bps is not None]),
        markout_adjusted_bps=adjusted,
        maker_share=maker / traded if traded > 0 else None,
        traded=traded,
        full_size_opens=sum(1 for o in ops if o.op == "open" and o.full_size),
        broken_pairs=sum(1 for o in ops if o.broken),
        oversize_legs=sum(o.oversize_legs for o in ops if o.op == "open"),
    )
