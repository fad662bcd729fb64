"""Configuration of the executors: one frozen dataclass per operation, documented defaults.

Prices, sizes and bps are ``Decimal``; durations are seconds (``float``) of the running loop's
clock, virtual or real.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from hedgekit.model import Side

__all__ = [
    "AtomicConfig",
    "CloseConfig",
    "CloseLeg",
    "EntryPlan",
    "ExecutionMode",
    "HedgePricing",
    "HedgeTiming",
    "LegSpec",
    "OrderConfig",
]


class ExecutionMode(enum.StrEnum):
    """How one order is worked (``DESIGN.md``, "Execution modes")."""

    LIMIT_ONLY = "limit_only"
    """Post-only at the maker price; whatever is unfilled at the timeout is cancelled."""
    LIMIT_WITH_FALLBACK = "limit_with_fallback"
    """Post-only first, then an IOC at a protected price for what remains at the timeout."""
    AGGRESSIVE_LIMIT = "aggressive_limit"
    """The adaptive ladder: break-even first (with a reference fill), then inside the spread, the
    touch, and beyond it; a fresh BBO and a short timeout per step; a market IOC last."""
    MARKET_ONLY = "market_only"
    """A protected IOC (the opposite touch plus ``market_protection_bps``), repeated on the
    refilled book until filled, dust, refused or the deadline (one IOC without a deadline)."""
    ADAPTIVE = "adaptive"
    """Chosen per order by the liquidity analysis."""


@dataclass(frozen=True, slots=True)
class OrderConfig:
    """How :class:`~hedgekit.execution.OrderExecutor` works one order.

    Attributes:
        mode: The execution mode.
        offset_bps: Passive offset from our own touch for the limit phase (negative crosses).
        improve: Price the passive order one grid step inside the spread when there is room.
        timeout_s: How long the limit phase rests before cancelling (or falling back).
        reprice_tolerance_bps: A resting passive order keeps its queue place while its price is
            within this of the price it would be placed at now; beyond it, it is repriced (modify
            where the venue supports it, else cancel and replace).
        reprice_check_s: How often a resting order's price is checked.
        ladder_cross_bps: How far beyond the opposite touch the ladder's last steps go.
        step_timeout_s: How long each ladder step rests.
        market_fallback: End ``aggressive_limit`` with a protected IOC for what remains.
        market_protection_bps: How far beyond the opposite touch an IOC may execute.
        max_post_only_rejects: Post-only rejections tolerated (each reprices at once) before the
            passive phase gives up.
        max_book_age_s: A book older than this is stale: the executor refuses to price from it.
    """

    mode: ExecutionMode = ExecutionMode.LIMIT_WITH_FALLBACK
    offset_bps: Decimal = Decimal(0)
    improve: bool = False
    timeout_s: float = 5.0
    reprice_tolerance_bps: Decimal = Decimal(3)
    reprice_check_s: float = 0.25
    ladder_cross_bps: tuple[Decimal, ...] = (Decimal(2), Decimal(5), Decimal(10))
    step_timeout_s: float = 0.4
    market_fallback: bool = True
    market_protection_bps: Decimal = Decimal(50)
    max_post_only_rejects: int = 8
    max_book_age_s: float = 5.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.step_timeout_s <= 0 or self.reprice_check_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.market_protection_bps < 0 or self.reprice_tolerance_bps < 0:
            raise ValueError("protection and tolerance are non-negative bps")
        if any(b < 0 for b in self.ladder_cross_bps):
            raise ValueError("ladder_cross_bps are non-negative")


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One leg of a pair to open.

    Attributes:
        venue: The venue's name (a key of the executor's sessions).
        symbol: The venue's symbol.
        side: Buy (long) or sell (short).
    """

    venue: str
    symbol: str
    side: Side


class EntryPlan(enum.StrEnum):
    """Maker/taker assignment of the entry orders."""

    MAKER_BOTH = "maker_both"
    """Both legs rest post-only; the first fill triggers the hedge of the other."""
    TAKER_BOTH = "taker_both"
    """Both legs take at once (protected IOCs)."""
    AUTO = "auto"
    """The leg that saves most by resting (taker minus maker fee, on a book that can absorb the
    hedge) rests; the other takes at once."""


class HedgeTiming(enum.StrEnum):
    """When the hedge of a first fill is sent (``docs/decisions.md``, "Hedge timing")."""

    IMMEDIATE = "immediate"
    """From the fill listener's reaction, for the size the ledger has just accepted, while the
    sibling entries are cancelled and settled concurrently; one top-up round after they settle.
    A sibling's own fill racing the hedge leaves a surplus that is unwound reduce-only at once
    (``oversize`` incident with its cost)."""
    AFTER_SETTLE = "after_settle"
    """After every entry order has been cancelled and settled with the venue: the hedge is
    sized from the complete ledger, and never races a sibling."""


class HedgePricing(enum.StrEnum):
    """How a hedge order is priced (``docs/decisions.md``, "Hedge pricing")."""

    IOC = "ioc"
    """A protected IOC at once (the opposite touch plus the slippage budget), repeated on the
    fresh book until done or the deadline."""
    LADDER = "ladder"
    """Break-even first (against the leader's fill), then inside the spread, the touch and
    beyond it, one short step each; a protected IOC last."""
    BUDGETED_MAKER = "budgeted_maker"
    """Rests post-only at the maker price only while the unhedged notional times the time
    elapsed stays under ``maker_budget_usd_s``; then protected IOCs."""


@dataclass(frozen=True, slots=True)
class AtomicConfig:
    """How :class:`~hedgekit.execution.AtomicExecutor` opens a pair.

    Attributes:
        max_entry_spread_bps: Pre-flight spread gate per leg.
        slippage_budget_bps: Largest expected slippage (vs the touch) of a taker leg or hedge.
        entry_timeout_s: How long resting entry orders wait for a first fill.
        deadline_s: From the first fill: the hedge must be complete by then, else roll back.
        hedge_threshold: Filled size on a leg that triggers the hedge (0: any fill).
        plan: Maker/taker assignment.
        entry: How resting entry legs are priced.
        hedge: How the lagging legs are hedged.
        rollback: How filled legs are flattened on rollback (reduce-only).
        split: Split a taker leg too large for the book's depth within the budget.
        max_book_age_s: Pre-flight freshness of every book.
        settle_timeout_s: How long the open keeps cancelling and querying its own orders that
            may still trade (a cancel lost or refused, a placement in doubt) before it returns;
            an order still unresolved then makes the result ``exposed``, never a success.
        hedge_timing: When the first fill's hedge is sent (default ``immediate``: measured in
            ``docs/decisions.md``, "Hedge timing and pricing").
        hedge_pricing: How hedge orders are priced (default ``ioc``; ``hedge`` keeps the
            ladder's and the IOC's parameters).
        maker_budget_usd_s: With ``budgeted_maker``: the unhedged exposure (USD·s) a resting
            hedge may accumulate before it turns into IOCs.
        margin_check: Pre-flight reads each leg's account, positions and leverage and refuses
            an open that a venue would not margin, counting the margin the executor's other
            running opens hold (``False``: skip those reads; the open holds nothing).
        leverage: Set on every leg's symbol before the open (refused when above the venue's
            tier cap for the resulting position); ``None``: each venue's current leverage.
        min_liquidation_distance: Refuse an open after which a leg's liquidation price would be
            nearer than this fraction of the mark (``Decimal("0.2")``: 20 %); ``None``: no
            distance floor. Judged by the venue's margin tiers (a venue that publishes none is
            judged on available collateral alone).
    """

    max_entry_spread_bps: Decimal = Decimal(15)
    slippage_budget_bps: Decimal = Decimal(15)
    entry_timeout_s: float = 10.0
    deadline_s: float = 15.0
    hedge_threshold: Decimal = Decimal(0)
    plan: EntryPlan = EntryPlan.MAKER_BOTH
    entry: OrderConfig = field(
        default_factory=lambda: OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=10.0)
    )
    hedge: OrderConfig = field(
        default_factory=lambda: OrderConfig(
            mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.15
        )
    )
    rollback: OrderConfig = field(
        default_factory=lambda: OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.3)
    )
    split: bool = True
    max_book_age_s: float = 5.0
    settle_timeout_s: float = 30.0
    hedge_timing: HedgeTiming = HedgeTiming.IMMEDIATE
    hedge_pricing: HedgePricing = HedgePricing.IOC
    maker_budget_usd_s: Decimal = Decimal(500)
    margin_check: bool = True
    leverage: Decimal | None = None
    min_liquidation_distance: Decimal | None = None

    def __post_init__(self) -> None:
        if self.leverage is not None and not self.leverage > 0:
            raise ValueError(f"leverage must be positive, got {self.leverage}")
        if self.min_liquidation_distance is not None and not 0 <= self.min_liquidation_distance < 1:
            raise ValueError(
                f"min_liquidation_distance is a fraction in [0, 1), got {self.min_liquidation_distance}"
            )
        if self.maker_budget_usd_s < 0:
            raise ValueError("maker_budget_usd_s is non-negative")
        if self.entry_timeout_s <= 0 or self.deadline_s <= 0 or self.settle_timeout_s <= 0:
            raise ValueError("entry_timeout_s, deadline_s and settle_timeout_s must be positive")
        if (
            self.hedge_threshold < 0
            or self.slippage_budget_bps < 0
            or self.max_entry_spread_bps < 0
        ):
            raise ValueError("thresholds and budgets are non-negative")


@dataclass(frozen=True, slots=True)
class CloseLeg:
    """One leg of a pair to close: where the position is."""

    venue: str
    symbol: str


@dataclass(frozen=True, slots=True)
class CloseConfig:
    """How :class:`~hedgekit.execution.CloseExecutor` closes a pair.

    Attributes:
        max_exit_spread_bps: Phase 1 rests passively only when the spread is at most this
            (re-checked right before placement); otherwise it goes straight to phase 2.
        phase1_timeout_s: How long the passive phase lasts at most.
        passive: How phase 1 prices its post-only, reduce-only orders.
        phase2: How what remains is closed (break-even, ladder, market).
        emergency: How a lone leg is flattened.
        deadline_s: The whole close; past it, what is open is reported exposed.
        settle_timeout_s: How long the close keeps cancelling and querying its own orders that
            may still trade before it returns; an order still unresolved then makes the result
            ``exposed``, never ``closed``.
    """

    max_exit_spread_bps: Decimal = Decimal(15)
    phase1_timeout_s: float = 20.0
    passive: OrderConfig = field(
        default_factory=lambda: OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=20.0)
    )
    phase2: OrderConfig = field(
        default_factory=lambda: OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT)
    )
    emergency: OrderConfig = field(
        default_factory=lambda: OrderConfig(mode=ExecutionMode.MARKET_ONLY)
    )
    deadline_s: float = 60.0
    settle_timeout_s: float = 30.0
