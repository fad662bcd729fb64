"""The margin model of one venue account in cross margin, exact in :class:`~decimal.Decimal`.

An :class:`Account` is collateral plus positions, each with its market's :class:`MarginTable`.
Everything is a function of the positions' marks:

- ``equity = collateral + Σ size * (mark - entry)``
- ``initial_margin = Σ |size| * mark / leverage`` (each term rounded up when not exact)
- ``maintenance_margin = Σ (|size| * mark * rate - amount)`` with the tier of each notional
- ``free = equity - initial_margin``; ``available = max(free, 0)``
- ``margin_ratio = maintenance_margin / equity`` (the account is liquidatable at ≥ 1)

The liquidation price of a symbol is the mark at which ``equity == maintenance_margin`` with the
other marks held fixed. With ``n = |size| * P`` the notional at mark ``P`` and ``s`` the
position's sign, the account's excess over maintenance is
``g(n) = A + s * n - MM(n)`` where ``A = collateral + Σ_other (upnl - MM) - size * entry``:
piecewise linear, continuous, strictly increasing for a long and strictly decreasing for a short
(every rate is below 1). :meth:`Account.liquidation_price` finds the tier where ``g`` changes
sign by evaluating it at the tier floors (exact products), then solves the tier's linear
equation ``n = (A + amount) / (rate - s)``: one division, rounded toward the mark side (a long's
price up, a short's down), so a reported distance is never overstated. The root is exact
whenever it fits in 28 significant digits.

Sums and products are exact (they raise :class:`decimal.Inexact` rather than round, past 200
digits); the only rounded values are quotients: initial margin terms (up), the liquidation price
(toward the mark), distances and ratios (the conservative way, as documented on each).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from hedgekit.errors import InvalidArgumentError
from hedgekit.model import Position, Side
from hedgekit.risk._exact import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ZERO,
    dec,
    div,
    exact,
    non_negative,
    positive,
)
from hedgekit.risk.tiers import MarginTable

__all__ = [
    "Account",
    "Decision",
    "LegDistance",
    "PairDistance",
    "PositionState",
    "Refusal",
    "max_size_for",
    "pair_liquidation_distance",
]


@dataclass(frozen=True, slots=True)
class PositionState:
    """One position as the margin model sees it.

    Attributes:
        size: Signed size in base units: positive long, negative short, zero flat.
        entry_price: Average entry price (> 0).
        mark_price: The venue's mark price (> 0).
        leverage: The leverage set for the symbol (> 0): initial margin = notional / leverage.

    Raises:
        InvalidArgumentError: A non-finite size, or a price or leverage that is not positive.
    """

    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    leverage: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", dec(self.size, "size"))
        object.__setattr__(self, "entry_price", positive(self.entry_price, "entry_price"))
        object.__setattr__(self, "mark_price", positive(self.mark_price, "mark_price"))
        object.__setattr__(self, "leverage", positive(self.leverage, "leverage"))

    @classmethod
    def from_position(cls, position: Position, leverage: Decimal) -> PositionState:
        """The state of a :class:`~hedgekit.model.Position` (which must carry a mark) at
        ``leverage``; a flat position's entry is taken as its mark."""
        if position.mark_price is None:
            raise InvalidArgumentError(
                f"position {position.venue}/{position.symbol} has no mark price"
            )
        entry = position.entry_price if position.entry_price is not None else position.mark_price
        return cls(position.size, entry, position.mark_price, leverage)

    @property
    @exact
    def notional(self) -> Decimal:
        """``|size| * mark`` (exact)."""
        return abs(self.size) * self.mark_price

    @property
    @exact
    def unrealized_pnl(self) -> Decimal:
        """``size * (mark - entry)`` (exact)."""
        return self.size * (self.mark_price - self.entry_price)

    @property
    def sign(self) -> int:
        """``+1`` long, ``-1`` short, ``0`` flat."""
        return (self.size > 0) - (self.size < 0)


class Refusal(enum.StrEnum):
    """Why :meth:`Account.can_open` refuses an order."""

    INSUFFICIENT_MARGIN = "insufficient_margin"
    """Equity after the open would be below the initial margin (available would be negative)."""
    LEVERAGE_ABOVE_CAP = "leverage_above_cap"
    """The leverage is above the cap of the tier the resulting notional falls in."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of :meth:`Account.can_open`. Truthy when the order is accepted.

    Attributes:
        ok: Whether the model accepts the order.
        reason: Why it is refused (``None`` when accepted).
        message: A readable account of the numbers behind the answer.
        free_after: ``equity - initial_margin`` after the fill (negative when short of margin).
        max_leverage: The tier cap at the resulting notional.
        notional_after: The symbol's notional after the fill.
    """

    ok: bool
    reason: Refusal | None
    message: str
    free_after: Decimal
    max_leverage: Decimal
    notional_after: Decimal

    def __bool__(self) -> bool:
        return self.ok


def _side(side: object) -> Side:
    if isinstance(side, Side):
        return side
    if isinstance(side, str) and side in ("buy", "sell"):
        return Side(side)
    raise InvalidArgumentError(f"side must be 'buy' or 'sell', got {side!r}")


@dataclass(frozen=True, slots=True)
class Account:
    """One venue account in cross margin: collateral, positions by symbol, margin tables.

    Attributes:
        collateral: Wallet balance in quote units (≥ 0), realised PnL and funding included.
        positions: Positions by symbol (a flat :class:`PositionState` is allowed).
        tables: The margin table of every symbol the account may trade; every position's symbol
            must have one.

    Raises:
        InvalidArgumentError: Negative collateral, a position that is not a
            :class:`PositionState`, or a position without a margin table.
    """

    collateral: Decimal
    positions: Mapping[str, PositionState]
    tables: Mapping[str, MarginTable]

    @classmethod
    def from_venue(
        cls,
        collateral: Decimal,
        positions: Mapping[str, Position],
        table_of: Callable[[str], MarginTable | None],
        *,
        leverage: Decimal,
        also: Iterable[str] = (),
    ) -> Account | None:
        """The account as a venue reports it: its collateral, its positions (each at its own
        leverage where the venue gives one, else ``leverage``) and ``table_of(symbol)`` for every
        symbol held and every symbol in ``also``. ``None`` when the venue publishes no tiers for
        one of them or a position carries no mark: the model cannot judge that account."""
        tables: dict[str, MarginTable] = {}
        for symbol in {*positions, *also}:
            table = table_of(symbol)
            if table is None:
                return None
            tables[symbol] = table
        if any(p.mark_price is None for p in positions.values()):
            return None
        states = {
            s: PositionState.from_position(p, p.leverage if p.leverage is not None else leverage)
            for s, p in positions.items()
        }
        return cls(collateral, states, tables)

    def __post_init__(self) -> None:
        collateral = dec(self.collateral, "collateral")
        if collateral < 0:
            raise InvalidArgumentError(
                f"collateral must not be negative, got {collateral} (an account in deficit "
                "has nothing left to margin)"
            )
        tables = dict(self.tables)
        for sym, table in tables.items():
            if not isinstance(table, MarginTable):
                raise InvalidArgumentError(
                    f"the table of {sym!r} is a {type(table).__name__}, not a MarginTable"
                )
        positions = dict(self.positions)
        for sym, pos in positions.items():
            if not isinstance(pos, PositionState):
                raise InvalidArgumentError(
                    f"the position in {sym!r} is a {type(pos).__name__}, not a PositionState"
                )
            if sym not in tables:
                raise InvalidArgumentError(f"no margin table for symbol {sym!r}")
        object.__setattr__(self, "collateral", collateral)
        object.__setattr__(self, "positions", MappingProxyType(positions))
        object.__setattr__(self, "tables", MappingProxyType(tables))

    @classmethod
    def _unchecked(
        cls,
        collateral: Decimal,
        positions: Mapping[str, PositionState],
        tables: Mapping[str, MarginTable],
    ) -> Account:
        """A hypothetical account (its collateral may be negative: PnL marked into it)."""
        out = object.__new__(cls)
        object.__setattr__(out, "collateral", collateral)
        object.__setattr__(out, "positions", MappingProxyType(dict(positions)))
        object.__setattr__(out, "tables", tables)
        return out

    # ---------------------------------------------------------------------------- lookups

    def table(self, symbol: str) -> MarginTable:
        """The margin table of ``symbol``.

        Raises:
            InvalidArgumentError: An unknown symbol.
        """
        try:
            return self.tables[symbol]
        except KeyError:
            known = ", ".join(sorted(self.tables)) or "none"
            raise InvalidArgumentError(
                f"unknown symbol {symbol!r}: no margin table (known: {known})"
            ) from None

    def position(self, symbol: str) -> PositionState | None:
        """The position in ``symbol``, ``None`` when there is none (an unknown symbol raises
        :class:`~hedgekit.errors.InvalidArgumentError`)."""
        self.table(symbol)
        return self.positions.get(symbol)

    # ---------------------------------------------------------------------- the account now

    @property
    @exact
    def unrealized_pnl(self) -> Decimal:
        """``Σ size * (mark - entry)`` (exact)."""
        return sum((p.unrealized_pnl for p in self.positions.values()), ZERO)

    @property
    @exact
    def equity(self) -> Decimal:
        """``collateral + unrealized PnL`` (exact)."""
        return self.collateral + self.unrealized_pnl

    @property
    @exact
    def initial_margin(self) -> Decimal:
        """``Σ notional / leverage``, each term rounded up at 28 significant digits when the
        quotient does not terminate."""
        return sum(
            (div(p.notional, p.leverage, ROUND_CEILING) for p in self.positions.values()),
            ZERO,
        )

    @property
    @exact
    def maintenance_margin(self) -> Decimal:
        """``Σ notional * rate - amount`` with each position's tier (exact)."""
        return sum(
            (self.tables[s].maintenance_margin(p.notional) for s, p in self.positions.items()),
            ZERO,
        )

    @property
    @exact
    def free(self) -> Decimal:
        """``equity - initial_margin``: negative when the account is short of initial margin."""
        return self.equity - self.initial_margin

    @property
    def available(self) -> Decimal:
        """``equity - initial_margin`` floored at 0: what new positions can use."""
        return max(self.free, ZERO)

    @property
    @exact
    def margin_ratio(self) -> Decimal | None:
        """``maintenance_margin / equity`` rounded up (liquidatable at ≥ 1); ``None`` when
        equity is not positive."""
        equity = self.equity
        if equity <= 0:
            return None
        return div(self.maintenance_margin, equity, ROUND_CEILING)

    @property
    @exact
    def is_liquidatable(self) -> bool:
        """True when a position is open and ``equity <= maintenance_margin``."""
        if not any(p.size != 0 for p in self.positions.values()):
            return False
        return self.equity <= self.maintenance_margin

    # ------------------------------------------------------------------ hypothetical accounts

    def with_mark(self, symbol: str, mark: Decimal) -> Account:
        """This account with ``symbol``'s mark moved to ``mark`` (> 0)."""
        mark = positive(mark, "mark")
        pos = self.position(symbol)
        if pos is None:
            raise InvalidArgumentError(f"no position in {symbol!r} to move the mark of")
        positions = dict(self.positions)
        positions[symbol] = PositionState(pos.size, pos.entry_price, mark, pos.leverage)
        return Account._unchecked(self.collateral, positions, self.tables)

    @exact
    def after_open(
        self, symbol: str, side: Side | str, size: Decimal, price: Decimal, leverage: Decimal
    ) -> Account:
        """The account after an order of ``size`` on ``side`` fills at ``price``, the symbol's
        leverage set to ``leverage``.

        The symbol's mark stays its current one (for a new symbol, ``price``). The result is
        marked to market: the symbol's PnL up to the mark moves into the collateral and its entry
        becomes the mark, so equity, margins and liquidation prices are exactly those of the
        real account (no averaged entry price to round). Its collateral may be negative.

        Raises:
            InvalidArgumentError: An unknown symbol, a bad side, or a size, price or leverage
                that is not positive.
        """
        side = _side(side)
        size = positive(size, "size")
        price = positive(price, "price")
        leverage = positive(leverage, "leverage")
        before = self.position(symbol)
        mark = before.mark_price if before is not None else price
        q = before.size if before is not None else ZERO
        delta = size if side is Side.BUY else -size
        collateral = self.collateral + delta * (mark - price)
        if before is not None:
            collateral += before.unrealized_pnl
        positions = dict(self.positions)
        new = q + delta
        if new == 0:
            positions.pop(symbol, None)
        else:
            positions[symbol] = PositionState(new, mark, mark, leverage)
        return Account._unchecked(collateral, positions, self.tables)

    # ---------------------------------------------------------------------------- decisions

    @exact
    def can_open(
        self, symbol: str, side: Side | str, size: Decimal, price: Decimal, leverage: Decimal
    ) -> Decision:
        """Whether the model accepts an order of ``size`` on ``side`` at ``price`` with the
        symbol's leverage set to ``leverage``.

        An order that adds to the position, opens one or flips it is refused when the leverage
        is above the cap of the tier of the resulting notional
        (:attr:`Refusal.LEVERAGE_ABOVE_CAP`), else when ``free`` after the fill would be
        negative (:attr:`Refusal.INSUFFICIENT_MARGIN`: available would go below 0). An order
        that only reduces the position is always accepted, as venues accept closes. Fees are not
        modelled: subtract them from the collateral first.

        Raises:
            InvalidArgumentError: As :meth:`after_open`.
        """
        table = self.table(symbol)
        after = self.after_open(symbol, side, size, price, leverage)
        before = self.positions.get(symbol)
        new = after.positions.get(symbol)
        q = before.size if before is not None else ZERO
        q2 = new.size if new is not None else ZERO
        notional = new.notional if new is not None else ZERO
        cap = table.max_leverage_at(notional)
        free = after.free
        reduces = q != 0 and (q2 == 0 or ((q2 > 0) == (q > 0) and abs(q2) < abs(q)))
        leverage = positive(leverage, "leverage")
        if reduces:
            return Decision(True, None, "reduces the position", free, cap, notional)
        if leverage > cap:
            return Decision(
                False,
                Refusal.LEVERAGE_ABOVE_CAP,
                f"leverage {leverage} is above the cap {cap} of the tier of notional {notional}",
                free,
                cap,
                notional,
            )
        if free < 0:
            return Decision(
                False,
                Refusal.INSUFFICIENT_MARGIN,
                f"equity {after.equity} would be below the initial margin "
                f"{after.initial_margin} (short by {-free})",
                free,
                cap,
                notional,
            )
        return Decision(True, None, f"free margin after the fill: {free}", free, cap, notional)

    # ---------------------------------------------------------------------------- liquidation

    @exact
    def _excess_terms(self, symbol: str) -> tuple[PositionState, Decimal]:
        """The position in ``symbol`` and ``A`` of ``g(n) = A + s * n - MM(n)``."""
        pos = self.positions[symbol]
        others = sum(
            (
                p.unrealized_pnl - self.tables[s].maintenance_margin(p.notional)
                for s, p in self.positions.items()
                if s != symbol
            ),
            ZERO,
        )
        return pos, self.collateral + others - pos.size * pos.entry_price

    @exact
    def liquidation_price(self, symbol: str) -> Decimal | None:
        """The mark of ``symbol`` at which equity equals maintenance margin, other marks fixed.

        Solved exactly in the tier where the excess of equity over maintenance changes sign,
        and rounded once at 28 significant digits toward the mark side (a long's price up, a
        short's down), so that at the returned price equity is at least the maintenance margin
        and the distance is never overstated; exact when the root fits.

        Returns:
            The price, or ``None`` when flat, or when that symbol's price alone cannot liquidate
            the account (a positive price solves nothing: a long so over-collateralised that the
            price would have to reach 0 or less; a short already below maintenance at any
            price).

        Raises:
            InvalidArgumentError: An unknown symbol.
        """
        table = self.table(symbol)
        pos = self.positions.get(symbol)
        if pos is None or pos.size == 0:
            return None
        pos, a = self._excess_terms(symbol)
        s = pos.sign
        size = abs(pos.size)

        def g(n: Decimal) -> Decimal:
            return a + s * n - table.maintenance_margin(n)

        if (s > 0 and a >= 0) or (s < 0 and a <= 0):
            return None  # g(0) = A already on the safe side: no positive root
        i = len(table.tiers) - 1
        while i > 0:
            v = g(table.tiers[i].notional_floor)
            if (s > 0 and v <= 0) or (s < 0 and v >= 0):
                break
            i -= 1
        tier = table.tiers[i]
        return div(
            a + tier.maintenance_amount,
            (tier.maintenance_rate - s) * size,
            ROUND_CEILING if s > 0 else ROUND_FLOOR,
        )

    @exact
    def liquidation_distance(self, symbol: str) -> Decimal | None:
        """``|liquidation price - mark| / mark``, rounded down at 28 significant digits.

        Returns:
            ``0`` when the account is already liquidatable (equity ≤ maintenance), ``None`` when
            flat or when the symbol's price alone cannot liquidate it.
        """
        pos = self.position(symbol)
        if pos is None or pos.size == 0:
            return None
        if self.is_liquidatable:
            return ZERO
        liq = self.liquidation_price(symbol)
        if liq is None:
            return None
        return div(abs(liq - pos.mark_price), pos.mark_price, ROUND_FLOOR)

    # --------------------------------------------------------------------- collateral targets

    @exact
    def collateral_for_distance(self, min_distance: Decimal) -> Decimal:
        """The least collateral at which every open position's liquidation distance is at least
        ``min_distance`` (≥ 0), positions and marks as they are (exact).

        Distance ≥ d for a long holds exactly when equity ≥ maintenance at the mark
        ``mark * (1 - d)`` (at 0 when d ≥ 1), for a short at ``mark * (1 + d)``; each is linear
        in the collateral, and the answer is the largest of their solutions (0 at least).
        """
        d = non_negative(min_distance, "min_distance")
        need = ZERO
        for symbol, pos in self.positions.items():
            if pos.size == 0:
                continue
            s = pos.sign
            price = max(pos.mark_price * (1 - s * d), ZERO)
            _, a = self._excess_terms(symbol)
            n = abs(pos.size) * price
            excess = a + s * n - self.tables[symbol].maintenance_margin(n)
            need = max(need, self.collateral - excess)
        return need

    @exact
    def collateral_for_free(self, free: Decimal = ZERO) -> Decimal:
        """The least collateral at which ``equity - initial_margin >= free`` (≥ 0)."""
        f = non_negative(free, "free")
        return max(self.initial_margin - self.unrealized_pnl + f, ZERO)


# ------------------------------------------------------------------------------ pairs, sizing


@dataclass(frozen=True, slots=True)
class LegDistance:
    """One leg's liquidation distance.

    Attributes:
        symbol: The leg's symbol on its venue.
        mark: The leg's mark price.
        liquidation_price: The venue's or the model's liquidation price (``None``: none).
        distance: ``|liquidation_price - mark| / mark`` (``None``: cannot be liquidated by its
            own price; ``0``: already liquidatable).
        source: ``"venue"`` when the price came from the venue, ``"model"`` when computed.
    """

    symbol: str
    mark: Decimal
    liquidation_price: Decimal | None
    distance: Decimal | None
    source: Literal["venue", "model"]


@dataclass(frozen=True, slots=True)
class PairDistance:
    """The liquidation distance of a two-leg pair: the nearer leg's.

    Attributes:
        long: The long leg.
        short: The short leg.
        distance: The smaller of the legs' distances (``None`` when neither can be liquidated
            by its own price).
        nearest: Which leg that is (``"long"`` on a tie; ``None`` with ``distance``).
    """

    long: LegDistance
    short: LegDistance
    distance: Decimal | None
    nearest: Literal["long", "short"] | None


@exact
def _leg(
    account: Account, symbol: str, sign: int, venue_price: Decimal | None, what: str
) -> LegDistance:
    pos = account.position(symbol)
    if pos is None or pos.sign != sign:
        state = "flat" if pos is None or pos.sign == 0 else ("short" if sign > 0 else "long")
        raise InvalidArgumentError(f"the {what} leg {symbol!r} is {state}, not {what}")
    if venue_price is not None:
        liq = positive(venue_price, f"{what} venue liquidation price")
        dist = div(abs(liq - pos.mark_price), pos.mark_price, ROUND_FLOOR)
        return LegDistance(symbol, pos.mark_price, liq, dist, "venue")
    return LegDistance(
        symbol,
        pos.mark_price,
        account.liquidation_price(symbol),
        account.liquidation_distance(symbol),
        "model",
    )


def pair_liquidation_distance(
    long_account: Account,
    long_symbol: str,
    short_account: Account,
    short_symbol: str,
    *,
    long_venue_price: Decimal | None = None,
    short_venue_price: Decimal | None = None,
) -> PairDistance:
    """Each leg's liquidation distance and the pair's (the smaller, and which leg).

    A leg uses the venue's liquidation price when one is passed (``source="venue"``) and the
    model's otherwise (``"model"``): Hyperliquid and Lighter may return a null liquidation
    price, so pass ``None`` then.

    Raises:
        InvalidArgumentError: A leg that is flat or on the wrong side, an unknown symbol, or a
            venue price that is not positive.
    """
    long = _leg(long_account, long_symbol, 1, long_venue_price, "long")
    short = _leg(short_account, short_symbol, -1, short_venue_price, "short")
    if long.distance is None and short.distance is None:
        return PairDistance(long, short, None, None)
    if short.distance is None or (long.distance is not None and long.distance <= short.distance):
        return PairDistance(long, short, long.distance, "long")
    return PairDistance(long, short, short.distance, "short")


@exact
def max_size_for(
    account: Account,
    symbol: str,
    side: Side | str,
    price: Decimal,
    leverage: Decimal,
    min_distance: Decimal,
    step: Decimal,
) -> Decimal:
    """The largest multiple of ``step`` that :meth:`Account.can_open` accepts and that leaves
    the symbol's liquidation distance at least ``min_distance`` (a distance of ``None`` — no
    liquidation by that price — qualifies).

    Found by doubling then bisection over whole steps, so it assumes the condition is monotone
    in the size: true for an order that opens or adds to a position at a price no better than
    the mark (a fill better than the mark adds equity as it grows; a reducing order's distance
    grows before it flips). ``0`` when even one step does not qualify.

    Raises:
        InvalidArgumentError: A step, price or leverage that is not positive, a negative
            ``min_distance``, or an unknown symbol.
    """
    step = positive(step, "step")
    d = non_negative(min_distance, "min_distance")
    positive(price, "price")
    positive(leverage, "leverage")
    _side(side)
    account.table(symbol)

    def ok(k: int) -> bool:
        size = k * step
        if not account.can_open(symbol, side, size, price, leverage):
            return False
        dist = account.after_open(symbol, side, size, price, leverage).liquidation_distance(symbol)
        return dist is None or dist >= d

    if not ok(1):
        return ZERO
    lo, hi = 1, 2
    while ok(hi):
        lo, hi = hi, hi * 2
        if hi > 1 << 96:
            raise InvalidArgumentError(
                f"no size limit found below {lo} steps of {step}: the account is not bounded "
                "by margin or distance at this price"
            )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo * step
