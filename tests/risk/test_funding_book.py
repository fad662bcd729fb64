"""The funding book: booked from the venues' payments, each counted once whatever the polls
look like; accrued estimated apart on each venue's schedule; signs as the venues pay them."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit.clock import run_virtual
from hedgekit.errors import InvalidArgumentError
from hedgekit.model import FundingPayment
from hedgekit.risk import FundingSchedule
from hedgekit.risk.funding_book import FundingBook, poll_funding

NS = 1_000_000_000
H = 3600 * NS
T0 = 1_767_225_600 * NS  # 2026-01-01 00:00:00 UTC
LEGS = {"aster": "ETHUSDT", "hl": "ETH"}
SCHEDULES = {"aster": FundingSchedule.aster(8), "hl": FundingSchedule.continuous(3600)}


def _book(since_ns: int = T0) -> FundingBook:
    return FundingBook(LEGS, SCHEDULES, since_ns=since_ns)


def _pay(
    venue: str, ts_ns: int, amount: str, size: str = "1", rate: str = "0.0001"
) -> FundingPayment:
    return FundingPayment(venue, LEGS[venue], D(amount), D(rate), D(size), ts_ns, D(2400))


# A venue's record: distinct settlement instants, amounts to the cent-thousandth, either venue.
_payments = st.lists(
    st.tuples(
        st.sampled_from(["aster", "hl"]),
        st.integers(1, 400),
        st.decimals(min_value=-5, max_value=5, places=5, allow_nan=False),
    ),
    max_size=40,
    unique_by=lambda t: (t[0], t[1]),
)


@given(
    record=_payments,
    polls=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.booleans()), max_size=30),
)
def test_the_booked_total_is_the_sum_of_the_venues_payments_for_any_interleaving_of_polls(
    record: list[tuple[str, int, D]], polls: list[tuple[int, int, bool]]
) -> None:
    """Each poll returns any window of the record (overlapping, repeated, out of order, the
    stream's copy and the REST copy both); after a last full read the book holds each payment
    exactly once."""
    truth = [_pay(v, T0 + k * 60 * NS, str(a)) for v, k, a in record]
    book = _book()
    for a, b, reverse in polls:
        window = truth[min(a, b) : max(a, b)]
        book.add_all(reversed(window) if reverse else window)
    new = book.add_all(truth)  # the last read: whatever is still missing
    for venue in LEGS:
        mine = [p for p in truth if p.venue == venue]
        assert book.paid(venue) == sum((p.amount for p in mine), D(0))
        assert len(book.payments(venue)) == len(mine)
        assert [p.ts_ns for p in book.payments(venue)] == sorted(p.ts_ns for p in mine)
    assert book.total_paid == sum((p.amount for p in truth), D(0))
    assert book.add_all(truth) == []  # a read again books nothing
    assert len(new) <= len(truth)


def test_payments_of_other_symbols_or_from_before_the_pair_are_not_its_own() -> None:
    book = _book(since_ns=T0 + H)
    assert not book.add(_pay("aster", T0, "-0.24"))  # before the pair opened
    assert not book.add(FundingPayment("aster", "BTCUSDT", D(-1), D("0.0001"), D(1), T0 + 8 * H))
    assert not book.add(FundingPayment("lighter", "ETH", D(-1), D("0.0001"), D(1), T0 + 8 * H))
    assert book.add(_pay("aster", T0 + 8 * H, "-0.24"))
    assert book.paid("aster") == D("-0.24") and book.paid("hl") == 0


def test_sign_convention_of_the_rate_the_venue_applied() -> None:
    # Positive rate: the long pays, the short receives. applied_hourly is from the leg's side:
    # positive when the leg earns.
    book = _book()
    assert book.applied_hourly("aster") is None
    book.add(_pay("aster", T0 + 8 * H, "-0.24", size="1", rate="0.0001"))  # long pays
    book.add(_pay("hl", T0 + 60 * NS, "0.0004", size="-1", rate="0.00001"))  # short receives
    assert book.applied_hourly("aster") == D("-0.0000125")  # 0.0001 per 8 h, paid
    assert book.applied_hourly("hl") == D("0.00001")
    book.add(_pay("aster", T0 + 16 * H, "0.48", size="1", rate="-0.0002"))  # negative: long earns
    assert book.applied_hourly("aster") == D("0.000025")


def test_accrued_on_a_periodic_venue_is_estimated_apart_and_drops_when_the_payment_is_booked() -> (
    None
):
    book = _book()
    kw = {"position_size": D(1), "rate_per_interval": D("0.0001"), "mark": D(2400)}
    # 2 h into the 8 h interval: a quarter of the next payment, owed by the long
    assert book.accrued("aster", now_ns=T0 + 2 * H, **kw) == D("-0.06")
    # past the 08:00 settlement without its payment booked: the whole of it is owed, plus 1 h
    assert book.accrued("aster", now_ns=T0 + 9 * H, **kw) == D("-0.27")
    book.add(_pay("aster", T0 + 8 * H, "-0.24"))
    leg = book.leg("aster", now_ns=T0 + 9 * H, **kw)
    assert leg.paid == D("-0.24") and leg.accrued == D("-0.03") and leg.earned == D("-0.27")
    assert leg.payments == 1 and leg.last_paid_ns == T0 + 8 * H
    # a short receives the mirror image; flat, or no mark: no estimate
    assert book.accrued("aster", now_ns=T0 + 9 * H, **{**kw, "position_size": D(-1)}) == D("0.03")
    assert book.accrued("aster", now_ns=T0 + 9 * H, **{**kw, "position_size": D(0)}) == 0
    assert book.accrued("aster", now_ns=T0 + 9 * H, **{**kw, "mark": None}) == 0


def test_accrued_on_a_continuous_venue_runs_from_its_latest_payment() -> None:
    book = _book()
    kw = {"position_size": D(-1), "rate_per_interval": D("0.00001"), "mark": D(2400)}
    assert book.accrued("hl", now_ns=T0 + 30 * 60 * NS, **kw) == D("0.012")  # half an hour
    book.add(_pay("hl", T0 + 30 * 60 * NS, "0.012", size="-1", rate="0.00001"))
    assert book.accrued("hl", now_ns=T0 + 45 * 60 * NS, **kw) == D("0.006")


def test_a_leg_without_a_schedule_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="no funding schedule"):
        FundingBook(LEGS, {"aster": SCHEDULES["aster"]}, since_ns=T0)


class _Venue:
    """A venue whose funding_payments answers from a list, or fails."""

    def __init__(self, payments: list[FundingPayment], fail: bool = False) -> None:
        self.record = payments
        self.fail = fail
        self.asked: list[int] = []

    async def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        self.asked.append(since_ns)
        if self.fail:
            raise TimeoutError("no answer")
        return [p for p in self.record if p.ts_ns >= since_ns]


def test_poll_books_each_payment_once_across_polls_and_a_failed_read() -> None:
    aster = _Venue([_pay("aster", T0 + 8 * H, "-0.24")])
    hl = _Venue([_pay("hl", T0 + 60 * NS, "0.0004", size="-1")], fail=True)
    book = _book()

    async def main() -> None:
        new, failed = await poll_funding(book, {"aster": aster, "hl": hl})  # type: ignore[dict-item]
        assert [p.venue for p in new] == ["aster"] and set(failed) == {"hl"}
        hl.fail = False
        hl.record.append(_pay("hl", T0 + 120 * NS, "0.0004", size="-1"))
        new, failed = await poll_funding(book, {"aster": aster, "hl": hl})  # type: ignore[dict-item]
        assert [p.ts_ns for p in new] == [T0 + 60 * NS, T0 + 120 * NS] and not failed

    run_virtual(main())
    assert aster.asked == [T0, T0] and hl.asked == [T0, T0]  # always from the pair's start
    assert book.paid("aster") == D("-0.24") and book.paid("hl") == D("0.0008")
