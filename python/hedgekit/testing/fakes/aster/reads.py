"""The fake's reads: public market data and an account's orders, trades, positions, balance
and income, in Aster's shapes (``venues.md`` §2.2-2.4). :class:`Reads` answers from a
:class:`~.state.VenueState` and never changes it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgekit.testing.fakes.aster.auth import ApiError
from hedgekit.testing.fakes.aster.market import symbol_info
from hedgekit.testing.fakes.aster.state import AccountState, VenueState
from hedgekit.testing.fakes.aster.trading import Answer, Trading, brackets, missing
from hedgekit.testing.fakes.aster.wire import num

__all__ = ["Reads"]


class Reads:
    """The read endpoints over a :class:`VenueState`.

    Args:
        state: The venue.
        trading: Its trading endpoints (for the symbol lookup and its errors).
        next_funding: Symbol → the next funding time (ms), kept by the server.
    """

    def __init__(self, state: VenueState, trading: Trading, next_funding: dict[str, int]) -> None:
        self.state = state
        self.trading = trading
        self.next_funding = next_funding

    def public(self, name: str, params: dict[str, str], now: int) -> Any:
        """The public GETs other than ``depth``."""
        if name == "time":
            return {"serverTime": now}
        if name == "ping":
            return {}
        if name == "exchangeInfo":
            return {
                "timezone": "UTC",
                "serverTime": now,
                "futuresType": "U_MARGINED",
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                     "limit": 2400},
                    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                     "limit": 1200},
                ],
                "exchangeFilters": [],
                "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "0"}],
                "symbols": [symbol_info(m) for m in self.state.markets.values()],
            }  # fmt: skip
        if name == "ticker/bookTicker":
            items = [self.book_ticker(s, now) for s in self.symbols(params)]
            return items[0] if "symbol" in params else items
        if name == "premiumIndex":
            items = [self.premium(s, now) for s in self.symbols(params)]
            return items[0] if "symbol" in params else items
        if name == "fundingInfo":
            return [
                {"symbol": s, "interestRate": "0.00010000", "time": now,
                 "fundingIntervalHours": self.state.markets[s].funding_interval_h,
                 "fundingFeeCap": 0.03, "fundingFeeFloor": -0.03}
                for s in self.symbols(params)
            ]  # fmt: skip
        if name == "fundingRate":
            return [
                {"symbol": s, "fundingRate": num(self.state.funding_rate(s)), "fundingTime": t,
                 "markPrice": num(self.state.mark(s))}
                for s in self.symbols(params)
                for t in ([self.state.funding_times[s]] if s in self.state.funding_times else [])
            ]  # fmt: skip
        raise ApiError(-1000, f"Unknown endpoint {name}.", 404)

    def symbols(self, params: dict[str, str]) -> list[str]:
        """The symbol ``params`` names, else every symbol."""
        if "symbol" in params:
            return [self.trading.market(params).symbol]
        return list(self.state.markets)

    def premium(self, symbol: str, now: int) -> dict[str, Any]:
        """``symbol``'s ``premiumIndex`` row."""
        mark = num(self.state.mark(symbol))
        return {
            "symbol": symbol,
            "markPrice": mark,
            "indexPrice": mark,
            "estimatedSettlePrice": mark,
            "lastFundingRate": num(self.state.funding_rate(symbol)),
            "interestRate": "0.00010000",
            "nextFundingTime": self.next_funding.get(symbol, 0),
            "time": now,
        }

    def book_ticker(self, symbol: str, now: int) -> dict[str, Any]:
        """``symbol``'s ``ticker/bookTicker`` row."""
        m = self.state.markets[symbol]
        bids, asks = self.state.levels(symbol, 1)
        bid = bids[0] if bids else (Decimal(0), Decimal(0))
        ask = asks[0] if asks else (Decimal(0), Decimal(0))
        return {
            "symbol": symbol,
            "bidPrice": num(bid[0], m.price_decimals),
            "bidQty": num(bid[1], m.qty_decimals),
            "askPrice": num(ask[0], m.price_decimals),
            "askQty": num(ask[1], m.qty_decimals),
            "time": now,
        }

    def query_order(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET order``: -2013 for an order the venue does not know."""
        m = self.trading.market(params)
        order_id = params.get("orderId")
        client_id = params.get("origClientOrderId")
        if not order_id and not client_id:
            raise missing("orderId")
        rec = acct.find(int(order_id) if order_id else None, client_id)
        if rec is None or rec.symbol != m.symbol:
            raise ApiError(-2013, "Order does not exist.")
        return Answer(rec.wire())

    def open_order(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET openOrder``: -2013 unless the order is open."""
        answer = self.query_order(acct, params, now)
        if answer.body["status"] not in ("NEW", "PARTIALLY_FILLED"):
            raise ApiError(-2013, "Order does not exist.")
        return answer

    def open_orders(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET openOrders``: every open order, or those of ``symbol``."""
        symbol = self.trading.market(params).symbol if "symbol" in params else None
        return Answer([o.wire() for o in acct.open_orders(symbol)])

    def all_orders(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET allOrders`` of ``symbol``, oldest first."""
        m = self.trading.market(params)
        rows = sorted((o for o in acct.orders.values() if o.symbol == m.symbol),
                      key=lambda o: o.order_id)  # fmt: skip
        limit = int(params.get("limit") or 500)
        return Answer([o.wire() for o in rows][-limit:])

    def user_trades(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET userTrades`` (``fromId``, ``startTime``, ``endTime``, ``limit``)."""
        symbol = self.trading.market(params).symbol if "symbol" in params else None
        rows = [t for t in acct.trades if symbol is None or t["symbol"] == symbol]
        if params.get("fromId"):
            rows = [t for t in rows if t["id"] >= int(params["fromId"])]
        if params.get("startTime"):
            rows = [t for t in rows if t["time"] >= int(params["startTime"])]
        if params.get("endTime"):
            rows = [t for t in rows if t["time"] <= int(params["endTime"])]
        limit = min(int(params.get("limit") or 500), 1000)
        rows = rows[:limit] if params.get("fromId") else rows[-limit:]
        return Answer([dict(t) for t in rows])

    def income(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET income`` (funding payments)."""
        rows = [
            r for r in acct.income
            if (not params.get("symbol") or r["symbol"] == params["symbol"])
            and (not params.get("incomeType") or r["incomeType"] == params["incomeType"])
            and (not params.get("startTime") or r["time"] >= int(params["startTime"]))
        ]  # fmt: skip
        return Answer(rows[: int(params.get("limit") or 100)])

    def position_rows(self, acct: AccountState, now: int) -> list[dict[str, Any]]:
        """``positionRisk`` rows, one per symbol."""
        positions = acct.engine.positions(now * 1_000_000)
        rows = []
        for s in self.state.markets:
            p = positions.get(s)
            size = Decimal(0) if p is None else p.size
            entry = Decimal(0) if p is None or p.entry_price is None else p.entry_price
            mark = self.state.mark(s)
            lev = acct.engine.leverage(s)
            liq = None if p is None else p.liquidation_price
            rows.append(
                {
                    "symbol": s,
                    "positionAmt": num(size),
                    "entryPrice": num(entry.normalize()),
                    "markPrice": num(mark),
                    "unRealizedProfit": num(size * (mark - entry) if size else Decimal(0)),
                    "liquidationPrice": num(liq if liq is not None else Decimal(0)),
                    "leverage": num(lev),
                    "maxNotionalValue": "1000000",
                    "marginType": "cross",
                    "isolatedMargin": "0",
                    "isAutoAddMargin": "false",
                    "positionSide": "BOTH",
                    "notional": num(size * mark),
                    "isolatedWallet": "0",
                    "updateTime": now,
                }
            )
        return rows

    def position_risk(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET positionRisk``."""
        rows = self.position_rows(acct, now)
        if params.get("symbol"):
            rows = [r for r in rows if r["symbol"] == params["symbol"]]
        return Answer(rows)

    def balance_row(self, acct: AccountState, now: int) -> dict[str, Any]:
        """The USDT row of ``balance`` (and ``account.assets``)."""
        a = acct.engine.account(now * 1_000_000)
        unrealised = a.equity - a.collateral
        return {
            "accountAlias": "fake",
            "asset": "USDT",
            "balance": num(a.collateral),
            "walletBalance": num(a.collateral),
            "crossWalletBalance": num(a.collateral),
            "crossUnPnl": num(unrealised),
            "unrealizedProfit": num(unrealised),
            "marginBalance": num(a.equity),
            "availableBalance": num(a.available),
            "maxWithdrawAmount": num(a.available),
            "initialMargin": num(a.initial_margin),
            "maintMargin": num(a.maintenance_margin),
            "marginAvailable": True,
            "updateTime": now,
        }

    def balance(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET balance``."""
        return Answer([self.balance_row(acct, now)])

    def account(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET account`` (v4 shape)."""
        row = self.balance_row(acct, now)
        a = acct.engine.account(now * 1_000_000)
        return Answer(
            {
                "feeTier": 0,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": now,
                "multiAssetsMargin": False,
                "totalInitialMargin": num(a.initial_margin),
                "totalMaintMargin": num(a.maintenance_margin),
                "totalWalletBalance": num(a.collateral),
                "totalUnrealizedProfit": row["unrealizedProfit"],
                "totalMarginBalance": num(a.equity),
                "totalCrossWalletBalance": num(a.collateral),
                "totalCrossUnPnl": row["crossUnPnl"],
                "availableBalance": num(a.available),
                "maxWithdrawAmount": num(a.available),
                "assets": [row],
                "positions": self.position_rows(acct, now),
            }
        )

    def leverage_bracket(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET leverageBracket``."""
        rows = [
            {"symbol": s, "brackets": brackets(acct.engine.margin_table(s))}
            for s in self.symbols(params)
        ]
        return Answer(rows[0] if "symbol" in params else rows)

    def commission(self, acct: AccountState, params: dict[str, str], now: int) -> Answer:
        """``GET commissionRate``."""
        fees = self.state.personality.fees
        return Answer(
            {
                "symbol": self.trading.market(params).symbol,
                "makerCommissionRate": num(fees.maker_rate),
                "takerCommissionRate": num(fees.taker_rate),
            }
        )
