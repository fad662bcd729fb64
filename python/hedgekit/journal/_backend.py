"""The storage interface the :class:`~hedgekit.journal.Journal` front end drives.

Backends receive data already encoded (JSON text, secrets masked) and validated; they only store
and fetch, each call one transaction.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

__all__ = ["EVENT_COLUMNS", "OP_COLUMNS", "Backend", "EventRow", "OpFilter", "OpRow"]

OpRow = tuple[str, str, str, str, str, str | None, int, int | None]
"""``(op_id, kind, status, legs, params, result, started_ns, finished_ns)``."""
EventRow = tuple[int, str | None, str, int, str]
"""``(seq, op_id, event, ts_ns, data)``."""

OP_COLUMNS = "op_id, kind, status, legs, params, result, started_ns, finished_ns"
EVENT_COLUMNS = "seq, op_id, event, ts_ns, data"


@dataclass(frozen=True, slots=True)
class OpFilter:
    """Which operations to fetch (every given condition must hold).

    Attributes:
        op_id: Only this one.
        unfinished: Only those never finished.
        since_ns: Started at or after.
        until_ns: Started before.
        kind: Only this kind.
    """

    op_id: str | None = None
    unfinished: bool = False
    since_ns: int | None = None
    until_ns: int | None = None
    kind: str | None = None

    def where(self, placeholder: str) -> tuple[str, list[object]]:
        """The SQL ``WHERE`` clause (empty when unfiltered) and its parameters."""
        conds: list[str] = []
        params: list[object] = []
        if self.op_id is not None:
            conds.append(f"op_id = {placeholder}")
            params.append(self.op_id)
        if self.unfinished:
            conds.append("finished_ns IS NULL")
        if self.since_ns is not None:
            conds.append(f"started_ns >= {placeholder}")
            params.append(self.since_ns)
        if self.until_ns is not None:
            conds.append(f"started_ns < {placeholder}")
            params.append(self.until_ns)
        if self.kind is not None:
            conds.append(f"kind = {placeholder}")
            params.append(self.kind)
        return (" WHERE " + " AND ".join(conds)) if conds else "", params


def events_where(
    op_id: str | None, event: str | None, placeholder: str
) -> tuple[str, list[object]]:
    """The ``WHERE`` clause and parameters of an event query."""
    conds: list[str] = []
    params: list[object] = []
    if op_id is not None:
        conds.append(f"op_id = {placeholder}")
        params.append(op_id)
    if event is not None:
        conds.append(f"event = {placeholder}")
        params.append(event)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


class Backend(abc.ABC):
    """A place the journal is stored. Every method is one transaction, committed on return."""

    schema_version: int
    self_timed: bool = False
    """True when the backend enforces each call's timeout itself (and rolls back what misses it);
    the journal then only waits a little longer as a backstop."""

    @abc.abstractmethod
    async def start(
        self, op_id: str, kind: str, legs: str, params: str, event_data: str, ts_ns: int
    ) -> int:
        """Insert a running operation and its ``"start"`` event; return the event's seq.

        Raises:
            JournalError: ``op_id`` already exists.
        """

    @abc.abstractmethod
    async def append(
        self, op_id: str | None, items: list[tuple[str, str]], ts_ns: int
    ) -> list[int]:
        """Insert events ``(event, data)`` in order; return their seqs.

        Raises:
            JournalError: ``op_id`` is not ``None`` and no such operation exists.
        """

    @abc.abstractmethod
    async def finish(
        self, op_id: str, status: str, result: str, event_data: str, ts_ns: int
    ) -> int:
        """Mark the operation finished with its result and append its ``"result"`` event.

        Raises:
            JournalError: No such operation, or it is already finished.
        """

    @abc.abstractmethod
    async def operations(self, where: OpFilter) -> list[OpRow]:
        """Operations matching ``where``, by start time then id."""

    @abc.abstractmethod
    async def events(self, op_id: str | None, event: str | None) -> list[EventRow]:
        """Events matching the filters, in seq order."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection (idempotent)."""
