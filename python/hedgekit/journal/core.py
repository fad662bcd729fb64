"""The journal: an append-only, durable record of every operation and what happened in it.

See :func:`open_journal` and :class:`Journal`; ``docs/journal.md`` describes the storage.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, Self, TypeVar

from hedgekit.journal._backend import Backend, EventRow, OpFilter, OpRow
from hedgekit.journal.errors import JournalError, JournalTimeoutError
from hedgekit.journal.records import EVENT_KINDS, EventRecord, OperationRecord, decode, encode
from hedgekit.journal.urls import mask_url, url_problem
from hedgekit.secrets import redact

__all__ = ["DEFAULT_SQLITE_FILE", "Journal", "open_journal"]

DEFAULT_SQLITE_FILE = "hedgekit-journal.sqlite3"
"""The SQLite file used when no URL is given (in the current working directory)."""

T = TypeVar("T")
_BACKSTOP_S = 1.0  # extra wait for a backend that times its calls itself (a stuck disk)


def _sqlite_path(url: str) -> str | None:
    """The SQLite path ``url`` names, or ``None`` when it is not a SQLite URL or path."""
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:") :]
        if rest.startswith("///"):
            return rest[3:] or ":memory:"
        if rest in ("", "//"):
            return ":memory:"
        raise JournalError(
            f"malformed SQLite journal URL {mask_url(url)!r}: use sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    if "://" not in url:
        return url
    return None


async def open_journal(
    url: str | None = None, *, timeout_s: float = 5.0, read_only: bool = False
) -> Journal:
    """Open (creating and migrating if needed) a journal, or open an existing one read-only.

    Args:
        url: Where the journal lives:

            - ``None``: the SQLite file ``hedgekit-journal.sqlite3`` in the current directory;
            - a plain path, or ``sqlite:///relative/path.db`` / ``sqlite:////absolute/path.db``
              (SQLAlchemy's convention: the path is what follows ``sqlite:///``);
              ``sqlite://`` or ``:memory:`` for a throw-away in-memory journal;
            - ``postgresql://user:password@host:port/dbname`` (or ``postgres://``) for
              PostgreSQL (libpq URL syntax; query parameters are passed on).
        timeout_s: The time limit of every call of the journal, opening included, in real
            time (also when the caller runs on a virtual-time loop).
        read_only: Read an existing journal without ever writing to it: nothing is created or
            migrated (SQLite: the file opened with ``mode=ro``, and ``immutable=1`` when its
            directory cannot even hold the lock files, as in a read-only location; PostgreSQL:
            a read-only session). A schema of any version from
            :data:`~hedgekit.journal.schema.OLDEST_READABLE_VERSION` to the latest is read as it
            is; every write raises :class:`JournalError`.

    Returns:
        The open journal, its schema at the latest version (read-only: the version found).

    Raises:
        JournalError: An unknown URL scheme, or the storage cannot be opened (read-only: a
            SQLite file that does not exist).
        JournalSchemaError: The schema is newer than this hedgekit knows, or a migration failed;
            read-only: the database is not a journal (an empty file, another application's
            database, not a SQLite file at all) or its schema cannot be read as it is.
        JournalTimeoutError: Opening took longer than ``timeout_s``.
        ValueError: ``timeout_s`` is not positive.
    """
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
    raw = os.path.join(os.getcwd(), DEFAULT_SQLITE_FILE) if url is None else url
    if not isinstance(raw, str) or not raw:
        raise JournalError("the journal URL must be a non-empty string")
    backend: Backend
    path = _sqlite_path(raw)
    if path is not None:
        from hedgekit.journal._sqlite import SqliteBackend

        backend = await _bounded(
            SqliteBackend.open(path, timeout_s, read_only=read_only), timeout_s, "open"
        )
        shown = raw if url is not None else f"sqlite:///{path}"
    else:
        scheme = raw.split("://", 1)[0].lower()
        if scheme not in ("postgresql", "postgres"):
            if not re.fullmatch(r"[a-z][a-z0-9+.\-]*", scheme):
                scheme = "(malformed)"  # it may hold anything, a password included
            raise JournalError(
                f"unknown journal URL scheme {scheme!r} in {mask_url(raw)!r}: use a path, "
                "sqlite:///path, postgresql://... or postgres://..."
            )
        problem = url_problem(raw)
        if problem is not None:
            raise JournalError(f"malformed PostgreSQL journal URL {mask_url(raw)!r}: {problem}")
        from hedgekit.journal._postgres import PostgresBackend

        backend = await _bounded(
            PostgresBackend.open(raw, timeout_s, read_only=read_only),
            timeout_s + _BACKSTOP_S,  # it times the opening itself, in real time
            "open",
        )
        shown = raw
    return Journal(backend, shown, timeout_s, read_only=read_only)


async def _bounded(aw: Awaitable[T], timeout_s: float, what: str) -> T:
    try:
        return await asyncio.wait_for(aw, timeout_s)
    except TimeoutError as exc:
        if isinstance(exc, JournalError):
            raise
        raise JournalTimeoutError(f"journal {what} did not complete within {timeout_s} s") from exc


def _ts(ts_ns: int | None) -> int:
    if ts_ns is None:
        return time.time_ns()
    if isinstance(ts_ns, bool) or not isinstance(ts_ns, int) or ts_ns < 0:
        raise ValueError(f"ts_ns must be a non-negative int (ns since the epoch), got {ts_ns!r}")
    return ts_ns


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _op_record(row: OpRow) -> OperationRecord:
    op_id, kind, status, legs, params, result, started_ns, finished_ns = row
    return OperationRecord(
        op_id=op_id,
        kind=kind,
        status=status,
        legs=decode(legs),
        params=decode(params),
        result=decode(result),
        started_ns=int(started_ns),
        finished_ns=None if finished_ns is None else int(finished_ns),
    )


def _event_record(row: EventRow) -> EventRecord:
    seq, op_id, event, ts_ns, data = row
    return EventRecord(seq=int(seq), op_id=op_id, event=event, ts_ns=int(ts_ns), data=decode(data))


class Journal:
    """An open journal. Create it with :func:`open_journal`; use it as an async context manager
    or call :meth:`close`.

    Every write is committed (on disk, or acknowledged by PostgreSQL with synchronous commit)
    before the call returns. Every payload goes through :func:`hedgekit.secrets.redact_data`
    first. Every call is bounded by the journal's ``timeout_s``
    (:class:`~hedgekit.journal.errors.JournalTimeoutError`).

    Attributes:
        url: Where the journal lives, any password masked.
        schema_version: The schema version of the storage (the latest this hedgekit knows;
            read-only: the version found).
        timeout_s: The time limit of every call.
        read_only: True when opened read-only: every write raises ``JournalError``.
    """

    def __init__(
        self, backend: Backend, url: str, timeout_s: float, *, read_only: bool = False
    ) -> None:
        """Wrap an open backend (use :func:`open_journal` instead); ``url`` is kept with any
        password masked."""
        self._backend = backend
        self.url = mask_url(url)
        self.schema_version = backend.schema_version
        self.timeout_s = timeout_s
        self.read_only = read_only
        self._closed = False

    def __repr__(self) -> str:
        ro = ", read_only=True" if self.read_only else ""
        return f"Journal(url={self.url!r}, schema_version={self.schema_version}{ro})"

    __str__ = __repr__

    async def _call(self, aw: Awaitable[T], what: str) -> T:
        if self._closed or (self.read_only and what == "write"):
            if asyncio.iscoroutine(aw):
                aw.close()
            if self._closed:
                raise JournalError("the journal is closed")
            raise JournalError(f"the journal {self.url} is open read-only: nothing written")
        limit = self.timeout_s + (_BACKSTOP_S if self._backend.self_timed else 0.0)
        return await _bounded(aw, limit, what)

    async def start_operation(
        self,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        *,
        op_id: str | None = None,
        ts_ns: int | None = None,
    ) -> str:
        """Record that an operation started (status ``"running"``), with its legs and parameters.

        Also appends a ``"start"`` event ``{"kind", "legs", "params"}``.

        Args:
            kind: What the operation is (``"open"``, ``"close"``, ...).
            legs: One dict per leg (venue, symbol, side, size, ...).
            params: The operation's parameters (mode, deadline, ...).
            op_id: Its id; a new ``uuid4().hex`` when not given.
            ts_ns: When it started (default: now).

        Returns:
            The operation's id.

        Raises:
            JournalError: An operation with this id exists already, or the write failed.
            ValueError: An empty kind or op_id, or a bad timestamp.
        """
        kind = redact(_text("kind", kind))
        oid = uuid.uuid4().hex if op_id is None else _text("op_id", op_id)
        if not isinstance(legs, list | tuple):
            raise ValueError("legs must be a list of dicts")
        ts = _ts(ts_ns)
        legs_json = encode(list(legs))
        params_json = encode(params)
        event_json = encode(
            {"kind": kind, "legs": decode(legs_json), "params": decode(params_json)}
        )
        await self._call(
            self._backend.start(oid, kind, legs_json, params_json, event_json, ts), "write"
        )
        return oid

    async def record(
        self, op_id: str | None, event: str, data: dict[str, Any], *, ts_ns: int | None = None
    ) -> int:
        """Append one event.

        Args:
            op_id: The operation it belongs to (``None`` for an event outside any operation).
            event: One of ``"order"``, ``"ack"``, ``"reject"``, ``"fill"``, ``"cancel"``,
                ``"cancel_answer"``, ``"status"``, ``"incident"``, ``"markout"``, ``"funding"``,
                ``"note"``.
            data: Its payload (JSON-like; Decimals are stored as exact strings).
            ts_ns: When (default: now).

        Returns:
            The event's sequence id (increasing in commit order).

        Raises:
            ValueError: An unknown event type or a bad timestamp.
            JournalDataError: ``data`` holds a value with no JSON form (nothing written; a
                ``ValueError`` too).
            JournalError: ``op_id`` names no operation, or the write failed.
        """
        (seq,) = await self.record_many(op_id, [(event, data)], ts_ns=ts_ns)
        return seq

    async def record_many(
        self,
        op_id: str | None,
        items: list[tuple[str, dict[str, Any]]],
        *,
        ts_ns: int | None = None,
    ) -> list[int]:
        """Append several events in one transaction (all or none), in order.

        Args:
            op_id: The operation they belong to (or ``None``).
            items: ``(event, data)`` pairs, as for :meth:`record`.
            ts_ns: The time of every one of them (default: now).

        Returns:
            Their sequence ids, in order.

        Raises:
            ValueError: An unknown event type or a bad timestamp.
            JournalDataError: A payload holds a value with no JSON form (nothing written).
            JournalError: ``op_id`` names no operation, or the write failed.
        """
        if op_id is not None:
            _text("op_id", op_id)
        ts = _ts(ts_ns)
        encoded: list[tuple[str, str]] = []
        for event, data in items:
            if event not in EVENT_KINDS:
                raise ValueError(
                    f"unknown journal event {event!r}: expected one of {sorted(EVENT_KINDS)}"
                )
            if not isinstance(data, dict):
                raise ValueError(f"event data must be a dict, got {type(data).__name__}")
            encoded.append((event, encode(data)))
        if not encoded:
            return []
        return await self._call(self._backend.append(op_id, encoded, ts), "write")

    async def finish_operation(
        self, op_id: str, status: str, result: dict[str, Any], *, ts_ns: int | None = None
    ) -> None:
        """Record an operation's result and mark it finished.

        Also appends a ``"result"`` event ``{"status", "result"}``.

        Args:
            op_id: The operation.
            status: How it ended (``"opened"``, ``"closed"``, ``"rolled_back"``, ...; not
                ``"running"``).
            result: The result record (typically ``AtomicResult.to_dict()``).
            ts_ns: When it finished (default: now).

        Raises:
            JournalError: No such operation, it is already finished, or the write failed.
            ValueError: An empty or ``"running"`` status, or a bad timestamp.
        """
        _text("op_id", op_id)
        status = redact(_text("status", status))
        if status == "running":
            raise ValueError('a finished operation cannot have status "running"')
        ts = _ts(ts_ns)
        result_json = encode(result)
        event_json = encode({"status": status, "result": decode(result_json)})
        await self._call(self._backend.finish(op_id, status, result_json, event_json, ts), "write")

    async def unfinished(self) -> list[OperationRecord]:
        """Operations started and never finished, oldest first: what a restarted process must
        reconcile with the venues and complete or unwind."""
        rows = await self._call(self._backend.operations(OpFilter(unfinished=True)), "read")
        return [_op_record(r) for r in rows]

    async def operation(self, op_id: str) -> OperationRecord | None:
        """The operation ``op_id``, or ``None`` when there is none."""
        rows = await self._call(self._backend.operations(OpFilter(op_id=op_id)), "read")
        return _op_record(rows[0]) if rows else None

    async def operations(
        self,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        kind: str | None = None,
    ) -> list[OperationRecord]:
        """Operations started in ``[since_ns, until_ns)`` (either bound optional), optionally of
        one kind, oldest first."""
        where = OpFilter(since_ns=since_ns, until_ns=until_ns, kind=kind)
        rows = await self._call(self._backend.operations(where), "read")
        return [_op_record(r) for r in rows]

    async def events(
        self, op_id: str | None = None, *, event: str | None = None
    ) -> list[EventRecord]:
        """Events in sequence order: all of them, or those of one operation, optionally only of
        one type (``"start"`` and ``"result"`` included)."""
        rows = await self._call(self._backend.events(op_id, event), "read")
        return [_event_record(r) for r in rows]

    async def close(self) -> None:
        """Close the journal (idempotent). Every call after this raises ``JournalError``."""
        if self._closed:
            return
        self._closed = True
        await self._backend.close()

    async def __aenter__(self) -> Self:
        """The journal itself (it is already open)."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the journal."""
        await self.close()
