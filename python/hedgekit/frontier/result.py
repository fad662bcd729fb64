"""A frontier's result: the runs of every policy, their summaries, and the table and JSON
document written from them (both a function of the runs alone: byte-identical for the same
command, whatever the parallelism)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hedgekit.execution.config import LegSpec
from hedgekit.frontier.metrics import HORIZONS_S, Summary, horizon_label, summarise
from hedgekit.frontier.policies import Policy
from hedgekit.frontier.run import (
    Progress,
    SeedRun,
    load_frontier_scenario,
    run_tasks,
    tasks_for,
)

__all__ = [
    "FrontierResult",
    "PolicyResult",
    "format_markdown",
    "run_frontier",
    "to_document",
    "to_json",
    "write_outputs",
]


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy over every seed.

    Attributes:
        policy: The policy.
        runs: One per seed, in seed order.
        summary: The opens summarised.
    """

    policy: Policy
    runs: tuple[SeedRun, ...]
    summary: Summary


@dataclass(frozen=True, slots=True)
class FrontierResult:
    """Every policy on the same seeds of one scenario.

    Attributes:
        scenario: The scenario's name.
        file: The scenario file's name (without its directory).
        size: The pair size.
        legs: ``"venue:side"`` per leg.
        seeds: The seeds, in order.
        policies: One per policy, in the order asked.
    """

    scenario: str
    file: str
    size: str
    legs: tuple[str, ...]
    seeds: tuple[int, ...]
    policies: tuple[PolicyResult, ...]


def run_frontier(
    scenario: str | Path,
    seeds: int,
    policies: Sequence[Policy],
    *,
    start: int = 0,
    jobs: int = 1,
    ray_address: str | None = None,
    on_progress: Progress | None = None,
) -> FrontierResult:
    """Runs every policy's open on the seeds ``scenario.seed + start + i`` for ``i < seeds``.

    Args:
        scenario: The scenario file (an open).
        seeds: How many seeds (at least one).
        policies: The policies (at least one).
        start: The first seed's offset from the scenario's seed.
        jobs: Worker processes (``1``: in this process).
        ray_address: Run as Ray tasks instead (see :func:`hedgekit.frontier.run_tasks`).
        on_progress: Called with (done, total) as runs finish.

    Raises:
        FileNotFoundError: No such scenario file.
        hedgekit.scenario.ScenarioError: A malformed scenario, or not an open.
        ValueError: ``seeds``, ``jobs`` or ``start`` out of range, or no policy.
        hedgekit.frontier.FrontierRunError: A run failed.
        hedgekit.frontier.RayUnavailableError: ``ray_address`` without ``ray`` installed.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if start < 0:
        raise ValueError(f"start must not be negative, got {start}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if not policies:
        raise ValueError("at least one policy")
    sc, document = load_frontier_scenario(scenario)
    indices = range(start, start + seeds)
    tasks = tasks_for(document, sc.seed, indices, policies)
    runs = run_tasks(tasks, jobs, ray_address=ray_address, on_progress=on_progress)
    by_policy: list[PolicyResult] = []
    for k, p in enumerate(policies):
        mine = tuple(runs[k * seeds : (k + 1) * seeds])
        by_policy.append(PolicyResult(p, mine, summarise([r.ops["open"] for r in mine])))
    legs = tuple(f"{leg.venue}:{leg.side.value}" for leg in sc.legs if isinstance(leg, LegSpec))
    return FrontierResult(
        scenario=sc.name,
        file=Path(scenario).name,
        size=str(sc.size),
        legs=legs,
        seeds=tuple(sc.seed + i for i in indices),
        policies=tuple(by_policy),
    )


# ------------------------------------------------------------------------------- output


def to_document(result: FrontierResult) -> dict[str, Any]:
    """The JSON document: the scenario, the seeds, and per policy its summary and every run."""
    return {
        "scenario": {
            "name": result.scenario,
            "file": result.file,
            "size": result.size,
            "legs": list(result.legs),
        },
        "seeds": list(result.seeds),
        "horizons_s": list(HORIZONS_S),
        "policies": [
            {
                "name": pr.policy.name,
                "kind": pr.policy.kind.value,
                "description": pr.policy.description,
                "overrides": pr.policy.overrides_dict(),
                "summary": pr.summary.to_dict(),
                "runs": [r.to_dict() for r in pr.runs],
            }
            for pr in result.policies
        ],
    }


def to_json(result: FrontierResult) -> str:
    """:func:`to_document` as text (floats written exactly, keys in a fixed order)."""
    return json.dumps(to_document(result), indent=2, allow_nan=False) + "\n"


def _f(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def format_markdown(result: FrontierResult) -> str:
    """The table (markdown): one row per policy, then the legend."""
    n = len(result.seeds)
    first, last = result.seeds[0], result.seeds[-1]
    seeds = f"seed {first}" if n == 1 else f"seeds {first}–{last}"
    head = [
        "policy",
        "exposure USD·s median",
        "p99",
        "cost bps mean",
        "median",
    ]
    for h in HORIZONS_S:
        head += [f"markout-adj. {h:g} s bps mean", "median"]
    head += ["maker share", "full-size opens", "broken pairs", "oversize legs"]
    lines = [
        f"# Frontier: {result.scenario}",
        "",
        f"`{result.file}`: open of {result.size} ({', '.join(result.legs)}), {seeds} "
        f"({n} per policy), every policy on the same seeds.",
        "",
        _row(head),
        _row(["---"] + ["---:"] * (len(head) - 1)),
    ]
    for pr in result.policies:
        s = pr.summary
        cells = [
            pr.policy.name,
            _f(s.exposure_usd_s.median, 1),
            _f(s.exposure_usd_s.p99, 1),
            _f(s.cost_bps.mean, 2),
            _f(s.cost_bps.median, 2),
        ]
        for h in HORIZONS_S:
            d = s.markout_adjusted_bps[horizon_label(h)]
            cells += [_f(d.mean, 2), _f(d.median, 2)]
        cells += [
            _share(s.maker_share),
            f"{s.full_size_opens}/{s.operations}",
            str(s.broken_pairs),
            str(s.oversize_legs),
        ]
        lines.append(_row(cells))
    lines += ["", "Policies:", ""]
    lines += [f"- `{pr.policy.name}`: {pr.policy.description}" for pr in result.policies]
    lines += [
        "",
        "Every number is read from the simulated venues' records (their fills, mids and "
        "positions), over the open's window (until 3 s after it returns). Exposure: "
        "∫ |net size| x price dt. Cost: vs each venue's arrival mid, fees included, over the "
        "opens that traded. Markout-adjusted: the cost plus, for every maker fill, "
        "-side x (mid(t + h) - mid(t)) x size (the venue's true mid; positive when it moved "
        "against us), over the same notional. Broken: the legs' moves do not cancel within "
        "the largest minimum order. Oversize: a leg moved by more than the pair size. "
        "Percentiles: nearest rank (see hedgekit.frontier).",
        "",
    ]
    return "\n".join(lines)


def write_outputs(result: FrontierResult, out_dir: Path) -> Mapping[str, Path]:
    """Writes ``frontier.md`` and ``frontier.json`` into ``out_dir`` (created if needed).

    Returns:
        The paths by kind (``"md"``, ``"json"``).

    Raises:
        OSError: ``out_dir`` cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "frontier.md"
    js = out_dir / "frontier.json"
    md.write_text(format_markdown(result), encoding="utf-8")
    js.write_text(to_json(result), encoding="utf-8")
    return {"md": md, "json": js}
