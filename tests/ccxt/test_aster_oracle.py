"""ccxt against the Aster fake: ``aster`` (V3 API-wallet signing) and ``binanceusdm`` (V1 HMAC)
as the real clients, every request's signature verified by the fake over the bytes it got."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest
from asterkit import D, key_of

from hedgekit._core import EthSigner
from hedgekit.model import Side
from hedgekit.testing.fakes.aster import FakeAster

ETH = "ETH/USDT:USDT"
KEY = key_of("ccxt")
USER = EthSigner(KEY).address
V1_USER = "0x" + "ab" * 20


def aster_client(fake: FakeAster, key: bytes = KEY) -> Any:
    ex = ccxt.aster(
        {"privateKey": "0x" + key.hex(), "options": {"builderFee": False, "defaultType": "swap"}}
    )
    base = fake.url
    ex.urls["api"] = {"fapiPublic": base + "/fapi", "fapiPrivate": base + "/fapi",
                      "sapiPublic": base + "/api", "sapiPrivate": base + "/api"}  # fmt: skip
    return ex


def binance_client(fake: FakeAster, key: str = "k1", secret: str = "s1") -> Any:
    ex = ccxt.binanceusdm({"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}})
    for name, version in (("", "v1"), ("V2", "v2"), ("V3", "v3")):
        ex.urls["api"][f"fapiPublic{name}"] = f"{fake.url}/fapi/{version}"
        ex.urls["api"][f"fapiPrivate{name}"] = f"{fake.url}/fapi/{version}"
    return ex


def run(body: Callable[[FakeAster], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        kwargs.setdefault("accounts", [USER])
        kwargs.setdefault("api_keys", {"k1": ("s1", V1_USER)})
        async with FakeAster(**kwargs) as fake:
            await asyncio.wait_for(body(fake), 60)
            assert fake.state.check_invariants() == []

    asyncio.run(main())


def test_ccxt_aster_trades_through_the_fake_with_v3_signatures() -> None:
    async def body(fake: FakeAster) -> None:
        ex = aster_client(fake)
        try:
            markets = await ex.load_markets()
            assert {"BTC/USDT:USDT", ETH, "SOL/USDT:USDT"} <= set(markets)
            eth = markets[ETH]
            assert (eth["precision"]["price"], eth["limits"]["amount"]["min"]) == (0.01, 0.001)
            book = await ex.fetch_order_book(ETH)
            assert book["bids"][0][0] < book["asks"][0][0]

            gtx = await ex.create_order(
                ETH, "limit", "buy", 0.25, 2990, {"postOnly": True, "clientOrderId": "gtx-1"}
            )
            assert (gtx["status"], gtx["clientOrderId"]) == ("open", "gtx-1")
            assert fake.open_orders(USER)[0].tif == "GTX"
            fetched = await ex.fetch_order(gtx["id"], ETH)
            assert (fetched["price"], fetched["amount"]) == (2990.0, 0.25)
            assert [o["id"] for o in await ex.fetch_open_orders(ETH)] == [gtx["id"]]
            assert (await ex.cancel_order(gtx["id"], ETH))["status"] == "canceled"
            with pytest.raises(ccxt.OrderNotFound):  # -2011: no longer open
                await ex.cancel_order(gtx["id"], ETH)

            ioc = await ex.create_order(
                ETH, "limit", "sell", 0.1, 2950, {"timeInForce": "IOC", "clientOrderId": "ioc-1"}
            )
            mkt = await ex.create_order(ETH, "market", "buy", 0.3, None, {"clientOrderId": "mkt-1"})
            assert fake.position(USER, "ETHUSDT") == D("0.2")
            assert (await ex.fetch_order(ioc["id"], ETH))["status"] == "closed"
            assert (await ex.fetch_order(mkt["id"], ETH))["filled"] == 0.3
            trades = await ex.fetch_my_trades(ETH)
            assert sum(Decimal(str(t["amount"])) for t in trades) == D("0.4")
            assert {t["order"] for t in trades} == {ioc["id"], mkt["id"]}

            positions = await ex.fetch_positions([ETH])
            assert [
                (p["symbol"], p["contracts"], p["side"]) for p in positions if p["contracts"]
            ] == [(ETH, 0.2, "long")]
            balance = await ex.fetch_balance()
            assert 0 < balance["USDT"]["total"] < 100_000  # fees were paid
            assert (await ex.set_leverage(10, ETH))["leverage"] == 10
            assert fake.account(USER).engine.leverage("ETHUSDT") == 10
            # ccxt's aster has no editOrder of its own: it cancels and places anew
            resting = await ex.create_order(ETH, "limit", "buy", 0.1, 2980)
            edited = await ex.edit_order(resting["id"], ETH, "limit", "buy", 0.2, 2981)
            assert edited["id"] != resting["id"]
            assert [(o.price, o.orig_qty) for o in fake.open_orders(USER)] == [(D(2981), D("0.2"))]
        finally:
            await ex.close()
        assert fake.verified["v3"] >= 15

    run(body)


def test_a_stranger_is_refused_by_the_venues_code() -> None:
    async def body(fake: FakeAster) -> None:
        ex = aster_client(fake, key_of("stranger"))
        try:
            await ex.load_markets()
            with pytest.raises(ccxt.AuthenticationError, match="-2015"):
                await ex.fetch_open_orders(ETH)
        finally:
            await ex.close()
        assert fake.verified["v3"] == 0

    run(body)


def test_ccxt_binanceusdm_trades_through_the_fake_with_v1_hmac() -> None:
    async def body(fake: FakeAster) -> None:
        ex = binance_client(fake)
        try:
            await ex.load_markets()
            assert (await ex.fetch_order_book(ETH))["asks"]
            o = await ex.create_order(
                ETH, "limit", "buy", 0.25, 2990, {"timeInForce": "GTX", "clientOrderId": "v1-a"}
            )
            assert fake.open_orders(V1_USER)[0].client_id == "v1-a"
            assert (await ex.fetch_order(o["id"], ETH))["status"] == "open"
            edited = await ex.edit_order(o["id"], ETH, "limit", "buy", 0.3, 2991)  # PUT order
            assert edited["id"] == o["id"]
            assert [(r.price, r.orig_qty) for r in fake.open_orders(V1_USER)] == [
                (D(2991), D("0.3"))
            ]
            assert (await ex.cancel_order(o["id"], ETH))["status"] == "canceled"
            await ex.create_order(ETH, "market", "buy", 0.25)
            fake.trade_against("ETHUSDT", Side.SELL, D(1))
            assert len(await ex.fetch_my_trades(ETH)) >= 1
            assert fake.position(V1_USER, "ETHUSDT") == D("0.25")
            positions = await ex.fetch_positions([ETH])
            assert [p["contracts"] for p in positions if p["contracts"]] == [0.25]
            assert (await ex.fetch_balance())["USDT"]["total"] < 100_000
            assert (await ex.set_leverage(10, ETH))["leverage"] == 10
        finally:
            await ex.close()
        assert fake.verified["v1"] >= 9

        for key, secret, error in (("k1", "wrong", "-1022"), ("nope", "s1", "-2015")):
            bad = binance_client(fake, key, secret)
            try:
                bad.markets = ex.markets
                bad.markets_by_id = ex.markets_by_id
                with pytest.raises(ccxt.AuthenticationError, match=error):
                    await bad.fetch_open_orders(ETH)
            finally:
                await bad.close()

    run(body)
