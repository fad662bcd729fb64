"""``OperationRecorder``: writes one operation's orders, answers, fills, incidents and result to
the journal, in the order they happened, without ever blocking the path that produced them.

The executors call it synchronously (from fill listeners and right before sending); each record
joins a queue that one writer task drains, so a slow disk never delays a hedge. :meth:`finish`
waits until everything queued is written and then writes the result — the result reaches the
caller only after the journal holds every order and fill of the operation.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError
from hedgekit.model import CancelResult, Fill, OrderRequest
from hedgekit.tracking import TrackedOrder

__all__ = [
    "JournalLike",
    "JournalWriteError",
    "MarkoutRecorder",
    "OperationRecorder",
    "finish_recording",
    "to_record",
]

log = logging.getLogger("hedgekit.journal")


class JournalLike(Protocol):
    """The part of :class:`hedgekit.journal.Journal` the executors use."""

    async def start_operation(
        self,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        *,
        op_id: str | None = None,
        ts_ns: int | None = None,
    ) -> str: ...

    async def record(
        self, op_id: str | None, event: str, data: dict[str, Any], *, ts_ns: int | None = None
    ) -> int: ...

    async def finish_operation(
        self, op_id: str, status: str, result: dict[str, Any], *, ts_ns: int | None = None
    ) -> None: ...


def to_record(value: Any) -> Any:
    """JSON-ready data: Decimals as strings, enums as values, dataclasses as dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_record(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_record(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_record(v) for v in value]
    return value


class OperationRecorder:
    """Records one operation. Create it with :meth:`start` (which writes the intent).

    Attributes:
        op_id: The operation's id in the journal.
    """

    def __init__(self, journal: JournalLike, op_id: str, clock: Clock | None = None) -> None:
        self.journal = journal
        self.op_id = op_id
        self.clock = clock
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], int | None]] = asyncio.Queue()
        self._writer = asyncio.ensure_future(self._write())
        self.failed: BaseException | None = None

    @classmethod
    async def start(
        cls,
        journal: JournalLike,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        clock: Clock | None = None,
    ) -> OperationRecorder:
        """Writes the intent (the operation and its legs) and returns the recorder. Nothing is
        placed before this returns.

        Raises:
            JournalWriteError: The journal did not take the intent (nothing was placed).
        """
        ts = None if clock is None else clock.now_ns()
        try:
            op_id = await journal.start_operation(kind, to_record(legs), to_record(params), ts_ns=ts)
        except Exception as exc:
            raise JournalWriteError(f"journal unavailable, nothing placed: {exc}", None, "") from exc
        return cls(journal, op_id, clock)

    async def _write(self) -> None:
        while True:
            event, data, ts = await self._queue.get()
            try:
                await self.journal.record(self.op_id, event, data, ts_ns=ts)
            except Exception as exc:  # noqa: BLE001 - keep the operation going; finish() reports
                if self.failed is None:
                    self.failed = exc
                log.exception("journal write failed for operation %s", self.op_id)
            finally:
                self._queue.task_done()

    def add(self, event: str, data: dict[str, Any], ts_ns: int | None = None) -> None:
        """Queues one record (never blocks), stamped with ``ts_ns`` or the recorder's clock."""
        if ts_ns is None and self.clock is not None:
            ts_ns = self.clock.now_ns()
        self._queue.put_nowait((event, to_record(data), ts_ns))

    async def order(self, venue: str, request: OrderRequest, role: str) -> None:
        """An order about to be sent: written ahead, in order with everything queued before it.

        The order is sent only after this returns, so a process that dies at any point leaves a
        journal that knows every order that may exist at a venue (recovery looks each one up).
        """
        self.add("order", {"venue": venue, "role": role, **to_record(request)})
        await self._queue.join()
        if self.failed is not None:
            raise JournalWriteError(
                f"journal unavailable, order {request.client_id} not sent: {self.failed}", None, self.op_id
            )

    def answer(self, venue: str, order: TrackedOrder) -> None:
        """The venue's answer to a placement, as tracked."""
        self.add(
            "ack",
            {
                "venue": venue,
                "client_id": order.client_id,
                "venue_order_id": order.venue_order_id,
                "state": order.state.value,
                "filled": order.filled,
            },
        )

    def fill(self, fill: Fill) -> None:
        """A fill, once (called from the ledger's fill listener)."""
        self.add("fill", to_record(fill), fill.ts_ns)

    def cancel_answer(self, venue: str, client_id: str, result: CancelResult) -> None:
        """A cancel's answer."""
        self.add("cancel_answer", {"venue": venue, "client_id": client_id, "result": result.value})

    async def finish(self, status: str, result: dict[str, Any]) -> None:
        """Writes everything queued, then the result, then stops the writer.

        Raises:
            Exception: The journal failed to take a record (the first failure).
        """
        try:
            await self._queue.join()
            ts = None if self.clock is None else self.clock.now_ns()
            await self.journal.finish_operation(self.op_id, status, to_record(result), ts_ns=ts)
        finally:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if self.failed is not None:
            raise self.failed


class JournalWriteError(HedgekitError):
    """The journal did not take every record of an operation. No order is ever sent without its
    record: once the journal fails, the operation sends nothing more, finishes what it must
    (cancels, a rollback of what filled) and raises this with its result attached.

    Attributes:
        result: The operation's result (``None`` when raised to stop an order from being sent
            unjournalled).
        op_id: The operation's id in the journal.
    """

    def __init__(self, message: str, result: Any, op_id: str) -> None:
        super().__init__(message)
        self.result = result
        self.op_id = op_id


async def finish_recording(recorder: OperationRecorder, status: str, result: Any) -> None:
    """Writes the incidents and the result of an operation; waits until everything is written.

    Raises:
        JournalWriteError: A record could not be written (the result is attached).
    """
    for incident in getattr(result, "incidents", ()):
        recorder.add("incident", incident.to_dict(), incident.ts_ns)
    try:
        await recorder.finish(status, result.to_dict())
    except Exception as exc:
        raise JournalWriteError(
            f"journal write failed for operation {recorder.op_id}: {exc}", result, recorder.op_id
        ) from exc


class MarkoutRecorder:
    """Samples the mid after each passive (maker) fill and journals the markouts.

    For every maker fill an operation reports, the venue's mid is read ``horizons`` seconds
    later (default 0.5, 2 and 10 s) and written as a ``markout`` event next to the mid when the
    order was placed, so :func:`hedgekit.journal.stats.execution_stats` can tell whether resting
    orders were picked off. Samples are timers on the running loop, never tasks left behind:
    :meth:`close` cancels what is pending and writes what was taken.

    Args:
        journal: Where markouts are written.
        quotes: Reads a venue's current quote: ``quotes(venue, symbol) -> Quote | None``.
        horizons: Seconds after the fill.
    """

    def __init__(
        self,
        journal: JournalLike,
        quotes: Any,
        horizons: tuple[float, ...] = (0.5, 2.0, 10.0),
    ) -> None:
        self.journal = journal
        self._quotes = quotes
        self.horizons = horizons
        self._handles: dict[int, asyncio.TimerHandle] = {}
        self._next_key = 0
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._writer: asyncio.Future[None] | None = None
        self.written = 0

    def fill(self, op_id: str, fill: Fill, placement_mid: Any) -> None:
        """Schedules the samples of one fill (maker fills only; others are ignored)."""
        if not fill.is_maker or placement_mid is None:
            return
        loop = asyncio.get_running_loop()
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())
        for h in self.horizons:
            self._next_key += 1
            key = self._next_key

            def sample(h: float = h, key: int = key) -> None:
                self._handles.pop(key, None)
                q = self._quotes(fill.venue, fill.symbol)
                if q is None:
                    return
                self._queue.put_nowait(
                    (
                        op_id,
                        {
                            "venue": fill.venue,
                            "symbol": fill.symbol,
                            "side": fill.side.value,
                            "liquidity": fill.liquidity.value,
                            "trade_id": fill.trade_id,
                            "fill_price": str(fill.price),
                            "placement_mid": str(placement_mid),
                            "horizon_s": h,
                            "mid": str(q.mid),
                        },
                    )
                )

            self._handles[key] = loop.call_later(h, sample)

    async def _write(self) -> None:
        while True:
            op_id, data = await self._queue.get()
            try:
                await self.journal.record(op_id, "markout", data)
                self.written += 1
            except Exception:  # noqa: BLE001 - a lost markout is a lost statistic, logged
                log.exception("markout write failed for operation %s", op_id)
            finally:
                self._queue.task_done()

    @property
    def pending(self) -> int:
        """Samples not taken yet."""
        return len(self._handles)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Cancels the samples not taken yet, writes those taken, stops the writer."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if self._writer is None:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
        except TimeoutError:
            log.warning("markouts: %d samples not written at close", self._queue.qsize())
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None
