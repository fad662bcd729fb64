"""Over the wire, side by side: hedgekit's Hyperliquid adapter, ``hyperliquid-python-sdk`` and
ccxt's ``hyperliquid`` placing the same order against ONE ``FakeHyperliquid`` on 127.0.0.1, in
one process; then signing alone and the two hot inbound paths.

    PYTHONPATH=python python benches/live.py [--orders N] [--json benches/results.json]

Every figure is a p50 and a p99 in µs (``make bench`` writes them to section ``live`` of the
results file; ``benches/render.py`` renders BENCHMARKS.md's ``live`` table from it):

* ``place → socket``: from the client's order call to the signed order's bytes written to the
  socket. hedgekit: ``HyperliquidVenue.place()`` → the WebSocket ``post`` frame handed to the
  socket (``WsClient.send`` returned). The SDK (``Exchange.order``) and ccxt (``create_order``)
  are synchronous (requests): to the last ``http.client`` ``send`` of the request, i.e. the body
  written. The same order for all three: ETH buy 0.01 IOC at 1500 (far from the 3000 market:
  nothing fills, nothing rests, the venue answers "could not immediately match"; ccxt raises
  ``InvalidOrder`` on that answer, which is caught). Each client has its own account.
* ``sign``: one L1 order signature, ``EthSigner.sign_hl_l1_action`` (Rust; the action's JSON
  bytes) against the SDK's ``sign_l1_action`` (eth-account), same action, same signature checked.
* ``userFills → ledger``: one ``userFills`` frame of one fill through the adapter's socket
  handler (``orjson`` decode, routing, ``parse.fill``, dedup, the event queue) and into the
  :class:`~hedgekit.FillLedger` as the order tracker applies it; every frame a new trade.
* ``l2Book → book``: one 20+20 ``l2Book`` frame through the adapter's socket handler (prefix
  routing, coin read from the bytes) into the Rust parser and the book
  (``OrderBook.apply_hyperliquid``): the production path.

The fake runs on its own loop in a thread of the same process (the SDK and ccxt block); all
three clients meet the same fake, the same GIL and the same loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from hedgekit import FillLedger
from hedgekit._core import EthSigner
from hedgekit.model import OrderRequest, OrderType, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.testing.fakes.threaded import ServerThread
from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue

SIZE, PRICE = Decimal("0.01"), Decimal(1500)


def _key(name: str) -> str:
    return "0x" + hashlib.sha256(f"hedgekit-bench-live-{name}".encode()).hexdigest()


def _address(key: str) -> str:
    return EthSigner(bytes.fromhex(key[2:])).address.lower()


def _pcts(ns: list[int]) -> dict[str, float]:
    xs = sorted(ns)
    return {
        "p50_us": statistics.median(xs) / 1e3,
        "p99_us": xs[min(len(xs) - 1, int(0.99 * len(xs)))] / 1e3,
        "n": len(xs),
    }


class _SocketWrites:
    """The time of the last ``http.client`` write (the request's body leaving)."""

    def __init__(self) -> None:
        self.last_ns = 0
        self._orig: Any = None

    def __enter__(self) -> _SocketWrites:
        self._orig = http.client.HTTPConnection.send
        orig, me = self._orig, self

        def send(conn: http.client.HTTPConnection, data: Any) -> None:
            orig(conn, data)
            me.last_ns = time.perf_counter_ns()

        http.client.HTTPConnection.send = send  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        http.client.HTTPConnection.send = self._orig  # type: ignore[method-assign]


# ------------------------------------------------------------------------- place → socket
async def _hedgekit_place(url: str, key: str, n: int, warmup: int) -> list[int]:
    venue = HyperliquidVenue(
        url, HyperliquidCredentials(Secret(key), _address(key)), dead_man_s=None
    )
    await venue.connect()
    client = venue.stream.client
    orig = client.send
    sent = [0]

    def send(data: bytes) -> None:
        orig(data)
        sent[0] = time.perf_counter_ns()

    client.send = send  # type: ignore[method-assign]
    out: list[int] = []
    try:
        for i in range(warmup + n):
            req = OrderRequest(
                "ETH", Side.BUY, SIZE, PRICE, f"bench-{i}", OrderType.LIMIT, TimeInForce.IOC
            )
            t0 = time.perf_counter_ns()
            ack = await venue.place(req)
            if i == 0:
                assert ack.status.value == "expired", ack
            if i >= warmup:
                out.append(sent[0] - t0)
    finally:
        await venue.close()
    return out


def _sdk_place(url: str, key: str, n: int, warmup: int) -> list[int]:
    import eth_account
    from hyperliquid.exchange import Exchange

    ex = Exchange(eth_account.Account.from_key(key), url)
    out: list[int] = []
    with _SocketWrites() as writes:
        for i in range(warmup + n):
            t0 = time.perf_counter_ns()
            answer = ex.order("ETH", True, float(SIZE), float(PRICE), {"limit": {"tif": "Ioc"}})
            if i == 0:
                assert "could not immediately match" in str(answer), answer
            if i >= warmup:
                out.append(writes.last_ns - t0)
    return out


def _ccxt_place(url: str, key: str, n: int, warmup: int) -> list[int] | None:
    try:
        import ccxt
    except ImportError:
        return None
    ex = ccxt.hyperliquid(
        {
            "privateKey": key,
            "walletAddress": _address(key),
            # ccxt's own throttle (about 0.5 s an order here) is off: its client's cost is timed
            "enableRateLimit": False,
            # no approveBuilderFee / setReferrer before the first order (venue-adapters.md §1.1)
            "options": {"approvedBuilderFee": True, "refSet": True, "builderFee": False},
        }
    )
    ex.urls["api"] = {"public": url, "private": url}
    ex.load_markets()
    out: list[int] = []
    with _SocketWrites() as writes:
        for i in range(warmup + n):
            t0 = time.perf_counter_ns()
            try:
                ex.create_order(
                    "ETH/USDC:USDC", "limit", "buy", float(SIZE), float(PRICE),
                    {"timeInForce": "Ioc"},
                )  # fmt: skip
            except ccxt.InvalidOrder as e:  # the IOC met nothing: the answer we expect
                assert "could not immediately match" in str(e), e
            if i >= warmup:
                out.append(writes.last_ns - t0)
    return out


# ----------------------------------------------------------------------------- in-process
def _batched(fn: Callable[[], None], rounds: int, batch: int) -> list[int]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        out.append((time.perf_counter_ns() - t0) // batch)
    return out


def _signing(rounds: int) -> dict[str, Any]:
    from eth_account import Account
    from hyperliquid.utils import signing as sdk

    key = bytes.fromhex(_key("sign")[2:])
    wallet, signer = Account.from_key(key), EthSigner(key)
    action = {
        "type": "order",
        "orders": [{"a": 1, "b": True, "p": "1500", "s": "0.01", "r": False,
                    "t": {"limit": {"tif": "Ioc"}}, "c": "0x000000000000000000000000000000a1"}],
        "grouping": "na",
    }  # fmt: skip
    nonce = 1_760_000_000_000
    theirs = sdk.sign_l1_action(wallet, action, None, nonce, None, False)
    r, s, v = signer.sign_hl_l1_action(orjson.dumps(action), nonce, None, None, False)
    assert (int(r, 16), int(s, 16), v) == (int(theirs["r"], 16), int(theirs["s"], 16), theirs["v"])
    return {
        "hedgekit": _pcts(
            _batched(
                lambda: signer.sign_hl_l1_action(orjson.dumps(action), nonce, None, None, False),
                rounds,
                20,
            )  # fmt: skip
        ),
        "sdk": _pcts(
            _batched(
                lambda: sdk.sign_l1_action(wallet, action, None, nonce, None, False), rounds, 2
            )
        ),
    }


def inbound_paths(clock: Any = None) -> tuple[Callable[[], None], Callable[[], None]]:
    """The two inbound paths as calls: a new ``userFills`` frame through the adapter's socket
    handler into the ledger, and one ``l2Book`` frame into the book (checked once each).
    ``clock``: the adapter's clock (default the loop's: call them on a running loop)."""
    key = _key("inbound")
    venue = HyperliquidVenue(
        "http://127.0.0.1:9",
        HyperliquidCredentials(Secret(key), _address(key)),
        symbols=("ETH",),
        clock=clock,
    )
    from hedgekit._core import OrderBook

    venue._books["ETH"] = OrderBook("hyperliquid", "ETH")
    queue = venue.events()
    ledger = FillLedger()
    oid, cloid = 4_411_223_344, "0x000000000000000000000000000000a1"
    ledger.register_order("hyperliquid", "hk-1", "buy", Decimal(10**9))
    venue._cloid_of_oid[oid] = cloid
    tids = itertools.count(1)
    frames = [
        orjson.dumps(
            {
                "channel": "userFills",
                "data": {
                    "user": venue.user,
                    "fills": [
                        {
                            "coin": "ETH",
                            "px": "3120.5",
                            "sz": "0.01",
                            "side": "B",
                            "time": 1_760_000_000_000,
                            "startPosition": "0.0",
                            "dir": "Open Long",
                            "closedPnl": "0.0",
                            "hash": "0x00",
                            "oid": oid,
                            "crossed": True,
                            "fee": "0.0140",
                            "tid": next(tids),
                            "feeToken": "USDC",
                            "cloid": cloid,
                        }
                    ],
                },
            }
        )  # fmt: skip
        for _ in range(50_000)
    ]
    it = itertools.cycle(frames)
    on_message = venue.stream._on_message

    def fill_to_ledger() -> None:
        on_message(next(it))
        f = queue._items.popleft()  # what the session's consumer takes from the queue
        ledger.apply("hyperliquid", int(f.trade_id), "hk-1", f.price, f.size, f.fee, False, f.ts_ns)

    fill_to_ledger()
    bids = [{"px": f"{3119.9 - i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.2f}", "n": 1 + i % 5}
            for i in range(20)]  # fmt: skip
    asks = [{"px": f"{3120.1 + i * 0.1:.1f}", "sz": f"{0.5 + i * 0.25:.2f}", "n": 1 + i % 3}
            for i in range(20)]  # fmt: skip
    book_frame = orjson.dumps(
        {"channel": "l2Book",
         "data": {"coin": "ETH", "time": 1_760_000_000_000, "levels": [bids, asks]}}
    )  # fmt: skip
    on_message(book_frame)
    quote = venue.quote("ETH")
    assert quote is not None and quote.bid == Decimal("3119.9"), quote
    assert ledger.order("hyperliquid", "hk-1") is not None

    def book() -> None:
        on_message(book_frame)

    return fill_to_ledger, book


def _inbound(rounds: int) -> dict[str, Any]:
    """``userFills`` frame → ledger and ``l2Book`` frame → book, through the adapter's handler."""
    fill_to_ledger, book = inbound_paths()
    return {
        "userfills_ledger": _pcts(_batched(fill_to_ledger, rounds, 20)),
        "l2book_book": _pcts(_batched(book, rounds, 50)),
    }


def measure(orders: int, warmup: int, rounds: int) -> dict[str, Any]:
    """Every figure of the ``live`` section."""
    keys = {c: _key(c) for c in ("hedgekit", "sdk", "ccxt")}
    data: dict[str, Any] = {"orders": orders, "warmup": warmup}
    with ServerThread(
        FakeHyperliquid, accounts=[_address(k) for k in keys.values()], timeout=30.0
    ) as server:
        data["hedgekit"] = _pcts(
            asyncio.run(_hedgekit_place(server.url, keys["hedgekit"], orders, warmup))
        )
        data["sdk"] = _pcts(_sdk_place(server.url, keys["sdk"], orders, warmup))
        ccxt_ns = _ccxt_place(server.url, keys["ccxt"], orders, warmup)
        data["ccxt"] = None if ccxt_ns is None else _pcts(ccxt_ns)
        assert server.call(lambda fake: fake.state.check_invariants()) == []
    data["sign"] = _signing(rounds)

    async def inbound() -> dict[str, Any]:  # on a running loop, as the adapter's clock needs
        return _inbound(rounds)

    data.update(asyncio.run(inbound()))
    return data


def run_cli(
    doc: str | None,
    section: str,
    measure: Callable[..., dict[str, Any]],
    peers: dict[str, str],
    *,
    per: str = "client",
    rounds: tuple[int, str] | None = (300, "rounds of the in-process figures"),
) -> None:
    """The command line every over-the-wire benchmark shares: ``--orders``, ``--warmup``,
    ``--rounds`` (when ``rounds`` gives its default and help), ``--json`` (the figures into
    ``section`` of a results file, with the version of each peer package: ``peers`` maps the
    recorded name to the distribution)."""
    p = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    p.add_argument("--orders", type=int, default=300, help=f"orders per {per}")
    p.add_argument("--warmup", type=int, default=30)
    if rounds is not None:
        p.add_argument("--rounds", type=int, default=rounds[0], help=rounds[1])
    p.add_argument("--json", help=f"write the figures into this results file (section {section})")
    a = p.parse_args()
    data = measure(a.orders, a.warmup, a.rounds) if rounds else measure(a.orders, a.warmup)
    for k, v in data.items():
        print(f"{k}: {v}")
    if a.json:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import results

        meta = results.recorded()
        for name, dist in peers.items():
            meta[name] = results.version_of(dist)
        results.update(a.json, section, data, meta)


def main() -> None:
    run_cli(
        __doc__,
        "live",
        measure,
        {"ccxt": "ccxt", "hyperliquid_python_sdk": "hyperliquid-python-sdk"},
    )


if __name__ == "__main__":
    main()
