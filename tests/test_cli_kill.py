"""``hedgekit kill`` against venues served over TCP (``VenueServer``, the bot's venues as another
process would reach them), judged by the venues' own records: every resting order cancelled,
every position flat, the latch in the bot's journal refusing the bot's next open (nothing
placed) until ``hedgekit kill --release``; and a venue that cannot be flattened in time makes
the command exit 1 naming it.

The venues and the bot run on a real-time loop in a thread of their own; the command runs in
the test's thread with its own loop, as it would in a terminal beside the bot.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import threading
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hedgekit import FillLedger
from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_INPUT, EXIT_OK, main
from hedgekit.clock import LoopClock
from hedgekit.execution import AtomicConfig, AtomicExecutor, EntryPlan, KillSwitch, LegSpec
from hedgekit.execution.results import OpenStatus
from hedgekit.journal import Journal, open_journal
from hedgekit.model import OrderStatus, Side
from hedgekit.tracking import VenueSession
from hedgekit.venues.remote import VenueServer
from hedgekit.venues.sim import FaultConfig, Lat, LatencyConfig, Outage, SimVenue

sys.path.insert(0, str(Path(__file__).parent / "venues"))
from simkit import market, order, venue_config

pytestmark = pytest.mark.timeout(120)
D = Decimal
T = TypeVar("T")
LIVE = {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}
LEGS = [LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL)]
TAKER = AtomicConfig(plan=EntryPlan.TAKER_BOTH, max_entry_spread_bps=D(500))


class Bot:
    """Two simulated venues served over TCP, and a bot on them (sessions, a journal-backed kill
    switch, an executor), on a real-time loop in a thread of its own."""

    def __init__(self, journal: Path, faults: dict[str, FaultConfig] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.path = journal
        self.faults = faults or {}
        self.venues: dict[str, SimVenue] = {}
        self.servers: dict[str, VenueServer] = {}
        self.sessions: dict[str, VenueSession] = {}
        self.journal: Journal | None = None
        self.call(self._start())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        clock = LoopClock()
        instant = LatencyConfig(Lat(), Lat(), Lat(), Lat())
        for name, style in (("hl", "hyperliquid"), ("aster", "aster")):
            cfg = venue_config(
                style, name=name, latency=instant, mkt=market(level_size=D("50")),
                faults=self.faults.get(name, FaultConfig()),
            )  # fmt: skip
            self.venues[name] = SimVenue(cfg, clock)
            await self.venues[name].connect()
            self.servers[name] = VenueServer(self.venues[name])
            await self.servers[name].start()
        ledger = FillLedger()
        self.sessions = {n: VenueSession(v, ledger, clock) for n, v in self.venues.items()}
        for s in self.sessions.values():
            await s.start()
        self.journal = await open_journal(str(self.path))
        self.switch = KillSwitch(self.sessions, clock=clock, journal=self.journal)
        self.executor = AtomicExecutor(self.sessions, kill_switch=self.switch, journal=self.journal)

    def args(self) -> list[str]:
        return [
            f"--venue={name}=127.0.0.1:{server.port}" for name, server in self.servers.items()
        ] + ["--journal", str(self.path)]

    async def _seed(self, positions: dict[str, str]) -> None:
        for name, size in positions.items():
            self.venues[name].engine.seed_position("ETH", D(size), D(100))
        for venue, side, size, price in (
            ("hl", "buy", "1", "95"), ("hl", "sell", "1", "105"),
            ("aster", "buy", "2", "94"), ("aster", "sell", "0.5", "106"),
        ):  # fmt: skip
            await self.sessions[venue].place(order(side, size, price))

    def seed(self, positions: dict[str, str]) -> None:
        """Positions, and two resting orders of the bot's on each venue."""
        self.call(self._seed(positions))

    def truth(self) -> tuple[dict[str, Decimal], list[str], int]:
        """Each venue's position, the orders resting there and how many orders it ever had,
        from the venues' own books."""

        async def read() -> tuple[dict[str, Decimal], list[str], int]:
            pos = {n: v.engine.position("ETH") for n, v in self.venues.items()}
            orders = [(n, r) for n, v in self.venues.items() for r in v.engine.orders("ETH")]
            resting = [f"{n}:{r.client_id}" for n, r in orders if r.status in LIVE]
            return pos, resting, len(orders)

        return self.call(read())

    def open(self) -> Any:
        return self.call(self.executor.open(LEGS, D(1), TAKER))

    async def _stop(self) -> None:
        for s in self.sessions.values():
            await s.close()
        if self.journal is not None:
            await self.journal.close()
        for server in self.servers.values():
            await server.close()
        for v in self.venues.values():
            await v.close()

    def stop(self) -> None:
        try:
            self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    b = Bot(tmp_path / "bot.sqlite3")
    try:
        yield b
    finally:
        b.stop()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_kill_cancels_every_resting_order_flattens_and_latches_until_released(bot: Bot) -> None:
    bot.seed({"hl": "3", "aster": "-2.5"})
    pos, resting, _ = bot.truth()
    assert pos == {"hl": 3, "aster": D("-2.5")} and len(resting) == 4  # really there before

    code, out, err = run_cli(["kill", *bot.args(), "--reason", "drill", "--deadline", "30"])
    assert code == EXIT_OK, (out, err)
    pos, resting, placed = bot.truth()
    assert pos == {"hl": 0, "aster": 0}
    assert resting == []
    assert "every venue flat, nothing resting" in out and "latched" in out
    # the per-venue summary: hl and aster each flat, each with its two orders found and cancelled
    rows = {
        line.split()[0]: line.split() for line in out.splitlines() if line[:3] in ("hl ", "ast")
    }
    assert rows["hl"][1] == "yes" and rows["aster"][1] == "yes"

    # The bot, running beside the command, opens nothing while the journal holds the latch.
    refused = bot.open()
    assert refused.status is OpenStatus.REFUSED and refused.reason == "kill switch engaged: drill"
    assert bot.truth()[2] == placed  # no order reached either venue
    assert run_cli(["kill", "--status", "--journal", str(bot.path)])[1].strip() == "latched: drill"

    code, out, _ = run_cli(["kill", "--release", "--journal", str(bot.path), "--reason", "done"])
    assert code == EXIT_OK and out.startswith("released (was latched: drill)")
    assert run_cli(["kill", "--status", "--journal", str(bot.path)])[1].strip() == "released"
    opened = bot.open()
    assert opened.status is OpenStatus.OPENED
    assert bot.truth()[0] == {"hl": 1, "aster": -1}


def test_the_kill_is_journalled_in_the_bots_journal(bot: Bot) -> None:
    bot.seed({"hl": "1"})
    code, out, _ = run_cli(["kill", *bot.args(), "--json"])
    assert code == EXIT_OK
    report = json.loads(out)
    assert report["status"] == "flat" and report["reason"] == "manual"
    assert len(report["venues"]["hl"]["adopted"]) == 2  # the bot's orders, found at the venue

    async def read() -> tuple[Any, list[str]]:
        assert bot.journal is not None
        (op,) = await bot.journal.operations(kind="kill")
        return op, [e.event for e in await bot.journal.events(op.op_id)]

    op, kinds = bot.call(read())
    assert op.status == "flat"
    assert kinds[0] == "start" and kinds[-1] == "result" and "order" in kinds and "note" in kinds


def test_a_venue_not_flat_by_the_deadline_exits_1_naming_it(tmp_path: Path) -> None:
    never = {"aster": FaultConfig(outages=(Outage("positions", 0, 10**15),))}
    b = Bot(tmp_path / "bot.sqlite3", faults=never)
    try:
        b.seed({"hl": "1", "aster": "-1"})
        code, out, _ = run_cli(["kill", *b.args(), "--deadline", "3"])
        assert code == EXIT_FAILED
        assert "NOT FLAT aster: positions never read" in out
        assert "NOT FLAT hl" not in out
        pos, resting, _ = b.truth()
        assert pos["hl"] == 0 and resting == []  # what could be done was done
        assert run_cli(["kill", "--status", "--journal", str(b.path)])[1].startswith("latched")
    finally:
        b.stop()


def test_bad_input_is_refused_in_one_line(tmp_path: Path) -> None:
    j = str(tmp_path / "j.sqlite3")
    code, _, err = run_cli(["kill", "--journal", j])
    assert code == EXIT_INPUT and "no venue" in err
    code, _, err = run_cli(["kill", "--journal", j, "--venue", "hl"])
    assert code == EXIT_INPUT and "NAME=HOST:PORT" in err
    bad = tmp_path / "venues.toml"
    bad.write_text('[[venues]]\nname = "hl"\naddress = "127.0.0.1:1"\ncolour = "red"\n')
    code, _, err = run_cli(["kill", "--journal", j, "--venues", str(bad)])
    assert code == EXIT_INPUT and "venues[0]" in err and "colour" in err
    code, _, err = run_cli(["kill", "--journal", j, "--release", "--venue", "hl=127.0.0.1:1"])
    assert code == EXIT_INPUT
    # nothing listens on port 1: a runtime error, one line, no traceback; the latch is set
    code, _, err = run_cli(["kill", "--journal", j, "--venue", "hl=127.0.0.1:1", "--deadline", "2"])
    assert code == EXIT_ERROR and err.startswith("hedgekit: error: venue hl: cannot connect")
    assert "the latch is set in the journal" in err and "Traceback" not in err
    assert run_cli(["kill", "--status", "--journal", j])[1].strip() == "latched: manual"


def test_a_venue_out_of_reach_is_named_and_the_others_are_still_flattened(bot: Bot) -> None:
    bot.seed({"hl": "2", "aster": "-2"})
    code, out, _ = run_cli(["kill", *bot.args(), "--venue", "ghost=127.0.0.1:1"])
    assert code == EXIT_FAILED
    assert "NOT FLAT ghost: cannot connect" in out
    assert "NOT FLAT hl" not in out and "NOT FLAT aster" not in out
    assert bot.truth()[:2] == ({"hl": 0, "aster": 0}, [])


def test_a_connections_file_names_the_venues(bot: Bot, tmp_path: Path) -> None:
    bot.seed({"aster": "-2"})
    f = tmp_path / "venues.toml"
    f.write_text(
        "".join(
            f'[[venues]]\nname = "{n}"\nkind = "remote"\naddress = "127.0.0.1:{s.port}"\n'
            for n, s in bot.servers.items()
        )
    )
    code, out, _ = run_cli(["kill", "--venues", str(f), "--journal", str(bot.path)])
    assert code == EXIT_OK, out
    assert bot.truth()[:2] == ({"hl": 0, "aster": 0}, [])
