"""What every live adapter keeps on our side of the wire: its instruments, its copies of the
books, and the subscribers of its private stream. One implementation for all of them."""

from __future__ import annotations

from collections.abc import Mapping

from hedgekit._core import OrderBook
from hedgekit.clock import Clock
from hedgekit.model import VenueEvent
from hedgekit.venues.base import InstrumentInfo, Quote
from hedgekit.venues.transport import EventQueue

__all__ = ["LocalState"]


class LocalState:
    """The local side of a live :class:`~hedgekit.venues.Venue` (a mixin: the adapter fills in
    ``_name``, ``_clock``, ``_infos``, ``_books`` and ``_subs`` in its constructor)."""

    _name: str
    _clock: Clock
    _infos: dict[str, InstrumentInfo]
    _books: dict[str, OrderBook]
    _subs: list[EventQueue]

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
