"""The one REST client of the live adapters (:class:`HttpClient`, aiohttp).

One session per venue, connections kept alive and reused, a total timeout on every request, the
proactive :class:`~hedgekit.venues.transport.RateLimiter` before each one. Answers map to
:mod:`hedgekit.errors` by what is known about the outcome:

========================================  ===================================  ==========
what happened                             error                                outcome
========================================  ===================================  ==========
connection could not be opened            ``VenueUnreachableError``            definitive
our limiter would wait past the timeout   ``RateLimitedError``                 definitive
HTTP 429 / 418                            ``RateLimitedError``                 definitive
other HTTP 4xx                            ``OrderRejectedError`` (``code``     definitive
                                          = the status, the venue's text)
no answer within the timeout              ``VenueTimeoutError``                ambiguous
connection reset / closed mid-answer      ``VenueDisconnectedError``           ambiguous
HTTP 5xx, or a 2xx that is not JSON       ``VenueUnavailableError`` /          ambiguous
                                          ``AmbiguousOutcomeError``
========================================  ===================================  ==========

The client never retries a request whose outcome is ambiguous unless the caller says it is
idempotent (a read): an action in doubt is resolved by a status query, not by sending it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from hedgekit.errors import (
    AmbiguousOutcomeError,
    OrderRejectedError,
    RateLimitedError,
    VenueDisconnectedError,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
    VenueUnreachableError,
)
from hedgekit.venues.transport.ratelimit import RateLimiter
from hedgekit.venues.transport.ws import Backoff

__all__ = ["HttpClient"]

log = logging.getLogger("hedgekit.transport")

_BODY_IN_ERRORS = 300  # characters of a venue's error body kept in the exception


class HttpClient:
    """A venue's REST client.

    Args:
        venue: The venue's name (for errors and logs).
        base_url: ``scheme://host[:port]``; request paths are appended.
        limiter: Paces requests before they are sent (none: unpaced).
        timeout_s: Total time one request may take, connect to last byte.
        connect_timeout_s: Time to open a connection.
        limit_per_host: Most simultaneous connections (they are kept alive and reused).
        retry_after_s: The wait a 429 without ``Retry-After`` implies.
        limiter_timeout_s: The longest a request waits for the limiter.
    """

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        limiter: RateLimiter | None = None,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        limit_per_host: int = 8,
        retry_after_s: float = 1.0,
        limiter_timeout_s: float = 5.0,
    ) -> None:
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.limit_per_host = limit_per_host
        self.retry_after_s = retry_after_s
        self.limiter_timeout_s = limiter_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.requests = 0
        """Requests sent so far (after the limiter let them through)."""

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise VenueUnreachableError(self.venue, "the HTTP client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit_per_host=self.limit_per_host, keepalive_timeout=30.0
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self.timeout_s, sock_connect=self.connect_timeout_s
                ),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )
        return self._session

    async def close(self) -> None:
        """Closes the session and its connections (idempotent)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        weight: float = 1,
        timeout_s: float | None = None,
        idempotent: bool = False,
        retries: int = 2,
    ) -> bytes:
        """Sends one request and returns the body of its 2xx answer.

        Args:
            method: ``"GET"``, ``"POST"``, ...
            path: Appended to the base URL.
            body: The raw body (sent as JSON when it is).
            params: Query parameters.
            headers: Extra headers.
            weight: The request's weight for the limiter.
            timeout_s: This request's total timeout (default: the client's).
            idempotent: A read: an ambiguous failure is retried (``retries`` times, with
                backoff), since sending it again changes nothing.
            retries: Retries of an idempotent request.

        Raises:
            hedgekit.errors.VenueError: As the module's table says.
        """
        backoff = Backoff(initial_s=0.05, max_s=1.0)
        attempt = 0
        while True:
            try:
                return await self._once(method, path, body, params, headers, weight, timeout_s)
            except AmbiguousOutcomeError as exc:
                if not idempotent or attempt >= retries:
                    raise
                attempt += 1
                log.info("%s: %s %s retried (%s)", self.venue, method, path, exc)
                await asyncio.sleep(backoff.next_delay())

    async def post_json(self, path: str, payload: Any, **kwargs: Any) -> Any:
        """``POST`` a JSON body (``bytes`` are sent as they are) and parse the JSON answer.

        Keyword arguments are those of :meth:`request`.

        Raises:
            hedgekit.errors.AmbiguousOutcomeError: A 2xx answer that is not JSON (whether the
                venue acted cannot be read from it).
        """
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        raw = await self.request("POST", path, body=body, **kwargs)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise AmbiguousOutcomeError(
                self.venue, f"POST {path}: answer is not JSON: {raw[:_BODY_IN_ERRORS]!r}"
            ) from None

    async def _once(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        weight: float,
        timeout_s: float | None,
    ) -> bytes:
        if self.limiter is not None:
            await self.limiter.acquire(weight, timeout=self.limiter_timeout_s)
        session = self._get_session()
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        if headers:
            hdrs.update(headers)
        url = self.base_url + path
        limit = self.timeout_s if timeout_s is None else timeout_s
        what = f"{method} {path}"
        self.requests += 1
        try:
            async with asyncio.timeout(limit):
                async with session.request(
                    method, url, data=body, params=params, headers=hdrs
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
        except TimeoutError:
            raise VenueTimeoutError(self.venue, f"{what}: no answer within {limit:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            # Raised only while opening a connection: the request was never written.
            raise VenueUnreachableError(self.venue, f"{what}: cannot connect: {exc}") from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise VenueDisconnectedError(
                self.venue, f"{what}: connection lost: {type(exc).__name__}: {exc}"
            ) from None
        if 200 <= status < 300:
            return raw
        raise self._status_error(what, status, raw, retry_after)

    def _status_error(
        self, what: str, status: int, raw: bytes, retry_after: str | None
    ) -> VenueError:
        text = raw[:_BODY_IN_ERRORS].decode("utf-8", "replace")
        if status in (429, 418):
            try:
                wait = float(retry_after) if retry_after is not None else self.retry_after_s
            except ValueError:
                wait = self.retry_after_s
            if self.limiter is not None:
                self.limiter.penalize(wait)
            return RateLimitedError(self.venue, f"{what}: {text}", status, wait)
        if status >= 500:
            return VenueUnavailableError(self.venue, f"{what}: {text}", status)
        return OrderRejectedError(self.venue, f"{what}: {text}", status)

    def __repr__(self) -> str:
        return f"HttpClient(venue={self.venue!r}, base_url={self.base_url!r})"
