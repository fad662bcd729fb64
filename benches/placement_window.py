"""How long a placement may stay executable: the deadline stamped on each placement (the
simulated venue's ``request_expiry_ns``, Hyperliquid's ``expiresAfter``) measured on the fault
sweep's heavy seeds, every seed run once per window with everything else equal.

A short window refuses more stalled placements (a hedge or a close order lost to a latency
spike must be sent again); a long one keeps an order whose answer was lost in doubt for longer
(the session believes "not found" only after the window plus 1 s), so operations wait or end
exposed with orders unresolved. ``0`` is no deadline with the tracker's 5 s grace: the run that
shows why a deadline is needed (a stalled placement executes after it was given up).

Usage: ``python benches/placement_window.py --seeds 300 --start 700000``
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from hedgekit.scenario import parse_scenario
from hedgekit.simulate import simulate
from hedgekit.sweep.generator import scenario_for

WINDOWS_MS = (0, 1000, 2000, 4000, 8000, 15000)


def _one(args: tuple[int, int, str]) -> dict[str, Any]:
    seed, window, profile = args
    mapping = scenario_for(seed, profile)
    for v in mapping["venues"]:
        v["request_expiry_ms"] = window
    report = simulate(parse_scenario(mapping))
    result = report["result"]
    return {
        "window": window,
        "status": result["status"],
        "violated": not report["all_invariants_held"],
        "exposure": float(result.get("exposure_usd_s") or 0.0),
        "unresolved": bool(result.get("unresolved")),
        "expired": sum(v["stats"].get("expired_requests", 0) for v in report["venues"].values()),
        "virtual_s": float(report.get("virtual_s") or 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--start", type=int, default=700_000)
    parser.add_argument("--profile", default="heavy")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [
        (seed, w, args.profile)
        for seed in range(args.start, args.start + args.seeds)
        for w in WINDOWS_MS
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(_one, jobs, chunksize=8))
    print(f"{args.seeds} seeds ({args.profile}, from {args.start}), each run once per window\n")
    print(
        "| window ms | violating | exposed | unresolved | expired requests | "
        "exposure USD·s mean | p99 | virtual s mean |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for w in WINDOWS_MS:
        mine = [r for r in rows if r["window"] == w]
        statuses = Counter(r["status"] for r in mine)
        exp = sorted(r["exposure"] for r in mine)
        p99 = exp[min(len(exp) - 1, int(0.99 * len(exp)))]
        print(
            f"| {w or 'none (5 s grace)'} | {sum(r['violated'] for r in mine)} "
            f"| {statuses['exposed']} | {sum(r['unresolved'] for r in mine)} "
            f"| {sum(r['expired'] for r in mine)} | {statistics.fmean(exp):,.0f} | {p99:,.0f} "
            f"| {statistics.fmean(r['virtual_s'] for r in mine):.1f} |"
        )


if __name__ == "__main__":
    main()
