"""The scenario generator of the fault sweep: :func:`scenario_for` draws one scenario mapping
from a seed (two venues, a market, an open or a close with its configuration, and the profile's
faults), and :func:`features` reads back what a mapping exercises.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hedgekit.sweep.faults import FaultContext, _faults_of, _inject, profile_for
from hedgekit.sweep.markets import (
    _ASSETS,
    _PERSONALITIES,
    _SHORT,
    _ZERO,
    D,
    _ceil,
    _fill_times,
    _floor,
    _fmt,
    _market,
    _min_size_of,
    _script,
    _venue,
    _VenuePlan,
)

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


def _forced(
    seed: int, plans: Sequence[_VenuePlan], sizes: Sequence[Decimal], op_ms: float, tags: list[str]
) -> None:
    """Venues trading our position themselves, around a close (a stream of its own: every other
    draw of a seed is unchanged): an auto-deleverage of part of a leg (15 %), or a leg so thinly
    collateralised that an adverse mid jump liquidates it (10 %)."""
    rng = random.Random(f"hedgekit-sweep-forced:{seed}")
    held = [(v, pos) for v, pos in zip(plans, sizes, strict=True) if pos != 0]
    if not held:
        return
    draw = rng.random()
    v, pos = rng.choice(held)
    script = v.table["market"].setdefault("script", [])
    # Never before 0.5 s: the sessions subscribe at the start (a fill before that is history
    # no client of ours could have seen).
    at = max(round(op_ms + rng.uniform(-800.0, 4000.0), 1), 500.0)
    if draw < 0.15:
        part = max(_floor(abs(pos) * D(str(round(rng.uniform(0.1, 1.0), 3))), v.step), v.step)
        script.append({"at_ms": at, "action": "adl", "size": _fmt(min(part, abs(pos)))})
        tags.append(f"adl {v.name}")
    elif draw < 0.25:
        # Collateral of 3 % of the notional: the maintenance requirement (2-3 %) is close; a 4 %
        # move against the leg liquidates it.
        notional = abs(pos) * v.mid
        v.table["margin"] = {"collateral": _fmt(_ceil(notional * D("0.03"), D("0.01")))}
        move = D("0.96") if pos > 0 else D("1.04")
        price = max(_floor(v.mid * move, v.tick), v.tick)
        script.append({"at_ms": at, "action": "mid", "price": _fmt(price)})
        tags.append(f"liquidation {v.name}")


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
        profile: Which faults (see :mod:`hedgekit.sweep`): ``"mixed"``, ``"light"``, ``"heavy"``,
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
        # The hedge policies come from a stream of their own: adding them left every other
        # draw of a seed as it was.
        policy = random.Random(f"hedgekit-sweep-policy:{seed}")
        cfg["hedge_timing"] = policy.choice(("immediate", "after_settle"))
        cfg["hedge_pricing"] = policy.choice(("ioc", "ladder", "budgeted_maker"))
        if cfg["hedge_pricing"] == "budgeted_maker":
            cfg["maker_budget_usd_s"] = policy.choice(("0", "5", "50", "500", "5000"))
        # Half the opens read margin first (so faults on those reads refuse them), half go
        # straight to the entries (so the entry and hedge mechanics keep their coverage under
        # the same faults); a stream of its own, like the policies'.
        cfg["margin_check"] = random.Random(f"hedgekit-sweep-margin:{seed}").random() < 0.5
        window_ms = (
            float(cfg.get("entry_timeout_s", 10.0)) + float(cfg.get("deadline_s", 15.0))
        ) * 1000
        times = _fill_times(rng, op_ms, min(window_ms, 12_000.0))
        tags += [
            f"open {plan}",
            size_kind,
            f"fills {times[2]}",
            f"hedge={cfg['hedge']['mode']}",
            f"timing={cfg['hedge_timing']}",
            f"pricing={cfg['hedge_pricing']}",
            f"margin_check={cfg['margin_check']}",
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
        _forced(seed, plans, sizes, op_ms, tags)
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
        out.add(f"timing:{cfg.get('hedge_timing', 'after_settle')}")
        out.add(f"pricing:{cfg.get('hedge_pricing', 'ladder')}")
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
