"""The conformance harness of the Hyperliquid adapter over the wire-level fake.

:class:`~hedgekit.venues.hyperliquid.HyperliquidVenue` talks to a
:class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid` on 127.0.0.1 over real sockets in
real time. The truth is the fake's account (its matching engine, order records and fill rows);
the faults are the fake's :class:`~hedgekit.testing.fakes.faults.WireFaults`. Needs the ``live``
extra (aiohttp).
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
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue
from hedgekit.venues.transport import Backoff, WsClient

__all__ = ["HyperliquidHarness"]


class HyperliquidHarness(WireHarness[FakeHyperliquid, HyperliquidVenue]):
    """Runs the suite against :class:`~hedgekit.venues.hyperliquid.HyperliquidVenue` and a
    fresh :class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid` per test.

    The adapter is tuned for a loopback fake: 1 s request timeout, reconnects after 50-200 ms,
    a socket silent for 0.4 s is replaced, no dead-man switch.

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.
        venue_factory: Builds your venue from a
            :class:`~hedgekit.testing.conformance.wire.VenueAccess` (key and master address)
            instead of hedgekit's adapter.
    """

    name = "hyperliquid"
    hooks: frozenset[Hook] = frozenset(Hook)
    symbol = "ETH"
    settle_s = 3.0
    lost_answer_kinds: tuple[str, ...] = ("ws_post", "exchange")

    def __init__(
        self, seed: int = 5, *, limit_s: float = 30.0, venue_factory: VenueFactory | None = None
    ) -> None:
        super().__init__(seed, limit_s=limit_s, venue_factory=venue_factory)
        key = hashlib.sha256(b"hedgekit-conformance-hyperliquid").hexdigest()
        self._key = key
        self.address = EthSigner(bytes.fromhex(key)).address.lower()

    async def _serve(self) -> tuple[FakeHyperliquid, VenueAccess]:
        """Serves a fresh fake on 127.0.0.1 for the harness's account."""
        fake = FakeHyperliquid(accounts=[self.address], book_interval_s=0.05, seed=self.seed)
        await fake.start()
        self._fake = fake
        access = VenueAccess(
            "hyperliquid",
            fake.url,
            fake.ws_url,
            tuple(m.coin for m in fake.state.markets),
            Secret(self._key),
            address=self.address,
            seed=self.seed,
        )
        return fake, access

    def _native(self, access: VenueAccess) -> HyperliquidVenue:
        """hedgekit's adapter (books of every coin), tuned for loopback."""
        return HyperliquidVenue(
            access.url,
            HyperliquidCredentials(access.private_key, access.address),
            symbols=access.symbols,
            request_timeout_s=1.0,
            dead_man_s=None,
            backoff=Backoff(0.05, 0.2, rng=random.Random(self.seed)),
            silence_timeout_s=0.4,
            keepalive_s=0.1,
        )

    # --------------------------------------------------------------------- the outside world
    def fake_account(self) -> str:
        """The account's address."""
        return self.address

    def _resting(self, venue_order_id: str) -> tuple[Any, Decimal, bool, Decimal] | None:
        acct = self.fake.account(self.address)
        rec = acct.orders.get(int(venue_order_id))
        if rec is None or rec.status != "open":
            return None
        return acct.engine, rec.limit_px, rec.is_buy, rec.sz

    # ------------------------------------------------------------------ the venue's truth
    async def resting_orders(self, symbol: str) -> list[TruthOrder]:
        """The fake's open order records for ``symbol``."""
        return [
            TruthOrder(
                str(o.oid), Side.BUY if o.is_buy else Side.SELL, o.limit_px, o.orig_sz, o.filled
            )
            for o in self.fake.open_orders(self.address)
            if o.coin == symbol
        ]

    async def orders_received(self, symbol: str) -> int:
        """Every order record the fake holds for ``symbol``."""
        orders = self.fake.account(self.address).orders.values()
        return sum(1 for o in orders if o.coin == symbol)

    async def venue_fills(self, symbol: str) -> list[TruthFill]:
        """The fake's fill rows for ``symbol``."""
        return [
            TruthFill(
                str(f["tid"]),
                str(f["oid"]),
                Side.BUY if f["side"] == "B" else Side.SELL,
                Decimal(str(f["px"])),
                Decimal(str(f["sz"])),
                Decimal(str(f["fee"])),
            )
            for f in self.fake.fills(self.address)
            if f["coin"] == symbol
        ]

    async def mid(self, symbol: str) -> Decimal:
        """The fake's outside mid."""
        return self.fake.state.mid(symbol)

    # ------------------------------------------------------------------------------ faults
    def watched_socket(self) -> WsClient:
        """The socket of our private events."""
        return self.venue.stream.client
