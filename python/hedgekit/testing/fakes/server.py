"""What every fake venue server shares: one aiohttp app on one 127.0.0.1 port, its lifecycle,
the tasks it owns, the request faults applied at the edge, and WebSocket connections that send in
order and can be dropped or silenced.

A venue's fake subclasses :class:`FakeServer` (or :class:`EngineServer`, when its state is an
:class:`~hedgekit.testing.fakes.engines.EngineVenue`), adds its routes in
:meth:`FakeServer.routes`,
starts its own background work in :meth:`FakeServer.on_started` (with
:meth:`FakeServer.spawn`, so that :meth:`FakeServer.stop` cancels it), and answers through
:meth:`FakeServer.refusal` (429/5xx before the venue sees a request) and
:meth:`FakeServer.answer` (an answer a fault may lose after the venue applied the request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import orjson
from aiohttp import WSMsgType, web

from hedgekit.clock import Clock, LoopClock
from hedgekit.model import Side
from hedgekit.testing.fakes.engines import EngineVenue
from hedgekit.testing.fakes.faults import Fault, FaultKind, WireFaults

__all__ = ["EngineServer", "FakeServer", "WsConnection"]

P = TypeVar("P")
V = TypeVar("V", bound=EngineVenue[Any, Any])

_log = logging.getLogger(__name__)

SEND_QUEUE = 10_000
"""Messages a WebSocket client may lag behind before the server drops it."""


class WsConnection:
    """One WebSocket client of a fake: its subscriptions and an ordered send queue.

    Args:
        ws: The server side of the socket.
        request: The upgrade request (its transport is what :meth:`drop` aborts).
        faults: The server's faults (:meth:`send` sends nothing while sockets are silenced).
    """

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, faults: WireFaults) -> None:
        self.ws = ws
        self.request = request
        self.faults = faults
        self.subs: dict[tuple[str, str], Any] = {}
        """The client's subscriptions, keyed as the venue's fake chooses."""
        self.memo: dict[str, Any] = {}
        """Per-connection state of the venue's fake (last values sent, …)."""
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(SEND_QUEUE)

    def send(self, message: Any) -> None:
        """Queues ``message`` (as JSON) for the client; nothing while silenced; a client that
        lags :data:`SEND_QUEUE` messages behind is dropped."""
        self._put(orjson.dumps(message))

    def send_text(self, text: str) -> None:
        """Queues a plain text frame (as :meth:`send`)."""
        self._put(text.encode())

    def _put(self, data: bytes) -> None:
        if self.faults.ws_silent:
            return
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            _log.warning("fake venue: a WebSocket client too slow to keep up is dropped")
            self.drop()

    def drop(self) -> None:
        """Aborts the TCP connection (no close frame: the client sees it vanish)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def write(self) -> None:
        """Sends the queued messages as text frames, in order, until dropped or closed."""
        while True:
            data = await self._queue.get()
            if data is None or self.ws.closed:
                return
            await self.ws.send_str(data.decode())


class FakeServer:
    """The lifecycle of a fake venue server on 127.0.0.1.

    Args:
        faults: The faults (default: a fresh :class:`WireFaults` with ``seed``).
        seed: Seeds the default faults.
        port: The port (0: any free one).
        clock: Where the venue's time comes from (default: the loop's wall clock).
    """

    def __init__(
        self,
        *,
        faults: WireFaults | None = None,
        seed: int = 0,
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.faults = faults if faults is not None else WireFaults(seed)
        self._port = port
        self._clock: Clock = clock if clock is not None else LoopClock()
        self._conns: set[WsConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.requests = 0
        """Requests answered or refused (HTTP, and posts over a WebSocket)."""
        self.ws_opened = 0
        """WebSocket connections opened so far (each reconnect of a client counts one)."""
        self.lost_answer_hold_s = 60.0
        """How long a lost answer holds its connection open before resetting it (the client's
        own timeout normally ends the wait first)."""

    # ------------------------------------------------------------------ to override

    def routes(self, app: web.Application) -> None:
        """Adds the venue's routes to ``app``."""
        raise NotImplementedError

    async def on_started(self) -> None:
        """Called once the port serves: start background work here with :meth:`spawn`."""

    def rate_limited(self) -> web.Response:
        """The venue's HTTP 429 (default: JSON ``{"code": 429, "msg": …, "data": null}``)."""
        return web.json_response(
            {"code": 429, "msg": "Too many requests", "data": None}, status=429
        )

    def server_error(self, status: int) -> web.Response:
        """The venue's HTTP 5xx (default: plain text)."""
        return web.Response(status=status, text="Internal Server Error")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serves on 127.0.0.1; returns once the port accepts connections.

        Raises:
            OSError: The port cannot be bound.
        """
        app = web.Application(client_max_size=1 << 20)
        self.routes(app)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        server = site._server  # noqa: SLF001 - the bound port when asked for port 0
        assert isinstance(server, asyncio.base_events.Server)
        self._port = server.sockets[0].getsockname()[1]
        await self.on_started()

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

    async def __aenter__(self) -> Self:
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
        """The HTTP base URL, ``http://127.0.0.1:P``."""
        return f"http://127.0.0.1:{self._port}"

    def now_ms(self) -> int:
        """The venue's time in milliseconds."""
        return self._clock.now_ns() // 1_000_000

    @property
    def connections(self) -> set[WsConnection]:
        """The open WebSocket connections (a copy)."""
        return set(self._conns)

    @property
    def ws_connections(self) -> int:
        """How many WebSocket connections are open."""
        return len(self._conns)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Runs ``coro`` as a task the server owns (cancelled by :meth:`stop`)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ requests

    def refusal(self, fault: Fault | None) -> web.Response | None:
        """Counts a request; the 429 or 5xx its ``fault`` calls for (``None``: go on)."""
        self.requests += 1
        if fault is None:
            return None
        if fault.kind is FaultKind.RATE_LIMIT:
            return self.rate_limited()
        if fault.kind is FaultKind.SERVER_ERROR:
            return self.server_error(fault.status)
        return None

    async def hold(self, fault: Fault | None) -> None:
        """Waits out a ``STALL`` fault's delay (or until the fake stops) before the request is
        applied; nothing for any other fault."""
        if fault is not None and fault.kind is FaultKind.STALL:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.delay_s)

    def stalled(self, fault: Fault | None, apply: Callable[[], None]) -> bool:
        """For a request handled synchronously (a WebSocket post): runs ``apply`` once a
        ``STALL`` fault's delay has passed, in a task the server owns, and says so (``False``:
        no stall, the caller applies it now)."""
        if fault is None or fault.kind is not FaultKind.STALL:
            return False

        async def later() -> None:
            await self.hold(fault)
            if not self._stopping.is_set():
                apply()

        self.spawn(later())
        return True

    async def answer(
        self, request: web.Request, fault: Fault | None, response: web.Response
    ) -> web.Response:
        """``response``, unless ``fault`` loses it: the connection is reset at once, or held
        open (until the fake stops or ``lost_answer_hold_s``) and then reset."""
        if fault is not None and fault.kind is FaultKind.LOST_ANSWER:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.lost_answer_hold_s)
        if fault is not None and fault.kind in (FaultKind.LOST_ANSWER, FaultKind.RESET):
            transport = request.transport
            if transport is not None:
                transport.abort()
        return response

    # ------------------------------------------------------------------ WebSockets

    async def serve_ws(
        self,
        request: web.Request,
        on_open: Callable[[WsConnection], None],
        on_text: Callable[[WsConnection, str], None],
        *,
        heartbeat: float | None = None,
    ) -> web.WebSocketResponse:
        """Runs one WebSocket connection: ``on_open`` once, ``on_text`` per text message, until
        the client or a fault closes it (its writer task is the server's, and is cancelled
        with it). With ``heartbeat`` the server sends a protocol ping every that many seconds
        and closes a client that has not answered with a pong within half of it. A client's
        ping is answered with a pong, except while the sockets are silenced (a silent socket
        sends nothing at all, as a half-open connection would)."""
        ws = web.WebSocketResponse(heartbeat=heartbeat, autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        self.ws_opened += 1
        conn = WsConnection(ws, request, self.faults)
        self._conns.add(conn)
        self.faults.register(conn)
        writer = asyncio.get_running_loop().create_task(conn.write())
        self._tasks.add(writer)
        try:
            on_open(conn)
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    on_text(conn, msg.data)
                elif msg.type is WSMsgType.PING and not self.faults.ws_silent:
                    await ws.pong(msg.data)
                elif msg.type is WSMsgType.CLOSE:
                    break
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


class EngineServer(FakeServer, Generic[V, P]):
    """A fake whose state is an :class:`~hedgekit.testing.fakes.engines.EngineVenue` (``V``,
    whose engine events become messages ``P``): the outside market is driven here, and what it
    causes goes to :meth:`_broadcast`.

    A subclass sets :attr:`state` in its constructor and implements :meth:`_broadcast`.
    """

    state: V
    """The venue's truth."""

    def _broadcast(self, pushes: Iterable[P]) -> None:
        """Sends ``pushes`` to the clients subscribed to them."""
        raise NotImplementedError

    def move_price(self, symbol: str, mid: Decimal) -> None:
        """Moves ``symbol``'s outside market to ``mid``: resting orders it trades through
        fill, positions are marked (and liquidated under maintenance margin).

        Raises:
            KeyError: An unknown symbol.
        """
        self._broadcast(self.state.move_price(symbol, mid, self.now_ms()))

    def trade_against(
        self, symbol: str, aggressor: Side, size: Decimal, price: Decimal | None = None
    ) -> None:
        """An outside taker (``aggressor`` side) of ``size`` sweeps ``symbol``'s book up to
        ``price``, filling resting orders from the front of their queues.

        Raises:
            KeyError: An unknown symbol.
        """
        self._broadcast(self.state.trade_against(symbol, aggressor, size, price, self.now_ms()))

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        """Sets ``symbol``'s funding rate per interval (fraction; positive: longs pay)."""
        self.state.set_funding_rate(symbol, rate)
