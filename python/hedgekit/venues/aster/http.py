"""Aster's REST endpoints over the shared :class:`~hedgekit.venues.transport.HttpClient`:
public reads (retried when ambiguous: they change nothing), signed requests (V3 or V1, by the
:class:`~hedgekit.venues.aster.signing.RequestSigner`; never retried on their own), and the
venue's ``{"code", "msg"}`` errors mapped to :mod:`hedgekit.errors` by their code.

GET parameters go in the query string; POST/PUT/DELETE parameters in an
``application/x-www-form-urlencoded`` body (venues.md §2.1). A 503 is ambiguous, never a
failure (the shared client maps every 5xx so).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from hedgekit.errors import AmbiguousOutcomeError, RateLimitedError, VenueError
from hedgekit.venues.aster import parse, wire
from hedgekit.venues.aster.signing import RequestSigner, encode
from hedgekit.venues.transport import Budget, HttpClient, RateLimiter

__all__ = ["ASTER_BUDGETS", "AsterHttp", "AsterHttpClient"]

ASTER_BUDGETS: tuple[Budget, ...] = (Budget("ip", 2400, 60.0), Budget("orders", 1200, 60.0))
"""Aster's documented budgets: 2400 request weight and 1200 orders per minute (venues.md
§2.10; ``exchangeInfo.rateLimits`` may say otherwise)."""

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class AsterHttpClient(HttpClient):
    """The shared client, with a 4xx answer's ``{"code", "msg"}`` read into the matching
    :mod:`hedgekit.errors` class (``code`` the venue's, not the HTTP status)."""

    leverage_paths: tuple[str, ...] = ("/leverage",)

    def __init__(self, venue: str, base_url: str, pacer: RateLimiter, **kwargs: Any) -> None:
        super().__init__(venue, base_url, **kwargs)
        self.pacer = pacer
        """The venue's limiter (asked by :class:`AsterHttp` before each request; told of a
        429 here)."""

    def _status_error(
        self, what: str, status: int, raw: bytes, retry_after: str | None
    ) -> VenueError:
        if 400 <= status < 500 and status not in (418, 429):
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict) and "code" in body:
                try:
                    code = int(body["code"])
                except (TypeError, ValueError):
                    code = 0
                leverage = what.endswith(self.leverage_paths)
                return parse.error_for(
                    self.venue, code, f"{what}: {body.get('msg', '')}", leverage=leverage
                )
        err = super()._status_error(what, status, raw, retry_after)
        if isinstance(err, RateLimitedError):
            self.pacer.penalize(err.retry_after_s)
        return err


class AsterHttp:
    """The venue's REST API, paced by its weight and order budgets.

    Args:
        venue: The venue's name.
        base_url: The REST base.
        signer: Signs private requests (V3 or V1); its version picks the paths.
        timeout_s: Each request's total timeout.
    """

    def __init__(
        self, venue: str, base_url: str, signer: RequestSigner, *, timeout_s: float = 10.0
    ) -> None:
        self.venue = venue
        self.signer = signer
        self.version = signer.version
        self.limiter = RateLimiter(venue, ASTER_BUDGETS)
        self.client = AsterHttpClient(venue, base_url, self.limiter, timeout_s=timeout_s)
        self.limiter_timeout_s = 5.0
        self._ip: tuple[str, ...] = ("ip",)

    def use_budgets(self, budgets: tuple[Budget, ...]) -> None:
        """Paces by ``budgets`` from now on (the venue's ``exchangeInfo.rateLimits``); an
        ``"ip"`` budget is required (every request counts against it)."""
        if not any(b.name == "ip" for b in budgets):
            raise ValueError("the budgets need an 'ip' request-weight budget")
        self.limiter = RateLimiter(self.venue, budgets)
        self.client.pacer = self.limiter
        self._ip = tuple(b.name for b in budgets if b.name.startswith("ip"))

    def path(self, endpoint: str) -> str:
        """The endpoint's path under this signer's version."""
        return wire.path(self.version, endpoint)

    @staticmethod
    def _json(raw: bytes, what: str, venue: str, *, decimals: bool = False) -> Any:
        try:
            if decimals:
                return json.loads(raw, parse_float=Decimal)
            return orjson.loads(raw)
        except ValueError:
            raise AmbiguousOutcomeError(
                venue, f"{what}: answer is not JSON: {raw[:200]!r}"
            ) from None

    async def public(
        self, endpoint: str, params: wire.Params | None = None, *, weight: float = 1,
        decimals: bool = False,
    ) -> Any:  # fmt: skip
        """An unsigned ``GET`` (``exchangeInfo``, ``depth``, ``premiumIndex``, …).

        ``decimals``: numbers in the answer that are JSON floats become ``Decimal``.
        """
        raw = await self.public_raw(endpoint, params, weight=weight)
        return self._json(raw, f"GET {self.path(endpoint)}", self.venue, decimals=decimals)

    async def public_raw(
        self, endpoint: str, params: wire.Params | None = None, *, weight: float = 1
    ) -> bytes:
        """An unsigned ``GET``'s raw body (a depth snapshot goes to the Rust book as it is)."""
        p = self.path(endpoint)
        if params:
            p += "?" + encode(params)
        for attempt in range(3):
            await self.limiter.acquire(weight, timeout=self.limiter_timeout_s, budgets=self._ip)
            try:
                return await self.client.request("GET", p)
            except AmbiguousOutcomeError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def signed(
        self, method: str, endpoint: str, params: wire.Params, *, weight: float = 1,
        order: bool = False, decimals: bool = False, timeout_s: float | None = None,
    ) -> Any:  # fmt: skip
        """A signed request. Reads (``GET``) are retried when ambiguous, each time with a
        fresh signature; actions never are (their outcome is resolved by a status query).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            endpoint: The endpoint (``"order"``, ``"userTrades"``, …).
            params: The business parameters.
            weight: The request's weight.
            order: Counts against the orders budget too.
            decimals: JSON floats in the answer become ``Decimal``.
            timeout_s: This request's timeout.

        Raises:
            hedgekit.errors.VenueError: As :class:`AsterHttpClient` maps it.
        """
        p = self.path(endpoint)
        budgets = None if order else self._ip
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            await self.limiter.acquire(weight, timeout=self.limiter_timeout_s, budgets=budgets)
            signed = self.signer.sign(params)
            try:
                if method == "GET":
                    raw = await self.client_request(
                        method, p + "?" + signed.payload, None, signed.headers, timeout_s
                    )
                else:
                    raw = await self.client_request(
                        method, p, signed.payload.encode(), {**_FORM, **signed.headers}, timeout_s
                    )
            except AmbiguousOutcomeError:
                if attempt + 1 >= attempts:
                    raise
                continue
            return self._json(raw, f"{method} {p}", self.venue, decimals=decimals)
        raise AssertionError("unreachable")  # pragma: no cover

    async def client_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str],
        timeout_s: float | None,
    ) -> bytes:  # fmt: skip
        """One request, already signed and paced (the limiter was asked by :meth:`signed`)."""
        return await self.client.request(
            method, path, body=body, headers=headers, timeout_s=timeout_s
        )

    async def listen_key(self, method: str) -> Any:
        """``POST`` (create or extend), ``PUT`` (keep alive) or ``DELETE`` the user-stream key
        (V1: the key header only; V3: signed)."""
        if self.signer.keyed_listen_key:
            p = self.path("listenKey")
            await self.limiter.acquire(1, timeout=self.limiter_timeout_s, budgets=self._ip)
            raw = await self.client.request(method, p, headers=self.signer.key_headers())
            return self._json(raw, f"{method} {p}", self.venue)
        return await self.signed(method, "listenKey", [])

    async def close(self) -> None:
        """Closes the session."""
        await self.client.close()
