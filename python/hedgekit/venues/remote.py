"""A simulated venue out of process: :class:`VenueServer` serves a
:class:`~hedgekit.venues.sim.SimVenue` over TCP, and :class:`RemoteVenue` is the
:class:`~hedgekit.venues.Venue` protocol on the client side of that connection.

The point is a venue that outlives its client: a client process may be killed at any moment
(``SIGKILL``), the venue keeps running with whatever reached it, and a new client connects later
and finds the venue's truth there (used by the process-kill recovery tests).

Wire format: one JSON object per line (``orjson``). Decimals travel as strings, enums as their
values, dataclasses as objects (private events carry a ``"type"`` tag).

* client → server: ``{"id": n, "op": "hello"|"place"|"cancel"|"modify"|"order_status"|"fills"|
  "positions"|"open_orders"|"funding_rates"|"account"|"leverage"|"set_leverage"|"funding_payments", "args":
  {...}}``. The hello's answer carries each instrument's funding schedule (``mode``,
  ``interval_s``, ``anchor_ns``), so :meth:`RemoteVenue.funding_schedule` needs no request.
* server → client: ``{"id": n, "ok": value}`` or ``{"id": n, "err": {"type", "venue", "message",
  "code", "reason", "retry_after_s"}}``
* server pushes: ``{"push": "event", "event": {"type": "Fill"|"OrderUpdate"|"StreamStatus"|
  "Liquidation"|"Deleverage"|"FundingPayment", ...}}`` for every private event the venue
  delivers, and ``{"push": "book", "symbol", "bids":
  [[px, sz], ...], "asks": [...]}`` whenever the venue's own copy of a book changed (polled every
  50 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
import itertools
import logging
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

import orjson

from hedgekit._core import Instrument, OrderBook
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    UnknownOrderError,
    VenueDisconnectedError,
    VenueError,
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
    OrderStatusReport,
    OrderUpdate,
    Position,
    StreamStatus,
    VenueEvent,
)
from hedgekit.risk.funding import FundingMode, FundingSchedule
from hedgekit.risk.tiers import MarginTable, MarginTier
from hedgekit.venues.base import InstrumentInfo, Quote
from hedgekit.venues.sim.venue import SimEventStream, SimVenue

__all__ = ["RemoteVenue", "VenueServer"]

log = logging.getLogger("hedgekit.remote")

_M = TypeVar("_M")
_LINE_LIMIT = 16 * 1024 * 1024
_BOOK_POLL_S = 0.05
_BOOK_DEPTH = 20


# --------------------------------------------------------------------------------- encoding
def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default) + b"\n"


def _dec(x: Any) -> Decimal:
    return Decimal(str(x))


def _converter(tp: Any) -> Callable[[Any], Any]:
    """A function turning a JSON value into the type ``tp`` of a model field (``None`` stays
    ``None``); built once per field, so decoding does no type reflection."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) != 1:
            return _as_sent  # int | str: as sent
        return _converter(options[0])
    if origin is tuple:
        item = _converter(typing.get_args(tp)[0])
        return lambda v: None if v is None else tuple(item(x) for x in v)
    if tp is Decimal:
        return lambda v: None if v is None else _dec(v)
    if dataclasses.is_dataclass(tp):
        cls = typing.cast(type, tp)
        return lambda v: None if v is None else _from_wire(cls, v)
    if isinstance(tp, type) and issubclass(tp, enum.Enum | int | bool | str):
        kind = tp
        return lambda v: None if v is None else kind(v)
    return _as_sent


def _as_sent(value: Any) -> Any:
    return value


@functools.cache
def _field_converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))


def _from_wire(cls: type[_M], d: Mapping[str, Any]) -> _M:
    """A model dataclass (:mod:`hedgekit.model`) from its JSON form; absent fields take their
    defaults."""
    fields = _field_converters(typing.cast(type, cls))
    return cls(**{name: conv(d[name]) for name, conv in fields if name in d})


def _event_to_wire(event: VenueEvent) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(orjson.dumps(event, default=_default))
    body["type"] = type(event).__name__
    return body


_EVENT_TYPES: dict[str, type[VenueEvent]] = {
    cls.__name__: cls
    for cls in (Fill, OrderUpdate, StreamStatus, Liquidation, Deleverage, FundingPayment)
}


def _event_from_wire(d: Mapping[str, Any]) -> VenueEvent:
    kind = d.get("type")
    cls = _EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    return _from_wire(cls, d)


def _schedule_to_wire(schedule: FundingSchedule) -> dict[str, Any]:
    return {
        "mode": schedule.mode.value,
        "interval_s": schedule.interval_s,
        "anchor_ns": schedule.anchor_ns,
    }


def _table_to_wire(table: MarginTable | None) -> list[list[str]] | None:
    if table is None:
        return None
    return [
        [
            str(t.notional_floor),
            str(t.max_leverage),
            str(t.maintenance_rate),
            str(t.maintenance_amount),
        ]
        for t in table.tiers
    ]


def _table_from_wire(rows: Any) -> MarginTable | None:
    if rows is None:
        return None
    return MarginTable(tuple(MarginTier(*(Decimal(x) for x in row)) for row in rows))


def _schedule_from_wire(d: Mapping[str, Any]) -> FundingSchedule:
    return FundingSchedule(FundingMode(d["mode"]), int(d["interval_s"]), int(d["anchor_ns"]))


def _error_to_wire(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, VenueError):
        return {
            "type": type(exc).__name__,
            "venue": exc.venue,
            "message": exc.message,
            "code": exc.code,
            "reason": getattr(exc, "reason", None),
            "retry_after_s": getattr(exc, "retry_after_s", None),
        }
    return {
        "type": type(exc).__name__,
        "venue": None,
        "message": str(exc),
        "code": None,
        "reason": None,
        "retry_after_s": None,
    }


_PLAIN_ERRORS: dict[str, type[VenueError]] = {
    "VenueError": VenueError,
    "UnknownOrderError": UnknownOrderError,
    "AmbiguousOutcomeError": AmbiguousOutcomeError,
    "VenueTimeoutError": VenueTimeoutError,
    "VenueDisconnectedError": VenueDisconnectedError,
    "VenueUnavailableError": VenueUnavailableError,
}


def _error_from_wire(venue: str, e: Mapping[str, Any]) -> Exception:
    kind = str(e.get("type"))
    name = e.get("venue") or venue
    message = str(e.get("message", ""))
    code = e.get("code")
    if kind == "NotImplementedError":
        return NotImplementedError(message)
    if kind == "RateLimitedError":
        return RateLimitedError(name, message, code, float(e.get("retry_after_s") or 0.0))
    if kind == "PostOnlyRejectedError":
        return PostOnlyRejectedError(name, message, code)
    if kind == "LeverageRejectedError":
        return LeverageRejectedError(name, message, code)
    if kind == "OrderRejectedError":
        return OrderRejectedError(name, message, code, str(e.get("reason") or "other"))
    cls = _PLAIN_ERRORS.get(kind)
    if cls is not None:
        return cls(name, message, code)
    # Anything else failed inside the server: whether the venue acted is unknown.
    return AmbiguousOutcomeError(name, f"{kind}: {message}", code)


def _rules_to_wire(rules: Instrument) -> dict[str, Any]:
    return {
        "kind": rules.kind,
        "tick_size": rules.tick_size,
        "step_size": rules.step_size,
        "min_qty": rules.min_qty,
        "min_notional": rules.min_notional,
        "max_decimals": rules.max_decimals,
        "reduce_only_exempt": rules.reduce_only_exempt,
    }


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _rules_from_wire(d: Mapping[str, Any]) -> Instrument:
    kind = d["kind"]
    tick, step = _dec(d["tick_size"]), _dec(d["step_size"])
    min_qty, min_notional = _dec(d["min_qty"]), _dec(d["min_notional"])
    exempt = bool(d["reduce_only_exempt"])
    if kind == "hyperliquid":
        return Instrument.hyperliquid(
            _decimals(step), min_notional=min_notional, reduce_only_exempt=exempt
        )
    if kind == "lighter":
        return Instrument.lighter(
            _decimals(tick),
            _decimals(step),
            min_base_amount=min_qty,
            min_quote_amount=min_notional,
            reduce_only_exempt=exempt,
        )
    return Instrument.plain(
        tick,
        step,
        min_qty=min_qty,
        min_notional=min_notional,
        max_decimals=int(d["max_decimals"]),
        reduce_only_exempt=exempt,
    )


# ----------------------------------------------------------------------------------- server
class VenueServer:
    """Serves one :class:`~hedgekit.venues.sim.SimVenue` to any number of clients over TCP.

    The server never connects or closes the venue: its owner does. A client that disconnects
    (or is killed) ends only its own connection; the venue goes on, and a later client sees
    everything that happened meanwhile.

    Args:
        venue: The venue to serve.
        host: Address to listen on.
        port: Port to listen on (0: any free port; read :attr:`port` after :meth:`start`).
    """

    def __init__(self, venue: SimVenue, host: str = "127.0.0.1", port: int = 0) -> None:
        self.venue = venue
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the actual one once started)."""
        return self._port

    async def start(self) -> None:
        """Starts listening."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._on_client, self.host, self._port, limit=_LINE_LIMIT
        )
        sockets = self._server.sockets
        if sockets:
            self._port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stops listening and ends every client connection (the venue is left running)."""
        if self._server is not None:
            self._server.close()
        handlers = list(self._handlers)
        for t in handlers:
            t.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # Only :meth:`close` cancels a connection; ending normally keeps asyncio's stream
            # callback (which calls ``task.exception()`` on 3.11) from logging it as an error.
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        tasks: set[asyncio.Task[None]] = set()
        sub = self.venue.events()

        def send(obj: Any) -> None:
            if not writer.is_closing():
                writer.write(_dumps(obj))

        async def events() -> None:
            async for ev in sub:
                send({"push": "event", "event": _event_to_wire(ev)})

        async def books() -> None:
            seen: dict[str, int] = {}
            while True:
                for sym in self.venue.instruments():
                    book = self.venue.book(sym)
                    ts = book.last_update_ns
                    if ts == 0 or seen.get(sym) == ts:
                        continue
                    seen[sym] = ts
                    send(
                        {
                            "push": "book",
                            "symbol": sym,
                            "bids": book.levels("bid", _BOOK_DEPTH),
                            "asks": book.levels("ask", _BOOK_DEPTH),
                        }
                    )
                await writer.drain()
                await asyncio.sleep(_BOOK_POLL_S)

        async def answer(msg: Mapping[str, Any]) -> None:
            rid = msg.get("id")
            try:
                value = await self._dispatch(str(msg.get("op")), msg.get("args") or {})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the client
                send({"id": rid, "err": _error_to_wire(exc)})
            else:
                send({"id": rid, "ok": value})

        def spawn(coro: Any) -> None:
            t: asyncio.Task[None] = asyncio.ensure_future(coro)
            tasks.add(t)
            t.add_done_callback(tasks.discard)

        spawn(events())
        spawn(books())
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    msg = orjson.loads(line)
                except orjson.JSONDecodeError:
                    log.warning("%s server: malformed line dropped", self.venue.name)
                    continue
                spawn(answer(msg))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client is gone (killed or closed): only this connection ends
        finally:
            sub.close()
            pending = list(tasks)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    async def _dispatch(self, op: str, a: Mapping[str, Any]) -> Any:
        v = self.venue
        if op == "hello":
            return {
                "venue": v.name,
                "supports_modify": v.supports_modify,
                "placement_window_ns": getattr(v, "placement_window_ns", None),
                "instruments": [
                    {
                        "symbol": info.symbol,
                        "rules": _rules_to_wire(info.rules),
                        "maker_fee": info.maker_fee,
                        "taker_fee": info.taker_fee,
                        "funding_interval_s": info.funding_interval_s,
                        "funding_schedule": _schedule_to_wire(v.funding_schedule(info.symbol)),
                        "margin_table": _table_to_wire(v.margin_table(info.symbol)),
                    }
                    for info in v.instruments().values()
                ],
            }
        if op == "place":
            return await v.place(_from_wire(OrderRequest, a["request"]))
        if op == "cancel":
            result = await v.cancel(
                a["symbol"], client_id=a.get("client_id"), venue_order_id=a.get("venue_order_id")
            )
            return result.value
        if op == "modify":
            return await v.modify(
                a["symbol"], a["client_id"], price=_dec(a["price"]), size=_dec(a["size"])
            )
        if op == "order_status":
            return await v.order_status(
                a["symbol"], client_id=a.get("client_id"), venue_order_id=a.get("venue_order_id")
            )
        if op == "fills":
            return await v.fills(a.get("symbol"), since_ns=int(a.get("since_ns", 0)))
        if op == "positions":
            return list((await v.positions()).values())
        if op == "open_orders":
            return await v.open_orders(a.get("symbol"))
        if op == "funding_rates":
            return list((await v.funding_rates()).values())
        if op == "account":
            return await v.account()
        if op == "leverage":
            return await v.leverage(str(a["symbol"]))
        if op == "set_leverage":
            return await v.set_leverage(str(a["symbol"]), _dec(a["leverage"]))
        if op == "funding_payments":
            return await v.funding_payments(int(a.get("since_ns", 0)))
        raise ValueError(f"unknown op {op!r}")


# ----------------------------------------------------------------------------------- client
class RemoteVenue:
    """The :class:`~hedgekit.venues.Venue` protocol over a connection to a :class:`VenueServer`.

    Books are kept locally from the server's book pushes (stamped with this side's clock at
    receipt); private events are fanned out to every :meth:`events` subscription. Every request
    waits for its answer at most ``request_timeout_s``.

    Args:
        name: The served venue's name (must match the server's).
        host: The server's address.
        port: The server's port.
        clock: Stamps received books (default: the running loop's clock).
        request_timeout_s: How long a request waits for its answer.
        connect_timeout_s: How long :meth:`connect` waits for the connection and the hello.
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        *,
        clock: Clock | None = None,
        request_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._name = name
        self.host = host
        self.port = port
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._supports_modify = False
        self._placement_window_ns: int | None = None
        self._infos: dict[str, InstrumentInfo] = {}
        self._schedules: dict[str, FundingSchedule] = {}
        self._tables: dict[str, MarginTable | None] = {}
        self._books: dict[str, OrderBook] = {}
        self._subs: list[SimEventStream] = []
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = False

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    @property
    def supports_modify(self) -> bool:
        """Whether the served venue modifies orders in place (known after :meth:`connect`)."""
        return self._supports_modify

    @property
    def placement_window_ns(self) -> int | None:
        """The served venue's placement window, as its hello gave it (``None`` before
        :meth:`connect`, or when it states none): see
        :func:`hedgekit.tracking.placement_grace_ns`."""
        return self._placement_window_ns

    @property
    def connected(self) -> bool:
        """True while the connection is up."""
        return self._connected

    async def connect(self) -> None:
        """Opens the connection, loads the instruments and starts reading pushes.

        Raises:
            VenueDisconnectedError: The server cannot be reached.
            VenueTimeoutError: No hello answer in time.
            ValueError: The server serves a venue of another name.
        """
        if self._connected:
            return
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                self._reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, limit=_LINE_LIMIT
                )
        except (OSError, TimeoutError) as exc:
            raise VenueDisconnectedError(self._name, f"cannot connect: {exc!r}") from None
        self._connected = True
        self._task = asyncio.ensure_future(self._read_loop(self._reader))
        try:
            hello = await self._call("hello", {}, self.connect_timeout_s)
        except BaseException:
            await self.close()
            raise
        if hello["venue"] != self._name:
            await self.close()
            raise ValueError(f"server serves {hello['venue']!r}, not {self._name!r}")
        self._supports_modify = bool(hello["supports_modify"])
        window = hello.get("placement_window_ns")
        self._placement_window_ns = window if isinstance(window, int) and window > 0 else None
        for i in hello["instruments"]:
            sym = i["symbol"]
            self._infos[sym] = InstrumentInfo(
                venue=self._name,
                symbol=sym,
                rules=_rules_from_wire(i["rules"]),
                maker_fee=_dec(i["maker_fee"]),
                taker_fee=_dec(i["taker_fee"]),
                funding_interval_s=int(i["funding_interval_s"]),
            )
            self._tables[sym] = _table_from_wire(i.get("margin_table"))
            schedule = i.get("funding_schedule")
            self._schedules[sym] = (
                FundingSchedule.periodic(int(i["funding_interval_s"]))
                if schedule is None
                else _schedule_from_wire(schedule)
            )
            self._books.setdefault(sym, OrderBook(self._name, sym))

    async def close(self) -> None:
        """Stops the reader task, closes the connection and every subscription."""
        self._connected = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
        self._fail_pending("connection closed")
        for sub in list(self._subs):
            sub.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --------------------------------------------------------------------------- local state
    def instruments(self) -> Mapping[str, InstrumentInfo]:
        """Every instrument, by symbol (after :meth:`connect`)."""
        return self._infos

    def book(self, symbol: str) -> OrderBook:
        """Our copy of the book, from the server's pushes.

        Raises:
            KeyError: Unknown symbol.
        """
        return self._books[symbol]

    def quote(self, symbol: str) -> Quote | None:
        """Best bid and ask of our copy of the book, ``None`` when a side is empty."""
        return Quote.from_book(self._books[symbol])

    def events(self) -> SimEventStream:
        """A new subscription to the private stream."""
        sub = SimEventStream(self._subs.remove)
        self._subs.append(sub)
        return sub

    # ------------------------------------------------------------------------------ requests
    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order (see :class:`~hedgekit.venues.Venue`)."""
        return _from_wire(OrderAck, await self._call("place", {"request": request}))

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels an order by either id."""
        args = {"symbol": symbol, "client_id": client_id, "venue_order_id": venue_order_id}
        return CancelResult(await self._call("cancel", args))

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Changes a resting order in place.

        Raises:
            NotImplementedError: The venue cannot modify.
        """
        if not self._supports_modify:
            raise NotImplementedError(f"{self._name} cannot modify orders")
        args = {"symbol": symbol, "client_id": client_id, "price": price, "size": size}
        return _from_wire(OrderAck, await self._call("modify", args))

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The venue's view of one order, ``None`` when it does not know it."""
        args = {"symbol": symbol, "client_id": client_id, "venue_order_id": venue_order_id}
        value = await self._call("order_status", args)
        return None if value is None else _from_wire(OrderStatusReport, value)

    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills as the venue lists them (oldest first)."""
        value = await self._call("fills", {"symbol": symbol, "since_ns": since_ns})
        return [_from_wire(Fill, f) for f in value]

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position, by symbol."""
        return {
            p.symbol: p
            for p in (_from_wire(Position, d) for d in await self._call("positions", {}))
        }

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order of ours still resting, oldest first."""
        value = await self._call("open_orders", {"symbol": symbol})
        return [_from_wire(OrderStatusReport, d) for d in value]

    async def funding_rates(self) -> dict[str, FundingRate]:
        """The current funding rate of every instrument, by symbol."""
        return {
            r.symbol: r
            for r in (_from_wire(FundingRate, d) for d in await self._call("funding_rates", {}))
        }

    async def account(self) -> AccountState:
        """The account's collateral and margins."""
        return _from_wire(AccountState, await self._call("account", {}))

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol``.

        Raises:
            KeyError: Unknown symbol.
        """
        self._infos[symbol]  # raises KeyError for an unknown symbol
        return _dec(await self._call("leverage", {"symbol": symbol}))

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s leverage; the venue's refusal comes back as the same error
        (:class:`~hedgekit.errors.LeverageRejectedError` with the venue's text).

        Raises:
            KeyError: Unknown symbol.
        """
        self._infos[symbol]  # raises KeyError for an unknown symbol
        return _dec(await self._call("set_leverage", {"symbol": symbol, "leverage": leverage}))

    def margin_table(self, symbol: str) -> MarginTable | None:
        """``symbol``'s margin tiers, as the server's hello gave them.

        Raises:
            KeyError: An unknown symbol.
        """
        if symbol not in self._infos:
            raise KeyError(symbol)
        return self._tables.get(symbol)

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """``symbol``'s funding schedule, as the server's hello gave it.

        Raises:
            KeyError: Unknown symbol.
        """
        return self._schedules[symbol]

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding booked on our positions since ``since_ns``, oldest first."""
        value = await self._call("funding_payments", {"since_ns": since_ns})
        return [_from_wire(FundingPayment, d) for d in value]

    # ------------------------------------------------------------------------------ plumbing
    async def _call(self, op: str, args: Mapping[str, Any], timeout_s: float | None = None) -> Any:
        writer = self._writer
        if not self._connected or writer is None or writer.is_closing():
            raise VenueDisconnectedError(self._name, f"{op}: not connected")
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        limit = self.request_timeout_s if timeout_s is None else timeout_s
        try:
            writer.write(_dumps({"id": rid, "op": op, "args": args}))
            async with asyncio.timeout(limit):
                return await fut
        except TimeoutError:
            raise VenueTimeoutError(self._name, f"no answer to {op} within {limit:g} s") from None
        except (ConnectionError, RuntimeError) as exc:
            raise VenueDisconnectedError(self._name, f"{op}: {exc!r}") from None
        finally:
            self._pending.pop(rid, None)

    def _fail_pending(self, why: str) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(VenueDisconnectedError(self._name, why))
        self._pending.clear()

    def _deliver(self, event: VenueEvent) -> None:
        for sub in list(self._subs):
            sub._put(event)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        handlers: dict[str, Callable[[Mapping[str, Any]], None]] = {
            "event": lambda m: self._deliver(_event_from_wire(m["event"])),
            "book": self._on_book,
        }
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                msg = orjson.loads(line)
                push = msg.get("push")
                if push is not None:
                    handler = handlers.get(push)
                    if handler is not None:
                        handler(msg)
                    continue
                fut = self._pending.get(msg.get("id"))
                if fut is None or fut.done():
                    continue  # answer to a request that already timed out
                if "err" in msg:
                    fut.set_exception(_error_from_wire(self._name, msg["err"]))
                else:
                    fut.set_result(msg.get("ok"))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            log.warning("%s: connection lost: %r", self._name, exc)
        if self._connected:
            # The server went away: outstanding requests have unknown outcomes, and the
            # private stream is down.
            self._connected = False
            self._fail_pending("connection dropped while waiting for the answer")
            self._deliver(StreamStatus(self._name, False, self._clock.now_ns()))

    def _on_book(self, msg: Mapping[str, Any]) -> None:
        # A push may overtake the hello's answer: the book is created on first sight.
        sym = str(msg["symbol"])
        book = self._books.get(sym)
        if book is None:
            book = self._books[sym] = OrderBook(self._name, sym)
        book.apply_snapshot(msg["bids"], msg["asks"], ts_ns=self._clock.now_ns())

    def __repr__(self) -> str:
        return f"RemoteVenue(name={self._name!r}, {self.host}:{self.port})"
