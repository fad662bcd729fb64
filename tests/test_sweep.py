"""The adversarial fault sweep (``hedgekit.sweep``): the generator is deterministic, every scenario
it draws is valid, it covers every plan, close shape and fault kind of the scenario format, and
the runner counts violations, lies, crashes and hangs, writing each failing scenario so that one
command replays it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hedgekit import cli, sweep
from hedgekit.execution.config import LegSpec
from hedgekit.scenario import Scenario, load_scenario, parse_scenario
from hedgekit.sweep import FAULTS, features, run_seed, run_sweep, scenario_for

DOCS = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"
COVERAGE_SEEDS = range(400)


@pytest.fixture(scope="module")
def drawn() -> dict[int, dict[str, Any]]:
    """The mappings of the coverage seeds (mixed profile)."""
    return {seed: scenario_for(seed) for seed in COVERAGE_SEEDS}


# ------------------------------------------------------------------------------- generator


def test_same_seed_same_scenario() -> None:
    for seed in (0, 1, 7, 12345, 2**40):
        assert scenario_for(seed) == scenario_for(seed)
        assert json.dumps(scenario_for(seed, "heavy")) == json.dumps(scenario_for(seed, "heavy"))
    assert scenario_for(3) != scenario_for(4)


def test_profile_only_changes_the_faults() -> None:
    """The market and the operation come from the seed; the profile adds the faults."""
    for seed in range(20):
        plain = scenario_for(seed, "none")
        for profile in ("light", "heavy", "only:disconnects"):
            faulty = scenario_for(seed, profile)
            assert faulty["operation"] == plain["operation"]
            assert faulty.get("positions") == plain.get("positions")
            for a, b in zip(faulty["venues"], plain["venues"], strict=True):
                assert a["market"] == b["market"]
                assert a["instrument"] == b["instrument"]
        assert not any(f.startswith("fault:") for f in features(plain))


def test_every_mapping_parses(drawn: dict[int, dict[str, Any]]) -> None:
    for seed, mapping in drawn.items():
        sc = parse_scenario(mapping)
        assert isinstance(sc, Scenario)
        assert sc.seed == seed
        # Written as JSON and read back it is the same scenario (what a replay file is).
        assert parse_scenario(json.loads(json.dumps(mapping))) == sc


def test_every_profile_parses() -> None:
    for profile in ("none", "light", "heavy", *(f"only:{k}" for k in FAULTS)):
        for seed in range(8):
            mapping = scenario_for(seed, profile)
            parse_scenario(mapping)
            if profile.startswith("only:"):
                kinds = {
                    f for f in features(mapping) if f.startswith("fault:") and f != "fault:ban"
                }
                assert f"fault:{profile[5:]}" in kinds, (profile, seed)
                # Another kind may share a field (a short request timeout), never more.
                assert kinds <= {f"fault:{profile[5:]}", "fault:request_timeout"}, (profile, kinds)


def test_unknown_profile_is_refused() -> None:
    for bad in ("medium", "only:", "only:nothing", ""):
        with pytest.raises(ValueError, match="unknown profile"):
            scenario_for(1, bad)


def test_mixed_is_light_then_heavy() -> None:
    assert [sweep.profile_for(s) for s in range(4)] == ["light", "heavy", "light", "heavy"]
    assert "; light;" in scenario_for(10)["name"] and "; heavy;" in scenario_for(11)["name"]


def test_coverage(drawn: dict[int, dict[str, Any]]) -> None:
    """A few hundred seeds exercise every plan, hedge and rollback mode, close shape, prior
    position, size class, personality and fault kind."""
    seen: Counter[str] = Counter()
    for mapping in drawn.values():
        seen.update(features(mapping))
    required = {
        "open", "close",
        "plan:maker_both", "plan:taker_both", "plan:auto",
        "close:balanced", "close:imbalanced_below_min", "close:imbalanced_above_min", "close:lone_leg",
        "prior:same", "prior:opposite",
        "size:below_min", "size:near_min",
        "personality:hyperliquid", "personality:aster", "personality:lighter",
        "fault:ban",
        *(f"hedge:{m}" for m in ("aggressive_limit", "market_only", "limit_with_fallback", "adaptive")),
        *(f"rollback:{m}" for m in ("aggressive_limit", "market_only", "limit_with_fallback", "adaptive")),
        *(f"fault:{k}" for k in FAULTS),
    }  # fmt: skip
    missing = sorted(required - set(seen))
    assert not missing, f"never drawn in {len(drawn)} seeds: {missing}"
    # Each is drawn often enough to matter, not once by luck.
    rare = {k: seen[k] for k in required if seen[k] < 5}
    assert not rare, rare


def _doc_fields(heading: str) -> set[str]:
    """The field names of the first table under ``heading`` in docs/scenarios.md."""
    lines = DOCS.read_text().splitlines()
    start = lines.index(heading)
    out: set[str] = set()
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        m = re.match(r"^\| `([a-z_]+)` \|", line)
        if m:
            out.add(m.group(1))
        elif out and not line.startswith("|"):
            break
    assert out, f"no table under {heading!r}"
    return out


def test_every_documented_fault_field_is_drawn(drawn: dict[int, dict[str, Any]]) -> None:
    """Every field of the fault tables of the scenario format appears in some drawn scenario: a
    fault added to the format is a fault the sweep must learn to inject."""
    used: dict[str, set[str]] = {
        t: set() for t in ("latency", "fills", "delivery", "limits", "faults", "")
    }
    for mapping in drawn.values():
        for v in mapping["venues"]:
            used[""].update(v)
            for table in ("latency", "fills", "delivery", "limits", "faults"):
                used[table].update(v.get(table, {}))
    for table in ("latency", "fills", "delivery", "limits", "faults"):
        documented = _doc_fields(f"### {table}")
        assert documented - used[table] == set(), (
            f"{table}: never drawn {sorted(documented - used[table])}"
        )
    venue_fields = _doc_fields("## Venues") - {"seed"}  # a venue's seed follows the scenario's
    assert venue_fields - used[""] == set(), sorted(venue_fields - used[""])


# ---------------------------------------------------------------------------------- runner


def _clean_report(sc: Scenario) -> dict[str, Any]:
    """A report in which every invariant held and every venue ended where a success says."""
    venues: dict[str, dict[str, Any]] = {}
    start = {p.venue: p.size for p in sc.positions}
    for v in sc.venues:
        if sc.kind == "open":
            assert sc.size is not None
            leg = next(leg for leg in sc.legs if leg.venue == v.name)
            assert isinstance(leg, LegSpec)
            venues[v.name] = {"position": str(start.get(v.name, 0) + sc.size * leg.side.sign)}
        else:
            venues[v.name] = {"position": "0"}
    return {
        "kind": sc.kind,
        "result": {"status": "opened" if sc.kind == "open" else "closed", "reason": None},
        "invariants": {"no_resting_orders": {"held": True, "detail": "none"}},
        "all_invariants_held": True,
        "venues": venues,
    }


def test_a_broken_invariant_is_reported_with_its_replay_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hedgekit import simulate as simulate_mod

    real = simulate_mod.simulate
    broken = {3, 6}

    def breaking(scenario: Any, *, seed: int | None = None) -> dict[str, Any]:
        report = real(scenario, seed=seed)
        if scenario.seed in broken:
            report["invariants"]["no_resting_orders"] = {
                "held": False,
                "detail": "deliberately broken",
            }
            report["all_invariants_held"] = False
        return report

    # Workers are forked: they inherit the patched function.
    monkeypatch.setattr(simulate_mod, "simulate", breaking)
    summary = run_sweep(range(8), jobs=2, profile="none", out_dir=tmp_path, timeout_s=60)
    assert summary.seeds == 8
    assert summary.crashes == 0 and summary.hangs == 0
    assert summary.violations.get("no_resting_orders") == 2
    assert not summary.clean
    flagged = {f.seed for f in summary.failures if "no_resting_orders" in f.what}
    assert flagged == broken
    for seed in broken:
        file = tmp_path / f"sweep-{seed}.json"
        assert file.is_file()
        assert json.loads(file.read_text()) == scenario_for(seed, "none")
        assert load_scenario(file) == parse_scenario(scenario_for(seed, "none"))
        record = next(f for f in summary.failures if f.seed == seed)
        assert record.command == f"hedgekit simulate {file}"
    text = sweep.format_summary(summary)
    assert f"hedgekit simulate {tmp_path / 'sweep-3.json'}" in text
    assert "no_resting_orders" in text and "seeds/min" in text
    assert summary.by_profile["none"].violations["no_resting_orders"] == 2
    json.dumps(summary.to_dict())  # serialisable


def test_a_success_status_that_disagrees_with_the_venues_is_a_lie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hedgekit import simulate as simulate_mod

    def lying(scenario: Any, *, seed: int | None = None) -> dict[str, Any]:
        report = _clean_report(scenario)
        if scenario.seed % 2:  # a venue is left holding what the status says is gone
            name = scenario.venues[0].name
            report["venues"][name]["position"] = (
                str(scenario.size or 1) if scenario.kind == "close" else "0"
            )
        return report

    monkeypatch.setattr(simulate_mod, "simulate", lying)
    outcomes = [run_seed(seed, "none") for seed in range(10)]
    for o in outcomes:
        assert o.crash is None and not o.violations
        assert (o.lie is not None) == bool(o.seed % 2), o
    summary = run_sweep(range(10), jobs=2, profile="none", out_dir=None)
    assert summary.lies == 5
    assert all(f.command is None and "lie" in f.what for f in summary.failures)


def test_crashes_and_hangs_are_counted_and_never_stop_the_sweep(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hedgekit import simulate as simulate_mod

    def misbehaving(scenario: Any, *, seed: int | None = None) -> dict[str, Any]:
        if scenario.seed == 1:
            raise RuntimeError("boom")
        if scenario.seed == 2:
            time.sleep(30)  # interrupted by the worker's own alarm
        if scenario.seed == 3:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            time.sleep(30)  # deaf to the alarm: the sweep stops the worker
        if scenario.seed == 4:
            os._exit(3)  # the worker process dies
        return _clean_report(scenario)

    monkeypatch.setattr(simulate_mod, "simulate", misbehaving)
    t0 = time.monotonic()
    summary = run_sweep(range(8), jobs=2, profile="none", out_dir=tmp_path, timeout_s=1.0)
    assert time.monotonic() - t0 < 20
    assert summary.seeds == 8
    by_seed = {f.seed: f for f in summary.failures}
    assert set(by_seed) == {1, 2, 3, 4}
    assert "crash" in by_seed[1].what and "RuntimeError: boom" in by_seed[1].detail
    assert "hang" in by_seed[2].what and "hang" in by_seed[3].what
    assert "crash" in by_seed[4].what and "died" in by_seed[4].detail
    assert summary.crashes == 2 and summary.hangs == 2
    assert all((tmp_path / f"sweep-{s}.json").is_file() for s in by_seed)


def test_a_real_sweep_runs_clean_of_crashes() -> None:
    summary = run_sweep(range(100, 110), jobs=2, profile="mixed", out_dir=None, timeout_s=60)
    assert summary.seeds == 10
    assert summary.crashes == 0 and summary.hangs == 0
    assert set(summary.by_profile) == {"light", "heavy"}
    assert sum(summary.total.statuses.values()) == 10
    assert summary.seeds_per_minute > 0


# -------------------------------------------------------------------------------------- cli


def test_cli_exit_codes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hedgekit import simulate as simulate_mod

    monkeypatch.setattr(simulate_mod, "simulate", lambda sc, *, seed=None: _clean_report(sc))
    assert cli.main(["sweep", "--seeds", "4", "--jobs", "2", "--profile", "none"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "seeds/min" in out and "by profile" in out

    def one_bad(sc: Scenario, *, seed: int | None = None) -> dict[str, Any]:
        report = _clean_report(sc)
        if sc.seed == 5:
            report["invariants"]["no_resting_orders"] = {"held": False, "detail": "x"}
        return report

    monkeypatch.setattr(simulate_mod, "simulate", one_bad)
    code = cli.main(
        ["sweep", "--seeds", "3", "--start", "4", "--jobs", "1", "--out", str(tmp_path), "--json"]
    )
    assert code == cli.EXIT_FAILED
    doc = json.loads(capsys.readouterr().out)
    assert doc["seeds"] == 3 and doc["total"]["violations"] == {"no_resting_orders": 1}
    assert doc["failures"][0]["command"] == f"hedgekit simulate {tmp_path / 'sweep-5.json'}"
    assert cli.main(["sweep", "--seeds", "3", "--profile", "only:nothing"]) == cli.EXIT_USAGE
    assert cli.main(["sweep", "--seeds", "0"]) == cli.EXIT_USAGE
    assert cli.main(["sweep"]) == cli.EXIT_USAGE
