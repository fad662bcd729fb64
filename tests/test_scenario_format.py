"""The scenario file format (``hedgekit.scenario``, ``docs/scenarios.md``): every example file
parses; malformed input is refused up front with a :class:`ScenarioError` whose ``field`` names
the offending place; TOML and JSON are the same format; seeds make runs repeatable.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit import Instrument
from hedgekit.execution.config import CloseLeg, EntryPlan, ExecutionMode, LegSpec
from hedgekit.model import Side
from hedgekit.scenario import RUN_KINDS, Scenario, ScenarioError, load_scenario, parse_scenario
from hedgekit.simulate import simulate
from hedgekit.venues.sim import PostOnlyMode

SCENARIOS = Path(__file__).parent / "scenarios"
D = Decimal
MS = 1_000_000

BASE_TOML = """
name = "format test"
seed = 11

[[venues]]
name = "hl"
personality = "hyperliquid"
instrument = { symbol = "ETH", kind = "hyperliquid", sz_decimals = 3 }
market = { mid = "2400", tick = "0.1", levels = 10, level_size = "5", script = [
  { at_ms = 1500, action = "trade", side = "sell", size = "30" },
  { at_ms = 700, action = "mid", price = "2401" },
] }
latency = { entry_ms = 12, response_ms = { base_ms = 8, jitter_ms = 1, cap_ms = 5 }, schedule_ms = [[1000, 50], [0, 10]], speed_bumps = { taker = 300, maker = 200 } }
delivery = { p_dup = 0.5, fill_before_ack = true }
faults = { request_timeout_ms = 500, disconnects = [{ start_ms = 2000, duration_ms = 1000, snapshot_fills = 3 }] }

[[venues]]
name = "aster"
personality = "aster"
post_only_mode = "sync_reject_code"
instrument = { symbol = "ETHUSDT", kind = "plain", tick = "0.01", step = "0.001", min_qty = "0.001", min_notional = "5" }
market = { mid = "2400.5", levels = 10, level_size = "5" }
queue = { cancel_split = "proportional" }
fills = { max_fill_per_event = "0.25", split_fills = 2 }
limits = { limits = [{ key = "ip", capacity = 10, refill_per_s = 5.0 }], ban_after = 3 }
seed = 99

[operation]
kind = "open"
size = "1.5"
legs = [ { venue = "hl", side = "buy" }, { venue = "aster", side = "sell" } ]
start_after_s = 0.5
settle_s = 2

[operation.config]
plan = "auto"
deadline_s = 8
max_entry_spread_bps = "20"
entry = { improve = true, timeout_s = 8 }
hedge = { mode = "aggressive_limit", ladder_cross_bps = ["2", "5"] }
"""


def base() -> dict[str, Any]:
    """A fresh copy of a valid open scenario, as parsed TOML."""
    return tomllib.loads(BASE_TOML)


def close_base() -> dict[str, Any]:
    """A fresh copy of a valid close scenario."""
    data = base()
    data["positions"] = [
        {"venue": "hl", "size": "1.5", "entry_price": "2400"},
        {"venue": "aster", "size": "-1.5", "entry_price": "2400.5"},
    ]
    data["operation"] = {
        "kind": "close",
        "legs": [{"venue": "hl"}, {"venue": "aster"}],
        "config": {
            "phase1_timeout_s": 5,
            "max_exit_spread_bps": "12",
            "phase2": {"mode": "market_only"},
        },
    }
    return data


def comparable(value: Any) -> Any:
    """A scenario as plain data, with each ``Instrument`` replaced by its description (the Rust
    class compares by identity)."""
    if isinstance(value, Instrument):
        return ("Instrument", repr(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            {f.name: comparable(getattr(value, f.name)) for f in dataclasses.fields(value)},
        )
    if isinstance(value, tuple | list):
        return [comparable(v) for v in value]
    return value


# ---------------------------------------------------------------------------------- valid input
@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_file_parses(path: Path) -> None:
    sc = load_scenario(path)
    assert len(sc.venues) >= 1
    if sc.kind in RUN_KINDS:  # a risk control run over time: no legs of its own
        assert sc.run is not None and sc.legs == () and sc.size is None
        return
    assert sc.kind in ("open", "close") and sc.run is None
    assert sc.legs
    if sc.kind == "open":
        assert sc.size is not None and sc.size > 0
        assert all(isinstance(leg, LegSpec) for leg in sc.legs)
    else:
        assert sc.size is None
        assert all(isinstance(leg, CloseLeg) for leg in sc.legs)


def test_the_example_directory_is_not_empty() -> None:
    assert len(list(SCENARIOS.glob("*.toml"))) >= 10


def test_every_field_reaches_the_configuration() -> None:
    sc = parse_scenario(base())
    assert sc.name == "format test" and sc.seed == 11
    hl, aster = sc.venues
    assert hl.name == "hl" and hl.personality.name == "hyperliquid"
    assert hl.instruments[0].symbol == "ETH"
    mkt = hl.instruments[0].market
    assert (mkt.mid, mkt.tick, mkt.levels, mkt.level_size) == (D("2400"), D("0.1"), 10, D("5"))
    assert [(e.at_ns, e.action) for e in mkt.script] == [
        (700 * MS, "mid"),
        (1500 * MS, "trade"),
    ]  # sorted
    lat = hl.latency
    assert lat.entry.base_ns == 12 * MS
    assert (lat.response.base_ns, lat.response.jitter_mean_ns, lat.response.cap_ns) == (
        8 * MS,
        1 * MS,
        5 * MS,
    )
    assert lat.feed_public.base_ns == 5 * MS  # default
    assert lat.schedule == ((0, 10 * MS), (1000 * MS, 50 * MS))  # sorted
    assert dict(lat.speed_bumps) == {"taker": 300 * MS, "maker": 200 * MS}
    assert hl.delivery.p_dup == 0.5 and hl.delivery.fill_before_ack
    assert hl.faults.request_timeout_ns == 500 * MS
    assert hl.faults.disconnects[0].snapshot_fills == 3
    assert aster.personality.post_only_mode is PostOnlyMode.SYNC_REJECT_CODE
    assert aster.instruments[0].market.tick == D("0.01")  # default: the rules' tick
    assert aster.queue.cancel_split.value == "proportional"
    assert aster.fills.max_fill_per_event == D("0.25") and aster.fills.split_fills == 2
    assert aster.limits.limits[0].capacity == 10 and aster.limits.ban_after == 3
    assert aster.seed == 99
    assert sc.kind == "open" and sc.size == D("1.5")
    assert sc.legs == (LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETHUSDT", Side.SELL))
    assert sc.start_after_s == 0.5 and sc.settle_s == 2.0
    assert sc.atomic.plan is EntryPlan.AUTO and sc.atomic.deadline_s == 8.0
    assert sc.atomic.max_entry_spread_bps == D(20)
    assert sc.atomic.entry.improve and sc.atomic.entry.timeout_s == 8.0
    assert sc.atomic.entry.mode is ExecutionMode.LIMIT_ONLY  # the entry default is kept
    assert sc.atomic.hedge.ladder_cross_bps == (D(2), D(5))


def test_exact_values_arrive_as_plain_decimals() -> None:
    """Exact values are read from their text (never through a float) into plain ``Decimal``s."""
    sc = parse_scenario(base())
    mkt = sc.venues[0].instruments[0].market
    values = [sc.size, mkt.mid, mkt.level_size, mkt.depth_growth, sc.atomic.max_entry_spread_bps,
              *sc.atomic.hedge.ladder_cross_bps, sc.venues[1].fills.max_fill_per_event]  # fmt: skip
    assert all(type(v) is Decimal for v in values), [type(v) for v in values]
    assert sc.venues[1].instruments[0].market.mid == D("2400.5")


def test_every_fault_field_reaches_the_configuration() -> None:
    data = base()
    data["venues"][0]["modify_new_id"] = True
    data["venues"][0]["fills"] = {"shared_trade_id": True}
    data["venues"][0]["faults"] = {
        "reject_post_only": True,
        "lose_answers": [{"op": "place", "n": 3}, {"op": "status", "n": 1, "kind": "request"}],
        "outages": [{"op": "positions", "start_ms": 100, "duration_ms": 2500}, {"op": "cancel"}],
        "fill_processing_errors": 2,
    }
    hl, aster = parse_scenario(data).venues
    assert hl.personality.modify_new_id and not aster.personality.modify_new_id
    assert hl.fills.shared_trade_id and not aster.fills.shared_trade_id
    f = hl.faults
    assert f.reject_post_only and not aster.faults.reject_post_only
    assert [(x.op, x.n, x.kind) for x in f.lose_answers] == [
        ("place", 3, "answer"),
        ("status", 1, "request"),
    ]
    assert [(o.op, o.start_ns, o.duration_ns) for o in f.outages] == [
        ("positions", 100 * MS, 2500 * MS),
        ("cancel", 0, 0),
    ]
    assert f.fill_processing_errors == 2 and aster.faults.fill_processing_errors == 0


@pytest.mark.parametrize(
    "op", ["place", "cancel", "modify", "status", "fills", "positions", "funding"]
)
def test_every_request_kind_can_be_named_by_a_fault(op: str) -> None:
    data = base()
    data["venues"][0]["faults"] = {
        "lose_answers": [{"op": op, "n": 1}],
        "outages": [{"op": op, "duration_ms": 1}],
    }
    f = parse_scenario(data).venues[0].faults
    assert f.lose_answers[0].op == op and f.outages[0].op == op


def test_a_close_scenario() -> None:
    sc = parse_scenario(close_base())
    assert sc.kind == "close" and sc.size is None
    assert sc.legs == (CloseLeg("hl", "ETH"), CloseLeg("aster", "ETHUSDT"))
    assert [(p.venue, p.symbol, p.size) for p in sc.positions] == [
        ("hl", "ETH", D("1.5")),
        ("aster", "ETHUSDT", D("-1.5")),
    ]
    assert sc.close.phase1_timeout_s == 5.0 and sc.close.max_exit_spread_bps == D(12)
    assert sc.close.phase2.mode is ExecutionMode.MARKET_ONLY


# ------------------------------------------------------------------------------ malformed input
def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``path`` (dotted, ``[i]`` for list items) to ``value``."""

    def apply(data: dict[str, Any]) -> None:
        node: Any = data
        parts = path.replace("[", ".").replace("]", "").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        del node[parts[-1]]

    return apply


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # (id, mutation, expected .field, text in the message)
    ("float-mid", _set("venues[0].market.mid", 2400.5), "venues[0].market.mid", "string"),
    ("float-size", _set("operation.size", 1.5), "operation.size", "string"),
    ("float-tick", _set("venues[1].instrument.tick", 0.01), "venues[1].instrument.tick", "string"),
    ("missing-size", _drop("operation.size"), "operation.size", "string"),
    ("not-a-number", _set("operation.size", "1.5x"), "operation.size", "not a number"),
    ("zero-size", _set("operation.size", "0"), "operation.size", "positive"),
    (
        "infinite",
        _set("venues[0].market.level_size", "Infinity"),
        "venues[0].market.level_size",
        "finite",
    ),
    ("unknown-top-field", _set("colour", "red"), "(top level)", "colour"),
    ("unknown-venue-field", _set("venues[0].colour", "red"), "venues[0]", "colour"),
    ("unknown-market-field", _set("venues[0].market.depth", 3), "venues[0].market", "depth"),
    ("unknown-operation-field", _set("operation.timeout", 3), "operation", "timeout"),
    (
        "unknown-config-field",
        _set("operation.config.entry.speed", 3),
        "operation.config.entry",
        "speed",
    ),
    (
        "unknown-personality",
        _set("venues[0].personality", "binance"),
        "venues[0].personality",
        "binance",
    ),
    ("missing-operation", _drop("operation"), "operation.kind", "string"),
    ("bad-kind", _set("operation.kind", "flip"), "operation.kind", "flip"),
    (
        "one-leg-open",
        _set("operation.legs", [{"venue": "hl", "side": "buy"}]),
        "operation.legs",
        "two legs",
    ),
    (
        "same-venue-twice",
        _set("operation.legs", [{"venue": "hl", "side": "buy"}, {"venue": "hl", "side": "sell"}]),
        "operation.legs",
        "one leg per venue",
    ),
    (
        "unknown-leg-venue",
        _set("operation.legs[1].venue", "bybit"),
        "operation.legs[1].venue",
        "bybit",
    ),
    ("bad-side", _set("operation.legs[0].side", "long"), "operation.legs[0].side", "long"),
    (
        "bad-post-only-mode",
        _set("venues[1].post_only_mode", "reject"),
        "venues[1].post_only_mode",
        "reject",
    ),
    (
        "negative-probability",
        _set("venues[0].delivery.p_dup", -0.1),
        "venues[0].delivery.p_dup",
        "between 0.0 and 1.0",
    ),
    (
        "probability-above-one",
        _set("venues[0].faults.p_req_loss", 1.5),
        "venues[0].faults.p_req_loss",
        "between",
    ),
    (
        "nan-probability",
        _set("venues[0].delivery.p_dup", float("nan")),
        "venues[0].delivery.p_dup",
        "between",
    ),
    (
        "bool-as-number",
        _set("venues[0].delivery.p_dup", True),
        "venues[0].delivery.p_dup",
        "number",
    ),
    (
        "bad-instrument-kind",
        _set("venues[0].instrument.kind", "cex"),
        "venues[0].instrument.kind",
        "cex",
    ),
    (
        "missing-sz-decimals",
        _set("venues[0].instrument", {"symbol": "ETH", "kind": "hyperliquid"}),
        "venues[0].instrument.sz_decimals",
        "integer",
    ),
    (
        "bad-script-action",
        _set("venues[0].market.script[0].action", "halt"),
        "venues[0].market.script[0]",
        "halt",
    ),
    (
        "script-missing-size",
        _set("venues[0].market.script[0]", {"at_ms": 5, "action": "trade", "side": "buy"}),
        "venues[0].market.script[0]",
        "size",
    ),
    (
        "bad-schedule",
        _set("venues[0].latency.schedule_ms", [[1, 2, 3]]),
        "venues[0].latency.schedule_ms",
        "pairs",
    ),
    (
        "bad-reject-windows",
        _set("venues[0].faults.reject_windows_ms", [5]),
        "venues[0].faults.reject_windows_ms",
        "pairs",
    ),
    (
        "bad-cancel-split",
        _set("venues[1].queue.cancel_split", "head"),
        "venues[1].queue.cancel_split",
        "head",
    ),
    (
        "zero-capacity",
        _set("venues[1].limits.limits[0].capacity", 0),
        "venues[1].limits.limits[0].capacity",
        "at least 1",
    ),
    (
        "bad-ban-after",
        _set("venues[1].limits.ban_after", 0),
        "venues[1].limits.ban_after",
        "positive",
    ),
    ("negative-seed", _set("seed", -1), "seed", "at least 0"),
    ("duplicate-venue-names", _set("venues[1].name", "hl"), "venues", "unique"),
    ("no-venues", _set("venues", []), "venues", "at least one"),
    ("venues-not-a-list", _set("venues", {"name": "hl"}), "venues", "list"),
    ("bad-plan", _set("operation.config.plan", "taker"), "operation.config.plan", "taker"),
    (
        "bad-mode",
        _set("operation.config.hedge.mode", "fast"),
        "operation.config.hedge.mode",
        "fast",
    ),
    (
        "zero-timeout",
        _set("operation.config.entry.timeout_s", 0),
        "operation.config.entry.timeout_s",
        "at least",
    ),
    (
        "float-ladder",
        _set("operation.config.hedge.ladder_cross_bps", ["2", 2.5]),
        "operation.config.hedge.ladder_cross_bps[1]",
        "string",
    ),
    (
        "negative-ladder",
        _set("operation.config.hedge.ladder_cross_bps", ["-1"]),
        "operation.config.hedge.ladder_cross_bps[0]",
        "negative",
    ),
    (
        "ladder-not-a-list",
        _set("operation.config.hedge.ladder_cross_bps", "2"),
        "operation.config.hedge.ladder_cross_bps",
        "list",
    ),
    (
        "negative-spread-gate",
        _set("operation.config.max_entry_spread_bps", "-1"),
        "operation.config.max_entry_spread_bps",
        "negative",
    ),
    (
        "position-unknown-venue",
        _set("positions", [{"venue": "okx", "size": "1", "entry_price": "1"}]),
        "positions[0].venue",
        "okx",
    ),
    (
        "position-wrong-symbol",
        _set("positions", [{"venue": "hl", "symbol": "BTC", "size": "1", "entry_price": "1"}]),
        "positions[0].symbol",
        "BTC",
    ),
    (
        "position-zero-entry-price",
        _set("positions", [{"venue": "hl", "size": "1", "entry_price": "0"}]),
        "positions[0].entry_price",
        "positive",
    ),
    # injected faults
    (
        "post-only-not-bool",
        _set("venues[0].faults.reject_post_only", 1),
        "venues[0].faults.reject_post_only",
        "true or false",
    ),
    (
        "lose-unknown-op",
        _set("venues[0].faults.lose_answers", [{"op": "order", "n": 1}]),
        "venues[0].faults.lose_answers[0].op",
        "order",
    ),
    (
        "lose-missing-op",
        _set("venues[0].faults.lose_answers", [{"n": 1}]),
        "venues[0].faults.lose_answers[0].op",
        "string",
    ),
    (
        "lose-zero-n",
        _set("venues[0].faults.lose_answers", [{"op": "place", "n": 0}]),
        "venues[0].faults.lose_answers[0].n",
        "at least 1",
    ),
    (
        "lose-float-n",
        _set("venues[0].faults.lose_answers", [{"op": "place", "n": 1.5}]),
        "venues[0].faults.lose_answers[0].n",
        "integer",
    ),
    (
        "lose-missing-n",
        _set("venues[0].faults.lose_answers", [{"op": "place"}]),
        "venues[0].faults.lose_answers[0].n",
        "integer",
    ),
    (
        "lose-bad-kind",
        _set("venues[0].faults.lose_answers", [{"op": "place", "n": 1, "kind": "both"}]),
        "venues[0].faults.lose_answers[0].kind",
        "both",
    ),
    (
        "lose-unknown-key",
        _set("venues[0].faults.lose_answers", [{"op": "place", "n": 1, "after_ms": 5}]),
        "venues[0].faults.lose_answers[0]",
        "after_ms",
    ),
    (
        "lose-not-a-list",
        _set("venues[0].faults.lose_answers", {"op": "place", "n": 1}),
        "venues[0].faults.lose_answers",
        "list",
    ),
    (
        "outage-unknown-op",
        _set("venues[0].faults.outages", [{"op": "orderbook", "duration_ms": 5}]),
        "venues[0].faults.outages[0].op",
        "orderbook",
    ),
    (
        "outage-missing-op",
        _set("venues[0].faults.outages", [{"duration_ms": 5}]),
        "venues[0].faults.outages[0].op",
        "string",
    ),
    (
        "outage-negative",
        _set("venues[0].faults.outages", [{"op": "positions", "start_ms": -1}]),
        "venues[0].faults.outages[0].start_ms",
        "at least",
    ),
    (
        "outage-unknown-key",
        _set("venues[0].faults.outages", [{"op": "positions", "end_ms": 9}]),
        "venues[0].faults.outages[0]",
        "end_ms",
    ),
    (
        "processing-errors-negative",
        _set("venues[0].faults.fill_processing_errors", -1),
        "venues[0].faults.fill_processing_errors",
        "at least 0",
    ),
    (
        "processing-errors-float",
        _set("venues[0].faults.fill_processing_errors", 1.0),
        "venues[0].faults.fill_processing_errors",
        "integer",
    ),
    (
        "shared-trade-id-not-bool",
        _set("venues[0].fills", {"shared_trade_id": "yes"}),
        "venues[0].fills.shared_trade_id",
        "true or false",
    ),
    (
        "shared-trade-id-with-split",
        _set("venues[1].fills.shared_trade_id", True),
        "venues[1].fills.shared_trade_id",
        "split_fills",
    ),
    (
        "modify-new-id-not-bool",
        _set("venues[0].modify_new_id", "true"),
        "venues[0].modify_new_id",
        "true or false",
    ),
    # non-finite times in pairs (these used to escape as an OverflowError / ValueError)
    (
        "schedule-infinite",
        _set("venues[0].latency.schedule_ms", [[float("inf"), 10]]),
        "venues[0].latency.schedule_ms",
        "pairs",
    ),
    (
        "reject-window-nan",
        _set("venues[0].faults.reject_windows_ms", [[0, float("nan")]]),
        "venues[0].faults.reject_windows_ms",
        "pairs",
    ),
    (
        "speed-bump-negative",
        _set("venues[0].latency.speed_bumps", {"taker": 300, "maker": -1}),
        "venues[0].latency.speed_bumps.maker",
        "at least 0",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "text"),
    [pytest.param(*m[1:], id=m[0]) for m in MALFORMED],
)
def test_malformed_input_names_the_field(
    mutate: Callable[[dict[str, Any]], None], field: str, text: str
) -> None:
    data = base()
    mutate(data)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.field == field
    assert text in str(info.value)
    assert str(info.value).startswith(f"{field}: ")
    assert isinstance(info.value, ValueError)  # callers may catch either


def test_the_config_tables_cover_every_executor_field() -> None:
    """The schema lists the executors' configuration fields by name: a field added to one of
    the dataclasses must be added to the scenario format too."""
    from hedgekit.execution.config import AtomicConfig, CloseConfig, OrderConfig
    from hedgekit.scenario import AtomicSpec, CloseSpec, OrderSpec

    for spec, config in (
        (AtomicSpec, AtomicConfig),
        (CloseSpec, CloseConfig),
        (OrderSpec, OrderConfig),
    ):
        assert set(spec.__struct_fields__) == {f.name for f in dataclasses.fields(config)}, spec


@pytest.mark.parametrize("kind", ["open", "close"])
def test_a_leg_symbol_the_venue_does_not_trade_is_refused(kind: str) -> None:
    data = base() if kind == "open" else close_base()
    data["operation"]["legs"][0]["symbol"] = "BTC"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.field == "operation.legs[0].symbol"


def test_a_close_needs_a_leg() -> None:
    data = close_base()
    data["operation"]["legs"] = []
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.field == "operation.legs"


def test_a_close_has_no_size_and_open_fields_are_refused_there() -> None:
    data = close_base()
    data["operation"]["config"]["plan"] = "auto"  # an open's field
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.field == "operation.config"


@settings(max_examples=50)
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_where_an_exact_number_is_needed_is_refused(value: float) -> None:
    for path, field in (
        ("venues[0].market.mid", "venues[0].market.mid"),
        ("operation.size", "operation.size"),
        ("venues[1].fills.max_fill_per_event", "venues[1].fills.max_fill_per_event"),
    ):
        data = base()
        _set(path, value)(data)
        with pytest.raises(ScenarioError) as info:
            parse_scenario(data)
        assert info.value.field == field
        assert "string" in str(info.value)


@settings(max_examples=50)
@given(
    value=st.integers(1, 10**6)
    | st.decimals(min_value=D("0.001"), max_value=D("1e6"), places=3).map(str)
)
def test_integers_and_decimal_strings_are_exact(value: int | str) -> None:
    data = base()
    data["operation"]["size"] = value
    assert parse_scenario(data).size == D(value)


# ------------------------------------------------------------------------------- files and JSON
def test_json_and_toml_give_the_same_scenario(tmp_path: Path) -> None:
    data = base()
    (tmp_path / "s.json").write_text(json.dumps(data))
    (tmp_path / "s.toml").write_text(BASE_TOML)
    from_json = load_scenario(tmp_path / "s.json")
    from_toml = load_scenario(tmp_path / "s.toml")
    assert comparable(from_json) == comparable(from_toml)
    assert comparable(from_toml) == comparable(parse_scenario(data))


def test_the_same_file_parses_to_an_equal_scenario() -> None:
    path = SCENARIOS / "one_leg_never_fills.toml"
    assert load_scenario(path) == load_scenario(path)


def test_a_file_that_does_not_parse(tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('name = "x"\n[[venues]\nname = ')
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{")
    top_list = tmp_path / "list.json"
    top_list.write_text("[1, 2]")
    for path, text in (
        (bad_toml, "does not parse"),
        (bad_json, "does not parse"),
        (top_list, "top level"),
    ):
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        assert info.value.field == ""
        assert text in str(info.value)
    with pytest.raises(FileNotFoundError):
        load_scenario(tmp_path / "missing.toml")


def test_a_json_float_is_refused_like_a_toml_float(tmp_path: Path) -> None:
    data = base()
    data["venues"][0]["market"]["mid"] = 2400.5
    path = tmp_path / "float.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "venues[0].market.mid"


# ------------------------------------------------------------------------------------- seeding
def test_venue_seeds_derive_from_the_scenario_seed_and_the_name() -> None:
    data = base()
    del data["venues"][1]["seed"]
    a = parse_scenario(data)
    assert len({v.seed for v in a.venues}) == 2
    data["seed"] = 12
    b = parse_scenario(data)
    assert all(x.seed != y.seed for x, y in zip(a.venues, b.venues, strict=True))
    assert [v.seed for v in parse_scenario(copy.deepcopy(data)).venues] == [
        v.seed for v in b.venues
    ]


def test_with_seed_changes_every_venue_seed() -> None:
    sc = parse_scenario(base())
    other = sc.with_seed(12345)
    assert other.seed == 12345
    assert all(x.seed != y.seed for x, y in zip(sc.venues, other.venues, strict=True))
    assert other.venues[1].seed != 99  # a seed given in the file is replaced too
    assert len({v.seed for v in other.venues}) == len(other.venues)
    assert [v.seed for v in sc.with_seed(12345).venues] == [v.seed for v in other.venues]
    # Nothing else changes.
    assert comparable(dataclasses.replace(other, seed=sc.seed, venues=sc.venues)) == comparable(sc)


def test_simulate_repeats_exactly_for_the_same_seed() -> None:
    path = SCENARIOS / "one_leg_never_fills.toml"
    first = simulate(path, seed=21)
    again = simulate(path, seed=21)
    assert first == again
    assert first["seed"] == 21
    assert json.loads(json.dumps(first)) == first
    assert simulate(path, seed=22)["seed"] == 22


def test_a_busy_market_differs_between_seeds_and_repeats_within_one() -> None:
    data = close_base()
    for v in data["venues"]:
        v["market"]["vol_bps_per_sqrt_s"] = 5.0
        v["market"]["trade_rate_per_s"] = 2.0
        v["market"]["trade_size"] = "0.5"
    sc: Scenario = parse_scenario(data)
    a, b, c = simulate(sc, seed=1), simulate(sc, seed=1), simulate(sc, seed=2)
    assert a == b
    assert a["result"] != c["result"] or a["venues"] != c["venues"]


def test_the_documented_examples_parse_and_run() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    open_toml, close_toml = re.findall(r"```toml\n(.*?)```", doc, re.DOTALL)[:2]
    opened = simulate(parse_scenario(tomllib.loads(open_toml)))
    assert opened["result"]["status"] == "opened"
    assert opened["all_invariants_held"], opened["invariants"]
    venues_only = open_toml.split("[operation]")[0]
    closed = simulate(parse_scenario(tomllib.loads(venues_only + close_toml)))
    assert closed["result"]["status"] == "closed"
    assert closed["all_invariants_held"], closed["invariants"]
