"""A small aiohttp WebSocket server on 127.0.0.1 that misbehaves on request: drops, goes
silent, fragments messages, pings with frames or with JSON."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from typing import Any

from aiohttp import WSMsgType, web


def raw_frame(opcode: int, payload: bytes, *, fin: bool) -> bytes:
    """One unmasked (server → client) WebSocket frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        return head + bytes([n]) + payload
    if n < 1 << 16:
        return head + bytes([126]) + struct.pack(">H", n) + payload
    return head + bytes([127]) + struct.pack(">Q", n) + payload


class WsFake:
    """Counts connections, records what each one received, and answers HL-style pings.

    Attributes:
        received: ``(connection number, text)`` for every text message received.
        silent: While true the server neither answers nor sends anything (the socket stays open).
        answer_pings: Answer ``{"method":"ping"}`` with ``{"channel":"pong"}``.
        pongs: Protocol PONG frames received (answers to our protocol pings).
        pings: Protocol PING frames received (a client's keepalive).
        refuse: While true, upgrade requests are answered 503 (a venue that is down).
    """

    def __init__(self) -> None:
        self.received: list[tuple[int, str]] = []
        self.silent = False
        self.answer_pings = True
        self.refuse = False
        self.pongs = 0
        self.pings = 0
        self.connections = 0
        self._sockets: dict[int, tuple[web.WebSocketResponse, web.Request]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.events: list[str] = []

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def __aenter__(self) -> WsFake:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.refuse:
            return web.Response(status=503, text="down")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.connections += 1
        n = self.connections
        self._sockets[n] = (ws, request)
        self.events.append(f"connect#{n}")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.received.append((n, msg.data))
                    if self.silent:
                        continue
                    if '"subscribe"' in msg.data:
                        self.events.append(f"subscribe#{n}")
                        sub = json.loads(msg.data)["subscription"]
                        ack = {"method": "subscribe", "subscription": sub}
                        await ws.send_json({"channel": "subscriptionResponse", "data": ack})
                    if msg.data == '{"method":"ping"}' and self.answer_pings:
                        await ws.send_str('{"channel":"pong"}')
                elif msg.type == WSMsgType.PING:
                    self.pings += 1
                    if not self.silent:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    self.pongs += 1
        finally:
            self._sockets.pop(n, None)
        return ws

    def current(self) -> tuple[web.WebSocketResponse, web.Request]:
        n = max(self._sockets)
        return self._sockets[n]

    def drop(self) -> None:
        """Kills every connection without a close frame (a reset)."""
        for _ws, request in list(self._sockets.values()):
            transport = request.transport
            if transport is not None:
                transport.abort()

    async def send(self, text: str | bytes) -> None:
        ws, _ = self.current()
        if isinstance(text, bytes):
            text = text.decode()
        await ws.send_str(text)

    def write_frames(self, frames: list[bytes]) -> None:
        """Writes raw frames as they are (fragments, control frames in between)."""
        _ws, request = self.current()
        assert request.transport is not None
        for f in frames:
            request.transport.write(f)

    async def ping_frame(self, payload: bytes = b"hb") -> None:
        ws, _ = self.current()
        await ws.ping(payload)


async def until(predicate: Any, *, timeout: float = 5.0, what: str = "condition") -> None:
    """Waits (bounded) until ``predicate()`` is true."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)
    assert predicate(), f"{what} not reached within {timeout} s"
