"""Faults on the wire, shared by every fake venue.

A :class:`WireFaults` is owned by one fake server. A test switches faults on before the server
starts (``FakeHyperliquid(faults=WireFaults(seed=1).rate_limit(2))``) or while it runs
(``fake.faults.drop_ws()``). Counted faults hit the next ``count`` requests of the kinds named;
probabilistic ones draw from the fault object's own seeded :class:`random.Random`, so a run with
the same seed and the same sequence of requests meets the same faults.

What each fault does is the server's business; this module only decides *when*:

- :meth:`WireFaults.rate_limit`: the request is refused with HTTP 429 and the venue's body,
  before it reaches the venue (nothing is applied).
- :meth:`WireFaults.server_error`: HTTP 5xx before the venue (nothing is applied).
- :meth:`WireFaults.lose_answer`: the request *is* applied, and its answer is never sent
  (``reset=False``: the server holds the connection open until the client gives up) or the
  connection is reset (``reset=True``).
- :meth:`WireFaults.stall`: the request reaches the venue late: held before it is applied, then
  applied at the venue's time of then and answered as usual.
- :meth:`WireFaults.drop_ws`: every open WebSocket is closed now.
- :meth:`WireFaults.silence_ws`: every WebSocket (and any opened later) stops sending, without
  closing, until :meth:`WireFaults.resume_ws`.
- :meth:`WireFaults.accept_then_cancel`: the next orders that would rest are answered as
  accepted, then cancelled by the venue a moment later.
- :meth:`WireFaults.cancel_fill_race`: the next cancels find their order filled between the
  cancel's arrival and its answer; the fill's events are sent only after the answer.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Fault", "FaultKind", "WireFaults", "WsLink"]

_KINDS = frozenset({"info", "exchange", "ws_post"})


class FaultKind(enum.StrEnum):
    """What a request fault does."""

    RATE_LIMIT = "rate_limit"
    """Refused with HTTP 429 before the venue sees it."""
    SERVER_ERROR = "server_error"
    """Refused with an HTTP 5xx before the venue sees it."""
    LOST_ANSWER = "lost_answer"
    """Applied; the answer is never sent."""
    RESET = "reset"
    """Applied; the connection is reset instead of answered."""
    STALL = "stall"
    """Held ``delay_s`` before the venue sees it, then applied and answered."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault drawn for one request.

    Attributes:
        kind: What happens.
        status: The HTTP status of a ``SERVER_ERROR`` (429 for ``RATE_LIMIT``, 0 otherwise).
        delay_s: How long a ``STALL`` holds the request (0 otherwise).
    """

    kind: FaultKind
    status: int = 0
    delay_s: float = 0.0


class WsLink(Protocol):
    """A server's WebSocket connection as the faults see it."""

    def drop(self) -> None:
        """Closes the connection at once (the client sees it go)."""


@dataclass(slots=True)
class _Rule:
    fault: Fault
    kinds: frozenset[str]
    count: int
    probability: float


def _kinds(kinds: tuple[str, ...]) -> frozenset[str]:
    out = frozenset(kinds)
    unknown = out - _KINDS
    if unknown or not out:
        raise ValueError(f"request kinds are {sorted(_KINDS)}, got {sorted(kinds)}")
    return out


def _check(count: int, probability: float) -> None:
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {probability}")


class WireFaults:
    """The faults of one fake server; every switch returns ``self`` so they chain.

    Args:
        seed: Seeds the draws of the probabilistic faults.
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._rules: list[_Rule] = []
        self._links: set[WsLink] = set()
        self._silent = False
        self._accept_then_cancel = 0
        self.accept_then_cancel_delay_s = 0.05
        """Seconds between an accepted order's answer and the venue's cancel of it."""
        self._races = 0
        self.race_event_delay_s = 0.2
        """Seconds the fill events of a cancel-vs-fill race are held after the cancel's
        answer."""
        self.drops = 0
        """How many WebSocket connections the faults closed."""

    # ------------------------------------------------------------------ request faults

    def rate_limit(
        self,
        count: int = 1,
        *,
        probability: float = 0.0,
        kinds: tuple[str, ...] = ("info", "exchange"),
    ) -> WireFaults:
        """The next ``count`` requests of ``kinds`` (then each with ``probability``) get 429.

        Raises:
            ValueError: A negative count, a probability outside [0, 1] or an unknown kind.
        """
        return self._add(Fault(FaultKind.RATE_LIMIT, 429), count, probability, kinds)

    def server_error(
        self,
        count: int = 1,
        *,
        status: int = 502,
        probability: float = 0.0,
        kinds: tuple[str, ...] = ("info", "exchange"),
    ) -> WireFaults:
        """The next ``count`` requests of ``kinds`` (then each with ``probability``) get an
        HTTP ``status`` (5xx) without reaching the venue.

        Raises:
            ValueError: A status outside 500..599, or as :meth:`rate_limit`.
        """
        if not 500 <= status <= 599:
            raise ValueError(f"a server error is a 5xx status, got {status}")
        return self._add(Fault(FaultKind.SERVER_ERROR, status), count, probability, kinds)

    def lose_answer(
        self,
        count: int = 1,
        *,
        reset: bool = False,
        probability: float = 0.0,
        kinds: tuple[str, ...] = ("exchange",),
    ) -> WireFaults:
        """The next ``count`` requests of ``kinds`` (then each with ``probability``) are
        applied and never answered: held open (``reset=False``) or reset (``reset=True``).

        Raises:
            ValueError: As :meth:`rate_limit`.
        """
        kind = FaultKind.RESET if reset else FaultKind.LOST_ANSWER
        return self._add(Fault(kind), count, probability, kinds)

    def stall(
        self,
        count: int = 1,
        *,
        delay_s: float,
        probability: float = 0.0,
        kinds: tuple[str, ...] = ("exchange", "ws_post"),
    ) -> WireFaults:
        """The next ``count`` requests of ``kinds`` (then each with ``probability``) reach the
        venue ``delay_s`` late: held before they are applied (as a request stuck inside the
        venue), then applied at the venue's time of then and answered as usual.

        Raises:
            ValueError: A negative delay, or as :meth:`rate_limit`.
        """
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        return self._add(Fault(FaultKind.STALL, 0, delay_s), count, probability, kinds)

    def clear(self) -> WireFaults:
        """Switches every request fault off (the WebSocket silence too)."""
        self._rules.clear()
        self._accept_then_cancel = 0
        self._races = 0
        self._silent = False
        return self

    def draw(self, kind: str) -> Fault | None:
        """The fault for one request of ``kind`` (``None``: answer normally).

        Counted rules are consumed first, in the order they were added; then each probabilistic
        rule draws once, in order.
        """
        for rule in self._rules:
            if kind in rule.kinds and rule.count > 0:
                rule.count -= 1
                return rule.fault
        for rule in self._rules:
            if kind in rule.kinds and rule.probability > 0:
                if self._rng.random() < rule.probability:
                    return rule.fault
        return None

    # ------------------------------------------------------------------ venue faults

    def accept_then_cancel(self, count: int = 1, *, delay_s: float = 0.05) -> WireFaults:
        """The next ``count`` orders that would rest are answered as resting, then cancelled
        by the venue ``delay_s`` later.

        Raises:
            ValueError: A negative count or delay.
        """
        _check(count, 0.0)
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        self._accept_then_cancel += count
        self.accept_then_cancel_delay_s = delay_s
        return self

    def take_accept_then_cancel(self) -> bool:
        """Consumes one accepted-then-cancelled order (the server calls it per resting
        order)."""
        if self._accept_then_cancel > 0:
            self._accept_then_cancel -= 1
            return True
        return False

    def cancel_fill_race(self, count: int = 1, *, event_delay_s: float = 0.2) -> WireFaults:
        """The next ``count`` cancels of an open order find it filled first (by outside flow,
        between the cancel's arrival and its answer); the fill's stream events are held
        ``event_delay_s`` past the answer.

        Raises:
            ValueError: A negative count or delay.
        """
        _check(count, 0.0)
        if event_delay_s < 0:
            raise ValueError(f"event_delay_s must be >= 0, got {event_delay_s}")
        self._races += count
        self.race_event_delay_s = event_delay_s
        return self

    def take_cancel_fill_race(self) -> bool:
        """Consumes one cancel-vs-fill race (the server calls it per cancel of an open
        order)."""
        if self._races > 0:
            self._races -= 1
            return True
        return False

    # ------------------------------------------------------------------ WebSockets

    def register(self, link: WsLink) -> None:
        """A server reports a new WebSocket connection."""
        self._links.add(link)

    def unregister(self, link: WsLink) -> None:
        """A server reports a closed WebSocket connection."""
        self._links.discard(link)

    def drop_ws(self) -> int:
        """Closes every open WebSocket now; returns how many."""
        links = list(self._links)
        for link in links:
            link.drop()
        self._links.clear()
        self.drops += len(links)
        return len(links)

    def silence_ws(self) -> WireFaults:
        """Every WebSocket stops sending (pongs and acks too) without closing."""
        self._silent = True
        return self

    def resume_ws(self) -> WireFaults:
        """WebSockets send again (what was held back while silent is lost)."""
        self._silent = False
        return self

    @property
    def ws_silent(self) -> bool:
        """True while WebSockets are silenced."""
        return self._silent

    # ------------------------------------------------------------------ internals

    def _add(
        self, fault: Fault, count: int, probability: float, kinds: tuple[str, ...]
    ) -> WireFaults:
        _check(count, probability)
        self._rules.append(_Rule(fault, _kinds(kinds), count, probability))
        return self
