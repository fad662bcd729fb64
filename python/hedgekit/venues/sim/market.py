"""The outside market of a simulated venue: a moving mid, outside trades, scripted events and
funding payments (``sim-models`` §4.2).

The mid follows a seeded geometric random walk (or only the script); outside market orders
arrive as a Poisson process per side with log-normal sizes; everything lands in the matching
engine, which consumes depth and fills our resting orders by queue position.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from hedgekit.model import Side
from hedgekit.venues.sim.config import ScriptedEvent, SimInstrument

if TYPE_CHECKING:
    from hedgekit.venues.sim.venue import SimVenue

__all__ = ["MarketDriver"]

_NS = 1_000_000_000


class MarketDriver:
    """Schedules the outside market of every instrument of one simulated venue.

    Args:
        venue: The venue whose scheduler, engine and streams it drives.
        instruments: The markets.
        rng: Its own random stream (seeded per venue).
    """

    def __init__(
        self, venue: SimVenue, instruments: Sequence[SimInstrument], rng: random.Random
    ) -> None:
        self._venue = venue
        self._instruments = list(instruments)
        self._rng = rng
        self._walk_rngs = {
            i.symbol: random.Random(f"{rng.random()}:walk:{i.symbol}") for i in instruments
        }
        self._flow_rngs = {
            i.symbol: random.Random(f"{rng.random()}:flow:{i.symbol}") for i in instruments
        }

    def start(self, t0: int) -> None:
        """Schedules every model from ``t0`` (the venue's start)."""
        v = self._venue
        for inst in self._instruments:
            m = inst.market
            v.engine.set_funding_rate(inst.symbol, m.funding_rate)
            if m.vol_bps_per_sqrt_s > 0:
                v.schedule(t0 + m.walk_interval_ns, self._walker(inst))
            if m.trade_rate_per_s > 0:
                for side in (Side.BUY, Side.SELL):
                    v.schedule(t0 + self._next_gap(inst.symbol, m.trade_rate_per_s), self._trader(inst, side))
            for ev in m.script:
                v.schedule(t0 + ev.at_ns, self._scripted(inst, ev))
            interval = v.config.personality.funding_interval_s * _NS
            v.schedule(t0 + interval, self._funder(inst, interval))

    def _next_gap(self, symbol: str, rate_per_s: float) -> int:
        return max(1, int(self._flow_rngs[symbol].expovariate(rate_per_s) * _NS))

    def _after(self, t: int, events: Sequence[object]) -> None:
        v = self._venue
        v.emit(t, events)  # type: ignore[arg-type]
        v.publish(t)

    def _walker(self, inst: SimInstrument) -> Callable[[int], None]:
        m = inst.market
        rng = self._walk_rngs[inst.symbol]
        dt_s = m.walk_interval_ns / _NS
        sigma = m.vol_bps_per_sqrt_s / 10_000 * math.sqrt(dt_s)

        def step(t: int) -> None:
            mid = self._venue.engine.mid(inst.symbol) or m.mid
            moved = float(mid) * math.exp(rng.gauss(0.0, sigma))
            new_mid = _snap(Decimal(repr(moved)), m.tick)
            if new_mid > 0 and new_mid != mid:
                self._after(t, self._venue.engine.set_mid(t, inst.symbol, new_mid))
            self._venue.schedule(t + m.walk_interval_ns, step)

        return step

    def _trader(self, inst: SimInstrument, side: Side) -> Callable[[int], None]:
        m = inst.market
        rng = self._flow_rngs[inst.symbol]
        step = inst.rules.step_size

        def trade(t: int) -> None:
            draw = float(m.trade_size) * math.exp(rng.gauss(0.0, 0.5))
            size = (Decimal(repr(draw)) / step).to_integral_value(ROUND_DOWN) * step
            if size > 0:
                self._after(t, self._venue.engine.external_trade(t, inst.symbol, side, size))
            self._venue.schedule(t + self._next_gap(inst.symbol, m.trade_rate_per_s), trade)

        return trade

    def _scripted(self, inst: SimInstrument, ev: ScriptedEvent) -> Callable[[int], None]:
        engine = self._venue.engine

        def run(t: int) -> None:
            sym = inst.symbol
            if ev.action == "mid" and ev.price is not None:
                self._after(t, engine.set_mid(t, sym, ev.price))
            elif ev.action == "trade" and ev.side is not None and ev.size is not None:
                self._after(t, engine.external_trade(t, sym, Side(ev.side), ev.size, ev.price))
            elif ev.action == "cancel" and ev.side and ev.size is not None and ev.price is not None:
                engine.external_cancel(t, sym, Side(ev.side), ev.price, ev.size)
                self._after(t, [])
            elif ev.action == "add" and ev.side and ev.size is not None and ev.price is not None:
                self._after(t, engine.external_add(t, sym, Side(ev.side), ev.price, ev.size))
            elif ev.action == "funding" and ev.price is not None:
                engine.set_funding_rate(sym, ev.price)
            else:
                raise ValueError(f"malformed scripted event {ev!r}")

        return run

    def _funder(self, inst: SimInstrument, interval_ns: int) -> Callable[[int], None]:
        def pay(t: int) -> None:
            self._venue.engine.accrue_funding(t, inst.symbol)
            self._venue.schedule(t + interval_ns, pay)

        return pay


def _snap(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(ROUND_HALF_EVEN) * tick
