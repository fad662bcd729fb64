"""Reaction latency: from a fill event reaching hedgekit to the hedge order handed to the venue.

Two venues with zero latency run on a real asyncio loop (the default loop and uvloop) inside one
process. Each run opens a pair with both legs resting; an outside trade fills one leg, and we
time, with ``perf_counter_ns``, from the moment the venue hands the fill event to hedgekit's
stream (t0) to the moment the hedge order reaches the other venue's ``place`` (t1). Every venue
round trip costs only the event loop's scheduling, so the figure is hedgekit's own overhead.

Rows:

* one per hedge policy (``hedge_timing`` + ``hedge_pricing`` of ``AtomicConfig``) on two venues:
  the *null venue* (a static book, orders acknowledged and cancelled at once: only hedgekit's
  work is timed) and the *simulated venue inline* (the matching engine's work on the same path);
* the *floor*: a hand-written path measured in the same process on the null venues — the fill
  is read from the same kind of stream, applied to a ``FillLedger``, priced (``break_even_price``
  for a ladder, a protected price for an IOC) and ``await venue.place()`` is called. Each policy
  row's ``x floor`` is its p50 over the floor's p50 on the same loop.

Runs of every row are interleaved (one of each per round, in a fresh shuffled order, on one
loop per loop kind) so a noisy machine moves them together and a garbage collection, whose
timing follows the allocation count, does not fall on the same row round after round. The first
``--warmup`` rounds are not counted, and what is alive after them is frozen out of the
collector's later passes (``gc.freeze``). A collection still lands in some windows (0.1-0.3 ms
each); ``--no-gc`` turns the collector off for the counted rounds to show hedgekit's own work
alone.

``--idle-ms N`` lets the entries rest N ms, the process idle, before the trade that fills one,
as a bot's entries rest between fills: the path is then no longer in the CPU's caches (and the
floor's is not either).

Run: ``python benches/reaction.py [--runs N] [--policies immediate-ioc,...] [--venues null,sim]
[--loops asyncio,uvloop] [--no-gc] [--idle-ms N]`` (``make bench`` runs it with ``--runs 500``,
and once more with ``--idle-ms 50`` for the default policy's row).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from hedgekit import FillLedger, Instrument, OrderBook
from hedgekit._core import break_even_price
from hedgekit.clock import LoopClock
from hedgekit.execution import (
    AtomicConfig,
    AtomicExecutor,
    EntryPlan,
    ExecutionMode,
    HedgePricing,
    HedgeTiming,
    LegSpec,
    OrderConfig,
)
from hedgekit.execution.order import protected_price
from hedgekit.model import (
    AccountState,
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
from hedgekit.risk.funding import FundingSchedule
from hedgekit.tracking import VenueSession
from hedgekit.venues.base import InstrumentInfo, Quote
from hedgekit.venues.sim import (
    MarketConfig,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
)
from hedgekit.venues.sim.venue import SimEventStream

Marks = dict[str, int]
Run = Callable[[], Awaitable[int]]

POLICIES: dict[str, tuple[HedgeTiming, HedgePricing]] = {
    "after_settle-ladder": (HedgeTiming.AFTER_SETTLE, HedgePricing.LADDER),
    "after_settle-ioc": (HedgeTiming.AFTER_SETTLE, HedgePricing.IOC),
    "immediate-ioc": (HedgeTiming.IMMEDIATE, HedgePricing.IOC),
    "immediate-ladder": (HedgeTiming.IMMEDIATE, HedgePricing.LADDER),
}
"""The hedge policies measured, by name (``after_settle-ladder`` is the default)."""

_HL_RULES = Instrument.hyperliquid(sz_decimals=3)
_ASTER_RULES = Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5")


class NullVenue:
    """The cheapest venue that still answers like one: a static book, orders acknowledged and
    cancelled at once, status from a dict, events pushed straight into the subscriptions. It
    leaves only hedgekit's own work in the measured path. ``on_place`` is called first thing in
    every ``place`` (the t1 mark)."""

    supports_modify = False

    def __init__(self, name: str, rules: Instrument, bid: str, ask: str) -> None:
        self.name = name
        self._info = {
            "ETH": InstrumentInfo(name, "ETH", rules, Decimal("0.0001"), Decimal("0.0004"))
        }
        self._book = OrderBook(name, "ETH")
        self._bid, self._ask = Decimal(bid), Decimal(ask)
        self._subs: list[SimEventStream] = []
        self._orders: dict[str, tuple[OrderRequest, OrderStatus, list[Fill]]] = {}
        self._trade = 0
        self._ns = 0
        self.on_place: Callable[[OrderRequest], None] | None = None

    async def connect(self) -> None:
        self._stamp()

    def _stamp(self) -> None:
        self._ns = time.time_ns()
        self._book.apply_snapshot(
            [(self._bid, Decimal(50))], [(self._ask, Decimal(50))], ts_ns=self._ns
        )

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
        if self.on_place is not None:
            self.on_place(request)
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

    async def cancel(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> CancelResult:
        assert client_id is not None
        req, status, fills = self._orders[client_id]
        if status is OrderStatus.FILLED:
            return CancelResult.ALREADY_FILLED
        self._orders[client_id] = (req, OrderStatus.CANCELLED, fills)
        return CancelResult.CANCELLED

    async def modify(self, *a: Any, **k: Any) -> OrderAck:
        raise NotImplementedError

    async def order_status(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderStatusReport | None:
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

    # Margin: an account that margins anything, answered at once (the open's pre-flight reads
    # it before any entry, outside the measured window).
    async def account(self) -> AccountState:
        big = Decimal(10**9)
        return AccountState(self.name, big, big, big, Decimal(0), Decimal(0), time.time_ns())

    async def leverage(self, symbol: str) -> Decimal:
        return Decimal(20)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Decimal:
        return leverage

    def margin_table(self, symbol: str) -> None:
        return None

    def funding_schedule(self, symbol: str) -> FundingSchedule:
        return FundingSchedule.periodic(3600)

    async def funding_payments(self, since_ns: int = 0) -> list[Any]:
        return []


def _config(timing: HedgeTiming, pricing: HedgePricing, **kw: Any) -> AtomicConfig:
    return AtomicConfig(
        plan=EntryPlan.MAKER_BOTH, entry_timeout_s=2.0, deadline_s=2.0,
        hedge=OrderConfig(mode=ExecutionMode.AGGRESSIVE_LIMIT, step_timeout_s=0.001),
        hedge_timing=timing, hedge_pricing=pricing, **kw,
    )  # fmt: skip


def _t1_on_first_place(marks: Marks) -> Callable[[OrderRequest], None]:
    """A hook marking t1 at the first ``place`` after t0 (the hedge: the entries have stopped)."""

    def mark(req: OrderRequest) -> None:
        if "t0" in marks and "t1" not in marks:
            marks["t1"] = time.perf_counter_ns()

    return mark


def null_run(timing: HedgeTiming, pricing: HedgePricing, rest_s: float = 0.0) -> Run:
    """One open on two NullVenues, the hl entry filled from outside once both entries rest
    (after ``rest_s`` more, the process idle); the run returns ns."""

    async def run() -> int:
        a = NullVenue("hl", _HL_RULES, "2399.9", "2400")
        b = NullVenue("aster", _ASTER_RULES, "2400.5", "2400.51")
        ledger = FillLedger()
        clock = LoopClock()
        sa, sb = VenueSession(a, ledger, clock), VenueSession(b, ledger, clock)
        for v in (a, b):
            await v.connect()
        for s in (sa, sb):
            await s.start()
        marks: Marks = {}
        b.on_place = _t1_on_first_place(marks)
        ex = AtomicExecutor({"hl": sa, "aster": sb}, clock=clock)

        async def fill_hl() -> None:
            for _ in range(100):
                await asyncio.sleep(0)
                live = [c for c, (_, st, _) in a._orders.items() if st is OrderStatus.OPEN]
                if live and any(st is OrderStatus.OPEN for _, st, _ in b._orders.values()):
                    if rest_s > 0:
                        await asyncio.sleep(rest_s)
                    marks["t0"] = time.perf_counter_ns()
                    a.fill(live[0])
                    return

        try:
            filler = asyncio.ensure_future(fill_hl())
            cfg = _config(timing, pricing, max_entry_spread_bps=Decimal(50))
            await ex.open(
                [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)],
                Decimal("1.5"),
                cfg,
            )
            await filler
        finally:
            for s in (sa, sb):
                await s.close()
            for v in (a, b):
                await v.close()
        return marks["t1"] - marks["t0"]

    return run


def _venue(name: str, personality: Any, rules: Instrument, mid: str, tick: str) -> SimVenue:
    cfg = SimVenueConfig(
        name=name,
        personality=personality,
        instruments=(
            SimInstrument(
                "ETH",
                rules,
                MarketConfig(
                    mid=Decimal(mid), tick=Decimal(tick), levels=10, level_size=Decimal(5)
                ),
            ),
        ),
        book_heartbeat_ns=0,
    )
    return SimVenue(cfg)


def sim_run(timing: HedgeTiming, pricing: HedgePricing, rest_s: float = 0.0) -> Run:
    """One open on two inline simulated venues whose first fill triggers a hedge (the entries
    rest 5 ms, or ``rest_s`` if longer); returns ns."""

    async def run() -> int:
        a = _venue("hl", hyperliquid(), _HL_RULES, "2400", "0.1")
        b = _venue("aster", aster(), _ASTER_RULES, "2400.5", "0.01")
        ledger = FillLedger()
        clock = LoopClock()
        sa, sb = VenueSession(a, ledger, clock), VenueSession(b, ledger, clock)
        for v in (a, b):
            await v.connect()
        for s in (sa, sb):
            await s.start()
        marks: Marks = {}

        # t0: the venue hands the first fill to hedgekit's stream.
        original_put = SimEventStream._put

        def timed_put(self: SimEventStream, event: Any) -> None:
            if isinstance(event, Fill) and "t0" not in marks:
                marks["t0"] = time.perf_counter_ns()
            original_put(self, event)

        SimEventStream._put = timed_put  # type: ignore[method-assign]
        # t1: the hedge order reaches the hedge venue's place.
        mark = _t1_on_first_place(marks)
        place = b.place

        async def timed_place(request: OrderRequest) -> OrderAck:
            mark(request)
            return await place(request)

        b.place = timed_place  # type: ignore[method-assign]
        ex = AtomicExecutor({"hl": sa, "aster": sb}, clock=clock)

        async def fill_hl() -> None:
            await asyncio.sleep(max(0.005, rest_s))  # the entries rest
            t = a.now_ns()
            a.emit(t, a.engine.external_trade(t, "ETH", Side.SELL, Decimal(30)))

        try:
            filler = asyncio.ensure_future(fill_hl())
            cfg = _config(timing, pricing)
            await ex.open(
                [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)],
                Decimal("1.5"),
                cfg,
            )
            await filler
        finally:
            SimEventStream._put = original_put  # type: ignore[method-assign]
            for s in (sa, sb):
                await s.close()
            for v in (a, b):
                await v.close()
        return marks["t1"] - marks["t0"]

    return run


def floor_run(rest_s: float = 0.0) -> Run:
    """The bare floor, on the same null venues: a fill read from the venue's stream, applied to
    a ``FillLedger``, a hedge price (``break_even_price`` against the fill, or a protected IOC
    price from the book on alternate runs) and ``await venue.place()``. No tracking, no
    reservation, no journal: the least any implementation must do. The entry rests ``rest_s``,
    the process idle, before it fills."""
    turn = [0]

    async def run() -> int:
        a = NullVenue("hl", _HL_RULES, "2399.9", "2400")
        b = NullVenue("aster", _ASTER_RULES, "2400.5", "2400.51")
        for v in (a, b):
            await v.connect()
        marks: Marks = {}
        b.on_place = _t1_on_first_place(marks)
        ledger = FillLedger()
        stream = a.events()
        info_a, info_b = a.instruments()["ETH"], b.instruments()["ETH"]
        size = Decimal("1.5")
        entry = OrderRequest(
            "ETH", Side.BUY, size, Decimal("2399.9"), "fe-1", tif=TimeInForce.POST_ONLY
        )
        ledger.register_order("hl", entry.client_id, "buy", size)
        await a.place(entry)
        break_even = turn[0] % 2 == 0
        turn[0] += 1

        async def react() -> None:
            fill = await stream.__anext__()
            assert isinstance(fill, Fill)
            ledger.apply(
                fill.venue,
                fill.trade_id,
                fill.client_id,
                fill.price,
                fill.size,
                fill.fee,
                fill.is_maker,
                fill.ts_ns,
            )
            if break_even:
                price = break_even_price(
                    info_b.rules, "sell", fill.price, info_a.maker_fee, info_b.taker_fee
                )
            else:
                price = protected_price(info_b.rules, Side.SELL, b.quote("ETH"), Decimal(50))
            req = OrderRequest("ETH", Side.SELL, fill.size, price, "fh-1", tif=TimeInForce.GTC)
            ledger.register_order("aster", req.client_id, "sell", req.size)
            await b.place(req)

        reaction = asyncio.ensure_future(react())
        await asyncio.sleep(0)  # the reaction waits on the stream
        if rest_s > 0:
            await asyncio.sleep(rest_s)
        marks["t0"] = time.perf_counter_ns()
        a.fill(entry.client_id)
        await reaction
        await a.close()
        return marks["t1"] - marks["t0"]

    return run


def measure(
    loop_name: str,
    runs: dict[str, Run],
    rounds: int,
    warmup: int = 20,
    *,
    collector: bool = True,
) -> dict[str, list[int]]:
    """``rounds`` reaction times of every row, interleaved, on one fresh loop of the given kind
    (``warmup`` earlier rounds are not counted; ``collector=False``: no garbage collection
    during the counted rounds)."""
    loop: asyncio.AbstractEventLoop
    if loop_name == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    out: dict[str, list[int]] = {name: [] for name in runs}
    order = list(runs.items())
    shuffle = random.Random(0).shuffle
    try:
        for i in range(rounds + warmup):
            if i == warmup:
                # Everything alive after the warm-up is left out of later collections, so a
                # collection that lands in a window costs what the run itself allocated.
                gc.collect()
                gc.freeze()
                if not collector:
                    gc.disable()
            shuffle(order)  # a fresh order each round: collections do not lock onto one row
            for name, run in order:
                ns = loop.run_until_complete(run())
                if i >= warmup:
                    out[name].append(ns)
        return out
    finally:
        gc.enable()
        gc.unfreeze()
        loop.close()


def _pct(xs: list[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000


def main(argv: list[str] | None = None) -> None:
    """Prints p50/p99/mean/min per row and loop, and each row's p50 over the floor's, as a
    markdown table."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument(
        "--policies", default=",".join(POLICIES), help="comma-separated: " + ", ".join(POLICIES)
    )
    ap.add_argument("--venues", default="null,sim", help="comma-separated: null, sim")
    ap.add_argument("--loops", default="asyncio,uvloop", help="comma-separated: asyncio, uvloop")
    ap.add_argument(
        "--no-gc", action="store_true",
        help="no garbage collection during the counted rounds (a collection that lands in a "
        "window adds 0.1-0.3 ms to whichever row it hits; this shows hedgekit's own work alone)",
    )  # fmt: skip
    ap.add_argument(
        "--idle-ms", type=float, default=0.0,
        help="the entries rest this long, the process idle, before the trade that fills one, "
        "as a bot's entries rest between fills (0: at once, the path warm in the caches)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    loops = [name for name in args.loops.split(",") if name]
    if "uvloop" in loops:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            print("uvloop is not installed: only the default loop is measured", file=sys.stderr)
            loops.remove("uvloop")
    makers = {"null": ("null venue", null_run), "sim": ("simulated venue inline", sim_run)}
    rest_s = args.idle_ms / 1000
    runs: dict[str, Run] = {"floor (queue → ledger → price → place)": floor_run(rest_s)}
    for venue in args.venues.split(","):
        label, make = makers[venue]
        for policy in args.policies.split(","):
            runs[f"{label}, {policy}"] = make(*POLICIES[policy], rest_s)
    gc_note = ", no garbage collection" if args.no_gc else ""
    if args.idle_ms > 0:
        gc_note += f", idle {args.idle_ms:g} ms before every fill (the entries resting)"
    print(
        f"reaction latency, fill event → hedge order handed to the venue, {args.runs} runs per row{gc_note}"
    )
    print("| row | loop | p50 µs | p99 µs | mean µs | min µs | p50 x floor |")
    print("|---|---|---|---|---|---|---|")
    for loop_name in loops:
        res = measure(loop_name, runs, args.runs, args.warmup, collector=not args.no_gc)
        floor = _pct(next(iter(res.values())), 0.5)
        for name, xs in res.items():
            p50 = _pct(xs, 0.5)
            print(
                f"| {name} | {loop_name} | {p50:.1f} | {_pct(xs, 0.99):.1f} | "
                f"{statistics.fmean(xs) / 1000:.1f} | {min(xs) / 1000:.1f} | {p50 / floor:.2f} |"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
