"""Funding on each venue's schedule: when it is paid, how much, and what has accrued meanwhile.

Sign convention: a positive rate means longs pay shorts. A payment is signed from the account's
view, received positive: ``amount = -position_size * price * rate``. Sizes are signed (long
positive), so a long and a short of equal size on the same schedule and rate get exactly
opposite amounts.

Two kinds of :class:`FundingSchedule`:

- ``PERIODIC``: paid at the instants ``anchor_ns + k * interval_s`` (every ``k``), each payment
  the full rate for the interval on the position held at that instant. A window
  ``(start_ns, end_ns]`` holds the settlements strictly after its start and up to its end.
- ``CONTINUOUS``: accrues pro rata at ``rate / interval_s`` and is realised as it accrues; the
  rate is still quoted per ``interval_s``.

Venue defaults (``docs/risk.md`` and ``/work/shared/venues.md`` for the sources):
:meth:`FundingSchedule.hyperliquid` hourly on the hour, the rate an hourly fraction, paid on the
oracle price [DOC]; :meth:`FundingSchedule.aster` every ``fundingIntervalHours`` (per symbol,
8 by default, 4 for some) [DOC]; :meth:`FundingSchedule.lighter` hourly on the hour [OBS]. What
the sources leave unconfirmed is a parameter, not a guess: Lighter's rate units (the
``fundings`` endpoint's percent per hour, the ``funding-rates`` endpoint's 8-hour fraction) go
through :func:`normalise_rate`; Aster's settlement instants are a parameter (``anchor_ns``,
e.g. from ``premiumIndex.nextFundingTime``).

Amounts are exact for periodic payments (a product). A pro-rata amount (continuous, or
:func:`accrued`) divides by the interval once, rounded half-even at 28 significant digits, which
is symmetric: ``-x`` rounds to ``-round(x)``, so the long/short symmetry holds exactly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk._exact import ROUND_HALF_EVEN, ZERO, dec, div, exact, positive

__all__ = [
    "FundingMode",
    "FundingPayment",
    "FundingSchedule",
    "accrued",
    "normalise_rate",
    "payments",
]

_NS: Final = 1_000_000_000
_HOUR_S: Final = 3600


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} must be an int, got {value!r}")
    return value


class FundingMode(enum.StrEnum):
    """How a venue settles funding."""

    PERIODIC = "periodic"
    """Paid at fixed instants, the full interval's rate each time."""
    CONTINUOUS = "continuous"
    """Accrued and realised continuously, pro rata."""


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """When a venue settles funding, and the period its rate is quoted for.

    Attributes:
        mode: Periodic or continuous.
        interval_s: The period the rate is quoted for, in seconds (> 0); for a periodic
            schedule also the time between settlements.
        anchor_ns: One settlement instant (periodic; integer ns since the epoch): settlements
            happen at ``anchor_ns + k * interval_s``. ``0`` means on the interval's boundaries in
            UTC (on the hour for an hourly schedule; 00:00/08:00/16:00 for an 8-hour one).

    Raises:
        InvalidArgumentError: A non-positive or non-integer interval, or a non-integer anchor.
    """

    mode: FundingMode
    interval_s: int
    anchor_ns: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", FundingMode(self.mode))
        if _int(self.interval_s, "interval_s") <= 0:
            raise InvalidArgumentError(f"interval_s must be positive, got {self.interval_s}")
        _int(self.anchor_ns, "anchor_ns")

    @property
    def interval_ns(self) -> int:
        """The interval in nanoseconds."""
        return self.interval_s * _NS

    @classmethod
    def periodic(cls, interval_s: int, anchor_ns: int = 0) -> FundingSchedule:
        """Paid every ``interval_s`` seconds at ``anchor_ns + k * interval_s``."""
        return cls(FundingMode.PERIODIC, interval_s, anchor_ns)

    @classmethod
    def continuous(cls, interval_s: int) -> FundingSchedule:
        """Accrued continuously; the rate is quoted per ``interval_s`` seconds."""
        return cls(FundingMode.CONTINUOUS, interval_s)

    @classmethod
    def hyperliquid(cls) -> FundingSchedule:
        """Hyperliquid: paid every hour on the hour; the rate (``funding``, ``fundingRate``) is
        an hourly fraction, and the payment is on the oracle price [DOC]."""
        return cls.periodic(_HOUR_S)

    @classmethod
    def aster(cls, interval_hours: int = 8, anchor_ns: int = 0) -> FundingSchedule:
        """Aster: paid every ``interval_hours`` (``fundingInfo.fundingIntervalHours``: per symbol,
        8 by default, 4 for some, and it may change under volatility — read it per symbol) [DOC].
        The rate (``lastFundingRate``) is for that interval.

        Args:
            interval_hours: The symbol's interval in hours (> 0).
            anchor_ns: A settlement instant. ``0`` (UTC boundaries) matches the documented
                16:00 settlement of an 8-hour symbol; pass ``premiumIndex.nextFundingTime``
                (ms → ns) to follow the venue exactly.
        """
        return cls.periodic(_int(interval_hours, "interval_hours") * _HOUR_S, anchor_ns)

    @classmethod
    def lighter(cls, interval_s: int = _HOUR_S, anchor_ns: int = 0) -> FundingSchedule:
        """Lighter: settled hourly on the hour [OBS: third-party code, the funding spec page was
        not retrieved], hence both are parameters. Rates come in units that are UNCONFIRMED:
        convert them with :func:`normalise_rate`."""
        return cls.periodic(interval_s, anchor_ns)

    # ------------------------------------------------------------------------- settlements

    def last_settlement(self, now_ns: int) -> int | None:
        """The latest settlement instant at or before ``now_ns`` (``None`` for a continuous
        schedule)."""
        _int(now_ns, "now_ns")
        if self.mode is FundingMode.CONTINUOUS:
            return None
        return now_ns - (now_ns - self.anchor_ns) % self.interval_ns

    def settlements(self, start_ns: int, end_ns: int) -> list[int]:
        """The settlement instants ``t`` with ``start_ns < t <= end_ns`` (none for a continuous
        schedule)."""
        _window(start_ns, end_ns)
        if self.mode is FundingMode.CONTINUOUS:
            return []
        last = self.last_settlement(end_ns)
        assert last is not None
        out: list[int] = []
        t = last
        while t > start_ns:
            out.append(t)
            t -= self.interval_ns
        out.reverse()
        return out


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment, from the account's view.

    Attributes:
        ts_ns: When it is paid (for a continuous schedule: the end of the window it covers).
        amount: Received positive, paid negative: ``-position_size * price * rate`` (pro rata
            for a continuous schedule).
        position_size: The signed position it was paid on.
        rate: The rate per interval.
        price: The price it was computed on (Hyperliquid: the oracle price; others: the mark).
    """

    ts_ns: int
    amount: Decimal
    position_size: Decimal
    rate: Decimal
    price: Decimal


def _window(start_ns: int, end_ns: int) -> None:
    _int(start_ns, "start_ns")
    _int(end_ns, "end_ns")
    if end_ns < start_ns:
        raise InvalidArgumentError(f"end_ns {end_ns} is before start_ns {start_ns}")


@exact
def _pro_rata(
    size: Decimal, price: Decimal, rate: Decimal, span_ns: int, period_ns: int
) -> Decimal:
    if span_ns == 0:
        return ZERO
    return div(-size * price * rate * span_ns, Decimal(period_ns), ROUND_HALF_EVEN)


@exact
def payments(
    schedule: FundingSchedule,
    position_size: Decimal,
    rate_per_interval: Decimal,
    mark: Decimal,
    start_ns: int,
    end_ns: int,
) -> list[FundingPayment]:
    """The payments on a position held unchanged over ``(start_ns, end_ns]``.

    Periodic: one payment per settlement instant in the window, each
    ``-position_size * mark * rate_per_interval`` (exact). Continuous: one payment at ``end_ns``
    for the whole window, pro rata (none for an empty window). Split the window where the
    position, the rate or the price changes. A zero position is paid nothing (an empty list).

    Args:
        schedule: The venue's schedule.
        position_size: Signed size (long positive).
        rate_per_interval: The rate for one ``schedule.interval_s`` (positive: longs pay).
        mark: The price funding is computed on (> 0; Hyperliquid uses the oracle price).
        start_ns: The window's start (exclusive).
        end_ns: The window's end (inclusive).

    Raises:
        InvalidArgumentError: A bad number, a non-positive price or a reversed window.
    """
    size = dec(position_size, "position_size")
    rate = dec(rate_per_interval, "rate_per_interval")
    price = positive(mark, "mark")
    _window(start_ns, end_ns)
    if size == 0:
        return []
    if schedule.mode is FundingMode.CONTINUOUS:
        if end_ns == start_ns:
            return []
        amount = _pro_rata(size, price, rate, end_ns - start_ns, schedule.interval_ns)
        return [FundingPayment(end_ns, amount, size, rate, price)]
    each = -size * price * rate
    each = each if each != 0 else ZERO
    return [
        FundingPayment(t, each, size, rate, price) for t in schedule.settlements(start_ns, end_ns)
    ]


@exact
def accrued(
    schedule: FundingSchedule,
    position_size: Decimal,
    rate_per_interval: Decimal,
    mark: Decimal,
    since_ns: int,
    now_ns: int,
) -> Decimal:
    """Funding accrued on a position held since ``since_ns``, as of ``now_ns``.

    Periodic: what has built up since the last settlement (or since ``since_ns`` if later) and
    is not paid yet — the pro-rata part of the next payment at today's rate and price; 0 right
    at a settlement. Continuous: the whole window's amount (it is realised as it accrues, so
    this equals the sum of :func:`payments` over the same window).

    Raises:
        InvalidArgumentError: As :func:`payments`.
    """
    size = dec(position_size, "position_size")
    rate = dec(rate_per_interval, "rate_per_interval")
    price = positive(mark, "mark")
    _window(since_ns, now_ns)
    start = since_ns
    last = schedule.last_settlement(now_ns)
    if last is not None:
        start = max(start, last)
    return _pro_rata(size, price, rate, now_ns - start, schedule.interval_ns)


@exact
def normalise_rate(
    value: Decimal,
    *,
    quoted_interval_s: int,
    interval_s: int,
    percent: bool = False,
) -> Decimal:
    """A rate quoted per ``quoted_interval_s`` (in percent when ``percent``) as a fraction per
    ``interval_s``: ``value / (100 if percent) * interval_s / quoted_interval_s``.

    For the rates whose units are unconfirmed: Lighter's ``fundings.rate`` may be a percent per
    hour (``percent=True, quoted_interval_s=3600``), its ``funding-rates.rate`` an 8-hour
    fraction (``quoted_interval_s=28800``); Aster's ``lastFundingRate`` is per the symbol's
    interval. Rounded half-even at 28 significant digits when the ratio does not terminate.

    Raises:
        InvalidArgumentError: A bad number or a non-positive interval.
    """
    rate = dec(value, "value")
    for name, v in (("quoted_interval_s", quoted_interval_s), ("interval_s", interval_s)):
        if _int(v, name) <= 0:
            raise InvalidArgumentError(f"{name} must be positive, got {v}")
    if percent:
        rate = rate.scaleb(-2)
    return div(rate * interval_s, Decimal(quoted_interval_s), ROUND_HALF_EVEN)
