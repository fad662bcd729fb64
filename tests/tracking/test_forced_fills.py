"""Fills a venue forces on our position (an auto-deleverage) that the private stream loses are
still counted: by the fill fetch after the stream comes back, by a positions read that shows a
difference our fills do not explain, and by a fill fetch that is tried again when it fails."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.model import StreamStatus
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import Disconnect, FaultConfig, LostMessage, Outage, SimVenue

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, venue_config

D = Decimal


def run(faults: FaultConfig, body: Any) -> Any:
    cfg = venue_config("aster", name="aster", mkt=market(level_size=D("50")), faults=faults)

    async def main() -> Any:
        clock = LoopClock()
        venue = SimVenue(cfg, clock)
        venue.engine.seed_position("ETH", D(-3), D(100))
        session = VenueSession(venue, FillLedger(), clock)
        await venue.connect()
        await session.start()
        try:
            return await body(venue, session)
        finally:
            await session.close()
            await venue.close()

    return run_virtual(main(), max_virtual_s=600)


def counted(session: VenueSession) -> list[Any]:
    return [a for a in session.tracker.anomalies if a.kind == "adl"]


def test_an_adl_lost_in_an_outage_is_counted_by_the_fetch_after_it() -> None:
    async def body(venue: SimVenue, session: VenueSession) -> Any:
        await asyncio.sleep(2.0)  # the stream is down from 1 s to 4 s
        venue.adl("ETH", D(1))
        await asyncio.sleep(6.0)
        return counted(session), session.expected_positions()

    faults = FaultConfig(disconnects=(Disconnect(1_000 * MS, 3_000 * MS),))
    adl, expected = run(faults, body)
    assert len(adl) == 1
    assert expected == {"ETH": D(-2)}


def test_an_adl_lost_with_the_stream_still_down_is_found_by_a_positions_read() -> None:
    # The stream stays down: no reconnect fetch. A positions read shows -2 where our fills
    # imply -3: the session fetches the symbol's fills and counts the deleverage.
    async def body(venue: SimVenue, session: VenueSession) -> Any:
        await asyncio.sleep(2.0)
        venue.adl("ETH", D(1))
        await asyncio.sleep(0.5)
        await session.fetch_positions()
        await asyncio.sleep(2.0)
        return counted(session), session.expected_positions()

    faults = FaultConfig(disconnects=(Disconnect(1_000 * MS, 500_000 * MS),))
    adl, expected = run(faults, body)
    assert len(adl) == 1
    assert expected == {"ETH": D(-2)}


def test_a_fill_fetch_that_fails_is_tried_again() -> None:
    # The fetch after the reconnect loses its request (and the next one too): it is tried again.
    async def body(venue: SimVenue, session: VenueSession) -> Any:
        await asyncio.sleep(2.0)
        venue.adl("ETH", D(1))
        await asyncio.sleep(20.0)
        return counted(session), session.expected_positions(), session.fetching_fills

    faults = FaultConfig(
        disconnects=(Disconnect(1_000 * MS, 3_000 * MS),),
        lose_answers=(LostMessage("fills", 1, "request"), LostMessage("fills", 2, "request")),
    )
    adl, expected, still = run(faults, body)
    assert len(adl) == 1 and expected == {"ETH": D(-2)} and not still


def test_a_return_never_seen_leaving_still_fetches_the_fills_since_the_last_return() -> None:
    # The stream reports "connected" again without a "disconnected" we saw (the down was lost,
    # or a second outage overlapped the first): fills since the last return are fetched.
    from hedgekit.tracking import FetchFills, OrderTracker

    tracker = OrderTracker("v", FillLedger())
    S = 1_000_000_000
    assert tracker.on_event(StreamStatus("v", False, 10 * S), 10 * S) == []
    first = tracker.on_event(StreamStatus("v", True, 12 * S), 12 * S)
    margin = tracker.config.reconnect_margin_ns
    assert FetchFills(None, 10 * S - margin) in first
    again = tracker.on_event(StreamStatus("v", True, 20 * S), 20 * S)
    assert FetchFills(None, 12 * S - margin) in again


def test_a_fill_fetch_is_never_given_up_while_the_venue_does_not_answer() -> None:
    # After a stream gap the venue answers no fill fetch for four minutes — longer than every
    # doubling pause adds up to. The fetch keeps being tried (and says it is pending) until the
    # venue answers, and the deleverage made during the gap is counted then.
    async def body(venue: SimVenue, session: VenueSession) -> Any:
        await asyncio.sleep(2.0)
        venue.adl("ETH", D(1))
        seen = []
        for _ in range(24):  # 4 minutes of fetches that get no answer
            await asyncio.sleep(10.0)
            seen.append((len(counted(session)), session.fetching_fills))
        await asyncio.sleep(30.0)  # the outage is over
        return seen, counted(session), session.expected_positions(), session.fetching_fills

    faults = FaultConfig(
        disconnects=(Disconnect(1_000 * MS, 3_000 * MS),),
        outages=(Outage("fills", 3_500 * MS, 240_000 * MS),),
    )
    seen, adl, expected, still = run(faults, body)
    assert set(seen) == {(0, True)}  # never counted, never given up
    assert len(adl) == 1 and expected == {"ETH": D(-2)} and not still
