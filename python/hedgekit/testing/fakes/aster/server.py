"""The fake Aster server: one aiohttp app on one 127.0.0.1 port (REST under ``/fapi/v1..v4``,
the spot ``/api/v3/exchangeInfo`` ccxt asks for, WebSockets on ``/ws/…`` and ``/stream``) and
the Python handle a test drives it with.

Everything runs on the event loop the fake was started on: the handlers, the WebSocket writers,
a ticker task (depth diffs and book tickers every ``depth_interval_s``, mark prices every
second, funding at each symbol's interval boundary, the dead-man switch, listen-key expiry) and
the venue's delayed actions; all are owned by the fake and cancelled by :meth:`FakeAster.stop`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from hedgekit.clock import Clock
from hedgekit.testing.fakes.aster.auth import (
    BAD_KEY,
    BAD_SIGNATURE,
    ApiError,
    NonceBook,
    hmac_signature,
    params_sorted,
    recover_v3,
    split_signature,
    v1_payload,
)
from hedgekit.testing.fakes.aster.market import DEFAULT_MARKETS, AsterMarket
from hedgekit.testing.fakes.aster.reads import Reads
from hedgekit.testing.fakes.aster.state import AccountState, VenueState
from hedgekit.testing.fakes.aster.trading import Answer, Later, Trading, missing
from hedgekit.testing.fakes.aster.wire import OrderRecord, Push, num
from hedgekit.testing.fakes.faults import WireFaults
from hedgekit.testing.fakes.server import EngineServer, WsConnection
from hedgekit.venues.sim import PostOnlyMode, aster

__all__ = ["FakeAster"]

_Handler = Callable[[AccountState, dict[str, str], int], Answer]
_PUBLIC = frozenset(
    {"exchangeInfo", "depth", "premiumIndex", "fundingInfo", "fundingRate", "time", "ping",
     "ticker/bookTicker"}
)  # fmt: skip
_DEPTH_SUFFIXES = ("@depth", "@depth@100ms", "@depth@250ms", "@depth@500ms")
_PARTIAL_DEPTHS = (5, 10, 20)  # partial book depth streams: <symbol>@depth<N>[@100ms|@500ms]


class FakeAster(EngineServer[VenueState, Push]):
    """A wire-level fake of Aster's futures venue (V1 HMAC and V3 API-wallet signing) that
    ccxt's ``aster`` and ``binanceusdm`` accept.

    Use it as an async context manager on the test's loop::

        async with FakeAster(accounts=[addr], balance=Decimal(10_000), seed=1) as fake:
            ex = ccxt.async_support.aster({...}); ex.urls["api"] = {... fake.url ...}
            fake.move_price("ETHUSDT", Decimal(3010))
            fake.trade_against("ETHUSDT", Side.SELL, Decimal(2))
            fake.faults.drop_ws()

    See ``docs/fakes.md`` for what it serves, its rules and codes, and the faults.

    Args:
        accounts: V3 user addresses with an account at start. None given (and no API key):
            any V3 signer is accepted and gets an account on first sight.
        api_keys: V1 keys: ``{api_key: (secret, user)}``; the key acts for ``user``'s account
            (opened if needed).
        balance: Starting USDT of every account.
        markets: The perps; default BTCUSDT, ETHUSDT, SOLUSDT.
        seed: Seeds the faults' draws and the engines.
        faults: The faults (default: a fresh :class:`WireFaults` with ``seed``).
        port: The port on 127.0.0.1 (0: any free one).
        post_only_reject: GTX that would cross is refused with ``-5022`` (current Binance)
            instead of accepted as NEW and then EXPIRED (legacy Binance, the default: §2.7).
        require_sorted: Refuse a V3 request whose parameters are not in ASCII order (-1022).
        amendment_events: Send ``x: "AMENDMENT"`` events for a modify.
        nonce_window_s: How far a V3 nonce may be from the venue's time.
        depth_interval_s: Seconds between depth diffs (the ``@100ms`` cadence).
        ping_interval_s: Seconds between the server's WebSocket pings; a client that does not
            pong within half of it is dropped (the venue: 5 min / 15 min). ``None``: no pings.
        listen_key_ttl_s: How long a listen key lives without a keepalive (the venue: 60 min).
        funding: Settle funding at each symbol's interval boundary while running.
        clock: Where the venue's time comes from (default: the loop's wall clock).
    """

    def __init__(
        self,
        accounts: Iterable[str] = (),
        *,
        api_keys: dict[str, tuple[str, str]] | None = None,
        balance: Decimal = Decimal(100_000),
        markets: Sequence[AsterMarket] = DEFAULT_MARKETS,
        seed: int = 0,
        faults: WireFaults | None = None,
        port: int = 0,
        post_only_reject: bool = False,
        require_sorted: bool = False,
        amendment_events: bool = True,
        nonce_window_s: float = 10.0,
        depth_interval_s: float = 0.1,
        ping_interval_s: float | None = 300.0,
        listen_key_ttl_s: float = 3600.0,
        funding: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if depth_interval_s <= 0:
            raise ValueError(f"depth_interval_s must be positive, got {depth_interval_s}")
        super().__init__(faults=faults, seed=seed, port=port, clock=clock)
        mode = (
            PostOnlyMode.SYNC_REJECT_CODE if post_only_reject else PostOnlyMode.ACCEPT_THEN_EXPIRE
        )
        self.state = VenueState(
            markets, balance, seed, dataclasses.replace(aster(), post_only_mode=mode)
        )
        self.trading = Trading(self.state, self.faults, amendment_events=amendment_events)
        users = [_address(a) for a in accounts]
        for user in users:
            self.state.add_account(user)
        self.api_keys: dict[str, tuple[str, str]] = {}
        for key, (secret, user) in (api_keys or {}).items():
            self.add_api_key(key, secret, user)
        self.open_accounts = not users and not self.api_keys
        self.signers: dict[str, str] = {}
        """Approved V3 API wallets: signer → user (a user may always sign for itself)."""
        self.require_sorted = require_sorted
        self.nonces = NonceBook(round(nonce_window_s * 1_000_000))
        self.depth_interval_s = depth_interval_s
        self.ping_interval_s = ping_interval_s
        self.listen_key_ttl_ms = round(listen_key_ttl_s * 1000)
        self.listen_keys: dict[str, tuple[str, int]] = {}
        """listenKey → (user, expiry ms)."""
        self._funding = funding
        self._next_funding: dict[str, int] = {}
        self._depth: dict[str, _DepthSeq] = {s: _DepthSeq() for s in self.state.markets}
        self._last_mark_ms = 0
        self.reads = Reads(self.state, self.trading, self._next_funding)
        self.verified = {"v1": 0, "v3": 0}
        """Signed requests whose signature the fake verified and accepted, per scheme."""

    # ------------------------------------------------------------------ serving

    def routes(self, app: web.Application) -> None:
        """REST under ``/fapi/{v1..v4}/``, ``/api/v3/exchangeInfo`` and the WebSockets."""
        app.router.add_get("/api/v3/exchangeInfo", self._spot_info)
        app.router.add_route("*", "/fapi/{version:v[1-4]}/{name:.+}", self._fapi)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/ws/{name}", self._ws)
        app.router.add_get("/stream", self._ws)

    async def on_started(self) -> None:
        """Starts the ticker."""
        now = self.now_ms()
        for m in self.state.markets.values():
            interval = m.funding_interval_h * 3_600_000
            self._next_funding[m.symbol] = (now // interval + 1) * interval
        for s in self.state.markets:
            self._flush_depth(s, now)
        self.spawn(self._ticker())

    @property
    def ws_url(self) -> str:
        """The WebSocket base (``ws://127.0.0.1:P``): streams at ``/ws/<name>`` and
        ``/stream?streams=a/b``, user data at ``/ws/<listenKey>``."""
        return f"ws://127.0.0.1:{self.port}"

    def rate_limited(self) -> web.Response:
        """HTTP 429 with ``-1003``."""
        return _error(
            ApiError(-1003, "Too many requests; current limit is 2400 requests per minute.", 429)
        )

    # ------------------------------------------------------------------ driving the venue

    def add_account(self, user: str, balance: Decimal | None = None) -> None:
        """Opens an account for the V3 ``user`` (with ``balance`` USDT, default the venue's)."""
        self.state.add_account(_address(user), balance)

    def add_api_key(self, api_key: str, secret: str, user: str | None = None) -> str:
        """Registers a V1 key acting for ``user`` (default: a made-up address, returned),
        opening its account."""
        user = _address(user) if user is not None else "0x" + secrets.token_hex(20)
        self.api_keys[api_key] = (secret, user)
        self.state.add_account(user)
        return user

    def approve_signer(self, signer: str, user: str) -> None:
        """Lets the V3 API wallet ``signer`` act for ``user``."""
        self.signers[_address(signer)] = _address(user)

    def settle_funding(self, symbol: str | None = None) -> None:
        """Pays one interval of funding now on ``symbol`` (default: every symbol)."""
        symbols = None if symbol is None else [symbol]
        self._broadcast(self.state.settle_funding(self.now_ms(), symbols))

    def skip_depth_update(self, symbol: str) -> None:
        """A fault: the next depth diff of ``symbol`` follows one the clients never get (its
        ``pu`` names a ``u`` never sent), as when the venue drops a message."""
        self._depth[symbol].gap = True

    def expire_listen_key(self, user: str) -> int:
        """A fault (and the venue's own expiry): ``user``'s listen key dies now;
        ``listenKeyExpired`` goes to its sockets. Returns how many keys expired."""
        user = _address(user)
        dead = [k for k, (u, _t) in self.listen_keys.items() if u == user]
        now = self.now_ms()
        for key in dead:
            self._expire(key, now)
        return len(dead)

    def account(self, user: str) -> AccountState:
        """The venue's record of ``user`` (its engine, orders, trades, income).

        Raises:
            KeyError: No such account.
        """
        return self.state.accounts[_address(user)]

    def position(self, user: str, symbol: str) -> Decimal:
        """``user``'s signed position in ``symbol`` (0 for an unknown account)."""
        acct = self.state.accounts.get(_address(user))
        return Decimal(0) if acct is None else acct.engine.position(symbol)

    def open_orders(self, user: str) -> list[OrderRecord]:
        """``user``'s open orders, oldest first."""
        acct = self.state.accounts.get(_address(user))
        return [] if acct is None else acct.open_orders()

    def fills(self, user: str) -> list[dict[str, Any]]:
        """``user``'s trades as ``userTrades`` writes them, oldest first."""
        acct = self.state.accounts.get(_address(user))
        return [] if acct is None else [dict(t) for t in acct.trades]

    def last_update_id(self, symbol: str) -> int:
        """The ``u`` of ``symbol``'s last depth diff."""
        return self._depth[symbol].last_u

    # ------------------------------------------------------------------ REST

    async def _spot_info(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        return _ok({"timezone": "UTC", "serverTime": self.now_ms(), "rateLimits": [],
                    "exchangeFilters": [], "symbols": []})  # fmt: skip

    async def _fapi(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.draw("info" if request.method == "GET" else "exchange")
        refused = self.refusal(fault)
        if refused is not None:
            return refused
        await self.hold(fault)
        name = request.match_info["name"]
        query = request.query_string
        body = (await request.read()).decode("utf-8", "replace")
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        now = self.now_ms()
        try:
            try:
                answer = self._route(request, name, query, body, params, now)
            except (ValueError, TypeError):  # an id or number that does not parse
                raise ApiError(-1100, "Illegal characters found in a parameter.") from None
        except ApiError as e:
            self._schedule([])
            return await self.answer(request, fault, _error(e))
        self._broadcast(answer.pushes)
        self._schedule(answer.later)
        return await self.answer(request, fault, _ok(answer.body))

    def _route(
        self, request: web.Request, name: str, query: str, body: str, params: dict[str, str],
        now: int,
    ) -> Answer:  # fmt: skip
        method = request.method
        if name in _PUBLIC and method == "GET":
            return Answer(self._public(name, params, now))
        if name == "listenKey":
            return self._listen_key(request, method, query, body, params, now)
        handler = self._handlers().get((method, name))
        if handler is None:
            raise ApiError(-1000, f"Unknown endpoint {method} {request.path}.", 404)
        if name == "leverageBracket" and "signature" not in params:
            return handler(self._any_account(), params, now)
        acct = self._authenticate(request, query, body, params, now)
        return handler(acct, params, now)

    def _handlers(self) -> dict[tuple[str, str], _Handler]:
        t = self.trading
        return {
            ("POST", "order"): t.place,
            ("DELETE", "order"): t.cancel,
            ("PUT", "order"): t.modify,
            ("GET", "order"): self.reads.query_order,
            ("POST", "batchOrders"): t.batch_place,
            ("DELETE", "batchOrders"): t.batch_cancel,
            ("DELETE", "allOpenOrders"): t.cancel_all,
            ("GET", "openOrders"): self.reads.open_orders,
            ("GET", "openOrder"): self.reads.open_order,
            ("GET", "allOrders"): self.reads.all_orders,
            ("GET", "userTrades"): self.reads.user_trades,
            ("GET", "positionRisk"): self.reads.position_risk,
            ("GET", "balance"): self.reads.balance,
            ("GET", "account"): self.reads.account,
            ("POST", "leverage"): t.set_leverage,
            ("GET", "income"): self.reads.income,
            ("POST", "countdownCancelAll"): t.countdown,
            ("POST", "noop"): lambda _a, _p, _n: Answer({"code": 200, "msg": "success"}),
            ("GET", "leverageBracket"): self.reads.leverage_bracket,
            ("GET", "commissionRate"): self.reads.commission,
            ("GET", "positionSide/dual"): lambda _a, _p, _n: Answer({"dualSidePosition": False}),
            ("GET", "multiAssetsMargin"): lambda _a, _p, _n: Answer({"multiAssetsMargin": False}),
        }

    def _any_account(self) -> AccountState:
        if self.state.accounts:
            return next(iter(self.state.accounts.values()))
        return self.state.add_account("0x" + "0" * 40)

    # ------------------------------------------------------------------ auth

    def _authenticate(
        self, request: web.Request, query: str, body: str, params: dict[str, str], now: int
    ) -> AccountState:
        api_key = request.headers.get("X-MBX-APIKEY")
        if api_key is not None:
            return self._v1(api_key, query, body, params, now)
        if "signer" in params or "user" in params or "nonce" in params:
            return self._v3(query, body, params, now)
        raise ApiError(-2014, "API-key format invalid.", 401)

    def _v1(
        self, api_key: str, query: str, body: str, params: dict[str, str], now: int
    ) -> AccountState:
        entry = self.api_keys.get(api_key)
        if entry is None:
            raise BAD_KEY
        secret, user = entry
        payload, signature = v1_payload(query, body)
        if signature is None:
            raise missing("signature")
        if not _hmac_equal(hmac_signature(secret, payload), signature):
            raise BAD_SIGNATURE
        try:
            ts = int(params.get("timestamp", ""))
            window = int(params.get("recvWindow", "5000"))
        except ValueError:
            raise missing("timestamp") from None
        if not 0 < window <= 60_000:
            raise ApiError(-1131, "recvWindow must be less than 60000")
        if ts >= now + 1000 or now - ts > window:
            raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")
        self.verified["v1"] += 1
        return self.state.accounts[user]

    def _v3(self, query: str, body: str, params: dict[str, str], now: int) -> AccountState:
        raw = body if "signature=" in body else query
        message, signature = split_signature(raw)
        user, signer, nonce_text = params.get("user"), params.get("signer"), params.get("nonce")
        if not user or not signer or not nonce_text:
            raise missing("user" if not user else "signer" if not signer else "nonce")
        if signature is None:
            raise missing("signature")
        if self.require_sorted and not params_sorted(message):
            raise ApiError(
                -1022, "Signature for this request is not valid (parameters not sorted)."
            )
        if recover_v3(message, signature) != signer.lower():
            raise BAD_SIGNATURE
        user, signer = user.lower(), signer.lower()
        if user not in self.state.accounts:
            if not self.open_accounts:
                raise BAD_KEY
            self.state.add_account(user)
        if signer != user and self.signers.get(signer) != user:
            if not self.open_accounts:
                raise BAD_KEY
            self.signers[signer] = user
        try:
            nonce = int(nonce_text)
        except ValueError:
            raise missing("nonce") from None
        refusal = self.nonces.use(user, nonce, now * 1000)
        if refusal is not None:
            raise refusal
        self.verified["v3"] += 1
        return self.state.accounts[user]

    def _listen_key(
        self, request: web.Request, method: str, query: str, body: str, params: dict[str, str],
        now: int,
    ) -> Answer:  # fmt: skip
        api_key = request.headers.get("X-MBX-APIKEY")
        if api_key is not None and "signature" not in params:
            entry = self.api_keys.get(api_key)
            if entry is None:
                raise BAD_KEY
            acct = self.state.accounts[entry[1]]
        else:
            acct = self._authenticate(request, query, body, params, now)
        mine = [k for k, (u, _t) in self.listen_keys.items() if u == acct.user]
        if method == "POST":
            key = mine[0] if mine else secrets.token_urlsafe(48)[:64]
            self.listen_keys[key] = (acct.user, now + self.listen_key_ttl_ms)
            return Answer({"listenKey": key})
        if not mine:
            raise ApiError(-1125, "This listenKey does not exist.")
        if method == "PUT":
            self.listen_keys[mine[0]] = (acct.user, now + self.listen_key_ttl_ms)
            return Answer({"listenKey": mine[0]})
        if method == "DELETE":
            del self.listen_keys[mine[0]]
            return Answer({})
        raise ApiError(-1000, f"Unknown endpoint {method} {request.path}.", 404)

    def _expire(self, key: str, now: int) -> None:
        user, _t = self.listen_keys.pop(key)
        event = {"e": "listenKeyExpired", "E": now, "listenKey": key}
        for conn in self.connections:
            if conn.subs.get(("user", user)) == key:
                self._send(conn, key, event)

    # ------------------------------------------------------------------ reads

    def _public(self, name: str, params: dict[str, str], now: int) -> Any:
        if name == "depth":
            m = self.trading.market(params)
            limit = int(params.get("limit") or 500)
            if limit not in (5, 10, 20, 50, 100, 500, 1000):
                raise ApiError(-1130, "Data sent for parameter 'limit' is not valid.")
            self._flush_depth(m.symbol, now)
            seq = self._depth[m.symbol]
            seq.forced = True  # the next diff starts at this id, even if nothing changed
            bids, asks = self.state.levels(m.symbol, limit)
            return {
                "lastUpdateId": seq.last_u + 1,
                "E": now,
                "T": now,
                "bids": [[num(p, m.price_decimals), num(q, m.qty_decimals)] for p, q in bids],
                "asks": [[num(p, m.price_decimals), num(q, m.qty_decimals)] for p, q in asks],
            }
        return self.reads.public(name, params, now)

    def _schedule(self, later: list[Later[Push]]) -> None:
        for one in [*later, *self.trading.deferred]:
            self.spawn(self._run_later(one))
        self.trading.deferred.clear()

    async def _run_later(self, later: Later[Push]) -> None:
        await asyncio.sleep(later.delay_s)
        self._broadcast(later.run(self.now_ms()))

    # ------------------------------------------------------------------ WebSocket

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        names: list[str] = []
        combined = request.path == "/stream"
        if combined:
            names = [n for n in request.query.get("streams", "").split("/") if n]
        elif request.match_info.get("name"):
            names = [request.match_info["name"]]

        def on_open(conn: WsConnection) -> None:
            conn.memo["combined"] = combined
            for n in names:
                self._subscribe(conn, n)

        return await self.serve_ws(
            request, on_open, self._on_message, heartbeat=self.ping_interval_s
        )

    def _subscribe(self, conn: WsConnection, name: str) -> bool:
        if name in self.listen_keys:
            conn.subs[("user", self.listen_keys[name][0])] = name
            return True
        symbol, _, kind = name.partition("@")
        if symbol.upper() not in self.state.markets or not kind:
            return False
        conn.subs[("stream", name)] = name
        return True

    def _on_message(self, conn: WsConnection, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send({"code": 3, "msg": "Invalid JSON"})
            return
        if not isinstance(msg, dict):
            conn.send({"code": 3, "msg": "Invalid request"})
            return
        method, req_id, params = msg.get("method"), msg.get("id"), msg.get("params", [])
        if method == "SUBSCRIBE" and isinstance(params, list):
            for name in params:
                if not isinstance(name, str) or not self._subscribe(conn, name):
                    conn.send(
                        {"code": 2, "msg": f"Invalid request: unknown stream {name}", "id": req_id}
                    )
                    return
            conn.send({"result": None, "id": req_id})
        elif method == "UNSUBSCRIBE" and isinstance(params, list):
            for name in params:
                for key, value in list(conn.subs.items()):
                    if value == name:
                        del conn.subs[key]
            conn.send({"result": None, "id": req_id})
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send({"result": sorted({str(v) for v in conn.subs.values()}), "id": req_id})
        else:
            conn.send({"code": 2, "msg": f"Invalid request: unknown method {method}", "id": req_id})

    def _send(self, conn: WsConnection, stream: str, data: dict[str, Any]) -> None:
        conn.send({"stream": stream, "data": data} if conn.memo.get("combined") else data)

    def _broadcast(self, pushes: Iterable[Push]) -> None:
        for push in pushes:
            for conn in self.connections:
                key = conn.subs.get(("user", push.user))
                if key is not None:
                    self._send(conn, key, push.data)

    def _publish(self, symbol: str, suffixes: Sequence[str], data: dict[str, Any]) -> None:
        names = {symbol.lower() + s for s in suffixes}
        for conn in self.connections:
            for name in names:
                if ("stream", name) in conn.subs:
                    self._send(conn, name, data)

    # ------------------------------------------------------------------ the ticker

    def _flush_depth(self, symbol: str, now: int) -> None:
        seq = self._depth[symbol]
        m = self.state.markets[symbol]
        bids, asks = self.state.levels(symbol)
        book = ({p: q for p, q in bids}, {p: q for p, q in asks})
        changes: list[list[list[str]]] = [[], []]
        for side in (0, 1):
            old, new = seq.book[side], book[side]
            for p in sorted(set(old) | set(new), reverse=side == 0):
                if old.get(p) != new.get(p):
                    q = new.get(p, Decimal(0))
                    changes[side].append([num(p, m.price_decimals), num(q, m.qty_decimals)])
        seq.book = book
        if not changes[0] and not changes[1] and not seq.forced:
            return
        if seq.gap:
            seq.last_u += 1  # the diff the clients never get
            seq.gap = False
        first = seq.last_u + 1
        last = seq.last_u + max(1, len(changes[0]) + len(changes[1]))
        event = {"e": "depthUpdate", "E": now, "T": now, "s": symbol, "U": first, "u": last,
                 "pu": seq.last_u, "b": changes[0], "a": changes[1]}  # fmt: skip
        seq.last_u = last
        seq.forced = False
        self._publish(symbol, _DEPTH_SUFFIXES, event)
        top = (bids[0] if bids else None, asks[0] if asks else None)
        if top != seq.top:
            seq.top = top
            t = self.reads.book_ticker(symbol, now)
            self._publish(
                symbol,
                ("@bookTicker",),
                {"e": "bookTicker", "u": last, "s": symbol, "b": t["bidPrice"], "B": t["bidQty"],
                 "a": t["askPrice"], "A": t["askQty"], "T": now, "E": now},
            )  # fmt: skip

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.depth_interval_s)
            now = self.now_ms()
            self._broadcast(self.trading.fire_countdowns(now))
            for key, (_user, expiry) in list(self.listen_keys.items()):
                if expiry <= now:
                    self._expire(key, now)
            if self._funding:
                for s, at in self._next_funding.items():
                    if now >= at:
                        interval = self.state.markets[s].funding_interval_h * 3_600_000
                        self._next_funding[s] = (now // interval + 1) * interval
                        self._broadcast(self.state.settle_funding(now, [s]))
            for s in self.state.markets:
                self._flush_depth(s, now)
                self._partial_depth(s, now)
            if now - self._last_mark_ms >= 1000:
                self._last_mark_ms = now
                for s in self.state.markets:
                    p = self.reads.premium(s, now)
                    self._publish(
                        s,
                        ("@markPrice", "@markPrice@1s"),
                        {"e": "markPriceUpdate", "E": now, "s": s, "p": p["markPrice"],
                         "i": p["indexPrice"], "P": p["estimatedSettlePrice"],
                         "r": p["lastFundingRate"], "T": p["nextFundingTime"]},
                    )  # fmt: skip

    def _partial_depth(self, symbol: str, now: int) -> None:
        """The partial book depth streams (``<symbol>@depth<N>``, what ccxt.pro's ``aster``
        subscribes to): the top N levels of each side, a whole snapshot at every tick, with the
        diff stream's last ``u``."""
        wanted = [
            (n, name)
            for n in _PARTIAL_DEPTHS
            for name in (
                f"{symbol.lower()}@depth{n}",
                f"{symbol.lower()}@depth{n}@100ms",
                f"{symbol.lower()}@depth{n}@500ms",
            )  # fmt: skip
            if any(("stream", name) in conn.subs for conn in self.connections)
        ]
        if not wanted:
            return
        m = self.state.markets[symbol]
        bids, asks = self.state.levels(symbol)
        last = self._depth[symbol].last_u
        for n, name in wanted:
            event = {"e": "depthUpdate", "E": now, "T": now, "s": symbol, "U": last, "u": last,
                     "pu": last, "b": [[num(p, m.price_decimals), num(q, m.qty_decimals)]
                                       for p, q in bids[:n]],
                     "a": [[num(p, m.price_decimals), num(q, m.qty_decimals)]
                           for p, q in asks[:n]]}  # fmt: skip
            for conn in self.connections:
                if ("stream", name) in conn.subs:
                    self._send(conn, name, event)


class _DepthSeq:
    """One symbol's depth-diff sequence: the book last sent, its ``u``, and the switches."""

    def __init__(self) -> None:
        self.book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] = ({}, {})
        self.last_u = 1_000_000
        self.forced = False
        self.gap = False
        self.top: tuple[Any, Any] = (None, None)


def _ok(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _error(e: ApiError) -> web.Response:
    return web.Response(
        body=orjson.dumps(e.body()), status=e.status, content_type="application/json"
    )


def _hmac_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.lower().encode())


def _address(address: str) -> str:
    address = address.lower()
    if len(address) != 42 or not address.startswith("0x"):
        raise ValueError(f"an address is 0x and 40 hex digits, got {address!r}")
    int(address[2:], 16)
    return address
