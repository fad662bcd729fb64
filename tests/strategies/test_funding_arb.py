"""The funding arbitrage on two simulated venues, on the virtual clock: it opens when the net
divergence clears the threshold, closes on a flip, on erosion and on stale data, never opens
below the threshold; its configuration names the culprit field of every error."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit._core import FillLedger, Instrument
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.execution import AtomicConfig, AtomicResult, CloseStatus, EntryPlan, OpenStatus
from hedgekit.model import FundingPayment, FundingRate
from hedgekit.strategies import (
    Closed,
    ConfigError,
    FundingArb,
    FundingArbConfig,
    Monitored,
    Opened,
    Skipped,
    StrategyEvent,
)
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import (
    FaultConfig,
    Lat,
    LatencyConfig,
    MarginConfig,
    MarketConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    aster,
    hyperliquid,
)

D = Decimal
S = 1_000_000_000
T0 = 1_767_225_600 * S  # the virtual clock's start: 2026-01-01 00:00 UTC
EXAMPLE = Path(__file__).parents[2] / "examples" / "funding_arb.toml"
SYMBOLS = {"hl": "ETH", "ast": "ETHUSDT"}

pytestmark = pytest.mark.timeout(60)


class BufferedJournal:  # an in-memory journal: every call kept, in order
    """Keeps every journal call in memory with its timestamp."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], int | None]] = []
        self._n = 0

    async def start_operation(
        self,
        kind: str,
        legs: list[dict[str, Any]],
        params: dict[str, Any],
        *,
        op_id: str | None = None,
        ts_ns: int | None = None,
    ) -> str:
        """Keeps a ``start_operation`` call; returns the operation's id."""
        self._n += 1
        oid = op_id or uuid.uuid4().hex
        self.calls.append(("start", (kind, legs, params, oid), ts_ns))
        return oid

    async def record(
        self, op_id: str | None, event: str, data: dict[str, Any], *, ts_ns: int | None = None
    ) -> int:
        """Keeps a ``record`` call."""
        self.calls.append(("record", (op_id, event, data), ts_ns))
        return len(self.calls)

    async def finish_operation(
        self, op_id: str, status: str, result: dict[str, Any], *, ts_ns: int | None = None
    ) -> None:
        """Keeps a ``finish_operation`` call."""
        self.calls.append(("finish", (op_id, status, result), ts_ns))


class FrozenFundingVenue(SimVenue):
    """A simulated venue whose funding feed stops updating after ``freeze_after_s``."""

    freeze_after_s: float = 1e18
    _frozen: dict[str, FundingRate] | None = None

    async def funding_rates(self) -> dict[str, FundingRate]:
        if self._frozen is not None:
            return self._frozen
        rates = await super().funding_rates()
        if (self.now_ns() - self.start_ns) / S >= self.freeze_after_s:
            self._frozen = rates
        return rates


def _venues(
    hl_path: Sequence[tuple[float, str]], ast_path: Sequence[tuple[float, str]]
) -> list[SimVenueConfig]:
    """Two venues; each path is ``(seconds, rate per interval)`` (the first is the start)."""

    def market(mid: str, tick: str, path: Sequence[tuple[float, str]]) -> MarketConfig:
        return MarketConfig(
            mid=D(mid),
            tick=D(tick),
            level_size=D(10),
            funding_rate=D(path[0][1]),
            script=tuple(ScriptedEvent(int(t * S), "funding", price=D(r)) for t, r in path[1:]),
        )

    lat = LatencyConfig(
        entry=Lat(10_000_000),
        response=Lat(10_000_000),
        feed_public=Lat(5_000_000),
        feed_private=Lat(5_000_000),
    )
    return [
        SimVenueConfig(
            "hl",
            hyperliquid(),
            (SimInstrument("ETH", Instrument.hyperliquid(4), market("2400", "0.1", hl_path)),),
            latency=lat,
            seed=1,
        ),
        SimVenueConfig(
            "ast",
            aster(),
            (
                SimInstrument(
                    "ETHUSDT",
                    Instrument.plain("0.01", "0.001", min_qty="0.001", min_notional="5"),
                    market("2400.2", "0.1", ast_path),
                ),
            ),
            latency=lat,
            seed=2,
        ),
    ]


def _config(**kw: Any) -> FundingArbConfig:
    base: dict[str, Any] = {
        "symbols": SYMBOLS,
        "size": D("1"),
        "entry_threshold": D("0.10"),
        "scan_interval_s": 10.0,
        "atomic": AtomicConfig(plan=EntryPlan.TAKER_BOTH),
    }
    base.update(kw)
    return FundingArbConfig(**base)


class Outcome:
    def __init__(self) -> None:
        self.events: list[StrategyEvent] = []
        self.strategy: FundingArb | None = None
        self.positions: dict[str, Decimal] = {}
        self.paid: dict[str, list[FundingPayment]] = {}

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def _run(
    hl_path: Sequence[tuple[float, str]],
    ast_path: Sequence[tuple[float, str]],
    duration_s: float = 300.0,
    *,
    freeze_ast_after_s: float | None = None,
    journal: BufferedJournal | None = None,
    ast_faults: FaultConfig | None = None,
    venue_cls: type[FrozenFundingVenue] | None = None,
    anchor_s: float | None = None,
    anchored: tuple[str, ...] = ("hl", "ast"),
    **config: Any,
) -> Outcome:
    out = Outcome()

    async def main() -> None:
        clock = LoopClock()
        ledger = FillLedger()
        cfgs = _venues(hl_path, ast_path)
        if ast_faults is not None:
            cfgs[1] = dataclasses.replace(cfgs[1], faults=ast_faults)
        if anchor_s is not None:  # these venues settle at this second of the virtual day
            margin = MarginConfig(funding_anchor_ns=T0 + int(anchor_s * S))
            cfgs = [
                dataclasses.replace(c, margin=margin) if c.name in anchored else c for c in cfgs
            ]
        cls = venue_cls or FrozenFundingVenue
        venues: dict[str, SimVenue] = {"hl": cls(cfgs[0], clock)}
        ast = cls(cfgs[1], clock)
        if freeze_ast_after_s is not None:
            ast.freeze_after_s = freeze_ast_after_s
        venues["ast"] = ast
        sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        try:
            await clock.sleep(1.0)
            strategy = FundingArb(venues, sessions, _config(**config), clock=clock, journal=journal)
            out.strategy = strategy
            await strategy.run(duration_s, out.events.append)
            out.positions = {n: v.engine.position(SYMBOLS[n]) for n, v in venues.items()}
            out.paid = {
                n: [p for p in v.engine.funding_payments() if p.symbol == SYMBOLS[n]]
                for n, v in venues.items()
            }
        finally:
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    run_virtual(main())
    return out


# hl pays 0.008 %/h (70 %/yr), ast's 8-hourly rate is -0.008 % (-8.8 %/yr): about 79 %/yr apart.
WIDE_HL = "0.00008"
WIDE_AST = "-0.00008"


def test_opens_above_threshold_then_closes_when_the_divergence_flips() -> None:
    out = _run([(0, WIDE_HL), (150, "-0.00001")], [(0, WIDE_AST), (150, "0.00004")])
    opened, closed = out.of(Opened), out.of(Closed)
    assert len(opened) == 1 and len(closed) == 1
    assert closed[0].reason == "flipped"
    assert closed[0].divergence is not None and closed[0].divergence < 0
    o = opened[0]
    assert (o.opportunity.long_venue, o.opportunity.short_venue) == ("ast", "hl")
    assert o.opportunity.net >= D("0.10")
    assert o.result.status is OpenStatus.OPENED
    assert closed[0].result.status is CloseStatus.CLOSED
    assert out.positions == {"hl": 0, "ast": 0}
    assert out.strategy is not None and out.strategy.state == "flat"
    assert [type(r).__name__ for r in out.strategy.operations] == ["AtomicResult", "CloseResult"]
    assert out.of(Monitored), "the pair is monitored between the open and the close"
    # The opportunity's arithmetic: annualised hourly rates, net of both legs' round-trip fees.
    opp = o.opportunity
    assert opp.short_annual == D(WIDE_HL) * 24 * 365
    assert opp.long_annual == D(WIDE_AST) / 8 * 24 * 365
    assert opp.gross == opp.short_annual - opp.long_annual
    round_trip = 2 * (D("0.00045") + D("0.00035")) + D(4) / 10_000
    assert opp.cost_annual == round_trip * 24 * 365 / D("168.0")
    assert opp.net == opp.gross - opp.cost_annual


def test_closes_when_the_divergence_erodes_beyond_the_limit() -> None:
    # 79 %/yr at entry, then 15 %/yr: eroded by 81 % > 50 %, still positive (not a flip), and
    # too small to reopen once costs are counted.
    out = _run([(0, WIDE_HL), (120, "0.000017")], [(0, WIDE_AST), (120, "0")])
    assert len(out.of(Opened)) == 1
    closed = out.of(Closed)
    assert [c.reason for c in closed] == ["eroded"]
    assert closed[0].divergence is not None and closed[0].divergence > 0
    assert out.positions == {"hl": 0, "ast": 0}


def test_a_small_erosion_keeps_the_pair() -> None:
    out = _run([(0, WIDE_HL), (120, "0.00006")], [(0, WIDE_AST), (120, "-0.00004")], 240.0)
    assert len(out.of(Opened)) == 1
    assert out.of(Closed) == []
    assert out.positions == {"hl": D(-1), "ast": D(1)}


def test_never_opens_below_the_threshold() -> None:
    # 0.0015 %/h vs 0: 13 %/yr gross, about 2.7 %/yr net of costs.
    out = _run([(0, "0.000015")], [(0, "0")], 200.0)
    assert out.of(Opened) == [] and out.of(Closed) == []
    skipped = out.of(Skipped)
    assert skipped and all(s.reason == "below_threshold" for s in skipped)
    assert skipped[0].opportunity is not None and D(0) < skipped[0].opportunity.net < D("0.10")
    assert out.strategy is not None and out.strategy.operations == []
    assert out.positions == {"hl": 0, "ast": 0}


def test_stale_funding_closes_the_pair() -> None:
    out = _run([(0, WIDE_HL)], [(0, WIDE_AST)], 400.0, freeze_ast_after_s=30.0, stale_after_s=60.0)
    assert len(out.of(Opened)) == 1
    assert [c.reason for c in out.of(Closed)] == ["stale_data"]
    assert any(isinstance(e, Skipped) and e.reason == "stale_data" for e in out.events)
    assert out.positions == {"hl": 0, "ast": 0}


def test_max_hold_closes_the_pair() -> None:
    out = _run([(0, WIDE_HL)], [(0, WIDE_AST)], 100.0, max_hold_s=45.0, exit_erosion=None)
    assert [c.reason for c in out.of(Closed)][:1] == ["max_hold"]


def test_the_journal_gets_each_operation_with_its_result() -> None:
    journal = BufferedJournal()
    out = _run(
        [(0, WIDE_HL), (150, "-0.00001")], [(0, WIDE_AST), (150, "0.00004")], journal=journal
    )
    assert len(out.of(Opened)) == 1 and len(out.of(Closed)) == 1
    starts = [a for what, a, _ in journal.calls if what == "start"]
    finishes = [a for what, a, _ in journal.calls if what == "finish"]
    assert [s[0] for s in starts] == ["open", "close"]
    assert [f[1] for f in finishes] == ["opened", "closed"]
    assert finishes[0][2]["legs"][0]["venue"] in ("hl", "ast")
    assert starts[1][2]["reason"] == "flipped"
    assert all(ts is not None for _, _, ts in journal.calls)


# ------------------------------------------------------------------------------ configuration


def test_the_example_configuration_loads() -> None:
    cfg = FundingArbConfig.from_toml(EXAMPLE)
    assert cfg.symbols == {"hyperliquid": "ETH", "aster": "ETHUSDT"}
    assert cfg.notional_usd == D(5000) and cfg.size is None
    assert cfg.entry_threshold == D("0.1")
    assert cfg.max_hold_s == 168 * 3600
    assert cfg.atomic is not None and cfg.atomic.plan is EntryPlan.AUTO
    assert cfg.atomic.hedge.step_timeout_s == 0.2
    assert cfg.close is not None and cfg.close.deadline_s == 60


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"size": "1"}, "symbols"),
        ({"symbols": {"a": "X"}, "size": "1"}, "symbols"),
        ({"symbols": {"a": "X", "b": ""}, "size": "1"}, "symbols"),
        ({"symbols": SYMBOLS}, "size"),
        ({"symbols": SYMBOLS, "size": "1", "notional_usd": "100"}, "size"),
        ({"symbols": SYMBOLS, "size": 2.5}, "size"),
        ({"symbols": SYMBOLS, "size": "-1"}, "size"),
        ({"symbols": SYMBOLS, "notional_usd": "0"}, "notional_usd"),
        ({"symbols": SYMBOLS, "size": "1", "entry_threshold": "lots"}, "entry_threshold"),
        ({"symbols": SYMBOLS, "size": "1", "entry_threshold": -0.1}, "entry_threshold"),
        ({"symbols": SYMBOLS, "size": "1", "exit_erosion": 0}, "exit_erosion"),
        ({"symbols": SYMBOLS, "size": "1", "exit_on_flip": "yes"}, "exit_on_flip"),
        ({"symbols": SYMBOLS, "size": "1", "max_hold_h": -1}, "max_hold_s"),
        ({"symbols": SYMBOLS, "size": "1", "fee_basis": "free"}, "fee_basis"),
        ({"symbols": SYMBOLS, "size": "1", "scan_interval_s": 0}, "scan_interval_s"),
        ({"symbols": SYMBOLS, "size": "1", "stale_after_s": "soon"}, "stale_after_s"),
        ({"symbols": SYMBOLS, "size": "1", "scan_intervall_s": 5}, "scan_intervall_s"),
        ({"symbols": SYMBOLS, "size": "1", "atomic": {"plan": "yolo"}}, "atomic.plan"),
        (
            {"symbols": SYMBOLS, "size": "1", "atomic": {"entry": {"timeout_s": "x"}}},
            "atomic.entry.timeout_s",
        ),
        ({"symbols": SYMBOLS, "size": "1", "atomic": {"nope": 1}}, "atomic.nope"),
        ({"symbols": SYMBOLS, "size": "1", "close": {"deadline_s": -5}}, "close.deadline_s"),
        (
            {
                "symbols": SYMBOLS,
                "size": "1",
                "atomic": {"entry_timeout_s": 5, "slippage_budget_bps": "-1"},
            },
            "atomic",
        ),
        ({"symbols": SYMBOLS, "size": "1", "close": 3}, "close"),
    ],
)
def test_configuration_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        FundingArbConfig.from_mapping(data)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")
    assert isinstance(err.value, ValueError)


def test_the_file_schema_covers_every_configuration_field() -> None:
    """The file's schema names the fields: one added to a configuration dataclass must be added
    to it too."""
    import dataclasses

    from hedgekit.execution import AtomicConfig, CloseConfig, OrderConfig
    from hedgekit.strategies.funding_arb import (
        AtomicOverrides,
        CloseOverrides,
        FundingArbFile,
        OrderOverrides,
    )

    pairs = (
        (FundingArbFile, FundingArbConfig, {"max_hold_h"}),
        (AtomicOverrides, AtomicConfig, set()),
        (CloseOverrides, CloseConfig, set()),
        (OrderOverrides, OrderConfig, set()),
    )
    for spec, config, extra in pairs:
        names = {f.name for f in dataclasses.fields(config)} | extra
        assert set(spec.__struct_fields__) == names, spec


def test_exit_erosion_false_turns_the_rule_off_and_floats_stay_exact() -> None:
    cfg = FundingArbConfig.from_mapping(
        {
            "symbols": SYMBOLS,
            "size": "1",
            "exit_erosion": False,
            "entry_threshold": 0.1,
            "atomic": {"hedge": {"ladder_cross_bps": [1.5, "2"]}},
        }  # fmt: skip
    )
    assert cfg.exit_erosion is None
    assert cfg.entry_threshold == D("0.1")
    assert cfg.atomic is not None and cfg.atomic.hedge.ladder_cross_bps == (D("1.5"), D(2))
    assert all(type(x) is Decimal for x in cfg.atomic.hedge.ladder_cross_bps)
    with pytest.raises(ConfigError) as err:
        FundingArbConfig.from_mapping({"symbols": SYMBOLS, "size": "1", "exit_erosion": True})
    assert err.value.field == "exit_erosion"


def test_a_file_that_is_not_toml_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("symbols = [\n")
    with pytest.raises(ConfigError) as err:
        FundingArbConfig.from_toml(bad)
    assert err.value.field == ""
    with pytest.raises(FileNotFoundError):
        FundingArbConfig.from_toml(tmp_path / "missing.toml")


def _fee_burning(cooldown_s: float, **kw: Any) -> Outcome:
    """Every placement on ast is rejected: each open fills its hl leg, cannot hedge it and
    rolls it back, paying hl's taker fee twice — the loop a cooldown must stop."""
    return _run(
        [(0, WIDE_HL)], [(0, WIDE_AST)], 40 * 60.0,
        ast_faults=FaultConfig(p_reject=1.0), cooldown_s=cooldown_s, **kw,
    )  # fmt: skip


def test_a_failing_open_is_not_retried_in_a_fee_burning_loop() -> None:
    looping = _fee_burning(0.0)  # cooldown off: what users of other executors see
    cooled = _fee_burning(60.0)
    loop_opens = [r for r in looping.strategy.operations if isinstance(r, AtomicResult)]  # type: ignore[union-attr]
    cool_opens = [r for r in cooled.strategy.operations if isinstance(r, AtomicResult)]  # type: ignore[union-attr]
    assert all(r.status is OpenStatus.ROLLED_BACK for r in loop_opens + cool_opens)
    assert len(loop_opens) > 100  # one every 10 s scan for 40 minutes
    # 60 s, then 120, 240, 480, 960 s: opens at about 0, 1, 3, 7, 15 and 31 minutes.
    assert 5 <= len(cool_opens) <= 7
    skipped = [e for e in cooled.of(Skipped) if e.reason == "cooldown"]
    assert skipped and "failed open(s) in a row" in skipped[0].detail
    assert cooled.strategy is not None and cooled.strategy.failed_opens == len(cool_opens)
    assert cooled.positions == {"hl": 0, "ast": 0}


def test_the_cooldown_is_capped_and_configurable_from_the_file() -> None:
    capped = _fee_burning(60.0, max_cooldown_s=120.0)
    opens = [r for r in capped.strategy.operations if isinstance(r, AtomicResult)]  # type: ignore[union-attr]
    # 60 s, then 120 s for good: about one every 2 minutes over 40 minutes.
    assert 17 <= len(opens) <= 21
    cfg = FundingArbConfig.from_mapping(
        {"symbols": SYMBOLS, "size": "1", "cooldown_s": 30, "max_cooldown_s": 90.5}
    )
    assert (cfg.cooldown_s, cfg.max_cooldown_s) == (30, 90.5)
    with pytest.raises(ConfigError) as err:
        FundingArbConfig.from_mapping({"symbols": SYMBOLS, "size": "1", "cooldown_s": -1})
    assert err.value.field == "cooldown_s"


def test_a_kill_latched_in_the_journal_stops_the_strategys_opens_until_released(
    tmp_path: Path,
) -> None:
    # Another process (``hedgekit kill``) latched the switch in the journal the strategy reads:
    # every scan's open is refused with nothing placed, until a release is written there.
    from hedgekit.execution import KillSwitch, release_latch
    from hedgekit.journal import open_journal

    out: dict[str, Any] = {}

    async def main() -> None:
        clock = LoopClock()
        cfgs = _venues([(0, WIDE_HL)], [(0, WIDE_AST)])
        venues = {c.name: SimVenue(c, clock) for c in cfgs}
        ledger = FillLedger()
        sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        journal = await open_journal(str(tmp_path / "j.sqlite3"))
        try:
            await journal.start_operation("kill", [], {"reason": "operator"})
            switch = KillSwitch(sessions, clock=clock, journal=journal)
            strategy = FundingArb(
                venues, sessions, _config(), clock=clock, journal=journal, kill_switch=switch
            )
            latched: list[StrategyEvent] = []
            await strategy.run(60.0, latched.append)
            out["latched"] = latched
            out["orders"] = sum(len(v.engine.orders()) for v in venues.values())
            await release_latch(journal, "resume")
            released: list[StrategyEvent] = []
            await strategy.run(30.0, released.append)
            out["released"] = released
        finally:
            await journal.close()
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    run_virtual(main())
    refused = [e for e in out["latched"] if isinstance(e, Skipped)]
    assert refused and {e.reason for e in refused} == {"open_refused"}
    assert "kill switch engaged: operator" in refused[0].detail
    assert out["orders"] == 0  # nothing ever reached a venue while latched
    assert any(isinstance(e, Opened) for e in out["released"])


# ----------------------------------------------------------------- funding from the payments


class MisquotingVenue(FrozenFundingVenue):
    """A venue whose quoted rate has the opposite sign of the rate it pays funding at (a unit or
    sign the adapter got wrong): only its payments tell the truth."""

    async def funding_rates(self) -> dict[str, FundingRate]:
        rates = await super().funding_rates()
        return {k: dataclasses.replace(r, rate=-r.rate) for k, r in rates.items()}


def test_a_flip_follows_the_venues_payments_when_the_quotes_say_otherwise() -> None:
    # Quoted: hl +0.008 %/h, ast -0.008 %/8 h: the pair (long ast, short hl) earns 79 %/yr.
    # Paid: the opposite signs, so at the 00:02 settlement of both venues the pair pays on both
    # legs. The quotes never change, so a rate-only rule would hold; the payments close it.
    out = _run(
        [(0, "-" + WIDE_HL)],
        [(0, WIDE_AST.lstrip("-"))],
        300.0,
        venue_cls=MisquotingVenue,
        anchor_s=120,
    )
    # (the quotes still look good after the close: a new pair is opened, with a book of its own)
    opened, closed = out.of(Opened)[0], out.of(Closed)[0]
    assert (opened.opportunity.long_venue, opened.opportunity.short_venue) == ("ast", "hl")
    assert closed.reason == "flipped"
    assert closed.divergence is not None and closed.divergence > 0  # the quotes still earn
    assert 120 <= (closed.ts_ns - T0) / S <= 120 + 2 * 10 + 5  # within a scan or two of 00:02
    # what the pair was charged, as the venues booked it: one payment each, both paid
    for venue in ("hl", "ast"):
        (payment,) = out.paid[venue]
        assert closed.funding[venue].paid == payment.amount < 0
        assert closed.funding[venue].payments == 1
    # every scan before the settlement estimated the pair as earning (from the quotes)
    before = [m for m in out.of(Monitored) if m.ts_ns < T0 + 120 * S]
    assert before and all(m.earned >= 0 for m in before)


def test_erosion_follows_the_payments_when_funding_earned_no_longer_covers_costs() -> None:
    # hl quotes +0.008 %/h but charges 2 %/h at its 00:02 settlement (a short of 1 ETH at
    # ~2400 pays ~48); ast (8-hourly) pays nothing in the run, so no payment-based flip. The
    # quoted divergence never moves; the estimate from it (rate x notional x time) is a gain.
    # The book holds the payment: 48 lost plus ~36 that 79 %/yr would still earn over the
    # 168 h cost horizon does not cover the costs, so the pair is closed as eroded.
    class Overcharging(FrozenFundingVenue):
        async def funding_rates(self) -> dict[str, FundingRate]:
            rates = await super().funding_rates()
            if self.name != "hl":
                return rates
            return {k: dataclasses.replace(r, rate=D(WIDE_HL)) for k, r in rates.items()}

    out = _run(
        [(0, WIDE_HL), (60, "-0.02")],
        [(0, WIDE_AST)],
        300.0,
        venue_cls=Overcharging,
        anchor_s=120,
        anchored=("hl",),
    )
    closed = out.of(Closed)[0]
    assert closed.reason == "eroded"
    assert closed.divergence == out.of(Opened)[0].opportunity.gross  # the quotes never moved
    (payment,) = out.paid["hl"]
    assert closed.funding["hl"].paid == payment.amount < D(-40)
    assert out.paid["ast"] == [] and closed.funding["ast"].paid == 0
    assert out.strategy is not None and len(out.strategy.books) == len(out.of(Opened))
    assert out.strategy.pnl().venues["hl"].funding_paid == payment.amount


def test_pnl_and_the_journal_hold_the_venues_payments() -> None:
    journal = BufferedJournal()
    out = _run(
        [(0, WIDE_HL), (250, "-0.00001")],
        [(0, WIDE_AST), (250, "0.00004")],
        300.0,
        journal=journal,
        anchor_s=120,
    )
    assert [c.reason for c in out.of(Closed)] == ["flipped"]
    assert out.strategy is not None
    pnl = out.strategy.pnl()
    fees = {
        v: sum(
            (leg.fees for r in out.strategy.operations for leg in r.legs if leg.venue == v), D(0)
        )
        for v in SYMBOLS
    }
    for venue in SYMBOLS:
        (payment,) = out.paid[venue]  # both settle at 00:02 while the pair is on
        assert payment.amount > 0  # short hl under a positive rate, long ast under a negative
        assert pnl.venues[venue].funding_paid == payment.amount
        assert pnl.venues[venue].funding_payments == 1
        assert pnl.venues[venue].funding_accrued == 0  # flat again: nothing owed
        assert pnl.venues[venue].fees == fees[venue] > 0
    assert pnl.net == pnl.funding_paid - pnl.fees
    funding = [c[1] for c in journal.calls if c[0] == "record" and c[1][1] == "funding"]
    assert sorted((d["venue"], d["amount"]) for _, _, d in funding) == sorted(
        (v, out.paid[v][0].amount) for v in SYMBOLS
    )
    assert all(op is None for op, _, _ in funding)
    # the monitored scans after the settlement carry the booked payments, before it none
    after = [m for m in out.of(Monitored) if m.ts_ns > T0 + 125 * S]
    assert after and all(m.funding["hl"].paid == out.paid["hl"][0].amount for m in after)
