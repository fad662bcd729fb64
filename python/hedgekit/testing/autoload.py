"""What pytest loads by itself when hedgekit is installed (the ``pytest11`` entry point
``hedgekit``): a look at the command line, nothing more.

A run of the conformance suite as a package (``--pyargs hedgekit.testing.conformance``) gets the
suite's plugin (:mod:`hedgekit.testing.conformance.plugin`) before pytest parses its options, so
that ``pytest --pyargs hedgekit.testing.conformance --venue mypkg:MyVenue --fake aster`` works
without ``-p hedgekit.testing.conformance.plugin``. Any other pytest run is left as it was: no
option added, no test parametrized. ``-p no:hedgekit`` (or ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``)
turns this off; ``-p hedgekit.testing.conformance.plugin`` then does the same by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

__all__ = ["PLUGIN", "SUITE", "pytest_load_initial_conftests", "runs_the_suite"]

SUITE = "hedgekit.testing.conformance"
"""The package the conformance suite runs as."""

PLUGIN = "hedgekit.testing.conformance.plugin"
"""The suite's pytest plugin (``--venue``, ``--fake``, the harness parametrization)."""


def runs_the_suite(args: Sequence[str]) -> bool:
    """Whether a command line (with the ini file's ``addopts``) runs the suite as a package:
    ``--pyargs`` and an argument naming :data:`SUITE` or a module of it."""
    return "--pyargs" in args and any(
        a == SUITE or a.startswith(SUITE + ".") or a.startswith(SUITE + "::") for a in args
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Loads the suite's plugin for a run of the suite as a package (before the options are
    parsed: its ``--venue`` and ``--fake`` are then known)."""
    del parser
    manager = early_config.pluginmanager
    if runs_the_suite(args) and not manager.has_plugin(PLUGIN) and not manager.is_blocked(PLUGIN):
        manager.import_plugin(PLUGIN)
