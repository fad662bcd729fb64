"""``AtomicExecutor``: open a pair across venues as one operation (``DESIGN.md``, "Opening a
pair").

1. Pre-flight on fresh books: spread gate, depth within the slippage budget, one common size valid
   on every venue, minimums on every venue. Any failure: nothing is placed (``REFUSED``).
2. Entry orders on every leg at once, maker or taker per the plan.
3. On the first fill the lagging legs are hedged up to the leader under ``hedge_timing``:
   ``immediate`` (default) hedges the size the ledger has just accepted at once while the resting
   entries are cancelled alongside; ``after_settle`` first cancels and settles every entry. The
   hedge is priced under ``hedge_pricing``: ``ioc`` (default, protected IOCs), ``ladder``
   (break-even first, market last) or ``budgeted_maker``. A hedge is sized from
   ``leader − filled − reserved``: an order of the leg whose outcome is still open (and that is
   not being cancelled) reserves its whole remaining size; every order is settled before one
   final top-up round, and a surplus (a sibling's fill that raced an immediate hedge) is unwound
   at once and reported (``oversize``). A difference below a venue's minimum is dust: recorded,
   not traded.
4. A pair that cannot be completed by the deadline is rolled back: exactly this operation's own
   fills are unwound (reduce-only only where that reduces what the venue holds, so a prior
   position stays as it was), and the cost actually paid is recorded.
5. The result carries per-leg fills and costs, hedge latency and the unhedged exposure in USD·s.

Each call's state and steps live in one :class:`~hedgekit.execution.opening.Opening`; when the
hedge is sent and how it is priced are the ``hedge_timing`` and ``hedge_pricing`` policies of
:class:`~hedgekit.execution.AtomicConfig`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hedgekit.clock import Clock
from hedgekit.execution.breaker import CircuitBreaker
from hedgekit.execution.config import AtomicConfig, EntryPlan, LegSpec
from hedgekit.execution.kill import KillSwitch
from hedgekit.execution.opening import Opening, Refusal
from hedgekit.execution.operation import DEFAULT_STARTS_PER_TURN, OperationExecutor
from hedgekit.execution.recorder import (
    JournalLike,
    MarkoutRecorder,
    OperationRecorder,
    finish_recording,
)
from hedgekit.execution.results import AtomicResult
from hedgekit.tracking import VenueSession

__all__ = ["AtomicExecutor", "Refusal"]


class AtomicExecutor(OperationExecutor):
    """Opens pairs across venues.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name.
        clock: Our clock (default: the first session's).
        breaker: A circuit breaker fed by every hedge and rollback; when it is ``OPEN`` new opens
            are refused, when ``CONSERVATIVE`` they use :meth:`conservative`.
        id_prefix: Prefix of generated client ids.
        journal: Where every operation's intent, orders, answers, fills, incidents and result
            are written before ``open`` returns (see :mod:`hedgekit.journal`).
        markouts: Samples the mid after each maker fill and journals the markouts (with a
            journal; the caller owns it and closes it).
        starts_per_turn: How many opens may start per event-loop turn (``None``: no limit);
            a burst of opens starts a few per turn instead of holding the loop.
        kill_switch: While it is latched every open is refused before anything is placed
            (see :class:`~hedgekit.execution.KillSwitch`).
    """

    def __init__(
        self,
        sessions: Mapping[str, VenueSession],
        *,
        clock: Clock | None = None,
        breaker: CircuitBreaker | None = None,
        id_prefix: str = "hk",
        journal: JournalLike | None = None,
        markouts: MarkoutRecorder | None = None,
        starts_per_turn: int | None = DEFAULT_STARTS_PER_TURN,
        kill_switch: KillSwitch | None = None,
    ) -> None:
        super().__init__(
            sessions, clock=clock, id_prefix=id_prefix, journal=journal, markouts=markouts,
            starts_per_turn=starts_per_turn,
        )  # fmt: skip
        self.breaker = breaker
        self.kill_switch = kill_switch

    @staticmethod
    def conservative(config: AtomicConfig) -> AtomicConfig:
        """The configuration used while the breaker is ``CONSERVATIVE``: both legs take at once
        (no resting leg to be left alone), a tighter slippage budget, hedges straight to the
        touch."""
        return dataclasses.replace(
            config,
            plan=EntryPlan.TAKER_BOTH,
            slippage_budget_bps=min(config.slippage_budget_bps, Decimal(10)),
            hedge=dataclasses.replace(
                config.hedge, step_timeout_s=min(config.hedge.step_timeout_s, 0.2)
            ),
        )

    # ----------------------------------------------------------------------------- open
    async def open(
        self,
        legs: Sequence[LegSpec],
        size: Decimal,
        config: AtomicConfig | None = None,
        *,
        note: dict[str, Any] | None = None,
    ) -> AtomicResult:
        """Opens ``size`` on every leg as one operation.

        Args:
            legs: Two or more legs on distinct venues (for a delta-neutral pair: one buy, one
                sell).
            size: The pair size in base units (it becomes the largest size valid on every venue).
            config: Thresholds, plan and timeouts.
            note: Extra facts journalled with the intent (why the pair is opened).

        Returns:
            The outcome; it never raises for a market condition (a refusal is a result).

        Raises:
            ValueError: Fewer than two legs, a repeated venue, or a non-positive size.
            KeyError: A venue without a session, or an unknown symbol.
            hedgekit.execution.recorder.JournalWriteError: With a journal, it failed (the result,
                if the operation ran, is attached).
        """
        cfg = config or AtomicConfig()
        if len(legs) < 2:
            raise ValueError("a pair needs at least two legs")
        if len({leg.venue for leg in legs}) != len(legs):
            raise ValueError("each leg must be on a different venue")
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        await self.admission.enter()
        recorder = None
        if self.journal is not None:
            recorder = await OperationRecorder.start(
                self.journal,
                "open",
                [{"venue": leg.venue, "symbol": leg.symbol, "side": leg.side.value} for leg in legs],
                {
                    "size": size, "plan": cfg.plan.value, "deadline_s": cfg.deadline_s,
                    "id_prefix": self.id_prefix, **(note or {}),
                },
                self.clock,
            )  # fmt: skip
        try:
            result = await Opening(self, legs, size, cfg, recorder).run()
        except BaseException:
            if recorder is not None:
                await recorder.close()  # keep what can be written; the writer never leaks
            raise
        if recorder is not None:
            await finish_recording(recorder, result.status.value, result)
        return result
