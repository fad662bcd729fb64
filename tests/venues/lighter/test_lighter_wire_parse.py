"""Lighter's wire format both ways, on the documented payloads (venues.md §3)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs

import orjson
import pytest

from hedgekit.errors import (
    InvalidOrderError,
    OrderRejectedError,
    RateLimitedError,
)
from hedgekit.model import Liquidity, OrderStatus, Side
from hedgekit.venues.lighter import parse, wire

DETAILS = orjson.loads(
    b"""{"code":200,"order_book_details":[
 {"symbol":"ETH","market_id":0,"market_type":"perp","status":"active","taker_fee":"0.0280","maker_fee":"0.0040",
  "liquidation_fee":"1.0000","min_base_amount":"0.0050","min_quote_amount":"10.000000","order_quote_limit":"",
  "supported_size_decimals":4,"supported_price_decimals":2,"supported_quote_decimals":6,"size_decimals":4,
  "price_decimals":2,"quote_multiplier":1,"default_initial_margin_fraction":500,"min_initial_margin_fraction":200,
  "maintenance_margin_fraction":120,"closeout_margin_fraction":80,"last_trade_price":"3118.10"},
 {"symbol":"OLD","market_id":7,"market_type":"perp","status":"inactive","size_decimals":2,"price_decimals":4,
  "min_base_amount":"1","min_quote_amount":"10"}],
 "spot_order_book_details":[{"symbol":"ETH/USDC","market_id":2048,"market_type":"spot","status":"active",
  "size_decimals":4,"price_decimals":2,"min_base_amount":"0.001","min_quote_amount":"1"}]}"""
)

ORDER = orjson.loads(
    b"""{"order_index":281474976710700,"client_order_index":17,"order_id":"281474976710700","client_order_id":"17",
 "market_index":0,"owner_account_index":123456,"initial_base_amount":"0.2500","price":"3118.00","nonce":812,
 "remaining_base_amount":"0.1000","is_ask":false,"base_size":2500,"base_price":311800,"filled_base_amount":"0.1500",
 "filled_quote_amount":"467.700000","side":"","type":"limit","time_in_force":"post-only","reduce_only":false,
 "trigger_price":"0.00","order_expiry":1762419205000,"status":"open","timestamp":1760000005,
 "updated_at":1760000005300}"""
)

TRADE = orjson.loads(
    b"""{"trade_id":9001,"tx_hash":"ab12","type":"trade","market_id":0,"size":"0.1500","price":"3118.00",
 "usd_amount":"467.700000","ask_id":281474976710800,"bid_id":281474976710700,"ask_client_id":0,
 "bid_client_id":17,"ask_account_id":555,"bid_account_id":123456,"is_maker_ask":true,"block_height":1,
 "timestamp":1760000005400,"taker_fee":280,"maker_fee":40}"""
)


def test_instruments_are_exact_integer_grids() -> None:
    insts = parse.instruments("lighter", DETAILS)
    assert list(insts) == ["ETH"]  # the inactive perp and the spot market are left out
    eth = insts["ETH"]
    assert (eth.market_id, eth.price_decimals, eth.size_decimals) == (0, 2, 4)
    rules = eth.info.rules
    assert rules.kind == "lighter"
    assert rules.tick_size == Decimal("0.01")
    assert rules.step_size == Decimal("0.0001")
    assert rules.min_qty == Decimal("0.005")
    assert rules.min_notional == Decimal("10")
    assert eth.info.taker_fee == Decimal("0.00028")  # "0.0280" percent
    assert eth.info.maker_fee == Decimal("0.00004")
    table = eth.margin_table()
    assert table is not None and table.max_leverage_at(Decimal(0)) == Decimal(50)


def test_instruments_can_read_the_supported_decimals() -> None:
    details = orjson.loads(orjson.dumps(DETAILS))
    details["order_book_details"][0]["supported_price_decimals"] = 1
    quirks = parse.LighterQuirks(supported_decimals=True)
    assert parse.instruments("lighter", details, quirks)["ETH"].price_decimals == 1
    assert parse.instruments("lighter", details)["ETH"].price_decimals == 2


def test_scaling_is_exact_and_refuses_off_grid_values() -> None:
    # venues.md §3.2: 0.25 ETH @ 3118.00 with size_decimals 4, price_decimals 2
    assert wire.to_int(Decimal("0.25"), 4, "size", upper=wire.MAX_BASE_AMOUNT) == 2500
    assert wire.to_int(Decimal("3118.00"), 2, "price", upper=wire.MAX_PRICE) == 311800
    assert wire.from_int(311800, 2) == Decimal("3118.00")
    with pytest.raises(InvalidOrderError) as e:
        wire.to_int(Decimal("3118.005"), 2, "price", upper=wire.MAX_PRICE)
    assert e.value.reason == "off_tick"
    with pytest.raises(InvalidOrderError) as e:
        wire.to_int(Decimal("0.00001"), 4, "size", upper=wire.MAX_BASE_AMOUNT)
    assert e.value.reason == "off_step"
    with pytest.raises(InvalidOrderError) as e:
        wire.to_int(Decimal("50000000"), 2, "price", upper=wire.MAX_PRICE)  # > uint32
    assert e.value.reason == "out_of_range"


def test_client_order_index_is_stable_48_bit_and_mapped_both_ways() -> None:
    a = wire.client_order_index("hk-leg-a-1")
    assert a == wire.client_order_index("hk-leg-a-1")
    assert 1 <= a <= wire.MAX_CLIENT_ORDER_INDEX
    assert a != wire.client_order_index("hk-leg-a-2")
    ids = wire.ClientIndexMap()
    n = ids.index("hk-leg-a-1")
    assert n == a and ids.client_id(n) == "hk-leg-a-1"
    assert ids.client_id(42) == "coi:42"  # not ours
    assert ids.index("coi:42") == 42


def test_a_48_bit_collision_is_refused_not_confused() -> None:
    ids = wire.ClientIndexMap()
    n = ids.index("first")
    ids._by_index[wire.client_order_index("second")] = "first"  # force a collision
    with pytest.raises(InvalidOrderError) as e:
        ids.index("second")
    assert e.value.reason == "duplicate_client_id"
    assert ids.client_id(n) == "first"


def test_send_tx_form_carries_the_tx_info_verbatim() -> None:
    info = '{"AccountIndex":1,"Nonce":5,"Sig":"a+b/c="}'
    body = parse_qs(wire.send_tx_form(14, info).decode())
    assert body == {"tx_type": ["14"], "tx_info": [info]}


def test_channels_and_ws_url() -> None:
    assert wire.book_channel(0) == "order_book/0"
    assert wire.account_channel("account_all_trades", 9) == "account_all_trades/9"
    assert orjson.loads(wire.subscribe("account_all_orders/9", "tok")) == {
        "type": "subscribe", "channel": "account_all_orders/9", "auth": "tok",
    }  # fmt: skip
    assert wire.ws_url_for("https://mainnet.zklighter.elliot.ai") == (
        "wss://mainnet.zklighter.elliot.ai/stream"
    )
    assert wire.ws_url_for("http://127.0.0.1:9/") == "ws://127.0.0.1:9/stream"
    assert wire.chain_id_for(wire.TESTNET_URL) == 300
    assert wire.chain_id_for("http://127.0.0.1:9") == 304


@pytest.mark.parametrize(
    ("status", "filled", "ours", "reason"),
    [
        ("open", "0", OrderStatus.OPEN, None),
        ("open", "0.1", OrderStatus.PARTIALLY_FILLED, None),
        ("pending", "0", OrderStatus.OPEN, None),
        ("filled", "0.25", OrderStatus.FILLED, None),
        ("canceled", "0", OrderStatus.CANCELLED, None),
        ("canceled-post-only", "0", OrderStatus.EXPIRED, "post_only"),
        ("canceled-too-much-slippage", "0", OrderStatus.EXPIRED, "slippage"),
        ("canceled-too-much-slippage", "0.1", OrderStatus.CANCELLED, "slippage"),
        ("canceled-margin-not-allowed", "0", OrderStatus.REJECTED, "insufficient_margin"),
        ("canceled-something-new", "0", OrderStatus.CANCELLED, None),
    ],
)
def test_order_statuses(status: str, filled: str, ours: OrderStatus, reason: str | None) -> None:
    assert parse.order_status(status, Decimal(filled)) == (ours, reason)


def test_order_report_of_a_documented_order() -> None:
    r = parse.order_report("lighter", ORDER, "ETH", lambda coi: f"ours-{coi}")
    assert r.client_id == "ours-17"
    assert r.venue_order_id == "281474976710700"
    assert r.side is Side.BUY
    assert (r.size, r.price, r.filled) == (Decimal("0.25"), Decimal("3118"), Decimal("0.15"))
    assert r.status is OrderStatus.PARTIALLY_FILLED
    assert r.avg_price == Decimal("3118")
    assert r.ts_ns == 1760000005300 * 1_000_000


def test_fill_from_a_trade_on_either_side() -> None:
    f = parse.fill_from_trade("lighter", TRADE, "ETH", 123456, lambda c: f"ours-{c}")
    assert f is not None
    assert (f.side, f.client_id, f.venue_order_id, f.trade_id) == (
        Side.BUY, "ours-17", "281474976710700", 9001,
    )  # fmt: skip
    assert f.liquidity is Liquidity.TAKER  # the ask was the maker
    assert f.fee == Decimal("467.7") * 280 / 1_000_000
    other = parse.fill_from_trade("lighter", TRADE, "ETH", 555, lambda c: f"x-{c}")
    assert other is not None and other.side is Side.SELL and other.liquidity is Liquidity.MAKER
    assert parse.fill_from_trade("lighter", TRADE, "ETH", 1, str) is None


def test_positions_account_and_funding() -> None:
    rows = [
        {"market_id": 0, "symbol": "ETH", "sign": -1, "position": "0.5000",
         "avg_entry_price": "3100.00", "position_value": "1560.00", "liquidation_price": "3900.00",
         "total_funding_paid_out": "1.25", "initial_margin_fraction": "20.00"},
        {"market_id": 1, "symbol": "BTC", "sign": 1, "position": "0.0000", "avg_entry_price": "0"},
    ]  # fmt: skip
    pos = parse.positions("lighter", rows, {0: "ETH"}, 7)
    assert list(pos) == ["ETH"]
    p = pos["ETH"]
    assert p.size == Decimal("-0.5")
    assert p.mark_price == Decimal("3120")
    assert p.liquidation_price == Decimal("3900")
    assert p.leverage == Decimal(5)
    assert p.funding == Decimal("-1.25")
    acct = parse.account_state(
        "lighter",
        {"collateral": "1000.00", "total_asset_value": "1012.5", "available_balance": "700",
         "cross_initial_margin_requirement": "312", "cross_maintenance_margin_requirement": "37.44"},
        9,
    )  # fmt: skip
    assert (acct.collateral, acct.equity, acct.available) == (
        Decimal(1000), Decimal("1012.5"), Decimal(700),
    )  # fmt: skip
    assert acct.maintenance_margin == Decimal("37.44")
    q = parse.LighterQuirks()
    rate = parse.funding_rate("lighter", {"market_id": 0, "rate": "0.0008"}, "ETH", 5, q)
    assert rate.rate == Decimal("0.0001") and rate.interval_s == 3600
    pay = parse.funding_payment(
        "lighter",
        {"timestamp": 1760000400, "market_id": 0, "change": "-0.31", "rate": "0.0001",
         "position_size": "0.5", "position_side": "short"},
        "ETH", q,
    )  # fmt: skip
    assert (pay.amount, pay.position_size, pay.ts_ns) == (
        Decimal("-0.31"), Decimal("-0.5"), 1760000400 * 10**9,
    )  # fmt: skip


def test_errors_by_code() -> None:
    e = parse.error_for("lighter", 21706, "invalid order base or quote amount")
    assert isinstance(e, OrderRejectedError) and e.reason == "min_notional" and e.code == 21706
    assert parse.error_for("lighter", 21104, "invalid nonce").code == parse.INVALID_NONCE
    assert isinstance(parse.error_for("lighter", 23000, "Too Many Requests!"), RateLimitedError)
    assert parse.error_for("lighter", 21728, "dup").reason == "duplicate_client_id"


def test_quirks_validate_their_switches() -> None:
    with pytest.raises(ValueError, match="book_chain"):
        parse.LighterQuirks(book_chain="sequence")
