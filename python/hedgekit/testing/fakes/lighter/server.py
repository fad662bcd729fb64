"""The fake Lighter server: one aiohttp app on one 127.0.0.1 port (REST under ``/api/v1/``, the
WebSocket at ``/stream``) and the Python handle a test drives it with.

Everything runs on the event loop the fake was started on: the handlers, the WebSocket writers
and pingers, the sequencer (which applies accepted transactions in arrival order
``sequencer_delay_s`` after the API accepted them), a ticker (book updates every
``book_interval_s``, funding on the hour, scheduled cancel-alls) and the venue's delayed
actions; all are owned by the fake and cancelled by :meth:`FakeLighter.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from hedgekit.clock import Clock
from hedgekit.model import Side
from hedgekit.testing.fakes.engines import Later
from hedgekit.testing.fakes.faults import Fault, FaultKind, WireFaults
from hedgekit.testing.fakes.lighter import wire
from hedgekit.testing.fakes.lighter.market import DEFAULT_MARKETS, LighterMarket
from hedgekit.testing.fakes.lighter.state import LighterAccount, LighterState
from hedgekit.testing.fakes.lighter.txs import Transactions, Tx
from hedgekit.testing.fakes.lighter.wire import OrderRecord, Push, TxError
from hedgekit.testing.fakes.server import FakeServer, WsConnection

__all__ = ["DEFAULT_AUTH_CHANNELS", "FakeLighter"]

DEFAULT_AUTH_CHANNELS = frozenset(
    {"account_all_orders", "account_orders", "account_all_trades", "account_all_positions",
     "account_tx"}
)  # fmt: skip
"""Account channels that need the ``auth`` token (``account_all`` does not: the SDK's
``WsClient`` subscribes to it without one)."""
_ACCOUNT_CHANNELS = DEFAULT_AUTH_CHANNELS | {"account_all"}
_QUOTA_MESSAGE = '{"ratelimit": "didn\'t use volume quota"}'
_MAX_BATCH = 50


class FakeLighter(FakeServer):
    """A wire-level fake of Lighter (zkLighter perps) that ``lighter-sdk`` accepts.

    Use it as an async context manager on the test's loop::

        async with FakeLighter(api_keys=[(7, 3, public_key)], seed=1) as fake:
            client = lighter.SignerClient(url=fake.url, account_index=7,
                                          api_private_keys={3: private_key})
            fake.move_price("ETH", Decimal(3010))
            fake.trade_against("ETH", Side.SELL, Decimal(2))
            fake.advance_nonce(7, 3)  # another client used the key
            fake.faults.drop_ws()

    See ``docs/fakes.md`` for what it serves, its rules and codes, and the faults.

    Args:
        api_keys: ``(account_index, api_key_index, public_key)`` to register (opening the
            accounts); the public key as ``create_api_key()`` gives it (``0x`` optional).
        accounts: More account indices to open (without keys: readable, not tradable).
        balance: Every account's starting USDC collateral.
        markets: The perps; default ETH (0), BTC (1), SOL (2).
        seed: Seeds the faults' draws, the engines and the book nonces.
        faults: The faults (default: a fresh :class:`WireFaults` with ``seed``).
        port: The port on 127.0.0.1 (0: any free one).
        sequencer_delay_s: Seconds between the API's acceptance of a transaction and its
            execution (the venue: 200 ms maker / 300 ms taker on a standard account).
        book_interval_s: Seconds between order-book updates (the venue: about 50 ms).
        ping_interval_s: Seconds between the server's ``{"type":"ping"}``; a client that has
            not answered ``{"type":"pong"}`` by the next ping is closed 1008 ``no pong``.
            ``None``: no pings.
        auth_channels: Account channels that need the ``auth`` token.
        cancel_unknown_sync: Refuse a cancel of an order that is not active at the API (21715)
            instead of in the sequencer (21600). UNCONFIRMED which the venue does.
        modify_remaining: A modify's ``BaseAmount`` is the new remaining size (``False``: the
            new total). UNCONFIRMED.
        funding: Settle funding on the hour while running.
        clock: Where the venue's time comes from (default: the loop's wall clock).
    """

    def __init__(
        self,
        api_keys: Iterable[tuple[int, int, str]] = (),
        *,
        accounts: Iterable[int] = (),
        balance: Decimal = Decimal(100_000),
        markets: Sequence[LighterMarket] = DEFAULT_MARKETS,
        seed: int = 0,
        faults: WireFaults | None = None,
        port: int = 0,
        sequencer_delay_s: float = 0.05,
        book_interval_s: float = 0.05,
        ping_interval_s: float | None = 60.0,
        auth_channels: Iterable[str] = DEFAULT_AUTH_CHANNELS,
        cancel_unknown_sync: bool = False,
        modify_remaining: bool = True,
        funding: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if book_interval_s <= 0 or sequencer_delay_s < 0:
            raise ValueError("book_interval_s must be positive, sequencer_delay_s not negative")
        super().__init__(faults=faults, seed=seed, port=port, clock=clock)
        self.state = LighterState(markets, balance, seed)
        self.trading = Transactions(
            self.state,
            self.faults,
            cancel_unknown_sync=cancel_unknown_sync,
            modify_remaining=modify_remaining,
        )
        for index in accounts:
            self.state.add_account(index)
        for index, key_index, public_key in api_keys:
            self.state.add_api_key(index, key_index, public_key)
        self.sequencer_delay_s = sequencer_delay_s
        self.book_interval_s = book_interval_s
        self.ping_interval_s = ping_interval_s
        self.auth_channels = frozenset(auth_channels)
        self._funding = funding
        self._next_funding_ms = 0
        self._rng = random.Random(seed)
        self._books = {m.market_id: _BookSeq(self._rng) for m in markets}
        self._queue: asyncio.Queue[Tx] = asyncio.Queue()

    # ------------------------------------------------------------------ serving

    def routes(self, app: web.Application) -> None:
        """REST under ``/api/v1/`` and the WebSocket at ``/stream``."""
        app.router.add_route("*", "/api/v1/{name}", self._api)
        app.router.add_get("/stream", self._ws)

    async def on_started(self) -> None:
        """Starts the sequencer and the ticker."""
        now = self.now_ms()
        self._next_funding_ms = (now // 3_600_000 + 1) * 3_600_000
        for m in self.state.markets.values():
            self._flush_book(m, now)
        self.spawn(self._sequencer())
        self.spawn(self._ticker())

    @property
    def ws_url(self) -> str:
        """The WebSocket URL, ``ws://127.0.0.1:P/stream`` (``WsClient(ws_url=…)``)."""
        return f"ws://127.0.0.1:{self.port}/stream"

    def rate_limited(self) -> web.Response:
        """HTTP 429 with ``23000 Too Many Requests!``."""
        return _json({"code": wire.RATE_LIMITED, "message": "Too Many Requests!"}, 429)

    # ------------------------------------------------------------------ driving the venue

    def add_account(self, index: int, balance: Decimal | None = None) -> LighterAccount:
        """Opens account ``index`` (with ``balance`` USDC, default the venue's)."""
        return self.state.add_account(index, balance)

    def add_api_key(self, index: int, key_index: int, public_key: str, nonce: int = 0) -> None:
        """Registers ``public_key`` as API key ``key_index`` of account ``index`` (opening the
        account), its next nonce ``nonce``."""
        self.state.add_api_key(index, key_index, public_key, nonce)

    def advance_nonce(self, index: int, key_index: int, by: int = 1) -> int:
        """A fault: another client used the key ``by`` times (its next nonce moves on without
        this client knowing). Returns the new next nonce."""
        key = self.state.accounts[index].api_keys[key_index]
        key.nonce += by
        return key.nonce

    def next_nonce(self, index: int, key_index: int) -> int:
        """The key's next nonce."""
        return self.state.accounts[index].api_keys[key_index].nonce

    def move_price(self, symbol: str, mid: Decimal) -> None:
        """Moves ``symbol``'s outside market to ``mid``: resting orders it trades through
        fill, positions are marked."""
        self._broadcast(self.state.move_price(symbol, mid, self.now_ms()))

    def trade_against(
        self, symbol: str, aggressor: Side, size: Decimal, price: Decimal | None = None
    ) -> None:
        """An outside taker (``aggressor`` side) of ``size`` sweeps ``symbol``'s book up to
        ``price``, filling resting orders from the front of their queues."""
        self._broadcast(self.state.trade_against(symbol, aggressor, size, price, self.now_ms()))

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        """Sets ``symbol``'s hourly funding rate (fraction; positive: longs pay)."""
        self.state.set_funding_rate(symbol, rate)

    def settle_funding(self, symbol: str | None = None) -> None:
        """Pays one hour of funding now on ``symbol`` (default: every market)."""
        ids = None if symbol is None else [self.state.by_symbol[symbol].market_id]
        self._broadcast(self.state.settle_funding(self.now_ms(), ids))

    def cancel_next_orders(self, count: int = 1, status: str = "canceled-post-only") -> None:
        """A fault: the next ``count`` orders that would rest are accepted, then cancelled by
        the sequencer at once with ``status`` (``canceled-post-only``,
        ``canceled-too-much-slippage``, …): the ``sendTx`` answer is 200 either way.

        Raises:
            ValueError: A negative count or a status that is not a cancellation.
        """
        if count < 0 or not status.startswith("canceled"):
            raise ValueError(f"count >= 0 and a canceled-* status, got {count}, {status!r}")
        self.trading.cancel_next.extend([status] * count)

    def break_book_chain(self, market_id: int) -> None:
        """A fault: the next book update of ``market_id`` follows one the clients never get
        (its ``begin_nonce`` is not the ``nonce`` they last saw)."""
        self._books[market_id].gap = True

    def account(self, index: int) -> LighterAccount:
        """The venue's record of account ``index``.

        Raises:
            KeyError: No such account.
        """
        return self.state.accounts[index]

    def position(self, index: int, symbol: str) -> Decimal:
        """Account ``index``'s signed position in ``symbol`` (0 for an unknown account)."""
        acct = self.state.accounts.get(index)
        return Decimal(0) if acct is None else acct.engine.position(symbol)

    def open_orders(self, index: int) -> list[OrderRecord]:
        """Account ``index``'s open orders, oldest first."""
        acct = self.state.accounts.get(index)
        return [] if acct is None else acct.open_orders()

    def fills(self, index: int) -> list[dict[str, Any]]:
        """Account ``index``'s trades as the trade rows write them, oldest first."""
        acct = self.state.accounts.get(index)
        return [] if acct is None else [dict(t) for t in acct.trades]

    def tx(self, tx_hash: str) -> Tx | None:
        """The transaction with ``tx_hash`` (``None``: never accepted)."""
        return self.trading.txs.get(tx_hash)

    def book_nonce(self, market_id: int) -> int:
        """The ``nonce`` of ``market_id``'s last book message."""
        return self._books[market_id].nonce

    async def settle(self, timeout: float = 5.0) -> None:
        """Waits (at most ``timeout`` s) until the sequencer has applied every accepted
        transaction."""
        async with asyncio.timeout(timeout):
            while any(t.status == 1 for t in self.trading.txs.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ REST

    async def _api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        writes = name in ("sendTx", "sendTxBatch")
        fault = self.faults.draw("exchange" if writes else "info")
        refused = self.refusal(fault)
        if refused is not None:
            return refused
        now = self.now_ms()
        try:
            if writes:
                if request.method != "POST":
                    raise TxError(20001, f"{request.method} is not allowed", 405)
                form = await request.post()
                fields = {k: str(v) for k, v in form.items()}
                body = (
                    self._send_tx(fields, now)
                    if name == "sendTx"
                    else self._send_batch(fields, now)
                )
            else:
                body = self._read(request, name, now)
        except TxError as e:
            return await self.answer(request, fault, _json(e.body(), e.status))
        return await self.answer(request, fault, _json(body))

    def _send_tx(self, fields: dict[str, str], now: int) -> dict[str, Any]:
        if "tx_type" not in fields or "tx_info" not in fields:
            raise TxError(wire.BAD_TX, "tx_type and tx_info are required")
        if fields.get("price_protection", "true").lower() not in ("true", "false", "1", "0"):
            raise TxError(wire.BAD_TX, "price_protection is not a bool")
        accepted = self.trading.accept(fields["tx_type"], fields["tx_info"], now)
        self._enqueue(accepted.tx, accepted.later)
        return self._receipt(accepted.tx.hash, now)

    def _send_batch(self, fields: dict[str, str], now: int) -> dict[str, Any]:
        try:
            types = orjson.loads(fields.get("tx_types", ""))
            infos = orjson.loads(fields.get("tx_infos", ""))
        except orjson.JSONDecodeError:
            raise TxError(wire.BAD_TX, "tx_types and tx_infos are JSON arrays") from None
        if not isinstance(types, list) or not isinstance(infos, list) or len(types) != len(infos):
            raise TxError(wire.BAD_TX, "tx_types and tx_infos are JSON arrays of one length")
        if not 1 <= len(types) <= _MAX_BATCH:
            raise TxError(wire.BAD_TX, f"a batch holds 1 to {_MAX_BATCH} transactions")
        return self._batch(types, infos, now)

    def _batch(self, types: list[Any], infos: list[Any], now: int) -> dict[str, Any]:
        cursor: dict[tuple[int, int], int] = {}
        for t, i in zip(types, infos, strict=True):  # all or nothing
            self.trading.accept(t, i, now, nonces=cursor)
        hashes = []
        for t, i in zip(types, infos, strict=True):
            accepted = self.trading.accept(t, i, now)
            self._enqueue(accepted.tx, accepted.later)
            hashes.append(accepted.tx.hash)
        return {**self._receipt("", now), "tx_hash": hashes}

    def _receipt(self, tx_hash: str, now: int) -> dict[str, Any]:
        return {
            "code": 200,
            "message": _QUOTA_MESSAGE,
            "tx_hash": tx_hash,
            "predicted_execution_time_ms": now + round(self.sequencer_delay_s * 1000),
            "volume_quota_remaining": None,
        }

    def _enqueue(self, tx: Tx, later: list[Later[Push]]) -> None:
        self._queue.put_nowait(tx)
        for one in later:
            self.spawn(self._run_later(one))

    def _read(self, request: web.Request, name: str, now: int) -> dict[str, Any]:
        q = request.query
        st = self.state
        if name == "nextNonce":
            acct = self._account(q, "account_index")
            key = acct.api_keys.get(_int(q, "api_key_index"))
            if key is None:
                raise TxError(wire.INVALID_PUBKEY, "invalid PublicKey, please run changePubKey")
            return {"code": 200, "nonce": key.nonce}
        if name == "apikeys":
            acct = self._account(q, "account_index")
            only = q.get("api_key_index")
            keys = [
                {"account_index": acct.index, "api_key_index": i, "nonce": k.nonce,
                 "public_key": k.public_key, "transaction_time": now * 1000}
                for i, k in sorted(acct.api_keys.items())
                if only in (None, "255") or str(i) == only
            ]  # fmt: skip
            return {"code": 200, "api_keys": keys}
        if name == "orderBooks":
            return {"code": 200, "order_books": [m.book_entry() for m in self._markets(q)]}
        if name == "orderBookDetails":
            details = [self._detail(m) for m in self._markets(q)]
            return {"code": 200, "order_book_details": details, "spot_order_book_details": []}
        if name == "orderBookOrders":
            return self._book_orders(self._market(q), _int(q, "limit", 100))
        if name in ("account", "accountsByL1Address"):
            if name == "account" and q.get("by", "index") != "index":
                raise TxError(21100, "only by=index is served")
            if name == "account":
                acct = self._account(q, "value")
            else:
                address = q.get("l1_address", "").lower()
                found = [a for a in st.accounts.values() if a.l1_address == address]
                if not found:
                    raise TxError(21100, "account not found", 400)
                acct = found[0]
            return {"code": 200, "total": 1, "accounts": [st.account_wire(acct, now)]}
        if name == "accountActiveOrders":
            acct = self._private(request, q, now)
            ms = self._markets(q)
            orders = [o.wire() for m in ms for o in acct.open_orders(m.market_id)]
            return {"code": 200, "orders": orders}
        if name == "accountInactiveOrders":
            acct = self._private(request, q, now)
            market = q.get("market_id")
            limit = _int(q, "limit", 100)
            done = [o for o in [*acct.orders.values(), *acct.refused] if not o.is_open]
            if market not in (None, "255"):
                done = [o for o in done if str(o.market.market_id) == market]
            done.sort(key=lambda o: (o.updated_ms, o.order_index), reverse=True)
            return {"code": 200, "orders": [o.wire() for o in done[:limit]], "next_cursor": None}
        if name in ("trades", "recentTrades"):
            return self._trades(request, q, name, now)
        if name == "tx":
            if q.get("by", "hash") != "hash":
                raise TxError(21100, "only by=hash is served")
            tx = self.trading.txs.get(q.get("value", ""))
            if tx is None:
                raise TxError(21500, "transaction not found", 400)
            return {"code": 200, **tx.wire()}
        if name == "funding-rates":
            rates = [
                {"market_id": m.market_id, "exchange": "lighter", "symbol": m.symbol,
                 "rate": float(st.funding_rate(m.symbol) * 8)}
                for m in st.markets.values()
            ]  # fmt: skip
            return {"code": 200, "funding_rates": rates}
        if name == "fundings":
            m = self._market(q)
            rows = st.funding_history[m.market_id]
            start, end = _int(q, "start_timestamp", 0), _int(q, "end_timestamp", 1 << 62)
            rows = [r for r in rows if start <= r["timestamp"] <= end]
            back = _int(q, "count_back", len(rows))
            return {"code": 200, "resolution": q.get("resolution", "1h"),
                    "fundings": rows[-back:] if back else []}  # fmt: skip
        if name == "positionFunding":
            acct = self._private(request, q, now)
            rows = acct.fundings
            market = q.get("market_id")
            if market not in (None, "255"):
                rows = [r for r in rows if str(r["market_id"]) == market]
            limit = _int(q, "limit", 100)
            return {"code": 200, "position_fundings": list(reversed(rows))[:limit],
                    "next_cursor": None}  # fmt: skip
        raise TxError(20001, f"{request.method} /api/v1/{name} is not served", 404)

    def _detail(self, m: LighterMarket) -> dict[str, Any]:
        mark = self.state.mark(m.symbol)
        trades = [t for a in self.state.accounts.values() for t in a.trades
                  if t["market_id"] == m.market_id]  # fmt: skip
        last = Decimal(trades[-1]["price"]) if trades else mark
        oi = sum((abs(a.engine.position(m.symbol)) for a in self.state.accounts.values()),
                 Decimal(0))  # fmt: skip
        return m.detail(mark, last, oi)

    def _book_orders(self, m: LighterMarket, limit: int) -> dict[str, Any]:
        bids, asks = self.state.outside.book_levels(m.symbol, 10_000)
        rows: dict[bool, list[tuple[Decimal, int, dict[str, Any]]]] = {True: [], False: []}
        for rec in self.state.resting(m.symbol):
            rows[not rec.is_ask].append((rec.price, rec.order_index, _simple(m, rec)))
        fake_index = 1
        for is_bid, levels in ((True, bids), (False, asks)):
            for px, sz in levels:
                one = {"order_index": fake_index, "order_id": str(fake_index),
                       "owner_account_index": 1, "initial_base_amount": m.sz(sz),
                       "remaining_base_amount": m.sz(sz), "price": m.px(px), "order_expiry": 0,
                       "transaction_time": 0}  # fmt: skip
                rows[is_bid].append((px, fake_index, one))
                fake_index += 1
        out: dict[str, Any] = {}
        for is_bid, name in ((True, "bids"), (False, "asks")):
            ordered = sorted(rows[is_bid], key=lambda r: (-r[0] if is_bid else r[0], r[1]))
            out[name] = [r[2] for r in ordered[:limit]]
            out["total_" + name] = len(out[name])
        return {"code": 200, **out}

    def _trades(self, request: web.Request, q: Any, name: str, now: int) -> dict[str, Any]:
        st = self.state
        market = q.get("market_id")
        limit = _int(q, "limit", 100)
        if "account_index" in q:
            rows = list(self._private(request, q, now).trades)
        else:
            rows = [t for a in st.accounts.values() for t in a.trades]
        if market not in (None, "255"):
            rows = [t for t in rows if str(t["market_id"]) == market]
        rows.sort(key=lambda t: t["trade_id"], reverse=q.get("sort_dir", "desc") != "asc")
        return {"code": 200, "trades": rows[:limit], "next_cursor": None}

    def _markets(self, q: Any) -> list[LighterMarket]:
        if q.get("market_id") in (None, "255"):
            return list(self.state.markets.values())
        return [self._market(q)]

    def _market(self, q: Any) -> LighterMarket:
        m = self.state.markets.get(_int(q, "market_id"))
        if m is None:
            raise TxError(21100, "MarketIndex is not valid")
        return m

    def _account(self, q: Any, name: str) -> LighterAccount:
        acct = self.state.accounts.get(_int(q, name))
        if acct is None:
            raise TxError(21100, "account not found", 400)
        return acct

    def _private(self, request: web.Request, q: Any, now: int) -> LighterAccount:
        token = q.get("auth") or request.headers.get("Authorization")
        index, key_index = wire.check_auth(token, now)
        acct = self._account(q, "account_index")
        if index != acct.index or key_index not in acct.api_keys:
            raise TxError(20013, "invalid auth: the token is for another account or key", 401)
        return acct

    # ------------------------------------------------------------------ the sequencer

    async def _sequencer(self) -> None:
        while True:
            tx = await self._queue.get()
            due = tx.queued_ms + self.sequencer_delay_s * 1000
            wait = (due - self.now_ms()) / 1000
            if wait > 0:
                await asyncio.sleep(wait)
            pushes, later = self.trading.execute(tx, self.now_ms())
            self._broadcast(pushes)
            for one in later:
                self.spawn(self._run_later(one))

    async def _run_later(self, later: Later[Push]) -> None:
        await asyncio.sleep(later.delay_s)
        self._broadcast(later.run(self.now_ms()))

    # ------------------------------------------------------------------ WebSocket

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        def on_open(conn: WsConnection) -> None:
            conn.send({"type": "connected", "session_id": f"fake-{id(conn):x}"})
            if self.ping_interval_s is not None:
                self.spawn(self._pinger(conn, self.ping_interval_s))

        return await self.serve_ws(request, on_open, self._on_message)

    async def _pinger(self, conn: WsConnection, interval: float) -> None:
        while not conn.ws.closed:
            await asyncio.sleep(interval)
            if conn.ws.closed:
                return
            if conn.memo.get("awaiting_pong"):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.close(code=1008, message=b"no pong")
                return
            conn.memo["awaiting_pong"] = True
            conn.send({"type": "ping"})

    def _on_message(self, conn: WsConnection, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send({"error": {"code": 30001, "message": "Invalid message"}})
            return
        if not isinstance(msg, dict):
            conn.send({"error": {"code": 30001, "message": "Invalid message"}})
            return
        kind = msg.get("type")
        if kind == "pong":
            conn.memo["awaiting_pong"] = False
        elif kind == "ping":
            conn.send({"type": "pong"})
        elif kind == "subscribe":
            self._subscribe(conn, msg)
        elif kind == "unsubscribe":
            channel = str(msg.get("channel", ""))
            if conn.subs.pop(("ch", channel), None) is None:
                conn.send({"error": {"code": 30002, "message": f"Not Subscribed to : {channel}"}})
            else:
                conn.send({"type": "unsubscribed", "channel": channel.replace("/", ":")})
        elif kind in ("jsonapi/sendtx", "jsonapi/sendtxbatch"):
            self._ws_send_tx(conn, msg, kind)
        else:
            conn.send({"error": {"code": 30001, "message": f"Invalid type {kind}"}})

    def _subscribe(self, conn: WsConnection, msg: dict[str, Any]) -> None:
        channel = str(msg.get("channel", ""))
        parts = channel.split("/")
        name = parts[0]
        if ("ch", channel) in conn.subs:
            conn.send({"error": {"code": 30003, "message": f"Already Subscribed to : {channel}"}})
            return
        try:
            ids = [int(p) for p in parts[1:]]
        except ValueError:
            ids = []
        now = self.now_ms()
        if name == "order_book" and len(ids) == 1 and ids[0] in self.state.markets:
            m = self.state.markets[ids[0]]
            self._flush_book(m, now)
            conn.subs[("ch", channel)] = ("order_book", m.market_id)
            seq = self._books[m.market_id]
            conn.send(
                {"type": "subscribed/order_book", "channel": f"order_book:{m.market_id}",
                 "timestamp": now, "order_book": seq.message(m, seq.book, seq.begin)}
            )  # fmt: skip
            return
        account_ok = (name == "account_orders" and len(ids) == 2) or (
            name in _ACCOUNT_CHANNELS and name != "account_orders" and len(ids) == 1
        )
        if not account_ok or ids[-1] not in self.state.accounts:
            conn.send({"error": {"code": 30005, "message": f"Invalid Channel : {channel}"}})
            return
        acct = self.state.accounts[ids[-1]]
        if name in self.auth_channels:
            try:
                index, key_index = wire.check_auth(msg.get("auth"), now)
            except TxError as e:
                conn.send({"error": e.body()})
                return
            if index != acct.index or key_index not in acct.api_keys:
                conn.send({"error": {"code": 20013, "message": "invalid auth: wrong account"}})
                return
        market = ids[0] if name == "account_orders" else None
        conn.subs[("ch", channel)] = (name, acct.index, market)
        conn.send(self._account_snapshot(name, acct, market, now))

    def _account_snapshot(
        self, name: str, acct: LighterAccount, market: int | None, now: int
    ) -> dict[str, Any]:
        st = self.state
        channel = _colon(name, acct.index, market)
        head = {"type": f"subscribed/{name}", "channel": channel, "timestamp": now}
        positions = {str(m.market_id): st.position_wire(acct, m) for m in st.markets.values()}
        trades: dict[str, list[dict[str, Any]]] = {}
        for t in acct.trades[-100:]:
            trades.setdefault(str(t["market_id"]), []).append(t)
        orders: dict[str, list[dict[str, Any]]] = {}
        for o in acct.open_orders(market):
            orders.setdefault(str(o.market.market_id), []).append(o.wire())
        if name == "account_all":
            return {**head, "account": acct.index, "positions": positions, "trades": trades,
                    "funding_histories": {}, "shares": []}  # fmt: skip
        if name == "account_all_orders":
            return {**head, "orders": orders}
        if name == "account_orders":
            return {**head, "account": acct.index, "orders": orders, "nonce": 0}
        if name == "account_all_trades":
            return {**head, "trades": trades, "total_volume": 0}
        if name == "account_all_positions":
            return {**head, "positions": positions}
        return {**head, "txs": []}

    def _ws_send_tx(self, conn: WsConnection, msg: dict[str, Any], kind: str) -> None:
        req_id = msg.get("id")
        fault = self.faults.draw("ws_post")
        self.requests += 1
        data = msg.get("data")
        now = self.now_ms()
        if fault is not None and fault.kind in (FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR):
            code = wire.RATE_LIMITED if fault.kind is FaultKind.RATE_LIMIT else fault.status
            text = "Too Many Requests!" if fault.kind is FaultKind.RATE_LIMIT else "internal error"
            conn.send({"type": kind, "id": req_id, "error": {"code": code, "message": text}})
            return
        try:
            if not isinstance(data, dict):
                raise TxError(wire.BAD_TX, "data is required")
            if kind == "jsonapi/sendtx":
                accepted = self.trading.accept(data.get("tx_type"), data.get("tx_info"), now)
                self._enqueue(accepted.tx, accepted.later)
                reply = self._receipt(accepted.tx.hash, now)
            else:
                types, infos = data.get("tx_types"), data.get("tx_infos")
                if isinstance(types, str) and isinstance(infos, str):
                    reply = self._send_batch({"tx_types": types, "tx_infos": infos}, now)
                elif isinstance(types, list) and isinstance(infos, list):
                    reply = self._send_batch(
                        {"tx_types": orjson.dumps(types).decode(),
                         "tx_infos": orjson.dumps(infos).decode()}, now,
                    )  # fmt: skip
                else:
                    raise TxError(wire.BAD_TX, "tx_types and tx_infos are required")
        except TxError as e:
            reply = {"error": e.body()}
        self._ws_answer(conn, fault, {"type": kind, "id": req_id, **reply})

    def _ws_answer(self, conn: WsConnection, fault: Fault | None, reply: dict[str, Any]) -> None:
        if fault is not None and fault.kind is FaultKind.LOST_ANSWER:
            return
        if fault is not None and fault.kind is FaultKind.RESET:
            conn.drop()
            return
        conn.send(reply)

    def _broadcast(self, pushes: Iterable[Push]) -> None:
        pushes = list(pushes)
        if not pushes:
            return
        now = self.now_ms()
        for conn in self.connections:
            for sub in list(conn.subs.values()):
                if sub[0] == "order_book":
                    continue
                name, index, market = sub
                for p in pushes:
                    if p.account == index:
                        message = _account_update(name, p, market, now)
                        if message is not None:
                            conn.send(message)

    # ------------------------------------------------------------------ the book and ticker

    def _flush_book(self, m: LighterMarket, now: int) -> None:
        seq = self._books[m.market_id]
        bids, asks = self.state.levels(m.symbol)
        book = ({p: q for p, q in bids}, {p: q for p, q in asks})
        changes: list[dict[Decimal, Decimal]] = [{}, {}]
        for side in (0, 1):
            old, new = seq.book[side], book[side]
            for p in set(old) | set(new):
                if old.get(p) != new.get(p):
                    changes[side][p] = new.get(p, Decimal(0))
        if not seq.started:
            seq.book = book
            seq.started = True
            return
        if not changes[0] and not changes[1]:
            return
        seq.book = book
        if seq.gap:  # the message the clients never get
            seq.advance()
            seq.gap = False
        begin = seq.advance()
        message = {"type": "update/order_book", "channel": f"order_book:{m.market_id}",
                   "timestamp": now, "order_book": seq.message(m, changes, begin)}  # fmt: skip
        for conn in self.connections:
            if conn.subs.get(("ch", f"order_book/{m.market_id}")) is not None:
                conn.send(message)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.book_interval_s)
            now = self.now_ms()
            self._broadcast(self.trading.fire_cancel_all(now))
            if self._funding and now >= self._next_funding_ms:
                self._next_funding_ms = (now // 3_600_000 + 1) * 3_600_000
                self._broadcast(self.state.settle_funding(now))
            for m in self.state.markets.values():
                self._flush_book(m, now)


class _BookSeq:
    """One market's book messages: the book last sent, the nonce chain and the gap switch."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] = ({}, {})
        self.nonce = 3_100_000_000 + rng.randrange(1_000_000)
        self.begin = self.nonce - rng.randrange(1, 64)
        self.offset = 11_000_000
        self.started = False
        self.gap = False

    def advance(self) -> int:
        """Moves the chain on one message; returns its ``begin_nonce`` (the last ``nonce``)."""
        begin = self.nonce
        self.begin = begin
        self.nonce += self._rng.randrange(1, 8)
        self.offset += 1
        return begin

    def message(
        self,
        m: LighterMarket,
        book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] | list[dict[Decimal, Decimal]],
        begin: int,
    ) -> dict[str, Any]:
        """An ``order_book`` payload of ``book`` (bids, asks) at the current nonce."""
        bids, asks = book[0], book[1]
        return {
            "code": 0,
            "asks": [{"price": m.px(p), "size": m.sz(asks[p])} for p in sorted(asks)],
            "bids": [{"price": m.px(p), "size": m.sz(bids[p])} for p in sorted(bids, reverse=True)],
            "offset": self.offset,
            "nonce": self.nonce,
            "begin_nonce": begin,
        }


def _colon(name: str, account: int, market: int | None) -> str:
    return f"{name}:{account}" if market is None else f"{name}:{market}:{account}"


def _account_update(name: str, p: Push, market: int | None, now: int) -> dict[str, Any] | None:
    head = {"type": f"update/{name}", "channel": _colon(name, p.account, market), "timestamp": now}
    key = str(p.market_id)
    if name == "account_all_orders" and p.orders:
        return {**head, "orders": {key: p.orders}}
    if name == "account_orders" and p.orders and market == p.market_id:
        return {**head, "account": p.account, "orders": {key: p.orders}, "nonce": 0}
    if name == "account_all_trades" and p.trades:
        return {**head, "trades": {key: p.trades}, "total_volume": 0}
    if name == "account_all_positions" and p.position is not None:
        return {**head, "positions": {key: p.position}}
    if name == "account_tx" and p.txs:
        return {**head, "txs": p.txs}
    if name == "account_all" and (p.trades or p.position is not None):
        return {**head, "account": p.account,
                "positions": {} if p.position is None else {key: p.position},
                "trades": {key: p.trades} if p.trades else {}, "funding_histories": {}}  # fmt: skip
    return None


def _simple(m: LighterMarket, rec: OrderRecord) -> dict[str, Any]:
    return {
        "order_index": rec.order_index,
        "order_id": str(rec.order_index),
        "owner_account_index": rec.account,
        "initial_base_amount": m.sz(rec.initial),
        "remaining_base_amount": m.sz(rec.remaining),
        "price": m.px(rec.price),
        "order_expiry": rec.order_expiry,
        "transaction_time": rec.updated_ms * 1000,
    }


def _int(q: Any, name: str, default: int | None = None) -> int:
    value = q.get(name)
    if value is None or value == "":
        if default is None:
            raise TxError(21100, f"{name} is required")
        return default
    try:
        return int(value)
    except ValueError:
        raise TxError(21100, f"{name} is not an integer") from None


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
