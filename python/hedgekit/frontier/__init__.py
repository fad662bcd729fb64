"""The exposure/cost frontier of open policies: every policy opens the same pair on the same
seeded simulated venues, and each is placed by how long it leaves the pair unhedged against what
the open costs, markouts included.

``hedgekit frontier SCENARIO --seeds N`` runs it (:func:`run_frontier` from Python); the
scenario is an open (``docs/scenarios.md``). Seed ``i`` (``i`` from ``--start``) is the
scenario's seed plus ``i``, through :meth:`hedgekit.scenario.Scenario.with_seed`, exactly as
``benches/quality.py`` does. Each (policy, seed) is one task — a fresh set of venues on a fresh
virtual-time loop — run in this process, on a pool of forked worker processes, or as Ray tasks;
results are gathered in task order, so the table and the JSON are byte-identical whatever the
parallelism.

Policies (:data:`POLICIES`, ``--policies all`` runs them in this order):

- ``immediate-ioc``, ``immediate-ladder``, ``immediate-budgeted``, ``after_settle-ioc``,
  ``after_settle-ladder``, ``after_settle-budgeted``: the scenario's
  :class:`~hedgekit.execution.AtomicConfig` with ``hedge_timing`` and ``hedge_pricing``
  replaced (``budgeted`` is ``budgeted_maker``, with the scenario's ``maker_budget_usd_s``);
- ``maker_both``, ``taker_both``, ``auto``: the scenario's configuration with ``plan`` replaced;
- ``market-both`` (baseline): both legs as protected IOCs at once;
- ``limit-wait`` (baseline): both legs post-only, waiting up to the scenario's
  ``entry_timeout_s`` for both; a leg that did not fill completely has every venue's position
  flattened by market.

What one run measures — always from the venues' own records (their fill ledgers, their true
mids and their positions), never from the strategy's view:

- *Window*: the open starts at ``t0`` (after the scenario's ``start_after_s``) and its window
  ends 3 s after it returns (``t1``), so late fills count; the fills are our fills executed in
  ``[t0, t1]`` on every venue.
- *Exposure* (USD·s): ``∫ |net size| x price dt`` over the window
  (:func:`hedgekit.execution.measure_exposure`): the net size is the signed sum of every fill so
  far, valued at the last fill's price.
- *Cost* (bps vs the arrival mid, fees included): ``Σ_f [side_f x (price_f - m0_v) x size_f +
  fee_f] / Σ_f m0_v x size_f x 10⁴`` over the window's fills, ``m0_v`` the mid of our book of
  fill ``f``'s venue ``v`` at ``t0``; ``side`` is +1 buy, -1 sell. Positive is a cost.
- *Markout-adjusted cost at horizon h* (1 s and 5 s): the cost plus the adverse move of the mid
  after each maker fill, charged against us, over the same notional::

      cost_adj(h) = cost + Σ_maker f [-side_f x (mid_v(t_f + h) - mid_v(t_f)) x size_f]
                           / Σ_f m0_v x size_f x 10⁴

  where ``t_f`` is the fill's venue time and ``mid_v(t)`` the venue's true mid in force at ``t``
  (the last one its market set at or before ``t``; a fill caused by a mid move is measured from
  the moved mid). The charge is signed: a move against us (we bought, the mid fell) adds to the
  cost, a move our way subtracts — an unbiased estimate of the adverse selection of resting
  orders, which a zero-floored charge would not be. Taker fills are not charged (their price
  already paid the spread). The run lasts at least ``max(h)`` after the window, so every maker
  fill's markout is known. It is the mid-to-mid markout of :mod:`hedgekit.venues.sim.markouts`
  (``side x (mid(t + h) - mid(t))``, positive for us) with its sign turned into a cost. The
  journal's ``markout`` events (:class:`hedgekit.execution.recorder.MarkoutRecorder`) differ in
  two ways: they measure from the mid when the order was *placed*, and read our copy of the
  book rather than the venue's truth.
- *Maker share*: maker size over traded size, every leg.
- *Full-size open*: the legs' moves cancel, and each leg moved by the pair size, within the dust.
- *Broken pair*: after the window, the legs' position moves (venue position minus the position at
  ``t0``) do not cancel within the dust (neither hedged at some size nor flat).
- *Oversize leg*: after the window, a leg's venue position moved by more than the pair size.
- *Dust*: the largest minimum order of the legs' venues at their starting mids (lot step,
  minimum quantity, minimum notional rounded up to the step).

Summaries over a policy's runs (:class:`Summary`): median (``statistics.median``), mean
(``statistics.fmean``), and percentiles by nearest rank — the value of rank ``⌊q x n⌋``
(0-based, at most ``n - 1``) of the sorted values; p99 for the tail, p25 and p75 for the plot's
interquartile bars. Costs are summarised over the runs that traded; exposure over every run.

Outputs (:func:`write_outputs`, :func:`plot_frontier`): ``frontier.md`` (the table),
``frontier.json`` (the same numbers, plus every run's), ``frontier.png`` (median exposure,
log x, against median markout-adjusted cost at 5 s, interquartile bars; needs matplotlib).
"""

from __future__ import annotations

from hedgekit.frontier.metrics import (
    HORIZONS_S,
    Distribution,
    OpMetrics,
    Summary,
    markout_charge,
    measure_operation,
    percentile,
    summarise,
)
from hedgekit.frontier.plot import PLOT_HORIZON_S, plot_frontier
from hedgekit.frontier.policies import (
    BASELINES,
    POLICIES,
    Policy,
    PolicyKind,
    UnknownPolicyError,
    policy_names,
    resolve_policies,
)
from hedgekit.frontier.result import (
    FrontierResult,
    PolicyResult,
    format_markdown,
    run_frontier,
    to_document,
    to_json,
    write_outputs,
)
from hedgekit.frontier.run import (
    LATE_FILLS_S,
    RAY_INSTALL_HINT,
    FrontierRunError,
    FrontierTask,
    RayUnavailableError,
    SeedRun,
    load_frontier_scenario,
    pair_dust,
    require_ray,
    run_pair,
    run_task,
    run_tasks,
    tasks_for,
)

__all__ = [
    "BASELINES",
    "HORIZONS_S",
    "LATE_FILLS_S",
    "PLOT_HORIZON_S",
    "POLICIES",
    "RAY_INSTALL_HINT",
    "Distribution",
    "FrontierResult",
    "FrontierRunError",
    "FrontierTask",
    "OpMetrics",
    "Policy",
    "PolicyKind",
    "PolicyResult",
    "RayUnavailableError",
    "SeedRun",
    "Summary",
    "UnknownPolicyError",
    "format_markdown",
    "load_frontier_scenario",
    "markout_charge",
    "measure_operation",
    "pair_dust",
    "percentile",
    "plot_frontier",
    "policy_names",
    "require_ray",
    "resolve_policies",
    "run_frontier",
    "run_pair",
    "run_task",
    "run_tasks",
    "summarise",
    "tasks_for",
    "to_document",
    "to_json",
    "write_outputs",
]
