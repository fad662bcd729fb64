"""Secrets that never reach logs, reprs or files.

Wrap every credential in :class:`Secret` as soon as it is read (from config, the environment, a
file). Its ``repr``/``str`` are masked; only :meth:`Secret.reveal` gives the value, to the code
that signs a request. Every secret ever created is registered, and :func:`redact` /
:func:`redact_data` replace any registered value that slipped into text or data (a message that
quotes a request body, an exception that embeds a key) with ``***``. Logging, the journal and
reports run their output through these.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "Secret", "redact", "redact_data", "registered_count"]

MASK = "***"
_MIN_LEN = 4  # shorter values would mask ordinary text ("1", "abc")
_lock = threading.Lock()
_values: set[str] = set()


class Secret:
    """A credential. ``str(s)`` and ``repr(s)`` are masked; ``s.reveal()`` is the value.

    Args:
        value: The secret text (at least 4 characters, so masking it cannot mangle normal text).

    Raises:
        ValueError: An empty or too short value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < _MIN_LEN:
            raise ValueError(f"a secret must be a string of at least {_MIN_LEN} characters")
        self._value = value
        with _lock:
            _values.add(value)

    def reveal(self) -> str:
        """The value itself. Pass it only to the code that signs or authenticates."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:  # pickling would write the value to a file
        raise TypeError("a Secret cannot be pickled")


def redact(text: str) -> str:
    """``text`` with every registered secret value replaced by ``***``."""
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text


def redact_data(value: Any) -> Any:
    """A copy of JSON-like data (dicts, lists, strings, numbers) with secrets masked: a
    :class:`Secret` becomes ``***``, and registered values inside strings and keys are masked."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def registered_count() -> int:
    """How many distinct secret values are registered (for tests and diagnostics)."""
    with _lock:
        return len(_values)
