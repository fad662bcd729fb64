"""The demo behind ``hedgekit demo``: the funding arbitrage on two simulated venues.

Two simulated venues — a Hyperliquid-style one (``ETH``, hourly funding, synchronous post-only
rejects) and an Aster-style one (``ETHUSDT``, 8-hourly funding, post-only accepted then expired)
— with latency and jitter, FIFO queues, a random-walk market with outside trades and duplicated
fill deliveries. Their funding rates follow a scripted path (:func:`funding_path`) so that over
the run the divergence is first too small to trade, then opens wide, persists, erodes a little,
and finally flips sign: the strategy opens the pair once and closes it on the flip.

Everything runs on the virtual clock (:func:`hedgekit.clock.run_virtual`): an hour of venue time
takes a few seconds of wall time. :func:`format_report` renders the operations as aligned
plain-text tables and :func:`plot_timeline` draws one operation's fills and unhedged exposure to
a PNG (matplotlib, Agg backend, no display needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from hedgekit._core import FillLedger, Instrument
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import (
    AtomicConfig,
    AtomicResult,
    CloseResult,
    CloseStatus,
    EntryPlan,
    LegResult,
    OpenStatus,
)
from hedgekit.strategies.funding_arb import (
    Closed,
    FundingArb,
    FundingArbConfig,
    Monitored,
    Opened,
    OperationJournal,
    Skipped,
    StrategyEvent,
)
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    DeliveryConfig,
    Lat,
    LatencyConfig,
    MarketConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
)

__all__ = [
    "DemoRun",
    "DemoStatus",
    "demo_config",
    "demo_venues",
    "format_report",
    "format_table",
    "funding_path",
    "plot_timeline",
    "run_demo",
    "run_demo_async",
    "timeline_operation",
]

_S = 1_000_000_000
_MS = 1_000_000
D = Decimal

HL, ASTER = "hyperliquid", "aster"
SYMBOLS = {HL: "ETH", ASTER: "ETHUSDT"}


# ------------------------------------------------------------------------------ the venues


def funding_path(duration_s: float) -> dict[str, list[tuple[float, Decimal]]]:
    """The scripted funding rates, as ``(seconds from the start, rate per interval)`` per venue.

    Phases, as fractions of the run: 0–15 % a divergence too small to trade; from 15 % the
    Hyperliquid-style venue's hourly rate is high while the Aster-style venue's 8-hourly rate is
    negative (about 80 %/yr apart: the pair opens long Aster, short Hyperliquid); from 35 % it
    eases somewhat (still held); from 65 % the two swap sides (the divergence flips: the pair is
    closed) and the reversed divergence, about 13 %/yr, is too small to trade once costs are
    counted.
    """
    return {
        HL: [
            (0.0, D("0.00001")),
            (0.15 * duration_s, D("0.00008")),
            (0.35 * duration_s, D("0.00006")),
            (0.65 * duration_s, D("-0.00001")),
        ],
        ASTER: [
            (0.0, D("0")),
            (0.15 * duration_s, D("-0.00008")),
            (0.35 * duration_s, D("-0.00004")),
            (0.65 * duration_s, D("0.00004")),
        ],
    }


def demo_venues(seed: int, duration_s: float) -> list[SimVenueConfig]:
    """The two simulated venues of the demo, seeded.

    Args:
        seed: Base seed (each venue derives its own).
        duration_s: Length of the run (the funding path is scaled to it).
    """
    path = funding_path(duration_s)

    def script(venue: str) -> tuple[ScriptedEvent, ...]:
        return tuple(
            ScriptedEvent(int(t * _S), "funding", price=rate) for t, rate in path[venue][1:]
        )

    def lat(base_ms: float, jitter_ms: float) -> Lat:
        return Lat(int(base_ms * _MS), int(jitter_ms * _MS), int(jitter_ms * 8 * _MS))

    hl = SimVenueConfig(
        name=HL,
        personality=hyperliquid(),
        instruments=(
            SimInstrument(
                SYMBOLS[HL],
                Instrument.hyperliquid(4),
                MarketConfig(
                    mid=D("2400"),
                    tick=D("0.1"),
                    levels=20,
                    level_size=D("6"),
                    vol_bps_per_sqrt_s=1.0,
                    walk_interval_ns=1000 * _MS,
                    trade_rate_per_s=0.4,
                    trade_size=D("0.8"),
                    funding_rate=path[HL][0][1],
                    script=script(HL),
                ),
            ),
        ),
        latency=LatencyConfig(
            entry=lat(35, 10), response=lat(35, 10), feed_public=lat(15, 5), feed_private=lat(20, 5)
        ),
        delivery=DeliveryConfig(p_dup=0.15, p_holdback=0.05),
        seed=seed * 7919 + 1,
    )
    ast = SimVenueConfig(
        name=ASTER,
        personality=aster(),
        instruments=(
            SimInstrument(
                SYMBOLS[ASTER],
                Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"),
                MarketConfig(
                    mid=D("2400.4"),
                    tick=D("0.1"),
                    levels=20,
                    level_size=D("5"),
                    spread_ticks=1,
                    vol_bps_per_sqrt_s=1.2,
                    walk_interval_ns=1000 * _MS,
                    trade_rate_per_s=0.3,
                    trade_size=D("0.7"),
                    funding_rate=path[ASTER][0][1],
                    script=script(ASTER),
                ),
            ),
        ),
        latency=LatencyConfig(
            entry=lat(60, 20),
            response=lat(60, 20),
            feed_public=lat(25, 10),
            feed_private=lat(30, 10),
        ),
        delivery=DeliveryConfig(p_dup=0.2, p_holdback=0.05),
        seed=seed * 7919 + 2,
    )
    return [hl, ast]


def demo_config(duration_s: float) -> FundingArbConfig:
    """The strategy's configuration for the demo: $5,000 per leg, 10 %/yr entry threshold, close
    on a flip or after half the divergence eroded, a scan every minute (more often in short
    runs)."""
    return FundingArbConfig(
        symbols=dict(SYMBOLS),
        notional_usd=D("5000"),
        entry_threshold=D("0.10"),
        exit_erosion=D("0.5"),
        exit_on_flip=True,
        expected_cost_bps=D("4"),
        cost_horizon_h=24.0 * 7,
        scan_interval_s=max(5.0, min(60.0, duration_s / 40)),
        stale_after_s=120.0,
        atomic=AtomicConfig(plan=EntryPlan.AUTO),
    )


# ------------------------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class DemoStatus:
    """Where the demo is, for a progress display.

    Attributes:
        elapsed_s: Venue time since the start.
        total_s: The run's length.
        state: ``"flat"`` or ``"open"``.
        divergence: The latest annualised divergence (fraction per year), if any.
    """

    elapsed_s: float
    total_s: float
    state: str
    divergence: Decimal | None


@dataclass(slots=True)
class DemoRun:
    """What a demo run produced.

    Attributes:
        seed: The seed.
        duration_s: Venue time run.
        operations: Every operation's result, in order.
        events: Every strategy event, in order.
        start_ns: Venue time at the start.
        venue_stats: Each simulated venue's counters (requests, duplicated events, ...).
        wall_s: Wall time the run took.
        journal_errors: Journal writes that failed.
    """

    seed: int
    duration_s: float
    operations: list[AtomicResult | CloseResult] = field(default_factory=list)
    events: list[StrategyEvent] = field(default_factory=list)
    start_ns: int = 0
    venue_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    wall_s: float = 0.0
    journal_errors: list[str] = field(default_factory=list)

    @property
    def opened(self) -> int:
        """Opens that put the pair on."""
        return sum(1 for e in self.events if isinstance(e, Opened))

    @property
    def closed(self) -> int:
        """Closes that flattened the pair."""
        return sum(
            1
            for e in self.events
            if isinstance(e, Closed) and e.result.status is not CloseStatus.EXPOSED
        )

    @property
    def exposed(self) -> bool:
        """True when an operation ended exposed."""
        return any(r.status in (OpenStatus.EXPOSED, CloseStatus.EXPOSED) for r in self.operations)


async def run_demo_async(
    seed: int = 1,
    duration_s: float = 3600.0,
    *,
    journal: OperationJournal | None = None,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
) -> DemoRun:
    """Runs the demo on the running loop (use :func:`run_demo` for a virtual-time run).

    Args:
        seed: Seeds the venues.
        duration_s: Venue time to run.
        journal: Where operations are journaled, if anywhere.
        journal_url: Instead of ``journal``: a journal URL (:func:`hedgekit.journal.open_journal`)
            opened for the run and closed after it.
        on_event: Called with every strategy event and the demo's status.

    Raises:
        hedgekit.journal.JournalError: The journal could not be opened.
    """
    if journal_url is not None:
        from hedgekit.journal import open_journal

        opened = await open_journal(journal_url)
        try:
            return await run_demo_async(seed, duration_s, journal=opened, on_event=on_event)
        finally:
            await opened.close()
    clock = LoopClock()
    ledger = FillLedger()
    venues = {cfg.name: SimVenue(cfg, clock) for cfg in demo_venues(seed, duration_s)}
    sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
    run = DemoRun(seed=seed, duration_s=duration_s, start_ns=clock.now_ns())
    strategy = FundingArb(venues, sessions, demo_config(duration_s), clock=clock, journal=journal)

    def seen(event: StrategyEvent) -> None:
        run.events.append(event)
        if on_event is not None:
            status = DemoStatus(
                (clock.now_ns() - run.start_ns) / _S,
                duration_s,
                strategy.state,
                strategy.last_divergence,
            )
            on_event(event, status)

    try:
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await clock.sleep(1.0)  # first books
        await strategy.run(duration_s - 1.0, seen, flatten_at_end=True)
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()
    run.operations = list(strategy.operations)
    run.journal_errors = list(strategy.journal_errors)
    run.venue_stats = {name: dict(v.stats) for name, v in venues.items()}
    return run


def run_demo(
    seed: int = 1,
    duration_s: float = 3600.0,
    *,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
) -> DemoRun:
    """Runs the demo to completion on a fresh virtual-time loop.

    Args:
        seed: Seeds the venues.
        duration_s: Venue time to run (an hour by default; it takes seconds).
        journal_url: Where operations are journaled (:func:`hedgekit.journal.open_journal`), if
            anywhere.
        on_event: Called with every strategy event and the demo's status.

    Raises:
        hedgekit.journal.JournalError: The journal could not be opened.
    """
    t0 = time.perf_counter()
    run = run_virtual(run_demo_async(seed, duration_s, journal_url=journal_url, on_event=on_event))
    run.wall_s = time.perf_counter() - t0
    return run


# ------------------------------------------------------------------------------- the report


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Aligned plain-text table: numbers right-aligned, text left-aligned.

    Args:
        headers: Column titles.
        rows: Cells (``None`` prints as ``-``).
    """
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    numeric = [
        all(_is_num(row[i]) for row in cells if row[i] != "-")
        and any(row[i] != "-" for row in cells)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        out = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), sep, *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _is_num(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def _pct(x: Decimal | None) -> str:
    return "-" if x is None else f"{float(x) * 100:+.1f}%/yr"


def _t(ns: int, start_ns: int) -> str:
    s = max(0, (ns - start_ns) // _S)
    return f"{s // 60:02d}:{s % 60:02d}"


def _op_cost_bps(legs: Sequence[LegResult]) -> float | None:
    num = 0.0
    den = 0.0
    for leg in legs:
        c = leg.cost_bps
        if c is None or leg.avg_price is None:
            continue
        w = float(leg.filled * leg.avg_price)
        num += c * w
        den += w
    return None if den == 0 else num / den


def _kind(result: AtomicResult | CloseResult) -> str:
    return "open" if isinstance(result, AtomicResult) else "close"


def format_report(run: DemoRun) -> str:
    """The demo's report: operations, per-leg fills, hedges, incidents and the strategy's
    decisions, as aligned plain-text tables."""
    out: list[str] = []
    reasons = {id(e.result): e.reason for e in run.events if isinstance(e, Closed)}
    out.append(
        f"hedgekit demo — funding arbitrage, seed {run.seed}, {run.duration_s / 60:.0f} min of venue time "
        f"({run.wall_s:.1f} s wall)"
    )
    out.append("")
    out.append("Operations")
    rows: list[list[object]] = []
    for i, r in enumerate(run.operations, 1):
        rows.append(
            [
                i,
                _kind(r),
                _t(r.started_ns, run.start_ns),
                f"{(r.ended_ns - r.started_ns) / _MS:.0f}",
                r.status.value,
                reasons.get(id(r)) or r.reason or "",
                _fmt_bps(_op_cost_bps(r.legs)),
                f"{r.exposure_usd_s:,.1f}",
                len(r.hedges) if isinstance(r, AtomicResult) else len(r.orders),
                len(r.incidents),
            ]
        )
    out.append(
        format_table(
            [
                "#",
                "kind",
                "at",
                "took ms",
                "status",
                "reason",
                "cost bps",
                "exposure USD·s",
                "hedges/orders",
                "incidents",
            ],
            rows,
        )
    )
    out.append("")
    out.append("Fills per leg")
    rows = []
    for i, r in enumerate(run.operations, 1):
        for leg in r.legs:
            rows.append(
                [
                    i,
                    leg.venue,
                    leg.symbol,
                    leg.side.value,
                    len(leg.fills),
                    str(leg.filled),
                    None if leg.avg_price is None else str(leg.avg_price),
                    str(leg.fees),
                    None if leg.maker_share is None else f"{leg.maker_share * 100:.0f}%",
                    _fmt_bps(leg.slippage_bps),
                    _fmt_bps(leg.cost_bps),
                ]
            )
    out.append(
        format_table(
            [
                "#",
                "venue",
                "symbol",
                "side",
                "fills",
                "size",
                "avg price",
                "fees",
                "maker",
                "slip bps",
                "cost bps",
            ],
            rows,
        )
    )
    hedge_rows: list[list[object]] = []
    for i, r in enumerate(run.operations, 1):
        if not isinstance(r, AtomicResult):
            continue
        for h in r.hedges:
            hedge_rows.append(
                [
                    i,
                    h.venue,
                    h.side.value,
                    str(h.requested),
                    str(h.filled),
                    None if h.avg_price is None else str(h.avg_price),
                    h.mode,
                    None if r.hedge_latency_ns is None else f"{r.hedge_latency_ns / _MS:.0f}",
                ]
            )
    out.append("")
    out.append("Hedges")
    if hedge_rows:
        out.append(
            format_table(
                ["#", "venue", "side", "requested", "filled", "avg price", "mode", "latency ms"],
                hedge_rows,
            )
        )
    else:
        out.append("(none: no leg was left alone long enough to need one)")
    out.append("")
    out.append("Incidents")
    inc_rows: list[list[object]] = []
    for i, r in enumerate(run.operations, 1):
        for inc in r.incidents:
            inc_rows.append(
                [
                    i,
                    f"{(inc.ts_ns - r.started_ns) / _MS:.0f}",
                    inc.kind,
                    inc.venue or "",
                    _short(inc.detail, 70),
                ]
            )
    out.append(
        format_table(["#", "+ms", "kind", "venue", "detail"], inc_rows) if inc_rows else "(none)"
    )
    out.append("")
    out.append("Strategy decisions")
    dec_rows: list[list[object]] = []
    for e in run.events:
        if isinstance(e, Opened):
            dec_rows.append(
                [
                    _t(e.ts_ns, run.start_ns),
                    "opened",
                    f"long {e.opportunity.long_venue} / short {e.opportunity.short_venue}",
                    _pct(e.opportunity.gross),
                    _pct(e.opportunity.net),
                ]
            )
        elif isinstance(e, Closed):
            dec_rows.append(
                [
                    _t(e.ts_ns, run.start_ns),
                    f"closed: {e.reason}",
                    e.result.status.value,
                    _pct(e.divergence),
                    "",
                ]
            )
        elif isinstance(e, Skipped) and e.reason != "below_threshold":
            dec_rows.append(
                [_t(e.ts_ns, run.start_ns), f"skipped: {e.reason}", _short(e.detail, 50), "", ""]
            )
    skipped = sum(1 for e in run.events if isinstance(e, Skipped) and e.reason == "below_threshold")
    monitored = sum(1 for e in run.events if isinstance(e, Monitored))
    out.append(
        format_table(["at", "decision", "detail", "gross", "net"], dec_rows)
        if dec_rows
        else "(none)"
    )
    out.append(
        f"scans: {len(run.events)}; below threshold: {skipped}; held and monitored: {monitored}"
    )
    dups = {name: s.get("duplicated_events", 0) for name, s in run.venue_stats.items()}
    out.append(
        "duplicate deliveries by the venues (each fill counted once): "
        + ", ".join(f"{k} {v}" for k, v in dups.items())
    )
    return "\n".join(out)


def _fmt_bps(x: float | None) -> str | None:
    return None if x is None else f"{x:.2f}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def timeline_operation(run: DemoRun) -> AtomicResult | CloseResult | None:
    """The operation worth plotting: the first open that put the pair on, else the first
    operation with fills."""
    for e in run.events:
        if isinstance(e, Opened):
            return e.result
    return next((r for r in run.operations if any(leg.fills for leg in r.legs)), None)


def plot_timeline(result: AtomicResult | CloseResult, path: str | Path, *, title: str = "") -> Path:
    """Draws one operation's timeline to a PNG: each leg's cumulative filled size over time,
    and the unhedged exposure (net signed size across the legs × price) over time.

    Args:
        result: The operation.
        path: Where to write the PNG (parent directories are created).
        title: A title (default: the operation's kind and status).

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    start = result.started_ns
    fig = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    fills = sorted((f for leg in result.legs for f in leg.fills), key=lambda f: f.ts_ns)
    end_ms = max((result.ended_ns - start) / _MS, 1.0)
    for leg in result.legs:
        xs: list[float] = [0.0]
        ys: list[float] = [0.0]
        total = Decimal(0)
        for f in sorted(leg.fills, key=lambda f: f.ts_ns):
            total += f.size * (1 if f.side is leg.side else -1)
            xs.append((f.ts_ns - start) / _MS)
            ys.append(float(total))
        xs.append(end_ms)
        ys.append(float(total))
        ax1.step(xs, ys, where="post", label=f"{leg.venue} {leg.side.value} {leg.symbol}")
    ax1.set_ylabel("cumulative fill (base)")
    ax1.legend(loc="lower right")
    ax1.grid(True, alpha=0.3)
    ex: list[float] = [0.0]
    ey: list[float] = [0.0]
    net = Decimal(0)
    for f in fills:
        net += f.side.sign * f.size
        ex.append((f.ts_ns - start) / _MS)
        ey.append(float(net * f.price))
    ex.append(end_ms)
    ey.append(ey[-1])
    ax2.step(ex, ey, where="post", color="tab:red")
    ax2.fill_between(ex, ey, step="post", color="tab:red", alpha=0.2)
    ax2.axhline(0.0, color="black", linewidth=0.6)
    ax2.set_ylabel("unhedged exposure (USD)")
    ax2.set_xlabel("time since the operation started (ms)")
    ax2.grid(True, alpha=0.3)
    fig.suptitle(
        title
        or f"{_kind(result)}: {result.status.value} — exposure {result.exposure_usd_s:,.1f} USD·s"
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(out), format="png")
    return out
