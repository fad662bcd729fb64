"""The tracker follows every venue id an order has had, and counts each fill (not each trade)
once: a modify that replaces the order under a new venue id (Hyperliquid's cancel-replace), and
one trade that fills two of our orders under one trade id."""

from __future__ import annotations

from decimal import Decimal

from tracking_factories import SYMBOL, VENUE, S, ack, fill, report, request, tracker, update

from hedgekit.model import OrderAck, OrderStatus, OrderStatusReport, OrderUpdate, Side
from hedgekit.tracking import (
    FetchFills,
    FillApplied,
    OrderTracker,
    QueryStatus,
    Reconcile,
    TrackedState,
)

T = TrackedState
OLD, NEW = "v-c1", "v-c1-m"


def _modified(t: OrderTracker, venue_order_id: str, size: str = "1", now: int = 2) -> object:
    """The modify answer: price 101, the given size, under ``venue_order_id``."""
    answer = OrderAck("c1", venue_order_id, OrderStatus.OPEN, Decimal(0), now)
    return t.on_modified("c1", answer, Decimal(101), Decimal(size), now)


def _open(t: OrderTracker, size: str = "1") -> None:
    t.submit(request(size=size), 0)
    t.on_ack(ack(), 1)


def _no_unmatched(t: OrderTracker) -> None:
    assert not t.unmatched_fills
    assert not [a for a in t.anomalies if a.kind in ("unmatched_fill", "late_fill")]


# ---- a modify that gives the order a new venue id ----


def test_fill_naming_only_the_new_venue_id_is_counted() -> None:
    t, ledger = tracker()
    _open(t)
    _modified(t, NEW)
    assert t.order("c1").venue_order_id == NEW
    acts = t.on_event(fill(cid="", voi=NEW, trade_id=5), 3)
    assert Reconcile("unmatched_fill") not in acts
    assert any(isinstance(a, FillApplied) and a.order.client_id == "c1" for a in acts)
    o = t.order("c1")
    assert o.state is T.FILLED and o.filled == 1 and o.fill_count == 1
    assert ledger.order(VENUE, "c1") is not None  # one record, under the client id
    _no_unmatched(t)


def test_old_and_new_venue_ids_both_resolve_and_each_fill_counts_once() -> None:
    t, ledger = tracker()
    _open(t)
    t.on_event(fill(cid="", voi=OLD, trade_id=1, size="0.4"), 2)  # before the modify
    _modified(t, NEW, size="1")
    # the REST poll lists the first fill again, by the old id only: a duplicate
    assert t.on_fills([fill(cid="", voi=OLD, trade_id=1, size="0.4")], 3) == []
    # the rest fills on the new order; the stream names both ids' order by client id too
    t.on_event(fill(cid="", voi=NEW, trade_id=2, size="0.6"), 4)
    assert t.on_event(fill(cid="c1", voi=NEW, trade_id=2, size="0.6"), 5) == []
    o = t.order("c1")
    assert o.state is T.FILLED and o.filled == 1 and o.fill_count == 2
    lf = ledger.order(VENUE, "c1")
    assert lf is not None and lf.fill_count == 2 and lf.filled == 1
    assert [f.trade_id for f in t.fills("c1")] == [1, 2]
    _no_unmatched(t)


def test_same_fill_by_stream_rest_and_status_query_counts_once_after_modify() -> None:
    t, _ = tracker()
    _open(t, size="2")
    _modified(t, NEW, size="2")
    t.on_event(fill(cid="c1", voi=NEW, trade_id=9, size="0.5"), 3)  # stream, with our id
    t.on_fills([fill(cid="", voi=NEW, trade_id=9, size="0.5")], 4)  # REST, venue id only
    partly = report(status=OrderStatus.PARTIALLY_FILLED, filled="0.5", size="2",
                    fills=(fill(cid="", voi=NEW, trade_id=9, size="0.5"),))  # fmt: skip
    t.on_status("c1", partly, 5)
    o = t.order("c1")
    assert o.filled == Decimal("0.5") and o.fill_count == 1 and o.state is T.PARTIALLY_FILLED
    _no_unmatched(t)


def test_fill_on_the_new_id_before_the_modify_answer_is_counted_when_it_arrives() -> None:
    t, _ = tracker()
    _open(t)
    acts = t.on_event(fill(cid="", voi=NEW, trade_id=3), 2)  # the stream beat the answer
    assert acts == [Reconcile("unmatched_fill")] and len(t.unmatched_fills) == 1
    acts = _modified(t, NEW, now=3)
    assert isinstance(acts, list) and any(isinstance(a, FillApplied) for a in acts)
    o = t.order("c1")
    assert o.state is T.FILLED and o.fill_count == 1 and not t.unmatched_fills


def test_the_replaced_order_being_cancelled_does_not_cancel_ours() -> None:
    """The cancel half of a cancel-replace is reported on the old id after the answer."""
    t, _ = tracker()
    _open(t)
    _modified(t, NEW)
    gone = OrderUpdate(VENUE, SYMBOL, "c1", OLD, OrderStatus.CANCELLED, Decimal(0), 3)
    t.on_event(gone, 3)
    assert t.order("c1").state is T.OPEN
    live = OrderUpdate(VENUE, SYMBOL, "c1", NEW, OrderStatus.OPEN, Decimal(0), 4)
    t.on_event(live, 4)
    assert t.order("c1").state is T.OPEN
    # a cancel of the new order is ours
    t.on_event(OrderUpdate(VENUE, SYMBOL, "c1", NEW, OrderStatus.CANCELLED, Decimal(0), 5), 5)
    assert t.order("c1").state is T.CANCELLED


def test_reports_on_the_new_id_before_the_answer_describe_the_order() -> None:
    t, _ = tracker()
    _open(t)
    t.on_event(OrderUpdate(VENUE, SYMBOL, "c1", NEW, OrderStatus.OPEN, Decimal(0), 2), 2)
    t.on_event(fill(cid="", voi=NEW, trade_id=1, size="0.3"), 3)
    assert t.order("c1").filled == Decimal("0.3") and t.order("c1").venue_order_id == OLD
    t.on_event(OrderUpdate(VENUE, SYMBOL, "c1", NEW, OrderStatus.CANCELLED, Decimal("0.3"), 4), 4)
    assert t.order("c1").state is T.CANCELLED
    _modified(t, NEW, now=5)  # the answer arrives last
    assert t.order("c1").venue_order_id == NEW and t.order("c1").state is T.CANCELLED
    _no_unmatched(t)


def test_modify_keeping_the_venue_id_changes_nothing_about_ids() -> None:
    t, ledger = tracker()
    _open(t)
    _modified(t, OLD, size="2")
    o = t.order("c1")
    assert o.venue_order_id == OLD and o.request.size == 2 and o.request.price == 101
    lf = ledger.order(VENUE, "c1")
    assert lf is not None and lf.size == 2
    t.on_event(fill(cid="", voi=OLD, trade_id=1, size="2"), 3)
    assert t.order("c1").state is T.FILLED
    assert not t.anomalies


def test_a_venue_id_of_another_order_is_not_taken_over() -> None:
    t, _ = tracker()
    _open(t)
    t.submit(request("c2"), 0)
    t.on_ack(ack("c2"), 1)
    _modified(t, "v-c2")
    assert t.order("c1").venue_order_id == OLD
    assert [a.kind for a in t.anomalies] == ["venue_id_conflict"]
    t.on_event(fill(cid="", voi="v-c2", trade_id=1), 3)
    assert t.order("c2").state is T.FILLED and t.order("c1").filled == 0


def test_late_copies_after_forgetting_are_duplicates_under_either_id() -> None:
    t, _ = tracker()
    _open(t)
    t.on_event(fill(cid="", voi=OLD, trade_id=1, size="0.5"), 2)
    _modified(t, NEW)
    t.on_event(fill(cid="", voi=NEW, trade_id=2, size="0.5"), 3)
    assert t.order("c1").state is T.FILLED
    t.on_timer(3 + t.config.linger_ns)  # forgotten
    for voi, tid in ((OLD, 1), (NEW, 2)):
        assert t.on_event(fill(cid="", voi=voi, trade_id=tid, size="0.5"), 70 * S) == []
    _no_unmatched(t)
    # a fill never seen before, by either id, is still reported as late
    acts = t.on_event(fill(cid="", voi=NEW, trade_id=3, size="0.1"), 70 * S)
    assert acts == [Reconcile("unmatched_fill")] and t.anomalies[-1].kind == "late_fill"


# ---- one trade, two of our orders ----


def test_one_trade_filling_two_of_our_orders_counts_both() -> None:
    t, ledger = tracker()
    for cid in ("c1", "c2"):
        t.submit(request(cid), 0)
        t.on_ack(ack(cid), 1)
    t.on_event(fill("c1", trade_id=42), 2)
    t.on_event(fill("c2", trade_id=42), 2)
    t.on_fills([fill("", voi="v-c1", trade_id=42), fill("", voi="v-c2", trade_id=42)], 3)
    for cid in ("c1", "c2"):
        o = t.order(cid)
        assert o.state is T.FILLED and o.fill_count == 1, cid
        lf = ledger.order(VENUE, cid)
        assert lf is not None and lf.filled == 1
    _no_unmatched(t)


def test_shared_trade_for_an_order_not_yet_submitted_is_kept_and_counted() -> None:
    t, _ = tracker()
    t.submit(request("c1"), 0)
    t.on_event(fill("c1", trade_id=42), 1)
    # the same trade filled an order whose submission we have not recorded yet
    assert t.on_event(fill("c2", trade_id=42), 1) == [Reconcile("unmatched_fill")]
    assert [f.client_id for f in t.unmatched_fills] == ["c2"]
    t.submit(request("c2"), 2)
    assert t.order("c2").state is T.FILLED and not t.unmatched_fills


# ---- each venue order of a cancel-replace reports its own fills ----


def _report_on(voi: str, status: OrderStatus, filled: str, *fills: object) -> OrderStatusReport:
    """A status answer about the venue order ``voi`` of c1 (its own filled size and fills)."""
    return OrderStatusReport(
        VENUE, SYMBOL, "c1", voi, Side.BUY, Decimal(1), Decimal(100), status, Decimal(filled),
        None, 1, fills=tuple(fills),  # type: ignore[arg-type]
    )  # fmt: skip


def test_status_under_a_new_venue_id_is_a_replacement_whose_predecessor_must_answer() -> None:
    """Seed 7205: the stream lost the original's fills, the modify's answer was lost, and the
    query by client id answered about the replacement only (cancelled, filled 0). The order is
    not answered for until the original's own final report is in the ledger."""
    t, ledger = tracker()
    _open(t)
    t.on_event(fill(cid="c1", voi=OLD, trade_id=1, size="0.2"), 2)  # seen before the gap
    t.on_status("c1", _report_on(NEW, OrderStatus.CANCELLED, "0"), 3)
    o = t.order("c1")
    assert o.venue_order_id == NEW and o.state is T.CANCELLED
    assert not t.is_resolved("c1") and t.may_still_fill("c1") == Decimal("0.8")
    assert t.unsettled_venue_ids("c1") == [OLD]
    # the timer asks for the original by its own id
    acts = t.on_timer(3 + t.config.requery_interval_ns)
    assert QueryStatus("c1", SYMBOL, OLD) in acts
    # its answer brings the fills the stream lost; the order's state stays with the latest
    lost = (fill(cid="c1", voi=OLD, trade_id=t_id, size="0.2") for t_id in (2, 3))
    t.on_status("c1", _report_on(OLD, OrderStatus.CANCELLED, "0.6", *lost), 4, venue_order_id=OLD)
    o = t.order("c1")
    assert o.filled == Decimal("0.6") and o.fill_count == 3 and o.state is T.CANCELLED
    assert o.venue_filled == Decimal("0.6") and t.is_resolved("c1")
    assert t.unsettled_venue_ids("c1") == []
    lf = ledger.order(VENUE, "c1")
    assert lf is not None and lf.filled == Decimal("0.6")


def test_after_a_modify_answer_the_replaced_order_still_owes_its_final_fills() -> None:
    t, _ = tracker()
    _open(t)
    acts = _modified(t, NEW)
    assert isinstance(acts, list) and QueryStatus("c1", SYMBOL, OLD) in acts  # asked at once
    t.on_event(OrderUpdate(VENUE, SYMBOL, "c1", NEW, OrderStatus.CANCELLED, Decimal(0), 3), 3)
    assert t.order("c1").state is T.CANCELLED and not t.is_resolved("c1")
    assert t.unsettled_venue_ids("c1") == [OLD]
    # the original filled nothing: its final report settles the order
    t.on_status("c1", _report_on(OLD, OrderStatus.CANCELLED, "0"), 4, venue_order_id=OLD)
    assert t.is_resolved("c1") and t.may_still_fill("c1") == 0


def test_the_venue_filled_size_is_summed_over_the_venue_ids() -> None:
    """Each venue order reports its own filled size: 0.4 on the original and 0.3 on the
    replacement are 0.7 of the order, and a ledger holding less asks for the fills."""
    t, _ = tracker()
    _open(t)
    t.on_event(
        OrderUpdate(VENUE, SYMBOL, "c1", OLD, OrderStatus.PARTIALLY_FILLED, Decimal("0.4"), 2), 2
    )
    _modified(t, NEW)
    acts = t.on_status("c1", _report_on(NEW, OrderStatus.CANCELLED, "0.3"), 3)
    assert t.order("c1").venue_filled == Decimal("0.7")
    assert any(isinstance(a, FetchFills) for a in acts)
    assert not t.is_resolved("c1")


def test_the_replaced_order_reported_cancelled_by_its_id_does_not_cancel_ours() -> None:
    t, _ = tracker()
    _open(t)
    t.on_status("c1", _report_on(NEW, OrderStatus.OPEN, "0"), 2)  # the modify's answer was lost
    assert t.order("c1").venue_order_id == NEW
    t.on_status("c1", _report_on(OLD, OrderStatus.CANCELLED, "0"), 3, venue_order_id=OLD)
    assert t.order("c1").state is T.OPEN
    # and a late stream report about the original does not either
    t.on_event(OrderUpdate(VENUE, SYMBOL, "c1", OLD, OrderStatus.CANCELLED, Decimal(0), 4), 4)
    assert t.order("c1").state is T.OPEN and t.unsettled_venue_ids("c1") == []


def test_what_an_order_learns_about_its_venue_ids_stays_its_own() -> None:
    """Replaced ids, per-id filled sizes and final reports start empty for every order and stay
    with the order that learned them: a modify of one, a partial and a final report of another,
    and a third order sent after them knows none of it."""
    t, _ = tracker()
    _open(t)
    t.submit(request("c2"), 1)
    t.on_ack(ack("c2"), 1)
    t.on_event(update("c2", OrderStatus.PARTIALLY_FILLED, "0.4"), 2)
    _modified(t, NEW)
    t.on_event(update("c2", OrderStatus.CANCELLED, "0.4"), 3)
    t.submit(request("c3"), 4)
    t.on_ack(ack("c3"), 4)
    assert t.unsettled_venue_ids("c1") == [OLD]
    assert t.unsettled_venue_ids("c2") == [] and t.unsettled_venue_ids("c3") == []
    assert t.order("c2").venue_filled == Decimal("0.4")
    assert t.order("c1").venue_filled == 0 and t.order("c3").venue_filled == 0
    assert not t.is_resolved("c2")  # reported 0.4 filled, none of it in the ledger yet
    t.on_event(update("c3", OrderStatus.CANCELLED), 5)
    assert t.is_resolved("c3") and t.order("c3").venue_filled == 0
    assert t.unsettled_venue_ids("c1") == [OLD]  # still owed: nothing else settled it
