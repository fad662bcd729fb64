"""Venues: the :class:`Venue` protocol and its implementations (``hedgekit.venues.sim``)."""

from __future__ import annotations

from hedgekit.venues.base import EventStream, InstrumentInfo, Quote, Venue

__all__ = ["EventStream", "InstrumentInfo", "Quote", "Venue"]
