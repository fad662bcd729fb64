"""An adversarial fault sweep: many seeded random scenarios, run on the simulated venues, checked
against the venues' own truth.

:func:`scenario_for` draws one scenario *mapping* in the documented scenario format
(``docs/scenarios.md``) from a seed: two venues of random personality with realistic order rules,
a random market (mid, spread, depth, volatility, outside trades and scripted trades that fill our
resting orders), an open with any entry plan and any hedge and rollback order modes — sometimes
on top of a position already held — or a close of a balanced, imbalanced or lone-leg pair, and a
random set of injected faults. The mapping is plain data: written out as JSON it replays with
``hedgekit simulate FILE``.

:func:`run_sweep` runs many seeds in parallel worker processes, each bounded in wall-clock time,
and counts what went wrong: exceptions, hangs, broken invariants and *lies* — a status that says
success while the venues' final positions say otherwise. Every failing seed is written to
``sweep-<seed>.json`` so that one command replays it.

Fault profiles:

- ``"light"``: each fault kind is drawn on each venue with a modest probability, mildly;
- ``"heavy"``: more fault kinds per venue, harder;
- ``"mixed"`` (the default): light for even seeds, heavy for odd ones;
- ``"none"``: no injected fault (latency without jitter, a clean stream);
- ``"only:<fault>"``: one fault kind alone (any name of :data:`FAULTS`), on one venue or both.

Each fault kind is one small function, listed in :data:`FAULTS` with the field that shows it; a new
kind of the scenario format is one more entry.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import math
import multiprocessing
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "FAULTS",
    "LIE_STATUSES",
    "PROFILES",
    "FailureRecord",
    "FaultContext",
    "FaultFn",
    "FaultKind",
    "ProfileCounts",
    "SeedOutcome",
    "SweepSummary",
    "features",
    "format_summary",
    "profile_for",
    "run_seed",
    "run_sweep",
    "scenario_for",
]

D = Decimal
_ZERO = D(0)

PROFILES = ("mixed", "light", "heavy", "none")
"""Profiles :func:`scenario_for` accepts, besides ``"only:<fault>"``."""

LIE_STATUSES = frozenset(
    {"opened", "partial", "closed", "rolled_back", "nothing_to_close", "not_filled", "refused"}
)
"""Statuses that claim success: each is checked against the venues' final positions."""

Venue = dict[str, Any]
"""One ``[[venues]]`` table of a scenario mapping."""


# ------------------------------------------------------------------------------------ markets


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


# ------------------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class FaultContext:
    """Where the operation happens, so injected windows land on it.

    Attributes:
        op_ms: When the operation starts (ms since the scenario started).
        window_ms: How long it is expected to run.
        size: The pair size (or the largest leg of a close).
        step: The venue's size step.
        hot_ms: When scripted trades fill our orders (on either venue): the moments a fault
            hurts most.
    """

    op_ms: float
    window_ms: float
    size: Decimal
    step: Decimal
    hot_ms: tuple[float, ...] = ()


FaultFn = Callable[[random.Random, Venue, bool, FaultContext], None]
"""One fault kind: edits one venue table (``heavy`` picks the harsh end of its ranges)."""


def _sub(v: Venue, key: str) -> dict[str, Any]:
    table: dict[str, Any] = v.setdefault(key, {})
    return table


def _window(
    rng: random.Random, ctx: FaultContext, lo_ms: float, hi_ms: float
) -> tuple[float, float]:
    roll = rng.random()
    if roll < 0.45 and ctx.hot_ms:  # on a fill, or just before it: the hedge's moment
        start = rng.choice(ctx.hot_ms) - rng.uniform(0.0, 400.0)
    elif roll < 0.8:  # where the orders are: the operation's first seconds
        start = ctx.op_ms + rng.uniform(-300.0, 2500.0)
    else:
        start = ctx.op_ms + rng.uniform(-300.0, max(ctx.window_ms, 500.0))
    start = round(start, 1)
    return max(0.0, start), round(rng.uniform(lo_ms, hi_ms), 1)


def _p(
    rng: random.Random, heavy: bool, light: tuple[float, float], harsh: tuple[float, float]
) -> float:
    lo, hi = harsh if heavy else light
    return round(rng.uniform(lo, hi), 3)


def _f_latency(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    lat = _sub(v, "latency")
    jitter = rng.uniform(20.0, 150.0) if heavy else rng.uniform(1.0, 20.0)
    lat["jitter_ms"] = round(jitter, 1)
    for path in ("entry_ms", "response_ms", "feed_public_ms", "feed_private_ms"):
        if rng.random() < 0.4:
            base = lat.get(path, 10)
            if heavy and path in ("feed_private_ms", "response_ms") and rng.random() < 0.4:
                base = round(rng.uniform(150.0, 1500.0), 1)  # a slow stream or slow answers
            lat[path] = {
                "base_ms": base,
                "jitter_ms": round(jitter * rng.uniform(0.5, 3.0), 1),
                "cap_ms": round(jitter * rng.uniform(2.0, 40.0), 1),
            }


def _f_latency_spikes(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    lat = _sub(v, "latency")
    entry = lat.get("entry_ms", 10)
    base = float(entry["base_ms"] if isinstance(entry, dict) else entry)
    points: list[list[float]] = [[0.0, base]]
    for _ in range(rng.randint(1, 3)):
        t, width = _window(rng, ctx, 100.0, 3000.0)
        peak = rng.uniform(800.0, 4000.0) if heavy else rng.uniform(100.0, 700.0)
        points += [
            [t, base],
            [round(t + width / 2, 1), round(peak, 1)],
            [round(t + width, 1), base],
        ]
    lat["schedule_ms"] = points


def _f_speed_bumps(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    hi = 2500.0 if heavy else 300.0
    bumps = {
        k: round(rng.uniform(hi / 8, hi), 1)
        for k in ("taker", "maker", "cancel")
        if rng.random() < 0.8
    }
    _sub(v, "latency")["speed_bumps"] = bumps or {"cancel": round(hi / 2, 1)}


def _f_overload(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "latency")["p_overload"] = _p(rng, heavy, (0.02, 0.08), (0.05, 0.2))


def _f_dup(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "delivery")["p_dup"] = _p(rng, heavy, (0.05, 0.3), (0.4, 1.0))


def _f_holdback(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "delivery")["p_holdback"] = _p(rng, heavy, (0.05, 0.2), (0.3, 0.9))


def _f_shuffle(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "delivery")["p_shuffle"] = _p(rng, heavy, (0.1, 0.4), (0.5, 1.0))


def _f_fill_before_ack(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "delivery")["fill_before_ack"] = True


def _f_split_fills(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "fills")["split_fills"] = rng.randint(2, 6) if heavy else 2


def _f_max_fill(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    frac = D(str(round(rng.uniform(0.05, 0.3) if heavy else rng.uniform(0.3, 0.8), 3)))
    _sub(v, "fills")["max_fill_per_event"] = _fmt(max(_floor(ctx.size * frac, ctx.step), ctx.step))


def _f_rate_limits(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    ops = rng.choice(
        (
            [],
            [],
            ["place"],
            ["place", "cancel"],
            ["place", "modify"],
            ["status", "positions", "fills"],
            ["cancel"],
        )
    )
    limit: dict[str, Any] = {"key": rng.choice(("ip", "account", "orders"))}
    if rng.random() < 0.5:
        limit["capacity"] = rng.randint(2, 6) if heavy else rng.randint(8, 30)
        limit["refill_per_s"] = round(rng.uniform(0.5, 4.0) if heavy else rng.uniform(4.0, 20.0), 2)
    else:
        limit["capacity"] = rng.randint(3, 10) if heavy else rng.randint(15, 60)
        limit["window_ms"] = rng.choice((1000, 5000, 10000))
    if ops:
        limit["ops"] = ops
    table: dict[str, Any] = {"limits": [limit]}
    if heavy or rng.random() < 0.3:
        table["ban_after"] = rng.randint(1, 5)
        table["ban_ms"] = round(
            rng.uniform(300.0, 30000.0) if heavy else rng.uniform(100.0, 3000.0), 1
        )
    v["limits"] = table


def _f_disconnects(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    windows = []
    for _ in range(rng.randint(1, 3) if heavy else 1):
        start, width = _window(rng, ctx, 300.0, 6000.0) if heavy else _window(rng, ctx, 50.0, 800.0)
        windows.append(
            {
                "start_ms": start,
                "duration_ms": width,
                "snapshot_fills": rng.choice((0, 0, 0, 1, 3, 10, 50)),
            }
        )
    _sub(v, "faults")["disconnects"] = windows


def _timeout(rng: random.Random, v: Venue, heavy: bool) -> None:
    if rng.random() < (0.6 if heavy else 0.3):
        _sub(v, "faults")["request_timeout_ms"] = rng.choice((150, 300, 500, 1000, 2000, 4000))


def _f_req_loss(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "faults")["p_req_loss"] = _p(rng, heavy, (0.02, 0.1), (0.08, 0.25))
    _timeout(rng, v, heavy)


def _f_resp_loss(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "faults")["p_resp_loss"] = _p(rng, heavy, (0.02, 0.1), (0.08, 0.3))
    _timeout(rng, v, heavy)


def _f_request_timeout(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    ms = rng.uniform(60.0, 600.0) if heavy else rng.uniform(300.0, 1500.0)
    _sub(v, "faults")["request_timeout_ms"] = round(ms, 1)


def _f_reject(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "faults")["p_reject"] = _p(rng, heavy, (0.02, 0.1), (0.08, 0.3))


def _f_reject_windows(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    windows = []
    for _ in range(rng.randint(1, 3) if heavy else 1):
        start, width = _window(rng, ctx, 200.0, 5000.0) if heavy else _window(rng, ctx, 50.0, 600.0)
        windows.append([start, round(start + width, 1)])
    _sub(v, "faults")["reject_windows_ms"] = windows


def _f_feed_stalls(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    windows = []
    for _ in range(rng.randint(1, 2)):
        start, width = (
            _window(rng, ctx, 1000.0, 9000.0) if heavy else _window(rng, ctx, 200.0, 2500.0)
        )
        windows.append({"start_ms": start, "duration_ms": width})
    _sub(v, "faults")["feed_stalls"] = windows


def _f_feed_drop(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "faults")["p_feed_drop"] = _p(rng, heavy, (0.01, 0.05), (0.1, 0.4))


def _f_reject_post_only(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "faults")["reject_post_only"] = True


def _f_lose_answers(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    lost = []
    for _ in range(rng.randint(1, 4) if heavy else 1):
        op = rng.choice(
            ("place", "place", "cancel", "cancel", "status", "positions", "modify", "fills")
        )
        kind = "answer" if rng.random() < 0.7 else "request"
        lost.append({"op": op, "n": rng.randint(1, 6), "kind": kind})
    _sub(v, "faults")["lose_answers"] = lost
    _timeout(rng, v, heavy)


def _f_outages(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    outages = []
    for _ in range(rng.randint(1, 3) if heavy else 1):
        op = rng.choice(
            (
                "positions",
                "positions",
                "status",
                "status",
                "cancel",
                "cancel",
                "place",
                "fills",
                "modify",
            )
        )
        start, width = (
            _window(rng, ctx, 500.0, 8000.0) if heavy else _window(rng, ctx, 100.0, 3000.0)
        )
        outages.append({"op": op, "start_ms": start, "duration_ms": width})
    _sub(v, "faults")["outages"] = outages


def _f_fill_processing_errors(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    _sub(v, "faults")["fill_processing_errors"] = rng.randint(1, 6) if heavy else 1


def _f_shared_trade_id(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    fills = _sub(v, "fills")
    if int(fills.get("split_fills", 1)) > 1:
        return  # the format refuses the two together: one trade id per trade, or one per fill
    fills["shared_trade_id"] = True


def _f_modify_new_id(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    v["modify_new_id"] = True


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One fault kind of the scenario format.

    Attributes:
        inject: Edits one venue table to add the fault (``heavy`` picks the harsh end).
        table: The venue's table that holds it (``""``: the venue table itself).
        key: The field of that table that shows it is present.
        weight: How often the light and heavy profiles draw it, relative to the others (those
            that stop an operation outright would otherwise hide what the others find).
    """

    inject: FaultFn
    table: str
    key: str
    weight: float = 1.0


FAULTS: dict[str, FaultKind] = {
    "latency_jitter": FaultKind(_f_latency, "latency", "jitter_ms"),
    "latency_spikes": FaultKind(_f_latency_spikes, "latency", "schedule_ms", 1.4),
    "speed_bumps": FaultKind(_f_speed_bumps, "latency", "speed_bumps", 1.6),
    "overload": FaultKind(_f_overload, "latency", "p_overload", 0.7),
    "dup": FaultKind(_f_dup, "delivery", "p_dup"),
    "holdback": FaultKind(_f_holdback, "delivery", "p_holdback"),
    "shuffle": FaultKind(_f_shuffle, "delivery", "p_shuffle"),
    "fill_before_ack": FaultKind(_f_fill_before_ack, "delivery", "fill_before_ack"),
    "split_fills": FaultKind(_f_split_fills, "fills", "split_fills"),
    "max_fill_per_event": FaultKind(_f_max_fill, "fills", "max_fill_per_event"),
    "rate_limits": FaultKind(_f_rate_limits, "limits", "limits"),
    "disconnects": FaultKind(_f_disconnects, "faults", "disconnects", 1.4),
    "req_loss": FaultKind(_f_req_loss, "faults", "p_req_loss", 0.8),
    "resp_loss": FaultKind(_f_resp_loss, "faults", "p_resp_loss", 1.4),
    "request_timeout": FaultKind(_f_request_timeout, "faults", "request_timeout_ms"),
    "reject": FaultKind(_f_reject, "faults", "p_reject"),
    "reject_windows": FaultKind(_f_reject_windows, "faults", "reject_windows_ms", 1.4),
    "feed_stalls": FaultKind(_f_feed_stalls, "faults", "feed_stalls", 0.5),
    "feed_drop": FaultKind(_f_feed_drop, "faults", "p_feed_drop"),
    "reject_post_only": FaultKind(_f_reject_post_only, "faults", "reject_post_only", 0.3),
    "lose_answers": FaultKind(_f_lose_answers, "faults", "lose_answers", 1.4),
    "outages": FaultKind(_f_outages, "faults", "outages", 1.2),
    "fill_processing_errors": FaultKind(
        _f_fill_processing_errors, "faults", "fill_processing_errors"
    ),
    "shared_trade_id": FaultKind(_f_shared_trade_id, "fills", "shared_trade_id"),
    "modify_new_id": FaultKind(_f_modify_new_id, "", "modify_new_id"),
}
"""Every fault kind, by name: ``profile="only:<name>"`` isolates one. A fault the scenario
format gains is one more entry."""


def _faults_of(tables: Iterable[Venue]) -> list[str]:
    """The fault kinds present in venue tables."""
    found: set[str] = set()
    for v in tables:
        for name, kind in FAULTS.items():
            if kind.key in (v.get(kind.table, {}) if kind.table else v):
                found.add(name)
    return sorted(found)


def profile_for(seed: int, profile: str = "mixed") -> str:
    """The concrete profile a seed runs under: ``"mixed"`` gives ``"light"`` to even seeds and
    ``"heavy"`` to odd ones; any other profile is itself.

    Raises:
        ValueError: An unknown profile or fault kind.
    """
    if profile == "mixed":
        return "light" if seed % 2 == 0 else "heavy"
    if profile in ("light", "heavy", "none"):
        return profile
    if profile.startswith("only:") and profile[5:] in FAULTS:
        return profile
    kinds = ", ".join(f"only:{k}" for k in FAULTS)
    raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)}, {kinds}")


def _inject(
    rng: random.Random,
    venues: Sequence[_VenuePlan],
    profile: str,
    ctx_for: Callable[[_VenuePlan], FaultContext],
) -> list[str]:
    """Applies the profile's faults to the venues; returns the kinds applied."""
    applied: list[str] = []
    if profile == "none":
        return applied
    if profile.startswith("only:"):
        alone = FAULTS[profile[5:]]
        heavy = rng.random() < 0.6
        chosen = [v for v in venues if rng.random() < 0.6] or [rng.choice(list(venues))]
        for v in chosen:
            alone.inject(rng, v.table, heavy, ctx_for(v))
        return _faults_of(v.table for v in venues)
    heavy = profile == "heavy"
    p = 0.45 if heavy else 0.22
    for v in venues:
        for kind in FAULTS.values():
            if rng.random() < p * kind.weight:
                kind.inject(rng, v.table, heavy, ctx_for(v))
    applied = _faults_of(v.table for v in venues)
    while not applied:
        v = rng.choice(list(venues))
        FAULTS[rng.choice(sorted(FAULTS))].inject(rng, v.table, heavy, ctx_for(v))
        applied = _faults_of(v.table for v in venues)
    return applied


# ----------------------------------------------------------------------------------- operation

_ENTRY_MODES = ("limit_only", "limit_only", "limit_with_fallback", "adaptive")
_ACTIVE_MODES = (
    "aggressive_limit",
    "aggressive_limit",
    "market_only",
    "limit_with_fallback",
    "adaptive",
    "limit_only",
)


def _order_table(rng: random.Random, modes: Sequence[str], short: bool) -> dict[str, Any]:
    """A random order table (``hedge``, ``rollback``, ``phase2``...)."""
    t: dict[str, Any] = {"mode": rng.choice(modes)}
    if rng.random() < 0.5:
        t["step_timeout_s"] = round(rng.uniform(0.03, 0.6), 3)
    if rng.random() < 0.4:
        t["timeout_s"] = round(rng.uniform(0.1, 2.0) if short else rng.uniform(0.5, 8.0), 2)
    if rng.random() < 0.3:
        t["ladder_cross_bps"] = rng.choice((["1"], ["2", "5"], ["2", "5", "10"], ["5", "20", "50"]))
    if rng.random() < 0.2:
        t["market_fallback"] = False
    if rng.random() < 0.3:
        t["market_protection_bps"] = rng.choice(("2", "5", "20", "50", "150"))
    if rng.random() < 0.3:
        t["improve"] = rng.random() < 0.5
    if rng.random() < 0.2:
        t["reprice_check_s"] = rng.choice((0.05, 0.1, 0.5))
    if rng.random() < 0.2:
        t["reprice_tolerance_bps"] = rng.choice(("0", "1", "3", "10"))
    if rng.random() < 0.2:
        t["max_post_only_rejects"] = rng.choice((0, 1, 3, 8))
    if rng.random() < 0.15:
        t["max_book_age_s"] = rng.choice((0.2, 0.5, 1.0, 5.0))
    return t


def _pair_size(
    rng: random.Random, a: _VenuePlan, b: _VenuePlan, mid: Decimal
) -> tuple[Decimal, str]:
    """The pair size (on both venues' grids) and how it relates to the minimums."""
    step = max(a.step, b.step)
    largest_min = max(a.min_size, b.min_size)
    roll = rng.random()
    if roll < 0.08:
        size = _floor(largest_min * D(str(round(rng.uniform(0.3, 0.98), 3))), step)
        return max(size, step), "below_min"
    if roll < 0.2:
        size = _ceil(largest_min * D(str(round(rng.uniform(1.0, 1.6), 3))), step)
        return size, "near_min"
    notional = D(str(round(math.exp(rng.uniform(math.log(20.0), math.log(60_000.0))), 2)))
    size = max(_floor(notional / mid, step), _ceil(largest_min, step))
    return size, "normal"


def _open_config(rng: random.Random, plan: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {"plan": plan}
    if rng.random() < 0.7:
        cfg["entry_timeout_s"] = round(rng.uniform(0.3, 10.0), 2)
    if rng.random() < 0.7:
        cfg["deadline_s"] = round(rng.uniform(0.3, 12.0), 2)
    if rng.random() < 0.3:
        cfg["hedge_threshold"] = rng.choice(("0", "0.001", "0.01", "0.1", "1"))
    if rng.random() < 0.3:
        cfg["max_entry_spread_bps"] = rng.choice(("5", "15", "30", "100", "100"))
    if rng.random() < 0.3:
        cfg["slippage_budget_bps"] = rng.choice(("2", "5", "15", "50", "200"))
    if rng.random() < 0.2:
        cfg["split"] = rng.random() < 0.5
    if rng.random() < 0.15:
        cfg["max_book_age_s"] = rng.choice((0.3, 1.0, 5.0))
    entry: dict[str, Any] = {"mode": rng.choice(_ENTRY_MODES)}
    if rng.random() < 0.5:
        entry["improve"] = rng.random() < 0.6
    if rng.random() < 0.3:
        entry["offset_bps"] = rng.choice(("-2", "0", "1", "5"))
    if rng.random() < 0.4:
        entry["timeout_s"] = round(rng.uniform(0.3, 10.0), 2)
    if rng.random() < 0.2:
        entry["reprice_tolerance_bps"] = rng.choice(("0", "1", "10"))
    cfg["entry"] = entry
    cfg["hedge"] = _order_table(rng, _ACTIVE_MODES, short=True)
    cfg["rollback"] = _order_table(rng, _ACTIVE_MODES, short=True)
    return cfg


def _close_config(rng: random.Random) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    if rng.random() < 0.8:
        cfg["phase1_timeout_s"] = round(rng.uniform(0.3, 12.0), 2)
    if rng.random() < 0.7:
        cfg["deadline_s"] = round(rng.uniform(0.5, 20.0), 2)
    if rng.random() < 0.3:
        cfg["max_exit_spread_bps"] = rng.choice(("2", "15", "50"))
    passive: dict[str, Any] = {}
    if rng.random() < 0.5:
        passive["improve"] = rng.random() < 0.6
    if rng.random() < 0.3:
        passive["timeout_s"] = round(rng.uniform(0.3, 10.0), 2)
    if passive:
        cfg["passive"] = passive
    cfg["phase2"] = _order_table(rng, _ACTIVE_MODES, short=True)
    if rng.random() < 0.6:
        cfg["emergency"] = _order_table(
            rng,
            ("market_only", "market_only", "aggressive_limit", "limit_with_fallback"),
            short=True,
        )
    return cfg


def _entry_price(rng: random.Random, v: _VenuePlan) -> str:
    return _fmt(max(_floor(v.mid * (1 + D(rng.randint(-300, 300)) / 10_000), v.tick), v.tick))


def scenario_for(seed: int, profile: str = "mixed") -> dict[str, Any]:
    """Draws one random scenario mapping from ``seed`` (the same seed gives the same mapping).

    Args:
        seed: The seed; also the scenario's own ``seed``, so the venues' random streams follow it.
        profile: Which faults (see the module docstring): ``"mixed"``, ``"light"``, ``"heavy"``,
            ``"none"`` or ``"only:<fault>"``.

    Returns:
        A mapping in the format of ``docs/scenarios.md``: ``parse_scenario`` accepts it, and
        written as JSON ``hedgekit simulate`` replays it.

    Raises:
        ValueError: An unknown profile.
    """
    concrete = profile_for(seed, profile)
    rng = random.Random(f"hedgekit-sweep:{seed}")
    asset = rng.choice(_ASSETS)
    raw_mid = math.exp(rng.uniform(math.log(asset.lo), math.log(asset.hi)))
    if raw_mid / 10 ** math.floor(math.log10(raw_mid)) > 9.3:
        raw_mid *= 0.9  # keep clear of a power of ten, where Hyperliquid's tick changes
    base_mid = D(str(round(raw_mid, 6)))
    if rng.random() < 0.1:
        personalities = [rng.choice(_PERSONALITIES)] * 2
    else:
        personalities = rng.sample(_PERSONALITIES, 2)
    plans: list[_VenuePlan] = []
    for i, pers in enumerate(personalities):
        name = (
            _SHORT[pers] if pers not in [p.personality for p in plans] else f"{_SHORT[pers]}{i + 1}"
        )
        mid = base_mid * (1 + D(rng.randint(-15, 15)) / 10_000) if i else base_mid
        plans.append(_venue(rng, pers, name, asset, mid))
    a, b = plans
    size, size_kind = _pair_size(rng, a, b, base_mid)
    step = max(a.step, b.step)
    largest_min = max(a.min_size, b.min_size)
    start_after = rng.choice((0.5, 1.0, 1.0, 2.0))
    op_ms = start_after * 1000
    positions: list[dict[str, Any]] = []
    tags = [f"sweep {seed}", concrete]
    operation: dict[str, Any]
    if rng.random() < 0.55:
        plan = rng.choice(("maker_both", "taker_both", "auto"))
        sides = ["buy", "sell"] if rng.random() < 0.5 else ["sell", "buy"]
        cfg = _open_config(rng, plan)
        window_ms = (
            float(cfg.get("entry_timeout_s", 10.0)) + float(cfg.get("deadline_s", 15.0))
        ) * 1000
        times = _fill_times(rng, op_ms, min(window_ms, 12_000.0))
        tags += [
            f"open {plan}",
            size_kind,
            f"fills {times[2]}",
            f"hedge={cfg['hedge']['mode']}",
            f"rollback={cfg['rollback']['mode']}",
        ]
        for v, side, fill_at in zip(plans, sides, times[:2], strict=True):
            _market(rng, v, size)
            _script(
                rng,
                v,
                size,
                "sell" if side == "buy" else "buy",
                fill_at,
                op_ms,
                min(window_ms, 12_000.0),
            )
        if rng.random() < 0.3:
            prior_sign = ""
            for v, side in zip(plans, sides, strict=True):
                if rng.random() < 0.6:
                    same = rng.random() < 0.5
                    sign = (1 if side == "buy" else -1) * (1 if same else -1)
                    prior = max(_floor(size * D(str(round(rng.uniform(0.2, 2.0), 3))), step), step)
                    positions.append(
                        {
                            "venue": v.name,
                            "size": _fmt(prior * sign),
                            "entry_price": _entry_price(rng, v),
                        }
                    )
                    prior_sign += "same" if same else "opposite"
            if positions:
                tags.append(f"prior {prior_sign}" if len(positions) == 1 else "prior both")
        operation = {
            "kind": "open",
            "size": _fmt(size),
            "legs": [{"venue": v.name, "side": s} for v, s in zip(plans, sides, strict=True)],
            "config": cfg,
        }
    else:
        shape = rng.choices(
            (
                "balanced",
                "imbalanced_below_min",
                "imbalanced_above_min",
                "lone_leg",
                "flat",
                "same_sign",
            ),
            weights=(30, 20, 20, 22, 3, 5),
        )[0]
        cfg = _close_config(rng)
        window_ms = (
            float(cfg.get("phase1_timeout_s", 20.0)) + float(cfg.get("deadline_s", 10.0))
        ) * 1000
        long_first = rng.random() < 0.5
        sizes: list[Decimal]
        if shape == "balanced":
            sizes = [size, -size]
        elif shape == "imbalanced_below_min":
            diff = max(_floor(largest_min * D(str(round(rng.uniform(0.05, 0.95), 3))), step), step)
            sizes = [size + diff, -size] if rng.random() < 0.5 else [size, -(size + diff)]
        elif shape == "imbalanced_above_min":
            diff = _ceil(
                max(
                    largest_min * D(str(round(rng.uniform(1.0, 4.0), 3))),
                    size * D(str(round(rng.uniform(0.0, 0.6), 3))),
                ),
                step,
            )
            sizes = [size + diff, -size] if rng.random() < 0.5 else [size, -(size + diff)]
        elif shape == "lone_leg":
            sizes = [size, _ZERO] if rng.random() < 0.5 else [_ZERO, -size]
        elif shape == "flat":
            sizes = [_ZERO, _ZERO]
        else:
            sizes = [size, size] if rng.random() < 0.5 else [-size, -size]
        if not long_first:
            sizes = [-s for s in reversed(sizes)]
        times = _fill_times(rng, op_ms, min(window_ms, 12_000.0))
        tags += [
            f"close {shape}",
            size_kind,
            f"fills {times[2]}",
            f"phase2={cfg['phase2']['mode']}",
        ]
        for v, pos, fill_at in zip(plans, sizes, times[:2], strict=True):
            _market(rng, v, max(abs(pos), size))
            fill_side = None if pos == 0 else ("buy" if pos > 0 else "sell")
            _script(
                rng,
                v,
                abs(pos) if pos else size,
                fill_side,
                fill_at,
                op_ms,
                min(window_ms, 12_000.0),
            )
            if pos != 0 or rng.random() < 0.3:
                positions.append(
                    {"venue": v.name, "size": _fmt(pos), "entry_price": _entry_price(rng, v)}
                )
        operation = {"kind": "close", "legs": [{"venue": v.name} for v in plans], "config": cfg}
    operation["start_after_s"] = start_after
    operation["settle_s"] = rng.choice((1.0, 3.0, 5.0))

    hot = tuple(sorted(times[0] + times[1]))

    def ctx_for(v: _VenuePlan) -> FaultContext:
        return FaultContext(op_ms, min(window_ms, 15_000.0), size, v.step, hot)

    faults = _inject(rng, plans, concrete, ctx_for)
    tags.append("faults " + (",".join(faults) if faults else "none"))
    mapping: dict[str, Any] = {
        "name": "; ".join(tags),
        "seed": seed,
        "venues": [v.table for v in plans],
    }
    if positions:
        mapping["positions"] = positions
    mapping["operation"] = operation
    return mapping


def features(mapping: Mapping[str, Any]) -> set[str]:
    """What a scenario mapping exercises, read from its tables (not from its name).

    Returns:
        Labels such as ``"open"``, ``"plan:auto"``, ``"hedge:market_only"``,
        ``"close:lone_leg"``, ``"prior:opposite"``, ``"size:below_min"`` and
        ``"fault:<kind>"`` for every fault kind of :data:`FAULTS` present on a venue.
    """
    out: set[str] = set()
    venues = {v["name"]: v for v in mapping["venues"]}
    for v in venues.values():
        out.update(f"fault:{kind}" for kind in _faults_of([v]))
        if "ban_after" in v.get("limits", {}):
            out.add("fault:ban")
        out.add(f"personality:{v['personality']}")
        if v.get("market", {}).get("script"):
            out.add("script")
    op = mapping["operation"]
    pos = {p["venue"]: D(p["size"]) for p in mapping.get("positions", [])}
    mins = {name: _min_size_of(v) for name, v in venues.items()}
    largest_min = max(mins[leg["venue"]] for leg in op["legs"])
    if op["kind"] == "open":
        cfg = op.get("config", {})
        out.add("open")
        out.add(f"plan:{cfg.get('plan', 'maker_both')}")
        out.add(f"hedge:{cfg.get('hedge', {}).get('mode', 'aggressive_limit')}")
        out.add(f"rollback:{cfg.get('rollback', {}).get('mode', 'aggressive_limit')}")
        size = D(op["size"])
        if size < largest_min:
            out.add("size:below_min")
        elif size < largest_min * 2:
            out.add("size:near_min")
        for leg in op["legs"]:
            prior = pos.get(leg["venue"], _ZERO)
            if prior != 0:
                same = (prior > 0) == (leg["side"] == "buy")
                out.add("prior:same" if same else "prior:opposite")
    else:
        out.add("close")
        legs = [pos.get(leg["venue"], _ZERO) for leg in op["legs"]]
        nonzero = [s for s in legs if s != 0]
        if not nonzero:
            out.add("close:flat")
        elif len(nonzero) == 1:
            out.add("close:lone_leg")
        elif all(s > 0 for s in nonzero) or all(s < 0 for s in nonzero):
            out.add("close:same_sign")
        else:
            diff = abs(sum(legs, _ZERO))
            if diff == 0:
                out.add("close:balanced")
            elif diff < largest_min:
                out.add("close:imbalanced_below_min")
            else:
                out.add("close:imbalanced_above_min")
    return out


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


# -------------------------------------------------------------------------------------- runner


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """How one seed ended.

    Attributes:
        seed: The seed.
        profile: The concrete profile it ran under.
        kind: ``"open"`` or ``"close"`` (empty if the scenario never ran).
        status: The result's status (empty on a crash or a hang).
        violations: The invariants that did not hold.
        lie: Why the status disagrees with the venues' positions, or ``None``.
        crash: The exception, as ``"Type: message"``, or ``None``.
        hang: The seed ran out of wall-clock time.
        wall_s: Wall-clock seconds it took.
        logged_errors: Errors logged during the run (callbacks that failed and were contained).
        first_error: The first of those errors' messages.
        features: :func:`features` of its scenario.
        detail: A short account of the positions and the failed invariants' details.
    """

    seed: int
    profile: str
    kind: str = ""
    status: str = ""
    violations: tuple[str, ...] = ()
    lie: str | None = None
    crash: str | None = None
    hang: bool = False
    wall_s: float = 0.0
    logged_errors: int = 0
    first_error: str | None = None
    features: tuple[str, ...] = ()
    detail: str = ""

    @property
    def failed(self) -> bool:
        """A violation, a crash, a hang or a lie."""
        return bool(self.violations) or self.lie is not None or self.crash is not None or self.hang


@dataclass(slots=True)
class ProfileCounts:
    """Counts for one group of seeds (one profile, or every seed).

    Attributes:
        seeds: Seeds run.
        failed: Seeds with any violation, crash, hang or lie.
        violating: Seeds with at least one invariant violated.
        crashes: Seeds whose run raised.
        hangs: Seeds that ran out of time.
        lies: Seeds whose success status disagrees with the venues.
        violations: Seeds per violated invariant.
        statuses: Seeds per result status.
    """

    seeds: int = 0
    failed: int = 0
    violating: int = 0
    crashes: int = 0
    hangs: int = 0
    lies: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, o: SeedOutcome) -> None:
        """Counts one seed."""
        self.seeds += 1
        self.failed += o.failed
        self.violating += bool(o.violations)
        self.crashes += o.crash is not None
        self.hangs += o.hang
        self.lies += o.lie is not None
        self.violations.update(o.violations)
        self.statuses[o.status or ("hang" if o.hang else "crash")] += 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "seeds": self.seeds,
            "failed": self.failed,
            "violating": self.violating,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "lies": self.lies,
            "violations": dict(sorted(self.violations.items())),
            "statuses": dict(sorted(self.statuses.items())),
        }


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One failing seed and how to replay it.

    Attributes:
        seed: The seed.
        profile: Its concrete profile.
        what: What failed: invariant names, ``"lie"``, ``"crash"``, ``"hang"``.
        status: The result's status.
        detail: The lie, the exception or the invariants' details.
        name: The scenario's name (what it exercised).
        file: The scenario file written, or ``None`` without an output directory.
        command: The command that replays it.
    """

    seed: int
    profile: str
    what: tuple[str, ...]
    status: str
    detail: str
    name: str
    file: str | None
    command: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "seed": self.seed,
            "profile": self.profile,
            "what": list(self.what),
            "status": self.status,
            "detail": self.detail,
            "name": self.name,
            "file": self.file,
            "command": self.command,
        }


@dataclass(slots=True)
class SweepSummary:
    """What a sweep found.

    Attributes:
        profile: The profile asked for.
        seeds: Seeds run.
        wall_s: Wall-clock seconds of the whole sweep.
        jobs: Worker processes.
        total: Counts over every seed.
        by_profile: Counts per concrete profile.
        by_operation: Counts per operation shape (``"open maker_both"``, ``"close lone_leg"``...).
        failures: Every failing seed, in seed order.
        logged_errors: Seeds that logged an error (contained, not a failure by itself).
    """

    profile: str
    seeds: int = 0
    wall_s: float = 0.0
    jobs: int = 1
    total: ProfileCounts = field(default_factory=ProfileCounts)
    by_profile: dict[str, ProfileCounts] = field(default_factory=dict)
    by_operation: dict[str, ProfileCounts] = field(default_factory=dict)
    failures: list[FailureRecord] = field(default_factory=list)
    logged_errors: int = 0

    @property
    def seeds_per_minute(self) -> float:
        """Throughput."""
        return self.seeds / self.wall_s * 60 if self.wall_s > 0 else 0.0

    @property
    def clean(self) -> bool:
        """No violation, crash, hang or lie."""
        return self.total.failed == 0

    @property
    def crashes(self) -> int:
        """Seeds whose run raised."""
        return self.total.crashes

    @property
    def hangs(self) -> int:
        """Seeds that ran out of wall-clock time."""
        return self.total.hangs

    @property
    def lies(self) -> int:
        """Seeds whose success status disagrees with the venues."""
        return self.total.lies

    @property
    def violations(self) -> dict[str, int]:
        """Seeds per violated invariant."""
        return dict(self.total.violations)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "profile": self.profile,
            "seeds": self.seeds,
            "jobs": self.jobs,
            "wall_s": round(self.wall_s, 3),
            "seeds_per_minute": round(self.seeds_per_minute, 1),
            "clean": self.clean,
            "total": self.total.to_dict(),
            "by_profile": {k: v.to_dict() for k, v in sorted(self.by_profile.items())},
            "by_operation": {k: v.to_dict() for k, v in sorted(self.by_operation.items())},
            "logged_errors": self.logged_errors,
            "failures": [f.to_dict() for f in self.failures],
        }


class _SeedTimeout(KeyboardInterrupt):
    """Raised in a worker when a seed exceeds its wall-clock budget.

    A ``KeyboardInterrupt`` so that asyncio and ``except Exception`` blocks let it through.
    """


def _on_alarm(signum: int, frame: object) -> None:
    raise _SeedTimeout


class _ErrorCounter(logging.Handler):
    """Counts error records (contained failures) and keeps the first message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text += f": {type(exc).__name__}: {exc}"
            self.first = text[:300]


def _operation_label(feats: Iterable[str]) -> str:
    fs = set(feats)
    if "open" in fs:
        plan = next((f[5:] for f in fs if f.startswith("plan:")), "?")
        return f"open {plan}" + (" +prior" if any(f.startswith("prior:") for f in fs) else "")
    return next((f"close {f[6:]}" for f in fs if f.startswith("close:")), "close")


def _lie(mapping: Mapping[str, Any], report: Mapping[str, Any]) -> str | None:
    """Why a success status disagrees with the venues' final positions, or ``None``."""
    status = str(report["result"]["status"])
    if status not in LIE_STATUSES:
        return None
    op = mapping["operation"]
    venues = {v["name"]: v for v in mapping["venues"]}
    legs = [leg["venue"] for leg in op["legs"]]
    limit = max(_min_size_of(venues[name]) for name in legs)
    start = {p["venue"]: D(p["size"]) for p in mapping.get("positions", [])}
    end = {name: D(report["venues"][name]["position"]) for name in legs}
    moved = {name: end[name] - start.get(name, _ZERO) for name in legs}
    shown = ", ".join(f"{n} {_fmt(start.get(n, _ZERO))}->{_fmt(end[n])}" for n in legs)
    if status in ("opened", "partial"):
        net = sum(moved.values(), _ZERO)
        if abs(net) > limit:
            return f"{status} but the legs moved {_fmt(net)} apart (limit {_fmt(limit)}): {shown}"
        sides = {leg["venue"]: (1 if leg["side"] == "buy" else -1) for leg in op["legs"]}
        wrong = [n for n in legs if moved[n] * sides[n] < -limit]
        if wrong:
            return f"{status} but {', '.join(wrong)} moved against its side: {shown}"
        if all(m == 0 for m in moved.values()):
            return f"{status} but no venue position moved: {shown}"
        return None
    if status in ("closed", "nothing_to_close"):
        open_legs = [n for n in legs if abs(end[n]) > limit]
        if open_legs:
            return f"{status} but {', '.join(open_legs)} not flat (limit {_fmt(limit)}): {shown}"
        return None
    away = [n for n in legs if abs(moved[n]) > limit]
    if away:
        return (
            f"{status} but {', '.join(away)} not back at its start (limit {_fmt(limit)}): {shown}"
        )
    return None


def run_seed(seed: int, profile: str = "mixed", timeout_s: float = 60.0) -> SeedOutcome:
    """Builds, runs and classifies one seed (what each worker does).

    Args:
        seed: The seed.
        profile: The sweep's profile.
        timeout_s: Wall-clock budget; past it the seed counts as a hang.

    Returns:
        The outcome; never raises for a failure of the run itself.
    """
    from hedgekit.scenario import parse_scenario
    from hedgekit.simulate import simulate

    concrete = profile_for(seed, profile)
    t0 = time.perf_counter()
    counter = _ErrorCounter()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.lastResort)
    root.handlers[:] = [counter]
    root.setLevel(logging.ERROR)
    logging.lastResort = None
    can_alarm = hasattr(signal, "setitimer") and _in_main_thread()
    previous: Any = None
    outer = (0.0, 0.0)
    if can_alarm:
        outer = signal.getitimer(signal.ITIMER_REAL)  # a caller's own alarm (pytest-timeout's)
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    mapping: dict[str, Any] = {}
    feats: tuple[str, ...] = ()
    try:
        mapping = scenario_for(seed, profile)
        feats = tuple(sorted(features(mapping)))
        report = simulate(parse_scenario(mapping))
        if can_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        status = str(report["result"]["status"])
        failed = tuple(k for k, v in report["invariants"].items() if not v["held"])
        lie = _lie(mapping, report)
        detail = "; ".join(f"{k}: {report['invariants'][k]['detail']}" for k in failed)
        reason = report["result"].get("reason")
        positions = ", ".join(f"{n} {v['position']}" for n, v in report["venues"].items())
        detail = f"[{status}{' — ' + str(reason) if reason else ''}] positions {positions}" + (
            f"; {detail}" if detail else ""
        )
        return SeedOutcome(
            seed,
            concrete,
            str(report["kind"]),
            status,
            failed,
            lie,
            None,
            False,
            time.perf_counter() - t0,
            counter.count,
            counter.first,
            feats,
            detail[:2000],
        )
    except _SeedTimeout:
        return SeedOutcome(
            seed,
            concrete,
            str(mapping.get("operation", {}).get("kind", "")),
            "",
            (),
            None,
            None,
            True,
            time.perf_counter() - t0,
            counter.count,
            counter.first,
            feats,
            f"no result within {timeout_s:g} s of wall time",
        )
    except Exception as exc:  # noqa: BLE001 - a failure of the run is what the sweep counts
        if can_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        crash = f"{type(exc).__name__}: {exc}"[:1000]
        return SeedOutcome(
            seed,
            concrete,
            str(mapping.get("operation", {}).get("kind", "")),
            "",
            (),
            None,
            crash,
            False,
            time.perf_counter() - t0,
            counter.count,
            counter.first,
            feats,
            crash,
        )
    finally:
        if can_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer[0] > 0:
                left = outer[0] - (time.perf_counter() - t0)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer[1])
        root.handlers[:], level, logging.lastResort = saved
        root.setLevel(level)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _record(summary: SweepSummary, o: SeedOutcome, profile: str, out_dir: Path | None) -> None:
    summary.seeds += 1
    summary.total.add(o)
    summary.by_profile.setdefault(o.profile, ProfileCounts()).add(o)
    summary.by_operation.setdefault(
        _operation_label(o.features) if o.features else "?", ProfileCounts()
    ).add(o)
    summary.logged_errors += o.logged_errors > 0
    if not o.failed:
        return
    what = list(o.violations)
    if o.lie is not None:
        what.append("lie")
    if o.crash is not None:
        what.append("crash")
    if o.hang:
        what.append("hang")
    mapping = scenario_for(o.seed, profile)
    path: str | None = None
    command: str | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        file = out_dir / f"sweep-{o.seed}.json"
        file.write_text(json.dumps(mapping, indent=2) + "\n")
        path = str(file)
        command = f"hedgekit simulate {file}"
    detail = (f"LIE: {o.lie}; " if o.lie else "") + o.detail
    summary.failures.append(
        FailureRecord(
            o.seed, o.profile, tuple(what), o.status, detail, str(mapping["name"]), path, command
        )
    )


def _kill_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Stops every worker of ``pool`` at once (a hung seed cannot be interrupted otherwise)."""
    for proc in list((pool._processes or {}).values()):
        try:
            proc.kill()
        except Exception:  # noqa: BLE001, S110 - already gone
            pass
    pool.shutdown(wait=True, cancel_futures=True)


def run_sweep(
    seeds: range | Sequence[int],
    jobs: int = 2,
    profile: str = "mixed",
    out_dir: Path | None = None,
    timeout_s: float = 60.0,
    *,
    on_progress: Callable[[SweepSummary], None] | None = None,
) -> SweepSummary:
    """Runs ``seeds`` on ``jobs`` worker processes and counts what went wrong.

    Each seed is bounded in wall-clock time twice: the worker interrupts itself after
    ``timeout_s`` (the seed counts as a hang), and should that fail the sweep stops the workers
    a little later (up to ten seconds), counts the seed as a hang and carries on with fresh
    workers; the seeds those workers had in hand run again.

    Args:
        seeds: The seeds.
        jobs: Worker processes (at least one).
        profile: The fault profile (see the module docstring).
        out_dir: Where failing scenarios are written as ``sweep-<seed>.json`` (``None``: not
            written).
        timeout_s: Wall-clock budget per seed.
        on_progress: Called with the running summary after each seed.

    Returns:
        The counts, and every failure with its replay command.

    Raises:
        ValueError: An unknown profile or a non-positive ``jobs``.
    """
    profile_for(0, profile)  # validates
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    summary = SweepSummary(profile=profile, jobs=jobs)
    todo = list(seeds)
    todo.reverse()
    hard_s = timeout_s + max(1.0, min(10.0, timeout_s))
    t0 = time.perf_counter()
    # fork: workers start at once, and a script calling this needs no ``__main__`` guard.
    ctx = multiprocessing.get_context("fork")
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
    inflight: dict[cf.Future[SeedOutcome], tuple[int, float]] = {}
    suspects: set[int] = set()  # in flight when a worker died: each runs alone next time

    def lost(seed: int, started: float, hang: bool, detail: str) -> None:
        o = SeedOutcome(
            seed,
            profile_for(seed, profile),
            hang=hang,
            wall_s=time.perf_counter() - started,
            crash=None if hang else detail,
            features=tuple(sorted(features(scenario_for(seed, profile)))),
            detail=detail,
        )
        _record(summary, o, profile, out_dir)

    try:
        while todo or inflight:
            while todo and len(inflight) < jobs and not (inflight and todo[-1] in suspects):
                seed = todo.pop()
                inflight[pool.submit(run_seed, seed, profile, timeout_s)] = (
                    seed,
                    time.perf_counter(),
                )
                if seed in suspects:
                    break
            now = time.perf_counter()
            wait_s = max(0.05, min(started + hard_s for _, started in inflight.values()) - now)
            done, _ = cf.wait(inflight, timeout=wait_s, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                try:
                    o = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                inflight.pop(fut)
                _record(summary, o, profile, out_dir)
                if on_progress is not None:
                    summary.wall_s = time.perf_counter() - t0
                    on_progress(summary)
            now = time.perf_counter()
            overdue = [f for f, (_, started) in inflight.items() if now - started > hard_s]
            if not overdue and not broken:
                continue
            for fut in overdue:
                seed, started = inflight.pop(fut)
                lost(seed, started, True, f"worker stopped after {hard_s:g} s of wall time")
            if broken and not overdue and len(inflight) == 1:
                seed, started = inflight.popitem()[1]
                lost(seed, started, False, "the worker process died")
            for seed, _ in inflight.values():
                if broken and not overdue:
                    suspects.add(seed)
                todo.append(seed)
            inflight.clear()
            _kill_pool(pool)
            pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
            if on_progress is not None:
                summary.wall_s = time.perf_counter() - t0
                on_progress(summary)
    finally:
        if inflight:
            _kill_pool(pool)
        else:
            pool.shutdown(wait=True, cancel_futures=True)
    summary.wall_s = time.perf_counter() - t0
    summary.failures.sort(key=lambda f: f.seed)
    return summary


# ---------------------------------------------------------------------------------- formatting


def format_summary(summary: SweepSummary, *, max_failures: int = 30) -> str:
    """A readable report of a sweep: throughput, counts per invariant, the per-profile table and
    the replay command of each failure (the first ``max_failures``)."""
    from hedgekit.demo import format_table

    t = summary.total

    def pct(n: int) -> str:
        return f"{n / t.seeds * 100:.1f}%" if t.seeds else "-"

    lines = [
        f"sweep: {summary.seeds} seeds, profile {summary.profile}, {summary.jobs} jobs, "
        f"{summary.wall_s:.1f} s wall, {summary.seeds_per_minute:.0f} seeds/min",
        f"failed {t.failed} ({pct(t.failed)}): "
        f"invariant violated {t.violating} ({pct(t.violating)}), "
        f"lies {t.lies} ({pct(t.lies)}), crashes {t.crashes}, hangs {t.hangs}",
        "",
    ]
    invariants = sorted(t.violations)
    rows = [[k, t.violations[k], pct(t.violations[k])] for k in invariants]
    if rows:
        lines += [
            "violations by invariant:",
            format_table(["invariant", "seeds", "share"], rows),
            "",
        ]

    def table(title: str, groups: Mapping[str, ProfileCounts]) -> list[str]:
        head = ["", "seeds", "failed", "violating", "lies", "crashes", "hangs", *invariants]
        body = [
            [
                k,
                c.seeds,
                c.failed,
                c.violating,
                c.lies,
                c.crashes,
                c.hangs,
                *(c.violations[i] for i in invariants),
            ]
            for k, c in sorted(groups.items())
        ]
        return [f"{title}:", format_table(head, body), ""]

    lines += table("by profile", summary.by_profile)
    lines += table("by operation", summary.by_operation)
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(t.statuses.items()))
    lines.append(f"statuses: {statuses}")
    if summary.logged_errors:
        lines.append(f"seeds that logged a contained error: {summary.logged_errors}")
    if summary.failures:
        lines += ["", f"failures ({len(summary.failures)}; replay with the command shown):"]
        for f in summary.failures[:max_failures]:
            replay = f.command or f"seed {f.seed} (no --out: not written)"
            lines.append(f"  {replay}   # {f.profile}, {f.status or '-'}: {', '.join(f.what)}")
        if len(summary.failures) > max_failures:
            lines.append(f"  ... and {len(summary.failures) - max_failures} more")
    return "\n".join(lines)
