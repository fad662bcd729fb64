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
from typing import Any

from hedgekit._core import EthSigner
from hedgekit.testing.conformance.aster import AsterHarness
from hedgekit.testing.conformance.harness import Hook
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


class CcxtHyperliquidHarness(HyperliquidHarness):
    """The suite against ``CcxtVenue(ccxt.pro.hyperliquid)`` and a fresh
    :class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid` per test (every hook).

    The bridge is tuned for a loopback fake: 2 s call timeout, reconnects after 50-200 ms,
    ccxt's keepalive every 150 ms (a silent socket ends after two missed pongs)."""

    name = "ccxt-hyperliquid"
    hooks: frozenset[Hook] = frozenset(Hook)

    def __init__(self, seed: int = 5, *, limit_s: float = 40.0) -> None:
        super().__init__(seed, limit_s=limit_s)
        key = hashlib.sha256(b"hedgekit-conformance-ccxt-hyperliquid").hexdigest()
        self._key = key
        self.address = EthSigner(bytes.fromhex(key)).address.lower()
        self.bridge: CcxtVenue | None = None

    async def start(self) -> CcxtVenue:  # type: ignore[override]
        """Serves a fresh fake and connects the bridge to it (books of every coin)."""
        fake = FakeHyperliquid(
            accounts=[self.address], book_interval_s=0.05, seed=self.seed, source="a"
        )
        await fake.start()
        self._fake = fake
        ex = ccxt_hyperliquid(fake, self._key, self.address)
        venue = CcxtVenue(
            ex,
            name="ccxt-hyperliquid",
            symbols=tuple(f"{m.coin}/USDC:USDC" for m in fake.state.markets),
            request_timeout_s=2.0,
            poll_interval_s=0.1,
            backoff=Backoff(0.05, 0.2, rng=random.Random(self.seed)),
        )
        self.bridge = venue
        self.symbol = "ETH/USDC:USDC"
        try:
            await venue.connect()
        except BaseException:
            await _close(ex)
            raise
        return venue

    async def stop(self) -> None:
        """Closes the bridge and its exchange, then the fake."""
        venue, fake = self.bridge, self._fake
        self.bridge = self._fake = None
        try:
            if venue is not None:
                await venue.close()
                await _close(venue.exchange)
        finally:
            if fake is not None:
                await fake.stop()

    async def fill_resting(self, symbol: str, venue_order_id: str, size: Any = None) -> None:
        """As the native harness, on the fake's coin."""
        await super().fill_resting(_coin(symbol), venue_order_id, size)

    async def move_price(self, symbol: str, mid: Any) -> None:
        """Moves the fake's outside market."""
        await super().move_price(_coin(symbol), mid)

    async def resting_orders(self, symbol: str) -> Any:
        """The fake's open order records."""
        return await super().resting_orders(_coin(symbol))

    async def orders_received(self, symbol: str) -> int:
        """Every order record the fake holds for ``symbol``."""
        return await super().orders_received(_coin(symbol))

    async def venue_fills(self, symbol: str) -> Any:
        """The fake's fill rows."""
        return await super().venue_fills(_coin(symbol))

    async def position(self, symbol: str) -> Any:
        """The fake's position."""
        return await super().position(_coin(symbol))

    async def mid(self, symbol: str) -> Any:
        """The fake's outside mid."""
        return await super().mid(_coin(symbol))

    async def silence_stream(self) -> None:
        """The fake's sockets stay open and send nothing."""
        assert self.bridge is not None
        self._silences = self.bridge.stream_errors
        self.fake.faults.silence_ws()

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
            self.fake.faults.resume_ws()


class CcxtAsterHarness(AsterHarness):
    """The suite against ``CcxtVenue(ccxt.pro.aster)`` and a fresh
    :class:`~hedgekit.testing.fakes.aster.FakeAster` per test (every hook).

    The bridge is tuned for a loopback fake: 2 s call timeout, reconnects after 50-200 ms,
    ccxt's keepalive every 150 ms."""

    private_stream = True

    name = "ccxt-aster"
    hooks: frozenset[Hook] = frozenset(Hook)

    def __init__(self, seed: int = 5, *, limit_s: float = 40.0) -> None:
        super().__init__(seed, limit_s=limit_s)
        key = hashlib.sha256(b"hedgekit-conformance-ccxt-aster").hexdigest()
        self._key = key
        self.address = EthSigner(bytes.fromhex(key)).address.lower()
        self.bridge: CcxtVenue | None = None

    async def start(self) -> CcxtVenue:  # type: ignore[override]
        """Serves a fresh fake and connects the bridge to it (books of every symbol)."""
        fake = FakeAster(
            accounts=[self.address], depth_interval_s=0.05, ping_interval_s=None, seed=self.seed
        )
        await fake.start()
        self._fake = fake
        ex = ccxt_aster(fake, self._key, self.address)
        venue = CcxtVenue(
            ex,
            name="ccxt-aster",
            symbols=tuple(f"{s.removesuffix('USDT')}/USDT:USDT" for s in fake.state.markets),
            request_timeout_s=2.0,
            poll_interval_s=0.1,
            backoff=Backoff(0.05, 0.2, rng=random.Random(self.seed)),
            private_stream=self.private_stream,
        )
        self.bridge = venue
        self.symbol = "ETH/USDT:USDT"
        try:
            await venue.connect()
        except BaseException:
            await _close(ex)
            raise
        return venue

    async def stop(self) -> None:
        """Closes the bridge and its exchange, then the fake."""
        venue, fake = self.bridge, self._fake
        self.bridge = self._fake = None
        try:
            if venue is not None:
                await venue.close()
                await _close(venue.exchange)
        finally:
            if fake is not None:
                await fake.stop()

    async def fill_resting(self, symbol: str, venue_order_id: str, size: Any = None) -> None:
        """As the native harness, on the fake's symbol."""
        await super().fill_resting(_market_id(symbol), venue_order_id, size)

    async def move_price(self, symbol: str, mid: Any) -> None:
        """Moves the fake's outside market."""
        await super().move_price(_market_id(symbol), mid)

    async def resting_orders(self, symbol: str) -> Any:
        """The fake's open order records."""
        return await super().resting_orders(_market_id(symbol))

    async def orders_received(self, symbol: str) -> int:
        """Every order record the fake holds for ``symbol``."""
        return await super().orders_received(_market_id(symbol))

    async def venue_fills(self, symbol: str) -> Any:
        """The fake's ``userTrades`` rows."""
        return await super().venue_fills(_market_id(symbol))

    async def position(self, symbol: str) -> Any:
        """The fake's position."""
        return await super().position(_market_id(symbol))

    async def mid(self, symbol: str) -> Any:
        """The fake's outside mid."""
        return await super().mid(_market_id(symbol))

    async def silence_stream(self) -> None:
        """The fake's sockets stay open and send nothing."""
        assert self.bridge is not None
        self._silences = self.bridge.stream_errors
        self.fake.faults.silence_ws()

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
            self.fake.faults.resume_ws()


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
