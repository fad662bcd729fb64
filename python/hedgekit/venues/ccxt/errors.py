"""ccxt's exceptions mapped onto hedgekit's definitive and ambiguous venue errors.

The mapping reads the exception's class and its bases by name, most derived first, so it needs
no ccxt import and a subclass always wins over its base: ccxt's ``RequestTimeout``,
``ExchangeNotAvailable``, ``DDoSProtection`` and ``RateLimitExceeded`` all derive from
``NetworkError``, and ``OrderNotFound`` from ``InvalidOrder``.

Definitive (the exchange refused; nothing happened): ``InvalidOrder`` (and its subclasses),
``InsufficientFunds``, ``OrderNotFound``, ``BadSymbol``, ``BadRequest``,
``AuthenticationError``, ``NotSupported``, ``ExchangeError``; ``RateLimitExceeded`` (the
exchange's 429: refused, retry later). Ambiguous (the request may have been acted on; a status
query decides): ``RequestTimeout``, ``ExchangeNotAvailable``, ``DDoSProtection``,
``NetworkError``, ``OperationFailed``, and a timeout or connection error of our own.
"""

from __future__ import annotations

import asyncio

from hedgekit.errors import (
    AmbiguousOutcomeError,
    OrderRejectedError,
    PostOnlyRejectedError,
    RateLimitedError,
    UnknownOrderError,
    VenueDisconnectedError,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
)

__all__ = ["is_ccxt_error", "map_error", "reason_of"]

_DEFINITIVE_REASONS = {
    "InsufficientFunds": "insufficient_margin",
    "BadSymbol": "unknown_symbol",
    "DuplicateOrderId": "duplicate_client_id",
}

# text of an exchange's refusal → hedgekit's venue-neutral reason (lower-cased substrings)
_TEXT_REASONS = (
    ("post only", "post_only"),
    ("post-only", "post_only"),
    ("immediately matched", "post_only"),
    ("-5022", "post_only"),
    ("reduce only", "reduce_only"),
    ("reduceonly", "reduce_only"),
    ("reduce-only", "reduce_only"),
    ("-2022", "reduce_only"),
    ("minimum value", "min_notional"),
    ("min notional", "min_notional"),
    ("-4164", "min_notional"),
    ("tick size", "off_tick"),
    ("insufficient margin", "insufficient_margin"),
    ("margin is insufficient", "insufficient_margin"),
)


def _names(exc: BaseException) -> list[str]:
    return [k.__name__ for k in type(exc).__mro__]


def is_ccxt_error(exc: BaseException) -> bool:
    """True for an exception of ccxt's own hierarchy (``ccxt.BaseError``)."""
    return any(
        k.__name__ == "BaseError" and k.__module__.startswith("ccxt") for k in type(exc).__mro__
    )


def reason_of(text: str) -> str:
    """The venue-neutral reason of a refusal from its text (``"other"`` when none fits)."""
    low = text.lower()
    for needle, reason in _TEXT_REASONS:
        if needle in low:
            return reason
    return "other"


def map_error(venue: str, exc: BaseException) -> VenueError | None:
    """The hedgekit error for ``exc`` raised by a ccxt call, ``None`` when it is neither a ccxt
    error nor a transport failure (a bug, to be raised as it is).

    The first class in ``exc``'s method resolution order that the table knows decides, so a
    subclass is mapped before its base (``RequestTimeout`` before ``NetworkError``).
    """
    text = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return VenueTimeoutError(venue, f"no answer in time: {text}")
    for name in _names(exc):
        if name == "OrderImmediatelyFillable":
            return PostOnlyRejectedError(venue, text)
        if name == "OrderNotFound":
            return UnknownOrderError(venue, text)
        if name == "RateLimitExceeded":
            return RateLimitedError(venue, text, 429, 1.0)
        if name == "RequestTimeout":
            return VenueTimeoutError(venue, text)
        if name in ("ExchangeNotAvailable", "DDoSProtection"):
            return VenueUnavailableError(venue, text)
        if name in ("NetworkError", "OperationFailed"):
            return VenueDisconnectedError(venue, text)
        if name in _DEFINITIVE_REASONS:
            return OrderRejectedError(venue, text, reason=_DEFINITIVE_REASONS[name])
        if name == "InvalidOrder":
            reason = reason_of(text)
            if reason == "post_only":
                return PostOnlyRejectedError(venue, text)
            return OrderRejectedError(venue, text, reason=reason)
        if name in ("AuthenticationError", "BadRequest", "NotSupported", "ExchangeError"):
            return OrderRejectedError(venue, text, reason=reason_of(text))
        if name == "BaseError" and is_ccxt_error(exc):
            return AmbiguousOutcomeError(venue, text)
    if isinstance(exc, ConnectionError | OSError):
        return VenueDisconnectedError(venue, text)
    if type(exc).__module__.startswith("aiohttp"):
        return VenueDisconnectedError(venue, text)
    return None
