"""A wire-level fake of Hyperliquid (perps) for tests: ``hyperliquid-python-sdk`` accepts it.

One aiohttp app on one 127.0.0.1 port serves ``POST /info``, ``POST /exchange`` and ``GET /ws``
in Hyperliquid's shapes (``venues.md`` §1), backed by the simulated venue's matching engine
(queues, partial fills against outside flow, cross margin, hourly funding, liquidation), with
the venue's rules and error strings, signatures recovered by the Rust core and nonces checked per
signer. See :class:`FakeHyperliquid` and ``docs/fakes.md``; ``hedgekit fake hyperliquid`` serves
one from the command line.
"""

from __future__ import annotations

from hedgekit.testing.fakes.hyperliquid.market import DEFAULT_MARKETS, FakeMarket
from hedgekit.testing.fakes.hyperliquid.server import FakeHyperliquid

__all__ = ["DEFAULT_MARKETS", "FakeHyperliquid", "FakeMarket"]
