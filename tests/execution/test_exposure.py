"""``measure_exposure`` on hand-made fills: the unhedged exposure integral ``∫ |net| x price dt``,
its independence from the order fills arrive in, the end of exposure once a pair is hedged, a
starting imbalance (``start_net``), the peak (``max_usd``) and when the pair came back flat
(``flat_ns``).
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit.execution.exposure import Exposure, measure_exposure
from hedgekit.model import Fill, Liquidity, Side

D = Decimal
S = 1_000_000_000
_ids = itertools.count(1)


def fill(side: str, size: str, price: str, t_s: float, venue: str = "hl") -> Fill:
    """One fill of ``size`` at ``price``, executed ``t_s`` seconds after zero."""
    n = next(_ids)
    return Fill(
        venue=venue,
        symbol="ETH",
        client_id=f"c{n}",
        venue_order_id=str(n),
        trade_id=n,
        side=Side(side),
        price=D(price),
        size=D(size),
        fee=D(0),
        liquidity=Liquidity.TAKER,
        ts_ns=int(t_s * S),
    )


def test_no_fills_no_exposure() -> None:
    e = measure_exposure([], 10 * S)
    assert e == Exposure(usd_seconds=0.0, max_usd=0.0, first_fill_ns=None, flat_ns=None, net=D(0))


def test_one_leg_then_its_hedge() -> None:
    # Long 1 at 100 from 1 s, hedged at 3 s: 1 x 100 x 2 s = 200 USD·s, nothing afterwards.
    fills = [fill("buy", "1", "100", 1), fill("sell", "1", "101", 3, venue="aster")]
    e = measure_exposure(fills, 5 * S)
    assert e.usd_seconds == pytest.approx(200.0)
    assert e.max_usd == pytest.approx(100.0)
    assert e.first_fill_ns == 1 * S
    assert e.flat_ns == 3 * S
    assert e.net == 0


def test_a_hedged_pair_contributes_nothing_after_the_hedge() -> None:
    fills = [fill("buy", "1", "100", 1), fill("sell", "1", "101", 3, venue="aster")]
    assert (
        measure_exposure(fills, 3 * S).usd_seconds == measure_exposure(fills, 3_600 * S).usd_seconds
    )


def test_legs_filled_at_the_same_instant_are_never_exposed() -> None:
    fills = [fill("buy", "2", "100", 1), fill("sell", "2", "100.5", 1, venue="aster")]
    e = measure_exposure(fills, 60 * S)
    assert e.usd_seconds == 0.0
    assert e.flat_ns is None  # never left the tolerance, so it never "came back"


def test_an_unhedged_leg_counts_until_the_end() -> None:
    e = measure_exposure([fill("sell", "0.5", "2000", 2)], 12 * S)
    assert e.usd_seconds == pytest.approx(0.5 * 2000 * 10)
    assert e.flat_ns is None
    assert e.net == D("-0.5")


def test_piecewise_exposure_is_valued_at_the_last_fill_price() -> None:
    # 1 long at 100 for 1 s, then 2 long at 110 for 1 s, then flat.
    fills = [
        fill("buy", "1", "100", 1),
        fill("buy", "1", "110", 2),
        fill("sell", "2", "105", 3, venue="aster"),
    ]
    e = measure_exposure(fills, 4 * S)
    assert e.usd_seconds == pytest.approx(1 * 100 * 1 + 2 * 110 * 1)
    assert e.max_usd == pytest.approx(220.0)
    assert e.flat_ns == 3 * S


def test_max_usd_is_the_peak_not_the_end() -> None:
    fills = [
        fill("buy", "3", "100", 1),
        fill("sell", "2", "100", 2, venue="aster"),
    ]
    e = measure_exposure(fills, 10 * S)
    assert e.max_usd == pytest.approx(300.0)
    assert e.net == D(1)


def test_start_net_counts_from_start_ns_at_the_start_price() -> None:
    # A close of unequal legs: net +2 open at 0 s, valued at 100 until the closing fill at 2 s.
    fills = [fill("sell", "2", "99", 2)]
    e = measure_exposure(fills, 5 * S, start_net=D(2), start_price=D(100), start_ns=0)
    assert e.usd_seconds == pytest.approx(2 * 100 * 2)
    assert e.max_usd == pytest.approx(200.0)
    assert e.net == 0 and e.flat_ns == 2 * S
    # Without start_ns the starting imbalance counts from the first fill only.
    late = measure_exposure(fills, 5 * S, start_net=D(2), start_price=D(100))
    assert late.usd_seconds == 0.0


def test_start_net_without_fills_counts_to_the_end() -> None:
    e = measure_exposure([], 10 * S, start_net=D("-1"), start_price=D(50), start_ns=4 * S)
    assert e.usd_seconds == pytest.approx(1 * 50 * 6)
    assert e.max_usd == pytest.approx(50.0)
    assert e.flat_ns is None and e.first_fill_ns is None


def test_flat_within_tolerance_and_flat_ns_is_the_last_return() -> None:
    fills = [
        fill("buy", "1", "100", 1),
        fill("sell", "0.999", "100", 2, venue="aster"),  # 0.001 left: flat within 0.001
        fill("buy", "1", "100", 3),  # exposed again
    ]
    assert measure_exposure(fills, 5 * S, D("0.001")).flat_ns is None
    assert measure_exposure(fills[:2], 5 * S, D("0.001")).flat_ns == 2 * S
    assert measure_exposure(fills[:2], 5 * S).flat_ns is None  # exact: 0.001 is not flat
    back = [*fills, fill("sell", "1", "100", 4, venue="aster")]
    assert measure_exposure(back, 5 * S, D("0.001")).flat_ns == 4 * S


def test_flat_ns_is_none_when_the_net_never_left_the_tolerance() -> None:
    e = measure_exposure([fill("buy", "0.0005", "100", 1)], 5 * S, D("0.001"))
    assert e.flat_ns is None


_times = st.lists(st.integers(0, 100), min_size=1, max_size=8, unique=True)


@settings(max_examples=60)
@given(
    times=_times,
    data=st.data(),
)
def test_out_of_order_fills_give_the_same_result(times: list[int], data: st.DataObject) -> None:
    fills = [
        fill(
            data.draw(st.sampled_from(["buy", "sell"])),
            str(data.draw(st.integers(1, 50)) / 10),
            str(data.draw(st.integers(9_000, 11_000)) / 100),
            t / 10,
        )
        for t in times
    ]
    shuffled = data.draw(st.permutations(fills))
    end = 11 * S
    assert measure_exposure(shuffled, end, D("0.1")) == measure_exposure(
        sorted(fills, key=lambda f: f.ts_ns), end, D("0.1")
    )


def test_fills_at_the_same_instant_give_the_same_result_in_any_arrival_order() -> None:
    a = fill("buy", "2", "100", 1)
    b = fill("sell", "1", "101", 1, venue="aster")
    assert measure_exposure([a, b], 5 * S) == measure_exposure([b, a], 5 * S)
