"""The thin async driver of one venue's tracking: :class:`VenueSession`.

It feeds the venue's answers and stream events to an :class:`~hedgekit.tracking.OrderTracker`
and performs the actions the tracker returns: status queries, fill fetches and position
reconciliation run as tasks the session owns; fill listeners and waiters are called directly, in
the task that applied the fill (the hedge reaction path has no queue hop), and a listener may ask
for a call once the burst of events the venue has already delivered is handled
(:meth:`VenueSession.after_events`), still before the loop turns. Every venue call has a timeout
(a call that answers without suspending arms no timer); an exception in a background task is
logged and never stops the session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from hedgekit._core import FillLedger
from hedgekit.clock import Clock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    RateLimitedError,
    UnknownOrderError,
    VenueError,
    VenueTimeoutError,
)
from hedgekit.model import (
    AccountState,
    CancelResult,
    Fill,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    Position,
    TimeInForce,
)
from hedgekit.tracking.orders import (
    Action,
    FetchFills,
    FillApplied,
    ForcedFill,
    OrderChanged,
    OrderTracker,
    QueryStatus,
    Reconcile,
    TrackedOrder,
    TrackedState,
    TrackerConfig,
)
from hedgekit.tracking.reconcile import (
    PositionBook,
    PositionMismatch,
    ReconcileConfig,
    Reconciler,
    compare,
)
from hedgekit.venues.base import EventStream, Venue

__all__ = [
    "PLACEMENT_WINDOW_MARGIN_NS",
    "FillCallback",
    "FillListener",
    "VenueSession",
    "placement_grace_ns",
    "resume",
]

log = logging.getLogger("hedgekit.tracking")
_C = TypeVar("_C")
_R = TypeVar("_R")
_FETCH_ATTEMPTS = 12
"""After this many failed tries of a fill fetch (the pauses add up to a minute and more,
rate-limit backoffs waited out on top) it is still tried, every :data:`_FETCH_PAUSE_MAX_S`, until
it succeeds or the session closes; a warning says so once."""
_FETCH_PAUSE_MAX_S = 10.0

FillListener = Callable[[Fill, TrackedOrder], None]
"""A synchronous callback run right after each newly applied fill."""

FillCallback = Callable[[Fill], None]
"""A synchronous callback run right after each newly applied fill of one order, given the fill
alone (no order snapshot is built for it)."""

_S = 1_000_000_000
PLACEMENT_WINDOW_MARGIN_NS = _S
"""Added to a venue's placement window before a status query that finds no order is believed:
our clock and the venue's may differ by this much, and the deadline is stamped a little after
the tracker notes the order."""
_SLICE_S = 0.005  # the longest the stream consumer holds the loop at a time
_gc_isenabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable


def placement_grace_ns(venue: Venue, grace_ns: int) -> int:
    """How old an order must be, when a status query about it is sent, for the venue's "no such
    order" to be believed: ``grace_ns``, or longer for a venue that states a placement window
    (an optional ``placement_window_ns`` attribute: how long after it is sent a placement can
    still take effect — a deadline the adapter stamps on it, such as Hyperliquid's
    ``expiresAfter``) — that window plus :data:`PLACEMENT_WINDOW_MARGIN_NS`. Until then a
    placement whose answer was lost may still be on its way to the matching engine."""
    window = getattr(venue, "placement_window_ns", None)
    if isinstance(window, int) and window > 0:
        return max(grace_ns, window + PLACEMENT_WINDOW_MARGIN_NS)
    return grace_ns


class VenueSession:
    """Order tracking, fill accounting and reconciliation for one venue.

    Timeouts are in seconds of the running loop's clock (virtual time on a
    :class:`~hedgekit.clock.VirtualTimeLoop`).

    Args:
        venue: The venue to drive.
        ledger: The shared fill ledger.
        clock: Where "now" comes from (timestamps given to the tracker).
        config: Tracker timing.
        reconcile: Position reconciliation timing and tolerance.
        tick_ns: How often the timer runs the tracker's deadlines.
        pause_collector: While one event from the venue's stream is handled (its fill
            applied, the listeners told, a hedge the fill starts handed to the other venue),
            Python's cyclic garbage collector waits: a collection that the handling's
            allocations would start runs right after it instead of inside the reaction
            (BENCHMARKS.md, "Reaction latency"). Nothing is collected later than one event's
            handling; a collector the process has switched off stays off. ``False``: the
            collector runs whenever it is due.
    """

    def __init__(
        self,
        venue: Venue,
        ledger: FillLedger,
        clock: Clock,
        config: TrackerConfig | None = None,
        reconcile: ReconcileConfig | None = None,
        *,
        tick_ns: int = _S // 10,
        pause_collector: bool = True,
    ) -> None:
        self.venue = venue
        self.pause_collector = pause_collector
        """Whether the garbage collector waits while a stream event is handled (see Args)."""
        self.clock = clock
        self.tracker = OrderTracker(venue.name, ledger, config)
        self._base_grace_ns = self.tracker.config.not_found_grace_ns
        self._apply_placement_window()
        self.reconciler = Reconciler(reconcile)
        self.positions = PositionBook()
        self._timeout_s = self.tracker.config.request_timeout_ns / _S
        self._tick_s = tick_ns / _S
        self._listeners: list[FillListener] = []
        # Listeners and waiters for one order, found by its client id in O(1): a session with
        # thousands of live orders calls only those concerned by a fill or a change.
        self._order_listeners: dict[str, list[FillListener]] = {}
        self._order_callbacks: dict[str, list[FillCallback]] = {}
        self._order_change_listeners: dict[str, list[Callable[[], None]]] = {}
        self._order_events: dict[str, tuple[asyncio.Event, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._querying: set[tuple[str, str | None]] = set()  # (client id, venue order id)
        self._fetching: set[FetchFills] = set()
        self._reconciling = False
        self._change_listeners: list[Callable[[], None]] = []
        self._forced_listeners: list[Callable[[Fill, str], None]] = []
        self._stream: EventStream | None = None
        self._handling = False  # the stream consumer is handling a burst of events
        self._stream_pending: Callable[[], int] | None = None
        self._after: list[Callable[[], None]] = []
        self._started = False
        self._closed = False
        self._last_mismatches: list[PositionMismatch] = []
        self._suspects: dict[str, Decimal] = {}
        self._positions_ok_ns = 0  # when the last positions fetch that succeeded was sent
        self._next_id = 0
        self._backoff_until_ns = 0
        self._gap_ns = 0
        self._next_send_ns = 0
        self._passed = 0

    # ------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Subscribes to the venue's events and starts the consumer and timer tasks."""
        if self._started:
            raise RuntimeError("session already started")
        self._started = True
        self._apply_placement_window()  # a venue may learn its window when it connects
        self._stream = self.venue.events()
        self._stream_pending = getattr(self._stream, "pending", None)
        self._spawn(self._consume(self._stream), "events")
        self._spawn(self._timer(), "timer")

    def _apply_placement_window(self) -> None:
        grace = placement_grace_ns(self.venue, self._base_grace_ns)
        if grace != self.tracker.config.not_found_grace_ns:
            self.tracker.config = dataclasses.replace(self.tracker.config, not_found_grace_ns=grace)

    async def close(self) -> None:
        """Cancels and awaits every task the session owns, and closes the subscription."""
        self._closed = True
        if self._stream is not None:
            self._stream.close()
        while self._tasks:
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)

    def after_events(self, callback: Callable[[], None]) -> None:
        """Calls ``callback()`` (synchronously) once the events the venue has already
        delivered are handled: when called from a listener while a burst of stream events is
        being handled (more of them already waiting: a fill split in pieces, the order update
        that came with it), right after the rest of that burst, in the same pass, before the
        session waits for anything; otherwise at once. A reaction started so sees the whole
        burst and still runs before the loop turns."""
        if self._after:
            self._after.append(callback)
        elif self._handling and (pending := self._stream_pending) is not None and pending() > 0:
            self._after.append(callback)  # more events already delivered: after them
        else:
            callback()

    def _run_after(self) -> None:
        self._handling = False
        while self._after:
            callbacks, self._after = self._after, []
            for callback in callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("%s: after-events callback failed", self.venue.name)

    @property
    def running_tasks(self) -> int:
        """How many tasks the session owns that are not done."""
        return sum(1 for t in self._tasks if not t.done())

    def backoff_s(self) -> float:
        """Seconds left of a rate-limit backoff: after the venue refused a request with a
        retry-after (a 429, a ban), no request is sent to it until then — the session's own
        queries wait, and a place or cancel is refused locally — so a refusing venue is never
        hammered into a longer ban."""
        return max(self._backoff_until_ns - self.clock.now_ns(), 0) / _S

    def _note(self, exc: BaseException) -> None:
        if isinstance(exc, RateLimitedError):
            until = self.clock.now_ns() + int(max(exc.retry_after_s, 0.0) * _S)
            self._backoff_until_ns = max(self._backoff_until_ns, until)
            # Each refusal doubles the spacing between our requests (at least 100 ms, at most
            # 5 s); answers that pass halve it again, down to none.
            self._gap_ns = min(max(2 * self._gap_ns, _S // 10), 5 * _S)
            self._passed = 0

    async def _pace(self) -> None:
        """Spaces requests out after the venue refused some for their rate (nothing to wait for
        on a healthy venue: the hot path pays one comparison)."""
        if self._gap_ns == 0:
            return
        now = self.clock.now_ns()
        slot = max(now, self._next_send_ns)
        self._next_send_ns = slot + self._gap_ns
        self._passed += 1
        if self._passed >= 20:  # twenty requests since the last refusal: loosen
            self._passed = 0
            self._gap_ns = 0 if self._gap_ns < _S // 20 else self._gap_ns // 2
        if slot > now:
            await asyncio.sleep((slot - now) / _S)

    def _held_back(self, what: str) -> RateLimitedError | None:
        left = self.backoff_s()
        if left <= 0:
            return None
        return RateLimitedError(
            self.venue.name, f"{what}: held back for {left:.3f} s after a rate limit", None, left
        )

    async def _bounded(self, call: Awaitable[_R]) -> _R:
        """Awaits one venue call within the request timeout.

        The call's first step runs at once, as ``await`` would run it; a call that answers
        without suspending (an answer already at hand) needs no timer and arms none. One that
        suspends is resumed under :func:`asyncio.timeout`, armed at that moment, in this task:
        the same bound as wrapping the whole call, without a timer on the hot path.

        Raises:
            TimeoutError: No answer within the request timeout.
        """
        if type(call) is not types.CoroutineType:
            async with asyncio.timeout(self._timeout_s):
                return await call
        try:
            yielded = call.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        async with asyncio.timeout(self._timeout_s):
            return await resume(call, yielded)  # type: ignore[no-any-return]

    def _explain(self, found: Sequence[PositionMismatch], since_ns: int) -> None:
        """A difference the fills we know do not explain: ask the venue for the symbol's fills
        since the last good read — the stream may have lost some (a liquidation or an
        auto-deleverage during an outage is no order of ours that anything waits for). One
        fetch per symbol at a time."""
        margin = self.tracker.config.reconnect_margin_ns
        for m in found:
            if any(a.symbol == m.symbol for a in self._fetching):
                continue
            action = FetchFills(m.symbol, max(since_ns - margin, 0))
            self._fetching.add(action)
            self._spawn(self._fetch_fills(action), f"fills {m.symbol} (mismatch)")

    async def fetch_positions(self, timeout_s: float | None = None) -> dict[str, Position]:
        """The venue's positions now, read through the session (bounded by ``timeout_s``,
        default the request timeout; refused locally during a rate-limit backoff).

        Raises:
            hedgekit.errors.VenueError: The venue refused or failed.
            TimeoutError: No answer in time.
        """
        started = self.clock.now_ns()
        actual = await self._read("positions", self.venue.positions, timeout_s)
        # Every read is evidence: a difference from what our fills imply starts a fill fetch.
        if self.positions.initialized:
            as_of = max((p.ts_ns for p in actual.values()), default=started)
            found = compare(
                self.positions.expected_at(as_of), actual, self.reconciler.config.tolerance
            )
            self._explain(found, self._positions_ok_ns)
            self._positions_ok_ns = started
        return actual

    async def _read(
        self, what: str, call: Callable[[], Awaitable[_R]], timeout_s: float | None
    ) -> _R:
        """One request through the session: refused locally during a rate-limit backoff,
        paced, bounded by ``timeout_s`` (default the request timeout); a venue refusal counts
        towards the backoff."""
        held = self._held_back(what)
        if held is not None:
            raise held
        await self._pace()
        try:
            async with asyncio.timeout(self._timeout_s if timeout_s is None else timeout_s):
                return await call()
        except VenueError as exc:
            self._note(exc)
            raise

    @property
    def fetching_fills(self) -> bool:
        """A fill fetch is under way or waiting to be tried again (after a stream gap, a
        position mismatch, an order's missing fills): fills the venue made may not be in the
        ledger yet."""
        return bool(self._fetching)

    async def fetch_account(self, timeout_s: float | None = None) -> AccountState:
        """The venue's account (collateral, equity, available, margins) now, read through the
        session like :meth:`fetch_positions`.

        Raises:
            hedgekit.errors.VenueError: The venue refused or failed.
            TimeoutError: No answer in time.
        """
        return await self._read("account", self.venue.account, timeout_s)

    async def fetch_open_orders(self, timeout_s: float | None = None) -> list[OrderStatusReport]:
        """The account's orders resting at the venue now
        (:meth:`hedgekit.venues.Venue.open_orders`), read through the session like
        :meth:`fetch_positions`.

        Raises:
            hedgekit.errors.VenueError: The venue refused or failed.
            TimeoutError: No answer in time.
        """
        return await self._read("open_orders", self.venue.open_orders, timeout_s)

    def adopt(self, report: OrderStatusReport) -> TrackedOrder:
        """Tracks an order this session did not place (another process's, found resting by
        :meth:`fetch_open_orders`) from the venue's report of it, so that it can be cancelled
        and settled like our own: its fills count in the ledger once, and its end is learnt
        from the venue like any order's.

        Raises:
            ValueError: The client id is already tracked here, or the report is not of an
                order (no client id, no size).
        """
        price = report.price
        request = OrderRequest(
            report.symbol, report.side, report.size, price, report.client_id,
            order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
            tif=TimeInForce.GTC if price is not None else TimeInForce.IOC,
        )  # fmt: skip
        now = self.clock.now_ns()
        self._perform(self.tracker.submit(request, now))
        self._perform(self.tracker.on_status(report.client_id, report, now))
        return self.tracker.order(report.client_id)

    async def fetch_leverage(self, symbol: str, timeout_s: float | None = None) -> Decimal:
        """The leverage set for ``symbol`` at the venue now.

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.VenueError: The venue refused or failed.
            TimeoutError: No answer in time.
        """
        return await self._read("leverage", lambda: self.venue.leverage(symbol), timeout_s)

    async def set_leverage(
        self, symbol: str, leverage: Decimal, timeout_s: float | None = None
    ) -> Decimal:
        """Sets ``symbol``'s leverage at the venue; returns what is set now.

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Above the tier's cap (nothing changed).
            hedgekit.errors.VenueError: The venue refused or failed (an ambiguous error: the
                leverage may have changed — read it again).
            TimeoutError: No answer in time (the leverage may have changed).
        """
        return await self._read(
            "set_leverage", lambda: self.venue.set_leverage(symbol, leverage), timeout_s
        )

    def new_client_id(self, prefix: str = "hk") -> str:
        """A client order id unique within this session: ``prefix-<hex sequence number>``.

        Ids are deterministic per session (a replayed simulation gets the same ones). A process
        that restarts against the same venue should give a prefix of its own (for example a
        short run id), since venues refuse or confuse a reused id.
        """
        self._next_id += 1
        return f"{prefix}-{self._next_id:x}"

    # ------------------------------------------------------------ operations
    async def place(self, request: OrderRequest, *, now_ns: int | None = None) -> TrackedOrder:
        """Places an order and returns its snapshot (``now_ns``: the clock's reading the
        caller has just taken, the time the order is recorded as sent at).

        An ambiguous outcome returns the ``UNCONFIRMED`` order (a status query follows).

        Raises:
            hedgekit.errors.VenueError: A definitive rejection (recorded first).
            ValueError: The client id was already used.
        """
        if self._closed:
            self._check_open()
        cid = request.client_id
        acts = self.tracker.submit(request, self.clock.now_ns() if now_ns is None else now_ns)
        if acts:
            self._perform(acts)
        if self._backoff_until_ns:
            held = self._held_back("place")
            if held is not None:  # refused here, never sent: a definitive outcome
                self._perform(self.tracker.on_error(cid, held, self.clock.now_ns()))
                raise held
        try:
            if self._gap_ns:
                await self._pace()
            call = self.venue.place(request)
            if type(call) is types.CoroutineType:  # _bounded, inline on the hedge path
                try:
                    yielded = call.send(None)
                except StopIteration as done:
                    ack = done.value
                else:
                    async with asyncio.timeout(self._timeout_s):
                        ack = await resume(call, yielded)
            else:
                ack = await self._bounded(call)
        except TimeoutError:
            err: VenueError = VenueTimeoutError(self.venue.name, "place: no answer in time")
            self._perform(self.tracker.on_error(cid, err, self.clock.now_ns()))
        except VenueError as exc:
            self._note(exc)
            self._perform(self.tracker.on_error(cid, exc, self.clock.now_ns()))
            if exc.definitive:
                raise
        except BaseException as exc:  # cancelled or a bug: the order may exist
            err = AmbiguousOutcomeError(self.venue.name, f"place interrupted: {exc!r}")
            self._perform(self.tracker.on_error(cid, err, self.clock.now_ns()))
            raise
        else:
            self._perform(self.tracker.on_ack(ack, self.clock.now_ns()))
        return self.tracker.order(cid)

    async def cancel(self, client_id: str) -> CancelResult:
        """Cancels an order. A finished order is answered locally, without a request.

        An ambiguous answer (or "unknown order") is resolved by a status query, never assumed.

        Raises:
            KeyError: Unknown client id.
            hedgekit.errors.VenueError: A definitive refusal (e.g. rate limit), or an ambiguous
                outcome the status query could not resolve.
        """
        self._check_open()
        order = self.tracker.order(client_id)
        if order.is_terminal:
            if order.state is TrackedState.FILLED:
                return CancelResult.ALREADY_FILLED
            return CancelResult.ALREADY_CANCELLED
        symbol = order.request.symbol
        held = self._held_back("cancel")
        if held is not None:  # not sent: the order is as it was
            raise held
        self._perform(self.tracker.cancel_sent(client_id, self.clock.now_ns()))
        try:
            if self._gap_ns:
                await self._pace()
            result = await self._bounded(self.venue.cancel(symbol, client_id=client_id))
        except (TimeoutError, VenueError) as exc:
            self._note(exc)
            err = (
                exc
                if isinstance(exc, VenueError)
                else VenueTimeoutError(self.venue.name, "cancel: no answer in time")
            )
            self._perform(self.tracker.on_cancel_error(client_id, err, self.clock.now_ns()))
            if err.definitive and not isinstance(err, UnknownOrderError):
                raise err from None
            resolved = await self._resolve_cancel(client_id, symbol)
            if resolved is None:
                raise err from None
            return resolved
        self._perform(self.tracker.on_cancel_result(client_id, result, self.clock.now_ns()))
        return result

    async def modify(self, client_id: str, *, price: Decimal, size: Decimal) -> TrackedOrder:
        """Changes a resting order in place (venues with ``supports_modify``).

        Raises:
            NotImplementedError: The venue cannot modify.
            hedgekit.errors.VenueError: Refused (the original order stays) or ambiguous (a
                status query is under way; cancel the order to be sure of it).
        """
        self._check_open()
        order = self.tracker.order(client_id)
        if not self.venue.supports_modify:
            raise NotImplementedError(f"{self.venue.name} cannot modify orders")
        symbol = order.request.symbol
        try:
            await self._pace()
            async with asyncio.timeout(self._timeout_s):
                ack = await self.venue.modify(symbol, client_id, price=price, size=size)
        except TimeoutError:
            self._perform([QueryStatus(client_id, symbol)])
            raise VenueTimeoutError(self.venue.name, "modify: no answer in time") from None
        except VenueError as exc:
            self._note(exc)
            if not exc.definitive:
                self._perform([QueryStatus(client_id, symbol)])
            raise
        self._perform(self.tracker.on_modified(client_id, ack, price, size, self.clock.now_ns()))
        return self.tracker.order(client_id)

    async def settle(self, client_id: str) -> TrackedOrder:
        """Brings the ledger up to date with the venue for one order: one status query, whose
        fills go through the ledger (duplicates dropped); one query by venue id of each venue
        order a cancel-replace modify superseded whose final report is still missing (the query
        by client id describes only the latest venue order); and — when the venue says
        more filled than the ledger holds (a venue whose status carries no fills, fills lost
        with the stream) — one fetch of the fills since the order was sent. Use it after a
        cancel answer to read fills that are still on their way on the stream.

        Returns the order as it stands afterwards (unchanged if the queries failed).
        """
        order = self.tracker.order(client_id)
        if self.backoff_s() > 0:
            return order
        symbol = order.request.symbol
        try:
            if self._gap_ns:
                await self._pace()
            asked = self.clock.now_ns()
            report = await self._bounded(self.venue.order_status(symbol, client_id=client_id))
        except (TimeoutError, VenueError) as exc:
            self._note(exc)
            log.info("%s: settle of %s failed: %r", self.venue.name, client_id, exc)
            return self.tracker.order(client_id)
        self._perform(
            self.tracker.on_status(client_id, report, self.clock.now_ns(), asked_ns=asked)
        )
        for vid in self.tracker.unsettled_venue_ids(client_id):
            if self.backoff_s() > 0:
                break
            try:
                if self._gap_ns:
                    await self._pace()
                asked = self.clock.now_ns()
                report = await self._bounded(
                    self.venue.order_status(symbol, client_id=client_id, venue_order_id=vid)
                )
            except (TimeoutError, VenueError) as exc:
                self._note(exc)
                log.info(
                    "%s: settle of %s (venue id %s) failed: %r",
                    self.venue.name,
                    client_id,
                    vid,
                    exc,
                )
                break  # the tracker asks again on its timer; a later settle too
            self._perform(
                self.tracker.on_status(
                    client_id, report, self.clock.now_ns(), venue_order_id=vid, asked_ns=asked
                )
            )
        order = self.tracker.order(client_id)
        if order.venue_filled > order.filled and self.backoff_s() <= 0:
            since = order.history[0][0] - self.tracker.config.reconnect_margin_ns
            try:
                await self._pace()
                async with asyncio.timeout(self._timeout_s):
                    fills = await self.venue.fills(symbol, since_ns=max(since, 0))
            except (TimeoutError, VenueError) as exc:
                self._note(exc)
                log.info("%s: fills for %s failed: %r", self.venue.name, client_id, exc)
            else:
                self._perform(self.tracker.on_fills(fills, self.clock.now_ns()))
            order = self.tracker.order(client_id)
        return order

    # --------------------------------------------------------------- orders
    def order(self, client_id: str) -> TrackedOrder:
        """The order as the tracker knows it now (a snapshot).

        Raises:
            KeyError: Unknown client id.
        """
        return self.tracker.order(client_id)

    def state(self, client_id: str) -> TrackedState:
        """The order's tracked state.

        Raises:
            KeyError: Unknown client id.
        """
        return self.tracker.state(client_id)

    def may_still_fill(self, client_id: str) -> Decimal:
        """Size the order may still add to the ledger (0 once it is answered for): what an
        operation must reserve while the order's outcome is open."""
        return self.tracker.may_still_fill(client_id)

    @property
    def request_timeout_s(self) -> float:
        """How long one request to the venue may take before its outcome is in doubt."""
        return self._timeout_s

    def add_forced_fill_listener(self, callback: Callable[[Fill, str], None]) -> None:
        """Calls ``callback(fill, kind)`` for every fill the venue forces on our position — a
        liquidation (``kind="liquidation"``) or an auto-deleverage (``"adl"``) — once the ledger
        has counted it (``fill.client_id`` is the ledger's id for it)."""
        self._forced_listeners.append(callback)

    def remove_forced_fill_listener(self, callback: Callable[[Fill, str], None]) -> None:
        """Stops calling ``callback`` (no error if it was not added)."""
        if callback in self._forced_listeners:
            self._forced_listeners.remove(callback)

    def add_change_listener(
        self, callback: Callable[[], None], *, client_id: str | None = None
    ) -> None:
        """Calls ``callback()`` (synchronously) after any order changes state or fills, or, with
        ``client_id``, only after that order does (found in O(1), whatever the number of
        orders)."""
        if client_id is None:
            self._change_listeners.append(callback)
        else:
            self._order_change_listeners.setdefault(client_id, []).append(callback)

    def remove_change_listener(
        self, callback: Callable[[], None], *, client_id: str | None = None
    ) -> None:
        """Stops calling ``callback`` (no error if it was not registered); ``client_id`` as
        given to :meth:`add_change_listener`."""
        _discard(
            self._change_listeners if client_id is None else self._order_change_listeners,
            callback,
            client_id,
        )

    def remove_fill_listener(self, callback: FillListener, *, client_id: str | None = None) -> None:
        """Stops calling ``callback`` (no error if it was not registered); ``client_id`` as
        given to :meth:`add_fill_listener`."""
        _discard(
            self._listeners if client_id is None else self._order_listeners, callback, client_id
        )

    async def wait(
        self, client_id: str, predicate: Callable[[TrackedOrder], bool], timeout: float
    ) -> TrackedOrder:
        """Waits until ``predicate(order)`` holds and returns that snapshot.

        Raises:
            TimeoutError: Not within ``timeout`` seconds.
            KeyError: Unknown client id.
        """
        async with asyncio.timeout(timeout):
            while True:
                order = self.tracker.order(client_id)
                if predicate(order):
                    return order
                await self._order_changed(client_id)

    async def _order_changed(self, client_id: str) -> None:
        """Returns after the next change of one order (its fills or its state)."""
        event, waiting = self._order_events.get(client_id, (None, 0))
        if event is None:
            event = asyncio.Event()
        self._order_events[client_id] = (event, waiting + 1)
        try:
            await event.wait()
        finally:
            current = self._order_events.get(client_id)
            if current is not None and current[0] is event:
                if current[1] <= 1:
                    del self._order_events[client_id]  # no waiter left: nothing kept
                else:
                    self._order_events[client_id] = (event, current[1] - 1)

    def add_fill_listener(self, callback: FillListener, *, client_id: str | None = None) -> None:
        """Calls ``callback(fill, order)`` right after each newly applied fill, or, with
        ``client_id``, after each fill of that order only (found in O(1), whatever the number of
        orders)."""
        if client_id is None:
            self._listeners.append(callback)
        else:
            self._order_listeners.setdefault(client_id, []).append(callback)

    def add_fill_callback(self, callback: FillCallback, *, client_id: str) -> None:
        """Calls ``callback(fill)`` right after each newly applied fill of one order (found in
        O(1)), before the fill listeners that take the order's snapshot: the cheapest way to
        follow an order's fills (the fill names the order by its client id)."""
        self._order_callbacks.setdefault(client_id, []).append(callback)

    def remove_fill_callback(self, callback: FillCallback, *, client_id: str) -> None:
        """Stops calling ``callback`` for ``client_id`` (no error if it was not registered)."""
        _discard(self._order_callbacks, callback, client_id)

    async def reconcile_now(self, reason: str = "manual") -> list[PositionMismatch]:
        """Fetches positions now and compares them with the fills (ignores the min interval).

        Raises:
            hedgekit.errors.VenueError: The fetch failed.
            TimeoutError: The fetch took longer than the request timeout.
        """
        self.reconciler.trigger(reason, self.clock.now_ns())
        await self._fetch_positions(reason, raise_errors=True)
        return self.last_mismatches

    def expected_positions(self) -> dict[str, Decimal]:
        """Signed positions implied by the initial snapshot and every applied fill."""
        return self.positions.positions()

    @property
    def last_mismatches(self) -> list[PositionMismatch]:
        """Mismatches confirmed by the last positions fetch: the same difference seen by two
        fetches in a row (a single one may be a fill still in flight). Empty when they agree."""
        return list(self._last_mismatches)

    # --------------------------------------------------------------- actions
    def _perform(self, actions: Sequence[Action]) -> None:
        changed: dict[str, None] = {}  # the orders concerned, in order
        for a in actions:  # notifications first: the hedge path must not wait for I/O
            if isinstance(a, FillApplied):
                fill = a.fill
                cid = fill.client_id  # the order's own id (the tracker names fills so)
                changed[cid] = None
                fill_cbs = self._order_callbacks.get(cid)
                if fill_cbs:
                    for fcb in tuple(fill_cbs):
                        try:
                            fcb(fill)
                        except Exception:
                            log.exception("%s: fill callback failed", self.venue.name)
                listeners = self._order_listeners.get(cid)
                if self._listeners or listeners:
                    for cb in (*self._listeners, *(listeners or ())):
                        try:
                            cb(fill, a.order)
                        except Exception:
                            log.exception("%s: fill listener failed", self.venue.name)
                try:
                    self.positions.apply(fill)
                except Exception:
                    log.exception("%s: position update failed", self.venue.name)
            elif isinstance(a, OrderChanged):
                changed[a.client_id] = None
            elif isinstance(a, ForcedFill):
                try:
                    self.positions.apply(a.fill)
                except Exception:
                    log.exception("%s: position update failed", self.venue.name)
                for forced_cb in tuple(self._forced_listeners):
                    try:
                        forced_cb(a.fill, a.kind)
                    except Exception:
                        log.exception("%s: forced-fill listener failed", self.venue.name)
        if changed:
            for cid in changed:
                waiting = self._order_events.pop(cid, None)
                if waiting is not None:
                    waiting[0].set()
            callbacks = [*self._change_listeners]
            for cid in changed:
                callbacks.extend(self._order_change_listeners.get(cid, ()))
            for change_cb in callbacks:
                try:
                    change_cb()
                except Exception:
                    log.exception("%s: change listener failed", self.venue.name)
        for a in actions:
            if isinstance(a, QueryStatus):
                key = (a.client_id, a.venue_order_id)
                if key not in self._querying:
                    self._querying.add(key)
                    self._spawn(self._query(a), f"query {a.client_id}")
            elif isinstance(a, FetchFills) and a not in self._fetching:
                self._fetching.add(a)
                self._spawn(self._fetch_fills(a), f"fills {a.symbol}")
            elif isinstance(a, Reconcile):
                self.reconciler.trigger(a.reason, self.clock.now_ns())
                self._maybe_reconcile()

    async def _query(self, action: QueryStatus) -> None:
        key = (action.client_id, action.venue_order_id)
        if self.backoff_s() > 0:
            self._querying.discard(key)
            return  # the tracker asks again on its timer
        vid = action.venue_order_id
        try:
            if self._gap_ns:
                await self._pace()
            if vid is None:
                call = self.venue.order_status(action.symbol, client_id=action.client_id)
            else:
                call = self.venue.order_status(
                    action.symbol, client_id=action.client_id, venue_order_id=vid
                )
            asked = self.clock.now_ns()
            report = await self._bounded(call)
        except (TimeoutError, VenueError) as exc:
            self._note(exc)
            what = action.client_id if vid is None else f"{action.client_id} (venue id {vid})"
            log.info("%s: status of %s failed: %r", self.venue.name, what, exc)
            return  # the tracker asks again on its timer
        finally:
            self._querying.discard(key)
        self._perform(
            self.tracker.on_status(
                action.client_id, report, self.clock.now_ns(), venue_order_id=vid, asked_ns=asked
            )
        )

    async def _fetch_fills(self, action: FetchFills, attempt: int = 0) -> None:
        """Fetches fills since ``action.since_ns``. A fetch that fails or is held back by a
        rate-limit backoff is tried again (after the backoff, with a pause doubling up to
        :data:`_FETCH_PAUSE_MAX_S`) until it succeeds or the session closes: a fetch after a
        stream gap is the only way to learn of fills no order of ours is waiting for (a
        liquidation, an auto-deleverage during the gap), so it is never given up — while it
        is pending, :attr:`fetching_fills` says so."""
        try:
            if self.backoff_s() > 0:
                raise RateLimitedError(
                    self.venue.name, "fills: held back after a rate limit", None, self.backoff_s()
                )
            await self._pace()
            async with asyncio.timeout(self._timeout_s):
                fills = await self.venue.fills(action.symbol, since_ns=action.since_ns)
        except (TimeoutError, VenueError) as exc:
            if not (
                isinstance(exc, RateLimitedError) and exc.message.startswith("fills: held back")
            ):
                self._note(exc)
            log.info("%s: fill fetch failed (attempt %d): %r", self.venue.name, attempt + 1, exc)
            if attempt + 1 == _FETCH_ATTEMPTS:
                log.warning(
                    "%s: fill fetch since %d failed %d times; trying every %g s until it succeeds",
                    self.venue.name, action.since_ns, _FETCH_ATTEMPTS, _FETCH_PAUSE_MAX_S,
                )  # fmt: skip
            pause = max(self.backoff_s(), min(0.5 * 2 ** min(attempt, 8), _FETCH_PAUSE_MAX_S))
            self._spawn(
                self._fetch_later(action, attempt + 1, pause), f"fills again {action.symbol}"
            )
            return
        self._fetching.discard(action)
        self._perform(self.tracker.on_fills(fills, self.clock.now_ns()))

    async def _fetch_later(self, action: FetchFills, attempt: int, pause_s: float) -> None:
        await asyncio.sleep(pause_s)
        await self._fetch_fills(action, attempt)

    async def _resolve_cancel(self, client_id: str, symbol: str) -> CancelResult | None:
        if self.backoff_s() > 0:
            return None
        try:
            await self._pace()
            asked = self.clock.now_ns()
            async with asyncio.timeout(self._timeout_s):
                report = await self.venue.order_status(symbol, client_id=client_id)
        except (TimeoutError, VenueError) as exc:
            self._note(exc)
            log.info("%s: status after cancel of %s failed: %r", self.venue.name, client_id, exc)
            return None
        self._perform(
            self.tracker.on_status(client_id, report, self.clock.now_ns(), asked_ns=asked)
        )
        if report is None:
            # the venue knows no such order: final only once its placement can no longer
            # arrive (the tracker believes it then); younger, it may still be on its way
            if self.tracker.order(client_id).is_terminal:
                return CancelResult.ALREADY_CANCELLED
            return None
        if report.status is OrderStatus.FILLED:
            return CancelResult.ALREADY_FILLED
        if report.status.is_terminal:
            return CancelResult.CANCELLED
        return CancelResult.FAILED  # still live: the cancel did not (yet) take effect

    def _maybe_reconcile(self) -> None:
        if self._reconciling or self._closed or not self._started:
            return
        reason = self.reconciler.due(self.clock.now_ns())
        if reason is not None:
            self._reconciling = True
            self._spawn(self._fetch_positions(reason), f"positions {reason}")

    async def _fetch_positions(self, reason: str, *, raise_errors: bool = False) -> None:
        self._reconciling = True
        started = self.clock.now_ns()
        try:
            # (a hold-back the session raises itself is no refusal of the venue's: not noted)
            actual = await self._read("positions", self.venue.positions, None)
        except (TimeoutError, VenueError) as exc:
            log.warning("%s: positions fetch (%s) failed: %r", self.venue.name, reason, exc)
            self.reconciler.fetched(self.clock.now_ns(), started)
            self.reconciler.trigger(reason, self.clock.now_ns())  # try again after min interval
            if raise_errors:
                raise
            return
        finally:
            self._reconciling = False
        self.reconciler.fetched(self.clock.now_ns(), started)
        # The snapshot's venue time: the newest position's stamp, else when we asked.
        as_of = max((p.ts_ns for p in actual.values()), default=started)
        previous_ok, self._positions_ok_ns = self._positions_ok_ns, started
        if not self.positions.initialized:
            self.positions.reset({s: p.size for s, p in actual.items()}, as_of)
            self._last_mismatches = []
            return
        tol = self.reconciler.config.tolerance
        found = compare(self.positions.expected_at(as_of), actual, tol)
        self._explain(found, previous_ok)
        # A difference can be a fill still on its way: report it only when the next fetch shows
        # the same difference again.
        confirmed = [m for m in found if self._suspects.get(m.symbol) == m.difference]
        self._suspects = {m.symbol: m.difference for m in found}
        self._last_mismatches = confirmed
        if found and not confirmed:
            self.reconciler.trigger("unconfirmed_mismatch", self.clock.now_ns())
        for m in confirmed:
            log.warning(
                "%s: position mismatch on %s (%s): expected %s, venue %s, difference %s",
                self.venue.name, m.symbol, reason, m.expected, m.actual, m.difference,
            )  # fmt: skip

    # ------------------------------------------------------------ background
    async def _consume(self, stream: EventStream) -> None:
        # A burst of events is handled in slices of at most _SLICE_S of work: the loop breathes
        # between slices (other venues' fills, hedges in flight, timers) and the events keep
        # their order. A stream that says how many events wait lets a slice end exactly when
        # the burst does.
        pending: Callable[[], int] | None = getattr(stream, "pending", None)
        busy = 0.0
        while not self._closed:
            try:
                # No timeout here on purpose: this task lives as long as the session and is
                # cancelled by close(); a timeout per event would only add latency.
                event = await stream.__anext__()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: event stream failed", self.venue.name)
                await asyncio.sleep(0.1)
                continue
            t = time.perf_counter()
            self._handling = True
            # The collector waits for the event's handling (and the reaction it starts) to end.
            paused = self.pause_collector and _gc_isenabled()
            if paused:
                _gc_disable()
            breathe = False
            try:
                try:
                    self._perform(self.tracker.on_event(event, self.clock.now_ns()))
                except Exception:
                    log.exception("%s: event %r could not be handled", self.venue.name, event)
                busy += time.perf_counter() - t
                # What listeners asked to run once the delivered events are handled runs at the
                # end of the burst (or of each event when the stream cannot say), before any
                # wait.
                if pending is None:
                    self._run_after()
                    if busy > _SLICE_S:
                        busy = 0.0
                        breathe = True
                elif pending() == 0:
                    busy = 0.0  # the next read waits: the loop breathes anyway
                    self._run_after()
                elif busy > _SLICE_S:
                    busy = 0.0
                    self._run_after()
                    breathe = True
            finally:
                if paused:
                    _gc_enable()
            if breathe:
                await asyncio.sleep(0)

    async def _timer(self) -> None:
        while not self._closed:
            await self.clock.sleep(self._tick_s)
            try:
                self._perform(self.tracker.on_timer(self.clock.now_ns()))
                self._maybe_reconcile()
            except Exception:
                log.exception("%s: timer step failed", self.venue.name)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self._closed:
            coro.close()
            return
        # The coroutine is the task itself (no wrapper), so a task cancelled before it starts
        # still closes its coroutine; failures are logged by the done callback.
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s: task %s failed", self.venue.name, task.get_name(), exc_info=exc)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("session is closed")


def _discard(where: list[_C] | dict[str, list[_C]], callback: _C, client_id: str | None) -> None:
    """Removes one registration of ``callback`` (keyed by ``client_id`` in a dict)."""
    if isinstance(where, list):
        if callback in where:
            where.remove(callback)
        return
    assert client_id is not None
    found = where.get(client_id)
    if found is not None and callback in found:
        found.remove(callback)
        if not found:
            del where[client_id]


@types.coroutine
def resume(call: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Continues a coroutine whose first step already ran and yielded ``yielded``: hands what
    it yields to the running task and passes back what the task sends or throws, exactly as
    ``await`` would have done from its first step."""
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            call.close()
            raise
        except BaseException as exc:  # noqa: BLE001 - thrown in by the task (a cancellation)
            try:
                yielded = call.throw(exc)
            except StopIteration as done:
                return done.value
            continue
        try:
            yielded = call.send(sent)
        except StopIteration as done:
            return done.value
