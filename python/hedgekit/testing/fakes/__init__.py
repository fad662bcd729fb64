"""Wire-level fake venues (HTTP and WebSocket servers on 127.0.0.1) and their shared faults.

- :mod:`hedgekit.testing.fakes.hyperliquid`: ``POST /info``, ``POST /exchange`` and ``GET /ws``
  as Hyperliquid serves them, accepted by ``hyperliquid-python-sdk``.
- :mod:`hedgekit.testing.fakes.aster`: Aster's ``/fapi`` REST (V1 HMAC and V3 signatures) and
  streams, accepted by ccxt's ``aster`` and ``binanceusdm``.
- :mod:`hedgekit.testing.fakes.lighter`: Lighter's ``/api/v1`` (signed L2 transactions and the
  reads) and ``/stream``, accepted by ``lighter-sdk``.
- :mod:`hedgekit.testing.fakes.engines`: what their states share (an engine per account plus
  the outside market, driven together).
- :class:`WireFaults` (from :mod:`hedgekit.testing.fakes.faults`): the faults every fake
  shares - 429s, 5xx answers, lost answers, dropped or silent WebSockets, orders accepted then
  cancelled, the cancel-vs-fill race - switchable at start and at run time, seeded.

The fakes need the ``live`` extra (aiohttp).
"""

from __future__ import annotations

from hedgekit.testing.fakes.faults import Fault, FaultKind, WireFaults, WsLink

__all__ = ["Fault", "FaultKind", "WireFaults", "WsLink"]
