"""A synchronous funding-rate bot on hedgekit: a plain loop, no asyncio in sight.

It watches the funding spread between two simulated venues (the demo's: a Hyperliquid-style venue
paying hourly and an Aster-style venue paying every 8 hours, whose scripted rates diverge a few
seconds in and later swap sides), opens a delta-neutral pair through :class:`hedgekit.Runner` when
the annualised spread pays, holds it while it keeps paying, closes it when the spread fades, and
prints what happened. It runs in about 10 seconds::

    python examples/sync_bot.py

Exit status 0 when the pair was opened and closed and both venues are flat at the end, 1
otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from decimal import Decimal

from hedgekit import Runner, Side
from hedgekit.demo import demo_venues
from hedgekit.execution import EntryPlan, LegResult, LegSpec
from hedgekit.venues.sim import SimVenue

RUN_S = 8.0  # the demo venues' scripted funding path is scaled to this
SIZE = Decimal("0.5")
OPEN_AT = Decimal("0.40")  # annualised spread (40 %/yr) that pays for the round trip
CLOSE_BELOW = Decimal("0.10")
YEAR_S = Decimal(365 * 24 * 3600)
VENUES = {"hyperliquid": "ETH", "aster": "ETHUSDT"}


def annualised(runner: Runner) -> dict[str, Decimal]:
    """Each venue's funding rate per year (a rate per interval, scaled by its interval)."""
    rates = runner.funding_rates()
    return {
        venue: rates[venue][symbol].rate * YEAR_S / rates[venue][symbol].interval_s
        for venue, symbol in VENUES.items()
    }


def describe(legs: Sequence[LegResult]) -> str:
    """One line per pair: each leg's venue, side, size and average price, and the fees."""
    fees = sum((leg.fees for leg in legs), Decimal(0))
    parts = [f"{leg.venue} {leg.side.value} {leg.filled} @ {leg.avg_price}" for leg in legs]
    return f"{'; '.join(parts)}; fees {fees:.4f}"


def main() -> int:
    venues = [SimVenue(cfg) for cfg in demo_venues(seed=1, duration_s=RUN_S)]
    legs: list[LegSpec] | None = None
    opened = closed = None
    direction = 1
    started = time.monotonic()
    with Runner(venues) as runner:
        while time.monotonic() - started < RUN_S + 2:
            rates = annualised(runner)
            # What a pair short Hyperliquid, long Aster earns per year (<0: the other way round).
            spread = rates["hyperliquid"] - rates["aster"]
            print(f"t={time.monotonic() - started:4.1f}s  spread {spread:+.1%}/yr")
            if legs is None and abs(spread) >= OPEN_AT:
                short, long_ = ("hyperliquid", "aster") if spread > 0 else ("aster", "hyperliquid")
                legs = [
                    LegSpec(long_, VENUES[long_], Side.BUY),
                    LegSpec(short, VENUES[short], Side.SELL),
                ]
                direction = 1 if short == "hyperliquid" else -1
                opened = runner.open(legs, SIZE, plan=EntryPlan.TAKER_BOTH).result(timeout=60)
                print(f"open: {opened.status.value} {opened.size}: {describe(opened.legs)}")
                if opened.status.value not in ("opened", "partial"):
                    legs = None
            elif legs is not None and spread * direction < CLOSE_BELOW:
                closed = runner.close(legs, phase1_timeout_s=2.0).result(timeout=90)
                print(f"close: {closed.status.value}: {describe(closed.legs)}")
                break
            time.sleep(0.25)
        if legs is not None and closed is None:  # the time is up: never leave the pair on
            closed = runner.close(legs, phase1_timeout_s=2.0).result(timeout=90)
            print(f"close at the end: {closed.status.value}")
        positions = runner.positions()
        fills = runner.fills()
    flat = all(not held for held in positions.values())
    print(f"fills counted: {len(fills)}; positions at the end: {positions}")
    ok = opened is not None and closed is not None and closed.status.value == "closed" and flat
    print("result:", "ok" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
