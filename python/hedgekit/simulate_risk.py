"""Scenarios that run a risk control over time, on the virtual clock, judged by the venues' truth.

:func:`hedgekit.simulate.simulate` hands a scenario whose operation is one of
:data:`~hedgekit.scenario.RUN_KINDS` to :func:`simulate_run`:

- ``drift``: a :class:`~hedgekit.risk.drift.DriftMonitor` checks the held pair every ``every_s``
  for ``for_s`` and applies its policy to each confirmed drift (an auto-deleverage scripted on a
  venue, say);
- ``risk``: a :class:`~hedgekit.risk.monitor.PairRiskMonitor` checks the pair's liquidation
  distance and acts on its thresholds (a leg the venue liquidates in a fast move has its
  survivor closed);
- ``kill``: orders are left resting, then the :class:`~hedgekit.execution.KillSwitch` engages;
- ``funding_arb``: the reference strategy runs for ``for_s`` (its cooldown after failed opens).

The report has the shape of an open's or a close's (``result``, ``invariants``,
``all_invariants_held``, ``venues``), and these invariants, each from the venues' own records:

- ``no_resting_orders``: no order of ours rests at any venue when the run returns (a kill that
  reports a venue not flat is truthful, but has not done its job: this fails);
- ``ledger_matches_venue``, ``forced_fills_counted``, ``venue_consistent``: as for an open;
- ``positions_match``: each venue's position equals what the session's ledger implies (the
  starting position and every fill counted, forced ones included): the pair's truth is
  consistent;
- ``orders_reduce_only``: every order the control sent could only reduce (a repair, a
  reduction, a close, a kill never opens anything);
- ``drift_policy_applied`` (``drift``): ``rehedge`` ends with the legs equal and opposite within
  a minimum order, no leg larger than it started; ``flatten`` with both flat; ``adopt`` and
  ``halt`` with nothing traded;
- ``pair_hedged_or_flat`` (``risk``, ``funding_arb``): the pair ends either hedged (equal and
  opposite within a minimum order) or flat on both venues — never a naked leg;
- ``flat_everywhere`` and ``kill_truthful`` (``kill``): every venue ends flat (or holds a
  remainder below its minimum order at the flattening price, which no order can close), and the
  switch's report says flat exactly when that is so;
- ``opens_within_cooldown`` and ``fees_bounded`` (``funding_arb``): no more opens than the
  cooldown allows in the run (``cooldown_s``, doubling to ``max_cooldown_s``), and fees no
  larger than that many failed opens can pay (each leg's entry and unwind at the taker rate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

from hedgekit._core import FillLedger
from hedgekit.clock import Clock, LoopClock
from hedgekit.errors import VenueError
from hedgekit.execution import AtomicResult, KillSwitch, OpenStatus
from hedgekit.execution.kill import KillReport
from hedgekit.model import Fill, OrderRequest, forced_fill_kind
from hedgekit.risk.alerts import Alert, AlertHub
from hedgekit.risk.drift import DriftMonitor, DriftPolicy, PairLegs
from hedgekit.risk.monitor import PairRiskMonitor, RiskAction
from hedgekit.scenario import KillRun, MonitorRun, Scenario, StrategyRun
from hedgekit.simulate import (
    _forced_counted,
    _ledger_matches,
    _min_size_at,
    _positions,
    _resting,
)
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue

__all__ = ["allowed_opens", "simulate_run"]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)


async def simulate_run(
    sc: Scenario,
    *,
    on_ready: Callable[[dict[str, SimVenue], dict[str, VenueSession]], None] | None = None,
) -> dict[str, Any]:
    """Runs a scenario of one of :data:`~hedgekit.scenario.RUN_KINDS` on the running loop.

    Args:
        sc: The scenario (``sc.run`` set).
        on_ready: Called with the venues and sessions once they run, before the control starts.

    Returns:
        The report (JSON-serialisable).
    """
    assert sc.run is not None
    clock = LoopClock()
    ledger = FillLedger()
    venues = {cfg.name: SimVenue(cfg, clock) for cfg in sc.venues}
    for p in sc.positions:
        venues[p.venue].engine.seed_position(p.symbol, p.size, p.entry_price)
    sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
    alerts: list[Alert] = []
    hub = AlertHub()
    hub.add(alerts.append)
    try:
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await asyncio.sleep(sc.start_after_s)
        if on_ready is not None:
            on_ready(venues, sessions)
        before = _positions(venues)
        started_ns = clock.now_ns()
        own: set[tuple[str, str]] = set()  # orders the scenario placed itself (not the control's)
        run = sc.run
        result: dict[str, Any]
        specific: dict[str, dict[str, Any]]
        if isinstance(run, KillRun):
            result, specific = await _kill(run, venues, sessions, clock, own)
        elif isinstance(run, StrategyRun):
            result, specific = await _strategy(run, venues, sessions, clock)
        else:
            result, specific = await _monitor(sc, run, venues, sessions, clock, hub, before)
        returned_ns = clock.now_ns()
        resting = _resting(venues)
        await asyncio.sleep(sc.settle_s)
        await hub.drain()
        result.update(
            started_ns=started_ns,
            ended_ns=returned_ns,
            positions_before={k: str(v) for k, v in before.items()},
            positions_after={k: str(v) for k, v in _positions(venues).items()},
            alerts=[a.kind for a in alerts],
        )
        invariants = _common(venues, sessions, result, resting, own)
        invariants.update(specific)
        if isinstance(run, StrategyRun):
            invariants["pair_hedged_or_flat"] = _hedged_or_flat(
                sc, venues, tuple(run.config.symbols)
            )
        if isinstance(run, MonitorRun) and run.thresholds is not None:
            pair = run.pair
            invariants["pair_hedged_or_flat"] = _hedged_or_flat(
                sc, venues, (pair.long_venue, pair.short_venue)
            )
        return {
            "scenario": sc.name,
            "seed": sc.seed,
            "kind": sc.kind,
            "result": result,
            "invariants": invariants,
            "all_invariants_held": all(i["held"] for i in invariants.values()),
            "venues": {
                name: {
                    "position": str(v.engine.position(v.config.instruments[0].symbol)),
                    "fills": len(v.engine.fills()),
                    "stats": dict(v.stats),
                    "anomalies": [a.kind for a in sessions[name].tracker.anomalies],
                }
                for name, v in venues.items()
            },
            "returned_ns": returned_ns,
            "virtual_s": (returned_ns - started_ns) / 1e9,
        }
    finally:
        await hub.close()
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()


# ----------------------------------------------------------------------------------- runs


async def _monitor(
    sc: Scenario,
    run: MonitorRun,
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    clock: Clock,
    hub: AlertHub,
    before: dict[str, Decimal],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A drift or risk monitor's loop: a check every ``every_s`` for ``for_s``."""
    end_ns = clock.now_ns() + int(run.for_s * 1e9)
    events: list[dict[str, Any]] = []
    switch = KillSwitch(sessions, clock=clock)
    drift = risk = None
    if run.drift is not None:
        drift = DriftMonitor(
            sessions, clock=clock, config=run.drift, alerts=hub, kill_switch=switch
        )
    else:
        risk = PairRiskMonitor(sessions, clock=clock, thresholds=run.thresholds, alerts=hub)
    while clock.now_ns() < end_ns:
        if drift is not None:
            repair = await drift.step(run.pair)
            if repair is not None:
                events.append(
                    {"ts_ns": clock.now_ns(), "action": repair.policy.value, **repair.to_dict()}
                )
        else:
            assert risk is not None
            check = await risk.step(run.pair)
            if check.action is not RiskAction.NONE:
                events.append({"action": check.action.value, **check.to_dict()})
        left_s = (end_ns - clock.now_ns()) / 1e9
        if left_s <= 0:
            break
        await asyncio.sleep(min(run.every_s, left_s))
    if run.drift is not None:
        statuses = [e["status"] for e in events]
        status = statuses[-1] if statuses else "no_drift"
    else:
        acted = [e["action"] for e in events if e["action"] != RiskAction.WARN.value]
        status = acted[-1] if acted else ("warn" if events else "none")
    result: dict[str, Any] = {
        "status": status,
        "reason": None,
        "events": events,
        "latched": switch.reason,
    }
    specific: dict[str, dict[str, Any]] = {}
    if run.drift is not None:
        specific["drift_policy_applied"] = _policy_applied(
            sc, run.pair, run.drift.policy, venues, sessions, before
        )
    return result, specific


async def _kill(
    run: KillRun,
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    clock: Clock,
    own: set[tuple[str, str]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Leaves the scenario's orders resting, then engages the kill switch."""
    placed: list[str] = []
    for r in run.resting:
        session = sessions[r.venue]
        cid = session.new_client_id("rest")
        own.add((r.venue, cid))
        try:
            await session.place(OrderRequest(r.symbol, r.side, r.size, r.price, cid))
        except VenueError as exc:  # a fault refused it: nothing rests
            placed.append(f"{r.venue}:{cid} refused ({exc.message})")
            continue
        placed.append(f"{r.venue}:{cid}")
    switch = KillSwitch(sessions, clock=clock, config=run.config)
    report = await switch.engage("scenario")
    flat = _flat_everywhere(venues, report, run.config.flatten.market_protection_bps)
    truly = flat["held"] and not _resting(venues)
    result = {
        "status": report.status,
        "reason": None if report.flat else "a venue is not confirmed flat",
        "resting_placed": placed,
        "kill": report.to_dict(),
        "latched": switch.reason,
    }
    specific = {
        "flat_everywhere": flat,
        "kill_truthful": {
            "held": report.flat == truly,
            "detail": f"report {report.status}; venues {'flat' if truly else 'NOT flat'}"
            + ("" if truly else f": {flat['detail']}; resting {_resting(venues)}"),
        },
    }
    return result, specific


async def _strategy(
    run: StrategyRun,
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    clock: Clock,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The reference strategy for ``for_s``."""
    from hedgekit.strategies.funding_arb import FundingArb, Skipped

    events: list[Any] = []
    strategy = FundingArb(venues, sessions, run.config, clock=clock)
    await strategy.run(run.for_s, events.append, flatten_at_end=True)
    opens = [r for r in strategy.operations if isinstance(r, AtomicResult)]
    # Opens that paid fees and failed start a cooldown; opened ones reset it (and pay their
    # round trip); refused and unfilled ones cost nothing.
    failed = [r for r in opens if r.status in (OpenStatus.ROLLED_BACK, OpenStatus.EXPOSED)]
    held = [r for r in opens if r.status in (OpenStatus.OPENED, OpenStatus.PARTIAL)]
    cfg = run.config
    allowed = allowed_opens(cfg.cooldown_s, cfg.max_cooldown_s, run.for_s)
    statuses: dict[str, int] = {}
    for r in opens:
        statuses[r.status.value] = statuses.get(r.status.value, 0) + 1
    fees = {name: sum((f.fee for f in _order_fills(v)), _ZERO) for name, v in venues.items()}
    bound = _fee_bound(run, venues, None if allowed is None else allowed + len(held))
    result = {
        "status": "ran",
        "reason": None,
        "opens": len(opens),
        "open_statuses": statuses,
        "failed_opens_in_a_row": strategy.failed_opens,
        "skipped_for_cooldown": sum(
            1 for e in events if isinstance(e, Skipped) and e.reason == "cooldown"
        ),
        "fees": {k: str(v) for k, v in fees.items()},
    }
    total = sum(fees.values(), _ZERO)
    specific = {
        "opens_within_cooldown": {
            "held": allowed is None or len(failed) <= allowed,
            "detail": f"{len(failed)} failed opens that paid fees ({len(opens)} opens) in "
            f"{run.for_s:g} s; the cooldown "
            + (
                "is off"
                if allowed is None
                else f"({cfg.cooldown_s:g} s doubling to {cfg.max_cooldown_s:g} s) allows {allowed}"
            ),
        },
        "fees_bounded": {
            "held": bound is None or total <= bound,
            "detail": f"fees paid {total}"
            + (
                ""
                if bound is None
                else f"; {allowed} failed opens and {len(held)} round trips can pay at most {bound}"
            ),
        },
    }
    return result, specific


def allowed_opens(cooldown_s: float, max_cooldown_s: float, for_s: float) -> int | None:
    """The most opens a run of ``for_s`` seconds can start when every open fails and each
    failure starts a cooldown of ``cooldown_s`` doubling up to ``max_cooldown_s`` (the opens'
    own durations only delay the next); ``None`` when the cooldown is off."""
    if cooldown_s <= 0:
        return None
    n, t, wait = 1, 0.0, cooldown_s
    while t + min(wait, max_cooldown_s) <= for_s:
        t += min(wait, max_cooldown_s)
        wait *= 2
        n += 1
    return n


def _order_fills(venue: SimVenue) -> list[Fill]:
    return [f for f in venue.engine.fills() if forced_fill_kind(f.client_id) is None]


def _fee_bound(
    run: StrategyRun, venues: dict[str, SimVenue], allowed: int | None
) -> Decimal | None:
    """What ``allowed`` failed opens can pay: on each venue an entry and its unwind, at the
    taker rate, at the highest price any of our fills there had (or the mid)."""
    if allowed is None:
        return None
    cfg = run.config
    per_open = _ZERO
    for name, symbol in cfg.symbols.items():
        v = venues[name]
        info = v.instruments()[symbol]
        prices = [f.price for f in _order_fills(v)]
        mid = v.engine.mid(symbol) or v.config.instruments[0].market.mid
        price = max([*prices, mid])
        size = cfg.size if cfg.size is not None else cfg.notional_usd / mid
        per_open += 2 * size * price * max(info.taker_fee, _ZERO)
    return allowed * per_open


# ------------------------------------------------------------------------------ invariants


def _common(
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    result: dict[str, Any],
    resting: list[str],
    own: set[tuple[str, str]],
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    out["no_resting_orders"] = {"held": not resting, "detail": ", ".join(resting) or "none"}
    out["ledger_matches_venue"] = _ledger_matches(venues, sessions, set())
    forced = {
        name: [f for f in v.engine.fills() if forced_fill_kind(f.client_id) is not None]
        for name, v in venues.items()
    }
    out["forced_fills_counted"] = _forced_counted(forced, sessions, venues)
    off = {}
    for name, v in venues.items():
        symbol = v.config.instruments[0].symbol
        implied = sessions[name].expected_positions().get(symbol, _ZERO)
        truth = v.engine.position(symbol)
        if implied != truth:
            off[name] = f"ledger {implied}, venue {truth}"
    out["positions_match"] = {
        "held": not off,
        "detail": "; ".join(f"{k}: {d}" for k, d in off.items())
        or "every venue's position is what the ledger's fills imply",
    }
    opening = [
        f"{name}:{cid}"
        for name, s in sessions.items()
        for cid in s.tracker.all_client_ids()
        if (name, cid) not in own and not s.tracker.order(cid).request.reduce_only
    ]
    if "opens" not in result:  # a strategy opens by design; a control never does
        out["orders_reduce_only"] = {
            "held": not opening,
            "detail": f"not reduce-only: {', '.join(opening[:5])}" if opening else "every order",
        }
    problems = {name: v.engine.check_invariants() for name, v in venues.items()}
    out["venue_consistent"] = {
        "held": not any(problems.values()),
        "detail": "; ".join(f"{k}: {p}" for k, ps in problems.items() for p in ps[:3]) or "ok",
    }
    return out


def _tolerance(sc: Scenario, venues: dict[str, SimVenue], names: tuple[str, ...]) -> Decimal:
    """The largest minimum order size at the mid among ``names``."""
    return max(
        (
            max(cfg.instruments[0].rules.min_qty, _min_size_at(cfg, venues[cfg.name]))
            for cfg in sc.venues
            if cfg.name in names
        ),
        default=_ZERO,
    )


def _hedged_or_flat(
    sc: Scenario, venues: dict[str, SimVenue], names: tuple[str, ...]
) -> dict[str, Any]:
    tol = _tolerance(sc, venues, names)
    pos = {n: venues[n].engine.position(venues[n].config.instruments[0].symbol) for n in names}
    flat = all(abs(p) <= tol for p in pos.values())
    net = sum(pos.values(), _ZERO)
    hedged = abs(net) <= tol and all(abs(p) > tol for p in pos.values())
    shown = {k: str(v) for k, v in pos.items()}
    what = "flat" if flat else "hedged" if hedged else "a naked or unequal leg"
    return {"held": flat or hedged, "detail": f"{what}: {shown} (within {tol})"}


def _policy_applied(
    sc: Scenario,
    pair: PairLegs,
    policy: DriftPolicy,
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    before: dict[str, Decimal],
) -> dict[str, Any]:
    names = (pair.long_venue, pair.short_venue)
    tol = _tolerance(sc, venues, names)
    long_, short = (venues[n].engine.position(s) for n, s in (
        (pair.long_venue, pair.long_symbol), (pair.short_venue, pair.short_symbol)))  # fmt: skip
    traded = sum(
        (
            s.tracker.order(cid).filled
            for name, s in sessions.items()
            if name in names
            for cid in s.tracker.all_client_ids()
        ),
        _ZERO,
    )
    shown = f"long {long_}, short {short}"
    if policy is DriftPolicy.REHEDGE:
        grew = [n for n in names if abs(_positions(venues)[n]) > abs(before[n])]
        held = abs(long_ + short) <= tol and not grew
        detail = f"rehedge: {shown}, gap {long_ + short} (within {tol})" + (
            f"; grew: {grew}" if grew else ""
        )
    elif policy is DriftPolicy.FLATTEN:
        held = abs(long_) <= tol and abs(short) <= tol
        detail = f"flatten: {shown} (flat within {tol})"
    else:
        held = traded == 0
        detail = f"{policy.value}: {shown}; traded {traded}"
    return {"held": held, "detail": detail}


def _flat_everywhere(
    venues: dict[str, SimVenue], report: KillReport, protection_bps: Decimal
) -> dict[str, Any]:
    """Every venue flat, or holding a remainder below its minimum order at the flattening
    order's protected price (what no order can close), which the report names as dust."""
    off = {}
    for name, v in venues.items():
        cfg = v.config
        symbol = cfg.instruments[0].symbol
        pos = v.engine.position(symbol)
        if pos == 0:
            continue
        limit = _dust_limit(v, protection_bps)
        named = report.venues[name].dust.get(symbol) == pos if name in report.venues else False
        if abs(pos) > limit or not named:
            off[name] = f"{pos} (dust limit {limit}{'' if named else ', not reported as dust'})"
    return {
        "held": not off,
        "detail": "; ".join(f"{k}: {d}" for k, d in off.items()) or "every venue flat",
    }


def _dust_limit(venue: SimVenue, protection_bps: Decimal) -> Decimal:
    """The smallest order the venue accepts at a flattening order's worst price (``protection_bps``
    through the mid), as a size."""
    inst = venue.config.instruments[0]
    rules = inst.rules
    if rules.min_notional == 0:
        return rules.min_qty
    mid = venue.engine.mid(inst.symbol) or inst.market.mid
    worst = mid * (1 - protection_bps / _BPS)
    need = rules.min_notional / worst
    size = (need / rules.step_size).to_integral_value(rounding=ROUND_CEILING) * rules.step_size
    return max(size, rules.min_qty)
