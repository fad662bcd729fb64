"""Helpers for the Hyperliquid fake's tests: wallets, a fake in a thread, bounded waits."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import eth_account
from eth_account.signers.local import LocalAccount

from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.testing.fakes.threaded import ServerThread

D = Decimal


def wallet(name: str) -> LocalAccount:
    """A deterministic wallet per name."""
    key = hashlib.sha256(f"hedgekit-hl-fake-{name}".encode()).hexdigest()
    return eth_account.Account.from_key("0x" + key)


@contextmanager
def fake_in_thread(*accounts: str, **kwargs: Any) -> Iterator[ServerThread[FakeHyperliquid]]:
    """A :class:`FakeHyperliquid` on its own loop (the SDK blocks), books every 0.05 s."""
    kwargs.setdefault("book_interval_s", 0.05)
    with ServerThread(FakeHyperliquid, accounts=list(accounts), timeout=20.0, **kwargs) as server:
        yield server
        assert server.call(lambda fake: fake.state.check_invariants()) == []


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Polls ``predicate`` every 10 ms for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class Inbox:
    """Collects WebSocket messages the SDK's thread delivers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []

    def __call__(self, message: Any) -> None:
        with self._lock:
            self.messages.append(message)

    def on(self, channel: str) -> list[dict[str, Any]]:
        """The messages received on ``channel`` so far."""
        with self._lock:
            return [m for m in self.messages if m.get("channel") == channel]
