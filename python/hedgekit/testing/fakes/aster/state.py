"""The fake venue's truth: accounts, each on its own matching engine, and the outside market.

Every account trades on its own :class:`~hedgekit.venues.sim.MatchingEngine` (Aster's
personality) against the same outside flow, as :class:`~hedgekit.testing.fakes.engines.EngineVenue`
drives them; the public book is the outside book plus every account's resting orders. Nothing
here does I/O or reads a clock: the time is passed in (ms) and the user-data events come back as
:class:`~.wire.Push` for the server to send.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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
from hedgekit.testing.fakes.aster.market import AsterMarket, instruments
from hedgekit.testing.fakes.aster.wire import STATUS, OrderRecord, Push, num
from hedgekit.testing.fakes.engines import (
    EngineVenue,
    RecordView,
    position_after,
    record_problems,
)
from hedgekit.venues.sim import MatchingEngine, Personality, aster

__all__ = ["AccountState", "VenueState"]

_MS = 1_000_000
_ZERO = Decimal(0)


@dataclass(slots=True)
class AccountState:
    """One account (a user address) and its engine."""

    user: str
    engine: MatchingEngine
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    income: list[dict[str, Any]] = field(default_factory=list)
    position: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    countdown: dict[str, int] = field(default_factory=dict)
    """Dead-man switch: symbol → venue time (ms) its open orders are cancelled at."""

    def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        """The account's open orders, oldest first."""
        return [
            o
            for o in sorted(self.orders.values(), key=lambda o: o.order_id)
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def find(self, order_id: int | None, client_id: str | None) -> OrderRecord | None:
        """The order with ``order_id``, else the latest that carried ``client_id``."""
        if order_id is not None:
            return self.orders.get(order_id)
        found = [o for o in self.orders.values() if o.client_id == client_id]
        return max(found, key=lambda o: o.order_id) if found else None


class VenueState(EngineVenue[AccountState, Push]):
    """Accounts, the outside market and the public book of the fake.

    Args:
        markets: The perps.
        balance: Every account's starting USDT.
        seed: Seeds the engines.
        personality: The engine's behaviour and texts (default :func:`aster`; its
            ``post_only_mode`` is the GTX switch).
    """

    def __init__(
        self,
        markets: Sequence[AsterMarket],
        balance: Decimal,
        seed: int = 0,
        personality: Personality | None = None,
    ) -> None:
        super().__init__(
            "aster",
            personality if personality is not None else aster(),
            instruments(tuple(markets)),
            balance,
            seed,
        )
        self.markets = {m.symbol: m for m in markets}
        self.funding_times: dict[str, int] = {}
        self._order_ids = itertools.count(8_000_000_001)
        self._trade_ids = itertools.count(90_000_001)
        self._tran_ids = itertools.count(7_000_001)
        self._client_ids = itertools.count(1)

    # ------------------------------------------------------------------ accounts

    def add_account(self, user: str, balance: Decimal | None = None) -> AccountState:
        """Opens (or returns) ``user``'s account with ``balance`` USDT (default: the venue's),
        its books at the outside market's current mids."""
        user = user.lower()
        acct = self.accounts.get(user)
        if acct is not None:
            return acct
        acct = AccountState(user, self.account_engine(balance))
        self.accounts[user] = acct
        return acct

    def new_order_id(self) -> int:
        """The next ``orderId``."""
        return next(self._order_ids)

    def new_client_id(self) -> str:
        """A ``clientOrderId`` for an order sent without one."""
        return f"autogen-{next(self._client_ids):012d}"

    def record(
        self, acct: AccountState, key: str, symbol: str, side: str, kind: str, tif: str,
        price: Decimal, qty: Decimal, reduce_only: bool, client_id: str, now_ms: int,
    ) -> OrderRecord:  # fmt: skip
        """Books a new order record for the engine's order ``key``."""
        m = self.markets[symbol]
        rec = OrderRecord(
            self.new_order_id(), key, symbol, side, kind, tif, price, qty, reduce_only,
            client_id, now_ms, m.price_decimals, m.qty_decimals, update_time=now_ms,
        )  # fmt: skip
        acct.orders[rec.order_id] = rec
        acct.by_key[key] = rec.order_id
        return rec

    # ------------------------------------------------------------------ events

    def absorb(self, acct: AccountState, events: Iterable[VenueEvent], now_ms: int) -> list[Push]:
        """Books the engine's events for ``acct`` (order records, trades, funding) and returns
        the user-data events they make, in order, one ``ACCOUNT_UPDATE`` after the fills."""
        pushes: list[Push] = []
        filled: set[str] = set()
        for event in events:
            if isinstance(event, Fill):
                rec = self._record_for_fill(acct, event, now_ms)
                row = self._trade(acct, rec, event, now_ms)
                pushes.append(Push(acct.user, rec.event("TRADE", now_ms, row)))
                filled.add(event.symbol)
            elif isinstance(event, OrderUpdate):
                oid = acct.by_key.get(event.venue_order_id)
                found = None if oid is None else acct.orders.get(oid)
                if found is None:
                    continue
                rec = found
                if event.status is OrderStatus.OPEN and rec.status == "NEW":
                    rec.update_time = now_ms
                    pushes.append(Push(acct.user, rec.event("NEW", now_ms)))
                elif event.status in (
                    OrderStatus.CANCELLED,
                    OrderStatus.EXPIRED,
                    OrderStatus.REJECTED,
                ):
                    rec.status = STATUS[event.status]
                    rec.update_time = now_ms
                    x = "CANCELED" if event.status is OrderStatus.CANCELLED else "EXPIRED"
                    pushes.append(Push(acct.user, rec.event(x, now_ms)))
            elif isinstance(event, FundingPayment):
                pushes.append(self._funding(acct, event, now_ms))
        if filled:
            pushes.append(self.account_update(acct, "ORDER", now_ms, sorted(filled)))
        return pushes

    def _record_for_fill(self, acct: AccountState, fill: Fill, now_ms: int) -> OrderRecord:
        oid = acct.by_key.get(fill.venue_order_id)
        rec = None if oid is None else acct.orders.get(oid)
        if rec is None:  # the venue's own order (liquidation, ADL)
            side = "BUY" if fill.side is Side.BUY else "SELL"
            rec = self.record(
                acct, fill.venue_order_id, fill.symbol, side, "MARKET", "IOC", fill.price,
                fill.size, True, fill.client_id, now_ms,
            )  # fmt: skip
        return rec

    def _trade(
        self, acct: AccountState, rec: OrderRecord, fill: Fill, now_ms: int
    ) -> dict[str, Any]:
        rec.executed += fill.size
        rec.cum_quote += fill.size * fill.price
        rec.status = "FILLED" if rec.executed >= rec.orig_qty else "PARTIALLY_FILLED"
        rec.update_time = now_ms
        start, entry = acct.position.get(fill.symbol, (_ZERO, _ZERO))
        end, entry, closed = position_after(start, entry, fill.side, fill.size, fill.price)
        acct.position[fill.symbol] = (end, entry)
        row = {
            "buyer": fill.side is Side.BUY,
            "commission": num(-fill.fee),
            "commissionAsset": "USDT",
            "id": next(self._trade_ids),
            "maker": fill.liquidity is Liquidity.MAKER,
            "orderId": rec.order_id,
            "price": rec.px(fill.price),
            "qty": rec.qty(fill.size),
            "quoteQty": num(fill.price * fill.size),
            "realizedPnl": num(closed),
            "side": rec.side,
            "positionSide": "BOTH",
            "symbol": fill.symbol,
            "time": now_ms,
        }
        acct.trades.append(row)
        # the stream's commission is positive when paid (the REST row's is negative)
        return {**row, "commission": num(fill.fee)}

    def _funding(self, acct: AccountState, p: FundingPayment, now_ms: int) -> Push:
        acct.income.append(
            {
                "symbol": p.symbol,
                "incomeType": "FUNDING_FEE",
                "income": num(p.amount),
                "asset": "USDT",
                "info": "FUNDING_FEE",
                "time": now_ms,
                "tranId": next(self._tran_ids),
                "tradeId": "",
            }
        )
        return self.account_update(acct, "FUNDING_FEE", now_ms, [])

    def account_update(
        self, acct: AccountState, reason: str, now_ms: int, symbols: Sequence[str]
    ) -> Push:
        """An ``ACCOUNT_UPDATE`` (reason ``m``) with the USDT balance and ``symbols``'
        positions."""
        a = acct.engine.account(now_ms * _MS)
        positions = acct.engine.positions(now_ms * _MS)
        rows = []
        for s in symbols:
            p = positions.get(s)
            size = _ZERO if p is None else p.size
            entry = _ZERO if p is None or p.entry_price is None else p.entry_price
            mark = self.mark(s)
            rows.append(
                {
                    "s": s,
                    "pa": num(size),
                    "ep": num(entry.normalize()),
                    "cr": num(acct.engine.realized_pnl(s)),
                    "up": num(size * (mark - entry) if size else _ZERO),
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                }
            )
        bal = {"a": "USDT", "wb": num(a.collateral), "cw": num(a.collateral), "bc": "0"}
        return Push(
            acct.user,
            {
                "e": "ACCOUNT_UPDATE",
                "E": now_ms,
                "T": now_ms,
                "a": {"m": reason, "B": [bal], "P": rows},
            },
        )

    # ------------------------------------------------------------------ the outside market

    def settle_funding(self, now_ms: int, symbols: Iterable[str] | None = None) -> list[Push]:
        """Pays one interval of funding on every position of ``symbols`` (default all)."""
        now_ns = now_ms * _MS
        pushes: list[Push] = []
        for s in self.markets if symbols is None else symbols:
            self.funding_times[s] = now_ms
            for acct in self.accounts.values():
                pushes.extend(self.absorb(acct, acct.engine.settle_funding(now_ns, s), now_ms))
        return pushes

    # ------------------------------------------------------------------ the public book

    def levels(
        self, symbol: str, depth: int = 1000
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The public book of ``symbol``: the outside book plus every account's resting
        orders, ``(price, qty)`` per level, best first, at most ``depth`` per side."""
        bids, asks = self.outside.book_levels(symbol, 10_000)
        book: dict[bool, dict[Decimal, Decimal]] = {True: dict(bids), False: dict(asks)}
        for acct in self.accounts.values():
            for rec in acct.orders.values():
                if rec.is_open and rec.symbol == symbol:
                    side = book[rec.side == "BUY"]
                    side[rec.price] = side.get(rec.price, _ZERO) + rec.orig_qty - rec.executed
        out = []
        for is_bid in (True, False):
            prices = sorted(book[is_bid], reverse=is_bid)[:depth]
            out.append([(px, book[is_bid][px]) for px in prices])
        return out[0], out[1]

    def check_invariants(self) -> list[str]:
        """The engines' own checks and the fake's records against them: every open order
        rests with the size the engine has left, every closed one is terminal there, and the
        positions the trades imply are the engine's. Returns the problems (empty: fine)."""
        problems = self.engine_problems(lambda a: a.user)
        for acct in self.accounts.values():
            views = (
                RecordView(f"order {r.order_id}", r.symbol, r.key, r.status, r.is_open, r.executed)
                for r in acct.orders.values()
            )
            problems += record_problems(acct.user, acct.engine, views, acct.position)
        return problems
