"""Frame → book: the Python WebSocket listener against a Cython one (picows' Cython API).

    PYTHONPATH=python python benches/ws_listener.py [--frames N] [--rounds R]

Two measurements, each the median of R rounds, in µs per frame:

* ``dispatch``: frames made in memory (``picows._make_test_ws_frame``) fed to the listener's
  ``on_ws_frame`` — the listener's own cost plus the Rust parse, no socket;
* ``loopback``: a picows server on 127.0.0.1 sends N ``l2Book`` frames; the client applies each
  to a Rust :class:`~hedgekit.OrderBook` — what an adapter pays per book message.

The Python side is the production path: :class:`hedgekit.venues.transport.WsClient`'s listener
handing a ``memoryview`` to ``OrderBook.apply_hyperliquid``. The Cython listener is built here with
pyximport (not in the wheel). The decision rule (docs/decisions.md): ship it only if it wins by
1.5× or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import picows
import pyximport
from picows import WSMsgType, ws_connect, ws_create_server

from hedgekit._core import OrderBook
from hedgekit.venues.transport import ws as tws

HERE = Path(__file__).resolve().parent


def l2book(levels: int = 20) -> bytes:
    bids = [{"px": f"{3119.9 - i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.2f}", "n": 1 + i % 5}
            for i in range(levels)]  # fmt: skip
    asks = [{"px": f"{3120.1 + i * 0.1:.1f}", "sz": f"{0.5 + i * 0.25:.2f}", "n": 1 + i % 3}
            for i in range(levels)]  # fmt: skip
    msg = {"channel": "l2Book",
           "data": {"coin": "ETH", "time": 1760000000000, "levels": [bids, asks]}}  # fmt: skip
    return json.dumps(msg, separators=(",", ":")).encode()


def build_cython() -> Any:
    site = Path(picows.__file__).resolve().parent.parent
    pyximport.install(
        setup_args={"include_dirs": [str(site)]}, build_dir=str(HERE / "build"), language_level=3
    )
    sys.path.insert(0, str(HERE / "ws_listener"))
    import cy_listener  # type: ignore[import-not-found]

    return cy_listener


class PyClient:
    """The production listener: a WsClient's _Listener feeding a book."""

    def __init__(self, book: OrderBook, done: asyncio.Future[int] | None) -> None:
        self.count = 0
        self.done = done
        self.book = book
        self.client = tws.WsClient("bench", "ws://unused", self._on_message)
        self.listener = tws._Listener(self.client)

    def _on_message(self, m: memoryview | bytes) -> None:
        if len(m) == 3:
            assert self.done is not None
            self.done.set_result(self.count)
            return
        self.book.apply_hyperliquid(m)
        self.count += 1


def dispatch(frames: int, rounds: int, cy: Any) -> dict[str, float]:
    payload = l2book()
    frame = picows.picows._make_test_ws_frame(WSMsgType.TEXT, payload, True, False)
    handlers: dict[str, Any] = {}
    for name in ("python", "cython"):
        book = OrderBook("bench", "ETH")
        if name == "python":
            handlers[name] = PyClient(book, None).listener.on_ws_frame
        else:
            handlers[name] = cy.CyBookListener(book, None).on_ws_frame
        handlers[name](None, frame)
        assert book.best_bid() is not None
    samples: dict[str, list[float]] = {"python": [], "cython": []}
    for _ in range(rounds):  # the two alternate, so machine noise hits both alike
        for name, on_frame in handlers.items():
            t0 = time.perf_counter()
            for _ in range(frames):
                on_frame(None, frame)
            samples[name].append((time.perf_counter() - t0) / frames * 1e6)
    return {name: statistics.median(v) for name, v in samples.items()}


def _returning(listener: Any) -> Any:
    # picows passes the upgrade request to a factory that takes arguments: this one takes none
    return lambda: listener


async def loopback(frames: int, rounds: int, cy: Any) -> dict[str, float]:
    payload = l2book()

    class Sender(picows.WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: picows.WSTransport) -> None:
            for _ in range(frames):
                transport.send(WSMsgType.TEXT, payload)
            transport.send(WSMsgType.TEXT, b"END")

    server = await ws_create_server(lambda _r: Sender(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"ws://127.0.0.1:{port}/"
    samples: dict[str, list[float]] = {"python": [], "cython": []}
    try:
        for _ in range(rounds):  # alternating, as in dispatch
            for name in ("python", "cython"):
                loop = asyncio.get_running_loop()
                done: asyncio.Future[int] = loop.create_future()
                book = OrderBook("bench", "ETH")
                if name == "python":
                    factory = _returning(PyClient(book, done).listener)
                else:
                    factory = _returning(cy.CyBookListener(book, done))
                t0 = time.perf_counter()
                transport, _ = await ws_connect(factory, url, max_frame_size=1 << 24)
                async with asyncio.timeout(60):
                    count = await done
                elapsed = time.perf_counter() - t0
                transport.disconnect()
                await transport.wait_disconnected()
                assert count == frames and book.best_bid() is not None
                samples[name].append(elapsed / frames * 1e6)
        out = {name: statistics.median(v) for name, v in samples.items()}
    finally:
        server.close()
        await server.wait_closed()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    cy = build_cython()
    print(f"l2Book message: {len(l2book())} bytes, 20 levels a side; {args.frames} frames x "
          f"{args.rounds} rounds (median)")  # fmt: skip
    d = dispatch(args.frames, args.rounds, cy)
    lb = asyncio.run(loopback(args.frames, args.rounds, cy))
    for what, r in (("dispatch", d), ("loopback", lb)):
        print(f"{what:9s} python {r['python']:.2f} us/frame  cython {r['cython']:.2f} us/frame  "
              f"python/cython {r['python'] / r['cython']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
