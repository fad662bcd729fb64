"""Fuzz tests of the core at the edges of its range, and of the venue message parsers.

Arithmetic: every public method of ``Instrument``, the pricing functions, the fill ledger and
the depth walk, with numbers anywhere in ``±9223372036.854775807`` (nine decimals), against an
oracle in Python integers and ``Decimal``: the result is exact, or ``NumberRangeError`` when it
leaves the range, or the documented error for a genuinely invalid input — never another
exception, never a wrapped value.

Parsers: every venue message parser of ``OrderBook`` (Hyperliquid ``l2Book``, Aster/Binance
depth snapshot and ``depthUpdate``; Lighter books arrive as decoded levels through
``apply_snapshot``), on generated messages and their mutations, against ``orjson``: what
``orjson`` refuses the parser refuses (``ParseError``, book unchanged); what it accepts and is a
well-formed message gives the same book as the orjson-decoded values applied through the generic
``apply_snapshot``/``apply_delta``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit import (
    FillLedger,
    FillStatus,
    Instrument,
    OrderBook,
    break_even_price,
    common_size,
    ladder,
    limit_price,
    maker_price,
    spread_within,
)
from hedgekit._core import BOOK_CROSSED, BOOK_GAP, BOOK_IGNORED, BOOK_OK
from hedgekit.errors import (
    BookIntegrityError,
    ConversionError,
    InvalidArgumentError,
    InvalidOrderError,
    NumberRangeError,
    ParseError,
)

ONE = 10**9
MAX = 2**63 - 1
MIN = -(2**63)
BPS = 10_000 * ONE

FUZZ = settings(max_examples=300, deadline=None)
EXACT = Context(prec=100)  # no rounding in the oracle's Decimal arithmetic


def dec(raw: int) -> str:
    """The exact decimal text of a raw fixed-point value."""
    return str(Decimal(raw).scaleb(-9, EXACT))


# ---------------------------------------------------------------------------------------------
# Outcomes: a value, or a documented error.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Err:
    """A documented error: its class, and its ``reason`` or ``kind`` where it has one."""

    cls: type[Exception]
    why: str | None = None


RANGE = Err(NumberRangeError, "out_of_range")
NON_POSITIVE = Err(InvalidOrderError, "non_positive_price")
ARG = Err(InvalidArgumentError)
CROSSED = Err(BookIntegrityError, "crossed")


class Refused(Exception):
    """Raised by an oracle: the operation must fail with ``err``."""

    def __init__(self, err: Err) -> None:
        super().__init__(err)
        self.err = err


def outcome(fn: Callable[[], Any]) -> Any:
    """The value of ``fn()``, or the documented error it raised (any other exception escapes)."""
    try:
        return fn()
    except (NumberRangeError, InvalidOrderError, InvalidArgumentError, BookIntegrityError) as e:
        return Err(type(e), getattr(e, "reason", None) or getattr(e, "kind", None))


def expect(oracle: Callable[[], Any]) -> Any:
    try:
        return oracle()
    except Refused as r:
        return r.err


def fits(v: int) -> int:
    if not MIN <= v <= MAX:
        raise Refused(RANGE)
    return v


# ---------------------------------------------------------------------------------------------
# Strategies over the whole range.
# ---------------------------------------------------------------------------------------------

edge_raw = st.one_of(
    st.integers(MIN, MAX),
    st.sampled_from([MIN, MIN + 1, MAX, MAX - 1, 0, 1, -1, ONE, -ONE]),
    st.integers(0, 10**6).map(lambda d: MAX - d),
    st.integers(0, 10**6).map(lambda d: MIN + d),
    st.tuples(st.integers(0, 18), st.integers(-3, 3), st.booleans()).map(
        lambda t: max(MIN, min(MAX, (-1 if t[2] else 1) * (10 ** t[0] + t[1])))
    ),
    st.integers(-(10**4), 10**4),
)
positive_raw = edge_raw.map(lambda v: v if v > 0 else max(1, min(MAX, -v)))
grid_raw = st.one_of(
    st.integers(0, 18).map(lambda e: 10**e),
    st.tuples(st.integers(0, 18), st.integers(1, 9)).map(lambda t: min(MAX, 10 ** t[0] * t[1])),
    positive_raw,
)


@dataclass(frozen=True)
class Rules:
    """An instrument and the Python description of its grid."""

    inst: Instrument
    kind: str
    tick: int
    step: int
    min_qty: int = 0
    min_notional: int = 0
    max_decimals: int = 9
    lighter_dec: tuple[int, int] = (0, 0)

    def grid(self, p: int) -> int:
        if self.kind != "hyperliquid":
            return self.tick
        digits = len(str(max(p, 1))) - 1
        sig = 10 ** (digits - 4) if digits >= 4 else 1
        return min(max(sig, self.tick), ONE)


@st.composite
def rules(draw: st.DrawFn) -> Rules:
    kind = draw(st.sampled_from(["plain", "plain", "hyperliquid", "lighter"]))
    if kind == "plain":
        tick, step = draw(grid_raw), draw(grid_raw)
        min_qty = draw(st.one_of(st.just(0), positive_raw))
        min_notional = draw(st.one_of(st.just(0), positive_raw))
        md = draw(st.one_of(st.none(), st.integers(0, 9)))
        inst = Instrument.plain(dec(tick), dec(step), dec(min_qty), dec(min_notional), md)
        tick_decimals = 9 - (len(str(tick)) - len(str(tick).rstrip("0")))
        max_dec = min(9, max(0, tick_decimals) if md is None else md)
        return Rules(inst, kind, tick, step, min_qty, min_notional, max_dec)
    if kind == "hyperliquid":
        spot = draw(st.booleans())
        sz = draw(st.integers(0, 8 if spot else 6))
        mn = draw(st.one_of(st.just(0), positive_raw))
        inst = Instrument.hyperliquid(sz, spot, dec(mn))
        pdec = (8 if spot else 6) - sz
        return Rules(inst, kind, 10 ** (9 - pdec), 10 ** (9 - sz), 10 ** (9 - sz), mn, pdec)
    pd, sd = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    mb, mq = draw(st.one_of(st.just(0), positive_raw)), draw(st.one_of(st.just(0), positive_raw))
    inst = Instrument.lighter(pd, sd, dec(mb), dec(mq))
    return Rules(inst, kind, 10 ** (9 - pd), 10 ** (9 - sd), mb, mq, pd, (pd, sd))


# ---------------------------------------------------------------------------------------------
# The oracle of the grid: Python integers, no overflow possible.
# ---------------------------------------------------------------------------------------------


def to_grid(v: int, g: int, up: bool) -> int:
    return -(-v // g) * g if up else v // g * g


def round_dir(r: Rules, p: int, up: bool) -> int:
    if p <= 0:
        raise Refused(NON_POSITIVE)
    out = to_grid(p, r.grid(p), up)
    fits(out)
    if out <= 0:
        raise Refused(NON_POSITIVE)
    return out


def step_dir(r: Rules, p: int, up: bool) -> int:
    on = round_dir(r, p, up)
    if r.kind != "hyperliquid":
        # A fixed grid: the next multiple strictly beyond, computed directly.
        g = r.tick
        nxt = (p // g + 1) * g if up else (-(-p // g) - 1) * g
        fits(nxt)
        if nxt <= 0:
            raise Refused(NON_POSITIVE)
        return nxt
    if on != p:
        return on
    if up:
        return round_dir(r, fits(p + 1), True)
    if p <= 1:
        raise Refused(NON_POSITIVE)
    return round_dir(r, p - 1, False)


def decimals(raw: int) -> int:
    if raw == 0:
        return 0
    d, v = 9, abs(raw)
    while d > 0 and v % 10 == 0:
        v //= 10
        d -= 1
    return d


def check_reason(r: Rules, p: int, s: int, reduce_only: bool) -> str | None:
    if p <= 0:
        return "non_positive_price"
    if s <= 0:
        return "non_positive_size"
    if r.kind == "plain" and decimals(p) > r.max_decimals:
        return "too_many_decimals"
    if p % r.grid(p) != 0:
        return "off_tick"
    if s % r.step != 0:
        return "off_step"
    if r.kind == "lighter" and (p // r.tick > 2**32 - 1 or s // r.step > 2**48 - 1):
        return "out_of_range"
    if s < r.min_qty:
        return "below_min_size"
    exempt = reduce_only and r.inst.reduce_only_exempt
    if not exempt and p * s < r.min_notional * ONE:
        return "below_min_notional"
    return None


def value_of(d: Any) -> Any:
    """A ``Decimal`` result as a raw integer (exactly)."""
    if isinstance(d, Decimal):
        raw = d.scaleb(9, EXACT)
        assert raw == raw.to_integral_value(), d
        return int(raw)
    return d


# ---------------------------------------------------------------------------------------------
# Instrument
# ---------------------------------------------------------------------------------------------


def test_stepping_above_the_largest_price_is_a_range_error_not_a_wrap() -> None:
    inst = Instrument.plain("0.000000001", "1")
    with pytest.raises(NumberRangeError):
        inst.step_price("9223372036.854775807", "up")
    assert inst.step_price("9223372036.854775807", "down") == Decimal("9223372036.854775806")
    with pytest.raises(NumberRangeError):
        Instrument.plain("0.01", "1").round_price("9223372036.854775807", "sell")


def near_the_top(r: Rules) -> st.SearchStrategy[int]:
    """Prices anywhere, or on and next to the instrument's highest grid prices."""
    g = r.grid(MAX)
    top = MAX // g * g
    return st.one_of(
        edge_raw,
        st.integers(0, 2).map(lambda k: max(MIN, top - k * g)),
        st.integers(-2, 2).map(lambda d: min(MAX, top + d)),
    )


@FUZZ
@given(
    rules().flatmap(lambda r: st.tuples(st.just(r), near_the_top(r))), st.booleans(), st.booleans()
)
def test_rounding_and_stepping_are_exact_or_refused(
    rp: tuple[Rules, int], buy: bool, aggressive: bool
) -> None:
    r, p = rp
    side = "buy" if buy else "sell"
    up = buy == aggressive
    got = outcome(lambda: value_of(r.inst.round_price(dec(p), side, aggressive)))
    assert got == expect(lambda: round_dir(r, p, up))
    assert outcome(lambda: r.inst.round_price_raw(p, buy, aggressive)) == got
    for direction in ("up", "down"):
        got = outcome(lambda: value_of(r.inst.step_price(dec(p), direction)))
        assert got == expect(lambda: step_dir(r, p, direction == "up")), direction
    assert r.inst.is_price_valid(dec(p)) == (p > 0 and p % r.grid(p) == 0)


@FUZZ
@given(rules(), edge_raw, edge_raw, st.booleans())
def test_sizes_and_checks_are_exact(r: Rules, p: int, s: int, reduce_only: bool) -> None:
    def floor() -> int:
        if s < 0:
            raise Refused(Err(InvalidOrderError, "non_positive_size"))
        return to_grid(s, r.step, False)

    assert outcome(lambda: value_of(r.inst.floor_size(dec(s)))) == expect(floor)
    assert outcome(lambda: r.inst.floor_size_raw(s)) == expect(floor)
    floored = to_grid(max(s, 0), r.step, False)
    assert r.inst.is_dust(dec(s)) == (floored == 0 or floored < r.min_qty)
    want = check_reason(r, p, s, reduce_only)
    assert r.inst.rejection(dec(p), dec(s), reduce_only) == want
    got = outcome(lambda: r.inst.check(dec(p), dec(s), reduce_only))
    assert got == (None if want is None else Err(InvalidOrderError, want))


@FUZZ
@given(rules(), rules(), edge_raw, st.one_of(st.none(), st.tuples(positive_raw, positive_raw)))
def test_common_size_is_exact_or_refused(
    a: Rules, b: Rules, target: int, prices: tuple[int, int] | None
) -> None:
    def oracle() -> int:
        if target < 0:
            raise Refused(ARG)
        lcm = 1
        for s in (a.step, b.step):
            lcm = fits(lcm * s // math.gcd(lcm, s))
        size = target // lcm * lcm
        for i, r in enumerate((a, b)):
            if size < r.min_qty or size == 0:
                raise Refused(Err(InvalidOrderError, "below_min_size"))
            if prices is not None and prices[i] * size < r.min_notional * ONE:
                raise Refused(Err(InvalidOrderError, "below_min_notional"))
        return size

    px = None if prices is None else [dec(p) for p in prices]
    got = outcome(lambda: value_of(common_size([a.inst, b.inst], dec(target), px)))
    assert got == expect(oracle)


@FUZZ
@given(st.integers(MIN - 10**12, MAX + 10**12), st.sampled_from(["str", "decimal", "int"]))
def test_numbers_outside_the_range_are_range_errors(raw: int, form: str) -> None:
    """Conversion at the boundary: exact inside, ``NumberRangeError`` outside (read back through
    a fill's fee, which may be any signed value)."""
    value: Any = {"str": dec(raw), "decimal": Decimal(raw).scaleb(-9, EXACT), "int": raw // ONE}[
        form
    ]
    exact = raw if form != "int" else raw // ONE * ONE
    ledger = FillLedger()
    ledger.register_order("v", "o", "buy", "1")
    got = outcome(lambda: ledger.apply("v", 1, "o", "1", "1", fee=value))
    order = ledger.order("v", "o")
    assert order is not None
    if MIN <= exact <= MAX:
        assert got is FillStatus.APPLIED and value_of(order.fees) == exact
    else:
        assert got == RANGE and order.fill_count == 0


# ---------------------------------------------------------------------------------------------
# Pricing
# ---------------------------------------------------------------------------------------------


def require_book(bid: int, ask: int) -> None:
    if bid <= 0 or ask <= 0:
        raise Refused(ARG)
    if bid >= ask:
        raise Refused(CROSSED)


def scaled(r: Rules, v: int, num: int, den: int, up: bool) -> int:
    if num <= 0 or den <= 0:
        raise Refused(ARG)
    q = -(-v * num // den) if up else v * num // den
    return round_dir(r, fits(q), up)


def limit_oracle(r: Rules, side: str, bid: int, ask: int, o: int) -> int:
    require_book(bid, ask)
    if side == "buy":
        return scaled(r, bid if o >= 0 else ask, BPS - o, BPS, False)
    return scaled(r, ask if o >= 0 else bid, BPS + o, BPS, True)


def maker_oracle(r: Rules, side: str, bid: int, ask: int, improve: bool) -> int:
    require_book(bid, ask)
    if side == "buy":
        base = round_dir(r, bid, False)
        p = step_dir(r, base, True) if improve else base
        return step_dir(r, ask, False) if p >= ask else p
    base = round_dir(r, ask, True)
    p = step_dir(r, base, False) if improve else base
    return step_dir(r, bid, True) if p <= bid else p


def ladder_oracle(r: Rules, side: str, bid: int, ask: int, steps: list[int]) -> list[int]:
    require_book(bid, ask)
    if any(n < 0 for n in steps):
        raise Refused(ARG)
    out: list[int] = []

    def push(p: int) -> None:
        if not out or (p > out[-1] if side == "buy" else p < out[-1]):
            out.append(p)

    mid = bid + (ask - bid) // 2
    try:
        inside: int | None = round_dir(r, mid, side == "sell")
    except Refused:
        inside = None
    if inside is not None and bid < inside < ask:
        push(inside)
    push(ask if side == "buy" else bid)
    for n in steps:
        push(limit_oracle(r, side, bid, ask, -n))
    return out


@FUZZ
@given(rules(), st.sampled_from(["buy", "sell"]), edge_raw, edge_raw, edge_raw, st.booleans())
def test_prices_from_a_book_are_exact_or_refused(
    r: Rules, side: str, bid: int, ask: int, o: int, improve: bool
) -> None:
    got = outcome(lambda: value_of(limit_price(r.inst, side, dec(bid), dec(ask), dec(o))))
    assert got == expect(lambda: limit_oracle(r, side, bid, ask, o))
    got = outcome(lambda: value_of(maker_price(r.inst, side, dec(bid), dec(ask), improve)))
    assert got == expect(lambda: maker_oracle(r, side, bid, ask, improve))
    steps = [abs(o) % (MAX + 1), abs(o) // 3]
    got = outcome(
        lambda: [
            value_of(p) for p in ladder(r.inst, side, dec(bid), dec(ask), [dec(n) for n in steps])
        ]
    )
    assert got == expect(lambda: ladder_oracle(r, side, bid, ask, steps))
    within = spread_within(dec(bid), dec(ask), dec(o))
    mid2 = ask + bid
    assert within == (bid > 0 and ask > bid and (ask - bid) * 2 * BPS <= o * mid2)


@FUZZ
@given(rules(), st.sampled_from(["buy", "sell"]), edge_raw, edge_raw, edge_raw)
def test_break_even_is_exact_or_refused(r: Rules, side: str, px: int, fr: int, fh: int) -> None:
    def oracle() -> int:
        if px <= 0:
            raise Refused(ARG)
        if side == "sell":
            return scaled(r, px, ONE + fr, ONE - fh, True)
        return scaled(r, px, ONE - fr, ONE + fh, False)

    got = outcome(lambda: value_of(break_even_price(r.inst, side, dec(px), dec(fr), dec(fh))))
    assert got == expect(oracle)


# ---------------------------------------------------------------------------------------------
# Ledger and depth walk
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(
    positive_raw,
    st.lists(st.tuples(edge_raw, edge_raw, edge_raw, st.booleans()), min_size=1, max_size=8),
)
def test_ledger_totals_are_exact_or_refused(
    size: int, fills: list[tuple[int, int, int, bool]]
) -> None:
    ledger = FillLedger()
    ledger.register_order("v", "o", "buy", dec(size))
    filled = notional = fees = maker = count = 0
    for k, (px, sz, fee, is_maker) in enumerate(fills):
        before = ledger.order("v", "o")
        assert before is not None
        got = outcome(lambda: ledger.apply("v", k, "o", dec(px), dec(sz), dec(fee), is_maker))
        if px <= 0 or sz <= 0:
            assert got == ARG
        elif not (MIN <= filled + sz <= MAX and MIN <= fees + fee <= MAX):
            assert got == RANGE
        else:
            filled, notional, fees, count = filled + sz, notional + px * sz, fees + fee, count + 1
            maker += sz if is_maker else 0
            assert got is (FillStatus.APPLIED if filled <= size else FillStatus.OVERFILL)
        o = ledger.order("v", "o")
        assert o is not None
        if isinstance(got, Err):
            assert repr(o) == repr(before) and not ledger.seen("v", k, "o")
        assert (value_of(o.filled), value_of(o.fees), o.fill_count) == (filled, fees, count)
        assert (value_of(o.maker_size), value_of(o.taker_size)) == (maker, filled - maker)
        assert o.notional == Decimal(notional).scaleb(-18, EXACT)
        assert value_of(o.remaining) == max(size - filled, 0)
        assert value_of(o.overfill) == max(filled - size, 0)
        if filled:
            q, rem = divmod(notional, filled)
            assert value_of(o.avg_price) == q + (1 if 2 * rem >= filled else 0)
        else:
            assert o.avg_price is None


@FUZZ
@given(
    st.dictionaries(positive_raw, positive_raw, min_size=1, max_size=6),
    positive_raw,
    positive_raw,
    edge_raw,
)
def test_depth_walk_is_exact(asks: dict[int, int], bid: int, want: int, bps: int) -> None:
    book = OrderBook()
    book.apply_snapshot([(dec(bid), "1")], [(dec(p), dec(s)) for p, s in asks.items()])
    left, cost = want, 0
    for p in sorted(asks):
        take = min(left, asks[p])
        cost, left = cost + p * take, left - take
    filled = want - left
    walk = book.walk("buy", dec(want))
    assert value_of(walk.filled) == filled and walk.complete == (left == 0)
    assert value_of(walk.vwap) == -(-cost // filled)
    assert value_of(book.mid()) == (bid + min(asks)) // 2
    got = outcome(lambda: value_of(book.size_within_bps("buy", dec(bps))))
    if bps < 0:
        assert got == ARG
    else:
        limit = min(asks) * (BPS + bps)
        depth = sum(s for p, s in asks.items() if p * 10_000 * ONE <= limit)
        assert got == min(depth, MAX)  # documented: a lower bound at the largest value


# ---------------------------------------------------------------------------------------------
# Venue message parsers against orjson
# ---------------------------------------------------------------------------------------------


@dataclass
class Obj:
    """A JSON object as written: keys in order, repeats allowed."""

    pairs: list[tuple[str, Any]]


@dataclass
class Raw:
    """A JSON token written as is (a number in an unusual form, or anything invalid)."""

    text: str


WS = ["", "", "", " ", "  ", "\t", "\n", "\r\n"]


def dump(v: Any, rnd: random.Random, esc: float, ws: float) -> str:
    """JSON text for ``v`` with random whitespace between tokens and random string escapes."""

    def w() -> str:
        return rnd.choice(WS) if rnd.random() < ws else ""

    if isinstance(v, Obj):
        items = [
            f"{w()}{dump(k, rnd, esc, ws)}{w()}:{w()}{dump(x, rnd, esc, ws)}{w()}"
            for k, x in v.pairs
        ]
        return "{" + (",".join(items) if items else w()) + "}"
    if isinstance(v, list):
        items = [f"{w()}{dump(x, rnd, esc, ws)}{w()}" for x in v]
        return "[" + (",".join(items) if items else w()) + "]"
    if isinstance(v, Raw):
        return v.text
    if v is None or isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, (int, float)):
        return json.dumps(v)
    out = ['"']
    for ch in v:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif o < 0x20 or rnd.random() < esc:
            short = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "/": "\\/"}
            if ch in short and rnd.random() < 0.5:
                out.append(short[ch])
            elif o > 0xFFFF:
                hi, lo = 0xD800 + ((o - 0x10000) >> 10), 0xDC00 + ((o - 0x10000) & 0x3FF)
                out.append(f"\\u{hi:04x}\\u{lo:04X}")
            else:
                out.append(f"\\u{o:04x}" if rnd.random() < 0.5 else f"\\u{o:04X}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def number_text(raw: int, rnd: random.Random) -> str:
    """A decimal string for a raw value, in one of the forms a venue or a fuzzer may send."""
    d = dec(raw)
    r = rnd.random()
    if r < 0.75:
        return d
    if r < 0.83:
        return d + ("000" if "." in d else ".000")
    if r < 0.89:
        return f"{raw}e-9" if rnd.random() < 0.5 else f"{raw}E-09"
    if r < 0.93:
        return "+" + d
    if r < 0.97:
        return "0" + d
    return rnd.choice(
        [
            "NaN",
            "1e400",
            "-" + d,
            "",
            " " + d,
            "0x1",
            d + "0000000001e-10",
            "1,5",
            "١",
            "Infinity",
            ".",
            "9223372037",
        ]
    )


def strange_value(rnd: random.Random) -> Any:
    """An unknown field's value: anything JSON, nested, with unicode and odd numbers."""
    return rnd.choice(
        [
            None, True, False, 0, -1, 1.5, Raw("-0"), Raw("1E+2"), Raw("-0.0e-0"),
            Raw("123456789012345678901234567890"), Raw("1e308"), "é😀\u2028", "", "]}\"",
            [1, [2, [3, {"k": "v"}]]], Obj([("a", Obj([("a", 1), ("a", 2)]))]), [],
        ]
    )  # fmt: skip


def hl_level(price: int, size: int, rnd: random.Random) -> Obj:
    pairs: list[tuple[str, Any]] = [("px", number_text(price, rnd)), ("sz", number_text(size, rnd))]
    n = rnd.choice(
        [1, 0, 12, Raw("-0"), Raw("1E2"), Raw("3.0"), None, Raw("123456789012345678901234567890")]
    )
    if rnd.random() < 0.02:
        n = Raw(rnd.choice(["09", "00", "-01", "01.5", "1e400", "+1", ".5", "1."]))  # not JSON
    pairs.append(("n", n))
    if rnd.random() < 0.05:
        pairs.append(("x", strange_value(rnd)))
    if rnd.random() < 0.01:
        pairs.append((rnd.choice(["px", "sz"]), number_text(price, rnd)))
    if rnd.random() < 0.01:
        pairs.pop(rnd.randrange(2))
    if rnd.random() < 0.2:
        rnd.shuffle(pairs)
    return Obj(pairs)


def book_side(rnd: random.Random, pool: int, bid: bool) -> list[tuple[int, int]]:
    base = 1000 if bid else 1000 + pool + 1
    n = rnd.randrange(0, 6)
    out = []
    for _ in range(n):
        p = (base - rnd.randrange(pool) if bid else base + rnd.randrange(pool)) * 10**7
        s = 0 if rnd.random() < 0.15 else rnd.randrange(1, 10**10)
        out.append((p, s))
    if rnd.random() < 0.85:  # usually distinct prices, as venues send them
        seen: dict[int, int] = {}
        for p, s in out:
            seen.setdefault(p, s)
        out = list(seen.items())
    if rnd.random() < 0.1 and out:  # or one price on both sides
        out[0] = (1000 * 10**7 + (1 if bid else -1) * 0, out[0][1])
    return out


def hl_doc(rnd: random.Random) -> Any:
    pool = rnd.choice([3, 10, 50])
    bids = [hl_level(p, s, rnd) for p, s in book_side(rnd, pool, True)]
    asks = [hl_level(p, s, rnd) for p, s in book_side(rnd, pool, False)]
    data: list[tuple[str, Any]] = [("coin", "ETH"), ("levels", [bids, asks])]
    if rnd.random() < 0.9:
        odd = [0, Raw("-0"), MAX, MIN, MAX + 1, 1.5, "1", True]
        data.append(("time", rnd.choice(odd) if rnd.random() < 0.1 else 1760000000000))
    if rnd.random() < 0.05:
        data.append(("time", 5))
    if rnd.random() < 0.1:
        data.append(("extra", strange_value(rnd)))
    rnd.shuffle(data)
    if rnd.random() < 0.3:
        return Obj(data)
    env: list[tuple[str, Any]] = [
        ("channel", rnd.choice(["l2Book"] * 9 + ["trades"])),
        ("data", Obj(data)),
    ]
    if rnd.random() < 0.05:
        env.append(("levels", [[], []]))
    if rnd.random() < 0.05:
        env.append(("channel", "l2Book"))
    rnd.shuffle(env)
    return Obj(env)


def pair_levels(levels: list[tuple[int, int]], rnd: random.Random) -> list[Any]:
    out: list[Any] = []
    for p, s in levels:
        lv: list[Any] = [number_text(p, rnd), number_text(s, rnd)]
        if rnd.random() < 0.05:
            lv.append(strange_value(rnd))
        if rnd.random() < 0.01:
            lv = lv[: rnd.randrange(2)]
        if rnd.random() < 0.01 and lv:
            lv[0] = 1
        out.append(lv)
    return out


def depth_doc(rnd: random.Random, update: bool, lid: int) -> Any:
    pool = rnd.choice([3, 10, 50])
    bids = pair_levels(book_side(rnd, pool, True), rnd)
    asks = pair_levels(book_side(rnd, pool, False), rnd)
    long = rnd.random() < 0.1  # the long key names of the REST body
    pairs: list[tuple[str, Any]] = [
        ("bids" if long else "b", bids) if update else ("bids", bids),
        ("asks" if long else "a", asks) if update else ("asks", asks),
        ("E", 1589436922972),
        ("T", rnd.choice([Raw("1e3"), "5"]) if rnd.random() < 0.05 else 1589436922959),
    ]
    if update:
        pairs.append(("e", rnd.choice(["depthUpdate"] * 9 + ["trade"])))
        pairs.append(("s", "BTCUSDT"))
        case = rnd.choice(["apply", "apply", "old", "gap", "random"])
        if case == "apply":
            first, final, prev = lid - rnd.randrange(3), lid + rnd.randrange(1, 4), lid
        elif case == "old":
            first, final, prev = lid - 5, lid - rnd.randrange(0, 3), lid - 6
        elif case == "gap":
            first, final, prev = lid + rnd.randrange(1, 3), lid + 5, lid + rnd.choice([-2, 1])
        else:
            first, final, prev = (rnd.choice([MIN, MAX, 0, lid, lid + 1]) for _ in range(3))
        pairs += [("U", first), ("u", final), ("pu", prev)]
    else:
        odd = [MAX, Raw("-0"), MAX + 1]
        pairs.append(("lastUpdateId", rnd.choice(odd) if rnd.random() < 0.1 else lid + 50))
    if rnd.random() < 0.03:
        pairs.append(rnd.choice(pairs))  # a key twice
    if rnd.random() < 0.02:
        pairs.pop(rnd.randrange(len(pairs)))  # a key missing
    if rnd.random() < 0.1:
        pairs.append(("x", strange_value(rnd)))
    rnd.shuffle(pairs)
    if rnd.random() < 0.3:
        return Obj([("stream", "btcusdt@depth"), ("data", Obj(pairs))])
    return Obj(pairs)


SNIPPETS = [
    b"0", b"09", b"-0", b"-", b"1e400", b"e5", b"E+", b".", b"00", b" ", b"\t", b"\n", b"\r",
    b"\x0c", b"\\u0041", b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"\\", b"\xc3\xa9", b"\xff",
    b"\xed\xa0\x80", b",", b"123456789012345678901234567890", b"\x00", b"}", b"]", b'"',
]  # fmt: skip


def mutate(text: bytes, rnd: random.Random) -> bytes:
    """Byte flips, replaced, inserted and deleted bytes, and the JSON corner cases."""
    b = bytearray(text)
    for _ in range(rnd.randrange(1, 4)):
        at = rnd.randrange(len(b) + 1)
        op = rnd.randrange(5)
        if op == 0 and at < len(b):
            b[at] ^= 1 << rnd.randrange(8)
        elif op == 1 and at < len(b):
            b[at] = rnd.choice(b'0123456789-+.eE"\\{}[]:, \tu\x00\x7f\x80')
        elif op == 2:
            b.insert(at, rnd.choice(b'0123456789-+.eE"\\{}[]:, \t'))
        elif op == 3 and at < len(b):
            del b[at]
        else:
            b[at:at] = rnd.choice(SNIPPETS)
    return bytes(b)


class Malformed(Exception):
    """The text is JSON but not a well-formed message by the parser's documented rules."""


class Pairs(list):  # type: ignore[type-arg]
    """A decoded JSON object, as its (key, value) pairs in order (repeats kept)."""


def decode(text: bytes) -> Any:
    """``INVALID`` if orjson refuses the text, else its value with objects as ``Pairs``."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return INVALID
    return json.loads(text.decode("utf-8"), object_pairs_hook=Pairs)


INVALID = object()


def int64(v: Any) -> int:
    if type(v) is not int or not MIN <= v <= MAX:
        raise Malformed(f"not an i64: {v!r}")
    return v


def once(values: list[Any], name: str) -> Any:
    if len(values) > 1:
        raise Malformed(f"{name} twice")
    return values[0] if values else None


def levels_of(side: Any, level: Callable[[Any], tuple[str, str]]) -> list[tuple[str, str]]:
    if not isinstance(side, list) or isinstance(side, Pairs):
        raise Malformed("a side is not an array")
    return [level(x) for x in side]


def hl_level_of(x: Any) -> tuple[str, str]:
    if not isinstance(x, Pairs):
        raise Malformed("a level is not an object")
    px = [v for k, v in x if k == "px"]
    sz = [v for k, v in x if k == "sz"]
    if len(px) != 1 or len(sz) != 1 or not isinstance(px[0], str) or not isinstance(sz[0], str):
        raise Malformed("a level's px or sz is missing, repeated or not a string")
    return px[0], sz[0]


def pair_level_of(x: Any) -> tuple[str, str]:
    if not isinstance(x, list) or isinstance(x, Pairs) or len(x) < 2:
        raise Malformed("a level is not [price, qty, ...]")
    if not isinstance(x[0], str) or not isinstance(x[1], str):
        raise Malformed("a level's price or qty is not a string")
    return x[0], x[1]


def hl_reference(doc: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int | None]:
    """The documented rules of ``apply_hyperliquid`` over the decoded message."""
    if not isinstance(doc, Pairs):
        raise Malformed("not an object")
    levels: list[Any] = []
    times: list[Any] = []

    def read(obj: Pairs, outer: bool) -> None:
        keys = [k for k, _ in obj]
        for k, v in obj:
            if k == "levels":
                levels.append(v)
            elif k == "time":
                times.append(v)
            elif outer and k == "data":
                if keys.count("data") > 1 or not isinstance(v, Pairs):
                    raise Malformed("data")
                read(v, False)
            elif outer and k in ("channel", "type"):
                if keys.count(k) > 1 or v != "l2Book" or not isinstance(v, str):
                    raise Malformed(k)

    read(doc, True)
    if len(levels) != 1:
        raise Malformed("levels missing or twice")
    t = once(times, "time")
    time = None if t is None else int64(t)
    lv = levels[0]
    if not isinstance(lv, list) or isinstance(lv, Pairs) or len(lv) != 2:
        raise Malformed("levels is not [bids, asks]")
    return levels_of(lv[0], hl_level_of), levels_of(lv[1], hl_level_of), time


DEPTH_KEYS = {"bids": "bids", "b": "bids", "asks": "asks", "a": "asks", "e": "e"}
DEPTH_INTS = ("lastUpdateId", "U", "u", "pu", "E", "T")


def depth_reference(doc: Any, update: bool) -> dict[str, Any]:
    """The documented rules of ``apply_depth_snapshot``/``apply_depth_update``."""
    if not isinstance(doc, Pairs):
        raise Malformed("not an object")
    fields: dict[str, list[Any]] = {}

    def read(obj: Pairs, outer: bool) -> None:
        keys = [k for k, _ in obj]
        for k, v in obj:
            if k in DEPTH_KEYS or k in DEPTH_INTS:
                fields.setdefault(DEPTH_KEYS.get(k, k), []).append(v)
            elif outer and k == "data":
                if keys.count("data") > 1 or not isinstance(v, Pairs):
                    raise Malformed("data")
                read(v, False)

    read(doc, True)
    out = {k: once(v, k) for k, v in fields.items()}
    for k in DEPTH_INTS:
        if out.get(k) is not None:
            out[k] = int64(out[k])
    if "e" in out and (not isinstance(out["e"], str) or out["e"] != "depthUpdate"):
        raise Malformed("e")
    for k in ("U", "u", "pu") if update else ("lastUpdateId",):
        if out.get(k) is None:
            raise Malformed(f"{k} missing")
    if out.get("bids") is None or out.get("asks") is None:
        raise Malformed("a side is missing")
    out["bids"] = levels_of(out["bids"], pair_level_of)
    out["asks"] = levels_of(out["asks"], pair_level_of)
    return out


def book_state(book: OrderBook) -> tuple[object, ...]:
    return (
        book.levels("bid", 1000),
        book.levels("ask", 1000),
        book.is_crossed,
        book.is_synced,
        book.last_update_ns,
        book.venue_time_ms,
        book.last_update_id,
    )


def generic_check(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> bool:
    """True if the generic path takes these levels (numbers, signs, no price twice)."""
    try:
        OrderBook().apply_snapshot(bids, asks)
    except (ConversionError, InvalidArgumentError):
        return False
    return True


def refused(apply: Callable[[bytes, int], int], book: OrderBook, text: bytes) -> None:
    before = book_state(book)
    with pytest.raises(ParseError) as exc:
        apply(text, 99)
    assert 0 <= exc.value.position <= len(text)
    assert book_state(book) == before


HL_BASE = (
    b'{"channel":"l2Book","data":{"coin":"ETH","time":1,"levels":'
    b'[[{"px":"9.5","sz":"1","n":1}],[{"px":"10.5","sz":"1","n":1}]]}}'
)


# A plain Random seeded by hypothesis: thousands of small choices per message are far cheaper
# than hypothesis draws (the seed in a failure report replays the case).
seeds = st.integers(0, 2**64)


@settings(max_examples=1000, deadline=None)
@given(seeds, st.floats(0, 0.3), st.floats(0, 0.5), st.booleans())
def test_hyperliquid_parser_matches_orjson(seed: int, esc: float, ws: float, mutated: bool) -> None:
    rnd = random.Random(seed)
    text = dump(hl_doc(rnd), rnd, esc, ws).encode()
    if mutated:
        text = mutate(text, rnd)
    book = OrderBook()
    book.apply_hyperliquid(HL_BASE, 1)
    doc = decode(text)
    if doc is INVALID:
        return refused(book.apply_hyperliquid, book, text)
    try:
        bids, asks, time = hl_reference(doc)
    except Malformed:
        return refused(book.apply_hyperliquid, book, text)
    if not generic_check(bids, asks):
        return refused(book.apply_hyperliquid, book, text)
    ref = OrderBook()
    status = ref.apply_snapshot(bids, asks)
    assert book.apply_hyperliquid(text, 99) == status
    assert book_state(book) == book_state(ref)[:3] + (True, 99, 1 if time is None else time, None)


DEPTH_BASE_BIDS = [("9.5", "1"), ("9.4", "2")]
DEPTH_BASE_ASKS = [("10.5", "1"), ("10.6", "2")]
DEPTH_BASE = json.dumps(
    {"lastUpdateId": 100, "E": 1, "T": 2, "bids": DEPTH_BASE_BIDS, "asks": DEPTH_BASE_ASKS}
).encode()
FIRST_DIFF = json.dumps(
    {"e": "depthUpdate", "E": 3, "T": 4, "U": 95, "u": 105, "pu": 94, "b": [["9.5", "0"]], "a": []}
).encode()


def depth_books(after_first_diff: bool) -> tuple[OrderBook, OrderBook]:
    """The parser's book and the generic path's, in the same state."""
    book, ref = OrderBook(), OrderBook()
    book.apply_depth_snapshot(DEPTH_BASE, 1)
    ref.apply_snapshot(DEPTH_BASE_BIDS, DEPTH_BASE_ASKS)
    if after_first_diff:
        assert book.apply_depth_update(FIRST_DIFF, 2) == BOOK_OK
        ref.apply_delta("bid", "9.5", "0")
    return book, ref


@settings(max_examples=1000, deadline=None)
@given(seeds, st.floats(0, 0.3), st.floats(0, 0.5), st.booleans(), st.booleans(), st.booleans())
def test_depth_parsers_match_orjson(
    seed: int, esc: float, ws: float, mutated: bool, update: bool, after_first: bool
) -> None:
    rnd = random.Random(seed)
    book, ref = depth_books(after_first)
    lid = book.last_update_id
    assert lid is not None
    text = dump(depth_doc(rnd, update, lid), rnd, esc, ws).encode()
    if mutated:
        text = mutate(text, rnd)
    apply = book.apply_depth_update if update else book.apply_depth_snapshot
    doc = decode(text)
    if doc is INVALID:
        return refused(apply, book, text)
    try:
        f = depth_reference(doc, update)
    except Malformed:
        return refused(apply, book, text)
    if not generic_check(f["bids"], f["asks"]):
        return refused(apply, book, text)
    before = book_state(book)
    status = apply(text, 99)
    venue_time = f.get("T") if f.get("T") is not None else f.get("E")
    if not update:
        new = OrderBook()
        new.apply_snapshot(f["bids"], f["asks"])
        assert status == (BOOK_CROSSED if new.is_crossed else BOOK_OK)
        want = book_state(new)[:3] + (True, 99, venue_time or before[5], f["lastUpdateId"])
        assert book_state(book) == want
        return
    first_id, final_id, prev = f["U"], f["u"], f["pu"]
    if final_id < lid or (after_first and final_id == lid):
        assert status == BOOK_IGNORED and book_state(book) == before
    elif (first_id > lid) if not after_first else (prev != lid):
        assert status == BOOK_GAP and book_state(book) == before[:3] + (False,) + before[4:]
    else:
        for side, levels in (("bid", f["bids"]), ("ask", f["asks"])):
            for px, qty in levels:
                ref.apply_delta(side, px, qty)
        assert status == (BOOK_CROSSED if ref.is_crossed else BOOK_OK)
        want = book_state(ref)[:3] + (True, 99, venue_time or before[5], final_id)
        assert book_state(book) == want
