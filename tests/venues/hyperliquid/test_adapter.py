"""HyperliquidVenue against the wire-level fake (FakeHyperliquid) on 127.0.0.1: orders, fills,
positions, margin and funding, and the faults a live venue throws (lost answers, the
cancel-vs-fill race, a dropped or silent socket with fills while it is down)."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from hedgekit._core import EthSigner
from hedgekit.clock import LoopClock
from hedgekit.errors import (
    AmbiguousOutcomeError,
    InvalidArgumentError,
    InvalidOrderError,
    LeverageRejectedError,
    OrderRejectedError,
    PostOnlyRejectedError,
)
from hedgekit.model import (
    CancelResult,
    Fill,
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
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.venues import Venue
from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue
from hedgekit.venues.transport import Backoff, EventQueue

D = Decimal


def key_of(name: str) -> tuple[str, str]:
    key = hashlib.sha256(f"hedgekit-hl-adapter-{name}".encode()).hexdigest()
    return key, EthSigner(bytes.fromhex(key)).address


def run(main: Callable[[], Awaitable[None]], limit: float = 30.0) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await main()

    asyncio.run(bounded())


class AheadClock:
    """The venue's clock: the wall clock, ``ahead_ns`` ahead once a test moves it (a request
    that reaches the venue that much later than it was sent)."""

    def __init__(self) -> None:
        self._wall = LoopClock()
        self.ahead_ns = 0

    def now_ns(self) -> int:
        return self._wall.now_ns() + self.ahead_ns

    async def sleep(self, seconds: float) -> None:
        await self._wall.sleep(seconds)


def exchange_bodies(fake: FakeHyperliquid) -> list[dict[str, Any]]:
    """Every ``/exchange`` body the fake is handed from now on (by REST or a socket post), as
    received."""
    bodies: list[dict[str, Any]] = []
    handle = fake.exchange.handle

    def spy(body: object, now_ms: int) -> Any:
        assert isinstance(body, dict)
        bodies.append(body)
        return handle(body, now_ms)

    fake.exchange.handle = spy  # type: ignore[method-assign]
    return bodies


@asynccontextmanager
async def venue_on_fake(
    *,
    signer: str = "master",
    account: str | None = None,
    vault: str | None = None,
    fake_clock: AheadClock | None = None,
    **kwargs: Any,
) -> AsyncIterator[tuple[FakeHyperliquid, HyperliquidVenue]]:
    key, address = key_of(signer)
    master = account if account is not None else address
    accounts = [master] if vault is None else [master, vault]
    async with FakeHyperliquid(
        accounts=accounts, book_interval_s=0.05, seed=5, clock=fake_clock
    ) as fake:
        if master != address:
            fake.state.agents[address] = master  # the master approved this agent
        kwargs.setdefault("dead_man_s", None)
        kwargs.setdefault("request_timeout_s", 1.0)
        kwargs.setdefault("backoff", Backoff(0.05, 0.2, rng=random.Random(2)))
        venue = HyperliquidVenue(
            fake.url,
            HyperliquidCredentials(Secret(key), master, vault),
            symbols=("ETH",),
            **kwargs,
        )
        await venue.connect()
        try:
            yield fake, venue
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
    cid: str, px: str, sz: str = "0.5", tif: TimeInForce = TimeInForce.POST_ONLY
) -> OrderRequest:
    return OrderRequest("ETH", Side.BUY, D(sz), D(px), cid, tif=tif)


def test_it_is_a_venue_with_exact_instruments_and_a_live_book() -> None:
    async def main() -> None:
        async with venue_on_fake() as (_fake, venue):
            assert isinstance(venue, Venue)
            eth = venue.instruments()["ETH"]
            assert eth.rules.step_size == D("0.0001")  # szDecimals 4
            assert eth.rules.is_price_valid(D("3000.1")) and not eth.rules.is_price_valid(
                D("3000.12")
            )  # 6 - szDecimals = 2 decimals, 5 significant figures
            await until(lambda: venue.quote("ETH") is not None, "a book")
            q = venue.quote("ETH")
            assert q is not None and q.bid < q.ask
            assert venue.margin_table("ETH") is not None
            assert venue.funding_schedule("ETH").interval_s == 3600

    run(main)


def test_place_modify_status_cancel_round_trip() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            await until(lambda: venue.quote("ETH") is not None, "a book")

            def at(px: str) -> Decimal:
                return dict(venue.book("ETH").levels("bid", 20)).get(D(px), D(0))

            outside = at("2999.5")
            ack = await venue.place(buy("a1", "2999.5"))
            assert ack.status is OrderStatus.OPEN and ack.client_id == "a1"
            # our resting order shows in the public book, as on the real venue
            await until(lambda: at("2999.5") == outside + D("0.5"), "our order in the book")
            report = await venue.order_status("ETH", client_id="a1")
            assert report is not None and report.status is OrderStatus.OPEN
            assert report.price == D("2999.5") and report.size == D("0.5")
            moved = await venue.modify("ETH", "a1", price=D("2991"), size=D("0.4"))
            assert moved.venue_order_id != ack.venue_order_id  # a new oid, followed from now on
            by_new_id = await venue.order_status("ETH", venue_order_id=moved.venue_order_id)
            assert by_new_id is not None and by_new_id.client_id == "a1"
            assert by_new_id.price == D("2991") and by_new_id.size == D("0.4")
            assert await venue.cancel("ETH", client_id="a1") is CancelResult.CANCELLED
            assert fake.open_orders(venue.user) == []
            # a second cancel: the venue's one MissingOrder text, told apart by status
            assert await venue.cancel("ETH", client_id="a1") is CancelResult.ALREADY_CANCELLED
            assert await venue.order_status("ETH", client_id="never") is None
            assert venue.posted >= 3 and venue.rest_actions == 0  # orders went over the socket

    run(main)


def test_refusals_are_typed_and_an_unplaceable_order_is_never_sent() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            await until(lambda: venue.quote("ETH") is not None, "a book")
            with pytest.raises(PostOnlyRejectedError):
                await venue.place(buy("p1", "3005"))  # crosses the ask
            ioc = await venue.place(buy("i1", "2900", tif=TimeInForce.IOC))
            assert ioc.status is OrderStatus.EXPIRED and ioc.filled == 0
            sent = venue.posted
            with pytest.raises(InvalidOrderError) as info:
                await venue.place(buy("m1", "2990", sz="0.001"))  # $3 < $10
            assert info.value.reason == "below_min_notional"
            with pytest.raises(InvalidOrderError):
                await venue.place(buy("t1", "2990.123"))
            assert venue.posted == sent and fake.open_orders(venue.user) == []

    run(main)


def test_fills_from_the_stream_positions_and_account() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            events = venue.events()
            await venue.place(buy("f1", "2999.9", sz="1"))
            fake.trade_against("ETH", Side.SELL, D(40))  # sweeps the bids, ours included
            got = await drain(events)
            fills = [e for e in got if isinstance(e, Fill)]
            assert sum(f.size for f in fills) == D(1)
            assert all(f.client_id == "f1" and f.is_maker for f in fills)
            assert any(isinstance(e, OrderUpdate) and e.status is OrderStatus.FILLED for e in got)
            pos = (await venue.positions())["ETH"]
            assert pos.size == D(1) and pos.entry_price == D("2999.9")
            assert pos.leverage is not None
            account = await venue.account()
            assert account.initial_margin > 0 and account.equity > 0
            rest = await venue.fills("ETH")
            assert {f.trade_id for f in rest} == {f.trade_id for f in fills}
            report = await venue.order_status("ETH", client_id="f1")
            assert report is not None and report.status is OrderStatus.FILLED
            assert report.filled == D(1) and len(report.fills) == len(fills)

    run(main)


def test_market_order_margin_leverage_and_funding() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            await until(lambda: venue.quote("ETH") is not None, "a book")
            assert await venue.set_leverage("ETH", D(10)) == D(10)
            with pytest.raises(LeverageRejectedError):
                await venue.set_leverage("ETH", D(26))  # ETH's cap is 25
            ack = await venue.place(
                OrderRequest("ETH", Side.SELL, D("0.5"), None, "mk1", OrderType.MARKET)
            )
            assert ack.status is OrderStatus.FILLED and ack.filled == D("0.5")
            assert await venue.leverage("ETH") == D(10)
            pos = (await venue.positions())["ETH"]
            assert pos.size == D("-0.5") and pos.liquidation_price is not None
            assert pos.liquidation_price > pos.entry_price  # a short is liquidated above
            fake.set_funding_rate("ETH", D("0.0001"))
            rates = await venue.funding_rates()
            assert rates["ETH"].rate == D("0.0001") and rates["ETH"].interval_s == 3600
            fake.settle_funding()
            payments = await venue.funding_payments()
            assert len(payments) == 1 and payments[0].amount > 0  # shorts receive
            assert payments[0].position_size == D("-0.5")

    run(main)


def test_a_lost_answer_to_a_place_is_resolved_by_a_status_query() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            fake.faults.lose_answer(1, kinds=("ws_post",))
            ack = await venue.place(buy("lost1", "2990"))
            assert ack.status is OrderStatus.OPEN and ack.client_id == "lost1"
            assert venue.resolved == 1  # the answer was lost; the status query found it
            orders = fake.open_orders(venue.user)
            assert len(orders) == 1  # found, not placed twice
            assert await venue.cancel("ETH", client_id="lost1") is CancelResult.CANCELLED

    run(main)


def test_a_cancel_that_races_a_fill_is_already_filled_and_the_fill_counted_once() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            events = venue.events()
            await venue.place(buy("r1", "2999.9"))
            fake.faults.cancel_fill_race(1, event_delay_s=0.2)
            assert await venue.cancel("ETH", client_id="r1") is CancelResult.ALREADY_FILLED
            got = await drain(events, quiet_s=0.6)
            fills = [e for e in got if isinstance(e, Fill)]
            assert sum(f.size for f in fills) == D("0.5")
            assert len({f.trade_id for f in fills}) == len(fills)

    run(main)


def test_fills_while_the_socket_is_down_are_reconciled_and_counted_once() -> None:
    async def main() -> None:
        async with venue_on_fake(backoff=Backoff(0.3, 0.3, jitter=0)) as (fake, venue):
            events = venue.events()
            await venue.place(buy("d1", "2999.9"))
            await drain(events, quiet_s=0.2)
            fake.faults.drop_ws()
            fake.trade_against("ETH", Side.SELL, D(40))  # fills while we are disconnected
            await until(lambda: venue.stream.client.connects == 2, "reconnect")
            await venue.stream.client.wait_ready(5)
            got = await drain(events, quiet_s=0.5)
            fills = [e for e in got if isinstance(e, Fill)]
            assert sum(f.size for f in fills) == D("0.5")  # once, though userFillsByTime and
            assert len({f.trade_id for f in fills}) == len(fills)  # the snapshot both had it
            statuses = [e.connected for e in got if isinstance(e, StreamStatus)]
            assert statuses == [False, True]
            # the fill came before the stream said it was back (reconciled, then ready)
            back = next(i for i, e in enumerate(got) if isinstance(e, StreamStatus) and e.connected)
            assert all(i < back for i, e in enumerate(got) if isinstance(e, Fill))

    run(main)


def test_a_silent_socket_is_replaced_and_orders_wait_for_it_then_go() -> None:
    async def main() -> None:
        async with venue_on_fake(silence_timeout_s=0.4, keepalive_s=0.1) as (fake, venue):
            fake.faults.silence_ws()
            await until(lambda: venue.stream.client.silences >= 1, "silence detected")
            fake.faults.resume_ws()
            ack = await venue.place(buy("s1", "2990"))  # waits for the new socket, or REST
            assert ack.status is OrderStatus.OPEN
            assert len(fake.open_orders(venue.user)) == 1

    run(main)


def test_an_agent_signs_while_every_read_uses_the_master() -> None:
    async def main() -> None:
        _mkey, master = key_of("the-master")
        async with venue_on_fake(signer="agent", account=master) as (fake, venue):
            events = venue.events()
            assert venue.user == master.lower()
            await venue.place(buy("g1", "2999.9"))
            assert len(fake.open_orders(master)) == 1
            fake.trade_against("ETH", Side.SELL, D(40))
            got = await drain(events)
            assert sum(e.size for e in got if isinstance(e, Fill)) == D("0.5")
            assert (await venue.positions())["ETH"].size == D("0.5")

    run(main)


def test_the_dead_man_switch_is_armed_while_connected() -> None:
    async def main() -> None:
        async with venue_on_fake(dead_man_s=6) as (fake, venue):
            await until(lambda: venue.dead_man_until_ms is not None, "the switch armed")
            await venue.place(buy("dm1", "2990"))
            assert venue.dead_man_until_ms is not None
            fake.fire_scheduled_cancels(venue.dead_man_until_ms + 1)  # as if we had died
            report = await venue.order_status("ETH", client_id="dm1")
            assert report is not None and report.status is OrderStatus.CANCELLED
            assert report.reason == "scheduledCancel"

    run(main)


def test_close_leaves_no_task_behind() -> None:
    async def main() -> None:
        before = asyncio.all_tasks()
        async with venue_on_fake(dead_man_s=6) as (_fake, venue):
            await venue.place(buy("c1", "2990"))
        await venue.close()  # idempotent
        await asyncio.sleep(0)
        left = {t for t in asyncio.all_tasks() - before if not t.done()}
        assert left == set()

    run(main)


def test_a_vault_trades_and_is_read_on_its_own_account() -> None:
    async def main() -> None:
        _vkey, vault = key_of("a-vault")
        async with venue_on_fake(vault=vault) as (fake, venue):
            assert venue.user == vault.lower()
            ack = await venue.place(buy("v1", "2990"))
            assert ack.status is OrderStatus.OPEN
            assert len(fake.open_orders(vault)) == 1
            assert (await venue.order_status("ETH", client_id="v1")) is not None
            assert await venue.cancel("ETH", client_id="v1") is CancelResult.CANCELLED

    run(main)


def test_orders_go_by_rest_while_the_socket_is_down() -> None:
    async def main() -> None:
        async with venue_on_fake(backoff=Backoff(3.0, 3.0, jitter=0), gate_timeout_s=0.1) as (
            fake,
            venue,
        ):
            fake.faults.drop_ws()
            await until(lambda: not venue.ready, "the drop seen")
            ack = await venue.place(buy("rest1", "2990"))
            assert ack.status is OrderStatus.OPEN and venue.rest_actions == 1
            assert len(fake.open_orders(venue.user)) == 1

    run(main)


def test_an_order_accepted_then_cancelled_by_the_venue_is_reported_cancelled() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            events = venue.events()
            fake.faults.accept_then_cancel(1, delay_s=0.05)
            ack = await venue.place(buy("x1", "2990"))
            assert ack.status is OrderStatus.OPEN  # accepted ≠ live
            got = await drain(events)
            final = [e for e in got if isinstance(e, OrderUpdate) and e.client_id == "x1"][-1]
            assert final.status is OrderStatus.CANCELLED and final.reason == "marginCanceled"
            report = await venue.order_status("ETH", client_id="x1")
            assert report is not None and report.status is OrderStatus.CANCELLED

    run(main)


def test_concurrent_orders_get_unique_nonces_and_are_all_accepted() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            prices = [D(2900) + i for i in range(30)]
            acks = await asyncio.gather(
                *(venue.place(buy(f"n{i}", str(px), sz="0.01")) for i, px in enumerate(prices))
            )
            assert all(a.status is OrderStatus.OPEN for a in acks)
            assert len(fake.open_orders(venue.user)) == 30
            results = await asyncio.gather(
                *(venue.cancel("ETH", client_id=f"n{i}") for i in range(30))
            )
            assert set(results) == {CancelResult.CANCELLED}

    run(main)


def test_a_refused_modify_leaves_the_order_as_it_was() -> None:
    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            ack = await venue.place(buy("mod1", "2990"))
            with pytest.raises(OrderRejectedError) as info:
                await venue.modify("ETH", "mod1", price=D("2990"), size=D(1000))  # $3M
            assert info.value.reason == "insufficient_margin"
            report = await venue.order_status("ETH", client_id="mod1")
            assert report is not None and report.status is OrderStatus.OPEN
            assert report.size == D("0.5") and report.venue_order_id == ack.venue_order_id
            assert await venue.cancel("ETH", client_id="mod1") is CancelResult.CANCELLED
            assert fake.open_orders(venue.user) == []

    run(main)


def test_the_signing_key_never_reaches_a_repr_or_a_log(caplog: pytest.LogCaptureFixture) -> None:
    key, address = key_of("master")

    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            fake.faults.lose_answer(1, kinds=("ws_post",))
            await venue.place(buy("k1", "2990"))
            await venue.cancel("ETH", client_id="k1")
            texts = [
                repr(venue),
                repr(venue._signer),
                repr(HyperliquidCredentials(Secret(key), address)),
            ]
            assert all(key not in t for t in texts)

    with caplog.at_level("DEBUG"):
        run(main)
    assert caplog.records  # the session did log (the lost answer, the connection)
    assert all(key not in r.getMessage() for r in caplog.records)


def test_an_order_the_venue_cancelled_while_the_socket_was_down_is_reported_on_return() -> None:
    async def main() -> None:
        async with venue_on_fake(backoff=Backoff(0.4, 0.4, jitter=0)) as (fake, venue):
            events = venue.events()
            fake.faults.accept_then_cancel(1, delay_s=0.15)
            await venue.place(buy("gone1", "2990"))
            fake.faults.drop_ws()  # the venue's cancel happens while we are away
            await until(lambda: venue.stream.client.readies == 2, "back")
            got = await drain(events)
            back = next(i for i, e in enumerate(got) if isinstance(e, StreamStatus) and e.connected)
            cancelled = [
                i
                for i, e in enumerate(got)
                if isinstance(e, OrderUpdate)
                and e.client_id == "gone1"
                and e.status is OrderStatus.CANCELLED
            ]
            assert cancelled and cancelled[0] < back  # reconciled before "ready again"

    run(main)


def test_fills_are_read_page_after_page() -> None:
    async def main() -> None:
        key, address = key_of("pager")
        venue = HyperliquidVenue("http://127.0.0.1:9", HyperliquidCredentials(Secret(key), address))
        book = [
            {"coin": "ETH", "px": "3000", "sz": "0.01", "side": "B", "time": 1_000 + i // 3,
             "oid": 7, "tid": i, "crossed": False, "fee": "0"}
            for i in range(1_300)
        ]  # fmt: skip
        asked: list[int] = []

        async def info(body: dict[str, Any]) -> Any:
            assert body["type"] == "userFillsByTime"
            asked.append(body["startTime"])
            return [r for r in book if r["time"] >= body["startTime"]][:500]

        venue.http.info = info  # type: ignore[method-assign]
        try:
            fills = await venue.fills(since_ns=0)
        finally:
            await venue.close()
        assert [f.trade_id for f in fills] == list(range(1_300))  # each once, in order
        assert len(asked) >= 3 and asked == sorted(asked)

    run(main)


def test_open_orders_lists_what_rests_whoever_placed_it() -> None:
    """``open_orders`` is what ``hedgekit kill`` learns resting orders from: a second adapter
    on the same account (another process) sees the first one's orders, by their own cloids,
    and none once they are cancelled."""

    async def main() -> None:
        async with venue_on_fake() as (fake, venue):
            await until(lambda: venue.quote("ETH") is not None, "a book")
            await venue.place(buy("r1", "2999.5"))
            await venue.place(buy("r2", "2998", sz="0.3"))
            key, _ = key_of("master")
            other = HyperliquidVenue(
                fake.url,
                HyperliquidCredentials(Secret(key), venue.user, None),
                symbols=("ETH",),
                request_timeout_s=1.0,
                dead_man_s=None,
            )
            await other.connect()
            try:
                seen = await other.open_orders()
                assert [(r.price, r.size, r.status) for r in seen] == [
                    (D("2999.5"), D("0.5"), OrderStatus.OPEN),
                    (D("2998"), D("0.3"), OrderStatus.OPEN),
                ]
                assert {r.venue_order_id for r in seen} == {
                    str(o.oid) for o in fake.open_orders(venue.user)
                }
                assert await other.open_orders("BTC") == []
                for r in seen:
                    cancelled = await other.cancel("ETH", venue_order_id=r.venue_order_id)
                    assert cancelled is CancelResult.CANCELLED
                assert await venue.open_orders() == [] and fake.open_orders(venue.user) == []
            finally:
                await other.close()

    run(main)


def test_orders_and_modifies_carry_a_deadline_and_cancels_never_do() -> None:
    """``expiresAfter`` = nonce + the window on every placement and modify, by socket and by
    REST, signed (the fake recovers the signer from the hash that includes it, and the SDK
    does too); cancels, leverage and the dead-man switch carry none."""

    async def main() -> None:
        async with venue_on_fake(
            dead_man_s=6, backoff=Backoff(3.0, 3.0, jitter=0), gate_timeout_s=0.1
        ) as (fake, venue):
            assert venue.placement_window_ns == 4_000_000_000  # the default, 4 s
            await until(lambda: venue.dead_man_until_ms is not None, "the switch armed")
            bodies = exchange_bodies(fake)
            _, address = key_of("master")
            await venue.set_leverage("ETH", D(5))
            ack = await venue.place(buy("e1", "2990"))
            assert ack.status is OrderStatus.OPEN  # accepted: the stamped signature verified
            moved = await venue.modify("ETH", "e1", price=D("2989"), size=D("0.4"))
            assert moved.status is OrderStatus.OPEN
            assert await venue.cancel("ETH", client_id="e1") is CancelResult.CANCELLED
            fake.faults.drop_ws()
            await until(lambda: not venue.ready, "the drop seen")
            await venue.place(buy("e2", "2990"))
            assert await venue.cancel("ETH", client_id="e2") is CancelResult.CANCELLED
            assert venue.rest_actions == 2  # the second place and cancel went by REST
            kinds = [b["action"]["type"] for b in bodies if b["action"]["type"] != "scheduleCancel"]
            assert kinds == ["updateLeverage", "order", "batchModify", "cancel", "order", "cancel"]
            await until(
                lambda: any(b["action"]["type"] == "scheduleCancel" for b in bodies),
                "the switch refreshed",
            )
            for b in bodies:
                stamped = b["action"]["type"] in ("order", "batchModify")
                assert b["expiresAfter"] == (b["nonce"] + 4_000 if stamped else None)
                who = recover_agent_or_user_from_l1_action(
                    b["action"], b["signature"], None, b["nonce"], b["expiresAfter"], False
                )
                assert who.lower() == address.lower()
            assert fake.open_orders(venue.user) == []

    run(main)


def test_with_the_window_off_nothing_carries_a_deadline_and_no_window_is_stated() -> None:
    async def main() -> None:
        for off in (None, 0):
            async with venue_on_fake(placement_window_s=off) as (fake, venue):
                assert venue.placement_window_ns is None
                bodies = exchange_bodies(fake)
                await venue.place(buy("o1", "2990"))
                await venue.modify("ETH", "o1", price=D("2989"), size=D("0.4"))
                assert await venue.cancel("ETH", client_id="o1") is CancelResult.CANCELLED
                assert [b["action"]["type"] for b in bodies] == ["order", "batchModify", "cancel"]
                assert all(b["expiresAfter"] is None for b in bodies)
        creds = HyperliquidCredentials(Secret(key_of("x")[0]), key_of("x")[1])
        with pytest.raises(InvalidArgumentError):
            HyperliquidVenue("http://127.0.0.1:9", creds, placement_window_s=-1)
        # A window no longer than the wait for a reconnecting socket would expire every order
        # that waited: refused at construction, with both figures named.
        for window, gate in ((2.0, 2.0), (1.0, 2.0)):
            with pytest.raises(InvalidArgumentError, match="gate_timeout_s"):
                HyperliquidVenue(
                    "http://127.0.0.1:9", creds, placement_window_s=window, gate_timeout_s=gate
                )
        HyperliquidVenue("http://127.0.0.1:9", creds, placement_window_s=2.5, gate_timeout_s=2.0)

    run(main)


def test_a_placement_that_reaches_the_venue_after_its_deadline_is_refused_not_placed() -> None:
    """The venue's time is past the order's ``expiresAfter`` when it arrives (as when the
    request stalled inside the venue): a definitive ``expired`` refusal, no order, nothing
    filled, and the adapter forgets the order; a cancel at that time still works."""

    async def main() -> None:
        clock = AheadClock()
        async with venue_on_fake(placement_window_s=2.0, gate_timeout_s=1.0, fake_clock=clock) as (
            fake,
            venue,
        ):
            assert venue.placement_window_ns == 2_000_000_000
            await venue.place(buy("live1", "2990"))
            await until(lambda: venue.quote("ETH") is not None, "a book")
            clock.ahead_ns = 3_000_000_000  # every request now arrives 3 s "late"
            with pytest.raises(OrderRejectedError) as info:
                await venue.place(buy("late1", "2991"))
            assert info.value.reason == "expired" and info.value.definitive
            with pytest.raises(OrderRejectedError) as info:
                await venue.place(
                    OrderRequest("ETH", Side.SELL, D("0.5"), None, "late2", OrderType.MARKET)
                )
            assert info.value.reason == "expired"
            with pytest.raises(OrderRejectedError) as info:
                await venue.modify("ETH", "live1", price=D("2995"), size=D("0.5"))
            assert info.value.reason == "expired"
            assert await venue.order_status("ETH", client_id="late1") is None
            assert fake.fills(venue.user) == [] and fake.position(venue.user, "ETH") == 0
            [rest] = fake.open_orders(venue.user)  # the modify changed nothing
            assert rest.limit_px == D("2990") and rest.orig_sz == D("0.5")
            # a cancel carries no deadline, so it is never refused as stale
            assert await venue.cancel("ETH", client_id="live1") is CancelResult.CANCELLED
            assert fake.open_orders(venue.user) == []

    run(main)


def test_an_order_stalled_inside_the_venue_past_its_deadline_is_refused_not_executed() -> None:
    """The request is held before the venue applies it (a stall longer than the window): the
    order is refused as expired and never exists; a cancel stalled as long still cancels; with
    the window off the same stall lets the order execute late."""

    async def main() -> None:
        async with venue_on_fake(
            placement_window_s=1.0, gate_timeout_s=0.5, request_timeout_s=3.0
        ) as (fake, venue):
            fake.faults.stall(1, delay_s=1.5, kinds=("ws_post",))
            with pytest.raises(OrderRejectedError) as info:
                await venue.place(buy("st1", "2990"))
            assert info.value.reason == "expired"
            assert fake.open_orders(venue.user) == []
            assert await venue.order_status("ETH", client_id="st1") is None
            await venue.place(buy("st2", "2990"))
            fake.faults.stall(1, delay_s=1.5, kinds=("ws_post",))
            assert await venue.cancel("ETH", client_id="st2") is CancelResult.CANCELLED
        async with venue_on_fake(placement_window_s=None, request_timeout_s=3.0) as (fake, venue):
            fake.faults.stall(1, delay_s=1.5, kinds=("ws_post",))
            ack = await venue.place(buy("st3", "2990"))
            assert ack.status is OrderStatus.OPEN
            assert len(fake.open_orders(venue.user)) == 1

    run(main)


def test_a_stalled_order_whose_answer_was_given_up_never_appears_after_its_window() -> None:
    """The premise the tracker builds on: the answer times out while the request is stuck in
    the venue, the status queries find nothing (ambiguous); once the request reaches the
    venue, past its deadline, it is refused, so "not found" after the window stays true."""

    async def main() -> None:
        async with venue_on_fake(
            placement_window_s=1.0, gate_timeout_s=0.5, request_timeout_s=0.4
        ) as (fake, venue):
            bodies = exchange_bodies(fake)
            fake.faults.stall(1, delay_s=1.5, kinds=("ws_post",))
            with pytest.raises(AmbiguousOutcomeError):
                await venue.place(buy("gone1", "2990"))
            await until(lambda: len(bodies) == 1, "the stalled order reached the venue")
            assert fake.open_orders(venue.user) == [] and fake.fills(venue.user) == []
            assert await venue.order_status("ETH", client_id="gone1") is None

    run(main)
