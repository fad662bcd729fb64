"""Exceptions raised by hedgekit.

Every error hedgekit raises on purpose is a :class:`HedgekitError`. Errors about a bad value also
derive from :class:`ValueError`, so code that already catches ``ValueError`` keeps working.
Expected outcomes (a duplicate fill, a crossed book update) are return values, not exceptions.
"""

from __future__ import annotations

from hedgekit import _core
from hedgekit.secrets import redact

__all__ = [
    "BookIntegrityError",
    "ConversionError",
    "HedgekitError",
    "InexactError",
    "InvalidArgumentError",
    "InvalidOrderError",
    "KillSwitchEngagedError",
    "MissingExtraError",
    "NumberRangeError",
    "ParseError",
    "RunnerClosedError",
    "RunnerError",
    "RunnerThreadError",
    "RustPanic",
    "VenueError",
    "OrderRejectedError",
    "PostOnlyRejectedError",
    "LeverageRejectedError",
    "RateLimitedError",
    "UnknownOrderError",
    "VenueNotReadyError",
    "VenueUnreachableError",
    "AmbiguousOutcomeError",
    "VenueTimeoutError",
    "VenueDisconnectedError",
    "VenueUnavailableError",
]


class HedgekitError(Exception):
    """Base class of every exception hedgekit raises on purpose."""


class InvalidArgumentError(HedgekitError, ValueError):
    """An argument is outside its documented domain (a negative size, an unknown side, a zero
    window, fills that would overflow)."""


class KillSwitchEngagedError(HedgekitError):
    """The kill switch is latched (:class:`hedgekit.execution.KillSwitch`): no new exposure
    until it is released."""


class RunnerError(HedgekitError):
    """A :class:`hedgekit.Runner` cannot do what was asked (not started, or its loop thread is
    gone)."""


class RunnerClosedError(RunnerError):
    """The :class:`hedgekit.Runner` is shutting down or shut down: it takes no more work. Also
    the outcome of an operation the shutdown had to cancel when its ``timeout`` ran out (its
    legs may then be exposed: read the venues' positions)."""


class RunnerThreadError(RunnerError):
    """A blocking call of a :class:`hedgekit.Runner` (or a wait on one of its futures that is
    not done yet) was made on the runner's own loop thread, where it would wait for itself
    forever."""


class MissingExtraError(HedgekitError, ImportError):
    """A feature needs an optional extra that is not installed (``pip install
    'hedgekit[lighter]'``).

    Attributes:
        extra: The extra's name.
    """

    def __init__(self, extra: str, what: str) -> None:
        super().__init__(f"{what} needs the {extra!r} extra: pip install 'hedgekit[{extra}]'")
        self.extra = extra


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


class VenueError(HedgekitError):
    """A venue refused a request or did not answer it.

    The one question that matters after a venue error is whether the outcome is known:
    :attr:`definitive` is ``True`` when the venue certainly did **not** act (a rejection), and
    ``False`` when it may have (a timeout, a disconnect, a 5xx): an order placed with an
    ambiguous outcome stays in flight until a status query resolves it.

    Attributes:
        venue: The venue's name.
        code: The venue's error code as it sent it (``-4164``, ``21706``, ``429``), or ``None``.
        message: The venue's own text, with any secret it echoes (an API key, a bearer token, a
            signature) masked by :func:`hedgekit.secrets.redact`; ``str(error)`` too.
    """

    definitive: bool = True

    def __init__(self, venue: str, message: str, code: int | str | None = None) -> None:
        message = redact(message)
        text = f"{venue}: {message}" if code is None else f"{venue}: [{code}] {message}"
        super().__init__(text)
        self.venue = venue
        self.code = code
        self.message = message


class OrderRejectedError(VenueError):
    """The venue rejected the request; nothing happened (definitive).

    Attributes:
        reason: A venue-neutral category: ``"post_only"``, ``"min_size"``,
            ``"min_notional"``, ``"off_tick"``, ``"off_step"``, ``"rate_limited"``,
            ``"reduce_only"``, ``"unknown_symbol"``, ``"duplicate_client_id"``,
            ``"insufficient_margin"`` (the order would leave the account short of initial
            margin), ``"leverage_above_cap"`` (the position would pass the margin tier's
            leverage cap; for a leverage change, :class:`LeverageRejectedError`),
            ``"expired"`` (the request reached the venue after the deadline it carried),
            ``"injected"`` (a simulated fault) or ``"other"``.
    """

    def __init__(
        self, venue: str, message: str, code: int | str | None = None, reason: str = "other"
    ) -> None:
        super().__init__(venue, message, code)
        self.reason = reason


class PostOnlyRejectedError(OrderRejectedError):
    """A post-only order would have crossed and was refused synchronously (Hyperliquid's
    "Post only order would have immediately matched", Binance's -5022). Reprice and retry."""

    def __init__(self, venue: str, message: str, code: int | str | None = None) -> None:
        super().__init__(venue, message, code, reason="post_only")


class LeverageRejectedError(OrderRejectedError):
    """The venue refused a leverage change: above the cap of the margin tier the current
    position is in, or not a leverage it offers. The leverage stays what it was (definitive).

    Attributes:
        reason: ``"leverage_above_cap"``.
    """

    def __init__(self, venue: str, message: str, code: int | str | None = None) -> None:
        super().__init__(venue, message, code, reason="leverage_above_cap")


class RateLimitedError(OrderRejectedError):
    """The venue's rate limit refused the request (HTTP 429/418, Lighter 23000); nothing
    happened.

    Attributes:
        retry_after_s: Seconds until the request would pass.
    """

    def __init__(
        self, venue: str, message: str, code: int | str | None, retry_after_s: float
    ) -> None:
        super().__init__(venue, message, code, reason="rate_limited")
        self.retry_after_s = retry_after_s


class UnknownOrderError(VenueError):
    """The venue does not know the order (Hyperliquid ``unknownOid``, Aster -2013)."""


class VenueNotReadyError(VenueError):
    """The venue's connection is not ready to trade: it is down, reconnecting, or still
    reconciling what happened while it was down. Nothing was sent (definitive); retry once
    :meth:`hedgekit.venues.transport.WsClient.wait_ready` returns."""


class VenueUnreachableError(VenueError):
    """A connection to the venue could not be opened (refused, DNS, TLS handshake, connect
    timeout). The request never left this process, so nothing happened (definitive)."""


class AmbiguousOutcomeError(VenueError):
    """The request may or may not have been acted on: the outcome must be found by a query."""

    definitive = False


class VenueTimeoutError(AmbiguousOutcomeError):
    """No answer arrived within the request's timeout."""


class VenueDisconnectedError(AmbiguousOutcomeError):
    """The connection dropped while the request was outstanding."""


class VenueUnavailableError(AmbiguousOutcomeError):
    """The venue answered with an overload or 5xx error (Aster's 503 means the outcome is
    unknown)."""


RustPanic: type[BaseException] = _core.PanicException
"""The class a Rust panic (a bug in hedgekit) surfaces as: pyo3's ``PanicException``.

A panic never aborts the process: the release build keeps unwinding, and the panic reaches Python
as this exception. It derives from ``BaseException`` (so a broad ``except Exception`` does not
hide a bug); the event loop keeps running. Catch it explicitly where a bot must survive one.
"""
