"""``SimVenue``: the :class:`~hedgekit.venues.Venue` protocol over a simulated venue.

Three actors (``sim-models`` §4.0): the :class:`~hedgekit.venues.sim.engine.MatchingEngine` (venue
truth), a REST channel (request → entry latency → engine → response latency → answer) and the
streams (our copy of the public book, our private order and fill streams). Every delivery goes
through one scheduler keyed ``(time, sequence)``, so a run is deterministic for a seed and works
on a real or a virtual-time event loop alike.

The adapter half behaves as a careful real adapter would: an "unknown order" answer to a cancel
is followed by a status query so the result says ALREADY_FILLED or ALREADY_CANCELLED; an
Aster-style book that reports a sequence gap is resynchronised from a REST snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from hedgekit._core import OrderBook
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import (
    OrderRejectedError,
    RateLimitedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from hedgekit.model import (
    AccountState,
    CancelResult,
    Deleverage,
    Fill,
    FundingPayment,
    FundingRate,
    Liquidation,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    Position,
    Side,
    StreamStatus,
    TimeInForce,
    VenueEvent,
    forced_fill_kind,
)
from hedgekit.risk.funding import FundingSchedule
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues.base import InstrumentInfo, Quote
from hedgekit.venues.sim.config import (
    CancelUnknownStyle,
    Disconnect,
    FaultConfig,
    LostMessage,
    SimVenueConfig,
)
from hedgekit.venues.sim.engine import CancelOutcome, MatchingEngine, PlaceOutcome
from hedgekit.venues.sim.faults import LatencySampler, RateLimiter, rng_stream
from hedgekit.venues.sim.market import MarketDriver

__all__ = ["SimEventStream", "SimVenue"]

_T = TypeVar("_T")
_BOOK_BATCH_LEVELS = 20
_ACCOUNT_EVENTS = (Liquidation, Deleverage, FundingPayment)
_EXPIRING_OPS = frozenset({"place", "modify"})  # the requests that carry a deadline
"""Account events: delivered on a connection of their own (Hyperliquid ``userEvents`` /
``userFundings``, Aster ``ACCOUNT_UPDATE``), with a latency stream of their own, so that they
never shift the draws of the order and fill streams."""


class SimEventStream:
    """One subscription to a simulated venue's private events (unbounded: nothing is lost
    between delivery and your read)."""

    def __init__(self, on_close: Callable[[SimEventStream], None]) -> None:
        self._queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        self._on_close = on_close
        self._closed = False

    def _put(self, event: VenueEvent) -> None:
        if not self._closed:
            self._queue.put_nowait(event)

    def __aiter__(self) -> AsyncIterator[VenueEvent]:
        return self

    async def __anext__(self) -> VenueEvent:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        return await self._queue.get()

    async def get(self, timeout: float | None = None) -> VenueEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds without one."""
        try:
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        except TimeoutError:
            return None

    def pending(self) -> int:
        """Events delivered and not read yet."""
        return self._queue.qsize()

    def close(self) -> None:
        """Stops the subscription."""
        if not self._closed:
            self._closed = True
            self._on_close(self)


class SimVenue:
    """A simulated perpetual-futures venue behind the :class:`~hedgekit.venues.Venue` protocol.

    Args:
        config: The venue's models, personality, markets and seed.
        clock: Where time comes from (default: the running loop's clock, virtual or real).

    Attributes:
        engine: The venue's truth (tests read its fills and positions to check invariants).
    """

    def __init__(self, config: SimVenueConfig, clock: Clock | None = None) -> None:
        self.config = config
        self._clock: Clock = clock if clock is not None else LoopClock()
        p = config.personality
        self.engine = MatchingEngine(
            config.name,
            p,
            config.instruments,
            queue=config.queue,
            fills=config.fills,
            seed=config.seed,
            margin=config.margin,
        )
        seed, name = config.seed, config.name
        self._latency = LatencySampler(config.latency, rng_stream(seed, name, "latency"))
        self._account_latency = LatencySampler(
            config.latency, rng_stream(seed, name, "latency:account")
        )
        self._faults_rng = rng_stream(seed, name, "faults")
        self._delivery_rng = rng_stream(seed, name, "delivery")
        self._feed_rng = rng_stream(seed, name, "feed")
        self._limiter = RateLimiter(config.limits)
        self._market = MarketDriver(
            self,
            config.instruments,
            rng_stream(seed, name, "market"),
            lambda component: rng_stream(seed, name, f"market:{component}"),
        )
        self._infos = {
            i.symbol: InstrumentInfo(
                venue=name,
                symbol=i.symbol,
                rules=i.rules,
                maker_fee=p.fees.maker_rate,
                taker_fee=p.fees.taker_rate,
                funding_interval_s=self.engine.funding_schedule(i.symbol).interval_s,
            )
            for i in config.instruments
        }
        self._books = {i.symbol: OrderBook(name, i.symbol) for i in config.instruments}
        self._subs: list[SimEventStream] = []
        self._heap: list[tuple[int, int, Callable[[int], None]]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_ns = 0
        # With no latency and no faults at all, requests and deliveries happen inline: an
        # in-process venue whose answers cost nothing (used to time hedgekit's own overhead).
        self._instant = _is_instant(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_ns = 0
        self._last_deliver: dict[str, int] = {}
        self._published: dict[str, int] = {}
        self._feed_seq: dict[str, int] = {}
        self._feed_levels: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        self._resyncing: dict[str, list[bytes]] = {}
        self._connected = False
        self.stats: dict[str, int] = {
            "requests": 0,
            "lost_requests": 0,
            "lost_responses": 0,
            "rate_limited": 0,
            "dropped_events": 0,
            "duplicated_events": 0,
            "book_gaps": 0,
            "post_only_refused": 0,
            "outage_refusals": 0,
            "replaced_orders": 0,
            "expired_requests": 0,
        }
        self._op_counts: dict[str, int] = {}
        # forced fills (liquidation, ADL) by (client id, trade id): when their first copy is due
        # on the private stream
        self._forced_due: dict[tuple[str, int | str], int] = {}
        self._races: list[int] = []  # event delays of the cancel-vs-fill races to come
        self._accept_cancels: list[tuple[int, str]] = []  # (delay, reason) per order to come

    # ----------------------------------------------------------------------------- protocol
    @property
    def name(self) -> str:
        """The venue's name."""
        return self.config.name

    @property
    def supports_modify(self) -> bool:
        """Whether :meth:`modify` is available (from the personality)."""
        return self.config.personality.supports_modify

    @property
    def placement_window_ns(self) -> int | None:
        """How long after it is sent a placement or modify can still take effect
        (:attr:`~hedgekit.venues.sim.SimVenueConfig.request_expiry_ns`; ``None``: no bound).
        A session waits this long, plus a margin, before it believes a status query that finds
        no order (:data:`hedgekit.tracking.PLACEMENT_WINDOW_MARGIN_NS`)."""
        return self.config.request_expiry_ns or None

    @property
    def start_ns(self) -> int:
        """Clock time at :meth:`connect`; scripted times are relative to it."""
        return self._start_ns

    async def connect(self) -> None:
        """Starts the market model and the streams, and delivers the first book snapshot."""
        if self._connected:
            return
        self._loop = asyncio.get_running_loop()
        self._connected = True
        now = self._clock.now_ns()
        self._start_ns = now
        for d in self.config.faults.disconnects:
            self.schedule(now + d.start_ns, lambda t: self._stream_down(t))
            self.schedule(now + d.start_ns + d.duration_ns, self._make_stream_up(d))
        for d in self.config.faults.feed_stalls:
            self.schedule(now + d.start_ns + d.duration_ns, self._republish_all)
        for sym in self._books:
            self._initial_snapshot(now, sym)
        if self.config.book_heartbeat_ns > 0:
            self.schedule(now + self.config.book_heartbeat_ns, self._heartbeat)
        self._market.start(now)
        await asyncio.sleep(0)

    async def close(self) -> None:
        """Stops the market model and every scheduled delivery; subscriptions are closed."""
        self._connected = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._heap.clear()
        for sub in list(self._subs):
            sub.close()

    async def __aenter__(self) -> SimVenue:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def instruments(self) -> Mapping[str, InstrumentInfo]:
        """Every instrument, by symbol."""
        return self._infos

    def book(self, symbol: str) -> OrderBook:
        """Our copy of the book (lags the engine by the public-feed latency)."""
        return self._books[symbol]

    def quote(self, symbol: str) -> Quote | None:
        """Best bid and ask of our copy of the book."""
        return Quote.from_book(self._books[symbol])

    def events(self) -> SimEventStream:
        """A new subscription to the private stream."""
        sub = SimEventStream(self._subs.remove)
        self._subs.append(sub)
        return sub

    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order (see :class:`~hedgekit.venues.Venue`)."""
        if request.symbol not in self._infos:
            raise OrderRejectedError(
                self.name, f"unknown symbol {request.symbol!r}", None, "unknown_symbol"
            )
        if self.config.check_rules and request.price is not None:
            rules = self._infos[request.symbol].rules
            rules.check(request.price, request.size, request.reduce_only)
        crosses = request.order_type is OrderType.MARKET or request.tif is TimeInForce.IOC
        op = "taker" if crosses else "maker"
        faults = self.config.faults
        injected = self._faults_rng.random() < faults.p_reject

        def act(t: int) -> OrderAck:
            rel = t - self._start_ns
            if injected or any(a <= rel < b for a, b in faults.reject_windows):
                raise OrderRejectedError(
                    self.name, "Order rejected (injected fault)", None, "injected"
                )
            refuse = faults.reject_post_only
            outcome = self.engine.place(t, request, refuse_post_only=refuse)
            ack = outcome.ack
            if ack is not None and ack.status is OrderStatus.OPEN and self._accept_cancels:
                self._venue_cancels_later(t, request.symbol, ack.venue_order_id)
            return self._settle(t, outcome)

        return await self._request(op, "place", act)

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels an order; an unknown-order answer is followed by a status query."""

        def act(t: int) -> CancelOutcome:
            if self._races:
                self._fill_before_cancel(t, symbol, client_id, venue_order_id)
            outcome = self.engine.cancel(
                t, symbol, client_id=client_id, venue_order_id=venue_order_id
            )
            self._emit(t, outcome.events)
            self._publish(t)
            return outcome

        outcome = await self._request("cancel", "cancel", act)
        style = self.config.personality.cancel_unknown_style
        if outcome.cancelled and style is CancelUnknownStyle.SYNC_ERROR:
            return CancelResult.CANCELLED
        # The venue's answer does not say what happened (an "unknown order" text, or Lighter's
        # accepted transaction): ask.
        report = await self.order_status(symbol, client_id=client_id, venue_order_id=venue_order_id)
        if report is None:
            return CancelResult.FAILED
        if outcome.cancelled:
            return CancelResult.CANCELLED
        if report.status is OrderStatus.FILLED:
            return CancelResult.ALREADY_FILLED
        if report.status.is_terminal:
            return CancelResult.ALREADY_CANCELLED
        return CancelResult.FAILED

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Changes a resting order in place."""
        if not self.supports_modify:
            raise NotImplementedError(f"{self.name} cannot modify orders")

        if self.config.check_rules:
            self._infos[symbol].rules.check(price, size)
        refuse = self.config.faults.reject_post_only

        def act(t: int) -> OrderAck:
            outcome = self.engine.modify(
                t, symbol, client_id, price=price, size=size, refuse_post_only=refuse
            )
            if outcome.ack is not None and self.config.personality.modify_new_id:
                self.stats["replaced_orders"] += 1
            return self._settle(t, outcome)

        return await self._request("maker", "modify", act)

    def _settle(self, t: int, outcome: PlaceOutcome) -> OrderAck:
        """Sends a placement's events on their way and returns its answer (or raises its
        synchronous rejection)."""
        if outcome.post_only_refused:
            self.stats["post_only_refused"] += 1
        self._emit(t, outcome.events)
        self._publish(t)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.ack is not None
        return outcome.ack

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The engine's view of one order (after a round trip)."""
        return await self._request(
            "query",
            "status",
            lambda t: self.engine.order_status(
                symbol, client_id=client_id, venue_order_id=venue_order_id, now_ns=t
            ),
        )

    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills from the venue's REST API."""
        return await self._request(
            "query", "fills", lambda t: self.engine.fills(symbol, since_ns=since_ns)
        )

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position."""
        return await self._request("query", "positions", self.engine.positions)

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order of ours still resting, oldest first."""
        return await self._request(
            "query",
            "open_orders",
            lambda t: [r for r in self.engine.orders(symbol) if not r.status.is_terminal],
        )

    async def funding_rates(self) -> dict[str, FundingRate]:
        """The current funding rates."""
        return await self._request("query", "funding", self.engine.funding_rates)

    async def account(self) -> AccountState:
        """The account's collateral and margins (request kind ``account``)."""
        return await self._request("query", "account", self.engine.account)

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol`` (request kind ``leverage``).

        Raises:
            KeyError: Unknown symbol.
        """
        self._infos[symbol]  # raises KeyError for an unknown symbol
        return await self._request("query", "leverage", lambda t: self.engine.leverage(symbol))

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s leverage (request kind ``set_leverage``; speed bump ``"leverage"``).

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Above the cap of the current position's tier.
            hedgekit.errors.OrderRejectedError: The account would be short of initial margin.
        """
        self._infos[symbol]  # raises KeyError for an unknown symbol
        return await self._request(
            "leverage", "set_leverage", lambda t: self.engine.set_leverage(t, symbol, leverage)
        )

    def margin_table(self, symbol: str) -> MarginTable:
        """``symbol``'s margin tiers (local: no request).

        Raises:
            KeyError: Unknown symbol.
        """
        return self.engine.margin_table(symbol)

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """When ``symbol``'s funding is paid (local: no request).

        Raises:
            KeyError: Unknown symbol.
        """
        return self.engine.funding_schedule(symbol)

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding booked on our positions since ``since_ns``, oldest first (request kind
        ``funding_payments``)."""
        return await self._request(
            "query", "funding_payments", lambda t: self.engine.funding_payments(since_ns)
        )

    def adl(self, symbol: str, size: Decimal) -> None:
        """Auto-deleverages ``size`` of our position in ``symbol`` now, at the mark (a test
        hook: the venue does it, not us). The :class:`~hedgekit.model.Deleverage` and its fill
        go out on the private stream.

        Raises:
            KeyError: Unknown symbol.
        """
        t = self._clock.now_ns()
        self._emit(t, self.engine.adl(t, symbol, size))
        self._publish(t)

    # ------------------------------------------------------------------- faults at run time
    # Test hooks: the venue (not us) does these, switched on while it runs. The conformance
    # suite (hedgekit.testing.conformance) drives them.

    def drop_stream(self, duration_ns: int, *, snapshot_fills: int = 0, notice_ns: int = 0) -> None:
        """The private stream goes down now for ``duration_ns``: the events of that window are
        lost (a :class:`~hedgekit.venues.sim.Disconnect` from now).

        Subscribers see ``StreamStatus(connected=False)`` after ``notice_ns`` (0: at once, a
        closed socket; more: a socket gone silent, noticed by the adapter's silence timeout)
        and ``StreamStatus(connected=True)`` at the end, followed by the ``snapshot_fills``
        most recent fills (Hyperliquid's ``isSnapshot`` message repeats fills already seen).

        Raises:
            ValueError: A negative duration or a notice not within the window.
        """
        if duration_ns <= 0 or not 0 <= notice_ns < duration_ns:
            raise ValueError(f"a drop of {duration_ns} ns noticed after {notice_ns} ns")
        now = self._clock.now_ns()
        d = Disconnect(now - self._start_ns, duration_ns, snapshot_fills)
        self._set_faults(disconnects=(*self.config.faults.disconnects, d))
        self.schedule(now + notice_ns, self._stream_down)
        self.schedule(now + duration_ns, self._make_stream_up(d))

    def lose_next(self, op: str, kind: str = "answer") -> None:
        """The next request of kind ``op`` (one of :data:`~hedgekit.venues.sim.REQUEST_OPS`)
        loses its answer (the venue acts; the client times out) or, with ``kind="request"``,
        itself (nothing happens).

        Raises:
            ValueError: An unknown op or kind.
        """
        lost = LostMessage(op, self._op_counts.get(op, 0) + 1, kind)
        self._set_faults(lose_answers=(*self.config.faults.lose_answers, lost))

    def race_next_cancel(self, event_delay_ns: int) -> None:
        """The next cancel of a resting order finds it filled by outside flow between the
        cancel's arrival and its answer (the venue answers "unknown order"); the fill's events leave
        ``event_delay_ns`` after the cancel's arrival, past its answer.

        Raises:
            ValueError: A negative delay.
        """
        if event_delay_ns < 0:
            raise ValueError(f"event_delay_ns must be >= 0, got {event_delay_ns}")
        self._races.append(event_delay_ns)

    def cancel_next_accepted(self, delay_ns: int, reason: str = "marginCanceled") -> None:
        """The next order that rests is accepted, then cancelled by the venue ``delay_ns``
        later with ``reason`` (Hyperliquid ``marginCanceled``): accepted is not live.

        Raises:
            ValueError: A negative delay.
        """
        if delay_ns < 0:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")
        self._accept_cancels.append((delay_ns, reason))

    def _set_faults(self, **changes: Any) -> None:
        faults: FaultConfig = dataclasses.replace(self.config.faults, **changes)
        self.config = dataclasses.replace(self.config, faults=faults)
        self._instant = _is_instant(self.config)

    def fill_resting(self, symbol: str, venue_order_id: str, size: Decimal | None = None) -> None:
        """Outside flow fills our resting order now, at its price (a test hook): an outside
        taker sweeps everything queued at better prices, then ``size`` of our order (``None``:
        its level, our order with it). Nothing happens for an order that is not resting.

        Raises:
            KeyError: Unknown symbol.
            ValueError: ``size`` given while outside orders share the order's price (the taker
                could not be aimed at ours alone).
        """
        t = self._clock.now_ns()
        self._emit(t, self._take_resting(t, symbol, None, venue_order_id, size))
        self._publish(t)

    def _take_resting(
        self,
        t: int,
        symbol: str,
        client_id: str | None,
        venue_order_id: str | None,
        size: Decimal | None = None,
    ) -> list[VenueEvent]:
        report = self.engine.order_status(
            symbol, client_id=client_id, venue_order_id=venue_order_id
        )
        if report is None or report.status.is_terminal or report.price is None:
            return []
        price, buy = report.price, report.side is Side.BUY
        bids, asks = self.engine.book_levels(symbol, 10_000)
        levels = bids if buy else asks
        better = sum((s for p, s in levels if (p > price if buy else p < price)), Decimal(0))
        level = sum((s for p, s in levels if p == price), Decimal(0))
        if size is not None and level != report.size - report.filled:
            raise ValueError(f"outside orders share {price}: a partial fill cannot be aimed")
        amount = better + (level if size is None else size)
        return self.engine.external_trade(t, symbol, report.side.opposite, amount, price)

    def _fill_before_cancel(
        self, t: int, symbol: str, client_id: str | None, venue_order_id: str | None
    ) -> None:
        events = self._take_resting(t, symbol, client_id, venue_order_id)
        if not events:
            return
        delay = self._races.pop(0)
        self._publish(t)
        self.schedule(t + delay, lambda tt: self._emit(tt, events))

    def _venue_cancels_later(self, t: int, symbol: str, venue_order_id: str) -> None:
        delay, reason = self._accept_cancels.pop(0)

        def cancel(tt: int) -> None:
            outcome = self.engine.cancel(tt, symbol, venue_order_id=venue_order_id, reason=reason)
            self._emit(tt, outcome.events)
            self._publish(tt)

        self.schedule(t + delay, cancel)

    # ---------------------------------------------------------------------------- scheduler
    def now_ns(self) -> int:
        """The venue's clock."""
        return self._clock.now_ns()

    def schedule(self, t_ns: int, callback: Callable[[int], None]) -> None:
        """Runs ``callback(t_ns)`` at clock time ``t_ns`` (ties in scheduling order)."""
        heapq.heappush(self._heap, (t_ns, next(self._seq), callback))
        if self._heap[0][2] is callback:
            self._arm()

    def _arm(self) -> None:
        if self._loop is None or not self._heap:
            return
        head = self._heap[0][0]
        if self._timer is not None:
            if self._armed_ns <= head:
                return  # the armed timer fires first and re-arms for the rest
            self._timer.cancel()
        self._armed_ns = head
        delay = max(head - self._clock.now_ns(), 0) / 1e9
        self._timer = self._loop.call_at(self._loop.time() + delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        # Loop time is a float: accept a few ns of rounding so no callback waits another turn.
        horizon = self._clock.now_ns() + 1_000
        while self._heap and self._heap[0][0] <= horizon:
            t, _, callback = heapq.heappop(self._heap)
            try:
                callback(t)
            except Exception:  # noqa: BLE001 - one bad callback must not stop the venue
                import logging

                logging.getLogger("hedgekit.sim").exception("simulated venue callback failed")
        self._arm()

    async def _request(self, bump_op: str, op: str, act: Callable[[int], _T]) -> _T:
        """One REST round trip with latency, rate limits and faults (``sim-models`` §4.1,
        §4.7, §4.11). ``op`` is one of :data:`~hedgekit.venues.sim.config.REQUEST_OPS`."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        if self._instant:
            self.stats["requests"] += 1
            return act(self._clock.now_ns())
        fut: asyncio.Future[Any] = loop.create_future()
        now = self._clock.now_ns()
        faults = self.config.faults
        u_req, u_resp, u_over = (self._faults_rng.random() for _ in range(3))
        self.stats["requests"] += 1
        nth = self._op_counts.get(op, 0) + 1
        self._op_counts[op] = nth
        scripted = {x.kind for x in faults.lose_answers if x.op == op and x.n == nth}
        entry = self._latency.entry(now - self._start_ns, bump_op)

        def answer(value: Any, is_error: bool) -> Callable[[int], None]:
            def deliver(_t: int) -> None:
                if fut.done():
                    return
                if is_error:
                    fut.set_exception(value)
                else:
                    fut.set_result(value)

            return deliver

        expiry = self.config.request_expiry_ns if op in _EXPIRING_OPS else 0

        def arrive(t: int) -> None:
            back = t + self._latency.response(t - self._start_ns)
            if expiry and t - now > expiry:
                # past the deadline stamped on it when sent: refused before it is executed
                self.stats["expired_requests"] += 1
                late = OrderRejectedError(
                    self.name, f"{op}: request expired before it reached the venue", None,
                    "expired",
                )  # fmt: skip
                self.schedule(back, answer(late, True))
                return
            if any(o.covers(op, t - self._start_ns) for o in faults.outages):
                self.stats["outage_refusals"] += 1
                down = VenueUnavailableError(self.name, f"503 Service Unavailable ({op})", 503)
                self.schedule(back, answer(down, True))
                return
            refusal = self._limiter.admit(op, t)
            if refusal is not None:
                self.stats["rate_limited"] += 1
                p = self.config.personality
                code = 418 if refusal.banned else p.rate_limit_code
                err = RateLimitedError(self.name, p.rate_limit_text, code, refusal.retry_after_s)
                self.schedule(back, answer(err, True))
                return
            value: object
            try:
                value, is_error = act(t), False
            except Exception as exc:  # noqa: BLE001 - the caller gets every error, bugs included
                value, is_error = exc, True
            if u_resp < faults.p_resp_loss or "answer" in scripted:
                self.stats["lost_responses"] += 1
                return
            self.schedule(back, answer(value, is_error))

        if u_req < faults.p_req_loss or "request" in scripted:
            self.stats["lost_requests"] += 1
        elif u_over < self.config.latency.p_overload:
            err = VenueUnavailableError(self.name, "503 Service Unavailable (overloaded)", 503)
            self.schedule(now + entry + self._latency.response(now), answer(err, True))
        else:
            self.schedule(now + entry, arrive)
        timeout_s = faults.request_timeout_ns / 1e9
        try:
            async with asyncio.timeout(timeout_s):
                return await fut  # type: ignore[no-any-return]
        except TimeoutError:
            raise VenueTimeoutError(
                self.name, f"no answer to {op} within {timeout_s:g} s"
            ) from None

    # ------------------------------------------------------------------------ private stream
    def emit(self, t: int, events: Sequence[VenueEvent]) -> None:
        """Sends engine events down the private streams (used by the market model)."""
        self._emit(t, events)

    def _emit(self, t: int, events: Sequence[VenueEvent]) -> None:
        if not events:
            return
        if self._instant:
            for ev in events:
                self._deliverer(ev)(t)
            return
        batch = list(events)
        if any(isinstance(ev, _ACCOUNT_EVENTS) for ev in batch):
            self._emit_account(t, [ev for ev in batch if isinstance(ev, _ACCOUNT_EVENTS)])
            batch = [ev for ev in batch if not isinstance(ev, _ACCOUNT_EVENTS)]
            if not batch:
                return
        d = self.config.delivery
        rng = self._delivery_rng
        if rng.random() < d.p_shuffle:
            rng.shuffle(batch)
        for ev in batch:
            u_hold, u_hold_t, u_dup, u_dup_t = (
                rng.random(),
                rng.random(),
                rng.random(),
                rng.random(),
            )
            is_fill = isinstance(ev, Fill)
            conn = "fills" if is_fill else "orders"
            latency = 0 if (is_fill and d.fill_before_ack) else self._latency.feed_private()
            if u_hold < d.p_holdback:
                deliver = t + latency + int(u_hold_t * d.holdback_ns)
            else:
                deliver = max(t + latency, self._last_deliver.get(conn, 0))
                self._last_deliver[conn] = deliver
            self.schedule(deliver, self._deliverer(ev))
            if isinstance(ev, Fill) and forced_fill_kind(ev.client_id) is not None:
                key = (ev.client_id, ev.trade_id)
                self._forced_due[key] = min(deliver, self._forced_due.get(key, deliver))
            if is_fill and u_dup < d.p_dup:
                self.stats["duplicated_events"] += 1
                self.schedule(deliver + int(u_dup_t * d.dup_delay_ns), self._deliverer(ev))

    def forced_fill_in_flight(self, fill: Fill) -> bool:
        """Whether a forced fill of this venue (a liquidation's, an auto-deleverage's) is still
        on its way down the private stream now: nobody could have heard of it yet."""
        due = self._forced_due.get((fill.client_id, fill.trade_id))
        return due is not None and due > self._clock.now_ns()

    def _emit_account(self, t: int, events: Sequence[VenueEvent]) -> None:
        """Liquidations, deleverages and funding payments: in order on their own connection,
        after the private-feed latency (drawn from a stream of their own), lost while the stream
        is down; no duplicates or hold-backs."""
        for ev in events:
            latency = self._account_latency.feed_private()
            deliver = max(t + latency, self._last_deliver.get("account", 0))
            self._last_deliver["account"] = deliver
            self.schedule(deliver, self._deliverer(ev))

    def _deliverer(self, event: VenueEvent) -> Callable[[int], None]:
        def deliver(t: int) -> None:
            if self._stream_is_down(t):
                self.stats["dropped_events"] += 1
                return
            for sub in list(self._subs):
                sub._put(event)

        return deliver

    def _stream_is_down(self, t: int) -> bool:
        rel = t - self._start_ns
        return any(
            d.start_ns <= rel < d.start_ns + d.duration_ns for d in self.config.faults.disconnects
        )

    def _stream_down(self, t: int) -> None:
        for sub in list(self._subs):
            sub._put(StreamStatus(self.name, False, t))

    def _make_stream_up(self, d: Disconnect) -> Callable[[int], None]:
        def up(t: int) -> None:
            if self._stream_is_down(t):
                return  # another window still covers this instant: the stream comes back then
            for sub in list(self._subs):
                sub._put(StreamStatus(self.name, True, t))
            if d.snapshot_fills:
                for fill in self.engine.fills()[-d.snapshot_fills :]:
                    for sub in list(self._subs):
                        sub._put(fill)

        return up

    # ------------------------------------------------------------------------- public feed
    def publish(self, t: int) -> None:
        """Pushes book changes to our copy after the public-feed latency (used by the market
        model)."""
        self._publish(t)

    def _publish(self, t: int) -> None:
        for sym in self._books:
            version = self.engine.book_version(sym)
            if self._published.get(sym) == version:
                continue
            self._published[sym] = version
            if self._feed_stalled(t):
                continue
            bids, asks = self.engine.book_levels(sym, self.config.book_depth)
            message = self._feed_message(t, sym, bids, asks)
            if message is None:
                continue
            if self._instant:
                self._book_deliverer(sym, message)(t)
                continue
            latency = self._latency.feed_public()
            key = "book:" + sym
            deliver = max(t + latency, self._last_deliver.get(key, 0))
            self._last_deliver[key] = deliver
            self.schedule(deliver, self._book_deliverer(sym, message))

    def _heartbeat(self, t: int) -> None:
        self._republish_all(t)
        self.schedule(t + self.config.book_heartbeat_ns, self._heartbeat)

    def _republish_all(self, t: int) -> None:
        self._published.clear()
        self._publish(t)

    def _feed_stalled(self, t: int) -> bool:
        rel = t - self._start_ns
        return any(
            d.start_ns <= rel < d.start_ns + d.duration_ns for d in self.config.faults.feed_stalls
        )

    def _feed_message(
        self,
        t: int,
        sym: str,
        bids: list[tuple[Decimal, Decimal]],
        asks: list[tuple[Decimal, Decimal]],
    ) -> bytes | None:
        ms = t // 1_000_000
        if self.config.personality.name != "aster":
            levels = [
                [{"px": str(p), "sz": str(s), "n": 1} for p, s in bids],
                [{"px": str(p), "sz": str(s), "n": 1} for p, s in asks],
            ]
            return orjson.dumps({"coin": sym, "time": ms, "levels": levels})
        # Aster/Binance: a depthUpdate diff against the previous published levels.
        prev_bids, prev_asks = self._feed_levels.get(sym, ({}, {}))
        new_bids, new_asks = dict(bids), dict(asks)
        self._feed_levels[sym] = (new_bids, new_asks)
        prev_u = self._feed_seq.get(sym, 0)
        u = prev_u + 1
        self._feed_seq[sym] = u
        if self._feed_rng.random() < self.config.faults.p_feed_drop:
            return None
        diff = {
            "e": "depthUpdate",
            "E": ms,
            "T": ms,
            "s": sym,
            # One update id per diff; U reaches back to the previous id so that the first diff
            # after a snapshot taken between two diffs satisfies U <= lastUpdateId <= u.
            "U": prev_u,
            "u": u,
            "pu": prev_u,
            "b": _level_diff(prev_bids, new_bids),
            "a": _level_diff(prev_asks, new_asks),
        }
        return orjson.dumps(diff)

    def _book_deliverer(self, sym: str, message: bytes) -> Callable[[int], None]:
        def deliver(t: int) -> None:
            book = self._books[sym]
            if self.config.personality.name != "aster":
                book.apply_hyperliquid(message, ts_ns=t)
                return
            pending = self._resyncing.get(sym)
            if pending is not None:
                pending.append(message)
                return
            status = book.apply_depth_update(message, ts_ns=t)
            if status == 3:  # BOOK_GAP: resynchronise from a REST snapshot, buffering diffs
                self.stats["book_gaps"] += 1
                self._resyncing[sym] = [message]
                self._fetch_snapshot(t, sym)

        return deliver

    def _initial_snapshot(self, t: int, sym: str) -> None:
        bids, asks = self.engine.book_levels(sym, self.config.book_depth)
        self._published[sym] = self.engine.book_version(sym)
        if self.config.personality.name == "aster":
            self._feed_levels[sym] = (dict(bids), dict(asks))
            self._feed_seq.setdefault(sym, 0)
            self._books[sym].apply_depth_snapshot(self._depth_snapshot(t, sym, bids, asks), ts_ns=t)
        else:
            self._books[sym].apply_hyperliquid(
                self._feed_message(t, sym, bids, asks) or b"", ts_ns=t
            )

    def _depth_snapshot(
        self,
        t: int,
        sym: str,
        bids: list[tuple[Decimal, Decimal]],
        asks: list[tuple[Decimal, Decimal]],
    ) -> bytes:
        ms = t // 1_000_000
        return orjson.dumps(
            {
                "lastUpdateId": self._feed_seq.get(sym, 0),
                "E": ms,
                "T": ms,
                "bids": [[str(p), str(s)] for p, s in bids],
                "asks": [[str(p), str(s)] for p, s in asks],
            }
        )

    def _fetch_snapshot(self, t: int, sym: str) -> None:
        """The adapter's REST depth call after a gap: the snapshot is taken at venue arrival and
        applied on its answer, then the diffs buffered meanwhile are replayed."""
        arrive = t + self._latency.entry(t - self._start_ns, "query")

        def at_venue(ta: int) -> None:
            bids, asks = self.engine.book_levels(sym, self.config.book_depth)
            body = self._depth_snapshot(ta, sym, bids, asks)

            def on_answer(tb: int) -> None:
                book = self._books[sym]
                book.apply_depth_snapshot(body, ts_ns=tb)
                buffered = self._resyncing.pop(sym, [])
                for message in buffered:
                    if book.apply_depth_update(message, ts_ns=tb) == 3:
                        self.stats["book_gaps"] += 1
                        self._resyncing[sym] = []
                        self._fetch_snapshot(tb, sym)
                        return

            self.schedule(ta + self._latency.response(ta - self._start_ns), on_answer)

        self.schedule(arrive, at_venue)

    def __repr__(self) -> str:
        return f"SimVenue(name={self.name!r}, personality={self.config.personality.name!r})"


def _is_instant(config: SimVenueConfig) -> bool:
    lat = config.latency
    zero = all(
        x.base_ns == 0 and x.jitter_mean_ns == 0
        for x in (lat.entry, lat.response, lat.feed_public, lat.feed_private)
    )
    f, d = config.faults, config.delivery
    quiet = (
        not lat.speed_bumps and not lat.schedule and lat.p_overload == 0
        and f.p_req_loss == 0 and f.p_resp_loss == 0 and f.p_reject == 0 and f.p_feed_drop == 0
        and not f.reject_windows and not f.disconnects and not f.feed_stalls
        and not f.lose_answers and not f.outages
        and d.p_dup == 0 and d.p_holdback == 0 and d.p_shuffle == 0
    )  # fmt: skip
    return zero and quiet


def _level_diff(old: dict[Decimal, Decimal], new: dict[Decimal, Decimal]) -> list[list[str]]:
    out = [[str(p), str(s)] for p, s in new.items() if old.get(p) != s]
    out.extend([str(p), "0"] for p in old if p not in new)
    return out
