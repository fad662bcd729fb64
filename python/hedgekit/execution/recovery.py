"""Recovery: a process started on an existing journal finishes what an earlier one left open.

For every operation the journal holds as started and never finished:

1. Every order the journal says it sent is looked up at its venue by client id (the venue is the
   truth; the old process's memory is gone). An order the venue does not know yet may still be on
   its way: it is looked up once more after a grace period. Orders still live are cancelled, and
   their final state read back. Fills at the operation's venues whose client ids carry the
   operation's prefix but that no journal record names (orders sent while the journal was
   failing) are found from the venues' fill history, and their orders looked up the same way;
   they are journalled as ``order`` records (``"discovered": true``) before anything else.
2. The fills the venues report for those orders give what the operation did on each venue.
3. An open whose legs are equal and opposite (within each venue's minimum) is finished as it
   stands — on, partly on, or never filled. Otherwise it is unwound: each venue's net is flattened
   reduce-only, and the operation finishes ``rolled_back`` with the cost.
4. A close is completed with a fresh :class:`~hedgekit.execution.CloseExecutor` run, journalled
   as an operation of its own.

Every order recovery sends is journalled ahead like any other (the unwind's under the recovered
operation, role ``unwind``), with client ids unique to the recovery run (``r<run>u…``,
``r<run>c…``), so a recovery that is itself interrupted is recovered in turn without counting an
order twice or reusing an id. Every step is journalled (``note`` events), and the operation is
finished in the journal, so a second recovery finds nothing to do. Nothing recorded is lost: the
old records stay; recovery only appends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from hedgekit.errors import HedgekitError, VenueError
from hedgekit.execution.close import CloseExecutor
from hedgekit.execution.config import CloseLeg, ExecutionMode, OrderConfig
from hedgekit.execution.liquidity import is_dust
from hedgekit.execution.order import OrderExecutor
from hedgekit.execution.recorder import (
    JournalLike,
    JournalWriteError,
    OperationRecorder,
    RecorderPolicy,
    to_record,
)
from hedgekit.execution.results import CloseStatus, ExecutionResult
from hedgekit.model import CancelResult, Fill, OrderRequest, OrderStatus, OrderStatusReport, Side
from hedgekit.secrets import redact
from hedgekit.tracking import TrackedOrder, VenueSession

__all__ = ["RecoverableJournal", "RecoveryOutcome", "recover"]

log = logging.getLogger("hedgekit.journal")
_ZERO = Decimal(0)
_S = 1_000_000_000
_LIVE = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
_ROUNDS = 3  # closes and unwinds tried per recovery before an operation is left for the next
_CLOCK_SLACK_NS = 60 * _S  # venue clocks and ours may disagree: fills this much early still count


class RecoverableJournal(JournalLike, Protocol):
    """What recovery needs of a journal (``hedgekit.journal.Journal`` has it)."""

    async def unfinished(self) -> Sequence[Any]: ...

    async def events(
        self, op_id: str | None = None, *, event: str | None = None
    ) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    """What recovery did with one operation.

    Attributes:
        op_id: The operation.
        kind: ``open`` or ``close``.
        status: The status it was finished with; ``unresolved`` when a venue or the journal
            did not answer, or the unwind or close did not complete in ``3`` tries: the
            operation stays unfinished (its recovery orders journalled under it), and the next
            recovery takes it up again.
        net: Net size the operation holds per venue after recovery.
        cancelled: Orders found live and cancelled.
        fills: Fills the venues reported for the operation's orders.
        detail: What happened, in words.
        discovered: Orders the journal did not name, found from the venues' fills by client-id
            prefix (``venue:client_id``).
    """

    op_id: str
    kind: str
    status: str
    net: dict[str, Decimal]
    cancelled: tuple[str, ...] = ()
    fills: tuple[Fill, ...] = field(default=())
    detail: str = ""
    discovered: tuple[str, ...] = ()


async def recover(
    journal: RecoverableJournal,
    sessions: Mapping[str, VenueSession],
    *,
    unwind: OrderConfig | None = None,
    attempts: int = 5,
    id_prefixes: Iterable[str] = (),
    grace_s: float | None = None,
    policy: RecorderPolicy | None = None,
) -> list[RecoveryOutcome]:
    """Finishes every operation the journal holds as unfinished.

    Args:
        journal: The journal the earlier process wrote.
        sessions: Started sessions for every venue the operations used.
        unwind: How an unbalanced open is flattened (default: aggressive limit, market last).
        attempts: Tries per venue query before recovery gives up on an operation (it stays
            unfinished and is reported ``unresolved``; run recovery again).
        id_prefixes: Client-id prefixes of the executors that wrote the journal (their
            ``id_prefix``). A fill at an operation's venue whose client id starts with one of them
            and that no journal record names belongs to an order sent while the journal was
            failing; it is counted for the unfinished operation that started last before it.
            Without them, each operation's prefix is read from its ``id_prefix`` parameter, or
            else taken from its journalled client ids (``<prefix><tag>-<n>``, one-letter tags).
        grace_s: How long an order the journal names but the venue does not know may still be
            on its way; it is looked up again after this (default: the session's request
            timeout).
        policy: Retries and waits of the journal writes of the unwinds.

    Returns:
        One outcome per operation, in the journal's order.
    """
    cfg = unwind or OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT)
    ops = list(await journal.unfinished())
    if not ops:
        return []
    run = await _run_number(journal)
    events = {op.op_id: list(await journal.events(op.op_id)) for op in ops}
    named = {
        (e.data.get("venue"), e.data.get("client_id")) for e in await journal.events(event="order")
    }
    try:
        found = await _unnamed_fills(ops, events, sessions, named, tuple(id_prefixes), attempts)
    except (VenueError, TimeoutError) as exc:
        log.warning("recovery: the venues' fill history is unavailable: %s", exc)
        return [
            RecoveryOutcome(
                op.op_id,
                op.kind,
                "unresolved",
                {},
                detail=redact(f"fill history unavailable: {exc}"),
            )
            for op in ops
        ]
    out = []
    for op in ops:
        ctx = _Run(journal, sessions, cfg, attempts, grace_s, policy, f"r{run}")
        try:
            out.append(await ctx.recover(op, events[op.op_id], found.get(op.op_id, {})))
        except (HedgekitError, TimeoutError) as exc:
            log.warning("recovery of %s unresolved: %s", op.op_id, exc)
            out.append(
                RecoveryOutcome(op.op_id, op.kind, "unresolved", {}, detail=redact(str(exc)))
            )
    return out


async def _run_number(journal: RecoverableJournal) -> int:
    """This recovery run's number: one more than the runs that got as far as journalling what
    they found. Every run that sent an order journalled that first, so ids stay unique."""
    notes = await journal.events(event="note")
    return 1 + sum(
        1 for e in notes if isinstance(e.data, dict) and e.data.get("recovery") == "found"
    )


def _orders(events: Sequence[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The operation's order records, once per (venue, client id) (a retried write may have
    left one twice)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        if e.event == "order":
            out.setdefault((e.data["venue"], e.data["client_id"]), e.data)
    return out


def _prefixes(op: Any, events: Sequence[Any], given: tuple[str, ...]) -> tuple[str, ...]:
    if given:
        return given
    params = getattr(op, "params", None)
    if (
        isinstance(params, dict)
        and isinstance(params.get("id_prefix"), str)
        and params["id_prefix"]
    ):
        return (params["id_prefix"],)
    stems = set()
    for venue_cid in _orders(events):
        stem = venue_cid[1].rpartition("-")[0]
        if len(stem) > 1:
            stems.add(stem[:-1])
    return tuple(sorted(stems))


async def _unnamed_fills(
    ops: Sequence[Any],
    events: Mapping[str, Sequence[Any]],
    sessions: Mapping[str, VenueSession],
    named: set[tuple[Any, Any]],
    given: tuple[str, ...],
    attempts: int,
) -> dict[str, dict[tuple[str, str], str]]:
    """Orders no journal record names, found from the venues' fills: ``{op_id: {(venue,
    client_id): symbol}}``. A fill goes to the unfinished operation on its venue and symbol that
    started last before it, among those whose prefix its client id carries."""
    wanted: dict[tuple[str, str], list[tuple[int, str, tuple[str, ...]]]] = {}
    for op in ops:
        prefixes = _prefixes(op, events[op.op_id], given)
        if not prefixes:
            continue
        for leg in op.legs:
            wanted.setdefault((leg["venue"], leg["symbol"]), []).append(
                (op.started_ns, op.op_id, prefixes)
            )
    out: dict[str, dict[tuple[str, str], str]] = {}
    for (venue, symbol), claims in wanted.items():
        session = sessions.get(venue)
        if session is None:
            continue
        since = max(min(c[0] for c in claims) - _CLOCK_SLACK_NS, 0)
        fills = await _retry(
            session,
            lambda s=session, sym=symbol, t=since: s.venue.fills(sym, since_ns=t),
            attempts,
            "fill history",
        )
        for f in fills:
            if (venue, f.client_id) in named or not f.client_id:
                continue
            owners = [
                c
                for c in claims
                if c[0] - _CLOCK_SLACK_NS <= f.ts_ns
                and any(f.client_id.startswith(p) for p in c[2])
            ]
            if owners:
                owner = max(owners)[1]
                out.setdefault(owner, {})[(venue, f.client_id)] = symbol
    return out


async def _retry(session: VenueSession, call: Any, attempts: int, what: str) -> Any:
    err: Exception | None = None
    for _ in range(attempts):
        try:
            async with asyncio.timeout(session.tracker.config.request_timeout_ns / _S):
                return await call()
        except (VenueError, TimeoutError) as exc:
            err = exc
    raise VenueError(session.venue.name, f"{what} unavailable: {err}")


async def _status(
    session: VenueSession, symbol: str, cid: str, attempts: int
) -> OrderStatusReport | None:
    report: OrderStatusReport | None = await _retry(
        session,
        lambda: session.venue.order_status(symbol, client_id=cid),
        attempts,
        f"status of {cid}",
    )
    return report


class _Observer:
    """Journals the orders of recovery's unwinds ahead of sending them, under the recovered
    operation, with their answers and fills."""

    def __init__(self, recorder: OperationRecorder) -> None:
        self.recorder = recorder
        self.cids: set[tuple[str, str]] = set()

    async def order(self, venue: str, request: OrderRequest, role: str) -> None:
        self.cids.add((venue, request.client_id))
        await self.recorder.order(venue, request, role)

    def answer(self, venue: str, order: TrackedOrder) -> None:
        self.recorder.answer(venue, order)

    def cancel_answer(self, venue: str, client_id: str, result: CancelResult) -> None:
        self.recorder.cancel_answer(venue, client_id, result)

    def listener(self, venue: str) -> Any:
        def on_fill(fill: Fill, order: TrackedOrder) -> None:
            if (venue, order.client_id) in self.cids:
                self.recorder.fill(fill)

        return on_fill


class _Run:
    def __init__(
        self,
        journal: RecoverableJournal,
        sessions: Mapping[str, VenueSession],
        cfg: OrderConfig,
        attempts: int,
        grace_s: float | None,
        policy: RecorderPolicy | None,
        prefix: str,
    ) -> None:
        self.journal = journal
        self.sessions = sessions
        self.cfg = cfg
        self.attempts = attempts
        self.grace_s = grace_s
        self.policy = policy or RecorderPolicy()
        self.prefix = prefix

    async def _write(self, op_id: str, event: str, data: dict[str, Any]) -> None:
        async with asyncio.timeout(self.policy.write_timeout_s):
            await self.journal.record(op_id, event, data)

    async def recover(
        self, op: Any, events: Sequence[Any], discovered: Mapping[tuple[str, str], str]
    ) -> RecoveryOutcome:
        orders = _orders(events)
        # Orders found only at the venues are journalled first: a recovery interrupted from
        # here on finds them in the journal.
        extra = {k: v for k, v in discovered.items() if k not in orders}
        for (venue, cid), symbol in extra.items():
            data = {
                "venue": venue,
                "client_id": cid,
                "symbol": symbol,
                "role": "unknown",
                "discovered": True,
            }
            await self._write(op.op_id, "order", data)
            orders[(venue, cid)] = data
        cancelled: list[str] = []
        fills: dict[tuple[str, str, int | str], Fill] = {}
        unknown: list[tuple[str, str, str]] = []
        for (venue, cid), o in orders.items():
            report = await self._settle(venue, o["symbol"], cid, cancelled)
            if report is None:
                unknown.append((venue, o["symbol"], cid))
            else:
                _collect(report, fills)
        if unknown:
            # Named but not at the venue: never sent, or still on its way. Look again later.
            await asyncio.sleep(self._grace())
            for venue, symbol, cid in unknown:
                report = await self._settle(venue, symbol, cid, cancelled)
                if report is not None:
                    _collect(report, fills)
        net: dict[str, Decimal] = {}
        for leg in op.legs:
            net.setdefault(leg["venue"], _ZERO)
        for f in fills.values():
            net[f.venue] = net.get(f.venue, _ZERO) + f.side.sign * f.size
        found = [f"{v}:{c}" for v, c in extra]
        await self._write(
            op.op_id,
            "note",
            {
                "recovery": "found",
                "run": self.prefix,
                "orders": len(orders),
                "discovered": found,
                "cancelled": cancelled,
                "net": to_record(net),
            },
        )
        if op.kind == "close":
            return await self._close(op, net, cancelled, fills, found)
        return await self._open(op, net, cancelled, fills, found)

    def _grace(self) -> float:
        if self.grace_s is not None:
            return self.grace_s
        return max(
            (s.tracker.config.request_timeout_ns / _S for s in self.sessions.values()), default=1.0
        )

    async def _settle(
        self, venue: str, symbol: str, cid: str, cancelled: list[str]
    ) -> OrderStatusReport | None:
        """The order's final state at its venue, cancelled first if it is live (the cancel is
        repeated until the venue reports the order done).

        Raises:
            VenueError: The venue does not answer, or keeps the order live.
        """
        session = self.sessions[venue]
        timeout_s = session.tracker.config.request_timeout_ns / _S
        report = await _status(session, symbol, cid, self.attempts)
        for attempt in range(1, self.attempts + 1):
            if report is None or report.status not in _LIVE:
                return report
            try:
                async with asyncio.timeout(timeout_s):
                    await session.venue.cancel(symbol, client_id=cid)
            except (VenueError, TimeoutError) as exc:
                log.info("recovery: cancel of %s answered %r", cid, exc)
            if f"{venue}:{cid}" not in cancelled:
                cancelled.append(f"{venue}:{cid}")
            report = await _status(session, symbol, cid, self.attempts)
            if report is not None and report.status in _LIVE:
                await asyncio.sleep(0.25 * attempt)  # a cancel on its way, or lost: ask again
                report = await _status(session, symbol, cid, self.attempts)
        if report is not None and report.status in _LIVE:
            raise VenueError(venue, f"{cid} is still live after {self.attempts} cancels")
        return report

    async def _close(
        self,
        op: Any,
        net: dict[str, Decimal],
        cancelled: list[str],
        fills: dict[tuple[str, str, int | str], Fill],
        found: list[str],
    ) -> RecoveryOutcome:
        legs = [CloseLeg(leg["venue"], leg["symbol"]) for leg in op.legs]
        closer = CloseExecutor(self.sessions, id_prefix=f"{self.prefix}c", journal=self.journal)
        for _ in range(_ROUNDS):
            try:
                result = await closer.close(legs, note={"recovers": op.op_id})
            except JournalWriteError as exc:
                if exc.result is None:
                    raise
                result = (
                    exc.result
                )  # the close ran; its own journal is incomplete (recovered in turn)
            if result.status is not CloseStatus.EXPOSED:
                break
        status = result.status.value
        if result.status is CloseStatus.EXPOSED:
            # Not done: the operation stays unfinished, for the next recovery.
            detail = f"close incomplete after {_ROUNDS} tries: {result.reason}"
            await self._write(op.op_id, "note", {"recovery": "incomplete", "detail": detail})
            return RecoveryOutcome(
                op.op_id,
                op.kind,
                "unresolved",
                net,
                tuple(cancelled),
                tuple(fills.values()),
                detail,
                tuple(found),
            )
        await self._finish(op.op_id, status, {"recovered": True, **result.to_dict()})
        return RecoveryOutcome(
            op.op_id,
            op.kind,
            status,
            net,
            tuple(cancelled),
            tuple(fills.values()),
            "close completed",
            tuple(found),
        )

    async def _open(
        self,
        op: Any,
        net: dict[str, Decimal],
        cancelled: list[str],
        fills: dict[tuple[str, str, int | str], Fill],
        found: list[str],
    ) -> RecoveryOutcome:
        symbols = {leg["venue"]: leg["symbol"] for leg in op.legs}
        dust = _largest_min(self.sessions, symbols)
        total = sum(net.values(), _ZERO)
        cash = sum((-f.side.sign * f.price * f.size - f.fee for f in fills.values()), _ZERO)
        recorder = OperationRecorder(
            self.journal, op.op_id, next(iter(self.sessions.values())).clock, self.policy
        )
        try:
            if abs(total) <= dust:
                filled = max((abs(v) for v in net.values()), default=_ZERO)
                status = "opened" if filled > 0 else "not_filled"
                detail = "legs balanced: finished as they stand"
            else:
                for _ in range(_ROUNDS):
                    if self._flat(symbols, net):
                        break
                    for venue, res in (await self._unwind(symbols, net, recorder)).items():
                        net[venue] = net[venue] + res.side.sign * res.filled
                        cash += -res.side.sign * (res.avg_price or _ZERO) * res.filled - res.fees
                        recorder.add("note", {"recovery": "unwind", **to_record(res.to_dict())})
                status = "rolled_back"
                detail = "legs unbalanced: every venue's net flattened"
                if not self._flat(symbols, net):
                    # Not done: the operation stays unfinished, for the next recovery (which
                    # finds these unwind orders in the journal and counts their fills).
                    detail = f"unwind incomplete after {_ROUNDS} tries: {to_record(net)}"
                    recorder.add("note", {"recovery": "incomplete", "detail": detail})
                    await recorder.close()
                    return RecoveryOutcome(
                        op.op_id,
                        op.kind,
                        "unresolved",
                        net,
                        tuple(cancelled),
                        tuple(fills.values()),
                        detail,
                        tuple(found),
                    )
            result = {
                "recovered": True,
                "status": status,
                "net": to_record(net),
                "cash": str(cash),
                "detail": detail,
            }
        except Exception:
            await recorder.close()  # what it holds is written; the operation stays unfinished
            raise
        await recorder.finish(status, result)
        return RecoveryOutcome(
            op.op_id,
            op.kind,
            status,
            net,
            tuple(cancelled),
            tuple(fills.values()),
            detail,
            tuple(found),
        )

    def _flat(self, symbols: Mapping[str, str], net: Mapping[str, Decimal]) -> bool:
        """Every venue's net is zero or below what the venue accepts (reduce-only)."""
        for venue, size in net.items():
            if size == 0:
                continue
            v = self.sessions[venue].venue
            q = v.quote(symbols[venue])
            if q is None or not is_dust(
                v.instruments()[symbols[venue]].rules, abs(size), q.mid, reduce_only=True
            ):
                return False
        return True

    async def _finish(self, op_id: str, status: str, result: dict[str, Any]) -> None:
        async with asyncio.timeout(self.policy.write_timeout_s):
            await self.journal.finish_operation(op_id, status, result)

    async def _unwind(
        self, symbols: Mapping[str, str], net: Mapping[str, Decimal], recorder: OperationRecorder
    ) -> dict[str, ExecutionResult]:
        done: dict[str, ExecutionResult] = {}
        observer = _Observer(recorder)

        async def one(venue: str) -> None:
            size = net[venue]
            if size == 0:
                return
            sym = symbols[venue]
            session = self.sessions[venue]
            ex = OrderExecutor(session, id_prefix=f"{self.prefix}u")
            q = ex.venue.quote(sym)
            if q is not None and is_dust(ex.info(sym).rules, abs(size), q.mid, reduce_only=True):
                return
            side = Side.SELL if size > 0 else Side.BUY
            listener = observer.listener(venue)
            session.add_fill_listener(listener)
            try:
                done[venue] = await ex.execute(
                    sym,
                    side,
                    abs(size),
                    self.cfg,
                    reduce_only=True,
                    tag="u",
                    observer=observer,
                    role="unwind",
                )
            finally:
                session.remove_fill_listener(listener)

        await asyncio.gather(*(one(v) for v in symbols))
        return done


def _collect(report: OrderStatusReport, fills: dict[tuple[str, str, int | str], Fill]) -> None:
    for f in report.fills:
        # One outside trade can fill two of our orders under one trade id: key by order too.
        fills[(f.venue, report.client_id or f.client_id, f.trade_id)] = f


def _largest_min(sessions: Mapping[str, VenueSession], symbols: Mapping[str, str]) -> Decimal:
    out = _ZERO
    for venue, sym in symbols.items():
        v = sessions[venue].venue
        rules = v.instruments()[sym].rules
        q = v.quote(sym)
        step = rules.step_size
        need = rules.min_qty
        if q is not None and rules.min_notional > 0:
            need = max(need, (rules.min_notional / q.mid / step).to_integral_value() * step)
        out = max(out, need)
    return out
