"""Admission: how many operations may start in one turn of the event loop.

An asyncio loop runs every callback that is ready in one turn before it looks at timers or
sockets again. A bot that launches a thousand opens at once makes a thousand callbacks ready
together; each runs its pre-flight (quotes, rules, a book walk) before its first ``await``, and
the loop is held for the sum of them — hundreds of milliseconds during which no fill is read and
no hedge is sent, for any operation. :class:`Admission` lets at most ``per_turn`` operations
start per turn; the rest wait (at no cost) in arrival order and start in the turns after, so the
loop is never held for more than ``per_turn`` starts, and a single operation on an idle executor
starts without waiting at all.

Only starts are admitted: a hedge, a rollback or a settle inside an operation that has started
never waits here.

Opens that start together also read the venues together: :class:`SharedReads` lets them share
one request per read, and :class:`MarginHolds` makes each one's margin check count the margin
the others will use.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

__all__ = ["Admission", "MarginHolds", "SharedReads"]

_T = TypeVar("_T")


class Admission:
    """At most ``per_turn`` operation starts per event-loop turn, first come first served.

    Args:
        per_turn: Starts allowed per turn (``None``: no limit).

    Raises:
        ValueError: ``per_turn`` below 1.
    """

    def __init__(self, per_turn: int | None = 4) -> None:
        if per_turn is not None and per_turn < 1:
            raise ValueError(f"per_turn must be at least 1 (or None), got {per_turn}")
        self.per_turn = per_turn
        self._queue: deque[asyncio.Future[None]] = deque()
        self._passed = 0  # starts in the current turn
        self._armed = False

    @property
    def waiting(self) -> int:
        """Operations waiting for their turn to start."""
        return sum(1 for f in self._queue if not f.done())

    async def enter(self) -> None:
        """Returns when the caller may start: at once while this turn has room and nobody is
        waiting, else in a later turn, in arrival order. Cancelling the wait gives the place up."""
        if self.per_turn is None:
            return
        if not self._queue and self._passed < self.per_turn:
            self._passed += 1
            self._arm()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(fut)
        self._arm()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._passed -= 1  # admitted and cancelled in the same turn: the place is free
            raise

    def _arm(self) -> None:
        if not self._armed:
            self._armed = True
            asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        """Runs once per loop turn while there is anything to do: a new turn, a fresh count,
        and the next waiters let through."""
        self._armed = False
        self._passed = 0
        assert self.per_turn is not None
        while self._queue and self._passed < self.per_turn:
            fut = self._queue.popleft()
            if not fut.done():
                fut.set_result(None)
                self._passed += 1
        if self._queue or self._passed:
            self._arm()  # the next turn resets the count (and lets more through)


class SharedReads:
    """Concurrent callers of the same read share one request.

    Operations that start together all read the same venue state in their pre-flight (the
    account, the positions, a symbol's leverage): a thousand opens would make thousands of
    identical requests, which the venue's request limits then pace and refuse. A caller who
    asks for a read while the same read is on its way joins it and gets its answer (or its
    error); the next caller after it has ended starts a fresh one. The answer is therefore at
    most one round trip older than the caller's question — as if it had asked a round trip
    earlier. A caller that is cancelled leaves the read running for the others; the read is
    cancelled with its last caller (it runs for no one), and is bounded by the session's own
    request timeout meanwhile.
    """

    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self._callers: dict[Hashable, int] = {}

    @property
    def in_flight(self) -> int:
        """Reads on their way now."""
        return len(self._inflight)

    async def read(self, key: Hashable, call: Callable[[], Awaitable[_T]]) -> _T:
        """The answer of the read named ``key``: the one on its way, or ``call()`` started
        now. Raises what the read raised."""
        fut = self._inflight.get(key)
        if fut is None:
            fut = asyncio.ensure_future(call())
            self._inflight[key] = fut
            self._callers[key] = 0
            fut.add_done_callback(functools.partial(self._done, key))
        self._callers[key] += 1
        try:
            result: _T = await asyncio.shield(fut)
        finally:
            if self._inflight.get(key) is fut:
                left = self._callers[key] = self._callers[key] - 1
                if left == 0 and not fut.done():
                    fut.cancel()  # every caller has gone: nobody is left to read it for
        return result

    def _done(self, key: Hashable, fut: asyncio.Future[Any]) -> None:
        if self._inflight.get(key) is fut:
            del self._inflight[key]
            del self._callers[key]
        if not fut.cancelled():
            fut.exception()  # retrieved: every caller may have gone, the others re-raise it


class MarginHolds:
    """The initial margin an executor's running opens will use on each venue, so that opens
    running together are each judged against the account less what the others hold, not each
    against the whole account.

    An open whose margin check passes holds, on each leg's venue, the initial margin that leg
    needs (size × price / leverage) until it ends (:meth:`hold`, :meth:`release`); the next
    check takes what is held off the account it read (:meth:`held`). An account read shows an
    ended open's positions only if it was sent after they were made, so a hold let go stays
    counted for reads sent before it was let go: a read records :attr:`epoch` as it is sent,
    and :meth:`held` counts the holds let go after that. Holds let go are forgotten when no
    check is running (:meth:`checking`): a read still on its way always has a check waiting
    for it.

    Conservative by construction: a running open's fills that a read already shows are counted
    in its position and again in its hold, so opens near the account's limit may be refused
    that would have fitted — never the other way round.
    """

    def __init__(self) -> None:
        self._epoch = 0
        self._active: dict[str, Decimal] = {}
        self._let_go: list[tuple[int, str, Decimal]] = []
        self._checks = 0

    @property
    def epoch(self) -> int:
        """The count of holds let go so far; a read records it as it is sent."""
        return self._epoch

    @contextmanager
    def checking(self) -> Iterator[None]:
        """Marks a margin check in progress, from before its reads are sent to its decision."""
        self._checks += 1
        try:
            yield
        finally:
            self._checks -= 1
            if self._checks == 0:
                self._let_go.clear()

    def held(self, venue: str, since: int) -> Decimal:
        """What a check must take off ``venue``'s account as read by a request sent at epoch
        ``since``: every hold still running, and every hold let go after that read was sent."""
        total = self._active.get(venue, Decimal(0))
        for epoch, name, amount in self._let_go:
            if epoch > since and name == venue:
                total += amount
        return total

    def hold(self, venue: str, amount: Decimal) -> None:
        """Holds ``amount`` of initial margin on ``venue`` (let go with :meth:`release`)."""
        self._active[venue] = self._active.get(venue, Decimal(0)) + amount

    def release(self, venue: str, amount: Decimal) -> None:
        """Lets go a hold of ``amount`` on ``venue`` (its open has ended)."""
        left = self._active[venue] - amount
        if left:
            self._active[venue] = left
        else:
            del self._active[venue]
        self._epoch += 1
        if self._checks:
            self._let_go.append((self._epoch, venue, amount))
