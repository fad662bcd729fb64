"""What the harnesses of the live adapters over their wire-level fakes share:
:class:`WireHarness`.

One fake server and one connected adapter per test, on a fresh event loop bounded in time; the
request count, the socket faults (drop, silence and restore), a lost answer, the cancel-fill
race and accept-then-cancel, all through the fake's
:class:`~hedgekit.testing.fakes.faults.WireFaults`. A venue's harness adds how it builds the
pair (its ``start``), the outside world, the venue's truth and which socket a
silence is judged on (:meth:`WireHarness.watched_socket`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from hedgekit.testing.fakes.server import FakeServer
from hedgekit.venues.base import Venue
from hedgekit.venues.transport import WsClient

__all__ = ["WireHarness"]

_T = TypeVar("_T")
F = TypeVar("F", bound=FakeServer)
V = TypeVar("V", bound=Venue)


class WireHarness(Generic[F, V]):
    """The shared half of a harness over a wire-level fake (``F``) and an adapter (``V``).

    Args:
        seed: Seeds the fake and the reconnect jitter.
        limit_s: The most seconds one test may take.

    Attributes:
        lost_answer_kinds: The fake's request kinds whose next answer
            :meth:`lose_next_answer` loses.
    """

    lost_answer_kinds: tuple[str, ...] = ("exchange",)

    def __init__(self, seed: int = 5, *, limit_s: float = 30.0) -> None:
        self.seed = seed
        self.limit_s = limit_s
        self._fake: F | None = None
        self._venue: V | None = None
        self._silences = 0

    def run(self, main: Callable[[], Awaitable[_T]]) -> _T:
        """Runs ``main()`` on a fresh event loop, at most ``limit_s`` seconds."""

        async def bounded() -> _T:
            async with asyncio.timeout(self.limit_s):
                return await main()

        return asyncio.run(bounded())

    @property
    def fake(self) -> F:
        """The fake of the running test.

        Raises:
            RuntimeError: Not started.
        """
        if self._fake is None:
            raise RuntimeError("the harness is not started")
        return self._fake

    @property
    def venue(self) -> V:
        """The adapter of the running test.

        Raises:
            RuntimeError: Not started.
        """
        if self._venue is None:
            raise RuntimeError("the harness is not started")
        return self._venue

    def watched_socket(self) -> WsClient:
        """The adapter's socket whose silence :meth:`restore_stream` waits to be noticed."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Closes the adapter, then the fake."""
        venue, fake = self._venue, self._fake
        self._venue = self._fake = None
        try:
            if venue is not None:
                await venue.close()
        finally:
            if fake is not None:
                await fake.stop()

    async def requests_received(self) -> int:
        """Requests the fake received (HTTP, and transactions over its sockets)."""
        return self.fake.requests

    async def drop_stream(self) -> None:
        """Aborts every WebSocket of the fake."""
        self.fake.faults.drop_ws()

    async def silence_stream(self) -> None:
        """The fake's sockets stay open and send nothing."""
        self._silences = self.watched_socket().silences
        self.fake.faults.silence_ws()

    async def restore_stream(self) -> None:
        """Waits (at most 5 s) until the adapter has replaced the silent socket, then lets the
        fake send again."""
        client = self.watched_socket()
        try:
            for _ in range(250):  # 5 s
                if client.silences > self._silences:
                    break
                await asyncio.sleep(0.02)
        finally:
            self.fake.faults.resume_ws()

    async def lose_next_answer(self, op: str) -> None:
        """The fake applies the next action and never answers it (place and cancel are one
        kind of request on the wire)."""
        del op
        self.fake.faults.lose_answer(1, kinds=self.lost_answer_kinds)

    async def race_next_cancel(self) -> None:
        """The fake fills the order before answering the next cancel; the fill's events
        follow 0.2 s after the answer."""
        self.fake.faults.cancel_fill_race(1, event_delay_s=0.2)

    async def cancel_next_accepted(self) -> None:
        """The fake shows the next resting order accepted, then cancels it 50 ms later."""
        self.fake.faults.accept_then_cancel(1, delay_s=0.05)
