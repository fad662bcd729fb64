"""The tracker against the simulated venue under faults: after any run, our fills equal the
venue's own record — no fill counted twice, none missing — and our positions agree with it."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import OrderRejectedError, VenueError
from hedgekit.model import CancelResult, OrderType, TimeInForce
from hedgekit.tracking import BookGate, TrackedState, VenueSession
from hedgekit.venues.sim import (
    DeliveryConfig,
    Disconnect,
    FaultConfig,
    Lat,
    LatencyConfig,
    LostMessage,
    ScriptedEvent,
    SimVenue,
    hyperliquid,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, order, venue_config  # noqa: E402

S = 1_000_000_000


def _config(seed: int, style: str, p_dup: float, p_hold: float, p_resp_loss: float, outage: bool):  # type: ignore[no-untyped-def]
    return venue_config(
        style,
        mkt=market(
            vol_bps_per_sqrt_s=15.0, trade_rate_per_s=1.5, trade_size=Decimal("3"), levels=8
        ),
        latency=LatencyConfig(
            entry=Lat(8 * MS, 4 * MS, 80 * MS),
            response=Lat(8 * MS, 4 * MS, 80 * MS),
            feed_public=Lat(3 * MS, 2 * MS, 30 * MS),
            feed_private=Lat(3 * MS, 5 * MS, 60 * MS),
        ),
        delivery=DeliveryConfig(
            p_dup=p_dup, p_holdback=p_hold, p_shuffle=0.5, fill_before_ack=seed % 2 == 0
        ),
        faults=FaultConfig(
            p_resp_loss=p_resp_loss,
            request_timeout_ns=400 * MS,
            disconnects=(Disconnect(20 * S, 15 * S),) if outage else (),
        ),
        seed=seed,
    )


async def _run(cfg) -> tuple[SimVenue, VenueSession, list[str]]:  # type: ignore[no-untyped-def]
    venue = SimVenue(cfg)
    session = VenueSession(venue, FillLedger(), LoopClock())
    await venue.connect()
    await session.start()
    ids: list[str] = []
    for i in range(24):
        q = venue.quote("ETH")
        assert q is not None
        side = "buy" if i % 2 == 0 else "sell"
        kind = i % 3
        cid = f"o{i}"
        if kind == 0:  # resting at the touch: fills by queue position, maybe after a cancel
            req = order(
                side,
                "0.7",
                str(q.bid if side == "buy" else q.ask),
                tif=TimeInForce.POST_ONLY,
                client_id=cid,
            )
        elif kind == 1:  # taker
            req = order(
                side, "0.4", None, order_type=OrderType.MARKET, tif=TimeInForce.IOC, client_id=cid
            )
        else:  # resting one tick inside the book
            px = q.bid - Decimal("0.01") if side == "buy" else q.ask + Decimal("0.01")
            req = order(side, "1.1", str(px), client_id=cid)
        try:
            await session.place(req)
            ids.append(cid)
        except OrderRejectedError:
            pass
        await asyncio.sleep(2.0)
        if i % 4 == 3 and ids:
            victim = ids[-2] if len(ids) > 1 else ids[-1]
            try:
                await session.cancel(victim)
            except Exception:  # noqa: BLE001 - an unresolved cancel is retried below
                pass
    # Quiesce: cancel whatever still rests until the venue agrees, then let every query land.
    for _ in range(8):
        live = [c for c in ids if not session.tracker.order(c).is_terminal]
        if not live:
            break
        for c in live:
            try:
                await session.cancel(c)
            except Exception:  # noqa: BLE001
                pass
        await asyncio.sleep(3.0)
    await asyncio.sleep(10.0)
    done = 0
    for _ in range(30):  # two successful fetches (a lost answer is a timeout: try again)
        try:
            await session.reconcile_now("final")
            done += 1
        except (VenueError, TimeoutError):
            pass
        if done == 2:
            break
        await asyncio.sleep(1.0)
    return venue, session, ids


@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**31),
    style=st.sampled_from(["hyperliquid", "aster", "lighter"]),
    p_dup=st.sampled_from([0.0, 0.3, 1.0]),
    p_hold=st.sampled_from([0.0, 0.3]),
    p_resp_loss=st.sampled_from([0.0, 0.15]),
    outage=st.booleans(),
)
def test_tracked_fills_equal_the_venue_record_under_faults(
    seed: int, style: str, p_dup: float, p_hold: float, p_resp_loss: float, outage: bool
) -> None:
    cfg = _config(seed, style, p_dup, p_hold, p_resp_loss, outage)

    async def main() -> None:
        venue, session, ids = await _run(cfg)
        truth_fills = venue.engine.fills()
        assert venue.engine.check_invariants() == []
        for cid in ids:
            truth = venue.engine.order_status("ETH", client_id=cid)
            tracked = session.tracker.order(cid)
            if truth is None:  # the venue never saw it (rejected before the book)
                assert tracked.filled == 0
                continue
            assert tracked.filled == truth.filled, (cid, tracked, truth)
            assert tracked.fill_count == len(truth.fills), (cid, tracked, truth)
            if truth.filled == truth.size:
                assert tracked.state is TrackedState.FILLED
            assert tracked.is_terminal, (cid, tracked.state)
        assert sum(session.tracker.order(c).filled for c in ids) == sum(f.size for f in truth_fills)
        # Positions implied by our fills agree with the venue's.
        actual = venue.engine.positions(venue.now_ns())
        expected = session.expected_positions()
        assert expected.get("ETH", Decimal(0)) == (actual["ETH"].size if "ETH" in actual else 0)
        assert session.last_mismatches == []
        await session.close()
        assert session.running_tasks == 0
        await venue.close()

    run_virtual(main())


def test_a_stalled_feed_makes_the_book_unusable_until_fresh() -> None:
    cfg = venue_config(
        mkt=market(vol_bps_per_sqrt_s=10.0, walk_interval_ns=100 * MS),
        faults=FaultConfig(feed_stalls=(Disconnect(2 * S, 3 * S),)),
    )
    gate = BookGate(max_age_ns=2 * S)

    async def main() -> list[tuple[float, bool, str | None]]:
        clock = LoopClock()
        venue = SimVenue(cfg, clock)
        await venue.connect()
        seen = []
        for t in (1.5, 3.5, 4.5, 5.5):
            await asyncio.sleep(t - (clock.now_ns() - venue.start_ns) / S)
            health = gate.check(venue.book("ETH"), clock.now_ns())
            seen.append((t, health.usable, health.reason))
        return seen

    assert run_virtual(main()) == [
        (1.5, True, None),
        (3.5, True, None),  # 1.5 s into the stall: not yet older than the gate allows (2 s)
        (4.5, False, "stale"),
        (5.5, True, None),  # the feed is back
    ]


def test_a_sequence_gap_makes_the_book_unusable_until_resynchronised() -> None:
    cfg = venue_config(
        "aster",
        mkt=market(vol_bps_per_sqrt_s=30.0, walk_interval_ns=100 * MS),
        faults=FaultConfig(p_feed_drop=0.1),
        latency_ms=50,
        seed=5,
    )
    gate = BookGate(max_age_ns=5 * S)

    async def main() -> list[str | None]:
        clock = LoopClock()
        venue = SimVenue(cfg, clock)
        await venue.connect()
        reasons = []
        for _ in range(400):
            await asyncio.sleep(0.01)
            reasons.append(gate.check(venue.book("ETH"), clock.now_ns()).reason)
        return reasons

    reasons = run_virtual(main())
    assert "not_synced" in reasons
    assert reasons[-1] is None or reasons.count(None) > len(reasons) // 2


@pytest.mark.parametrize("answer_lost", [False, True], ids=["answered", "answer_lost"])
def test_fills_of_a_replaced_venue_order_lost_with_the_stream_are_settled(
    answer_lost: bool,
) -> None:
    """A resting order fills while the private stream is down, then a modify replaces it under
    a new venue id (its answer lost or not), then it is cancelled. The status by client id
    describes only the replacement (cancelled, nothing filled): settling the order asks for the
    original by its own id, so the ledger holds every fill the venue made (sweep seed 7205)."""
    script = (ScriptedEvent(1_500 * MS, "trade", side="sell", size=Decimal("8")),)
    cfg = venue_config(
        mkt=market(script=script),
        personality=hyperliquid(modify_new_id=True),
        faults=FaultConfig(
            disconnects=(Disconnect(1 * S, 20 * S),),
            lose_answers=(LostMessage("modify", 1),) if answer_lost else (),
        ),
    )

    async def main() -> None:
        clock = LoopClock()
        venue = SimVenue(cfg, clock)
        session = VenueSession(venue, FillLedger(), clock)
        await venue.connect()
        await session.start()
        q = venue.quote("ETH")
        assert q is not None
        await session.place(order("buy", "3", str(q.bid), client_id="m"))
        await asyncio.sleep(2.0)  # the outside sell reached our order; the stream was down
        try:
            await session.modify("m", price=q.bid - Decimal("0.05"), size=Decimal(3))
        except VenueError:
            assert answer_lost
        assert venue.stats["replaced_orders"] == 1
        await session.cancel("m")
        order_now = await session.settle("m")
        truth = [f for f in venue.engine.fills() if f.client_id == "m"]
        assert truth and len({f.venue_order_id for f in truth}) == 1  # all on the original
        assert order_now.filled == sum(f.size for f in truth)
        assert order_now.fill_count == len(truth)
        assert session.tracker.is_resolved("m") and session.tracker.may_still_fill("m") == 0
        await session.close()
        await venue.close()

    run_virtual(main())


@pytest.mark.parametrize(
    ("stall_ms", "expiry_ms"),
    [(5_500, 8_000), (7_900, 8_000), (8_100, 8_000), (2_500, 4_000), (4_100, 4_000)],
)
def test_a_placement_stalled_in_the_venue_is_never_given_up_before_its_deadline(
    stall_ms: int, expiry_ms: int
) -> None:
    # A taker order's request sits in the venue's queue (a speed bump, a latency spike) while
    # its answer times out and every status query and cancel finds no such order. Until the
    # deadline stamped on the request has passed, that proves nothing: the order stays in
    # doubt, and when it executes its fills are counted. Past the deadline the venue refuses
    # it, and only then is "not found" believed.
    async def main() -> tuple[list[object], TrackedState, Decimal, Decimal, int]:
        lat = LatencyConfig(
            entry=Lat(10 * MS), response=Lat(10 * MS), speed_bumps=(("taker", stall_ms * MS),)
        )
        cfg = venue_config(
            "hyperliquid",
            latency=lat,
            faults=FaultConfig(request_timeout_ns=500 * MS),
            request_expiry_ns=expiry_ms * MS,
        )
        venue = SimVenue(cfg)
        session = VenueSession(venue, FillLedger(), LoopClock())
        await venue.connect()
        await session.start()
        assert session.tracker.config.not_found_grace_ns == max(5 * S, (expiry_ms + 1_000) * MS)
        ask = venue.quote("ETH").ask  # type: ignore[union-attr]
        req = order("buy", "1", str(ask), tif=TimeInForce.IOC, client_id="t1")
        placed = await session.place(req)
        assert placed.state is TrackedState.UNCONFIRMED  # no answer in time: in doubt
        answers: list[object] = []
        for _ in range(3):  # cancels while the request is still on its way
            await asyncio.sleep(1.0)
            try:
                answers.append(await session.cancel("t1"))
            except VenueError as exc:
                answers.append(type(exc).__name__)
        await asyncio.sleep((expiry_ms + 4_000) / 1000)  # past the deadline and the grace
        state = session.tracker.state("t1")
        ours = session.tracker.order("t1").filled
        theirs = sum((f.size for f in venue.engine.fills()), Decimal(0))
        await session.close()
        await venue.close()
        return answers, state, ours, theirs, venue.stats["expired_requests"]

    answers, state, ours, theirs, expired = run_virtual(main())
    assert CancelResult.ALREADY_CANCELLED not in answers  # never taken for gone in time
    assert ours == theirs  # every fill the venue executed is counted
    if stall_ms + 10 > expiry_ms:
        assert (expired, theirs, state) == (1, 0, TrackedState.NOT_FOUND)
    else:
        assert (expired, theirs, state) == (0, 1, TrackedState.FILLED)
