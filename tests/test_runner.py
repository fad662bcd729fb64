"""``hedgekit.Runner`` from plain threads: operations from many threads at once end with the
venues flat and every fill counted once; callbacks arrive on the thread each delivery mode
promises; a shutdown with operations in flight leaves no naked leg, no thread and no task behind;
errors reach the caller; a closed runner refuses work; blocking calls on the loop thread raise."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import hedgekit
from hedgekit import Instrument, Runner
from hedgekit.errors import RunnerClosedError, RunnerError, RunnerThreadError
from hedgekit.execution import (
    AtomicResult,
    CloseResult,
    EntryPlan,
    ExecutionMode,
    LegSpec,
    OrderConfig,
)
from hedgekit.model import Side
from hedgekit.runner import SHUTDOWN_REASON, Delivery, FillEvent, OperationDone, RunnerEvent
from hedgekit.venues.sim import (
    DeliveryConfig,
    Lat,
    LatencyConfig,
    MarketConfig,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
)

SIZE = Decimal("0.01")
_FAST = Lat(200_000)  # 0.2 ms each way: real time stays short, every answer is still scheduled
# A close that goes straight to protected IOCs (no resting phase): fast on a real-time loop.
_CLOSE: dict[str, Any] = {
    "max_exit_spread_bps": Decimal(0),
    "phase2": OrderConfig(mode=ExecutionMode.MARKET_ONLY),
    "deadline_s": 30.0,
}


def _venues(symbols: int, *, trade_rate: float = 2.0) -> list[SimVenue]:
    def market(mid: str, tick: str) -> MarketConfig:
        return MarketConfig(
            mid=Decimal(mid), tick=Decimal(tick), levels=20, level_size=Decimal(500),
            trade_rate_per_s=trade_rate, trade_size=Decimal("0.5"),
        )  # fmt: skip

    latency = LatencyConfig(entry=_FAST, response=_FAST, feed_public=_FAST, feed_private=_FAST)
    # Duplicated stream events: the ledger must count each fill once.
    delivery = DeliveryConfig(p_dup=0.2)
    hl = SimVenueConfig(
        name="hl", personality=hyperliquid(), latency=latency, delivery=delivery, seed=3,
        instruments=tuple(
            SimInstrument(f"S{i}", Instrument.hyperliquid(sz_decimals=3), market("2400", "0.1"))
            for i in range(symbols)
        ),
    )  # fmt: skip
    ast = SimVenueConfig(
        name="aster", personality=aster(), latency=latency, delivery=delivery, seed=4,
        instruments=tuple(
            SimInstrument(
                f"S{i}", Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"),
                market("2400.5", "0.01"),
            )
            for i in range(symbols)
        ),
    )  # fmt: skip
    return [SimVenue(hl), SimVenue(ast)]


def _legs(symbol: str) -> list[LegSpec]:
    return [LegSpec("hl", symbol, Side.BUY), LegSpec("aster", symbol, Side.SELL)]


def _wait_for_books(runner: Runner, symbols: int) -> None:
    """Until every book has both sides (bounded in count)."""
    for _ in range(200):
        if all(
            runner.quote(v, f"S{i}") is not None for v in ("hl", "aster") for i in range(symbols)
        ):
            return
        time.sleep(0.01)
    raise AssertionError("books never arrived")


def _truth(venues: list[SimVenue]) -> dict[str, dict[str, Decimal]]:
    """Each venue's own positions, read from its engine (also after the runner shut down)."""
    return {v.name: {s: p.size for s, p in v.engine.positions(0).items()} for v in venues}


def _resting(venues: list[SimVenue]) -> list[str]:
    return [
        f"{v.name}:{r.client_id}"
        for v in venues
        for r in v.engine.orders()
        if not r.status.is_terminal
    ]


def _fill_keys(fills: list[Any]) -> list[tuple[str, str, int | str]]:
    return [(f.venue, f.client_id, f.trade_id) for f in fills]


# --------------------------------------------------------------------------------- load
def test_a_hundred_operations_from_ten_threads_leave_the_venues_flat_and_count_fills_once() -> None:
    threads_before = set(threading.enumerate())
    symbols_per_thread, n_threads = 5, 10
    venues = _venues(symbols_per_thread * n_threads)
    results: list[AtomicResult | CloseResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with Runner(venues) as runner:
        _wait_for_books(runner, symbols_per_thread * n_threads)
        start = threading.Barrier(n_threads)

        def bot(t: int) -> None:
            # Each thread trades its own symbols: five opens at once, then their five closes.
            try:
                mine = [f"S{t * symbols_per_thread + k}" for k in range(symbols_per_thread)]
                start.wait(timeout=30)
                opens = [
                    runner.open(_legs(s), SIZE, plan=EntryPlan.TAKER_BOTH, max_book_age_s=60.0)
                    for s in mine
                ]
                opened = [f.result(timeout=120) for f in opens]
                closes = [runner.close(_legs(s), **_CLOSE) for s in mine]
                closed = [f.result(timeout=120) for f in closes]
                with lock:
                    results.extend(opened)
                    results.extend(closed)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=bot, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=180)
        assert not errors, errors
        assert len(results) == 100
        opens = [r for r in results if isinstance(r, AtomicResult)]
        closes = [r for r in results if isinstance(r, CloseResult)]
        assert [r.status.value for r in opens] == ["opened"] * 50
        assert [r.status.value for r in closes] == ["closed"] * 50
        # The venues' own record of our fills, read on the loop.
        truth_fills = runner.submit(_venue_fills).result(timeout=30)
        counted = runner.fills()
        positions = runner.positions()
    # Positions net to zero: every venue flat, by the venues' own truth.
    assert positions == {"hl": {}, "aster": {}}
    assert all(not p for p in _truth(venues).values())
    assert not _resting(venues)
    # Every fill counted once (duplicated deliveries included), and none missing.
    keys = _fill_keys(counted)
    assert len(keys) == len(set(keys))
    assert sorted(keys, key=str) == sorted(_fill_keys(truth_fills), key=str)
    assert len(keys) >= 200  # two legs opened and closed, fifty times
    assert set(threading.enumerate()) - threads_before == set()
    assert runner.loop is not None and runner.loop.is_closed()


def test_operations_sharing_a_leg_run_one_after_another_in_the_order_submitted() -> None:
    """A bot that fires a close right after an open (without waiting), and a second open and a
    second close, from several threads: each waits for the earlier operation on its legs, so the
    closes flatten what the opens ended with instead of racing their hedges — the venues end
    flat by their own record. Operations on other legs are not held up."""
    venues = _venues(2)
    with Runner(venues) as runner:
        _wait_for_books(runner, 2)
        kw: dict[str, Any] = {"plan": EntryPlan.TAKER_BOTH, "max_book_age_s": 60.0}
        first = runner.open(_legs("S0"), SIZE, **kw)
        first_close = runner.close(_legs("S0"), **_CLOSE)
        other = runner.open(_legs("S1"), SIZE, **kw)  # another pair: not behind S0's queue
        again: list[Any] = []
        t = threading.Thread(target=lambda: again.append(runner.open(_legs("S0"), SIZE, **kw)))
        t.start()
        t.join(timeout=10)
        second_close = runner.close(_legs("S0"), **_CLOSE)
        ops = [f.result(timeout=120) for f in (first, first_close, again[0], second_close)]
        side = other.result(timeout=120)
        runner.close(_legs("S1"), **_CLOSE).result(timeout=120)
    assert [r.status.value for r in ops] == ["opened", "closed", "opened", "closed"]
    # one after another, in the order submitted
    for before, after in zip(ops, ops[1:]):
        assert after.started_ns >= before.ended_ns
    # the other pair ran alongside the first open, not after the S0 queue
    assert side.status.value == "opened"
    assert side.started_ns < ops[1].ended_ns
    assert all(not p for p in _truth(venues).values())
    assert not _resting(venues)


async def _venue_fills(sessions: Any) -> list[Any]:
    out: list[Any] = []
    for s in sessions.values():
        out.extend(await s.venue.fills())
    return out


# --------------------------------------------------------------------------------- delivery
@dataclass
class _Seen:
    threads: list[threading.Thread] = field(default_factory=list)
    events: list[RunnerEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: RunnerEvent) -> None:
        with self.lock:
            self.threads.append(threading.current_thread())
            self.events.append(event)


def _one_round_trip(runner: Runner, seen: _Seen, listener: _Seen) -> list[Any]:
    runner.add_listener(listener)
    _wait_for_books(runner, 1)
    opened = runner.open(_legs("S0"), SIZE, plan=EntryPlan.TAKER_BOTH, on_done=seen)
    first = opened.result(timeout=60)
    closed = runner.close(_legs("S0"), on_done=seen, **_CLOSE)
    return [first, closed.result(timeout=60)]


def test_loop_delivery_calls_back_on_the_runners_loop_thread() -> None:
    seen, listener = _Seen(), _Seen()
    with Runner(_venues(1)) as runner:
        out = _one_round_trip(runner, seen, listener)
        loop_thread = runner.loop_thread
        runner.submit(_noop).result(timeout=10)  # a loop turn: queued callbacks have run
    assert [r.status.value for r in out] == ["opened", "closed"]
    assert [type(e) for e in seen.events] == [OperationDone, OperationDone]
    assert [e.kind for e in seen.events if isinstance(e, OperationDone)] == ["open", "close"]
    assert loop_thread is not None
    assert set(seen.threads) == {loop_thread}
    assert any(isinstance(e, FillEvent) for e in listener.events)
    assert set(listener.threads) == {loop_thread}


async def _noop(_sessions: Any) -> None:
    return None


def test_executor_delivery_calls_back_on_the_callers_executor() -> None:
    seen, listener = _Seen(), _Seen()
    with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="bot-cb") as pool:
        with Runner(_venues(1), deliver=pool) as runner:
            out = _one_round_trip(runner, seen, listener)
        pool.shutdown(wait=True)  # every delivery submitted before the runner stopped has run
    assert [r.status.value for r in out] == ["opened", "closed"]
    assert len(seen.events) == 2
    assert all(t.name.startswith("bot-cb") for t in seen.threads + listener.threads)
    fills = [e for e in listener.events if isinstance(e, FillEvent)]
    assert len(fills) == len(runner.fills()) >= 4


def test_queue_delivery_runs_callbacks_on_the_thread_that_polls() -> None:
    seen, listener = _Seen(), _Seen()
    with Runner(_venues(1), deliver=Delivery.QUEUE) as runner:
        out = _one_round_trip(runner, seen, listener)
        assert not seen.events  # nothing runs until the bot polls
        polled: list[RunnerEvent] = []
        for _ in range(100):  # bounded: both completions are queued by now
            polled += runner.poll_events(timeout=0.1)
            if sum(isinstance(e, OperationDone) for e in polled) == 2:
                break
    polled += runner.poll_events()  # the last events, after the shutdown
    assert [r.status.value for r in out] == ["opened", "closed"]
    assert set(seen.threads) == {threading.main_thread()}
    assert set(listener.threads) == {threading.main_thread()}
    assert listener.events == polled
    assert len([e for e in polled if isinstance(e, FillEvent)]) == len(runner.fills())


def test_poll_events_needs_the_queue_mode() -> None:
    with Runner(_venues(1)) as runner, pytest.raises(RunnerError, match="QUEUE"):
        runner.poll_events()


# --------------------------------------------------------------------------------- shutdown
def _shutdown_midway(seed: int) -> None:
    """Opens (some resting, some taking) and closes in flight from several threads, and a
    shutdown at a seeded moment among them: every future settles, every open is refused,
    completed (hedged) or rolled back, no leg is left naked, no order rests, no thread or task
    is left."""
    rng = random.Random(seed)
    threads_before = set(threading.enumerate())
    symbols = 6
    venues = _venues(symbols, trade_rate=rng.choice([0.5, 5.0]))
    runner = Runner(venues).start()
    _wait_for_books(runner, symbols)
    futures: list[concurrent.futures.Future[Any]] = []
    flock = threading.Lock()
    stop_after = rng.randrange(0, 12)
    submitted = threading.Semaphore(0)
    refused: list[BaseException] = []

    def bot(t: int) -> None:
        # Each thread trades two symbols of its own, an operation on one waiting for the one
        # before it there (a close racing an open of the same pair is not what is tested here).
        brng = random.Random(seed * 31 + t)
        last: dict[str, concurrent.futures.Future[Any]] = {}
        for k in range(4):
            s = f"S{2 * t + k % 2}"
            if s in last:
                last[s].exception(timeout=120)
            try:
                if brng.random() < 0.7:
                    plan = brng.choice([EntryPlan.TAKER_BOTH, EntryPlan.MAKER_BOTH])
                    f: concurrent.futures.Future[Any] = runner.open(
                        [LegSpec("hl", s, Side.BUY), LegSpec("aster", s, Side.SELL)],
                        SIZE, plan=plan, entry_timeout_s=0.3, deadline_s=2.0,
                        max_book_age_s=60.0, settle_timeout_s=5.0,
                    )  # fmt: skip
                else:
                    f = runner.close(_legs(s), **_CLOSE)
            except RunnerClosedError as exc:
                refused.append(exc)
                submitted.release()
                return
            last[s] = f
            with flock:
                futures.append(f)
            submitted.release()
            time.sleep(brng.random() * 0.02)

    threads = [threading.Thread(target=bot, args=(t,)) for t in range(3)]
    for th in threads:
        th.start()
    for _ in range(stop_after):
        submitted.acquire(timeout=30)
    runner.shutdown(timeout=60)
    for th in threads:
        th.join(timeout=30)
    assert runner.unfinished == []
    # Every future is settled: a result (refused, opened, rolled back, closed, ...) or an error
    # the operation itself raised; none is left pending.
    outcomes = []
    for f in futures:
        assert f.done()
        outcomes.append(f.result(timeout=0))
    for r in outcomes:
        if isinstance(r, AtomicResult):
            assert r.status.value in ("opened", "partial", "not_filled", "rolled_back", "refused")
            if r.status.value == "refused" and r.reason is not None and "kill" in r.reason:
                assert SHUTDOWN_REASON in r.reason
                assert all(leg.filled == 0 for leg in r.legs)
        else:
            assert r.status.value in ("closed", "nothing_to_close")
    # No naked leg: per symbol, what one venue holds the other holds the opposite of.
    truth = _truth(venues)
    for i in range(symbols):
        s = f"S{i}"
        net = truth["hl"].get(s, Decimal(0)) + truth["aster"].get(s, Decimal(0))
        assert net == 0, (s, truth)
    assert not _resting(venues)
    assert set(threading.enumerate()) - threads_before == set()
    loop = runner.loop
    assert loop is not None and loop.is_closed()
    assert not [t for t in asyncio.all_tasks(loop) if not t.done()]


@pytest.mark.parametrize("seed", range(8))
def test_shutdown_at_any_moment_settles_every_operation_and_leaves_no_naked_leg(
    seed: int,
) -> None:
    _shutdown_midway(seed)


def test_shutdown_refuses_opens_that_have_not_started() -> None:
    """A burst of opens on two pairs, then a shutdown, all queued while the loop is held: the
    first open of each pair starts; the others wait behind it (operations sharing a leg run one
    after another) and have not started when the shutdown begins, so the kill switch refuses
    them, nothing placed for them."""
    venues = _venues(2, trade_rate=0.0)
    runner = Runner(venues).start()
    _wait_for_books(runner, 2)
    release = threading.Event()

    async def hold(_sessions: Any) -> None:
        release.wait(10)  # holds the loop (on purpose) while the burst and the stop queue up

    held = runner.submit(hold)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    futures = [
        runner.open(_legs(f"S{i % 2}"), SIZE, plan=EntryPlan.MAKER_BOTH, entry_timeout_s=0.2)
        for i in range(12)
    ]
    runner.shutdown(timeout=60)
    timer.join()
    held.result(timeout=0)
    results = [f.result(timeout=0) for f in futures]
    statuses = [r.status.value for r in results]
    refused = [r for r in results if r.status.value == "refused"]
    assert statuses[:2] == ["not_filled"] * 2, statuses
    assert len(refused) == 10, statuses
    assert all(r.reason is not None and SHUTDOWN_REASON in r.reason for r in refused)
    assert all(leg.filled == 0 for r in refused for leg in r.legs)
    assert not _resting(venues)


def test_a_shutdown_timeout_cancels_what_is_still_running_and_says_so() -> None:
    venues = _venues(1, trade_rate=0.0)  # no outside flow: a resting entry never fills
    runner = Runner(venues).start()
    _wait_for_books(runner, 1)
    fut = runner.open(_legs("S0"), SIZE, plan=EntryPlan.MAKER_BOTH, entry_timeout_s=60.0)
    with pytest.raises(RunnerClosedError, match="may be exposed"):
        runner.shutdown(timeout=0.3)
    assert runner.unfinished == ["open"]
    with pytest.raises(RunnerClosedError, match="cancelled"):
        fut.result(timeout=0)
    runner.shutdown()  # again: nothing more to do, and the report was given once
    assert runner.loop is not None and runner.loop.is_closed()


# --------------------------------------------------------------------------------- errors
def test_errors_inside_the_loop_reach_the_caller_through_the_future() -> None:
    with Runner(_venues(1)) as runner:
        _wait_for_books(runner, 1)
        unknown = runner.open(
            [LegSpec("hl", "S0", Side.BUY), LegSpec("nowhere", "S0", Side.SELL)], SIZE
        )
        with pytest.raises(KeyError):
            unknown.result(timeout=30)
        one_leg = runner.open([LegSpec("hl", "S0", Side.BUY)], SIZE)
        assert isinstance(one_leg.exception(timeout=30), ValueError)

        async def boom(_sessions: Any) -> None:
            raise ZeroDivisionError("inside the loop")

        with pytest.raises(ZeroDivisionError, match="inside the loop"):
            runner.submit(boom).result(timeout=30)
        # A bad option is the caller's mistake: raised at once, nothing submitted.
        with pytest.raises(TypeError):
            runner.open(_legs("S0"), SIZE, no_such_option=1)
        with pytest.raises(ValueError):
            runner.open(_legs("S0"), SIZE, deadline_s=-1.0)
        # The runner still works after all of them.
        ok = runner.open(_legs("S0"), SIZE, plan=EntryPlan.TAKER_BOTH).result(timeout=60)
        assert ok.status.value == "opened"
        assert runner.close(_legs("S0"), **_CLOSE).result(timeout=60).status.value == "closed"


def test_a_venue_that_fails_to_start_is_raised_by_start_and_nothing_is_left() -> None:
    threads_before = set(threading.enumerate())

    def broken() -> list[SimVenue]:
        raise OSError("cannot reach the venue")

    runner = Runner(broken)
    with pytest.raises(OSError, match="cannot reach"):
        runner.start()
    assert set(threading.enumerate()) - threads_before == set()
    with pytest.raises(RunnerClosedError):
        runner.open(_legs("S0"), SIZE)


def test_use_before_start_and_after_shutdown_raises() -> None:
    runner = Runner(_venues(1))
    with pytest.raises(RunnerError, match="not started"):
        runner.open(_legs("S0"), SIZE)
    runner.start()
    runner.shutdown()
    for call in (
        lambda: runner.open(_legs("S0"), SIZE),
        lambda: runner.close(_legs("S0")),
        lambda: runner.positions(),
        lambda: runner.submit(_noop),
    ):
        with pytest.raises(RunnerClosedError):
            call()
    with pytest.raises(RunnerClosedError):
        runner.start()


def test_blocking_calls_on_the_loop_thread_raise_instead_of_deadlocking() -> None:
    caught: list[BaseException] = []

    def on_done(event: RunnerEvent) -> None:  # runs on the loop thread
        assert isinstance(event, OperationDone)
        for call in (
            runner.positions,
            runner.shutdown,
            pending.result,
            lambda: pending.exception(timeout=1),
        ):
            try:
                call()
            except RunnerThreadError as exc:
                caught.append(exc)

    venues = _venues(2, trade_rate=0.0)
    with Runner(venues) as runner:
        _wait_for_books(runner, 2)
        # An open that rests (no outside flow) while the callback runs: its future is pending.
        pending = runner.open(_legs("S0"), SIZE, plan=EntryPlan.MAKER_BOTH, entry_timeout_s=1.0)
        runner.submit(_noop).result(timeout=10)
        # a close on other legs (one on S0 would wait for the open: they share legs)
        done = runner.close(_legs("S1"), on_done=on_done, **_CLOSE)
        done.result(timeout=60)
        runner.submit(_noop).result(timeout=10)  # the callback has run
        assert pending.result(timeout=60).status.value == "not_filled"  # fine from here
    assert len(caught) == 4


def test_concurrent_shutdowns_from_several_threads_are_one_shutdown() -> None:
    runner = Runner(_venues(1)).start()
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            runner.shutdown(timeout=30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=stop) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors
    assert runner.loop is not None and runner.loop.is_closed()


# --------------------------------------------------------------------------------- example
def test_the_sync_bot_example_opens_holds_and_closes_a_pair() -> None:
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(Path(hedgekit.__file__).resolve().parent.parent))
    run = subprocess.run(
        [sys.executable, str(root / "examples" / "sync_bot.py")],
        capture_output=True, text=True, timeout=120, env=env, cwd=root,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "open: opened 0.5" in out
    assert "close: closed" in out
    assert "positions at the end: {'hyperliquid': {}, 'aster': {}}" in out
    assert out.rstrip().endswith("result: ok")
    # Opened when the spread paid, not before: the first line shows a spread too small to trade.
    assert out.index("spread +8.8%/yr") < out.index("open: ")
    source = (root / "examples" / "sync_bot.py").read_text(encoding="utf-8")
    assert not re.search(r"\b(async|await)\b|import asyncio", source)


def test_the_loop_comes_from_the_factory_given_else_uvloop() -> None:
    import uvloop

    made: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    with Runner(_venues(1), loop_factory=factory) as plain:
        _wait_for_books(plain, 1)
        assert plain.loop is made[0]
        assert not isinstance(plain.loop, uvloop.Loop)
    with Runner(_venues(1)) as default:
        _wait_for_books(default, 1)
        assert isinstance(default.loop, uvloop.Loop)


def test_a_journal_given_by_url_records_every_operation_and_is_closed_at_shutdown(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    with Runner(_venues(1), journal=url) as runner:
        _wait_for_books(runner, 1)
        opened = runner.open(_legs("S0"), SIZE, plan=EntryPlan.TAKER_BOTH).result(timeout=60)
        closed = runner.close(_legs("S0"), **_CLOSE).result(timeout=60)

        async def read(_sessions: Any) -> list[tuple[str, str]]:
            return [(op.kind, op.status) for op in await runner.journal.operations()]

        recorded = runner.submit(read).result(timeout=30)
    assert (opened.status.value, closed.status.value) == ("opened", "closed")
    assert recorded == [("open", "opened"), ("close", "closed")]
    # Closed by the shutdown: the same file opens again, read-only, with both operations.
    from hedgekit.clock import run_virtual
    from hedgekit.journal import open_journal

    async def reread() -> int:
        async with await open_journal(url, read_only=True) as again:
            return len(await again.operations())

    assert run_virtual(reread()) == 2


def test_a_virtual_time_loop_runs_the_default_configurations_in_moments() -> None:
    """Maker entries and a passive close (the defaults) wait for outside flow, seconds of venue
    time: on a virtual-time loop they run to their end without the wall-clock wait."""
    from hedgekit.clock import VirtualTimeLoop
    from hedgekit.demo import demo_venues

    legs = [LegSpec("aster", "ETHUSDT", Side.BUY), LegSpec("hyperliquid", "ETH", Side.SELL)]
    venues = [SimVenue(cfg) for cfg in demo_venues(seed=1, duration_s=60)]
    with Runner(venues, loop_factory=VirtualTimeLoop) as runner:
        opened = runner.open(legs, Decimal("0.5")).result(timeout=60)
        closed = runner.close(legs).result(timeout=60)
        positions = runner.positions()
    assert (opened.status.value, closed.status.value) == ("opened", "closed")
    assert positions == {"hyperliquid": {}, "aster": {}}


def test_a_loop_factory_that_fails_is_a_runner_error_from_start() -> None:
    def broken() -> asyncio.AbstractEventLoop:
        raise RuntimeError("no loop today")

    runner = Runner(_venues(1), loop_factory=broken)
    with pytest.raises(RunnerError, match="no loop today"):
        runner.start()
    with pytest.raises(RunnerClosedError):
        runner.open(_legs("S0"), SIZE)


def test_an_error_in_the_with_block_is_the_one_raised_and_the_runner_still_shuts_down() -> None:
    with pytest.raises(LookupError, match="the bot's own"), Runner(_venues(1)) as runner:
        raise LookupError("the bot's own error")
    with pytest.raises(RunnerClosedError):
        runner.open(_legs("S0"), SIZE)
    assert runner.loop is not None and runner.loop.is_closed()


_MADE_ON: list[threading.Thread] = []


def _factory() -> list[SimVenue]:
    _MADE_ON.append(threading.current_thread())
    return _venues(1)


async def _async_factory() -> dict[str, SimVenue]:
    _MADE_ON.append(threading.current_thread())
    return {v.name: v for v in _venues(1)}


@pytest.mark.parametrize(
    ("source", "factory"),
    [
        (lambda: {v.name: v for v in _venues(1)}, False),
        (lambda: _venues(1), False),
        (lambda: _factory, True),
        (lambda: _async_factory, True),
    ],
    ids=["mapping", "list", "factory", "async-factory"],
)
def test_venues_come_as_a_mapping_a_list_or_a_factory_called_on_the_loop(
    source: Callable[[], Any], factory: bool
) -> None:
    _MADE_ON.clear()
    with Runner(source()) as runner:
        _wait_for_books(runner, 1)
        assert sorted(runner.venues) == ["aster", "hl"]
        assert _MADE_ON == ([runner.loop_thread] if factory else [])
