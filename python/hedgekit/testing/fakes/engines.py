"""What every fake venue's state shares: accounts on their own matching engines, one more engine
for the outside market, and the ways the outside market moves them.

Each account trades on its own :class:`~hedgekit.venues.sim.MatchingEngine` (the venue's
personality) built over the same markets, against the same outside flow: a price move or an
outside trade is applied to every engine, and to one more engine that holds no orders and keeps
the outside book. The public book is that outside book plus every account's resting orders.
What an account's order takes as taker is taken from the outside book and every other account's
book as an outside trade (:meth:`EngineVenue.spread_taker`), so the public book shows it gone
and other accounts' resting orders it reaches fill. Accounts meet only that way.

A venue's state subclasses :class:`EngineVenue`, keeps its accounts in
:attr:`EngineVenue.accounts` (any key; each value has an ``engine``), and turns the engines'
events into its wire messages in :meth:`EngineVenue.absorb`. Nothing here does I/O or reads a
clock: the time is passed in (ms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from hedgekit.model import Fill, Liquidity, Side, VenueEvent
from hedgekit.venues.sim import MarginConfig, MatchingEngine, Personality, SimInstrument

__all__ = [
    "EngineAccount",
    "EngineVenue",
    "Later",
    "RecordView",
    "fill_completely",
    "position_after",
    "record_problems",
]

_MS = 1_000_000
_ZERO = Decimal(0)

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Later(Generic[P]):
    """Something the venue does by itself ``delay_s`` after an answer: ``run(now_ms)`` applies
    it and returns the messages to push."""

    delay_s: float
    run: Callable[[int], list[P]]


class EngineAccount(Protocol):
    """An account as :class:`EngineVenue` needs it: its own engine."""

    @property
    def engine(self) -> MatchingEngine:
        """The account's matching engine."""
        ...


A = TypeVar("A", bound=EngineAccount)


def position_after(
    start: Decimal, entry: Decimal, side: Side, size: Decimal, price: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """A position of ``start`` (signed) at ``entry`` after a fill: ``(end, entry, realised)``,
    the entry averaged when the position grows, kept when it shrinks, the fill's price when it
    opens or flips, and the PnL the closing part realised."""
    signed = size if side is Side.BUY else -size
    end = start + signed
    realised = _ZERO
    if start != 0 and (start > 0) != (signed > 0):
        closing = min(abs(start), size)
        realised = closing * (price - entry) * (1 if start > 0 else -1)
    if end == 0:
        entry = _ZERO
    elif start == 0 or (start > 0) != (end > 0):
        entry = price
    elif abs(end) > abs(start):
        entry = (entry * abs(start) + price * size) / abs(end)
    return end, entry, realised


def fill_completely(
    engine: MatchingEngine, symbol: str, is_buy: bool, price: Decimal, now_ns: int
) -> list[VenueEvent]:
    """Outside flow fills a resting order of ours at ``price`` completely (the cancel-vs-fill
    race's fill): it sweeps everything queued at better prices and at the order's level."""
    bids, asks = engine.book_levels(symbol, 10_000)
    ahead = sum(
        (sz for px, sz in (bids if is_buy else asks) if (px >= price if is_buy else px <= price)),
        _ZERO,
    )
    aggressor = Side.SELL if is_buy else Side.BUY
    return engine.external_trade(now_ns, symbol, aggressor, ahead, price)


@dataclass(frozen=True, slots=True)
class RecordView:
    """One order as a fake recorded it, for :func:`record_problems`.

    Attributes:
        label: How problems name it (``"order 8000000001"``).
        symbol: The engine's symbol.
        key: The engine's order key.
        status: The fake's status text.
        is_open: Whether the fake reports it resting.
        filled: What the fake says filled (``None``: not compared).
    """

    label: str
    symbol: str
    key: str
    status: str
    is_open: bool
    filled: Decimal | None


def record_problems(
    name: str,
    engine: MatchingEngine,
    records: Iterable[RecordView],
    positions: Mapping[str, tuple[Decimal, Decimal]],
) -> list[str]:
    """A fake's records of one account (``name``) against its engine: every order is known
    there, open exactly when the engine has it resting, with the filled size the engine has,
    and the positions the fake's fills imply (``symbol -> (size, entry)``) are the engine's."""
    problems: list[str] = []
    for rec in records:
        report = engine.order_status(rec.symbol, venue_order_id=rec.key)
        if report is None:
            problems.append(f"{name}: {rec.label} unknown to the engine")
        elif rec.is_open == report.status.is_terminal:
            problems.append(f"{name}: {rec.label} {rec.status} vs {report.status}")
        elif rec.filled is not None and rec.filled != report.filled:
            problems.append(f"{name}: {rec.label} filled {rec.filled}, engine {report.filled}")
    for symbol, (size, _entry) in positions.items():
        if size != engine.position(symbol):
            problems.append(f"{name}: {symbol} fills say {size}, engine {engine.position(symbol)}")
    return problems


class EngineVenue(Generic[A, P]):
    """Accounts on their own engines and the outside market.

    Args:
        venue: The engines' venue name.
        personality: The engines' behaviour and texts.
        instruments: The markets.
        balance: Every account's starting collateral (unless given per account).
        seed: Seeds the engines.
    """

    def __init__(
        self,
        venue: str,
        personality: Personality,
        instruments: Sequence[SimInstrument],
        balance: Decimal,
        seed: int = 0,
    ) -> None:
        self.venue = venue
        self.personality = personality
        self.instruments = tuple(instruments)
        self.balance = balance
        self._seed = seed
        self.outside = self.new_engine(_ZERO)
        self.accounts: dict[Any, A] = {}

    # ------------------------------------------------------------------ to override

    def absorb(self, acct: A, events: Iterable[VenueEvent], now_ms: int) -> list[P]:
        """Books the engine's events for ``acct`` and returns the messages they make."""
        raise NotImplementedError

    # ------------------------------------------------------------------ engines

    def new_engine(self, collateral: Decimal) -> MatchingEngine:
        """A fresh engine over the markets with ``collateral``."""
        return MatchingEngine(
            self.venue,
            self.personality,
            self.instruments,
            seed=self._seed,
            margin=MarginConfig(collateral=collateral),
        )

    def account_engine(self, balance: Decimal | None = None) -> MatchingEngine:
        """An engine for a new account (``balance``, default the venue's), its books at the
        outside market's current mids."""
        engine = self.new_engine(self.balance if balance is None else balance)
        for inst in self.instruments:
            mid = self.outside.mid(inst.symbol)
            if mid is not None and mid != inst.market.mid:
                engine.set_mid(0, inst.symbol, mid)
        return engine

    # ------------------------------------------------------------------ the outside market

    def move_price(self, symbol: str, mid: Decimal, now_ms: int) -> list[P]:
        """Moves ``symbol``'s outside book to ``mid`` in every engine: resting orders it trades
        through fill, positions are marked (and liquidated when under maintenance)."""
        now_ns = now_ms * _MS
        self.outside.set_mid(now_ns, symbol, mid)
        out: list[P] = []
        for acct in self.accounts.values():
            out.extend(self.absorb(acct, acct.engine.set_mid(now_ns, symbol, mid), now_ms))
        return out

    def trade_against(
        self, symbol: str, aggressor: Side, size: Decimal, price: Decimal | None, now_ms: int
    ) -> list[P]:
        """An outside taker of ``size`` (``aggressor`` side) sweeps ``symbol``'s book up to
        ``price``, filling resting orders at the front of their queues."""
        now_ns = now_ms * _MS
        self.outside.external_trade(now_ns, symbol, aggressor, size, price)
        out: list[P] = []
        for acct in self.accounts.values():
            events = acct.engine.external_trade(now_ns, symbol, aggressor, size, price)
            out.extend(self.absorb(acct, events, now_ms))
        return out

    def spread_taker(self, taker: A, events: Iterable[VenueEvent], now_ms: int) -> list[P]:
        """What ``taker``'s own taker fills (in ``events``) took from the book is taken from
        the outside book and from every other account's book too, as one outside trade per
        symbol and side up to the worst price paid."""
        took: dict[tuple[str, Side], tuple[Decimal, Decimal]] = {}
        for e in events:
            if isinstance(e, Fill) and e.liquidity is Liquidity.TAKER:
                size, worst = took.get((e.symbol, e.side), (_ZERO, e.price))
                worse = max(worst, e.price) if e.side is Side.BUY else min(worst, e.price)
                took[(e.symbol, e.side)] = (size + e.size, worse)
        out: list[P] = []
        now_ns = now_ms * _MS
        for (symbol, side), (size, limit) in took.items():
            self.outside.external_trade(now_ns, symbol, side, size, limit)
            for acct in self.accounts.values():
                if acct is not taker:
                    more = acct.engine.external_trade(now_ns, symbol, side, size, limit)
                    out.extend(self.absorb(acct, more, now_ms))
        return out

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        """Sets ``symbol``'s funding rate per interval (positive: longs pay)."""
        self.outside.set_funding_rate(symbol, rate)
        for acct in self.accounts.values():
            acct.engine.set_funding_rate(symbol, rate)

    def funding_rate(self, symbol: str) -> Decimal:
        """``symbol``'s funding rate per interval."""
        return self.outside.funding_rates(0)[symbol].rate

    def mark(self, symbol: str) -> Decimal:
        """``symbol``'s mark price: the outside mid."""
        mid = self.outside.mid(symbol)
        assert mid is not None
        return mid

    def engine_problems(self, name: Callable[[A], str]) -> list[str]:
        """The engines' own invariant checks, the outside one's and every account's (named by
        ``name``)."""
        problems = [f"outside: {p}" for p in self.outside.check_invariants()]
        for acct in self.accounts.values():
            problems += [f"{name(acct)}: {p}" for p in acct.engine.check_invariants()]
        return problems
