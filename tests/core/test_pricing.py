"""Spread gate, offsets, maker prices, break-even and the adaptive ladder."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit import (
    Instrument,
    SpreadGate,
    break_even_price,
    ladder,
    limit_price,
    maker_price,
    spread_within,
)
from hedgekit.errors import BookIntegrityError

D = Decimal
tick = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")


def test_spread_gate_separates_entry_and_exit() -> None:
    gate = SpreadGate("5", "20")
    assert gate.max_entry_bps == D(5) and gate.max_exit_bps == D(20)
    assert not gate.allows_entry("100", "100.1")  # ~10 bps
    assert gate.allows_exit("100", "100.1")
    assert spread_within("100", "100.02", "2")
    assert not spread_within("100", "100.02", "1.9998")  # 1.99980002 bps: exact, no float slack
    assert not spread_within("100", "100", "50")  # locked
    assert not spread_within("101", "100", "500")  # crossed
    with pytest.raises(ValueError):
        SpreadGate("-1", "5")


def test_offsets_passive_and_crossing() -> None:
    assert limit_price(tick, "buy", "100", "100.1", "1") == D("99.99")
    assert limit_price(tick, "sell", "100", "100.1", "1") == D("100.12")
    assert limit_price(tick, "buy", "100", "100.1", "-2") == D("100.12")  # crosses 2 bps
    assert limit_price(tick, "sell", "100", "100.1", "-2") == D("99.98")
    with pytest.raises(BookIntegrityError) as info:
        limit_price(tick, "buy", "100.1", "100", "1")
    assert info.value.kind == "crossed"


def test_maker_price_never_crosses() -> None:
    assert maker_price(tick, "buy", "100", "100.1", improve=True) == D("100.01")
    assert maker_price(tick, "buy", "100", "100.01", improve=True) == D("100")
    assert maker_price(tick, "sell", "100", "100.01", improve=True) == D("100.01")


def test_break_even_from_the_seed_close() -> None:
    zec = Instrument.lighter(3, 3, "0.001", "0")
    # the other leg bought at 514.00 paying 3.5 bps; the hedge sells at 0 bps
    assert break_even_price(zec, "sell", "514", "0.00035", "0") == D("514.18")
    assert break_even_price(zec, "buy", "514", "0.0001", "0.00045") == D("513.717")
    with pytest.raises(ValueError):
        break_even_price(zec, "sell", "514", "0", "1")


def test_ladder_inside_touch_cross() -> None:
    assert ladder(tick, "buy", "100", "100.1", ["2", "5"]) == [
        D("100.05"),
        D("100.1"),
        D("100.12"),
        D("100.15"),
    ]
    assert ladder(tick, "sell", "100", "100.01") == [D("100")]


@given(
    bid_ticks=st.integers(1_000, 10_000_000),
    spread=st.integers(1, 500),
    side=st.sampled_from(["buy", "sell"]),
    improve=st.booleans(),
)
def test_maker_price_is_post_only_safe(
    bid_ticks: int, spread: int, side: str, improve: bool
) -> None:
    bid = D(bid_ticks) / 100
    ask = D(bid_ticks + spread) / 100
    p = maker_price(tick, side, bid, ask, improve=improve)
    assert tick.is_price_valid(p)
    assert (bid <= p < ask) if side == "buy" else (bid < p <= ask)


@given(
    bid_ticks=st.integers(1_000, 10_000_000),
    spread=st.integers(1, 500),
    side=st.sampled_from(["buy", "sell"]),
    steps=st.lists(st.decimals(0, 100, places=2), max_size=4),
)
def test_ladder_is_strictly_more_aggressive(
    bid_ticks: int, spread: int, side: str, steps: list[Decimal]
) -> None:
    bid = D(bid_ticks) / 100
    ask = D(bid_ticks + spread) / 100
    prices = ladder(tick, side, bid, ask, sorted(steps))
    pairs = list(zip(prices, prices[1:]))
    assert all((b > a) if side == "buy" else (b < a) for a, b in pairs)
    assert (ask if side == "buy" else bid) in prices  # the touch is always a rung
