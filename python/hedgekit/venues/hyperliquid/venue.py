"""The Hyperliquid adapter: :class:`HyperliquidVenue`, a :class:`~hedgekit.venues.Venue`.

Orders go over the WebSocket (``post``), each with its own timeout; REST ``/exchange`` is the
fallback while the socket is not ready. An answer that never comes is **ambiguous**: the order
is looked up by its client order id (``orderStatus``) before anything is concluded. Every read
and every subscription uses the account's address (the master, or the vault acted for), never
the agent wallet that signs.

After every (re)connect the socket resubscribes and then reconciles before it is ready: fills
since the last one seen are read with ``userFillsByTime`` (and the ``userFills`` snapshot is
deduplicated by trade id, so a fill is delivered once however many ways it arrives), and every
order still open on our side gets a status query.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import OrderBook
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    InvalidArgumentError,
    LeverageRejectedError,
    OrderRejectedError,
    VenueError,
    VenueNotReadyError,
)
from hedgekit.model import (
    AccountState,
    CancelResult,
    Fill,
    FundingPayment,
    FundingRate,
    Liquidation,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    OrderUpdate,
    Position,
    Side,
    StreamStatus,
    TimeInForce,
)
from hedgekit.risk.funding import FundingSchedule
from hedgekit.risk.tiers import MarginTable
from hedgekit.secrets import Secret
from hedgekit.venues._local import LocalState, SeenKeys
from hedgekit.venues.base import InstrumentInfo
from hedgekit.venues.hyperliquid import parse, wire
from hedgekit.venues.hyperliquid.http import HyperliquidHttp
from hedgekit.venues.hyperliquid.signing import ActionSigner
from hedgekit.venues.hyperliquid.ws import HyperliquidStream
from hedgekit.venues.numbers import cancel_result_from, protection_price
from hedgekit.venues.transport import Backoff, EventQueue

__all__ = ["HyperliquidCredentials", "HyperliquidVenue"]

log = logging.getLogger("hedgekit.hyperliquid")

MS = 1_000_000
_SEEN_TRADES = 10_000
_FILL_PAGE = 500  # the most rows a time-range read returns (venues.md §1.3)
_FILL_PAGES = 20
_MARKET_SLIPPAGE = Decimal("0.05")  # the SDK's default protection for a market order
_FOREIGN = "oid:"  # prefix of the client id given to an order that carries no cloid


@dataclass(frozen=True, slots=True)
class HyperliquidCredentials:
    """Who trades.

    Attributes:
        key: The signer's private key: an agent (API) wallet approved by the account, or the
            account's own key.
        account: The account's (master) address: every read and subscription uses it (an
            agent's address shows an empty account).
        vault_address: A vault or sub-account the orders are for; reads then use it too.
    """

    key: Secret
    account: str
    vault_address: str | None = None

    def __repr__(self) -> str:
        return (
            f"HyperliquidCredentials(key={self.key!r}, account={self.account!r}, "
            f"vault_address={self.vault_address!r})"
        )


@dataclass(slots=True)
class _Order:
    symbol: str
    client_id: str
    cloid: str
    oid: int | None
    status: OrderStatus
    size: Decimal
    side: Side


class HyperliquidVenue(LocalState):
    """Hyperliquid perpetuals as a :class:`~hedgekit.venues.Venue`.

    Args:
        base_url: The REST base (``hedgekit.venues.hyperliquid.wire.MAINNET_URL``, testnet, or
            a fake's); the WebSocket is ``<base>/ws``.
        credentials: Signer, account and vault.
        symbols: The coins whose books are kept (``l2Book`` subscriptions); default none.
        name: The venue's name in every value it reports.
        clock: Stamps local events (default: the loop's clock).
        request_timeout_s: How long an order, cancel or read waits for its answer.
        ready_timeout_s: How long :meth:`connect` waits for the first connection.
        gate_timeout_s: How long an action waits for a reconnecting socket to be ready again
            (resubscribed and reconciled) before it goes by REST instead.
        dead_man_s: The dead-man switch: while connected, every open order is scheduled to be
            cancelled this far ahead (``scheduleCancel``, refreshed at a third of it), so a
            process that dies leaves nothing resting for longer. ``None`` disables it.
        placement_window_s: The deadline stamped on every placement and modify
            (``expiresAfter``: the nonce plus this): the venue refuses such an action once its
            time is past it, so a request that stalls on its way can never execute later. The
            default, 4 s, is long enough for any healthy round trip (including a wait of up to
            ``gate_timeout_s`` for the socket, which happens after signing), and short enough
            that a stalled order is refused rather than executed long after its answer was
            given up: a session believes "no such order" only once this window, plus a
            margin, has passed (:attr:`placement_window_ns`). A refused stale action costs the
            address 5x the rate-limit weight of a fresh one. ``None`` or 0: no deadline, and
            the venue states no window. Cancels and every other action never carry one. A
            window no longer than ``gate_timeout_s`` is refused (``InvalidArgumentError``).
        backoff: Delays between reconnects.
        silence_timeout_s: A socket silent this long is replaced.
        keepalive_s: Quiet time before our ``{"method":"ping"}``.
    """

    def __init__(
        self,
        base_url: str,
        credentials: HyperliquidCredentials,
        *,
        symbols: tuple[str, ...] = (),
        name: str = "hyperliquid",
        clock: Clock | None = None,
        request_timeout_s: float = 5.0,
        ready_timeout_s: float = 10.0,
        gate_timeout_s: float = 2.0,
        dead_man_s: float | None = 60.0,
        placement_window_s: float | None = 4.0,
        backoff: Backoff | None = None,
        silence_timeout_s: float = 65.0,
        keepalive_s: float = 50.0,
    ) -> None:
        self._name = name
        self.base_url = base_url.rstrip("/")
        self.user = (credentials.vault_address or credentials.account).lower()
        self._signer = ActionSigner(
            credentials.key,
            vault_address=credentials.vault_address,
            is_mainnet=self.base_url == wire.MAINNET_URL,
        )
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.request_timeout_s = request_timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.gate_timeout_s = gate_timeout_s
        if dead_man_s is not None and dead_man_s < 5:
            raise InvalidArgumentError("the venue needs a scheduled cancel at least 5 s ahead")
        self.dead_man_s = dead_man_s
        if placement_window_s is not None and placement_window_s < 0:
            raise InvalidArgumentError(
                f"placement_window_s must be >= 0 or None, got {placement_window_s}"
            )
        if placement_window_s and placement_window_s <= gate_timeout_s:
            # An order signed as the socket drops waits up to gate_timeout_s before it goes by
            # REST: a window no longer than that expires it on its way, every time.
            raise InvalidArgumentError(
                f"placement_window_s ({placement_window_s}) must be longer than gate_timeout_s "
                f"({gate_timeout_s}): an order waiting for a reconnecting socket would expire"
            )
        self._window_ms: int | None = (
            max(1, round(placement_window_s * 1000)) if placement_window_s else None
        )
        self.symbols = tuple(symbols)
        self.http = HyperliquidHttp(name, self.base_url, timeout_s=request_timeout_s)
        self.stream = HyperliquidStream(
            name,
            wire.ws_url(self.base_url),
            self._subscriptions,
            self._on_book,
            self._on_channel,
            reconcile=self._reconcile,
            on_state=self._on_state,
            silence_timeout_s=silence_timeout_s,
            keepalive_s=keepalive_s,
            backoff=backoff,
        )
        self._assets: dict[str, parse.Asset] = {}
        self._infos: dict[str, InstrumentInfo] = {}
        self._books: dict[str, OrderBook] = {}
        self._subs: list[EventQueue] = []
        self._orders: dict[str, _Order] = {}  # by cloid
        self._cloid_of_oid: dict[int, str] = {}
        self._seen = SeenKeys(_SEEN_TRADES)
        self._fills_since_ms = 0
        self._start_ms = 0
        self._leverage: dict[str, Decimal] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dead_man: asyncio.Task[None] | None = None
        self._connected = False
        self.posted = 0
        """Actions sent over the WebSocket."""
        self.rest_actions = 0
        """Actions sent over REST (the socket was not ready)."""
        self.resolved = 0
        """Placements whose lost answer a status query resolved."""
        self.dead_man_until_ms: int | None = None
        """When the venue will cancel every open order unless the switch is refreshed (wall
        ms), ``None`` before it is first armed."""

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    @property
    def supports_modify(self) -> bool:
        """True: a modify is a cancel-replace whose answer names the new order id."""
        return True

    @property
    def placement_window_ns(self) -> int | None:
        """How long after it is signed and sent a placement or modify can still take effect
        (the ``expiresAfter`` deadline it carries, ``placement_window_s``); ``None``: no
        deadline is stamped, so no bound. A session waits this long, plus a margin, before it
        believes a status query that finds no order
        (:data:`hedgekit.tracking.PLACEMENT_WINDOW_MARGIN_NS`, 1 s)."""
        return None if self._window_ms is None else self._window_ms * MS

    @property
    def ready(self) -> bool:
        """True while the socket is connected, subscribed and reconciled."""
        return self.stream.ready

    async def connect(self) -> None:
        """Loads instruments and fees, then starts the socket and waits until it is ready.

        Raises:
            hedgekit.errors.VenueError: ``meta`` could not be read.
            hedgekit.errors.VenueNotReadyError: The socket was not ready within
                ``ready_timeout_s`` (it keeps trying; orders go by REST meanwhile).
        """
        if self._connected:
            return
        meta = await self.http.info({"type": "meta"})
        try:
            fees = await self.http.info({"type": "userFees", "user": self.user})
        except VenueError as exc:
            log.warning("%s: userFees unavailable (%s); tier-0 fees assumed", self._name, exc)
            fees = None
        self._assets = parse.assets(self._name, meta, fees if isinstance(fees, dict) else None)
        self._infos = {sym: a.info for sym, a in self._assets.items()}
        for sym in self._infos:
            self._books.setdefault(sym, OrderBook(self._name, sym))
        self._start_ms = self._fills_since_ms = time.time_ns() // MS
        self._connected = True
        await self.stream.start()
        if self.dead_man_s is not None:
            self._dead_man = asyncio.ensure_future(self._dead_man_loop(self.dead_man_s))
        await self.stream.client.wait_ready(self.ready_timeout_s)

    async def close(self) -> None:
        """Stops the socket, the dead-man refresh and every owned task (idempotent); the
        dead-man switch is left armed (orders still resting are cancelled at its time)."""
        self._connected = False
        tasks = [t for t in (self._dead_man, *self._tasks) if t is not None]
        self._dead_man = None
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self.stream.close()
        await self.http.close()
        for sub in list(self._subs):
            sub.close()

    async def __aenter__(self) -> HyperliquidVenue:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --------------------------------------------------------------------------- local state
    def margin_table(self, symbol: str) -> MarginTable | None:
        """``symbol``'s maintenance tiers from ``meta``.

        Raises:
            KeyError: Unknown symbol.
        """
        return self._assets[symbol].margin_table

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """Hourly, on the hour.

        Raises:
            KeyError: Unknown symbol.
        """
        self._assets[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        return FundingSchedule.hyperliquid()

    # ------------------------------------------------------------------------------- orders
    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order (see :class:`~hedgekit.venues.Venue`).

        A market order is an IOC at the protection price (``request.price``, or the book's mid
        ±5 % rounded outwards). The order is checked against the instrument's rules before
        anything is sent.

        Raises:
            hedgekit.errors.InvalidOrderError: Not placeable (off grid, below minimum); nothing
                sent.
            hedgekit.errors.OrderRejectedError: The venue refused it (definitive).
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the status query did not
                find the order either.
        """
        asset = self._assets[request.symbol]
        price = self._limit_price(request)
        tif = TimeInForce.IOC if request.order_type is OrderType.MARKET else request.tif
        asset.info.rules.check(price, request.size, request.reduce_only)
        cloid = wire.cloid_for(request.client_id)
        self._orders[cloid] = _Order(
            request.symbol,
            request.client_id,
            cloid,
            None,
            OrderStatus.OPEN,
            request.size,
            request.side,
        )
        order = wire.order_wire(
            asset.asset_id,
            request.side,
            price,
            request.size,
            reduce_only=request.reduce_only,
            tif=tif,
            cloid=cloid,
        )
        try:
            statuses = await self._action(wire.order_action([order]), deadline=True)
        except AmbiguousOutcomeError as exc:
            return await self._resolve_place(request, cloid, exc)
        except VenueError:
            self._orders.pop(cloid, None)
            raise
        return self._ack(request.client_id, cloid, request.size, statuses[0], tif)

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels by client id (``cancelByCloid``) or venue id (``cancel``).

        The venue answers one text for a filled, a cancelled and an unknown order; a status
        query then tells them apart (``ALREADY_FILLED``: the fill is on its way).

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the status query shows the
                order still open.
        """
        asset = self._assets[symbol]
        oid, cloid = self._ids(client_id, venue_order_id)
        if oid is not None:
            action = wire.cancel_action(asset.asset_id, oid)
        elif cloid is not None:
            action = wire.cancel_by_cloid_action(asset.asset_id, cloid)
        else:
            raise InvalidArgumentError("cancel needs a client id or a venue order id")
        try:
            statuses = await self._action(action)
        except AmbiguousOutcomeError:
            report = await self._status(symbol, oid, cloid)
            if report is None or not report.status.is_terminal:
                raise
            return cancel_result_from(report, cancelled_by_us=True)
        first = statuses[0]
        if first == "success":
            self._set_status(cloid, oid, OrderStatus.CANCELLED)
            return CancelResult.CANCELLED
        text = first.get("error", "") if isinstance(first, dict) else str(first)
        if parse.MISSING_ORDER not in text:
            raise parse.error_for(self._name, text)
        report = await self._status(symbol, oid, cloid)
        if report is None:
            return CancelResult.FAILED
        return cancel_result_from(report, cancelled_by_us=False)

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Cancel-replaces a resting order (``batchModify``); the answer's order id is the
        order's id from now on, the client id stays.

        Raises:
            hedgekit.errors.OrderRejectedError: Refused; the original order stays.
            hedgekit.errors.AmbiguousOutcomeError: No answer.
        """
        asset = self._assets[symbol]
        cloid = wire.cloid_for(client_id)
        known = self._orders.get(cloid)
        if known is None:
            report = await self._status(symbol, None, cloid)
            if report is None:
                raise OrderRejectedError(self._name, f"no order {client_id} to modify")
            known = _Order(symbol, client_id, cloid, int(report.venue_order_id), report.status,
                           report.size, report.side)  # fmt: skip
            self._orders[cloid] = known
        asset.info.rules.check(price, size, False)
        order = wire.order_wire(
            asset.asset_id,
            known.side,
            price,
            size,
            reduce_only=False,
            tif=TimeInForce.GTC,
            cloid=cloid,
        )
        target: int | str = known.oid if known.oid is not None else cloid
        statuses = await self._action(wire.modify_action(target, order), deadline=True)
        ack = self._ack(client_id, cloid, size, statuses[0], TimeInForce.GTC, placing=False)
        known.size = size
        return ack

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The venue's view of one order (by oid, or by cloid), ``None`` when unknown.

        For an order that is no longer simply resting, its fills are read too (``userFills``):
        the venue's ``origSz - sz`` is only as fresh as the order's last status change, so the
        filled size and average price come from the fills themselves.
        """
        oid, cloid = self._ids(client_id, venue_order_id)
        report = await self._status(symbol, oid, cloid)
        if report is None or report.status is OrderStatus.OPEN:
            return report
        rows = await self.http.info({"type": "userFills", "user": self.user})
        own = [
            parse.fill(self._name, f, self._client_id_of)
            for f in rows
            if str(f.get("oid")) == report.venue_order_id
        ]
        own.sort(key=lambda f: (f.ts_ns, int(f.trade_id)))
        if not own:
            filled = report.size if report.status is OrderStatus.FILLED else Decimal(0)
            return dataclasses.replace(report, filled=filled)
        filled = sum((f.size for f in own), Decimal(0))
        avg = sum((f.price * f.size for f in own), Decimal(0)) / filled
        return dataclasses.replace(report, filled=filled, avg_price=avg, fills=tuple(own))

    # -------------------------------------------------------------------------------- reads
    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills since ``since_ns`` (``userFillsByTime``, paged), oldest first."""
        rows = await self._fill_rows(since_ns // MS)
        out = [parse.fill(self._name, f, self._client_id_of) for f in rows]
        out = [f for f in out if (symbol is None or f.symbol == symbol) and f.ts_ns >= since_ns]
        return sorted(out, key=lambda f: (f.ts_ns, int(f.trade_id)))

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order of the account still resting (``frontendOpenOrders``), oldest first:
        what a process that did not place them learns them from."""
        rows = await self.http.info({"type": "frontendOpenOrders", "user": self.user})
        out = [parse.open_order(self._name, r, self._client_id_of) for r in rows]
        out = [r for r in out if symbol is None or r.symbol == symbol]
        return sorted(out, key=lambda r: (r.ts_ns, int(r.venue_order_id)))

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position (``clearinghouseState``), with the venue's liquidation
        price and leverage."""
        return parse.positions(self._name, await self._clearinghouse())

    async def account(self) -> AccountState:
        """Collateral and margins (``clearinghouseState``, cross margin)."""
        return parse.account_state(self._name, await self._clearinghouse())

    async def funding_rates(self) -> dict[str, FundingRate]:
        """Every perpetual's current hourly rate (``metaAndAssetCtxs``)."""
        answer = await self.http.info({"type": "metaAndAssetCtxs"})
        return parse.funding_rates(self._name, answer, time.time_ns() // MS)

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding booked on our positions since ``since_ns`` (``userFunding``), oldest
        first."""
        rows = await self.http.info(
            {"type": "userFunding", "user": self.user, "startTime": since_ns // MS}
        )
        out = [parse.funding_payment(self._name, r) for r in rows]
        return sorted((p for p in out if p.ts_ns >= since_ns), key=lambda p: p.ts_ns)

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol``: the position's, else the last one we set, else the
        venue's default (20, or the asset's cap when lower).

        Raises:
            KeyError: Unknown symbol.
        """
        asset = self._assets[symbol]
        pos = parse.positions(self._name, await self._clearinghouse()).get(symbol)
        if pos is not None and pos.leverage is not None:
            return pos.leverage
        return self._leverage.get(symbol, Decimal(min(20, asset.max_leverage)))

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s cross leverage (``updateLeverage``).

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Not a whole number from 1 to the asset's
                cap (nothing sent), or refused by the venue.
        """
        asset = self._assets[symbol]
        if leverage != leverage.to_integral_value() or not 1 <= leverage <= asset.max_leverage:
            raise LeverageRejectedError(
                self._name, f"leverage {leverage} outside 1..{asset.max_leverage} for {symbol}"
            )
        action = wire.update_leverage_action(asset.asset_id, int(leverage))
        await self._action(action, leverage=True)
        self._leverage[symbol] = Decimal(int(leverage))
        return self._leverage[symbol]

    # ----------------------------------------------------------------------------- plumbing
    async def _action(
        self, action: dict[str, Any], *, leverage: bool = False, deadline: bool = False
    ) -> list[Any]:
        """Signs and sends an action; its per-item statuses (``[]`` for a default answer).

        ``deadline``: the action places or modifies an order, and carries the placement
        window's ``expiresAfter`` (a cancel never does: it must never expire). It is signed
        before any wait for the socket, so the deadline counts from when the order was handed
        to us. Over the socket when it is ready (or becomes ready within ``gate_timeout_s``),
        else by REST, the same signed body either way. A whole-request error raises
        (definitive; a stale action is ``OrderRejectedError`` with reason ``"expired"``)."""
        body = self._signer.sign(action, expires_in_ms=self._window_ms if deadline else None)
        answer: Any
        try:
            if not self.stream.ready:
                await self.stream.client.wait_ready(self.gate_timeout_s)
            self.posted += 1
            response = await self.stream.post("action", body, self.request_timeout_s)
        except VenueNotReadyError:
            # nothing was sent on the socket: REST is safe
            self.posted -= 1
            self.rest_actions += 1
            answer = await self.http.exchange(body)
        else:
            if not isinstance(response, dict):
                raise AmbiguousOutcomeError(self._name, f"post answer unreadable: {response!r}")
            if response.get("type") == "error":
                raise parse.error_for(self._name, str(response.get("payload")), leverage=leverage)
            answer = response.get("payload")
        if not isinstance(answer, dict):
            raise AmbiguousOutcomeError(self._name, f"answer unreadable: {answer!r}")
        if answer.get("status") != "ok":
            raise parse.error_for(self._name, str(answer.get("response")), leverage=leverage)
        data = (answer.get("response") or {}).get("data") or {}
        statuses = data.get("statuses") or []
        if leverage and statuses and isinstance(statuses[0], dict) and "error" in statuses[0]:
            raise parse.error_for(self._name, str(statuses[0]["error"]), leverage=True)
        return list(statuses)

    def _ack(
        self,
        client_id: str,
        cloid: str,
        size: Decimal,
        status: Any,
        tif: TimeInForce,
        *,
        placing: bool = True,
    ) -> OrderAck:
        """The answer for one order; an error raises (a refused placement is forgotten, a
        refused modify leaves the original order as it was)."""
        now = self._clock.now_ns()
        if isinstance(status, dict) and "resting" in status:
            oid = int(status["resting"]["oid"])
            self._track(cloid, oid, OrderStatus.OPEN)
            return OrderAck(client_id, str(oid), OrderStatus.OPEN, Decimal(0), now)
        if isinstance(status, dict) and "filled" in status:
            f = status["filled"]
            oid = int(f["oid"])
            filled = parse.dec(f["totalSz"])
            if filled >= size:
                st = OrderStatus.FILLED
            elif tif is TimeInForce.IOC:
                st = OrderStatus.EXPIRED
            else:
                st = OrderStatus.PARTIALLY_FILLED
            self._track(cloid, oid, st)
            return OrderAck(client_id, str(oid), st, filled, now)
        text = status.get("error", "") if isinstance(status, dict) else str(status)
        if text.startswith("Order could not immediately match"):
            # An IOC that met nothing: accepted and expired at once, no order id.
            self._set_status(cloid, None, OrderStatus.EXPIRED)
            return OrderAck(client_id, cloid, OrderStatus.EXPIRED, Decimal(0), now)
        if placing:
            self._orders.pop(cloid, None)
        raise parse.error_for(self._name, text)

    async def _resolve_place(
        self, request: OrderRequest, cloid: str, exc: AmbiguousOutcomeError
    ) -> OrderAck:
        """The answer to a placement was lost: ask the venue for the order by its cloid."""
        for attempt in range(3):
            try:
                report = await self._status(request.symbol, None, cloid)
            except AmbiguousOutcomeError:
                report = None
            if report is not None:
                log.info("%s: lost answer to %s resolved: %s", self._name, cloid, report.status)
                self.resolved += 1
                self._track(cloid, int(report.venue_order_id), report.status)
                return OrderAck(
                    request.client_id,
                    report.venue_order_id,
                    report.status,
                    report.filled,
                    report.ts_ns,
                )
            await asyncio.sleep(0.2 * (attempt + 1))
        raise exc

    async def _status(
        self, symbol: str, oid: int | None, cloid: str | None
    ) -> OrderStatusReport | None:
        key: int | str | None = oid if oid is not None else cloid
        if key is None:
            raise InvalidArgumentError("a status query needs a client id or a venue order id")
        answer = await self.http.info({"type": "orderStatus", "user": self.user, "oid": key})
        report = parse.status_report(self._name, answer, self._client_id_of)
        if report is not None:
            c = self._cloid_of_oid.get(int(report.venue_order_id)) or cloid
            if c is not None and c in self._orders:
                self._set_status(c, int(report.venue_order_id), report.status)
        return report

    def _ids(
        self, client_id: str | None, venue_order_id: str | None
    ) -> tuple[int | None, str | None]:
        oid: int | None = None
        cloid: str | None = None
        if venue_order_id is not None:
            if venue_order_id.startswith("0x"):
                cloid = venue_order_id.lower()
            else:
                oid = int(venue_order_id)
        if client_id is not None and client_id.startswith(_FOREIGN):
            # An order placed without a cloid (by another program): its id is the venue's.
            tail = client_id[len(_FOREIGN) :]
            if not tail.isdigit():
                raise InvalidArgumentError(f"not a venue order id: {client_id!r}")
            return int(tail), None
        if client_id is not None:
            cloid = wire.cloid_for(client_id)
            known = self._orders.get(cloid)
            if oid is None and known is not None and known.oid is not None:
                oid = known.oid
        return oid, cloid

    def _track(self, cloid: str, oid: int, status: OrderStatus) -> None:
        self._cloid_of_oid[oid] = cloid
        self._set_status(cloid, oid, status)

    def _set_status(self, cloid: str | None, oid: int | None, status: OrderStatus) -> None:
        if cloid is None and oid is not None:
            cloid = self._cloid_of_oid.get(oid)
        known = self._orders.get(cloid) if cloid is not None else None
        if known is None:
            return
        if oid is not None:
            known.oid = oid
            self._cloid_of_oid[oid] = known.cloid
        known.status = status

    def _client_id_of(self, cloid: str | None, oid: int) -> str:
        """Our client id of a venue order: ours by its cloid; another program's cloid as it is;
        ``"oid:<oid>"`` for an order placed without a cloid (which :meth:`cancel` and
        :meth:`order_status` read back as the venue id, never as a cloid to hash)."""
        c = cloid.lower() if cloid else self._cloid_of_oid.get(oid)
        if c is not None:
            known = self._orders.get(c)
            if known is not None:
                return known.client_id
            return c
        return f"{_FOREIGN}{oid}"

    def _limit_price(self, request: OrderRequest) -> Decimal:
        if request.price is not None:
            return request.price
        quote = self.quote(request.symbol)
        if quote is None:
            raise OrderRejectedError(
                self._name, f"no book for {request.symbol}: a market order needs a protection price"
            )
        rules = self._infos[request.symbol].rules
        return protection_price(rules, request.side, quote.mid, _MARKET_SLIPPAGE)

    async def _fill_rows(self, start_ms: int) -> list[dict[str, Any]]:
        """``userFillsByTime`` from ``start_ms`` on, page after page (a time-range answer holds
        at most 500 rows: the next page starts at the last row's time), oldest first, each
        (trade, order) once; at most 20 pages."""
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        start = start_ms
        for _ in range(_FILL_PAGES):
            page = await self.http.info(
                {"type": "userFillsByTime", "user": self.user, "startTime": start}
            )
            for r in page:
                rows.setdefault((int(r["tid"]), int(r["oid"])), r)
            last = max((int(r["time"]) for r in page), default=start)
            if len(page) < _FILL_PAGE or last <= start:
                break
            start = last
        return sorted(rows.values(), key=lambda r: (int(r["time"]), int(r["tid"])))

    async def _clearinghouse(self) -> dict[str, Any]:
        state = await self.http.info({"type": "clearinghouseState", "user": self.user})
        if not isinstance(state, dict):
            raise AmbiguousOutcomeError(self._name, "clearinghouseState unreadable")
        return state

    # ------------------------------------------------------------------------------ streams
    def _subscriptions(self) -> list[dict[str, Any]]:
        subs: list[dict[str, Any]] = [{"type": "l2Book", "coin": c} for c in self.symbols]
        subs += [
            {"type": "orderUpdates", "user": self.user},
            {"type": "userFills", "user": self.user},
            {"type": "userEvents", "user": self.user},
        ]
        return subs

    def _on_state(self, up: bool) -> None:
        if not up:
            for book in self._books.values():
                book.clear()
        self._deliver(StreamStatus(self._name, up, self._clock.now_ns()))

    def _on_book(self, coin: str, payload: memoryview | bytes) -> None:
        book = self._books.get(coin)
        if book is not None:
            book.apply_hyperliquid(payload, self._clock.now_ns())

    def _new_fill(self, f: Fill) -> bool:
        return self._seen.add((int(f.trade_id), int(f.venue_order_id)))

    def _take_fills(self, rows: list[Any]) -> None:
        """Delivers the fills not delivered yet (by trade id and order id); fills from before
        :meth:`connect` are history, not events."""
        for row in rows:
            f = parse.fill(self._name, row, self._client_id_of)
            if not self._new_fill(f) or f.ts_ns // MS < self._start_ms:
                continue
            self._fills_since_ms = max(self._fills_since_ms, f.ts_ns // MS)
            self._deliver(f)
            if row.get("liquidation"):
                self._deliver(
                    Liquidation(self._name, f.symbol, f.side, f.size, f.price, f.ts_ns, f.trade_id)
                )

    def _on_channel(self, channel: str, data: Any) -> None:
        if channel == "userFills":
            # the first message of a subscription repeats recent fills (isSnapshot): only the
            # ones not seen yet are delivered
            self._take_fills(list(data.get("fills") or ()))
        elif channel == "orderUpdates":
            for u in data:
                self._on_order_update(u)
        elif channel == "user":
            if "fills" in data:
                self._take_fills(list(data["fills"]))
            if "funding" in data:
                row = dict(data["funding"])
                row.setdefault("time", time.time_ns() // MS)
                self._deliver(parse.funding_payment(self._name, row))
            for c in data.get("nonUserCancel") or ():
                cloid = self._cloid_of_oid.get(int(c["oid"]))
                known = self._orders.get(cloid) if cloid else None
                if known is not None:
                    known.status = OrderStatus.CANCELLED
                    self._deliver(
                        OrderUpdate(
                            self._name,
                            known.symbol,
                            known.client_id,
                            str(c["oid"]),
                            OrderStatus.CANCELLED,
                            Decimal(0),
                            self._clock.now_ns(),
                            "nonUserCancel",
                        )  # fmt: skip
                    )

    def _on_order_update(self, u: Mapping[str, Any]) -> None:
        o = u["order"]
        oid = int(o["oid"])
        orig = parse.dec(o.get("origSz", o["sz"]))
        remaining = parse.dec(o["sz"])
        status = parse.order_status(str(u["status"]), orig, remaining)
        cloid = o.get("cloid")
        if cloid:
            self._cloid_of_oid.setdefault(oid, str(cloid).lower())
        self._set_status(str(cloid).lower() if cloid else None, oid, status)
        filled = orig if status is OrderStatus.FILLED else orig - remaining
        self._deliver(
            OrderUpdate(
                self._name,
                str(o["coin"]),
                self._client_id_of(cloid, oid),
                str(oid),
                status,
                filled,
                int(u.get("statusTimestamp", o.get("timestamp", 0))) * MS,
                None if status in (OrderStatus.OPEN, OrderStatus.FILLED) else str(u["status"]),
            )
        )

    async def _reconcile(self) -> None:
        """After a (re)subscription: the fills missed while down, and the status of every order
        still open on our side."""
        rows = await self._fill_rows(max(0, self._fills_since_ms - 1000))
        self._take_fills(rows)
        open_orders = [o for o in self._orders.values() if not o.status.is_terminal]
        for o in open_orders[:100]:
            before = o.status
            report = await self._status(o.symbol, o.oid, o.cloid)
            if report is not None and report.status is not before:
                self._deliver(
                    OrderUpdate(
                        self._name,
                        o.symbol,
                        o.client_id,
                        report.venue_order_id,
                        report.status,
                        report.filled,
                        report.ts_ns,
                        report.reason,
                    )  # fmt: skip
                )

    async def _dead_man_loop(self, ahead_s: float) -> None:
        """Keeps the venue's scheduled cancel ``ahead_s`` ahead while connected: armed as soon
        as the socket is ready, refreshed every third of it."""
        while True:
            try:
                await self.stream.client.wait_ready(ahead_s / 3)
            except VenueNotReadyError:
                continue
            at = time.time_ns() // MS + int(ahead_s * 1000)
            try:
                await self._action(wire.schedule_cancel_action(at))
            except VenueError as exc:
                log.warning("%s: dead-man switch not refreshed: %s", self._name, exc)
            else:
                self.dead_man_until_ms = at
            await asyncio.sleep(ahead_s / 3)

    def __repr__(self) -> str:
        return f"HyperliquidVenue(name={self._name!r}, url={self.base_url!r}, user={self.user})"
