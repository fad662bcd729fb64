"""The shared transport of the live venue adapters: one WebSocket client, one REST client, one
rate limiter, written once and used by every venue.

* :class:`WsClient` (picows): frames reassembled into messages, the venue's application-level
  keepalive (:class:`KeepAlive`), protocol ping frames answered, a silent socket detected by its
  own timeout, reconnect with exponential backoff and jitter (:class:`Backoff`) → resubscribe →
  reconcile, and a readiness gate (:meth:`WsClient.wait_ready`) an adapter awaits before it
  trades again.
* :class:`HttpClient` (aiohttp): one session per venue, a timeout on every request, connections
  reused, answers mapped to definitive or ambiguous :mod:`hedgekit.errors`.
* :class:`RateLimiter`: proactive token buckets over the venue's weight budgets
  (:data:`HYPERLIQUID_BUDGETS`), ``await limiter.acquire(weight, timeout=…)``.
* :class:`EventQueue`: a bounded per-subscriber queue of private events that, when a slow reader
  lets it overflow, says so as a stream outage instead of growing without bound.
"""

from __future__ import annotations

from hedgekit.venues.transport.events import EventQueue
from hedgekit.venues.transport.http import HttpClient
from hedgekit.venues.transport.ratelimit import HYPERLIQUID_BUDGETS, Budget, RateLimiter
from hedgekit.venues.transport.ws import Backoff, KeepAlive, WsClient

__all__ = [
    "HYPERLIQUID_BUDGETS",
    "Backoff",
    "Budget",
    "EventQueue",
    "HttpClient",
    "KeepAlive",
    "RateLimiter",
    "WsClient",
]
