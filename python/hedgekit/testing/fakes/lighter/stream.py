"""The fake's WebSocket messages (``venues.md`` §3.7): the order-book chain (``offset``,
``nonce``, ``begin_nonce`` equal to the previous message's ``nonce``), and the snapshots and
updates of the account channels, named with colons (``order_book:0``, ``account_all:7``) as
the venue and the SDK's ``WsClient`` name them.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hedgekit.testing.fakes.lighter.market import LighterMarket
from hedgekit.testing.fakes.lighter.state import LighterAccount, LighterState
from hedgekit.testing.fakes.lighter.wire import Push

__all__ = ["BookSeq", "account_snapshot", "account_update", "colon"]


class BookSeq:
    """One market's book messages: the book last sent, the nonce chain and the gap switch.

    Args:
        rng: Draws the chain's start and its steps.
    """

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


def colon(name: str, account: int, market: int | None) -> str:
    """The channel as the server names it: with colons (``account_orders:0:7``)."""
    return f"{name}:{account}" if market is None else f"{name}:{market}:{account}"


def account_update(name: str, p: Push, market: int | None, now: int) -> dict[str, Any] | None:
    """The ``update/<name>`` message ``p`` makes on an account channel (``None``: nothing for
    that channel)."""
    head = {"type": f"update/{name}", "channel": colon(name, p.account, market), "timestamp": now}
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


def account_snapshot(
    st: LighterState, name: str, acct: LighterAccount, market: int | None, now: int
) -> dict[str, Any]:
    """The ``subscribed/<name>`` message of an account channel (``market``: the market of an
    ``account_orders`` channel)."""
    channel = colon(name, acct.index, market)
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
