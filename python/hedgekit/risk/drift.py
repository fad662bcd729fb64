"""Drift between the legs of a held pair: found from the venues' own positions, confirmed by a
second read, repaired by a per-pair policy, every step journalled.

Legs come apart after the open for reasons no order of ours explains: a venue auto-deleverages
or liquidates one leg, someone trades the account by hand, a fill is never seen. A single read
can catch an open or a close half way (one leg filled, its hedge on the wire), so a gap is acted
on only when a second read, ``confirm_after_s`` later, shows the same gap. Then the pair's
:class:`DriftPolicy` decides:

- ``rehedge``: the larger leg is reduced to the smaller by reduce-only protected IOCs (a repair
  never adds exposure, whatever raced it);
- ``flatten``: both legs are closed (:class:`~hedgekit.execution.CloseExecutor`);
- ``adopt``: the new sizes are accepted and recorded;
- ``halt``: an alert, and the kill switch (if given) is latched so no new open starts — the
  positions are left for a person to judge.

A gap below a venue's minimum order is dust: reported, never traded. Each repair is an
operation of its own in the journal (kind ``"repair"``) with its orders journalled ahead, and
each confirmed drift is an :class:`~hedgekit.risk.alerts.Alert` of kind ``"drift"``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError, VenueError
from hedgekit.execution.close import CloseExecutor
from hedgekit.execution.config import CloseConfig, CloseLeg, ExecutionMode, OrderConfig
from hedgekit.execution.kill import KillSwitch
from hedgekit.execution.operation import OperationExecutor, OperationTap
from hedgekit.execution.recorder import JournalLike, OperationRecorder, finish_recording
from hedgekit.execution.results import CloseResult, ExecutionResult
from hedgekit.model import Side
from hedgekit.risk.alerts import Alert, AlertHub
from hedgekit.tracking import VenueSession

__all__ = ["Drift", "DriftConfig", "DriftMonitor", "DriftPolicy", "PairLegs", "Repair"]

_log = logging.getLogger(__name__)
_ZERO = Decimal(0)
_S = 1_000_000_000


class DriftPolicy(enum.StrEnum):
    """What to do with a confirmed drift."""

    REHEDGE = "rehedge"
    """Reduce the larger leg to the smaller (reduce-only)."""
    FLATTEN = "flatten"
    """Close both legs."""
    ADOPT = "adopt"
    """Accept the new sizes and record them."""
    HALT = "halt"
    """Alert, latch the kill switch (no new opens), leave the positions."""


@dataclass(frozen=True, slots=True)
class PairLegs:
    """A held pair: the long leg and the short leg, where they live.

    Attributes:
        name: The pair's name (alerts and the journal use it).
        long_venue: The venue of the long leg.
        long_symbol: Its symbol there.
        short_venue: The venue of the short leg (a different venue).
        short_symbol: Its symbol there.
    """

    name: str
    long_venue: str
    long_symbol: str
    short_venue: str
    short_symbol: str

    def __post_init__(self) -> None:
        if self.long_venue == self.short_venue:
            raise ValueError("the legs of a pair are on different venues")
        for field_name in ("name", "long_venue", "long_symbol", "short_venue", "short_symbol"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{field_name} must be non-empty text, got {value!r}")


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """How drift is confirmed and repaired.

    Attributes:
        policy: What to do with a confirmed drift.
        confirm_after_s: The second read is taken this long after the first; the drift is
            confirmed only if it shows the same gap.
        read_timeout_s: Per positions read (``None``: the session's request timeout).
        repair: The reduce-only order configuration of ``rehedge`` (protected IOCs).
        close: The close configuration of ``flatten``.
        deadline_s: How long a ``rehedge`` may take.
    """

    policy: DriftPolicy = DriftPolicy.REHEDGE
    confirm_after_s: float = 2.0
    read_timeout_s: float | None = None
    repair: OrderConfig = OrderConfig(
        mode=ExecutionMode.MARKET_ONLY, market_protection_bps=Decimal(100)
    )
    close: CloseConfig = CloseConfig()
    deadline_s: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", DriftPolicy(self.policy))
        for name in ("confirm_after_s", "deadline_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise ValueError(
                    f"{name} must be a positive finite number of seconds, got {value!r}"
                )


@dataclass(frozen=True, slots=True)
class Drift:
    """Two reads of a pair's legs.

    Attributes:
        pair: The pair.
        long_size: The long leg's signed size at the second read (the first, if unconfirmed).
        short_size: The short leg's signed size (negative when short).
        gap: ``long_size + short_size``: positive when the long leg is the larger.
        confirmed: Both reads showed this gap.
        dust: The gap is below the minimum order of the venue that would trade it.
        ts_ns: When the last read was taken.
    """

    pair: PairLegs
    long_size: Decimal
    short_size: Decimal
    gap: Decimal
    confirmed: bool
    dust: bool
    ts_ns: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "pair": self.pair.name, "long_venue": self.pair.long_venue, "short_venue": self.pair.short_venue,
            "long_size": str(self.long_size), "short_size": str(self.short_size), "gap": str(self.gap),
            "confirmed": self.confirmed, "dust": self.dust, "ts_ns": self.ts_ns,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Repair:
    """What a confirmed drift's policy did.

    Attributes:
        drift: The drift.
        policy: The policy applied.
        status: ``"repaired"`` (the legs match again, by a read after the repair),
            ``"adopted"``, ``"halted"``, or ``"failed"`` (the legs still differ).
        after: The legs' sizes read after the repair (``None`` if the read failed).
        result: The reduce-only execution (``rehedge``) or the close (``flatten``).
        op_id: The repair's operation id in the journal.
    """

    drift: Drift
    policy: DriftPolicy
    status: str
    after: tuple[Decimal, Decimal] | None
    result: ExecutionResult | CloseResult | None = None
    op_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the journal's result record)."""
        return {
            "drift": self.drift.to_dict(),
            "policy": self.policy.value,
            "status": self.status,
            "after": None if self.after is None else [str(x) for x in self.after],
            "result": None if self.result is None else self.result.to_dict(),
        }


class DriftMonitor(OperationExecutor):
    """Finds, confirms and repairs drift between a pair's legs.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name (both legs'
            venues).
        clock: Our clock (default: the first session's).
        config: Confirmation and repair policy.
        journal: Where each repair is recorded (operation kind ``"repair"``).
        alerts: Told of every confirmed drift (kind ``"drift"``).
        kill_switch: Latched by the ``halt`` policy.
        id_prefix: Prefix of the repair orders' client ids.
    """

    def __init__(
        self,
        sessions: dict[str, VenueSession],
        *,
        clock: Clock | None = None,
        config: DriftConfig | None = None,
        journal: JournalLike | None = None,
        alerts: AlertHub | None = None,
        kill_switch: KillSwitch | None = None,
        id_prefix: str = "hk",
    ) -> None:
        super().__init__(
            sessions, clock=clock, id_prefix=id_prefix, journal=journal, starts_per_turn=None
        )
        self.config = config or DriftConfig()
        self.alerts = alerts
        self.kill_switch = kill_switch

    async def _read(self, pair: PairLegs) -> tuple[Decimal, Decimal]:
        timeout = self.config.read_timeout_s

        async def one(venue: str, symbol: str) -> Decimal:
            positions = await self.sessions[venue].fetch_positions(timeout)
            p = positions.get(symbol)
            return _ZERO if p is None else p.size

        long_, short = await asyncio.gather(
            one(pair.long_venue, pair.long_symbol), one(pair.short_venue, pair.short_symbol)
        )
        return long_, short

    def _is_dust(self, pair: PairLegs, gap: Decimal) -> bool:
        """Whether the larger leg cannot be reduced by ``gap`` (the long sells it, the short
        buys it back): below its venue's minimum at the reducing order's price."""
        venue, symbol = (
            (pair.long_venue, pair.long_symbol)
            if gap > 0
            else (pair.short_venue, pair.short_symbol)
        )
        return self.executors[venue].unwind_is_dust(
            symbol, gap, self.config.repair.market_protection_bps
        )

    async def check(self, pair: PairLegs) -> Drift | None:
        """Reads the legs twice, ``confirm_after_s`` apart. ``None`` when the first read shows
        them matched; else the drift, ``confirmed`` only when the second read shows the same
        gap.

        Raises:
            hedgekit.errors.VenueError: A venue refused or failed a read.
            TimeoutError: A read got no answer in time.
        """
        long_, short = await self._read(pair)
        gap = long_ + short
        if gap == 0:
            return None
        await asyncio.sleep(self.config.confirm_after_s)
        long2, short2 = await self._read(pair)
        gap2 = long2 + short2
        confirmed = gap2 == gap and long2 == long_ and short2 == short
        now = self.clock.now_ns()
        if gap2 == 0:
            return Drift(pair, long_, short, gap, False, False, now)
        drift = Drift(pair, long2, short2, gap2, confirmed, self._is_dust(pair, gap2), now)
        if confirmed:
            _log.warning("%s: legs apart by %s (long %s, short %s)", pair.name, gap2, long2, short2)
            if self.alerts is not None:
                self.alerts.emit(
                    Alert(
                        "drift", pair.name, (pair.long_venue, pair.short_venue),
                        {"long": long2, "short": short2, "gap": gap2},
                        f"{pair.name}: legs apart by {gap2}" + (" (dust)" if drift.dust else ""), now,
                    )
                )  # fmt: skip
        return drift

    async def repair(self, drift: Drift) -> Repair:
        """Applies the policy to a confirmed drift (an unconfirmed one or dust is left alone:
        status ``"adopted"`` with nothing traded).

        Raises:
            hedgekit.execution.recorder.JournalWriteError: With a journal, the repair's intent
                could not be written (nothing was sent).
        """
        pair, policy = drift.pair, self.config.policy
        if not drift.confirmed or drift.dust:
            return Repair(drift, policy, "adopted", (drift.long_size, drift.short_size))
        recorder = None
        if self.journal is not None:
            recorder = await OperationRecorder.start(
                self.journal, "repair",
                [{"venue": pair.long_venue, "symbol": pair.long_symbol, "side": "buy"},
                 {"venue": pair.short_venue, "symbol": pair.short_symbol, "side": "sell"}],
                {"pair": pair.name, "policy": policy.value, "drift": drift.to_dict(), "id_prefix": self.id_prefix},
                self.clock,
            )  # fmt: skip
        try:
            out = await self._apply(drift, recorder)
        except BaseException:
            if recorder is not None:
                await recorder.close()
            raise
        if recorder is not None:
            out = Repair(out.drift, out.policy, out.status, out.after, out.result, recorder.op_id)
            await finish_recording(recorder, out.status, out)
        return out

    async def _apply(self, drift: Drift, recorder: OperationRecorder | None) -> Repair:
        pair, policy, cfg = drift.pair, self.config.policy, self.config
        if policy is DriftPolicy.ADOPT:
            if recorder is not None:
                recorder.add("note", {"adopted": drift.to_dict()})
            return Repair(drift, policy, "adopted", (drift.long_size, drift.short_size))
        if policy is DriftPolicy.HALT:
            if self.kill_switch is not None:
                self.kill_switch.latch(f"{pair.name}: legs apart by {drift.gap}")
            if self.alerts is not None:
                self.alerts.emit(
                    Alert(
                        "kill_switch", pair.name, (pair.long_venue, pair.short_venue), {"gap": drift.gap},
                        f"{pair.name}: halted on drift of {drift.gap}; positions left for review", self.clock.now_ns(),
                    )
                )  # fmt: skip
            return Repair(drift, policy, "halted", (drift.long_size, drift.short_size))
        result: ExecutionResult | CloseResult
        if policy is DriftPolicy.FLATTEN:
            closer = CloseExecutor(self.sessions, clock=self.clock, id_prefix=self.id_prefix)
            result = await closer.close(
                [
                    CloseLeg(pair.long_venue, pair.long_symbol),
                    CloseLeg(pair.short_venue, pair.short_symbol),
                ],
                cfg.close,
            )
        else:
            tap = OperationTap(self.sessions, recorder=recorder)
            try:
                if drift.gap > 0:
                    venue, symbol, side = pair.long_venue, pair.long_symbol, Side.SELL
                else:
                    venue, symbol, side = pair.short_venue, pair.short_symbol, Side.BUY
                result = await self.executors[venue].execute(
                    symbol, side, abs(drift.gap), cfg.repair, reduce_only=True,
                    deadline_s=cfg.deadline_s, tag="d", observer=tap, role="repair",
                )  # fmt: skip
                await self.settle_orders(tap, cfg.deadline_s)
            finally:
                tap.close()
        try:
            after: tuple[Decimal, Decimal] | None = await self._read(pair)
        except (VenueError, TimeoutError, HedgekitError):
            after = None
        if after is None:
            status = "failed"
        elif policy is DriftPolicy.FLATTEN:
            status = "repaired" if after == (_ZERO, _ZERO) else "failed"
        else:
            gap = after[0] + after[1]
            status = "repaired" if gap == 0 or self._is_dust(pair, gap) else "failed"
        return Repair(drift, policy, status, after, result)

    async def step(self, pair: PairLegs) -> Repair | None:
        """One check and, for a confirmed drift, its repair. ``None`` when the legs match (or
        a read failed: logged, nothing done — a read that fails is no evidence of drift)."""
        try:
            drift = await self.check(pair)
        except (VenueError, TimeoutError) as exc:
            _log.warning("%s: positions read failed, drift not checked: %r", pair.name, exc)
            return None
        if drift is None or not drift.confirmed:
            return None
        return await self.repair(drift)
