"""The Lighter adapter: :class:`LighterVenue`, a :class:`~hedgekit.venues.Venue`.

Every write is a signed L2 transaction (:mod:`~hedgekit.venues.lighter.signing`: the venue's
native signer, offline, explicit nonces) sent by ``POST /api/v1/sendTx``. The venue's answer
acknowledges the **transaction**, not the order: the order's state comes from the
``account_all_orders`` channel (or, when it does not come in time, from the account's active and
inactive orders), so a post-only order accepted and then ``canceled-post-only`` is a
:class:`~hedgekit.errors.PostOnlyRejectedError`, never a resting order.

Nonces are sequential per API key. Sends are serialised per key (nonce taken, tx signed and
sent, answer read, in nonce order), so concurrent callers never collide; an ``invalid nonce``
(21104) refreshes the nonce, checks the first tx did not land (the account's orders, by
``client_order_index``) and re-signs the **same** order once. Our client ids map to 48-bit
``client_order_index`` values both ways (:class:`~hedgekit.venues.lighter.wire.ClientIndexMap`).

Books come from ``order_book/{m}``: a snapshot, then deltas of absolute sizes chained by
``begin_nonce`` == the previous ``nonce``; a break resubscribes the channel for a fresh
snapshot. Fills come from ``account_all_trades``, deduplicated by trade id; after each
(re)connect the account's trades are read over REST before trading resumes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgekit._core import OrderBook
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    InvalidArgumentError,
    InvalidOrderError,
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    VenueError,
    VenueNotReadyError,
)
from hedgekit.model import (
    AccountState,
    CancelResult,
    Fill,
    FundingPayment,
    FundingRate,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    OrderUpdate,
    Position,
    StreamStatus,
    TimeInForce,
)
from hedgekit.risk.funding import FundingSchedule
from hedgekit.risk.tiers import MarginTable
from hedgekit.secrets import Secret
from hedgekit.venues._local import LocalState, SeenKeys
from hedgekit.venues.base import InstrumentInfo
from hedgekit.venues.lighter import parse, wire
from hedgekit.venues.lighter.http import LIGHTER_BUDGETS, READ_WEIGHT, SEND_WEIGHT, LighterHttp
from hedgekit.venues.lighter.signing import (
    LighterCredentials,
    LighterSigner,
    NonceAllocator,
    SignedTx,
)
from hedgekit.venues.lighter.ws import LighterStream
from hedgekit.venues.numbers import cancel_result_from, dec, protection_price
from hedgekit.venues.transport import Backoff, Budget, EventQueue

__all__ = ["LighterVenue"]

log = logging.getLogger("hedgekit.lighter")

MS = 1_000_000
_SEEN_TRADES = 10_000
_DAY_MS = 86_400_000
_GTT_EXPIRY_MS = 28 * _DAY_MS  # the SDK's default order expiry
_LIMIT = 100
_PAGES = 10
_MIN_DEAD_MAN_MS = 300_000


class _StaleNonce(Exception):
    """``invalid nonce`` (21104): the key's nonce moved on without us."""


@dataclass(slots=True)
class _Order:
    symbol: str
    client_id: str
    coi: int
    status: OrderStatus = OrderStatus.OPEN
    order_index: str | None = None
    report: OrderStatusReport | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(
        self, done: Callable[[OrderStatusReport], bool], timeout_s: float
    ) -> OrderStatusReport | None:
        """Waits (at most ``timeout_s``) until the stream brings a state ``done`` accepts; that
        state, or ``None`` when none came in time."""
        try:
            async with asyncio.timeout(timeout_s):
                while self.report is None or not done(self.report):
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            return None
        return self.report


class LighterVenue(LocalState):
    """Lighter perpetual futures as a :class:`~hedgekit.venues.Venue`.

    Args:
        base_url: The REST base (``wire.MAINNET_URL`` or a fake's).
        credentials: The API key (account, key index, private key as a ``Secret``).
        ws_url: The WebSocket URL (default: ``/stream`` on the REST host).
        symbols: The symbols whose books are kept; default none.
        name: The venue's name in every value it reports.
        clock: Stamps local events (default: the loop's clock).
        quirks: The unconfirmed readings (venues.md §5) as switches.
        request_timeout_s: How long a send or a read waits for its answer.
        ack_timeout_s: How long an accepted tx's order waits for its state on the stream
            before the account's orders are read (the sequencer takes ~200-300 ms).
        ready_timeout_s: How long :meth:`connect` waits for the stream.
        gate_timeout_s: How long an order waits for a reconnecting stream to be ready again.
        auth_ttl_s: Lifetime of each auth token (the SDK's default: 10 min); a new one is made
            when a third of it is left.
        market_slippage: The protection of a MARKET order sent without a price: the mid moved
            this fraction against us.
        post_only_grace_s: A post-only order first seen ``open`` is looked at again this much
            later before it is reported resting: the sequencer may report it ``open`` and then
            ``canceled-post-only`` from one execution (the fake does; the venue's order of
            pushes is unconfirmed).
        dead_man_s: A scheduled cancel-all (CancelAllOrders, time in force 1) kept this far
            ahead while connected, refreshed at a third of it (at least 300 s: the venue's
            minimum); ``None`` (default) leaves it off (each refresh is a signed tx).
        budgets: The account's rate budgets (default: Premium; a Standard account:
            ``http.STANDARD_BUDGETS`` with ``weights=(1, 1)``).
        weights: ``(send, read)`` request weights against ``budgets``.
        backoff: Delays between reconnects.
        silence_timeout_s: A socket silent this long is replaced.
        client_ping: Keep the socket alive with ``{"type":"ping"}`` (see
            :class:`~hedgekit.venues.lighter.ws.LighterStream`).
        chain_id: Overrides the signer's chain id.

    Raises:
        hedgekit.errors.MissingExtraError: ``lighter-sdk`` is not installed.
    """

    def __init__(
        self,
        base_url: str,
        credentials: LighterCredentials,
        *,
        ws_url: str | None = None,
        symbols: tuple[str, ...] = (),
        name: str = "lighter",
        clock: Clock | None = None,
        quirks: parse.LighterQuirks | None = None,
        request_timeout_s: float = 5.0,
        ack_timeout_s: float = 2.0,
        ready_timeout_s: float = 10.0,
        gate_timeout_s: float = 2.0,
        auth_ttl_s: float = 600.0,
        market_slippage: Decimal = Decimal("0.01"),
        post_only_grace_s: float = 0.05,
        dead_man_s: float | None = None,
        budgets: tuple[Budget, ...] = LIGHTER_BUDGETS,
        weights: tuple[int, int] = (SEND_WEIGHT, READ_WEIGHT),
        backoff: Backoff | None = None,
        silence_timeout_s: float = 150.0,
        client_ping: bool = True,
        chain_id: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._signer = LighterSigner(credentials, self.base_url, chain_id=chain_id)
        self._name = name
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.account_index = credentials.account_index
        self.api_key_index = credentials.api_key_index
        self.quirks = quirks if quirks is not None else parse.LighterQuirks()
        self.request_timeout_s = request_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.gate_timeout_s = gate_timeout_s
        if auth_ttl_s < 60:
            raise InvalidArgumentError("auth tokens must live at least 60 s")
        self.auth_ttl_s = auth_ttl_s
        self.market_slippage = market_slippage
        self.post_only_grace_s = post_only_grace_s
        if dead_man_s is not None and dead_man_s < 300:
            raise InvalidArgumentError("Lighter's scheduled cancel-all is at least 5 min ahead")
        self.dead_man_s = dead_man_s
        self.symbols = tuple(symbols)
        self.http = LighterHttp(
            name, self.base_url, timeout_s=request_timeout_s, budgets=budgets, weights=weights
        )
        self.nonces = NonceAllocator(self._fetch_nonce)
        """The API key's nonces."""
        self._ws_url = ws_url or wire.ws_url_for(self.base_url)
        self._backoff = backoff
        self._silence_timeout_s = silence_timeout_s
        self._client_ping = client_ping
        self.stream: LighterStream | None = None
        self._instruments: dict[str, parse.LighterInstrument] = {}
        self._by_market: dict[int, str] = {}
        self._infos: dict[str, InstrumentInfo] = {}
        self._books: dict[str, OrderBook] = {}
        self._subs: list[EventQueue] = []
        self._ids = wire.ClientIndexMap()
        self._orders: dict[int, _Order] = {}  # by client_order_index
        self._seen = SeenKeys(_SEEN_TRADES)
        self._book_nonce: dict[int, int | None] = {}
        self._send_lock = asyncio.Lock()
        self._token: Secret | None = None
        self._token_until = 0.0
        self._replaced: list[tuple[float, Secret]] = []  # old tokens, until their deadline
        self._traded: set[str] = set()
        self._start_ms = 0
        self._fills_since_ms = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._connected = False
        self.resigned = 0
        """Orders re-signed after an ``invalid nonce``."""
        self.resyncs = 0
        """Book resubscriptions after a break in the nonce chain."""
        self.resolved = 0
        """Orders whose state was read over REST because the stream did not bring it in time."""
        self.dead_man_until_ms: int | None = None
        """When the scheduled cancel-all fires unless refreshed (wall ms)."""

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    @property
    def supports_modify(self) -> bool:
        """True: ModifyOrder changes a resting order's price and size in place."""
        return True

    @property
    def ready(self) -> bool:
        """True while the stream is connected and reconciled."""
        return self.stream is not None and self.stream.ready

    @property
    def signer(self) -> LighterSigner:
        """The API key's signer."""
        return self._signer

    async def connect(self) -> None:
        """Loads instruments (``orderBookDetails``), opens the stream (books and the account's
        channels) and waits until it is ready.

        Raises:
            hedgekit.errors.VenueError: ``orderBookDetails`` could not be read.
            hedgekit.errors.VenueNotReadyError: Not ready within ``ready_timeout_s``.
        """
        if self._connected:
            return
        details = await self.http.get("orderBookDetails")
        self._instruments = parse.instruments(self._name, details, self.quirks)
        self._infos = {s: i.info for s, i in self._instruments.items()}
        self._by_market = {i.market_id: s for s, i in self._instruments.items()}
        for sym in self._infos:
            self._books.setdefault(sym, OrderBook(self._name, sym))
        markets = tuple(self._instruments[s].market_id for s in self.symbols)
        self._start_ms = self._fills_since_ms = time.time_ns() // MS
        self.stream = LighterStream(
            self._name, self._ws_url, self.account_index, markets,
            lambda: self._auth().reveal(), self._on_book, self._on_account,
            reconcile=self._reconcile, on_state=self._on_state,
            silence_timeout_s=self._silence_timeout_s, backoff=self._backoff,
            client_ping=self._client_ping,
        )  # fmt: skip
        self._connected = True
        await self.stream.start()
        if self.dead_man_s is not None:
            self._spawn(self._dead_man_loop(self.dead_man_s))
        await self.stream.client.wait_ready(self.ready_timeout_s)

    async def close(self) -> None:
        """Stops the stream and every owned task (idempotent); a scheduled cancel-all stays
        armed."""
        self._connected = False
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self.stream is not None:
            await self.stream.close()
        await self.http.close()
        self._signer.close()
        for sub in list(self._subs):
            sub.close()

    async def __aenter__(self) -> LighterVenue:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def auth_deadline_s(self) -> float | None:
        """When the current auth token expires (unix s), ``None`` before the first one."""
        return None if self._token is None else self._token_until

    def _auth(self) -> Secret:
        """A valid auth token, made anew when a third of its life is left."""
        now = time.time()
        if self._token is None or now > self._token_until - self.auth_ttl_s / 3:
            deadline = int(now + self.auth_ttl_s)
            if self._token is not None:
                self._replaced.append((self._token_until, self._token))
            self._token = self._signer.auth_token(deadline)
            self._token_until = float(deadline)
            # A token past its deadline grants nothing: it stops being masked by value, so
            # the secrets registry holds the live tokens only (not ~150 more a day).
            while self._replaced and self._replaced[0][0] < now:
                self._replaced.pop(0)[1].retire()
        return self._token

    async def _fetch_nonce(self) -> int:
        return await self.http.next_nonce(self.account_index, self.api_key_index)

    # --------------------------------------------------------------------------- local state
    def margin_table(self, symbol: str) -> MarginTable | None:
        """The single tier of ``symbol``'s margin fractions (``None`` when not given).

        Raises:
            KeyError: Unknown symbol.
        """
        return self._instruments[symbol].margin_table()

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """Hourly, on the hour.

        Raises:
            KeyError: Unknown symbol.
        """
        self._instruments[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        return FundingSchedule.lighter()

    def client_order_index(self, client_id: str) -> int:
        """The ``client_order_index`` our ``client_id`` is sent as."""
        return self._ids.index(client_id)

    def _client_id_of(self, coi: int) -> str:
        return self._ids.client_id(coi)

    # ------------------------------------------------------------------------------- orders
    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order: LIMIT GTT (our GTC, 28 days), post-only, IOC, or MARKET (IOC with
        a worst price: the request's, or the mid moved ``market_slippage`` against us),
        reduce-only, as ``client_order_index`` = our client id's 48-bit index.

        The venue acknowledges the tx; the order's state is read from the stream (or the
        account's orders): accepted then ``canceled-post-only`` is a
        :class:`~hedgekit.errors.PostOnlyRejectedError`.

        Raises:
            hedgekit.errors.InvalidOrderError: Not placeable (off grid, below minimum, no price
                for a market order without a book); nothing sent.
            hedgekit.errors.VenueNotReadyError: The stream is reconnecting; nothing sent.
            hedgekit.errors.OrderRejectedError: Refused, by the API or by the sequencer.
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the account's orders do not
                show the order either.
        """
        inst = self._instruments[request.symbol]
        price = self._order_price(inst, request)
        inst.info.rules.check(price, request.size, request.reduce_only)
        price_i = wire.to_int(price, inst.price_decimals, "price", upper=wire.MAX_PRICE)
        base_i = wire.to_int(request.size, inst.size_decimals, "size", upper=wire.MAX_BASE_AMOUNT)
        coi = self._ids.index(request.client_id)
        await self._gate()
        if request.order_type is OrderType.MARKET:
            otype, tif, expiry = wire.TYPE_MARKET, wire.TIF_IOC, 0
        elif request.tif is TimeInForce.IOC:
            otype, tif, expiry = wire.TYPE_LIMIT, wire.TIF_IOC, 0
        elif request.tif is TimeInForce.POST_ONLY:
            otype, tif, expiry = wire.TYPE_LIMIT, wire.TIF_POST_ONLY, -1
        else:
            otype, tif, expiry = wire.TYPE_LIMIT, wire.TIF_GTT, -1
        order = self._orders.get(coi)
        if order is not None and not order.status.is_terminal:
            raise OrderRejectedError(
                self._name, f"client id {request.client_id} is already live",
                21728, "duplicate_client_id",
            )  # fmt: skip
        order = _Order(request.symbol, request.client_id, coi)
        self._orders[coi] = order
        self._traded.add(request.symbol)

        def sign(nonce: int) -> Awaitable[SignedTx]:
            return self._signer.sign(
                self._signer.create_order, market_index=inst.market_id,
                client_order_index=coi, base_amount=base_i, price=price_i,
                is_ask=request.side.value == "sell", order_type=otype, time_in_force=tif,
                reduce_only=request.reduce_only, order_expiry_ms=expiry, nonce=nonce,
            )  # fmt: skip

        async def landed() -> bool:
            return await self._status(request.symbol, coi, None) is not None

        try:
            await self._send(sign, landed)
        except AmbiguousOutcomeError as exc:
            report = await self._await_order(order, self.ack_timeout_s)
            if report is None:
                raise exc from None
            self.resolved += 1
            return self._ack(request, report)
        except VenueError:
            if order.report is None:
                self._orders.pop(coi, None)
            raise
        report = await self._await_order(order, self.ack_timeout_s)
        if (
            report is not None and tif == wire.TIF_POST_ONLY
            and report.status is OrderStatus.OPEN and self.post_only_grace_s > 0
        ):  # fmt: skip
            await asyncio.sleep(self.post_only_grace_s)
            report = order.report or report
        if report is None:
            raise AmbiguousOutcomeError(
                self._name,
                f"tx for {request.client_id} accepted, but the order was not seen within "
                f"{self.ack_timeout_s:g} s",
            )
        return self._ack(request, report)

    def _ack(self, request: OrderRequest, report: OrderStatusReport) -> OrderAck:
        if report.reason == "post_only" and report.filled == 0:
            raise PostOnlyRejectedError(
                self._name, "the post-only order would have crossed: canceled-post-only"
            )
        if report.status is OrderStatus.REJECTED:
            raise OrderRejectedError(
                self._name, f"the sequencer cancelled {request.client_id}: {report.reason}",
                None, report.reason or "other",
            )  # fmt: skip
        return OrderAck(
            request.client_id, report.venue_order_id, report.status, report.filled, report.ts_ns
        )

    def _order_price(self, inst: parse.LighterInstrument, request: OrderRequest) -> Decimal:
        if request.price is not None:
            return request.price
        q = self.quote(request.symbol)
        if q is None:
            raise InvalidOrderError(
                f"a market order on {request.symbol} needs a price or a book",
                "non_positive_price",
                "no price and no book",
            )
        return protection_price(inst.info.rules, request.side, q.mid, self.market_slippage)

    async def _gate(self) -> None:
        if self.stream is None:
            raise VenueNotReadyError(self._name, "not connected")
        if not self.stream.ready:
            await self.stream.client.wait_ready(self.gate_timeout_s)

    async def _send(
        self,
        sign: Callable[[int], Awaitable[SignedTx]],
        landed: Callable[[], Awaitable[bool]] | None = None,
    ) -> dict[str, Any]:
        """Takes a nonce, signs and sends, in nonce order (one send of this key at a time).

        ``invalid nonce``: the nonce is re-read, ``landed`` asked whether the first tx was
        sequenced after all, and if not the same tx is signed again under the new nonce, once.
        A refusal leaves the nonce unused (given back); an ambiguous send forgets the counter.
        """
        try:
            async with asyncio.timeout(self.request_timeout_s * 3):
                await self._send_lock.acquire()
        except TimeoutError:
            raise VenueNotReadyError(self._name, "the key's send queue is stuck") from None
        try:
            try:
                return await self._send_once(sign, retry_on_nonce=True)
            except _StaleNonce:
                log.warning("%s: nonce refused as invalid; re-reading it", self._name)
            await self.nonces.refresh()
            if landed is not None and await landed():
                return {"code": 200, "message": "landed before the nonce refresh"}
            self.resigned += 1
            return await self._send_once(sign, retry_on_nonce=False)
        finally:
            self._send_lock.release()

    async def _send_once(
        self, sign: Callable[[int], Awaitable[SignedTx]], *, retry_on_nonce: bool
    ) -> dict[str, Any]:
        """One nonce, one signature, one send. A tx that surely did not reach the sequencer
        (refused by the API, never sent, not signed) gives its nonce back; an ambiguous send
        forgets the counter; ``invalid nonce`` raises :class:`_StaleNonce` when
        ``retry_on_nonce``."""
        nonce = await self.nonces.take()
        try:
            tx = await sign(nonce)
            return await self.http.send_tx(tx, timeout_s=self.request_timeout_s)
        except OrderRejectedError as exc:
            if exc.code == parse.INVALID_NONCE:
                if retry_on_nonce:
                    raise _StaleNonce from exc
                self.nonces.invalidate()
                raise
            self.nonces.give_back(nonce)
            raise
        except AmbiguousOutcomeError:
            self.nonces.invalidate()
            raise
        except (VenueError, InvalidOrderError):
            self.nonces.give_back(nonce)  # never sent (unreachable) or never signed
            raise

    async def _await_order(self, order: _Order, timeout_s: float) -> OrderStatusReport | None:
        """The order's first state after a tx: from the stream within ``timeout_s``, else from
        the account's orders. A pending order is awaited until it is open or final."""
        report = await order.wait_for(lambda r: True, timeout_s)
        if report is not None:
            return report
        try:
            return await self._status(order.symbol, order.coi, None)
        except AmbiguousOutcomeError:
            return None

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels by client id (its ``client_order_index``) or venue id (``order_index``).

        The venue acknowledges the tx; the outcome is read from the order's state: cancelled,
        or filled (``ALREADY_FILLED``: the fill is on its way, or counted), or still live
        (``FAILED``). A cancel the venue refuses as "not an active order" is followed by a
        status query.

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the order still looks live.
        """
        inst = self._instruments[symbol]
        coi, oid = self._refs(client_id, venue_order_id)
        index = coi if coi is not None else int(oid or 0)
        order = self._orders.get(coi) if coi is not None else self._by_oid(oid)
        before = order.report if order is not None else None
        if order is not None and order.status is OrderStatus.FILLED:
            return CancelResult.ALREADY_FILLED

        def sign(nonce: int) -> Awaitable[SignedTx]:
            return self._signer.sign(
                self._signer.cancel_order, market_index=inst.market_id, index=index, nonce=nonce
            )

        try:
            await self._send(sign)
        except OrderRejectedError as exc:
            if exc.code not in parse.NOT_ACTIVE:
                raise
            report = await self._status(symbol, coi, oid)
            if report is None:
                return CancelResult.FAILED
            await self._take_order_fills(symbol, report)
            return cancel_result_from(report, cancelled_by_us=False)
        except AmbiguousOutcomeError:
            report = await self._status(symbol, coi, oid)
            if report is None or not report.status.is_terminal:
                raise
            return cancel_result_from(report, cancelled_by_us=report is not before)
        report = await self._await_terminal(symbol, order, coi, oid)
        if report is None:
            return CancelResult.FAILED
        if report.status is OrderStatus.FILLED:
            await self._take_order_fills(symbol, report)
            return CancelResult.ALREADY_FILLED
        if not report.status.is_terminal:
            return CancelResult.FAILED
        was_terminal = before is not None and before.status.is_terminal
        return cancel_result_from(report, cancelled_by_us=not was_terminal)

    async def _await_terminal(
        self, symbol: str, order: _Order | None, coi: int | None, oid: str | None
    ) -> OrderStatusReport | None:
        """After an accepted cancel: the order's final state, from the stream within the ack
        timeout, else from the account's orders (``None``: unknown to the venue)."""
        if order is not None:
            report = await order.wait_for(lambda r: r.status.is_terminal, self.ack_timeout_s)
            if report is not None:
                return report
        return await self._status(symbol, coi, oid)

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Changes a resting order's price and size in place (ModifyOrder by its client order
        index); the order index stays.

        Raises:
            hedgekit.errors.InvalidOrderError: Off grid or below minimum; nothing sent.
            hedgekit.errors.OrderRejectedError: Refused (the order is no longer active, …).
            hedgekit.errors.AmbiguousOutcomeError: No answer.
        """
        inst = self._instruments[symbol]
        inst.info.rules.check(price, size, False)
        price_i = wire.to_int(price, inst.price_decimals, "price", upper=wire.MAX_PRICE)
        base_i = wire.to_int(size, inst.size_decimals, "size", upper=wire.MAX_BASE_AMOUNT)
        coi, _ = self._refs(client_id, None)
        assert coi is not None
        order = self._orders.get(coi)

        def sign(nonce: int) -> Awaitable[SignedTx]:
            return self._signer.sign(
                self._signer.modify_order, market_index=inst.market_id, index=coi,
                base_amount=base_i, price=price_i, nonce=nonce,
            )  # fmt: skip

        await self._send(sign)
        if order is not None:
            await order.wait_for(
                lambda r: r.price == price or r.status.is_terminal, self.ack_timeout_s
            )
        report = await self._status(symbol, coi, None)
        if report is None:
            raise OrderRejectedError(self._name, f"no order {client_id} to modify")
        return OrderAck(client_id, report.venue_order_id, report.status, report.filled,
                        report.ts_ns)  # fmt: skip

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The venue's view of one order (the account's active, then inactive orders of its
        market), ``None`` when it does not know it."""
        coi, oid = self._refs(client_id, venue_order_id)
        return await self._status(symbol, coi, oid)

    async def _status(
        self, symbol: str, coi: int | None, oid: str | None
    ) -> OrderStatusReport | None:
        inst = self._instruments[symbol]
        params = {"account_index": self.account_index, "market_id": inst.market_id}
        for endpoint, extra in (("accountActiveOrders", {}), ("accountInactiveOrders",
                                                               {"limit": _LIMIT})):  # fmt: skip
            body = await self.http.get(endpoint, {**params, **extra}, auth=self._auth())
            for row in body.get("orders") or ():
                row_coi = int(row.get("client_order_index") or 0)
                row_oid = str(row.get("order_index", ""))
                if (coi is not None and row_coi == coi) or (oid is not None and row_oid == oid):
                    report = parse.order_report(self._name, row, symbol, self._client_id_of)
                    self._record(row_coi, report)
                    return report
        return None

    def _refs(
        self, client_id: str | None, venue_order_id: str | None
    ) -> tuple[int | None, str | None]:
        if client_id is None and venue_order_id is None:
            raise InvalidArgumentError("an order is named by its client id or its venue id")
        coi = self._ids.index(client_id) if client_id is not None else None
        if coi is None and venue_order_id is not None:
            known = self._by_oid(venue_order_id)
            if known is not None:
                coi = known.coi
        return coi, venue_order_id

    def _by_oid(self, oid: str | None) -> _Order | None:
        if oid is None:
            return None
        for o in self._orders.values():
            if o.order_index == oid:
                return o
        return None

    def _record(self, coi: int, report: OrderStatusReport) -> bool:
        """Keeps an order's latest state; True when it changed."""
        order = self._orders.get(coi)
        if order is None:
            return True
        changed = order.report is None or (
            order.report.status,
            order.report.filled,
            order.report.price,
            order.report.size,
        ) != (report.status, report.filled, report.price, report.size)
        if (
            order.report is not None
            and order.report.status.is_terminal
            and not report.status.is_terminal
        ):
            return False  # a stale row after the final state
        order.report = report
        order.status = report.status
        order.order_index = report.venue_order_id
        order.changed.set()
        return changed

    # -------------------------------------------------------------------------------- reads
    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills since ``since_ns`` (``trades`` of the account, per market; the markets
        traded when none is named), oldest first."""
        symbols = [symbol] if symbol is not None else sorted(self._traded or self._infos)
        out: list[Fill] = []
        for sym in symbols:
            out += await self._trade_fills(sym, since_ms=since_ns // MS)
        out = [f for f in out if f.ts_ns >= since_ns]
        return sorted(out, key=lambda f: (f.ts_ns, int(f.trade_id)))

    async def _trade_fills(
        self, symbol: str, order_index: str | None = None, since_ms: int = 0
    ) -> list[Fill]:
        """Our fills in ``symbol`` (of one order, or all), newest pages first, following the
        venue's cursor back to ``since_ms`` (at most ``_PAGES`` pages of ``_LIMIT``)."""
        inst = self._instruments[symbol]
        params: dict[str, str | int] = {
            "account_index": self.account_index, "market_id": inst.market_id,
            "sort_by": "timestamp", "sort_dir": "desc", "limit": _LIMIT,
        }  # fmt: skip
        if order_index is not None:
            params["order_index"] = order_index
        out: list[Fill] = []
        for _ in range(_PAGES):
            body = await self.http.get("trades", params, auth=self._auth())
            rows = list(body.get("trades") or ())
            for row in rows:
                f = parse.fill_from_trade(
                    self._name, row, symbol, self.account_index, self._client_id_of, self.quirks
                )
                if f is not None and (order_index is None or f.venue_order_id == order_index):
                    out.append(f)
            cursor = body.get("next_cursor")
            oldest = min((parse.ts_ns(r.get("timestamp")) for r in rows), default=0) // MS
            if not cursor or len(rows) < _LIMIT or oldest < since_ms:
                break
            params["cursor"] = str(cursor)
        return out

    async def _take_order_fills(self, symbol: str, report: OrderStatusReport) -> None:
        if report.filled <= 0:
            return
        try:
            fills = await self._trade_fills(symbol, report.venue_order_id)
        except VenueError as exc:
            log.warning("%s: fills of %s not read: %s", self._name, report.venue_order_id, exc)
            return
        for f in sorted(fills, key=lambda f: (f.ts_ns, int(f.trade_id))):
            self._take_fill(f)

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order still resting (``accountActiveOrders`` of each market), oldest
        first."""
        symbols = [symbol] if symbol is not None else sorted(self._instruments)
        out: list[OrderStatusReport] = []
        for sym in symbols:
            body = await self.http.get(
                "accountActiveOrders",
                {"account_index": self.account_index,
                 "market_id": self._instruments[sym].market_id},
                auth=self._auth(),
            )  # fmt: skip
            out += [
                parse.order_report(self._name, r, sym, self._client_id_of)
                for r in body.get("orders") or ()
            ]
        return sorted(out, key=lambda r: (r.ts_ns, r.venue_order_id))

    async def _account_row(self) -> dict[str, Any]:
        body = await self.http.get("account", {"by": "index", "value": self.account_index})
        rows = body.get("accounts") or []
        if not rows:
            raise OrderRejectedError(self._name, f"no account {self.account_index}")
        return dict(rows[0])

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position (``account``), with the venue's liquidation price."""
        row = await self._account_row()
        return parse.positions(
            self._name, list(row.get("positions") or ()), self._by_market, self._clock.now_ns()
        )

    async def account(self) -> AccountState:
        """Collateral and cross margins (``account``)."""
        fractions = {i.market_id: i.maintenance_margin_fraction for i in self._instruments.values()}
        return parse.account_state(
            self._name, await self._account_row(), self._clock.now_ns(), fractions
        )

    async def funding_rates(self) -> dict[str, FundingRate]:
        """Every perpetual's current hourly rate (``funding-rates``, Lighter's own rows)."""
        body = await self.http.get("funding-rates")
        now = self._clock.now_ns()
        out: dict[str, FundingRate] = {}
        for r in body.get("funding_rates") or ():
            if str(r.get("exchange", "lighter")) != "lighter":
                continue
            sym = self._by_market.get(int(r.get("market_id", -1)))
            if sym is not None:
                out[sym] = parse.funding_rate(self._name, r, sym, now, self.quirks)
        return out

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding booked on our positions since ``since_ns`` (``positionFunding``), oldest
        first."""
        body = await self.http.get(
            "positionFunding", {"account_index": self.account_index, "limit": _LIMIT},
            auth=self._auth(),
        )  # fmt: skip
        out = []
        for r in body.get("position_fundings") or ():
            sym = self._by_market.get(int(r.get("market_id", -1)))
            if sym is not None:
                out.append(parse.funding_payment(self._name, r, sym, self.quirks))
        return sorted((p for p in out if p.ts_ns >= since_ns), key=lambda p: p.ts_ns)

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol`` (the position's initial margin fraction; the
        market's default without a position).

        Raises:
            KeyError: Unknown symbol.
        """
        inst = self._instruments[symbol]
        row = await self._account_row()
        for r in row.get("positions") or ():
            if int(r.get("market_id", -1)) == inst.market_id:
                imf = dec(r.get("initial_margin_fraction") or "0")
                if imf > 0:
                    return parse.whole(Decimal(100) / imf)
        dimf = inst.default_initial_margin_fraction
        return parse.whole(Decimal(10_000) / dimf) if dimf > 0 else Decimal(1)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s (cross) leverage: UpdateLeverage with the initial margin fraction
        10,000 / leverage.

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Not a leverage whose fraction is a whole
                number, above the market's cap (nothing sent), or refused by the venue.
        """
        inst = self._instruments[symbol]
        if leverage <= 0:
            raise LeverageRejectedError(self._name, f"leverage {leverage} is not positive")
        fraction = Decimal(10_000) / leverage
        if fraction != fraction.to_integral_value():
            raise LeverageRejectedError(
                self._name, f"leverage {leverage} is not 10000 / a whole fraction"
            )
        if inst.min_initial_margin_fraction and fraction < inst.min_initial_margin_fraction:
            raise LeverageRejectedError(
                self._name,
                f"leverage {leverage} is above {symbol}'s cap "
                f"{Decimal(10_000) / inst.min_initial_margin_fraction}",
            )

        def sign(nonce: int) -> Awaitable[SignedTx]:
            return self._signer.sign(
                self._signer.update_leverage, market_index=inst.market_id,
                initial_margin_fraction=int(fraction), cross=True, nonce=nonce,
            )  # fmt: skip

        try:
            await self._send(sign)
        except OrderRejectedError as exc:
            raise LeverageRejectedError(self._name, exc.message, exc.code) from None
        # the tx is accepted; the sequencer applies it a moment later: wait until it shows
        deadline = time.monotonic() + self.ack_timeout_s
        while time.monotonic() < deadline:
            if await self.leverage(symbol) == leverage:
                break
            await asyncio.sleep(0.05)
        else:
            log.warning("%s: leverage %s of %s not shown yet", self._name, leverage, symbol)
        return leverage

    # ------------------------------------------------------------------------------ streams
    def _on_state(self, up: bool) -> None:
        self._deliver(StreamStatus(self._name, up, self._clock.now_ns()))
        if not up:
            for sym in self.symbols:
                self._books[sym].clear()
            self._book_nonce.clear()

    def _on_book(self, market_id: int, msg: dict[str, Any], snapshot: bool) -> None:
        sym = self._by_market.get(market_id)
        if sym is None:
            return
        ob = msg.get("order_book") or {}
        book = self._books[sym]
        now = self._clock.now_ns()
        nonce = ob.get("nonce")
        chain = self.quirks.book_chain
        if snapshot:
            book.apply_snapshot(
                [(lv["price"], lv["size"]) for lv in ob.get("bids") or ()],
                [(lv["price"], lv["size"]) for lv in ob.get("asks") or ()],
                now,
            )
            self._book_nonce[market_id] = int(ob.get("offset" if chain == "offset" else "nonce", 0))
            return
        last = self._book_nonce.get(market_id)
        if last is None:
            return  # waiting for the snapshot of a resubscription
        if chain == "begin_nonce":
            ok = int(ob.get("begin_nonce", -1)) == last
            nxt = int(nonce or 0)
        elif chain == "offset":
            nxt = int(ob.get("offset", -1))
            ok = nxt == last + 1
        else:
            ok, nxt = True, last
        if not ok:
            log.warning("%s: %s book chain broken; resubscribing", self._name, sym)
            self.resyncs += 1
            book.clear()
            self._book_nonce[market_id] = None
            if self.stream is not None:
                self.stream.resubscribe_book(market_id)
            return
        self._book_nonce[market_id] = nxt
        for side, key in (("bid", "bids"), ("ask", "asks")):
            for lv in ob.get(key) or ():
                book.apply_delta(side, lv["price"], lv["size"], now)

    def _on_account(self, msg: dict[str, Any]) -> None:
        if "orders" in msg:
            for market, rows in (msg.get("orders") or {}).items():
                sym = self._by_market.get(int(market))
                if sym is None:
                    continue
                for row in rows:
                    self._on_order_row(sym, row)
        if "trades" in msg:
            for market, rows in (msg.get("trades") or {}).items():
                sym = self._by_market.get(int(market))
                if sym is None:
                    continue
                for row in sorted(rows, key=lambda r: int(r.get("trade_id", 0))):
                    f = parse.fill_from_trade(
                        self._name, row, sym, self.account_index, self._client_id_of,
                        self.quirks,
                    )  # fmt: skip
                    if f is not None:
                        self._take_fill(f)

    def _on_order_row(self, symbol: str, row: dict[str, Any]) -> None:
        report = parse.order_report(self._name, row, symbol, self._client_id_of)
        coi = int(row.get("client_order_index") or 0)
        if not self._record(coi, report):
            return
        self._deliver(OrderUpdate(self._name, symbol, report.client_id, report.venue_order_id,
                                  report.status, report.filled, report.ts_ns,
                                  report.reason))  # fmt: skip

    def _take_fill(self, f: Fill) -> None:
        if not self._seen.add(int(f.trade_id)):
            return
        if f.ts_ns // MS < self._start_ms - 1000:
            return  # before we started: history, not news
        self._fills_since_ms = max(self._fills_since_ms, f.ts_ns // MS)
        self._deliver(f)

    async def _reconcile(self) -> None:
        """After each (re)connect: the account's trades of every market traded (fills missed
        while down, delivered once), then every order of ours not final yet."""
        for sym in sorted(self._traded):
            fills = await self._trade_fills(sym, since_ms=max(0, self._fills_since_ms - 1000))
            for f in sorted(fills, key=lambda f: (f.ts_ns, int(f.trade_id))):
                self._take_fill(f)
        for o in [o for o in self._orders.values() if not o.status.is_terminal][:100]:
            before = o.report
            report = await self._status(o.symbol, o.coi, o.order_index)
            if (
                report is not None
                and report is not before
                and (
                    before is None
                    or report.status is not before.status
                    or report.filled != before.filled
                )
            ):
                self._deliver(OrderUpdate(self._name, o.symbol, o.client_id,
                                          report.venue_order_id, report.status, report.filled,
                                          report.ts_ns, report.reason))  # fmt: skip

    async def _dead_man_loop(self, ahead_s: float) -> None:
        """Keeps a scheduled cancel-all ``ahead_s`` ahead while connected, refreshed every
        third of it."""
        while True:
            try:
                if self.stream is not None:
                    await self.stream.client.wait_ready(ahead_s / 3)
            except VenueNotReadyError:
                continue
            # the venue wants at least 5 min ahead when the tx is sequenced: 10 s of slack
            at = time.time_ns() // MS + max(int(ahead_s * 1000), _MIN_DEAD_MAN_MS + 10_000)

            def sign(nonce: int, at: int = at) -> Awaitable[SignedTx]:
                return self._signer.sign(
                    self._signer.cancel_all, time_in_force=wire.CANCEL_ALL_SCHEDULED,
                    time_ms=at, nonce=nonce,
                )  # fmt: skip

            try:
                await self._send(sign)
                self.dead_man_until_ms = at
            except VenueError as exc:
                log.warning("%s: scheduled cancel-all not armed: %s", self._name, exc)
            await asyncio.sleep(ahead_s / 3)

    def __repr__(self) -> str:
        return (
            f"LighterVenue(name={self._name!r}, url={self.base_url!r}, "
            f"account_index={self.account_index}, api_key_index={self.api_key_index})"
        )
