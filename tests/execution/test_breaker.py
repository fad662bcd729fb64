"""The execution circuit breaker: escalation, refusal, cooldown recovery, reset, window expiry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekit.execution.breaker import BreakerConfig, BreakerEvent, BreakerState, CircuitBreaker

S = 1_000_000_000
MIN = 60 * S
T0 = 1_700_000_000 * S

CLOSED, CONSERVATIVE, OPEN = BreakerState.CLOSED, BreakerState.CONSERVATIVE, BreakerState.OPEN


def test_defaults() -> None:
    cfg = BreakerConfig()
    assert cfg.window_ns == 10 * MIN
    assert cfg.slow_hedge_ns == 2 * S
    assert (cfg.conservative_after, cfg.open_after) == (2, 4)
    assert cfg.cooldown_ns == 5 * MIN
    assert cfg.auto_recover
    breaker = CircuitBreaker()
    assert breaker.state(T0) is CLOSED and breaker.allow(T0)
    assert breaker.events == []


def test_slow_and_failed_hedges_are_bad_fast_ones_are_not() -> None:
    breaker = CircuitBreaker()
    assert breaker.record_hedge(T0, 500_000_000, ok=True) is CLOSED
    assert breaker.record_hedge(T0, 2 * S, ok=True) is CLOSED  # exactly the limit: not slow
    assert breaker.record_hedge(T0, None, ok=True) is CLOSED
    assert breaker.bad_count(T0) == 0
    breaker.record_hedge(T0 + 1, 2 * S + 1, ok=True, detail="eth")  # slow
    assert breaker.bad_count(T0 + 1) == 1
    breaker.record_hedge(T0 + 2, 100, ok=False)  # fast but failed
    assert breaker.bad_count(T0 + 2) == 2


def test_two_bad_is_conservative_four_is_open_and_refuses() -> None:
    breaker = CircuitBreaker()
    assert breaker.record_hedge(T0, 3 * S, ok=True, detail="slow leg") is CLOSED
    assert breaker.record_rollback(T0 + S, "lighter leg") is CONSERVATIVE
    assert breaker.allow(T0 + S)
    assert breaker.record_hedge(T0 + 2 * S, None, ok=False) is CONSERVATIVE
    assert breaker.record_hedge(T0 + 3 * S, 5 * S, ok=False) is OPEN
    assert not breaker.allow(T0 + 3 * S)
    events = breaker.events
    assert [(e.old_state, e.new_state) for e in events] == [
        (CLOSED, CONSERVATIVE),
        (CONSERVATIVE, OPEN),
    ]
    assert events[0].ts_ns == T0 + S and "rollback: lighter leg" in events[0].reason
    assert isinstance(events[1], BreakerEvent) and events[1][0] == T0 + 3 * S
    _ts, old, new, reason = events[1]
    assert (old, new) == (CONSERVATIVE, OPEN) and "4 bad outcomes" in reason


def open_breaker(config: BreakerConfig | None = None) -> CircuitBreaker:
    breaker = CircuitBreaker(config)
    for i in range(4):
        breaker.record_rollback(T0 + i * S)
    assert breaker.state(T0 + 3 * S) is OPEN
    return breaker


def test_cooldown_recovers_one_level_at_a_time() -> None:
    breaker = open_breaker()
    last_bad = T0 + 3 * S
    assert breaker.state(last_bad + 5 * MIN - 1) is OPEN
    assert breaker.state(last_bad + 5 * MIN) is CONSERVATIVE
    assert breaker.allow(last_bad + 5 * MIN)
    assert breaker.state(last_bad + 10 * MIN - 1) is CONSERVATIVE
    assert breaker.state(last_bad + 10 * MIN) is CLOSED
    transitions = [(e.ts_ns, e.old_state, e.new_state) for e in breaker.events]
    assert transitions[-2:] == [
        (last_bad + 5 * MIN, OPEN, CONSERVATIVE),
        (last_bad + 10 * MIN, CONSERVATIVE, CLOSED),
    ]


def test_lazy_cooldown_applies_both_steps_at_their_own_times() -> None:
    breaker = open_breaker()
    last_bad = T0 + 3 * S
    assert breaker.state(last_bad + 60 * MIN) is CLOSED  # first look long after
    tail = breaker.events[-2:]
    assert [e.ts_ns for e in tail] == [last_bad + 5 * MIN, last_bad + 10 * MIN]


def test_a_bad_outcome_restarts_the_cooldown() -> None:
    breaker = open_breaker()
    breaker.record_hedge(T0 + 4 * MIN, None, ok=False)
    assert breaker.state(T0 + 3 * S + 5 * MIN) is OPEN  # the old cooldown no longer applies
    assert breaker.state(T0 + 9 * MIN) is CONSERVATIVE
    # Probation: the earlier outcomes are still within the window, so one more re-opens.
    assert breaker.record_rollback(T0 + 9 * MIN + S) is OPEN


def test_no_auto_recover_stays_until_reset() -> None:
    breaker = open_breaker(BreakerConfig(auto_recover=False))
    assert breaker.state(T0 + 10 * 60 * MIN) is OPEN
    assert not breaker.allow(T0 + 10 * 60 * MIN)
    breaker.reset(T0 + 10 * 60 * MIN)
    assert breaker.state(T0 + 10 * 60 * MIN) is CLOSED
    assert breaker.events[-1][1:] == (OPEN, CLOSED, "reset")


def test_reset_clears_history() -> None:
    breaker = CircuitBreaker()
    breaker.record_rollback(T0)
    breaker.record_rollback(T0 + S)
    assert breaker.state(T0 + S) is CONSERVATIVE
    breaker.reset(T0 + 2 * S)
    assert breaker.state(T0 + 2 * S) is CLOSED
    assert breaker.bad_count(T0 + 2 * S) == 0
    assert breaker.record_rollback(T0 + 3 * S) is CLOSED  # one bad after a reset is not two
    events_before = len(breaker.events)
    breaker.reset(T0 + 4 * S)  # already closed: no transition recorded
    assert len(breaker.events) == events_before


def test_old_outcomes_leave_the_window() -> None:
    breaker = CircuitBreaker()
    breaker.record_rollback(T0)
    assert breaker.bad_count(T0 + 10 * MIN - 1) == 1
    assert breaker.bad_count(T0 + 10 * MIN) == 0
    # A second bad outcome after the first expired does not make two.
    assert breaker.record_rollback(T0 + 10 * MIN) is CLOSED
    assert breaker.record_rollback(T0 + 11 * MIN) is CONSERVATIVE


def test_time_never_goes_backwards() -> None:
    breaker = CircuitBreaker()
    breaker.record_rollback(T0 + 10 * MIN)
    assert breaker.bad_count(T0) == 1  # an earlier time is read as the latest seen
    breaker.record_rollback(T0)
    assert breaker.events[-1].ts_ns == T0 + 10 * MIN


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="open_after"):
        BreakerConfig(conservative_after=3, open_after=2)
    with pytest.raises(ValueError, match="window_ns"):
        BreakerConfig(window_ns=0)
    with pytest.raises(ValueError, match="conservative_after"):
        BreakerConfig(conservative_after=0)


@given(
    steps=st.lists(
        st.tuples(st.integers(0, 6 * MIN), st.sampled_from(["ok", "slow", "fail", "rollback"])),
        max_size=40,
    )
)
def test_state_matches_a_replay_model(steps: list[tuple[int, str]]) -> None:
    """Random outcomes: OPEN only with 4 bad in the window at some point, allow iff not OPEN,
    and the state is never above what the current window count and cooldowns permit."""
    breaker = CircuitBreaker()
    now = T0
    bad_times: list[int] = []
    for gap, kind in steps:
        now += gap
        if kind == "ok":
            breaker.record_hedge(now, S, ok=True)
        elif kind == "slow":
            breaker.record_hedge(now, 3 * S, ok=True)
            bad_times.append(now)
        elif kind == "fail":
            breaker.record_hedge(now, None, ok=False)
            bad_times.append(now)
        else:
            breaker.record_rollback(now)
            bad_times.append(now)
        in_window = [t for t in bad_times if now - t < 10 * MIN]
        assert breaker.bad_count(now) == len(in_window)
        state = breaker.state(now)
        assert breaker.allow(now) == (state is not OPEN)
        quiet = now - bad_times[-1] if bad_times else None
        if quiet is not None and quiet >= 10 * MIN:
            assert state is CLOSED
        if state is OPEN:
            assert quiet is not None and quiet < 5 * MIN
    for event in breaker.events:
        assert event.old_state is not event.new_state
