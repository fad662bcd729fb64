"""The invariants ``simulate`` checks cannot be fooled: a result that misstates its status, loses
or repeats a fill (even one whose trade id another fill shares), or a leg that went above the
pair size for a moment, is reported as a violation. Each test forges one such run around a real
executor (which itself is not changed) and checks the report names it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import hedgekit.simulate as simulate_module
from hedgekit.execution import AtomicExecutor, CloseExecutor, CloseStatus, OpenStatus
from hedgekit.execution.results import AtomicResult, CloseResult
from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.simulate import simulate
from hedgekit.tracking import VenueSession

SCENARIOS = Path(__file__).parent / "scenarios"
Forge = Callable[[Any], Any]


def _forged_open(monkeypatch: pytest.MonkeyPatch, forge: Forge) -> None:
    class Forged(AtomicExecutor):
        async def open(self, *args: Any, **kwargs: Any) -> AtomicResult:
            return forge(await super().open(*args, **kwargs))  # type: ignore[no-any-return]

    monkeypatch.setattr(simulate_module, "AtomicExecutor", Forged)


def _broken(report: dict[str, Any]) -> set[str]:
    return {k for k, v in report["invariants"].items() if not v["held"]}


def test_the_unforged_runs_hold() -> None:
    for name in ("one_leg_never_fills.toml", "hedge_venue_refuses.toml", "imbalanced_close.toml"):
        assert _broken(simulate(SCENARIOS / name)) == set(), name


@pytest.mark.parametrize(
    ("scenario", "claimed"),
    [
        ("hedge_venue_refuses.toml", OpenStatus.OPENED),  # really rolled back: nothing is open
        ("one_leg_never_fills.toml", OpenStatus.ROLLED_BACK),  # really opened
        ("one_leg_never_fills.toml", OpenStatus.NOT_FILLED),
        ("one_leg_never_fills.toml", OpenStatus.REFUSED),
    ],
)
def test_an_open_status_the_venues_contradict_is_a_violation(
    monkeypatch: pytest.MonkeyPatch, scenario: str, claimed: OpenStatus
) -> None:
    _forged_open(monkeypatch, lambda r: dataclasses.replace(r, status=claimed))
    report = simulate(SCENARIOS / scenario)
    assert "status_truthful" in _broken(report)
    assert claimed.value in report["invariants"]["status_truthful"]["detail"]


@pytest.mark.parametrize(
    ("scenario", "size"),
    [
        ("one_leg_never_fills.toml", "1"),  # really opened at 1.5: claim a partial pair of 1
        ("hedge_venue_refuses.toml", "0.5"),  # really rolled back to flat
    ],
)
def test_a_partial_size_the_venues_contradict_is_a_violation(
    monkeypatch: pytest.MonkeyPatch, scenario: str, size: str
) -> None:
    forge: Forge = lambda r: dataclasses.replace(r, status=OpenStatus.PARTIAL, size=Decimal(size))  # noqa: E731
    _forged_open(monkeypatch, forge)
    report = simulate(SCENARIOS / scenario)
    assert "status_truthful" in _broken(report)
    assert "the size the result states" in report["invariants"]["status_truthful"]["detail"]


def test_a_close_claimed_while_a_leg_is_not_flat_is_a_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A close that trades nothing and claims success.
    class Idle(CloseExecutor):
        async def close(self, *args: Any, **kwargs: Any) -> CloseResult:
            return CloseResult(
                status=CloseStatus.CLOSED, reason=None, positions_before={}, positions_after={},
                legs=(), phase="passive",
            )  # fmt: skip

    monkeypatch.setattr(simulate_module, "CloseExecutor", Idle)
    report = simulate(SCENARIOS / "imbalanced_close.toml")
    assert "status_truthful" in _broken(report)
    assert "not flat" in report["invariants"]["status_truthful"]["detail"]


def test_a_lost_or_repeated_fill_is_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    def drop_last(r: AtomicResult) -> AtomicResult:
        leg = r.legs[0]
        return dataclasses.replace(
            r, legs=(dataclasses.replace(leg, fills=leg.fills[:-1]), *r.legs[1:])
        )

    _forged_open(monkeypatch, drop_last)
    assert "fills_counted_once" in _broken(simulate(SCENARIOS / "one_leg_never_fills.toml"))

    def repeat_first(r: AtomicResult) -> AtomicResult:
        leg = r.legs[0]
        return dataclasses.replace(
            r, legs=(dataclasses.replace(leg, fills=(*leg.fills, leg.fills[0])), *r.legs[1:])
        )

    _forged_open(monkeypatch, repeat_first)
    assert "fills_counted_once" in _broken(simulate(SCENARIOS / "one_leg_never_fills.toml"))


def test_fills_sharing_a_trade_id_are_still_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two fills of different orders share one trade id: a result that holds one of them twice
    (and not the other) has the same set of (venue, trade id) keys as the truth, and must still
    be refused."""
    seen: dict[str, Any] = {}

    def swap(r: AtomicResult) -> AtomicResult:
        legs = list(r.legs)
        for i, leg in enumerate(legs):
            by_trade: dict[object, list[Any]] = {}
            for f in leg.fills:
                by_trade.setdefault(f.trade_id, []).append(f)
            twins = next((fs for fs in by_trade.values() if len(fs) > 1), None)
            if twins is not None:
                a, b = twins[0], twins[1]
                seen["twins"] = (a, b)
                fills = tuple(a if f is b else f for f in leg.fills)
                legs[i] = dataclasses.replace(leg, fills=fills)
        return dataclasses.replace(r, legs=tuple(legs))

    # Two of our orders must rest together for one trade to fill both: let the hedge's next step
    # be placed beside a step whose cancel was lost, as the order executor once did.
    from hedgekit.execution import order as order_module

    async def no_clear(self: Any, run: Any) -> None:
        return None

    def unreserved(self: Any) -> Decimal:
        return max(self.size - self.filled(), Decimal(0))

    monkeypatch.setattr(order_module.OrderExecutor, "_clear", no_clear)
    monkeypatch.setattr(order_module._Run, "remaining", unreserved)
    _forged_open(monkeypatch, swap)
    report = simulate(SCENARIOS / "faults" / "shared_trade_id.toml")
    a, b = seen["twins"]
    assert a.trade_id == b.trade_id and a.venue_order_id != b.venue_order_id
    assert "fills_counted_once" in _broken(report)


def test_a_leg_above_the_pair_size_for_a_moment_is_a_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a real open, one more buy of the pair size and its sell on the same venue: the leg
    ends where the open left it, but was at twice the pair size in between."""

    class Overshoot(AtomicExecutor):
        def __init__(self, sessions: dict[str, VenueSession], **kwargs: Any) -> None:
            super().__init__(sessions, **kwargs)
            self._own = sessions

        async def open(self, legs: Any, size: Decimal, config: Any = None) -> AtomicResult:
            result = await super().open(legs, size, config)
            session = self._own["hl"]
            for n, side in enumerate((Side.BUY, Side.SELL)):
                q = session.venue.quote("ETH")
                assert q is not None
                price = q.ask + 5 if side is Side.BUY else q.bid - 5
                await session.place(
                    OrderRequest("ETH", side, size, price, f"extra-{n}", tif=TimeInForce.IOC)
                )
                await asyncio.sleep(0.1)
            return result

    monkeypatch.setattr(simulate_module, "AtomicExecutor", Overshoot)
    report = simulate(SCENARIOS / "one_leg_never_fills.toml")
    inv = report["invariants"]["no_leg_above_pair_size"]
    assert not inv["held"] and "'hl': '3" in inv["detail"]
    assert report["venues"]["hl"]["position"] == "1.5"  # where it ended is fine


@pytest.mark.parametrize(
    ("extra", "reported", "held"),
    [
        ("0.001", False, False),  # a dust surplus nobody reported
        ("0.001", True, True),  # below the venue's minimum order (0.005), reported: allowed
        ("0.2", True, False),  # an unwindable surplus is never allowed to stay, reported or not
    ],
)
def test_only_a_reported_surplus_below_the_minimum_order_may_stay(
    monkeypatch: pytest.MonkeyPatch, extra: str, reported: bool, held: bool
) -> None:
    """After a real open, ``extra`` more on the hl leg, made of two orders the venue accepts (a
    buy of the minimum order plus ``extra``, then a sell of the minimum order)."""
    from hedgekit.execution.results import Incident

    class Surplus(AtomicExecutor):
        def __init__(self, sessions: dict[str, VenueSession], **kwargs: Any) -> None:
            super().__init__(sessions, **kwargs)
            self._own = sessions

        async def open(self, legs: Any, size: Decimal, config: Any = None) -> AtomicResult:
            result = await super().open(legs, size, config)
            session = self._own["hl"]
            least = Decimal("0.005")  # $10 at 2,400, three size decimals
            for n, (side, qty) in enumerate(
                ((Side.BUY, least + Decimal(extra)), (Side.SELL, least))
            ):
                q = session.venue.quote("ETH")
                assert q is not None
                price = q.ask + 5 if side is Side.BUY else q.bid - 5
                await session.place(
                    OrderRequest("ETH", side, qty, price, f"x-{n}", tif=TimeInForce.IOC)
                )
                await asyncio.sleep(0.1)
            if reported:
                note = Incident(0, "oversize", "hl", f"hl held {extra} above the pair size")
                result = dataclasses.replace(result, incidents=(*result.incidents, note))
            return result

    monkeypatch.setattr(simulate_module, "AtomicExecutor", Surplus)
    report = simulate(SCENARIOS / "one_leg_never_fills.toml")
    assert Decimal(report["venues"]["hl"]["position"]) == Decimal("1.5") + Decimal(extra)
    inv = report["invariants"]["no_leg_above_pair_size"]
    assert inv["held"] is held, inv["detail"]
