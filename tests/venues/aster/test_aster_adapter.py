"""AsterVenue against the wire-level fake (FakeAster) on 127.0.0.1: orders, fills, positions,
margin and funding under V3 and V1 signing, and the faults a live venue throws (a lost answer,
the cancel-vs-fill race, a depth gap, a dropped socket with fills while it is down, an expired
listenKey, 30 orders at once)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from hedgekit._core import EthSigner
from hedgekit.errors import InvalidOrderError, OrderRejectedError, PostOnlyRejectedError
from hedgekit.model import (
    CancelResult,
    Fill,
    FundingPayment,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    StreamStatus,
    TimeInForce,
    VenueEvent,
)
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.venues import Venue
from hedgekit.venues.aster import AsterCredentials, AsterVenue
from hedgekit.venues.transport import Backoff, EventQueue

D = Decimal
SYM = "ETHUSDT"


def key_of(name: str) -> tuple[str, str]:
    key = hashlib.sha256(f"hedgekit-aster-adapter-{name}".encode()).hexdigest()
    return key, EthSigner(bytes.fromhex(key)).address


def run(main: Callable[[], Awaitable[None]], limit: float = 30.0) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await main()

    asyncio.run(bounded())


@asynccontextmanager
async def venue_on_fake(
    *, v1: bool = False, fake_kwargs: dict[str, Any] | None = None, **kwargs: Any
) -> AsyncIterator[tuple[FakeAster, AsterVenue, str]]:
    key, address = key_of("user")
    fk: dict[str, Any] = {"seed": 5, "depth_interval_s": 0.05, **(fake_kwargs or {})}
    if v1:
        fk["api_keys"] = {"the-api-key-1": ("the-api-secret-1", address)}
    else:
        fk["accounts"] = [address]
    async with FakeAster(**fk) as fake:
        creds = (
            AsterCredentials.v1(Secret("the-api-key-1"), Secret("the-api-secret-1"))
            if v1
            else AsterCredentials.v3(address, Secret(key))
        )
        kwargs.setdefault("dead_man_s", None)
        kwargs.setdefault("backoff", Backoff(0.05, 0.2, rng=random.Random(2)))
        venue = AsterVenue(
            fake.url, creds, ws_url=fake.ws_url, symbols=(SYM,), request_timeout_s=1.0, **kwargs
        )
        await venue.connect()
        try:
            await until(lambda: venue.quote(SYM) is not None, "first book")
            yield fake, venue, address
        finally:
            await venue.close()


async def until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout} s") from None


async def drain(events: EventQueue, quiet_s: float = 0.3) -> list[VenueEvent]:
    out: list[VenueEvent] = []
    for _ in range(1000):
        e = await events.get(timeout=quiet_s)
        if e is None:
            break
        out.append(e)
    return out


def buy(
    cid: str, px: Decimal, sz: str = "0.5", tif: TimeInForce = TimeInForce.POST_ONLY
) -> OrderRequest:
    return OrderRequest(SYM, Side.BUY, D(sz), px, cid, tif=tif)


def bid(venue: AsterVenue) -> Decimal:
    q = venue.quote(SYM)
    assert q is not None
    return q.bid


def test_it_is_a_venue_with_exact_instruments_and_a_live_book() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, _user):
            assert isinstance(venue, Venue)
            info = venue.instruments()[SYM]
            assert isinstance(info.rules.tick_size, Decimal) and info.rules.tick_size > 0
            assert info.rules.min_notional > 0
            q = venue.quote(SYM)
            assert q is not None and q.bid < q.ask
            assert venue.book(SYM).is_synced
            assert venue.funding_schedule(SYM).interval_s == info.funding_interval_s
            table = venue.margin_table(SYM)
            assert table is not None and table.max_leverage_at(D(0)) >= 1
            budgets = venue.http.limiter.budgets  # the venue's own rateLimits
            assert (budgets["ip"].capacity, budgets["orders"].capacity) == (2400, 1200)

    run(main)


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
def test_place_modify_status_cancel_round_trip(v1: bool) -> None:
    async def main() -> None:
        async with venue_on_fake(v1=v1) as (fake, venue, user):
            px = bid(venue) - 10
            ack = await venue.place(buy("rt-1", px))
            assert ack.status is OrderStatus.OPEN and ack.client_id == "rt-1"
            listed = await venue.open_orders(SYM)
            assert [(o.client_id, o.price) for o in listed] == [("rt-1", px)]
            mod = await venue.modify(SYM, "rt-1", price=px - 1, size=D("0.7"))
            assert mod.venue_order_id == ack.venue_order_id
            [rec] = fake.open_orders(user)
            assert (D(rec.price), D(rec.orig_qty)) == (px - 1, D("0.7"))
            st = await venue.order_status(SYM, client_id="rt-1")
            assert st is not None and st.status is OrderStatus.OPEN and st.size == D("0.7")
            assert await venue.cancel(SYM, client_id="rt-1") is CancelResult.CANCELLED
            assert fake.open_orders(user) == []
            again = await venue.cancel(SYM, venue_order_id=ack.venue_order_id)
            assert again is CancelResult.ALREADY_CANCELLED
            assert await venue.order_status(SYM, client_id="never") is None

    run(main)


def test_refusals_are_typed_and_an_unplaceable_order_is_never_sent() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, user):
            q = venue.quote(SYM)
            assert q is not None
            with pytest.raises(PostOnlyRejectedError):  # GTX: NEW → EXPIRED, unfilled
                await venue.place(buy("x-1", q.ask + 1))
            assert fake.open_orders(user) == [] and fake.fills(user) == []
            tick = venue.instruments()[SYM].rules.tick_size
            sent = fake.requests
            with pytest.raises(InvalidOrderError):
                await venue.place(buy("x-2", q.bid - 10 + tick / 3))
            with pytest.raises(InvalidOrderError):
                await venue.place(buy("x-3", q.bid - 10, sz="0.0001"))
            assert fake.requests == sent  # nothing reached the venue
            with pytest.raises(OrderRejectedError) as info:
                await venue.modify(SYM, "nope", price=q.bid - 10, size=D(1))
            assert info.value.definitive

    run(main)


def test_post_only_refused_synchronously_is_the_same_refusal() -> None:
    async def main() -> None:
        async with venue_on_fake(fake_kwargs={"post_only_reject": True}) as (fake, venue, user):
            q = venue.quote(SYM)
            assert q is not None
            with pytest.raises(PostOnlyRejectedError):  # -5022
                await venue.place(buy("x-1", q.ask + 1))
            assert fake.open_orders(user) == []

    run(main)


def test_fills_from_the_stream_positions_account_and_funding() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, user):
            events = venue.events()
            px = bid(venue)
            await venue.place(buy("f-1", px, sz="1"))
            fake.trade_against(SYM, Side.SELL, D(50), px)
            got = await drain(events, quiet_s=0.4)
            fills = [e for e in got if isinstance(e, Fill)]
            assert sum(f.size for f in fills) == D(1)
            assert all(f.client_id == "f-1" and f.price == px and f.is_maker for f in fills)
            assert fake.position(user, SYM) == D(1)
            assert any(isinstance(e, OrderUpdate) and e.status is OrderStatus.FILLED for e in got)
            pos = (await venue.positions())[SYM]
            assert pos.size == D(1) and pos.entry_price == px
            rest = await venue.fills(SYM)
            assert {(f.trade_id, f.size) for f in rest} == {(f.trade_id, f.size) for f in fills}
            acct = await venue.account()
            assert acct.collateral > 0 and acct.initial_margin > 0
            fake.set_funding_rate(SYM, D("0.0005"))
            fake.settle_funding(SYM)
            rates = await venue.funding_rates()
            assert rates[SYM].rate == D("0.0005")
            pays = await venue.funding_payments()
            assert pays and pays[-1].amount < 0  # a long pays a positive rate
            streamed = [e for e in await drain(events) if isinstance(e, FundingPayment)]
            assert streamed and streamed[-1].amount == pays[-1].amount

    run(main)


def test_market_order_and_leverage() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, user):
            req = OrderRequest(SYM, Side.SELL, D("0.3"), None, "m-1", order_type=OrderType.MARKET)
            ack = await venue.place(req)
            assert ack.status is OrderStatus.FILLED and ack.filled == D("0.3")
            assert fake.position(user, SYM) == D("-0.3")
            assert await venue.set_leverage(SYM, D(7)) == D(7)
            assert await venue.leverage(SYM) == D(7)
            pos = (await venue.positions())[SYM]
            assert pos.liquidation_price is None or pos.liquidation_price > pos.entry_price  # type: ignore[operator]

    run(main)


def test_a_lost_answer_to_a_place_is_resolved_by_a_status_query() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, user):
            fake.faults.lose_answer(1, kinds=("exchange",))
            ack = await venue.place(buy("lost-1", bid(venue) - 10))
            assert ack.status is OrderStatus.OPEN and ack.client_id == "lost-1"
            assert venue.resolved == 1
            assert len(fake.open_orders(user)) == 1  # found, not placed twice
            assert await venue.cancel(SYM, client_id="lost-1") is CancelResult.CANCELLED

    run(main)


def test_a_cancel_that_races_a_fill_is_already_filled_and_counted_once() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, _user):
            events = venue.events()
            await venue.place(buy("r-1", bid(venue)))
            fake.faults.cancel_fill_race(1, event_delay_s=0.2)
            assert await venue.cancel(SYM, client_id="r-1") is CancelResult.ALREADY_FILLED
            fills = [e for e in await drain(events, quiet_s=0.6) if isinstance(e, Fill)]
            assert sum(f.size for f in fills) == D("0.5")
            assert len({f.trade_id for f in fills}) == len(fills)

    run(main)


def test_a_depth_gap_is_resynchronised_from_a_fresh_snapshot() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, _user):
            fake.skip_depth_update(SYM)
            await until(lambda: venue.resyncs >= 1, "gap seen")
            await until(lambda: venue.book(SYM).is_synced, "resynchronised")
            fake.move_price(SYM, D(3100))
            await until(lambda: abs(venue.quote(SYM).mid - 3100) < 5, "book follows")  # type: ignore[union-attr]

    run(main)


def test_fills_while_the_socket_is_down_are_reconciled_and_counted_once() -> None:
    async def main() -> None:
        async with venue_on_fake(backoff=Backoff(0.3, 0.3, jitter=0)) as (fake, venue, _user):
            events = venue.events()
            await venue.place(buy("d-1", bid(venue)))
            await drain(events, quiet_s=0.2)
            fake.faults.drop_ws()
            fake.trade_against(SYM, Side.SELL, D(40), bid(venue))  # fills while we are down
            await until(lambda: venue.streams.user.connects == 2, "reconnect")
            await venue.streams.user.wait_ready(5)
            got = await drain(events, quiet_s=0.5)
            fills = [e for e in got if isinstance(e, Fill)]
            assert sum(f.size for f in fills) == D("0.5")
            assert len({f.trade_id for f in fills}) == len(fills)
            assert [e.connected for e in got if isinstance(e, StreamStatus)] == [False, True]
            back = next(i for i, e in enumerate(got) if isinstance(e, StreamStatus) and e.connected)
            assert all(i < back for i, e in enumerate(got) if isinstance(e, Fill))

    run(main)


def test_thirty_concurrent_orders_get_unique_nonces_and_are_all_accepted() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue, user):
            px = bid(venue) - 20
            acks = await asyncio.gather(
                *(venue.place(buy(f"c-{i}", px - i, sz="0.1")) for i in range(30))
            )
            assert all(a.status is OrderStatus.OPEN for a in acks)
            assert len(fake.open_orders(user)) == 30
            results = await asyncio.gather(
                *(venue.cancel(SYM, client_id=f"c-{i}") for i in range(30))
            )
            assert set(results) == {CancelResult.CANCELLED}

    run(main, limit=60)


def test_an_expired_listen_key_is_recreated_and_the_stream_resumes() -> None:
    async def main() -> None:
        async with venue_on_fake(listen_key_keepalive_s=0.2) as (fake, venue, user):
            await until(lambda: venue.keepalives >= 1, "keepalive")
            first = venue.listen_key
            assert fake.expire_listen_key(user) == 1
            await until(lambda: venue.listen_keys_created == 2, "new key")
            await until(lambda: venue.streams.user.readies == 2, "stream back")
            assert venue.listen_key != first or venue.listen_key in fake.listen_keys
            events = venue.events()
            await venue.place(buy("k-1", bid(venue)))
            fake.trade_against(SYM, Side.SELL, D(40), bid(venue))
            got = [e for e in await drain(events, quiet_s=0.4) if isinstance(e, Fill)]
            assert sum(f.size for f in got) == D("0.5")

    run(main)


def test_the_dead_man_switch_is_armed_while_connected() -> None:
    async def main() -> None:
        async with venue_on_fake(dead_man_s=6.0) as (fake, venue, user):
            await venue.place(buy("dm-1", bid(venue) - 10))
            await until(lambda: SYM in fake.account(user).countdown, "armed", timeout=5)
            assert venue.dead_man_until_ms is not None

    run(main)


def test_close_leaves_no_task_behind() -> None:
    async def main() -> None:
        before = asyncio.all_tasks()
        async with venue_on_fake(dead_man_s=6.0, listen_key_keepalive_s=0.1) as (_f, venue, _u):
            await venue.place(buy("t-1", bid(venue) - 10))
        await asyncio.sleep(0.05)
        assert asyncio.all_tasks() - before <= {asyncio.current_task()}

    run(main)


def test_secrets_never_reach_a_repr_or_a_log(caplog: pytest.LogCaptureFixture) -> None:
    key, _ = key_of("user")

    async def main() -> None:
        with caplog.at_level(logging.DEBUG):
            async with venue_on_fake() as (_f, venue, _u):
                await venue.place(buy("s-1", bid(venue) - 10))
                text = repr(venue) + repr(venue.http.signer)
                assert key not in text
        async with venue_on_fake(v1=True) as (_f, venue, _u):
            assert "the-api-secret-1" not in repr(venue) and "the-api-key-1" not in repr(venue)

    run(main)
    assert key not in caplog.text and "the-api-secret-1" not in caplog.text


def test_stream_events_older_by_e_do_not_undo_newer_ones_and_a_repeated_fill_counts_once() -> None:
    """Events may arrive out of order (venues.md §2.8): the order's state follows the latest
    ``E``; a fill is delivered once however many times its trade arrives."""

    async def main() -> None:
        async with venue_on_fake() as (_fake, venue, _user):
            events = venue.events()
            ack = await venue.place(buy("e-1", bid(venue) - 10))
            await drain(events, quiet_s=0.2)
            later = time.time_ns() // 1_000_000 + 60_000  # after every event the fake sent
            o = {"s": SYM, "c": "e-1", "S": "BUY", "o": "LIMIT", "f": "GTX", "q": "0.5",
                 "p": "1", "i": int(ack.venue_order_id), "T": 1, "t": 777, "m": True,
                 "L": "2990", "l": "0.5", "z": "0.5", "n": "0.01"}  # fmt: skip
            filled = {
                "e": "ORDER_TRADE_UPDATE",
                "E": later + 2_000,
                "o": {**o, "x": "TRADE", "X": "FILLED"},
            }
            stale = {
                "e": "ORDER_TRADE_UPDATE",
                "E": later + 1_000,
                "o": {**o, "x": "NEW", "X": "NEW", "z": "0"},
            }
            venue._start_ms = 0  # these invented events are older than the connection
            for msg in (filled, stale, filled):
                venue._on_user_event(msg)
            got = await drain(events, quiet_s=0.2)
            assert [e.trade_id for e in got if isinstance(e, Fill)] == [777]
            states = [e.status for e in got if isinstance(e, OrderUpdate)]
            assert OrderStatus.OPEN not in states  # the stale NEW was not delivered
            assert venue._orders["e-1"].status is OrderStatus.FILLED

    run(main)


def test_a_key_the_venue_forgot_silently_is_recreated_at_the_next_keepalive() -> None:
    async def main() -> None:
        async with venue_on_fake(listen_key_keepalive_s=0.2) as (fake, venue, _user):
            fake.listen_keys.clear()  # gone, and no listenKeyExpired was sent
            await until(lambda: venue.listen_keys_created == 2, "new key after -1125")
            await until(lambda: venue.streams.user.readies == 2, "stream on the new key")
            assert venue.listen_key in fake.listen_keys

    run(main)
