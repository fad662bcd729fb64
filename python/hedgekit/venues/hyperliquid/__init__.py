"""Hyperliquid perpetuals: :class:`HyperliquidVenue` (the adapter) and its parts.

* :mod:`~hedgekit.venues.hyperliquid.wire` — actions, bodies and socket messages out;
* :mod:`~hedgekit.venues.hyperliquid.parse` — payloads and error texts in;
* :mod:`~hedgekit.venues.hyperliquid.http` — ``/info`` and ``/exchange``, weighted and paced;
* :mod:`~hedgekit.venues.hyperliquid.ws` — subscriptions, routing, posts correlated by id;
* :mod:`~hedgekit.venues.hyperliquid.signing` — actions signed by the Rust core;
* :mod:`~hedgekit.venues.hyperliquid.venue` — the :class:`~hedgekit.venues.Venue` itself.
"""

from __future__ import annotations

from hedgekit.venues.hyperliquid.venue import HyperliquidCredentials, HyperliquidVenue

__all__ = ["HyperliquidCredentials", "HyperliquidVenue"]
