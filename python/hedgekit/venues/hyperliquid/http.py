"""Hyperliquid's REST endpoints over the shared :class:`~hedgekit.venues.transport.HttpClient`:
``/info`` reads (weighted, retried when ambiguous: they change nothing) and ``/exchange``
actions (never retried on their own)."""

from __future__ import annotations

from typing import Any

from hedgekit.venues.transport import HYPERLIQUID_BUDGETS, HttpClient, RateLimiter
from hedgekit.venues.transport.ratelimit import HYPERLIQUID_INFO_WEIGHTS

__all__ = ["HyperliquidHttp"]


class HyperliquidHttp:
    """``POST /info`` and ``POST /exchange`` for one venue, paced by its 1200-weight budget.

    Args:
        venue: The venue's name.
        base_url: The REST base.
        timeout_s: Each request's total timeout.
    """

    def __init__(self, venue: str, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.limiter = RateLimiter(venue, HYPERLIQUID_BUDGETS)
        self.client = HttpClient(venue, base_url, limiter=self.limiter, timeout_s=timeout_s)

    async def info(self, body: dict[str, Any]) -> Any:
        """One ``/info`` read (weight by its type, venues.md §1.9)."""
        weight = HYPERLIQUID_INFO_WEIGHTS.get(str(body.get("type")), 20)
        return await self.client.post_json("/info", body, weight=weight, idempotent=True)

    async def exchange(self, body: dict[str, Any], batch: int = 1) -> Any:
        """One signed ``/exchange`` action (weight ``1 + batch // 40``)."""
        return await self.client.post_json("/exchange", body, weight=1 + batch // 40)

    async def close(self) -> None:
        """Closes the session."""
        await self.client.close()
