"""``hedgekit frontier``: policies, metrics from the venues' truth, determinism across --jobs,
outputs and exit codes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit import frontier
from hedgekit.cli import EXIT_INPUT, EXIT_OK, EXIT_USAGE, main
from hedgekit.execution import ExecutionMode, OrderConfig, OrderExecutor
from hedgekit.execution.config import AtomicConfig, EntryPlan, HedgePricing, HedgeTiming, LegSpec
from hedgekit.frontier import (
    POLICIES,
    OpMetrics,
    Policy,
    PolicyKind,
    UnknownPolicyError,
    measure_operation,
    resolve_policies,
    run_frontier,
)
from hedgekit.model import Fill, Liquidity, Side

ROOT = Path(__file__).parents[1]
SCENARIO = ROOT / "tests" / "scenarios" / "frontier.toml"
CLEAN = ROOT / "tests" / "scenarios" / "frontier_clean.toml"
TINY_POLICIES = "after_settle-ladder,market-both,limit-wait"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.timeout(120)


def _cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[int, str, Path]]:
    """The same tiny frontier with --jobs 1 and --jobs 2: {jobs: (code, stdout, out dir)}."""
    import contextlib
    import io

    runs = {}
    for jobs in (1, 2):
        out = tmp_path_factory.mktemp(f"frontier-j{jobs}")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            code = main(
                [
                    "frontier",
                    str(SCENARIO),
                    "--seeds",
                    "4",
                    "--policies",
                    TINY_POLICIES,
                    "--jobs",
                    str(jobs),
                    "--out",
                    str(out),
                ]
            )
        runs[jobs] = (code, buf.getvalue(), out)
    return runs


# ------------------------------------------------------------------------------ policies


def test_policy_registry_and_resolution() -> None:
    names = list(POLICIES)
    for name in (
        "immediate-ioc",
        "immediate-ladder",
        "immediate-budgeted",
        "after_settle-ioc",
        "after_settle-ladder",
        "after_settle-budgeted",
        "taker_both",
        "auto",
        "market-both",
        "limit-wait",
    ):
        assert name in names
    assert [p.name for p in resolve_policies("all")] == names
    assert [p.name for p in resolve_policies(" auto, market-both ,auto")] == ["auto", "market-both"]
    with pytest.raises(UnknownPolicyError, match="known policies: all, immediate-ioc"):
        resolve_policies("auto,nope")
    with pytest.raises(UnknownPolicyError):
        resolve_policies(",")
    with pytest.raises(ValueError, match="no AtomicConfig field"):
        Policy("bad", overrides=(("not_a_field", 1),))


def test_policy_overrides_pass_through_dataclasses_replace() -> None:
    base = AtomicConfig(entry_timeout_s=7.0, maker_budget_usd_s=Decimal(42), plan=EntryPlan.AUTO)
    cfg = POLICIES["immediate-budgeted"].atomic_config(base)
    assert cfg.hedge_timing is HedgeTiming.IMMEDIATE
    assert cfg.hedge_pricing is HedgePricing.BUDGETED_MAKER
    assert (
        dataclasses.replace(cfg, hedge_timing=base.hedge_timing, hedge_pricing=base.hedge_pricing)
        == base
    )
    cfg = POLICIES["taker_both"].atomic_config(base)
    assert cfg == dataclasses.replace(base, plan=EntryPlan.TAKER_BOTH)
    assert (
        POLICIES["market-both"].is_baseline and POLICIES["market-both"].atomic_config(base) is base
    )


# ------------------------------------------------------------------------------- metrics


def _fill(
    venue: str, side: Side, price: str, size: str, liq: Liquidity, ts_s: float, fee: str = "0"
) -> Fill:
    return Fill(
        venue, "X", f"c{ts_s}", f"v{ts_s}", int(ts_s * 1000), side, Decimal(price), Decimal(size),
        Decimal(fee), liq, int(ts_s * 1e9),
    )  # fmt: skip


def test_markout_adjusted_cost_charges_the_adverse_move_after_maker_fills_only() -> None:
    # A maker buy of 1 at 100 (mid 100); the mid is 99 one second later and 101 five seconds
    # later: at 1 s the move is against us (+1 USD charged), at 5 s it is our way (-1 USD).
    # A taker sell of 1 at 99.9 on the other venue is never charged.
    fills = [
        _fill("a", Side.BUY, "100", "1", Liquidity.MAKER, 10.0, fee="-0.01"),
        _fill("b", Side.SELL, "99.9", "1", Liquidity.TAKER, 10.0, fee="0.05"),
    ]
    history = {
        "a": [(0, Decimal(100)), (int(10.5e9), Decimal(99)), (int(14e9), Decimal(101))],
        "b": [(0, Decimal(100)), (int(11e9), Decimal(50))],
    }
    m = measure_operation(
        "open",
        fills,
        arrival_mids={"a": Decimal(100), "b": Decimal(100)},
        mid_history=history,
        t0_ns=int(9e9),
        t1_ns=int(12e9),
        start_net=Decimal(0),
        start_price=Decimal(100),
        before={"a": Decimal(0), "b": Decimal(0)},
        after={"a": Decimal(1), "b": Decimal(-1)},
        size=Decimal(1),
        dust=Decimal("0.001"),
    )
    # cost: buy at the mid (0) - 0.01 fee, sell 0.1 below the mid (+0.1) + 0.05 fee = 0.14 USD
    # over 200 USD of arrival notional = 7 bps.
    assert m.cost_bps == pytest.approx(7.0)
    assert m.markout_adjusted_bps["1s"] == pytest.approx((0.14 + 1.0) / 200 * 10_000)
    assert m.markout_adjusted_bps["5s"] == pytest.approx((0.14 - 1.0) / 200 * 10_000)
    assert m.maker == 1.0 and m.traded == 2.0
    assert not m.broken and m.full_size and m.oversize_legs == 0
    # Positions from the venues: one leg beyond the pair size, the pair not hedged.
    bad = measure_operation(
        "open", fills, arrival_mids={"a": Decimal(100), "b": Decimal(100)}, mid_history=history,
        t0_ns=int(9e9), t1_ns=int(12e9), start_net=Decimal(0), start_price=Decimal(100),
        before={"a": Decimal(0), "b": Decimal(0)}, after={"a": Decimal(2), "b": Decimal(-1)},
        size=Decimal(1), dust=Decimal("0.001"),
    )  # fmt: skip
    assert bad.broken and not bad.full_size and bad.oversize_legs == 1


def test_percentiles_and_summary() -> None:
    assert frontier.percentile([], 0.5) is None
    xs = [float(i) for i in range(1, 101)]
    assert frontier.percentile(xs, 0.99) == 100.0
    assert frontier.percentile(xs, 0.25) == 26.0
    ops = [
        OpMetrics("open", 1.0, 2.0, {"1s": 3.0, "5s": 4.0}, 2.0, 1.0, 2, False, True, 0),
        OpMetrics("open", 3.0, None, {"1s": None, "5s": None}, 0.0, 0.0, 0, True, False, 1),
    ]
    s = frontier.summarise(ops)
    assert s.exposure_usd_s.median == 2.0 and s.cost_bps.n == 1
    assert s.markout_adjusted_bps["5s"].median == 4.0
    assert (s.full_size_opens, s.broken_pairs, s.oversize_legs, s.maker_share) == (1, 1, 1, 0.5)


# ------------------------------------------------------------------------ the tiny run


def test_table_has_every_policy_and_column(tiny_runs: dict[int, tuple[int, str, Path]]) -> None:
    code, out, out_dir = tiny_runs[1]
    assert code == EXIT_OK
    table = (out_dir / "frontier.md").read_text()
    assert table in out  # printed as written
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == [
        "policy",
        "exposure USD·s median",
        "p99",
        "cost bps mean",
        "median",
        "markout-adj. 1 s bps mean",
        "median",
        "markout-adj. 5 s bps mean",
        "median",
        "maker share",
        "full-size opens",
        "broken pairs",
        "oversize legs",
    ]
    body = [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]
    assert [r[0] for r in body] == TINY_POLICIES.split(",")
    for r in body:
        assert len(r) == len(header)
        assert all(c for c in r)
        assert r[10].endswith("/4")
    doc = json.loads((out_dir / "frontier.json").read_text())
    assert doc["seeds"] == [0, 1, 2, 3]
    by_name = {p["name"]: p for p in doc["policies"]}
    assert list(by_name) == TINY_POLICIES.split(",")
    for p in doc["policies"]:
        s = p["summary"]
        assert s["operations"] == 4 and len(p["runs"]) == 4
        assert set(s) >= {
            "exposure_usd_s", "cost_bps", "markout_adjusted_bps", "maker_share", "full_size_opens",
            "broken_pairs", "oversize_legs",
        }  # fmt: skip
        assert set(s["markout_adjusted_bps"]) == {"1s", "5s"}
        # the table's numbers are the JSON's
        row = next(r for r in body if r[0] == p["name"])
        assert row[1] == f"{s['exposure_usd_s']['median']:.1f}"
        assert row[11] == str(s["broken_pairs"]) and row[12] == str(s["oversize_legs"])
        assert s["broken_pairs"] == sum(r["open"]["broken"] for r in p["runs"])
    # the baselines behave as their definitions say
    assert by_name["market-both"]["summary"]["maker_share"] == 0.0
    assert by_name["limit-wait"]["summary"]["maker_share"] > 0.5


def test_output_is_byte_identical_across_jobs(tiny_runs: dict[int, tuple[int, str, Path]]) -> None:
    (c1, out1, d1), (c2, out2, d2) = tiny_runs[1], tiny_runs[2]
    assert c1 == c2 == EXIT_OK
    assert (d1 / "frontier.json").read_bytes() == (d2 / "frontier.json").read_bytes()
    assert (d1 / "frontier.md").read_bytes() == (d2 / "frontier.md").read_bytes()
    assert out1.replace(str(d1), "DIR") == out2.replace(str(d2), "DIR")


def test_png_is_written_when_matplotlib_is_there(
    tiny_runs: dict[int, tuple[int, str, Path]],
) -> None:
    pytest.importorskip("matplotlib")
    code, out, out_dir = tiny_runs[2]
    png = out_dir / "frontier.png"
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 10_000
    assert f"png:   {png}" in out


def test_without_matplotlib_the_png_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, _ = _cli(
        [
            "frontier",
            str(CLEAN),
            "--seeds",
            "1",
            "--policies",
            "taker_both",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == EXIT_OK
    assert "png:   skipped (matplotlib is not installed" in out
    assert (tmp_path / "frontier.md").is_file() and (tmp_path / "frontier.json").is_file()
    assert not (tmp_path / "frontier.png").exists()


# -------------------------------------------------------- broken and oversize from the venues


class _Lopsided:
    """Stands in for ``AtomicExecutor``: each leg gets a market order of its multiple of the pair
    size (0: none) and the open returns nothing: whatever is counted comes from the venues."""

    multiples: tuple[int, ...] = (1, 1)

    def __init__(self, sessions: dict[str, Any], *, clock: Any) -> None:
        self.sessions = sessions
        self.clock = clock

    async def open(self, legs: Sequence[LegSpec], size: Decimal, config: AtomicConfig) -> None:
        del config
        cfg = OrderConfig(mode=ExecutionMode.MARKET_ONLY)
        await asyncio.gather(
            *(
                OrderExecutor(self.sessions[leg.venue], clock=self.clock, id_prefix="t").execute(
                    leg.symbol, leg.side, size * k, cfg
                )
                for leg, k in zip(legs, self.multiples, strict=True)
                if k
            )
        )


@pytest.fixture
def lopsided(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Lopsided]]:
    monkeypatch.setattr(frontier.run, "AtomicExecutor", _Lopsided)
    yield _Lopsided


@pytest.mark.parametrize(
    ("multiples", "broken", "oversize", "full"),
    [
        ((1, 1), 0, 0, 3),  # a correct open
        ((1, 0), 3, 0, 0),  # one leg alone: broken every time
        ((2, 2), 0, 6, 0),  # hedged, but both legs at twice the size
        ((2, 1), 3, 3, 0),  # one leg at twice the size: broken and oversize
    ],
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_broken_and_oversize_are_read_from_the_venues(
    lopsided: type[_Lopsided],
    monkeypatch: pytest.MonkeyPatch,
    multiples: tuple[int, int],
    broken: int,
    oversize: int,
    full: int,
    jobs: int,
) -> None:
    monkeypatch.setattr(lopsided, "multiples", multiples)
    policy = Policy("lopsided", PolicyKind.HEDGEKIT)
    res = run_frontier(CLEAN, 3, [policy, POLICIES["market-both"]], jobs=jobs)
    s = res.policies[0].summary
    assert (s.broken_pairs, s.oversize_legs, s.full_size_opens) == (broken, oversize, full)
    # the whole size traded, every time (the clean book fills every market order at once)
    assert s.traded == pytest.approx(3 * 1.5 * sum(multiples))
    # the baseline on the same clean venues opens correctly every time
    b = res.policies[1].summary
    assert (b.broken_pairs, b.oversize_legs, b.full_size_opens) == (0, 0, 3)


def test_a_run_that_raises_names_its_policy_and_seed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Boom(_Lopsided):
        async def open(self, legs: Sequence[LegSpec], size: Decimal, config: AtomicConfig) -> None:
            raise RuntimeError("kaboom")

    monkeypatch.setattr(frontier.run, "AtomicExecutor", Boom)
    code, _, err = _cli(
        ["frontier", str(CLEAN), "--seeds", "2", "--start", "5", "--policies", "auto", "--jobs", "1",
         "--out", str(tmp_path)],
        capsys,
    )  # fmt: skip
    assert code == 4
    # the scenario's seed is 3: --start 5 makes the first seed 8
    assert err.strip().splitlines() == [
        "hedgekit: error: a run failed: policy auto, seed 8: RuntimeError: kaboom"
    ]


# ------------------------------------------------------------------------------ exit codes


def test_unknown_policy_exits_2_with_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        [
            "frontier",
            str(CLEAN),
            "--seeds",
            "1",
            "--policies",
            "auto,bogus",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == EXIT_USAGE
    assert "unknown policy 'bogus'" in err
    for name in POLICIES:
        assert name in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["--seeds", "0"],
        ["--seeds", "-3"],
        ["--seeds", "two"],
        ["--seeds", "1", "--jobs", "0"],
        ["--seeds", "1", "--jobs", "100000"],
        ["--seeds", "99999999999999999999"],
        ["--seeds", "1", "--start", "-1"],
        [],
    ],
)
def test_bad_numbers_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(["frontier", str(CLEAN), *args, "--out", str(tmp_path)], capsys)
    assert code == EXIT_USAGE
    assert "Traceback" not in err and "hedgekit: error:" in err


def test_scenario_errors_exit_3_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    code, _, err = _cli(
        ["frontier", str(missing), "--seeds", "1", "--out", str(tmp_path / "o")], capsys
    )
    assert code == EXIT_INPUT
    assert err.strip().splitlines() == [f"hedgekit: error: {missing}: no such scenario file"]
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [\n")
    code, _, err = _cli(
        ["frontier", str(bad), "--seeds", "1", "--out", str(tmp_path / "o")], capsys
    )
    assert code == EXIT_INPUT and len(err.strip().splitlines()) == 1 and "does not parse" in err
    close = ROOT / "tests" / "scenarios" / "imbalanced_close.toml"
    code, _, err = _cli(
        ["frontier", str(close), "--seeds", "1", "--out", str(tmp_path / "o")], capsys
    )
    assert code == EXIT_INPUT and "a frontier compares opens" in err
    assert len(err.strip().splitlines()) == 1


def test_ray_missing_exits_3_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    code, _, err = _cli(
        ["frontier", str(CLEAN), "--seeds", "1", "--ray", "local", "--out", str(tmp_path)], capsys
    )
    assert code == EXIT_INPUT
    assert 'pip install "hedgekit[ray]"' in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "frontier.json").exists()


def test_help_lists_the_frontier(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frontier", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for word in ("--seeds", "--policies", "--jobs", "--ray", "--out", "--start"):
        assert word in out
