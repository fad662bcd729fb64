"""A ccxt bot handing its pair to hedgekit: it keeps its own ccxt.pro exchange objects (as bots
that already trade through ccxt do), wraps each in :class:`hedgekit.venues.ccxt.CcxtVenue`, and
lets hedgekit open and close a delta-neutral pair across them: long ETH on Aster, short ETH on
Hyperliquid, as one order, then flat again.

Self-contained: both venues are hedgekit's wire-level fakes (``FakeHyperliquid``,
``FakeAster``), started in-process on 127.0.0.1, with ccxt's ``urls['api']`` pointed at them.
Against the real venues, drop the fakes and the ``urls`` lines and give your keys.

    PYTHONPATH=python .venv-ccxt/bin/python examples/ccxt_bot.py

Exit status 0 when the pair opened and closed and both venues' own records show the account
flat; 1 otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

from hedgekit import FillLedger, Side
from hedgekit._core import EthSigner
from hedgekit.clock import LoopClock
from hedgekit.execution import AtomicExecutor, LegSpec
from hedgekit.execution.close import CloseExecutor
from hedgekit.execution.config import AtomicConfig, CloseConfig, CloseLeg, EntryPlan
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.tracking import VenueSession
from hedgekit.venues.ccxt import CcxtVenue

SIZE = Decimal("0.05")
HL_ETH, ASTER_ETH = "ETH/USDC:USDC", "ETH/USDT:USDT"


def _key(name: str) -> str:
    return hashlib.sha256(f"hedgekit-example-ccxt-{name}".encode()).hexdigest()


def my_exchanges(hl_fake: FakeHyperliquid, aster_fake: FakeAster) -> tuple[Any, Any]:
    """The bot's own ccxt.pro exchanges (only the ``urls`` lines are for the fakes)."""
    hl_key, aster_key = _key("hl"), _key("aster")
    hl = ccxtpro.hyperliquid(
        {
            "privateKey": "0x" + hl_key,
            "walletAddress": EthSigner(bytes.fromhex(hl_key)).address,
            "options": {"builderFee": False, "approvedBuilderFee": True, "refSet": True},
        }
    )
    hl.urls["api"] = {"public": hl_fake.url, "private": hl_fake.url,
                      "ws": {"public": hl_fake.ws_url, "private": hl_fake.ws_url}}  # fmt: skip
    aster = ccxtpro.aster(
        {
            "privateKey": "0x" + aster_key,
            "walletAddress": EthSigner(bytes.fromhex(aster_key)).address,
            "rateLimit": 20,  # the fake's pace; the venue's default is 333 ms a request
            "options": {"builderFee": False, "defaultType": "swap"},
        }
    )
    base, ws = aster_fake.url, aster_fake.ws_url
    aster.urls["api"] = {"fapiPublic": base + "/fapi", "fapiPrivate": base + "/fapi",
                         "sapiPublic": base + "/api", "sapiPrivate": base + "/api",
                         "ws": {"public": {"swap": ws + "/stream"},
                                "private": {"swap": ws + "/ws"}}}  # fmt: skip
    return hl, aster


async def main() -> int:
    hl_addr = EthSigner(bytes.fromhex(_key("hl"))).address.lower()
    aster_addr = EthSigner(bytes.fromhex(_key("aster"))).address.lower()
    async with (
        FakeHyperliquid(accounts=[hl_addr], book_interval_s=0.1, source="a") as hl_fake,
        FakeAster(accounts=[aster_addr], depth_interval_s=0.1) as aster_fake,
    ):
        hl_ex, aster_ex = my_exchanges(hl_fake, aster_fake)
        # what the bot did with ccxt before: its own calls on its own objects
        ticker = await hl_ex.fetch_ticker(HL_ETH)
        print(f"ccxt says ETH on hyperliquid: {ticker['last']}")
        venues = {
            "hyperliquid": CcxtVenue(hl_ex, name="hyperliquid", symbols=(HL_ETH,),
                                     poll_interval_s=0.2),
            "aster": CcxtVenue(aster_ex, name="aster", symbols=(ASTER_ETH,),
                               poll_interval_s=0.2),
        }  # fmt: skip
        ledger, clock = FillLedger(), LoopClock()
        sessions = {name: VenueSession(v, ledger, clock) for name, v in venues.items()}
        ok = False
        try:
            for venue, session in zip(venues.values(), sessions.values(), strict=True):
                await venue.connect()
                await session.start()
            for _ in range(100):  # both books in before the pre-flight reads them
                if all(v.quote(s) for v, s in zip(venues.values(), (HL_ETH, ASTER_ETH))):
                    break
                await asyncio.sleep(0.05)
            legs = [
                LegSpec("aster", ASTER_ETH, Side.BUY),
                LegSpec("hyperliquid", HL_ETH, Side.SELL),
            ]
            opened = await AtomicExecutor(sessions).open(
                legs, SIZE, AtomicConfig(plan=EntryPlan.TAKER_BOTH)
            )
            print(f"open: {opened.status.value}")
            print(f"  aster long {aster_fake.position(aster_addr, 'ETHUSDT')}, "
                  f"hyperliquid short {hl_fake.position(hl_addr, 'ETH')}")  # fmt: skip
            closed = await CloseExecutor(sessions).close(
                [CloseLeg("aster", ASTER_ETH), CloseLeg("hyperliquid", HL_ETH)],
                CloseConfig(phase1_timeout_s=1.0),
            )
            print(f"close: {closed.status.value}")
            # the venues' own records judge: positions and resting orders at the fakes
            flat = (aster_fake.position(aster_addr, "ETHUSDT"), hl_fake.position(hl_addr, "ETH"))
            print(f"  positions at the venues: aster {flat[0]}, hyperliquid {flat[1]}")
            resting = [*aster_fake.open_orders(aster_addr), *hl_fake.open_orders(hl_addr)]
            print(f"  orders resting at the venues: {len(resting)}")
            ok = (
                opened.status.value == "opened"
                and closed.status.value == "closed"
                and flat == (0, 0)
                and not resting
            )
        finally:
            for session in sessions.values():
                await session.close()
            for venue in venues.values():
                await venue.close()
            await hl_ex.close()  # the bot's objects: the bot closes them
            await aster_ex.close()
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
