"""The operation recorder when the journal fails: an ordered backlog retried with backoff, the
rule for orders sent after a failure, every wait bounded, and the result written last or not at
all."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from hedgekit.clock import run_virtual
from hedgekit.execution.recorder import (
    REDUCING_ROLES,
    JournalWriteError,
    OperationRecorder,
    RecorderPolicy,
    replay,
)
from hedgekit.journal import JournalError
from hedgekit.model import OrderRequest, Side

D = Decimal


class StubJournal:
    """Takes writes in memory. ``fail`` decides, per write attempt, whether it fails (raises) or
    ``hang`` whether it never answers."""

    def __init__(self) -> None:
        self.events: list[tuple[str | None, str, dict[str, Any]]] = []
        self.finished: dict[str, tuple[str, dict[str, Any]]] = {}
        self.attempts = 0
        self.fail: Any = lambda event, data: False
        self.hang: Any = lambda event, data: False
        self.attempt_times: list[float] = []

    async def _attempt(self, event: str, data: dict[str, Any]) -> None:
        self.attempts += 1
        self.attempt_times.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        if self.hang(event, data):
            await asyncio.sleep(3600)
        if self.fail(event, data):
            raise JournalError("journal storage error: could not connect to server")

    async def start_operation(
        self,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        *,
        op_id: str | None = None,
        ts_ns: int | None = None,
    ) -> str:
        await self._attempt("start", {})
        return "op1"

    async def record(
        self, op_id: str | None, event: str, data: dict[str, Any], *, ts_ns: int | None = None
    ) -> int:
        await self._attempt(event, data)
        if data.get("bad"):
            raise ValueError("cannot journal a value of type object")
        self.events.append((op_id, event, data))
        return len(self.events)

    async def finish_operation(
        self, op_id: str, status: str, result: dict[str, Any], *, ts_ns: int | None = None
    ) -> None:
        await self._attempt("result", result)
        self.finished[op_id] = (status, result)

    def kinds(self) -> list[str]:
        return [e for _, e, _ in self.events]


def _req(cid: str, *, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest("ETH", Side.BUY, D("1"), D("2400"), cid, reduce_only=reduce_only)


POLICY = RecorderPolicy(
    write_timeout_s=2.0,
    attempts=3,
    backoff_s=0.1,
    max_backoff_s=0.4,
    safety_wait_s=0.5,
    flush_timeout_s=10.0,
)


async def _recorder(journal: StubJournal, policy: RecorderPolicy = POLICY) -> OperationRecorder:
    return await OperationRecorder.start(journal, "open", [], {}, policy=policy)


def test_an_order_is_written_before_order_returns() -> None:
    async def main() -> tuple[list[str], list[str]]:
        j = StubJournal()
        rec = await _recorder(j)
        rec.add("note", {"n": 1})
        await rec.order("hl", _req("hke-1"), "entry")
        at_send = j.kinds()
        rec.add("note", {"n": 2})
        await rec.finish("opened", {"status": "opened"})
        return at_send, j.kinds()

    at_send, kinds = run_virtual(main())
    assert at_send == ["note", "order"]  # written ahead, in order with what came before
    assert kinds == ["note", "order", "note"]


def test_a_failed_write_is_kept_and_retried_in_order_with_backoff() -> None:
    async def main() -> tuple[StubJournal, OperationRecorder]:
        j = StubJournal()
        fails = iter([True, True, False])
        j.fail = lambda event, data: event == "fill" and data["n"] == 1 and next(fails)
        rec = await _recorder(j)
        for n in range(1, 4):
            rec.add("fill", {"n": n})
        await rec.finish("opened", {"status": "opened"})
        return j, rec

    j, rec = run_virtual(main())
    assert [d["n"] for _, e, d in j.events if e == "fill"] == [
        1,
        2,
        3,
    ]  # order kept, none lost or doubled
    assert rec.failed is not None
    # The journal caught up: a note says so, and the operation finished normally.
    assert j.events[-1][1] == "note" and j.events[-1][2]["journal"] == "caught up"
    assert j.finished["op1"][0] == "opened"
    gaps = [
        round(b - a, 2) for a, b in zip(j.attempt_times[1:4], j.attempt_times[2:5], strict=False)
    ]
    assert gaps[:2] == [0.1, 0.2]  # exponential backoff between tries


def test_after_a_failure_entries_are_refused_and_reducing_orders_go_out_at_once() -> None:
    async def main() -> dict[str, Any]:
        j = StubJournal()
        j.fail = lambda event, data: event != "start"
        rec = await _recorder(j)
        failures: list[BaseException] = []
        rec.add_failure_listener(failures.append)
        out: dict[str, Any] = {}
        loop = asyncio.get_running_loop()
        try:
            await rec.order("hl", _req("hke-1"), "entry")
        except JournalWriteError as exc:
            out["entry"] = exc
        out["backlog_after_entry"] = rec.unwritten()
        t0 = loop.time()
        for role in sorted(REDUCING_ROLES):
            await rec.order("aster", _req(f"hk{role[0]}-9"), role)
        await rec.order("aster", _req("hkx-10", reduce_only=True), "order")  # reduce-only: reducing
        out["reducing_took"] = loop.time() - t0
        try:
            await rec.order("aster", _req("hkx-11"), "order")
        except JournalWriteError as exc:
            out["other"] = exc
        with pytest.raises(JournalWriteError) as info:
            await rec.finish("opened", {"status": "opened"})
        out["finish"] = info.value
        out["failures"] = failures
        out["finished"] = dict(j.finished)
        return out

    out = run_virtual(main())
    assert out["entry"].result is None and "entry order hke-1 not sent" in str(out["entry"])
    assert out["backlog_after_entry"] == ()  # the refused entry's record was withdrawn
    assert "other" in out  # a role that may add exposure is refused too
    assert out["reducing_took"] < 0.05  # no waiting once the journal is known to be down
    left = out["finish"].unwritten
    sent = [r["data"]["client_id"] for r in left if r["event"] == "order"]
    assert len(sent) == len(REDUCING_ROLES) + 1 and "hke-1" not in sent and "hkx-11" not in sent
    assert left[-1]["event"] == "result"
    assert out["finished"] == {}  # no result before the records it follows
    assert len(out["failures"]) == 1


def _slow(j: StubJournal, seconds: float) -> None:
    async def record(
        op_id: str | None, event: str, data: dict[str, Any], *, ts_ns: int | None = None
    ) -> int:
        await asyncio.sleep(seconds)  # answers, but slowly
        j.events.append((op_id, event, data))
        return len(j.events)

    j.record = record  # type: ignore[method-assign]


def test_a_slow_journal_holds_a_hedge_back_at_most_the_safety_wait() -> None:
    async def main() -> tuple[float, float, list[str], BaseException | None]:
        j = StubJournal()
        _slow(j, 0.8)
        rec = await _recorder(j)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await rec.order("aster", _req("hkl-1"), "hedge")
        hedge = loop.time() - t0
        t0 = loop.time()
        await rec.order("hl", _req("hke-2"), "entry")
        entry = loop.time() - t0
        await rec.finish("opened", {})
        return hedge, entry, j.kinds(), rec.failed

    hedge, entry, kinds, failed = run_virtual(main())
    assert hedge == pytest.approx(0.5)  # sent after the safety wait; its record followed
    assert entry == pytest.approx(0.8 + 0.8 - 0.5)  # an entry waits for its own record
    assert kinds == ["order", "order"] and failed is None


def test_an_entry_whose_record_takes_longer_than_a_write_may_is_not_sent() -> None:
    async def main() -> JournalWriteError:
        j = StubJournal()
        _slow(j, 3.0)
        rec = await _recorder(j)
        with pytest.raises(JournalWriteError) as info:
            await rec.order("hl", _req("hke-1"), "entry")
        await rec.close()
        return info.value

    err = run_virtual(main())
    assert "no answer in 2.0 s" in str(err) and err.result is None


def test_a_journal_that_never_answers_is_abandoned_within_the_bounds() -> None:
    async def main() -> tuple[float, JournalWriteError]:
        j = StubJournal()
        j.hang = lambda event, data: event != "start"
        rec = await _recorder(j)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        rec.add("fill", {"n": 1})
        await rec.order("aster", _req("hkl-1"), "hedge")
        with pytest.raises(JournalWriteError) as info:
            await rec.finish("opened", {"status": "opened"})
        return loop.time() - t0, info.value

    took, err = run_virtual(main())
    assert (
        took
        <= POLICY.safety_wait_s
        + 3 * (POLICY.write_timeout_s + POLICY.max_backoff_s)
        + POLICY.flush_timeout_s
    )
    assert [r["event"] for r in err.unwritten] == ["fill", "order", "result"]


def test_a_record_the_journal_refuses_does_not_hold_back_the_others() -> None:
    async def main() -> tuple[StubJournal, OperationRecorder]:
        j = StubJournal()
        rec = await _recorder(j)
        rec.add("note", {"bad": True})
        rec.add("note", {"n": 2})
        await rec.order("hl", _req("hke-1"), "entry")
        await rec.finish("opened", {"status": "opened"})
        return j, rec

    j, rec = run_virtual(main())
    assert j.kinds() == ["note", "order"] and j.finished["op1"][0] == "opened"
    assert [r["data"] for r in rec.refused] == [{"bad": True}]
    assert rec.failed is None  # the journal works: entries go on


def test_data_a_real_journal_cannot_hold_is_refused_without_blocking_the_rest() -> None:
    from hedgekit.journal import JournalDataError, open_journal

    async def main() -> tuple[list[str], list[dict[str, Any]], BaseException | None]:
        journal = await open_journal("sqlite://")
        rec = await OperationRecorder.start(journal, "open", [], {}, policy=POLICY)
        rec.add("note", {"what": object()})
        rec.add("note", {"n": 2})
        await rec.order("hl", _req("hke-1"), "entry")
        await rec.finish("opened", {"status": "opened"})
        kinds = [e.event for e in await journal.events(rec.op_id)]
        await journal.close()
        return kinds, rec.refused, rec.failed

    kinds, refused, failed = run_virtual(main())
    assert kinds == ["start", "note", "order", "result"]
    assert len(refused) == 1 and failed is None
    assert issubclass(JournalDataError, ValueError)


def test_a_result_whose_failed_write_had_committed_is_not_written_twice() -> None:
    class Ambiguous(StubJournal):
        async def finish_operation(
            self, op_id: str, status: str, result: dict[str, Any], *, ts_ns: int | None = None
        ) -> None:
            self.finished[op_id] = (status, result)
            raise TimeoutError("no answer during COMMIT")

        async def operation(self, op_id: str) -> Any:
            class Row:
                finished_ns = 1 if op_id in self.finished else None

            return Row()

    async def main() -> dict[str, tuple[str, dict[str, Any]]]:
        j = Ambiguous()
        rec = await _recorder(j)
        await rec.finish("opened", {"status": "opened"})
        return j.finished

    assert run_virtual(main())["op1"][0] == "opened"


def test_unwritten_records_are_replayed_in_order() -> None:
    async def main() -> StubJournal:
        j = StubJournal()
        down = {"on": True}
        j.fail = lambda event, data: down["on"] and event != "start"
        rec = await _recorder(j)
        rec.add("fill", {"n": 1})
        await rec.order("aster", _req("hkl-1"), "hedge")
        with pytest.raises(JournalWriteError) as info:
            await rec.finish("opened", {"status": "opened"})
        down["on"] = False
        assert await replay(j, info.value.unwritten) == 3
        return j

    j = run_virtual(main())
    assert j.kinds() == ["fill", "order"] and j.finished["op1"][0] == "opened"


def test_an_intent_the_journal_does_not_take_in_time_places_nothing() -> None:
    async def main() -> JournalWriteError:
        j = StubJournal()
        j.hang = lambda event, data: True
        with pytest.raises(JournalWriteError) as info:
            await _recorder(j)
        return info.value

    err = run_virtual(main())
    assert err.result is None and err.op_id == ""


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError):
        RecorderPolicy(attempts=0)
    with pytest.raises(ValueError):
        RecorderPolicy(safety_wait_s=0)
