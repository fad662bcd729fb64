"""Lighter's signing, through the venue's own native signer, and its nonces.

Lighter transactions are Schnorr signatures over ECgFp5 with Poseidon2 hashing; the only
signer is the Go library shipped in ``lighter-sdk`` (``lighter/signers/lighter-signer-*``,
Apache-2.0 lighter-go). :class:`LighterSigner` calls its ctypes functions directly, **offline**:
``CreateClient`` (which keeps the key inside the library and does no I/O), then
``SignCreateOrder`` / ``SignCancelOrder`` / ``SignModifyOrder`` / ``SignCancelAllOrders`` /
``SignUpdateLeverage`` / ``CreateAuthToken`` with an **explicit nonce** every time — never the
nonce ``-1`` that makes the library fetch one over HTTP, and never ``CheckClient`` (HTTP too).
Our own transport sends what it signs.

A signature costs about 0.5 ms of C time on a thread of its own and about 1.3 ms on the
process's main thread (the Go runtime reads ``/proc/self/maps`` there on every call; measured:
``benches/live_lighter.py``, docs/lighter.md), too long to hold the event loop either way:
:meth:`LighterSigner.sign` runs it on one worker thread the signer owns (ctypes releases the
GIL). Without the ``lighter`` extra, constructing a signer raises
:class:`~hedgekit.errors.MissingExtraError`.

Nonces (:class:`NonceAllocator`) are sequential per API key: fetched once from ``nextNonce``,
handed out one by one without collision however many coroutines ask, given back only when the
send is known not to have used it and no later one was handed out, and re-fetched otherwise.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hedgekit.errors import InvalidArgumentError, InvalidOrderError, MissingExtraError
from hedgekit.secrets import Secret
from hedgekit.venues.lighter import wire

__all__ = [
    "LighterCredentials",
    "LighterSigner",
    "NonceAllocator",
    "SignedTx",
    "generate_api_key",
]

_TX_EXPIRY_MS = 10 * 60 * 1000 - 1000  # the SDK's default tx deadline: now + 10 min - 1 s


@dataclass(frozen=True, slots=True)
class LighterCredentials:
    """One Lighter API key.

    Attributes:
        account_index: The account (master < 2^47, sub-accounts above).
        api_key_index: The API key's slot (0..254), registered by ChangePubKey.
        private_key: The API key's private key (hex, with or without ``0x``).
        public_key: The key's public key as ``apikeys`` lists it, when known (the signer
            library cannot derive it offline; ``hedgekit check lighter`` compares it).
    """

    account_index: int
    api_key_index: int
    private_key: Secret
    public_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.api_key_index <= 254:
            raise InvalidArgumentError(f"api_key_index {self.api_key_index} is not in 0..254")
        if not 0 <= self.account_index <= 2**48 - 2:
            raise InvalidArgumentError(f"account_index {self.account_index} is out of range")
        if not isinstance(self.private_key, Secret):
            raise InvalidArgumentError("the private key must be a hedgekit.secrets.Secret")

    def __repr__(self) -> str:
        return (
            f"LighterCredentials(account_index={self.account_index}, "
            f"api_key_index={self.api_key_index}, private_key=***)"
        )


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction, ready for ``sendTx``.

    Attributes:
        tx_type: The tx type (14 create, 15 cancel, 17 modify, …).
        tx_info: The JSON the venue receives, as the signer wrote it.
        tx_hash: The tx's hash (hex), as ``GET /api/v1/tx`` finds it.
        nonce: The nonce it was signed with.
    """

    tx_type: int
    tx_info: str
    tx_hash: str
    nonce: int


def _sdk() -> Any:
    """``lighter.signer_client``, imported without the deprecation warnings the SDK's own
    imports raise (its WebSocket client uses the legacy ``websockets`` API)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from lighter import signer_client  # noqa: PLC0415 - the optional extra
    except ImportError as exc:  # pragma: no cover - exercised without the extra only
        raise MissingExtraError("lighter", "the Lighter adapter (its signer)") from exc
    return signer_client


def _library() -> tuple[Any, Callable[[Any], str | None]]:
    signer_client = _sdk()
    try:
        lib = signer_client.get_signer()
    except Exception as exc:  # noqa: BLE001 - "Unsupported platform" and loader errors
        raise MissingExtraError("lighter", f"the Lighter signer on this platform ({exc})") from None
    return lib, signer_client.decode_and_free


def generate_api_key() -> tuple[Secret, str]:
    """A new API key pair from the native signer: the private key (a :class:`Secret`) and
    the public key (hex, as ``apikeys`` lists it; register it with ChangePubKey).

    Raises:
        hedgekit.errors.MissingExtraError: ``lighter-sdk`` is not installed.
    """
    _library()
    priv, pub, err = _sdk().create_api_key()
    if err is not None or priv is None or pub is None:
        raise InvalidArgumentError(f"the Lighter signer made no key: {err}")
    return Secret(str(priv)), str(pub)


class LighterSigner:
    """Signs Lighter transactions for one API key with the native signer, offline.

    Args:
        credentials: The API key.
        url: The REST base (only its host picks the chain id; the library never calls it).
        chain_id: Overrides the chain id (304 mainnet, 300 testnet).

    Raises:
        hedgekit.errors.MissingExtraError: ``lighter-sdk`` is not installed (or has no signer
            for this platform).
        hedgekit.errors.InvalidArgumentError: The library refused the key.
    """

    def __init__(
        self, credentials: LighterCredentials, url: str, *, chain_id: int | None = None
    ) -> None:
        self._lib, self._decode = _library()
        self.account_index = credentials.account_index
        self.api_key_index = credentials.api_key_index
        self.chain_id = chain_id if chain_id is not None else wire.chain_id_for(url)
        key = credentials.private_key.reveal().removeprefix("0x")
        err = self._decode(
            self._lib.CreateClient(
                url.encode(), key.encode(), self.chain_id, self.api_key_index, self.account_index
            )
        )
        if err is not None:
            raise InvalidArgumentError(f"the Lighter signer refused the API key: {err}")
        self._pool: ThreadPoolExecutor | None = None
        self.signed = 0
        """Transactions signed so far."""

    # ------------------------------------------------------------------------ the C calls
    def _tx(self, result: Any, nonce: int) -> SignedTx:
        err = self._decode(result.err)
        info = self._decode(result.txInfo)
        tx_hash = self._decode(result.txHash)
        self._decode(result.messageToSign)
        if err is not None or info is None:
            raise InvalidOrderError(
                f"the Lighter signer refused the transaction: {err}", "out_of_range", str(err)
            )
        self.signed += 1
        return SignedTx(int(result.txType), info, tx_hash or "", nonce)

    def create_order(
        self,
        *,
        market_index: int,
        client_order_index: int,
        base_amount: int,
        price: int,
        is_ask: bool,
        order_type: int,
        time_in_force: int,
        reduce_only: bool,
        order_expiry_ms: int,
        nonce: int,
        trigger_price: int = 0,
    ) -> SignedTx:
        """A CreateOrder (type 14), signed (blocking: about 1 ms; see :meth:`sign`)."""
        r = self._lib.SignCreateOrder(
            market_index, client_order_index, base_amount, price, int(is_ask), order_type,
            time_in_force, int(reduce_only), trigger_price, order_expiry_ms,
            0, 0, 0, 0, 0, 0, nonce, self.api_key_index, self.account_index,
        )  # fmt: skip
        return self._tx(r, nonce)

    def cancel_order(self, *, market_index: int, index: int, nonce: int) -> SignedTx:
        """A CancelOrder (type 15); ``index`` is a client order index or an order index."""
        r = self._lib.SignCancelOrder(
            market_index, index, 0, nonce, self.api_key_index, self.account_index
        )
        return self._tx(r, nonce)

    def modify_order(
        self, *, market_index: int, index: int, base_amount: int, price: int, nonce: int
    ) -> SignedTx:
        """A ModifyOrder (type 17) of a resting limit order."""
        r = self._lib.SignModifyOrder(
            market_index, index, base_amount, price, 0, 0, 0, 0, 0, 0, 0, nonce, 0,
            self.api_key_index, self.account_index,
        )  # fmt: skip
        return self._tx(r, nonce)

    def cancel_all(self, *, time_in_force: int, time_ms: int, nonce: int) -> SignedTx:
        """A CancelAllOrders (type 16): scheduled at ``time_ms`` (the dead-man switch) or the
        scheduled one aborted."""
        r = self._lib.SignCancelAllOrders(
            time_in_force, time_ms, wire.NIL_MARKET, 0, nonce, self.api_key_index,
            self.account_index,
        )  # fmt: skip
        return self._tx(r, nonce)

    def update_leverage(
        self, *, market_index: int, initial_margin_fraction: int, cross: bool, nonce: int
    ) -> SignedTx:
        """An UpdateLeverage (type 20): the initial margin fraction over 10,000."""
        r = self._lib.SignUpdateLeverage(
            market_index, initial_margin_fraction, 0 if cross else 1, 0, nonce,
            self.api_key_index, self.account_index,
        )  # fmt: skip
        return self._tx(r, nonce)

    def auth_token(self, deadline_s: int) -> Secret:
        """An auth token for private reads and channels, valid until ``deadline_s`` (unix s):
        ``"{deadline}:{account}:{key}:{signature}"``, as a :class:`Secret`.

        Raises:
            hedgekit.errors.InvalidArgumentError: The library refused it.
        """
        r = self._lib.CreateAuthToken(deadline_s, self.api_key_index, self.account_index)
        token = self._decode(r.str)
        err = self._decode(r.err)
        if err is not None or token is None:
            raise InvalidArgumentError(f"the Lighter signer made no auth token: {err}")
        return Secret(token)

    # ------------------------------------------------------------------------ off the loop
    async def sign(self, fn: Callable[..., SignedTx], /, **kwargs: Any) -> SignedTx:
        """Runs one of the signing methods on the signer's worker thread (the loop keeps
        running during the ~1 ms of C)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="lighter-signer")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(**kwargs))

    def close(self) -> None:
        """Stops the worker thread (idempotent)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def tx_deadline_ms() -> int:
        """The ``ExpiredAt`` the signer writes: now + 10 min − 1 s (informational)."""
        return time.time_ns() // 1_000_000 + _TX_EXPIRY_MS

    def __repr__(self) -> str:
        return (
            f"LighterSigner(account_index={self.account_index}, "
            f"api_key_index={self.api_key_index}, chain_id={self.chain_id}, key=***)"
        )


class NonceAllocator:
    """The sequential nonces of one API key.

    The first :meth:`take` fetches ``nextNonce``; later ones count up locally. Concurrent
    takers never share a nonce (the counter moves before anyone awaits). :meth:`give_back`
    returns a nonce the venue is known not to have used, but only when nothing after it was
    handed out; otherwise the next take fetches afresh (:meth:`invalidate`), as after an
    ``invalid nonce`` (:meth:`refresh`).

    Args:
        fetch: Reads the venue's next nonce (``GET /api/v1/nextNonce``).
    """

    def __init__(self, fetch: Callable[[], Awaitable[int]]) -> None:
        self._fetch = fetch
        self._next: int | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Times the venue was asked (the first time included)."""
        self.given_back = 0
        """Nonces given back and handed out again."""

    @property
    def peek(self) -> int | None:
        """The nonce the next :meth:`take` hands out, ``None`` until fetched."""
        return self._next

    async def take(self) -> int:
        """The next nonce (fetched from the venue first when unknown)."""
        if self._next is None:
            async with self._lock:
                if self._next is None:
                    self._next = await self._fetch()
                    self.fetches += 1
        n = self._next
        self._next = n + 1
        return n

    def give_back(self, nonce: int) -> bool:
        """Returns ``nonce`` after a send the venue refused without using it. True when it is
        handed out again; False when a later nonce was handed out meanwhile (the counter is
        then re-fetched before the next take)."""
        if self._next == nonce + 1:
            self._next = nonce
            self.given_back += 1
            return True
        self._next = None
        return False

    def invalidate(self) -> None:
        """Forgets the counter: the next :meth:`take` asks the venue (after a send whose
        outcome is unknown)."""
        self._next = None

    async def refresh(self) -> int:
        """Re-reads the venue's next nonce now (after ``invalid nonce``) and returns it."""
        async with self._lock:
            self._next = await self._fetch()
            self.fetches += 1
            return self._next
