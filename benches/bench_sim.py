"""How fast the simulated venue runs scenarios on the virtual clock (wall time per run).

Each run is checked once before it is timed: it must fill orders and, for the tracked run, the
tracker's fills must equal the venue's record.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest

from hedgekit import FillLedger, Instrument
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import OrderRejectedError, VenueError
from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    DeliveryConfig,
    FaultConfig,
    Lat,
    LatencyConfig,
    MarketConfig,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    hyperliquid,
)

MS = 1_000_000
VENUE_SECONDS = 120


def _config(faults: bool) -> SimVenueConfig:
    lat = Lat(8 * MS, 4 * MS, 80 * MS)
    return SimVenueConfig(
        name="hl",
        personality=hyperliquid(),
        instruments=(
            SimInstrument(
                "ETH",
                Instrument.hyperliquid(sz_decimals=3),
                MarketConfig(
                    mid=Decimal(100),
                    tick=Decimal("0.01"),
                    levels=10,
                    level_size=Decimal(7),
                    vol_bps_per_sqrt_s=15.0,
                    trade_rate_per_s=2.0,
                    trade_size=Decimal(2),
                ),
            ),
        ),
        latency=LatencyConfig(entry=lat, response=lat, feed_public=lat, feed_private=lat),
        delivery=DeliveryConfig(p_dup=0.3, p_holdback=0.2, p_shuffle=0.5)
        if faults
        else DeliveryConfig(),
        faults=FaultConfig(p_resp_loss=0.1, request_timeout_ns=400 * MS)
        if faults
        else FaultConfig(),
        seed=11,
    )


async def _scenario(tracked: bool) -> dict[str, Any]:
    venue = SimVenue(_config(tracked))
    stream = venue.events()
    await venue.connect()
    session = VenueSession(venue, FillLedger(), LoopClock()) if tracked else None
    if session is not None:
        await session.start()
    ids = []
    for i in range(VENUE_SECONDS // 2):
        q = venue.quote("ETH")
        assert q is not None
        side = Side.BUY if i % 2 == 0 else Side.SELL
        req = OrderRequest(
            "ETH",
            side,
            Decimal("0.5"),
            q.bid if side is Side.BUY else q.ask,
            f"o{i}",
            tif=TimeInForce.POST_ONLY,
        )
        try:
            if session is not None:
                await session.place(req)
            else:
                await venue.place(req)
            ids.append(req.client_id)
        except (OrderRejectedError, VenueError):
            pass
        await asyncio.sleep(2.0)
    out: dict[str, Any] = {"fills": venue.engine.fills(), "events": stream.pending()}
    if session is not None:
        await asyncio.sleep(5)
        out["tracked"] = sum(session.tracker.order(c).filled for c in ids)
        await session.close()
    await venue.close()
    return out


@pytest.mark.parametrize("tracked", [False, True], ids=["venue", "venue+tracker+faults"])
def test_sim_120s_of_venue_time(benchmark: Any, tracked: bool) -> None:
    logging.disable(logging.WARNING)
    try:
        first = run_virtual(_scenario(tracked))
        assert len(first["fills"]) > 10
        if tracked:
            assert first["tracked"] == sum(f.size for f in first["fills"])
        benchmark.group = "simulated venue, 120 s of venue time"
        benchmark(lambda: run_virtual(_scenario(tracked)))
    finally:
        logging.disable(logging.NOTSET)
