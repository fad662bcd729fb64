"""Lighter's wire, outgoing: hosts and paths, tx types and enums, exact integer scaling of
prices and sizes, our client id ↔ ``client_order_index`` mapping, ``sendTx`` form bodies and
WebSocket channel names (venues.md §3.1–3.7).

Prices and sizes reach the venue as integers: ``price = px · 10^price_decimals`` (uint32) and
``base_amount = size · 10^size_decimals`` (1..2^48−1). A value off that grid is refused with
:class:`~hedgekit.errors.InvalidOrderError`, never rounded here: rounding is the caller's
decision (:meth:`hedgekit.Instrument.round_price`).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import urlencode

import orjson

from hedgekit.errors import InvalidOrderError

__all__ = [
    "MAINNET_URL",
    "MAX_BASE_AMOUNT",
    "MAX_CLIENT_ORDER_INDEX",
    "MAX_PRICE",
    "TESTNET_URL",
    "ClientIndexMap",
    "account_channel",
    "book_channel",
    "chain_id_for",
    "client_order_index",
    "from_int",
    "send_tx_form",
    "subscribe",
    "to_int",
    "unsubscribe",
    "ws_url_for",
]

MAINNET_URL = "https://mainnet.zklighter.elliot.ai"
"""The mainnet REST base."""
TESTNET_URL = "https://testnet.zklighter.elliot.ai"
"""The testnet REST base."""

TX_CREATE_ORDER = 14
"""Tx type: CreateOrder."""
TX_CANCEL_ORDER = 15
"""Tx type: CancelOrder."""
TX_CANCEL_ALL = 16
"""Tx type: CancelAllOrders (also the scheduled dead-man switch)."""
TX_MODIFY_ORDER = 17
"""Tx type: ModifyOrder."""
TX_UPDATE_LEVERAGE = 20
"""Tx type: UpdateLeverage."""

TYPE_LIMIT = 0
"""Order type LIMIT."""
TYPE_MARKET = 1
"""Order type MARKET (IOC with a worst acceptable price)."""
TIF_IOC = 0
"""TimeInForce IMMEDIATE_OR_CANCEL (``OrderExpiry`` must be 0)."""
TIF_GTT = 1
"""TimeInForce GOOD_TILL_TIME."""
TIF_POST_ONLY = 2
"""TimeInForce POST_ONLY."""
CANCEL_ALL_SCHEDULED = 1
"""Cancel-all time in force: scheduled (the dead-man switch)."""
CANCEL_ALL_ABORT = 2
"""Cancel-all time in force: abort the scheduled one."""
NIL_MARKET = 255
"""The market index meaning "every market"."""

MAX_PRICE = 2**32 - 1
"""The largest integer price (uint32)."""
MAX_BASE_AMOUNT = 2**48 - 1
"""The largest integer base amount."""
MAX_CLIENT_ORDER_INDEX = 2**48 - 1
"""The largest ``client_order_index`` (0 means none; venue order indexes are ≥ 2^48)."""


def chain_id_for(url: str) -> int:
    """The signer's chain id for a REST base (304 mainnet, 300 testnet; 304 for any other host,
    as the SDK does)."""
    return 300 if "testnet.zklighter" in url else 304


def ws_url_for(base_url: str) -> str:
    """The WebSocket URL of a REST base (``https://h`` → ``wss://h/stream``)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + "/stream"


def to_int(value: Decimal, decimals: int, what: str, *, upper: int) -> int:
    """``value · 10^decimals`` as an exact integer in ``1..upper``.

    Raises:
        InvalidOrderError: Off the grid (``off_tick`` for a price, ``off_step`` for a size), or
            outside ``1..upper`` (``out_of_range``); nothing is rounded.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidOrderError(
            f"{what} {value!r} is not a finite Decimal", "out_of_range", repr(value)
        )
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        reason = "off_tick" if what == "price" else "off_step"
        raise InvalidOrderError(
            f"{what} {value} is not a multiple of 1E-{decimals} (Lighter takes integers)",
            reason,
            str(value),
        )
    n = int(scaled)
    if not 1 <= n <= upper:
        raise InvalidOrderError(
            f"{what} {value} is {n} on the wire, outside 1..{upper}", "out_of_range", str(value)
        )
    return n


def from_int(n: int, decimals: int) -> Decimal:
    """An integer price or amount back in human units, exact."""
    return Decimal(n).scaleb(-decimals)


def client_order_index(client_id: str) -> int:
    """The 48-bit ``client_order_index`` our client id maps to (BLAKE2b, never 0): the same id
    always gives the same index, so an order re-signed after a nonce refresh keeps it."""
    digest = hashlib.blake2b(client_id.encode(), digest_size=8).digest()
    n = int.from_bytes(digest, "big") % MAX_CLIENT_ORDER_INDEX
    return n + 1


class ClientIndexMap:
    """Our client ids ↔ the venue's ``client_order_index``, both ways.

    An index the map has not seen (an order placed by another program, or before a restart)
    reads back as ``"coi:<index>"``.
    """

    def __init__(self) -> None:
        self._by_client: dict[str, int] = {}
        self._by_index: dict[int, str] = {}

    def index(self, client_id: str) -> int:
        """The index of ``client_id`` (recorded on first use; a ``"coi:<n>"`` id is ``n``).

        Raises:
            hedgekit.errors.InvalidOrderError: A different client id already holds the index
                (a 48-bit collision: the order is refused, never confused with another).
        """
        known = self._by_client.get(client_id)
        if known is not None:
            return known
        if client_id.startswith("coi:") and client_id[4:].isdigit():
            return int(client_id[4:])
        n = client_order_index(client_id)
        other = self._by_index.get(n)
        if other is not None and other != client_id:
            raise InvalidOrderError(
                f"client ids {client_id!r} and {other!r} map to the same client_order_index",
                "duplicate_client_id",
                client_id,
            )
        self._by_client[client_id] = n
        self._by_index[n] = client_id
        return n

    def client_id(self, index: int) -> str:
        """Our client id of ``index`` (``"coi:<index>"`` when it is not ours)."""
        return self._by_index.get(index) or f"coi:{index}"

    def __contains__(self, index: object) -> bool:
        return index in self._by_index


def send_tx_form(tx_type: int, tx_info: str, *, price_protection: bool | None = None) -> bytes:
    """The ``application/x-www-form-urlencoded`` body of ``POST /api/v1/sendTx``."""
    fields = [("tx_type", str(tx_type)), ("tx_info", tx_info)]
    if price_protection is not None:
        fields.append(("price_protection", "true" if price_protection else "false"))
    return urlencode(fields).encode()


def book_channel(market_id: int) -> str:
    """The public book channel of a market, as subscribed (``order_book/0``)."""
    return f"order_book/{market_id}"


def account_channel(kind: str, account_index: int) -> str:
    """A private account channel (``account_all_orders/123``, ``account_all_trades/123``,
    ``account_all_positions/123``)."""
    return f"{kind}/{account_index}"


def subscribe(channel: str, auth: str | None = None) -> bytes:
    """A subscribe message (private channels carry the auth token)."""
    msg: dict[str, str] = {"type": "subscribe", "channel": channel}
    if auth is not None:
        msg["auth"] = auth
    return orjson.dumps(msg)


def unsubscribe(channel: str) -> bytes:
    """An unsubscribe message."""
    return orjson.dumps({"type": "unsubscribe", "channel": channel})
