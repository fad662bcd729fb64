"""``hedgekit demo --wire``: the funding-arbitrage demo with every leg over the wire.

The same strategy, configuration and report as :mod:`hedgekit.demo`, except that each leg of the
pair is a live adapter talking to its wire-level fake on 127.0.0.1 — real sockets, real
signatures:

- Hyperliquid: :class:`~hedgekit.venues.hyperliquid.HyperliquidVenue` to
  :class:`~hedgekit.testing.fakes.hyperliquid.FakeHyperliquid`, every action signed by the Rust
  signer as an agent wallet of the account and verified by the fake;
- Aster: :class:`~hedgekit.venues.aster.AsterVenue` (V3 API-wallet signing) to
  :class:`~hedgekit.testing.fakes.aster.FakeAster`;
- Lighter: :class:`~hedgekit.venues.lighter.LighterVenue` (transactions signed by the official
  signer of the ``lighter`` extra) to :class:`~hedgekit.testing.fakes.lighter.FakeLighter`.

The fakes run in wall-clock time, so the whole demo does: a short real-time run (30 s by
default) with the funding path and the strategy's scans scaled to it. A driver task per fake
moves its outside market (a random walk and outside takers, seeded) and sets its funding rates
along the demo's path.

At the end each venue's own record is the judge: the account's position at the fake against the
position the session's fills imply, the fills the fake booked against the fills the ledger
applied (each once), and no order left resting. Any disagreement is listed in
:attr:`DemoRun.wires <hedgekit.demo.DemoRun.wires>` and makes ``hedgekit demo --wire`` exit 1.
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
    DEFAULT_PAIR,
    DEMO_COLLATERAL,
    HL,
    LIGHTER,
    SYMBOLS,
    DemoRun,
    DemoStatus,
    Pair,
    WireSummary,
    check_pair,
    demo_config,
    funding_path,
    run_demo_async,
)
from hedgekit.model import Side
from hedgekit.secrets import Secret
from hedgekit.strategies.funding_arb import ConfigError, FundingArbConfig, StrategyEvent
from hedgekit.tracking import VenueSession

__all__ = [
    "WIRE_ASTER_MARKETS",
    "WIRE_DURATION_S",
    "WIRE_LIGHTER_MARKETS",
    "WIRE_MARKETS",
    "WIRE_PAIRS",
    "run_wire_demo",
    "run_wire_demo_async",
    "wire_config",
]

WIRE_DURATION_S = 30.0
"""The default length of a wire run (real seconds)."""

WIRE_PAIRS: tuple[Pair, ...] = ((ASTER, LIGHTER), (ASTER, HL))
"""The pairs ``hedgekit demo --wire`` runs one after the other (without ``--pair``): long on
Aster, short on Lighter (the bot this project grew from), then long on Aster, short on
Hyperliquid — between them all three venues trade over the wire."""

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
"""The Aster fake's markets for a wire run."""


def _lighter_markets() -> tuple[object, ...]:
    from hedgekit.testing.fakes.lighter.market import LighterMarket

    # the simulated Lighter venue's ETH: price to 0.01 (book levels 0.1 apart), size to 0.0001
    return (
        LighterMarket(
            SYMBOLS[LIGHTER], 0, 4, 2, Decimal("0.005"), Decimal(10), Decimal("2400.2"),
            Decimal("0.1"), level_size=Decimal(5),
        ),
    )  # fmt: skip


WIRE_LIGHTER_MARKETS = _lighter_markets
"""The Lighter fake's markets for a wire run."""


def wire_config(duration_s: float, pair: Pair = DEFAULT_PAIR) -> FundingArbConfig:
    """The demo's strategy configuration with its scans scaled to a short real-time run (about
    ten scans, at least two seconds apart: the venue's request budget is 1200 weight a minute
    and a funding read weighs 20; scans much closer together leave the orders' status queries
    and fill reads waiting for budget)."""
    return dataclasses.replace(
        demo_config(duration_s, pair), scan_interval_s=max(2.0, duration_s / 10)
    )


def _key(seed: int, who: str) -> str:
    return "0x" + hashlib.sha256(f"hedgekit-demo-wire-{who}-{seed}".encode()).hexdigest()


async def run_wire_demo_async(
    seed: int = 1,
    duration_s: float = WIRE_DURATION_S,
    *,
    pair: Pair = DEFAULT_PAIR,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
) -> DemoRun:
    """Runs the wire demo on the running (real-time) loop: both legs of ``pair`` over the wire.

    Args:
        seed: Seeds the fakes' markets and the demo's keys.
        duration_s: Real seconds to run.
        pair: The two venues, long leg first (:data:`WIRE_PAIRS` lists the pairs
            ``hedgekit demo --wire`` runs).
        journal_url: Where operations are journaled, if anywhere.
        on_event: Called with every strategy event and the demo's status.

    Raises:
        hedgekit.strategies.ConfigError: ``pair`` is not two different demo venues, or one of
            them has no live adapter.
        hedgekit.errors.VenueError: An adapter could not connect to its fake.
        hedgekit.journal.JournalError: The journal could not be opened.
    """
    pair = check_pair(pair)
    missing = [name for name in pair if name not in _LEGS]
    if missing:
        raise ConfigError("pair", f"no live adapter for {', '.join(missing)} yet")
    legs = [_LEGS[name](seed, duration_s, pair) for name in pair]
    try:
        replace = {leg.name: await leg.start() for leg in legs}
        sessions: dict[str, VenueSession] = {}

        def started(by_name: dict[str, VenueSession]) -> None:
            sessions.update(by_name)
            for leg in legs:
                by_name[leg.name].add_fill_listener(leg.count_fill)

        t0 = time.perf_counter()
        run = await run_demo_async(
            seed,
            duration_s,
            journal_url=journal_url,
            on_event=on_event,
            config=wire_config(duration_s, pair),
            sample_s=1.0,
            replace=replace,
            on_sessions=started,
            pair=pair,
        )
        run.wall_s = time.perf_counter() - t0
        for leg in legs:
            await leg.stop_driver()
        for leg in legs:
            run.wires[leg.name] = leg.truth(sessions)
            run.venue_stats[leg.name] = leg.stats()
        return run
    finally:
        for leg in legs:
            await leg.close()


class _WireLeg:
    """One leg over the wire: a fake, the account there, the live adapter signing for it, and
    the driver of the fake's outside market. A subclass makes the fake and the adapter."""

    name = ""
    mid = Decimal(0)

    def __init__(self, seed: int, duration_s: float, pair: Pair) -> None:
        self.seed, self.duration_s, self.pair = seed, duration_s, pair
        self.symbol = SYMBOLS[self.name]
        self.fake: Any = None
        self.venue: Any = None
        self.account: Any = ""  # as the fake names accounts (an address, a Lighter index)
        self.signer = ""
        self.driver: asyncio.Task[None] | None = None
        self.streamed = 0

    key_names = ("", "")
    """The seeds of the account's key and of the signer's (an address each)."""

    async def _open(self) -> Any:
        """Starts the fake with the account, lets the signer trade for it and connects the
        adapter (sets ``fake``, ``venue``, ``account``, ``signer``); the engine that holds the
        account's truth."""
        from hedgekit.venues.hyperliquid.check import signer_address

        account_key, signer_key = (Secret(_key(self.seed, who)) for who in self.key_names)
        self.account, self.signer = signer_address(account_key), signer_address(signer_key)
        self.fake = self._fake()
        await self.fake.start()
        self.venue = self._venue(signer_key)
        await self.venue.connect()
        return self.fake.account(self.account).engine

    def _fake(self) -> Any:
        """The fake, with the account (not started)."""
        raise NotImplementedError

    def _venue(self, signer_key: Secret) -> Any:
        """The signer approved for the account at the started fake; the adapter signing with
        it (not connected)."""
        raise NotImplementedError

    def posted(self) -> int:
        """Signed actions the venue got (see :class:`WireSummary`)."""
        raise NotImplementedError

    def rest_actions(self) -> int:
        """Signed actions sent by REST where the socket is the usual way (else 0)."""
        return 0

    def stats(self) -> dict[str, int]:
        """The leg's counters for :attr:`DemoRun.venue_stats`."""
        return {"posted": self.posted(), "rest_actions": self.rest_actions()}

    async def start(self) -> tuple[Any, Any]:
        """Starts the fake, connects the adapter and the driver; the (venue, engine) pair."""
        engine = await self._open()
        self.fake.set_funding_rate(
            self.symbol, funding_path(self.duration_s, self.pair)[self.name][0][1]
        )
        self.driver = asyncio.ensure_future(self._drive())
        return self.venue, engine

    async def _drive(self, step_s: float = 0.2) -> None:
        """The fake's outside market: a seeded random walk of the mid (about 1 bp per √s),
        outside takers (about 0.4 a second, 0.8 ETH each) and the demo's funding path, in real
        time."""
        fake, symbol = self.fake, self.symbol
        rng = random.Random(self.seed * 7919 + _SALT[self.name])
        path = list(funding_path(self.duration_s, self.pair)[self.name])
        start = time.monotonic()
        mid = self.mid
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

    def count_fill(self, fill: object, order: object) -> None:
        """A fill the session applied to the ledger (each once)."""
        self.streamed += 1

    async def stop_driver(self) -> None:
        """Stops moving the market (before the truth is read)."""
        if self.driver is not None:
            self.driver.cancel()
            await asyncio.gather(self.driver, return_exceptions=True)
            self.driver = None

    def _orders(self) -> int:
        return len(self.fake.account(self.account).orders)

    def truth(self, sessions: dict[str, VenueSession]) -> WireSummary:
        """The fake's record against ours."""
        fake, name = self.fake, self.name
        at_venue = fake.position(self.account, self.symbol)
        session = sessions.get(name)
        ours = session.expected_positions().get(self.symbol, Decimal(0)) if session else None
        resting = fake.open_orders(self.account)
        fills = fake.fills(self.account)
        wrong: list[str] = []
        if ours is None or ours != at_venue:
            wrong.append(f"{name}: position at the venue {at_venue}, from our fills {ours}")
        if self.streamed != len(fills):
            wrong.append(
                f"{name}: the venue booked {len(fills)} fills, the ledger applied {self.streamed}"
            )
        if resting:
            wrong.append(f"{name}: {len(resting)} order(s) left resting at the venue")
        return WireSummary(
            url=fake.url,
            signer=self.signer,
            account=str(self.account),
            posted=self.posted(),
            rest_actions=self.rest_actions(),
            orders=self._orders(),
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


class _HyperliquidLeg(_WireLeg):
    """Hyperliquid: the master account, an agent wallet it approved, the adapter signing as the
    agent (actions on the WebSocket)."""

    name = HL
    mid = Decimal(2400)

    key_names = ("master", "agent")

    def _fake(self) -> Any:
        from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid

        return FakeHyperliquid(
            accounts=[self.account],
            balance=DEMO_COLLATERAL,
            markets=WIRE_MARKETS(),  # type: ignore[arg-type]
            seed=self.seed,
            book_interval_s=0.2,
            hourly_funding=False,
        )

    def _venue(self, signer_key: Secret) -> Any:
        from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue

        self.fake.approve_agent(self.signer, self.account)
        return HyperliquidVenue(
            self.fake.url,
            HyperliquidCredentials(signer_key, self.account),
            symbols=(self.symbol,),
            request_timeout_s=3.0,
            ready_timeout_s=5.0,
        )

    def posted(self) -> int:
        return int(self.venue.posted) if self.venue is not None else 0

    def rest_actions(self) -> int:
        return int(self.venue.rest_actions) if self.venue is not None else 0


class _AsterLeg(_WireLeg):
    """Aster: the user's account, an API wallet the user approved, the adapter signing V3
    requests with it."""

    name = ASTER
    mid = Decimal("2400.4")

    key_names = ("aster-user", "aster-wallet")

    def _fake(self) -> Any:
        from hedgekit.testing.fakes.aster import FakeAster

        return FakeAster(
            accounts=[self.account],
            balance=DEMO_COLLATERAL,
            markets=WIRE_ASTER_MARKETS(),  # type: ignore[arg-type]
            seed=self.seed,
            depth_interval_s=0.2,
            funding=False,
        )

    def _venue(self, signer_key: Secret) -> Any:
        from hedgekit.venues.aster import AsterCredentials, AsterVenue

        self.fake.approve_signer(self.signer, self.account)
        return AsterVenue(
            self.fake.url,
            AsterCredentials.v3(self.account, signer_key),
            symbols=(self.symbol,),
            request_timeout_s=3.0,
            ready_timeout_s=5.0,
        )

    def posted(self) -> int:
        return int(self.fake.verified["v3"]) if self.fake is not None else 0


class _LighterLeg(_WireLeg):
    """Lighter: an account index with an API key registered for it, the adapter signing its
    transactions with that key through the native signer of the ``lighter`` extra."""

    name = LIGHTER
    mid = Decimal("2400.2")
    key_index = 3

    async def _open(self) -> Any:
        from hedgekit.testing.fakes.lighter import FakeLighter
        from hedgekit.venues.lighter import LighterCredentials, LighterVenue
        from hedgekit.venues.lighter.signing import generate_api_key

        # The native signer makes keys only at random; the account index follows the seed.
        private, public = generate_api_key()
        index = 1000 + self.seed
        self.account, self.signer = index, f"{index}/{self.key_index}"
        self.fake = FakeLighter(
            [(index, self.key_index, public)],
            balance=DEMO_COLLATERAL,
            markets=WIRE_LIGHTER_MARKETS(),  # type: ignore[arg-type]
            seed=self.seed,
            book_interval_s=0.2,
            funding=False,
        )
        await self.fake.start()
        self.venue = LighterVenue(
            self.fake.url,
            LighterCredentials(index, self.key_index, private, public),
            ws_url=self.fake.ws_url,
            symbols=(self.symbol,),
            request_timeout_s=3.0,
            ready_timeout_s=5.0,
        )
        await self.venue.connect()
        return self.fake.account(index).engine

    def posted(self) -> int:
        return len(self.fake.trading.txs) if self.fake is not None else 0


_LEGS: dict[str, type[_WireLeg]] = {HL: _HyperliquidLeg, ASTER: _AsterLeg, LIGHTER: _LighterLeg}
_SALT = {HL: 11, ASTER: 13, LIGHTER: 17}


def run_wire_demo(
    seed: int = 1,
    duration_s: float = WIRE_DURATION_S,
    *,
    pair: Pair = DEFAULT_PAIR,
    journal_url: str | None = None,
    on_event: Callable[[StrategyEvent, DemoStatus], None] | None = None,
) -> DemoRun:
    """Runs the wire demo to completion on a fresh real-time loop (see
    :func:`run_wire_demo_async`)."""
    return asyncio.run(
        run_wire_demo_async(seed, duration_s, pair=pair, journal_url=journal_url, on_event=on_event)
    )
