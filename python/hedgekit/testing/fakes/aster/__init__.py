"""A wire-level fake of Aster's futures venue (Binance-futures style) for tests: ccxt's
``aster`` (V3 API-wallet signing) and ``binanceusdm`` (V1 HMAC) accept it.

One aiohttp app on one 127.0.0.1 port serves ``/fapi/v1..v4/*`` and the WebSockets
(``/ws/<stream>``, ``/stream?streams=…``, ``/ws/<listenKey>``) in Aster's shapes
(``venues.md`` §2), backed by the simulated venue's matching engine with Aster's personality,
the venue's filters, codes and texts, and signatures verified over the bytes received. See
:class:`FakeAster` and ``docs/fakes.md``; ``hedgekit fake aster`` serves one from the command
line.
"""

from __future__ import annotations

from hedgekit.testing.fakes.aster.market import DEFAULT_MARKETS, AsterMarket
from hedgekit.testing.fakes.aster.server import FakeAster

__all__ = ["DEFAULT_MARKETS", "AsterMarket", "FakeAster"]
