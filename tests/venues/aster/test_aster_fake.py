"""The Aster fake's own rules, signatures, streams and faults, driven over the wire with aiohttp
on the test's loop (V3 requests signed by the Rust core's EthSigner, V1 with stdlib hmac)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from asterkit import ALICE, BOB, Client, D, event, next_nonce, recv, run, sign_v3
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit.model import Side
from hedgekit.testing.fakes import WireFaults
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.aster.auth import DOMAIN, ApiError, NonceBook, recover_v3

ETH = "ETHUSDT"


def limit(
    price: str, qty: str, tif: str = "GTC", side: str = "BUY", **extra: Any
) -> dict[str, Any]:
    return {"symbol": ETH, "side": side, "type": "LIMIT", "timeInForce": tif,
            "quantity": qty, "price": price, **extra}  # fmt: skip


async def user_stream(c: Client) -> aiohttp.ClientWebSocketResponse:
    key = (await c.ok("POST", "/fapi/v3/listenKey"))["listenKey"]
    return await c.http.ws_connect(f"{c.fake.ws_url}/ws/{key}")


# ---------------------------------------------------------------------------- signing vectors


def test_the_documented_v3_vector_recovers_its_signer() -> None:
    msg = ("symbol=ASTERUSDT&type=LIMIT&side=BUY&timeInForce=GTC&quantity=20&price=0.5"
           "&nonce=1748310859508867&user=0x63DD5aCC6b1aa0f563956C0e534DD30B6dcF7C4e"
           "&signer=0x21cF8Ae13Bb72632562c6Fff438652Ba1a151bb0")  # fmt: skip
    sig = ("0a56c5923ebf3524475c5f631940ec4c0e41dbd300ad28198d1915d8f3ca49ce26fd1aeb8b0c3079"
           "133595da0de38322ae7e860e0c76d032c4a491d27c1430b01c")  # fmt: skip
    signer = "0x21cf8ae13bb72632562c6fff438652ba1a151bb0"
    assert recover_v3(msg, sig) == signer
    assert recover_v3(msg, "0x" + sig) == signer
    assert recover_v3(msg.replace("price=0.5", "price=0.6"), sig) != signer
    assert DOMAIN == ("AsterSignTransaction", "1", 1666)


def test_the_documented_v1_vector_is_accepted_by_the_fake() -> None:
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    payload = ("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
               "&recvWindow=5000&timestamp=1591702613943")  # fmt: skip
    expected = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    assert hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest() == expected

    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake, api_key="vector-key", secret=secret)
        # the vector's signature over its own bytes passes the check; its 2020 timestamp is
        # then refused as outside recvWindow (-1021), not as a bad signature
        status, answer = await c.call(
            "POST", "/fapi/v1/order", raw=f"{payload}&signature={expected}"
        )
        assert (status, answer["code"]) == (400, -1021)
        status, answer = await c.call(
            "POST", "/fapi/v1/order", raw=f"{payload}&signature={'0' * 64}"
        )
        assert answer["code"] == -1022

    run(body, api_keys={"vector-key": (secret, BOB.address)})


# ---------------------------------------------------------------------------- auth


def test_v3_signatures_nonces_and_users_are_checked() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        assert (await c.ok("GET", "/fapi/v3/openOrders", {"symbol": ETH})) == []
        # bare hex is accepted as well as 0x…
        raw = sign_v3({"symbol": ETH}, prefix=False)
        assert (await c.call("GET", "/fapi/v3/openOrders", raw=raw))[0] == 200
        # the same nonce twice, and a stale one
        assert (await c.call("GET", "/fapi/v3/openOrders", raw=raw))[1]["code"] == -4225
        stale = sign_v3({"symbol": ETH}, nonce=next_nonce() - 60_000_000)
        assert (await c.call("GET", "/fapi/v3/openOrders", raw=stale))[1]["code"] == -4225
        # a byte changed after signing
        tampered = sign_v3(limit("2990", "0.1")).replace("quantity=0.1", "quantity=0.2")
        status, answer = await c.call("POST", "/fapi/v3/order", raw=tampered)
        assert (status, answer["code"]) == (400, -1022)
        # BOB is no user here and not approved for ALICE
        bob = Client(http, fake, BOB)
        assert await bob.err("GET", "/fapi/v3/openOrders", {"symbol": ETH}) == -2015
        raw = sign_v3({"symbol": ETH}, BOB, user=ALICE.address)
        assert (await c.call("GET", "/fapi/v3/openOrders", raw=raw))[1]["code"] == -2015
        fake.approve_signer(BOB.address, ALICE.address)
        raw = sign_v3({"symbol": ETH}, BOB, user=ALICE.address)
        assert (await c.call("GET", "/fapi/v3/openOrders", raw=raw))[0] == 200
        assert fake.open_orders(ALICE.address) == []

    run(body)


def test_require_sorted_refuses_unsorted_parameters() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        assert await c.err("GET", "/fapi/v3/openOrders", {"symbol": ETH}) == -1022
        raw = sign_v3({"symbol": ETH}, sort=True)
        assert (await c.call("GET", "/fapi/v3/openOrders", raw=raw))[0] == 200

    run(body, require_sorted=True)


def test_v1_hmac_key_secret_and_timestamp() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        good = Client(http, fake, api_key="k1", secret="s1")
        placed = await good.ok("POST", "/fapi/v1/order", limit("2990", "0.1"))
        assert placed["status"] == "NEW"
        assert len(fake.open_orders(BOB.address)) == 1
        assert (
            await Client(http, fake, api_key="k1", secret="wrong").err("GET", "/fapi/v1/openOrders")
            == -1022
        )
        assert (
            await Client(http, fake, api_key="nope", secret="s1").err("GET", "/fapi/v1/openOrders")
            == -2015
        )
        # the V1 user stream: the key header alone makes a listen key
        async with http.post(f"{fake.url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": "k1"}) as r:
            key = (await r.json())["listenKey"]
        ws = await http.ws_connect(f"{fake.ws_url}/ws/{key}")
        await good.ok("DELETE", "/fapi/v1/order", {"symbol": ETH, "orderId": placed["orderId"]})
        cancelled = await recv(ws, event("ORDER_TRADE_UPDATE", "CANCELED"))
        assert cancelled["o"]["i"] == placed["orderId"]
        await ws.close()
        async with http.post(f"{fake.url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": "x"}) as r:
            assert (r.status, (await r.json())["code"]) == (401, -2015)
        old = {"timestamp": fake.now_ms() - 10_000}
        assert await good.err("GET", "/fapi/v1/openOrders", old) == -1021

    run(body, api_keys={"k1": ("s1", BOB.address)})


def test_the_nonce_book_keeps_the_last_100_per_user() -> None:
    book = NonceBook(window_us=10_000_000, keep=100)
    now = 1_800_000_000_000_000
    for i in range(100):
        assert book.use("u", now + i, now) is None
    assert book.use("u", now - 1, now) is not None  # below the smallest of a full book
    assert book.use("u", now + 50, now) is not None  # a duplicate
    assert book.use("v", now + 50, now) is None  # per user
    assert book.use("u", now + 11_000_000, now) is not None  # outside the window


# ---------------------------------------------------------------------------- rules


def test_filters_in_the_venues_order_with_its_codes() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        assert await c.err("POST", "/fapi/v3/order", limit("2990.001", "0.1")) == -1111
        assert await c.err("POST", "/fapi/v3/order", limit("2990", "0.0001")) == -1111
        assert await c.err("POST", "/fapi/v3/order", limit("2990", "0")) == -4003
        assert await c.err("POST", "/fapi/v3/order", limit("2990", "0.001")) == -4164
        assert await c.err("POST", "/fapi/v3/order", limit("3200", "0.1")) == -4016
        assert await c.err("POST", "/fapi/v3/order", limit("2800", "0.1", side="SELL")) == -4024
        assert await c.err("POST", "/fapi/v3/order", limit("2990", "100")) == -2019
        assert (
            await c.err("POST", "/fapi/v3/order", {**limit("2990", "0.1"), "symbol": "X"}) == -1121
        )
        assert (
            await c.err("POST", "/fapi/v3/order", {"symbol": ETH, "side": "BUY", "type": "LIMIT"})
            == -1102
        )
        sol = {"symbol": "SOLUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        assert (
            await c.err("POST", "/fapi/v3/order", {**sol, "quantity": "1", "price": "149.0005"})
            == -1111
        )
        # minPrice anchors the grid: 149.0005 has too many decimals, 149.001 is on it
        assert (await c.ok("POST", "/fapi/v3/order", {**sol, "quantity": "1", "price": "149.001"}))[
            "status"
        ] == "NEW"
        # a reduce-only order is exempt from the minimum notional (it is refused for reducing
        # nothing instead, as there is no position)
        code = await c.err(
            "POST", "/fapi/v3/order", limit("3001", "0.001", side="SELL", reduceOnly="true")
        )
        assert code == -2022
        await c.ok("POST", "/fapi/v3/order", limit("2990", "0.1", newClientOrderId="dup"))
        assert (
            await c.err("POST", "/fapi/v3/order", limit("2990", "0.1", newClientOrderId="dup"))
            == -4116
        )
        assert (
            await c.err("POST", "/fapi/v3/order", limit("2990", "0.1", newClientOrderId="bad id!"))
            == -4015
        )
        assert len(fake.open_orders(ALICE.address)) == 2

    run(body, balance=D(1_000))


def test_gtx_that_would_cross_is_new_then_expired_or_5022() -> None:
    async def legacy(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        ws = await user_stream(c)
        placed = await c.ok("POST", "/fapi/v3/order", limit("3001", "0.1", "GTX"))
        assert placed["status"] == "NEW"
        new = await recv(ws, event("ORDER_TRADE_UPDATE"))
        expired = await recv(ws, event("ORDER_TRADE_UPDATE"))
        assert (new["o"]["x"], expired["o"]["x"], expired["o"]["X"]) == (
            "NEW",
            "EXPIRED",
            "EXPIRED",
        )
        assert expired["o"]["z"] == "0.000" and new["E"] <= expired["E"]
        got = await c.ok("GET", "/fapi/v3/order", {"symbol": ETH, "orderId": placed["orderId"]})
        assert got["status"] == "EXPIRED"
        result = await c.ok(
            "POST", "/fapi/v3/order", limit("3001", "0.1", "GTX", newOrderRespType="RESULT")
        )
        assert result["status"] == "EXPIRED"
        await ws.close()

    async def current(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        status, answer = await c.call("POST", "/fapi/v3/order", limit("3001", "0.1", "GTX"))
        assert (status, answer["code"]) == (400, -5022)
        assert fake.open_orders(ALICE.address) == [] and fake.account(ALICE.address).orders == {}

    run(legacy)
    run(current, post_only_reject=True)


def test_cancel_query_modify_batch_and_cancel_all() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        a = await c.ok("POST", "/fapi/v3/order", limit("2990", "0.1", newClientOrderId="a"))
        got = await c.ok("GET", "/fapi/v3/openOrder", {"symbol": ETH, "origClientOrderId": "a"})
        assert got["orderId"] == a["orderId"]
        moved = await c.ok("PUT", "/fapi/v3/order", {"symbol": ETH, "orderId": a["orderId"],
                                                     "side": "BUY", "quantity": "0.2", "price": "2991"})  # fmt: skip
        assert (moved["orderId"], moved["price"], moved["origQty"]) == (
            a["orderId"],
            "2991.00",
            "0.200",
        )
        assert (D("2991.00"), D("0.2")) in fake.state.levels(ETH)[0]  # in the public book
        cancelled = await c.ok("DELETE", "/fapi/v3/order", {"symbol": ETH, "orderId": a["orderId"]})
        assert cancelled["status"] == "CANCELED"
        assert (
            await c.err("DELETE", "/fapi/v3/order", {"symbol": ETH, "orderId": a["orderId"]})
            == -2011
        )
        assert await c.err("DELETE", "/fapi/v3/order", {"symbol": ETH, "orderId": 1}) == -2011
        assert await c.err("GET", "/fapi/v3/order", {"symbol": ETH, "orderId": 1}) == -2013
        assert await c.err("PUT", "/fapi/v3/order", {"symbol": ETH, "orderId": a["orderId"],
                                                     "quantity": "0.2", "price": "2991"}) == -2013  # fmt: skip
        batch = [limit("2980", "0.1"), limit("2980", "0.0001"), limit("2970", "0.1")]
        for o in batch:
            del o["symbol"]
            o["symbol"] = ETH
        placed = await c.ok(
            "POST", "/fapi/v3/batchOrders", {"batchOrders": orjson.dumps(batch).decode()}
        )
        assert [p.get("status", p.get("code")) for p in placed] == ["NEW", -1111, "NEW"]
        ids = [placed[0]["orderId"], 12345]
        out = await c.ok(
            "DELETE",
            "/fapi/v3/batchOrders",
            {"symbol": ETH, "orderIdList": orjson.dumps(ids).decode()},
        )
        assert [o.get("status", o.get("code")) for o in out] == ["CANCELED", -2011]
        done = await c.ok("DELETE", "/fapi/v3/allOpenOrders", {"symbol": ETH})
        assert done == {"code": "200", "msg": "The operation of cancel all open order is done."}
        assert fake.open_orders(ALICE.address) == []

    run(body)


def test_fills_positions_trades_income_and_leverage() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        ws = await user_stream(c)
        await c.ok("POST", "/fapi/v3/order", limit("2999", "0.5", newClientOrderId="m1"))
        fake.trade_against(ETH, Side.SELL, D(500), D("2999"))
        trade = await recv(ws, event("ORDER_TRADE_UPDATE", "TRADE"))
        update = await recv(ws, event("ACCOUNT_UPDATE"))
        assert trade["o"]["c"] == "m1" and trade["o"]["m"] is True
        assert update["a"]["P"][0]["pa"] == "0.5"
        assert fake.position(ALICE.address, ETH) == D("0.5")
        trades = await c.ok("GET", "/fapi/v3/userTrades", {"symbol": ETH})
        assert sum(D(t["qty"]) for t in trades) == D("0.5") and trades[0]["id"] == trade["o"]["t"]
        risk = await c.ok("GET", "/fapi/v3/positionRisk", {"symbol": ETH})
        assert risk[0]["positionAmt"] == "0.5"
        fake.set_funding_rate(ETH, D("0.001"))
        fake.settle_funding(ETH)
        fee = await recv(
            ws, lambda d: d.get("e") == "ACCOUNT_UPDATE" and d["a"]["m"] == "FUNDING_FEE"
        )
        assert fee["a"]["P"] == []
        income = await c.ok("GET", "/fapi/v3/income", {"incomeType": "FUNDING_FEE"})
        assert len(income) == 1 and D(income[0]["income"]) < 0  # a long pays a positive rate
        lev = await c.ok("POST", "/fapi/v3/leverage", {"symbol": ETH, "leverage": 10})
        assert lev["leverage"] == 10
        assert await c.err("POST", "/fapi/v3/leverage", {"symbol": ETH, "leverage": 500}) == -4028
        brackets = await c.ok("GET", "/fapi/v3/leverageBracket", {"symbol": ETH})
        assert brackets["brackets"][0]["initialLeverage"] == 125
        # the dead-man switch cancels what rests when it runs out
        await c.ok("POST", "/fapi/v3/order", limit("2950", "0.1"))
        await c.ok("POST", "/fapi/v3/countdownCancelAll", {"symbol": ETH, "countdownTime": 50})
        cancelled = await recv(ws, event("ORDER_TRADE_UPDATE", "CANCELED"))
        assert cancelled["o"]["p"] == "2950.00"
        await ws.close()

    run(body)


# ---------------------------------------------------------------------------- streams


def _replay(
    snapshot: dict[str, Any], diffs: list[dict[str, Any]], until: int
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Applies the diffs with ``u < until`` on the REST snapshot by the venue's procedure
    (drop ``u < lastUpdateId``; the first applied has ``U <= lastUpdateId <= u``; then each
    ``pu`` is the previous ``u``); returns the book and the problems found."""
    last = snapshot["lastUpdateId"]
    bids = {p: q for p, q in snapshot["bids"]}
    asks = {p: q for p, q in snapshot["asks"]}
    problems: list[str] = []
    prev_u: int | None = None
    for msg in diffs:
        if msg["u"] < last or msg["u"] >= until:
            continue
        if prev_u is None:
            if not msg["U"] <= last <= msg["u"]:
                problems.append(f"first event {msg['U']}..{msg['u']} misses {last}")
        elif msg["pu"] != prev_u:
            problems.append(f"pu {msg['pu']} != previous u {prev_u}")
        prev_u = msg["u"]
        for side, book in (("b", bids), ("a", asks)):
            for p, q in msg[side]:
                if D(q) == 0:
                    book.pop(p, None)
                else:
                    book[p] = q
    if prev_u is None:
        problems.append("no diff applied")
    return bids, asks, problems


async def _depth(http: aiohttp.ClientSession, fake: FakeAster) -> dict[str, Any]:
    async with http.get(f"{fake.url}/fapi/v1/depth?symbol={ETH}&limit=1000") as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


async def _diffs_until(
    ws: aiohttp.ClientWebSocketResponse, diffs: list[dict[str, Any]], u: int
) -> None:
    """Reads depth diffs into ``diffs`` until one reaches ``u`` (at most 5 s, 1000 frames)."""
    async with asyncio.timeout(5):
        for _ in range(1000):
            if diffs and diffs[-1]["u"] >= u:
                return
            msg = orjson.loads((await ws.receive()).data)
            if msg.get("e") == "depthUpdate":
                diffs.append(msg)
    raise AssertionError("no diff reached the snapshot")


def test_depth_diffs_chain_against_the_rest_snapshot_and_a_gap_shows() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        ws = await http.ws_connect(f"{fake.ws_url}/ws/ethusdt@depth@100ms")
        diffs: list[dict[str, Any]] = []
        first = await _depth(http, fake)
        await c.ok("POST", "/fapi/v3/order", limit("2990.05", "0.3"))
        fake.move_price(ETH, D(3003))
        await asyncio.sleep(0.05)
        fake.move_price(ETH, D("2998.5"))
        fake.trade_against(ETH, Side.BUY, D(2))
        await asyncio.sleep(0.05)
        second = await _depth(http, fake)
        await _diffs_until(ws, diffs, second["lastUpdateId"])
        bids, asks, problems = _replay(first, diffs, second["lastUpdateId"])
        assert problems == []
        assert (bids, asks) == (
            {p: q for p, q in second["bids"]},
            {p: q for p, q in second["asks"]},
        )
        assert bids["2990.05"] == "0.300"  # our own order is in the public book
        # a diff the venue drops breaks the pu chain
        last_u = diffs[-1]["u"]
        fake.skip_depth_update(ETH)
        fake.move_price(ETH, D(3001))
        await _diffs_until(ws, diffs, last_u + 2)
        assert diffs[-1]["pu"] == last_u + 1 != diffs[-2]["u"]
        await ws.close()

    run(body)


def test_subscribe_frames_combined_streams_book_ticker_and_mark_price() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        ws = await http.ws_connect(f"{fake.ws_url}/ws")
        await ws.send_json(
            {"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker", "ethusdt@markPrice"], "id": 7}
        )
        assert await recv(ws, lambda d: "id" in d) == {"result": None, "id": 7}
        fake.move_price(ETH, D(3010))
        ticker = await recv(ws, lambda d: d.get("e") == "bookTicker")
        assert (ticker["s"], ticker["b"], ticker["a"]) == (ETH, "3010.00", "3010.10")
        mark = await recv(ws, lambda d: d.get("e") == "markPriceUpdate")
        assert (mark["s"], mark["p"]) == (ETH, "3010")
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        listed = await recv(ws, lambda d: d.get("id") == 8)
        assert listed["result"] == ["ethusdt@bookTicker", "ethusdt@markPrice"]
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["ethusdt@markPrice"], "id": 9})
        assert await recv(ws, lambda d: d.get("id") == 9) == {"result": None, "id": 9}
        await ws.send_json({"method": "SUBSCRIBE", "params": ["nosuch@depth"], "id": 10})
        assert (await recv(ws, lambda d: d.get("id") == 10))["code"] == 2
        await ws.close()
        # combined: market and user data on one socket, wrapped with their stream names
        key = (await c.ok("POST", "/fapi/v3/listenKey"))["listenKey"]
        combined = await http.ws_connect(f"{fake.ws_url}/stream?streams=ethusdt@depth@100ms/{key}")
        await c.ok("POST", "/fapi/v3/order", limit("2990", "0.1"))
        user = await recv(combined, lambda d: d["stream"] == key)
        assert user["data"]["e"] == "ORDER_TRADE_UPDATE"
        depth = await recv(combined, lambda d: d["stream"] == "ethusdt@depth@100ms")
        assert depth["data"]["e"] == "depthUpdate"
        await combined.close()

    run(body)


def test_the_server_pings_and_drops_a_client_that_does_not_pong() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        mute = await http.ws_connect(f"{fake.ws_url}/ws/ethusdt@markPrice", autoping=False)
        polite = await http.ws_connect(f"{fake.ws_url}/ws/ethusdt@markPrice")
        box: list[dict[str, Any]] = []

        async def read() -> None:  # reading is what makes aiohttp answer pings
            async for msg in polite:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    box.append(orjson.loads(msg.data))

        reader = asyncio.create_task(read())
        seen: list[aiohttp.WSMsgType] = []
        async with asyncio.timeout(5):
            for _ in range(100):
                msg = await mute.receive()
                seen.append(msg.type)
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.CLOSING,
                ):
                    break
        assert aiohttp.WSMsgType.PING in seen and seen[-1] is not aiohttp.WSMsgType.PING
        await asyncio.sleep(0.5)  # more pings than the mute client lived through
        assert fake.ws_connections == 1  # the client that pongs stays
        await polite.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        async with asyncio.timeout(3):
            while not any(m.get("id") == 1 for m in box):
                await asyncio.sleep(0.01)
        assert [m["result"] for m in box if m.get("id") == 1] == [["ethusdt@markPrice"]]
        await polite.close()
        await reader

    run(body, ping_interval_s=0.2)


def test_listen_key_lifecycle_expiry_and_events_ordered_by_e() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        key = (await c.ok("POST", "/fapi/v3/listenKey"))["listenKey"]
        assert (await c.ok("POST", "/fapi/v3/listenKey"))["listenKey"] == key  # same key, extended
        assert (await c.ok("PUT", "/fapi/v3/listenKey"))["listenKey"] == key
        ws = await http.ws_connect(f"{fake.ws_url}/ws/{key}")
        await c.ok("POST", "/fapi/v3/order", limit("3001", "0.1", "GTX"))
        await c.ok(
            "POST",
            "/fapi/v3/order",
            {"symbol": ETH, "side": "SELL", "type": "MARKET", "quantity": "0.2"},
        )
        events = [
            await recv(ws, lambda d: d.get("e") in ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"))
            for _ in range(4)
        ]
        assert [e["E"] for e in events] == sorted(e["E"] for e in events)
        assert [e["o"]["x"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"] == [
            "NEW",
            "EXPIRED",
            "TRADE",
        ]
        assert fake.expire_listen_key(ALICE.address) == 1
        expired = await recv(ws, lambda d: d.get("e") == "listenKeyExpired")
        assert expired["listenKey"] == key
        assert await c.err("PUT", "/fapi/v3/listenKey") == -1125
        # and by itself, when no keepalive comes in time
        short = (await c.ok("POST", "/fapi/v3/listenKey"))["listenKey"]
        ws2 = await http.ws_connect(f"{fake.ws_url}/ws/{short}")
        assert (await recv(ws2, lambda d: d.get("e") == "listenKeyExpired", 5))[
            "listenKey"
        ] == short
        await ws.close()
        await ws2.close()

    run(body, listen_key_ttl_s=0.3)


# ---------------------------------------------------------------------------- faults


def test_429_and_5xx_are_refused_before_the_venue() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        status, answer = await c.call("POST", "/fapi/v3/order", limit("2990", "0.1"))
        assert (status, answer["code"]) == (429, -1003)
        async with http.post(f"{fake.url}/fapi/v3/order", data=sign_v3(limit("2990", "0.1"))) as r:
            assert r.status == 502
        assert fake.open_orders(ALICE.address) == []
        assert (await c.ok("POST", "/fapi/v3/order", limit("2990", "0.1")))["status"] == "NEW"

    run(
        body,
        faults=WireFaults(1)
        .rate_limit(1, kinds=("exchange",))
        .server_error(1, kinds=("exchange",)),
    )


def test_a_lost_answer_leaves_the_order_placed() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        raw = sign_v3(limit("2990", "0.1", newClientOrderId="lost-1"))
        try:
            async with http.post(
                f"{fake.url}/fapi/v3/order",
                data=raw,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as r:
                await r.read()
            raise AssertionError("the answer was not lost")
        except aiohttp.ClientError:
            pass
        got = await c.ok("GET", "/fapi/v3/order", {"symbol": ETH, "origClientOrderId": "lost-1"})
        assert got["status"] == "NEW"

    run(body, faults=WireFaults(1).lose_answer(1, reset=True))


def test_accepted_then_cancelled_by_the_venue() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        ws = await user_stream(c)
        placed = await c.ok("POST", "/fapi/v3/order", limit("2990", "0.1"))
        assert placed["status"] == "NEW"
        gone = await recv(ws, event("ORDER_TRADE_UPDATE", "CANCELED"))
        assert gone["o"]["i"] == placed["orderId"]
        got = await c.ok("GET", "/fapi/v3/order", {"symbol": ETH, "orderId": placed["orderId"]})
        assert got["status"] == "CANCELED"
        await ws.close()

    run(body, faults=WireFaults(1).accept_then_cancel(1, delay_s=0.05))


def test_the_cancel_fill_race_answers_2011_and_the_fill_comes_after() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        ws = await user_stream(c)
        placed = await c.ok("POST", "/fapi/v3/order", limit("2995", "0.2"))
        await recv(ws, event("ORDER_TRADE_UPDATE", "NEW"))
        fake.faults.cancel_fill_race(1, event_delay_s=0.2)
        assert (
            await c.err("DELETE", "/fapi/v3/order", {"symbol": ETH, "orderId": placed["orderId"]})
            == -2011
        )
        got = await c.ok("GET", "/fapi/v3/order", {"symbol": ETH, "orderId": placed["orderId"]})
        assert (got["status"], got["executedQty"]) == ("FILLED", "0.200")
        trade = await recv(ws, lambda d: d.get("e") == "ORDER_TRADE_UPDATE")  # the next event
        assert (trade["o"]["x"], trade["o"]["X"], trade["o"]["i"]) == (
            "TRADE",
            "FILLED",
            placed["orderId"],
        )
        assert len(fake.fills(ALICE.address)) == 1
        await ws.close()

    run(body)


def test_fills_while_the_socket_is_down_are_in_user_trades_and_silence_holds_events() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        key = (await c.ok("POST", "/fapi/v3/listenKey"))["listenKey"]
        ws = await http.ws_connect(f"{fake.ws_url}/ws/{key}")
        await c.ok("POST", "/fapi/v3/order", limit("2999", "0.1"))
        await recv(ws, event("ORDER_TRADE_UPDATE", "NEW"))
        assert fake.faults.drop_ws() == 1
        assert (await ws.receive()).type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
            aiohttp.WSMsgType.CLOSE,
        )
        fake.trade_against(ETH, Side.SELL, D(500), D(2999))
        ws = await http.ws_connect(f"{fake.ws_url}/ws/{key}")  # no replay on the stream
        trades = await c.ok("GET", "/fapi/v3/userTrades", {"symbol": ETH})
        assert [t["qty"] for t in trades] == ["0.100"]
        fake.faults.silence_ws()
        await c.ok("POST", "/fapi/v3/order", limit("2980", "0.1", newClientOrderId="quiet"))
        fake.faults.resume_ws()
        await c.ok("POST", "/fapi/v3/order", limit("2980", "0.1", newClientOrderId="heard"))
        first = await recv(ws, lambda d: d.get("e") == "ORDER_TRADE_UPDATE")
        assert first["o"]["c"] == "heard"  # what was sent while silent is lost
        await ws.close()

    run(body)


def test_malformed_numbers_are_refused_with_1100_not_a_server_error() -> None:
    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake)
        assert await c.err("GET", "/fapi/v3/order", {"symbol": ETH, "orderId": "abc"}) == -1100
        ids = {"symbol": ETH, "orderIdList": '["x"]'}
        assert await c.err("DELETE", "/fapi/v3/batchOrders", ids) == -1100
        assert await c.err("POST", "/fapi/v3/order", limit("nan", "0.1")) == -1102

    run(body)


@settings(max_examples=40, deadline=None)
@given(
    st.decimals(min_value=Decimal("2900"), max_value=Decimal("3100"), places=4),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("2"), places=4),
)
def test_orders_rounded_to_the_filters_are_accepted_and_others_refused(
    price: Decimal, qty: Decimal
) -> None:
    """Against the engine-backed rules directly (no sockets): a price on the tick grid from
    ``minPrice`` and a quantity on the step from ``minQty`` pass every filter when the notional
    is enough; anything else gets the venue's code."""
    fake = FakeAster(accounts=[ALICE.address])
    m = fake.state.markets[ETH]
    try:
        fake.trading.check_filters(m, "LIMIT", "BUY", price, qty, False)
        accepted = None
    except ApiError as e:
        accepted = e.code
    on_grid = price % m.tick == 0 and qty % m.step == 0
    if not on_grid:
        assert accepted == -1111
    elif qty < m.min_qty:
        assert accepted == -4004
    elif price > fake.state.mark(ETH) * m.multiplier_up:
        assert accepted == -4016
    elif price * qty < m.min_notional:
        assert accepted == -4164
    else:
        assert accepted is None


def test_the_tick_grid_is_anchored_at_min_price() -> None:
    from hedgekit.testing.fakes.aster import AsterMarket

    odd = AsterMarket(
        "ETHUSDT", "ETH", D("0.05"), D("0.005"), D("0.005"), D(5), D(3000), D("0.05"),
        min_price=D("0.05"),
    )  # fmt: skip
    fake = FakeAster(accounts=[ALICE.address], markets=[odd])
    check = fake.trading.check_filters
    check(odd, "LIMIT", "BUY", D("2999.95"), D("0.01"), False)  # on both grids
    for price, qty, code in (
        (D("2999.97"), D("0.01"), -4014),  # two decimals, off the 0.05 grid
        (D("2999.95"), D("0.012"), -4023),  # three decimals, off the 0.005 step
        (D("2999.95"), D("0.0125"), -1111),
    ):
        try:
            check(odd, "LIMIT", "BUY", price, qty, False)
            raise AssertionError(f"{price} x {qty} passed")
        except ApiError as e:
            assert e.code == code


def test_a_request_stalled_past_its_recv_window_is_refused_and_nothing_placed() -> None:
    """A stall holds the request before the venue sees it; a V1 order whose ``recvWindow``
    has passed by then is refused (-1021), one within it is placed."""

    async def body(fake: FakeAster, http: aiohttp.ClientSession) -> None:
        c = Client(http, fake, api_key="k1", secret="s1")
        fake.faults.stall(1, delay_s=1.5, kinds=("exchange",))
        late = limit("2990", "0.1", timestamp=fake.now_ms(), recvWindow=1000)
        assert await c.err("POST", "/fapi/v1/order", late) == -1021
        assert fake.open_orders(BOB.address) == []
        on_time = limit("2990", "0.1", timestamp=fake.now_ms(), recvWindow=1000)
        assert (await c.ok("POST", "/fapi/v1/order", on_time))["status"] == "NEW"
        assert len(fake.open_orders(BOB.address)) == 1

    run(body, api_keys={"k1": ("s1", BOB.address)})
