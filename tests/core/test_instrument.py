"""Instrument rules, grid rounding, placeability checks and the common size of a pair."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit import Instrument, common_size
from hedgekit.errors import ConversionError, InexactError, InvalidOrderError, NumberRangeError

D = Decimal
SCALE = 10**9

aster = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")
lighter = Instrument.lighter(2, 4, min_base_amount="0.005", min_quote_amount="10")
hl_eth = Instrument.hyperliquid(4)  # prices: 5 significant figures, at most 2 decimals


def test_passive_rounding_never_improves_the_price() -> None:
    assert aster.round_price("100.005", "buy") == D("100")
    assert aster.round_price("100.005", "sell") == D("100.01")
    assert aster.round_price(D("100.005"), "buy", aggressive=True) == D("100.01")
    assert aster.round_price(100, "sell") == D("100")


def test_hyperliquid_significant_figures_and_decimals() -> None:
    assert hl_eth.round_price("3119.95", "buy") == D("3119.9")
    assert hl_eth.round_price("3119.95", "sell") == D("3120")
    assert hl_eth.is_price_valid("123456")  # integers are always valid
    assert not hl_eth.is_price_valid("12345.6")
    assert hl_eth.round_price("0.012345", "buy") == D("0.01")  # capped at 2 decimals
    sz0 = Instrument.hyperliquid(0)
    assert sz0.round_price("0.0012345", "buy") == D("0.001234")
    assert sz0.round_price("0.0012345", "sell") == D("0.001235")


def test_lighter_integer_grid_and_range() -> None:
    assert lighter.round_price("513.7149", "sell") == D("513.72")
    assert lighter.floor_size("2.33299") == D("2.3329")
    assert lighter.rejection("50000000", "1") == "out_of_range"


@pytest.mark.parametrize(
    ("inst", "price", "size", "reduce_only", "reason"),
    [
        (aster, "100.01", "0.05", False, None),
        (aster, "100.001", "1", False, "too_many_decimals"),
        (aster, "100", "0.0005", False, "off_step"),
        (aster, "100", "0.001", False, "below_min_notional"),
        (aster, "100", "0.001", True, None),  # Aster exempts reduce-only from the notional
        (aster, "0", "1", False, "non_positive_price"),
        (aster, "1", "-1", False, "non_positive_size"),
        (lighter, "513.71", "0.0021", False, "below_min_size"),
        (lighter, "513.71", "0.0191", False, "below_min_notional"),
        (hl_eth, "3000.55", "1", False, "too_many_decimals_or_off_tick"),
        (Instrument.hyperliquid(3), "3000", "0.003", True, "below_min_notional"),
    ],
)
def test_check_names_the_first_failing_rule(
    inst: Instrument, price: str, size: str, reduce_only: bool, reason: str | None
) -> None:
    got = inst.rejection(price, size, reduce_only=reduce_only)
    if reason == "too_many_decimals_or_off_tick":
        assert got == "off_tick"  # Hyperliquid reports every grid miss as a tick error
    else:
        assert got == reason
    if got is None:
        inst.check(price, size, reduce_only=reduce_only)
    else:
        with pytest.raises(InvalidOrderError) as info:
            inst.check(price, size, reduce_only=reduce_only)
        assert info.value.reason == got
        assert price.lstrip("0") in info.value.detail or size in info.value.detail


def test_common_size_makes_both_legs_equal_and_valid() -> None:
    # the seeds' 2.332 vs 2.311 imbalance cannot come from us: one size valid on both
    size = common_size([aster, lighter], "2.33291")
    assert size == D("2.332")
    aster.check("514", size)
    lighter.check("514", size)
    with pytest.raises(InvalidOrderError) as info:
        common_size([aster, lighter], "0.004")
    assert info.value.reason == "below_min_size" and "#1" in info.value.detail
    with pytest.raises(InvalidOrderError) as info:
        common_size([aster, lighter], "0.01", prices=["500", "500"])
    assert info.value.reason == "below_min_notional"
    with pytest.raises(ValueError):
        common_size([], "1")
    with pytest.raises(ValueError):
        common_size([aster], "1", prices=["1", "2"])


def test_dust_is_below_minimum_after_flooring() -> None:
    assert lighter.is_dust("0.0049")
    assert not lighter.is_dust("0.005")
    assert aster.is_dust("0.0009")
    assert aster.is_dust("0")


def test_exact_input_types_and_refusals() -> None:
    assert aster.round_price(D("1E+2"), "buy") == D("100")
    with pytest.raises(TypeError, match="float"):
        aster.round_price(100.5, "buy")  # type: ignore[arg-type]
    assert aster.round_price_float(100.5, "buy") == D("100.5")
    with pytest.raises(ConversionError):
        aster.round_price_float(float("nan"), "buy")
    with pytest.raises(ConversionError):
        aster.round_price(D("NaN"), "buy")
    with pytest.raises(InexactError):
        aster.round_price("100.0000000001", "buy")
    with pytest.raises(NumberRangeError):
        aster.round_price("1e400", "buy")
    with pytest.raises(NumberRangeError):
        aster.round_price(10**30, "buy")
    with pytest.raises(ValueError, match="side"):
        aster.round_price("100", "long")
    with pytest.raises(TypeError):
        aster.round_price(None, "buy")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Instrument.plain("0", "0.001")


def test_raw_api_agrees_with_decimal_api() -> None:
    assert aster.round_price_raw(100_005_000_000, True) == 100 * SCALE
    assert aster.floor_size_raw(2_332_900_000) == 2_332_000_000


def test_repr_names_the_rules() -> None:
    assert "hyperliquid" in repr(hl_eth) and "min_notional=10" in repr(hl_eth)


instruments = st.sampled_from(
    [aster, lighter, hl_eth, Instrument.hyperliquid(0), Instrument.plain("0.05", "1")]
)
prices = st.decimals(min_value=D("0.000001"), max_value=D("1000000"), places=9)


@given(inst=instruments, price=prices, side=st.sampled_from(["buy", "sell"]))
def test_rounding_properties(inst: Instrument, price: Decimal, side: str) -> None:
    try:
        r = inst.round_price(price, side)
    except InvalidOrderError as exc:
        assert exc.reason == "non_positive_price" and side == "buy"
        return
    assert inst.is_price_valid(r)
    assert inst.round_price(r, side) == r  # idempotent
    assert (r <= price) if side == "buy" else (r >= price)  # passive never improves
    assert inst.round_price_raw(int(price * SCALE), side == "buy") == int(r * SCALE)


@given(inst=instruments, a=prices, b=prices)
def test_rounding_is_monotone(inst: Instrument, a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    assert inst.round_price(lo, "sell") <= inst.round_price(hi, "sell")
