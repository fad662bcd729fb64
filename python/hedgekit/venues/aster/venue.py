"""The Aster adapter: :class:`AsterVenue`, a :class:`~hedgekit.venues.Venue`.

Orders go by signed REST (V3 API wallet or V1 API key, by the credentials). An answer that
never comes is **ambiguous**: the order is looked up by its client order id before anything is
concluded. A cancel answered ``-2011 "Unknown order sent."`` (filled, cancelled or unknown: the
venue does not say) is followed by a status query, so a fill in the race is ``ALREADY_FILLED``.

The user-data stream runs on a ``listenKey`` kept alive every 30 minutes and re-created when
the venue says it expired (``listenKeyExpired``, or a keepalive answered -1125/404); after each
(re)connect, fills missed while down are read from ``userTrades`` and open orders from
``openOrders`` before trading resumes. Fills are delivered once, by (order id, trade id),
however many ways they arrive. Books are a REST snapshot plus ``depthUpdate`` diffs, buffered
while a snapshot is read and resynchronised from a fresh snapshot on a gap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit._core import BOOK_GAP, OrderBook
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    InvalidArgumentError,
    InvalidOrderError,
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    UnknownOrderError,
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
)
from hedgekit.risk.funding import FundingSchedule
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues._local import LocalState, SeenKeys
from hedgekit.venues.aster import parse, wire
from hedgekit.venues.aster.http import AsterHttp
from hedgekit.venues.aster.signing import AsterCredentials, signer_for
from hedgekit.venues.aster.ws import AsterStreams
from hedgekit.venues.base import InstrumentInfo
from hedgekit.venues.numbers import cancel_result_from
from hedgekit.venues.transport import Backoff, EventQueue

__all__ = ["AsterVenue"]

log = logging.getLogger("hedgekit.aster")

MS = 1_000_000
_SEEN_TRADES = 10_000
_TRADES_LIMIT = 1000
_FOREIGN = "oid:"
_INVALID_LISTEN_KEY = -1125


def _check_anchor(inst: parse.AsterInstrument, price: Decimal) -> None:
    if not inst.on_grid(price):
        raise InvalidOrderError(
            f"price {price} is off the grid {inst.min_price} + k * {inst.info.rules.tick_size}",
            "off_tick",
            str(price),
        )


@dataclass(slots=True)
class _Order:
    symbol: str
    client_id: str
    coid: str
    oid: int | None
    status: OrderStatus
    size: Decimal
    side: Side
    last_event_ms: int = 0


class AsterVenue(LocalState):
    """Aster perpetual futures as a :class:`~hedgekit.venues.Venue`.

    Args:
        base_url: The REST base (``wire.MAINNET_URL`` or a fake's).
        credentials: V3 (API wallet) or V1 (API key) credentials.
        ws_url: The WebSocket base (default: the REST base's host, as a fake serves both).
        symbols: The symbols whose books are kept; default none.
        name: The venue's name in every value it reports.
        clock: Stamps local events (default: the loop's clock).
        request_timeout_s: How long an order, cancel or read waits for its answer.
        ready_timeout_s: How long :meth:`connect` waits for the user stream.
        gate_timeout_s: How long an order waits for a reconnecting user stream to be ready
            again (reconciled) before it is refused as not ready (nothing sent).
        dead_man_s: ``countdownCancelAll``: while connected, every symbol traded is armed to
            cancel its open orders this far ahead, refreshed at a third of it. ``None``
            disables it.
        listen_key_keepalive_s: Time between ``listenKey`` keepalives (the key lives 60 min).
        backoff: Delays between reconnects.
        silence_timeout_s: A socket silent this long is replaced (the server pings every
            5 minutes).
    """

    def __init__(
        self,
        base_url: str,
        credentials: AsterCredentials,
        *,
        ws_url: str | None = None,
        symbols: tuple[str, ...] = (),
        name: str = "aster",
        clock: Clock | None = None,
        request_timeout_s: float = 5.0,
        ready_timeout_s: float = 10.0,
        gate_timeout_s: float = 2.0,
        dead_man_s: float | None = 120.0,
        listen_key_keepalive_s: float = 1800.0,
        backoff: Backoff | None = None,
        silence_timeout_s: float = 400.0,
    ) -> None:
        self._name = name
        self.base_url = base_url.rstrip("/")
        self._signer = signer_for(credentials)
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.request_timeout_s = request_timeout_s
        self.ready_timeout_s = ready_timeout_s
        self.gate_timeout_s = gate_timeout_s
        if dead_man_s is not None and dead_man_s < 5:
            raise InvalidArgumentError("the dead-man countdown must be at least 5 s")
        self.dead_man_s = dead_man_s
        self.listen_key_keepalive_s = listen_key_keepalive_s
        self.symbols = tuple(symbols)
        self.http = AsterHttp(name, self.base_url, self._signer, timeout_s=request_timeout_s)
        self.streams = AsterStreams(
            name,
            ws_url or self.base_url,
            self.symbols,
            self._on_depth,
            self._on_user_event,
            market_reconcile=self._resync_books,
            user_reconcile=self._reconcile,
            on_state=self._on_state,
            on_market_state=self._on_market_state,
            silence_timeout_s=silence_timeout_s,
            backoff=backoff,
        )
        self._instruments: dict[str, parse.AsterInstrument] = {}
        self._infos: dict[str, InstrumentInfo] = {}
        self._books: dict[str, OrderBook] = {}
        self._tables: dict[str, MarginTable] = {}
        self._subs: list[EventQueue] = []
        self._orders: dict[str, _Order] = {}  # by the venue's client order id
        self._coid_of_oid: dict[int, str] = {}
        self._seen = SeenKeys(_SEEN_TRADES)
        self._buffers: dict[str, list[bytes]] = {}  # diffs held while a snapshot is read
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        self._traded: set[str] = set()
        self._fills_since_ms = 0
        self._start_ms = 0
        self._funding_since_ms = 0
        self._funding_seen = SeenKeys(_SEEN_TRADES)
        self._tasks: set[asyncio.Task[None]] = set()
        self._connected = False
        self.listen_key: str | None = None
        """The user stream's current key."""
        self.listen_keys_created = 0
        """Keys created (the first one included)."""
        self.keepalives = 0
        """Keepalives the venue accepted."""
        self.resolved = 0
        """Placements whose lost answer a status query resolved."""
        self.resyncs = 0
        """Book resynchronisations after a gap."""
        self.dead_man_until_ms: int | None = None
        """When the venue will cancel our open orders unless the switch is refreshed (wall ms),
        ``None`` before it is first armed."""

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    @property
    def supports_modify(self) -> bool:
        """True: ``PUT order`` changes a resting LIMIT order in place (same order id)."""
        return True

    @property
    def ready(self) -> bool:
        """True while the user stream is connected and reconciled."""
        return self.streams.ready

    async def connect(self) -> None:
        """Loads instruments (``exchangeInfo``, ``fundingInfo``, ``leverageBracket``), opens
        the user stream and the books, and waits until the user stream is ready.

        Raises:
            hedgekit.errors.VenueError: ``exchangeInfo`` or the ``listenKey`` could not be had.
            hedgekit.errors.VenueNotReadyError: Not ready within ``ready_timeout_s`` (it keeps
                trying).
        """
        if self._connected:
            return
        info = await self.http.public("exchangeInfo")
        budgets = parse.rate_budgets(info)
        if any(b.name == "ip" for b in budgets):
            self.http.use_budgets(budgets)
        intervals: dict[str, int] = {}
        try:
            for row in await self.http.public("fundingInfo"):
                intervals[str(row["symbol"])] = int(row.get("fundingIntervalHours") or 8)
        except (VenueError, KeyError, TypeError, ValueError) as exc:
            log.warning("%s: fundingInfo unavailable (%s); 8 h assumed", self._name, exc)
        self._instruments = parse.instruments(self._name, info, intervals_h=intervals)
        self._infos = {s: i.info for s, i in self._instruments.items()}
        for sym in self._infos:
            self._books.setdefault(sym, OrderBook(self._name, sym))
        try:
            rows = await self.http.signed("GET", "leverageBracket", [], decimals=True)
            for row in rows:
                sym = str(row.get("symbol"))
                if sym in self._infos:
                    self._tables[sym] = parse.margin_table(row.get("brackets") or ())
        except (VenueError, KeyError, TypeError, ValueError) as exc:
            log.warning("%s: leverageBracket unavailable (%s)", self._name, exc)
        self._start_ms = self._fills_since_ms = time.time_ns() // MS
        await self._new_listen_key()
        self._connected = True
        await self.streams.start()
        self._spawn(self._keepalive_loop())
        if self.dead_man_s is not None:
            self._spawn(self._dead_man_loop(self.dead_man_s))
        await self.streams.user.wait_ready(self.ready_timeout_s)

    async def close(self) -> None:
        """Stops both sockets, the keepalive, the dead-man refresh and every owned task
        (idempotent); the dead-man countdown is left armed."""
        self._connected = False
        tasks = [*self._tasks, *self._resyncs.values()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._resyncs.clear()
        await self.streams.close()
        await self.http.close()
        for sub in list(self._subs):
            sub.close()

    async def __aenter__(self) -> AsterVenue:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --------------------------------------------------------------------------- local state
    def margin_table(self, symbol: str) -> MarginTable | None:
        """``symbol``'s brackets from ``leverageBracket`` (``None`` when it was unreadable).

        Raises:
            KeyError: Unknown symbol.
        """
        self._instruments[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        return self._tables.get(symbol)

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """Every ``fundingIntervalHours`` (8 by default).

        Raises:
            KeyError: Unknown symbol.
        """
        return FundingSchedule.aster(self._infos[symbol].funding_interval_s // 3600)

    # ------------------------------------------------------------------------------- orders
    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order: GTC, GTX (post-only), IOC or MARKET, reduce-only, with our client
        id as ``newClientOrderId``.

        A GTX order that would have crossed comes back EXPIRED unfilled (or -5022): that is a
        :class:`~hedgekit.errors.PostOnlyRejectedError`.

        Raises:
            hedgekit.errors.InvalidOrderError: Not placeable (off grid, below minimum); nothing
                sent.
            hedgekit.errors.VenueNotReadyError: The user stream is reconnecting and was not
                reconciled within ``gate_timeout_s``; nothing sent.
            hedgekit.errors.OrderRejectedError: The venue refused it (definitive).
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the status query did not find
                the order either.
        """
        inst = self._instruments[request.symbol]
        self._check(inst, request)
        await self._gate()
        coid = wire.client_order_id(request.client_id)
        self._orders[coid] = _Order(
            request.symbol, request.client_id, coid, None, OrderStatus.OPEN, request.size,
            request.side,
        )  # fmt: skip
        if request.symbol not in self._traded:
            self._traded.add(request.symbol)
            if self.dead_man_s is not None:
                self._spawn(self._arm_dead_man(request.symbol, self.dead_man_s))
        try:
            row = await self.http.signed(
                "POST", "order", wire.order_params(request), order=True,
                timeout_s=self.request_timeout_s,
            )  # fmt: skip
        except AmbiguousOutcomeError as exc:
            return await self._resolve_place(request, coid, exc)
        except VenueError:
            self._orders.pop(coid, None)
            raise
        report = parse.status_report(self._name, row, self._client_id_of)
        self._track(coid, int(report.venue_order_id), report.status)
        if report.reason == "post_only":
            raise PostOnlyRejectedError(
                self._name, "the GTX order would have crossed: it expired unfilled", "EXPIRED"
            )
        return OrderAck(
            request.client_id, report.venue_order_id, report.status, report.filled, report.ts_ns
        )

    def _check(self, inst: parse.AsterInstrument, request: OrderRequest) -> None:
        rules = inst.info.rules
        price = request.price
        if price is None and request.order_type is OrderType.MARKET:
            q = self.quote(request.symbol)
            price = None if q is None else q.mid
        if request.order_type is OrderType.LIMIT and request.price is not None:
            _check_anchor(inst, request.price)
        if price is not None:
            if request.order_type is OrderType.MARKET:
                price = rules.round_price(price, request.side.value, aggressive=True)
            rules.check(price, request.size, request.reduce_only)

    async def _gate(self) -> None:
        if not self.streams.ready:
            await self.streams.user.wait_ready(self.gate_timeout_s)

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels by venue id (``orderId``) or client id (``origClientOrderId``).

        ``-2011`` (filled, cancelled or never known) is followed by a status query:
        ``ALREADY_FILLED`` (the fill is on its way, or already counted), ``ALREADY_CANCELLED``,
        or ``FAILED`` for an order the venue never knew.

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the status query shows the
                order still open.
        """
        self._instruments[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        oid, coid = self._ids(client_id, venue_order_id)
        params = wire.cancel_params(symbol, order_id=oid, client_order_id=coid)
        try:
            row = await self.http.signed(
                "DELETE", "order", params, timeout_s=self.request_timeout_s
            )
        except AmbiguousOutcomeError:
            report = await self._status(symbol, oid, coid)
            if report is None or not report.status.is_terminal:
                raise
            return cancel_result_from(report, cancelled_by_us=True)
        except OrderRejectedError as exc:
            if exc.code != parse.CANCEL_REJECTED:
                raise
            report = await self._status(symbol, oid, coid)
            if report is None:
                return CancelResult.FAILED
            if report.filled > 0:
                # the fill won the race: take it from ``userTrades`` now (deduplicated
                # against the stream, which may bring it later or not at all)
                await self._take_order_fills(symbol, report.venue_order_id)
            return cancel_result_from(report, cancelled_by_us=False)
        report = parse.status_report(self._name, row, self._client_id_of)
        self._set_status(coid, int(report.venue_order_id), report.status)
        if report.status is OrderStatus.FILLED:
            return CancelResult.ALREADY_FILLED
        return CancelResult.CANCELLED

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Changes a resting LIMIT order's price and size in place (``PUT order``); the order
        id stays.

        Raises:
            hedgekit.errors.OrderRejectedError: Refused; the original order stays.
            hedgekit.errors.AmbiguousOutcomeError: No answer.
        """
        inst = self._instruments[symbol]
        oid, coid = self._ids(client_id, None)
        known = self._orders.get(coid) if coid is not None else None
        if known is None:
            report = await self._status(symbol, oid, coid)
            if report is None:
                raise OrderRejectedError(self._name, f"no order {client_id} to modify")
            known = _Order(symbol, client_id, coid or "", int(report.venue_order_id),
                           report.status, report.size, report.side)  # fmt: skip
            if coid is not None:
                self._orders[coid] = known
        inst.info.rules.check(price, size, False)
        _check_anchor(inst, price)
        params = wire.modify_params(
            symbol, known.side, price, size, order_id=known.oid, client_order_id=coid
        )
        row = await self.http.signed("PUT", "order", params, order=True,
                                     timeout_s=self.request_timeout_s)  # fmt: skip
        report = parse.status_report(self._name, row, self._client_id_of)
        self._track(known.coid, int(report.venue_order_id), report.status)
        known.size = size
        return OrderAck(client_id, report.venue_order_id, report.status, report.filled,
                        report.ts_ns)  # fmt: skip

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The venue's view of one order (``GET order``), ``None`` when it does not know it
        (-2013). An order with fills carries them (``userTrades`` of that order)."""
        oid, coid = self._ids(client_id, venue_order_id)
        report = await self._status(symbol, oid, coid)
        if report is None or report.filled == 0:
            return report
        rows = await self.http.signed(
            "GET", "userTrades",
            [("symbol", symbol), ("orderId", report.venue_order_id)], weight=5,
        )  # fmt: skip
        own = tuple(
            sorted(
                (parse.fill_from_trade(self._name, r, self._client_id_of) for r in rows
                 if str(r.get("orderId")) == report.venue_order_id),
                key=lambda f: (f.ts_ns, int(f.trade_id)),
            )
        )  # fmt: skip
        if not own:
            return report
        return dataclasses.replace(report, fills=own)

    # -------------------------------------------------------------------------------- reads
    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills since ``since_ns`` (``userTrades``, per symbol; every known symbol when
        none is named, which costs one request each for the symbols traded), oldest first."""
        symbols = [symbol] if symbol is not None else sorted(self._traded or self._infos)
        out: list[Fill] = []
        for sym in symbols:
            rows = await self._trade_rows(sym, since_ns // MS)
            out += [parse.fill_from_trade(self._name, r, self._client_id_of) for r in rows]
        out = [f for f in out if f.ts_ns >= since_ns]
        return sorted(out, key=lambda f: (f.ts_ns, int(f.trade_id)))

    async def _take_order_fills(self, symbol: str, venue_order_id: str) -> None:
        try:
            rows = await self.http.signed(
                "GET", "userTrades", [("symbol", symbol), ("orderId", venue_order_id)], weight=5
            )
        except VenueError as exc:
            log.warning("%s: fills of %s not read: %s", self._name, venue_order_id, exc)
            return
        for r in sorted(rows, key=lambda r: (int(r["time"]), int(r["id"]))):
            if str(r.get("orderId")) == venue_order_id:
                self._take_fill(parse.fill_from_trade(self._name, r, self._client_id_of))

    async def _trade_rows(self, symbol: str, start_ms: int) -> list[dict[str, Any]]:
        params = [("symbol", symbol), ("limit", str(_TRADES_LIMIT))]
        if start_ms > 0:
            params.append(("startTime", str(start_ms)))
        rows = await self.http.signed("GET", "userTrades", params, weight=5)
        return list(rows or ())

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order still resting (``openOrders``), oldest first."""
        params = [("symbol", symbol)] if symbol is not None else []
        rows = await self.http.signed("GET", "openOrders", params, weight=1 if symbol else 40)
        out = [parse.status_report(self._name, r, self._client_id_of) for r in rows]
        return sorted(out, key=lambda r: (r.ts_ns, int(r.venue_order_id)))

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position (``positionRisk``), with the venue's liquidation price."""
        rows = await self.http.signed("GET", "positionRisk", [], weight=5)
        return parse.positions(self._name, rows)

    async def account(self) -> AccountState:
        """Collateral and margins (``account``, cross margin)."""
        row = await self.http.signed("GET", "account", [], weight=5)
        return parse.account_state(self._name, row, self._clock.now_ns())

    async def funding_rates(self) -> dict[str, FundingRate]:
        """Every perpetual's current rate for its interval (``premiumIndex``)."""
        rows = await self.http.public("premiumIndex", weight=10)
        if isinstance(rows, dict):
            rows = [rows]
        out: dict[str, FundingRate] = {}
        for r in rows:
            sym = str(r.get("symbol"))
            info = self._infos.get(sym)
            if info is not None:
                out[sym] = parse.funding_rate(self._name, r, info.funding_interval_s // 3600)
        return out

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding booked since ``since_ns`` (``income``, type ``FUNDING_FEE``), oldest first."""
        params = [("incomeType", "FUNDING_FEE"), ("limit", "1000")]
        if since_ns > 0:
            params.append(("startTime", str(since_ns // MS)))
        rows = await self.http.signed("GET", "income", params, weight=30)
        out = [parse.funding_payment(self._name, r) for r in rows]
        return sorted((p for p in out if p.ts_ns >= since_ns), key=lambda p: p.ts_ns)

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol`` (``positionRisk``'s ``leverage``).

        Raises:
            KeyError: Unknown symbol.
        """
        self._instruments[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        rows = await self.http.signed("GET", "positionRisk", [("symbol", symbol)], weight=5)
        for r in rows:
            if str(r.get("symbol")) == symbol and r.get("leverage") is not None:
                return parse.dec(r["leverage"])
        table = self._tables.get(symbol)
        return Decimal(20) if table is None else min(Decimal(20), table.max_leverage_at(Decimal(0)))

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s leverage (``POST leverage``).

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Not a whole number of at least 1 (nothing
                sent), or refused by the venue.
        """
        self._instruments[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        if leverage != leverage.to_integral_value() or leverage < 1:
            raise LeverageRejectedError(
                self._name, f"leverage {leverage} is not a whole number ≥ 1"
            )
        row = await self.http.signed(
            "POST", "leverage", [("symbol", symbol), ("leverage", str(int(leverage)))]
        )
        return parse.dec(row.get("leverage", int(leverage)))

    # ----------------------------------------------------------------------------- plumbing
    async def _resolve_place(
        self, request: OrderRequest, coid: str, exc: AmbiguousOutcomeError
    ) -> OrderAck:
        """The answer to a placement was lost: ask the venue for the order by its client id."""
        for attempt in range(3):
            try:
                report = await self._status(request.symbol, None, coid)
            except AmbiguousOutcomeError:
                report = None
            if report is not None:
                log.info("%s: lost answer to %s resolved: %s", self._name, coid, report.status)
                self.resolved += 1
                self._track(coid, int(report.venue_order_id), report.status)
                if report.reason == "post_only":
                    raise PostOnlyRejectedError(
                        self._name, "the GTX order would have crossed: it expired unfilled"
                    )
                return OrderAck(request.client_id, report.venue_order_id, report.status,
                                report.filled, report.ts_ns)  # fmt: skip
            await asyncio.sleep(0.1 * (attempt + 1))
        raise exc

    async def _status(
        self, symbol: str, oid: int | None, coid: str | None
    ) -> OrderStatusReport | None:
        params = wire.order_ref(symbol, order_id=oid, client_order_id=coid)
        try:
            row = await self.http.signed("GET", "order", params)
        except UnknownOrderError:
            return None
        report = parse.status_report(self._name, row, self._client_id_of)
        c = self._coid_of_oid.get(int(report.venue_order_id)) or coid
        self._set_status(c, int(report.venue_order_id), report.status)
        return report

    def _ids(
        self, client_id: str | None, venue_order_id: str | None
    ) -> tuple[int | None, str | None]:
        oid = int(venue_order_id) if venue_order_id is not None else None
        if client_id is not None and client_id.startswith(_FOREIGN):
            tail = client_id[len(_FOREIGN) :]
            if not tail.isdigit():
                raise InvalidArgumentError(f"not a venue order id: {client_id!r}")
            return int(tail), None
        coid = wire.client_order_id(client_id) if client_id is not None else None
        if oid is None and coid is not None:
            known = self._orders.get(coid)
            if known is not None:
                oid = known.oid
        if oid is None and coid is None:
            raise InvalidArgumentError("an order is named by its client id or its venue id")
        return oid, coid

    def _track(self, coid: str, oid: int, status: OrderStatus) -> None:
        self._coid_of_oid[oid] = coid
        self._set_status(coid, oid, status)

    def _set_status(self, coid: str | None, oid: int | None, status: OrderStatus) -> None:
        if coid is None and oid is not None:
            coid = self._coid_of_oid.get(oid)
        known = self._orders.get(coid) if coid is not None else None
        if known is None:
            return
        if oid is not None:
            known.oid = oid
            self._coid_of_oid[oid] = known.coid
        known.status = status

    def _client_id_of(self, coid: str, oid: int) -> str:
        """Our client id of a venue order: ours by its client order id; another program's
        client order id as it is; ``"oid:<id>"`` when the row names none."""
        c = coid or self._coid_of_oid.get(oid)
        if c:
            known = self._orders.get(c)
            return known.client_id if known is not None else c
        return f"{_FOREIGN}{oid}"

    # ------------------------------------------------------------------------------ streams
    def _on_state(self, up: bool) -> None:
        self._deliver(StreamStatus(self._name, up, self._clock.now_ns()))

    def _on_market_state(self, up: bool) -> None:
        if not up:
            for sym in self.symbols:
                self._books[sym].clear()

    def _new_fill(self, f: Fill) -> bool:
        return self._seen.add((int(f.venue_order_id), int(f.trade_id)))

    def _take_fill(self, f: Fill) -> None:
        if not self._new_fill(f) or f.ts_ns // MS < self._start_ms:
            return
        self._fills_since_ms = max(self._fills_since_ms, f.ts_ns // MS)
        self._deliver(f)
        if f.client_id.startswith("autoclose-"):
            self._deliver(
                Liquidation(self._name, f.symbol, f.side, f.size, f.price, f.ts_ns, f.trade_id)
            )

    def _on_user_event(self, msg: dict[str, Any]) -> None:
        kind = msg.get("e")
        event_ms = int(msg.get("E", 0))
        if kind == "ORDER_TRADE_UPDATE":
            o = msg["o"]
            if o.get("x") == "TRADE":
                self._take_fill(parse.fill_from_update(self._name, o, self._client_id_of))
            oid = int(o["i"])
            coid = str(o.get("c") or "") or self._coid_of_oid.get(oid)
            known = self._orders.get(coid) if coid else None
            if known is not None:
                if event_ms < known.last_event_ms:
                    return  # older than what we have (events are ordered by E)
                known.last_event_ms = event_ms
                self._track(known.coid, oid, parse.order_status(str(o["X"])))
            self._deliver(parse.order_update(self._name, o, event_ms, self._client_id_of))
        elif kind == "ACCOUNT_UPDATE":
            a = msg.get("a") or {}
            if a.get("m") == "FUNDING_FEE":
                # the push carries balances only (no symbol, no amount we can trust): the
                # payments themselves are read from ``income``
                self._spawn(self._pull_funding(event_ms))
        elif kind == "listenKeyExpired":
            log.warning("%s: the listenKey expired; a new one is made", self._name)
            self._spawn(self._renew_listen_key())

    async def _pull_funding(self, event_ms: int) -> None:
        """Delivers the funding payments booked up to ``event_ms`` not delivered yet."""
        since = self._funding_since_ms or self._start_ms
        try:
            rows = await self.http.signed(
                "GET", "income",
                [("incomeType", "FUNDING_FEE"), ("startTime", str(since)), ("limit", "1000")],
                weight=30,
            )  # fmt: skip
        except VenueError as exc:
            log.warning("%s: funding payments not read: %s", self._name, exc)
            return
        for r in sorted(rows, key=lambda r: int(r["time"])):
            key = str(r.get("tranId") or (r.get("symbol"), r["time"], r["income"]))
            if not self._funding_seen.add(key):
                continue
            self._funding_since_ms = max(self._funding_since_ms, int(r["time"]))
            self._deliver(parse.funding_payment(self._name, r))

    async def _new_listen_key(self) -> None:
        answer = await self.http.listen_key("POST")
        self.listen_key = str(answer["listenKey"])
        self.listen_keys_created += 1
        self.streams.set_listen_key(self.listen_key)

    async def _renew_listen_key(self) -> None:
        """A new key, and the user stream reconnected to it (then reconciled)."""
        try:
            await self._new_listen_key()
        except VenueError as exc:
            log.warning("%s: listenKey not re-created: %s", self._name, exc)
            return
        self.streams.user.drop()

    async def _keepalive_loop(self) -> None:
        """``PUT listenKey`` every ``listen_key_keepalive_s``; a key the venue no longer
        knows is re-created."""
        while True:
            await asyncio.sleep(self.listen_key_keepalive_s)
            try:
                await self.http.listen_key("PUT")
                self.keepalives += 1
            except OrderRejectedError as exc:
                if exc.code in (_INVALID_LISTEN_KEY, 404):
                    await self._renew_listen_key()
                else:
                    log.warning("%s: listenKey keepalive refused: %s", self._name, exc)
            except VenueError as exc:
                log.warning("%s: listenKey keepalive failed: %s", self._name, exc)

    async def _reconcile(self) -> None:
        """After a (re)connect of the user stream: the fills missed while down
        (``userTrades`` of every symbol traded) and every order still open on our side
        (``openOrders``; one no longer listed gets a status query)."""
        since = max(0, self._fills_since_ms - 1000)
        for sym in sorted(self._traded):
            rows = await self._trade_rows(sym, since)
            for r in sorted(rows, key=lambda r: (int(r["time"]), int(r["id"]))):
                self._take_fill(parse.fill_from_trade(self._name, r, self._client_id_of))
        mine = [o for o in self._orders.values() if not o.status.is_terminal]
        if not mine:
            return
        listed = {r.venue_order_id for r in await self.open_orders()}
        for o in mine[:100]:
            if o.oid is not None and str(o.oid) in listed:
                continue
            before = o.status
            report = await self._status(o.symbol, o.oid, o.coid)
            if report is not None and report.status is not before:
                self._deliver(OrderUpdate(self._name, o.symbol, o.client_id,
                                          report.venue_order_id, report.status, report.filled,
                                          report.ts_ns, report.reason))  # fmt: skip

    async def _arm_dead_man(self, symbol: str, ahead_s: float) -> bool:
        """Arms (or refreshes) ``countdownCancelAll`` for ``symbol``; False when refused."""
        try:
            await self.http.signed(
                "POST", "countdownCancelAll",
                [("symbol", symbol), ("countdownTime", str(int(ahead_s * 1000)))],
            )  # fmt: skip
        except VenueError as exc:
            log.warning("%s: dead-man switch not armed for %s: %s", self._name, symbol, exc)
            return False
        self.dead_man_until_ms = time.time_ns() // MS + int(ahead_s * 1000)
        return True

    async def _dead_man_loop(self, ahead_s: float) -> None:
        """Keeps ``countdownCancelAll`` armed ``ahead_s`` ahead for every symbol traded,
        while connected, refreshed every third of it."""
        while True:
            try:
                await self.streams.user.wait_ready(ahead_s / 3)
            except VenueNotReadyError:
                continue
            at = time.time_ns() // MS + int(ahead_s * 1000)
            ok = True
            for sym in sorted(self._traded):
                ok = await self._arm_dead_man(sym, ahead_s) and ok
            if ok and self._traded:
                self.dead_man_until_ms = at
            await asyncio.sleep(ahead_s / 3)

    # -------------------------------------------------------------------------------- books
    def _on_depth(self, symbol: str, payload: memoryview | bytes) -> None:
        book = self._books.get(symbol)
        if book is None:
            return
        buffer = self._buffers.get(symbol)
        if buffer is not None:
            buffer.append(bytes(payload))
            return
        if book.apply_depth_update(payload, self._clock.now_ns()) == BOOK_GAP:
            self._start_resync(symbol, bytes(payload))

    def _start_resync(self, symbol: str, first: bytes) -> None:
        self._buffers[symbol] = [first]
        running = self._resyncs.get(symbol)
        if running is None or running.done():
            self.resyncs += 1
            self._resyncs[symbol] = asyncio.ensure_future(self._resync(symbol))

    async def _resync(self, symbol: str) -> None:
        """A fresh snapshot, then the diffs buffered meanwhile (venues.md §2.9); retried on a
        further gap."""
        book = self._books[symbol]
        for _ in range(5):
            self._buffers.setdefault(symbol, [])
            try:
                raw = await self.http.public_raw(
                    "depth", [("symbol", symbol), ("limit", "1000")], weight=20
                )
            except VenueError as exc:
                log.warning("%s: depth snapshot of %s failed: %s", self._name, symbol, exc)
                await asyncio.sleep(0.5)
                continue
            book.apply_depth_snapshot(raw, self._clock.now_ns())
            held = self._buffers.pop(symbol, [])
            if all(book.apply_depth_update(d, self._clock.now_ns()) != BOOK_GAP for d in held):
                return
            self._buffers[symbol] = []
            await asyncio.sleep(0.05)
        log.warning("%s: %s could not be resynchronised", self._name, symbol)

    async def _resync_books(self) -> None:
        """After each market (re)connect: every book from a fresh snapshot."""
        for sym in self.symbols:
            self._buffers[sym] = []
        await asyncio.gather(*(self._resync(s) for s in self.symbols))

    def __repr__(self) -> str:
        return f"AsterVenue(name={self._name!r}, url={self.base_url!r}, auth={self._signer!r})"
