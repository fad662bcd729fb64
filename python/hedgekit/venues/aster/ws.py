"""Aster's two sockets over the shared :class:`~hedgekit.venues.transport.WsClient`: the
combined market stream (``/stream?streams=<sym>@depth@100ms/…``, payloads wrapped as
``{"stream", "data"}``) and the user-data stream (``/ws/<listenKey>``, whose URL changes when
the key is re-created). Both answer the server's protocol ping frames (venues.md §2.9)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from hedgekit.venues.aster import wire
from hedgekit.venues.transport import Backoff, KeepAlive, WsClient

__all__ = ["AsterStreams"]

log = logging.getLogger("hedgekit.aster")

_DEPTH = b'"e":"depthUpdate"'


class AsterStreams:
    """The market and user sockets of one account.

    Args:
        venue: The venue's name.
        ws_base: ``wss://host`` (or a fake's ``ws://127.0.0.1:port``).
        symbols: Symbols whose depth diffs are streamed (none: no market socket).
        on_depth: Receives each ``depthUpdate`` frame (undecoded: the Rust book parses it)
            with its symbol.
        on_user: Receives each decoded user-stream event.
        market_reconcile: Awaited after each market (re)connect, before it is ready (book
            snapshots).
        user_reconcile: Awaited after each user (re)connect, before trading resumes (fills and
            open orders missed while down).
        on_state: Told when the user stream is ready (``True``) or lost (``False``).
        on_market_state: Told when the market stream is ready or lost.
        silence_timeout_s: A socket silent this long is replaced.
        backoff: Delays between reconnects.
    """

    def __init__(
        self,
        venue: str,
        ws_base: str,
        symbols: tuple[str, ...],
        on_depth: Callable[[str, memoryview | bytes], None],
        on_user: Callable[[dict[str, Any]], None],
        *,
        market_reconcile: Callable[[], Awaitable[None]] | None = None,
        user_reconcile: Callable[[], Awaitable[None]] | None = None,
        on_state: Callable[[bool], None] | None = None,
        on_market_state: Callable[[bool], None] | None = None,
        silence_timeout_s: float = 400.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.venue = venue
        self.ws_base = ws_base
        self._on_depth = on_depth
        self._on_user = on_user
        keepalive = KeepAlive.protocol(min(30.0, silence_timeout_s / 2))
        self.market: WsClient | None = None
        if symbols:
            self.market = WsClient(
                venue,
                wire.stream_url(ws_base, [wire.depth_stream(s) for s in symbols]),
                self._on_market,
                reconcile=market_reconcile,
                on_state=on_market_state,
                keepalive=keepalive,
                silence_timeout_s=silence_timeout_s,
                backoff=backoff,
            )
        self.user = WsClient(
            venue,
            wire.user_stream_url(ws_base, "-"),
            self._on_user_message,
            reconcile=user_reconcile,
            on_state=on_state,
            keepalive=keepalive,
            silence_timeout_s=silence_timeout_s,
            backoff=backoff,
        )

    @property
    def ready(self) -> bool:
        """The user stream is connected and reconciled: safe to trade."""
        return self.user.ready

    def set_listen_key(self, key: str) -> None:
        """The user stream connects to ``key`` from its next (re)connect on."""
        self.user.url = wire.user_stream_url(self.ws_base, key)

    async def start(self) -> None:
        """Starts both sockets (see :meth:`WsClient.start`)."""
        if self.market is not None:
            await self.market.start()
        await self.user.start()

    async def close(self) -> None:
        """Closes both sockets."""
        if self.market is not None:
            await self.market.close()
        await self.user.close()

    def _on_market(self, payload: memoryview | bytes) -> None:
        head = bytes(payload[:256])
        if _DEPTH not in head:
            return
        at = head.find(b'"s":"')
        if at >= 0:
            end = head.find(b'"', at + 5)
            self._on_depth(head[at + 5 : end].decode(), payload)
            return
        at = head.find(b'"stream":"')  # the symbol from the stream's name
        if at >= 0:
            end = head.find(b"@", at + 10)
            self._on_depth(head[at + 10 : end].decode().upper(), payload)

    def _on_user_message(self, payload: memoryview | bytes) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.debug("%s: a frame that is not JSON: %r", self.venue, bytes(payload[:80]))
            return
        if isinstance(msg, dict) and isinstance(msg.get("data"), dict) and "stream" in msg:
            msg = msg["data"]
        if isinstance(msg, dict) and "e" in msg:
            self._on_user(msg)
