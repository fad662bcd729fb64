"""Hyperliquid signing: hedgekit's Rust signer beside the official SDK (eth-account), same action.

The action is one resting order with a client order id, as ``order_wires_to_order_action`` builds
it. The SDK signs the dict; hedgekit signs the JSON bytes the request body carries (``orjson``),
timed both with the bytes ready and with the ``orjson.dumps`` included. Every pair is checked to
give the same signature (or hash, or bytes) before it is timed.
"""

from __future__ import annotations

from typing import Any

import msgpack
import orjson
import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk

from hedgekit._core import EthSigner, hl_action_hash, hl_recover_l1_action, msgpack_from_json

KEY = bytes.fromhex("0123456789012345678901234567890123456789012345678901234567890123")
WALLET = Account.from_key(KEY)
SIGNER = EthSigner(KEY)
NONCE = 1_760_000_000_000
ACTION: dict[str, Any] = {
    "type": "order",
    "orders": [
        {
            "a": 4,
            "b": True,
            "p": "3120.5",
            "s": "0.25",
            "r": False,
            "t": {"limit": {"tif": "Alo"}},
            "c": "0x000000000000000000000000000000a1",
        }
    ],
    "grouping": "na",
}
BODY = orjson.dumps(ACTION)
SDK_SIG = sdk.sign_l1_action(WALLET, ACTION, None, NONCE, None, True)


def same(ours: tuple[str, str, int], theirs: dict[str, Any]) -> bool:
    return (int(ours[0], 16), int(ours[1], 16), ours[2]) == (
        int(theirs["r"], 16),
        int(theirs["s"], 16),
        theirs["v"],
    )


# ---- a whole L1 signature ----


@pytest.mark.benchmark(group="hl-sign-l1")
def test_hedgekit_sign_l1_action(benchmark: Any) -> None:
    assert same(SIGNER.sign_hl_l1_action(BODY, NONCE, None, None, True), SDK_SIG)
    benchmark(SIGNER.sign_hl_l1_action, BODY, NONCE, None, None, True)


@pytest.mark.benchmark(group="hl-sign-l1")
def test_hedgekit_sign_l1_action_with_orjson_dumps(benchmark: Any) -> None:
    def run() -> tuple[str, str, int]:
        return SIGNER.sign_hl_l1_action(orjson.dumps(ACTION), NONCE, None, None, True)

    assert same(run(), SDK_SIG)
    benchmark(run)


@pytest.mark.benchmark(group="hl-sign-l1")
def test_sdk_sign_l1_action(benchmark: Any) -> None:
    assert sdk.sign_l1_action(WALLET, ACTION, None, NONCE, None, True) == SDK_SIG
    benchmark(sdk.sign_l1_action, WALLET, ACTION, None, NONCE, None, True)


# ---- recovering the signer (what a fake venue does per request) ----


@pytest.mark.benchmark(group="hl-recover-l1")
def test_hedgekit_recover_l1_action(benchmark: Any) -> None:
    args = (BODY, NONCE, None, None, True, SDK_SIG["r"], SDK_SIG["s"], SDK_SIG["v"])
    assert hl_recover_l1_action(*args) == SIGNER.address
    benchmark(hl_recover_l1_action, *args)


@pytest.mark.benchmark(group="hl-recover-l1")
def test_sdk_recover_l1_action(benchmark: Any) -> None:
    args = (ACTION, SDK_SIG, None, NONCE, None, True)
    assert sdk.recover_agent_or_user_from_l1_action(*args) == WALLET.address
    benchmark(sdk.recover_agent_or_user_from_l1_action, *args)


# ---- the action hash alone (msgpack + keccak) ----


@pytest.mark.benchmark(group="hl-action-hash")
def test_hedgekit_action_hash(benchmark: Any) -> None:
    assert hl_action_hash(BODY, NONCE, None, None) == sdk.action_hash(ACTION, None, NONCE, None)
    benchmark(hl_action_hash, BODY, NONCE, None, None)


@pytest.mark.benchmark(group="hl-action-hash")
def test_sdk_action_hash(benchmark: Any) -> None:
    benchmark(sdk.action_hash, ACTION, None, NONCE, None)


@pytest.mark.benchmark(group="hl-action-hash")
def test_hedgekit_msgpack_from_json(benchmark: Any) -> None:
    assert msgpack_from_json(BODY) == msgpack.packb(ACTION)
    benchmark(msgpack_from_json, BODY)


@pytest.mark.benchmark(group="hl-action-hash")
def test_python_msgpack_packb(benchmark: Any) -> None:
    benchmark(msgpack.packb, ACTION)
