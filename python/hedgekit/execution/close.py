"""``CloseExecutor``: close a pair, maker first, with a safe escalation (``DESIGN.md``, "Closing a
pair").

1. Read every leg's live position, retrying until the close's deadline: a position that cannot be
   read is unknown, never flat, and nothing is traded until every leg is known. A leg that is
   missing while another is open is an emergency: the survivor is flattened at once (reduce-only,
   no coordination).
2. Phase 1: post-only, reduce-only orders on every leg, the exit spread re-checked right before
   placement. It ends when one leg is flat, or at its timeout.
3. Phase 2 on what remains by fresh truth (the positions read again, or, when they cannot be read,
   the first read minus this close's own fills): each leg is closed with the break-even price
   first (against the other leg's close), then the ladder, then a protected IOC, and worked again
   on fresh books until flat, dust or the deadline. Legs of unequal size each close to flat; a
   remainder below the venue's minimum is dust, valued at a real price (the book's mid, else the
   venue's mark for the leg's symbol, the last mid seen, or the entry price; with none of them it
   is not dust).
4. The positions are read again at the end: the result reports what the venues say, and a leg
   whose position could not be read leaves the close ``exposed``, never ``closed``.

Each call of :meth:`CloseExecutor.close` is one :class:`~hedgekit.execution.closing.Closing`
holding that close's state; the executor holds only what its closes share, so closes may run at
once on one executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hedgekit.errors import VenueError
from hedgekit.execution.closing import Closing, attempt_s, read_position
from hedgekit.execution.config import CloseConfig, CloseLeg
from hedgekit.execution.operation import OperationExecutor
from hedgekit.execution.recorder import OperationRecorder, finish_recording
from hedgekit.execution.results import CloseResult

__all__ = ["CloseExecutor"]

_ZERO = Decimal(0)


class CloseExecutor(OperationExecutor):
    """Closes pairs across venues. Each close is its own
    :class:`~hedgekit.execution.closing.Closing`: closes may run at once on one executor (two
    pairs, or two symbols on the same venues), each with its own deadline and prices.

    Args:
        sessions: A started :class:`~hedgekit.tracking.VenueSession` per venue name.
        clock: Our clock (default: the first session's).
        id_prefix: Prefix of generated client ids.
        journal: Where every close's intent, orders, answers, fills, incidents and result are
            written before ``close`` returns.
        markouts: Samples the mid after each maker fill and journals the markouts.
        starts_per_turn: How many closes may start per event-loop turn (``None``: no limit).
    """

    async def positions(self, legs: Sequence[CloseLeg], attempts: int = 3) -> dict[str, Decimal]:
        """Signed position per leg's venue, read from the venues (flat when not listed).

        Each attempt is bounded by the venue's request timeout.

        Raises:
            hedgekit.errors.VenueError: A venue did not answer after ``attempts`` tries.
            TimeoutError: A venue's last attempt got no answer in time.
        """

        async def one(leg: CloseLeg) -> Decimal:
            session = self.sessions[leg.venue]
            err: BaseException | None = None
            for _ in range(max(attempts, 1)):
                try:
                    pos = await read_position(session, leg.symbol, attempt_s(session))
                    return _ZERO if pos is None else pos.size
                except (VenueError, TimeoutError) as exc:
                    err = exc
            assert err is not None
            raise err

        sizes = await asyncio.gather(*(one(leg) for leg in legs))
        return {leg.venue: s for leg, s in zip(legs, sizes, strict=True)}

    async def close(
        self,
        legs: Sequence[CloseLeg],
        config: CloseConfig | None = None,
        *,
        note: dict[str, Any] | None = None,
    ) -> CloseResult:
        """Closes every leg to flat.

        Args:
            legs: The legs, one per venue.
            config: Spread gate, phase timeouts and modes.
            note: Extra facts journalled with the intent (why the pair is closed).

        Returns:
            What the venues' positions were before and are after, the closing fills and costs.
            ``closed`` only when a final read of every leg found it flat (or dust); a leg whose
            position could not be read is named in an incident and the status is ``exposed``.

        Raises:
            ValueError: No legs, or a repeated venue.
            KeyError: A venue without a session.
        """
        cfg = config or CloseConfig()
        if not legs or len({leg.venue for leg in legs}) != len(legs):
            raise ValueError("give one leg per venue")
        await self.admission.enter()
        recorder = None
        if self.journal is not None:
            recorder = await OperationRecorder.start(
                self.journal,
                "close",
                [{"venue": leg.venue, "symbol": leg.symbol} for leg in legs],
                {"id_prefix": self.id_prefix, **(note or {})},
                self.clock,
            )
        try:
            result = await Closing(self, legs, cfg, recorder).run()
        except BaseException:
            if recorder is not None:
                await recorder.close()  # keep what can be written; the writer never leaks
            raise
        if recorder is not None:
            await finish_recording(recorder, result.status.value, result)
        return result
