"""``Runner``: hedgekit for a synchronous bot — an event loop on a thread of its own, and
thread-safe calls that hand back :class:`concurrent.futures.Future` objects.

hedgekit is asyncio throughout. A bot written as a plain loop (``while True: ...; sleep``) uses
it through a :class:`Runner`: the runner owns an event loop on a background thread (uvloop when
it is installed), builds the ledger, the clock and one
:class:`~hedgekit.tracking.VenueSession` per venue on that loop, connects and starts them, and
runs every operation there. Any thread may call :meth:`Runner.open` and :meth:`Runner.close`,
at once and as often as it likes; each call returns a future at once, and
``future.result(timeout)`` waits for the outcome from any thread.

Callbacks — an operation's completion (``on_done=``), every fill the ledger counts and every
fill a venue forces on us (:meth:`Runner.add_listener`) — run on the thread the bot chooses
(``deliver=``): the runner's loop thread (:attr:`Delivery.LOOP`: keep them short, never block),
a :class:`concurrent.futures.Executor` the bot gives, or the bot's own thread, when it drains a
queue with :meth:`Runner.poll_events` (:attr:`Delivery.QUEUE`).

:meth:`Runner.shutdown` (also the end of a ``with`` block) stops taking work, lets every
operation that has started finish under its own deadlines (cancelling an open half-way would not
unwind its fills: the executors' cancellation leaves what is filled where it is, so the runner
never cancels one that can still finish), refuses every open that has not started (nothing
placed), closes the sessions and the venues, stops the loop and joins the thread. See
``docs/runner.md``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import enum
import inspect
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from hedgekit._core import FillLedger
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import HedgekitError, RunnerClosedError, RunnerError, RunnerThreadError
from hedgekit.execution import (
    AtomicConfig,
    AtomicExecutor,
    AtomicResult,
    CloseConfig,
    CloseExecutor,
    CloseLeg,
    CloseResult,
    KillSwitch,
    LegSpec,
)
from hedgekit.model import Fill, FundingRate, Position
from hedgekit.tracking import TrackedOrder, VenueSession
from hedgekit.venues import Quote, Venue

__all__ = [
    "SHUTDOWN_REASON",
    "Delivery",
    "FillEvent",
    "ForcedFillEvent",
    "OperationDone",
    "Runner",
    "RunnerEvent",
    "RunnerFuture",
    "VenueSource",
]

log = logging.getLogger("hedgekit.runner")

_T = TypeVar("_T")
_V = TypeVar("_V")

SHUTDOWN_REASON = "runner shutting down"
"""The kill-switch reason of an open refused because the runner was shutting down before it
started (its result: ``refused``, nothing placed)."""

_TEARDOWN_S = 10.0  # each session, venue and journal close; the leftover tasks' cancellation


class Delivery(enum.StrEnum):
    """Where callbacks run (an :class:`concurrent.futures.Executor` is the third choice)."""

    LOOP = "loop"
    """On the runner's loop thread, soon after the event (never inside hedgekit's own handling
    of it). A callback must not block: the loop drives every venue."""
    QUEUE = "queue"
    """On the bot's own thread: every event is queued, and :meth:`Runner.poll_events` returns
    them and runs their callbacks on the thread that calls it."""


@dataclass(frozen=True, slots=True)
class OperationDone:
    """An operation of the runner ended.

    Attributes:
        kind: ``"open"`` or ``"close"``.
        result: Its result (``None`` when it raised).
        error: What it raised (``None`` when it returned).
        future: The future :meth:`Runner.open` or :meth:`Runner.close` returned (done).
    """

    kind: str
    result: AtomicResult | CloseResult | None
    error: BaseException | None
    future: concurrent.futures.Future[Any]


@dataclass(frozen=True, slots=True)
class FillEvent:
    """The ledger counted a fill (each fill once, however often a venue sent it).

    Attributes:
        venue: The venue's name.
        fill: The fill.
    """

    venue: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class ForcedFillEvent:
    """A venue forced a fill on our position (a liquidation or an auto-deleverage).

    Attributes:
        venue: The venue's name.
        fill: The fill, as the ledger counted it.
        kind: ``"liquidation"`` or ``"adl"``.
    """

    venue: str
    fill: Fill
    kind: str


RunnerEvent = OperationDone | FillEvent | ForcedFillEvent
"""What a runner's listeners and :meth:`Runner.poll_events` receive."""

Listener = Callable[[RunnerEvent], None]

VenueSource = (
    Mapping[str, Venue]
    | Iterable[Venue]
    | Callable[[], Mapping[str, Venue] | Iterable[Venue] | Awaitable[Mapping[str, Venue]]]
)
"""The venues of a runner: a mapping by name, venues named by their ``name``, or a factory
(plain or async) called on the runner's loop that returns either — a venue that opens sockets
must be made on the loop that uses them."""


class RunnerFuture(concurrent.futures.Future[_T], Generic[_T]):
    """A :class:`concurrent.futures.Future` that refuses to be waited on from the runner's own
    loop thread (a wait there would stop the loop that must finish it): ``result()`` and
    ``exception()`` of a future not yet done raise :class:`~hedgekit.errors.RunnerThreadError`
    on that thread, and work as usual on every other thread."""

    def __init__(self, loop_thread: threading.Thread | None) -> None:
        super().__init__()
        self._loop_thread = loop_thread

    def _guard(self) -> None:
        if not self.done() and threading.current_thread() is self._loop_thread:
            raise RunnerThreadError(
                "waiting on a runner's future from its own loop thread would deadlock"
            )

    def result(self, timeout: float | None = None) -> _T:
        """The outcome, waiting at most ``timeout`` seconds (see
        :meth:`concurrent.futures.Future.result`).

        Raises:
            hedgekit.errors.RunnerThreadError: Not done, and called on the runner's loop thread.
        """
        self._guard()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """What the operation raised, waiting at most ``timeout`` seconds.

        Raises:
            hedgekit.errors.RunnerThreadError: Not done, and called on the runner's loop thread.
        """
        self._guard()
        return super().exception(timeout)


class _State(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(slots=True)
class _Op:
    kind: str
    future: RunnerFuture[Any]
    on_done: Listener | None
    emit: bool


def _default_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is an optional speed-up
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _named(venues: Mapping[str, Venue] | Iterable[Venue]) -> dict[str, Venue]:
    if isinstance(venues, Mapping):
        return dict(venues)
    out: dict[str, Venue] = {}
    for v in venues:
        if v.name in out:
            raise ValueError(f"two venues named {v.name!r}")
        out[v.name] = v
    return out


class Runner:
    """hedgekit behind a thread-safe, synchronous front: an event loop on a background thread,
    the venues' sessions on it, and futures for every operation.

    Use it in a ``with`` block (or call :meth:`start` and :meth:`shutdown`)::

        with Runner(venues) as runner:
            result = runner.open(legs, Decimal("0.5")).result(timeout=60)

    Args:
        venues: The venues (see :data:`VenueSource`); the runner connects them on start and
            closes them on shutdown.
        clock: The clock of the sessions and executors (default: a
            :class:`~hedgekit.clock.LoopClock` of the runner's loop).
        journal: A journal URL (:func:`hedgekit.journal.open_journal`): every operation is
            journalled; the runner opens the journal on its loop and closes it on shutdown.
        open_config: The default configuration of :meth:`open` (``AtomicConfig()``).
        close_config: The default configuration of :meth:`close` (``CloseConfig()``).
        deliver: Where callbacks run: :attr:`Delivery.LOOP` (default), :attr:`Delivery.QUEUE`,
            or an :class:`concurrent.futures.Executor` (the caller owns it: it must outlive the
            runner's shutdown, whose last events it receives).
        loop_factory: Makes the runner's event loop, on the runner's thread (default: uvloop
            when installed, else asyncio's; a
            :class:`~hedgekit.clock.VirtualTimeLoop` runs the venues on virtual time).
        id_prefix: Prefix of the client ids the executors generate.

    Raises:
        ValueError: ``deliver`` is neither a :class:`Delivery` nor an executor.
    """

    open_config: AtomicConfig
    """The configuration :meth:`open` starts from."""
    close_config: CloseConfig
    """The configuration :meth:`close` starts from."""
    unfinished: list[str]
    """The kinds of the operations the shutdown had to cancel when its timeout ran out (empty
    after a clean shutdown)."""

    def __init__(
        self,
        venues: VenueSource,
        *,
        clock: Clock | None = None,
        journal: str | None = None,
        open_config: AtomicConfig | None = None,
        close_config: CloseConfig | None = None,
        deliver: Delivery | str | concurrent.futures.Executor = Delivery.LOOP,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
        id_prefix: str = "hk",
    ) -> None:
        if isinstance(deliver, concurrent.futures.Executor):
            self._deliver: Delivery | concurrent.futures.Executor = deliver
        else:
            self._deliver = Delivery(deliver)
        self._source = venues
        self._clock = clock
        self._journal_url = journal
        self.open_config = open_config or AtomicConfig()
        self.close_config = close_config or CloseConfig()
        self._loop_factory = loop_factory or _default_loop
        self._id_prefix = id_prefix
        self._lock = threading.Lock()
        self._state = _State.NEW
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # the loop exists (or could not be made)
        self._up = threading.Event()  # start() has ended, either way
        self._loop_error: BaseException | None = None
        self._ops: dict[asyncio.Future[Any], _Op] = {}
        # One lock per (venue, symbol): operations sharing a leg run one after another.
        self._leg_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._listeners: tuple[Listener, ...] = ()
        self._events: queue.SimpleQueue[tuple[RunnerEvent, tuple[Listener, ...]]] = (
            queue.SimpleQueue()
        )
        self._fills: list[Fill] = []
        self._venues: dict[str, Venue] = {}
        self._sessions: dict[str, VenueSession] = {}
        self._connected: list[Venue] = []
        self._started: list[VenueSession] = []
        self._journal: Any = None
        self._atomic: AtomicExecutor | None = None
        self._closer: CloseExecutor | None = None
        self._kill: KillSwitch | None = None
        self.unfinished: list[str] = []

    def __repr__(self) -> str:
        return f"Runner(state={self._state.value}, venues={sorted(self._venues)})"

    # ----------------------------------------------------------------------------- lifecycle
    def start(self, timeout: float = 30.0) -> Runner:
        """Starts the loop thread, makes and connects the venues, starts their sessions.

        Args:
            timeout: How long the start may take (the venues' connections included).

        Returns:
            The runner.

        Raises:
            hedgekit.errors.RunnerError: Already started, or the loop did not start in time.
            hedgekit.errors.RunnerClosedError: The runner was shut down.
            TimeoutError: The venues did not connect within ``timeout`` (everything started is
                torn down).
            Exception: What making or connecting a venue raised (everything started is torn
                down first).
        """
        with self._lock:
            if self._state is _State.CLOSED or self._state is _State.CLOSING:
                raise RunnerClosedError("the runner is shut down; make a new one")
            if self._state is not _State.NEW:
                raise RunnerError("the runner is already started")
            self._state = _State.STARTING
        try:
            self._start(timeout)
        finally:
            self._up.set()
        return self

    def _start(self, timeout: float) -> None:
        thread = threading.Thread(target=self._main, name="hedgekit-runner", daemon=True)
        self._thread = thread
        thread.start()
        if not self._ready.wait(timeout) or self._loop is None:
            with self._lock:
                self._state = _State.CLOSED
            raise RunnerError(f"the runner's loop did not start: {self._loop_error!r}")
        fut = asyncio.run_coroutine_threadsafe(self._setup(), self._loop)
        try:
            fut.result(timeout)
        except BaseException as exc:
            if isinstance(exc, concurrent.futures.TimeoutError):
                fut.cancel()
            with self._lock:
                self._state = _State.CLOSING
            self._teardown(timeout=_TEARDOWN_S)
            if isinstance(exc, concurrent.futures.TimeoutError):
                raise TimeoutError(f"the runner did not start within {timeout} s") from None
            raise
        with self._lock:
            self._state = _State.RUNNING

    def __enter__(self) -> Runner:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.shutdown()
            return
        try:  # the block's own exception is the one that propagates
            self.shutdown()
        except HedgekitError:
            log.exception("runner: shutdown after an error in the `with` block")

    def shutdown(self, timeout: float = 120.0) -> None:
        """Stops taking work and settles everything the runner owns.

        In order: no new call is accepted (each raises
        :class:`~hedgekit.errors.RunnerClosedError`); a call submitted but not yet started on
        the loop and cancelled by its caller is dropped; every open that has not started yet is
        refused by the runner's kill switch (result ``refused``, nothing placed); every
        operation that has started is let finish under its own deadlines, for at most
        ``timeout`` seconds; the sessions, the venues and the journal are closed, every task
        left on the loop is cancelled, the loop stops and the thread is joined. A second call
        (from any thread, also while the first is under way) waits for the first to end and
        returns without raising.

        Args:
            timeout: How long operations in flight may take to finish (longer than their
                deadlines: a default close may take its 60 s deadline, then settling). One
                still running then is cancelled — an open cancelled half-way does not unwind
                what it filled — its future raises :class:`~hedgekit.errors.RunnerClosedError`,
                it is listed in :attr:`unfinished`, and this method raises after the teardown.

        Raises:
            hedgekit.errors.RunnerThreadError: Called on the runner's loop thread.
            hedgekit.errors.RunnerClosedError: Operations had to be cancelled (see
                :attr:`unfinished`): their legs may be exposed.
        """
        self._not_on_loop("shutdown")
        if self._state is _State.STARTING:  # another thread is starting it: let it finish first
            self._up.wait(timeout)
        with self._lock:
            state = self._state
            if state is _State.NEW:
                self._state = _State.CLOSED
                return
            if state is _State.RUNNING:
                self._state = _State.CLOSING
        if state is not _State.RUNNING:  # shut down, or another thread is at it: wait for it
            thread = self._thread
            if thread is not None:
                thread.join(timeout + 4 * _TEARDOWN_S)
            return
        self._teardown(timeout)
        if self.unfinished:
            raise RunnerClosedError(
                f"shutdown cancelled {len(self.unfinished)} operation(s) still running after "
                f"{timeout} s ({', '.join(self.unfinished)}): their legs may be exposed"
            )

    def _teardown(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        try:
            if loop is not None and thread is not None and thread.is_alive():
                stop = asyncio.run_coroutine_threadsafe(self._stop(timeout), loop)
                try:
                    stop.result(timeout + 4 * _TEARDOWN_S)
                except Exception:  # pragma: no cover - every step is bounded and guarded
                    log.exception("runner: the teardown did not finish")
                loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # pragma: no cover - the loop closed under us (its thread died)
            pass
        finally:
            if thread is not None:
                thread.join(2 * _TEARDOWN_S)
            with self._lock:
                self._state = _State.CLOSED

    def _main(self) -> None:
        """The loop thread: makes the loop, runs it until :meth:`shutdown` stops it, closes it.
        An operation still pending when the loop stops (the thread ended abnormally) fails with
        :class:`~hedgekit.errors.RunnerClosedError` instead of hanging its caller."""
        try:
            loop = self._loop_factory()
            asyncio.set_event_loop(loop)
            loop.set_exception_handler(_log_loop_error)
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._loop_error = exc
            self._ready.set()
            return
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(_bounded(loop.shutdown_asyncgens(), _TEARDOWN_S))
                loop.run_until_complete(_bounded(loop.shutdown_default_executor(), _TEARDOWN_S))
            finally:
                with self._lock:
                    self._state = _State.CLOSED
                for op in list(self._ops.values()):
                    if not op.future.done():
                        op.future.set_exception(RunnerClosedError("the runner's loop stopped"))
                self._ops.clear()
                asyncio.set_event_loop(None)
                loop.close()

    async def _setup(self) -> None:
        """On the loop: venues, ledger, clock, sessions, executors; venues connected and
        sessions started. What was started is recorded so a failed start tears it down."""
        source = self._source
        made: Any = source() if callable(source) else source
        if inspect.isawaitable(made):
            made = await made
        self._venues = _named(made)
        if not self._venues:
            raise ValueError("a runner needs at least one venue")
        clock = self._clock or LoopClock()
        ledger = FillLedger()
        if self._journal_url is not None:
            from hedgekit.journal import open_journal

            self._journal = await open_journal(self._journal_url)
        for venue in self._venues.values():
            self._connected.append(venue)
            await venue.connect()
        for name, venue in self._venues.items():
            session = VenueSession(venue, ledger, clock)
            self._sessions[name] = session
            session.add_fill_listener(self._on_fill)
            session.add_forced_fill_listener(self._forced(name))
            self._started.append(session)
            await session.start()
        self._kill = KillSwitch(self._sessions, clock=clock, id_prefix=self._id_prefix)
        self._atomic = AtomicExecutor(
            self._sessions, clock=clock, id_prefix=self._id_prefix, journal=self._journal,
            kill_switch=self._kill,
        )  # fmt: skip
        self._closer = CloseExecutor(
            self._sessions, clock=clock, id_prefix=self._id_prefix, journal=self._journal
        )

    async def _stop(self, timeout: float) -> None:
        """On the loop: refuse opens not started, let started operations finish (at most
        ``timeout``), then close sessions, venues and journal and cancel every task left."""
        ops = list(self._ops)
        if ops:
            if self._kill is not None:  # opens waiting to start refuse, placing nothing
                self._kill.latch(SHUTDOWN_REASON)
            _, pending = await asyncio.wait(ops, timeout=timeout)
            if pending:
                self.unfinished = [self._ops[t].kind for t in pending if t in self._ops]
                for t in pending:
                    t.cancel()
                await asyncio.wait(pending, timeout=_TEARDOWN_S)
        for session in reversed(self._started):
            await _quietly(session.close(), f"closing the {session.venue.name} session")
        for venue in reversed(self._connected):
            await _quietly(venue.close(), f"closing {venue.name}")
        if self._journal is not None:
            await _quietly(self._journal.close(), "closing the journal")
        me = asyncio.current_task()
        left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        for t in left:
            t.cancel()
        if left:
            await asyncio.wait(left, timeout=_TEARDOWN_S)

    # ----------------------------------------------------------------------------- operations
    def open(
        self,
        legs: Sequence[LegSpec],
        size: Decimal,
        config: AtomicConfig | None = None,
        *,
        note: dict[str, Any] | None = None,
        on_done: Listener | None = None,
        **options: Any,
    ) -> RunnerFuture[AtomicResult]:
        """Opens a pair (:meth:`hedgekit.execution.AtomicExecutor.open`) on the runner's loop.

        Args:
            legs: Two or more legs on distinct venues.
            size: The pair size (a ``Decimal``).
            config: The configuration (default :attr:`open_config`).
            note: Extra facts journalled with the intent.
            on_done: Called with an :class:`OperationDone` when the open ends, on the thread
                ``deliver`` chose.
            **options: Fields of :class:`~hedgekit.execution.AtomicConfig` replaced for this
                open (``plan=EntryPlan.TAKER_BOTH``, ``deadline_s=5.0``, ...).

        Returns:
            A future of the :class:`~hedgekit.execution.AtomicResult`; what the open raises
            (a ``ValueError`` for bad legs, a ``KeyError`` for an unknown venue) is its
            exception. Once started an open always runs to its end:
            ``future.cancel()`` succeeds only before the loop has started it.

        Raises:
            hedgekit.errors.RunnerClosedError: The runner is shutting down or shut down.
            hedgekit.errors.RunnerError: The runner is not started.
            TypeError: An option that is not a field of the configuration.
            ValueError: An option value the configuration refuses.
        """
        cfg = dataclasses.replace(config or self.open_config, **options)
        legs = tuple(legs)

        def run() -> Coroutine[Any, Any, AtomicResult]:
            assert self._atomic is not None
            atomic = self._atomic
            keys = [(leg.venue, leg.symbol) for leg in legs]
            return self._one_at_a_time(keys, lambda: atomic.open(legs, size, cfg, note=note))

        return self._submit("open", run, on_done)

    def close(
        self,
        legs: Sequence[CloseLeg | LegSpec],
        config: CloseConfig | None = None,
        *,
        note: dict[str, Any] | None = None,
        on_done: Listener | None = None,
        **options: Any,
    ) -> RunnerFuture[CloseResult]:
        """Closes a pair to flat (:meth:`hedgekit.execution.CloseExecutor.close`) on the
        runner's loop.

        Args:
            legs: Where the positions are: :class:`~hedgekit.execution.CloseLeg` values, or the
                :class:`~hedgekit.execution.LegSpec` values the pair was opened with.
            config: The configuration (default :attr:`close_config`).
            note: Extra facts journalled with the intent.
            on_done: Called with an :class:`OperationDone` when the close ends, on the thread
                ``deliver`` chose.
            **options: Fields of :class:`~hedgekit.execution.CloseConfig` replaced for this
                close.

        Returns:
            A future of the :class:`~hedgekit.execution.CloseResult`.

        Raises:
            hedgekit.errors.RunnerClosedError: The runner is shutting down or shut down.
            hedgekit.errors.RunnerError: The runner is not started.
            TypeError: An option that is not a field of the configuration.
        """
        cfg = dataclasses.replace(config or self.close_config, **options)
        where = tuple(CloseLeg(leg.venue, leg.symbol) for leg in legs)

        def run() -> Coroutine[Any, Any, CloseResult]:
            assert self._closer is not None
            closer = self._closer
            keys = [(leg.venue, leg.symbol) for leg in where]
            return self._one_at_a_time(keys, lambda: closer.close(where, cfg, note=note))

        return self._submit("close", run, on_done)

    async def _one_at_a_time(
        self, keys: Iterable[tuple[str, str]], make: Callable[[], Awaitable[_T]]
    ) -> _T:
        """Runs ``make()`` once no earlier open or close on any of these legs (venue, symbol)
        is running: operations that share a leg run one after another, in the order they were
        submitted (a close never races the hedge of an open on the same leg). Locks are taken
        in one order, so two operations never wait for each other."""
        async with contextlib.AsyncExitStack() as held:
            for key in sorted(set(keys)):
                lock = self._leg_locks.get(key)
                if lock is None:
                    lock = self._leg_locks[key] = asyncio.Lock()
                await held.enter_async_context(lock)
            return await make()

    def submit(self, fn: Callable[[Mapping[str, VenueSession]], Awaitable[_T]]) -> RunnerFuture[_T]:
        """Runs ``await fn(sessions)`` on the runner's loop: the way to anything else hedgekit
        offers (a session's orders, the venues, :attr:`journal`) without leaving the loop.

        Returns:
            A future of what ``fn`` returns (or raises). The shutdown waits for it as for an
            operation.

        Raises:
            hedgekit.errors.RunnerClosedError: The runner is shutting down or shut down.
            hedgekit.errors.RunnerError: The runner is not started.
        """

        async def run() -> _T:
            return await fn(self._sessions)

        return self._submit("call", run, None, emit=False)

    def positions(self, timeout: float = 10.0) -> dict[str, dict[str, Position]]:
        """Every venue's positions, read from the venues now (blocking).

        Returns:
            Non-flat positions by symbol, per venue name.

        Raises:
            hedgekit.errors.VenueError: A venue refused or failed.
            TimeoutError: No answer within ``timeout``.
            hedgekit.errors.RunnerThreadError: Called on the runner's loop thread.
        """

        return self._per_venue(lambda s: s.fetch_positions(timeout), timeout, "positions")

    def funding_rates(self, timeout: float = 10.0) -> dict[str, dict[str, FundingRate]]:
        """Every venue's current funding rates, by symbol, per venue name (blocking).

        Raises:
            hedgekit.errors.VenueError: A venue refused or failed.
            TimeoutError: No answer within ``timeout``.
            hedgekit.errors.RunnerThreadError: Called on the runner's loop thread.
        """

        return self._per_venue(lambda s: s.venue.funding_rates(), timeout, "funding_rates")

    def quote(self, venue: str, symbol: str, timeout: float = 10.0) -> Quote | None:
        """The best bid and offer of our copy of one book (``None`` while it is empty),
        read on the loop (blocking).

        Raises:
            KeyError: An unknown venue or symbol.
            hedgekit.errors.RunnerThreadError: Called on the runner's loop thread.
        """

        async def read(sessions: Mapping[str, VenueSession]) -> Quote | None:
            return sessions[venue].venue.quote(symbol)

        return self._blocking(read, timeout, "quote")

    def fills(self, venue: str | None = None) -> list[Fill]:
        """Every fill the ledger has counted since the start (of ``venue`` only, when given),
        in the order counted: each fill once, however often a venue sent it. Safe from any
        thread; does not wait for the loop. The list is kept for the runner's life."""
        with self._lock:
            fills = list(self._fills)
        return fills if venue is None else [f for f in fills if f.venue == venue]

    @property
    def journal(self) -> Any:
        """The journal (a :class:`hedgekit.journal.Journal`) when ``journal=`` was given, else
        ``None``. It lives on the runner's loop: use it through :meth:`submit`."""
        return self._journal

    @property
    def venues(self) -> list[str]:
        """The venues' names (empty before :meth:`start`)."""
        return list(self._venues)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The runner's event loop (``None`` before :meth:`start`); closed after shutdown."""
        return self._loop

    @property
    def loop_thread(self) -> threading.Thread | None:
        """The thread the loop runs on (``None`` before :meth:`start`)."""
        return self._thread

    # ----------------------------------------------------------------------------- events
    def add_listener(self, callback: Listener) -> None:
        """Calls ``callback(event)`` for every :class:`FillEvent`, :class:`ForcedFillEvent` and
        :class:`OperationDone` from now on, on the thread ``deliver`` chose. An exception it
        raises is logged (logger ``hedgekit.runner``) and the next callback still runs."""
        with self._lock:
            self._listeners = (*self._listeners, callback)

    def remove_listener(self, callback: Listener) -> None:
        """Stops calling ``callback`` (no error if it was not added)."""
        with self._lock:
            self._listeners = tuple(c for c in self._listeners if c is not callback)

    def poll_events(self, timeout: float = 0.0, max_events: int = 1000) -> list[RunnerEvent]:
        """With ``deliver=Delivery.QUEUE``: waits up to ``timeout`` seconds for an event, then
        takes what is queued (at most ``max_events``), runs their callbacks (``on_done`` and
        listeners) on this thread, and returns the events, oldest first (empty when none came).

        Every event is queued in this mode, listened to or not, until a call takes it: a bot
        that chooses the queue drains it. Events keep coming until the shutdown ends, so a
        last call after :meth:`shutdown` takes the last ones.

        Raises:
            hedgekit.errors.RunnerError: The runner does not deliver to a queue.
            hedgekit.errors.RunnerThreadError: Called on the runner's loop thread.
        """
        self._not_on_loop("poll_events")
        if self._deliver is not Delivery.QUEUE:
            raise RunnerError("poll_events needs Runner(deliver=Delivery.QUEUE)")
        got: list[tuple[RunnerEvent, tuple[Listener, ...]]] = []
        try:
            got.append(
                self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait()
            )
            while len(got) < max_events:
                got.append(self._events.get_nowait())
        except queue.Empty:
            pass
        for event, callbacks in got:
            _call_all(callbacks, event)
        return [event for event, _ in got]

    def _on_fill(self, fill: Fill, _order: TrackedOrder) -> None:
        with self._lock:
            self._fills.append(fill)
        self._emit(FillEvent(fill.venue, fill), ())

    def _forced(self, venue: str) -> Callable[[Fill, str], None]:
        def on_forced(fill: Fill, kind: str) -> None:
            self._emit(ForcedFillEvent(venue, fill, kind), ())

        return on_forced

    def _emit(self, event: RunnerEvent, own: tuple[Listener, ...]) -> None:
        """Delivers ``event`` to ``own`` callbacks and the listeners (on the loop thread)."""
        callbacks = own + self._listeners
        deliver = self._deliver
        if deliver is Delivery.QUEUE:
            self._events.put((event, callbacks))
        elif not callbacks:
            return
        elif deliver is Delivery.LOOP:
            assert self._loop is not None
            self._loop.call_soon(_call_all, callbacks, event)
        else:
            assert isinstance(deliver, concurrent.futures.Executor)
            try:
                deliver.submit(_call_all, callbacks, event)
            except RuntimeError as exc:  # the caller's executor is shut down
                log.error("runner: event %s not delivered: %r", type(event).__name__, exc)

    # ----------------------------------------------------------------------------- plumbing
    def _not_on_loop(self, what: str) -> None:
        if threading.current_thread() is self._thread:
            raise RunnerThreadError(
                f"Runner.{what}() blocks: call it from another thread than the runner's loop"
            )

    def _submit(
        self,
        kind: str,
        make: Callable[[], Coroutine[Any, Any, _T]],
        on_done: Listener | None,
        *,
        emit: bool = True,
    ) -> RunnerFuture[_T]:
        with self._lock:
            state = self._state
            if state is _State.NEW or state is _State.STARTING:
                raise RunnerError("the runner is not started: call start() or use `with`")
            if state is not _State.RUNNING:
                raise RunnerClosedError(f"the runner is {state.value}: it takes no more work")
            thread = self._thread
            if thread is None or not thread.is_alive():  # pragma: no cover - died abnormally
                raise RunnerError("the runner's loop thread is gone")
            fut: RunnerFuture[_T] = RunnerFuture(thread)
            assert self._loop is not None
            # Under the lock: a shutdown's stop is queued after every call accepted before it.
            self._loop.call_soon_threadsafe(self._launch, _Op(kind, fut, on_done, emit), make)
        return fut

    def _launch(self, op: _Op, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """On the loop: starts one call as a task the runner owns (unless its caller cancelled
        the future first)."""
        if not op.future.set_running_or_notify_cancel():
            return
        try:
            task = asyncio.get_running_loop().create_task(make(), name=f"hedgekit-runner-{op.kind}")
        except BaseException as exc:  # noqa: BLE001 - reaches the caller through the future
            op.future.set_exception(exc)
            return
        self._ops[task] = op
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        op = self._ops.pop(task, None)
        if op is None:  # pragma: no cover - settled by the loop's end
            return
        result: Any = None
        error: BaseException | None
        if task.cancelled():
            error = RunnerClosedError(
                f"the runner's shutdown cancelled this {op.kind} when its timeout ran out"
            )
        else:
            error = task.exception()
        if error is None:
            result = task.result()
            op.future.set_result(result)
        else:
            op.future.set_exception(error)
        if op.emit:
            own = () if op.on_done is None else (op.on_done,)
            self._emit(OperationDone(op.kind, result, error, op.future), own)

    def _per_venue(
        self, read: Callable[[VenueSession], Awaitable[_V]], timeout: float, what: str
    ) -> dict[str, _V]:
        """``read`` of every session at once on the loop, within ``timeout`` (blocking)."""

        async def every(sessions: Mapping[str, VenueSession]) -> dict[str, _V]:
            names = list(sessions)
            async with asyncio.timeout(timeout):
                got = await asyncio.gather(*(read(sessions[n]) for n in names))
            return dict(zip(names, got, strict=True))

        return self._blocking(every, timeout, what)

    def _blocking(
        self,
        fn: Callable[[Mapping[str, VenueSession]], Awaitable[_T]],
        timeout: float,
        what: str,
    ) -> _T:
        self._not_on_loop(what)
        fut = self.submit(fn)
        try:
            return fut.result(timeout + 1.0)  # the call bounds itself by ``timeout``
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"Runner.{what}() got no answer within {timeout} s") from None


def _call_all(callbacks: Iterable[Listener], event: RunnerEvent) -> None:
    for callback in callbacks:
        try:
            callback(event)
        except Exception:
            log.exception("runner: a callback failed on %s", type(event).__name__)


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error("runner loop: %s", context.get("message", "error"), exc_info=exc)


async def _bounded(aw: Awaitable[None], timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await aw
    except TimeoutError:  # pragma: no cover - a stuck async generator or executor job
        log.error("runner: loop teardown step timed out")


async def _quietly(aw: Awaitable[None], what: str) -> None:
    try:
        async with asyncio.timeout(_TEARDOWN_S):
            await aw
    except Exception:
        log.exception("runner: %s failed", what)
