"""The cross-margin account: worked examples from the venues' documented formulas, the defining
property of the liquidation price, monotonicity, can_open, sizing, pairs and bad input."""

from __future__ import annotations

from decimal import ROUND_CEILING, Context, Decimal, DivisionByZero, Inexact, InvalidOperation
from decimal import Decimal as D

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hedgekit.errors import InvalidArgumentError
from hedgekit.model import Position
from hedgekit.risk import (
    Account,
    MarginTable,
    PositionState,
    Refusal,
    max_size_for,
    pair_liquidation_distance,
)

CTX28 = Context(prec=28)

BTCUSDT = MarginTable.binance_brackets(
    [
        {"notionalFloor": f, "initialLeverage": lev, "maintMarginRatio": r, "cum": c}
        for f, lev, r, c in [
            ("0", 125, "0.004", "0"),
            ("50000", 100, "0.005", "50"),
            ("250000", 50, "0.01", "1300"),
            ("1000000", 20, "0.025", "16300"),
            ("10000000", 10, "0.05", "266300"),
        ]
    ]
)
HL_BTC = MarginTable.hyperliquid(40)
HL_DOGE = MarginTable.hyperliquid(10, [(0, 10), (20000, 5), (100000, 3)])
TABLES = {"BTC": HL_BTC, "DOGE": HL_DOGE, "BTCUSDT": BTCUSDT, "ETH": MarginTable.lighter(500, 300)}


def acct(collateral: object, **positions: PositionState) -> Account:
    return Account(D(str(collateral)), positions, TABLES)


def pos(size: str, entry: str, mark: str | None = None, lev: str = "10") -> PositionState:
    return PositionState(D(size), D(entry), D(mark or entry), D(lev))


# the tests' own arithmetic must not round either (Python's default context keeps 28 digits)
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero])


def excess_at(a: Account, symbol: str, price: Decimal) -> Decimal:
    m = a.with_mark(symbol, price)
    return EXACT.subtract(m.equity, m.maintenance_margin)


# ------------------------------------------------------------------- worked examples (docs)


def test_equity_margins_ratio_available() -> None:
    a = acct(1000, BTC=pos("0.1", "50000", "51000", lev="20"), ETH=pos("-2", "3000", "2900"))
    assert a.unrealized_pnl == D(100) + D(200)
    assert a.equity == 1300
    assert a.initial_margin == D(5100) / 20 + D(5800) / 10
    assert a.maintenance_margin == D(5100) * D("0.0125") + D(5800) * D("0.03")
    assert a.free == a.equity - a.initial_margin
    assert a.available == a.free  # positive here
    assert a.margin_ratio == Context(prec=28, rounding=ROUND_CEILING).divide(D("237.75"), D(1300))
    under = acct(0, BTC=pos("1", "50000", "40000"))  # equity negative
    assert under.available == 0 and under.margin_ratio is None and under.is_liquidatable


def test_hyperliquid_documented_liquidation_formula() -> None:
    # Hyperliquid docs, "Liquidations" (quoted by HIP-3 deployers' docs, e.g. docs.hyena.trade):
    #   liq_price = price - side * margin_available / position_size / (1 - lev_inv * side)
    # with l = 1 / maintenance leverage (= 1 / (2 * max leverage)) and, in cross margin,
    # margin_available = account_value - maintenance_margin_required.
    for side, size, collateral in [
        (1, D("0.5"), D(3000)),
        (-1, D("0.5"), D(3000)),
        (1, D(2), D(9000)),
    ]:
        price = D(60000)
        a = acct(collateral, BTC=PositionState(side * size, price, price, D(20)))
        lev_inv = D(1) / D(80)
        margin_available = a.equity - a.maintenance_margin
        expected = price - side * margin_available / size / (1 - lev_inv * side)
        got = a.liquidation_price("BTC")
        assert got is not None
        assert abs(got - expected) <= D("1e-20")  # the doc formula divides twice, we once
        assert excess_at(a, "BTC", got) >= 0  # the rounding keeps equity >= maintenance


def test_binance_documented_cross_liquidation_formula_with_cum() -> None:
    # Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Contracts" (cross margin, one-way,
    # one position, so TMM1 = UPNL1 = 0):
    #   LP = (WB + cumB - Side * Position * EP) / (Position * MMR - Side * Position)
    # 10 BTC long at 20,000 with WB 20,000: notional 200k is bracket 2 (0.5%, cum 50).
    a = acct(20000, BTCUSDT=pos("10", "20000"))
    expected = (D(20000) + 50 - 10 * D(20000)) / (10 * D("0.005") - 10)
    lp = a.liquidation_price("BTCUSDT")
    assert lp is not None and abs(lp - expected) < D("1e-22")
    assert lp > expected - D("1e-22")  # a long's price is rounded up
    # 10 BTC short, WB 10,000: LP = (10,000 + 50 + 200,000) / (0.05 + 10)
    s = acct(10000, BTCUSDT=pos("-10", "20000"))
    lp = s.liquidation_price("BTCUSDT")
    assert lp is not None and abs(lp - D(210050) / D("10.05")) < D("1e-22")


def test_binance_bracket_step_at_the_liquidation_notional() -> None:
    # The FAQ: when the notional at the liquidation price is in another bracket than at entry,
    # substitute that bracket's MMR and cum and recalculate. 12 BTC short at 20,000 (240k,
    # bracket 2) with WB 30,000: bracket 2 gives 22,392.2 (269k notional: bracket 3), so the
    # answer is bracket 3's (1%, cum 1,300): (30,000 + 1,300 + 240,000) / (0.12 + 12).
    a = acct(30000, BTCUSDT=pos("-12", "20000"))
    naive = (D(30000) + 50 + 240000) / (12 * D("0.005") + 12)
    assert naive * 12 > 250000
    lp = a.liquidation_price("BTCUSDT")
    assert lp is not None
    assert abs(lp - D(271300) / D("12.12")) < D("1e-22")
    assert lp * 12 > 250000


def test_exact_root_gives_equity_equal_to_maintenance() -> None:
    # collateral chosen so that the root is a short decimal: 1 BTC long, liquidated at 40,000
    # (maintenance 40,000 * 0.0125 = 500): C + (40,000 - 50,000) = 500.
    a = acct(10500, BTC=pos("1", "50000", lev="5"))
    assert a.liquidation_price("BTC") == 40000
    at = a.with_mark("BTC", D(40000))
    assert at.equity == at.maintenance_margin == 500
    assert a.liquidation_distance("BTC") == D("0.2")


def test_lighter_style_single_tier() -> None:
    # 3% maintenance (300/10000), 2 ETH short at 3000, collateral 600:
    # 600 + (-2)(P - 3000) = 0.03 * 2P  ->  P = 6600 / 2.06
    a = acct(600, ETH=pos("-2", "3000"))
    lp = a.liquidation_price("ETH")
    assert lp is not None and abs(lp - D(6600) / D("2.06")) < D("1e-22")


def test_over_collateralised_long_and_flat_have_no_liquidation_price() -> None:
    a = acct(100000, BTC=pos("1", "50000"))
    assert a.liquidation_price("BTC") is None
    assert a.liquidation_distance("BTC") is None
    b = acct(100, BTC=pos("0", "50000"))
    assert b.liquidation_price("BTC") is None and b.liquidation_distance("BTC") is None
    assert acct(100).liquidation_price("DOGE") is None


def test_already_liquidatable_has_distance_zero() -> None:
    a = acct(0, BTC=pos("1", "50000", "49000"))
    assert a.is_liquidatable
    assert a.liquidation_distance("BTC") == 0


def test_other_positions_shift_the_liquidation_price() -> None:
    alone = acct(5000, BTC=pos("1", "50000"))
    with_loser = acct(5000, BTC=pos("1", "50000"), ETH=pos("-1", "3000", "3500"))
    a, b = alone.liquidation_price("BTC"), with_loser.liquidation_price("BTC")
    assert a is not None and b is not None and b > a
    assert excess_at(with_loser, "BTC", b) >= 0


# ------------------------------------------------------------------------------ properties

prices = st.integers(1, 10**7).map(lambda n: D(n).scaleb(-2))
sizes = st.integers(1, 10**6).map(lambda n: D(n).scaleb(-3))
money = st.integers(0, 10**9).map(lambda n: D(n).scaleb(-2))
symbols = st.sampled_from(["BTC", "DOGE", "BTCUSDT", "ETH"])


@st.composite
def accounts(draw: st.DrawFn) -> tuple[Account, str]:
    symbol = draw(symbols)
    others = draw(st.lists(symbols.filter(lambda s: s != symbol), unique=True, max_size=2))
    positions = {}
    for s in [symbol, *others]:
        side = draw(st.sampled_from([1, -1]))
        positions[s] = PositionState(
            side * draw(sizes), draw(prices), draw(prices), D(draw(st.integers(1, 10)))
        )
    return Account(draw(money), positions, TABLES), symbol


def ulp_away(price: Decimal, toward_lower: bool) -> Decimal:
    return CTX28.next_minus(price) if toward_lower else CTX28.next_plus(price)


@given(accounts())
def test_liquidation_price_is_where_equity_meets_maintenance(case: tuple[Account, str]) -> None:
    a, symbol = case
    liq = a.liquidation_price(symbol)
    p = a.positions[symbol]
    if liq is None:
        # no positive price liquidates it by this symbol alone: the excess at a price near 0
        # is on the safe side for a long, and a short is below maintenance at every price
        tiny = D("1e-30")
        assert (
            (excess_at(a, symbol, tiny) >= 0) if p.size > 0 else (excess_at(a, symbol, tiny) <= 0)
        )
        return
    assert liq > 0
    e = excess_at(a, symbol, liq)
    assert e >= 0  # rounded toward the safe side
    if e != 0:
        # inexact: one unit in the 28th digit further and equity is below maintenance
        beyond = ulp_away(liq, toward_lower=p.size > 0)
        if beyond > 0:
            assert excess_at(a, symbol, beyond) < 0


@given(accounts(), st.integers(1, 10**7).map(lambda n: D(n).scaleb(-2)))
def test_liquidation_price_is_exact_when_the_root_is_short(
    case: tuple[Account, str], liq: Decimal
) -> None:
    # choose the collateral so that equity == maintenance at `liq`: the model must return it
    a, symbol = case
    e = excess_at(a, symbol, liq)
    collateral = EXACT.subtract(a.collateral, e)
    assume(collateral >= 0)
    b = Account(collateral, a.positions, a.tables)
    assert b.liquidation_price(symbol) == liq
    at = b.with_mark(symbol, liq)
    assert at.equity == at.maintenance_margin


def dist_key(d: Decimal | None) -> Decimal:
    return D("Infinity") if d is None else d


@given(accounts(), money)
def test_distance_is_monotone_in_collateral(case: tuple[Account, str], extra: Decimal) -> None:
    a, symbol = case
    b = Account(EXACT.add(a.collateral, extra), a.positions, a.tables)
    assert dist_key(b.liquidation_distance(symbol)) >= dist_key(a.liquidation_distance(symbol))


@given(
    st.sampled_from(["BTC", "DOGE", "BTCUSDT", "ETH"]),
    st.sampled_from([1, -1]),
    sizes,
    prices,
    st.integers(1, 125),
    st.integers(1, 125),
)
def test_distance_falls_as_leverage_rises(
    symbol: str, side: int, size: Decimal, price: Decimal, l1: int, l2: int
) -> None:
    # a position opened with exactly its initial margin as collateral (notional / leverage):
    # the higher the leverage, the nearer the liquidation
    lo, hi = sorted((l1, l2))

    def distance(lev: int) -> Decimal:
        p = PositionState(side * size, price, price, D(lev))
        margin = Account(D(0), {symbol: p}, TABLES).initial_margin  # notional / leverage
        a = Account(margin, {symbol: p}, TABLES)
        return dist_key(a.liquidation_distance(symbol))

    assert distance(lo) >= distance(hi)


def test_cross_distance_does_not_depend_on_the_leverage_setting() -> None:
    # in cross margin leverage sets the initial margin only; maintenance is by tier
    a = acct(3000, BTC=pos("1", "50000", lev="3"))
    b = acct(3000, BTC=pos("1", "50000", lev="40"))
    assert a.liquidation_price("BTC") == b.liquidation_price("BTC")
    assert a.initial_margin > b.initial_margin


@given(accounts(), st.sampled_from(["buy", "sell"]), sizes, st.integers(1, 40))
def test_can_open_refuses_exactly_when_available_would_go_negative(
    case: tuple[Account, str], side: str, size: Decimal, lev: int
) -> None:
    a, symbol = case
    p = a.positions[symbol]
    price = p.mark_price
    d = a.can_open(symbol, side, size, price, D(lev))
    after = a.after_open(symbol, side, size, price, D(lev))
    delta = size if side == "buy" else -size
    new = p.size + delta
    reduces = p.size != 0 and (new == 0 or ((new > 0) == (p.size > 0) and abs(new) < abs(p.size)))
    # the account after the fill, computed independently of the model's bookkeeping
    equity = a.equity  # a fill at the mark changes no equity
    im = sum(
        (q.notional / q.leverage for s, q in a.positions.items() if s != symbol),
        D(0),
    )
    assert after.equity == equity
    cap = a.tables[symbol].max_leverage_at(abs(new) * price)
    if reduces:
        assert d.ok
    elif lev > cap:
        assert not d.ok and d.reason is Refusal.LEVERAGE_ABOVE_CAP
    else:
        assert d.ok == (after.free >= 0)
        assert d.ok == (d.free_after >= 0)
        assert (d.reason is Refusal.INSUFFICIENT_MARGIN) == (not d.ok)
        assert abs(after.initial_margin - im - abs(new) * price / lev) < D("1e-15")


def test_can_open_examples() -> None:
    a = acct(1000, BTC=pos("0.1", "50000", lev="20"))  # IM 250
    ok = a.can_open("BTC", "buy", D("0.1"), D(50000), D(20))
    assert ok and ok.free_after == 500
    short = a.can_open("BTC", "buy", D("0.5"), D(50000), D(20))  # IM 1500 > 1000
    assert not short and short.reason is Refusal.INSUFFICIENT_MARGIN and short.free_after == -500
    cap = a.can_open("BTC", "buy", D("0.01"), D(50000), D(50))
    assert not cap and cap.reason is Refusal.LEVERAGE_ABOVE_CAP and cap.max_leverage == 40
    # a tier cap that bites only at the resulting notional: DOGE 10x up to 20k, 5x above
    d = acct(10**6, DOGE=pos("100000", "0.15", lev="10"))  # 15k notional
    assert d.can_open("DOGE", "buy", D(10000), D("0.15"), D(10))
    over = d.can_open("DOGE", "buy", D(40000), D("0.15"), D(10))  # 21k: 5x tier
    assert over.reason is Refusal.LEVERAGE_ABOVE_CAP and over.max_leverage == 5
    # reducing is accepted even short of margin
    broke = acct(0, BTC=pos("1", "50000", "45000"))
    assert broke.can_open("BTC", "sell", D("0.5"), D(45000), D(20))
    # buying below the mark adds the difference to equity
    cheap = acct(100, BTC=pos("0", "50000", "50000"))
    assert cheap.after_open("BTC", "buy", D(1), D(49000), D(20)).equity == 1100


# ------------------------------------------------------------------------- sizing, targets


@given(
    accounts(),
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 10),
    st.sampled_from(["0", "0.01", "0.05", "0.2"]),
)
def test_max_size_for_is_the_largest_qualifying_step(
    case: tuple[Account, str], side: str, lev: int, min_distance: str
) -> None:
    a, symbol = case
    p = a.positions[symbol]
    # an order that opens or adds (the documented monotone case), at the mark
    adds = (side == "buy") == (p.size > 0)
    assume(adds)
    step = D("0.001") if p.mark_price > 100 else D(1)
    md = D(min_distance)
    got = max_size_for(a, symbol, side, p.mark_price, D(lev), md, step)
    assert got % step == 0

    def ok(size: Decimal) -> bool:
        if not a.can_open(symbol, side, size, p.mark_price, D(lev)):
            return False
        dd = a.after_open(symbol, side, size, p.mark_price, D(lev)).liquidation_distance(symbol)
        return dd is None or dd >= md

    if got > 0:
        assert ok(got)
    assert not ok(got + step)


def test_max_size_for_example_and_errors() -> None:
    a = acct(1000)
    # 1000 collateral, 10x, BTC at 50,000: available allows 0.2 BTC; distance at 0.2 BTC
    got = max_size_for(a, "BTC", "buy", D(50000), D(10), D(0), D("0.001"))
    assert got == D("0.2")
    farther = max_size_for(a, "BTC", "buy", D(50000), D(10), D("0.5"), D("0.001"))
    assert farther < got
    after = a.after_open("BTC", "buy", farther, D(50000), D(10))
    d = after.liquidation_distance("BTC")
    assert d is None or d >= D("0.5")
    with pytest.raises(InvalidArgumentError, match="step must be positive"):
        max_size_for(a, "BTC", "buy", D(50000), D(10), D(0), D(0))
    with pytest.raises(InvalidArgumentError, match="unknown symbol 'XRP'"):
        max_size_for(a, "XRP", "buy", D(1), D(10), D(0), D(1))


@given(accounts(), st.sampled_from(["0", "0.001", "0.05", "0.3", "1", "1.5"]))
def test_collateral_for_distance_is_the_least_that_reaches_it(
    case: tuple[Account, str], d: str
) -> None:
    a, _ = case
    need = a.collateral_for_distance(D(d))
    b = Account(need, a.positions, a.tables)
    for s in a.positions:
        dist = b.liquidation_distance(s)
        assert dist is None or dist >= D(d) or _within_rounding(b, s, D(d))
    if need > 0 and D(d) > 0:
        less = Account(EXACT.subtract(need, min(need, D("0.01"))), a.positions, a.tables)
        dists = [less.liquidation_distance(s) for s in a.positions]
        assert any(x is not None and x < D(d) for x in dists)


def _within_rounding(a: Account, symbol: str, d: Decimal) -> bool:
    # the liquidation price is rounded at 28 digits toward the mark: a distance meant to be
    # exactly d may read a unit of the 28th digit short
    dist = a.liquidation_distance(symbol)
    return dist is not None and d - dist <= D("1e-20")


def test_collateral_for_free() -> None:
    a = acct(0, BTC=pos("1", "50000", "49000", lev="10"))  # IM 4900, upnl -1000
    assert a.collateral_for_free() == 5900
    assert a.collateral_for_free(D(100)) == 6000
    assert Account(D(5900), a.positions, a.tables).free == 0


# ------------------------------------------------------------------------------------ pairs


def test_pair_distance_takes_the_nearer_leg_and_says_where_it_came_from() -> None:
    longs = acct(10500, BTC=pos("1", "50000", lev="5"))  # 20% away (exact example above)
    shorts = acct(2000, BTCUSDT=pos("-1", "50000"))
    pd = pair_liquidation_distance(longs, "BTC", shorts, "BTCUSDT")
    assert pd.long.source == pd.short.source == "model"
    assert pd.long.distance == D("0.2")
    assert pd.short.distance is not None and pd.short.distance < D("0.2")
    assert pd.nearest == "short" and pd.distance == pd.short.distance
    venue = pair_liquidation_distance(
        longs, "BTC", shorts, "BTCUSDT", short_venue_price=D(60000), long_venue_price=None
    )
    assert venue.short.source == "venue" and venue.short.distance == D("0.2")
    assert venue.short.liquidation_price == 60000
    assert venue.nearest == "long" and venue.distance == D("0.2")  # a tie names the long leg


def test_pair_distance_none_when_neither_leg_can_be_liquidated() -> None:
    rich_long = acct(10**6, BTC=pos("1", "50000"))
    rich_short_venue = acct(10**6, BTCUSDT=pos("-1", "50000"))
    pd = pair_liquidation_distance(rich_long, "BTC", rich_short_venue, "BTCUSDT")
    assert pd.long.distance is None
    assert pd.short.distance is not None  # a short can always be liquidated by a rise
    assert pd.nearest == "short"


def test_pair_distance_refuses_wrong_legs() -> None:
    a = acct(1000, BTC=pos("1", "50000"))
    with pytest.raises(InvalidArgumentError, match="short leg 'BTC' is long"):
        pair_liquidation_distance(a, "BTC", a, "BTC")
    with pytest.raises(InvalidArgumentError, match="long leg 'ETH' is flat"):
        pair_liquidation_distance(a, "ETH", a, "BTC")
    s = acct(1000, ETH=pos("-1", "3000"))
    with pytest.raises(InvalidArgumentError, match="long venue liquidation price must be positive"):
        pair_liquidation_distance(a, "BTC", s, "ETH", long_venue_price=D(0))


# ------------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_clear_messages() -> None:
    with pytest.raises(InvalidArgumentError, match="collateral must not be negative, got -1"):
        acct(-1)
    with pytest.raises(InvalidArgumentError, match="mark_price must be positive, got 0"):
        pos("1", "50000", "0")
    with pytest.raises(InvalidArgumentError, match="entry_price must be positive"):
        pos("1", "-5")
    with pytest.raises(InvalidArgumentError, match="no margin table for symbol 'XRP'"):
        Account(D(1), {"XRP": pos("1", "1")}, TABLES)
    a = acct(1000, BTC=pos("1", "50000"))
    with pytest.raises(
        InvalidArgumentError, match=r"unknown symbol 'XRP': no margin table \(known:"
    ):
        a.liquidation_price("XRP")
    with pytest.raises(InvalidArgumentError, match="unknown symbol"):
        a.liquidation_distance("XRP")
    with pytest.raises(InvalidArgumentError, match="price must be positive, got 0"):
        a.can_open("BTC", "buy", D(1), D(0), D(10))
    with pytest.raises(InvalidArgumentError, match="size must be positive"):
        a.can_open("BTC", "buy", D(0), D(1), D(10))
    with pytest.raises(InvalidArgumentError, match="side must be 'buy' or 'sell'"):
        a.can_open("BTC", "long", D(1), D(1), D(10))
    with pytest.raises(InvalidArgumentError, match="floats are inexact"):
        Account(1000.0, {}, TABLES)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="must be finite"):
        acct("NaN")
    with pytest.raises(InvalidArgumentError, match="not a MarginTable"):
        Account(D(1), {}, {"BTC": "40x"})  # type: ignore[dict-item]
    with pytest.raises(InvalidArgumentError, match="min_distance must not be negative"):
        a.collateral_for_distance(D(-1))


def test_strings_and_ints_are_accepted_and_the_account_is_frozen() -> None:
    a = Account("1000", {"BTC": PositionState("1", "50000", 50000, 10)}, TABLES)  # type: ignore[arg-type]
    assert a.collateral == D(1000) and a.positions["BTC"].entry_price == D(50000)
    with pytest.raises(TypeError):
        a.positions["BTC"] = pos("1", "1")  # type: ignore[index]


def test_from_position() -> None:
    p = Position("hl", "BTC", D("-0.5"), D(50000), D(51000), 0)
    s = PositionState.from_position(p, D(10))
    assert s.size == D("-0.5") and s.mark_price == 51000 and s.unrealized_pnl == -500
    with pytest.raises(InvalidArgumentError, match="no mark price"):
        PositionState.from_position(Position("hl", "BTC", D(1), D(1), None, 0), D(10))
