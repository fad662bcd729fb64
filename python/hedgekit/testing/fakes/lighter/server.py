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
import logging
import random
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from hedgekit.clock import Clock
from hedgekit.testing.fakes.engines import Later
from hedgekit.testing.fakes.faults import Fault, FaultKind, WireFaults
from hedgekit.testing.fakes.lighter import wire
from hedgekit.testing.fakes.lighter.market import DEFAULT_MARKETS, LighterMarket
from hedgekit.testing.fakes.lighter.reads import Reads
from hedgekit.testing.fakes.lighter.state import LighterAccount, LighterState
from hedgekit.testing.fakes.lighter.stream import BookSeq, account_snapshot, account_update
from hedgekit.testing.fakes.lighter.txs import Transactions, Tx
from hedgekit.testing.fakes.lighter.wire import OrderRecord, Push, TxError
from hedgekit.testing.fakes.server import EngineServer, WsConnection

__all__ = ["DEFAULT_AUTH_CHANNELS", "FakeLighter"]

_log = logging.getLogger(__name__)

DEFAULT_AUTH_CHANNELS = frozenset(
    {"account_all_orders", "account_orders", "account_all_trades", "account_all_positions",
     "account_tx"}
)  # fmt: skip
"""Account channels that need the ``auth`` token (``account_all`` does not: the SDK's
``WsClient`` subscribes to it without one)."""
_ACCOUNT_CHANNELS = DEFAULT_AUTH_CHANNELS | {"account_all"}
_QUOTA_MESSAGE = '{"ratelimit": "didn\'t use volume quota"}'
_MAX_BATCH = 50


class FakeLighter(EngineServer[LighterState, Push]):
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
        self._books = {m.market_id: BookSeq(self._rng) for m in markets}
        self._queue: asyncio.Queue[Tx] = asyncio.Queue()
        self.reads = Reads(self.state, self.trading)

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
        await self.hold(fault)
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
                body = self.reads.read(request, name, now)
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

    # ------------------------------------------------------------------ the sequencer

    async def _sequencer(self) -> None:
        while True:
            tx = await self._queue.get()
            due = tx.queued_ms + self.sequencer_delay_s * 1000
            wait = (due - self.now_ms()) / 1000
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                pushes, later = self.trading.execute(tx, self.now_ms())
            except Exception:  # a bug in the fake must not stop every later transaction
                _log.exception("fake lighter: transaction %s could not be applied", tx.hash)
                tx.status, tx.error, tx.executed_ms = 0, (wire.BAD_TX, "internal"), self.now_ms()
                continue
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
            if self.faults.ws_silent:  # a silent socket neither pings nor gives up
                conn.memo["awaiting_pong"] = False
                continue
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
        if name == "account_orders" and account_ok and ids[0] not in self.state.markets:
            account_ok = False
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
        conn.send(account_snapshot(self.state, name, acct, market, now))

    def _ws_send_tx(self, conn: WsConnection, msg: dict[str, Any], kind: str) -> None:
        fault = self.faults.draw("ws_post")
        self.requests += 1
        if not self.stalled(fault, lambda: self._ws_send_tx_now(conn, msg, kind, fault)):
            self._ws_send_tx_now(conn, msg, kind, fault)

    def _ws_send_tx_now(
        self, conn: WsConnection, msg: dict[str, Any], kind: str, fault: Fault | None
    ) -> None:
        req_id = msg.get("id")
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
                        message = account_update(name, p, market, now)
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
            self._broadcast(self.trading.expire_orders(now))
            if self._funding and now >= self._next_funding_ms:
                self._next_funding_ms = (now // 3_600_000 + 1) * 3_600_000
                self._broadcast(self.state.settle_funding(now))
            for m in self.state.markets.values():
                self._flush_book(m, now)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
