"""Aster's two authentication schemes, chosen by the credentials:

* **V3** (API wallet, :meth:`AsterCredentials.v3`): ``user``, ``signer`` and a microsecond
  ``nonce`` are added to the parameters, the url-encoded parameter string is signed as EIP-712
  ``Message(string msg)`` in the domain ``AsterSignTransaction``/``1``/chain 1666 by the Rust
  core's :class:`~hedgekit._core.EthSigner`, and ``signature=0x…`` is appended
  (venue-adapters.md §2.1). Parameters are sorted by key, which satisfies both readings of the
  docs (venues.md §2.13: the server verifies the string as it was sent).
* **V1** (API key, :meth:`AsterCredentials.v1`): ``timestamp`` (ms) and ``recvWindow`` are added,
  ``signature`` is the hex HMAC-SHA256 of the query string concatenated with the body, and the
  key goes in the ``X-MBX-APIKEY`` header.

Secrets are :class:`~hedgekit.secrets.Secret`: never in a repr, a log or an error.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from hedgekit._core import EthSigner, NonceAllocator
from hedgekit.secrets import Secret

__all__ = [
    "ASTER_CHAIN_ID",
    "ASTER_DOMAIN",
    "AsterCredentials",
    "HmacSigner",
    "RequestSigner",
    "SignedRequest",
    "WalletSigner",
    "encode",
    "hmac_signature",
    "signer_for",
]

ASTER_DOMAIN = ("AsterSignTransaction", "1")
"""The EIP-712 domain name and version of V3 requests."""
ASTER_CHAIN_ID = 1666
"""The EIP-712 chain id of V3 requests on mainnet (the demo's testnet uses 714)."""

Params = Sequence[tuple[str, str]]


_SAFE = ":/!$'()*,?@"


def encode(params: Params) -> str:
    """``params`` url-encoded as they go on the wire: the characters an HTTP client leaves
    unquoted in a query (``:/!$'()*,?@``) are not quoted, so the string signed is the string
    the venue receives, byte for byte."""
    return urlencode(list(params), safe=_SAFE)


def _wall_us() -> int:
    return time.time_ns() // 1_000


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class AsterCredentials:
    """Who trades, and how requests are authenticated (build with :meth:`v3` or :meth:`v1`).

    Attributes:
        scheme: ``"v3"`` (API wallet, EIP-712) or ``"v1"`` (API key, HMAC).
        user: V3: the main wallet's address (the account).
        signer_key: V3: the API wallet's private key.
        api_key: V1: the API key (sent in the ``X-MBX-APIKEY`` header).
        api_secret: V1: the HMAC secret.
        chain_id: V3: the EIP-712 chain id (1666 mainnet, 714 testnet).
    """

    scheme: str
    user: str | None = None
    signer_key: Secret | None = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    chain_id: int = ASTER_CHAIN_ID

    @classmethod
    def v3(
        cls, user: str, signer_key: Secret, *, chain_id: int = ASTER_CHAIN_ID
    ) -> AsterCredentials:
        """An API wallet (``signer_key``) trading for the main wallet ``user``."""
        return cls("v3", user=user, signer_key=signer_key, chain_id=chain_id)

    @classmethod
    def v1(cls, api_key: Secret, api_secret: Secret) -> AsterCredentials:
        """A legacy API key and its HMAC secret."""
        return cls("v1", api_key=api_key, api_secret=api_secret)

    def __repr__(self) -> str:
        if self.scheme == "v3":
            return f"AsterCredentials(v3, user={self.user!r}, signer_key={self.signer_key!r})"
        return f"AsterCredentials(v1, api_key={self.api_key!r}, api_secret={self.api_secret!r})"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What goes on the wire for one signed request.

    Attributes:
        payload: The url-encoded parameters, ``signature`` last (the query string of a GET,
            the form body otherwise).
        headers: Headers to add (V1: the API key).
    """

    payload: str
    headers: dict[str, str]


def hmac_signature(secret: str, total_params: str) -> str:
    """V1: hex HMAC-SHA256 of ``total_params`` (query string + body) under ``secret``."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


class RequestSigner:
    """Signs one request's parameters (the base of :class:`WalletSigner` and
    :class:`HmacSigner`)."""

    version = "v3"
    """The path version: ``"v3"`` or ``"v1"``."""

    def sign(self, params: Params) -> SignedRequest:
        """The wire form of ``params`` (business parameters in the order given)."""
        raise NotImplementedError

    def key_headers(self) -> dict[str, str]:
        """Headers of an endpoint that needs only the key (V1 ``listenKey``)."""
        return {}

    @property
    def keyed_listen_key(self) -> bool:
        """True when ``listenKey`` requests carry only the key header (V1), not a signature."""
        return False


class WalletSigner(RequestSigner):
    """V3: EIP-712 over the sorted, url-encoded parameters, with strictly increasing
    microsecond nonces (two requests in the same microsecond, or a clock stepping back, never
    share one: the server rejects a duplicate and keeps only the last 100).

    Args:
        user: The main wallet's address.
        key: The API wallet's private key.
        chain_id: The EIP-712 chain id.
        now_us: Wall-clock microseconds (nonces must be within 10 s of the venue's time).
    """

    version = "v3"

    def __init__(
        self,
        user: str,
        key: Secret,
        *,
        chain_id: int = ASTER_CHAIN_ID,
        now_us: Callable[[], int] = _wall_us,
    ) -> None:
        try:
            raw = bytes.fromhex(key.reveal().removeprefix("0x"))
        except ValueError:
            raise ValueError("the signing key is not hex") from None
        self._signer = EthSigner(raw)
        self._nonces = NonceAllocator()
        self.user = user
        self.chain_id = chain_id
        self._now_us = now_us

    @property
    def address(self) -> str:
        """The API wallet's address (``signer``)."""
        return self._signer.address

    def next_nonce(self) -> int:
        """A fresh nonce (µs), above every one handed out before."""
        return self._nonces.next(self._now_us())

    def message(self, params: Params, nonce: int) -> str:
        """The signed string: ``params`` plus ``nonce``, ``user``, ``signer``, sorted by key."""
        full = [*params, ("nonce", str(nonce)), ("user", self.user), ("signer", self.address)]
        return encode(sorted(full, key=lambda kv: kv[0]))

    def sign_message(self, msg: str) -> str:
        """``0x`` + r ‖ s ‖ v of ``msg`` (130 hex digits)."""
        r, s, v = self._signer.sign_eip712_message(*ASTER_DOMAIN, self.chain_id, msg.encode())
        return f"0x{r[2:]}{s[2:]}{v:02x}"

    def sign(self, params: Params) -> SignedRequest:
        """The signed parameters (see the class)."""
        msg = self.message(params, self.next_nonce())
        return SignedRequest(f"{msg}&signature={self.sign_message(msg)}", {})

    def __repr__(self) -> str:
        return f"WalletSigner(user={self.user!r}, signer={self.address})"


class HmacSigner(RequestSigner):
    """V1: ``timestamp`` and ``recvWindow`` added, HMAC-SHA256 hex appended as ``signature``.

    Args:
        api_key: The key (header ``X-MBX-APIKEY``).
        api_secret: The HMAC secret.
        recv_window_ms: How long after ``timestamp`` the venue still accepts the request.
        now_ms: Wall-clock milliseconds.
    """

    version = "v1"

    def __init__(
        self,
        api_key: Secret,
        api_secret: Secret,
        *,
        recv_window_ms: int = 5000,
        now_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self._key = api_key
        self._secret = api_secret
        self.recv_window_ms = recv_window_ms
        self._now_ms = now_ms

    def sign(self, params: Params) -> SignedRequest:
        """The signed parameters (all in one place: the query of a GET, or the body)."""
        full = [
            *params,
            ("recvWindow", str(self.recv_window_ms)),
            ("timestamp", str(self._now_ms())),
        ]
        text = encode(full)
        sig = hmac_signature(self._secret.reveal(), text)
        return SignedRequest(f"{text}&signature={sig}", self.key_headers())

    def key_headers(self) -> dict[str, str]:
        """``X-MBX-APIKEY``."""
        return {"X-MBX-APIKEY": self._key.reveal()}

    @property
    def keyed_listen_key(self) -> bool:
        """True: V1 ``listenKey`` requests carry the key header only."""
        return True

    def __repr__(self) -> str:
        return f"HmacSigner(api_key={self._key!r})"


def signer_for(credentials: AsterCredentials) -> RequestSigner:
    """The signer of ``credentials``' scheme.

    Raises:
        ValueError: Credentials missing a part of their scheme.
    """
    if credentials.scheme == "v3":
        if credentials.user is None or credentials.signer_key is None:
            raise ValueError("V3 credentials need a user and a signer key")
        return WalletSigner(credentials.user, credentials.signer_key, chain_id=credentials.chain_id)
    if credentials.scheme == "v1":
        if credentials.api_key is None or credentials.api_secret is None:
            raise ValueError("V1 credentials need an API key and its secret")
        return HmacSigner(credentials.api_key, credentials.api_secret)
    raise ValueError(f"unknown Aster auth scheme {credentials.scheme!r}")
