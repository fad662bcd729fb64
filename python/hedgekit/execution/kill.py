"""The kill switch: cancel everything of ours, flatten every venue, and stay latched.

A kill switch that only stops new opens leaves the positions on; this one takes them off.
:meth:`KillSwitch.engage` latches first (an :class:`~hedgekit.execution.AtomicExecutor` given the
switch refuses every open from that moment), then works in rounds until each venue confirms it:

1. every order resting at each venue (its open-orders list: orders of this process, of another
   process, of one that died) and every order our sessions know that may still trade is
   cancelled and settled (an order in doubt stays in doubt until a status query answers for
   it — it is never assumed gone);
2. every venue's positions are read from the venue itself (the venue is the truth, not our
   ledger);
3. every position that is not flat is closed by reduce-only protected IOCs (a reduce-only order
   can never open anything, whatever raced it);
4. a venue counts as flat only when, with all of our orders answered for, its open-orders list
   is empty and its positions show nothing but dust (a remainder below the venue's minimum
   order, which no order can close).

Rounds repeat, with a growing pause that waits out a rate-limit backoff, until every venue is
confirmed flat or ``deadline_s`` has passed; the report says which venues are flat, what was
cancelled and traded, and what was left. With a journal the kill is an operation of its own
(kind ``"kill"``): every order is journalled before it is sent, each round is a ``note``, the
report is the result. The switch stays latched until released.

The latch lives in the journal, so that a process started later (or running beside the one that
engaged it: ``hedgekit kill`` from a terminal) sees it: a kill operation that started after the
last release (an operation of kind ``"kill_release"``) means latched.
:meth:`KillSwitch.refresh` reads it (an :class:`~hedgekit.execution.AtomicExecutor` given a
switch with a journal refreshes it before every open, and refuses the open when the journal
cannot say); :meth:`KillSwitch.unlatch` records a release there.

The venues' own dead-man switches (Hyperliquid ``scheduleCancel``, Aster ``countdownCancelAll``)
belong to the live adapters; this is the part that works on every venue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError, KillSwitchEngagedError, VenueError
from hedgekit.execution.config import ExecutionMode, OrderConfig
from hedgekit.execution.operation import OperationExecutor, OperationTap
from hedgekit.execution.order import OrderExecutor, settle_until_answered
from hedgekit.execution.recorder import JournalLike, OperationRecorder, finish_recording
from hedgekit.model import Side
from hedgekit.tracking import VenueSession

__all__ = [
    "RELEASE_KIND",
    "KillConfig",
    "KillReport",
    "KillSwitch",
    "LatchJournal",
    "LatchState",
    "VenueKill",
    "read_latch",
    "release_latch",
]

_log = logging.getLogger(__name__)
_ZERO = Decimal(0)
_S = 1_000_000_000


RELEASE_KIND = "kill_release"
"""The journal operation kind of a release (a kill is kind ``"kill"``)."""


@runtime_checkable
class LatchJournal(JournalLike, Protocol):
    """What reading the latch needs of a journal (:class:`hedgekit.journal.Journal` has it)."""

    async def operations(
        self, *, since_ns: int | None = None, until_ns: int | None = None, kind: str | None = None
    ) -> Any: ...

    async def events(self, op_id: str | None = None, *, event: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class LatchState:
    """The latch as a journal holds it.

    Attributes:
        latched: A kill started after the last release.
        reason: The latest kill's reason (``None`` when released or never engaged).
        op_id: The latest kill's operation id, or the latest release's when released.
    """

    latched: bool
    reason: str | None
    op_id: str | None


async def read_latch(journal: LatchJournal) -> LatchState:
    """The latch state ``journal`` holds: latched when its latest ``"kill"`` operation started
    after its latest ``"kill_release"`` (in the journal's commit order), whether or not that kill
    finished.

    Raises:
        hedgekit.journal.JournalError: The journal could not be read.
    """
    kills = await journal.operations(kind="kill")
    releases = await journal.operations(kind=RELEASE_KIND)
    if not kills:
        return LatchState(False, None, releases[-1].op_id if releases else None)
    kill = kills[-1]
    reason = str(kill.params.get("reason") or "kill switch")
    if not releases:
        return LatchState(True, reason, kill.op_id)
    release = releases[-1]

    async def seq(op_id: str) -> int:
        starts = await journal.events(op_id, event="start")
        return int(starts[0].seq) if starts else -1

    latched = await seq(kill.op_id) > await seq(release.op_id)
    return LatchState(latched, reason if latched else None, (kill if latched else release).op_id)


async def release_latch(
    journal: JournalLike,
    reason: str,
    *,
    released: str | None = None,
    venues: list[str] | None = None,
    ts_ns: int | None = None,
) -> str:
    """Records a release of the latch in ``journal`` (an operation of kind ``"kill_release"``,
    finished at once): every switch that reads the journal is released by it.

    Args:
        journal: The journal the bots read the latch from.
        reason: Why (journalled).
        released: The reason of the latch it releases, when known.
        venues: The venues concerned (journalled as the operation's legs).
        ts_ns: When (default: now).

    Returns:
        The release's operation id.

    Raises:
        hedgekit.journal.JournalError: The release could not be written.
    """
    if not isinstance(reason, str) or not reason:
        raise ValueError("reason must be a non-empty string")
    record = {"reason": reason, "released": released}
    legs = [{"venue": name} for name in venues or []]
    op_id = await journal.start_operation(RELEASE_KIND, legs, record, ts_ns=ts_ns)
    await journal.finish_operation(op_id, "released", record, ts_ns=ts_ns)
    return op_id


@dataclass(frozen=True, slots=True)
class KillConfig:
    """How hard the kill switch tries.

    Attributes:
        deadline_s: Rounds repeat until every venue is confirmed flat or this much time has
            passed (the switch stays latched either way).
        settle_timeout_s: Per round, how long cancels are repeated until every order is
            answered for.
        read_timeout_s: Per positions read (``None``: the session's request timeout).
        flatten: The reduce-only order configuration (protected IOCs by default).
        pause_s: The first pause between rounds (doubling to ``max_pause_s``; a rate-limit
            backoff is always waited out).
        max_pause_s: The longest pause between rounds.
    """

    deadline_s: float = 60.0
    settle_timeout_s: float = 5.0
    read_timeout_s: float | None = None
    flatten: OrderConfig = field(
        default_factory=lambda: OrderConfig(
            mode=ExecutionMode.MARKET_ONLY, market_protection_bps=Decimal(100)
        )
    )
    pause_s: float = 0.25
    max_pause_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("deadline_s", "settle_timeout_s", "pause_s", "max_pause_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and value != float("inf")):
                raise ValueError(
                    f"{name} must be a positive finite number of seconds, got {value!r}"
                )
        if self.read_timeout_s is not None and not self.read_timeout_s > 0:
            raise ValueError(f"read_timeout_s must be positive, got {self.read_timeout_s!r}")


@dataclass(slots=True)
class VenueKill:
    """What the kill switch did on one venue.

    Attributes:
        venue: The venue.
        flat: A read after every order of ours there was answered for found nothing but dust.
        positions: The last positions read from the venue (signed size by symbol; flat
            symbols left out), or ``None`` if no read ever succeeded.
        dust: Remainders below the venue's minimum order (no order can close them).
        cancelled: Client ids of our orders the switch cancelled and settled.
        unresolved: Client ids of orders still in doubt at the end (neither confirmed live nor
            ended: only a status query can tell).
        traded: Size the flattening orders filled, by symbol.
        errors: What went wrong on the way (reads refused or unanswered, orders refused).
        adopted: Client ids of orders found resting at the venue that this process had not
            placed (they were tracked, then cancelled like our own).
        resting: Orders the venue's last open-orders read that answered listed (``None`` if
            none answered).
    """

    venue: str
    flat: bool = False
    positions: dict[str, Decimal] | None = None
    dust: dict[str, Decimal] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    traded: dict[str, Decimal] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    resting: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (decimals as strings)."""
        return {
            "venue": self.venue,
            "flat": self.flat,
            "positions": None
            if self.positions is None
            else {k: str(v) for k, v in self.positions.items()},
            "dust": {k: str(v) for k, v in self.dust.items()},
            "cancelled": list(self.cancelled),
            "unresolved": list(self.unresolved),
            "traded": {k: str(v) for k, v in self.traded.items()},
            "errors": list(self.errors),
            "adopted": list(self.adopted),
            "resting": self.resting,
        }


@dataclass(frozen=True, slots=True)
class KillReport:
    """The outcome of one :meth:`KillSwitch.engage`.

    Attributes:
        reason: Why the switch was engaged.
        flat: Every venue confirmed flat and nothing of ours left resting or in doubt.
        venues: Per venue, what was done and found.
        rounds: How many rounds it took.
        started_ns: When it was engaged.
        ended_ns: When the last round ended.
        op_id: The kill's operation id in the journal (``None`` without a journal).
    """

    reason: str
    flat: bool
    venues: Mapping[str, VenueKill]
    rounds: int
    started_ns: int
    ended_ns: int
    op_id: str | None = None

    @property
    def status(self) -> str:
        """``"flat"`` or ``"not_flat"``."""
        return "flat" if self.flat else "not_flat"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the journal's result record)."""
        return {
            "reason": self.reason,
            "status": self.status,
            "rounds": self.rounds,
            "started_ns": self.started_ns,
            "ended_ns": self.ended_ns,
            "venues": {name: v.to_dict() for name, v in self.venues.items()},
        }


class KillSwitch(OperationExecutor):
    """Cancels every order of ours, flattens every venue reduce-only until each confirms it,
    and stays latched (no new opens) until released.

    Give the same switch to :class:`~hedgekit.execution.AtomicExecutor` (``kill_switch=``) so
    its opens are refused while the switch is latched.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name (every
            venue to flatten).
        clock: Our clock (default: the first session's).
        id_prefix: Prefix of the flattening orders' client ids.
        journal: Where the kill is recorded as an operation of kind ``"kill"``.
        config: Deadlines, order configuration and pauses.
    """

    def __init__(
        self,
        sessions: Mapping[str, VenueSession],
        *,
        clock: Clock | None = None,
        id_prefix: str = "hk",
        journal: JournalLike | None = None,
        config: KillConfig | None = None,
    ) -> None:
        super().__init__(
            sessions, clock=clock, id_prefix=id_prefix, journal=journal, starts_per_turn=None
        )
        self.config = config or KillConfig()
        self._reason: str | None = None
        self._in_journal = False  # the latch is the journal's: a release there releases it
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        state = f"latched ({self._reason})" if self._reason is not None else "released"
        return f"KillSwitch({', '.join(self.sessions)}: {state})"

    @property
    def latched(self) -> bool:
        """True from the first :meth:`engage` until :meth:`release`."""
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        """Why the switch is latched (``None`` when released)."""
        return self._reason

    def check(self) -> None:
        """Raises while latched.

        Raises:
            KillSwitchEngagedError: The switch is latched.
        """
        if self._reason is not None:
            raise KillSwitchEngagedError(f"kill switch engaged: {self._reason}")

    def latch(self, reason: str) -> None:
        """Latches the switch without flattening anything: no new opens until
        :meth:`release` (a halt that leaves the positions for a person to judge)."""
        if not isinstance(reason, str) or not reason:
            raise ValueError("reason must be a non-empty string")
        if self._reason is None:
            _log.warning("kill switch latched: %s", reason)
        self._reason = reason

    def release(self) -> None:
        """Unlatches the switch in this process: opens are allowed again. Positions are not
        touched. A latch the journal holds comes back at the next :meth:`refresh`: release it
        with :meth:`unlatch`."""
        if self._reason is not None:
            _log.warning("kill switch released (was engaged: %s)", self._reason)
        self._reason = None
        self._in_journal = False

    def _latch_journal(self) -> LatchJournal:
        journal = self.journal
        if not isinstance(journal, LatchJournal):
            raise TypeError("the kill switch's latch needs a journal that can be read")
        return journal

    async def refresh(self) -> LatchState | None:
        """Reads the latch from the journal and follows it: latched when the journal says so
        (a kill engaged by another process), released when the journal's release is newer than
        the latch it held. A latch of this process's own that the journal never held
        (:meth:`latch`, or an engage without a journal) is kept. Without a journal, nothing.

        Returns:
            The journal's latch state (``None`` without a journal).

        Raises:
            hedgekit.journal.JournalError: The journal could not be read (the latch is left
                as it was).
            TypeError: The journal cannot be read (it has no ``operations``/``events``).
        """
        if self.journal is None:
            return None
        state = await read_latch(self._latch_journal())
        if state.latched:
            if self._reason is None:
                _log.warning("kill switch latched by the journal: %s", state.reason)
            self._reason = state.reason
            self._in_journal = True
        elif self._in_journal:
            _log.warning("kill switch released by the journal (was engaged: %s)", self._reason)
            self._reason = None
            self._in_journal = False
        return state

    async def unlatch(self, reason: str = "manual") -> str | None:
        """Releases the switch here and, with a journal, in the journal (an operation of kind
        ``"kill_release"``): every switch that reads the journal sees the release.

        Args:
            reason: Why (journalled).

        Returns:
            The release's operation id in the journal (``None`` without a journal).

        Raises:
            hedgekit.journal.JournalError: The release could not be written (the switch stays
                latched in the journal; here it is released).
        """
        if not isinstance(reason, str) or not reason:
            raise ValueError("reason must be a non-empty string")
        was = self._reason
        self.release()
        if self.journal is None:
            return None
        return await release_latch(
            self.journal, reason, released=was, venues=list(self.sessions),
            ts_ns=self.clock.now_ns(),
        )  # fmt: skip

    async def engage(self, reason: str = "manual") -> KillReport:
        """Latches the switch, then cancels and flattens until every venue confirms flat or the
        deadline passes. Engaging again while a kill runs waits for it and runs another.

        Args:
            reason: Why (journalled, shown in refusals).

        Returns:
            What was done on each venue and whether everything is flat.

        Raises:
            hedgekit.execution.recorder.JournalWriteError: With a journal, the kill's intent
                could not be written (the switch is latched regardless and nothing was sent) or
                its records could not be flushed (the report is attached).
        """
        if not isinstance(reason, str) or not reason:
            raise ValueError("reason must be a non-empty string")
        self._reason = reason  # latched before anything else: no open starts after this line
        _log.warning("kill switch engaged: %s", reason)
        async with self._lock:
            recorder = None
            if self.journal is not None:
                recorder = await OperationRecorder.start(
                    self.journal,
                    "kill",
                    [{"venue": name} for name in self.sessions],
                    {"reason": reason, "id_prefix": self.id_prefix},
                    self.clock,
                )
                self._in_journal = True
            try:
                report = await self._run(reason, recorder)
            except BaseException:
                if recorder is not None:
                    await recorder.close()
                raise
            if recorder is not None:
                report = KillReport(
                    report.reason, report.flat, report.venues, report.rounds,
                    report.started_ns, report.ended_ns, recorder.op_id,
                )  # fmt: skip
                await finish_recording(recorder, report.status, report)
            return report

    # ----------------------------------------------------------------------------- rounds
    async def _run(self, reason: str, recorder: OperationRecorder | None) -> KillReport:
        cfg, clock = self.config, self.clock
        start = clock.now_ns()
        end_ns = start + int(cfg.deadline_s * _S)
        tap = OperationTap(self.sessions, recorder=recorder)
        venues = {name: VenueKill(name) for name in self.sessions}
        rounds = 0
        pause = cfg.pause_s
        try:
            while True:
                rounds += 1
                await self._round(tap, venues, end_ns, recorder, rounds)
                left_s = (end_ns - clock.now_ns()) / _S
                if all(v.flat for v in venues.values()) or left_s <= 0:
                    break
                backoff = max(s.backoff_s() for s in self.sessions.values())
                await asyncio.sleep(min(max(pause, backoff), left_s))
                pause = min(2 * pause, cfg.max_pause_s)
        finally:
            tap.close()
        for name, v in venues.items():
            v.unresolved = [
                cid for cid in self._ours(name) if not self.sessions[name].tracker.is_resolved(cid)
            ]
            v.flat = v.flat and not v.unresolved
        flat = all(v.flat for v in venues.values())
        log = _log.warning if flat else _log.error
        log(
            "kill switch (%s): %s after %d round(s)",
            reason,
            "every venue flat" if flat else "NOT flat",
            rounds,
        )
        return KillReport(reason, flat, venues, rounds, start, clock.now_ns())

    def _ours(self, venue: str) -> list[str]:
        """Our orders on ``venue`` that may still trade or are not answered for yet."""
        tracker = self.sessions[venue].tracker
        return [cid for cid in tracker.all_client_ids() if not tracker.is_resolved(cid)]

    async def _round(
        self,
        tap: OperationTap,
        venues: Mapping[str, VenueKill],
        end_ns: int,
        recorder: OperationRecorder | None,
        number: int,
    ) -> None:
        cfg, clock = self.config, self.clock
        # 0. What rests at each venue, whoever placed it: orders we do not know are tracked.
        await asyncio.gather(*(self._discover(name, venues[name]) for name in self.sessions))
        # 1. Cancel and settle every order of ours that may still trade.
        for name in self.sessions:
            for cid in self._ours(name):
                tap.watch(name, cid, "resting")
                if cid not in venues[name].cancelled:
                    venues[name].cancelled.append(cid)

        def live() -> list[tuple[OrderExecutor, str]]:
            return [
                (self.executors[name], cid) for name in self.sessions for cid in self._ours(name)
            ]

        settle_end = min(end_ns, clock.now_ns() + int(cfg.settle_timeout_s * _S))
        await settle_until_answered(clock, live, settle_end, tap)
        # 2. Read every venue's positions, 3. flatten what is not flat.
        await asyncio.gather(
            *(self._flatten(name, venues[name], tap, end_ns) for name in self.sessions)
        )
        if recorder is not None:
            recorder.add(
                "note",
                {"kill_round": number, "venues": {n: v.to_dict() for n, v in venues.items()}},
            )

    async def _discover(self, name: str, v: VenueKill) -> None:
        """Reads the venue's resting orders and tracks those this process does not know."""
        session = self.sessions[name]
        try:
            reports = await session.fetch_open_orders(self.config.read_timeout_s)
        except (AttributeError, NotImplementedError) as exc:
            # A venue adapter that cannot list resting orders: only the orders this process
            # knows were cancelled, and the report says so.
            note = f"cannot list resting orders ({exc!r}): only orders this process knows"
            if note not in v.errors:
                v.errors.append(note)
            v.resting = 0
            return
        except (VenueError, TimeoutError) as exc:
            # The last read that answered still stands: what it listed is being cancelled, and
            # only a read that lists nothing confirms the venue clear.
            v.errors.append(f"open orders read failed: {exc!r}")
            return
        v.resting = len(reports)
        tracker = session.tracker
        for report in reports:
            cid = report.client_id
            if tracker.get(cid) is None:
                try:
                    session.adopt(report)
                except ValueError as exc:
                    v.errors.append(f"{cid}: cannot track: {exc}")
                    continue
                v.adopted.append(cid)
                _log.warning(
                    "kill switch: %s %s rests at %s: cancelling it", cid, report.side, name
                )
            elif tracker.is_resolved(cid):
                # The venue says it rests while our record says it ended: cancel it there
                # directly (the next round's read tells whether it is gone).
                v.errors.append(f"{cid}: resting at the venue, ended by our record")
                try:
                    async with asyncio.timeout(session.request_timeout_s):
                        await session.venue.cancel(report.symbol, client_id=cid)
                except (VenueError, TimeoutError) as exc:
                    v.errors.append(f"{cid}: cancel failed: {exc!r}")

    async def _flatten(self, name: str, v: VenueKill, tap: OperationTap, end_ns: int) -> None:
        session = self.sessions[name]
        v.flat = False
        try:
            positions = await session.fetch_positions(self.config.read_timeout_s)
        except (VenueError, TimeoutError) as exc:
            v.errors.append(f"positions read failed: {exc!r}")
            return
        open_ = {sym: p.size for sym, p in positions.items() if p.size != 0}
        v.positions = open_
        v.dust = {}
        to_close: dict[str, Decimal] = {}
        for sym, size in open_.items():
            if self.executors[name].unwind_is_dust(
                sym, size, self.config.flatten.market_protection_bps
            ):
                v.dust[sym] = size
            else:
                to_close[sym] = size
        pending = self._ours(name)
        if not to_close:
            # Confirmed only when nothing there can still trade: the round's open-orders read
            # found nothing resting and every order of ours is answered for; else the next
            # round's reads, after those orders are answered for, decide.
            v.flat = not pending and v.resting == 0
            return
        ex = self.executors[name]
        for sym, size in to_close.items():
            left_s = (end_ns - self.clock.now_ns()) / _S
            if left_s <= 0:
                return
            side = Side.SELL if size > 0 else Side.BUY
            try:
                result = await ex.execute(
                    sym, side, abs(size), self.config.flatten, reduce_only=True,
                    deadline_s=left_s, tag="k", observer=tap, role="kill",
                )  # fmt: skip
            except (HedgekitError, KeyError, ValueError) as exc:
                v.errors.append(f"{sym}: flatten failed: {exc!r}")
                continue
            if result.filled > 0:
                v.traded[sym] = v.traded.get(sym, _ZERO) + result.filled
            if not result.complete and result.reason:
                v.errors.append(f"{sym}: {result.reason}")
