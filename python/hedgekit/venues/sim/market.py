"""The outside market of a simulated venue: a moving mid, outside trades, scripted events and
funding payments (``sim-models`` §4.2, §5).

The mid follows a seeded geometric random walk (or only the script), or, when the market has a
:class:`~hedgekit.venues.sim.config.MarketFactor`, the factor shared with other venues times the
venue's own mean-reverting basis (:mod:`hedgekit.venues.sim.factor`). Outside market orders
arrive as a Poisson process per side with log-normal sizes; a share of them may be informed
(their side is the sign of the factor's coming move). Everything lands in the matching engine,
which consumes depth and fills our resting orders by queue position.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from hedgekit.model import Side
from hedgekit.venues.sim.config import ScriptedEvent, SimInstrument
from hedgekit.venues.sim.factor import BasisProcess, FactorPath

if TYPE_CHECKING:
    from hedgekit.venues.sim.venue import SimVenue

__all__ = ["MarketDriver"]

_NS = 1_000_000_000
_MAX_LOG_MOVE = 20.0
"""Largest log move of a factor-driven mid from its start (e^20 ≈ 5·10^8 times)."""
_MAX_MID = Decimal("9223372036")
"""Largest mid a factor may set: the core's fixed-point range."""


class MarketDriver:
    """Schedules the outside market of every instrument of one simulated venue.

    Args:
        venue: The venue whose scheduler, engine and streams it drives.
        instruments: The markets.
        rng: Its own random stream (seeded per venue).
    """

    def __init__(
        self,
        venue: SimVenue,
        instruments: Sequence[SimInstrument],
        rng: random.Random,
        streams: Callable[[str], random.Random] | None = None,
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
        # The realism models draw from streams of their own (made only when used), so turning
        # them on never shifts the walk or the flow above.
        self._streams = streams or (lambda name: random.Random(f"{rng.random()}:{name}"))
        self._factors: dict[str, _FactorState] = {}

    def start(self, t0: int) -> None:
        """Schedules every model from ``t0`` (the venue's start)."""
        v = self._venue
        for inst in self._instruments:
            m = inst.market
            v.engine.set_funding_rate(inst.symbol, m.funding_rate)
            if m.factor is not None:
                state = self._factor_state(inst, t0)
                v.schedule(state.next_time(), self._factor_walker(inst, state))
            elif m.vol_bps_per_sqrt_s > 0:
                v.schedule(t0 + m.walk_interval_ns, self._walker(inst))
            elif m.refill_interval_ns > 0:
                v.schedule(t0 + m.refill_interval_ns, self._refiller(inst))
            if m.trade_rate_per_s > 0:
                for side in (Side.BUY, Side.SELL):
                    v.schedule(
                        t0 + self._next_gap(inst.symbol, m.trade_rate_per_s),
                        self._trader(inst, side),
                    )
            for ev in m.script:
                v.schedule(t0 + ev.at_ns, self._scripted(inst, ev))
            schedule = v.engine.funding_schedule(inst.symbol)
            last = schedule.last_settlement(t0)
            if last is None:  # continuous: realised every funding_continuous_s from the start
                assert inst.funding_continuous_s is not None
                step = inst.funding_continuous_s * _NS
                v.schedule(t0 + step, self._funder(inst, step, continuous=True))
            else:
                v.schedule(last + schedule.interval_ns, self._funder(inst, schedule.interval_ns))

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

    def _refiller(self, inst: SimInstrument) -> Callable[[int], None]:
        """A still market's outside book rebuilt at its mid every ``refill_interval_ns``."""
        m = inst.market

        def refill(t: int) -> None:
            mid = self._venue.engine.mid(inst.symbol) or m.mid
            self._after(t, self._venue.engine.set_mid(t, inst.symbol, mid))
            self._venue.schedule(t + m.refill_interval_ns, refill)

        return refill

    def _factor_state(self, inst: SimInstrument, t0: int) -> _FactorState:
        m = inst.market
        assert m.factor is not None
        path = FactorPath(m.factor)
        # Tick rounding adds (tick/mid)²/6 to the variance of a 1 s log return; the basis is
        # sized net of it so the measured correlation is the configured one.
        rel_tick = float(m.tick / m.mid) if m.mid > 0 else 0.0
        std = m.factor.basis_std(rel_tick * rel_tick / 6.0)
        basis = BasisProcess(
            std, m.factor.basis_half_life_s, m.factor.step_ns, self._streams(f"basis:{inst.symbol}")
        )
        state = _FactorState(path, basis, m.factor_lag_ns, path.index(t0 - m.factor_lag_ns))
        self._factors[inst.symbol] = state
        return state

    def _factor_walker(self, inst: SimInstrument, state: _FactorState) -> Callable[[int], None]:
        m = inst.market
        ref = float(m.mid)

        def step(t: int) -> None:
            k = state.path.index(t - state.lag_ns)
            while state.k < k:
                state.k += 1
                state.basis.advance()
            log_move = state.path.log_return(state.origin, k)
            scale = 1.0 + state.basis.value
            # A path gone out of any sane range (only extreme settings get there) holds the mid.
            if abs(log_move) < _MAX_LOG_MOVE and scale > 0:
                new_mid = _snap(Decimal(repr(ref * math.exp(log_move) * scale)), m.tick)
                mid = self._venue.engine.mid(inst.symbol)
                if 0 < new_mid < _MAX_MID and new_mid != mid:
                    self._after(t, self._venue.engine.set_mid(t, inst.symbol, new_mid))
            self._venue.schedule(state.next_time(), step)

        return step

    def _informed_side(self, inst: SimInstrument, t: int, side: Side) -> Side:
        """The side of an informed trade at ``t``: where the factor goes from what this venue
        shows now to the informed horizon (``side`` when it does not move)."""
        state = self._factors.get(inst.symbol)
        if state is None:
            return side
        now_k = state.path.index(t - state.lag_ns)
        ahead_k = state.path.index(t + inst.market.informed_horizon_ns)
        move = state.path.log_return(now_k, ahead_k)
        if move > 0:
            return Side.BUY
        if move < 0:
            return Side.SELL
        return side

    def _trader(self, inst: SimInstrument, side: Side) -> Callable[[int], None]:
        m = inst.market
        rng = self._flow_rngs[inst.symbol]
        step = inst.rules.step_size
        informed = None
        if m.informed_share > 0:
            informed = self._streams(f"informed:{inst.symbol}:{side.value}")

        def trade(t: int) -> None:
            draw = float(m.trade_size) * math.exp(rng.gauss(0.0, 0.5))
            size = (Decimal(repr(draw)) / step).to_integral_value(ROUND_DOWN) * step
            aggressor = side
            if informed is not None and informed.random() < m.informed_share:
                aggressor = self._informed_side(inst, t, side)
            if size > 0:
                self._after(t, self._venue.engine.external_trade(t, inst.symbol, aggressor, size))
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
            elif ev.action == "adl" and ev.size is not None:
                self._after(t, engine.adl(t, sym, ev.size))
            else:
                raise ValueError(f"malformed scripted event {ev!r}")

        return run

    def _funder(
        self, inst: SimInstrument, interval_ns: int, *, continuous: bool = False
    ) -> Callable[[int], None]:
        def pay(t: int) -> None:
            since = t - interval_ns if continuous else None
            events = self._venue.engine.settle_funding(t, inst.symbol, since)
            if events:
                self._after(t, events)
            self._venue.schedule(t + interval_ns, pay)

        return pay


class _FactorState:
    """One instrument's view of its factor: the path, its own basis, its lag, the step it
    started at (``origin``) and the last step applied (``k``)."""

    __slots__ = ("basis", "k", "lag_ns", "origin", "path")

    def __init__(self, path: FactorPath, basis: BasisProcess, lag_ns: int, origin: int) -> None:
        self.path = path
        self.basis = basis
        self.lag_ns = lag_ns
        self.origin = origin
        self.k = origin

    def next_time(self) -> int:
        """Clock time of the next step this venue applies (the grid shifted by its lag)."""
        return self.path.step_start(self.k + 1) + self.lag_ns


def _snap(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(ROUND_HALF_EVEN) * tick
