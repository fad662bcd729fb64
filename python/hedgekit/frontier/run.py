"""Running policies on seeded scenarios: one pair per (policy, seed), on a process pool or on
Ray, deterministic whatever the parallelism."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import importlib
import json
import logging
import multiprocessing
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from hedgekit._core import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import HedgekitError
from hedgekit.execution import (
    AtomicExecutor,
    CloseExecutor,
    CloseLeg,
    ExecutionMode,
    OrderConfig,
    OrderExecutor,
)
from hedgekit.execution.config import LegSpec
from hedgekit.frontier.metrics import HORIZONS_S, OpMetrics, measure_operation
from hedgekit.frontier.policies import Policy, PolicyKind
from hedgekit.model import Fill, Side
from hedgekit.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue, SimVenueConfig

__all__ = [
    "LATE_FILLS_S",
    "RAY_INSTALL_HINT",
    "FrontierRunError",
    "FrontierTask",
    "RayUnavailableError",
    "SeedRun",
    "load_frontier_scenario",
    "pair_dust",
    "require_ray",
    "run_pair",
    "run_task",
    "run_tasks",
    "tasks_for",
]

LATE_FILLS_S = 3.0
"""Virtual seconds after an operation returns during which late fills still count to it."""
RAY_INSTALL_HINT = 'pip install "hedgekit[ray]"'
"""What to install for ``--ray``."""

_ZERO = Decimal(0)
_OPS = ("open", "close")


class FrontierRunError(HedgekitError):
    """One (policy, seed) run failed; the message names both and the cause."""


class RayUnavailableError(HedgekitError):
    """``ray`` is not importable (the message says what to install)."""


def load_frontier_scenario(path: str | Path) -> tuple[Scenario, dict[str, Any]]:
    """Reads and validates a scenario for a frontier: an open of two or more legs.

    Returns:
        The parsed scenario and the document it was parsed from (plain data: what the tasks
        carry to the workers, which parse it again).

    Raises:
        FileNotFoundError: No such file.
        ScenarioError: The file is malformed, or its operation is not an open.
    """
    sc = load_scenario(path)  # every check and message of the scenario format
    p = Path(path)
    raw = p.read_bytes()
    data: dict[str, Any]
    if p.suffix.lower() == ".json":
        data = json.loads(raw)
    else:
        data = tomllib.loads(raw.decode("utf-8"))
    if sc.kind != "open":
        raise ScenarioError("operation.kind", f"a frontier compares opens; got {sc.kind!r}")
    return sc, data


def pair_dust(configs: Sequence[SimVenueConfig], venues: Sequence[str]) -> Decimal:
    """The largest minimum order of the named venues at their starting mids: the lot step, the
    minimum quantity and the minimum notional (rounded up to the step), whichever is largest.
    Sizes within it count as equal."""
    out = _ZERO
    for cfg in configs:
        if cfg.name not in venues:
            continue
        inst = cfg.instruments[0]
        rules = inst.rules
        step = rules.step_size
        need = max(rules.min_qty, step)
        if rules.min_notional > 0 and inst.market.mid > 0:
            lots = (rules.min_notional / inst.market.mid / step).to_integral_value(
                rounding=ROUND_CEILING
            )
            need = max(need, lots * step)
        out = max(out, need)
    return out


# --------------------------------------------------------------------------- the baselines


async def _market_both_open(
    ex: Mapping[str, OrderExecutor], legs: Sequence[LegSpec], size: Decimal
) -> None:
    cfg = OrderConfig(mode=ExecutionMode.MARKET_ONLY)
    await asyncio.gather(*(ex[leg.venue].execute(leg.symbol, leg.side, size, cfg) for leg in legs))


async def _flatten(
    ex: Mapping[str, OrderExecutor], venues: Mapping[str, SimVenue], cfg: OrderConfig
) -> None:
    async def one(name: str) -> None:
        v = venues[name]
        sym = v.config.instruments[0].symbol
        pos = v.engine.position(sym)  # a baseline reads the venue's position directly
        if pos != 0:
            side = Side.SELL if pos > 0 else Side.BUY
            await ex[name].execute(sym, side, abs(pos), cfg, reduce_only=True)

    await asyncio.gather(*(one(n) for n in venues))


async def _limit_wait_open(
    ex: Mapping[str, OrderExecutor],
    venues: Mapping[str, SimVenue],
    legs: Sequence[LegSpec],
    size: Decimal,
    timeout: float,
) -> None:
    cfg = OrderConfig(mode=ExecutionMode.LIMIT_ONLY, timeout_s=timeout)
    results = await asyncio.gather(
        *(ex[leg.venue].execute(leg.symbol, leg.side, size, cfg) for leg in legs)
    )
    if not all(r.complete for r in results):
        await _flatten(ex, venues, OrderConfig(mode=ExecutionMode.MARKET_ONLY))


async def _limit_wait_close(
    ex: Mapping[str, OrderExecutor], venues: Mapping[str, SimVenue], timeout: float
) -> None:
    await _flatten(
        ex, venues, OrderConfig(mode=ExecutionMode.LIMIT_WITH_FALLBACK, timeout_s=timeout)
    )


# ------------------------------------------------------------------------------- one pair


@dataclass(frozen=True, slots=True)
class _Window:
    op: str
    fills: list[Fill]
    arrival_mids: dict[str, Decimal]
    t0_ns: int
    t1_ns: int
    start_net: Decimal
    start_price: Decimal
    before: dict[str, Decimal]
    after: dict[str, Decimal]


async def run_pair(
    sc: Scenario, policy: Policy, ops: Sequence[str] = ("open",)
) -> dict[str, OpMetrics]:
    """Opens (then, with ``ops=("open", "close")``, closes) one pair of ``sc`` with ``policy``,
    on the running (virtual-time) loop; every number is read from the venues' records.

    Timeline: the market runs ``sc.start_after_s``; each operation starts at ``t0`` and its
    window ends :data:`LATE_FILLS_S` after it returns (``t1``); an open is followed by 5 s of
    quiet before the close; the run goes on for the longest markout horizon after the last
    window so that every maker fill's markout is known.

    Args:
        sc: An open scenario (already given its seed).
        policy: How the pair is opened; a close is hedgekit's ``CloseExecutor`` for a hedgekit
            policy and the baseline's own close for a baseline.
        ops: ``("open",)`` or ``("open", "close")``.

    Returns:
        Each operation's metrics by name.
    """
    for op in ops:
        if op not in _OPS:
            raise ValueError(f"unknown operation {op!r}")
    clock = LoopClock()
    ledger = FillLedger()
    venues = {cfg.name: SimVenue(cfg, clock) for cfg in sc.venues}
    for v in venues.values():
        v.engine.record_mids()
    for p in sc.positions:
        venues[p.venue].engine.seed_position(p.symbol, p.size, p.entry_price)
    sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
    ex = {n: OrderExecutor(s, clock=clock, id_prefix="b") for n, s in sessions.items()}
    legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
    leg_venues = [leg.venue for leg in legs]
    size = sc.size or Decimal(1)
    atomic = policy.atomic_config(sc.atomic)
    timeout = sc.atomic.entry_timeout_s
    windows: list[_Window] = []

    def symbol(v: SimVenue) -> str:
        return v.config.instruments[0].symbol

    def mid(v: SimVenue) -> Decimal:
        q = v.quote(symbol(v))
        if q is not None:
            return q.mid
        true_mid = v.engine.mid(symbol(v))
        return true_mid if true_mid is not None else v.config.instruments[0].market.mid

    try:
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await asyncio.sleep(sc.start_after_s)
        for op in ops:
            mids = {n: mid(v) for n, v in venues.items()}
            before = {n: venues[n].engine.position(symbol(venues[n])) for n in leg_venues}
            start_net = sum((v.engine.position(symbol(v)) for v in venues.values()), _ZERO)
            t0 = clock.now_ns()
            if policy.kind is PolicyKind.HEDGEKIT:
                if op == "open":
                    await AtomicExecutor(sessions, clock=clock).open(legs, size, atomic)
                else:
                    await CloseExecutor(sessions, clock=clock).close(
                        [CloseLeg(leg.venue, leg.symbol) for leg in legs], sc.close
                    )
            elif policy.kind is PolicyKind.MARKET_BOTH:
                if op == "open":
                    await _market_both_open(ex, legs, size)
                else:
                    await _flatten(ex, venues, OrderConfig(mode=ExecutionMode.MARKET_ONLY))
            elif op == "open":
                await _limit_wait_open(ex, venues, legs, size, timeout)
            else:
                await _limit_wait_close(ex, venues, timeout)
            await asyncio.sleep(LATE_FILLS_S)
            t1 = clock.now_ns()
            fills = [f for v in venues.values() for f in v.engine.fills() if t0 <= f.ts_ns <= t1]
            after = {n: venues[n].engine.position(symbol(venues[n])) for n in leg_venues}
            windows.append(
                _Window(
                    op, fills, mids, t0, t1, start_net, next(iter(mids.values())), before, after
                )
            )
            if op == "open":
                await asyncio.sleep(5.0)
        if ops and ops[-1] != "open":
            await asyncio.sleep(max(HORIZONS_S))  # the close's markouts
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()
    history = {n: v.engine.mid_history(symbol(v)) for n, v in venues.items()}
    dust = pair_dust(sc.venues, leg_venues)
    return {
        w.op: measure_operation(
            w.op,
            w.fills,
            arrival_mids=w.arrival_mids,
            mid_history=history,
            t0_ns=w.t0_ns,
            t1_ns=w.t1_ns,
            start_net=w.start_net,
            start_price=w.start_price,
            before=w.before,
            after=w.after,
            size=size,
            dust=dust,
        )
        for w in windows
    }


# ---------------------------------------------------------------------------------- tasks


@dataclass(frozen=True, slots=True)
class FrontierTask:
    """One (policy, seed) run, as plain picklable data a worker process or a Ray task takes.

    Attributes:
        policy: The policy.
        seed: The scenario's seed for this run.
        scenario: The scenario document (parsed again by the worker).
        ops: The operations to run.
    """

    policy: Policy
    seed: int
    scenario: Mapping[str, Any]
    ops: tuple[str, ...] = ("open",)


@dataclass(frozen=True, slots=True)
class SeedRun:
    """The result of one task.

    Attributes:
        policy: The policy's name.
        seed: The seed.
        ops: Each operation's metrics by name.
    """

    policy: str
    seed: int
    ops: Mapping[str, OpMetrics]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {"seed": self.seed, **{op: m.to_dict() for op, m in self.ops.items()}}


def tasks_for(
    scenario: Mapping[str, Any],
    base_seed: int,
    indices: Sequence[int],
    policies: Sequence[Policy],
    ops: tuple[str, ...] = ("open",),
) -> list[FrontierTask]:
    """Every policy on every seed ``base_seed + i`` for ``i`` in ``indices`` (policy-major)."""
    return [FrontierTask(p, base_seed + i, scenario, ops) for p in policies for i in indices]


def run_task(task: FrontierTask) -> SeedRun:
    """Runs one task on a fresh virtual-time loop (what each worker does; logs below errors
    are silenced for its duration).

    Raises:
        FrontierRunError: The run raised; the message names the policy, the seed and the cause.
    """
    manager = logging.root.manager
    previous = manager.disable
    logging.disable(logging.WARNING)
    try:
        sc = parse_scenario(task.scenario).with_seed(task.seed)
        ops = run_virtual(run_pair(sc, task.policy, task.ops))
    except Exception as exc:  # noqa: BLE001 - reported with the task that failed
        raise FrontierRunError(
            f"policy {task.policy.name}, seed {task.seed}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        logging.disable(previous)
    return SeedRun(task.policy.name, task.seed, ops)


Progress = Callable[[int, int], None]
"""Called with (tasks done, tasks in all) as results come in."""


def run_tasks(
    tasks: Sequence[FrontierTask],
    jobs: int = 1,
    *,
    ray_address: str | None = None,
    on_progress: Progress | None = None,
) -> list[SeedRun]:
    """Runs ``tasks`` and returns their results in the tasks' order, whatever order they
    finish in: in this process (``jobs == 1``), on ``jobs`` forked worker processes, or as Ray
    tasks (``ray_address``: a cluster's address, or ``"local"`` for a local instance of 2 CPUs
    started and stopped here; ``jobs`` is then ignored).

    Raises:
        ValueError: ``jobs`` below 1.
        FrontierRunError: A task failed.
        RayUnavailableError: ``ray_address`` given and ``ray`` not installed.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if ray_address is not None:
        return _run_ray(tasks, ray_address, on_progress)
    total = len(tasks)
    if jobs == 1 or total <= 1:
        out = []
        for i, t in enumerate(tasks):
            out.append(run_task(t))
            if on_progress is not None:
                on_progress(i + 1, total)
        return out
    results: list[SeedRun | None] = [None] * total
    # fork: workers start at once, and a script calling this needs no ``__main__`` guard.
    ctx = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=min(jobs, total), mp_context=ctx) as pool:
        futures = {pool.submit(run_task, t): i for i, t in enumerate(tasks)}
        try:
            for n, fut in enumerate(cf.as_completed(futures), start=1):
                results[futures[fut]] = fut.result()
                if on_progress is not None:
                    on_progress(n, total)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return [r for r in results if r is not None]


def require_ray() -> None:
    """Checks that ``ray`` can be imported.

    Raises:
        RayUnavailableError: It cannot; the message says what to install.
    """
    _import_ray()


def _import_ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise RayUnavailableError(
            f"--ray needs ray, which is not installed ({exc}): {RAY_INSTALL_HINT}"
        ) from None


def _ray_failure(exc: Exception) -> FrontierRunError:
    """The one-line error of a failed Ray task (Ray's own message carries a traceback)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, FrontierRunError):
        return FrontierRunError(str(cause))
    what = cause if isinstance(cause, BaseException) else exc
    first = (str(what).strip().splitlines() or [""])[0]
    return FrontierRunError(f"a Ray task failed: {type(what).__name__}: {first}")


def _run_ray(
    tasks: Sequence[FrontierTask], address: str, on_progress: Progress | None
) -> list[SeedRun]:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        if address == "local":
            # Workers import the same hedgekit as this process, wherever it was found.
            pkg_root = str(Path(__file__).resolve().parents[2])
            path = os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH", "")) if p)
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                runtime_env={"env_vars": {"PYTHONPATH": path}},
            )
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
        refs = [remote.remote(t) for t in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[SeedRun | None] = [None] * len(refs)
        pending = list(refs)
        done_n = 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    results[index[ref]] = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a task's failure, as one line
                    raise _ray_failure(exc) from None
                done_n += 1
                if on_progress is not None:
                    on_progress(done_n, len(refs))
        return [r for r in results if r is not None]
    finally:
        if started_here:
            ray.shutdown()
