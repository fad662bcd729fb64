"""Aster DEX perpetual futures (a Binance-futures-shaped API): the adapter's parts.

* :mod:`~hedgekit.venues.aster.wire` — request parameters, paths and stream names out;
* :mod:`~hedgekit.venues.aster.parse` — payloads and ``{"code", "msg"}`` errors in;
* :mod:`~hedgekit.venues.aster.signing` — V3 (API wallet, EIP-712 by the Rust core) and V1
  (API key, HMAC-SHA256), chosen by :class:`AsterCredentials`;
* :mod:`~hedgekit.venues.aster.http` — public and signed REST, weighted and paced;
* :mod:`~hedgekit.venues.aster.ws` — the market and user-data sockets;
* :mod:`~hedgekit.venues.aster.venue` — the :class:`~hedgekit.venues.Venue` itself.
"""

from __future__ import annotations

from hedgekit.venues.aster.signing import AsterCredentials
from hedgekit.venues.aster.venue import AsterVenue

__all__ = ["AsterCredentials", "AsterVenue"]
