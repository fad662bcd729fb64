"""Frame → book: the shipped compiled WebSocket listener against the Python fallback.

    PYTHONPATH=python python benches/ws_listener.py [--frames N] [--rounds R] [--json PATH]

Both sides are the production listener of :class:`hedgekit.venues.transport.WsClient`, one per
connection of a client configured as the Hyperliquid adapter's (``KeepAlive.hyperliquid()``):
``_wslistener.Listener`` (Cython, built by ``make build-prod``) and ``ws._Listener`` (Python).
Each hands the message to the client's handler, which applies it to a Rust
:class:`~hedgekit.OrderBook` (``apply_hyperliquid`` on the ``memoryview``). Two measurements,
each the median of R rounds (the two listeners alternating round by round), in µs per frame:

* ``dispatch``: a frame made in memory (``picows._make_test_ws_frame``) fed to the listener's
  ``on_ws_frame`` — the listener's own cost plus the Rust parse, no socket;
* ``loopback``: a picows server on 127.0.0.1 sends N ``l2Book`` frames; the client's listener
  applies each to the book — what an adapter pays per book message from the socket.

The project rule (docs/decisions.md): the compiled listener is shipped while it wins frame →
book by 1.5× or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import picows
from picows import WSMsgType, ws_connect, ws_create_server

from hedgekit._core import OrderBook
from hedgekit.venues.transport import ws as tws

IMPLS = ("python", "cython")


def l2book(levels: int = 20) -> bytes:
    bids = [{"px": f"{3119.9 - i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.2f}", "n": 1 + i % 5}
            for i in range(levels)]  # fmt: skip
    asks = [{"px": f"{3120.1 + i * 0.1:.1f}", "sz": f"{0.5 + i * 0.25:.2f}", "n": 1 + i % 3}
            for i in range(levels)]  # fmt: skip
    msg = {"channel": "l2Book",
           "data": {"coin": "ETH", "time": 1760000000000, "levels": [bids, asks]}}  # fmt: skip
    return json.dumps(msg, separators=(",", ":")).encode()


def listener_class(name: str) -> Any:
    """The shipped listener class of that name (the compiled one must be built)."""
    if name == "python":
        return tws._Listener
    from hedgekit.venues.transport._wslistener import Listener

    return Listener


class BookClient:
    """A WsClient whose handler applies every message to a book; ``END`` ends a run."""

    def __init__(self, impl: str, book: OrderBook, done: asyncio.Future[int] | None) -> None:
        self.count = 0
        self.done = done
        self.book = book
        self.client = tws.WsClient("bench", "ws://unused", self._on_message,
                                   keepalive=tws.KeepAlive.hyperliquid())  # fmt: skip
        self.listener = listener_class(impl)(self.client)

    def _on_message(self, m: memoryview | bytes) -> None:
        if len(m) == 3:
            assert self.done is not None
            self.done.set_result(self.count)
            return
        self.book.apply_hyperliquid(m)
        self.count += 1


def dispatch(frames: int, rounds: int) -> dict[str, float]:
    payload = l2book()
    frame = picows.picows._make_test_ws_frame(WSMsgType.TEXT, payload, True, False)
    handlers: dict[str, Any] = {}
    for name in IMPLS:
        book = OrderBook("bench", "ETH")
        c = BookClient(name, book, None)
        handlers[name] = c.listener.on_ws_frame
        handlers[name](None, frame)
        assert book.best_bid() is not None and c.count == 1 and c.listener.frames == 1
    samples: dict[str, list[float]] = {name: [] for name in IMPLS}
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


async def loopback(frames: int, rounds: int) -> dict[str, float]:
    payload = l2book()

    class Sender(picows.WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: picows.WSTransport) -> None:
            for _ in range(frames):
                transport.send(WSMsgType.TEXT, payload)
            transport.send(WSMsgType.TEXT, b"END")

    server = await ws_create_server(lambda _r: Sender(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"ws://127.0.0.1:{port}/"
    samples: dict[str, list[float]] = {name: [] for name in IMPLS}
    try:
        for _ in range(rounds):  # alternating, as in dispatch
            for name in IMPLS:
                loop = asyncio.get_running_loop()
                done: asyncio.Future[int] = loop.create_future()
                book = OrderBook("bench", "ETH")
                c = BookClient(name, book, done)
                t0 = time.perf_counter()
                transport, _ = await ws_connect(_returning(c.listener), url, max_frame_size=1 << 24)
                async with asyncio.timeout(60):
                    count = await done
                elapsed = time.perf_counter() - t0
                transport.disconnect()
                await transport.wait_disconnected()
                assert count == frames and book.best_bid() is not None
                assert c.listener.frames == frames + 1
                samples[name].append(elapsed / frames * 1e6)
        out = {name: statistics.median(v) for name, v in samples.items()}
    finally:
        server.close()
        await server.wait_closed()
    return out


def measure(frames: int, rounds: int) -> dict[str, Any]:
    """Both measurements, µs per frame for each listener, and the ratios."""
    d = dispatch(frames, rounds)
    lb = asyncio.run(loopback(frames, rounds))
    return {
        "frames": frames,
        "rounds": rounds,
        "message_bytes": len(l2book()),
        "levels": 20,
        "dispatch_us": d,
        "loopback_us": lb,
        "dispatch_ratio": d["python"] / d["cython"],
        "loopback_ratio": lb["python"] / lb["cython"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", help="write the figures into this results file (section ws-listener)")
    args = ap.parse_args()
    print(f"l2Book message: {len(l2book())} bytes, 20 levels a side; {args.frames} frames x "
          f"{args.rounds} rounds (median); ws.LISTENER_IMPL = {tws.LISTENER_IMPL}")  # fmt: skip
    data = measure(args.frames, args.rounds)
    for what in ("dispatch", "loopback"):
        r = data[f"{what}_us"]
        print(f"{what:9s} python {r['python']:.2f} us/frame  cython {r['cython']:.2f} us/frame  "
              f"python/cython {data[f'{what}_ratio']:.2f}x")  # fmt: skip
    if args.json:
        import results

        meta = results.recorded()
        meta["picows"] = results.version_of("picows")
        meta["cython"] = results.version_of("cython")
        results.update(args.json, "ws-listener", data, meta)


if __name__ == "__main__":
    main()
