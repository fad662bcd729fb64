"""Who signed an ``/exchange`` request, and whether its nonce may be used (``venues.md`` §1.10-1.11).

Signatures are recovered with the Rust core (:func:`hedgekit._core.hl_recover_l1_action`,
:func:`hedgekit._core.hl_recover_user_action`) over the action **as received**: the JSON body
is parsed with orjson, which keeps key order, and the action re-dumped with orjson, so the
msgpack bytes hashed are the client's. A wrong signature is not detected as such: it recovers
some other address, which the venue does not know (``User or API Wallet 0x… does not exist.``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hedgekit import _core

__all__ = [
    "USER_SIGNED_TYPES",
    "NonceBook",
    "Signature",
    "recover_l1",
    "recover_user",
]

_DAY_MS = 86_400_000

USER_SIGNED_TYPES: Mapping[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "approveAgent": (
        "HyperliquidTransaction:ApproveAgent",
        (
            ("hyperliquidChain", "string"),
            ("agentAddress", "address"),
            ("agentName", "string"),
            ("nonce", "uint64"),
        ),
    ),
    "approveBuilderFee": (
        "HyperliquidTransaction:ApproveBuilderFee",
        (
            ("hyperliquidChain", "string"),
            ("maxFeeRate", "string"),
            ("builder", "address"),
            ("nonce", "uint64"),
        ),
    ),
}
"""The user-signed actions the fake accepts: EIP-712 primary type and fields, as the SDK's
``signing.py`` signs them."""


@dataclass(frozen=True, slots=True)
class Signature:
    """An ``/exchange`` signature: ``r`` and ``s`` as hex (padded or not), ``v`` 27 or 28."""

    r: str
    s: str
    v: int

    @classmethod
    def parse(cls, value: object) -> Signature:
        """Reads ``{"r": "0x…", "s": "0x…", "v": 27}``.

        Raises:
            ValueError: Not that shape.
        """
        if not isinstance(value, dict):
            raise ValueError("signature must be an object")
        r, s, v = value.get("r"), value.get("s"), value.get("v")
        if not isinstance(r, str) or not isinstance(s, str) or not isinstance(v, int):
            raise ValueError("signature needs r and s (hex strings) and v (an integer)")
        return cls(r, s, v)


def recover_l1(
    action: Any,
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    signature: Signature,
    *,
    mainnet: bool,
) -> str:
    """The lowercase address that signed an L1 action under source ``'a'`` (``mainnet``) or
    ``'b'``.

    Raises:
        ValueError: A malformed action or signature (bad hex, a point not on the curve).
    """
    return _core.hl_recover_l1_action(
        orjson.dumps(action),
        nonce,
        vault_address,
        expires_after,
        mainnet,
        signature.r,
        signature.s,
        signature.v,
    )


def recover_user(action: dict[str, Any], signature: Signature) -> str:
    """The lowercase address that signed a user-signed action (``approveAgent``, …).

    The SDK signs ``approveAgent`` with ``agentName: ""`` and then deletes the key when no name
    was given, so a missing ``agentName`` is put back as ``""`` before recovering.

    Raises:
        KeyError: An action type not in :data:`USER_SIGNED_TYPES`.
        ValueError: A malformed action or signature.
    """
    primary, fields = USER_SIGNED_TYPES[action["type"]]
    signed = dict(action)
    if action["type"] == "approveAgent":
        signed.setdefault("agentName", "")
    return _core.hl_recover_user_action(
        orjson.dumps(signed), primary, list(fields), signature.r, signature.s, signature.v
    )


class NonceBook:
    """The venue's nonce rule, per signer: the 100 highest nonces are kept; a new nonce must be
    unused, above the smallest kept one once 100 are kept, and within (T - 2 days, T + 1 day) of
    the venue's time T.

    Args:
        keep: How many of the highest nonces are kept per signer.
    """

    def __init__(self, keep: int = 100) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self._keep = keep
        self._seen: dict[str, list[int]] = {}

    def use(self, signer: str, nonce: int, now_ms: int) -> str | None:
        """Uses ``nonce`` for ``signer``; returns the venue's refusal text, or ``None`` (the
        nonce is then recorded)."""
        if not now_ms - 2 * _DAY_MS < nonce < now_ms + _DAY_MS:
            return f"Invalid nonce: nonce {nonce} is outside the allowed window around {now_ms}"
        kept = self._seen.setdefault(signer, [])
        i = bisect.bisect_left(kept, nonce)
        if i < len(kept) and kept[i] == nonce:
            return f"Invalid nonce: duplicate nonce {nonce}"
        if len(kept) >= self._keep and nonce < kept[0]:
            return f"Invalid nonce: nonce too low {nonce} < {kept[0]}"
        kept.insert(i, nonce)
        if len(kept) > self._keep:
            del kept[0]
        return None

    def kept(self, signer: str) -> list[int]:
        """The nonces kept for ``signer``, lowest first."""
        return list(self._seen.get(signer, []))
