"""LighterVenue against the wire-level FakeLighter on 127.0.0.1: the venue's own records are
the truth each test judges the adapter by."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
from lighter_adapterkit import ACCOUNT, KEY_INDEX, limit, session, until  # noqa: E402

from hedgekit.errors import (  # noqa: E402
    AmbiguousOutcomeError,
    InvalidOrderError,
    LeverageRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
)
from hedgekit.model import (  # noqa: E402
    CancelResult,
    Fill,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from hedgekit.venues.lighter import wire  # noqa: E402


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_instruments_book_and_quote_from_the_venue() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            eth = venue.instruments()["ETH"]
            assert eth.rules.tick_size == Decimal("0.01")
            assert eth.rules.step_size == Decimal("0.0001")
            assert eth.rules.min_qty == Decimal("0.005")
            await until(lambda: venue.quote("ETH") is not None)
            q = venue.quote("ETH")
            assert q is not None and q.bid <= Decimal(3000) < q.ask
            fake.move_price("ETH", Decimal(3100))
            await until(lambda: (q2 := venue.quote("ETH")) is not None and q2.bid > 3050)

    run(main())


def test_place_modify_status_cancel_round_trip() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            ack = await venue.place(limit("hk-1", Side.BUY, "0.25", "2900.00"))
            assert ack.status is OrderStatus.OPEN
            (rec,) = fake.open_orders(ACCOUNT)
            assert rec.client_order_index == venue.client_order_index("hk-1")
            assert str(rec.order_index) == ack.venue_order_id
            assert (rec.price, rec.initial) == (Decimal("2900.00"), Decimal("0.25"))
            # our order is in the public book we read
            await until(
                lambda: Decimal("2900") in [p for p, _ in venue.book("ETH").levels("bid", 50)]
            )
            mod = await venue.modify("ETH", "hk-1", price=Decimal("2901.50"), size=Decimal("0.3"))
            assert mod.venue_order_id == ack.venue_order_id
            (rec,) = fake.open_orders(ACCOUNT)
            assert rec.price == Decimal("2901.50")
            st = await venue.order_status("ETH", client_id="hk-1")
            assert st is not None and st.status is OrderStatus.OPEN
            assert st.price == Decimal("2901.50") and st.client_id == "hk-1"
            assert await venue.cancel("ETH", client_id="hk-1") is CancelResult.CANCELLED
            assert fake.open_orders(ACCOUNT) == []
            st = await venue.order_status("ETH", venue_order_id=ack.venue_order_id)
            assert st is not None and st.status is OrderStatus.CANCELLED
            assert await venue.order_status("ETH", client_id="never-sent") is None

    run(main())


def test_off_grid_and_below_minimum_are_refused_before_sending() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            nonce = fake.next_nonce(ACCOUNT, KEY_INDEX)
            with pytest.raises(InvalidOrderError) as e:
                await venue.place(limit("bad-tick", Side.BUY, "0.25", "2900.005"))
            assert e.value.reason == "off_tick"
            with pytest.raises(InvalidOrderError) as e:
                await venue.place(limit("bad-step", Side.BUY, "0.25001", "2900"))
            assert e.value.reason == "off_step"
            with pytest.raises(InvalidOrderError):
                await venue.place(limit("too-small", Side.BUY, "0.001", "2900"))
            assert fake.next_nonce(ACCOUNT, KEY_INDEX) == nonce  # nothing reached the venue

    run(main())


def test_fills_positions_and_margin_after_an_outside_taker() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            events = venue.events()
            ack = await venue.place(limit("hk-f", Side.BUY, "0.5", "3000.05"))  # best bid
            fake.trade_against("ETH", Side.SELL, Decimal("0.5"), Decimal("3000.05"))
            fills: list[Fill] = []
            async with asyncio.timeout(3):
                while sum(f.size for f in fills) < Decimal("0.5"):
                    ev = await events.get(timeout=3)
                    if isinstance(ev, Fill):
                        fills.append(ev)
            assert {f.client_id for f in fills} == {"hk-f"}
            assert {f.venue_order_id for f in fills} == {ack.venue_order_id}
            truth = [t for t in fake.fills(ACCOUNT)]
            assert sorted(int(f.trade_id) for f in fills) == sorted(t["trade_id"] for t in truth)
            rest = await venue.fills("ETH")
            assert sorted(int(f.trade_id) for f in rest) == sorted(int(f.trade_id) for f in fills)
            pos = await venue.positions()
            assert pos["ETH"].size == Decimal("0.5") == fake.position(ACCOUNT, "ETH")
            assert pos["ETH"].entry_price == Decimal("3000.05")
            acct = await venue.account()
            assert acct.collateral > 0 and acct.initial_margin > 0
            assert venue.margin_table("ETH") is not None
            st = await venue.order_status("ETH", client_id="hk-f")
            assert (
                st is not None and st.status is OrderStatus.FILLED and st.filled == Decimal("0.5")
            )

    run(main())


def test_funding_rates_and_payments() -> None:
    async def main() -> None:
        async with session(fake_kw={"funding": False}) as (fake, venue):
            fake.set_funding_rate("ETH", Decimal("0.0001"))
            rates = await venue.funding_rates()
            assert rates["ETH"].rate == Decimal("0.0001") and rates["ETH"].interval_s == 3600
            await venue.place(limit("hk-long", Side.BUY, "1", "3100.00"))  # crosses: long 1
            await until(lambda: fake.position(ACCOUNT, "ETH") == 1)
            fake.settle_funding("ETH")
            pays = await venue.funding_payments()
            assert len(pays) == 1 and pays[0].symbol == "ETH"
            assert pays[0].amount < 0  # a long pays a positive rate
            assert venue.funding_schedule("ETH").interval_ns == 3600 * 10**9

    run(main())


def test_leverage_is_set_by_its_margin_fraction() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            assert await venue.set_leverage("ETH", Decimal(10)) == Decimal(10)
            await fake.settle()
            with pytest.raises(LeverageRejectedError):
                await venue.set_leverage("ETH", Decimal(3))  # 3333.33…: not a whole fraction
            with pytest.raises(LeverageRejectedError):
                await venue.set_leverage("ETH", Decimal(100))  # above the 50x cap

    run(main())


def test_a_market_order_carries_a_protected_price_and_fills() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            await until(lambda: venue.quote("ETH") is not None)
            ack = await venue.place(
                OrderRequest("ETH", Side.SELL, Decimal("0.2"), None, "hk-mkt",
                             order_type=OrderType.MARKET)
            )  # fmt: skip
            assert ack.status is OrderStatus.FILLED
            assert fake.position(ACCOUNT, "ETH") == Decimal("-0.2")

    run(main())


def test_post_only_accepted_then_canceled_is_a_refusal_never_resting() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            events = venue.events()
            fake.cancel_next_orders(1, "canceled-post-only")
            with pytest.raises(PostOnlyRejectedError):
                await venue.place(
                    limit("hk-po", Side.BUY, "0.25", "2950.00", TimeInForce.POST_ONLY)
                )
            assert fake.open_orders(ACCOUNT) == []
            await until(lambda: bool(venue.book("ETH").levels("ask", 1)))
            ask = venue.book("ETH").levels("ask", 1)[0][0]
            with pytest.raises(PostOnlyRejectedError):  # crossing for real
                await venue.place(
                    limit("hk-po2", Side.BUY, "0.25", str(ask), TimeInForce.POST_ONLY)
                )
            assert fake.open_orders(ACCOUNT) == []
            assert fake.position(ACCOUNT, "ETH") == 0
            seen: list[OrderUpdate] = []
            while (ev := await events.get(timeout=0.3)) is not None:
                if isinstance(ev, OrderUpdate) and ev.client_id == "hk-po":
                    seen.append(ev)
            assert seen and seen[-1].status is OrderStatus.EXPIRED
            assert seen[-1].reason == "post_only"

    run(main())


def test_an_ambiguous_place_is_resolved_by_the_accounts_orders() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            fake.faults.lose_answer(1, kinds=("exchange",))
            ack = await venue.place(limit("hk-amb", Side.BUY, "0.25", "2900.00"))
            assert ack.status is OrderStatus.OPEN
            (rec,) = fake.open_orders(ACCOUNT)
            assert str(rec.order_index) == ack.venue_order_id
            assert venue.resolved == 1
            # the nonce counter is re-read: the next order is accepted
            ack2 = await venue.place(limit("hk-amb2", Side.BUY, "0.25", "2899.00"))
            assert ack2.status is OrderStatus.OPEN
            assert len(fake.open_orders(ACCOUNT)) == 2

    run(main())


def test_a_place_whose_answer_is_lost_and_never_lands_is_ambiguous() -> None:
    async def main() -> None:
        async with session(ack_timeout_s=0.3) as (fake, venue):
            fake.faults.server_error(1, kinds=("exchange",))
            with pytest.raises(AmbiguousOutcomeError):
                await venue.place(limit("hk-5xx", Side.BUY, "0.25", "2900.00"))
            assert fake.open_orders(ACCOUNT) == []

    run(main())


def test_cancel_fill_race_is_already_filled_and_counted_once() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            events = venue.events()
            ack = await venue.place(limit("hk-race", Side.BUY, "0.25", "2990.00"))
            fake.faults.cancel_fill_race(1, event_delay_s=0.2)
            assert await venue.cancel("ETH", client_id="hk-race") is CancelResult.ALREADY_FILLED
            await asyncio.sleep(0.5)  # the held events arrive
            fills = []
            while (ev := await events.get(timeout=0.2)) is not None:
                if isinstance(ev, Fill):
                    fills.append(ev)
            assert sum(f.size for f in fills) == Decimal("0.25")
            assert len({f.trade_id for f in fills}) == len(fills)
            assert {f.venue_order_id for f in fills} == {ack.venue_order_id}
            assert fake.position(ACCOUNT, "ETH") == Decimal("0.25")
            assert len(fake.account(ACCOUNT).orders) == 1  # nothing placed again

    run(main())


def test_cancel_of_a_filled_order_refused_at_the_api_is_already_filled() -> None:
    async def main() -> None:
        async with session(fake_kw={"cancel_unknown_sync": True}) as (fake, venue):
            await venue.place(limit("hk-done", Side.BUY, "0.25", "3100.00"))  # crosses
            await until(lambda: fake.position(ACCOUNT, "ETH") == Decimal("0.25"))
            assert await venue.cancel("ETH", client_id="hk-done") is CancelResult.ALREADY_FILLED

    run(main())


def test_a_break_in_the_book_chain_resubscribes_for_a_fresh_snapshot() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            await until(lambda: venue.quote("ETH") is not None)
            fake.break_book_chain(0)
            fake.move_price("ETH", Decimal(3050))
            await until(lambda: venue.resyncs == 1)
            fake.move_price("ETH", Decimal(3060))
            await until(lambda: (q := venue.quote("ETH")) is not None and q.bid == 3060 < q.ask)
            assert not venue.book("ETH").is_crossed

    run(main())


def test_fills_missed_while_the_socket_was_down_are_reconciled_once() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            events = venue.events()
            await venue.place(limit("hk-down", Side.BUY, "0.5", "3000.05"))
            fake.faults.silence_ws()
            fake.trade_against("ETH", Side.SELL, Decimal("0.5"), Decimal("3000.05"))  # unheard
            fake.faults.resume_ws()
            fake.faults.drop_ws()
            await until(lambda: venue.stream is not None and venue.stream.client.readies >= 2)
            await asyncio.sleep(0.3)
            fills = []
            while (ev := await events.get(timeout=0.2)) is not None:
                if isinstance(ev, Fill):
                    fills.append(ev)
            assert sum(f.size for f in fills) == Decimal("0.5")
            assert len({f.trade_id for f in fills}) == len(fills)
            assert len(fills) == len(fake.fills(ACCOUNT))

    run(main())


def test_an_out_of_band_nonce_advance_re_signs_the_same_order_once() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            await venue.place(limit("hk-n1", Side.BUY, "0.25", "2900.00"))
            fake.advance_nonce(ACCOUNT, KEY_INDEX, 5)
            ack = await venue.place(limit("hk-n2", Side.BUY, "0.25", "2899.00"))
            assert ack.status is OrderStatus.OPEN
            assert venue.resigned == 1
            coi = venue.client_order_index("hk-n2")
            mine = [o for o in fake.account(ACCOUNT).orders.values() if o.client_order_index == coi]
            assert len(mine) == 1  # one order, under the same client_order_index
            assert venue.nonces.fetches == 2

    run(main())


def test_fifty_concurrent_places_use_fifty_distinct_consecutive_nonces() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            start = fake.next_nonce(ACCOUNT, KEY_INDEX)
            reqs = [limit(f"hk-c{i}", Side.BUY, "0.01", f"{2800 + i}.00") for i in range(50)]
            acks = await asyncio.gather(*(venue.place(r) for r in reqs))
            assert all(a.status is OrderStatus.OPEN for a in acks)
            assert fake.next_nonce(ACCOUNT, KEY_INDEX) == start + 50
            nonces = sorted(o.nonce for o in fake.open_orders(ACCOUNT))
            assert nonces == list(range(start, start + 50))
            assert venue.resigned == 0

    run(main())


def test_open_orders_lists_what_rests() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            await venue.place(limit("hk-o1", Side.BUY, "0.25", "2900.00"))
            await venue.place(limit("hk-o2", Side.SELL, "0.25", "3100.00"))
            rows = await venue.open_orders("ETH")
            assert [r.client_id for r in rows] == ["hk-o1", "hk-o2"]
            assert {r.venue_order_id for r in rows} == {
                str(o.order_index) for o in fake.open_orders(ACCOUNT)
            }
            assert wire.client_order_index("hk-o1") == venue.client_order_index("hk-o1")

    run(main())


def test_the_dead_man_switch_is_a_scheduled_cancel_all_kept_ahead() -> None:
    async def main() -> None:
        async with session(dead_man_s=300.0) as (fake, venue):
            await until(lambda: fake.account(ACCOUNT).cancel_all_ms > 0)
            armed = fake.account(ACCOUNT).cancel_all_ms
            assert venue.dead_man_until_ms == armed
            assert 300_000 <= armed - time.time() * 1000 <= 310_500
            # orders still go through on the nonces the switch left
            ack = await venue.place(limit("hk-dm", Side.BUY, "0.25", "2900.00"))
            assert ack.status is OrderStatus.OPEN

    run(main())


def test_an_auth_token_near_its_end_is_replaced_before_a_private_read() -> None:
    async def main() -> None:
        async with session(auth_ttl_s=60.0) as (fake, venue):
            first = venue.auth_deadline_s
            assert first is not None and 55 <= first - time.time() <= 60
            await venue.place(limit("hk-tok", Side.BUY, "0.25", "2900.00"))
            # 45 s later (a quarter of its life left) the next private read makes a new token
            venue._token_until = time.time() + 15  # noqa: SLF001 - time passing, in short
            rows = await venue.open_orders("ETH")
            assert [r.client_id for r in rows] == ["hk-tok"]
            assert venue.auth_deadline_s is not None and venue.auth_deadline_s >= first

    run(main())


def test_fills_follow_the_venues_cursor_back_past_one_page() -> None:
    from lighter_adapterkit import credentials, new_key

    from hedgekit.venues.lighter import LighterVenue, parse

    trades = [
        {"trade_id": i, "market_id": 0, "size": "0.0100", "price": "3000.00",
         "usd_amount": "30", "ask_id": 9, "bid_id": 10 + i, "ask_client_id": 0,
         "bid_client_id": 0, "ask_account_id": 1, "bid_account_id": ACCOUNT,
         "is_maker_ask": True, "timestamp": 1_760_000_000_000 + i * 1000, "taker_fee": 0}
        for i in range(250)
    ]  # fmt: skip
    newest_first = sorted(trades, key=lambda t: -int(t["trade_id"]))
    asked: list[str | None] = []

    async def get(endpoint: str, params: Any = None, **_: Any) -> Any:
        assert endpoint == "trades"
        cursor = params.get("cursor")
        asked.append(cursor)
        start = int(cursor or 0)
        page = newest_first[start : start + 100]
        nxt = str(start + 100) if start + 100 < len(newest_first) else None
        return {"code": 200, "trades": page, "next_cursor": nxt}

    async def main() -> None:
        venue = LighterVenue("http://127.0.0.1:9", credentials(new_key()))
        details = {"order_book_details": [
            {"symbol": "ETH", "market_id": 0, "market_type": "perp", "status": "active",
             "size_decimals": 4, "price_decimals": 2, "min_base_amount": "0.005",
             "min_quote_amount": "10"}]}  # fmt: skip
        venue._instruments = parse.instruments("lighter", details)  # noqa: SLF001
        venue.http.get = get  # type: ignore[method-assign]
        try:
            fills = await venue.fills("ETH")
        finally:
            await venue.close()
        assert [int(f.trade_id) for f in fills] == list(range(250))
        assert asked == [None, "100", "200"]

    run(main())


def test_a_refused_send_gives_its_nonce_back_for_the_next_order() -> None:
    async def main() -> None:
        async with session() as (fake, venue):
            await venue.place(limit("hk-g1", Side.BUY, "0.25", "2900.00"))
            before = fake.next_nonce(ACCOUNT, KEY_INDEX)
            fake.faults.rate_limit(1, kinds=("exchange",))
            with pytest.raises(RateLimitedError):
                await venue.place(limit("hk-g2", Side.BUY, "0.25", "2899.00"))
            assert venue.nonces.peek == before  # given back: the venue never used it
            ack = await venue.place(limit("hk-g3", Side.BUY, "0.25", "2898.00"))
            assert ack.status is OrderStatus.OPEN
            assert fake.next_nonce(ACCOUNT, KEY_INDEX) == before + 1
            assert (venue.resigned, venue.nonces.fetches) == (0, 1)  # no refresh was needed

    run(main())


def test_auth_tokens_past_their_deadline_stop_growing_the_secrets_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bot renews its auth token every few minutes for weeks: the tokens that expired are
    retired from the by-value redaction registry (a live one, and the one it replaced until
    that one's deadline, stay masked), so the registry stays the size of the live tokens."""
    from lighter_adapterkit import credentials, new_key

    from hedgekit.secrets import redact, registered_count
    from hedgekit.venues.lighter import venue as venue_mod
    from hedgekit.venues.lighter.venue import LighterVenue

    now = [1_800_000_000.0]
    monkeypatch.setattr(venue_mod.time, "time", lambda: now[0])

    async def main() -> None:
        venue = LighterVenue("http://127.0.0.1:9", credentials(new_key()), auth_ttl_s=600.0)
        try:
            venue._auth()  # noqa: SLF001
            base = registered_count()
            tokens = []
            for _ in range(200):  # 200 renewals, 400 s apart (a third of the life left)
                now[0] += 400.0
                token = venue._auth()  # noqa: SLF001
                tokens.append(token)
                assert registered_count() <= base + 1
                live = token.reveal()
                assert redact(f"token={live} x").count(live) == 0  # the live one is masked
            # an expired one is no longer matched by value; its object stays masked
            old = tokens[0]
            assert old.reveal() in redact(f"expired {old.reveal()}")
            assert repr(old) == "Secret(***)" and str(old) == "***"
        finally:
            await venue.close()

    asyncio.run(main())
