"""The pytest side of the conformance suite: which harnesses run, and which tests apply.

Every suite test takes a ``harness`` argument; :func:`pytest_generate_tests` gives it one value
per harness (``--venue module:factory``, repeatable; default: the simulated venue and
Hyperliquid over its fake). A test marked with :func:`needs` runs only against harnesses that
have those hooks; against any other it is collected as ``<name>-not-applicable-<hooks>`` and
skipped with the reason: not a failure, and never the case for hedgekit's own harnesses.

Your own venue against one of hedgekit's fakes: ``pytest --pyargs hedgekit.testing.conformance
--venue mypkg:MyVenue --fake aster``, where
``MyVenue(access)`` builds a :class:`~hedgekit.venues.Venue` from a
:class:`~hedgekit.testing.conformance.wire.VenueAccess` (:func:`on_fake`). Without ``--fake``,
``--venue`` names a harness factory: ``MyHarness()`` is a :class:`VenueHarness`. In a test module
of your own, import the test modules' tests and either :func:`pytest_generate_tests` (it reads
``--venue``) or a ``harness`` fixture returning ``on_fake("aster", MyVenue)``
(``docs/adapters.md``).

pytest parses the command line before it imports the package named by ``--pyargs``, so the
package's ``conftest.py`` comes too late to add ``--venue`` and ``--fake``: an installed
hedgekit's entry point (:mod:`hedgekit.testing.autoload`) loads this plugin for a run of the
suite as a package; without it, add ``-p hedgekit.testing.conformance.plugin``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from hedgekit.testing.conformance.harness import Hook, VenueHarness
from hedgekit.testing.conformance.wire import VenueFactory, factory_label
from hedgekit.venues.base import Venue

__all__ = [
    "DEFAULT_HARNESSES",
    "FAKES",
    "HarnessFactory",
    "harness_params",
    "hooks_needed",
    "load_harness",
    "needs",
    "on_fake",
    "pytest_addoption",
    "pytest_configure",
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

FAKES = {
    "hyperliquid": "hedgekit.testing.conformance.hyperliquid:HyperliquidHarness",
    "aster": "hedgekit.testing.conformance.aster:AsterHarness",
    "lighter": "hedgekit.testing.conformance.lighter:LighterHarness",
}
"""The fakes a venue of your own can be run against (``--fake NAME``), and their harnesses."""

_HOOKS_ATTR = "__conformance_hooks__"


def on_fake(fake: str, venue_factory: VenueFactory) -> HarnessFactory:
    """A harness factory that runs your venue against one of hedgekit's fakes: the fake's
    harness with ``venue_factory=`` (every hook; test ids ``<factory>@<fake>``).

    Args:
        fake: ``"hyperliquid"``, ``"aster"`` or ``"lighter"`` (:data:`FAKES`).
        venue_factory: Builds your venue from a
            :class:`~hedgekit.testing.conformance.wire.VenueAccess` (a class or a function,
            sync or async).

    Raises:
        ValueError: An unknown fake.
    """
    spec = FAKES.get(fake)
    if spec is None:
        raise ValueError(f"no fake named {fake!r}: choose one of {', '.join(FAKES)}")
    factory: HarnessFactory = functools.partial(_load(spec), venue_factory=venue_factory)
    return factory


def needs(*hooks: Hook) -> Callable[[_F], _F]:
    """Declares the hooks a suite test needs (a harness without them skips it as not
    applicable)."""

    def mark(fn: _F) -> _F:
        setattr(fn, _HOOKS_ATTR, frozenset(hooks) | getattr(fn, _HOOKS_ATTR, frozenset()))
        return fn

    return mark


def load_harness(spec: str) -> HarnessFactory:
    """The harness factory (or, for ``--fake``, the venue factory) named ``module:attribute``.

    Raises:
        ValueError: ``spec`` is not ``module:attribute``.
        ImportError: The module cannot be imported.
        AttributeError: It has no such attribute.
    """
    factory: HarnessFactory = _load(spec)
    return factory


def _load(spec: str) -> Any:
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a harness is named module:attribute, got {spec!r}")
    return getattr(importlib.import_module(module), attr)


def _declared(factory: HarnessFactory) -> tuple[str, frozenset[Hook]]:
    """A factory's name and hooks, read from the class when it is one (no instance made).

    Raises:
        TypeError: The factory makes no harness (a venue named without ``--fake``, say).
    """
    name = getattr(factory, "name", None)
    hooks = getattr(factory, "hooks", None)
    if not isinstance(name, str) or not isinstance(hooks, frozenset):
        try:
            made = factory()
        except TypeError as exc:
            raise TypeError(_not_a_harness(factory, str(exc))) from exc
        name, hooks = getattr(made, "name", None), getattr(made, "hooks", None)
        if not isinstance(name, str) or not isinstance(hooks, frozenset):
            raise TypeError(_not_a_harness(factory, f"it made a {type(made).__name__}"))
    return name, frozenset(hooks)


def _not_a_harness(factory: object, why: str) -> str:
    return (
        f"--venue {factory_label(factory)} is not a conformance harness factory ({why}). "
        f"To run a Venue of your own against one of hedgekit's fakes, add --fake NAME "
        f"({' | '.join(FAKES)}): the venue is then built from a VenueAccess"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--venue module:factory`` (repeatable): the harnesses the suite runs against, or with
    ``--fake NAME`` the venues run against that fake of hedgekit's."""
    parser.addoption(
        "--venue",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="a conformance harness factory (repeatable); with --fake, a Venue factory taking "
        "a VenueAccess; default: hedgekit's own harnesses",
    )
    parser.addoption(
        "--fake",
        choices=sorted(FAKES),
        default=None,
        metavar="NAME",
        help="run the --venue factories' venues against this fake of hedgekit's "
        f"({' | '.join(FAKES)})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Refuses ``--fake`` without ``--venue`` before anything is collected.

    Raises:
        pytest.UsageError: ``--fake`` names no venue to run.
    """
    if config.getoption("fake", default=None) and not config.getoption("venue", default=None):
        raise pytest.UsageError(_FAKE_ALONE)


_FAKE_ALONE = (
    "--fake NAME runs the venues named by --venue against that fake: add --venue mypkg:MyVenue"
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
    fake = metafunc.config.getoption("fake", default=None)
    if fake is not None and specs is DEFAULT_HARNESSES:
        raise pytest.UsageError(_FAKE_ALONE)
    factories = [
        load_harness(spec) if fake is None else on_fake(fake, _load(spec)) for spec in specs
    ]
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
