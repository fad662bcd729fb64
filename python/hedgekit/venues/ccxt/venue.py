"""The ccxt bridge: :class:`CcxtVenue`, any ccxt / ccxt.pro exchange as a hedgekit
:class:`~hedgekit.venues.Venue`.

ccxt is imported lazily (in the constructor, when an exchange id is given), so this module imports
where ccxt is not installed. Every ccxt call runs in a copy of the caller's decimal context
(ccxt's ``decimal_to_precision`` sets the thread's context to ``ROUND_HALF_UP`` with Underflow
trapped) and under its own timeout; every exception it raises is mapped by
:func:`hedgekit.venues.ccxt.errors.map_error`.

Streams: books by ``watch_order_book`` into the Rust :class:`~hedgekit.OrderBook`; the private
stream by ``watch_orders`` and ``watch_my_trades`` (fills deduplicated by trade id), or by REST
polling (``fetch_my_trades``, ``fetch_open_orders``, ``fetch_order``) where the exchange has no
working private stream (ccxt 4.5.90's ``aster.watch_orders`` is broken: for ``aster`` the same
user-data subscription is made directly, through ccxt's own pieces). After a stream error the
bridge reconnects, resubscribes and reconciles from ``fetch_my_trades`` and ``fetch_order``
(every order whose final state the events have not told yet) before it is ready to trade again.
"""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import hashlib
import importlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from hedgekit._core import OrderBook
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    InvalidArgumentError,
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
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    Position,
    TimeInForce,
)
from hedgekit.risk.funding import FundingSchedule
from hedgekit.risk.tiers import MarginTable, MarginTier
from hedgekit.secrets import Secret
from hedgekit.venues.aster.parse import margin_table as margin_table_of_brackets
from hedgekit.venues.base import InstrumentInfo
from hedgekit.venues.ccxt import parse
from hedgekit.venues.ccxt.errors import map_error
from hedgekit.venues.ccxt.numbers import exact, instrument_rules, to_wire
from hedgekit.venues.ccxt.stream import CcxtStreams, TrackedOrder
from hedgekit.venues.hyperliquid.wire import cloid_for
from hedgekit.venues.numbers import cancel_result_from, protection_price
from hedgekit.venues.transport import Backoff, EventQueue

__all__ = ["CcxtVenue"]

log = logging.getLogger("hedgekit.ccxt")

_T = TypeVar("_T")
MS = 1_000_000
_MARKET_SLIPPAGE = Decimal("0.05")
_SIGNIFICANT_PRICES = frozenset({"hyperliquid"})  # prices by Hyperliquid's 5-figure rule
_HEX_CLOIDS = frozenset({"hyperliquid"})  # client ids must be 0x + 32 hex digits
_HOURLY = frozenset({"hyperliquid"})
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:/-]{1,32}")
_IOC_MET_NOTHING = ("could not immediately match", "no liquidity available")
_FOREIGN = "oid:"
# what some exchanges need beside ccxt's unified params: Binance-style APIs answer an order with
# its id only (ACK) unless asked for the result (a GTX that expired, an IOC's fill)
_ORDER_PARAMS: dict[str, dict[str, Any]] = {
    "aster": {"newOrderRespType": "RESULT"},
    "binanceusdm": {"newOrderRespType": "RESULT"},
}
# Binance-style leverage brackets, read through ccxt's implicit API where ccxt's unified
# fetchLeverageTiers is missing
_BRACKETS: dict[str, str] = {
    "aster": "fapiPrivateGetV1LeverageBracket",
    "binanceusdm": "fapiPrivateGetLeverageBracket",
}


def make_exchange(exchange_id: str, config: Mapping[str, Any] | None = None) -> Any:
    """A ccxt.pro exchange (ccxt's ``async_support`` one when ccxt.pro has none) from its id
    and config; :class:`~hedgekit.secrets.Secret` values in the config are revealed to ccxt
    only.

    Raises:
        ImportError: ccxt is not installed (``pip install hedgekit[ccxt]``).
        hedgekit.errors.InvalidArgumentError: ccxt has no such exchange.
    """
    # imported here, and untyped: ccxt is an optional extra (``hedgekit[ccxt]``)
    try:
        ccxt_async: Any = importlib.import_module("ccxt.async_support")
        ccxt_pro: Any = importlib.import_module("ccxt.pro")
    except ImportError as exc:
        raise ImportError(
            "the ccxt bridge needs ccxt: pip install 'hedgekit[ccxt]'", name="ccxt"
        ) from exc

    cls = getattr(ccxt_pro, exchange_id, None) or getattr(ccxt_async, exchange_id, None)
    if cls is None or not callable(cls):
        raise InvalidArgumentError(f"ccxt has no exchange {exchange_id!r}")
    opened = {k: v.reveal() if isinstance(v, Secret) else v for k, v in (config or {}).items()}
    return cls(opened)


class CcxtVenue(CcxtStreams):
    """A ccxt (ccxt.pro) exchange's linear perpetuals as a :class:`~hedgekit.venues.Venue`.

    Symbols are ccxt's unified ones (``"ETH/USDC:USDC"``). Prices and sizes are exact
    ``Decimal`` on the market's grid both ways: ccxt's numbers are read with
    ``Decimal(str(x))`` and checked against the grid, orders go out as strings of the exact
    Decimal. A market order is sent as an IOC limit at its protection price.

    Args:
        exchange: A ccxt exchange id (``"hyperliquid"``, ``"aster"``, ``"binanceusdm"``) or a
            ready ccxt async / ccxt.pro exchange instance (its owner keeps it; :meth:`close`
            closes it only when this venue made it).
        config: The ccxt config of an exchange made from its id (keys, ``options``);
            :class:`~hedgekit.secrets.Secret` values are revealed to ccxt only.
        name: The venue's name in every value it reports (default: the exchange id).
        symbols: The markets traded, and whose books are watched (default: every active linear
            perpetual, no books).
        clock: Stamps local events (default: the loop's clock).
        request_timeout_s: How long one ccxt call may take before its outcome is ambiguous.
        gate_timeout_s: How long an order waits for a reconnecting private stream to be
            reconciled before it is refused with :class:`~hedgekit.errors.VenueNotReadyError`.
        poll_interval_s: The pause between REST polls where there is no private stream (never
            shorter than two of ccxt's ``rateLimit`` spacings, so that a poll of trades and
            open orders stays in the exchange's rate limit).
        ready_timeout_s: How long :meth:`connect` waits for the private stream.
        backoff: Delays between stream reconnects.
        private_stream: ``True`` to use ccxt.pro's ``watch_orders``/``watch_my_trades``
            where the exchange has them (they are probed: one that raises ``NotSupported``
            or ``ArgumentsRequired`` turns the bridge to polling), ``False`` to poll.
        book_timeout_s: A book feed silent this long is given up (the book cleared) and
            resubscribed.
        dead_man_s: The dead-man switch, where ccxt has ``cancelAllOrdersAfter`` for the
            exchange (Hyperliquid's ``scheduleCancel``, Bybit's, OKX's, Lighter's): while
            connected, every open order is set to be cancelled this far ahead, refreshed at a
            third of it, so a process that dies leaves nothing resting for longer (the
            countdown is left armed by :meth:`close`). ``None`` disables it; an exchange
            without the call has none (``dead_man_until_ms`` stays ``None``).

    Raises:
        hedgekit.errors.InvalidArgumentError: A config with a ready instance, a sync
            exchange, or ``dead_man_s`` under 5 s.
    """

    def __init__(
        self,
        exchange: str | Any,
        config: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        symbols: tuple[str, ...] | None = None,
        clock: Clock | None = None,
        request_timeout_s: float = 10.0,
        gate_timeout_s: float = 2.0,
        poll_interval_s: float = 1.0,
        ready_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        private_stream: bool = True,
        book_timeout_s: float = 30.0,
        dead_man_s: float | None = 60.0,
    ) -> None:
        if dead_man_s is not None and not dead_man_s >= 5:
            raise InvalidArgumentError(
                f"dead_man_s must be at least 5 s (or None), got {dead_man_s}"
            )
        if isinstance(exchange, str):
            self.exchange: Any = make_exchange(exchange, config)
            self._owned = True
        else:
            if config:
                raise InvalidArgumentError("a ready exchange instance takes no config")
            if not asyncio.iscoroutinefunction(getattr(exchange, "fetch_order", None)):
                raise InvalidArgumentError(
                    "CcxtVenue needs a ccxt.pro or ccxt.async_support exchange, not a sync one"
                )
            self.exchange = exchange
            self._owned = False
        self.exchange_id = str(self.exchange.id)
        options = self.exchange.options
        options.setdefault("warnOnFetchOpenOrdersWithoutSymbol", False)
        self._name = name or self.exchange_id
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.symbols = None if symbols is None else tuple(symbols)
        self.request_timeout_s = request_timeout_s
        self.gate_timeout_s = gate_timeout_s
        self.poll_interval_s = poll_interval_s
        self.ready_timeout_s = ready_timeout_s
        self._backoff = backoff if backoff is not None else Backoff(0.2, 10.0)
        self._want_stream = private_stream
        self.book_timeout_s = book_timeout_s
        self._infos: dict[str, InstrumentInfo] = {}
        self._books: dict[str, OrderBook] = {}
        self._subs: list[EventQueue] = []
        self._grids: dict[str, parse.Grid] = {}
        self._tables: dict[str, MarginTable | None] = {}
        self._funding_s: dict[str, int] = {}
        self._caps: dict[str, Decimal] = {}
        self._leverage: dict[str, Decimal] = {}
        self._orders: dict[str, TrackedOrder] = {}  # by the exchange's client id
        self._by_vid: dict[str, str] = {}
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._start_ms = 0
        self._fills_since_ms = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event() if _has_loop() else None
        self._connected = False
        self.streaming: bool | None = None
        """``True`` while the private stream is ccxt.pro's, ``False`` once the bridge polls,
        ``None`` before :meth:`connect`."""
        self.stream_errors = 0
        """Private-stream failures (drops, silences) the bridge reconnected from."""
        self.resolved = 0
        """Placements whose lost answer a status query resolved."""
        self.dead_man_s = dead_man_s
        self.dead_man_until_ms: int | None = None
        """The latest time (ms since the epoch) at which the exchange cancels every open order
        unless the switch is refreshed first; ``None`` while it has not been armed."""

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    @property
    def supports_modify(self) -> bool:
        """True when ccxt has an ``editOrder`` for the exchange (Hyperliquid's
        ``batchModify``, Binance's ``PUT order``); an emulated one (cancel, then place) is not
        a modify."""
        return self.exchange.has.get("editOrder") is True

    @property
    def ready(self) -> bool:
        """True while the private stream (or the poll) is up and reconciled."""
        return self._ready is not None and self._ready.is_set()

    async def connect(self) -> None:
        """Loads the markets (rules, fees, funding intervals, leverage tiers), starts the book
        watchers and the private stream, and waits until it is reconciled.

        Raises:
            hedgekit.errors.VenueError: The markets could not be loaded.
            hedgekit.errors.VenueNotReadyError: The private stream was not ready within
                ``ready_timeout_s`` (it keeps trying; orders wait for it).
        """
        if self._connected:
            return
        if self._ready is None:
            self._ready = asyncio.Event()
        markets = await self._call(self.exchange.load_markets)
        self._load(markets)
        await self._load_funding_intervals()
        await self._load_tiers()
        self._start_ms = self._fills_since_ms = time.time_ns() // MS
        self._connected = True
        for sym in self.symbols or ():
            self._spawn(self._book_loop(sym))
        self._spawn(self._private_loop())
        if self.dead_man_s is not None and self.exchange.has.get("cancelAllOrdersAfter") is True:
            self._spawn(self._dead_man_loop(self.dead_man_s))
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                await self._ready.wait()
        except TimeoutError as exc:
            raise VenueNotReadyError(self._name, "private stream not ready in time") from exc

    async def close(self) -> None:
        """Stops every watcher and poll (idempotent); closes the exchange when this venue made
        it."""
        self._connected = False
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._owned:
            with decimal.localcontext(), contextlib.suppress(Exception):
                await self.exchange.close()
        for sub in list(self._subs):
            sub.close()

    async def __aenter__(self) -> CcxtVenue:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _load(self, markets: Mapping[str, Any]) -> None:
        mode = int(self.exchange.precisionMode)
        wanted = set(self.symbols) if self.symbols is not None else None
        significant = self.exchange_id in _SIGNIFICANT_PRICES
        for sym, m in markets.items():
            if wanted is not None and sym not in wanted:
                continue
            if not m.get("swap") or not m.get("linear") or m.get("active") is False:
                continue
            try:
                rules = instrument_rules(m, mode, significant_prices=significant)
            except (VenueError, ValueError) as exc:
                log.warning("%s: %s left out: %s", self._name, sym, exc)
                continue
            maker = exact(m["maker"]) if m.get("maker") is not None else Decimal(0)
            taker = exact(m["taker"]) if m.get("taker") is not None else Decimal(0)
            hours = 3600 if self.exchange_id in _HOURLY else 8 * 3600
            self._funding_s[sym] = hours
            self._infos[sym] = InstrumentInfo(self._name, sym, rules, maker, taker, hours)
            precision = m.get("precision") or {}
            self._grids[sym] = parse.Grid(mode, precision.get("price"), precision.get("amount"))
            if significant:
                # Hyperliquid's prices have no fixed tick: checked by the rules, read exactly
                self._grids[sym] = parse.Grid(4, "1e-12", precision.get("amount"))
            cap = ((m.get("limits") or {}).get("leverage") or {}).get("max")
            if cap is not None:
                self._caps[sym] = exact(cap)
            self._books.setdefault(sym, OrderBook(self._name, sym))
        if wanted:
            missing = wanted - set(self._infos)
            if missing:
                raise InvalidArgumentError(f"{self._name}: no linear perpetual {sorted(missing)}")

    async def _load_funding_intervals(self) -> None:
        if not self.exchange.has.get("fetchFundingRates"):
            return
        try:
            rows = await self._call(self.exchange.fetch_funding_rates, list(self._infos))
        except VenueError as exc:
            log.warning("%s: funding intervals unavailable (%s)", self._name, exc)
            return
        for sym, row in (rows or {}).items():
            if sym in self._infos:
                s = parse.interval_s(row.get("interval"), self._funding_s[sym])
                self._funding_s[sym] = s
                info = self._infos[sym]
                self._infos[sym] = InstrumentInfo(
                    info.venue, sym, info.rules, info.maker_fee, info.taker_fee, s
                )

    async def _load_tiers(self) -> None:
        rows: Mapping[str, Any] = {}
        brackets: dict[str, MarginTable] = {}
        raw = _BRACKETS.get(self.exchange_id)
        try:
            if self.exchange.has.get("fetchLeverageTiers") is True:
                rows = await self._call(self.exchange.fetch_leverage_tiers, list(self._infos))
            elif raw is not None and hasattr(self.exchange, raw):
                for entry in await self._call(getattr(self.exchange, raw)):
                    sym = self.exchange.safe_symbol(entry.get("symbol"), None, None, "swap")
                    if sym in self._infos:
                        brackets[sym] = margin_table_of_brackets(
                            [{k: str(exact(v)) if isinstance(v, float) else v for k, v in b.items()}
                             for b in entry.get("brackets") or ()]
                        )  # fmt: skip
        except (VenueError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: leverage tiers unavailable (%s)", self._name, exc)
        for sym in self._infos:
            table: MarginTable | None = brackets.get(sym)
            try:
                table = table or parse.margin_table(rows.get(sym) or ())
            except (VenueError, ValueError, KeyError) as exc:
                log.warning("%s: %s leverage tiers unreadable (%s)", self._name, sym, exc)
            if table is None and sym in self._caps:
                # one tier at the market's leverage cap, maintenance half the initial margin
                cap = self._caps[sym]
                table = MarginTable((MarginTier(Decimal(0), cap, 1 / (2 * cap)),))
            self._tables[sym] = table

    # --------------------------------------------------------------------------- local state
    def margin_table(self, symbol: str) -> MarginTable | None:
        """``symbol``'s tiers from ``fetch_leverage_tiers``, else one tier at the market's
        leverage cap; ``None`` when ccxt gives neither.

        Raises:
            KeyError: Unknown symbol.
        """
        self._infos[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        return self._tables.get(symbol)

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """Hyperliquid's hourly schedule, else periodic at the interval ccxt reports
        (``fetch_funding_rates``' ``interval``; 8 h without one).

        Raises:
            KeyError: Unknown symbol.
        """
        self._infos[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        if self.exchange_id == "hyperliquid":
            return FundingSchedule.hyperliquid()
        return FundingSchedule.periodic(self._funding_s[symbol])

    # ------------------------------------------------------------------------------- orders
    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order (``create_order`` with ``clientOrderId``, ``postOnly``,
        ``timeInForce``, ``reduceOnly``); checked against the market's rules first.

        A post-only order the exchange answers expired or cancelled unfilled would have
        crossed: :class:`~hedgekit.errors.PostOnlyRejectedError`. An IOC that met nothing is
        acknowledged ``EXPIRED``.

        Raises:
            hedgekit.errors.InvalidOrderError: Not placeable; nothing sent.
            hedgekit.errors.VenueNotReadyError: The private stream is reconnecting and was not
                reconciled within ``gate_timeout_s``; nothing sent.
            hedgekit.errors.OrderRejectedError: Refused by the exchange (definitive).
            hedgekit.errors.AmbiguousOutcomeError: No usable answer, and a status query by the
                client id did not find the order.
        """
        info = self._infos[request.symbol]
        price = self._limit_price(request)
        tif = TimeInForce.IOC if request.order_type is OrderType.MARKET else request.tif
        info.rules.check(price, request.size, request.reduce_only)
        await self._gate()
        ex_cid = self._ex_cid(request.client_id)
        known = TrackedOrder(request.symbol, request.client_id, ex_cid, None, OrderStatus.OPEN,
                       request.size, request.side, tif)  # fmt: skip
        self._orders[ex_cid] = known
        params: dict[str, Any] = {
            **_ORDER_PARAMS.get(self.exchange_id, {}),
            "clientOrderId": ex_cid,
        }
        if tif is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        else:
            params["timeInForce"] = "IOC" if tif is TimeInForce.IOC else "GTC"
        if request.reduce_only:
            params["reduceOnly"] = True
        try:
            row = await self._call(
                self.exchange.create_order,
                request.symbol,
                "limit",
                request.side.value,
                to_wire(request.size),
                to_wire(price),
                params,
            )
        except AmbiguousOutcomeError as exc:
            return await self._resolve_place(request, known, exc)
        except VenueError as exc:
            if tif is TimeInForce.IOC and any(t in exc.message.lower() for t in _IOC_MET_NOTHING):
                known.status = OrderStatus.EXPIRED
                return OrderAck(request.client_id, ex_cid, OrderStatus.EXPIRED, Decimal(0),
                                self._clock.now_ns())  # fmt: skip
            self._orders.pop(ex_cid, None)
            if isinstance(exc, UnknownOrderError):
                raise OrderRejectedError(self._name, exc.message, exc.code) from exc
            raise
        ack = self._ack(known, row)
        if tif is TimeInForce.IOC and not ack.status.is_terminal:
            # an IOC cannot rest: an answer that says open is only the acceptance
            report = await self._status(request.symbol, ack.venue_order_id, ex_cid)
            if report is not None and report.status.is_terminal:
                return OrderAck(ack.client_id, ack.venue_order_id, report.status, report.filled,
                                report.ts_ns or ack.ts_ns)  # fmt: skip
        return ack

    def _ack(self, known: TrackedOrder, row: Mapping[str, Any]) -> OrderAck:
        """The answer to a placement or a modify (ccxt's order, filled in from the exchange's
        own answer where ccxt leaves it empty)."""
        info = row.get("info") or {}
        vid = row.get("id")
        status: OrderStatus
        filled = Decimal(0)
        grid = self._grids[known.symbol]
        if row.get("status") is not None:
            report = self._report(known.symbol, {**row, "amount": row.get("amount") or known.size})
            status, filled = report.status, report.filled
        elif isinstance(info, Mapping) and isinstance(info.get("filled"), Mapping):
            f = info["filled"]
            vid = vid or f.get("oid")
            filled = grid.sz(f["totalSz"])
            if filled >= known.size:
                status = OrderStatus.FILLED
            elif known.tif is TimeInForce.IOC:
                status = OrderStatus.EXPIRED
            else:
                status = OrderStatus.PARTIALLY_FILLED
        else:
            if isinstance(info, Mapping) and isinstance(info.get("resting"), Mapping):
                vid = vid or info["resting"].get("oid")
            status = OrderStatus.OPEN
        if vid is None:
            raise AmbiguousOutcomeError(self._name, f"answer without an order id: {row!r}")
        self._track(known, str(vid), status, filled)
        if known.tif is TimeInForce.POST_ONLY and status.is_terminal and filled == 0:
            raise PostOnlyRejectedError(
                self._name, f"the post-only order would have crossed: {row.get('status')}"
            )
        now = parse._ts(row, "lastUpdateTimestamp", "timestamp") or self._clock.now_ns()
        return OrderAck(known.client_id, str(vid), status, filled, now)

    async def _resolve_place(
        self, request: OrderRequest, known: TrackedOrder, exc: AmbiguousOutcomeError
    ) -> OrderAck:
        """The answer to a placement was lost: ask for the order by its client id."""
        for attempt in range(3):
            try:
                report = await self._status(request.symbol, None, known.ex_cid)
            except AmbiguousOutcomeError:
                report = None
            if report is not None:
                log.info("%s: lost answer to %s resolved: %s", self._name, known.ex_cid,
                         report.status)  # fmt: skip
                self.resolved += 1
                if (
                    known.tif is TimeInForce.POST_ONLY
                    and report.status.is_terminal
                    and (report.filled == 0)
                ):
                    raise PostOnlyRejectedError(
                        self._name, "the post-only order would have crossed"
                    )
                return OrderAck(request.client_id, report.venue_order_id, report.status,
                                report.filled, report.ts_ns)  # fmt: skip
            await asyncio.sleep(0.1 * (attempt + 1))
        raise exc

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels by venue id (``cancel_order``) or client id (``clientOrderId``).

        ``OrderNotFound`` (a filled, a cancelled or an unknown order) is followed by a status
        query that tells them apart (``ALREADY_FILLED``: the fill is on its way).

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: No answer, and the status query shows the
                order still open (or cannot find it).
            hedgekit.errors.OrderRejectedError: Refused for another reason.
        """
        self._infos[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        vid, ex_cid = self._ids(client_id, venue_order_id)
        try:
            if vid is not None:
                await self._call(self.exchange.cancel_order, vid, symbol)
            elif ex_cid is not None:
                await self._call(
                    self.exchange.cancel_order, None, symbol, {"clientOrderId": ex_cid}
                )
            else:
                raise InvalidArgumentError("cancel needs a client id or a venue order id")
        except UnknownOrderError:
            report = await self._status(symbol, vid, ex_cid)
            if report is None:
                return CancelResult.FAILED
            return cancel_result_from(report, cancelled_by_us=False)
        except AmbiguousOutcomeError:
            report = await self._status(symbol, vid, ex_cid)
            if report is None or not report.status.is_terminal:
                raise
            return cancel_result_from(report, cancelled_by_us=True)
        if self.streaming:
            self._set_status(ex_cid, vid, OrderStatus.CANCELLED)
        # polling: the next poll finds it cancelled and reports it, with what filled
        return CancelResult.CANCELLED

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Changes a resting order with ccxt's ``edit_order`` (the answer's id is the order's
        id from now on; the client id stays).

        Raises:
            NotImplementedError: ccxt has no ``editOrder`` for the exchange.
            hedgekit.errors.OrderRejectedError: Refused; the original order stays.
            hedgekit.errors.AmbiguousOutcomeError: No usable answer.
        """
        if not self.supports_modify:
            raise NotImplementedError(f"ccxt's {self.exchange_id} has no editOrder")
        info = self._infos[symbol]
        ex_cid = self._ex_cid(client_id)
        known = self._orders.get(ex_cid)
        if known is None or known.venue_id is None:
            report = await self._status(symbol, None, ex_cid)
            if report is None:
                raise OrderRejectedError(self._name, f"no order {client_id} to modify")
            known = TrackedOrder(symbol, client_id, ex_cid, report.venue_order_id, report.status,
                           report.size, report.side, TimeInForce.GTC)  # fmt: skip
            self._orders[ex_cid] = known
        info.rules.check(price, size, False)
        params: dict[str, Any] = {"clientOrderId": ex_cid}
        if known.tif is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        else:
            params["timeInForce"] = "GTC"
        row = await self._call(
            self.exchange.edit_order,
            known.venue_id,
            symbol,
            "limit",
            known.side.value,
            to_wire(size),
            to_wire(price),
            params,
        )
        old_size = known.size
        known.size = size
        try:
            return self._ack(known, row)
        except VenueError:
            known.size = old_size
            raise

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The exchange's view of one order (``fetch_order`` by id or client id), ``None``
        when it does not know it. An order no longer simply resting has its filled size and
        average price read from its trades (``fetch_my_trades``), exactly."""
        vid, ex_cid = self._ids(client_id, venue_order_id)
        report = await self._status(symbol, vid, ex_cid)
        if report is None or report.status is OrderStatus.OPEN:
            return report
        own = [f for f in await self.fills(symbol) if f.venue_order_id == report.venue_order_id]
        if not own:
            filled = report.size if report.status is OrderStatus.FILLED else Decimal(0)
            return _replace(report, filled=filled, avg_price=report.avg_price if filled else None)
        filled = sum((f.size for f in own), Decimal(0))
        avg = sum((f.price * f.size for f in own), Decimal(0)) / filled
        return _replace(report, filled=filled, avg_price=avg, fills=tuple(own))

    # -------------------------------------------------------------------------------- reads
    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills since ``since_ns`` (``fetch_my_trades``; market by market where the
        exchange needs one), oldest first."""
        since = since_ns // MS or None
        rows: list[Any] = []
        if symbol is not None:
            rows = await self._call(self.exchange.fetch_my_trades, symbol, since)
        else:
            try:
                rows = await self._call(self.exchange.fetch_my_trades, None, since)
            except OrderRejectedError:  # ArgumentsRequired: the exchange needs a market
                for sym in self._infos:
                    rows += await self._call(self.exchange.fetch_my_trades, sym, since)
        out = [self._fill(r) for r in rows if r.get("symbol") in self._infos]
        out = [f for f in out if f.ts_ns >= since_ns]
        return sorted(out, key=lambda f: (f.ts_ns, str(f.trade_id)))

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order of the account still resting (``fetch_open_orders``), oldest first."""
        per_market = (self.exchange.options.get("fetchOpenOrders") or {}).get("warnIfNoSymbol")
        if symbol is None and per_market:
            # the exchange charges a whole-account read many times one market's: read by market
            rows = []
            for sym in self._infos:
                rows += await self._call(self.exchange.fetch_open_orders, sym)
        else:
            rows = await self._call(self.exchange.fetch_open_orders, symbol)
        out = [
            self._report(str(r["symbol"]), r)
            for r in rows
            if r.get("symbol") in self._infos and (symbol is None or r["symbol"] == symbol)
        ]
        return sorted(out, key=lambda r: (r.ts_ns, r.venue_order_id))

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position (``fetch_positions``), with the liquidation price and
        leverage where ccxt gives them."""
        rows = await self._call(self.exchange.fetch_positions)
        out: dict[str, Position] = {}
        for r in rows:
            sym = r.get("symbol")
            if sym not in self._infos:
                continue
            p = parse.position(self._name, r, self._grids[sym])
            if p is not None:
                out[sym] = p
        return out

    async def account(self) -> AccountState:
        """Collateral and margins as ccxt's ``fetch_balance`` gives them (the settle
        currency's ``total`` as collateral and equity, ``free`` available, ``used`` initial
        margin) and the positions' maintenance margin where ccxt gives it: ccxt does not unify
        equity, so an exchange whose ``total`` leaves out unrealised PnL reports it without."""
        balance = await self._call(self.exchange.fetch_balance)
        settle = self._settle_currency()
        row = balance.get(settle) or {}
        total = exact(row.get("total") or 0)
        free = exact(row.get("free") or 0)
        used = exact(row.get("used") or 0)
        maintenance = Decimal(0)
        if self.exchange.has.get("fetchPositions"):
            for p in await self._call(self.exchange.fetch_positions):
                if p.get("maintenanceMargin") is not None:
                    maintenance += exact(p["maintenanceMargin"])
        ts = int(balance.get("timestamp") or time.time_ns() // MS) * MS
        return AccountState(self._name, total, total, max(Decimal(0), min(free, total)), used,
                            maintenance, ts)  # fmt: skip

    async def funding_rates(self) -> dict[str, FundingRate]:
        """Every market's current rate (``fetch_funding_rates``, or one by one with
        ``fetch_funding_rate``), per the market's funding interval."""
        now = time.time_ns()
        if self.exchange.has.get("fetchFundingRates"):
            rows = await self._call(self.exchange.fetch_funding_rates, list(self._infos))
        else:
            rows = {}
            for sym in self._infos:
                rows[sym] = await self._call(self.exchange.fetch_funding_rate, sym)
        return {
            sym: parse.funding_rate(self._name, row, self._funding_s[sym], now)
            for sym, row in rows.items()
            if sym in self._infos and row.get("fundingRate") is not None
        }

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding booked on our positions since ``since_ns`` (``fetch_funding_history``),
        oldest first; none where ccxt has no funding history for the exchange."""
        if not self.exchange.has.get("fetchFundingHistory"):
            return []
        since = since_ns // MS or None
        try:
            rows = await self._call(self.exchange.fetch_funding_history, None, since)
        except OrderRejectedError:
            rows = []
            for sym in self._infos:
                rows += await self._call(self.exchange.fetch_funding_history, sym, since)
        out = [parse.funding_payment(self._name, r) for r in rows if r.get("amount") is not None]
        return sorted((p for p in out if p.ts_ns >= since_ns), key=lambda p: p.ts_ns)

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol``: the position's, else ccxt's ``fetch_leverage``,
        else the last one set here, else the smaller of 20 and the market's cap.

        Raises:
            KeyError: Unknown symbol.
        """
        self._infos[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        pos = (await self.positions()).get(symbol)
        if pos is not None and pos.leverage is not None:
            return pos.leverage
        if symbol in self._leverage:
            return self._leverage[symbol]
        if self.exchange.has.get("fetchLeverage"):
            try:
                row = await self._call(self.exchange.fetch_leverage, symbol)
            except VenueError:
                row = {}
            value = row.get("longLeverage") or row.get("shortLeverage")
            if value is not None:
                return exact(value).normalize()
        return min(Decimal(20), self._cap(symbol) or Decimal(20))

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s leverage (``set_leverage``).

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Not a whole number from 1 to the market's
                cap (nothing sent), or refused by the exchange.
            hedgekit.errors.OrderRejectedError: Short of margin
                (``reason="insufficient_margin"``).
            hedgekit.errors.AmbiguousOutcomeError: No answer.
        """
        self._infos[symbol]  # noqa: B018 - raises KeyError for an unknown symbol
        cap = self._cap(symbol)
        if (
            leverage != leverage.to_integral_value()
            or leverage < 1
            or (cap is not None and leverage > cap)
        ):
            raise LeverageRejectedError(
                self._name, f"leverage {leverage} outside 1..{cap} for {symbol}"
            )
        try:
            await self._call(self.exchange.set_leverage, int(leverage), symbol)
        except OrderRejectedError as exc:
            if exc.reason == "insufficient_margin":
                raise
            raise LeverageRejectedError(self._name, exc.message, exc.code) from exc
        self._leverage[symbol] = Decimal(int(leverage))
        return self._leverage[symbol]

    # ----------------------------------------------------------------------------- plumbing
    async def _call(
        self, fn: Callable[..., Awaitable[_T]], *args: Any, timeout: float | None = None
    ) -> _T:
        """One ccxt call: in a copy of the caller's decimal context (restored whatever ccxt
        does to it), within ``timeout`` (default ``request_timeout_s``), its exceptions mapped
        onto hedgekit's."""
        with decimal.localcontext():
            try:
                async with asyncio.timeout(timeout or self.request_timeout_s):
                    return await fn(*args)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                mapped = map_error(self._name, exc)
                if mapped is None:
                    raise
                raise mapped from exc

    async def _dead_man_loop(self, ahead_s: float) -> None:
        """Keeps the exchange's cancel-all countdown ``ahead_s`` ahead while connected: armed
        once the private side is ready, refreshed every third of it."""
        ahead_ms = int(ahead_s * 1000)
        while True:
            ready = self._ready
            if ready is not None and not ready.is_set():
                try:
                    async with asyncio.timeout(ahead_s / 3):
                        await ready.wait()
                except TimeoutError:
                    continue
            try:
                await self._call(self.exchange.cancel_all_orders_after, ahead_ms)
            except VenueError as exc:
                log.warning("%s: dead-man switch not refreshed: %s", self._name, exc)
            else:
                # Read after the answer: the exchange counted from before it, never later.
                self.dead_man_until_ms = time.time_ns() // MS + ahead_ms
            await asyncio.sleep(ahead_s / 3)

    async def _gate(self) -> None:
        if self._ready is None or self._ready.is_set():
            return
        try:
            async with asyncio.timeout(self.gate_timeout_s):
                await self._ready.wait()
        except TimeoutError as exc:
            raise VenueNotReadyError(
                self._name, "the private stream is reconnecting; nothing sent"
            ) from exc

    async def _status(
        self, symbol: str, vid: str | None, ex_cid: str | None
    ) -> OrderStatusReport | None:
        if vid is None and ex_cid is None:
            raise InvalidArgumentError("a status query needs a client id or a venue order id")
        try:
            if vid is not None:
                row = await self._call(self.exchange.fetch_order, vid, symbol)
            else:
                row = await self._call(
                    self.exchange.fetch_order, None, symbol, {"clientOrderId": ex_cid}
                )
        except UnknownOrderError:
            return None
        if not row or row.get("id") is None:
            return None
        report = self._report(symbol, row)
        if self.streaming:
            # polling: a change is the poll's to find and report, not this query's to absorb
            self._set_status(self._by_vid.get(report.venue_order_id) or ex_cid,
                             report.venue_order_id, report.status)  # fmt: skip
        return report

    def _report(self, symbol: str, row: Mapping[str, Any]) -> OrderStatusReport:
        return parse.order_report(self._name, symbol, row, self._grids[symbol], self._client_id_of)

    def _fill(self, row: Mapping[str, Any]) -> Fill:
        sym = str(row["symbol"])
        return parse.fill(self._name, sym, row, self._grids[sym], self._client_id_of(row))

    def _ex_cid(self, client_id: str) -> str:
        """The exchange's client order id for ours: Hyperliquid's 128-bit hex cloid (a hash of
        ours, the same in every process); ours as it is where it fits the usual rules
        (``[A-Za-z0-9._:/-]``, at most 32), else a hash of it."""
        if self.exchange_id in _HEX_CLOIDS:
            return cloid_for(client_id)
        if _CLIENT_ID.fullmatch(client_id):
            return client_id
        return "h" + hashlib.sha256(client_id.encode()).hexdigest()[:31]

    def _client_id_of(self, row: Mapping[str, Any]) -> str:
        """Our client id of a ccxt order or trade: ours when we know the order, else the
        exchange's client id, else ``"oid:<id>"``."""
        vid = row.get("order") if "order" in row else row.get("id")
        ex_cid = row.get("clientOrderId")
        info = row.get("info")
        if ex_cid is None and isinstance(info, Mapping):
            ex_cid = info.get("cloid") or info.get("clientOrderId") or info.get("c")
        if ex_cid is None and vid is not None:
            ex_cid = self._by_vid.get(str(vid))
        if ex_cid is not None:
            ex_cid = str(ex_cid)
            if self.exchange_id in _HEX_CLOIDS:
                ex_cid = ex_cid.lower()
            known = self._orders.get(ex_cid)
            return known.client_id if known is not None else ex_cid
        return f"{_FOREIGN}{vid}"

    def _ids(
        self, client_id: str | None, venue_order_id: str | None
    ) -> tuple[str | None, str | None]:
        vid = venue_order_id
        ex_cid: str | None = None
        if client_id is not None and client_id.startswith(_FOREIGN):
            return client_id[len(_FOREIGN) :], None
        if client_id is not None:
            ex_cid = self._ex_cid(client_id)
            known = self._orders.get(ex_cid)
            if vid is None and known is not None:
                vid = known.venue_id
        elif vid is not None:
            ex_cid = self._by_vid.get(vid)
        return vid, ex_cid

    def _track(self, known: TrackedOrder, vid: str, status: OrderStatus, filled: Decimal) -> None:
        if known.venue_id is not None and known.venue_id != vid:
            self._by_vid.pop(known.venue_id, None)
        known.venue_id = vid
        self._by_vid[vid] = known.ex_cid
        known.status = status
        known.filled = max(known.filled, filled)

    def _set_status(self, ex_cid: str | None, vid: str | None, status: OrderStatus) -> None:
        if ex_cid is None and vid is not None:
            ex_cid = self._by_vid.get(vid)
        known = self._orders.get(ex_cid) if ex_cid is not None else None
        if known is None:
            return
        if vid is not None and known.venue_id is None:
            known.venue_id = vid
            self._by_vid[vid] = known.ex_cid
        known.status = status

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

    def _cap(self, symbol: str) -> Decimal | None:
        table = self._tables.get(symbol)
        if table is not None:
            return table.max_leverage_at(Decimal(0))
        return self._caps.get(symbol)

    def _settle_currency(self) -> str:
        for sym in self._infos:
            market = self.exchange.markets.get(sym) or {}
            if market.get("settle"):
                return str(market["settle"])
        return "USDT"

    def __repr__(self) -> str:
        return f"CcxtVenue(name={self._name!r}, exchange={self.exchange_id!r})"


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _replace(report: OrderStatusReport, **changes: Any) -> OrderStatusReport:
    import dataclasses  # noqa: PLC0415

    return dataclasses.replace(report, **changes)
