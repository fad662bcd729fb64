"""The simulated venue's matching engine: the venue's truth, pure and synchronous.

:class:`MatchingEngine` holds, per symbol, an L2 book whose levels are FIFO queues of external
and own segments (``sim-models`` §4.2), our orders, the ledger of our fills (with trade ids), our
positions and funding. It implements ``sim-models`` §4.0 (decisions against venue truth at arrival
time), §4.2 (queue position), §4.3 (partial and taker fills), §4.4 (cancel answers), §4.5
(post-only per personality), §4.6 (grid and minimum checks) and §4.10 (fees per fill).

It does no I/O, has no clock and draws no random numbers: time is passed in as ``now_ns`` and the
same calls always give the same results (the optional per-level sizes of
``MarketConfig.level_size_max`` are a hash of the engine's ``seed`` and the level's price, not a
draw). The asynchronous ``SimVenue`` adds latency and faults
around it and calls it at venue arrival time; tests read its truth directly. Prices and sizes are
exact :class:`~decimal.Decimal`; the position's cost basis is an exact
:class:`~fractions.Fraction`.

Self-trade prevention: our own resting orders are never matched against our own orders. A taker
walk skips them; a GTC remainder that would rest crossing one of our own opposite orders expires
(Binance's ``EXPIRE_TAKER``), so the book is never crossed.

Margin: the account is cross margin over every symbol, in the model of :mod:`hedgekit.risk`
(:class:`~hedgekit.risk.Account` over the collateral, the positions at their reported entry
prices and the marks, each symbol's :class:`~hedgekit.risk.MarginTable` and leverage). The
collateral starts at ``MarginConfig.collateral`` and moves with realised PnL, fees and funding
(kept exact, as a fraction). An order that opens, adds to or flips a position is refused when
:meth:`~hedgekit.risk.Account.can_open` refuses it, with the personality's text; an order that
only reduces never is. After every move of a position's mark (and after outside fills and funding)
the account is checked: when equity is at or below maintenance the venue cancels our open orders
and closes the position at its liquidation price (a :class:`~hedgekit.model.Liquidation` and a
fill named by the personality's liquidation client id). :meth:`MatchingEngine.adl` reduces a
position at the mark (a :class:`~hedgekit.model.Deleverage` and its fill). Funding is paid into the
collateral on each symbol's schedule and recorded as :class:`~hedgekit.model.FundingPayment`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from types import MappingProxyType

from hedgekit.errors import LeverageRejectedError, OrderRejectedError, PostOnlyRejectedError
from hedgekit.model import (
    AccountState,
    Deleverage,
    Fill,
    FundingPayment,
    FundingRate,
    Liquidation,
    Liquidity,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderType,
    OrderUpdate,
    Position,
    Side,
    TimeInForce,
    VenueEvent,
)
from hedgekit.risk.funding import FundingMode, FundingSchedule
from hedgekit.risk.funding import payments as schedule_payments
from hedgekit.risk.margin import Account, PositionState, Refusal
from hedgekit.risk.tiers import MarginTable
from hedgekit.venues.sim.config import (
    FillConfig,
    MarginConfig,
    Personality,
    PostOnlyMode,
    QueueConfig,
    SimInstrument,
)
from hedgekit.venues.sim.levels import BookSide

__all__ = ["CancelOutcome", "MatchingEngine", "PlaceOutcome"]

_ZERO = Decimal(0)
_NANO = Decimal("1e-9")
_FIRST_TRADE_ID = 1_000_000_001
_GRID_REASONS = ("off_tick", "too_many_decimals", "out_of_range", "non_positive_price")
_DEFAULT_QUEUE = QueueConfig()
_DEFAULT_FILLS = FillConfig()
_DEFAULT_MARGIN = MarginConfig()
_STP_REASON = "Self-trade prevention: the order would cross our own resting order."

_Levels = tuple[tuple[tuple[Decimal, Decimal], ...], tuple[tuple[Decimal, Decimal], ...]]


@dataclass(frozen=True, slots=True)
class PlaceOutcome:
    """The engine's answer to a placement or a modify.

    Attributes:
        ack: The acknowledgement when the venue accepted the request (``None`` on rejection).
        error: The synchronous rejection (``None`` when accepted). Exactly one of ``ack`` and
            ``error`` is set.
        events: Private-stream events to emit, in emission order (fills before the order update
            of the same match).
        post_only_refused: The venue refused a post-only order (synchronously, or by accepting
            it and dropping it on the stream).
    """

    ack: OrderAck | None
    error: OrderRejectedError | None
    events: tuple[VenueEvent, ...] = ()
    post_only_refused: bool = False


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """The engine's answer to a cancel.

    Attributes:
        cancelled: True when an open order was cancelled now.
        filled: The order's cumulative filled size (0 for an order the engine never had).
        error: The personality's cancel-unknown answer (``reason="unknown_order"``) when nothing
            was cancelled.
        events: Private-stream events to emit (the ``CANCELLED`` update).
        known: Whether the engine ever had the order (the venue does not say; the ``SimVenue``
            may use it to model that).
    """

    cancelled: bool
    filled: Decimal
    error: OrderRejectedError | None
    events: tuple[VenueEvent, ...]
    known: bool


@dataclass(slots=True)
class _Order:
    """One of our orders as the engine knows it (mutable, internal)."""

    key: str
    symbol: str
    client_id: str
    side: Side
    size: Decimal
    price: Decimal | None
    order_type: OrderType
    tif: TimeInForce
    reduce_only: bool
    status: OrderStatus
    updated_ns: int
    filled: Decimal = _ZERO
    notional: Decimal = _ZERO
    reason: str | None = None
    fills: list[Fill] = field(default_factory=list)
    replaces: str | None = None

    @property
    def leaves(self) -> Decimal:
        return self.size - self.filled


@dataclass(slots=True)
class _Market:
    """One symbol's book, funding, margin settings and our position (mutable, internal)."""

    inst: SimInstrument
    funding_rate: Decimal
    table: MarginTable
    leverage: Decimal
    schedule: FundingSchedule
    bids: BookSide = field(default_factory=lambda: BookSide(is_bid=True))
    asks: BookSide = field(default_factory=lambda: BookSide(is_bid=False))
    mid: Decimal | None = None
    version: int = 0
    pos_size: Decimal = _ZERO
    seeded: Decimal = _ZERO
    entry: Fraction | None = None
    realized: Fraction = Fraction(0)
    funding: Decimal = _ZERO

    def own_side(self, side: Side) -> BookSide:
        """The book side where orders of ``side`` rest."""
        return self.bids if side is Side.BUY else self.asks

    def visible(self) -> _Levels:
        """The whole visible book (for change detection)."""
        return (_aggregate(self.bids, None), _aggregate(self.asks, None))


def _aggregate(side: BookSide, depth: int | None) -> tuple[tuple[Decimal, Decimal], ...]:
    out: list[tuple[Decimal, Decimal]] = []
    if depth is not None and depth <= 0:
        return ()
    for level in side.best_first():
        total = level.total()
        if total > 0:
            out.append((level.price, total))
            if depth is not None and len(out) >= depth:
                break
    return tuple(out)


def _crosses(side: Side, price: Decimal, opposite_price: Decimal) -> bool:
    """True when an order of ``side`` at ``price`` reaches ``opposite_price``."""
    return price >= opposite_price if side is Side.BUY else price <= opposite_price


class MatchingEngine:
    """The simulated venue's truth: books, our orders, fills, positions and funding.

    Args:
        venue: The venue's name (every event and fill carries it).
        personality: Texts, codes, post-only style and fees of the venue.
        instruments: The markets; each external book is built around ``market.mid`` at time 0.
        queue: Queue-position model (where external cancels land, modify priority).
        fills: Fill model (per-event cap, child fills, market-order band).
        seed: Seeds the per-level sizes of markets with ``level_size_max``.
        margin: The account's collateral, liquidation fee and funding settlement instants.
    """

    def __init__(
        self,
        venue: str,
        personality: Personality,
        instruments: Sequence[SimInstrument],
        queue: QueueConfig = _DEFAULT_QUEUE,
        fills: FillConfig = _DEFAULT_FILLS,
        seed: int = 0,
        margin: MarginConfig = _DEFAULT_MARGIN,
    ) -> None:
        if fills.split_fills < 1:
            raise ValueError(f"split_fills must be at least 1, got {fills.split_fills}")
        self.venue = venue
        self.personality = personality
        self._queue = queue
        self._fill_cfg = fills
        self._seed = seed
        self._level_sizes: dict[tuple[str, int], Decimal] = {}
        self._mid_log: dict[str, list[tuple[int, Decimal]]] | None = None
        self._markets: dict[str, _Market] = {}
        self._orders: dict[str, _Order] = {}
        self._by_client: dict[str, str] = {}
        self._ledger: list[Fill] = []
        self._next_order_id = 1
        self._next_trade_id = _FIRST_TRADE_ID
        self._margin = margin
        self._initial_collateral = margin.collateral
        self._collateral = Fraction(margin.collateral)
        self._funding_log: list[FundingPayment] = []
        self._forced_orders = 0
        # A lower bound on equity - maintenance margin at the current marks (None: unknown), so
        # that a mark move far from any liquidation costs no margin computation.
        self._headroom: Decimal | None = None
        self._tables: dict[str, MarginTable] = {}
        for inst in instruments:
            if inst.symbol in self._markets:
                raise ValueError(f"instrument {inst.symbol!r} given twice")
            table = inst.margin_table or personality.margin_table
            leverage = inst.leverage
            if leverage is None:
                leverage = min(personality.default_leverage, table.tiers[0].max_leverage)
            interval_s = inst.funding_interval_s or personality.funding_interval_s
            schedule = (
                FundingSchedule.periodic(interval_s, margin.funding_anchor_ns)
                if inst.funding_continuous_s is None
                else FundingSchedule.continuous(interval_s)
            )
            self._tables[inst.symbol] = table
            self._markets[inst.symbol] = _Market(
                inst, inst.market.funding_rate, table, leverage, schedule
            )
            self.set_mid(0, inst.symbol, inst.market.mid)

    # ------------------------------------------------------------------ our orders

    def place(
        self, now_ns: int, request: OrderRequest, *, refuse_post_only: bool = False
    ) -> PlaceOutcome:
        """Places one of our orders at venue arrival time.

        Checks (first failure wins): symbol, duplicate open client id, price/size grid, minimum
        size and notional (asynchronous with ``personality.min_check_async``), reduce-only,
        margin (an order that opens, adds or flips must leave available margin at or above 0 and
        the position within its tier's leverage cap, checked at the order's price, the market
        order's at the best opposite price; asynchronous with
        ``personality.margin_check_async``; a reduce-only or reducing order is never refused),
        then post-only crossing per ``personality.post_only_mode``. An accepted order takes
        liquidity up to its limit (taker fills), then rests (GTC, post-only) or expires (IOC,
        market).

        Args:
            now_ns: Venue time.
            request: The order.
            refuse_post_only: Treat a post-only order as if it would cross (a fault): it gets
                the personality's post-only answer whatever the book.

        Returns:
            The acknowledgement or the synchronous rejection, and the private events to emit.
        """
        m = self._markets.get(request.symbol)
        if m is None:
            return self._rejected(f"Unknown symbol {request.symbol}.", None, "unknown_symbol")
        existing = self._by_client.get(request.client_id)
        if existing is not None and not self._orders[existing].status.is_terminal:
            return self._rejected("Duplicate client order id", None, "duplicate_client_id")
        before = m.visible()
        outcome = self._place(now_ns, m, request, refuse_post_only)
        self._bump(m, before)
        return outcome

    def cancel(
        self,
        now_ns: int,
        symbol: str,
        *,
        client_id: str | None = None,
        venue_order_id: str | None = None,
        reason: str | None = None,
    ) -> CancelOutcome:
        """Cancels one of our orders by client id or venue order id.

        Args:
            now_ns: Venue time.
            symbol: The order's symbol.
            client_id: Our id for the order.
            venue_order_id: The venue's id (takes precedence when both are given).
            reason: Why the venue cancelled it, when the venue did (``"marginCanceled"``);
                ``None`` for our own cancel.

        Returns:
            ``cancelled=True`` with the cumulative filled size for an open order; otherwise the
            personality's cancel-unknown error (also for a repeated cancel).
        """
        order = self._find(symbol, client_id, venue_order_id)
        if order is None or order.status.is_terminal:
            p = self.personality
            error = OrderRejectedError(
                self.venue, p.cancel_unknown_text, p.cancel_unknown_code, "unknown_order"
            )
            filled = _ZERO if order is None else order.filled
            return CancelOutcome(False, filled, error, (), order is not None)
        m = self._markets[symbol]
        before = m.visible()
        self._unrest(m, order)
        order.status = OrderStatus.CANCELLED
        order.updated_ns = now_ns
        if reason is not None:
            order.reason = reason
        self._bump(m, before)
        return CancelOutcome(True, order.filled, None, (self._update(order, now_ns),), True)

    def modify(
        self,
        now_ns: int,
        symbol: str,
        client_id: str,
        *,
        price: Decimal,
        size: Decimal,
        refuse_post_only: bool = False,
    ) -> PlaceOutcome:
        """Changes the price and size of an open order, keeping its venue order id.

        The grid and minimum checks of :meth:`place` apply (synchronously); the new size must
        exceed the filled size; a post-only order that would cross is refused synchronously
        whatever the mode, and the original stays. A price change or a size increase re-queues
        the order at the tail; a decrease at the same price keeps its place if
        ``queue.modify_keeps_priority_on_decrease``. A GTC order that now crosses takes liquidity.

        With ``personality.modify_new_id`` the modify is a cancel-and-replace: the original is
        cancelled (its venue order id then reads as cancelled, with its fills) and a new order
        with a new venue order id and the same client id takes its place, at the tail of its
        level, for the unfilled part (``size`` minus what the original filled). The answer, and
        every later fill and order update, name only the new id; the original's cancellation is
        not sent on the stream.

        Args:
            now_ns: Venue time.
            symbol: The order's symbol.
            client_id: Our id for the order.
            price: The new limit price.
            size: The new total size (filled part included).
            refuse_post_only: Refuse the modify of a post-only order as if it would cross (a
                fault).

        Returns:
            An acknowledgement with the venue order id (the same one, or the new one with
            ``modify_new_id``), or the rejection.
        """
        p = self.personality
        m = self._markets.get(symbol)
        if m is None:
            return self._rejected(f"Unknown symbol {symbol}.", None, "unknown_symbol")
        order = self._find(symbol, client_id, None)
        if order is None or order.status.is_terminal:
            return self._rejected(p.cancel_unknown_text, p.cancel_unknown_code, "unknown_order")
        if not p.supports_modify:
            return self._rejected("Modify is not supported.", None, "other")
        error = self._check_rules(m, price, size, order.reduce_only)
        if error is not None:
            return PlaceOutcome(None, error, ())
        if size <= (self._chain_filled(order) if p.modify_new_id else order.filled):
            return self._rejected("New size must exceed the filled size.", None, "other")
        if not order.reduce_only:
            done = self._chain_filled(order) if p.modify_new_id else order.filled
            margin_error = self._margin_error(m, order.side, size - done, price)
            if margin_error is not None:
                return PlaceOutcome(None, margin_error, ())
        opposite = m.own_side(order.side.opposite).best_price()
        crossing = opposite is not None and _crosses(order.side, price, opposite)
        if order.tif is TimeInForce.POST_ONLY and (crossing or refuse_post_only):
            return PlaceOutcome(None, self._post_only_error(m), (), post_only_refused=True)
        if p.modify_new_id:
            return self._replace(now_ns, m, order, price, size, crossing)
        before = m.visible()
        assert order.price is not None
        book = m.own_side(order.side)
        level = book.get(order.price)
        segment = None if level is None else level.own_segment(order.key)
        keep = (
            price == order.price
            and size <= order.size
            and self._queue.modify_keeps_priority_on_decrease
            and segment is not None
        )
        order.size = size
        order.updated_ns = now_ns
        events: list[VenueEvent] = []
        if keep:
            assert segment is not None
            segment.qty = order.leaves
        else:
            self._unrest(m, order)
            order.price = price
            if crossing:
                events.extend(self._take(now_ns, m, order, price))
            self._rest_or_expire(m, order)
        events.append(self._update(order, now_ns))
        self._bump(m, before)
        ack = OrderAck(order.client_id, order.key, order.status, order.filled, now_ns)
        return PlaceOutcome(ack, None, tuple(events))

    def order_status(
        self,
        symbol: str,
        *,
        client_id: str | None = None,
        venue_order_id: str | None = None,
        now_ns: int = 0,
    ) -> OrderStatusReport | None:
        """An order's state with its fills, or ``None`` if the engine never had it.

        Args:
            symbol: The order's symbol.
            client_id: Our id (the latest order with that id).
            venue_order_id: The venue's id (takes precedence).
            now_ns: Venue time of the answer (0: the order's last change).
        """
        order = self._find(symbol, client_id, venue_order_id)
        if order is None:
            return None
        avg = None
        if order.filled > 0:
            avg = (order.notional / order.filled).quantize(_NANO, rounding=ROUND_HALF_EVEN)
        return OrderStatusReport(
            venue=self.venue,
            symbol=order.symbol,
            client_id=order.client_id,
            venue_order_id=order.key,
            side=order.side,
            size=order.size,
            price=order.price,
            status=order.status,
            filled=order.filled,
            avg_price=avg,
            ts_ns=now_ns or order.updated_ns,
            reason=order.reason,
            fills=tuple(order.fills),
        )

    def open_orders(self, symbol: str | None = None) -> list[str]:
        """Client ids of our orders still open (resting) on the venue, oldest first."""
        return [
            o.client_id
            for o in self._orders.values()
            if not o.status.is_terminal and (symbol is None or o.symbol == symbol)
        ]

    def orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Every order the venue ever had for us (open or finished), oldest first, each with its
        own fills."""
        out = []
        for o in self._orders.values():
            if symbol is None or o.symbol == symbol:
                report = self.order_status(o.symbol, venue_order_id=o.key)
                assert report is not None
                out.append(report)
        return out

    def client_orders(self, symbol: str, client_id: str) -> list[OrderStatusReport]:
        """Every venue order that carried ``client_id`` (several after modifies that assign a
        new venue order id), oldest first; each with its own fills."""
        out = []
        for o in self._orders.values():
            if o.symbol == symbol and o.client_id == client_id:
                report = self.order_status(symbol, venue_order_id=o.key)
                assert report is not None
                out.append(report)
        return out

    def replaced_by(self, venue_order_id: str) -> str | None:
        """The venue order id that replaced ``venue_order_id`` in a cancel-and-replace modify
        (``None`` if it was not replaced)."""
        for o in self._orders.values():
            if o.replaces == venue_order_id:
                return o.key
        return None

    def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        """Our fills (the truth ledger), oldest first.

        Args:
            symbol: Only this symbol's fills (``None``: all).
            since_ns: Only fills with ``ts_ns >= since_ns``.
        """
        return [
            f
            for f in self._ledger
            if (symbol is None or f.symbol == symbol) and f.ts_ns >= since_ns
        ]

    def positions(self, now_ns: int) -> dict[str, Position]:
        """Our non-flat positions by symbol; the mark is the external mid.

        Args:
            now_ns: Venue time stamped on the positions.
        """
        out: dict[str, Position] = {}
        account: Account | None = None
        for symbol, m in self._markets.items():
            if m.pos_size == 0:
                continue
            liq = None
            if self.personality.reports_liquidation_price:
                if account is None:
                    account = self.risk_account()
                liq = account.liquidation_price(symbol)
            out[symbol] = Position(
                venue=self.venue,
                symbol=symbol,
                size=m.pos_size,
                entry_price=None if m.entry is None else _to_decimal(m.entry),
                mark_price=m.mid,
                ts_ns=now_ns,
                funding=m.funding,
                liquidation_price=liq,
                leverage=m.leverage,
            )
        return out

    def seed_position(self, symbol: str, size: Decimal, entry_price: Decimal) -> None:
        """Starts the account with a position (a scenario's starting state), before any fill.

        Raises:
            KeyError: An unknown symbol.
            ValueError: A fill already happened on ``symbol``, or a non-positive entry price.
        """
        m = self._market(symbol)
        if any(f.symbol == symbol for f in self._ledger):
            raise ValueError(f"{symbol}: positions are seeded before any fill")
        if entry_price <= 0:
            raise ValueError(f"entry price must be positive, got {entry_price}")
        m.pos_size = size
        m.seeded = size
        m.entry = None if size == 0 else Fraction(entry_price)
        self._headroom = None

    def position(self, symbol: str) -> Decimal:
        """Our signed position size in ``symbol``.

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).pos_size

    def realized_pnl(self, symbol: str) -> Decimal:
        """Realized trading PnL of ``symbol`` (fees and funding excluded), to 1e-9.

        Raises:
            KeyError: An unknown symbol.
        """
        return _to_decimal(self._market(symbol).realized)

    def funding_rates(self, now_ns: int) -> dict[str, FundingRate]:
        """The current funding rate of every symbol.

        Args:
            now_ns: Venue time; the next payment is the symbol's next settlement instant.
        """
        out: dict[str, FundingRate] = {}
        for symbol, m in self._markets.items():
            sched = m.schedule
            last = sched.last_settlement(now_ns)
            # A continuous schedule pays as it accrues: its next payment is always due.
            next_ns = now_ns if last is None else last + sched.interval_ns
            out[symbol] = FundingRate(
                self.venue, symbol, m.funding_rate, sched.interval_s, next_ns, now_ns
            )
        return out

    # ------------------------------------------------------------------ external market

    def set_mid(self, now_ns: int, symbol: str, mid: Decimal) -> list[VenueEvent]:
        """Moves the external market and rebuilds the external book around ``mid``.

        The external book gets ``market.levels`` levels per side, ``spread_ticks`` apart at the
        touch (best bid = mid floored to the tick minus ``spread_ticks // 2`` ticks), sized
        ``level_size * (1 + i * depth_growth)``. Our resting orders the new external book trades
        through (a buy at or above the new best ask, a sell at or below the new best bid) fill
        completely as maker at their own price first. Then levels without our orders are
        replaced; in a level holding our orders each external segment is capped, head first, to
        the new size and the rest of it joins the tail.

        Args:
            now_ns: Venue time.
            symbol: The symbol.
            mid: The new mid.

        Returns:
            The private events of the fills it caused.

        Raises:
            KeyError: An unknown symbol.
        """
        m = self._market(symbol)
        before = m.visible()
        cfg = m.inst.market
        tick = cfg.tick
        spread = max(cfg.spread_ticks, 1)
        best_bid = (mid / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
        best_bid -= (spread // 2) * tick
        best_ask = best_bid + spread * tick
        new_bids: dict[Decimal, Decimal] = {}
        new_asks: dict[Decimal, Decimal] = {}
        drawn = cfg.level_size_max is not None
        for i in range(cfg.levels):
            bid_px, ask_px = best_bid - i * tick, best_ask + i * tick
            if drawn:
                bid_size = self._level_size(m, bid_px, i) if bid_px > 0 else _ZERO
                ask_size = self._level_size(m, ask_px, i)
            else:
                bid_size = ask_size = cfg.level_size * (1 + i * cfg.depth_growth)
            if bid_px > 0 and bid_size > 0:
                new_bids[bid_px] = bid_size
            if ask_size > 0:
                new_asks[ask_px] = ask_size
        events: list[VenueEvent] = []
        if new_asks:
            self._trade_through(now_ns, m, Side.BUY, min(new_asks), events)
        if new_bids:
            self._trade_through(now_ns, m, Side.SELL, max(new_bids), events)
        self._rebuild(m.bids, new_bids)
        self._rebuild(m.asks, new_asks)
        old_mid, m.mid = m.mid, mid
        if self._mid_log is not None:
            self._mid_log.setdefault(symbol, []).append((now_ns, mid))
        self._bump(m, before)
        if m.pos_size != 0:  # a flat symbol's mark moves neither equity nor maintenance
            events.extend(self._mark_moved(now_ns, m, old_mid))
        return events

    def record_mids(self) -> None:
        """Starts recording every mid :meth:`set_mid` sets (for :meth:`mid_history`); the
        current mids are recorded at time 0. Off by default: a long run keeps no history."""
        if self._mid_log is None:
            self._mid_log = {
                sym: [] if m.mid is None else [(0, m.mid)] for sym, m in self._markets.items()
            }

    def mid_history(self, symbol: str) -> list[tuple[int, Decimal]]:
        """``(now_ns, mid)`` of every mid set since :meth:`record_mids`, oldest first (the mid is
        ``mid`` from ``now_ns`` on); empty when not recording.

        Raises:
            KeyError: An unknown symbol.
        """
        self._market(symbol)
        if self._mid_log is None:
            return []
        return list(self._mid_log.get(symbol, []))

    def external_trade(
        self,
        now_ns: int,
        symbol: str,
        aggressor: Side,
        size: Decimal,
        limit_price: Decimal | None = None,
    ) -> list[VenueEvent]:
        """An outside taker trades against the book (``sim-models`` §4.2).

        An aggressive sell sweeps the bids best first (a buy the asks), down (up) to
        ``limit_price`` if given. Each level is consumed from the head of its queue: external
        segments shrink; each of our segments fills ``min(remaining, leaves,
        fills.max_fill_per_event)`` floored to the step, as maker (a fill that floors to zero is
        skipped).

        Args:
            now_ns: Venue time.
            symbol: The symbol.
            aggressor: The outside taker's side.
            size: The taker's size.
            limit_price: The worst price it trades at, ``None`` for no limit.

        Returns:
            The private events (our fills and order updates).

        Raises:
            KeyError: An unknown symbol.
        """
        m = self._market(symbol)
        before = m.visible()
        events, _ = self._sweep(now_ns, m, aggressor, size, limit_price)
        self._bump(m, before)
        if events:
            events.extend(self._check_liquidation(now_ns, symbol))
        return events

    def external_cancel(
        self, now_ns: int, symbol: str, side: Side, price: Decimal, size: Decimal
    ) -> None:
        """Outside liquidity leaves the ``side`` book at ``price`` (split by
        ``queue.cancel_split``; at most the level's external size is removed).

        Args:
            now_ns: Venue time (unused: a cancel produces no private event).
            symbol: The symbol.
            side: ``BUY`` for the bid side, ``SELL`` for the ask side.
            price: The level's price.
            size: The size cancelled.

        Raises:
            KeyError: An unknown symbol.
        """
        del now_ns
        m = self._market(symbol)
        book = m.own_side(side)
        level = book.get(price)
        if level is None:
            return
        before = m.visible()
        level.cancel_external(size, self._queue.cancel_split)
        book.discard_if_empty(price)
        self._bump(m, before)

    def external_add(
        self, now_ns: int, symbol: str, side: Side, price: Decimal, size: Decimal
    ) -> list[VenueEvent]:
        """Outside liquidity joins the ``side`` book at ``price`` (at the tail of the level).

        An add at a price that crosses the opposite side is an outside aggressive limit order:
        it trades first (filling our orders there as maker) and only its remainder rests.

        Args:
            now_ns: Venue time.
            symbol: The symbol.
            side: ``BUY`` for the bid side, ``SELL`` for the ask side.
            price: The price.
            size: The size.

        Returns:
            The private events of any fills it caused.

        Raises:
            KeyError: An unknown symbol.
        """
        m = self._market(symbol)
        before = m.visible()
        events: list[VenueEvent] = []
        left = size
        opposite = m.own_side(side.opposite)
        best = opposite.best_price()
        if best is not None and _crosses(side, price, best):
            events, left = self._sweep(now_ns, m, side, size, price)
            best = opposite.best_price()
        if left > 0 and (best is None or not _crosses(side, price, best)):
            m.own_side(side).get_or_create(price).append(None, left)
        self._bump(m, before)
        if events:
            events.extend(self._check_liquidation(now_ns, symbol))
        return events

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        """Sets the funding rate of ``symbol`` (a fraction per interval; positive: longs pay).

        Raises:
            KeyError: An unknown symbol.
        """
        self._market(symbol).funding_rate = rate

    def accrue_funding(self, now_ns: int, symbol: str, since_ns: int | None = None) -> Decimal:
        """Pays one funding interval on the current position.

        ``payment = -size * mark * rate`` (a positive rate makes longs pay); on a continuous
        schedule the pro-rata part of it for ``(since_ns, now_ns]`` (rounded half-even once,
        :func:`hedgekit.risk.funding.payments`). It is added to the position's funding and to the
        collateral, and recorded (:meth:`funding_payments`) when a position is open.

        Args:
            now_ns: Venue time of the payment (the caller decides when funding happens).
            symbol: The symbol.
            since_ns: A continuous schedule's previous realisation (``None``: one interval ago).

        Returns:
            The payment received (negative: paid).

        Raises:
            KeyError: An unknown symbol.
        """
        m = self._market(symbol)
        mark = m.mid if m.mid is not None else _ZERO
        payment = -m.pos_size * mark * m.funding_rate
        if m.schedule.mode is FundingMode.CONTINUOUS and m.pos_size != 0 and mark > 0:
            start = now_ns - m.schedule.interval_ns if since_ns is None else since_ns
            due = schedule_payments(m.schedule, m.pos_size, m.funding_rate, mark, start, now_ns)
            payment = sum((p.amount for p in due), _ZERO)
        m.funding += payment
        if m.pos_size != 0:
            self._collateral += Fraction(payment)
            self._headroom = None
            self._funding_log.append(
                FundingPayment(
                    self.venue, symbol, payment, m.funding_rate, m.pos_size, now_ns, mark
                )
            )
        return payment

    def settle_funding(
        self, now_ns: int, symbol: str, since_ns: int | None = None
    ) -> list[VenueEvent]:
        """Pays one funding interval on ``symbol`` (:meth:`accrue_funding`; a continuous
        schedule's realisation since ``since_ns``) and returns what the venue pushes: the
        :class:`~hedgekit.model.FundingPayment` (none when flat), then a liquidation if the
        payment left equity at or below maintenance.

        Raises:
            KeyError: An unknown symbol.
        """
        n = len(self._funding_log)
        self.accrue_funding(now_ns, symbol, since_ns)
        events: list[VenueEvent] = list(self._funding_log[n:])
        if events:
            events.extend(self._check_liquidation(now_ns, symbol))
        return events

    def funding_payments(self, since_ns: int = 0) -> list[FundingPayment]:
        """Every funding payment booked on an open position, oldest first (``ts_ns >=
        since_ns``)."""
        return [p for p in self._funding_log if p.ts_ns >= since_ns]

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        """When ``symbol``'s funding is paid (periodic on the venue's interval, or continuous).

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).schedule

    # ------------------------------------------------------------------ margin

    @property
    def collateral(self) -> Decimal:
        """The account's collateral (wallet balance) to 1e-9: the starting collateral plus
        realised PnL, minus fees, plus funding."""
        return _to_decimal(self._collateral)

    def margin_table(self, symbol: str) -> MarginTable:
        """``symbol``'s margin tiers.

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).table

    def leverage(self, symbol: str) -> Decimal:
        """The leverage set for ``symbol``.

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).leverage

    def set_leverage(self, now_ns: int, symbol: str, leverage: Decimal) -> Decimal:
        """Sets ``symbol``'s leverage, as the venue's leverage update does.

        Refused (and nothing changes) when the leverage is not a whole number of at least 1,
        above the leverage cap of the tier the current position's notional is in (the first
        tier's cap when flat), or so low that the account's initial margin would exceed its
        equity.

        Args:
            now_ns: Venue time (unused: a leverage change emits nothing).
            symbol: The symbol.
            leverage: The new leverage.

        Returns:
            The leverage now set.

        Raises:
            KeyError: An unknown symbol.
            hedgekit.errors.LeverageRejectedError: Above the tier's cap, or not a leverage the
                venue offers.
            hedgekit.errors.OrderRejectedError: The account would be short of initial margin
                (``reason="insufficient_margin"``).
        """
        del now_ns
        m = self._market(symbol)
        p = self.personality
        notional = abs(m.pos_size) * m.mid if m.mid is not None else _ZERO
        cap = m.table.max_leverage_at(notional)
        lev = Decimal(leverage)
        if not lev.is_finite() or lev < 1 or lev != lev.to_integral_value() or lev > cap:
            text = p.leverage_text.format(leverage=leverage, cap=cap)
            raise LeverageRejectedError(self.venue, text, p.leverage_code)
        previous, m.leverage = m.leverage, lev
        if m.pos_size != 0 and self.risk_account().free < 0:
            m.leverage = previous
            raise OrderRejectedError(
                self.venue, p.insufficient_margin_text, p.insufficient_margin_code,
                "insufficient_margin",
            )  # fmt: skip
        return lev

    def risk_account(self) -> Account:
        """The account in :mod:`hedgekit.risk`'s model, as the venue's own figures give it: the
        collateral and each open position's entry price as reported (to 1e-9), its mark (the
        external mid) and its leverage, every symbol's table. Its equity, margins, available
        margin and liquidation prices are the venue's."""
        positions: dict[str, PositionState] = {}
        for symbol, m in self._markets.items():
            if m.pos_size != 0 and m.mid is not None:
                entry = m.mid if m.entry is None else _to_decimal(m.entry)
                positions[symbol] = PositionState(m.pos_size, entry, m.mid, m.leverage)
        collateral = _to_decimal(self._collateral)
        if collateral >= 0:
            return Account(collateral, positions, self._tables)
        # An account in deficit (only after a liquidation filled beyond what it held).
        return Account._unchecked(collateral, positions, MappingProxyType(dict(self._tables)))

    def account(self, now_ns: int) -> AccountState:
        """The account's margin figures, as the venue reports them.

        Args:
            now_ns: Venue time stamped on them.
        """
        a = self.risk_account()
        return AccountState(
            venue=self.venue,
            collateral=a.collateral,
            equity=a.equity,
            available=a.available,
            initial_margin=a.initial_margin,
            maintenance_margin=a.maintenance_margin,
            ts_ns=now_ns,
        )

    def adl(self, now_ns: int, symbol: str, size: Decimal) -> list[VenueEvent]:
        """The venue auto-deleverages our position in ``symbol`` by ``size`` (at most the whole
        position, floored to the step) at the mark, without a fee: a reduce we did not send.

        Returns:
            A :class:`~hedgekit.model.Deleverage` and its fill (client id from
            ``personality.adl_client_id``), or nothing when the position is flat.

        Raises:
            KeyError: An unknown symbol.
        """
        m = self._market(symbol)
        pos = m.pos_size
        qty = m.inst.rules.floor_size(min(size, abs(pos))) if pos != 0 and size > 0 else _ZERO
        if qty <= 0 or m.mid is None:
            return []
        side = Side.SELL if pos > 0 else Side.BUY
        fill = self._forced_fill(now_ns, m, self.personality.adl_client_id, side, qty, m.mid, _ZERO)
        event = Deleverage(self.venue, symbol, side, qty, m.mid, now_ns, fill.trade_id)
        return [event, fill]

    def _margin_error(
        self, m: _Market, side: Side, size: Decimal, price: Decimal
    ) -> OrderRejectedError | None:
        """The personality's answer when :meth:`~hedgekit.risk.Account.can_open` refuses an
        order of ``size`` at ``price`` at the symbol's leverage (``None``: accepted).

        An order far inside the account's means is accepted without the exact model: a lower
        bound on the free margin after the fill (``equity - initial margin``, each moving at
        worst by ``size * (|mark - price| + mark / leverage)``) is computed in floats and must
        exceed a millionth of the amounts involved, far above any float or rounding error, with
        the leverage within the cap of the largest notional the position can reach. So the
        answer is always the exact model's."""
        if self._surely_within_margin(m, size, price):
            return None
        decision = self.risk_account().can_open(m.inst.symbol, side, size, price, m.leverage)
        if decision.ok:
            return None
        p = self.personality
        if decision.reason is Refusal.LEVERAGE_ABOVE_CAP:
            return OrderRejectedError(
                self.venue, p.max_position_text, p.max_position_code, "leverage_above_cap"
            )
        return OrderRejectedError(
            self.venue, p.insufficient_margin_text, p.insufficient_margin_code,
            "insufficient_margin",
        )  # fmt: skip

    def _surely_within_margin(self, m: _Market, size: Decimal, price: Decimal) -> bool:
        """True when an order of ``size`` at ``price`` on ``m`` is certainly accepted by the
        margin model (see :meth:`_margin_error`); False means "ask the exact model"."""
        mark = m.mid if m.mid is not None else price
        # The model marks a new position at the order's price, a held one at the mark: bound the
        # notional with the larger of the two.
        if m.leverage > m.table.max_leverage_at((abs(m.pos_size) + size) * max(mark, price)):
            return False
        free = float(self._collateral)
        scale = abs(free)
        for other in self._markets.values():
            if other.pos_size == 0 or other.mid is None or other.entry is None:
                continue
            q, mk, entry = float(other.pos_size), float(other.mid), float(other.entry)
            free += q * (mk - entry) - abs(q) * mk / float(other.leverage)
            scale += abs(q) * (mk + entry)
        q, mk, px = float(size), float(mark), float(price)
        free -= q * (abs(mk - px) + max(mk, px) / float(m.leverage))
        scale += q * (mk + px)
        return free > scale * 1e-6

    def _mark_moved(self, now_ns: int, m: _Market, old_mid: Decimal | None) -> list[VenueEvent]:
        """After the mark of a symbol we hold moved from ``old_mid``: the cheap bound first (a
        move of ``d`` changes equity - maintenance by at least ``-2 * |size| * d``, every
        maintenance rate being below 1), the exact check only when it may be needed."""
        if self._headroom is not None and old_mid is not None and m.mid is not None:
            self._headroom -= 2 * abs(m.pos_size) * abs(m.mid - old_mid)
            if self._headroom > 0:
                return []
        return self._check_liquidation(now_ns, m.inst.symbol)

    def _check_liquidation(self, now_ns: int, symbol: str | None) -> list[VenueEvent]:
        """Liquidates while the account's equity is at or below its maintenance margin: first
        ``symbol``'s position (the one whose mark moved) if open, then the one with the largest
        maintenance margin. Returns the events (cancels of our open orders, each
        :class:`~hedgekit.model.Liquidation` and its fill)."""
        if not any(m.pos_size != 0 for m in self._markets.values()):
            self._headroom = None
            return []
        account = self.risk_account()
        events: list[VenueEvent] = []
        for _ in range(len(self._markets)):
            if not account.is_liquidatable:
                break
            if not events:
                events.extend(self._cancel_all(now_ns))
            target = symbol
            if target is None or self._markets[target].pos_size == 0:
                target = max(
                    (s for s, mk in self._markets.items() if mk.pos_size != 0),
                    key=lambda s: self._tables[s].maintenance_margin(account.positions[s].notional),
                )
            events.extend(self._liquidate(now_ns, self._markets[target], account))
            account = self.risk_account()
            symbol = None
        self._headroom = account.equity - account.maintenance_margin if account.positions else None
        return events

    def _cancel_all(self, now_ns: int) -> list[VenueEvent]:
        """The venue cancels every open order of ours before it liquidates."""
        events: list[VenueEvent] = []
        befores = {s: m.visible() for s, m in self._markets.items()}
        for order in self._orders.values():
            if order.status.is_terminal:
                continue
            self._unrest(self._markets[order.symbol], order)
            order.status = OrderStatus.CANCELLED
            order.reason = self.personality.liquidation_cancel_text
            order.updated_ns = now_ns
            events.append(self._update(order, now_ns))
        for s, m in self._markets.items():
            self._bump(m, befores[s])
        return events

    def _liquidate(self, now_ns: int, m: _Market, account: Account) -> list[VenueEvent]:
        """Closes the whole position of ``m`` at its liquidation price (the risk model's, other
        marks as they are), snapped to the market's tick on the side of the mark before the move
        (a long's up, a short's down), or at the mark when the model gives none."""
        pos = m.pos_size
        assert m.mid is not None
        liq = account.liquidation_price(m.inst.symbol)
        price = m.mid if liq is None else _snap_price(liq, m.inst.market.tick, up=pos > 0)
        if price <= 0:
            price = m.mid
        side = Side.SELL if pos > 0 else Side.BUY
        rate = self._margin.liquidation_fee_rate
        if rate is None:
            rate = self.personality.fees.taker_rate
        fill = self._forced_fill(
            now_ns, m, self.personality.liquidation_client_id, side, abs(pos), price, rate
        )
        event = Liquidation(
            self.venue, m.inst.symbol, side, fill.size, price, now_ns, fill.trade_id
        )
        return [event, fill]

    def _forced_fill(
        self,
        now_ns: int,
        m: _Market,
        client_template: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee_rate: Decimal,
    ) -> Fill:
        """A fill the venue forces on our position (liquidation, ADL), under an order of its
        own (reduce-only, filled at once) with the client id ``client_template`` gives."""
        self._forced_orders += 1
        key = str(self._next_order_id)
        self._next_order_id += 1
        client_id = client_template.format(n=self._forced_orders)
        order = _Order(
            key=key,
            symbol=m.inst.symbol,
            client_id=client_id,
            side=side,
            size=qty,
            price=price,
            order_type=OrderType.MARKET,
            tif=TimeInForce.IOC,
            reduce_only=True,
            status=OrderStatus.FILLED,
            updated_ns=now_ns,
        )
        self._orders[key] = order
        self._by_client[client_id] = key
        quantum = Decimal(1).scaleb(-self.personality.fees.fee_decimals)
        fee = (price * qty * fee_rate).quantize(quantum, rounding=ROUND_HALF_EVEN)
        fill = Fill(
            venue=self.venue,
            symbol=m.inst.symbol,
            client_id=client_id,
            venue_order_id=key,
            trade_id=self._next_trade_id,
            side=side,
            price=price,
            size=qty,
            fee=fee,
            liquidity=Liquidity.TAKER,
            ts_ns=now_ns,
        )
        self._next_trade_id += 1
        order.fills.append(fill)
        order.filled = qty
        order.notional = price * qty
        self._ledger.append(fill)
        self._book(m, side, price, qty, fee)
        return fill

    # ------------------------------------------------------------------ public market data

    def book_levels(
        self, symbol: str, depth: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The visible book: ``(bids best first, asks best first)``, external and our sizes
        aggregated per price, at most ``depth`` levels per side.

        Raises:
            KeyError: An unknown symbol.
        """
        m = self._market(symbol)
        return list(_aggregate(m.bids, depth)), list(_aggregate(m.asks, depth))

    def book_version(self, symbol: str) -> int:
        """A counter that increments on every change of ``symbol``'s visible book.

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).version

    def mid(self, symbol: str) -> Decimal | None:
        """The external mid last set by :meth:`set_mid`.

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).mid

    def instrument(self, symbol: str) -> SimInstrument:
        """The simulated instrument of ``symbol``.

        Raises:
            KeyError: An unknown symbol.
        """
        return self._market(symbol).inst

    # ------------------------------------------------------------------ self-checks

    def check_invariants(self) -> list[str]:
        """Checks the engine's truth; returns the problems found (empty when fine).

        Checked: fills of an order sum to its filled size, which never exceeds its size; trade
        ids are unique (per order with ``fills.shared_trade_id``); no segment is empty or
        negative; an open order rests exactly once with
        its unfilled size at its price and a closed one not at all; no book is crossed; each
        position equals the signed sum of its fills; the collateral is conserved: the starting
        collateral plus realised PnL, minus every fill's fee, plus every funding payment (exact).
        """
        problems: list[str] = []
        seen: set[tuple[str, int | str]] = set()
        per_order = self._fill_cfg.shared_trade_id
        for f in self._ledger:
            trade_key = (f.venue_order_id if per_order else "", f.trade_id)
            if trade_key in seen:
                problems.append(f"duplicate trade id {f.trade_id}")
            seen.add(trade_key)
        resting: dict[str, list[tuple[Side, Decimal, Decimal]]] = {}
        for symbol, m in self._markets.items():
            for side, book in ((Side.BUY, m.bids), (Side.SELL, m.asks)):
                for level in book.best_first():
                    if not level.segments:
                        problems.append(f"{symbol} empty level {side} {level.price}")
                    for seg in level.segments:
                        if seg.qty <= 0:
                            problems.append(f"{symbol} {side} {level.price}: segment {seg!r}")
                        if seg.owner is not None:
                            resting.setdefault(seg.owner, []).append((side, level.price, seg.qty))
            bid, ask = m.bids.best_price(), m.asks.best_price()
            if bid is not None and ask is not None and bid >= ask:
                problems.append(f"{symbol} book crossed: {bid} >= {ask}")
            signed = m.seeded + sum(
                (f.side.sign * f.size for f in self._ledger if f.symbol == symbol), _ZERO
            )
            if signed != m.pos_size:
                problems.append(f"{symbol} position {m.pos_size} != signed fills {signed}")
        for key, order in self._orders.items():
            total = sum((f.size for f in order.fills), _ZERO)
            if total != order.filled:
                problems.append(f"order {key}: fills sum {total} != filled {order.filled}")
            if order.filled > order.size:
                problems.append(f"order {key}: filled {order.filled} > size {order.size}")
            places = resting.pop(key, [])
            if order.status.is_terminal:
                if places:
                    problems.append(f"order {key} is {order.status} but rests at {places}")
            elif places != [(order.side, order.price, order.leaves)]:
                problems.append(f"order {key} open with {order.leaves} left rests at {places}")
        for key in resting:
            problems.append(f"unknown own segment {key}")
        expected = (
            Fraction(self._initial_collateral)
            + sum((m.realized for m in self._markets.values()), Fraction(0))
            - sum((Fraction(f.fee) for f in self._ledger), Fraction(0))
            + sum((Fraction(p.amount) for p in self._funding_log), Fraction(0))
        )
        if expected != self._collateral:
            problems.append(
                f"collateral {_to_decimal(self._collateral)} != initial + realised - fees + "
                f"funding {_to_decimal(expected)}"
            )
        return problems

    # ------------------------------------------------------------------ internals

    def _market(self, symbol: str) -> _Market:
        try:
            return self._markets[symbol]
        except KeyError:
            raise KeyError(f"unknown symbol {symbol!r} on {self.venue}") from None

    def _bump(self, m: _Market, before: _Levels) -> None:
        if m.visible() != before:
            m.version += 1

    def _rejected(self, text: str, code: int | None, reason: str) -> PlaceOutcome:
        return PlaceOutcome(None, OrderRejectedError(self.venue, text, code, reason), ())

    def _find(
        self, symbol: str, client_id: str | None, venue_order_id: str | None
    ) -> _Order | None:
        key = venue_order_id
        if key is None and client_id is not None:
            key = self._by_client.get(client_id)
        order = None if key is None else self._orders.get(key)
        if order is None or order.symbol != symbol:
            return None
        if client_id is not None and order.client_id != client_id:
            return None
        return order

    def _check_rules(
        self, m: _Market, price: Decimal, size: Decimal, reduce_only: bool, *, sync_min: bool = True
    ) -> OrderRejectedError | None:
        """Grid and minimum checks; minimum failures only when ``sync_min``."""
        p = self.personality
        reason = m.inst.rules.rejection(price, size, reduce_only)
        if reason is None:
            return None
        if reason in _GRID_REASONS:
            return OrderRejectedError(self.venue, p.off_tick_text, p.off_tick_code, "off_tick")
        if reason == "off_step":
            return OrderRejectedError(self.venue, p.off_step_text, p.off_step_code, "off_step")
        if not sync_min:
            return None
        return self._min_error(m, reason)

    def _min_error(self, m: _Market, reason: str) -> OrderRejectedError:
        p = self.personality
        if reason == "below_min_notional":
            text = p.min_notional_text.format(min=m.inst.rules.min_notional)
            return OrderRejectedError(self.venue, text, p.min_notional_code, "min_notional")
        return OrderRejectedError(self.venue, p.min_size_text, p.min_size_code, "min_size")

    def _post_only_error(self, m: _Market) -> PostOnlyRejectedError:
        p = self.personality
        text = p.post_only_text.format(
            bid=m.bids.best_price(), ask=m.asks.best_price(), asset=m.inst.asset_id
        )
        return PostOnlyRejectedError(self.venue, text, p.post_only_code)

    def _new_order(self, now_ns: int, request: OrderRequest) -> _Order:
        key = str(self._next_order_id)
        self._next_order_id += 1
        order = _Order(
            key=key,
            symbol=request.symbol,
            client_id=request.client_id,
            side=request.side,
            size=request.size,
            price=request.price,
            order_type=request.order_type,
            tif=TimeInForce.IOC if request.order_type is OrderType.MARKET else request.tif,
            reduce_only=request.reduce_only,
            status=OrderStatus.OPEN,
            updated_ns=now_ns,
        )
        self._orders[key] = order
        self._by_client[request.client_id] = key
        return order

    def _place(
        self, now_ns: int, m: _Market, request: OrderRequest, refuse_post_only: bool = False
    ) -> PlaceOutcome:
        p = self.personality
        opposite = m.own_side(request.side.opposite).best_price()
        check_price = request.price
        if request.order_type is OrderType.MARKET:
            check_price = opposite or request.price or m.mid
        if check_price is None:
            return self._rejected("No liquidity to price the market order.", None, "other")
        sync_min = not p.min_check_async
        error = self._check_rules(
            m, check_price, request.size, request.reduce_only, sync_min=sync_min
        )
        if error is not None:
            return PlaceOutcome(None, error, ())
        if request.reduce_only:
            pos = m.pos_size
            if pos * request.side.sign >= 0 or request.size > abs(pos):
                return self._rejected(
                    "Reduce only order would increase position.", None, "reduce_only"
                )
        late = m.inst.rules.rejection(check_price, request.size, request.reduce_only)
        margin_error = None
        if late is None and not request.reduce_only:
            margin_error = self._margin_error(m, request.side, request.size, check_price)
            if margin_error is not None and not p.margin_check_async:
                return PlaceOutcome(None, margin_error, ())  # no order is created
        crossing = opposite is not None and (
            request.order_type is OrderType.MARKET
            or (request.price is not None and _crosses(request.side, request.price, opposite))
        )
        post_only_cross = request.tif is TimeInForce.POST_ONLY and (crossing or refuse_post_only)
        sync_modes = (PostOnlyMode.SYNC_REJECT, PostOnlyMode.SYNC_REJECT_CODE)
        if late is None and post_only_cross and p.post_only_mode in sync_modes:
            # no order is created
            return PlaceOutcome(None, self._post_only_error(m), (), post_only_refused=True)
        order = self._new_order(now_ns, request)
        if late is not None:  # a minimum failure reported on the stream (min_check_async)
            order.status = OrderStatus.REJECTED
            order.reason = self._min_error(m, late).message
            return self._accepted_then(order, now_ns, (order.status,))
        if margin_error is not None:  # refused by the sequencer (margin_check_async)
            order.status = OrderStatus.REJECTED
            order.reason = margin_error.message
            return self._accepted_then(order, now_ns, (order.status,))
        if post_only_cross:
            if p.post_only_mode is PostOnlyMode.ACCEPT_THEN_EXPIRE:
                order.status = OrderStatus.EXPIRED
                order.reason = self._post_only_error(m).message
            else:
                order.status = OrderStatus.CANCELLED
                order.reason = "canceled-post-only"
            outcome = self._accepted_then(order, now_ns, (OrderStatus.OPEN, order.status))
            return dataclasses.replace(outcome, post_only_refused=True)
        events: list[VenueEvent] = []
        if crossing:
            events.extend(self._take(now_ns, m, order, self._taker_limit(m, request)))
        if order.tif is TimeInForce.IOC:
            order.status = OrderStatus.FILLED if order.leaves == 0 else OrderStatus.EXPIRED
        else:
            self._rest_or_expire(m, order)
        events.append(self._update(order, now_ns))
        ack = OrderAck(order.client_id, order.key, order.status, order.filled, now_ns)
        return PlaceOutcome(ack, None, tuple(events))

    def _accepted_then(
        self, order: _Order, now_ns: int, statuses: tuple[OrderStatus, ...]
    ) -> PlaceOutcome:
        """An ``OPEN`` answer followed by stream updates with ``statuses``."""
        events: list[VenueEvent] = []
        for status in statuses:
            reason = order.reason if status is order.status else None
            events.append(
                OrderUpdate(
                    self.venue,
                    order.symbol,
                    order.client_id,
                    order.key,
                    status,
                    order.filled,
                    now_ns,
                    reason,
                )
            )
        ack = OrderAck(order.client_id, order.key, OrderStatus.OPEN, order.filled, now_ns)
        return PlaceOutcome(ack, None, tuple(events))

    def _chain_filled(self, order: _Order) -> Decimal:
        """What one client order filled across every venue order that carried its client id
        (cancel-and-replace modifies)."""
        return sum(
            (
                o.filled
                for o in self._orders.values()
                if o.client_id == order.client_id and o.symbol == order.symbol
            ),
            Decimal(0),
        )

    def _replace(
        self, now_ns: int, m: _Market, old: _Order, price: Decimal, size: Decimal, crossing: bool
    ) -> PlaceOutcome:
        """A modify as cancel-and-replace: ``old`` is cancelled and a new order with a new venue
        order id (same client id) is placed at ``price`` for what ``size`` — the order's total —
        leaves after everything the client order filled so far (across earlier replacements)."""
        done = self._chain_filled(old)
        before = m.visible()
        self._unrest(m, old)
        old.status = OrderStatus.CANCELLED
        old.reason = "modified"
        old.updated_ns = now_ns
        key = str(self._next_order_id)
        self._next_order_id += 1
        new = _Order(
            key=key,
            symbol=old.symbol,
            client_id=old.client_id,
            side=old.side,
            size=size - done,
            price=price,
            order_type=old.order_type,
            tif=old.tif,
            reduce_only=old.reduce_only,
            status=OrderStatus.OPEN,
            updated_ns=now_ns,
            replaces=old.key,
        )
        self._orders[key] = new
        self._by_client[new.client_id] = key
        events: list[VenueEvent] = []
        if crossing:
            events.extend(self._take(now_ns, m, new, price))
        self._rest_or_expire(m, new)
        events.append(self._update(new, now_ns))
        self._bump(m, before)
        ack = OrderAck(new.client_id, new.key, new.status, new.filled, now_ns)
        return PlaceOutcome(ack, None, tuple(events))

    def _taker_limit(self, m: _Market, request: OrderRequest) -> Decimal | None:
        if request.price is not None or m.mid is None:
            return request.price
        band = m.mid * self._fill_cfg.market_band_bps / Decimal(10_000)
        return m.mid + band if request.side is Side.BUY else m.mid - band

    def _update(self, order: _Order, now_ns: int) -> OrderUpdate:
        return OrderUpdate(
            self.venue,
            order.symbol,
            order.client_id,
            order.key,
            order.status,
            order.filled,
            now_ns,
            order.reason,
        )

    def _rest_or_expire(self, m: _Market, order: _Order) -> None:
        """Rests an order's remainder at the tail of its level, or sets its final status."""
        if order.leaves == 0:
            order.status = OrderStatus.FILLED
            return
        assert order.price is not None
        opposite = m.own_side(order.side.opposite).best_price()
        if opposite is not None and _crosses(order.side, order.price, opposite):
            order.status = OrderStatus.EXPIRED  # only our own orders are left there
            order.reason = _STP_REASON
            return
        m.own_side(order.side).get_or_create(order.price).append(order.key, order.leaves)
        order.status = OrderStatus.PARTIALLY_FILLED if order.filled > 0 else OrderStatus.OPEN

    def _unrest(self, m: _Market, order: _Order) -> None:
        if order.price is None:
            return
        book = m.own_side(order.side)
        level = book.get(order.price)
        if level is not None:
            level.remove_owner(order.key)
            book.discard_if_empty(order.price)

    def _take(self, now_ns: int, m: _Market, order: _Order, limit: Decimal | None) -> list[Fill]:
        """Our order takes external liquidity best first up to ``limit`` (own orders skipped)."""
        rules = m.inst.rules
        step = rules.step_size
        book = m.own_side(order.side.opposite)
        out: list[Fill] = []
        for level in book.best_first():
            if order.leaves <= 0:
                break
            if limit is not None and not _crosses(order.side, limit, level.price):
                break
            available = level.external_total()
            qty = rules.floor_size(min(order.leaves, available))
            # Take the level's on-step size; dust below one step left behind goes with it.
            if qty < order.leaves and available - qty < step:
                level.consume_external(available)
            else:
                level.consume_external(qty)
            book.discard_if_empty(level.price)
            if qty > 0:
                out.extend(self._execute(now_ns, m, order, level.price, qty, Liquidity.TAKER))
        return out

    def _sweep(
        self, now_ns: int, m: _Market, aggressor: Side, size: Decimal, limit: Decimal | None
    ) -> tuple[list[VenueEvent], Decimal]:
        """An outside taker of ``size`` sweeps the opposite side; returns events and leftover."""
        rules = m.inst.rules
        cap = self._fill_cfg.max_fill_per_event
        book = m.own_side(aggressor.opposite)
        events: list[VenueEvent] = []
        left = size
        shared = self._shared_trade_id()
        for level in book.best_first():
            if left <= 0 or (limit is not None and not _crosses(aggressor, limit, level.price)):
                break
            for seg in list(level.segments):
                if left <= 0:
                    break
                if seg.owner is None:
                    take = min(left, seg.qty)
                    seg.qty -= take
                    left -= take
                    continue
                qty = min(left, seg.qty) if cap is None else min(left, seg.qty, cap)
                qty = rules.floor_size(qty)
                if qty <= 0:
                    continue
                order = self._orders[seg.owner]
                seg.qty -= qty
                left -= qty
                events.extend(
                    self._execute(now_ns, m, order, level.price, qty, Liquidity.MAKER, shared())
                )
                partial = OrderStatus.PARTIALLY_FILLED
                order.status = OrderStatus.FILLED if order.leaves == 0 else partial
                events.append(self._update(order, now_ns))
            level.normalize()
            book.discard_if_empty(level.price)
        return events, left

    def _trade_through(
        self, now_ns: int, m: _Market, resting: Side, edge: Decimal, events: list[VenueEvent]
    ) -> None:
        """Fills completely our ``resting``-side orders the new external ``edge`` trades through.

        ``edge`` is the new best external price of the opposite side (the best ask for our
        buys); the filled orders' levels are removed (their external part is rebuilt next).
        """
        book = m.own_side(resting)
        shared = self._shared_trade_id()
        for level in book.best_first():
            if not _crosses(resting, level.price, edge):
                break
            for seg in level.segments:
                if seg.owner is None:
                    continue
                order = self._orders[seg.owner]
                events.extend(
                    self._execute(
                        now_ns, m, order, level.price, order.leaves, Liquidity.MAKER, shared()
                    )
                )
                order.status = OrderStatus.FILLED
                events.append(self._update(order, now_ns))
            book.remove(level.price)

    def _level_size(self, m: _Market, price: Decimal, depth: int) -> Decimal:
        """The external size of the level at ``price``, ``depth`` levels from the touch: a base
        size uniform on ``[level_size, level_size_max]`` in 1/1000 steps, fixed per price by a
        hash of the seed, the symbol and the price's tick index, times the depth growth."""
        cfg = m.inst.market
        assert cfg.level_size_max is not None
        index = int((price / cfg.tick).to_integral_value(rounding=ROUND_HALF_EVEN))
        key = (m.inst.symbol, index)
        base = self._level_sizes.get(key)
        if base is None:
            digest = hashlib.blake2b(
                f"{self._seed}:{m.inst.symbol}:{index}".encode(), digest_size=8
            ).digest()
            u = Decimal(int.from_bytes(digest, "big") % 1001) / 1000
            lo, hi = cfg.level_size, cfg.level_size_max
            base = (lo + (hi - lo) * u).quantize(_NANO, rounding=ROUND_DOWN)
            if len(self._level_sizes) > 100_000:
                self._level_sizes.clear()
            self._level_sizes[key] = base
        return base * (1 + depth * cfg.depth_growth)

    def _rebuild(self, book: BookSide, sizes: dict[Decimal, Decimal]) -> None:
        """Replaces the external liquidity of ``book`` with ``sizes`` (per price)."""
        for level in book.best_first():
            if not level.has_own():
                book.remove(level.price)
                continue
            budget = sizes.get(level.price, _ZERO)
            for seg in level.segments:
                if seg.owner is None:
                    seg.qty = min(seg.qty, budget)
                    budget -= seg.qty
            level.append(None, budget)
            level.normalize()
        for price, size in sizes.items():
            if book.get(price) is None:
                book.get_or_create(price).append(None, size)

    def _split(self, m: _Market, qty: Decimal) -> list[Decimal]:
        """``qty`` in ``fills.split_fills`` near-equal pieces on the step (no empty piece)."""
        k = self._fill_cfg.split_fills
        if k == 1:
            return [qty]
        step = m.inst.rules.step_size
        steps = int(qty / step)
        if Decimal(steps) * step != qty:  # off-step (cannot happen for floored fills)
            return [qty]
        base, extra = divmod(steps, k)
        pieces = [(base + (1 if i < extra else 0)) * step for i in range(k)]
        return [piece for piece in pieces if piece > 0]

    def _shared_trade_id(self) -> Callable[[], int | None]:
        """The trade id source of one outside trade: with ``fills.shared_trade_id`` every call
        gives the trade's one id (allocated at its first fill of ours); otherwise ``None`` (each
        fill gets its own id)."""
        if not self._fill_cfg.shared_trade_id:
            return lambda: None
        allocated: list[int] = []

        def get() -> int | None:
            if not allocated:
                allocated.append(self._next_trade_id)
                self._next_trade_id += 1
            return allocated[0]

        return get

    def _execute(
        self,
        now_ns: int,
        m: _Market,
        order: _Order,
        price: Decimal,
        qty: Decimal,
        liquidity: Liquidity,
        trade_id: int | None = None,
    ) -> list[Fill]:
        """Records one match of ``qty`` at ``price`` as one or more fills (all with
        ``trade_id`` when it is given: one outside trade's shared id)."""
        fees = self.personality.fees
        rate = fees.maker_rate if liquidity is Liquidity.MAKER else fees.taker_rate
        quantum = Decimal(1).scaleb(-fees.fee_decimals)
        out: list[Fill] = []
        for piece in self._split(m, qty):
            fee = (price * piece * rate).quantize(quantum, rounding=ROUND_HALF_EVEN)
            fill = Fill(
                venue=self.venue,
                symbol=order.symbol,
                client_id=order.client_id,
                venue_order_id=order.key,
                trade_id=self._next_trade_id if trade_id is None else trade_id,
                side=order.side,
                price=price,
                size=piece,
                fee=fee,
                liquidity=liquidity,
                ts_ns=now_ns,
            )
            if trade_id is None:
                self._next_trade_id += 1
            order.fills.append(fill)
            order.filled += piece
            order.notional += price * piece
            self._ledger.append(fill)
            self._book(m, order.side, price, piece, fee)
            out.append(fill)
        order.updated_ns = now_ns
        return out

    def _book(self, m: _Market, side: Side, price: Decimal, qty: Decimal, fee: Decimal) -> None:
        """Books one fill: the position, its cost basis, and the collateral (realised PnL less
        the fee)."""
        realized = m.realized
        self._apply_position(m, side, price, qty)
        self._collateral += m.realized - realized - Fraction(fee)
        self._headroom = None

    @staticmethod
    def _apply_position(m: _Market, side: Side, price: Decimal, qty: Decimal) -> None:
        """Updates the position and its exact cost basis with one fill."""
        pos = m.pos_size
        fprice, fqty = Fraction(price), Fraction(qty)
        if pos == 0 or (pos > 0) == (side is Side.BUY):
            held = Fraction(abs(pos))
            entry = m.entry if m.entry is not None else Fraction(0)
            m.entry = (entry * held + fprice * fqty) / (held + fqty)
        else:
            assert m.entry is not None
            closed = min(Fraction(abs(pos)), fqty)
            direction = 1 if pos > 0 else -1
            m.realized += (fprice - m.entry) * closed * direction
            new = pos + side.sign * qty
            if new == 0:
                m.entry = None
            elif (new > 0) != (pos > 0):
                m.entry = fprice
        m.pos_size = pos + side.sign * qty


def _snap_price(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    """``price`` on the ``tick`` grid, rounded up or down."""
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return steps * tick


def _to_decimal(value: Fraction) -> Decimal:
    """An exact fraction as a Decimal rounded to 1e-9 (half even)."""
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return quotient.quantize(_NANO, rounding=ROUND_HALF_EVEN)
