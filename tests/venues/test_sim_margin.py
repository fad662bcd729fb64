"""Margin on the simulated venue: orders refused for margin with each venue's text, leverage caps,
liquidation at the liquidation price, auto-deleveraging, funding on each venue's schedule, the
account's figures against :mod:`hedgekit.risk`, and all of it through the remote venue."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import PERSONALITIES, RULES, market, order, venue_config

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import LeverageRejectedError, OrderRejectedError
from hedgekit.model import (
    AccountState,
    Deleverage,
    Fill,
    FundingPayment,
    Liquidation,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    Position,
    Side,
    TimeInForce,
    forced_fill_kind,
)
from hedgekit.risk import Account, FundingSchedule, PositionState, payments
from hedgekit.tracking import VenueSession
from hedgekit.venues import Venue
from hedgekit.venues.remote import RemoteVenue, VenueServer
from hedgekit.venues.sim import (
    ASTER_TABLE,
    DEFAULT_COLLATERAL,
    DeliveryConfig,
    Lat,
    LatencyConfig,
    MarginConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    hyperliquid,
)
from hedgekit.venues.sim.engine import MatchingEngine

D = Decimal
S = 1_000_000_000
HOUR = 3600 * S
STYLES = ("hyperliquid", "aster", "lighter")


async def drain(stream: Any, timeout: float = 1.0) -> list[Any]:
    """Every event delivered until the stream has been quiet for ``timeout`` seconds."""
    out = []
    while (ev := await stream.get(timeout)) is not None:
        out.append(ev)
    return out


def ioc(side: str, size: str, price: str) -> Any:
    return order(side, size, price, tif=TimeInForce.IOC)


def model_of(state: AccountState, positions: dict[str, Position], venue: SimVenue) -> Account:
    """The risk model's account built from what the venue reported (and its tables)."""
    return Account(
        state.collateral,
        {
            s: PositionState(p.size, p.entry_price, p.mark_price, p.leverage)
            for s, p in positions.items()
        },
        {s: venue.engine.margin_table(s) for s in venue.instruments()},
    )


# ------------------------------------------------------------------------- refusals for margin


@pytest.mark.parametrize(
    ("style", "text", "code"),
    [
        ("hyperliquid", "Insufficient margin to place order.", None),
        ("aster", "Margin is insufficient.", -2019),
    ],
)
def test_an_order_short_of_margin_is_refused_with_the_venues_answer(
    style: str, text: str, code: int | None
) -> None:
    # 100 of collateral at 20x carries 2,000 of notional: 25 at 100 needs 125 of initial margin.
    cfg = venue_config(style, margin=MarginConfig(collateral=D(100)))

    async def main() -> tuple[OrderRejectedError, list[Any], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        before = venue.engine.book_levels("ETH", 5)
        with pytest.raises(OrderRejectedError) as info:
            await venue.place(order("buy", "25", "99"))
        assert venue.engine.book_levels("ETH", 5) == before  # nothing rests
        return info.value, await drain(stream), venue

    err, events, venue = run_virtual(main())
    assert (err.message, err.code, err.reason) == (text, code, "insufficient_margin")
    assert events == [] and venue.engine.fills() == [] and venue.engine.open_orders() == []
    assert venue.engine.position("ETH") == 0 and venue.engine.check_invariants() == []


def test_lighter_refuses_for_margin_in_the_sequencer() -> None:
    cfg = venue_config("lighter", margin=MarginConfig(collateral=D(100)))

    async def main() -> tuple[Any, list[Any], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        ack = await venue.place(order("buy", "25", "99"))
        return ack, await drain(stream), venue

    ack, events, venue = run_virtual(main())
    assert ack.status is OrderStatus.OPEN  # sendTx answered 200
    [update] = events
    assert isinstance(update, OrderUpdate) and update.status is OrderStatus.REJECTED
    assert update.reason == "not enough margin to create the order"
    assert venue.engine.fills() == [] and venue.engine.open_orders() == []


@pytest.mark.parametrize("style", ["hyperliquid", "aster"])
def test_a_closing_order_is_never_refused_for_margin(style: str) -> None:
    # At 89 the long of 7 bought at 100.01 is below its initial margin, above its maintenance.
    cfg = venue_config(
        style,
        margin=MarginConfig(collateral=D(100)),
        mkt=market(script=(ScriptedEvent(1 * S, "mid", price=D(89)),)),
    )

    async def main() -> tuple[AccountState, Any, SimVenue]:
        venue = SimVenue(cfg)
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))
        await asyncio.sleep(2)
        short = await venue.account()  # the move ate the free margin
        with pytest.raises(OrderRejectedError):
            await venue.place(ioc("buy", "1", "89.01"))  # adding is refused
        ack = await venue.place(ioc("sell", "7", "89"))  # closing is accepted
        return short, ack, venue

    short, ack, venue = run_virtual(main())
    assert short.available == 0 and short.maintenance_margin < short.equity < short.initial_margin
    assert ack.status is OrderStatus.FILLED and venue.engine.position("ETH") == 0


def test_an_order_past_the_tiers_leverage_cap_is_refused() -> None:
    # Aster's brackets: 125x below 50,000 of notional, 100x from there.
    cfg = venue_config("aster", mkt=market(level_size=D(1000)))

    async def main() -> OrderRejectedError:
        venue = SimVenue(cfg)
        await venue.connect()
        assert await venue.set_leverage("ETH", D(125)) == 125
        await venue.place(ioc("buy", "400", "100.01"))  # 40,004 of notional: tier 0
        with pytest.raises(OrderRejectedError) as info:
            await venue.place(ioc("buy", "200", "100.01"))  # 60,000: tier 1 caps at 100x
        return info.value

    err = run_virtual(main())
    assert (err.code, err.reason) == (-2027, "leverage_above_cap")
    assert err.message == "Exceeded the maximum allowable position at current leverage."


# ------------------------------------------------------------------------------------ leverage


def test_leverage_above_the_cap_of_the_current_tier_is_refused() -> None:
    cfg = venue_config("aster", mkt=market(level_size=D(1000)))

    async def main() -> tuple[LeverageRejectedError, Decimal, Decimal, Position]:
        venue = SimVenue(cfg)
        await venue.connect()
        assert await venue.leverage("ETH") == 20  # Aster's default
        await venue.place(ioc("buy", "600", "100.01"))  # 60,000 of notional: tier 1, 100x
        with pytest.raises(LeverageRejectedError) as info:
            await venue.set_leverage("ETH", D(125))
        kept = await venue.leverage("ETH")
        now = await venue.set_leverage("ETH", D(100))
        return info.value, kept, now, (await venue.positions())["ETH"]

    err, kept, now, pos = run_virtual(main())
    assert (err.code, err.reason) == (-2027, "leverage_above_cap")
    assert err.message == "Exceeded the maximum allowable position at current leverage."
    assert kept == 20 and now == 100 and pos.leverage == 100
    assert ASTER_TABLE.max_leverage_at(D(60_000)) == 100


@pytest.mark.parametrize(("style", "cap"), [("hyperliquid", 25), ("lighter", 20)])
def test_leverage_caps_of_the_one_tier_venues(style: str, cap: int) -> None:
    cfg = venue_config(style)

    async def main() -> tuple[Decimal, str]:
        venue = SimVenue(cfg)
        await venue.connect()
        ok = await venue.set_leverage("ETH", D(cap))
        with pytest.raises(LeverageRejectedError) as info:
            await venue.set_leverage("ETH", D(cap + 1))
        with pytest.raises(LeverageRejectedError):
            await venue.set_leverage("ETH", D("2.5"))  # whole numbers only
        return ok, info.value.message

    ok, text = run_virtual(main())
    assert ok == cap and text == PERSONALITIES[style]().leverage_text


def test_lowering_leverage_below_what_the_position_needs_is_refused() -> None:
    cfg = venue_config("hyperliquid", margin=MarginConfig(collateral=D(100)))

    async def main() -> tuple[OrderRejectedError, Decimal]:
        venue = SimVenue(cfg)
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))  # 700 at 20x: 35 of initial margin
        with pytest.raises(OrderRejectedError) as info:
            await venue.set_leverage("ETH", D(5))  # 140 > equity
        return info.value, await venue.leverage("ETH")

    err, lev = run_virtual(main())
    assert err.reason == "insufficient_margin" and lev == 20


# --------------------------------------------------------------------------------- liquidation


@pytest.mark.parametrize("style", STYLES)
def test_a_fast_move_past_the_liquidation_price_liquidates(style: str) -> None:
    cfg = venue_config(
        style,
        margin=MarginConfig(collateral=D(100)),
        mkt=market(script=(ScriptedEvent(2 * S, "mid", price=D(80)),)),
    )

    async def main() -> dict[str, Any]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))
        await venue.place(order("sell", "1", "110", client_id="resting"))
        pos = (await venue.positions())["ETH"]
        model = venue.engine.risk_account()
        await drain(stream, 0.5)  # the entry's own fill and updates
        await asyncio.sleep(2)
        return {
            "venue": venue,
            "pos": pos,
            "model": model,
            "events": await drain(stream),
            "after": await venue.account(),
            "positions": await venue.positions(),
        }

    r = run_virtual(main())
    venue, model, pos = r["venue"], r["model"], r["pos"]
    liq = model.liquidation_price("ETH")
    assert liq is not None and pos.liquidation_price == liq  # the venue reports the model's
    expected_px = (liq / D("0.01")).to_integral_value(ROUND_CEILING) * D("0.01")
    [liquidation] = [e for e in r["events"] if isinstance(e, Liquidation)]
    [forced] = [e for e in r["events"] if isinstance(e, Fill)]
    [cancelled] = [e for e in r["events"] if isinstance(e, OrderUpdate)]
    assert (liquidation.side, liquidation.size, liquidation.price) == (Side.SELL, D(7), expected_px)
    assert forced.trade_id == liquidation.trade_id and forced.price == expected_px
    assert forced_fill_kind(forced.client_id) == "liquidation"
    assert forced.client_id == PERSONALITIES[style]().liquidation_client_id.format(n=1)
    rate = PERSONALITIES[style]().fees.taker_rate
    assert forced.fee == (expected_px * 7 * rate).quantize(D("0.000001"))
    assert cancelled.client_id == "resting" and cancelled.status is OrderStatus.CANCELLED
    assert cancelled.reason == PERSONALITIES[style]().liquidation_cancel_text
    # Flat, and the collateral is what the model's equity was at the liquidation price, less the
    # fee.
    assert r["positions"] == {} and venue.engine.open_orders() == []
    after = r["after"]
    assert after.collateral == model.with_mark("ETH", expected_px).equity - forced.fee
    assert after.equity == after.collateral and after.maintenance_margin == 0
    assert (
        model.with_mark("ETH", expected_px).equity
        >= model.with_mark("ETH", expected_px).maintenance_margin
    )
    assert venue.engine.check_invariants() == []


def test_a_short_is_liquidated_on_a_move_up_at_its_price_rounded_down() -> None:
    cfg = venue_config(
        "hyperliquid",
        margin=MarginConfig(collateral=D(100), liquidation_fee_rate=D("0.01")),
        mkt=market(script=(ScriptedEvent(2 * S, "mid", price=D(120)),)),
    )

    async def main() -> tuple[Account, list[Any], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(ioc("sell", "7", "100"))
        model = venue.engine.risk_account()
        await drain(stream, 0.5)
        await asyncio.sleep(2)
        return model, await drain(stream), venue

    model, events, venue = run_virtual(main())
    liq = model.liquidation_price("ETH")
    assert liq is not None
    px = (liq / D("0.01")).to_integral_value(rounding="ROUND_FLOOR") * D("0.01")
    [liquidation] = [e for e in events if isinstance(e, Liquidation)]
    [fill] = [e for e in events if isinstance(e, Fill)]
    assert (liquidation.side, liquidation.price, fill.price) == (Side.BUY, px, px)
    assert fill.fee == (px * 7 * D("0.01")).quantize(D("0.000001"))  # the configured fee
    assert venue.engine.collateral == model.with_mark("ETH", px).equity - fill.fee
    assert venue.engine.check_invariants() == []


def test_a_move_that_stays_short_of_the_liquidation_price_liquidates_nothing() -> None:
    cfg = venue_config(
        "hyperliquid",
        margin=MarginConfig(collateral=D(100)),
        mkt=market(script=(ScriptedEvent(2 * S, "mid", price=D(88)),)),  # liq ≈ 87.52
    )

    async def main() -> tuple[list[Any], SimVenue]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))
        await drain(stream, 0.5)
        await asyncio.sleep(2)
        return await drain(stream), venue

    events, venue = run_virtual(main())
    assert events == [] and venue.engine.position("ETH") == 7


def test_a_venue_may_not_report_its_liquidation_price() -> None:
    cfg = venue_config(
        personality=hyperliquid(reports_liquidation_price=False),
        margin=MarginConfig(collateral=D(100)),
    )

    async def main() -> Position:
        venue = SimVenue(cfg)
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))
        return (await venue.positions())["ETH"]

    pos = run_virtual(main())
    assert pos.liquidation_price is None and pos.leverage == 20


# ------------------------------------------------------------------------------------------ ADL


@pytest.mark.parametrize("style", STYLES)
def test_adl_reduces_the_position_at_the_mark(style: str) -> None:
    cfg = venue_config(style, mkt=market(script=(ScriptedEvent(2 * S, "adl", size=D(3)),)))

    async def main() -> tuple[list[Any], list[Any], SimVenue, Decimal]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))
        await drain(stream, 0.5)
        before = venue.engine.collateral
        await asyncio.sleep(2)
        scripted = await drain(stream)
        venue.adl("ETH", D(10))  # more than is left: takes the rest
        return scripted, await drain(stream), venue, before

    scripted, rest, venue, before = run_virtual(main())
    p = PERSONALITIES[style]()
    [adl] = [e for e in scripted if isinstance(e, Deleverage)]
    [fill] = [e for e in scripted if isinstance(e, Fill)]
    assert (adl.side, adl.size, adl.price) == (Side.SELL, D(3), D(100))
    assert (fill.size, fill.price, fill.fee, fill.trade_id) == (D(3), D(100), 0, adl.trade_id)
    assert (fill.side, forced_fill_kind(fill.client_id)) == (Side.SELL, "adl")
    assert fill.client_id == p.adl_client_id.format(n=1)
    [second] = [e for e in rest if isinstance(e, Deleverage)]
    assert second.size == 4 and venue.engine.position("ETH") == 0
    # Both reductions realised their loss against the entry, without a fee.
    assert venue.engine.collateral == before + 7 * (D(100) - D("100.01"))
    assert venue.engine.adl(0, "ETH", D(1)) == []  # flat: nothing
    assert venue.engine.check_invariants() == []
    assert len(venue.engine.fills()) == 3


def test_scripted_adl_needs_a_positive_size() -> None:
    with pytest.raises(ValueError, match="needs"):
        ScriptedEvent(0, "adl")
    with pytest.raises(ValueError, match="positive"):
        ScriptedEvent(0, "adl", size=D(0))


# -------------------------------------------------------------------------------------- funding


def test_funding_over_24_hours_on_an_8_hourly_venue_and_an_hourly_one() -> None:
    rate = D("0.0001")
    hl = venue_config("hyperliquid", mkt=market(funding_rate=rate), book_heartbeat_ns=0)
    ast = venue_config("aster", mkt=market(funding_rate=rate), book_heartbeat_ns=0)
    fast = dataclasses.replace(
        venue_config("aster", name="aster4h", mkt=market(funding_rate=rate), book_heartbeat_ns=0),
        instruments=(
            SimInstrument(
                "ETH", RULES["aster"], market(funding_rate=rate), funding_interval_s=4 * 3600
            ),
        ),
    )

    async def main() -> dict[str, Any]:
        venues = {c.name: SimVenue(c) for c in (hl, ast, fast)}
        streams = {n: v.events() for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        t0 = venues["hyperliquid"].start_ns
        await venues["hyperliquid"].place(ioc("buy", "1", "100.01"))  # long pays
        await venues["aster"].place(ioc("sell", "1", "100"))  # short receives
        await venues["aster4h"].place(ioc("sell", "1", "100"))
        await asyncio.sleep(24 * 3600 + 1)
        out: dict[str, Any] = {"t0": t0}
        for n, v in venues.items():
            events = await drain(streams[n])
            out[n] = (
                [e for e in events if isinstance(e, FundingPayment)],
                await v.funding_payments(),
                await v.account(),
                (await v.positions())["ETH"],
                v,
            )
        return out

    r = run_virtual(main())
    t0 = r["t0"]
    for name, hours, sign in (("hyperliquid", 1, -1), ("aster", 8, 1), ("aster4h", 4, 1)):
        stream, booked, account, pos, venue = r[name]
        schedule = venue.funding_schedule("ETH")
        assert schedule == FundingSchedule.periodic(hours * 3600)
        expected = payments(schedule, pos.size, rate, D(100), t0, t0 + 24 * HOUR)
        assert len(expected) == 24 // hours
        assert stream == booked  # the stream and the REST history agree
        assert [(p.ts_ns, p.amount) for p in booked] == [(e.ts_ns, e.amount) for e in expected]
        assert all(p.amount == sign * D("0.01") for p in booked)  # 1 x 100 x 0.0001
        total = sum((p.amount for p in booked), D(0))
        assert pos.funding == total
        fees = sum((f.fee for f in venue.engine.fills()), D(0))
        assert account.collateral == DEFAULT_COLLATERAL - fees + total
        assert venue.engine.check_invariants() == []
    assert len(r["hyperliquid"][1]) == 24 and len(r["aster"][1]) == 3 and len(r["aster4h"][1]) == 6


def test_continuous_funding_is_realised_pro_rata_every_step() -> None:
    # A continuous venue: 0.0001 per hour accrues pro rata and is realised every 7 min (420 s,
    # not a divisor of the hour): each payment -size x mark x rate x 420 / 3600, exact.
    rate = D("0.0001")
    cfg = dataclasses.replace(
        venue_config("hyperliquid", mkt=market(funding_rate=rate), book_heartbeat_ns=0),
        instruments=(
            SimInstrument(
                "ETH", RULES["hyperliquid"], market(funding_rate=rate), funding_continuous_s=420
            ),
        ),
    )

    async def main() -> tuple[SimVenue, list[FundingPayment], list[Any], int]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(ioc("sell", "3", "100"))  # a short receives under a positive rate
        await asyncio.sleep(2 * 3600 + 1)
        return venue, await venue.funding_payments(), await drain(stream), venue.start_ns

    venue, booked, events, t0 = run_virtual(main())
    assert venue.funding_schedule("ETH") == FundingSchedule.continuous(3600)
    assert [p.ts_ns - t0 for p in booked] == [k * 420 * S for k in range(1, 18)]
    # 3 x 100 x 0.0001 x 420 / 3600 each
    assert all((p.amount, p.position_size, p.price) == (D("0.0035"), -3, 100) for p in booked)
    assert [e for e in events if isinstance(e, FundingPayment)] == booked
    assert venue.engine.positions(t0)["ETH"].funding == D("0.0035") * 17
    rate_now = venue.engine.funding_rates(t0 + HOUR)["ETH"]
    assert rate_now.interval_s == 3600 and rate_now.next_funding_ns == t0 + HOUR  # always due
    assert venue.engine.check_invariants() == []


def test_funding_rates_name_the_next_settlement_of_the_schedule() -> None:
    cfg = dataclasses.replace(
        venue_config("aster"),
        instruments=(SimInstrument("ETH", RULES["aster"], market(), funding_interval_s=4 * 3600),),
    )

    async def main() -> tuple[Any, int]:
        venue = SimVenue(cfg)
        await venue.connect()
        await asyncio.sleep(5 * 3600)
        return (await venue.funding_rates())["ETH"], venue.now_ns()

    rate, now = run_virtual(main())
    schedule = FundingSchedule.aster(4)
    last = schedule.last_settlement(now)
    assert last is not None
    assert (rate.interval_s, rate.next_funding_ns) == (4 * 3600, last + 4 * HOUR)


# ----------------------------------------------------------------------- the account vs the model


def _two_symbols(collateral: Decimal, style: str = "aster") -> SimVenueConfig:
    base = venue_config(style, margin=MarginConfig(collateral=collateral))
    return dataclasses.replace(
        base,
        instruments=(
            SimInstrument("ETH", RULES[style], market(level_size=D(50))),
            SimInstrument(
                "BTC",
                RULES[style],
                market(mid=D(1000), tick=D("0.1"), level_size=D(5)),
                leverage=D(10),
            ),
        ),
    )


@pytest.mark.parametrize("style", STYLES)
def test_the_accounts_figures_are_the_risk_models(style: str) -> None:
    cfg = _two_symbols(D(2000), style)

    async def main() -> tuple[list[tuple[AccountState, dict[str, Position]]], SimVenue]:
        venue = SimVenue(cfg)
        await venue.connect()
        snaps = [(await venue.account(), await venue.positions())]
        await venue.place(ioc("buy", "12", "100.02"))
        await venue.place(dataclasses.replace(ioc("sell", "3", "999.9"), symbol="BTC"))
        snaps.append((await venue.account(), await venue.positions()))
        t = venue.now_ns()
        venue.emit(t, venue.engine.set_mid(t, "ETH", D("97.3")))
        venue.emit(t, venue.engine.set_mid(t, "BTC", D("1012.5")))
        snaps.append((await venue.account(), await venue.positions()))
        return snaps, venue

    snaps, venue = run_virtual(main())
    assert venue.engine.check_invariants() == []
    for state, positions in snaps:
        model = model_of(state, positions, venue)
        assert (state.equity, state.available, state.initial_margin, state.maintenance_margin) == (
            model.equity,
            model.available,
            model.initial_margin,
            model.maintenance_margin,
        )
        for s, p in positions.items():
            assert p.liquidation_price == model.liquidation_price(s)
    state, positions = snaps[-1]
    assert set(positions) == {"ETH", "BTC"} and positions["BTC"].leverage == 10
    assert state.maintenance_margin > 0 and state.initial_margin > state.maintenance_margin


_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 120),
            st.integers(-30, 30),
        ),
        st.tuples(st.just("mid"), st.integers(-1500, 1500)),
        st.tuples(st.just("funding"), st.integers(-50, 50)),
        st.tuples(st.just("adl"), st.integers(1, 20)),
    ),
    min_size=3,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops=_OPS, style=st.sampled_from(STYLES), collateral=st.integers(20, 400))
def test_engine_margin_properties(ops: list[tuple[Any, ...]], style: str, collateral: int) -> None:
    """Random orders, marks, funding and ADL on a small account: the engine's invariants hold
    (collateral conserved), its figures are the model's, an order is refused for margin exactly
    when the model refuses it, the fast margin filter never accepts what the model refuses, and
    the account is never left liquidatable."""
    p = PERSONALITIES[style]()
    inst = SimInstrument("ETH", RULES[style], market(level_size=D(100), levels=10))
    e = MatchingEngine(style, p, [inst], margin=MarginConfig(collateral=D(collateral)))
    margin_texts = (p.insufficient_margin_text, p.max_position_text)
    now = 0
    for i, op in enumerate(ops):
        now += S
        if op[0] == "order":
            _, side, qty, offset = op
            mid = e.mid("ETH")
            assert mid is not None
            # qty: a percentage of what the starting collateral carries at 20x
            price = max(mid + D(offset) / 10, D("0.01"))
            size = max((D(collateral * 20 * qty) / 100 / mid).quantize(D("0.1")), D("0.1"))
            m = e._markets["ETH"]
            exact = e.risk_account().can_open("ETH", side, size, price, m.leverage)
            assert exact.ok or not e._surely_within_margin(m, size, price)
            out = e.place(
                now, OrderRequest("ETH", Side(side), size, price, f"o{i}", tif=TimeInForce.IOC)
            )
            rejected = [
                ev.reason
                for ev in out.events
                if isinstance(ev, OrderUpdate) and ev.status is OrderStatus.REJECTED
            ]
            reasons = rejected + ([out.error.message] if out.error is not None else [])
            if not any(r not in margin_texts for r in reasons):  # refused for nothing else
                assert bool(reasons) == (not exact.ok)
        elif op[0] == "mid":
            e.set_mid(now, "ETH", max(D(100) + D(op[1]) / 100, D(1)))
        elif op[0] == "funding":
            e.set_funding_rate("ETH", D(op[1]) / 10_000)
            e.settle_funding(now, "ETH")
        else:
            e.adl(now, "ETH", D(op[1]) / 10)
        assert e.check_invariants() == []
        a = e.risk_account()
        state = e.account(now)
        assert (state.collateral, state.equity, state.maintenance_margin) == (
            a.collateral,
            a.equity,
            a.maintenance_margin,
        )
        positions = e.positions(now)
        if positions:
            assert positions["ETH"].liquidation_price == a.liquidation_price("ETH")
        assert not a.is_liquidatable


# ------------------------------------------------------------------------------------- tracking


@pytest.mark.parametrize("style", ["aster", "hyperliquid", "lighter"])
def test_a_liquidation_fill_is_counted_once_by_the_ledger_and_positions_agree(style: str) -> None:
    """A fill the venue forces on our position (a liquidation: no order of ours) is counted by
    the ledger once — also when it arrives twice — the positions our fills imply follow the
    venue to flat, reconciliation finds nothing apart, and listeners are told."""
    cfg = venue_config(
        style,
        margin=MarginConfig(collateral=D(100)),
        mkt=market(script=(ScriptedEvent(2 * S, "mid", price=D(80)),)),
        delivery=DeliveryConfig(p_dup=1.0),
    )

    async def main() -> dict[str, Any]:
        venue = SimVenue(cfg)
        await venue.connect()
        clock = LoopClock()
        ledger = FillLedger()
        session = VenueSession(venue, ledger, clock)
        forced: list[tuple[str, str]] = []
        session.add_forced_fill_listener(lambda f, kind: forced.append((f.client_id, kind)))
        await session.start()
        await session.place(ioc("buy", "7", "100.01"))
        await asyncio.sleep(10)
        await session.reconcile_now("check")
        out = {
            "forced": forced,
            "anomalies": [a.kind for a in session.tracker.anomalies],
            "expected": session.expected_positions(),
            "venue": await venue.positions(),
            "mismatches": session.last_mismatches,
            "unmatched": session.tracker.unmatched_fills,
            "ledger": [ledger.order(venue.name, cid) for cid, _ in forced],
        }
        await session.close()
        return out

    r = run_virtual(main(), max_virtual_s=120)
    [(cid, kind)] = r["forced"]
    assert kind == "liquidation" and "#" in cid
    assert "liquidation" in r["anomalies"] and "unmatched_fill" not in r["anomalies"]
    assert r["unmatched"] == ()
    assert r["expected"] in ({}, {"ETH": D(0)}) and r["venue"] == {}
    assert r["mismatches"] == []
    [counted] = r["ledger"]
    assert counted is not None and counted.filled == D(7)


# --------------------------------------------------------------------------------------- remote


def test_the_remote_venue_carries_margin_calls_and_events() -> None:
    instant = LatencyConfig(Lat(), Lat(), Lat(), Lat())
    cfg = venue_config(
        "hyperliquid",
        margin=MarginConfig(collateral=D(100)),
        latency=instant,
        mkt=market(funding_rate=D("0.0001")),
        book_heartbeat_ns=0,
    )

    async def main() -> None:
        venue = SimVenue(cfg, LoopClock())
        await venue.connect()
        async with VenueServer(venue) as server:
            remote = RemoteVenue(venue.name, "127.0.0.1", server.port, request_timeout_s=5)
            async with asyncio.timeout(30):
                await remote.connect()
                assert isinstance(remote, Venue) and isinstance(venue, Venue)
                stream = remote.events()
                assert remote.funding_schedule("ETH") == venue.funding_schedule("ETH")
                assert await remote.leverage("ETH") == 20
                assert await remote.set_leverage("ETH", D(10)) == 10
                assert venue.engine.leverage("ETH") == 10
                with pytest.raises(LeverageRejectedError) as info:
                    await remote.set_leverage("ETH", D(26))
                assert info.value.message == hyperliquid().leverage_text
                with pytest.raises(OrderRejectedError) as refused:
                    await remote.place(ioc("buy", "20", "100.01"))
                assert refused.value.reason == "insufficient_margin"
                assert refused.value.message == "Insufficient margin to place order."
                await remote.place(ioc("buy", "7", "100.01"))
                remote_pos = (await remote.positions())["ETH"]
                assert remote_pos == dataclasses.replace(
                    (await venue.positions())["ETH"], ts_ns=remote_pos.ts_ns
                )
                assert remote_pos.liquidation_price is not None and remote_pos.leverage == 10
                state = await remote.account()
                assert state == dataclasses.replace(await venue.account(), ts_ns=state.ts_ns)

                t = venue.now_ns()
                venue.emit(t, venue.engine.settle_funding(t, "ETH"))
                venue.adl("ETH", D(2))
                t = venue.now_ns()
                venue.emit(t, venue.engine.set_mid(t, "ETH", D(50)))
                got: list[Any] = []
                while (
                    not any(isinstance(e, Liquidation) for e in got)
                    or sum(isinstance(e, Fill) for e in got) < 3
                ):
                    ev = await stream.get(5)
                    assert ev is not None, got
                    got.append(ev)
                [funding] = [e for e in got if isinstance(e, FundingPayment)]
                [adl] = [e for e in got if isinstance(e, Deleverage)]
                [liq] = [e for e in got if isinstance(e, Liquidation)]
                assert funding == venue.engine.funding_payments()[0]
                assert funding.amount == -7 * D(100) * D("0.0001")
                fills = {f.trade_id: f for f in got if isinstance(f, Fill)}
                assert fills[adl.trade_id].client_id == "adl-1"
                assert fills[liq.trade_id].client_id == "liquidation-2"
                assert fills[liq.trade_id] == venue.engine.fills()[-1]
                assert await remote.funding_payments() == venue.engine.funding_payments()
                assert await remote.funding_payments(t + 1) == []
                assert await remote.positions() == {}
                await remote.close()
        await venue.close()

    asyncio.run(main())


def test_a_forced_fill_is_in_flight_until_its_first_copy_is_due_on_the_stream() -> None:
    # The fault sweep's checks do not require a forced fill the venue executed moments before
    # them: it is on its way down the private stream, nobody could have heard of it yet.
    cfg = venue_config("aster", feed_ms=80)

    async def main() -> list[bool]:
        venue = SimVenue(cfg)
        stream = venue.events()
        await venue.connect()
        await venue.place(ioc("buy", "7", "100.01"))
        await drain(stream, 0.5)
        venue.adl("ETH", D(2))
        [fill] = [f for f in venue.engine.fills() if forced_fill_kind(f.client_id)]
        seen = [venue.forced_fill_in_flight(fill)]
        await asyncio.sleep(0.05)
        seen.append(venue.forced_fill_in_flight(fill))
        got = await drain(stream)
        seen.append(venue.forced_fill_in_flight(fill))
        seen.append(any(isinstance(e, Fill) and e.trade_id == fill.trade_id for e in got))
        return seen

    assert run_virtual(main()) == [True, True, False, True]


@pytest.mark.parametrize(("expiry_s", "grace_s"), [(8, 9), (4, 5), (0, 5)])
def test_a_remote_venue_states_the_served_venues_placement_window(
    expiry_s: int, grace_s: int
) -> None:
    # A session on a venue served from another process waits as long before it believes "not
    # found" as one on the venue itself: the window travels in the hello.
    cfg = venue_config("hyperliquid", request_expiry_ns=expiry_s * 1_000_000_000)

    async def main() -> tuple[int | None, int]:
        venue = SimVenue(cfg, LoopClock())
        await venue.connect()
        async with VenueServer(venue) as server:
            remote = RemoteVenue(venue.name, "127.0.0.1", server.port, request_timeout_s=5)
            session = VenueSession(remote, FillLedger(), LoopClock())
            async with asyncio.timeout(30):
                await remote.connect()
                await session.start()
            try:
                return remote.placement_window_ns, session.tracker.config.not_found_grace_ns
            finally:
                await session.close()
                await remote.close()
                await venue.close()

    window, grace = asyncio.run(main())
    assert window == (expiry_s * 1_000_000_000 or None)
    assert grace == grace_s * 1_000_000_000
