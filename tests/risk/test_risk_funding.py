"""Funding schedules, payments and accrual: sign convention, venue cadences, exactness."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk import FundingMode, FundingSchedule, accrued, normalise_rate, payments

NS = 1_000_000_000
H = 3600 * NS
T0 = 1_767_225_600 * NS  # 2026-01-01 00:00:00 UTC


def test_venue_defaults() -> None:
    hl = FundingSchedule.hyperliquid()
    assert hl.mode is FundingMode.PERIODIC and hl.interval_s == 3600 and hl.anchor_ns == 0
    assert FundingSchedule.aster().interval_s == 8 * 3600
    assert FundingSchedule.aster(4).interval_s == 4 * 3600
    assert FundingSchedule.lighter().interval_s == 3600
    # Aster settles at 00:00, 08:00, 16:00 UTC for an 8-hour symbol
    assert FundingSchedule.aster().settlements(T0, T0 + 24 * H) == [
        T0 + 8 * H,
        T0 + 16 * H,
        T0 + 24 * H,
    ]
    # an explicit anchor (premiumIndex.nextFundingTime) shifts the instants
    shifted = FundingSchedule.aster(8, anchor_ns=T0 + 2 * H)
    assert shifted.settlements(T0, T0 + 12 * H) == [T0 + 2 * H, T0 + 10 * H]


def test_hourly_payment_signs_and_amount() -> None:
    # Hyperliquid: payment = szi * oraclePx * rate, positive rate: longs pay shorts [DOC];
    # here received positive: a long of 2 at 30,000 and 0.0000125/h pays 0.75 each hour
    hl = FundingSchedule.hyperliquid()
    long = payments(hl, D(2), D("0.0000125"), D(30000), T0, T0 + 3 * H)
    assert [p.amount for p in long] == [D("-0.75")] * 3
    assert [p.ts_ns for p in long] == [T0 + H, T0 + 2 * H, T0 + 3 * H]
    short = payments(hl, D(-2), D("0.0000125"), D(30000), T0, T0 + 3 * H)
    assert [p.amount for p in short] == [D("0.75")] * 3
    negative_rate = payments(hl, D(2), D("-0.0001"), D(100), T0, T0 + H)
    assert negative_rate[0].amount == D("0.02")  # shorts pay longs


def test_window_is_open_at_the_start_and_closed_at_the_end() -> None:
    hl = FundingSchedule.hyperliquid()
    assert [p.ts_ns for p in payments(hl, D(1), D("0.001"), D(1), T0, T0 + H)] == [T0 + H]
    assert payments(hl, D(1), D("0.001"), D(1), T0 + 1, T0 + H - 1) == []
    assert payments(hl, D(0), D("0.001"), D(1), T0, T0 + 5 * H) == []


def test_accrued_between_payments() -> None:
    hl = FundingSchedule.hyperliquid()
    # 15 minutes into the hour, a long of 4 at 100 and 0.0004/h has accrued a quarter of -0.16
    assert accrued(hl, D(4), D("0.0004"), D(100), T0 - 5 * H, T0 + H // 4) == D("-0.04")
    assert accrued(hl, D(4), D("0.0004"), D(100), T0 - 5 * H, T0) == 0  # at a settlement
    # opened mid-interval: from the open, not from the last settlement
    assert accrued(hl, D(4), D("0.0004"), D(100), T0 + H // 2, T0 + 3 * H // 4) == D("-0.04")


def test_continuous_schedule() -> None:
    c = FundingSchedule.continuous(3600)
    pays = payments(c, D(1), D("0.0003"), D(1000), T0, T0 + 90 * 60 * NS)
    assert len(pays) == 1 and pays[0].amount == D("-0.45") and pays[0].ts_ns == T0 + 90 * 60 * NS
    assert accrued(c, D(1), D("0.0003"), D(1000), T0, T0 + 90 * 60 * NS) == D("-0.45")
    assert payments(c, D(1), D("0.0003"), D(1000), T0, T0) == []
    # a third of an hour: rounded half-even at 28 digits
    third = payments(c, D(1), D("0.0001"), D(1), T0, T0 + 20 * 60 * NS)[0].amount
    assert third == D("-0.00003333333333333333333333333333")


def test_normalise_rate() -> None:
    # an 8-hour fraction as an hourly one
    assert normalise_rate(D("0.0008"), quoted_interval_s=28800, interval_s=3600) == D("0.0001")
    # a percent per hour (Lighter's fundings.rate, UNCONFIRMED units) as an hourly fraction
    assert normalise_rate(D("0.01"), quoted_interval_s=3600, interval_s=3600, percent=True) == D(
        "0.0001"
    )
    # Aster's 4-hour rate as an hourly one
    assert normalise_rate(D("0.0004"), quoted_interval_s=14400, interval_s=3600) == D("0.0001")
    with pytest.raises(InvalidArgumentError, match="interval_s must be positive"):
        normalise_rate(D(1), quoted_interval_s=0, interval_s=3600)


def test_bad_input() -> None:
    hl = FundingSchedule.hyperliquid()
    with pytest.raises(InvalidArgumentError, match="end_ns .* is before start_ns"):
        payments(hl, D(1), D(0), D(1), T0, T0 - 1)
    with pytest.raises(InvalidArgumentError, match="mark must be positive, got 0"):
        payments(hl, D(1), D(0), D(0), T0, T0)
    with pytest.raises(InvalidArgumentError, match="floats are inexact"):
        payments(hl, 1.0, D(0), D(1), T0, T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="interval_s must be positive"):
        FundingSchedule.periodic(0)
    with pytest.raises(InvalidArgumentError, match="must be an int"):
        FundingSchedule.periodic(3600, anchor_ns=1.5)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ properties

sizes = st.integers(0, 10**9).map(lambda n: D(n).scaleb(-4))
rates = st.integers(-(10**6), 10**6).map(lambda n: D(n).scaleb(-8))
marks = st.integers(1, 10**9).map(lambda n: D(n).scaleb(-3))
times = st.integers(0, 10**19)
schedules = st.one_of(
    st.builds(
        FundingSchedule.periodic,
        st.sampled_from([3600, 4 * 3600, 8 * 3600, 60]),
        st.integers(0, 10**18),
    ),
    st.builds(FundingSchedule.continuous, st.sampled_from([3600, 8 * 3600, 7])),
)


@given(schedules, sizes, rates, marks, times, st.integers(0, 10**15))
def test_long_and_short_get_exactly_opposite_payments(
    sched: FundingSchedule, size: D, rate: D, mark: D, start: int, span: int
) -> None:
    long = payments(sched, size, rate, mark, start, start + span)
    short = payments(sched, -size, rate, mark, start, start + span)
    assert [p.ts_ns for p in long] == [p.ts_ns for p in short]
    assert all(a.amount == -b.amount for a, b in zip(long, short, strict=True))
    assert accrued(sched, size, rate, mark, start, start + span) == -accrued(
        sched, -size, rate, mark, start, start + span
    )
    # a positive rate never pays a long
    if rate > 0 and size > 0:
        assert all(p.amount < 0 for p in long)


@given(
    sizes,
    st.integers(-(10**6), 10**6).map(lambda n: D(n).scaleb(-9)),
    marks,
    times,
    st.sampled_from([4, 8]),
)
def test_a_day_pays_the_same_hourly_or_every_n_hours(
    size: D, hourly: D, mark: D, start: int, n: int
) -> None:
    # the same hourly rate, quoted per n hours on Aster, hourly on Hyperliquid
    aster = FundingSchedule.aster(n)
    hl = FundingSchedule.hyperliquid()
    a = payments(aster, size, hourly * n, mark, start, start + 24 * H)
    h = payments(hl, size, hourly, mark, start, start + 24 * H)
    if size != 0:
        assert len(a) == 24 // n and len(h) == 24
    assert sum((p.amount for p in a), D(0)) == sum((p.amount for p in h), D(0))


@given(schedules, times, st.integers(0, 10**14))
def test_settlements_are_the_schedule_instants_in_the_window(
    sched: FundingSchedule, start: int, span: int
) -> None:
    got = sched.settlements(start, start + span)
    if sched.mode is FundingMode.CONTINUOUS:
        assert got == []
        return
    assert all(start < t <= start + span for t in got)
    assert all((t - sched.anchor_ns) % sched.interval_ns == 0 for t in got)
    assert (
        len(got)
        == (start + span - sched.anchor_ns) // sched.interval_ns
        - (start - sched.anchor_ns) // sched.interval_ns
    )
