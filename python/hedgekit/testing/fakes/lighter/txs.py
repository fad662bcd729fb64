"""Signed L2 transactions: checked when they arrive, applied when the sequencer reaches them.

:meth:`Transactions.accept` is the API's part (``sendTx`` / ``jsonapi/sendtx``): it parses the
``tx_info`` JSON, checks every field as lighter-go's ``Validate`` does (types, ranges), the
account and API key, the market, the integer scaling and minimums (21706), the ``ExpiredAt``
window and the nonce (anything but the key's next nonce is 21104 ``invalid nonce``; the
skip-nonce attribute ``{"4": 1}`` is honoured), consumes the nonce and books the transaction as
pending. The signature (``Sig``) is not checked: the venue's scheme (Schnorr over ECgFp5 with
Poseidon2) has no verifier in the SDK's signer, so any ``Sig`` string is accepted.

:meth:`Transactions.execute` is the sequencer's part: it applies the transaction to the engine
and returns the account events it makes. A transaction that fails there (a cancel of an order
no longer active, a reduce-only order that would increase the position) is booked as failed
(``tx`` status 0) with its code and text in ``event_info``; the order's outcome arrives on the
account channels, never in the ``sendTx`` answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from hedgekit.errors import HedgekitError
from hedgekit.model import OrderRequest, OrderType, Side, TimeInForce
from hedgekit.testing.fakes.engines import Later, fill_completely
from hedgekit.testing.fakes.faults import WireFaults
from hedgekit.testing.fakes.lighter import wire
from hedgekit.testing.fakes.lighter.market import LighterMarket
from hedgekit.testing.fakes.lighter.state import LighterAccount, LighterState
from hedgekit.testing.fakes.lighter.wire import OrderRecord, Push, TxError

__all__ = ["Transactions", "Tx", "TxType"]

_MS = 1_000_000
MAX_ACCOUNT_INDEX = (1 << 48) - 2
MAX_CLIENT_ORDER_INDEX = (1 << 48) - 1
MAX_BASE_AMOUNT = (1 << 48) - 1
MAX_PRICE = (1 << 32) - 1
MAX_ORDER_EXPIRY_MS = 30 * 86_400_000
"""How far ahead an ``OrderExpiry`` may lie (the SDK's default is 28 days)."""
_TIF = {0: "immediate-or-cancel", 1: "good-till-time", 2: "post-only"}
_ENGINE_TIF = {0: TimeInForce.IOC, 1: TimeInForce.GTC, 2: TimeInForce.POST_ONLY}
_ATTRIBUTES = frozenset(range(1, 8))
SKIP_NONCE = "4"
CANCEL_ALL_MARKET = "5"


class TxType(enum.IntEnum):
    """The transaction types the fake applies (lighter-go ``constants.go``)."""

    CREATE_ORDER = 14
    CANCEL_ORDER = 15
    CANCEL_ALL_ORDERS = 16
    MODIFY_ORDER = 17
    UPDATE_LEVERAGE = 20


_FIELDS: dict[TxType, tuple[str, ...]] = {
    TxType.CREATE_ORDER: (
        "AccountIndex", "ApiKeyIndex", "MarketIndex", "ClientOrderIndex", "BaseAmount", "Price",
        "IsAsk", "Type", "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry",
        "ExpiredAt", "Nonce",
    ),
    TxType.CANCEL_ORDER: ("AccountIndex", "ApiKeyIndex", "MarketIndex", "Index", "ExpiredAt",
                          "Nonce"),
    TxType.MODIFY_ORDER: ("AccountIndex", "ApiKeyIndex", "MarketIndex", "Index", "BaseAmount",
                          "Price", "TriggerPrice", "ExpiredAt", "Nonce"),
    TxType.CANCEL_ALL_ORDERS: ("AccountIndex", "ApiKeyIndex", "TimeInForce", "Time",
                               "ExpiredAt", "Nonce"),
    TxType.UPDATE_LEVERAGE: ("AccountIndex", "ApiKeyIndex", "MarketIndex",
                             "InitialMarginFraction", "MarginMode", "ExpiredAt", "Nonce"),
}  # fmt: skip


def _bad(text: str) -> TxError:
    return TxError(wire.BAD_TX, text)


@dataclass(slots=True)
class Tx:
    """One accepted transaction and what became of it.

    Attributes:
        hash: Its hash (80 hex).
        type: Its tx type.
        raw: The ``tx_info`` JSON as received.
        info: ``raw`` parsed.
        account: ``AccountIndex``.
        key: ``ApiKeyIndex``.
        queued_ms: When the API accepted it.
        status: 1 pending, 2 executed, 0 failed (``GET tx``).
        executed_ms: When the sequencer applied it.
        error: ``(code, text)`` of a failure.
        order_index: The order it created or acted on.
    """

    hash: str
    type: int
    raw: str
    info: dict[str, Any]
    account: int
    key: int
    queued_ms: int
    status: int = 1
    executed_ms: int = 0
    error: tuple[int, str] | None = None
    order_index: int = 0

    def wire(self) -> dict[str, Any]:
        """The ``tx`` answer / ``account_tx`` entry."""
        event = {"a": self.account, "i": self.order_index, "u": self.info.get("ClientOrderIndex", 0),
                 "ae": "" if self.error is None else f"{self.error[0]}: {self.error[1]}"}  # fmt: skip
        return {
            "hash": self.hash,
            "type": self.type,
            "info": self.raw,
            "event_info": orjson.dumps(event).decode(),
            "status": self.status,
            "transaction_index": 0,
            "l1_address": "",
            "account_index": self.account,
            "nonce": self.info.get("Nonce", 0),
            "expire_at": self.info.get("ExpiredAt", 0),
            "block_height": 0,
            "queued_at": self.queued_ms,
            "executed_at": self.executed_ms,
            "sequence_index": 0,
            "parent_hash": "",
            "api_key_index": self.key,
            "transaction_time": (self.executed_ms or self.queued_ms) * 1000,
        }


@dataclass(slots=True)
class Accepted:
    """What the API's acceptance of one transaction gives: the booked transaction and the
    venue's later actions (a cancel-vs-fill race's held-back fill events)."""

    tx: Tx
    later: list[Later[Push]] = field(default_factory=list)


class Transactions:
    """The transaction rules over a :class:`LighterState`.

    Args:
        state: The venue.
        faults: The server's faults (cancel-vs-fill races, accepted-then-cancelled orders).
        cancel_unknown_sync: A cancel of an order that is not active is refused by the API
            (HTTP 400, 21715) instead of accepted and failed by the sequencer (21600; the
            default, venues.md §3.6 UNCONFIRMED).
        modify_remaining: A modify's ``BaseAmount`` is the new remaining size (the default;
            ``False``: the new total, filled part included). UNCONFIRMED.
        expired_at_max_s: How far ahead ``ExpiredAt`` may lie (the SDK signs now + 10 min).
    """

    def __init__(
        self,
        state: LighterState,
        faults: WireFaults,
        *,
        cancel_unknown_sync: bool = False,
        modify_remaining: bool = True,
        expired_at_max_s: float = 3600.0,
    ) -> None:
        self.state = state
        self.faults = faults
        self.cancel_unknown_sync = cancel_unknown_sync
        self.modify_remaining = modify_remaining
        self.expired_at_max_ms = round(expired_at_max_s * 1000)
        self.txs: dict[str, Tx] = {}
        self.cancel_next: list[str] = []
        """Statuses the sequencer gives the next orders that would rest (a fault: accepted,
        then cancelled at once with that status)."""

    # ------------------------------------------------------------------ the API's checks

    def parse(self, tx_type: Any, tx_info: Any) -> tuple[TxType, dict[str, Any], str]:
        """The type, fields and raw JSON of a transaction as sent.

        Raises:
            TxError: An unknown type or a malformed ``tx_info``.
        """
        try:
            kind = TxType(int(tx_type))
        except (TypeError, ValueError):
            raise _bad(f"tx type {tx_type} is not supported") from None
        if isinstance(tx_info, dict):
            raw = orjson.dumps(tx_info).decode()
            info: Any = tx_info
        else:
            raw = str(tx_info)
            try:
                info = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise _bad("tx_info is not valid JSON") from None
        if not isinstance(info, dict):
            raise _bad("tx_info is not a JSON object")
        for name in _FIELDS[kind]:
            value = info.get(name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _bad(f"{name} is missing or not an integer")
        if not isinstance(info.get("Sig"), str) or not info["Sig"]:
            raise _bad("TxSignature is invalid")
        attrs = info.get("L2TxAttributes")
        if attrs is not None:
            if not isinstance(attrs, dict) or len(attrs) > len(_ATTRIBUTES):
                raise _bad("Attribute type is invalid")
            for k, v in attrs.items():
                if not k.isdigit() or int(k) not in _ATTRIBUTES:
                    raise _bad("Attribute type is invalid")
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise _bad("Attribute value is out of range")
            if attrs.get(SKIP_NONCE, 0) not in (0, 1):
                raise _bad("Nonce skip attribute is invalid")
        return kind, info, raw

    def accept(
        self,
        tx_type: Any,
        tx_info: Any,
        now_ms: int,
        nonces: dict[tuple[int, int], int] | None = None,
    ) -> Accepted:
        """Checks one transaction and books it as pending (its nonce consumed).

        Args:
            tx_type: ``tx_type`` as sent.
            tx_info: ``tx_info`` as sent (a JSON string, or an object over the socket).
            now_ms: Venue time.
            nonces: For a batch: the nonces the batch's earlier transactions use up (checked
                against, and advanced, instead of the keys'; nothing is booked).

        Raises:
            TxError: The venue's refusal.
        """
        kind, info, raw = self.parse(tx_type, tx_info)
        acct, key_index = self._signer(info)
        self._check_window(info, now_ms)
        later: list[Later[Push]] = []
        if kind is TxType.CREATE_ORDER:
            self._check_create(acct, info, now_ms)
        elif kind is TxType.MODIFY_ORDER:
            self._check_modify(info)
        elif kind is TxType.CANCEL_ORDER:
            self._check_cancel(acct, info, now_ms, later if nonces is None else None)
        elif kind is TxType.CANCEL_ALL_ORDERS:
            self._check_cancel_all(info, now_ms)
        else:
            self._market(info)
            if not 1 <= info["InitialMarginFraction"] <= 10_000:
                raise _bad("InitialMarginFraction should not be larger than 10000")
            if info["MarginMode"] not in (0, 1):
                raise _bad("MarginMode is not valid")
        skip = (info.get("L2TxAttributes") or {}).get(SKIP_NONCE, 0) == 1
        api_key = acct.api_keys[key_index]
        slot = (acct.index, key_index)
        if not skip:
            expected = api_key.nonce if nonces is None else nonces.get(slot, api_key.nonce)
            if info["Nonce"] != expected:
                raise TxError(wire.INVALID_NONCE, "invalid nonce")
        tx = Tx(wire.tx_hash(kind, raw), kind, raw, info, acct.index, key_index, now_ms)
        if nonces is not None:
            if not skip:
                nonces[slot] = info["Nonce"] + 1
            return Accepted(tx, later)
        if not skip:
            api_key.nonce = info["Nonce"] + 1
        self.txs[tx.hash] = tx
        return Accepted(tx, later)

    def _signer(self, info: dict[str, Any]) -> tuple[LighterAccount, int]:
        index, key_index = info["AccountIndex"], info["ApiKeyIndex"]
        if not 0 <= index <= MAX_ACCOUNT_INDEX:
            raise _bad(f"AccountIndex should not be larger than {MAX_ACCOUNT_INDEX}")
        if not 0 <= key_index <= 254:
            raise _bad("ApiKeyIndex should not be larger than 254")
        acct = self.state.accounts.get(index)
        if acct is None or key_index not in acct.api_keys:
            raise TxError(wire.INVALID_PUBKEY, "invalid PublicKey, please run changePubKey")
        return acct, key_index

    def _check_window(self, info: dict[str, Any], now_ms: int) -> None:
        if info["Nonce"] < 0:
            raise _bad("AccountNonce should not be less than 0")
        expired_at = info["ExpiredAt"]
        if expired_at <= now_ms or expired_at > now_ms + self.expired_at_max_ms:
            raise _bad("ExpiredAt is invalid")

    def _market(self, info: dict[str, Any]) -> LighterMarket:
        m = self.state.markets.get(info["MarketIndex"])
        if m is None:
            raise _bad("MarketIndex is not valid")
        return m

    def _check_amounts(self, m: LighterMarket, base: int, price: int) -> None:
        if not 1 <= base <= MAX_BASE_AMOUNT:
            raise TxError(wire.INVALID_BASE, "invalid base amount")
        if not 1 <= price <= MAX_PRICE:
            raise TxError(wire.INVALID_PRICE, "invalid price")
        size = m.size_of(base)
        if size < m.min_base_amount or size * m.price_of(price) < m.min_quote_amount:
            raise TxError(wire.TOO_SMALL, "invalid order base or quote amount")

    def _check_create(self, acct: LighterAccount, info: dict[str, Any], now_ms: int) -> None:
        m = self._market(info)
        coi = info["ClientOrderIndex"]
        if not 0 <= coi <= MAX_CLIENT_ORDER_INDEX:
            raise TxError(wire.INVALID_CLIENT_INDEX, "invalid client order index")
        if info["IsAsk"] not in (0, 1):
            raise _bad("IsAsk should be 0 or 1")
        if info["ReduceOnly"] not in (0, 1):
            raise _bad("ReduceOnly is invalid")
        tif, kind, expiry = info["TimeInForce"], info["Type"], info["OrderExpiry"]
        if tif not in _TIF:
            raise TxError(wire.INVALID_TIF, "invalid OrderTimeInForce")
        if kind not in (0, 1):
            raise _bad("OrderType is not valid")
        if info["TriggerPrice"] != 0:
            raise _bad("TriggerPrice is invalid")
        if kind == 1 and tif != 0:
            raise TxError(wire.INVALID_TIF, "invalid OrderTimeInForce")
        if tif == 0 and expiry != 0:
            raise TxError(wire.INVALID_EXPIRY, "invalid expiry")
        if tif != 0 and not now_ms < expiry <= now_ms + MAX_ORDER_EXPIRY_MS:
            raise TxError(wire.INVALID_EXPIRY, "invalid expiry")
        self._check_amounts(m, info["BaseAmount"], info["Price"])
        if coi and any(o.client_order_index == coi for o in acct.open_orders()):
            raise TxError(wire.DUPLICATE_CLIENT_INDEX, "client order index already exists")

    def _check_modify(self, info: dict[str, Any]) -> None:
        m = self._market(info)
        if info["Index"] < 0:
            raise _bad("OrderIndex should not be less than 0")
        if info["TriggerPrice"] != 0:
            raise _bad("TriggerPrice is invalid")
        self._check_amounts(m, info["BaseAmount"], info["Price"])

    def _check_cancel(
        self,
        acct: LighterAccount,
        info: dict[str, Any],
        now_ms: int,
        later: list[Later[Push]] | None,
    ) -> None:
        m = self._market(info)
        if info["Index"] < 0:
            raise _bad("OrderIndex should not be less than 0")
        rec = acct.find(m.market_id, info["Index"])
        if (rec is None or not rec.is_open) and self.cancel_unknown_sync:
            raise TxError(wire.NOT_ACTIVE, "given order is not an active order")
        if later is not None and rec is not None and rec.is_open:
            if self.faults.take_cancel_fill_race():
                # filled by outside flow between the cancel's arrival and its answer; the
                # fill's events are held past the answer
                events = fill_completely(
                    acct.engine, m.symbol, not rec.is_ask, rec.price, now_ms * _MS
                )
                held = self.state.absorb(acct, events, now_ms)
                later.append(Later(self.faults.race_event_delay_s, lambda _t: held))

    def _check_cancel_all(self, info: dict[str, Any], now_ms: int) -> None:
        tif, when = info["TimeInForce"], info["Time"]
        if tif not in (0, 1, 2):
            raise _bad("CancelAllTimeInForce is invalid")
        if tif in (0, 2) and when != 0:
            raise _bad("CancelAllTime should be nil")
        if tif == 1 and not now_ms + 5 * 60_000 <= when <= now_ms + 15 * 86_400_000:
            raise _bad("CancelAllTime should be larger than 0 and not larger than 15 days")

    # ------------------------------------------------------------------ the sequencer

    def execute(self, tx: Tx, now_ms: int) -> tuple[list[Push], list[Later[Push]]]:
        """Applies an accepted transaction; returns the account events and the venue's later
        actions. A failure is booked on the transaction (status 0), not raised."""
        acct = self.state.accounts[tx.account]
        pushes: list[Push] = []
        later: list[Later[Push]] = []
        try:
            if tx.type == TxType.CREATE_ORDER:
                self._create(acct, tx, now_ms, pushes, later)
            elif tx.type == TxType.CANCEL_ORDER:
                self._cancel(acct, tx, now_ms, pushes)
            elif tx.type == TxType.MODIFY_ORDER:
                self._modify(acct, tx, now_ms, pushes)
            elif tx.type == TxType.CANCEL_ALL_ORDERS:
                self._cancel_all(acct, tx, now_ms, pushes)
            else:
                self._leverage(acct, tx, now_ms)
            tx.status = 2
        except TxError as e:
            tx.status = 0
            tx.error = (e.code, e.message)
        tx.executed_ms = now_ms
        m_id = tx.info.get("MarketIndex", 0)
        pushes.append(Push(acct.index, m_id if isinstance(m_id, int) else 0, txs=[tx.wire()]))
        return pushes, later

    def _create(
        self, acct: LighterAccount, tx: Tx, now_ms: int, pushes: list[Push],
        later: list[Later[Push]],
    ) -> None:  # fmt: skip
        info = tx.info
        m = self.state.markets[info["MarketIndex"]]
        coi = info["ClientOrderIndex"]
        if coi and any(o.client_order_index == coi for o in acct.open_orders()):
            raise TxError(wire.DUPLICATE_CLIENT_INDEX, "client order index already exists")
        is_ask = info["IsAsk"] == 1
        price, size = m.price_of(info["Price"]), m.size_of(info["BaseAmount"])
        kind = OrderType.MARKET if info["Type"] == 1 else OrderType.LIMIT
        tif = _ENGINE_TIF[info["TimeInForce"]]
        index = self.state.new_order_index()
        client_id = str(coi) if coi else f"~{index}"
        request = OrderRequest(
            m.symbol, Side.SELL if is_ask else Side.BUY, size, price, client_id,
            order_type=kind, tif=TimeInForce.IOC if kind is OrderType.MARKET else tif,
            reduce_only=info["ReduceOnly"] == 1,
        )  # fmt: skip
        try:
            outcome = acct.engine.place(now_ms * _MS, request)
        except (ValueError, ArithmeticError, HedgekitError) as e:
            raise TxError(wire.BAD_TX, str(e)) from e
        rec_args = (
            m, coi, is_ask, "market" if kind is OrderType.MARKET else "limit",
            _TIF[info["TimeInForce"]], info["ReduceOnly"] == 1, price, size, info["Nonce"],
            info["OrderExpiry"], now_ms,
        )  # fmt: skip
        if outcome.error is not None or outcome.ack is None:
            error = outcome.error
            reason = "" if error is None else error.reason
            refused = OrderRecord(index, *_order_fields(acct, rec_args))
            refused.status = (
                "canceled-reduce-only" if reason == "reduce_only" else "canceled-invalid-balance"
            )
            acct.refused.append(refused)
            tx.order_index = index
            pushes.append(Push(acct.index, m.market_id, orders=[refused.wire()]))
            if reason == "reduce_only":
                raise TxError(wire.REDUCE_ONLY_INCREASES, "reduce only increases position")
            raise TxError(wire.BAD_TX, "" if error is None else error.message)
        rec = self.state.record(acct, outcome.ack.venue_order_id, *rec_args, order_index=index)
        tx.order_index = rec.order_index
        pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        pushes.extend(self.state.spread_taker(acct, outcome.events, now_ms))
        if rec.is_open and self.cancel_next:
            status = self.cancel_next.pop(0)
            pushes.extend(self.venue_cancel(acct, rec.order_index, status, now_ms))
        elif rec.is_open and self.faults.take_accept_then_cancel():
            order_index = rec.order_index
            later.append(
                Later(
                    self.faults.accept_then_cancel_delay_s,
                    lambda t: self.venue_cancel(acct, order_index, "canceled", t),
                )
            )

    def venue_cancel(
        self, acct: LighterAccount, order_index: int, status: str, now_ms: int
    ) -> list[Push]:
        """The venue cancels an open order by itself, with ``status``."""
        rec = acct.orders.get(order_index)
        if rec is None or not rec.is_open:
            return []
        out = acct.engine.cancel(
            now_ms * _MS, rec.market.symbol, venue_order_id=rec.key, reason=status
        )
        return self.state.absorb(acct, out.events, now_ms)

    def _active(self, acct: LighterAccount, info: dict[str, Any]) -> OrderRecord:
        rec = acct.find(info["MarketIndex"], info["Index"])
        if rec is None or not rec.is_open:
            raise TxError(wire.NOT_ACTIVE_LIMIT, "given order is not an active limit order")
        return rec

    def _cancel(self, acct: LighterAccount, tx: Tx, now_ms: int, pushes: list[Push]) -> None:
        rec = self._active(acct, tx.info)
        tx.order_index = rec.order_index
        out = acct.engine.cancel(now_ms * _MS, rec.market.symbol, venue_order_id=rec.key)
        if not out.cancelled:
            raise TxError(wire.NOT_ACTIVE_LIMIT, "given order is not an active limit order")
        pushes.extend(self.state.absorb(acct, out.events, now_ms))

    def _modify(self, acct: LighterAccount, tx: Tx, now_ms: int, pushes: list[Push]) -> None:
        info = tx.info
        rec = self._active(acct, info)
        tx.order_index = rec.order_index
        m = rec.market
        size = m.size_of(info["BaseAmount"])
        total = rec.filled + size if self.modify_remaining else size
        price = m.price_of(info["Price"])
        client_id = str(rec.client_order_index) if rec.client_order_index else f"~{rec.order_index}"
        outcome = acct.engine.modify(now_ms * _MS, m.symbol, client_id, price=price, size=total)
        if outcome.error is not None:
            raise TxError(wire.BAD_TX, outcome.error.message)
        rec.price, rec.initial = price, total
        rec.updated_ms = now_ms
        pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        pushes.extend(self.state.spread_taker(acct, outcome.events, now_ms))

    def _cancel_all(self, acct: LighterAccount, tx: Tx, now_ms: int, pushes: list[Push]) -> None:
        tif = tx.info["TimeInForce"]
        if tif == 1:
            acct.cancel_all_ms = tx.info["Time"]
            return
        if tif == 2:
            acct.cancel_all_ms = 0
            return
        market = (tx.info.get("L2TxAttributes") or {}).get(CANCEL_ALL_MARKET)
        pushes.extend(self.cancel_all(acct, now_ms, market))

    def cancel_all(
        self, acct: LighterAccount, now_ms: int, market_id: int | None = None
    ) -> list[Push]:
        """Cancels every open order of ``acct`` (on ``market_id`` only, when given)."""
        out: list[Push] = []
        for rec in acct.open_orders(market_id):
            done = acct.engine.cancel(now_ms * _MS, rec.market.symbol, venue_order_id=rec.key)
            out.extend(self.state.absorb(acct, done.events, now_ms))
        return out

    def _leverage(self, acct: LighterAccount, tx: Tx, now_ms: int) -> None:
        info = tx.info
        if info["MarginMode"] != 0:
            raise TxError(wire.BAD_TX, "isolated margin is not served by the fake")
        m = self.state.markets[info["MarketIndex"]]
        imf = info["InitialMarginFraction"]
        try:
            acct.engine.set_leverage(now_ms * _MS, m.symbol, Decimal(10_000) / imf)
        except (ValueError, HedgekitError) as e:
            raise TxError(wire.BAD_TX, f"invalid initial margin fraction: {e}") from e
        acct.imf[m.market_id] = imf

    def expire_orders(self, now_ms: int) -> list[Push]:
        """Cancels the open orders whose ``OrderExpiry`` has come (``canceled-expired``)."""
        out: list[Push] = []
        for acct in self.state.accounts.values():
            for rec in acct.open_orders():
                if 0 < rec.order_expiry <= now_ms:
                    out.extend(self.venue_cancel(acct, rec.order_index, "canceled-expired", now_ms))
        return out

    def fire_cancel_all(self, now_ms: int) -> list[Push]:
        """Runs the scheduled cancel-alls that are due (the dead-man switch)."""
        out: list[Push] = []
        for acct in self.state.accounts.values():
            if acct.cancel_all_ms and acct.cancel_all_ms <= now_ms:
                acct.cancel_all_ms = 0
                out.extend(self.cancel_all(acct, now_ms))
        return out


def _order_fields(acct: LighterAccount, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """OrderRecord's fields after ``order_index`` for an order that never reached the engine
    (``key`` empty)."""
    m, coi, is_ask, kind, tif, ro, price, size, nonce, expiry, now_ms = args
    return (coi, "", m, acct.index, is_ask, kind, tif, ro, price, size, nonce, expiry, now_ms)
