"""The one interface every venue implements: :class:`Venue`.

A venue adapter translates between its wire format and these calls, nothing else: shared
mechanics (order tracking, deduplication, reconciliation) live in :mod:`hedgekit.tracking`.

Errors are :class:`hedgekit.errors.VenueError` subclasses. A definitive one
(:class:`~hedgekit.errors.OrderRejectedError`) means nothing happened; an ambiguous one
(:class:`~hedgekit.errors.AmbiguousOutcomeError`: a timeout, a disconnect, a 5xx) means the request
may have been acted on, and only a status query can tell.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from hedgekit._core import Instrument, OrderBook
from hedgekit.model import (
    AccountState,
    CancelResult,
    Fill,
    FundingPayment,
    FundingRate,
    OrderAck,
    OrderRequest,
    OrderStatusReport,
    Position,
    VenueEvent,
)
from hedgekit.risk.funding import FundingSchedule
from hedgekit.risk.tiers import MarginTable

__all__ = ["EventStream", "InstrumentInfo", "Quote", "Venue"]


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    """One market on one venue: its order rules and our fee rates there.

    Attributes:
        venue: The venue's name.
        symbol: The venue's symbol.
        rules: The core's :class:`~hedgekit.Instrument` (grid, step, minimums).
        maker_fee: Maker fee rate as a fraction (``Decimal("0.00015")`` = 1.5 bps; negative is
            a rebate).
        taker_fee: Taker fee rate as a fraction.
        funding_interval_s: Seconds between funding payments.
    """

    venue: str
    symbol: str
    rules: Instrument
    maker_fee: Decimal
    taker_fee: Decimal
    funding_interval_s: int = 3600


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and offer with their sizes, and when our copy of the book last changed."""

    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    ts_ns: int

    @property
    def mid(self) -> Decimal:
        """``(bid + ask) / 2``, exact."""
        return (self.bid + self.ask) / 2

    @classmethod
    def from_book(cls, book: OrderBook) -> Quote | None:
        """The best bid and ask of ``book`` (stamped with its last update), ``None`` when a side
        is empty."""
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return None
        return cls(bid[0], bid[1], ask[0], ask[1], book.last_update_ns)


class EventStream(Protocol):
    """One subscriber's view of a venue's private events, in delivery order."""

    def __aiter__(self) -> AsyncIterator[VenueEvent]: ...

    async def __anext__(self) -> VenueEvent: ...

    async def get(self, timeout: float | None = None) -> VenueEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds without one."""
        ...

    def close(self) -> None:
        """Stops the subscription; events after this are not kept."""
        ...


@runtime_checkable
class Venue(Protocol):
    """A perpetual-futures venue, as hedgekit drives it.

    Every call that reaches the venue is a coroutine with its own timeout; none blocks the event
    loop. ``book``/``quote`` read local state kept current by the venue's market-data feed.
    """

    @property
    def name(self) -> str:
        """A short, unique name (``"hyperliquid"``, ``"aster"``, ``"sim-a"``)."""
        ...

    @property
    def supports_modify(self) -> bool:
        """True when the venue can :meth:`modify` a resting order (in place, or as a
        cancel-replace whose answer names a new venue order id)."""
        ...

    async def connect(self) -> None:
        """Loads instruments and starts the market-data and private streams."""
        ...

    async def close(self) -> None:
        """Stops every stream and background task of this venue."""
        ...

    def instruments(self) -> Mapping[str, InstrumentInfo]:
        """Every tradable instrument, by symbol (after :meth:`connect`)."""
        ...

    def book(self, symbol: str) -> OrderBook:
        """The live L2 book for ``symbol`` (our copy, as fresh as the feed).

        Raises:
            KeyError: Unknown symbol.
        """
        ...

    def quote(self, symbol: str) -> Quote | None:
        """Best bid and ask from our copy of the book, ``None`` when a side is empty."""
        ...

    async def place(self, request: OrderRequest) -> OrderAck:
        """Places an order.

        Raises:
            hedgekit.errors.OrderRejectedError: Refused; nothing happened (definitive).
            hedgekit.errors.AmbiguousOutcomeError: No usable answer; the order may exist.
        """
        ...

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        """Cancels an order by either id.

        A venue that answers "unknown order" for both a filled and a cancelled order is followed
        by a status query, so the result tells the two apart.

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: No answer; the order may or may not be live.
            hedgekit.errors.RateLimitedError: Refused by the rate limit; nothing happened.
        """
        ...

    async def modify(
        self, symbol: str, client_id: str, *, price: Decimal, size: Decimal
    ) -> OrderAck:
        """Changes a resting order's price and size (see :attr:`supports_modify`). The answer's
        ``venue_order_id`` is the order's id from now on (Hyperliquid's modify is a
        cancel-replace with a new id); the client id stays.

        Raises:
            NotImplementedError: The venue cannot modify.
            hedgekit.errors.OrderRejectedError: Refused; the original order stays.
            hedgekit.errors.AmbiguousOutcomeError: No usable answer.
        """
        ...

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
        """The venue's view of one order, ``None`` when it does not know the order.

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: No answer.
        """
        ...

    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our recent fills as the venue's REST API lists them (oldest first)."""
        ...

    async def positions(self) -> dict[str, Position]:
        """Every non-flat position, by symbol."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order of the account still resting (open or partly filled), oldest first, as
        the venue lists them (Hyperliquid ``openOrders``, Aster ``/fapi/v1/openOrders``, Lighter
        ``accountActiveOrders``): what a process that did not place them (``hedgekit kill``)
        learns them from."""
        ...

    async def funding_rates(self) -> dict[str, FundingRate]:
        """The current funding rate of every instrument, by symbol."""
        ...

    async def account(self) -> AccountState:
        """The account's collateral, equity, available, initial and maintenance margin (cross
        margin; Hyperliquid ``clearinghouseState``, Aster ``/fapi/v2/account``)."""
        ...

    async def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol``.

        Raises:
            KeyError: Unknown symbol.
        """
        ...

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s leverage (Hyperliquid ``updateLeverage``, Aster
        ``/fapi/v1/leverage``, Lighter ``UpdateLeverage``) and returns the leverage now set.

        Raises:
            KeyError: Unknown symbol.
            hedgekit.errors.LeverageRejectedError: Above the cap of the margin tier the current
                position is in, or a leverage the venue does not offer; nothing changed. The
                venue's own text.
            hedgekit.errors.OrderRejectedError: The account would be short of initial margin
                (``reason="insufficient_margin"``).
            hedgekit.errors.AmbiguousOutcomeError: No answer; the leverage may have changed.
        """
        ...

    def margin_table(self, symbol: str) -> MarginTable | None:
        """``symbol``'s maintenance-margin tiers as the venue's metadata gives them
        (Hyperliquid ``meta`` ``marginTables``, Aster ``leverageBracket``, Lighter's margin
        fractions); ``None`` when the venue does not say (margin is then judged from
        :meth:`account` alone, without a liquidation distance).

        Raises:
            KeyError: Unknown symbol.
        """
        ...

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """When ``symbol``'s funding is settled (periodic or continuous, and the interval).

        Raises:
            KeyError: Unknown symbol.
        """
        ...

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Funding actually booked on our positions from ``since_ns`` on, oldest first
        (received positive, paid negative)."""
        ...

    def events(self) -> EventStream:
        """A new subscription to the private stream (order updates, fills, stream status,
        liquidations, deleverages and funding payments).

        A liquidation or an auto-deleverage also arrives as a :class:`~hedgekit.model.Fill`
        whose client id is the venue's, not ours (:func:`hedgekit.model.forced_fill_kind`)."""
        ...
