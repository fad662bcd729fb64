"""The conformance harness of the Lighter adapter over the wire-level fake.

:class:`~hedgekit.venues.lighter.LighterVenue` (signed by the venue's native signer from
``lighter-sdk``) talks to a :class:`~hedgekit.testing.fakes.lighter.FakeLighter` on 127.0.0.1
over real sockets in real time. The truth is the fake's account (its matching engine, order
records and trade rows); the faults are the fake's
:class:`~hedgekit.testing.fakes.faults.WireFaults`. Needs the ``live`` and ``lighter`` extras.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hedgekit.model import Side
from hedgekit.testing.conformance.harness import Hook, TruthFill, TruthOrder
from hedgekit.testing.conformance.wire import VenueAccess, WireHarness
from hedgekit.testing.fakes.lighter import FakeLighter
from hedgekit.venues.lighter import LighterCredentials, LighterVenue
from hedgekit.venues.lighter.signing import generate_api_key
from hedgekit.venues.transport import Backoff, WsClient

__all__ = ["LighterHarness"]

ACCOUNT = 4242
"""The account the harness trades."""
KEY_INDEX = 3
"""Its API key's index."""


class LighterHarness(WireHarness[FakeLighter, LighterVenue]):
    """Runs the suite against :class:`~hedgekit.venues.lighter.LighterVenue` and a fresh
    :class:`~hedgekit.testing.fakes.lighter.FakeLighter` per test.

    The adapter is tuned for a loopback fake: 1 s request timeout, orders' states awaited 1 s
    on the stream, reconnects after 50-200 ms, our ``{"type":"ping"}`` every 0.13 s keeps the
    socket alive (the fake answers it; a silenced socket is silent), a socket silent for 0.4 s
    is replaced, no dead-man switch. The fake's sequencer takes 20 ms.

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.
        venue_factory: Builds your venue from a
            :class:`~hedgekit.testing.conformance.wire.VenueAccess` (account index, API key
            index, private and public key) instead of hedgekit's adapter.
    """

    name = "lighter"
    hooks: frozenset[Hook] = frozenset(Hook)
    symbol = "ETH"
    settle_s = 3.0

    async def _serve(self) -> tuple[FakeLighter, VenueAccess]:
        """Serves a fresh fake on 127.0.0.1 with a fresh API key of the harness's account."""
        private, public = generate_api_key()
        fake = FakeLighter(
            api_keys=[(ACCOUNT, KEY_INDEX, public)], ping_interval_s=None, seed=self.seed,
            sequencer_delay_s=0.02, funding=False,
        )  # fmt: skip
        await fake.start()
        self._fake = fake
        access = VenueAccess(
            "lighter",
            fake.url,
            fake.ws_url,
            tuple(m.symbol for m in fake.state.markets.values()),
            private,
            account_index=ACCOUNT,
            api_key_index=KEY_INDEX,
            public_key=public,
            seed=self.seed,
        )
        return fake, access

    def _native(self, access: VenueAccess) -> LighterVenue:
        """hedgekit's adapter (books of every symbol), tuned for loopback."""
        return LighterVenue(
            access.url,
            LighterCredentials(ACCOUNT, KEY_INDEX, access.private_key),
            ws_url=access.ws_url,
            symbols=access.symbols,
            request_timeout_s=1.0,
            ack_timeout_s=1.0,
            backoff=Backoff(0.05, 0.2, rng=random.Random(self.seed)),
            silence_timeout_s=0.4,
        )

    # --------------------------------------------------------------------- the outside world
    def fake_account(self) -> int:
        """The harness's account index."""
        return ACCOUNT

    def _resting(self, venue_order_id: str) -> tuple[Any, Decimal, bool, Decimal] | None:
        acct = self.fake.account(ACCOUNT)
        rec = acct.orders.get(int(venue_order_id))
        if rec is None or not rec.is_open:
            return None
        return acct.engine, rec.price, not rec.is_ask, rec.remaining

    # ------------------------------------------------------------------ the venue's truth
    async def resting_orders(self, symbol: str) -> list[TruthOrder]:
        """The fake's open order records for ``symbol``."""
        return [
            TruthOrder(
                str(o.order_index),
                Side.SELL if o.is_ask else Side.BUY,
                o.price,
                o.initial,
                o.filled,
            )
            for o in self.fake.open_orders(ACCOUNT)
            if o.market.symbol == symbol
        ]

    async def orders_received(self, symbol: str) -> int:
        """Every order record the fake holds for ``symbol``."""
        orders = self.fake.account(ACCOUNT).orders.values()
        return sum(1 for o in orders if o.market.symbol == symbol)

    async def venue_fills(self, symbol: str) -> list[TruthFill]:
        """The fake's trade rows of our account in ``symbol`` (fee: the row's rate in
        millionths of the notional, a cost)."""
        out = []
        for t in self.fake.fills(ACCOUNT):
            if self.fake.state.markets[int(t["market_id"])].symbol != symbol:
                continue
            ours_ask = int(t["ask_account_id"]) == ACCOUNT
            maker = bool(t["is_maker_ask"]) == ours_ask
            rate = Decimal(int(t["maker_fee"] if maker else t["taker_fee"])) / 1_000_000
            out.append(
                TruthFill(
                    str(t["trade_id"]),
                    str(t["ask_id"] if ours_ask else t["bid_id"]),
                    Side.SELL if ours_ask else Side.BUY,
                    Decimal(str(t["price"])),
                    Decimal(str(t["size"])),
                    Decimal(str(t["usd_amount"])) * rate,
                )
            )
        return out

    async def mid(self, symbol: str) -> Decimal:
        """The fake's outside mid."""
        mid = self.fake.state.outside.mid(symbol)
        if mid is None:
            raise RuntimeError(f"the fake has no mid for {symbol}")
        return mid

    # ------------------------------------------------------------------------------ faults
    def watched_socket(self) -> WsClient:
        """The socket of our private events."""
        stream = self.venue.stream
        if stream is None:
            raise RuntimeError("the adapter is not connected")
        return stream.client
