"""Lighter signing through the venue's native signer (offline, explicit nonces) and the
per-key nonce allocator."""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import Any

import orjson
import pytest

from hedgekit.errors import InvalidArgumentError, MissingExtraError
from hedgekit.secrets import Secret
from hedgekit.venues.lighter import signing, wire
from hedgekit.venues.lighter.signing import LighterCredentials, LighterSigner, NonceAllocator


def _key() -> str:
    return signing.generate_api_key()[0].reveal()


@pytest.fixture(scope="module")
def creds() -> LighterCredentials:
    return LighterCredentials(123456, 3, Secret(_key()))


def test_signs_offline_with_the_nonce_and_index_it_is_given(creds: LighterCredentials) -> None:
    # an unreachable URL: the library must not try to reach it
    signer = LighterSigner(creds, "http://127.0.0.1:1")
    tx = signer.create_order(
        market_index=0, client_order_index=17, base_amount=2500, price=311800, is_ask=False,
        order_type=wire.TYPE_LIMIT, time_in_force=wire.TIF_POST_ONLY, reduce_only=False,
        order_expiry_ms=-1, nonce=812,
    )  # fmt: skip
    info = orjson.loads(tx.tx_info)
    assert tx.tx_type == wire.TX_CREATE_ORDER and tx.nonce == 812
    assert {k: info[k] for k in ("AccountIndex", "ApiKeyIndex", "ClientOrderIndex", "BaseAmount",
                                 "Price", "IsAsk", "TimeInForce", "Nonce")} == {
        "AccountIndex": 123456, "ApiKeyIndex": 3, "ClientOrderIndex": 17, "BaseAmount": 2500,
        "Price": 311800, "IsAsk": 0, "TimeInForce": 2, "Nonce": 812,
    }  # fmt: skip
    assert info["OrderExpiry"] > time.time() * 1000 + 27 * 86_400_000  # -1: now + 28 days
    assert info["Sig"] and len(tx.tx_hash) == 80
    cancel = orjson.loads(signer.cancel_order(market_index=0, index=17, nonce=813).tx_info)
    assert (cancel["Index"], cancel["Nonce"]) == (17, 813)
    modify = orjson.loads(
        signer.modify_order(
            market_index=0, index=17, base_amount=3000, price=311700, nonce=814
        ).tx_info
    )
    assert (modify["BaseAmount"], modify["Price"], modify["Nonce"]) == (3000, 311700, 814)
    lev = signer.update_leverage(market_index=0, initial_margin_fraction=500, cross=True, nonce=9)
    assert lev.tx_type == wire.TX_UPDATE_LEVERAGE
    assert orjson.loads(lev.tx_info)["InitialMarginFraction"] == 500
    assert signer.signed == 4


def test_auth_token_is_a_secret_with_the_deadline(creds: LighterCredentials) -> None:
    signer = LighterSigner(creds, "http://127.0.0.1:1")
    token = signer.auth_token(1_900_000_000)
    assert isinstance(token, Secret)
    deadline, account, key, sig = token.reveal().split(":")
    assert (deadline, account, key) == ("1900000000", "123456", "3") and len(sig) > 100
    assert token.reveal() not in repr(token)


def test_secrets_stay_out_of_reprs(creds: LighterCredentials) -> None:
    signer = LighterSigner(creds, "http://127.0.0.1:1")
    key = creds.private_key.reveal()
    assert key not in repr(creds) and key not in repr(signer)
    assert "***" in repr(creds)


def test_a_bad_key_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="refused the API key"):
        LighterSigner(LighterCredentials(1, 2, Secret("not-hex-zz")), "http://127.0.0.1:1")


def test_signing_runs_off_the_loop(creds: LighterCredentials) -> None:
    signer = LighterSigner(creds, "http://127.0.0.1:1")

    async def main() -> list[int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.ensure_future(ticker())
        txs = [
            await signer.sign(signer.cancel_order, market_index=0, index=i, nonce=i)
            for i in range(1, 21)
        ]
        t.cancel()
        await asyncio.gather(t, return_exceptions=True)
        assert ticks > 20  # the loop kept running while the C code signed
        return [tx.nonce for tx in txs]

    try:
        assert asyncio.run(main()) == list(range(1, 21))
    finally:
        signer.close()


def test_without_the_extra_the_error_names_it(
    monkeypatch: pytest.MonkeyPatch, creds: LighterCredentials
) -> None:
    real_import = builtins.__import__

    def no_lighter(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "lighter" or name.startswith("lighter."):
            raise ImportError("No module named 'lighter'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lighter)
    with pytest.raises(MissingExtraError, match=r"pip install 'hedgekit\[lighter\]'"):
        signing.LighterSigner(creds, "http://127.0.0.1:1")


def test_fifty_concurrent_takes_get_fifty_consecutive_nonces() -> None:
    fetches = 0

    async def fetch() -> int:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.01)
        return 812

    async def main() -> list[int]:
        alloc = NonceAllocator(fetch)
        return list(await asyncio.gather(*(alloc.take() for _ in range(50))))

    got = asyncio.run(main())
    assert sorted(got) == list(range(812, 862))
    assert fetches == 1


def test_give_back_only_when_nothing_later_was_handed_out() -> None:
    venue_next = [100]

    async def fetch() -> int:
        return venue_next[0]

    async def main() -> None:
        alloc = NonceAllocator(fetch)
        a = await alloc.take()
        assert alloc.give_back(a) is True
        assert await alloc.take() == a  # reused: the venue never saw it
        b = await alloc.take()
        c = await alloc.take()
        assert alloc.give_back(b) is False  # c was handed out after b
        assert alloc.peek is None
        venue_next[0] = 102
        assert await alloc.take() == 102  # re-read from the venue
        venue_next[0] = 500  # advanced out of band
        assert await alloc.refresh() == 500
        assert await alloc.take() == 500
        assert alloc.fetches == 3
        assert c == 102 - 0  # the third nonce handed out before the re-read

    asyncio.run(main())
