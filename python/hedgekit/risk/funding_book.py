"""One pair's funding, per leg, as the venues booked it: the single source of truth for funding.

A :class:`FundingBook` is fed the venues' own payments
(:meth:`~hedgekit.venues.Venue.funding_payments`, or the
:class:`~hedgekit.model.FundingPayment` events of their private streams) and keeps, per leg:

- **paid**: the sum of the venue's payments on the leg's symbol since the book started,
  received positive, paid negative, exactly as the venue booked them (``Decimal``, exact sums).
  A payment's identity is ``(venue, symbol, ts_ns)`` — a venue books one payment per symbol per
  settlement (Hyperliquid ``userFundings`` per hour, Aster ``FUNDING_FEE`` per interval) — so a
  payment seen again, in a later poll, after a reconnect or both by stream and by poll, is
  counted once. Payments of other symbols, or from before the book started, are not the pair's.
- **accrued**: an *estimate* of what is owed and not booked yet, kept apart from ``paid``:
  from the venue's current rate on its own schedule (:class:`~hedgekit.risk.FundingSchedule`),
  the position and the mark. On a periodic venue: a full payment
  (``-size × mark × rate``) for every settlement instant after the leg's latest booked payment
  whose payment has not been seen yet, plus the pro-rata part of the next one since the last
  settlement; on a continuous venue: the pro-rata amount since the latest booked payment. It
  drops back as the venue's payments are booked.

Sign convention (``docs/risk.md``): a positive rate means longs pay shorts, so a long leg pays
and a short leg receives when the rate is positive. :meth:`FundingBook.applied_hourly` gives the
rate each venue actually applied in its latest payment, per hour, from the leg's side (positive:
the leg earns).

The book does no I/O; :func:`poll_funding` reads the venues (each read bounded by a timeout)
and adds what they return.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from hedgekit.errors import InvalidArgumentError
from hedgekit.model import FundingPayment
from hedgekit.risk._exact import ROUND_HALF_EVEN, ZERO, dec, div, exact
from hedgekit.risk.funding import FundingMode, FundingSchedule, accrued, payments

if TYPE_CHECKING:
    from hedgekit.venues.base import Venue

__all__ = ["FundingBook", "LegFunding", "PaymentKey", "poll_funding"]

_HOUR_S: Final = 3600

PaymentKey = tuple[str, str, int]
"""A payment's identity: ``(venue, symbol, ts_ns)``."""


def payment_key(payment: FundingPayment) -> PaymentKey:
    """The identity under which a payment is counted once."""
    return (payment.venue, payment.symbol, payment.ts_ns)


@dataclass(frozen=True, slots=True)
class LegFunding:
    """One leg's funding at one moment.

    Attributes:
        venue: The leg's venue.
        symbol: The leg's symbol there.
        paid: Booked by the venue since the book started (received positive), exact.
        payments: How many payments that is.
        accrued: Estimated, owed and not booked yet (``0`` when the estimate could not be made:
            flat, no rate or no mark).
        last_paid_ns: When the latest booked payment was made (``None``: none yet).
        schedule: The venue's funding schedule for the symbol.
    """

    venue: str
    symbol: str
    paid: Decimal
    payments: int
    accrued: Decimal
    last_paid_ns: int | None
    schedule: FundingSchedule

    @property
    def earned(self) -> Decimal:
        """``paid + accrued``: what the leg has earned so far (negative: cost)."""
        return self.paid + self.accrued

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (Decimals as exact strings)."""
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "paid": str(self.paid),
            "payments": self.payments,
            "accrued": str(self.accrued),
            "earned": str(self.earned),
            "last_paid_ns": self.last_paid_ns,
            "schedule": self.schedule.mode.value,
            "interval_s": self.schedule.interval_s,
        }


class FundingBook:
    """Per-leg funding of one pair, booked from the venues' payments.

    Args:
        legs: The pair's symbol on each venue, by venue name.
        schedules: Each venue's funding schedule for its symbol (``Venue.funding_schedule``).
        since_ns: When the pair started (the open's start): earlier payments are not its own.

    Attributes:
        legs: The symbol of each leg, by venue.
        schedules: Each leg's funding schedule, by venue.
        since_ns: The pair's start.

    Raises:
        InvalidArgumentError: A leg without a schedule, or no legs.
    """

    def __init__(
        self,
        legs: Mapping[str, str],
        schedules: Mapping[str, FundingSchedule],
        *,
        since_ns: int,
    ) -> None:
        if not legs:
            raise InvalidArgumentError("a funding book needs at least one leg")
        missing = [v for v in legs if v not in schedules]
        if missing:
            raise InvalidArgumentError(f"no funding schedule for {missing}")
        self.legs: dict[str, str] = dict(legs)
        self.schedules: dict[str, FundingSchedule] = {v: schedules[v] for v in legs}
        self.since_ns = since_ns
        self._seen: set[PaymentKey] = set()
        self._paid: dict[str, Decimal] = dict.fromkeys(legs, ZERO)
        self._payments: dict[str, list[FundingPayment]] = {v: [] for v in legs}

    # ------------------------------------------------------------------------------ booking
    def add(self, payment: FundingPayment) -> bool:
        """Books one venue payment.

        Returns:
            ``True`` when it is new and the pair's (its venue and symbol are a leg's, it is not
            before ``since_ns``); ``False`` for a payment already booked or not the pair's.
        """
        if self.legs.get(payment.venue) != payment.symbol or payment.ts_ns < self.since_ns:
            return False
        key = payment_key(payment)
        if key in self._seen:
            return False
        self._seen.add(key)
        self._paid[payment.venue] = _add(self._paid[payment.venue], payment.amount)
        booked = self._payments[payment.venue]
        booked.append(payment)
        if len(booked) > 1 and booked[-2].ts_ns > payment.ts_ns:
            booked.sort(key=lambda p: p.ts_ns)
        return True

    def add_all(self, payments: Iterable[FundingPayment]) -> list[FundingPayment]:
        """Books each payment (:meth:`add`) and returns the new ones, in the order given."""
        return [p for p in payments if self.add(p)]

    # ------------------------------------------------------------------------------ reading
    def paid(self, venue: str) -> Decimal:
        """The sum of ``venue``'s booked payments (received positive).

        Raises:
            KeyError: Not a leg's venue.
        """
        return self._paid[venue]

    @property
    def total_paid(self) -> Decimal:
        """The sum over every leg (exact)."""
        return _sum(self._paid.values())

    def payments(self, venue: str) -> list[FundingPayment]:
        """``venue``'s booked payments, oldest first.

        Raises:
            KeyError: Not a leg's venue.
        """
        return list(self._payments[venue])

    def last_paid_ns(self, venue: str) -> int | None:
        """When ``venue``'s latest booked payment was made (``None``: none yet)."""
        booked = self._payments[venue]
        return booked[-1].ts_ns if booked else None

    def accrued(
        self,
        venue: str,
        *,
        position_size: Decimal,
        rate_per_interval: Decimal,
        mark: Decimal | None,
        now_ns: int,
    ) -> Decimal:
        """The estimate of what ``venue`` owes the leg (or the leg owes) and has not booked.

        Args:
            venue: The leg's venue.
            position_size: The leg's signed size now (long positive).
            rate_per_interval: The venue's current rate per its schedule's interval.
            mark: The price funding is computed on (``None`` or ≤ 0: no estimate, ``0``).
            now_ns: Now.

        Returns:
            Periodic: a full payment for each settlement instant in ``(start, now_ns]`` whose
            payment is not booked, plus the pro-rata part since the last settlement, where
            ``start`` is the latest booked payment or the book's start; continuous: the
            pro-rata amount over ``(start, now_ns]``. Rounded half-even once per pro-rata part.

        Raises:
            KeyError: Not a leg's venue.
        """
        schedule = self.schedules[venue]
        size = dec(position_size, "position_size")
        if size == 0 or mark is None or mark <= 0:
            return ZERO
        last = self.last_paid_ns(venue)
        start = self.since_ns if last is None else max(self.since_ns, last)
        if now_ns <= start:
            return ZERO
        rate = dec(rate_per_interval, "rate_per_interval")
        if schedule.mode is FundingMode.CONTINUOUS:
            return accrued(schedule, size, rate, mark, start, now_ns)
        due = payments(schedule, size, rate, mark, start, now_ns)
        part = accrued(schedule, size, rate, mark, start, now_ns)  # since the last settlement
        return _sum([*(p.amount for p in due), part])

    def leg(
        self,
        venue: str,
        *,
        position_size: Decimal = ZERO,
        rate_per_interval: Decimal = ZERO,
        mark: Decimal | None = None,
        now_ns: int | None = None,
    ) -> LegFunding:
        """``venue``'s leg: booked, and the estimate of :meth:`accrued` when ``now_ns`` is given
        (``0`` otherwise)."""
        est = (
            ZERO
            if now_ns is None
            else self.accrued(
                venue,
                position_size=position_size,
                rate_per_interval=rate_per_interval,
                mark=mark,
                now_ns=now_ns,
            )
        )
        return LegFunding(
            venue,
            self.legs[venue],
            self._paid[venue],
            len(self._payments[venue]),
            est,
            self.last_paid_ns(venue),
            self.schedules[venue],
        )

    @exact
    def applied_hourly(self, venue: str) -> Decimal | None:
        """The rate ``venue`` applied in its latest booked payment, per hour and from the leg's
        side: positive when the leg was paid (a short under a positive rate, a long under a
        negative one). ``None`` before the first payment, or for a payment on a flat position.
        """
        booked = self._payments[venue]
        if not booked:
            return None
        last = booked[-1]
        if last.position_size == 0:
            return None
        sign = 1 if last.position_size > 0 else -1
        interval = Decimal(self.schedules[venue].interval_s)
        return div(-sign * last.rate * _HOUR_S, interval, ROUND_HALF_EVEN)


@exact
def _add(a: Decimal, b: Decimal) -> Decimal:
    return a + b


@exact
def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


async def poll_funding(
    book: FundingBook, venues: Mapping[str, Venue], *, timeout_s: float = 5.0
) -> tuple[list[FundingPayment], dict[str, BaseException]]:
    """Reads every leg's venue's payments since the book started (concurrently, each read within
    ``timeout_s``) and books them.

    A read that fails or times out books nothing from that venue and is reported: the next poll
    asks again from the book's start, and what was missed then is booked once.

    Returns:
        The new payments (by leg order, oldest first within a venue) and the failed reads by
        venue.
    """
    names = list(book.legs)

    async def read(name: str) -> list[FundingPayment]:
        return await asyncio.wait_for(venues[name].funding_payments(book.since_ns), timeout_s)

    answers = await asyncio.gather(*(read(n) for n in names), return_exceptions=True)
    new: list[FundingPayment] = []
    failed: dict[str, BaseException] = {}
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, asyncio.CancelledError):
            raise answer
        if isinstance(answer, BaseException):
            failed[name] = answer
            continue
        new.extend(book.add_all(sorted(answer, key=lambda p: p.ts_ns)))
    return new, failed
