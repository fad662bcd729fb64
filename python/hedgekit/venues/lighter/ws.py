"""Lighter's one socket (``/stream``) over the shared
:class:`~hedgekit.venues.transport.WsClient`: the public ``order_book/{m}`` channels and the
private ``account_all_orders``/``account_all_trades``/``account_all_positions`` channels of one
account, subscribed again on every (re)connect with a fresh auth token; the server's JSON
``{"type":"ping"}`` answered with ``{"type":"pong"}`` and a pong sent when we have been quiet
(venues.md §3.7: something at least every 2 minutes, or close 1008 "no pong").

Server messages name their channel with a colon (``order_book:0``) though subscriptions use a
slash; a ``subscribed/…`` message is the channel's snapshot and counts as its acknowledgement.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from hedgekit.venues.lighter import wire
from hedgekit.venues.transport import Backoff, KeepAlive, WsClient

__all__ = ["PRIVATE_CHANNELS", "LighterStream"]

log = logging.getLogger("hedgekit.lighter")

PRIVATE_CHANNELS = ("account_all_orders", "account_all_trades", "account_all_positions")
"""The account channels the adapter subscribes to."""


def _is_ack(payload: memoryview | bytes) -> bool:
    return b'"type":"subscribed/' in bytes(payload[:64]).replace(b" ", b"")


class LighterStream:
    """The socket of one account.

    Args:
        venue: The venue's name.
        url: ``wss://host/stream`` (or a fake's).
        account_index: The account whose private channels are read.
        market_ids: The markets whose books are kept.
        auth: Returns a currently valid auth token for the private channels (``None``: public
            channels only).
        on_book: Receives ``(market_id, message, is_snapshot)`` for each book message.
        on_account: Receives each decoded private message (orders, trades, positions).
        reconcile: Awaited after each (re)connect, once every channel acknowledged, before
            trading resumes (fills and orders missed while down).
        on_state: Told when the stream is ready (``True``) or lost (``False``).
        silence_timeout_s: A socket silent this long is replaced.
        backoff: Delays between reconnects.
        keepalive_s: Quiet time after which we send a keepalive of our own.
        client_ping: The keepalive is ``{"type":"ping"}`` (answered ``{"type":"pong"}``, so a
            quiet but live socket is not taken for a dead one); ``False``: a bare pong.
            Whether the venue answers a client's ping is unconfirmed (the fake does).
    """

    def __init__(
        self,
        venue: str,
        url: str,
        account_index: int,
        market_ids: tuple[int, ...],
        auth: Callable[[], str] | None,
        on_book: Callable[[int, dict[str, Any], bool], None],
        on_account: Callable[[dict[str, Any]], None],
        *,
        reconcile: Callable[[], Awaitable[None]] | None = None,
        on_state: Callable[[bool], None] | None = None,
        silence_timeout_s: float = 150.0,
        backoff: Backoff | None = None,
        keepalive_s: float = 50.0,
        client_ping: bool = True,
    ) -> None:
        self.venue = venue
        self.account_index = account_index
        self.market_ids = tuple(market_ids)
        self._auth = auth
        self._on_book = on_book
        self._on_account = on_account
        self.errors: list[dict[str, Any]] = []
        """The venue's ``{"error": …}`` messages, most recent last (the last 20)."""
        self.client = WsClient(
            venue,
            url,
            self._on_message,
            subscriptions=self.subscriptions,
            reconcile=reconcile,
            is_ack=_is_ack,
            on_state=on_state,
            keepalive=KeepAlive.lighter(
                min(keepalive_s, silence_timeout_s / 3), client_ping=client_ping
            ),
            silence_timeout_s=silence_timeout_s,
            backoff=backoff,
        )

    @property
    def ready(self) -> bool:
        """Connected, subscribed and reconciled: safe to trade."""
        return self.client.ready

    def subscriptions(self) -> list[bytes]:
        """What is sent on every connect: each book, then each private channel with a fresh
        token."""
        out = [wire.subscribe(wire.book_channel(m)) for m in self.market_ids]
        if self._auth is not None:
            token = self._auth()
            out += [
                wire.subscribe(wire.account_channel(c, self.account_index), token)
                for c in PRIVATE_CHANNELS
            ]
        return out

    def resubscribe_book(self, market_id: int) -> None:
        """Unsubscribes and subscribes one book again: its next message is a fresh snapshot
        (after a break in its nonce chain)."""
        channel = wire.book_channel(market_id)
        try:
            self.client.send(wire.unsubscribe(channel))
            self.client.send(wire.subscribe(channel))
        except Exception as exc:  # noqa: BLE001 - not connected: the reconnect resubscribes
            log.info("%s: %s not resubscribed now (%s)", self.venue, channel, exc)

    async def start(self) -> None:
        """Starts the socket (see :meth:`WsClient.start`)."""
        await self.client.start()

    async def close(self) -> None:
        """Closes the socket."""
        await self.client.close()

    def _on_message(self, payload: memoryview | bytes) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.debug("%s: a frame that is not JSON: %r", self.venue, bytes(payload[:80]))
            return
        if not isinstance(msg, dict):
            return
        kind = str(msg.get("type", ""))
        if "error" in msg:
            self.errors = [*self.errors[-19:], msg]
            log.warning("%s: stream error %s", self.venue, msg.get("error"))
            return
        _, _, name = kind.partition("/")
        if name == "order_book":
            channel = str(msg.get("channel", ""))
            market = channel.replace("/", ":").rpartition(":")[2]
            if market.isdigit():
                self._on_book(int(market), msg, kind.startswith("subscribed"))
        elif name.startswith("account_"):
            self._on_account(msg)
