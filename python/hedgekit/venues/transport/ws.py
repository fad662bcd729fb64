"""The WebSocket client of the live adapters (:class:`WsClient`, picows).

One supervised connection per stream. Its life, repeated until :meth:`WsClient.close`:

1. connect (``connect_timeout_s``); on failure wait :class:`Backoff` (exponential, jittered);
2. send the venue's subscriptions (asked for again on every connect: after a reconnect the
   adapter's current set is resubscribed);
3. run the adapter's **reconcile** hook (REST queries for what happened while down), bounded by
   ``reconcile_timeout_s``; a failed reconcile drops the connection and starts again;
4. only then is the client **ready**: :meth:`WsClient.wait_ready` returns and the adapter may
   trade again;
5. while connected: every message is handed to the adapter's ``on_message`` as soon as its last
   frame arrives, the venue's application ping (:class:`KeepAlive`) is sent when the socket has
   been quiet for ``interval_s``, protocol ping frames are answered, and a socket silent for
   ``silence_timeout_s`` is dropped (a half-open TCP connection never reports itself).

Messages are handed on without a copy where the buffer allows: a message that fits one frame is
a ``memoryview`` of picows' read buffer, valid **only during the call** (the Rust parsers accept
it directly); a fragmented one is reassembled into one buffer first.

Frames are read by one of two listeners that behave alike: the compiled one
(``hedgekit.venues.transport._wslistener``, Cython against picows' Cython API, about 1.5× faster
from frame to book) when it imports, else the Python one defined here. :data:`LISTENER_IMPL` says
which is in use; ``HEDGEKIT_PURE_PYTHON_WS=1`` in the environment (read once, at import) forces
the Python one. The compiled module is built by ``make build-prod`` and shipped in the wheel for
the CPython version the wheel was built with; anywhere else (another CPython, a build from the
sdist, which compiles no Cython, or a picows whose classes differ in size from those it was
built against) the Python listener is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from hedgekit.errors import VenueDisconnectedError, VenueNotReadyError

if TYPE_CHECKING:
    from hedgekit.venues.transport._wslistener import Listener as _CompiledListener

__all__ = ["LISTENER_IMPL", "PURE_PYTHON_ENV", "Backoff", "KeepAlive", "WsClient"]

log = logging.getLogger("hedgekit.transport")

_SMALL = 128  # messages up to this size are checked against the keepalive's pong/ping shapes


class Backoff:
    """Exponential backoff with jitter.

    The n-th delay (from 0) is drawn uniformly from ``[d·(1 − jitter), d]`` with
    ``d = min(max_s, initial_s · factor**n)``: it never exceeds ``max_s`` and never falls below
    ``initial_s · (1 − jitter)``, and clients that lost the venue together do not return together.

    Args:
        initial_s: The first delay's ceiling.
        max_s: The ceiling of every delay.
        factor: Growth per attempt.
        jitter: The fraction of each delay that is random (0: none, 1: full jitter).
        rng: The random source (tests pass a seeded one).
    """

    def __init__(
        self,
        initial_s: float = 0.5,
        max_s: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if not (0 < initial_s <= max_s) or factor < 1 or not 0 <= jitter <= 1:
            raise ValueError("backoff needs 0 < initial_s <= max_s, factor >= 1, 0 <= jitter <= 1")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self.jitter = jitter
        self._rng = rng if rng is not None else random.Random()
        self.attempts = 0
        """Delays drawn since the last :meth:`reset`."""

    def ceiling(self, attempt: int) -> float:
        """The largest delay of the ``attempt``-th retry (from 0)."""
        return min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))

    def next_delay(self) -> float:
        """The next delay, in seconds."""
        top = self.ceiling(self.attempts)
        self.attempts += 1
        return top * (1 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """Starts again from the first delay (after a connection that became ready)."""
        self.attempts = 0


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A venue's application-level keepalive.

    Attributes:
        ping: The message sent when we have sent nothing for ``interval_s`` (Hyperliquid
            ``{"method":"ping"}``), or ``None`` to send a protocol ping frame instead.
        interval_s: Quiet time on our side before a ping is sent.
        is_pong: Recognises the venue's answer to our ping (a small message); it is consumed,
            not handed to the adapter.
        answer: The reply to a ping the *server* sends as a message (Lighter
            ``{"type":"ping"}`` → ``{"type":"pong"}``), or ``None`` for a message that is not
            one; such a ping is consumed too. Protocol ping frames (Aster) are always answered.
    """

    ping: bytes | None = None
    interval_s: float = 30.0
    is_pong: Callable[[bytes], bool] | None = None
    answer: Callable[[bytes], bytes | None] | None = None

    @classmethod
    def hyperliquid(cls, interval_s: float = 50.0) -> KeepAlive:
        """``{"method":"ping"}`` after ``interval_s`` quiet, ``{"channel":"pong"}`` consumed (the
        server closes a connection it has heard nothing from for 60 s)."""
        return cls(b'{"method":"ping"}', interval_s, _is_hl_pong)

    @classmethod
    def lighter(cls, interval_s: float = 60.0, *, client_ping: bool = False) -> KeepAlive:
        """The server's ``{"type":"ping"}`` answered with ``{"type":"pong"}``, and something
        sent after ``interval_s`` quiet (Lighter wants something at least every 2 minutes): a
        pong, or with ``client_ping`` a ``{"type":"ping"}`` whose ``{"type":"pong"}`` answer
        is consumed (a quiet socket then still hears from a live server)."""
        if client_ping:
            return cls(b'{"type":"ping"}', interval_s, _is_lighter_pong, _lighter_answer)
        return cls(b'{"type":"pong"}', interval_s, None, _lighter_answer)

    @classmethod
    def protocol(cls, interval_s: float = 30.0) -> KeepAlive:
        """Protocol ping frames only (Aster/Binance: the server pings, picows answers)."""
        return cls(None, interval_s)


def _compact(msg: bytes) -> bytes:
    return msg.replace(b" ", b"").replace(b"\n", b"")


def _is_hl_pong(msg: bytes) -> bool:
    return _compact(msg) == b'{"channel":"pong"}'


def _is_lighter_pong(msg: bytes) -> bool:
    return _compact(msg) == b'{"type":"pong"}'


def _lighter_answer(msg: bytes) -> bytes | None:
    return b'{"type":"pong"}' if _compact(msg) == b'{"type":"ping"}' else None


class _Listener(WSListener):
    """Reassembles frames into messages and feeds the client; one per connection.

    The hot path (a whole message in one frame) reads no clock and makes no copy: the watchdog
    tells a silent socket by :attr:`frames` not moving between its ticks. The compiled listener
    (``_wslistener.pyx``) is this class ported to picows' Cython API; the two behave alike."""

    def __init__(self, client: WsClient) -> None:
        super().__init__()
        self._client = client
        self._on_message = client._on_message
        self._check_small = client._check_small
        self._parts: bytearray | None = None
        self._is_ack: Callable[[memoryview | bytes], bool] | None = None
        self._on_acked: Callable[[], None] | None = None
        self.acks_missing = 0
        self.frames = 0

    def expect_acks(
        self, count: int, is_ack: Callable[[memoryview | bytes], bool], on_acked: Callable[[], None]
    ) -> None:
        """Counts the next ``count`` messages ``is_ack`` recognises; calls ``on_acked()`` when
        the last of them arrives."""
        self._is_ack = is_ack
        self._on_acked = on_acked
        self.acks_missing = count

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.frames += 1
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if self._parts is not None:
                self._parts = None
                log.warning("%s: a message began inside another; the first is dropped",
                            self._client.venue)  # fmt: skip
            if frame.fin:
                self._deliver(frame.get_payload_as_memoryview())
            else:
                self._parts = bytearray(frame.get_payload_as_memoryview())
        elif kind is WSMsgType.CONTINUATION:
            self._continue(transport, frame)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        # PING frames are answered by picows (enable_auto_pong); PONG frames only count as life.

    def _continue(self, transport: WSTransport, frame: WSFrame) -> None:
        client = self._client
        parts = self._parts
        if parts is None:
            log.warning("%s: a continuation frame without a message; dropped", client.venue)
            return
        parts += frame.get_payload_as_memoryview()
        if len(parts) > client.max_message_bytes:
            log.warning("%s: a message above %d bytes; connection dropped", client.venue,
                        client.max_message_bytes)  # fmt: skip
            self._parts = None
            transport.send_close(WSCloseCode.MESSAGE_TOO_BIG)
            transport.disconnect(False)
            return
        if frame.fin:
            self._parts = None
            self._deliver(memoryview(parts))

    def _deliver(self, payload: memoryview) -> None:
        client = self._client
        if self._check_small and len(payload) <= _SMALL and client._keepalive_message(payload):
            return
        if self.acks_missing:
            self._count_ack(payload)
        try:
            self._on_message(payload)
        except Exception:
            client.handler_errors += 1
            log.exception("%s: a message handler failed; the message is skipped", client.venue)

    def _count_ack(self, payload: memoryview) -> None:
        if self._is_ack is not None and self._is_ack(payload):
            self.acks_missing -= 1
            if self.acks_missing == 0 and self._on_acked is not None:
                self._on_acked()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._client._on_disconnected(transport)


if TYPE_CHECKING:
    _AnyListener: TypeAlias = _Listener | _CompiledListener
else:  # evaluated at run time (pdoc reads the annotations): the interface is the Python one's
    _AnyListener = _Listener

PURE_PYTHON_ENV = "HEDGEKIT_PURE_PYTHON_WS"
"""The environment variable that, set to ``1`` before hedgekit is imported, forces the Python
listener even where the compiled one is built."""


def _choose_listener() -> tuple[Literal["cython", "python"], type[_AnyListener], str | None]:
    """The listener class to use, its name, and why the compiled one is not used (or None)."""
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        return "python", _Listener, f"{PURE_PYTHON_ENV}=1"
    try:
        with warnings.catch_warnings():
            # Cython checks picows' cdef class sizes at import: smaller than the module was
            # compiled against raises ValueError, larger only warns; both mean another layout
            warnings.simplefilter("error", RuntimeWarning)
            from hedgekit.venues.transport._wslistener import Listener
    except (ImportError, ValueError, RuntimeWarning) as exc:
        # ImportError: not built (a build from the sdist, another CPython)
        return "python", _Listener, f"{type(exc).__name__}: {exc}"
    return "cython", Listener, None


LISTENER_IMPL: Literal["cython", "python"]
"""Which WebSocket listener reads the frames of every :class:`WsClient`: ``"cython"`` (the
compiled ``_wslistener``) or ``"python"`` (the fallback)."""
_listener_class: type[_AnyListener]
_fallback_reason: str | None  # why the compiled listener is not used, for a failing build check
LISTENER_IMPL, _listener_class, _fallback_reason = _choose_listener()


class WsClient:
    """A supervised WebSocket connection to one venue stream (see the module documentation).

    Args:
        venue: The venue's name (for errors and logs).
        url: ``ws://`` or ``wss://`` URL.
        on_message: Called with each complete message (``memoryview`` or ``bytes``, valid only
            during the call). An exception it raises is logged and counted, never fatal.
        subscriptions: Returns the messages to send on every connect (the adapter's current
            subscriptions).
        reconcile: Awaited after the subscriptions are sent, before the client is ready again
            (REST queries for what happened while down). Also run on the first connect.
        is_ack: Recognises the venue's acknowledgement of a subscription. When given, the
            client waits (within ``connect_timeout_s``) for one per subscription sent before it
            reconciles, so nothing falls between the REST reads and the stream. Acks are
            delivered to ``on_message`` too.
        on_state: Called with ``False`` when a ready connection is lost (or closed) and with
            ``True`` when a connection becomes ready.
        keepalive: The venue's keepalive.
        silence_timeout_s: A connection that received nothing for this long is dropped (more
            than the keepalive's interval: a quiet venue still answers our ping).
        connect_timeout_s: Time allowed for the TCP + WebSocket handshake.
        reconcile_timeout_s: Time allowed for ``reconcile``.
        backoff: Delays between connection attempts.
        max_message_bytes: A reassembled message above this size drops the connection.
    """

    def __init__(
        self,
        venue: str,
        url: str,
        on_message: Callable[[memoryview | bytes], None],
        *,
        subscriptions: Callable[[], Iterable[bytes]] = tuple,
        reconcile: Callable[[], Awaitable[None]] | None = None,
        is_ack: Callable[[memoryview | bytes], bool] | None = None,
        on_state: Callable[[bool], None] | None = None,
        keepalive: KeepAlive | None = None,
        silence_timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        reconcile_timeout_s: float = 30.0,
        backoff: Backoff | None = None,
        max_message_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.venue = venue
        self.url = url
        self._on_message = on_message
        self._subscriptions = subscriptions
        self._reconcile = reconcile
        self._is_ack = is_ack
        self._on_state = on_state
        self.keepalive = keepalive if keepalive is not None else KeepAlive.protocol()
        self.silence_timeout_s = silence_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.reconcile_timeout_s = reconcile_timeout_s
        self.backoff = backoff if backoff is not None else Backoff()
        self.max_message_bytes = max_message_bytes
        ka = self.keepalive
        self._check_small = ka.is_pong is not None or ka.answer is not None
        if silence_timeout_s <= ka.interval_s:
            # A quiet venue answers our ping: only a silence longer than the ping interval
            # tells a dead socket from a quiet one.
            raise ValueError("silence_timeout_s must exceed the keepalive interval")
        self._transport: WSTransport | None = None
        self._disconnected: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False
        self._last_tx = 0.0
        self.connects = 0
        """Connections opened so far."""
        self.readies = 0
        """Times the client became ready (first connect included)."""
        self.silences = 0
        """Connections dropped because the socket went silent."""
        self._listener: _AnyListener | None = None
        self._frames_before = 0
        self.handler_errors = 0
        """Messages whose handler raised."""
        self.delays: list[float] = []
        """The backoff delays waited, most recent last (the last 100)."""

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def connected(self) -> bool:
        """True while a WebSocket connection is open (ready or not)."""
        t = self._transport
        return t is not None and not t.is_disconnected

    @property
    def frames(self) -> int:
        """Frames received over every connection so far."""
        listener = self._listener
        return self._frames_before + (0 if listener is None else listener.frames)

    @property
    def ready(self) -> bool:
        """True while connected, subscribed and reconciled: safe to trade."""
        return self._ready is not None and self._ready.is_set() and self.connected

    async def start(self) -> None:
        """Starts the supervisor (connect, subscribe, reconcile, reconnect); returns at once."""
        if self._closed:
            raise VenueDisconnectedError(self.venue, "the WebSocket client is closed")
        if self._supervisor is None:
            self._ready = asyncio.Event()
            self._disconnected = asyncio.Event()
            self._supervisor = asyncio.ensure_future(self._supervise())

    async def wait_ready(self, timeout: float) -> None:
        """Waits until the client is ready to trade.

        Raises:
            hedgekit.errors.VenueNotReadyError: Not ready within ``timeout`` (or closed).
        """
        if self._closed or self._ready is None:
            raise VenueNotReadyError(self.venue, "the WebSocket client is not running")
        try:
            async with asyncio.timeout(timeout):
                while not self.ready:
                    await self._ready.wait()
                    if not self.ready:
                        await asyncio.sleep(0)  # a drop raced the wake-up: wait for the next
        except TimeoutError:
            raise VenueNotReadyError(
                self.venue, f"not connected and reconciled within {timeout:g} s"
            ) from None

    async def close(self) -> None:
        """Stops the supervisor and the connection (idempotent); nothing of it keeps running."""
        was_ready = self.ready
        self._closed = True
        task, self._supervisor = self._supervisor, None
        transport = self._transport
        if transport is not None:
            transport.disconnect(False)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._ready is not None:
            self._ready.clear()
        self._transport = None
        if was_ready and self._on_state is not None:
            self._on_state(False)

    async def __aenter__(self) -> WsClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def send(self, data: bytes | str) -> None:
        """Sends one text message.

        Raises:
            hedgekit.errors.VenueDisconnectedError: Not connected (nothing was sent).
        """
        t = self._transport
        if t is None or t.is_disconnected:
            raise VenueDisconnectedError(self.venue, "not connected")
        t.send(WSMsgType.TEXT, data)
        self._last_tx = time.monotonic()

    def drop(self) -> None:
        """Drops the current connection as a failure would (the supervisor reconnects)."""
        t = self._transport
        if t is not None:
            t.disconnect(False)

    # ----------------------------------------------------------------------------- plumbing
    def _keepalive_message(self, payload: memoryview) -> bool:
        """Consumes the venue's pong, and answers its ping message (True: consumed)."""
        ka = self.keepalive
        small = bytes(payload)
        if ka.is_pong is not None and ka.is_pong(small):
            return True
        reply = None if ka.answer is None else ka.answer(small)
        if reply is None:
            return False
        with contextlib.suppress(VenueDisconnectedError):
            self.send(reply)
        return True

    def _on_disconnected(self, transport: WSTransport) -> None:
        if transport is self._transport and self._disconnected is not None:
            self._disconnected.set()

    async def _supervise(self) -> None:
        assert self._ready is not None and self._disconnected is not None
        while not self._closed:
            was_ready = False
            try:
                was_ready = await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure ends in a reconnect
                log.warning("%s: connection failed: %s: %s", self.venue, type(exc).__name__, exc)
            finally:
                self._ready.clear()
                t, self._transport = self._transport, None
                if t is not None:
                    t.disconnect(False)
            if was_ready and self._on_state is not None:
                self._on_state(False)
            if self._closed:
                break
            if was_ready:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            self.delays = [*self.delays[-99:], delay]
            await asyncio.sleep(delay)

    async def _run_once(self) -> bool:
        """One connection's life; True when it became ready before it ended."""
        assert self._ready is not None and self._disconnected is not None
        self._disconnected.clear()
        async with asyncio.timeout(self.connect_timeout_s):
            transport, _ = await ws_connect(
                self._new_listener,
                self.url,
                websocket_handshake_timeout=self.connect_timeout_s,
                disconnect_on_exception=False,
                enable_auto_pong=True,
                max_frame_size=self.max_message_bytes,
            )
        self._transport = transport
        self.connects += 1
        self._last_tx = time.monotonic()
        watchdog = asyncio.ensure_future(self._watch(transport))
        try:
            subs = list(self._subscriptions())
            acked: asyncio.Event | None = None
            listener = self._listener
            if self._is_ack is not None and subs and listener is not None:
                acked = asyncio.Event()
                listener.expect_acks(len(subs), self._is_ack, acked.set)
            for msg in subs:
                self.send(msg)
            if acked is not None:
                async with asyncio.timeout(self.connect_timeout_s):
                    await acked.wait()
            if self._reconcile is not None:
                reconcile = asyncio.ensure_future(self._reconcile_bounded())
                gone = asyncio.ensure_future(self._disconnected.wait())
                try:
                    await asyncio.wait({reconcile, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    gone.cancel()
                    if not reconcile.done():
                        reconcile.cancel()
                    await asyncio.gather(reconcile, gone, return_exceptions=True)
                if self._disconnected.is_set():
                    return False
                reconcile.result()  # a failed reconcile raises: reconnect and try again
            if transport.is_disconnected:
                return False
            self._ready.set()
            self.readies += 1
            if self._on_state is not None:
                self._on_state(True)
            await self._disconnected.wait()
            return True
        finally:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)

    def _new_listener(self) -> _AnyListener:
        if self._listener is not None:
            self._frames_before += self._listener.frames
        self._listener = _listener_class(self)
        return self._listener

    async def _reconcile_bounded(self) -> None:
        assert self._reconcile is not None
        async with asyncio.timeout(self.reconcile_timeout_s):
            await self._reconcile()

    async def _watch(self, transport: WSTransport) -> None:
        ka = self.keepalive
        tick = max(0.01, min(self.silence_timeout_s, ka.interval_s) / 4)
        listener = self._listener
        seen = -1
        heard = time.monotonic()
        while not transport.is_disconnected:
            await asyncio.sleep(tick)
            now = time.monotonic()
            frames = 0 if listener is None else listener.frames
            if frames != seen:
                seen, heard = frames, now
            elif now - heard > self.silence_timeout_s:
                self.silences += 1
                log.warning(
                    "%s: nothing received for %.1f s; the connection is dropped",
                    self.venue,
                    now - heard,
                )
                transport.disconnect(False)
                return
            if now - self._last_tx >= ka.interval_s:
                if ka.ping is None:
                    transport.send_ping()
                else:
                    transport.send(WSMsgType.TEXT, ka.ping)
                self._last_tx = now

    def __repr__(self) -> str:
        return f"WsClient(venue={self.venue!r}, url={self.url!r}, ready={self.ready})"
