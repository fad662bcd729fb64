"""The ccxt bridge's streams: books by ``watch_order_book``, the private stream by
``watch_orders`` and ``watch_my_trades`` (or REST polls where there is none), supervised, and
the reconcile that runs before trading resumes after a failure. :class:`CcxtStreams` is the side
of :class:`~hedgekit.venues.ccxt.CcxtVenue` that does it (a base class: the venue fills in the
calls it uses)."""

from __future__ import annotations

import asyncio
import decimal
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.errors import AmbiguousOutcomeError
from hedgekit.model import (
    Fill,
    OrderStatus,
    OrderStatusReport,
    OrderUpdate,
    Side,
    StreamStatus,
    TimeInForce,
)
from hedgekit.venues._local import LocalState
from hedgekit.venues.transport import Backoff

__all__ = ["CcxtStreams", "TrackedOrder"]

log = logging.getLogger("hedgekit.ccxt")

MS = 1_000_000
_SEEN = 10_000
_NO_STREAM = ("ArgumentsRequired", "NotSupported")


@dataclass(slots=True)
class TrackedOrder:
    """One order of ours as the bridge tracks it: its ids, its last known status and fill, and
    the last update it delivered."""

    symbol: str
    client_id: str
    ex_cid: str
    venue_id: str | None
    status: OrderStatus
    size: Decimal
    side: Side
    tif: TimeInForce
    filled: Decimal = Decimal(0)
    reported: tuple[OrderStatus, Decimal] | None = None  # the last update delivered


class CcxtStreams(LocalState):
    """The streams of :class:`~hedgekit.venues.ccxt.CcxtVenue` (the venue sets the attributes
    and overrides the calls below)."""

    exchange: Any
    exchange_id: str
    poll_interval_s: float
    book_timeout_s: float
    streaming: bool | None
    stream_errors: int
    _want_stream: bool
    _backoff: Backoff
    _ready: asyncio.Event | None
    _orders: dict[str, TrackedOrder]
    _by_vid: dict[str, str]
    _seen: OrderedDict[tuple[str, str], None]
    _start_ms: int
    _fills_since_ms: int

    async def _call(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        raise NotImplementedError

    async def _status(
        self, symbol: str, vid: str | None, ex_cid: str | None
    ) -> OrderStatusReport | None:
        raise NotImplementedError

    def _report(self, symbol: str, row: Mapping[str, Any]) -> OrderStatusReport:
        raise NotImplementedError

    def _fill(self, row: Mapping[str, Any]) -> Fill:
        raise NotImplementedError

    def _ex_cid(self, client_id: str) -> str:
        raise NotImplementedError

    def _set_status(self, ex_cid: str | None, vid: str | None, status: OrderStatus) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------ streams
    async def _book_loop(self, symbol: str) -> None:
        """Keeps ``symbol``'s book: ``watch_order_book`` where the exchange streams it, else
        ``fetch_order_book`` every poll interval. A failure clears the book until the next
        snapshot."""
        decimal.setcontext(decimal.Context())  # this task's own: ccxt may change it
        book = self._books[symbol]
        streaming = bool(self.exchange.has.get("watchOrderBook"))
        backoff = Backoff(self._backoff.initial_s, self._backoff.max_s)
        while True:
            try:
                if streaming:
                    async with asyncio.timeout(self.book_timeout_s):
                        ob = await self.exchange.watch_order_book(symbol)
                else:
                    ob = await self._call(self.exchange.fetch_order_book, symbol)
                book.apply_snapshot(
                    [(str(level[0]), str(level[1])) for level in ob["bids"]],
                    [(str(level[0]), str(level[1])) for level in ob["asks"]],
                    self._clock.now_ns(),
                )
                backoff.reset()
                if not streaming:
                    await asyncio.sleep(self._poll_s())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a feed failure is logged and retried
                book.clear()
                log.info("%s: book %s: %s; resubscribing", self._name, symbol, exc)
                await asyncio.sleep(backoff.next_delay())

    def _poll_s(self) -> float:
        spacing = float(getattr(self.exchange, "rateLimit", 0) or 0) / 1000
        if getattr(self.exchange, "enableRateLimit", False):
            return max(self.poll_interval_s, 2 * spacing)
        return self.poll_interval_s

    def _set_ready(self, up: bool) -> None:
        assert self._ready is not None
        if up == self._ready.is_set():
            return
        if up:
            self._ready.set()
        else:
            self._ready.clear()
        self._deliver(StreamStatus(self._name, up, self._clock.now_ns()))

    async def _private_loop(self) -> None:
        """The private stream, supervised: watch (or poll), and after any failure go down,
        back off, resubscribe and reconcile before trading resumes."""
        decimal.setcontext(decimal.Context())
        self.streaming = self._want_stream and bool(
            self.exchange.has.get("watchOrders") and self.exchange.has.get("watchMyTrades")
        )
        while True:
            try:
                if self.streaming:
                    await self._watch_private()
                else:
                    await self._poll_private()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is a reconnect
                if self.streaming and _names(exc) & set(_NO_STREAM):
                    log.warning("%s: no private stream (%s); polling", self._name, exc)
                    self.streaming = False
                    continue
                self.stream_errors += 1
                log.info("%s: private stream failed (%s); reconnecting", self._name, exc)
            self._set_ready(False)
            await asyncio.sleep(self._backoff.next_delay())

    def _watcher(self, kind: str) -> Callable[[], Awaitable[list[Any]]]:
        """ccxt.pro's ``watch_orders`` / ``watch_my_trades``; for an exchange whose unified call
        is broken in ccxt 4.5.90, the same subscription made the way that call means to."""
        if self.exchange_id in _USER_STREAM_SHIM:
            return lambda: _user_stream(self.exchange, kind)
        fn: Callable[[], Awaitable[list[Any]]]
        fn = self.exchange.watch_orders if kind == "orders" else self.exchange.watch_my_trades
        return fn

    async def _watch_private(self) -> None:
        orders = asyncio.ensure_future(self._watch_loop(self._watcher("orders"), self._on_order))
        trades = asyncio.ensure_future(self._watch_loop(self._watcher("myTrades"), self._on_trade))
        pair = {orders, trades}
        try:
            # resubscribed first (the sockets are open), then reconciled, then ready
            for _ in range(200):
                if any(t.done() for t in pair) or self._subscribed():
                    break
                await asyncio.sleep(0.01)
            for t in pair:
                if t.done():
                    t.result()
            await self._reconcile()
            self._set_ready(True)
            self._backoff.reset()
            done, _ = await asyncio.wait(pair, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
            raise AmbiguousOutcomeError(self._name, "private stream ended")
        finally:
            for t in pair:
                t.cancel()
            await asyncio.gather(*pair, return_exceptions=True)

    def _subscribed(self) -> bool:
        clients = list(getattr(self.exchange, "clients", {}).values())
        if not clients:
            return False
        for c in clients:
            fut = getattr(c, "connected", None)
            if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
                return False
        return True

    async def _watch_loop(
        self, watch: Callable[..., Awaitable[list[Any]]], take: Callable[[Mapping[str, Any]], None]
    ) -> None:
        decimal.setcontext(decimal.Context())
        while True:
            rows = await watch()
            for row in rows:
                if row.get("symbol") in self._infos:
                    take(row)

    async def _poll_private(self) -> None:
        """The private stream by REST: our trades since the last one seen, and a status query
        for every order of ours that left the open list or changed its fill."""
        await self._reconcile()
        self._set_ready(True)
        self._backoff.reset()
        while True:
            await asyncio.sleep(self._poll_s())
            await self._reconcile(poll=True)

    def _on_order(self, row: Mapping[str, Any]) -> None:
        sym = str(row["symbol"])
        known_cid = self._by_vid.get(str(row.get("id")))
        known = self._orders.get(known_cid) if known_cid else None
        if known is not None and row.get("amount") is None:
            row = {**row, "amount": known.size}
        report = self._report(sym, row)
        ex_cid = known_cid or self._ex_cid(report.client_id)
        self._set_status(ex_cid, report.venue_order_id, report.status)
        self._report_update(self._orders.get(ex_cid), sym, report)

    def _report_update(
        self, known: TrackedOrder | None, symbol: str, report: OrderStatusReport
    ) -> None:
        """Delivers an order's update (and remembers it was delivered: a reconcile reports
        only what the stream has not)."""
        if known is not None:
            known.filled = max(known.filled, report.filled)
            known.reported = (report.status, report.filled)
        self._deliver(
            OrderUpdate(
                self._name,
                symbol,
                report.client_id,
                report.venue_order_id,
                report.status,
                report.filled,
                report.ts_ns,
                report.reason,
            )  # fmt: skip
        )

    def _on_trade(self, row: Mapping[str, Any]) -> None:
        f = self._fill(row)
        key = (str(f.trade_id), f.venue_order_id)
        if key in self._seen or f.ts_ns // MS < self._start_ms:
            return
        self._seen[key] = None
        if len(self._seen) > _SEEN:
            self._seen.popitem(last=False)
        self._fills_since_ms = max(self._fills_since_ms, f.ts_ns // MS)
        self._deliver(f)

    async def _reconcile(self, *, poll: bool = False) -> None:
        """Fills missed since the last one seen (``fetch_my_trades``), and every order still
        open on our side checked: against ``fetch_open_orders`` where polling, by a status
        query (``fetch_order``) where it left the list or after a reconnect."""
        since = max(0, self._fills_since_ms - 1000)
        # every order whose final state the events have not told yet
        live = [
            o for o in self._orders.values() if o.reported is None or not o.reported[0].is_terminal
        ]
        symbols = sorted({o.symbol for o in live} | ({*self._traded()} if poll else set()))
        for sym in symbols or (list(self._infos) if not poll else []):
            rows = await self._call(self.exchange.fetch_my_trades, sym, since)
            for r in sorted(rows, key=lambda r: (r.get("timestamp") or 0, str(r.get("id")))):
                if r.get("symbol") in self._infos:
                    self._on_trade(r)
        if not live:
            return
        open_rows: dict[str, Mapping[str, Any]] = {}
        if poll:
            for sym in sorted({o.symbol for o in live}):
                for r in await self._call(self.exchange.fetch_open_orders, sym):
                    open_rows[str(r.get("id"))] = r
        for o in live[:100]:
            row = open_rows.get(o.venue_id or "")
            if row is not None:
                report = self._report(o.symbol, {**row, "amount": row.get("amount") or o.size})
            else:
                if o.venue_id is None:
                    continue  # its placement is still in flight: its answer will tell
                found = await self._status(o.symbol, o.venue_id, o.ex_cid)
                if found is None:
                    continue
                report = found
            if (report.status, report.filled) == o.reported:
                continue
            o.status = report.status
            self._report_update(o, o.symbol, report)

    def _traded(self) -> set[str]:
        return {o.symbol for o in self._orders.values()}


_USER_STREAM_SHIM = frozenset({"aster"})
"""Exchanges whose ccxt.pro ``watch_orders``/``watch_my_trades`` raise ``ArgumentsRequired``
whatever they are given (ccxt 4.5.90's ``aster``: the market type it checks is never set)."""


async def _user_stream(exchange: Any, kind: str) -> list[Any]:
    """One wait on a Binance-style user-data stream of ccxt.pro (``kind``: ``orders`` or
    ``myTrades``): the listenKey, the socket and the subscription exactly as ccxt's own
    ``watch_orders`` makes them for the ``swap`` market type, without its broken check."""
    await exchange.authenticate("swap", {})
    url = exchange.get_private_url("swap")
    client = exchange.client(url)
    exchange.set_balance_cache(client, "swap")
    # ccxt's handlers read the market type from the socket's URL: the same cache for that type
    # too (a URL without ``fstream`` reads as spot)
    exchange.set_balance_cache(client, exchange.get_account_type_from_url(url))
    rows: list[Any] = await exchange.watch_multiple(url, [kind], None, ["swap"])
    return rows


def _names(exc: BaseException) -> set[str]:
    return {k.__name__ for k in type(exc).__mro__}
