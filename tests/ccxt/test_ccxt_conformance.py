"""The conformance suite (the Venue protocol and the five live bugs) against the ccxt bridge:
``CcxtVenue`` over ccxt.pro's ``hyperliquid`` and ``aster`` against the wire-level fakes, and
over ``aster`` with its private events polled (the path for an exchange without a stream)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hedgekit.testing.conformance import Hook, test_live_bugs, test_venue
from hedgekit.testing.conformance.ccxt import (
    CcxtAsterHarness,
    CcxtAsterPollingHarness,
    CcxtHyperliquidHarness,
)
from hedgekit.testing.conformance.plugin import harness_params, hooks_needed
from hedgekit.testing.conformance.test_live_bugs import *  # noqa: F403
from hedgekit.testing.conformance.test_venue import *  # noqa: F403

HARNESSES = [CcxtHyperliquidHarness, CcxtAsterHarness, CcxtAsterPollingHarness]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every suite test once per ccxt harness."""
    if "harness" in metafunc.fixturenames:
        params = harness_params(HARNESSES, hooks_needed(metafunc.function))  # type: ignore[arg-type]
        metafunc.parametrize("harness", params)


def _suite_tests() -> list[Callable[..., Any]]:
    return [
        fn
        for module in (test_live_bugs, test_venue)
        for name, fn in vars(module).items()
        if name.startswith("test_") and callable(fn)
    ]


def test_only_the_polling_bridge_lacks_hooks_and_only_the_stream_faults() -> None:
    assert CcxtHyperliquidHarness.hooks == CcxtAsterHarness.hooks == frozenset(Hook)
    assert frozenset(Hook) - CcxtAsterPollingHarness.hooks == {
        Hook.DROP_STREAM,
        Hook.SILENCE_STREAM,
        Hook.FILL_WHILE_DOWN,
    }
    skipped = []
    for test in _suite_tests():
        for param in harness_params(HARNESSES, hooks_needed(test)):  # type: ignore[arg-type]
            if param.marks:
                skipped.append((test.__name__, param.id))
    assert sorted(skipped) == [
        ("test_3a_a_fill_while_the_stream_is_killed_is_seen_once_after_reconnect",
         "ccxt-aster-polling-not-applicable-drop_stream-fill_while_down"),
        ("test_3b_a_fill_while_the_stream_is_silent_is_seen_once_after_reconnect",
         "ccxt-aster-polling-not-applicable-fill_while_down-silence_stream"),
    ]  # fmt: skip
