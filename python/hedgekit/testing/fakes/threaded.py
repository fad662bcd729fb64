"""Run a fake venue on its own event loop in a background thread, for synchronous clients.

Official SDKs such as ``hyperliquid-python-sdk`` block; a test that drives one can keep the
fake on a loop of its own::

    with ServerThread(FakeHyperliquid, accounts=[wallet.address]) as server:
        exchange = Exchange(wallet, server.url)
        server.call(lambda fake: fake.move_price("ETH", Decimal(3010)))

Every call into the fake crosses to its loop (:meth:`ServerThread.call`) and is bounded by a
timeout; :meth:`ServerThread.stop` stops the fake (cancelling everything it owns) and joins the
thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["AsyncServer", "ServerThread"]


class AsyncServer(Protocol):
    """What :class:`ServerThread` needs of a fake: async start and stop, and a URL."""

    async def start(self) -> None:
        """Starts serving."""

    async def stop(self) -> None:
        """Stops serving and frees everything."""

    @property
    def url(self) -> str:
        """The base URL."""
        ...


S = TypeVar("S", bound=AsyncServer)
R = TypeVar("R")
T = TypeVar("T")


class ServerThread(Generic[S]):
    """A fake on its own loop in a daemon thread.

    Args:
        factory: Builds the fake (called on the fake's loop, so it may create asyncio objects).
        *args: Passed to ``factory``.
        timeout: Seconds any one start, call or stop may take.
        **kwargs: Passed to ``factory``.
    """

    def __init__(
        self, factory: Callable[..., S], *args: Any, timeout: float = 30.0, **kwargs: Any
    ) -> None:
        self._factory = factory
        self._args = args
        self._kwargs = kwargs
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fake-venue", daemon=True)
        self._server: S | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def start(self) -> ServerThread[S]:
        """Starts the thread and the fake; returns when it serves.

        Raises:
            TimeoutError: It did not start within the timeout.
        """
        self._thread.start()

        async def boot() -> S:
            server = self._factory(*self._args, **self._kwargs)
            await server.start()
            return server

        self._server = self._submit(boot())
        return self

    def stop(self) -> None:
        """Stops the fake and the thread (idempotent)."""
        if self._server is not None:
            server, self._server = self._server, None
            self._submit(server.stop())
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self._timeout)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    @property
    def server(self) -> S:
        """The fake (touch it only through :meth:`call` while it runs).

        Raises:
            RuntimeError: Not started.
        """
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server

    @property
    def url(self) -> str:
        """The fake's base URL."""
        return self.server.url

    def call(self, fn: Callable[[S], R]) -> R:
        """Runs ``fn(fake)`` on the fake's loop and returns its result.

        Raises:
            TimeoutError: It did not return within the timeout.
        """
        server = self.server

        async def run() -> R:
            return fn(server)

        return self._submit(run())

    def _submit(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self._timeout)
        except TimeoutError:
            future.cancel()
            raise

    def __enter__(self) -> ServerThread[S]:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
