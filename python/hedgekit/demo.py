"""The demo behind ``hedgekit demo``: the funding arbitrage on two simulated venues.

Two simulated venues — a Hyperliquid-style one (``ETH``, hourly funding, synchronous post-only
rejects) and an Aster-style one (``ETHUSDT``, 8-hourly funding, post-only accepted then expired)
— with latency and jitter, FIFO queues, a random-walk market with outside trades and duplicated
fill deliveries. Their funding rates follow a scripted path (:func:`funding_path`) so that over
the run the divergence is first too small to trade, then opens wide, persists, erodes a little,
and finally flips sign: the strategy opens the pair once and closes it on the flip. Both venues
settle funding halfway through the run (:data:`DEMO_COLLATERAL` margins each account), so the
report shows each venue's payments as the strategy booked them and each leg's liquidation
distance while the pair is held.

Everything runs on the virtual clock (:func:`hedgekit.clock.run_virtual`): an hour of venue time
takes a few seconds of wall time. :func:`format_report` renders the operations as aligned
plain-text tables, :func:`plot_run` draws the whole run (every operation, positions, unhedged
exposure, funding earned and PnL) to a PNG and :func:`plot_timeline` one operation's fills and
exposure (matplotlib, Agg backend, no display needed; an optional extra, ``hedgekit[plot]``:
without it :class:`PlotUnavailableError` is raised).

``hedgekit run --config FILE`` runs the same venues with a strategy configuration read from TOML
(:func:`load_config`); the example shipped inside the package (:data:`EXAMPLE_CONFIG`,
``hedgekit/examples/funding_arb.toml``) is :func:`example_config_text`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from hedgekit._core import FillLedger, Instrument
from hedgekit._display import render_table
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import HedgekitError
from hedgekit.execution import (
    AtomicConfig,
    AtomicResult,
    CloseResult,
    CloseStatus,
    EntryPlan,
    LegResult,
    OpenStatus,
)
from hedgekit.risk.margin import Account, LegDistance, pair_liquidation_distance
from hedgekit.strategies.funding_arb import (
    Closed,
    ConfigError,
    FundingArb,
    FundingArbConfig,
    Monitored,
    Opened,
    OperationJournal,
    Skipped,
    StrategyEvent,
    VenuePnL,
)
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    DeliveryConfig,
    Lat,
    LatencyConfig,
    MarginConfig,
    MarketConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
    lighter,
)

__all__ = [
    "DEFAULT_PAIR",
    "DEMO_COLLATERAL",
    "LIGHTER",
    "Pair",
    "check_pair",
    "EXAMPLE_CONFIG",
    "DemoDistance",
    "DemoRun",
    "DemoSample",
    "DemoStatus",
    "PlotUnavailableError",
    "WireSummary",
    "check_config",
    "demo_config",
    "demo_venues",
    "example_config_text",
    "format_report",
    "format_table",
    "funding_path",
    "load_config",
    "matplotlib_figure",
    "plot_run",
    "plot_timeline",
    "run_demo",
    "run_demo_async",
    "timeline_operation",
]

_S = 1_000_000_000
_MS = 1_000_000
D = Decimal

DEMO_COLLATERAL = D(2500)
"""Each demo account's starting collateral (quote units): half the $5,000 leg, so that each
leg's liquidation distance is a number worth reading (about 45 % at the demo's 20x)."""

HL, ASTER, LIGHTER = "hyperliquid", "aster", "lighter"
SYMBOLS = {HL: "ETH", ASTER: "ETHUSDT", LIGHTER: "ETH"}
"""The demo's venues and the symbol each lists (ETH perpetuals on all three)."""

Pair = tuple[str, str]
"""Two of the demo's venues: the one the funding path makes the long leg, then the short one."""

DEFAULT_PAIR: Pair = (ASTER, HL)
"""The simulated demo's pair: long on the Aster-style venue, short on the Hyperliquid-style one."""

# Each venue's seed offset (fixed per venue, whatever the pair: a venue's market is its own).
_SEED_OFFSET = {HL: 1, ASTER: 2, LIGHTER: 3}


def check_pair(pair: Sequence[str]) -> Pair:
    """``pair`` as a :data:`Pair`, checked: two different venues of :data:`SYMBOLS`.

    Raises:
        ConfigError: Not two different demo venues (field ``pair``).
    """
    if len(pair) != 2 or pair[0] == pair[1] or any(v not in SYMBOLS for v in pair):
        raise ConfigError(
            "pair",
            f"two different venues of {', '.join(SYMBOLS)} (long leg first), not "
            f"{','.join(pair)!r}",
        )
    return (pair[0], pair[1])


# ------------------------------------------------------------------------------ the venues


def funding_path(
    duration_s: float, pair: Pair = DEFAULT_PAIR
) -> dict[str, list[tuple[float, Decimal]]]:
    """The scripted funding rates, as ``(seconds from the start, rate per interval)`` per venue.

    Phases, as fractions of the run: 0–15 % a divergence too small to trade; from 15 % the short
    venue's rate (``pair[1]``, hourly on Hyperliquid and Lighter) is high while the long
    venue's (``pair[0]``, 8-hourly on Aster) is negative (about 80 %/yr apart with the default
    pair: the pair opens long ``pair[0]``, short ``pair[1]``); from 35 % it eases somewhat (still
    held); from 65 % the two swap sides (the divergence flips: the pair is closed) and the
    reversed divergence is too small to trade once costs are counted.
    """
    long, short = check_pair(pair)
    return {
        short: [
            (0.0, D("0.00001")),
            (0.15 * duration_s, D("0.00008")),
            (0.35 * duration_s, D("0.00006")),
            (0.65 * duration_s, D("-0.00001")),
        ],
        long: [
            (0.0, D("0")),
            (0.15 * duration_s, D("-0.00008")),
            (0.35 * duration_s, D("-0.00004")),
            (0.65 * duration_s, D("0.00004")),
        ],
    }


def _lat(base_ms: float, jitter_ms: float) -> Lat:
    return Lat(int(base_ms * _MS), int(jitter_ms * _MS), int(jitter_ms * 8 * _MS))


@dataclass(frozen=True, slots=True)
class _Venue:
    """A demo venue's own market: its book, its activity, its latencies (ms, jitter ms) and
    its duplicate deliveries."""

    mid: str
    level_size: str
    vol_bps: float
    trade_rate: float
    trade_size: str
    latency_ms: tuple[float, float, float, float, float, float]  # entry/response, public, private
    p_dup: float


_VENUES = {
    HL: _Venue("2400", "6", 1.0, 0.4, "0.8", (35, 10, 15, 5, 20, 5), 0.15),
    ASTER: _Venue("2400.4", "5", 1.2, 0.3, "0.7", (60, 20, 25, 10, 30, 10), 0.2),
    LIGHTER: _Venue("2400.2", "5", 1.1, 0.35, "0.7", (50, 15, 20, 5, 25, 5), 0.15),
}


def _venue_config(
    name: str, seed: int, path: Sequence[tuple[float, Decimal]], margin: MarginConfig
) -> SimVenueConfig:
    """One simulated demo venue with its funding path."""
    v = _VENUES[name]
    if name == HL:
        # Hyperliquid may give no liquidation price: the demo's leg there uses the margin model
        personality = dataclasses.replace(hyperliquid(), reports_liquidation_price=False)
        instrument = Instrument.hyperliquid(4)
    elif name == ASTER:
        personality = aster()
        instrument = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")
    else:
        personality = lighter()
        instrument = Instrument.lighter(2, 4, min_base_amount="0.005", min_quote_amount="10")
    market = MarketConfig(
        mid=D(v.mid),
        tick=D("0.1"),
        levels=20,
        level_size=D(v.level_size),
        vol_bps_per_sqrt_s=v.vol_bps,
        walk_interval_ns=1000 * _MS,
        trade_rate_per_s=v.trade_rate,
        trade_size=D(v.trade_size),
        funding_rate=path[0][1],
        script=tuple(ScriptedEvent(int(t * _S), "funding", price=r) for t, r in path[1:]),
    )
    rt, rt_j, pub, pub_j, priv, priv_j = v.latency_ms
    latency = LatencyConfig(
        entry=_lat(rt, rt_j),
        response=_lat(rt, rt_j),
        feed_public=_lat(pub, pub_j),
        feed_private=_lat(priv, priv_j),
    )
    return SimVenueConfig(
        name=name,
        personality=personality,
        margin=margin,
        instruments=(SimInstrument(SYMBOLS[name], instrument, market),),
        latency=latency,
        delivery=DeliveryConfig(p_dup=v.p_dup, p_holdback=0.05),
        seed=seed * 7919 + _SEED_OFFSET[name],
    )


def demo_venues(seed: int, duration_s: float, pair: Pair = DEFAULT_PAIR) -> list[SimVenueConfig]:
    """The two simulated venues of the demo, seeded (in :data:`SYMBOLS` order, whatever the
    pair's order).

    Args:
        seed: Base seed (each venue derives its own).
        duration_s: Length of the run (the funding path is scaled to it).
        pair: The two venues, long leg first (:func:`funding_path`).

    Raises:
        ConfigError: ``pair`` is not two different demo venues.
    """
    path = funding_path(duration_s, pair)
    # Both venues settle funding halfway through the run (hourly and 8-hourly instants anchored
    # there), so that one payment of each lands while the pair is held.
    margin = MarginConfig(collateral=DEMO_COLLATERAL, funding_anchor_ns=int(duration_s / 2 * _S))
    return [_venue_config(name, seed, path[name], margin) for name in SYMBOLS if name in pair]


def demo_config(duration_s: float, pair: Pair = DEFAULT_PAIR) -> FundingArbConfig:
    """The strategy's configuration for the demo: $5,000 per leg, 10 %/yr entry threshold, close
    on a flip or after half the divergence eroded, a scan every minute (more often in short
    runs), on the two venues of ``pair``."""
    return FundingArbConfig(
        symbols={v: SYMBOLS[v] for v in SYMBOLS if v in check_pair(pair)},
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


EXAMPLE_CONFIG = "example"
"""The name ``hedgekit run --config`` takes for the example shipped inside the package."""


def example_config_text() -> str:
    """The example strategy configuration shipped inside the package
    (``hedgekit/examples/funding_arb.toml``), read with :mod:`importlib.resources` so that it is
    found in a wheel or a zip as well as in a source checkout."""
    ref = resources.files("hedgekit").joinpath("examples", "funding_arb.toml")
    return ref.read_text(encoding="utf-8")


def load_config(source: str | Path) -> FundingArbConfig:
    """A strategy configuration for the demo's venues, from a TOML file or the shipped example.

    Args:
        source: A path, or :data:`EXAMPLE_CONFIG` (``"example"``) for the shipped example.

    Raises:
        FileNotFoundError: No such file.
        ConfigError: Not TOML, or a field is invalid or does not fit the simulated venues
            (``.field`` names it).
    """
    if str(source) == EXAMPLE_CONFIG:
        import tomllib

        config = FundingArbConfig.from_mapping(tomllib.loads(example_config_text()))
    else:
        config = FundingArbConfig.from_toml(source)
    check_config(config)
    return config


def _pair_of(config: FundingArbConfig | None, pair: Pair | None) -> Pair:
    if pair is not None:
        return check_pair(pair)
    if config is None or set(config.symbols) == set(DEFAULT_PAIR):
        return DEFAULT_PAIR
    return check_pair(tuple(config.symbols))


def check_config(config: FundingArbConfig) -> None:
    """Checks that ``config`` trades the demo's simulated venues and symbols.

    Raises:
        ConfigError: ``symbols`` names another venue or symbol (field ``symbols.<venue>``).
    """
    for venue, symbol in config.symbols.items():
        if venue not in SYMBOLS:
            raise ConfigError(
                f"symbols.{venue}",
                f"no simulated venue of that name; the venues are {', '.join(SYMBOLS)}",
            )
        if symbol != SYMBOLS[venue]:
            raise ConfigError(
                f"symbols.{venue}",
                f"the simulated {venue} venue lists {SYMBOLS[venue]!r}, not {symbol!r}",
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


@dataclass(frozen=True, slots=True)
class DemoSample:
    """The venues' truth at one moment of the run (for :func:`plot_run`).

    Attributes:
        ts_ns: Venue time.
        positions: Signed position size per venue.
        mids: Mid price per venue (``None`` before the first book).
        funding: Funding received so far per venue (negative: paid).
        hourly_rates: Each venue's current funding rate per hour (positive: longs pay).
    """

    ts_ns: int
    positions: dict[str, Decimal]
    mids: dict[str, Decimal | None]
    funding: dict[str, Decimal]
    hourly_rates: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoDistance:
    """One leg's liquidation distance at one moment of the run.

    Attributes:
        ts_ns: Venue time.
        venue: The leg's venue.
        side: ``"long"`` or ``"short"``.
        leg: The distance, its liquidation price and where that price came from
            (``"venue"``: the venue's own; ``"model"``: :mod:`hedgekit.risk.margin`'s, because
            the venue gave none).
        when: ``"opened"`` (right after the open) or ``"held"`` (the last scan before the
            close).
    """

    ts_ns: int
    venue: str
    side: str
    leg: LegDistance
    when: str


@dataclass(frozen=True, slots=True)
class WireSummary:
    """What went over the wire in ``hedgekit demo --wire``, and the venue's truth at the end.

    Attributes:
        url: The fake venue's URL (127.0.0.1).
        signer: What signed every action: the agent address (Hyperliquid), the API wallet
            (Aster), the API key (Lighter, ``account/key index``).
        account: The account it trades for.
        posted: Signed actions the venue got: on the WebSocket (Hyperliquid: orders, cancels,
            the dead-man switch), signed REST requests the fake verified (Aster), signed
            transactions the fake accepted (Lighter).
        rest_actions: Hyperliquid: signed actions sent by REST (the socket was not ready).
        orders: Orders the venue recorded for the account.
        fills_streamed: Fills the session applied to the ledger (each counted once), from the
            stream or a read.
        venue_fills: Fills the venue recorded for the account during the run.
        venue_position: The account's position at the venue at the end.
        ledger_position: The position the session's fills imply.
        venue_resting: Orders still resting at the venue at the end.
        mismatches: Every disagreement between the venue's truth and our ledger (empty: none).
    """

    url: str
    signer: str
    account: str
    posted: int
    rest_actions: int
    orders: int
    fills_streamed: int
    venue_fills: int
    venue_position: Decimal
    ledger_position: Decimal
    venue_resting: int
    mismatches: tuple[str, ...]


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
        samples: The venues' positions, mids and funding every few seconds of venue time.
        funding: The strategy's funding and fees per venue at the end (:meth:`FundingArb.pnl
            <hedgekit.strategies.FundingArb.pnl>`: booked from the venues' payments).
        distances: Each leg's liquidation distance right after each open and at the last scan
            of each held pair.
        pair: The two venues traded, long leg first.
        wires: For ``hedgekit demo --wire``: per venue whose leg went over the wire, what went
            over it and the venue's truth at the end.
    """

    seed: int
    duration_s: float
    operations: list[AtomicResult | CloseResult] = field(default_factory=list)
    events: list[StrategyEvent] = field(default_factory=list)
    start_ns: int = 0
    venue_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    wall_s: float = 0.0
    journal_errors: list[str] = field(default_factory=list)
    samples: list[DemoSample] = field(default_factory=list)
    funding: dict[str, VenuePnL] = field(default_factory=dict)
    distances: list[DemoDistance] = field(default_factory=list)
    pair: Pair = DEFAULT_PAIR
    wires: dict[str, WireSummary] = field(default_factory=dict)

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
    config: FundingArbConfig | None = None,
    sample_s: float = 5.0,
    replace: Mapping[str, tuple[Any, Any]] | None = None,
    on_sessions: Callable[[dict[str, VenueSession]], None] | None = None,
    pair: Pair | None = None,
) -> DemoRun:
    """Runs the demo on the running loop (use :func:`run_demo` for a virtual-time run).

    Args:
        seed: Seeds the venues.
        duration_s: Venue time to run.
        journal: Where operations are journaled, if anywhere.
        journal_url: Instead of ``journal``: a journal URL (:func:`hedgekit.journal.open_journal`)
            opened for the run and closed after it.
        on_event: Called with every strategy event and the demo's status.
        config: The strategy's configuration (default :func:`demo_config`); it must trade the
            demo's venues (:func:`check_config`).
        sample_s: Venue time between two :class:`DemoSample`.
        replace: Venues that take a simulated venue's place, by name, each with the matching
            engine that holds its truth (``hedgekit demo --wire``: the live Hyperliquid adapter
            and the fake's engine of the account); the caller connects and closes them.
        on_sessions: Called with the sessions once they are started.
        pair: The two venues, long leg first (:func:`funding_path`); default: ``config``'s
            venues (:data:`DEFAULT_PAIR` when those are its venues, else in ``config``'s order),
            or :data:`DEFAULT_PAIR` without a ``config``.

    Raises:
        hedgekit.journal.JournalError: The journal could not be opened.
        ConfigError: ``pair`` or ``config`` does not name two demo venues, or they disagree.
    """
    if journal_url is not None:
        from hedgekit.journal import open_journal

        opened = await open_journal(journal_url)
        try:
            return await run_demo_async(
                seed,
                duration_s,
                journal=opened,
                on_event=on_event,
                config=config,
                sample_s=sample_s,
                replace=replace,
                on_sessions=on_sessions,
                pair=pair,
            )
        finally:
            await opened.close()
    pair = _pair_of(config, pair)
    if config is None:
        config = demo_config(duration_s, pair)
    check_config(config)
    if set(config.symbols) != set(pair):
        raise ConfigError("pair", f"the configuration trades {', '.join(config.symbols)}")
    clock = LoopClock()
    ledger = FillLedger()
    replace = dict(replace or {})
    sims = {
        cfg.name: SimVenue(cfg, clock)
        for cfg in demo_venues(seed, duration_s, pair)
        if cfg.name not in replace
    }
    venues: dict[str, Any] = {**sims, **{n: v for n, (v, _) in replace.items()}}
    engines: dict[str, Any] = {n: v.engine for n, v in sims.items()}
    engines.update({n: e for n, (_, e) in replace.items()})
    sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
    run = DemoRun(seed=seed, duration_s=duration_s, start_ns=clock.now_ns(), pair=pair)
    strategy = FundingArb(venues, sessions, config, clock=clock, journal=journal)
    funding: dict[str, Decimal] = {name: Decimal(0) for name in venues}

    def sample() -> None:
        now = clock.now_ns()
        sizes: dict[str, Decimal] = {}
        mids: dict[str, Decimal | None] = {}
        rates: dict[str, Decimal] = {}
        for name, engine in engines.items():
            rate = engine.funding_rates(now).get(SYMBOLS[name])
            rates[name] = Decimal(0) if rate is None else rate.hourly
            pos = engine.positions(now).get(SYMBOLS[name])
            sizes[name] = Decimal(0) if pos is None else pos.size
            if pos is not None:
                funding[name] = pos.funding  # cumulative; a flat position earns nothing
            mids[name] = engine.mid(SYMBOLS[name])
        run.samples.append(DemoSample(now, sizes, mids, dict(funding), rates))

    async def sampler() -> None:
        while True:
            sample()
            await clock.sleep(sample_s)

    held: list[DemoDistance] = []

    def distances(when: str) -> list[DemoDistance]:
        """Each leg's liquidation distance now, from the venues' accounts (empty when a leg is
        flat or a venue's account cannot be modelled)."""
        now = clock.now_ns()
        held_pos = {
            n: p for n, e in engines.items() if (p := e.positions(now).get(SYMBOLS[n])) is not None
        }
        if len(held_pos) != 2:
            return []
        (long, lp), (short, sp) = sorted(held_pos.items(), key=lambda kv: -kv[1].size)
        # The margin model of each account as the venue reports it (positions carry their
        # leverage); the venue's own liquidation price is used where it gives one.
        la, sa = (
            Account.from_venue(
                engines[n].collateral,
                {SYMBOLS[n]: held_pos[n]},
                engines[n].margin_table,
                leverage=Decimal(1),
            )
            for n in (long, short)
        )
        if la is None or sa is None:
            return []
        try:
            pair = pair_liquidation_distance(
                la, SYMBOLS[long], sa, SYMBOLS[short],
                long_venue_price=lp.liquidation_price, short_venue_price=sp.liquidation_price,
            )  # fmt: skip
        except HedgekitError:
            return []
        return [
            DemoDistance(now, long, "long", pair.long, when),
            DemoDistance(now, short, "short", pair.short, when),
        ]

    def seen(event: StrategyEvent) -> None:
        run.events.append(event)
        if isinstance(event, Opened):
            run.distances.extend(distances("opened"))
        elif isinstance(event, Monitored):
            held[:] = distances("held")
        elif isinstance(event, Closed):
            run.distances.extend(held)
            held.clear()
        if on_event is not None:
            status = DemoStatus(
                (clock.now_ns() - run.start_ns) / _S,
                duration_s,
                strategy.state,
                strategy.last_divergence,
            )
            on_event(event, status)

    sampling: asyncio.Task[None] | None = None
    try:
        for v in sims.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        if on_sessions is not None:
            on_sessions(sessions)
        await clock.sleep(1.0)  # first books
        sampling = asyncio.get_running_loop().create_task(sampler())
        await strategy.run(duration_s - 1.0, seen, flatten_at_end=True)
        sample()
    finally:
        if sampling is not None:
            sampling.cancel()
            try:
                await sampling
            except asyncio.CancelledError:
                pass
        for s in sessions.values():
            await s.close()
        for v in sims.values():
            await v.close()
    run.operations = list(strategy.operations)
    run.funding = dict(strategy.pnl().venues)
    run.journal_errors = list(strategy.journal_errors)
    run.venue_stats = {name: dict(v.stats) for name, v in sims.items()}
    return run


def run_demo(
    seed: int = 1,
    duration_s: float = 3600.0,
    *,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
    config: FundingArbConfig | None = None,
    pair: Pair | None = None,
) -> DemoRun:
    """Runs the demo to completion on a fresh virtual-time loop.

    Args:
        seed: Seeds the venues.
        duration_s: Venue time to run (an hour by default; it takes seconds).
        journal_url: Where operations are journaled (:func:`hedgekit.journal.open_journal`), if
            anywhere.
        on_event: Called with every strategy event and the demo's status.
        config: The strategy's configuration (default :func:`demo_config`; ``hedgekit run``
            passes one read by :func:`load_config`).
        pair: The two venues, long leg first (see :func:`run_demo_async`).

    Raises:
        hedgekit.journal.JournalError: The journal could not be opened.
        ConfigError: ``config`` or ``pair`` does not trade the demo's venues.
    """
    t0 = time.perf_counter()
    run = run_virtual(
        run_demo_async(
            seed, duration_s, journal_url=journal_url, on_event=on_event, config=config, pair=pair
        )
    )
    run.wall_s = time.perf_counter() - t0
    return run


# ------------------------------------------------------------------------------- the report


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned table with a rule under the header: numbers right-aligned, text left-aligned
    (drawn by rich when installed; plain text unless the command line styles it for a terminal).

    Args:
        headers: Column titles.
        rows: Cells (``None`` prints as ``-``).
    """
    cells = [[_cell(c) for c in row] for row in rows]
    numeric = [
        all(_is_num(row[i]) for row in cells if row[i] != "-")
        and any(row[i] != "-" for row in cells)
        for i in range(len(headers))
    ]
    return render_table(headers, cells, numeric=numeric, rule=True)


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
    long, short = run.pair
    if not run.wires:
        out.append(
            f"hedgekit demo — funding arbitrage, seed {run.seed}, {run.duration_s / 60:.0f} min of "
            f"venue time ({run.wall_s:.1f} s wall), {long} / {short}"
        )
    else:
        out.append(
            f"hedgekit demo --wire — funding arbitrage, seed {run.seed}, {run.duration_s:.0f} s "
            f"in real time, {long} / {short}; over the wire: "
            + ", ".join(f"{_VENUE_TITLE[v]} to {w.url}" for v, w in run.wires.items())
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
    out.append("")
    out.extend(_funding_lines(run))
    out.append("")
    out.extend(_distance_lines(run))
    for venue, wire in run.wires.items():
        out.append("")
        out.extend(_wire_lines(wire, venue))
    return "\n".join(out)


_VENUE_TITLE = {HL: "Hyperliquid", ASTER: "Aster", LIGHTER: "Lighter"}
_SIGNER_ROLE = {HL: "agent", ASTER: "API wallet", LIGHTER: "API key"}
_POSTED = {
    HL: "signed actions posted on the WebSocket",
    ASTER: "signed REST requests the venue verified",
    LIGHTER: "signed transactions the venue accepted",
}


def _wire_lines(w: WireSummary, venue: str) -> list[str]:
    """Over the wire: what was signed and sent, what the stream brought, the venue's truth."""
    sent: list[list[object]] = [[_POSTED[venue], w.posted]]
    if venue == HL:
        sent.append(["signed actions sent by REST", w.rest_actions])
    rows: list[list[object]] = [
        *sent,
        ["orders the venue recorded", w.orders],
        ["fills our ledger applied (each once)", w.fills_streamed],
        ["fills the venue recorded", w.venue_fills],
        ["position at the venue / from our fills", f"{w.venue_position} / {w.ledger_position}"],
        ["orders resting at the venue at the end", w.venue_resting],
    ]
    lines = [
        f"{_VENUE_TITLE[venue]} over the wire ({_SIGNER_ROLE[venue]} {w.signer} for {w.account})",
        format_table(["what", "count"], rows),
    ]
    if w.mismatches:
        lines += [f"TRUTH MISMATCH: {m}" for m in w.mismatches]
    else:
        lines.append("the venue's truth agrees with the ledger")
    return lines


def _funding_lines(run: DemoRun) -> list[str]:
    """The funding table: per venue, what the strategy booked from the venue's payments."""
    lines = ["Funding per venue (booked from each venue's payments; + received, - paid)"]
    if not run.funding:
        return [*lines, "(none)"]
    rows: list[list[object]] = []
    for venue, f in run.funding.items():
        rows.append(
            [
                venue,
                f.funding_payments,
                _money(f.funding_paid),
                _money(f.funding_accrued),
                _money(f.fees),
                _money(f.net),
            ]
        )
    total = [
        "total",
        sum(f.funding_payments for f in run.funding.values()),
        _money(sum((f.funding_paid for f in run.funding.values()), D(0))),
        _money(sum((f.funding_accrued for f in run.funding.values()), D(0))),
        _money(sum((f.fees for f in run.funding.values()), D(0))),
        _money(sum((f.net for f in run.funding.values()), D(0))),
    ]
    headers = ["venue", "payments", "funding paid", "accrued", "fees", "funding - fees"]
    return [*lines, format_table(headers, [*rows, total])]


def _distance_lines(run: DemoRun) -> list[str]:
    """The liquidation-distance table: each leg right after each open and at the last scan."""
    lines = ["Liquidation distance per leg (source: venue = the venue's price, model = ours)"]
    if not run.distances:
        return [*lines, "(none: no pair was held)"]
    rows: list[list[object]] = []
    for d in run.distances:
        leg = d.leg
        rows.append(
            [
                _t(d.ts_ns, run.start_ns),
                d.when,
                d.venue,
                d.side,
                str(leg.mark),
                "-" if leg.liquidation_price is None else f"{leg.liquidation_price:.2f}",
                "-" if leg.distance is None else f"{float(leg.distance) * 100:.2f}%",
                leg.source,
            ]
        )
    headers = ["at", "when", "venue", "leg", "mark", "liq price", "distance", "source"]
    return [*lines, format_table(headers, rows)]


def _money(x: Decimal) -> str:
    """A quote amount to 4 decimals, signed (exact values are in :attr:`DemoRun.funding`)."""
    return f"{x:+.4f}"


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


class PlotUnavailableError(ImportError):
    """matplotlib is not installed: the PNG is skipped (``pip install "hedgekit[plot]"``)."""


PLOT_HINT = 'pip install "hedgekit[plot]"'
"""What installs the optional plotting dependency."""


def matplotlib_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` on the Agg canvas (no display needed): the one place hedgekit
    imports matplotlib for its PNGs, lazily.

    Raises:
        PlotUnavailableError: matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailableError(
            f"matplotlib is not installed: {PLOT_HINT} to draw PNGs"
        ) from None
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _legend_outside(ax: Any) -> None:
    """A legend to the right of the axes, where it cannot hide a step of the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)


def _save(fig: Any, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(out), format="png", bbox_inches="tight")
    return out


def plot_run(run: DemoRun, path: str | Path, *, op: int | None = None) -> Path:
    """Draws the whole run to a PNG: every operation over the run's duration with each venue's
    position, the unhedged exposure (net signed size across venues × price), the funding earned
    and the PnL (marked to the mid, after fees, funding included); with ``op``, one more panel of
    that operation's fills and exposure (:func:`plot_timeline`'s content).

    Args:
        run: The run.
        path: Where to write the PNG (parent directories are created).
        op: An operation's number in the report (1-based), or ``None``.

    Returns:
        The path written.

    Raises:
        IndexError: ``op`` is not an operation of the run.
        PlotUnavailableError: matplotlib is not installed.
    """
    if op is not None and not 1 <= op <= len(run.operations):
        raise IndexError(f"no operation {op}: the run has {len(run.operations)}")
    panels = 4 if op is not None else 3
    fig = matplotlib_figure(11, 3.0 * panels + 0.5)
    axes = fig.subplots(panels, 1)
    fig.subplots_adjust(hspace=0.5)
    ax_ops, ax_exp, ax_pnl = axes[0], axes[1], axes[2]
    start = run.start_ns
    end_min = run.duration_s / 60

    def minutes(ns: int) -> float:
        return (ns - start) / _S / 60

    # 1. positions (from the fills, exact to the nanosecond) and every operation
    fills = sorted(
        (f for r in run.operations for leg in r.legs for f in leg.fills), key=lambda f: f.ts_ns
    )
    venues = list(run.venue_stats) or sorted({f.venue for f in fills})
    for name in venues:
        xs: list[float] = [0.0]
        ys: list[float] = [0.0]
        size = Decimal(0)
        for f in fills:
            if f.venue == name:
                size += f.side.sign * f.size
                xs.append(minutes(f.ts_ns))
                ys.append(float(size))
        xs.append(end_min)
        ys.append(float(size))
        ax_ops.step(xs, ys, where="post", label=f"{name} position")
    colors = {"open": "tab:green", "close": "tab:purple"}
    for i, r in enumerate(run.operations, 1):
        kind = _kind(r)
        ax_ops.axvline(minutes(r.started_ns), color=colors[kind], linestyle="--", linewidth=0.9)
        ax_ops.annotate(
            f"#{i} {kind}: {r.status.value}",
            (minutes(r.started_ns), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12 * (1 + (i - 1) % 3)),
            textcoords="offset points",
            fontsize=8,
            color=colors[kind],
        )
    ax_ops.axhline(0.0, color="black", linewidth=0.6)
    ax_ops.set_ylabel("position (base)")
    ax_ops.set_title("operations and positions", fontsize=10)
    _legend_outside(ax_ops)

    # 2. unhedged exposure over the run, from every fill
    ex: list[float] = [0.0]
    ey: list[float] = [0.0]
    net = Decimal(0)
    for f in fills:
        net += f.side.sign * f.size
        ex.append(minutes(f.ts_ns))
        ey.append(float(net * f.price))
    ex.append(end_min)
    ey.append(ey[-1])
    ax_exp.step(ex, ey, where="post", color="tab:red", label="unhedged exposure")
    ax_exp.fill_between(ex, ey, step="post", color="tab:red", alpha=0.2)
    ax_exp.axhline(0.0, color="black", linewidth=0.6)
    ax_exp.set_ylabel("exposure (USD)")
    total = sum(r.exposure_usd_s for r in run.operations)
    ax_exp.set_title(f"unhedged exposure: {total:,.1f} USD·s over the run", fontsize=10)
    _legend_outside(ax_exp)

    # 3. funding earned and PnL, marked to the mid
    cash = Decimal(0)
    k = 0
    px: list[float] = []
    fund: list[float] = []
    accrued: list[float] = []
    pnl: list[float] = []
    owed = Decimal(0)
    prev: DemoSample | None = None
    for smp in run.samples:
        if prev is not None:  # accrues pro rata between payments: -size × mid × hourly rate × h
            hours = Decimal(smp.ts_ns - prev.ts_ns) / Decimal(3600 * _S)
            for v, size in prev.positions.items():
                mid = prev.mids.get(v) or Decimal(0)
                owed -= size * mid * prev.hourly_rates.get(v, Decimal(0)) * hours
        prev = smp
        while k < len(fills) and fills[k].ts_ns <= smp.ts_ns:
            f = fills[k]
            cash -= f.side.sign * f.size * f.price + f.fee
            k += 1
        marked = sum(
            (size * (smp.mids.get(v) or Decimal(0)) for v, size in smp.positions.items()),
            Decimal(0),
        )
        earned = sum(smp.funding.values(), Decimal(0))
        px.append(minutes(smp.ts_ns))
        fund.append(float(earned))
        accrued.append(float(owed))
        pnl.append(float(cash + marked + earned))
    ax_pnl.plot(px, fund, color="tab:green", label="funding paid to us")
    ax_pnl.plot(px, accrued, color="tab:green", linestyle="--", label="funding accrued (pro rata)")
    ax_pnl.plot(px, pnl, color="tab:blue", label="PnL (after fees, with funding)")
    ax_pnl.axhline(0.0, color="black", linewidth=0.6)
    ax_pnl.set_ylabel("USD")
    ax_pnl.set_title("funding earned and PnL", fontsize=10)
    _legend_outside(ax_pnl)
    for ax in (ax_ops, ax_exp, ax_pnl):
        ax.set_xlim(0.0, max(end_min, 1e-9))
        ax.grid(True, alpha=0.3)
    ax_pnl.set_xlabel("venue time since the start (min)")

    if op is not None:
        result = run.operations[op - 1]
        _draw_operation(axes[3], result, f"operation #{op}: ")
    fig.suptitle(
        f"funding arbitrage, seed {run.seed}: {len(run.operations)} operation(s) over "
        f"{run.duration_s / 60:.0f} min of venue time"
    )
    return _save(fig, path)


def _draw_operation(ax: Any, result: AtomicResult | CloseResult, prefix: str = "") -> None:
    """One operation on ``ax``: each leg's cumulative fill (left axis) and the unhedged exposure
    (right axis) over the operation's milliseconds."""
    start = result.started_ns
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
        ax.step(
            xs, ys, where="post", linewidth=2, label=f"{leg.venue} {leg.side.value} {leg.symbol}"
        )
    ax.set_ylabel("cumulative fill (base)")
    ax.set_xlabel("time since the operation started (ms)")
    ax.grid(True, alpha=0.3)
    fills = sorted((f for leg in result.legs for f in leg.fills), key=lambda f: f.ts_ns)
    ex: list[float] = [0.0]
    ey: list[float] = [0.0]
    net = Decimal(0)
    for f in fills:
        net += f.side.sign * f.size
        ex.append((f.ts_ns - start) / _MS)
        ey.append(float(net * f.price))
    ex.append(end_ms)
    ey.append(ey[-1])
    twin = ax.twinx()
    twin.step(
        ex, ey, where="post", color="tab:red", linestyle=":", label="unhedged exposure (USD, right)"
    )
    twin.fill_between(ex, ey, step="post", color="tab:red", alpha=0.1)
    twin.set_ylabel("exposure (USD)")
    # The legs' fills (the hedge step included) are drawn above the exposure, never under it.
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(
        handles + h2,
        labels + l2,
        loc="upper left",
        bbox_to_anchor=(1.08, 1.0),
        fontsize=8,
        borderaxespad=0.0,
    )
    ax.set_title(
        f"{prefix}{_kind(result)}: {result.status.value} — exposure "
        f"{result.exposure_usd_s:,.1f} USD·s",
        fontsize=10,
    )


def plot_timeline(result: AtomicResult | CloseResult, path: str | Path, *, title: str = "") -> Path:
    """Draws one operation's timeline to a PNG: each leg's cumulative filled size over time and
    the unhedged exposure (net signed size across the legs × price) over time; the legend sits
    outside the axes.

    Args:
        result: The operation.
        path: Where to write the PNG (parent directories are created).
        title: A title (default: the operation's kind and status).

    Returns:
        The path written.

    Raises:
        PlotUnavailableError: matplotlib is not installed.
    """
    fig = matplotlib_figure(11, 4.5)
    ax = fig.subplots(1, 1)
    _draw_operation(ax, result)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
