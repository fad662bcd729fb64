"""The fake Hyperliquid server: one aiohttp app on one 127.0.0.1 port (``POST /info``,
``POST /exchange``, ``GET /ws``) and the Python handle a test drives it with.

Everything runs on the event loop the fake was started on: the handlers, the WebSocket writers
(one task per connection, so messages leave in order), a ticker task (``l2Book`` snapshots every
``book_interval_s``, ``bbo`` on change, the hourly funding, due ``scheduleCancel`` triggers) and
the venue's delayed actions. All of them are owned by the fake and cancelled by
:meth:`FakeHyperliquid.stop`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from hedgekit.clock import Clock
from hedgekit.testing.fakes.engines import Later
from hedgekit.testing.fakes.faults import Fault, FaultKind, WireFaults
from hedgekit.testing.fakes.hyperliquid.exchange import Answer, Exchange
from hedgekit.testing.fakes.hyperliquid.info import answer_info
from hedgekit.testing.fakes.hyperliquid.market import DEFAULT_MARKETS, FakeMarket
from hedgekit.testing.fakes.hyperliquid.state import AccountState, VenueState
from hedgekit.testing.fakes.hyperliquid.wire import OrderRecord, Push, num
from hedgekit.testing.fakes.server import EngineServer, WsConnection

__all__ = ["FakeHyperliquid"]

_BAD_BODY = "Failed to deserialize the JSON body into the target type"
_HOUR_MS = 3_600_000
_USER_SUBS = frozenset({"orderUpdates", "userFills", "userEvents", "userFundings"})
_COIN_SUBS = frozenset({"l2Book", "trades", "bbo"})


class FakeHyperliquid(EngineServer[VenueState, Push]):
    """A wire-level fake of Hyperliquid's perps venue that ``hyperliquid-python-sdk`` accepts.

    Use it as an async context manager on the test's loop::

        async with FakeHyperliquid(accounts=[addr], balance=Decimal(10_000), seed=1) as fake:
            exchange = Exchange(wallet, fake.url)  # the SDK, in a thread
            fake.move_price("ETH", Decimal(3010))
            fake.trade_against("ETH", Side.SELL, Decimal(2))
            fake.faults.drop_ws()

    See ``docs/fakes.md`` for what it serves, its rules and texts, and the faults.

    Args:
        accounts: Addresses with an account at start, each with ``balance`` USDC. None given:
            any signer is accepted and gets an account on first sight.
        balance: Starting USDC of every account.
        markets: The perps (asset id = position); default BTC, ETH, SOL.
        seed: Seeds the faults' draws and the engines.
        faults: The faults (default: a fresh :class:`WireFaults` with ``seed``).
        port: The port on 127.0.0.1 (0: any free one).
        source: The phantom-agent source tried first for a new signer (``"b"``: the SDK against
            a non-mainnet URL; ``"a"``: ccxt).
        book_interval_s: Seconds between ``l2Book`` snapshots to subscribers (Hyperliquid:
            about 0.5).
        min_schedule_delay_s: How far ahead ``scheduleCancel`` must be (the venue: 5 s).
        hourly_funding: Pay funding at every UTC hour boundary while running.
        clock: Where the venue's time comes from (default: the loop's wall clock).
    """

    def __init__(
        self,
        accounts: Iterable[str] = (),
        *,
        balance: Decimal = Decimal(100_000),
        markets: Sequence[FakeMarket] = DEFAULT_MARKETS,
        seed: int = 0,
        faults: WireFaults | None = None,
        port: int = 0,
        source: str = "b",
        book_interval_s: float = 0.5,
        min_schedule_delay_s: float = 5.0,
        hourly_funding: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if book_interval_s <= 0:
            raise ValueError(f"book_interval_s must be positive, got {book_interval_s}")
        super().__init__(faults=faults, seed=seed, port=port, clock=clock)
        self.state = VenueState(markets, balance, seed)
        addresses = [a.lower() for a in accounts]
        for address in addresses:
            _check_address(address)
            self.state.add_account(address)
        self.exchange = Exchange(
            self.state,
            self.faults,
            open_accounts=not addresses,
            source=source,
            min_schedule_delay_ms=round(min_schedule_delay_s * 1000),
        )
        self._book_interval_s = book_interval_s
        self._hourly_funding = hourly_funding
        self._next_funding_ms = 0

    # ------------------------------------------------------------------ serving

    def routes(self, app: web.Application) -> None:
        """``POST /info``, ``POST /exchange`` and ``GET /ws``."""
        app.router.add_post("/info", self._info)
        app.router.add_post("/exchange", self._exchange)
        app.router.add_get("/ws", self._ws)

    async def on_started(self) -> None:
        """Starts the ticker (books, funding at the hour, scheduled cancels)."""
        self._next_funding_ms = (self.now_ms() // _HOUR_MS + 1) * _HOUR_MS
        self.spawn(self._ticker())

    @property
    def ws_url(self) -> str:
        """The WebSocket URL (``ws://127.0.0.1:P/ws``)."""
        return f"ws://127.0.0.1:{self.port}/ws"

    # ------------------------------------------------------------------ driving the venue

    def add_account(self, address: str, balance: Decimal | None = None) -> None:
        """Opens an account for ``address`` (with ``balance`` USDC, default the venue's)."""
        _check_address(address.lower())
        self.state.add_account(address, balance)

    def approve_agent(self, agent: str, master: str) -> None:
        """Approves ``agent`` to sign for ``master``, as a signed ``approveAgent`` would.

        Raises:
            KeyError: ``master`` has no account.
        """
        _check_address(agent.lower())
        self.state.accounts[master.lower()]  # noqa: B018 - raises KeyError for no account
        self.state.agents[agent.lower()] = master.lower()

    def settle_funding(self) -> None:
        """Pays one hour of funding now (as at an hour boundary)."""
        self._broadcast(self.state.settle_funding(self.now_ms()))

    def fire_scheduled_cancels(self, now_ms: int | None = None) -> None:
        """Runs the dead-man switch as if the time were ``now_ms`` (default: now): every
        account whose ``scheduleCancel`` time has come has its open orders cancelled."""
        at = self.now_ms() if now_ms is None else now_ms
        self._broadcast(self.exchange.fire_scheduled(at))

    def account(self, address: str) -> AccountState:
        """The venue's record of ``address`` (its engine, orders, fills, fundings).

        Raises:
            KeyError: No such account.
        """
        return self.state.accounts[address.lower()]

    def position(self, address: str, coin: str) -> Decimal:
        """``address``'s signed position in ``coin`` (0 for an unknown account)."""
        acct = self.state.accounts.get(address.lower())
        return Decimal(0) if acct is None else acct.engine.position(coin)

    def open_orders(self, address: str) -> list[OrderRecord]:
        """``address``'s open orders, newest first."""
        acct = self.state.accounts.get(address.lower())
        return [] if acct is None else acct.open_orders()

    def fills(self, address: str) -> list[dict[str, Any]]:
        """``address``'s fills as the wire writes them, oldest first."""
        acct = self.state.accounts.get(address.lower())
        return [] if acct is None else [dict(f) for f in acct.fills]

    # ------------------------------------------------------------------ HTTP

    async def _info(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.draw("info")
        refused = self.refusal(fault)
        if refused is not None:
            return refused
        await self.hold(fault)
        body = await _json(request)
        result = None if body is _INVALID else answer_info(self.state, body, self.now_ms())
        if result is None:
            return web.Response(status=422, text=_BAD_BODY)
        return await self.answer(request, fault, _ok(result))

    async def _exchange(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.draw("exchange")
        refused = self.refusal(fault)
        if refused is not None:
            return refused
        await self.hold(fault)
        body = await _json(request)
        if body is _INVALID:
            return web.Response(status=422, text=_BAD_BODY)
        answer = self._apply(body)
        return await self.answer(request, fault, _ok(answer.body))

    def _apply(self, body: Any) -> Answer:
        answer = self.exchange.handle(body, self.now_ms())
        self._broadcast(answer.pushes)
        for later in answer.later:
            self.spawn(self._run_later(later))
        return answer

    async def _run_later(self, later: Later[Push]) -> None:
        await asyncio.sleep(later.delay_s)
        self._broadcast(later.run(self.now_ms()))

    # ------------------------------------------------------------------ WebSocket

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        def hello(conn: WsConnection) -> None:
            conn.send_text("Websocket connection established.")

        return await self.serve_ws(request, hello, self._on_message)

    def _on_message(self, conn: WsConnection, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send({"channel": "error", "data": f"Error parsing JSON: {text}"})
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            conn.send({"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            self._subscription(conn, method, msg.get("subscription"))
        elif method == "post":
            self._post(conn, msg)
        else:
            conn.send({"channel": "error", "data": f"Unknown method: {text}"})

    def _subscription(self, conn: WsConnection, method: str, sub: object) -> None:
        key = self._sub_key(sub)
        if key is None:
            conn.send(
                {"channel": "error", "data": f"Invalid subscription {orjson.dumps(sub).decode()}"},
            )
            return
        assert isinstance(sub, dict)
        if method == "subscribe":
            if key in conn.subs:
                conn.send(
                    {
                        "channel": "error",
                        "data": f"Already subscribed: {orjson.dumps(sub).decode()}",
                    },
                )
                return
            conn.subs[key] = sub
        else:
            if conn.subs.pop(key, None) is None:
                conn.send(
                    {
                        "channel": "error",
                        "data": f"Already unsubscribed: {orjson.dumps(sub).decode()}",
                    },
                )
                return
        conn.send(
            {"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}},
        )
        if method == "subscribe":
            self._snapshot(conn, key)

    def _sub_key(self, sub: object) -> tuple[str, str] | None:
        if not isinstance(sub, dict):
            return None
        kind = sub.get("type")
        if not isinstance(kind, str):
            return None
        if kind in _COIN_SUBS:
            coin = sub.get("coin")
            if isinstance(coin, str) and coin in self.state.asset_of:
                return (kind, coin)
            return None
        if kind in _USER_SUBS:
            user = sub.get("user")
            return (kind, user.lower()) if isinstance(user, str) and len(user) == 42 else None
        if kind == "allMids":
            return ("allMids", "")
        return None

    def _snapshot(self, conn: WsConnection, key: tuple[str, str]) -> None:
        kind, k = key
        acct = self.state.accounts.get(k)
        if kind == "l2Book":
            conn.send({"channel": "l2Book", "data": self._book(k)})
        elif kind == "bbo":
            self._send_bbo(conn, k, force=True)
        elif kind == "allMids":
            conn.send({"channel": "allMids", "data": {"mids": self._mids()}})
        elif kind == "userFills":
            fills = [] if acct is None else acct.fills[-2000:]
            conn.send(
                {"channel": "userFills", "data": {"isSnapshot": True, "user": k, "fills": fills}},
            )
        elif kind == "userFundings":
            fundings = [] if acct is None else acct.ws_fundings[-500:]
            conn.send(
                {
                    "channel": "userFundings",
                    "data": {"isSnapshot": True, "user": k, "fundings": fundings},
                },
            )

    def _post(self, conn: WsConnection, msg: dict[str, Any]) -> None:
        post_id = msg.get("id")
        request = msg.get("request")
        fault = self.faults.draw("ws_post")
        self.requests += 1  # a post is a request (its 429/5xx are answered on the socket)
        if not self.stalled(fault, lambda: self._post_now(conn, post_id, request, fault)):
            self._post_now(conn, post_id, request, fault)

    def _post_now(
        self, conn: WsConnection, post_id: object, request: object, fault: Fault | None
    ) -> None:
        def reply(kind: str, payload: Any) -> None:
            conn.send(
                {
                    "channel": "post",
                    "data": {"id": post_id, "response": {"type": kind, "payload": payload}},
                },
            )

        if fault is not None and fault.kind is FaultKind.RATE_LIMIT:
            reply("error", "Too many requests")
            return
        if fault is not None and fault.kind is FaultKind.SERVER_ERROR:
            reply("error", "Internal Server Error")
            return
        if not isinstance(post_id, int) or not isinstance(request, dict):
            conn.send({"channel": "error", "data": "Invalid post request"})
            return
        kind, payload = request.get("type"), request.get("payload")
        if kind == "info":
            result = answer_info(self.state, payload, self.now_ms())
            if result is None:
                reply("error", _BAD_BODY)
            else:
                assert isinstance(payload, dict)
                reply("info", {"type": payload.get("type"), "data": result})
        elif kind == "action":
            answer = self._apply(payload)
            if fault is not None and fault.kind is FaultKind.RESET:
                conn.drop()
                return
            if fault is not None and fault.kind is FaultKind.LOST_ANSWER:
                return
            reply("action", answer.body)
        else:
            reply("error", f"Unknown post type: {kind}")

    def _broadcast(self, pushes: Iterable[Push]) -> None:
        for push in pushes:
            message = None
            for conn in self.connections:
                if (push.sub_type, push.key) in conn.subs:
                    if message is None:
                        message = {"channel": push.channel, "data": push.data}
                    conn.send(message)

    # ------------------------------------------------------------------ the ticker

    def _book(self, coin: str) -> dict[str, Any]:
        bids, asks = self.state.levels(coin)
        return {"coin": coin, "time": self.now_ms(), "levels": [bids, asks]}

    def _mids(self) -> dict[str, str]:
        return {m.coin: num(self.state.mid(m.coin)) for m in self.state.markets}

    def _send_bbo(self, conn: WsConnection, coin: str, *, force: bool = False) -> None:
        bids, asks = self.state.levels(coin, 1)
        bbo = [bids[0] if bids else None, asks[0] if asks else None]
        last = conn.memo.setdefault("bbo", {})
        if force or last.get(coin) != bbo:
            last[coin] = bbo
            conn.send({"channel": "bbo", "data": {"coin": coin, "time": self.now_ms(), "bbo": bbo}})

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self._book_interval_s)
            now = self.now_ms()
            self._broadcast(self.exchange.fire_scheduled(now))
            if self._hourly_funding and now >= self._next_funding_ms:
                self._next_funding_ms = (now // _HOUR_MS + 1) * _HOUR_MS
                self._broadcast(self.state.settle_funding(now))
            books: dict[str, dict[str, Any]] = {}
            for conn in self.connections:
                for kind, key in list(conn.subs):
                    if kind == "l2Book":
                        if key not in books:
                            books[key] = self._book(key)
                        conn.send({"channel": "l2Book", "data": books[key]})
                    elif kind == "bbo":
                        self._send_bbo(conn, key)


_INVALID: Any = object()


async def _json(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _INVALID


def _ok(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _check_address(address: str) -> None:
    if len(address) != 42 or not address.startswith("0x"):
        raise ValueError(f"an address is 0x and 40 hex digits, got {address!r}")
    int(address[2:], 16)
