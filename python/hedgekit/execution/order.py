"""``OrderExecutor``: one order, worked by mode, over a :class:`~hedgekit.tracking.VenueSession`.

Every price comes from a fresh, usable book (:class:`~hedgekit.tracking.BookGate`); every size is
floored to the venue's step and checked against its minimums before it is sent, and a remainder
below them is dust: recorded, never sent. Filled sizes are read from the ledger through the
tracker, never counted here. A cancel is followed by a status query (``settle``) so fills still on
their way are in the ledger before the next decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Protocol

from hedgekit._core import Instrument, break_even_price, ladder, limit_price, maker_price
from hedgekit.clock import Clock
from hedgekit.errors import (
    BookIntegrityError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    VenueError,
)
from hedgekit.execution.config import ExecutionMode, OrderConfig
from hedgekit.execution.liquidity import Recommendation, analyze, is_dust
from hedgekit.execution.recorder import JournalWriteError
from hedgekit.execution.results import ExecutionResult, tidy
from hedgekit.model import CancelResult, OrderRequest, Side, TimeInForce
from hedgekit.tracking import BookGate, TrackedOrder, TrackedState, VenueSession
from hedgekit.venues.base import InstrumentInfo, Quote

__all__ = [
    "OrderExecutor",
    "OrderObserver",
    "PreparedOrder",
    "ReadyPrice",
    "Reference",
    "Signal",
    "protected_price",
    "refill_pause_s",
    "wait_order_or",
]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)
_S = 1_000_000_000
_IOC = TimeInForce.IOC


class OrderObserver(Protocol):
    """Told of every order an executor sends, its answer and its cancel's answer."""

    async def order(self, venue: str, request: OrderRequest, role: str) -> None:
        """Right before ``request`` is handed to the venue; the order is sent once this returns
        (a journal writes it ahead here)."""

    def answer(self, venue: str, order: TrackedOrder) -> None:
        """After the venue answered the placement (or its outcome became ambiguous)."""

    def cancel_answer(self, venue: str, client_id: str, result: CancelResult) -> None:
        """After a cancel was answered."""


class Reference:
    """A fill on another leg that a hedge prices against (break-even first).

    Args:
        price: The reference leg's average fill price.
        fee_rate: The reference leg's fee rate (fraction).
    """

    __slots__ = ("fee_rate", "price")

    def __init__(self, price: Decimal, fee_rate: Decimal) -> None:
        self.price = price
        self.fee_rate = fee_rate

    def __repr__(self) -> str:
        return f"Reference(price={self.price}, fee_rate={self.fee_rate})"


class ReadyPrice:
    """A protected IOC price kept ready for one side of one symbol (a hedge's first price,
    prepared while the entries rest): the quote, its price and the size the venue takes at it
    are worked out again only when the book changes (its best levels or its update time), so a
    read on the hedge path costs the book gate's checks and one look at the best levels.

    Args:
        ex: The executor of the venue.
        symbol: The venue's symbol.
        side: The side of the IOC.
        config: The IOCs' configuration: its ``market_protection_bps`` (how far beyond the
            opposite touch they may execute, as :func:`protected_price`) and its
            ``max_book_age_s`` (the oldest book update that is still fresh).
    """

    __slots__ = (
        "_bps", "_config", "_ex", "_key", "_max_age_ns", "_max_age_s", "_price", "_quote", "_rules", "_side", "_sized",
        "_symbol", "info",
    )  # fmt: skip

    def __init__(self, ex: OrderExecutor, symbol: str, side: Side, config: OrderConfig) -> None:
        self._ex = ex
        self._symbol = symbol
        self._side = side
        self.info = ex.info(symbol)
        """The instrument's rules and fees."""
        self._rules = self.info.rules
        self._config = config
        self._bps = config.market_protection_bps
        self._max_age_s = config.max_book_age_s
        self._max_age_ns = int(config.max_book_age_s * _S)
        self._key: tuple[object, object] | None = None  # (book, touch stamp) of the quote
        self._quote: Quote | None = None
        self._price: Decimal | None = None
        self._sized: tuple[Decimal, Decimal, Decimal] | None = None

    def quote(self, now_ns: int) -> Quote:
        """The quote :meth:`OrderExecutor.quote` gives at ``now_ns`` (the same one as last time
        while the book has not changed).

        Raises:
            hedgekit.errors.BookIntegrityError: The book is unusable now.
        """
        ex = self._ex
        book = ex.venue.book(self._symbol)
        # One call says whether the book is usable (synced, not crossed) and what its touch
        # and last update are: the same stamp as the quote's, still fresh, is the same quote.
        stamp = book.touch_stamp()
        key = self._key
        if (
            key is not None
            and key[0] is book
            and stamp == key[1]
            and now_ns - stamp[0] <= self._max_age_ns  # type: ignore[index]
        ):
            return self._quote  # type: ignore[return-value]
        q = ex.quote(self._symbol, self._max_age_s, now_ns=now_ns)
        self._price = None
        self._quote = q
        stamp = book.touch_stamp()
        # Kept only while the book shows exactly what the quote was read from.
        self._key = (book, stamp) if stamp is not None else None
        return q

    def price(self, q: Quote) -> Decimal:
        """The protected price of an IOC at ``q`` (kept ready for the quote last read)."""
        if q is not self._quote:
            return protected_price(self._rules, self._side, q, self._bps)
        price = self._price
        if price is None:
            price = self._price = protected_price(self._rules, self._side, q, self._bps)
        return price

    @property
    def config(self) -> OrderConfig:
        """The configuration of the IOCs it prices."""
        return self._config

    def fits(self, symbol: str, side: Side, config: OrderConfig, reduce_only: bool) -> bool:
        """True when it prices the IOCs of an order on ``symbol`` and ``side`` under ``config``
        (the same protection and book age; never a reduce-only one)."""
        if reduce_only or side is not self._side or symbol != self._symbol:
            return False
        return config is self._config or (
            config.market_protection_bps == self._bps and config.max_book_age_s == self._max_age_s
        )

    def placeable(self, size: Decimal, price: Decimal) -> Decimal:
        """:meth:`OrderExecutor.placeable` (not reduce-only), the last answer kept."""
        sized = self._sized
        if sized is not None and sized[1] is price and sized[0] == size:
            return sized[2]
        send = self._ex.placeable(self._rules, size, price, False)
        self._sized = (size, price, send)
        return send


def _done(order: TrackedOrder) -> bool:
    return order.is_terminal


class _Run:
    """The state of one ``execute`` call: its orders and its tally from the ledger."""

    # Until the run sets its own (a run is made per order, on the hedge path).
    post_only_rejects = 0
    reason: str | None = None
    last_refusal: str | None = None
    cap: Callable[[], Decimal] | None = None  # the most the run may still add (see execute)
    capped = False  # the cap held the run below its size

    def __init__(
        self,
        ex: OrderExecutor,
        symbol: str,
        side: Side,
        size: Decimal,
        observer: OrderObserver | None = None,
        role: str = "order",
    ) -> None:
        self.ex = ex
        self.observer = observer
        self.role = role
        self.symbol = symbol
        self.side = side
        self.size = size
        self.client_ids: list[str] = []

    def filled(self) -> Decimal:
        tracker = self.ex.session.tracker
        return sum((tracker.filled(c) for c in self.client_ids), _ZERO)

    def remaining(self) -> Decimal:
        """What is left to send: the size less what filled and less what the run's orders that
        may still trade reserve (an order whose cancel failed or whose outcome is in doubt
        counts as if it will fill), so a new order never doubles a live one; never more than
        the run's ``cap`` allows now."""
        if not self.client_ids:
            rest = self.size if self.size > 0 else _ZERO
        else:
            tracker = self.ex.session.tracker
            used = sum(
                (tracker.filled(c) + tracker.may_still_fill(c) for c in self.client_ids), _ZERO
            )
            rest = max(self.size - used, _ZERO)
        cap = self.cap
        if cap is not None and rest > 0:
            room = cap()
            if room < rest:
                self.capped = True
                rest = room if room > 0 else _ZERO
        return rest

    def live(self) -> list[str]:
        """The run's orders not answered for yet (live, in doubt, or ended without the venue's
        final report of their fills)."""
        if not self.client_ids:
            return []
        tracker = self.ex.session.tracker
        return [c for c in self.client_ids if not tracker.is_resolved(c)]


class PreparedOrder:
    """An order's first IOC worked out ahead (:meth:`OrderExecutor.prepare_ioc`), sent by
    :meth:`OrderExecutor.run_prepared`.

    Attributes:
        request: The first IOC, with its client id.
        quote: The quote its price came from (the arrival quote of the order).
        start: The clock reading the order started at.
        deadline_ns: When the order's deadline passes.
    """

    __slots__ = ("deadline_ns", "quote", "ready", "request", "run", "start")

    def __init__(
        self,
        run: _Run,
        ready: ReadyPrice,
        quote: Quote,
        request: OrderRequest,
        start: int,
        deadline_s: float,
    ) -> None:
        self.run = run
        self.quote = quote
        self.ready = ready
        self.request = request
        self.start = start
        self.deadline_ns = start + int(deadline_s * _S)  # as execute() works it out


class OrderExecutor:
    """Works single orders on one venue.

    Args:
        session: The venue's tracking session (it must be started).
        clock: Our clock (default: the running loop's).
        id_prefix: Prefix of the client ids this executor generates (at most 12 characters of
            ``[A-Za-z0-9_-]``, so ids stay within every venue's limit).
    """

    def __init__(
        self, session: VenueSession, *, clock: Clock | None = None, id_prefix: str = "hk"
    ) -> None:
        if len(id_prefix) > 12 or not all(c.isalnum() or c in "_-" for c in id_prefix):
            raise ValueError(f"id_prefix must be at most 12 of [A-Za-z0-9_-], got {id_prefix!r}")
        self.session = session
        self.venue = session.venue
        self.clock = clock or session.clock
        self._prefix = id_prefix
        self._ioc_prefix = f"{id_prefix}m"  # next_id("m"), the hedge's IOC ids, made once
        self.on_send: Callable[[OrderRequest], None] | None = None
        """Called right before each order is handed to the venue (for latency measurement)."""

    # ------------------------------------------------------------------------------- helpers
    def info(self, symbol: str) -> InstrumentInfo:
        """The instrument's rules and fees.

        Raises:
            KeyError: Unknown symbol.
        """
        return self.venue.instruments()[symbol]

    def quote(self, symbol: str, max_age_s: float, *, now_ns: int | None = None) -> Quote:
        """Best bid and ask from a usable book (``now_ns``: the time to judge its age at, if
        the caller has just read the clock).

        Raises:
            hedgekit.errors.BookIntegrityError: The book is stale, crossed, empty or not synced.
        """
        venue = self.venue
        book = venue.book(symbol)
        now = self.clock.now_ns() if now_ns is None else now_ns
        max_age_ns = int(max_age_s * _S)
        last = book.last_update_ns
        # The gate's checks in one pass on the hot path; any doubt goes through the gate itself,
        # which names the reason.
        if not (book.is_synced and 0 < last and now - last <= max_age_ns and not book.is_crossed):
            BookGate(max_age_ns).require(book, now)
        q = venue.quote(symbol)
        if q is None:
            BookGate(max_age_ns).require(book, now)  # an empty side: the gate says so
            raise BookIntegrityError(f"{venue.name} {symbol}: empty book", "empty", "no quote")
        return q

    def unwind_is_dust(self, symbol: str, position: Decimal, protection_bps: Decimal) -> bool:
        """Whether no reduce-only protected IOC can close ``position`` (signed): it is below
        the venue's minimum at the price that order would carry — beyond the touch, so a
        sell's notional is judged lower than at the mid. ``False`` for a symbol the venue does
        not list or an empty book (nothing is called dust without a price)."""
        try:
            rules = self.venue.instruments()[symbol].rules
        except KeyError:
            return False
        q = self.venue.quote(symbol)
        if q is None:
            return False
        side = Side.SELL if position > 0 else Side.BUY
        return is_dust(
            rules, abs(position), protected_price(rules, side, q, protection_bps), reduce_only=True
        )

    def next_id(self, tag: str = "") -> str:
        """A fresh client order id."""
        return self.session.new_client_id(f"{self._prefix}{tag}")

    def placeable(
        self, rules: Instrument, size: Decimal, price: Decimal, reduce_only: bool
    ) -> Decimal:
        """``size`` floored to the step if the venue would accept it at ``price``, else 0."""
        size = rules.floor_size(size)
        if size <= 0:
            return _ZERO
        return size if rules.rejection(price, size, reduce_only) is None else _ZERO

    async def _send(
        self, run: _Run, request: OrderRequest, announced: bool = False, now_ns: int | None = None
    ) -> TrackedOrder | None:
        """Places one order; ``None`` when the venue definitively refused it. The observer is
        told (and a journal written) before the order is handed to the venue (``announced``:
        the caller has told it already; ``now_ns``: a clock reading just taken, when the
        caller has one)."""
        obs = run.observer
        if obs is not None and not announced:
            try:
                await obs.order(self.venue.name, request, run.role)
            except JournalWriteError as exc:
                run.reason = str(exc)
                run.last_refusal = "rejected"  # never sent: nothing to retry
                return None
        # Counted only once it will be sent: every id in the run is known to the tracker.
        run.client_ids.append(request.client_id)
        run.last_refusal = None
        if self.on_send is not None:
            self.on_send(request)
        try:
            placed = await self.session.place(request, now_ns=now_ns)
            if obs is not None:
                obs.answer(self.venue.name, placed)
            return placed
        except PostOnlyRejectedError:
            run.post_only_rejects += 1
            run.last_refusal = "post_only"
            return None
        except RateLimitedError as exc:
            run.reason = f"rate limited: {exc.message}"
            run.last_refusal = "rate_limited"
            await asyncio.sleep(min(exc.retry_after_s, 1.0))
            return None
        except OrderRejectedError as exc:
            run.reason = f"rejected: {exc.message}"
            run.last_refusal = "rejected"
            return None

    async def cancel_and_settle(
        self, cid: str, observer: OrderObserver | None = None
    ) -> TrackedOrder:
        """Cancels (if live), then brings the ledger up to date with the venue's view. A FILLED
        order needs neither: its fills are all in the ledger (that is what FILLED means here)."""
        if self.session.tracker.state(cid) is TrackedState.FILLED:
            return self.session.tracker.order(cid)
        order = self.session.tracker.order(cid)
        if not order.is_terminal:
            try:
                answer = await self.session.cancel(cid)
                if observer is not None:
                    observer.cancel_answer(self.venue.name, cid, answer)
            except VenueError:
                pass  # the tracker re-queries on its own; settle below asks once more now
        return await self.session.settle(cid)

    async def _clear(self, run: _Run) -> None:
        """One more cancel and settle of every order of the run that may still trade (a cancel
        that was lost or refused), before anything new is sized."""
        live = run.live()
        if len(live) == 1:
            await self.cancel_and_settle(live[0], run.observer)
        elif live:
            await asyncio.gather(*(self.cancel_and_settle(c, run.observer) for c in live))

    async def wait(
        self, cid: str, timeout_s: float, until: Callable[[TrackedOrder], bool]
    ) -> TrackedOrder:
        """Waits up to ``timeout_s`` for ``until(order)`` to hold; returns the order as it
        stands then (whether or not it holds)."""
        try:
            return await self.session.wait(cid, until, timeout=max(timeout_s, 0.0))
        except TimeoutError:
            return self.session.tracker.order(cid)

    # ------------------------------------------------------------------------------- modes
    async def execute(
        self,
        symbol: str,
        side: Side,
        size: Decimal,
        config: OrderConfig | None = None,
        *,
        reference: Reference | None = None,
        reduce_only: bool = False,
        deadline_s: float | None = None,
        tag: str = "",
        stop: asyncio.Event | None = None,
        observer: OrderObserver | None = None,
        role: str = "order",
        quote: Quote | None = None,
        ready: ReadyPrice | None = None,
        now_ns: int | None = None,
        cap: Callable[[], Decimal] | None = None,
    ) -> ExecutionResult:
        """Works one order of ``size`` until filled, timed out, or out of options.

        Args:
            symbol: The venue's symbol.
            side: Buy or sell.
            size: Size to fill (> 0; floored to the step).
            config: The mode and its parameters.
            reference: Another leg's fill to price a hedge against (``aggressive_limit`` tries
                its break-even price first).
            reduce_only: Every order is reduce-only (closing, rollback).
            deadline_s: A hard limit for the whole order, in seconds from now.
            tag: Short text put into the client ids (``"h"`` for hedges, ...).
            stop: When set, a resting passive phase ends early (its order is cancelled and
                settled); the fallback, if any, still runs.
            observer: Told of each order right before it is sent, of the venue's answer and
                of each cancel's answer (an operation attributes fills and journals orders so).
            role: What the orders are for (``"hedge"``, ``"rollback"``, ...), passed to the
                observer.
            quote: A quote the caller has just taken through :meth:`quote` with this
                ``config``'s ``max_book_age_s`` (the arrival quote and the first step's price
                come from it instead of a second read of the same book).
            ready: The IOC price kept ready for this order (``quote`` read from it): its
                protected IOCs take their price and size from it (used only when it
                :meth:`~ReadyPrice.fits` the order).
            now_ns: The clock reading the caller has just taken (the start of the order and of
                its ``deadline_s``).
            cap: Asked before each new order after the first (and before the first one, when
                it is not :meth:`prepare_ioc`'s): the most the order may still add now. A hedge
                passes what its leg still lacks of its target, so a later step never lifts the
                leg past it when the leg's other orders have filled meanwhile; the order then
                ends short, its reason saying so.

        Returns:
            What filled, at what cost, and why it stopped short if it did.

        Raises:
            ValueError: A non-positive size.
            KeyError: Unknown symbol.
        """
        cfg = config or OrderConfig()
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        info = self.info(symbol)
        start = self.clock.now_ns() if now_ns is None else now_ns
        deadline_ns = None if deadline_s is None else start + int(deadline_s * _S)
        run = _Run(self, symbol, side, size, observer, role)
        if cap is not None:
            run.cap = cap
        arrival: Quote | None = None
        mode = cfg.mode
        try:
            q = quote if quote is not None else self.quote(symbol, cfg.max_book_age_s)
            arrival = q
            if mode is ExecutionMode.ADAPTIVE:
                mode = self._choose(symbol, side, size, cfg)
            if mode is ExecutionMode.MARKET_ONLY:
                if ready is not None and not ready.fits(symbol, side, cfg, reduce_only):
                    ready = None
                await self._ioc(run, info, cfg, reduce_only, deadline_ns, q, ready)
            elif mode is ExecutionMode.AGGRESSIVE_LIMIT:
                await self._ladder(run, info, cfg, reduce_only, deadline_ns, reference, q, start)
                if cfg.market_fallback:
                    await self._ioc(run, info, cfg, reduce_only, deadline_ns)
            elif mode is ExecutionMode.LIMIT_ONLY:
                await self._passive(run, info, cfg, reduce_only, deadline_ns, cfg.timeout_s, stop)
            elif mode is ExecutionMode.LIMIT_WITH_FALLBACK:
                await self._passive(run, info, cfg, reduce_only, deadline_ns, cfg.timeout_s, stop)
                await self._ioc(run, info, cfg, reduce_only, deadline_ns)
            else:
                await self._ioc(run, info, cfg, reduce_only, deadline_ns)
        except BookIntegrityError as exc:
            run.reason = f"book unusable: {exc.kind}"
        if run.client_ids:
            await self._leave_nothing_live(run, deadline_ns)
        return self._result(run, info, None if arrival is None else arrival.mid, mode, start)

    def prepare_ioc(
        self,
        ready: ReadyPrice,
        size: Decimal,
        quote: Quote,
        *,
        deadline_s: float,
        now_ns: int,
        observer: OrderObserver | None = None,
        role: str = "order",
        cap: Callable[[], Decimal] | None = None,
    ) -> PreparedOrder | None:
        """The first protected IOC of a ``market_only`` order of ``size`` priced by ``ready``
        (a price this executor keeps ready for its symbol, side and configuration), worked out
        now without awaiting anything: the run, the price and size from ``ready`` at ``quote``
        (a quote just read from it) and the request with a fresh client id — what
        ``execute(symbol, side, size, ready.config, quote=quote, ready=ready,
        deadline_s=deadline_s, now_ns=now_ns, ...)`` would send first. :meth:`run_prepared`
        sends it and works the order on exactly as ``execute`` would have. ``None`` (no id
        used) when ``execute`` would send nothing at once: it says why. ``cap``: as
        :meth:`execute`'s, asked from the second IOC on."""
        price = ready.price(quote)
        send = ready.placeable(size, price) if size > 0 else _ZERO
        if send <= 0:
            return None
        symbol, side = ready._symbol, ready._side
        run = _Run(self, symbol, side, size, observer, role)
        if cap is not None:
            run.cap = cap  # asked from the second IOC on: the first is sized here
        # ``send`` and ``price`` passed the venue's rules just now (placeable).
        request = OrderRequest.trusted(
            symbol, side, send, price, self.session.new_client_id(self._ioc_prefix), _IOC
        )
        return PreparedOrder(run, ready, quote, request, now_ns, deadline_s)

    async def run_prepared(
        self, prepared: PreparedOrder, *, announced: bool = False, at_once: bool = False
    ) -> ExecutionResult:
        """Sends a :meth:`prepare_ioc` request and works the order on as :meth:`execute` does
        (IOCs again on the fresh book until filled, dust, refused or the deadline; nothing of it
        left live). ``announced``: the run's observer has already been told of the request (an
        observer with nothing to await, told synchronously by the caller); ``at_once``: called
        in the same step as :meth:`prepare_ioc`, with nothing awaited since, so the request is
        recorded as sent at the clock reading it was prepared at (no second reading)."""
        run, request = prepared.run, prepared.request
        # The first IOC goes out before anything else is looked at (the rest is _ioc's loop).
        order = await self._send(
            run, request, announced, prepared.start if at_once and announced else None
        )
        ready = prepared.ready
        info, cfg = ready.info, ready.config
        deadline_ns = prepared.deadline_ns
        try:
            await self._ioc(
                run, info, cfg, False, deadline_ns, prepared.quote, ready, (request, order)
            )
        except BookIntegrityError as exc:
            run.reason = f"book unusable: {exc.kind}"
        if run.client_ids:
            await self._leave_nothing_live(run, deadline_ns)
        return self._result(run, info, prepared.quote.mid, cfg.mode, prepared.start)

    async def _leave_nothing_live(self, run: _Run, deadline_ns: int | None) -> None:
        """Cancels and settles every order of the run that may still trade (a cancel that was
        refused or went unanswered, a placement still in doubt), retrying until the venue has
        answered for each or the deadline (at least one request timeout from now) has passed.
        An order in doubt stays in flight until a status query resolves it."""
        floor_ns = self.clock.now_ns() + 2 * self.session.tracker.config.request_timeout_ns
        end_ns = floor_ns if deadline_ns is None else max(deadline_ns, floor_ns)
        await settle_until_answered(
            self.clock, lambda: [(self, c) for c in run.live()], end_ns, run.observer
        )

    def _choose(self, symbol: str, side: Side, size: Decimal, cfg: OrderConfig) -> ExecutionMode:
        report = analyze(
            self.venue.book(symbol), side, size, slippage_budget_bps=cfg.market_protection_bps
        )
        rec = report.recommendation
        if rec is Recommendation.MARKET:
            return ExecutionMode.MARKET_ONLY
        if rec is Recommendation.PASSIVE:
            return ExecutionMode.LIMIT_WITH_FALLBACK
        return ExecutionMode.AGGRESSIVE_LIMIT

    def _time_left(self, deadline_ns: int | None, phase_s: float) -> float:
        if deadline_ns is None:
            return phase_s
        return min(phase_s, (deadline_ns - self.clock.now_ns()) / _S)

    async def _passive(
        self,
        run: _Run,
        info: InstrumentInfo,
        cfg: OrderConfig,
        reduce_only: bool,
        deadline_ns: int | None,
        phase_s: float,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Post-only at the maker price; reprices at once after a post-only rejection or expiry,
        and when the touch moves beyond the tolerance; cancels what rests at the end."""
        rules = info.rules
        end_ns = self.clock.now_ns() + int(self._time_left(deadline_ns, phase_s) * _S)
        stopped = stop.is_set if stop is not None else (lambda: False)
        while (
            self.clock.now_ns() < end_ns
            and run.post_only_rejects <= cfg.max_post_only_rejects
            and not stopped()
        ):
            await self._clear(run)
            remaining = run.remaining()
            q = self.quote(run.symbol, cfg.max_book_age_s)
            price = self.maker_price(rules, run.side, q, cfg)
            send = self.placeable(rules, remaining, price, reduce_only)
            if send <= 0:
                return
            req = OrderRequest(
                run.symbol, run.side, send, price, self.next_id("p"),
                tif=TimeInForce.POST_ONLY, reduce_only=reduce_only,
            )  # fmt: skip
            order = await self._send(run, req)
            if order is None:
                if run.last_refusal == "rejected":
                    return  # refused for another reason than post-only: nothing to retry
                continue
            cid = req.client_id
            ended_by_venue = False
            # Rest while the price stays close to where it would be placed now.
            while self.clock.now_ns() < end_ns and not stopped():
                wait_s = min(cfg.reprice_check_s, (end_ns - self.clock.now_ns()) / _S)
                if stop is not None:
                    order = await wait_order_or(self.session, cid, stop, wait_s)
                else:
                    order = await self.wait(cid, wait_s, _done)
                if order.is_terminal:
                    ended_by_venue = True
                    break
                q = self.quote(run.symbol, cfg.max_book_age_s)
                target = self.maker_price(rules, run.side, q, cfg)
                drift = abs(target - price) / price * _BPS
                if drift > cfg.reprice_tolerance_bps:
                    order = await self._reprice(run, cid, order, target, rules, reduce_only)
                    if order is None or order.is_terminal:
                        break
                    price = order.request.price or target
            final = await self.cancel_and_settle(cid, run.observer)
            dropped = final.state in (TrackedState.EXPIRED, TrackedState.CANCELLED)
            if ended_by_venue and dropped:
                # Accepted, then dropped for crossing (Aster EXPIRED, Lighter
                # canceled-post-only): count it and reprice at once.
                run.post_only_rejects += 1
            if run.remaining() <= 0:
                return

    async def _reprice(
        self,
        run: _Run,
        cid: str,
        order: TrackedOrder,
        price: Decimal,
        rules: Instrument,
        reduce_only: bool,
    ) -> TrackedOrder | None:
        """Moves a resting order to ``price``: modify in place where the venue can (the rest of
        the order keeps its identity), else cancel it and let the caller place a new one."""
        if self.venue.supports_modify:
            size = order.request.size
            if self.placeable(rules, size, price, reduce_only) > 0:
                try:
                    return await self.session.modify(cid, price=price, size=size)
                except PostOnlyRejectedError:
                    run.post_only_rejects += 1
                    return order
                except (VenueError, NotImplementedError):
                    pass
        await self.cancel_and_settle(cid, run.observer)
        return None

    def maker_price(self, rules: Instrument, side: Side, q: Quote, cfg: OrderConfig) -> Decimal:
        """The price a passive order of ``side`` rests at on quote ``q``: our own touch (one
        step inside with ``improve``), or ``offset_bps`` behind it."""
        if cfg.offset_bps > 0:
            return limit_price(rules, side.value, q.bid, q.ask, cfg.offset_bps)
        return maker_price(rules, side.value, q.bid, q.ask, improve=cfg.improve)

    async def _ladder(
        self,
        run: _Run,
        info: InstrumentInfo,
        cfg: OrderConfig,
        reduce_only: bool,
        deadline_ns: int | None,
        reference: Reference | None,
        first_quote: Quote | None = None,
        now_ns: int | None = None,
    ) -> None:
        """Break-even first (with a reference), then inside → touch → beyond, one fresh BBO and
        one short rest per step; a post-only rejection on a passive step reprices at once.
        ``first_quote`` and ``now_ns``: the quote and the clock reading the caller has just
        taken (the first step's price and deadline check)."""
        rules = info.rules
        side = run.side.value
        q = first_quote or self.quote(run.symbol, cfg.max_book_age_s)
        arrival = q
        cross = list(cfg.ladder_cross_bps)
        arrival_prices: list[Decimal] = []

        def steps() -> Iterator[tuple[str, int]]:
            # Break-even first (priced from the reference alone), then one step per price of
            # the arrival quote's ladder: worked out once break-even is on its way.
            if reference is not None:
                yield "break_even", 0
            arrival_prices.extend(ladder(rules, side, arrival.bid, arrival.ask, cross))
            for i in range(len(arrival_prices)):
                yield "ladder", i

        fresh = True  # the first step prices from the quote just taken
        for kind, i in steps():
            if run.client_ids:
                await self._clear(run)
                if run.remaining() <= 0:
                    return
            if deadline_ns is not None:
                now = now_ns if fresh and now_ns is not None else self.clock.now_ns()
                if now >= deadline_ns:
                    return
            if not fresh:
                q = self.quote(run.symbol, cfg.max_book_age_s)
            fresh = False
            if kind == "break_even":
                assert reference is not None
                price = break_even_price(
                    rules, side, reference.price, reference.fee_rate, info.taker_fee
                )
            else:
                prices = (
                    arrival_prices if q is arrival else ladder(rules, side, q.bid, q.ask, cross)
                )
                price = prices[min(i, len(prices) - 1)]
            passive = (price < q.ask) if run.side is Side.BUY else (price > q.bid)
            send = self.placeable(rules, run.remaining(), price, reduce_only)
            if send <= 0:
                continue
            req = OrderRequest.trusted(  # ``send`` and ``price`` passed the rules (placeable)
                run.symbol, run.side, send, price, self.next_id("l"),
                TimeInForce.POST_ONLY if passive else TimeInForce.GTC, reduce_only,
            )  # fmt: skip
            order = await self._send(run, req)
            if order is None:
                continue  # post-only rejected: the next step uses a fresh, more aggressive price
            await self.wait(
                req.client_id, self._time_left(deadline_ns, cfg.step_timeout_s), _filled_or_done
            )
            await self.cancel_and_settle(req.client_id, run.observer)

    async def _ioc(
        self,
        run: _Run,
        info: InstrumentInfo,
        cfg: OrderConfig,
        reduce_only: bool,
        deadline_ns: int | None = None,
        first_quote: Quote | None = None,
        ready: ReadyPrice | None = None,
        sent: tuple[OrderRequest, TrackedOrder | None] | None = None,
    ) -> None:
        """An IOC at the opposite touch plus the protection (a market order that cannot walk the
        book without limit). With a deadline, what remains is taken again on the fresh book after
        a short pause for it to refill (:func:`refill_pause_s`), until filled, dust, refused or
        the deadline; a book that is unusable meanwhile is waited for, and the next IOC is sized
        only once every earlier order of the run has a known outcome. Without a deadline it is
        one IOC. ``first_quote``: a quote just taken, for the first IOC; ``ready``: the price
        kept ready for these IOCs (it fits them); ``sent``: the first IOC, already worked out
        from them and sent by the caller, and what sending it returned."""
        pause = 0.0
        tracker = self.session.tracker
        book_error: BookIntegrityError | None = None
        first = True
        while True:
            if not first:
                if run.remaining() <= 0 and all(
                    tracker.state(c).is_terminal for c in run.client_ids
                ):
                    return  # filled, every order answered for: no book to wait for
                pause = pause or refill_pause_s(cfg)
                if deadline_ns is None or self.clock.now_ns() + int(pause * _S) >= deadline_ns:
                    if book_error is not None:
                        raise book_error
                    return
                await asyncio.sleep(pause)
                unsettled = [c for c in run.client_ids if not tracker.state(c).is_terminal]
                for cid in unsettled:
                    await self.session.settle(cid)
                if any(not tracker.state(c).is_terminal for c in unsettled):
                    continue  # a fill may still be on its way: no size can be trusted yet
            if sent is not None:  # the first IOC, worked out and sent by the caller
                (req, order), sent = sent, None
                first = False
            else:
                remaining = run.remaining()
                if remaining <= 0:
                    return
                if first and first_quote is not None:
                    q = first_quote
                else:
                    try:
                        q = self.quote(run.symbol, cfg.max_book_age_s)
                    except BookIntegrityError as exc:
                        first = False
                        book_error = exc
                        continue
                first = False
                book_error = None
                if ready is not None:
                    price = ready.price(q)
                    send = ready.placeable(remaining, price)
                else:
                    price = protected_price(info.rules, run.side, q, cfg.market_protection_bps)
                    send = self.placeable(info.rules, remaining, price, reduce_only)
                if send <= 0:
                    return
                # ``send`` and ``price`` passed the venue's rules just now (placeable).
                req = OrderRequest.trusted(
                    run.symbol, run.side, send, price, self.next_id("m"), TimeInForce.IOC,
                    reduce_only,
                )  # fmt: skip
                order = await self._send(run, req)
            if order is None:
                if run.last_refusal == "rate_limited":
                    continue
                return  # refused: nothing to retry
            answer_s = 2 * tracker.config.request_timeout_ns / _S
            order = await self.wait(req.client_id, answer_s, _done)
            if not order.is_terminal or order.filled < order.request.size:
                await self.session.settle(req.client_id)

    def _result(
        self,
        run: _Run,
        info: InstrumentInfo,
        arrival_mid: Decimal | None,
        mode: ExecutionMode,
        start: int,
    ) -> ExecutionResult:
        tracker = self.session.tracker
        orders = [tracker.order(c) for c in run.client_ids]
        filled = sum((o.filled for o in orders), _ZERO)
        notional = sum(((o.avg_price or _ZERO) * o.filled for o in orders), _ZERO)
        avg = None if filled == 0 else tidy(notional / filled)
        reason = run.reason
        if filled < run.size and reason is None and run.capped:
            reason = "stopped short: the caller's other orders filled the rest of its target"
        if filled < run.size and reason is None:
            remaining = run.size - filled
            below = arrival_mid is not None and is_dust(info.rules, remaining, arrival_mid)
            reason = (
                f"remainder {remaining} is below the venue minimum"
                if below
                else "not filled in time"
            )
        return ExecutionResult(
            venue=self.venue.name,
            symbol=run.symbol,
            side=run.side,
            requested=run.size,
            filled=filled,
            avg_price=avg,
            fees=sum((o.fees for o in orders), _ZERO),
            maker_size=sum((o.maker_size for o in orders), _ZERO),
            arrival_mid=arrival_mid,
            mode=mode.value,
            client_ids=tuple(run.client_ids),
            post_only_rejects=run.post_only_rejects,
            reason=None if filled >= run.size else reason,
            started_ns=start,
            ended_ns=self.clock.now_ns(),
        )


_REFILL_PAUSE_MIN_S = 0.05
_REFILL_PAUSE_MAX_S = 1.0


def refill_pause_s(cfg: OrderConfig) -> float:
    """How long to let a thin book refill before taking it again: the order's
    ``step_timeout_s``, kept between 50 ms and one second."""
    return min(max(cfg.step_timeout_s, _REFILL_PAUSE_MIN_S), _REFILL_PAUSE_MAX_S)


def protected_price(rules: Instrument, side: Side, q: Quote, protection_bps: Decimal) -> Decimal:
    """The worst price an order that takes liquidity may execute at: the opposite touch, moved
    ``protection_bps`` further (a buy up, a sell down), on the grid. Zero protection is the touch
    itself."""
    if protection_bps <= 0:
        return q.ask if side is Side.BUY else q.bid
    return limit_price(rules, side, q.bid, q.ask, -protection_bps)  # a Side is its own string


def _filled_or_done(order: TrackedOrder) -> bool:
    return order.is_terminal or order.filled >= order.request.size


class Signal(asyncio.Event):
    """An :class:`asyncio.Event` that also calls callbacks when set, so a waiter can combine it
    with other wake-ups without a task per wait."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], None]] = []

    def add_callback(self, callback: Callable[[], None]) -> None:
        """Calls ``callback()`` when the signal is set."""
        self._callbacks.append(callback)

    def remove_callback(self, callback: Callable[[], None]) -> None:
        """Forgets ``callback`` (no error if absent)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def set(self) -> None:
        """Sets the signal, wakes ``wait()`` and runs the callbacks once."""
        if self.is_set():
            return
        super().set()
        for cb in list(self._callbacks):
            cb()


async def wait_order_or(
    session: VenueSession, cid: str, stop: asyncio.Event, timeout: float
) -> TrackedOrder:
    """Waits until the order ends, ``stop`` is set, or ``timeout`` seconds pass; returns the
    order as it stands."""
    tracker = session.tracker
    if stop.is_set() or tracker.state(cid).is_terminal:
        return tracker.order(cid)
    if not isinstance(stop, Signal):
        waiter = asyncio.ensure_future(session.wait(cid, _done, max(timeout, 0.0)))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (waiter, stopper):
                if not t.done():
                    t.cancel()
            await asyncio.gather(waiter, stopper, return_exceptions=True)
        return tracker.order(cid)
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check() -> None:
        if not fut.done() and (stop.is_set() or tracker.state(cid).is_terminal):
            fut.set_result(None)

    session.add_change_listener(check, client_id=cid)
    stop.add_callback(check)
    try:
        async with asyncio.timeout(max(timeout, 0.0)):
            await fut
    except TimeoutError:
        pass
    finally:
        session.remove_change_listener(check, client_id=cid)
        stop.remove_callback(check)
    return tracker.order(cid)


async def settle_until_answered(
    clock: Clock,
    live: Callable[[], list[tuple[OrderExecutor, str]]],
    end_ns: int,
    observer: OrderObserver | None = None,
) -> list[tuple[OrderExecutor, str]]:
    """Cancels and settles the orders ``live()`` names (those not answered for yet) again and
    again, with a growing pause that also waits out a venue's rate-limit backoff (a venue that
    refuses is never hammered), until none is left or ``end_ns`` has passed. Returns those still
    unresolved: an order in doubt stays in flight until a status query resolves it."""
    pause = 0.25
    while True:
        pending = live()
        if not pending:
            return []
        await asyncio.gather(*(ex.cancel_and_settle(cid, observer) for ex, cid in pending))
        pending = live()
        left_s = (end_ns - clock.now_ns()) / _S
        if not pending or left_s <= 0:
            return pending
        backoff = max(ex.session.backoff_s() for ex, _ in pending)
        await asyncio.sleep(min(max(pause, backoff), left_s))
        pause = min(pause * 2, 2.0)
