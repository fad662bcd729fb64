"""Markouts of maker fills on simulated venues: how far the mid moves against a resting order
after it fills (``docs/sim-realism.md``).

:func:`maker_markouts` reads a venue's truth: its fill ledger and the mid history its engine
records (:meth:`~hedgekit.venues.sim.engine.MatchingEngine.record_mids`). :func:`quote_touch`
is a measuring harness, not a strategy: it keeps one post-only order of a fixed size at our
book's best bid and one at its best ask, re-joining the touch whenever it moves, so that the
outside flow fills resting orders for as long as it runs. :func:`probe` runs both on the venues
of a scenario on a virtual-time loop; ``python -m hedgekit.venues.sim.markouts SCENARIO`` prints
the table ``docs/sim-realism.md`` quotes.

Sign convention: a markout is ``side · (mid(t + h) − mid(t)) / mid(t)`` in bps, ``t`` the fill's
venue time and ``mid(t)`` the venue's mid just after the event that filled us. Positive is good
for us, negative is adverse selection. The *edge* is the same against our fill price instead of
``mid(t)``, so it adds the half-spread a maker earns; the *pre-fill* markout starts from the mid
just before the event (a trade-through's jump counts); the *hedge-venue* markout is the other
venue's move over the same time, signed for the opposite trade a pair would hedge with there.
All figures are in bps.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hedgekit.clock import Clock, LoopClock, run_virtual
from hedgekit.errors import HedgekitError
from hedgekit.model import Fill, OrderRequest, OrderType, Side, TimeInForce
from hedgekit.venues.sim.config import SimVenueConfig
from hedgekit.venues.sim.venue import SimVenue

__all__ = ["DEFAULT_HORIZONS_S", "Markout", "maker_markouts", "pool", "probe", "quote_touch"]

_NS = 1_000_000_000
DEFAULT_HORIZONS_S = (1.0, 5.0)
"""Markout horizons reported by default, in seconds."""


@dataclass(frozen=True, slots=True)
class Markout:
    """The markout of a set of maker fills at one horizon.

    Attributes:
        horizon_s: Seconds after the fill.
        n: Fills measured (fills too close to the end of the mid history are left out).
        mean_bps: Mean mid-to-mid markout, signed for us (negative: adverse).
        stderr_bps: Standard error of ``mean_bps``, robust to the overlap of neighbouring fills'
            horizons: fills are grouped in blocks of ``4 · horizon`` (at least 1 s) and the
            blocks' sums are treated as independent.
        edge_bps: Mean markout against the fill price (``mean_bps`` plus the spread captured).
        through: How many of the ``n`` fills were trade-throughs: the mid moved across the
            resting order (and filled it at its stale price) rather than an outside trade
            reaching it in the queue.
        pre_bps: Mean markout from the mid just *before* the fill's event (so a trade-through's
            jump across our price counts against us).
        hedge_bps: Mean move of the hedge venue's mid from just before the fill to the horizon,
            signed for the hedge we would trade there (``None`` without a hedge venue): how
            much worse the other leg got because of what filled this one.
    """

    horizon_s: float
    n: int
    mean_bps: float
    stderr_bps: float
    edge_bps: float
    through: int = 0
    pre_bps: float = 0.0
    hedge_bps: float | None = None

    @property
    def z(self) -> float:
        """``mean_bps / stderr_bps`` (0 when there is no error estimate)."""
        return self.mean_bps / self.stderr_bps if self.stderr_bps > 0 else 0.0


class _Tape:
    """A mid history: the mid at any time, and the mid just before it."""

    def __init__(self, mids: Sequence[tuple[int, Decimal]]) -> None:
        self.mids = mids
        self.times = [t for t, _ in mids]

    @property
    def end(self) -> int:
        return self.times[-1] if self.times else 0

    def at(self, t: int) -> Decimal | None:
        """The mid from ``t`` on (after anything that happened at ``t``)."""
        i = bisect.bisect_right(self.times, t) - 1
        return self.mids[i][1] if i >= 0 else None

    def before(self, t: int) -> Decimal | None:
        """The mid just before ``t`` (before anything that happened at ``t``)."""
        i = bisect.bisect_left(self.times, t) - 1
        return self.mids[i][1] if i >= 0 else self.at(t)


def _bps(sign: int, later: Decimal, ref: Decimal) -> float:
    return float(sign * (later - ref) / ref) * 10_000


def maker_markouts(
    fills: Iterable[Fill],
    mids: Sequence[tuple[int, Decimal]],
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    *,
    hedge_mids: Sequence[tuple[int, Decimal]] | None = None,
) -> list[Markout]:
    """Markouts of the maker fills among ``fills`` at each horizon.

    Args:
        fills: A venue's fills (taker fills are ignored).
        mids: ``(t_ns, mid)`` in time order: the mid is ``mid`` from ``t_ns`` on (the engine's
            :meth:`~hedgekit.venues.sim.engine.MatchingEngine.mid_history`). Fills whose
            horizon ends after its last entry are left out.
        horizons_s: Horizons in seconds.
        hedge_mids: The mid history of the venue a fill would be hedged on; fills
            ``Markout.hedge_bps``.

    Returns:
        One :class:`Markout` per horizon. ``pre_bps`` measures the own venue's move from just
        before the fill's event (a trade-through's jump included); ``hedge_bps`` the hedge
        venue's move from just before the fill to the horizon, signed the same way (negative:
        the hedge, an opposite trade there, got worse).
    """
    own = _Tape(mids)
    hedge = _Tape(hedge_mids) if hedge_mids is not None else None
    moved = set(own.times)
    makers = sorted((f for f in fills if f.is_maker), key=lambda f: f.ts_ns)
    end = own.end
    out: list[Markout] = []
    for h in horizons_s:
        h_ns = int(h * _NS)
        rows: list[tuple[int, float, float, float, float]] = []
        through = 0
        for f in makers:
            t1 = f.ts_ns + h_ns
            if t1 > end:
                continue
            m0, m1, pre = own.at(f.ts_ns), own.at(t1), own.before(f.ts_ns)
            if m0 is None or m1 is None or pre is None or m0 <= 0 or pre <= 0:
                continue
            sign = f.side.sign
            hedge_move = 0.0
            if hedge is not None:
                h0, h1 = hedge.before(f.ts_ns), hedge.at(t1)
                if h0 is None or h1 is None or h0 <= 0:
                    continue
                hedge_move = _bps(sign, h1, h0)
            through += f.ts_ns in moved
            rows.append(
                (
                    f.ts_ns,
                    _bps(sign, m1, m0),
                    _bps(sign, m1, f.price),
                    _bps(sign, m1, pre),
                    hedge_move,
                )
            )
        m = _summarise(h, rows)
        out.append(
            dataclasses.replace(m, through=through, hedge_bps=m.hedge_bps if hedge else None)
        )
    return out


def _summarise(h: float, rows: list[tuple[int, float, float, float, float]]) -> Markout:
    n = len(rows)
    if n == 0:
        return Markout(h, 0, 0.0, 0.0, 0.0)
    mean = math.fsum(r[1] for r in rows) / n
    block_ns = int(max(4 * h, 1.0) * _NS)
    sums: dict[int, float] = {}
    for r in rows:
        key = r[0] // block_ns
        sums[key] = sums.get(key, 0.0) + (r[1] - mean)
    stderr = math.sqrt(math.fsum(x * x for x in sums.values())) / n if len(sums) > 1 else 0.0
    return Markout(
        horizon_s=h,
        n=n,
        mean_bps=mean,
        stderr_bps=stderr,
        edge_bps=math.fsum(r[2] for r in rows) / n,
        pre_bps=math.fsum(r[3] for r in rows) / n,
        hedge_bps=math.fsum(r[4] for r in rows) / n,
    )


async def quote_touch(
    venue: SimVenue,
    symbol: str,
    *,
    size: Decimal,
    seconds: float,
    requote_s: float = 0.5,
    clock: Clock | None = None,
) -> int:
    """Keeps a post-only order of ``size`` at our book's best bid and best ask for ``seconds``.

    Every ``requote_s`` each side is checked against the venue's truth: an order that filled,
    expired or no longer sits at the touch of our copy of the book is cancelled (if open) and
    placed again at the touch, joining the back of its queue. Refusals (post-only crosses,
    injected faults) are skipped until the next check. Requests go through the venue's REST
    channel, so its latency profile applies.

    Args:
        venue: A connected simulated venue.
        symbol: The market.
        size: Each order's size (on the instrument's step).
        seconds: How long to quote.
        requote_s: Seconds between checks.
        clock: The clock (default: the running loop's).

    Returns:
        The number of orders placed.
    """
    clk = clock if clock is not None else LoopClock()
    end = clk.now_ns() + int(seconds * _NS)
    resting: dict[Side, tuple[str, Decimal]] = {}
    placed = 0
    while clk.now_ns() < end:
        q = venue.quote(symbol)
        if q is not None:
            open_ids = set(venue.engine.open_orders(symbol))
            for side, target in ((Side.BUY, q.bid), (Side.SELL, q.ask)):
                cur = resting.get(side)
                if cur is not None and cur[0] in open_ids:
                    if cur[1] == target:
                        continue
                    try:
                        await venue.cancel(symbol, client_id=cur[0])
                    except HedgekitError:
                        continue
                placed += 1
                cid = f"mk{placed}"
                request = OrderRequest(
                    symbol, side, size, target, cid, OrderType.LIMIT, TimeInForce.POST_ONLY
                )
                resting.pop(side, None)
                try:
                    await venue.place(request)
                except HedgekitError:
                    continue
                resting[side] = (cid, target)
        await clk.sleep(requote_s)
    for cid, _ in resting.values():
        try:
            await venue.cancel(symbol, client_id=cid)
        except HedgekitError:
            pass
    return placed


def probe(
    configs: Sequence[SimVenueConfig],
    *,
    seconds: float,
    size: Decimal,
    requote_s: float = 0.5,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    warmup_s: float = 1.0,
) -> dict[str, list[Markout]]:
    """Quotes the touch on every venue of ``configs`` at once for ``seconds`` of virtual time
    and returns each venue's maker markouts (by venue name). With several venues, each venue's
    fills are hedged (for ``Markout.hedge_bps``) on the next one in ``configs`` (the last on the
    first).

    The venues share one virtual clock and run side by side, as a scenario runs them. The run
    is deterministic for the configurations' seeds.
    """

    async def main() -> dict[str, list[Markout]]:
        clock = LoopClock()
        venues = [SimVenue(cfg, clock) for cfg in configs]
        for v in venues:
            v.engine.record_mids()
            await v.connect()
        await asyncio.sleep(warmup_s)
        try:
            await asyncio.gather(
                *(
                    quote_touch(
                        v,
                        v.config.instruments[0].symbol,
                        size=size,
                        seconds=seconds,
                        requote_s=requote_s,
                        clock=clock,
                    )
                    for v in venues
                )
            )
            await asyncio.sleep(max(horizons_s, default=0.0) + 0.5)
        finally:
            for v in venues:
                await v.close()
        out: dict[str, list[Markout]] = {}
        histories = [v.engine.mid_history(v.config.instruments[0].symbol) for v in venues]
        for i, v in enumerate(venues):
            sym = v.config.instruments[0].symbol
            hedge = histories[(i + 1) % len(venues)] if len(venues) > 1 else None
            out[v.name] = maker_markouts(
                v.engine.fills(sym), histories[i], horizons_s, hedge_mids=hedge
            )
        return out

    return run_virtual(main())


def _with_informed(cfg: SimVenueConfig, share: float | None) -> SimVenueConfig:
    if share is None:
        return cfg
    insts = tuple(
        dataclasses.replace(i, market=dataclasses.replace(i.market, informed_share=share))
        for i in cfg.instruments
    )
    return dataclasses.replace(cfg, instruments=insts)


def pool(runs: Sequence[Markout]) -> Markout:
    """Several runs' markouts at one horizon as one (fill-weighted; independent errors)."""
    n = sum(m.n for m in runs)
    if n == 0:
        return Markout(runs[0].horizon_s if runs else 0.0, 0, 0.0, 0.0, 0.0)
    hedges = [m for m in runs if m.hedge_bps is not None]
    hedge_n = sum(m.n for m in hedges)
    return Markout(
        horizon_s=runs[0].horizon_s,
        n=n,
        mean_bps=math.fsum(m.mean_bps * m.n for m in runs) / n,
        stderr_bps=math.sqrt(math.fsum((m.stderr_bps * m.n) ** 2 for m in runs)) / n,
        edge_bps=math.fsum(m.edge_bps * m.n for m in runs) / n,
        through=sum(m.through for m in runs),
        pre_bps=math.fsum(m.pre_bps * m.n for m in runs) / n,
        hedge_bps=(
            math.fsum((m.hedge_bps or 0.0) * m.n for m in hedges) / hedge_n if hedge_n else None
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Prints the maker markouts of a scenario's venues as a markdown table (``--help``)."""
    from hedgekit.scenario import load_scenario

    ap = argparse.ArgumentParser(
        description="Maker-fill markouts on a scenario's simulated venues (virtual time)."
    )
    ap.add_argument("scenario", help="a scenario file (.toml or .json)")
    ap.add_argument("--seconds", type=float, default=600.0, help="virtual seconds of quoting")
    ap.add_argument("--seeds", type=int, default=1, help="pool seeds 0..N-1")
    ap.add_argument("--size", default="0.5", help="size of each resting order")
    ap.add_argument("--requote", type=float, default=0.5, help="seconds between checks")
    ap.add_argument(
        "--informed",
        default="",
        help="comma-separated informed shares to compare (default: the scenario's own)",
    )
    args = ap.parse_args(argv)
    base = load_scenario(args.scenario)
    shares: list[float | None] = [float(x) for x in args.informed.split(",") if x.strip()]
    horizons = DEFAULT_HORIZONS_S
    heads = " | ".join(f"markout {h:g} s (± s.e.)" for h in horizons)
    print(
        f"| informed share | venue | maker fills | trade-throughs | {heads} | "
        "from pre-fill mid 1 s | hedge venue 1 s | edge 1 s |"
    )
    print("|---|---|---|---|" + "---|" * len(horizons) + "---|---|---|")
    for share in shares or [None]:
        runs: dict[str, list[list[Markout]]] = {}
        for seed in range(args.seeds):
            sc = base.with_seed(seed)
            res = probe(
                [_with_informed(c, share) for c in sc.venues],
                seconds=args.seconds,
                size=Decimal(args.size),
                requote_s=args.requote,
                horizons_s=horizons,
            )
            for name, marks in res.items():
                runs.setdefault(name, []).append(marks)
        label = "as in the scenario" if share is None else f"{share:g}"
        for name, per_seed in runs.items():
            pooled = [pool([r[j] for r in per_seed]) for j in range(len(horizons))]
            cells = " | ".join(f"{m.mean_bps:+.3f} (± {m.stderr_bps:.3f})" for m in pooled)
            first = pooled[0]
            hedge = "n/a" if first.hedge_bps is None else f"{first.hedge_bps:+.3f}"
            print(
                f"| {label} | {name} | {first.n} | {first.through} | {cells} | "
                f"{first.pre_bps:+.3f} | {hedge} | {first.edge_bps:+.3f} |"
            )


if __name__ == "__main__":
    main()
