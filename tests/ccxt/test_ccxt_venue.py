"""The ccxt bridge's mapping itself: ccxt's numbers made exact in each precision mode, ccxt's
exceptions mapped onto definitive and ambiguous errors, and the caller's decimal context kept
whatever ccxt does to it."""

from __future__ import annotations

import asyncio
import decimal
import hashlib
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from ccxt.base.decimal_to_precision import (
    DECIMAL_PLACES,
    NO_PADDING,
    ROUND,
    SIGNIFICANT_DIGITS,
    TICK_SIZE,
    decimal_to_precision,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit._core import EthSigner
from hedgekit.errors import (
    AmbiguousOutcomeError,
    ConversionError,
    InvalidArgumentError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    UnknownOrderError,
    VenueDisconnectedError,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from hedgekit.model import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from hedgekit.testing.conformance.ccxt import ccxt_hyperliquid
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.venues.ccxt import CcxtVenue, errors, numbers
from hedgekit.venues.ccxt.numbers import exact, instrument_rules, on_grid, to_wire

D = Decimal


# --------------------------------------------------------------------------- numbers
def test_the_bridge_knows_ccxts_precision_modes_by_their_values() -> None:
    assert (numbers.DECIMAL_PLACES, numbers.SIGNIFICANT_DIGITS, numbers.TICK_SIZE) == (
        DECIMAL_PLACES,
        SIGNIFICANT_DIGITS,
        TICK_SIZE,
    )


_TICKS = st.sampled_from(["0.01", "0.1", "0.5", "0.0001", "1", "25", "0.00000001", "0.005"])


@settings(max_examples=300, deadline=None)
@given(tick=_TICKS, steps=st.integers(min_value=1, max_value=10**12))
def test_tick_size_mode_a_price_on_the_grid_comes_back_exact_from_ccxts_float(
    tick: str, steps: int
) -> None:
    value = D(steps) * D(tick)
    as_ccxt = float(value)  # what ccxt hands back: a float parsed from the exchange's text
    got = on_grid(as_ccxt, TICK_SIZE, float(tick))
    assert got == value and isinstance(got, Decimal)
    assert on_grid(str(value), TICK_SIZE, tick) == value
    # the text sent is the exact value, and ccxt's own rounding leaves it as it is
    text = to_wire(value)
    assert D(text) == value and "E" not in text
    with decimal.localcontext():
        assert D(decimal_to_precision(text, ROUND, float(tick), TICK_SIZE, NO_PADDING)) == value


@settings(max_examples=300, deadline=None)
@given(places=st.integers(min_value=0, max_value=8), mantissa=st.integers(1, 10**12))
def test_decimal_places_mode_a_size_comes_back_exact(places: int, mantissa: int) -> None:
    value = D(mantissa).scaleb(-places)
    assert on_grid(float(value), DECIMAL_PLACES, places) == value
    assert on_grid(repr(float(value)), DECIMAL_PLACES, float(places)) == value
    with decimal.localcontext():
        text = decimal_to_precision(to_wire(value), ROUND, places, DECIMAL_PLACES, NO_PADDING)
    assert D(text) == value


@settings(max_examples=300, deadline=None)
@given(
    digits=st.integers(min_value=1, max_value=8),
    mantissa=st.integers(1, 10**8 - 1),
    exponent=st.integers(-8, 6),
)
def test_significant_digits_mode_a_price_comes_back_exact(
    digits: int, mantissa: int, exponent: int
) -> None:
    value = D(mantissa).scaleb(exponent)
    if numbers.significant_digits(value) > digits:
        with pytest.raises(ConversionError):
            on_grid(str(value), SIGNIFICANT_DIGITS, digits)
        return
    assert on_grid(float(value), SIGNIFICANT_DIGITS, digits) == value
    with decimal.localcontext():
        text = decimal_to_precision(to_wire(value), ROUND, digits, SIGNIFICANT_DIGITS)
    assert D(text) == value


def test_a_float_artefact_of_ccxts_arithmetic_is_put_back_on_the_grid_and_a_real_miss_refused() -> (
    None
):
    assert on_grid(0.1 + 0.2, TICK_SIZE, 0.1) == D("0.3")  # 0.30000000000000004
    assert on_grid(2.9999999999999996, DECIMAL_PLACES, 2) == D(3)
    with pytest.raises(ConversionError) as info:
        on_grid(0.015, TICK_SIZE, 0.01)
    assert info.value.reason == "off_grid"
    for bad in (None, True, float("nan"), float("inf"), "abc"):
        with pytest.raises(ConversionError):
            exact(bad)
    assert exact(1e-05) == D("0.00001") and exact(3000.0) == D(3000)


def test_instrument_rules_in_each_mode_and_hyperliquids_five_figures() -> None:
    tick = {"precision": {"price": 0.01, "amount": 0.001},
            "limits": {"amount": {"min": 0.001}, "cost": {"min": 5.0}}}  # fmt: skip
    rules = instrument_rules(tick, TICK_SIZE)
    assert (rules.tick_size, rules.step_size, rules.min_qty, rules.min_notional) == (
        D("0.01"), D("0.001"), D("0.001"), D(5)
    )  # fmt: skip
    places = instrument_rules(
        {"precision": {"price": 1, "amount": 3}, "limits": {}}, DECIMAL_PLACES
    )
    assert (places.tick_size, places.step_size, places.min_qty) == (D("0.1"), D("0.001"), 0)
    hl = {"precision": {"price": 0.1, "amount": 0.0001}, "limits": {"cost": {"min": 10.0}}}
    rules = instrument_rules(hl, TICK_SIZE, significant_prices=True)
    assert rules.kind == "hyperliquid" and rules.step_size == D("0.0001")
    assert rules.is_price_valid(D("3000.5")) and not rules.is_price_valid(D("3000.55"))
    with pytest.raises(ConversionError):  # significant figures without Hyperliquid's rule
        instrument_rules({"precision": {"price": 5, "amount": 3}}, SIGNIFICANT_DIGITS)


# ---------------------------------------------------------------------------- errors
_DEFINITIVE: list[tuple[type[BaseException], type[VenueError], str]] = [
    (ccxt.InvalidOrder, OrderRejectedError, "other"),
    (ccxt.InsufficientFunds, OrderRejectedError, "insufficient_margin"),
    (ccxt.BadSymbol, OrderRejectedError, "unknown_symbol"),
    (ccxt.AuthenticationError, OrderRejectedError, "other"),
    (ccxt.PermissionDenied, OrderRejectedError, "other"),
    (ccxt.OrderImmediatelyFillable, PostOnlyRejectedError, "post_only"),
    (ccxt.RateLimitExceeded, RateLimitedError, "rate_limited"),
]
_AMBIGUOUS: list[tuple[type[BaseException], type[VenueError]]] = [
    (ccxt.NetworkError, VenueDisconnectedError),
    (ccxt.RequestTimeout, VenueTimeoutError),
    (ccxt.ExchangeNotAvailable, VenueUnavailableError),
    (ccxt.OnMaintenance, VenueUnavailableError),
    (ccxt.DDoSProtection, VenueUnavailableError),
    (ccxt.InvalidNonce, VenueDisconnectedError),
]


@pytest.mark.parametrize(("cls", "mapped", "reason"), _DEFINITIVE)
def test_a_refusal_is_definitive(
    cls: type[BaseException], mapped: type[VenueError], reason: str
) -> None:
    err = errors.map_error("x", cls('hyperliquid {"status":"err"}'))
    assert type(err) is mapped and err.definitive
    assert isinstance(err, OrderRejectedError) and err.reason == reason


def test_order_not_found_is_definitive_and_unknown() -> None:
    err = errors.map_error("x", ccxt.OrderNotFound("Order was never placed, already canceled"))
    assert type(err) is UnknownOrderError and err.definitive


@pytest.mark.parametrize(("cls", "mapped"), _AMBIGUOUS)
def test_a_lost_or_refused_connection_is_ambiguous_and_the_subclass_wins(
    cls: type[BaseException], mapped: type[VenueError]
) -> None:
    err = errors.map_error("x", cls("boom"))
    assert type(err) is mapped and not err.definitive
    assert isinstance(err, AmbiguousOutcomeError)


def test_the_text_of_a_refusal_gives_its_reason_and_the_rest_is_left_alone() -> None:
    post = errors.map_error(
        "x", ccxt.InvalidOrder("Post only order would have immediately matched,")
    )
    assert isinstance(post, PostOnlyRejectedError)
    ro = errors.map_error("x", ccxt.InvalidOrder("Reduce only order would increase position."))
    assert isinstance(ro, OrderRejectedError) and ro.reason == "reduce_only"
    assert isinstance(errors.map_error("x", TimeoutError()), VenueTimeoutError)
    assert isinstance(errors.map_error("x", ConnectionResetError()), VenueDisconnectedError)
    assert errors.map_error("x", KeyError("a bug")) is None  # not ccxt's: raised as it is


# ----------------------------------------------------- the bridge against a live fake
KEY = hashlib.sha256(b"hedgekit-ccxt-venue-tests").hexdigest()
ADDR = EthSigner(bytes.fromhex(KEY)).address.lower()
ETH = "ETH/USDC:USDC"


def _run(body: Any) -> None:
    async def main() -> None:
        async with FakeHyperliquid(accounts=[ADDR], book_interval_s=0.05, source="a") as fake:
            ex = ccxt_hyperliquid(fake, KEY, ADDR)
            venue = CcxtVenue(ex, symbols=(ETH,), request_timeout_s=2.0, poll_interval_s=0.1)
            try:
                await asyncio.wait_for(body(fake, venue), 30)
            finally:
                await venue.close()
                await ex.close()

    asyncio.run(main())


async def _quoted(venue: CcxtVenue) -> Any:
    """The venue's ETH quote, once its book has come (at most 2 s)."""
    for _ in range(100):
        quote = venue.quote(ETH)
        if quote is not None:
            return quote
        await asyncio.sleep(0.02)
    raise AssertionError("no book within 2 s")


def test_the_dead_man_switch_is_armed_through_ccxt_and_cancels_what_rests_if_we_die() -> None:
    async def main() -> None:
        async with FakeHyperliquid(accounts=[ADDR], book_interval_s=0.05, source="a") as fake:
            ex = ccxt_hyperliquid(fake, KEY, ADDR)
            venue = CcxtVenue(ex, symbols=(ETH,), request_timeout_s=2.0, dead_man_s=6)
            try:
                await venue.connect()
                quote = await _quoted(venue)
                for _ in range(200):
                    if venue.dead_man_until_ms is not None:
                        break
                    await asyncio.sleep(0.02)
                until = venue.dead_man_until_ms
                assert until is not None
                price = venue.instruments()[ETH].rules.round_price(quote.bid * D("0.98"), "buy")
                await venue.place(
                    OrderRequest(ETH, Side.BUY, D("0.01"), price, "dm1", tif=TimeInForce.POST_ONLY)
                )
                assert len(fake.open_orders(ADDR)) == 1
                fake.fire_scheduled_cancels(until - 3000)  # not yet: the order still rests
                assert len(fake.open_orders(ADDR)) == 1
                fake.fire_scheduled_cancels(until + 1)  # as if we had died: it is cancelled
                assert fake.open_orders(ADDR) == []
            finally:
                await venue.close()
                await ex.close()

    asyncio.run(main())


def test_no_dead_man_switch_where_ccxt_has_no_call_for_it_or_it_is_off() -> None:
    async def main() -> None:
        async with FakeHyperliquid(accounts=[ADDR], book_interval_s=0.05, source="a") as fake:
            for off in ("no call", "off"):
                ex = ccxt_hyperliquid(fake, KEY, ADDR)
                if off == "no call":
                    ex.has["cancelAllOrdersAfter"] = False
                venue = CcxtVenue(
                    ex, symbols=(ETH,), request_timeout_s=2.0,
                    dead_man_s=None if off == "off" else 6,
                )  # fmt: skip
                try:
                    await venue.connect()
                    await asyncio.sleep(0.3)
                    assert venue.dead_man_until_ms is None
                finally:
                    await venue.close()
                    await ex.close()
        with pytest.raises(InvalidArgumentError, match="dead_man_s"):
            CcxtVenue(_Stub(RuntimeError()), dead_man_s=4.9)

    asyncio.run(main())


def test_ccxt_calls_leave_the_callers_decimal_context_as_it_was() -> None:
    async def body(fake: FakeHyperliquid, venue: CcxtVenue) -> None:
        ctx = decimal.Context(prec=40, rounding=decimal.ROUND_DOWN, traps=[decimal.Overflow])
        decimal.setcontext(ctx)
        await venue.connect()
        quote = await _quoted(venue)
        price = venue.instruments()[ETH].rules.round_price(quote.bid * D("0.99"), "buy")
        ack = await venue.place(
            OrderRequest(ETH, Side.BUY, D("0.01"), price, "ctx1", tif=TimeInForce.POST_ONLY)
        )
        assert ack.status is OrderStatus.OPEN
        await venue.cancel(ETH, client_id="ctx1")
        await venue.positions()
        now = decimal.getcontext()
        assert now is ctx
        assert (now.prec, now.rounding) == (40, decimal.ROUND_DOWN)
        assert not now.traps[decimal.Underflow] and now.traps[decimal.Overflow]
        # and ccxt does change a context it is let at: the protection is what keeps ours
        with decimal.localcontext() as bare:
            bare.rounding = decimal.ROUND_DOWN
            decimal_to_precision("1.5", ROUND, 0, DECIMAL_PLACES)
            assert bare.rounding == decimal.ROUND_HALF_UP and bare.traps[decimal.Underflow]

    _run(body)


def test_the_hyperliquid_client_id_goes_out_as_a_128_bit_cloid_and_comes_back_as_ours() -> None:
    async def body(fake: FakeHyperliquid, venue: CcxtVenue) -> None:
        await venue.connect()
        quote = await _quoted(venue)
        price = venue.instruments()[ETH].rules.round_price(quote.bid * D("0.98"), "buy")
        await venue.place(
            OrderRequest(ETH, Side.BUY, D("0.01"), price, "my-order-1", tif=TimeInForce.POST_ONLY)
        )
        (rec,) = fake.open_orders(ADDR)
        assert rec.cloid is not None and len(rec.cloid) == 34 and rec.cloid.startswith("0x")
        int(rec.cloid, 16)
        (listed,) = await venue.open_orders(ETH)
        assert listed.client_id == "my-order-1" and listed.price == price
        assert await venue.cancel(ETH, client_id="my-order-1") == "cancelled"

    _run(body)


# ------------------------------------------------- the mapping as a place() call meets it
class _Stub:
    """Just enough of a ccxt async exchange: one market, and a create_order that raises."""

    id = "stub"
    precisionMode = TICK_SIZE
    rateLimit = 0
    enableRateLimit = False

    def __init__(self, error: BaseException, found: dict[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = {}
        self.has: dict[str, Any] = {}
        self.error = error
        self.found = found
        self.status_queries = 0
        self.markets = {
            "X/USDT:USDT": {"symbol": "X/USDT:USDT", "swap": True, "linear": True,
                            "settle": "USDT", "maker": 0.0002, "taker": 0.0005,
                            "precision": {"price": 0.01, "amount": 0.001},
                            "limits": {"amount": {"min": 0.001}, "cost": {"min": 5.0}}},
        }  # fmt: skip

    async def load_markets(self) -> dict[str, Any]:
        return self.markets

    async def fetch_my_trades(self, *args: Any) -> list[Any]:
        return []

    async def fetch_open_orders(self, *args: Any) -> list[Any]:
        return []

    async def create_order(self, *args: Any) -> dict[str, Any]:
        raise self.error

    async def fetch_order(self, *args: Any) -> dict[str, Any]:
        self.status_queries += 1
        if self.found is None:
            raise ccxt.OrderNotFound("unknownOid")
        return self.found


def _place_against(stub: _Stub) -> Any:
    async def main() -> Any:
        venue = CcxtVenue(stub, poll_interval_s=0.05)
        await venue.connect()
        try:
            return await venue.place(OrderRequest("X/USDT:USDT", Side.BUY, D("1"), D("10.5"), "c1"))
        finally:
            await venue.close()

    return asyncio.run(main())


@pytest.mark.parametrize(("cls", "mapped", "reason"), _DEFINITIVE)
def test_a_definitive_refusal_of_a_place_is_raised_without_a_status_query(
    cls: type[BaseException], mapped: type[VenueError], reason: str
) -> None:
    stub = _Stub(cls("refused"))
    with pytest.raises(mapped) as info:
        _place_against(stub)
    assert info.value.definitive and stub.status_queries == 0


def test_order_not_found_on_a_place_is_a_definitive_rejection() -> None:
    stub = _Stub(ccxt.OrderNotFound("no such order"))
    with pytest.raises(OrderRejectedError) as info:
        _place_against(stub)
    assert info.value.definitive and stub.status_queries == 0


@pytest.mark.parametrize(("cls", "mapped"), _AMBIGUOUS)
def test_an_ambiguous_place_is_queried_and_never_assumed_failed(
    cls: type[BaseException], mapped: type[VenueError]
) -> None:
    stub = _Stub(cls("lost"))
    with pytest.raises(mapped) as info:  # not found by its client id: still ambiguous
        _place_against(stub)
    assert not info.value.definitive and stub.status_queries == 3
    found = {"id": "77", "clientOrderId": "c1", "symbol": "X/USDT:USDT", "side": "buy",
             "amount": 1.0, "filled": 0.0, "price": 10.5, "status": "open", "timestamp": 1}  # fmt: skip
    stub = _Stub(cls("lost"), found)
    ack = _place_against(stub)  # the order was placed: the query finds it
    assert (ack.venue_order_id, ack.status, ack.client_id) == ("77", OrderStatus.OPEN, "c1")


def test_a_secret_in_the_config_reaches_ccxt_only_never_a_repr() -> None:
    from hedgekit.secrets import Secret

    key = "0x" + KEY
    venue = CcxtVenue("hyperliquid", {"privateKey": Secret(key), "walletAddress": ADDR})
    try:
        assert venue.exchange.privateKey == key  # ccxt signs with it
        assert KEY not in repr(venue) and KEY not in str(venue)
        assert repr(venue) == "CcxtVenue(name='hyperliquid', exchange='hyperliquid')"
    finally:
        asyncio.run(venue.exchange.close())


def test_a_market_order_goes_out_as_an_ioc_at_the_protection_price_and_fills_exactly() -> None:
    async def body(fake: FakeHyperliquid, venue: CcxtVenue) -> None:
        await venue.connect()
        quote = await _quoted(venue)
        request = OrderRequest(ETH, Side.BUY, D("0.02"), None, "mkt1", OrderType.MARKET)
        ack = await venue.place(request)
        assert ack.status is OrderStatus.FILLED and ack.filled == D("0.02")
        assert fake.position(ADDR, "ETH") == D("0.02")
        (row,) = fake.fills(ADDR)
        assert D(str(row["px"])) == quote.ask  # met the touch, well inside the 5 % protection
        # the order itself was a limit IOC 5 % through the mid, on Hyperliquid's price grid
        (rec,) = fake.account(ADDR).orders.values()
        assert rec.limit_px == venue.instruments()[ETH].rules.round_price(
            quote.mid * D("1.05"), "buy", aggressive=True
        )

    _run(body)
