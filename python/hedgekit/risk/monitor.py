"""The pair risk monitor: each leg's liquidation distance, and action before a liquidation.

A hedged pair is delta-neutral but not margin-neutral: each leg lives on its own venue, with its
own collateral and liquidation price. :class:`PairRiskMonitor` reads both venues (account and
positions, through the sessions) and works out each leg's liquidation distance — from the
venue's own liquidation price when it reports one, from the margin model
(:class:`~hedgekit.risk.Account` with the venue's tiers) when it does not (Hyperliquid and Lighter
may report none), saying which — and the pair's (the nearer leg's). Thresholds act:

- below ``warn_below``: an alert (kind ``"liquidation_risk"``);
- below ``reduce_below``: both legs reduced by ``reduce_fraction``, reduce-only and together, so
  the pair stays hedged at a smaller size with more margin per unit;
- below ``close_below``: the pair closed (:class:`~hedgekit.execution.CloseExecutor`);
- one leg gone while the other stays (the venue liquidated or deleveraged it): the survivor is
  closed at once and a ``"liquidation"`` alert raised — a naked leg is never left to run.

Every check sets the Prometheus gauges when a :class:`~hedgekit.observability.Metrics` is given,
and every action is journalled as an operation of its own (kind ``"risk"``) when a journal is.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError, VenueError
from hedgekit.execution.close import CloseExecutor
from hedgekit.execution.config import CloseConfig, CloseLeg, ExecutionMode, OrderConfig
from hedgekit.execution.operation import OperationExecutor, OperationTap
from hedgekit.execution.recorder import JournalLike, OperationRecorder, finish_recording
from hedgekit.execution.results import CloseResult, ExecutionResult
from hedgekit.model import AccountState, Position, Side
from hedgekit.observability import Metrics
from hedgekit.risk.alerts import Alert, AlertHub, AlertKind
from hedgekit.risk.drift import PairLegs
from hedgekit.risk.margin import Account, PairDistance, pair_liquidation_distance
from hedgekit.tracking import VenueSession

__all__ = ["PairRiskMonitor", "RiskAction", "RiskCheck", "RiskThresholds"]

_log = logging.getLogger(__name__)
_ZERO = Decimal(0)


class RiskAction(enum.StrEnum):
    """What a risk check did."""

    NONE = "none"
    WARN = "warn"
    REDUCE = "reduce"
    CLOSE = "close"
    LEG_LOST = "leg_lost"
    """One leg was gone (liquidated or deleveraged by its venue): the survivor was closed."""
    UNKNOWN = "unknown"
    """The distance could not be worked out (a read failed, no tiers and no venue price)."""


@dataclass(frozen=True, slots=True)
class RiskThresholds:
    """Liquidation distances (fractions of the mark) at which the monitor acts; ``None`` turns
    a step off. Each must be below the one before.

    Attributes:
        warn_below: Alert.
        reduce_below: Reduce both legs by ``reduce_fraction``.
        close_below: Close the pair.
        reduce_fraction: The share of each leg a reduction takes off, in (0, 1).
    """

    warn_below: Decimal | None = Decimal("0.30")
    reduce_below: Decimal | None = Decimal("0.20")
    close_below: Decimal | None = Decimal("0.10")
    reduce_fraction: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        steps = [x for x in (self.warn_below, self.reduce_below, self.close_below) if x is not None]
        if any(not 0 < x < 1 for x in steps):
            raise ValueError(f"thresholds are fractions in (0, 1), got {steps}")
        if any(a <= b for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(
                "warn_below > reduce_below > close_below, each given one below the last"
            )
        if not 0 < self.reduce_fraction < 1:
            raise ValueError(f"reduce_fraction is in (0, 1), got {self.reduce_fraction}")


@dataclass(frozen=True, slots=True)
class RiskCheck:
    """One check of a pair and what it did.

    Attributes:
        pair: The pair.
        long_size: The long leg's size as read.
        short_size: The short leg's size as read (negative).
        distance: Each leg's and the pair's liquidation distance (``None`` when a leg was flat
            or it could not be worked out).
        action: What the monitor did.
        result: The reduction's orders or the close's result.
        detail: Why, in words.
        ts_ns: When.
    """

    pair: PairLegs
    long_size: Decimal | None
    short_size: Decimal | None
    distance: PairDistance | None
    action: RiskAction
    result: tuple[ExecutionResult, ...] | CloseResult | None
    detail: str
    ts_ns: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the journal's result record)."""
        d = self.distance
        return {
            "pair": self.pair.name, "action": self.action.value, "detail": self.detail,
            "long_size": None if self.long_size is None else str(self.long_size),
            "short_size": None if self.short_size is None else str(self.short_size),
            "distance": None if d is None or d.distance is None else str(d.distance),
            "nearest": None if d is None else d.nearest,
            "sources": None if d is None else [d.long.source, d.short.source],
            "ts_ns": self.ts_ns,
        }  # fmt: skip


class PairRiskMonitor(OperationExecutor):
    """Watches pairs' liquidation distances and acts on the thresholds.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name.
        clock: Our clock (default: the first session's).
        thresholds: When to warn, reduce and close.
        close: The close configuration used for ``close`` and for a lost leg's survivor.
        reduce: The reduce-only order configuration of a reduction (protected IOCs).
        journal: Where every action is recorded (operation kind ``"risk"``).
        alerts: Told of every warning, action and lost leg.
        metrics: Gauges set on every check.
        id_prefix: Prefix of the monitor's orders' client ids.
    """

    def __init__(
        self,
        sessions: dict[str, VenueSession],
        *,
        clock: Clock | None = None,
        thresholds: RiskThresholds | None = None,
        close: CloseConfig | None = None,
        reduce: OrderConfig | None = None,
        journal: JournalLike | None = None,
        alerts: AlertHub | None = None,
        metrics: Metrics | None = None,
        id_prefix: str = "hk",
    ) -> None:
        super().__init__(
            sessions, clock=clock, id_prefix=id_prefix, journal=journal, starts_per_turn=None
        )
        self.thresholds = thresholds or RiskThresholds()
        self.close_config = close or CloseConfig()
        self.reduce_config = reduce or OrderConfig(
            mode=ExecutionMode.MARKET_ONLY, market_protection_bps=Decimal(100)
        )
        self.alerts = alerts
        self.metrics = metrics

    # ----------------------------------------------------------------------------- reading
    async def _leg(self, venue: str) -> tuple[AccountState, dict[str, Position]]:
        session = self.sessions[venue]
        acct, positions = await asyncio.gather(session.fetch_account(), session.fetch_positions())
        return acct, positions

    def _account(
        self, venue: str, acct: AccountState, positions: dict[str, Position]
    ) -> Account | None:
        """The margin model of one venue account (``None``: the venue publishes no tiers for a
        symbol held, or a position lacks its mark or its leverage)."""
        if any(p.leverage is None or p.entry_price is None for p in positions.values()):
            return None
        v = self.sessions[venue].venue
        return Account.from_venue(acct.collateral, positions, v.margin_table, leverage=Decimal(1))

    async def assess(self, pair: PairLegs) -> RiskCheck:
        """Reads both venues and works out the pair's liquidation distance (no action).

        The action field says what :meth:`step` would do.
        """
        now = self.clock.now_ns()
        try:
            (la, lp), (sa, sp) = await asyncio.gather(
                self._leg(pair.long_venue),
                self._leg(pair.short_venue),
            )
        except (VenueError, TimeoutError) as exc:
            return RiskCheck(
                pair, None, None, None, RiskAction.UNKNOWN, None, f"read failed: {exc!r}", now
            )
        long_pos, short_pos = lp.get(pair.long_symbol), sp.get(pair.short_symbol)
        long_size = _ZERO if long_pos is None else long_pos.size
        short_size = _ZERO if short_pos is None else short_pos.size
        if (long_size > 0) != (short_size < 0):
            gone = pair.long_venue if long_size <= 0 else pair.short_venue
            return RiskCheck(
                pair,
                long_size,
                short_size,
                None,
                RiskAction.LEG_LOST,
                None,
                f"the leg on {gone} is gone",
                now,
            )
        if long_size <= 0 and short_size >= 0:
            return RiskCheck(pair, long_size, short_size, None, RiskAction.NONE, None, "flat", now)
        accounts = self._account(pair.long_venue, la, lp), self._account(pair.short_venue, sa, sp)
        venue_prices = (
            None if long_pos is None else long_pos.liquidation_price,
            None if short_pos is None else short_pos.liquidation_price,
        )
        try:
            if accounts[0] is None or accounts[1] is None:
                raise HedgekitError("a venue publishes no margin tiers for a symbol held")
            distance = pair_liquidation_distance(
                accounts[0], pair.long_symbol, accounts[1], pair.short_symbol,
                long_venue_price=venue_prices[0], short_venue_price=venue_prices[1],
            )  # fmt: skip
        except (HedgekitError, ValueError) as exc:
            return RiskCheck(
                pair, long_size, short_size, None, RiskAction.UNKNOWN, None, str(exc), now
            )
        if self.metrics is not None:
            self.metrics.observe_liquidation_distance(pair.name, "long", distance.long.distance)
            self.metrics.observe_liquidation_distance(pair.name, "short", distance.short.distance)
            self.metrics.observe_liquidation_distance(pair.name, "pair", distance.distance)
        action, detail = self._decide(distance)
        return RiskCheck(pair, long_size, short_size, distance, action, None, detail, now)

    def _decide(self, distance: PairDistance) -> tuple[RiskAction, str]:
        d, t = distance.distance, self.thresholds
        if d is None:
            return RiskAction.NONE, "neither leg can be liquidated by its own price"
        where = f"{distance.nearest} leg {d:.2%} from liquidation"
        if t.close_below is not None and d < t.close_below:
            return RiskAction.CLOSE, f"{where}, under {t.close_below:.0%}: close"
        if t.reduce_below is not None and d < t.reduce_below:
            return (
                RiskAction.REDUCE,
                f"{where}, under {t.reduce_below:.0%}: reduce by {t.reduce_fraction:.0%}",
            )
        if t.warn_below is not None and d < t.warn_below:
            return RiskAction.WARN, f"{where}, under {t.warn_below:.0%}"
        return RiskAction.NONE, where

    # ----------------------------------------------------------------------------- acting
    async def step(self, pair: PairLegs) -> RiskCheck:
        """One check and the action it calls for."""
        check = await self.assess(pair)
        if check.action in (RiskAction.NONE, RiskAction.UNKNOWN):
            if check.action is RiskAction.UNKNOWN:
                _log.warning("%s: liquidation distance unknown: %s", pair.name, check.detail)
            return check
        self._alert(
            check, "liquidation" if check.action is RiskAction.LEG_LOST else "liquidation_risk"
        )
        if check.action is RiskAction.WARN:
            _log.warning("%s: %s", pair.name, check.detail)
            return check
        recorder = None
        if self.journal is not None:
            recorder = await OperationRecorder.start(
                self.journal, "risk",
                [{"venue": pair.long_venue, "symbol": pair.long_symbol, "side": "buy"},
                 {"venue": pair.short_venue, "symbol": pair.short_symbol, "side": "sell"}],
                {"pair": pair.name, "action": check.action.value, "check": check.to_dict(), "id_prefix": self.id_prefix},
                self.clock,
            )  # fmt: skip
        try:
            done = await self._act(check, recorder)
        except BaseException:
            if recorder is not None:
                await recorder.close()
            raise
        if recorder is not None:
            await finish_recording(recorder, done.action.value, done)
        return done

    def _alert(self, check: RiskCheck, kind: AlertKind) -> None:
        if self.alerts is None:
            return
        pair = check.pair
        amounts = {"long": check.long_size or _ZERO, "short": check.short_size or _ZERO}
        if check.distance is not None and check.distance.distance is not None:
            amounts["distance"] = check.distance.distance
        self.alerts.emit(
            Alert(
                kind,
                pair.name,
                (pair.long_venue, pair.short_venue),
                amounts,
                f"{pair.name}: {check.detail}",
                check.ts_ns,
            )
        )

    async def _act(self, check: RiskCheck, recorder: OperationRecorder | None) -> RiskCheck:
        pair = check.pair
        legs = [
            CloseLeg(pair.long_venue, pair.long_symbol),
            CloseLeg(pair.short_venue, pair.short_symbol),
        ]
        if check.action in (RiskAction.CLOSE, RiskAction.LEG_LOST):
            _log.error("%s: %s: closing", pair.name, check.detail)
            if check.action is RiskAction.LEG_LOST:
                legs = [
                    leg
                    for leg in legs
                    if leg.venue
                    != (pair.long_venue if (check.long_size or 0) <= 0 else pair.short_venue)
                ]
            closer = CloseExecutor(self.sessions, clock=self.clock, id_prefix=self.id_prefix)
            result = await closer.close(legs, self.close_config)
            return _with(check, result)
        # Reduce both legs by the same size, together (the pair stays hedged).
        assert check.long_size is not None and check.short_size is not None
        size = min(check.long_size, -check.short_size) * self.thresholds.reduce_fraction
        _log.warning("%s: %s", pair.name, check.detail)
        tap = OperationTap(self.sessions, recorder=recorder)
        try:

            async def one(venue: str, symbol: str, side: Side) -> ExecutionResult:
                ex = self.executors[venue]
                step = ex.info(symbol).rules.floor_size(size)
                return await ex.execute(
                    symbol, side, step, self.reduce_config, reduce_only=True,
                    deadline_s=self.close_config.deadline_s, tag="r", observer=tap, role="reduce",
                )  # fmt: skip

            results = await asyncio.gather(
                one(pair.long_venue, pair.long_symbol, Side.SELL),
                one(pair.short_venue, pair.short_symbol, Side.BUY),
            )
            await self.settle_orders(tap, self.close_config.settle_timeout_s)
        finally:
            tap.close()
        return _with(check, tuple(results))


def _with(check: RiskCheck, result: tuple[ExecutionResult, ...] | CloseResult) -> RiskCheck:
    return RiskCheck(
        check.pair,
        check.long_size,
        check.short_size,
        check.distance,
        check.action,
        result,
        check.detail,
        check.ts_ns,
    )
