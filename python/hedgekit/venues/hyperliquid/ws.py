"""Hyperliquid's WebSocket over the shared :class:`~hedgekit.venues.transport.WsClient`:
subscriptions for the master address, routing by ``channel``, and posts (signed actions and
reads sent on the socket) correlated by id, each with its own timeout."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from hedgekit.errors import VenueDisconnectedError, VenueNotReadyError, VenueTimeoutError
from hedgekit.venues.hyperliquid.wire import post_message, subscribe_message
from hedgekit.venues.transport import Backoff, KeepAlive, WsClient

__all__ = ["HyperliquidStream"]

log = logging.getLogger("hedgekit.hyperliquid")

_BOOK_PREFIX = b'{"channel":"l2Book"'
_COIN = b'"coin":"'


class HyperliquidStream:
    """The venue's socket.

    ``l2Book`` messages go to ``on_book(coin, payload)`` without being decoded in Python (the
    Rust parser reads the frame); every other channel is decoded once and goes to
    ``on_channel(channel, data)``, except ``post`` answers, which complete :meth:`post`.

    Args:
        venue: The venue's name.
        url: The WebSocket URL.
        subscriptions: The subscriptions (``{"type": …}``), sent on every connect.
        on_book: Receives each ``l2Book`` message.
        on_channel: Receives every other message.
        reconcile: Awaited after each (re)subscription, before the stream is ready.
        on_state: Told when the stream is ready (``True``) or lost (``False``).
        silence_timeout_s: A socket silent this long is replaced.
        backoff: Delays between reconnects.
    """

    def __init__(
        self,
        venue: str,
        url: str,
        subscriptions: Callable[[], Iterable[dict[str, Any]]],
        on_book: Callable[[str, memoryview | bytes], None],
        on_channel: Callable[[str, Any], None],
        *,
        reconcile: Callable[[], Awaitable[None]] | None = None,
        on_state: Callable[[bool], None] | None = None,
        silence_timeout_s: float = 65.0,
        keepalive_s: float = 50.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.venue = venue
        self._subs = subscriptions
        self._on_book = on_book
        self._on_channel = on_channel
        self._on_state = on_state
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self.client = WsClient(
            venue,
            url,
            self._on_message,
            subscriptions=lambda: [subscribe_message(s) for s in self._subs()],
            is_ack=_is_ack,
            reconcile=reconcile,
            on_state=self._state,
            keepalive=KeepAlive.hyperliquid(keepalive_s),
            silence_timeout_s=silence_timeout_s,
            backoff=backoff,
        )

    @property
    def ready(self) -> bool:
        """Connected, subscribed and reconciled."""
        return self.client.ready

    async def start(self) -> None:
        """Starts connecting (see :meth:`WsClient.start`)."""
        await self.client.start()

    async def close(self) -> None:
        """Closes the socket; posts still waiting fail as disconnected (ambiguous)."""
        await self.client.close()
        self._fail_pending("the stream was closed")

    async def post(self, kind: str, payload: dict[str, Any], timeout_s: float) -> Any:
        """Sends a post and returns its ``response`` (``{"type", "payload"}``).

        Raises:
            hedgekit.errors.VenueNotReadyError: The socket is not ready; nothing was sent.
            hedgekit.errors.VenueTimeoutError: No answer within ``timeout_s`` (ambiguous).
            hedgekit.errors.VenueDisconnectedError: The socket dropped before the answer
                (ambiguous).
        """
        if not self.client.ready:
            raise VenueNotReadyError(self.venue, "the WebSocket is not ready")
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            try:
                self.client.send(post_message(rid, kind, payload))
            except VenueDisconnectedError:
                raise VenueNotReadyError(self.venue, "the WebSocket dropped") from None
            async with asyncio.timeout(timeout_s):
                return await fut
        except TimeoutError:
            raise VenueTimeoutError(
                self.venue, f"no answer to post {rid} within {timeout_s:g} s"
            ) from None
        finally:
            self._pending.pop(rid, None)

    def _fail_pending(self, why: str) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(VenueDisconnectedError(self.venue, why))

    def _state(self, up: bool) -> None:
        if not up:
            self._fail_pending("the WebSocket dropped before the answer")
        if self._on_state is not None:
            self._on_state(up)

    def _on_message(self, payload: memoryview | bytes) -> None:
        if payload[: len(_BOOK_PREFIX)] == _BOOK_PREFIX:
            head = bytes(payload[:128])
            at = head.find(_COIN)
            if at >= 0:
                end = head.find(b'"', at + len(_COIN))
                self._on_book(head[at + len(_COIN) : end].decode(), payload)
                return
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.debug("%s: a frame that is not JSON: %r", self.venue, bytes(payload[:80]))
            return
        if not isinstance(msg, dict):
            return
        channel = msg.get("channel")
        data = msg.get("data")
        if channel == "post":
            if not isinstance(data, dict):
                return
            fut = self._pending.get(int(data.get("id", -1)))
            if fut is not None and not fut.done():
                fut.set_result(data.get("response"))
            return
        if channel == "l2Book" and isinstance(data, dict):
            self._on_book(str(data.get("coin")), payload)
            return
        if channel in (None, "subscriptionResponse", "pong"):
            return
        if channel == "error":
            log.warning("%s: the venue says: %s", self.venue, data)
            return
        self._on_channel(str(channel), data)


def _is_ack(payload: memoryview | bytes) -> bool:
    return b"subscriptionResponse" in bytes(payload[:48])
