"""Over the wire, side by side: hedgekit's Aster adapter and ccxt's ``aster`` (V3) placing the
same order against ONE ``FakeAster`` on 127.0.0.1, in one process; then the adapter's two hot
inbound paths.

    PYTHONPATH=python python benches/live_aster.py [--orders N] [--json benches/results.json]

Every figure is a p50 and a p99 in µs (``make bench`` writes them to section ``live-aster`` of
the results file; ``benches/render.py`` renders BENCHMARKS.md's ``live-aster`` table from it):

* ``place → socket``: from the client's order call to the signed request's last bytes written
  to the socket. hedgekit: ``AsterVenue.place()`` (V3: EIP-712 in Rust) → the write of the
  form body holding ``signature=`` (aiohttp's ``StreamWriter`` handing it to the transport, on
  this thread). ccxt (``create_order``, synchronous, requests) to its last ``http.client``
  ``send``. The same order for both: ETHUSDT buy 0.01 IOC at 1500 (far from the 3000 market:
  nothing fills, nothing rests; the venue answers hedgekit's ``RESULT`` request EXPIRED and
  ccxt's ``ACK`` request NEW). Each client has its own account; before each order both wait
  ``SETTLE_S`` untimed, so the fake's work after the previous answer is not counted.
* ``depthUpdate → book``: one diff of 10+10 levels through the adapter's market-socket handler
  (symbol read from the bytes, the sequence checked) into the Rust book
  (``OrderBook.apply_depth_update``); every frame chains on the one before.
* ``ORDER_TRADE_UPDATE → ledger``: one ``ORDER_TRADE_UPDATE`` frame of one fill through the
  adapter's user-socket handler (``orjson`` decode, ``parse.fill_from_update``, dedup, the
  order's state, the event queue) and into the :class:`~hedgekit.FillLedger`; every frame a new
  trade.

The fake runs on its own loop in a thread of the same process (ccxt blocks); both clients meet
the same fake, the same GIL and the same loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import http_writer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from live import _address, _batched, _key, _pcts, _SocketWrites, run_cli

from hedgekit import FillLedger
from hedgekit.model import Liquidity, OrderRequest, OrderType, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.threaded import ServerThread
from hedgekit.venues.aster import AsterCredentials, AsterVenue

SYMBOL, SIZE, PRICE = "ETHUSDT", Decimal("0.01"), Decimal(1500)
SETTLE_S = 0.003
"""An untimed pause before each order (both clients): the fake's thread finishes its work after
the previous answer (the ``ORDER_TRADE_UPDATE`` push, which also reaches hedgekit's user socket)
instead of holding the GIL while the next order is built (that doubled the p50 here)."""


@contextmanager
def _signed_writes(marker: bytes = b"signature=") -> Iterator[list[int]]:
    """The time this thread's aiohttp last wrote a chunk holding ``marker`` (a signed request's
    form body or query leaving for the socket: ``signature=``; a JSON body: ``"signature"``);
    the fake's thread is not counted."""
    me = threading.get_ident()
    cls = http_writer.StreamWriter
    orig_write, orig_lines = cls._write, cls._writelines
    last = [0]

    def write(self: Any, chunk: Any) -> None:
        orig_write(self, chunk)
        if threading.get_ident() == me and marker in bytes(chunk):
            last[0] = time.perf_counter_ns()

    def writelines(self: Any, chunks: Any) -> None:
        orig_lines(self, chunks)
        if threading.get_ident() == me and any(marker in bytes(c) for c in chunks):
            last[0] = time.perf_counter_ns()

    cls._write, cls._writelines = write, writelines  # type: ignore[method-assign]
    try:
        yield last
    finally:
        cls._write, cls._writelines = orig_write, orig_lines  # type: ignore[method-assign]


# ------------------------------------------------------------------------- place → socket
async def _hedgekit_place(url: str, key: str, n: int, warmup: int) -> list[int]:
    venue = AsterVenue(url, AsterCredentials.v3(_address(key), Secret(key)), dead_man_s=None)
    await venue.connect()
    out: list[int] = []
    try:
        with _signed_writes() as sent:
            for i in range(warmup + n):
                req = OrderRequest(
                    SYMBOL, Side.BUY, SIZE, PRICE, f"bench-{i}", OrderType.LIMIT, TimeInForce.IOC
                )
                sent[0] = 0
                await asyncio.sleep(SETTLE_S)
                t0 = time.perf_counter_ns()
                ack = await venue.place(req)
                if i == 0:
                    assert ack.status.value == "expired", ack
                assert sent[0] > t0, "the signed body was not seen leaving"
                if i >= warmup:
                    out.append(sent[0] - t0)
    finally:
        await venue.close()
    return out


def _ccxt_place(url: str, key: str, n: int, warmup: int) -> list[int] | None:
    try:
        import ccxt
    except ImportError:
        return None
    ex = ccxt.aster(
        {
            "privateKey": key,
            "enableRateLimit": False,  # ccxt's own throttle off: its client's cost is timed
            "options": {"builderFee": False, "defaultType": "swap"},
        }
    )
    ex.urls["api"] = {"fapiPublic": url + "/fapi", "fapiPrivate": url + "/fapi",
                      "sapiPublic": url + "/api", "sapiPrivate": url + "/api"}  # fmt: skip
    ex.load_markets()
    out: list[int] = []
    with _SocketWrites() as writes:
        for i in range(warmup + n):
            time.sleep(SETTLE_S)
            t0 = time.perf_counter_ns()
            order = ex.create_order(
                "ETH/USDT:USDT", "limit", "buy", float(SIZE), float(PRICE), {"timeInForce": "IOC"}
            )
            if i == 0:  # the ACK answer (ccxt asks for no RESULT): NEW, the IOC expires after
                assert order["id"] and order["timeInForce"] == "IOC", order
            if i >= warmup:
                out.append(writes.last_ns - t0)
    return out


# ----------------------------------------------------------------------------- in-process
def _levels(top: Decimal, step: Decimal, k: int, turn: int) -> list[list[str]]:
    return [[f"{top + step * i}", f"{Decimal(1) + Decimal(turn % 7 + i) / 4}"] for i in range(k)]


def inbound_paths(
    frames_n: int = 50_000, clock: Any = None
) -> tuple[Callable[[], None], Callable[[], None]]:
    """The two inbound paths as calls: a new ``ORDER_TRADE_UPDATE`` frame through the
    adapter's user-socket handler into the ledger, and one chained ``depthUpdate`` frame
    through the market-socket handler into the book (checked once each); each may be called
    ``frames_n`` times. ``clock``: the adapter's clock (default the loop's: call them on a
    running loop)."""
    key = _key("aster-inbound")
    venue = AsterVenue(
        "http://127.0.0.1:9",
        AsterCredentials.v3(_address(key), Secret(key)),
        symbols=(SYMBOL,),
        dead_man_s=None,
        clock=clock,
    )
    from hedgekit._core import BOOK_OK, OrderBook
    from hedgekit.venues.aster import venue as venue_module

    book = OrderBook("aster", SYMBOL)
    venue._books[SYMBOL] = book
    queue = venue.events()
    ledger = FillLedger()
    oid, coid = 7_700_112_233, "hk-1"
    venue._orders[coid] = venue_module._Order(
        SYMBOL, "hk-1", coid, oid, venue_module.OrderStatus.OPEN, Decimal(10**9), Side.BUY
    )
    venue._coid_of_oid[oid] = coid
    ledger.register_order("aster", "hk-1", "buy", Decimal(10**9))
    tids = itertools.count(1)
    frames = [
        orjson.dumps(
            {
                "e": "ORDER_TRADE_UPDATE",
                "E": 1_760_000_000_000,
                "T": 1_760_000_000_000,
                "o": {
                    "s": SYMBOL,
                    "c": coid,
                    "S": "BUY",
                    "o": "LIMIT",
                    "f": "GTC",
                    "q": "1000000000",
                    "p": "3120.5",
                    "ap": "3120.5",
                    "sp": "0",
                    "x": "TRADE",
                    "X": "PARTIALLY_FILLED",
                    "i": oid,
                    "l": "0.01",
                    "z": "0.01",
                    "L": "3120.5",
                    "n": "0.01092175",
                    "N": "USDT",
                    "T": 1_760_000_000_000,
                    "t": next(tids),
                    "b": "0",
                    "a": "0",
                    "m": False,
                    "R": False,
                    "wt": "CONTRACT_PRICE",
                    "ot": "LIMIT",
                    "ps": "BOTH",
                    "cp": False,
                    "rp": "0",
                },
            }
        )  # fmt: skip
        for _ in range(frames_n + 1)
    ]
    it = iter(frames)
    on_user = venue.streams._on_user_message

    def fill_to_ledger() -> None:
        on_user(next(it))
        f = queue._items.popleft()  # the fill, then the order's update: what a consumer takes
        queue._items.popleft()
        ledger.apply("aster", int(f.trade_id), "hk-1", f.price, f.size, f.fee,
                     f.liquidity is Liquidity.MAKER, f.ts_ns)  # fmt: skip

    fill_to_ledger()
    assert ledger.order("aster", "hk-1") is not None

    snapshot = orjson.dumps(
        {"lastUpdateId": 1005, "E": 1, "T": 1,
         "bids": _levels(Decimal("3119.9"), Decimal("-0.1"), 20, 0),
         "asks": _levels(Decimal("3120.1"), Decimal("0.1"), 20, 0)}
    )  # fmt: skip
    book.apply_depth_snapshot(snapshot, 1)
    diffs = []
    last_u = 1000
    for turn in range(frames_n + 2):
        u = last_u + 20
        diffs.append(
            orjson.dumps(
                {
                    "stream": "ethusdt@depth@100ms",
                    "data": {
                        "e": "depthUpdate",
                        "E": 2,
                        "T": 2,
                        "s": SYMBOL,
                        "U": last_u + 1,
                        "u": u,
                        "pu": last_u,
                        "b": _levels(Decimal("3119.9"), Decimal("-0.1"), 10, turn),
                        "a": _levels(Decimal("3120.1"), Decimal("0.1"), 10, turn),
                    },
                }
            )  # fmt: skip
        )
        last_u = u
    diff_it = iter(diffs)
    on_market = venue.streams._on_market
    on_market(next(diff_it))
    quote = venue.quote(SYMBOL)
    assert quote is not None and quote.bid == Decimal("3119.9"), quote
    assert book.apply_depth_update(next(diff_it), 2) == BOOK_OK  # still chained

    def book_update() -> None:
        on_market(next(diff_it))

    return fill_to_ledger, book_update


def _inbound(rounds: int) -> dict[str, Any]:
    fill_to_ledger, book = inbound_paths(rounds * 20)
    return {
        "trade_update_ledger": _pcts(_batched(fill_to_ledger, rounds, 20)),
        "depth_update_book": _pcts(_batched(book, rounds, 20)),
    }


def measure(orders: int, warmup: int, rounds: int) -> dict[str, Any]:
    """Every figure of the ``live-aster`` section."""
    keys = {c: _key(f"aster-{c}") for c in ("hedgekit", "ccxt")}
    data: dict[str, Any] = {"orders": orders, "warmup": warmup}
    with ServerThread(
        FakeAster,
        accounts=[_address(k) for k in keys.values()],
        funding=False,
        ping_interval_s=None,
        timeout=30.0,
    ) as server:
        data["hedgekit"] = _pcts(
            asyncio.run(_hedgekit_place(server.url, keys["hedgekit"], orders, warmup))
        )
        ccxt_ns = _ccxt_place(server.url, keys["ccxt"], orders, warmup)
        data["ccxt"] = None if ccxt_ns is None else _pcts(ccxt_ns)
        for k in keys.values():
            assert server.call(lambda fake, k=k: fake.open_orders(_address(k))) == []
        assert server.call(lambda fake: fake.state.check_invariants()) == []

    async def inbound() -> dict[str, Any]:  # on a running loop, as the adapter's clock needs
        return _inbound(rounds)

    data.update(asyncio.run(inbound()))
    return data


def main() -> None:
    run_cli(__doc__, "live-aster", measure, {"ccxt": "ccxt"})


if __name__ == "__main__":
    main()
