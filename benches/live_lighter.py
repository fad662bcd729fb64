"""Over the wire, side by side: hedgekit's Lighter adapter and lighter-sdk's ``SignerClient``
placing the same order against ONE ``FakeLighter`` on 127.0.0.1, in one process; then signing
alone and the adapter's two hot inbound paths.

    PYTHONPATH=python python benches/live_lighter.py [--orders N] [--json benches/results.json]

Every figure is a p50 and a p99 in µs (``make bench`` writes them to section ``live-lighter`` of
the results file; ``benches/render.py`` renders BENCHMARKS.md's ``live-lighter`` table from it):

* ``place → socket``: from the client's order call to the signed ``sendTx`` body (the form
  holding ``tx_info=``) handed by aiohttp's ``StreamWriter`` to the transport, on this thread.
  hedgekit: ``LighterVenue.place()`` (checks, nonce, the native signer on the signer's worker
  thread, ``POST /api/v1/sendTx``). lighter-sdk: ``SignerClient.create_order`` (its optimistic
  nonce manager, the same native signer called on the loop, its own aiohttp client). The same
  order for both: ETH buy 0.01 IOC at 1500 (far from the 3000 market: nothing fills, nothing
  rests; the sequencer cancels it, so the fake keeps one finished order per order sent and its
  book is never touched). Each client has its own account and API key (no shared nonces);
  before each order both wait ``SETTLE_S`` untimed, so the fake's work after the previous answer
  (the sequencer, the account push hedgekit's own socket receives) is not counted.
* ``sign``: one CreateOrder signed by the Go library: hedgekit's
  :class:`~hedgekit.venues.lighter.signing.LighterSigner` (ctypes call and decoding, on the
  calling thread), the same through :meth:`~LighterSigner.sign` from the loop (the hop to the
  worker thread and back: what ``place()`` pays), and the SDK's ``sign_create_order``; same
  account, key and nonce, the same transaction checked (all but the signature and deadline).
* ``order_book → book``: one ``update/order_book`` frame (5+5 levels, chained on the one
  before by ``begin_nonce``) through the adapter's socket handler (``orjson`` decode, channel
  routing, the chain check) and its ``_on_book`` into the Rust book: the production path.
* ``account_all_trades → ledger``: one ``update/account_all_trades`` frame of one new fill
  through the same handler (``parse.fill_from_trade``, dedup, the event queue) and into the
  :class:`~hedgekit.FillLedger`.

The fake runs on its own loop in a thread of the same process, so the clients' loop runs the
clients only; both meet the same fake, the same GIL and the same loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from live import _batched, _pcts, run_cli
from live_aster import _signed_writes

from hedgekit import FillLedger
from hedgekit._core import OrderBook
from hedgekit.model import Liquidity, OrderRequest, OrderType, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.lighter import FakeLighter
from hedgekit.testing.fakes.lighter.market import DEFAULT_MARKETS
from hedgekit.testing.fakes.threaded import ServerThread
from hedgekit.venues.lighter import LighterCredentials, LighterVenue, parse, wire
from hedgekit.venues.lighter.signing import LighterSigner, generate_api_key
from hedgekit.venues.lighter.ws import LighterStream

SYMBOL, MARKET_ID, SIZE, PRICE = "ETH", 0, Decimal("0.01"), Decimal(1500)
BASE_I, PRICE_I = 100, 150_000  # 0.01 at 4 size decimals, 1500 at 2 price decimals
KEY_INDEX = 3
ACCOUNTS = {"hedgekit": 281, "sdk": 282, "sign": 283, "inbound": 284}
SETTLE_S = 0.003
"""An untimed pause before each order (both clients): the fake's thread finishes the previous
order (the sequencer, the account push) instead of holding the GIL while the next one is built
(``benches/live_aster.py`` saw the p50 double without it)."""
TX_BODY = b"tx_info="
"""What marks the ``sendTx`` form body (both clients send it form-encoded)."""


def _sdk() -> Any:
    with warnings.catch_warnings():  # its ws_client imports websockets' legacy client
        warnings.simplefilter("ignore", DeprecationWarning)
        import lighter
    return lighter


# ------------------------------------------------------------------------- place → socket
async def _hedgekit_place(url: str, ws_url: str, key: Secret, n: int, warmup: int) -> list[int]:
    venue = LighterVenue(
        url, LighterCredentials(ACCOUNTS["hedgekit"], KEY_INDEX, key), ws_url=ws_url,
        request_timeout_s=5.0, ack_timeout_s=5.0,
    )  # fmt: skip
    await venue.connect()
    out: list[int] = []
    try:
        with _signed_writes(TX_BODY) as sent:
            for i in range(warmup + n):
                req = OrderRequest(
                    SYMBOL, Side.BUY, SIZE, PRICE, f"bench-{i}", OrderType.LIMIT, TimeInForce.IOC
                )
                sent[0] = 0
                await asyncio.sleep(SETTLE_S)
                t0 = time.perf_counter_ns()
                ack = await venue.place(req)
                if i == 0:
                    assert ack.status.is_terminal and ack.filled == 0, ack
                assert sent[0] > t0, "the signed sendTx body was not seen leaving"
                if i >= warmup:
                    out.append(sent[0] - t0)
        assert venue.resigned == 0 and venue.resolved == 0
    finally:
        await venue.close()
    return out


async def _sdk_place(url: str, key: Secret, n: int, warmup: int) -> list[int]:
    lighter = _sdk()
    client = lighter.SignerClient(
        url=url, account_index=ACCOUNTS["sdk"], api_private_keys={KEY_INDEX: key.reveal()}
    )
    out: list[int] = []
    try:
        with _signed_writes(TX_BODY) as sent:
            for i in range(warmup + n):
                sent[0] = 0
                await asyncio.sleep(SETTLE_S)
                t0 = time.perf_counter_ns()
                tx, resp, err = await client.create_order(
                    MARKET_ID, i + 1, BASE_I, PRICE_I, False, wire.TYPE_LIMIT, wire.TIF_IOC,
                    order_expiry=0,
                )  # fmt: skip
                assert err is None and resp.code == 200, err
                assert sent[0] > t0, "the signed sendTx body was not seen leaving"
                if i >= warmup:
                    out.append(sent[0] - t0)
    finally:
        await client.close()
    return out


# ---------------------------------------------------------------------------- signing
async def _signing(rounds: int, warmup: int) -> dict[str, Any]:
    """Our wrapper (inline, and through the worker thread) against the SDK's
    ``sign_create_order``, interleaved, one account and key for all three."""
    private, _public = generate_api_key()
    url = "http://127.0.0.1:9"  # only its host picks the chain id; nothing is sent
    ours = LighterSigner(LighterCredentials(ACCOUNTS["sign"], KEY_INDEX, private), url)
    sdk = _sdk().SignerClient(
        url=url, account_index=ACCOUNTS["sign"], api_private_keys={KEY_INDEX: private.reveal()}
    )

    def order(nonce: int) -> dict[str, Any]:
        return {
            "market_index": MARKET_ID, "client_order_index": 17, "base_amount": BASE_I,
            "price": PRICE_I, "is_ask": False, "order_type": wire.TYPE_LIMIT,
            "time_in_force": wire.TIF_IOC, "reduce_only": False, "order_expiry_ms": 0,
            "nonce": nonce,
        }  # fmt: skip

    def sdk_sign(nonce: int) -> str:
        _, info, _, err = sdk.sign_create_order(
            MARKET_ID, 17, BASE_I, PRICE_I, False, wire.TYPE_LIMIT, wire.TIF_IOC, False, 0, 0,
            nonce=nonce, api_key_index=KEY_INDEX,
        )  # fmt: skip
        assert err is None, err
        return str(info)

    def fields(info: str) -> dict[str, Any]:
        d = dict(orjson.loads(info))
        d.pop("Sig", None)
        d.pop("ExpiredAt", None)
        return d

    try:
        assert fields(ours.create_order(**order(5)).tx_info) == fields(sdk_sign(5))
        inline: list[int] = []
        thread: list[int] = []
        theirs: list[int] = []
        for i in range(warmup + rounds):
            t0 = time.perf_counter_ns()
            ours.create_order(**order(i))
            t1 = time.perf_counter_ns()
            await ours.sign(ours.create_order, **order(i))
            t2 = time.perf_counter_ns()
            sdk_sign(i)
            t3 = time.perf_counter_ns()
            if i >= warmup:
                inline.append(t1 - t0)
                thread.append(t2 - t1)
                theirs.append(t3 - t2)
    finally:
        ours.close()
        await sdk.close()
    return {"hedgekit": _pcts(inline), "hedgekit_thread": _pcts(thread), "sdk": _pcts(theirs)}


# ----------------------------------------------------------------------------- in-process
def _level(price: Decimal, size: Decimal) -> dict[str, str]:
    return {"price": f"{price:.2f}", "size": f"{size:.4f}"}


def inbound_paths(
    frames_n: int = 50_000, clock: Any = None
) -> tuple[Callable[[], None], Callable[[], None], LighterVenue]:
    """The two inbound paths as calls: a new ``account_all_trades`` frame (one fill) through
    the adapter's socket handler into the ledger, and one chained ``update/order_book`` frame
    through the same handler into the book (checked once each); each may be called
    ``frames_n`` times. Also the venue (``resyncs`` must stay 0). ``clock``: the adapter's
    clock (default the loop's: call them on a running loop)."""
    private, _public = generate_api_key()
    account = ACCOUNTS["inbound"]
    venue = LighterVenue(
        "http://127.0.0.1:9", LighterCredentials(account, KEY_INDEX, private),
        symbols=(SYMBOL,), clock=clock,
    )  # fmt: skip
    # what connect() loads, without the socket: the fake's own market details
    details = {"order_book_details": [m.detail(m.mid, m.mid, Decimal(0)) for m in DEFAULT_MARKETS]}
    venue._instruments = parse.instruments(venue.name, details, venue.quirks)
    venue._infos = {s: i.info for s, i in venue._instruments.items()}
    venue._by_market = {i.market_id: s for s, i in venue._instruments.items()}
    for sym in venue._infos:
        venue._books[sym] = OrderBook(venue.name, sym)
    stream = LighterStream(
        venue.name, "ws://127.0.0.1:9/stream", account, (MARKET_ID,), None,
        venue._on_book, venue._on_account,
    )  # fmt: skip
    on_message = stream._on_message
    queue = venue.events()
    ledger = FillLedger()
    coi = venue.client_order_index("hk-1")
    ledger.register_order(venue.name, "hk-1", "buy", Decimal(10**9))
    tids = itertools.count(1)
    now_ms = time.time_ns() // 1_000_000
    trades = [
        orjson.dumps(
            {
                "type": "update/account_all_trades",
                "channel": f"account_all_trades:{account}",
                "timestamp": now_ms,
                "total_volume": 0,
                "trades": {
                    str(MARKET_ID): [
                        {
                            "trade_id": (t := next(tids)),
                            "trade_id_str": str(t),
                            "tx_hash": format(t, "080x"),
                            "type": "trade",
                            "market_id": MARKET_ID,
                            "size": "0.0100",
                            "price": "3000.10",
                            "usd_amount": "30.001",
                            "ask_id": 281474976710656 + t,
                            "bid_id": 281474976800000,
                            "ask_id_str": str(281474976710656 + t),
                            "bid_id_str": "281474976800000",
                            "ask_client_id": 0,
                            "bid_client_id": coi,
                            "ask_client_id_str": "0",
                            "bid_client_id_str": str(coi),
                            "ask_account_id": 1,
                            "bid_account_id": account,
                            "is_maker_ask": True,
                            "block_height": t,
                            "timestamp": now_ms,
                            "taker_fee": 200,
                            "maker_fee": 0,
                            "taker_position_size_before": "0",
                            "maker_position_size_before": "0",
                            "transaction_time": now_ms * 1000,
                        }
                    ]
                },
            }
        )  # fmt: skip
        for _ in range(frames_n + 1)
    ]
    trade_it = iter(trades)

    def fill_to_ledger() -> None:
        on_message(next(trade_it))
        f = queue._items.popleft()  # the fill: what a consumer takes
        ledger.apply(venue.name, int(f.trade_id), "hk-1", f.price, f.size, f.fee,
                     f.liquidity is Liquidity.MAKER, f.ts_ns)  # fmt: skip

    fill_to_ledger()
    rec = ledger.order(venue.name, "hk-1")
    assert rec is not None and rec.filled == Decimal("0.01"), rec

    mid = Decimal(3000)
    snapshot = {"code": 0, "offset": 1, "nonce": 1000, "begin_nonce": 999,
                "bids": [_level(mid - Decimal("0.10") * (i + 1), Decimal(5)) for i in range(50)],
                "asks": [_level(mid + Decimal("0.10") * (i + 1), Decimal(5)) for i in range(50)]}  # fmt: skip
    on_message(orjson.dumps({"type": "subscribed/order_book", "channel": f"order_book:{MARKET_ID}",
                             "order_book": snapshot}))  # fmt: skip
    updates = []
    nonce = 1000
    for turn in range(frames_n + 1):
        sizes = [Decimal(1) + Decimal((turn + i) % 7) / 4 for i in range(5)]
        updates.append(
            orjson.dumps(
                {
                    "type": "update/order_book",
                    "channel": f"order_book:{MARKET_ID}",
                    "order_book": {
                        "code": 0,
                        "offset": turn + 2,
                        "nonce": nonce + 3,
                        "begin_nonce": nonce,
                        "bids": [
                            _level(mid - Decimal("0.10") * (i + 1), s) for i, s in enumerate(sizes)
                        ],
                        "asks": [
                            _level(mid + Decimal("0.10") * (i + 1), s) for i, s in enumerate(sizes)
                        ],
                    },
                    "timestamp": now_ms,
                }
            )  # fmt: skip
        )
        nonce += 3
    update_it = iter(updates)

    def book_update() -> None:
        on_message(next(update_it))

    book_update()
    quote = venue.quote(SYMBOL)
    assert quote is not None and quote.bid == Decimal("2999.90"), quote
    assert venue._books[SYMBOL].levels("bid", 1)[0][1] == Decimal(1)  # the update's size
    assert venue.resyncs == 0
    return fill_to_ledger, book_update, venue


def _inbound(rounds: int) -> dict[str, Any]:
    fill_to_ledger, book, venue = inbound_paths(rounds * 20)
    out = {
        "trades_ledger": _pcts(_batched(fill_to_ledger, rounds, 20)),
        "order_book_book": _pcts(_batched(book, rounds, 20)),
    }
    assert venue.resyncs == 0, "a book frame broke the chain"
    venue.signer.close()
    return out


def measure(orders: int, warmup: int, rounds: int) -> dict[str, Any]:
    """Every figure of the ``live-lighter`` section."""
    keys = {c: generate_api_key() for c in ("hedgekit", "sdk")}
    data: dict[str, Any] = {"orders": orders, "warmup": warmup}
    with ServerThread(
        FakeLighter,
        [(ACCOUNTS[c], KEY_INDEX, pub) for c, (_priv, pub) in keys.items()],
        sequencer_delay_s=0.001,
        book_interval_s=3600.0,  # no book traffic while orders are timed
        ping_interval_s=None,
        funding=False,
        timeout=30.0,
    ) as server:
        ws_url = server.call(lambda fake: fake.ws_url)
        data["hedgekit"] = _pcts(
            asyncio.run(_hedgekit_place(server.url, ws_url, keys["hedgekit"][0], orders, warmup))
        )
        data["sdk"] = _pcts(asyncio.run(_sdk_place(server.url, keys["sdk"][0], orders, warmup)))
        time.sleep(0.05)  # the sequencer's last order
        for c in ("hedgekit", "sdk"):
            acct = ACCOUNTS[c]
            assert server.call(lambda fake, a=acct: fake.open_orders(a)) == []
            assert server.call(lambda fake, a=acct: len(fake.account(a).orders)) == orders + warmup
        assert server.call(lambda fake: fake.state.check_invariants()) == []
    data["sign"] = asyncio.run(_signing(rounds, max(1, warmup // 10)))

    async def inbound() -> dict[str, Any]:  # on a running loop, as the adapter's clock needs
        return _inbound(rounds)

    data.update(asyncio.run(inbound()))
    return data


def main() -> None:
    run_cli(
        __doc__,
        "live-lighter",
        measure,
        {"lighter_sdk": "lighter-sdk"},
        rounds=(500, "rounds of the signing and inbound figures"),
    )


if __name__ == "__main__":
    main()
