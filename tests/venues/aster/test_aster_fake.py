"""The Aster fake's own rules, signatures, streams and faults, driven over the wire with aiohttp
on the test's loop (V3 requests signed by the Rust core's EthSigner, V1 with stdlib hmac)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import aiohttp
import orjson
from asterkit import ALICE, BOB, Client, D, event, next_nonce, recv, run, sign_v3

from hedgekit.model import Side
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.aster.auth import DOMAIN, NonceBook, recover_v3

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
