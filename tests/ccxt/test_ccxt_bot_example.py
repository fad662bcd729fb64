"""``examples/ccxt_bot.py``, run as a user would: a ccxt bot opening and closing a pair through
``CcxtVenue`` on the two fakes it starts, judged by the fakes' own records it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_ccxt_bot_opens_and_closes_a_pair_and_both_venues_end_flat() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ccxt_bot.py")],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    lines = out.splitlines()
    assert "open: opened" in lines and "close: closed" in lines
    # while open: long on Aster, short on Hyperliquid, the same size, at the venues themselves
    (held,) = [line for line in lines if line.startswith("  aster long ")]
    long, short = (Decimal(part.split()[-1]) for part in held.split(","))
    assert (long, short) == (Decimal("0.05"), Decimal("-0.05"))
    # at the end: flat at both venues, nothing resting
    (flat,) = [line for line in lines if line.startswith("  positions at the venues:")]
    aster_pos, hl_pos = (part.split()[-1] for part in flat.split(":", 1)[1].split(","))
    assert Decimal(aster_pos) == 0 and Decimal(hl_pos) == 0
    assert "  orders resting at the venues: 0" in lines
    assert lines[-1] == "ok"
