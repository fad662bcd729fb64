"""A bounded subscription to a live venue's private events (:class:`EventQueue`)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable

from hedgekit.model import StreamStatus, VenueEvent

__all__ = ["EventQueue"]

log = logging.getLogger("hedgekit.transport")


class EventQueue:
    """One subscriber's private events, in delivery order, at most ``maxsize`` of them.

    A reader that falls ``maxsize`` events behind does not make the queue grow without bound,
    and does not silently lose a fill either: the queued events are dropped and replaced by a
    stream outage (``StreamStatus(connected=False)`` then ``StreamStatus(connected=True)``), the
    same signal a dropped connection gives, so the reader reconciles by querying the venue (as
    it does after any outage).

    Args:
        venue: The venue's name (stamped on the outage events).
        now_ns: The clock stamping them.
        on_close: Called once when the subscription is closed.
        maxsize: The bound.
    """

    def __init__(
        self,
        venue: str,
        now_ns: Callable[[], int],
        on_close: Callable[[EventQueue], None],
        maxsize: int = 10_000,
    ) -> None:
        if maxsize < 2:
            raise ValueError("an event queue holds at least 2 events")
        self.venue = venue
        self._now_ns = now_ns
        self._on_close = on_close
        self.maxsize = maxsize
        self._items: deque[VenueEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self.overflows = 0
        """How many times the reader fell behind and events were replaced by an outage."""

    def _put(self, event: VenueEvent) -> None:
        if self._closed:
            return
        if len(self._items) >= self.maxsize:
            self.overflows += 1
            log.warning(
                "%s: an event subscriber fell %d events behind; they are replaced by an outage",
                self.venue,
                len(self._items),
            )
            self._items.clear()
            ts = self._now_ns()
            self._items.append(StreamStatus(self.venue, False, ts))
            self._items.append(StreamStatus(self.venue, True, ts))
            if isinstance(event, StreamStatus):
                self._items.append(event)
        else:
            self._items.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[VenueEvent]:
        return self

    async def __anext__(self) -> VenueEvent:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            await self._wait(None)
        return self._items.popleft()

    async def _wait(self, timeout: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None

    async def get(self, timeout: float | None = None) -> VenueEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds without one (or once closed)."""
        if not self._items and not self._closed:
            try:
                await self._wait(timeout)
            except TimeoutError:
                return None
        return self._items.popleft() if self._items else None

    def pending(self) -> int:
        """Events delivered and not read yet."""
        return len(self._items)

    def close(self) -> None:
        """Stops the subscription: a waiting reader is woken, later events are not kept."""
        if self._closed:
            return
        self._closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._on_close(self)
