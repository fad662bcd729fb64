"""Record types read back from the journal, and the encoding of the data written to it.

Every payload is made JSON-like (``Decimal`` becomes its exact string, enums their value,
objects with ``to_dict()`` their dict, dataclasses a dict of their fields), then passed through
:func:`hedgekit.secrets.redact_data`, then serialised with orjson. Values therefore come back as
JSON types: Decimals as strings (exact), tuples as lists.

Redaction masks a :class:`~hedgekit.secrets.Secret`, any registered secret value inside a string
or a key, the whole value under a secret-looking key (``api_key``, ``auth_token``,
``apiSecret``, ``password``, ... — :func:`hedgekit.secrets.is_secret_key`) at any depth, and
secrets written in free text (``api_key=…``, ``Bearer …``, a URL password, a private key after a
secret-looking word): see :mod:`hedgekit.secrets`. Ordinary trading data (ids, prices, sizes,
transaction hashes) is stored unchanged.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from hedgekit.journal.errors import JournalDataError
from hedgekit.secrets import Secret, redact_data

__all__ = ["EVENT_KINDS", "EventRecord", "OperationRecord", "decode", "encode", "jsonable"]

EVENT_KINDS: frozenset[str] = frozenset(
    {
        "order",
        "ack",
        "reject",
        "fill",
        "cancel",
        "cancel_answer",
        "status",
        "incident",
        "markout",
        "funding",
        "note",
    }
)
"""Events a caller may record with :meth:`Journal.record` (``"funding"``: one payment a venue booked
on a leg, ``{venue, symbol, amount, rate, position_size, price, ...}`` at the payment's time,
outside any operation). The journal itself also writes
``"start"`` (an operation began, with its legs and parameters) and ``"result"`` (it finished)."""


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One operation (an open, a close, ...) as the journal holds it.

    Attributes:
        op_id: The operation's id.
        kind: What it is (``"open"``, ``"close"``, ...; free text chosen by the caller).
        status: ``"running"`` until finished, then the status given to ``finish_operation``.
        legs: The legs given when it started.
        params: The parameters given when it started.
        result: The result record (``None`` while running).
        started_ns: When it started (ns since the epoch).
        finished_ns: When it finished (``None`` while running).
    """

    op_id: str
    kind: str
    status: str
    legs: list[dict[str, Any]]
    params: dict[str, Any]
    result: dict[str, Any] | None
    started_ns: int
    finished_ns: int | None

    @property
    def finished(self) -> bool:
        """True once ``finish_operation`` was called for it."""
        return self.finished_ns is not None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event of the journal.

    Attributes:
        seq: Sequence id, increasing in the order events were committed.
        op_id: The operation it belongs to (``None`` for events outside any operation).
        event: Its type (one of :data:`EVENT_KINDS`, or ``"start"``/``"result"``).
        ts_ns: When (ns since the epoch).
        data: Its payload, as JSON data (Decimals as strings).
    """

    seq: int
    op_id: str | None
    event: str
    ts_ns: int
    data: dict[str, Any]


def jsonable(value: Any) -> Any:
    """``value`` as JSON-like data, :class:`~hedgekit.secrets.Secret` values kept as they are
    (for :func:`~hedgekit.secrets.redact_data` to mask).

    Args:
        value: Dicts, lists, tuples, sets, strings, numbers, booleans, ``None``, Decimals, enums,
            objects with ``to_dict()`` and dataclasses, nested in any way.

    Returns:
        The same data with Decimals as strings, enums as their value, keys as strings.

    Raises:
        JournalDataError: A value of a type that has no JSON form.
    """
    if value is None or isinstance(value, bool | int | float | str | Secret):
        if isinstance(value, enum.Enum):
            return value.value
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return [jsonable(v) for v in sorted(value, key=repr)]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise JournalDataError(f"cannot journal a value of type {type(value).__name__}")


def encode(value: Any) -> str:
    """JSON text of ``value`` with every secret masked (see :func:`jsonable` and
    :func:`hedgekit.secrets.redact_data`: registered values, values under secret-looking keys at
    any depth, secrets written in free text).

    Raises:
        JournalDataError: A value that has no JSON form.
    """
    clean = redact_data(jsonable(value))
    try:
        return orjson.dumps(clean).decode()
    except TypeError as exc:  # pragma: no cover - jsonable leaves only JSON types
        raise JournalDataError(f"cannot journal this data: {exc}") from exc


def decode(text: str | None) -> Any:
    """The data of JSON ``text`` (``None`` for ``None``)."""
    return None if text is None else orjson.loads(text)
