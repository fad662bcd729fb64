"""Recovery after a real ``SIGKILL`` of the process that was opening a pair.

The test process owns the venues: two :class:`~hedgekit.venues.sim.SimVenue` (scenario
``one_leg_never_fills``) served over TCP by :class:`~hedgekit.venues.remote.VenueServer`, in real
time. A child process (``kill_worker.py --mode open``) opens the pair through
:class:`~hedgekit.venues.remote.RemoteVenue` with a journal, and is killed with ``SIGKILL`` at a
chosen point (it announces the point and stops dead there, so the kill lands exactly on it). The
venues go on; a second child (``--mode recover``) recovers from the same journal file. The checks
read the venues' own truth (their matching engines) and the journal.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekit.journal import open_journal
from hedgekit.scenario import load_scenario
from hedgekit.venues.remote import VenueServer
from hedgekit.venues.sim import SimVenue

HERE = Path(__file__).parent
WORKER = HERE / "kill_worker.py"
SCENARIO = HERE.parent / "scenarios" / "one_leg_never_fills.toml"
STEP_S = 20.0  # any one wait: a child's start-up, a marker, a recovery
D = Decimal


async def _line(proc: asyncio.subprocess.Process, log: list[str], want: str) -> str:
    """Reads the child's stdout until a line starting with ``want`` (bounded)."""
    assert proc.stdout is not None
    async with asyncio.timeout(STEP_S):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError(f"child exited (rc={await proc.wait()}) before {want!r}")
            line = raw.decode().rstrip("\n")
            log.append(line)
            if line.startswith(want):
                return line


async def _kill_and_recover(tmp_path: Path, point: str) -> dict[str, Any]:
    sc = load_scenario(SCENARIO)
    db = str(tmp_path / "journal.sqlite3")
    venues = {cfg.name: SimVenue(cfg) for cfg in sc.venues}
    servers = {n: VenueServer(v) for n, v in venues.items()}
    for s in servers.values():
        await s.start()
    ports = ",".join(f"{n}={s.port}" for n, s in servers.items())
    err1, err2 = tmp_path / "open.stderr", tmp_path / "recover.stderr"
    r: dict[str, Any] = {"log": [], "timings": {}}
    t0 = time.monotonic()
    procs: list[asyncio.subprocess.Process] = []
    try:
        # --- the first process: opens, and is killed at the chosen point ---
        with err1.open("wb") as e1:
            p1 = await asyncio.create_subprocess_exec(
                sys.executable, "-u", str(WORKER), "--mode", "open", "--journal", db,
                "--ports", ports, "--freeze", point,
                stdout=asyncio.subprocess.PIPE, stderr=e1,
            )  # fmt: skip
        procs.append(p1)
        await _line(p1, r["log"], "READY")
        r["timings"]["child1_ready_s"] = time.monotonic() - t0
        # The market starts now: the scripted seller comes 1.5 s after this connect.
        for v in venues.values():
            await v.connect()
        t_venue = time.monotonic()
        await _line(p1, r["log"], "FREEZE")
        p1.kill()  # SIGKILL
        async with asyncio.timeout(STEP_S):
            r["rc1"] = await p1.wait()
        r["timings"]["killed_after_connect_s"] = time.monotonic() - t_venue
        r["sent"] = [line.split()[2] for line in r["log"] if line.startswith("SENT")]
        r["at_kill"] = _truth(venues)
        await asyncio.sleep(2.0)  # the venues go on: resting orders may fill meanwhile
        r["before_recovery"] = _truth(venues)
        # --- the second process: recovers from the same journal ---
        t1 = time.monotonic()
        with err2.open("wb") as e2:
            p2 = await asyncio.create_subprocess_exec(
                sys.executable, "-u", str(WORKER), "--mode", "recover", "--journal", db,
                "--ports", ports,
                stdout=asyncio.subprocess.PIPE, stderr=e2,
            )  # fmt: skip
        procs.append(p2)
        async with asyncio.timeout(STEP_S):
            out, _ = await p2.communicate()
        r["rc2"] = p2.returncode
        r["timings"]["recovery_s"] = time.monotonic() - t1
        lines = out.decode().strip().splitlines()
        r["recovery"] = json.loads(lines[-1]) if lines else None
        # --- the venues' truth, and the journal once every child is gone ---
        r["after"] = _truth(venues)
        journal = await open_journal(db)
        try:
            r["unfinished"] = [o.op_id for o in await journal.unfinished()]
        finally:
            await journal.close()
    except BaseException:
        print("--- open child stdout ---\n" + "\n".join(r["log"]))
        print(f"--- open child stderr ---\n{err1.read_text() if err1.exists() else ''}")
        print(f"--- recover child stderr ---\n{err2.read_text() if err2.exists() else ''}")
        raise
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        for s in servers.values():
            await s.close()
        for v in venues.values():
            await v.close()
        r["timings"]["total_s"] = time.monotonic() - t0
    r["stderr"] = err1.read_text() + err2.read_text()
    return r


def _truth(venues: dict[str, SimVenue]) -> dict[str, Any]:
    return {
        "positions": {
            n: v.engine.position(v.config.instruments[0].symbol) for n, v in venues.items()
        },
        "resting": [f"{n}:{c}" for n, v in venues.items() for c in v.engine.open_orders()],
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("point", ["intent", "between_legs", "during_hedge"])
def test_a_killed_open_is_recovered_hedged_or_flat(tmp_path: Path, point: str) -> None:
    r = asyncio.run(asyncio.wait_for(_kill_and_recover(tmp_path, point), 55))
    print(json.dumps({k: v for k, v in r.items() if k != "stderr"}, default=str, indent=1))
    ctx = f"{r}\n--- children's stderr ---\n{r['stderr']}"
    assert r["rc1"] == -9, ctx  # really killed
    assert r["rc2"] == 0, ctx
    rec = r["recovery"]
    assert rec is not None, ctx
    assert len(rec["before"]) == 1, ctx  # the intent was journalled before anything was placed
    assert rec["after"] == [] and rec["again"] == [], ctx  # finished once, nothing left
    assert r["unfinished"] == [], ctx
    (outcome,) = rec["outcomes"]
    positions = r["after"]["positions"]
    assert abs(sum(positions.values(), D(0))) <= D("0.005"), ctx  # hedged or flat
    assert r["after"]["resting"] == [], ctx
    if point == "intent":
        assert r["sent"] == [] and outcome["status"] == "not_filled", ctx
        assert all(p == 0 for p in positions.values()), ctx
    if point == "between_legs":
        assert len(r["sent"]) == 1, ctx
    if point == "during_hedge":
        assert outcome["status"] == "rolled_back", ctx
        assert all(p == 0 for p in positions.values()), ctx
