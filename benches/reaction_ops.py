"""Work in the reaction window, counted: the Python bytecodes (and Python calls) executed between
the two marks of ``benches/reaction.py`` — the fill handed to hedgekit's stream (t0) and the
hedge order reaching the other venue's ``place`` (t1) — for the floor path and the null-venue
rows.

On this project's machines the reaction time tracks this count closely (a bytecode costs about
the same wherever it runs), and unlike a time it does not move with the load of a shared
machine: it is the figure to compare two versions of the hedge path by. Each row is run a few
times under ``sys.settrace`` with opcode events (its own cost is not in the count: only the
opcodes executed while the window is open are counted), and the count of each run is printed
with the functions that execute most of it (``--top N``).

Run: ``python benches/reaction_ops.py [--rows floor,immediate-ioc,...] [--runs N] [--loop uvloop]
[--top N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import sys
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reaction  # noqa: E402 - the rows measured, from the timing benchmark itself

_state = {"open": False, "ops": 0, "calls": 0}
_per_function: collections.Counter[tuple[str, str, int]] = collections.Counter()


def _toggle() -> int:
    """Stands in for ``time.perf_counter_ns`` in the benchmark: its two calls per run are the
    marks t0 and t1, so each call opens or closes the window."""
    _state["open"] = not _state["open"]
    return 0


def _opcodes(frame: types.FrameType, event: str, arg: Any) -> Any:
    if event == "opcode" and _state["open"]:
        _state["ops"] += 1
        code = frame.f_code
        _per_function[(Path(code.co_filename).name, code.co_name, code.co_firstlineno)] += 1
    return _opcodes


def _calls(frame: types.FrameType, event: str, arg: Any) -> Any:
    frame.f_trace_opcodes = True
    if event == "call" and _state["open"]:
        _state["calls"] += 1
    return _opcodes


def count(row: str, runs: int, loop_name: str) -> list[tuple[int, int]]:
    """``(bytecodes, calls)`` in the window of each of ``runs`` runs of ``row`` (after two
    uncounted warm-up runs)."""
    loop = asyncio.new_event_loop()
    if loop_name == "uvloop":
        import uvloop

        loop.close()
        loop = uvloop.new_event_loop()
    floor = reaction.floor_run() if row == "floor" else None
    out = []
    try:
        for i in range(runs + 2):
            run = floor if floor is not None else reaction.null_run(*reaction.POLICIES[row])
            _per_function.clear()
            _state.update(open=False, ops=0, calls=0)
            sys.settrace(_calls)
            try:
                loop.run_until_complete(run())
            finally:
                sys.settrace(None)
            if i >= 2:
                out.append((_state["ops"], _state["calls"]))
    finally:
        loop.close()
    return out


def main(argv: list[str] | None = None) -> None:
    """Prints each row's bytecodes and calls in the window (every run: the floor alternates its
    two pricings), and the functions that executed most of the last run's."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", default="floor,immediate-ioc", help="floor and/or policy names")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--loop", default="uvloop", choices=("uvloop", "asyncio"))
    ap.add_argument("--top", type=int, default=0, help="list the N busiest functions")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    shim = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if k[0] != "_"})
    shim.perf_counter_ns = _toggle
    reaction.time = shim  # type: ignore[attr-defined,assignment]
    for row in args.rows.split(","):
        res = count(row, args.runs, args.loop)
        ops = ", ".join(str(o) for o, _ in res)
        calls = ", ".join(str(c) for _, c in res)
        print(f"{row}: bytecodes {ops}; Python calls {calls}")
        for (file, name, line), n in _per_function.most_common(args.top):
            print(f"  {n:6d}  {file}:{line} {name}")


if __name__ == "__main__":
    main()
