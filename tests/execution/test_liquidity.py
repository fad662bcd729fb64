"""Liquidity analysis on real books, child splitting, sizing, dust and slippage signs."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit import Instrument, OrderBook
from hedgekit.execution.liquidity import (
    LiquidityReport,
    Recommendation,
    SlippageRecord,
    analyze,
    common_leg_size,
    cost_bps_incl_fees,
    is_dust,
    notional,
    size_for_notional,
    slippage_bps,
    split_sizes,
)
from hedgekit.model import Side

D = Decimal

aster = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")
hl = Instrument.hyperliquid(sz_decimals=3)
lighter = Instrument.lighter(
    price_decimals=2, size_decimals=3, min_base_amount="0.001", min_quote_amount="10"
)
coarse = Instrument.plain("0.01", "0.01", min_qty="0.05", min_notional="10")


def book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> OrderBook:
    """A book from a snapshot."""
    b = OrderBook("test", "ETH")
    b.apply_snapshot(bids, asks)
    return b


def deep_book() -> OrderBook:
    """ETH near 2400, a 0.4 bps spread, 100 ETH on each of the top levels."""
    return book(
        [("2399.90", "100"), ("2399.50", "100"), ("2398.00", "100")],
        [("2400.00", "100"), ("2400.50", "100"), ("2402.00", "100")],
    )


BUDGET = D("10")


# --- analyze ---


def test_recommendation_values_are_mode_names() -> None:
    assert [r.value for r in Recommendation] == [
        "limit_with_fallback",
        "aggressive_limit",
        "market_only",
        "split",
        "avoid",
    ]


def test_deep_book_small_size_goes_to_market() -> None:
    report = analyze(deep_book(), Side.BUY, D("1"), slippage_budget_bps=BUDGET)
    assert isinstance(report, LiquidityReport)
    assert report.recommendation is Recommendation.MARKET
    assert report.depth_within_budget == D("300")  # 2402.00 <= 2400 * 1.001
    assert report.complete
    assert report.expected_vwap == D("2400.00")
    assert report.expected_slippage_bps == pytest.approx(0.0)
    assert report.expected_slippage_vs_mid_bps is not None
    assert report.expected_slippage_vs_mid_bps > 0
    assert report.mid == D("2399.95")
    assert report.spread_bps == pytest.approx(0.1 / 2399.95 * 1e4)
    assert 0.9 < report.score <= 1.0


def test_deep_book_large_share_of_depth_is_aggressive() -> None:
    report = analyze(deep_book(), Side.SELL, D("150"), slippage_budget_bps=BUDGET)
    assert report.depth_within_budget == D("300")
    assert report.recommendation is Recommendation.AGGRESSIVE
    assert report.expected_slippage_bps is not None and report.expected_slippage_bps > 0


def test_market_threshold_is_a_quarter_of_the_depth() -> None:
    at = analyze(deep_book(), Side.BUY, D("75"), slippage_budget_bps=BUDGET)
    above = analyze(deep_book(), Side.BUY, D("75.001"), slippage_budget_bps=BUDGET)
    assert at.recommendation is Recommendation.MARKET
    assert above.recommendation is Recommendation.AGGRESSIVE


def test_thin_book_beyond_the_budget_splits() -> None:
    thin = book([("2399.90", "5")], [("2400.00", "1"), ("2410.00", "5")])
    report = analyze(thin, Side.BUY, D("1.5"), slippage_budget_bps=BUDGET)
    assert report.depth_within_budget == D("1")  # 2410 is 41.7 bps away
    assert report.complete
    assert report.recommendation is Recommendation.SPLIT
    assert "too big" in report.reason


def test_thin_book_that_cannot_hold_the_size_is_avoided() -> None:
    thin = book([("2399.90", "5")], [("2400.00", "1"), ("2410.00", "1")])
    report = analyze(thin, Side.BUY, D("3"), slippage_budget_bps=BUDGET)
    assert not report.complete
    assert report.recommendation is Recommendation.AVOID
    assert "incomplete" in report.reason


def test_wide_spread_rests() -> None:
    wide = book([("2390", "100")], [("2410", "100")])  # ~83 bps
    report = analyze(wide, Side.BUY, D("1"), slippage_budget_bps=BUDGET, max_spread_bps=D("20"))
    assert report.recommendation is Recommendation.PASSIVE
    assert report.reason == "wide spread: rest, do not cross"
    # The limit is exact and inclusive: a spread of exactly the limit may cross.
    at_limit = book([("99", "100")], [("101", "100")])  # 200 bps of mid 100
    ok = analyze(at_limit, Side.BUY, D("1"), slippage_budget_bps=D("300"), max_spread_bps=D("200"))
    assert ok.recommendation is Recommendation.MARKET


def test_spread_wide_next_to_the_budget_rests_even_without_a_limit() -> None:
    wide = book([("2390", "100")], [("2410", "100")])
    report = analyze(wide, Side.SELL, D("1"), slippage_budget_bps=BUDGET)
    assert report.score < 0.5
    assert report.recommendation is Recommendation.PASSIVE
    relaxed = analyze(wide, Side.SELL, D("1"), slippage_budget_bps=BUDGET, min_score=0.0)
    assert relaxed.recommendation is Recommendation.MARKET


def test_crossed_book_is_avoided() -> None:
    crossed = book([("2401", "10")], [("2400", "10")])
    assert crossed.is_crossed
    for side in Side:
        report = analyze(crossed, side, D("1"), slippage_budget_bps=BUDGET)
        assert report.recommendation is Recommendation.AVOID
        assert report.reason == "crossed book"
        assert report.score == 0.0


def test_empty_and_one_sided_books_are_avoided() -> None:
    bids_only = book([("2400", "10")], [])
    buy = analyze(bids_only, Side.BUY, D("1"), slippage_budget_bps=BUDGET)
    assert buy.recommendation is Recommendation.AVOID
    assert buy.depth_within_budget == 0
    assert buy.expected_vwap is None and buy.mid is None and not buy.complete
    sell = analyze(bids_only, Side.SELL, D("1"), slippage_budget_bps=BUDGET)
    assert sell.recommendation is Recommendation.AVOID
    assert sell.expected_vwap == D("2400")
    assert "one-sided" in sell.reason
    empty = analyze(OrderBook(), Side.SELL, D("1"), slippage_budget_bps=BUDGET)
    assert empty.recommendation is Recommendation.AVOID


def test_analyze_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="size"):
        analyze(deep_book(), Side.BUY, D("0"), slippage_budget_bps=BUDGET)
    with pytest.raises(ValueError, match="slippage_budget_bps"):
        analyze(deep_book(), Side.BUY, D("1"), slippage_budget_bps=D("0"))
    with pytest.raises(ValueError, match="max_spread_bps"):
        analyze(deep_book(), Side.BUY, D("1"), slippage_budget_bps=BUDGET, max_spread_bps=D(-1))


@given(
    size=st.integers(1, 10**6).map(lambda n: D(n) / 1000),
    budget=st.integers(1, 500).map(D),
    side=st.sampled_from(list(Side)),
)
def test_analyze_is_consistent_with_its_figures(size: Decimal, budget: Decimal, side: Side) -> None:
    report = analyze(deep_book(), side, size, slippage_budget_bps=budget)
    assert 0.0 <= report.score <= 1.0
    rec = report.recommendation
    if rec is Recommendation.MARKET:
        assert size <= report.depth_within_budget / 4
    if rec is Recommendation.AGGRESSIVE:
        assert report.depth_within_budget / 4 < size <= report.depth_within_budget
    if rec is Recommendation.SPLIT:
        assert report.complete and size > report.depth_within_budget
    if not report.complete:
        assert rec is Recommendation.AVOID


# --- split_sizes ---

steps = st.integers(1, 100_000)


def _min_grid(rules: Instrument) -> Decimal:
    floored = rules.floor_size(rules.min_qty)
    smallest = floored if floored >= rules.min_qty else floored + rules.step_size
    return max(smallest, rules.step_size)


@pytest.mark.parametrize("rules", [aster, hl, coarse], ids=["plain", "hyperliquid", "coarse"])
@given(
    size_steps=steps,
    depth=st.integers(1, 10**7).map(lambda n: D(n) / 10_000),
    max_children=st.integers(1, 12),
)
def test_split_sizes_sum_exactly_and_each_child_is_valid(
    rules: Instrument, size_steps: int, depth: Decimal, max_children: int
) -> None:
    size = size_steps * rules.step_size
    min_size = _min_grid(rules)
    cap = rules.floor_size(depth)
    count = int((size / cap).to_integral_value(ROUND_CEILING)) if cap > 0 else 0
    feasible = (
        size >= min_size and cap >= min_size and count <= max_children and count * min_size <= size
    )
    if not feasible:
        with pytest.raises(ValueError):
            split_sizes(size, depth, rules, max_children=max_children)
        return
    children = split_sizes(size, depth, rules, max_children=max_children)
    assert sum(children) == size
    assert len(children) == count <= max_children
    assert children == sorted(children, reverse=True)
    for child in children:
        assert child <= depth
        assert rules.floor_size(child) == child
        assert child >= rules.min_qty
        assert not rules.is_dust(child)
        assert rules.rejection(D("2400"), child) in (None, "below_min_notional")


def test_split_sizes_examples() -> None:
    assert split_sizes(D("0.5"), D("1"), aster) == [D("0.5")]
    assert split_sizes(D("2.5"), D("1.0005"), aster) == [D("1"), D("1"), D("0.5")]
    # The last child borrows from the ones before it to reach the minimum size.
    lot = Instrument.plain("0.01", "1", min_qty="4")
    assert split_sizes(D(21), D(10), lot) == [D(10), D(7), D(4)]
    assert split_sizes(D(12), D(5), lot) == [D(4), D(4), D(4)]


def test_split_sizes_refusals() -> None:
    with pytest.raises(ValueError, match="depth"):
        split_sizes(D("1"), D("0"), aster)
    with pytest.raises(ValueError, match="depth"):
        split_sizes(D("1"), D("0.0004"), aster)  # floors to 0
    with pytest.raises(ValueError, match="more than 10"):
        split_sizes(D("11"), D("1"), aster)
    assert len(split_sizes(D("11"), D("1"), aster, max_children=11)) == 11
    with pytest.raises(ValueError, match="step"):
        split_sizes(D("1.0005"), D("1"), aster)
    with pytest.raises(ValueError, match="minimum"):
        split_sizes(D("0.03"), D("1"), coarse)
    with pytest.raises(ValueError, match="cannot be cut"):
        split_sizes(D(9), D(5), Instrument.plain("0.01", "1", min_qty="5"))


# --- sizing ---


def test_size_for_notional_floors_and_respects_minimums() -> None:
    assert size_for_notional(aster, D("100"), D("2400")) == D("0.041")  # 0.041666 floored
    assert size_for_notional(aster, D("100"), D("3")) == D("33.333")
    assert size_for_notional(aster, D("4"), D("2400")) == 0  # 0.001 is only $2.40 < $5
    assert size_for_notional(aster, D("0"), D("2400")) == 0
    assert size_for_notional(lighter, D("9.99"), D("2400")) == 0  # below $10
    assert size_for_notional(lighter, D("12"), D("2400")) == D("0.005")
    assert size_for_notional(coarse, D("100"), D("2400")) == 0  # 0.041 floors to 0.04 < 0.05 min
    assert size_for_notional(coarse, D("130"), D("2400")) == D("0.05")
    with pytest.raises(ValueError):
        size_for_notional(aster, D("100"), D("0"))
    with pytest.raises(ValueError):
        size_for_notional(aster, D("-1"), D("2400"))


def test_size_for_notional_never_rounds_up() -> None:
    # 1 / 3 to 9 decimals is 0.333333333: the division must not round the lot up.
    lot = Instrument.plain("0.000000001", "0.000000001")
    size = size_for_notional(lot, D("1"), D("3"))
    assert size == D("0.333333333")
    assert size * 3 <= 1


def test_notional_is_exact() -> None:
    assert notional(D("0.021"), D("2400.01")) == D("50.40021")


def test_common_leg_size_examples() -> None:
    size = common_leg_size([aster, lighter], D("100"), [D("2400.00"), D("2400.50")])
    assert size == D("0.041")
    assert aster.rejection(D("2400.00"), size) is None
    assert lighter.rejection(D("2400.50"), size) is None
    assert common_leg_size([aster, lighter], D("8"), [D("2400"), D("2400")]) == 0  # lighter $10
    assert common_leg_size([aster, coarse], D("100"), [D("2400"), D("2400")]) == 0
    assert common_leg_size([aster, hl], D("0"), [D("2400"), D("2400")]) == 0
    with pytest.raises(ValueError):
        common_leg_size([], D("100"), [])
    with pytest.raises(ValueError):
        common_leg_size([aster, lighter], D("100"), [D("2400")])


@given(
    usd=st.integers(0, 10**7).map(lambda n: D(n) / 100),
    cents=st.tuples(st.integers(100, 10**7), st.integers(100, 10**7)),
)
def test_common_leg_size_is_valid_on_both_venues_and_maximal(
    usd: Decimal, cents: tuple[int, int]
) -> None:
    prices = [D(cents[0]) / 100, D(cents[1]) / 100]
    size = common_leg_size([aster, lighter], usd, prices)
    assert size >= 0
    if size == 0:
        # Then the largest affordable size on the shared 0.001 step is refused somewhere.
        best = min((usd / p).quantize(D("0.001"), ROUND_DOWN) for p in prices)
        assert best == 0 or any(
            rules.rejection(p, best) is not None
            for rules, p in zip([aster, lighter], prices, strict=True)
        )
        return
    for rules, price in zip([aster, lighter], prices, strict=True):
        assert rules.rejection(price, size) is None
        assert size * price <= usd
    assert any((size + D("0.001")) * price > usd for price in prices)


# --- dust ---


def test_is_dust_seed_case() -> None:
    # 0.021 ETH at ~$2400 is $50: not dust by notional where the minimum notional is $10...
    assert not is_dust(aster, D("0.021"), D("2400.37"))
    assert not is_dust(lighter, D("0.021"), D("2400.37"))
    # ...but on a 0.01 step with a 0.05 minimum it floors to 0.02 < 0.05: dust.
    assert is_dust(coarse, D("0.021"), D("2400.37"))
    assert not is_dust(coarse, D("0.051"), D("2400.37"))


def test_is_dust_by_notional_floor_and_sign() -> None:
    assert is_dust(lighter, D("0.004"), D("2400"))  # $9.60 < $10
    assert not is_dust(lighter, D("0.005"), D("2400"))
    assert is_dust(aster, D("0.0004"), D("2400"))  # floors to 0
    assert not is_dust(aster, D("0"), D("2400"))
    assert not is_dust(aster, D("-1"), D("2400"))
    assert is_dust(aster, D("0.001"), D("2400.005"))  # an off-grid price is rounded first
    # Reduce-only orders are exempt from the minimum notional on Aster-like rules.
    assert not is_dust(aster, D("0.001"), D("2400"), reduce_only=True)


# --- slippage ---


def test_slippage_sign_conventions() -> None:
    assert slippage_bps(Side.BUY, D("101"), D("100")) == pytest.approx(100.0)  # paid up
    assert slippage_bps(Side.SELL, D("99"), D("100")) == pytest.approx(100.0)  # sold down
    assert slippage_bps(Side.BUY, D("99"), D("100")) == pytest.approx(-100.0)  # improvement
    assert slippage_bps(Side.SELL, D("101"), D("100")) == pytest.approx(-100.0)
    assert slippage_bps(Side.BUY, D("100"), D("100")) == 0.0
    with pytest.raises(ValueError):
        slippage_bps(Side.BUY, D("100"), D("0"))


def test_cost_includes_fees() -> None:
    # 1 unit at 101 against 100 with 0.05 of fees: 100 bps + 5 bps.
    assert cost_bps_incl_fees(Side.BUY, D("101"), D("0.05"), D("1"), D("100")) == pytest.approx(
        105.0
    )
    # A rebate lowers the cost.
    assert cost_bps_incl_fees(Side.SELL, D("100"), D("-0.02"), D("2"), D("100")) == pytest.approx(
        -1.0
    )
    with pytest.raises(ValueError):
        cost_bps_incl_fees(Side.BUY, D("100"), D("0"), D("0"), D("100"))


def test_slippage_record_measure() -> None:
    record = SlippageRecord.measure(Side.BUY, D("2400"), D("2400.24"), D("2400.48"), D("1"))
    assert record.expected_bps == pytest.approx(1.0)
    assert record.actual_bps == pytest.approx(2.0)
    assert record.excess_bps == pytest.approx(1.0)
    assert record.arrival_mid == D("2400") and record.avg_price == D("2400.48")
    sell = SlippageRecord.measure(Side.SELL, D("2400"), None, D("2399.76"), D("1"))
    assert sell.expected_bps is None and sell.excess_bps is None
    assert sell.actual_bps == pytest.approx(1.0)
    nothing = SlippageRecord.measure(Side.SELL, None, D("2400"), None, D("0"))
    assert nothing.expected_bps is None and nothing.actual_bps is None


def test_report_from_a_book_feeds_the_record() -> None:
    b = deep_book()
    report = analyze(b, Side.BUY, D("150"), slippage_budget_bps=BUDGET)
    record = SlippageRecord.measure(
        Side.BUY, report.mid, report.expected_vwap, D("2400.40"), D("150")
    )
    assert record.expected_bps == pytest.approx(report.expected_slippage_vs_mid_bps, abs=1e-6)
