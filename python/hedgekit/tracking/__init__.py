"""Shared venue mechanics: order tracking, reconciliation and data-quality gates.

* :class:`OrderTracker` — a pure state machine per venue (returns actions, does no I/O).
* :class:`VenueSession` — the async driver that performs those actions against a venue.
* :class:`Reconciler`, :class:`PositionBook`, :func:`compare` — position reconciliation.
* :class:`BookGate` — stale / crossed / not-synced / empty book detection.
"""

from __future__ import annotations

from hedgekit.tracking.orders import (
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Anomaly,
    FetchFills,
    FillApplied,
    ForcedFill,
    OrderChanged,
    OrderTracker,
    QueryStatus,
    Reconcile,
    TrackedOrder,
    TrackedState,
    TrackerConfig,
)
from hedgekit.tracking.quality import BookGate, BookHealth
from hedgekit.tracking.reconcile import (
    PositionBook,
    PositionMismatch,
    ReconcileConfig,
    Reconciler,
    compare,
)
from hedgekit.tracking.session import (
    PLACEMENT_WINDOW_MARGIN_NS,
    FillListener,
    VenueSession,
    placement_grace_ns,
)

__all__ = [
    "PLACEMENT_WINDOW_MARGIN_NS",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "Anomaly",
    "BookGate",
    "BookHealth",
    "FetchFills",
    "FillApplied",
    "ForcedFill",
    "FillListener",
    "OrderChanged",
    "OrderTracker",
    "PositionBook",
    "PositionMismatch",
    "QueryStatus",
    "Reconcile",
    "ReconcileConfig",
    "Reconciler",
    "TrackedOrder",
    "TrackedState",
    "TrackerConfig",
    "VenueSession",
    "compare",
    "placement_grace_ns",
]
