"""``hedgekit demo --wire``: the funding-arbitrage demo with its Hyperliquid leg over the wire
(and, with ``--wire-aster``, its Aster leg too).

The same strategy, configuration and report as :mod:`hedgekit.demo`, except that the
Hyperliquid leg is the live adapter (:class:`~hedgekit.venues.hyperliquid.HyperliquidVenue`)
talking to the wire-level fake (:class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid`)
on 127.0.0.1: real sockets, every action signed by the Rust signer as an agent wallet of the
account and verified by the fake, books and fills from the fake's WebSocket.

The fake runs in wall-clock time, so the whole demo does: a short real-time run (30 s by
default) with the funding path and the strategy's scans scaled to it, the Aster-style leg
still simulated on the same real-time loop — or, with ``aster_wire``, the live Aster adapter
(:class:`~hedgekit.venues.aster.AsterVenue`, V3 API-wallet signing) talking to
:class:`~hedgekit.testing.fakes.aster.FakeAster` on 127.0.0.1. A driver task per fake moves its
outside market (a random walk and outside takers, seeded) and sets its funding rates along the
demo's path.

At the end the venue's own record is the judge: the account's position at the fake against
the position the session's fills imply, the fills the fake booked against the fills the stream
delivered (each once), and no order left resting — for each leg over the wire. Any
disagreement is listed in :attr:`DemoRun.wire <hedgekit.demo.DemoRun.wire>` (and
:attr:`DemoRun.wire_aster <hedgekit.demo.DemoRun.wire_aster>`) and makes ``hedgekit demo
--wire`` exit 1.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import random
import time
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hedgekit.demo import (
    ASTER,
    DEMO_COLLATERAL,
    HL,
    SYMBOLS,
    DemoRun,
    DemoStatus,
    WireSummary,
    demo_config,
    funding_path,
    run_demo_async,
)
from hedgekit.model import Side
from hedgekit.secrets import Secret
from hedgekit.strategies.funding_arb import FundingArbConfig, StrategyEvent
from hedgekit.tracking import VenueSession

__all__ = [
    "WIRE_ASTER_MARKETS",
    "WIRE_DURATION_S",
    "WIRE_MARKETS",
    "run_wire_demo",
    "run_wire_demo_async",
    "wire_config",
]

WIRE_DURATION_S = 30.0
"""The default length of a wire run (real seconds)."""

_COIN = SYMBOLS[HL]


def _markets() -> tuple[object, ...]:
    from hedgekit.testing.fakes.hyperliquid.market import FakeMarket

    # ETH near the simulated Aster-style venue's 2400.4, as deep as the simulated demo's venue
    return (FakeMarket(_COIN, 4, Decimal(2400), Decimal("0.1"), 25, Decimal(6)),)


WIRE_MARKETS = _markets
"""The fake's markets for the wire run (a function: the fake's module loads aiohttp)."""

_SYMBOL = SYMBOLS[ASTER]


def _aster_markets() -> tuple[object, ...]:
    from hedgekit.testing.fakes.aster.market import AsterMarket

    # the simulated Aster-style venue's ETHUSDT: 0.01 tick (book levels 0.1 apart), 0.001 step
    return (
        AsterMarket(
            _SYMBOL, "ETH", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(5),
            Decimal("2400.4"), Decimal("0.1"), level_size=Decimal(5),
        ),
    )  # fmt: skip


WIRE_ASTER_MARKETS = _aster_markets
"""The Aster fake's markets for a wire run with its Aster leg over the wire too."""


def wire_config(duration_s: float) -> FundingArbConfig:
    """The demo's strategy configuration with its scans scaled to a short real-time run (about
    ten scans, at least two seconds apart: the venue's request budget is 1200 weight a minute
    and a funding read weighs 20; scans much closer together leave the orders' status queries
    and fill reads waiting for budget)."""
    return dataclasses.replace(demo_config(duration_s), scan_interval_s=max(2.0, duration_s / 10))


def _key(seed: int, who: str) -> str:
    return "0x" + hashlib.sha256(f"hedgekit-demo-wire-{who}-{seed}".encode()).hexdigest()


async def _drive(
    fake: Any, seed: int, duration_s: float, step_s: float = 0.2, *, venue: str = HL
) -> None:
    """A fake's outside market: a seeded random walk of the mid (about 1 bp per √s), outside
    takers (about 0.4 a second, 0.8 ETH each) and the demo's funding path for ``venue``, in
    real time (``fake``: a :class:`FakeHyperliquid` or a :class:`FakeAster`, whose drivers
    have the same names)."""
    symbol = SYMBOLS[venue]
    rng = random.Random(seed * 7919 + (11 if venue == HL else 13))
    path = list(funding_path(duration_s)[venue])
    start = time.monotonic()
    mid = Decimal(2400) if venue == HL else Decimal("2400.4")
    sigma = 1e-4 * math.sqrt(step_s)
    while True:
        elapsed = time.monotonic() - start
        while path and path[0][0] <= elapsed:
            fake.set_funding_rate(symbol, path.pop(0)[1])
        mid = (mid * Decimal(str(math.exp(rng.gauss(0.0, sigma))))).quantize(
            Decimal("0.1"), ROUND_HALF_EVEN
        )
        fake.move_price(symbol, mid)
        if rng.random() < 0.4 * step_s:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            fake.trade_against(symbol, side, Decimal("0.8"))
        await asyncio.sleep(step_s)


async def run_wire_demo_async(
    seed: int = 1,
    duration_s: float = WIRE_DURATION_S,
    *,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
    aster_wire: bool = False,
) -> DemoRun:
    """Runs the wire demo on the running (real-time) loop.

    Args:
        seed: Seeds the venues, the fakes' markets and the demo's keys.
        duration_s: Real seconds to run.
        journal_url: Where operations are journaled, if anywhere.
        on_event: Called with every strategy event and the demo's status.
        aster_wire: The Aster leg over the wire too (:class:`AsterVenue` to a
            :class:`FakeAster`), judged by that fake's record in :attr:`DemoRun.wire_aster`.

    Raises:
        hedgekit.errors.VenueError: The adapter could not connect to the fake.
        hedgekit.journal.JournalError: The journal could not be opened.
    """
    from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
    from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue
    from hedgekit.venues.hyperliquid.check import signer_address

    master_key, agent_key = Secret(_key(seed, "master")), Secret(_key(seed, "agent"))
    master, agent = signer_address(master_key), signer_address(agent_key)
    fake = FakeHyperliquid(
        accounts=[master],
        balance=DEMO_COLLATERAL,
        markets=WIRE_MARKETS(),  # type: ignore[arg-type]
        seed=seed,
        book_interval_s=0.2,
        hourly_funding=False,
    )
    await fake.start()
    venue: HyperliquidVenue | None = None
    driver: asyncio.Task[None] | None = None
    aster = _AsterLeg(seed, duration_s) if aster_wire else None
    try:
        replace: dict[str, tuple[Any, Any]] = {}
        if aster is not None:
            replace[ASTER] = await aster.start()
        fake.approve_agent(agent, master)
        fake.set_funding_rate(_COIN, funding_path(duration_s)[HL][0][1])
        venue = HyperliquidVenue(
            fake.url,
            HyperliquidCredentials(agent_key, master),
            symbols=(_COIN,),
            request_timeout_s=3.0,
            ready_timeout_s=5.0,
        )
        await venue.connect()
        sessions: dict[str, VenueSession] = {}
        streamed = [0]

        def started(by_name: dict[str, VenueSession]) -> None:
            sessions.update(by_name)
            by_name[HL].add_fill_listener(lambda f, o: streamed.__setitem__(0, streamed[0] + 1))
            if aster is not None:
                by_name[ASTER].add_fill_listener(aster.count_fill)

        driver = asyncio.ensure_future(_drive(fake, seed, duration_s))
        t0 = time.perf_counter()
        run = await run_demo_async(
            seed,
            duration_s,
            journal_url=journal_url,
            on_event=on_event,
            config=wire_config(duration_s),
            sample_s=1.0,
            replace={HL: (venue, fake.account(master).engine), **replace},
            on_sessions=started,
        )
        run.wall_s = time.perf_counter() - t0
        driver.cancel()
        await asyncio.gather(driver, return_exceptions=True)
        driver = None
        run.wire = _truth(fake, venue, sessions, master, agent, streamed[0])
        run.venue_stats[HL] = {"posted": venue.posted, "rest_actions": venue.rest_actions}
        if aster is not None:
            await aster.stop_driver()
            run.wire_aster = aster.truth(sessions)
        return run
    finally:
        if driver is not None:
            driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)
        if venue is not None:
            await venue.close()
        await fake.stop()
        if aster is not None:
            await aster.close()


class _AsterLeg:
    """The Aster leg over the wire: a :class:`FakeAster`, the user's account there, an API
    wallet the user approved, the live :class:`AsterVenue` signing with it, and the fake's
    driver."""

    def __init__(self, seed: int, duration_s: float) -> None:
        from hedgekit.venues.hyperliquid.check import signer_address

        self.seed, self.duration_s = seed, duration_s
        self.user_key, self.wallet_key = (
            Secret(_key(seed, "aster-user")),
            Secret(_key(seed, "aster-wallet")),
        )
        self.user, self.wallet = signer_address(self.user_key), signer_address(self.wallet_key)
        self.fake: Any = None
        self.venue: Any = None
        self.driver: asyncio.Task[None] | None = None
        self.streamed = 0

    async def start(self) -> tuple[Any, Any]:
        """Starts the fake, connects the adapter and the driver; the (venue, engine) pair."""
        from hedgekit.testing.fakes.aster import FakeAster
        from hedgekit.venues.aster import AsterCredentials, AsterVenue

        self.fake = FakeAster(
            accounts=[self.user],
            balance=DEMO_COLLATERAL,
            markets=WIRE_ASTER_MARKETS(),  # type: ignore[arg-type]
            seed=self.seed,
            depth_interval_s=0.2,
            funding=False,
        )
        await self.fake.start()
        self.fake.approve_signer(self.wallet, self.user)
        self.fake.set_funding_rate(_SYMBOL, funding_path(self.duration_s)[ASTER][0][1])
        self.venue = AsterVenue(
            self.fake.url,
            AsterCredentials.v3(self.user, self.wallet_key),
            symbols=(_SYMBOL,),
            request_timeout_s=3.0,
            ready_timeout_s=5.0,
        )
        await self.venue.connect()
        self.driver = asyncio.ensure_future(
            _drive(self.fake, self.seed, self.duration_s, venue=ASTER)
        )
        return self.venue, self.fake.account(self.user).engine

    def count_fill(self, fill: object, order: object) -> None:
        """A fill the session applied to the ledger (each once)."""
        self.streamed += 1

    async def stop_driver(self) -> None:
        """Stops moving the market (before the truth is read)."""
        if self.driver is not None:
            self.driver.cancel()
            await asyncio.gather(self.driver, return_exceptions=True)
            self.driver = None

    def truth(self, sessions: dict[str, VenueSession]) -> WireSummary:
        """The Aster fake's record against ours."""
        fake = self.fake
        at_venue = fake.position(self.user, _SYMBOL)
        session = sessions.get(ASTER)
        ours = session.expected_positions().get(_SYMBOL, Decimal(0)) if session else None
        resting = fake.open_orders(self.user)
        fills = fake.fills(self.user)
        wrong: list[str] = []
        if ours is None or ours != at_venue:
            wrong.append(f"aster: position at the venue {at_venue}, from our fills {ours}")
        if self.streamed != len(fills):
            wrong.append(
                f"aster: the venue booked {len(fills)} fills, the ledger applied {self.streamed}"
            )
        if resting:
            wrong.append(f"aster: {len(resting)} order(s) left resting at the venue")
        return WireSummary(
            url=fake.url,
            signer=self.wallet,
            account=self.user,
            posted=fake.verified["v3"],
            rest_actions=0,
            orders=len(fake.account(self.user).orders),
            fills_streamed=self.streamed,
            venue_fills=len(fills),
            venue_position=at_venue,
            ledger_position=Decimal(0) if ours is None else ours,
            venue_resting=len(resting),
            mismatches=tuple(wrong),
        )

    async def close(self) -> None:
        """Stops the driver, the adapter and the fake (idempotent)."""
        await self.stop_driver()
        if self.venue is not None:
            await self.venue.close()
            self.venue = None
        if self.fake is not None:
            await self.fake.stop()
            self.fake = None


def _truth(
    fake: object,
    venue: object,
    sessions: dict[str, VenueSession],
    master: str,
    agent: str,
    streamed: int,
) -> WireSummary:
    """The fake's record against ours."""
    from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
    from hedgekit.venues.hyperliquid import HyperliquidVenue

    assert isinstance(fake, FakeHyperliquid) and isinstance(venue, HyperliquidVenue)
    acct = fake.account(master)
    at_venue = fake.position(master, _COIN)
    ours = sessions[HL].expected_positions().get(_COIN, Decimal(0)) if HL in sessions else None
    resting = fake.open_orders(master)
    fills = fake.fills(master)
    wrong: list[str] = []
    if ours is None or ours != at_venue:
        wrong.append(f"position at the venue {at_venue}, from our fills {ours}")
    if streamed != len(fills):
        wrong.append(f"the venue booked {len(fills)} fills, the stream delivered {streamed}")
    if resting:
        wrong.append(f"{len(resting)} order(s) left resting at the venue")
    for name, session in sessions.items():
        if name == HL:
            continue
        engine = getattr(session.venue, "engine", None)
        if engine is not None:
            truth = engine.position(SYMBOLS[name])
            mine = session.expected_positions().get(SYMBOLS[name], Decimal(0))
            if truth != mine:
                wrong.append(f"{name}: position at the venue {truth}, from our fills {mine}")
    return WireSummary(
        url=fake.url,
        signer=agent,
        account=master,
        posted=venue.posted,
        rest_actions=venue.rest_actions,
        orders=len(acct.orders),
        fills_streamed=streamed,
        venue_fills=len(fills),
        venue_position=at_venue,
        ledger_position=Decimal(0) if ours is None else ours,
        venue_resting=len(resting),
        mismatches=tuple(wrong),
    )


def run_wire_demo(
    seed: int = 1,
    duration_s: float = WIRE_DURATION_S,
    *,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
    aster_wire: bool = False,
) -> DemoRun:
    """Runs the wire demo to completion on a fresh real-time loop (see
    :func:`run_wire_demo_async`)."""
    return asyncio.run(
        run_wire_demo_async(
            seed, duration_s, journal_url=journal_url, on_event=on_event, aster_wire=aster_wire
        )
    )
