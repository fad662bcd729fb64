"""``hedgekit demo --wire``: the funding-arbitrage demo with its Hyperliquid leg going through
the live adapter to the wire-level fake on 127.0.0.1, in real time (bounded: 15 s of run).

Judged by the fake's own record: the pair is opened and closed over the wire, every action the
fake accepted was signed by the agent for the account, the account is flat at the venue with
nothing resting, and every fill the venue booked reached our ledger exactly once."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekit import demo_wire
from hedgekit.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from hedgekit.demo import DemoRun
from hedgekit.execution import CloseStatus, OpenStatus

pytestmark = pytest.mark.timeout(180)


def test_the_pair_opens_and_closes_over_the_wire_and_the_venue_agrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["demo", "--wire", "--seconds", "15", "--no-progress", "--out", str(tmp_path / "out")]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "Over the wire" in out
    assert "the venue's truth agrees with the ledger" in out
    assert (tmp_path / "out" / "timeline.png").exists() or "timeline PNG: skipped" in out


def test_the_run_trades_through_the_fake_and_matches_its_record() -> None:
    run = demo_wire.run_wire_demo(seed=2, duration_s=15.0)
    w = run.wire
    assert w is not None
    statuses = [r.status for r in run.operations]
    assert OpenStatus.OPENED in statuses
    assert CloseStatus.CLOSED in statuses
    # real orders reached the fake, signed by the agent, and filled there
    assert w.posted > 0 and w.rest_actions == 0
    assert w.orders >= 2 and w.venue_fills >= 2
    # the venue's truth is ours
    assert w.venue_fills == w.fills_streamed
    assert w.venue_position == w.ledger_position == Decimal(0)
    assert w.venue_resting == 0
    assert w.mismatches == ()
    hl_fills = [
        f for r in run.operations for leg in r.legs for f in leg.fills if f.venue == "hyperliquid"
    ]
    assert len(hl_fills) == w.venue_fills


def test_a_disagreement_with_the_venue_exits_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = demo_wire.run_wire_demo

    def disagreeing(*args: object, **kwargs: object) -> DemoRun:
        run = real(3, 12.0)
        assert run.wire is not None
        run.wire = dataclasses.replace(
            run.wire, venue_resting=1, mismatches=("1 order(s) left resting at the venue",)
        )
        return run

    monkeypatch.setattr(demo_wire, "run_wire_demo", disagreeing)
    code = main(["demo", "--wire", "--no-progress", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "TRUTH MISMATCH: 1 order(s) left resting at the venue" in captured.out
    assert "the venue's truth disagrees with the ledger" in captured.err


def test_with_wire_aster_both_legs_trade_over_the_wire_and_both_venues_agree() -> None:
    run = demo_wire.run_wire_demo(seed=2, duration_s=15.0, aster_wire=True)
    hl, ast = run.wire, run.wire_aster
    assert hl is not None and ast is not None
    statuses = [r.status for r in run.operations]
    assert OpenStatus.OPENED in statuses
    assert CloseStatus.CLOSED in statuses
    # the Aster leg's orders reached its fake, V3-signed by the API wallet the user approved
    assert ast.posted > 0 and ast.orders >= 2 and ast.venue_fills >= 2
    assert ast.signer != ast.account
    # each fake's record is ours: fills once each, flat, nothing resting
    for w in (hl, ast):
        assert w.venue_fills == w.fills_streamed
        assert w.venue_position == w.ledger_position == Decimal(0)
        assert w.venue_resting == 0
        assert w.mismatches == ()
    aster_fills = [
        f for r in run.operations for leg in r.legs for f in leg.fills if f.venue == "aster"
    ]
    assert len(aster_fills) == ast.venue_fills


def test_wire_aster_without_wire_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--wire-aster", "--no-progress", "--out", str(tmp_path / "out")])
    assert code == EXIT_USAGE
    assert "--wire-aster goes with --wire" in capsys.readouterr().err
