"""Lighter's wire shapes as the fake writes them (``venues.md`` §3.1-3.7): the refusal codes,
order objects, trade rows, the account events a change makes, and the auth token's shape.

Reads write amounts and prices as human-unit decimal strings with the market's decimals; the
signed transactions the fake receives carry them as integers (:mod:`.market`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgekit.testing.fakes.lighter.market import LighterMarket

__all__ = [
    "ORDER_INDEX_BASE",
    "OrderRecord",
    "Push",
    "TxError",
    "check_auth",
    "tx_hash",
]

ORDER_INDEX_BASE = 1 << 48
"""Server-assigned order indices start here; client order indices lie below."""

OPEN_STATUSES = frozenset({"open", "in-progress", "pending"})
"""Statuses of an order still active on the book."""


class TxError(Exception):
    """A refusal with the venue's ``{"code","message"}`` body (HTTP 400 unless said).

    Args:
        code: The venue's code.
        message: Its text.
        status: The HTTP status.
    """

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        """``{"code": …, "message": …}``."""
        return {"code": self.code, "message": self.message}


# the codes the venue documents (venues.md §3.4-3.6, §3.8)
INVALID_NONCE = 21104
INVALID_PUBKEY = 21108
NOT_ACTIVE_LIMIT = 21600
INVALID_BASE = 21701
INVALID_PRICE = 21702
INVALID_TIF = 21705
TOO_SMALL = 21706
INVALID_EXPIRY = 21711
NOT_ACTIVE = 21715
INVALID_CLIENT_INDEX = 21727
DUPLICATE_CLIENT_INDEX = 21728
REDUCE_ONLY_INCREASES = 21732
NOT_ENOUGH_MARGIN = 21739
RATE_LIMITED = 23000
BAD_TX = 21100
"""The fake's own code for a malformed transaction (a field missing, of the wrong type or out
of the range lighter-go's ``Validate`` allows) whose venue code is not documented; the text is
lighter-go's error text."""
BATCH_NONCES = 21105


def tx_hash(tx_type: int, tx_info: str) -> str:
    """A 40-byte hex hash for a transaction (the venue hashes with Poseidon2; any unique
    80-hex string serves a client)."""
    return hashlib.blake2b(f"{tx_type}:{tx_info}".encode(), digest_size=40).hexdigest()


def check_auth(token: str | None, now_ms: int) -> tuple[int, int]:
    """The ``(account_index, api_key_index)`` of an auth token
    ``"{deadline_s}:{account}:{key}:{hex signature}"`` whose deadline has not passed. The
    signature cannot be checked (the venue's scheme, no verifier exported): only its shape.

    Raises:
        TxError: 20013 (HTTP 401) for a missing, malformed or expired token.
    """
    if not token:
        raise TxError(20013, "invalid auth: missing auth token", 401)
    parts = token.split(":")
    if len(parts) != 4 or not all(parts[:3]) or not all(p.isdigit() for p in parts[:3]):
        raise TxError(20013, "invalid auth: malformed auth token", 401)
    sig = parts[3]
    if len(sig) < 16 or len(sig) % 2 or any(c not in "0123456789abcdefABCDEF" for c in sig):
        raise TxError(20013, "invalid auth: malformed auth token", 401)
    deadline_s, account, key = int(parts[0]), int(parts[1]), int(parts[2])
    if deadline_s * 1000 <= now_ms:
        raise TxError(20013, "invalid auth: auth token expired", 401)
    return account, key


@dataclass(slots=True)
class Push:
    """What one change of one account sends on its channels (the server writes one message
    per subscribed channel from it).

    Attributes:
        account: The account index.
        market_id: The market the change is on.
        orders: Order objects that changed.
        trades: Trade rows that happened.
        position: The market's position after the change (``None``: unchanged).
        txs: Transactions that executed or failed.
    """

    account: int
    market_id: int
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    position: dict[str, Any] | None = None
    txs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class OrderRecord:
    """One order as the fake reports it (mutable: fills and status move it)."""

    order_index: int
    client_order_index: int
    key: str
    market: LighterMarket
    account: int
    is_ask: bool
    type: str
    tif: str
    reduce_only: bool
    price: Decimal
    initial: Decimal
    nonce: int
    order_expiry: int
    created_ms: int
    status: str = "open"
    filled: Decimal = Decimal(0)
    filled_quote: Decimal = Decimal(0)
    updated_ms: int = 0

    @property
    def is_open(self) -> bool:
        """True while the order rests."""
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        """What is left unfilled (0 once the order is no longer open)."""
        return self.initial - self.filled if self.is_open else Decimal(0)

    def wire(self) -> dict[str, Any]:
        """The order object (``accountActiveOrders``, ``account_all_orders``)."""
        m = self.market
        return {
            "order_index": self.order_index,
            "client_order_index": self.client_order_index,
            "order_id": str(self.order_index),
            "client_order_id": str(self.client_order_index),
            "market_index": m.market_id,
            "owner_account_index": self.account,
            "initial_base_amount": m.sz(self.initial),
            "price": m.px(self.price),
            "nonce": self.nonce,
            "remaining_base_amount": m.sz(self.remaining),
            "is_ask": self.is_ask,
            "base_size": round(self.initial.scaleb(m.size_decimals)),
            "base_price": round(self.price.scaleb(m.price_decimals)),
            "filled_base_amount": m.sz(self.filled),
            "filled_quote_amount": format(self.filled_quote.normalize(), "f")
            if self.filled_quote
            else "0",
            "side": "sell" if self.is_ask else "buy",
            "type": self.type,
            "time_in_force": self.tif,
            "reduce_only": self.reduce_only,
            "trigger_price": m.px(Decimal(0)),
            "order_expiry": self.order_expiry,
            "status": self.status,
            "trigger_status": "na",
            "trigger_time": 0,
            "parent_order_index": 0,
            "parent_order_id": "0",
            "to_trigger_order_id_0": "0",
            "to_trigger_order_id_1": "0",
            "to_cancel_order_id_0": "0",
            "block_height": 0,
            "timestamp": self.updated_ms // 1000,
            "created_at": self.created_ms // 1000,
            "updated_at": self.updated_ms // 1000,
            "transaction_time": self.updated_ms * 1000,
        }
