"""Unit tests of the order tracker's state table and its special cases."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from tracking_factories import MS, S, ack, fill, report, request, tracker, update

from hedgekit import FillLedger
from hedgekit.errors import (
    OrderRejectedError,
    RateLimitedError,
    UnknownOrderError,
    VenueDisconnectedError,
    VenueTimeoutError,
    VenueUnavailableError,
)
from hedgekit.model import CancelResult, OrderStatus, StreamStatus
from hedgekit.tracking import (
    TERMINAL_STATES,
    TRANSITIONS,
    FetchFills,
    FillApplied,
    OrderChanged,
    OrderTracker,
    QueryStatus,
    Reconcile,
    TrackedState,
    TrackerConfig,
)

T = TrackedState
TIMEOUT = VenueTimeoutError("sim-a", "timeout")
REJECT = OrderRejectedError("sim-a", "no", reason="min_size")
Step = Callable[[OrderTracker, int], object]


def _submit(t: OrderTracker, now: int) -> object:
    return t.submit(request(), now)


# how to bring a fresh order into each state (time starts at 0, the grace period is 5 s)
REACH: dict[TrackedState, list[Step]] = {
    T.PENDING_NEW: [_submit],
    T.UNCONFIRMED: [_submit, lambda t, n: t.on_error("c1", TIMEOUT, n)],
    T.OPEN: [_submit, lambda t, n: t.on_ack(ack(), n)],
    T.PARTIALLY_FILLED: [_submit, lambda t, n: t.on_ack(ack(), n),
                         lambda t, n: t.on_event(fill(size="0.4"), n)],
    T.PENDING_CANCEL: [_submit, lambda t, n: t.on_ack(ack(), n),
                       lambda t, n: t.cancel_sent("c1", n)],
    T.CANCELLED: [_submit, lambda t, n: t.on_ack(ack(), n),
                  lambda t, n: t.on_event(update(status=OrderStatus.CANCELLED), n)],
    T.EXPIRED: [_submit, lambda t, n: t.on_event(update(status=OrderStatus.EXPIRED), n)],
    T.REJECTED: [_submit, lambda t, n: t.on_error("c1", REJECT, n)],
    T.NOT_FOUND: [_submit, lambda t, n: t.on_error("c1", TIMEOUT, n),
                  lambda t, n: t.on_status("c1", None, n + 10 * S)],
    T.FILLED: [_submit, lambda t, n: t.on_event(fill(size="1"), n)],
}  # fmt: skip

# the event that drives an order to each target state (special cases by source below)
DRIVE: dict[TrackedState, list[Step]] = {
    T.UNCONFIRMED: [lambda t, n: t.on_error("c1", TIMEOUT, n)],
    T.OPEN: [lambda t, n: t.on_event(update(status=OrderStatus.OPEN), n)],
    T.PARTIALLY_FILLED: [lambda t, n: t.on_event(fill(trade_id=7, size="0.1"), n)],
    T.FILLED: [lambda t, n: t.on_fills([fill(trade_id=8, size=str(t.order("c1").remaining))], n)],
    T.PENDING_CANCEL: [lambda t, n: t.cancel_sent("c1", n)],
    T.CANCELLED: [lambda t, n: t.on_event(update(status=OrderStatus.CANCELLED), n)],
    T.EXPIRED: [lambda t, n: t.on_event(update(status=OrderStatus.EXPIRED), n)],
    T.REJECTED: [lambda t, n: t.on_event(update(status=OrderStatus.REJECTED), n)],
    T.NOT_FOUND: [lambda t, n: t.on_status("c1", None, n + 10 * S)],
}
SPECIAL: dict[tuple[TrackedState, TrackedState], list[Step]] = {
    (T.PENDING_CANCEL, T.OPEN): [lambda t, n: t.on_cancel_result("c1", CancelResult.FAILED, n)],
    (T.PENDING_CANCEL, T.PARTIALLY_FILLED): [
        lambda t, n: t.on_event(fill(trade_id=7, size="0.1"), n),
        lambda t, n: t.on_cancel_error("c1", RateLimitedError("sim-a", "slow", 429, 1.0), n),
    ],
    (T.REJECTED, T.UNCONFIRMED): [lambda t, n: t.on_event(fill(trade_id=7, size="0.1"), n)],
    (T.NOT_FOUND, T.UNCONFIRMED): [lambda t, n: t.on_event(fill(trade_id=7, size="0.1"), n)],
    (T.NOT_FOUND, T.PARTIALLY_FILLED): [
        lambda t, n: t.on_status(
            "c1",
            report(
                status=OrderStatus.PARTIALLY_FILLED,
                filled="0.1",
                fills=(fill(trade_id=7, size="0.1"),),
            ),
            n,
        )
    ],
}
EDGES = [(src, dst) for src, dsts in TRANSITIONS.items() for dst in sorted(dsts)]


def _run(t: OrderTracker, steps: list[Step], now: int) -> None:
    for step in steps:
        step(t, now)


@pytest.mark.parametrize(("src", "dst"), EDGES, ids=[f"{a}->{b}" for a, b in EDGES])
def test_every_documented_transition_happens(src: TrackedState, dst: TrackedState) -> None:
    t, _ = tracker()
    _run(t, REACH[src], 0)
    assert t.order("c1").state is src
    _run(t, SPECIAL.get((src, dst), DRIVE[dst]), 1 * MS)
    order = t.order("c1")
    assert order.state is dst, order.history
    assert not [a for a in t.anomalies if a.kind == "invalid_transition"]


def test_table_shape() -> None:
    assert set(TRANSITIONS) == set(TrackedState)
    assert TRANSITIONS[T.FILLED] == frozenset()
    for src, dsts in TRANSITIONS.items():
        assert src not in dsts
        assert src is T.FILLED or T.FILLED in dsts  # fills always count
        assert T.PENDING_NEW not in dsts
    assert TERMINAL_STATES == {T.CANCELLED, T.FILLED, T.EXPIRED, T.REJECTED, T.NOT_FOUND}


def test_transition_outside_table_is_ignored_and_recorded() -> None:
    t, _ = tracker()
    _run(t, REACH[T.OPEN], 0)
    acts = t.on_error("c1", REJECT, 1)  # the venue already said OPEN
    assert t.order("c1").state is T.OPEN
    assert [a.kind for a in t.anomalies] == ["invalid_transition"]
    assert Reconcile("rejection") in acts
    assert not any(isinstance(a, OrderChanged) for a in acts)


def test_submit_registers_in_ledger_and_emits_change_history() -> None:
    t, ledger = tracker()
    t.submit(request(size="2.5"), 7)
    fills = ledger.order("sim-a", "c1")
    assert fills is not None and fills.size == Decimal("2.5") and fills.side == "buy"
    acts = t.on_ack(ack(), 9)
    assert acts == [OrderChanged("c1", T.PENDING_NEW, T.OPEN)]
    o = t.order("c1")
    assert o.venue_order_id == "v-c1" and o.history == ((7, T.PENDING_NEW), (9, T.OPEN))
    with pytest.raises(ValueError, match="already used"):
        t.submit(request(), 10)


@pytest.mark.parametrize("state", [T.CANCELLED, T.PENDING_CANCEL, T.EXPIRED, T.NOT_FOUND])
def test_late_fill_counts(state: TrackedState) -> None:
    t, ledger = tracker()
    _run(t, REACH[state], 0)
    acts = t.on_event(fill(trade_id=1, size="0.4"), 20 * S)
    assert isinstance(acts[-1], FillApplied) and acts[-1].order.filled == Decimal("0.4")
    assert t.order("c1").filled == Decimal("0.4")
    acts = t.on_event(fill(trade_id=2, size="0.6"), 20 * S)
    assert t.order("c1").state is T.FILLED
    o = ledger.order("sim-a", "c1")
    assert o is not None and o.is_complete and o.fill_count == 2


def test_partial_late_fill_after_cancel_keeps_cancelled() -> None:
    t, _ = tracker()
    _run(t, REACH[T.CANCELLED], 0)
    t.on_event(fill(size="0.4"), 1)
    assert t.order("c1").state is T.CANCELLED and t.order("c1").filled == Decimal("0.4")


def test_already_filled_keeps_tracking_until_ledger_complete() -> None:
    t, ledger = tracker()
    _run(t, REACH[T.PENDING_CANCEL], 0)
    acts = t.on_cancel_result("c1", CancelResult.ALREADY_FILLED, 1 * MS)
    assert QueryStatus("c1", "BTC") in acts
    assert any(isinstance(a, FetchFills) and a.symbol == "BTC" for a in acts)
    o = t.order("c1")
    assert not o.is_terminal and o.last_venue_status is OrderStatus.FILLED
    assert t.open_orders() and t.open_orders()[0].client_id == "c1"
    # nothing arrives: the timer asks again for the missing fills
    later = t.on_timer(1 * MS + t.config.requery_interval_ns)
    assert any(isinstance(a, FetchFills) for a in later)
    # the status query accounts for the fill
    t.on_status("c1", report(status=OrderStatus.FILLED, filled="1", fills=(fill(),)), 2 * S)
    assert t.order("c1").state is T.FILLED
    assert t.on_timer(3 * S) == []
    # the stream copy of the same fill arrives afterwards: counted once
    assert t.on_event(fill(), 4 * S) == []
    lf = ledger.order("sim-a", "c1")
    assert lf is not None and lf.fill_count == 1


@pytest.mark.parametrize(
    "error",
    [TIMEOUT, VenueDisconnectedError("sim-a", "drop"), VenueUnavailableError("sim-a", "503")],
)
def test_ambiguous_never_becomes_rejected(error: Exception) -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    assert isinstance(error, VenueTimeoutError | VenueDisconnectedError | VenueUnavailableError)
    acts = t.on_error("c1", error, 1)
    assert t.order("c1").state is T.UNCONFIRMED
    assert QueryStatus("c1", "BTC") in acts and not any(isinstance(a, Reconcile) for a in acts)
    for i in range(1, 8):  # within the grace period nothing but re-queries
        t.on_timer(i * 600 * MS)
        assert t.order("c1").state is T.UNCONFIRMED
    assert all(s is not T.REJECTED for _, s in t.order("c1").history)
    assert [o.client_id for o in t.in_flight()] == ["c1"]


def test_timeout_then_status_query_resolves() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    assert t.on_timer(1 * S) == []
    acts = t.on_timer(2 * S)
    assert acts == [OrderChanged("c1", T.PENDING_NEW, T.UNCONFIRMED), QueryStatus("c1", "BTC")]
    assert t.on_timer(2 * S + 400 * MS) == []
    assert t.on_timer(2 * S + 500 * MS) == [QueryStatus("c1", "BTC")]
    t.on_status("c1", report(status=OrderStatus.OPEN), 2 * S + 600 * MS)
    assert t.order("c1").state is T.OPEN
    assert t.on_timer(10 * S) == [] and t.in_flight() == []
    # the late placement answer agrees
    t.on_ack(ack(), 11 * S)
    assert t.order("c1").state is T.OPEN and not t.anomalies


def test_not_found_only_after_grace() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    t.on_error("c1", TIMEOUT, 2 * S)
    t.on_status("c1", None, 3 * S)
    assert t.order("c1").state is T.UNCONFIRMED
    assert t.on_timer(3 * S + 500 * MS) == [QueryStatus("c1", "BTC")]
    t.on_status("c1", None, 5 * S)
    assert t.order("c1").state is T.NOT_FOUND and t.order("c1").is_terminal
    assert t.on_timer(6 * S) == []


@pytest.mark.parametrize("asked_s", [0.5, 2, 4, 4.999])
@pytest.mark.parametrize("answered_s", [5, 9, 60])
def test_not_found_judged_at_the_time_the_query_was_sent(asked_s: float, answered_s: int) -> None:
    # A query sent before the grace ran out describes the venue then, when the placement may
    # still have been on its way, however late its answer arrives: asked again, never final,
    # and the placement's late fill is the order's.
    t, _ = tracker()
    t.submit(request(), 0)
    t.on_error("c1", TIMEOUT, 2 * S)
    asked = round(asked_s * S)
    t.on_status("c1", None, answered_s * S, asked_ns=asked)
    assert t.order("c1").state is T.UNCONFIRMED and not t.order("c1").is_terminal
    assert t.on_timer(answered_s * S + 500 * MS) == [QueryStatus("c1", "BTC")]
    t.on_event(fill(trade_id=3, size="1"), answered_s * S + S)
    assert t.order("c1").state is T.FILLED and not t.anomalies
    # a query sent once the grace is over is believed
    t2, _ = tracker()
    t2.submit(request(), 0)
    t2.on_error("c1", TIMEOUT, 2 * S)
    t2.on_status("c1", None, answered_s * S, asked_ns=5 * S)
    assert t2.order("c1").state is T.NOT_FOUND


def test_fill_before_ack() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    acts = t.on_event(fill(size="0.4"), 1)
    assert t.order("c1").state is T.PARTIALLY_FILLED
    assert any(isinstance(a, FillApplied) for a in acts)
    t.on_ack(ack(filled="0.4"), 2)
    o = t.order("c1")
    assert o.state is T.PARTIALLY_FILLED and o.venue_order_id == "v-c1" and not t.anomalies
    assert t.on_timer(5 * S) == []  # no deadline left once the order is known to exist


def test_unknown_client_fill_buffered_then_replayed() -> None:
    t, _ = tracker()
    acts = t.on_event(fill(cid="x", size="0.5"), 1)
    assert acts == [Reconcile("unmatched_fill")]
    assert t.on_event(fill(cid="x", size="0.5"), 2) == []  # same trade: no second trigger
    assert len(t.unmatched_fills) == 1 and t.anomalies[0].kind == "unmatched_fill"
    acts = t.submit(request("x"), 3)
    assert [type(a) for a in acts] == [OrderChanged, FillApplied]
    assert t.order("x").filled == Decimal("0.5") and not t.unmatched_fills


def test_unmatched_buffer_is_bounded() -> None:
    t, _ = tracker(TrackerConfig(max_buffered_fills=3))
    for i in range(5):
        t.on_event(fill(cid=f"x{i}", trade_id=i), i)
    assert [f.client_id for f in t.unmatched_fills] == ["x2", "x3", "x4"]
    assert [a.kind for a in t.anomalies].count("buffer_full") == 2


def test_overfill_is_recorded_and_reconciled() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    t.on_event(fill(trade_id=1, size="1"), 1)
    acts = t.on_event(fill(trade_id=2, size="0.5"), 2)
    assert Reconcile("overfill") in acts and any(isinstance(a, FillApplied) for a in acts)
    assert t.anomalies[-1].kind == "overfill"
    assert t.order("c1").filled == Decimal("1.5")


def test_reconnect_queries_open_orders_and_fetches_fills() -> None:
    t, _ = tracker()
    t.submit(request("a"), 0)
    t.on_ack(ack("a"), 0)
    t.submit(request("b"), 0)
    t.on_event(fill("b", size="1"), 0)
    assert t.on_event(StreamStatus("sim-a", False, 0), 10 * S) == []
    assert not t.stream_connected
    acts = t.on_event(StreamStatus("sim-a", True, 0), 12 * S)
    assert acts == [QueryStatus("a", "BTC"), FetchFills(None, 5 * S), Reconcile("reconnect")]
    assert t.stream_connected


def test_an_order_is_seen_throughout_only_without_a_stream_gap_since_or_a_status_after_it() -> None:
    """Whether everything the venue did with an order has reached us: not while the stream is
    down, not after it came back (fills in the gap may never have been delivered) until a
    status query asked after the return is answered; an order placed after the return, or
    with no gap at all, is seen; a report asked before the return does not count."""
    t, _ = tracker()
    t.on_event(StreamStatus("sim-a", True, 0), 1 * S)  # the first connection: no gap
    t.submit(request("a"), 2 * S)
    t.on_ack(ack("a"), 2 * S)
    assert t.seen_throughout("a") and t.gapless
    t.on_event(StreamStatus("sim-a", False, 0), 3 * S)
    assert not t.seen_throughout("a") and not t.gapless
    t.on_event(StreamStatus("sim-a", True, 0), 5 * S)
    assert not t.seen_throughout("a")
    t.on_status("a", report("a"), 6 * S, asked_ns=4 * S)  # asked inside the gap
    assert not t.seen_throughout("a")
    t.submit(request("b"), 6 * S)  # placed after the return
    assert t.seen_throughout("b")
    t.on_status("a", report("a"), 7 * S, asked_ns=int(5.5 * S))  # asked after the return
    assert t.seen_throughout("a")
    # a return never seen leaving is a gap too
    t.on_event(StreamStatus("sim-a", True, 0), 8 * S)
    assert not t.seen_throughout("a") and not t.seen_throughout("b")
    assert t.seen_throughout("gone")  # no longer tracked: it ended


def test_status_with_missing_fills_fetches_them() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    t.on_ack(ack(), 0)
    acts = t.on_status(
        "c1", report(status=OrderStatus.PARTIALLY_FILLED, filled="0.7",
                     fills=(fill(trade_id=1, size="0.3"),)), 1 * S,
    )  # fmt: skip
    assert FetchFills("BTC", 0) in acts
    assert t.order("c1").filled == Decimal("0.3")
    acts = t.on_fills([fill(trade_id=1, size="0.3"), fill(trade_id=2, size="0.4")], 2 * S)
    assert [type(a) for a in acts] == [FillApplied]
    assert t.order("c1").filled == Decimal("0.7") and t.order("c1").fill_count == 2


def test_venue_says_filled_without_fills_then_timer_fetches() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    t.on_ack(ack(), 0)
    t.on_event(update(status=OrderStatus.FILLED, filled="1"), 1 * S)
    assert t.order("c1").state is T.OPEN  # fill-driven state comes from the ledger
    acts = t.on_timer(1 * S + 500 * MS)
    assert FetchFills("BTC", 0) in acts and QueryStatus("c1", "BTC") in acts
    assert t.on_timer(1 * S + 900 * MS) == []  # backs off
    t.on_event(fill(), 2 * S)
    assert t.order("c1").state is T.FILLED


def test_terminal_orders_linger_then_are_forgotten() -> None:
    t, ledger = tracker()
    t.submit(request(), 0)
    t.on_event(fill(size="1"), 1 * S)
    t.on_timer(60 * S)
    assert ledger.order("sim-a", "c1") is not None
    t.on_timer(61 * S)
    assert ledger.order("sim-a", "c1") is None
    final = t.order("c1")
    assert final.state is T.FILLED and final.filled == Decimal(1)
    assert t.on_event(fill(size="1"), 62 * S) == []  # a late duplicate: nothing
    acts = t.on_event(fill(trade_id=99, size="1"), 62 * S)  # a new fill after forgetting
    assert acts == [Reconcile("unmatched_fill")] and t.anomalies[-1].kind == "late_fill"
    with pytest.raises(ValueError):
        t.submit(request(), 63 * S)


def test_cancel_paths() -> None:
    t, _ = tracker()
    _run(t, REACH[T.PENDING_CANCEL], 0)
    assert t.on_cancel_error("c1", TIMEOUT, 1) == [QueryStatus("c1", "BTC")]
    assert t.order("c1").state is T.PENDING_CANCEL
    assert t.on_cancel_error("c1", UnknownOrderError("sim-a", "?"), 2) == [QueryStatus("c1", "BTC")]
    t.on_cancel_result("c1", CancelResult.CANCELLED, 3)
    assert t.order("c1").state is T.CANCELLED
    assert t.cancel_sent("c1", 4) == []  # terminal: nothing to cancel
    # a stale OPEN update after the cancel changes nothing
    assert t.on_event(update(status=OrderStatus.OPEN), 5) == [] and not t.anomalies


def test_cancel_deadline_requeries() -> None:
    t, _ = tracker()
    _run(t, REACH[T.PENDING_CANCEL], 0)
    assert t.on_timer(2 * S) == [QueryStatus("c1", "BTC")]
    assert t.order("c1").state is T.PENDING_CANCEL
    assert t.on_timer(2 * S + 500 * MS) == [QueryStatus("c1", "BTC")]
    t.on_status("c1", report(status=OrderStatus.CANCELLED), 3 * S)
    assert t.order("c1").state is T.CANCELLED and t.on_timer(4 * S) == []


def test_update_before_cancel_reaches_venue_keeps_pending_cancel() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    t.cancel_sent("c1", 1)
    t.on_ack(ack(), 2)
    assert t.order("c1").state is T.PENDING_CANCEL


def test_unknown_events_are_anomalies_not_errors() -> None:
    t, _ = tracker()
    assert t.on_ack(ack("zz"), 0) == []
    assert t.on_status("zz", None, 0) == []
    assert t.on_event(update("zz"), 0) == []
    with pytest.raises(KeyError):
        t.order("zz")
    assert t.get("zz") is None
    assert {a.kind for a in t.anomalies} == {"unknown_order"}


def test_shared_ledger_across_trackers() -> None:
    ledger = FillLedger()
    a, b = OrderTracker("a", ledger), OrderTracker("b", ledger)
    a.submit(request(), 0)
    b.submit(request(), 0)
    a.on_event(fill(), 0)
    assert a.order("c1").filled == 1 and b.order("c1").filled == 0


def test_malformed_fill_is_an_anomaly_not_a_crash() -> None:
    t, _ = tracker()
    t.submit(request(), 0)
    assert t.on_event(fill(trade_id=True), 1) == []  # type: ignore[arg-type]
    assert t.on_event(fill(trade_id=2, size="-1"), 1) == []
    assert [a.kind for a in t.anomalies] == ["bad_fill", "bad_fill"]
    assert t.order("c1").filled == 0
    t.on_event(fill(trade_id=3), 2)  # the tracker keeps working
    assert t.order("c1").state is T.FILLED
