"""Type stubs and Python-facing documentation of ``hedgekit._core`` (the Rust extension).

Numbers: APIs that take prices and sizes accept ``Decimal``, ``str`` or ``int`` and convert them
exactly (a ``float`` is refused unless the API's name says ``float``). Hot-path APIs named
``*_raw`` take and return raw fixed-point integers: ``raw == value * 10**SCALE`` exactly.

Range: every value is held exactly with 9 decimals in ``±9223372036.854775807`` (a signed 64-bit
count of 1e-9). An input outside it, and any result that would leave it (a price rounded or
stepped past the largest value, a sum of fills), raises
:class:`hedgekit.errors.NumberRangeError`: a result is exact or refused, never wrapped or
saturated (the one documented exception is :meth:`OrderBook.size_within_bps`, a lower bound).
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeAlias, final

SCALE: Final[int]
"""Decimal places of the raw fixed-point representation (9)."""
__version__: Final[str]

class PanicException(BaseException):
    """A Rust panic surfaced as a Python exception (a bug in hedgekit; never a process abort)."""

def _panic_for_tests() -> None: ...

# --- instrument (rules and rounding) ---
@final
class Instrument:
    """One market's order rules on one venue: price grid, size step, minimums, rule kind.

    Build one with :meth:`plain` (Binance/Aster filters), :meth:`hyperliquid` or :meth:`lighter`.
    Rounding is to multiples of the grid and side-aware: a passive buy rounds down and a passive
    sell rounds up, so a rounded price never improves on its input.
    """

    @staticmethod
    def plain(
        tick_size: Decimal | str | int,
        step_size: Decimal | str | int,
        min_qty: Decimal | str | int = ...,
        min_notional: Decimal | str | int = ...,
        max_decimals: int | None = None,
        reduce_only_exempt: bool = True,
    ) -> Instrument:
        """Binance/Aster-style filters (``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize`` and
        ``minQty``, ``MIN_NOTIONAL.notional``).

        Args:
            tick_size: Price grid spacing (> 0).
            step_size: Size grid spacing (> 0).
            min_qty: Minimum order size (default 0).
            min_notional: Minimum price x size (default 0).
            max_decimals: Most decimals a price may have (default: the tick's).
            reduce_only_exempt: Reduce-only orders skip the minimum notional (Aster: yes).

        Raises:
            ValueError: A non-positive tick or step, or a negative minimum.
        """

    @staticmethod
    def hyperliquid(
        sz_decimals: int,
        spot: bool = False,
        min_notional: Decimal | str | int = ...,
        reduce_only_exempt: bool = False,
    ) -> Instrument:
        """Hyperliquid rules: prices with at most 5 significant figures and at most
        ``6 - sz_decimals`` decimals (``8 - sz_decimals`` for spot), integer prices always valid;
        sizes to ``sz_decimals`` decimals; minimum order value ``min_notional`` (default $10).
        Whether reduce-only orders are exempt is unconfirmed, hence the switch.
        """

    @staticmethod
    def lighter(
        price_decimals: int,
        size_decimals: int,
        min_base_amount: Decimal | str | int,
        min_quote_amount: Decimal | str | int,
        reduce_only_exempt: bool = False,
    ) -> Instrument:
        """Lighter rules: integer price (uint32) at ``price_decimals`` and base amount
        (at most 2**48 - 1) at ``size_decimals``; minimums in human units (error 21706)."""

    @property
    def kind(self) -> str:
        """``"plain"``, ``"hyperliquid"`` or ``"lighter"``."""
    @property
    def tick_size(self) -> Decimal:
        """The price tick (Hyperliquid: the finest tick, valid only for small prices)."""
    @property
    def step_size(self) -> Decimal:
        """The size step (lot)."""
    @property
    def min_qty(self) -> Decimal:
        """The minimum order size."""
    @property
    def min_notional(self) -> Decimal:
        """The minimum order notional (price x size)."""
    @property
    def max_decimals(self) -> int:
        """The most decimals a price may have."""
    @property
    def reduce_only_exempt(self) -> bool:
        """Whether reduce-only orders are exempt from the minimum notional."""

    def round_price(
        self, price: Decimal | str | int, side: str, aggressive: bool = False
    ) -> Decimal:
        """Rounds a positive price onto the grid for ``side`` (``"buy"``/``"sell"``).

        Passive (default): a buy rounds down, a sell up. Aggressive: the reverse.

        Raises:
            InvalidOrderError: ``non_positive_price`` for a price <= 0 or one rounding to 0.
            hedgekit.errors.NumberRangeError: Rounding up would pass the largest value.
        """
    def round_price_raw(self, price_raw: int, is_buy: bool, aggressive: bool = False) -> int:
        """:meth:`round_price` on raw fixed-point integers (``value * 10**SCALE``); the hot path."""
    def round_price_float(self, price: float, side: str, aggressive: bool = False) -> Decimal:
        """:meth:`round_price` for a float the caller chose to use (read to 9 decimals first)."""
    def step_price(self, price: Decimal | str | int, direction: str) -> Decimal:
        """The next grid price strictly above (``"up"``) or below (``"down"``) ``price``.

        Raises:
            InvalidOrderError: ``non_positive_price`` for a price <= 0, or when no positive
                grid price lies below.
            hedgekit.errors.NumberRangeError: No grid price above fits the range (stepping up
                from the largest one).
        """
    def is_price_valid(self, price: Decimal | str | int) -> bool:
        """True if ``price`` is positive and on the grid."""
    def floor_size(self, size: Decimal | str | int) -> Decimal:
        """Floors a non-negative size to the step (may return 0).

        Raises:
            InvalidOrderError: ``non_positive_size`` for a negative size.
        """
    def floor_size_raw(self, size_raw: int) -> int:
        """:meth:`floor_size` on a raw fixed-point integer."""
    def is_dust(self, size: Decimal | str | int) -> bool:
        """True if ``size``, floored to the step, is zero or below the minimum size: a remainder
        to record, not to trade."""
    def check(
        self, price: Decimal | str | int, size: Decimal | str | int, reduce_only: bool = False
    ) -> None:
        """Raises if the order is not placeable; checks run in the venues' order: sign,
        decimals, price grid, size grid, wire range, minimum size, minimum notional.

        Raises:
            InvalidOrderError: With ``reason`` naming the first failing rule.
        """
    def rejection(
        self, price: Decimal | str | int, size: Decimal | str | int, reduce_only: bool = False
    ) -> str | None:
        """The reason :meth:`check` would raise (``"below_min_notional"``, ...), or None."""

def common_size(
    instruments: Sequence[Instrument],
    target: Decimal | str | int,
    prices: Sequence[Decimal | str | int] | None = None,
) -> Decimal:
    """The largest size <= ``target`` that is a valid order size on every instrument, so the
    legs of a pair start equal. With ``prices`` (one per instrument) the minimum notional is
    checked too.

    Raises:
        InvalidOrderError: ``below_min_size``/``below_min_notional`` naming the instrument index.
        ValueError: No instruments, a prices list of the wrong length, or a negative target.
        hedgekit.errors.NumberRangeError: The common step of the instruments does not fit the
            range.
    """

# --- end instrument ---

# --- book ---

_Int64Buffer: TypeAlias = Any
"""A contiguous int64 buffer: a numpy ``int64`` array, ``array.array('q')``, a ``memoryview``."""
_BoolBuffer: TypeAlias = Any
"""A contiguous ``uint8``/``bool`` buffer (numpy ``bool``/``uint8`` array, ``bytes``)."""
_MessageBuffer: TypeAlias = bytes | str | memoryview | bytearray
"""A venue message: ``bytes``/``str`` (read in place) or a contiguous byte buffer (copied once)."""

BOOK_OK: Final[int]
"""Update status: applied, the book is not crossed (0)."""
BOOK_CROSSED: Final[int]
"""Update status: applied, and the book is now crossed — best bid ≥ best ask (1)."""
BOOK_IGNORED: Final[int]
"""Update status: a depth diff older than the book, dropped; the book is unchanged (2)."""
BOOK_GAP: Final[int]
"""Update status: a sequence gap; the diff was not applied and the book needs a snapshot (3)."""

@final
class OrderBook:
    """An L2 order book with exact prices and sizes, kept in Rust.

    Every update returns a status (``BOOK_OK``, ``BOOK_CROSSED``, ``BOOK_IGNORED``,
    ``BOOK_GAP``) and either applies completely or not at all: an invalid argument or a malformed
    message raises and leaves the book exactly as it was. A crossed book is reported by the
    status of the update that crossed it and stays flagged (``is_crossed``) until an update
    uncrosses it.

    One rule for a price listed twice on one side of one snapshot or venue message (every venue,
    snapshot and diff alike, whatever the sizes, a size-0 entry included): it is **refused**, the
    book unchanged. A venue never sends the same price twice in one message, so such a message is
    corrupted, and applying it last-wins would hide that behind a guess. (The same price on both
    sides is a crossed book, not a duplicate. A batch of the caller's own deltas,
    :meth:`apply_deltas_raw`, is a sequence and may repeat a price.)

    Venue messages are read as strict JSON — exactly what a strict parser such as ``orjson``
    accepts (no leading zeros, no trailing commas or characters, valid UTF-8 and escapes, numbers
    finite as doubles), with values nested at most 64 deep. Keys and strings are read decoded (an
    escaped key is the same key). A key the parser reads may appear once per message (envelope
    and ``data`` together); unknown keys are skipped.

    Raw values (``*_raw``) are fixed-point integers: ``raw == value * 10**SCALE``.

    Args:
        venue: A label for the venue (shown in ``repr``).
        symbol: A label for the instrument (shown in ``repr``).
    """

    def __new__(cls, venue: str = ..., symbol: str = ...) -> OrderBook: ...
    def apply_snapshot(
        self,
        bids: Sequence[Sequence[Decimal | str | int]],
        asks: Sequence[Sequence[Decimal | str | int]],
        ts_ns: int = 0,
    ) -> int:
        """Replaces the whole book (levels in any order; size 0 levels are skipped).

        The book becomes synced and forgets any Binance update id. A price listed twice on one
        side is refused (even with size 0): see the class documentation.

        Args:
            bids: ``(price, size)`` pairs (tuples or lists), exact (``Decimal``, ``str`` or ``int``; floats are
                refused with ``TypeError``).
            asks: ``(price, size)`` pairs.
            ts_ns: Your receive timestamp, recorded as ``last_update_ns``.

        Returns:
            ``BOOK_OK`` or ``BOOK_CROSSED``.

        Raises:
            ValueError: A non-positive price, a negative size or a price listed twice on one
                side.
            hedgekit.errors.ConversionError: A value that is not an exact decimal (its subclass
                ``NumberRangeError`` for one outside the range).
        """

    def apply_snapshot_raw(
        self,
        bid_prices: _Int64Buffer,
        bid_sizes: _Int64Buffer,
        ask_prices: _Int64Buffer,
        ask_sizes: _Int64Buffer,
        ts_ns: int = 0,
    ) -> int:
        """``apply_snapshot`` from int64 buffers of raw values (numpy ``int64`` arrays,
        ``array.array('q')``, ``memoryview``), without a Python object per level.

        Raises:
            ValueError: Lengths differ, a non-positive price, a negative size or a duplicate.
            TypeError: A buffer that is not of 64-bit integers.
        """

    def apply_delta(
        self, side: str, price: Decimal | str | int, size: Decimal | str | int, ts_ns: int = 0
    ) -> int:
        """Sets the size at one price; size 0 removes the level (removing an absent level is fine).

        Args:
            side: ``"bid"`` or ``"ask"``.
            price: The level's price (positive).
            size: The new total size at that price (0 removes).
            ts_ns: Your receive timestamp, recorded as ``last_update_ns``.

        Returns:
            ``BOOK_OK`` or ``BOOK_CROSSED``.

        Raises:
            ValueError: An unknown side, a non-positive price or a negative size.
        """

    def apply_delta_raw(self, is_bid: bool, price_raw: int, size_raw: int, ts_ns: int = 0) -> int:
        """The fast form of ``apply_delta`` with raw integers.

        Raises:
            ValueError: A non-positive price or a negative size.
        """

    def apply_deltas_raw(
        self, is_bid: _BoolBuffer, prices: _Int64Buffer, sizes: _Int64Buffer, ts_ns: int = 0
    ) -> int:
        """Applies a batch of raw deltas as one atomic update.

        All deltas are validated before any is applied. The crossed check is made once, at the
        end: a book crossed only half-way through the batch (one venue update) is not reported.
        A batch is the caller's own sequence of updates, applied in order: a price may appear
        more than once and its last delta wins (check a venue message for repeated prices
        before turning it into a batch; the venue parsers refuse them).

        Args:
            is_bid: A ``uint8``/``bool`` buffer (non-zero = bid) or ``bytes``.
            prices: An int64 buffer of raw prices.
            sizes: An int64 buffer of raw sizes (0 removes).
            ts_ns: Your receive timestamp.

        Returns:
            The status after the whole batch: ``BOOK_OK`` or ``BOOK_CROSSED``.

        Raises:
            ValueError: Lengths differ, a non-positive price or a negative size (nothing applied).
        """

    def apply_hyperliquid(self, data: _MessageBuffer, ts_ns: int = 0) -> int:
        """Applies a Hyperliquid ``l2Book`` message (WS envelope or bare data).

        ``data`` is ``bytes`` or ``str`` (read in place) or any contiguous byte buffer
        (``memoryview``, ``bytearray``: a WebSocket frame's payload, copied once into a buffer
        the book reuses). The same holds for :meth:`apply_depth_snapshot` and
        :meth:`apply_depth_update`. Anything else raises ``TypeError``.

        Each message is a full snapshot and replaces the book (size 0 levels are skipped); its
        ``time`` (ms) becomes ``venue_time_ms``. ``levels`` and ``time`` may each appear once,
        in the envelope or in ``data``; a level's ``px`` and ``sz`` once each.

        Returns:
            ``BOOK_OK`` or ``BOOK_CROSSED``.

        Raises:
            hedgekit.errors.ParseError: A malformed message (``.position`` is the byte offset):
                not strict JSON, a missing or repeated field, a wrong type, a number that is not
                a finite decimal of at most 9 decimals within the range, a non-positive price, a
                negative size, or a price listed twice on one side (even with size 0). The book
                is unchanged.
        """

    def apply_depth_snapshot(self, data: _MessageBuffer, ts_ns: int = 0) -> int:
        """Applies an Aster/Binance REST ``/fapi/v1/depth`` body: replaces the book (qty 0
        levels are skipped), records ``lastUpdateId`` and makes the book synced, awaiting its
        first diff.

        Raises:
            hedgekit.errors.ParseError: A malformed message, as for :meth:`apply_hyperliquid`
                (a price listed twice on one side included), or a missing ``lastUpdateId``,
                ``bids`` or ``asks``; the book is unchanged.
        """

    def apply_depth_update(self, data: _MessageBuffer, ts_ns: int = 0) -> int:
        """Applies an Aster/Binance ``depthUpdate`` diff (bare or as ``{"stream","data"}``).

        Sequence rules: a diff older than the book (``u`` below the snapshot's
        ``lastUpdateId``, or not newer than the last applied ``u``) returns ``BOOK_IGNORED``. The
        first diff after a snapshot must have ``U <= lastUpdateId <= u``, every later one must
        have ``pu`` equal to the previous ``u``; otherwise ``BOOK_GAP`` is returned, the diff is
        not applied and ``is_synced`` stays false until the next snapshot. A diff before any
        depth snapshot is a ``BOOK_GAP`` too.

        A price listed twice on one side of a diff is refused (not applied last-wins), whatever
        its update ids: the book and its sync state stay as they were, so the venue's next diff
        does not chain and becomes a ``BOOK_GAP`` that resynchronises the book.

        Returns:
            ``BOOK_OK``, ``BOOK_CROSSED``, ``BOOK_IGNORED`` or ``BOOK_GAP``.

        Raises:
            hedgekit.errors.ParseError: A malformed message (as for :meth:`apply_hyperliquid`,
                a price listed twice on one side included; a missing ``U``, ``u``, ``pu``,
                ``b`` or ``a``; an ``e`` other than ``depthUpdate``); the book and its sync
                state are unchanged.
        """

    def clear(self) -> None:
        """Empties the book and marks it not synced (e.g. after a disconnect)."""

    def best_bid_raw(self) -> int | None:
        """The best bid price, raw, or ``None`` for an empty side."""

    def best_ask_raw(self) -> int | None:
        """The best ask price, raw, or ``None`` for an empty side."""

    def touch_stamp(self) -> tuple[int, int, int, int, int] | None:
        """``(last update ns, bid price, bid size, ask price, ask size)``, raw, when a quote can be
        read from the book (synced, not crossed, updated at least once, both sides present);
        else ``None``. Two equal stamps: the touch has not changed between them."""

    def bbo_raw(self) -> tuple[int | None, int | None, int | None, int | None]:
        """``(bid price, bid size, ask price, ask size)``, raw, in one call."""

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """The best bid as ``(price, size)``, or ``None``."""

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """The best ask as ``(price, size)``, or ``None``."""

    def mid(self) -> Decimal | None:
        """``(best bid + best ask) / 2``, rounded down to 1e-9 (exact for prices of at most 8
        decimals); ``None`` unless both sides have a level. Also given for a crossed book."""

    def spread_bps(self) -> float | None:
        """``(ask - bid) / mid * 1e4`` as a float (negative when crossed), or ``None``."""

    def levels(self, side: str, depth: int = 20) -> list[tuple[Decimal, Decimal]]:
        """The top ``depth`` levels of ``side`` (``"bid"`` or ``"ask"``), best first."""

    def walk(self, side: str, size: Decimal | str | int) -> DepthWalk:
        """Walks the book for a taker: ``side`` ``"buy"`` walks the asks, ``"sell"`` the bids.

        Raises:
            ValueError: An unknown side or a non-positive size.
        """

    def vwap(self, side: str, size: Decimal | str | int) -> tuple[Decimal, Decimal] | None:
        """``(vwap, filled)`` for a taker of ``size`` (see ``walk``); ``None`` if nothing fills.

        The VWAP is rounded toward the worse price for the taker (up for a buy, down for a
        sell); ``filled < size`` when the book is too thin.
        """

    def size_within_bps(self, side: str, bps: Decimal | str | int | float) -> Decimal:
        """The size a taker (``"buy"``/``"sell"``) gets within ``bps`` of the best price,
        inclusive and exact (a buy takes asks with ``price <= best * (1 + bps / 1e4)``).

        A total beyond the largest value is returned as that value (9223372036.854775807): a
        lower bound, so ``depth >= size`` stays answered correctly for every size.

        Raises:
            ValueError: An unknown side or a negative ``bps``.
        """

    def worst_price(self, side: str, size: Decimal | str | int) -> Decimal | None:
        """The worst price a taker of ``size`` touches (the last level if the book is too
        thin); ``None`` for an empty side."""

    def liquidity_score(
        self, side: str, size: Decimal | str | int, band_bps: Decimal | str | int | float
    ) -> float:
        """A score in ``[0, 1]``:
        ``min(1, size_within_bps(band_bps) / size) * band_bps / (band_bps + spread_bps)``.

        More depth never lowers it, a wider spread never raises it; the spread factor is left
        out when the other side is empty; a crossed book scores 0.

        Raises:
            ValueError: An unknown side, or a non-positive ``size`` or ``band_bps``.
        """

    @property
    def is_crossed(self) -> bool:
        """True while the best bid is at or above the best ask."""

    @property
    def is_synced(self) -> bool:
        """True after a snapshot and until a sequence gap (or ``clear``)."""

    @property
    def last_update_ns(self) -> int:
        """The ``ts_ns`` of the last applied update (0 before any)."""

    @property
    def venue_time_ms(self) -> int | None:
        """The venue's own time (ms) of the last applied message that carried one."""

    @property
    def last_update_id(self) -> int | None:
        """Binance/Aster: the snapshot's ``lastUpdateId``, then the ``u`` of the last applied diff."""

    @property
    def venue(self) -> str:
        """The venue label given at construction."""

    @property
    def symbol(self) -> str:
        """The symbol label given at construction."""

@final
class DepthWalk:
    """The result of ``OrderBook.walk`` (immutable)."""

    @property
    def side(self) -> str:
        """The taker's side, ``"buy"`` or ``"sell"``."""

    @property
    def wanted(self) -> Decimal:
        """The size asked for."""

    @property
    def filled(self) -> Decimal:
        """The size the book could fill (at most ``wanted``)."""

    @property
    def vwap(self) -> Decimal | None:
        """The average fill price, rounded toward the worse price for the taker."""

    @property
    def best_price(self) -> Decimal | None:
        """The best price of the walked side."""

    @property
    def worst_price(self) -> Decimal | None:
        """The last (worst) price the fill touched."""

    @property
    def complete(self) -> bool:
        """True when the book held the whole size."""

    @property
    def slippage_bps(self) -> float | None:
        """Slippage of the VWAP against the best price, in bps (positive = worse for the taker)."""

    @property
    def slippage_vs_mid_bps(self) -> float | None:
        """Slippage of the VWAP against the mid at the time of the walk, in bps."""

# --- end book ---

# --- ledger ---

@final
class FillStatus:
    """What :meth:`FillLedger.apply` did with a fill.

    Expected outcomes are values, never exceptions. The four members are singletons, so
    ``ledger.apply(...) is FillStatus.APPLIED`` holds; they compare equal to their ``int`` value
    and are hashable.

    Attributes:
        APPLIED: The fill was new and has been recorded.
        DUPLICATE: The (venue, order id, trade id) key was already applied; nothing changed.
        OVERFILL: The fill was new and **has been recorded** (the venue says it happened), but
            the order's filled size now exceeds its size; the excess is
            ``ledger.order(venue, order_id).overfill``. Nothing is clamped.
        UNKNOWN_ORDER: No such order is registered. The fill was neither applied nor marked
            seen: buffer it and apply it again once the order is registered (a fill can arrive
            before its order's acknowledgement).
    """

    APPLIED: ClassVar[FillStatus]
    DUPLICATE: ClassVar[FillStatus]
    OVERFILL: ClassVar[FillStatus]
    UNKNOWN_ORDER: ClassVar[FillStatus]
    def __int__(self) -> int:
        """The member's index (0 to 3, in the order above)."""
    def __eq__(self, value: object, /) -> bool:
        """Equal to the same member, or to its ``int`` value."""
    def __hash__(self) -> int:
        """A hash consistent with ``__eq__``."""

@final
class OrderFills:
    """The fills of one order: a snapshot returned by :meth:`FillLedger.order`.

    Every exact value is a ``Decimal``. Invariants: ``filled == maker_size + taker_size``;
    ``remaining == max(size - filled, 0)``; ``overfill == max(filled - size, 0)``.
    """

    @property
    def venue(self) -> str:
        """The venue the order was registered on."""
    @property
    def order_id(self) -> str:
        """The order id (client order id) it was registered under."""
    @property
    def side(self) -> str:
        """``"buy"`` or ``"sell"``."""
    @property
    def size(self) -> Decimal:
        """The order's size (as registered, or as last set by :meth:`FillLedger.set_order_size`)."""
    @property
    def filled(self) -> Decimal:
        """The sum of the applied fills' sizes."""
    @property
    def remaining(self) -> Decimal:
        """``size - filled``, or ``0`` once the order is complete (never negative)."""
    @property
    def avg_price(self) -> Decimal | None:
        """``notional / filled`` rounded to the nearest 1e-9 (ties away from zero); ``None``
        before the first fill. ``notional / filled`` is the exact value."""
    @property
    def notional(self) -> Decimal:
        """The exact sum of ``price * size`` over the applied fills (up to 18 decimals)."""
    @property
    def fees(self) -> Decimal:
        """The sum of the fills' fees, signed: negative is a net rebate."""
    @property
    def maker_size(self) -> Decimal:
        """The filled size of the maker fills."""
    @property
    def taker_size(self) -> Decimal:
        """The filled size of the taker fills."""
    @property
    def fill_count(self) -> int:
        """The number of distinct fills applied."""
    @property
    def overfill(self) -> Decimal:
        """``filled - size`` when the order is overfilled, else ``0``."""
    @property
    def is_complete(self) -> bool:
        """True once ``filled >= size``."""
    @property
    def first_fill_ns(self) -> int | None:
        """The smallest fill timestamp given (fills may arrive out of order), or ``None``."""
    @property
    def last_fill_ns(self) -> int | None:
        """The largest fill timestamp given, or ``None``."""

@final
class FillLedger:
    """The single source of truth for fills: deduplication and per-order accumulation.

    Every fill, whether it came by WebSocket, by REST poll or from an order-status query, goes
    through :meth:`apply` once. A fill is identified by ``(venue, order_id, trade_id)``, not by
    the trade id alone: one trade can fill several of our orders, and venues that report the
    trade rather than the fill give each of those fills the same trade id. Every copy of a fill
    must therefore name the same ``order_id`` (the id the order was registered under), whichever
    channel brought it. The ``int`` ``5`` and the ``str`` ``"5"`` are **different** trade ids
    (merging them could only lose a fill).

    Applied keys are remembered in a FIFO window of ``capacity`` keys. When it is full the
    oldest key is evicted, so a duplicate that arrives after more than ``capacity`` newer
    distinct fills is counted again: size the window to cover the longest replay a venue can
    send. Forgetting an order does not forget its fill keys.

    Args:
        window: How many fill keys to remember (at least 1; default 10 000).

    Raises:
        ValueError: ``window`` is below 1.
    """

    def __new__(cls, window: int = 10_000) -> FillLedger: ...
    def register_order(
        self, venue: str, order_id: str, side: str, size: Decimal | str | int
    ) -> None:
        """Registers an order so that its fills can be applied.

        Registering the same order again with the same side and size does nothing (an
        acknowledgement may arrive twice).

        Args:
            venue: The venue's name (short; interned).
            order_id: The id its fills are applied under (the client order id; fills that
                name only the venue's order id are resolved to it by the caller).
            side: ``"buy"`` or ``"sell"``.
            size: The order's size (> 0).

        Raises:
            ValueError: A non-positive size, an unknown side, or the order is already
                registered with a different side or size (use :meth:`set_order_size`).
        """
    def set_order_size(self, venue: str, order_id: str, size: Decimal | str | int) -> None:
        """Changes a registered order's size (after a modify).

        A size below what has already filled makes the order overfilled; the next fill
        returns :attr:`FillStatus.OVERFILL`.

        Raises:
            KeyError: No such order is registered.
            ValueError: A non-positive size.
        """
    def forget_order(self, venue: str, order_id: str) -> OrderFills | None:
        """Forgets an order and returns its final fills (``None`` if it was not registered).

        Its fill keys stay in the window: a late copy of one of its fills is still a
        :attr:`FillStatus.DUPLICATE` (a fill for it that was never applied becomes
        :attr:`FillStatus.UNKNOWN_ORDER`).
        """
    def apply(
        self,
        venue: str,
        trade_id: int | str,
        order_id: str,
        price: Decimal | str | int,
        size: Decimal | str | int,
        fee: Decimal | str | int = ...,
        is_maker: bool = False,
        ts_ns: int = 0,
    ) -> FillStatus:
        """Applies a fill once.

        Args:
            venue: The venue's name.
            trade_id: The venue's trade id (``int`` or ``str``; a ``bool`` is refused).
            order_id: The order it belongs to, as registered; part of the dedup key, so the
                same trade id on two orders is two fills.
            price: Execution price (> 0), exact.
            size: Executed size (> 0), exact.
            fee: Fee, signed: positive is a cost, negative a rebate (default 0).
            is_maker: True for a maker fill.
            ts_ns: Execution time in nanoseconds since the epoch; 0 means unknown.

        Returns:
            ``APPLIED``, ``DUPLICATE``, ``OVERFILL`` (recorded) or ``UNKNOWN_ORDER`` (not
            recorded, retry after registering the order). See :class:`FillStatus`.

        Raises:
            TypeError: A ``float`` number or a trade id that is neither ``int`` nor ``str``.
            hedgekit.errors.ConversionError: A number that is not a finite decimal with at most
                9 decimals.
            hedgekit.errors.NumberRangeError: A number outside the range, or an order total
                (filled size, fees) that this fill would take outside it.
            ValueError: A non-positive price or size, or a negative timestamp.
            OverflowError: An integer trade id outside the 128-bit range.

        On any error nothing changes and the trade stays retryable.
        """
    def apply_raw(
        self,
        venue: str,
        trade_id: int | str,
        order_id: str,
        price_raw: int,
        size_raw: int,
        fee_raw: int = 0,
        is_maker: bool = False,
        ts_ns: int = 0,
    ) -> FillStatus:
        """:meth:`apply` for the hot path: price, size and fee as raw integers
        (``raw == value * 10**SCALE``).

        Raises:
            ValueError: A non-positive price or size, or a negative timestamp.
            OverflowError: A raw value outside the 64-bit range.
            hedgekit.errors.NumberRangeError: An order total this fill would take outside the
                range.
        """
    def apply_fill(
        self,
        venue: str,
        trade_id: int | str,
        order_id: str,
        price: Decimal | str | int,
        size: Decimal | str | int,
        fee: Decimal | str | int = ...,
        is_maker: bool = False,
        ts_ns: int = 0,
    ) -> tuple[FillStatus, OrderFills | None]:
        """:meth:`apply`, and the order's fills right after it when the fill was recorded, in
        one call (the tracker's hot path): ``(status, fills)`` with ``fills`` an
        :class:`OrderFills` for ``APPLIED`` and ``OVERFILL``, ``None`` for ``DUPLICATE`` and
        ``UNKNOWN_ORDER``.

        Raises:
            As :meth:`apply` (nothing changes then).
        """
    def seen(self, venue: str, trade_id: int | str, order_id: str) -> bool:
        """True when this fill (``trade_id`` on ``order_id``) was applied and its key is still
        in the window (allocation-free). The same trade id on another order is another fill.

        Raises:
            TypeError: A trade id that is neither ``int`` nor ``str``.
        """
    def order(self, venue: str, order_id: str) -> OrderFills | None:
        """A snapshot of a registered order's fills, or ``None``."""
    @property
    def capacity(self) -> int:
        """The most fill keys remembered (the ``window``)."""
    def __len__(self) -> int:
        """The number of fill keys currently remembered (at most :attr:`capacity`)."""

# --- end ledger ---

# --- pricing ---
@final
class SpreadGate:
    """Separate spread limits, in bps of the mid, for entering and for exiting a position.

    A crossed or locked book never passes.
    """

    def __new__(
        cls, max_entry_bps: Decimal | str | int, max_exit_bps: Decimal | str | int
    ) -> SpreadGate:
        """A gate with both limits (bps, >= 0).

        Raises:
            InvalidArgumentError: A negative limit.
        """
    @property
    def max_entry_bps(self) -> Decimal:
        """The widest spread at which a position may be opened."""
    @property
    def max_exit_bps(self) -> Decimal:
        """The widest spread at which a position may be closed passively."""
    def allows_entry(self, bid: Decimal | str | int, ask: Decimal | str | int) -> bool:
        """True if ``(ask - bid) / mid * 1e4 <= max_entry_bps``, exactly."""
    def allows_exit(self, bid: Decimal | str | int, ask: Decimal | str | int) -> bool:
        """True if ``(ask - bid) / mid * 1e4 <= max_exit_bps``, exactly."""

def spread_within(
    bid: Decimal | str | int, ask: Decimal | str | int, max_bps: Decimal | str | int
) -> bool:
    """True if the spread in bps of the mid is at most ``max_bps`` (exact; crossed -> False)."""

def limit_price(
    instrument: Instrument,
    side: str,
    bid: Decimal | str | int,
    ask: Decimal | str | int,
    offset_bps: Decimal | str | int,
) -> Decimal:
    """A limit price ``offset_bps`` from the touch, on the grid.

    A non-negative offset is passive, from the own touch (buy ``bid*(1-o)``, sell
    ``ask*(1+o)``); a negative offset crosses, beyond the opposite touch (buy ``ask*(1+|o|)``,
    sell ``bid*(1-|o|)``). A buy rounds down and a sell up.

    Raises:
        BookIntegrityError: ``crossed`` when ``bid >= ask``.
        InvalidArgumentError: A non-positive bid or ask, or an offset of 10 000 bps or more on
            the side where it would make the price non-positive.
        InvalidOrderError: ``non_positive_price`` when the price rounds down to zero.
        hedgekit.errors.NumberRangeError: The price (or its rounding up onto the grid) is
            beyond the largest value.
    """

def maker_price(
    instrument: Instrument,
    side: str,
    bid: Decimal | str | int,
    ask: Decimal | str | int,
    improve: bool = False,
) -> Decimal:
    """A post-only price that never crosses: the own touch, or one grid step inside the spread
    with ``improve`` when there is room. A buy is always below the ask, a sell above the bid.

    Raises:
        BookIntegrityError: ``crossed`` when ``bid >= ask``.
        InvalidArgumentError: A non-positive bid or ask.
        InvalidOrderError: ``non_positive_price`` when no positive grid price fits.
        hedgekit.errors.NumberRangeError: The grid price it needs is beyond the largest value.
    """

def break_even_price(
    instrument: Instrument,
    hedge_side: str,
    ref_price: Decimal | str | int,
    ref_fee_rate: Decimal | str | int,
    hedge_fee_rate: Decimal | str | int,
) -> Decimal:
    """The price at which a hedge leg offsets the reference leg's fill after both fees.

    Hedge sells: ``ref*(1+ref_fee)/(1-hedge_fee)`` rounded up; hedge buys:
    ``ref*(1-ref_fee)/(1+hedge_fee)`` rounded down. Fee rates are fractions (0.00045 = 4.5
    bps); negative rates are rebates.

    Raises:
        InvalidArgumentError: A non-positive price, or fee rates that leave a non-positive
            factor (a hedge fee of 100% or more, a rebate of 100% or more).
        InvalidOrderError: ``non_positive_price`` when the price rounds down to zero.
        hedgekit.errors.NumberRangeError: The price is beyond the largest value.
    """

def ladder(
    instrument: Instrument,
    side: str,
    bid: Decimal | str | int,
    ask: Decimal | str | int,
    cross_bps: Sequence[Decimal | str | int] = ...,
) -> list[Decimal]:
    """The adaptive ladder, least to most aggressive: inside the spread (if a grid price fits),
    the opposite touch, then beyond it by each of ``cross_bps``. Strictly monotone; on the grid.

    Raises:
        As :func:`limit_price` for each step, and ``InvalidArgumentError`` for a negative step.
    """

# --- end pricing ---

# --- signing (Hyperliquid, EIP-712, secp256k1, nonces) ---
@final
class EthSigner:
    """An Ethereum-style secp256k1 signer holding one private key.

    Signatures are deterministic (RFC 6979) with a low ``s`` and ``v`` of 27 or 28, as
    ``eth_account`` makes them; ``r`` and ``s`` come back as ``"0x"`` and 64 lowercase hex
    digits. Signing runs with the GIL released, and one signer may be shared by threads.
    The key is never shown: the repr holds the address only, no error message contains the
    key, the object cannot be pickled, and the key's memory is zeroed when the signer is freed.
    """

    def __new__(cls, private_key: bytes) -> EthSigner:
        """A signer from a 32-byte private key.

        Raises:
            InvalidArgumentError: The key is not 32 bytes, or is zero or not below the curve
                order.
        """
    @property
    def address(self) -> str:
        """The signer's address: ``"0x"`` and 40 lowercase hex digits."""
    def sign_hl_l1_action(
        self,
        action: bytes,
        nonce: int,
        vault_address: str | None,
        expires_after: int | None,
        is_mainnet: bool,
    ) -> tuple[str, str, int]:
        """Signs a Hyperliquid L1 action (order, cancel, modify, ...) as the SDK's
        ``sign_l1_action`` does: ``(r, s, v)``.

        Args:
            action: The action's JSON, keys in the order they are sent (``orjson.dumps`` of the
                dict that goes into the request body); it is hashed as msgpack of that JSON.
            nonce: The request's nonce (ms), ``0 .. 2**64-1``.
            vault_address: The vault or sub-account acted for (``0x`` + 40 hex), or ``None``.
            expires_after: The request's ``expiresAfter`` (ms), or ``None``.
            is_mainnet: Source ``"a"`` (mainnet) or ``"b"`` (testnet) in the phantom agent.

        Raises:
            ParseError: ``action`` is not strict JSON msgpack can hold (or has a duplicate key).
            InvalidArgumentError: A bad address, or a nonce out of range.
        """
    def sign_hl_user_action(
        self, action: bytes, primary_type: str, fields: list[tuple[str, str]]
    ) -> tuple[str, str, int]:
        """Signs a Hyperliquid user-signed action (usdSend, withdraw3, approveAgent, ...) as
        the SDK's ``sign_user_signed_action`` does: ``(r, s, v)``.

        Args:
            action: The action's JSON, with ``signatureChainId`` (hex, the EIP-712 domain's
                chain id) and ``hyperliquidChain`` already set.
            primary_type: For example ``"HyperliquidTransaction:UsdSend"``.
            fields: ``(name, solidity type)`` pairs in order, as the SDK's payload types; types
                ``string``, ``bytes32``, ``address``, ``bool``, ``uint64``, ``uint256``.

        Raises:
            ParseError: ``action`` is not a strict JSON object.
            InvalidArgumentError: A missing field, a value that does not fit its type, an
                unsupported type, or no valid ``signatureChainId``.
        """
    def sign_eip712_message(
        self, domain_name: str, domain_version: str, chain_id: int, msg: bytes
    ) -> tuple[str, str, int]:
        """Signs the EIP-712 struct ``Message(string msg)`` in the domain
        ``(domain_name, domain_version, chain_id, 0x0…0)``: ``(r, s, v)``. Aster V3 signs its
        url-encoded parameter string this way, in ``("AsterSignTransaction", "1", 1666)``.

        Raises:
            InvalidArgumentError: ``msg`` is not UTF-8, or ``chain_id`` is out of range.
        """
    def __repr__(self) -> str:
        """``EthSigner(address=0x…)``: the address only."""

def hl_action_hash(
    action: bytes, nonce: int, vault_address: str | None, expires_after: int | None
) -> bytes:
    """The 32-byte Hyperliquid L1 action hash (the phantom agent's ``connectionId``):
    ``keccak(msgpack(action) ‖ nonce ‖ 00 | 01‖vault ‖ [00‖expires_after])``.

    Raises:
        As :meth:`EthSigner.sign_hl_l1_action`.
    """

def hl_recover_l1_action(
    action: bytes,
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    is_mainnet: bool,
    r: str,
    s: str,
    v: int,
) -> str:
    """The address (lowercase) that signed an L1 action, as the SDK's
    ``recover_agent_or_user_from_l1_action``. ``r`` and ``s`` are hex integers (``0x``
    optional, zero-padded or not); ``v`` is 27 or 28 (0 or 1 accepted). A signature made over
    anything else recovers another address: compare the result with the expected signer.

    Raises:
        As :meth:`EthSigner.sign_hl_l1_action`, and ``InvalidArgumentError`` for a malformed
        or unrecoverable signature.
    """

def hl_recover_user_action(
    action: bytes, primary_type: str, fields: list[tuple[str, str]], r: str, s: str, v: int
) -> str:
    """The address (lowercase) that signed a user-signed action (see
    :meth:`EthSigner.sign_hl_user_action` and :func:`hl_recover_l1_action`)."""

def recover_eip712_message(
    domain_name: str, domain_version: str, chain_id: int, msg: bytes, r: str, s: str, v: int
) -> str:
    """The address (lowercase) that signed ``Message(string msg)`` in the given domain (see
    :meth:`EthSigner.sign_eip712_message` and :func:`hl_recover_l1_action`)."""

def msgpack_from_json(data: bytes) -> bytes:
    """msgpack of a JSON document, byte for byte as ``msgpack.packb(json.loads(data))``: keys
    in document order, the smallest integer encodings, floats as float64.

    Raises:
        ParseError: Not strict JSON, a duplicate key, an integer outside ``-2**63 .. 2**64-1``,
            or nesting deeper than 512.
    """

@final
class NonceAllocator:
    """Strictly increasing nonces for one signer, safe across threads and tasks: each call
    returns ``max(last + 1, now_ms)``, so two requests in the same millisecond never share a
    nonce and a clock stepping back never repeats one. Use one allocator per signer."""

    def __new__(cls) -> NonceAllocator:
        """An allocator that has handed out nothing yet."""
    def next(self, now_ms: int) -> int:
        """The next nonce, above every nonce this allocator handed out before.

        Raises:
            InvalidArgumentError: ``now_ms`` is outside ``0 .. 2**64-1``, or the last nonce was
                ``2**64-1``.
        """

# --- end signing ---
