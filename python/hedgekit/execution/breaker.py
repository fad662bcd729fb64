"""A circuit breaker for execution: repeated slow or failed hedges make new operations careful.

The breaker is pure state. Callers pass the time (integer nanoseconds from their injected
:class:`~hedgekit.clock.Clock`) to every call; nothing here reads a wall clock or sleeps, so the
same sequence of calls always gives the same states.

States (:class:`BreakerState`):

- ``CLOSED``: normal operation.
- ``CONSERVATIVE``: ``conservative_after`` bad outcomes within the window; new operations should
  use a conservative configuration (smaller size, wider budgets, more passive modes).
- ``OPEN``: ``open_after`` bad outcomes within the window; new operations are refused
  (:meth:`CircuitBreaker.allow` is False).

A *bad outcome* is a failed hedge, a hedge slower than ``slow_hedge_ns``, or a rollback. Bad
outcomes only ever escalate the state. With ``auto_recover`` the breaker steps back down one
level per ``cooldown_ns`` without a bad outcome (OPEN → CONSERVATIVE → CLOSED); without it, only
:meth:`CircuitBreaker.reset` brings it back. Recovery does not forget the bad outcomes still in
the window: right after recovering, a single new bad outcome may escalate again at once (the
breaker is on probation until the old outcomes age out).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["BreakerConfig", "BreakerEvent", "BreakerState", "CircuitBreaker"]

_NS_PER_S = 1_000_000_000


class BreakerState(enum.StrEnum):
    """How new operations may proceed.

    Attributes:
        CLOSED: Normal operation.
        CONSERVATIVE: Proceed with a conservative configuration.
        OPEN: Refuse new operations.
    """

    CLOSED = "closed"
    CONSERVATIVE = "conservative"
    OPEN = "open"

    @property
    def level(self) -> int:
        """The severity: 0 (closed), 1 (conservative) or 2 (open)."""
        return _LEVELS[self]


_LEVELS = {BreakerState.CLOSED: 0, BreakerState.CONSERVATIVE: 1, BreakerState.OPEN: 2}
_BY_LEVEL = {level: state for state, level in _LEVELS.items()}


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When the breaker trips and when it recovers.

    Attributes:
        window_ns: How long a bad outcome counts: one at ``t`` counts while
            ``now - t < window_ns`` (default 10 minutes).
        slow_hedge_ns: A hedge slower than this (strictly) is a bad outcome (default 2 s).
        conservative_after: Bad outcomes within the window that make it ``CONSERVATIVE``
            (default 2).
        open_after: Bad outcomes within the window that make it ``OPEN`` (default 4).
        cooldown_ns: Time without a bad outcome after which it steps down one level
            (default 5 minutes).
        auto_recover: Step down after cooldowns; if False, only :meth:`CircuitBreaker.reset`
            recovers.

    Raises:
        ValueError: A non-positive duration or threshold, or ``open_after`` below
            ``conservative_after``.
    """

    window_ns: int = 600 * _NS_PER_S
    slow_hedge_ns: int = 2 * _NS_PER_S
    conservative_after: int = 2
    open_after: int = 4
    cooldown_ns: int = 300 * _NS_PER_S
    auto_recover: bool = True

    def __post_init__(self) -> None:
        """Validates the configuration."""
        for name in ("window_ns", "slow_hedge_ns", "cooldown_ns", "conservative_after"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.open_after < self.conservative_after:
            raise ValueError(
                f"open_after ({self.open_after}) must be >= conservative_after "
                f"({self.conservative_after})"
            )


class BreakerEvent(NamedTuple):
    """One state transition: ``(ts_ns, old_state, new_state, reason)``.

    Attributes:
        ts_ns: When it happened (for a cooldown, when the cooldown ended, not when it was seen).
        old_state: The state before.
        new_state: The state after.
        reason: Why.
    """

    ts_ns: int
    old_state: BreakerState
    new_state: BreakerState
    reason: str


class CircuitBreaker:
    """Counts bad hedges and rollbacks and says how new operations may proceed.

    Time is whatever the caller passes (``now_ns``), expected not to go backwards; an earlier
    time than one already seen is treated as that latest time.

    Args:
        config: Thresholds and durations (default :class:`BreakerConfig`).
    """

    __slots__ = ("_bad", "_config", "_events", "_now_ns", "_since_ns", "_state")

    def __init__(self, config: BreakerConfig | None = None) -> None:
        self._config = config if config is not None else BreakerConfig()
        self._state = BreakerState.CLOSED
        self._bad: deque[tuple[int, str]] = deque()
        self._events: list[BreakerEvent] = []
        self._now_ns = 0
        self._since_ns = 0  # start of the current quiet period: last escalation or bad outcome

    @property
    def config(self) -> BreakerConfig:
        """The configuration."""
        return self._config

    @property
    def events(self) -> list[BreakerEvent]:
        """Every transition so far, oldest first (a copy)."""
        return list(self._events)

    def record_hedge(
        self, now_ns: int, latency_ns: int | None, ok: bool, detail: str = ""
    ) -> BreakerState:
        """Records a hedge's outcome; a failed or slow one is bad.

        Args:
            now_ns: The current time.
            latency_ns: How long the hedge took (``None`` if unknown: only ``ok`` counts).
            ok: Whether the hedge completed.
            detail: A note kept in the transition's reason.

        Returns:
            The state after recording.
        """
        if not ok:
            return self._record_bad(now_ns, _labelled("failed hedge", detail))
        if latency_ns is not None and latency_ns > self._config.slow_hedge_ns:
            return self._record_bad(
                now_ns, _labelled(f"slow hedge ({latency_ns / _NS_PER_S:.3f} s)", detail)
            )
        return self.state(now_ns)

    def record_rollback(self, now_ns: int, detail: str = "") -> BreakerState:
        """Records a rollback (always bad).

        Args:
            now_ns: The current time.
            detail: A note kept in the transition's reason.

        Returns:
            The state after recording.
        """
        return self._record_bad(now_ns, _labelled("rollback", detail))

    def state(self, now_ns: int) -> BreakerState:
        """The state at ``now_ns``, after any cooldown that has elapsed by then.

        Args:
            now_ns: The current time.

        Returns:
            The current state.
        """
        now = self._advance(now_ns)
        cfg = self._config
        if not cfg.auto_recover:
            return self._state
        while self._state is not BreakerState.CLOSED and now - self._since_ns >= cfg.cooldown_ns:
            ended = self._since_ns + cfg.cooldown_ns
            lower = _BY_LEVEL[self._state.level - 1]
            self._transition(ended, lower, f"cooldown: no bad outcome for {cfg.cooldown_ns} ns")
            self._since_ns = ended
        return self._state

    def allow(self, now_ns: int) -> bool:
        """Whether a new operation may start (False while ``OPEN``).

        Args:
            now_ns: The current time.

        Returns:
            True unless the breaker is open.
        """
        return self.state(now_ns) is not BreakerState.OPEN

    def bad_count(self, now_ns: int) -> int:
        """The number of bad outcomes within the window ending at ``now_ns``.

        Args:
            now_ns: The current time.

        Returns:
            How many bad outcomes still count.
        """
        self._prune(self._advance(now_ns))
        return len(self._bad)

    def reset(self, now_ns: int) -> None:
        """Returns to ``CLOSED`` and forgets every bad outcome.

        Args:
            now_ns: The current time.
        """
        now = self._advance(now_ns)
        self._bad.clear()
        self._since_ns = now
        if self._state is not BreakerState.CLOSED:
            self._transition(now, BreakerState.CLOSED, "reset")

    def _record_bad(self, now_ns: int, what: str) -> BreakerState:
        """Records one bad outcome and escalates if a threshold is reached."""
        current = self.state(now_ns)  # cooldowns that ended before this outcome come first
        now = self._now_ns
        self._bad.append((now, what))
        self._prune(now)
        self._since_ns = now
        count = len(self._bad)
        cfg = self._config
        if count >= cfg.open_after:
            target = BreakerState.OPEN
        elif count >= cfg.conservative_after:
            target = BreakerState.CONSERVATIVE
        else:
            target = BreakerState.CLOSED
        if target.level > current.level:
            self._transition(now, target, f"{count} bad outcomes within the window; last: {what}")
        return self._state

    def _advance(self, now_ns: int) -> int:
        """Moves the breaker's time forward (never back) and returns it."""
        self._now_ns = max(self._now_ns, now_ns)
        return self._now_ns

    def _prune(self, now: int) -> None:
        """Drops the bad outcomes that have left the window."""
        horizon = now - self._config.window_ns
        while self._bad and self._bad[0][0] <= horizon:
            self._bad.popleft()

    def _transition(self, ts_ns: int, new: BreakerState, reason: str) -> None:
        """Changes the state and records the transition."""
        self._events.append(BreakerEvent(ts_ns, self._state, new, reason))
        self._state = new

    def __repr__(self) -> str:
        """The state and the number of bad outcomes held."""
        return f"CircuitBreaker(state={self._state.value}, bad={len(self._bad)})"


def _labelled(what: str, detail: str) -> str:
    """``what``, with ``detail`` appended when there is one."""
    return f"{what}: {detail}" if detail else what
