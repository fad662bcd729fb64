"""Regenerates the tables of ``BENCHMARKS.md`` from ``benches/results.json``.

Each generated table sits between two markers, ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``;
everything outside the markers (the prose) is left exactly as it is. A block whose sections are
not all in the results file (a benchmark that was not run, such as the Rust floor or the frontier
when only part of ``make bench`` ran) keeps the table it has, and gets a comment saying it was
kept and why, so a hand-written table is never replaced by an empty one and never passes for a
generated one.

Run: ``python benches/render.py [--results benches/results.json] [--doc BENCHMARKS.md] [--check]``
(``make bench`` runs it last; ``--check``: exit 1 if the document is not what the results give).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benches" / "results.json"
DOC = ROOT / "BENCHMARKS.md"

BLOCK = re.compile(
    r"(?P<open><!-- bench:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(?P<close><!-- /bench:(?P=name) -->)",
    re.DOTALL,
)
KEPT = re.compile(r"<!-- kept: [^\n]*-->\n")

Results = Mapping[str, Any]  # section name → its data


class RenderError(Exception):
    """The document's markers are malformed or name no known table."""


# ------------------------------------------------------------------------------ formatting
def sig3(x: float) -> str:
    """Three significant figures, without an exponent (189, 37.2, 1.18, 0.0421)."""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _unit(ns: float) -> tuple[float, str]:
    if ns < 1e3:
        return 1.0, "ns"
    if ns < 1e6:
        return 1e3, "µs"
    if ns < 1e9:
        return 1e6, "ms"
    return 1e9, "s"


def t(ns: float | None) -> str:
    """A time in ns, in its natural unit."""
    if ns is None:
        return "—"
    div, unit = _unit(ns)
    return f"{sig3(ns / div)} {unit}"


def ts(*ns: float | None, sep: str = " / ") -> str:
    """Several times in the unit of the largest ("100 / 102 ns")."""
    if any(x is None for x in ns):
        return sep.join(t(x) for x in ns)
    vals = [x for x in ns if x is not None]
    div, unit = _unit(max(vals))
    return sep.join(sig3(x / div) for x in vals) + f" {unit}"


def num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def share(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def head(*cells: str, align: str | None = None) -> list[str]:
    """A header and its rule (``align``: one of ``l``/``r`` per column, default all left)."""
    rule = ["---:" if a == "r" else "---" for a in (align or "l" * len(cells))]
    return [row(cells), row(rule)]


# ------------------------------------------------------------------------------ lookups
def _pb(res: Results, group: str, name: str) -> float | None:
    """A pytest-benchmark median, ns (``None``: not in the run, e.g. a skipped peer)."""
    g = res["pytest-benchmark"]["groups"].get(group, {})
    return g[name]["median_ns"] if name in g else None


def _cf(res: Results, key: str) -> float | None:
    for r in res["callfloor"]["rows"]:
        if r["key"] == key:
            return float(r["ns_per_op"])
    return None


# ------------------------------------------------------------------------------ the tables
# Each renderer returns the block's new body; the sections it needs are listed beside it.

TARGETS: list[tuple[str, float, tuple[str, ...], tuple[str, tuple[str, ...]]]] = [
    # label, target ns, callfloor keys, (pytest-benchmark group, tests)
    ("one delta, `apply_delta_raw`", 100, ("apply_delta_raw",), ("book-delta", ("test_delta_hedgekit_raw",))),
    ("20+20 Hyperliquid `l2Book` from bytes to updated book", 2000, ("apply_hyperliquid",),
     ("book-hl-message", ("test_hl_message_hedgekit",))),
    ("one best price, `best_bid_raw`", 60, ("best_bid_raw",), ("book-best-price", ("test_best_price_hedgekit_raw",))),
    ("whole BBO (2 prices + 2 sizes), `bbo_raw`", 120, ("bbo_raw",), ("book-bbo", ("test_bbo_hedgekit_raw",))),
    ("dedup check, `FillLedger.seen` (hit / miss)", 80, ("seen_hit", "seen_miss"),
     ("ledger-seen", ("test_hedgekit_seen_hit", "test_hedgekit_seen_miss"))),
    ("price rounding, `round_price_raw`", 100, ("round_price_raw",), ("round-price", ("test_hedgekit_round_price_raw",))),
]  # fmt: skip


def _target(ns: float) -> str:
    return f"≤ {ns:g} ns" if ns < 1e3 else f"≤ {ns / 1e3:g} µs"


def _met(bare: Sequence[float | None], wrapped: Sequence[float | None], target: float) -> str:
    if any(x is None for x in [*bare, *wrapped]):
        return "—"
    if max(x for x in bare if x is not None) > target:
        return "no"
    if max(x for x in wrapped if x is not None) > target:
        return "yes in a bare loop"
    return "yes"


def render_targets(res: Results) -> str:
    out = head("operation", "target", "timeit", "pytest-benchmark", "met?")
    for label, target, keys, (group, tests) in TARGETS[:1]:
        bare = [_cf(res, k) for k in keys]
        wrapped = [_pb(res, group, n) for n in tests]
        out.append(
            row([label, _target(target), ts(*bare), ts(*wrapped), _met(bare, wrapped, target)])
        )
    b1000, b100 = _cf(res, "apply_deltas_raw_1000"), _cf(res, "apply_deltas_raw_100")
    pb100 = _pb(res, "book-batch-100", "test_batch_hedgekit_raw")
    pb100 = None if pb100 is None else pb100 / 100
    if b1000 is None or b100 is None or pb100 is None:
        met = "—"
    elif max(b100, pb100) <= 20:
        met = "yes"
    elif b1000 <= 20:
        met = "at 1000 levels; not at 100"
    else:
        met = "no"
    out.append(row([
        "batch, `apply_deltas_raw` (numpy), per level", "≤ 20 ns",
        f"{t(b1000)} (1000 levels), {t(b100)} (100)", f"{t(pb100)} (100)", met,
    ]))  # fmt: skip
    for label, target, keys, (group, tests) in TARGETS[1:]:
        bare = [_cf(res, k) for k in keys]
        wrapped = [_pb(res, group, n) for n in tests]
        out.append(
            row([label, _target(target), ts(*bare), ts(*wrapped), _met(bare, wrapped, target)])
        )
    floor, loads = _cf(res, "floor"), _cf(res, "orjson_loads")
    if floor is not None and loads is not None:
        out += [
            "",
            (
                f"In the same `timeit` loop: a builtin C method call (`int.bit_length()`) {t(floor)}; "
                f"`orjson.loads` of the same 20+20 message {t(loads)}."
            ),
        ]
    return "\n".join(out)


SIDE = [
    ("one delta at the top", "book-delta", "test_delta_hedgekit_raw", "test_delta_nautilus", "test_delta_python_sorteddict", "", ""),
    ("batch of 100 deltas", "book-batch-100", "test_batch_hedgekit_raw", "test_batch_nautilus", "test_batch_python_sorteddict", "", ""),
    ("20+20 `l2Book` message from bytes", "book-hl-message", "test_hl_message_hedgekit", None,
     "test_hl_message_python_orjson_sorteddict", "", " (orjson + rebuild)"),
    ("BBO (both prices and sizes)", "book-bbo", "test_bbo_hedgekit_raw", "test_bbo_nautilus", "test_bbo_python_sorteddict", " (four getters)", ""),
    ("one best price", "book-best-price", "test_best_price_hedgekit_raw", "test_best_price_nautilus",
     "test_best_price_python_sorteddict", "", ""),
]  # fmt: skip


def render_side_by_side(res: Results, meta: Mapping[str, Any]) -> str:
    version = meta.get("nautilus_trader")
    nt = f"NautilusTrader {version}" if version else "NautilusTrader (not installed for the run)"
    out = head("group", "hedgekit", nt, "plain Python (2 × SortedDict)")
    for label, group, hk, naut, py, naut_note, py_note in SIDE:
        if naut is None:
            n = "— (no parser for it)"
        else:
            v = _pb(res, group, naut)
            n = "—" if v is None else t(v) + naut_note
        out.append(row([label, t(_pb(res, group, hk)), n, t(_pb(res, group, py)) + py_note]))
    return "\n".join(out)


def render_ledger_rounding(res: Results) -> str:
    def pb(group: str, name: str) -> float | None:
        return _pb(res, group, name)

    out = head("group", "hedgekit", "peer")
    out.append(row([
        "dedup check (hit / miss)",
        ts(pb("ledger-seen", "test_hedgekit_seen_hit"), pb("ledger-seen", "test_hedgekit_seen_miss")),
        "`set` + `deque`: "
        + ts(pb("ledger-seen", "test_python_set_deque_seen_hit"), pb("ledger-seen", "test_python_set_deque_seen_miss")),
    ]))  # fmt: skip
    out.append(row([
        "fill apply, raw ints / `Decimal` args / `str` args",
        ts(pb("ledger-apply", "test_hedgekit_apply_raw"), pb("ledger-apply", "test_hedgekit_apply_decimal"),
           pb("ledger-apply", "test_hedgekit_apply_str")),
        "—",
    ]))  # fmt: skip
    out.append(row([
        "duplicate fill apply (the common WS+REST case)", t(pb("ledger-apply", "test_hedgekit_apply_duplicate")), "—",
    ]))  # fmt: skip
    out.append(row([
        "round a price to the tick: raw / `Decimal` in and out",
        ts(pb("round-price", "test_hedgekit_round_price_raw"), pb("round-price", "test_hedgekit_round_price_decimal")),
        (f"`Decimal.quantize`: {t(pb('round-price', 'test_python_decimal_quantize_bare'))} bare, "
         f"{t(pb('round-price', 'test_python_decimal_quantize'))} in a helper"),
    ]))  # fmt: skip
    return "\n".join(out)


RUST_LABELS = {
    "round_price plain (passive buy)": "`round_price`, plain tick (passive buy)",
    "round_price hyperliquid (passive sell)": "`round_price`, Hyperliquid grid (passive sell)",
    'Fixed::parse "3119.95"': '`Fixed::parse("3119.95")`',
    "book apply_delta (top level)": "`apply_delta` at the top level",
    "book apply_deltas_raw 1000 (per level)": "`apply_deltas_raw`, 1000 random-depth deltas, per level",
    "book bbo": "`bbo`",
    "book apply_hyperliquid 20+20 from bytes": "`apply_hyperliquid`, 20+20 message",
    "ledger seen (hit)": "ledger `seen` hit",
    "ledger seen (miss)": "ledger `seen` miss",
}


def render_rust(res: Results) -> str:
    out = head("operation", "ns/op", align="lr")
    for r in res["rust"]["rows"]:
        out.append(row([RUST_LABELS.get(r["name"], f"`{r['name']}`"), f"{r['ns']:,.1f}"]))
    return "\n".join(out)


SIM_GROUP = "simulated venue, 120 s of venue time"
SIM_ROWS = [("venue only", "test_sim_120s_of_venue_time[venue]"),
            ("venue + tracker + faults", "test_sim_120s_of_venue_time[venue+tracker+faults]")]  # fmt: skip


def render_sim(res: Results) -> str:
    out = head("run", "wall time", "venue time / wall time")
    for label, name in SIM_ROWS:
        v = _pb(res, SIM_GROUP, name)
        out.append(row([label, t(v), "—" if v is None else f"≈ {120e9 / v:,.0f}×"]))
    return "\n".join(out)


def render_reaction(res: Results, section: str = "reaction") -> str:
    r = res[section]
    idle = r.get("idle_ms") or 0
    when = (
        f", the entries resting {idle:g} ms, the process idle, before every fill"
        if idle
        else ", runs back to back"
    )
    out = [
        f"{r['runs']} runs per row, interleaved, after the warm-up{when}." if r.get("runs") else "",
        "",
    ]
    out += head("row", "loop", "p50 µs", "p99 µs", "min µs", "p50 × floor", align="llrrrr")
    for x in r["rows"]:
        xf = x.get("x_floor")
        out.append(row([
            x.get("row", "?"), x.get("loop", "?"), num(x.get("p50_us")), num(x.get("p99_us")),
            num(x.get("min_us")), "—" if xf is None else f"{xf:.2f}",
        ]))  # fmt: skip
    return "\n".join(out if out[0] else out[2:])


def render_quality(res: Results) -> str:
    q = res["quality"]
    out = [
        (
            f"{q['seeds']} seeds of `benches/scenarios/{q['scenario']}`, opens and closes, "
            f"{q['wall_s']:.0f} s wall on {q['jobs']} worker process{'es' if q['jobs'] != 1 else ''}."
        ),
        "",
    ]
    out += head(
        "strategy (operation)", "exposure USD·s, median", "p99", "cost vs arrival mid incl. fees, bps mean",
        "median", "maker share", "opens at full size", "broken pairs", align="lrrrrrrr",
    )  # fmt: skip
    for x in q["rows"]:
        s = x["summary"]
        exp, cost = s["exposure_usd_s"], s["cost_bps"]
        full = f"{x['full_size_opens']}/{x['seeds']}" if x["op"] == "open" else ""
        broken = s["broken_pairs"]
        out.append(row([
            f"{x['strategy']} ({x['op']})", num(exp["median"], 0), num(exp["p99"], 0), num(cost["mean"], 2),
            num(cost["median"], 2), share(s["maker_share"]), full, broken,
        ]))  # fmt: skip
    return "\n".join(out)


def _frontier_caption(f: Mapping[str, Any]) -> str:
    s = f["seeds"]
    return (
        f"`{f['scenario']['file']}`, open of {f['scenario']['size']} ({', '.join(f['scenario']['legs'])}), "
        f"seeds {s['first']}–{s['last']} ({s['n']} per policy)."
    )


def render_frontier(res: Results) -> str:
    f = res["frontier"]["quality"]
    horizons = [f"{h:g}s" for h in f.get("horizons_s") or (1.0, 5.0)]
    cols = ["policy", "exposure USD·s median", "p99", "cost bps mean", "median"]
    for h in horizons:
        cols += [f"markout-adj. {h[:-1]} s bps mean", "median"]
    cols += ["maker share", "full-size opens", "broken pairs", "oversize legs"]
    out = [_frontier_caption(f), "", row(cols), row(["---"] + ["---:"] * (len(cols) - 1))]
    for p in f["policies"]:
        s = p["summary"]
        cells = [p["name"], num(s["exposure_usd_s"]["median"]), num(s["exposure_usd_s"]["p99"]),
                 num(s["cost_bps"]["mean"], 2), num(s["cost_bps"]["median"], 2)]  # fmt: skip
        for h in horizons:
            d = s["markout_adjusted_bps"].get(h, {})
            cells += [num(d.get("mean"), 2), num(d.get("median"), 2)]
        cells += [share(s["maker_share"]), f"{s['full_size_opens']}/{s['operations']}",
                  str(s["broken_pairs"]), str(s["oversize_legs"])]  # fmt: skip
        out.append(row(cells))
    return "\n".join(out)


REALISTIC_SETS = [
    f"{profile}-{start}" for profile in ("retail", "colocated") for start in (0, 500, 1000)
]
REALISTIC_ROWS = [
    ("immediate-ioc", "immediate + ioc"),
    ("after_settle-ioc", "after settle + ioc"),
    ("after_settle-ladder", "after settle + ladder"),
    ("taker_both", "taker both"),
    ("market-both", "market both (baseline)"),
    ("limit-wait", "limit, wait, roll back (baseline)"),
]


def render_frontier_realistic(res: Results) -> str:
    fr = res["frontier"]
    cols = ["policy"]
    for label in REALISTIC_SETS:
        s = fr[label]["seeds"]
        cols.append(f"{label.split('-')[0]} {s['first']}–{s['last']}")
    out = [row(cols), row(["---"] * len(cols))]
    for name, label in REALISTIC_ROWS:
        cells = [label]
        for key in REALISTIC_SETS:
            by_name = {p["name"]: p["summary"] for p in fr[key]["policies"]}
            s = by_name.get(name)
            if s is None:
                cells.append("—")
                continue
            exp = s["exposure_usd_s"]["median"]
            cost = s["markout_adjusted_bps"].get("5s", {}).get("median")
            exp_s = "—" if exp is None else (f"{exp:,.0f}" if exp >= 100 else f"{exp:.1f}")
            cells.append(f"{exp_s} / {num(cost, 2)} / {s['broken_pairs']} / {s['oversize_legs']}")
        out.append(row(cells))
    out += [
        "",
        "(cells: exposure median / markout-adjusted cost median / broken pairs / oversize legs)",
    ]
    return "\n".join(out)


def render_load(res: Results) -> str:
    ld = res["load"]
    default = ld.get("default_starts_per_turn")
    n_runs = ld.get("repeat", 1)
    what = f"medians of {n_runs} runs" if n_runs > 1 else "one run"
    out = [f"Plan `{ld['plan']}`, {ld['symbols']} symbols, {ld['size']} ETH per open; {what}.", ""]
    worst = f"worst stall ms (wall, max of {n_runs})" if n_runs > 1 else "worst stall ms (wall)"
    out += head("starts per turn", "N", "ops/s", worst, "worst stall ms (CPU)", "op p50 s", "op p99 s",
                "statuses", align="lrrrrrrl")  # fmt: skip
    for lv in ld["levels"]:
        per = lv["starts_per_turn"]
        label = (
            "no limit" if per is None else (f"**{per} (default)**" if per == default else str(per))
        )
        m = lv["median"]
        stall = f"{m['worst_stall_ms']:.1f}" + (
            f" ({lv['worst_stall_ms_max']:.1f})" if n_runs > 1 else ""
        )
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(lv["statuses"].items()))
        out.append(row([label, f"{lv['n']:,}", f"{m['ops_per_s']:,.0f}", stall, f"{m['worst_stall_cpu_ms']:.1f}",
                         f"{m['op_p50_s']:.3f}", f"{m['op_p99_s']:.3f}", statuses]))  # fmt: skip
    return "\n".join(out)


def render_live(res: Results, meta: Mapping[str, Any]) -> str:
    """Over the wire against one fake on loopback (``benches/live.py``), p50 / p99 µs."""
    lv = res["live"]

    def us(x: Mapping[str, Any] | None) -> str:
        return "—" if x is None else f"{x['p50_us']:,.1f} / {x['p99_us']:,.1f}"

    def ratio(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> str:
        return "—" if a is None or b is None else f"{b['p50_us'] / a['p50_us']:,.1f}×"

    sdk = f"hyperliquid-python-sdk {meta.get('hyperliquid_python_sdk') or '?'}"
    cx = f"ccxt {meta['ccxt']}" if meta.get("ccxt") else "ccxt (not installed for the run)"
    out = head("path", "target p50", "hedgekit p50 / p99 µs", "peer", "peer p50 / p99 µs",
               "hedgekit faster", align="lrrlrr")  # fmt: skip
    place = lv["hedgekit"]
    out.append(row(["`place()` called → signed order on the socket", "≤ 150 µs", us(place), sdk,
                    us(lv["sdk"]), ratio(place, lv["sdk"])]))  # fmt: skip
    out.append(row(["", "", "", cx + " (`create_order`)", us(lv.get("ccxt")),
                    ratio(place, lv.get("ccxt"))]))  # fmt: skip
    sign = lv["sign"]
    out.append(row(["one L1 order signature", "", us(sign["hedgekit"]),
                    "eth-account (the SDK's `sign_l1_action`)", us(sign["sdk"]),
                    ratio(sign["hedgekit"], sign["sdk"])]))  # fmt: skip
    out.append(
        row(["`userFills` frame (1 fill) → ledger", "", us(lv["userfills_ledger"]), "", "", ""])
    )
    out.append(row(["`l2Book` frame (20+20) → book", "≤ 3 µs", us(lv["l2book_book"]), "", "", ""]))
    out.append("")
    out.append(f"{lv['orders']:,} orders per client after {lv['warmup']} of warm-up; every client "
               "has its own account on the same fake.")  # fmt: skip
    return "\n".join(out)


def render_live_aster(res: Results, meta: Mapping[str, Any]) -> str:
    """Aster over the wire against one ``FakeAster`` (``benches/live_aster.py``), p50 / p99 µs."""
    lv = res["live-aster"]

    def us(x: Mapping[str, Any] | None) -> str:
        return "—" if x is None else f"{x['p50_us']:,.1f} / {x['p99_us']:,.1f}"

    place, cx_fig = lv["hedgekit"], lv.get("ccxt")
    cx = "ccxt (not installed for the run)"
    if cx_fig is not None:
        cx = f"ccxt {meta.get('ccxt') or '?'} `aster`"
    faster = "—" if cx_fig is None else f"{cx_fig['p50_us'] / place['p50_us']:,.1f}×"
    out = head("path", "hedgekit p50 / p99 µs", "peer", "peer p50 / p99 µs", "hedgekit faster",
               align="lrlrr")  # fmt: skip
    out.append(row(["`place()` called → signed order on the socket (V3)", us(place),
                    cx + " (`create_order`)", us(cx_fig), faster]))  # fmt: skip
    out.append(row(["`depthUpdate` frame (10+10) → book", us(lv["depth_update_book"]), "", "", ""]))
    out.append(
        row(["`ORDER_TRADE_UPDATE` frame (1 fill) → ledger", us(lv["trade_update_ledger"]),
             "", "", ""])
    )  # fmt: skip
    out.append("")
    out.append(f"{lv['orders']:,} orders per client after {lv['warmup']} of warm-up; every client "
               "has its own account on the same fake.")  # fmt: skip
    return "\n".join(out)


def render_live_lighter(res: Results, meta: Mapping[str, Any]) -> str:
    """Lighter over the wire against one ``FakeLighter`` (``benches/live_lighter.py``), p50 / p99
    µs, with the share of hedgekit's place time that is signing."""
    lv = res["live-lighter"]

    def us(x: Mapping[str, Any]) -> str:
        return f"{x['p50_us']:,.1f} / {x['p99_us']:,.1f}"

    def faster(ours: Mapping[str, Any], peer: Mapping[str, Any]) -> str:
        return f"{peer['p50_us'] / ours['p50_us']:,.1f}×"

    sdk = f"lighter-sdk {meta.get('lighter_sdk') or '?'}"
    place, sign = lv["hedgekit"], lv["sign"]
    out = head("path", "hedgekit p50 / p99 µs", "peer", "peer p50 / p99 µs", "hedgekit faster",
               align="lrlrr")  # fmt: skip
    out.append(row(["`place()` called → signed `sendTx` on the socket", us(place),
                    sdk + " (`SignerClient.create_order`)", us(lv["sdk"]),
                    faster(place, lv["sdk"])]))  # fmt: skip
    out.append(row(["one CreateOrder signature, on the main thread", us(sign["hedgekit"]),
                    sdk + " (`sign_create_order`)", us(sign["sdk"]),
                    faster(sign["hedgekit"], sign["sdk"])]))  # fmt: skip
    out.append(row(["the same, on the signer's worker thread from the loop (as `place()` signs)",
                    us(sign["hedgekit_thread"]), "", "", ""]))  # fmt: skip
    out.append(
        row(["`update/order_book` frame (5+5) → book", us(lv["order_book_book"]), "", "", ""])
    )
    out.append(row(["`account_all_trades` frame (1 fill) → ledger", us(lv["trades_ledger"]),
                    "", "", ""]))  # fmt: skip
    out.append("")
    share = sign["hedgekit_thread"]["p50_us"] / place["p50_us"]
    out.append(f"{lv['orders']:,} orders per client after {lv['warmup']} of warm-up, "
               f"{sign['hedgekit']['n']:,} signatures each way; every client has its own account and "
               f"API key on the same fake. Signing, as `place()` does it, is {share:.0%} of "
               "hedgekit's place p50.")  # fmt: skip
    return "\n".join(out)


def render_ws_listener(res: Results, meta: Mapping[str, Any]) -> str:
    """Frame → book through each shipped WebSocket listener (``benches/ws_listener.py``), µs per
    frame (medians of the rounds)."""
    w = res["ws-listener"]
    out = head("frame → book, µs per frame", "Python listener", "compiled listener",
               "Python / compiled", align="lrrr")  # fmt: skip
    for key, what in (("dispatch", "`l2Book` frame (20+20) in memory → `on_ws_frame` → book"),
                      ("loopback", "socket → frame → book (picows server on 127.0.0.1)")):  # fmt: skip
        us = w[f"{key}_us"]
        out.append(row([what, f"{us['python']:.2f}", f"{us['cython']:.2f}",
                        f"**{w[f'{key}_ratio']:.2f}×**"]))  # fmt: skip
    out.append("")
    out.append(f"{w['frames']:,} frames of {w['message_bytes']:,} bytes × {w['rounds']} rounds, the "
               f"two listeners alternating round by round; picows {meta.get('picows') or '?'}, "
               f"Cython {meta.get('cython') or '?'}.")  # fmt: skip
    return "\n".join(out)


def render_live_ccxt(res: Results, meta: Mapping[str, Any]) -> str:
    """The ccxt bridge beside the native adapter against one ``FakeHyperliquid``
    (``benches/live_ccxt.py``), p50 / p99 µs."""
    lv = res["live-ccxt"]

    def us(x: Mapping[str, Any]) -> str:
        return f"{x['p50_us']:,.1f} / {x['p99_us']:,.1f}"

    cx = f"ccxt {meta.get('ccxt') or '?'}"
    out = head("path", "`HyperliquidVenue` p50 / p99 µs",
               f"`CcxtVenue('hyperliquid')` ({cx}) p50 / p99 µs", "native faster",
               align="lrrr")  # fmt: skip
    for key, label in (("place_socket", "`place()` called → signed order on the socket"),
                       ("ioc_round_trip", "IOC round trip, `place()` called → `OrderAck`")):  # fmt: skip
        native, bridge = lv["native"][key], lv["bridge"][key]
        out.append(row([label, us(native), us(bridge),
                        f"{bridge['p50_us'] / native['p50_us']:,.1f}×"]))  # fmt: skip
    out.append("")
    out.append(f"{lv['orders']:,} orders per venue after {lv['warmup']} of warm-up; each venue "
               "has its own account on the same fake.")  # fmt: skip
    return "\n".join(out)


def render_gate(res: Results) -> str:
    g = res["gate"]
    st = g.get("settings", {})
    out = [
        (
            f"Last run: **{'passed' if g['passed'] else 'FAILED'}** (best of {st.get('repeat', '?')} interleaved "
            f"batches per side; reaction p50 of {st.get('rounds', '?')} interleaved rounds)."
        ),
        "",
    ]
    out += head(
        "path: hedgekit",
        "peer",
        "hedgekit time",
        "peer time",
        "ratio",
        "floor",
        "result",
        align="llrrrrl",
    )
    for r in g["rows"]:
        sign = "≥" if r["bound_is"] == "min" else "≤"
        result = "skipped" if r["skipped"] else ("ok" if r["ok"] else "**FAIL**")
        if r.get("note"):
            result += f" ({r['note']})"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        out.append(row([f"{r['path']}: {r['what']}", r["against"], t(r["hedgekit_ns"]), t(r["peer_ns"]),
                        ratio, f"{sign} {r['bound']:g}×", result]))  # fmt: skip
    return "\n".join(out)


def render_recorded(doc: Mapping[str, Any]) -> str:
    out = head(
        "section", "recorded (UTC)", "commit", "Python", "CPU (cores)", "load average", "peers"
    )
    entries: list[tuple[str, Mapping[str, Any]]] = []
    for name, sec in doc.get("sections", {}).items():
        if name == "frontier":
            entries += [
                (f"frontier {label}", v.get("recorded", sec["recorded"]))
                for label, v in sec["data"].items()
            ]
        else:
            entries.append((name, sec["recorded"]))
    for name, m in entries:
        peers = (
            ", ".join(
                f"{k} {m[k]}"
                for k in ("nautilus_trader", "uvloop", "ccxt", "lighter_sdk")
                if m.get(k)
            )
            or "—"
        )
        out.append(row([name, (m.get("date") or "—").replace("T", " ").rstrip("Z"), m.get("commit") or "—",
                        m.get("python") or "—", f"{m.get('cpu', '?')} ({m.get('cores', '?')})",
                        "—" if m.get("load_avg_1m") is None else f"{m['load_avg_1m']:.1f}", peers]))  # fmt: skip
    return "\n".join(out)


Renderer = Callable[[Mapping[str, Any]], str]

# block name → (the sections it needs, how to render it from the whole results document)
BLOCKS: dict[str, tuple[tuple[str, ...], Renderer]] = {
    "recorded": ((), render_recorded),
    "targets": (("callfloor", "pytest-benchmark"), lambda d: render_targets(_data(d))),
    "side-by-side": (("pytest-benchmark",),
                     lambda d: render_side_by_side(_data(d), d["sections"]["pytest-benchmark"]["recorded"])),
    "ledger-rounding": (("pytest-benchmark",), lambda d: render_ledger_rounding(_data(d))),
    "rust": (("rust",), lambda d: render_rust(_data(d))),
    "sim": (("pytest-benchmark",), lambda d: render_sim(_data(d))),
    "reaction": (("reaction",), lambda d: render_reaction(_data(d))),
    "reaction-idle": (("reaction-idle",), lambda d: render_reaction(_data(d), "reaction-idle")),
    "quality": (("quality",), lambda d: render_quality(_data(d))),
    "frontier": (("frontier:quality",), lambda d: render_frontier(_data(d))),
    "frontier-realistic": (tuple(f"frontier:{s}" for s in REALISTIC_SETS),
                           lambda d: render_frontier_realistic(_data(d))),
    "load": (("load",), lambda d: render_load(_data(d))),
    "gate": (("gate",), lambda d: render_gate(_data(d))),
    "live": (("live",), lambda d: render_live(_data(d), d["sections"]["live"]["recorded"])),
    "live-aster": (("live-aster",),
                   lambda d: render_live_aster(_data(d), d["sections"]["live-aster"]["recorded"])),
    "live-lighter": (("live-lighter",),
                     lambda d: render_live_lighter(_data(d), d["sections"]["live-lighter"]["recorded"])),
    "ws-listener": (("ws-listener",),
                    lambda d: render_ws_listener(_data(d), d["sections"]["ws-listener"]["recorded"])),
    "live-ccxt": (("live-ccxt",),
                  lambda d: render_live_ccxt(_data(d), d["sections"]["live-ccxt"]["recorded"])),
}  # fmt: skip


def _data(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {name: sec["data"] for name, sec in doc.get("sections", {}).items()}


def missing_sections(doc: Mapping[str, Any], needs: Sequence[str]) -> list[str]:
    """The sections (``frontier:LABEL`` for one frontier run) a block needs that ``doc`` lacks."""
    data = _data(doc)
    out = []
    for n in needs:
        section, _, label = n.partition(":")
        if section not in data or (label and label not in data[section]):
            out.append(n)
    return out


def render(text: str, doc: Mapping[str, Any]) -> str:
    """``text`` with every marked block regenerated from ``doc`` (or kept, with a note)."""
    names = re.findall(r"<!-- bench:([a-z0-9-]+) -->", text)
    closes = re.findall(r"<!-- /bench:([a-z0-9-]+) -->", text)
    if sorted(names) != sorted(closes) or len(set(names)) != len(names):
        raise RenderError(
            "every <!-- bench:NAME --> needs one <!-- /bench:NAME -->, each name once"
        )
    unknown = sorted(set(names) - set(BLOCKS))
    if unknown:
        raise RenderError(f"unknown table(s): {', '.join(unknown)} (known: {', '.join(BLOCKS)})")

    def one(m: re.Match[str]) -> str:
        name = m.group("name")
        needs, fn = BLOCKS[name]
        lacking = missing_sections(doc, needs)
        if lacking:
            body = KEPT.sub("", m.group("body"))
            note = (
                f"<!-- kept: benches/results.json has no {', '.join(lacking)} "
                f"section{'s' if len(lacking) > 1 else ''}; "
                "this table is from an earlier run, not regenerated -->\n"
            )
            return m.group("open") + note + body + m.group("close")
        return m.group("open") + "\n" + fn(doc).strip("\n") + "\n\n" + m.group("close")

    return BLOCK.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the document would change"
    )
    args = ap.parse_args(argv)
    doc = json.loads(args.results.read_text(encoding="utf-8"))
    text = args.doc.read_text(encoding="utf-8")
    try:
        new = render(text, doc)
    except RenderError as e:
        print(f"{args.doc}: {e}", file=sys.stderr)
        return 2
    kept = re.findall(r"<!-- bench:([a-z0-9-]+) -->\n<!-- kept:", new)
    if args.check:
        if new != text:
            print(
                f"{args.doc} is not what {args.results} gives: run `python benches/render.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    if new != text:
        args.doc.write_text(new, encoding="utf-8")
    print(f"{args.doc.name}: {len(BLOCK.findall(new)) - len(kept)} table(s) regenerated"
          + (f", kept (not in the results): {', '.join(kept)}" if kept else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
