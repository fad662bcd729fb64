"""Per-call cost of the hot-path APIs measured with ``timeit`` (best of many short batches).

pytest-benchmark adds its own per-call overhead (~30-40 ns here) to every figure; this script
measures the calls in a tight ``timeit`` loop beside a builtin C method call, so the figures can be
read against the targets (which are per call from Python). Each figure is the best of ``--repeat``
batches of about 0.25 ms: on a shared machine a long batch is rarely left alone by the scheduler,
a short one often is (``benches/gate.py`` measures the same way). Run: ``python
benches/callfloor.py [--repeat 201] [--json benches/results.json]`` (``--json``: the figures also
go to that results file, section ``callfloor``).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np
import orjson

import hedgekit as hk

ONE = 10**9
BATCH_S = 0.00025  # about how long one timed batch takes


def hl_message(n: int) -> bytes:
    bids = [
        {"px": f"{3119.9 - i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.4f}", "n": i + 1} for i in range(n)
    ]
    asks = [
        {"px": f"{3120.0 + i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.4f}", "n": i + 1} for i in range(n)
    ]
    data = {"coin": "ETH", "time": 1760000000000, "levels": [bids, asks]}
    return orjson.dumps({"channel": "l2Book", "data": data})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures into this results file")
    ap.add_argument("--repeat", type=int, default=201, help="timed batches per call (best of)")
    args = ap.parse_args(argv)
    book = hk.OrderBook("hyperliquid", "ETH")
    msg = hl_message(20)
    book.apply_hyperliquid(msg)
    ledger = hk.FillLedger()
    ledger.register_order("hl", "o", "buy", "1000")
    for t in range(10_000):
        ledger.apply_raw("hl", t, "o", 100 * ONE, 1_000_000)
    inst = hk.Instrument.plain("0.01", "0.001")
    batch = {}
    for n in (100, 1000):
        sides = np.array([i % 2 for i in range(n)], dtype=np.uint8)
        px = np.array(
            [
                (3119_900_000_000 - (i % 20) * 100_000_000)
                if i % 2
                else (3120_000_000_000 + (i % 20) * 100_000_000)
                for i in range(n)
            ],
            dtype=np.int64,
        )
        sz = np.array([ONE + i for i in range(n)], dtype=np.int64)
        batch[n] = (sides, px, sz)
    x = 12345
    cases: list[tuple[str, str, str, int]] = [
        ("floor", "builtin int.bit_length() (floor)", "x.bit_length()", 1),
        (
            "apply_delta_raw",
            "OrderBook.apply_delta_raw",
            "book.apply_delta_raw(True, 3119_900_000_000, 1_500_000_000)",
            1,
        ),
        ("best_bid_raw", "OrderBook.best_bid_raw", "book.best_bid_raw()", 1),
        ("bbo_raw", "OrderBook.bbo_raw", "book.bbo_raw()", 1),
        (
            "apply_deltas_raw_100",
            "OrderBook.apply_deltas_raw, 100 (per level)",
            "book.apply_deltas_raw(*batch[100])",
            100,
        ),
        (
            "apply_deltas_raw_1000",
            "OrderBook.apply_deltas_raw, 1000 (per level)",
            "book.apply_deltas_raw(*batch[1000])",
            1000,
        ),
        (
            "apply_hyperliquid",
            "OrderBook.apply_hyperliquid 20+20 bytes",
            "book.apply_hyperliquid(msg)",
            1,
        ),
        ("orjson_loads", "orjson.loads of the same message", "orjson.loads(msg)", 1),
        ("seen_hit", "FillLedger.seen (hit)", "ledger.seen('hl', 5000, 'o')", 1),
        ("seen_miss", "FillLedger.seen (miss)", "ledger.seen('hl', 50000, 'o')", 1),
        (
            "round_price_raw",
            "Instrument.round_price_raw",
            "inst.round_price_raw(3119_953_700_000, True)",
            1,
        ),
    ]
    env = {**globals(), **locals()}
    print(f"{'call':48s} {'ns per op':>10s}")
    rows = []
    for key, name, stmt, per in cases:
        timer = timeit.Timer(stmt, globals=env)
        number = 1
        while (d := timer.timeit(number)) < BATCH_S / 10:
            number *= 10
        number = max(1, round(number * BATCH_S / d))
        best = min(timer.repeat(repeat=args.repeat, number=number))
        ns = best / number / per * 1e9
        rows.append({"key": key, "call": name, "ns_per_op": ns})
        print(f"{name:48s} {ns:10.1f}", flush=True)
    if args.json is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import results

        results.update(args.json, "callfloor", {"repeat": args.repeat, "rows": rows})


if __name__ == "__main__":
    main()
