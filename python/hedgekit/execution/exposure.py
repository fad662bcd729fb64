"""Unhedged exposure of an operation, from its fills: ``∫ |net size| x price dt`` in USD·s.

The legs of a pair are on the same underlying, so the operation's net size at any moment is the
signed sum of every fill so far (buys +, sells −). It is piecewise constant between fills; each
piece costs ``|net| x (last fill price) x duration``. Fills are ordered by their execution time,
whatever order they arrived in; fills executed at the same instant count as one step, valued at
their size-weighted price. A float: this is a statistic, never a price.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from hedgekit.model import Fill

__all__ = ["Exposure", "measure_exposure"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Exposure:
    """Exposure statistics of one operation.

    Attributes:
        usd_seconds: ``∫ |net| x price dt`` from the first fill to ``end_ns``.
        max_usd: The largest ``|net| x price`` reached.
        first_fill_ns: Execution time of the first fill (``None`` without fills).
        flat_ns: When the net size last came back within ``tolerance`` and stayed there
            (``None`` if it never left the tolerance, or ends outside it).
        net: The net size at the end.
    """

    usd_seconds: float
    max_usd: float
    first_fill_ns: int | None
    flat_ns: int | None
    net: Decimal


def measure_exposure(
    fills: Iterable[Fill],
    end_ns: int,
    tolerance: Decimal = _ZERO,
    *,
    start_net: Decimal = _ZERO,
    start_price: Decimal = _ZERO,
    start_ns: int | None = None,
) -> Exposure:
    """Integrates the net exposure of ``fills`` up to ``end_ns``.

    Args:
        fills: Every fill of the operation, on every leg, in any order.
        end_ns: The end of the operation (same clock as the fills' ``ts_ns``).
        tolerance: A net size at most this counts as flat (the dust of the venues involved).
        start_net: Net size already open at ``start_ns`` (a close of unequal legs).
        start_price: The price to value ``start_net`` at until the first fill.
        start_ns: When ``start_net`` starts counting (default: the first fill).
    """
    ordered = sorted(fills, key=lambda f: f.ts_ns)
    # Fills executed at the same instant form one step: their net change and their size-weighted
    # price do not depend on the order they arrived in.
    steps: list[tuple[int, Decimal, Decimal]] = []
    i = 0
    while i < len(ordered):
        ts = ordered[i].ts_ns
        change = size = notional = _ZERO
        while i < len(ordered) and ordered[i].ts_ns == ts:
            f = ordered[i]
            change += f.side.sign * f.size
            size += f.size
            notional += f.price * f.size
            i += 1
        steps.append((ts, change, notional / size))
    net = start_net
    price = start_price
    acc = 0.0
    max_usd = float(abs(net) * price)
    prev: int | None = start_ns if start_net else None
    flat_ns: int | None = None
    left = abs(net) > tolerance
    for ts, change, step_price in steps:
        if prev is not None:
            acc += float(abs(net) * price) * (ts - prev) / 1e9
        net += change
        price = step_price
        prev = ts
        max_usd = max(max_usd, float(abs(net) * price))
        if abs(net) > tolerance:
            left = True
            flat_ns = None
        elif left and flat_ns is None:
            flat_ns = ts
    if prev is not None and end_ns > prev:
        acc += float(abs(net) * price) * (end_ns - prev) / 1e9
    return Exposure(
        usd_seconds=acc,
        max_usd=max_usd,
        first_fill_ns=ordered[0].ts_ns if ordered else None,
        flat_ns=flat_ns,
        net=net,
    )
