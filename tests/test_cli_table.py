"""The front door as a hostile user meets it: every row runs ``python -m hedgekit`` in its own
process, bounded by a timeout, and must end with its documented exit code (0 ok, 1 invariant or
exposed, 2 usage, 3 missing or malformed input, 4 venue or journal failure) and, when it fails,
a one-line message on stderr — never a traceback and never a hang."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hedgekit.sweep import scenario_for

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60
OPEN_SEED = 1  # a seed whose generated scenario is an open


def _scenario(tmp: Path, name: str, edit: Callable[[dict], None] | None = None) -> str:  # type: ignore[type-arg]
    data = scenario_for(OPEN_SEED, "none")
    if edit is not None:
        edit(data)
    path = tmp / name
    path.write_text(json.dumps(data))  # float('inf') is written as JSON's Infinity
    return str(path)


def _set(where: str, key: str, value: object) -> Callable[[dict], None]:  # type: ignore[type-arg]
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        if where == "operation":
            data["operation"][key] = value
        elif where == "config":
            data["operation"].setdefault("config", {})[key] = value
        else:
            data["venues"][0]["market"][key] = value

    return edit


def _customer_db(tmp: Path) -> str:
    path = tmp / "customers.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers(name) VALUES ('ada')")
    return str(path)


def _file(tmp: Path, name: str, content: bytes) -> str:
    path = tmp / name
    path.write_bytes(content)
    return str(path)


# Each row: (argv builder, expected exit code, a word the message must contain or None).
ROWS: dict[str, tuple[Callable[[Path], list[str]], int, str | None]] = {
    "a valid scenario": (lambda t: ["simulate", _scenario(t, "ok.json")], 0, None),
    "start_after_s = inf": (
        lambda t: [
            "simulate",
            _scenario(t, "s.json", _set("operation", "start_after_s", float("inf"))),
        ],
        3,
        "start_after_s",
    ),
    "start_after_s = 1e12": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("operation", "start_after_s", 1e12))],
        3,
        "start_after_s",
    ),
    "settle_s = Infinity": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("operation", "settle_s", float("inf")))],
        3,
        "settle_s",
    ),
    "size = 1e400": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("operation", "size", "1e400"))],
        3,
        "size",
    ),
    "size = 9300000000": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("operation", "size", "9300000000"))],
        3,
        "size",
    ),
    "size = 1.0000000001": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("operation", "size", "1.0000000001"))],
        3,
        "size",
    ),
    "levels = 100000000": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("market", "levels", 100_000_000))],
        3,
        "levels",
    ),
    "deadline_s = NaN": (
        lambda t: ["simulate", _scenario(t, "s.json", _set("config", "deadline_s", float("nan")))],
        3,
        "deadline_s",
    ),
    "JSON nested 100k deep": (
        lambda t: ["simulate", _file(t, "deep.json", b"[" * 100_000 + b"]" * 100_000)],
        3,
        "nested",
    ),
    "binary garbage": (
        lambda t: ["simulate", _file(t, "junk.toml", bytes(range(256)) * 4)],
        3,
        None,
    ),
    "a directory as scenario": (lambda t: ["simulate", str(t)], 3, None),
    "a missing scenario": (lambda t: ["simulate", str(t / "nope.toml")], 3, None),
    "report --db on another application's SQLite file": (
        lambda t: ["report", "--db", _customer_db(t)],
        3,
        None,
    ),
    "report --db on an empty file": (
        lambda t: ["report", "--db", _file(t, "empty.db", b"")],
        3,
        None,
    ),
    "report --db on a text file": (
        lambda t: ["report", "--db", _file(t, "notes.db", b"hello\n" * 100)],
        3,
        None,
    ),
    "report --db on a missing file": (lambda t: ["report", "--db", str(t / "none.db")], 3, None),
    "report --plot to a directory": (
        lambda t: ["report", "--db", str(t / "none.db"), "--plot", str(t)],
        3,
        None,
    ),
    "demo --journal with a malformed URL": (
        lambda t: ["demo", "--out", str(t / "d"), "--journal", "postgresql://u:S3CRETPW@[::1/db"],
        3,
        None,
    ),
    "an unknown command": (lambda t: ["frobnicate"], 2, None),
    "sweep --seeds 0": (lambda t: ["sweep", "--seeds", "0"], 2, None),
    "sweep --seeds -5": (lambda t: ["sweep", "--seeds", "-5"], 2, None),
    "an unknown log level": (lambda t: ["--log", "LOUD", "simulate", "x.toml"], 2, None),
}


@pytest.mark.timeout(TIMEOUT_S + 10)
@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_front_door_row_ends_with_its_exit_code_and_one_line(
    row: str, tmp_path: Path
) -> None:
    build, code, word = ROWS[row]
    argv = build(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.run(
        [sys.executable, "-m", "hedgekit", *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == code, (row, proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]
    assert "S3CRETPW" not in proc.stderr + proc.stdout
    if code != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        if code != 2:  # argparse prints its usage line before the one-line error
            assert len(lines) == 1, proc.stderr
        assert lines and "error" in lines[-1].lower(), proc.stderr
        if word is not None:
            assert word in proc.stderr, proc.stderr
