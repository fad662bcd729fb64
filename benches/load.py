"""Load: many concurrent opens on one executor, with the venues in another process.

Two simulated venues (``hl`` with Hyperliquid rules, ``aster`` with Binance-style rules, each
with ``--symbols`` markets) run in a child process behind
:class:`~hedgekit.venues.remote.VenueServer`; this process connects with
:class:`~hedgekit.venues.remote.RemoteVenue`, starts one :class:`~hedgekit.tracking.VenueSession`
per venue and one :class:`~hedgekit.execution.AtomicExecutor`, and launches N opens at once
(spread round-robin over the symbols), on the real clock. The venues' cost (matching, JSON,
sockets on their side) is the child's; what this process spends is hedgekit's own.

Measured per N:

* ops/s: N divided by the wall time from the launch to the last result;
* the loop's worst stall: a watchdog task sleeps 1 ms at a time and records how late it woke;
  a late wake-up is the time some callback held the loop;
* p50/p99 of the opens' own durations, and how many ended ``opened`` (every other status is
  listed: a refusal or an exposed pair under load is a finding, not noise).

Run: ``python benches/load.py [--concurrency 1,10,100,1000] [--plan taker_both] [--repeat 3]
[--json benches/results.json]`` (``make bench`` runs it; ``--repeat``: each level that many times,
``--json``: every run and the medians per level also go to that results file, section ``load``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

from hedgekit import FillLedger, Instrument
from hedgekit.clock import LoopClock
from hedgekit.execution import AtomicConfig, AtomicExecutor, EntryPlan, LegSpec
from hedgekit.execution.operation import DEFAULT_STARTS_PER_TURN
from hedgekit.model import Side
from hedgekit.tracking import VenueSession
from hedgekit.venues.remote import RemoteVenue, VenueServer
from hedgekit.venues.sim import (
    MarketConfig,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
)

SIZE = Decimal("0.01")  # per open: about 24 USD, above every minimum
STEP_S = 600.0  # the longest any one concurrency level may take


# ------------------------------------------------------------------------------ the venues
def _venues(symbols: int, trade_rate: float) -> list[SimVenue]:
    def market(mid: str, tick: str) -> MarketConfig:
        return MarketConfig(
            mid=Decimal(mid), tick=Decimal(tick), levels=20, level_size=Decimal(500),
            trade_rate_per_s=trade_rate, trade_size=Decimal("0.5"),
        )  # fmt: skip

    hl = SimVenueConfig(
        name="hl",
        personality=hyperliquid(),
        instruments=tuple(
            SimInstrument(f"S{i}", Instrument.hyperliquid(sz_decimals=3), market("2400", "0.1"))
            for i in range(symbols)
        ),
    )
    ast = SimVenueConfig(
        name="aster",
        personality=aster(),
        instruments=tuple(
            SimInstrument(
                f"S{i}",
                Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"),
                market("2400.5", "0.01"),
            )
            for i in range(symbols)
        ),
    )
    return [SimVenue(hl), SimVenue(ast)]


async def _serve(symbols: int, trade_rate: float) -> None:
    """The child: serves both venues until its stdin closes."""
    venues = _venues(symbols, trade_rate)
    servers = [VenueServer(v) for v in venues]
    for v in venues:
        await v.connect()
    for s in servers:
        await s.start()
    sys.stdout.write(
        "PORTS " + ",".join(f"{v.name}={s.port}" for v, s in zip(venues, servers)) + "\n"
    )
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stdin_closed.set)
    await stdin_closed.wait()
    loop.remove_reader(sys.stdin.fileno())
    for s in servers:
        await s.close()
    for v in venues:
        await v.close()


# ------------------------------------------------------------------------------ the client
class Watchdog:
    """Sleeps ``tick_s`` at a time and records how late each wake-up was, on the wall clock and
    in this thread's CPU time (the CPU figure is the loop's own work; the wall figure also holds
    the time the OS gave other processes, which on a shared machine can dominate)."""

    def __init__(self, tick_s: float = 0.001) -> None:
        self.tick_s = tick_s
        self.worst_s = 0.0
        self.worst_cpu_s = 0.0
        self.late: list[float] = []
        self.ignore_before = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(self.tick_s)
            late = time.perf_counter() - t - self.tick_s
            busy = time.thread_time() - cpu
            if t < self.ignore_before:
                continue  # this sleep spans the caller's own launch of the tasks
            self.late.append(late)
            self.worst_s = max(self.worst_s, late)
            self.worst_cpu_s = max(self.worst_cpu_s, busy)

    def __enter__(self) -> Watchdog:
        self._task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def _level(
    n: int, ports: dict[str, int], symbols: int, plan: EntryPlan, per_turn: int | None
) -> dict[str, Any]:
    clock = LoopClock()
    venues = {
        name: RemoteVenue(name, "127.0.0.1", port, clock=clock) for name, port in ports.items()
    }
    for v in venues.values():
        await v.connect()
    async with asyncio.timeout(30):
        while not all(v.quote(s) is not None for v in venues.values() for s in v.instruments()):
            await asyncio.sleep(0.01)
    ledger = FillLedger()
    sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
    for s in sessions.values():
        await s.start()
    ex = AtomicExecutor(sessions, clock=clock, starts_per_turn=per_turn)
    cfg = AtomicConfig(plan=plan, entry_timeout_s=30.0, deadline_s=60.0, max_book_age_s=30.0)
    durations: list[float] = []

    async def one(i: int) -> str:
        sym = f"S{i % symbols}"
        legs = [LegSpec("hl", sym, Side.BUY), LegSpec("aster", sym, Side.SELL)]
        t = time.perf_counter()
        result = await ex.open(legs, SIZE, cfg)
        durations.append(time.perf_counter() - t)
        return result.status.value

    try:
        with Watchdog() as dog:
            await asyncio.sleep(0.05)
            t0 = time.perf_counter()
            # The caller's launch of N tasks (one turn that creates them all) is the caller's
            # cost: timed apart, and left out of the stalls.
            tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
            launch = time.perf_counter() - t0
            dog.ignore_before = time.perf_counter()
            async with asyncio.timeout(STEP_S):
                statuses = await asyncio.gather(*tasks)
            wall = time.perf_counter() - t0
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()
    durations.sort()
    late = sorted(dog.late)
    return {
        "n": n,
        "wall_s": wall,
        "launch_ms": launch * 1e3,
        "ops_per_s": n / wall,
        "worst_stall_ms": dog.worst_s * 1e3,
        "worst_stall_cpu_ms": dog.worst_cpu_s * 1e3,
        "stall_p99_ms": late[int(0.99 * (len(late) - 1))] * 1e3 if late else 0.0,
        "op_p50_s": statistics.median(durations),
        "op_p99_s": durations[int(0.99 * (len(durations) - 1))],
        "statuses": dict(collections.Counter(statuses)),
    }


async def _run_level(
    n: int,
    symbols: int,
    trade_rate: float,
    plan: EntryPlan,
    per_turn: int | None = DEFAULT_STARTS_PER_TURN,
) -> dict[str, Any]:
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", "--symbols", str(symbols),
         "--trade-rate", str(trade_rate)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30)
        if not line.startswith("PORTS "):
            raise RuntimeError(f"the venue process said {line!r}")
        ports = {k: int(v) for k, v in (p.split("=") for p in line.split()[1].split(","))}
        return await _level(n, ports, symbols, plan, per_turn)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", default="1,10,100,1000")
    p.add_argument("--symbols", type=int, default=20)
    p.add_argument("--plan", default="taker_both", choices=[e.value for e in EntryPlan])
    p.add_argument(
        "--trade-rate", type=float, default=2.0, help="outside trades per second per side"
    )
    p.add_argument(
        "--starts-per-turn",
        default=",".join([str(DEFAULT_STARTS_PER_TURN)]),
        help="the executor's admission (comma-separated values are compared; 0: no limit)",
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs per level (the JSON has their medians)"
    )
    p.add_argument(
        "--json", help="also write every run and the medians per level into this results file"
    )
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.serve:
        asyncio.run(_serve(a.symbols, a.trade_rate))
        return
    plan = EntryPlan(a.plan)
    print(f"plan={plan.value} symbols={a.symbols} size={SIZE} (venues in a separate process)")
    print(f"{'turn':>5} {'N':>6} {'wall s':>8} {'ops/s':>8} {'worst stall ms':>15} {'cpu ms':>7} {'stall p99 ms':>13} "
          f"{'op p50 s':>9} {'op p99 s':>9} {'launch ms':>9}  statuses")  # fmt: skip
    levels = []
    for per_turn in (int(x) or None for x in a.starts_per_turn.split(",")):
        for n in (int(x) for x in a.concurrency.split(",")):
            runs = []
            for _ in range(max(1, a.repeat)):
                r = asyncio.run(_run_level(n, a.symbols, a.trade_rate, plan, per_turn))
                runs.append(r)
                print(
                    f"{per_turn or '-':>5} {r['n']:>6} {r['wall_s']:>8.2f} {r['ops_per_s']:>8.1f} {r['worst_stall_ms']:>15.1f} {r['worst_stall_cpu_ms']:>7.1f} "
                    f"{r['stall_p99_ms']:>13.2f} {r['op_p50_s']:>9.3f} {r['op_p99_s']:>9.3f} {r['launch_ms']:>9.1f}  {r['statuses']}",
                    flush=True,
                )  # fmt: skip
            levels.append(_level_summary(per_turn, n, runs))
    if a.json:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import results

        results.update(
            a.json, "load",
            {"plan": plan.value, "symbols": a.symbols, "trade_rate": a.trade_rate, "repeat": a.repeat,
             "size": str(SIZE), "default_starts_per_turn": DEFAULT_STARTS_PER_TURN, "levels": levels},
        )  # fmt: skip


MEDIANS = ("wall_s", "launch_ms", "ops_per_s", "worst_stall_ms", "worst_stall_cpu_ms", "stall_p99_ms",
           "op_p50_s", "op_p99_s")  # fmt: skip


def _level_summary(per_turn: int | None, n: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One level's runs: the median of each figure, the worst wall stall of all, the statuses
    of every run added up."""
    statuses: collections.Counter[str] = collections.Counter()
    for r in runs:
        statuses.update(r["statuses"])
    return {
        "starts_per_turn": per_turn,
        "n": n,
        "median": {k: statistics.median(r[k] for r in runs) for k in MEDIANS},
        "worst_stall_ms_max": max(r["worst_stall_ms"] for r in runs),
        "statuses": dict(statuses),
        "runs": runs,
    }


if __name__ == "__main__":
    main()
