"""Any ccxt / ccxt.pro exchange as a hedgekit :class:`~hedgekit.venues.Venue`: the bridge
:class:`CcxtVenue` (``pip install hedgekit[ccxt]``; ccxt itself is imported only when an
exchange is made) and its parts.

* :mod:`~hedgekit.venues.ccxt.numbers` — ccxt's precision modes, exact numbers both ways;
* :mod:`~hedgekit.venues.ccxt.errors` — ccxt's exceptions → definitive or ambiguous errors;
* :mod:`~hedgekit.venues.ccxt.parse` — ccxt's orders, trades, positions in;
* :mod:`~hedgekit.venues.ccxt.stream` — books and the private stream, supervised and reconciled;
* :mod:`~hedgekit.venues.ccxt.venue` — the :class:`~hedgekit.venues.Venue` itself.

See ``docs/ccxt.md``.
"""

from __future__ import annotations

from hedgekit.venues.ccxt.venue import CcxtVenue, make_exchange

__all__ = ["CcxtVenue", "make_exchange"]
