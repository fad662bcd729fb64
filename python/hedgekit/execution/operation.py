"""What one operation did: :class:`OperationTap` attributes every order and fill to it (and to
its journal record), :func:`build_leg` turns a leg's fills into its result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from hedgekit.clock import Clock
from hedgekit.execution.admission import Admission, MarginHolds, SharedReads
from hedgekit.execution.order import OrderExecutor, settle_until_answered
from hedgekit.execution.recorder import JournalLike, MarkoutRecorder, OperationRecorder
from hedgekit.execution.results import LegResult, tidy
from hedgekit.model import CancelResult, Fill, OrderRequest, Side
from hedgekit.tracking import TrackedOrder, VenueSession

__all__ = ["OperationExecutor", "OperationTap", "build_leg"]

_ZERO = Decimal(0)
_BUY = Side.BUY
DEFAULT_STARTS_PER_TURN = 4  # measured: docs/decisions.md, "Admission"


class OperationTap:
    """Collects the fills of one operation's orders from every session, as the ledger applies
    them (so each fill exactly once), and wakes the operation on the first one.

    Args:
        sessions: The sessions by venue name.
        threshold: Filled size on one venue that counts as "the first fill" (0: any fill).
    """

    def __init__(
        self,
        sessions: Mapping[str, VenueSession],
        threshold: Decimal = _ZERO,
        recorder: OperationRecorder | None = None,
    ) -> None:
        self._sessions = sessions
        self._threshold = threshold
        self._cids: dict[tuple[str, str], str] = {}
        self._by_venue: dict[str, list[str]] = {name: [] for name in sessions}
        self._keys: set[tuple[str, str, int | str]] = set()
        self.fills: list[Fill] = []
        self.first = asyncio.Event()
        self.first_seen_ns: int | None = None
        """When the first fill was counted (read once its reaction has started)."""
        self.first_venue: str | None = None
        """The venue whose fill was the first fill."""
        self.first_fill_ts_ns: int | None = None
        """The earliest venue time of the operation's fills (``None`` before any)."""
        self.on_first: Callable[[], None] | None = None
        self.recorder: OperationRecorder | None = recorder
        self.markouts: MarkoutRecorder | None = None
        self._placement_mid: dict[tuple[str, str], Decimal] = {}
        # Running totals, kept as fills are counted (the hedge path reads them without a scan).
        self._sizes: dict[str, Decimal] = {}
        self.nets: dict[str, Decimal] = {}
        """The signed size (buys positive) of the operation's fills per venue, kept as they are
        counted (read it, never write it: :meth:`net` reads one venue)."""
        # Per venue, a reading of its tracker's ``fills_applied`` up to which every fill of this
        # operation's orders there is counted here (-1: not known): while the counter still
        # reads the same, a read-back of that venue (:meth:`sync`) has nothing to find.
        self._synced: dict[str, int] = {
            name: session.tracker.fills_applied for name, session in sessions.items()
        }
        self._rewatched = 0  # how many orders began to be watched with fills already counted
        self._listeners = {name: self._listener(name) for name in sessions}
        self._closed = False
        self._fired = False

    def watch(self, venue: str, client_id: str, role: str) -> None:
        """Counts fills of ``client_id`` on ``venue`` for this operation (the tap listens to
        that order alone: its cost does not grow with other operations' orders)."""
        self._watch(venue, client_id, role, self._sessions[venue].tracker.has_fills(client_id))

    def _watch(self, venue: str, client_id: str, role: str, counted: bool = False) -> None:
        """:meth:`watch`; ``counted``: the ledger has fills of the order already (never for an
        order about to be sent, which the tracker does not know yet)."""
        key = (venue, client_id)
        cids = self._cids
        if key not in cids:
            if not self._closed:
                self._sessions[venue].add_fill_callback(self._listeners[venue], client_id=client_id)
            if counted:
                self._synced[venue] = -1  # fills counted before it was watched: read back
                self._rewatched += 1
            self._by_venue[venue].append(client_id)  # (a venue of the sessions: listed)
        cids[key] = role

    # The OrderObserver side: attribute and journal every order of the operation.
    async def order(self, venue: str, request: OrderRequest, role: str) -> None:
        """An order of this operation is about to be sent (journalled ahead when recording; an
        order the journal refuses is never watched, since it is never sent)."""
        if self.recorder is not None:
            await self.recorder.order(venue, request, role)
        self._watch(venue, request.client_id, role)  # new: no fills of it yet
        if self.markouts is not None:
            q = self._sessions[venue].venue.quote(request.symbol)
            if q is not None:
                self._placement_mid[(venue, request.client_id)] = q.mid

    def announce(self, venue: str, request: OrderRequest, role: str) -> bool:
        """What :meth:`order` does, done at once when there is nothing to await (no journal to
        write ahead): returns ``True`` when it is done, ``False`` when :meth:`order` must be
        awaited instead."""
        if self.recorder is not None:
            return False
        self._watch(venue, request.client_id, role)  # new: no fills of it yet
        if self.markouts is not None:
            q = self._sessions[venue].venue.quote(request.symbol)
            if q is not None:
                self._placement_mid[(venue, request.client_id)] = q.mid
        return True

    def answer(self, venue: str, order: TrackedOrder) -> None:
        """The venue answered one of this operation's placements."""
        if self.recorder is not None:
            self.recorder.answer(venue, order)

    def cancel_answer(self, venue: str, client_id: str, result: CancelResult) -> None:
        """A cancel of one of this operation's orders was answered."""
        if self.recorder is not None:
            self.recorder.cancel_answer(venue, client_id, result)

    def _listener(self, venue: str):  # type: ignore[no-untyped-def]
        # A fill callback: the tracker names the fill by the order's own client id, so no
        # order snapshot is needed here.
        tracker = self._sessions[venue].tracker
        cids = self._cids

        def on_fill(fill: Fill) -> None:
            if (venue, fill.client_id) in cids:
                self._add(venue, fill, tracker.fills_applied)

        return on_fill

    def _add(self, venue: str, fill: Fill, applied: int = -1) -> None:
        """Counts one ledger-accepted fill for the operation, once however often it is offered
        (by the fill listener, given its tracker's ``fills_applied`` as it notifies, and by
        :meth:`sync`). The operation's own state changes first (the running totals, then the
        first-fill reaction, which is queued before anything the first-fill event wakes);
        journalling and markouts come after and cannot lose the fill."""
        key = (venue, fill.client_id, fill.trade_id)
        keys = self._keys
        if key in keys:
            return
        keys.add(key)
        synced = self._synced
        if synced[venue] == applied - 1:  # (never for -1, the default: a reading is >= -1)
            # Every earlier fill of ours there was counted and this one, new here, is the only
            # fill the tracker has applied since: this one is the last there is.
            synced[venue] = applied
        self.fills.append(fill)
        size = fill.size
        named = fill.venue  # per venue as the fill names it
        net = self.nets
        net[named] = net.get(named, _ZERO) + (size if fill.side is _BUY else -size)
        ts = fill.ts_ns
        first_ts = self.first_fill_ts_ns
        if first_ts is None or ts < first_ts:
            self.first_fill_ts_ns = ts
        if not self._fired:  # the size filled per venue matters only until the first fill
            sizes = self._sizes
            total = sizes[venue] = sizes.get(venue, _ZERO) + size
            if total > self._threshold:
                # Marked before the reaction runs: a fill it counts itself (a hedge filling at
                # once) is never taken for another first fill.
                self._fired = True
                self.first_venue = venue
                if self.on_first is not None:
                    self.on_first()
                self.first_seen_ns = self._sessions[venue].clock.now_ns()
                self.first.set()
        recorder = self.recorder
        if recorder is not None:
            recorder.fill(fill)
            if self.markouts is not None:
                mid = self._placement_mid.get((venue, fill.client_id))
                self.markouts.fill(recorder.op_id, fill, mid)

    def sync(self, venue: str | None = None) -> int:
        """Reads back from the trackers every fill the ledger accepted for this operation's
        orders (on ``venue`` only, when given) and counts those not seen yet (a fill whose
        notification was lost to an error downstream of the ledger, or one that came in the same
        batch as a fill being handled right now). Returns how many were added."""
        if venue is not None:  # one venue: the hedge path's read-back
            tracker = self._sessions[venue].tracker
            applied = tracker.fills_applied
            synced = self._synced
            if synced.get(venue) == applied:
                return 0  # no fill since every one of ours there was counted
            before = len(self.fills)
            keys = self._keys
            rewatched = self._rewatched
            fills_of = tracker.fills
            for cid in list(self._by_venue.get(venue, ())):
                for fill in fills_of(cid):
                    if (venue, fill.client_id, fill.trade_id) not in keys:
                        self._add(venue, fill)
            if self._rewatched == rewatched:
                # Everything of ours applied up to the reading taken first is counted now
                # (unless an order with earlier fills began to be watched meanwhile).
                synced[venue] = applied
            return len(self.fills) - before
        before = len(self.fills)
        keys = self._keys
        for name, cid in list(self._cids):
            tracker = self._sessions[name].tracker
            for fill in tracker.fills(cid):
                if (name, fill.client_id, fill.trade_id) not in keys:
                    self._add(name, fill)
        return len(self.fills) - before

    def client_ids(self, venue: str) -> list[str]:
        """This operation's client ids on one venue, in the order they were sent."""
        return list(self._by_venue.get(venue, ()))

    def close(self) -> None:
        """Stops listening."""
        self._closed = True
        for venue, cid in self._cids:
            self._sessions[venue].remove_fill_callback(self._listeners[venue], client_id=cid)

    def of(self, venue: str) -> list[Fill]:
        """The operation's fills on one venue."""
        return [f for f in self.fills if f.venue == venue]

    def net(self, venue: str) -> Decimal:
        """The signed size (buys positive) of the operation's fills on one venue, kept as they
        are counted: the same as summing :meth:`of` without the scan."""
        return self.nets.get(venue, _ZERO)

    def sided(self, venue: str, side: Side) -> tuple[Decimal, Decimal, Decimal]:
        """Size, notional (price x size) and fees of the operation's fills of one side on one
        venue, summed in the order they were counted."""
        fills = [f for f in self.fills if f.venue == venue and f.side is side]
        return (
            sum((f.size for f in fills), _ZERO),
            sum((f.price * f.size for f in fills), _ZERO),
            sum((f.fee for f in fills), _ZERO),
        )


def build_leg(
    venue: str,
    symbol: str,
    side: Side,
    target: Decimal,
    fills: Sequence[Fill],
    arrival_mid: Decimal | None,
) -> LegResult:
    """A leg's result from its fills: ``filled``/``avg_price`` count fills in the leg's direction,
    ``net`` every fill signed, ``fees`` and ``maker_size`` every fill."""
    along = [f for f in fills if f.side is side]
    filled = sum((f.size for f in along), _ZERO)
    notional = sum((f.price * f.size for f in along), _ZERO)
    avg = None if filled == 0 else tidy(notional / filled)
    return LegResult(
        venue=venue,
        symbol=symbol,
        side=side,
        target=target,
        filled=filled,
        net=sum((f.side.sign * f.size for f in fills), _ZERO),
        avg_price=avg,
        fees=sum((f.fee for f in fills), _ZERO),
        maker_size=sum((f.size for f in fills if f.is_maker), _ZERO),
        arrival_mid=arrival_mid,
        fills=tuple(fills),
    )


class OperationExecutor:
    """What the pair executors share: the sessions, the clock, one
    :class:`~hedgekit.execution.OrderExecutor` per venue, the journal and the markouts.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name.
        clock: Our clock (default: the first session's).
        id_prefix: Prefix of generated client ids.
        journal: Where every operation's intent, orders, answers, fills, incidents and result
            are written before the operation returns (see :mod:`hedgekit.journal`).
        markouts: Samples the mid after each maker fill and journals the markouts (with a
            journal; the caller owns it and closes it).
        starts_per_turn: How many operations may start per event-loop turn (see
            :class:`~hedgekit.execution.admission.Admission`; ``None``: no limit). The others
            wait their turn, so a burst of operations never holds the loop.

    Raises:
        ValueError: No sessions, or ``starts_per_turn`` below 1.
    """

    def __init__(
        self,
        sessions: Mapping[str, VenueSession],
        *,
        clock: Clock | None = None,
        id_prefix: str = "hk",
        journal: JournalLike | None = None,
        markouts: MarkoutRecorder | None = None,
        starts_per_turn: int | None = DEFAULT_STARTS_PER_TURN,
    ) -> None:
        if not sessions:
            raise ValueError("at least one venue session is needed")
        self.sessions = dict(sessions)
        self.id_prefix = id_prefix
        """Prefix of the client ids this executor generates (journalled with each intent, so
        recovery can find orders by it)."""
        self.clock = clock or next(iter(sessions.values())).clock
        self.journal = journal
        self.markouts = markouts
        self.admission = Admission(starts_per_turn)
        """Lets operations start a few per loop turn (shared by every operation of this
        executor)."""
        self.reads = SharedReads()
        """The pre-flight's venue reads, shared by the operations that make them at once."""
        self.margin_holds = MarginHolds()
        """The initial margin this executor's running opens hold on each venue: every open's
        margin check counts what the others will use."""
        self.executors = {
            name: OrderExecutor(s, clock=self.clock, id_prefix=id_prefix)
            for name, s in self.sessions.items()
        }

    def live_orders(self, tap: OperationTap) -> list[tuple[str, str]]:
        """The operation's orders not answered for yet — live, in doubt, or ended without the
        venue's final report of their fills: ``(venue, client id)`` pairs."""
        out = []
        for venue in self.sessions:
            tracker = self.sessions[venue].tracker
            for cid in tap.client_ids(venue):
                if tracker.get(cid) is not None and not tracker.is_resolved(cid):
                    out.append((venue, cid))
        return out

    async def settle_orders(self, tap: OperationTap, timeout_s: float) -> list[tuple[str, str]]:
        """Cancels and settles every order of the operation that may still trade until the
        venues have answered for each one or ``timeout_s`` has passed (see
        :func:`~hedgekit.execution.order.settle_until_answered`), then reads back every fill the
        ledger accepted. Returns the ``(venue, client id)`` pairs still unresolved."""
        end_ns = self.clock.now_ns() + int(timeout_s * 1_000_000_000)

        def live() -> list[tuple[OrderExecutor, str]]:
            return [(self.executors[v], cid) for v, cid in self.live_orders(tap)]

        left = await settle_until_answered(self.clock, live, end_ns, tap)
        tap.sync()
        return [(ex.venue.name, cid) for ex, cid in left]
