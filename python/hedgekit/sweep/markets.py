"""Markets of the fault sweep: the assets and how each venue personality lists them, one
venue's order rules and market drawn around a mid, and the scripted outside activity that fills
our resting orders.

Also the decimal helpers the rest of the sweep rounds with: plain text without exponents, and
flooring or ceiling to a venue's grid.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

D = Decimal
_ZERO = D(0)

Venue = dict[str, Any]
"""One ``[[venues]]`` table of a scenario mapping."""


@dataclass(frozen=True, slots=True)
class _Asset:
    """One market as the three venues list it.

    Attributes:
        base: The base asset (Hyperliquid's and Lighter's symbol).
        lo: Lowest starting mid drawn.
        hi: Highest starting mid drawn.
        hl_sz_decimals: Hyperliquid's ``szDecimals``.
        aster_tick: Aster's price tick.
        aster_step: Aster's size step (and minimum quantity).
        lighter_price_decimals: Lighter's price decimals.
        lighter_size_decimals: Lighter's size decimals.
        lighter_min_base: Lighter's smallest order size.
    """

    base: str
    lo: float
    hi: float
    hl_sz_decimals: int
    aster_tick: str
    aster_step: str
    lighter_price_decimals: int
    lighter_size_decimals: int
    lighter_min_base: str


_ASSETS = (
    _Asset("BTC", 60_000, 98_000, 5, "0.1", "0.001", 1, 5, "0.0002"),
    _Asset("ETH", 1_500, 4_800, 4, "0.01", "0.001", 2, 4, "0.005"),
    _Asset("SOL", 80, 260, 2, "0.01", "0.01", 3, 3, "0.05"),
    _Asset("ZEC", 30, 600, 2, "0.01", "0.001", 3, 3, "0.05"),
    _Asset("HYPE", 12, 55, 2, "0.001", "0.01", 4, 2, "0.5"),
    _Asset("DOGE", 0.12, 0.45, 0, "0.00001", "1", 6, 0, "10"),
)

_PERSONALITIES = ("hyperliquid", "aster", "lighter")
_SHORT = {"hyperliquid": "hl", "aster": "aster", "lighter": "lighter"}


def _fmt(d: Decimal) -> str:
    """A decimal as plain text (never exponent notation)."""
    text = format(d.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def _pow10(exp: int) -> Decimal:
    return D(1).scaleb(exp)


@dataclass(slots=True)
class _VenuePlan:
    """What the generator knows about one venue while it builds the scenario."""

    name: str
    personality: str
    mid: Decimal
    tick: Decimal
    step: Decimal
    min_size: Decimal
    table: Venue


def _hl_tick(mid: Decimal, sz_decimals: int) -> Decimal:
    """The tick at which every price near ``mid`` has at most 5 significant figures."""
    exp = math.floor(math.log10(float(mid))) - 4
    return max(_pow10(exp), _pow10(-(6 - sz_decimals)))


def _venue(
    rng: random.Random, personality: str, name: str, asset: _Asset, mid: Decimal
) -> _VenuePlan:
    """One venue of ``personality`` listing ``asset`` around ``mid``: rules and market."""
    if personality == "hyperliquid":
        step = _pow10(-asset.hl_sz_decimals)
        tick = _hl_tick(mid, asset.hl_sz_decimals)
        instrument: dict[str, Any] = {
            "symbol": asset.base,
            "kind": "hyperliquid",
            "sz_decimals": asset.hl_sz_decimals,
        }
        min_notional = D(10)
        min_qty = step
    elif personality == "aster":
        step = D(asset.aster_step)
        tick = D(asset.aster_tick)
        min_notional = D(5)
        min_qty = step
        instrument = {
            "symbol": f"{asset.base}USDT",
            "kind": "plain",
            "tick": asset.aster_tick,
            "step": asset.aster_step,
            "min_qty": asset.aster_step,
            "min_notional": "5",
        }
        if rng.random() < 0.2:
            instrument["reduce_only_exempt"] = False
    else:
        step = _pow10(-asset.lighter_size_decimals)
        tick = _pow10(-asset.lighter_price_decimals)
        min_qty = D(asset.lighter_min_base)
        min_notional = D(10)
        instrument = {
            "symbol": asset.base,
            "kind": "lighter",
            "price_decimals": asset.lighter_price_decimals,
            "size_decimals": asset.lighter_size_decimals,
            "min_base_amount": asset.lighter_min_base,
            "min_quote_amount": "10",
        }
    mid = max(_floor(mid, tick), tick)
    min_size = max(min_qty, _ceil(min_notional / mid, step))
    table: Venue = {"name": name, "personality": personality, "instrument": instrument}
    if personality == "aster" and rng.random() < 0.25:
        table["post_only_mode"] = "sync_reject_code"
    table["market"] = {"mid": _fmt(mid), "tick": _fmt(tick)}
    table["latency"] = {
        "entry_ms": rng.choice((2, 5, 10, 20, 40, 80)),
        "response_ms": rng.choice((2, 5, 10, 20, 40, 80)),
        "feed_public_ms": rng.choice((1, 3, 5, 15, 30)),
        "feed_private_ms": rng.choice((1, 3, 5, 15, 30)),
    }
    if rng.random() < 0.3:
        table["queue"] = {"cancel_split": "proportional"}
    return _VenuePlan(name, personality, mid, tick, step, min_size, table)


def _market(rng: random.Random, v: _VenuePlan, size: Decimal) -> None:
    """Depth, spread, volatility and outside flow of ``v``'s market, scaled to ``size``."""
    m = v.table["market"]
    m["levels"] = rng.choice((2, 3, 5, 10, 20, 25))
    depth = max(_floor(size * D(str(round(rng.uniform(0.2, 15.0), 2))), v.step), v.step)
    m["level_size"] = _fmt(depth)
    m["depth_growth"] = rng.choice(("0", "0.1", "0.25", "0.5", "1"))
    spreads = (0.5, 1, 2, 3, 5, 10, 20, 40)
    spread_bps = rng.choices(spreads, weights=(15, 20, 20, 15, 12, 8, 6, 4))[0]
    m["spread_ticks"] = max(1, min(5000, round(float(v.mid) * spread_bps / 10_000 / float(v.tick))))
    if rng.random() < 0.7:
        m["vol_bps_per_sqrt_s"] = round(rng.choice((0.5, 1.0, 2.0, 5.0, 8.0, 15.0, 30.0)), 2)
        m["walk_interval_ms"] = rng.choice((50, 100, 250, 500, 1000))
    else:
        # A still market whose book outside trades deplete for good is no venue: makers quote
        # again within a second (no draw, so every other draw of the seed is unchanged).
        m["refill_ms"] = 1000
    if rng.random() < 0.5:
        m["trade_rate_per_s"] = round(rng.uniform(0.05, 3.0), 3)
        m["trade_size"] = _fmt(
            max(_floor(size * D(str(round(rng.uniform(0.05, 2.0), 2))), v.step), v.step)
        )
    if rng.random() < 0.1:
        m["funding_rate"] = rng.choice(("0.0001", "-0.0002", "0.001"))


def _fill_times(
    rng: random.Random, op_ms: float, window_ms: float
) -> tuple[list[float], list[float], str]:
    """When outside trades hit our resting orders on each of two venues: one leg first, the
    other racing it (within the cancel's flight), at the same moment, later, or never; in one
    trade or in pieces. Returns both venues' times and the pattern's name."""
    t0 = op_ms + min(rng.expovariate(1 / 900.0), window_ms)
    pattern = rng.choices(
        ("race", "same_time", "one_never", "later", "pieces", "none"),
        weights=(30, 12, 18, 15, 20, 5),
    )[0]
    first = [t0]
    second: list[float]
    if pattern == "race":
        second = [t0 + rng.uniform(0.0, 150.0)]
    elif pattern == "same_time":
        second = [t0 + rng.uniform(-5.0, 5.0)]
    elif pattern == "one_never":
        second = []
    elif pattern == "later":
        second = [t0 + rng.uniform(300.0, max(window_ms, 600.0))]
    elif pattern == "pieces":
        for _ in range(rng.randint(1, 7)):
            first.append(first[-1] + rng.uniform(5.0, 900.0))
        second = [t0 + rng.uniform(0.0, 1200.0)] if rng.random() < 0.7 else []
        if second and rng.random() < 0.5:
            second.append(second[-1] + rng.uniform(5.0, 600.0))
    else:
        first, second = [], []
    if rng.random() < 0.5:
        first, second = second, first
    return [round(t, 1) for t in first], [round(t, 1) for t in second], pattern


def _script(
    rng: random.Random,
    v: _VenuePlan,
    size: Decimal,
    fill_side: str | None,
    fill_at: Sequence[float],
    op_ms: float,
    window_ms: float,
) -> None:
    """Scripted outside activity on ``v``: trades at ``fill_at`` that fill our resting orders on
    ``fill_side`` (``"sell"`` aggressors fill our bids), trades either way, mid jumps, and
    liquidity leaving and joining at the touch."""
    m = v.table["market"]
    depth = D(m["level_size"])
    events: list[dict[str, Any]] = []

    def at() -> float:
        return round(op_ms + min(rng.expovariate(1 / 1500.0), window_ms), 1)

    def qty(lo: float, hi: float, base: Decimal) -> str:
        return _fmt(max(_floor(base * D(str(round(rng.uniform(lo, hi), 3))), v.step), v.step))

    if fill_side is not None and fill_at:
        whole = len(fill_at) == 1
        for t in fill_at:
            lo, hi = (1.05, 3.0) if whole else (0.15, 1.0)
            events.append(
                {
                    "at_ms": t,
                    "action": "trade",
                    "side": fill_side,
                    "size": qty(lo, hi, depth + size),
                }
            )
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        side = rng.choice(("buy", "sell"))
        events.append(
            {"at_ms": at(), "action": "trade", "side": side, "size": qty(0.2, 2.0, depth + size)}
        )
    if rng.random() < 0.35:
        jump_bps = rng.choice((-60, -20, -8, -3, 3, 8, 20, 60))
        price = max(_floor(v.mid * (1 + D(jump_bps) / 10_000), v.tick), v.tick)
        events.append({"at_ms": at(), "action": "mid", "price": _fmt(price)})
    if rng.random() < 0.2:
        spread = int(m["spread_ticks"])
        half = D(spread) * v.tick / 2
        for action in ("cancel", "add"):
            side = rng.choice(("buy", "sell"))
            touch = _floor(v.mid - half, v.tick) if side == "buy" else _ceil(v.mid + half, v.tick)
            events.append(
                {
                    "at_ms": at(),
                    "action": action,
                    "side": side,
                    "size": qty(0.3, 1.0, depth),
                    "price": _fmt(touch),
                }
            )
    if events:
        for e in events:
            e["at_ms"] = max(0.0, e["at_ms"])
        events.sort(key=lambda e: float(e["at_ms"]))
        m["script"] = events


def _min_size_of(v: Mapping[str, Any]) -> Decimal:
    """The smallest order a venue table accepts at its starting mid (size and value together)."""
    inst = v["instrument"]
    mid = D(v["market"]["mid"])
    kind = inst.get("kind", "plain")
    if kind == "hyperliquid":
        step = _pow10(-int(inst["sz_decimals"]))
        min_qty, min_notional = step, D(inst.get("min_notional", "10"))
    elif kind == "lighter":
        step = _pow10(-int(inst["size_decimals"]))
        min_qty, min_notional = D(inst["min_base_amount"]), D(inst["min_quote_amount"])
    else:
        step = D(inst["step"])
        min_qty, min_notional = D(inst.get("min_qty", "0")), D(inst.get("min_notional", "0"))
    return max(min_qty, _ceil(min_notional / mid, step) if min_notional else _ZERO)
