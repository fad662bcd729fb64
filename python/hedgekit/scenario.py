"""Scenario files: simulated venues, their market and faults, starting positions, and one
operation — as TOML or JSON data (format: ``docs/scenarios.md``).

:func:`load_scenario` reads a file, :func:`parse_scenario` a mapping; both validate everything
up front and raise :class:`ScenarioError` naming the offending field, so a malformed scenario
never half-runs. Numbers that become prices or sizes must be strings or integers (``"2.332"``):
a TOML/JSON float is refused, since it may not be the number that was written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hedgekit._core import Instrument
from hedgekit.errors import HedgekitError
from hedgekit.execution.config import (
    AtomicConfig,
    CloseConfig,
    CloseLeg,
    EntryPlan,
    ExecutionMode,
    HedgePricing,
    HedgeTiming,
    LegSpec,
    OrderConfig,
)
from hedgekit.model import Side
from hedgekit.venues.sim.config import (
    REQUEST_OPS,
    CancelSplit,
    DeliveryConfig,
    Disconnect,
    FaultConfig,
    FillConfig,
    Lat,
    LatencyConfig,
    LatencyProfile,
    LostMessage,
    MarketConfig,
    MarketFactor,
    Outage,
    Personality,
    PostOnlyMode,
    QueueConfig,
    RateLimit,
    RateLimitConfig,
    ScriptedEvent,
    SimInstrument,
    SimVenueConfig,
    aster,
    hyperliquid,
    latency_profile,
    lighter,
)

__all__ = ["Scenario", "ScenarioError", "StartPosition", "load_scenario", "parse_scenario"]

MS = 1_000_000
MAX_NUMBER = 86_400_000.0
"""The largest plain number any field accepts (a day, in milliseconds)."""
MAX_SECONDS = 86_400.0
"""The largest duration in seconds (a day)."""
MAX_EXACT = Decimal("9223372036.854775807")
"""The largest magnitude of an exact value: the core's fixed-point range (nine decimals in an
``i64``)."""
_NINE = Decimal("1e-9")
_PERSONALITIES = {"hyperliquid": hyperliquid, "aster": aster, "lighter": lighter}


class ScenarioError(HedgekitError, ValueError):
    """A scenario file or mapping is malformed.

    Attributes:
        field: Where, as a dotted path (``"venues[1].market.mid"``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True, slots=True)
class StartPosition:
    """A position the account holds before the operation starts."""

    venue: str
    symbol: str
    size: Decimal
    entry_price: Decimal


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed, validated scenario.

    Attributes:
        name: A label.
        seed: The base seed (each venue's seed is derived from it and its name unless given).
        venues: The simulated venues.
        positions: Starting positions.
        kind: ``"open"`` or ``"close"``.
        legs: The operation's legs (``LegSpec`` for an open, ``CloseLeg`` for a close).
        size: The pair size of an open.
        atomic: The open's configuration.
        close: The close's configuration.
        start_after_s: Virtual seconds the market runs before the operation starts.
        settle_s: Virtual seconds after the operation for late events before the checks.
    """

    name: str
    seed: int
    venues: tuple[SimVenueConfig, ...]
    positions: tuple[StartPosition, ...]
    kind: str
    legs: tuple[LegSpec, ...] | tuple[CloseLeg, ...]
    size: Decimal | None
    atomic: AtomicConfig
    close: CloseConfig
    start_after_s: float = 1.0
    settle_s: float = 5.0

    def with_seed(self, seed: int) -> Scenario:
        """The same scenario with another seed for every venue (for many seeded runs), and for
        the shared market factor if there is one."""
        venues = tuple(
            _reseed_factor(dataclasses.replace(v, seed=_venue_seed(seed, v.name)), seed)
            for v in self.venues
        )
        return dataclasses.replace(self, seed=seed, venues=venues)


def load_scenario(path: str | Path) -> Scenario:
    """Reads and validates a ``.toml`` or ``.json`` scenario file.

    Raises:
        FileNotFoundError: No such file.
        ScenarioError: The file does not parse, or a field is missing or invalid.
    """
    p = Path(path)
    raw = p.read_bytes()
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError("", f"{p.name} does not parse: {exc}") from None
    except RecursionError:
        raise ScenarioError("", f"{p.name} does not parse: nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ScenarioError("", f"{p.name}: the top level must be a table/object")
    return parse_scenario(data)


class _Reader:
    """Typed access to one table, with the dotted path for errors and unknown-key detection."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(path, "must be a table/object")
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def _at(self, key: str) -> str:
        if key.startswith("["):
            return f"{self.path}{key}"
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def text(self, key: str, default: str | None = None) -> str:
        v = self.raw(key, default)
        if not isinstance(v, str) or not v:
            raise ScenarioError(self._at(key), "a non-empty string is required")
        return v

    def integer(
        self, key: str, default: int | None = None, lo: int | None = 0, hi: int | None = None
    ) -> int:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ScenarioError(self._at(key), f"an integer is required, got {v!r}")
        if lo is not None and v < lo:
            raise ScenarioError(self._at(key), f"must be at least {lo}, got {v}")
        if hi is not None and v > hi:
            raise ScenarioError(self._at(key), f"must be at most {hi}, got {v}")
        return v

    def number(
        self, key: str, default: float | None = None, lo: float = 0.0, hi: float = MAX_NUMBER
    ) -> float:
        """A finite number in ``[lo, hi]`` (every number of the format has an upper bound, so
        no duration, rate or size read from a file can make a run endless)."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ScenarioError(self._at(key), f"a number is required, got {v!r}")
        if not math.isfinite(v):
            raise ScenarioError(self._at(key), f"must be a finite number between {lo} and {hi:g}, got {v}")
        if v < lo or v > hi:
            if hi not in (MAX_NUMBER, MAX_SECONDS):
                bound = f"between {lo} and {hi}"
            else:
                bound = f"at least {lo}" if v < lo else f"at most {hi:g}"
            raise ScenarioError(self._at(key), f"must be {bound}, got {v}")
        return float(v)

    def dec(self, key: str, default: Decimal | None = None, *, positive: bool = False, nonneg: bool = False) -> Decimal:
        v = self.raw(key, default)
        if isinstance(v, Decimal):
            d = v
        elif isinstance(v, bool) or isinstance(v, float) or not isinstance(v, str | int):
            raise ScenarioError(
                self._at(key), f"an exact number is required as a string or integer (\"2.332\"), got {v!r}"
            )
        else:
            try:
                d = Decimal(v)
            except InvalidOperation:
                raise ScenarioError(self._at(key), f"not a number: {v!r}") from None
        if not d.is_finite():
            raise ScenarioError(self._at(key), f"must be finite, got {v!r}")
        if abs(d) > MAX_EXACT or d != d.quantize(_NINE, rounding=ROUND_DOWN):
            raise ScenarioError(
                self._at(key),
                f"must have at most 9 decimals and lie within ±{MAX_EXACT} (the core's exact range), got {v!r}",
            )
        if positive and d <= 0:
            raise ScenarioError(self._at(key), f"must be positive, got {v}")
        if nonneg and d < 0:
            raise ScenarioError(self._at(key), f"must not be negative, got {v}")
        return d

    def flag(self, key: str, default: bool) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise ScenarioError(self._at(key), f"true or false is required, got {v!r}")
        return v

    def table(self, key: str) -> _Reader:
        return _Reader(self.raw(key, {}), self._at(key))

    def tables(self, key: str) -> list[_Reader]:
        v = self.raw(key, [])
        if not isinstance(v, list):
            raise ScenarioError(self._at(key), "must be a list of tables")
        return [_Reader(item, f"{self._at(key)}[{i}]") for i, item in enumerate(v)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ScenarioError(self.path or "(top level)", f"unknown field(s): {', '.join(unknown)}")


def _ms(r: _Reader, key: str, default: float) -> int:
    return int(r.number(key, default) * MS)


def _venue_seed(seed: int, name: str) -> int:
    return int.from_bytes(f"{seed}:{name}".encode(), "big") % (2**63)


def _factor_seed(seed: int) -> int:
    """The shared market factor's seed, derived from the scenario seed (every digit counts)."""
    digest = hashlib.sha256(f"{seed}:market_factor".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


def _reseed_factor(cfg: SimVenueConfig, seed: int) -> SimVenueConfig:
    """``cfg`` with its markets' shared factor seeded from the scenario seed ``seed``."""
    if not any(i.market.factor is not None for i in cfg.instruments):
        return cfg
    insts = tuple(
        i
        if i.market.factor is None
        else dataclasses.replace(
            i,
            market=dataclasses.replace(
                i.market,
                factor=dataclasses.replace(
                    i.market.factor, seed=_factor_seed(seed)
                ),
            ),
        )
        for i in cfg.instruments
    )
    return dataclasses.replace(cfg, instruments=insts)


def _instrument(r: _Reader) -> Instrument:
    kind = r.text("kind", "plain")
    try:
        if kind == "hyperliquid":
            return Instrument.hyperliquid(
                r.integer("sz_decimals"), min_notional=r.dec("min_notional", Decimal(10), nonneg=True)
            )
        if kind == "lighter":
            return Instrument.lighter(
                r.integer("price_decimals"),
                r.integer("size_decimals"),
                min_base_amount=r.dec("min_base_amount", nonneg=True),
                min_quote_amount=r.dec("min_quote_amount", nonneg=True),
            )
        if kind == "plain":
            return Instrument.plain(
                r.dec("tick", positive=True),
                r.dec("step", positive=True),
                min_qty=r.dec("min_qty", Decimal(0), nonneg=True),
                min_notional=r.dec("min_notional", Decimal(0), nonneg=True),
                reduce_only_exempt=r.flag("reduce_only_exempt", True),
            )
    except ScenarioError:
        raise
    except (ValueError, TypeError) as exc:
        raise ScenarioError(r.path, str(exc)) from None
    raise ScenarioError(f"{r.path}.kind", f"one of hyperliquid, lighter, plain; got {kind!r}")


def _lat(r: _Reader, key: str, base_ms: float, jitter_ms: float) -> Lat:
    t = r.table(key) if r.has(key) and isinstance(r.data.get(key), Mapping) else None
    if t is None:
        v = r.number(key, base_ms) if r.has(key) else base_ms
        return Lat(int(v * MS), int(jitter_ms * MS), int(jitter_ms * 10 * MS))
    lat = Lat(_ms(t, "base_ms", base_ms), _ms(t, "jitter_ms", jitter_ms), _ms(t, "cap_ms", jitter_ms * 10))
    t.done()
    return lat


_LATENCY_PATH_KEYS = ("entry_ms", "response_ms", "feed_public_ms", "feed_private_ms", "jitter_ms")


def _latency(r: _Reader, profile: LatencyConfig | None = None) -> LatencyConfig:
    if profile is not None:
        for key in _LATENCY_PATH_KEYS:
            if r.has(key):
                raise ScenarioError(
                    f"{r.path}.{key}",
                    "cannot be combined with the venue's latency_profile (the profile sets every "
                    "path; only speed_bumps, schedule_ms and p_overload may be added)",
                )
    jitter = r.number("jitter_ms", 0.0)
    bumps = r.table("speed_bumps")
    speed = tuple((k, int(bumps.number(k) * MS)) for k in sorted(bumps.data))
    bumps.done()
    sched = r.raw("schedule_ms", [])
    if not isinstance(sched, list) or not all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in x)
        for x in sched
    ):
        raise ScenarioError(f"{r.path}.schedule_ms", "a list of [t_ms, base_ms] pairs is required")
    schedule = tuple((int(t * MS), int(b * MS)) for t, b in sorted(sched))
    p_overload = r.number("p_overload", 0.0, hi=1.0)
    if profile is not None:
        r.done()
        return dataclasses.replace(
            profile, schedule=schedule, speed_bumps=speed, p_overload=p_overload
        )
    cfg = LatencyConfig(
        schedule=schedule,
        entry=_lat(r, "entry_ms", 10.0, jitter),
        response=_lat(r, "response_ms", 10.0, jitter),
        feed_public=_lat(r, "feed_public_ms", 5.0, jitter),
        feed_private=_lat(r, "feed_private_ms", 5.0, jitter),
        speed_bumps=speed,
        p_overload=p_overload,
    )
    r.done()
    return cfg


_MAX_FACTOR_VOL = 1_000.0
"""Largest volatility of a market factor, bps/√s (10 %/√s: far beyond any real market)."""
_MAX_FACTOR_MS = 60_000.0
"""Largest factor step, lag and informed horizon, ms."""


def _market_factor(r: _Reader, seed: int) -> MarketFactor:
    """The top-level ``[market_factor]`` table."""
    if r.has("correlation_1s") and r.has("basis_vol_bps"):
        raise ScenarioError(
            f"{r.path}.basis_vol_bps", "give correlation_1s or basis_vol_bps, not both"
        )
    cfg = MarketFactor(
        vol_bps_per_sqrt_s=r.number("vol_bps_per_sqrt_s", 1.0, lo=0.01, hi=_MAX_FACTOR_VOL),
        correlation_1s=(
            r.number("correlation_1s", lo=0.1, hi=1.0) if r.has("correlation_1s") else None
        ),
        basis_vol_bps=(
            r.number("basis_vol_bps", hi=_MAX_FACTOR_VOL) if r.has("basis_vol_bps") else None
        ),
        basis_half_life_s=r.number("basis_half_life_s", 20.0, lo=0.1, hi=MAX_SECONDS),
        step_ns=int(r.number("step_ms", 250.0, lo=1.0, hi=_MAX_FACTOR_MS) * MS),
        seed=r.integer("seed") if r.has("seed") else _factor_seed(seed),
    )
    r.done()
    return cfg


def _market(r: _Reader, rules: Instrument, factor: MarketFactor | None = None) -> MarketConfig:
    script = []
    for e in r.tables("script"):
        try:
            ev = ScriptedEvent(
                at_ns=_ms(e, "at_ms", 0.0),
                action=e.text("action"),
                side=e.raw("side"),
                size=e.dec("size") if e.has("size") else None,
                price=e.dec("price") if e.has("price") else None,
            )
        except ValueError as exc:
            if isinstance(exc, ScenarioError):
                raise
            raise ScenarioError(e.path, str(exc)) from None
        e.done()
        script.append(ev)
    level_size = r.dec("level_size", Decimal(5), positive=True)
    level_size_max = r.dec("level_size_max", positive=True) if r.has("level_size_max") else None
    if level_size_max is not None and level_size_max < level_size:
        raise ScenarioError(
            f"{r.path}.level_size_max",
            f"must be at least level_size ({level_size}), got {level_size_max}",
        )
    if factor is not None:
        # The shared factor drives the mid: a walk of the venue's own would be ignored.
        for key in ("vol_bps_per_sqrt_s", "walk_interval_ms"):
            if r.has(key):
                raise ScenarioError(
                    f"{r.path}.{key}",
                    "cannot be combined with [market_factor], which moves the mid",
                )
    else:
        for key in ("informed_share", "informed_horizon_ms", "factor_lag_ms"):
            if r.has(key):
                raise ScenarioError(f"{r.path}.{key}", "needs a [market_factor] table")
    cfg = MarketConfig(
        mid=r.dec("mid", positive=True),
        tick=r.dec("tick", rules.tick_size, positive=True),
        levels=r.integer("levels", 20, lo=1, hi=1000),
        level_size=level_size,
        depth_growth=r.dec("depth_growth", Decimal("0.25"), nonneg=True),
        spread_ticks=r.integer("spread_ticks", 1, lo=1, hi=100_000),
        vol_bps_per_sqrt_s=r.number("vol_bps_per_sqrt_s", 0.0, hi=10_000.0),
        walk_interval_ns=int(r.number("walk_interval_ms", 500.0, lo=1.0, hi=MAX_SECONDS * 1000) * MS),
        trade_rate_per_s=r.number("trade_rate_per_s", 0.0, hi=1000.0),
        trade_size=r.dec("trade_size", Decimal(1), positive=True),
        funding_rate=r.dec("funding_rate", Decimal(0)),
        script=tuple(sorted(script, key=lambda ev: ev.at_ns)),
        level_size_max=level_size_max,
        factor=factor,
        factor_lag_ns=int(r.number("factor_lag_ms", 0.0, hi=_MAX_FACTOR_MS) * MS),
        informed_share=r.number("informed_share", 0.0, hi=1.0),
        informed_horizon_ns=int(
            r.number("informed_horizon_ms", 2000.0, lo=1.0, hi=_MAX_FACTOR_MS) * MS
        ),
    )
    r.done()
    return cfg


def _windows(r: _Reader, key: str) -> tuple[Disconnect, ...]:
    out = []
    for w in r.tables(key):
        out.append(Disconnect(_ms(w, "start_ms", 0.0), _ms(w, "duration_ms", 0.0), w.integer("snapshot_fills", 0, hi=100_000)))
        w.done()
    return tuple(out)


def _op(r: _Reader, key: str) -> str:
    op = r.text(key)
    if op not in REQUEST_OPS:
        raise ScenarioError(f"{r.path}.{key}", f"one of {', '.join(REQUEST_OPS)}; got {op!r}")
    return op


def _lose_answers(r: _Reader) -> tuple[LostMessage, ...]:
    out = []
    for t in r.tables("lose_answers"):
        op = _op(t, "op")
        n = t.integer("n", lo=1)
        kind = t.text("kind", "answer")
        if kind not in ("answer", "request"):
            raise ScenarioError(f"{t.path}.kind", f"answer or request; got {kind!r}")
        t.done()
        out.append(LostMessage(op, n, kind))
    return tuple(out)


def _outages(r: _Reader) -> tuple[Outage, ...]:
    out = []
    for t in r.tables("outages"):
        op = _op(t, "op")
        out.append(Outage(op, _ms(t, "start_ms", 0.0), _ms(t, "duration_ms", 0.0)))
        t.done()
    return tuple(out)


def _faults(r: _Reader) -> FaultConfig:
    rw = r.raw("reject_windows_ms", [])
    if not isinstance(rw, list) or not all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in x)
        for x in rw
    ):
        raise ScenarioError(f"{r.path}.reject_windows_ms", "a list of [from_ms, to_ms] pairs is required")
    cfg = FaultConfig(
        disconnects=_windows(r, "disconnects"),
        p_req_loss=r.number("p_req_loss", 0.0, hi=1.0),
        p_resp_loss=r.number("p_resp_loss", 0.0, hi=1.0),
        p_reject=r.number("p_reject", 0.0, hi=1.0),
        reject_windows=tuple((int(a * MS), int(b * MS)) for a, b in rw),
        request_timeout_ns=_ms(r, "request_timeout_ms", 2000.0),
        feed_stalls=_windows(r, "feed_stalls"),
        p_feed_drop=r.number("p_feed_drop", 0.0, hi=1.0),
        reject_post_only=r.flag("reject_post_only", False),
        lose_answers=_lose_answers(r),
        outages=_outages(r),
        fill_processing_errors=r.integer("fill_processing_errors", 0),
    )
    r.done()
    return cfg


def _limits(r: _Reader) -> RateLimitConfig:
    limits = []
    for t in r.tables("limits"):
        ops = t.raw("ops", [])
        if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
            raise ScenarioError(f"{t.path}.ops", "a list of operation names is required")
        limits.append(
            RateLimit(
                key=t.text("key", "ip"),
                capacity=t.integer("capacity", lo=1),
                refill_per_s=t.number("refill_per_s", 0.0),
                window_ns=_ms(t, "window_ms", 0.0),
                ops=tuple(ops),
            )
        )
        t.done()
    ban = r.raw("ban_after")
    if ban is not None and (isinstance(ban, bool) or not isinstance(ban, int) or ban < 1):
        raise ScenarioError(f"{r.path}.ban_after", "a positive integer is required")
    cfg = RateLimitConfig(limits=tuple(limits), ban_after=ban, ban_ns=_ms(r, "ban_ms", 120_000.0))
    r.done()
    return cfg


def _personality(r: _Reader) -> Personality:
    name = r.text("personality")
    if name not in _PERSONALITIES:
        raise ScenarioError(f"{r.path}.personality", f"one of {', '.join(_PERSONALITIES)}; got {name!r}")
    overrides: dict[str, object] = {}
    if r.has("post_only_mode"):
        mode = r.text("post_only_mode")
        try:
            overrides["post_only_mode"] = PostOnlyMode(mode)
        except ValueError:
            raise ScenarioError(
                f"{r.path}.post_only_mode", f"one of {', '.join(m.value for m in PostOnlyMode)}; got {mode!r}"
            ) from None
    if r.has("modify_new_id"):
        overrides["modify_new_id"] = r.flag("modify_new_id", False)
    return _PERSONALITIES[name](**overrides)


def _venue(r: _Reader, seed: int, factor: MarketFactor | None = None) -> SimVenueConfig:
    name = r.text("name")
    personality = _personality(r)
    profile: LatencyConfig | None = None
    if r.has("latency_profile"):
        pname = r.text("latency_profile")
        try:
            profile = latency_profile(pname)
        except ValueError:
            raise ScenarioError(
                f"{r.path}.latency_profile",
                f"one of {', '.join(p.value for p in LatencyProfile)}; got {pname!r}",
            ) from None
    inst_r = r.table("instrument")
    symbol = inst_r.text("symbol")
    rules = _instrument(inst_r)
    inst_r.done()
    market = _market(r.table("market"), rules, factor)
    queue_r = r.table("queue")
    split = queue_r.text("cancel_split", "tail")
    try:
        queue = QueueConfig(cancel_split=CancelSplit(split))
    except ValueError:
        raise ScenarioError(f"{queue_r.path}.cancel_split", f"tail or proportional; got {split!r}") from None
    queue_r.done()
    fills_r = r.table("fills")
    split_fills = fills_r.integer("split_fills", 1, lo=1, hi=100)
    shared_trade_id = fills_r.flag("shared_trade_id", False)
    if shared_trade_id and split_fills > 1:
        raise ScenarioError(
            f"{fills_r.path}.shared_trade_id", "cannot be combined with split_fills > 1"
        )
    fills = FillConfig(
        max_fill_per_event=fills_r.dec("max_fill_per_event", positive=True) if fills_r.has("max_fill_per_event") else None,
        split_fills=split_fills,
        shared_trade_id=shared_trade_id,
    )
    fills_r.done()
    deliv = r.table("delivery")
    delivery = DeliveryConfig(
        p_dup=deliv.number("p_dup", 0.0, hi=1.0),
        p_holdback=deliv.number("p_holdback", 0.0, hi=1.0),
        p_shuffle=deliv.number("p_shuffle", 0.0, hi=1.0),
        fill_before_ack=deliv.flag("fill_before_ack", False),
    )
    deliv.done()
    cfg = SimVenueConfig(
        name=name,
        personality=personality,
        instruments=(SimInstrument(symbol, rules, market),),
        latency=_latency(r.table("latency"), profile),
        queue=queue,
        fills=fills,
        limits=_limits(r.table("limits")),
        delivery=delivery,
        faults=_faults(r.table("faults")),
        seed=r.integer("seed") if r.has("seed") else _venue_seed(seed, name),
    )
    r.done()
    return cfg


def _order_config(r: _Reader, base: OrderConfig) -> OrderConfig:
    kw: dict[str, Any] = {}
    if r.has("mode"):
        mode = r.text("mode")
        try:
            kw["mode"] = ExecutionMode(mode)
        except ValueError:
            raise ScenarioError(f"{r.path}.mode", f"one of {', '.join(m.value for m in ExecutionMode)}; got {mode!r}") from None
    for key in ("offset_bps", "reprice_tolerance_bps", "market_protection_bps"):
        if r.has(key):
            kw[key] = r.dec(key)
    for key in ("timeout_s", "reprice_check_s", "step_timeout_s", "max_book_age_s"):
        if r.has(key):
            kw[key] = r.number(key, lo=1e-9, hi=MAX_SECONDS)
    for key in ("improve", "market_fallback"):
        if r.has(key):
            kw[key] = r.flag(key, False)
    if r.has("max_post_only_rejects"):
        kw["max_post_only_rejects"] = r.integer("max_post_only_rejects")
    if r.has("ladder_cross_bps"):
        v = r.raw("ladder_cross_bps")
        if not isinstance(v, list):
            raise ScenarioError(f"{r.path}.ladder_cross_bps", "a list of bps is required")
        kw["ladder_cross_bps"] = tuple(
            _Reader({f"[{i}]": x}, f"{r.path}.ladder_cross_bps").dec(f"[{i}]", nonneg=True)
            for i, x in enumerate(v)
        )
    r.done()
    try:
        return dataclasses.replace(base, **kw)
    except ValueError as exc:
        raise ScenarioError(r.path, str(exc)) from None


def _atomic(r: _Reader) -> AtomicConfig:
    base = AtomicConfig()
    kw: dict[str, Any] = {}
    for key in ("max_entry_spread_bps", "slippage_budget_bps", "hedge_threshold"):
        if r.has(key):
            kw[key] = r.dec(key, nonneg=True)
    for key in ("entry_timeout_s", "deadline_s", "max_book_age_s", "settle_timeout_s"):
        if r.has(key):
            kw[key] = r.number(key, lo=1e-9, hi=MAX_SECONDS)
    if r.has("plan"):
        plan = r.text("plan")
        try:
            kw["plan"] = EntryPlan(plan)
        except ValueError:
            raise ScenarioError(f"{r.path}.plan", f"one of {', '.join(p.value for p in EntryPlan)}; got {plan!r}") from None
    if r.has("split"):
        kw["split"] = r.flag("split", True)
    for key, kind in (("hedge_timing", HedgeTiming), ("hedge_pricing", HedgePricing)):
        if r.has(key):
            value = r.text(key)
            try:
                kw[key] = kind(value)
            except ValueError:
                raise ScenarioError(f"{r.path}.{key}", f"one of {', '.join(k.value for k in kind)}; got {value!r}") from None
    if r.has("maker_budget_usd_s"):
        kw["maker_budget_usd_s"] = r.dec("maker_budget_usd_s", nonneg=True)
    for key in ("entry", "hedge", "rollback"):
        if r.has(key):
            kw[key] = _order_config(r.table(key), getattr(base, key))
    r.done()
    try:
        return dataclasses.replace(base, **kw)
    except ValueError as exc:
        raise ScenarioError(r.path, str(exc)) from None


def _close(r: _Reader) -> CloseConfig:
    base = CloseConfig()
    kw: dict[str, Any] = {}
    if r.has("max_exit_spread_bps"):
        kw["max_exit_spread_bps"] = r.dec("max_exit_spread_bps", nonneg=True)
    for key in ("phase1_timeout_s", "deadline_s", "settle_timeout_s"):
        if r.has(key):
            kw[key] = r.number(key, lo=1e-9, hi=MAX_SECONDS)
    for key in ("passive", "phase2", "emergency"):
        if r.has(key):
            kw[key] = _order_config(r.table(key), getattr(base, key))
    r.done()
    return dataclasses.replace(base, **kw)


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validates a scenario given as a mapping (a parsed TOML/JSON document).

    Raises:
        ScenarioError: A missing, unknown or invalid field (``.field`` says where).
    """
    top = _Reader(data, "")
    name = top.text("name", "scenario")
    seed = top.integer("seed", 0)
    factor = _market_factor(top.table("market_factor"), seed) if top.has("market_factor") else None
    venues = tuple(_venue(v, seed, factor) for v in top.tables("venues"))
    if len(venues) < 1:
        raise ScenarioError("venues", "at least one venue is required")
    names = [v.name for v in venues]
    if len(set(names)) != len(names):
        raise ScenarioError("venues", f"venue names must be unique: {names}")
    symbols = {v.name: v.instruments[0].symbol for v in venues}
    positions = []
    for p in top.tables("positions"):
        venue = p.text("venue")
        if venue not in symbols:
            raise ScenarioError(f"{p.path}.venue", f"unknown venue {venue!r}")
        sym = p.text("symbol", symbols[venue])
        if sym != symbols[venue]:
            raise ScenarioError(f"{p.path}.symbol", f"{venue} trades {symbols[venue]!r}, not {sym!r}")
        positions.append(StartPosition(venue, sym, p.dec("size"), p.dec("entry_price", positive=True)))
        p.done()
    op = top.table("operation")
    kind = op.text("kind")
    if kind not in ("open", "close"):
        raise ScenarioError("operation.kind", f"open or close; got {kind!r}")
    legs: list[Any] = []
    for leg in op.tables("legs"):
        venue = leg.text("venue")
        if venue not in symbols:
            raise ScenarioError(f"{leg.path}.venue", f"unknown venue {venue!r}")
        sym = leg.text("symbol", symbols[venue])
        if sym != symbols[venue]:
            raise ScenarioError(f"{leg.path}.symbol", f"{venue} trades {symbols[venue]!r}, not {sym!r}")
        if kind == "open":
            side = leg.text("side")
            if side not in ("buy", "sell"):
                raise ScenarioError(f"{leg.path}.side", f"buy or sell; got {side!r}")
            legs.append(LegSpec(venue, sym, Side(side)))
        else:
            legs.append(CloseLeg(venue, sym))
        leg.done()
    if len(legs) < (2 if kind == "open" else 1):
        raise ScenarioError("operation.legs", "an open needs two legs, a close at least one")
    if len({leg.venue for leg in legs}) != len(legs):
        raise ScenarioError("operation.legs", "one leg per venue")
    size = op.dec("size", positive=True) if kind == "open" else None
    atomic = _atomic(op.table("config")) if kind == "open" and op.has("config") else AtomicConfig()
    close = _close(op.table("config")) if kind == "close" and op.has("config") else CloseConfig()
    start_after = op.number("start_after_s", 1.0, hi=MAX_SECONDS)
    settle = op.number("settle_s", 5.0, hi=MAX_SECONDS)
    op.done()
    top.done()
    return Scenario(
        name=name,
        seed=seed,
        venues=venues,
        positions=tuple(positions),
        kind=kind,
        legs=tuple(legs),
        size=size,
        atomic=atomic,
        close=close,
        start_after_s=start_after,
        settle_s=settle,
    )
