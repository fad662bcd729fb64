"""The official hyperliquid-python-sdk (0.24.0) against the fake: every call it makes is accepted,
its signatures recovered, and the answers are the venue's shapes and texts.

The SDK blocks, so the fake runs on its own loop in a thread (``hlkit.fake_in_thread``); every
wait is bounded.
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN

import eth_account
import pytest
from hlkit import D, Inbox, fake_in_thread, wait_until, wallet
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError
from hyperliquid.utils.types import Cloid

from hedgekit.model import Side

ALICE = wallet("alice")
BOB = wallet("bob")
ALO = {"limit": {"tif": "Alo"}}
GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}


def _statuses(answer: dict) -> list:
    assert answer["status"] == "ok", answer
    return answer["response"]["data"]["statuses"]


def test_info_construction_and_market_reads() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        assert info.name_to_asset("ETH") == 1
        meta = info.meta()
        assert [(a["name"], a["szDecimals"]) for a in meta["universe"]] == [
            ("BTC", 5), ("ETH", 4), ("SOL", 2),
        ]  # fmt: skip
        book = info.l2_snapshot("ETH")
        bids, asks = book["levels"]
        assert book["coin"] == "ETH" and len(bids) == 20 and len(asks) == 20
        assert D(bids[0]["px"]) == D("3000.0") and D(asks[0]["px"]) == D("3000.1")
        assert [D(b["px"]) for b in bids] == sorted((D(b["px"]) for b in bids), reverse=True)
        mids = info.all_mids()
        assert D(mids["ETH"]) == D("3000.05")
        meta2, ctxs = info.meta_and_asset_ctxs()
        assert meta2 == meta and D(ctxs[1]["oraclePx"]) == D(3000)
        state = info.user_state(ALICE.address)
        assert D(state["marginSummary"]["accountValue"]) == D(100_000)
        assert state["assetPositions"] == []
        assert info.user_state(BOB.address)["marginSummary"]["accountValue"] == "0.0"
        assert info.open_orders(ALICE.address) == []
        assert info.user_fees(ALICE.address)["userAddRate"] == "0.00015"
        assert info.user_rate_limit(ALICE.address)["nRequestsCap"] == 10_000


def test_orders_alo_gtc_ioc_with_cloid_are_queried_by_oid_and_cloid() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        cloid = Cloid.from_int(0xA1)
        rest = _statuses(ex.order("ETH", True, 0.25, 2999.0, ALO, cloid=cloid))[0]["resting"]
        assert rest["cloid"] == cloid.to_raw()
        oid = rest["oid"]
        (open_order,) = info.open_orders(ALICE.address)
        assert open_order["oid"] == oid and open_order["sz"] == "0.25" and open_order["side"] == "B"
        (front,) = info.frontend_open_orders(ALICE.address)
        assert (
            front["tif"] == "Alo" and front["cloid"] == cloid.to_raw() and not front["reduceOnly"]
        )
        by_oid = info.query_order_by_oid(ALICE.address, oid)
        by_cloid = info.query_order_by_cloid(ALICE.address, cloid)
        assert by_oid["status"] == "order" and by_oid["order"]["status"] == "open"
        assert by_cloid["order"]["order"]["oid"] == oid
        assert info.query_order_by_oid(ALICE.address, 12345) == {"status": "unknownOid"}
        # Our resting order is in the public book, and leaves it on cancel.
        level = next(lv for lv in info.l2_snapshot("ETH")["levels"][0] if lv["px"] == "2999.0")
        assert D(level["sz"]) == D("0.25") + D(5) * (1 + D("0.25") * 10) and level["n"] == 2
        # ALO that would cross: the venue's text with the bbo and the asset.
        (err,) = _statuses(ex.order("ETH", True, 0.25, 3000.1, ALO))
        assert err == {
            "error": "Post only order would have immediately matched, bbo was 3000.0@3000.1. asset=1"
        }
        # GTC that crosses fills at once; IOC that cannot match is refused.
        filled = _statuses(ex.order("ETH", True, 0.01, 3000.1, GTC))[0]["filled"]
        assert filled["totalSz"] == "0.01" and filled["avgPx"] == "3000.1"
        (ioc,) = _statuses(ex.order("ETH", True, 0.01, 2999.0, IOC))
        assert ioc == {
            "error": "Order could not immediately match against any resting orders. asset=1"
        }
        assert [o["oid"] for o in info.open_orders(ALICE.address)] == [oid]


def test_bulk_orders_answer_one_status_per_order_with_the_venue_texts() -> None:
    with fake_in_thread(ALICE.address) as server:
        ex = Exchange(ALICE, server.url)
        orders = [
            {"coin": "ETH", "is_buy": True, "sz": 0.01, "limit_px": 2995.0, "order_type": GTC, "reduce_only": False},
            {"coin": "ETH", "is_buy": True, "sz": 0.01, "limit_px": 2995.05, "order_type": GTC, "reduce_only": False},
            {"coin": "ETH", "is_buy": True, "sz": 0.00001, "limit_px": 2995.0, "order_type": GTC, "reduce_only": False},
            {"coin": "ETH", "is_buy": True, "sz": 0.001, "limit_px": 2995.0, "order_type": GTC, "reduce_only": False},
            {"coin": "ETH", "is_buy": False, "sz": 0.01, "limit_px": 2995.0, "order_type": GTC, "reduce_only": True},
            {"coin": "BTC", "is_buy": False, "sz": 0.001, "limit_px": 61000.0, "order_type": ALO, "reduce_only": False},
        ]  # fmt: skip
        statuses = _statuses(ex.bulk_orders(orders))
        assert "resting" in statuses[0]
        assert statuses[1:5] == [
            {"error": "Price must be divisible by tick size. asset=1"},
            {"error": "Order has invalid size. asset=1"},
            {"error": "Order must have minimum value of $10. asset=1"},
            {"error": "Reduce only order would increase position. asset=1"},
        ]
        assert "resting" in statuses[5]
        assert len(server.call(lambda f: f.open_orders(ALICE.address))) == 2


def test_modify_gives_a_new_oid_and_batch_modify_answers_per_order() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        cloid = Cloid.from_int(7)
        oid = _statuses(ex.order("ETH", True, 0.01, 2990.0, ALO, cloid=cloid))[0]["resting"]["oid"]
        other = _statuses(ex.order("ETH", False, 0.01, 3010.0, ALO))[0]["resting"]["oid"]
        assert ex.modify_order(oid, "ETH", True, 0.02, 2991.0, ALO, cloid=cloid)["status"] == "ok"
        (new_oid,) = [o["oid"] for o in info.open_orders(ALICE.address) if o["side"] == "B"]
        assert new_oid != oid
        assert info.query_order_by_oid(ALICE.address, oid)["order"]["status"] == "canceled"
        moved = info.query_order_by_cloid(ALICE.address, cloid)["order"]["order"]
        assert moved["oid"] == new_oid and moved["limitPx"] == "2991.0" and moved["sz"] == "0.02"
        answer = ex.bulk_modify_orders_new(
            [
                {"oid": new_oid, "order": {"coin": "ETH", "is_buy": True, "sz": 0.01, "limit_px": 2992.0, "order_type": ALO, "reduce_only": False, "cloid": cloid}},
                {"oid": other, "order": {"coin": "ETH", "is_buy": False, "sz": 0.01, "limit_px": 2999.0, "order_type": ALO, "reduce_only": False, "cloid": None}},
                {"oid": 99, "order": {"coin": "ETH", "is_buy": False, "sz": 0.01, "limit_px": 3011.0, "order_type": ALO, "reduce_only": False, "cloid": None}},
            ]
        )  # fmt: skip
        first, second, third = _statuses(answer)
        assert "resting" in first and first["resting"]["oid"] not in (oid, new_oid)
        assert second == {
            "error": "Post only order would have immediately matched, bbo was 3000.0@3000.1. asset=1"
        }
        assert third == {"error": "Order was never placed, already canceled, or filled."}
        assert other in [o["oid"] for o in info.open_orders(ALICE.address)]


def test_cancel_and_cancel_by_cloid_then_missing_order() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        a = _statuses(ex.order("ETH", True, 0.01, 2990.0, ALO))[0]["resting"]["oid"]
        cloid = Cloid.from_int(0xB2)
        _statuses(ex.order("ETH", True, 0.01, 2989.0, ALO, cloid=cloid))
        assert _statuses(ex.cancel("ETH", a)) == ["success"]
        assert _statuses(ex.cancel_by_cloid("ETH", cloid)) == ["success"]
        missing = {"error": "Order was never placed, already canceled, or filled."}
        assert _statuses(ex.cancel("ETH", a)) == [missing]
        assert _statuses(ex.cancel_by_cloid("ETH", cloid)) == [missing]
        assert _statuses(ex.cancel("BTC", a)) == [missing]
        assert info.open_orders(ALICE.address) == []
        assert info.query_order_by_cloid(ALICE.address, cloid)["order"]["status"] == "canceled"
        bids = info.l2_snapshot("ETH")["levels"][0]
        assert all(lv["n"] == 1 for lv in bids)


def test_market_open_and_close_move_the_position_and_record_fills() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        start_ms = int(time.time() * 1000) - 1000
        filled = _statuses(ex.market_open("ETH", True, 0.5))[0]["filled"]
        assert filled["totalSz"] == "0.5" and filled["avgPx"] == "3000.1"
        (pos,) = info.user_state(ALICE.address)["assetPositions"]
        p = pos["position"]
        assert p["coin"] == "ETH" and p["szi"] == "0.5" and D(p["entryPx"]) == D("3000.1")
        assert p["leverage"] == {"type": "cross", "value": 20} and p["maxLeverage"] == 25
        assert D(p["positionValue"]) == D("0.5") * D(3000)  # at the mark (the oracle)
        server.call(lambda f: f.move_price("ETH", D(3100)))
        closed = _statuses(ex.market_close("ETH"))[0]["filled"]
        assert closed["totalSz"] == "0.5"
        assert info.user_state(ALICE.address)["assetPositions"] == []
        fills = info.user_fills(ALICE.address)
        assert [f["dir"] for f in fills] == ["Close Long", "Open Long"]  # newest first
        assert D(fills[0]["closedPnl"]) == D("0.5") * (D(fills[0]["px"]) - D("3000.1"))
        taker_fee = (D("0.5") * D("3000.1") * D("0.00045")).quantize(D("0.000001"), ROUND_HALF_EVEN)
        assert fills[1]["crossed"] is True and D(fills[1]["fee"]) == taker_fee
        assert len({f["tid"] for f in fills}) == 2
        by_time = info.user_fills_by_time(ALICE.address, start_ms)
        assert [f["tid"] for f in by_time] == [fills[1]["tid"], fills[0]["tid"]]
        assert info.user_fills_by_time(ALICE.address, start_ms + 10**9) == []


def test_funding_is_paid_hourly_and_reported() -> None:
    with fake_in_thread(ALICE.address, hourly_funding=False) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        start_ms = int(time.time() * 1000) - 1000
        _statuses(ex.market_open("ETH", True, 1.0))
        server.call(lambda f: f.set_funding_rate("ETH", D("0.0001")))
        server.call(lambda f: f.settle_funding())
        (row,) = info.user_funding_history(ALICE.address, start_ms)
        assert row["delta"]["coin"] == "ETH" and row["delta"]["szi"] == "1.0"
        assert D(row["delta"]["usdc"]) == -D(3000) * D("0.0001")  # a long pays, at the oracle
        assert row["delta"]["fundingRate"] == "0.0001"
        history = info.funding_history("ETH", start_ms)
        assert [h["fundingRate"] for h in history] == ["0.0001"]


def test_schedule_cancel_keeps_the_minimum_delay_and_cancels_everything() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        oid = _statuses(ex.order("ETH", True, 0.01, 2990.0, ALO))[0]["resting"]["oid"]
        now = int(time.time() * 1000)
        too_soon = ex.schedule_cancel(now + 1000)
        assert too_soon == {
            "status": "err",
            "response": "Scheduled cancel time too early, must be at least 5 seconds from now.",
        }
        assert ex.schedule_cancel(now + 6000) == {"status": "ok", "response": {"type": "default"}}
        server.call(lambda f: f.fire_scheduled_cancels(now + 5000))
        assert len(info.open_orders(ALICE.address)) == 1  # not yet
        server.call(lambda f: f.fire_scheduled_cancels(now + 6000))
        assert info.open_orders(ALICE.address) == []
        assert info.query_order_by_oid(ALICE.address, oid)["order"]["status"] == "scheduledCancel"
        assert ex.schedule_cancel(None)["status"] == "ok"


def test_update_leverage_within_the_assets_max() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        assert ex.update_leverage(5, "ETH") == {"status": "ok", "response": {"type": "default"}}
        assert ex.update_leverage(26, "ETH") == {
            "status": "err",
            "response": "Invalid leverage value.",
        }
        _statuses(ex.market_open("ETH", False, 0.1))
        (pos,) = info.user_state(ALICE.address)["assetPositions"]
        assert pos["position"]["leverage"]["value"] == 5 and pos["position"]["szi"] == "-0.1"


def test_insufficient_margin_is_refused_per_order() -> None:
    with fake_in_thread(ALICE.address, balance=D(100)) as server:
        ex = Exchange(ALICE, server.url)
        (err,) = _statuses(ex.order("ETH", True, 1.0, 2990.0, GTC))
        assert err == {"error": "Insufficient margin to place order. asset=1"}
        assert "resting" in _statuses(ex.order("ETH", True, 0.5, 2990.0, GTC))[0]


def test_an_agent_trades_for_its_master_and_queries_use_the_master() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        answer, agent_key = ex.approve_agent()
        assert answer == {"status": "ok", "response": {"type": "default"}}
        agent_wallet = eth_account.Account.from_key(agent_key)
        agent = Exchange(agent_wallet, server.url, account_address=ALICE.address)
        oid = _statuses(agent.order("ETH", False, 0.01, 3010.0, GTC))[0]["resting"]["oid"]
        assert [o["oid"] for o in info.open_orders(ALICE.address)] == [oid]
        assert info.open_orders(agent.wallet.address) == []  # the agent has no account
        assert _statuses(agent.market_open("ETH", True, 0.01))[0]["filled"]["totalSz"] == "0.01"
        assert info.user_state(ALICE.address)["assetPositions"][0]["position"]["szi"] == "0.01"
        with_builder = ex.order("ETH", True, 0.01, 2990.0, ALO, builder={"b": BOB.address, "f": 10})
        assert "resting" in _statuses(with_builder)[0]
        named, _ = ex.approve_agent("bot")
        assert named["status"] == "ok"
        assert ex.approve_builder_fee(BOB.address, "0.001%") == {
            "status": "ok",
            "response": {"type": "default"},
        }
        assert ex.set_referrer("CODE") == {"status": "ok", "response": {"type": "default"}}


def test_a_vault_address_trades_on_the_vault() -> None:
    vault = wallet("vault").address
    with fake_in_thread(ALICE.address, vault) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url, vault_address=vault)
        oid = _statuses(ex.order("ETH", True, 0.01, 2990.0, GTC))[0]["resting"]["oid"]
        assert [o["oid"] for o in info.open_orders(vault)] == [oid]
        assert info.open_orders(ALICE.address) == []
        stranger = Exchange(ALICE, server.url, vault_address=BOB.address)
        refused = stranger.order("ETH", True, 0.01, 2990.0, GTC)
        assert refused == {"status": "err", "response": f"Vault not registered: {BOB.address}"}


def test_a_wrong_key_is_refused_with_the_venues_answer() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        stranger = Exchange(BOB, server.url)
        answer = stranger.order("ETH", True, 0.01, 2990.0, GTC)
        assert answer["status"] == "err"
        assert answer["response"] == f"User or API Wallet {BOB.address.lower()} does not exist."
        assert info.open_orders(BOB.address) == [] and info.open_orders(ALICE.address) == []


def test_with_no_accounts_any_signer_gets_an_account() -> None:
    with fake_in_thread() as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(BOB, server.url)
        assert "resting" in _statuses(ex.order("ETH", True, 0.01, 2990.0, GTC))[0]
        assert len(info.open_orders(BOB.address)) == 1


def test_malformed_bodies_get_a_4xx_the_sdk_can_read() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        with pytest.raises(ClientError) as caught:
            info.post("/info", {"type": "noSuchRequest"})
        assert caught.value.status_code == 422
        assert "Failed to deserialize" in caught.value.error_message


def test_websocket_subscriptions_deliver_book_fills_orders_and_events() -> None:
    with fake_in_thread(ALICE.address) as server:
        ex = Exchange(ALICE, server.url)
        _statuses(ex.market_open("ETH", True, 0.01))  # a fill before subscribing
        info = Info(server.url)
        try:
            inbox = Inbox()
            info.subscribe({"type": "l2Book", "coin": "ETH"}, inbox)
            info.subscribe({"type": "userFills", "user": ALICE.address}, inbox)
            info.subscribe({"type": "orderUpdates", "user": ALICE.address}, inbox)
            info.subscribe({"type": "userEvents", "user": ALICE.address}, inbox)
            assert wait_until(lambda: inbox.on("userFills") and len(inbox.on("l2Book")) >= 2)
            first = inbox.on("userFills")[0]["data"]
            assert first["isSnapshot"] is True and first["user"] == ALICE.address.lower()
            assert len(first["fills"]) == 1
            assert inbox.on("l2Book")[0]["data"]["coin"] == "ETH"
            oid = _statuses(ex.order("ETH", True, 0.02, 2999.0, GTC))[0]["resting"]["oid"]
            assert wait_until(
                lambda: any(
                    u["order"]["oid"] == oid for m in inbox.on("orderUpdates") for u in m["data"]
                )
            )
            server.call(lambda f: f.trade_against("ETH", Side.SELL, D(1000), D("2999.0")))
            assert wait_until(lambda: len(inbox.on("userFills")) >= 2 and inbox.on("user"))
            live = inbox.on("userFills")[1]["data"]
            assert live["fills"][0]["oid"] == oid and live["fills"][0]["crossed"] is False
            assert live["fills"][0]["tid"] != first["fills"][0]["tid"]
            assert inbox.on("user")[0]["data"]["fills"][0]["oid"] == oid
            statuses = [
                u["status"]
                for m in inbox.on("orderUpdates")
                for u in m["data"]
                if u["order"]["oid"] == oid
            ]
            assert wait_until(
                lambda: (
                    "filled" in [u["status"] for m in inbox.on("orderUpdates") for u in m["data"]]
                )
            )
            assert statuses[0] == "open"
        finally:
            info.disconnect_websocket()


def test_a_liquidation_closes_the_position_and_is_reported() -> None:
    with fake_in_thread(ALICE.address, balance=D(200)) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        assert ex.update_leverage(25, "ETH")["status"] == "ok"
        _statuses(ex.market_open("ETH", True, 1.0))
        liq = D(info.user_state(ALICE.address)["assetPositions"][0]["position"]["liquidationPx"])
        assert D(2800) < liq < D(3000)
        server.call(lambda f: f.move_price("ETH", liq - 50))
        assert info.user_state(ALICE.address)["assetPositions"] == []
        forced = info.user_fills(ALICE.address)[0]
        assert forced["liquidation"]["liquidatedUser"] == ALICE.address.lower()
        assert forced["side"] == "A" and forced["sz"] == "1.0"


def test_a_resting_order_queues_behind_outside_size_and_fills_in_pieces() -> None:
    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        ex = Exchange(ALICE, server.url)
        oid = _statuses(ex.order("ETH", True, 2.0, 3000.0, GTC))[0]["resting"]["oid"]  # behind 5
        server.call(lambda f: f.trade_against("ETH", Side.SELL, D(6), D(3000)))
        (left,) = info.open_orders(ALICE.address)
        assert left["oid"] == oid and left["sz"] == "1.0" and left["origSz"] == "2.0"
        assert info.query_order_by_oid(ALICE.address, oid)["order"]["status"] == "open"
        server.call(lambda f: f.trade_against("ETH", Side.SELL, D(3), D(3000)))
        assert info.open_orders(ALICE.address) == []
        fills = info.user_fills(ALICE.address)
        assert [f["sz"] for f in fills] == ["1.0", "1.0"] and {f["oid"] for f in fills} == {oid}
        assert all(f["crossed"] is False and f["px"] == "3000.0" for f in fills)
        assert info.query_order_by_oid(ALICE.address, oid)["order"]["status"] == "filled"
        assert info.user_state(ALICE.address)["assetPositions"][0]["position"]["szi"] == "2.0"


def test_the_sdk_reads_429_and_5xx_as_its_own_errors() -> None:
    from hyperliquid.utils.error import ServerError

    with fake_in_thread(ALICE.address) as server:
        info = Info(server.url, skip_ws=True)
        server.call(lambda f: f.faults.rate_limit(1).server_error(1, status=502))
        with pytest.raises(ClientError) as limited:
            info.all_mids()
        assert limited.value.status_code == 429 and limited.value.error_code == 429
        with pytest.raises(ServerError) as failed:
            info.all_mids()
        assert failed.value.status_code == 502
        assert "ETH" in info.all_mids()
