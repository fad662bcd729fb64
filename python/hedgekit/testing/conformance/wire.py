"""What the harnesses of the live adapters over their wire-level fakes share:
:class:`WireHarness`, and what a venue of your own is built from against one of those fakes:
:class:`VenueAccess`.

One fake server and one connected venue per test, on a fresh event loop bounded in time; the
request count, the socket faults (drop, silence and restore), a lost answer, the cancel-fill
race and accept-then-cancel, all through the fake's
:class:`~hedgekit.testing.fakes.faults.WireFaults`. A venue's harness adds how it serves its
fake and builds hedgekit's adapter for it (its ``_serve`` and ``_native``), the outside world, the venue's truth and which socket of
hedgekit's adapter a silence is judged on (:meth:`WireHarness.watched_socket`).

Given ``venue_factory=``, a harness builds **your** venue instead of hedgekit's adapter: the
factory receives a :class:`VenueAccess` (the fake's URLs, the account's credentials, the
symbols) and returns a :class:`~hedgekit.venues.Venue`; the fake, its truth and its faults are
unchanged. ``pytest --pyargs hedgekit.testing.conformance --venue mypkg:MyVenue --fake aster``
does this from the command line (``docs/adapters.md``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from hedgekit.model import Side
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.server import FakeServer, WsConnection
from hedgekit.venues.base import Venue
from hedgekit.venues.transport import WsClient

__all__ = ["VenueAccess", "VenueFactory", "WireHarness"]

_T = TypeVar("_T")
F = TypeVar("F", bound=FakeServer)
V = TypeVar("V", bound=Venue)


@dataclass(frozen=True, slots=True)
class VenueAccess:
    """Everything a venue of your own needs to trade on one of hedgekit's fakes.

    Which credential fields are set depends on the fake, as the real venue's credentials would:

    * ``hyperliquid``: ``private_key`` (the account's key, hex without ``0x``) and ``address``
      (the master account's address, lower-case ``0x…``);
    * ``aster``: ``address`` (the user) and ``private_key`` (the V3 API wallet's signer key; the
      fake's user and signer are the same address);
    * ``lighter``: ``account_index``, ``api_key_index``, ``private_key`` (the API key's private
      key) and ``public_key`` (as the fake's ``apikeys`` lists it); ``address`` is empty.

    Attributes:
        fake: Which fake: ``"hyperliquid"``, ``"aster"`` or ``"lighter"``.
        url: The fake's HTTP base URL (``http://127.0.0.1:P``, no path).
        ws_url: The fake's WebSocket URL, as hedgekit's adapter for that venue takes it
            (``ws://127.0.0.1:P/ws``; Lighter's ``…/stream``).
        symbols: The venue's symbols, in the venue's own spelling (``ETH``, ``ETHUSDT``).
        private_key: The key that signs (never logged: a :class:`~hedgekit.secrets.Secret`).
        address: The account's address (Hyperliquid, Aster).
        account_index: The account (Lighter).
        api_key_index: The API key's slot (Lighter).
        public_key: The API key's public key (Lighter).
        seed: A seed for anything random the venue does (reconnect jitter), so that runs
            repeat.
    """

    fake: str
    url: str
    ws_url: str
    symbols: tuple[str, ...]
    private_key: Secret
    address: str = ""
    account_index: int | None = None
    api_key_index: int | None = None
    public_key: str | None = None
    seed: int = 5


VenueFactory = Callable[[VenueAccess], Venue | Awaitable[Venue]]
"""Builds a venue of your own from a :class:`VenueAccess`: a class whose constructor takes it,
or a function (sync or ``async``) returning the venue, not yet connected."""

_VENUE_MEMBERS = tuple(n for n in vars(Venue) if not n.startswith("_"))


class WireHarness(Generic[F, V]):
    """The shared half of a harness over a wire-level fake (``F``) and hedgekit's adapter for
    it (``V``), or a venue of your own.

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.
        venue_factory: Builds your venue from a :class:`VenueAccess` instead of hedgekit's
            adapter (``None``: hedgekit's). The test ids then read ``<factory>@<fake>``.

    Attributes:
        lost_answer_kinds: The fake's request kinds whose next answer
            :meth:`lose_next_answer` loses.
        restore_wait_s: How long :meth:`restore_stream` waits for the venue to replace its
            silent sockets.
    """

    name: str
    lost_answer_kinds: tuple[str, ...] = ("exchange",)
    restore_wait_s = 5.0

    def __init__(
        self, seed: int = 5, *, limit_s: float = 30.0, venue_factory: VenueFactory | None = None
    ) -> None:
        self.seed = seed
        self.limit_s = limit_s
        self.venue_factory = venue_factory
        if venue_factory is not None:
            self.name = f"{factory_label(venue_factory)}@{type(self).name}"
        self._fake: F | None = None
        self._venue: V | None = None
        self._user: Venue | None = None
        self._silences = 0
        self._silenced: set[WsConnection] = set()

    def run(self, main: Callable[[], Awaitable[_T]]) -> _T:
        """Runs ``main()`` on a fresh event loop, at most ``limit_s`` seconds."""

        async def bounded() -> _T:
            async with asyncio.timeout(self.limit_s):
                return await main()

        return asyncio.run(bounded())

    @property
    def fake(self) -> F:
        """The fake of the running test.

        Raises:
            RuntimeError: Not started.
        """
        if self._fake is None:
            raise RuntimeError("the harness is not started")
        return self._fake

    @property
    def venue(self) -> V:
        """hedgekit's adapter of the running test.

        Raises:
            RuntimeError: Not started, or the venue under test is one of your own
                (:attr:`user_venue`).
        """
        if self._venue is None:
            raise RuntimeError("the harness is not started, or it runs a venue of your own")
        return self._venue

    @property
    def user_venue(self) -> Venue | None:
        """Your venue of the running test (``None`` when hedgekit's adapter runs)."""
        return self._user

    async def _serve(self) -> tuple[F, VenueAccess]:
        """Starts a fresh fake on 127.0.0.1 (setting ``_fake``); it and the access to it."""
        raise NotImplementedError

    def _native(self, access: VenueAccess) -> V:
        """hedgekit's adapter for the fake, tuned for loopback, not yet connected."""
        raise NotImplementedError

    async def start(self) -> Venue:
        """Serves a fresh fake and connects a venue to it: yours when a ``venue_factory`` was
        given, else hedgekit's adapter (books of every symbol).

        Raises:
            TypeError: The factory returned something that is not a
                :class:`~hedgekit.venues.Venue` (the message names what it lacks).
        """
        _, access = await self._serve()
        try:
            venue: Venue
            if self.venue_factory is None:
                native = self._native(access)
                self._venue = venue = native
            else:
                self._user = venue = await _make(self.venue_factory, access)
            await venue.connect()
        except BaseException:
            await self.stop()
            raise
        return venue

    def watched_socket(self) -> WsClient:
        """hedgekit's adapter's socket whose silence :meth:`restore_stream` waits to be
        noticed."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Closes the venue, then the fake."""
        venues = (self._venue, self._user)
        fake = self._fake
        self._venue = self._fake = self._user = None
        try:
            for venue in venues:
                if venue is not None:
                    await venue.close()
        finally:
            if fake is not None:
                await fake.stop()

    def fake_account(self) -> Any:
        """The account as the fake names it (an address, a Lighter account index)."""
        raise NotImplementedError

    # --------------------------------------------------------------------- the outside world
    def _resting(self, venue_order_id: str) -> tuple[Any, Decimal, bool, Decimal] | None:
        """Our order at the fake, if it still rests: the account's engine, its price, whether
        it buys, and its unfilled size (``None``: gone)."""
        raise NotImplementedError

    async def fill_resting(
        self, symbol: str, venue_order_id: str, size: Decimal | None = None
    ) -> None:
        """An outside taker sweeps everything queued at better prices, then our order's level
        (or ``size`` of our order), up to its price.

        Raises:
            ValueError: ``size`` given while others share the order's price.
        """
        found = self._resting(venue_order_id)
        if found is None:
            return
        engine, price, buy, remaining = found
        bids, asks = engine.book_levels(symbol, 10_000)
        levels = bids if buy else asks
        better = sum((s for p, s in levels if (p > price if buy else p < price)), Decimal(0))
        level = sum((s for p, s in levels if p == price), Decimal(0))
        if size is not None and level != remaining:
            raise ValueError(f"outside orders share {price}: a partial fill cannot be aimed")
        amount = better + (level if size is None else size)
        self.fake.trade_against(symbol, Side.SELL if buy else Side.BUY, amount, price)  # type: ignore[attr-defined]

    async def move_price(self, symbol: str, mid: Decimal) -> None:
        """Moves the fake's outside market."""
        self.fake.move_price(symbol, mid)  # type: ignore[attr-defined]

    async def position(self, symbol: str) -> Decimal:
        """The fake's position."""
        position: Decimal = self.fake.position(self.fake_account(), symbol)  # type: ignore[attr-defined]
        return position

    async def requests_received(self) -> int:
        """Requests the fake received (HTTP, and transactions over its sockets)."""
        return self.fake.requests

    async def drop_stream(self) -> None:
        """Aborts every WebSocket of the fake."""
        self.fake.faults.drop_ws()

    async def silence_stream(self) -> None:
        """The fake's sockets stay open and send nothing."""
        if self._venue is not None:
            self._silences = self.watched_socket().silences
        self._silenced = self.fake.connections
        self.fake.faults.silence_ws()

    def _replaced(self) -> bool:
        if self._venue is not None:
            return self.watched_socket().silences > self._silences
        # a venue of your own: it has given up every socket that went silent (a socket it
        # opens while the fake is silent is silent too, so waiting for a new one is too late)
        return not self._silenced & self.fake.connections

    async def restore_stream(self) -> None:
        """Waits (at most :attr:`restore_wait_s`) until the venue has replaced the silent
        socket, then lets the fake send again.

        hedgekit's adapters are asked (the watched socket's count of silences); a venue of your
        own is judged by the fake: the wait ends once every connection that was open when the
        silence began is closed (the venue noticed and dropped it; its new ones are then served
        normally, and the fake's ``FakeServer.ws_opened``
        counts them).
        """
        polls = max(1, round(self.restore_wait_s / 0.02))
        try:
            for _ in range(polls):
                if self._replaced():
                    break
                await asyncio.sleep(0.02)
        finally:
            self.fake.faults.resume_ws()

    async def lose_next_answer(self, op: str) -> None:
        """The fake applies the next action and never answers it (place and cancel are one
        kind of request on the wire)."""
        del op
        self.fake.faults.lose_answer(1, kinds=self.lost_answer_kinds)

    async def race_next_cancel(self) -> None:
        """The fake fills the order before answering the next cancel; the fill's events
        follow 0.2 s after the answer."""
        self.fake.faults.cancel_fill_race(1, event_delay_s=0.2)

    async def cancel_next_accepted(self) -> None:
        """The fake shows the next resting order accepted, then cancels it 50 ms later."""
        self.fake.faults.accept_then_cancel(1, delay_s=0.05)


def factory_label(factory: object) -> str:
    """A venue factory's name for test ids (its ``__name__``, else its type's)."""
    name = getattr(factory, "__name__", None)
    return name if isinstance(name, str) else type(factory).__name__


async def _make(factory: VenueFactory, access: VenueAccess) -> Venue:
    made = factory(access)
    venue = await made if inspect.isawaitable(made) else made
    missing = [n for n in _VENUE_MEMBERS if not hasattr(venue, n)]
    if missing:
        raise TypeError(
            f"the venue factory {factory_label(factory)} returned {type(venue).__name__}, which "
            f"is not a hedgekit.venues.Venue: it lacks {', '.join(missing)}"
        )
    return venue
