"""The fake venue's truth: accounts, each on its own matching engine, and the outside market.

Every account trades on its own :class:`~hedgekit.venues.sim.MatchingEngine` (Hyperliquid's
personality; modifies give a new oid) built over the same markets, against the same outside
flow, as :class:`~hedgekit.testing.fakes.engines.EngineVenue` drives them: a price move or an
outside trade is applied to every engine, and to one more engine that holds no orders and keeps
the outside book the public ``l2Book`` shows. The public book is that
outside book plus every account's resting orders. What an account's order takes as taker is
taken from the outside book and every other account's book as an outside trade (so the public
book shows it gone, and other accounts' resting orders it reaches fill). Accounts meet only that
way: an account's taker order matches the outside book it sees, not the others' orders, and an
outside trade fills each account's orders as if the others' were not queued with them.

Nothing here does I/O or reads a clock: the time is passed in (ms) and the answers come back
with the WebSocket messages they cause (:class:`~.wire.Push`) and the venue's own later actions
(a fault's delayed cancel, a race's held-back fill events) for the server to schedule.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from hedgekit.model import (
    Fill,
    FundingPayment,
    Liquidation,
    Liquidity,
    OrderUpdate,
    Side,
    VenueEvent,
)
from hedgekit.testing.fakes.engines import (
    EngineVenue,
    Later,
    RecordView,
    position_after,
    record_problems,
)
from hedgekit.testing.fakes.hyperliquid.market import FakeMarket, instruments
from hedgekit.testing.fakes.hyperliquid.wire import (
    ZERO_ADDRESS,
    OrderRecord,
    Push,
    fill_hash,
    num,
    status_name,
)
from hedgekit.venues.sim import MatchingEngine, hyperliquid

__all__ = ["AccountState", "Later", "VenueState"]

_MS = 1_000_000
_ZERO = Decimal(0)


@dataclass(slots=True)
class AccountState:
    """One account (a master address or a vault) and its engine."""

    address: str
    engine: MatchingEngine
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    tids: dict[int | str, int] = field(default_factory=dict)
    fills: list[dict[str, object]] = field(default_factory=list)
    fundings: list[dict[str, object]] = field(default_factory=list)
    ws_fundings: list[dict[str, object]] = field(default_factory=list)
    position: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    cum_funding: dict[str, Decimal] = field(default_factory=dict)
    volume: Decimal = _ZERO
    requests: int = 0
    schedule_ms: int | None = None
    schedule_triggers: list[int] = field(default_factory=list)

    def open_orders(self) -> list[OrderRecord]:
        """The account's open orders, newest first (as Hyperliquid lists them)."""
        return sorted(
            (o for o in self.orders.values() if o.status == "open"),
            key=lambda o: o.oid,
            reverse=True,
        )

    def by_cloid(self, cloid: str) -> OrderRecord | None:
        """The latest order that carried ``cloid``."""
        found = [o for o in self.orders.values() if o.cloid == cloid]
        return max(found, key=lambda o: o.oid) if found else None


class VenueState(EngineVenue[AccountState, Push]):
    """Accounts, agents, the outside market and the public tape of the fake.

    Args:
        markets: The perps (asset id = position).
        balance: Every account's starting USDC.
        seed: Seeds the engines.
    """

    def __init__(self, markets: Sequence[FakeMarket], balance: Decimal, seed: int = 0) -> None:
        super().__init__(
            "hyperliquid", hyperliquid(modify_new_id=True), instruments(tuple(markets)), balance,
            seed,
        )  # fmt: skip
        self.markets = tuple(markets)
        self.asset_of = {m.coin: i for i, m in enumerate(self.markets)}
        self.agents: dict[str, str] = {}
        self.funding_history: dict[str, list[dict[str, object]]] = {m.coin: [] for m in markets}
        self._oids = itertools.count(1_000_000_001)
        self._tids = itertools.count(500_000_000_001)
        self._client_ids = itertools.count(1)
        self._liquidations = itertools.count(1)

    # ------------------------------------------------------------------ accounts

    def add_account(self, address: str, balance: Decimal | None = None) -> AccountState:
        """Opens (or returns) the account of ``address`` with ``balance`` USDC (default: the
        venue's), its books at the outside market's current mids."""
        address = address.lower()
        acct = self.accounts.get(address)
        if acct is not None:
            return acct
        acct = AccountState(address, self.account_engine(balance))
        self.accounts[address] = acct
        return acct

    def master_of(self, signer: str) -> str | None:
        """The account a signer acts for: itself, or the master of an agent."""
        if signer in self.accounts:
            return signer
        return self.agents.get(signer)

    # ------------------------------------------------------------------ oids and events

    def oid_of(self, acct: AccountState, key: str) -> int:
        """The oid of the engine's order ``key`` (assigned on first sight)."""
        oid = acct.by_key.get(key)
        if oid is None:
            oid = next(self._oids)
            acct.by_key[key] = oid
        return oid

    def new_client_id(self) -> str:
        """A client id for an order sent without a cloid."""
        return f"~{next(self._client_ids)}"

    def absorb(self, acct: AccountState, events: Iterable[VenueEvent], now_ms: int) -> list[Push]:
        """Books the engine's events for ``acct`` (order records, fills, funding) and returns
        the WebSocket messages they make, fills grouped per message."""
        updates: list[dict[str, object]] = []
        fills: list[dict[str, object]] = []
        trades: dict[str, list[dict[str, object]]] = {}
        pushes: list[Push] = []
        user = acct.address
        for event in events:
            if isinstance(event, Fill):
                wire = self._fill(acct, event, now_ms)
                fills.append(wire)
                buyer, seller = (
                    (user, ZERO_ADDRESS) if event.side is Side.BUY else (ZERO_ADDRESS, user)
                )
                trades.setdefault(event.symbol, []).append(
                    {
                        "coin": event.symbol,
                        "side": "B" if (event.side is Side.BUY) == wire["crossed"] else "A",
                        "px": wire["px"],
                        "sz": wire["sz"],
                        "hash": wire["hash"],
                        "time": now_ms,
                        "tid": wire["tid"],
                        "users": [buyer, seller],
                    }
                )
            elif isinstance(event, OrderUpdate):
                rec = self._record_for(acct, event.venue_order_id)
                if rec is None:
                    continue
                rec.status = status_name(
                    event.status, ioc=rec.tif == "Ioc", filled=rec.filled, reason=event.reason
                )
                rec.status_ts = now_ms
                updates.append(rec.ws_order())
            elif isinstance(event, FundingPayment):
                pushes.extend(self._funding(acct, event, now_ms))
            elif isinstance(event, Liquidation):
                a = acct.engine.account(now_ms * _MS)
                liq = {
                    "lid": next(self._liquidations),
                    "liquidator": ZERO_ADDRESS,
                    "liquidated_user": user,
                    "liquidated_ntl_pos": num(event.size * event.price),
                    "liquidated_account_value": num(
                        a.equity.quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
                    ),
                }
                pushes.append(Push("userEvents", user, {"liquidation": liq}))
        if fills:
            pushes.insert(0, Push("userFills", user, {"user": user, "fills": fills}))
            pushes.insert(1, Push("userEvents", user, {"fills": fills}))
        if updates:
            pushes.append(Push("orderUpdates", user, updates))
        for coin, tape in trades.items():
            pushes.append(Push("trades", coin, tape))
        return pushes

    def _record_for(self, acct: AccountState, key: str) -> OrderRecord | None:
        oid = acct.by_key.get(key)
        return None if oid is None else acct.orders.get(oid)

    def _fill(self, acct: AccountState, fill: Fill, now_ms: int) -> dict[str, object]:
        oid = self.oid_of(acct, fill.venue_order_id)
        rec = acct.orders.get(oid)
        if rec is not None:
            rec.filled += fill.size
        tid = acct.tids.get(fill.trade_id)
        if tid is None:
            tid = acct.tids[fill.trade_id] = next(self._tids)
        start, entry = acct.position.get(fill.symbol, (_ZERO, _ZERO))
        end, entry, closed = position_after(start, entry, fill.side, fill.size, fill.price)
        acct.position[fill.symbol] = (end, entry)
        acct.volume += fill.size * fill.price
        wire: dict[str, object] = {
            "coin": fill.symbol,
            "px": num(fill.price),
            "sz": num(fill.size),
            "side": "B" if fill.side is Side.BUY else "A",
            "time": now_ms,
            "startPosition": num(start),
            "dir": _direction(start, end),
            "closedPnl": num(closed),
            "hash": fill_hash(tid),
            "oid": oid,
            "crossed": fill.liquidity is Liquidity.TAKER,
            "fee": num(fill.fee),
            "tid": tid,
            "cloid": None if rec is None else rec.cloid,
            "feeToken": "USDC",
            "builderFee": "0.0",
        }
        if fill.client_id.startswith("liquidation-"):
            wire["liquidation"] = {
                "liquidatedUser": acct.address,
                "markPx": num(fill.price),
                "method": "market",
            }
        acct.fills.append(wire)
        return wire

    def _funding(self, acct: AccountState, p: FundingPayment, now_ms: int) -> list[Push]:
        acct.cum_funding[p.symbol] = acct.cum_funding.get(p.symbol, _ZERO) - p.amount
        usdc = num(p.amount.quantize(Decimal("0.000001"), ROUND_HALF_EVEN))
        delta = {
            "type": "funding",
            "coin": p.symbol,
            "usdc": usdc,
            "szi": num(p.position_size),
            "fundingRate": num(p.rate),
            "nSamples": None,
        }
        acct.fundings.append({"time": now_ms, "hash": ZERO_ADDRESS + "0" * 24, "delta": delta})
        one = {k: delta[k] for k in ("coin", "usdc", "szi", "fundingRate")}
        acct.ws_fundings.append({"time": now_ms, **one})
        return [
            Push(
                "userFundings",
                acct.address,
                {"user": acct.address, "fundings": [{"time": now_ms, **one}]},
            ),
            Push("userEvents", acct.address, {"funding": one}),
        ]

    # ------------------------------------------------------------------ the outside market

    def settle_funding(self, now_ms: int) -> list[Push]:
        """Pays one hour of funding on every position (``szi x mark x rate``; positive rates
        make longs pay) and records the hour in ``fundingHistory``."""
        now_ns = now_ms * _MS
        pushes: list[Push] = []
        for m in self.markets:
            rate = self.outside.funding_rates(now_ns)[m.coin].rate
            self.funding_history[m.coin].append(
                {"coin": m.coin, "fundingRate": num(rate), "premium": "0.0", "time": now_ms}
            )
            for acct in self.accounts.values():
                pushes.extend(self.absorb(acct, acct.engine.settle_funding(now_ns, m.coin), now_ms))
        return pushes

    def check_invariants(self) -> list[str]:
        """The engines' own checks (:meth:`MatchingEngine.check_invariants`) for the outside
        book and every account, and the fake's records against them: every open order rests
        with the size the engine has left, and the positions the fills imply are the
        engine's. Returns the problems found (empty when fine)."""
        problems = self.engine_problems(lambda a: a.address)
        for acct in self.accounts.values():
            engine = acct.engine
            views = (
                RecordView(f"oid {r.oid}", r.coin, r.key, r.status, r.status == "open", None)
                for r in acct.orders.values()
            )
            problems += record_problems(acct.address, engine, views, acct.position)
            for rec in acct.open_orders():  # what is left, as orderStatus reports it
                report = engine.order_status(rec.coin, venue_order_id=rec.key)
                if report is not None and rec.sz != report.size - report.filled:
                    problems.append(
                        f"{acct.address}: oid {rec.oid} has {rec.sz} left, "
                        f"engine {report.size - report.filled}"
                    )
        return problems

    # ------------------------------------------------------------------ the public book

    def levels(
        self, coin: str, depth: int = 20
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        """The public book of ``coin``: the outside book plus every account's resting orders,
        ``{"px","sz","n"}`` per level, best first, at most ``depth`` per side."""
        bids, asks = self.outside.book_levels(coin, 10_000)
        book: dict[bool, dict[Decimal, list[Decimal]]] = {
            True: {px: [sz, Decimal(1)] for px, sz in bids},
            False: {px: [sz, Decimal(1)] for px, sz in asks},
        }
        for acct in self.accounts.values():
            for rec in acct.orders.values():
                if rec.status == "open" and rec.sz > 0 and rec.coin == coin:
                    level = book[rec.is_buy].setdefault(rec.limit_px, [_ZERO, _ZERO])
                    level[0] += rec.sz
                    level[1] += 1
        out = []
        for is_bid in (True, False):
            prices = sorted(book[is_bid], reverse=is_bid)[:depth]
            out.append(
                [
                    {"px": num(px), "sz": num(book[is_bid][px][0]), "n": int(book[is_bid][px][1])}
                    for px in prices
                ]
            )
        return out[0], out[1]

    def mid(self, coin: str) -> Decimal:
        """``coin``'s mid: halfway between the public best bid and ask, else the outside mid."""
        bids, asks = self.levels(coin, 1)
        if bids and asks:
            return (Decimal(str(bids[0]["px"])) + Decimal(str(asks[0]["px"]))) / 2
        mid = self.outside.mid(coin)
        assert mid is not None
        return mid


def _direction(start: Decimal, end: Decimal) -> str:
    if start >= 0 and end > start:
        return "Open Long"
    if start <= 0 and end < start:
        return "Open Short"
    if start > 0 and end < 0:
        return "Long > Short"
    if start < 0 and end > 0:
        return "Short > Long"
    return "Close Long" if start > 0 else "Close Short"
