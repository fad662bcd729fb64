"""Injected faults of the fault sweep: one small function per fault kind of the scenario
format, each listed in :data:`FAULTS` with the field that shows it, and the profiles (see
:mod:`hedgekit.sweep`) that choose which of them a seed's venues get.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.sweep.markets import D, Venue, _floor, _fmt, _VenuePlan

PROFILES = ("mixed", "light", "heavy", "none")
"""Profiles :func:`scenario_for` accepts, besides ``"only:<fault>"``."""


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


def _f_request_expiry(rng: random.Random, v: Venue, heavy: bool, ctx: FaultContext) -> None:
    # short: a stalled placement is refused more often; long: it stays in doubt for longer
    # before a "not found" is believed (the window plus 1 s)
    choices = (800, 1500, 2500, 8000, 15000) if heavy else (2500, 4000, 8000)
    v["request_expiry_ms"] = rng.choice(choices)


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
    "request_expiry": FaultKind(_f_request_expiry, "", "request_expiry_ms", 0.8),
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
