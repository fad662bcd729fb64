"""Venues: the :class:`Venue` protocol and its implementations: ``hedgekit.venues.sim`` (the
simulated venue), ``hedgekit.venues.hyperliquid``, ``hedgekit.venues.aster`` and
``hedgekit.venues.lighter`` (live), over the shared live transport
``hedgekit.venues.transport``."""

from __future__ import annotations

from hedgekit.venues.base import EventStream, InstrumentInfo, Quote, Venue

__all__ = ["EventStream", "InstrumentInfo", "Quote", "Venue"]
