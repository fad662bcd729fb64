"""Run a scenario on simulated venues, on the virtual clock, and check the invariants.

:func:`simulate` takes a :class:`~hedgekit.scenario.Scenario` (or a path to a scenario file) and
returns a JSON-serialisable report: the operation's result, each venue's record, and whether each
invariant of ``DESIGN.md`` held, checked against the venues' own truth — never against our view:

- ``fills_counted_once``: every fill the venues executed for the operation's orders appears in the
  result exactly once, and nothing else does;
- ``ledger_matches_venue``: for every order we sent, the ledger's filled size and fill count
  equal the venue's;
- ``no_resting_orders``: none of our orders is open on any venue when the operation returns;
- ``exposure_bounded``: the pair ends with net exposure within the largest minimum order size of
  the venues involved, or the result says exactly which leg is exposed (status ``exposed``);
- ``positions_match``: each venue's position equals its starting position plus the operation's
  net fills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from hedgekit._core import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicExecutor, CloseExecutor, CloseStatus, OpenStatus
from hedgekit.execution.config import CloseLeg, LegSpec
from hedgekit.execution.results import AtomicResult, CloseResult
from hedgekit.model import OrderStatus
from hedgekit.scenario import Scenario, load_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import SimVenue, SimVenueConfig

__all__ = ["simulate", "simulate_async"]

_ZERO = Decimal(0)
log = logging.getLogger("hedgekit.simulate")


def simulate(scenario: Scenario | str | Path, *, seed: int | None = None) -> dict[str, Any]:
    """Runs one scenario to completion on a fresh virtual-time loop.

    Args:
        scenario: A parsed scenario or the path of a ``.toml``/``.json`` file.
        seed: Overrides the scenario's seed (and every venue's derived seed).

    Returns:
        The report (JSON-serialisable).

    Raises:
        hedgekit.scenario.ScenarioError: A malformed scenario file.
        FileNotFoundError: No such file.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if seed is not None:
        sc = sc.with_seed(seed)
    return run_virtual(simulate_async(sc))


async def simulate_async(
    sc: Scenario, *, on_ready: Callable[[dict[str, SimVenue], dict[str, VenueSession]], None] | None = None
) -> dict[str, Any]:
    """Runs one scenario on the running loop (virtual or real time).

    Args:
        sc: The scenario.
        on_ready: Called with the venues and sessions once they run, before the operation
            (benchmarks use it to instrument the path).
    """
    clock = LoopClock()
    ledger = FillLedger()
    venues = {cfg.name: SimVenue(cfg, clock) for cfg in sc.venues}
    for p in sc.positions:
        venues[p.venue].engine.seed_position(p.symbol, p.size, p.entry_price)
    sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
    try:
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await asyncio.sleep(sc.start_after_s)
        if on_ready is not None:
            on_ready(venues, sessions)
        result: AtomicResult | CloseResult
        if sc.kind == "open":
            assert sc.size is not None
            legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
            result = await AtomicExecutor(sessions, clock=clock).open(legs, sc.size, sc.atomic)
        else:
            cl = [leg for leg in sc.legs if isinstance(leg, CloseLeg)]
            result = await CloseExecutor(sessions, clock=clock).close(cl, sc.close)
        returned_ns = clock.now_ns()
        resting = _resting(venues, sessions)
        await asyncio.sleep(sc.settle_s)
        return _report(sc, venues, sessions, result, resting, returned_ns)
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()


def _resting(venues: dict[str, SimVenue], sessions: dict[str, VenueSession]) -> list[str]:
    out = []
    for name, session in sessions.items():
        engine = venues[name].engine
        for order in session.tracker.all_client_ids():
            sym = session.tracker.order(order).request.symbol
            truth = engine.order_status(sym, client_id=order)
            if truth is not None and truth.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
                out.append(f"{name}:{order}")
    return out


def _report(
    sc: Scenario,
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    result: AtomicResult | CloseResult,
    resting: list[str],
    returned_ns: int,
) -> dict[str, Any]:
    invariants: dict[str, dict[str, Any]] = {}
    # Fills: every venue fill of our orders is in the result once, and nothing else is.
    result_fills = [(leg.venue, f.trade_id) for leg in result.legs for f in leg.fills]
    truth_fills: list[tuple[str, int | str]] = []
    mismatches: list[str] = []
    for name, session in sessions.items():
        engine = venues[name].engine
        for cid in session.tracker.all_client_ids():
            tracked = session.tracker.order(cid)
            truth = engine.order_status(tracked.request.symbol, client_id=cid)
            if truth is None:
                if tracked.filled != 0:
                    mismatches.append(f"{name}:{cid} ledger {tracked.filled}, venue never had it")
                continue
            truth_fills.extend((name, f.trade_id) for f in truth.fills)
            if tracked.filled != truth.filled or tracked.fill_count != len(truth.fills):
                mismatches.append(
                    f"{name}:{cid} ledger {tracked.filled} in {tracked.fill_count} fills, "
                    f"venue {truth.filled} in {len(truth.fills)}"
                )
    dupes = len(result_fills) - len(set(result_fills))
    missing = sorted(set(truth_fills) - set(result_fills), key=str)
    extra = sorted(set(result_fills) - set(truth_fills), key=str)
    invariants["fills_counted_once"] = {
        "held": dupes == 0 and not missing and not extra,
        "detail": f"{len(truth_fills)} venue fills; duplicates {dupes}; missing {missing[:5]}; extra {extra[:5]}",
    }
    invariants["ledger_matches_venue"] = {"held": not mismatches, "detail": "; ".join(mismatches[:5]) or "every order"}
    invariants["no_resting_orders"] = {"held": not resting, "detail": ", ".join(resting) or "none"}
    # Exposure: net across the legs within the largest minimum order, unless reported exposed.
    start = {p.venue: p.size for p in sc.positions}
    end_pos = {name: venues[name].engine.position(cfg.instruments[0].symbol) for name, cfg in ((c.name, c) for c in sc.venues)}
    leg_venues = [leg.venue for leg in sc.legs]
    largest_min = max(
        (
            max(cfg.instruments[0].rules.min_qty, _min_size_at(cfg, venues[cfg.name]))
            for cfg in sc.venues
            if cfg.name in leg_venues
        ),
        default=_ZERO,
    )
    net = sum((end_pos[v] for v in leg_venues), _ZERO)
    status = result.status
    exposed_reported = status in (OpenStatus.EXPOSED, CloseStatus.EXPOSED)
    if isinstance(result, AtomicResult) and status in (OpenStatus.ROLLED_BACK, OpenStatus.NOT_FILLED, OpenStatus.REFUSED):
        flat = all(abs(end_pos[v] - start.get(v, _ZERO)) <= largest_min for v in leg_venues)
        held = flat
        detail = f"flat per venue within {largest_min}: {dict((v, str(end_pos[v] - start.get(v, _ZERO))) for v in leg_venues)}"
    elif isinstance(result, CloseResult) and status is not CloseStatus.EXPOSED:
        held = all(abs(end_pos[v]) <= largest_min for v in leg_venues)
        detail = f"every leg within {largest_min} of flat: {dict((v, str(end_pos[v])) for v in leg_venues)}"
    else:
        held = abs(net) <= largest_min or exposed_reported
        detail = f"net {net} across legs (limit {largest_min})" + ("; reported exposed" if exposed_reported else "")
    invariants["exposure_bounded"] = {"held": held, "detail": detail}
    op_net = {leg.venue: leg.net for leg in result.legs}
    pos_ok = all(end_pos[v] == start.get(v, _ZERO) + op_net.get(v, _ZERO) for v in leg_venues)
    invariants["positions_match"] = {
        "held": pos_ok,
        "detail": ", ".join(f"{v}: start {start.get(v, _ZERO)} + fills {op_net.get(v, _ZERO)} = venue {end_pos[v]}" for v in leg_venues),
    }
    engine_problems = {name: v.engine.check_invariants() for name, v in venues.items()}
    invariants["venue_consistent"] = {
        "held": not any(engine_problems.values()),
        "detail": "; ".join(f"{k}: {p}" for k, ps in engine_problems.items() for p in ps[:3]) or "ok",
    }
    return {
        "scenario": sc.name,
        "seed": sc.seed,
        "kind": sc.kind,
        "result": result.to_dict(),
        "invariants": invariants,
        "all_invariants_held": all(i["held"] for i in invariants.values()),
        "venues": {
            name: {
                "position": str(end_pos[name]),
                "fills": len(v.engine.fills()),
                "stats": dict(v.stats),
                "anomalies": [a.kind for a in sessions[name].tracker.anomalies],
            }
            for name, v in venues.items()
        },
        "returned_ns": returned_ns,
        "virtual_s": (returned_ns - result.started_ns) / 1e9,
    }


def _min_size_at(cfg: SimVenueConfig, venue: SimVenue) -> Decimal:
    """The smallest size the venue accepts at its mid (min size and min notional together)."""
    rules = cfg.instruments[0].rules
    q = venue.quote(cfg.instruments[0].symbol)
    if q is None or rules.min_notional == 0:
        return _ZERO
    step = rules.step_size
    need = rules.min_notional / q.mid
    return (need / step).to_integral_value(rounding=ROUND_CEILING) * step
