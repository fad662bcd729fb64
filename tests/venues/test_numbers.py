"""The worst price every live adapter gives a market order sent without one."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hedgekit import Instrument
from hedgekit.model import Side
from hedgekit.venues.numbers import protection_price

RULES = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")
mids = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("90000"), places=4)
slips = st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.003")])


@given(mid=mids, slippage=slips, side=st.sampled_from(list(Side)))
def test_a_protection_price_is_on_the_grid_and_never_better_than_the_slippage(
    mid: Decimal, slippage: Decimal, side: Side
) -> None:
    price = protection_price(RULES, side, mid, slippage)
    assert price % Decimal("0.01") == 0  # on the tick
    bound = mid * (1 + slippage) if side is Side.BUY else mid * (1 - slippage)
    # rounded away from the mid, by less than a tick
    if side is Side.BUY:
        assert bound <= price < bound + Decimal("0.01")
    else:
        assert bound - Decimal("0.01") < price <= bound


def test_a_protection_price_example() -> None:
    assert protection_price(RULES, Side.BUY, Decimal("100"), Decimal("0.05")) == Decimal("105")
    assert protection_price(RULES, Side.SELL, Decimal("100.001"), Decimal("0.05")) == Decimal(
        "95.00"
    )
