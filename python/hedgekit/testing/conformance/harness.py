"""What the conformance suite needs from a venue under test: :class:`VenueHarness`.

A harness builds one connected :class:`~hedgekit.venues.Venue` per test and tears it down, runs
the test on the right event loop (virtual time for a simulated venue, real time over sockets),
drives the venue's outside world (outside flow that fills our resting order, a price move),
reads the venue's **own truth** (its records of our resting orders, fills, position and the
requests it received: never the adapter's answers, which are what is being judged) and offers
the faults the live bugs need. It declares which of those it has in :attr:`VenueHarness.hooks`;
a test that needs a hook the harness lacks is reported *not applicable* instead of run.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar, runtime_checkable

from hedgekit.model import Side
from hedgekit.venues.base import Venue

__all__ = ["Hook", "TruthFill", "TruthOrder", "VenueHarness"]

_T = TypeVar("_T")


class Hook(enum.StrEnum):
    """A capability a harness may have (each is a group of :class:`VenueHarness` methods)."""

    TRUTH = "truth"
    """:meth:`~VenueHarness.resting_orders`, :meth:`~VenueHarness.orders_received`,
    :meth:`~VenueHarness.venue_fills`, :meth:`~VenueHarness.position`,
    :meth:`~VenueHarness.requests_received`, :meth:`~VenueHarness.mid`."""
    OUTSIDE_TRADE = "outside_trade"
    """:meth:`~VenueHarness.fill_resting`: outside flow fills our resting order."""
    MOVE_PRICE = "move_price"
    """:meth:`~VenueHarness.move_price`: the outside market moves."""
    DROP_STREAM = "drop_stream"
    """:meth:`~VenueHarness.drop_stream`: the private stream's socket is killed."""
    SILENCE_STREAM = "silence_stream"
    """:meth:`~VenueHarness.silence_stream` / :meth:`~VenueHarness.restore_stream`: the
    socket stays open and sends nothing."""
    FILL_WHILE_DOWN = "fill_while_down"
    """Outside flow can fill our order while the stream is dropped or silent (the venue goes
    on trading while we do not hear it)."""
    LOSE_ANSWER = "lose_answer"
    """:meth:`~VenueHarness.lose_next_answer`: the venue acts and its answer is lost."""
    CANCEL_FILL_RACE = "cancel_fill_race"
    """:meth:`~VenueHarness.race_next_cancel`: the venue fills the order between a cancel's
    arrival and its reply, and sends the fill's events after the reply."""
    ACCEPT_THEN_CANCEL = "accept_then_cancel"
    """:meth:`~VenueHarness.cancel_next_accepted`: the venue accepts the next order, then
    cancels it (Hyperliquid ``marginCanceled``, an IOC that met nothing, Aster GTX
    ``EXPIRED``, Lighter ``canceled-post-only``)."""


@dataclass(frozen=True, slots=True)
class TruthOrder:
    """One of our orders as the venue's own records hold it.

    Attributes:
        venue_order_id: The venue's id, as the adapter reports it (``OrderAck``).
        side: Buy or sell.
        price: The limit price.
        size: The order's size (filled part included).
        filled: How much of it has filled.
    """

    venue_order_id: str
    side: Side
    price: Decimal
    size: Decimal
    filled: Decimal


@dataclass(frozen=True, slots=True)
class TruthFill:
    """One of our fills as the venue's own records hold it.

    Attributes:
        trade_id: The venue's trade id, as a string (the adapter's ``Fill.trade_id`` is
            compared as ``str``).
        venue_order_id: The order it filled.
        side: Our side.
        price: Execution price.
        size: Executed size.
        fee: The fee charged (positive: a cost).
    """

    trade_id: str
    venue_order_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal


@runtime_checkable
class VenueHarness(Protocol):
    """Builds, drives and inspects one venue for the conformance suite.

    One harness object serves one test at a time: :meth:`start` builds a fresh venue (and
    whatever serves it) and connects it, :meth:`stop` tears everything down; both run inside
    :meth:`run`. A harness for a third-party venue need not have every hook: list the ones it
    has in :attr:`hooks`, and leave the others raising ``NotImplementedError``.

    Attributes:
        name: A short name for test ids (``"sim"``, ``"hyperliquid"``).
        hooks: The capabilities this harness has.
        symbol: The instrument most tests trade (one the venue lists, with a book).
        settle_s: How long, in the harness's time, a change at the venue may take to show on
            the adapter's streams (the bound of every wait in the suite).
    """

    name: str
    hooks: frozenset[Hook]
    symbol: str
    settle_s: float

    def run(self, main: Callable[[], Awaitable[_T]]) -> _T:
        """Runs ``main()`` to completion on this harness's event loop, bounded in time.

        Raises:
            TimeoutError: ``main`` did not finish within the harness's bound.
        """
        ...

    async def start(self) -> Venue:
        """Builds a fresh venue (and its server, fake or engine), connects it and returns
        it."""
        ...

    async def stop(self) -> None:
        """Closes the venue and everything :meth:`start` built (idempotent)."""
        ...

    # --------------------------------------------------------------------- the outside world
    async def fill_resting(
        self, symbol: str, venue_order_id: str, size: Decimal | None = None
    ) -> None:
        """Outside flow fills our resting order at its price (as maker): completely, or
        ``size`` of it (the suite asks for a part only of an order alone at its price)."""
        ...

    async def move_price(self, symbol: str, mid: Decimal) -> None:
        """Moves the outside market's mid (our resting orders it trades through fill)."""
        ...

    # ------------------------------------------------------------------ the venue's truth
    async def resting_orders(self, symbol: str) -> list[TruthOrder]:
        """Our orders resting at the venue, by its own records."""
        ...

    async def orders_received(self, symbol: str) -> int:
        """How many orders of ours the venue ever accepted in ``symbol`` (resting or not):
        a re-placed order shows here."""
        ...

    async def venue_fills(self, symbol: str) -> list[TruthFill]:
        """Our fills in ``symbol`` by the venue's own records, oldest first."""
        ...

    async def position(self, symbol: str) -> Decimal:
        """Our signed position in ``symbol`` by the venue's own records."""
        ...

    async def requests_received(self) -> int:
        """How many requests the venue has received so far (an order refused before sending
        adds none)."""
        ...

    async def mid(self, symbol: str) -> Decimal:
        """The venue's outside mid for ``symbol``."""
        ...

    # ------------------------------------------------------------------------------ faults
    async def drop_stream(self) -> None:
        """Kills the private stream's connection now (no close handshake); the venue goes on
        trading while the adapter reconnects."""
        ...

    async def silence_stream(self) -> None:
        """The private stream stays open and sends nothing from now on."""
        ...

    async def restore_stream(self) -> None:
        """Ends a silence once the adapter can have noticed it (its silence timeout); what
        was held back is lost, as on a real silent socket."""
        ...

    async def lose_next_answer(self, op: str) -> None:
        """The next request of kind ``op`` (``"place"`` or ``"cancel"``) is acted on by the
        venue and its answer lost."""
        ...

    async def race_next_cancel(self) -> None:
        """The next cancel of an open order finds it filled between the cancel's arrival and
        its reply; the fill's events are sent after the reply."""
        ...

    async def cancel_next_accepted(self) -> None:
        """The next order that would rest is answered as accepted, then cancelled by the
        venue shortly after."""
        ...
