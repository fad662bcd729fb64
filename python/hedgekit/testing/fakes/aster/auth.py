"""Who sent a signed Aster request, checked over the bytes received (``venues.md`` §2.13).

- V1: ``X-MBX-APIKEY`` names a key; ``signature`` is the hex HMAC-SHA256, under the key's
  secret, of the query string followed by the body, exactly as sent, without the ``signature``
  parameter; ``timestamp`` (ms) must lie within ``recvWindow`` (default 5000) of the venue's
  time and not more than 1 s ahead.
- V3: ``user``, ``signer``, ``nonce`` (µs) and ``signature``; the message is the raw url-encoded
  parameter string up to ``&signature=``, signed as EIP-712 ``Message(string msg)`` in the domain
  ``AsterSignTransaction/1/1666`` (recovered by :func:`hedgekit._core.recover_eip712_message`);
  the signature is 65 bytes of hex, with or without ``0x``. Nonces must lie within the window of
  the venue's time and must not repeat among a user's last 100.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl

from hedgekit import _core
from hedgekit.errors import HedgekitError

__all__ = [
    "DOMAIN",
    "ApiError",
    "NonceBook",
    "hmac_signature",
    "recover_v3",
    "split_signature",
    "v1_payload",
]

DOMAIN = ("AsterSignTransaction", "1", 1666)
"""The V3 EIP-712 domain: name, version, chain id."""


@dataclass(frozen=True, slots=True)
class ApiError(Exception):
    """A refusal in the venue's shape: ``{"code": code, "msg": msg}`` with HTTP ``status``."""

    code: int
    msg: str
    status: int = 400

    def body(self) -> dict[str, object]:
        """The JSON body."""
        return {"code": self.code, "msg": self.msg}


BAD_SIGNATURE = ApiError(-1022, "Signature for this request is not valid.")
BAD_KEY = ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def hmac_signature(secret: str, payload: str) -> str:
    """The V1 signature of ``payload``: hex HMAC-SHA256 under ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def split_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` (a query string or a body) without its ``signature`` parameter, and the
    signature (``None`` when absent). The parameter is expected last, as the venue requires."""
    if raw.startswith("signature="):
        return "", raw[len("signature=") :]
    head, sep, tail = raw.rpartition("&signature=")
    if not sep or "&" in tail:
        return raw, None
    return head, tail


def v1_payload(query: str, body: str) -> tuple[str, str | None]:
    """The V1 ``totalParams`` (query string then body, as sent, without the signature) and the
    signature found in either."""
    q, q_sig = split_signature(query)
    b, b_sig = split_signature(body)
    return q + b, q_sig if q_sig is not None else b_sig


def recover_v3(message: str, signature: str) -> str:
    """The address (lowercase) that signed ``message`` as an Aster V3 request.

    Raises:
        ApiError: -1022 for a signature that is not 65 bytes of hex or cannot be recovered.
    """
    text = signature[2:] if signature.startswith(("0x", "0X")) else signature
    if len(text) != 130:
        raise BAD_SIGNATURE
    try:
        int(text, 16)
        v = int(text[128:], 16)
        return _core.recover_eip712_message(
            *DOMAIN, message.encode(), "0x" + text[:64], "0x" + text[64:128], v
        )
    except (ValueError, HedgekitError) as e:
        raise BAD_SIGNATURE from e


def params_sorted(message: str) -> bool:
    """Whether the parameters of ``message`` come in ASCII order of their names."""
    names = [k for k, _ in parse_qsl(message, keep_blank_values=True)]
    return names == sorted(names)


class NonceBook:
    """The V3 nonces seen per user: the last ``keep`` of each, and the window around the
    venue's time a nonce must fall in.

    Args:
        window_us: How far (µs) a nonce may be from the venue's time, either way.
        keep: Nonces remembered per user (the venue: 100); one below the smallest of a full
            book is expired too.
    """

    def __init__(self, window_us: int = 10_000_000, keep: int = 100) -> None:
        self.window_us = window_us
        self.keep = keep
        self._seen: dict[str, deque[int]] = {}

    def use(self, user: str, nonce: int, now_us: int) -> ApiError | None:
        """Records ``nonce`` for ``user``; the refusal (-4225) when it may not be used."""
        if abs(now_us - nonce) > self.window_us:
            return ApiError(-4225, "Nonce Expired")
        seen = self._seen.setdefault(user, deque(maxlen=self.keep))
        if nonce in seen or (len(seen) == self.keep and nonce < min(seen)):
            return ApiError(-4225, "Nonce Expired")
        seen.append(nonce)
        return None
