"""The ``hedgekit`` command line: demo, simulate, report, errors and exit codes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hedgekit import cli
from hedgekit.cli import EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """One short demo run shared by the demo and report tests: (code, stdout, stderr, out dir)."""
    out = tmp_path_factory.mktemp("demo")
    cap_out, cap_err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cap_out, cap_err
    try:
        code = main(["demo", "--seed", "3", "--duration", "10", "--out", str(out), "--no-progress"])
    finally:
        sys.stdout, sys.stderr = old
    return code, cap_out.getvalue(), cap_err.getvalue(), out


def _journal(out_dir: Path) -> Path:
    """The one journal the demo run wrote in ``out_dir`` (a fresh file per run)."""
    (path,) = out_dir.glob("journal-*.sqlite3")
    return path


# --------------------------------------------------------------------------------- help


@pytest.mark.timeout(60)
def test_python_m_hedgekit_help_lists_the_commands_and_exit_codes() -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run(
        [sys.executable, "-m", "hedgekit", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("demo", "simulate", "report", "exit codes", "130"):
        assert word in proc.stdout


def test_help_of_a_command_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--help"]) == EXIT_OK
    assert "--json" in capsys.readouterr().out


# --------------------------------------------------------------------------------- demo


def test_demo_reports_opens_and_closes_and_writes_png_and_journal(
    demo_run: tuple[int, str, str, Path],
) -> None:
    code, out, err, out_dir = demo_run
    assert code == EXIT_OK, err
    for section in ("Operations", "Fills per leg", "Hedges", "Incidents", "Strategy decisions"):
        assert section in out
    assert "maker" in out and "cost bps" in out and "exposure USD·s" in out
    table = out.split("Operations\n", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = [line.split() for line in table]
    assert [(r[1], r[4]) for r in rows] == [("open", "opened"), ("close", "closed")]
    assert "closed: flipped" in out
    png = out_dir / "timeline.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    journal = _journal(out_dir)
    assert str(png) in out and f"journal:      {journal}" in out
    # Not a terminal / --no-progress: one line per event on stderr.
    assert "opened long" in err and "closed: flipped" in err


def test_report_reads_the_demo_journal(
    demo_run: tuple[int, str, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, _, out_dir = demo_run
    plot = out_dir / "stats.png"
    code = main(
        [
            "report",
            "--db",
            str(_journal(out_dir)),
            "--by",
            "venue,kind",
            "--period",
            "1h",
            "--plot",
            str(plot),
        ]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "hyperliquid" in out and "aster" in out
    assert plot.read_bytes()[:8] == PNG_MAGIC
    code = main(["report", "--db", f"sqlite:///{_journal(out_dir)}"])
    assert code == EXIT_OK


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_report_plot_to_an_unwritable_path_exits_3_without_a_traceback(
    where: str, demo_run: tuple[int, str, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, _, out_dir = demo_run
    target = out_dir if where == "a directory" else _journal(out_dir) / "stats.png"
    code = main(["report", "--db", str(_journal(out_dir)), "--plot", str(target)])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert err.startswith("hedgekit: error: --plot") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_demo_whose_timeline_png_is_a_directory_exits_3_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "timeline.png").mkdir()
    code = main(
        ["demo", "--seed", "3", "--duration", "10", "--out", str(tmp_path), "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert "hedgekit: error: --out" in err and "timeline.png" in err and "Traceback" not in err


def test_progress_line_updates_in_place_on_a_terminal() -> None:
    from hedgekit.demo import DemoStatus
    from hedgekit.strategies import Skipped

    stream = io.StringIO()
    p = cli._Progress(stream, live=True)
    p.event(Skipped(0, "below_threshold"), DemoStatus(61.0, 600.0, "flat", None))
    p.event(Skipped(0, "below_threshold"), DemoStatus(121.0, 600.0, "open", None))
    p.done()
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "0:02:01" in text and "open" in text


# ----------------------------------------------------------------------------- simulate


def test_simulate_json_is_one_document_with_every_invariant_held(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["simulate", str(SCENARIOS / "one_leg_never_fills.toml"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert report["all_invariants_held"] is True
    assert all(inv["held"] for inv in report["invariants"].values())
    assert report["result"]["status"] == "opened"


def test_simulate_summary_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(SCENARIOS / "one_leg_never_fills.toml"), "--seed", "7"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "status:" in out and "invariants:" in out and "all invariants held" in out
    assert "fills_counted_once" in out


def test_simulate_a_failed_invariant_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import hedgekit.simulate

    def fake(path: object, *, seed: int | None = None) -> dict[str, object]:
        return {
            "scenario": "x",
            "seed": 0,
            "kind": "open",
            "virtual_s": 0.0,
            "all_invariants_held": False,
            "invariants": {"fills_counted_once": {"held": False, "detail": "duplicates 1"}},
            "result": {
                "status": "opened",
                "reason": None,
                "legs": [],
                "incidents": [],
                "started_ns": 0,
            },
        }

    monkeypatch.setattr(hedgekit.simulate, "simulate", fake)
    assert main(["simulate", str(SCENARIOS / "one_leg_never_fills.toml")]) == EXIT_FAILED
    assert "AN INVARIANT FAILED" in capsys.readouterr().out


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["demo", "--seed", "many"],
        ["demo", "--duration", "0"],
        ["demo", "--bogus"],
        ["simulate"],
        ["report", "--period", "soon"],
        ["report", "--by", "venue,colour"],
        ["fake"],
        ["fake", "binance"],
        ["fake", "hyperliquid", "--account", "0x1234"],
        ["fake", "hyperliquid", "--balance", "-5"],
        ["fake", "hyperliquid", "--port", "70000"],
        ["fake", "aster", "--api-key", "k"],
        ["fake", "aster", "--account", "0x12"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "hedgekit: error:" in err and "Traceback" not in err


def test_a_missing_scenario_file_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(tmp_path / "nope.toml")]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("hedgekit: error:") and "nope.toml" in err and "Traceback" not in err


def test_a_malformed_scenario_exits_3_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        (SCENARIOS / "one_leg_never_fills.toml")
        .read_text()
        .replace('mid = "2400.5"', "mid = 2400.5")
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert main(["simulate", str(bad)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "hedgekit: error:" in err and "venues[1].market.mid" in err and "Traceback" not in err
    garbage = tmp_path / "garbage.toml"
    garbage.write_text("[[venues]\n")
    assert main(["simulate", str(garbage)]) == EXIT_INPUT


def test_report_on_a_missing_journal_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--db", str(tmp_path / "none.sqlite3")]) == EXIT_INPUT
    assert "no such journal" in capsys.readouterr().err
    assert main(["report", "--db", "mysql://x/y"]) == EXIT_INPUT
    assert main(["report", "--db", "sqlite:/x"]) == EXIT_INPUT


def test_demo_with_a_bad_journal_url_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["demo", "--out", str(tmp_path), "--journal", "mongodb://x", "--no-progress"])
        == EXIT_INPUT
    )
    assert (
        main(["demo", "--out", str(tmp_path), "--journal", str(tmp_path / "no" / "dir.db")])
        == EXIT_INPUT
    )
    assert "hedgekit: error:" in capsys.readouterr().err


def test_ctrl_c_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_simulate", interrupted)
    assert main(["simulate", "x.toml"]) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err


def test_log_option_writes_redacted_json_lines_to_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    import hedgekit.cli as cli_module
    from hedgekit.secrets import Secret

    scenario = Path(__file__).parent / "scenarios" / "below_minimum.toml"
    key = Secret("sk-cli-test-0042")
    hk = logging.getLogger("hedgekit")
    before = list(hk.handlers), hk.level
    command = cli_module._command

    def probed(args: object) -> int:  # a secret logged while the command runs
        logging.getLogger("hedgekit.probe").info("probe with %s", key.reveal())
        return command(args)

    monkeypatch.setattr(cli_module, "_command", probed)
    assert main(["--log", "INFO", "simulate", str(scenario)]) == 0
    assert (list(hk.handlers), hk.level) == before  # main leaves logging as it found it
    err = capsys.readouterr().err
    records = [json.loads(ln) for ln in err.splitlines() if ln.startswith("{")]
    probe = [r for r in records if r["logger"] == "hedgekit.probe"]
    assert len(probe) == 1 and probe[0]["level"] == "INFO"
    assert "sk-cli-test-0042" not in err and "***" in probe[0]["message"]


def test_log_option_refuses_an_unknown_level(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--log", "LOUD", "simulate", "x.toml"]) == 2
    assert "--log" in capsys.readouterr().err


_HOSTILE_JSON = {
    # durations that would run forever, sizes outside the core's exact range, absurd depths
    "start_after_s = inf": ("operation", "start_after_s", float("inf")),
    "start_after_s = 1e12": ("operation", "start_after_s", 1e12),
    "settle_s = Infinity": ("operation", "settle_s", float("inf")),
    "deadline_s = 1e12": ("config", "deadline_s", 1e12),
    "size = 1e400": ("operation", "size", "1e400"),
    "size = 9300000000": ("operation", "size", "9300000000"),
    "size = 1.0000000001": ("operation", "size", "1.0000000001"),
    "levels = 100000000": ("market", "levels", 100_000_000),
    "trade_rate_per_s = 1e9": ("market", "trade_rate_per_s", 1e9),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(_HOSTILE_JSON))
def test_an_unbounded_or_inexact_value_in_a_scenario_exits_3_at_once(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every duration and size read from a file is finite and bounded, or refused at once with
    exit 3 and a one-line message naming the field — never a hang or a failure mid-run."""
    from hedgekit.sweep import scenario_for

    data = scenario_for(OPEN_SEED, "none")
    assert data["operation"]["kind"] == "open"
    path = tmp_path / "good.json"
    path.write_text(json.dumps(data))
    assert main(["simulate", str(path)]) in (EXIT_OK, EXIT_FAILED)  # the unmodified file runs
    capsys.readouterr()
    where, key, value = _HOSTILE_JSON[case]
    if where == "operation":
        data["operation"][key] = value
    elif where == "config":
        data["operation"].setdefault("config", {})[key] = value
    else:
        data["venues"][0]["market"][key] = value
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))  # inf is written as JSON's Infinity
    assert main(["simulate", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("hedgekit: error:") and key in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


OPEN_SEED = 1
"""A seed whose generated scenario is an open."""


def test_json_nested_too_deeply_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["simulate", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "nested too deeply" in err and "Traceback" not in err


# ----------------------------------------------------------------- funding per venue


def _funding_journal(path: Path) -> None:
    """A journal with one open (fees on both legs) and the venues' funding payments: hl paid
    twice to the short (one payment journalled twice), aster charged the long once."""
    import asyncio
    from decimal import Decimal

    from hedgekit.journal import open_journal

    async def write() -> None:
        async with await open_journal(str(path)) as j:
            legs = [{"venue": "hl", "symbol": "ETH"}, {"venue": "aster", "symbol": "ETHUSDT"}]
            op = await j.start_operation("open", legs, {}, ts_ns=1_000)
            result = {
                "legs": [
                    {"venue": "hl", "symbol": "ETH", "fees": "1.08", "slippage_bps": 2.5},
                    {"venue": "aster", "symbol": "ETHUSDT", "fees": "0.84", "slippage_bps": 1.5},
                ]
            }
            await j.finish_operation(op, "opened", result, ts_ns=2_000)
            pay = {"venue": "hl", "symbol": "ETH", "rate": Decimal("0.00001")}
            await j.record(None, "funding", {**pay, "amount": Decimal("0.024")}, ts_ns=3_000)
            await j.record(None, "funding", {**pay, "amount": Decimal("0.024")}, ts_ns=3_000)
            await j.record(None, "funding", {**pay, "amount": Decimal("0.0241")}, ts_ns=4_000)
            await j.record(
                None,
                "funding",
                {"venue": "aster", "symbol": "ETHUSDT", "amount": Decimal("-0.24003")},
                ts_ns=5_000,
            )

    asyncio.run(write())


def test_report_shows_funding_per_venue_next_to_fees_and_slippage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "funding.sqlite3"
    _funding_journal(db)
    assert main(["report", "--db", str(db)]) == EXIT_OK
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("venue"))
    assert header.split()[2:8] == ["ops", "slip", "mean", "slip", "med", "fees"]
    assert header.split()[8] == "funding"
    rows = {line.split()[0]: line.split() for line in out.splitlines()[5:8] if line}
    # slippage, fees, then funding: the hl payment journalled twice is counted once
    assert rows["hl"][3:7] == ["2.50", "2.50", "1.08", "0.0481"]
    assert rows["aster"][3:7] == ["1.50", "1.50", "0.84", "-0.24003"]
    assert main(["report", "--db", str(db), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    by_venue = {r["venue"]: r for r in data["rows"]}
    assert by_venue["hl"]["funding_total"] == "0.0481" and by_venue["hl"]["funding_payments"] == 2
    assert by_venue["aster"]["funding_total"] == "-0.24003"
    assert by_venue["aster"]["fees_total"] == "0.84"
    assert by_venue["hl"]["slippage_bps_mean"] == 2.5


def test_demo_journal_reports_the_funding_the_venues_paid(
    demo_run: tuple[int, str, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, _, out_dir = demo_run
    assert main(["report", "--db", str(_journal(out_dir)), "--json"]) == EXIT_OK
    rows = {r["venue"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    # both settle halfway through the demo while the pair (short hyperliquid under a positive
    # rate, long aster under a negative one) is held: each leg receives one payment
    for venue in ("hyperliquid", "aster"):
        assert rows[venue]["funding_payments"] == 1
        assert float(rows[venue]["funding_total"]) > 0


def test_demo_prints_funding_per_venue_and_each_legs_liquidation_distance(
    demo_run: tuple[int, str, str, Path],
) -> None:
    code, out, _, _ = demo_run
    assert code == EXIT_OK
    funding = out.split("Funding per venue", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = {line.split()[0]: line.split() for line in funding[3:]}
    # short hyperliquid at +0.006 %/h and long aster at -0.004 %/8 h when both settle: received
    for venue in ("hyperliquid", "aster"):
        payments, paid, accrued, fees, net = rows[venue][1:6]
        assert payments == "1" and paid.startswith("+") and float(paid) > 0
        assert float(accrued) == 0 and float(fees) > 0
        assert float(net) == pytest.approx(float(paid) - float(fees), abs=2e-4)
    assert float(rows["total"][2]) == pytest.approx(
        float(rows["hyperliquid"][2]) + float(rows["aster"][2]), abs=2e-4
    )
    dist = out.split("Liquidation distance per leg", 1)[1].split("\n\n", 1)[0].splitlines()
    legs = [line.split() for line in dist[3:]]
    assert {(r[1], r[2], r[3], r[7]) for r in legs} == {
        ("opened", "aster", "long", "venue"),
        ("opened", "hyperliquid", "short", "model"),
        ("held", "aster", "long", "venue"),
        ("held", "hyperliquid", "short", "model"),
    }
    for _, _, _, side, mark, liq, distance, _ in legs:
        # a long is liquidated below its mark, a short above; the distance is |liq - mark| / mark
        assert (float(liq) < float(mark)) if side == "long" else (float(liq) > float(mark))
        pct = float(distance.rstrip("%"))
        assert 20 < pct < 80
        assert pct == pytest.approx(abs(float(liq) - float(mark)) / float(mark) * 100, abs=0.02)


# ------------------------------------------------------------------------------- fake


FAKE_ACCOUNT = "0x" + "ab" * 20


def _post_json(url: str, body: dict[str, object]) -> object:
    import urllib.request

    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - 127.0.0.1 only
        return json.loads(r.read())


def _ctrl_c_as_from_a_terminal() -> None:
    """In the child before it runs: Ctrl-C's default disposition, as a terminal gives it. A
    test suite started in the background by a shell without job control inherits SIGINT
    ignored, and Python then leaves it ignored (no KeyboardInterrupt), as it should."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.timeout(60)
def test_fake_hyperliquid_prints_its_url_serves_and_exits_130_on_ctrl_c() -> None:
    import signal

    env = {**os.environ, "PYTHONWARNINGS": "error"}
    argv = [sys.executable, "-m", "hedgekit", "fake", "hyperliquid", "--port", "0"]
    argv += ["--account", FAKE_ACCOUNT.upper().replace("0X", "0x"), "--balance", "5000"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_ctrl_c_as_from_a_terminal,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line), line
        meta = _post_json(line + "/info", {"type": "meta"})
        assert isinstance(meta, dict) and meta["universe"][1]["name"] == "ETH"
        state = _post_json(line + "/info", {"type": "clearinghouseState", "user": FAKE_ACCOUNT})
        assert isinstance(state, dict)
        assert state["marginSummary"]["accountValue"] == "5000.0"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert out == ""  # the URL was the only line
    assert "Traceback" not in err


@pytest.mark.timeout(60)
def test_fake_aster_prints_its_url_serves_v1_and_exits_130_on_ctrl_c() -> None:
    import hashlib
    import hmac
    import signal
    import time
    import urllib.error
    import urllib.request

    env = {**os.environ, "PYTHONWARNINGS": "error"}
    argv = [sys.executable, "-m", "hedgekit", "fake", "aster", "--port", "0"]
    argv += ["--api-key", "k", "--api-secret", "s3cret", "--balance", "5000"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_ctrl_c_as_from_a_terminal,
    )  # fmt: skip

    def balance(secret: str) -> object:
        query = f"timestamp={int(time.time() * 1000)}"
        sig = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{line}/fapi/v2/balance?{query}&signature={sig}", headers={"X-MBX-APIKEY": "k"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - 127.0.0.1
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line), line
        rows = balance("s3cret")
        assert isinstance(rows, list) and rows[0]["balance"] == "5000"
        assert balance("wrong") == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert out == ""
    assert "s3cret" not in err  # the secret is never logged


def test_fake_hyperliquid_on_a_busy_port_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["fake", "hyperliquid", "--port", str(port)]) == cli.EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "hedgekit: error: cannot serve on 127.0.0.1:" in captured.err
