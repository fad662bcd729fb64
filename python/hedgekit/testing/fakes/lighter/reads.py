"""The fake's REST reads (``GET /api/v1/…``) in Lighter's shapes (``venues.md`` §3.2-3.10),
each parsed without complaint by lighter-sdk's own models.

Private reads (an account's orders, its trades, its funding) take the auth token as ``auth`` or
in the ``Authorization`` header; :func:`~.wire.check_auth` checks its shape, account, key and
deadline (its signature cannot be checked).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from hedgekit.testing.fakes.lighter import wire
from hedgekit.testing.fakes.lighter.market import LighterMarket
from hedgekit.testing.fakes.lighter.state import LighterAccount, LighterState
from hedgekit.testing.fakes.lighter.txs import Transactions
from hedgekit.testing.fakes.lighter.wire import OrderRecord, TxError

__all__ = ["Reads"]


class Reads:
    """The read endpoints over a :class:`LighterState`.

    Args:
        state: The venue.
        trading: Its transactions (for ``tx``).
    """

    def __init__(self, state: LighterState, trading: Transactions) -> None:
        self.state = state
        self.trading = trading

    def read(self, request: web.Request, name: str, now: int) -> dict[str, Any]:
        """The answer to ``GET /api/v1/<name>``.

        Raises:
            TxError: The venue's refusal (unknown account or market, bad or missing auth, an
                endpoint not served: 404).
        """
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
