"""Time, injected: a :class:`Clock` for production, and a virtual-time event loop for simulation.

Code that needs the time or a sleep asks a :class:`Clock`. :class:`LoopClock` reads the running
event loop's clock, so the same code runs in real time on a normal loop and in virtual time on a
:class:`VirtualTimeLoop`, where an idle loop jumps straight to its next timer: a scenario spanning
minutes of venue time finishes in milliseconds of wall time, and ``asyncio.sleep``,
``asyncio.wait_for`` and ``asyncio.timeout`` all keep working unchanged.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from asyncio.events import _get_running_loop
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

from hedgekit.errors import HedgekitError

__all__ = [
    "Clock",
    "LoopClock",
    "ManualClock",
    "VirtualTimeDeadlock",
    "VirtualTimeLoop",
    "run_virtual",
]

_T = TypeVar("_T")
NS_PER_S = 1_000_000_000
_NO_LOOP = object()  # what LoopClock has read before its first read of a loop


@runtime_checkable
class Clock(Protocol):
    """Where time comes from."""

    def now_ns(self) -> int:
        """The current time in integer nanoseconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits ``seconds`` (at least zero) of this clock's time."""
        ...


class LoopClock:
    """The running asyncio loop's clock, offset to the Unix epoch.

    On a normal loop this is real time; on a :class:`VirtualTimeLoop` it is virtual time.

    Args:
        epoch_ns: The epoch time that loop time 0 corresponds to. Default: chosen on first use
            so that ``now_ns()`` starts at the wall clock (real loop) or at the virtual loop's own
            epoch.
    """

    __slots__ = ("_loop", "_offset_ns", "_virtual")

    def __init__(self, epoch_ns: int | None = None) -> None:
        self._offset_ns = epoch_ns
        # The loop last read, and its kind: never ``None`` (a marker until the first read), so the
        # hot path's one identity test also turns away a call outside any loop.
        self._loop: object = _NO_LOOP
        self._virtual = False

    def _loop_ns(self) -> int:
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop):
            return loop.time_ns()
        return round(loop.time() * NS_PER_S)

    def now_ns(self) -> int:
        """The current time in nanoseconds since the epoch."""
        loop = _get_running_loop()  # None outside a loop: the slow path raises as it should
        if loop is self._loop:  # the hot path: one loop, kind and offset known
            if self._virtual:
                virtual_ns: int = loop.time_ns()  # type: ignore[union-attr]
                return self._offset_ns + virtual_ns  # type: ignore[operator]
            return self._offset_ns + round(loop.time() * NS_PER_S)  # type: ignore[operator,union-attr]
        offset = self._offset_ns
        loop = asyncio.get_running_loop()
        loop_ns = self._loop_ns()
        virtual = isinstance(loop, VirtualTimeLoop)
        if offset is None:
            if virtual:
                offset = loop.epoch_ns  # type: ignore[attr-defined]
            else:
                offset = time.time_ns() - loop_ns
            self._offset_ns = offset
        self._loop = loop
        self._virtual = virtual
        return offset + loop_ns

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` on the running loop."""
        await asyncio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "LoopClock()"


class ManualClock:
    """A clock moved by hand, for state machines tested without an event loop.

    ``sleep`` advances the clock by the requested time and returns at once.
    """

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        """The current time."""
        return self._now

    def advance(self, ns: int) -> None:
        """Moves the clock forward by ``ns`` (≥ 0).

        Raises:
            ValueError: ``ns`` is negative.
        """
        if ns < 0:
            raise ValueError(f"time never moves backwards (advance by {ns} ns)")
        self._now += ns

    async def sleep(self, seconds: float) -> None:
        """Advances the clock by ``seconds`` and yields once."""
        self.advance(max(0, math.ceil(seconds * NS_PER_S)))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(now_ns={self._now})"


class VirtualTimeDeadlock(HedgekitError):
    """Every task waits and no timer is scheduled: virtual time can never move again."""


class _VirtualSelector(selectors.BaseSelector):
    """A selector that never blocks: when nothing is ready it advances the loop's virtual time
    by the timeout the loop asked for, which is exactly the wait until its next timer."""

    def __init__(self, loop_ref: Callable[[], VirtualTimeLoop], idle_wall_s: float) -> None:
        self._inner = selectors.DefaultSelector()
        self._loop_ref = loop_ref
        self._idle_wall_s = idle_wall_s
        self._executor_wait_s = 10.0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        loop = self._loop_ref()
        if loop._in_executor > 0:
            # A worker thread (run_in_executor) is busy: its answer arrives in real time, so
            # wait for it for real instead of letting virtual time run past it.
            ready = self._inner.select(self._executor_wait_s)
            if ready:
                return ready
        if timeout is None:
            # Nothing scheduled. Only another thread (call_soon_threadsafe) could wake us: give
            # it a short real-time grace period, then declare the deadlock.
            ready = self._inner.select(self._idle_wall_s)
            if ready:
                return ready
            self._loop_ref()._deadlocked()
            return []
        if timeout > 0:
            self._loop_ref()._advance(timeout)
        return []

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose clock is virtual.

    Time stands still while callbacks run and jumps to the next timer when every task waits, so
    the result of a run depends only on what is scheduled, never on the machine's speed. Work
    handed to a thread with ``run_in_executor`` (a database write) is waited for in real time:
    virtual time does not move while a worker is busy.
    Sockets still work (they are polled without blocking), but a test that waits on real I/O
    with nothing else scheduled raises :class:`VirtualTimeDeadlock` after ``idle_wall_s``.

    Args:
        epoch_ns: The Unix time, in ns, that loop time 0 stands for (for ``LoopClock``).
        idle_wall_s: Real seconds to wait for another thread before declaring a deadlock.
    """

    def __init__(self, epoch_ns: int = 1_767_225_600 * NS_PER_S, idle_wall_s: float = 0.05) -> None:
        self._now_ns = 0
        self.epoch_ns = epoch_ns
        self._deadlock = False
        self._in_executor = 0
        super().__init__(_VirtualSelector(lambda: self, idle_wall_s))

    def run_in_executor(  # type: ignore[override]  # same behaviour, simpler signature
        self, executor: Any, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """As the base loop, but virtual time stands still until the worker answers: a thread
        works in real time, and a timeout must not expire in virtual time while it does."""
        fut = super().run_in_executor(executor, func, *args)
        self._in_executor += 1
        fut.add_done_callback(self._executor_done)
        return fut

    def _executor_done(self, _fut: asyncio.Future[Any]) -> None:
        self._in_executor -= 1

    def time(self) -> float:
        """Virtual loop time in seconds."""
        return self._now_ns / NS_PER_S

    def time_ns(self) -> int:
        """Virtual loop time in integer nanoseconds."""
        return self._now_ns

    def _advance(self, seconds: float) -> None:
        # Rounded, not ceiled: the loop runs timers due within its clock resolution, so landing
        # half a nanosecond early still fires the timer, and times stay whole as scheduled.
        self._now_ns += max(1, round(seconds * NS_PER_S))

    def _deadlocked(self) -> None:
        self._deadlock = True
        self.stop()


def run_virtual(
    main: Coroutine[Any, Any, _T] | Callable[[], Awaitable[_T]],
    *,
    epoch_ns: int = 1_767_225_600 * NS_PER_S,
    max_virtual_s: float | None = None,
) -> _T:
    """Runs a coroutine to completion on a fresh :class:`VirtualTimeLoop`.

    Args:
        main: The coroutine (or a zero-argument async callable).
        epoch_ns: The Unix time at virtual time 0.
        max_virtual_s: If given, the run is cancelled once this much virtual time has passed
            (raising ``TimeoutError``).

    Returns:
        The coroutine's result.

    Raises:
        VirtualTimeDeadlock: Every task waited forever with no timer left.
        TimeoutError: ``max_virtual_s`` was exceeded.
    """
    coro = main if asyncio.iscoroutine(main) else main()
    loop = VirtualTimeLoop(epoch_ns=epoch_ns)
    try:
        asyncio.set_event_loop(loop)

        async def _bounded() -> _T:
            if max_virtual_s is None:
                return await coro
            async with asyncio.timeout(max_virtual_s):
                return await coro

        task = loop.create_task(_bounded())
        task.add_done_callback(lambda _t: loop.stop())
        loop.run_forever()
        if not task.done():
            task.cancel()
            loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
            raise VirtualTimeDeadlock(
                f"all tasks wait and no timer is scheduled (virtual time {loop.time():.6f} s)"
            )
        return task.result()
    finally:
        _cancel_all(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def _cancel_all(loop: VirtualTimeLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
