"""The child process of ``test_process_kill.py``: a hedgekit process driving two venues served by
the parent (:class:`hedgekit.venues.remote.VenueServer`).

``--mode open``: connects, prints ``READY``, waits for both books, then opens the scenario's pair
with a journal. Each order handed to a venue is announced as ``SENT <venue> <client_id>``. At the
``--freeze`` point the process prints ``FREEZE <point>`` and stops dead (a blocking sleep: no task
runs any more) so the parent's SIGKILL lands exactly there:

* ``intent``: right after the operation's intent is journalled, before any order;
* ``between_legs``: the first order is out, the second is about to be sent;
* ``during_hedge``: one leg filled, the hedge order (``hkl...``) is about to be sent.

``--mode recover``: new sessions on the same journal, ``recover()``, the outcomes as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from hedgekit import FillLedger
from hedgekit.clock import LoopClock
from hedgekit.execution import AtomicExecutor
from hedgekit.execution.config import LegSpec
from hedgekit.execution.recovery import recover
from hedgekit.journal import open_journal
from hedgekit.model import OrderRequest
from hedgekit.scenario import load_scenario
from hedgekit.tracking import VenueSession
from hedgekit.venues.remote import RemoteVenue

SCENARIO = Path(__file__).parents[1] / "scenarios" / "one_leg_never_fills.toml"
FREEZE_S = 30.0  # the parent kills within milliseconds; this only bounds an orphan


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def freeze(point: str) -> None:
    say(f"FREEZE {point}")
    time.sleep(FREEZE_S)  # blocks the loop: nothing of this process moves until it is killed
    sys.exit(3)


async def connect(ports: dict[str, int], clock: LoopClock) -> dict[str, RemoteVenue]:
    venues = {n: RemoteVenue(n, "127.0.0.1", p, clock=clock) for n, p in ports.items()}
    for v in venues.values():
        await v.connect()
    return venues


async def wait_books(venues: dict[str, RemoteVenue]) -> None:
    async with asyncio.timeout(20):
        while not all(v.quote(s) is not None for v in venues.values() for s in v.instruments()):
            await asyncio.sleep(0.01)


async def sessions_for(venues: dict[str, RemoteVenue], clock: LoopClock) -> dict[str, VenueSession]:
    ledger = FillLedger()
    sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
    for s in sessions.values():
        await s.start()
    return sessions


async def run_open(ports: dict[str, int], db: str, point: str) -> None:
    sc = load_scenario(SCENARIO)
    clock = LoopClock()
    venues = await connect(ports, clock)
    say("READY")
    await wait_books(venues)
    await asyncio.sleep(sc.start_after_s)
    sessions = await sessions_for(venues, clock)
    journal = await open_journal(db)
    ex = AtomicExecutor(sessions, journal=journal)
    sent: list[str] = []

    def on_send(venue: str) -> Any:
        def hook(req: OrderRequest) -> None:
            sent.append(req.client_id)
            if point == "between_legs" and len(sent) == 2:
                freeze(point)  # the first order is out; the second never leaves
            if point == "during_hedge" and req.client_id.startswith("hkl"):
                freeze(point)  # a leg filled; the hedge never leaves
            say(f"SENT {venue} {req.client_id}")

        return hook

    for name, e in ex.executors.items():
        e.on_send = on_send(name)
    if point == "intent":
        real_start = journal.start_operation

        async def start_then_freeze(*a: Any, **k: Any) -> str:
            op = await real_start(*a, **k)
            say(f"INTENT {op}")
            freeze(point)
            return op

        journal.start_operation = start_then_freeze  # type: ignore[method-assign]
    legs = [leg for leg in sc.legs if isinstance(leg, LegSpec)]
    assert sc.size is not None
    async with asyncio.timeout(30):
        result = await ex.open(legs, sc.size, sc.atomic)
    say(f"RESULT {result.status.value}")  # only when the freeze point was never reached


async def run_recover(ports: dict[str, int], db: str) -> None:
    clock = LoopClock()
    venues = await connect(ports, clock)
    await wait_books(venues)
    sessions = await sessions_for(venues, clock)
    journal = await open_journal(db)
    before = [o.op_id for o in await journal.unfinished()]
    async with asyncio.timeout(25):
        outcomes = await recover(journal, sessions)
        await asyncio.sleep(0.5)
        again = await recover(journal, sessions)
    after = [o.op_id for o in await journal.unfinished()]
    for s in sessions.values():
        await s.close()
    await journal.close()
    for v in venues.values():
        await v.close()
    say(
        json.dumps(
            {
                "before": before,
                "after": after,
                "again": [o.op_id for o in again],
                "outcomes": [
                    {
                        "op_id": o.op_id,
                        "kind": o.kind,
                        "status": o.status,
                        "net": {k: str(v) for k, v in o.net.items()},
                        "cancelled": list(o.cancelled),
                        "fills": len(o.fills),
                        "detail": o.detail,
                    }
                    for o in outcomes
                ],
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["open", "recover"], required=True)
    p.add_argument("--journal", required=True)
    p.add_argument("--ports", required=True, help="name=port,name=port")
    p.add_argument(
        "--freeze", default="none", choices=["none", "intent", "between_legs", "during_hedge"]
    )
    a = p.parse_args()
    ports = {k: int(v) for k, v in (item.split("=", 1) for item in a.ports.split(","))}
    if a.mode == "open":
        asyncio.run(run_open(ports, a.journal, a.freeze))
    else:
        asyncio.run(run_recover(ports, a.journal))


if __name__ == "__main__":
    main()
