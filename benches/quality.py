"""Execution quality over many seeded scenarios: hedgekit against two baselines, same seeds.

Each seed builds the two simulated venues of ``benches/scenarios/quality.toml`` (moving mid,
outside trades, jittered latency, duplicated and held-back fills, a few lost answers), opens a
pair of ``size`` and, after a while, closes it — once per strategy:

- ``hedgekit``: :class:`~hedgekit.execution.AtomicExecutor` with the scenario's configuration
  and :class:`~hedgekit.execution.CloseExecutor` (passive phase, then break-even / ladder /
  market);
- ``market both``: both legs as protected IOCs at once, to open and to close;
- ``limit, wait, roll back``: both legs post-only, wait for both up to the timeout; a leg that
  did not fill completely has what filled rolled back by market; the close rests post-only and
  markets what remains.

The runs, the baselines and the metrics are :mod:`hedgekit.frontier`'s (``hedgekit frontier``
compares the open alone across many more policies, markouts included); this script runs the
close too. Every number is read from the venues' own records (their fills and positions), never
from a strategy's view. Reported per strategy, over every operation (opens and closes):

- unhedged exposure, USD·s (median, p99): ``∫ |net size| x price dt`` over the operation;
- cost vs the arrival mid, bps, fees included (mean, median);
- maker share of the traded size;
- broken pairs: after an open, legs not equal and opposite (neither hedged at some size nor
  flat); after a close, not flat. "Opens fully on" counts opens that reached the whole size.

Run: ``python benches/quality.py [--seeds 500] [--jobs 2] [--json benches/results.json]``
(``make bench`` runs it; ``--json``: the summaries, per strategy and operation, also go to that
results file, section ``quality``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hedgekit.frontier import (
    POLICIES,
    Policy,
    SeedRun,
    load_frontier_scenario,
    run_tasks,
    summarise,
    tasks_for,
)

SCENARIO = Path(__file__).parent / "scenarios" / "quality.toml"
STRATEGIES: dict[str, Policy] = {
    "hedgekit": Policy("hedgekit", description="the scenario's own AtomicConfig"),
    "market both": POLICIES["market-both"],
    "limit, wait, roll back": POLICIES["limit-wait"],
}
OPS = ("open", "close")


def main(argv: list[str] | None = None) -> None:
    """Runs every strategy on every seed and prints a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--by-op", action="store_true", help="one row per strategy and operation")
    ap.add_argument(
        "--scenario", type=Path, default=SCENARIO, help="the scenario (default: quality.toml)"
    )
    ap.add_argument("--json", type=Path, help="also write the summaries into this results file")
    args = ap.parse_args(argv)
    sc, document = load_frontier_scenario(args.scenario)
    policies = list(STRATEGIES.values())
    tasks = tasks_for(document, sc.seed, range(args.seeds), policies, OPS)
    started = time.perf_counter()
    runs = run_tasks(tasks, args.jobs)
    wall = time.perf_counter() - started
    results: dict[str, list[SeedRun]] = {
        label: runs[k * args.seeds : (k + 1) * args.seeds] for k, label in enumerate(STRATEGIES)
    }
    print(f"execution quality, {args.seeds} seeds x open + close, {wall:.0f} s wall")
    print(
        "| strategy | exposure USD·s median | p99 | cost bps mean | median | maker share | opens fully on | broken pairs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows: list[tuple[str, tuple[str, ...]]] = [(s, OPS) for s in STRATEGIES]
    if args.by_op:
        rows = [(s, (op,)) for s in STRATEGIES for op in OPS]
    for s, op_names in rows:
        label = s if len(op_names) == 2 else f"{s} ({op_names[0]})"
        summary = summarise([r.ops[op] for r in results[s] for op in op_names])
        opens = summarise([r.ops["open"] for r in results[s]])
        exp, cost = summary.exposure_usd_s, summary.cost_bps
        print(
            f"| {label} | {exp.median or 0.0:.1f} | {exp.p99 or 0.0:.1f} | {cost.mean or 0.0:.2f} | "
            f"{cost.median or 0.0:.2f} | {summary.maker_share or 0.0:.0%} | "
            f"{opens.full_size_opens}/{len(results[s])} | {summary.broken_pairs} |"
        )
    if args.json is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import results as results_file

        records = []
        for s in STRATEGIES:
            opens = summarise([r.ops["open"] for r in results[s]])
            for op in OPS:
                summary = summarise([r.ops[op] for r in results[s]])
                records.append(
                    {"strategy": s, "op": op, "summary": summary.to_dict(),
                     "full_size_opens": opens.full_size_opens, "seeds": len(results[s])}
                )  # fmt: skip
        results_file.update(
            args.json, "quality",
            {"scenario": args.scenario.name, "seeds": args.seeds, "jobs": args.jobs, "wall_s": wall,
             "rows": records},
        )  # fmt: skip


if __name__ == "__main__":
    main()
