"""Funding in scenario files: an 8-hourly venue against a continuous one over 24 h of venue time
(``tests/scenarios/funding_8h_vs_continuous.toml``) is booked from the venues' payments with
the right sign; the ``funding_booked`` invariant catches a book that counts twice or an
expectation of the wrong sign."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit.cli import main
from hedgekit.risk.funding_book import FundingBook
from hedgekit.scenario import ScenarioError, parse_scenario
from hedgekit.simulate import simulate

FILE = Path(__file__).parent / "scenarios" / "funding_8h_vs_continuous.toml"


def _short(**changes: Any) -> dict[str, Any]:
    """The file's scenario over 3 h of venue time, the 8-hourly venue made hourly (fast)."""
    data = tomllib.loads(FILE.read_text())
    data["operation"]["settle_s"] = 3 * 3600
    data["venues"][0]["margin"]["funding_interval_h"] = 1
    data["expect"]["funding"]["aster"]["payments"] = 3
    data.update(changes)
    return data


@pytest.mark.timeout(900)  # 24 h of venue time: heartbeats and timers of two venues, all day
def test_24h_of_an_8_hourly_venue_against_a_continuous_one_books_the_venues_payments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", str(FILE)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("funding_booked"))
    assert " yes " in line
    # aster: long 1 ETH under +0.0001 per 8 h, three settlements in the day, each
    # -(+1) x mark x 0.0001, paid; hl: short 1 ETH under +0.00001 per hour, continuous,
    # realised every 5 min for 24 h = 288 payments, received: 1 x 2400 x 0.00001 x 24 = 0.576
    assert "aster -0.72009 in 3 payments" in line
    assert "hl 0.57600 in 288 payments" in line


def test_the_invariant_catches_a_book_that_counts_a_payment_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add = FundingBook.add

    def twice(self: FundingBook, payment: Any) -> bool:
        new = add(self, payment)
        if new and payment.venue == "aster":
            self._paid["aster"] += payment.amount  # a payment booked twice
        return new

    monkeypatch.setattr(FundingBook, "add", twice)
    report = simulate(parse_scenario(_short()))
    check = report["invariants"]["funding_booked"]
    assert not check["held"] and not report["all_invariants_held"]
    assert "aster: booked" in check["detail"] and "the venue paid" in check["detail"]


def test_the_invariant_checks_the_hand_computed_sign_and_count() -> None:
    good = simulate(parse_scenario(_short()))
    assert good["invariants"]["funding_booked"]["held"], good["invariants"]["funding_booked"]
    data = _short()
    data["expect"]["funding"] = {
        "aster": {"sign": "received", "payments": 4},  # a long under a positive rate pays
        "hl": {"sign": "paid"},  # a short under a positive rate receives
    }
    check = simulate(parse_scenario(data))["invariants"]["funding_booked"]
    assert not check["held"]
    assert "aster: expected funding received" in check["detail"]
    assert "aster: expected 4 payments, booked 3" in check["detail"]
    assert "hl: expected funding paid" in check["detail"]


def test_a_negative_rate_turns_the_signs_around() -> None:
    data = _short()
    data["venues"][0]["market"]["funding_rate"] = "-0.0001"
    data["venues"][1]["market"]["funding_rate"] = "-0.00001"
    data["expect"]["funding"] = {"aster": {"sign": "received"}, "hl": {"sign": "paid"}}
    report = simulate(parse_scenario(data))
    assert report["invariants"]["funding_booked"]["held"], report["invariants"]["funding_booked"]
    assert report["all_invariants_held"]


def test_without_expectations_there_is_no_funding_check() -> None:
    data = _short()
    del data["expect"]
    data["operation"]["settle_s"] = 5
    assert "funding_booked" not in simulate(parse_scenario(data))["invariants"]


def test_an_expectation_for_an_unknown_venue_or_sign_is_refused() -> None:
    data = _short()
    data["expect"]["funding"]["lighter"] = {"sign": "paid"}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field.startswith("expect.funding.lighter")
    data = _short()
    data["expect"]["funding"]["aster"]["sign"] = "owed"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert "expect.funding" in err.value.field


def test_continuous_funding_is_realised_pro_rata_on_the_simulated_venue() -> None:
    sc = parse_scenario(_short())
    hl = next(v for v in sc.venues if v.name == "hl")
    assert hl.instruments[0].funding_continuous_s == 300
    report = simulate(sc)
    detail = report["invariants"]["funding_booked"]["detail"]
    # 3 h short of 1 ETH at 2400 under 0.00001 per hour: 36 payments of 0.002 each
    assert "hl 0.07200 in 36 payments" in detail, detail
    assert Decimal("0.072") == Decimal(2400) * Decimal("0.00001") * 3
