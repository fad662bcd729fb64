"""``hedgekit demo --wire``: the funding-arbitrage demo with every leg going through its live
adapter to its wire-level fake on 127.0.0.1, in real time (bounded: 15 s a run).

Judged by each fake's own record: the pair is opened and closed over the wire, every action the
fake accepted was signed for the account, the account is flat at the venue with nothing
resting, and every fill the venue booked reached our ledger exactly once."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekit import demo_wire
from hedgekit.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from hedgekit.demo import ASTER, HL, LIGHTER, DemoRun, WireSummary, run_demo
from hedgekit.execution import CloseStatus, OpenStatus

pytestmark = pytest.mark.timeout(240)


def _agrees(run: DemoRun) -> None:
    """Each fake's record is ours: fills once each (and each of them in an operation's result),
    flat, nothing resting; real signed orders reached it and filled there."""
    statuses = [r.status for r in run.operations]
    assert OpenStatus.OPENED in statuses
    assert CloseStatus.CLOSED in statuses
    assert set(run.wires) == set(run.pair)
    for venue, w in run.wires.items():
        assert w.posted > 0 and w.orders >= 2 and w.venue_fills >= 2, venue
        assert w.signer != w.account, venue  # an agent / API wallet / API key of the account
        assert w.venue_fills == w.fills_streamed, venue
        assert w.venue_position == w.ledger_position == Decimal(0), venue
        assert w.venue_resting == 0, venue
        assert w.mismatches == (), venue
        fills = [f for r in run.operations for leg in r.legs for f in leg.fills if f.venue == venue]
        assert len(fills) == w.venue_fills, venue


def test_the_cli_runs_every_wire_pair_and_every_venue_agrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["demo", "--wire", "--seconds", "15", "--no-progress", "--out", str(tmp_path / "out")]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    venues = {v for pair in demo_wire.WIRE_PAIRS for v in pair}
    for venue in venues:
        title = {HL: "Hyperliquid", ASTER: "Aster", LIGHTER: "Lighter"}[venue]
        assert f"{title} over the wire" in out
    assert out.count("the venue's truth agrees with the ledger") == 2 * len(demo_wire.WIRE_PAIRS)
    assert "TRUTH MISMATCH" not in out


@pytest.mark.parametrize("pair", [(ASTER, LIGHTER), (ASTER, HL), (LIGHTER, HL)], ids="-".join)
def test_the_pair_opens_and_closes_over_the_wire_and_both_venues_agree(
    pair: tuple[str, str],
) -> None:
    run = demo_wire.run_wire_demo(seed=2, duration_s=15.0, pair=pair)
    assert run.pair == pair
    _agrees(run)
    # the long leg is the first venue of the pair: it bought first
    first_open = next(r for r in run.operations if r.status is OpenStatus.OPENED)
    sides = {leg.venue: leg.side.value for leg in first_open.legs}
    assert sides == {pair[0]: "buy", pair[1]: "sell"}


def test_a_disagreement_with_the_venue_exits_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = demo_wire.run_wire_demo

    def disagreeing(*args: object, **kwargs: object) -> DemoRun:
        run = real(3, 12.0, pair=(ASTER, HL))
        w: WireSummary = run.wires[HL]
        run.wires[HL] = dataclasses.replace(
            w, venue_resting=1, mismatches=("hyperliquid: 1 order(s) left resting at the venue",)
        )
        return run

    monkeypatch.setattr(demo_wire, "run_wire_demo", disagreeing)
    code = main(
        ["demo", "--wire", "--pair", "aster,hyperliquid", "--no-progress", "--out",
         str(tmp_path / "out")]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "TRUTH MISMATCH: hyperliquid: 1 order(s) left resting at the venue" in captured.out
    assert "the venue's truth disagrees with the ledger" in captured.err


@pytest.mark.parametrize(
    "text", ["aster,aster", "aster", "aster,binance", "aster,lighter,hyperliquid"]
)
def test_a_pair_that_is_not_two_demo_venues_is_a_usage_error(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--pair", text, "--no-progress", "--out", str(tmp_path / "out")])
    assert code == EXIT_USAGE
    assert "--pair" in capsys.readouterr().err


@pytest.mark.parametrize("pair", [(ASTER, LIGHTER), (LIGHTER, HL), (HL, ASTER)], ids="-".join)
def test_the_simulated_demo_trades_any_pair_long_leg_first(pair: tuple[str, str]) -> None:
    run = run_demo(seed=1, duration_s=1800.0, pair=pair)
    assert run.pair == pair
    first_open = next(r for r in run.operations if r.status is OpenStatus.OPENED)
    sides = {leg.venue: leg.side.value for leg in first_open.legs}
    assert sides == {pair[0]: "buy", pair[1]: "sell"}
    assert not run.exposed
