"""The injected clocks and the virtual-time event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from hedgekit.clock import Clock, LoopClock, ManualClock, VirtualTimeDeadlock, run_virtual


def test_virtual_time_jumps_to_the_next_timer() -> None:
    async def main() -> list[int]:
        clock = LoopClock()
        t0 = clock.now_ns()
        marks = []
        await asyncio.sleep(3600)
        marks.append(clock.now_ns() - t0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await asyncio.Event().wait()
        marks.append(clock.now_ns() - t0)
        await asyncio.wait_for(asyncio.sleep(0.001), timeout=1)
        marks.append(clock.now_ns() - t0)
        return marks

    assert run_virtual(main()) == [3600 * 10**9, 3602_500_000_000, 3602_501_000_000]


def test_concurrent_sleepers_wake_in_time_order() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def sleeper(name: str, s: float) -> None:
            await asyncio.sleep(s)
            order.append(name)

        await asyncio.gather(sleeper("c", 3), sleeper("a", 1), sleeper("b", 2))
        return order

    assert run_virtual(main()) == ["a", "b", "c"]


def test_virtual_epoch_is_fixed() -> None:
    async def main() -> int:
        return LoopClock().now_ns()

    assert run_virtual(main(), epoch_ns=42) == 42


def test_deadlock_is_reported_not_hung() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(VirtualTimeDeadlock):
        run_virtual(main())


def test_max_virtual_time_bounds_a_run() -> None:
    async def main() -> None:
        while True:
            await asyncio.sleep(1)

    with pytest.raises(TimeoutError):
        run_virtual(main(), max_virtual_s=10)


def test_background_tasks_are_cancelled_when_the_run_ends() -> None:
    cancelled = []

    async def forever() -> None:
        try:
            await asyncio.sleep(10**6)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(1)

    run_virtual(main())
    assert cancelled == [True]


def test_loop_clock_on_a_real_loop_tracks_wall_time() -> None:
    async def main() -> int:
        return LoopClock().now_ns()

    now = asyncio.run(main())
    assert abs(now - time.time_ns()) < 5 * 10**9


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(100)
    assert isinstance(clock, Clock)
    clock.advance(50)
    assert clock.now_ns() == 150
    asyncio.run(clock.sleep(1))
    assert clock.now_ns() == 150 + 10**9
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
