"""Per-call cost of the hot-path APIs measured with ``timeit`` (best of 7 repeats).

pytest-benchmark adds its own per-call overhead (~30-40 ns here) to every figure; this script
measures the calls in a tight ``timeit`` loop beside a builtin C method call, so the figures can be
read against the targets (which are per call from Python). Run: ``python benches/callfloor.py``.
"""

from __future__ import annotations

import timeit

import numpy as np
import orjson

import hedgekit as hk

ONE = 10**9


def hl_message(n: int) -> bytes:
    bids = [{"px": f"{3119.9 - i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.4f}", "n": i + 1} for i in range(n)]
    asks = [{"px": f"{3120.0 + i * 0.1:.1f}", "sz": f"{1 + i * 0.25:.4f}", "n": i + 1} for i in range(n)]
    data = {"coin": "ETH", "time": 1760000000000, "levels": [bids, asks]}
    return orjson.dumps({"channel": "l2Book", "data": data})


def main() -> None:
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
        px = np.array([(3119_900_000_000 - (i % 20) * 100_000_000) if i % 2 else (3120_000_000_000 + (i % 20) * 100_000_000) for i in range(n)], dtype=np.int64)
        sz = np.array([ONE + i for i in range(n)], dtype=np.int64)
        batch[n] = (sides, px, sz)
    x = 12345
    cases: list[tuple[str, str, int]] = [
        ("builtin int.bit_length() (floor)", "x.bit_length()", 1),
        ("OrderBook.apply_delta_raw", "book.apply_delta_raw(True, 3119_900_000_000, 1_500_000_000)", 1),
        ("OrderBook.best_bid_raw", "book.best_bid_raw()", 1),
        ("OrderBook.bbo_raw", "book.bbo_raw()", 1),
        ("OrderBook.apply_deltas_raw, 100 (per level)", "book.apply_deltas_raw(*batch[100])", 100),
        ("OrderBook.apply_deltas_raw, 1000 (per level)", "book.apply_deltas_raw(*batch[1000])", 1000),
        ("OrderBook.apply_hyperliquid 20+20 bytes", "book.apply_hyperliquid(msg)", 1),
        ("orjson.loads of the same message", "orjson.loads(msg)", 1),
        ("FillLedger.seen (hit)", "ledger.seen('hl', 5000)", 1),
        ("FillLedger.seen (miss)", "ledger.seen('hl', 50000)", 1),
        ("Instrument.round_price_raw", "inst.round_price_raw(3119_953_700_000, True)", 1),
    ]
    env = {**globals(), **locals()}
    print(f"{'call':48s} {'ns per op':>10s}")
    for name, stmt, per in cases:
        number = 200_000 if per == 1 else 20_000
        best = min(timeit.repeat(stmt, globals=env, number=number, repeat=7))
        print(f"{name:48s} {best / number / per * 1e9:10.1f}")


if __name__ == "__main__":
    main()
