"""Configuration of the simulated venue: one frozen dataclass per model, deterministic defaults.

Every knob of ``docs/simulation.md`` lives here. Defaults give a venue with no latency jitter, no
faults and no external flow, so a unit test is exact; scenarios turn on what they exercise.
Items the venues leave unconfirmed (Aster's post-only answer, Hyperliquid's 429 body) are switches
on the :class:`Personality`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from hedgekit._core import Instrument
from hedgekit.risk.tiers import MarginTable

__all__ = [
    "ASTER_TABLE",
    "DEFAULT_COLLATERAL",
    "HYPERLIQUID_TABLE",
    "LIGHTER_TABLE",
    "REQUEST_OPS",
    "CancelSplit",
    "CancelUnknownStyle",
    "DeliveryConfig",
    "Disconnect",
    "FaultConfig",
    "FeeConfig",
    "FillConfig",
    "Lat",
    "LatencyConfig",
    "LatencyProfile",
    "LostMessage",
    "MarginConfig",
    "MarketConfig",
    "MarketFactor",
    "Outage",
    "Personality",
    "PostOnlyMode",
    "QueueConfig",
    "RateLimit",
    "RateLimitConfig",
    "ScriptedEvent",
    "SimInstrument",
    "SimVenueConfig",
    "aster",
    "hyperliquid",
    "latency_profile",
    "lighter",
]

MS = 1_000_000
"""Nanoseconds per millisecond."""

REQUEST_OPS = (
    "place",
    "cancel",
    "modify",
    "status",
    "fills",
    "positions",
    "funding",
    "account",
    "leverage",
    "set_leverage",
    "funding_payments",
    "open_orders",
)
"""The simulated venue's request kinds, as faults and rate limits name them: placing, cancelling
and modifying an order, an order-status query, a fill query, a positions query, a funding-rate
query, an account (margin) query, a leverage query, a leverage change, a funding-payments
query and an open-orders query."""

DEFAULT_COLLATERAL = Decimal(10**12)
"""The simulated account's default collateral: large enough that no test or scenario that does
not set one ever meets a margin refusal or a liquidation."""


@dataclass(frozen=True, slots=True)
class Lat:
    """One latency path: ``base + min(Exp(jitter_mean), cap)`` nanoseconds per message.

    Attributes:
        base_ns: Fixed part.
        jitter_mean_ns: Mean of the exponential jitter (0: none, the default).
        cap_ns: Largest jitter added.
    """

    base_ns: int = 0
    jitter_mean_ns: int = 0
    cap_ns: int = 0

    def __post_init__(self) -> None:
        if self.base_ns < 0 or self.jitter_mean_ns < 0 or self.cap_ns < 0:
            raise ValueError(f"latencies are non-negative: {self!r}")


@dataclass(frozen=True, slots=True)
class LatencyConfig:
    """Latency per path (``sim-models`` §4.1).

    Attributes:
        entry: Client → matching engine (place, cancel, modify, queries).
        response: Engine → REST reply.
        feed_public: Engine → our copy of the book.
        feed_private: Engine → our order/fill streams.
        speed_bumps: Extra entry delay per operation: ``"taker"``, ``"maker"``, ``"cancel"``
            (Lighter standard accounts: 300/200/200 ms).
        schedule: Optional ``(t_ns, base_ns)`` points; the entry/response base is interpolated
            linearly between them (latency spikes).
        p_overload: Probability that a request is refused with an overload (5xx) error before it
            reaches the engine.
    """

    entry: Lat = Lat()
    response: Lat = Lat()
    feed_public: Lat = Lat()
    feed_private: Lat = Lat()
    speed_bumps: tuple[tuple[str, int], ...] = ()
    schedule: tuple[tuple[int, int], ...] = ()
    p_overload: float = 0.0

    def bump(self, op: str) -> int:
        """The speed bump for ``op`` in ns (0 if none)."""
        for name, ns in self.speed_bumps:
            if name == op:
                return ns
        return 0


class LatencyProfile(enum.StrEnum):
    """Named latency presets (``docs/sim-realism.md``, ``sim-models`` §5).

    Each is the network part of a request's round trip (entry + response) and of the feeds; a
    venue's own processing (Hyperliquid's ~70 ms blocks, speed bumps) is not in it and is added
    with ``LatencyConfig.speed_bumps`` or ``schedule``.
    """

    COLOCATED = "colocated"
    """Same region as the venue: round trip 2–5 ms (1 ms each way plus jitter of mean 0.3 ms,
    capped at 1.5 ms); feeds 1–2.5 ms."""
    RETAIL_VPS = "retail_vps"
    """A rented VPS an ocean or a continent away: round trip 50–200 ms (25 ms each way plus
    jitter of mean 20 ms, capped at 75 ms; mean ≈ 90 ms, the capped tail is the occasional
    spike); feeds 25–75 ms."""

    @property
    def round_trip_ns(self) -> tuple[int, int]:
        """The documented range of a request's round trip (entry + response), in ns."""
        cfg = latency_profile(self)
        lo = cfg.entry.base_ns + cfg.response.base_ns
        return lo, lo + cfg.entry.cap_ns + cfg.response.cap_ns


def latency_profile(profile: LatencyProfile | str) -> LatencyConfig:
    """The :class:`LatencyConfig` of a named profile (``"colocated"`` or ``"retail_vps"``).

    Combine with ``dataclasses.replace`` to add speed bumps, a schedule or overloads.

    Raises:
        ValueError: An unknown profile name.
    """
    p = LatencyProfile(profile)
    if p is LatencyProfile.COLOCATED:
        rest, feed = Lat(1 * MS, 300_000, 1_500_000), Lat(1 * MS, 300_000, 1_500_000)
    else:
        rest, feed = Lat(25 * MS, 20 * MS, 75 * MS), Lat(25 * MS, 10 * MS, 50 * MS)
    return LatencyConfig(entry=rest, response=rest, feed_public=feed, feed_private=feed)


class CancelSplit(enum.StrEnum):
    """Where other traders' cancels land in a price level's queue."""

    TAIL = "tail"
    """Behind us (risk-averse, the default): our queue ahead shrinks only by trades."""
    PROPORTIONAL = "proportional"
    """Spread over the whole level in proportion to each segment."""


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """Queue position of resting orders (``sim-models`` §4.2)."""

    cancel_split: CancelSplit = CancelSplit.TAIL
    modify_keeps_priority_on_decrease: bool = True


@dataclass(frozen=True, slots=True)
class FillConfig:
    """How matches become fills (``sim-models`` §4.3).

    Attributes:
        max_fill_per_event: Cap on the size one external trade fills of one resting order of
            ours (forces partial fills), ``None`` for no cap.
        split_fills: Deliver each match as this many child fills with distinct trade ids.
        market_band_bps: How far from the mid a market order without a price may walk.
        shared_trade_id: Every fill one outside trade makes on our resting orders carries that
            trade's one id (a venue reporting the trade, not the fill), so two of our orders
            filled by one trade get fills with the same trade id. Cannot be combined with
            ``split_fills > 1``.
    """

    max_fill_per_event: Decimal | None = None
    split_fills: int = 1
    market_band_bps: Decimal = Decimal(500)
    shared_trade_id: bool = False

    def __post_init__(self) -> None:
        if self.split_fills < 1:
            raise ValueError(f"split_fills must be at least 1, got {self.split_fills}")
        if self.shared_trade_id and self.split_fills > 1:
            raise ValueError("shared_trade_id cannot be combined with split_fills > 1")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One limit: a token bucket (``window_ns == 0``) or a sliding window.

    Attributes:
        key: What it counts (``"ip"``, ``"account"``, ``"orders"``).
        capacity: Bucket size, or most weight per window.
        refill_per_s: Tokens per second (bucket only).
        window_ns: Sliding-window length (0: a token bucket).
        ops: Operations it applies to (empty: all).
    """

    key: str
    capacity: int
    refill_per_s: float = 0.0
    window_ns: int = 0
    ops: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Rate limits checked at venue arrival (``sim-models`` §4.7).

    Attributes:
        limits: The limits; a request passes only if every applicable one has room.
        weights: Weight per operation (default 1).
        ban_after: Refusals within the window after which the venue bans (Aster/Binance 418),
            ``None`` for never.
        ban_ns: Ban length.
    """

    limits: tuple[RateLimit, ...] = ()
    weights: tuple[tuple[str, int], ...] = ()
    ban_after: int | None = None
    ban_ns: int = 120_000 * MS

    def weight(self, op: str) -> int:
        """The weight of ``op``."""
        for name, w in self.weights:
            if name == op:
                return w
        return 1


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """Private-stream delivery faults (``sim-models`` §4.8).

    Attributes:
        p_dup: Probability a fill is delivered twice (same trade id) after up to ``dup_delay_ns``.
        p_holdback: Probability an event is held back up to ``holdback_ns`` and overtaken.
        p_shuffle: Probability the events of one match are permuted.
        fill_before_ack: Deliver the fills of an order that trades at once before its
            acknowledgement, on the stream and ahead of the REST answer.
    """

    p_dup: float = 0.0
    dup_delay_ns: int = 50 * MS
    p_holdback: float = 0.0
    holdback_ns: int = 100 * MS
    p_shuffle: float = 0.0
    fill_before_ack: bool = False


@dataclass(frozen=True, slots=True)
class Disconnect:
    """A stream is down from ``start_ns`` (relative to the venue's start) for ``duration_ns``:
    events are dropped, not queued. On reconnect ``snapshot_fills`` recent fills are re-sent
    (Hyperliquid's ``isSnapshot`` message); 0 means no replay."""

    start_ns: int
    duration_ns: int
    snapshot_fills: int = 0


@dataclass(frozen=True, slots=True)
class LostMessage:
    """The ``n``-th request of kind ``op`` (counted from 1 since the venue started) is lost.

    Attributes:
        op: One of :data:`REQUEST_OPS`.
        n: Which request of that kind (1 = the first).
        kind: ``"answer"``: the engine acts and the answer is lost (the client times out and,
            for a placement, the order exists); ``"request"``: the request is lost before the
            engine (the client times out and nothing happened).
    """

    op: str
    n: int
    kind: str = "answer"

    def __post_init__(self) -> None:
        if self.op not in REQUEST_OPS:
            raise ValueError(f"unknown op {self.op!r}; one of {', '.join(REQUEST_OPS)}")
        if self.n < 1:
            raise ValueError(f"n counts from 1, got {self.n}")
        if self.kind not in ("answer", "request"):
            raise ValueError(f"kind is 'answer' or 'request', got {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Outage:
    """Requests of kind ``op`` that reach the venue from ``start_ns`` (relative to the venue's
    start) for ``duration_ns`` fail with a 503 (an ambiguous answer) and have no effect; other
    kinds of request work."""

    op: str
    start_ns: int
    duration_ns: int

    def __post_init__(self) -> None:
        if self.op not in REQUEST_OPS:
            raise ValueError(f"unknown op {self.op!r}; one of {', '.join(REQUEST_OPS)}")
        if self.start_ns < 0 or self.duration_ns < 0:
            raise ValueError(f"outage times are non-negative: {self!r}")

    def covers(self, op: str, rel_ns: int) -> bool:
        """Whether a request of kind ``op`` arriving at ``rel_ns`` falls in the outage."""
        return op == self.op and self.start_ns <= rel_ns < self.start_ns + self.duration_ns


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Injected faults (``sim-models`` §4.9, §4.11).

    Attributes:
        disconnects: Scripted private-stream outages.
        p_req_loss: Probability a request is lost before the engine (client times out, nothing
            happened).
        p_resp_loss: Probability the engine acts and the answer is lost (client times out, the
            order exists).
        p_reject: Probability a placement is rejected outright (``reason="injected"``).
        reject_windows: Scripted rejections: ``(from_ns, to_ns)`` windows (from the venue's
            start) in which every placement is rejected.
        request_timeout_ns: How long the client waits for a REST answer.
        feed_stalls: Windows in which the public book feed sends nothing (our book goes stale).
        p_feed_drop: Probability that one book diff is lost (Aster-style feeds then report a
            sequence gap and resynchronise from a REST snapshot).
        reject_post_only: Every post-only placement (and every modify of a post-only order) is
            refused with the personality's post-only answer, whether or not it would cross.
        lose_answers: Scripted losses: the n-th request of a kind loses its answer or itself.
        outages: Windows in which one kind of request fails with a 503.
        fill_processing_errors: A client-side fault, applied by the scenario runner rather than
            by the venue: the first this-many fills of this venue applied by the client make its
            fill processing raise once each (downstream of the fill ledger).
    """

    disconnects: tuple[Disconnect, ...] = ()
    p_req_loss: float = 0.0
    p_resp_loss: float = 0.0
    p_reject: float = 0.0
    reject_windows: tuple[tuple[int, int], ...] = ()
    request_timeout_ns: int = 2_000 * MS
    feed_stalls: tuple[Disconnect, ...] = ()
    p_feed_drop: float = 0.0
    reject_post_only: bool = False
    lose_answers: tuple[LostMessage, ...] = ()
    outages: tuple[Outage, ...] = ()
    fill_processing_errors: int = 0

    def __post_init__(self) -> None:
        if self.fill_processing_errors < 0:
            raise ValueError(
                f"fill_processing_errors must be >= 0, got {self.fill_processing_errors}"
            )


@dataclass(frozen=True, slots=True)
class FeeConfig:
    """Maker and taker rates (fractions; negative is a rebate) and the fee's decimals."""

    maker_rate: Decimal
    taker_rate: Decimal
    fee_decimals: int = 6


class PostOnlyMode(enum.StrEnum):
    """What a venue does with a post-only order that would cross (``venues.md`` §0, §2.7)."""

    SYNC_REJECT = "sync_reject"
    """Hyperliquid: an error in the answer, no order created."""
    ACCEPT_THEN_EXPIRE = "accept_then_expire"
    """Aster (legacy Binance): ``NEW`` in the answer, then ``EXPIRED`` on the stream."""
    ACCEPT_THEN_CANCEL = "accept_then_cancel"
    """Lighter: the transaction is accepted, then the order ends ``canceled-post-only``."""
    SYNC_REJECT_CODE = "sync_reject_code"
    """Binance since 2023-03: ``-5022`` in the answer."""


class CancelUnknownStyle(enum.StrEnum):
    """How a venue answers a cancel for an order that is not open."""

    SYNC_ERROR = "sync_error"
    """An error in the answer (Hyperliquid's one text, Aster -2011), not saying which case."""
    ASYNC_REJECT = "async_reject"
    """The request is accepted and rejected later by the sequencer (Lighter 21600)."""


_GENERIC_TABLE = MarginTable.hyperliquid(20)

# Example margin tables, one per venue convention. The numbers are illustrative (a major market
# on each venue, from public documentation at the time of writing), not read from a venue: give
# each simulated instrument the table of the market it stands for.
HYPERLIQUID_TABLE = MarginTable.hyperliquid(25)
"""Hyperliquid, one tier (a table id below 50): max leverage 25, maintenance rate
``1 / (2 * 25)`` = 2%."""
ASTER_TABLE = MarginTable.binance_brackets(
    {"notionalFloor": floor, "initialLeverage": lev, "maintMarginRatio": rate, "cum": cum}
    for floor, lev, rate, cum in (
        (0, 125, "0.004", 0),
        (50_000, 100, "0.005", 50),
        (500_000, 75, "0.0065", 800),
        (1_000_000, 50, "0.01", 4_300),
        (5_000_000, 20, "0.02", 54_300),
        (50_000_000, 10, "0.05", 1_554_300),
        (100_000_000, 5, "0.1", 6_554_300),
        (150_000_000, 4, "0.125", 10_304_300),
        (300_000_000, 2, "0.25", 47_804_300),
        (500_000_000, 1, "0.5", 172_804_300),
    )
)
"""Aster (Binance USDⓈ-M ``leverageBracket`` style), ten brackets of an ETHUSDT-like market: 125x
and 0.4% up to 50,000 of notional, down to 1x and 50% from 500 million."""
LIGHTER_TABLE = MarginTable.lighter(500, 300)
"""Lighter, one tier from ``orderBookDetails`` fractions: ``min_initial_margin_fraction`` 500
(20x), ``maintenance_margin_fraction`` 300 (3%)."""


@dataclass(frozen=True, slots=True)
class Personality:
    """A venue's behaviour and texts.

    Use :func:`hyperliquid`, :func:`aster` or :func:`lighter` and ``dataclasses.replace`` to
    flip a switch.
    """

    name: str
    post_only_mode: PostOnlyMode
    post_only_text: str
    post_only_code: int | None
    min_notional_text: str
    min_notional_code: int | None
    min_size_text: str
    min_size_code: int | None
    off_tick_text: str
    off_tick_code: int | None
    off_step_text: str
    off_step_code: int | None
    cancel_unknown_text: str
    cancel_unknown_code: int | None
    cancel_unknown_style: CancelUnknownStyle
    rate_limit_text: str
    rate_limit_code: int
    fees: FeeConfig
    funding_interval_s: int
    supports_modify: bool
    min_check_async: bool = False
    """Minimum-size/notional failures are reported on the stream after an accepted answer
    (Lighter's 21706 is a sequencer error) instead of in the answer."""
    modify_new_id: bool = False
    """A modify is a cancel-and-replace with a new venue order id (Hyperliquid's modify may be;
    ``venues.md`` says to treat the returned oid as authoritative): the answer carries the new
    id, later fills and order updates name only it, and the old id reads as cancelled. The client
    order id carries over."""
    margin_table: MarginTable = _GENERIC_TABLE
    """The margin tiers of an instrument that does not give its own
    (:attr:`SimInstrument.margin_table`)."""
    default_leverage: Decimal = Decimal(20)
    """The leverage a symbol starts at when its instrument does not say (capped at the table's
    first tier)."""
    insufficient_margin_text: str = "Insufficient margin to place order."
    """The answer to an order that would leave available margin negative."""
    insufficient_margin_code: int | None = None
    max_position_text: str = (
        "Order would cause position to exceed margin tier limit at current leverage"
    )
    """The answer to an order whose resulting position is in a tier whose leverage cap is below
    the symbol's leverage."""
    max_position_code: int | None = None
    leverage_text: str = "Invalid leverage value."
    """The answer to a leverage change above the cap of the tier the current position is in
    (``{leverage}`` and ``{cap}`` are filled in). UNCONFIRMED for every venue: a switch."""
    leverage_code: int | None = None
    margin_check_async: bool = False
    """An order refused for margin is accepted in the answer and rejected on the stream (Lighter:
    the sequencer refuses it after ``sendTx`` returned 200)."""
    reports_liquidation_price: bool = True
    """Positions carry the venue's liquidation price (Hyperliquid and Lighter may return null:
    turn this off to model that)."""
    liquidation_client_id: str = "liquidation-{n}"
    """The client id of a liquidation's fills (``{n}`` counts the venue's forced orders)."""
    adl_client_id: str = "adl-{n}"
    """The client id of an auto-deleveraging fill."""
    liquidation_cancel_text: str = "liquidatedCanceled"
    """The reason on our open orders the venue cancels when it liquidates the account."""


def hyperliquid(**overrides: object) -> Personality:
    """Hyperliquid: synchronous post-only error, $10 minimum value, 1.5/4.5 bps, hourly funding,
    ``Insufficient margin to place order.``, a one-tier 25x table, 20x by default."""
    base = Personality(
        name="hyperliquid",
        post_only_mode=PostOnlyMode.SYNC_REJECT,
        post_only_text=(
            "Post only order would have immediately matched, bbo was {bid}@{ask}. asset={asset}"
        ),
        post_only_code=None,
        min_notional_text="Order must have minimum value of $10.",
        min_notional_code=None,
        min_size_text="Order has zero size.",
        min_size_code=None,
        off_tick_text="Price must be divisible by tick size.",
        off_tick_code=None,
        off_step_text="Order has invalid size.",
        off_step_code=None,
        cancel_unknown_text="Order was never placed, already canceled, or filled.",
        cancel_unknown_code=None,
        cancel_unknown_style=CancelUnknownStyle.SYNC_ERROR,
        rate_limit_text="Too many requests",
        rate_limit_code=429,
        fees=FeeConfig(Decimal("0.00015"), Decimal("0.00045")),
        funding_interval_s=3600,
        supports_modify=True,
        margin_table=HYPERLIQUID_TABLE,
        default_leverage=Decimal(20),
        insufficient_margin_text="Insufficient margin to place order.",
        max_position_text=(
            "Order would cause position to exceed margin tier limit at current leverage"
        ),
        leverage_text="Invalid leverage value.",
        liquidation_client_id="liquidation-{n}",
        adl_client_id="adl-{n}",
        liquidation_cancel_text="liquidatedCanceled",
    )
    return _replace(base, overrides)


def aster(**overrides: object) -> Personality:
    """Aster (Binance-futures style): post-only accepted then ``EXPIRED`` (switch:
    ``post_only_mode=PostOnlyMode.SYNC_REJECT_CODE`` for -5022), -4164 minimum notional with
    reduce-only exempt, 1.0/3.5 bps, 8-hour funding, -2019 ``Margin is insufficient.``,
    Binance-style leverage brackets (-2027 beyond them), 20x by default, liquidation fills named
    ``autoclose-…`` and ADL fills ``adl_autoclose``."""
    base = Personality(
        name="aster",
        post_only_mode=PostOnlyMode.ACCEPT_THEN_EXPIRE,
        post_only_text=(
            "Due to the order could not be executed as maker, the Post Only order will be "
            "rejected. The order will not be recorded in the order history"
        ),
        post_only_code=-5022,
        min_notional_text="Order's notional must be no smaller than {min} (unless you choose reduce only)",
        min_notional_code=-4164,
        min_size_text="Quantity less than min quantity.",
        min_size_code=-4004,
        off_tick_text="Price not increased by tick size.",
        off_tick_code=-4014,
        off_step_text="Qty not increased by step size.",
        off_step_code=-4023,
        cancel_unknown_text="Unknown order sent.",
        cancel_unknown_code=-2011,
        cancel_unknown_style=CancelUnknownStyle.SYNC_ERROR,
        rate_limit_text="Too many requests; current limit is exceeded.",
        rate_limit_code=429,
        fees=FeeConfig(Decimal("0.0001"), Decimal("0.00035")),
        funding_interval_s=8 * 3600,
        supports_modify=True,
        margin_table=ASTER_TABLE,
        default_leverage=Decimal(20),
        insufficient_margin_text="Margin is insufficient.",
        insufficient_margin_code=-2019,
        max_position_text="Exceeded the maximum allowable position at current leverage.",
        max_position_code=-2027,
        leverage_text="Exceeded the maximum allowable position at current leverage.",
        leverage_code=-2027,
        liquidation_client_id="autoclose-{n}",
        adl_client_id="adl_autoclose",
        liquidation_cancel_text="liquidation",
    )
    return _replace(base, overrides)


def lighter(**overrides: object) -> Personality:
    """Lighter (standard account): post-only accepted then ``canceled-post-only``, 21706
    minimums, zero fees, hourly funding, cancels rejected later by the sequencer, 21739
    ``not enough margin to create the order`` from the sequencer (on the stream), a one-tier
    20x / 3% table."""
    base = Personality(
        name="lighter",
        post_only_mode=PostOnlyMode.ACCEPT_THEN_CANCEL,
        post_only_text="canceled-post-only",
        post_only_code=None,
        min_notional_text="invalid order base or quote amount",
        min_notional_code=21706,
        min_size_text="invalid order base or quote amount",
        min_size_code=21706,
        off_tick_text="invalid price",
        off_tick_code=21702,
        off_step_text="invalid base amount",
        off_step_code=21701,
        cancel_unknown_text="given order is not an active limit order",
        cancel_unknown_code=21600,
        cancel_unknown_style=CancelUnknownStyle.ASYNC_REJECT,
        rate_limit_text="Too Many Requests!",
        rate_limit_code=23000,
        fees=FeeConfig(Decimal(0), Decimal(0)),
        funding_interval_s=3600,
        supports_modify=True,
        min_check_async=True,
        margin_table=LIGHTER_TABLE,
        default_leverage=Decimal(20),
        insufficient_margin_text="not enough margin to create the order",
        insufficient_margin_code=21739,
        max_position_text="canceled-position-not-allowed",
        max_position_code=None,
        leverage_text="invalid initial margin fraction",
        margin_check_async=True,
        liquidation_client_id="liquidation-{n}",
        adl_client_id="deleverage-{n}",
        liquidation_cancel_text="canceled-liquidation",
    )
    return _replace(base, overrides)


def _replace(base: Personality, overrides: dict[str, object]) -> Personality:
    import dataclasses

    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ScriptedEvent:
    """External market activity at a given venue time.

    Attributes:
        at_ns: Venue time (ns since the scenario's start).
        action: ``"trade"`` (an outside taker: ``side`` is the aggressor, it consumes the
            opposite side's depth up to ``price`` if given), ``"cancel"`` or ``"add"`` (outside
            liquidity leaving or joining the ``side`` book at ``price``), ``"mid"`` (move the
            external book's centre to ``price``), ``"funding"`` (set the funding rate to
            ``price``, a fraction per interval), ``"adl"`` (the venue auto-deleverages ``size``
            of our position at the mark; nothing when flat). A ``"mid"`` move past our
            position's liquidation price liquidates it.
    """

    at_ns: int
    action: str
    side: str | None = None
    size: Decimal | None = None
    price: Decimal | None = None

    def __post_init__(self) -> None:
        needs = {
            "trade": ("side", "size"),
            "cancel": ("side", "size", "price"),
            "add": ("side", "size", "price"),
            "mid": ("price",),
            "funding": ("price",),
            "adl": ("size",),
        }
        if self.action not in needs:
            raise ValueError(f"unknown scripted action {self.action!r}; one of {sorted(needs)}")
        missing = [f for f in needs[self.action] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"scripted {self.action!r} at {self.at_ns} ns needs {missing}")
        if self.side is not None and self.side not in ("buy", "sell"):
            raise ValueError(f"scripted side must be 'buy' or 'sell', got {self.side!r}")
        if self.at_ns < 0:
            raise ValueError(f"scripted time must be >= 0, got {self.at_ns}")
        if self.action == "adl" and self.size is not None and self.size <= 0:
            raise ValueError(f"scripted adl size must be positive, got {self.size}")


@dataclass(frozen=True, slots=True)
class MarketFactor:
    """A price process several venues share: ``mid_v = F · (1 + B_v)`` (``docs/sim-realism.md``).

    ``F`` is a geometric random walk on the absolute clock grid of ``step_ns``, derived from
    ``seed`` alone, so separate venues built with the same factor move together without sharing
    state; each venue adds its own mean-reverting basis ``B_v`` (an Ornstein–Uhlenbeck process,
    starting at 0, drawn from the venue's seed). Give either ``correlation_1s`` (the basis is
    sized so two venues' 1 s log returns correlate this much, tick rounding included) or
    ``basis_vol_bps`` (the basis's stationary standard deviation), not both; with neither the
    correlation is :attr:`DEFAULT_CORRELATION`.

    Attributes:
        vol_bps_per_sqrt_s: Volatility of ``F`` (calm ETH ≈ 1, stressed ≈ 8).
        correlation_1s: Target correlation of two venues' 1 s log returns, in (0, 1].
        basis_vol_bps: Stationary standard deviation of each venue's basis, in bps.
        basis_half_life_s: Half-life of the basis's mean reversion.
        step_ns: Grid step of ``F`` and of the bases (every venue's mid moves on it).
        seed: Seeds ``F`` (the scenario derives it from its own seed).
    """

    DEFAULT_CORRELATION: ClassVar[float] = 0.95
    """The correlation used when neither ``correlation_1s`` nor ``basis_vol_bps`` is given."""

    vol_bps_per_sqrt_s: float = 1.0
    correlation_1s: float | None = None
    basis_vol_bps: float | None = None
    basis_half_life_s: float = 20.0
    step_ns: int = 250 * MS
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.vol_bps_per_sqrt_s) and self.vol_bps_per_sqrt_s > 0):
            raise ValueError(f"vol_bps_per_sqrt_s must be positive, got {self.vol_bps_per_sqrt_s}")
        if self.correlation_1s is not None and self.basis_vol_bps is not None:
            raise ValueError("give correlation_1s or basis_vol_bps, not both")
        c = self.correlation_1s
        if c is not None and not (math.isfinite(c) and 0 < c <= 1):
            raise ValueError(f"correlation_1s must lie in (0, 1], got {c}")
        b = self.basis_vol_bps
        if b is not None and not (math.isfinite(b) and b >= 0):
            raise ValueError(f"basis_vol_bps must be >= 0, got {b}")
        h = self.basis_half_life_s
        if not (math.isfinite(h) and h > 0):
            raise ValueError(f"basis_half_life_s must be positive, got {h}")
        if self.step_ns <= 0:
            raise ValueError(f"step_ns must be positive, got {self.step_ns}")

    @property
    def correlation(self) -> float | None:
        """The target correlation of 1 s returns (``None`` when ``basis_vol_bps`` sizes the
        basis instead)."""
        if self.basis_vol_bps is not None:
            return None
        return self.DEFAULT_CORRELATION if self.correlation_1s is None else self.correlation_1s

    def basis_std(self, rounding_var: float = 0.0) -> float:
        """The stationary standard deviation of a venue's basis, as a fraction of the price.

        From a target correlation ρ: two venues' 1 s returns are ``ΔlogF + ΔB_v``, so
        ``ρ = σ_F² / (σ_F² + v)`` with ``v = 2 s² (1 − e^{−κ·1 s})`` the variance of a 1 s basis
        increment (``κ = ln 2 / half-life``). ``rounding_var`` is the variance the venue's tick
        rounding adds to its 1 s log returns; it is taken out of ``v`` (down to 0), so the
        correlation measured on tick-rounded mids is the target where the tick allows it.

        Args:
            rounding_var: Variance of tick rounding in a 1 s log return (``(tick/mid)² / 6``).
        """
        if self.basis_vol_bps is not None:
            return self.basis_vol_bps / 10_000
        rho = self.correlation
        assert rho is not None
        sigma2 = (self.vol_bps_per_sqrt_s / 10_000) ** 2
        v = max(0.0, sigma2 * (1.0 / rho - 1.0) - rounding_var)
        kappa = math.log(2) / self.basis_half_life_s
        return math.sqrt(v / (2.0 * (1.0 - math.exp(-kappa))))


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """The external market around our orders (``sim-models`` §4.2, §5).

    The external book is rebuilt around the mid on every move: ``levels`` levels per side,
    ``spread_ticks`` apart at the touch then one tick apart, each of ``level_size`` (times
    ``1 + (i * depth_growth)`` for the i-th level). Levels our own orders sit in keep their queue.
    With ``level_size_max`` each price level's base size is drawn once, uniformly between
    ``level_size`` and ``level_size_max``, from the venue's seed and the level's price (so a level
    keeps its size as the mid moves around it).

    Attributes:
        mid: The starting mid price.
        tick: Spacing of the generated external levels (a multiple of the rules' tick).
        levels: Levels per side.
        level_size: Size at the touch.
        depth_growth: Growth of level size with depth.
        spread_ticks: Ticks between best bid and best ask.
        vol_bps_per_sqrt_s: Random-walk volatility of the mid (0: a still market).
        walk_interval_ns: How often the random walk steps.
        trade_rate_per_s: Poisson rate of outside market orders per side (0: none).
        trade_size: Median size of an outside market order (log-normal, sigma 0.5).
        funding_rate: Funding rate per interval (fraction).
        script: Scripted external events.
        level_size_max: Upper end of the per-level size draw (``None``: every level holds
            ``level_size``).
        factor: A shared market factor driving the mid instead of the venue's own random walk
            (``vol_bps_per_sqrt_s`` must then be 0).
        factor_lag_ns: This venue sees the factor this late (lead–lag: the lagging venue's
            resting orders are the ones picked off).
        informed_share: Share of outside market orders that are informed: such a trade's side
            is the sign of the factor's move from what this venue shows now to
            ``informed_horizon_ns`` ahead (needs ``factor``).
        informed_horizon_ns: How far ahead informed flow sees the factor.
        refill_interval_ns: In a still market (no walk, no factor), the outside book is rebuilt
            at its mid this often: makers quote again what outside flow took, as on a real
            venue. 0 (the default): a still book that outside trades deplete stays depleted.
    """

    mid: Decimal
    tick: Decimal
    levels: int = 20
    level_size: Decimal = Decimal(5)
    depth_growth: Decimal = Decimal("0.25")
    spread_ticks: int = 1
    vol_bps_per_sqrt_s: float = 0.0
    walk_interval_ns: int = 500 * MS
    trade_rate_per_s: float = 0.0
    trade_size: Decimal = Decimal(1)
    funding_rate: Decimal = Decimal(0)
    script: tuple[ScriptedEvent, ...] = ()
    level_size_max: Decimal | None = None
    factor: MarketFactor | None = None
    factor_lag_ns: int = 0
    informed_share: float = 0.0
    informed_horizon_ns: int = 2_000 * MS
    refill_interval_ns: int = 0

    def __post_init__(self) -> None:
        if self.level_size_max is not None and self.level_size_max < self.level_size:
            raise ValueError(
                f"level_size_max {self.level_size_max} is below level_size {self.level_size}"
            )
        if self.factor is not None and self.vol_bps_per_sqrt_s > 0:
            raise ValueError("a market driven by a factor has no random walk of its own")
        if not (math.isfinite(self.informed_share) and 0 <= self.informed_share <= 1):
            raise ValueError(f"informed_share must lie in [0, 1], got {self.informed_share}")
        if self.factor is None and (self.informed_share > 0 or self.factor_lag_ns != 0):
            raise ValueError("informed flow and a factor lag need a market factor")
        if self.refill_interval_ns < 0:
            raise ValueError(f"refill_interval_ns must be >= 0, got {self.refill_interval_ns}")
        if self.refill_interval_ns and (self.factor is not None or self.vol_bps_per_sqrt_s > 0):
            raise ValueError("a refill belongs to a still market (its walk rebuilds the book)")
        if self.factor_lag_ns < 0 or self.informed_horizon_ns <= 0:
            raise ValueError("factor_lag_ns must be >= 0 and informed_horizon_ns positive")


@dataclass(frozen=True, slots=True)
class SimInstrument:
    """One simulated market: its symbol, order rules and external market.

    Attributes:
        margin_table: The market's margin tiers (``None``: the personality's table).
        leverage: The leverage the symbol starts at (``None``: the personality's default, capped
            at the table's first tier).
        funding_interval_s: Seconds between funding payments (``None``: the personality's;
            Aster's interval is per symbol, 8 h or 4 h).
        funding_continuous_s: ``None`` (the default): funding is periodic, the full interval's
            rate paid at each settlement instant. A number of seconds: funding is continuous
            (:meth:`FundingSchedule.continuous <hedgekit.risk.FundingSchedule.continuous>`,
            the rate still quoted per ``funding_interval_s``), accrued pro rata and realised
            every that many seconds, each payment the pro-rata amount since the previous one.
    """

    symbol: str
    rules: Instrument
    market: MarketConfig
    asset_id: int = 0
    margin_table: MarginTable | None = None
    leverage: Decimal | None = None
    funding_interval_s: int | None = None
    funding_continuous_s: int | None = None

    def __post_init__(self) -> None:
        step = self.funding_continuous_s
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step <= 0):
            raise ValueError(f"funding_continuous_s must be a positive int, got {step!r}")
        if self.leverage is not None and not (self.leverage.is_finite() and self.leverage > 0):
            raise ValueError(f"leverage must be positive, got {self.leverage}")
        if self.funding_interval_s is not None and self.funding_interval_s <= 0:
            raise ValueError(f"funding_interval_s must be positive, got {self.funding_interval_s}")


@dataclass(frozen=True, slots=True)
class MarginConfig:
    """The simulated account: cross margin over every instrument of the venue.

    Attributes:
        collateral: Starting collateral (wallet balance, quote units); realised PnL, fees and
            funding move it. The default, :data:`DEFAULT_COLLATERAL`, is large enough that no
            order is refused for margin and nothing is liquidated unless a test sets less.
        liquidation_fee_rate: Fee on a liquidation's fill, a fraction of its notional (``None``:
            the taker rate). Venues publish one per market (Aster ``liquidationFee``, Lighter
            ``liquidation_fee``).
        funding_anchor_ns: One funding settlement instant (clock ns since the epoch): payments
            happen at ``anchor + k * interval``; 0 settles on the interval's UTC boundaries, as
            the venues do.
    """

    collateral: Decimal = DEFAULT_COLLATERAL
    liquidation_fee_rate: Decimal | None = None
    funding_anchor_ns: int = 0

    def __post_init__(self) -> None:
        if not (self.collateral.is_finite() and self.collateral >= 0):
            raise ValueError(f"collateral must be >= 0, got {self.collateral}")
        rate = self.liquidation_fee_rate
        if rate is not None and not (rate.is_finite() and 0 <= rate < 1):
            raise ValueError(f"liquidation_fee_rate must lie in [0, 1), got {rate}")


DEFAULT_REQUEST_EXPIRY_NS = 4_000 * MS
"""A placement's deadline, counted from when it is sent (:attr:`SimVenueConfig.request_expiry_ns`):
with the tracker's 1 s margin for clocks it matches the 5 s a session waits by default before it
believes "no such order"."""


@dataclass(frozen=True, slots=True)
class SimVenueConfig:
    """Everything a simulated venue needs; deterministic for a given ``seed``.

    Attributes:
        name: The venue's name (events and fills carry it).
        personality: Texts, post-only style, fees, funding interval.
        instruments: The markets.
        latency / queue / fills / limits / delivery / faults: The models.
        seed: Seeds every random stream (one per component, so an extra draw in one never
            shifts another).
        book_depth: Levels per side in our copy of the book.
        book_heartbeat_ns: The feed re-sends the book at least this often even when nothing
            changed (Hyperliquid pushes a snapshot every block, about 0.5 s), so our copy's age
            measures the feed's health, not the market's calm. 0 sends changes only.
        margin: The account: collateral, liquidation fee, funding settlement instants.
        check_rules: The adapter half checks every priced order against the instrument's
            rules before sending it (:class:`~hedgekit.errors.InvalidOrderError`, nothing
            sent), as the live adapters do. Off by default, so that a scenario meets the
            venue's own refusal (its text, code and timing: Lighter's minimum arrives on the
            stream).
        request_expiry_ns: The deadline the adapter half stamps on every placement and modify,
            from the moment it sends it (Hyperliquid's ``expiresAfter``, Lighter's
            ``ExpiredAt``, a Binance-style ``recvWindow``): one that reaches the matching engine
            later is refused unexecuted ("expired"). It bounds how long a request whose answer
            was lost can still take effect, so a status query that finds no order once it has
            passed (with a margin for clocks) proves the order never existed
            (:attr:`SimVenue.placement_window_ns`). 0: no deadline, a request may execute
            whenever it arrives.
    """

    name: str
    personality: Personality
    instruments: tuple[SimInstrument, ...]
    latency: LatencyConfig = LatencyConfig()
    queue: QueueConfig = QueueConfig()
    fills: FillConfig = FillConfig()
    limits: RateLimitConfig = RateLimitConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    faults: FaultConfig = FaultConfig()
    seed: int = 0
    book_depth: int = 20
    book_heartbeat_ns: int = 500 * MS
    margin: MarginConfig = MarginConfig()
    check_rules: bool = False
    request_expiry_ns: int = DEFAULT_REQUEST_EXPIRY_NS

    def __post_init__(self) -> None:
        if self.request_expiry_ns < 0:
            raise ValueError(f"request_expiry_ns must be >= 0, got {self.request_expiry_ns}")
