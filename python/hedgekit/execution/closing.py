"""One close in flight: :class:`Closing` holds everything a single close of a pair knows — its
legs, configuration and deadline, the marks, entry prices and mids it has seen per (venue,
symbol), its orders, fills and incidents — and runs the steps of
:meth:`~hedgekit.execution.CloseExecutor.close` (see :mod:`hedgekit.execution.close`). Closes
running at once on one executor each have their own, so none can read another's deadline or
value its legs at another symbol's price."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal

from hedgekit._core import spread_within
from hedgekit.errors import BookIntegrityError, RateLimitedError, VenueError
from hedgekit.execution.config import CloseConfig, CloseLeg, OrderConfig
from hedgekit.execution.exposure import measure_exposure
from hedgekit.execution.liquidity import is_dust
from hedgekit.execution.operation import OperationExecutor, OperationTap, build_leg
from hedgekit.execution.order import Reference, Signal, refill_pause_s
from hedgekit.execution.recorder import OperationRecorder
from hedgekit.execution.results import CloseResult, CloseStatus, ExecutionResult, Incident
from hedgekit.model import Position, Side
from hedgekit.tracking import VenueSession

__all__ = ["Closing", "attempt_s", "read_position"]

log = logging.getLogger("hedgekit.execution")

_ZERO = Decimal(0)
_S = 1_000_000_000
_READ_BACKOFF_S = 0.05
"""First pause between two reads of a position; it doubles up to :data:`_READ_BACKOFF_MAX_S`."""
_READ_BACKOFF_MAX_S = 1.0
_READ_MIN_ATTEMPT_S = 0.25
"""The shortest time one read of a position is given, even at the end of its window."""
_PHASE2_READ_S = 1.0
"""How long phase 2 tries to read the positions before sizing from this close's own fills."""
_MAX_REFUSED_ROUNDS = 3
"""Rounds of one leg's close the venue refuses outright, in a row, before that leg's work ends."""


def attempt_s(session: VenueSession) -> float:
    """How long one read of a position may take: the venue's request timeout."""
    return session.tracker.config.request_timeout_ns / _S


async def read_position(session: VenueSession, symbol: str, timeout_s: float) -> Position | None:
    """One read of the venue's position in ``symbol``; ``None`` when the venue does not list it
    (flat).

    Raises:
        hedgekit.errors.VenueError: The venue refused or failed.
        TimeoutError: No answer within ``timeout_s``.
    """
    answer = await session.fetch_positions(timeout_s)
    return answer.get(symbol)


class Closing:
    """One close of a pair, from its first read of the positions to its result.

    Args:
        owner: The executor that runs it: its sessions, order executors, clock and markouts are
            shared by every close it runs; nothing of this close is kept there.
        legs: The legs, one per venue.
        config: Spread gate, phase timeouts and modes.
        recorder: Journals this close, when the executor has a journal.
    """

    def __init__(
        self,
        owner: OperationExecutor,
        legs: Sequence[CloseLeg],
        config: CloseConfig,
        recorder: OperationRecorder | None,
    ) -> None:
        self._owner = owner
        self.sessions = owner.sessions
        self.executors = owner.executors
        self.clock = owner.clock
        self.legs = tuple(legs)
        self.cfg = config
        self.recorder = recorder
        self.start_ns = self.clock.now_ns()
        self.deadline_ns = self.start_ns + int(config.deadline_s * _S)
        self.incidents: list[Incident] = []
        self.orders: list[ExecutionResult] = []
        self.tap: OperationTap | None = None
        """Attributes this close's orders and fills (from the first order on)."""
        self._marks: dict[tuple[str, str], tuple[Decimal | None, Decimal | None]] = {}
        """Per (venue, symbol): the mark and entry price of the position at its last read."""
        self._mids: dict[tuple[str, str], Decimal] = {}
        """Per (venue, symbol): the last mid this close saw."""

    # ----------------------------------------------------------------------------- reads
    def _attempt_s(self, leg: CloseLeg) -> float:
        return attempt_s(self.sessions[leg.venue])

    async def _read_once(self, leg: CloseLeg, timeout_s: float) -> Decimal:
        """One read of the leg's position (flat when the venue does not list it); its mark and
        entry price are kept to value dust without a book."""
        pos = await read_position(self.sessions[leg.venue], leg.symbol, timeout_s)
        if pos is None:
            return _ZERO
        self._marks[(leg.venue, leg.symbol)] = (pos.mark_price, pos.entry_price)
        return pos.size

    async def _read(self, legs: Sequence[CloseLeg], until_ns: int) -> dict[str, Decimal]:
        """Signed position of every leg whose venue answered. A failed read is tried again after
        a short pause (doubling up to a second) until it answers or ``until_ns``; every attempt is
        bounded by the venue's request timeout and by ``until_ns`` (at least once, briefly, when
        that has passed). A leg left out of the answer is unknown: it is never taken as flat."""

        async def one(leg: CloseLeg) -> Decimal | None:
            pause = _READ_BACKOFF_S
            tries = 0
            while True:
                tries += 1
                left_s = (until_ns - self.clock.now_ns()) / _S
                bound_s = min(self._attempt_s(leg), max(left_s, _READ_MIN_ATTEMPT_S))
                try:
                    return await self._read_once(leg, bound_s)
                except (VenueError, TimeoutError) as exc:
                    err: BaseException = exc
                if isinstance(err, RateLimitedError):
                    pause = max(pause, min(err.retry_after_s, _READ_BACKOFF_MAX_S))
                if self.clock.now_ns() + int(pause * _S) >= until_ns:
                    log.warning("%s: position unreadable after %d tries: %r", leg.venue, tries, err)
                    return None
                await asyncio.sleep(pause)
                pause = min(pause * 2, _READ_BACKOFF_MAX_S)

        sizes = await asyncio.gather(*(one(leg) for leg in legs))
        return {leg.venue: s for leg, s in zip(legs, sizes, strict=True) if s is not None}

    def _final_until(self) -> int:
        """Until when the final read is tried: the deadline, or one request timeout from now if
        that is later (a close that used its whole deadline still reads its positions)."""
        grace = max(int(self._attempt_s(leg) * _S) for leg in self.legs)
        return max(self.deadline_ns, self.clock.now_ns() + grace)

    # ------------------------------------------------------------------------------ dust
    def _price(self, leg: CloseLeg) -> Decimal | None:
        """A real price for the leg: the book's mid, else the venue's mark for the leg's symbol
        from the last read, the last mid seen in this close, or the position's entry price;
        ``None`` when there is none."""
        key = (leg.venue, leg.symbol)
        q = self.executors[leg.venue].venue.quote(leg.symbol)
        if q is not None and q.mid > 0:
            self._mids[key] = q.mid
            return q.mid
        mark, entry = self._marks.get(key, (None, None))
        for price in (mark, self._mids.get(key), entry):
            if price is not None and price > 0:
                return price
        return None

    def _dust(self, leg: CloseLeg, size: Decimal) -> bool:
        """True when ``size`` is below what the venue accepts as a reduce-only order at a real
        price (:meth:`_price`). Without a price a size cannot be shown to be dust: it is not."""
        price = self._price(leg)
        if price is None:
            return False
        ex = self.executors[leg.venue]
        return is_dust(ex.info(leg.symbol).rules, abs(size), price, reduce_only=True)

    # ------------------------------------------------------------------------------- run
    async def run(self) -> CloseResult:
        """Closes every leg to flat (see :meth:`~hedgekit.execution.CloseExecutor.close`)."""
        legs, cfg, incidents = self.legs, self.cfg, self.incidents
        before = await self._read(legs, self.deadline_ns)
        unread = [leg.venue for leg in legs if leg.venue not in before]
        if unread:
            # Without every leg's position nothing can be decided safely (closing the known
            # legs alone could unhedge the pair): nothing is traded.
            why = self._unknown(unread, "nothing was traded")
            return self._result(CloseStatus.EXPOSED, why, before, dict(before), "none", {})
        open_legs = [
            leg for leg in legs if before[leg.venue] != 0 and not self._dust(leg, before[leg.venue])
        ]
        dust = {
            leg.venue: before[leg.venue]
            for leg in legs
            if before[leg.venue] != 0 and leg not in open_legs
        }
        if not open_legs:
            return self._result(CloseStatus.NOTHING_TO_CLOSE, None, before, before, "none", dust)
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
        tap = self.tap = OperationTap(self.sessions, recorder=self.recorder)
        tap.markouts = self._owner.markouts
        try:
            if len(open_legs) < len(legs):
                phase = "emergency"
                missing = [leg.venue for leg in legs if leg not in open_legs]
                incidents.append(
                    Incident(self.clock.now_ns(), "emergency_close", None, f"no position on {', '.join(missing)}: flattening the survivor at once")
                )  # fmt: skip
                self.orders += await self._flatten(open_legs, before, tap)
            else:
                phase = await self._two_phase(open_legs, before, tap)
            # Every order of the close is answered for before the final read (a cancel lost or
            # refused is retried); one that may still trade makes the result exposed.
            unresolved = await self._owner.settle_orders(tap, cfg.settle_timeout_s)
            # The status comes from a successful read of every leg: an unreadable leg is unknown.
            after = await self._read(legs, self._final_until())
            unread = [leg.venue for leg in legs if leg.venue not in after]
            still = [
                leg
                for leg in legs
                if after.get(leg.venue, _ZERO) != 0 and not self._dust(leg, after[leg.venue])
            ]
            for leg in legs:
                if leg not in still and after.get(leg.venue, _ZERO) != 0:
                    dust[leg.venue] = after[leg.venue]
            if dust:
                incidents.append(
                    Incident(
                        self.clock.now_ns(),
                        "dust",
                        None,
                        f"below the venue minimum, recorded not traded: {dust}",
                    )
                )
            problems: list[str] = []
            if unread:
                problems.append(self._unknown(unread, "it may still be open"))
            if still:
                problems.append(
                    f"still open: {', '.join(f'{leg.venue} {after[leg.venue]}' for leg in still)}"
                )
            if unresolved:
                names = ", ".join(f"{v}:{cid}" for v, cid in unresolved)
                incidents.append(
                    Incident(
                        self.clock.now_ns(),
                        "unresolved_order",
                        None,
                        f"orders still live or in doubt: {names}",
                    )
                )
                problems.append(f"orders still live or in doubt ({names})")
            status = CloseStatus.EXPOSED if problems else CloseStatus.CLOSED
            reason = "; ".join(problems) or None
            if reason is not None:
                incidents.append(Incident(self.clock.now_ns(), "exposed", None, reason))
            return self._result(status, reason, before, after, phase, dust, unresolved)
        finally:
            tap.close()

    def _unknown(self, venues: list[str], consequence: str) -> str:
        """Records one incident per leg whose position could not be read; returns the reason."""
        for venue in venues:
            self.incidents.append(
                Incident(self.clock.now_ns(), "position_unknown", venue, f"position could not be read by the deadline: unknown, not flat; {consequence}")
            )  # fmt: skip
        return f"position unknown: {', '.join(venues)}"

    def _left(self) -> float:
        """Seconds left of the close's deadline (at least a millisecond, so a late phase still
        makes one attempt)."""
        return max((self.deadline_ns - self.clock.now_ns()) / _S, 0.001)

    @staticmethod
    def _own_net(tap: OperationTap, venue: str) -> Decimal:
        """This close's net fills on ``venue`` (each fill once, as the ledger applied it)."""
        return sum((f.side.sign * f.size for f in tap.of(venue)), _ZERO)

    # ---------------------------------------------------------------------------- phases
    async def _two_phase(
        self, legs: list[CloseLeg], before: dict[str, Decimal], tap: OperationTap
    ) -> str:
        cfg, incidents = self.cfg, self.incidents
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
                incidents.append(
                    Incident(
                        self.clock.now_ns(),
                        "wide_spread",
                        leg.venue,
                        f"spread over {cfg.max_exit_spread_bps} bps: skipping the passive phase",
                    )
                )
                break
        results: dict[str, ExecutionResult] = {}
        if passive_ok:
            stop = Signal()

            async def passive(leg: CloseLeg) -> None:
                size = abs(before[leg.venue])
                side = Side.SELL if before[leg.venue] > 0 else Side.BUY
                res = await self.executors[leg.venue].execute(
                    leg.symbol, side, size, cfg.passive, reduce_only=True,
                    deadline_s=min(cfg.phase1_timeout_s, self._left()), tag="c", stop=stop,
                    observer=tap, role="close",
                )  # fmt: skip
                results[leg.venue] = res
                if res.complete:
                    stop.set()  # one leg is flat: the others go to phase 2 now

            await asyncio.gather(*(passive(leg) for leg in legs))
            self.orders.extend(results.values())
            if all(r.complete for r in results.values()):
                return "passive"
        # Phase 2 on fresh truth: the positions read now, or, for a leg that cannot be read, its
        # first read minus this close's own fills (phase 1's orders are settled by now).
        now = await self._read(legs, self.clock.now_ns() + int(_PHASE2_READ_S * _S))
        remaining: dict[str, Decimal] = {}
        for leg in legs:
            if leg.venue in now:
                remaining[leg.venue] = now[leg.venue]
                continue
            remaining[leg.venue] = before[leg.venue] + self._own_net(tap, leg.venue)
            incidents.append(
                Incident(
                    self.clock.now_ns(), "position_from_fills", leg.venue,
                    f"position unreadable before phase 2: {remaining[leg.venue]} from the first read "
                    f"{before[leg.venue]} and this close's fills",
                )
            )  # fmt: skip
        refs = {
            v: Reference(r.avg_price, self.executors[v].info(leg.symbol).taker_fee)
            for leg in legs
            for v, r in results.items()
            if v == leg.venue and r.avg_price is not None and r.filled > 0
        }
        closing = [
            leg
            for leg in legs
            if remaining[leg.venue] != 0 and not self._dust(leg, remaining[leg.venue])
        ]

        async def finish(leg: CloseLeg) -> list[ExecutionResult]:
            other = next((refs[v] for v in refs if v != leg.venue), None)
            return await self._work(
                leg, remaining[leg.venue], cfg.phase2, tap,
                tag="x", role="close", reference=other,
            )  # fmt: skip

        for done in await asyncio.gather(*(finish(leg) for leg in closing)):
            self.orders.extend(done)
        return "phase2"

    async def _flatten(
        self, legs: list[CloseLeg], before: dict[str, Decimal], tap: OperationTap
    ) -> list[ExecutionResult]:
        done = await asyncio.gather(
            *(
                self._work(
                    leg, before[leg.venue], self.cfg.emergency, tap, tag="z", role="emergency"
                )
                for leg in legs
            )
        )
        return [r for results in done for r in results]

    async def _work(
        self,
        leg: CloseLeg,
        pos: Decimal,
        order_cfg: OrderConfig,
        tap: OperationTap,
        *,
        tag: str,
        role: str,
        reference: Reference | None = None,
    ) -> list[ExecutionResult]:
        """Closes ``pos`` on the leg with reduce-only orders worked by ``order_cfg``. A round that
        ends short with time left is followed, after a short pause for the book to refill, by
        another on the fresh book for what the ledger says remains, until flat, dust or the
        deadline — an order left in doubt by a lost answer reserves its size until it is
        answered for, so the next round never sells what it may still sell. Rounds the venue
        refuses outright are repeated at most :data:`_MAX_REFUSED_ROUNDS` times in a row (a
        refusal that is a rule, not a passing state, ends the leg's work)."""
        ex = self.executors[leg.venue]
        session = self.sessions[leg.venue]
        tracker = session.tracker
        side = Side.SELL if pos > 0 else Side.BUY
        target = abs(pos)
        pause = refill_pause_s(order_cfg)
        out: list[ExecutionResult] = []
        idle: ExecutionResult | None = (
            None  # the last round that sent nothing (kept for its reason)
        )
        refused = 0
        while True:
            ids = [c for r in out for c in r.client_ids]
            filled = sum((tracker.order(c).filled for c in ids), _ZERO)
            reserved = sum((session.may_still_fill(c) for c in ids), _ZERO)
            left = target - filled - reserved
            if target - filled <= 0 or (filled > 0 and self._dust(leg, target - filled)):
                break
            if left <= 0 or (reserved > 0 and self._dust(leg, left)):
                # What remains may still be done by an order in doubt: ask the venue, then look
                # again (bounded by the deadline).
                if self.deadline_ns - self.clock.now_ns() <= int(pause * _S):
                    break
                for c in ids:
                    if session.may_still_fill(c) > 0:
                        await session.settle(c)
                await asyncio.sleep(pause)
                continue
            res = await ex.execute(
                leg.symbol, side, left, order_cfg, reduce_only=True, reference=reference,
                deadline_s=self._left(), tag=tag, observer=tap, role=role,
            )  # fmt: skip
            if res.client_ids:
                out.append(res)
                idle = None
            else:
                idle = res
            if res.complete:
                break
            refused = (
                refused + 1 if res.filled == 0 and (res.reason or "").startswith("rejected") else 0
            )
            if refused > _MAX_REFUSED_ROUNDS or self.deadline_ns - self.clock.now_ns() <= int(
                pause * _S
            ):
                break
            await asyncio.sleep(pause)
        return out if idle is None else [*out, idle]

    # ---------------------------------------------------------------------------- result
    def _result(
        self,
        status: CloseStatus,
        reason: str | None,
        before: dict[str, Decimal],
        after: dict[str, Decimal],
        phase: str,
        dust: dict[str, Decimal],
        unresolved: Sequence[tuple[str, str]] = (),
    ) -> CloseResult:
        legs = self.legs
        end = self.clock.now_ns()
        fills = self.tap.fills if self.tap is not None else []
        leg_results = []
        for leg in legs:
            pos = before.get(leg.venue, _ZERO)
            side = Side.SELL if pos > 0 else Side.BUY
            q = self.executors[leg.venue].venue.quote(leg.symbol)
            leg_results.append(
                build_leg(
                    leg.venue,
                    leg.symbol,
                    side,
                    abs(pos),
                    [f for f in fills if f.venue == leg.venue],
                    q.mid if q else None,
                )
            )
        start_net = sum(before.values(), _ZERO)
        q0 = self.executors[legs[0].venue].venue.quote(legs[0].symbol)
        exposure = measure_exposure(
            fills,
            end,
            start_net=start_net,
            start_price=q0.mid if q0 else _ZERO,
            start_ns=self.start_ns,
        )
        return CloseResult(
            status=status,
            reason=reason,
            positions_before=before,
            positions_after=after,
            legs=tuple(leg_results),
            phase=phase,
            orders=tuple(self.orders),
            dust=dust,
            imbalance=abs(start_net),
            exposure_usd_s=exposure.usd_seconds,
            incidents=tuple(self.incidents),
            started_ns=self.start_ns,
            ended_ns=end,
            unresolved=tuple(f"{venue}:{cid}" for venue, cid in unresolved),
        )
