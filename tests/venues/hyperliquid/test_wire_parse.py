"""Hyperliquid wire and parse on the payloads of venues.md §1, and our signed bodies checked
against the official SDK's signing (the oracle)."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hyperliquid.utils.signing import (
    OrderWire,
    float_to_wire,
    order_wires_to_order_action,
    recover_agent_or_user_from_l1_action,
)

from hedgekit.errors import (
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
)
from hedgekit.model import Liquidity, OrderStatus, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.venues.hyperliquid import parse, wire
from hedgekit.venues.hyperliquid.signing import ActionSigner

D = Decimal
KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"

ORDER_STATUS = orjson.loads(b"""{"status":"order","order":{"order":{"coin":"ETH","side":"B",
 "limitPx":"3120.5","sz":"0.0","oid":4411223344,"timestamp":1760000000123,
 "triggerCondition":"N/A","isTrigger":false,"triggerPx":"0.0","children":[],
 "isPositionTpsl":false,"reduceOnly":false,"orderType":"Limit","origSz":"0.25","tif":"Alo",
 "cloid":"0x000000000000000000000000000000a1"},"status":"filled","statusTimestamp":1760000004567}}""")
USER_FILL = orjson.loads(b"""{"coin":"ETH","px":"3119.9","sz":"0.25","side":"B",
 "time":1760000004567,"startPosition":"0.0","dir":"Open Long","closedPnl":"0.0","hash":"0x3f1c",
 "oid":4411223345,"crossed":true,"fee":"0.350988","tid":812345678901234,"feeToken":"USDC",
 "cloid":null}""")


@pytest.mark.parametrize(
    ("value", "text"),
    [("1670.10", "1670.1"), ("1E+2", "100"), ("0.0147", "0.0147"), ("-0", "0"), ("3000", "3000")],
)
def test_prices_and_sizes_go_out_normalised(value: str, text: str) -> None:
    assert wire.decimal_str(D(value)) == text
    if D(value) > 0:
        assert float_to_wire(float(value)) == text  # the SDK's own formatting agrees


def test_client_ids_map_to_stable_cloids() -> None:
    a = wire.cloid_for("hk-open-1-a")
    assert a == wire.cloid_for("hk-open-1-a") and len(a) == 34 and a.startswith("0x")
    assert a != wire.cloid_for("hk-open-1-b")
    assert wire.cloid_for("0x000000000000000000000000000000A1") == (
        "0x000000000000000000000000000000a1"
    )


def test_an_order_action_is_byte_for_byte_the_sdks_and_recovers_to_our_signer() -> None:
    ours = wire.order_action(
        [
            wire.order_wire(
                4,
                Side.BUY,
                D("1670.1"),
                D("0.0147"),
                reduce_only=False,
                tif=TimeInForce.IOC,
                cloid="0x000000000000000000000000000000a1",
            )
        ]
    )
    theirs: OrderWire = {
        "a": 4,
        "b": True,
        "p": "1670.1",
        "s": "0.0147",
        "r": False,
        "t": {"limit": {"tif": "Ioc"}},
        "c": "0x000000000000000000000000000000a1",
    }
    assert orjson.dumps(ours) == orjson.dumps(order_wires_to_order_action([theirs], None))
    signer = ActionSigner(Secret(KEY), now_ms=lambda: 1677777606040)
    body = signer.sign(ours)
    assert body["nonce"] == 1677777606040 and body["vaultAddress"] is None
    who = recover_agent_or_user_from_l1_action(
        body["action"], body["signature"], None, body["nonce"], None, False
    )
    assert who.lower() == signer.address
    assert KEY[2:] not in repr(signer)
    # nonces strictly increase even when the clock does not
    assert signer.sign(ours)["nonce"] == 1677777606041


def test_a_vault_is_signed_for_and_named_in_the_body() -> None:
    vault = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
    signer = ActionSigner(Secret(KEY), vault_address=vault, now_ms=lambda: 1_700_000_000_000)
    body = signer.sign(wire.cancel_action(1, 42))
    assert body["vaultAddress"] == vault
    who = recover_agent_or_user_from_l1_action(
        body["action"], body["signature"], vault, body["nonce"], None, False
    )
    assert who.lower() == signer.address


def test_a_deadline_is_the_nonce_plus_the_window_signed_and_sent() -> None:
    signer = ActionSigner(Secret(KEY), now_ms=lambda: 1_700_000_000_000)
    action = wire.order_action(
        [wire.order_wire(1, Side.SELL, D("3000.5"), D("0.1"), reduce_only=True,
                         tif=TimeInForce.GTC, cloid=None)]
    )  # fmt: skip
    body = signer.sign(action, expires_in_ms=4_000)
    assert body["expiresAfter"] == body["nonce"] + 4_000 == 1_700_000_004_000
    assert list(body) == ["action", "nonce", "signature", "vaultAddress", "expiresAfter"]
    who = recover_agent_or_user_from_l1_action(
        body["action"], body["signature"], None, body["nonce"], body["expiresAfter"], False
    )
    assert who.lower() == signer.address  # the SDK recovers us with the deadline in the hash
    unstamped = recover_agent_or_user_from_l1_action(
        body["action"], body["signature"], None, body["nonce"], None, False
    )
    assert unstamped.lower() != signer.address  # so a body stripped of it names no one we know
    later = signer.sign(action, expires_in_ms=4_000)  # same clock: the nonce moves on, and
    assert later["expiresAfter"] == later["nonce"] + 4_000 == 1_700_000_004_001  # the deadline
    assert signer.sign(action)["expiresAfter"] is None
    with pytest.raises(ValueError, match="expires_in_ms"):
        signer.sign(action, expires_in_ms=-1)


def test_status_report_and_fill_from_the_venues_payloads() -> None:
    report = parse.status_report("hl", ORDER_STATUS, lambda c, o: c or str(o))
    assert report is not None
    assert report.status is OrderStatus.FILLED and report.filled == D("0.25")
    assert report.client_id == "0x000000000000000000000000000000a1"
    assert report.price == D("3120.5") and report.side is Side.BUY
    assert parse.status_report("hl", {"status": "unknownOid"}, lambda c, o: "x") is None
    f = parse.fill("hl", USER_FILL, lambda c, o: f"id-{o}")
    assert (f.price, f.size, f.fee, f.trade_id) == (D("3119.9"), D("0.25"), D("0.350988"),
                                                    812345678901234)  # fmt: skip
    assert f.liquidity is Liquidity.TAKER and f.client_id == "id-4411223345"
    liq = parse.fill("hl", {**USER_FILL, "liquidation": {"markPx": "3000"}}, lambda c, o: "x")
    assert liq.client_id == "liquidation-812345678901234"


@pytest.mark.parametrize(
    ("status", "orig", "left", "ours"),
    [
        ("open", "1", "1", OrderStatus.OPEN),
        ("open", "1", "0.4", OrderStatus.PARTIALLY_FILLED),
        ("filled", "1", "0", OrderStatus.FILLED),
        ("canceled", "1", "1", OrderStatus.CANCELLED),
        ("marginCanceled", "1", "1", OrderStatus.CANCELLED),
        ("scheduledCancel", "1", "1", OrderStatus.CANCELLED),
        ("badAloPxRejected", "1", "1", OrderStatus.REJECTED),
        ("iocCancelRejected", "1", "1", OrderStatus.EXPIRED),
    ],
)
def test_every_venue_status_maps(status: str, orig: str, left: str, ours: OrderStatus) -> None:
    assert parse.order_status(status, D(orig), D(left)) is ours


def test_venue_error_texts_become_typed_errors() -> None:
    post = parse.error_for(
        "hl", "Post only order would have immediately matched, bbo was 3119.8@3119.9. asset=1"
    )
    assert isinstance(post, PostOnlyRejectedError)
    small = parse.error_for("hl", "Order must have minimum value of $10. asset=4")
    assert isinstance(small, OrderRejectedError) and small.reason == "min_notional"
    tick = parse.error_for("hl", "Price must be divisible by tick size. asset=1")
    assert isinstance(tick, OrderRejectedError) and tick.reason == "off_tick"
    limited = parse.error_for("hl", "Too many cumulative requests sent (37986 > 10436) ...")
    assert isinstance(limited, RateLimitedError) and limited.definitive
    lev = parse.error_for("hl", "Invalid leverage value", leverage=True)
    assert isinstance(lev, LeverageRejectedError)
    margin = parse.error_for("hl", "Insufficient margin to place order.", leverage=True)
    assert not isinstance(margin, LeverageRejectedError)
    assert isinstance(margin, OrderRejectedError) and margin.reason == "insufficient_margin"
    stale = parse.error_for("hl", "Action expired: expiresAfter 1700000004000 < 1700000009000")
    assert isinstance(stale, OrderRejectedError) and stale.reason == "expired"
    assert stale.definitive


def test_margin_tables_fees_and_the_socket_url() -> None:
    meta = {
        "universe": [
            {"name": "BTC", "szDecimals": 5, "maxLeverage": 40, "marginTableId": 56},
            {"name": "OLD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
            {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
        ],
        "marginTables": [
            [
                56,
                {
                    "marginTiers": [
                        {"lowerBound": "0.0", "maxLeverage": 40},
                        {"lowerBound": "150000000.0", "maxLeverage": 20},
                    ]
                },
            ]  # fmt: skip
        ],
    }
    assets = parse.assets("hl", meta, {"userAddRate": "0.0001", "userCrossRate": "0.00035"})
    assert set(assets) == {"BTC", "ETH"} and assets["ETH"].asset_id == 2
    assert assets["BTC"].margin_table.max_leverage_at(D(200_000_000)) == D(20)
    assert assets["ETH"].info.maker_fee == D("0.0001")
    assert wire.ws_url("https://api.hyperliquid.xyz") == "wss://api.hyperliquid.xyz/ws"
    assert wire.ws_url("http://127.0.0.1:5/") == "ws://127.0.0.1:5/ws"


def test_the_socket_routes_books_undecoded_and_everything_else_by_channel() -> None:
    from hedgekit.venues.hyperliquid.ws import HyperliquidStream

    books: list[tuple[str, bytes]] = []
    other: list[tuple[str, object]] = []
    stream = HyperliquidStream(
        "hl", "ws://127.0.0.1:9/ws", list, lambda c, p: books.append((c, bytes(p))),
        lambda ch, d: other.append((ch, d)),
    )  # fmt: skip
    compact = b'{"channel":"l2Book","data":{"coin":"ETH","time":1,"levels":[[],[]]}}'
    spaced = b'{"channel": "l2Book", "data": {"coin": "BTC", "time": 1, "levels": [[], []]}}'
    stream._on_message(memoryview(compact))
    stream._on_message(spaced)
    stream._on_message(b'{"channel":"subscriptionResponse","data":{}}')
    stream._on_message(b"Websocket connection established.")
    stream._on_message(b'{"channel":"userFills","data":{"isSnapshot":true,"fills":[]}}')
    assert books == [("ETH", compact), ("BTC", spaced)]
    assert other == [("userFills", {"isSnapshot": True, "fills": []})]
