"""Many operations at once on one executor: every one finishes, the venues hold exactly what the
results say, and the work per fill does not grow with the number of operations (a fill reaches
its own operation's listener only; a change wakes only that order's waiters); a burst of opens
starts a few per loop turn, in arrival order, and never holds the loop for all of them."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import pytest

from hedgekit import FillLedger, Instrument
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicConfig, AtomicExecutor, EntryPlan, LegSpec
from hedgekit.execution.admission import Admission, MarginHolds, SharedReads
from hedgekit.execution.operation import OperationTap
from hedgekit.model import Side
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    DeliveryConfig,
    FaultConfig,
    MarginConfig,
    MarketConfig,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
)

SIZE = Decimal("0.01")


def _venues(
    symbols: int,
    collateral: dict[str, Decimal] | None = None,
    **extra: Any,
) -> list[SimVenue]:
    """Two venues (hl, aster) with ``symbols`` markets each; ``extra`` goes to both configs
    (faults, delivery, seed)."""
    margin = {name: MarginConfig(collateral=amount) for name, amount in (collateral or {}).items()}

    def market(mid: str, tick: str) -> MarketConfig:
        return MarketConfig(
            mid=Decimal(mid), tick=Decimal(tick), levels=20, level_size=Decimal(500),
            trade_rate_per_s=5.0, trade_size=Decimal("0.5"),
        )  # fmt: skip

    hl = SimVenueConfig(
        name="hl", personality=hyperliquid(),
        instruments=tuple(
            SimInstrument(f"S{i}", Instrument.hyperliquid(sz_decimals=3), market("2400", "0.1")) for i in range(symbols)
        ),
        margin=margin.get("hl", MarginConfig()), **extra,
    )  # fmt: skip
    ast = SimVenueConfig(
        name="aster", personality=aster(),
        instruments=tuple(
            SimInstrument(
                f"S{i}", Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"), market("2400.5", "0.01")
            )
            for i in range(symbols)
        ),
        margin=margin.get("aster", MarginConfig()), **extra,
    )  # fmt: skip
    return [SimVenue(hl), SimVenue(ast)]


async def _many(
    n: int,
    plan: EntryPlan,
    symbols: int = 10,
    per_turn: int | None = 4,
    leverage: Decimal | None = None,
    size: Decimal = SIZE,
    collateral: dict[str, Decimal] | None = None,
    **venue_kw: Any,
) -> dict[str, Any]:
    venues = _venues(symbols, collateral, **venue_kw)
    for v in venues:
        await v.connect()
    clock = LoopClock()
    ledger = FillLedger()
    sessions = {v.name: VenueSession(v, ledger, clock) for v in venues}
    for s in sessions.values():
        await s.start()
    await asyncio.sleep(0.5)  # books
    ex = AtomicExecutor(sessions, clock=clock, starts_per_turn=per_turn)
    cfg = AtomicConfig(
        plan=plan, entry_timeout_s=60.0, deadline_s=60.0, max_book_age_s=60.0, leverage=leverage
    )

    async def one(i: int) -> Any:
        sym = f"S{i % symbols}"
        return await ex.open(
            [LegSpec("hl", sym, Side.BUY), LegSpec("aster", sym, Side.SELL)], size, cfg
        )

    try:
        async with asyncio.timeout(600):
            results = await asyncio.gather(*(one(i) for i in range(n)))
        await asyncio.sleep(1.0)
        # The venues' own positions, read from their engines (a faulted read could be lost).
        truth = {
            v.name: {i.symbol: v.engine.position(i.symbol) for i in v.config.instruments}
            for v in venues
        }
        holds = ex.margin_holds
        left = {v.name: holds.held(v.name, holds.epoch) for v in venues}
    finally:
        for s in sessions.values():
            await s.close()
        for v in venues:
            await v.close()
    return {"results": results, "truth": truth, "holds_left": left}


@pytest.mark.parametrize("plan", [EntryPlan.TAKER_BOTH, EntryPlan.MAKER_BOTH])
def test_hundreds_of_concurrent_opens_all_finish_and_the_venues_agree(
    plan: EntryPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"listener": 0}
    real = OperationTap._listener

    def counting(self: OperationTap, venue: str) -> Any:
        inner = real(self, venue)

        def on_fill(*a: Any) -> None:
            calls["listener"] += 1
            inner(*a)

        return on_fill

    monkeypatch.setattr(OperationTap, "_listener", counting)
    reads: dict[str, int] = {}
    real_account = SimVenue.account

    async def counted_account(self: SimVenue) -> Any:
        reads[self.name] = reads.get(self.name, 0) + 1
        return await real_account(self)

    monkeypatch.setattr(SimVenue, "account", counted_account)
    n = 300
    out = run_virtual(_many(n, plan))
    results = out["results"]
    statuses = [r.status.value for r in results]
    assert all(s in ("opened", "partial", "not_filled", "rolled_back") for s in statuses), statuses
    if plan is EntryPlan.TAKER_BOTH:
        assert statuses.count("opened") == n
    # The venues hold exactly what the results say, per symbol and venue.
    held: dict[tuple[str, str], Decimal] = {}
    fills = 0
    for r in results:
        for leg in r.legs:
            key = (leg.venue, leg.symbol)
            sign = 1 if leg.side is Side.BUY else -1
            held[key] = held.get(key, Decimal(0)) + sign * leg.filled
            fills += len(leg.fills)
    for (venue, sym), size in held.items():
        assert out["truth"][venue].get(sym, Decimal(0)) == size, (venue, sym)
    # Each fill reached its own operation's listener once, never the other operations'.
    assert calls["listener"] == fills
    # The pre-flights that ran together shared their account reads: far fewer than one per
    # open per venue (300 each without sharing), every open still judged on a venue answer.
    assert set(reads) == {"hl", "aster"}
    assert all(0 < k <= n // 4 for k in reads.values()), reads


def test_a_burst_of_opens_starts_a_few_per_loop_turn_in_arrival_order() -> None:
    async def main() -> None:
        gate = Admission(per_turn=3)
        turn = [0]
        started: list[tuple[int, int]] = []
        stop = asyncio.Event()

        def tick() -> None:
            turn[0] += 1
            if not stop.is_set():
                asyncio.get_running_loop().call_soon(tick)

        asyncio.get_running_loop().call_soon(tick)
        await asyncio.sleep(0)

        async def op(i: int) -> None:
            await gate.enter()
            started.append((i, turn[0]))

        await asyncio.gather(*(op(i) for i in range(20)))
        stop.set()
        assert [i for i, _ in started] == list(range(20))  # first come, first served
        per_turn: dict[int, int] = {}
        for _, t in started:
            per_turn[t] = per_turn.get(t, 0) + 1
        assert max(per_turn.values()) <= 3
        assert len(per_turn) >= 7  # 20 starts need at least seven turns of three

    asyncio.run(main())


def test_one_open_on_an_idle_executor_starts_without_waiting_and_a_cancelled_wait_frees_its_place() -> (
    None
):
    async def main() -> None:
        gate = Admission(per_turn=1)
        loop = asyncio.get_running_loop()
        done: list[str] = []
        # Idle: enter() completes without giving up the loop.
        coro = gate.enter()
        with pytest.raises(StopIteration):
            coro.send(None)
        await asyncio.sleep(0)  # a new turn
        # Three in one turn with room for one: the first starts, two wait; one of them gives up.
        first, quitter, later = (asyncio.ensure_future(gate.enter()) for _ in range(3))
        later.add_done_callback(lambda _: done.append("later"))
        await asyncio.sleep(0)  # their first steps run in this turn, then we do
        assert first.done() and not quitter.done() and not later.done()
        assert gate.waiting == 2
        quitter.cancel()
        async with asyncio.timeout(1):
            await later
        assert done == ["later"] and quitter.cancelled()
        assert gate.waiting == 0
        with pytest.raises(ValueError):
            Admission(per_turn=0)
        assert loop.is_running()

    asyncio.run(main())


def test_without_admission_every_open_starts_in_the_same_turn() -> None:
    async def main() -> None:
        gate = Admission(per_turn=None)
        turns: list[int] = []
        turn = [0]

        def tick() -> None:
            turn[0] += 1

        async def op() -> None:
            await gate.enter()
            turns.append(turn[0])

        asyncio.get_running_loop().call_soon(tick)
        await asyncio.gather(*(op() for _ in range(50)))
        assert len(set(turns)) == 1

    asyncio.run(main())


def test_shared_reads_join_the_read_on_its_way_and_start_a_fresh_one_after_it() -> None:
    async def main() -> None:
        reads = SharedReads()
        sent: list[int] = []
        gate = asyncio.Event()

        async def account() -> int:
            sent.append(len(sent) + 1)
            await gate.wait()
            return len(sent)

        first = [asyncio.ensure_future(reads.read("acct", account)) for _ in range(5)]
        other = asyncio.ensure_future(reads.read("positions", account))
        await asyncio.sleep(0.001)
        assert reads.in_flight == 2 and len(sent) == 2  # one per key, however many callers
        gate.set()
        assert await asyncio.gather(*first) == [2, 2, 2, 2, 2]
        assert await other == 2
        assert reads.in_flight == 0
        assert await reads.read("acct", account) == 3  # after the read ended: a fresh one
        assert sent == [1, 2, 3]

    run_virtual(main())


def test_a_shared_read_that_fails_fails_for_every_caller_and_is_not_kept() -> None:
    async def main() -> None:
        reads = SharedReads()
        loop_errors: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: loop_errors.append(ctx))
        calls = 0

        async def failing() -> int:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            raise TimeoutError("no answer")

        callers = [asyncio.ensure_future(reads.read("acct", failing)) for _ in range(3)]
        done = await asyncio.gather(*callers, return_exceptions=True)
        assert all(isinstance(e, TimeoutError) for e in done) and calls == 1
        # a read whose every caller went away is cancelled with the last of them, quietly
        gone = asyncio.ensure_future(reads.read("acct", failing))
        await asyncio.sleep(0.001)
        assert reads.in_flight == 1
        gone.cancel()
        await asyncio.sleep(0.001)
        assert calls == 2 and reads.in_flight == 0
        await asyncio.sleep(0.05)
        assert loop_errors == []

    run_virtual(main())


def test_a_caller_cancelled_leaves_the_shared_read_to_the_others() -> None:
    async def main() -> None:
        reads = SharedReads()

        async def slow() -> str:
            await asyncio.sleep(0.05)
            return "answer"

        quitter = asyncio.ensure_future(reads.read("acct", slow))
        stayer = asyncio.ensure_future(reads.read("acct", slow))
        await asyncio.sleep(0.01)
        quitter.cancel()
        assert await stayer == "answer"
        assert quitter.cancelled()

    run_virtual(main())


def test_a_leverage_the_open_sets_is_read_afresh_never_from_a_shared_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shared read may have been sent before this open changed the leverage: with
    # ``leverage=`` every open reads it itself, after its own change (the account and the
    # positions are still shared).
    counts: dict[tuple[str, str], int] = {}
    for method in ("leverage", "account"):
        real = getattr(SimVenue, method)

        async def counted(self: SimVenue, *a: Any, _real: Any = real, _m: str = method) -> Any:
            counts[(self.name, _m)] = counts.get((self.name, _m), 0) + 1
            await asyncio.sleep(0.02)  # a round trip: reads of opens started together overlap
            return await _real(self, *a)

        monkeypatch.setattr(SimVenue, method, counted)
    n = 40
    out = run_virtual(_many(n, EntryPlan.TAKER_BOTH, leverage=Decimal(5)))
    assert [r.status.value for r in out["results"]] == ["opened"] * n
    for venue in ("hl", "aster"):
        assert counts[(venue, "leverage")] == n
        assert 0 < counts[(venue, "account")] < n


def _margin_refusals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The venues' own margin refusals of orders, from now on: one entry (the venue's name) per
    order a simulated venue's engine refuses for margin."""
    from hedgekit.venues.sim.engine import MatchingEngine

    refused: list[str] = []
    real = MatchingEngine._margin_error

    def counted(self: MatchingEngine, *a: Any) -> Any:
        err = real(self, *a)
        if err is not None:
            refused.append(self.venue)
        return err

    monkeypatch.setattr(MatchingEngine, "_margin_error", counted)
    return refused


@pytest.mark.parametrize("plan", [EntryPlan.TAKER_BOTH, EntryPlan.MAKER_BOTH, EntryPlan.AUTO])
def test_opens_started_together_never_commit_more_margin_than_the_account_has(
    plan: EntryPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aster's 500 USD margins four 1 ETH legs at 20x (120 each), hl's 5,000 forty: twelve
    # opens at once each read the same account. Judged alone, every one passes and the venue
    # then refuses the aster legs of eight of them, after their hl legs have filled (rolled
    # back at a loss). Judged together, the first four hold their margin and the other eight
    # are refused before anything is placed.
    refused_by_venue = _margin_refusals(monkeypatch)
    n = 12
    collateral = {"hl": Decimal(5000), "aster": Decimal(500)}
    out = run_virtual(_many(n, plan, symbols=1, size=Decimal(1), collateral=collateral))
    results = out["results"]
    statuses = [r.status.value for r in results]
    assert refused_by_venue == []  # the venue never had to refuse an order for margin
    assert statuses.count("refused") == 8, statuses
    assert all("aster margin" in (r.reason or "") for r in results if r.status.value == "refused")
    assert all(s in ("opened", "partial", "not_filled", "refused") for s in statuses), statuses
    # The venues hold what the four that went ahead filled, both legs alike, and no more than
    # the account margins (maker entries behind the touch's queue may fill nothing).
    filled = sum((r.size for r in results), Decimal(0))
    assert filled <= 4
    if plan is EntryPlan.TAKER_BOTH:
        assert statuses.count("opened") == 4 and filled == 4
    truth = out["truth"]
    assert truth["hl"].get("S0", 0) == filled == -truth["aster"].get("S0", 0)
    # Every open's hold was let go when it ended.
    assert out["holds_left"] == {"hl": 0, "aster": 0}


def test_margin_holds_count_what_runs_and_what_ended_after_a_read_was_sent() -> None:
    holds = MarginHolds()
    with holds.checking():
        before = holds.epoch  # a read sent now
        holds.hold("aster", Decimal(120))
        holds.hold("aster", Decimal(80))
        holds.hold("hl", Decimal(5))
        assert holds.held("aster", before) == 200 and holds.held("hl", before) == 5
        holds.release("aster", Decimal(120))  # that open ended: its positions are at the venue
        after = holds.epoch  # a read sent now shows them
        # A read sent before it ended does not show them: the hold still counts for it.
        assert holds.held("aster", before) == 200
        assert holds.held("aster", after) == 80
        assert holds.held("hl", before) == 5 and holds.held("binance", before) == 0
    # No check is running: no read sent before can still be used, the ended hold is forgotten.
    assert holds.held("aster", before) == 80
    holds.release("aster", Decimal(80))
    holds.release("hl", Decimal(5))
    assert holds.held("aster", 0) == 0 and holds.held("hl", 0) == 0


@pytest.mark.parametrize("first_seed", [0, 10, 20, 30])
def test_concurrent_opens_under_faults_leave_the_venues_holding_what_the_results_say(
    first_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Per seed: 2-8 opens of 1 ETH at once over two symbols, any plan, aster's collateral
    # margining 2, 5 or 40 legs, 10% of requests lost, answers lost and placements rejected,
    # fills duplicated, held back and shuffled. Whatever each open ends with, the venues'
    # positions are exactly the sum of what the results say each left (net per leg), the
    # venue never refuses an order for margin (the opens judged together), and every hold is
    # let go.
    refused_by_venue = _margin_refusals(monkeypatch)
    p = 0.1
    for seed in range(first_seed, first_seed + 10):
        rng = random.Random(seed)
        n, plan = rng.randint(2, 8), rng.choice(list(EntryPlan))
        collateral = {"hl": Decimal(5000), "aster": Decimal(rng.choice([300, 700, 5000]))}
        faults = FaultConfig(p_req_loss=p, p_resp_loss=p, p_reject=p)
        delivery = DeliveryConfig(
            p_dup=p, p_holdback=p, p_shuffle=p, fill_before_ack=rng.random() < 0.5
        )
        out = run_virtual(
            _many(
                n, plan, symbols=2, size=Decimal(1), collateral=collateral,
                faults=faults, delivery=delivery, seed=seed,
            )
        )  # fmt: skip
        said: dict[tuple[str, str], Decimal] = {}
        for r in out["results"]:
            for leg in r.legs:
                key = (leg.venue, leg.symbol)
                said[key] = said.get(key, Decimal(0)) + leg.net
        truth = {(v, sym): q for v, by in out["truth"].items() for sym, q in by.items() if q}
        assert {k: q for k, q in said.items() if q} == truth, (seed, n, plan)
        assert out["holds_left"] == {"hl": 0, "aster": 0}, seed
    assert refused_by_venue == []
