"""``AtomicExecutor``: open a pair across venues as one operation (``DESIGN.md``, "Opening a
pair").

1. Pre-flight on fresh books: spread gate, depth within the slippage budget, one common size valid
   on every venue, minimums on every venue. Any failure: nothing is placed (``REFUSED``).
2. Entry orders on every leg at once, maker or taker per the plan.
3. On the first fill (or the entry timeout): stop and cancel every entry order, wait for each
   answer and settle it with the venue, then read the ledger and hedge the lagging legs up to the
   leader with ``aggressive_limit`` (break-even first, market last). A hedge is sized from
   ``leader − filled − reserved``: an order of the leg whose outcome is still open reserves its
   whole remaining size, so no leg is ever lifted above the pair size; every order is settled
   before the final round, and a surplus that still appears is unwound reduce-only and reported
   (``oversize``). A difference below a venue's minimum is dust: recorded, not traded.
4. A pair that cannot be completed by the deadline is rolled back: exactly this operation's own
   fills are unwound (reduce-only only where that reduces what the venue holds, so a prior
   position stays as it was), and the cost actually paid is recorded.
5. The result carries per-leg fills and costs, hedge latency and the unhedged exposure in USD·s.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any

from hedgekit._core import common_size, spread_within
from hedgekit.clock import Clock
from hedgekit.errors import (
    BookIntegrityError,
    HedgekitError,
    PostOnlyRejectedError,
    RateLimitedError,
    VenueError,
)
from hedgekit.execution.breaker import BreakerState, CircuitBreaker
from hedgekit.execution.config import AtomicConfig, EntryPlan, LegSpec
from hedgekit.execution.exposure import measure_exposure
from hedgekit.execution.liquidity import is_dust, split_sizes
from hedgekit.execution.operation import DEFAULT_STARTS_PER_TURN, OperationExecutor, OperationTap, build_leg
from hedgekit.execution.order import (
    OrderExecutor,
    Reference,
    Signal,
    protected_price,
    wait_order_or,
)
from hedgekit.execution.recorder import (
    JournalLike,
    JournalWriteError,
    MarkoutRecorder,
    OperationRecorder,
    finish_recording,
)
from hedgekit.execution.results import (
    AtomicResult,
    ExecutionResult,
    Incident,
    OpenStatus,
    Rollback,
    tidy,
)
from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.tracking import TrackedState, VenueSession
from hedgekit.venues.base import InstrumentInfo, Quote

__all__ = ["AtomicExecutor"]

_ZERO = Decimal(0)
_NANO = Decimal("1e-9")
_S = 1_000_000_000


class _Leg:
    def __init__(self, spec: LegSpec, ex: OrderExecutor, info: InstrumentInfo) -> None:
        self.spec = spec
        self.ex = ex
        self.info = info
        self.quote: Quote | None = None
        self.maker = True
        self.entry_ids: list[str] = []
        self.hedge: ExecutionResult | None = None

    @property
    def name(self) -> str:
        return self.spec.venue

    def net(self, tap: OperationTap) -> Decimal:
        """Signed size this operation has on the leg's venue, from the ledger's fills."""
        return sum((f.side.sign * f.size for f in tap.of(self.name)), _ZERO)

    def along(self, tap: OperationTap) -> Decimal:
        """Size held in the leg's direction."""
        return self.net(tap) * self.spec.side.sign + 0  # + 0: never a negative zero


class Refusal(Exception):
    """A pre-flight check failed: nothing is placed and the open is ``refused``.

    Attributes:
        reason: Which check, in words.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    ) -> None:
        super().__init__(
            sessions, clock=clock, id_prefix=id_prefix, journal=journal, markouts=markouts,
            starts_per_turn=starts_per_turn,
        )  # fmt: skip
        self.breaker = breaker

    @staticmethod
    def conservative(config: AtomicConfig) -> AtomicConfig:
        """The configuration used while the breaker is ``CONSERVATIVE``: both legs take at once
        (no resting leg to be left alone), a tighter slippage budget, hedges straight to the
        touch."""
        return dataclasses.replace(
            config,
            plan=EntryPlan.TAKER_BOTH,
            slippage_budget_bps=min(config.slippage_budget_bps, Decimal(10)),
            hedge=dataclasses.replace(config.hedge, step_timeout_s=min(config.hedge.step_timeout_s, 0.2)),
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
            result = await self._open(legs, size, cfg, recorder)
        except BaseException:
            if recorder is not None:
                await recorder.close()  # keep what can be written; the writer never leaks
            raise
        if recorder is not None:
            await finish_recording(recorder, result.status.value, result)
        return result

    async def _open(
        self,
        legs: Sequence[LegSpec],
        size: Decimal,
        cfg: AtomicConfig,
        recorder: OperationRecorder | None,
    ) -> AtomicResult:
        start = self.clock.now_ns()
        incidents: list[Incident] = []
        if self.breaker is not None:
            state = self.breaker.state(start)
            if state is BreakerState.OPEN:
                return self._refused(legs, size, "circuit breaker open", start, incidents)
            if state is BreakerState.CONSERVATIVE:
                cfg = self.conservative(cfg)
                incidents.append(Incident(start, "conservative", None, "circuit breaker: conservative configuration"))
        ls = [_Leg(leg, self.executors[leg.venue], self.executors[leg.venue].info(leg.symbol)) for leg in legs]

        # 1. Pre-flight: nothing is placed unless every check passes.
        try:
            pair = self._preflight(ls, size, cfg)
        except Refusal as refusal:
            return self._refused(legs, size, refusal.reason, start, incidents)
        self._plan(ls, cfg)

        tap = OperationTap(self.sessions, cfg.hedge_threshold, recorder)
        tap.markouts = self.markouts
        try:
            return await self._run(ls, pair, size, cfg, tap, incidents, start)
        finally:
            tap.close()

    def _preflight(self, ls: list[_Leg], size: Decimal, cfg: AtomicConfig) -> Decimal:
        """The pair size every venue accepts now.

        Raises:
            Refusal: A check failed (nothing may be placed); its ``reason`` says which.
        """
        try:
            return self._checks(ls, size, cfg)
        except (HedgekitError, ValueError, ArithmeticError) as exc:
            # A size no venue rule can hold, a value out of range: a refusal, never a crash.
            raise Refusal(f"pre-flight failed: {exc}") from exc

    def _checks(self, ls: list[_Leg], size: Decimal, cfg: AtomicConfig) -> Decimal:
        for leg in ls:
            try:
                leg.quote = leg.ex.quote(leg.spec.symbol, cfg.max_book_age_s)
            except BookIntegrityError as exc:
                raise Refusal(f"{leg.name} book unusable ({exc.kind})") from exc
            if not spread_within(leg.quote.bid, leg.quote.ask, cfg.max_entry_spread_bps):
                raise Refusal(f"{leg.name} spread wider than {cfg.max_entry_spread_bps} bps")
        for leg in ls:
            q = leg.quote
            assert q is not None
            price = q.ask if leg.spec.side is Side.BUY else q.bid
            floored = leg.info.rules.floor_size(size)
            why = "below_min_size" if floored <= 0 else leg.info.rules.rejection(price, floored, False)
            if why in ("below_min_size", "below_min_notional"):
                raise Refusal(f"{size} on {leg.name} refused before placement: {why}")
        pair = common_size([leg.info.rules for leg in ls], size)
        if pair <= 0:
            raise Refusal(f"no size up to {size} is valid on every venue")
        for leg in ls:
            q = leg.quote
            assert q is not None
            price = q.ask if leg.spec.side is Side.BUY else q.bid
            why = leg.info.rules.rejection(price, pair, False)
            if why is not None:
                raise Refusal(f"{pair} on {leg.name} refused before placement: {why}")
            walk = leg.ex.venue.book(leg.spec.symbol).walk(leg.spec.side.value, pair)
            if not walk.complete:
                raise Refusal(f"{leg.name} book holds less than {pair}")
            slip = walk.slippage_bps
            if slip is not None and slip > float(cfg.slippage_budget_bps) and not cfg.split:
                raise Refusal(f"{leg.name} expected slippage {slip:.1f} bps over the {cfg.slippage_budget_bps} bps budget")
        return pair

    def _plan(self, ls: list[_Leg], cfg: AtomicConfig) -> None:
        if cfg.plan is EntryPlan.MAKER_BOTH:
            for leg in ls:
                leg.maker = True
        elif cfg.plan is EntryPlan.TAKER_BOTH:
            for leg in ls:
                leg.maker = False
        else:  # AUTO: the leg that saves most by resting rests; the others take.
            saving = [leg.info.taker_fee - leg.info.maker_fee for leg in ls]
            best = max(range(len(ls)), key=lambda i: (saving[i], -i))
            for i, leg in enumerate(ls):
                leg.maker = i == best

    def _refused(
        self, legs: Sequence[LegSpec], size: Decimal, reason: str, start: int, incidents: list[Incident]
    ) -> AtomicResult:
        now = self.clock.now_ns()
        incidents.append(Incident(now, "refused", None, reason))
        return AtomicResult(
            status=OpenStatus.REFUSED,
            reason=reason,
            requested=size,
            size=_ZERO,
            legs=tuple(build_leg(l.venue, l.symbol, l.side, size, (), None) for l in legs),  # noqa: E741
            incidents=tuple(incidents),
            started_ns=start,
            ended_ns=now,
        )

    async def _run(
        self,
        ls: list[_Leg],
        pair: Decimal,
        requested: Decimal,
        cfg: AtomicConfig,
        tap: OperationTap,
        incidents: list[Incident],
        start: int,
    ) -> AtomicResult:
        # 2. Entries on every leg at once. The first fill stops them and starts the reaction
        # straight from the fill listener: no hop through this task.
        stop = Signal()
        reaction: list[asyncio.Future[dict[str, Decimal]]] = []
        if tap.recorder is not None:
            # The journal's first failure ends the entries on every leg at once: nothing that
            # adds exposure is sent unrecorded, and what is filled is still hedged or unwound.
            tap.recorder.add_failure_listener(lambda _exc: stop.set())

        def on_first() -> None:
            # The reaction task is queued before the entry tasks wake, so it runs first.
            reaction.append(asyncio.ensure_future(self._react(ls, pair, cfg, tap, incidents)))
            stop.set()

        tap.on_first = on_first
        entries: list[asyncio.Future[None]] = [
            asyncio.ensure_future(self._enter(leg, pair, cfg, tap, stop, incidents)) for leg in ls
        ]
        first: asyncio.Future[Any] = asyncio.ensure_future(tap.first.wait())
        waitables: list[asyncio.Future[Any]] = [first, *entries]
        try:
            await asyncio.wait(
                waitables, timeout=cfg.entry_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            first.cancel()
        # 3. Every entry stops, cancels what it has resting, waits for the answer and settles.
        stop.set()
        for res in await asyncio.gather(*entries, return_exceptions=True):
            if isinstance(res, BaseException):
                raise res
        # From here on this task does all the hedging: a first fill revealed only now (by a
        # settling status query) must not start a second, concurrent hedge.
        tap.on_first = None
        # The reaction may have started while the entries settled (a fill that only a status
        # query revealed): it must finish before anything else hedges.
        dust: dict[str, Decimal] = {}
        if reaction:
            dust.update(await reaction[0])
        # Anything still live or in doubt (an entry whose placement was in flight when the
        # reaction ran, a hedge whose answer was lost) is cancelled and settled now: no order
        # of this operation is left to fill behind the final decision.
        await self.settle_orders(tap, cfg.settle_timeout_s)
        # Now that every order is settled, hedge whatever the ledger still shows apart
        # (everything, when no fill came during the entries; a late fill's worth otherwise).
        if tap.fills:
            dust.update(await self._hedge_round(ls, pair, cfg, tap, incidents, first_round=not reaction))
            await self.settle_orders(tap, cfg.settle_timeout_s)
            await self._trim(ls, pair, cfg, tap, incidents)
        targets = {leg.name: leg.along(tap) for leg in ls}
        target = max(targets.values())
        if target <= 0 and all(leg.net(tap) == 0 for leg in ls):
            return self._finish(ls, pair, requested, OpenStatus.NOT_FILLED, "no entry order filled", tap, incidents, start)
        if target > 0 and all(self._balanced(leg, target, tap) for leg in ls):
            status = OpenStatus.OPENED if target >= pair else OpenStatus.PARTIAL
            reason = None if status is OpenStatus.OPENED else f"filled {target} of {pair}"
            return self._finish(ls, pair, requested, status, reason, tap, incidents, start, dust)
        # 4. Roll back.
        rollback = await self._rollback(ls, cfg, tap, incidents)
        status = OpenStatus.ROLLED_BACK if rollback.complete else OpenStatus.EXPOSED
        reason = "hedge not completed by the deadline"
        return self._finish(ls, pair, requested, status, reason, tap, incidents, start, dust, rollback)

    async def _react(
        self,
        ls: list[_Leg],
        pair: Decimal,
        cfg: AtomicConfig,
        tap: OperationTap,
        incidents: list[Incident],
    ) -> dict[str, Decimal]:
        """The hedge path, in one task from the first fill: cancel every entry order that is
        still live and wait for each answer, settle it with the venue, read the ledger, hedge.
        An entry whose placement is still in flight is left to its own task (it cancels its order
        once the answer is back); the final round after the entries catches what it filled."""
        pending = _live_entries(ls, answered_only=True)
        if len(pending) == 1:
            await pending[0][0].ex._cancel_and_settle(pending[0][1], tap)
        elif pending:
            await asyncio.gather(*(leg.ex._cancel_and_settle(cid, tap) for leg, cid in pending))
        return await self._hedge_round(ls, pair, cfg, tap, incidents, first_round=True)

    async def _hedge_round(
        self,
        ls: list[_Leg],
        pair: Decimal,
        cfg: AtomicConfig,
        tap: OperationTap,
        incidents: list[Incident],
        *,
        first_round: bool,
    ) -> dict[str, Decimal]:
        """Reads the ledger and hedges every lagging leg up to the leader (dust excepted),
        never beyond the pair size."""
        tap.sync()
        targets = {leg.name: leg.along(tap) for leg in ls}
        leader = max(ls, key=lambda leg: targets[leg.name])
        target = min(targets[leader.name], pair)
        if target <= 0:
            return {}
        lagging = [leg for leg in ls if targets[leg.name] < target]
        if lagging and first_round:
            incidents.append(
                Incident(
                    self.clock.now_ns(), "one_sided_fill", leader.name,
                    f"{leader.name} filled {target}, " + ", ".join(f"{l.name} {targets[l.name]}" for l in lagging),  # noqa: E741
                )
            )  # fmt: skip
        if not lagging:
            return {}
        first_ns = min(f.ts_ns for f in tap.fills)
        deadline_ns = first_ns + int(cfg.deadline_s * _S)
        return await self._hedge(ls, leader, target, cfg, tap, deadline_ns, incidents)

    async def _trim(
        self, ls: list[_Leg], pair: Decimal, cfg: AtomicConfig, tap: OperationTap, incidents: list[Incident]
    ) -> None:
        """No leg ends above the pair size: a surplus (a fill that raced the hedge) is unwound
        reduce-only at once and reported with its cost."""
        for leg in ls:
            surplus = leg.along(tap) - pair
            if surplus <= 0 or self._dust(leg, surplus):
                continue
            side = leg.spec.side.opposite
            result = await leg.ex.execute(
                leg.spec.symbol, side, surplus, cfg.rollback, reduce_only=True,
                deadline_s=cfg.deadline_s, tag="o", observer=tap, role="oversize",
            )  # fmt: skip
            await self.settle_orders(tap, cfg.settle_timeout_s)
            cost = (result.fees + (abs(result.avg_price - (leg.quote.mid if leg.quote else result.avg_price)) * result.filled)) if result.avg_price is not None else result.fees
            incidents.append(
                Incident(
                    self.clock.now_ns(), "oversize", leg.name,
                    f"{leg.name} held {surplus} above the pair size {pair}: unwound {result.filled}, cost {tidy(cost)}",
                )
            )  # fmt: skip

    async def _enter(
        self,
        leg: _Leg,
        pair: Decimal,
        cfg: AtomicConfig,
        tap: OperationTap,
        stop: asyncio.Event,
        incidents: list[Incident],
    ) -> None:
        """One leg's entry: a resting post-only order kept at the maker price (re-placed at once
        after a post-only rejection or expiry) until told to stop; or taker IOCs (split when the
        book is too thin within the budget). Ends with nothing of this leg resting."""
        ex = leg.ex
        sym, side = leg.spec.symbol, leg.spec.side
        session = ex.session
        if not leg.maker:
            await self._take(leg, pair, cfg, tap, stop)
            return
        rejects = 0
        entry_cfg = cfg.entry
        while not stop.is_set() and rejects <= entry_cfg.max_post_only_rejects:
            # An earlier entry whose cancel was lost or refused may still rest: it reserves its
            # size, and it is cancelled again before anything new is placed.
            live = [cid for cid in leg.entry_ids if not session.tracker.state(cid).is_terminal]
            if live:
                await asyncio.gather(*(ex._cancel_and_settle(cid, tap) for cid in live))
                if any(not session.tracker.state(cid).is_terminal for cid in live):
                    await _wait_event(stop, entry_cfg.reprice_check_s)
                    continue
            remaining = pair - leg.along(tap) - _reserved(leg, tap)
            try:
                q = ex.quote(sym, cfg.max_book_age_s)
            except BookIntegrityError:
                await _wait_event(stop, entry_cfg.reprice_check_s)
                continue
            price = ex._maker_price(leg.info.rules, side, q, entry_cfg)
            send = ex.placeable(leg.info.rules, remaining, price, False)
            if send <= 0:
                return
            try:
                req = await _entry_request(leg, tap, send, price, TimeInForce.POST_ONLY, "e")
            except JournalWriteError as exc:
                incidents.append(Incident(self.clock.now_ns(), "journal_failed", leg.name, str(exc)))
                stop.set()
                return
            cid = req.client_id
            try:
                order = await session.place(req)
                tap.answer(leg.name, order)
            except PostOnlyRejectedError as exc:
                rejects += 1
                incidents.append(Incident(self.clock.now_ns(), "post_only_reject", leg.name, f"{cid} at {price}: {exc.message}; repricing at once"))
                continue
            except VenueError as exc:
                rejects += 1
                incidents.append(Incident(self.clock.now_ns(), "entry_rejected", leg.name, f"{cid}: {exc}"))
                if exc.definitive and not isinstance(exc, RateLimitedError):
                    return
                continue
            while not stop.is_set():
                order = await wait_order_or(session, cid, stop, entry_cfg.reprice_check_s)
                if order.is_terminal or stop.is_set():
                    break
                try:
                    q = ex.quote(sym, cfg.max_book_age_s)
                except BookIntegrityError:
                    continue
                target = ex._maker_price(leg.info.rules, side, q, entry_cfg)
                if order.filled == 0 and abs(target - price) / price * 10_000 > entry_cfg.reprice_tolerance_bps:
                    break  # too far from the touch: cancel below and re-place
            ended_by_venue = order.is_terminal
            if tap.first.is_set() and not ended_by_venue:
                return  # the reaction cancels and settles it, on the hedge path
            final = await ex._cancel_and_settle(cid, tap)
            if ended_by_venue and final.state in (TrackedState.EXPIRED, TrackedState.CANCELLED):
                rejects += 1
                incidents.append(
                    Incident(self.clock.now_ns(), "post_only_reject", leg.name, f"{cid} at {price} accepted then {final.state.value} (would have crossed); repricing at once")
                )  # fmt: skip

    async def _take(self, leg: _Leg, pair: Decimal, cfg: AtomicConfig, tap: OperationTap, stop: asyncio.Event) -> None:
        ex = leg.ex
        sym, side = leg.spec.symbol, leg.spec.side
        book = ex.venue.book(sym)
        depth = book.size_within_bps(side.value, cfg.slippage_budget_bps)
        try:
            children = [pair] if depth >= pair else split_sizes(pair, depth, leg.info.rules)
        except ValueError:
            children = [pair]
        for child in children:
            if stop.is_set() and tap.first.is_set() and leg.along(tap) > 0:
                break
            try:
                q = ex.quote(sym, cfg.max_book_age_s)
            except BookIntegrityError:
                return
            price = protected_price(leg.info.rules, side, q, cfg.slippage_budget_bps)
            send = ex.placeable(leg.info.rules, min(child, pair - leg.along(tap) - _reserved(leg, tap)), price, False)
            if send <= 0:
                return
            try:
                req = await _entry_request(leg, tap, send, price, TimeInForce.IOC, "t")
            except JournalWriteError:
                stop.set()
                return
            cid = req.client_id
            try:
                tap.answer(leg.name, await ex.session.place(req))
            except Exception:  # noqa: BLE001 - refused: the hedge step deals with the gap
                return
            order = await ex._wait(cid, 2 * ex.session.tracker.config.request_timeout_ns / _S, lambda o: o.is_terminal)
            if not order.is_terminal or order.filled < order.request.size:
                await ex.session.settle(cid)
            if len(children) > 1:
                await asyncio.sleep(0.2)  # let the book refill between children

    def _dust(self, leg: _Leg, size: Decimal) -> bool:
        """Whether ``size`` on the leg is below what its venue accepts, valued at a real price:
        the live mid, else the mid at arrival (pre-flight always had a book). Never a
        placeholder: without any price nothing is dust."""
        q = leg.ex.venue.quote(leg.spec.symbol)
        price = q.mid if q is not None else (leg.quote.mid if leg.quote is not None else None)
        if price is None or price <= 0:
            return False
        return is_dust(leg.info.rules, size, price)

    def _balanced(self, leg: _Leg, target: Decimal, tap: OperationTap) -> bool:
        diff = target - leg.along(tap)
        return diff <= 0 or self._dust(leg, diff)

    async def _hedge(
        self,
        ls: list[_Leg],
        leader: _Leg,
        target: Decimal,
        cfg: AtomicConfig,
        tap: OperationTap,
        deadline_ns: int,
        incidents: list[Incident],
    ) -> dict[str, Decimal]:
        dust: dict[str, Decimal] = {}
        lead_fills = [f for f in tap.of(leader.name) if f.side is leader.spec.side]
        lead_size = sum((f.size for f in lead_fills), _ZERO)
        lead_notional = sum((f.price * f.size for f in lead_fills), _ZERO)
        lead_avg = (lead_notional / lead_size).quantize(_NANO)
        # The fee rate the leader actually paid (maker, taker or a mix), rounded up to the core's
        # nine decimals: the break-even price then errs on the safe side.
        fee_rate = (sum((f.fee for f in lead_fills), _ZERO) / lead_notional).quantize(_NANO, ROUND_CEILING)
        ref = Reference(lead_avg, fee_rate)

        async def hedge_leg(leg: _Leg) -> None:
            # An order of this leg whose outcome is still open (an entry whose placement is in
            # flight, a hedge in doubt) reserves its whole remaining size: the hedge never
            # lifts the leg past the leader whatever that order turns out to have done.
            diff = target - leg.along(tap) - _reserved(leg, tap)
            if diff <= 0:
                return
            if self._dust(leg, diff):
                dust[leg.name] = diff
                incidents.append(Incident(self.clock.now_ns(), "dust", leg.name, f"{diff} below the venue minimum: recorded, not traded"))
                return
            left_s = (deadline_ns - self.clock.now_ns()) / _S
            if left_s <= 0:
                return
            hedge_cfg = cfg.hedge
            result = await leg.ex.execute(
                leg.spec.symbol, leg.spec.side, diff, hedge_cfg, reference=ref, deadline_s=left_s,
                tag="h", observer=tap, role="hedge",
            )  # fmt: skip
            leg.hedge = result
            ok = result.complete or self._dust(leg, result.remaining)
            kind = "hedge" if ok else "hedge_failed"
            incidents.append(
                Incident(
                    self.clock.now_ns(), kind, leg.name,
                    f"hedged {result.filled} of {diff} ({result.mode}); {result.reason or 'complete'}",
                )
            )  # fmt: skip
            if self.breaker is not None:
                latency = self.clock.now_ns() - min(f.ts_ns for f in tap.fills)
                self.breaker.record_hedge(self.clock.now_ns(), latency, ok, kind)

        others = [leg for leg in ls if leg is not leader]
        if len(others) == 1:
            await hedge_leg(others[0])  # no task in between: the common two-leg case
        else:
            await asyncio.gather(*(hedge_leg(leg) for leg in others))
        return dust

    async def _rollback(
        self, ls: list[_Leg], cfg: AtomicConfig, tap: OperationTap, incidents: list[Incident]
    ) -> Rollback:
        flattened: dict[str, Decimal] = {}
        end_ns = self.clock.now_ns() + int(cfg.deadline_s * _S)

        async def flatten(leg: _Leg) -> None:
            # Unwind exactly this operation's own fills. Reduce-only only where the unwind is
            # a reduction of what the venue holds: with a prior opposite position the unwind
            # extends it, and a reduce-only order would be refused.
            while self.clock.now_ns() < end_ns:
                net = leg.net(tap)
                if net == 0 or self._dust(leg, abs(net)):
                    return
                side = Side.SELL if net > 0 else Side.BUY
                held = await self._held(leg)
                reduce_only = held is not None and held * net > 0 and abs(held) >= abs(net)
                result = await leg.ex.execute(
                    leg.spec.symbol, side, abs(net), cfg.rollback, reduce_only=reduce_only,
                    deadline_s=(end_ns - self.clock.now_ns()) / _S, tag="r",
                    observer=tap, role="rollback",
                )  # fmt: skip
                flattened[leg.name] = flattened.get(leg.name, _ZERO) + result.filled
                await self.settle_orders(tap, cfg.settle_timeout_s)
                if result.filled == 0:
                    await asyncio.sleep(0.25)  # refused or nothing on the book: a fresh try

        # Hedge orders' fills that arrived after the hedge returned are in the tap already.
        await self.settle_orders(tap, cfg.settle_timeout_s)
        await asyncio.gather(*(flatten(leg) for leg in ls))
        complete = all(leg.net(tap) == 0 or self._dust(leg, abs(leg.net(tap))) for leg in ls)
        # What was paid: the cash of every fill, with what is still held valued at the mid (so
        # an unwind that could not finish does not count the inventory it kept as a loss).
        cash = sum((-f.side.sign * f.price * f.size - f.fee for f in tap.fills), _ZERO)
        held_value = _ZERO
        for leg in ls:
            q = leg.ex.venue.quote(leg.spec.symbol)
            mid = q.mid if q is not None else (leg.quote.mid if leg.quote is not None else _ZERO)
            held_value += leg.net(tap) * mid
        cost = tidy(-(cash + held_value))
        incidents.append(
            Incident(
                self.clock.now_ns(), "rollback", None,
                f"flattened {', '.join(f'{k} {v}' for k, v in flattened.items()) or 'nothing'}; cost {cost}",
            )
        )  # fmt: skip
        if self.breaker is not None:
            self.breaker.record_rollback(self.clock.now_ns(), f"cost {cost}")
        if not complete:
            left = {leg.name: leg.net(tap) for leg in ls}
            incidents.append(Incident(self.clock.now_ns(), "exposed", None, f"positions left by the operation: {left}"))
        return Rollback(flattened=flattened, cost=cost, complete=complete)

    async def _held(self, leg: _Leg) -> Decimal | None:
        """The venue's signed position in the leg's symbol now, ``None`` when unreadable."""
        try:
            pos = await leg.ex.session.fetch_positions()
        except (VenueError, TimeoutError):
            return None
        p = pos.get(leg.spec.symbol)
        return _ZERO if p is None else p.size

    def _finish(
        self,
        ls: list[_Leg],
        pair: Decimal,
        requested: Decimal,
        status: OpenStatus,
        reason: str | None,
        tap: OperationTap,
        incidents: list[Incident],
        start: int,
        dust: dict[str, Decimal] | None = None,
        rollback: Rollback | None = None,
    ) -> AtomicResult:
        tap.sync()
        unresolved = self.live_orders(tap)
        if unresolved:
            # An order that may still trade (a cancel never confirmed, a placement still in
            # doubt) means the venues' truth is not known: never a success.
            names = ", ".join(f"{venue}:{cid}" for venue, cid in unresolved)
            incidents.append(Incident(self.clock.now_ns(), "unresolved_order", None, f"orders still live or in doubt: {names}"))
            if status is not OpenStatus.EXPOSED:
                reason = f"orders still live or in doubt ({names})" + (f"; {reason}" if reason else "")
                status = OpenStatus.EXPOSED
        end = self.clock.now_ns()
        tolerance = max((leg.info.rules.min_qty for leg in ls), default=_ZERO)
        exposure = measure_exposure(tap.fills, end, tolerance)
        legs = tuple(
            build_leg(leg.name, leg.spec.symbol, leg.spec.side, pair, tap.of(leg.name), leg.quote.mid if leg.quote else None)
            for leg in ls
        )
        hedges = tuple(leg.hedge for leg in ls if leg.hedge is not None)
        latency = None
        if hedges and exposure.first_fill_ns is not None:
            if exposure.flat_ns is not None:
                latency = max(exposure.flat_ns - exposure.first_fill_ns, 0)
            elif abs(exposure.net) <= tolerance:
                latency = 0  # never exposed beyond the dust
            else:
                latency = max(end - exposure.first_fill_ns, 0)
        on = status in (OpenStatus.OPENED, OpenStatus.PARTIAL)
        size = min((leg.along(tap) for leg in ls), default=_ZERO) if on else _ZERO
        return AtomicResult(
            status=status,
            reason=reason,
            requested=requested,
            size=size,
            legs=legs,
            hedges=hedges,
            hedge_latency_ns=latency,
            exposure_usd_s=exposure.usd_seconds,
            max_exposure_usd=exposure.max_usd,
            dust=dust or {},
            rollback=rollback,
            incidents=tuple(incidents),
            started_ns=start,
            ended_ns=end,
            unresolved=tuple(f"{venue}:{cid}" for venue, cid in unresolved),
        )


def _reserved(leg: _Leg, tap: OperationTap) -> Decimal:
    """Size that the leg's orders in its direction not answered for yet may still add to the
    ledger: an order that may trade, or one that ended before the venue's final report of its
    fills reached the ledger (an IOC answered "expired, 175 filled" whose fills are still on
    their way), reserves the rest of its size."""
    tracker = leg.ex.session.tracker
    total = _ZERO
    for cid in tap.client_ids(leg.name):
        order = tracker.get(cid)
        if order is not None and order.request.side is leg.spec.side:
            total += tracker.may_still_fill(cid)
    return total


def _live_entries(ls: Sequence[_Leg], *, answered_only: bool = False) -> list[tuple[_Leg, str]]:
    """Entry orders not finished yet (with ``answered_only``, not those whose placement is
    still awaiting the venue's answer)."""
    out = []
    for leg in ls:
        tracker = leg.ex.session.tracker
        for cid in leg.entry_ids:
            state = tracker.state(cid)
            if not state.is_terminal and not (answered_only and state is TrackedState.PENDING_NEW):
                out.append((leg, cid))
    return out


async def _entry_request(
    leg: _Leg, tap: OperationTap, size: Decimal, price: Decimal, tif: TimeInForce, tag: str
) -> OrderRequest:
    """An entry order for ``leg``: a fresh id, watched (and journalled) before it is sent."""
    ex = leg.ex
    req = OrderRequest(leg.spec.symbol, leg.spec.side, size, price, ex.next_id(tag), tif=tif)
    await tap.order(leg.name, req, "entry")
    leg.entry_ids.append(req.client_id)  # only once it is journalled: it will be sent
    if ex.on_send is not None:
        ex.on_send(req)
    return req


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
