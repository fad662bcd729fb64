"""``POST /exchange``: signed actions against the fake's state (``venues.md`` §1.4-1.6, 1.10-1.11).

:meth:`Exchange.handle` takes the parsed body and the venue time and returns the answer (always a
JSON object; refusals are ``{"status": "err", "response": "…"}``, sent with HTTP 200), the
WebSocket messages it causes and the venue's delayed actions. The order of checks is the
venue's: the body's shape, the signer (an unknown one is ``User or API Wallet 0x… does not
exist.``), the nonce (per signer), ``expiresAfter``, then the action; per-order errors come back
inside ``status: "ok"`` in request order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgekit.errors import HedgekitError
from hedgekit.model import OrderRequest, OrderStatus, Side, TimeInForce
from hedgekit.testing.fakes.engines import Later, fill_completely
from hedgekit.testing.fakes.faults import WireFaults
from hedgekit.testing.fakes.hyperliquid.auth import (
    USER_SIGNED_TYPES,
    NonceBook,
    Signature,
    recover_l1,
    recover_user,
)
from hedgekit.testing.fakes.hyperliquid.state import AccountState, VenueState
from hedgekit.testing.fakes.hyperliquid.wire import OrderRecord, Push, num, parse_decimal

__all__ = ["Answer", "Exchange"]

STALE_WEIGHT = 5
"""What an action refused for its passed ``expiresAfter`` adds to the address's request count
(``userRateLimit``'s ``nRequestsUsed``): five times a fresh action's one."""

_MS = 1_000_000
_TIF = {"Alo": TimeInForce.POST_ONLY, "Gtc": TimeInForce.GTC, "Ioc": TimeInForce.IOC}
_DEFAULT = {"status": "ok", "response": {"type": "default"}}
_MISSING = "Order was never placed, already canceled, or filled."
_IOC_NO_MATCH = "Order could not immediately match against any resting orders."
_ACK_ONLY = frozenset({"noop", "setReferrer", "approveBuilderFee"})


@dataclass(slots=True)
class Answer:
    """What one action gives: the JSON answer, messages to push now, actions for later."""

    body: dict[str, Any]
    pushes: list[Push] = field(default_factory=list)
    later: list[Later[Push]] = field(default_factory=list)


def _err(text: str) -> Answer:
    return Answer({"status": "err", "response": text})


class Exchange:
    """The ``/exchange`` endpoint over a :class:`VenueState`.

    Args:
        state: The venue.
        faults: The server's faults (accepted-then-cancelled orders, cancel-vs-fill races).
        open_accounts: Accept any signer, opening its account on first sight (no accounts were
            given at start).
        source: The phantom-agent source tried first for a signer the venue does not know yet
            (``"b"``: the SDK against a non-mainnet URL; ``"a"``: ccxt). Known signers are
            matched under both.
        min_schedule_delay_ms: ``scheduleCancel`` must be at least this far ahead.
    """

    def __init__(
        self,
        state: VenueState,
        faults: WireFaults,
        *,
        open_accounts: bool,
        source: str = "b",
        min_schedule_delay_ms: int = 5_000,
    ) -> None:
        if source not in ("a", "b"):
            raise ValueError(f"source is 'a' or 'b', got {source!r}")
        self.state = state
        self.faults = faults
        self.open_accounts = open_accounts
        self.source = source
        self.min_schedule_delay_ms = min_schedule_delay_ms
        self.nonces = NonceBook()
        self._handlers: dict[str, Callable[[AccountState, dict[str, Any], int], Answer]] = {
            "order": self._order,
            "cancel": self._cancel,
            "cancelByCloid": self._cancel_by_cloid,
            "modify": self._modify,
            "batchModify": self._batch_modify,
            "scheduleCancel": self._schedule_cancel,
            "updateLeverage": self._update_leverage,
        }

    # ------------------------------------------------------------------ envelope

    def handle(self, body: object, now_ms: int) -> Answer:
        """Answers one ``/exchange`` body (already parsed; key order as received)."""
        if not isinstance(body, dict):
            return _err("Failed to deserialize the JSON body into the target type")
        action, nonce = body.get("action"), body.get("nonce")
        vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
        if (
            not isinstance(action, dict)
            or not isinstance(action.get("type"), str)
            or not isinstance(nonce, int)
            or isinstance(nonce, bool)
            or not (vault is None or isinstance(vault, str))
            or not (expires is None or isinstance(expires, int))
            or not 0 <= nonce < 2**64
            or not (expires is None or 0 <= expires < 2**64)
        ):
            return _err("Failed to deserialize the JSON body into the target type")
        try:
            signature = Signature.parse(body.get("signature"))
        except ValueError as e:
            return _err(f"Failed to deserialize the JSON body into the target type: {e}")
        kind = action["type"]
        try:
            if kind in USER_SIGNED_TYPES:
                if not isinstance(action.get("signatureChainId"), str):
                    return _err("Failed to deserialize the JSON body into the target type")
                recovered = recover_user(action, signature)
                if action.get("nonce") != nonce:
                    return _err("Action nonce does not match the request nonce.")
                if self.state.master_of(recovered) is None and self.open_accounts:
                    self.state.add_account(recovered)
                known = recovered if self.state.master_of(recovered) is not None else None
            else:
                known, recovered = self._l1_signer(action, nonce, vault, expires, signature)
        except (ValueError, TypeError, OverflowError, HedgekitError) as e:
            return _err(f"Failed to deserialize the JSON body into the target type: {e}")
        if known is None:
            return _err(f"User or API Wallet {recovered} does not exist.")
        signer = known
        refusal = self.nonces.use(signer, nonce, now_ms)
        if refusal is not None:
            return _err(refusal)
        master = self.state.master_of(signer)
        assert master is not None
        if expires is not None and expires < now_ms:
            # A stale action is refused and charged to the address at 5x a fresh one's weight.
            stale = self._acting(master, vault)
            if stale is not None:
                stale.requests += STALE_WEIGHT
            return _err(f"Action expired: expiresAfter {expires} < {now_ms}")
        if kind == "approveAgent":
            return self._approve_agent(master, action)
        if kind in _ACK_ONLY:
            return Answer(dict(_DEFAULT))
        acct = self._acting(master, vault)
        if acct is None:
            return _err(f"Vault not registered: {vault}")
        acct.requests += 1
        handler = self._handlers.get(kind)
        if handler is None:
            return _err(f"Unknown action type: {kind}")
        return handler(acct, action, now_ms)

    def _l1_signer(
        self,
        action: dict[str, Any],
        nonce: int,
        vault: str | None,
        expires: int | None,
        signature: Signature,
    ) -> tuple[str | None, str]:
        """``(known signer or None, address recovered under the configured source)``: a
        signer the venue knows under source ``'b'`` or ``'a'``; in open mode an unknown signer
        under the configured source gets an account."""
        sources = (self.source, "a" if self.source == "b" else "b")
        recovered = [
            recover_l1(action, nonce, vault, expires, signature, mainnet=src == "a")
            for src in sources
        ]
        for signer in recovered:
            if self.state.master_of(signer) is not None:
                return signer, recovered[0]
        if self.open_accounts:
            self.state.add_account(recovered[0])
            return recovered[0], recovered[0]
        return None, recovered[0]

    def _acting(self, master: str, vault: str | None) -> AccountState | None:
        if vault is None:
            return self.state.accounts[master]
        vault = vault.lower()
        if vault in self.state.accounts:
            return self.state.accounts[vault]
        if self.open_accounts:
            return self.state.add_account(vault)
        return None

    def _approve_agent(self, master: str, action: dict[str, Any]) -> Answer:
        agent = action.get("agentAddress")
        if not isinstance(agent, str) or len(agent) != 42:
            return _err("Invalid agent address.")
        if agent.lower() in self.state.accounts:
            return _err("Agent address is already a user.")
        self.state.agents[agent.lower()] = master
        return Answer(dict(_DEFAULT))

    # ------------------------------------------------------------------ orders

    def _order(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        orders = action.get("orders")
        if not isinstance(orders, list) or not orders:
            return _err("Order list must not be empty.")
        grouping = action.get("grouping", "na")
        if grouping != "na":
            return _err(f"Grouping {grouping!r} is not supported by the fake (only 'na').")
        answer = Answer({})
        statuses = [self._place_one(acct, wire, now_ms, answer) for wire in orders]
        answer.body = {
            "status": "ok",
            "response": {"type": "order", "data": {"statuses": statuses}},
        }
        return answer

    def _place_one(
        self, acct: AccountState, wire: object, now_ms: int, answer: Answer
    ) -> dict[str, Any]:
        parsed = self._parse_order(wire)
        if isinstance(parsed, str):
            return {"error": parsed}
        asset, is_buy, px, sz, reduce_only, tif, cloid = parsed
        coin = self.state.markets[asset].coin
        client_id = cloid or self.state.new_client_id()
        now_ns = now_ms * _MS
        try:
            request = OrderRequest(
                coin, Side.BUY if is_buy else Side.SELL, sz, px, client_id,
                tif=_TIF[tif], reduce_only=reduce_only,
            )  # fmt: skip
            outcome = acct.engine.place(now_ns, request)
        except (ValueError, ArithmeticError, HedgekitError):
            return {"error": _with_asset("Price must be divisible by tick size.", asset)}
        if outcome.error is not None or outcome.ack is None:
            text = outcome.error.message if outcome.error is not None else "Order rejected."
            return {"error": _with_asset(text, asset)}
        ack = outcome.ack
        oid = self.state.oid_of(acct, ack.venue_order_id)
        rec = OrderRecord(
            oid, ack.venue_order_id, coin, is_buy, px, sz, tif, reduce_only, cloid, now_ms,
            status_ts=now_ms, client_id=client_id,
        )  # fmt: skip
        acct.orders[oid] = rec
        answer.pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        answer.pushes.extend(self.state.spread_taker(acct, outcome.events, now_ms))
        if tif == "Ioc" and rec.filled == 0:
            return {"error": _with_asset(_IOC_NO_MATCH, asset)}
        if rec.status == "open" and self.faults.take_accept_then_cancel():
            answer.later.append(
                Later(
                    self.faults.accept_then_cancel_delay_s,
                    lambda t: self.venue_cancel(acct, oid, "marginCanceled", t),
                )
            )
        if rec.status == "open":
            resting: dict[str, Any] = {"oid": oid}
            if cloid is not None:
                resting["cloid"] = cloid
            return {"resting": resting}
        filled: dict[str, Any] = {
            "totalSz": num(rec.filled),
            "avgPx": num(_avg_px(acct, rec)),
            "oid": oid,
        }
        if cloid is not None:
            filled["cloid"] = cloid
        return {"filled": filled}

    def _parse_order(
        self, wire: object
    ) -> tuple[int, bool, Decimal, Decimal, bool, str, str | None] | str:
        if not isinstance(wire, dict):
            return "Order has invalid format."
        asset, is_buy, reduce_only = wire.get("a"), wire.get("b"), wire.get("r", False)
        if not isinstance(asset, int) or not 0 <= asset < len(self.state.markets):
            return f"Invalid asset {asset}."
        if not isinstance(is_buy, bool) or not isinstance(reduce_only, bool):
            return "Order has invalid format."
        px, sz = parse_decimal(wire.get("p")), parse_decimal(wire.get("s"))
        if px is None or sz is None or px <= 0:
            return _with_asset("Order has invalid price.", asset)
        if sz <= 0:
            return _with_asset("Order has zero size.", asset)
        kind = wire.get("t")
        limit = kind.get("limit") if isinstance(kind, dict) else None
        tif = limit.get("tif") if isinstance(limit, dict) else None
        if not isinstance(tif, str) or tif not in _TIF:
            return _with_asset(
                "Only limit orders (Alo, Gtc, Ioc) are supported by the fake.", asset
            )
        cloid = wire.get("c")
        if cloid is not None and (not isinstance(cloid, str) or not _is_cloid(cloid)):
            return _with_asset("Invalid cloid.", asset)
        return asset, is_buy, px, sz, reduce_only, tif, cloid

    def venue_cancel(self, acct: AccountState, oid: int, status: str, now_ms: int) -> list[Push]:
        """The venue cancels ``acct``'s open order ``oid`` itself, with Hyperliquid status
        ``status`` (``marginCanceled``, ``scheduledCancel``, …); nothing if it is not open."""
        rec = acct.orders.get(oid)
        if rec is None or rec.status != "open":
            return []
        outcome = acct.engine.cancel(now_ms * _MS, rec.coin, venue_order_id=rec.key)
        if not outcome.cancelled:
            return []
        pushes = self.state.absorb(acct, outcome.events, now_ms)
        rec.status = status
        for p in pushes:
            if p.sub_type == "orderUpdates":
                for item in p.data:
                    if item["order"]["oid"] == oid:
                        item["status"] = status
        return pushes

    # ------------------------------------------------------------------ cancels

    def _cancel(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        def find(c: dict[str, Any]) -> tuple[OrderRecord | None, object] | None:
            oid, asset = c.get("o"), c.get("a")
            if not isinstance(oid, int) or not isinstance(asset, int):
                return None
            return acct.orders.get(oid), asset

        return self._cancels(acct, action, now_ms, find)

    def _cancel_by_cloid(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        def find(c: dict[str, Any]) -> tuple[OrderRecord | None, object] | None:
            cloid = c.get("cloid")
            if not isinstance(cloid, str):
                return None
            return acct.by_cloid(cloid.lower()), c.get("asset")

        return self._cancels(acct, action, now_ms, find)

    def _cancels(
        self,
        acct: AccountState,
        action: dict[str, Any],
        now_ms: int,
        find: Callable[[dict[str, Any]], tuple[OrderRecord | None, object] | None],
    ) -> Answer:
        """One status per cancel, in order: ``find`` reads one cancel's order and asset (or
        ``None`` for a malformed one); an order of another asset is not found."""
        cancels = action.get("cancels")
        if not isinstance(cancels, list) or not cancels:
            return _err("Cancel list must not be empty.")
        answer = Answer({})
        statuses: list[Any] = []
        for c in cancels:
            found = find(c) if isinstance(c, dict) else None
            if found is None:
                statuses.append({"error": "Cancel has invalid format."})
                continue
            rec, asset = found
            if rec is not None and self.state.asset_of.get(rec.coin) != asset:
                rec = None
            statuses.append(self._cancel_one(acct, rec, now_ms, answer))
        answer.body = {
            "status": "ok",
            "response": {"type": "cancel", "data": {"statuses": statuses}},
        }
        return answer

    def _cancel_one(
        self, acct: AccountState, rec: OrderRecord | None, now_ms: int, answer: Answer
    ) -> Any:
        if rec is None or rec.status != "open":
            return {"error": _MISSING}
        now_ns = now_ms * _MS
        if self.faults.take_cancel_fill_race():
            events = fill_completely(acct.engine, rec.coin, rec.is_buy, rec.limit_px, now_ns)
            held = self.state.absorb(acct, events, now_ms)
            answer.later.append(Later(self.faults.race_event_delay_s, lambda _t: held))
            return {"error": _MISSING}
        outcome = acct.engine.cancel(now_ns, rec.coin, venue_order_id=rec.key)
        if not outcome.cancelled:
            return {"error": _MISSING}
        answer.pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        return "success"

    # ------------------------------------------------------------------ modifies

    def _modify(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        answer = Answer({})
        status = self._modify_one(
            acct, {"oid": action.get("oid"), "order": action.get("order")}, now_ms, answer
        )
        if "error" in status:
            return Answer(
                {"status": "err", "response": status["error"]}, answer.pushes, answer.later
            )
        answer.body = dict(_DEFAULT)
        return answer

    def _batch_modify(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        modifies = action.get("modifies")
        if not isinstance(modifies, list) or not modifies:
            return _err("Modify list must not be empty.")
        answer = Answer({})
        statuses = [self._modify_one(acct, m, now_ms, answer) for m in modifies]
        answer.body = {
            "status": "ok",
            "response": {"type": "order", "data": {"statuses": statuses}},
        }
        return answer

    def _modify_one(
        self, acct: AccountState, modify: object, now_ms: int, answer: Answer
    ) -> dict[str, Any]:
        if not isinstance(modify, dict):
            return {"error": "Modify has invalid format."}
        ref = modify.get("oid")
        rec = None
        if isinstance(ref, int) and not isinstance(ref, bool):
            rec = acct.orders.get(ref)
        elif isinstance(ref, str):
            rec = acct.by_cloid(ref.lower())
        parsed = self._parse_order(modify.get("order"))
        if isinstance(parsed, str):
            return {"error": parsed}
        asset, _is_buy, px, sz, _ro, _tif, _cloid = parsed
        if rec is None or rec.status != "open" or self.state.asset_of[rec.coin] != asset:
            return {"error": _MISSING}
        engine = acct.engine
        done = sum((r.filled for r in engine.client_orders(rec.coin, rec.client_id)), Decimal(0))
        try:
            outcome = engine.modify(now_ms * _MS, rec.coin, rec.client_id, price=px, size=sz + done)
        except (ValueError, ArithmeticError, HedgekitError):
            return {"error": _with_asset("Price must be divisible by tick size.", asset)}
        if outcome.error is not None or outcome.ack is None:
            text = outcome.error.message if outcome.error is not None else "Modify rejected."
            return {"error": _with_asset(text, asset)}
        ack = outcome.ack
        rec.status, rec.status_ts = "canceled", now_ms
        oid = self.state.oid_of(acct, ack.venue_order_id)
        new = OrderRecord(
            oid, ack.venue_order_id, rec.coin, rec.is_buy, px, sz, rec.tif, rec.reduce_only,
            rec.cloid, now_ms, status_ts=now_ms, client_id=rec.client_id,
        )  # fmt: skip
        acct.orders[oid] = new
        answer.pushes.extend(self.state.absorb(acct, outcome.events, now_ms))
        answer.pushes.extend(self.state.spread_taker(acct, outcome.events, now_ms))
        if ack.status is OrderStatus.OPEN or new.status == "open":
            out: dict[str, Any] = {"oid": oid}
            if rec.cloid is not None:
                out["cloid"] = rec.cloid
            return {"resting": out}
        return {
            "filled": {"totalSz": num(new.filled), "avgPx": num(_avg_px(acct, new)), "oid": oid}
        }

    # ------------------------------------------------------------------ account actions

    def _schedule_cancel(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        at = action.get("time")
        if at is None:
            acct.schedule_ms = None
            return Answer(dict(_DEFAULT))
        if not isinstance(at, int) or isinstance(at, bool):
            return _err("Failed to deserialize the JSON body into the target type")
        if at < now_ms + self.min_schedule_delay_ms:
            return _err("Scheduled cancel time too early, must be at least 5 seconds from now.")
        day = now_ms // 86_400_000
        if sum(1 for t in acct.schedule_triggers if t // 86_400_000 == day) >= 10:
            return _err("Too many scheduled cancel triggers today (at most 10).")
        acct.schedule_ms = at
        return Answer(dict(_DEFAULT))

    def fire_scheduled(self, now_ms: int) -> list[Push]:
        """Cancels every open order of each account whose scheduled cancel time has come
        (status ``scheduledCancel``) and counts the trigger."""
        pushes: list[Push] = []
        for acct in self.state.accounts.values():
            if acct.schedule_ms is None or acct.schedule_ms > now_ms:
                continue
            acct.schedule_ms = None
            acct.schedule_triggers.append(now_ms)
            for rec in acct.open_orders():
                pushes.extend(self.venue_cancel(acct, rec.oid, "scheduledCancel", now_ms))
        return pushes

    def _update_leverage(self, acct: AccountState, action: dict[str, Any], now_ms: int) -> Answer:
        asset, leverage = action.get("asset"), action.get("leverage")
        if not isinstance(asset, int) or not 0 <= asset < len(self.state.markets):
            return _err(f"Invalid asset {asset}.")
        if action.get("isCross") is not True:
            return _err("Isolated margin is not supported by the fake (cross only).")
        if not isinstance(leverage, int) or isinstance(leverage, bool):
            return _err("Invalid leverage value.")
        coin = self.state.markets[asset].coin
        if leverage > self.state.markets[asset].max_leverage:
            return _err("Invalid leverage value.")
        try:
            acct.engine.set_leverage(now_ms * _MS, coin, Decimal(leverage))
        except HedgekitError as e:
            return _err(getattr(e, "message", None) or str(e))
        return Answer(dict(_DEFAULT))


def _with_asset(text: str, asset: int) -> str:
    return text if " asset=" in text else f"{text} asset={asset}"


def _is_cloid(text: str) -> bool:
    if len(text) != 34 or not text.startswith("0x"):
        return False
    try:
        int(text[2:], 16)
    except ValueError:
        return False
    return True


def _avg_px(acct: AccountState, rec: OrderRecord) -> Decimal:
    report = acct.engine.order_status(rec.coin, venue_order_id=rec.key)
    if report is None or report.avg_price is None:
        return rec.limit_px
    return report.avg_price.normalize()
