"""Price rounding: hedgekit (raw and Decimal paths) vs Decimal.quantize, and the call floor."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import pytest

from hedgekit import Instrument

TICK = Decimal("0.01")
INST = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")
PRICE = Decimal("3119.9537")
PRICE_RAW = 3_119_953_700_000


def quantize_tick(price: Decimal, is_buy: bool) -> Decimal:
    """The usual pure-Python way: quantize to the tick's exponent, floor for buys."""
    return price.quantize(TICK, rounding=ROUND_FLOOR if is_buy else ROUND_CEILING)


@pytest.mark.benchmark(group="round-price")
def test_hedgekit_round_price_raw(benchmark: Any) -> None:
    assert INST.round_price_raw(PRICE_RAW, True) == 3_119_950_000_000
    benchmark(INST.round_price_raw, PRICE_RAW, True)


@pytest.mark.benchmark(group="round-price")
def test_hedgekit_round_price_decimal(benchmark: Any) -> None:
    assert INST.round_price(PRICE, "buy") == Decimal("3119.95")
    benchmark(INST.round_price, PRICE, "buy")


@pytest.mark.benchmark(group="round-price")
def test_python_decimal_quantize(benchmark: Any) -> None:
    assert quantize_tick(PRICE, True) == Decimal("3119.95")
    benchmark(quantize_tick, PRICE, True)


@pytest.mark.benchmark(group="round-price")
def test_python_decimal_quantize_bare(benchmark: Any) -> None:
    assert PRICE.quantize(TICK, rounding=ROUND_FLOOR) == Decimal("3119.95")
    benchmark(PRICE.quantize, TICK, ROUND_FLOOR)


@pytest.mark.benchmark(group="call-floor")
def test_extension_call_floor(benchmark: Any) -> None:
    """The cost of the cheapest call into the extension (a getter returning an int)."""
    assert INST.max_decimals == 2
    benchmark(INST.is_price_valid, 1)
