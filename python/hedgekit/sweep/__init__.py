"""An adversarial fault sweep: many seeded random scenarios, run on the simulated venues, checked
against the venues' own truth.

:func:`scenario_for` draws one scenario *mapping* in the documented scenario format
(``docs/scenarios.md``) from a seed: two venues of random personality with realistic order rules,
a random market (mid, spread, depth, volatility, outside trades and scripted trades that fill our
resting orders), an open with any entry plan and any hedge and rollback order modes — sometimes
on top of a position already held — or a close of a balanced, imbalanced or lone-leg pair, and a
random set of injected faults. The mapping is plain data: written out as JSON it replays with
``hedgekit simulate FILE``.

:func:`run_sweep` runs many seeds in parallel worker processes, each bounded in wall-clock time,
and counts what went wrong: exceptions, hangs, broken invariants and *lies* — a status that says
success while the venues' final positions say otherwise. Every failing seed is written to
``sweep-<seed>.json`` so that one command replays it.

Fault profiles:

- ``"light"``: each fault kind is drawn on each venue with a modest probability, mildly;
- ``"heavy"``: more fault kinds per venue, harder;
- ``"mixed"`` (the default): light for even seeds, heavy for odd ones;
- ``"none"``: no injected fault (latency without jitter, a clean stream);
- ``"only:<fault>"``: one fault kind alone (any name of :data:`FAULTS`), on one venue or both.

Each fault kind is one small function, listed in :data:`FAULTS` with the field that shows it; a new
kind of the scenario format is one more entry.
"""

from __future__ import annotations

from hedgekit.sweep.faults import FAULTS, PROFILES, FaultContext, FaultFn, FaultKind, profile_for
from hedgekit.sweep.generator import features, scenario_for
from hedgekit.sweep.runner import LIE_STATUSES, run_seed, run_sweep
from hedgekit.sweep.summary import (
    FailureRecord,
    ProfileCounts,
    SeedOutcome,
    SweepSummary,
    format_summary,
)

__all__ = [
    "FAULTS",
    "LIE_STATUSES",
    "PROFILES",
    "FailureRecord",
    "FaultContext",
    "FaultFn",
    "FaultKind",
    "ProfileCounts",
    "SeedOutcome",
    "SweepSummary",
    "features",
    "format_summary",
    "profile_for",
    "run_seed",
    "run_sweep",
    "scenario_for",
]
