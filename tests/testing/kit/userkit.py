"""Venues of a user's own, as the conformance kit receives them (``--venue userkit:MyAster
--fake aster``): one correct, built from a ``VenueAccess`` only, and three with a bug each that
the suite must name. Imported by the subprocesses of ``tests/testing/test_conformance_kit.py``
(this folder is put on ``PYTHONPATH``)."""

from __future__ import annotations

import asyncio
import collections
import random
from decimal import Decimal

from hedgekit.errors import AmbiguousOutcomeError, OrderRejectedError
from hedgekit.model import CancelResult, Fill, OrderAck, OrderRequest, VenueEvent
from hedgekit.testing.conformance import VenueAccess
from hedgekit.venues.aster import AsterCredentials, AsterVenue
from hedgekit.venues.base import EventStream
from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue
from hedgekit.venues.lighter import LighterCredentials, LighterVenue
from hedgekit.venues.transport import Backoff


class MyAster(AsterVenue):
    """A user's Aster venue: hedgekit's adapter, built from what the kit hands over and tuned
    for a loopback fake (short timeouts, a silent socket replaced after 0.4 s)."""

    def __init__(self, access: VenueAccess) -> None:
        super().__init__(
            access.url,
            AsterCredentials.v3(access.address, access.private_key),
            ws_url=access.ws_url,
            symbols=access.symbols,
            name="my-aster",
            request_timeout_s=1.0,
            dead_man_s=None,
            backoff=Backoff(0.05, 0.2, rng=random.Random(access.seed)),
            silence_timeout_s=0.4,
        )


async def make_my_aster(access: VenueAccess) -> MyAster:
    """The same venue from an async factory function."""
    return MyAster(access)


class _Twice:
    """An event stream that delivers every fill twice."""

    def __init__(self, inner: EventStream) -> None:
        self.inner = inner
        self.pending: collections.deque[VenueEvent] = collections.deque()

    def __aiter__(self) -> _Twice:
        return self

    async def __anext__(self) -> VenueEvent:
        event = await self.get()
        assert event is not None
        return event

    async def get(self, timeout: float | None = None) -> VenueEvent | None:
        if self.pending:
            return self.pending.popleft()
        event = await self.inner.get(timeout)
        if isinstance(event, Fill):
            self.pending.append(event)
        return event

    def close(self) -> None:
        self.inner.close()


class DoubleFills(MyAster):
    """Bug: ``events()`` delivers every fill twice."""

    def events(self) -> EventStream:
        return _Twice(super().events())


class TimeoutAsRejected(MyAster):
    """Bug: a place not answered within 0.5 s is reported as rejected (it may well rest)."""

    async def place(self, request: OrderRequest) -> OrderAck:
        try:
            async with asyncio.timeout(0.5):
                return await super().place(request)
        except (TimeoutError, AmbiguousOutcomeError) as exc:
            raise OrderRejectedError(self.name, "order failed: no answer") from exc


class CancelledWhenFilled(MyAster):
    """Bug: the cancel of an order the venue had already filled says CANCELLED."""

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        result = await super().cancel(symbol, client_id=client_id, venue_order_id=venue_order_id)
        return CancelResult.CANCELLED if result is CancelResult.ALREADY_FILLED else result


def not_a_venue(access: VenueAccess) -> Decimal:
    """Bug: the factory returns something that is not a venue."""
    del access
    return Decimal(1)


def my_hyperliquid(access: VenueAccess) -> HyperliquidVenue:
    """A user's Hyperliquid venue from a factory function (the key and master address the
    kit hands over), tuned for a loopback fake."""
    return HyperliquidVenue(
        access.url,
        HyperliquidCredentials(access.private_key, access.address),
        symbols=access.symbols,
        name="my-hyperliquid",
        request_timeout_s=1.0,
        dead_man_s=None,
        backoff=Backoff(0.05, 0.2, rng=random.Random(access.seed)),
        silence_timeout_s=0.4,
        keepalive_s=0.1,
    )


def my_lighter(access: VenueAccess) -> LighterVenue:
    """A user's Lighter venue (account index, API key index and private key from the kit),
    tuned for a loopback fake."""
    assert access.account_index is not None and access.api_key_index is not None
    return LighterVenue(
        access.url,
        LighterCredentials(access.account_index, access.api_key_index, access.private_key),
        ws_url=access.ws_url,
        symbols=access.symbols,
        name="my-lighter",
        request_timeout_s=1.0,
        ack_timeout_s=1.0,
        backoff=Backoff(0.05, 0.2, rng=random.Random(access.seed)),
        silence_timeout_s=0.4,
    )
