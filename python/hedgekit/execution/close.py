"""``CloseExecutor``: close a pair, maker first, with a safe escalation (``DESIGN.md``, "Closing a
pair").

1. Read every leg's live position. A leg that is missing while another is open is an emergency:
   the survivor is flattened at once (reduce-only, no coordination).
2. Phase 1: post-only, reduce-only orders on every leg, the exit spread re-checked right before
   placement. It ends when one leg is flat, or at its timeout.
3. Phase 2, after re-reading the positions: what remains on each leg is closed with the break-even
   price first (against the other leg's close), then the ladder, then a protected IOC. Legs of
   unequal size each close to flat; a remainder below the venue's minimum is dust.
4. The positions are read again at the end: the result reports what the venues say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hedgekit._core import spread_within
from hedgekit.clock import Clock
from hedgekit.errors import BookIntegrityError, VenueError
from hedgekit.execution.config import CloseConfig, CloseLeg
from hedgekit.execution.exposure import measure_exposure
from hedgekit.execution.liquidity import is_dust
from hedgekit.execution.operation import OperationExecutor, OperationTap, build_leg
from hedgekit.execution.order import Reference, Signal
from hedgekit.execution.recorder import (
    JournalLike,
    MarkoutRecorder,
    OperationRecorder,
    finish_recording,
)
from hedgekit.execution.results import CloseResult, CloseStatus, ExecutionResult, Incident
from hedgekit.model import Side
from hedgekit.tracking import VenueSession

__all__ = ["CloseExecutor"]

_ZERO = Decimal(0)
_S = 1_000_000_000


class CloseExecutor(OperationExecutor):
    """Closes pairs across venues.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name.
        clock: Our clock (default: the first session's).
        id_prefix: Prefix of generated client ids.
        journal: Where every close's intent, orders, answers, fills, incidents and result are
            written before ``close`` returns.
        markouts: Samples the mid after each maker fill and journals the markouts.
    """

    def __init__(
        self,
        sessions: Mapping[str, VenueSession],
        *,
        clock: Clock | None = None,
        id_prefix: str = "hk",
        journal: JournalLike | None = None,
        markouts: MarkoutRecorder | None = None,
    ) -> None:
        super().__init__(sessions, clock=clock, id_prefix=id_prefix, journal=journal, markouts=markouts)
        self._deadline_ns = 0

    async def positions(self, legs: Sequence[CloseLeg], attempts: int = 3) -> dict[str, Decimal]:
        """Signed position per leg's venue, read from the venues (flat when not listed).

        Raises:
            hedgekit.errors.VenueError: A venue did not answer after ``attempts`` tries.
        """

        async def one(leg: CloseLeg) -> Decimal:
            err: BaseException | None = None
            for _ in range(attempts):
                try:
                    pos = await self.sessions[leg.venue].venue.positions()
                except (VenueError, TimeoutError) as exc:
                    err = exc
                    continue
                p = pos.get(leg.symbol)
                return _ZERO if p is None else p.size
            assert err is not None
            raise err

        sizes = await asyncio.gather(*(one(leg) for leg in legs))
        return {leg.venue: s for leg, s in zip(legs, sizes, strict=True)}

    def _dust(self, leg: CloseLeg, size: Decimal) -> bool:
        ex = self.executors[leg.venue]
        q = ex.venue.quote(leg.symbol)
        price = q.mid if q is not None else Decimal(1)
        return is_dust(ex.info(leg.symbol).rules, abs(size), price, reduce_only=True)

    async def close(
        self,
        legs: Sequence[CloseLeg],
        config: CloseConfig | None = None,
        *,
        note: dict[str, Any] | None = None,
    ) -> CloseResult:
        """Closes every leg to flat.

        Args:
            legs: The legs, one per venue.
            config: Spread gate, phase timeouts and modes.
            note: Extra facts journalled with the intent (why the pair is closed).

        Returns:
            What the venues' positions were before and are after, the closing fills and costs.

        Raises:
            ValueError: No legs, or a repeated venue.
            KeyError: A venue without a session.
        """
        cfg = config or CloseConfig()
        if not legs or len({leg.venue for leg in legs}) != len(legs):
            raise ValueError("give one leg per venue")
        recorder = None
        if self.journal is not None:
            recorder = await OperationRecorder.start(
                self.journal,
                "close",
                [{"venue": leg.venue, "symbol": leg.symbol} for leg in legs],
                dict(note or {}),
                self.clock,
            )
        result = await self._close(legs, cfg, recorder)
        if recorder is not None:
            await finish_recording(recorder, result.status.value, result)
        return result

    async def _close(
        self, legs: Sequence[CloseLeg], cfg: CloseConfig, recorder: OperationRecorder | None
    ) -> CloseResult:
        start = self.clock.now_ns()
        self._deadline_ns = start + int(cfg.deadline_s * _S)
        incidents: list[Incident] = []
        try:
            before = await self.positions(legs)
        except (VenueError, TimeoutError) as exc:
            return self._result(legs, CloseStatus.EXPOSED, f"positions unavailable: {exc}", {}, {}, None, "none", [], {}, incidents, start)
        open_legs = [leg for leg in legs if before[leg.venue] != 0 and not self._dust(leg, before[leg.venue])]
        dust = {leg.venue: before[leg.venue] for leg in legs if before[leg.venue] != 0 and leg not in open_legs}
        if not open_legs:
            return self._result(legs, CloseStatus.NOTHING_TO_CLOSE, None, before, before, None, "none", [], dust, incidents, start)
        imbalance = abs(sum(before.values(), _ZERO))
        if imbalance and len(open_legs) == len(legs):
            below = [leg.venue for leg in legs if self._dust(leg, imbalance)]
            incidents.append(
                Incident(
                    self.clock.now_ns(), "dust", None,
                    f"legs unequal by {imbalance}: each closes to flat on its own; the difference is "
                    + (f"below the minimum order on {', '.join(below)}: recorded, not traded" if below else "not traded"),
                )
            )  # fmt: skip
        tap = OperationTap(self.sessions, recorder=recorder)
        tap.markouts = self.markouts
        orders: list[ExecutionResult] = []
        try:
            if len(open_legs) < len(legs):
                phase = "emergency"
                missing = [leg.venue for leg in legs if leg not in open_legs]
                incidents.append(
                    Incident(self.clock.now_ns(), "emergency_close", None, f"no position on {', '.join(missing)}: flattening the survivor at once")
                )  # fmt: skip
                orders += await self._flatten(open_legs, before, cfg, tap)
            else:
                phase = await self._two_phase(open_legs, before, cfg, tap, orders, incidents)
            after = await self._reread(legs)
            still = [leg for leg in legs if after.get(leg.venue, _ZERO) != 0 and not self._dust(leg, after[leg.venue])]
            for leg in legs:
                if leg not in still and after.get(leg.venue, _ZERO) != 0:
                    dust[leg.venue] = after[leg.venue]
            if dust:
                incidents.append(Incident(self.clock.now_ns(), "dust", None, f"below the venue minimum, recorded not traded: {dust}"))
            status = CloseStatus.EXPOSED if still else CloseStatus.CLOSED
            reason = None if not still else f"still open: {', '.join(f'{l.venue} {after[l.venue]}' for l in still)}"  # noqa: E741
            if still:
                incidents.append(Incident(self.clock.now_ns(), "exposed", None, reason or ""))
            return self._result(legs, status, reason, before, after, tap, phase, orders, dust, incidents, start)
        finally:
            tap.close()

    def _left(self, cfg: CloseConfig) -> float:
        """Seconds left of the close's deadline (at least a millisecond, so a late phase still
        makes one attempt)."""
        return max((self._deadline_ns - self.clock.now_ns()) / _S, 0.001)

    async def _reread(self, legs: Sequence[CloseLeg]) -> dict[str, Decimal]:
        try:
            return await self.positions(legs)
        except (VenueError, TimeoutError):
            return {}

    async def _two_phase(
        self,
        legs: list[CloseLeg],
        before: dict[str, Decimal],
        cfg: CloseConfig,
        tap: OperationTap,
        orders: list[ExecutionResult],
        incidents: list[Incident],
    ) -> str:
        # Phase 1: passive on every leg, the spread re-checked right before placement.
        passive_ok = True
        for leg in legs:
            ex = self.executors[leg.venue]
            try:
                q = ex.quote(leg.symbol, cfg.passive.max_book_age_s)
            except BookIntegrityError:
                passive_ok = False
                break
            if not spread_within(q.bid, q.ask, cfg.max_exit_spread_bps):
                passive_ok = False
                incidents.append(Incident(self.clock.now_ns(), "wide_spread", leg.venue, f"spread over {cfg.max_exit_spread_bps} bps: skipping the passive phase"))
                break
        results: dict[str, ExecutionResult] = {}
        if passive_ok:
            stop = Signal()

            async def passive(leg: CloseLeg) -> None:
                size = abs(before[leg.venue])
                side = Side.SELL if before[leg.venue] > 0 else Side.BUY
                res = await self.executors[leg.venue].execute(
                    leg.symbol, side, size, cfg.passive, reduce_only=True,
                    deadline_s=min(cfg.phase1_timeout_s, self._left(cfg)), tag="c", stop=stop,
                    observer=tap, role="close",
                )  # fmt: skip
                results[leg.venue] = res
                if res.complete:
                    stop.set()  # one leg is flat: the others go to phase 2 now

            await asyncio.gather(*(passive(leg) for leg in legs))
            orders.extend(results.values())
            if all(r.complete for r in results.values()):
                return "passive"
        # Phase 2 on what the venues say remains.
        now = await self._reread(legs)
        remaining = {leg.venue: now.get(leg.venue, before[leg.venue]) for leg in legs}
        refs = {
            v: Reference(r.avg_price, self.executors[v].info(leg.symbol).taker_fee)
            for leg in legs
            for v, r in results.items()
            if v == leg.venue and r.avg_price is not None and r.filled > 0
        }
        closing = [leg for leg in legs if remaining[leg.venue] != 0 and not self._dust(leg, remaining[leg.venue])]

        async def finish(leg: CloseLeg) -> ExecutionResult:
            other = next((refs[v] for v in refs if v != leg.venue), None)
            pos = remaining[leg.venue]
            side = Side.SELL if pos > 0 else Side.BUY
            res = await self.executors[leg.venue].execute(
                leg.symbol, side, abs(pos), cfg.phase2, reduce_only=True, reference=other,
                deadline_s=self._left(cfg), tag="x",
                observer=tap, role="close",
            )  # fmt: skip
            return res

        orders.extend(await asyncio.gather(*(finish(leg) for leg in closing)))
        return "phase2"

    async def _flatten(
        self,
        legs: list[CloseLeg],
        before: dict[str, Decimal],
        cfg: CloseConfig,
        tap: OperationTap,
    ) -> list[ExecutionResult]:
        async def one(leg: CloseLeg) -> ExecutionResult:
            pos = before[leg.venue]
            side = Side.SELL if pos > 0 else Side.BUY
            res = await self.executors[leg.venue].execute(
                leg.symbol, side, abs(pos), cfg.emergency, reduce_only=True,
                deadline_s=self._left(cfg), tag="z",
                observer=tap, role="emergency",
            )  # fmt: skip
            return res

        return list(await asyncio.gather(*(one(leg) for leg in legs)))

    def _result(
        self,
        legs: Sequence[CloseLeg],
        status: CloseStatus,
        reason: str | None,
        before: dict[str, Decimal],
        after: dict[str, Decimal],
        tap: OperationTap | None,
        phase: str,
        orders: list[ExecutionResult],
        dust: dict[str, Decimal],
        incidents: list[Incident],
        start: int,
    ) -> CloseResult:
        end = self.clock.now_ns()
        fills = tap.fills if tap is not None else []
        leg_results = []
        for leg in legs:
            pos = before.get(leg.venue, _ZERO)
            side = Side.SELL if pos > 0 else Side.BUY
            q = self.executors[leg.venue].venue.quote(leg.symbol)
            leg_results.append(
                build_leg(leg.venue, leg.symbol, side, abs(pos), [f for f in fills if f.venue == leg.venue], q.mid if q else None)
            )
        start_net = sum(before.values(), _ZERO)
        q0 = self.executors[legs[0].venue].venue.quote(legs[0].symbol)
        exposure = measure_exposure(
            fills, end, start_net=start_net, start_price=q0.mid if q0 else _ZERO, start_ns=start
        )
        return CloseResult(
            status=status,
            reason=reason,
            positions_before=before,
            positions_after=after,
            legs=tuple(leg_results),
            phase=phase,
            orders=tuple(orders),
            dust=dust,
            imbalance=abs(start_net),
            exposure_usd_s=exposure.usd_seconds,
            incidents=tuple(incidents),
            started_ns=start,
            ended_ns=end,
        )
