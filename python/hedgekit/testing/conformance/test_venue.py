"""The Venue protocol, judged on the venue's own truth: instruments, books, the order life
cycle, fills, positions, margin and funding. See ``docs/conformance.md``."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hedgekit.errors import InvalidOrderError, LeverageRejectedError, OrderRejectedError
from hedgekit.model import (
    AccountState,
    CancelResult,
    FundingPayment,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from hedgekit.testing.conformance.checks import (
    EventLog,
    min_size,
    passive_order,
    passive_price,
    post_only,
    quote_of,
)
from hedgekit.testing.conformance.harness import Hook, VenueHarness
from hedgekit.testing.conformance.plugin import HarnessFactory, needs, run_case
from hedgekit.venues.base import Venue

D = Decimal


def test_instruments_are_exact_and_their_rules_refuse_what_the_venue_refuses(
    harness: HarnessFactory,
) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        infos = venue.instruments()
        assert h.symbol in infos
        for symbol, info in infos.items():
            assert info.symbol == symbol
            rules = info.rules
            for value in (rules.tick_size, rules.step_size, rules.min_qty, rules.min_notional):
                assert isinstance(value, Decimal)
            assert rules.tick_size > 0 and rules.step_size > 0
            assert isinstance(info.maker_fee, Decimal) and isinstance(info.taker_fee, Decimal)
            assert info.funding_interval_s > 0
        for symbol, info in infos.items():
            rules = info.rules
            quote = await quote_of(h, venue, symbol)
            price = passive_price(rules, quote, Side.BUY, 50)
            size = min_size(rules, price)
            bad = [
                (price - rules.tick_size / 10, size),  # off the price grid
                (price, size + rules.step_size / 10),  # off the size step
                (price, rules.step_size),  # below the minimum size or notional, if any
            ]
            for i, (px, sz) in enumerate(bad):
                if rules.rejection(px, sz) is None:
                    continue  # no minimum to fall below on this instrument
                with pytest.raises(InvalidOrderError):
                    rules.check(px, sz)
                with pytest.raises((InvalidOrderError, OrderRejectedError)):
                    await venue.place(post_only(symbol, Side.BUY, sz, px, f"bad{i}"))
            assert await h.resting_orders(symbol) == []
            assert await h.orders_received(symbol) == 0

    run_case(harness, body)


def test_a_book_and_a_quote_after_connect(harness: HarnessFactory) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        for symbol in venue.instruments():
            quote = await quote_of(h, venue, symbol)
            assert quote.bid < quote.ask and quote.bid_size > 0 and quote.ask_size > 0
            assert quote.bid <= await h.mid(symbol) <= quote.ask
            book = venue.book(symbol)
            assert book.best_bid() == (quote.bid, quote.bid_size)
            assert book.best_ask() == (quote.ask, quote.ask_size)

    run_case(harness, body)


def test_a_post_only_order_rests_is_listed_found_by_both_ids_and_cancelled_once(
    harness: HarnessFactory,
) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        price, size = await passive_order(h, venue, 30)
        ack = await venue.place(post_only(h.symbol, Side.BUY, size, price, "rest1"))
        assert ack.status is OrderStatus.OPEN and ack.client_id == "rest1", (
            f"a post-only buy behind the touch was answered {ack!r}: expected OPEN under the "
            "client id 'rest1'"
        )
        assert ack.filled == 0 and ack.venue_order_id
        truth = await h.resting_orders(h.symbol)
        assert [(o.venue_order_id, o.side, o.price, o.size) for o in truth] == [
            (ack.venue_order_id, Side.BUY, price, size)
        ], f"the venue holds {truth}; the answer said {ack.venue_order_id} rests at {price}"
        listed = await venue.open_orders(h.symbol)
        assert [(r.venue_order_id, r.client_id, r.price, r.size, r.status) for r in listed] == [
            (ack.venue_order_id, "rest1", price, size, OrderStatus.OPEN)
        ]
        by_client = await venue.order_status(h.symbol, client_id="rest1")
        by_venue = await venue.order_status(h.symbol, venue_order_id=ack.venue_order_id)
        for report in (by_client, by_venue):
            assert report is not None and report.status is OrderStatus.OPEN
            assert (report.client_id, report.venue_order_id) == ("rest1", ack.venue_order_id)
            assert (report.side, report.price, report.size) == (Side.BUY, price, size)
            assert report.filled == 0
        first = await venue.cancel(h.symbol, client_id="rest1")
        assert first is CancelResult.CANCELLED, (
            f"the cancel of a resting order was answered {first.name}, not CANCELLED"
        )
        assert await h.resting_orders(h.symbol) == [], "the order still rests after its cancel"
        assert await venue.open_orders(h.symbol) == []
        again = await venue.cancel(h.symbol, client_id="rest1")
        assert again is CancelResult.ALREADY_CANCELLED, (
            f"a second cancel of a cancelled order was answered {again.name}: it must be "
            "ALREADY_CANCELLED (ask the order's status when the venue only says 'unknown')"
        )
        report = await venue.order_status(h.symbol, client_id="rest1")
        assert report is not None and report.status is OrderStatus.CANCELLED
        # by the venue's id too, and for an order on the other side
        sell_price, sell_size = await passive_order(h, venue, 30, Side.SELL)
        sell = await venue.place(post_only(h.symbol, Side.SELL, sell_size, sell_price, "rest2"))
        assert [(o.side, o.price, o.size) for o in await h.resting_orders(h.symbol)] == [
            (Side.SELL, sell_price, sell_size)
        ]
        assert [r.client_id for r in await venue.open_orders()] == ["rest2"]
        cancelled = await venue.cancel(h.symbol, venue_order_id=sell.venue_order_id)
        assert cancelled is CancelResult.CANCELLED
        assert await h.resting_orders(h.symbol) == []

    run_case(harness, body)


def test_a_crossing_post_only_order_is_refused_and_nothing_rests(harness: HarnessFactory) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        rules = venue.instruments()[h.symbol].rules
        quote = await quote_of(h, venue, h.symbol)
        size = min_size(rules, quote.ask)
        with pytest.raises(OrderRejectedError) as info:
            await venue.place(post_only(h.symbol, Side.BUY, size, quote.ask, "cross1"))
        assert info.value.definitive, "a crossing post-only order's refusal must be definitive"
        assert await h.resting_orders(h.symbol) == []
        assert await h.venue_fills(h.symbol) == []
        assert await venue.open_orders(h.symbol) == []

    run_case(harness, body)


def test_an_ioc_fill_arrives_once_with_exact_price_size_and_fee_and_positions_follow(
    harness: HarnessFactory,
) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        log = EventLog(venue.name, venue.events())
        rules = venue.instruments()[h.symbol].rules
        quote = await quote_of(h, venue, h.symbol)
        size = min(min_size(rules, quote.ask), rules.floor_size(quote.ask_size))
        log.register("ioc1", Side.BUY, size)
        request = OrderRequest(h.symbol, Side.BUY, size, quote.ask, "ioc1", tif=TimeInForce.IOC)
        ack = await venue.place(request)
        assert ack.status is OrderStatus.FILLED and ack.filled == size, (
            f"an IOC buy of {size} at the ask (enough size there) was answered {ack.status.name} "
            f"with {ack.filled} filled: expected FILLED with {size}"
        )
        await log.read_until(h, lambda: log.filled("ioc1") == size, "the fill on the stream")
        await log.drain(quiet_s=0.3)
        truth = await h.venue_fills(h.symbol)
        assert sum((f.size for f in truth), D(0)) == size
        events = log.fills("ioc1")
        assert log.duplicates == 0, (
            f"events() delivered {log.duplicates} fill(s) more than once (the same trade id "
            f"again: {sorted(str(f.trade_id) for f in events)}) with no reconnect in between: "
            "deliver each fill once"
        )
        assert log.unmatched == [], (
            f"events() delivered fills naming no order of ours: {log.unmatched}"
        )
        got = sorted(str(f.trade_id) for f in events)
        made = sorted(f.trade_id for f in truth)
        assert got == made, f"events() delivered the trades {got}; the venue made {made}"
        by_trade = {f.trade_id: f for f in truth}
        for f in events:
            t = by_trade[str(f.trade_id)]
            assert (f.price, f.size, f.fee, f.side, f.is_maker) == (
                t.price,
                t.size,
                t.fee,
                Side.BUY,
                False,
            ), (
                f"fill {f.trade_id} on events() says price {f.price}, size {f.size}, fee "
                f"{f.fee}, {f.side.value}, maker={f.is_maker}; the venue says {t.price}, "
                f"{t.size}, fee {t.fee}, buy, taker (exact Decimals, the fee a positive cost)"
            )
        rest = [f for f in await venue.fills(h.symbol) if f.client_id == "ioc1"]
        assert sorted((str(f.trade_id), f.price, f.size, f.fee) for f in rest) == sorted(
            (t.trade_id, t.price, t.size, t.fee) for t in truth
        ), f"fills() lists {rest}, which is not the venue's record {truth}"
        report = await venue.order_status(h.symbol, client_id="ioc1")
        assert report is not None and report.status is OrderStatus.FILLED, (
            f"order_status() of the filled IOC says {report!r}"
        )
        assert (report.filled, report.avg_price) == (size, quote.ask), (
            f"order_status() says filled {report.filled} at {report.avg_price}; it filled "
            f"{size} at {quote.ask}"
        )
        assert await h.position(h.symbol) == size
        position = (await venue.positions())[h.symbol]
        assert position.size == size and position.entry_price == quote.ask, (
            f"positions() says {position.size} at {position.entry_price}; the venue holds "
            f"{size} entered at {quote.ask}"
        )

    run_case(harness, body)


def test_a_reduce_only_order_on_a_flat_position_is_refused(harness: HarnessFactory) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        price, size = await passive_order(h, venue, 30, Side.SELL)
        request = OrderRequest(
            h.symbol, Side.SELL, size, price, "ro1", OrderType.LIMIT, TimeInForce.GTC, True
        )
        with pytest.raises(OrderRejectedError) as info:
            await venue.place(request)
        assert info.value.definitive and info.value.reason == "reduce_only", (
            f"a reduce-only order on a flat position was refused with reason "
            f"{info.value.reason!r}: the reason must be 'reduce_only' (definitive)"
        )
        assert await h.resting_orders(h.symbol) == []
        assert await h.position(h.symbol) == 0

    run_case(harness, body)


def test_modify_changes_price_and_size_and_the_new_venue_id_is_followed(
    harness: HarnessFactory,
) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        price, size = await passive_order(h, venue, 30)
        await venue.place(post_only(h.symbol, Side.BUY, size, price, "mod1"))
        new_price, _ = await passive_order(h, venue, 60)
        new_size = size + venue.instruments()[h.symbol].rules.step_size
        if not venue.supports_modify:
            with pytest.raises(NotImplementedError):
                await venue.modify(h.symbol, "mod1", price=new_price, size=new_size)
            return
        moved = await venue.modify(h.symbol, "mod1", price=new_price, size=new_size)
        assert moved.client_id == "mod1" and moved.status is OrderStatus.OPEN
        truth = await h.resting_orders(h.symbol)
        assert [(o.venue_order_id, o.price, o.size) for o in truth] == [
            (moved.venue_order_id, new_price, new_size)
        ]
        report = await venue.order_status(h.symbol, venue_order_id=moved.venue_order_id)
        assert report is not None and report.client_id == "mod1"
        assert (report.price, report.size, report.status) == (
            new_price,
            new_size,
            OrderStatus.OPEN,
        )
        assert await venue.cancel(h.symbol, client_id="mod1") is CancelResult.CANCELLED
        assert await h.resting_orders(h.symbol) == []

    run_case(harness, body)


def test_account_leverage_and_funding_have_their_shapes(harness: HarnessFactory) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        account = await venue.account()
        assert isinstance(account, AccountState)
        figures = (
            account.collateral,
            account.equity,
            account.available,
            account.initial_margin,
            account.maintenance_margin,
        )
        assert all(isinstance(x, Decimal) for x in figures)
        assert account.equity > 0 and 0 <= account.available <= account.equity
        table = venue.margin_table(h.symbol)
        cap = D(20) if table is None else table.max_leverage_at(D(0))
        target = min(cap, D(5))
        assert await venue.set_leverage(h.symbol, target) == target
        assert await venue.leverage(h.symbol) == target
        with pytest.raises(LeverageRejectedError):
            await venue.set_leverage(h.symbol, cap + 1)
        assert await venue.leverage(h.symbol) == target
        with pytest.raises(KeyError):
            await venue.leverage("NO-SUCH-SYMBOL")
        rates = await venue.funding_rates()
        for symbol in venue.instruments():
            rate = rates[symbol]
            assert isinstance(rate.rate, Decimal)
            assert rate.interval_s == venue.funding_schedule(symbol).interval_s > 0
        payments = await venue.funding_payments()
        assert all(isinstance(p, FundingPayment) for p in payments)
        assert [p.ts_ns for p in payments] == sorted(p.ts_ns for p in payments)

    run_case(harness, body)


@needs(Hook.TRUTH, Hook.MOVE_PRICE)
def test_a_price_move_through_a_resting_order_fills_it_as_maker_at_its_price(
    harness: HarnessFactory,
) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        log = EventLog(venue.name, venue.events())
        price, size = await passive_order(h, venue, 20)
        log.register("mv1", Side.BUY, size)
        await venue.place(post_only(h.symbol, Side.BUY, size, price, "mv1"))
        await h.move_price(h.symbol, price * D("0.99"))
        await log.read_until(h, lambda: log.filled("mv1") == size, "the fill of the move")
        assert all(f.price == price and f.is_maker for f in log.fills("mv1"))
        assert log.unmatched == []
        await log.read_until(
            h,
            lambda: any(
                isinstance(e, OrderUpdate) and e.client_id == "mv1" and e.status.is_terminal
                for e in log.events
            ),
            "the order's final update",
        )
        assert await h.position(h.symbol) == size
        assert (await venue.positions())[h.symbol].size == size
        assert await h.resting_orders(h.symbol) == []

    run_case(harness, body)


@needs(Hook.TRUTH, Hook.OUTSIDE_TRADE)
def test_a_partly_filled_order_cancelled_reports_exactly_the_part_that_filled(
    harness: HarnessFactory,
) -> None:
    async def body(h: VenueHarness, venue: Venue) -> None:
        log = EventLog(venue.name, venue.events())
        rules = venue.instruments()[h.symbol].rules
        # far behind the touch, alone at its price, so that outside flow can fill a part of it
        price, size = await passive_order(h, venue, 100)
        size *= 4
        part = rules.floor_size(size / 2)
        log.register("part1", Side.BUY, size)
        ack = await venue.place(post_only(h.symbol, Side.BUY, size, price, "part1"))
        await h.fill_resting(h.symbol, ack.venue_order_id, part)
        await log.read_until(h, lambda: log.filled("part1") == part, "the partial fill")
        report = await venue.order_status(h.symbol, client_id="part1")
        assert report is not None and report.status is OrderStatus.PARTIALLY_FILLED
        assert (report.filled, report.avg_price) == (part, price)
        assert [(r.status, r.filled) for r in await venue.open_orders(h.symbol)] == [
            (OrderStatus.PARTIALLY_FILLED, part)
        ]
        assert await venue.cancel(h.symbol, client_id="part1") is CancelResult.CANCELLED

        def final() -> list[OrderUpdate]:
            return [
                e
                for e in log.events
                if isinstance(e, OrderUpdate) and e.client_id == "part1" and e.status.is_terminal
            ]

        await log.read_until(h, lambda: bool(final()), "the cancel on the stream")
        # the venue's word on what filled never exceeds what filled (the tracker takes the
        # largest it hears: more would leave it waiting for fills that never come)
        said = [(e.status.name, e.filled) for e in final()]
        assert said == [(OrderStatus.CANCELLED.name, part)], (
            f"the stream's final update(s) of an order cancelled after {part} of it filled "
            f"said {said}: expected one CANCELLED with exactly {part} filled"
        )
        report = await venue.order_status(h.symbol, client_id="part1")
        assert report is not None and report.status is OrderStatus.CANCELLED
        assert report.filled == part
        truth = await h.venue_fills(h.symbol)
        assert sum((f.size for f in truth), D(0)) == part == log.filled("part1")
        assert await h.position(h.symbol) == part and await h.resting_orders(h.symbol) == []

    run_case(harness, body)


def test_every_subscriber_hears_every_event_and_close_leaves_no_task_behind(
    harness: HarnessFactory,
) -> None:
    h = harness()

    async def main() -> None:
        before = asyncio.all_tasks()
        venue = await h.start()
        try:
            logs = [EventLog(venue.name, venue.events()) for _ in range(2)]
            price, size = await passive_order(h, venue, 30)
            await venue.place(post_only(h.symbol, Side.BUY, size, price, "sub1"))
            assert await venue.cancel(h.symbol, client_id="sub1") is CancelResult.CANCELLED
            for log in logs:

                def ended(log: EventLog = log) -> bool:
                    return any(
                        isinstance(e, OrderUpdate) and e.status is OrderStatus.CANCELLED
                        for e in log.events
                    )

                await log.read_until(h, ended, "the cancel, for each subscriber")
        finally:
            await h.stop()
        await asyncio.sleep(0.1)
        left = {t for t in asyncio.all_tasks() - before if not t.done()}
        assert left == set()

    h.run(main)
