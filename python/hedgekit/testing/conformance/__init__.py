"""The venue conformance suite: the behaviour every :class:`~hedgekit.venues.Venue` must have,
and the five most-reported live-trading bugs as tests, each judged on the venue's own truth.

A venue is tested through a :class:`VenueHarness` that builds it, drives its outside world,
reads its truth and injects its faults. hedgekit's own harnesses are
:class:`~hedgekit.testing.conformance.sim.SimHarness` (the simulated venue, virtual time) and
:class:`~hedgekit.testing.conformance.hyperliquid.HyperliquidHarness`,
:class:`~hedgekit.testing.conformance.aster.AsterHarness` and
:class:`~hedgekit.testing.conformance.lighter.LighterHarness` (the Hyperliquid, Aster and
Lighter adapters against their wire-level fakes, real sockets). Run the suite with
``pytest --pyargs hedgekit.testing.conformance`` (``--venue module:factory`` for another
harness). See ``docs/conformance.md``.

Your own :class:`~hedgekit.venues.Venue` runs against hedgekit's fakes without a harness of
its own: ``pytest --pyargs hedgekit.testing.conformance --venue mypkg:MyVenue --fake aster``
builds ``MyVenue(access)`` from a :class:`VenueAccess`
(:func:`on_fake` in a test module of your own). See ``docs/adapters.md``.
"""

from __future__ import annotations

from hedgekit.testing.conformance.harness import Hook, TruthFill, TruthOrder, VenueHarness
from hedgekit.testing.conformance.plugin import (
    DEFAULT_HARNESSES,
    FAKES,
    HarnessFactory,
    load_harness,
    needs,
    on_fake,
    run_case,
)
from hedgekit.testing.conformance.wire import VenueAccess, VenueFactory

__all__ = [
    "DEFAULT_HARNESSES",
    "FAKES",
    "HarnessFactory",
    "Hook",
    "TruthFill",
    "TruthOrder",
    "VenueAccess",
    "VenueFactory",
    "VenueHarness",
    "load_harness",
    "needs",
    "on_fake",
    "run_case",
]
