"""What a fault sweep found: how each seed ended, counts per group of seeds, each failing seed
with the command that replays it, the whole sweep's summary, and its readable report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """How one seed ended.

    Attributes:
        seed: The seed.
        profile: The concrete profile it ran under.
        kind: ``"open"`` or ``"close"`` (empty if the scenario never ran).
        status: The result's status (empty on a crash or a hang).
        violations: The invariants that did not hold.
        lie: Why the status disagrees with the venues' positions, or ``None``.
        crash: The exception, as ``"Type: message"``, or ``None``.
        hang: The seed ran out of wall-clock time.
        wall_s: Wall-clock seconds it took.
        logged_errors: Errors logged during the run (callbacks that failed and were contained).
        first_error: The first of those errors' messages.
        features: :func:`features` of its scenario.
        detail: A short account of the positions and the failed invariants' details.
    """

    seed: int
    profile: str
    kind: str = ""
    status: str = ""
    violations: tuple[str, ...] = ()
    lie: str | None = None
    crash: str | None = None
    hang: bool = False
    wall_s: float = 0.0
    logged_errors: int = 0
    first_error: str | None = None
    features: tuple[str, ...] = ()
    detail: str = ""

    @property
    def failed(self) -> bool:
        """A violation, a crash, a hang or a lie."""
        return bool(self.violations) or self.lie is not None or self.crash is not None or self.hang


@dataclass(slots=True)
class ProfileCounts:
    """Counts for one group of seeds (one profile, or every seed).

    Attributes:
        seeds: Seeds run.
        failed: Seeds with any violation, crash, hang or lie.
        violating: Seeds with at least one invariant violated.
        crashes: Seeds whose run raised.
        hangs: Seeds that ran out of time.
        lies: Seeds whose success status disagrees with the venues.
        violations: Seeds per violated invariant.
        statuses: Seeds per result status.
    """

    seeds: int = 0
    failed: int = 0
    violating: int = 0
    crashes: int = 0
    hangs: int = 0
    lies: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, o: SeedOutcome) -> None:
        """Counts one seed."""
        self.seeds += 1
        self.failed += o.failed
        self.violating += bool(o.violations)
        self.crashes += o.crash is not None
        self.hangs += o.hang
        self.lies += o.lie is not None
        self.violations.update(o.violations)
        self.statuses[o.status or ("hang" if o.hang else "crash")] += 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "seeds": self.seeds,
            "failed": self.failed,
            "violating": self.violating,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "lies": self.lies,
            "violations": dict(sorted(self.violations.items())),
            "statuses": dict(sorted(self.statuses.items())),
        }


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One failing seed and how to replay it.

    Attributes:
        seed: The seed.
        profile: Its concrete profile.
        what: What failed: invariant names, ``"lie"``, ``"crash"``, ``"hang"``.
        status: The result's status.
        detail: The lie, the exception or the invariants' details.
        name: The scenario's name (what it exercised).
        file: The scenario file written, or ``None`` without an output directory.
        command: The command that replays it.
    """

    seed: int
    profile: str
    what: tuple[str, ...]
    status: str
    detail: str
    name: str
    file: str | None
    command: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "seed": self.seed,
            "profile": self.profile,
            "what": list(self.what),
            "status": self.status,
            "detail": self.detail,
            "name": self.name,
            "file": self.file,
            "command": self.command,
        }


@dataclass(slots=True)
class SweepSummary:
    """What a sweep found.

    Attributes:
        profile: The profile asked for.
        seeds: Seeds run.
        wall_s: Wall-clock seconds of the whole sweep.
        jobs: Worker processes.
        total: Counts over every seed.
        by_profile: Counts per concrete profile.
        by_operation: Counts per operation shape (``"open maker_both"``, ``"close lone_leg"``...).
        failures: Every failing seed, in seed order.
        logged_errors: Seeds that logged an error (contained, not a failure by itself).
    """

    profile: str
    seeds: int = 0
    wall_s: float = 0.0
    jobs: int = 1
    total: ProfileCounts = field(default_factory=ProfileCounts)
    by_profile: dict[str, ProfileCounts] = field(default_factory=dict)
    by_operation: dict[str, ProfileCounts] = field(default_factory=dict)
    failures: list[FailureRecord] = field(default_factory=list)
    logged_errors: int = 0

    @property
    def seeds_per_minute(self) -> float:
        """Throughput."""
        return self.seeds / self.wall_s * 60 if self.wall_s > 0 else 0.0

    @property
    def clean(self) -> bool:
        """No violation, crash, hang or lie."""
        return self.total.failed == 0

    @property
    def crashes(self) -> int:
        """Seeds whose run raised."""
        return self.total.crashes

    @property
    def hangs(self) -> int:
        """Seeds that ran out of wall-clock time."""
        return self.total.hangs

    @property
    def lies(self) -> int:
        """Seeds whose success status disagrees with the venues."""
        return self.total.lies

    @property
    def violations(self) -> dict[str, int]:
        """Seeds per violated invariant."""
        return dict(self.total.violations)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "profile": self.profile,
            "seeds": self.seeds,
            "jobs": self.jobs,
            "wall_s": round(self.wall_s, 3),
            "seeds_per_minute": round(self.seeds_per_minute, 1),
            "clean": self.clean,
            "total": self.total.to_dict(),
            "by_profile": {k: v.to_dict() for k, v in sorted(self.by_profile.items())},
            "by_operation": {k: v.to_dict() for k, v in sorted(self.by_operation.items())},
            "logged_errors": self.logged_errors,
            "failures": [f.to_dict() for f in self.failures],
        }


# ---------------------------------------------------------------------------------- formatting


def format_summary(summary: SweepSummary, *, max_failures: int = 30) -> str:
    """A readable report of a sweep: throughput, counts per invariant, the per-profile table and
    the replay command of each failure (the first ``max_failures``)."""
    from hedgekit.demo import format_table

    t = summary.total

    def pct(n: int) -> str:
        return f"{n / t.seeds * 100:.1f}%" if t.seeds else "-"

    lines = [
        f"sweep: {summary.seeds} seeds, profile {summary.profile}, {summary.jobs} jobs, "
        f"{summary.wall_s:.1f} s wall, {summary.seeds_per_minute:.0f} seeds/min",
        f"failed {t.failed} ({pct(t.failed)}): "
        f"invariant violated {t.violating} ({pct(t.violating)}), "
        f"lies {t.lies} ({pct(t.lies)}), crashes {t.crashes}, hangs {t.hangs}",
        "",
    ]
    invariants = sorted(t.violations)
    rows = [[k, t.violations[k], pct(t.violations[k])] for k in invariants]
    if rows:
        lines += [
            "violations by invariant:",
            format_table(["invariant", "seeds", "share"], rows),
            "",
        ]

    def table(title: str, groups: Mapping[str, ProfileCounts]) -> list[str]:
        head = ["", "seeds", "failed", "violating", "lies", "crashes", "hangs", *invariants]
        body = [
            [
                k,
                c.seeds,
                c.failed,
                c.violating,
                c.lies,
                c.crashes,
                c.hangs,
                *(c.violations[i] for i in invariants),
            ]
            for k, c in sorted(groups.items())
        ]
        return [f"{title}:", format_table(head, body), ""]

    lines += table("by profile", summary.by_profile)
    lines += table("by operation", summary.by_operation)
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(t.statuses.items()))
    lines.append(f"statuses: {statuses}")
    if summary.logged_errors:
        lines.append(f"seeds that logged a contained error: {summary.logged_errors}")
    if summary.failures:
        lines += ["", f"failures ({len(summary.failures)}; replay with the command shown):"]
        for f in summary.failures[:max_failures]:
            replay = f.command or f"seed {f.seed} (no --out: not written)"
            lines.append(f"  {replay}   # {f.profile}, {f.status or '-'}: {', '.join(f.what)}")
        if len(summary.failures) > max_failures:
            lines.append(f"  ... and {len(summary.failures) - max_failures} more")
    return "\n".join(lines)
