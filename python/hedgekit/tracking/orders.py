"""Order tracking for one venue: a pure state machine that returns actions.

:class:`OrderTracker` holds every order we sent to one venue: client id ↔ venue id, an explicit
state table (:data:`TRANSITIONS`), in-flight requests with deadlines, and the fills of each
order, which it feeds through one shared :class:`~hedgekit.FillLedger` (the single source of
truth for filled size, average price and fees: the tracker keeps no fill counter of its own).

Every input is a method taking the current time and returning a list of :data:`Action` values;
the tracker does no I/O and never awaits. A thin driver (:class:`hedgekit.tracking.VenueSession`)
performs the actions: status queries, fill fetches, position reconciliation, and notifications.

Rules worth knowing:

* An ambiguous answer (timeout, disconnect, 5xx) makes an order ``UNCONFIRMED``, never
  ``REJECTED``: only a status query (or the stream) resolves it.
* Fills always count. The ledger is asked after every fill; a complete order becomes ``FILLED``
  from any state, including after its cancel (the cancel–fill race).
* A fill is keyed in the ledger by (venue, client id, trade id): one trade can fill several of
  our orders under one trade id. A fill that names only the venue's order id is resolved to the
  client id first, so its copies by stream, REST poll and status query share one key.
* An order keeps every venue id it has had. A modify answered under a new venue id (a
  cancel-replace, as on Hyperliquid) makes that id the current one; fills naming either id
  count, and reports about the replaced id no longer describe the order. A status query by
  client id answered under a venue id the order did not have as its current one (the modify's
  own answer was lost) says the same: the venue replaced it.
* Every report the venue makes is about one venue order: its ``filled`` is that venue order's,
  not the client order's. The venue's filled size of an order is the sum over its venue ids, and
  an order that ended is answered for only once each of its venue ids has a final report (a
  query by client id describes only the latest; a replaced one is asked for by its own id):
  the fills of a replaced venue order the stream lost are otherwise never demanded.
* A transition that is not in the table is ignored and recorded in :attr:`OrderTracker.anomalies`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import msgspec

from hedgekit._core import FillLedger, FillStatus, OrderFills
from hedgekit.errors import UnknownOrderError, VenueError
from hedgekit.model import (
    CancelResult,
    Fill,
    Liquidity,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderUpdate,
    StreamStatus,
    VenueEvent,
    forced_fill_kind,
)

__all__ = [
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "Anomaly",
    "FetchFills",
    "FillApplied",
    "ForcedFill",
    "OrderChanged",
    "OrderTracker",
    "QueryStatus",
    "Reconcile",
    "TrackedOrder",
    "TrackedState",
    "TrackerConfig",
]

_ZERO = Decimal(0)
_S = 1_000_000_000


class TrackedState(enum.StrEnum):
    """Our view of one order (finer than the venue's :class:`~hedgekit.model.OrderStatus`)."""

    PENDING_NEW = "pending_new"
    UNCONFIRMED = "unconfirmed"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    FILLED = "filled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    NOT_FOUND = "not_found"

    @property
    def is_terminal(self) -> bool:
        """True when the order cannot trade any more (late fills still count)."""
        return self in TERMINAL_STATES


_T = TrackedState
TERMINAL_STATES: Final[frozenset[TrackedState]] = frozenset(
    {_T.CANCELLED, _T.FILLED, _T.EXPIRED, _T.REJECTED, _T.NOT_FOUND}
)
"""States in which an order no longer trades."""

# fmt: off
TRANSITIONS: Final[Mapping[TrackedState, frozenset[TrackedState]]] = {
    # sent, no answer yet: anything the venue or a fill can tell us
    _T.PENDING_NEW: frozenset({_T.UNCONFIRMED, _T.OPEN, _T.PARTIALLY_FILLED, _T.FILLED,
                               _T.PENDING_CANCEL, _T.CANCELLED, _T.EXPIRED, _T.REJECTED,
                               _T.NOT_FOUND}),
    # ambiguous answer: a status query, the stream or a fill resolves it (never by itself)
    _T.UNCONFIRMED: frozenset({_T.OPEN, _T.PARTIALLY_FILLED, _T.FILLED, _T.PENDING_CANCEL,
                               _T.CANCELLED, _T.EXPIRED, _T.REJECTED, _T.NOT_FOUND}),
    _T.OPEN: frozenset({_T.PARTIALLY_FILLED, _T.FILLED, _T.PENDING_CANCEL, _T.CANCELLED,
                        _T.EXPIRED, _T.NOT_FOUND}),
    _T.PARTIALLY_FILLED: frozenset({_T.FILLED, _T.PENDING_CANCEL, _T.CANCELLED, _T.EXPIRED,
                                    _T.NOT_FOUND}),
    # a cancel refused → back to OPEN / PARTIALLY_FILLED; a placement refused late → REJECTED
    _T.PENDING_CANCEL: frozenset({_T.OPEN, _T.PARTIALLY_FILLED, _T.FILLED, _T.CANCELLED,
                                  _T.EXPIRED, _T.REJECTED, _T.NOT_FOUND}),
    # late fills: a cancelled or expired order still completes (the cancel–fill race)
    _T.CANCELLED: frozenset({_T.FILLED}),
    _T.EXPIRED: frozenset({_T.FILLED}),
    # a fill on an order we believed rejected is a contradiction: ask the venue again
    _T.REJECTED: frozenset({_T.UNCONFIRMED, _T.FILLED}),
    # the venue may have lagged: any later evidence of the order revives it
    _T.NOT_FOUND: frozenset({_T.UNCONFIRMED, _T.OPEN, _T.PARTIALLY_FILLED, _T.FILLED,
                             _T.CANCELLED, _T.EXPIRED}),
    _T.FILLED: frozenset(),
}
# fmt: on
"""Allowed transitions ``state → {next states}``. Anything else is ignored and recorded as an
anomaly. Every non-``FILLED`` state may become ``FILLED`` when the ledger shows the order
complete."""


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Timing and bounds of an :class:`OrderTracker`.

    Attributes:
        request_timeout_ns: A placement or cancel without an answer after this is in doubt.
        requery_interval_ns: How often an ``UNCONFIRMED`` order (or one whose fills are
            missing) is queried again.
        not_found_grace_ns: A venue that does not know an order younger than this may simply
            lag: only an older order becomes ``NOT_FOUND``.
        linger_ns: How long a terminal order stays registered in the ledger for late fills
            (an order whose final fills the venue has not reported yet, up to ten times as
            long).
        max_buffered_fills: Bound on fills kept for client ids we do not know.
        reconnect_margin_ns: Fills are fetched from this long before the stream went down.
        max_final_records: Bound on compact records kept for forgotten orders.
    """

    request_timeout_ns: int = 2 * _S
    requery_interval_ns: int = _S // 2
    not_found_grace_ns: int = 5 * _S
    linger_ns: int = 60 * _S
    max_buffered_fills: int = 10_000
    reconnect_margin_ns: int = 5 * _S
    max_final_records: int = 10_000


@dataclass(frozen=True, slots=True)
class QueryStatus:
    """Ask the venue for one order's status, then call :meth:`OrderTracker.on_status` (with
    ``venue_order_id`` when given: the query names that one venue order of the client order,
    one a modify replaced)."""

    client_id: str
    symbol: str
    venue_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class FetchFills:
    """Fetch our fills by REST (``symbol`` ``None``: all), then call
    :meth:`OrderTracker.on_fills`."""

    symbol: str | None
    since_ns: int


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Something unexpected happened: compare positions with the venue soon."""

    reason: str


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """A frozen snapshot of one order as the tracker and the ledger see it.

    Attributes:
        request: The order as sent.
        venue_order_id: The venue's current id, once known (a modify may replace it; the
            earlier ids still resolve to the order).
        state: Our state.
        filled: Filled size (from the ledger).
        avg_price: Average fill price, ``None`` before a fill.
        fees: Sum of fees (negative: rebate).
        maker_size: Filled size that was maker.
        remaining: ``size - filled``, never negative.
        fill_count: Distinct fills applied.
        last_venue_status: The last status the venue reported.
        venue_filled: The filled size the venue reported: per venue id the largest it
            reported, summed over the order's venue ids (a cross-check).
        history: ``(ts_ns, state)`` for every state entered, oldest first.
    """

    request: OrderRequest
    venue_order_id: str | None
    state: TrackedState
    filled: Decimal
    avg_price: Decimal | None
    fees: Decimal
    maker_size: Decimal
    remaining: Decimal
    fill_count: int
    last_venue_status: OrderStatus | None
    venue_filled: Decimal
    history: tuple[tuple[int, TrackedState], ...]

    @property
    def client_id(self) -> str:
        """Our id for the order."""
        return self.request.client_id

    @property
    def is_terminal(self) -> bool:
        """True when the order can no longer trade."""
        return self.state.is_terminal


class FillApplied:
    """Notification: a new fill was applied to the ledger (also on overfill).

    Attributes:
        fill: The fill, named by the order's own client id.
        order: The order as it stood right after the fill (a :class:`TrackedOrder`). The
            tracker captures the order's fields when the fill is applied and builds the
            snapshot only when ``order`` is first read, so a listener that needs only the fill
            costs no snapshot; the snapshot is the same either way.
    """

    __slots__ = ("_fields", "_order", "fill")

    def __init__(
        self,
        fill: Fill,
        order: TrackedOrder | None = None,
        *,
        _fields: tuple[Any, ...] | None = None,
    ) -> None:
        if order is None and _fields is None:
            raise TypeError("FillApplied needs the order")
        self.fill = fill
        self._order = order
        self._fields = _fields

    @property
    def order(self) -> TrackedOrder:
        """The order's snapshot right after the fill."""
        order = self._order
        if order is None:
            assert self._fields is not None
            order = self._order = _build_snapshot(*self._fields)
            self._fields = None
        return order

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FillApplied):
            return NotImplemented
        return self.fill == other.fill and self.order == other.order

    def __hash__(self) -> int:
        return hash((self.fill, self.order))

    def __repr__(self) -> str:
        return f"FillApplied(fill={self.fill!r}, order={self.order!r})"


class OrderChanged(msgspec.Struct, frozen=True, gc=False):
    """Notification: an order changed state.

    A frozen value like the other actions, built by msgspec (one per state move, on the hedge
    path: a fraction of a frozen dataclass's cost, and nothing for the garbage collector to
    track, its fields holding no containers).
    """

    client_id: str
    old: TrackedState
    new: TrackedState


@dataclass(frozen=True, slots=True)
class ForcedFill:
    """Notification: the venue traded our position without an order of ours — a liquidation
    or an auto-deleverage — and the ledger has counted the fill (once, under an id of its own:
    ``fill.client_id`` is the venue's id for it plus ``#`` and the trade id).

    Attributes:
        fill: The fill, as the ledger counted it.
        kind: ``"liquidation"`` or ``"adl"``.
    """

    fill: Fill
    kind: str


Action = QueryStatus | FetchFills | Reconcile | FillApplied | OrderChanged | ForcedFill
"""Everything the tracker asks its driver to do or to know."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something the tracker refused or did not expect (kept for inspection and logs)."""

    ts_ns: int
    kind: str
    client_id: str | None
    detail: str


class _Order:
    """One order's mutable record (a plain class: one is made per placement, on the hedge path,
    so what every new order starts with the same is a class attribute until first set)."""

    state = TrackedState.PENDING_NEW
    venue_order_id: str | None = None
    last_venue_status: OrderStatus | None = None
    venue_filled = _ZERO
    inflight: str | None = "new"  # "new" | "cancel" | None
    query_due_ns: int | None = None
    gap_since_ns: int | None = None
    gap_attempts = 0
    terminal_ns: int | None = None
    reported_ns: int | None = None  # when the venue was last asked for a report it answered
    # What only a modify or a venue's own reports fill in starts shared and empty, and becomes
    # the order's own on the first change (through the methods below, never in place).
    replaced_ids: AbstractSet[str] = frozenset()  # ids a modify answer superseded
    # per venue id: the largest filled it reported, and whether a final report named it
    id_filled: Mapping[str, Decimal] = MappingProxyType({})
    id_final: AbstractSet[str] = frozenset()

    def __init__(self, request: OrderRequest, submitted_ns: int, deadline_ns: int = 0) -> None:
        self.request = request
        self.submitted_ns = submitted_ns
        self.deadline_ns = deadline_ns
        self.venue_ids: list[str] = []  # every id it has had, oldest first
        self.history: list[tuple[int, TrackedState]] = [(submitted_ns, TrackedState.PENDING_NEW)]

    def add_replaced(self, vid: str) -> None:
        """Notes that a modify superseded venue id ``vid``."""
        self.replaced_ids = _own_with(self.replaced_ids, vid)

    def drop_replaced(self, vid: str) -> None:
        """``vid`` is the order's current venue id again."""
        ids = self.replaced_ids
        if vid in ids and isinstance(ids, set):
            ids.discard(vid)

    def set_id_filled(self, vid: str, filled: Decimal) -> None:
        """Notes the filled size venue order ``vid`` reported."""
        sizes = self.id_filled
        if isinstance(sizes, dict):
            sizes[vid] = filled
        else:
            self.id_filled = {vid: filled}

    def add_final(self, vid: str) -> None:
        """Notes that venue order ``vid`` has given its final report."""
        self.id_final = _own_with(self.id_final, vid)


def _own_with(ids: AbstractSet[str], vid: str) -> set[str]:
    """``ids`` with ``vid`` added: the set itself once it is the order's own, else a new one (the
    shared empty start is never written)."""
    if isinstance(ids, set):
        ids.add(vid)
        return ids
    return {vid}


_LIVE_EARLY = frozenset({_T.PENDING_NEW, _T.UNCONFIRMED, _T.OPEN})
_UNANSWERED = frozenset({_T.PENDING_NEW, _T.UNCONFIRMED})
_new = object.__new__
_DEAD = frozenset({_T.REJECTED, _T.NOT_FOUND})  # a fill on one contradicts what we believed
_MAKER = Liquidity.MAKER
_OVERFILL = FillStatus.OVERFILL  # the statuses are singletons: compared by identity
_UNKNOWN_ORDER = FillStatus.UNKNOWN_ORDER
_VENUE_TERMINAL = {
    OrderStatus.CANCELLED: _T.CANCELLED,
    OrderStatus.EXPIRED: _T.EXPIRED,
    OrderStatus.REJECTED: _T.REJECTED,
}


class OrderTracker:
    """Every order sent to one venue, and the actions needed to keep our view true.

    Every input method takes ``now_ns`` (the caller's clock, integer nanoseconds) and returns
    the actions to perform, in order: notifications (:class:`FillApplied`,
    :class:`OrderChanged`) and requests (:class:`QueryStatus`, :class:`FetchFills`,
    :class:`Reconcile`, each at most once per call). Inputs about unknown orders are recorded
    as anomalies, never raised.

    Args:
        venue: The venue's name (the ledger key).
        ledger: The shared fill ledger (single source of truth for fills).
        config: Timing and bounds.
    """

    def __init__(self, venue: str, ledger: FillLedger, config: TrackerConfig | None = None) -> None:
        self.venue = venue
        self.config = config or TrackerConfig()
        self._ledger = ledger
        self._orders: dict[str, _Order] = {}
        # every venue id of a live order or of a kept final record -> client id
        self._by_venue_id: dict[str, str] = {}
        self._final_venue_ids: dict[str, list[str]] = {}
        self._final: OrderedDict[str, TrackedOrder] = OrderedDict()
        self._unmatched: OrderedDict[tuple[str, str, int | str], Fill] = OrderedDict()
        # Every fill the ledger accepted, per client id, recorded the moment the ledger returns:
        # what the ledger holds can always be read back, even if processing after it failed.
        self._applied: dict[str, list[Fill]] = {}
        self.fills_applied = 0
        """How many fills the ledger has accepted through this tracker, ever (a counter that
        only grows, one per fill :meth:`fills` lists: read it, never write it). An observer
        that has seen every fill of its orders up to a reading knows, when the counter still
        reads the same, that no fill has come since."""
        self._anomalies: deque[Anomaly] = deque(maxlen=1000)
        self._stream_down_ns: int | None = None
        self._stream_up_ns: int | None = None  # when the stream last came back
        self._resumed_ns: int | None = None  # when it last came back after a gap (or None)
        self.gapless = True
        """True while the stream has never had a gap (every order is
        :meth:`seen_throughout`): the hot path's one-attribute answer; read it, never write
        it."""

    # ----------------------------------------------------------------- queries
    def order(self, client_id: str) -> TrackedOrder:
        """A snapshot of one order (also of a forgotten one, from its final record).

        Raises:
            KeyError: We never sent (or no longer remember) this client id.
        """
        o = self._orders.get(client_id)
        if o is not None:
            return self._snapshot(o)
        return self._final[client_id]

    def filled(self, client_id: str) -> Decimal:
        """An order's filled size from the ledger, without building a snapshot.

        Raises:
            KeyError: Unknown client id.
        """
        o = self._orders.get(client_id)
        if o is not None:
            return self._fills(o).filled
        return self._final[client_id].filled

    def request(self, client_id: str) -> OrderRequest:
        """The order as sent (as last modified), without building a snapshot.

        Raises:
            KeyError: Unknown client id.
        """
        o = self._orders.get(client_id)
        if o is not None:
            return o.request
        return self._final[client_id].request

    def get(self, client_id: str) -> TrackedOrder | None:
        """Like :meth:`order`, ``None`` for an unknown client id."""
        try:
            return self.order(client_id)
        except KeyError:
            return None

    def is_resolved(self, client_id: str) -> bool:
        """True when the order can no longer trade *and* its fills are known to be complete:
        ``FILLED``; refused or unknown to the venue (``REJECTED``, ``NOT_FOUND``); or cancelled
        or expired with the venue's own final report at hand for each of its venue ids (their
        ``filled`` summed no more than the ledger's). A cancel answered "cancelled" alone does
        not say whether fills raced it: such an order is settled by a status query first; nor
        does the final report of the venue order a modify put in place say what the one it
        replaced filled (:meth:`unsettled_venue_ids`). A forgotten order is resolved.

        Raises:
            KeyError: Unknown client id.
        """
        o = self._orders.get(client_id)
        if o is None:
            self._final[client_id]  # noqa: B018 - raises KeyError for an unknown id
            return True
        state = o.state
        if not state.is_terminal:
            return False
        if state in (_T.FILLED, _T.REJECTED, _T.NOT_FOUND):
            return True
        final = o.last_venue_status is not None and o.last_venue_status.is_terminal
        if not final or o.venue_filled > self._fills(o).filled:
            return False
        final_ids = o.id_final
        return all(v in final_ids for v in o.venue_ids)

    def unsettled_venue_ids(self, client_id: str) -> list[str]:
        """The venue ids of an order, other than its current one, whose final report the venue
        has not given yet: venue orders a cancel-replace modify superseded. A status query by
        client id describes only the latest venue order, so each of these is asked for by its
        own id (at once when the replacement becomes known, then on the timer) before the
        order's fills can be known complete (empty for a filled, refused or unknown order, and
        for a forgotten one).

        Raises:
            KeyError: Unknown client id.
        """
        o = self._orders.get(client_id)
        if o is None:
            if client_id not in self._final:
                raise KeyError(client_id)
            return []
        return self._unsettled(o)

    def may_still_fill(self, client_id: str) -> Decimal:
        """How much more the ledger may yet show filled for the order: nothing once it is
        resolved (:meth:`is_resolved`), otherwise the rest of its size — an order in doubt
        reserves its whole remaining quantity.

        Raises:
            KeyError: Unknown client id.
        """
        if self.is_resolved(client_id):
            return _ZERO
        o = self._orders[client_id]
        return max(o.request.size - self._fills(o).filled, _ZERO)

    def state(self, client_id: str) -> TrackedState:
        """An order's state, without building a snapshot (the cheap check for waiters).

        Raises:
            KeyError: Unknown client id.
        """
        o = self._orders.get(client_id)
        if o is not None:
            return o.state
        return self._final[client_id].state

    def all_client_ids(self) -> list[str]:
        """Every client id this tracker knows, live or finished (finished ones as far back as
        ``max_final_records``), in submission order for the live ones."""
        return list(self._orders) + [c for c in self._final if c not in self._orders]

    def open_orders(self) -> list[TrackedOrder]:
        """Every order that is not terminal (may still trade), oldest first."""
        return [self._snapshot(o) for o in self._orders.values() if not o.state.is_terminal]

    def in_flight(self) -> list[TrackedOrder]:
        """Orders with a request awaiting an answer, or whose placement is unconfirmed."""
        return [
            self._snapshot(o)
            for o in self._orders.values()
            if o.inflight is not None or o.state is _T.UNCONFIRMED
        ]

    def fills(self, client_id: str) -> tuple[Fill, ...]:
        """Every fill of one order the ledger accepted, in the order it accepted them (for a
        forgotten order as long as its final record is kept). Each fill's ``client_id`` is the
        order's, even when the venue named only its own id."""
        return tuple(self._applied.get(client_id, ()))

    def has_fills(self, client_id: str) -> bool:
        """True when the ledger has accepted a fill of the order (:meth:`fills` is not
        empty)."""
        return client_id in self._applied

    @property
    def anomalies(self) -> tuple[Anomaly, ...]:
        """Recent anomalies (at most 1000), oldest first."""
        return tuple(self._anomalies)

    @property
    def unmatched_fills(self) -> tuple[Fill, ...]:
        """Buffered fills whose client id we do not know."""
        return tuple(self._unmatched.values())

    def seen_throughout(self, client_id: str) -> bool:
        """True when everything the venue has done with the order has reached us: the stream
        is connected and has had no gap since the order was submitted, or the venue answered a
        status query about it asked after the stream last came back (its fills as of then,
        the stream's events after). False means its fills may be unknown: a fill of it during
        the gap may not have been delivered. An order no longer tracked is seen (it ended).
        """
        if self._stream_down_ns is not None:
            return False
        resumed = self._resumed_ns
        if resumed is None:
            return True
        o = self._orders.get(client_id)
        if o is None or resumed <= o.submitted_ns:
            return True
        reported = o.reported_ns
        return reported is not None and reported >= resumed

    @property
    def stream_connected(self) -> bool:
        """False between a ``StreamStatus(connected=False)`` and the next reconnect."""
        return self._stream_down_ns is None

    # ------------------------------------------------------------------ inputs
    def submit(self, request: OrderRequest, now_ns: int) -> list[Action]:
        """Records an order about to be sent (``PENDING_NEW``) and registers it in the ledger.

        Buffered fills for its client id are replayed.

        Raises:
            ValueError: The client id was already used on this tracker.
        """
        cid = request.client_id
        if cid in self._orders or cid in self._final:
            raise ValueError(f"client id {cid!r} already used on {self.venue}")
        # (a Side is the str the ledger reads: passed as it is)
        self._ledger.register_order(self.venue, cid, request.side, request.size)
        o = _Order(request, now_ns, now_ns + self.config.request_timeout_ns)
        self._orders[cid] = o
        acts: list[Action] = []
        if self._unmatched:
            self._replay(
                [k for k, f in self._unmatched.items() if f.client_id == cid], now_ns, acts
            )
        return acts

    def on_ack(self, ack: OrderAck, now_ns: int) -> list[Action]:
        """The venue accepted the placement."""
        acts: list[Action] = []
        o = self._find(ack.client_id, ack.venue_order_id, now_ns, "ack")
        if o is None:
            return acts
        if o.inflight == "new":
            o.inflight = None
        if self._replaced(o, ack.venue_order_id):
            # a late answer about the order a modify replaced: what it filled still counts
            self._record(o, ack.venue_order_id, ack.status, ack.filled)
            self._check_gap(o, now_ns)
            return acts
        self._set_venue_id(o, ack.venue_order_id, now_ns, acts)
        self._venue_status(o, ack.venue_order_id, ack.status, ack.filled, now_ns, acts)
        return acts

    def on_modified(
        self, client_id: str, ack: OrderAck, price: Decimal, size: Decimal, now_ns: int
    ) -> list[Action]:
        """The venue changed a resting order's price and size, in place or by replacing it.

        The ledger's size for the order follows, so completeness is judged against the new size.
        A venue whose modify is a cancel-replace (Hyperliquid) answers with a new venue id: it
        becomes the order's current id, and the old one keeps resolving to the order, so fills
        naming either are counted (once: the ledger keeps one record per client id). Fills
        that named the new id before this answer, and were buffered as unmatched, are applied
        now. Later reports about the old id (the replaced order's cancel) are ignored.
        """
        acts: list[Action] = []
        o = self._orders.get(client_id)
        if o is None:
            self._anomaly(now_ns, "unknown_order", client_id, "modify answer for an unknown order")
            return acts
        o.request = dataclasses.replace(o.request, price=price, size=size)
        self._ledger.set_order_size(self.venue, client_id, size)
        self._set_venue_id(o, ack.venue_order_id, now_ns, acts, current=True)
        self._venue_status(o, ack.venue_order_id, ack.status, ack.filled, now_ns, acts)
        return _dedupe(acts)

    def on_error(self, client_id: str, error: VenueError, now_ns: int) -> list[Action]:
        """The placement failed: definitive → ``REJECTED``; ambiguous → ``UNCONFIRMED``."""
        acts: list[Action] = []
        o = self._find(client_id, None, now_ns, "place error")
        if o is None:
            return acts
        if o.inflight == "new":
            o.inflight = None
        if error.definitive:
            self._move(o, _T.REJECTED, now_ns, acts, f"place: {error}")
            acts.append(Reconcile("rejection"))
        else:
            if o.state is _T.PENDING_NEW:
                self._move(o, _T.UNCONFIRMED, now_ns, acts, f"place: {error}")
            if not o.state.is_terminal:
                self._query(o, now_ns, acts)
        return acts

    def cancel_sent(self, client_id: str, now_ns: int) -> list[Action]:
        """A cancel request is about to be sent (``PENDING_CANCEL``); ignored when terminal."""
        acts: list[Action] = []
        o = self._find(client_id, None, now_ns, "cancel")
        if o is None or o.state.is_terminal:
            return acts
        o.inflight = "cancel"
        o.deadline_ns = now_ns + self.config.request_timeout_ns
        self._move(o, _T.PENDING_CANCEL, now_ns, acts, "cancel sent")
        return acts

    def on_cancel_result(self, client_id: str, result: CancelResult, now_ns: int) -> list[Action]:
        """The venue answered a cancel.

        ``ALREADY_FILLED`` leaves the state alone until the ledger shows the order complete;
        while fills are missing a status query and a fill fetch are requested.
        """
        acts: list[Action] = []
        o = self._find(client_id, None, now_ns, "cancel result")
        if o is None:
            return acts
        if o.inflight == "cancel":
            o.inflight = None
        if result is CancelResult.ALREADY_FILLED:
            o.last_venue_status = OrderStatus.FILLED
            o.venue_filled = max(o.venue_filled, o.request.size)
            if self._fills(o).is_complete:
                self._move(o, _T.FILLED, now_ns, acts, "cancel: already filled")
            else:
                self._query(o, now_ns, acts)
                acts.append(FetchFills(o.request.symbol, self._since(o)))
                self._check_gap(o, now_ns)
        elif result is CancelResult.FAILED:
            if o.state is _T.PENDING_CANCEL:
                self._move(o, self._live_target(o), now_ns, acts, "cancel failed")
            self._query(o, now_ns, acts)
        else:
            was_terminal = o.state.is_terminal
            if not was_terminal:
                target = _T.FILLED if self._fills(o).is_complete else _T.CANCELLED
                self._move(o, target, now_ns, acts, f"cancel: {result}")
            if result is CancelResult.ALREADY_CANCELLED and not was_terminal:
                self._query(o, now_ns, acts)  # how much filled before it went?
        return acts

    def on_cancel_error(self, client_id: str, error: VenueError, now_ns: int) -> list[Action]:
        """A cancel failed. Ambiguous or "unknown order" → query; a refusal → back to live."""
        acts: list[Action] = []
        o = self._find(client_id, None, now_ns, "cancel error")
        if o is None:
            return acts
        if o.inflight == "cancel":
            o.inflight = None
        if error.definitive and not isinstance(error, UnknownOrderError):
            if o.state is _T.PENDING_CANCEL:
                self._move(o, self._live_target(o), now_ns, acts, f"cancel refused: {error}")
        elif not o.state.is_terminal:
            self._query(o, now_ns, acts)
        return acts

    def on_event(self, event: VenueEvent, now_ns: int) -> list[Action]:
        """One event from the private stream."""
        acts: list[Action] = []
        if isinstance(event, Fill):
            self._ingest_fill(event, now_ns, acts)
            if len(acts) < 3:
                # One fill asks for at most one request (its notifications come with it, or a
                # forced fill's Reconcile): nothing can repeat.
                return acts
        elif isinstance(event, OrderUpdate):
            o = self._find(event.client_id, event.venue_order_id, now_ns, "update")
            if o is not None:
                vid = event.venue_order_id
                if self._replaced(o, vid):
                    # about the order a modify replaced: its filled size counts, not its state
                    self._record(o, vid, event.status, event.filled)
                    self._check_gap(o, now_ns)
                else:
                    self._set_venue_id(o, vid, now_ns, acts)
                    self._venue_status(o, vid, event.status, event.filled, now_ns, acts)
        elif isinstance(event, StreamStatus):
            self._stream_status(event, now_ns, acts)
        return _dedupe(acts)

    def on_status(
        self,
        client_id: str,
        report: OrderStatusReport | None,
        now_ns: int,
        *,
        venue_order_id: str | None = None,
        asked_ns: int | None = None,
    ) -> list[Action]:
        """A status query's answer (``None``: the venue does not know the order).

        ``asked_ns`` is when the query was sent (default ``now_ns``): the venue answered about
        that moment, so "no such order" is believed only for an order at least
        :attr:`TrackerConfig.not_found_grace_ns` old then — a younger one's placement may still
        have been on its way, and is asked about again.

        A query by client id is answered about the venue's latest order for it: one under a
        venue id the order did not have as its current one means a modify replaced it (its own
        answer lost), and that id becomes the current one. With ``venue_order_id`` the query
        named one venue order of ours by its id (:meth:`unsettled_venue_ids`): its fills and
        its final filled size count, while the order's state stays with the latest one.
        """
        acts: list[Action] = []
        o = self._find(client_id, None, now_ns, "status")
        if o is None:
            return acts
        asked = now_ns if asked_ns is None else asked_ns
        if venue_order_id is not None:
            self._venue_order_status(o, venue_order_id, report, now_ns, asked, acts)
            return _dedupe(acts)
        o.query_due_ns = None
        if report is None:
            if asked - o.submitted_ns >= self.config.not_found_grace_ns:
                if not o.state.is_terminal:
                    o.inflight = None
                    self._move(o, _T.NOT_FOUND, now_ns, acts, "status: unknown order")
            elif not o.state.is_terminal:
                o.query_due_ns = now_ns + self.config.requery_interval_ns
            return acts
        for fill in report.fills:
            self._ingest_fill(fill, now_ns, acts)
        if o.reported_ns is None or asked > o.reported_ns:
            o.reported_ns = asked
        if o.inflight == "new":
            o.inflight = None
        vid = report.venue_order_id
        if self._replaced(o, vid):
            # the answer describes the order a modify replaced: its fills count, not its status
            self._record(o, vid, report.status, report.filled)
            self._check_gap(o, now_ns)
            if not o.state.is_terminal:
                o.query_due_ns = now_ns + self.config.requery_interval_ns
            if o.venue_filled > self._fills(o).filled:
                acts.append(FetchFills(o.request.symbol, self._since(o)))
            return _dedupe(acts)
        # The venue's latest order for our client id is under another venue id than the one
        # we hold as current: a modify replaced it (whose answer we never had).
        replaced = bool(vid) and o.venue_order_id is not None and vid != o.venue_order_id
        self._set_venue_id(o, vid, now_ns, acts, current=replaced)
        self._venue_status(o, vid, report.status, report.filled, now_ns, acts)
        if o.venue_filled > self._fills(o).filled:
            acts.append(FetchFills(o.request.symbol, self._since(o)))
        if o.state is _T.UNCONFIRMED:
            o.query_due_ns = now_ns + self.config.requery_interval_ns
        return _dedupe(acts)

    def on_fills(self, fills: Sequence[Fill], now_ns: int) -> list[Action]:
        """Fills listed by a REST query (any order, duplicates welcome)."""
        acts: list[Action] = []
        for fill in fills:
            self._ingest_fill(fill, now_ns, acts)
        return _dedupe(acts)

    def on_timer(self, now_ns: int) -> list[Action]:
        """Deadlines: in-doubt requests, re-queries, missing fills, forgetting old orders."""
        acts: list[Action] = []
        cfg = self.config
        for o in list(self._orders.values()):
            if o.inflight is not None and now_ns >= o.deadline_ns:
                kind, o.inflight = o.inflight, None
                if kind == "new" and o.state is _T.PENDING_NEW:
                    self._move(o, _T.UNCONFIRMED, now_ns, acts, "place timed out")
                if not o.state.is_terminal:
                    self._query(o, now_ns, acts)
            if o.query_due_ns is not None and now_ns >= o.query_due_ns:
                if o.state.is_terminal:
                    o.query_due_ns = None
                else:
                    self._query(o, now_ns, acts)
            if o.gap_since_ns is not None:
                wait = cfg.requery_interval_ns << min(o.gap_attempts, 6)
                if now_ns - o.gap_since_ns >= wait:
                    o.gap_attempts += 1
                    o.gap_since_ns = now_ns
                    if o.venue_filled > self._fills(o).filled:
                        acts.append(FetchFills(o.request.symbol, self._since(o)))
                        self._query(o, now_ns, acts)
                    for vid in self._unsettled(o):
                        acts.append(QueryStatus(o.request.client_id, o.request.symbol, vid))
            if o.terminal_ns is not None and now_ns - o.terminal_ns >= cfg.linger_ns:
                # An order whose fills the venue has not answered for yet stays registered (an
                # operation may still be settling it; its late fills must still count), up to
                # ten lingers.
                if (
                    self.is_resolved(o.request.client_id)
                    or now_ns - o.terminal_ns >= 10 * cfg.linger_ns
                ):
                    self._forget(o, now_ns, acts)
        return _dedupe(acts)

    # --------------------------------------------------------------- internals
    def _stream_status(self, event: StreamStatus, now_ns: int, acts: list[Action]) -> None:
        if not event.connected:
            self.gapless = False
            if self._stream_down_ns is None:
                self._stream_down_ns = now_ns
            return
        down, self._stream_down_ns = self._stream_down_ns, None
        last_up, self._stream_up_ns = self._stream_up_ns, now_ns
        if down is not None or last_up is not None:
            self._resumed_ns = now_ns  # back after a gap (seen leaving, or not)
            self.gapless = False
        for o in self._orders.values():
            if not o.state.is_terminal:
                self._query(o, now_ns, acts)
        # A return we never saw leave (its "down" lost, or an outage inside another) is an
        # outage too: the fills since the stream last came back are fetched.
        since = down if down is not None else last_up
        if since is not None:
            acts.append(FetchFills(None, since - self.config.reconnect_margin_ns))
            acts.append(Reconcile("reconnect"))

    def _ingest_fill(self, fill: Fill, now_ns: int, acts: list[Action]) -> None:
        trade_id = fill.trade_id
        tt = type(trade_id)
        if (
            tt is not int
            and tt is not str
            and (isinstance(trade_id, bool) or not isinstance(trade_id, (int, str)))
        ):
            self._anomaly(now_ns, "bad_fill", fill.client_id, f"trade id {trade_id!r}")
            return
        # one key per fill whichever channel brought it: resolve a venue id to our client id
        cid = fill.client_id
        o = self._orders.get(cid)
        if o is None and fill.venue_order_id:
            cid = self._by_venue_id.get(fill.venue_order_id, cid)
            o = self._orders.get(cid)
        if o is None:
            kind = forced_fill_kind(fill.client_id)
            if kind is not None:
                self._forced_fill(fill, kind, now_ns, acts)
            else:
                self._unmatched_fill(fill, cid, now_ns, acts)
            return
        if fill.venue != self.venue:
            self._anomaly(now_ns, "venue_mismatch", cid, f"fill from {fill.venue!r}")
        try:
            ts = fill.ts_ns
            # One call applies the fill and reads the order's totals after it.
            status, fills = self._ledger.apply_fill(
                self.venue, trade_id, cid, fill.price, fill.size, fill.fee,
                fill.liquidity is _MAKER, ts if ts > 0 else 0,
            )  # fmt: skip
        except (ValueError, TypeError, OverflowError) as exc:
            self._anomaly(now_ns, "bad_fill", cid, f"{fill.trade_id!r}: {exc}")
            return
        if fills is None:  # not recorded: a duplicate, or an unknown order
            if status is _UNKNOWN_ORDER:  # registered order missing: should not happen
                self._unmatched_fill(fill, cid, now_ns, acts)
            return
        if fill.client_id != cid:
            fill = dataclasses.replace(fill, client_id=cid)  # named by venue id only
        self._applied.setdefault(cid, []).append(fill)
        self.fills_applied += 1
        if status is _OVERFILL:
            self._anomaly(now_ns, "overfill", cid, f"trade {fill.trade_id!r}")
            acts.append(Reconcile("overfill"))
        try:
            vid = fill.venue_order_id
            if vid != o.venue_order_id or not vid:  # a known current id changes nothing
                self._set_venue_id(o, vid, now_ns, acts)
            # The order moves after the fill (``fills``: its fills as the ledger holds them now).
            if o.inflight == "new":
                o.inflight = None  # a fill proves the order exists
            if fills.is_complete:
                self._move(o, _T.FILLED, now_ns, acts, "fill: complete")
            elif o.state in _LIVE_EARLY:
                self._move(o, _T.PARTIALLY_FILLED, now_ns, acts, "fill")
            elif o.state in _DEAD:
                self._anomaly(now_ns, "fill_on_dead_order", cid, str(o.state))
                self._move(o, _T.UNCONFIRMED, now_ns, acts, "fill on dead order")
                self._query(o, now_ns, acts)
            if o.venue_filled:
                self._check_gap(o, now_ns, fills.filled)
            elif o.gap_since_ns is not None:  # the venue reported nothing filled: no gap, and
                o.gap_since_ns = None  # no size read from the ledger (no attempts counted)
                o.gap_attempts = 0
        except Exception as exc:  # noqa: BLE001 - the ledger holds the fill: it must be told
            # The fill is counted; what failed is our bookkeeping after it. Record it, ask the
            # venue for the order's status to put the state right, and still notify.
            self._anomaly(now_ns, "fill_processing_failed", cid, f"{fill.trade_id!r}: {exc!r}")
            self._query(o, now_ns, acts)
        # The order's fields as they stand now; the snapshot is built when a listener reads it
        # (FillApplied(fill, _fields=...), its fields set here: one per fill, on the hedge path).
        applied = _new(FillApplied)
        applied.fill = fill
        applied._order = None  # noqa: SLF001 - its own module's notification
        applied._fields = (  # noqa: SLF001
            o.request, o.venue_order_id, o.state, fills, o.last_venue_status, o.venue_filled,
            tuple(o.history),
        )  # fmt: skip
        acts.append(applied)

    def _forced_fill(self, fill: Fill, kind: str, now_ns: int, acts: list[Action]) -> None:
        """Counts a fill the venue forced on our position (a liquidation or an ADL: no order of
        ours). Each such fill is its own entry in the ledger, keyed by the venue's id and the
        trade id, so one delivered twice (stream and query) is counted once, and venues that
        name every ADL fill alike (Aster's ``adl_autoclose``) lose nothing."""
        key = f"{fill.client_id}#{fill.trade_id}"
        try:
            self._ledger.register_order(self.venue, key, str(fill.side), fill.size)
            status = self._ledger.apply(
                self.venue, fill.trade_id, key, fill.price, fill.size, fill.fee,
                fill.liquidity is Liquidity.MAKER, fill.ts_ns if fill.ts_ns > 0 else 0,
            )  # fmt: skip
        except (ValueError, TypeError, OverflowError) as exc:
            self._anomaly(now_ns, "bad_fill", key, f"{fill.trade_id!r}: {exc}")
            return
        if status == FillStatus.DUPLICATE:
            return
        counted = dataclasses.replace(fill, client_id=key)
        self._applied.setdefault(key, []).append(counted)
        self.fills_applied += 1
        self._anomaly(
            now_ns,
            kind,
            key,
            f"{fill.side} {fill.size} at {fill.price}: traded by the venue, not by us",
        )
        acts.append(ForcedFill(counted, kind))
        acts.append(Reconcile(kind))

    def _unmatched_fill(self, fill: Fill, cid: str, now_ns: int, acts: list[Action]) -> None:
        """Buffers a fill of no live order (``cid``: the client id it resolved to). A copy of a
        fill the ledger already counted for that order (a forgotten one) is dropped; the same
        trade on another order is another fill and is kept."""
        key = (fill.client_id, fill.venue_order_id, fill.trade_id)
        if key in self._unmatched or self._ledger.seen(self.venue, fill.trade_id, cid):
            return
        forgotten = cid in self._final
        self._anomaly(
            now_ns, "late_fill" if forgotten else "unmatched_fill", cid,
            f"trade {fill.trade_id!r} size {fill.size}",
        )  # fmt: skip
        self._unmatched[key] = fill
        while len(self._unmatched) > self.config.max_buffered_fills:
            _, dropped = self._unmatched.popitem(last=False)
            self._anomaly(now_ns, "buffer_full", dropped.client_id, f"{dropped.trade_id!r}")
        acts.append(Reconcile("unmatched_fill"))

    @staticmethod
    def _record(o: _Order, vid: str | None, status: OrderStatus, filled: Decimal) -> None:
        """Notes what one venue order of ours (``vid``) reported: its filled size (the largest
        it reported) and whether the report was final. The order's ``venue_filled`` is their sum
        over its venue ids: each venue order of a cancel-replace chain reports its own."""
        key = vid or o.venue_order_id
        if key and key in o.venue_ids:
            if key not in o.id_filled or filled > o.id_filled[key]:
                o.set_id_filled(key, filled)
            if status.is_terminal:
                o.add_final(key)
            total = sum(o.id_filled.values(), _ZERO) if len(o.id_filled) > 1 else o.id_filled[key]
        else:
            total = filled  # a report naming no venue id of the order: taken for the order's
        o.venue_filled = max(o.venue_filled, total)

    def _venue_order_status(
        self,
        o: _Order,
        vid: str,
        report: OrderStatusReport | None,
        now_ns: int,
        asked_ns: int,
        acts: list[Action],
    ) -> None:
        """The answer to a query of one venue order of ``o`` by its id: its fills go through
        the ledger and its filled size and finality are noted; the order's state is left to
        reports about its latest venue order."""
        if report is None:
            # the venue does not know that venue order: once past the grace a venue may lag
            # by, there is nothing more to learn about it
            if asked_ns - o.submitted_ns >= self.config.not_found_grace_ns:
                o.add_final(vid)
            self._check_gap(o, now_ns)
            return
        for fill in report.fills:
            self._ingest_fill(fill, now_ns, acts)
        rid = report.venue_order_id or vid
        if rid not in o.venue_ids:
            self._set_venue_id(o, rid, now_ns, acts)
        self._record(o, rid, report.status, report.filled)
        self._check_gap(o, now_ns)
        if o.venue_filled > self._fills(o).filled:
            acts.append(FetchFills(o.request.symbol, self._since(o)))

    def _unsettled(self, o: _Order) -> list[str]:
        """The venue ids of an order not answered for otherwise, other than its current one,
        without a final report."""
        ids = o.venue_ids
        if (
            len(ids) < 2
            or o.state is _T.FILLED
            or o.state is _T.REJECTED
            or o.state is _T.NOT_FOUND
        ):
            return []  # one venue id is the current one: the query by client id answers for it
        return [v for v in ids if v != o.venue_order_id and v not in o.id_final]

    def _venue_status(
        self, o: _Order, vid: str | None, status: OrderStatus, filled: Decimal, now_ns: int,
        acts: list[Action],
    ) -> None:  # fmt: skip
        if o.last_venue_status is None or not o.last_venue_status.is_terminal or status.is_terminal:
            o.last_venue_status = status  # a stale live report never hides a final one
        self._record(o, vid, status, filled)
        if status is OrderStatus.FILLED:
            o.venue_filled = max(o.venue_filled, o.request.size)
        complete = self._fills(o).is_complete
        if status in _VENUE_TERMINAL:
            target = _T.FILLED if complete else _VENUE_TERMINAL[status]
        else:
            target = self._live_target(o)
            if o.state is _T.PENDING_CANCEL and target is not _T.FILLED:
                target = _T.PENDING_CANCEL  # the cancel has not reached the venue yet
        if o.state.is_terminal and o.state is not _T.NOT_FOUND and target is not _T.FILLED:
            target = o.state  # a stale or redundant report about a finished order
        before = o.state
        self._move(o, target, now_ns, acts, f"venue: {status}")
        if o.state is _T.REJECTED and before is not _T.REJECTED:
            acts.append(Reconcile("rejection"))
        self._check_gap(o, now_ns)

    def _move(
        self, o: _Order, target: TrackedState, now_ns: int, acts: list[Action], why: str
    ) -> None:
        old = o.state
        if target is old:
            return
        if target not in TRANSITIONS[old]:
            self._anomaly(now_ns, "invalid_transition", o.request.client_id,
                          f"{old} -> {target} ({why})")  # fmt: skip
            return
        o.state = target
        o.history.append((now_ns, target))
        if target in TERMINAL_STATES:
            o.terminal_ns = now_ns
            o.query_due_ns = None
            # (one venue id is the current one: nothing replaced can owe a report)
            if len(o.venue_ids) > 1 and o.gap_since_ns is None and self._unsettled(o):
                o.gap_since_ns = now_ns  # a replaced venue order still owes its final report
        else:
            o.terminal_ns = None
        if o.inflight == "new" and target not in _UNANSWERED:
            o.inflight = None
        acts.append(OrderChanged(o.request.client_id, old, target))

    def _query(self, o: _Order, now_ns: int, acts: list[Action]) -> None:
        acts.append(QueryStatus(o.request.client_id, o.request.symbol))
        # asked again unless an answer arrives first (on_status clears it)
        o.query_due_ns = None if o.state.is_terminal else now_ns + self.config.requery_interval_ns

    def _check_gap(self, o: _Order, now_ns: int, filled: Decimal | None = None) -> None:
        """Starts (or ends) the wait for fills the venue reported and the ledger lacks — or
        for the final report of a venue order a modify replaced — that the timer asks for
        again with a growing pause."""
        if o.venue_filled > (
            self._fills(o).filled if filled is None else filled
        ) or self._unsettled(o):
            if o.gap_since_ns is None:
                o.gap_since_ns = now_ns
        else:
            o.gap_since_ns = None
            o.gap_attempts = 0

    def _forget(self, o: _Order, now_ns: int, acts: list[Action]) -> None:
        cid = o.request.client_id
        if o.gap_since_ns is not None:
            self._anomaly(now_ns, "fills_missing", cid, f"venue filled {o.venue_filled}")
            acts.append(Reconcile("fills_missing"))
        final = self._snapshot(o)
        self._ledger.forget_order(self.venue, cid)
        del self._orders[cid]
        # Its venue ids keep resolving while the final record is kept: a late copy of one of
        # its fills that names only a venue id is then recognised as counted.
        self._final_venue_ids[cid] = o.venue_ids
        self._final[cid] = final
        while len(self._final) > self.config.max_final_records:
            old, _ = self._final.popitem(last=False)
            self._applied.pop(old, None)
            for vid in self._final_venue_ids.pop(old, ()):
                if self._by_venue_id.get(vid) == old:
                    del self._by_venue_id[vid]

    def _resolve(self, client_id: str, venue_order_id: str | None) -> str:
        """The client id an input is about: its own when it names a live order, else the
        owner of its venue id (live or kept final), else its own."""
        if client_id in self._orders or not venue_order_id:
            return client_id
        return self._by_venue_id.get(venue_order_id, client_id)

    def _find(
        self, client_id: str, venue_order_id: str | None, now_ns: int, what: str
    ) -> _Order | None:
        cid = self._resolve(client_id, venue_order_id)
        o = self._orders.get(cid)
        if o is None and cid not in self._final:
            self._anomaly(now_ns, "unknown_order", client_id, what)
        return o

    @staticmethod
    def _replaced(o: _Order, venue_order_id: str | None) -> bool:
        """True when ``venue_order_id`` is one the order had before a modify replaced it."""
        return venue_order_id in o.replaced_ids

    def _set_venue_id(
        self, o: _Order, venue_order_id: str, now_ns: int, acts: list[Action],
        *, current: bool = False,
    ) -> None:  # fmt: skip
        """Records a venue id of the order: the first one known, or (``current``, from a modify
        answer) its new current id. Every id it has had keeps resolving to it, and fills
        buffered under a newly learned id are applied."""
        if not venue_order_id:
            return
        cid = o.request.client_id
        owner = self._by_venue_id.get(venue_order_id)
        if owner is not None and owner != cid:
            self._anomaly(now_ns, "venue_id_conflict", cid,
                          f"venue id {venue_order_id!r} belongs to {owner!r}")  # fmt: skip
            return
        previous = o.venue_order_id
        if current and previous is not None and previous != venue_order_id:
            o.add_replaced(previous)
            if previous not in o.id_final:
                # The venue cancelled it in the replacement: what it filled is final now, and
                # only a query naming it says so (the stream may have lost its last fills).
                acts.append(QueryStatus(cid, o.request.symbol, previous))
                if o.gap_since_ns is None:
                    o.gap_since_ns = now_ns
        if o.venue_order_id is None or current:
            o.venue_order_id = venue_order_id
            o.drop_replaced(venue_order_id)
        if owner is not None:
            return
        self._by_venue_id[venue_order_id] = cid
        o.venue_ids.append(venue_order_id)
        keys = [k for k, f in self._unmatched.items() if f.venue_order_id == venue_order_id]
        self._replay(keys, now_ns, acts)

    def _replay(
        self, keys: list[tuple[str, str, int | str]], now_ns: int, acts: list[Action]
    ) -> None:
        """Applies buffered fills again. A replayed fill can teach a venue id that replays
        others first, so a key may already be gone."""
        for key in keys:
            fill = self._unmatched.pop(key, None)
            if fill is not None:
                self._ingest_fill(fill, now_ns, acts)

    def _live_target(self, o: _Order) -> TrackedState:
        fills = self._fills(o)
        if fills.is_complete:
            return _T.FILLED
        return _T.PARTIALLY_FILLED if fills.filled > 0 else _T.OPEN

    def _since(self, o: _Order) -> int:
        return max(o.submitted_ns - self.config.reconnect_margin_ns, 0)

    def _fills(self, o: _Order) -> OrderFills:
        fills = self._ledger.order(self.venue, o.request.client_id)
        if fills is None:  # only after forget_order, and then _Order is gone
            raise RuntimeError(f"order {o.request.client_id!r} is not registered in the ledger")
        return fills

    def _snapshot(self, o: _Order, f: OrderFills | None = None) -> TrackedOrder:
        return _build_snapshot(
            o.request, o.venue_order_id, o.state, self._fills(o) if f is None else f,
            o.last_venue_status, o.venue_filled, tuple(o.history),
        )  # fmt: skip

    def _anomaly(self, now_ns: int, kind: str, client_id: str | None, detail: str) -> None:
        self._anomalies.append(Anomaly(now_ns, kind, client_id, detail))


def _build_snapshot(
    request: OrderRequest,
    venue_order_id: str | None,
    state: TrackedState,
    f: OrderFills,
    last_venue_status: OrderStatus | None,
    venue_filled: Decimal,
    history: tuple[tuple[int, TrackedState], ...],
) -> TrackedOrder:
    """A :class:`TrackedOrder` from an order's fields and its fills as the ledger gave them."""
    return TrackedOrder(
        request=request, venue_order_id=venue_order_id, state=state,
        filled=f.filled, avg_price=f.avg_price, fees=f.fees, maker_size=f.maker_size,
        remaining=f.remaining, fill_count=f.fill_count,
        last_venue_status=last_venue_status, venue_filled=venue_filled, history=history,
    )  # fmt: skip


_REQUESTS = frozenset({QueryStatus, FetchFills, Reconcile})


def _dedupe(acts: list[Action]) -> list[Action]:
    """Drops repeated requests (notifications are kept, in order)."""
    n = len(acts)
    if n < 2 or (n == 2 and (type(acts[0]) not in _REQUESTS or type(acts[1]) not in _REQUESTS)):
        return acts  # fewer than two requests: nothing can repeat (the usual fill: no request)
    requests = 0
    for a in acts:
        if type(a) in _REQUESTS:
            requests += 1
    if requests < 2:
        return acts  # nothing can repeat
    seen: set[Action] = set()
    out: list[Action] = []
    for a in acts:
        if isinstance(a, (QueryStatus, FetchFills, Reconcile)):
            if a in seen:
                continue
            seen.add(a)
        out.append(a)
    return out
