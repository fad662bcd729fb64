"""The ratio gate's logic (``benches/gate.py``), on made-up timings: no real measurement here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))

import gate


def fixed(
    hk: float, peer: float, calls: list[int] | None = None
) -> Callable[[], tuple[float, float]]:
    def measure() -> tuple[float, float]:
        if calls is not None:
            calls.append(1)
        return hk, peer

    return measure


def sequence(*timings: tuple[float, float]) -> Callable[[], tuple[float, float]]:
    it = iter(timings)
    return lambda: next(it)


def speedup(
    path: str, peer: str, measure: Callable[[], tuple[float, float]], requires: tuple[str, ...] = ()
) -> gate.Check:
    return gate.Check(path, peer, gate.SPEEDUP, "hedgekit side", "the peer", measure, requires)


def reaction(loop: str, measure: Callable[[], tuple[float, float]]) -> gate.Check:
    return gate.Check("immediate-ioc", loop, gate.REACTION, "p50", "floor p50", measure)


def test_a_speedup_at_or_above_its_floor_passes_below_fails() -> None:
    checks = [
        speedup("book-delta", "python", fixed(40.0, 200.0)),  # 5x
        speedup("book-bbo", "python", fixed(100.0, 300.0)),  # exactly 3x
        speedup("ledger-seen-hit", "python", fixed(100.0, 150.0)),  # 1.5x
    ]
    floors = {
        "speedup/book-delta/python": 3.0,
        "speedup/book-bbo/python": 3.0,
        "speedup/ledger-seen-hit/python": 2.0,
    }
    rows = gate.run_checks(checks, floors, retries=0)
    assert [r.ratio for r in rows] == [5.0, 3.0, 1.5]
    assert [r.ok for r in rows] == [True, True, False]
    ok, line = gate.verdict(rows)
    assert not ok and "ledger-seen-hit/python 1.50× < 2×" in line
    text = gate.table(rows)
    assert "**FAIL**" in text and text.count("| ok |") == 2


def test_a_reaction_ratio_is_hedgekit_over_the_floor_path_and_must_stay_under_its_limit() -> None:
    checks = [
        reaction("asyncio", fixed(90_000.0, 30_000.0)),
        reaction("uvloop", fixed(150_000.0, 30_000.0)),
    ]
    floors = {"reaction/immediate-ioc/asyncio": 4.5, "reaction/immediate-ioc/uvloop": 4.5}
    rows = gate.run_checks(checks, floors, retries=0)
    assert [r.ratio for r in rows] == [3.0, 5.0]
    assert [r.ok for r in rows] == [True, False]
    ok, line = gate.verdict(rows)
    assert not ok and "immediate-ioc/uvloop 5.00× > 4.5×" in line
    assert "≤ 4.5×" in gate.table(rows)


def test_a_missing_peer_is_skipped_never_failed_and_never_measured() -> None:
    calls: list[int] = []
    checks = [
        speedup("book-delta", "python", fixed(40.0, 200.0)),
        speedup("book-delta", "nautilus", fixed(40.0, 1.0, calls), requires=("nautilus_trader",)),
    ]
    floors = {"speedup/book-delta/python": 3.0, "speedup/book-delta/nautilus": 1.0}
    rows = gate.run_checks(checks, floors, is_importable=lambda m: m != "nautilus_trader")
    assert calls == []
    assert (
        rows[1].ok is None
        and rows[1].ratio is None
        and "nautilus_trader not installed" in rows[1].note
    )
    ok, line = gate.verdict(rows)
    assert ok and "1 of 1 ratios" in line and "1 skipped" in line
    assert "skipped (nautilus_trader not installed)" in gate.table(rows)


def test_a_miss_is_measured_again_and_fails_only_if_every_attempt_misses() -> None:
    floors = {"speedup/book-delta/python": 3.0}
    noisy = speedup("book-delta", "python", sequence((100.0, 200.0), (40.0, 200.0)))  # 2x, then 5x
    row = gate.run_checks([noisy], floors, retries=2)[0]
    assert row.ok and row.attempts == 2 and row.ratio == 5.0
    calls: list[int] = []
    slow = speedup("book-delta", "python", fixed(100.0, 200.0, calls))
    row = gate.run_checks([slow], floors, retries=2)[0]
    assert row.ok is False and row.attempts == 3 and len(calls) == 3
    assert "all past the floor" in row.note


def test_every_check_needs_a_floor_and_every_floor_a_check() -> None:
    checks = [speedup("book-delta", "python", fixed(1.0, 5.0))]
    with pytest.raises(gate.GateConfigError, match="no floor for speedup/book-delta/python"):
        gate.run_checks(checks, {})
    with pytest.raises(gate.GateConfigError, match="a floor for no check: speedup/book-bbo/python"):
        gate.run_checks(checks, {"speedup/book-delta/python": 3.0, "speedup/book-bbo/python": 3.0})


def test_floors_file_is_read_and_checked(tmp_path: Path) -> None:
    f = tmp_path / "floors.toml"
    f.write_text("[speedup.book-delta]\npython = 3\n[reaction.immediate-ioc]\nasyncio = 4.5\n")
    assert gate.load_floors(f) == {
        "speedup/book-delta/python": 3.0,
        "reaction/immediate-ioc/asyncio": 4.5,
    }
    for bad in (
        "[speedup.book-delta]\npython = 0\n",
        "[speedup.book-delta]\npython = 'x'\n",
        "[fast.x]\ny = 1\n",
    ):
        f.write_text(bad)
        with pytest.raises(gate.GateConfigError):
            gate.load_floors(f)


def test_the_committed_floors_cover_exactly_the_gate_checks() -> None:
    floors = gate.load_floors()
    assert gate.bounds_for(gate.checks(), floors)


def test_main_prints_the_table_and_exits_1_on_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "floors.toml"
    f.write_text("[speedup.book-delta]\npython = 3\nnautilus = 1\n[speedup.book-bbo]\npython = 3\n")
    checks = [
        speedup("book-delta", "python", fixed(40.0, 200.0)),
        speedup(
            "book-delta", "nautilus", fixed(1.0, 1.0), requires=("surely_not_installed_module",)
        ),
        speedup("book-bbo", "python", fixed(100.0, 200.0)),
    ]
    monkeypatch.setattr(gate, "checks", lambda: checks)
    results = tmp_path / "results.json"
    assert gate.main(["--floors", str(f), "--retries", "0", "--json", str(results)]) == 1
    out = capsys.readouterr().out
    assert "surely_not_installed_module is not installed" in out
    assert (
        "| book-bbo: hedgekit side | the peer | 100.0 ns | 200.0 ns | 2.00× | ≥ 3× | **FAIL** |"
        in out
    )
    assert "ratio gate FAILED: 1 of 2 ratios" in out
    import json

    data = json.loads(results.read_text())["sections"]["gate"]["data"]
    assert data["passed"] is False and [r["ok"] for r in data["rows"]] == [True, None, False]
    monkeypatch.setattr(gate, "checks", lambda: checks[:2])
    f.write_text("[speedup.book-delta]\npython = 3\nnautilus = 1\n")
    assert gate.main(["--floors", str(f)]) == 0
    assert "ratio gate passed: 1 of 1" in capsys.readouterr().out
    f.write_text("[speedup.book-delta]\npython = 3\n")
    assert gate.main(["--floors", str(f)]) == 2
