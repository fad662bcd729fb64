"""``benches/render.py``: the marked tables of BENCHMARKS.md come from ``benches/results.json``,
the prose around them is kept, and a table whose benchmark is not in the results stays as it was."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))

import render
import results

META = {"date": "2026-12-01T10:00:00Z", "commit": "abc1234", "python": "CPython 3.11.7", "machine": "x86_64",
        "cpu": "Test CPU", "cores": 2, "hedgekit": "0.1.0", "nautilus_trader": None, "uvloop": "0.23.0",
        "command": "test"}  # fmt: skip


def _gate_row(
    path: str, peer: str, kind: str, hk: float, other: float, bound: float, ok: bool | None
) -> dict[str, Any]:
    ratio = None if ok is None else (other / hk if kind == "speedup" else hk / other)
    return {
        "path": path, "peer": peer, "kind": kind, "what": f"{path} hedgekit", "against": f"{peer} side",
        "bound": bound, "bound_is": "min" if kind == "speedup" else "max",
        "hedgekit_ns": None if ok is None else hk, "peer_ns": None if ok is None else other,
        "ratio": ratio, "ok": ok, "skipped": ok is None, "attempts": 0 if ok is None else 1,
        "note": "nautilus_trader not installed" if ok is None else "",
    }  # fmt: skip


def fixture() -> dict[str, Any]:
    """A small results document: the gate, the reaction rows and the quality run; no Rust."""
    summary = {
        "operations": 10,
        "exposure_usd_s": {"n": 10, "mean": 1.0, "median": 1234.5, "q25": 0, "q75": 0, "p99": 9876.0},
        "cost_bps": {"n": 9, "mean": 4.25, "median": 3.5, "q25": 0, "q75": 0, "p99": 0},
        "markout_adjusted_bps": {},
        "maker_share": 0.61, "traded": 1.0, "full_size_opens": 8, "broken_pairs": 0, "oversize_legs": 0,
    }  # fmt: skip
    data = {
        "gate": {
            "passed": True,
            "settings": {"repeat": 15, "batch_ms": 4.0, "rounds": 100, "warmup": 10, "retries": 2},
            "rows": [
                _gate_row("book-delta", "python", "speedup", 40.0, 212.0, 3.3, True),
                _gate_row("book-delta", "nautilus", "speedup", 0, 0, 1.0, None),
                _gate_row("immediate-ioc", "asyncio", "reaction", 90_000.0, 30_000.0, 4.5, True),
            ],
        },
        "reaction": results.from_reaction_stdout(
            "reaction latency, fill event → hedge order handed to the venue, 50 runs per row\n"
            "| row | loop | p50 µs | p99 µs | mean µs | min µs | p50 x floor |\n"
            "|---|---|---|---|---|---|---|\n"
            "| floor (queue → ledger → price → place) | asyncio | 30.0 | 70.0 | 31.0 | 12.0 | 1.00 |\n"
            "| null venue, immediate-ioc | asyncio | 91.2 | 460.0 | 100.0 | 60.0 | 3.04 |\n"
        ),
        "quality": {
            "scenario": "quality.toml",
            "seeds": 10,
            "jobs": 2,
            "wall_s": 3.2,
            "rows": [
                {
                    "strategy": "hedgekit",
                    "op": "open",
                    "summary": summary,
                    "full_size_opens": 8,
                    "seeds": 10,
                }
            ],
        },
    }
    return {"schema": 1, "sections": {k: {"recorded": META, "data": v} for k, v in data.items()}}


DOC = """# Benchmarks

Intro prose, written by hand: 459 µs is a number in prose and stays.

<!-- bench:gate -->

| old gate table |
|---|

<!-- /bench:gate -->

Between the tables: more prose.

<!-- bench:reaction -->

| venue, loop | p50 |
|---|---|
| null venue, asyncio | 459 µs |

<!-- /bench:reaction -->

## Rust floor

<!-- bench:rust -->

| operation | ns/op |
|---|---|
| `bbo` | 2.6 |

<!-- /bench:rust -->

<!-- bench:quality -->
<!-- /bench:quality -->

The end, by hand.
"""


def prose(text: str) -> str:
    """The document with every marked block's body taken out."""
    return render.BLOCK.sub(lambda m: m.group("open") + m.group("close"), text)


def test_tables_come_from_the_results_and_the_prose_is_kept() -> None:
    out = render.render(DOC, fixture())
    assert prose(out) == prose(DOC)
    # the gate: every row, its ratio against its floor
    assert "| old gate table |" not in out
    assert "Last run: **passed**" in out
    assert (
        "| book-delta: book-delta hedgekit | python side | 40.0 ns | 212 ns | 5.30× | ≥ 3.3× | ok |"
        in out
    )
    assert "| — | — | — | ≥ 1× | skipped (nautilus_trader not installed) |" in out
    assert "| 90.0 µs | 30.0 µs | 3.00× | ≤ 4.5× | ok |" in out
    # the reaction rows, as reaction.py printed them
    assert "| null venue, asyncio | 459 µs |" not in out
    assert "50 runs per row" in out
    assert "| null venue, immediate-ioc | asyncio | 91.2 | 460.0 | 60.0 | 3.04 |" in out
    # an empty block is filled
    assert "| hedgekit (open) | 1,234 | 9,876 | 4.25 | 3.50 | 61% | 8/10 | 0 |" in out


def test_a_table_whose_section_is_absent_is_kept_with_a_note() -> None:
    out = render.render(DOC, fixture())
    block = out[out.index("<!-- bench:rust -->") : out.index("<!-- /bench:rust -->")]
    assert "| `bbo` | 2.6 |" in block
    assert "<!-- kept: benches/results.json has no rust section;" in block
    # rendering again changes nothing (one note, not two)
    assert render.render(out, fixture()) == out
    # once the section is there, the table is regenerated and the note goes
    doc = fixture()
    doc["sections"]["rust"] = {"recorded": META, "data": results.from_rust_stdout(
        "book bbo                                     median       3.1 ns/op\n"
        "ledger seen (hit)                            median       8.0 ns/op\n"
    )}  # fmt: skip
    again = render.render(out, doc)
    block = again[again.index("<!-- bench:rust -->") : again.index("<!-- /bench:rust -->")]
    assert "kept" not in block and "| `bbo` | 2.6 |" not in block
    assert "| `bbo` | 3.1 |" in block and "| ledger `seen` hit | 8.0 |" in block
    assert prose(again) == prose(DOC)


def test_the_tables_follow_the_figures() -> None:
    first = render.render(DOC, fixture())
    doc = fixture()
    doc["sections"]["reaction"]["data"]["rows"][1]["p50_us"] = 45.5
    doc["sections"]["gate"]["data"]["rows"][0].update(hedgekit_ns=100.0, ratio=2.12, ok=False)
    doc["sections"]["gate"]["data"]["passed"] = False
    second = render.render(first, doc)
    assert "| null venue, immediate-ioc | asyncio | 45.5 |" in second
    assert "| 91.2 |" not in second
    assert "Last run: **FAILED**" in second and "| 2.12× | ≥ 3.3× | **FAIL** |" in second
    assert prose(second) == prose(DOC)


def test_the_idle_reaction_table_is_its_own_section_and_says_so() -> None:
    text = (
        "reaction latency, fill event → hedge order handed to the venue, 40 runs per row, idle "
        "50 ms before every fill (the entries resting)\n"
        "| row | loop | p50 µs | p99 µs | mean µs | min µs | p50 x floor |\n"
        "|---|---|---|---|---|---|---|\n"
        "| null venue, immediate-ioc | uvloop | 61.3 | 171.5 | 64.4 | 48.9 | 1.59 |\n"
    )
    idle = results.from_reaction_stdout(text)
    assert idle["idle_ms"] == 50.0 and idle["runs"] == 40
    assert (
        results.from_reaction_stdout(
            text.replace(", idle 50 ms before every fill (the entries resting)", "")
        )["idle_ms"]
        == 0.0
    )
    doc = fixture()
    doc["sections"]["reaction-idle"] = {"recorded": META, "data": idle}
    page = DOC + "\n<!-- bench:reaction-idle -->\n<!-- /bench:reaction-idle -->\n"
    out = render.render(page, doc)
    busy = out[out.index("<!-- bench:reaction -->") : out.index("<!-- /bench:reaction -->")]
    cold = out[out.index("<!-- bench:reaction-idle -->") :]
    assert "runs back to back" in busy and "91.2" in busy and "61.3" not in busy
    assert "the entries resting 50 ms, the process idle, before every fill" in cold
    assert "| null venue, immediate-ioc | uvloop | 61.3 | 171.5 | 48.9 | 1.59 |" in cold
    assert "91.2" not in cold


def test_malformed_markers_are_refused() -> None:
    with pytest.raises(render.RenderError, match="unknown table"):
        render.render("<!-- bench:nope -->\n<!-- /bench:nope -->\n", fixture())
    with pytest.raises(render.RenderError, match="needs one"):
        render.render("<!-- bench:gate -->\n", fixture())


def test_main_writes_the_document_and_check_reports_a_stale_one(tmp_path: Path) -> None:
    res, doc = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    res.write_text(json.dumps(fixture()))
    doc.write_text(DOC)
    assert render.main(["--results", str(res), "--doc", str(doc), "--check"]) == 1
    assert render.main(["--results", str(res), "--doc", str(doc)]) == 0
    assert render.main(["--results", str(res), "--doc", str(doc), "--check"]) == 0
    changed = copy.deepcopy(fixture())
    changed["sections"]["quality"]["data"]["wall_s"] = 99.0
    res.write_text(json.dumps(changed))
    assert render.main(["--results", str(res), "--doc", str(doc), "--check"]) == 1


def test_results_update_replaces_one_section_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    results.update(path, "gate", {"passed": True}, META)
    results.update(path, "quality", {"seeds": 1})
    results.update(path, "gate", {"passed": False}, META)
    doc = results.load(path)
    assert doc["sections"]["gate"]["data"] == {"passed": False}
    assert doc["sections"]["quality"]["data"] == {"seeds": 1}
    assert doc["sections"]["quality"]["recorded"]["python"].startswith("CPython")


def test_benchmarks_md_is_what_the_committed_results_give() -> None:
    """The figures in BENCHMARKS.md are those of benches/results.json (run
    ``python benches/render.py`` after a benchmark run)."""
    doc = json.loads((ROOT / "benches" / "results.json").read_text(encoding="utf-8"))
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert render.render(text, doc) == text


def _summary(exposure: float, cost5: float, broken: int = 0) -> dict[str, Any]:
    dist = {"n": 5, "mean": 1.0, "median": 1.0, "q25": 0.0, "q75": 2.0, "p99": 3.0}
    return {
        "operations": 5, "exposure_usd_s": {**dist, "median": exposure, "p99": exposure * 10},
        "cost_bps": {**dist, "mean": 4.5, "median": 3.25},
        "markout_adjusted_bps": {"1s": dist, "5s": {**dist, "median": cost5}},
        "maker_share": 0.5, "traded": 10.0, "full_size_opens": 4, "broken_pairs": broken, "oversize_legs": 0,
    }  # fmt: skip


def _frontier(first: int, policies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return results.from_frontier({
        "scenario": {"name": "q", "file": "quality.toml", "size": "2", "legs": ["hl:buy", "aster:sell"]},
        "seeds": list(range(first, first + 5)), "horizons_s": [1.0, 5.0],
        "policies": [{"name": n, "kind": "open", "description": "", "overrides": {}, "summary": s, "runs": [{}]}
                     for n, s in policies.items()],
    })  # fmt: skip


def test_every_table_renders_from_a_complete_document() -> None:
    pb = {"benchmarks": [
        {"group": g, "name": n, "stats": {"min": v, "max": v, "mean": v, "stddev": 0.0, "median": v, "iqr": 0.0,
                                          "rounds": 10, "iterations": 1}}
        for g, n, v in [
            ("book-delta", "test_delta_hedgekit_raw", 93e-9), ("book-delta", "test_delta_python_sorteddict", 398e-9),
            ("book-batch-100", "test_batch_hedgekit_raw", 2.33e-6),
            ("book-hl-message", "test_hl_message_hedgekit", 1.11e-6),
            ("book-hl-message", "test_hl_message_python_orjson_sorteddict", 59.5e-6),
            ("book-bbo", "test_bbo_hedgekit_raw", 133e-9), ("book-best-price", "test_best_price_hedgekit_raw", 73e-9),
            ("ledger-seen", "test_hedgekit_seen_hit", 100e-9), ("ledger-seen", "test_hedgekit_seen_miss", 102e-9),
            ("round-price", "test_hedgekit_round_price_raw", 108e-9),
            ("simulated venue, 120 s of venue time", "test_sim_120s_of_venue_time[venue]", 0.189),
        ]
    ]}  # fmt: skip
    doc = fixture()
    policies = {n: _summary(100.0 + i, 2.5, broken=45 if n == "market-both" else 0)
                for i, n in enumerate(["immediate-ioc", "after_settle-ioc", "after_settle-ladder", "taker_both",
                                       "market-both", "limit-wait"])}  # fmt: skip
    frontier = {"quality": _frontier(0, policies)}
    for label in render.REALISTIC_SETS:
        frontier[label] = _frontier(int(label.split("-")[1]), policies)
    callfloor = {"repeat": 7, "rows": [
        {"key": k, "call": k, "ns_per_op": v} for k, v in [
            ("floor", 26.0), ("apply_delta_raw", 59.0), ("best_bid_raw", 37.0), ("bbo_raw", 104.0),
            ("apply_deltas_raw_100", 23.5), ("apply_deltas_raw_1000", 18.7), ("apply_hyperliquid", 1180.0),
            ("orjson_loads", 8200.0), ("seen_hit", 55.0), ("seen_miss", 61.0), ("round_price_raw", 72.0)]]}  # fmt: skip
    load = {"plan": "taker_both", "symbols": 20, "size": "0.01", "repeat": 3, "default_starts_per_turn": 4,
            "levels": [{"starts_per_turn": None, "n": 1000, "worst_stall_ms_max": 235.8, "statuses": {"opened": 3000},
                        "median": {"ops_per_s": 1419.0, "worst_stall_ms": 231.9, "worst_stall_cpu_ms": 229.2,
                                   "op_p50_s": 0.563, "op_p99_s": 0.623}},
                       {"starts_per_turn": 4, "n": 1000, "worst_stall_ms_max": 43.3, "statuses": {"opened": 3000},
                        "median": {"ops_per_s": 1649.0, "worst_stall_ms": 39.9, "worst_stall_cpu_ms": 40.9,
                                   "op_p50_s": 0.303, "op_p99_s": 0.596}}]}  # fmt: skip

    def p(p50: float, p99: float) -> dict[str, float]:
        return {"p50_us": p50, "p99_us": p99, "n": 500}

    live = {"orders": 500, "warmup": 50, "hedgekit": p(68.0, 149.0), "sdk": p(903.0, 1162.0),
            "ccxt": None, "sign": {"hedgekit": p(26.4, 33.8), "sdk": p(286.0, 422.0)},
            "userfills_ledger": p(6.8, 20.6), "l2book_book": p(1.87, 2.79)}  # fmt: skip
    live_aster = {"orders": 500, "warmup": 50, "hedgekit": p(304.8, 595.6), "ccxt": p(3559.4, 4073.9),
                  "depth_update_book": p(2.4, 4.72), "trade_update_ledger": p(9.6, 21.06)}  # fmt: skip
    live_lighter = {"orders": 300, "warmup": 30, "hedgekit": p(1010.0, 2250.0), "sdk": p(2780.0, 4750.0),
                    "sign": {"hedgekit": p(1360.0, 1800.0), "hedgekit_thread": p(606.0, 900.0),
                             "sdk": p(1450.0, 2050.0)},
                    "order_book_book": p(5.18, 8.66), "trades_ledger": p(9.13, 19.05)}  # fmt: skip
    ws_listener = {"frames": 20000, "rounds": 7, "message_bytes": 1438, "levels": 20,
                   "dispatch_us": {"python": 1.43, "cython": 0.87}, "dispatch_ratio": 1.6437,
                   "loopback_us": {"python": 3.09, "cython": 2.47}, "loopback_ratio": 1.251}  # fmt: skip
    live_ccxt = {"orders": 500, "warmup": 50,
                 "native": {"place_socket": p(119.6, 175.3), "ioc_round_trip": p(702.6, 1052.1)},
                 "bridge": {"place_socket": p(4904.6, 6541.3), "ioc_round_trip": p(5151.3, 7280.9)}}  # fmt: skip
    for name, data in [
        ("pytest-benchmark", results.from_pytest_benchmark(pb)),
        ("frontier", frontier),
        ("callfloor", callfloor),
        ("load", load),
        ("rust", results.from_rust_stdout("book bbo   median       2.6 ns/op\n")),
        ("live", live),
        ("live-aster", live_aster),
        ("live-lighter", live_lighter),
        ("ws-listener", ws_listener),
        ("live-ccxt", live_ccxt),
        ("reaction-idle", {**doc["sections"]["reaction"]["data"], "idle_ms": 50.0}),
    ]:
        doc["sections"][name] = {"recorded": META, "data": data}
    doc["sections"]["live-aster"]["recorded"] = {**META, "ccxt": "4.5.90"}
    doc["sections"]["ws-listener"]["recorded"] = {**META, "picows": "2.3.1", "cython": "3.3.1"}
    doc["sections"]["live-lighter"]["recorded"] = {**META, "lighter_sdk": "1.1.8"}
    doc["sections"]["live-ccxt"]["recorded"] = {**META, "ccxt": "4.5.90"}
    text = (
        "\n\n".join(f"<!-- bench:{name} -->\n<!-- /bench:{name} -->" for name in render.BLOCKS)
        + "\n"
    )
    out = render.render(text, doc)
    assert "kept" not in out
    assert "| one delta, `apply_delta_raw` | ≤ 100 ns | 59.0 ns | 93.0 ns | yes |" in out
    assert (
        "| dedup check, `FillLedger.seen` (hit / miss) | ≤ 80 ns | 55.0 / 61.0 ns | 100 / 102 ns | yes in a bare loop |"
        in out
    )
    assert (
        "18.7 ns (1000 levels), 23.5 ns (100) | 23.3 ns (100) | at 1000 levels; not at 100 |" in out
    )
    assert "| one delta at the top | 93.0 ns | — | 398 ns |" in out
    assert (
        "| 20+20 `l2Book` message from bytes | 1.11 µs | — (no parser for it) | 59.5 µs (orjson + rebuild) |"
        in out
    )
    assert "| venue only | 189 ms | ≈ 635× |" in out
    # over the wire: the peer that was not installed says so instead of a figure
    assert "| `place()` called → signed order on the socket | ≤ 150 µs | 68.0 / 149.0 |" in out
    assert "| ccxt (not installed for the run) (`create_order`) | — | — |" in out
    assert "| `l2Book` frame (20+20) → book | ≤ 3 µs | 1.9 / 2.8 |" in out
    # Aster over the wire: the same order against ccxt's aster, and the two inbound paths
    assert (
        "| `place()` called → signed order on the socket (V3) | 304.8 / 595.6 | ccxt 4.5.90 `aster` "
        "(`create_order`) | 3,559.4 / 4,073.9 | 11.7× |" in out
    )
    assert "| `depthUpdate` frame (10+10) → book | 2.4 / 4.7 |" in out
    assert "| `ORDER_TRADE_UPDATE` frame (1 fill) → ledger | 9.6 / 21.1 |" in out
    # Lighter over the wire: place against the SDK's create_order, signing both ways, the share
    assert (
        "| `place()` called → signed `sendTx` on the socket | 1,010.0 / 2,250.0 | lighter-sdk 1.1.8 "
        "(`SignerClient.create_order`) | 2,780.0 / 4,750.0 | 2.8× |" in out
    )
    assert (
        "| one CreateOrder signature, on the main thread | 1,360.0 / 1,800.0 | lighter-sdk 1.1.8 "
        "(`sign_create_order`) | 1,450.0 / 2,050.0 | 1.1× |" in out
    )
    assert "(as `place()` signs) | 606.0 / 900.0 |" in out
    assert "| `update/order_book` frame (5+5) → book | 5.2 / 8.7 |" in out
    assert "| `account_all_trades` frame (1 fill) → ledger | 9.1 / 19.1 |" in out
    assert "300 orders per client after 30 of warm-up, 500 signatures each way" in out
    assert "Signing, as `place()` does it, is 60% of hedgekit's place p50." in out
    assert (
        "| live-lighter | 2026-12-01 10:00:00 | abc1234 |" in out and "lighter_sdk 1.1.8 |" in out
    )
    # the WebSocket listeners, frame → book: the compiled one against the Python fallback
    assert (
        "| `l2Book` frame (20+20) in memory → `on_ws_frame` → book | 1.43 | 0.87 | **1.64×** |"
        in out
    )
    assert "| socket → frame → book (picows server on 127.0.0.1) | 3.09 | 2.47 | **1.25×** |" in out
    assert "20,000 frames of 1,438 bytes × 7 rounds" in out and "picows 2.3.1, Cython 3.3.1" in out
    # the ccxt bridge beside the native adapter, on the same fake
    assert "| `HyperliquidVenue` p50 / p99 µs | `CcxtVenue('hyperliquid')` (ccxt 4.5.90) p50" in out
    assert (
        "| `place()` called → signed order on the socket | 119.6 / 175.3 | 4,904.6 / 6,541.3 | 41.0× |"
        in out
    )
    assert (
        "| IOC round trip, `place()` called → `OrderAck` | 702.6 / 1,052.1 | 5,151.3 / 7,280.9 | 7.3× |"
        in out
    )
    assert "| market both (baseline) | 104 / 2.50 / 45 / 0 |" in out
    assert "| policy | retail 0–4 | retail 500–504 |" in out
    assert "| immediate-ioc | 100.0 | 1,000.0 | 4.50 | 3.25 |" in out
    assert (
        "| no limit | 1,000 | 1,419 | 231.9 (235.8) | 229.2 | 0.563 | 0.623 | opened 3,000 |" in out
    )
    assert "| **4 (default)** | 1,000 | 1,649 |" in out
    assert "| `bbo` | 2.6 |" in out
    assert "| frontier retail-500 | 2026-12-01 10:00:00 | abc1234 |" in out
