"""``OperationRecorder``: writes one operation's orders, answers, fills, incidents and result to
the journal, in the order they happened, without ever blocking the path that makes a pair safe.

Every record joins one ordered backlog that a single writer task drains. An order is written
*ahead*: :meth:`OperationRecorder.order` returns once its record is committed, and the order is
sent only then. Answers, fills, cancel answers and incidents are written behind it, in order.
:meth:`OperationRecorder.finish` writes what is left and then the result, so the result never
reaches the journal before any record of its operation.

When the journal fails
----------------------

A write that fails (an error, or no answer within ``write_timeout_s``) keeps its record at the
head of the backlog; the writer retries it with exponential backoff, at most ``attempts`` times in
a row, then pauses until :meth:`~OperationRecorder.finish` gives it one more round. Records that
come meanwhile queue behind it, in order. From the first failure on, for the rest of the
operation:

* an order that may create exposure — role ``entry``, or any role not in :data:`REDUCING_ROLES`
  unless the order is reduce-only — is refused with :class:`JournalWriteError` and never sent;
* an order that reduces exposure — a role in :data:`REDUCING_ROLES` (``hedge``, ``rollback``,
  ``oversize``, ``close``, ``emergency``, ``unwind``), or any reduce-only order — is sent at once,
  its record kept in the backlog. An exposed pair costs more than an order the journal learns of
  late; recovery finds such an order from its retried record, or from the venue's fills by
  client-id prefix.

With a healthy journal an exposure-reducing order still waits at most ``safety_wait_s`` for its
record: a slow journal never holds a hedge back for long.

At the end, ``finish`` retries the backlog once more (the whole of it bounded by
``flush_timeout_s``) and writes the result only once the backlog is empty, so an operation whose
records are incomplete stays unfinished in the journal, for recovery. If anything is still
unwritten, :class:`JournalWriteError` is raised carrying the records in ``unwritten``
(:func:`replay` writes them when the journal is back). A journal that failed and then caught up
gets a ``note`` saying so, and the operation returns normally.

A retried write whose failed attempt had in fact committed (a timeout during ``COMMIT``) leaves
that record twice; readers deduplicate (recovery keys orders by venue and client id, and fills by
venue, client id and trade id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError
from hedgekit.model import CancelResult, Fill, OrderRequest
from hedgekit.tracking import TrackedOrder

__all__ = [
    "REDUCING_ROLES",
    "JournalLike",
    "JournalWriteError",
    "MarkoutRecorder",
    "OperationRecorder",
    "RecorderPolicy",
    "finish_recording",
    "replay",
    "to_record",
]

log = logging.getLogger("hedgekit.journal")

REDUCING_ROLES: frozenset[str] = frozenset(
    {"hedge", "rollback", "oversize", "close", "emergency", "unwind"}
)
"""Order roles that reduce exposure: still sent after the journal failed, their records kept in
the backlog. Any reduce-only order counts as reducing whatever its role."""


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


@dataclass(frozen=True, slots=True)
class RecorderPolicy:
    """How hard the recorder tries, and how long anything waits for the journal.

    Attributes:
        write_timeout_s: One write attempt (a backstop: the journal bounds its calls itself).
        attempts: Tries of one record in a row before the writer pauses until ``finish``; also
            the tries of the result.
        backoff_s: Wait after the first failed try; doubled after each further one.
        max_backoff_s: Longest wait between tries.
        safety_wait_s: Longest an exposure-reducing order waits for its record to be written
            before it is sent anyway (the record stays in the backlog).
        flush_timeout_s: Longest ``finish`` spends on the backlog and the result together.
    """

    write_timeout_s: float = 10.0
    attempts: int = 5
    backoff_s: float = 0.05
    max_backoff_s: float = 1.0
    safety_wait_s: float = 1.0
    flush_timeout_s: float = 15.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        for name in ("write_timeout_s", "safety_wait_s", "flush_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoffs must not be negative")

    def backoff(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failed try in a row (from 1)."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


class _Record:
    """One record waiting in the backlog; ``written`` (for orders) resolves ``True`` once it is
    committed, ``False`` when it is given up (refused by the journal, or withdrawn)."""

    __slots__ = ("data", "event", "ts_ns", "written")

    def __init__(
        self,
        event: str,
        data: dict[str, Any],
        ts_ns: int | None,
        written: asyncio.Future[bool] | None = None,
    ) -> None:
        self.event = event
        self.data = data
        self.ts_ns = ts_ns
        self.written = written

    def resolve(self, written: bool) -> None:
        if self.written is not None and not self.written.done():
            self.written.set_result(written)

    def as_dict(self, op_id: str) -> dict[str, Any]:
        return {"op_id": op_id, "event": self.event, "data": self.data, "ts_ns": self.ts_ns}


class OperationRecorder:
    """Records one operation. Create it with :meth:`start` (which writes the intent).

    Attributes:
        op_id: The operation's id in the journal.
        policy: Retries and waits.
        failed: The journal's first failure during this operation (``None`` while it has not
            failed). Once set, exposure-creating orders are refused for the rest of the
            operation, even if the journal catches up.
        written: Records committed so far.
        refused: Records the journal refused as malformed (dropped: retrying cannot help).
    """

    def __init__(
        self,
        journal: JournalLike,
        op_id: str,
        clock: Clock | None = None,
        policy: RecorderPolicy | None = None,
    ) -> None:
        self.journal = journal
        self.op_id = op_id
        self.clock = clock
        self.policy = policy or RecorderPolicy()
        self.failed: BaseException | None = None
        self.written = 0
        self.refused: list[dict[str, Any]] = []
        self._backlog: deque[_Record] = deque()
        self._inflight: _Record | None = None
        self._attempt = 0
        self._parked = False
        self._stopped = False
        self._caught_up = False
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._failure: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._failure_listeners: list[Callable[[BaseException], None]] = []
        self._writer = asyncio.ensure_future(self._write())

    @classmethod
    async def start(
        cls,
        journal: JournalLike,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        clock: Clock | None = None,
        policy: RecorderPolicy | None = None,
    ) -> OperationRecorder:
        """Writes the intent (the operation and its legs) and returns the recorder. Nothing is
        placed before this returns.

        Raises:
            JournalWriteError: The journal did not take the intent within ``write_timeout_s``
                (nothing was placed).
        """
        pol = policy or RecorderPolicy()
        ts = None if clock is None else clock.now_ns()
        try:
            async with asyncio.timeout(pol.write_timeout_s):
                op_id = await journal.start_operation(
                    kind, to_record(legs), to_record(params), ts_ns=ts
                )
        except Exception as exc:
            raise JournalWriteError(
                f"journal unavailable, nothing placed: {exc!r}", None, ""
            ) from exc
        return cls(journal, op_id, clock, pol)

    # ------------------------------------------------------------------ the writer
    async def _write(self) -> None:
        while True:
            if not self._backlog or self._parked:
                self._wake.clear()
                await self._wake.wait()  # idle until a record comes or finish() resumes us
                continue
            rec = self._backlog[0]
            self._inflight = rec
            try:
                err = await self._try(rec)
            finally:
                self._inflight = None
            if err is None:
                self._backlog.popleft()
                self.written += 1
                self._attempt = 0
                rec.resolve(True)
                self._progress.set()
                if self.failed is not None and not self._backlog and not self._caught_up:
                    self._caught_up = True
                    log.warning("journal caught up for operation %s", self.op_id)
                    self._append(
                        "note", {"journal": "caught up", "error": _text(self.failed)}, None
                    )
            elif isinstance(err, ValueError | TypeError):
                # The journal refuses this record itself (data it cannot hold): retrying cannot
                # help, and keeping it would hold back every record behind it.
                self._backlog.popleft()
                self._attempt = 0
                self.refused.append(rec.as_dict(self.op_id))
                rec.resolve(False)
                self._progress.set()
                log.error(
                    "journal refused a %s record of operation %s: %s", rec.event, self.op_id, err
                )
            else:
                self._attempt += 1
                self._fail(err)
                if self._attempt >= self.policy.attempts:
                    self._parked = True
                    self._attempt = 0
                    self._progress.set()
                    log.error(
                        "journal: %d records of operation %s kept for a later try",
                        len(self._backlog), self.op_id,
                    )  # fmt: skip
                else:
                    await asyncio.sleep(self.policy.backoff(self._attempt))

    async def _try(self, rec: _Record) -> Exception | None:
        try:
            async with asyncio.timeout(self.policy.write_timeout_s):
                await self.journal.record(self.op_id, rec.event, rec.data, ts_ns=rec.ts_ns)
        except Exception as exc:  # noqa: BLE001 - kept and retried; finish() reports
            return exc
        return None

    def _fail(self, exc: BaseException) -> None:
        if self.failed is not None:
            log.warning("journal write for operation %s failed again: %s", self.op_id, _text(exc))
            return
        self.failed = exc
        log.error(
            "journal write failed for operation %s: %s; exposure-creating orders stop, "
            "exposure-reducing ones go on with their records kept for retry",
            self.op_id, _text(exc),
        )  # fmt: skip
        if not self._failure.done():
            self._failure.set_result(None)
        for cb in list(self._failure_listeners):
            try:
                cb(exc)
            except Exception:  # noqa: BLE001 - a listener must not stop the recorder
                log.exception("journal failure listener raised")

    def _append(
        self, event: str, data: dict[str, Any], ts_ns: int | None, *, wait: bool = False
    ) -> _Record:
        if ts_ns is None and self.clock is not None:
            ts_ns = self.clock.now_ns()
        fut: asyncio.Future[bool] | None = None
        if wait:
            fut = asyncio.get_running_loop().create_future()
        rec = _Record(event, to_record(data), ts_ns, fut)
        if self._stopped:
            log.warning(
                "journal: %s record of finished operation %s not written", event, self.op_id
            )
            rec.resolve(False)
            return rec
        self._backlog.append(rec)
        self._wake.set()
        return rec

    def _withdraw(self, rec: _Record) -> None:
        """Takes a record out of the backlog unless it is being written right now."""
        if rec is not self._inflight:
            try:
                self._backlog.remove(rec)
            except ValueError:
                pass
        rec.resolve(False)

    # ------------------------------------------------------------------ the executors' side
    def add_failure_listener(self, callback: Callable[[BaseException], None]) -> None:
        """Calls ``callback(error)`` once, at the journal's first failure (at once if it has
        failed already). An executor stops its entries with it."""
        self._failure_listeners.append(callback)
        if self.failed is not None:
            callback(self.failed)

    @property
    def backlog(self) -> int:
        """Records not written yet (the one being written included)."""
        return len(self._backlog)

    def add(self, event: str, data: dict[str, Any], ts_ns: int | None = None) -> None:
        """Queues one record (never blocks), stamped with ``ts_ns`` or the recorder's clock."""
        self._append(event, data, ts_ns)

    async def order(self, venue: str, request: OrderRequest, role: str) -> None:
        """An order about to be sent: written ahead, in order with everything queued before it.

        The order is sent once this returns. With a healthy journal its record is committed by
        then, so a process that dies at any point leaves a journal naming every order that may
        exist at a venue. After the journal failed, an exposure-reducing order (``role`` in
        :data:`REDUCING_ROLES`, or reduce-only) returns at once, its record kept in the backlog;
        it also returns after ``safety_wait_s`` if the journal is merely slow.

        Raises:
            JournalWriteError: The order may create exposure and the journal failed (now or
                earlier in the operation) or did not take the record in time. It must not be
                sent; its record is withdrawn where it was not being written.
        """
        cid = request.client_id
        reducing = role in REDUCING_ROLES or request.reduce_only
        if self.failed is not None and not reducing:
            raise JournalWriteError(
                f"journal unavailable ({_text(self.failed)}): {role} order {cid} not sent",
                None, self.op_id,
            )  # fmt: skip
        rec = self._append(
            "order", {"venue": venue, "role": role, **to_record(request)}, None, wait=True
        )
        assert rec.written is not None
        limit = self.policy.safety_wait_s if reducing else self.policy.write_timeout_s
        waiters: set[asyncio.Future[Any]] = {rec.written, self._failure}
        await asyncio.wait(waiters, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if rec.written.done() and rec.written.result():
            return
        if reducing:
            log.warning(
                "journal: %s order %s of operation %s sent before its record was written "
                "(the record is kept for retry)", role, cid, self.op_id,
            )  # fmt: skip
            return
        self._withdraw(rec)
        why = _text(self.failed) if self.failed is not None else f"no answer in {limit} s"
        raise JournalWriteError(
            f"journal unavailable ({why}): {role} order {cid} not sent", None, self.op_id
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

    # ------------------------------------------------------------------ the end
    def unwritten(self) -> tuple[dict[str, Any], ...]:
        """The records not written yet, in order: ``{op_id, event, data, ts_ns}``."""
        return tuple(r.as_dict(self.op_id) for r in self._backlog)

    async def finish(self, status: str, result: dict[str, Any]) -> None:
        """Writes the backlog (one more round of retries), then the result, then stops the
        writer. The result is written only after every record before it; the whole is bounded
        by ``flush_timeout_s``.

        Raises:
            JournalWriteError: Something is still unwritten (the result then too: the
                operation stays unfinished in the journal). ``unwritten`` holds it all, the
                result last (event ``"result"``).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.flush_timeout_s
        data = to_record(result)
        ts = None if self.clock is None else self.clock.now_ns()
        done = False
        try:
            if await self._flush(deadline):
                done = await self._write_result(status, data, ts, deadline)
        finally:
            await self._stop()
        if done:
            return
        left = self.unwritten() + (
            {
                "op_id": self.op_id,
                "event": "result",
                "data": {"status": status, "result": data},
                "ts_ns": ts,
            },
        )
        cause = _text(self.failed) if self.failed is not None else "no answer in time"
        raise JournalWriteError(
            f"journal unavailable ({cause}): {len(left)} records of operation {self.op_id} "
            "not written, the result among them",
            None, self.op_id, left,
        )  # fmt: skip

    async def close(self) -> tuple[dict[str, Any], ...]:
        """Writes what it can of the backlog (bounded by ``flush_timeout_s``) and stops, without
        a result (an operation that ended by an error). Returns what is left unwritten."""
        deadline = asyncio.get_running_loop().time() + self.policy.flush_timeout_s
        try:
            await self._flush(deadline)
        finally:
            await self._stop()
        return self.unwritten()

    async def _flush(self, deadline: float) -> bool:
        """Gives the writer one more round of tries; ``True`` once the backlog is empty."""
        loop = asyncio.get_running_loop()
        self._parked = False
        self._attempt = 0
        self._wake.set()
        while self._backlog and not self._parked and not self._writer.done():
            left = deadline - loop.time()
            if left <= 0:
                break
            self._progress.clear()
            try:
                async with asyncio.timeout(left):
                    await self._progress.wait()
            except TimeoutError:
                break
        return not self._backlog

    async def _write_result(
        self, status: str, data: dict[str, Any], ts: int | None, deadline: float
    ) -> bool:
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.policy.attempts + 1):
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                async with asyncio.timeout(min(self.policy.write_timeout_s, left)):
                    await self.journal.finish_operation(self.op_id, status, data, ts_ns=ts)
                return True
            except (ValueError, TypeError) as exc:
                self._fail(exc)
                return False
            except Exception as exc:  # noqa: BLE001 - retried below, then reported
                self._fail(exc)
            # A failed attempt may have committed after all (a timeout during COMMIT).
            if await self._finished_already():
                return True
            if attempt < self.policy.attempts:
                await asyncio.sleep(
                    min(self.policy.backoff(attempt), max(deadline - loop.time(), 0.0))
                )
        return False

    async def _finished_already(self) -> bool:
        read = getattr(self.journal, "operation", None)
        if read is None:
            return False
        try:
            async with asyncio.timeout(self.policy.write_timeout_s):
                op = await read(self.op_id)
        except Exception:  # noqa: BLE001 - unknown: treated as not finished
            return False
        return op is not None and getattr(op, "finished_ns", None) is not None

    async def _stop(self) -> None:
        self._stopped = True
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        for rec in self._backlog:
            rec.resolve(False)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class JournalWriteError(HedgekitError):
    """The journal did not take every record of an operation.

    Raised in two places. By the recorder's ``order`` to refuse an exposure-creating order while
    the journal is failing (``result`` is ``None``; the order must not be sent). And by an
    operation that finished — the pair made safe, exposure-reducing orders sent with their
    records kept for retry — when records are still unwritten after the final retries: then
    ``result`` is the operation's result, and the operation stays unfinished in the journal.

    Attributes:
        result: The operation's result (``None`` when raised to stop an order from being sent
            unjournalled).
        op_id: The operation's id in the journal.
        unwritten: The records the journal still lacks, in order (``{op_id, event, data,
            ts_ns}``; the result last, event ``"result"``). :func:`replay` writes them.
    """

    def __init__(
        self,
        message: str,
        result: Any,
        op_id: str,
        unwritten: Iterable[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.result = result
        self.op_id = op_id
        self.unwritten: tuple[dict[str, Any], ...] = tuple(unwritten)


async def replay(journal: JournalLike, records: Iterable[dict[str, Any]]) -> int:
    """Writes records an operation could not write (``JournalWriteError.unwritten``), in order:
    a ``"result"`` record finishes the operation. Run it before recovery looks at the operation.

    Returns:
        How many were written.

    Raises:
        Exception: The journal's error on the first record it does not take (those before it
            are written; call again with the rest).
    """
    n = 0
    for r in records:
        if r["event"] == "result":
            await journal.finish_operation(
                r["op_id"], r["data"]["status"], r["data"]["result"], ts_ns=r["ts_ns"]
            )
        else:
            await journal.record(r["op_id"], r["event"], r["data"], ts_ns=r["ts_ns"])
        n += 1
    return n


async def finish_recording(recorder: OperationRecorder, status: str, result: Any) -> None:
    """Writes the incidents and the result of an operation; waits until everything is written
    (bounded by the recorder's ``flush_timeout_s``).

    Raises:
        JournalWriteError: A record could not be written (the result is attached, and the
            records still unwritten).
    """
    for incident in getattr(result, "incidents", ()):
        recorder.add("incident", incident.to_dict(), incident.ts_ns)
    try:
        await recorder.finish(status, result.to_dict())
    except JournalWriteError as exc:
        raise JournalWriteError(str(exc), result, recorder.op_id, exc.unwritten) from exc
    except Exception as exc:
        raise JournalWriteError(
            f"journal write failed for operation {recorder.op_id}: {exc}",
            result, recorder.op_id, recorder.unwritten(),
        ) from exc  # fmt: skip


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
