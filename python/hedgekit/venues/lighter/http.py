"""Lighter's REST API over the shared :class:`~hedgekit.venues.transport.HttpClient`: reads
(``GET /api/v1/…``; private ones carry the auth token as the ``auth`` parameter; retried when
ambiguous: they change nothing), ``POST /api/v1/sendTx`` (form-encoded; never retried: an
ambiguous send is resolved by reading the account's orders), and the venue's
``{"code", "message"}`` errors mapped to :mod:`hedgekit.errors` by their code — whether they
come with an HTTP 400 or inside a 200 (venues.md §3.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hedgekit.errors import AmbiguousOutcomeError, RateLimitedError, VenueError
from hedgekit.secrets import Secret
from hedgekit.venues.lighter import parse, wire
from hedgekit.venues.lighter.signing import SignedTx
from hedgekit.venues.transport import Budget, HttpClient, RateLimiter

__all__ = [
    "LIGHTER_BUDGETS",
    "READ_WEIGHT",
    "SEND_WEIGHT",
    "STANDARD_BUDGETS",
    "LighterHttp",
    "LighterHttpClient",
]

LIGHTER_BUDGETS: tuple[Budget, ...] = (Budget("ip", 24_000, 60.0),)
"""A Premium account's budget: 24,000 weighted requests per minute (venues.md §3.8; a Standard
account has 60 requests per minute: pass ``STANDARD_BUDGETS``)."""
STANDARD_BUDGETS: tuple[Budget, ...] = (Budget("ip", 60, 60.0),)
"""A Standard account's budget: 60 requests per rolling minute (every request weighs 1)."""

SEND_WEIGHT = 6
"""``sendTx``, ``sendTxBatch`` and ``nextNonce`` weigh 6."""
READ_WEIGHT = 300
"""Most reads weigh 300."""

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_OK = (0, 200)


def _check_body(venue: str, what: str, body: Any) -> VenueError | None:
    if isinstance(body, dict) and "code" in body:
        try:
            code = int(body["code"])
        except (TypeError, ValueError):
            code = 0
        if code not in _OK:
            return parse.error_for(venue, code, f"{what}: {body.get('message', '')}")
    return None


class LighterHttpClient(HttpClient):
    """The shared client, with a 4xx answer's ``{"code", "message"}`` read into the matching
    :mod:`hedgekit.errors` class (``code`` the venue's, not the HTTP status)."""

    def _status_error(
        self, what: str, status: int, raw: bytes, retry_after: str | None
    ) -> VenueError:
        if 400 <= status < 500 and status != 429:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            err = _check_body(self.venue, what, body)
            if err is not None:
                if isinstance(err, RateLimitedError) and self.limiter is not None:
                    self.limiter.penalize(err.retry_after_s)
                return err
        return super()._status_error(what, status, raw, retry_after)


class LighterHttp:
    """The venue's REST API for one account, paced by its weight budget.

    Args:
        venue: The venue's name.
        base_url: The REST base.
        timeout_s: Each request's total timeout.
        budgets: The account's budgets (default :data:`LIGHTER_BUDGETS`).
        weights: ``(send, read)`` request weights (a Standard account: ``(1, 1)``).
    """

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        budgets: tuple[Budget, ...] = LIGHTER_BUDGETS,
        weights: tuple[int, int] = (SEND_WEIGHT, READ_WEIGHT),
    ) -> None:
        self.venue = venue
        self.limiter = RateLimiter(venue, budgets)
        self.client = LighterHttpClient(
            venue, base_url.rstrip("/"), limiter=self.limiter, timeout_s=timeout_s
        )
        self.send_weight, self.read_weight = weights
        self.sent = 0
        """Transactions sent (answered or not)."""

    def _json(self, raw: bytes, what: str) -> Any:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise AmbiguousOutcomeError(self.venue, f"{what}: answer is not JSON") from None
        err = _check_body(self.venue, what, body)
        if err is not None:
            raise err
        return body

    async def get(
        self,
        endpoint: str,
        params: Mapping[str, str | int] | None = None,
        *,
        auth: Secret | None = None,
        weight: int | None = None,
    ) -> Any:
        """A read of ``/api/v1/<endpoint>`` (retried when ambiguous), its JSON answer.

        Raises:
            hedgekit.errors.VenueError: As :class:`LighterHttpClient` maps it (a ``code`` other
                than 200 in a 200 answer too).
        """
        query = {k: str(v) for k, v in (params or {}).items()}
        if auth is not None:
            query["auth"] = auth.reveal()
        path = f"/api/v1/{endpoint}"
        raw = await self.client.request(
            "GET", path, params=query, weight=self.read_weight if weight is None else weight,
            idempotent=True,
        )  # fmt: skip
        return self._json(raw, f"GET {path}")

    async def send_tx(self, tx: SignedTx, *, timeout_s: float | None = None) -> dict[str, Any]:
        """``POST /api/v1/sendTx`` of one signed tx; the answer (``tx_hash``,
        ``predicted_execution_time_ms``) means only "accepted by the API".

        Raises:
            hedgekit.errors.OrderRejectedError: Refused (``code`` 21104 for a stale nonce,
                21706 below the minimums, …); the nonce was not used.
            hedgekit.errors.AmbiguousOutcomeError: No usable answer: the tx may be sequenced.
        """
        self.sent += 1
        raw = await self.client.request(
            "POST", "/api/v1/sendTx", body=wire.send_tx_form(tx.tx_type, tx.tx_info),
            headers=_FORM, weight=self.send_weight, timeout_s=timeout_s,
        )  # fmt: skip
        body = self._json(raw, "POST /api/v1/sendTx")
        return body if isinstance(body, dict) else {}

    async def next_nonce(self, account_index: int, api_key_index: int) -> int:
        """``GET nextNonce`` of one API key."""
        body = await self.get(
            "nextNonce",
            {"account_index": account_index, "api_key_index": api_key_index},
            weight=self.send_weight,
        )
        return int(body["nonce"])

    async def close(self) -> None:
        """Closes the session."""
        await self.client.close()
