"""Orders, cancels, modifies and account actions of the fake (``venues.md`` §2.4-2.7).

:class:`Trading` takes the request's parameters (already authenticated: the acting account) and
the venue time, and returns an :class:`Answer`: the JSON body, the WebSocket events it causes
and the venue's delayed actions. Refusals raise :class:`~.auth.ApiError` with the venue's code
and text. Filters are checked in the venue's order: precision, then tick and step, then minimum
and maximum quantity, then the percent-price band, then minimum notional (reduce-only exempt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

from hedgekit.errors import HedgekitError
from hedgekit.model import OrderRequest, OrderType, Side, TimeInForce
from hedgekit.risk.tiers import MarginTable
from hedgekit.testing.fakes.aster.auth import ApiError
from hedgekit.testing.fakes.aster.market import AsterMarket
from hedgekit.testing.fakes.aster.state import AccountState, VenueState
from hedgekit.testing.fakes.aster.wire import OrderRecord, Push, num, parse_decimal
from hedgekit.testing.fakes.engines import Later, fill_completely
from hedgekit.testing.fakes.faults import WireFaults

__all__ = ["Answer", "Later", "Trading", "brackets"]

_MS = 1_000_000
_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "GTX": TimeInForce.POST_ONLY}
_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
UNKNOWN_ORDER = ApiError(-2011, "Unknown order sent.")
NO_SUCH_ORDER = ApiError(-2013, "Order does not exist.")


@dataclass(slots=True)
class Answer:
    """What one request gives: the JSON body, events to push now, actions for later."""

    body: Any
    pushes: list[Push] = field(default_factory=list)
    later: list[Later[Push]] = field(default_factory=list)


def missing(name: str) -> ApiError:
    """-1102 for a mandatory parameter not sent."""
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _decimal(params: dict[str, str], name: str) -> Decimal:
    value = parse_decimal(params.get(name))
    if value is None:
        raise missing(name)
    return value


def _int(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


class Trading:
    """The trading endpoints over a :class:`VenueState`.

    Args:
        state: The venue.
        faults: The server's faults (accepted-then-cancelled orders, cancel-vs-fill races).
        amendment_events: Send ``ORDER_TRADE_UPDATE`` with ``x: "AMENDMENT"`` for a modify
            (Binance does; UNCONFIRMED for Aster).
    """

    def __init__(
        self, state: VenueState, faults: WireFaults, *, amendment_events: bool = True
    ) -> None:
        self.state = state
        self.faults = faults
        self.amendment_events = amendment_events
        self.deferred: list[Later[Push]] = []
        """The venue's delayed actions of a request that was refused (a cancel-vs-fill race
        answers -2011 and sends its fill later); the server schedules and clears them."""

    def market(self, params: dict[str, str]) -> AsterMarket:
        """The market named by ``symbol``.

        Raises:
            ApiError: -1102 without a symbol, -1121 for an unknown one.
        """
        symbol = params.get("symbol")
        if not symbol:
            raise missing("symbol")
        m = self.state.markets.get(symbol)
        if m is None:
            raise ApiError(-1121, "Invalid symbol.")
        return m

    # ------------------------------------------------------------------ filters

    def check_filters(
        self, m: AsterMarket, kind: str, side: str, price: Decimal | None, qty: Decimal,
        reduce_only: bool,
    ) -> None:  # fmt: skip
        """Raises the venue's error for the first filter the order breaks."""
        if _places(qty) > m.qty_decimals or (
            price is not None and _places(price) > m.price_decimals
        ):
            raise ApiError(-1111, "Precision is over the maximum defined for this asset.")
        if qty <= 0:
            raise ApiError(-4003, "Quantity less than or equal to zero.")
        if price is not None:
            if price <= 0 or price < m.min_price:
                raise ApiError(-4013, "Price less than min price.")
            if price > m.max_price:
                raise ApiError(-4016, "Price greater than max price.")
            if (price - m.min_price) % m.tick != 0:
                raise ApiError(-4014, "Price not increased by tick size.")
        if (qty - m.min_qty) % m.step != 0:
            raise ApiError(-4023, "Qty not increased by step size.")
        if qty < m.min_qty:
            raise ApiError(-4004, "Quantity less than min quantity.")
        if qty > (m.market_max_qty if kind == "MARKET" else m.max_qty):
            raise ApiError(-4005, "Quantity greater than max quantity.")
        mark = self.state.mark(m.symbol)
        if price is not None:
            up = (mark * m.multiplier_up).quantize(m.tick, ROUND_HALF_EVEN)
            down = (mark * m.multiplier_down).quantize(m.tick, ROUND_HALF_EVEN)
            if side == "BUY" and price > up:
                raise ApiError(-4016, f"Limit price can't be higher than {num(up)}.")
            if side == "SELL" and price < down:
                raise ApiError(-4024, f"Limit price can't be lower than {num(down)}.")
        notional = (mark if price is None else price) * qty
        if not reduce_only and notional < m.min_notional:
            raise ApiError(
                -4164,
                f"Order's notional must be no smaller than {num(m.min_notional)} "
                "(unless you choose reduce only)",
            )

    # ------------------------------------------------------------------ place

    def place(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``POST order``.

        Raises:
            ApiError: A missing or bad parameter, a broken filter, or the engine's refusal.
        """
        answer = Answer(None)
        answer.body = self._place(acct, params, now_ms, answer)
        return answer

    def _place(
        self, acct: AccountState, params: dict[str, str], now_ms: int, answer: Answer
    ) -> dict[str, Any]:
        m = self.market(params)
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise missing("side") if not side else ApiError(-1117, "Invalid side.")
        kind = params.get("type")
        if kind not in ("LIMIT", "MARKET"):
            raise missing("type") if not kind else ApiError(-1116, "Invalid orderType.")
        qty = _decimal(params, "quantity")
        tif = params.get("timeInForce", "GTC" if kind == "LIMIT" else "IOC")
        price: Decimal | None = None
        if kind == "LIMIT":
            price = _decimal(params, "price")
            if "timeInForce" not in params:
                raise missing("timeInForce")
            if tif not in _TIF:
                raise ApiError(-1115, "Invalid timeInForce.")
        ro_text = params.get("reduceOnly", "false").lower()
        if ro_text not in ("true", "false"):
            raise ApiError(-1102, "Param 'reduceOnly' is not valid.")
        reduce_only = ro_text == "true"
        client_id = params.get("newClientOrderId") or self.state.new_client_id()
        if not _CLIENT_ID.match(client_id):
            raise ApiError(-4015, "Client order id is not valid.")
        if any(o.client_id == client_id for o in acct.open_orders()):
            raise ApiError(-4116, "ClientOrderId is duplicated.")
        resp_type = params.get("newOrderRespType", "ACK")
        self.check_filters(m, kind, side, price, qty, reduce_only)
        request = OrderRequest(
            m.symbol, Side.BUY if side == "BUY" else Side.SELL, qty, price, client_id,
            order_type=OrderType.LIMIT if kind == "LIMIT" else OrderType.MARKET,
            tif=_TIF[tif] if kind == "LIMIT" else TimeInForce.IOC, reduce_only=reduce_only,
        )  # fmt: skip
        try:
            outcome = acct.engine.place(now_ms * _MS, request)
        except (ValueError, ArithmeticError, HedgekitError) as e:
            raise ApiError(-2010, f"Order was rejected: {e}") from e
        if outcome.error is not None or outcome.ack is None:
            error = outcome.error
            code = error.code if error is not None and isinstance(error.code, int) else -2010
            reason = "" if error is None else error.reason
            if reason == "reduce_only":
                raise ApiError(-2022, "ReduceOnly Order is rejected.")
            msg = error.message if error is not None else "New order rejected."
            raise ApiError(code, msg.replace("{min}", num(m.min_notional)))
        rec = self.state.record(
            acct, outcome.ack.venue_order_id, m.symbol, side, kind, tif,
            price if price is not None else _ZERO, qty, reduce_only, client_id, now_ms,
        )  # fmt: skip
        answer.pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        answer.pushes.extend(self.state.spread_taker(acct, outcome.events, now_ms))
        if rec.is_open and self.faults.take_accept_then_cancel():
            order_id = rec.order_id
            answer.later.append(
                Later(
                    self.faults.accept_then_cancel_delay_s,
                    lambda t: self.venue_cancel(acct, order_id, t),
                )
            )
        return rec.wire(ack=resp_type != "RESULT")

    def batch_place(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``POST batchOrders``: at most 5, each answered in order (errors as code/msg).

        Raises:
            ApiError: -1102 for a missing or malformed list, -1130 for more than 5.
        """
        orders = _json_list(params, "batchOrders")
        if len(orders) > 5:
            raise ApiError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
        answer = Answer([])
        for order in orders:
            if not isinstance(order, dict):
                answer.body.append(missing("batchOrders").body())
                continue
            one = {
                str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in order.items()
            }
            try:
                answer.body.append(self._place(acct, one, now_ms, answer))
            except ApiError as e:
                answer.body.append(e.body())
        return answer

    # ------------------------------------------------------------------ cancel

    def _find(
        self, acct: AccountState, params: dict[str, str]
    ) -> tuple[AsterMarket, OrderRecord | None]:
        m = self.market(params)
        order_id = _int(params, "orderId")
        client_id = params.get("origClientOrderId")
        if order_id is None and not client_id:
            raise missing("orderId")
        rec = acct.find(order_id, client_id)
        if rec is not None and rec.symbol != m.symbol:
            rec = None
        return m, rec

    def cancel(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``DELETE order``: the order object, CANCELED.

        Raises:
            ApiError: -2011 for an order that is not open (filled, cancelled, expired or never
                placed; also when a cancel-vs-fill race fills it first).
        """
        _m, rec = self._find(acct, params)
        answer = Answer(None)
        answer.body = self._cancel_one(acct, rec, now_ms, answer)
        return answer

    def _cancel_one(
        self, acct: AccountState, rec: OrderRecord | None, now_ms: int, answer: Answer
    ) -> dict[str, Any]:
        if rec is None or not rec.is_open:
            raise UNKNOWN_ORDER
        if self.faults.take_cancel_fill_race():
            events = fill_completely(
                acct.engine, rec.symbol, rec.side == "BUY", rec.price, now_ms * _MS
            )
            held = self.state.absorb(acct, events, now_ms)
            self.deferred.append(Later(self.faults.race_event_delay_s, lambda _t: held))
            raise UNKNOWN_ORDER
        outcome = acct.engine.cancel(now_ms * _MS, rec.symbol, venue_order_id=rec.key)
        if not outcome.cancelled:
            raise UNKNOWN_ORDER
        answer.pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        return rec.wire()

    def batch_cancel(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``DELETE batchOrders``: at most 10 by ``orderIdList`` or ``origClientOrderIdList``.

        Raises:
            ApiError: -1102 without either list, -1130 for more than 10.
        """
        m = self.market(params)
        keys: list[tuple[int | None, str | None]]
        if "orderIdList" in params:
            keys = [(int(i), None) for i in _json_list(params, "orderIdList")]
        else:
            keys = [(None, str(c)) for c in _json_list(params, "origClientOrderIdList")]
        if len(keys) > 10:
            raise ApiError(-1130, "Data sent for parameter 'orderIdList' is not valid.")
        answer = Answer([])
        for order_id, client_id in keys:
            rec = acct.find(order_id, client_id)
            if rec is not None and rec.symbol != m.symbol:
                rec = None
            try:
                answer.body.append(self._cancel_one(acct, rec, now_ms, answer))
            except ApiError as e:
                answer.body.append(e.body())
        return answer

    def cancel_all(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``DELETE allOpenOrders``: every open order of ``symbol`` (``code`` is a string)."""
        m = self.market(params)
        answer = Answer({"code": "200", "msg": "The operation of cancel all open order is done."})
        for rec in acct.open_orders(m.symbol):
            answer.pushes.extend(self.venue_cancel(acct, rec.order_id, now_ms))
        return answer

    def venue_cancel(self, acct: AccountState, order_id: int, now_ms: int) -> list[Push]:
        """Cancels ``acct``'s open order ``order_id`` (nothing if it is not open)."""
        rec = acct.orders.get(order_id)
        if rec is None or not rec.is_open:
            return []
        outcome = acct.engine.cancel(now_ms * _MS, rec.symbol, venue_order_id=rec.key)
        return self.state.absorb(acct, outcome.events, now_ms) if outcome.cancelled else []

    def fire_countdowns(self, now_ms: int) -> list[Push]:
        """The dead-man switch: cancels the open orders of every symbol whose countdown ran
        out."""
        pushes: list[Push] = []
        for acct in self.state.accounts.values():
            for symbol, at in list(acct.countdown.items()):
                if at <= now_ms:
                    del acct.countdown[symbol]
                    for rec in acct.open_orders(symbol):
                        pushes.extend(self.venue_cancel(acct, rec.order_id, now_ms))
        return pushes

    def countdown(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``POST countdownCancelAll``: ``countdownTime`` ms from now (0 switches it off)."""
        m = self.market(params)
        ms = _int(params, "countdownTime")
        if ms is None or ms < 0:
            raise missing("countdownTime")
        if ms == 0:
            acct.countdown.pop(m.symbol, None)
        else:
            acct.countdown[m.symbol] = now_ms + ms
        return Answer({"symbol": m.symbol, "countdownTime": str(ms)})

    # ------------------------------------------------------------------ modify

    def modify(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``PUT order``: new ``price`` and ``quantity`` of an open LIMIT order, same id.

        Raises:
            ApiError: -2013 for an order that is not open, a filter's error (the order stays).
        """
        m, rec = self._find(acct, params)
        if rec is None or not rec.is_open:
            raise NO_SUCH_ORDER
        price, qty = _decimal(params, "price"), _decimal(params, "quantity")
        side = params.get("side", rec.side)
        if side != rec.side:
            raise ApiError(-4061, "Order's position side does not match user's setting.")
        if rec.type != "LIMIT":
            raise ApiError(-4127, "Only LIMIT orders can be modified.")
        self.check_filters(m, "LIMIT", side, price, qty, rec.reduce_only)
        if qty <= rec.executed:
            raise ApiError(-4003, "Quantity less than or equal to zero.")
        try:
            outcome = acct.engine.modify(
                now_ms * _MS, m.symbol, rec.client_id, price=price, size=qty
            )
        except (ValueError, ArithmeticError, HedgekitError) as e:
            raise ApiError(-2010, f"Order was rejected: {e}") from e
        if outcome.error is not None or outcome.ack is None:
            error = outcome.error
            code = error.code if error is not None and isinstance(error.code, int) else -2010
            raise ApiError(code, error.message if error is not None else "Modify rejected.")
        rec.price, rec.orig_qty, rec.update_time = price, qty, now_ms
        answer = Answer(None)
        if self.amendment_events:
            answer.pushes.append(Push(acct.user, rec.event("AMENDMENT", now_ms)))
        answer.pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        answer.pushes.extend(self.state.spread_taker(acct, outcome.events, now_ms))
        answer.body = rec.wire()
        return answer

    # ------------------------------------------------------------------ account

    def set_leverage(self, acct: AccountState, params: dict[str, str], now_ms: int) -> Answer:
        """``POST leverage``.

        Raises:
            ApiError: -4028 for a leverage outside 1..125 or above the position's bracket.
        """
        m = self.market(params)
        lev = _int(params, "leverage")
        if lev is None:
            raise missing("leverage")
        if not 1 <= lev <= 125:
            raise ApiError(-4028, f"Leverage {lev} is not valid")
        try:
            acct.engine.set_leverage(now_ms * _MS, m.symbol, Decimal(lev))
        except HedgekitError as e:
            raise ApiError(-2027, str(getattr(e, "message", e))) from e
        cap = acct.engine.margin_table(m.symbol)
        return Answer(
            {"leverage": lev, "maxNotionalValue": _max_notional(cap, lev), "symbol": m.symbol}
        )


_ZERO = Decimal(0)


def _max_notional(table: MarginTable, leverage: int) -> str:
    """The largest position notional at ``leverage``: the top of the last tier allowing it."""
    tiers = table.tiers
    top = Decimal(0)
    for i, tier in enumerate(tiers):
        if tier.max_leverage >= leverage:
            nxt = tiers[i + 1].notional_floor if i + 1 < len(tiers) else Decimal(10) ** 10
            top = nxt
    return num(top)


def brackets(table: MarginTable) -> list[dict[str, Any]]:
    """``leverageBracket``'s ``brackets`` for ``table``."""
    tiers = table.tiers
    out = []
    for i, t in enumerate(tiers):
        cap = tiers[i + 1].notional_floor if i + 1 < len(tiers) else Decimal(10) ** 10
        out.append(
            {
                "bracket": i + 1,
                "initialLeverage": int(t.max_leverage),
                "notionalCap": int(cap),
                "notionalFloor": int(t.notional_floor),
                "maintMarginRatio": float(t.maintenance_rate),
                "cum": float(t.maintenance_amount),
            }
        )
    return out


def _json_list(params: dict[str, str], name: str) -> list[Any]:
    text = params.get(name)
    if not text:
        raise missing(name)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise missing(name) from None
    if not isinstance(value, list):
        raise missing(name)
    return value
