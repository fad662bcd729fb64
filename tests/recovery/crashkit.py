"""A process death inside one test process, at a journal commit.

* :class:`MemoryStore` / :class:`MemoryBackend`: journal storage that outlives the
  :class:`~hedgekit.journal.Journal` (the "process") that wrote it, as a file outlives a process;
  each call is one atomic commit.
* :class:`CrashAfter`: a backend wrapper that lets ``k`` commits through and then kills the
  process right after the ``k``-th returns: it calls :meth:`Life.die` and raises :class:`Crash`.
  Every later call of the dead process raises :class:`Crash` without touching the storage.
* :class:`Life`: one process's view of the shared simulated venues. Each venue is wrapped in a
  :class:`ProcessVenue`; at death every request of the dead process raises :class:`Crash`, its
  subscriptions are closed, and every task it started is cancelled. The venues themselves (the
  matching engines, with whatever reached them, and requests already on the wire) go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hedgekit.journal import Journal
from hedgekit.journal._backend import Backend, EventRow, OpFilter, OpRow
from hedgekit.journal.errors import JournalError
from hedgekit.journal.schema import LATEST_VERSION
from hedgekit.venues.sim import SimVenue


class Crash(BaseException):
    """The process dies here."""


class MemoryStore:
    """The journal's storage, shared by the journals of successive processes."""

    def __init__(self) -> None:
        self.ops: dict[str, list[Any]] = {}
        self.events: list[tuple[int, str | None, str, int, str]] = []
        self.commits = 0


class MemoryBackend(Backend):
    """A journal backend over a :class:`MemoryStore`: every write is one atomic commit."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.schema_version = LATEST_VERSION

    def _event(self, op_id: str | None, event: str, ts_ns: int, data: str) -> int:
        seq = len(self.store.events) + 1
        self.store.events.append((seq, op_id, event, ts_ns, data))
        return seq

    async def start(
        self, op_id: str, kind: str, legs: str, params: str, event_data: str, ts_ns: int
    ) -> int:
        await asyncio.sleep(0)
        if op_id in self.store.ops:
            raise JournalError(f"operation {op_id!r} already exists")
        self.store.ops[op_id] = [op_id, kind, "running", legs, params, None, ts_ns, None]
        self.store.commits += 1
        return self._event(op_id, "start", ts_ns, event_data)

    async def append(
        self, op_id: str | None, items: list[tuple[str, str]], ts_ns: int
    ) -> list[int]:
        await asyncio.sleep(0)
        if op_id is not None and op_id not in self.store.ops:
            raise JournalError(f"unknown operation {op_id!r}")
        self.store.commits += 1
        return [self._event(op_id, ev, ts_ns, data) for ev, data in items]

    async def finish(
        self, op_id: str, status: str, result: str, event_data: str, ts_ns: int
    ) -> int:
        await asyncio.sleep(0)
        row = self.store.ops.get(op_id)
        if row is None:
            raise JournalError(f"unknown operation {op_id!r}")
        if row[7] is not None:
            raise JournalError(f"operation {op_id!r} is already finished")
        row[2], row[5], row[7] = status, result, ts_ns
        self.store.commits += 1
        return self._event(op_id, "result", ts_ns, event_data)

    async def operations(self, where: OpFilter) -> list[OpRow]:
        await asyncio.sleep(0)
        rows = []
        for r in self.store.ops.values():
            if where.op_id is not None and r[0] != where.op_id:
                continue
            if where.unfinished and r[7] is not None:
                continue
            if where.since_ns is not None and r[6] < where.since_ns:
                continue
            if where.until_ns is not None and r[6] >= where.until_ns:
                continue
            if where.kind is not None and r[1] != where.kind:
                continue
            rows.append(tuple(r))
        return sorted(rows, key=lambda r: (r[6], r[0]))  # type: ignore[return-value]

    async def events(self, op_id: str | None, event: str | None) -> list[EventRow]:
        await asyncio.sleep(0)
        return [
            e
            for e in self.store.events
            if (op_id is None or e[1] == op_id) and (event is None or e[2] == event)
        ]

    async def close(self) -> None:
        return None


class CrashAfter(Backend):
    """Lets ``k`` commits through, then the process dies right after the ``k``-th."""

    def __init__(self, inner: Backend, k: int, die: Callable[[], None]) -> None:
        self.inner = inner
        self.k = k
        self.commits = 0
        self.dead = False
        self._die = die
        self.schema_version = inner.schema_version
        self.self_timed = inner.self_timed

    def _alive(self) -> None:
        if self.dead:
            raise Crash

    def _committed(self) -> None:
        self.commits += 1
        if self.commits >= self.k:
            self.dead = True
            self._die()
            raise Crash

    async def start(
        self, op_id: str, kind: str, legs: str, params: str, event_data: str, ts_ns: int
    ) -> int:
        self._alive()
        out = await self.inner.start(op_id, kind, legs, params, event_data, ts_ns)
        self._committed()
        return out

    async def append(
        self, op_id: str | None, items: list[tuple[str, str]], ts_ns: int
    ) -> list[int]:
        self._alive()
        out = await self.inner.append(op_id, items, ts_ns)
        self._committed()
        return out

    async def finish(
        self, op_id: str, status: str, result: str, event_data: str, ts_ns: int
    ) -> int:
        self._alive()
        out = await self.inner.finish(op_id, status, result, event_data, ts_ns)
        self._committed()
        return out

    async def operations(self, where: OpFilter) -> list[OpRow]:
        self._alive()
        return await self.inner.operations(where)

    async def events(self, op_id: str | None, event: str | None) -> list[EventRow]:
        self._alive()
        return await self.inner.events(op_id, event)

    async def close(self) -> None:
        await self.inner.close()


def journal_over(backend: Backend) -> Journal:
    """A journal front end (encoding, validation, timeouts) over ``backend``."""
    return Journal(backend, "memory://crash-test", 5.0)


class ProcessVenue:
    """One process's handle on a shared simulated venue: everything passes through while the
    process lives; at its death every request raises :class:`Crash`."""

    _REQUESTS = (
        "place", "cancel", "modify", "order_status", "fills", "positions", "funding_rates",
        "account", "leverage", "set_leverage", "funding_payments",
    )  # fmt: skip

    def __init__(self, venue: SimVenue, life: Life) -> None:
        self._venue = venue
        self._life = life

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._venue, name)
        if name in self._REQUESTS:

            async def request(*a: Any, **k: Any) -> Any:
                if self._life.dead:
                    raise Crash
                return await attr(*a, **k)

            return request
        if name == "events":

            def events() -> Any:
                stream = attr()
                self._life.streams.append(stream)
                return stream

            return events
        return attr


class Life:
    """One process: its venue handles, and its death."""

    def __init__(self, venues: dict[str, SimVenue]) -> None:
        self.dead = False
        self.streams: list[Any] = []
        self.doomed: set[asyncio.Task[Any]] = set()
        self.survivors = set(asyncio.all_tasks())
        self.venues = {n: ProcessVenue(v, self) for n, v in venues.items()}

    def die(self) -> None:
        """Everything of this process stops: no request leaves any more, subscriptions close,
        and every task started since the process began is cancelled."""
        if self.dead:
            return
        self.dead = True
        for s in self.streams:
            s.close()
        me = asyncio.current_task()
        for t in asyncio.all_tasks():
            if t not in self.survivors:
                self.doomed.add(t)
                if t is not me:
                    t.cancel()

    async def bury(self) -> None:
        """Waits until no task of the dead process is left (each is cancelled again, since a
        task may start another while it unwinds)."""
        me = asyncio.current_task()
        for _ in range(100):
            doomed = [t for t in asyncio.all_tasks() if t not in self.survivors and t is not me]
            self.doomed.update(doomed)
            if not doomed:
                for t in self.doomed:  # what they died of is known: a crash
                    if t.done() and not t.cancelled():
                        t.exception()
                return
            for t in doomed:
                t.cancel()
            await asyncio.gather(*doomed, return_exceptions=True)
        raise AssertionError("tasks of the dead process keep coming back")
