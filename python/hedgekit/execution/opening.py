"""One open in flight: :class:`Opening` holds everything a single open of a pair knows — its
legs and their quotes, the pair size, the configuration, its orders and fills (the tap), its
incidents and deadline — and runs the steps of :meth:`~hedgekit.execution.AtomicExecutor.open`
(see :mod:`hedgekit.execution.atomic`). It drives the venues through
:class:`~hedgekit.execution.OrderExecutor` and :class:`~hedgekit.tracking.VenueSession` public
methods only.

The hedge of a first fill follows two policies of :class:`~hedgekit.execution.AtomicConfig`:

* ``hedge_timing``: ``immediate`` sends the hedge for the size the ledger has just accepted from
  the fill's reaction, while every sibling entry is cancelled and settled concurrently (a resting
  post-only sibling does not reserve its size: it is being cancelled, and a fill of it that
  races the hedge is a surplus unwound at once); ``after_settle`` first cancels and settles every
  entry, then hedges from the complete ledger. Either way, an order whose outcome is open and
  that is not being cancelled (a taker entry in flight, a hedge in doubt) reserves its whole
  remaining size, one top-up round follows once every order is settled, and no leg ends above
  the pair size.
* The ``immediate`` reaction runs from the fill listener itself (:func:`start_eagerly`), or,
  when that venue has already delivered more events (the rest of a split fill), right after
  they are handled in the same pass: it sizes the hedge from the tap's running totals of what
  the ledger accepted, prices it from one gated look at the book, and hands it to the venue
  before the loop turns; only then do the sibling cancels start, in a task of their own. In its
  usual form (two legs, protected IOC hedges, a lagging leg above dust) the listener works the
  hedge out synchronously — size, price and request — and one coroutine sends it and works it
  on (``Opening._first_hedge``), instead of the hedge round's layers. With a journal, the hedge
  waits for its record first (the reaction's first wait), as every order does.
* ``hedge_pricing``: ``ioc`` (protected IOCs at once, repeated on the fresh book), ``ladder``
  (break-even first, then the ladder, a protected IOC last) or ``budgeted_maker`` (rest at the
  maker price only while the unhedged notional times the elapsed time stays under the budget).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from collections.abc import Set as AbstractSet
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from hedgekit._core import common_size, spread_within
from hedgekit.errors import (
    BookIntegrityError,
    HedgekitError,
    LeverageRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    VenueError,
)
from hedgekit.execution.admission import MarginHolds
from hedgekit.execution.breaker import BreakerState
from hedgekit.execution.config import (
    AtomicConfig,
    EntryPlan,
    ExecutionMode,
    HedgePricing,
    HedgeTiming,
    LegSpec,
    OrderConfig,
)
from hedgekit.execution.exposure import measure_exposure
from hedgekit.execution.liquidity import is_dust, split_sizes
from hedgekit.execution.operation import OperationTap, build_leg
from hedgekit.execution.order import (
    OrderExecutor,
    PreparedOrder,
    ReadyPrice,
    Reference,
    Signal,
    protected_price,
    wait_order_or,
)
from hedgekit.execution.recorder import JournalWriteError, OperationRecorder
from hedgekit.execution.results import (
    AtomicResult,
    ExecutionResult,
    Incident,
    OpenStatus,
    Rollback,
    tidy,
)
from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.risk.margin import Account
from hedgekit.tracking import TrackedState
from hedgekit.tracking.session import resume as _resume
from hedgekit.venues.base import InstrumentInfo, Quote

if TYPE_CHECKING:
    from hedgekit.execution.atomic import AtomicExecutor

__all__ = ["Opening", "Refusal", "start_eagerly"]

try:  # the running task per loop, read without a Python call where the loop keeps that dict
    from asyncio.tasks import _current_tasks  # type: ignore[attr-defined]

    _current_task: Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None] = (
        _current_tasks.get
    )
except ImportError:  # pragma: no cover - interpreters that keep it elsewhere
    _current_task = asyncio.current_task

_T = TypeVar("_T")

_ZERO = Decimal(0)
_ONE = Decimal(1)
_NANO = Decimal("1e-9")
_S = 1_000_000_000
_LIVE = frozenset(s for s in TrackedState if not s.is_terminal)
_LIVE_ANSWERED = _LIVE - {TrackedState.PENDING_NEW}
_MIN_REST_S = 0.05
"""A budgeted maker hedge allowed to rest less than this goes straight to IOCs."""
_RETRY_PAUSE_S = 0.25
"""The first pause before a surplus unwind the venue did not carry out is sent again (a
rate-limit backoff instead, when longer); each next one doubles, up to ``_RETRY_PAUSE_MAX_S``."""
_RETRY_PAUSE_MAX_S = 2.0


class Refusal(Exception):
    """A pre-flight check failed: nothing is placed and the open is ``refused``.

    Attributes:
        reason: Which check, in words.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Leg:
    def __init__(self, spec: LegSpec, ex: OrderExecutor, info: InstrumentInfo) -> None:
        self.spec = spec
        self.name = spec.venue
        self.buy = spec.side is Side.BUY
        self.tracker = ex.session.tracker
        self.ex = ex
        self.info = info
        self.quote: Quote | None = None
        self.maker = True
        self.entry_ids: list[str] = []
        self.hedge: ExecutionResult | None = None
        self.not_dust: tuple[Decimal, Decimal] | None = None
        """``(size, price)``: any size from ``size`` up at any price from ``price`` up is an
        order this venue accepts for its minimums (found at pre-flight; a quick answer to
        "is it dust?" on the hedge path)."""
        self.ready: ReadyPrice | None = None
        """The price of a protected IOC hedge on this leg, kept ready while the entries rest
        (with the ``ioc`` hedge pricing)."""

    def warm(self, now_ns: int, size: Decimal) -> None:
        """Brings the ready hedge price up to date with the book, and the size the venue takes
        at it for a hedge of ``size`` (a book unusable now, or a price that cannot be made, is
        left to the hedge path, which works it out again and meets the error itself)."""
        ready = self.ready
        if ready is not None:
            try:
                ready.placeable(size, ready.price(ready.quote(now_ns)))
            except (HedgekitError, ValueError, ArithmeticError):
                pass

    def surely_not_dust(self, size: Decimal, q: Quote | None) -> bool:
        """True when ``size`` at the quote's prices is above the venue's minimums for sure
        (``False`` only means: check it)."""
        bound = self.not_dust
        if bound is None or q is None:
            return False
        return size >= bound[0] and q.bid >= bound[1]

    def net(self, tap: OperationTap) -> Decimal:
        """Signed size this operation has on the leg's venue, from the ledger's fills (the
        tap's running total of them)."""
        return tap.net(self.name)

    def along(self, tap: OperationTap) -> Decimal:
        """Size held in the leg's direction."""
        net = tap.net(self.name)
        return (net if self.buy else -net) + 0  # + 0: never a negative zero

    def reserved(
        self, tap: OperationTap, *, cancelling: AbstractSet[tuple[str, str]] = frozenset()
    ) -> Decimal:
        """Size that the leg's orders in its direction not answered for yet may still add to
        the ledger: an order that may trade, or one that ended before the venue's final report
        of its fills reached the ledger (an IOC answered "expired, 175 filled" whose fills are
        still on their way), reserves the rest of its size. Resting entries named in
        ``cancelling`` (``(venue, client id)`` pairs: being cancelled right now) reserve
        nothing: a fill of theirs that races the hedge is a surplus, unwound at once."""
        tracker = self.tracker
        side = self.spec.side
        total = _ZERO
        name = self.name
        for cid in tap.client_ids(name):
            if (name, cid) in cancelling:  # keyed by venue: client ids repeat across venues
                continue
            try:
                request = tracker.request(cid)
            except KeyError:
                continue
            if request.side is side:
                total += tracker.may_still_fill(cid)
        return total


class Opening:
    """One open of a pair, from pre-flight to result.

    Args:
        owner: The executor (its sessions, order executors, clock, breaker, settling).
        legs: The legs to open.
        size: The requested pair size.
        config: Thresholds, plan, policies and timeouts.
        recorder: The operation's journal record, if any.
    """

    def __init__(
        self,
        owner: AtomicExecutor,
        legs: Sequence[LegSpec],
        size: Decimal,
        config: AtomicConfig,
        recorder: OperationRecorder | None,
    ) -> None:
        self._owner = owner
        self.clock = owner.clock
        self.specs = list(legs)
        self.requested = size
        self.cfg = config
        self.recorder = recorder
        self.incidents: list[Incident] = []
        self.start = self.clock.now_ns()
        self.pair = _ZERO
        self.ls: list[_Leg] = []
        self.tap: OperationTap | None = None
        self.dust: dict[str, Decimal] = {}
        self._fixed_cfg: OrderConfig | None = None
        self._to_cancel: list[tuple[_Leg, str]] | None = None
        # What :meth:`_first_hedge` leaves for right after its hedge's first step: the lagging
        # leg, its live answered entries (read when the hedge was sized) and, with no journal
        # to write first, the hedge's request still to be announced to the tap.
        self._first_after: tuple[_Leg, list[str], OrderRequest | None] | None = None
        self._fast = False  # the reaction to a first fill takes :meth:`_first_hedge`'s form
        self._deadline_ns = 0  # the hedge's deadline after the first fill
        self._cancels: asyncio.Task[None] | None = None
        # The initial margin this open holds on each venue until it ends: (venue, amount).
        self._held: list[tuple[str, Decimal]] = []

    # ----------------------------------------------------------------------------- run
    async def run(self) -> AtomicResult:
        """Opens the pair: pre-flight, entries, hedge, top-up, roll back if it must."""
        owner = self._owner
        kill = owner.kill_switch
        if kill is not None and kill.journal is not None:
            try:  # the latch lives in the journal: another process may have engaged it
                await kill.refresh()
            except Exception as exc:  # noqa: BLE001 - a latch that cannot be read refuses
                return self._refused(f"kill switch state unreadable: {exc!r}")
        if kill is not None and kill.latched:
            return self._refused(f"kill switch engaged: {kill.reason}")
        breaker = owner.breaker
        if breaker is not None:
            state = breaker.state(self.start)
            if state is BreakerState.OPEN:
                return self._refused("circuit breaker open")
            if state is BreakerState.CONSERVATIVE:
                self.cfg = owner.conservative(self.cfg)
                self.incidents.append(
                    Incident(
                        self.start,
                        "conservative",
                        None,
                        "circuit breaker: conservative configuration",
                    )
                )
        self.ls = [
            _Leg(s, owner.executors[s.venue], owner.executors[s.venue].info(s.symbol))
            for s in self.specs
        ]
        try:
            # 1. Pre-flight: nothing is placed unless every check passes.
            try:
                self.pair = self._preflight()
                if self.cfg.margin_check:
                    await self._margin(self.pair)
            except Refusal as refusal:
                return self._refused(refusal.reason)
            self._plan()
            # A hedge configuration that does not depend on the hedge's size is made before any
            # fill (a budgeted maker hedge's depends on it: made then).
            pricing = self.cfg.hedge_pricing
            if pricing is HedgePricing.LADDER:
                self._fixed_cfg = self.cfg.hedge
            elif pricing is HedgePricing.IOC:
                fixed = self._fixed_cfg = self._hedge_config(self.ls[0], self.requested)
                for leg in self.ls:
                    leg.ready = ReadyPrice(leg.ex, leg.spec.symbol, leg.spec.side, fixed)
                # The usual open: its immediate reaction is worked out by the fill listener.
                self._fast = len(self.ls) == 2 and self.cfg.hedge_timing is HedgeTiming.IMMEDIATE
            self._deadline_ns = int(self.cfg.deadline_s * _S)
            tap = OperationTap(owner.sessions, self.cfg.hedge_threshold, self.recorder)
            tap.markouts = owner.markouts
            self.tap = tap
            try:
                return await self._run(tap)
            finally:
                tap.close()
        finally:
            # The margin this open held is the account's again (its positions, if any, now
            # show in what the venue answers).
            holds = owner.margin_holds
            for venue, amount in self._held:
                holds.release(venue, amount)
            self._held.clear()

    def _preflight(self) -> Decimal:
        """The pair size every venue accepts now.

        Raises:
            Refusal: A check failed (nothing may be placed); its ``reason`` says which.
        """
        try:
            return self._checks()
        except (HedgekitError, ValueError, ArithmeticError) as exc:
            # A size no venue rule can hold, a value out of range: a refusal, never a crash.
            raise Refusal(f"pre-flight failed: {exc}") from exc

    def _checks(self) -> Decimal:
        cfg, size = self.cfg, self.requested
        for leg in self.ls:
            try:
                leg.quote = leg.ex.quote(leg.spec.symbol, cfg.max_book_age_s)
            except BookIntegrityError as exc:
                raise Refusal(f"{leg.name} book unusable ({exc.kind})") from exc
            if not spread_within(leg.quote.bid, leg.quote.ask, cfg.max_entry_spread_bps):
                raise Refusal(f"{leg.name} spread wider than {cfg.max_entry_spread_bps} bps")
        for leg in self.ls:
            price = _touch(leg)
            floored = leg.info.rules.floor_size(size)
            why = (
                "below_min_size"
                if floored <= 0
                else leg.info.rules.rejection(price, floored, False)
            )
            if why in ("below_min_size", "below_min_notional"):
                raise Refusal(f"{size} on {leg.name} refused before placement: {why}")
        pair = common_size([leg.info.rules for leg in self.ls], size)
        if pair <= 0:
            raise Refusal(f"no size up to {size} is valid on every venue")
        for leg in self.ls:
            leg.not_dust = _not_dust_bound(leg)
        for leg in self.ls:
            why = leg.info.rules.rejection(_touch(leg), pair, False)
            if why is not None:
                raise Refusal(f"{pair} on {leg.name} refused before placement: {why}")
            walk = leg.ex.venue.book(leg.spec.symbol).walk(leg.spec.side.value, pair)
            if not walk.complete:
                raise Refusal(f"{leg.name} book holds less than {pair}")
            slip = walk.slippage_bps
            if slip is not None and slip > float(cfg.slippage_budget_bps) and not cfg.split:
                raise Refusal(
                    f"{leg.name} expected slippage {slip:.1f} bps over the {cfg.slippage_budget_bps} bps budget"
                )
        return pair

    async def _margin(self, pair: Decimal) -> None:
        """Every venue must margin its leg of ``pair``: the leverage set (or read), the account
        and its positions read from the venue, and the leg judged by the venue's margin tiers —
        refused above the tier's leverage cap, when the account would be short of initial
        margin, or when the leg's liquidation price would be nearer than
        ``min_liquidation_distance``. A venue that publishes no tiers is judged on its available
        collateral alone. A venue that cannot be read refuses the open: margin that cannot be
        confirmed is not assumed.

        Opens of this executor that run together are judged together: the initial margin each
        passing leg needs is held on its venue until its open ends (released by :meth:`run`),
        and the others' checks take what is held off the account they read
        (:class:`~hedgekit.execution.admission.MarginHolds`).

        Raises:
            Refusal: A leg fails; its reason names the venue and why.
        """
        with self._owner.margin_holds.checking():
            # Every leg's check ends before the first refusal is raised: none holds after it.
            results = await asyncio.gather(
                *(self._margin_leg(leg, pair) for leg in self.ls), return_exceptions=True
            )
        for res in results:
            if isinstance(res, BaseException):
                raise res

    async def _margin_leg(self, leg: _Leg, pair: Decimal) -> None:
        """One leg of :meth:`_margin`: read, judge against the account less what the executor's
        other opens hold, and hold this leg's initial margin when it passes."""
        cfg = self.cfg
        reads, holds = self._owner.reads, self._owner.margin_holds
        session, sym, name = leg.ex.session, leg.spec.symbol, leg.name
        for attempt in range(_MARGIN_READS):
            try:
                if cfg.leverage is not None:
                    await session.set_leverage(sym, cfg.leverage)
                # One round trip: the three reads at once, each shared with the other
                # operations reading the same at the same time.
                # (the leverage just set is read afresh: a read already on its way may
                # have been sent before the change)
                lev, (sent, acct), (sent_p, positions) = await asyncio.gather(
                    session.fetch_leverage(sym)
                    if cfg.leverage is not None
                    else reads.read((name, "leverage", sym), lambda: session.fetch_leverage(sym)),
                    reads.read((name, "account"), _stamped(holds, session.fetch_account)),
                    reads.read((name, "positions"), _stamped(holds, session.fetch_positions)),
                )
                break
            except LeverageRejectedError as exc:
                raise Refusal(f"{name} leverage {cfg.leverage} refused: {exc.message}") from exc
            except (VenueError, TimeoutError) as exc:
                # A lost answer is read again (reads change nothing); a refusal is final.
                if attempt + 1 >= _MARGIN_READS or (isinstance(exc, VenueError) and exc.definitive):
                    raise Refusal(f"{name} margin could not be read: {exc}") from exc
        if not lev > 0:
            raise Refusal(f"{name} answered leverage {lev} for {sym}")
        price = _touch(leg)
        need = pair * price / lev
        # What the executor's other running opens will use (and what ended after the
        # older of the two reads was sent) is not the account's to give again.
        held = holds.held(name, min(sent, sent_p))
        also = f" ({held:.2f} held by running opens)" if held else ""
        venue = leg.ex.venue
        if held > acct.collateral:
            raise Refusal(
                f"{name} margin: running opens hold {held:.2f} of {acct.collateral:.2f} collateral"
            )
        account = Account.from_venue(
            acct.collateral - held, positions, venue.margin_table, leverage=lev, also=(sym,)
        )
        if account is None:  # no tiers to judge by: available collateral alone
            if need > acct.available - held:
                raise Refusal(
                    f"{name} margin: {need:.2f} of initial margin needed, {acct.available:.2f} available{also}"
                )
        else:
            decision = account.can_open(sym, leg.spec.side, pair, price, lev)
            if not decision:
                raise Refusal(f"{name} margin: {decision.message}{also}")
            floor = cfg.min_liquidation_distance
            if floor is not None:
                distance = account.after_open(
                    sym, leg.spec.side, pair, price, lev
                ).liquidation_distance(sym)
                if distance is not None and distance < floor:
                    raise Refusal(
                        f"{name} liquidation price after the open {distance:.2%} from the mark, "
                        f"under the {floor:.2%} floor{also}"
                    )
        holds.hold(name, need)
        self._held.append((name, need))

    def _plan(self) -> None:
        plan = self.cfg.plan
        if plan is EntryPlan.MAKER_BOTH:
            for leg in self.ls:
                leg.maker = True
        elif plan is EntryPlan.TAKER_BOTH:
            for leg in self.ls:
                leg.maker = False
        else:  # AUTO: the leg that saves most by resting rests; the others take.
            saving = [leg.info.taker_fee - leg.info.maker_fee for leg in self.ls]
            best = max(range(len(self.ls)), key=lambda i: (saving[i], -i))
            for i, leg in enumerate(self.ls):
                leg.maker = i == best

    def _refused(self, reason: str) -> AtomicResult:
        now = self.clock.now_ns()
        self.incidents.append(Incident(now, "refused", None, reason))
        return AtomicResult(
            status=OpenStatus.REFUSED,
            reason=reason,
            requested=self.requested,
            size=_ZERO,
            legs=tuple(
                build_leg(s.venue, s.symbol, s.side, self.requested, (), None) for s in self.specs
            ),
            incidents=tuple(self.incidents),
            started_ns=self.start,
            ended_ns=now,
        )

    async def _run(self, tap: OperationTap) -> AtomicResult:
        cfg, ls = self.cfg, self.ls
        # 2. Entries on every leg at once. The first fill stops them and starts the reaction
        # straight from the fill listener: no hop through this task.
        stop = Signal()
        reaction: list[asyncio.Future[None]] = []
        if tap.recorder is not None:
            # The journal's first failure ends the entries on every leg at once: nothing that
            # adds exposure is sent unrecorded, and what is filled is still hedged or unwound.
            tap.recorder.add_failure_listener(lambda _exc: stop.set())

        loop = asyncio.get_running_loop()
        immediate = cfg.hedge_timing is HedgeTiming.IMMEDIATE
        sessions = self._owner.sessions

        def react_now() -> None:
            try:
                hedge = self._first_hedge()
                reaction.append(
                    start_eagerly(loop, hedge if hedge is not None else self._react(eager=True))
                )
                # The hedge is out (or waits for its journal record): cancel the entries now.
                pending = self._to_cancel if self._first_after is None else self._first_pending()
                if pending:
                    self._to_cancel = None
                    self._cancels = loop.create_task(self._cancel_entries(pending))
            finally:
                stop.set()  # the entries wake once the loop turns, as they would have anyway

        def on_first() -> None:
            # Called by the tap as it counts the first fill, before anything that fill wakes.
            # ``immediate``: the reaction runs in the stack of the session that delivered the
            # fill, as soon as the events that venue has already delivered are handled (the
            # rest of a split fill, the order update that came with it): it sees them all and
            # still runs before the loop turns, until it first waits (the hedge is handed to
            # the venue by then, unless a journal write comes first); the cancels of the other
            # entries start right after it. ``after_settle``: the reaction task is queued ahead
            # of the entry tasks and of this one, so it runs first.
            venue = tap.first_venue
            if immediate and venue is not None:
                sessions[venue].after_events(react_now)
            else:
                reaction.append(loop.create_task(self._react()))
                stop.set()

        tap.on_first = on_first
        entries: list[asyncio.Future[None]] = [
            asyncio.ensure_future(self._enter(leg, stop)) for leg in ls
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
        if reaction:
            await reaction[0]
        # Anything still live or in doubt (an entry whose placement was in flight when the
        # reaction ran, a hedge whose answer was lost) is cancelled and settled now: no order
        # of this operation is left to fill behind the final decision.
        await self._owner.settle_orders(tap, cfg.settle_timeout_s)
        # Now that every order is settled, hedge whatever the ledger still shows apart
        # (everything, when no fill came during the entries; a late fill's worth otherwise).
        if tap.fills:
            await self._hedge_round(first_round=not reaction)
            await self._owner.settle_orders(tap, cfg.settle_timeout_s)
            await self._trim()
        targets = {leg.name: leg.along(tap) for leg in ls}
        target = max(targets.values())
        if target <= 0 and all(leg.net(tap) == 0 for leg in ls):
            return self._finish(OpenStatus.NOT_FILLED, "no entry order filled", with_dust=False)
        if target > 0 and all(self._balanced(leg, target) for leg in ls):
            status = OpenStatus.OPENED if target >= self.pair else OpenStatus.PARTIAL
            reason = None if status is OpenStatus.OPENED else f"filled {target} of {self.pair}"
            return self._finish(status, reason)
        # 4. Roll back.
        rollback = await self._rollback()
        status = OpenStatus.ROLLED_BACK if rollback.complete else OpenStatus.EXPOSED
        return self._finish(status, "hedge not completed by the deadline", rollback)

    # ----------------------------------------------------------------------------- hedge
    async def _react(self, *, eager: bool = False) -> None:
        """The hedge path, in one task from the first fill. ``after_settle``: cancel every
        entry order that is still live and wait for each answer, settle it with the venue, read
        the ledger, hedge. ``immediate``: hedge what the ledger has accepted at once while the
        live entries are cancelled and settled alongside. An entry whose placement is still in
        flight is left to its own task (it cancels its order once the answer is back); the
        final round after the entries catches what it filled. ``eager``: started by the fill
        listener itself (see ``_run``)."""
        pending = _live_entries(self.ls, answered_only=True)
        if self.cfg.hedge_timing is HedgeTiming.IMMEDIATE:
            # The hedge goes out first (this task runs it up to its placement); the cancels
            # follow in their own task, which runs once this one waits: started by the fill
            # listener right after this task's first step when the reaction started there (so
            # both are under way before the loop turns), else from here. Only resting maker
            # entries being cancelled give up their reservation: a taker entry in flight still
            # reserves its whole size. A reaction started by the listener has the fill it was
            # given counted already, so its first round reads the tap's running totals without
            # a scan of every tracker.
            # (an entry whose fills may not all have reached us — a stream gap since it was
            # placed — keeps its reservation: it may have filled while we could not see)
            cancelling = frozenset(
                [
                    (leg.name, cid)
                    for leg, cid in pending
                    if leg.maker and leg.tracker.seen_throughout(cid)
                ]
            )
            if eager:
                self._to_cancel = pending
            elif pending:
                self._cancels = asyncio.get_running_loop().create_task(
                    self._cancel_entries(pending)
                )
            try:
                await self._hedge_round(first_round=True, cancelling=cancelling, fresh=eager)
            finally:
                cancels = self._cancels
                if cancels is None:  # the hedge round never waited: cancel from here
                    self._to_cancel = None
                    await self._cancel_entries(pending)
                else:
                    await cancels
        else:
            await self._cancel_entries(pending)
            await self._hedge_round(first_round=True)

    async def _cancel_entries(self, pending: Sequence[tuple[_Leg, str]]) -> None:
        """Cancels and settles the given entry orders (one at a time needs no gather)."""
        tap = self._tap()
        if len(pending) == 1:
            await pending[0][0].ex.cancel_and_settle(pending[0][1], tap)
        elif pending:
            await asyncio.gather(*(leg.ex.cancel_and_settle(cid, tap) for leg, cid in pending))

    async def _hedge_round(
        self,
        *,
        first_round: bool,
        cancelling: frozenset[tuple[str, str]] = frozenset(),
        fresh: bool = False,
    ) -> None:
        """Reads the ledger and hedges every lagging leg up to the leader (dust excepted),
        never beyond the pair size. ``fresh``: the first-fill reaction, run by the listener that
        has just delivered the fill: only that venue's orders are read back (the rest of the
        batch the fill came in), not every tracker."""
        tap = self.tap
        assert tap is not None
        if not fresh:
            tap.sync()
        elif tap.first_venue is not None:
            tap.sync(tap.first_venue)
        ls = self.ls
        if len(ls) == 2:  # the usual pair, without the loops
            leader, other = ls
            best, lag = leader.along(tap), other.along(tap)
            alongs = [best, lag]
            if lag > best:  # the first leg with the most, as max() picks
                best, lag, leader, other = lag, best, other, leader
            target = best if best < self.pair else self.pair
            if target <= 0 or lag >= target:
                return  # nothing held, or no leg lags
        else:
            other = None
            leader = ls[0]
            best = leader.along(tap)
            alongs = [best]
            for leg in ls[1:]:
                a = leg.along(tap)
                alongs.append(a)
                if a > best:  # the first leg with the most, as max() picks
                    best, leader = a, leg
            target = best if best < self.pair else self.pair
            if target <= 0:
                return
            for a in alongs:
                if a < target:
                    break
            else:
                return  # no leg lags
        now = self.clock.now_ns()
        # Recorded in its place among the incidents, written once the hedge is out.
        note = (len(self.incidents), now) if first_round else None
        try:
            first_ns = tap.first_fill_ts_ns
            assert first_ns is not None  # a leg holds something: there are fills
            deadline_ns = first_ns + int(self.cfg.deadline_s * _S)
            ref = _reference(tap, leader) if self.cfg.hedge_pricing is HedgePricing.LADDER else None
            if other is not None:  # the other leg, with no task in between
                await self._hedge_leg(other, target, ref, deadline_ns, cancelling, now, lag)
            else:
                others = [leg for leg in ls if leg is not leader]
                await asyncio.gather(
                    *(
                        self._hedge_leg(leg, target, ref, deadline_ns, cancelling, now)
                        for leg in others
                    )
                )
        finally:
            if note is not None:
                self._one_sided(note[0], note[1], leader, alongs, target)

    def _one_sided(
        self, slot: int, ts: int, leader: _Leg, alongs: Sequence[Decimal], target: Decimal
    ) -> None:
        """Records the first round's ``one_sided_fill`` incident in its place among the
        incidents (``slot``: where it stood when the round began; ``alongs``: what each leg
        held then, in the legs' order)."""
        lagging = ", ".join(
            f"{leg.name} {a}" for leg, a in zip(self.ls, alongs, strict=True) if a < target
        )
        self.incidents.insert(
            slot,
            Incident(
                ts, "one_sided_fill", leader.name, f"{leader.name} filled {target}, {lagging}"
            ),
        )

    async def _hedge_leg(
        self,
        leg: _Leg,
        target: Decimal,
        ref: Reference | None,
        deadline_ns: int,
        cancelling: frozenset[tuple[str, str]],
        now: int,
        along: Decimal | None = None,
    ) -> None:
        """Hedges one leg up to ``target`` (``now``: the round's clock reading; ``along``: the
        size the leg holds, when the caller has just read it)."""
        tap = self.tap
        assert tap is not None
        if along is None:
            along = leg.along(tap)
        # An order of this leg whose outcome is still open (an entry whose placement is in
        # flight, a hedge in doubt) reserves its whole remaining size: the hedge never lifts
        # the leg past the leader whatever that order turns out to have done.
        diff = target - along - leg.reserved(tap, cancelling=cancelling)
        if diff <= 0:
            return
        cfg = self.cfg
        ex = leg.ex
        symbol = leg.spec.symbol
        # One look at the book serves the dust check and the hedge's first price.
        ready = leg.ready
        try:
            q: Quote | None = (
                ready.quote(now)
                if ready is not None
                else ex.quote(symbol, cfg.hedge.max_book_age_s, now_ns=now)
            )
        except BookIntegrityError:
            q = None
        if not leg.surely_not_dust(diff, q) and self._dust(leg, diff, q):
            self.dust[leg.name] = diff
            self.incidents.append(
                Incident(
                    self.clock.now_ns(),
                    "dust",
                    leg.name,
                    f"{diff} below the venue minimum: recorded, not traded",
                )
            )
            return
        left_s = (deadline_ns - now) / _S
        if left_s <= 0:
            return
        hedge_cfg = self._fixed_cfg or self._hedge_config(leg, diff)
        result = await ex.execute(
            symbol, leg.spec.side, diff, hedge_cfg, reference=ref, deadline_s=left_s,
            tag="h", observer=tap, role="hedge", quote=q, ready=ready, now_ns=now,
            cap=partial(_room, leg, tap, target, cancelling),
        )  # fmt: skip
        self._hedged(leg, diff, result)

    def _hedged(self, leg: _Leg, diff: Decimal, result: ExecutionResult) -> None:
        """Records a hedge of ``diff`` on ``leg``: its result, its incident and, with a breaker,
        its latency from the first fill."""
        tap = self._tap()
        leg.hedge = result
        ok = result.complete or self._dust(leg, result.remaining)
        kind = "hedge" if ok else "hedge_failed"
        self.incidents.append(
            Incident(
                self.clock.now_ns(), kind, leg.name,
                f"hedged {result.filled} of {diff} ({result.mode}, {self.cfg.hedge_timing.value}); {result.reason or 'complete'}",
            )
        )  # fmt: skip
        breaker = self._owner.breaker
        if breaker is not None:
            first_ns = tap.first_fill_ts_ns
            latency = self.clock.now_ns() - (
                first_ns if first_ns is not None else min(f.ts_ns for f in tap.fills)
            )
            breaker.record_hedge(self.clock.now_ns(), latency, ok, kind)

    def _first_hedge(self) -> Coroutine[Any, Any, None] | None:
        """The immediate reaction to a first fill in its usual form — two legs, protected IOC
        hedges, one leg lagging by more than dust, a usable book — worked out synchronously by
        the fill listener: what ``_react(eager=True)`` and its hedge round would compute up to
        the hedge's placement (the size the ledger accepted less what the lagging leg's live
        orders reserve, the price kept ready, the request), handed to one coroutine that sends
        it (:meth:`_send_first_hedge`). ``None``, with nothing changed but the tap's read-back
        of the fill's venue, when the reaction takes another form: ``_react`` then works it
        out in full."""
        tap = self.tap
        if not self._fast or tap is None:
            return None
        ls = self.ls
        venue = tap.first_venue
        if venue is not None:
            tap.sync(venue)  # the rest of the batch the fill came in
        leader, other = ls
        nets = tap.nets  # what each leg holds in its direction, as _Leg.along reads it
        best = nets.get(leader.name, _ZERO)
        best = (best if leader.buy else -best) + 0
        lag = nets.get(other.name, _ZERO)
        lag = (lag if other.buy else -lag) + 0
        alongs = (best, lag)
        if lag > best:  # the first leg with the most, as max() picks
            best, lag, leader, other = lag, best, other, leader
        pair = self.pair
        target = best if best < pair else pair
        if target <= 0 or lag >= target:
            return None
        # The live answered entries (_live_entries) are cancelled once the hedge is out (the
        # other legs' are read then: nothing the hedge's first step does moves them); those of
        # the lagging leg, when it rests, reserve nothing meanwhile.
        lag_live: list[str] = []
        ids = other.entry_ids
        tracker = other.tracker
        if ids:
            state = tracker.state
            for cid in ids:
                if state(cid) in _LIVE_ANSWERED:
                    lag_live.append(cid)
        # (one whose fills the venue may not have told us all of — a stream gap since it was
        # placed, no status since — may have filled already: it keeps its reservation)
        if not other.maker:
            cancelling: Sequence[str] = ()
        elif tracker.gapless:
            cancelling = lag_live
        else:
            seen = tracker.seen_throughout
            cancelling = [cid for cid in lag_live if seen(cid)]
        # What the lagging leg's other orders in its direction may still add (_Leg.reserved).
        reserved = _ZERO
        for cid in tap.client_ids(other.name):
            if cid in cancelling:
                continue
            try:
                request = tracker.request(cid)
            except KeyError:
                continue
            if request.side is other.spec.side:
                reserved += tracker.may_still_fill(cid)
        diff = target - lag - reserved
        ready = other.ready
        first_ns = tap.first_fill_ts_ns
        if diff <= 0 or ready is None or first_ns is None:
            return None
        now = self.clock.now_ns()
        try:
            q = ready.quote(now)
        except BookIntegrityError:
            return None
        left_s = (first_ns + self._deadline_ns - now) / _S
        if left_s <= 0 or not other.surely_not_dust(diff, q):
            return None
        prepared = other.ex.prepare_ioc(
            ready, diff, q, deadline_s=left_s, now_ns=now, observer=tap, role="hedge",
            cap=partial(_later_room, other, tap, target, cancelling),
        )  # fmt: skip
        if prepared is None:
            return None
        # With no journal to write first, the tap is told of the hedge right after its first
        # step (it is watched before any fill of it can be applied: fills are applied by the
        # tracker's inputs, none of which the step itself gives for an order that new; the
        # tap's read-back would count one anyway); with one, the hedge waits for its record.
        announced = tap.recorder is None
        self._first_after = (other, lag_live, prepared.request if announced else None)
        return self._send_first_hedge(
            other, diff, prepared, announced, (len(self.incidents), now, leader, alongs, target)
        )

    def _first_pending(self) -> list[tuple[_Leg, str]]:
        """Finishes what :meth:`_first_hedge` left for after its hedge's first step (once; an
        empty list after that): announces the hedge to the tap, and returns the live answered
        entries to cancel, in the legs' order (:func:`_live_entries`; the lagging leg's as read
        when the hedge was sized)."""
        after = self._first_after
        if after is None:
            return []
        self._first_after = None
        lag, lag_live, request = after
        tap = self._tap()
        if request is not None:
            tap.announce(lag.name, request, "hedge")
        pending: list[tuple[_Leg, str]] = []
        for leg in self.ls:
            if leg is lag:
                pending.extend((leg, cid) for cid in lag_live)
            elif leg.entry_ids:
                state = leg.tracker.state
                pending.extend((leg, cid) for cid in leg.entry_ids if state(cid) in _LIVE_ANSWERED)
        return pending

    async def _send_first_hedge(
        self,
        leg: _Leg,
        diff: Decimal,
        prepared: PreparedOrder,
        announced: bool,
        note: tuple[int, int, _Leg, tuple[Decimal, Decimal], Decimal],
    ) -> None:
        """Sends the hedge :meth:`_first_hedge` worked out and works it on as the first hedge
        round would (the IOCs until filled, dust or the deadline), then records it as that
        round does; the sibling entries' cancels run alongside, as in ``_react``."""
        try:
            try:
                # Sent in the step the listener prepared it in: its clock reading serves.
                result = await leg.ex.run_prepared(prepared, announced=announced, at_once=True)
                self._hedged(leg, diff, result)
            finally:
                self._one_sided(*note)
        finally:
            cancels = self._cancels
            if cancels is None:  # the hedge never waited: cancel from here
                await self._cancel_entries(self._first_pending())
            else:
                await cancels

    def _hedge_config(self, leg: _Leg, size: Decimal) -> OrderConfig:
        """The order configuration of a hedge of ``size`` on ``leg`` under the pricing policy."""
        cfg = self.cfg
        base = cfg.hedge
        if cfg.hedge_pricing is HedgePricing.LADDER:
            return base
        if cfg.hedge_pricing is HedgePricing.BUDGETED_MAKER:
            q = leg.ex.venue.quote(leg.spec.symbol)
            price = q.mid if q is not None else (leg.quote.mid if leg.quote is not None else None)
            notional = size * price if price is not None else _ZERO
            rest_s = float(cfg.maker_budget_usd_s / notional) if notional > 0 else 0.0
            if rest_s >= _MIN_REST_S:
                return dataclasses.replace(
                    base,
                    mode=ExecutionMode.LIMIT_WITH_FALLBACK,
                    timeout_s=min(rest_s, cfg.deadline_s),
                )
        return dataclasses.replace(base, mode=ExecutionMode.MARKET_ONLY)

    async def _trim(self) -> None:
        """No leg ends above the pair size: a surplus (a fill that raced the hedge) is unwound
        reduce-only at once and reported with its cost. An unwind the venue did not carry out
        (refused, or in doubt until the venue was found never to have had it) is sent again,
        sized from the ledger once the operation's orders are answered for, until the surplus
        is gone or the time one unwind and its settling may take (``deadline_s`` plus
        ``settle_timeout_s``) has passed; the incident says what is left then."""
        tap, cfg, pair = self._tap(), self.cfg, self.pair
        for leg in self.ls:
            surplus = leg.along(tap) - pair
            if surplus <= 0:
                continue
            if self._dust(leg, surplus):
                # Below the venue's smallest order: no order can take it off on its own (the
                # close, which sells the whole leg, does). Reported, never silent.
                detail = (
                    f"{leg.name} held {surplus} above the pair size {pair}: below the venue's "
                    "minimum order, left for the close"
                )
                self.incidents.append(Incident(self.clock.now_ns(), "oversize", leg.name, detail))
                continue
            side = leg.spec.side.opposite
            # "At once": protected IOCs on the fresh book, whatever the rollback's own mode (a
            # passive unwind could leave the surplus on for good).
            unwind = dataclasses.replace(cfg.rollback, mode=ExecutionMode.MARKET_ONLY)
            end_ns = self.clock.now_ns() + int((cfg.deadline_s + cfg.settle_timeout_s) * _S)
            mid = leg.quote.mid if leg.quote else None
            unwound = cost = _ZERO
            left = surplus
            pause = _RETRY_PAUSE_S
            while True:
                # Reduce-only only where the unwind reduces what the venue holds (a prior
                # opposite position makes it an extension, which a reduce-only order could not
                # do). The session's own account (its snapshot plus every fill) says so without
                # a request.
                held = leg.ex.session.expected_positions().get(leg.spec.symbol, _ZERO)
                reduce_only = held * leg.spec.side.sign > 0 and abs(held) >= left
                time_left_s = (end_ns - self.clock.now_ns()) / _S
                result = await leg.ex.execute(
                    leg.spec.symbol, side, left, unwind, reduce_only=reduce_only,
                    deadline_s=min(cfg.deadline_s, max(time_left_s, 0.0)), tag="o", observer=tap, role="oversize",
                )  # fmt: skip
                unresolved = await self._owner.settle_orders(tap, cfg.settle_timeout_s)
                unwound += result.filled
                avg = result.avg_price
                cost += (
                    result.fees
                    if avg is None
                    else result.fees + abs(avg - (mid or avg)) * result.filled
                )
                left = leg.along(tap) - pair
                if left <= 0 or self._dust(leg, left):
                    break
                # An unwind order still in doubt may yet fill: nothing more is sized beside it.
                if any(venue == leg.name for venue, _ in unresolved):
                    break
                time_left_s = (end_ns - self.clock.now_ns()) / _S
                if time_left_s <= 0:
                    break
                # Refused, rate limited or never received: a fresh try after a growing pause that
                # also waits out a rate-limit backoff (a refusing venue is never hammered).
                await asyncio.sleep(min(max(pause, leg.ex.session.backoff_s()), time_left_s))
                pause = min(2 * pause, _RETRY_PAUSE_MAX_S)
            detail = f"{leg.name} held {surplus} above the pair size {pair}: unwound {unwound}, cost {tidy(cost)}"
            if left > 0 and not self._dust(leg, left):
                detail += f"; {left} still above it"
            self.incidents.append(Incident(self.clock.now_ns(), "oversize", leg.name, detail))

    # ----------------------------------------------------------------------------- entries
    async def _enter(self, leg: _Leg, stop: asyncio.Event) -> None:
        """One leg's entry: a resting post-only order kept at the maker price (re-placed at once
        after a post-only rejection or expiry) until told to stop; or taker IOCs (split when the
        book is too thin within the budget). Ends with nothing of this leg resting."""
        if not leg.maker:
            await self._take(leg, stop)
            return
        tap, cfg = self._tap(), self.cfg
        ex = leg.ex
        sym, side = leg.spec.symbol, leg.spec.side
        session = ex.session
        rejects = 0
        entry_cfg = cfg.entry
        while not stop.is_set() and rejects <= entry_cfg.max_post_only_rejects:
            # An earlier entry whose cancel was lost or refused may still rest: it reserves its
            # size, and it is cancelled again before anything new is placed.
            live = [cid for cid in leg.entry_ids if not session.state(cid).is_terminal]
            if live:
                await asyncio.gather(*(ex.cancel_and_settle(cid, tap) for cid in live))
                if any(not session.state(cid).is_terminal for cid in live):
                    await _wait_event(stop, entry_cfg.reprice_check_s)
                    continue
            remaining = self.pair - leg.along(tap) - leg.reserved(tap)
            if remaining <= 0:
                # The leg holds (or may still get) the pair size already, more when a surplus
                # raced in: nothing more to enter; a surplus is the trim's to unwind.
                return
            try:
                q = ex.quote(sym, cfg.max_book_age_s)
            except BookIntegrityError:
                await _wait_event(stop, entry_cfg.reprice_check_s)
                continue
            price = ex.maker_price(leg.info.rules, side, q, entry_cfg)
            send = ex.placeable(leg.info.rules, remaining, price, False)
            if send <= 0:
                return
            try:
                req = await _entry_request(leg, tap, send, price, TimeInForce.POST_ONLY, "e")
            except JournalWriteError as exc:
                self.incidents.append(
                    Incident(self.clock.now_ns(), "journal_failed", leg.name, str(exc))
                )
                stop.set()
                return
            cid = req.client_id
            try:
                order = await session.place(req)
                tap.answer(leg.name, order)
            except PostOnlyRejectedError as exc:
                rejects += 1
                self.incidents.append(
                    Incident(
                        self.clock.now_ns(),
                        "post_only_reject",
                        leg.name,
                        f"{cid} at {price}: {exc.message}; repricing at once",
                    )
                )
                continue
            except VenueError as exc:
                rejects += 1
                self.incidents.append(
                    Incident(self.clock.now_ns(), "entry_rejected", leg.name, f"{cid}: {exc}")
                )
                if exc.definitive and not isinstance(exc, RateLimitedError):
                    return
                continue
            leg.warm(self.clock.now_ns(), self.pair)  # the entry rests: its hedge is made ready
            while not stop.is_set():
                order = await wait_order_or(session, cid, stop, entry_cfg.reprice_check_s)
                if order.is_terminal or stop.is_set():
                    break
                leg.warm(self.clock.now_ns(), self.pair)
                try:
                    q = ex.quote(sym, cfg.max_book_age_s)
                except BookIntegrityError:
                    continue
                target = ex.maker_price(leg.info.rules, side, q, entry_cfg)
                if (
                    order.filled == 0
                    and abs(target - price) / price * 10_000 > entry_cfg.reprice_tolerance_bps
                ):
                    break  # too far from the touch: cancel below and re-place
            ended_by_venue = order.is_terminal
            if tap.first.is_set() and not ended_by_venue:
                return  # the reaction cancels and settles it, on the hedge path
            final = await ex.cancel_and_settle(cid, tap)
            if ended_by_venue and final.state in (TrackedState.EXPIRED, TrackedState.CANCELLED):
                rejects += 1
                self.incidents.append(
                    Incident(self.clock.now_ns(), "post_only_reject", leg.name, f"{cid} at {price} accepted then {final.state.value} (would have crossed); repricing at once")
                )  # fmt: skip

    async def _take(self, leg: _Leg, stop: asyncio.Event) -> None:
        """One leg's taker entry: protected IOCs, split into children when the book holds less
        than the pair within the slippage budget, a pause between children for the book to
        refill. When a leg rests, the first fill stops the children of a leg that has some (the
        hedge covers the rest). When every leg takes, the legs go on together: a leg's next
        child goes out while every other leg holds (or may still get) as much as it has, and
        until the entry timeout; a leg that falls behind (refused, a thinner book) stops the
        others, and the hedge round evens out what is left."""
        tap, cfg, pair = self._tap(), self.cfg, self.pair
        ex = leg.ex
        sym, side = leg.spec.symbol, leg.spec.side
        book = ex.venue.book(sym)
        depth = book.size_within_bps(side.value, cfg.slippage_budget_bps)
        try:
            children = [pair] if depth >= pair else split_sizes(pair, depth, leg.info.rules)
        except ValueError:
            children = [pair]
        others = [o for o in self.ls if o is not leg]
        together = not any(o.maker for o in self.ls)
        end_ns = self.clock.now_ns() + int(cfg.entry_timeout_s * _S)

        def done() -> bool:
            if not together:
                return stop.is_set() and tap.first.is_set() and leg.along(tap) > 0
            held = leg.along(tap)
            return self.clock.now_ns() >= end_ns or any(
                o.along(tap) + o.reserved(tap) < held for o in others
            )

        for i, child in enumerate(children):
            if done():
                break
            if i:
                await asyncio.sleep(0.2)  # let the book refill before the next child
                if done():
                    break
            try:
                q = ex.quote(sym, cfg.max_book_age_s)
            except BookIntegrityError:
                return
            price = protected_price(leg.info.rules, side, q, cfg.slippage_budget_bps)
            send = ex.placeable(
                leg.info.rules, min(child, pair - leg.along(tap) - leg.reserved(tap)), price, False
            )
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
            order = await ex.wait(cid, 2 * ex.session.request_timeout_s, lambda o: o.is_terminal)
            if not order.is_terminal or order.filled < order.request.size:
                await ex.session.settle(cid)

    # ----------------------------------------------------------------------------- helpers
    def _tap(self) -> OperationTap:
        assert self.tap is not None
        return self.tap

    def _dust(self, leg: _Leg, size: Decimal, quote: Quote | None = None) -> bool:
        """Whether ``size`` on the leg is below what its venue accepts, valued at a real price:
        the live mid (``quote``, when the caller has just taken it), else the mid at arrival
        (pre-flight always had a book). Never a placeholder: without any price nothing is
        dust."""
        if quote is not None and leg.surely_not_dust(size, quote):
            return False
        q = quote if quote is not None else leg.ex.venue.quote(leg.spec.symbol)
        price = q.mid if q is not None else (leg.quote.mid if leg.quote is not None else None)
        if price is None or price <= 0:
            return False
        return is_dust(leg.info.rules, size, price)

    def _balanced(self, leg: _Leg, target: Decimal) -> bool:
        diff = target - leg.along(self._tap())
        return diff <= 0 or self._dust(leg, diff)

    # ----------------------------------------------------------------------------- rollback
    async def _rollback(self) -> Rollback:
        tap, cfg, ls = self._tap(), self.cfg, self.ls
        flattened: dict[str, Decimal] = {}
        end_ns = self.clock.now_ns() + int(cfg.deadline_s * _S)

        def excess(leg: _Leg) -> Decimal:
            """What the leg holds beyond the most the other legs hold against it (their nets of
            the opposite sign): the part whose unwind reduces the pair's exposure."""
            net = leg.net(tap)
            against = [-o.net(tap) * _ONE.copy_sign(net) for o in ls if o is not leg]
            return abs(net) - max((a for a in against if a > 0), default=_ZERO)

        async def flatten(leg: _Leg, first_excess: bool) -> None:
            # Unwind exactly this operation's own fills. Reduce-only only where the unwind is
            # a reduction of what the venue holds: with a prior opposite position the unwind
            # extends it, and a reduce-only order would be refused.
            while self.clock.now_ns() < end_ns:
                net = leg.net(tap)
                size = excess(leg) if first_excess else abs(net)
                if size <= 0 or self._dust(leg, size):
                    return
                side = Side.SELL if net > 0 else Side.BUY
                held = await _held(leg)
                reduce_only = held is not None and held * net > 0 and abs(held) >= size
                result = await leg.ex.execute(
                    leg.spec.symbol, side, size, cfg.rollback, reduce_only=reduce_only,
                    deadline_s=(end_ns - self.clock.now_ns()) / _S, tag="r",
                    observer=tap, role="rollback",
                )  # fmt: skip
                flattened[leg.name] = flattened.get(leg.name, _ZERO) + result.filled
                await self._owner.settle_orders(tap, cfg.settle_timeout_s)
                if result.filled == 0:
                    await asyncio.sleep(0.25)  # refused or nothing on the book: a fresh try

        # Hedge orders' fills that arrived after the hedge returned are in the tap already.
        await self._owner.settle_orders(tap, cfg.settle_timeout_s)
        # First the excess of the larger leg (the unhedged part), then both legs together: a leg
        # that cannot be unwound (an empty book, a venue refusing) never has its hedge taken
        # away from it, which would leave the pair more exposed than before the rollback.
        await asyncio.gather(*(flatten(leg, True) for leg in ls))
        if all(excess(leg) <= 0 or self._dust(leg, excess(leg)) for leg in ls):
            await asyncio.gather(*(flatten(leg, False) for leg in ls))
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
        self.incidents.append(
            Incident(
                self.clock.now_ns(), "rollback", None,
                f"flattened {', '.join(f'{k} {v}' for k, v in flattened.items()) or 'nothing'}; cost {cost}",
            )
        )  # fmt: skip
        breaker = self._owner.breaker
        if breaker is not None:
            breaker.record_rollback(self.clock.now_ns(), f"cost {cost}")
        if not complete:
            left = {leg.name: leg.net(tap) for leg in ls}
            self.incidents.append(
                Incident(
                    self.clock.now_ns(), "exposed", None, f"positions left by the operation: {left}"
                )
            )
        return Rollback(flattened=flattened, cost=cost, complete=complete)

    # ----------------------------------------------------------------------------- result
    def _finish(
        self,
        status: OpenStatus,
        reason: str | None,
        rollback: Rollback | None = None,
        *,
        with_dust: bool = True,
    ) -> AtomicResult:
        tap, ls, pair, incidents = self._tap(), self.ls, self.pair, self.incidents
        tap.sync()
        unresolved = self._owner.live_orders(tap)
        if unresolved:
            # An order that may still trade (a cancel never confirmed, a placement still in
            # doubt) means the venues' truth is not known: never a success.
            names = ", ".join(f"{venue}:{cid}" for venue, cid in unresolved)
            incidents.append(
                Incident(
                    self.clock.now_ns(),
                    "unresolved_order",
                    None,
                    f"orders still live or in doubt: {names}",
                )
            )
            if status is not OpenStatus.EXPOSED:
                reason = f"orders still live or in doubt ({names})" + (
                    f"; {reason}" if reason else ""
                )
                status = OpenStatus.EXPOSED
        end = self.clock.now_ns()
        tolerance = max((leg.info.rules.min_qty for leg in ls), default=_ZERO)
        exposure = measure_exposure(tap.fills, end, tolerance)
        legs = tuple(
            build_leg(
                leg.name,
                leg.spec.symbol,
                leg.spec.side,
                pair,
                tap.of(leg.name),
                leg.quote.mid if leg.quote else None,
            )
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
            requested=self.requested,
            size=size,
            legs=legs,
            hedges=hedges,
            hedge_latency_ns=latency,
            exposure_usd_s=exposure.usd_seconds,
            max_exposure_usd=exposure.max_usd,
            dust=dict(self.dust) if with_dust else {},
            rollback=rollback,
            incidents=tuple(incidents),
            started_ns=self.start,
            ended_ns=end,
            unresolved=tuple(f"{venue}:{cid}" for venue, cid in unresolved),
        )


_MARGIN_READS = 3
"""How many times the pre-flight reads a venue's margin before it refuses the open (a read that
lost its answer is simply read again)."""


def _room(
    leg: _Leg, tap: OperationTap, target: Decimal, cancelling: AbstractSet[tuple[str, str]]
) -> Decimal:
    """What a hedge of ``leg`` may still add without lifting it past ``target``: the target
    less what the leg holds and what its orders not answered for may still add (entries in
    ``cancelling`` excepted, as when the hedge was sized)."""
    return target - leg.along(tap) - leg.reserved(tap, cancelling=cancelling)


def _later_room(
    leg: _Leg, tap: OperationTap, target: Decimal, cancelling: Sequence[str]
) -> Decimal:
    """:func:`_room` for the first hedge, whose cancelling entries are client ids of ``leg``
    (bound on the hedge path with :func:`functools.partial`, worked out only when the first
    IOC's answer asks for it)."""
    return _room(leg, tap, target, frozenset((leg.name, cid) for cid in cancelling))


def _stamped(
    holds: MarginHolds, call: Callable[[], Awaitable[_T]]
) -> Callable[[], Awaitable[tuple[int, _T]]]:
    """``call`` as a read that also answers the margin holds' epoch when it was sent (holds let
    go after that are not in its answer)."""

    async def read() -> tuple[int, _T]:
        sent = holds.epoch
        return sent, await call()

    return read


def _not_dust_bound(leg: _Leg) -> tuple[Decimal, Decimal] | None:
    """A size and a price above which an order of the leg's venue clears its minimum size and
    minimum notional, from the pre-flight quote: at half its bid, the smallest step multiple
    above both minimums. The minimums are monotone (a larger size floors to a larger one, a
    higher price rounds onto a higher grid price), so any larger size at any higher price clears
    them too; :func:`~hedgekit.execution.liquidity.is_dust` checks the bound itself."""
    q = leg.quote
    rules = leg.info.rules
    if q is None or q.bid <= 0:
        return None
    try:
        price = (q.bid / 2).quantize(_NANO, ROUND_HALF_EVEN)
        grid = rules.round_price(price, Side.BUY.value)
        if grid <= 0:
            return None
        need = max(rules.min_qty, (rules.min_notional / grid).quantize(_NANO, ROUND_CEILING))
        size = rules.floor_size(need) + rules.step_size
        if size < rules.min_qty or size * grid < rules.min_notional or is_dust(rules, size, price):
            return None
    except (HedgekitError, ValueError, ArithmeticError):
        return None
    return size, price


def _touch(leg: _Leg) -> Decimal:
    """The price the leg would take at: the ask for a buy, the bid for a sell."""
    q = leg.quote
    assert q is not None
    return q.ask if leg.spec.side is Side.BUY else q.bid


def _reference(tap: OperationTap, leader: _Leg) -> Reference:
    """The leader's fills as a hedge's reference: their average price and the fee rate actually
    paid (maker, taker or a mix), rounded up to the core's nine decimals so the break-even
    price errs on the safe side."""
    lead_size, lead_notional, lead_fees = tap.sided(leader.name, leader.spec.side)
    lead_avg = (lead_notional / lead_size).quantize(_NANO, ROUND_HALF_EVEN)
    fee_rate = (lead_fees / lead_notional).quantize(_NANO, ROUND_CEILING)
    return Reference(lead_avg, fee_rate)


async def _held(leg: _Leg) -> Decimal | None:
    """The venue's signed position in the leg's symbol now, ``None`` when unreadable."""
    try:
        pos = await leg.ex.session.fetch_positions()
    except (VenueError, TimeoutError):
        return None
    p = pos.get(leg.spec.symbol)
    return _ZERO if p is None else p.size


def _live_entries(ls: Sequence[_Leg], *, answered_only: bool = False) -> list[tuple[_Leg, str]]:
    """Entry orders not finished yet (with ``answered_only``, not those whose placement is
    still awaiting the venue's answer)."""
    wanted = _LIVE_ANSWERED if answered_only else _LIVE
    out = []
    for leg in ls:
        if leg.entry_ids:
            state = leg.tracker.state
            for cid in leg.entry_ids:
                if state(cid) in wanted:
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


def start_eagerly(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]
) -> asyncio.Task[_T]:
    """Wraps ``coro`` in a task whose first step runs now, in the caller's stack, as Python
    3.12's eager tasks do: the task is the current task while that step runs, in the task's own
    context (so ``asyncio.timeout``, ``current_task`` and context variables see the task), the
    caller's task is current again afterwards, and the rest of the coroutine runs as the task's
    own steps, resumed where it waits; a cancellation that reaches the task before its next
    step is delivered there too. A coroutine that ends within the first step never waits for
    the loop; what it raises is the task's exception, never the caller's.

    The fill listener uses it to hand the hedge to the venue before the loop turns."""
    started = _Started(coro)
    context = contextvars.copy_context()  # the task's own, for its first step too
    task = loop.create_task(started, context=context)
    current = _current_task(loop)
    if current is not None:
        _leave_task(loop, current)
    _enter_task(loop, task)
    try:
        try:
            started.first = ("yielded", context.run(coro.send, None))
        except StopIteration as done:
            started.first = ("returned", done.value)
        except BaseException as exc:  # noqa: BLE001 - the task's outcome, raised when awaited
            started.first = ("raised", exc)
    finally:
        _leave_task(loop, task)
        if current is not None:
            _enter_task(loop, current)
    return task


class _Started(Coroutine[Any, Any, _T]):
    """A coroutine whose first step :func:`start_eagerly` has already run: the task's first
    step takes that step's outcome (what it waits on, its result or its exception), and every
    later step, or an exception thrown in, goes to the coroutine where it waits."""

    __slots__ = ("_coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, _T]) -> None:
        self._coro = coro
        self.first: tuple[str, Any] | None = None

    def send(self, value: Any) -> Any:
        first = self.first
        if first is not None:
            self.first = None
            kind, outcome = first
            if kind == "yielded":
                return outcome
            if kind == "returned":
                raise StopIteration(outcome)
            raise outcome
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        first = self.first
        self.first = None
        if first is not None and first[0] != "yielded":
            # The coroutine had ended within its first step; what is thrown in (a cancellation
            # before the task ever ran) is the task's outcome.
            raise typ if val is None else val
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)  # pragma: no cover - the legacy signature

    def close(self) -> None:
        self.first = None
        self._coro.close()

    def __await__(self) -> Generator[Any, Any, _T]:
        try:
            yielded = self.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        return (yield from _resume(self, yielded))  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<started {self._coro!r}>"


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
