"""Aster's wire format both ways, on the documented payloads (venues.md §2)."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest

from hedgekit.errors import (
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    UnknownOrderError,
)
from hedgekit.model import Liquidity, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from hedgekit.venues.aster import parse, wire

EXCHANGE_INFO = orjson.loads(
    b"""{"symbols":[{"symbol":"ETHUSDT","pair":"ETHUSDT","contractType":"PERPETUAL","status":"TRADING",
 "baseAsset":"ETH","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,
 "timeInForce":["GTC","IOC","FOK","GTX","HIDDEN"],
 "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"100000","tickSize":"0.01"},
            {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"10000","stepSize":"0.001"},
            {"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"2000","stepSize":"0.001"},
            {"filterType":"MIN_NOTIONAL","notional":"5"},
            {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":4}]},
 {"symbol":"OLDUSDT","contractType":"PERPETUAL","status":"SETTLING","filters":[]},
 {"symbol":"ODDUSDT","contractType":"PERPETUAL","status":"TRADING",
  "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.005","maxPrice":"10","tickSize":"0.01"},
             {"filterType":"LOT_SIZE","minQty":"1","maxQty":"100","stepSize":"1"}]}]}"""
)

ORDER = orjson.loads(
    b"""{"orderId":81234567,"symbol":"ETHUSDT","status":"NEW","clientOrderId":"leg-a-000017","price":"3118.00",
 "avgPrice":"0.00","origQty":"0.250","executedQty":"0","cumQty":"0","cumQuote":"0","timeInForce":"GTX",
 "type":"LIMIT","origType":"LIMIT","reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH",
 "stopPrice":"0","workingType":"CONTRACT_PRICE","priceProtect":false,"updateTime":1760000005000}"""
)

UPDATE = orjson.loads(
    b"""{"e":"ORDER_TRADE_UPDATE","E":1760000006001,"T":1760000006000,
 "o":{"s":"ETHUSDT","c":"leg-a-000017","S":"BUY","o":"LIMIT","f":"GTX","q":"0.250","p":"3118.00","ap":"3118.00","sp":"0",
      "x":"TRADE","X":"PARTIALLY_FILLED","i":81234567,"l":"0.100","z":"0.100","L":"3118.00","N":"USDT","n":"0.03118",
      "T":1760000006000,"t":5512345,"b":"467.70","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH",
      "cp":false,"rp":"0"}}"""
)


def cid(c: str, oid: int) -> str:
    return c or f"oid:{oid}"


def test_instruments_from_filters_not_precision() -> None:
    got = parse.instruments("aster", EXCHANGE_INFO, intervals_h={"ETHUSDT": 4})
    assert set(got) == {"ETHUSDT", "ODDUSDT"}  # a settling symbol is not tradable
    eth = got["ETHUSDT"]
    rules = eth.info.rules
    assert (rules.tick_size, rules.step_size) == (Decimal("0.01"), Decimal("0.001"))
    assert (rules.min_qty, rules.min_notional) == (Decimal("0.001"), Decimal(5))
    assert eth.info.funding_interval_s == 4 * 3600
    assert eth.max_qty == Decimal(10000) and eth.market_max_qty == Decimal(2000)
    assert got["ODDUSDT"].info.funding_interval_s == 8 * 3600
    # the grid is anchored at minPrice: 0.005 + k * 0.01
    odd = got["ODDUSDT"]
    assert odd.on_grid(Decimal("1.005")) and not odd.on_grid(Decimal("1.00"))
    assert eth.on_grid(Decimal("3118.01")) and not eth.on_grid(Decimal("3118.015"))


def test_order_params_gtx_limit() -> None:
    req = OrderRequest(
        "ETHUSDT", Side.BUY, Decimal("0.250"), Decimal("3118.00"), "leg-a-000017",
        tif=TimeInForce.POST_ONLY,
    )  # fmt: skip
    assert wire.order_params(req) == [
        ("symbol", "ETHUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTX"),
        ("quantity", "0.25"),
        ("price", "3118"),
        ("newClientOrderId", "leg-a-000017"),
        ("newOrderRespType", "RESULT"),
    ]


def test_order_params_market_reduce_only() -> None:
    req = OrderRequest(
        "ETHUSDT", Side.SELL, Decimal("1E+1"), None, "c1", order_type=OrderType.MARKET,
        reduce_only=True,
    )  # fmt: skip
    p = dict(wire.order_params(req))
    assert p["type"] == "MARKET" and p["quantity"] == "10" and p["reduceOnly"] == "true"
    assert "price" not in p and "timeInForce" not in p


def test_client_order_id_kept_or_hashed_stably() -> None:
    assert wire.client_order_id("leg-a:1/x.y_z") == "leg-a:1/x.y_z"
    long = "an id with spaces that is far too long for the venue"
    mapped = wire.client_order_id(long)
    assert mapped == wire.client_order_id(long)
    assert mapped.startswith("hk-") and len(mapped) == 35
    assert wire.client_order_id(long + "!") != mapped


def test_paths_by_version() -> None:
    assert wire.path("v3", "positionRisk") == "/fapi/v3/positionRisk"
    assert wire.path("v1", "positionRisk") == "/fapi/v2/positionRisk"
    assert wire.path("v1", "account") == "/fapi/v4/account"
    assert wire.path("v1", "order") == "/fapi/v1/order"
    assert wire.user_stream_url("https://fapi.asterdex.com", "K") == "wss://fapi.asterdex.com/ws/K"
    assert (
        wire.stream_url("ws://127.0.0.1:9", ["ethusdt@depth@100ms"])
        == "ws://127.0.0.1:9/stream?streams=ethusdt@depth@100ms"
    )


@pytest.mark.parametrize(
    ("code", "cls", "reason"),
    [
        (-5022, PostOnlyRejectedError, "post_only"),
        (-4164, OrderRejectedError, "min_notional"),
        (-4004, OrderRejectedError, "min_size"),
        (-4014, OrderRejectedError, "off_tick"),
        (-4023, OrderRejectedError, "off_step"),
        (-2019, OrderRejectedError, "insufficient_margin"),
        (-2022, OrderRejectedError, "reduce_only"),
        (-1003, RateLimitedError, "rate_limited"),
        (-1121, OrderRejectedError, "unknown_symbol"),
    ],
)
def test_error_codes(code: int, cls: type[OrderRejectedError], reason: str) -> None:
    err = parse.error_for("aster", code, "text")
    assert type(err) is cls
    assert err.reason == reason


def test_error_unknown_order_and_leverage() -> None:
    assert isinstance(parse.error_for("aster", -2013, "Order does not exist."), UnknownOrderError)
    assert isinstance(parse.error_for("aster", -4028, "x", leverage=True), LeverageRejectedError)
    assert not isinstance(
        parse.error_for("aster", -2019, "x", leverage=True), LeverageRejectedError
    )


def test_status_report_and_post_only_expiry() -> None:
    r = parse.status_report("aster", ORDER, cid)
    assert r.status is OrderStatus.OPEN and r.filled == 0 and r.avg_price is None
    assert (r.client_id, r.venue_order_id) == ("leg-a-000017", "81234567")
    assert r.size == Decimal("0.250") and r.price == Decimal("3118.00")
    assert r.ts_ns == 1760000005000 * 1_000_000
    expired = parse.status_report("aster", {**ORDER, "status": "EXPIRED"}, cid)
    assert expired.status is OrderStatus.EXPIRED and expired.reason == "post_only"
    ioc = parse.status_report("aster", {**ORDER, "status": "EXPIRED", "timeInForce": "IOC"}, cid)
    assert ioc.reason == "EXPIRED"


def test_trade_update_fill() -> None:
    f = parse.fill_from_update("aster", UPDATE["o"], cid)
    assert (f.trade_id, f.venue_order_id, f.client_id) == (5512345, "81234567", "leg-a-000017")
    assert (f.price, f.size, f.fee) == (Decimal("3118.00"), Decimal("0.100"), Decimal("0.03118"))
    assert f.liquidity is Liquidity.MAKER and f.side is Side.BUY
    u = parse.order_update("aster", UPDATE["o"], UPDATE["E"], cid)
    assert u.status is OrderStatus.PARTIALLY_FILLED and u.filled == Decimal("0.100")
    gtx = {**UPDATE["o"], "x": "EXPIRED", "X": "EXPIRED", "z": "0"}
    assert parse.order_update("aster", gtx, 1, cid).reason == "post_only"


def test_user_trade_row() -> None:
    row = {"symbol": "ETHUSDT", "id": 77, "orderId": 5, "side": "SELL", "price": "3100.5",
           "qty": "0.2", "commission": "-0.217", "commissionAsset": "USDT", "time": 1760000000000,
           "maker": False, "buyer": False}  # fmt: skip
    f = parse.fill_from_trade("aster", row, cid)
    assert f.fee == Decimal("0.217") and f.liquidity is Liquidity.TAKER
    assert (f.client_id, f.size, f.side) == ("oid:5", Decimal("0.2"), Side.SELL)


def test_positions_funding_account() -> None:
    pos = parse.positions(
        "aster",
        [
            {"symbol": "ETHUSDT", "positionAmt": "-0.500", "entryPrice": "3000.0",
             "markPrice": "3010.0", "liquidationPrice": "4100.25", "leverage": "10",
             "updateTime": 1},
            {"symbol": "BTCUSDT", "positionAmt": "0.000", "entryPrice": "0.0"},
        ],
    )  # fmt: skip
    assert set(pos) == {"ETHUSDT"}
    p = pos["ETHUSDT"]
    assert (p.size, p.liquidation_price, p.leverage) == (
        Decimal("-0.500"), Decimal("4100.25"), Decimal(10),
    )  # fmt: skip
    rate = parse.funding_rate(
        "aster",
        {"symbol": "ETHUSDT", "lastFundingRate": "0.00010000", "nextFundingTime": 1760025600000,
         "time": 1760000000000},
        4,
    )  # fmt: skip
    assert rate.rate == Decimal("0.0001") and rate.interval_s == 14400
    assert rate.hourly == Decimal("0.000025")
    pay = parse.funding_payment(
        "aster", {"symbol": "ETHUSDT", "incomeType": "FUNDING_FEE", "income": "-0.0123",
                  "asset": "USDT", "time": 1760000000000},
    )  # fmt: skip
    assert pay.amount == Decimal("-0.0123") and pay.ts_ns == 1760000000000 * 1_000_000
    acct = parse.account_state(
        "aster",
        {"totalWalletBalance": "1000.5", "totalMarginBalance": "1002", "availableBalance": "900",
         "totalInitialMargin": "102", "totalMaintMargin": "12.5"},
        now_ns=5,
    )  # fmt: skip
    assert (acct.collateral, acct.equity, acct.available) == (
        Decimal("1000.5"), Decimal(1002), Decimal(900),
    )  # fmt: skip
    assert acct.maintenance_margin == Decimal("12.5") and acct.ts_ns == 5


def test_leverage_brackets() -> None:
    raw = b"""[{"symbol":"ETHUSDT","brackets":[
      {"bracket":1,"initialLeverage":75,"notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.0065,"cum":0},
      {"bracket":2,"initialLeverage":50,"notionalCap":50000,"notionalFloor":10000,"maintMarginRatio":0.01,"cum":35}]}]"""
    rows = json.loads(raw, parse_float=Decimal)
    table = parse.margin_table(rows[0]["brackets"])
    assert table.maintenance_margin(Decimal(20000)) == Decimal(20000) * Decimal("0.01") - 35
    assert table.max_leverage_at(Decimal(5000)) == 75


def test_rate_limits_become_budgets() -> None:
    info = {
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 9},
        ]
    }
    got = {(b.name, b.capacity, b.window_s) for b in parse.rate_budgets(info)}
    assert got == {("ip", 2400, 60.0), ("orders", 1200, 60.0), ("orders-10", 300, 10.0)}
    assert parse.rate_budgets({"rateLimits": []}) == ()
