"""Execution quality over many seeded scenarios: hedgekit against two baselines, same seeds.

Each seed builds the two simulated venues of ``benches/scenarios/quality.toml`` (moving mid,
outside trades, jittered latency, duplicated and held-back fills, a few lost answers), opens a
pair of ``size`` and, after a while, closes it — once per strategy:

- ``hedgekit``: :class:`~hedgekit.execution.AtomicExecutor` (both legs rest post-only, the first
  fill hedges the other leg) and :class:`~hedgekit.execution.CloseExecutor` (passive phase, then
  break-even / ladder / market);
- ``market both``: both legs as protected IOCs at once, to open and to close;
- ``limit, wait, roll back``: both legs post-only, wait for both up to the timeout; a leg that
  did not fill completely has what filled rolled back by market; the close rests post-only and
  markets what remains.

Every number is read from the venues' own records (their fills and positions), never from a
strategy's view. Reported per strategy, over every operation (opens and closes):

- unhedged exposure, USD·s (median, p99): ``∫ |net size| x price dt`` over the operation;
- cost vs the arrival mid, bps, fees included (mean, median);
- maker share of the traded size;
- broken pairs: after an open, legs not equal and opposite (neither hedged at some size nor
  flat); after a close, not flat. "Opens fully on" counts opens that reached the whole size.

Run: ``python benches/quality.py [--seeds 500] [--jobs 2]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import (
    AtomicExecutor,
    CloseExecutor,
    CloseLeg,
    ExecutionMode,
    OrderConfig,
    OrderExecutor,
    measure_exposure,
)
from hedgekit.execution.config import LegSpec
from hedgekit.model import Fill, Side
from hedgekit.scenario import Scenario, load_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

SCENARIO = Path(__file__).parent / "scenarios" / "quality.toml"
STRATEGIES = ("hedgekit", "market both", "limit, wait, roll back")
_ZERO = Decimal(0)
_S = 1_000_000_000


async def _market_both_open(ex: dict[str, OrderExecutor], legs: list[LegSpec], size: Decimal) -> None:
    cfg = OrderConfig(mode=ExecutionMode.MARKET_ONLY)
    await asyncio.gather(*(ex[leg.venue].execute(leg.symbol, leg.side, size, cfg) for leg in legs))


async def _flatten(ex: dict[str, OrderExecutor], venues: dict[str, SimVenue], cfg: OrderConfig) -> None:
    async def one(name: str) -> None:
        v = venues[name]
        sym = v.config.instruments[0].symbol
        pos = v.engine.position(sym)  # a baseline reads the venue's position directly
        if pos != 0:
            side = Side.SELL if pos > 0 else Side.BUY
            await ex[name].execute(sym, side, abs(pos), cfg, reduce_only=True)

    await asyncio.gather(*(one(n) for n in venues))


async def _limit_wait_open(
    ex: dict[str, OrderExecutor], venues: dict[str, SimVenue], legs: list[LegSpec], size: Decimal, timeout: float
) -> None:
    cfg = OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=timeout)
    results = await asyncio.gather(*(ex[leg.venue].execute(leg.symbol, leg.side, size, cfg) for leg in legs))
    if not all(r.complete for r in results):
        await _flatten(ex, venues, OrderConfig(mode=ExecutionMode.MARKET_ONLY))


async def _limit_wait_close(ex: dict[str, OrderExecutor], venues: dict[str, SimVenue], timeout: float) -> None:
    await _flatten(ex, venues, OrderConfig(mode=ExecutionMode.LIMIT_WITH_FALLBACK, timeout_s=timeout))


def _window(venues: dict[str, SimVenue], t0: int, t1: int) -> list[Fill]:
    return [f for v in venues.values() for f in v.engine.fills() if t0 <= f.ts_ns <= t1]


def _metrics(
    fills: list[Fill], mids: dict[str, Decimal], t0: int, t1: int, start_net: Decimal, start_px: Decimal
) -> dict[str, float]:
    exposure = measure_exposure(fills, t1, start_net=start_net, start_price=start_px, start_ns=t0)
    traded = sum((f.size for f in fills), _ZERO)
    maker = sum((f.size for f in fills if f.is_maker), _ZERO)
    cost = sum((f.side.sign * (f.price - mids[f.venue]) * f.size + f.fee for f in fills), _ZERO)
    notional = sum((mids[f.venue] * f.size for f in fills), _ZERO)
    return {
        "exposure": exposure.usd_seconds,
        "cost_bps": float(cost / notional * 10_000) if notional else 0.0,
        "traded": float(traded),
        "maker": float(maker),
    }


async def run_one(sc: Scenario, strategy: str) -> dict[str, Any]:
    """Open then close one pair with ``strategy`` on ``sc``'s venues; metrics from the venues."""
    clock = LoopClock()
    ledger = FillLedger()
    venues = {cfg.name: SimVenue(cfg, clock) for cfg in sc.venues}
    sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
    ex = {n: OrderExecutor(s, clock=clock, id_prefix="b") for n, s in sessions.items()}
    legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
    size = sc.size or Decimal(1)
    out: dict[str, Any] = {}
    try:
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await asyncio.sleep(sc.start_after_s)
        for op in ("open", "close"):
            mids = {n: v.quote(v.config.instruments[0].symbol).mid for n, v in venues.items()}  # type: ignore[union-attr]
            start_net = sum((v.engine.position(v.config.instruments[0].symbol) for v in venues.values()), _ZERO)
            t0 = clock.now_ns()
            if strategy == "hedgekit":
                if op == "open":
                    await AtomicExecutor(sessions, clock=clock).open(legs, size, sc.atomic)
                else:
                    await CloseExecutor(sessions, clock=clock).close([CloseLeg(leg.venue, leg.symbol) for leg in legs])
            elif strategy == "market both":
                if op == "open":
                    await _market_both_open(ex, legs, size)
                else:
                    await _flatten(ex, venues, OrderConfig(mode=ExecutionMode.MARKET_ONLY))
            elif op == "open":
                await _limit_wait_open(ex, venues, legs, size, sc.atomic.entry_timeout_s)
            else:
                await _limit_wait_close(ex, venues, sc.atomic.entry_timeout_s)
            await asyncio.sleep(3.0)  # late fills land
            t1 = clock.now_ns()
            fills = _window(venues, t0, t1)
            m = _metrics(fills, mids, t0, t1, start_net, next(iter(mids.values())))
            pos = {n: v.engine.position(v.config.instruments[0].symbol) for n, v in venues.items()}
            dust = Decimal("0.005")
            flat = all(abs(p) <= dust for p in pos.values())
            neutral = abs(sum(pos.values(), _ZERO)) <= dust  # hedged: legs equal and opposite
            on = all(abs(abs(p) - size) <= dust for p in pos.values()) and neutral
            m["broken"] = float(not flat) if op == "close" else float(not neutral)
            m["on"] = float(on)
            out[op] = m
            if op == "open":
                await asyncio.sleep(5.0)
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()
    return out


def _seed_run(args: tuple[int, str]) -> tuple[int, str, dict[str, Any]]:
    seed, strategy = args
    logging.disable(logging.WARNING)
    sc = load_scenario(SCENARIO).with_seed(seed)
    return seed, strategy, run_virtual(run_one(sc, strategy))


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def main(argv: list[str] | None = None) -> None:
    """Runs every strategy on every seed and prints a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--by-op", action="store_true", help="one row per strategy and operation")
    args = ap.parse_args(argv)
    work = [(seed, s) for seed in range(args.seeds) for s in STRATEGIES]
    started = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in STRATEGIES}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for _seed, strategy, out in pool.map(_seed_run, work, chunksize=4):
            results[strategy].append(out)
    wall = time.perf_counter() - started
    print(f"execution quality, {args.seeds} seeds x open + close, {wall:.0f} s wall")
    print("| strategy | exposure USD·s median | p99 | cost bps mean | median | maker share | opens fully on | broken pairs |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [(s, ("open", "close")) for s in STRATEGIES]
    if args.by_op:
        rows = [(s, (op,)) for s in STRATEGIES for op in ("open", "close")]
    for s, op_names in rows:
        label = s if len(op_names) == 2 else f"{s} ({op_names[0]})"
        ops = [r[op] for r in results[s] for op in op_names]
        exp = [o["exposure"] for o in ops]
        cost = [o["cost_bps"] for o in ops if o["traded"] > 0]
        traded = sum(o["traded"] for o in ops)
        maker = sum(o["maker"] for o in ops)
        broken = int(sum(o["broken"] for o in ops))
        on = int(sum(r["open"]["on"] for r in results[s]))
        print(
            f"| {label} | {statistics.median(exp):.1f} | {_pct(exp, 0.99):.1f} | {statistics.fmean(cost):.2f} | "
            f"{statistics.median(cost):.2f} | {maker / traded:.0%} | {on}/{len(results[s])} | {broken} |"
        )


if __name__ == "__main__":
    main()
