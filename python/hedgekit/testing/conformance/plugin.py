"""The pytest side of the conformance suite: which harnesses run, and which tests apply.

Every suite test takes a ``harness`` argument; :func:`pytest_generate_tests` gives it one value
per harness (``--venue module:factory``, repeatable; default: the simulated venue and
Hyperliquid over its fake). A test marked with :func:`needs` runs only against harnesses that
have those hooks; against any other it is collected as ``<name>-not-applicable-<hooks>`` and
skipped with the reason: not a failure, and never the case for hedgekit's own harnesses.

To run the suite in a project: ``pytest --pyargs hedgekit.testing.conformance --venue
mypkg.harness:MyHarness``, where ``MyHarness()`` is a :class:`VenueHarness`; in a test module
of your own, import :func:`pytest_generate_tests` and the test modules' tests (as
``tests/venues/test_conformance.py`` does).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from hedgekit.testing.conformance.harness import Hook, VenueHarness
from hedgekit.venues.base import Venue

__all__ = [
    "DEFAULT_HARNESSES",
    "HarnessFactory",
    "harness_params",
    "hooks_needed",
    "load_harness",
    "needs",
    "pytest_addoption",
    "pytest_generate_tests",
    "run_case",
]

_F = TypeVar("_F", bound=Callable[..., Any])

HarnessFactory = Callable[[], VenueHarness]
"""Makes a harness: a :class:`VenueHarness` class, or any zero-argument callable."""

DEFAULT_HARNESSES = (
    "hedgekit.testing.conformance.sim:SimHarness",
    "hedgekit.testing.conformance.hyperliquid:HyperliquidHarness",
    "hedgekit.testing.conformance.aster:AsterHarness",
    "hedgekit.testing.conformance.lighter:LighterHarness",
)
"""hedgekit's own harnesses: the simulated venue, and Hyperliquid, Aster and Lighter over their
wire-level fakes (Lighter needs the ``lighter`` extra)."""

_HOOKS_ATTR = "__conformance_hooks__"


def needs(*hooks: Hook) -> Callable[[_F], _F]:
    """Declares the hooks a suite test needs (a harness without them skips it as not
    applicable)."""

    def mark(fn: _F) -> _F:
        setattr(fn, _HOOKS_ATTR, frozenset(hooks) | getattr(fn, _HOOKS_ATTR, frozenset()))
        return fn

    return mark


def load_harness(spec: str) -> HarnessFactory:
    """The harness factory named ``module:attribute``.

    Raises:
        ValueError: ``spec`` is not ``module:attribute``.
        ImportError: The module cannot be imported.
        AttributeError: It has no such attribute.
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a harness is named module:attribute, got {spec!r}")
    factory: HarnessFactory = getattr(importlib.import_module(module), attr)
    return factory


def _declared(factory: HarnessFactory) -> tuple[str, frozenset[Hook]]:
    """A factory's name and hooks, read from the class when it is one (no instance made)."""
    name = getattr(factory, "name", None)
    hooks = getattr(factory, "hooks", None)
    if not isinstance(name, str) or not isinstance(hooks, frozenset):
        made = factory()
        name, hooks = made.name, made.hooks
    return name, frozenset(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--venue module:factory`` (repeatable): the harnesses the suite runs against."""
    parser.addoption(
        "--venue",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="a conformance harness factory (repeatable); default: hedgekit's own harnesses",
    )


def harness_params(factories: Sequence[HarnessFactory], wanted: frozenset[Hook]) -> list[Any]:
    """One ``pytest.param`` per harness for a test that needs the hooks ``wanted``: id the
    harness's name, or ``<name>-not-applicable-<hooks>`` with a skip naming the missing hooks
    when the harness lacks some."""
    params: list[Any] = []
    for factory in factories:
        name, hooks = _declared(factory)
        missing = sorted(wanted - hooks)
        if missing:
            reason = f"not applicable: harness {name!r} lacks {', '.join(missing)}"
            params.append(
                pytest.param(
                    factory,
                    id=f"{name}-not-applicable-{'-'.join(missing)}",
                    marks=pytest.mark.skip(reason=reason),
                )
            )
        else:
            params.append(pytest.param(factory, id=name))
    return params


def hooks_needed(test: Callable[..., Any]) -> frozenset[Hook]:
    """The hooks a suite test declared with :func:`needs` (none: it needs only a venue)."""
    hooks: frozenset[Hook] = getattr(test, _HOOKS_ATTR, frozenset())
    return hooks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Gives every test that takes ``harness`` one harness factory per venue under test."""
    if "harness" not in metafunc.fixturenames:
        return
    specs = metafunc.config.getoption("venue", default=None) or DEFAULT_HARNESSES
    factories = [load_harness(spec) for spec in specs]
    metafunc.parametrize("harness", harness_params(factories, hooks_needed(metafunc.function)))


def run_case(
    harness: HarnessFactory, body: Callable[[VenueHarness, Venue], Awaitable[None]]
) -> None:
    """Makes a harness, starts its venue, runs ``body(harness, venue)`` on the harness's loop
    and stops it, whatever happens."""
    h = harness()

    async def main() -> None:
        venue = await h.start()
        try:
            await body(h, venue)
        finally:
            await h.stop()

    h.run(main)
