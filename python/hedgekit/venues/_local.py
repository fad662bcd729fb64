"""What every live adapter keeps on our side of the wire: its instruments, its copies of the
books, and the subscribers of its private stream. One implementation for all of them."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine, Hashable, Mapping
from typing import Any

from hedgekit._core import OrderBook
from hedgekit.clock import Clock
from hedgekit.model import VenueEvent
from hedgekit.venues.base import InstrumentInfo, Quote
from hedgekit.venues.transport import EventQueue

__all__ = ["LocalState", "SeenKeys"]


class SeenKeys:
    """A bounded set of the keys already delivered (fills by trade id, funding payments),
    oldest forgotten first.

    Args:
        capacity: How many keys are remembered.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def add(self, key: Hashable) -> bool:
        """Records ``key``; True when it was new (deliver it), False when already seen."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


class LocalState:
    """The local side of a live :class:`~hedgekit.venues.Venue` (a mixin: the adapter fills in
    ``_name``, ``_clock``, ``_infos``, ``_books``, ``_subs`` and ``_tasks`` in its
    constructor)."""

    _name: str
    _clock: Clock
    _infos: dict[str, InstrumentInfo]
    _books: dict[str, OrderBook]
    _subs: list[EventQueue]
    _tasks: set[asyncio.Task[Any]]

    def instruments(self) -> Mapping[str, InstrumentInfo]:
        """Every tradable perpetual, by symbol (after ``connect``)."""
        return self._infos

    def book(self, symbol: str) -> OrderBook:
        """Our copy of ``symbol``'s book (kept current for the adapter's ``symbols``).

        Raises:
            KeyError: Unknown symbol.
        """
        return self._books[symbol]

    def quote(self, symbol: str) -> Quote | None:
        """Best bid and ask of our copy of the book, ``None`` when a side is empty."""
        return Quote.from_book(self._books[symbol])

    def events(self) -> EventQueue:
        """A new (bounded) subscription to the private stream."""
        sub = EventQueue(self._name, self._clock.now_ns, self._subs.remove)
        self._subs.append(sub)
        return sub

    def _deliver(self, event: VenueEvent) -> None:
        for sub in list(self._subs):
            sub._put(event)

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Runs ``coro`` as a task the adapter owns (cancelled by its ``close``)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
