"""``hedgekit kill`` against the wire-level fakes of Aster and Lighter: each fake on a loop of its
own (the command runs ``asyncio.run`` itself), a bot in another "process" (the live adapter on a
short loop of its own) that leaves a position and resting orders, a connections file, and the
fakes' own records to judge by."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from hedgekit._core import EthSigner
from hedgekit.cli import main
from hedgekit.model import OrderRequest, Side, TimeInForce
from hedgekit.secrets import Secret
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.lighter import FakeLighter
from hedgekit.testing.fakes.threaded import ServerThread
from hedgekit.venues.aster import AsterCredentials, AsterVenue
from hedgekit.venues.lighter import LighterCredentials, LighterVenue
from hedgekit.venues.transport import Backoff

D = Decimal
ASTER_SYMBOL = "ETHUSDT"
LIGHTER_ACCOUNT = 281
LIGHTER_KEY_INDEX = 3
API_KEY, API_SECRET = "kill-test-api-key", "kill-test-api-secret-0123456789"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``hedgekit ARGV``: the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def aster_key(name: str = "user") -> tuple[str, str]:
    """A deterministic private key (hex) and its address."""
    key = hashlib.sha256(f"hedgekit-kill-aster-{name}".encode()).hexdigest()
    return key, EthSigner(bytes.fromhex(key)).address


@contextmanager
def aster_in_thread(user: str, *, v1: bool = False) -> Iterator[ServerThread[FakeAster]]:
    """A :class:`FakeAster` with ``user``'s account (and, ``v1``, an API key acting for it)."""
    keys = {API_KEY: (API_SECRET, user)} if v1 else None
    with ServerThread(
        FakeAster, accounts=[user], api_keys=keys, seed=5, depth_interval_s=0.05, timeout=20.0
    ) as server:
        yield server
        assert server.call(lambda f: f.state.check_invariants()) == []


@contextmanager
def lighter_in_thread(public_key: str) -> Iterator[ServerThread[FakeLighter]]:
    """A :class:`FakeLighter` with the account and its API key registered."""
    with ServerThread(
        FakeLighter,
        api_keys=[(LIGHTER_ACCOUNT, LIGHTER_KEY_INDEX, public_key)],
        seed=3,
        sequencer_delay_s=0.02,
        ping_interval_s=None,
        timeout=20.0,
    ) as server:
        yield server


async def _quoted(venue: AsterVenue | LighterVenue, symbol: str) -> tuple[D, D]:
    async with asyncio.timeout(5):
        for _ in range(500):
            q = venue.quote(symbol)
            if q is not None:
                return q.bid, q.ask
            await asyncio.sleep(0.01)
    raise AssertionError(f"no book for {symbol}")


async def _leave(
    venue: AsterVenue | LighterVenue, symbol: str, size: str, step: D, tag: str
) -> None:
    """A long of ``size`` (a crossing IOC) and two bids resting below the market."""
    await venue.connect()
    try:
        bid, ask = await _quoted(venue, symbol)
        ioc = OrderRequest(
            symbol, Side.BUY, D(size), ask + step * 10, f"{tag}-in", tif=TimeInForce.IOC
        )
        await venue.place(ioc)
        for i, below in enumerate((50, 60)):
            rest = OrderRequest(symbol, Side.BUY, D("0.1"), bid - step * below, f"{tag}-r{i}")
            await venue.place(rest)
    finally:
        await venue.close()


def leave_on_aster(url: str, credentials: AsterCredentials, size: str = "0.5") -> None:
    """A bot's process on Aster: a long and two resting bids, left behind."""
    venue = AsterVenue(
        url, credentials, symbols=(ASTER_SYMBOL,), request_timeout_s=2.0, dead_man_s=None,
        backoff=Backoff(0.05, 0.2, rng=random.Random(2)),
    )  # fmt: skip
    asyncio.run(_leave(venue, ASTER_SYMBOL, size, D(1), "bot"))


def leave_on_lighter(url: str, private_key: str, size: str = "0.5") -> None:
    """A bot's process on Lighter: a long and two resting bids, left behind."""
    credentials = LighterCredentials(LIGHTER_ACCOUNT, LIGHTER_KEY_INDEX, Secret(private_key))
    venue = LighterVenue(
        url, credentials, symbols=("ETH",), request_timeout_s=2.0,
        backoff=Backoff(0.05, 0.2, rng=random.Random(3)),
    )  # fmt: skip
    asyncio.run(_leave(venue, "ETH", size, D(1), "bot"))


def aster_table(name: str, url: str, lines: list[str]) -> str:
    """A ``[[venues]]`` table of kind aster."""
    body = "\n".join(lines)
    return (
        f'[[venues]]\nname = "{name}"\nkind = "aster"\nurl = "{url}"\n'
        f'symbols = ["{ASTER_SYMBOL}"]\nrequest_timeout_s = 2\n{body}\n'
    )


def lighter_table(name: str, url: str, lines: list[str]) -> str:
    """A ``[[venues]]`` table of kind lighter."""
    body = "\n".join(lines)
    return (
        f'[[venues]]\nname = "{name}"\nkind = "lighter"\nurl = "{url}"\n'
        f"account_index = {LIGHTER_ACCOUNT}\napi_key_index = {LIGHTER_KEY_INDEX}\n"
        f'symbols = ["ETH"]\nrequest_timeout_s = 2\n{body}\n'
    )


def kill(tmp_path: Path, tables: list[str], *extra: str) -> tuple[int, str, str, str]:
    """Writes the connections file and runs ``hedgekit kill`` with a fresh journal: the exit
    code, stdout, stderr and the journal's path."""
    venues = tmp_path / "venues.toml"
    venues.write_text("\n".join(tables))
    journal = str(tmp_path / "j.sqlite3")
    code, out, err = run_cli(
        ["kill", "--journal", journal, "--venues", str(venues), "--deadline", "20", *extra]
    )
    return code, out, err, journal


def latched(journal: str) -> str:
    """What ``hedgekit kill --status`` says of the journal."""
    return run_cli(["kill", "--status", "--journal", journal])[1].strip()


def aster_sells(server: ServerThread[FakeAster], user: str) -> list[tuple[bool, D]]:
    """Every sell order the fake booked for ``user``: (reduce-only, executed)."""
    orders = server.call(lambda f: list(f.account(user).orders.values()))
    return [(o.reduce_only, o.executed) for o in orders if o.side == "SELL"]


def lighter_sells(server: ServerThread[FakeLighter]) -> list[tuple[bool, D]]:
    """Every ask the fake booked for the account: (reduce-only, filled)."""
    orders = server.call(lambda f: list(f.account(LIGHTER_ACCOUNT).orders.values()))
    return [(o.reduce_only, o.filled) for o in orders if o.is_ask]


def flattened_reduce_only(sells: list[tuple[bool, D]], size: str) -> bool:
    """The sells that closed a long of ``size`` were all reduce-only and sold exactly it."""
    return bool(sells) and all(ro for ro, _ in sells) and sum(q for _, q in sells) == D(size)
