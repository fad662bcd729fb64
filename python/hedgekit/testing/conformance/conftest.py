"""Loads the suite's pytest plugin when the suite runs as a package
(``pytest --pyargs hedgekit.testing.conformance``) and the plugin is not loaded already (by
``-p hedgekit.testing.conformance.plugin`` or hedgekit's entry point,
:mod:`hedgekit.testing.autoload`, which is what makes ``--venue`` and ``--fake`` available)."""

from __future__ import annotations

import pytest

from hedgekit.testing.conformance import plugin

__all__ = ["pytest_addoption", "pytest_generate_tests"]

_NAME = plugin.__name__


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """``--venue``, unless the plugin (``-p``) already added it."""
    if not pluginmanager.has_plugin(_NAME):
        plugin.pytest_addoption(parser)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The plugin's parametrization, unless the plugin (``-p``) already does it."""
    if not metafunc.config.pluginmanager.has_plugin(_NAME):
        plugin.pytest_generate_tests(metafunc)
