"""The bounded event subscription: a reader that falls behind is told, never silently robbed."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hedgekit.model import OrderStatus, OrderUpdate, StreamStatus
from hedgekit.venues.transport import EventQueue


def update(i: int) -> OrderUpdate:
    return OrderUpdate("hl", "ETH", f"c{i}", str(i), OrderStatus.OPEN, Decimal(0), i)


def test_events_come_in_order_and_get_times_out_with_none() -> None:
    async def main() -> None:
        closed: list[EventQueue] = []
        q = EventQueue("hl", lambda: 0, closed.append, maxsize=4)
        for i in range(3):
            q._put(update(i))
        assert [await q.get(timeout=1) for _ in range(3)] == [update(0), update(1), update(2)]
        assert await q.get(timeout=0.01) is None
        q.close()
        q.close()
        assert closed == [q]
        q._put(update(9))
        assert q.pending() == 0
        assert [e async for e in q] == []

    asyncio.run(main())


def test_an_overflow_becomes_an_outage_so_the_reader_reconciles() -> None:
    async def main() -> None:
        q = EventQueue("hl", lambda: 77, lambda _q: None, maxsize=3)
        for i in range(5):
            q._put(update(i))
        got = [await q.get(timeout=1) for _ in range(q.pending())]
        # three queued, the fourth overflowed: all replaced by an outage, the fifth kept after it
        assert got == [StreamStatus("hl", False, 77), StreamStatus("hl", True, 77), update(4)]
        assert q.overflows == 1

    asyncio.run(main())


def test_a_waiting_reader_is_woken_by_an_event_and_by_close() -> None:
    async def main() -> None:
        q = EventQueue("hl", lambda: 0, lambda _q: None)
        reader = asyncio.ensure_future(q.get(timeout=5))
        await asyncio.sleep(0)
        q._put(update(1))
        assert await reader == update(1)
        reader = asyncio.ensure_future(q.get(timeout=5))
        await asyncio.sleep(0)
        q.close()
        assert await reader is None

    asyncio.run(main())
