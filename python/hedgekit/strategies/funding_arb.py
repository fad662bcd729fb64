"""Funding-rate arbitrage between two perpetual-futures venues: the reference strategy.

The same perpetual pays different funding rates on different venues. The strategy holds the pair
that collects the difference — **long where funding is lower, short where it is higher** — only
while that difference, annualised and net of what the round trip costs, is worth holding:

1. Every ``scan_interval_s`` it reads :meth:`~hedgekit.venues.Venue.funding_rates` from both
   venues and annualises each rate (``FundingRate.hourly × 24 × 365``). The *gross divergence* is
   the higher annual rate minus the lower. The *net divergence* subtracts the round-trip cost —
   both legs' entry and exit fees (from each venue's
   :class:`~hedgekit.venues.InstrumentInfo`) plus ``expected_cost_bps`` of slippage —
   amortised over ``cost_horizon_h`` hours of holding.
2. When flat and the net divergence is at least ``entry_threshold``, it opens the pair with
   :meth:`AtomicExecutor.open <hedgekit.execution.AtomicExecutor.open>` (one operation: hedged at
   once on a one-sided fill, rolled back when it cannot complete).
3. While the pair is on, each scan re-reads the rates, the books and the positions, books the
   venues' funding payments (below) and closes the pair with :meth:`CloseExecutor.close
   <hedgekit.execution.CloseExecutor.close>` when one exit rule fires, recording why
   (:attr:`Closed.reason`): ``"flipped"`` (the divergence of the held pair changed sign: in the
   venues' current rates, or in the rates the venues applied in their latest payments on both
   legs), ``"eroded"`` (the divergence fell by more than ``exit_erosion`` of its value at entry,
   or the funding earned no longer covers the pair's costs: what the book holds — paid plus
   accrued — plus what the current divergence would earn over the rest of the cost horizon is
   less than the entry fees paid, the exit fees and ``expected_cost_bps``), ``"leg_missing"`` (a
   venue no longer shows one leg's position), ``"stale_data"`` (a funding rate or a book older
   than ``stale_after_s``), ``"max_hold"`` or ``"open_exposed"`` (an open that ended exposed is
   flattened at once).

Funding has one source of truth: a :class:`~hedgekit.risk.funding_book.FundingBook` per held
pair, fed by each venue's :meth:`~hedgekit.venues.Venue.funding_payments` (every payment
counted once however often it is read), with what has accrued and is not paid yet estimated
apart, on each venue's own schedule. Each new payment is journalled (a ``"funding"`` event);
the exits above, the :class:`Monitored` and :class:`Closed` events and :meth:`FundingArb.pnl`
all read the book.

Every decision is an event (:class:`Opened`, :class:`Closed`, :class:`Skipped`,
:class:`Monitored`) handed to ``on_event``; every operation's result is kept in
:attr:`FundingArb.operations` and, when a journal is given, written to it.

The strategy uses only hedgekit's public API: the :class:`~hedgekit.venues.Venue` protocol,
:class:`~hedgekit.tracking.VenueSession` and the executors.
"""

from __future__ import annotations

import asyncio
import logging
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from hedgekit._schema import MAX_FLOAT, Quantity, Rate, RateOrOff, convert, replace_from
from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError, VenueError
from hedgekit.execution import (
    AtomicConfig,
    AtomicExecutor,
    AtomicResult,
    CloseConfig,
    CloseExecutor,
    CloseLeg,
    CloseResult,
    CloseStatus,
    EntryPlan,
    ExecutionMode,
    HedgePricing,
    HedgeTiming,
    KillSwitch,
    LegSpec,
    OpenStatus,
)
from hedgekit.execution.recorder import JournalLike, JournalWriteError, MarkoutRecorder
from hedgekit.model import FundingPayment, FundingRate, Position, Side
from hedgekit.risk.funding import normalise_rate
from hedgekit.risk.funding_book import FundingBook, LegFunding, poll_funding
from hedgekit.tracking import VenueSession
from hedgekit.venues import Venue

__all__ = [
    "Closed",
    "ConfigError",
    "FundingArb",
    "FundingArbConfig",
    "Monitored",
    "Opened",
    "OperationJournal",
    "Opportunity",
    "Skipped",
    "StrategyPnL",
    "VenuePnL",
    "StrategyEvent",
]

log = logging.getLogger("hedgekit.strategies.funding_arb")

_ZERO = Decimal(0)
_NANO = Decimal("1e-9")
_HOURS_PER_YEAR = Decimal(24 * 365)
_BPS = Decimal(10_000)
_S = 1_000_000_000


class ConfigError(HedgekitError, ValueError):
    """A strategy configuration is malformed.

    Attributes:
        field: The culprit as a dotted path (``"symbols"``, ``"atomic.entry.timeout_s"``); the
            message starts with it. Empty for a file that is not valid TOML.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class FundingArbConfig:
    """What the funding arbitrage trades and when.

    Rates and thresholds are fractions per year (``Decimal("0.10")`` = 10 %/yr); sizes and costs
    are exact ``Decimal``s; durations are seconds of the running loop's clock (virtual or real).

    Attributes:
        symbols: The symbol on each venue, by venue name; exactly two venues.
        size: Pair size in base units (each leg); exclusive with ``notional_usd``.
        notional_usd: Pair size as a USD notional per leg, converted at the venues' mid when the
            pair is opened; exclusive with ``size``.
        entry_threshold: Open when the net annualised divergence is at least this.
        exit_erosion: Close (``"eroded"``) when the held pair's divergence has fallen by more than
            this fraction of its value at entry (``0.5``: lost half of it). ``None`` disables it.
        exit_on_flip: Close (``"flipped"``) when the held pair's divergence changes sign.
        max_hold_s: Close (``"max_hold"``) after this long; ``None`` holds without limit.
        fee_basis: Which fee the cost estimate assumes on each fill: ``"taker"`` (conservative)
            or ``"maker"``. The rates come from each venue's ``InstrumentInfo``.
        expected_cost_bps: Expected slippage of the whole round trip (entry and exit, both
            legs), in bps of one leg's notional, on top of the fees.
        cost_horizon_h: Hours of holding the one-off round-trip cost is spread over when it is
            netted against an annual rate.
        scan_interval_s: Time between scans.
        cooldown_s: After an open that paid fees and failed (rolled back, or left exposed and
            closed), no new open for this long; each further failure in a row doubles it, up to
            ``max_cooldown_s`` (a venue that keeps failing the same way cannot burn fees in a
            loop). ``0`` turns it off.
        max_cooldown_s: The longest cooldown.
        stale_after_s: A funding rate or a book older than this is stale: no open, and an open
            pair is closed (``"stale_data"``).
        atomic: Overrides of the executor's :class:`~hedgekit.execution.AtomicConfig` (``None``:
            its defaults).
        close: Overrides of :class:`~hedgekit.execution.CloseConfig` (``None``: its defaults).
    """

    symbols: Mapping[str, str]
    size: Decimal | None = None
    notional_usd: Decimal | None = None
    entry_threshold: Decimal = Decimal("0.10")
    exit_erosion: Decimal | None = Decimal("0.5")
    exit_on_flip: bool = True
    max_hold_s: float | None = None
    fee_basis: str = "taker"
    expected_cost_bps: Decimal = Decimal(4)
    cost_horizon_h: float = 24.0 * 7
    scan_interval_s: float = 60.0
    cooldown_s: float = 600.0
    max_cooldown_s: float = 6 * 3600.0
    stale_after_s: float = 180.0
    atomic: AtomicConfig | None = None
    close: CloseConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.symbols, Mapping) or len(self.symbols) != 2:
            raise ConfigError("symbols", "exactly two venues are needed, as venue = symbol")
        for venue, sym in self.symbols.items():
            if not isinstance(venue, str) or not venue or not isinstance(sym, str) or not sym:
                raise ConfigError(
                    "symbols", f"venue and symbol must be non-empty text, got {venue!r} = {sym!r}"
                )
        object.__setattr__(self, "symbols", dict(self.symbols))
        if (self.size is None) == (self.notional_usd is None):
            raise ConfigError("size", "give exactly one of size (base units) and notional_usd")
        if self.size is not None and self.size <= 0:
            raise ConfigError("size", f"must be positive, got {self.size}")
        if self.notional_usd is not None and self.notional_usd <= 0:
            raise ConfigError("notional_usd", f"must be positive, got {self.notional_usd}")
        if self.entry_threshold < 0:
            raise ConfigError(
                "entry_threshold", f"must be non-negative, got {self.entry_threshold}"
            )
        if self.exit_erosion is not None and self.exit_erosion <= 0:
            raise ConfigError("exit_erosion", f"must be positive, got {self.exit_erosion}")
        if self.max_hold_s is not None and not self.max_hold_s > 0:
            raise ConfigError("max_hold_s", f"must be positive, got {self.max_hold_s}")
        if self.fee_basis not in ("taker", "maker"):
            raise ConfigError("fee_basis", f"'taker' or 'maker', got {self.fee_basis!r}")
        if self.expected_cost_bps < 0:
            raise ConfigError(
                "expected_cost_bps", f"must be non-negative, got {self.expected_cost_bps}"
            )
        for name in ("cost_horizon_h", "scan_interval_s", "stale_after_s", "max_cooldown_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(name, f"must be a positive number, got {value!r}")
        cool = self.cooldown_s
        if not (isinstance(cool, int | float) and math.isfinite(cool) and cool >= 0):
            raise ConfigError("cooldown_s", f"must be a non-negative number, got {cool!r}")

    # ---------------------------------------------------------------------------- loading
    @classmethod
    def from_toml(cls, path: str | Path) -> FundingArbConfig:
        """Reads a configuration from a TOML file (see ``examples/funding_arb.toml``).

        Raises:
            FileNotFoundError: No such file.
            ConfigError: The file is not TOML (``field == ""``) or a field is invalid.
        """
        raw = Path(path).read_bytes()
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("", f"{path}: not valid TOML: {exc}") from None
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FundingArbConfig:
        """Builds a configuration from parsed data (a TOML/JSON document).

        Keys are the attribute names; ``max_hold_h`` may be given instead of ``max_hold_s``;
        ``atomic`` and ``close`` are tables of the executors' configuration fields (nested
        tables for their order configurations). Sizes (``size``, ``notional_usd``) are exact:
        strings or integers, never floats; rates, bps and durations also take floats.
        ``exit_erosion = false`` turns that exit rule off. The document is validated against
        :class:`FundingArbFile` (msgspec) and then by the configuration's own checks.

        Raises:
            ConfigError: A missing, unknown or invalid field (``.field`` names it).
        """
        if not isinstance(data, Mapping):
            raise ConfigError("", f"a table is required, got {type(data).__name__}")
        spec = convert(data, FundingArbFile, ConfigError, unknown="key")
        kw: dict[str, Any] = {"symbols": dict(spec.symbols)}
        for name in ("size", "notional_usd", "entry_threshold", "expected_cost_bps"):
            value = getattr(spec, name)
            if value is not None:
                kw[name] = Decimal(value)
        if spec.exit_erosion is not None:
            kw["exit_erosion"] = spec.exit_erosion.value
        if spec.max_hold_s is not None and spec.max_hold_h is not None:
            raise ConfigError("max_hold_h", "give max_hold_s or max_hold_h, not both")
        if spec.max_hold_s is not None:
            kw["max_hold_s"] = spec.max_hold_s
        if spec.max_hold_h is not None:
            kw["max_hold_s"] = spec.max_hold_h * 3600.0
        for name in ("exit_on_flip", "fee_basis", "cost_horizon_h", "scan_interval_s",
                     "stale_after_s", "cooldown_s", "max_cooldown_s"):  # fmt: skip
            value = getattr(spec, name)
            if value is not None:
                kw[name] = value
        if spec.atomic is not None:
            kw["atomic"] = replace_from(AtomicConfig(), spec.atomic, "atomic", ConfigError)
        if spec.close is not None:
            kw["close"] = replace_from(CloseConfig(), spec.close, "close", ConfigError)
        return cls(**kw)


# ------------------------------------------------------------------------------- the file
#
# The configuration file's schema (examples/funding_arb.toml), validated by msgspec: a field
# left ``None`` keeps the configuration's default. Exact sizes are ``Quantity`` (a string or an
# integer); rates and bps are ``Rate`` (a float is read as the number it prints as).

Finite = Annotated[float, Meta(ge=-MAX_FLOAT, le=MAX_FLOAT, extra={"expected": "a finite number"})]
Duration = Annotated[
    float, Meta(gt=0.0, le=MAX_FLOAT, extra={"expected": "a positive number of seconds"})
]


class _Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A table of the configuration file: an unknown key is an error."""


class OrderOverrides(_Table):
    """Overrides of an :class:`~hedgekit.execution.OrderConfig` (``[atomic.hedge]``, ...)."""

    mode: ExecutionMode | None = None
    offset_bps: Rate | None = None
    improve: bool | None = None
    timeout_s: Duration | None = None
    reprice_tolerance_bps: Rate | None = None
    reprice_check_s: Duration | None = None
    ladder_cross_bps: list[Rate] | None = None
    step_timeout_s: Duration | None = None
    market_fallback: bool | None = None
    market_protection_bps: Rate | None = None
    max_post_only_rejects: int | None = None
    max_book_age_s: Duration | None = None


class AtomicOverrides(_Table):
    """Overrides of :class:`~hedgekit.execution.AtomicConfig` (``[atomic]``)."""

    max_entry_spread_bps: Rate | None = None
    slippage_budget_bps: Rate | None = None
    entry_timeout_s: Duration | None = None
    deadline_s: Duration | None = None
    hedge_threshold: Rate | None = None
    plan: EntryPlan | None = None
    entry: OrderOverrides | None = None
    hedge: OrderOverrides | None = None
    rollback: OrderOverrides | None = None
    split: bool | None = None
    max_book_age_s: Duration | None = None
    settle_timeout_s: Duration | None = None
    hedge_timing: HedgeTiming | None = None
    hedge_pricing: HedgePricing | None = None
    maker_budget_usd_s: Rate | None = None
    margin_check: bool | None = None
    leverage: Quantity | None = None
    min_liquidation_distance: Rate | None = None


class CloseOverrides(_Table):
    """Overrides of :class:`~hedgekit.execution.CloseConfig` (``[close]``)."""

    max_exit_spread_bps: Rate | None = None
    phase1_timeout_s: Duration | None = None
    passive: OrderOverrides | None = None
    phase2: OrderOverrides | None = None
    emergency: OrderOverrides | None = None
    deadline_s: Duration | None = None
    settle_timeout_s: Duration | None = None


class FundingArbFile(_Table):
    """A funding-arbitrage configuration file (the fields of :class:`FundingArbConfig`, plus
    ``max_hold_h``)."""

    symbols: Annotated[dict[str, str], Meta(extra={"expected": "a table of venue = symbol"})]
    size: Quantity | None = None
    notional_usd: Quantity | None = None
    entry_threshold: Rate | None = None
    exit_erosion: RateOrOff | None = None
    exit_on_flip: bool | None = None
    max_hold_s: Finite | None = None
    max_hold_h: Finite | None = None
    fee_basis: Literal["taker", "maker"] | None = None
    expected_cost_bps: Rate | None = None
    cost_horizon_h: Finite | None = None
    scan_interval_s: Finite | None = None
    cooldown_s: Finite | None = None
    max_cooldown_s: Finite | None = None
    stale_after_s: Finite | None = None
    atomic: AtomicOverrides | None = None
    close: CloseOverrides | None = None


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One scan's view of the two venues' funding.

    Attributes:
        ts_ns: When it was read (our clock).
        long_venue: The venue with the lower funding rate (the pair is long there).
        short_venue: The venue with the higher rate (short there).
        long_annual: The long venue's rate, annualised (fraction per year).
        short_annual: The short venue's rate, annualised.
        gross: ``short_annual - long_annual`` (never negative).
        cost_annual: The round-trip cost (fees and ``expected_cost_bps``), annualised over the
            cost horizon.
        net: ``gross - cost_annual``: what clears, or not, the entry threshold.
        rates: The raw rates read, by venue.
    """

    ts_ns: int
    long_venue: str
    short_venue: str
    long_annual: Decimal
    short_annual: Decimal
    gross: Decimal
    cost_annual: Decimal
    net: Decimal
    rates: Mapping[str, FundingRate] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Opened:
    """The pair was opened (fully or partly).

    Attributes:
        ts_ns: When the open returned.
        opportunity: The scan that triggered it.
        result: The executor's result.
    """

    ts_ns: int
    opportunity: Opportunity
    result: AtomicResult


@dataclass(frozen=True, slots=True)
class Closed:
    """The pair was closed (or a close was attempted: see ``result.status``).

    Attributes:
        ts_ns: When the close returned.
        reason: Which exit rule fired: ``"flipped"``, ``"eroded"``, ``"leg_missing"``,
            ``"stale_data"``, ``"max_hold"``, ``"open_exposed"`` or ``"shutdown"``.
        divergence: The held pair's annualised divergence when it fired (``None`` when unknown).
        result: The executor's result.
        funding: The pair's funding per venue when it fired (booked from the venues' payments,
            with the accrued estimate; empty when the book could not be read).
    """

    ts_ns: int
    reason: str
    divergence: Decimal | None
    result: CloseResult
    funding: Mapping[str, LegFunding] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A scan that did not trade, and why.

    Attributes:
        ts_ns: When.
        reason: ``"below_threshold"``, ``"no_data"``, ``"stale_data"``, ``"venue_error"`` or
            ``"open_<status>"`` (an open that did not put the pair on).
        opportunity: The scan's view, when there was one.
        detail: Words and numbers.
    """

    ts_ns: int
    reason: str
    opportunity: Opportunity | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Monitored:
    """A scan of the open pair that kept it.

    Attributes:
        ts_ns: When.
        divergence: The held pair's annualised divergence (short venue's rate minus the long
            venue's): positive while the pair earns.
        entry_divergence: Its value at entry.
        funding: The pair's funding per venue: paid (the venues' payments) and accrued.
    """

    ts_ns: int
    divergence: Decimal
    entry_divergence: Decimal
    funding: Mapping[str, LegFunding] = field(default_factory=dict)

    @property
    def earned(self) -> Decimal:
        """The pair's funding so far, paid plus accrued, over both legs."""
        return sum((leg.earned for leg in self.funding.values()), _ZERO)


StrategyEvent = Opened | Closed | Skipped | Monitored
"""Anything the strategy reports to ``on_event``."""


OperationJournal = JournalLike
"""The part of :class:`hedgekit.journal.Journal` the strategy writes to (the executors' own)."""


# ---------------------------------------------------------------------------- strategy


@dataclass(frozen=True, slots=True)
class VenuePnL:
    """The strategy's carry on one venue, in quote units.

    Attributes:
        venue: The venue.
        funding_paid: Funding the venue booked on our legs (received positive), exact.
        funding_payments: How many payments that is.
        funding_accrued: Estimated, accrued and not paid yet on the pair held now.
        fees: Fees paid on every operation's fills there (negative: rebates).
    """

    venue: str
    funding_paid: Decimal
    funding_payments: int
    funding_accrued: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        """``funding_paid + funding_accrued - fees``."""
        return self.funding_paid + self.funding_accrued - self.fees


@dataclass(frozen=True, slots=True)
class StrategyPnL:
    """Funding against fees, per venue (:meth:`FundingArb.pnl`); price moves of the hedged
    legs are not in it.

    Attributes:
        venues: Per venue, in the configuration's order.
    """

    venues: Mapping[str, VenuePnL]

    @property
    def funding_paid(self) -> Decimal:
        """Booked funding over every venue."""
        return sum((v.funding_paid for v in self.venues.values()), _ZERO)

    @property
    def funding_accrued(self) -> Decimal:
        """Accrued funding over every venue."""
        return sum((v.funding_accrued for v in self.venues.values()), _ZERO)

    @property
    def fees(self) -> Decimal:
        """Fees over every venue."""
        return sum((v.fees for v in self.venues.values()), _ZERO)

    @property
    def net(self) -> Decimal:
        """Funding (paid and accrued) minus fees."""
        return self.funding_paid + self.funding_accrued - self.fees


@dataclass(slots=True)
class _Held:
    long_venue: str
    short_venue: str
    entry_divergence: Decimal
    opened_ns: int
    book: FundingBook
    notional: Decimal
    entry_fees: Decimal
    funding: dict[str, LegFunding] = field(default_factory=dict)


class FundingArb:
    """The funding-rate arbitrage on two venues.

    Args:
        venues: The two venues, by name (the names of ``config.symbols``).
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue (sharing one fill
            ledger).
        config: What to trade and when.
        clock: Our clock (virtual or real).
        journal: Optional journal: each open and close becomes an operation with its incidents.
        kill_switch: While it is latched no pair is opened (the open is refused, nothing placed);
            a switch with a journal follows the latch kept there, so ``hedgekit kill`` run
            beside the strategy stops its opens until ``hedgekit kill --release``.

    Attributes:
        operations: Every operation's result, in order.
        state: ``"flat"`` or ``"open"``.
        last_divergence: The latest annualised divergence seen (the held pair's while open, the
            best net one while flat).
        journal_errors: Journal writes that failed (the strategy goes on without them).
    """

    def __init__(
        self,
        venues: Mapping[str, Venue],
        sessions: Mapping[str, VenueSession],
        config: FundingArbConfig,
        *,
        clock: Clock,
        journal: OperationJournal | None = None,
        kill_switch: KillSwitch | None = None,
    ) -> None:
        missing = [v for v in config.symbols if v not in venues or v not in sessions]
        if missing:
            raise ValueError(f"no venue or session for {missing}")
        self.venues = dict(venues)
        self.sessions = dict(sessions)
        self.config = config
        self.clock = clock
        self.journal = journal
        self.operations: list[AtomicResult | CloseResult] = []
        self.last_divergence: Decimal | None = None
        self.journal_errors: list[str] = []
        self.books: list[FundingBook] = []
        """The funding book of every pair held, in order (the last is the current pair's)."""
        self._held: _Held | None = None
        self.failed_opens = 0
        """Opens in a row that paid fees and failed (reset by one that opens)."""
        self.cooldown_until_ns: int | None = None
        """No open before this time (after a failed open), ``None`` when there is no cooldown."""
        # The executors journal every order, answer, fill and result of each operation.
        # Maker fills also get their markouts journalled (mid 0.5, 2 and 10 s later).
        self._markouts = (
            None
            if journal is None
            else MarkoutRecorder(journal, lambda venue, sym: self.venues[venue].quote(sym))
        )
        self._atomic = AtomicExecutor(
            self.sessions, clock=clock, id_prefix="fa", journal=journal, markouts=self._markouts,
            kill_switch=kill_switch,
        )  # fmt: skip
        self._closer = CloseExecutor(
            self.sessions, clock=clock, journal=journal, markouts=self._markouts
        )

    @property
    def state(self) -> str:
        """``"open"`` while a pair is held (or being closed), else ``"flat"``."""
        return "flat" if self._held is None else "open"

    # -------------------------------------------------------------------------- scanning
    async def _rates(self) -> dict[str, FundingRate] | None:
        names = list(self.config.symbols)
        answers = await asyncio.gather(*(self.venues[n].funding_rates() for n in names))
        out: dict[str, FundingRate] = {}
        for name, rates in zip(names, answers, strict=True):
            rate = rates.get(self.config.symbols[name])
            if rate is None:
                return None
            out[name] = rate
        return out

    def _cost_annual(self) -> Decimal:
        fees = _ZERO
        for venue, sym in self.config.symbols.items():
            info = self.venues[venue].instruments()[sym]
            rate = info.taker_fee if self.config.fee_basis == "taker" else info.maker_fee
            fees += 2 * rate  # entry and exit
        round_trip = fees + self.config.expected_cost_bps / _BPS
        return round_trip * _HOURS_PER_YEAR / Decimal(repr(self.config.cost_horizon_h))

    async def scan(self) -> Opportunity | None:
        """Reads both venues' funding rates and prices the pair that collects the difference.

        Returns:
            The opportunity (long on the lower-rate venue, short on the higher), or ``None``
            when a venue lists no rate for its symbol.

        Raises:
            hedgekit.errors.VenueError: A venue did not answer.
        """
        rates = await self._rates()
        if rates is None:
            return None
        return self._price(rates)

    def _price(self, rates: Mapping[str, FundingRate]) -> Opportunity:
        annual = {v: r.hourly * _HOURS_PER_YEAR for v, r in rates.items()}
        (lo, lo_rate), (hi, hi_rate) = sorted(annual.items(), key=lambda kv: (kv[1], kv[0]))
        gross = hi_rate - lo_rate
        cost = self._cost_annual()
        return Opportunity(
            ts_ns=self.clock.now_ns(),
            long_venue=lo,
            short_venue=hi,
            long_annual=lo_rate,
            short_annual=hi_rate,
            gross=gross,
            cost_annual=cost,
            net=gross - cost,
            rates=dict(rates),
        )

    def _stale(self, rates: Mapping[str, FundingRate]) -> str | None:
        now = self.clock.now_ns()
        limit = int(self.config.stale_after_s * _S)
        for venue, rate in rates.items():
            if now - rate.ts_ns > limit:
                return f"{venue} funding rate is {(now - rate.ts_ns) / _S:.0f} s old"
        for venue, sym in self.config.symbols.items():
            q = self.venues[venue].quote(sym)
            if q is None:
                return f"{venue} {sym} book is empty"
            if now - q.ts_ns > limit:
                return f"{venue} {sym} book is {(now - q.ts_ns) / _S:.0f} s old"
        return None

    # ----------------------------------------------------------------------------- steps
    async def step(self) -> StrategyEvent:
        """One scan: open, close or keep, and the event that says which.

        Returns:
            The event (also handed to ``on_event`` by :meth:`run`).
        """
        try:
            rates = await self._rates()
        except (VenueError, TimeoutError) as exc:
            if self._held is not None:
                return await self._close("stale_data", None)
            return Skipped(self.clock.now_ns(), "venue_error", None, str(exc))
        if self._held is None:
            return await self._step_flat(rates)
        return await self._step_open(rates)

    async def _step_flat(self, rates: Mapping[str, FundingRate] | None) -> StrategyEvent:
        now = self.clock.now_ns()
        if rates is None:
            return Skipped(now, "no_data", None, "a venue lists no funding rate for its symbol")
        opp = self._price(rates)
        self.last_divergence = opp.net
        stale = self._stale(rates)
        if stale is not None:
            return Skipped(now, "stale_data", opp, stale)
        if opp.net < self.config.entry_threshold:
            return Skipped(
                now,
                "below_threshold",
                opp,
                f"net {_pct(opp.net)} < threshold {_pct(self.config.entry_threshold)}",
            )
        until = self.cooldown_until_ns
        if until is not None and now < until:
            return Skipped(
                now, "cooldown", opp,
                f"{self.failed_opens} failed open(s) in a row: no open for {(until - now) / _S:.0f} s more",
            )  # fmt: skip
        size = self._size(opp)
        if size is None:
            return Skipped(now, "no_data", opp, "no quote to size the notional")
        legs = [
            LegSpec(opp.long_venue, self.config.symbols[opp.long_venue], Side.BUY),
            LegSpec(opp.short_venue, self.config.symbols[opp.short_venue], Side.SELL),
        ]
        note = {
            "strategy": "funding_arb",
            "long_venue": opp.long_venue,
            "short_venue": opp.short_venue,
            "gross": str(opp.gross),
            "net": str(opp.net),
        }
        try:
            result = await self._atomic.open(legs, size, self.config.atomic, note=note)
        except JournalWriteError as exc:
            self.journal_errors.append(str(exc))
            log.warning("journal: %s", exc)
            if exc.result is None:
                return Skipped(
                    self.clock.now_ns(), "journal", opp, "journal unavailable: not opening"
                )
            result = exc.result
        self.operations.append(result)
        end = self.clock.now_ns()
        if result.status in (OpenStatus.OPENED, OpenStatus.PARTIAL):
            self.failed_opens = 0
            self.cooldown_until_ns = None
        elif result.status in (OpenStatus.ROLLED_BACK, OpenStatus.EXPOSED):
            self._cool_down(end)
        if result.status in (OpenStatus.OPENED, OpenStatus.PARTIAL):
            self._held = self._hold(opp, result, end)
            self.last_divergence = opp.gross
            return Opened(end, opp, result)
        if result.status is OpenStatus.EXPOSED:
            self._held = self._hold(opp, result, end)
            return await self._close("open_exposed", opp.gross)
        return Skipped(end, f"open_{result.status.value}", opp, result.reason or "")

    def _hold(self, opp: Opportunity, result: AtomicResult, end: int) -> _Held:
        """The pair now held, with a funding book from the open's start."""
        schedules = {
            v: self.venues[v].funding_schedule(sym) for v, sym in self.config.symbols.items()
        }
        book = FundingBook(self.config.symbols, schedules, since_ns=result.started_ns)
        self.books.append(book)
        prices = [leg.avg_price for leg in result.legs if leg.avg_price is not None]
        notional = result.size * max(prices) if prices else _ZERO
        fees = sum((leg.fees for leg in result.legs), _ZERO)
        return _Held(opp.long_venue, opp.short_venue, opp.gross, end, book, notional, fees)

    def _exit_costs(self, notional: Decimal) -> Decimal:
        """The exit's fees at ``fee_basis`` plus the round trip's ``expected_cost_bps``."""
        fees = _ZERO
        for venue, sym in self.config.symbols.items():
            info = self.venues[venue].instruments()[sym]
            fees += info.taker_fee if self.config.fee_basis == "taker" else info.maker_fee
        return notional * (fees + self.config.expected_cost_bps / _BPS)

    async def _book_funding(self, book: FundingBook) -> list[FundingPayment]:
        """Reads both venues' funding payments into ``book`` and journals the new ones. A read
        that fails books nothing now: the next one asks again from the book's start."""
        new, failed = await poll_funding(book, self.venues, timeout_s=self.config.stale_after_s)
        for venue, exc in failed.items():
            log.warning("%s: funding payments not read: %r", venue, exc)
        if self.journal is not None:
            for p in new:
                data = {
                    "venue": p.venue,
                    "symbol": p.symbol,
                    "amount": p.amount,
                    "rate": p.rate,
                    "position_size": p.position_size,
                    "price": p.price,
                    "schedule": book.schedules[p.venue].mode.value,
                    "interval_s": book.schedules[p.venue].interval_s,
                }
                try:
                    await self.journal.record(None, "funding", data, ts_ns=p.ts_ns)
                except Exception as exc:  # noqa: BLE001 - a journal outage never stops the strategy
                    self.journal_errors.append(f"funding: {exc}")
                    log.warning("journal: funding payment not written: %s", exc)
        return new

    def _funding_now(
        self,
        held: _Held,
        rates: Mapping[str, FundingRate],
        positions: Mapping[str, Position | None],
        now: int,
    ) -> dict[str, LegFunding]:
        """Each leg's funding: booked, and accrued from the venue's current rate (normalised to
        its schedule's interval), the position and its mark."""
        out: dict[str, LegFunding] = {}
        for venue, sym in self.config.symbols.items():
            pos = positions.get(venue)
            rate = rates.get(venue)
            schedule = held.book.schedules[venue]
            per_interval = (
                _ZERO
                if rate is None
                else normalise_rate(
                    rate.rate, quoted_interval_s=rate.interval_s, interval_s=schedule.interval_s
                )
            )
            mark = None if pos is None else pos.mark_price
            if mark is None:
                q = self.venues[venue].quote(sym)
                mark = None if q is None else q.mid
            out[venue] = held.book.leg(
                venue,
                position_size=_ZERO if pos is None else pos.size,
                rate_per_interval=per_interval,
                mark=mark,
                now_ns=now,
            )
        return out

    def pnl(self) -> StrategyPnL:
        """Funding (booked from the venues' payments, plus the accrued estimate on the pair held
        now) against fees, per venue, over every pair held so far."""
        held = self._held
        out: dict[str, VenuePnL] = {}
        for venue in self.config.symbols:
            fees = sum(
                (leg.fees for r in self.operations for leg in r.legs if leg.venue == venue), _ZERO
            )
            accrued = _ZERO
            if held is not None and venue in held.funding:
                accrued = held.funding[venue].accrued
            out[venue] = VenuePnL(
                venue,
                sum((b.paid(venue) for b in self.books), _ZERO),
                sum((len(b.payments(venue)) for b in self.books), 0),
                accrued,
                fees,
            )
        return StrategyPnL(out)

    def _cool_down(self, now: int) -> None:
        """One more failed open: the cooldown doubles with each in a row, up to the cap."""
        self.failed_opens += 1
        cfg = self.config
        if cfg.cooldown_s <= 0:
            return
        wait_s = min(cfg.cooldown_s * 2 ** min(self.failed_opens - 1, 60), cfg.max_cooldown_s)
        self.cooldown_until_ns = now + int(wait_s * _S)
        log.warning("open failed (%d in a row): no new open for %.0f s", self.failed_opens, wait_s)

    def _size(self, opp: Opportunity) -> Decimal | None:
        if self.config.size is not None:
            return self.config.size
        assert self.config.notional_usd is not None
        mids = []
        for venue in (opp.long_venue, opp.short_venue):
            q = self.venues[venue].quote(self.config.symbols[venue])
            if q is None:
                return None
            mids.append(q.mid)
        return (self.config.notional_usd / max(mids)).quantize(_NANO, rounding=ROUND_DOWN)

    async def _step_open(self, rates: Mapping[str, FundingRate] | None) -> StrategyEvent:
        held = self._held
        assert held is not None
        now = self.clock.now_ns()
        if rates is None:
            return await self._close("stale_data", None)
        annual = {v: r.hourly * _HOURS_PER_YEAR for v, r in rates.items()}
        div = annual[held.short_venue] - annual[held.long_venue]
        self.last_divergence = div
        if self._stale(rates) is not None:
            return await self._close("stale_data", div)
        try:
            positions = await self._positions(held)
        except (VenueError, TimeoutError):
            return await self._close("stale_data", div)
        await self._book_funding(held.book)
        held.funding = self._funding_now(held, rates, positions, now)
        if self._leg_missing(held, positions):
            return await self._close("leg_missing", div)
        if self.config.exit_on_flip and (
            div < 0 <= held.entry_divergence or self._paid_divergence(held) < 0
        ):
            return await self._close("flipped", div)
        if self.config.exit_erosion is not None and held.entry_divergence > 0:
            eroded = (held.entry_divergence - div) / held.entry_divergence
            if eroded > self.config.exit_erosion or not self._covers_costs(held, div, now):
                return await self._close("eroded", div)
        if (
            self.config.max_hold_s is not None
            and now - held.opened_ns >= self.config.max_hold_s * _S
        ):
            return await self._close("max_hold", div)
        return Monitored(now, div, held.entry_divergence, dict(held.funding))

    def _paid_divergence(self, held: _Held) -> Decimal:
        """The annualised divergence the venues applied in their latest payments on both legs
        since entry (``0`` until each leg has been paid once): positive while the pair earns."""
        applied = [held.book.applied_hourly(v) for v in (held.long_venue, held.short_venue)]
        if any(a is None for a in applied):
            return _ZERO
        return sum((a for a in applied if a is not None), _ZERO) * _HOURS_PER_YEAR

    def _covers_costs(self, held: _Held, div: Decimal, now: int) -> bool:
        """True while the funding earned (the book: paid plus accrued), plus what ``div`` earns
        on the notional over the rest of the cost horizon, covers the entry fees paid, the exit
        fees and ``expected_cost_bps``."""
        if held.notional <= 0:
            return True  # no price to size it by: the rate rules alone decide
        earned = sum((leg.earned for leg in held.funding.values()), _ZERO)
        left_h = max(self.config.cost_horizon_h - (now - held.opened_ns) / _S / 3600, 0.0)
        ahead = div / _HOURS_PER_YEAR * held.notional * Decimal(repr(left_h))
        return earned + ahead >= held.entry_fees + self._exit_costs(held.notional)

    async def _positions(self, held: _Held) -> dict[str, Position | None]:
        out: dict[str, Position | None] = {}
        for venue in (held.long_venue, held.short_venue):
            out[venue] = (await self.venues[venue].positions()).get(self.config.symbols[venue])
        return out

    @staticmethod
    def _leg_missing(held: _Held, positions: Mapping[str, Position | None]) -> bool:
        for venue, want in ((held.long_venue, 1), (held.short_venue, -1)):
            pos = positions.get(venue)
            if pos is None or pos.size * want <= 0:
                return True
        return False

    async def _close(self, reason: str, divergence: Decimal | None) -> Closed:
        legs = [CloseLeg(v, s) for v, s in self.config.symbols.items()]
        note = {"strategy": "funding_arb", "reason": reason}
        try:
            result = await self._closer.close(legs, self.config.close, note=note)
        except JournalWriteError as exc:
            self.journal_errors.append(str(exc))
            log.warning("journal: %s", exc)
            if exc.result is None:
                # The close must still happen: a journal outage never leaves a pair open.
                result = await CloseExecutor(self.sessions, clock=self.clock).close(
                    legs, self.config.close
                )
            else:
                result = exc.result
        self.operations.append(result)
        held = self._held
        funding: dict[str, LegFunding] = {}
        if held is not None:
            # Payments booked up to the close (none after: the legs are flat).
            await self._book_funding(held.book)
            funding = {v: held.book.leg(v) for v in self.config.symbols}
        if result.status is not CloseStatus.EXPOSED:
            self._held = None
        return Closed(self.clock.now_ns(), reason, divergence, result, funding)

    # ------------------------------------------------------------------------------- run
    async def run(
        self,
        duration_s: float,
        on_event: Callable[[StrategyEvent], None] | None = None,
        *,
        flatten_at_end: bool = False,
    ) -> list[AtomicResult | CloseResult]:
        """Scans every ``scan_interval_s`` for ``duration_s`` and trades on the rules.

        Args:
            duration_s: How long to run (the running loop's clock).
            on_event: Called with every event, in order.
            flatten_at_end: Close a pair still held when the time is up (reason ``"shutdown"``).

        Returns:
            Every operation's result (:attr:`FundingArb.operations`).
        """
        end = self.clock.now_ns() + int(duration_s * _S)
        try:
            while True:
                event = await self.step()
                log.debug("%s", event)
                if on_event is not None:
                    on_event(event)
                left = (end - self.clock.now_ns()) / _S
                if left <= 0:
                    break
                await self.clock.sleep(min(self.config.scan_interval_s, left))
                if self.clock.now_ns() >= end:
                    break
            if flatten_at_end and self._held is not None:
                event = await self._close("shutdown", self.last_divergence)
                if on_event is not None:
                    on_event(event)
        finally:
            if self._markouts is not None:
                await self._markouts.close()
        return self.operations


def _pct(x: Decimal) -> str:
    return f"{float(x) * 100:.1f}%/yr"
