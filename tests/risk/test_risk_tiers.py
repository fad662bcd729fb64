"""Margin tables in the three venue conventions, and the rules every table obeys."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk import MarginTable, MarginTier

# Binance's BTCUSDT brackets as the Binance UI code had them (notionalFloor, initialLeverage,
# maintMarginRatio, cum); each cum is the previous plus floor * (rate - previous rate).
BTCUSDT = [
    ("0", 125, "0.004", "0"),
    ("50000", 100, "0.005", "50"),
    ("250000", 50, "0.01", "1300"),
    ("1000000", 20, "0.025", "16300"),
    ("10000000", 10, "0.05", "266300"),
]


def brackets(rows: list[tuple[str, int, str, str]]) -> list[dict[str, object]]:
    return [
        {
            "bracket": i + 1,
            "notionalFloor": f,
            "initialLeverage": lev,
            "maintMarginRatio": r,
            "cum": c,
        }
        for i, (f, lev, r, c) in enumerate(rows)
    ]


def test_hyperliquid_rate_is_half_the_initial_rate_at_max_leverage() -> None:
    # Hyperliquid docs, "Margin tiers": maintenance_margin_rate = initial margin rate at max
    # leverage / 2, e.g. 2.5% at 20x; "Liquidations": 1% at 50x, 16.7% at 3x.
    assert MarginTable.hyperliquid(20).tiers[0].maintenance_rate == D("0.025")
    assert MarginTable.hyperliquid(50).tiers[0].maintenance_rate == D("0.01")
    third = MarginTable.hyperliquid(3).tiers[0].maintenance_rate
    assert Fraction(1, 6) < Fraction(third) < Fraction(1, 6) + Fraction(1, 10**28)  # rounded up


def test_hyperliquid_deduction_is_derived_from_the_tiers() -> None:
    # Hyperliquid docs, "Margin tiers": BTC 40x up to 150M notional, 20x above;
    # deduction[n] = deduction[n-1] + lower_bound[n] * (rate[n] - rate[n-1]).
    t = MarginTable.hyperliquid(40, [("0", 40), ("150000000", 20)])
    assert [x.maintenance_rate for x in t.tiers] == [D("0.0125"), D("0.025")]
    assert t.tiers[1].maintenance_amount == D(150000000) * (D("0.025") - D("0.0125"))
    # continuous at the boundary
    below = D(150000000) * D("0.0125")
    assert t.maintenance_margin(D(150000000)) == below
    # the mapping form of meta.marginTables
    same = MarginTable.hyperliquid(
        40,
        [
            {"lowerBound": "0.0", "maxLeverage": 40},
            {"lowerBound": "150000000.0", "maxLeverage": 20},
        ],
    )
    assert same == t


def test_hyperliquid_three_tiers_accumulate_the_deduction() -> None:
    # the docs' testnet DOGE table: 0-20k 10x, 20-100k 5x, >100k 3x
    t = MarginTable.hyperliquid(10, [(0, 10), (20000, 5), (100000, 3)])
    r = [x.maintenance_rate for x in t.tiers]
    assert r[0] == D("0.05") and r[1] == D("0.1")
    assert t.tiers[1].maintenance_amount == 20000 * (r[1] - r[0])
    assert t.tiers[2].maintenance_amount == t.tiers[1].maintenance_amount + 100000 * (r[2] - r[1])


def test_hyperliquid_caps_tier_leverage_at_the_asset_max() -> None:
    t = MarginTable.hyperliquid(25, [(0, 40), (150_000_000, 20)])
    assert t.tiers[0].max_leverage == 25 and t.tiers[0].maintenance_rate == D("0.02")


def test_binance_brackets() -> None:
    t = MarginTable.binance_brackets(brackets(BTCUSDT))
    assert t.max_leverage_at(D(49999)) == 125
    assert t.max_leverage_at(D(50000)) == 100  # a floor belongs to its own tier
    assert t.maintenance_margin(D(200000)) == D(200000) * D("0.005") - 50
    # any order
    assert MarginTable.binance_brackets(list(reversed(brackets(BTCUSDT)))) == t


def test_binance_discontinuous_cum_is_refused_with_the_continuous_value() -> None:
    rows = list(BTCUSDT)
    rows[2] = ("250000", 50, "0.01", "1250")
    with pytest.raises(InvalidArgumentError, match=r"tier 2 .*continuous amount is 1300"):
        MarginTable.binance_brackets(brackets(rows))


def test_binance_missing_key_and_floats() -> None:
    with pytest.raises(InvalidArgumentError, match="lacks cum"):
        MarginTable.binance_brackets(
            [{"notionalFloor": 0, "initialLeverage": 20, "maintMarginRatio": "0.01"}]
        )
    with pytest.raises(InvalidArgumentError, match="floats are inexact"):
        MarginTable.binance_brackets(
            [{"notionalFloor": 0, "initialLeverage": 20, "maintMarginRatio": 0.01, "cum": 0}]
        )


def test_lighter_fractions_over_ten_thousand() -> None:
    t = MarginTable.lighter(500, 300)  # 5% initial = 20x, 3% maintenance
    assert t.tiers[0].max_leverage == 20 and t.tiers[0].maintenance_rate == D("0.03")
    odd = MarginTable.lighter(333, 200)  # 30.03003...x, rounded down
    assert odd.tiers[0].max_leverage * 333 <= 10000
    with pytest.raises(InvalidArgumentError, match="above initial_fraction"):
        MarginTable.lighter(300, 500)
    with pytest.raises(InvalidArgumentError, match="int in 1..10000"):
        MarginTable.lighter(0, 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"notional_floor": D(-1)}, "must not be negative"),
        ({"max_leverage": D(0)}, "must be positive"),
        ({"maintenance_rate": D(0)}, r"in \(0, 1\)"),
        ({"maintenance_rate": D(1)}, r"in \(0, 1\)"),
        ({"maintenance_rate": D("0.2"), "max_leverage": D(10)}, "above 1/max_leverage"),
        ({"maintenance_amount": D(-1)}, "must not be negative"),
    ],
)
def test_tier_validation(kwargs: dict[str, D], match: str) -> None:
    base = {"notional_floor": D(0), "max_leverage": D(10), "maintenance_rate": D("0.05")}
    with pytest.raises(InvalidArgumentError, match=match):
        MarginTier(**(base | kwargs))


def test_table_validation() -> None:
    with pytest.raises(InvalidArgumentError, match="at least one tier"):
        MarginTable(())
    with pytest.raises(InvalidArgumentError, match="start at notional 0"):
        MarginTable((MarginTier(D(5), D(10), D("0.05")),))
    with pytest.raises(InvalidArgumentError, match="ascend strictly"):
        MarginTable((MarginTier(D(0), D(10), D("0.05")), MarginTier(D(0), D(5), D("0.1"))))
    with pytest.raises(InvalidArgumentError, match="max_leverage must not rise"):
        MarginTable((MarginTier(D(0), D(5), D("0.1")), MarginTier(D(10), D(10), D("0.05"), D(-0))))
    with pytest.raises(InvalidArgumentError, match="first tier's maintenance_amount must be 0"):
        MarginTable((MarginTier(D(0), D(10), D("0.05"), D(1)),))
    with pytest.raises(InvalidArgumentError, match="must not be negative"):
        MarginTable.hyperliquid(10).maintenance_margin(D(-1))


@given(
    st.lists(
        st.tuples(st.integers(1, 10**9), st.integers(1, 100)),
        min_size=0,
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    st.integers(1, 100),
    st.integers(0, 2 * 10**9),
)
def test_hyperliquid_tables_are_continuous_and_zero_at_zero(
    upper: list[tuple[int, int]], lev0: int, notional: int
) -> None:
    floors = sorted(f for f, _ in upper)
    levs = sorted((lev for _, lev in upper), reverse=True)
    rows = [(0, max([lev0, *levs]))] + [
        (f, min(lev, lev0)) for f, lev in zip(floors, levs, strict=True)
    ]
    t = MarginTable.hyperliquid(100, rows)  # validation itself checks continuity exactly
    assert t.maintenance_margin(D(0)) == 0
    assert t.maintenance_margin(D(notional)) >= 0
