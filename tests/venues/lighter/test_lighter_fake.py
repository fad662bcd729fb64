"""The Lighter fake's own rules, streams and faults, driven over the wire with aiohttp on the
test's loop. Transactions are written by hand (the fake accepts any ``Sig``); every test ends
with the fake's records checked against its engines (``lighterkit.run``)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import aiohttp
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lighterkit import (
    ACCOUNT,
    KEY,
    PUBLIC,
    Book,
    Client,
    D,
    cancel,
    cancel_all,
    create,
    modify,
    now_ms,
    order_status,
    recv,
    run,
    token,
    wait_until,
)

from hedgekit import Instrument
from hedgekit.model import Side
from hedgekit.testing.fakes import WireFaults
from hedgekit.testing.fakes.lighter import DEFAULT_MARKETS, FakeLighter, LighterMarket
from hedgekit.testing.fakes.lighter.state import LighterState
from hedgekit.testing.fakes.lighter.txs import Transactions
from hedgekit.testing.fakes.lighter.wire import ORDER_INDEX_BASE, TxError, check_auth

CREATE, CANCEL, CANCEL_ALL, MODIFY, LEVERAGE = 14, 15, 16, 17, 20


async def private(c: Client) -> aiohttp.ClientWebSocketResponse:
    """A socket subscribed to the account's orders, trades and positions (with auth)."""
    ws = await c.socket()
    for ch in ("account_all_orders", "account_all_trades", "account_all_positions", "account_tx"):
        snap = await c.subscribe(ws, f"{ch}/{ACCOUNT}", token())
        assert snap["type"] == f"subscribed/{ch}" and snap["channel"] == f"{ch}:{ACCOUNT}"
    return ws


# ---------------------------------------------------------------------------- markets and keys


def test_markets_are_integer_scaled_with_their_minimums() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        details = (await c.read("orderBookDetails"))["order_book_details"]
        eth = details[0]
        assert (eth["symbol"], eth["market_id"], eth["size_decimals"], eth["price_decimals"]) == (
            "ETH", 0, 4, 2,
        )  # fmt: skip
        assert (eth["min_base_amount"], eth["min_quote_amount"]) == ("0.0050", "10.000000")
        assert eth["supported_size_decimals"] == 4 and eth["maintenance_margin_fraction"] == 300
        assert [d["symbol"] for d in details] == ["ETH", "BTC", "SOL"]
        one = await c.read("orderBookDetails", market_id=1)
        assert [d["market_id"] for d in one["order_book_details"]] == [1]
        assert (await c.read("orderBooks"))["order_books"][2]["symbol"] == "SOL"
        status, err = await c.get("orderBookDetails", market_id=9)
        assert status == 400 and err["code"] == 21100

    run(body)


def test_api_keys_are_served_without_0x_and_nonces_per_key() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        keys = (await c.read("apikeys", account_index=ACCOUNT))["api_keys"]
        assert keys == [{"account_index": ACCOUNT, "api_key_index": KEY, "nonce": 0,
                         "public_key": PUBLIC, "transaction_time": keys[0]["transaction_time"]}]  # fmt: skip
        assert await c.nonce() == 0
        status, err = await c.get("nextNonce", account_index=ACCOUNT, api_key_index=4)
        assert (status, err["code"]) == (400, 21108)
        status, err = await c.get("apikeys", account_index=99)
        assert status == 400
        fake.add_api_key(ACCOUNT, 4, "0x" + "cd" * 40, nonce=9)
        status, body4 = await c.get("nextNonce", account_index=ACCOUNT, api_key_index=4)
        assert body4["nonce"] == 9 and await c.nonce() == 0

    run(body)


# ---------------------------------------------------------------------------- the nonce sequence


def test_only_the_next_nonce_is_accepted_and_refusals_do_not_consume_it() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        for wrong in (1, 5, -1):
            status, err = await c.send(CREATE, create(wrong))
            assert status == 400 and err["code"] == (21104 if wrong >= 0 else 21100)
            if wrong >= 0:
                assert "invalid nonce" in err["message"]
        await c.ok(CREATE, create(0))
        assert await c.nonce() == 1
        status, err = await c.send(CREATE, create(0, coi=18))  # a replay
        assert (status, err["code"], err["message"]) == (400, 21104, "invalid nonce")
        assert fake.advance_nonce(ACCOUNT, KEY, 3) == 4  # another client used the key
        status, err = await c.send(CREATE, create(1, coi=18))
        assert err["code"] == 21104
        await c.ok(CREATE, create(await c.nonce(), coi=18))
        assert await c.nonce() == 5

    run(body)


def test_the_skip_nonce_attribute_is_honoured() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        await c.ok(CREATE, create(12345, L2TxAttributes={"4": 1}))
        assert await c.nonce() == 0
        status, err = await c.send(CREATE, create(0, coi=18, L2TxAttributes={"4": 2}))
        assert (status, err["code"]) == (400, 21100)
        status, err = await c.send(CREATE, create(0, coi=18, L2TxAttributes={"9": 1}))
        assert err["message"] == "Attribute type is invalid"
        await c.ok(CREATE, create(0, coi=18))
        await fake.settle()
        assert {o.client_order_index for o in fake.open_orders(ACCOUNT)} == {17, 18}

    run(body)


# ---------------------------------------------------------------------------- field validation

_EXPIRY = now_ms() + 28 * 86_400_000
REFUSALS: list[tuple[str, dict[str, Any], int]] = [
    ("BaseAmount below min_base_amount", {"BaseAmount": 40}, 21706),
    ("value below min_quote_amount", {"BaseAmount": 50, "Price": 10000}, 21706),
    ("BaseAmount 0", {"BaseAmount": 0}, 21701),
    ("BaseAmount over 2^48-1", {"BaseAmount": 1 << 48}, 21701),
    ("Price 0", {"Price": 0}, 21702),
    ("Price over uint32", {"Price": 1 << 32}, 21702),
    ("TimeInForce 3", {"TimeInForce": 3}, 21705),
    ("MARKET with GTT", {"Type": 1, "TimeInForce": 1}, 21705),
    ("IOC with an expiry", {"TimeInForce": 0, "OrderExpiry": _EXPIRY}, 21711),
    ("GTT without an expiry", {"OrderExpiry": 0}, 21711),
    ("GTT expiring beyond 30 days", {"OrderExpiry": _EXPIRY + 5 * 86_400_000}, 21711),
    ("ClientOrderIndex 2^48", {"ClientOrderIndex": 1 << 48}, 21727),
    ("unknown market", {"MarketIndex": 9}, 21100),
    ("IsAsk 2", {"IsAsk": 2}, 21100),
    ("ReduceOnly 2", {"ReduceOnly": 2}, 21100),
    ("stop-loss type", {"Type": 2}, 21100),
    ("a trigger price on a limit", {"TriggerPrice": 100}, 21100),
    ("a price as a string", {"Price": "299000"}, 21100),
    ("a bool where an int goes", {"IsAsk": False}, 21100),
    ("no signature", {"Sig": ""}, 21100),
    ("ExpiredAt passed", {"ExpiredAt": now_ms() - 1}, 21100),
    ("ExpiredAt two hours ahead", {"ExpiredAt": now_ms() + 7_200_000}, 21100),
    ("an unregistered key", {"ApiKeyIndex": 4}, 21108),
    ("an unknown account", {"AccountIndex": 8}, 21108),
    ("AccountIndex over 2^48-2", {"AccountIndex": (1 << 48) - 1}, 21100),
]


@pytest.mark.parametrize(("case", "change", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_every_field_is_checked_with_the_venues_code(
    case: str, change: dict[str, Any], code: int
) -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        info = create(0, **change)
        if "ExpiredAt" not in change:
            info["ExpiredAt"] = now_ms() + 600_000
        status, err = await c.send(CREATE, info)
        assert (status, err["code"]) == (400, code), (case, err)
        assert await c.nonce() == 0  # nothing consumed
        assert fake.trading.txs == {}

    run(body)


def test_malformed_transactions_and_forms_are_refused() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        assert (await c.send(CREATE, "{not json"))[1]["code"] == 21100
        assert (await c.send(CREATE, "[1, 2]"))[1]["code"] == 21100
        assert (await c.send(99, create(0)))[1]["message"] == "tx type 99 is not supported"
        info = create(0)
        del info["Nonce"]
        assert (await c.send(CREATE, info))[1]["message"] == "Nonce is missing or not an integer"
        async with c.http.post(f"{fake.url}/api/v1/sendTx", data={"tx_type": "14"}) as r:
            assert r.status == 400
        async with c.http.get(f"{fake.url}/api/v1/sendTx") as r:
            assert r.status == 405
        async with c.http.get(f"{fake.url}/api/v1/nothingHere") as r:
            assert r.status == 404
        assert await c.nonce() == 0

    run(body)


def test_a_duplicate_active_client_order_index_is_refused() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        await c.ok(CREATE, create(0, coi=5))
        await fake.settle()
        status, err = await c.send(CREATE, create(1, coi=5))
        assert (status, err["code"]) == (400, 21728)
        await c.ok(CANCEL, cancel(1, 5))
        await fake.settle()
        await c.ok(CREATE, create(2, coi=5))  # free again once the first is inactive

    run(body)


# ---------------------------------------------------------------------------- the order lifecycle


def test_an_order_is_acked_then_opened_and_shows_in_the_public_book_until_cancelled() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        book_ws = await c.socket()
        book = Book(await c.subscribe(book_ws, "order_book/0"))
        tx_hash = await c.ok(CREATE, create(0, coi=17, base=2500, price=299955))
        tx = await c.read("tx", by="hash", value=tx_hash)
        assert tx["type"] == 14 and tx["status"] in (1, 2)
        opened = await order_status(ws, coi=17)
        assert (opened["status"], opened["price"], opened["initial_base_amount"]) == (
            "open", "2999.55", "0.2500",
        )  # fmt: skip
        assert opened["order_index"] >= ORDER_INDEX_BASE and opened["side"] == "buy"
        assert opened["time_in_force"] == "good-till-time" and opened["is_ask"] is False
        executed = await recv(ws, lambda m: m.get("type") == "update/account_tx")
        assert executed["txs"][0]["hash"] == tx_hash and executed["txs"][0]["status"] == 2

        async def level() -> D:
            while True:
                upd = await recv(book_ws, lambda m: m.get("type") == "update/order_book")
                assert book.apply(upd)
                if book.bids.get(D("2999.55")) is not None or book.applied > 200:
                    return book.bids.get(D("2999.55"), D(0))

        assert await level() == D("0.2500")
        rows = (await c.read("orderBookOrders", market_id=0, limit=50))["bids"]
        assert any(r["order_index"] == opened["order_index"] for r in rows)
        auth = token()
        active = await c.read("accountActiveOrders", account_index=ACCOUNT, market_id=0, auth=auth)
        assert [o["client_order_index"] for o in active["orders"]] == [17]

        await c.ok(CANCEL, cancel(1, opened["order_index"]))
        assert (await order_status(ws, coi=17))["status"] == "canceled"
        while D("2999.55") in book.bids:
            upd = await recv(book_ws, lambda m: m.get("type") == "update/order_book")
            assert book.apply(upd)
        inactive = await c.read("accountInactiveOrders", account_index=ACCOUNT, limit=10, auth=auth)
        assert [(o["client_order_index"], o["status"]) for o in inactive["orders"]] == [
            (17, "canceled")
        ]
        await ws.close()
        await book_ws.close()

    run(body)


def test_post_only_that_would_cross_is_accepted_then_canceled_post_only() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        status, answer = await c.send(CREATE, create(0, coi=3, price=300500, tif=2))
        assert (status, answer["code"]) == (200, 200)  # the API acks the tx, not the order
        assert (await order_status(ws, coi=3))["status"] == "open"
        assert (await order_status(ws, coi=3))["status"] == "canceled-post-only"
        await fake.settle()
        assert fake.fills(ACCOUNT) == [] and fake.position(ACCOUNT, "ETH") == 0
        await c.ok(CREATE, create(1, coi=4, price=299000, tif=2))
        assert (await order_status(ws, coi=4))["status"] == "open"
        await ws.close()

    run(body)


def test_a_market_order_fills_with_its_trade_and_position_and_a_hopeless_one_is_cancelled() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        await c.ok(CREATE, create(0, coi=9, base=2500, price=301000, kind=1, tif=0))
        trades = await recv(ws, lambda m: m.get("type") == "update/account_all_trades")
        (trade,) = trades["trades"]["0"]
        assert (trade["size"], trade["price"], trade["bid_account_id"]) == (
            "0.2500",
            "3000.10",
            ACCOUNT,
        )
        assert trade["bid_client_id"] == 9 and trade["is_maker_ask"] is True
        assert isinstance(trade["trade_id"], int)
        pos = await recv(ws, lambda m: m.get("type") == "update/account_all_positions")
        assert pos["positions"]["0"]["position"] == "0.2500" and pos["positions"]["0"]["sign"] == 1
        await fake.settle()
        (rec,) = fake.account(ACCOUNT).orders.values()
        assert rec.status == "filled" and fake.position(ACCOUNT, "ETH") == D("0.25")
        # a market sell whose worst price is above every bid cannot fill
        await c.ok(CREATE, create(1, coi=10, base=2500, price=310000, ask=1, kind=1, tif=0))
        assert (await order_status(ws, coi=10))["status"] == "canceled-too-much-slippage"
        auth = token()
        mine = await c.read(
            "trades", account_index=ACCOUNT, sort_by="timestamp", limit=10, auth=auth
        )
        assert [t["trade_id"] for t in mine["trades"]] == [trade["trade_id"]]
        await ws.close()

    run(body)


def test_resting_orders_fill_from_outside_flow_in_pieces() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        await c.ok(CREATE, create(0, coi=1, base=10000, price=300000))  # 1.0 at the best bid
        assert (await order_status(ws, coi=1))["status"] == "open"
        fake.trade_against("ETH", Side.SELL, D(5) + D("0.4"))  # the queue ahead, then 0.4
        part = await order_status(ws, coi=1)
        assert (part["status"], part["filled_base_amount"], part["remaining_base_amount"]) == (
            "open", "0.4000", "0.6000",
        )  # fmt: skip
        fake.trade_against("ETH", Side.SELL, D(1))
        done = await order_status(ws, coi=1)
        assert (done["status"], done["filled_base_amount"]) == ("filled", "1.0000")
        assert sum(D(t["size"]) for t in fake.fills(ACCOUNT)) == D(1)
        acct = (await c.read("account", by="index", value=ACCOUNT))["accounts"][0]
        (eth,) = [p for p in acct["positions"] if p["market_id"] == 0]
        assert (eth["position"], eth["avg_entry_price"], eth["sign"]) == ("1.0000", "3000.00", 1)
        assert D(2000) < D(eth["liquidation_price"]) < D(3000)  # 1 ETH on $300
        await ws.close()

    run(body, balance=D(300))


def test_modify_moves_an_order_and_a_modify_or_cancel_of_an_inactive_one_fails_in_the_sequencer() -> (
    None
):
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        await c.ok(CREATE, create(0, coi=21, base=2500, price=299000))
        first = await order_status(ws, coi=21)
        await c.ok(MODIFY, modify(1, 21, 5000, 298000))
        moved = await order_status(ws, coi=21)
        assert (moved["price"], moved["remaining_base_amount"]) == ("2980.00", "0.5000")
        assert moved["order_index"] == first["order_index"]
        await c.ok(CANCEL, cancel(2, 21))  # by client order index
        assert (await order_status(ws, coi=21))["status"] == "canceled"
        dead = await c.ok(MODIFY, modify(3, first["order_index"], 5000, 297000))
        again = await c.ok(CANCEL, cancel(4, first["order_index"]))
        never = await c.ok(CANCEL, cancel(5, 999))
        await fake.settle()
        for h in (dead, again, never):
            tx = await c.read("tx", by="hash", value=h)
            assert tx["status"] == 0 and "21600" in tx["event_info"]
        assert await c.nonce() == 6  # a failed transaction used its nonce

    run(body)


def test_cancel_of_an_inactive_order_can_be_refused_by_the_api() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        status, err = await c.send(CANCEL, cancel(0, 123))
        assert (status, err["code"]) == (400, 21715)
        assert await c.nonce() == 0

    run(body, cancel_unknown_sync=True)


def test_cancel_all_now_and_scheduled() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        for n in range(3):
            await c.ok(CREATE, create(n, coi=n + 1, price=299000 - n * 100))
        await fake.settle()
        assert len(fake.open_orders(ACCOUNT)) == 3
        await c.ok(CANCEL_ALL, cancel_all(3))
        await fake.settle()
        assert fake.open_orders(ACCOUNT) == []
        assert (await c.send(CANCEL_ALL, cancel_all(4, tif=1, when=now_ms() + 1000)))[1][
            "code"
        ] == 21100  # at least 5 minutes ahead
        await c.ok(CREATE, create(4, coi=9))
        await c.ok(CANCEL_ALL, cancel_all(5, tif=1, when=now_ms() + 400_000))
        await fake.settle()
        acct = fake.account(ACCOUNT)
        assert acct.cancel_all_ms > 0 and len(fake.open_orders(ACCOUNT)) == 1
        acct.cancel_all_ms = now_ms()  # the switch's time comes
        await wait_until(lambda: fake.open_orders(ACCOUNT) == [])

    run(body)


def test_an_order_ends_canceled_expired_at_its_expiry() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        await c.ok(CREATE, create(0, coi=6, expiry=now_ms() + 300))
        assert (await order_status(ws, coi=6))["status"] == "open"
        assert (await order_status(ws, coi=6))["status"] == "canceled-expired"
        assert fake.open_orders(ACCOUNT) == []
        await ws.close()

    run(body)


def test_reduce_only_that_would_increase_the_position_is_cancelled_by_the_sequencer() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        h = await c.ok(CREATE, create(0, coi=2, reduce_only=1))
        assert (await order_status(ws, coi=2))["status"] == "canceled-reduce-only"
        await fake.settle()
        assert "21732" in (await c.read("tx", by="hash", value=h))["event_info"]
        inactive = await c.read(
            "accountInactiveOrders", account_index=ACCOUNT, limit=5, auth=token()
        )
        assert inactive["orders"][0]["status"] == "canceled-reduce-only"
        await ws.close()

    run(body)


def test_leverage_updates_and_batches() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        lev = {"AccountIndex": ACCOUNT, "ApiKeyIndex": KEY, "MarketIndex": 0,
               "InitialMarginFraction": 1000, "MarginMode": 0, "ExpiredAt": now_ms() + 60_000,
               "Nonce": 0, "Sig": "x", "L2TxAttributes": None}  # fmt: skip
        await c.ok(LEVERAGE, lev)
        status, answer = await c.batch([CREATE] * 3, [create(n, coi=n + 1) for n in (1, 2, 3)])
        assert status == 200 and len(answer["tx_hash"]) == 3
        status, err = await c.batch([CREATE] * 2, [create(4, coi=7), create(6, coi=8)])
        assert (status, err["code"]) == (400, 21104)  # all or nothing
        status, err = await c.batch([CREATE] * 51, [create(4 + n, coi=n + 10) for n in range(51)])
        assert status == 400
        await fake.settle()
        assert await c.nonce() == 4 and len(fake.open_orders(ACCOUNT)) == 3
        acct = (await c.read("account", by="index", value=ACCOUNT))["accounts"][0]
        assert acct["positions"][0]["initial_margin_fraction"] == "10.00"

    run(body)


# ---------------------------------------------------------------------------- auth


def test_private_reads_and_channels_need_a_valid_auth_token() -> None:
    assert check_auth(token(), now_ms()) == (ACCOUNT, KEY)
    for bad in (None, "", "1:2:3", f"{now_ms()}:7:3:zz", "10:7:3:" + "ab" * 40):
        with pytest.raises(TxError):
            check_auth(bad, now_ms())

    async def body(fake: FakeLighter, c: Client) -> None:
        for auth in (None, "nope", token(ttl_s=-5), token(account=8), token(key=4)):
            params: dict[str, Any] = {"account_index": ACCOUNT, "limit": 5}
            if auth is not None:
                params["auth"] = auth
            status, _ = await c.get("accountInactiveOrders", **params)
            assert status == 401, auth
        async with c.http.get(
            f"{fake.url}/api/v1/accountActiveOrders",
            params={"account_index": ACCOUNT},
            headers={"authorization": token()},
        ) as r:
            assert r.status == 200
        ws = await c.socket()
        err = await c.subscribe(ws, f"account_all_orders/{ACCOUNT}")
        assert err["error"]["code"] == 20013
        err = await c.subscribe(ws, f"account_all_trades/{ACCOUNT}", token(account=8))
        assert "error" in err
        ok = await c.subscribe(ws, f"account_all/{ACCOUNT}")  # public: no token needed
        assert ok["type"] == "subscribed/account_all" and ok["channel"] == f"account_all:{ACCOUNT}"
        await ws.close()

    run(body)


# ---------------------------------------------------------------------------- the socket


def test_the_book_chain_replays_client_side_and_a_break_is_detectable() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await c.socket()
        snap = await c.subscribe(ws, "order_book/0")
        assert snap["channel"] == "order_book:0"  # the colon the SDK splits on
        assert {"offset", "nonce", "begin_nonce"} <= set(snap["order_book"])
        book = Book(snap)
        assert max(book.bids) == D("3000.00") and min(book.asks) == D("3000.10")
        offset = snap["order_book"]["offset"]
        for n in range(5):
            fake.move_price("ETH", D(3000) + D(n + 1))
            upd = await recv(ws, lambda m: m.get("type") == "update/order_book")
            assert upd["channel"] == "order_book:0" and book.apply(upd)
            assert upd["order_book"]["offset"] == offset + n + 1
        rest = await c.read("orderBookOrders", market_id=0, limit=1)
        assert D(rest["bids"][0]["price"]) == max(book.bids)
        assert D(rest["asks"][0]["price"]) == min(book.asks)
        fake.break_book_chain(0)
        fake.move_price("ETH", D(2990))
        upd = await recv(ws, lambda m: m.get("type") == "update/order_book")
        assert not book.apply(upd)  # the gap: resubscribe for a fresh snapshot
        await ws.send_str(orjson.dumps({"type": "unsubscribe", "channel": "order_book/0"}).decode())
        fresh = Book(await c.subscribe(ws, "order_book/0"))
        fake.move_price("ETH", D(2995))
        upd = await recv(ws, lambda m: m.get("type") == "update/order_book")
        assert fresh.apply(upd)
        await ws.close()

    run(body)


def test_subscription_errors_and_client_pings() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await c.socket()
        await c.subscribe(ws, "order_book/1")
        again = await c.subscribe(ws, "order_book/1")
        assert again["error"]["code"] == 30003
        orders = await c.subscribe(ws, f"account_orders/0/{ACCOUNT}", token())
        assert orders["channel"] == f"account_orders:0:{ACCOUNT}"
        for bad in ("order_book/9", "candles/0", "account_all/99", "order_book/x",
                    f"account_orders/9/{ACCOUNT}"):  # fmt: skip
            assert (await c.subscribe(ws, bad))["error"]["code"] == 30005
        await ws.send_str('{"type":"unsubscribe","channel":"order_book/2"}')
        assert (await recv(ws, lambda m: "error" in m))["error"]["code"] == 30002
        await ws.send_str('{"type":"ping"}')
        assert (await recv(ws, lambda m: m.get("type") == "pong")) == {"type": "pong"}
        await ws.send_str("not json")
        assert "error" in await recv(ws, lambda m: "error" in m)
        await ws.close()

    run(body)


def test_a_client_that_does_not_pong_is_closed_1008_no_pong() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        quiet = await c.socket()
        polite = await c.socket()
        assert (await recv(quiet, lambda m: m.get("type") == "ping")) == {"type": "ping"}
        assert (await recv(polite, lambda m: m.get("type") == "ping")) == {"type": "ping"}
        await polite.send_str('{"type":"pong"}')
        async with asyncio.timeout(5):
            msg = await quiet.receive()
            while msg.type is aiohttp.WSMsgType.TEXT:
                msg = await quiet.receive()
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert (msg.data, msg.extra) == (1008, "no pong")
        assert await recv(polite, lambda m: m.get("type") == "ping")
        await polite.send_str('{"type":"pong"}')
        assert not polite.closed
        await polite.close()
        # a silent server neither pings nor closes anyone
        fake.faults.silence_ws()
        quiet = await c.http.ws_connect(fake.ws_url)
        with pytest.raises(TimeoutError):
            await recv(quiet, timeout=0.7)
        assert not quiet.closed
        fake.faults.resume_ws()
        assert await recv(quiet, lambda m: m.get("type") == "ping")
        await quiet.close()

    run(body, ping_interval_s=0.2)


def test_transactions_over_the_socket() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await c.socket()
        tx = {"type": "jsonapi/sendtx", "id": "a1",
              "data": {"tx_type": CREATE, "tx_info": orjson.dumps(create(0)).decode()}}  # fmt: skip
        await ws.send_str(orjson.dumps(tx).decode())
        reply = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtx")
        assert (reply["code"], reply["id"]) == (200, "a1") and len(reply["tx_hash"]) == 80
        await ws.send_str(orjson.dumps(tx).decode())  # the same nonce again
        err = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtx")
        assert err["error"] == {"code": 21104, "message": "invalid nonce"} and err["id"] == "a1"
        batch = {"type": "jsonapi/sendtxbatch", "id": 2,
                 "data": {"tx_types": orjson.dumps([CREATE, CREATE]).decode(),
                          "tx_infos": orjson.dumps([orjson.dumps(create(1, coi=31)).decode(),
                                                    orjson.dumps(create(2, coi=32)).decode()]).decode()}}  # fmt: skip
        await ws.send_str(orjson.dumps(batch).decode())
        reply = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtxbatch")
        assert reply["code"] == 200 and len(reply["tx_hash"]) == 2
        await fake.settle()
        assert {o.client_order_index for o in fake.open_orders(ACCOUNT)} == {17, 31, 32}
        await ws.close()

    run(body)


# ---------------------------------------------------------------------------- faults


def test_429_and_5xx_refuse_before_the_venue_and_lost_answers_are_applied() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        fake.faults.rate_limit(1, kinds=("exchange",)).server_error(1, kinds=("exchange",))
        status, err = await c.send(CREATE, create(0))
        assert (status, err) == (429, {"code": 23000, "message": "Too Many Requests!"})
        status, _ = await c.send(CREATE, create(0))
        assert status == 502
        assert await c.nonce() == 0 and fake.trading.txs == {}
        fake.faults.lose_answer(1, reset=True)
        with pytest.raises(aiohttp.ClientError):
            await c.send(CREATE, create(0))
        await fake.settle()
        assert await c.nonce() == 1 and len(fake.open_orders(ACCOUNT)) == 1  # it landed
        fake.lost_answer_hold_s = 0.3
        fake.faults.lose_answer(1)
        with pytest.raises((aiohttp.ClientError, TimeoutError)):
            async with asyncio.timeout(2):
                await c.send(CREATE, create(1, coi=18))
        await fake.settle()
        assert await c.nonce() == 2
        fake.faults.rate_limit(1, kinds=("info",))
        assert (await c.get("nextNonce", account_index=ACCOUNT, api_key_index=KEY))[0] == 429

    run(body)


def test_socket_posts_meet_the_faults() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await c.socket()
        fake.faults.rate_limit(1, kinds=("ws_post",)).lose_answer(1, kinds=("ws_post",))

        def tx(n: int) -> str:
            return orjson.dumps({"type": "jsonapi/sendtx", "id": n, "data": {
                "tx_type": CREATE, "tx_info": create(n, coi=n + 1)}}).decode()  # fmt: skip

        await ws.send_str(tx(0))
        err = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtx")
        assert err["error"]["code"] == 23000
        await ws.send_str(tx(0))  # applied, no answer
        await ws.send_str(tx(1))
        reply = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtx")
        assert reply["id"] == 1 and reply["code"] == 200
        await fake.settle()
        assert len(fake.open_orders(ACCOUNT)) == 2
        await ws.close()

    run(body)


def test_dropped_and_silent_sockets_and_fills_while_disconnected() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        await c.ok(CREATE, create(0, coi=1, base=10000, price=300000))
        assert (await order_status(ws, coi=1))["status"] == "open"
        assert fake.faults.drop_ws() == 1
        with pytest.raises(ConnectionError):
            await recv(ws, lambda _m: False)  # whatever was in flight, then the end
        fake.trade_against("ETH", Side.SELL, D(6))  # fills while nobody listens
        ws2 = await c.socket()
        snap = await c.subscribe(ws2, f"account_all/{ACCOUNT}")
        assert [t["size"] for t in snap["trades"]["0"]] == ["1.0000"]
        assert snap["positions"]["0"]["position"] == "1.0000"
        fake.faults.silence_ws()
        fake.trade_against("ETH", Side.BUY, D(1))
        with pytest.raises(TimeoutError):
            await recv(ws2, timeout=0.3)
        fake.faults.resume_ws()
        fake.move_price("ETH", D(3005))
        ws3 = await c.socket()
        assert ws3 is not None
        await ws2.close()
        await ws3.close()

    run(body)


def test_orders_accepted_then_cancelled_by_the_venue() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        fake.cancel_next_orders(1, "canceled-too-much-slippage")
        fake.cancel_next_orders(1, "canceled-post-only")
        await c.ok(CREATE, create(0, coi=1))
        assert (await order_status(ws, coi=1))["status"] == "open"
        assert (await order_status(ws, coi=1))["status"] == "canceled-too-much-slippage"
        await c.ok(CREATE, create(1, coi=2, tif=2))
        assert (await order_status(ws, coi=2))["status"] == "open"
        assert (await order_status(ws, coi=2))["status"] == "canceled-post-only"
        fake.faults.accept_then_cancel(1, delay_s=0.05)
        await c.ok(CREATE, create(2, coi=3))
        assert (await order_status(ws, coi=3))["status"] == "open"
        assert (await order_status(ws, coi=3))["status"] == "canceled"
        with pytest.raises(ValueError, match="canceled"):
            fake.cancel_next_orders(1, "filled")
        await fake.settle()
        assert fake.fills(ACCOUNT) == []
        await ws.close()

    run(body)


def test_the_cancel_fill_race_fills_first_and_sends_the_fill_after_the_answer() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        ws = await private(c)
        await c.ok(CREATE, create(0, coi=4, base=5000, price=299000))
        assert (await order_status(ws, coi=4))["status"] == "open"
        fake.faults.cancel_fill_race(1, event_delay_s=0.3)
        h = await c.ok(CANCEL, cancel(1, 4))  # accepted: the venue acks the tx
        assert fake.position(ACCOUNT, "ETH") == D("0.5")  # filled already
        tx = await recv(
            ws, lambda m: m.get("type") == "update/account_tx" and m["txs"][0]["hash"] == h
        )
        assert tx["txs"][0]["status"] == 0 and "21600" in tx["txs"][0]["event_info"]
        # the fill's events come only after the answer and the tx's failure
        assert (await order_status(ws, coi=4))["status"] == "filled"
        trades = await recv(ws, lambda m: m.get("type") == "update/account_all_trades")
        assert trades["trades"]["0"][0]["size"] == "0.5000"
        assert len(fake.fills(ACCOUNT)) == 1
        await ws.close()

    run(body)


# ---------------------------------------------------------------------------- funding


def test_funding_is_paid_on_positions_and_recorded() -> None:
    async def body(fake: FakeLighter, c: Client) -> None:
        await c.ok(CREATE, create(0, coi=1, base=10000, price=301000, kind=1, tif=0))
        await fake.settle()
        fake.set_funding_rate("ETH", D("0.0001"))
        fake.settle_funding("ETH")
        rows = (await c.read("positionFunding", account_index=ACCOUNT, auth=token()))[
            "position_fundings"
        ]
        (row,) = rows
        assert (row["market_id"], row["position_side"], row["rate"]) == (0, "long", "0.0001")
        assert D(row["change"]) < 0  # a long pays a positive rate
        history = (await c.read("fundings", market_id=0, resolution="1h", start_timestamp=0,
                                end_timestamp=now_ms(), count_back=5))["fundings"]  # fmt: skip
        assert history[-1]["direction"] == "long" and D(history[-1]["rate"]) == D("0.01")
        rates = (await c.read("funding-rates"))["funding_rates"]
        assert rates[0]["exchange"] == "lighter" and rates[0]["market_id"] == 0
        acct = (await c.read("account", by="index", value=ACCOUNT))["accounts"][0]
        assert D(acct["positions"][0]["total_funding_paid_out"]) > 0

    run(body)


# ---------------------------------------------------------------------------- the command line


def test_the_cli_serves_a_fake_and_prints_its_url() -> None:
    args = [sys.executable, "-m", "hedgekit", "fake", "lighter", "--port", "0", "--account-index",
            "7", "--api-key-index", "3", "--public-key", "0x" + PUBLIC, "--balance", "5000"]  # fmt: skip
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("http://127.0.0.1:")

            async def check() -> None:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                    query = {"account_index": "7"}
                    async with http.get(f"{line}/api/v1/apikeys", params=query) as r:
                        keys = (await r.json())["api_keys"]
                    query = {"by": "index", "value": "7"}
                    async with http.get(f"{line}/api/v1/account", params=query) as r:
                        acct = (await r.json())["accounts"][0]
                assert keys[0]["public_key"] == PUBLIC and keys[0]["api_key_index"] == 3
                assert D(acct["collateral"]) == D(5000)

            asyncio.run(check())
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_the_cli_refuses_a_key_without_an_account() -> None:
    args = [sys.executable, "-m", "hedgekit", "fake", "lighter", "--public-key", "0xab"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--account-index and --public-key" in done.stderr


# ---------------------------------------------------------------------------- the core's rules


@settings(max_examples=300, deadline=None)
@given(
    market=st.sampled_from(DEFAULT_MARKETS),
    base=st.one_of(st.integers(1, 200), st.integers(1, 10**7)),
    price=st.one_of(st.integers(1, 10**6), st.integers(1, (1 << 32) + 10)),
)
def test_the_core_lighter_rules_and_the_fake_agree_on_every_order(
    market: LighterMarket, base: int, price: int
) -> None:
    """An order the core's ``Instrument.lighter`` finds placeable is accepted by the fake, one it
    refuses for a minimum is refused with 21706, a price beyond uint32 with 21702: no order the
    core passes meets a refusal."""
    state = LighterState(DEFAULT_MARKETS, D(100_000))
    state.add_api_key(ACCOUNT, KEY, PUBLIC)
    trading = Transactions(state, WireFaults())
    rules = Instrument.lighter(
        market.price_decimals, market.size_decimals, market.min_base_amount,
        market.min_quote_amount,
    )  # fmt: skip
    reason = rules.rejection(market.price_of(price), market.size_of(base), False)
    info = create(0, market=market.market_id, base=base, price=price, L2TxAttributes={"4": 1})
    try:
        trading.accept(CREATE, orjson.dumps(info).decode(), now_ms())
        code = 200
    except TxError as e:
        code = e.code
    assert (reason is None) == (code == 200), (reason, code)
    if reason in ("below_min_size", "below_min_notional"):
        assert code == 21706
    elif reason is not None:
        assert reason == "out_of_range" and code == 21702 and price >= 1 << 32


def test_a_transaction_stalled_past_its_expired_at_is_refused_by_rest_and_socket() -> None:
    """A stall holds the request before the venue sees it; a transaction whose ``ExpiredAt``
    has passed by then is refused and its nonce stays unused, one within it is accepted."""

    async def body(fake: FakeLighter, c: Client) -> None:
        fake.faults.stall(1, delay_s=1.5, kinds=("exchange",))
        status, err = await c.send(CREATE, create(0, ExpiredAt=now_ms() + 1000))
        assert (status, err["code"], err["message"]) == (400, 21100, "ExpiredAt is invalid")
        assert await c.nonce() == 0
        ws = await c.socket()
        fake.faults.stall(1, delay_s=1.5, kinds=("ws_post",))
        for n, ahead_ms in (("late", 1000), ("in-time", 600_000)):
            info = create(0, ExpiredAt=now_ms() + ahead_ms)
            tx = {"type": "jsonapi/sendtx", "id": n,
                  "data": {"tx_type": CREATE, "tx_info": orjson.dumps(info).decode()}}  # fmt: skip
            await ws.send_str(orjson.dumps(tx).decode())
        first = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtx")
        assert (first["id"], first["code"]) == ("in-time", 200)  # not held up by the stall
        late = await recv(ws, lambda m: m.get("type") == "jsonapi/sendtx")
        assert late["id"] == "late" and late["error"]["message"] == "ExpiredAt is invalid"
        await fake.settle()
        assert len(fake.open_orders(ACCOUNT)) == 1
        await ws.close()

    run(body)
