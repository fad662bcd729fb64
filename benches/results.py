"""``benches/results.json``: the machine-readable record of the last benchmark run.

Every benchmark writes its own section (``--json PATH`` on ``gate.py``, ``callfloor.py``,
``quality.py`` and ``load.py``); what cannot write JSON itself is read from its own output by
the commands below. Each section carries when, where and on which commit it was recorded, so a
section left from an older run says so. ``benches/render.py`` regenerates the tables of
``BENCHMARKS.md`` from this file.

Layout::

    {"schema": 1,
     "sections": {NAME: {"recorded": {"date", "commit", "python", "machine", ...},
                         "data": {...}}}}

Commands (``make bench`` runs them; ``--json`` defaults to ``benches/results.json``)::

    python benches/results.py pytest-benchmark PYTEST_BENCHMARK_JSON [--json PATH]
    python benches/results.py reaction REACTION_STDOUT [--section reaction|reaction-idle] [--json PATH]
    python benches/results.py frontier LABEL DIR/frontier.json [--json PATH]
    python benches/results.py rust CARGO_BENCH_STDOUT [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SCHEMA = 1
ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "benches" / "results.json"


# ------------------------------------------------------------------------------ metadata
def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        # "+changes": the library measured (python/, rust/) differs from the commit
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "python", "rust"], cwd=ROOT,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def version_of(dist: str) -> str | None:
    """The installed version of a distribution, or ``None``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def recorded() -> dict[str, Any]:
    """Where and when: date (UTC), commit, interpreter, machine, the peers' versions."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _commit(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": platform.machine(),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "hedgekit": version_of("hedgekit"),
        "nautilus_trader": version_of("nautilus_trader"),
        "uvloop": version_of("uvloop"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else None,
    }


# ------------------------------------------------------------------------------ the file
def load(path: str | Path = DEFAULT) -> dict[str, Any]:
    """The results document (an empty one if the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return {"schema": SCHEMA, "sections": {}}
    doc = json.loads(p.read_text(encoding="utf-8"))
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"{p}: schema {doc.get('schema')!r}, expected {SCHEMA}")
    return dict(doc)


def update(path: str | Path, section: str, data: Any, meta: dict[str, Any] | None = None) -> None:
    """Replaces one section of the results file (created if needed), keeping the others; the
    file is replaced atomically."""
    p = Path(path)
    doc = load(p)
    doc.setdefault("sections", {})[section] = {"recorded": meta or recorded(), "data": data}
    doc["sections"] = dict(sorted(doc["sections"].items()))
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name, dir=p.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n")
    os.chmod(tmp, p.stat().st_mode & 0o777 if p.exists() else 0o644)  # mkstemp's is 0600
    os.replace(tmp, p)


# ------------------------------------------------------------------------------ readers
def from_pytest_benchmark(doc: dict[str, Any]) -> dict[str, Any]:
    """pytest-benchmark's ``--benchmark-json`` document → per group, per test: ns figures."""
    groups: dict[str, dict[str, Any]] = {}
    for b in doc.get("benchmarks", []):
        s = b["stats"]
        groups.setdefault(b.get("group") or "ungrouped", {})[b["name"]] = {
            "median_ns": s["median"] * 1e9,
            "min_ns": s["min"] * 1e9,
            "mean_ns": s["mean"] * 1e9,
            "stddev_ns": s["stddev"] * 1e9,
            "iqr_ns": s["iqr"] * 1e9,
            "rounds": s["rounds"],
            "iterations": s["iterations"],
        }
    return {"groups": {g: dict(sorted(v.items())) for g, v in sorted(groups.items())}}


def pytest_benchmark_recorded(doc: dict[str, Any]) -> dict[str, Any]:
    """When pytest-benchmark ran (from its own document; the commit is read as for the others)."""
    out: dict[str, Any] = {"command": "pytest benches --benchmark-only"}
    when = doc.get("datetime")
    if when:
        out["date"] = (
            dt.datetime.fromisoformat(when).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    return out


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The rows of the first markdown table in ``text``, as dicts keyed by the header."""
    lines = [ln.strip() for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        if (
            ln.startswith("|")
            and i + 1 < len(lines)
            and re.fullmatch(r"\|[\s:|-]+\|", lines[i + 1])
        ):
            head = [c.strip() for c in ln.strip("|").split("|")]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip("|").split("|")]
                rows.append(dict(zip(head, cells)))
            return rows
    return []


def _num(cell: str) -> float | None:
    try:
        return float(cell.replace(",", ""))
    except ValueError:
        return None


def from_reaction_stdout(text: str) -> dict[str, Any]:
    """``benches/reaction.py``'s printed tables (one header, then one table per loop) → rows.

    reaction.py prints markdown; it is read by its header names, so a new column is carried
    along and a missing one is absent."""
    first = text.splitlines()[0] if text else ""
    m = re.search(r"(\d+) runs per row", first)
    idle = re.search(r"idle ([\d.]+) ms", first)
    rows: list[dict[str, Any]] = []
    for row in markdown_rows(text):
        out: dict[str, Any] = {}
        for k, v in row.items():
            key = (
                k.replace(" µs", "_us").replace("p50 x floor", "x_floor").replace(" ", "_").lower()
            )
            n = _num(v)
            out[key] = n if n is not None and key not in ("row", "loop") else v
        rows.append(out)
    return {
        "title": first,
        "runs": int(m.group(1)) if m else None,
        "idle_ms": float(idle.group(1)) if idle else 0.0,
        "rows": rows,
    }


def from_frontier(doc: dict[str, Any]) -> dict[str, Any]:
    """A ``frontier.json`` → its scenario, seeds and per-policy summaries (the runs left out)."""
    seeds = doc["seeds"]
    return {
        "scenario": doc["scenario"],
        "seeds": {"first": seeds[0], "last": seeds[-1], "n": len(seeds)},
        "horizons_s": doc.get("horizons_s"),
        "policies": [
            {"name": p["name"], "kind": p.get("kind"), "summary": p["summary"]}
            for p in doc["policies"]
        ],
    }


RUST_LINE = re.compile(r"^(?P<name>\S.*?)\s+median\s+(?P<ns>[\d.]+) ns/op\s*$")


def from_rust_stdout(text: str) -> dict[str, Any]:
    """``cargo bench -p hedgekit-core`` output (``NAME  median X ns/op`` lines) → rows."""
    rows = [
        {"name": m.group("name"), "ns": float(m.group("ns"))}
        for m in map(RUST_LINE.match, text.splitlines())
        if m
    ]
    return {"rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Adds one benchmark's output to benches/results.json.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", type=Path, default=DEFAULT, help="the results file (default: %(default)s)"
    )
    sub = ap.add_subparsers(dest="kind", required=True)
    p = sub.add_parser(
        "pytest-benchmark", parents=[common], help="pytest-benchmark's --benchmark-json file"
    )
    p.add_argument("file", type=Path)
    p = sub.add_parser(
        "reaction", parents=[common], help="benches/reaction.py's standard output, saved to a file"
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--section",
        default="reaction",
        choices=("reaction", "reaction-idle"),
        help="where it goes: reaction (runs back to back) or reaction-idle (--idle-ms runs)",
    )
    p = sub.add_parser(
        "frontier",
        parents=[common],
        help="a `hedgekit frontier` run's frontier.json, under a label",
    )
    p.add_argument("label")
    p.add_argument("file", type=Path)
    p = sub.add_parser(
        "rust",
        parents=[common],
        help="`cargo bench -p hedgekit-core`'s standard output, saved to a file",
    )
    p.add_argument("file", type=Path)
    args = ap.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    if args.kind == "pytest-benchmark":
        doc = json.loads(text)
        data = from_pytest_benchmark(doc)
        if not data["groups"]:
            print(f"{args.file}: no benchmarks", file=sys.stderr)
            return 1
        update(
            args.json, "pytest-benchmark", data, {**recorded(), **pytest_benchmark_recorded(doc)}
        )
    elif args.kind == "reaction":
        data = from_reaction_stdout(text)
        if not data["rows"]:
            print(f"{args.file}: no reaction table", file=sys.stderr)
            return 1
        update(args.json, args.section, data)
    elif args.kind == "frontier":
        doc = load(args.json)
        section = doc["sections"].get("frontier", {}).get("data", {})
        section[args.label] = {**from_frontier(json.loads(text)), "recorded": recorded()}
        update(args.json, "frontier", dict(sorted(section.items())))
    else:
        data = from_rust_stdout(text)
        if not data["rows"]:
            print(f"{args.file}: no `median ... ns/op` lines", file=sys.stderr)
            return 1
        update(args.json, "rust", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
