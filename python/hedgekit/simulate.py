"""Run a scenario on simulated venues, on the virtual clock, and check the invariants.

:func:`simulate` takes a :class:`~hedgekit.scenario.Scenario` (or a path to a scenario file) and
returns a JSON-serialisable report: the operation's result, each venue's record, and whether each
invariant of ``DESIGN.md`` held, checked against the venues' own truth — never against our view:

- ``fills_counted_once``: every fill the venues executed for the operation's orders appears in the
  result exactly once, and nothing else does;
- ``ledger_matches_venue``: for every order we sent, the ledger's filled size and fill count
  equal the venue's;
- ``no_resting_orders``: none of our orders is open on any venue when the operation returns,
  unless the result names it as unresolved (status ``exposed``: the venue refused or never
  answered every cancel within the settle timeout);
- ``exposure_bounded``: the pair ends with net exposure within the largest minimum order size of
  the venues involved (for an open, the net of the legs' changes from their starting positions),
  or the result says exactly which leg is exposed (status ``exposed``);
- ``status_truthful``: the status agrees with the venues' positions (``closed`` legs are flat,
  ``opened`` legs are equal and opposite at the pair size, a rolled-back, unfilled or refused
  open left every venue where it started), within the largest minimum order size;
- ``no_leg_above_pair_size``: no venue's position moved further than the pair size from its
  start at any moment of an open (the venue's fills replayed in order);
- ``positions_match``: each venue's position equals its starting position plus the operation's
  net fills and the fills the venue forced on the position (liquidation, auto-deleverage);
- ``forced_fills_counted``: every fill a venue forced on our position is in the ledger once;
- ``venue_consistent``: the simulated venues' own self-checks found nothing wrong;
- ``funding_booked`` (scenarios with ``[expect.funding]``): the funding booked per venue from
  the venue's API (:class:`~hedgekit.risk.funding_book.FundingBook`, polled every
  :data:`FUNDING_POLL_S` from the operation's start to the end of the settling time, overlapping
  reads included) equals the venue's own payments exactly, payment for payment; every payment
  has the hand-computed sign (``-position × rate``: a long pays and a short receives when the
  rate is positive); and each venue's total is ``received`` or ``paid`` as the file expects.

A scenario's ``faults.fill_processing_errors`` is applied here, on the client side: a fill
listener registered through :meth:`~hedgekit.tracking.VenueSession.add_fill_listener` raises
``RuntimeError`` for the first that-many fills of the venue (once each).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from hedgekit._core import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicExecutor, CloseExecutor, CloseStatus, OpenStatus
from hedgekit.execution.config import CloseLeg, HedgeTiming, LegSpec
from hedgekit.execution.results import AtomicResult, CloseResult
from hedgekit.model import Fill, forced_fill_kind
from hedgekit.risk.funding_book import FundingBook, poll_funding
from hedgekit.scenario import Scenario, load_scenario
from hedgekit.tracking import TrackedOrder, VenueSession
from hedgekit.tracking.session import FillListener
from hedgekit.venues.sim import SimVenue, SimVenueConfig

__all__ = ["FUNDING_POLL_S", "simulate", "simulate_async"]

FUNDING_POLL_S = 420.0
"""Virtual seconds between two reads of the venues' funding payments (not a divisor of any
venue's interval, so reads fall anywhere between settlements)."""

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
    sc: Scenario,
    *,
    on_ready: Callable[[dict[str, SimVenue], dict[str, VenueSession]], None] | None = None,
) -> dict[str, Any]:
    """Runs one scenario on the running loop (virtual or real time).

    Args:
        sc: The scenario.
        on_ready: Called with the venues and sessions once they run, before the operation
            (benchmarks use it to instrument the path).
    """
    if sc.run is not None:  # a risk control run over time: drift, risk, kill, funding_arb
        from hedgekit.simulate_risk import simulate_run

        return await simulate_run(sc, on_ready=on_ready)
    clock = LoopClock()
    ledger = FillLedger()
    venues = {cfg.name: SimVenue(cfg, clock) for cfg in sc.venues}
    for p in sc.positions:
        venues[p.venue].engine.seed_position(p.symbol, p.size, p.entry_price)
    sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
    processing_errors: dict[str, int] = {}
    for cfg in sc.venues:
        if cfg.faults.fill_processing_errors > 0:
            processing_errors[cfg.name] = 0
            n = cfg.faults.fill_processing_errors
            listener = _failing_fill_listener(cfg.name, n, processing_errors)
            sessions[cfg.name].add_fill_listener(listener)
    try:
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        await asyncio.sleep(sc.start_after_s)
        if on_ready is not None:
            on_ready(venues, sessions)
        start = _Start(venues)
        book = None
        polling = None
        if sc.expect_funding:
            book = FundingBook(
                {leg.venue: leg.symbol for leg in sc.legs},
                {leg.venue: venues[leg.venue].funding_schedule(leg.symbol) for leg in sc.legs},
                since_ns=clock.now_ns(),
            )
            polling = asyncio.get_running_loop().create_task(_poll(book, venues))
        result: AtomicResult | CloseResult
        if sc.kind == "open":
            assert sc.size is not None
            legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
            result = await AtomicExecutor(sessions, clock=clock).open(legs, sc.size, sc.atomic)
        else:
            cl = [leg for leg in sc.legs if isinstance(leg, CloseLeg)]
            result = await CloseExecutor(sessions, clock=clock).close(cl, sc.close)
        returned_ns = clock.now_ns()
        resting = _resting(venues)
        at_return = _positions(venues)
        await asyncio.sleep(sc.settle_s)
        report = _report(sc, venues, sessions, result, resting, returned_ns, start, at_return)
        if book is not None and polling is not None:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            _, failed = await poll_funding(book, venues)
            check = _funding_booked(sc, book, venues, failed)
            report["invariants"]["funding_booked"] = check
            report["all_invariants_held"] = report["all_invariants_held"] and check["held"]
        for name, count in processing_errors.items():
            report["venues"][name]["stats"]["fill_processing_errors"] = count
        return report
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues.values():
            await v.close()


async def _poll(book: FundingBook, venues: dict[str, SimVenue]) -> None:
    """Reads the venues' funding payments into ``book`` every :data:`FUNDING_POLL_S` (until
    cancelled); every read asks again from the book's start."""
    while True:
        await asyncio.sleep(FUNDING_POLL_S)
        await poll_funding(book, venues)


def _funding_booked(
    sc: Scenario,
    book: FundingBook,
    venues: dict[str, SimVenue],
    failed: dict[str, BaseException],
) -> dict[str, Any]:
    """The ``funding_booked`` invariant: booked == the venue's own payments, each payment's
    sign is ``-position × rate``'s, and each total has the sign ``[expect.funding]`` gives."""
    problems: list[str] = []
    parts: list[str] = []
    for venue, symbol in book.legs.items():
        if venue in failed:
            problems.append(f"{venue}: the last read failed ({failed[venue]!r})")
            continue
        truth = [
            p for p in venues[venue].engine.funding_payments(book.since_ns) if p.symbol == symbol
        ]
        booked = book.payments(venue)
        if [(p.ts_ns, p.amount) for p in booked] != [(p.ts_ns, p.amount) for p in truth]:
            problems.append(f"{venue}: booked {len(booked)} payments, the venue {len(truth)}")
        total = sum((p.amount for p in truth), _ZERO)
        if book.paid(venue) != total:
            problems.append(f"{venue}: booked {book.paid(venue)}, the venue paid {total}")
        wrong = [p for p in booked if _sign(p.amount) != -_sign(p.position_size) * _sign(p.rate)]
        if wrong:
            problems.append(f"{venue}: {len(wrong)} payments of the wrong sign, e.g. {wrong[0]}")
        sign, count = sc.expect_funding.get(venue, (None, None))
        if sign is not None and _sign(total) != (1 if sign == "received" else -1):
            problems.append(f"{venue}: expected funding {sign}, booked {total}")
        if count is not None and len(booked) != count:
            problems.append(f"{venue}: expected {count} payments, booked {len(booked)}")
        parts.append(f"{venue} {book.paid(venue)} in {len(booked)} payments")
    return {
        "held": not problems,
        "detail": "; ".join(parts) + ("; " + "; ".join(problems) if problems else ""),
    }


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def _failing_fill_listener(venue: str, n: int, raised: dict[str, int]) -> FillListener:
    """A fill listener that raises ``RuntimeError`` for the first ``n`` distinct fills it is
    given (once each), counting them in ``raised[venue]``: a fault in the client's own fill
    processing, after the ledger has applied the fill."""
    seen: set[tuple[str, int | str]] = set()

    def listener(fill: Fill, order: TrackedOrder) -> None:
        del order
        key = (fill.venue_order_id, fill.trade_id)
        if key in seen or len(seen) >= n:
            return
        seen.add(key)
        raised[venue] += 1
        raise RuntimeError(
            f"fill processing failed on {venue} trade {fill.trade_id!r} "
            f"(injected fault {len(seen)} of {n})"
        )

    return listener


def _positions(venues: dict[str, SimVenue]) -> dict[str, Decimal]:
    """Each venue's position in its instrument, as the venue records it now."""
    return {name: v.engine.position(v.config.instruments[0].symbol) for name, v in venues.items()}


class _Start:
    """Each venue's truth when the operation starts: its position and how many fills its ledger
    held."""

    def __init__(self, venues: dict[str, SimVenue]) -> None:
        self.positions = _positions(venues)
        self.ledger_len = {name: len(v.engine.fills()) for name, v in venues.items()}


def _resting(venues: dict[str, SimVenue]) -> list[str]:
    """Every order open on a venue (all of a simulated venue's orders are ours), whether or not
    the library still tracks it."""
    return [f"{name}:{cid}" for name, v in venues.items() for cid in v.engine.open_orders()]


def _fill_key(f: Fill) -> tuple[str, str, str, str, str, str]:
    """A fill's identity for matching the result against the venue: one trade can fill several
    of our orders under one trade id, so the order, side, size and price belong to it too."""
    return (f.venue, f.venue_order_id, str(f.trade_id), f.side.value, str(f.size), str(f.price))


def _report(
    sc: Scenario,
    venues: dict[str, SimVenue],
    sessions: dict[str, VenueSession],
    result: AtomicResult | CloseResult,
    resting: list[str],
    returned_ns: int,
    at_start: _Start,
    at_return: dict[str, Decimal],
) -> dict[str, Any]:
    invariants: dict[str, dict[str, Any]] = {}
    leg_venues = [leg.venue for leg in sc.legs]
    # Fills: every fill the venues executed since the operation started is in the result once,
    # and the result holds no other fill.
    window = {name: v.engine.fills()[at_start.ledger_len[name] :] for name, v in venues.items()}
    # Fills the venue forced on our position (a liquidation, an auto-deleverage) are no order of
    # the operation's: they are checked against the ledger on their own below.
    # Before the operation too: the positions check starts from the scenario's positions.
    forced = {
        name: [f for f in v.engine.fills() if forced_fill_kind(f.client_id) is not None]
        for name, v in venues.items()
    }
    truth_by_venue = {
        name: [f for f in fills if forced_fill_kind(f.client_id) is None]
        for name, fills in window.items()
    }
    # An order the result itself names as unresolved (status exposed: the venue never answered
    # for it) is unknown by the library's own account: its fills cannot be required of the
    # result, and the position check takes them from the venue.
    unknown = (
        set(result.unresolved)
        if result.status in (OpenStatus.EXPOSED, CloseStatus.EXPOSED)
        else set()
    )
    unknown_fills = [
        f
        for name, fills in truth_by_venue.items()
        for f in fills
        if f"{name}:{f.client_id}" in unknown
    ]
    result_fills = Counter(_fill_key(f) for leg in result.legs for f in leg.fills)
    truth_fills = Counter(_fill_key(f) for fills in truth_by_venue.values() for f in fills)
    truth_fills -= Counter(_fill_key(f) for f in unknown_fills)
    result_fills -= Counter(k for k in result_fills if k in {_fill_key(f) for f in unknown_fills})
    dupes = sum(c - 1 for c in result_fills.values() if c > 1)
    missing = sorted((truth_fills - result_fills).elements())
    extra = sorted((result_fills - truth_fills).elements())
    invariants["fills_counted_once"] = {
        "held": not missing and not extra,
        "detail": (
            f"{sum(truth_fills.values())} venue fills; duplicates {dupes}; "
            f"missing {[_fill_label(k) for k in missing[:5]]}; "
            f"extra {[_fill_label(k) for k in extra[:5]]}"
        ),
    }
    invariants["ledger_matches_venue"] = _ledger_matches(venues, sessions, unknown)
    invariants["forced_fills_counted"] = _forced_counted(forced, sessions, venues)
    # An order still resting that the result names as unresolved (status exposed: the venue
    # refused or never answered every cancel within the settle timeout — a ban, an outage) is
    # reported, not hidden: like an exposure the result owns up to.
    hidden = [r for r in resting if r not in unknown]
    invariants["no_resting_orders"] = {
        "held": not hidden,
        "detail": (", ".join(hidden) or "none")
        + (
            f"; reported unresolved: {', '.join(r for r in resting if r in unknown)}"
            if len(hidden) < len(resting)
            else ""
        ),
    }
    # Exposure: net across the legs within the largest minimum order, unless reported exposed.
    start = {p.venue: p.size for p in sc.positions}
    end_pos = {
        name: venues[name].engine.position(cfg.instruments[0].symbol)
        for name, cfg in ((c.name, c) for c in sc.venues)
    }
    min_size = {
        cfg.name: max(cfg.instruments[0].rules.min_qty, _min_size_at(cfg, venues[cfg.name]))
        for cfg in sc.venues
        if cfg.name in leg_venues
    }
    largest_min = max(min_size.values(), default=_ZERO)
    net = sum((end_pos[v] for v in leg_venues), _ZERO)
    status = result.status
    exposed_reported = status in (OpenStatus.EXPOSED, CloseStatus.EXPOSED)
    if isinstance(result, AtomicResult) and status in (
        OpenStatus.ROLLED_BACK,
        OpenStatus.NOT_FILLED,
        OpenStatus.REFUSED,
    ):
        flat = all(abs(end_pos[v] - start.get(v, _ZERO)) <= largest_min for v in leg_venues)
        held = flat
        detail = f"flat per venue within {largest_min}: {dict((v, str(end_pos[v] - start.get(v, _ZERO))) for v in leg_venues)}"
    elif isinstance(result, CloseResult) and status is not CloseStatus.EXPOSED:
        held = all(abs(end_pos[v]) <= largest_min for v in leg_venues)
        detail = f"every leg within {largest_min} of flat: {dict((v, str(end_pos[v])) for v in leg_venues)}"
    else:
        if isinstance(result, AtomicResult):
            # What the open did: the legs' changes from where they started (a prior position,
            # balanced or not, is not the operation's exposure).
            net = sum((end_pos[v] - start.get(v, _ZERO) for v in leg_venues), _ZERO)
        held = abs(net) <= largest_min or exposed_reported
        what = "net change" if isinstance(result, AtomicResult) else "net"
        detail = f"{what} {net} across legs (limit {largest_min})" + (
            "; reported exposed" if exposed_reported else ""
        )
    invariants["exposure_bounded"] = {"held": held, "detail": detail}
    invariants["status_truthful"] = _status_truthful(
        sc, result, at_start, at_return, end_pos, largest_min
    )
    invariants["no_leg_above_pair_size"] = _no_leg_above_pair_size(
        sc, at_start, truth_by_venue, result, min_size
    )
    op_net = {leg.venue: leg.net for leg in result.legs}
    known = Counter(_fill_key(f) for leg in result.legs for f in leg.fills)
    for f in unknown_fills:  # what an unresolved order did that the result does not hold
        if known[_fill_key(f)] > 0:
            known[_fill_key(f)] -= 1
            continue
        op_net[f.venue] = op_net.get(f.venue, _ZERO) + f.side.sign * f.size
    for fills in forced.values():  # what the venue did to the position itself
        for f in fills:
            op_net[f.venue] = op_net.get(f.venue, _ZERO) + f.side.sign * f.size
    pos_ok = all(end_pos[v] == start.get(v, _ZERO) + op_net.get(v, _ZERO) for v in leg_venues)
    invariants["positions_match"] = {
        "held": pos_ok,
        "detail": ", ".join(
            f"{v}: start {start.get(v, _ZERO)} + fills {op_net.get(v, _ZERO)} (forced included) = venue {end_pos[v]}"
            for v in leg_venues
        ),
    }
    engine_problems = {name: v.engine.check_invariants() for name, v in venues.items()}
    invariants["venue_consistent"] = {
        "held": not any(engine_problems.values()),
        "detail": "; ".join(f"{k}: {p}" for k, ps in engine_problems.items() for p in ps[:3])
        or "ok",
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


def _forced_counted(
    forced: dict[str, list[Fill]],
    sessions: dict[str, VenueSession],
    venues: dict[str, SimVenue],
) -> dict[str, Any]:
    """Every forced fill is in the ledger exactly once (under the venue's id + trade id).

    A forced fill not counted yet is allowed only while that venue's session is still fetching
    fills, its stream is still down (the stream lost it and no read has reached the venue
    since) or the fill is still on its way down the stream (executed moments before the check):
    owned up to, like an order in doubt; one counted twice never is."""
    uncounted, pending = [], []
    for name, fills in forced.items():
        for f in fills:
            n = len(sessions[name].tracker.fills(f"{f.client_id}#{f.trade_id}"))
            label = f"{name}:{f.client_id}#{f.trade_id}"
            session = sessions[name]
            if n == 0 and (
                session.fetching_fills
                or not session.tracker.stream_connected
                or venues[name].forced_fill_in_flight(f)
            ):
                pending.append(label)
            elif n != 1:
                uncounted.append(f"{label} x{n}")
    return {
        "held": not uncounted,
        "detail": f"{sum(len(x) for x in forced.values())} forced fills; not counted once: "
        + (", ".join(uncounted[:5]) or "none")
        + (
            f"; not learnt yet (stream down, fetch pending or still on the stream): "
            f"{', '.join(pending[:5])}"
            if pending
            else ""
        ),
    }


def _fill_label(key: tuple[str, str, str, str, str, str]) -> str:
    venue, order, trade, side, size, price = key
    return f"{venue}:{order}:{trade} {side} {size}@{price}"


def _ledger_matches(
    venues: dict[str, SimVenue], sessions: dict[str, VenueSession], unknown: set[str]
) -> dict[str, Any]:
    """For every order the library sent, the ledger's filled size and fill count equal the
    venue's (over every venue order that carried its client id); and the venue has no order the
    library never sent. Orders the result names as unresolved are skipped."""
    mismatches: list[str] = []
    for name, session in sessions.items():
        engine = venues[name].engine
        symbol = venues[name].config.instruments[0].symbol
        known = set(session.tracker.all_client_ids())
        for cid in sorted(known):
            if f"{name}:{cid}" in unknown:
                continue
            tracked = session.tracker.order(cid)
            truth = engine.client_orders(tracked.request.symbol, cid)
            if not truth:
                if tracked.filled != 0:
                    mismatches.append(f"{name}:{cid} ledger {tracked.filled}, venue never had it")
                continue
            filled = sum((t.filled for t in truth), _ZERO)
            count = sum(len(t.fills) for t in truth)
            if tracked.filled != filled or tracked.fill_count != count:
                mismatches.append(
                    f"{name}:{cid} ledger {tracked.filled} in {tracked.fill_count} fills, "
                    f"venue {filled} in {count}"
                )
        for f in engine.fills(symbol):
            if forced_fill_kind(f.client_id) is not None:
                continue  # the venue's own: checked by forced_fills_counted
            if f.client_id not in known:
                mismatches.append(
                    f"{name}:{f.client_id} has venue fills but the ledger never saw the order"
                )
                known.add(f.client_id)
    return {"held": not mismatches, "detail": "; ".join(mismatches[:5]) or "every order"}


def _status_truthful(
    sc: Scenario,
    result: AtomicResult | CloseResult,
    at_start: _Start,
    at_return: dict[str, Decimal],
    at_end: dict[str, Decimal],
    tol: Decimal,
) -> dict[str, Any]:
    """The status agrees with the venues' positions both when the operation returned and after
    the settling time (a fill arriving later must not make it untrue either)."""
    then = _status_check(sc, result, at_start, at_return, tol)
    now = _status_check(sc, result, at_start, at_end, tol)
    return {
        "held": then["held"] and now["held"],
        "detail": f"when it returned: {then['detail']}; after settling: {now['detail']}",
    }


def _status_check(
    sc: Scenario,
    result: AtomicResult | CloseResult,
    at_start: _Start,
    end_pos: dict[str, Decimal],
    tol: Decimal,
) -> dict[str, Any]:
    """The status agrees with the positions ``end_pos``, within the largest venue minimum size
    ``tol``.

    ``closed``/``nothing_to_close``: every leg flat. ``opened``: every leg moved by the requested
    size in its own direction. ``partial``: every leg moved by the same size in its own
    direction, not more than requested. Both: that size is the ``size`` the result states. ``rolled_back``/``not_filled``/``refused``: every venue back at its
    starting position. ``exposed`` says itself that a leg is off.
    """
    status = result.status
    if isinstance(result, CloseResult):
        legs = [leg.venue for leg in sc.legs]
        if status in (CloseStatus.CLOSED, CloseStatus.NOTHING_TO_CLOSE):
            off = {v: str(end_pos[v]) for v in legs if abs(end_pos[v]) > tol}
            if off:
                return {
                    "held": False,
                    "detail": f"{status.value}: legs not flat within {tol}: {off}",
                }
            return {"held": True, "detail": f"{status.value}: every leg flat within {tol}"}
        return {"held": True, "detail": f"{status.value}: reported as such"}
    assert sc.size is not None
    open_legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
    moved = {leg.venue: end_pos[leg.venue] - at_start.positions[leg.venue] for leg in open_legs}
    along = {leg.venue: moved[leg.venue] * leg.side.sign for leg in open_legs}
    shown = {v: str(d) for v, d in moved.items()}
    if status in (OpenStatus.OPENED, OpenStatus.PARTIAL):
        spread = max(along.values()) - min(along.values())
        problems = []
        if spread > tol:
            problems.append(f"legs not equal and opposite within {tol}")
        if status is OpenStatus.OPENED:
            short = {v: str(a) for v, a in along.items() if abs(a - sc.size) > tol}
            if short:
                problems.append(f"legs not at the pair size {sc.size}: {short}")
        else:
            over = {v: str(a) for v, a in along.items() if a > sc.size + tol or a < -tol}
            if over:
                problems.append(f"legs outside 0..{sc.size}: {over}")
        if isinstance(result, AtomicResult):
            claimed = {v: str(a) for v, a in along.items() if abs(a - result.size) > tol}
            if claimed:
                problems.append(f"legs not at the size the result states, {result.size}: {claimed}")
        detail = "; ".join([f"{status.value}: changes {shown}", *problems])
        return {"held": not problems, "detail": detail}
    if status in (OpenStatus.ROLLED_BACK, OpenStatus.NOT_FILLED, OpenStatus.REFUSED):
        off = {v: d for v, d in shown.items() if abs(moved[v]) > tol}
        detail = f"{status.value}: changes {shown}"
        if off:
            detail += f"; not back at the start within {tol}: {off}"
        return {"held": not off, "detail": detail}
    return {"held": True, "detail": f"{status.value}: reported as such; changes {shown}"}


def _no_leg_above_pair_size(
    sc: Scenario,
    at_start: _Start,
    truth_by_venue: dict[str, list[Fill]],
    result: AtomicResult | CloseResult | None = None,
    min_size: dict[str, Decimal] | None = None,
) -> dict[str, Any]:
    """For an open: no venue's position ends further than the pair size from where it started,
    replaying the venue's own fills in the order it executed them; and none ever moved further
    on the way, except where ``hedge_timing = immediate`` raced a sibling's own fill and the
    result reports that venue's surplus (an ``oversize`` incident: unwound at once, with its
    cost). ``after_settle`` never goes above it, even for a moment. The one end above it
    allowed is a reported surplus below the venue's minimum order (``min_size``), which no
    order could take off on its own."""
    if sc.kind != "open":
        return {"held": True, "detail": "not an open"}
    assert sc.size is not None
    immediate = sc.atomic.hedge_timing is HedgeTiming.IMMEDIATE
    reported = (
        {i.venue for i in result.incidents if i.kind == "oversize"} if result is not None else set()
    )
    peaks: dict[str, Decimal] = {}
    ends: dict[str, Decimal] = {}
    for leg in sc.legs:
        pos = _ZERO
        peak = _ZERO
        for f in truth_by_venue.get(leg.venue, []):
            if f.symbol != leg.symbol:
                continue
            pos += f.side.sign * f.size
            peak = max(peak, abs(pos))
        peaks[leg.venue] = peak
        ends[leg.venue] = abs(pos)
    mins = min_size or {}
    dust_end = {v for v, p in ends.items() if v in reported and p - sc.size < mins.get(v, _ZERO)}
    over_end = {v: str(p) for v, p in ends.items() if p > sc.size and v not in dust_end}
    over_peak = {
        v: str(p)
        for v, p in peaks.items()
        if p > sc.size and not (v in reported and (immediate or v in dust_end))
    }
    shown = {v: str(p) for v, p in peaks.items()}
    detail = f"largest change per venue {shown} (pair size {sc.size})"
    if over_end:
        detail += f"; ends above it: {over_end}"
    if over_peak:
        detail += f"; above it on the way, unreported: {over_peak}"
    elif not over_end and any(p > sc.size for p in peaks.values()):
        left = {v: str(ends[v] - sc.size) for v in dust_end if ends[v] > sc.size}
        detail += (
            f"; below the venue's minimum order, reported and left for the close: {left}"
            if left
            else "; a surplus raced by an immediate hedge, reported and unwound"
        )
    return {"held": not over_end and not over_peak, "detail": detail}


def _min_size_at(cfg: SimVenueConfig, venue: SimVenue) -> Decimal:
    """The smallest size the venue accepts at its mid (min size and min notional together).

    The mid is the venue's own (the outside book's centre), else our book's, else the
    instrument's configured starting mid: never a placeholder price.
    """
    inst = cfg.instruments[0]
    rules = inst.rules
    if rules.min_notional == 0:
        return _ZERO
    mid = venue.engine.mid(inst.symbol)
    if mid is None or mid <= 0:
        q = venue.quote(inst.symbol)
        mid = q.mid if q is not None and q.mid > 0 else inst.market.mid
    step = rules.step_size
    need = rules.min_notional / mid
    return (need / step).to_integral_value(rounding=ROUND_CEILING) * step
