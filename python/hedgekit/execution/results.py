"""What the executors return: per-leg fills and costs, hedge and rollback details, exposure and
incidents. Every result converts to JSON-serialisable data with ``to_dict()``.

Free text (an incident's ``detail``, a result's ``reason``) often quotes a venue's error text,
which may echo a key, a token or a signature: it is passed through
:func:`hedgekit.secrets.redact` when the object is created, so a result, its ``to_dict()``, the
journal and anything printed from it never hold one in clear. Ids, prices and sizes are left as
they are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hedgekit.model import Fill, Side
from hedgekit.secrets import redact

__all__ = [
    "AtomicResult",
    "CloseResult",
    "CloseStatus",
    "ExecutionResult",
    "Incident",
    "LegResult",
    "OpenStatus",
    "Rollback",
    "tidy",
]

_ZERO = Decimal(0)
_NANO = Decimal("1e-9")


def tidy(value: Decimal) -> Decimal:
    """``value`` to at most 9 decimals, trailing zeros dropped, never in exponent form."""
    out = value.quantize(_NANO, ROUND_HALF_EVEN).normalize()
    return out.quantize(Decimal(1), ROUND_HALF_EVEN) if out.as_tuple().exponent > 0 else out  # type: ignore[operator]


def _redact_fields(obj: object, *names: str) -> None:
    """Replaces the text fields ``names`` of a (frozen) dataclass by their redacted form."""
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            clean = redact(value)
            if clean != value:
                object.__setattr__(obj, name, clean)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


@dataclass(frozen=True, slots=True)
class Incident:
    """Something an operator should know happened.

    Attributes:
        ts_ns: When (our clock).
        kind: ``"one_sided_fill"``, ``"hedge"``, ``"hedge_failed"``, ``"rollback"``,
            ``"oversize"`` (a leg above the pair size, unwound), ``"emergency_close"``,
            ``"post_only_reject"``, ``"dust"``, ``"refused"``, ``"exposed"``,
            ``"unresolved_order"``, ``"position_unknown"`` (a venue's position could not be
            read), ``"position_from_fills"`` (a size taken from the first read minus the
            operation's own fills), ``"journal_failed"``.
        venue: The venue concerned (``None`` for the whole operation).
        detail: What happened, with the numbers (secrets masked, see the module docs).
    """

    ts_ns: int
    kind: str
    venue: str | None
    detail: str

    def __post_init__(self) -> None:
        _redact_fields(self, "detail")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"ts_ns": self.ts_ns, "kind": self.kind, "venue": self.venue, "detail": self.detail}


class _FillStats:
    """Maker share and slippage, for results that have ``side``, ``filled``, ``maker_size``,
    ``avg_price`` and ``arrival_mid``."""

    __slots__ = ()
    side: Side
    filled: Decimal
    maker_size: Decimal
    avg_price: Decimal | None
    arrival_mid: Decimal | None

    @property
    def maker_share(self) -> float | None:
        """Maker size over filled size (``None`` with nothing filled)."""
        return None if self.filled == 0 else float(self.maker_size / self.filled)

    @property
    def slippage_bps(self) -> float | None:
        """The average price against the arrival mid, in bps of the mid; positive is worse for
        us (a buy above the mid, a sell below)."""
        if self.avg_price is None or not self.arrival_mid:
            return None
        return (
            float((self.avg_price - self.arrival_mid) / self.arrival_mid * 10_000) * self.side.sign
        )


@dataclass(frozen=True, slots=True)
class ExecutionResult(_FillStats):
    """One order worked by :class:`~hedgekit.execution.OrderExecutor`.

    Attributes:
        requested: The size asked for.
        filled: The size filled (from the ledger).
        avg_price: Average fill price (``None`` with nothing filled).
        fees: Fees paid (negative: rebates received).
        maker_size: Filled size that rested (maker).
        arrival_mid: The mid when the order was started (slippage reference).
        mode: The mode actually used (``adaptive`` resolves to one of the others).
        client_ids: Every order placed, in order.
        post_only_rejects: Post-only rejections met (each repriced at once).
        complete: ``filled == requested``.
        reason: Why it stopped short, if it did (secrets masked).
    """

    venue: str
    symbol: str
    side: Side
    requested: Decimal
    filled: Decimal
    avg_price: Decimal | None
    fees: Decimal
    maker_size: Decimal
    arrival_mid: Decimal | None
    mode: str
    client_ids: tuple[str, ...]
    post_only_rejects: int = 0
    reason: str | None = None
    started_ns: int = 0
    ended_ns: int = 0

    def __post_init__(self) -> None:
        _redact_fields(self, "reason")

    @property
    def complete(self) -> bool:
        """True when the whole size filled."""
        return self.filled >= self.requested

    @property
    def remaining(self) -> Decimal:
        """Size not filled."""
        return max(self.requested - self.filled, _ZERO)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        out: dict[str, Any] = {k: _jsonable(getattr(self, k)) for k in self.__dataclass_fields__}
        out.update(
            complete=self.complete, maker_share=self.maker_share, slippage_bps=self.slippage_bps
        )
        return out


@dataclass(frozen=True, slots=True)
class LegResult(_FillStats):
    """One leg of a pair after an operation: every fill it got, from every order.

    Attributes:
        target: The size the leg was meant to reach (open: the pair size; close: the position).
        filled: Total filled on this leg by the operation (entry, hedge and rollback orders in the
            leg's direction count positively; rollback orders reduce ``net``).
        net: Signed position change the operation left on this venue (buy +, sell −).
        fills: Every fill, in arrival order.
    """

    venue: str
    symbol: str
    side: Side
    target: Decimal
    filled: Decimal
    net: Decimal
    avg_price: Decimal | None
    fees: Decimal
    maker_size: Decimal
    arrival_mid: Decimal | None
    fills: tuple[Fill, ...] = ()

    @property
    def cost_bps(self) -> float | None:
        """Slippage plus fees, in bps of the arrival notional."""
        slip = self.slippage_bps
        if slip is None or not self.arrival_mid or self.filled == 0:
            return None
        return slip + float(self.fees / (self.filled * self.arrival_mid) * 10_000)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (fills summarised by trade id)."""
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "side": self.side.value,
            "target": str(self.target),
            "filled": str(self.filled),
            "net": str(self.net),
            "avg_price": None if self.avg_price is None else str(self.avg_price),
            "fees": str(self.fees),
            "maker_size": str(self.maker_size),
            "maker_share": self.maker_share,
            "arrival_mid": None if self.arrival_mid is None else str(self.arrival_mid),
            "slippage_bps": self.slippage_bps,
            "cost_bps": self.cost_bps,
            "fills": [
                {
                    "trade_id": f.trade_id,
                    "client_id": f.client_id,
                    "side": f.side.value,
                    "price": str(f.price),
                    "size": str(f.size),
                    "fee": str(f.fee),
                    "liquidity": f.liquidity.value,
                    "ts_ns": f.ts_ns,
                }
                for f in self.fills
            ],
        }


class OpenStatus(enum.StrEnum):
    """How an open ended."""

    OPENED = "opened"
    """Every leg filled the requested size (within dust)."""
    PARTIAL = "partial"
    """Hedged, but smaller than requested: the legs are equal (within dust) at ``size``."""
    NOT_FILLED = "not_filled"
    """Nothing filled; nothing is left resting."""
    REFUSED = "refused"
    """The pre-flight refused it; nothing was placed."""
    ROLLED_BACK = "rolled_back"
    """The pair could not be completed by the deadline; what filled was flattened."""
    EXPOSED = "exposed"
    """Neither hedged nor flat: ``exposure`` in the result says which leg and how much."""


class CloseStatus(enum.StrEnum):
    """How a close ended."""

    CLOSED = "closed"
    """Every leg is flat (within dust)."""
    NOTHING_TO_CLOSE = "nothing_to_close"
    """Every leg was already flat."""
    EXPOSED = "exposed"
    """A leg could not be flattened by the deadline."""


@dataclass(frozen=True, slots=True)
class Rollback:
    """What a rollback did.

    Attributes:
        flattened: Size unwound per venue.
        cost: Quote-currency cost of the round trips, fees included (positive: a loss).
        complete: Every leg ended flat (within dust).
    """

    flattened: dict[str, Decimal]
    cost: Decimal
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "flattened": {k: str(v) for k, v in self.flattened.items()},
            "cost": str(self.cost),
            "complete": self.complete,
        }


@dataclass(frozen=True, slots=True)
class AtomicResult:
    """The outcome of :meth:`~hedgekit.execution.AtomicExecutor.open`.

    Attributes:
        status: How it ended.
        reason: Why, in words (pre-flight failure, deadline, ...; secrets masked).
        requested: The pair size asked for.
        size: The size both legs hold at the end (within dust).
        legs: One result per leg, in the order given.
        hedges: The hedge orders worked.
        hedge_latency_ns: From the first fill to the hedge complete (``None`` without a hedge).
        exposure_usd_s: Unhedged exposure integrated over time: ``∫ |Σ signed fills| x mid dt``.
        max_exposure_usd: The largest unhedged notional seen.
        dust: Imbalance left below a venue's minimum order, per venue (recorded, not traded).
        rollback: What the rollback did, if one ran.
        incidents: What happened, in order.
        unresolved: Orders (``"venue:client_id"``) the venues had not answered for when the
            open returned (still live, or in doubt): their fills are unknown, so the status is
            ``exposed``.
    """

    status: OpenStatus
    reason: str | None
    requested: Decimal
    size: Decimal
    legs: tuple[LegResult, ...]
    hedges: tuple[ExecutionResult, ...] = ()
    hedge_latency_ns: int | None = None
    exposure_usd_s: float = 0.0
    max_exposure_usd: float = 0.0
    dust: dict[str, Decimal] = field(default_factory=dict)
    rollback: Rollback | None = None
    incidents: tuple[Incident, ...] = ()
    started_ns: int = 0
    ended_ns: int = 0
    unresolved: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _redact_fields(self, "reason")

    @property
    def ok(self) -> bool:
        """True when the pair is on (fully or partly) or nothing happened, and nothing is exposed."""
        return self.status in (
            OpenStatus.OPENED,
            OpenStatus.PARTIAL,
            OpenStatus.NOT_FILLED,
            OpenStatus.REFUSED,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "status": self.status.value,
            "reason": self.reason,
            "requested": str(self.requested),
            "size": str(self.size),
            "legs": [leg.to_dict() for leg in self.legs],
            "hedges": [h.to_dict() for h in self.hedges],
            "hedge_latency_ns": self.hedge_latency_ns,
            "exposure_usd_s": self.exposure_usd_s,
            "max_exposure_usd": self.max_exposure_usd,
            "dust": {k: str(v) for k, v in self.dust.items()},
            "rollback": None if self.rollback is None else self.rollback.to_dict(),
            "incidents": [i.to_dict() for i in self.incidents],
            "started_ns": self.started_ns,
            "ended_ns": self.ended_ns,
            "unresolved": list(self.unresolved),
        }


@dataclass(frozen=True, slots=True)
class CloseResult:
    """The outcome of :meth:`~hedgekit.execution.CloseExecutor.close`.

    Attributes:
        status: How it ended.
        reason: Why, in words, when it did not close (secrets masked).
        positions_before: Signed position per venue at the start.
        positions_after: Signed position per venue at the end (re-read from the venues).
        legs: One result per leg (the closing fills).
        phase: ``"passive"`` when phase 1 closed everything, ``"phase2"`` when the remainder
            needed it, ``"emergency"`` for a lone leg.
        dust: Remainders below a venue's minimum, per venue (recorded, not traded).
        imbalance: How far apart the legs were at the start (``|Σ positions|``): each leg closes
            to flat on its own, so this is never traded.
        unresolved: Orders (``"venue:client_id"``) the venues had not answered for when the
            close returned: the status is then ``exposed``.
    """

    status: CloseStatus
    reason: str | None
    positions_before: dict[str, Decimal]
    positions_after: dict[str, Decimal]
    legs: tuple[LegResult, ...]
    phase: str
    orders: tuple[ExecutionResult, ...] = ()
    dust: dict[str, Decimal] = field(default_factory=dict)
    imbalance: Decimal = _ZERO
    exposure_usd_s: float = 0.0
    incidents: tuple[Incident, ...] = ()
    started_ns: int = 0
    ended_ns: int = 0
    unresolved: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _redact_fields(self, "reason")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "status": self.status.value,
            "reason": self.reason,
            "positions_before": {k: str(v) for k, v in self.positions_before.items()},
            "positions_after": {k: str(v) for k, v in self.positions_after.items()},
            "legs": [leg.to_dict() for leg in self.legs],
            "phase": self.phase,
            "orders": [o.to_dict() for o in self.orders],
            "dust": {k: str(v) for k, v in self.dust.items()},
            "imbalance": str(self.imbalance),
            "exposure_usd_s": self.exposure_usd_s,
            "incidents": [i.to_dict() for i in self.incidents],
            "started_ns": self.started_ns,
            "ended_ns": self.ended_ns,
            "unresolved": list(self.unresolved),
        }
