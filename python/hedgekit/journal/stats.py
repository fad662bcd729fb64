"""Execution-quality statistics read from the journal.

:func:`execution_stats` aggregates finished operations' result records (``AtomicResult`` /
``CloseResult`` ``to_dict()``) and ``"markout"`` events per group: venue and symbol (by default),
optionally the operation kind and a time bucket. Definitions (also in ``docs/journal.md``):

- A leg figure (slippage, fees, maker share) comes from each leg of ``result["legs"]`` whose
  venue/symbol fall in the group. An operation figure (status, hedge latency, exposure, rollback
  cost) is counted once in every group where the operation has a leg, so rows of one operation's
  two venues each carry its whole rollback cost.
- ``succeeded``: status in ``opened``, ``partial``, ``closed``, ``nothing_to_close``;
  ``failed``: ``rolled_back``, ``exposed``; ``refused`` and ``not_filled`` are counted apart;
  ``success_rate = succeeded / (succeeded + failed)`` (``None`` when both are 0).
- Slippage: mean and median of the legs' ``slippage_bps`` (legs without one are left out).
- Maker share: ``Σ maker_size / Σ filled`` over the group's legs.
- Hedge latency: median and 95th percentile (linear interpolation between closest ranks) of
  ``hedge_latency_ns`` in ms, operations with a hedge only.
- Exposure: mean of ``exposure_usd_s`` over the group's operations.
- Rollback cost: sum of ``rollback.cost``.
- Markouts: for each passive fill's ``"markout"`` event ``{venue, symbol, side, fill_price,
  placement_mid, horizon_s, mid}`` (an event with ``"liquidity": "taker"`` is left out),
  ``(mid − placement_mid) / placement_mid × 10 000 × (+1 buy, −1 sell)``; the mean per horizon.
  Positive: the market moved our way after the fill.
- Funding: the sum of the ``"funding"`` events' ``amount`` (each a payment the venue booked on
  a leg, received positive) per venue and symbol, and how many; a payment journalled twice
  (same venue, symbol and ``ts_ns``) is counted once. Funding belongs to no operation: with
  ``group_by`` ``kind`` it is in rows whose kind is empty. Its time bucket and the
  ``since``/``until`` window use the payment's own ``ts_ns``.
- Time bucket: ``period_start_ns = started_ns // period_ns × period_ns`` of the operation (a
  markout event: of its operation when it has a known one, else of its own ``ts_ns``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hedgekit._display import render_table
from hedgekit.journal.core import Journal
from hedgekit.journal.records import OperationRecord

__all__ = [
    "FAILURE_STATUSES",
    "GROUP_KEYS",
    "MARKOUT_HORIZONS_S",
    "REPORT_WIDTH",
    "SUCCESS_STATUSES",
    "StatsRow",
    "execution_stats",
    "format_duration_ms",
    "format_period",
    "format_report",
    "format_table",
    "percentile",
]

SUCCESS_STATUSES: frozenset[str] = frozenset({"opened", "partial", "closed", "nothing_to_close"})
"""Statuses counted as a success."""
FAILURE_STATUSES: frozenset[str] = frozenset({"rolled_back", "exposed"})
"""Statuses counted as a failure."""
GROUP_KEYS: frozenset[str] = frozenset({"venue", "symbol", "kind"})
"""What ``group_by`` may contain."""
MARKOUT_HORIZONS_S: tuple[float, ...] = (0.5, 2.0, 10.0)
"""The horizons always shown (others found in the events are added)."""

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class StatsRow:
    """Execution statistics of one group (see the module docstring for the definitions).

    Attributes:
        venue: The venue (``None`` when not grouped by venue).
        symbol: The symbol (``None`` when not grouped by symbol).
        kind: The operation kind (``None`` when not grouped by kind).
        period_start_ns: Start of the time bucket (``None`` without ``period_ns``).
        operations: Finished operations in the group.
        succeeded: Of which succeeded.
        failed: Of which failed (rolled back or exposed).
        refused: Of which refused by the pre-flight.
        not_filled: Of which nothing filled.
        success_rate: ``succeeded / (succeeded + failed)``.
        slippage_bps_mean: Mean leg slippage, bps (positive: worse for us).
        slippage_bps_median: Median leg slippage, bps.
        fees_total: Total fees (negative: rebates).
        maker_share: Maker size over filled size.
        hedge_latency_ms_median: Median hedge latency, ms.
        hedge_latency_ms_p95: 95th percentile hedge latency, ms.
        exposure_usd_s_mean: Mean unhedged exposure, USD·s.
        rollback_cost_total: Total rollback cost (positive: a loss).
        markout_bps: Mean markout per horizon in seconds, bps (``None``: no sample).
        markout_count: Markout samples per horizon.
        funding_total: Funding the venues booked (received positive), exact.
        funding_payments: How many payments that is.
    """

    venue: str | None
    symbol: str | None
    kind: str | None
    period_start_ns: int | None
    operations: int
    succeeded: int
    failed: int
    refused: int
    not_filled: int
    success_rate: float | None
    slippage_bps_mean: float | None
    slippage_bps_median: float | None
    fees_total: Decimal
    maker_share: float | None
    hedge_latency_ms_median: float | None
    hedge_latency_ms_p95: float | None
    exposure_usd_s_mean: float | None
    rollback_cost_total: Decimal
    markout_bps: dict[float, float | None] = field(default_factory=dict)
    markout_count: dict[float, int] = field(default_factory=dict)
    funding_total: Decimal = _ZERO
    funding_payments: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (Decimals as strings, horizons as ``"0.5s"``-style keys)."""
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "kind": self.kind,
            "period_start_ns": self.period_start_ns,
            "operations": self.operations,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "refused": self.refused,
            "not_filled": self.not_filled,
            "success_rate": self.success_rate,
            "slippage_bps_mean": self.slippage_bps_mean,
            "slippage_bps_median": self.slippage_bps_median,
            "fees_total": str(self.fees_total),
            "funding_total": str(self.funding_total),
            "funding_payments": self.funding_payments,
            "maker_share": self.maker_share,
            "hedge_latency_ms_median": self.hedge_latency_ms_median,
            "hedge_latency_ms_p95": self.hedge_latency_ms_p95,
            "exposure_usd_s_mean": self.exposure_usd_s_mean,
            "rollback_cost_total": str(self.rollback_cost_total),
            "markout_bps": {_horizon_label(h): v for h, v in self.markout_bps.items()},
            "markout_count": {_horizon_label(h): n for h, n in self.markout_count.items()},
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-quantile (0..1) of ``values`` by linear interpolation between closest ranks
    (numpy's default): rank ``q × (n − 1)`` in the sorted values. ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def _horizon_label(h: float) -> str:
    return f"{h:g}s"


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return out if out.is_finite() else None


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass
class _Acc:
    ops: set[str] = field(default_factory=set)
    succeeded: int = 0
    failed: int = 0
    refused: int = 0
    not_filled: int = 0
    slippage: list[float] = field(default_factory=list)
    fees: Decimal = _ZERO
    maker: Decimal = _ZERO
    filled: Decimal = _ZERO
    latency_ms: list[float] = field(default_factory=list)
    exposure: list[float] = field(default_factory=list)
    rollback: Decimal = _ZERO
    markouts: dict[float, list[float]] = field(default_factory=dict)
    funding: Decimal = _ZERO
    funding_payments: int = 0


Key = tuple[str | None, str | None, str | None, int | None]


def _key(
    group_by: Sequence[str], venue: Any, symbol: Any, kind: Any, ts_ns: int, period_ns: int | None
) -> Key:
    return (
        str(venue) if "venue" in group_by and venue is not None else None,
        str(symbol) if "symbol" in group_by and symbol is not None else None,
        str(kind) if "kind" in group_by and kind is not None else None,
        None if period_ns is None else ts_ns // period_ns * period_ns,
    )


def _legs(op: OperationRecord) -> list[dict[str, Any]]:
    legs = (op.result or {}).get("legs")
    if isinstance(legs, list) and legs:
        return [leg for leg in legs if isinstance(leg, dict)]
    return [leg for leg in op.legs if isinstance(leg, dict)]


def _add_operation(
    accs: dict[Key, _Acc], op: OperationRecord, group_by: Sequence[str], period_ns: int | None
) -> None:
    result = op.result or {}
    seen: set[Key] = set()
    for leg in _legs(op):
        key = _key(group_by, leg.get("venue"), leg.get("symbol"), op.kind, op.started_ns, period_ns)
        acc = accs.setdefault(key, _Acc())
        slip = _num(leg.get("slippage_bps"))
        if slip is not None:
            acc.slippage.append(slip)
        acc.fees += _dec(leg.get("fees")) or _ZERO
        filled = _dec(leg.get("filled"))
        maker = _dec(leg.get("maker_size"))
        if filled is not None and filled > 0:
            acc.filled += filled
            acc.maker += maker or _ZERO
        if key in seen:
            continue
        seen.add(key)
        acc.ops.add(op.op_id)
        if op.status in SUCCESS_STATUSES:
            acc.succeeded += 1
        elif op.status in FAILURE_STATUSES:
            acc.failed += 1
        elif op.status == "refused":
            acc.refused += 1
        elif op.status == "not_filled":
            acc.not_filled += 1
        latency = _num(result.get("hedge_latency_ns"))
        if latency is not None:
            acc.latency_ms.append(latency / 1e6)
        exposure = _num(result.get("exposure_usd_s"))
        if exposure is not None:
            acc.exposure.append(exposure)
        rollback = result.get("rollback")
        if isinstance(rollback, dict):
            acc.rollback += _dec(rollback.get("cost")) or _ZERO


def _markout_bps(data: dict[str, Any]) -> tuple[float, float] | None:
    if data.get("liquidity") not in (None, "maker"):
        return None
    horizon = _num(data.get("horizon_s"))
    mid = _dec(data.get("mid"))
    placement = _dec(data.get("placement_mid"))
    side = data.get("side")
    if horizon is None or mid is None or not placement or side not in ("buy", "sell"):
        return None
    sign = 1 if side == "buy" else -1
    return horizon, float((mid - placement) / placement * 10_000) * sign


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return statistics.fmean(vals) if vals else None


async def execution_stats(
    journal: Journal,
    *,
    group_by: Sequence[str] = ("venue", "symbol"),
    period_ns: int | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
) -> list[StatsRow]:
    """Execution statistics per group, from finished operations and ``"markout"`` events.

    Args:
        journal: The journal to read.
        group_by: Any of ``"venue"``, ``"symbol"``, ``"kind"``; an empty sequence gives one
            row for everything.
        period_ns: Also group by time bucket of this length (ns), aligned on the epoch.
        since_ns: Only operations started at or after this time.
        until_ns: Only operations started before this time.

    Returns:
        One row per group, sorted by period, venue, symbol and kind.

    Raises:
        ValueError: An unknown ``group_by`` key or a non-positive ``period_ns``.
    """
    unknown = set(group_by) - GROUP_KEYS
    if unknown:
        raise ValueError(f"unknown group_by keys {sorted(unknown)}: use {sorted(GROUP_KEYS)}")
    if period_ns is not None and (isinstance(period_ns, bool) or period_ns <= 0):
        raise ValueError(f"period_ns must be a positive int, got {period_ns!r}")
    all_ops = await journal.operations(since_ns=since_ns, until_ns=until_ns)
    by_id = {op.op_id: op for op in all_ops}
    accs: dict[Key, _Acc] = {}
    for op in all_ops:
        if op.finished:
            _add_operation(accs, op, group_by, period_ns)
    for ev in await journal.events(event="markout"):
        owner = by_id.get(ev.op_id) if ev.op_id is not None else None
        if owner is None:
            if ev.op_id is not None:
                continue  # an operation outside the time window
            if (since_ns is not None and ev.ts_ns < since_ns) or (
                until_ns is not None and ev.ts_ns >= until_ns
            ):
                continue
        sample = _markout_bps(ev.data)
        if sample is None:
            continue
        ts = owner.started_ns if owner is not None else ev.ts_ns
        kind = owner.kind if owner is not None else None
        key = _key(group_by, ev.data.get("venue"), ev.data.get("symbol"), kind, ts, period_ns)
        accs.setdefault(key, _Acc()).markouts.setdefault(sample[0], []).append(sample[1])

    seen: set[tuple[str, str, int]] = set()
    for ev in await journal.events(event="funding"):
        if (since_ns is not None and ev.ts_ns < since_ns) or (
            until_ns is not None and ev.ts_ns >= until_ns
        ):
            continue
        venue, symbol, amount = (
            ev.data.get("venue"),
            ev.data.get("symbol"),
            _dec(ev.data.get("amount")),
        )
        if amount is None or (str(venue), str(symbol), ev.ts_ns) in seen:
            continue
        seen.add((str(venue), str(symbol), ev.ts_ns))
        acc = accs.setdefault(_key(group_by, venue, symbol, None, ev.ts_ns, period_ns), _Acc())
        acc.funding += amount
        acc.funding_payments += 1

    rows = [_row(key, acc) for key, acc in accs.items()]
    rows.sort(
        key=lambda r: (
            r.period_start_ns if r.period_start_ns is not None else -1,
            r.venue or "",
            r.symbol or "",
            r.kind or "",
        )
    )
    return rows


def _row(key: Key, acc: _Acc) -> StatsRow:
    venue, symbol, kind, period = key
    horizons = sorted(set(MARKOUT_HORIZONS_S) | set(acc.markouts))
    decided = acc.succeeded + acc.failed
    return StatsRow(
        venue=venue,
        symbol=symbol,
        kind=kind,
        period_start_ns=period,
        operations=len(acc.ops),
        succeeded=acc.succeeded,
        failed=acc.failed,
        refused=acc.refused,
        not_filled=acc.not_filled,
        success_rate=acc.succeeded / decided if decided else None,
        slippage_bps_mean=_mean(acc.slippage),
        slippage_bps_median=statistics.median(acc.slippage) if acc.slippage else None,
        fees_total=acc.fees,
        maker_share=float(acc.maker / acc.filled) if acc.filled else None,
        hedge_latency_ms_median=percentile(acc.latency_ms, 0.5),
        hedge_latency_ms_p95=percentile(acc.latency_ms, 0.95),
        exposure_usd_s_mean=_mean(acc.exposure),
        rollback_cost_total=acc.rollback,
        markout_bps={h: _mean(acc.markouts.get(h, ())) for h in horizons},
        markout_count={h: len(acc.markouts.get(h, ())) for h in horizons},
        funding_total=acc.funding,
        funding_payments=acc.funding_payments,
    )


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _attr_getter(name: str) -> Callable[[StatsRow], str]:
    return lambda r: _fmt(getattr(r, name))


def _markout_getter(horizon: float) -> Callable[[StatsRow], str]:
    return lambda r: _fmt(r.markout_bps.get(horizon))


def format_table(rows: Sequence[StatsRow]) -> str:
    """A table of ``rows`` for the CLI: one line per row, columns aligned (text left, numbers
    right), ``-`` for no value (drawn by rich when installed; plain text unless the command line
    styles it for a terminal). Group columns nobody has a value in are left out.

    Args:
        rows: What :func:`execution_stats` returned.

    Returns:
        The table, without a trailing newline (``"no finished operations"`` for no rows).
    """
    if not rows:
        return "no finished operations"
    horizons = sorted({h for r in rows for h in r.markout_bps} | set(MARKOUT_HORIZONS_S))
    columns: list[tuple[str, bool, Callable[[StatsRow], str]]] = []
    if any(r.period_start_ns is not None for r in rows):
        columns.append(("period_start_ns", False, lambda r: _fmt(r.period_start_ns)))
    for name in ("venue", "symbol", "kind"):
        if any(getattr(r, name) is not None for r in rows):
            columns.append((name, True, _attr_getter(name)))
    pct = _pct
    columns += [
        ("ops", False, lambda r: str(r.operations)),
        ("ok", False, lambda r: str(r.succeeded)),
        ("fail", False, lambda r: str(r.failed)),
        ("refused", False, lambda r: str(r.refused)),
        ("unfilled", False, lambda r: str(r.not_filled)),
        ("success", False, lambda r: pct(r.success_rate)),
        ("slip_mean_bps", False, lambda r: _fmt(r.slippage_bps_mean)),
        ("slip_med_bps", False, lambda r: _fmt(r.slippage_bps_median)),
        ("fees", False, lambda r: str(r.fees_total)),
        ("funding", False, lambda r: str(r.funding_total)),
        ("maker", False, lambda r: pct(r.maker_share)),
        ("hedge_med_ms", False, lambda r: _fmt(r.hedge_latency_ms_median, 1)),
        ("hedge_p95_ms", False, lambda r: _fmt(r.hedge_latency_ms_p95, 1)),
        ("exposure_usd_s", False, lambda r: _fmt(r.exposure_usd_s_mean)),
        ("rollback_cost", False, lambda r: str(r.rollback_cost_total)),
    ]
    for h in horizons:
        columns.append((f"mo_{_horizon_label(h)}_bps", False, _markout_getter(h)))
    return render_table(
        [name for name, _, _ in columns],
        [[get(r) for _, _, get in columns] for r in rows],
        numeric=[not text for _, text, _ in columns],
    )


REPORT_WIDTH = 100
"""The width :func:`format_report` keeps every line within."""

_KEY_WIDTH = 24


def format_duration_ms(ms: float | None) -> str:
    """A duration for people: ``850 ms``, ``12.3 s``, ``4.5 min``, ``2.0 h`` (``-`` for none)."""
    if ms is None:
        return "-"
    if abs(ms) < 1000:
        return f"{ms:.0f} ms"
    s = ms / 1000
    if abs(s) < 60:
        return f"{s:.1f} s"
    if abs(s) < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def format_period(start_ns: int, period_ns: int | None = None) -> str:
    """A time bucket's start as ISO-8601 UTC, to the minute (``2026-11-30T12:00Z``), or to the
    second when the period is not a whole number of minutes."""
    import datetime as dt

    when = dt.datetime.fromtimestamp(start_ns / 1e9, tz=dt.UTC)
    if period_ns is not None and period_ns % (60 * 1_000_000_000):
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.strftime("%Y-%m-%dT%H:%MZ")


def _clip(text: str, n: int = _KEY_WIDTH) -> str:
    return text if len(text) <= n else text[: n - 1] + "~"


def _clipped_getter(name: str) -> Callable[[StatsRow], str]:
    return lambda r: _clip(_fmt(getattr(r, name)))


def format_report(
    rows: Sequence[StatsRow], *, period_ns: int | None = None, width: int = REPORT_WIDTH
) -> str:
    """The report ``hedgekit report`` prints: :func:`format_table`'s figures laid out to fit
    ``width`` columns, slippage, fees and funding first. The group columns (period as ISO-8601 UTC, venue, symbol, kind) start
    every block and the figures are split across as many blocks as needed; hedge latencies read
    as durations (``850 ms``, ``12.3 s``). Each block is a table (rich's when installed) drawn
    within ``width``.

    Args:
        rows: What :func:`execution_stats` returned.
        period_ns: The time bucket's length, if grouped by one (shown in the header).
        width: The widest a line may be.

    Returns:
        The report, without a trailing newline; every line is at most ``width`` characters.
    """
    if not rows:
        return "no finished operations"
    horizons = sorted({h for r in rows for h in r.markout_bps} | set(MARKOUT_HORIZONS_S))
    keys: list[tuple[str, bool, Callable[[StatsRow], str]]] = []
    if any(r.period_start_ns is not None for r in rows):
        keys.append(
            (
                "period (UTC)",
                True,
                lambda r: (
                    "-"
                    if r.period_start_ns is None
                    else format_period(r.period_start_ns, period_ns)
                ),
            )
        )
    for name in ("venue", "symbol", "kind"):
        if any(getattr(r, name) is not None for r in rows):
            keys.append((name, True, _clipped_getter(name)))
    # What the pair cost and earned first, side by side: slippage, fees and funding.
    figures: list[tuple[str, bool, Callable[[StatsRow], str]]] = [
        ("ops", False, lambda r: str(r.operations)),
        ("slip mean", False, lambda r: _fmt(r.slippage_bps_mean)),
        ("slip med", False, lambda r: _fmt(r.slippage_bps_median)),
        ("fees", False, lambda r: _clip(str(r.fees_total), 14)),
        ("funding", False, lambda r: _clip(str(r.funding_total), 14)),
        ("ok", False, lambda r: str(r.succeeded)),
        ("fail", False, lambda r: str(r.failed)),
        ("refused", False, lambda r: str(r.refused)),
        ("unfilled", False, lambda r: str(r.not_filled)),
        ("success", False, lambda r: _pct(r.success_rate)),
        ("maker", False, lambda r: _pct(r.maker_share)),
        ("hedge med", False, lambda r: format_duration_ms(r.hedge_latency_ms_median)),
        ("hedge p95", False, lambda r: format_duration_ms(r.hedge_latency_ms_p95)),
        ("exposure", False, lambda r: _fmt(r.exposure_usd_s_mean)),
        ("rollback", False, lambda r: _clip(str(r.rollback_cost_total), 14)),
    ]
    for h in horizons:
        figures.append((f"mo {_horizon_label(h)}", False, _markout_getter(h)))

    def col_width(col: tuple[str, bool, Callable[[StatsRow], str]]) -> int:
        return max(len(col[0]), *(len(col[2](r)) for r in rows))

    key_w = sum(col_width(c) + 2 for c in keys)
    blocks: list[list[tuple[str, bool, Callable[[StatsRow], str]]]] = [[]]
    used = key_w
    for col in figures:
        w = col_width(col) + 2
        if blocks[-1] and used + w > width + 2:
            blocks.append([])
            used = key_w
        blocks[-1].append(col)
        used += w
    lines: list[str] = []
    every = f" per {format_duration_ms(period_ns / 1e6)}" if period_ns is not None else ""
    lines.append(f"execution quality{every}, {len(rows)} group(s)")
    lines.append(
        "slip and mo (markout after a passive fill) in bps, slip + is worse, mo + is our way;"
    )
    lines.append("exposure: mean unhedged USD·s per operation; fees and rollback in quote units;")
    lines.append("funding: booked by the venues' payments, in quote units, + is received")
    for block in blocks:
        columns = keys + block
        lines.append("")
        lines.append(
            render_table(
                [name for name, _, _ in columns],
                [[get(r) for _, _, get in columns] for r in rows],
                numeric=[not text for _, text, _ in columns],
                width=width,
            )
        )
    return "\n".join(lines)
