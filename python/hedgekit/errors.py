"""Exceptions raised by hedgekit.

Every error hedgekit raises on purpose is a :class:`HedgekitError`. Errors about a bad value also
derive from :class:`ValueError`, so code that already catches ``ValueError`` keeps working.
Expected outcomes (a duplicate fill, a crossed book update) are return values, not exceptions.
"""

from __future__ import annotations

from hedgekit import _core

__all__ = [
    "BookIntegrityError",
    "ConversionError",
    "HedgekitError",
    "InexactError",
    "InvalidArgumentError",
    "InvalidOrderError",
    "NumberRangeError",
    "ParseError",
    "RustPanic",
]


class HedgekitError(Exception):
    """Base class of every exception hedgekit raises on purpose."""


class InvalidArgumentError(HedgekitError, ValueError):
    """An argument is outside its documented domain (a negative size, an unknown side, a zero
    window, fills that would overflow)."""


class ConversionError(HedgekitError, ValueError):
    """A value could not be read as an exact decimal number.

    Attributes:
        input: The offending text (truncated to 64 characters).
        reason: Why it was refused (for example ``"no digits"`` or ``"inexact"``).
    """

    def __init__(self, message: str, input: str, reason: str) -> None:  # noqa: A002
        super().__init__(message)
        self.input = input
        self.reason = reason


class InexactError(ConversionError):
    """A value has more than 9 decimals and would have to be rounded to be held exactly."""


class NumberRangeError(ConversionError):
    """A value, or a result computed from it, is outside the representable range."""


class InvalidOrderError(HedgekitError, ValueError):
    """An order is not placeable on an instrument.

    Attributes:
        reason: One of ``"non_positive_price"``, ``"non_positive_size"``, ``"off_tick"``,
            ``"off_step"``, ``"too_many_decimals"``, ``"below_min_size"``,
            ``"below_min_notional"``, ``"out_of_range"``.
        detail: A human-readable account of the failing rule and values.
    """

    def __init__(self, message: str, reason: str, detail: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class BookIntegrityError(HedgekitError):
    """An order book cannot be trusted (``kind``: ``"sequence_gap"``, ``"stale"``,
    ``"crossed"`` or ``"not_synced"``).

    Attributes:
        kind: What is wrong.
        detail: A human-readable account with the values involved.
    """

    def __init__(self, message: str, kind: str, detail: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.detail = detail


class ParseError(HedgekitError, ValueError):
    """A venue message could not be parsed.

    Attributes:
        position: Byte offset in the message where the problem was found.
        message: What was expected there.
    """

    def __init__(self, text: str, position: int, message: str) -> None:
        super().__init__(text)
        self.position = position
        self.message = message


RustPanic: type[BaseException] = _core.PanicException
"""The class a Rust panic (a bug in hedgekit) surfaces as: pyo3's ``PanicException``.

A panic never aborts the process: the release build keeps unwinding, and the panic reaches Python
as this exception. It derives from ``BaseException`` (so a broad ``except Exception`` does not
hide a bug); the event loop keeps running. Catch it explicitly where a bot must survive one.
"""
