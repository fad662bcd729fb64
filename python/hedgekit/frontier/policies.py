"""The policies a frontier compares: named overrides of the scenario's
:class:`~hedgekit.execution.AtomicConfig` for hedgekit's open, and the two baselines.

A policy's overrides are applied with :func:`dataclasses.replace` on the scenario's own
configuration, so everything the policy does not name (timeouts, slippage budget, the entry and
hedge order parameters, ``maker_budget_usd_s``) is the scenario's.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hedgekit.execution.config import AtomicConfig, EntryPlan, HedgePricing, HedgeTiming

__all__ = [
    "BASELINES",
    "POLICIES",
    "Policy",
    "PolicyKind",
    "UnknownPolicyError",
    "policy_names",
    "resolve_policies",
]

_ATOMIC_FIELDS = frozenset(f.name for f in dataclasses.fields(AtomicConfig))


class PolicyKind(enum.StrEnum):
    """How a policy opens the pair."""

    HEDGEKIT = "hedgekit"
    """:meth:`hedgekit.execution.AtomicExecutor.open` with the policy's configuration."""
    MARKET_BOTH = "market-both"
    """Baseline: both legs as protected IOCs at once (``ExecutionMode.MARKET_ONLY``)."""
    LIMIT_WAIT = "limit-wait"
    """Baseline: both legs post-only, waiting up to the scenario's ``entry_timeout_s`` for both;
    if either did not fill completely, every venue's position is flattened by market."""


@dataclass(frozen=True, slots=True)
class Policy:
    """One way of opening the pair.

    Attributes:
        name: The name the command line takes.
        kind: Hedgekit's executor or a baseline.
        overrides: ``(field, value)`` pairs replaced on the scenario's ``AtomicConfig`` (only
            for :attr:`PolicyKind.HEDGEKIT`).
        description: One line for the table's legend.

    Raises:
        ValueError: An override names no field of ``AtomicConfig``, or a baseline has overrides.
    """

    name: str
    kind: PolicyKind = PolicyKind.HEDGEKIT
    overrides: tuple[tuple[str, Any], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        unknown = [k for k, _ in self.overrides if k not in _ATOMIC_FIELDS]
        if unknown:
            raise ValueError(f"policy {self.name!r}: no AtomicConfig field {', '.join(unknown)}")
        if self.overrides and self.kind is not PolicyKind.HEDGEKIT:
            raise ValueError(f"policy {self.name!r}: a baseline takes no overrides")

    @property
    def is_baseline(self) -> bool:
        """True for the two baselines (they do not use ``AtomicExecutor``)."""
        return self.kind is not PolicyKind.HEDGEKIT

    def atomic_config(self, base: AtomicConfig) -> AtomicConfig:
        """``base`` with this policy's overrides (``base`` itself without any)."""
        return dataclasses.replace(base, **dict(self.overrides)) if self.overrides else base

    def overrides_dict(self) -> dict[str, str]:
        """The overrides as text, for reports (enum values by their value)."""
        return {k: str(v.value if isinstance(v, enum.Enum) else v) for k, v in self.overrides}


def _timing_pricing() -> list[Policy]:
    pricing_names = {
        HedgePricing.IOC: "ioc",
        HedgePricing.LADDER: "ladder",
        HedgePricing.BUDGETED_MAKER: "budgeted",
    }
    out = []
    for timing in (HedgeTiming.IMMEDIATE, HedgeTiming.AFTER_SETTLE):
        for pricing, short in pricing_names.items():
            out.append(
                Policy(
                    f"{timing.value}-{short}",
                    overrides=(("hedge_timing", timing), ("hedge_pricing", pricing)),
                    description=f"hedge_timing={timing.value}, hedge_pricing={pricing.value}",
                )
            )
    return out


def _plans() -> list[Policy]:
    return [
        Policy(plan.value, overrides=(("plan", plan),), description=f"plan={plan.value}")
        for plan in (EntryPlan.MAKER_BOTH, EntryPlan.TAKER_BOTH, EntryPlan.AUTO)
    ]


BASELINES: tuple[Policy, ...] = (
    Policy(
        "market-both",
        PolicyKind.MARKET_BOTH,
        description="baseline: both legs as protected IOCs at once",
    ),
    Policy(
        "limit-wait",
        PolicyKind.LIMIT_WAIT,
        description="baseline: both legs post-only, wait for both, roll back by market",
    ),
)
"""The two baselines (ported from ``benches/quality.py``)."""

POLICIES: Mapping[str, Policy] = {p.name: p for p in (*_timing_pricing(), *_plans(), *BASELINES)}
"""Every registered policy by name, in the order ``all`` runs them: the six hedge timing x
pricing combinations, the three entry plans, then the baselines."""


class UnknownPolicyError(ValueError):
    """A policy name that is not registered (the message lists the known ones)."""


def policy_names() -> list[str]:
    """The registered names, in registry order."""
    return list(POLICIES)


def resolve_policies(spec: str | Iterable[str]) -> list[Policy]:
    """The policies named by ``spec``: ``"all"``, or a comma list (or an iterable) of names.

    Names keep the order given; a repeated name counts once.

    Raises:
        UnknownPolicyError: An unknown name, or no name at all.
    """
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [*spec]
    names = [n for n in names if n]
    if names == ["all"]:
        return list(POLICIES.values())
    known = ", ".join(["all", *POLICIES])
    if not names:
        raise UnknownPolicyError(f"no policy given; known policies: {known}")
    bad = [n for n in names if n not in POLICIES]
    if bad:
        raise UnknownPolicyError(
            f"unknown polic{'y' if len(bad) == 1 else 'ies'} {', '.join(map(repr, bad))}; "
            f"known policies: {known}"
        )
    return [POLICIES[n] for n in dict.fromkeys(names)]
