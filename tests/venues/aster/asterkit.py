"""Helpers for the Aster fake's tests: a small signed client (V3 and V1), wallets, bounded
waits on the user-data and market streams."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from hedgekit._core import EthSigner
from hedgekit.testing.fakes.aster import FakeAster

D = Decimal
TIMEOUT = aiohttp.ClientTimeout(total=5)


def key_of(name: str) -> bytes:
    """A deterministic private key per name."""
    return hashlib.sha256(f"hedgekit-aster-fake-{name}".encode()).digest()


ALICE = EthSigner(key_of("alice"))
BOB = EthSigner(key_of("bob"))
_nonce = [int(time.time() * 1_000_000)]


def next_nonce() -> int:
    """A fresh µs nonce, strictly increasing."""
    _nonce[0] = max(_nonce[0] + 1, int(time.time() * 1_000_000))
    return _nonce[0]


def sign_v3(
    params: dict[str, Any],
    signer: EthSigner = ALICE,
    user: str | None = None,
    nonce: int | None = None,
    *,
    prefix: bool = True,
    sort: bool = False,
) -> str:
    """The V3 wire string: ``params`` then nonce, user, signer (ccxt's order; ``sort``: in
    ASCII order of the names), url-encoded, signed."""
    full = dict(params)
    full["nonce"] = next_nonce() if nonce is None else nonce
    full["user"] = user or signer.address
    full["signer"] = signer.address
    msg = urlencode(sorted(full.items()) if sort else full)
    r, s, v = signer.sign_eip712_message("AsterSignTransaction", "1", 1666, msg.encode())
    sig = f"{int(r, 16):064x}{int(s, 16):064x}{v:02x}"
    return f"{msg}&signature={'0x' if prefix else ''}{sig}"


def sign_v1(params: dict[str, Any], secret: str) -> str:
    """The V1 wire string: ``params`` then timestamp, HMAC-signed under ``secret``."""
    full = dict(params)
    full.setdefault("timestamp", int(time.time() * 1000))
    msg = urlencode(full)
    sig = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return f"{msg}&signature={sig}"


class Client:
    """Signed REST calls against a fake (V3 by default, V1 with ``api_key``)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        fake: FakeAster,
        signer: EthSigner = ALICE,
        *,
        api_key: str | None = None,
        secret: str = "",
    ) -> None:
        self.http, self.fake, self.signer = http, fake, signer
        self.api_key, self.secret = api_key, secret

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        raw: str | None = None,
    ) -> tuple[int, Any]:
        """``(status, json)`` of a signed request (``raw``: send this string as is)."""
        params = params or {}
        if raw is None:
            raw = (
                sign_v1(params, self.secret)
                if self.api_key is not None
                else sign_v3(params, self.signer)
            )
        headers = {"X-MBX-APIKEY": self.api_key} if self.api_key is not None else {}
        url = self.fake.url + path
        if method == "GET":
            async with self.http.get(f"{url}?{raw}", headers=headers) as r:
                return r.status, await r.json()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with self.http.request(method, url, data=raw, headers=headers) as r:
            return r.status, await r.json()

    async def ok(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """The json of a request that must succeed."""
        status, body = await self.call(method, path, params)
        assert status == 200, body
        return body

    async def err(self, method: str, path: str, params: dict[str, Any] | None = None) -> int:
        """The venue code of a request that must fail."""
        status, body = await self.call(method, path, params)
        assert status >= 400, body
        return int(body["code"])


def run(body: Callable[[FakeAster, aiohttp.ClientSession], Awaitable[None]], **kwargs: Any) -> None:
    """Runs ``body`` against a fresh fake (ALICE's account open), then checks the fake's
    records against its engines and that no task it owned is left."""

    async def main() -> None:
        kwargs.setdefault("accounts", [ALICE.address])
        kwargs.setdefault("depth_interval_s", 0.02)
        async with FakeAster(**kwargs) as fake:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
                await asyncio.wait_for(body(fake, http), 30)
            assert fake.state.check_invariants() == []
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == []

    asyncio.run(main())


async def recv(
    ws: aiohttp.ClientWebSocketResponse,
    match: Callable[[dict[str, Any]], bool],
    timeout: float = 3.0,
) -> dict[str, Any]:
    """The next JSON message for which ``match`` holds (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            data = orjson.loads(msg.data)
            if match(data):
                return data


def event(kind: str, x: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """Matches a user-data event ``e == kind`` (and ``o.x == x`` when given)."""

    def match(d: dict[str, Any]) -> bool:
        return d.get("e") == kind and (x is None or d["o"]["x"] == x)

    return match
