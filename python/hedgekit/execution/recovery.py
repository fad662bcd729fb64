"""Recovery: a process started on an existing journal finishes what an earlier one left open.

For every operation the journal holds as started and never finished:

1. Every order the journal says it sent is looked up at its venue by client id (the venue is the
   truth; the old process's memory is gone). Orders still live are cancelled, and their final
   state read back.
2. The fills the venues report for those orders give what the operation did on each venue.
3. An open whose legs are equal and opposite (within each venue's minimum) is finished as it
   stands — on, partly on, or never filled. Otherwise it is unwound: each venue's net is flattened
   reduce-only, and the operation finishes ``rolled_back`` with the cost.
4. A close is completed with a fresh :class:`~hedgekit.execution.CloseExecutor` run.

Every step is journalled (``note`` events), and the operation is finished in the journal, so a
second recovery finds nothing to do. Nothing recorded is lost: the old records stay; recovery
only appends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from hedgekit.errors import VenueError
from hedgekit.execution.close import CloseExecutor
from hedgekit.execution.config import CloseLeg, ExecutionMode, OrderConfig
from hedgekit.execution.liquidity import is_dust
from hedgekit.execution.order import OrderExecutor
from hedgekit.execution.recorder import JournalLike, to_record
from hedgekit.execution.results import ExecutionResult
from hedgekit.model import Fill, OrderStatus, OrderStatusReport, Side
from hedgekit.tracking import VenueSession

__all__ = ["RecoverableJournal", "RecoveryOutcome", "recover"]

log = logging.getLogger("hedgekit.journal")
_ZERO = Decimal(0)


class _OperationRow(Protocol):
    op_id: str
    kind: str
    legs: Any


class _EventRow(Protocol):
    event: str
    data: Any


class RecoverableJournal(JournalLike, Protocol):
    """What recovery needs of a journal (``hedgekit.journal.Journal`` has it)."""

    async def unfinished(self) -> Sequence[Any]: ...

    async def events(self, op_id: str | None = None, *, event: str | None = None) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    """What recovery did with one operation.

    Attributes:
        op_id: The operation.
        kind: ``open`` or ``close``.
        status: The status it was finished with.
        net: Net size the operation holds per venue after recovery.
        cancelled: Orders found live and cancelled.
        fills: Fills the venues reported for the operation's orders.
        detail: What happened, in words.
    """

    op_id: str
    kind: str
    status: str
    net: dict[str, Decimal]
    cancelled: tuple[str, ...] = ()
    fills: tuple[Fill, ...] = field(default=())
    detail: str = ""


async def recover(
    journal: RecoverableJournal,
    sessions: Mapping[str, VenueSession],
    *,
    unwind: OrderConfig | None = None,
    attempts: int = 5,
) -> list[RecoveryOutcome]:
    """Finishes every operation the journal holds as unfinished.

    Args:
        journal: The journal the earlier process wrote.
        sessions: Started sessions for every venue the operations used.
        unwind: How an unbalanced open is flattened (default: aggressive limit, market last).
        attempts: Tries per venue query before recovery gives up on an operation (it stays
            unfinished and is reported ``unresolved``; run recovery again).

    Returns:
        One outcome per operation, in the journal's order.
    """
    cfg = unwind or OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT)
    out = []
    for op in await journal.unfinished():
        try:
            out.append(await _recover_one(journal, sessions, op, cfg, attempts))
        except VenueError as exc:
            log.warning("recovery of %s unresolved: %s", op.op_id, exc)
            out.append(RecoveryOutcome(op.op_id, op.kind, "unresolved", {}, detail=str(exc)))
    return out


async def _status(
    session: VenueSession, symbol: str, cid: str, attempts: int
) -> OrderStatusReport | None:
    err: Exception | None = None
    for _ in range(attempts):
        try:
            async with asyncio.timeout(session.tracker.config.request_timeout_ns / 1e9):
                return await session.venue.order_status(symbol, client_id=cid)
        except (VenueError, TimeoutError) as exc:
            err = exc
    raise VenueError(session.venue.name, f"status of {cid} unavailable: {err}")


async def _recover_one(
    journal: RecoverableJournal,
    sessions: Mapping[str, VenueSession],
    op: Any,
    cfg: OrderConfig,
    attempts: int,
) -> RecoveryOutcome:
    events = await journal.events(op.op_id)
    orders = [e.data for e in events if e.event == "order"]
    cancelled: list[str] = []
    fills: dict[tuple[str, int | str], Fill] = {}
    for o in orders:
        venue, cid, symbol = o["venue"], o["client_id"], o["symbol"]
        session = sessions[venue]
        report = await _status(session, symbol, cid, attempts)
        if report is not None and report.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            try:
                await session.venue.cancel(symbol, client_id=cid)
            except VenueError as exc:
                log.info("recovery: cancel of %s answered %s", cid, exc)
            cancelled.append(f"{venue}:{cid}")
            report = await _status(session, symbol, cid, attempts)
        if report is not None:
            for f in report.fills:
                fills[(venue, f.trade_id)] = f
    net: dict[str, Decimal] = {}
    for leg in op.legs:
        net.setdefault(leg["venue"], _ZERO)
    for f in fills.values():
        net[f.venue] = net.get(f.venue, _ZERO) + f.side.sign * f.size
    await journal.record(
        op.op_id,
        "note",
        {"recovery": "found", "orders": len(orders), "cancelled": cancelled, "net": to_record(net)},
    )
    if op.kind == "close":
        legs = [CloseLeg(leg["venue"], leg["symbol"]) for leg in op.legs]
        result = await CloseExecutor(sessions, id_prefix="rc").close(legs)
        status = result.status.value
        await journal.finish_operation(op.op_id, status, {"recovered": True, **result.to_dict()})
        return RecoveryOutcome(op.op_id, op.kind, status, net, tuple(cancelled), tuple(fills.values()), "close completed")
    symbols = {leg["venue"]: leg["symbol"] for leg in op.legs}
    dust = _largest_min(sessions, symbols)
    total = sum(net.values(), _ZERO)
    if abs(total) <= dust:
        filled = max((abs(v) for v in net.values()), default=_ZERO)
        status = "opened" if filled > 0 else "not_filled"
        detail = "legs balanced: finished as they stand"
    else:
        done = await _unwind(sessions, symbols, net, cfg)
        status = "rolled_back"
        detail = "legs unbalanced: every venue's net flattened"
        for venue, res in done.items():
            net[venue] = net[venue] + res.side.sign * res.filled
            await journal.record(op.op_id, "note", {"recovery": "unwind", **to_record(res.to_dict())})
    cash = sum((-f.side.sign * f.price * f.size - f.fee for f in fills.values()), _ZERO)
    await journal.finish_operation(
        op.op_id,
        status,
        {"recovered": True, "status": status, "net": to_record(net), "cash": str(cash), "detail": detail},
    )
    return RecoveryOutcome(op.op_id, op.kind, status, net, tuple(cancelled), tuple(fills.values()), detail)


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


async def _unwind(
    sessions: Mapping[str, VenueSession],
    symbols: Mapping[str, str],
    net: Mapping[str, Decimal],
    cfg: OrderConfig,
) -> dict[str, ExecutionResult]:
    done: dict[str, ExecutionResult] = {}

    async def one(venue: str) -> None:
        size = net[venue]
        if size == 0:
            return
        sym = symbols[venue]
        ex = OrderExecutor(sessions[venue], id_prefix="ru")
        q = ex.venue.quote(sym)
        if q is not None and is_dust(ex.info(sym).rules, abs(size), q.mid, reduce_only=True):
            return
        side = Side.SELL if size > 0 else Side.BUY
        done[venue] = await ex.execute(sym, side, abs(size), cfg, reduce_only=True, tag="u")

    await asyncio.gather(*(one(v) for v in symbols))
    return done
