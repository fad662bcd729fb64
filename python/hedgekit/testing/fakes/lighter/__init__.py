"""A wire-level fake of Lighter (zkLighter perps) for tests: ``lighter-sdk`` accepts it.

One aiohttp app on one 127.0.0.1 port serves REST under ``/api/v1/`` (``nextNonce``,
``apikeys``, ``sendTx``, ``sendTxBatch``, ``orderBookDetails``, ``account``, the order, trade,
transaction and funding reads) and the WebSocket at ``/stream`` in Lighter's shapes
(``venues.md`` §3), backed by the simulated venue's matching engine with Lighter's personality:
integer-scaled signed transactions checked field by field, nonces per API key, orders accepted
by the API and decided by the sequencer, a book stream with a ``begin_nonce`` chain. Signatures
are not verified (no verifier exists outside the venue). See :class:`FakeLighter` and
``docs/fakes.md``; ``hedgekit fake lighter`` serves one from the command line.
"""

from __future__ import annotations

from hedgekit.testing.fakes.lighter.market import DEFAULT_MARKETS, LighterMarket
from hedgekit.testing.fakes.lighter.server import FakeLighter

__all__ = ["DEFAULT_MARKETS", "FakeLighter", "LighterMarket"]
