"""What the native adapter buys over the ccxt bridge: the same order through
``CcxtVenue('hyperliquid')`` (ccxt.pro's ``hyperliquid`` under hedgekit's Venue) and through the
native ``HyperliquidVenue``, against ONE ``FakeHyperliquid`` on 127.0.0.1, in one process.

    PYTHONPATH=python .venv-ccxt/bin/python benches/live_ccxt.py [--orders N] [--json PATH]

Run in the ccxt environment (``.venv-ccxt``). Every figure is a p50 and a p99 in µs (``make
bench`` writes them to section ``live-ccxt`` of the results file; ``benches/render.py`` renders
BENCHMARKS.md's ``live-ccxt`` table from it):

* ``place → socket``: from ``venue.place()`` called to the signed order's bytes handed to the
  socket. Native: the WebSocket ``post`` frame (``WsClient.send`` returned). Bridge: ccxt's
  ``create_order`` over aiohttp, to the chunk holding the signed body (``"signature"``) written
  by aiohttp's ``StreamWriter``.
* ``IOC round trip``: from ``venue.place()`` called to its ``OrderAck`` returned.

The same order for both: ETH buy 0.01 IOC at 1500 against a 3000 market (nothing fills, nothing
rests; the venue answers "could not immediately match": both report ``EXPIRED``). ccxt's own
throttle is off (its client's cost is timed, not its pacing). Each venue has its own account;
the fake runs on its own loop in a thread; both venues run on the main loop, one after the
other, each with its private stream connected.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from decimal import Decimal
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from live import _pcts, run_cli
from live_aster import _signed_writes

from hedgekit._core import EthSigner
from hedgekit.model import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.testing.fakes.threaded import ServerThread
from hedgekit.venues.base import Venue
from hedgekit.venues.ccxt import CcxtVenue, make_exchange
from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue

SIZE, PRICE = Decimal("0.01"), Decimal(1500)
SETTLE_S = 0.003
"""An untimed pause before each order (both venues), so the fake's thread finishes its pushes for
the previous order instead of holding the GIL while the next one is built."""


def _key(name: str) -> str:
    return hashlib.sha256(f"hedgekit-bench-live-ccxt-{name}".encode()).hexdigest()


def _address(key: str) -> str:
    return EthSigner(bytes.fromhex(key)).address.lower()


async def _orders(
    venue: Venue, symbol: str, sent: list[int], n: int, warmup: int
) -> tuple[list[int], list[int]]:
    """``n`` timed IOC orders after ``warmup``: (place → socket, place → ack) in ns."""
    to_socket: list[int] = []
    round_trip: list[int] = []
    for i in range(warmup + n):
        req = OrderRequest(
            symbol, Side.BUY, SIZE, PRICE, f"bench-{i}", OrderType.LIMIT, TimeInForce.IOC
        )
        sent[0] = 0
        await asyncio.sleep(SETTLE_S)
        t0 = time.perf_counter_ns()
        ack = await venue.place(req)
        t1 = time.perf_counter_ns()
        assert ack.status is OrderStatus.EXPIRED and ack.filled == 0, ack
        assert t0 < sent[0] <= t1, "the signed order was not seen leaving"
        if i >= warmup:
            to_socket.append(sent[0] - t0)
            round_trip.append(t1 - t0)
    return to_socket, round_trip


async def _native(url: str, key: str, n: int, warmup: int) -> tuple[list[int], list[int]]:
    venue = HyperliquidVenue(url, HyperliquidCredentials(Secret(key), _address(key)),
                             dead_man_s=None)  # fmt: skip
    await venue.connect()
    client = venue.stream.client
    orig = client.send
    sent = [0]

    def send(data: bytes) -> None:
        orig(data)
        sent[0] = time.perf_counter_ns()

    client.send = send  # type: ignore[method-assign]
    try:
        return await _orders(venue, "ETH", sent, n, warmup)
    finally:
        await venue.close()


async def _bridge(url: str, key: str, n: int, warmup: int) -> tuple[list[int], list[int]]:
    ex = make_exchange(
        "hyperliquid",
        {
            "privateKey": "0x" + key,
            "walletAddress": _address(key),
            "enableRateLimit": False,
            "options": {"approvedBuilderFee": True, "refSet": True, "builderFee": False},
        },
    )
    ws = url.replace("http://", "ws://") + "/ws"
    ex.urls["api"] = {"public": url, "private": url, "ws": {"public": ws, "private": ws}}
    venue = CcxtVenue(ex)
    try:
        await venue.connect()
        with _signed_writes(b'"signature"') as sent:
            return await _orders(venue, "ETH/USDC:USDC", sent, n, warmup)
    finally:
        await venue.close()
        await ex.close()


def measure(orders: int, warmup: int) -> dict[str, Any]:
    """Every figure of the ``live-ccxt`` section."""
    keys = {c: _key(c) for c in ("native", "bridge")}
    data: dict[str, Any] = {"orders": orders, "warmup": warmup}
    with ServerThread(
        FakeHyperliquid, accounts=[_address(k) for k in keys.values()], source="a", timeout=30.0
    ) as server:
        sock, trip = asyncio.run(_native(server.url, keys["native"], orders, warmup))
        data["native"] = {"place_socket": _pcts(sock), "ioc_round_trip": _pcts(trip)}
        sock, trip = asyncio.run(_bridge(server.url, keys["bridge"], orders, warmup))
        data["bridge"] = {"place_socket": _pcts(sock), "ioc_round_trip": _pcts(trip)}
        for k in keys.values():
            assert server.call(lambda fake, k=k: fake.open_orders(_address(k))) == []
        assert server.call(lambda fake: fake.state.check_invariants()) == []
    return data


def main() -> None:
    run_cli(__doc__, "live-ccxt", measure, {"ccxt": "ccxt"}, per="venue", rounds=None)


if __name__ == "__main__":
    main()
