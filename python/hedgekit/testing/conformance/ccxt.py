"""The conformance harnesses of the ccxt bridge: :class:`~hedgekit.venues.ccxt.CcxtVenue`
driving ccxt.pro's ``hyperliquid`` against
:class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid` and ccxt.pro's ``aster`` against
:class:`~hedgekit.testing.fakes.aster.FakeAster`, with ccxt's ``urls['api']`` pointed at the fakes
on 127.0.0.1. The truth and the faults are the fakes', as for the native adapters' harnesses.
Needs ccxt (the ``ccxt`` extra) and aiohttp.

ccxt's ``hyperliquid`` signs with the phantom-agent source ``"a"``, which the fake is told to try
first. Both harnesses have every hook. A third, :class:`CcxtAsterPollingHarness`, runs the bridge
with its private events polled over REST (what it does for an exchange without a private stream):
there is no private socket to kill or silence then, so :attr:`~Hook.DROP_STREAM`,
:attr:`~Hook.SILENCE_STREAM` and :attr:`~Hook.FILL_WHILE_DOWN` are declared absent for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from hedgekit._core import EthSigner
from hedgekit.testing.conformance.aster import AsterHarness
from hedgekit.testing.conformance.harness import Hook, TruthFill, TruthOrder
from hedgekit.testing.conformance.hyperliquid import HyperliquidHarness
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.venues.ccxt import CcxtVenue, make_exchange
from hedgekit.venues.transport import Backoff

__all__ = [
    "CcxtAsterHarness",
    "CcxtAsterPollingHarness",
    "CcxtHyperliquidHarness",
    "ccxt_aster",
    "ccxt_hyperliquid",
]

_T = TypeVar("_T")
_KEEPALIVE_MS = 150  # ccxt's ping interval; two missed pongs end a silent socket


def ccxt_hyperliquid(fake: FakeHyperliquid, key: str, address: str) -> Any:
    """ccxt.pro's ``hyperliquid`` pointed at ``fake`` (REST and WebSocket), signing with
    ``key`` for ``address``; no builder-fee or referral actions before the first order, no
    client-side throttle (the fake is on loopback)."""
    ex = make_exchange(
        "hyperliquid",
        {
            "privateKey": "0x" + key,
            "walletAddress": address,
            "enableRateLimit": False,
            "options": {"approvedBuilderFee": True, "refSet": True, "builderFee": False},
        },
    )
    ex.urls["api"] = {"public": fake.url, "private": fake.url,
                      "ws": {"public": fake.ws_url, "private": fake.ws_url}}  # fmt: skip
    ex.streaming["keepAlive"] = _KEEPALIVE_MS
    return ex


def ccxt_aster(fake: FakeAster, key: str, address: str) -> Any:
    """ccxt.pro's ``aster`` (V3 API-wallet signing) pointed at ``fake``; ccxt's throttle stays
    on with the fake's spacing (10 ms) instead of the venue's 333 ms."""
    ex = make_exchange(
        "aster",
        {
            "privateKey": "0x" + key,
            "walletAddress": address,
            "rateLimit": 10,
            "options": {"builderFee": False, "defaultType": "swap"},
        },
    )
    base = fake.url
    ws = {"swap": fake.ws_url + "/stream", "spot": fake.ws_url + "/stream"}
    ex.urls["api"] = {"fapiPublic": base + "/fapi", "fapiPrivate": base + "/fapi",
                      "sapiPublic": base + "/api", "sapiPrivate": base + "/api",
                      "ws": {"public": ws, "private": {"swap": fake.ws_url + "/ws",
                                                       "spot": fake.ws_url + "/ws"}}}  # fmt: skip
    ex.streaming["keepAlive"] = _KEEPALIVE_MS
    return ex


class _BridgeHarness:
    """What the ccxt harnesses share: the native harness of the same fake reads the truth and
    injects the faults (its fake and account are the bridge's), the suite's symbols are ccxt's
    unified ones (translated to the fake's), and a silence ends when the bridge has given the
    silent socket up."""

    name: str
    hooks: frozenset[Hook] = frozenset(Hook)
    symbol: str
    settle_s = 3.0
    private_stream = True

    def __init__(
        self, native: HyperliquidHarness | AsterHarness, seed: int, limit_s: float
    ) -> None:
        self.native = native
        self.seed = seed
        self.limit_s = limit_s
        key = hashlib.sha256(f"hedgekit-conformance-{self.name}".encode()).hexdigest()
        self._key = key
        native.address = EthSigner(bytes.fromhex(key)).address.lower()
        self.bridge: CcxtVenue | None = None
        self._exchange: Any = None
        self._silences = 0

    @property
    def address(self) -> str:
        """The account's address (at the fake)."""
        return self.native.address

    def run(self, main: Callable[[], Awaitable[_T]]) -> _T:
        """Runs ``main()`` on a fresh event loop, at most ``limit_s`` seconds."""
        return self.native.run(main)

    def _market(self, symbol: str) -> str:
        raise NotImplementedError

    async def _serve(self) -> tuple[Any, tuple[str, ...]]:
        """Starts the fake (set on the native harness); the exchange and the bridge's symbols."""
        raise NotImplementedError

    async def start(self) -> CcxtVenue:
        """Serves a fresh fake and connects the bridge to it (books of every market)."""
        ex, symbols = await self._serve()
        self._exchange = ex
        venue = CcxtVenue(
            ex,
            name=self.name,
            symbols=symbols,
            request_timeout_s=2.0,
            poll_interval_s=0.1,
            backoff=Backoff(0.05, 0.2, rng=random.Random(self.seed)),
            private_stream=self.private_stream,
            dead_man_s=None,  # off, as in every harness: the switch has tests of its own
        )
        self.bridge = venue
        await venue.connect()
        return venue

    async def stop(self) -> None:
        """Closes the bridge and its exchange, then the fake."""
        venue, ex, fake = self.bridge, self._exchange, self.native._fake
        self.bridge = self._exchange = self.native._fake = None
        try:
            if venue is not None:
                await venue.close()
            if ex is not None:
                await _close(ex)
        finally:
            if fake is not None:
                await fake.stop()

    # the outside world and the truth: the native harness's, on the fake's symbol
    async def fill_resting(
        self, symbol: str, venue_order_id: str, size: Decimal | None = None
    ) -> None:
        """As the native harness."""
        await self.native.fill_resting(self._market(symbol), venue_order_id, size)

    async def move_price(self, symbol: str, mid: Decimal) -> None:
        """Moves the fake's outside market."""
        await self.native.move_price(self._market(symbol), mid)

    async def resting_orders(self, symbol: str) -> list[TruthOrder]:
        """The fake's open order records."""
        return await self.native.resting_orders(self._market(symbol))

    async def orders_received(self, symbol: str) -> int:
        """Every order record the fake holds for ``symbol``."""
        return await self.native.orders_received(self._market(symbol))

    async def venue_fills(self, symbol: str) -> list[TruthFill]:
        """The fake's fill rows."""
        return await self.native.venue_fills(self._market(symbol))

    async def position(self, symbol: str) -> Decimal:
        """The fake's position."""
        return await self.native.position(self._market(symbol))

    async def requests_received(self) -> int:
        """Requests the fake received."""
        return await self.native.requests_received()

    async def mid(self, symbol: str) -> Decimal:
        """The fake's outside mid."""
        return await self.native.mid(self._market(symbol))

    # faults: the native harness's, but a silence ends when the bridge has given it up
    async def drop_stream(self) -> None:
        """Aborts every WebSocket of the fake."""
        await self.native.drop_stream()

    async def silence_stream(self) -> None:
        """The fake's sockets stay open and send nothing."""
        assert self.bridge is not None
        self._silences = self.bridge.stream_errors
        self.native.fake.faults.silence_ws()

    async def restore_stream(self) -> None:
        """Waits (at most 5 s) until the bridge has given up the silent socket, then lets the
        fake send again."""
        assert self.bridge is not None
        try:
            for _ in range(250):
                if self.bridge.stream_errors > self._silences:
                    break
                await asyncio.sleep(0.02)
        finally:
            self.native.fake.faults.resume_ws()

    async def lose_next_answer(self, op: str) -> None:
        """The fake applies the next request of that kind and never answers it."""
        await self.native.lose_next_answer(op)

    async def race_next_cancel(self) -> None:
        """The fake fills the order before answering the next cancel."""
        await self.native.race_next_cancel()

    async def cancel_next_accepted(self) -> None:
        """The fake accepts the next resting order, then cancels it."""
        await self.native.cancel_next_accepted()


class CcxtHyperliquidHarness(_BridgeHarness):
    """The suite against ``CcxtVenue(ccxt.pro.hyperliquid)`` and a fresh
    :class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid` per test (every hook).

    The bridge is tuned for a loopback fake: 2 s call timeout, reconnects after 50-200 ms,
    ccxt's keepalive every 150 ms (a silent socket ends after two missed pongs).

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.
    """

    name = "ccxt-hyperliquid"
    symbol = "ETH/USDC:USDC"

    def __init__(self, seed: int = 5, *, limit_s: float = 40.0) -> None:
        self.hl = HyperliquidHarness(seed, limit_s=limit_s)
        super().__init__(self.hl, seed, limit_s)

    def _market(self, symbol: str) -> str:
        return _coin(symbol)

    async def _serve(self) -> tuple[Any, tuple[str, ...]]:
        fake = FakeHyperliquid(
            accounts=[self.address], book_interval_s=0.05, seed=self.seed, source="a"
        )
        await fake.start()
        self.hl._fake = fake
        symbols = tuple(f"{m.coin}/USDC:USDC" for m in fake.state.markets)
        return ccxt_hyperliquid(fake, self._key, self.address), symbols


class CcxtAsterHarness(_BridgeHarness):
    """The suite against ``CcxtVenue(ccxt.pro.aster)`` and a fresh
    :class:`~hedgekit.testing.fakes.aster.FakeAster` per test (every hook), tuned as the
    Hyperliquid one.

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.
    """

    name = "ccxt-aster"
    symbol = "ETH/USDT:USDT"

    def __init__(self, seed: int = 5, *, limit_s: float = 40.0) -> None:
        self.aster = AsterHarness(seed, limit_s=limit_s)
        super().__init__(self.aster, seed, limit_s)

    def _market(self, symbol: str) -> str:
        return _market_id(symbol)

    async def _serve(self) -> tuple[Any, tuple[str, ...]]:
        fake = FakeAster(
            accounts=[self.address], depth_interval_s=0.05, ping_interval_s=None, seed=self.seed
        )
        await fake.start()
        self.aster._fake = fake
        symbols = tuple(f"{s.removesuffix('USDT')}/USDT:USDT" for s in fake.state.markets)
        return ccxt_aster(fake, self._key, self.address), symbols


class CcxtAsterPollingHarness(CcxtAsterHarness):
    """As :class:`CcxtAsterHarness`, with the bridge's private events polled over REST every
    0.1 s (``private_stream=False``): the path it takes for an exchange without a working
    private stream. No private socket, so the stream faults are not applicable."""

    name = "ccxt-aster-polling"
    hooks: frozenset[Hook] = frozenset(Hook) - {
        Hook.DROP_STREAM,
        Hook.SILENCE_STREAM,
        Hook.FILL_WHILE_DOWN,
    }
    private_stream = False

    async def silence_stream(self) -> None:
        """Not applicable: no private socket."""
        raise NotImplementedError("the polling bridge has no private socket to silence")

    async def restore_stream(self) -> None:
        """Not applicable: no private socket."""
        raise NotImplementedError("the polling bridge has no private socket to restore")


def _coin(symbol: str) -> str:
    """``ETH/USDC:USDC`` → the fake's ``ETH``."""
    return symbol.split("/")[0]


def _market_id(symbol: str) -> str:
    """``ETH/USDT:USDT`` → the fake's ``ETHUSDT``."""
    base, _, rest = symbol.partition("/")
    return base + rest.split(":")[0]


async def _close(exchange: Any) -> None:
    try:
        await exchange.close()
    except Exception:  # noqa: BLE001, S110 - closing twice is harmless
        pass
