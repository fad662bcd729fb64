"""Signing glue: an action → a signed ``/exchange`` body, with the Rust core's
:class:`~hedgekit._core.EthSigner` and its per-signer :class:`~hedgekit._core.NonceAllocator`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from hedgekit._core import EthSigner, NonceAllocator
from hedgekit.secrets import Secret
from hedgekit.venues.hyperliquid.wire import exchange_body

__all__ = ["ActionSigner"]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ActionSigner:
    """Signs Hyperliquid L1 actions for one signer (an agent wallet, or the master itself).

    Nonces are strictly increasing per signer (``max(last + 1, now_ms)``), so concurrent
    orders never collide (venue-adapters.md §6.1). The key is read from its
    :class:`~hedgekit.secrets.Secret` once, into the Rust signer; it is never kept in Python.

    Args:
        key: The signer's private key (hex, with or without ``0x``).
        vault_address: The vault or sub-account acted for, or ``None``.
        is_mainnet: Phantom-agent source ``"a"`` (mainnet) or ``"b"`` (anything else).
        now_ms: Wall-clock milliseconds (nonces must be near the venue's time).
    """

    def __init__(
        self,
        key: Secret,
        *,
        vault_address: str | None = None,
        is_mainnet: bool = False,
        now_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        try:
            raw = bytes.fromhex(key.reveal().removeprefix("0x"))
        except ValueError:
            raise ValueError("the signing key is not hex") from None
        self._signer = EthSigner(raw)
        self._nonces = NonceAllocator()
        self.vault_address = vault_address.lower() if vault_address else None
        self.is_mainnet = is_mainnet
        self._now_ms = now_ms

    @property
    def address(self) -> str:
        """The signer's address (an agent's, when trading through one)."""
        return self._signer.address

    def sign(self, action: dict[str, Any], *, expires_in_ms: int | None = None) -> dict[str, Any]:
        """The ``/exchange`` body for ``action``, signed with a fresh nonce.

        Args:
            action: An L1 action, keys in the venue's order.
            expires_in_ms: Stamps a deadline: ``expiresAfter`` is the nonce (the signer's
                wall-clock ms) plus this, signed and sent; the venue refuses the action once
                its time is past it. ``None``: no deadline (``expiresAfter: null``).

        Raises:
            ValueError: A negative ``expires_in_ms``.
        """
        if expires_in_ms is not None and expires_in_ms < 0:
            raise ValueError(f"expires_in_ms must be >= 0, got {expires_in_ms}")
        nonce = self._nonces.next(self._now_ms())
        expires_after = None if expires_in_ms is None else nonce + expires_in_ms
        sig = self._signer.sign_hl_l1_action(
            orjson.dumps(action), nonce, self.vault_address, expires_after, self.is_mainnet
        )
        return exchange_body(action, nonce, sig, self.vault_address, expires_after)

    def __repr__(self) -> str:
        return f"ActionSigner(address={self.address}, vault={self.vault_address})"
