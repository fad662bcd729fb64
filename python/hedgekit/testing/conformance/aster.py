"""The conformance harness of the Aster adapter over the wire-level fake.

:class:`~hedgekit.venues.aster.AsterVenue` (V3 API-wallet signing) talks to a
:class:`~hedgekit.testing.fakes.aster.FakeAster` on 127.0.0.1 over real sockets in real time.
The truth is the fake's account (its matching engine, order records and ``userTrades`` rows);
the faults are the fake's :class:`~hedgekit.testing.fakes.faults.WireFaults`. Needs the
``live`` extra (aiohttp).
"""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal
from typing import Any

from hedgekit._core import EthSigner
from hedgekit.model import Side
from hedgekit.secrets import Secret
from hedgekit.testing.conformance.harness import Hook, TruthFill, TruthOrder
from hedgekit.testing.conformance.wire import VenueAccess, VenueFactory, WireHarness
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.venues.aster import AsterCredentials, AsterVenue
from hedgekit.venues.transport import Backoff, WsClient

__all__ = ["AsterHarness"]


class AsterHarness(WireHarness[FakeAster, AsterVenue]):
    """Runs the suite against :class:`~hedgekit.venues.aster.AsterVenue` and a fresh
    :class:`~hedgekit.testing.fakes.aster.FakeAster` per test.

    The adapter is tuned for a loopback fake: 1 s request timeout, reconnects after 50-200 ms,
    our protocol pings every 0.2 s keep the user socket alive (the fake sends none of its own, so a
    silenced socket is silent), a socket silent for 0.4 s is replaced, no dead-man switch.

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.
        venue_factory: Builds your venue from a
            :class:`~hedgekit.testing.conformance.wire.VenueAccess` (user address and V3 signer
            key) instead of hedgekit's adapter.
    """

    name = "aster"
    hooks: frozenset[Hook] = frozenset(Hook)
    symbol = "ETHUSDT"
    settle_s = 3.0

    def __init__(
        self, seed: int = 5, *, limit_s: float = 30.0, venue_factory: VenueFactory | None = None
    ) -> None:
        super().__init__(seed, limit_s=limit_s, venue_factory=venue_factory)
        key = hashlib.sha256(b"hedgekit-conformance-aster").hexdigest()
        self._key = key
        self.address = EthSigner(bytes.fromhex(key)).address.lower()

    async def _serve(self) -> tuple[FakeAster, VenueAccess]:
        """Serves a fresh fake on 127.0.0.1 for the harness's account (no server pings)."""
        fake = FakeAster(
            accounts=[self.address], depth_interval_s=0.05, ping_interval_s=None, seed=self.seed
        )
        await fake.start()
        self._fake = fake
        access = VenueAccess(
            "aster",
            fake.url,
            fake.ws_url,
            tuple(fake.state.markets),
            Secret(self._key),
            address=self.address,
            seed=self.seed,
        )
        return fake, access

    def _native(self, access: VenueAccess) -> AsterVenue:
        """hedgekit's adapter (V3 signing, books of every symbol), tuned for loopback."""
        return AsterVenue(
            access.url,
            AsterCredentials.v3(access.address, access.private_key),
            ws_url=access.ws_url,
            symbols=access.symbols,
            request_timeout_s=1.0,
            dead_man_s=None,
            backoff=Backoff(0.05, 0.2, rng=random.Random(self.seed)),
            silence_timeout_s=0.4,
        )

    # --------------------------------------------------------------------- the outside world
    def fake_account(self) -> str:
        """The account's address."""
        return self.address

    def _resting(self, venue_order_id: str) -> tuple[Any, Decimal, bool, Decimal] | None:
        acct = self.fake.account(self.address)
        rec = acct.orders.get(int(venue_order_id))
        if rec is None or not rec.is_open:
            return None
        return acct.engine, rec.price, rec.side == "BUY", rec.orig_qty - rec.executed

    # ------------------------------------------------------------------ the venue's truth
    async def resting_orders(self, symbol: str) -> list[TruthOrder]:
        """The fake's open order records for ``symbol``."""
        return [
            TruthOrder(
                str(o.order_id),
                Side.BUY if o.side == "BUY" else Side.SELL,
                o.price,
                o.orig_qty,
                o.executed,
            )
            for o in self.fake.open_orders(self.address)
            if o.symbol == symbol
        ]

    async def orders_received(self, symbol: str) -> int:
        """Every order record the fake holds for ``symbol``."""
        orders = self.fake.account(self.address).orders.values()
        return sum(1 for o in orders if o.symbol == symbol)

    async def venue_fills(self, symbol: str) -> list[TruthFill]:
        """The fake's ``userTrades`` rows for ``symbol`` (``commission`` negative when
        paid)."""
        return [
            TruthFill(
                str(f["id"]),
                str(f["orderId"]),
                Side.BUY if f["side"] == "BUY" else Side.SELL,
                Decimal(str(f["price"])),
                Decimal(str(f["qty"])),
                -Decimal(str(f["commission"])),
            )
            for f in self.fake.fills(self.address)
            if f["symbol"] == symbol
        ]

    async def mid(self, symbol: str) -> Decimal:
        """The fake's outside mid."""
        mid = self.fake.state.outside.mid(symbol)
        if mid is None:
            raise RuntimeError(f"the fake has no mid for {symbol}")
        return mid

    # ------------------------------------------------------------------------------ faults
    def watched_socket(self) -> WsClient:
        """The socket of our private events."""
        return self.venue.streams.user
