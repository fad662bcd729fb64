"""Execution statistics, checked against figures computed by hand."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit.journal import Journal, open_journal
from hedgekit.journal.stats import StatsRow, execution_stats, format_table, percentile


def _leg(venue: str, filled: str, maker: str, fees: str, slip: float | None) -> dict[str, Any]:
    return {
        "venue": venue,
        "symbol": "BTC",
        "side": "buy",
        "filled": filled,
        "maker_size": maker,
        "fees": fees,
        "slippage_bps": slip,
    }


def _result(
    status: str,
    legs: list[dict[str, Any]],
    latency_ns: int | None,
    exposure: float,
    rollback: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "legs": legs,
        "hedge_latency_ns": latency_ns,
        "exposure_usd_s": exposure,
        "rollback": None
        if rollback is None
        else {"cost": rollback, "flattened": {}, "complete": True},
    }


OPS: list[tuple[str, str, int, dict[str, Any]]] = [
    (
        "op1",
        "open",
        100,
        _result(
            "opened",
            [_leg("A", "1", "1", "0.10", 2.0), _leg("B", "1", "0", "0.50", 4.0)],
            10_000_000,
            5.0,
        ),
    ),
    (
        "op2",
        "open",
        200,
        _result(
            "rolled_back",
            [_leg("A", "0.5", "0.5", "0.05", -1.0), _leg("B", "0.5", "0", "0.25", 6.0)],
            30_000_000,
            15.0,
            rollback="1.25",
        ),
    ),
    (
        "op3",
        "open",
        300,
        _result(
            "refused", [_leg("A", "0", "0", "0", None), _leg("B", "0", "0", "0", None)], None, 0.0
        ),
    ),
    (
        "op4",
        "close",
        1_500,
        _result(
            "closed",
            [_leg("A", "1.5", "0.75", "-0.02", 1.0), _leg("B", "1.5", "1.5", "-0.03", 0.0)],
            None,
            1.0,
        ),
    ),
]


def _markout(
    venue: str, side: str, placement: str, horizon: float, mid: str, **extra: Any
) -> dict[str, Any]:
    return {
        "venue": venue,
        "symbol": "BTC",
        "side": side,
        "fill_price": placement,
        "placement_mid": placement,
        "horizon_s": horizon,
        "mid": mid,
        **extra,
    }


async def _fill(j: Journal) -> None:
    for op_id, kind, ts, result in OPS:
        await j.start_operation(
            kind,
            [{"venue": "A", "symbol": "BTC"}, {"venue": "B", "symbol": "BTC"}],
            {},
            op_id=op_id,
            ts_ns=ts,
        )
        await j.finish_operation(op_id, result["status"], result, ts_ns=ts + 50)
    # running: not counted
    await j.start_operation("open", [{"venue": "A", "symbol": "BTC"}], {}, op_id="op5", ts_ns=400)
    await j.record_many(
        "op1",
        [
            ("markout", _markout("A", "buy", "100", 0.5, "100.01")),  # +1 bps
            ("markout", _markout("A", "buy", "100", 2, "100.03")),  # +3 bps
            ("markout", _markout("A", "sell", "100", 0.5, "99.98")),  # +2 bps
            ("markout", _markout("A", "buy", "100", 0.5, "90", liquidity="taker")),  # left out
            ("markout", _markout("B", "sell", "200", 10, "200.1")),  # -5 bps
        ],
    )


def _stats(tmp_path: Path, **kwargs: Any) -> list[StatsRow]:
    async def main() -> list[StatsRow]:
        async with await open_journal(str(tmp_path / "s.db")) as j:
            if not await j.operations():
                await _fill(j)
            return await execution_stats(j, **kwargs)

    return asyncio.run(main())


def test_per_venue_and_symbol(tmp_path: Path) -> None:
    a, b = _stats(tmp_path)
    assert (a.venue, a.symbol, a.kind, a.period_start_ns) == ("A", "BTC", None, None)
    assert (b.venue, b.symbol) == ("B", "BTC")
    for row in (a, b):
        assert (row.operations, row.succeeded, row.failed, row.refused, row.not_filled) == (
            4,
            2,
            1,
            1,
            0,
        )
        assert row.success_rate == pytest.approx(2 / 3)
        assert row.hedge_latency_ms_median == pytest.approx(20.0)
        assert row.hedge_latency_ms_p95 == pytest.approx(29.0)  # 10 + (30 - 10) x 0.95
        assert row.exposure_usd_s_mean == pytest.approx((5 + 15 + 0 + 1) / 4)
        assert row.rollback_cost_total == Decimal("1.25")
    assert a.slippage_bps_mean == pytest.approx((2 - 1 + 1) / 3)
    assert a.slippage_bps_median == pytest.approx(1.0)
    assert a.fees_total == Decimal("0.13")
    assert a.maker_share == pytest.approx(2.25 / 3)
    assert b.slippage_bps_mean == pytest.approx((4 + 6 + 0) / 3)
    assert b.slippage_bps_median == pytest.approx(4.0)
    assert b.fees_total == Decimal("0.72")
    assert b.maker_share == pytest.approx(1.5 / 3)
    assert a.markout_bps[0.5] == pytest.approx(1.5)
    assert a.markout_bps[2.0] == pytest.approx(3.0)
    assert a.markout_bps[10.0] is None
    assert a.markout_count == {0.5: 2, 2.0: 1, 10.0: 0}
    assert b.markout_bps[10.0] == pytest.approx(-5.0)
    assert b.markout_bps[0.5] is None
    d = a.to_dict()
    assert d["fees_total"] == "0.13" and d["rollback_cost_total"] == "1.25"
    assert d["markout_bps"]["0.5s"] == pytest.approx(1.5) and d["markout_count"]["10s"] == 0


def test_grouped_by_kind_and_period(tmp_path: Path) -> None:
    rows = _stats(tmp_path, group_by=("kind",), period_ns=1_000)
    assert [(r.period_start_ns, r.kind, r.venue) for r in rows] == [
        (0, "open", None),
        (1_000, "close", None),
    ]
    early, late = rows
    assert (early.operations, early.succeeded, early.failed, early.refused) == (3, 1, 1, 1)
    assert early.success_rate == pytest.approx(0.5)
    assert early.slippage_bps_mean == pytest.approx((2 + 4 - 1 + 6) / 4)
    assert early.slippage_bps_median == pytest.approx(3.0)
    assert early.fees_total == Decimal("0.90")
    assert early.maker_share == pytest.approx(1.5 / 3)
    assert early.exposure_usd_s_mean == pytest.approx(20 / 3)
    assert early.markout_bps[0.5] == pytest.approx(1.5)  # markouts of op1 follow op1's bucket
    assert early.markout_bps[10.0] == pytest.approx(-5.0)
    assert (late.operations, late.succeeded, late.success_rate) == (1, 1, 1.0)
    assert late.fees_total == Decimal("-0.05")
    assert late.maker_share == pytest.approx(2.25 / 3)
    assert late.hedge_latency_ms_median is None and late.hedge_latency_ms_p95 is None
    assert late.rollback_cost_total == Decimal(0)
    assert late.markout_count == {0.5: 0, 2.0: 0, 10.0: 0}


def test_time_window(tmp_path: Path) -> None:
    (row,) = _stats(tmp_path, group_by=(), since_ns=150, until_ns=1_000)
    assert row.operations == 2  # op2, op3 (op5 is still running)
    assert (row.succeeded, row.failed, row.refused, row.success_rate) == (0, 1, 1, 0.0)
    assert row.rollback_cost_total == Decimal("1.25")
    assert row.markout_count == {0.5: 0, 2.0: 0, 10.0: 0}  # op1's markouts are outside


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="group_by"):
        _stats(tmp_path, group_by=("venue", "colour"))
    with pytest.raises(ValueError, match="period_ns"):
        _stats(tmp_path, period_ns=0)


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.95) == pytest.approx(3.85)


def test_format_table(tmp_path: Path) -> None:
    text = format_table(_stats(tmp_path))
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:4] == ["venue", "symbol", "ops", "ok"]
    assert "mo_0.5s_bps" in lines[0] and "mo_10s_bps" in lines[0]
    a = lines[1].split()
    assert a[:7] == ["A", "BTC", "4", "2", "1", "1", "0"]
    assert a[7] == "66.7%" and a[8] == "0.67" and a[12] == "75.0%"
    assert lines[0].split()[10:12] == ["fees", "funding"]  # funding next to fees
    assert a[-3:] == ["1.50", "3.00", "-"]
    # right-aligned numeric columns end at the same place on every line
    assert len({len(line) for line in lines}) == 1
    assert format_table([]) == "no finished operations"
