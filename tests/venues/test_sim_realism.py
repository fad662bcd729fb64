"""Market realism of the simulated venue (``docs/sim-realism.md``): a common price factor with a
per-venue basis, informed outside flow, drawn touch queues and named latency profiles.

Every statistical assertion runs on a fixed seed, so it is deterministic; the bounds are set
from the model's own numbers (standard errors, the configured correlation) with a margin.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from simkit import MS, RULES, D, market, order, venue_config

from hedgekit.clock import LoopClock, run_virtual
from hedgekit.model import OrderStatus, Side, TimeInForce
from hedgekit.scenario import ScenarioError, load_scenario, parse_scenario
from hedgekit.simulate import simulate
from hedgekit.venues.sim import (
    FactorPath,
    LatencyConfig,
    LatencyProfile,
    MarketConfig,
    MarketFactor,
    MatchingEngine,
    SimInstrument,
    SimVenue,
    SimVenueConfig,
    latency_profile,
)
from hedgekit.venues.sim.markouts import Markout, maker_markouts, probe

S = 1_000_000_000
ROOT = Path(__file__).parents[2]
REALISTIC = ROOT / "benches" / "scenarios" / "quality_realistic.toml"
NO_LATENCY = LatencyConfig()


def factor_venue(
    name: str,
    factor: MarketFactor,
    *,
    seed: int,
    mid: str = "2400",
    tick: str = "0.01",
    **market_kw: Any,
) -> SimVenueConfig:
    """A venue without latency whose mid follows ``factor``."""
    mkt = market(mid=D(mid), tick=D(tick), factor=factor, **market_kw)
    return venue_config("aster", name=name, mkt=mkt, latency=NO_LATENCY, seed=seed)


def run_mids(
    configs: Sequence[SimVenueConfig], seconds: float, *, connect_gaps_s: Sequence[float] = ()
) -> tuple[int, list[list[tuple[int, Decimal]]]]:
    """Runs the venues for ``seconds`` of virtual time (the i-th connecting ``connect_gaps_s[i-1]``
    after the previous one) and returns the time the last connected and each venue's mid
    history."""

    async def main() -> tuple[int, list[list[tuple[int, Decimal]]]]:
        clock = LoopClock()
        venues = [SimVenue(c, clock) for c in configs]
        for i, v in enumerate(venues):
            if i and i - 1 < len(connect_gaps_s):
                await asyncio.sleep(connect_gaps_s[i - 1])
            v.engine.record_mids()
            await v.connect()
        t0 = clock.now_ns()
        await asyncio.sleep(seconds)
        out = [v.engine.mid_history(v.config.instruments[0].symbol) for v in venues]
        for v in venues:
            await v.close()
        return t0, out

    return run_virtual(main())


def sampled(history: list[tuple[int, Decimal]], t0: int, n: int, every_ns: int = S) -> list[float]:
    """The mid at ``t0 + k * every_ns`` (just after anything that happened then), k < n."""
    times = [t for t, _ in history]
    return [float(history[bisect.bisect_right(times, t0 + k * every_ns) - 1][1]) for k in range(n)]


def log_returns(xs: list[float]) -> list[float]:
    return [math.log(b / a) for a, b in zip(xs, xs[1:], strict=False)]


def correlation(a: list[float], b: list[float]) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb)


# ------------------------------------------------------------------------- common factor


def test_factor_paths_agree_whatever_order_they_are_asked_in() -> None:
    f = MarketFactor(vol_bps_per_sqrt_s=5.0, seed=42)
    a, b = FactorPath(f), FactorPath(f)
    forward = [a.log_return(10_000, k) for k in range(10_000, 13_000, 7)]
    backward = [b.log_return(10_000, k) for k in reversed(range(10_000, 13_000, 7))][::-1]
    assert forward == pytest.approx(backward, abs=1e-12)
    # Re-anchoring below the first step asked for keeps every difference.
    assert b.log_return(9_000, 12_000) == pytest.approx(
        b.log_return(9_000, 10_000) + a.log_return(10_000, 12_000), abs=1e-12
    )
    other = FactorPath(dataclasses.replace(f, seed=43))
    assert other.log_return(10_000, 11_000) != a.log_return(10_000, 11_000)
    # The increments are N(0, sigma^2 dt): 1 s returns have the configured volatility.
    per_s = S // f.step_ns
    rets = [a.log_return(k * per_s, (k + 1) * per_s) * 10_000 for k in range(4_000)]
    assert math.sqrt(sum(r * r for r in rets) / len(rets)) == pytest.approx(5.0, rel=0.05)


def test_separate_venues_share_the_factor_without_sharing_state() -> None:
    """Two venues built from one factor (correlation 1: no basis) move by the same returns even
    when they connect seconds apart and another venue runs beside them."""
    f = MarketFactor(vol_bps_per_sqrt_s=4.0, correlation_1s=1.0, seed=7)
    cfgs = [
        factor_venue("a", f, seed=1, tick="0.0001"),
        factor_venue("noise", dataclasses.replace(f, seed=8), seed=2, tick="0.0001"),
        factor_venue("b", f, seed=3, mid="1000", tick="0.0001"),
    ]
    t0, (ha, _, hb) = run_mids(cfgs, 120, connect_gaps_s=(3.3, 4.1))
    ra = log_returns(sampled(ha, t0, 120))
    rb = log_returns(sampled(hb, t0, 120))
    assert max(abs(x - y) for x, y in zip(ra, rb, strict=True)) < 1e-6
    assert max(abs(x) for x in ra) > 1e-4  # the market did move
    # The same venue alone, connected at another time, sees the same returns too.
    t1, (alone,) = run_mids([cfgs[2]], 130)
    assert t1 == t0 - int(7.4 * S)
    shift = int(7.4 * S)
    r_alone = log_returns(sampled(alone, t1 + shift, 120))
    assert r_alone == pytest.approx(rb, abs=1e-6)


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_one_second_returns_correlate_as_configured(rho: float) -> None:
    f = MarketFactor(vol_bps_per_sqrt_s=4.0, correlation_1s=rho, basis_half_life_s=10.0, seed=11)
    cfgs = [factor_venue("a", f, seed=1), factor_venue("b", f, seed=2, mid="2400.3")]
    n = 2_500
    t0, (ha, hb) = run_mids(cfgs, n + 1)
    measured = correlation(log_returns(sampled(ha, t0, n)), log_returns(sampled(hb, t0, n)))
    assert abs(measured - rho) <= 0.05, measured


def test_tick_rounding_is_taken_out_of_the_basis() -> None:
    """On a coarse tick (Hyperliquid's 0.1 at 2400, 0.42 bps) the measured correlation is still
    the configured one: the basis is made smaller by what the rounding adds."""
    f = MarketFactor(vol_bps_per_sqrt_s=1.0, correlation_1s=0.95, seed=5)
    cfgs = [factor_venue("hl", f, seed=1, tick="0.1"), factor_venue("aster", f, seed=2)]
    n = 2_500
    t0, (ha, hb) = run_mids(cfgs, n + 1)
    measured = correlation(log_returns(sampled(ha, t0, n)), log_returns(sampled(hb, t0, n)))
    assert abs(measured - 0.95) <= 0.05, measured


def test_the_basis_is_bounded_and_reverts() -> None:
    """``mid / (mid0 · F(t)/F(t0)) − 1`` is the venue's basis: it keeps the configured standard
    deviation instead of spreading like a random walk, and decays with the configured half-life."""
    f = MarketFactor(vol_bps_per_sqrt_s=4.0, basis_vol_bps=2.0, basis_half_life_s=10.0, seed=3)
    cfg = factor_venue("a", f, seed=9, tick="0.0001")
    n = 3_000
    t0, (h,) = run_mids([cfg], n + 1)
    path = FactorPath(f)
    origin = path.index(t0)
    basis = [
        mid / (2400 * math.exp(path.log_return(origin, path.index(t0 + k * S)))) - 1
        for k, mid in enumerate(sampled(h, t0, n))
    ]
    bps = [b * 10_000 for b in basis]
    first, second = bps[: n // 2], bps[n // 2 :]

    def sd(xs: list[float]) -> float:
        m = sum(xs) / len(xs)
        return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

    assert sd(bps) == pytest.approx(2.0, rel=0.25)
    assert sd(second) == pytest.approx(sd(first), rel=0.4)  # no growth with time
    assert max(abs(x) for x in bps) < 6 * 2.0
    assert abs(sum(bps) / n) < 1.0
    # Autocorrelation one half-life apart is about 1/2.
    lag = 10
    xs, ys = bps[:-lag], bps[lag:]
    assert correlation(xs, ys) == pytest.approx(0.5, abs=0.15)


def test_a_lagging_venue_follows_the_leader() -> None:
    f = MarketFactor(vol_bps_per_sqrt_s=4.0, correlation_1s=1.0, step_ns=100 * MS, seed=21)
    lead = factor_venue("lead", f, seed=1, tick="0.0001")
    lag = factor_venue("lag", f, seed=2, tick="0.0001", factor_lag_ns=300 * MS)
    t0, (hl, hg) = run_mids([lead, lag], 61)
    r_lead = log_returns(sampled(hl, t0, 60))
    r_lag_then = log_returns(sampled(hg, t0 + 300 * MS, 60))
    assert r_lag_then == pytest.approx(r_lead, abs=1e-6)
    # Contemporaneously they differ: the lagging venue has not moved yet.
    r_lag_now = log_returns(sampled(hg, t0, 60))
    assert max(abs(x - y) for x, y in zip(r_lag_now, r_lead, strict=True)) > 1e-5


def test_with_a_common_factor_the_hedge_venue_has_moved_too() -> None:
    """The point of the factor: a maker fill caused by a move on one venue is hedged on another
    that moved the same way. With independent walks the hedge venue has not moved."""
    kw: dict[str, Any] = dict(
        tick="0.1", levels=10, level_size=D(3), trade_rate_per_s=1.0, trade_size=D(1)
    )
    f = MarketFactor(vol_bps_per_sqrt_s=4.0, correlation_1s=0.99, seed=2)
    common = [factor_venue(n, f, seed=i, **kw) for i, n in enumerate("ab")]
    walk = market(
        mid=D("2400"), tick=D("0.1"), levels=10, level_size=D(3), trade_rate_per_s=1.0,
        trade_size=D(1), vol_bps_per_sqrt_s=4.0, walk_interval_ns=250 * MS,
    )  # fmt: skip
    independent = [
        venue_config("aster", name=n, mkt=walk, latency=NO_LATENCY, seed=i)
        for i, n in enumerate("ab")
    ]
    for m in (r[0] for r in probe(common, seconds=300, size=D("0.5")).values()):
        assert m.n > 500 and m.hedge_bps is not None
        assert m.pre_bps < -1.0  # mostly trade-throughs: the mid jumped across our price
        assert m.hedge_bps < -1.0 and abs(m.hedge_bps - m.pre_bps) < 0.5
    for m in (r[0] for r in probe(independent, seconds=300, size=D("0.5")).values()):
        assert m.pre_bps < -1.0 and m.hedge_bps is not None
        assert abs(m.hedge_bps) < 0.4


# --------------------------------------------------------------------------- informed flow


def informed_venue(share: float, seed: int = 4) -> SimVenueConfig:
    """A calm market with a 1-tick spread of 0.42 bps, 3 ETH per level and two outside market
    orders a second per side: enough trade fills to measure (not only trade-throughs)."""
    f = MarketFactor(vol_bps_per_sqrt_s=1.0, correlation_1s=0.95, seed=seed)
    return factor_venue(
        "a",
        f,
        seed=seed,
        tick="0.1",
        levels=10,
        level_size=D("3"),
        trade_rate_per_s=3.0,
        trade_size=D("2"),
        informed_share=share,
        informed_horizon_ns=2_000 * MS,
    )


def markouts(share: float, seconds: float) -> list[Markout]:
    return probe([informed_venue(share)], seconds=seconds, size=D("0.5"))["a"]


def test_uninformed_flow_leaves_no_markout_and_informed_flow_an_adverse_one() -> None:
    calm = markouts(0.0, 1_200)
    informed = markouts(0.5, 1_200)
    for m in (*calm, *informed):
        assert m.n > 2_000  # many fills, most of them from outside trades
        assert m.through < 0.6 * m.n
    for m in calm:  # ~0: within three standard errors and a few hundredths of a bp
        assert abs(m.mean_bps) <= 3 * m.stderr_bps and abs(m.mean_bps) < 0.05, m
    for m in informed:  # clearly against the maker
        assert m.mean_bps < -4 * m.stderr_bps and m.mean_bps < -0.05, m
        assert m.edge_bps < 0
    one, five = informed
    assert five.mean_bps < one.mean_bps  # the informed move keeps going up to the horizon


def test_markouts_repeat_exactly_for_a_seed() -> None:
    first = markouts(0.5, 60)
    assert first == markouts(0.5, 60)
    assert first[0].n > 0
    other = probe([informed_venue(0.5, seed=5)], seconds=60, size=D("0.5"))["a"]
    assert other != first


def outside_trades(share: float, seconds: float = 60) -> list[tuple[int, Side, Decimal]]:
    """Every outside market order of :func:`informed_venue` as ``(t, aggressor, size)``."""

    async def main() -> list[tuple[int, Side, Decimal]]:
        v = SimVenue(informed_venue(share), LoopClock())
        seen: list[tuple[int, Side, Decimal]] = []
        real = v.engine.external_trade

        def spy(t: int, symbol: str, aggressor: Side, size: Decimal, limit: Any = None) -> Any:
            seen.append((t, aggressor, size))
            return real(t, symbol, aggressor, size, limit)

        v.engine.external_trade = spy  # type: ignore[method-assign]
        await v.connect()
        await asyncio.sleep(seconds)
        await v.close()
        return seen

    return run_virtual(main())


def test_informed_flow_changes_sides_only_and_trades_where_the_factor_goes() -> None:
    plain, informed = outside_trades(0.0), outside_trades(1.0)
    assert len(plain) > 300
    assert [(t, s) for t, _, s in plain] == [(t, s) for t, _, s in informed]  # same arrivals
    assert [a for _, a, _ in plain] != [a for _, a, _ in informed]
    f = informed_venue(1.0).instruments[0].market.factor
    assert f is not None
    path = FactorPath(f)
    for t, side, _ in informed:
        move = path.log_return(path.index(t), path.index(t + 2 * S))
        assert side is (Side.BUY if move > 0 else Side.SELL)
    # A share in between: about that share of trades follow the factor beyond chance.
    half = outside_trades(0.5, 200)
    agree = sum(
        (side is Side.BUY) == (path.log_return(path.index(t), path.index(t + 2 * S)) > 0)
        for t, side, _ in half
    ) / len(half)
    assert agree == pytest.approx(0.75, abs=0.05)  # half informed + half of the rest by chance


def test_maker_markouts_of_hand_made_fills() -> None:
    from hedgekit.model import Fill, Liquidity

    def fill(t: int, side: Side, price: str, maker: bool = True) -> Fill:
        liq = Liquidity.MAKER if maker else Liquidity.TAKER
        return Fill("v", "ETH", "c", "o", t, side, D(price), D(1), D(0), liq, t)

    mids = [(0, D("100")), (S, D("100.01")), (3 * S, D("99.99")), (10 * S, D("100"))]
    fills = [
        fill(0, Side.BUY, "99.99"),  # mid +1 bp after 1 s: +1 bp for the buyer
        fill(S, Side.SELL, "100.02"),  # mid 100.01 -> 100.01 at 2 s: 0
        fill(2 * S, Side.BUY, "100", maker=False),  # taker: ignored
    ]
    one = maker_markouts(fills, mids, (1.0,))[0]
    assert one.n == 2
    assert one.mean_bps == pytest.approx((1.0 + 0.0) / 2)
    edge_buy = (100.01 - 99.99) / 99.99 * 10_000
    edge_sell = -(100.01 - 100.02) / 100.02 * 10_000
    assert one.edge_bps == pytest.approx((edge_buy + edge_sell) / 2)
    assert one.through == 2  # both fills happened at a time the mid was set
    # From the mid just before each fill: the buy's is the first mid, the sell's 100.
    assert one.pre_bps == pytest.approx((1.0 - 1.0) / 2) and one.hedge_bps is None
    hedged = maker_markouts(fills, mids, (1.0,), hedge_mids=[(0, D("50")), (S // 2, D("50.05"))])
    assert hedged[0].hedge_bps == pytest.approx((10.0 + (-10.0 * 0)) / 2)
    # A fill whose horizon runs past the history is left out.
    assert maker_markouts(fills, mids, (9.5,))[0].n == 1


# ------------------------------------------------------------------------ latency profiles


@pytest.mark.parametrize(
    ("profile", "lo_ms", "hi_ms"),
    [(LatencyProfile.COLOCATED, 2, 5), (LatencyProfile.RETAIL_VPS, 50, 200)],
)
def test_place_to_ack_round_trips_fall_in_the_profile_range(
    profile: LatencyProfile, lo_ms: int, hi_ms: int
) -> None:
    assert profile.round_trip_ns == (lo_ms * MS, hi_ms * MS)  # the documented range

    async def main() -> list[int]:
        clock = LoopClock()
        v = SimVenue(venue_config(latency=latency_profile(profile), seed=3), clock)
        await v.connect()
        q = v.quote("ETH")
        assert q is not None
        out = []
        for _ in range(400):
            t = clock.now_ns()
            ack = await v.place(order("buy", "1", str(q.bid - D(1)), tif=TimeInForce.POST_ONLY))
            out.append(clock.now_ns() - t)
            assert ack.status is OrderStatus.OPEN
        await v.close()
        return out

    rtts = sorted(run_virtual(main()))
    assert lo_ms * MS <= rtts[0] and rtts[-1] <= hi_ms * MS
    # Jittered, not constant: the middle half spans a good part of the range.
    assert rtts[300] - rtts[100] > (hi_ms - lo_ms) * MS / 10
    median = rtts[200]
    assert lo_ms * MS < median < (lo_ms + hi_ms) / 2 * MS


def test_latency_profiles_by_name() -> None:
    assert latency_profile("retail_vps") == latency_profile(LatencyProfile.RETAIL_VPS)
    with pytest.raises(ValueError):
        latency_profile("dial_up")


# ---------------------------------------------------------------------------- touch queues


def drawn_engine(seed: int, mid: str = "2400") -> MatchingEngine:
    mkt = MarketConfig(
        mid=D(mid), tick=D("0.1"), levels=10, level_size=D(10), level_size_max=D(40),
        depth_growth=D("0.3"),
    )  # fmt: skip
    inst = SimInstrument("ETH", RULES["hyperliquid"], mkt)
    p = venue_config().personality
    return MatchingEngine("hl", p, [inst], seed=seed)


def test_touch_sizes_are_drawn_per_level_and_kept_as_the_mid_moves() -> None:
    e = drawn_engine(seed=1)
    bids, asks = e.book_levels("ETH", 10)
    touch = [bids[0][1], asks[0][1]]
    assert all(D(10) <= s <= D(40) for s in touch)
    for i, (_, size) in enumerate(bids):
        assert D(10) * (1 + D("0.3") * i) <= size <= D(40) * (1 + D("0.3") * i)
    assert len({s / (1 + D("0.3") * i) for i, (_, s) in enumerate(asks)}) > 5  # drawn, not fixed
    before = dict(asks)
    e.set_mid(S, "ETH", D("2400.5"))
    e.set_mid(2 * S, "ETH", D("2400"))
    assert dict(e.book_levels("ETH", 10)[1]) == before  # a price level keeps its size
    assert drawn_engine(seed=1).book_levels("ETH", 10) == (bids, asks)
    assert drawn_engine(seed=2).book_levels("ETH", 10) != (bids, asks)
    # Over many levels the draw covers the range evenly (mean ≈ 25).
    e.set_mid(3 * S, "ETH", D("2500"))
    many = [drawn_engine(seed=s).book_levels("ETH", 1)[0][0][1] for s in range(200)]
    assert 22 < sum(many) / len(many) < 28


def test_a_new_order_waits_behind_the_drawn_touch_queue() -> None:
    e = drawn_engine(seed=1)
    bid, ahead = e.book_levels("ETH", 1)[0][0]
    ack = e.place(0, order("buy", "2", str(bid), tif=TimeInForce.POST_ONLY)).ack
    assert ack is not None
    e.external_trade(1, "ETH", Side.SELL, ahead - D("0.001"))
    assert e.fills() == []
    e.external_trade(2, "ETH", Side.SELL, D(1))
    assert sum(f.size for f in e.fills()) == D("0.999")


# ------------------------------------------------------------------------ scenario format


def realistic_mapping() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(REALISTIC.read_text(encoding="utf-8"))


def test_the_realistic_scenario_reaches_the_configuration() -> None:
    sc = load_scenario(REALISTIC)
    hl, ast = sc.venues
    f = hl.instruments[0].market.factor
    assert f is not None and f == ast.instruments[0].market.factor
    assert f.vol_bps_per_sqrt_s == 1.0 and f.correlation == 0.95 and f.step_ns == 100 * MS
    assert hl.latency == latency_profile("retail_vps") == ast.latency
    m = hl.instruments[0].market
    assert (m.level_size, m.level_size_max, m.informed_share) == (D(10), D(40), 0.3)
    assert ast.instruments[0].market.factor_lag_ns == 50 * MS
    assert hl.personality.fees.maker_rate == D("0.00015")
    assert ast.personality.fees.taker_rate == D("0.00035")
    # with_seed moves the factor's seed with the venues' (and every venue keeps sharing it).
    other = sc.with_seed(5)
    f5 = [v.instruments[0].market.factor for v in other.venues]
    assert f5[0] == f5[1] and f5[0] is not None and f5[0].seed != f.seed
    assert other.with_seed(0) == sc.with_seed(0)
    seeds = set()
    for s in range(300):
        factor = sc.with_seed(s).venues[0].instruments[0].market.factor
        assert factor is not None
        seeds.add(factor.seed)
    assert len(seeds) == 300  # every scenario seed gives its own factor path


def test_the_realistic_scenario_runs_with_every_invariant_held() -> None:
    for seed in (0, 1):
        report = simulate(str(REALISTIC), seed=seed)
        assert report["all_invariants_held"], report["invariants"]


def test_scenarios_without_the_new_fields_keep_every_default() -> None:
    sc = load_scenario(ROOT / "benches" / "scenarios" / "quality.toml")
    for v in sc.venues:
        m = v.instruments[0].market
        assert m.factor is None and m.level_size_max is None and m.informed_share == 0.0
        assert m.factor_lag_ns == 0
    assert sc.with_seed(3).venues[0].instruments[0].market.factor is None


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = realistic_mapping()
    node: Any = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "text"),
    [
        (
            "market_factor.correlation_1s",
            1.5,
            "market_factor.correlation_1s",
            "between 0.1 and 1.0",
        ),
        ("market_factor.correlation_1s", math.nan, "market_factor.correlation_1s", "finite"),
        ("market_factor.vol_bps_per_sqrt_s", 0, "market_factor.vol_bps_per_sqrt_s", "between"),
        ("market_factor.vol_bps_per_sqrt_s", 1e6, "market_factor.vol_bps_per_sqrt_s", "between"),
        ("market_factor.basis_vol_bps", 2.0, "market_factor.basis_vol_bps", "not both"),
        ("market_factor.basis_half_life_s", 0, "market_factor.basis_half_life_s", "at least 0.1"),
        ("market_factor.step_ms", 0, "market_factor.step_ms", "between"),
        ("market_factor.step_ms", "100", "market_factor.step_ms", "a number is required"),
        ("market_factor.seed", -1, "market_factor.seed", "at least 0"),
        ("market_factor.drift", 1.0, "market_factor", "unknown field(s): drift"),
        ("venues.0.market.informed_share", 1.5, "venues[0].market.informed_share", "between"),
        (
            "venues.0.market.informed_horizon_ms",
            0,
            "venues[0].market.informed_horizon_ms",
            "between",
        ),
        (
            "venues.0.market.informed_horizon_ms",
            math.inf,
            "venues[0].market.informed_horizon_ms",
            "finite",
        ),
        ("venues.1.market.factor_lag_ms", -5, "venues[1].market.factor_lag_ms", "between"),
        ("venues.1.market.factor_lag_ms", 1e9, "venues[1].market.factor_lag_ms", "between"),
        (
            "venues.0.market.level_size_max",
            "5",
            "venues[0].market.level_size_max",
            "at least level_size",
        ),
        ("venues.0.market.level_size_max", 40.5, "venues[0].market.level_size_max", "exact number"),
        (
            "venues.0.market.vol_bps_per_sqrt_s",
            8.0,
            "venues[0].market.vol_bps_per_sqrt_s",
            "[market_factor]",
        ),
        (
            "venues.0.market.walk_interval_ms",
            250,
            "venues[0].market.walk_interval_ms",
            "[market_factor]",
        ),
        (
            "venues.0.latency_profile",
            "dial_up",
            "venues[0].latency_profile",
            "colocated, retail_vps",
        ),
        ("venues.0.latency_profile", 3, "venues[0].latency_profile", "non-empty string"),
        ("venues.0.latency", {"entry_ms": 5}, "venues[0].latency.entry_ms", "latency_profile"),
        ("venues.0.latency", {"jitter_ms": 5}, "venues[0].latency.jitter_ms", "latency_profile"),
    ],
)
def test_malformed_realism_fields_name_the_field(
    path: str, value: Any, field: str, text: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_mutate(path, value))
    assert err.value.field == field
    assert text in str(err.value), str(err.value)


@pytest.mark.parametrize("key", ["informed_share", "factor_lag_ms", "informed_horizon_ms"])
def test_informed_flow_and_lag_need_a_market_factor(key: str) -> None:
    data = _mutate("market_factor", _DELETE)
    for v in data["venues"]:
        for k in ("informed_share", "informed_horizon_ms", "factor_lag_ms"):
            v["market"].pop(k, None)
    data["venues"][0]["market"][key] = 100
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == f"venues[0].market.{key}"
    assert "needs a [market_factor]" in str(err.value)


def test_a_profile_takes_speed_bumps_schedule_and_overloads() -> None:
    data = _mutate("venues.0.latency", {"speed_bumps": {"maker": 35}, "p_overload": 0.01})
    lat = parse_scenario(data).venues[0].latency
    assert lat.entry == latency_profile("retail_vps").entry
    assert dict(lat.speed_bumps) == {"maker": 35 * MS} and lat.p_overload == 0.01


def test_basis_vol_instead_of_correlation() -> None:
    data = _mutate("market_factor.correlation_1s", _DELETE)
    data["market_factor"]["basis_vol_bps"] = 1.5
    f = parse_scenario(data).venues[0].instruments[0].market.factor
    assert f is not None and f.correlation is None and f.basis_std() == pytest.approx(1.5e-4)
    data = _mutate("market_factor.correlation_1s", _DELETE)
    f = parse_scenario(data).venues[0].instruments[0].market.factor
    assert f is not None and f.correlation == MarketFactor.DEFAULT_CORRELATION


def test_market_config_refuses_inconsistent_realism() -> None:
    f = MarketFactor()
    with pytest.raises(ValueError):
        MarketConfig(mid=D(1), tick=D("0.1"), factor=f, vol_bps_per_sqrt_s=1.0)
    with pytest.raises(ValueError):
        MarketConfig(mid=D(1), tick=D("0.1"), informed_share=0.2)
    with pytest.raises(ValueError):
        MarketConfig(mid=D(1), tick=D("0.1"), level_size=D(5), level_size_max=D(4))
    with pytest.raises(ValueError):
        MarketFactor(correlation_1s=0.9, basis_vol_bps=1.0)
    with pytest.raises(ValueError):
        MarketFactor(correlation_1s=0.0)
    with pytest.raises(ValueError):
        MarketFactor(vol_bps_per_sqrt_s=math.nan)


@pytest.mark.parametrize("refill_ms", [0, 400])
def test_a_still_book_refills_only_when_told(refill_ms: int) -> None:
    """Outside buyers take the whole ask side of a still market at 100 ms. With ``refill_ms``
    the makers quote it again by the next refill; without, it stays empty (as scenarios that
    model a drained book need)."""
    from hedgekit.venues.sim.config import ScriptedEvent

    sweep = ScriptedEvent(100 * MS, "trade", side="buy", size=D("1000"))
    mkt = market(script=(sweep,), refill_interval_ns=refill_ms * MS)
    cfg = venue_config("hyperliquid", mkt=mkt, latency=NO_LATENCY, seed=1)

    async def main() -> list[tuple[int, int]]:
        v = SimVenue(cfg, LoopClock())
        await v.connect()
        sym = cfg.instruments[0].symbol
        seen = []
        for _ in range(6):  # 0.2 s apart: before the sweep, after it, after refills
            bids, asks = v.engine.book_levels(sym, 10)
            seen.append((len(bids), len(asks)))
            await asyncio.sleep(0.2)
        await v.close()
        return seen

    seen = run_virtual(main())
    assert seen[0] == (5, 5)
    assert seen[1] == (5, 0)  # the sweep took every ask
    if refill_ms:
        assert seen[-1] == (5, 5)  # quoted again at the same mid
    else:
        assert all(asks == 0 for _, asks in seen[1:])


def test_a_refill_belongs_to_a_still_market() -> None:
    with pytest.raises(ValueError, match="still market"):
        market(vol_bps_per_sqrt_s=5.0, refill_interval_ns=100 * MS)
    with pytest.raises(ValueError, match=">= 0"):
        market(refill_interval_ns=-1)
