"""Signing in the Rust core against the reference implementations, byte for byte.

* ``msgpack_from_json`` against ``msgpack.packb(json.loads(x))`` (random nested values, every
  size boundary of every type);
* Hyperliquid L1 and user-signed actions against the official SDK (``sign_l1_action``,
  ``sign_user_signed_action``, ``action_hash`` and both recover functions), with random keys and
  random orders, cancels and modifies;
* Aster V3's ``Message(string msg)`` against ``eth_account``'s ``encode_typed_data`` and the
  published example;
* the nonce allocator under threads and asyncio tasks, and the key never shown.
"""

from __future__ import annotations

import asyncio
import json
import threading
from decimal import Decimal
from typing import Any

import msgpack
import orjson
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hyperliquid.utils import signing as sdk
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekit import _core
from hedgekit.errors import InvalidArgumentError, ParseError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SDK_KEY = bytes.fromhex("0123456789012345678901234567890123456789012345678901234567890123")

keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
u64 = st.integers(0, 2**64 - 1)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


def sig_ints(sig: tuple[str, str, int]) -> tuple[int, int, int]:
    r, s, v = sig
    return int(r, 16), int(s, 16), v


def sdk_sig_ints(sig: dict[str, Any]) -> tuple[int, int, int]:
    return int(sig["r"], 16), int(sig["s"], 16), sig["v"]


def assert_sig_text(sig: tuple[str, str, int]) -> None:
    r, s, v = sig
    for part in (r, s):
        assert part.startswith("0x") and len(part) == 66 and part == part.lower()
    assert v in (27, 28)
    assert int(s, 16) <= SECP256K1_N // 2, "low s"


# --- msgpack ---------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.integers(-200, 300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.text(alphabet="é€😀a", min_size=10, max_size=300)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=20) | st.dictionaries(st.text(max_size=12), inner, max_size=20)
    ),
    max_leaves=80,
)


def packb_of(doc: bytes) -> bytes:
    packed: bytes = msgpack.packb(json.loads(doc))
    return packed


@given(json_values, st.sampled_from(["json", "json-ascii", "json-indent", "orjson"]))
def test_msgpack_matches_python_msgpack(value: Any, writer: str) -> None:
    if writer == "orjson":
        doc = orjson.dumps(value)
    elif writer == "json-indent":
        doc = json.dumps(value, indent=2, ensure_ascii=False).encode()
    else:
        doc = json.dumps(value, ensure_ascii=writer == "json-ascii").encode()
    assert _core.msgpack_from_json(doc) == packb_of(doc)


@pytest.mark.parametrize(
    "value",
    [
        *[n for b in (7, 8, 16, 32) for n in (2**b - 1, 2**b)],
        *[-n for b in (5, 7, 15, 31) for n in (2**b, 2**b + 1)],
        0,
        -1,
        2**64 - 1,
        -(2**63),
        0.0,
        -0.0,
        1.5,
        1e300,
        5e-324,
        True,
        False,
        None,
    ],
)
def test_msgpack_every_scalar_width(value: Any) -> None:
    doc = json.dumps(value).encode()
    assert _core.msgpack_from_json(doc) == packb_of(doc)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536])
def test_msgpack_string_map_and_array_sizes(n: int) -> None:
    for value in (
        "x" * n,
        "é" * (n // 2) + "x" * (n % 2),  # the byte length, not the character count, decides
        list(range(n)),
        {str(i): i for i in range(n)},
    ):
        doc = orjson.dumps(value)
        assert _core.msgpack_from_json(doc) == packb_of(doc), (type(value), n)


def test_msgpack_deep_nesting_and_its_limit() -> None:
    for depth in (1, 64, 200, 512):
        for open_, close in (("[", "]"), ('{"k":', "}")):
            doc = (open_ * depth + "1" + close * depth).encode()
            assert _core.msgpack_from_json(doc) == packb_of(doc)
    with pytest.raises(ParseError, match="nesting too deep"):
        _core.msgpack_from_json(b"[" * 513 + b"]" * 513)


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30])
def test_msgpack_refuses_integers_msgpack_cannot_hold(value: int) -> None:
    doc = json.dumps([value]).encode()
    with pytest.raises(OverflowError):
        packb_of(doc)
    with pytest.raises(ParseError, match="out of msgpack range") as info:
        _core.msgpack_from_json(doc)
    assert isinstance(info.value, ValueError)
    assert info.value.position == 1


@pytest.mark.parametrize(
    "doc",
    [
        b"",
        b"{",
        b'{"a":1,}',
        b"[1 2]",
        b"NaN",
        b"Infinity",
        b"01",
        b"'a'",
        b'"\\x"',
        b"[1] [2]",
        b"\xff",
    ],
)
def test_msgpack_refuses_invalid_json_with_a_clear_error(doc: bytes) -> None:
    with pytest.raises(ParseError, match=r"parse error at byte \d+: \w"):
        _core.msgpack_from_json(doc)


def test_msgpack_refuses_duplicate_keys() -> None:
    # json.loads would keep the last value silently; a signed action must not be ambiguous.
    for doc in (b'{"a":1,"a":2}', b'{"a":1,"\\u0061":2}', b'[{"x":{"k":1,"k":1}}]'):
        with pytest.raises(ParseError, match="duplicate key"):
            _core.msgpack_from_json(doc)


# --- Hyperliquid L1 actions against the SDK -----------------------------------------------------

decimals = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("99999"), places=6).map(
    lambda d: f"{d.normalize():f}"
)
cloids = st.binary(min_size=16, max_size=16).map(lambda b: "0x" + b.hex())
tifs = st.sampled_from(["Alo", "Ioc", "Gtc"])


@st.composite
def order_wires(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        order_type: dict[str, Any] = {"limit": {"tif": draw(tifs)}}
    else:
        order_type = {
            "trigger": {
                "isMarket": draw(st.booleans()),
                "triggerPx": draw(decimals),
                "tpsl": draw(st.sampled_from(["tp", "sl"])),
            }
        }
    wire: dict[str, Any] = {
        "a": draw(st.integers(0, 20_000)),
        "b": draw(st.booleans()),
        "p": draw(decimals),
        "s": draw(decimals),
        "r": draw(st.booleans()),
        "t": order_type,
    }
    if draw(st.booleans()):
        wire["c"] = draw(cloids)
    return wire


@st.composite
def l1_actions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["order", "cancel", "cancelByCloid", "modify", "batchModify", "scheduleCancel"]
        )
    )
    if kind == "order":
        action: dict[str, Any] = {
            "type": "order",
            "orders": draw(st.lists(order_wires(), min_size=1, max_size=5)),
            "grouping": draw(st.sampled_from(["na", "normalTpsl", "positionTpsl"])),
        }
        if draw(st.booleans()):
            action["builder"] = {"b": draw(addresses), "f": draw(st.integers(0, 100))}
        return action
    if kind == "cancel":
        cancels = st.fixed_dictionaries({"a": st.integers(0, 20_000), "o": st.integers(0, 2**63)})
        return {"type": "cancel", "cancels": draw(st.lists(cancels, min_size=1, max_size=5))}
    if kind == "cancelByCloid":
        cancels = st.fixed_dictionaries({"asset": st.integers(0, 20_000), "cloid": cloids})
        return {"type": "cancelByCloid", "cancels": draw(st.lists(cancels, min_size=1, max_size=5))}
    if kind == "modify":
        return {
            "type": "modify",
            "oid": draw(st.integers(0, 2**63) | cloids),
            "order": draw(order_wires()),
        }
    if kind == "batchModify":
        mods = st.fixed_dictionaries({"oid": st.integers(0, 2**63), "order": order_wires()})
        return {"type": "batchModify", "modifies": draw(st.lists(mods, min_size=1, max_size=3))}
    action = {"type": "scheduleCancel"}
    if draw(st.booleans()):
        action["time"] = draw(st.integers(0, 2**53))
    return action


@given(
    key=keys,
    action=l1_actions(),
    nonce=u64,
    vault=st.none() | addresses,
    expires_after=st.none() | u64,
    is_mainnet=st.booleans(),
)
@settings(max_examples=60)
def test_l1_action_signature_matches_the_sdk(
    key: bytes,
    action: dict[str, Any],
    nonce: int,
    vault: str | None,
    expires_after: int | None,
    is_mainnet: bool,
) -> None:
    wallet = Account.from_key(key)
    signer = _core.EthSigner(key)
    assert signer.address == wallet.address.lower()
    body = orjson.dumps(action)

    assert _core.hl_action_hash(body, nonce, vault, expires_after) == sdk.action_hash(
        action, vault, nonce, expires_after
    )
    ours = signer.sign_hl_l1_action(body, nonce, vault, expires_after, is_mainnet)
    assert_sig_text(ours)
    theirs = sdk.sign_l1_action(wallet, action, vault, nonce, expires_after, is_mainnet)
    assert sig_ints(ours) == sdk_sig_ints(theirs)

    # Each side recovers the other's signature (the SDK's r/s are not zero-padded).
    sdk_view = {"r": ours[0], "s": ours[1], "v": ours[2]}
    recovered = sdk.recover_agent_or_user_from_l1_action(
        action, sdk_view, vault, nonce, expires_after, is_mainnet
    )
    assert recovered == wallet.address
    args = (body, nonce, vault, expires_after, is_mainnet)
    assert (
        _core.hl_recover_l1_action(*args, theirs["r"], theirs["s"], theirs["v"]) == signer.address
    )
    assert _core.hl_recover_l1_action(*args, *ours) == signer.address
    # The other network's source recovers someone else.
    other = (body, nonce, vault, expires_after, not is_mainnet)
    assert _core.hl_recover_l1_action(*other, *ours) != signer.address


def test_sdk_vectors() -> None:
    """The SDK's own tests/signing_test.py vectors (venues.md §1.11)."""
    signer = _core.EthSigner(SDK_KEY)
    eth = {"type": "order", "orders": [sdk.order_request_to_order_wire(
        {"coin": "ETH", "is_buy": True, "sz": 0.0147, "limit_px": 1670.1, "reduce_only": False, "order_type": {"limit": {"tif": "Ioc"}}}, 4
    )], "grouping": "na"}  # fmt: skip
    connection_id = _core.hl_action_hash(orjson.dumps(eth), 1677777606040, None, None)
    assert connection_id.hex() == "0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"
    action = b'{"type":"order","orders":[{"a":1,"b":true,"p":"100","s":"100","r":false,"t":{"limit":{"tif":"Gtc"}}}],"grouping":"na"}'
    assert signer.sign_hl_l1_action(action, 0, None, None, True) == (
        "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
        "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e",
        28,
    )
    assert signer.sign_hl_l1_action(action, 0, None, None, False) == (
        "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
        "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5",
        27,
    )


def test_signature_text_forms_are_read_as_integers() -> None:
    signer = _core.EthSigner(SDK_KEY)
    action = b'{"type":"noop"}'
    r, s, v = signer.sign_hl_l1_action(action, 5, None, None, True)
    for rr, ss in (
        (r, s),
        (r[2:], s[2:]),
        (hex(int(r, 16)), hex(int(s, 16))),
        ("0x00" + r[2:], s.upper().replace("0X", "0x")),
    ):
        assert _core.hl_recover_l1_action(action, 5, None, None, True, rr, ss, v) == signer.address
    assert _core.hl_recover_l1_action(action, 5, None, None, True, r, s, v - 27) == signer.address
    for bad_r, bad_v in (("0xzz", v), ("0x" + "f" * 65, v), ("", v), (r, 29)):
        with pytest.raises(InvalidArgumentError):
            _core.hl_recover_l1_action(action, 5, None, None, True, bad_r, s, bad_v)
    with pytest.raises(InvalidArgumentError, match="not below the curve order"):
        _core.hl_recover_l1_action(action, 5, None, None, True, hex(SECP256K1_N), s, v)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.sign_hl_l1_action(b'{"type":', 1, None, None, True), ParseError),
        (lambda s: s.sign_hl_l1_action(b"{}", -1, None, None, True), InvalidArgumentError),
        (lambda s: s.sign_hl_l1_action(b"{}", 2**64, None, None, True), InvalidArgumentError),
        (lambda s: s.sign_hl_l1_action(b"{}", 1, "0x1234", None, True), InvalidArgumentError),
        (lambda s: s.sign_hl_l1_action(b"{}", 1, None, -5, True), InvalidArgumentError),
        (lambda s: s.sign_eip712_message("A", "1", 1, b"\xff"), InvalidArgumentError),
        (lambda s: s.sign_hl_user_action(b"{}", "X", [("a", "uint8")]), InvalidArgumentError),
        (
            lambda s: s.sign_hl_user_action(b'{"signatureChainId":"0x1"}', "X", [("a", "bool")]),
            InvalidArgumentError,
        ),
    ],
)
def test_malformed_input_raises_value_error(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        call(_core.EthSigner(SDK_KEY))
    assert isinstance(info.value, ValueError)


# --- Hyperliquid user-signed actions against the SDK ------------------------------------------

amounts = decimals
times = st.integers(0, 2**63)


@st.composite
def user_actions(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, str]], str]:
    kind = draw(
        st.sampled_from(
            [
                "usdSend",
                "withdraw3",
                "approveAgent",
                "approveBuilderFee",
                "usdClassTransfer",
                "tokenDelegate",
            ]
        )
    )
    if kind == "usdSend":
        action = {
            "type": "usdSend",
            "destination": draw(addresses),
            "amount": draw(amounts),
            "time": draw(times),
        }
        return action, sdk.USD_SEND_SIGN_TYPES, "HyperliquidTransaction:UsdSend"
    if kind == "withdraw3":
        action = {
            "type": "withdraw3",
            "destination": draw(addresses),
            "amount": draw(amounts),
            "time": draw(times),
        }
        return action, sdk.WITHDRAW_SIGN_TYPES, "HyperliquidTransaction:Withdraw"
    if kind == "approveAgent":
        agent = Account.from_key(draw(keys)).address  # checksummed, as the SDK sends it
        action = {"type": "approveAgent", "agentAddress": draw(st.sampled_from([agent, agent.lower()])),
                  "agentName": draw(st.text(max_size=16)), "nonce": draw(times)}  # fmt: skip
        types = [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "agentAddress", "type": "address"},
            {"name": "agentName", "type": "string"},
            {"name": "nonce", "type": "uint64"},
        ]
        return action, types, "HyperliquidTransaction:ApproveAgent"
    if kind == "approveBuilderFee":
        action = {
            "type": "approveBuilderFee",
            "maxFeeRate": "0.001%",
            "builder": draw(addresses),
            "nonce": draw(times),
        }
        types = [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "maxFeeRate", "type": "string"},
            {"name": "builder", "type": "address"},
            {"name": "nonce", "type": "uint64"},
        ]
        return action, types, "HyperliquidTransaction:ApproveBuilderFee"
    if kind == "usdClassTransfer":
        action = {
            "type": "usdClassTransfer",
            "amount": draw(amounts),
            "toPerp": draw(st.booleans()),
            "nonce": draw(times),
        }
        return action, sdk.USD_CLASS_TRANSFER_SIGN_TYPES, "HyperliquidTransaction:UsdClassTransfer"
    action = {"type": "tokenDelegate", "validator": draw(addresses), "wei": draw(u64),
              "isUndelegate": draw(st.booleans()), "nonce": draw(times)}  # fmt: skip
    return action, sdk.TOKEN_DELEGATE_TYPES, "HyperliquidTransaction:TokenDelegate"


@given(key=keys, spec=user_actions(), is_mainnet=st.booleans())
@settings(max_examples=60)
def test_user_signed_action_matches_the_sdk(
    key: bytes, spec: tuple[dict[str, Any], list[dict[str, str]], str], is_mainnet: bool
) -> None:
    action, types, primary_type = spec
    wallet = Account.from_key(key)
    signer = _core.EthSigner(key)
    fields = [(t["name"], t["type"]) for t in types]
    theirs = sdk.sign_user_signed_action(wallet, action, types, primary_type, is_mainnet)
    # The SDK has set signatureChainId and hyperliquidChain on the action it signed.
    body = orjson.dumps(action)
    ours = signer.sign_hl_user_action(body, primary_type, fields)
    assert_sig_text(ours)
    assert sig_ints(ours) == sdk_sig_ints(theirs)
    assert (
        _core.hl_recover_user_action(
            body, primary_type, fields, theirs["r"], theirs["s"], theirs["v"]
        )
        == signer.address
    )
    sdk_view = {"r": ours[0], "s": ours[1], "v": ours[2]}
    assert (
        sdk.recover_user_from_user_signed_action(
            dict(action), sdk_view, types, primary_type, is_mainnet
        )
        == wallet.address
    )


def test_user_signed_action_uses_its_own_signature_chain_id() -> None:
    wallet = Account.from_key(SDK_KEY)
    signer = _core.EthSigner(SDK_KEY)
    action = {"type": "usdSend", "signatureChainId": "0xa4b1", "hyperliquidChain": "Mainnet",
              "destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a", "amount": "1", "time": 1}  # fmt: skip
    fields = [(t["name"], t["type"]) for t in sdk.USD_SEND_SIGN_TYPES]
    r, s, v = signer.sign_hl_user_action(
        orjson.dumps(action), "HyperliquidTransaction:UsdSend", fields
    )
    sig = {"r": r, "s": s, "v": v}
    recovered = sdk.recover_user_from_user_signed_action(
        dict(action), sig, sdk.USD_SEND_SIGN_TYPES, "HyperliquidTransaction:UsdSend", True
    )
    assert recovered == wallet.address
    moved = dict(action, signatureChainId="0x66eee")
    assert (
        _core.hl_recover_user_action(
            orjson.dumps(moved), "HyperliquidTransaction:UsdSend", fields, r, s, v
        )
        != signer.address
    )


# --- Aster V3 Message ---------------------------------------------------------------------------

# Aster's documented example: an API wallet key published in its API docs and SDK tests.
ASTER_KEY = bytes.fromhex("4fd0a42218f3eae43a6ce26d22544e986139a01e5b34a62db53757ffca81bae1")
ASTER_MSG = (
    "symbol=ASTERUSDT&type=LIMIT&side=BUY&timeInForce=GTC&quantity=20&price=0.5&nonce=1748310859508867"
    "&user=0x63DD5aCC6b1aa0f563956C0e534DD30B6dcF7C4e&signer=0x21cF8Ae13Bb72632562c6Fff438652Ba1a151bb0"
)
ASTER_SIG = (
    "0a56c5923ebf3524475c5f631940ec4c0e41dbd300ad28198d1915d8f3ca49ce"
    "26fd1aeb8b0c3079133595da0de38322ae7e860e0c76d032c4a491d27c1430b01c"
)


def test_aster_message_vector() -> None:
    signer = _core.EthSigner(ASTER_KEY)
    assert signer.address == "0x21cf8ae13bb72632562c6fff438652ba1a151bb0"
    r, s, v = signer.sign_eip712_message("AsterSignTransaction", "1", 1666, ASTER_MSG.encode())
    assert r[2:] + s[2:] + f"{v:02x}" == ASTER_SIG
    recovered = _core.recover_eip712_message(
        "AsterSignTransaction", "1", 1666, ASTER_MSG.encode(), r, s, v
    )
    assert recovered == signer.address


def aster_typed_data(msg: str, chain_id: int) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Message": [{"name": "msg", "type": "string"}],
        },
        "primaryType": "Message",
        "domain": {
            "name": "AsterSignTransaction",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": "0x0000000000000000000000000000000000000000",
        },
        "message": {"msg": msg},
    }


@given(key=keys, msg=st.text(max_size=300), chain_id=st.sampled_from([1666, 714, 56, 1]))
@settings(max_examples=60)
def test_eip712_message_matches_eth_account(key: bytes, msg: str, chain_id: int) -> None:
    wallet = Account.from_key(key)
    signer = _core.EthSigner(key)
    theirs = wallet.sign_message(encode_typed_data(full_message=aster_typed_data(msg, chain_id)))
    ours = signer.sign_eip712_message("AsterSignTransaction", "1", chain_id, msg.encode())
    assert_sig_text(ours)
    assert sig_ints(ours) == (theirs.r, theirs.s, theirs.v)
    assert (
        _core.recover_eip712_message("AsterSignTransaction", "1", chain_id, msg.encode(), *ours)
        == signer.address
    )


# --- keys and their secrecy -----------------------------------------------------------------


@given(key=keys)
def test_the_key_never_shows(key: bytes) -> None:
    signer = _core.EthSigner(key)
    text = repr(signer)
    assert text == f"EthSigner(address={signer.address})"
    # Every full form of the key (64 hex digits cannot occur by chance in a 40-digit address).
    for form in (key.hex(), key.hex().upper(), str(key)):
        assert form not in text
        assert form not in str(signer)


@pytest.mark.parametrize(
    "key",
    [b"", b"\x01" * 31, b"\x01" * 33, bytes(32), SECP256K1_N.to_bytes(32, "big"), b"\xff" * 32],
)
def test_bad_keys_raise_value_error_without_the_key(key: bytes) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _core.EthSigner(key)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    if key:
        assert key.hex() not in message
        assert str(key) not in message


def test_a_signer_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(_core.EthSigner(SDK_KEY))


def test_errors_while_signing_do_not_carry_the_key() -> None:
    signer = _core.EthSigner(SDK_KEY)
    for call in (
        lambda: signer.sign_hl_l1_action(b"{bad", 1, None, None, True),
        lambda: signer.sign_hl_user_action(b"{}", "X", [("a", "string")]),
        lambda: signer.sign_eip712_message("d", "1", -1, b"m"),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert SDK_KEY.hex() not in str(info.value) and SDK_KEY.hex() not in repr(info.value)


def test_signing_from_threads_shares_one_signer() -> None:
    signer = _core.EthSigner(SDK_KEY)
    action = b'{"type":"noop"}'
    expected = {n: signer.sign_hl_l1_action(action, n, None, None, True) for n in range(40)}
    results: dict[int, tuple[str, str, int]] = {}

    def work(start: int) -> None:
        for n in range(start, 40, 4):
            results[n] = signer.sign_hl_l1_action(action, n, None, None, True)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == expected


# --- nonces ---------------------------------------------------------------------------------


def test_nonce_allocator_follows_the_clock_and_never_repeats() -> None:
    nonces = _core.NonceAllocator()
    assert nonces.next(1_700_000_000_000) == 1_700_000_000_000
    assert nonces.next(1_700_000_000_000) == 1_700_000_000_001
    assert nonces.next(1_699_999_999_000) == 1_700_000_000_002  # the clock stepped back
    assert nonces.next(1_700_000_000_500) == 1_700_000_000_500
    with pytest.raises(InvalidArgumentError):
        nonces.next(-1)


def test_nonce_allocator_under_threads() -> None:
    nonces = _core.NonceAllocator()
    per_thread: list[list[int]] = [[] for _ in range(50)]

    def work(i: int) -> None:
        for k in range(200):
            per_thread[i].append(nonces.next(1_700_000_000_000 + k // 50))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for seq in per_thread:
        assert len(seq) == 200
        assert all(a < b for a, b in zip(seq, seq[1:], strict=False))
    everything = [n for seq in per_thread for n in seq]
    assert len(set(everything)) == len(everything) == 50 * 200


def test_nonce_allocator_under_asyncio_tasks() -> None:
    """50 tasks each taking nonces around awaits, two signers: each signer's nonces unique."""
    allocators = [_core.NonceAllocator(), _core.NonceAllocator()]

    async def task(i: int) -> list[tuple[int, int]]:
        taken = []
        for k in range(20):
            which = (i + k) % 2
            taken.append((which, allocators[which].next(1_700_000_000_000 + k)))
            await asyncio.sleep(0)
        return taken

    async def main() -> list[list[tuple[int, int]]]:
        async with asyncio.timeout(30):
            return await asyncio.gather(*(task(i) for i in range(50)))

    results = asyncio.run(main())
    for which in (0, 1):
        ordered = [n for seq in results for w, n in seq if w == which]
        assert len(set(ordered)) == len(ordered) == 500
        for seq in results:
            mine = [n for w, n in seq if w == which]
            assert all(a < b for a, b in zip(mine, mine[1:], strict=False))
