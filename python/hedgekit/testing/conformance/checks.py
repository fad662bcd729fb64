"""Helpers the suite's tests share: bounded waits, prices and sizes from an instrument's rules,
and a fill ledger fed from a venue's events."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hedgekit._core import FillLedger, FillStatus, Instrument
from hedgekit.model import Fill, OrderRequest, OrderType, Side, TimeInForce, VenueEvent
from hedgekit.testing.conformance.harness import VenueHarness
from hedgekit.venues.base import EventStream, Quote, Venue

__all__ = [
    "EventLog",
    "min_size",
    "passive_order",
    "passive_price",
    "post_only",
    "quote_of",
    "wait_until",
]

_POLLS = 200
_NANO = Decimal("1e-9")


async def wait_until(
    h: VenueHarness,
    predicate: Callable[[], bool | Awaitable[bool]],
    what: str,
    timeout: float | None = None,
) -> None:
    """Polls ``predicate`` (sync or async) at most 200 times over ``timeout`` seconds of the
    harness's time (default ``h.settle_s``).

    Raises:
        AssertionError: Not true within the time, naming ``what``.
    """
    limit = h.settle_s if timeout is None else timeout
    for _ in range(_POLLS + 1):
        got = predicate()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return
        await asyncio.sleep(limit / _POLLS)
    raise AssertionError(f"{what}: not within {limit} s")


async def quote_of(h: VenueHarness, venue: Venue, symbol: str) -> Quote:
    """The venue's quote for ``symbol`` once it has one (bounded by ``h.settle_s``)."""
    await wait_until(h, lambda: venue.quote(symbol) is not None, f"a quote for {symbol}")
    q = venue.quote(symbol)
    assert q is not None
    return q


def passive_price(rules: Instrument, quote: Quote, side: Side, bps: int) -> Decimal:
    """A price ``bps`` basis points behind the touch on ``side`` (below the bid for a buy,
    above the ask for a sell), rounded passively onto the grid: it never crosses."""
    if side is Side.BUY:
        raw = (quote.bid * (1 - Decimal(bps) / 10_000)).quantize(_NANO, ROUND_FLOOR)
        return rules.round_price(raw, "buy")
    raw = (quote.ask * (1 + Decimal(bps) / 10_000)).quantize(_NANO, ROUND_CEILING)
    return rules.round_price(raw, "sell")


def min_size(rules: Instrument, price: Decimal, factor: int = 2) -> Decimal:
    """The smallest valid size at ``price`` that is at least ``factor`` times the minimum
    size and notional (rounded up to the step)."""
    target = max(rules.min_qty, rules.min_notional / price, rules.step_size) * factor
    target = target.quantize(_NANO, ROUND_CEILING)
    size = rules.floor_size(target)
    return size if size >= target else size + rules.step_size


async def passive_order(
    h: VenueHarness, venue: Venue, bps: int, side: Side = Side.BUY
) -> tuple[Decimal, Decimal]:
    """``(price, size)`` of a small order ``bps`` behind the touch of ``h.symbol``: a
    :func:`passive_price` and its :func:`min_size`."""
    rules = venue.instruments()[h.symbol].rules
    price = passive_price(rules, await quote_of(h, venue, h.symbol), side, bps)
    return price, min_size(rules, price)


def post_only(
    symbol: str, side: Side, size: Decimal, price: Decimal, client_id: str
) -> OrderRequest:
    """A post-only limit order."""
    return OrderRequest(
        symbol, side, size, price, client_id, OrderType.LIMIT, TimeInForce.POST_ONLY
    )


class EventLog:
    """Reads one subscription to a venue's events, keeps them all, and feeds every fill through
    a :class:`~hedgekit.FillLedger` (deduplicated by trade id, as hedgekit's tracker does).

    Args:
        venue: The venue's name (the ledger's key).
        stream: The subscription (:meth:`~hedgekit.venues.Venue.events`).
    """

    def __init__(self, venue: str, stream: EventStream) -> None:
        self.venue = venue
        self.stream = stream
        self.events: list[VenueEvent] = []
        self.ledger = FillLedger()
        self.applied: list[Fill] = []
        self.duplicates = 0
        self.unmatched: list[Fill] = []
        """Fills naming a client id no order was registered under (a fill the tracker could
        not attribute: a bug, unless the fill is the venue's own, e.g. a liquidation)."""

    def register(self, client_id: str, side: Side, size: Decimal) -> None:
        """Registers an order whose fills the ledger accepts."""
        self.ledger.register_order(self.venue, client_id, side.value, size)

    def fills(self, client_id: str | None = None) -> list[Fill]:
        """Every fill event received (copies included), of ``client_id`` if given."""
        return [
            e
            for e in self.events
            if isinstance(e, Fill) and (client_id is None or e.client_id == client_id)
        ]

    def filled(self, client_id: str) -> Decimal:
        """The size the ledger holds for ``client_id`` (each fill once)."""
        order = self.ledger.order(self.venue, client_id)
        return Decimal(0) if order is None else order.filled

    def take(self, event: VenueEvent) -> None:
        """Keeps ``event``; a fill of a registered order goes through the ledger."""
        self.events.append(event)
        if not isinstance(event, Fill):
            return
        if self.ledger.order(self.venue, event.client_id) is None:
            self.unmatched.append(event)
        else:
            status = self.ledger.apply(
                self.venue,
                event.trade_id,
                event.client_id,
                event.price,
                event.size,
                event.fee,
                event.is_maker,
                event.ts_ns,
            )
            if status is FillStatus.DUPLICATE:
                self.duplicates += 1
            else:
                self.applied.append(event)

    async def read_until(
        self, h: VenueHarness, done: Callable[[], bool], what: str, timeout: float | None = None
    ) -> None:
        """Reads events until ``done()`` (at most 2,000 events, ``timeout`` seconds of the
        harness's time, default ``h.settle_s``).

        Raises:
            AssertionError: Not done in time, naming ``what``.
        """
        limit = h.settle_s if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        for _ in range(2_000):
            if done():
                return
            left = deadline - loop.time()
            if left <= 0:
                break
            event = await self.stream.get(timeout=left)
            if event is not None:
                self.take(event)
        if not done():
            raise AssertionError(f"{what}: not within {limit} s (events: {self.events!r})")

    async def drain(self, quiet_s: float) -> None:
        """Reads events until none comes for ``quiet_s`` seconds (at most 2,000)."""
        for _ in range(2_000):
            event = await self.stream.get(timeout=quiet_s)
            if event is None:
                return
            self.take(event)
