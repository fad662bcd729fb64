"""The shared WebSocket client against a small server that drops, goes silent and fragments."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from wsfake import WsFake, raw_frame, until

from hedgekit._core import OrderBook
from hedgekit.errors import VenueDisconnectedError, VenueNotReadyError
from hedgekit.venues.transport import Backoff, KeepAlive, WsClient

SUB = b'{"method":"subscribe","subscription":{"type":"l2Book","coin":"ETH"}}'
BOOK = json.dumps(
    {
        "channel": "l2Book",
        "data": {
            "coin": "ETH",
            "time": 1760000000000,
            "levels": [
                [{"px": "3119.9", "sz": "1.5", "n": 3}, {"px": "3119.8", "sz": "2", "n": 1}],
                [{"px": "3120.1", "sz": "0.5", "n": 2}, {"px": "3120.5", "sz": "7.25", "n": 4}],
            ],
        },
    }
).encode()


def run(main: Callable[[], Awaitable[None]], limit: float = 20.0) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await main()

    asyncio.run(bounded())


def fast_backoff() -> Backoff:
    return Backoff(initial_s=0.01, max_s=0.05, rng=random.Random(7))


def test_a_drop_reconnects_resubscribes_and_reconciles_before_it_is_ready(listener: type) -> None:
    async def main() -> None:
        async with WsFake() as server:
            log: list[str] = []
            hold = asyncio.Event()
            hold.set()

            async def reconcile() -> None:
                # the venue has the subscription of this very connection before we reconcile
                log.append(f"reconcile after {server.events[-1]}")
                await hold.wait()

            client = WsClient(
                "hl",
                server.url,
                lambda m: None,
                subscriptions=lambda: [SUB],
                is_ack=lambda m: b"subscriptionResponse" in bytes(m),
                reconcile=reconcile,
                on_state=lambda up: log.append("ready" if up else "down"),
                keepalive=KeepAlive.hyperliquid(interval_s=5),
                silence_timeout_s=10,
                backoff=fast_backoff(),
            )
            async with client:
                await client.wait_ready(timeout=5)
                hold.clear()  # the next reconcile takes a while
                server.drop()
                await until(lambda: client.connects == 2, what="reconnect")
                await until(lambda: len(log) == 4, what="second reconcile")
                assert not client.ready
                with pytest.raises(VenueNotReadyError):
                    await client.wait_ready(timeout=0.05)
                hold.set()
                await client.wait_ready(timeout=5)
            assert log == [
                "reconcile after subscribe#1",
                "ready",
                "down",
                "reconcile after subscribe#2",
                "ready",
                "down",
            ]
            assert [n for n, text in server.received if "subscribe" in text] == [1, 2]

    run(main)


def test_a_failed_reconcile_reconnects_and_is_tried_again(listener: type) -> None:
    async def main() -> None:
        async with WsFake() as server:
            calls = 0

            async def reconcile() -> None:
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise ConnectionError("REST read lost")

            async with WsClient(
                "hl", server.url, lambda m: None, reconcile=reconcile, backoff=fast_backoff()
            ) as client:
                await client.wait_ready(timeout=5)
                assert calls == 2 and client.connects == 2 and client.readies == 1

    run(main)


@pytest.mark.parametrize("style", ["json", "frames"])
def test_a_silent_socket_is_dropped_and_replaced_but_a_quiet_one_is_kept(
    style: str, listener: type
) -> None:
    """Hyperliquid's JSON ping and Aster's protocol ping frames alike keep a quiet socket, and a
    socket that stops answering is replaced."""

    async def main() -> None:
        async with WsFake() as server:
            if style == "json":
                keepalive = KeepAlive.hyperliquid(interval_s=0.05)

                def answered() -> bool:
                    return sum(t == '{"method":"ping"}' for _, t in server.received) >= 10

            else:
                keepalive = KeepAlive.protocol(interval_s=0.05)

                def answered() -> bool:
                    return server.pings >= 10

            client = WsClient(
                "hl",
                server.url,
                lambda m: None,
                keepalive=keepalive,
                silence_timeout_s=0.3,
                backoff=fast_backoff(),
            )
            async with client:
                await client.wait_ready(timeout=5)
                # quiet but alive: the server sends nothing but answers our pings
                await until(answered, what="ten pings answered")
                assert client.silences == 0 and client.connects == 1
                server.silent = True  # the socket stays open, nothing comes back
                await until(lambda: client.silences == 1, what="silence detected")
                server.silent = False
                await until(lambda: client.connects == 2 and client.ready, what="reconnect")

    run(main)


def test_fragmented_messages_are_reassembled_into_one_book_update(listener: type) -> None:
    async def main() -> None:
        async with WsFake() as server:
            book = OrderBook("hl", "ETH")
            seen: list[bytes] = []

            def on_message(m: memoryview | bytes) -> None:
                seen.append(bytes(m))
                book.apply_hyperliquid(m)

            async with WsClient("hl", server.url, on_message, backoff=fast_backoff()) as client:
                await client.wait_ready(timeout=5)
                a, b, c = BOOK[:10], BOOK[10:50], BOOK[50:]
                server.write_frames(
                    [
                        raw_frame(0x1, a, fin=False),
                        raw_frame(0x9, b"mid", fin=True),  # a control frame between fragments
                        raw_frame(0x0, b, fin=False),
                        raw_frame(0x0, c, fin=True),
                        raw_frame(0x1, BOOK, fin=True),  # and an unfragmented one after it
                    ]
                )
                await until(lambda: len(seen) == 2, what="two messages")
                await until(lambda: server.pongs == 1, what="the ping frame answered")
            assert seen == [BOOK, BOOK]
            assert book.best_bid() == (Decimal("3119.9"), Decimal("1.5"))
            assert book.best_ask() == (Decimal("3120.1"), Decimal("0.5"))

    run(main)


def test_pongs_and_server_json_pings_are_consumed_not_delivered(listener: type) -> None:
    async def main() -> None:
        async with WsFake() as server:
            seen: list[bytes] = []
            client = WsClient(
                "lighter",
                server.url,
                lambda m: seen.append(bytes(m)),
                keepalive=KeepAlive.lighter(interval_s=30),
                silence_timeout_s=60,
                backoff=fast_backoff(),
            )
            async with client:
                await client.wait_ready(timeout=5)
                await server.send('{"type":"ping"}')
                await server.send('{"type":"update/order_book","x":1}')
                await until(lambda: seen, what="the update")
                await until(
                    lambda: any(t == '{"type":"pong"}' for _, t in server.received),
                    what="the pong",
                )
            assert seen == [b'{"type":"update/order_book","x":1}']

    run(main)


def test_a_failing_handler_does_not_cost_the_connection(
    listener: type, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        async with WsFake() as server:
            seen: list[bytes] = []

            def on_message(m: memoryview | bytes) -> None:
                if bytes(m) == b"bad":
                    raise ValueError("malformed")
                seen.append(bytes(m))

            async with WsClient("hl", server.url, on_message, backoff=fast_backoff()) as client:
                await client.wait_ready(timeout=5)
                await server.send("bad")
                await server.send("good")
                await until(lambda: seen == [b"good"], what="the good message")
                assert client.handler_errors == 1 and client.connects == 1
                assert type(client._listener) is listener
            failed = [r for r in caplog.records if "handler failed" in r.getMessage()]
            assert len(failed) == 1 and failed[0].exc_info is not None
            assert failed[0].exc_info[0] is ValueError  # the traceback is logged

    run(main)


def test_backoff_delays_stay_within_their_bounds_while_the_venue_is_down(listener: type) -> None:
    async def main() -> None:
        async with WsFake() as server:
            server.refuse = True
            backoff = Backoff(initial_s=0.01, max_s=0.04, jitter=0.5, rng=random.Random(1))
            async with WsClient("hl", server.url, lambda m: None, backoff=backoff) as client:
                await until(lambda: len(client.delays) >= 6, what="six attempts")
                delays = list(client.delays)
                assert not client.ready and client.connects == 0
                server.refuse = False
                await client.wait_ready(timeout=5)
            ceilings = [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]
            for d, top in zip(delays, ceilings, strict=False):
                assert top * 0.5 <= d <= top

    run(main)


def test_backoff_grows_exponentially_with_jitter_and_resets() -> None:
    b = Backoff(initial_s=0.5, max_s=30, factor=2, jitter=0.25, rng=random.Random(3))
    delays = [b.next_delay() for _ in range(12)]
    for n, d in enumerate(delays):
        top = min(30.0, 0.5 * 2**n)
        assert top * 0.75 <= d <= top
    assert len(set(delays)) == len(delays)  # jittered: no two clients retry in step
    b.reset()
    assert b.next_delay() <= 0.5
    with pytest.raises(ValueError):
        Backoff(initial_s=2, max_s=1)


def test_close_is_idempotent_and_leaves_no_task_behind(listener: type) -> None:
    async def main() -> None:
        async with WsFake() as server:
            before = asyncio.all_tasks()
            client = WsClient(
                "hl",
                server.url,
                lambda m: None,
                keepalive=KeepAlive.hyperliquid(interval_s=0.05),
                silence_timeout_s=1,
                backoff=fast_backoff(),
            )
            await client.start()
            await client.wait_ready(timeout=5)
            server.drop()  # close in the middle of a reconnect
            await asyncio.sleep(0)
            await client.close()
            await client.close()
            await asyncio.sleep(0)
            left = {t for t in asyncio.all_tasks() - before if not t.done()}
            assert left == set()
            assert not client.ready and not client.connected
            with pytest.raises(VenueDisconnectedError):
                client.send(b"x")
            with pytest.raises(VenueNotReadyError):
                await client.wait_ready(timeout=0.01)

    run(main)


def test_stray_fragments_are_dropped_and_every_frame_counts_as_life(listener: type) -> None:
    """A continuation with no message before it, and a message cut short by a new one, are
    dropped; the message after them arrives whole, on the same connection, and every frame is
    counted (the silence watchdog reads that count)."""

    async def main() -> None:
        async with WsFake() as server:
            seen: list[bytes] = []
            client = WsClient("hl", server.url, lambda m: seen.append(bytes(m)),
                              backoff=fast_backoff())  # fmt: skip
            async with client:
                await client.wait_ready(timeout=5)
                assert type(client._listener) is listener
                server.write_frames(
                    [
                        raw_frame(0x0, b"orphan", fin=True),  # a continuation of nothing
                        raw_frame(0x1, BOOK[:30], fin=False),  # a message begun ...
                        raw_frame(0x2, b"whole", fin=True),  # ... and cut by a new one
                        raw_frame(0x1, BOOK[:30], fin=False),
                        raw_frame(0x0, BOOK[30:], fin=True),
                    ]
                )
                await until(lambda: len(seen) == 2, what="two messages")
                assert seen == [b"whole", BOOK]
                assert client.frames == 5 and client.connects == 1
                server.drop()
                await until(lambda: client.connects == 2 and client.ready, what="reconnect")
                await server.send("after")
                await until(lambda: len(seen) == 3, what="the message after the reconnect")
                assert client.frames == 6  # the count goes on across connections

    run(main)


def test_a_message_above_the_limit_drops_the_connection_and_is_not_delivered(
    listener: type,
) -> None:
    async def main() -> None:
        async with WsFake() as server:
            seen: list[bytes] = []
            client = WsClient("hl", server.url, lambda m: seen.append(bytes(m)),
                              backoff=fast_backoff(), max_message_bytes=100)  # fmt: skip
            async with client:
                await client.wait_ready(timeout=5)
                server.write_frames(
                    [raw_frame(0x1, b"x" * 60, fin=False), raw_frame(0x0, b"y" * 60, fin=False)]
                )
                await until(lambda: client.connects == 2 and client.ready, what="reconnect")
                await server.send("small")
                await until(lambda: seen, what="a message on the new connection")
            assert seen == [b"small"]

    run(main)


def test_a_close_frame_from_the_venue_is_answered_and_the_client_reconnects(
    listener: type,
) -> None:
    async def main() -> None:
        async with WsFake() as server:
            states: list[bool] = []
            client = WsClient("hl", server.url, lambda m: None, on_state=states.append,
                              backoff=fast_backoff())  # fmt: skip
            async with client:
                await client.wait_ready(timeout=5)
                server.write_frames([raw_frame(0x8, (1001).to_bytes(2, "big"), fin=True)])
                await until(lambda: client.connects == 2 and client.ready, what="reconnect")
            assert states == [True, False, True, False]

    run(main)


def test_acks_are_counted_per_connection_before_the_client_is_ready(listener: type) -> None:
    """Two subscriptions: the client is ready only after both acks, on every connection."""

    async def main() -> None:
        async with WsFake() as server:
            subs = [SUB, SUB.replace(b"ETH", b"BTC")]
            seen: list[bytes] = []
            client = WsClient(
                "hl",
                server.url,
                lambda m: seen.append(bytes(m)),
                subscriptions=lambda: subs,
                is_ack=lambda m: b"subscriptionResponse" in bytes(m),
                reconcile=lambda: asyncio.sleep(0),
                backoff=fast_backoff(),
            )
            async with client:
                await client.wait_ready(timeout=5)
                assert sum(b"subscriptionResponse" in m for m in seen) == 2  # acks delivered too
                server.drop()
                await until(lambda: client.connects == 2 and client.ready, what="reconnect")
                assert sum(b"subscriptionResponse" in m for m in seen) == 4
                assert client._listener is not None and client._listener.acks_missing == 0

    run(main)
