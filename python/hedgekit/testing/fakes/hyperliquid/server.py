"""The fake Hyperliquid server: one aiohttp app on one 127.0.0.1 port (``POST /info``,
``POST /exchange``, ``GET /ws``) and the Python handle a test drives it with.

Everything runs on the event loop the fake was started on: the handlers, the WebSocket writers
(one task per connection, so messages leave in order), a ticker task (``l2Book`` snapshots every
``book_interval_s``, ``bbo`` on change, the hourly funding, due ``scheduleCancel`` triggers) and
the venue's delayed actions. All of them are owned by the fake and cancelled by :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from hedgekit.clock import Clock, LoopClock
from hedgekit.model import Side
from hedgekit.testing.fakes.faults import Fault, FaultKind, WireFaults
from hedgekit.testing.fakes.hyperliquid.exchange import Answer, Exchange
from hedgekit.testing.fakes.hyperliquid.info import answer_info
from hedgekit.testing.fakes.hyperliquid.market import DEFAULT_MARKETS, FakeMarket
from hedgekit.testing.fakes.hyperliquid.state import AccountState, Later, VenueState
from hedgekit.testing.fakes.hyperliquid.wire import OrderRecord, Push, num

__all__ = ["FakeHyperliquid"]

_log = logging.getLogger(__name__)

_BAD_BODY = "Failed to deserialize the JSON body into the target type"
_HOUR_MS = 3_600_000
_USER_SUBS = frozenset({"orderUpdates", "userFills", "userEvents", "userFundings"})
_COIN_SUBS = frozenset({"l2Book", "trades", "bbo"})
_SEND_QUEUE = 10_000


class _Conn:
    """One WebSocket client: its subscriptions and its writer queue."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.subs: dict[tuple[str, str], dict[str, Any]] = {}
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(_SEND_QUEUE)
        self.last_bbo: dict[str, Any] = {}

    def drop(self) -> None:
        """Aborts the TCP connection (no close frame: the client sees it vanish)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def wants(self, sub_type: str, key: str) -> bool:
        return (sub_type, key) in self.subs


class FakeHyperliquid:
    """A wire-level fake of Hyperliquid's perps venue that ``hyperliquid-python-sdk`` accepts.

    Use it as an async context manager on the test's loop::

        async with FakeHyperliquid(accounts=[addr], balance=Decimal(10_000), seed=1) as fake:
            exchange = Exchange(wallet, fake.url)  # the SDK, in a thread
            fake.move_price("ETH", Decimal(3010))
            fake.trade_against("ETH", Side.SELL, Decimal(2))
            fake.faults.drop_ws()

    See ``docs/fakes.md`` for what it serves, its rules and texts, and the faults.

    Args:
        accounts: Addresses with an account at start, each with ``balance`` USDC. None given:
            any signer is accepted and gets an account on first sight.
        balance: Starting USDC of every account.
        markets: The perps (asset id = position); default BTC, ETH, SOL.
        seed: Seeds the faults' draws and the engines.
        faults: The faults (default: a fresh :class:`WireFaults` with ``seed``).
        port: The port on 127.0.0.1 (0: any free one).
        source: The phantom-agent source tried first for a new signer (``"b"``: the SDK against
            a non-mainnet URL; ``"a"``: ccxt).
        book_interval_s: Seconds between ``l2Book`` snapshots to subscribers (Hyperliquid:
            about 0.5).
        min_schedule_delay_s: How far ahead ``scheduleCancel`` must be (the venue: 5 s).
        hourly_funding: Pay funding at every UTC hour boundary while running.
        clock: Where the venue's time comes from (default: the loop's wall clock).
    """

    def __init__(
        self,
        accounts: Iterable[str] = (),
        *,
        balance: Decimal = Decimal(100_000),
        markets: Sequence[FakeMarket] = DEFAULT_MARKETS,
        seed: int = 0,
        faults: WireFaults | None = None,
        port: int = 0,
        source: str = "b",
        book_interval_s: float = 0.5,
        min_schedule_delay_s: float = 5.0,
        hourly_funding: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if book_interval_s <= 0:
            raise ValueError(f"book_interval_s must be positive, got {book_interval_s}")
        self.state = VenueState(markets, balance, seed)
        addresses = [a.lower() for a in accounts]
        for address in addresses:
            _check_address(address)
            self.state.add_account(address)
        self.faults = faults if faults is not None else WireFaults(seed)
        self.exchange = Exchange(
            self.state,
            self.faults,
            open_accounts=not addresses,
            source=source,
            min_schedule_delay_ms=round(min_schedule_delay_s * 1000),
        )
        self._port = port
        self._book_interval_s = book_interval_s
        self._hourly_funding = hourly_funding
        self._clock: Clock = clock if clock is not None else LoopClock()
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._next_funding_ms = 0
        self.requests = 0
        """HTTP and WebSocket-post requests answered or faulted."""
        self.lost_answer_hold_s = 60.0
        """How long a lost answer holds its connection open before resetting it (the client's
        own timeout normally ends the wait first)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serves on 127.0.0.1; returns once the port accepts connections."""
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/info", self._info)
        app.router.add_post("/exchange", self._exchange)
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        server = site._server  # noqa: SLF001 - the bound port when asked for port 0
        assert isinstance(server, asyncio.base_events.Server)
        self._port = server.sockets[0].getsockname()[1]
        now = self.now_ms()
        self._next_funding_ms = (now // _HOUR_MS + 1) * _HOUR_MS
        self._spawn(self._ticker())

    async def stop(self) -> None:
        """Closes every connection, cancels every task the fake owns and frees the port."""
        self._stopping.set()
        for conn in list(self._conns):
            conn.drop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), timeout=10.0)
            self._runner = None

    async def __aenter__(self) -> FakeHyperliquid:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port served on (after :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """The REST base URL (``http://127.0.0.1:P``), as the SDK's ``base_url``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL (``ws://127.0.0.1:P/ws``)."""
        return f"ws://127.0.0.1:{self._port}/ws"

    def now_ms(self) -> int:
        """The venue's time in milliseconds."""
        return self._clock.now_ns() // 1_000_000

    # ------------------------------------------------------------------ driving the venue

    def add_account(self, address: str, balance: Decimal | None = None) -> None:
        """Opens an account for ``address`` (with ``balance`` USDC, default the venue's)."""
        _check_address(address.lower())
        self.state.add_account(address, balance)

    def move_price(self, coin: str, mid: Decimal) -> None:
        """Moves ``coin``'s outside market to ``mid``: resting orders it trades through fill,
        positions are marked and liquidated under maintenance margin.

        Raises:
            KeyError: An unknown coin.
        """
        self._broadcast(self.state.move_price(coin, mid, self.now_ms()))

    def trade_against(
        self, coin: str, aggressor: Side, size: Decimal, price: Decimal | None = None
    ) -> None:
        """An outside taker (``aggressor`` side) of ``size`` sweeps ``coin``'s book up to
        ``price``, filling resting orders from the front of their queues.

        Raises:
            KeyError: An unknown coin.
        """
        self._broadcast(self.state.trade_against(coin, aggressor, size, price, self.now_ms()))

    def set_funding_rate(self, coin: str, rate: Decimal) -> None:
        """Sets ``coin``'s hourly funding rate (fraction; positive: longs pay)."""
        self.state.set_funding_rate(coin, rate)

    def settle_funding(self) -> None:
        """Pays one hour of funding now (as at an hour boundary)."""
        self._broadcast(self.state.settle_funding(self.now_ms()))

    def fire_scheduled_cancels(self, now_ms: int | None = None) -> None:
        """Runs the dead-man switch as if the time were ``now_ms`` (default: now): every
        account whose ``scheduleCancel`` time has come has its open orders cancelled."""
        at = self.now_ms() if now_ms is None else now_ms
        self._broadcast(self.exchange.fire_scheduled(at))

    def account(self, address: str) -> AccountState:
        """The venue's record of ``address`` (its engine, orders, fills, fundings).

        Raises:
            KeyError: No such account.
        """
        return self.state.accounts[address.lower()]

    def position(self, address: str, coin: str) -> Decimal:
        """``address``'s signed position in ``coin`` (0 for an unknown account)."""
        acct = self.state.accounts.get(address.lower())
        return Decimal(0) if acct is None else acct.engine.position(coin)

    def open_orders(self, address: str) -> list[OrderRecord]:
        """``address``'s open orders, newest first."""
        acct = self.state.accounts.get(address.lower())
        return [] if acct is None else acct.open_orders()

    def fills(self, address: str) -> list[dict[str, Any]]:
        """``address``'s fills as the wire writes them, oldest first."""
        acct = self.state.accounts.get(address.lower())
        return [] if acct is None else [dict(f) for f in acct.fills]

    @property
    def ws_connections(self) -> int:
        """Open WebSocket connections."""
        return len(self._conns)

    # ------------------------------------------------------------------ HTTP

    async def _info(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.draw("info")
        refused = self._fault_response(fault)
        if refused is not None:
            return refused
        body = await _json(request)
        result = None if body is _INVALID else answer_info(self.state, body, self.now_ms())
        if result is None:
            return web.Response(status=422, text=_BAD_BODY)
        return await self._answer(request, fault, result)

    async def _exchange(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.draw("exchange")
        refused = self._fault_response(fault)
        if refused is not None:
            return refused
        body = await _json(request)
        if body is _INVALID:
            return web.Response(status=422, text=_BAD_BODY)
        answer = self._apply(body)
        return await self._answer(request, fault, answer.body)

    async def _answer(self, request: web.Request, fault: Fault | None, body: Any) -> web.Response:
        """The answer, unless a fault loses it: the connection is reset, or held open until the
        fake stops (the client's own timeout ends the wait)."""
        if fault is not None and fault.kind is FaultKind.RESET:
            self._reset(request)
        elif fault is not None and fault.kind is FaultKind.LOST_ANSWER:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.lost_answer_hold_s)
            self._reset(request)
        return _ok(body)

    def _fault_response(self, fault: Fault | None) -> web.Response | None:
        self.requests += 1
        if fault is None or fault.kind not in (FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR):
            return None
        if fault.kind is FaultKind.RATE_LIMIT:
            return web.json_response(
                {"code": 429, "msg": "Too many requests", "data": None}, status=429
            )
        return web.Response(status=fault.status, text="Internal Server Error")

    def _reset(self, request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()

    def _apply(self, body: Any) -> Answer:
        answer = self.exchange.handle(body, self.now_ms())
        self._broadcast(answer.pushes)
        for later in answer.later:
            self._spawn(self._run_later(later))
        return answer

    async def _run_later(self, later: Later) -> None:
        await asyncio.sleep(later.delay_s)
        self._broadcast(later.run(self.now_ms()))

    # ------------------------------------------------------------------ WebSocket

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = _Conn(ws, request)
        self._conns.add(conn)
        self.faults.register(conn)
        writer = asyncio.create_task(self._writer(conn))
        self._tasks.add(writer)
        try:
            await ws.send_str("Websocket connection established.")
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                self._on_message(conn, msg.data)
        except ConnectionError:
            pass
        finally:
            self._conns.discard(conn)
            self.faults.unregister(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
            self._tasks.discard(writer)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close()
        return ws

    async def _writer(self, conn: _Conn) -> None:
        while True:
            data = await conn.queue.get()
            if data is None:
                return
            if conn.ws.closed:
                return
            await conn.ws.send_str(data.decode())

    def _send(self, conn: _Conn, message: Any) -> None:
        if self.faults.ws_silent:
            return
        try:
            conn.queue.put_nowait(orjson.dumps(message))
        except asyncio.QueueFull:
            _log.warning("fake hyperliquid: a slow WebSocket client is dropped")
            conn.drop()

    def _on_message(self, conn: _Conn, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._send(conn, {"channel": "error", "data": f"Error parsing JSON: {text}"})
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            self._send(conn, {"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            self._subscription(conn, method, msg.get("subscription"))
        elif method == "post":
            self._post(conn, msg)
        else:
            self._send(conn, {"channel": "error", "data": f"Unknown method: {text}"})

    def _subscription(self, conn: _Conn, method: str, sub: object) -> None:
        key = self._sub_key(sub)
        if key is None:
            self._send(
                conn,
                {"channel": "error", "data": f"Invalid subscription {orjson.dumps(sub).decode()}"},
            )
            return
        assert isinstance(sub, dict)
        if method == "subscribe":
            if key in conn.subs:
                self._send(
                    conn,
                    {
                        "channel": "error",
                        "data": f"Already subscribed: {orjson.dumps(sub).decode()}",
                    },
                )
                return
            conn.subs[key] = sub
        else:
            if conn.subs.pop(key, None) is None:
                self._send(
                    conn,
                    {
                        "channel": "error",
                        "data": f"Already unsubscribed: {orjson.dumps(sub).decode()}",
                    },
                )
                return
        self._send(
            conn,
            {"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}},
        )
        if method == "subscribe":
            self._snapshot(conn, key)

    def _sub_key(self, sub: object) -> tuple[str, str] | None:
        if not isinstance(sub, dict):
            return None
        kind = sub.get("type")
        if not isinstance(kind, str):
            return None
        if kind in _COIN_SUBS:
            coin = sub.get("coin")
            if isinstance(coin, str) and coin in self.state.asset_of:
                return (kind, coin)
            return None
        if kind in _USER_SUBS:
            user = sub.get("user")
            return (kind, user.lower()) if isinstance(user, str) and len(user) == 42 else None
        if kind == "allMids":
            return ("allMids", "")
        return None

    def _snapshot(self, conn: _Conn, key: tuple[str, str]) -> None:
        kind, k = key
        acct = self.state.accounts.get(k)
        if kind == "l2Book":
            self._send(conn, {"channel": "l2Book", "data": self._book(k)})
        elif kind == "bbo":
            self._send_bbo(conn, k, force=True)
        elif kind == "allMids":
            self._send(conn, {"channel": "allMids", "data": {"mids": self._mids()}})
        elif kind == "userFills":
            fills = [] if acct is None else acct.fills[-2000:]
            self._send(
                conn,
                {"channel": "userFills", "data": {"isSnapshot": True, "user": k, "fills": fills}},
            )
        elif kind == "userFundings":
            fundings = [] if acct is None else acct.ws_fundings[-500:]
            self._send(
                conn,
                {
                    "channel": "userFundings",
                    "data": {"isSnapshot": True, "user": k, "fundings": fundings},
                },
            )

    def _post(self, conn: _Conn, msg: dict[str, Any]) -> None:
        post_id = msg.get("id")
        request = msg.get("request")
        fault = self.faults.draw("ws_post")
        self.requests += 1

        def reply(kind: str, payload: Any) -> None:
            self._send(
                conn,
                {
                    "channel": "post",
                    "data": {"id": post_id, "response": {"type": kind, "payload": payload}},
                },
            )

        if fault is not None and fault.kind is FaultKind.RATE_LIMIT:
            reply("error", "Too many requests")
            return
        if fault is not None and fault.kind is FaultKind.SERVER_ERROR:
            reply("error", "Internal Server Error")
            return
        if not isinstance(post_id, int) or not isinstance(request, dict):
            self._send(conn, {"channel": "error", "data": "Invalid post request"})
            return
        kind, payload = request.get("type"), request.get("payload")
        if kind == "info":
            result = answer_info(self.state, payload, self.now_ms())
            if result is None:
                reply("error", _BAD_BODY)
            else:
                assert isinstance(payload, dict)
                reply("info", {"type": payload.get("type"), "data": result})
        elif kind == "action":
            answer = self._apply(payload)
            if fault is not None and fault.kind is FaultKind.RESET:
                conn.drop()
                return
            if fault is not None and fault.kind is FaultKind.LOST_ANSWER:
                return
            reply("action", answer.body)
        else:
            reply("error", f"Unknown post type: {kind}")

    def _broadcast(self, pushes: Iterable[Push]) -> None:
        for push in pushes:
            message = None
            for conn in list(self._conns):
                if conn.wants(push.sub_type, push.key):
                    if message is None:
                        message = {"channel": push.channel, "data": push.data}
                    self._send(conn, message)

    # ------------------------------------------------------------------ the ticker

    def _book(self, coin: str) -> dict[str, Any]:
        bids, asks = self.state.levels(coin)
        return {"coin": coin, "time": self.now_ms(), "levels": [bids, asks]}

    def _mids(self) -> dict[str, str]:
        return {m.coin: num(self.state.mid(m.coin)) for m in self.state.markets}

    def _send_bbo(self, conn: _Conn, coin: str, *, force: bool = False) -> None:
        bids, asks = self.state.levels(coin, 1)
        bbo = [bids[0] if bids else None, asks[0] if asks else None]
        if force or conn.last_bbo.get(coin) != bbo:
            conn.last_bbo[coin] = bbo
            self._send(
                conn, {"channel": "bbo", "data": {"coin": coin, "time": self.now_ms(), "bbo": bbo}}
            )

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self._book_interval_s)
            now = self.now_ms()
            self._broadcast(self.exchange.fire_scheduled(now))
            if self._hourly_funding and now >= self._next_funding_ms:
                self._next_funding_ms = (now // _HOUR_MS + 1) * _HOUR_MS
                self._broadcast(self.state.settle_funding(now))
            books: dict[str, dict[str, Any]] = {}
            for conn in list(self._conns):
                for kind, key in list(conn.subs):
                    if kind == "l2Book":
                        if key not in books:
                            books[key] = self._book(key)
                        self._send(conn, {"channel": "l2Book", "data": books[key]})
                    elif kind == "bbo":
                        self._send_bbo(conn, key)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


_INVALID: Any = object()


async def _json(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _INVALID


def _ok(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _check_address(address: str) -> None:
    if len(address) != 42 or not address.startswith("0x"):
        raise ValueError(f"an address is 0x and 40 hex digits, got {address!r}")
    int(address[2:], 16)
