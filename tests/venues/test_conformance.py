"""The conformance suite (hedgekit.testing.conformance) against hedgekit's own harnesses: the
simulated venue on virtual time, and the Hyperliquid, Aster and Lighter adapters over their
wire-level fakes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hedgekit.testing.conformance import (
    DEFAULT_HARNESSES,
    Hook,
    VenueHarness,
    load_harness,
    test_live_bugs,
    test_venue,
)
from hedgekit.testing.conformance.plugin import (
    harness_params,
    hooks_needed,
    pytest_generate_tests,  # noqa: F401
)
from hedgekit.testing.conformance.test_live_bugs import *  # noqa: F403
from hedgekit.testing.conformance.test_venue import *  # noqa: F403


def _suite_tests() -> list[Callable[..., Any]]:
    return [
        fn
        for module in (test_live_bugs, test_venue)
        for name, fn in vars(module).items()
        if name.startswith("test_") and callable(fn)
    ]


def test_our_harnesses_have_every_hook_so_nothing_of_the_suite_is_skipped_for_them() -> None:
    factories = [load_harness(spec) for spec in DEFAULT_HARNESSES]
    for factory in factories:
        assert factory.hooks == frozenset(Hook)  # type: ignore[attr-defined]
        assert isinstance(factory(), VenueHarness)
    tests = _suite_tests()
    assert len(tests) >= 17
    for test in tests:
        for param in harness_params(factories, hooks_needed(test)):
            assert param.marks == () and "not-applicable" not in param.id


class _PartialHarness:
    """A third party's harness with no fault hooks."""

    name = "partial"
    hooks = frozenset({Hook.TRUTH, Hook.OUTSIDE_TRADE})


def test_a_test_needing_a_hook_a_harness_lacks_is_reported_not_applicable_with_the_reason() -> None:
    race = test_live_bugs.test_2_a_cancel_that_races_a_fill_is_already_filled_counted_once_and_not_replaced
    factories = [load_harness(DEFAULT_HARNESSES[0]), _PartialHarness]
    ours, theirs = harness_params(factories, hooks_needed(race))  # type: ignore[arg-type]
    assert ours.id == "sim" and ours.marks == ()
    assert theirs.id == "partial-not-applicable-cancel_fill_race"
    (mark,) = theirs.marks
    assert mark.name == "skip"
    assert mark.kwargs["reason"] == "not applicable: harness 'partial' lacks cancel_fill_race"
    # a test that needs only what the partial harness has runs against it
    (plain,) = harness_params(
        [_PartialHarness], hooks_needed(test_venue.test_a_book_and_a_quote_after_connect)
    )  # type: ignore[list-item]
    assert plain.id == "partial" and plain.marks == ()


def test_a_harness_is_named_module_colon_factory() -> None:
    assert load_harness(DEFAULT_HARNESSES[0]).__name__ == "SimHarness"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="module:attribute"):
        load_harness("hedgekit.testing.conformance.sim")
    with pytest.raises(AttributeError):
        load_harness("hedgekit.testing.conformance.sim:NoSuchHarness")
