"""Reaction latency: from a fill event reaching hedgekit to the hedge order handed to the venue.

Two simulated venues with zero latency run on a real asyncio loop (the default loop and uvloop)
inside one process. Each run opens a pair with both legs resting; an outside trade fills one leg,
and we time, with ``perf_counter_ns``, from the moment the venue hands the fill event to
hedgekit's stream to the moment the hedge order is handed to the other venue's ``place``. In
between, hedgekit does what it always does: the tracker applies the fill through the ledger, the
executor stops the entries, cancels the sibling and waits for its answer, settles it with a
status query, reads the ledger, prices the hedge from a fresh book and sends it. Every venue
round trip here costs only the event loop's scheduling, so the figure is hedgekit's own overhead.

Run: ``python benches/reaction.py [--runs N]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from hedgekit import FillLedger, Instrument, OrderBook
from hedgekit.clock import LoopClock
from hedgekit.execution import AtomicConfig, AtomicExecutor, EntryPlan, ExecutionMode, LegSpec, OrderConfig
from hedgekit.model import (
    CancelResult,
    Fill,
    FundingRate,
    Liquidity,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    Position,
    Side,
    TimeInForce,
)
from hedgekit.venues.base import InstrumentInfo, Quote
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import MarketConfig, SimInstrument, SimVenue, SimVenueConfig, aster, hyperliquid
from hedgekit.venues.sim.venue import SimEventStream


class NullVenue:
    """The cheapest venue that still answers like one: a static book, orders acknowledged and
    cancelled at once, status from a dict, events pushed straight into the subscriptions. It
    leaves only hedgekit's own work in the measured path."""

    supports_modify = False

    def __init__(self, name: str, rules: Instrument, bid: str, ask: str) -> None:
        self.name = name
        self._info = {"ETH": InstrumentInfo(name, "ETH", rules, Decimal("0.0001"), Decimal("0.0004"))}
        self._book = OrderBook(name, "ETH")
        self._bid, self._ask = Decimal(bid), Decimal(ask)
        self._subs: list[SimEventStream] = []
        self._orders: dict[str, tuple[OrderRequest, OrderStatus, list[Fill]]] = {}
        self._trade = 0
        self._ns = 0

    async def connect(self) -> None:
        self._stamp()

    def _stamp(self) -> None:
        self._ns = time.time_ns()
        self._book.apply_snapshot([(self._bid, Decimal(50))], [(self._ask, Decimal(50))], ts_ns=self._ns)

    async def close(self) -> None:
        for s in list(self._subs):
            s.close()

    def instruments(self) -> dict[str, InstrumentInfo]:
        return self._info

    def book(self, symbol: str) -> OrderBook:
        return self._book

    def quote(self, symbol: str) -> Quote:
        return Quote(self._bid, Decimal(50), self._ask, Decimal(50), self._ns)

    def events(self) -> SimEventStream:
        sub = SimEventStream(self._subs.remove)
        self._subs.append(sub)
        return sub

    def _push(self, event: Any) -> None:
        for s in self._subs:
            s._put(event)

    async def place(self, request: OrderRequest) -> OrderAck:
        cid = request.client_id
        self._orders[cid] = (request, OrderStatus.OPEN, [])
        px = request.price
        crosses = px is None or (px >= self._ask if request.side is Side.BUY else px <= self._bid)
        if crosses and request.tif is not TimeInForce.POST_ONLY:
            self.fill(cid)
            return OrderAck(cid, "v" + cid, OrderStatus.FILLED, request.size, time.time_ns())
        if request.tif is TimeInForce.IOC:
            self._orders[cid] = (request, OrderStatus.EXPIRED, [])
            return OrderAck(cid, "v" + cid, OrderStatus.EXPIRED, Decimal(0), time.time_ns())
        return OrderAck(cid, "v" + cid, OrderStatus.OPEN, Decimal(0), time.time_ns())

    def fill(self, client_id: str) -> None:
        """An outside trade fills the order completely; its fill goes out on the stream."""
        req, _, fills = self._orders[client_id]
        self._trade += 1
        f = Fill(self.name, "ETH", client_id, "v" + client_id, self._trade, req.side, req.price or self._bid,
                 req.size, Decimal(0), Liquidity.MAKER, time.time_ns())  # fmt: skip
        fills.append(f)
        self._orders[client_id] = (req, OrderStatus.FILLED, fills)
        self._push(f)

    async def cancel(self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None) -> CancelResult:
        assert client_id is not None
        req, status, fills = self._orders[client_id]
        if status is OrderStatus.FILLED:
            return CancelResult.ALREADY_FILLED
        self._orders[client_id] = (req, OrderStatus.CANCELLED, fills)
        return CancelResult.CANCELLED

    async def modify(self, *a: Any, **k: Any) -> OrderAck:
        raise NotImplementedError

    async def order_status(self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None) -> OrderStatusReport | None:
        assert client_id is not None
        if client_id not in self._orders:
            return None
        req, status, fills = self._orders[client_id]
        filled = sum((f.size for f in fills), Decimal(0))
        return OrderStatusReport(self.name, "ETH", client_id, "v" + client_id, req.side, req.size, req.price,
                                 status, filled, req.price if filled else None, time.time_ns(), fills=tuple(fills))  # fmt: skip

    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        return [f for _, _, fs in self._orders.values() for f in fs]

    async def positions(self) -> dict[str, Position]:
        return {}

    async def funding_rates(self) -> dict[str, FundingRate]:
        return {}


async def null_run() -> int:
    """One open on two NullVenues; the hl entry is filled from outside; returns ns."""
    a = NullVenue("hl", Instrument.hyperliquid(sz_decimals=3), "2399.9", "2400")
    b = NullVenue("aster", Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"), "2400.5", "2400.51")
    ledger = FillLedger()
    clock = LoopClock()
    sa, sb = VenueSession(a, ledger, clock), VenueSession(b, ledger, clock)  # type: ignore[arg-type]
    for v in (a, b):
        await v.connect()
    for s in (sa, sb):
        await s.start()
    marks: dict[str, int] = {}
    ex = AtomicExecutor({"hl": sa, "aster": sb}, clock=clock)

    def on_send(req: OrderRequest) -> None:
        if "t0" in marks and "t1" not in marks:
            marks["t1"] = time.perf_counter_ns()

    ex.executors["aster"].on_send = on_send

    async def fill_hl() -> None:
        for _ in range(100):
            await asyncio.sleep(0)
            live = [c for c, (_, st, _) in a._orders.items() if st is OrderStatus.OPEN]
            if live and any(st is OrderStatus.OPEN for _, st, _ in b._orders.values()):
                marks["t0"] = time.perf_counter_ns()
                a.fill(live[0])
                return

    try:
        filler = asyncio.ensure_future(fill_hl())
        cfg = AtomicConfig(
            plan=EntryPlan.MAKER_BOTH, entry_timeout_s=2.0, deadline_s=2.0, max_entry_spread_bps=Decimal(50),
            hedge=OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.001),
        )
        await ex.open([LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)], Decimal("1.5"), cfg)
        await filler
    finally:
        for s in (sa, sb):
            await s.close()
        for v in (a, b):
            await v.close()
    return marks["t1"] - marks["t0"]


def _venue(name: str, personality: Any, rules: Instrument, mid: str, tick: str) -> SimVenue:
    cfg = SimVenueConfig(
        name=name,
        personality=personality,
        instruments=(
            SimInstrument(
                "ETH", rules, MarketConfig(mid=Decimal(mid), tick=Decimal(tick), levels=10, level_size=Decimal(5))
            ),
        ),
        book_heartbeat_ns=0,
    )
    return SimVenue(cfg)


async def one_run() -> int:
    """One open whose first fill triggers a hedge; returns the reaction time in ns."""
    a = _venue("hl", hyperliquid(), Instrument.hyperliquid(sz_decimals=3), "2400", "0.1")
    b = _venue("aster", aster(), Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"), "2400.5", "0.01")
    ledger = FillLedger()
    clock = LoopClock()
    sa, sb = VenueSession(a, ledger, clock), VenueSession(b, ledger, clock)
    for v in (a, b):
        await v.connect()
    for s in (sa, sb):
        await s.start()
    marks: dict[str, int] = {}

    # t0: the venue hands the first fill to hedgekit's stream.
    original_put = SimEventStream._put

    def timed_put(self: SimEventStream, event: Any) -> None:
        if isinstance(event, Fill) and "t0" not in marks:
            marks["t0"] = time.perf_counter_ns()
        original_put(self, event)

    SimEventStream._put = timed_put  # type: ignore[method-assign]
    ex = AtomicExecutor({"hl": sa, "aster": sb}, clock=clock)

    # t1: the hedge order is handed to the hedge venue.
    def on_send(req: OrderRequest) -> None:
        if "t0" in marks and "t1" not in marks:
            marks["t1"] = time.perf_counter_ns()

    ex.executors["aster"].on_send = on_send

    async def fill_hl() -> None:
        await asyncio.sleep(0.005)  # the entries rest
        t = a.now_ns()
        a.emit(t, a.engine.external_trade(t, "ETH", Side.SELL, Decimal(30)))

    try:
        filler = asyncio.ensure_future(fill_hl())
        cfg = AtomicConfig(
            plan=EntryPlan.MAKER_BOTH, entry_timeout_s=2.0, deadline_s=2.0,
            hedge=OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.001),
        )
        await ex.open([LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)], Decimal("1.5"), cfg)
        await filler
    finally:
        SimEventStream._put = original_put  # type: ignore[method-assign]
        for s in (sa, sb):
            await s.close()
        for v in (a, b):
            await v.close()
    return marks["t1"] - marks["t0"]


def measure(loop_name: str, runs: int, run: Any = None) -> list[int]:
    """``runs`` reaction times on a fresh loop of the given kind."""
    run = run or null_run
    if loop_name == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        out = []
        for i in range(runs + 20):
            ns = loop.run_until_complete(run())
            if i >= 20:  # warm-up runs are not counted
                out.append(ns)
        return out
    finally:
        loop.close()


def _pct(xs: list[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000


def main(argv: list[str] | None = None) -> None:
    """Prints p50/p99 per loop as a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500)
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    loops = ["asyncio"]
    try:
        import uvloop  # noqa: F401

        loops.append("uvloop")
    except ImportError:
        print("uvloop is not installed: only the default loop is measured", file=sys.stderr)
    print(f"reaction latency, fill event → hedge order handed to the venue, {args.runs} runs")
    print("| venue, loop | p50 µs | p99 µs | mean µs | min µs |")
    print("|---|---|---|---|---|")
    for venue, fn in (("null venue", null_run), ("simulated venue inline", one_run)):
        for name in loops:
            xs = measure(name, args.runs, fn)
            print(f"| {venue}, {name} | {_pct(xs, 0.5):.1f} | {_pct(xs, 0.99):.1f} | {statistics.fmean(xs) / 1000:.1f} | {min(xs) / 1000:.1f} |")


if __name__ == "__main__":
    main()
