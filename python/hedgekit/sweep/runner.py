"""Running the fault sweep: :func:`run_seed` builds, runs and classifies one seed under a
wall-clock guard, and :func:`run_sweep` runs many seeds on worker processes, replacing workers
that hang or die, and writes each failing scenario to a file that replays it.

A *lie* is a status that claims success while the venues' final positions say otherwise.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from hedgekit.sweep.faults import profile_for
from hedgekit.sweep.generator import features, scenario_for
from hedgekit.sweep.markets import _ZERO, D, _fmt, _min_size_of
from hedgekit.sweep.summary import FailureRecord, ProfileCounts, SeedOutcome, SweepSummary

LIE_STATUSES = frozenset(
    {"opened", "partial", "closed", "rolled_back", "nothing_to_close", "not_filled", "refused"}
)
"""Statuses that claim success: each is checked against the venues' final positions."""


class _SeedTimeout(KeyboardInterrupt):
    """Raised in a worker when a seed exceeds its wall-clock budget.

    A ``KeyboardInterrupt`` so that asyncio and ``except Exception`` blocks let it through.
    """


def _on_alarm(signum: int, frame: object) -> None:
    raise _SeedTimeout


class _ErrorCounter(logging.Handler):
    """Counts error records (contained failures) and keeps the first message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text += f": {type(exc).__name__}: {exc}"
            self.first = text[:300]


def _operation_label(feats: Iterable[str]) -> str:
    fs = set(feats)
    if "open" in fs:
        plan = next((f[5:] for f in fs if f.startswith("plan:")), "?")
        timing = next((f[7:] for f in fs if f.startswith("timing:")), "after_settle")
        return f"open {plan} {timing}" + (
            " +prior" if any(f.startswith("prior:") for f in fs) else ""
        )
    return next((f"close {f[6:]}" for f in fs if f.startswith("close:")), "close")


def _lie(mapping: Mapping[str, Any], report: Mapping[str, Any]) -> str | None:
    """Why a success status disagrees with the venues' final positions, or ``None``."""
    status = str(report["result"]["status"])
    if status not in LIE_STATUSES:
        return None
    op = mapping["operation"]
    venues = {v["name"]: v for v in mapping["venues"]}
    legs = [leg["venue"] for leg in op["legs"]]
    limit = max(_min_size_of(venues[name]) for name in legs)
    start = {p["venue"]: D(p["size"]) for p in mapping.get("positions", [])}
    end = {name: D(report["venues"][name]["position"]) for name in legs}
    moved = {name: end[name] - start.get(name, _ZERO) for name in legs}
    shown = ", ".join(f"{n} {_fmt(start.get(n, _ZERO))}->{_fmt(end[n])}" for n in legs)
    if status in ("opened", "partial"):
        net = sum(moved.values(), _ZERO)
        if abs(net) > limit:
            return f"{status} but the legs moved {_fmt(net)} apart (limit {_fmt(limit)}): {shown}"
        sides = {leg["venue"]: (1 if leg["side"] == "buy" else -1) for leg in op["legs"]}
        wrong = [n for n in legs if moved[n] * sides[n] < -limit]
        if wrong:
            return f"{status} but {', '.join(wrong)} moved against its side: {shown}"
        if all(m == 0 for m in moved.values()):
            return f"{status} but no venue position moved: {shown}"
        return None
    if status in ("closed", "nothing_to_close"):
        open_legs = [n for n in legs if abs(end[n]) > limit]
        if open_legs:
            return f"{status} but {', '.join(open_legs)} not flat (limit {_fmt(limit)}): {shown}"
        return None
    away = [n for n in legs if abs(moved[n]) > limit]
    if away:
        return (
            f"{status} but {', '.join(away)} not back at its start (limit {_fmt(limit)}): {shown}"
        )
    return None


def run_seed(seed: int, profile: str = "mixed", timeout_s: float = 60.0) -> SeedOutcome:
    """Builds, runs and classifies one seed (what each worker does).

    Args:
        seed: The seed.
        profile: The sweep's profile.
        timeout_s: Wall-clock budget; past it the seed counts as a hang.

    Returns:
        The outcome; never raises for a failure of the run itself.
    """
    from hedgekit.scenario import parse_scenario
    from hedgekit.simulate import simulate

    concrete = profile_for(seed, profile)
    t0 = time.perf_counter()
    counter = _ErrorCounter()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.lastResort)
    root.handlers[:] = [counter]
    root.setLevel(logging.ERROR)
    logging.lastResort = None
    can_alarm = hasattr(signal, "setitimer") and _in_main_thread()
    previous: Any = None
    outer = (0.0, 0.0)
    if can_alarm:
        outer = signal.getitimer(signal.ITIMER_REAL)  # a caller's own alarm (pytest-timeout's)
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    mapping: dict[str, Any] = {}
    feats: tuple[str, ...] = ()

    def outcome(
        kind: str,
        status: str,
        failed: tuple[str, ...],
        lie: str | None,
        crash: str | None,
        hung: bool,
        detail: str,
    ) -> SeedOutcome:
        return SeedOutcome(
            seed, concrete, kind, status, failed, lie, crash, hung,
            time.perf_counter() - t0, counter.count, counter.first, feats, detail,
        )  # fmt: skip

    try:
        mapping = scenario_for(seed, profile)
        feats = tuple(sorted(features(mapping)))
        report = simulate(parse_scenario(mapping))
        if can_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        status = str(report["result"]["status"])
        failed = tuple(k for k, v in report["invariants"].items() if not v["held"])
        detail = "; ".join(f"{k}: {report['invariants'][k]['detail']}" for k in failed)
        reason = report["result"].get("reason")
        positions = ", ".join(f"{n} {v['position']}" for n, v in report["venues"].items())
        detail = f"[{status}{' — ' + str(reason) if reason else ''}] positions {positions}" + (
            f"; {detail}" if detail else ""
        )
        return outcome(
            str(report["kind"]), status, failed, _lie(mapping, report), None, False, detail[:2000]
        )
    except _SeedTimeout:
        kind = str(mapping.get("operation", {}).get("kind", ""))
        return outcome(
            kind, "", (), None, None, True, f"no result within {timeout_s:g} s of wall time"
        )
    except Exception as exc:  # noqa: BLE001 - a failure of the run is what the sweep counts
        crash = f"{type(exc).__name__}: {exc}"[:1000]
        return outcome(
            str(mapping.get("operation", {}).get("kind", "")), "", (), None, crash, False, crash
        )
    finally:
        if can_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer[0] > 0:
                left = outer[0] - (time.perf_counter() - t0)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer[1])
        root.handlers[:], level, logging.lastResort = saved
        root.setLevel(level)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _record(summary: SweepSummary, o: SeedOutcome, profile: str, out_dir: Path | None) -> None:
    summary.seeds += 1
    summary.total.add(o)
    summary.by_profile.setdefault(o.profile, ProfileCounts()).add(o)
    summary.by_operation.setdefault(
        _operation_label(o.features) if o.features else "?", ProfileCounts()
    ).add(o)
    summary.logged_errors += o.logged_errors > 0
    if not o.failed:
        return
    what = list(o.violations)
    if o.lie is not None:
        what.append("lie")
    if o.crash is not None:
        what.append("crash")
    if o.hang:
        what.append("hang")
    mapping = scenario_for(o.seed, profile)
    path: str | None = None
    command: str | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        file = out_dir / f"sweep-{o.seed}.json"
        file.write_text(json.dumps(mapping, indent=2) + "\n")
        path = str(file)
        command = f"hedgekit simulate {file}"
    detail = (f"LIE: {o.lie}; " if o.lie else "") + o.detail
    summary.failures.append(
        FailureRecord(
            o.seed, o.profile, tuple(what), o.status, detail, str(mapping["name"]), path, command
        )
    )


def _kill_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Stops every worker of ``pool`` at once (a hung seed cannot be interrupted otherwise)."""
    for proc in list((pool._processes or {}).values()):
        try:
            proc.kill()
        except Exception:  # noqa: BLE001, S110 - already gone
            pass
    pool.shutdown(wait=True, cancel_futures=True)


def run_sweep(
    seeds: range | Sequence[int],
    jobs: int = 2,
    profile: str = "mixed",
    out_dir: Path | None = None,
    timeout_s: float = 60.0,
    *,
    on_progress: Callable[[SweepSummary], None] | None = None,
) -> SweepSummary:
    """Runs ``seeds`` on ``jobs`` worker processes and counts what went wrong.

    Each seed is bounded in wall-clock time twice: the worker interrupts itself after
    ``timeout_s`` (the seed counts as a hang), and should that fail the sweep stops the workers
    a little later (up to ten seconds), counts the seed as a hang and carries on with fresh
    workers; the seeds those workers had in hand run again.

    Args:
        seeds: The seeds.
        jobs: Worker processes (at least one).
        profile: The fault profile (see :mod:`hedgekit.sweep`).
        out_dir: Where failing scenarios are written as ``sweep-<seed>.json`` (``None``: not
            written).
        timeout_s: Wall-clock budget per seed.
        on_progress: Called with the running summary after each seed.

    Returns:
        The counts, and every failure with its replay command.

    Raises:
        ValueError: An unknown profile or a non-positive ``jobs``.
    """
    profile_for(0, profile)  # validates
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    summary = SweepSummary(profile=profile, jobs=jobs)
    todo = list(seeds)
    todo.reverse()
    hard_s = timeout_s + max(1.0, min(10.0, timeout_s))
    t0 = time.perf_counter()
    # fork: workers start at once, and a script calling this needs no ``__main__`` guard.
    ctx = multiprocessing.get_context("fork")
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
    inflight: dict[cf.Future[SeedOutcome], tuple[int, float]] = {}
    suspects: set[int] = set()  # in flight when a worker died: each runs alone next time

    def lost(seed: int, started: float, hang: bool, detail: str) -> None:
        o = SeedOutcome(
            seed,
            profile_for(seed, profile),
            hang=hang,
            wall_s=time.perf_counter() - started,
            crash=None if hang else detail,
            features=tuple(sorted(features(scenario_for(seed, profile)))),
            detail=detail,
        )
        _record(summary, o, profile, out_dir)

    try:
        while todo or inflight:
            while todo and len(inflight) < jobs and not (inflight and todo[-1] in suspects):
                seed = todo.pop()
                inflight[pool.submit(run_seed, seed, profile, timeout_s)] = (
                    seed,
                    time.perf_counter(),
                )
                if seed in suspects:
                    break
            now = time.perf_counter()
            wait_s = max(0.05, min(started + hard_s for _, started in inflight.values()) - now)
            done, _ = cf.wait(inflight, timeout=wait_s, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                try:
                    o = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                inflight.pop(fut)
                _record(summary, o, profile, out_dir)
                if on_progress is not None:
                    summary.wall_s = time.perf_counter() - t0
                    on_progress(summary)
            now = time.perf_counter()
            overdue = [f for f, (_, started) in inflight.items() if now - started > hard_s]
            if not overdue and not broken:
                continue
            for fut in overdue:
                seed, started = inflight.pop(fut)
                lost(seed, started, True, f"worker stopped after {hard_s:g} s of wall time")
            if broken and not overdue and len(inflight) == 1:
                seed, started = inflight.popitem()[1]
                lost(seed, started, False, "the worker process died")
            for seed, _ in inflight.values():
                if broken and not overdue:
                    suspects.add(seed)
                todo.append(seed)
            inflight.clear()
            _kill_pool(pool)
            pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
            if on_progress is not None:
                summary.wall_s = time.perf_counter() - t0
                on_progress(summary)
    finally:
        if inflight:
            _kill_pool(pool)
        else:
            pool.shutdown(wait=True, cancel_futures=True)
    summary.wall_s = time.perf_counter() - t0
    summary.failures.sort(key=lambda f: f.seed)
    return summary
