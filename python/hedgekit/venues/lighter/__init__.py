"""Lighter (zkLighter perpetuals): the adapter's parts.

* :mod:`~hedgekit.venues.lighter.wire` — integer scaling, client order indexes, tx form bodies
  and channel names out;
* :mod:`~hedgekit.venues.lighter.parse` — instruments, orders, trades, account rows and
  ``{"code", "message"}`` errors in; the unconfirmed readings as :class:`LighterQuirks`;
* :mod:`~hedgekit.venues.lighter.signing` — the venue's native signer, offline, with explicit
  nonces (:class:`NonceAllocator`); needs ``pip install 'hedgekit[lighter]'``;
* :mod:`~hedgekit.venues.lighter.http` — reads and ``sendTx``, paced;
* :mod:`~hedgekit.venues.lighter.ws` — the one socket: books and the account's channels;
* :mod:`~hedgekit.venues.lighter.venue` — the :class:`~hedgekit.venues.Venue` itself.
"""

from __future__ import annotations

from hedgekit.venues.lighter.parse import LighterQuirks
from hedgekit.venues.lighter.signing import LighterCredentials, NonceAllocator
from hedgekit.venues.lighter.venue import LighterVenue

__all__ = ["LighterCredentials", "LighterQuirks", "LighterVenue", "NonceAllocator"]
