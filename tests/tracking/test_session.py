"""Tests of the async driver against an in-test fake venue, in virtual time."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from tracking_factories import fill, request

from hedgekit import FillLedger, OrderBook
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import OrderRejectedError, RateLimitedError, VenueTimeoutError
from hedgekit.model import (
    CancelResult,
    Fill,
    FundingRate,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderStatusReport,
    OrderUpdate,
    Position,
    StreamStatus,
    VenueEvent,
)
from hedgekit.tracking import ReconcileConfig, TrackedOrder, TrackedState, VenueSession
from hedgekit.venues.base import InstrumentInfo, Quote

NAME = "sim-a"
S = 1_000_000_000


class FakeStream:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        self.closed = False

    def __aiter__(self) -> AsyncIterator[VenueEvent]:
        return self

    async def __anext__(self) -> VenueEvent:
        return await self.queue.get()

    async def get(self, timeout: float | None = None) -> VenueEvent | None:
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        self.closed = True


class FakeVenue:
    """Keeps the venue's truth; behaviours are switched per test."""

    def __init__(self) -> None:
        self.streams: list[FakeStream] = []
        self.reports: dict[str, OrderStatusReport] = {}
        self.venue_fills: list[Fill] = []
        self.venue_positions: dict[str, Position] = {}
        self.place_hook: Callable[[OrderRequest], Awaitable[None]] | None = None
        self.cancel_hook: Callable[[str], Awaitable[CancelResult]] | None = None
        self.status_delay = 0.0
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return NAME

    @property
    def supports_modify(self) -> bool:
        return False

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def instruments(self) -> Mapping[str, InstrumentInfo]:
        return {}

    def book(self, symbol: str) -> OrderBook:
        raise KeyError(symbol)

    def quote(self, symbol: str) -> Quote | None:
        return None

    def set_status(self, req: OrderRequest, status: OrderStatus, filled: str = "0",
                   fills: tuple[Fill, ...] = ()) -> None:  # fmt: skip
        self.reports[req.client_id] = OrderStatusReport(
            NAME, req.symbol, req.client_id, "v-" + req.client_id, req.side, req.size, req.price,
            status, Decimal(filled), None, 0, fills=fills,
        )  # fmt: skip

    async def place(self, request: OrderRequest) -> OrderAck:
        self.calls.append("place")
        self.set_status(request, OrderStatus.OPEN)
        if self.place_hook is not None:
            await self.place_hook(request)
        return OrderAck(request.client_id, "v-" + request.client_id, OrderStatus.OPEN,
                        Decimal(0), 0)  # fmt: skip

    async def cancel(self, symbol: str, *, client_id: str | None = None,
                     venue_order_id: str | None = None) -> CancelResult:  # fmt: skip
        self.calls.append("cancel")
        assert client_id is not None and self.cancel_hook is not None
        return await self.cancel_hook(client_id)

    async def modify(self, symbol: str, client_id: str, *, price: Decimal,
                     size: Decimal) -> OrderAck:  # fmt: skip
        raise NotImplementedError

    async def order_status(self, symbol: str, *, client_id: str | None = None,
                           venue_order_id: str | None = None) -> OrderStatusReport | None:  # fmt: skip
        self.calls.append(f"status {client_id}")
        await asyncio.sleep(self.status_delay)
        assert client_id is not None
        return self.reports.get(client_id)

    async def fills(self, symbol: str | None = None, *, since_ns: int = 0) -> list[Fill]:
        self.calls.append(f"fills {symbol}")
        return [f for f in self.venue_fills if symbol in (None, f.symbol)]

    async def positions(self) -> dict[str, Position]:
        self.calls.append("positions")
        return dict(self.venue_positions)

    async def funding_rates(self) -> dict[str, FundingRate]:
        return {}

    def events(self) -> FakeStream:
        stream = FakeStream()
        self.streams.append(stream)
        return stream

    def push(self, event: VenueEvent) -> None:
        for s in self.streams:
            s.queue.put_nowait(event)


def _session(venue: FakeVenue, **kw: Any) -> VenueSession:
    return VenueSession(venue, FillLedger(), LoopClock(), **kw)


def _filled(o: TrackedOrder) -> bool:
    return o.state is TrackedState.FILLED


def test_place_timeout_unconfirmed_then_status_then_fill() -> None:
    async def main() -> None:
        venue = FakeVenue()

        async def hang(_: OrderRequest) -> None:
            await asyncio.sleep(3600)  # accepted, but the answer never comes

        venue.place_hook = hang
        session = _session(venue)
        seen: list[tuple[Fill, TrackedOrder]] = []
        session.add_fill_listener(lambda f, o: seen.append((f, o)))
        await session.start()
        order = await session.place(request())
        assert order.state is TrackedState.UNCONFIRMED
        opened = await session.wait("c1", lambda o: o.state is TrackedState.OPEN, timeout=5)
        assert opened.venue_order_id == "v-c1"
        venue.push(fill())
        done = await session.wait("c1", _filled, timeout=5)
        assert done.filled == 1 and len(seen) == 1 and seen[0][1].state is TrackedState.FILLED
        assert session.expected_positions() == {"BTC": Decimal(1)}
        await session.close()

    run_virtual(main(), max_virtual_s=60)


def test_stream_drop_and_reconnect_fetches_missed_fills() -> None:
    async def main() -> None:
        venue = FakeVenue()
        session = _session(venue)
        await session.start()
        req = request()
        assert (await session.place(req)).state is TrackedState.OPEN
        venue.push(StreamStatus(NAME, False, 0))
        await asyncio.sleep(1)
        missed = fill(size="1")
        venue.venue_fills.append(missed)  # happened while the stream was down
        venue.set_status(req, OrderStatus.FILLED, "1")  # the report lists no fills
        venue.push(StreamStatus(NAME, True, 0))
        done = await session.wait("c1", _filled, timeout=5)
        assert done.fill_count == 1
        assert "fills None" in venue.calls and "status c1" in venue.calls
        venue.push(missed)  # the stream replays it later: not counted again
        venue.push(OrderUpdate(NAME, "BTC", "c1", "v-c1", OrderStatus.FILLED, Decimal(1), 0))
        await asyncio.sleep(1)
        assert session.tracker.order("c1").fill_count == 1
        assert venue.calls.count("positions") >= 2  # initial, then the reconnect trigger
        await session.close()

    run_virtual(main(), max_virtual_s=60)


def test_close_leaves_no_task_running() -> None:
    async def main() -> None:
        venue = FakeVenue()
        venue.status_delay = 1000  # queries hang until the session's timeout
        session = _session(venue)
        await session.start()
        venue.push(StreamStatus(NAME, False, 0))
        await session.place(request())
        venue.push(StreamStatus(NAME, True, 0))
        await asyncio.sleep(0.5)
        assert session.running_tasks >= 2
        await session.close()
        assert session.running_tasks == 0
        assert venue.streams[0].closed
        assert asyncio.all_tasks() == {asyncio.current_task()}

    run_virtual(main(), max_virtual_s=60)


def test_definitive_rejection_raises_after_recording() -> None:
    async def main() -> None:
        venue = FakeVenue()

        async def reject(_: OrderRequest) -> None:
            raise OrderRejectedError(NAME, "too small", reason="min_size")

        venue.place_hook = reject
        session = _session(venue)
        await session.start()
        await asyncio.sleep(0.2)  # initial positions fetch
        with pytest.raises(OrderRejectedError):
            await session.place(request())
        assert session.tracker.order("c1").state is TrackedState.REJECTED
        await asyncio.sleep(1.5)
        assert venue.calls.count("positions") == 2  # initial + the rejection trigger
        await session.close()

    run_virtual(main(), max_virtual_s=60)


def test_ambiguous_cancel_is_resolved_by_a_status_query() -> None:
    async def main() -> None:
        venue = FakeVenue()
        session = _session(venue)
        await session.start()
        req = request()
        await session.place(req)

        async def lost(_: str) -> CancelResult:
            raise VenueTimeoutError(NAME, "no answer")

        venue.cancel_hook = lost
        venue.set_status(req, OrderStatus.FILLED, "1", fills=(fill(),))
        assert await session.cancel("c1") is CancelResult.ALREADY_FILLED
        assert session.tracker.order("c1").state is TrackedState.FILLED
        assert await session.cancel("c1") is CancelResult.ALREADY_FILLED  # answered locally
        assert venue.calls.count("cancel") == 1
        await session.close()

    run_virtual(main(), max_virtual_s=60)


def test_cancel_already_filled_keeps_tracking_until_fill() -> None:
    async def main() -> None:
        venue = FakeVenue()
        session = _session(venue)
        await session.start()
        await session.place(request())

        async def already(_: str) -> CancelResult:
            return CancelResult.ALREADY_FILLED

        venue.cancel_hook = already
        assert await session.cancel("c1") is CancelResult.ALREADY_FILLED
        assert not session.tracker.order("c1").is_terminal
        venue.push(fill())
        assert (await session.wait("c1", _filled, timeout=2)).filled == 1
        await session.close()

    run_virtual(main(), max_virtual_s=60)


def test_position_mismatch_is_recorded_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        venue = FakeVenue()
        session = _session(venue, reconcile=ReconcileConfig(interval_ns=5_000_000_000))
        await session.start()
        await asyncio.sleep(0.2)  # initial snapshot: flat
        await session.place(request())
        venue.push(fill())
        await session.wait("c1", _filled, timeout=2)
        venue.venue_positions = {"BTC": Position(NAME, "BTC", Decimal(2), None, None, 0)}
        await asyncio.sleep(6)  # the periodic fetch
        [m] = session.last_mismatches
        assert (m.symbol, m.expected, m.actual, m.difference) == ("BTC", 1, 2, 1)
        venue.venue_positions["BTC"] = Position(NAME, "BTC", Decimal(1), None, None, 0)
        assert await session.reconcile_now("manual") == []
        await session.close()

    with caplog.at_level(logging.WARNING, logger="hedgekit.tracking"):
        run_virtual(main(), max_virtual_s=60)
    assert any("position mismatch on BTC" in r.getMessage() for r in caplog.records)


def test_wait_times_out_and_failures_do_not_kill_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        venue = FakeVenue()
        session = _session(venue)

        def broken(_f: Fill, _o: TrackedOrder) -> None:
            raise RuntimeError("listener bug")

        session.add_fill_listener(broken)
        await session.start()
        await session.place(request(size="2"))
        with pytest.raises(TimeoutError):
            await session.wait("c1", _filled, timeout=1)
        venue.push(fill(trade_id=1))
        venue.push(fill(trade_id=2))
        assert (await session.wait("c1", _filled, timeout=1)).fill_count == 2
        await session.close()

    with caplog.at_level(logging.ERROR, logger="hedgekit.tracking"):
        run_virtual(main(), max_virtual_s=60)
    assert sum("fill listener failed" in r.getMessage() for r in caplog.records) == 2


def test_a_fill_listener_for_one_order_hears_only_that_order() -> None:
    async def main() -> None:
        venue = FakeVenue()
        session = _session(venue)
        await session.start()
        heard: dict[str, list[str]] = {"a": [], "b": [], "all": []}
        a, b = request("a", "1"), request("b", "1")
        for r in (a, b):
            await session.place(r)
        session.add_fill_listener(lambda f, o: heard["a"].append(f.client_id), client_id="a")
        session.add_fill_listener(lambda f, o: heard["b"].append(f.client_id), client_id="b")
        session.add_fill_listener(lambda f, o: heard["all"].append(f.client_id))
        venue.push(fill("a", 1, "0.4"))
        venue.push(fill("b", 2, "0.5"))
        venue.push(fill("a", 3, "0.6"))
        await asyncio.sleep(0.1)
        assert heard == {"a": ["a", "a"], "b": ["b"], "all": ["a", "b", "a"]}
        # Waits that time out leave nothing behind, whatever the number of orders waited on.
        for cid in ("a", "b"):
            with pytest.raises(TimeoutError):
                await session.wait(cid, lambda o: False, timeout=0.05)
        assert session._order_events == {}
        await session.close()

    run_virtual(main())


def test_positions_fetches_held_back_by_the_session_itself_do_not_widen_its_pacing() -> None:
    """The venue refuses one positions fetch with a ban of ten seconds: the session holds every
    request back until it is over, and the reconciler's retries meanwhile (one a second) are
    refused by the session itself, never sent. Those are no refusals of the venue's: once the
    ban is over the session's requests are spaced as that one refusal asks (a tenth of a
    second), not five seconds apart (which kept a venue that answered again barely asked for a
    minute and more after a ban: sweep seed 7288)."""

    async def main() -> None:
        venue = FakeVenue()
        answer = venue.positions
        refused: list[str] = []

        async def positions() -> dict[str, Position]:
            if not refused:
                refused.append("positions")
                raise RateLimitedError(NAME, "Too many requests", 418, 10.0)
            return await answer()

        venue.positions = positions  # type: ignore[method-assign]
        session = _session(venue)
        await session.start()
        await asyncio.sleep(12)  # the ban, and the reconciler's retries held back meanwhile
        assert refused and session.backoff_s() == 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(4):
            await session.place(request(f"p{i}"))
        assert loop.time() - started < 1.0
        await session.close()

    run_virtual(main(), max_virtual_s=60)


@pytest.mark.parametrize(
    ("window", "grace"),
    [(None, 5), (0, 5), (2, 5), (4, 5), (8, 9), (600, 601), ("4", 5), (-3, 5)],
)
def test_a_venues_placement_window_lengthens_the_wait_before_not_found_is_believed(
    window: object, grace: int
) -> None:
    # Until a placement's deadline (plus a margin for clocks) has passed, a venue's "no such
    # order" may describe a request still on its way: the session believes it only after.
    class Stamping(FakeVenue):
        placement_window_ns = window if not isinstance(window, int) else window * S

    from hedgekit.tracking import PLACEMENT_WINDOW_MARGIN_NS, placement_grace_ns

    assert PLACEMENT_WINDOW_MARGIN_NS == S
    assert placement_grace_ns(Stamping(), 5 * S) == grace * S  # type: ignore[arg-type]
    session = VenueSession(Stamping(), FillLedger(), LoopClock())  # type: ignore[arg-type]
    assert session.tracker.config.not_found_grace_ns == grace * S


def _collections_during_a_fill(*, pause: bool | None, collector_on: bool = True,
                               raises: bool = False) -> tuple[int, int, bool]:  # fmt: skip
    """Places an order, delivers a fill whose listener allocates enough cyclic garbage to make
    the collector due several times over, and returns how many collections started while the
    listener ran, how many started afterwards (within the same test), and whether the collector
    was on once the session was closed."""
    inside = [False]
    during: list[int] = []
    after: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            (during if inside[0] else after).append(info["generation"])

    def listener(f: Fill, o: TrackedOrder) -> None:
        inside[0] = True
        try:
            for _ in range(3 * gc.get_threshold()[0]):
                cycle: list[Any] = []
                cycle.append(cycle)
            if raises:
                raise RuntimeError("a listener that fails")
        finally:
            inside[0] = False

    async def main() -> bool:
        venue = FakeVenue()
        kw = {} if pause is None else {"pause_collector": pause}
        session = _session(venue, **kw)
        session.add_fill_listener(listener)
        await session.start()
        await session.place(request())
        venue.push(fill())
        await session.wait("c1", _filled, timeout=5)
        for _ in range(3 * gc.get_threshold()[0]):  # the collector is due again after it
            cycle: list[Any] = []
            cycle.append(cycle)
        await session.close()
        return gc.isenabled()

    was_on = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    gc.callbacks.append(watch)
    try:
        on_after = run_virtual(main())
    finally:
        gc.callbacks.remove(watch)
        (gc.enable if was_on else gc.disable)()
    return len(during), len(after), on_after


@pytest.mark.parametrize("raises", [False, True])
def test_no_garbage_collection_runs_inside_the_handling_of_a_fill(raises: bool) -> None:
    during, after, on = _collections_during_a_fill(pause=None, raises=raises)
    assert during == 0  # what the listener made due is collected once it has returned
    assert after > 0 and on


def test_with_the_pause_off_the_collector_runs_when_it_is_due() -> None:
    during, _after, on = _collections_during_a_fill(pause=False)
    assert during > 0 and on


def test_a_collector_switched_off_by_the_process_stays_off() -> None:
    during, after, on = _collections_during_a_fill(pause=None, collector_on=False)
    assert (during, after, on) == (0, 0, False)
