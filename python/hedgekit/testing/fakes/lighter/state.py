"""The fake Lighter's truth: accounts (by account index) with their API keys and nonces, each on
its own matching engine (Lighter's personality), the outside market, and what the reads show.

The engines and the outside flow are :class:`~hedgekit.testing.fakes.engines.EngineVenue`'s.
This module books the engines' events as Lighter records them (order objects with the venue's
status names, trade rows, positions, position funding) and returns them as
:class:`~.wire.Push` for the server to send. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hedgekit.model import (
    Fill,
    FundingPayment,
    Liquidity,
    OrderStatus,
    OrderUpdate,
    Side,
    VenueEvent,
)
from hedgekit.testing.fakes.engines import (
    EngineVenue,
    RecordView,
    position_after,
    record_problems,
)
from hedgekit.testing.fakes.lighter.market import LighterMarket, instruments
from hedgekit.testing.fakes.lighter.wire import ORDER_INDEX_BASE, OrderRecord, Push
from hedgekit.venues.sim import MatchingEngine, Personality, lighter

__all__ = ["OUTSIDE_ACCOUNT", "ApiKey", "LighterAccount", "LighterState"]

_MS = 1_000_000
_ZERO = Decimal(0)
OUTSIDE_ACCOUNT = 1
"""The account index trade rows name for the outside market's side of a trade."""
_CANCEL_STATUSES = frozenset(
    {"canceled", "canceled-post-only", "canceled-reduce-only", "canceled-position-not-allowed",
     "canceled-margin-not-allowed", "canceled-too-much-slippage", "canceled-not-enough-liquidity",
     "canceled-self-trade", "canceled-expired", "canceled-oco", "canceled-child",
     "canceled-liquidation", "canceled-invalid-balance"}
)  # fmt: skip


@dataclass(slots=True)
class ApiKey:
    """One registered API key: its public key (hex, no ``0x``) and next nonce."""

    public_key: str
    nonce: int = 0


@dataclass(slots=True)
class LighterAccount:
    """One account (an account index) and its engine."""

    index: int
    engine: MatchingEngine
    l1_address: str
    api_keys: dict[int, ApiKey] = field(default_factory=dict)
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    refused: list[OrderRecord] = field(default_factory=list)
    """Orders the sequencer refused before they reached the book (reduce-only): inactive."""
    trades: list[dict[str, Any]] = field(default_factory=list)
    position: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    realized: dict[str, Decimal] = field(default_factory=dict)
    funding_paid: dict[str, Decimal] = field(default_factory=dict)
    fundings: list[dict[str, Any]] = field(default_factory=list)
    imf: dict[int, int] = field(default_factory=dict)
    cancel_all_ms: int = 0
    """A scheduled cancel-all's time (ms; 0: none)."""

    def open_orders(self, market_id: int | None = None) -> list[OrderRecord]:
        """The account's open orders, oldest first."""
        return [
            o
            for o in sorted(self.orders.values(), key=lambda o: o.order_index)
            if o.is_open and (market_id is None or o.market.market_id == market_id)
        ]

    def find(self, market_id: int, index: int) -> OrderRecord | None:
        """The order an ``Index`` names: an order index (``>= 2^48``) or a client order index
        (the open order with it, else the latest)."""
        if index >= ORDER_INDEX_BASE:
            rec = self.orders.get(index)
            return rec if rec is not None and rec.market.market_id == market_id else None
        found = [
            o
            for o in self.orders.values()
            if o.client_order_index == index and o.market.market_id == market_id
        ]
        if not found:
            return None
        return max(found, key=lambda o: (o.is_open, o.order_index))


class LighterState(EngineVenue[LighterAccount, Push]):
    """Accounts, keys, the outside market and the public book of the fake.

    Args:
        markets: The perps.
        balance: Every account's starting USDC.
        seed: Seeds the engines.
        personality: The engines' behaviour (default :func:`~hedgekit.venues.sim.lighter`).
    """

    def __init__(
        self,
        markets: Sequence[LighterMarket],
        balance: Decimal,
        seed: int = 0,
        personality: Personality | None = None,
    ) -> None:
        super().__init__(
            "lighter",
            personality if personality is not None else lighter(),
            instruments(markets),
            balance,
            seed,
        )
        self.markets = {m.market_id: m for m in markets}
        self.by_symbol = {m.symbol: m for m in markets}
        self.funding_history: dict[int, list[dict[str, Any]]] = {m.market_id: [] for m in markets}
        self._order_indices = itertools.count(ORDER_INDEX_BASE + 1_000_001)
        self._trade_ids = itertools.count(300_000_001)
        self._funding_ids = itertools.count(1)

    # ------------------------------------------------------------------ accounts and keys

    def add_account(
        self, index: int, balance: Decimal | None = None, l1_address: str | None = None
    ) -> LighterAccount:
        """Opens (or returns) account ``index`` with ``balance`` USDC (default the venue's)."""
        acct = self.accounts.get(index)
        if acct is not None:
            return acct
        address = l1_address or "0x" + format(index, "040x")
        acct = LighterAccount(index, self.account_engine(balance), address)
        self.accounts[index] = acct
        return acct

    def add_api_key(self, index: int, key_index: int, public_key: str, nonce: int = 0) -> ApiKey:
        """Registers ``public_key`` (hex, ``0x`` optional) as key ``key_index`` of account
        ``index`` (opening the account), its next nonce ``nonce``.

        Raises:
            ValueError: A key index outside 0..254 or a public key that is not hex.
        """
        if not 0 <= key_index <= 254:
            raise ValueError(f"an API key index is 0..254, got {key_index}")
        hex_key = public_key.lower().removeprefix("0x")
        int(hex_key, 16)
        key = ApiKey(hex_key, nonce)
        self.add_account(index).api_keys[key_index] = key
        return key

    def new_order_index(self) -> int:
        """The next server-assigned order index (``>= 2^48``)."""
        return next(self._order_indices)

    def market_of(self, symbol: str) -> LighterMarket:
        """The market of an engine symbol."""
        return self.by_symbol[symbol]

    # ------------------------------------------------------------------ events

    def absorb(self, acct: LighterAccount, events: Iterable[VenueEvent], now_ms: int) -> list[Push]:
        """Books the engine's events for ``acct`` (order records, trades, funding) and returns
        :class:`Push` per market they touched, in order (a second change of one order in a
        message of its own)."""
        pushes: list[Push] = []
        current: dict[int, Push] = {}

        def push(m: LighterMarket, order_index: int | None = None) -> Push:
            p = current.get(m.market_id)
            if p is None or (
                order_index is not None and any(o["order_index"] == order_index for o in p.orders)
            ):  # a second change of one order goes in a message of its own
                p = current[m.market_id] = Push(acct.index, m.market_id)
                pushes.append(p)
            return p

        for event in events:
            if isinstance(event, Fill):
                m = self.market_of(event.symbol)
                rec = self._record_for_fill(acct, event, now_ms)
                p = push(m)
                p.trades.append(self._trade(acct, rec, event, now_ms))
                p.position = self.position_wire(acct, m)
            elif isinstance(event, OrderUpdate):
                oid = acct.by_key.get(event.venue_order_id)
                found = None if oid is None else acct.orders.get(oid)
                if found is None:
                    continue
                found.status = _status(found, event)
                found.updated_ms = now_ms
                push(found.market, found.order_index).orders.append(found.wire())
            elif isinstance(event, FundingPayment):
                m = self.market_of(event.symbol)
                self._funding(acct, m, event, now_ms)
                push(m).position = self.position_wire(acct, m)
        for p in pushes:  # an order filled by a trade shows its new amounts
            seen = {o["order_index"] for o in p.orders}
            for t in p.trades:
                for oid in (t["ask_id"], t["bid_id"]):
                    traded = acct.orders.get(oid)
                    if traded is not None and oid not in seen:
                        p.orders.append(traded.wire())
                        seen.add(oid)
        return pushes

    def record(
        self, acct: LighterAccount, key: str, m: LighterMarket, client_index: int, is_ask: bool,
        kind: str, tif: str, reduce_only: bool, price: Decimal, size: Decimal, nonce: int,
        expiry: int, now_ms: int, order_index: int | None = None,
    ) -> OrderRecord:  # fmt: skip
        """Books a new order record for the engine's order ``key`` (with ``order_index``, or
        the next one)."""
        rec = OrderRecord(
            self.new_order_index() if order_index is None else order_index, client_index, key, m, acct.index, is_ask, kind, tif,
            reduce_only, price, size, nonce, expiry, now_ms, updated_ms=now_ms,
        )  # fmt: skip
        acct.orders[rec.order_index] = rec
        acct.by_key[key] = rec.order_index
        return rec

    def _record_for_fill(self, acct: LighterAccount, fill: Fill, now_ms: int) -> OrderRecord:
        oid = acct.by_key.get(fill.venue_order_id)
        rec = None if oid is None else acct.orders.get(oid)
        if rec is None:  # the venue's own order (liquidation, deleverage)
            m = self.market_of(fill.symbol)
            rec = self.record(
                acct, fill.venue_order_id, m, 0, fill.side is Side.SELL, "liquidation",
                "immediate-or-cancel", True, fill.price, fill.size, 0, 0, now_ms,
            )  # fmt: skip
            rec.status = "filled"
        return rec

    def _trade(
        self, acct: LighterAccount, rec: OrderRecord, fill: Fill, now_ms: int
    ) -> dict[str, Any]:
        m = rec.market
        rec.filled += fill.size
        rec.filled_quote += fill.size * fill.price
        rec.updated_ms = now_ms
        start, entry = acct.position.get(fill.symbol, (_ZERO, _ZERO))
        end, entry, realised = position_after(start, entry, fill.side, fill.size, fill.price)
        acct.position[fill.symbol] = (end, entry)
        acct.realized[fill.symbol] = acct.realized.get(fill.symbol, _ZERO) + realised
        trade_id = next(self._trade_ids)
        maker = fill.liquidity is Liquidity.MAKER
        ours_ask = fill.side is Side.SELL
        other = next(self._order_indices)
        ask_id, bid_id = (rec.order_index, other) if ours_ask else (other, rec.order_index)
        ask_acct, bid_acct = (
            (acct.index, OUTSIDE_ACCOUNT) if ours_ask else (OUTSIDE_ACCOUNT, acct.index)
        )
        ask_client, bid_client = (
            (rec.client_order_index, 0) if ours_ask else (0, rec.client_order_index)
        )
        fee = round(fill.fee / (fill.size * fill.price) * 1_000_000) if fill.fee else 0
        row = {
            "trade_id": trade_id,
            "trade_id_str": str(trade_id),
            "tx_hash": format(trade_id, "080x"),
            "type": "liquidation" if rec.type == "liquidation" else "trade",
            "market_id": m.market_id,
            "size": m.sz(fill.size),
            "price": m.px(fill.price),
            "usd_amount": format((fill.size * fill.price).normalize(), "f"),
            "ask_id": ask_id,
            "bid_id": bid_id,
            "ask_id_str": str(ask_id),
            "bid_id_str": str(bid_id),
            "ask_client_id": ask_client,
            "bid_client_id": bid_client,
            "ask_client_id_str": str(ask_client),
            "bid_client_id_str": str(bid_client),
            "ask_account_id": ask_acct,
            "bid_account_id": bid_acct,
            "is_maker_ask": ours_ask == maker,
            "block_height": trade_id,
            "timestamp": now_ms,
            "taker_fee": 0 if maker else fee,
            "maker_fee": fee if maker else 0,
            "taker_position_size_before": "0" if maker else m.sz(abs(start)),
            "maker_position_size_before": m.sz(abs(start)) if maker else "0",
            "transaction_time": now_ms * 1000,
        }
        acct.trades.append(row)
        return row

    def _funding(
        self, acct: LighterAccount, m: LighterMarket, p: FundingPayment, now_ms: int
    ) -> None:
        paid = -p.amount
        acct.funding_paid[m.symbol] = acct.funding_paid.get(m.symbol, _ZERO) + paid
        acct.fundings.append(
            {
                "timestamp": now_ms // 1000,
                "market_id": m.market_id,
                "funding_id": next(self._funding_ids),
                "change": format(p.amount.quantize(Decimal("0.000001"), ROUND_HALF_EVEN), "f"),
                "discount": "0",
                "rate": format(p.rate.normalize(), "f"),
                "position_size": m.sz(abs(p.position_size)),
                "position_side": "long" if p.position_size > 0 else "short",
            }
        )

    # ------------------------------------------------------------------ funding

    def settle_funding(self, now_ms: int, market_ids: Iterable[int] | None = None) -> list[Push]:
        """Pays one hour of funding on every position of ``market_ids`` (default all) and
        records the hour in ``fundings``."""
        now_ns = now_ms * _MS
        out: list[Push] = []
        for mid in self.markets if market_ids is None else market_ids:
            m = self.markets[mid]
            rate = self.funding_rate(m.symbol)
            self.funding_history[mid].append(
                {
                    "timestamp": now_ms // 1000,
                    "value": format((abs(rate) * self.mark(m.symbol)).normalize(), "f"),
                    "rate": format((abs(rate) * 100).normalize(), "f"),
                    "direction": "long" if rate >= 0 else "short",
                }
            )
            for acct in self.accounts.values():
                out.extend(self.absorb(acct, acct.engine.settle_funding(now_ns, m.symbol), now_ms))
        return out

    # ------------------------------------------------------------------ reads

    def position_wire(self, acct: LighterAccount, m: LighterMarket) -> dict[str, Any]:
        """The market's entry in ``account.positions`` / ``account_all_positions``."""
        size = acct.engine.position(m.symbol)
        _s, entry = acct.position.get(m.symbol, (_ZERO, _ZERO))
        mark = self.mark(m.symbol)
        liq = acct.engine.risk_account().liquidation_price(m.symbol) if size else None
        imf = acct.imf.get(m.market_id, m.min_imf)
        return {
            "market_id": m.market_id,
            "symbol": m.symbol,
            "initial_margin_fraction": format(Decimal(imf) / 100, ".2f"),
            "open_order_count": len(acct.open_orders(m.market_id)),
            "pending_order_count": 0,
            "position_tied_order_count": 0,
            "sign": -1 if size < 0 else 1,
            "position": m.sz(abs(size)),
            "avg_entry_price": m.px(entry),
            "position_value": format((abs(size) * mark).quantize(Decimal("0.000001")), "f"),
            "unrealized_pnl": format((size * (mark - entry)).quantize(Decimal("0.000001")), "f"),
            "realized_pnl": format(
                acct.realized.get(m.symbol, _ZERO).quantize(Decimal("0.000001")), "f"
            ),
            "liquidation_price": m.px(liq) if liq is not None and liq > 0 else "0",
            "total_funding_paid_out": format(
                acct.funding_paid.get(m.symbol, _ZERO).quantize(Decimal("0.000001")), "f"
            ),
            "margin_mode": 0,
            "allocated_margin": "0.000000",
        }

    def account_wire(self, acct: LighterAccount, now_ms: int) -> dict[str, Any]:
        """The account's entry in ``account?by=index``."""
        a = acct.engine.account(now_ms * _MS)
        six = Decimal("0.000001")
        return {
            "code": 0,
            "account_type": 0,
            "index": acct.index,
            "account_index": acct.index,
            "l1_address": acct.l1_address,
            "cancel_all_time": acct.cancel_all_ms,
            "total_order_count": len(acct.open_orders()),
            "total_isolated_order_count": 0,
            "pending_order_count": 0,
            "available_balance": format(a.available.quantize(six), "f"),
            "status": 1,
            "collateral": format(a.collateral.quantize(six), "f"),
            "name": "",
            "description": "",
            "can_invite": True,
            "referral_points_percentage": "",
            "positions": [self.position_wire(acct, m) for m in self.markets.values()],
            "assets": [],
            "total_asset_value": format(a.equity.quantize(six), "f"),
            "cross_asset_value": format(a.equity.quantize(six), "f"),
            "shares": [],
            "pending_unlocks": [],
        }

    def levels(self, symbol: str, depth: int = 1000) -> tuple[list[tuple[Decimal, Decimal]], ...]:
        """The public book of ``symbol``: the outside book plus every account's resting
        orders, ``(price, size)`` per level, best first, at most ``depth`` per side (bids,
        asks)."""
        bids, asks = self.outside.book_levels(symbol, 10_000)
        book: dict[bool, dict[Decimal, Decimal]] = {True: dict(bids), False: dict(asks)}
        for acct in self.accounts.values():
            for rec in acct.orders.values():
                if rec.is_open and rec.market.symbol == symbol:
                    side = book[not rec.is_ask]
                    side[rec.price] = side.get(rec.price, _ZERO) + rec.remaining
        out = []
        for is_bid in (True, False):
            prices = sorted(book[is_bid], reverse=is_bid)[:depth]
            out.append([(px, book[is_bid][px]) for px in prices])
        return out[0], out[1]

    def resting(self, symbol: str) -> list[OrderRecord]:
        """Every account's open orders on ``symbol`` (for ``orderBookOrders``)."""
        return [
            rec
            for acct in self.accounts.values()
            for rec in acct.orders.values()
            if rec.is_open and rec.market.symbol == symbol
        ]

    def check_invariants(self) -> list[str]:
        """The engines' own checks and the fake's records against them: every open order rests
        with the size the engine has left, every closed one is terminal there, and the
        positions the trades imply are the engine's. Returns the problems (empty: fine)."""
        problems = self.engine_problems(lambda a: f"account {a.index}")
        for acct in self.accounts.values():
            views = (
                RecordView(f"order {r.order_index}", r.market.symbol, r.key, r.status, r.is_open,
                           r.filled)
                for r in acct.orders.values()
            )  # fmt: skip
            problems += record_problems(str(acct.index), acct.engine, views, acct.position)
        return problems


def _status(rec: OrderRecord, event: OrderUpdate) -> str:
    """The venue's status name for an engine order update."""
    s = event.status
    reason = event.reason or ""
    if s in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        return "open"
    if s is OrderStatus.FILLED:
        return "filled"
    if reason in _CANCEL_STATUSES:
        return reason
    if s is OrderStatus.REJECTED:
        if "margin" in reason:
            return "canceled-margin-not-allowed"
        return "canceled-invalid-balance"
    if s is OrderStatus.EXPIRED:
        if "self" in reason.lower():
            return "canceled-self-trade"
        if rec.tif == "immediate-or-cancel":
            return "canceled-too-much-slippage"
        return "canceled-expired"
    return "canceled"
