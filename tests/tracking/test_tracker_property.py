"""Property test: every venue fill is counted exactly once, whatever channel brings it.

A fill is (order, trade id): one trade can fill several of our orders under one trade id. The REST
channel may name a fill by the venue's order id only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from tracking_factories import SYMBOL, VENUE, ack, report, request, tracker

from hedgekit.model import Fill, Liquidity, OrderStatus, Side
from hedgekit.tracking import TrackedState

MS = 1_000_000


@dataclass(frozen=True)
class TruthOrder:
    cid: str
    size: Decimal
    fills: tuple[Fill, ...]

    @property
    def filled(self) -> Decimal:
        return sum((f.size for f in self.fills), Decimal(0))


@st.composite
def venue_truth(draw: st.DrawFn) -> list[TruthOrder]:
    orders: list[TruthOrder] = []
    trade = 0
    earlier: list[int | str] = []  # trade ids of the other orders' fills
    for i in range(draw(st.integers(1, 4))):
        cid = f"o{i}"
        parts = draw(st.lists(st.integers(1, 5), min_size=0, max_size=5))
        complete = draw(st.booleans()) and bool(parts)
        size = Decimal(sum(parts) + (0 if complete else draw(st.integers(1, 3)))) / 10
        fills = []
        own: list[int | str] = []
        for p in parts:
            trade += 1
            tid: int | str = trade if trade % 2 else f"t{trade}"
            shared = [x for x in earlier if x not in own]
            if shared and draw(st.booleans()):  # the trade that filled another order too
                tid = draw(st.sampled_from(shared))
            own.append(tid)
            fills.append(Fill(VENUE, SYMBOL, cid, "v-" + cid, tid, Side.BUY, Decimal(100),
                              Decimal(p) / 10, Decimal("0.001"), Liquidity.TAKER, trade))  # fmt: skip
        orders.append(TruthOrder(cid, size, tuple(fills)))
        earlier.extend(own)
    return orders


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[TruthOrder], list[tuple[str, object]]]:
    """Orders and a shuffled plan of deliveries: submit, ack, stream fills, status reports
    (carrying a subset of fills) and REST fill lists (naming our id or only the venue's);
    every fill reaches at least one channel."""
    truth = draw(venue_truth())

    def by_rest(f: Fill) -> Fill:
        return replace(f, client_id="") if draw(st.booleans()) else f

    events: list[tuple[float, str, object]] = []
    for o in truth:
        t_submit = draw(st.floats(0, 1))
        events.append((t_submit, "submit", o))
        events.append((draw(st.floats(t_submit, 2)), "ack", o))
        for f in o.fills:
            channels = draw(st.sets(st.sampled_from(["stream", "status", "rest"]), min_size=1))
            for ch in channels:
                for _ in range(draw(st.integers(1, 2))):  # duplicates
                    at = draw(st.floats(0, 3))
                    if ch == "stream":
                        events.append((at, "stream", f))
                    elif ch == "rest":
                        events.append((at, "rest", [by_rest(f)]))
                    else:  # a status report lists this fill (and maybe others)
                        extra = draw(st.lists(st.sampled_from(o.fills), max_size=3))
                        events.append((max(at, t_submit), "status", (o, (f, *extra))))
        if o.fills and draw(st.booleans()):  # one REST page with every fill of the order
            events.append((draw(st.floats(0, 3)), "rest", [by_rest(f) for f in o.fills]))
    events.sort(key=lambda e: (e[0], e[1] != "submit"))
    return truth, [(kind, payload) for _, kind, payload in events]


@given(deliveries())
def test_each_fill_counted_exactly_once(
    plan: tuple[list[TruthOrder], list[tuple[str, object]]],
) -> None:
    truth, events = plan
    t, ledger = tracker()
    for step, (kind, payload) in enumerate(events):
        now = step * MS
        if kind == "submit":
            assert isinstance(payload, TruthOrder)
            t.submit(request(payload.cid, size=str(payload.size)), now)
        elif kind == "ack":
            assert isinstance(payload, TruthOrder)
            t.on_ack(ack(payload.cid), now)
        elif kind == "stream":
            assert isinstance(payload, Fill)
            t.on_event(payload, now)
        elif kind == "rest":
            assert isinstance(payload, list)
            t.on_fills(payload, now)
        else:
            o, fills = payload  # type: ignore[misc]
            done = o.filled >= o.size
            t.on_status(o.cid, report(o.cid, OrderStatus.FILLED if done else OrderStatus.OPEN,
                                      str(o.filled), str(o.size), tuple(fills)), now)  # fmt: skip
        t.on_timer(now)
    for o in truth:
        lf = ledger.order(VENUE, o.cid)
        assert lf is not None
        assert lf.filled == o.filled
        assert lf.fill_count == len(o.fills)
        tracked = t.order(o.cid)
        assert tracked.filled == o.filled
        if o.fills and o.filled >= o.size:
            assert tracked.state is TrackedState.FILLED
        else:
            assert tracked.state is not TrackedState.FILLED
            assert not tracked.is_terminal
    assert not t.unmatched_fills
    assert not [a for a in t.anomalies if a.kind in ("overfill", "invalid_transition")]
