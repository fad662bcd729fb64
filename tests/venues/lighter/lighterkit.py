"""Helpers for the Lighter fake's tests: transactions written by hand (the fake accepts any
``Sig``), a small REST/WebSocket client, bounded waits, and a book kept client-side by the
venue's ``begin_nonce`` rule."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from hedgekit.testing.fakes.lighter import FakeLighter

D = Decimal
TIMEOUT = aiohttp.ClientTimeout(total=5)
ACCOUNT = 7
KEY = 3
PUBLIC = "ab" * 40
SIG = "c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
DAY_MS = 86_400_000


def now_ms() -> int:
    """Wall-clock ms (the fake's clock)."""
    return int(time.time() * 1000)


def token(account: int = ACCOUNT, key: int = KEY, ttl_s: int = 600) -> str:
    """An auth token of the venue's shape (its signature is not checked)."""
    return f"{int(time.time()) + ttl_s}:{account}:{key}:{'ab' * 40}"


def create(nonce: int, *, market: int = 0, coi: int = 17, base: int = 2500, price: int = 299000,
           ask: int = 0, kind: int = 0, tif: int = 1, reduce_only: int = 0,
           expiry: int | None = None, account: int = ACCOUNT, key: int = KEY,
           **over: Any) -> dict[str, Any]:  # fmt: skip
    """A create-order ``tx_info`` (tif 1 GTT by default; IOC gets expiry 0)."""
    if expiry is None:
        expiry = 0 if tif == 0 else now_ms() + 28 * DAY_MS
    info = {"AccountIndex": account, "ApiKeyIndex": key, "MarketIndex": market,
            "ClientOrderIndex": coi, "BaseAmount": base, "Price": price, "IsAsk": ask,
            "Type": kind, "TimeInForce": tif, "ReduceOnly": reduce_only, "TriggerPrice": 0,
            "OrderExpiry": expiry, "ExpiredAt": now_ms() + 600_000, "Nonce": nonce, "Sig": SIG,
            "L2TxAttributes": None}  # fmt: skip
    info.update(over)
    return info


def cancel(nonce: int, index: int, *, market: int = 0, **over: Any) -> dict[str, Any]:
    """A cancel-order ``tx_info`` (``index``: order index or client order index)."""
    info = {"AccountIndex": ACCOUNT, "ApiKeyIndex": KEY, "MarketIndex": market, "Index": index,
            "ExpiredAt": now_ms() + 600_000, "Nonce": nonce, "Sig": SIG, "L2TxAttributes": None}  # fmt: skip
    info.update(over)
    return info


def modify(nonce: int, index: int, base: int, price: int, **over: Any) -> dict[str, Any]:
    """A modify-order ``tx_info``."""
    info = {"AccountIndex": ACCOUNT, "ApiKeyIndex": KEY, "MarketIndex": 0, "Index": index,
            "BaseAmount": base, "Price": price, "TriggerPrice": 0,
            "ExpiredAt": now_ms() + 600_000, "Nonce": nonce, "Sig": SIG, "L2TxAttributes": None}  # fmt: skip
    info.update(over)
    return info


def cancel_all(nonce: int, tif: int = 0, when: int = 0) -> dict[str, Any]:
    """A cancel-all ``tx_info``."""
    return {"AccountIndex": ACCOUNT, "ApiKeyIndex": KEY, "TimeInForce": tif, "Time": when,
            "ExpiredAt": now_ms() + 600_000, "Nonce": nonce, "Sig": SIG, "L2TxAttributes": None}  # fmt: skip


class Client:
    """REST calls and sockets against a fake."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeLighter) -> None:
        self.http = http
        self.fake = fake

    async def send(self, tx_type: int, info: dict[str, Any] | str) -> tuple[int, dict[str, Any]]:
        """``POST sendTx``: (HTTP status, body)."""
        raw = info if isinstance(info, str) else orjson.dumps(info).decode()
        form = {"tx_type": str(tx_type), "tx_info": raw}
        async with self.http.post(f"{self.fake.url}/api/v1/sendTx", data=form) as r:
            raw = await r.read()
            try:
                return r.status, orjson.loads(raw)
            except orjson.JSONDecodeError:  # a 5xx is plain text
                return r.status, {"text": raw.decode()}

    async def ok(self, tx_type: int, info: dict[str, Any]) -> str:
        """Sends a transaction that must be accepted; returns its hash."""
        status, body = await self.send(tx_type, info)
        assert (status, body["code"]) == (200, 200), body
        return str(body["tx_hash"])

    async def batch(self, types: list[int], infos: list[dict[str, Any]]) -> tuple[int, Any]:
        """``POST sendTxBatch``."""
        form = {"tx_types": orjson.dumps(types).decode(),
                "tx_infos": orjson.dumps([orjson.dumps(i).decode() for i in infos]).decode()}  # fmt: skip
        async with self.http.post(f"{self.fake.url}/api/v1/sendTxBatch", data=form) as r:
            return r.status, orjson.loads(await r.read())

    async def get(self, name: str, **params: Any) -> tuple[int, Any]:
        """``GET /api/v1/<name>``: (HTTP status, body)."""
        query = {k: str(v) for k, v in params.items()}
        async with self.http.get(f"{self.fake.url}/api/v1/{name}", params=query) as r:
            return r.status, orjson.loads(await r.read())

    async def read(self, name: str, **params: Any) -> Any:
        """A read that must succeed."""
        status, body = await self.get(name, **params)
        assert status == 200, body
        return body

    async def nonce(self) -> int:
        """The key's next nonce as ``nextNonce`` says."""
        body = await self.read("nextNonce", account_index=ACCOUNT, api_key_index=KEY)
        return int(body["nonce"])

    async def socket(self) -> aiohttp.ClientWebSocketResponse:
        """A socket to ``/stream`` past its ``connected`` message."""
        ws = await self.http.ws_connect(self.fake.ws_url)
        first = await recv(ws)
        assert first["type"] == "connected"
        return ws

    async def subscribe(
        self, ws: aiohttp.ClientWebSocketResponse, channel: str, auth: str | None = None
    ) -> dict[str, Any]:
        """Subscribes; returns the ``subscribed/…`` message (or the error frame)."""
        msg: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if auth is not None:
            msg["auth"] = auth
        await ws.send_str(orjson.dumps(msg).decode())
        return await recv(ws, lambda m: m.get("type", "").startswith("subscribed/") or "error" in m)


async def recv(
    ws: aiohttp.ClientWebSocketResponse,
    match: Callable[[dict[str, Any]], bool] = lambda _m: True,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """The next message ``match`` accepts (others are skipped), within ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket ended: {msg.type} {msg.data} {msg.extra}")
            data = orjson.loads(msg.data)
            if match(data):
                return data  # type: ignore[no-any-return]


async def order_status(ws: aiohttp.ClientWebSocketResponse, order_index: int | None = None,
                       coi: int | None = None, timeout: float = 5.0) -> dict[str, Any]:  # fmt: skip
    """The next ``account_all_orders`` order object for the order named."""

    def hit(m: dict[str, Any]) -> bool:
        if m.get("type") != "update/account_all_orders":
            return False
        return any(o["order_index"] == order_index or o["client_order_index"] == coi
                   for os in m["orders"].values() for o in os)  # fmt: skip

    msg = await recv(ws, hit, timeout)
    return next(o for os in msg["orders"].values() for o in os
                if o["order_index"] == order_index or o["client_order_index"] == coi)  # fmt: skip


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Polls ``check`` every 5 ms until true, within ``timeout``."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


class Book:
    """A client-side book kept by the venue's rule: a snapshot, then updates applied only when
    their ``begin_nonce`` is the last ``nonce``."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        ob = snapshot["order_book"]
        self.bids = {D(x["price"]): D(x["size"]) for x in ob["bids"]}
        self.asks = {D(x["price"]): D(x["size"]) for x in ob["asks"]}
        self.nonce = int(ob["nonce"])
        self.applied = 0

    def apply(self, update: dict[str, Any]) -> bool:
        """Applies an update; False (nothing applied) when the chain is broken."""
        ob = update["order_book"]
        if int(ob["begin_nonce"]) != self.nonce:
            return False
        for side, rows in ((self.bids, ob["bids"]), (self.asks, ob["asks"])):
            for x in rows:
                px, sz = D(x["price"]), D(x["size"])
                if sz == 0:
                    side.pop(px, None)
                else:
                    side[px] = sz
        self.nonce = int(ob["nonce"])
        self.applied += 1
        return True


def run(body: Callable[[FakeLighter, Client], Awaitable[None]], **kwargs: Any) -> FakeLighter:
    """Runs ``body`` against a fake with key ``(ACCOUNT, KEY)`` on a fresh loop; the fake's
    records must agree with its engines at the end."""
    kwargs.setdefault("api_keys", [(ACCOUNT, KEY, "0x" + PUBLIC)])
    kwargs.setdefault("sequencer_delay_s", 0.01)
    kwargs.setdefault("book_interval_s", 0.02)

    async def main() -> FakeLighter:
        async with FakeLighter(**kwargs) as fake, aiohttp.ClientSession(timeout=TIMEOUT) as http:
            await body(fake, Client(http, fake))
            await fake.settle()
            assert fake.state.check_invariants() == []
            return fake

    return asyncio.run(main())
