"""The simulated venue: a deterministic matching engine with each real venue's personality,
latency, queues, races and faults. See ``docs/simulation.md``."""

from __future__ import annotations

from hedgekit.venues.sim.config import (
    CancelSplit,
    CancelUnknownStyle,
    DeliveryConfig,
    Disconnect,
    FaultConfig,
    FeeConfig,
    FillConfig,
    Lat,
    LatencyConfig,
    MarketConfig,
    Personality,
    PostOnlyMode,
    QueueConfig,
    RateLimit,
    RateLimitConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenueConfig,
    aster,
    hyperliquid,
    lighter,
)
from hedgekit.venues.sim.engine import CancelOutcome, MatchingEngine, PlaceOutcome
from hedgekit.venues.sim.venue import SimEventStream, SimVenue

__all__ = [
    "CancelOutcome",
    "CancelSplit",
    "CancelUnknownStyle",
    "DeliveryConfig",
    "Disconnect",
    "FaultConfig",
    "FeeConfig",
    "FillConfig",
    "Lat",
    "LatencyConfig",
    "MarketConfig",
    "MatchingEngine",
    "Personality",
    "PlaceOutcome",
    "PostOnlyMode",
    "QueueConfig",
    "RateLimit",
    "RateLimitConfig",
    "ScriptedEvent",
    "SimEventStream",
    "SimInstrument",
    "SimVenue",
    "SimVenueConfig",
    "aster",
    "hyperliquid",
    "lighter",
]
