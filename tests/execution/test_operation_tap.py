"""The operation's tap counts every fill of its orders exactly once, whether the session told it
of the fill or only its read-back (``sync``) finds it — also while the read-back skips the
tracker when its fill counter says nothing came since."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from hedgekit import FillLedger
from hedgekit.clock import ManualClock
from hedgekit.execution.operation import OperationTap
from hedgekit.model import Fill, Liquidity, OrderAck, OrderRequest, OrderStatus, Side
from hedgekit.tracking import VenueSession

VENUE = "hl"


def _session() -> VenueSession:
    return VenueSession(SimpleNamespace(name=VENUE), FillLedger(), ManualClock())  # type: ignore[arg-type]


def _place(s: VenueSession, cid: str) -> None:
    s.tracker.submit(OrderRequest("ETH", Side.BUY, Decimal(3), Decimal(100), cid), 1)
    s.tracker.on_ack(OrderAck(cid, "v" + cid, OrderStatus.OPEN, Decimal(0), 2), 2)


def _fill(cid: str, trade: int) -> Fill:
    return Fill(VENUE, "ETH", cid, "v" + cid, trade, Side.BUY, Decimal(100), Decimal(1),
                Decimal(0), Liquidity.MAKER, 3)  # fmt: skip


def _told(s: VenueSession, fill: Fill) -> None:
    """The fill reaches the tracker and the session tells its listeners."""
    s._perform(s.tracker.on_event(fill, 4))


def _lost(s: VenueSession, fill: Fill) -> None:
    """The fill reaches the tracker (and the ledger) but no listener hears of it."""
    s.tracker.on_event(fill, 4)


def _watching(cid: str) -> tuple[VenueSession, OperationTap]:
    """A session and a tap that watches one order of it (placed, acknowledged)."""
    s = _session()
    tap = OperationTap({VENUE: s})
    tap.watch(VENUE, cid, "entry")
    _place(s, cid)
    return s, tap


def _counted(tap: OperationTap) -> list[tuple[str, int | str]]:
    return sorted((f.client_id, f.trade_id) for f in tap.fills)  # type: ignore[type-var]


def test_fills_told_are_counted_once_and_the_read_back_adds_nothing() -> None:
    s, tap = _watching("a")
    _told(s, _fill("a", 1))
    _told(s, _fill("a", 2))
    _told(s, _fill("a", 2))  # the same fill again: the ledger drops it
    assert tap.sync(VENUE) == 0
    assert _counted(tap) == [("a", 1), ("a", 2)]
    assert tap.net(VENUE) == Decimal(2)


def test_a_fill_nobody_was_told_of_is_found_by_the_read_back_once() -> None:
    s, tap = _watching("a")
    _told(s, _fill("a", 1))
    _lost(s, _fill("a", 2))
    _told(s, _fill("a", 3))  # told, but after one the tap never heard of
    assert tap.sync(VENUE) == 1
    assert tap.sync(VENUE) == 0
    assert _counted(tap) == [("a", 1), ("a", 2), ("a", 3)]
    assert tap.net(VENUE) == Decimal(3)


def test_another_operations_fill_does_not_hide_a_lost_one_of_ours() -> None:
    s, tap = _watching("a")
    _place(s, "other")  # not this operation's
    _told(s, _fill("other", 1))
    assert tap.sync(VENUE) == 0
    _lost(s, _fill("a", 2))
    _told(s, _fill("other", 3))
    assert tap.sync(VENUE) == 1
    assert _counted(tap) == [("a", 2)]


def test_watching_an_order_that_already_has_fills_reads_them_back() -> None:
    s = _session()
    tap = OperationTap({VENUE: s})
    _place(s, "resting")
    _told(s, _fill("resting", 1))  # before the tap watched it
    tap.watch(VENUE, "resting", "resting")
    assert tap.sync(VENUE) == 1
    _told(s, _fill("resting", 2))
    assert tap.sync(VENUE) == 0
    assert _counted(tap) == [("resting", 1), ("resting", 2)]
