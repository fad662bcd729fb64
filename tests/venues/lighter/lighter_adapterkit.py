"""A LighterVenue connected to a FakeLighter on 127.0.0.1, for the adapter tests."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.lighter import FakeLighter
from hedgekit.venues.lighter import LighterCredentials, LighterVenue
from hedgekit.venues.lighter.signing import generate_api_key
from hedgekit.venues.transport import Backoff

ACCOUNT = 281
KEY_INDEX = 3


@dataclass(frozen=True, slots=True)
class Key:
    private: str
    public: str


def new_key() -> Key:
    priv, pub = generate_api_key()
    return Key(priv.reveal(), pub)


def credentials(key: Key, *, public: bool = False) -> LighterCredentials:
    return LighterCredentials(
        ACCOUNT, KEY_INDEX, Secret(key.private), key.public if public else None
    )


@asynccontextmanager
async def session(
    *, fake_kw: dict[str, Any] | None = None, **venue_kw: Any
) -> AsyncIterator[tuple[FakeLighter, LighterVenue]]:
    key = new_key()
    kw: dict[str, Any] = {"ping_interval_s": None, "seed": 3, "sequencer_delay_s": 0.02}
    kw.update(fake_kw or {})
    async with FakeLighter(api_keys=[(ACCOUNT, KEY_INDEX, key.public)], **kw) as fake:
        opts: dict[str, Any] = {
            "ws_url": fake.ws_url, "symbols": ("ETH",), "request_timeout_s": 1.0,
            "ack_timeout_s": 1.0, "backoff": Backoff(0.05, 0.2, rng=random.Random(3)),
            "silence_timeout_s": 5.0,
        }  # fmt: skip
        opts.update(venue_kw)
        venue = LighterVenue(fake.url, credentials(key), **opts)
        try:
            async with asyncio.timeout(10):
                await venue.connect()
            yield fake, venue
        finally:
            await venue.close()


def limit(
    client_id: str, side: Side, size: str, price: str, tif: TimeInForce = TimeInForce.GTC
) -> OrderRequest:
    return OrderRequest("ETH", side, Decimal(size), Decimal(price), client_id, tif=tif)


async def until(cond: Callable[[], bool | Awaitable[bool]], timeout: float = 3.0) -> None:
    """Polls ``cond`` every 10 ms, at most ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        for _ in range(int(timeout * 100) + 1):
            got = cond()
            if not isinstance(got, bool):
                got = await got
            if got:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("condition not met")
