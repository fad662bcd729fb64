"""The command line's finish: --version, ``run --config``, a report within 100 columns, a journal
per demo run, ``--log`` on ``simulate`` and the whole-run timeline PNG."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from hedgekit import demo
from hedgekit.cli import EXIT_INPUT, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).parents[1]
SCENARIO = ROOT / "tests" / "scenarios" / "one_leg_never_fills.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHORT = ["--seed", "3", "--duration", "10", "--no-progress"]  # 10 min of venue time: ~1 s

pytestmark = pytest.mark.timeout(120)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _printed_journal(out: str) -> Path:
    (line,) = [ln for ln in out.splitlines() if ln.startswith("journal:")]
    return Path(line.split(":", 1)[1].strip())


@pytest.fixture(scope="module")
def two_demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Two short demo runs into the same --out directory: (the directory, their stdouts)."""
    import contextlib
    import io

    out_dir = tmp_path_factory.mktemp("demo")
    outs = []
    for _ in range(2):
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            assert main(["demo", *SHORT, "--out", str(out_dir)]) == EXIT_OK, err.getvalue()
        outs.append(buf.getvalue())
    return out_dir, outs


# ------------------------------------------------------------------------------- --version


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out == f"hedgekit {metadata.version('hedgekit')}\n"


@pytest.mark.timeout(60)
def test_python_m_hedgekit_version_exits_0() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hedgekit", "--version"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"hedgekit \d+\.\d+\.\d+\S*\n", proc.stdout)


# ------------------------------------------------------------------------------------ run


def test_run_with_the_shipped_example_trades_and_writes_png_and_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the example comes from the package, not the working directory
    out = tmp_path / "out"
    code = main(["run", "--config", "example", *SHORT, "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == EXIT_OK, stderr
    assert "Operations" in stdout and "opened" in stdout and "closed" in stdout
    assert _png_size(out / "timeline.png")[0] > 0
    assert _printed_journal(stdout).is_file()


def test_run_with_a_config_file_uses_its_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo.example_config_text().replace("entry_threshold = 0.10", "entry_threshold = 50")
    path = tmp_path / "strict.toml"
    path.write_text(text)
    code = main(["run", "--config", str(path), *SHORT, "--out", str(tmp_path / "o")])
    stdout = capsys.readouterr().out
    assert code == EXIT_OK
    # 5,000 %/yr is never reached: nothing is traded.
    assert "opened" not in stdout.split("Strategy decisions", 1)[1]
    assert "timeline PNG" in stdout


def test_the_shipped_example_is_the_one_in_examples() -> None:
    shipped = demo.example_config_text()
    assert shipped == (ROOT / "examples" / "funding_arb.toml").read_text(encoding="utf-8")
    assert demo.load_config("example").symbols == tomllib.loads(shipped)["symbols"]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("entry_threshold = 0.10", 'entry_threshold = "lots"'), "entry_threshold"),
        (("deadline_s = 15", "deadline_s = -1"), "atomic.deadline_s"),
        (('aster = "ETHUSDT"', 'binance = "ETHUSDT"'), "symbols.binance"),
        (('hyperliquid = "ETH"', 'hyperliquid = "BTC"'), "symbols.hyperliquid"),
        (('notional_usd = "5000"', 'notional_usd = "5000"\nsurprise = 1'), "surprise"),
        (("[symbols]", "[symbols"), "not valid TOML"),
    ],
)
def test_run_with_a_bad_config_exits_3_naming_the_field(
    edit: tuple[str, str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo.example_config_text()
    assert edit[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    code = main(["run", "--config", str(path), *SHORT, "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == EXIT_INPUT
    assert captured.err.startswith("hedgekit: error: --config") and field in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert not (tmp_path / "o").exists()  # refused before anything ran


def test_run_with_a_missing_config_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "nope.toml" in err and len(err.strip().splitlines()) == 1
    assert main(["run"]) == EXIT_USAGE  # --config is required


# ---------------------------------------------------------------------------------- report


@pytest.mark.parametrize("by", ["venue,symbol", "venue,symbol,kind"])
def test_report_of_the_demo_journal_fits_100_columns_without_raw_nanoseconds(
    by: str, two_demo_runs: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir, outs = two_demo_runs
    journal = _printed_journal(outs[0])
    assert main(["report", "--db", str(journal), "--by", by, "--period", "1h"]) == EXIT_OK
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100, "\n".join(lines)
    assert not re.search(r"\d{12,}", text)  # no raw nanosecond timestamps
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", text)  # periods as ISO-8601 UTC
    assert re.search(r"\d+(\.\d)? (ms|s)\b", text)  # hedge latency as a duration
    for word in ("hyperliquid", "aster", "slip", "maker", "hedge", "mo 10s"):
        assert word in text


def test_report_without_db_reads_the_newest_demo_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == EXIT_INPUT  # no demo run yet: one line, exit 3
    assert "hedgekit demo" in capsys.readouterr().err
    assert main(["demo", *SHORT]) == EXIT_OK
    capsys.readouterr()
    assert main(["report"]) == EXIT_OK
    assert "hyperliquid" in capsys.readouterr().out


# --------------------------------------------------------------------------------- journal


def test_each_demo_run_gets_a_fresh_journal_whose_path_is_printed(
    two_demo_runs: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir, outs = two_demo_runs
    first, second = (_printed_journal(o) for o in outs)
    assert first != second and first.parent == second.parent == out_dir
    assert first.is_file() and second.is_file()
    assert {first, second} <= set(out_dir.glob("journal-*.sqlite3"))
    # The second run did not append to the first run's journal: each holds its own two
    # operations (an open and a close), read by the report.
    for journal in (first, second):
        assert main(["report", "--db", str(journal), "--by", "kind"]) == EXIT_OK
        text = capsys.readouterr().out
        first_block = text.split("\n\n")[1].splitlines()  # group columns, then ops
        rows = [ln.split() for ln in first_block if ln.startswith(("open ", "close "))]
        assert sorted((r[0], r[1]) for r in rows) == [("close", "1"), ("open", "1")], text


def test_demo_with_journal_given_uses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "mine.db"
    assert main(["demo", *SHORT, "--out", str(tmp_path), "--journal", str(db)]) == EXIT_OK
    assert _printed_journal(capsys.readouterr().out) == db and db.is_file()
    assert not list(tmp_path.glob("journal-*.sqlite3"))


# ------------------------------------------------------------------------------------- log


@pytest.mark.timeout(60)
def test_log_debug_on_simulate_writes_json_lines_on_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hedgekit", "--log", "DEBUG", "simulate", str(SCENARIO)],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == EXIT_OK, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert records, "no log line on stderr"
    levels = {r["level"] for r in records}
    assert {"DEBUG", "INFO"} <= levels
    assert any("invariant fills_counted_once held" in r["message"] for r in records)
    assert "all invariants held" in proc.stdout  # the report stays on stdout


@pytest.mark.timeout(60)
def test_without_log_simulate_writes_nothing_on_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hedgekit", "simulate", str(SCENARIO)],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == EXIT_OK and proc.stderr == ""


# ------------------------------------------------------------------------------- the PNG


@pytest.fixture(scope="module")
def short_run() -> demo.DemoRun:
    return demo.run_demo(3, 600.0)


def test_the_run_is_sampled_over_its_whole_duration(short_run: demo.DemoRun) -> None:
    run = short_run
    assert len(run.operations) == 2
    first, last = run.samples[0].ts_ns, run.samples[-1].ts_ns
    assert first <= min(r.started_ns for r in run.operations)
    assert last >= max(r.ended_ns for r in run.operations)
    assert (last - run.start_ns) / 1e9 >= run.duration_s - 1.0
    held = [s for s in run.samples if any(v != 0 for v in s.positions.values())]
    assert held and all(sum(s.positions.values()) == 0 for s in held[5:-5])  # hedged pair


def test_op_adds_a_panel_and_an_unknown_op_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    with_op = tmp_path / "op"
    assert main(["demo", *SHORT, "--out", str(plain)]) == EXIT_OK
    assert main(["demo", *SHORT, "--out", str(with_op), "--op", "1"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "with operation #1" in out
    assert _png_size(with_op / "timeline.png")[1] > _png_size(plain / "timeline.png")[1]
    assert main(["demo", *SHORT, "--out", str(tmp_path / "x"), "--op", "9"]) == EXIT_USAGE
    captured = capsys.readouterr()
    errors = [ln for ln in captured.err.splitlines() if ln.startswith("hedgekit: error:")]
    assert errors == ["hedgekit: error: --op 9: the run has 2 operation(s)"]
    assert (tmp_path / "x" / "timeline.png").is_file()  # the whole run is still drawn
    assert main(["demo", "--op", "0"]) == EXIT_USAGE


def test_plot_run_keeps_legends_outside_the_axes(
    short_run: demo.DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = []
    real = demo.matplotlib_figure

    def spy(width: float, height: float) -> object:
        fig = real(width, height)
        figures.append(fig)
        return fig

    monkeypatch.setattr(demo, "matplotlib_figure", spy)
    demo.plot_run(short_run, tmp_path / "t.png", op=1)
    (fig,) = figures
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 4
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent(renderer)
            assert box.x0 >= ax.get_window_extent(renderer).x1  # right of the plotting area
    # the whole run is on the x axis of the first three panels
    for ax in fig.axes[:3]:
        assert ax.get_xlim() == pytest.approx((0.0, short_run.duration_s / 60))


def test_without_matplotlib_the_demo_skips_the_png_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["demo", *SHORT, "--out", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("timeline PNG")]
    assert 'pip install "hedgekit[plot]"' in line
    assert not (tmp_path / "timeline.png").exists()


def test_a_journal_is_unchanged_by_a_later_run(two_demo_runs: tuple[Path, list[str]]) -> None:
    out_dir, outs = two_demo_runs
    first = _printed_journal(outs[0])
    before = hashlib.sha256(first.read_bytes()).hexdigest()
    assert main(["demo", *SHORT, "--out", str(out_dir)]) == EXIT_OK
    assert hashlib.sha256(first.read_bytes()).hexdigest() == before
    assert len(list(out_dir.glob("journal-*.sqlite3"))) >= 3
