"""The official lighter-sdk (1.1.8) against the fake: its client check passes, every transaction
it signs is accepted and acted on, its nonce manager recovers from a nonce used elsewhere, its
REST models parse every read, and its ``WsClient`` receives the book and the account.

The SDK's client check runs a blocking HTTP call in the Go signer, so it goes to a thread;
``WsClient`` has no stop, so it runs as a task that is cancelled. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

with warnings.catch_warnings():
    # lighter-sdk's ws_client imports websockets' legacy client, which warns on import
    warnings.simplefilter("ignore", DeprecationWarning)
    import lighter

from hedgekit.model import Side
from hedgekit.testing.fakes.lighter import FakeLighter
from hedgekit.testing.fakes.threaded import ServerThread

D = Decimal
ACCOUNT = 7
KEY = 3
LIMIT, MARKET = 0, 1
IOC, GTT, POST_ONLY = 0, 1, 2


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def run(body: Callable[[FakeLighter, Any], Awaitable[None]], **kwargs: Any) -> None:
    """Runs ``body(fake, client)`` with a fresh SDK key registered as (ACCOUNT, KEY) and a
    ``SignerClient`` constructed inside the running loop."""
    private, public, err = lighter.create_api_key()
    assert err is None and public.startswith("0x")

    async def main() -> None:
        async with FakeLighter(
            [(ACCOUNT, KEY, public)], sequencer_delay_s=0.01, book_interval_s=0.02, **kwargs
        ) as fake:
            client = lighter.SignerClient(
                url=fake.url, account_index=ACCOUNT, api_private_keys={KEY: private}
            )
            try:
                await body(fake, client)
                await fake.settle()
                assert fake.state.check_invariants() == []
            finally:
                await client.close()

    asyncio.run(main())


def test_the_client_check_passes_and_fails_on_a_different_key() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        assert await asyncio.to_thread(client.check_client) is None
        # another account whose slot holds some other public key: the check names the
        # mismatch (the Go signer remembers a passed check per account and key for the whole
        # process, so this uses an account no other check has passed for)
        private, _public, _err = lighter.create_api_key()
        fake.add_api_key(70_001, KEY, lighter.create_api_key()[1])
        other = lighter.SignerClient(
            url=fake.url, account_index=70_001, api_private_keys={KEY: private}
        )
        try:
            err = await asyncio.to_thread(other.check_client)
        finally:
            await other.close()
        assert err is not None and "does not match" in err and "api key 3" in err

    run(body)


def test_orders_of_every_kind_are_accepted_and_acted_on() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        # limit GTT below the touch: rests, in the public book
        tx, resp, err = await client.create_order(0, 11, 2500, 299955, False, LIMIT, GTT)
        assert err is None and resp.code == 200 and tx.price == 299955
        # post-only: rests
        _, resp, err = await client.create_order(0, 12, 1000, 299800, False, LIMIT, POST_ONLY)
        assert err is None and resp.code == 200
        # IOC crossing the touch: fills 0.3
        _, resp, err = await client.create_order(
            0, 13, 3000, 300100, False, LIMIT, IOC, order_expiry=0
        )
        assert err is None
        # reduce-only sell of part of the position: fills
        _, resp, err = await client.create_order(
            0, 14, 1000, 299900, True, MARKET, IOC, reduce_only=True, order_expiry=0
        )
        assert err is None
        await fake.settle()
        acct = fake.account(ACCOUNT)
        by_coi = {o.client_order_index: o for o in acct.orders.values()}
        assert {k: by_coi[k].status for k in (11, 12, 13, 14)} == {
            11: "open", 12: "open", 13: "filled", 14: "filled",
        }  # fmt: skip
        assert fake.position(ACCOUNT, "ETH") == D("0.2")
        assert by_coi[11].price == D("2999.55") and by_coi[11].initial == D("0.25")
        book = await lighter.OrderApi(client.api_client).order_book_orders(market_id=0, limit=50)
        assert any(b.order_index == by_coi[11].order_index for b in book.bids)
        # our order is in the public book and leaves it on cancel
        _, resp, err = await client.cancel_order(0, by_coi[11].order_index)
        assert err is None and resp.code == 200
        await fake.settle()
        assert by_coi[11].status == "canceled"
        book = await lighter.OrderApi(client.api_client).order_book_orders(market_id=0, limit=50)
        assert all(b.order_index != by_coi[11].order_index for b in book.bids)
        # modify the post-only one (by its client order index)
        _, resp, err = await client.modify_order(0, 12, 2000, 299700)
        assert err is None and resp.code == 200
        await fake.settle()
        assert (by_coi[12].price, by_coi[12].initial) == (D("2997.00"), D("0.2"))
        # what the venue refuses reaches the SDK as its error text
        _, _, err = await client.create_order(0, 15, 10, 299000, False, LIMIT, GTT)
        assert err is not None and "21706" in err
        _, _, err = await client.create_order(0, 12, 2500, 299000, False, LIMIT, GTT)
        assert err is not None and "21728" in err

    run(body)


def test_a_nonce_used_elsewhere_gets_21104_then_the_sdk_refreshes() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        _, resp, err = await client.create_order(0, 1, 2500, 299000, False, LIMIT, GTT)
        assert err is None
        assert fake.next_nonce(ACCOUNT, KEY) == 1
        fake.advance_nonce(ACCOUNT, KEY, 4)  # another process used the key four times
        tx, resp, err = await client.create_order(0, 2, 2500, 299000, False, LIMIT, GTT)
        assert (tx, resp) == (None, None) and "21104" in err and "invalid nonce" in err
        tx, resp, err = await client.create_order(0, 2, 2500, 299000, False, LIMIT, GTT)
        assert err is None and tx.nonce == 5 and resp.code == 200
        await fake.settle()
        assert sorted(o.client_order_index for o in fake.open_orders(ACCOUNT)) == [1, 2]

    run(body)


def test_the_sdk_models_parse_every_read() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        _, resp, _ = await client.create_order(
            0, 5, 2500, 301000, False, MARKET, IOC, order_expiry=0
        )
        await fake.settle()
        api = client.api_client
        auth, err = client.create_auth_token_with_expiry(api_key_index=KEY)
        assert err is None and auth.split(":")[1:3] == [str(ACCOUNT), str(KEY)]
        orders, accounts = lighter.OrderApi(api), lighter.AccountApi(api)
        details = await orders.order_book_details(market_id=0)
        eth = details.order_book_details[0]
        assert (eth.size_decimals, eth.price_decimals, eth.min_base_amount) == (4, 2, "0.0050")
        assert [b.symbol for b in (await orders.order_books()).order_books] == ["ETH", "BTC", "SOL"]
        acct = (await accounts.account(by="index", value=str(ACCOUNT))).accounts[0]
        assert acct.positions[0].position == "0.2500" and acct.positions[0].sign == 1
        keys = (await accounts.apikeys(account_index=ACCOUNT)).api_keys
        assert keys[0].nonce == 1 and not keys[0].public_key.startswith("0x")
        nonce = await lighter.TransactionApi(api).next_nonce(
            account_index=ACCOUNT, api_key_index=KEY
        )
        assert nonce.nonce == 1
        done = await orders.account_inactive_orders(
            authorization=auth, account_index=ACCOUNT, limit=5
        )
        assert done.orders[0].status == "filled" and done.orders[0].client_order_index == 5
        active = await orders.account_active_orders(
            authorization=auth, account_index=ACCOUNT, market_id=0
        )
        assert active.orders == []
        trades = await orders.trades(
            sort_by="timestamp", limit=5, account_index=ACCOUNT, authorization=auth
        )
        assert trades.trades[0].size == "0.2500" and trades.trades[0].bid_account_id == ACCOUNT
        tx = await lighter.TransactionApi(api).tx(by="hash", value=resp.tx_hash)
        assert tx.status == 2 and tx.type == 14
        fake.settle_funding("ETH")
        rows = await accounts.position_funding(account_index=ACCOUNT, limit=5, authorization=auth)
        assert rows.position_fundings[0].market_id == 0
        rates = await lighter.FundingApi(api).funding_rates()
        assert rates.funding_rates[0].exchange == "lighter"
        hist = await lighter.CandlestickApi(api).fundings(
            market_id=0, resolution="1h", start_timestamp=0, end_timestamp=1 << 40, count_back=5
        )
        assert len(hist.fundings) == 1

    run(body)


def test_the_ws_client_receives_the_book_and_the_account() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        books: list[tuple[str, dict[str, Any]]] = []
        accounts: list[tuple[str, dict[str, Any]]] = []
        ws = lighter.WsClient(
            ws_url=fake.ws_url,
            order_book_ids=[0],
            account_ids=[ACCOUNT],
            on_order_book_update=lambda m, b: books.append((m, b)),
            on_account_update=lambda a, s: accounts.append((a, s)),
        )
        task = asyncio.get_running_loop().create_task(ws.run_async())
        try:
            await until(lambda: bool(books) and bool(accounts))
            assert books[0][0] == "0" and accounts[0][0] == str(ACCOUNT)
            assert accounts[0][1]["type"] == "subscribed/account_all"
            _, _, err = await client.create_order(0, 9, 2500, 299955, False, LIMIT, GTT)
            assert err is None
            price = "2999.55"
            await until(lambda: any(b["price"] == price for b in ws.order_book_states["0"]["bids"]))
            # an outside seller fills it: the account stream carries the trade and position
            fake.trade_against("ETH", Side.SELL, D(1000), D("2999.55"))
            await until(
                lambda: any(
                    s.get("type") == "update/account_all" and s.get("trades") for _a, s in accounts
                )
            )
            last = next(s for _a, s in reversed(accounts) if s.get("trades"))
            assert last["trades"]["0"][0]["size"] == "0.2500"
            await until(lambda: all(b["price"] != price for b in ws.order_book_states["0"]["bids"]))
            assert fake.position(ACCOUNT, "ETH") == D("0.25")
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            if ws.ws is not None:
                await ws.ws.close()

    run(body)


def test_a_synchronous_client_check_against_a_fake_in_its_own_thread() -> None:
    private, public, _ = lighter.create_api_key()
    with ServerThread(FakeLighter, [(70_002, KEY, public)]) as server:

        async def check() -> str | None:
            client = lighter.SignerClient(
                url=server.url, account_index=70_002, api_private_keys={KEY: private}
            )
            try:
                return client.check_client()  # blocks: the fake answers from its own loop
            finally:
                await client.close()

        assert asyncio.run(check()) is None
        keys = server.call(lambda fake: fake.account(70_002).api_keys)
        assert keys[KEY].public_key == public.removeprefix("0x")


def test_a_batch_signed_offline_with_explicit_nonces() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        types, infos = [], []
        for n, coi in enumerate((41, 42)):
            tx_type, info, _hash, err = client.sign_create_order(
                0, coi, 2500, 299000 - n * 100, 0, LIMIT, GTT, nonce=n, api_key_index=KEY
            )
            assert err is None
            types.append(tx_type)
            infos.append(info)
        answer = await client.send_tx_batch(types, infos)
        assert answer.code == 200 and len(answer.tx_hash) == 2
        await fake.settle()
        assert sorted(o.client_order_index for o in fake.open_orders(ACCOUNT)) == [41, 42]
        assert fake.next_nonce(ACCOUNT, KEY) == 2

    run(body)


def test_the_sdks_market_order_helpers_price_from_the_fakes_book() -> None:
    async def body(fake: FakeLighter, client: Any) -> None:
        # the helper reads orderBookOrders, parses its integer-scaled strings, and bounds the
        # worst price by the slippage
        best = await client.get_best_price(0, is_ask=False)
        assert best == 300010  # the best ask, 3000.10, as the integer the signer wants
        _, resp, err = await client.create_market_order_limited_slippage(0, 51, 2500, 0.01, False)
        assert err is None and resp.code == 200
        await fake.settle()
        assert fake.position(ACCOUNT, "ETH") == D("0.25")
        _, resp, err = await client.create_market_order(0, 52, 2500, 299000, True)
        assert err is None
        await fake.settle()
        assert fake.position(ACCOUNT, "ETH") == 0
        statuses = {o.client_order_index: o.status for o in fake.account(ACCOUNT).orders.values()}
        assert statuses == {51: "filled", 52: "filled"}

    run(body)
