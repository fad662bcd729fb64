"""Scenario files: simulated venues, their market and faults, starting positions, and one
operation — as TOML or JSON data (format: ``docs/scenarios.md``).

:func:`load_scenario` reads a file, :func:`parse_scenario` a mapping; both validate everything
up front and raise :class:`ScenarioError` naming the offending field, so a malformed scenario
never half-runs. Numbers that become prices or sizes must be strings or integers (``"2.332"``):
a TOML/JSON float is refused, since it may not be the number that was written.

The format is one typed schema, :class:`ScenarioFile` and the ``msgspec.Struct`` tables under
it, validated in one pass by msgspec (:mod:`hedgekit._schema` turns its first error into a
one-line :class:`ScenarioError` naming the field); the few rules a schema cannot state (unique
venue names, legs and positions naming a venue and its symbol, fields that exclude each other)
are checked on the result, before anything is built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

from hedgekit._core import Instrument
from hedgekit._schema import (
    MAX_EXACT,
    Exact,
    FractionOrOff,
    NonNegativeExact,
    Pairs,
    PositiveExact,
    convert,
    replace_from,
)
from hedgekit.errors import HedgekitError
from hedgekit.execution.config import (
    AtomicConfig,
    CloseConfig,
    CloseLeg,
    EntryPlan,
    ExecutionMode,
    HedgePricing,
    HedgeTiming,
    LegSpec,
)
from hedgekit.execution.kill import KillConfig
from hedgekit.model import Side
from hedgekit.risk.drift import DriftConfig, DriftPolicy, PairLegs
from hedgekit.risk.monitor import RiskThresholds
from hedgekit.risk.tiers import MarginTable, MarginTier
from hedgekit.venues.sim.config import (
    DEFAULT_REQUEST_EXPIRY_NS,
    REQUEST_OPS,
    CancelSplit,
    DeliveryConfig,
    Disconnect,
    FaultConfig,
    FillConfig,
    Lat,
    LatencyConfig,
    LatencyProfile,
    LostMessage,
    MarginConfig,
    MarketConfig,
    MarketFactor,
    Outage,
    Personality,
    PostOnlyMode,
    QueueConfig,
    RateLimit,
    RateLimitConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenueConfig,
    aster,
    hyperliquid,
    latency_profile,
    lighter,
)

__all__ = [
    "MAX_EXACT",
    "RUN_KINDS",
    "KillRun",
    "MonitorRun",
    "RestingOrder",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "StartPosition",
    "StrategyRun",
    "load_scenario",
    "parse_scenario",
]

MS = 1_000_000
MAX_NUMBER = 86_400_000.0
"""The largest plain number any field accepts (a day, in milliseconds)."""
MAX_SECONDS = 86_400.0
"""The largest duration in seconds (a day)."""
_MAX_FACTOR_VOL = 1_000.0
"""Largest volatility of a market factor, bps/√s (10 %/√s: far beyond any real market)."""
_MAX_FACTOR_MS = 60_000.0
"""Largest factor step, lag and informed horizon, ms."""
_PERSONALITIES = {"hyperliquid": hyperliquid, "aster": aster, "lighter": lighter}


class ScenarioError(HedgekitError, ValueError):
    """A scenario file or mapping is malformed.

    Attributes:
        field: Where, as a dotted path (``"venues[1].market.mid"``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True, slots=True)
class StartPosition:
    """A position the account holds before the operation starts."""

    venue: str
    symbol: str
    size: Decimal
    entry_price: Decimal


RUN_KINDS = ("drift", "risk", "kill", "funding_arb")
"""The operation kinds that run a risk control over time instead of one open or close."""


@dataclass(frozen=True, slots=True)
class MonitorRun:
    """A ``drift`` or ``risk`` operation: a monitor checking a held pair every ``every_s``
    seconds for ``for_s`` seconds, acting on what it finds.

    Attributes:
        pair: The pair (long and short venue and symbol).
        every_s: Seconds between checks.
        for_s: How long the monitor runs.
        drift: The drift monitor's configuration (``drift``).
        thresholds: The risk monitor's thresholds (``risk``).
    """

    pair: PairLegs
    every_s: float
    for_s: float
    drift: DriftConfig | None = None
    thresholds: RiskThresholds | None = None


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """An order placed (good till cancelled) before a ``kill`` engages."""

    venue: str
    symbol: str
    side: Side
    size: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class KillRun:
    """A ``kill`` operation: orders left resting, then the kill switch engaged."""

    resting: tuple[RestingOrder, ...]
    config: KillConfig


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """A ``funding_arb`` operation: the reference strategy for ``for_s`` seconds.

    Attributes:
        config: The strategy's configuration (a
            :class:`~hedgekit.strategies.funding_arb.FundingArbConfig`).
        for_s: How long it runs.
    """

    config: Any
    for_s: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed, validated scenario.

    Attributes:
        name: A label.
        seed: The base seed (each venue's seed is derived from it and its name unless given).
        venues: The simulated venues.
        positions: Starting positions.
        kind: ``"open"`` or ``"close"``.
        legs: The operation's legs (``LegSpec`` for an open, ``CloseLeg`` for a close).
        size: The pair size of an open.
        atomic: The open's configuration.
        close: The close's configuration.
        start_after_s: Virtual seconds the market runs before the operation starts.
        settle_s: Virtual seconds after the operation for late events before the checks.
        run: For the kinds of :data:`RUN_KINDS`: what runs (``legs`` is then empty).
        expect_funding: ``[expect.funding]``: per venue, ``("received" | "paid", payments or
            None)`` that the funding booked from the venue must come to (the
            ``funding_booked`` invariant).
    """

    name: str
    seed: int
    venues: tuple[SimVenueConfig, ...]
    positions: tuple[StartPosition, ...]
    kind: str
    legs: tuple[LegSpec, ...] | tuple[CloseLeg, ...]
    size: Decimal | None
    atomic: AtomicConfig
    close: CloseConfig
    start_after_s: float = 1.0
    settle_s: float = 5.0
    run: MonitorRun | KillRun | StrategyRun | None = None
    expect_funding: Mapping[str, tuple[str, int | None]] = dataclasses.field(default_factory=dict)

    def with_seed(self, seed: int) -> Scenario:
        """The same scenario with another seed for every venue (for many seeded runs), and for
        the shared market factor if there is one."""
        venues = tuple(
            _reseed_factor(dataclasses.replace(v, seed=_venue_seed(seed, v.name)), seed)
            for v in self.venues
        )
        return dataclasses.replace(self, seed=seed, venues=venues)


def _venue_seed(seed: int, name: str) -> int:
    return int.from_bytes(f"{seed}:{name}".encode(), "big") % (2**63)


def _factor_seed(seed: int) -> int:
    """The shared market factor's seed, derived from the scenario seed (every digit counts)."""
    digest = hashlib.sha256(f"{seed}:market_factor".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


def _reseed_factor(cfg: SimVenueConfig, seed: int) -> SimVenueConfig:
    """``cfg`` with its markets' shared factor seeded from the scenario seed ``seed``."""
    if not any(i.market.factor is not None for i in cfg.instruments):
        return cfg
    insts = tuple(
        i
        if i.market.factor is None
        else dataclasses.replace(
            i,
            market=dataclasses.replace(
                i.market,
                factor=dataclasses.replace(i.market.factor, seed=_factor_seed(seed)),
            ),
        )
        for i in cfg.instruments
    )
    return dataclasses.replace(cfg, instruments=insts)


# ------------------------------------------------------------------------------------ schema
#
# One struct per table of the format (docs/scenarios.md). A field that is ``None`` by default
# is optional and its absence matters (its default depends on another field, or giving it
# excludes another); every other default is the format's.

Text = Annotated[str, Meta(min_length=1)]
Count = Annotated[int, Meta(ge=0)]
Ms = Annotated[float, Meta(ge=0.0, le=MAX_NUMBER)]
"""Any plain number of the format: finite, 0 to a day in milliseconds."""
Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
Seconds = Annotated[float, Meta(ge=0.0, le=MAX_SECONDS)]
Timeout = Annotated[float, Meta(ge=1e-9, le=MAX_SECONDS)]
FactorMs = Annotated[float, Meta(ge=1.0, le=_MAX_FACTOR_MS)]
RequestOp = Literal[
    "place", "cancel", "modify", "status", "fills", "positions", "funding",
    "account", "leverage", "set_leverage", "funding_payments", "open_orders",
]  # fmt: skip
assert get_args(RequestOp) == REQUEST_OPS, "RequestOp must list the simulator's REQUEST_OPS"


class _Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A table of a scenario file: an unknown key is an error."""


class InstrumentSpec(_Table):
    """``venues[i].instrument``; which fields apply depends on ``kind`` (checked after)."""

    symbol: Text
    kind: Literal["plain", "hyperliquid", "lighter"] = "plain"
    tick: PositiveExact | None = None
    step: PositiveExact | None = None
    min_qty: NonNegativeExact | None = None
    min_notional: NonNegativeExact | None = None
    reduce_only_exempt: bool | None = None
    sz_decimals: Count | None = None
    price_decimals: Count | None = None
    size_decimals: Count | None = None
    min_base_amount: NonNegativeExact | None = None
    min_quote_amount: NonNegativeExact | None = None


class ScriptEventSpec(_Table):
    """``venues[i].market.script[j]`` (:class:`ScriptedEvent` checks the combination; a
    ``move`` is expanded here into ``steps`` mid moves over ``duration_ms``)."""

    action: Text
    at_ms: Ms = 0.0
    side: str | None = None
    size: Exact | None = None
    price: Exact | None = None
    duration_ms: Annotated[float, Meta(gt=0.0, le=MAX_NUMBER)] | None = None
    steps: Annotated[int, Meta(ge=1, le=1000)] | None = None


class MarketSpec(_Table):
    """``venues[i].market``."""

    mid: PositiveExact
    tick: PositiveExact | None = None  # the instrument's tick
    levels: Annotated[int, Meta(ge=1, le=1000)] = 20
    level_size: PositiveExact = PositiveExact(5)
    depth_growth: NonNegativeExact = NonNegativeExact("0.25")
    spread_ticks: Annotated[int, Meta(ge=1, le=100_000)] = 1
    vol_bps_per_sqrt_s: Annotated[float, Meta(ge=0.0, le=10_000.0)] | None = None  # 0
    walk_interval_ms: Annotated[float, Meta(ge=1.0, le=MAX_NUMBER)] | None = None  # 500
    trade_rate_per_s: Annotated[float, Meta(ge=0.0, le=1000.0)] = 0.0
    trade_size: PositiveExact = PositiveExact(1)
    funding_rate: Exact = Exact(0)
    script: list[ScriptEventSpec] = []
    level_size_max: PositiveExact | None = None
    factor_lag_ms: Annotated[float, Meta(ge=0.0, le=_MAX_FACTOR_MS)] | None = None  # 0
    informed_share: Probability | None = None  # 0
    informed_horizon_ms: FactorMs | None = None  # 2000
    refill_ms: Annotated[float, Meta(ge=1.0, le=MAX_NUMBER)] | None = None  # never


class LatSpec(_Table):
    """One path's latency as a table (defaults: the path's base, the venue's jitter, 10x it)."""

    base_ms: Ms | None = None
    jitter_ms: Ms | None = None
    cap_ms: Ms | None = None


class SchedulePairs(Pairs):
    """``latency.schedule_ms``: when the base latency changes."""

    __slots__ = ()
    expected = "a list of [t_ms, base_ms] pairs"
    non_negative = True


class WindowPairs(Pairs):
    """``faults.reject_windows_ms``: when every request is rejected."""

    __slots__ = ()
    expected = "a list of [from_ms, to_ms] pairs"


class LatencySpec(_Table):
    """``venues[i].latency``: a path is a number of ms or a :class:`LatSpec`."""

    entry_ms: Ms | LatSpec | None = None  # 10
    response_ms: Ms | LatSpec | None = None  # 10
    feed_public_ms: Ms | LatSpec | None = None  # 5
    feed_private_ms: Ms | LatSpec | None = None  # 5
    jitter_ms: Ms | None = None  # 0
    speed_bumps: dict[str, Ms] = {}
    schedule_ms: SchedulePairs | None = None
    p_overload: Probability = 0.0


class QueueSpec(_Table):
    """``venues[i].queue``."""

    cancel_split: CancelSplit = CancelSplit.TAIL


class FillsSpec(_Table):
    """``venues[i].fills``."""

    max_fill_per_event: PositiveExact | None = None
    split_fills: Annotated[int, Meta(ge=1, le=100)] = 1
    shared_trade_id: bool = False


class DeliverySpec(_Table):
    """``venues[i].delivery``."""

    p_dup: Probability = 0.0
    p_holdback: Probability = 0.0
    p_shuffle: Probability = 0.0
    fill_before_ack: bool = False


class RateLimitSpec(_Table):
    """``venues[i].limits.limits[j]``."""

    capacity: Annotated[int, Meta(ge=1)]
    key: Text = "ip"
    refill_per_s: Ms = 0.0
    window_ms: Ms = 0.0
    ops: Annotated[list[str], Meta(extra={"expected": "a list of operation names"})] = []


class LimitsSpec(_Table):
    """``venues[i].limits``."""

    limits: list[RateLimitSpec] = []
    ban_after: Annotated[int, Meta(ge=1, extra={"expected": "a positive integer"})] | None = None
    ban_ms: Ms = 120_000.0


class WindowSpec(_Table):
    """``faults.disconnects[j]`` and ``faults.feed_stalls[j]``."""

    start_ms: Ms = 0.0
    duration_ms: Ms = 0.0
    snapshot_fills: Annotated[int, Meta(ge=0, le=100_000)] = 0


class LostMessageSpec(_Table):
    """``faults.lose_answers[j]``."""

    op: RequestOp
    n: Annotated[int, Meta(ge=1)]
    kind: Literal["answer", "request"] = "answer"


class OutageSpec(_Table):
    """``faults.outages[j]``."""

    op: RequestOp
    start_ms: Ms = 0.0
    duration_ms: Ms = 0.0


class FaultsSpec(_Table):
    """``venues[i].faults``."""

    disconnects: list[WindowSpec] = []
    p_req_loss: Probability = 0.0
    p_resp_loss: Probability = 0.0
    p_reject: Probability = 0.0
    reject_windows_ms: WindowPairs | None = None
    request_timeout_ms: Ms = 2000.0
    feed_stalls: list[WindowSpec] = []
    p_feed_drop: Probability = 0.0
    reject_post_only: bool = False
    lose_answers: list[LostMessageSpec] = []
    outages: list[OutageSpec] = []
    fill_processing_errors: Count = 0


class MarginTierSpec(_Table):
    """``venues[i].margin.tiers[j]`` (a :class:`~hedgekit.risk.MarginTier`)."""

    notional_floor: NonNegativeExact
    max_leverage: PositiveExact
    maintenance_rate: PositiveExact
    maintenance_amount: NonNegativeExact = NonNegativeExact(0)


class MarginSpec(_Table):
    """``venues[i].margin``: the simulated account and the instrument's margin."""

    collateral: NonNegativeExact | None = None  # effectively unlimited
    liquidation_fee: NonNegativeExact | None = None  # the taker rate
    funding_anchor_ms: Ms = 0.0
    leverage: PositiveExact | None = None  # the personality's default
    funding_interval_h: Annotated[float, Meta(gt=0.0, le=24.0 * 365)] | None = None
    funding_continuous_s: Annotated[int, Meta(ge=1, le=86_400)] | None = None  # periodic
    tiers: list[MarginTierSpec] | None = None  # the personality's table
    reports_liquidation_price: bool | None = None  # the personality's


class VenueSpec(_Table):
    """``venues[i]``."""

    name: Text
    personality: Literal["hyperliquid", "aster", "lighter"]
    instrument: InstrumentSpec
    market: MarketSpec
    post_only_mode: PostOnlyMode | None = None  # the personality's
    modify_new_id: bool | None = None  # the personality's
    latency_profile: LatencyProfile | None = None
    latency: LatencySpec = msgspec.field(default_factory=LatencySpec)
    queue: QueueSpec = msgspec.field(default_factory=QueueSpec)
    fills: FillsSpec = msgspec.field(default_factory=FillsSpec)
    delivery: DeliverySpec = msgspec.field(default_factory=DeliverySpec)
    limits: LimitsSpec = msgspec.field(default_factory=LimitsSpec)
    faults: FaultsSpec = msgspec.field(default_factory=FaultsSpec)
    margin: MarginSpec = msgspec.field(default_factory=MarginSpec)
    request_expiry_ms: Ms | None = None  # 4000; 0: requests never expire
    seed: Count | None = None  # derived from the scenario's seed and the name


class MarketFactorSpec(_Table):
    """The top-level ``[market_factor]``."""

    vol_bps_per_sqrt_s: Annotated[float, Meta(ge=0.01, le=_MAX_FACTOR_VOL)] = 1.0
    correlation_1s: Annotated[float, Meta(ge=0.1, le=1.0)] | None = None
    basis_vol_bps: Annotated[float, Meta(ge=0.0, le=_MAX_FACTOR_VOL)] | None = None
    basis_half_life_s: Annotated[float, Meta(ge=0.1, le=MAX_SECONDS)] = 20.0
    step_ms: FactorMs = 250.0
    seed: Count | None = None  # derived from the scenario's seed


class PositionSpec(_Table):
    """``positions[i]``."""

    venue: Text
    size: Exact
    entry_price: PositiveExact
    symbol: Text | None = None  # the venue's


class OrderSpec(_Table):
    """Overrides of an :class:`OrderConfig` (``operation.config.entry``, ...)."""

    mode: ExecutionMode | None = None
    offset_bps: Exact | None = None
    reprice_tolerance_bps: Exact | None = None
    market_protection_bps: Exact | None = None
    timeout_s: Timeout | None = None
    reprice_check_s: Timeout | None = None
    step_timeout_s: Timeout | None = None
    max_book_age_s: Timeout | None = None
    improve: bool | None = None
    market_fallback: bool | None = None
    max_post_only_rejects: Count | None = None
    ladder_cross_bps: list[NonNegativeExact] | None = None


class AtomicSpec(_Table):
    """Overrides of the open's :class:`AtomicConfig` (``operation.config`` of an open)."""

    max_entry_spread_bps: NonNegativeExact | None = None
    slippage_budget_bps: NonNegativeExact | None = None
    hedge_threshold: NonNegativeExact | None = None
    entry_timeout_s: Timeout | None = None
    deadline_s: Timeout | None = None
    max_book_age_s: Timeout | None = None
    settle_timeout_s: Timeout | None = None
    plan: EntryPlan | None = None
    split: bool | None = None
    hedge_timing: HedgeTiming | None = None
    hedge_pricing: HedgePricing | None = None
    maker_budget_usd_s: NonNegativeExact | None = None
    margin_check: bool | None = None
    leverage: PositiveExact | None = None
    min_liquidation_distance: NonNegativeExact | None = None
    entry: OrderSpec | None = None
    hedge: OrderSpec | None = None
    rollback: OrderSpec | None = None


class CloseSpec(_Table):
    """Overrides of the close's :class:`CloseConfig` (``operation.config`` of a close)."""

    max_exit_spread_bps: NonNegativeExact | None = None
    phase1_timeout_s: Timeout | None = None
    deadline_s: Timeout | None = None
    settle_timeout_s: Timeout | None = None
    passive: OrderSpec | None = None
    phase2: OrderSpec | None = None
    emergency: OrderSpec | None = None


class OpenLegSpec(_Table):
    """``operation.legs[i]`` of an open."""

    venue: Text
    side: Side
    symbol: Text | None = None  # the venue's


class CloseLegSpec(_Table):
    """``operation.legs[i]`` of a close."""

    venue: Text
    symbol: Text | None = None  # the venue's


class _Operation(_Table, tag_field="kind"):
    """``[operation]``: ``kind`` says which of the two tables it is."""

    start_after_s: Seconds = 1.0
    settle_s: Seconds = 5.0


class OpenOperation(_Operation, tag="open", kw_only=True):
    """``[operation]`` with ``kind = "open"``."""

    size: PositiveExact
    legs: list[OpenLegSpec] = []
    config: AtomicSpec | None = None


class CloseOperation(_Operation, tag="close", kw_only=True):
    """``[operation]`` with ``kind = "close"``."""

    legs: list[CloseLegSpec] = []
    config: CloseSpec | None = None


class _PairOperation(_Operation, kw_only=True):
    """A monitor over the held pair ``long``/``short`` (venue names)."""

    long: Text
    short: Text
    every_s: Timeout = 1.0
    for_s: Timeout


class DriftOperation(_PairOperation, tag="drift", kw_only=True):
    """``[operation]`` with ``kind = "drift"``: a :class:`~hedgekit.risk.drift.DriftMonitor`."""

    policy: DriftPolicy = DriftPolicy.REHEDGE
    confirm_after_s: Timeout = 2.0
    deadline_s: Timeout = 30.0


class RiskOperation(_PairOperation, tag="risk", kw_only=True):
    """``[operation]`` with ``kind = "risk"``: a :class:`~hedgekit.risk.monitor.PairRiskMonitor`
    (a threshold left out is the monitor's default; ``false`` turns it off)."""

    warn_below: FractionOrOff | None = None
    reduce_below: FractionOrOff | None = None
    close_below: FractionOrOff | None = None
    reduce_fraction: FractionOrOff | None = None


class RestingSpec(_Table):
    """``operation.resting[i]`` of a kill."""

    venue: Text
    side: Side
    size: PositiveExact
    price: PositiveExact


class KillOperation(_Operation, tag="kill", kw_only=True):
    """``[operation]`` with ``kind = "kill"``: orders left resting, then the kill switch."""

    resting: list[RestingSpec] = []
    deadline_s: Timeout = 60.0
    settle_timeout_s: Timeout = 5.0


class FundingArbOperation(_Operation, tag="funding_arb", kw_only=True):
    """``[operation]`` with ``kind = "funding_arb"``: the reference strategy; ``config`` is its
    configuration file's fields (``symbols`` defaults to the two venues' symbols)."""

    for_s: Timeout
    config: dict[str, Any] = {}


class FundingExpectSpec(_Table):
    """``expect.funding.<venue>``: what the funding booked on that venue must come to."""

    sign: Literal["received", "paid"]
    payments: Count | None = None  # any number


class ExpectSpec(_Table):
    """The top-level ``[expect]``: outcomes worked out by hand, checked after the run."""

    funding: dict[str, FundingExpectSpec] = {}


class ScenarioFile(_Table):
    """A whole scenario file (the top level)."""

    name: Text = "scenario"
    seed: Count = 0
    market_factor: MarketFactorSpec | None = None
    venues: list[VenueSpec] = []
    positions: list[PositionSpec] = []
    operation: (
        OpenOperation
        | CloseOperation
        | DriftOperation
        | RiskOperation
        | KillOperation
        | FundingArbOperation
        | None
    ) = None
    expect: ExpectSpec = msgspec.field(default_factory=ExpectSpec)


# ---------------------------------------------------------------------------- loading


def load_scenario(path: str | Path) -> Scenario:
    """Reads and validates a ``.toml`` or ``.json`` scenario file.

    Raises:
        FileNotFoundError: No such file.
        ScenarioError: The file does not parse, or a field is missing or invalid.
    """
    p = Path(path)
    raw = p.read_bytes()
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError("", f"{p.name} does not parse: {exc}") from None
    except RecursionError:
        raise ScenarioError("", f"{p.name} does not parse: nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ScenarioError("", f"{p.name}: the top level must be a table/object")
    return parse_scenario(data)


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validates a scenario given as a mapping (a parsed TOML/JSON document).

    Raises:
        ScenarioError: A missing, unknown or invalid field (``.field`` says where).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("", "the top level must be a table/object")
    _factor_fields(data)
    try:
        spec = convert(data, ScenarioFile, ScenarioError)
    except RecursionError:
        raise ScenarioError("", "nested too deeply") from None
    return _scenario(spec)


# --------------------------------------------------------------- from the schema to the model
#
# What follows builds the simulator's and executors' configurations from the validated
# structs, and checks what the schema cannot: combinations of fields, names that must match.


_WITH_FACTOR_ONLY = ("informed_share", "informed_horizon_ms", "factor_lag_ms")
_WITHOUT_FACTOR_ONLY = ("vol_bps_per_sqrt_s", "walk_interval_ms", "refill_ms")


def _factor_fields(data: Mapping[str, Any]) -> None:
    """Market fields that belong only with a ``[market_factor]`` (or only without one) are
    refused for being there, whatever their value: checked on the document, before its values
    are."""
    venues = data.get("venues")
    if not isinstance(venues, list):
        return
    with_factor = "market_factor" in data
    for i, venue in enumerate(venues):
        market = venue.get("market") if isinstance(venue, Mapping) else None
        if not isinstance(market, Mapping):
            continue
        for key in _WITHOUT_FACTOR_ONLY if with_factor else _WITH_FACTOR_ONLY:
            if key in market:
                raise ScenarioError(
                    f"venues[{i}].market.{key}",
                    # The shared factor drives the mid: a walk of the venue's own is ignored.
                    "cannot be combined with [market_factor], which moves the mid"
                    if with_factor
                    else "needs a [market_factor] table",
                )


def _d(value: Decimal) -> Decimal:
    """A plain ``Decimal`` from a schema's exact value (a ``Decimal`` subclass)."""
    return Decimal(value)


def _od(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _ns(ms: float) -> int:
    return int(ms * MS)


_INSTRUMENT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required, optional)
    "plain": (("tick", "step"), ("min_qty", "min_notional", "reduce_only_exempt")),
    "hyperliquid": (("sz_decimals",), ("min_notional",)),
    "lighter": (("price_decimals", "size_decimals", "min_base_amount", "min_quote_amount"), ()),
}


def _instrument(spec: InstrumentSpec, path: str) -> Instrument:
    required, optional = _INSTRUMENT_FIELDS[spec.kind]
    given = {f for f in spec.__struct_fields__ if f not in ("symbol", "kind")}
    given = {f for f in given if getattr(spec, f) is not None}
    foreign = sorted(given - set(required) - set(optional))
    if foreign:
        raise ScenarioError(path, f"unknown field(s) for kind {spec.kind!r}: {', '.join(foreign)}")
    for name in required:
        if getattr(spec, name) is None:
            what = (
                "an integer"
                if name.endswith("_decimals")
                else "an exact number (a string or integer)"
            )
            raise ScenarioError(f"{path}.{name}", f"{what} is required")
    try:
        if spec.kind == "hyperliquid":
            assert spec.sz_decimals is not None
            return Instrument.hyperliquid(
                spec.sz_decimals,
                min_notional=Decimal(10) if spec.min_notional is None else _d(spec.min_notional),
            )
        if spec.kind == "lighter":
            assert spec.price_decimals is not None and spec.size_decimals is not None
            assert spec.min_base_amount is not None and spec.min_quote_amount is not None
            return Instrument.lighter(
                spec.price_decimals,
                spec.size_decimals,
                min_base_amount=_d(spec.min_base_amount),
                min_quote_amount=_d(spec.min_quote_amount),
            )
        assert spec.tick is not None and spec.step is not None
        return Instrument.plain(
            _d(spec.tick),
            _d(spec.step),
            min_qty=Decimal(0) if spec.min_qty is None else _d(spec.min_qty),
            min_notional=Decimal(0) if spec.min_notional is None else _d(spec.min_notional),
            reduce_only_exempt=True if spec.reduce_only_exempt is None else spec.reduce_only_exempt,
        )
    except (ValueError, TypeError) as exc:
        raise ScenarioError(path, str(exc)) from None


def _lat(value: float | LatSpec | None, base_ms: float, jitter_ms: float) -> Lat:
    if isinstance(value, LatSpec):
        return Lat(
            _ns(base_ms if value.base_ms is None else value.base_ms),
            _ns(jitter_ms if value.jitter_ms is None else value.jitter_ms),
            _ns(jitter_ms * 10 if value.cap_ms is None else value.cap_ms),
        )
    v = base_ms if value is None else value
    return Lat(_ns(v), _ns(jitter_ms), _ns(jitter_ms * 10))


_LATENCY_PATH_KEYS = ("entry_ms", "response_ms", "feed_public_ms", "feed_private_ms", "jitter_ms")


def _latency(spec: LatencySpec, path: str, profile: LatencyConfig | None) -> LatencyConfig:
    if profile is not None:
        for key in _LATENCY_PATH_KEYS:
            if getattr(spec, key) is not None:
                raise ScenarioError(
                    f"{path}.{key}",
                    "cannot be combined with the venue's latency_profile (the profile sets every "
                    "path; only speed_bumps, schedule_ms and p_overload may be added)",
                )
    speed = tuple((k, _ns(spec.speed_bumps[k])) for k in sorted(spec.speed_bumps))
    pairs = spec.schedule_ms.items if spec.schedule_ms is not None else ()
    schedule = tuple((_ns(t), _ns(b)) for t, b in sorted(pairs))
    if profile is not None:
        return dataclasses.replace(
            profile, schedule=schedule, speed_bumps=speed, p_overload=spec.p_overload
        )
    jitter = 0.0 if spec.jitter_ms is None else spec.jitter_ms
    return LatencyConfig(
        schedule=schedule,
        entry=_lat(spec.entry_ms, 10.0, jitter),
        response=_lat(spec.response_ms, 10.0, jitter),
        feed_public=_lat(spec.feed_public_ms, 5.0, jitter),
        feed_private=_lat(spec.feed_private_ms, 5.0, jitter),
        speed_bumps=speed,
        p_overload=spec.p_overload,
    )


def _market_factor(spec: MarketFactorSpec, seed: int) -> MarketFactor:
    """The top-level ``[market_factor]`` table."""
    if spec.correlation_1s is not None and spec.basis_vol_bps is not None:
        raise ScenarioError(
            "market_factor.basis_vol_bps", "give correlation_1s or basis_vol_bps, not both"
        )
    return MarketFactor(
        vol_bps_per_sqrt_s=spec.vol_bps_per_sqrt_s,
        correlation_1s=spec.correlation_1s,
        basis_vol_bps=spec.basis_vol_bps,
        basis_half_life_s=spec.basis_half_life_s,
        step_ns=_ns(spec.step_ms),
        seed=_factor_seed(seed) if spec.seed is None else spec.seed,
    )


def _market(
    spec: MarketSpec, path: str, rules: Instrument, factor: MarketFactor | None
) -> MarketConfig:
    """The venue's market (:func:`_factor_fields` has checked which fields go with ``factor``)."""
    script: list[ScriptedEvent] = []
    mid = _d(spec.mid)  # where a move starts: the last mid the script set, else the start
    for j, e in sorted(enumerate(spec.script), key=lambda je: je[1].at_ms):
        try:
            if e.action == "move":
                script += _move(e, mid, rules.tick_size if spec.tick is None else _d(spec.tick))
                assert e.price is not None
                mid = _d(e.price)
                continue
            if e.duration_ms is not None or e.steps is not None:
                raise ValueError("duration_ms and steps belong to a 'move' only")
            script.append(
                ScriptedEvent(
                    at_ns=_ns(e.at_ms),
                    action=e.action,
                    side=e.side,
                    size=_od(e.size),
                    price=_od(e.price),
                )
            )
            if e.action == "mid" and e.price is not None:
                mid = _d(e.price)
        except ValueError as exc:
            raise ScenarioError(f"{path}.script[{j}]", str(exc)) from None
    if spec.level_size_max is not None and spec.level_size_max < spec.level_size:
        raise ScenarioError(
            f"{path}.level_size_max",
            f"must be at least level_size ({spec.level_size}), got {spec.level_size_max}",
        )
    return MarketConfig(
        mid=_d(spec.mid),
        tick=rules.tick_size if spec.tick is None else _d(spec.tick),
        levels=spec.levels,
        level_size=_d(spec.level_size),
        depth_growth=_d(spec.depth_growth),
        spread_ticks=spec.spread_ticks,
        vol_bps_per_sqrt_s=spec.vol_bps_per_sqrt_s or 0.0,
        walk_interval_ns=_ns(500.0 if spec.walk_interval_ms is None else spec.walk_interval_ms),
        trade_rate_per_s=spec.trade_rate_per_s,
        trade_size=_d(spec.trade_size),
        funding_rate=_d(spec.funding_rate),
        script=tuple(sorted(script, key=lambda ev: ev.at_ns)),
        level_size_max=_od(spec.level_size_max),
        factor=factor,
        factor_lag_ns=_ns(spec.factor_lag_ms or 0.0),
        informed_share=spec.informed_share or 0.0,
        informed_horizon_ns=_ns(
            2000.0 if spec.informed_horizon_ms is None else spec.informed_horizon_ms
        ),
        refill_interval_ns=_ns(spec.refill_ms or 0.0),
    )


def _move(e: ScriptEventSpec, start: Decimal, tick: Decimal) -> list[ScriptedEvent]:
    """A ``move``: the mid goes from ``start`` to ``price`` in ``steps`` equal moves (default
    10, each rounded to the market's tick) spread over ``duration_ms`` from ``at_ms`` on, each
    a ``mid`` event (a move past our position's liquidation price liquidates it, as a jump
    does)."""
    if e.price is None or e.duration_ms is None:
        raise ValueError("scripted 'move' needs price and duration_ms")
    if e.side is not None or e.size is not None:
        raise ValueError("scripted 'move' takes price, duration_ms and steps only")
    steps = 10 if e.steps is None else e.steps
    target = _d(e.price)
    if target <= 0:
        raise ValueError(f"scripted 'move' price must be positive, got {target}")
    out = []
    for k in range(1, steps + 1):
        at_ms = e.at_ms + e.duration_ms * k / steps
        price = target if k == steps else start + (target - start) * k / steps
        price = (price / tick).to_integral_value() * tick
        out.append(ScriptedEvent(at_ns=_ns(at_ms), action="mid", price=price))
    return out


def _windows(specs: list[WindowSpec]) -> tuple[Disconnect, ...]:
    return tuple(Disconnect(_ns(w.start_ms), _ns(w.duration_ms), w.snapshot_fills) for w in specs)


def _faults(spec: FaultsSpec) -> FaultConfig:
    windows = spec.reject_windows_ms.items if spec.reject_windows_ms is not None else ()
    return FaultConfig(
        disconnects=_windows(spec.disconnects),
        p_req_loss=spec.p_req_loss,
        p_resp_loss=spec.p_resp_loss,
        p_reject=spec.p_reject,
        reject_windows=tuple((_ns(a), _ns(b)) for a, b in windows),
        request_timeout_ns=_ns(spec.request_timeout_ms),
        feed_stalls=_windows(spec.feed_stalls),
        p_feed_drop=spec.p_feed_drop,
        reject_post_only=spec.reject_post_only,
        lose_answers=tuple(LostMessage(x.op, x.n, x.kind) for x in spec.lose_answers),
        outages=tuple(Outage(o.op, _ns(o.start_ms), _ns(o.duration_ms)) for o in spec.outages),
        fill_processing_errors=spec.fill_processing_errors,
    )


def _limits(spec: LimitsSpec) -> RateLimitConfig:
    limits = tuple(
        RateLimit(
            key=t.key,
            capacity=t.capacity,
            refill_per_s=t.refill_per_s,
            window_ns=_ns(t.window_ms),
            ops=tuple(t.ops),
        )
        for t in spec.limits
    )
    return RateLimitConfig(limits=limits, ban_after=spec.ban_after, ban_ns=_ns(spec.ban_ms))


def _personality(spec: VenueSpec) -> Personality:
    overrides: dict[str, object] = {}
    if spec.post_only_mode is not None:
        overrides["post_only_mode"] = spec.post_only_mode
    if spec.modify_new_id is not None:
        overrides["modify_new_id"] = spec.modify_new_id
    if spec.margin.reports_liquidation_price is not None:
        overrides["reports_liquidation_price"] = spec.margin.reports_liquidation_price
    return _PERSONALITIES[spec.personality](**overrides)


def _margin(spec: MarginSpec, path: str) -> tuple[MarginConfig, dict[str, Any]]:
    """The account's configuration and the instrument's margin settings."""
    try:
        account = MarginConfig(
            **({} if spec.collateral is None else {"collateral": Decimal(spec.collateral)}),
            liquidation_fee_rate=_od(spec.liquidation_fee),
            funding_anchor_ns=_ns(spec.funding_anchor_ms),
        )
        instrument: dict[str, Any] = {}
        if spec.leverage is not None:
            instrument["leverage"] = Decimal(spec.leverage)
        if spec.funding_interval_h is not None:
            instrument["funding_interval_s"] = max(1, round(spec.funding_interval_h * 3600))
        if spec.funding_continuous_s is not None:
            instrument["funding_continuous_s"] = spec.funding_continuous_s
        if spec.tiers is not None:
            instrument["margin_table"] = MarginTable(
                tuple(
                    MarginTier(
                        Decimal(t.notional_floor),
                        Decimal(t.max_leverage),
                        Decimal(t.maintenance_rate),
                        Decimal(t.maintenance_amount),
                    )  # fmt: skip
                    for t in spec.tiers
                )
            )
    except (ValueError, HedgekitError) as exc:
        raise ScenarioError(path, str(exc)) from None
    return account, instrument


def _venue(spec: VenueSpec, path: str, seed: int, factor: MarketFactor | None) -> SimVenueConfig:
    profile = None if spec.latency_profile is None else latency_profile(spec.latency_profile)
    rules = _instrument(spec.instrument, f"{path}.instrument")
    market = _market(spec.market, f"{path}.market", rules, factor)
    if spec.fills.shared_trade_id and spec.fills.split_fills > 1:
        raise ScenarioError(
            f"{path}.fills.shared_trade_id", "cannot be combined with split_fills > 1"
        )
    account, margin = _margin(spec.margin, f"{path}.margin")
    expiry = (
        DEFAULT_REQUEST_EXPIRY_NS if spec.request_expiry_ms is None else _ns(spec.request_expiry_ms)
    )
    return SimVenueConfig(
        name=spec.name,
        personality=_personality(spec),
        request_expiry_ns=expiry,
        instruments=(SimInstrument(spec.instrument.symbol, rules, market, **margin),),
        margin=account,
        latency=_latency(spec.latency, f"{path}.latency", profile),
        queue=QueueConfig(cancel_split=spec.queue.cancel_split),
        fills=FillConfig(
            max_fill_per_event=_od(spec.fills.max_fill_per_event),
            split_fills=spec.fills.split_fills,
            shared_trade_id=spec.fills.shared_trade_id,
        ),
        limits=_limits(spec.limits),
        delivery=DeliveryConfig(
            p_dup=spec.delivery.p_dup,
            p_holdback=spec.delivery.p_holdback,
            p_shuffle=spec.delivery.p_shuffle,
            fill_before_ack=spec.delivery.fill_before_ack,
        ),
        faults=_faults(spec.faults),
        seed=_venue_seed(seed, spec.name) if spec.seed is None else spec.seed,
    )


def _symbol(venue: str, symbol: str | None, symbols: Mapping[str, str], path: str) -> str:
    """The leg's or position's symbol: the venue's own, which must exist."""
    if venue not in symbols:
        raise ScenarioError(f"{path}.venue", f"unknown venue {venue!r}")
    if symbol is not None and symbol != symbols[venue]:
        raise ScenarioError(f"{path}.symbol", f"{venue} trades {symbols[venue]!r}, not {symbol!r}")
    return symbols[venue]


def _scenario(spec: ScenarioFile) -> Scenario:
    factor = None if spec.market_factor is None else _market_factor(spec.market_factor, spec.seed)
    venues = tuple(_venue(v, f"venues[{i}]", spec.seed, factor) for i, v in enumerate(spec.venues))
    if len(venues) < 1:
        raise ScenarioError("venues", "at least one venue is required")
    names = [v.name for v in venues]
    if len(set(names)) != len(names):
        raise ScenarioError("venues", f"venue names must be unique: {names}")
    symbols = {v.name: v.instruments[0].symbol for v in venues}
    positions = tuple(
        StartPosition(
            p.venue,
            _symbol(p.venue, p.symbol, symbols, f"positions[{i}]"),
            _d(p.size),
            _d(p.entry_price),
        )
        for i, p in enumerate(spec.positions)
    )
    op = spec.operation
    if op is None:
        raise ScenarioError(
            "operation.kind",
            'an [operation] table whose kind is the string "open" or "close" is required',
        )
    if not isinstance(op, OpenOperation | CloseOperation):
        return Scenario(
            name=spec.name, seed=spec.seed, venues=venues, positions=positions,
            kind=str(op.__struct_config__.tag), legs=(), size=None, atomic=AtomicConfig(),
            close=CloseConfig(), start_after_s=op.start_after_s, settle_s=op.settle_s,
            run=_run(op, symbols),
        )  # fmt: skip
    legs: tuple[LegSpec, ...] | tuple[CloseLeg, ...]
    if isinstance(op, OpenOperation):
        legs = tuple(
            LegSpec(
                leg.venue, _symbol(leg.venue, leg.symbol, symbols, f"operation.legs[{i}]"), leg.side
            )
            for i, leg in enumerate(op.legs)
        )
    else:
        legs = tuple(
            CloseLeg(leg.venue, _symbol(leg.venue, leg.symbol, symbols, f"operation.legs[{i}]"))
            for i, leg in enumerate(op.legs)
        )
    if len(legs) < (2 if isinstance(op, OpenOperation) else 1):
        raise ScenarioError("operation.legs", "an open needs two legs, a close at least one")
    if len({leg.venue for leg in legs}) != len(legs):
        raise ScenarioError("operation.legs", "one leg per venue")
    atomic, close = AtomicConfig(), CloseConfig()
    if isinstance(op, OpenOperation) and op.config is not None:
        atomic = replace_from(atomic, op.config, "operation.config", ScenarioError)
    if isinstance(op, CloseOperation) and op.config is not None:
        close = replace_from(close, op.config, "operation.config", ScenarioError)
    for venue in spec.expect.funding:
        _symbol(venue, None, symbols, f"expect.funding.{venue}")
    return Scenario(
        name=spec.name,
        seed=spec.seed,
        venues=venues,
        positions=positions,
        kind="open" if isinstance(op, OpenOperation) else "close",
        legs=legs,
        size=_d(op.size) if isinstance(op, OpenOperation) else None,
        atomic=atomic,
        close=close,
        start_after_s=op.start_after_s,
        settle_s=op.settle_s,
        expect_funding={v: (e.sign, e.payments) for v, e in spec.expect.funding.items()},
    )


def _run(
    op: DriftOperation | RiskOperation | KillOperation | FundingArbOperation,
    symbols: Mapping[str, str],
) -> MonitorRun | KillRun | StrategyRun:
    """The run of an operation of :data:`RUN_KINDS` (names checked against the venues)."""
    if isinstance(op, KillOperation):
        resting = tuple(
            RestingOrder(
                r.venue,
                _symbol(r.venue, None, symbols, f"operation.resting[{i}]"),
                r.side,
                _d(r.size),
                _d(r.price),
            )  # fmt: skip
            for i, r in enumerate(op.resting)
        )
        config = KillConfig(deadline_s=op.deadline_s, settle_timeout_s=op.settle_timeout_s)
        return KillRun(resting, config)
    if isinstance(op, FundingArbOperation):
        from hedgekit.strategies.funding_arb import ConfigError, FundingArbConfig

        data = dict(op.config)
        if "symbols" not in data:
            if len(symbols) != 2:
                raise ScenarioError(
                    "operation.config.symbols", "two venues needed, as venue = symbol"
                )
            data["symbols"] = dict(symbols)
        try:
            strategy = FundingArbConfig.from_mapping(data)
        except ConfigError as exc:
            where = f"operation.config.{exc.field}" if exc.field else "operation.config"
            raise ScenarioError(where, str(exc).removeprefix(f"{exc.field}: ")) from None
        for venue, symbol in strategy.symbols.items():
            if symbols.get(venue) != symbol:
                raise ScenarioError(
                    "operation.config.symbols",
                    f"{venue} = {symbol!r} is no venue of the scenario trading that symbol",
                )
        return StrategyRun(strategy, op.for_s)
    for field in ("long", "short"):
        if getattr(op, field) not in symbols:
            raise ScenarioError(f"operation.{field}", f"unknown venue {getattr(op, field)!r}")
    long_symbol, short_symbol = symbols[op.long], symbols[op.short]
    try:
        pair = PairLegs("pair", op.long, long_symbol, op.short, short_symbol)
    except ValueError as exc:
        raise ScenarioError("operation.short", str(exc)) from None
    if isinstance(op, DriftOperation):
        drift = DriftConfig(
            policy=op.policy, confirm_after_s=op.confirm_after_s, deadline_s=op.deadline_s
        )
        return MonitorRun(pair, op.every_s, op.for_s, drift=drift)
    given: dict[str, Any] = {}
    for name in ("warn_below", "reduce_below", "close_below"):
        value = getattr(op, name)
        if value is not None:
            given[name] = value.value
    if op.reduce_fraction is not None:
        if op.reduce_fraction.value is None:
            raise ScenarioError("operation.reduce_fraction", "cannot be turned off")
        given["reduce_fraction"] = op.reduce_fraction.value
    try:
        thresholds = RiskThresholds(**given)
    except ValueError as exc:
        raise ScenarioError("operation", str(exc)) from None
    return MonitorRun(pair, op.every_s, op.for_s, thresholds=thresholds)
