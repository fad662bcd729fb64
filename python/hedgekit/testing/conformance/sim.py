"""The conformance harness of the simulated venue (:class:`~hedgekit.venues.sim.SimVenue`).

Tests run on virtual time (:func:`hedgekit.clock.run_virtual`): seconds of venue time cost
milliseconds. The truth is the venue's :class:`~hedgekit.venues.sim.MatchingEngine`; the faults
are the simulated venue's run-time hooks (:meth:`~hedgekit.venues.sim.SimVenue.drop_stream`,
:meth:`~hedgekit.venues.sim.SimVenue.race_next_cancel`, ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

from hedgekit._core import Instrument
from hedgekit.clock import run_virtual
from hedgekit.testing.conformance.harness import Hook, TruthFill, TruthOrder
from hedgekit.venues.sim import (
    HYPERLIQUID_TABLE,
    Lat,
    LatencyConfig,
    MarketConfig,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    hyperliquid,
)

__all__ = ["SimHarness", "sim_config"]

_T = TypeVar("_T")
MS = 1_000_000


def sim_config(seed: int = 7) -> SimVenueConfig:
    """The simulated venue the suite runs against: Hyperliquid's personality with 10 ms REST
    and 5 ms stream latency, three markets (two on Hyperliquid's significant-figure rules, one
    on a plain tick/step grid), and rules checked before sending."""
    instruments = (
        SimInstrument(
            "ETH",
            Instrument.hyperliquid(4),
            MarketConfig(mid=Decimal(3000), tick=Decimal("0.1"), levels=20),
            margin_table=HYPERLIQUID_TABLE,
        ),
        SimInstrument(
            "BTC",
            Instrument.hyperliquid(5),
            MarketConfig(mid=Decimal(60000), tick=Decimal(1), levels=20, level_size=Decimal("0.5")),
            margin_table=HYPERLIQUID_TABLE,
        ),
        SimInstrument(
            "XRPUSDT",
            Instrument.plain("0.0001", "0.1", min_qty="0.1", min_notional="5"),
            MarketConfig(mid=Decimal("0.52"), tick=Decimal("0.0001"), level_size=Decimal(5000)),
            margin_table=HYPERLIQUID_TABLE,
        ),
    )
    latency = LatencyConfig(
        entry=Lat(10 * MS),
        response=Lat(10 * MS),
        feed_public=Lat(5 * MS),
        feed_private=Lat(5 * MS),
    )
    return SimVenueConfig(
        name="sim",
        personality=hyperliquid(),
        instruments=instruments,
        latency=latency,
        seed=seed,
        check_rules=True,
    )


class SimHarness:
    """Runs the suite against a :class:`~hedgekit.venues.sim.SimVenue` on virtual time.

    Args:
        config: The venue (default :func:`sim_config`).
        limit_s: The most virtual seconds one test may take.
    """

    name = "sim"
    hooks: frozenset[Hook] = frozenset(Hook)
    symbol = "ETH"
    settle_s = 2.0

    def __init__(self, config: SimVenueConfig | None = None, *, limit_s: float = 600.0) -> None:
        self.config = config if config is not None else sim_config()
        self.limit_s = limit_s
        self._venue: SimVenue | None = None

    def run(self, main: Callable[[], Awaitable[_T]]) -> _T:
        """Runs ``main()`` on a fresh virtual-time loop, at most ``limit_s`` virtual seconds."""

        async def call() -> _T:
            return await main()

        return run_virtual(call, max_virtual_s=self.limit_s)

    @property
    def venue(self) -> SimVenue:
        """The venue of the running test.

        Raises:
            RuntimeError: Not started.
        """
        if self._venue is None:
            raise RuntimeError("the harness is not started")
        return self._venue

    async def start(self) -> SimVenue:
        """A fresh simulated venue, connected."""
        self._venue = SimVenue(self.config)
        await self._venue.connect()
        return self._venue

    async def stop(self) -> None:
        """Closes the venue."""
        if self._venue is not None:
            await self._venue.close()
            self._venue = None

    # --------------------------------------------------------------------- the outside world
    async def fill_resting(
        self, symbol: str, venue_order_id: str, size: Decimal | None = None
    ) -> None:
        """Outside flow fills our resting order (or ``size`` of it) at its price."""
        self.venue.fill_resting(symbol, venue_order_id, size)

    async def move_price(self, symbol: str, mid: Decimal) -> None:
        """Moves the engine's outside mid; fills and marks go out on the streams."""
        v = self.venue
        t = v.now_ns()
        v.emit(t, v.engine.set_mid(t, symbol, mid))
        v.publish(t)

    # ------------------------------------------------------------------ the venue's truth
    async def resting_orders(self, symbol: str) -> list[TruthOrder]:
        """Our resting orders in the engine."""
        return [
            TruthOrder(r.venue_order_id, r.side, r.price, r.size, r.filled)
            for r in self.venue.engine.orders(symbol)
            if not r.status.is_terminal and r.price is not None
        ]

    async def orders_received(self, symbol: str) -> int:
        """Every order the engine ever accepted in ``symbol``."""
        return len(self.venue.engine.orders(symbol))

    async def venue_fills(self, symbol: str) -> list[TruthFill]:
        """The engine's fill ledger for ``symbol``."""
        return [
            TruthFill(str(f.trade_id), f.venue_order_id, f.side, f.price, f.size, f.fee)
            for f in self.venue.engine.fills(symbol)
        ]

    async def position(self, symbol: str) -> Decimal:
        """The engine's position."""
        return self.venue.engine.position(symbol)

    async def requests_received(self) -> int:
        """Requests that left the adapter half for the engine."""
        return self.venue.stats["requests"]

    async def mid(self, symbol: str) -> Decimal:
        """The engine's outside mid.

        Raises:
            LookupError: The market has no mid.
        """
        mid = self.venue.engine.mid(symbol)
        if mid is None:
            raise LookupError(f"no mid for {symbol}")
        return mid

    # ------------------------------------------------------------------------------ faults
    async def drop_stream(self) -> None:
        """The stream is down for 300 ms (seen at once), then back with a snapshot of the 50
        most recent fills."""
        self.venue.drop_stream(300 * MS, snapshot_fills=50)

    async def silence_stream(self) -> None:
        """The stream sends nothing for 1 s; the adapter notices after 400 ms (its silence
        timeout) and is back with a snapshot of the 50 most recent fills."""
        self.venue.drop_stream(1_000 * MS, snapshot_fills=50, notice_ns=400 * MS)

    async def restore_stream(self) -> None:
        """Nothing to do: the silence ends by itself."""

    async def lose_next_answer(self, op: str) -> None:
        """The engine acts on the next ``op`` and its answer is lost."""
        self.venue.lose_next(op)

    async def race_next_cancel(self) -> None:
        """The next cancel meets a fill; its events leave 200 ms after the cancel's arrival."""
        self.venue.race_next_cancel(200 * MS)

    async def cancel_next_accepted(self) -> None:
        """The next resting order is cancelled by the venue 50 ms after it was accepted."""
        self.venue.cancel_next_accepted(50 * MS)
