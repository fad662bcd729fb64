"""The Hyperliquid fake's own rules and faults, driven over the wire with aiohttp on the test's
loop (signatures made with the SDK's signing helpers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest
from eth_account.signers.local import LocalAccount
from hlkit import D, wallet
from hyperliquid.utils.signing import sign_l1_action
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit.model import Side
from hedgekit.testing.fakes import WireFaults
from hedgekit.testing.fakes.faults import FaultKind
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.testing.fakes.hyperliquid.auth import NonceBook
from hedgekit.testing.fakes.threaded import ServerThread

ALICE = wallet("alice")
ADDR = ALICE.address.lower()
TIMEOUT = aiohttp.ClientTimeout(total=5)
_nonce = [int(time.time() * 1000)]


def _next_nonce() -> int:
    _nonce[0] = max(_nonce[0] + 1, int(time.time() * 1000))
    return _nonce[0]


def signed(
    action: dict[str, Any],
    nonce: int | None = None,
    vault: str | None = None,
    signer: LocalAccount = ALICE,
    expires_in_ms: int | None = None,
) -> dict[str, Any]:
    """An /exchange body signed (by ALICE) as the SDK signs against a non-mainnet URL
    (``expires_in_ms``: with ``expiresAfter`` that far past the nonce)."""
    n = _next_nonce() if nonce is None else nonce
    expires = None if expires_in_ms is None else n + expires_in_ms
    sig = sign_l1_action(signer, action, vault, n, expires, False)
    return {
        "action": action,
        "nonce": n,
        "signature": sig,
        "vaultAddress": vault,
        "expiresAfter": expires,
    }


def order(
    px: str, sz: str, tif: str = "Gtc", *, buy: bool = True, cloid: str | None = None
) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "a": 1,
        "b": buy,
        "p": px,
        "s": sz,
        "r": False,
        "t": {"limit": {"tif": tif}},
    }
    if cloid is not None:
        wire["c"] = cloid
    return {"type": "order", "orders": [wire], "grouping": "na"}


def run(
    body: Callable[[FakeHyperliquid, aiohttp.ClientSession], Awaitable[None]], **kwargs: Any
) -> None:
    async def main() -> None:
        kwargs.setdefault("book_interval_s", 0.05)
        kwargs.setdefault("accounts", [ADDR])
        async with FakeHyperliquid(**kwargs) as fake:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
                await asyncio.wait_for(body(fake, http), 20)
            assert fake.state.check_invariants() == []
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == []  # every task the fake owned is gone

    asyncio.run(main())


async def post(http: aiohttp.ClientSession, fake: FakeHyperliquid, path: str, body: Any) -> Any:
    async with http.post(fake.url + path, json=body) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def recv(ws: aiohttp.ClientWebSocketResponse, channel: str, timeout: float = 3.0) -> Any:
    """The next message on ``channel`` (others are skipped), within ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            data = orjson.loads(msg.data) if msg.data.startswith("{") else {"channel": "text"}
            if data.get("channel") == channel:
                return data


def test_websocket_hello_ping_subscribe_and_unsubscribe() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(fake.ws_url) as ws:
            assert (await ws.receive()).data == "Websocket connection established."
            await ws.send_str('{"method":"ping"}')
            assert await recv(ws, "pong") == {"channel": "pong"}
            sub = {"type": "l2Book", "coin": "ETH"}
            await ws.send_json({"method": "subscribe", "subscription": sub})
            ack = await recv(ws, "subscriptionResponse")
            assert ack["data"] == {"method": "subscribe", "subscription": sub}
            book = await recv(ws, "l2Book")
            assert book["data"]["coin"] == "ETH" and len(book["data"]["levels"][0]) == 20
            await ws.send_json({"method": "subscribe", "subscription": sub})
            assert (await recv(ws, "error"))["data"].startswith("Already subscribed")
            await ws.send_json(
                {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "DOGE"}}
            )
            assert (await recv(ws, "error"))["data"].startswith("Invalid subscription")
            await ws.send_json({"method": "unsubscribe", "subscription": sub})
            assert (await recv(ws, "subscriptionResponse"))["data"]["method"] == "unsubscribe"

    run(body)


def test_post_over_websocket_answers_info_and_actions_with_the_same_id() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(fake.ws_url) as ws:
            req = {"type": "info", "payload": {"type": "l2Book", "coin": "ETH"}}
            await ws.send_json({"method": "post", "id": 7, "request": req})
            answer = (await recv(ws, "post"))["data"]
            assert answer["id"] == 7 and answer["response"]["type"] == "info"
            assert answer["response"]["payload"]["type"] == "l2Book"
            assert answer["response"]["payload"]["data"]["coin"] == "ETH"
            req = {"type": "action", "payload": signed(order("2990", "0.01", "Alo"))}
            await ws.send_json({"method": "post", "id": 8, "request": req})
            answer = (await recv(ws, "post"))["data"]
            assert answer["id"] == 8 and answer["response"]["type"] == "action"
            status = answer["response"]["payload"]["response"]["data"]["statuses"][0]
            assert [o.oid for o in fake.open_orders(ADDR)] == [status["resting"]["oid"]]
            fake.faults.lose_answer(1, kinds=("ws_post",))
            req = {"type": "action", "payload": signed(order("2989", "0.01", "Alo"))}
            await ws.send_json({"method": "post", "id": 9, "request": req})
            await ws.send_json(
                {
                    "method": "post",
                    "id": 10,
                    "request": {"type": "info", "payload": {"type": "allMids"}},
                }
            )
            answer = (await recv(ws, "post"))["data"]
            assert answer["id"] == 10  # 9 was applied and never answered
            assert len(fake.open_orders(ADDR)) == 2

    run(body)


def test_a_replayed_nonce_is_refused_and_nothing_is_placed_twice() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        request = signed(order("2990", "0.01"))
        first = await post(http, fake, "/exchange", request)
        assert first["status"] == "ok"
        again = await post(http, fake, "/exchange", request)
        assert again == {
            "status": "err",
            "response": f"Invalid nonce: duplicate nonce {request['nonce']}",
        }
        stale = signed(order("2990", "0.01"), nonce=int(time.time() * 1000) - 3 * 86_400_000)
        assert (await post(http, fake, "/exchange", stale))["response"].startswith("Invalid nonce")
        assert len(fake.open_orders(ADDR)) == 1

    run(body)


def test_the_nonce_book_keeps_the_100_highest_per_signer() -> None:
    book = NonceBook()
    now = 1_760_000_000_000
    for i in range(100):
        assert book.use("0xa", now + i, now) is None
    assert book.use("0xa", now - 1, now) == f"Invalid nonce: nonce too low {now - 1} < {now}"
    assert book.use("0xa", now + 50, now) == f"Invalid nonce: duplicate nonce {now + 50}"
    assert book.use("0xb", now - 1, now) is None  # per signer
    assert book.use("0xa", now + 200, now) is None
    assert book.kept("0xa")[0] == now + 1  # the lowest was dropped
    assert book.use("0xa", now + 86_400_000, now) is not None  # T + 1 day is outside


def test_rules_cloid_trigger_asset_and_expiry() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        bad_cloid = await post(http, fake, "/exchange", signed(order("2990", "0.01", cloid="0x12")))
        assert bad_cloid["response"]["data"]["statuses"] == [{"error": "Invalid cloid. asset=1"}]
        trigger = order("2990", "0.01")
        trigger["orders"][0]["t"] = {
            "trigger": {"isMarket": True, "triggerPx": "2900", "tpsl": "sl"}
        }
        answer = await post(http, fake, "/exchange", signed(trigger))
        assert "error" in answer["response"]["data"]["statuses"][0]
        partial = await post(http, fake, "/exchange", signed(order("3000.1", "6", "Ioc")))
        filled = partial["response"]["data"]["statuses"][0]["filled"]
        assert filled["totalSz"] == "5.0" and filled["avgPx"] == "3000.1"  # the touch only
        n = _next_nonce()
        action = {"type": "noop"}
        sig = sign_l1_action(ALICE, action, None, n, n - 1, False)
        expired = {
            "action": action,
            "nonce": n,
            "signature": sig,
            "vaultAddress": None,
            "expiresAfter": n - 1,
        }
        assert (await post(http, fake, "/exchange", expired))["response"].startswith(
            "Action expired"
        )
        async with http.post(fake.url + "/exchange", data=b"{not json") as r:
            assert r.status == 422 and "Failed to deserialize" in await r.text()

    run(body)


def test_rate_limits_and_server_errors_are_refused_before_the_venue() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        fake.faults.rate_limit(1, kinds=("exchange",)).server_error(
            1, status=503, kinds=("exchange",)
        )
        async with http.post(fake.url + "/exchange", json=signed(order("2990", "0.01"))) as r:
            assert r.status == 429
            assert await r.json() == {"code": 429, "msg": "Too many requests", "data": None}
        async with http.post(fake.url + "/exchange", json=signed(order("2990", "0.01"))) as r:
            assert r.status == 503
        assert fake.open_orders(ADDR) == []
        assert (await post(http, fake, "/exchange", signed(order("2990", "0.01"))))[
            "status"
        ] == "ok"
        assert len(fake.open_orders(ADDR)) == 1

    run(body)


def test_a_lost_answer_leaves_the_action_applied() -> None:
    cloid = "0x" + "0" * 30 + "c1"

    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        fake.faults.lose_answer(1)
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(
                fake.url + "/exchange",
                json=signed(order("2990", "0.01", cloid=cloid)),
                timeout=aiohttp.ClientTimeout(total=0.3),
            ):
                pass
        status = await post(
            http, fake, "/info", {"type": "orderStatus", "user": ADDR, "oid": cloid}
        )
        assert status["order"]["status"] == "open"
        fake.faults.lose_answer(1, reset=True)
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.post(fake.url + "/exchange", json=signed(order("2989", "0.01"))):
                pass
        assert len(fake.open_orders(ADDR)) == 2

    run(body)


def test_fills_while_the_socket_is_down_come_back_in_the_snapshot() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        answer = await post(http, fake, "/exchange", signed(order("2999", "0.02")))
        oid = answer["response"]["data"]["statuses"][0]["resting"]["oid"]
        sub = {"method": "subscribe", "subscription": {"type": "userFills", "user": ADDR}}
        async with http.ws_connect(fake.ws_url) as ws:
            await ws.send_json(sub)
            assert (await recv(ws, "userFills"))["data"]["fills"] == []
            assert fake.faults.drop_ws() == 1
            msg = await ws.receive(timeout=3)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.ERROR,
            )
        fake.trade_against("ETH", Side.SELL, D(1000), D(2999))
        async with http.ws_connect(fake.ws_url) as ws:
            await ws.send_json(sub)
            snap = (await recv(ws, "userFills"))["data"]
            assert snap["isSnapshot"] is True and [f["oid"] for f in snap["fills"]] == [oid]

    run(body)


def test_a_silent_socket_sends_nothing_until_resumed() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(fake.ws_url) as ws:
            await recv(ws, "text")
            fake.faults.silence_ws()
            await ws.send_str('{"method":"ping"}')
            with pytest.raises(TimeoutError):
                await recv(ws, "pong", timeout=0.3)
            assert not ws.closed
            fake.faults.resume_ws()
            await ws.send_str('{"method":"ping"}')
            assert await recv(ws, "pong") == {"channel": "pong"}

    run(body)


def test_an_order_accepted_then_cancelled_by_the_venue() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        fake.faults.accept_then_cancel(1, delay_s=0.05)
        async with http.ws_connect(fake.ws_url) as ws:
            await ws.send_json(
                {"method": "subscribe", "subscription": {"type": "orderUpdates", "user": ADDR}}
            )
            await recv(ws, "subscriptionResponse")
            answer = await post(http, fake, "/exchange", signed(order("2999", "0.01")))
            oid = answer["response"]["data"]["statuses"][0]["resting"]["oid"]
            first = await recv(ws, "orderUpdates")
            assert first["data"][0]["status"] == "open"
            then = await recv(ws, "orderUpdates")
            assert (
                then["data"][0]["order"]["oid"] == oid
                and then["data"][0]["status"] == "marginCanceled"
            )
        status = await post(http, fake, "/info", {"type": "orderStatus", "user": ADDR, "oid": oid})
        assert status["order"]["status"] == "marginCanceled"
        assert fake.open_orders(ADDR) == []

    run(body)


def test_the_cancel_fill_race_answers_missing_order_and_sends_the_fill_after() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        answer = await post(http, fake, "/exchange", signed(order("2999", "0.02")))
        oid = answer["response"]["data"]["statuses"][0]["resting"]["oid"]
        fake.faults.cancel_fill_race(1, event_delay_s=0.3)
        async with http.ws_connect(fake.ws_url) as ws:
            await ws.send_json(
                {"method": "subscribe", "subscription": {"type": "userFills", "user": ADDR}}
            )
            assert (await recv(ws, "userFills"))["data"]["isSnapshot"] is True
            cancel = {"type": "cancel", "cancels": [{"a": 1, "o": oid}]}
            reply = await post(http, fake, "/exchange", signed(cancel))
            assert reply["response"]["data"]["statuses"] == [
                {"error": "Order was never placed, already canceled, or filled."}
            ]
            status = await post(
                http, fake, "/info", {"type": "orderStatus", "user": ADDR, "oid": oid}
            )
            assert status["order"]["status"] == "filled"
            assert len(fake.fills(ADDR)) == 1
            fill = await recv(ws, "userFills")  # only now, after the answer
            assert (
                fill["data"]["fills"][0]["oid"] == oid and fill["data"]["fills"][0]["sz"] == "0.02"
            )

    run(body)


def test_a_partly_filled_order_cancelled_shows_what_was_left_in_sz() -> None:
    """``origSz - sz`` is what filled, in the cancel's update and in ``orderStatus`` (an ``sz``
    of 0 would say the whole order filled, and a client would wait for fills never sent)."""

    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        answer = await post(http, fake, "/exchange", signed(order("2990", "0.02")))
        oid = answer["response"]["data"]["statuses"][0]["resting"]["oid"]
        bids, _ = fake.account(ADDR).engine.book_levels("ETH", 10_000)
        ahead = sum((sz for px, sz in bids if px > D(2990)), D(0))
        fake.trade_against("ETH", Side.SELL, ahead + D("0.005"), D(2990))
        async with http.ws_connect(fake.ws_url) as ws:
            await ws.send_json(
                {"method": "subscribe", "subscription": {"type": "orderUpdates", "user": ADDR}}
            )
            await recv(ws, "subscriptionResponse")
            cancel = {"type": "cancel", "cancels": [{"a": 1, "o": oid}]}
            reply = await post(http, fake, "/exchange", signed(cancel))
            assert reply["response"]["data"]["statuses"] == ["success"]
            update = (await recv(ws, "orderUpdates"))["data"][0]
        assert update["status"] == "canceled"
        assert (update["order"]["origSz"], update["order"]["sz"]) == ("0.02", "0.015")
        status = await post(http, fake, "/info", {"type": "orderStatus", "user": ADDR, "oid": oid})
        assert status["order"]["status"] == "canceled"
        assert (status["order"]["order"]["origSz"], status["order"]["order"]["sz"]) == (
            "0.02",
            "0.015",
        )

    run(body)


def test_wire_faults_are_seeded_and_counted_first() -> None:
    def draws(seed: int) -> list[FaultKind | None]:
        f = WireFaults(seed).rate_limit(0, probability=0.3).server_error(2, kinds=("info",))
        out = []
        for _ in range(50):
            fault = f.draw("info")
            out.append(None if fault is None else fault.kind)
        return out

    a = draws(5)
    assert a == draws(5)
    assert a[:2] == [FaultKind.SERVER_ERROR, FaultKind.SERVER_ERROR]
    assert 5 < a.count(FaultKind.RATE_LIMIT) < 30
    assert draws(6) != a
    with pytest.raises(ValueError, match="probability"):
        WireFaults().rate_limit(probability=2.0)
    with pytest.raises(ValueError, match="kinds"):
        WireFaults().lose_answer(kinds=("nope",))
    with pytest.raises(ValueError, match="5xx"):
        WireFaults().server_error(status=404)
    with pytest.raises(ValueError, match="delay_s"):
        WireFaults().stall(delay_s=-0.1)
    stall = WireFaults().stall(1, delay_s=0.25, kinds=("ws_post",)).draw("ws_post")
    assert stall is not None and (stall.kind, stall.delay_s) == (FaultKind.STALL, 0.25)


def test_a_thread_runs_the_fake_and_stops_it() -> None:
    server = ServerThread(FakeHyperliquid, accounts=[ADDR], book_interval_s=0.05, timeout=10)
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.call(lambda f: f.position(ADDR, "ETH")) == Decimal(0)
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        server.call(lambda f: f.url)


def test_user_events_carry_fills_funding_and_liquidation_and_public_streams_move() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(fake.ws_url) as ws:
            for sub in (
                {"type": "userEvents", "user": ADDR},
                {"type": "userFundings", "user": ADDR},
                {"type": "trades", "coin": "ETH"},
                {"type": "bbo", "coin": "ETH"},
            ):
                await ws.send_json({"method": "subscribe", "subscription": sub})
            assert (await recv(ws, "userFundings"))["data"]["isSnapshot"] is True
            bbo = (await recv(ws, "bbo"))["data"]
            assert bbo["coin"] == "ETH" and bbo["bbo"][0]["px"] == "3000.0"
            assert (await post(http, fake, "/exchange", signed(order("3100", "1", "Ioc"))))[
                "status"
            ] == "ok"
            fills = (await recv(ws, "user"))["data"]["fills"]
            assert fills[0]["sz"] == "1.0" and fills[0]["dir"] == "Open Long"
            (trade,) = (await recv(ws, "trades"))["data"]
            assert trade["coin"] == "ETH" and trade["side"] == "B" and trade["users"][0] == ADDR
            fake.set_funding_rate("ETH", D("0.001"))
            fake.settle_funding()
            pushed = (await recv(ws, "userFundings"))["data"]["fundings"]
            funding = (await recv(ws, "user"))["data"]["funding"]
            assert funding["coin"] == "ETH" and D(funding["usdc"]) == -D(3)  # 1 x 3000 x 0.001
            assert pushed[0]["usdc"] == funding["usdc"]
            fake.move_price("ETH", D(5))  # far below any liquidation price
            events = []
            while not any("liquidation" in e for e in events):
                events.append((await recv(ws, "user"))["data"])
            assert events[-1]["liquidation"]["liquidated_user"] == ADDR
            assert any("fills" in e and e["fills"][0].get("liquidation") for e in events)
        assert fake.position(ADDR, "ETH") == 0

    run(body, balance=D(400))


def test_funding_is_paid_when_the_venue_clock_passes_the_hour() -> None:
    from hedgekit.clock import ManualClock

    clock = ManualClock(time.time_ns())

    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        assert (await post(http, fake, "/exchange", signed(order("3100", "1", "Ioc"))))[
            "status"
        ] == "ok"
        assert fake.account(ADDR).fundings == []
        clock.advance(3_600 * 10**9)
        async with asyncio.timeout(5):
            while not fake.account(ADDR).fundings:
                await asyncio.sleep(0.02)
        rows = await post(
            http, fake, "/info", {"type": "fundingHistory", "coin": "ETH", "startTime": 0}
        )
        assert [r["fundingRate"] for r in rows] == ["0.0000125"]  # the interest-only baseline

    run(body, clock=clock)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["type", "user", "coin", "oid", "startTime", "orders", "cancels", "modifies", "a", "o",
     "asset", "leverage", "isCross", "time", "order", "grouping", "agentAddress"]
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(
        [
            "order",
            "cancel",
            "cancelByCloid",
            "modify",
            "batchModify",
            "scheduleCancel",
            "updateLeverage",
            "noop",
            "approveAgent",
            "l2Book",
            "orderStatus",
            "userFills",
            "clearinghouseState",
            "frobnicate",
            "acting",
            "place_one",
            "l1_signer",
        ]
    ),  # fmt: skip
    extra=st.dictionaries(_keys, _json_values, max_size=4),
    nonce=st.integers(0, 2**64 - 1),
    r=st.text("0123456789abcdefx", max_size=70),
    sign=st.booleans(),
)
def test_malformed_requests_get_answers_never_exceptions(
    kind: str, extra: dict[str, Any], nonce: int, r: str, sign: bool
) -> None:
    from hedgekit.testing.fakes.hyperliquid.exchange import Exchange
    from hedgekit.testing.fakes.hyperliquid.info import answer_info
    from hedgekit.testing.fakes.hyperliquid.market import DEFAULT_MARKETS
    from hedgekit.testing.fakes.hyperliquid.state import VenueState

    state = VenueState(DEFAULT_MARKETS, D(1000))
    state.add_account(ADDR)
    exchange = Exchange(state, WireFaults(), open_accounts=False)
    now = int(time.time() * 1000)
    action = {**extra, "type": kind}
    if sign:  # a valid signature over a malformed action: the action's own checks answer it
        body = signed(action)
    else:
        body = {"action": action, "nonce": nonce, "signature": {"r": r, "s": r, "v": 27}}
    answer = exchange.handle(body, now)
    assert answer.body["status"] in ("ok", "err")
    assert state.check_invariants() == []
    if kind in ("frobnicate", "acting", "place_one", "l1_signer"):
        if sign:
            assert answer.body == {"status": "err", "response": f"Unknown action type: {kind}"}
        assert answer_info(state, action, now) is None
    else:
        answer_info(state, action, now)  # an answer or None, never an exception


def test_fifty_concurrent_orders_with_unique_nonces_are_all_accepted() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        requests = [signed(order(f"{2950 + i}", "0.01", "Alo")) for i in range(50)]
        requests.append(dict(requests[0]))  # the same nonce once more
        answers = await asyncio.gather(*(post(http, fake, "/exchange", r) for r in requests))
        assert sum(a["status"] == "ok" for a in answers) == 50
        (refused,) = [a for a in answers if a["status"] == "err"]
        assert refused["response"] == f"Invalid nonce: duplicate nonce {requests[0]['nonce']}"
        assert len(fake.open_orders(ADDR)) == 50

    run(body)


def test_a_ccxt_style_request_is_accepted_source_a_padded_and_without_null_keys() -> None:
    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        action = order("2990", "0.01", "Alo")
        n = _next_nonce()
        sig = sign_l1_action(ALICE, action, None, n, None, True)  # source 'a', as ccxt signs
        padded = {
            "r": "0x" + sig["r"][2:].zfill(64),
            "s": "0x" + sig["s"][2:].zfill(64),
            "v": sig["v"],
        }
        answer = await post(
            http, fake, "/exchange", {"action": action, "nonce": n, "signature": padded}
        )
        assert "resting" in answer["response"]["data"]["statuses"][0]
        assert len(fake.open_orders(ADDR)) == 1

    run(body)


def test_what_one_account_takes_leaves_the_public_book_and_reaches_the_others() -> None:
    bob = wallet("bob")

    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        ask = await post(
            http, fake, "/exchange", signed(order("3000.1", "0.01", buy=False), signer=bob)
        )
        bob_oid = ask["response"]["data"]["statuses"][0]["resting"]["oid"]
        book = await post(http, fake, "/info", {"type": "l2Book", "coin": "ETH"})
        assert book["levels"][1][0] == {"px": "3000.1", "sz": "5.01", "n": 2}
        taken = await post(http, fake, "/exchange", signed(order("3000.1", "2", "Ioc")))
        assert taken["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "2.0"
        book = await post(http, fake, "/info", {"type": "l2Book", "coin": "ETH"})
        assert book["levels"][1][0] == {"px": "3000.1", "sz": "3.01", "n": 2}
        assert fake.fills(bob.address) == []  # still queued behind outside size
        await post(http, fake, "/exchange", signed(order("3000.2", "4", "Ioc")))
        (bob_fill,) = fake.fills(bob.address)
        assert bob_fill["oid"] == bob_oid and bob_fill["crossed"] is False
        assert fake.position(bob.address, "ETH") == D("-0.01")

    run(body, accounts=[ADDR, bob.address])


def test_schedule_cancel_triggers_at_most_ten_times_a_day() -> None:
    from hedgekit.clock import ManualClock

    day_ms = 86_400_000
    noon_ms = time.time_ns() // 1_000_000 // day_ms * day_ms + day_ms // 2
    clock = ManualClock(noon_ms * 1_000_000)  # the ten triggers all fall on one UTC day

    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        for _ in range(10):
            at = fake.now_ms() + 6_000
            answer = await post(
                http, fake, "/exchange", signed({"type": "scheduleCancel", "time": at})
            )
            assert answer == {"status": "ok", "response": {"type": "default"}}
            fake.fire_scheduled_cancels(at)
        assert len(fake.account(ADDR).schedule_triggers) == 10
        at = fake.now_ms() + 6_000
        refused = await post(
            http, fake, "/exchange", signed({"type": "scheduleCancel", "time": at})
        )
        assert refused["status"] == "err" and "at most 10" in refused["response"]

    run(body, clock=clock)


class _StubConn:
    """What the fake's WebSocket handling uses of a connection, recording what it sends."""

    def __init__(self) -> None:
        self.subs: dict[tuple[str, str], Any] = {}
        self.memo: dict[str, Any] = {}
        self.sent: list[Any] = []
        self.dropped = False

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def drop(self) -> None:
        self.dropped = True


_info_payloads = st.fixed_dictionaries(
    {"type": st.sampled_from(["allMids", "l2Book", "meta", "openOrders", "orderStatus", "nope"])},
    optional={"coin": st.just("ETH") | _json_values, "user": st.just(ADDR) | _json_values,
              "oid": st.integers(0, 2**40) | _json_values},
)  # fmt: skip
_subscriptions = st.fixed_dictionaries(
    {"type": st.sampled_from(["l2Book", "userFills", "userFundings", "bbo", "trades", "x"])},
    optional={"coin": _json_values | st.just("ETH"), "user": _json_values | st.just(ADDR)},
)
_ws_messages = st.one_of(
    st.fixed_dictionaries(
        {"method": st.sampled_from(["subscribe", "unsubscribe"])},
        optional={"subscription": _subscriptions | _json_values},
    ),
    st.fixed_dictionaries(
        {
            "method": st.just("post"),
            "id": st.integers(0, 1000) | _json_values,
            "request": st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["info", "action", "x"]),
                    "payload": _info_payloads | _json_values,
                }
            )
            | _json_values,
        }
    ),
    st.fixed_dictionaries({"method": st.sampled_from(["ping", "frob"])}),
)


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(_ws_messages | _json_values, min_size=1, max_size=5))
def test_any_websocket_message_gets_an_answer_or_an_error_never_an_exception(
    messages: list[Any],
) -> None:
    from hedgekit.clock import ManualClock

    fake = FakeHyperliquid(accounts=[ADDR], clock=ManualClock(time.time_ns()))
    conn = _StubConn()
    for message in messages:
        fake._on_message(conn, orjson.dumps(message).decode())  # type: ignore[arg-type]  # noqa: SLF001
    assert all(isinstance(m, dict) and "channel" in m for m in conn.sent)
    answered = {m["data"]["id"] for m in conn.sent if m["channel"] == "post"}
    asked = [m.get("id") for m in messages if isinstance(m, dict) and m.get("method") == "post"]
    assert answered <= {i for i in asked if isinstance(i, int)}
    fake._on_message(conn, "{not json")  # type: ignore[arg-type]  # noqa: SLF001
    assert conn.sent[-1]["channel"] == "error"


def test_a_stalled_action_reaches_the_venue_late_and_past_its_deadline_is_refused() -> None:
    """A stall holds a request before the venue applies it: an order whose ``expiresAfter``
    has passed by then is refused (charged at 5x a fresh action's weight) and nothing is placed, by REST and over the socket (where
    the posts behind it are answered meanwhile); the same order unstalled, or stalled with no
    deadline, is placed."""

    async def body(fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
        used = fake.account(ADDR).requests
        fake.faults.stall(1, delay_s=1.3, kinds=("exchange",))
        late = await post(
            http, fake, "/exchange", signed(order("2990", "0.01"), expires_in_ms=1000)
        )
        assert late["status"] == "err" and late["response"].startswith("Action expired")
        assert fake.open_orders(ADDR) == []
        # the stale action is charged to the address at 5x a fresh one
        assert fake.account(ADDR).requests == used + 5
        on_time = await post(
            http, fake, "/exchange", signed(order("2990", "0.01"), expires_in_ms=1000)
        )
        assert "resting" in on_time["response"]["data"]["statuses"][0]
        assert fake.account(ADDR).requests == used + 6
        rate = await post(http, fake, "/info", {"type": "userRateLimit", "user": ADDR})
        assert rate["nRequestsUsed"] == used + 6
        async with http.ws_connect(fake.ws_url) as ws:
            fake.faults.stall(2, delay_s=1.3, kinds=("ws_post",))
            for i, expires in ((1, 1000), (2, None)):
                req = {
                    "type": "action",
                    "payload": signed(order("2980", "0.01"), expires_in_ms=expires),
                }
                await ws.send_json({"method": "post", "id": i, "request": req})
            mids = {"type": "info", "payload": {"type": "allMids"}}
            await ws.send_json({"method": "post", "id": 3, "request": mids})
            answers = [(await recv(ws, "post"))["data"] for _ in range(3)]
            assert answers[0]["id"] == 3  # the stalled posts hold nothing else up
            by_id = {a["id"]: a["response"]["payload"] for a in answers}
            assert by_id[1]["response"].startswith("Action expired")
            assert "resting" in by_id[2]["response"]["data"]["statuses"][0]  # placed, late
        assert sorted(o.limit_px for o in fake.open_orders(ADDR)) == [D(2980), D(2990)]

    run(body)
