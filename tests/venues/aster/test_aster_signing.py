"""Aster request signing: the documented V1 HMAC vector, the V3 EIP-712 vector, nonces that
never repeat, and the string signed being the string sent."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from yarl import URL

from hedgekit import _core
from hedgekit.secrets import Secret
from hedgekit.venues.aster.signing import (
    AsterCredentials,
    HmacSigner,
    WalletSigner,
    encode,
    hmac_signature,
    signer_for,
)

# venues.md §2.13 (the docs' Binance-derived example)
V1_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
V1_PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
V1_SIG = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"

# venue-adapters.md §2.1: the docs' example API wallet
V3_KEY = "0x4fd0a42218f3eae43a6ce26d22544e986139a01e5b34a62db53757ffca81bae1"
V3_USER = "0x63DD5aCC6b1aa0f563956C0e534DD30B6dcF7C4e"
V3_MSG = (
    "symbol=ASTERUSDT&type=LIMIT&side=BUY&timeInForce=GTC&quantity=20&price=0.5"
    "&nonce=1748310859508867&user=0x63DD5aCC6b1aa0f563956C0e534DD30B6dcF7C4e"
    "&signer=0x21cF8Ae13Bb72632562c6Fff438652Ba1a151bb0"
)
V3_SIG = (
    "0a56c5923ebf3524475c5f631940ec4c0e41dbd300ad28198d1915d8f3ca49ce"
    "26fd1aeb8b0c3079133595da0de38322ae7e860e0c76d032c4a491d27c1430b01c"
)


def test_v1_vector() -> None:
    assert hmac_signature(V1_SECRET, V1_PAYLOAD) == V1_SIG


def test_v1_request_signs_what_it_sends() -> None:
    signer = HmacSigner(Secret("key-abc"), Secret(V1_SECRET), now_ms=lambda: 1591702613943)
    signed = signer.sign(
        [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "1"),
         ("price", "9000"), ("timeInForce", "GTC")]
    )  # fmt: skip
    assert signed.payload == f"{V1_PAYLOAD}&signature={V1_SIG}"
    assert signed.headers == {"X-MBX-APIKEY": "key-abc"}


def test_v3_vector() -> None:
    signer = WalletSigner(V3_USER, Secret(V3_KEY))
    assert signer.address == "0x21cf8ae13bb72632562c6fff438652ba1a151bb0"
    assert signer.sign_message(V3_MSG) == "0x" + V3_SIG


def test_v3_request_sorted_and_recoverable() -> None:
    signer = WalletSigner(V3_USER, Secret(V3_KEY), now_us=lambda: 1748310859508867)
    signed = signer.sign([("symbol", "ETHUSDT"), ("side", "SELL"), ("newClientOrderId", "a:b/c")])
    msg, _, sig = signed.payload.partition("&signature=")
    keys = [k for k, _ in parse_qsl(msg)]
    assert keys == sorted(keys)
    fields = dict(parse_qsl(msg))
    assert fields["user"] == V3_USER
    assert fields["signer"] == signer.address
    assert fields["nonce"] == "1748310859508867"
    assert fields["newClientOrderId"] == "a:b/c"
    r, s, v = "0x" + sig[2:66], "0x" + sig[66:130], int(sig[130:], 16)
    assert (
        _core.recover_eip712_message("AsterSignTransaction", "1", 1666, msg.encode(), r, s, v)
        == signer.address
    )
    assert signed.headers == {}


def test_v3_nonces_strictly_increase_on_a_stuck_clock() -> None:
    signer = WalletSigner(V3_USER, Secret(V3_KEY), now_us=lambda: 1_000_000)
    nonces = [
        int(dict(parse_qsl(signer.sign([("symbol", "X")]).payload))["nonce"]) for _ in range(200)
    ]
    assert nonces == sorted(set(nonces))
    assert len(nonces) == 200


def test_encoding_survives_the_http_client() -> None:
    """What yarl (under aiohttp) sends is exactly what was signed."""
    text = "".join(chr(c) for c in range(32, 127))
    q = encode([("a", text), ("origClientOrderId", "leg:a/1")])
    assert URL("http://127.0.0.1/fapi/v1/order?" + q).raw_query_string == q


def test_secrets_stay_out_of_reprs() -> None:
    creds = AsterCredentials.v1(Secret("the-api-key"), Secret("the-secret"))
    wallet = AsterCredentials.v3(V3_USER, Secret(V3_KEY))
    for obj in (creds, wallet, signer_for(creds), signer_for(wallet)):
        text = repr(obj) + str(obj)
        assert "the-api-key" not in text and "the-secret" not in text
        assert V3_KEY[2:] not in text


def test_signer_for_picks_the_scheme() -> None:
    v1 = signer_for(AsterCredentials.v1(Secret("key-1"), Secret("sec-1")))
    assert v1.version == "v1" and v1.keyed_listen_key
    payload = v1.sign([("x", "1")]).payload
    body, _, sig = payload.partition("&signature=")
    assert sig == hmac.new(b"sec-1", body.encode(), hashlib.sha256).hexdigest()
    v3 = signer_for(AsterCredentials.v3(V3_USER, Secret(V3_KEY)))
    assert v3.version == "v3" and not v3.keyed_listen_key
