"""The value types every layer speaks: sides, order requests, fills, order states, events.

Values are frozen. Prices, sizes and fees are :class:`~decimal.Decimal` (exact); times are
integer nanoseconds on the clock of whoever produced the value (the venue's clock for ``ts_ns`` of
venue events, ours for receive times).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from typing import Any, TypeVar

__all__ = [
    "ADL_CLIENT_PREFIXES",
    "LIQUIDATION_CLIENT_PREFIXES",
    "AccountState",
    "CancelResult",
    "Deleverage",
    "Fill",
    "FundingPayment",
    "FundingRate",
    "Liquidation",
    "Liquidity",
    "OrderAck",
    "OrderRequest",
    "OrderStatus",
    "OrderStatusReport",
    "OrderType",
    "OrderUpdate",
    "Position",
    "Side",
    "StreamStatus",
    "TimeInForce",
    "VenueEvent",
    "forced_fill_kind",
]

_ZERO = Decimal(0)
_T = TypeVar("_T")
_new = object.__new__


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of one field's slot of a slotted class (its descriptor's ``__set__``: a
    frozen dataclass's own ``__setattr__`` refuses, as it should for everyone else)."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


def _slot_init(cls: type[_T]) -> type[_T]:
    """Gives a frozen, slotted dataclass whose fields all lack defaults an ``__init__`` that
    sets each field through its slot's own descriptor: the same value as the generated one
    (same parameters, same fields), built at about half its cost (the generated one looks
    every field up by name through ``object.__setattr__``). For the values made once per
    event on the hedge path (:class:`Fill`)."""
    declared = fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in declared]
    if any(f.default is not MISSING or f.default_factory is not MISSING for f in declared):
        raise TypeError(f"{cls.__name__}: _slot_init needs fields without defaults")
    scope: dict[str, Any] = {f"_set_{n}": _slot_setter(cls, n) for n in names}
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", scope)  # noqa: S102 - fixed text
    init = scope["__init__"]
    generated = cls.__init__
    init.__qualname__ = generated.__qualname__
    init.__module__ = generated.__module__
    init.__annotations__ = generated.__annotations__
    init.__doc__ = generated.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


class Side(enum.StrEnum):
    """Order side (the core's ``"buy"``/``"sell"`` strings)."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """``+1`` for a buy (adds to a position), ``-1`` for a sell."""
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    """How the price is given: a limit price, or a market order with a protected price."""

    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(enum.StrEnum):
    """How long an order may rest.

    ``POST_ONLY`` never takes liquidity (Hyperliquid ``Alo``, Aster ``GTX``, Lighter post-only);
    ``IOC`` takes what it can at arrival and expires the rest.
    """

    GTC = "gtc"
    POST_ONLY = "post_only"
    IOC = "ioc"


class Liquidity(enum.StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class OrderStatus(enum.StrEnum):
    """An order's status as a venue reports it.

    ``EXPIRED`` covers an IOC remainder and a post-only order the venue accepted and then dropped
    because it would have crossed (Aster ``EXPIRED``, Lighter ``canceled-post-only``).
    """

    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """True when the order can no longer trade."""
        return self not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class CancelResult(enum.StrEnum):
    """The answer to a cancel request.

    ``ALREADY_FILLED`` does not mean the fill has been seen: it may still be on its way, so
    tracking keeps the order until the fill arrives or a status query accounts for it.
    """

    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    ALREADY_FILLED = "already_filled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order to place.

    Attributes:
        symbol: The venue's symbol.
        side: Buy or sell.
        size: Size in base units (> 0, on the instrument's step).
        price: Limit price; for ``MARKET`` the protection price (worst acceptable), or ``None``
            to let the venue apply its own band.
        client_id: Our id for the order (unique per venue); every fill and update carries it.
        order_type: Limit or market.
        tif: Time in force (``MARKET`` orders are always IOC).
        reduce_only: Only ever reduce the position.
    """

    symbol: str
    side: Side
    size: Decimal
    price: Decimal | None
    client_id: str
    order_type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.size, Decimal) or not self.size.is_finite() or self.size <= 0:
            raise ValueError(f"order size must be a positive finite Decimal, got {self.size!r}")
        if self.price is not None and (
            not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0
        ):
            raise ValueError(f"order price must be a positive finite Decimal, got {self.price!r}")
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise ValueError("a limit order needs a price")
        if self.order_type is OrderType.MARKET and self.tif is TimeInForce.POST_ONLY:
            raise ValueError("a market order cannot be post-only")
        if not self.client_id:
            raise ValueError("client_id must not be empty")

    @classmethod
    def trusted(
        cls,
        symbol: str,
        side: Side,
        size: Decimal,
        price: Decimal,
        client_id: str,
        tif: TimeInForce,
        reduce_only: bool = False,
    ) -> OrderRequest:
        """A limit order whose size and price the instrument's rules have already passed (a
        size from :meth:`~hedgekit.Instrument.floor_size` that
        :meth:`~hedgekit.Instrument.rejection` accepts at a price on the grid) and whose client
        id a session has just made: the same value as ``OrderRequest(...)`` without checking
        again what the rules checked (the hedge path's constructor). Anything else goes through
        the checking constructor."""
        request = _new(cls)
        _req_symbol(request, symbol)  # each field through its slot (as _slot_init does)
        _req_side(request, side)
        _req_size(request, size)
        _req_price(request, price)
        _req_client_id(request, client_id)
        _req_order_type(request, _LIMIT)
        _req_tif(request, tif)
        _req_reduce_only(request, reduce_only)
        return request


_LIMIT = OrderType.LIMIT
_req_symbol = _slot_setter(OrderRequest, "symbol")
_req_side = _slot_setter(OrderRequest, "side")
_req_size = _slot_setter(OrderRequest, "size")
_req_price = _slot_setter(OrderRequest, "price")
_req_client_id = _slot_setter(OrderRequest, "client_id")
_req_order_type = _slot_setter(OrderRequest, "order_type")
_req_tif = _slot_setter(OrderRequest, "tif")
_req_reduce_only = _slot_setter(OrderRequest, "reduce_only")


@dataclass(frozen=True, slots=True)
class OrderAck:
    """A venue's synchronous answer to a placement it accepted.

    Attributes:
        client_id: Our id.
        venue_order_id: The venue's id.
        status: Status at the time of the answer (an order that crossed on entry may already be
            ``FILLED``; a post-only order that would cross may be ``OPEN`` here and ``EXPIRED`` on
            the stream, as on Aster and Lighter).
        filled: Size filled by the time of the answer.
        ts_ns: Venue time of the answer.
    """

    client_id: str
    venue_order_id: str
    status: OrderStatus
    filled: Decimal
    ts_ns: int


@_slot_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders, as the venue reported it.

    ``(venue, client_id, trade_id)`` identifies it: the same fill may arrive several times (stream
    and REST, a reconnect snapshot), always with the same ids, while one trade can fill several
    of our orders under one trade id.
    """

    venue: str
    symbol: str
    client_id: str
    venue_order_id: str
    trade_id: int | str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts_ns: int

    @property
    def is_maker(self) -> bool:
        """True for a maker fill."""
        return self.liquidity is Liquidity.MAKER

    @property
    def notional(self) -> Decimal:
        """``price * size`` (exact)."""
        return self.price * self.size


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A change of an order's status, pushed on the venue's order stream.

    Attributes:
        filled: Cumulative filled size as the venue saw it when it emitted the update. Fills
            themselves come as :class:`Fill` events; this is a cross-check, never counted.
        reason: The venue's text for a rejection, expiry or cancel, if any.
    """

    venue: str
    symbol: str
    client_id: str
    venue_order_id: str
    status: OrderStatus
    filled: Decimal
    ts_ns: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """The private event stream went down or came back.

    While it is down, events are lost, not queued: what happened meanwhile is visible only by
    querying. ``connected=True`` is sent once the subscriptions are confirmed again.
    """

    venue: str
    connected: bool
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Liquidation:
    """The venue liquidated (part of) our position: it force-closed it at its liquidation price.

    The close also arrives as a :class:`Fill` with the same ``trade_id`` whose ``client_id`` is
    not one of ours (:func:`forced_fill_kind` says ``"liquidation"``): Aster names the order
    ``autoclose-…``, Hyperliquid's fill carries a ``liquidation`` object, Lighter's trade has
    ``type: "liquidation"``.

    Attributes:
        side: The side of the closing fill (``SELL`` closes a long).
        size: Size closed (> 0).
        price: The price it was closed at.
        trade_id: The closing fill's trade id.
    """

    venue: str
    symbol: str
    side: Side
    size: Decimal
    price: Decimal
    ts_ns: int
    trade_id: int | str


@dataclass(frozen=True, slots=True)
class Deleverage:
    """The venue auto-deleveraged (ADL) our position: it reduced it against a liquidated
    counterparty, without an order of ours.

    The reduction also arrives as a :class:`Fill` with the same ``trade_id`` and a client id
    that is not ours (Aster ``adl_autoclose``; Lighter trade ``type: "deleverage"``).

    Attributes:
        side: The side of the reducing fill (``SELL`` reduces a long).
        size: Size taken off (> 0).
        price: The price of the reduction.
        trade_id: The reducing fill's trade id.
    """

    venue: str
    symbol: str
    side: Side
    size: Decimal
    price: Decimal
    ts_ns: int
    trade_id: int | str


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment the venue booked on our position (Hyperliquid ``userFundings``,
    Aster ``ACCOUNT_UPDATE`` with ``m: "FUNDING_FEE"``, Lighter ``positionFunding``).

    Attributes:
        amount: Signed from our view: received positive, paid negative
            (``-position_size * price * rate``).
        rate: The rate for the interval (positive: longs pay shorts).
        position_size: The signed position it was paid on.
        ts_ns: When it was booked.
        price: The price it was computed on, when the venue says.
    """

    venue: str
    symbol: str
    amount: Decimal
    rate: Decimal
    position_size: Decimal
    ts_ns: int
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AccountState:
    """A venue account's margin figures (cross margin, quote units).

    Attributes:
        collateral: Wallet balance: deposits plus realised PnL, minus fees, plus funding.
        equity: ``collateral`` plus the unrealised PnL of every position.
        available: What new positions can use: ``equity - initial_margin``, at least 0.
        initial_margin: Margin the open positions hold at their leverage.
        maintenance_margin: Below this equity the venue liquidates.
        ts_ns: Venue time of the figures.
    """

    venue: str
    collateral: Decimal
    equity: Decimal
    available: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    ts_ns: int


VenueEvent = OrderUpdate | Fill | StreamStatus | Liquidation | Deleverage | FundingPayment
"""Everything a venue's private stream delivers."""

LIQUIDATION_CLIENT_PREFIXES: tuple[str, ...] = ("autoclose-", "liquidation-")
"""Client ids venues give the orders of a liquidation: Aster's ``autoclose-…``, and
``liquidation-…`` for venues whose fill carries no client id of its own (Hyperliquid's fill has a
``liquidation`` object, Lighter's trade ``type: "liquidation"``)."""

ADL_CLIENT_PREFIXES: tuple[str, ...] = ("adl_autoclose", "adl-", "deleverage-")
"""Client ids of auto-deleveraging fills: Aster's ``adl_autoclose``, and ``adl-…`` /
``deleverage-…`` (Lighter's trade ``type: "deleverage"``) for the others."""


def forced_fill_kind(client_id: str) -> str | None:
    """``"liquidation"`` or ``"adl"`` when ``client_id`` is one a venue gives the fills it forces
    on our position (see :data:`LIQUIDATION_CLIENT_PREFIXES`, :data:`ADL_CLIENT_PREFIXES`),
    ``None`` otherwise. Never start our own client ids with those prefixes."""
    if client_id.startswith(ADL_CLIENT_PREFIXES):
        return "adl"
    if client_id.startswith(LIQUIDATION_CLIENT_PREFIXES):
        return "liquidation"
    return None


@dataclass(frozen=True, slots=True)
class OrderStatusReport:
    """An order's state as a status query returns it.

    Attributes:
        filled: Cumulative filled size.
        avg_price: Average fill price, ``None`` with nothing filled.
        fills: The order's fills the venue still returns (they carry their trade ids, so the
            ledger deduplicates them against the stream).
    """

    venue: str
    symbol: str
    client_id: str
    venue_order_id: str
    side: Side
    size: Decimal
    price: Decimal | None
    status: OrderStatus
    filled: Decimal
    avg_price: Decimal | None
    ts_ns: int
    reason: str | None = None
    fills: tuple[Fill, ...] = field(default=())

    @property
    def remaining(self) -> Decimal:
        """Size not filled (zero or more)."""
        return max(self.size - self.filled, _ZERO)


@dataclass(frozen=True, slots=True)
class Position:
    """A position on one venue.

    Attributes:
        size: Signed size: positive long, negative short, zero flat.
        entry_price: Average entry price (``None`` when flat).
        mark_price: The venue's mark price.
        funding: Funding received so far on this position (negative: paid).
        liquidation_price: The venue's liquidation price for it, ``None`` when the venue gives
            none (Hyperliquid and Lighter may return null) or there is none.
        leverage: The leverage set for the symbol, when the venue says.
    """

    venue: str
    symbol: str
    size: Decimal
    entry_price: Decimal | None
    mark_price: Decimal | None
    ts_ns: int
    funding: Decimal = _ZERO
    liquidation_price: Decimal | None = None
    leverage: Decimal | None = None

    @property
    def notional(self) -> Decimal | None:
        """``|size| * mark`` in quote units, ``None`` without a mark."""
        return None if self.mark_price is None else abs(self.size) * self.mark_price


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A venue's current funding rate for one symbol.

    Attributes:
        rate: The rate per ``interval_s`` as a fraction (``Decimal("0.0001")`` = 0.01%);
            positive: longs pay shorts.
        interval_s: The funding interval in seconds (Hyperliquid 3600, Aster 28800 by default).
        next_funding_ns: When the next payment happens.
    """

    venue: str
    symbol: str
    rate: Decimal
    interval_s: int
    next_funding_ns: int
    ts_ns: int

    @property
    def hourly(self) -> Decimal:
        """The rate per hour, to compare venues with different intervals."""
        return self.rate * 3600 / self.interval_s
