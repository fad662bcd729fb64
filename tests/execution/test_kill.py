"""The kill switch on simulated venues, on the virtual clock: every order of ours cancelled, every
venue flattened reduce-only until it confirms flat, the switch latched (opens refused) until
released, everything journalled — also under lost answers, outages and rate-limit bans, and
over a seeded sweep of random faults. Judged by the venues' own records (positions, resting
orders), never by the report alone.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import KillSwitchEngagedError, VenueError
from hedgekit.execution import (
    AtomicConfig,
    AtomicExecutor,
    EntryPlan,
    KillConfig,
    KillReport,
    KillSwitch,
    LegSpec,
    OpenStatus,
)
from hedgekit.journal import open_journal
from hedgekit.model import OrderStatus, Side
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    FaultConfig,
    LostMessage,
    Outage,
    RateLimit,
    RateLimitConfig,
    SimVenue,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "venues"))
from simkit import MS, market, order, venue_config

D = Decimal
LIVE = {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}
Body = Callable[[dict[str, SimVenue], dict[str, VenueSession], KillSwitch], Awaitable[Any]]


def run(
    body: Body,
    *,
    positions: dict[str, str],
    faults: dict[str, FaultConfig] | None = None,
    limits: dict[str, RateLimitConfig] | None = None,
    config: KillConfig | None = None,
    journal_url: str | None = None,
) -> tuple[Any, dict[str, SimVenue], dict[str, VenueSession]]:
    """Runs ``body`` on two venues ("hl", "aster") seeded with ``positions``; returns what it
    returned, with the venues and sessions (closed) for the checks."""
    faults = faults or {}
    limits = limits or {}
    configs = [
        venue_config(
            style,
            name=name,
            mkt=market(level_size=D("50")),
            faults=faults.get(name, FaultConfig()),
            **({"limits": limits[name]} if name in limits else {}),
        )  # fmt: skip
        for name, style in (("hl", "hyperliquid"), ("aster", "aster"))
    ]

    async def main() -> tuple[Any, dict[str, SimVenue], dict[str, VenueSession]]:
        clock = LoopClock()
        ledger = FillLedger()
        venues = {c.name: SimVenue(c, clock) for c in configs}
        for name, size in positions.items():
            venues[name].engine.seed_position("ETH", D(size), D("100"))
        sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        journal = None if journal_url is None else await open_journal(journal_url)
        try:
            await asyncio.sleep(0.5)
            switch = KillSwitch(sessions, clock=clock, journal=journal, config=config)
            out = await body(venues, sessions, switch)
            return out, venues, sessions
        finally:
            if journal is not None:
                await journal.close()
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main())


def resting(venues: dict[str, SimVenue]) -> list[str]:
    """Every order still resting at a venue, by the venue's own books."""
    out = []
    for name, v in venues.items():
        for report in v.engine.orders("ETH"):
            if report.status in LIVE:
                out.append(f"{name}:{report.client_id}")
    return out


def positions(venues: dict[str, SimVenue]) -> dict[str, Decimal]:
    return {name: v.engine.position("ETH") for name, v in venues.items()}


async def rest_some(sessions: dict[str, VenueSession]) -> None:
    """Two resting orders of ours on each venue, well away from the touch (a placement that a
    fault refuses is left refused; one whose answer is lost stays in doubt for the switch)."""
    for venue, side, size, price in (
        ("hl", "buy", "1", "95"), ("hl", "sell", "1", "105"),
        ("aster", "buy", "2", "94"), ("aster", "sell", "0.5", "106"),
    ):  # fmt: skip
        try:
            await sessions[venue].place(order(side, size, price))
        except VenueError:
            pass


async def engage(
    venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
) -> KillReport:
    await rest_some(sessions)
    return await switch.engage("test")


def test_the_orders_rest_before_the_switch_is_engaged() -> None:
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> list[str]:
        await rest_some(sessions)
        return resting(venues)

    before, _, _ = run(body, positions={"hl": "1"})
    assert len(before) == 4  # what the other tests cancel is really there


def test_cancels_everything_flattens_every_venue_and_reports_it() -> None:
    report, venues, _ = run(engage, positions={"hl": "3", "aster": "-2.5"})
    assert positions(venues) == {"hl": 0, "aster": 0}
    assert resting(venues) == []
    assert report.flat and report.status == "flat"
    assert report.venues["hl"].traded == {"ETH": D(3)} and report.venues["aster"].traded == {
        "ETH": D("2.5")
    }
    assert len(report.venues["hl"].cancelled) == 2 and len(report.venues["aster"].cancelled) == 2
    assert all(v.positions == {} and not v.unresolved for v in report.venues.values())


def test_every_flattening_order_is_reduce_only() -> None:
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> list[bool]:
        await switch.engage("test")
        return [
            s.tracker.order(c).request.reduce_only
            for s in sessions.values()
            for c in s.tracker.all_client_ids()
        ]

    flags, venues, _ = run(body, positions={"hl": "-1.2", "aster": "1.2"})
    assert flags and all(flags)
    assert positions(venues) == {"hl": 0, "aster": 0}


def test_latched_until_released_opens_refused_with_nothing_placed() -> None:
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> tuple[Any, ...]:
        ex = AtomicExecutor(sessions, kill_switch=switch)
        await switch.engage("drill")
        placed_before = sum(len(s.tracker.all_client_ids()) for s in sessions.values())
        refused = await ex.open(
            [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)],
            D("1"),
            AtomicConfig(entry_timeout_s=1.0),
        )
        placed_after = sum(len(s.tracker.all_client_ids()) for s in sessions.values())
        with pytest.raises(KillSwitchEngagedError, match="drill"):
            switch.check()
        latched = switch.latched
        switch.release()
        switch.check()
        reopened = await ex.open(
            [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)], D("1"),
            AtomicConfig(entry_timeout_s=1.0, max_entry_spread_bps=D(500)),
        )  # fmt: skip
        return refused, placed_before, placed_after, latched, reopened

    (refused, before, after, latched, reopened), _, _ = run(body, positions={"hl": "1"})
    assert refused.status is OpenStatus.REFUSED and "kill switch engaged: drill" in (
        refused.reason or ""
    )
    assert before == after  # nothing sent while latched
    assert latched
    assert reopened.status is not OpenStatus.REFUSED


def test_orders_another_process_left_resting_are_found_at_the_venue_and_cancelled() -> None:
    # A bot (its own ledger and sessions, as another process would have) leaves orders resting
    # and a partly filled one; the switch's sessions never saw them: the venues' open-orders
    # lists name them, the switch tracks, cancels and settles them, and counts what filled.
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> tuple[KillReport, list[str]]:
        clock = switch.clock
        other = {n: VenueSession(v, FillLedger(), clock) for n, v in venues.items()}
        for s in other.values():
            await s.start()
        try:
            await rest_some(other)
            before = resting(venues)
            assert all(not s.tracker.all_client_ids() for s in sessions.values())
            return await switch.engage("from another process"), before
        finally:
            for s in other.values():
                await s.close()

    (report, before), venues, sessions = run(body, positions={"hl": "1", "aster": "-1"})
    assert len(before) == 4
    assert resting(venues) == [] and positions(venues) == {"hl": 0, "aster": 0}
    assert report.flat and report.rounds >= 2  # a read after the cancels confirmed it
    adopted = {f"{n}:{c}" for n, v in report.venues.items() for c in v.adopted}
    assert adopted == set(before)
    for name, v in report.venues.items():
        assert set(v.adopted) <= set(v.cancelled) and v.resting == 0
        for cid in v.adopted:  # each one's end was learnt from the venue
            assert sessions[name].tracker.order(cid).is_terminal


def test_a_venue_that_cannot_list_resting_orders_is_flattened_with_what_we_know() -> None:
    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> KillReport:
        async def cannot(symbol: str | None = None) -> Any:
            raise NotImplementedError("no open-orders endpoint")

        venues["hl"].open_orders = cannot  # type: ignore[method-assign]
        return await engage(venues, sessions, switch)

    report, venues, _ = run(body, positions={"hl": "1", "aster": "-1"})
    assert report.flat and positions(venues) == {"hl": 0, "aster": 0} and resting(venues) == []
    assert any("cannot list resting orders" in e for e in report.venues["hl"].errors)


def test_the_latch_lives_in_the_journal_for_every_process_until_released(tmp_path: Path) -> None:
    # Switch A engages; switch B (a bot started on the same journal, knowing nothing of A)
    # refuses its open with nothing placed, until A's release is written; then it opens.
    url = str(tmp_path / "j.sqlite3")
    legs = [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)]
    cfg = AtomicConfig(plan=EntryPlan.TAKER_BOTH, max_entry_spread_bps=D(500))

    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> tuple[Any, ...]:
        journal = await open_journal(url)
        try:
            bot_switch = KillSwitch(sessions, clock=switch.clock, journal=journal)
            bot = AtomicExecutor(sessions, kill_switch=bot_switch, journal=journal)
            assert not bot_switch.latched
            await switch.engage("operator drill")
            refused = await bot.open(legs, D("1"), cfg)
            placed = sum(len(s.tracker.all_client_ids()) for s in sessions.values())
            state = await bot_switch.refresh()
            switch.release()  # in this process only: the journal still holds the latch
            still = await bot.open(legs, D("1"), cfg)
            release_id = await switch.unlatch("drill over")
            reopened = await bot.open(legs, D("1"), cfg)
            return refused, placed, state, still, release_id, reopened
        finally:
            await journal.close()

    (refused, placed, state, still, release_id, reopened), venues, sessions = run(
        body, positions={}, journal_url=url
    )
    assert refused.status is OpenStatus.REFUSED
    assert refused.reason == "kill switch engaged: operator drill"
    assert state is not None and state.latched and state.reason == "operator drill"
    assert still.status is OpenStatus.REFUSED
    assert placed == 0  # nothing placed while latched (the kill had nothing to trade)
    assert release_id is not None
    assert reopened.status is OpenStatus.OPENED
    assert positions(venues) == {"hl": 1, "aster": -1}


def test_an_unreadable_latch_refuses_the_open() -> None:
    class Broken:
        async def start_operation(self, *a: Any, **k: Any) -> str:
            raise OSError("disk gone")

        async def record(self, *a: Any, **k: Any) -> int:
            raise OSError("disk gone")

        async def finish_operation(self, *a: Any, **k: Any) -> None:
            raise OSError("disk gone")

        async def operations(self, **k: Any) -> Any:
            raise OSError("disk gone")

        async def events(self, *a: Any, **k: Any) -> Any:
            raise OSError("disk gone")

    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> Any:
        bot_switch = KillSwitch(sessions, clock=switch.clock, journal=Broken())
        return await AtomicExecutor(sessions, kill_switch=bot_switch).open(
            [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)],
            D("1"),
            AtomicConfig(),
        )

    refused, venues, _ = run(body, positions={})
    assert refused.status is OpenStatus.REFUSED
    assert "kill switch state unreadable" in (refused.reason or "")
    assert positions(venues) == {"hl": 0, "aster": 0} and resting(venues) == []


def test_a_remainder_below_the_minimum_is_dust_and_counts_as_flat() -> None:
    # hl's minimum order value is $10, reduce-only included: 0.05 at ~100 is $5 — no order can
    # close it (aster exempts reduce-only orders from its minimum: its 0.01 is closed).
    report, venues, _ = run(engage, positions={"hl": "0.05", "aster": "0.01"})
    assert report.flat
    assert report.venues["hl"].dust == {"ETH": D("0.05")}
    assert positions(venues) == {"hl": D("0.05"), "aster": 0}
    assert resting(venues) == []


def test_lost_answers_and_an_outage_of_positions_reads_still_end_flat() -> None:
    faults = {
        # the first flattening IOC's answer and the first cancel's answer are lost on hl
        "hl": FaultConfig(
            lose_answers=(LostMessage("place", 3, "answer"), LostMessage("cancel", 1, "answer"))
        ),
        # aster's positions reads fail for 4 s from the start, and one cancel never arrives
        "aster": FaultConfig(
            outages=(Outage("positions", 0, 4_000 * MS),),
            lose_answers=(LostMessage("cancel", 2, "request"),),
        ),
    }
    report, venues, _ = run(engage, positions={"hl": "2", "aster": "-2"}, faults=faults)
    assert positions(venues) == {"hl": 0, "aster": 0}
    assert resting(venues) == []
    assert report.flat and report.rounds > 1
    assert any("positions read failed" in e for e in report.venues["aster"].errors)


def test_a_rate_limit_ban_is_waited_out_and_the_venue_still_ends_flat() -> None:
    # aster allows 3 requests per second and bans for 3 s after 2 refusals.
    limits = {
        "aster": RateLimitConfig(
            limits=(RateLimit("account", 3, refill_per_s=3.0),), ban_after=2, ban_ns=3_000 * MS
        )
    }
    report, venues, _ = run(engage, positions={"hl": "1", "aster": "-3"}, limits=limits)
    assert positions(venues) == {"hl": 0, "aster": 0}
    assert resting(venues) == []
    assert report.flat


def test_a_venue_that_never_answers_is_reported_not_flat_by_the_deadline() -> None:
    faults = {"aster": FaultConfig(outages=(Outage("positions", 0, 10**15),))}
    report, venues, _ = run(
        engage,
        positions={"hl": "1", "aster": "-1"},
        faults=faults,
        config=KillConfig(deadline_s=5.0),
    )
    assert not report.flat and report.status == "not_flat"
    assert report.venues["hl"].flat and not report.venues["aster"].flat
    assert report.venues["aster"].positions is None
    assert positions(venues)["hl"] == 0  # what could be done was done
    assert resting(venues) == []  # cancels still went through


@pytest.mark.parametrize("seed", range(60))
def test_seeded_faults_end_flat_everywhere_and_the_report_tells_the_truth(seed: int) -> None:
    rng = random.Random(seed)

    def draw() -> FaultConfig:
        return FaultConfig(
            p_req_loss=rng.choice([0.0, 0.1, 0.25]),
            p_resp_loss=rng.choice([0.0, 0.1, 0.25]),
            p_reject=rng.choice([0.0, 0.1]),
            outages=(
                Outage(
                    rng.choice(["positions", "place", "cancel", "status"]),
                    rng.randrange(0, 3000) * MS,
                    rng.randrange(0, 6000) * MS,
                ),
            ),
        )

    faults = {"hl": draw(), "aster": draw()}
    sizes = {
        "hl": str(rng.choice([1, -1]) * D(rng.randrange(1, 40)) / 10),
        "aster": str(rng.choice([1, -1]) * D(rng.randrange(1, 40)) / 10),
    }
    report, venues, _ = run(
        engage, positions=sizes, faults=faults, config=KillConfig(deadline_s=120.0)
    )
    # Flat by the venues' truth: nothing resting, and every position zero or a remainder the
    # report names as dust that really is below the venue's minimum order (hl: $10 of value at
    # the flattening price, within 1 % of the mid; aster exempts reduce-only orders).
    held = positions(venues)
    dust_ok = all(
        p == 0
        or (
            report.venues[n].dust == {"ETH": p}
            and n == "hl"
            and abs(p) * venues[n].engine.mid("ETH") < D("10.2")
        )  # type: ignore[operator]
        for n, p in held.items()
    )
    truth_flat = dust_ok and not resting(venues)
    assert report.flat == truth_flat, (report.to_dict(), held, resting(venues))
    assert truth_flat, (faults, report.to_dict())


def test_the_kill_is_journalled_as_an_operation_with_every_order_ahead(tmp_path: Path) -> None:
    url = str(tmp_path / "j.sqlite3")
    report, _, _ = run(engage, positions={"hl": "1", "aster": "-1"}, journal_url=url)
    assert report.op_id is not None

    async def read() -> tuple[Any, list[Any]]:
        j = await open_journal(url, read_only=True)
        try:
            return await j.operation(report.op_id or ""), await j.events(report.op_id or "")
        finally:
            await j.close()

    op, events = asyncio.run(read())
    assert op.kind == "kill" and op.status == "flat"
    kinds = [e.event for e in events]
    assert kinds[0] == "start" and kinds[-1] == "result"
    assert "note" in kinds
    orders = [e.data for e in events if e.event == "order"]
    assert {o["role"] for o in orders} == {"kill"} and len(orders) >= 2
    # every order record comes before anything that venue said about it
    first_fill = min((i for i, k in enumerate(kinds) if k == "fill"), default=len(kinds))
    assert kinds.index("order") < first_fill


def test_bad_config_and_reason_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="deadline_s"):
        KillConfig(deadline_s=0)
    with pytest.raises(ValueError, match="settle_timeout_s"):
        KillConfig(settle_timeout_s=float("inf"))

    async def body(
        venues: dict[str, SimVenue], sessions: dict[str, VenueSession], switch: KillSwitch
    ) -> str:
        with pytest.raises(ValueError, match="reason"):
            await switch.engage("")
        return repr(switch)

    rep, _, _ = run(body, positions={})
    assert "released" in rep
