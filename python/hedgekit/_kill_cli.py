"""``hedgekit kill``: the kill switch from a terminal, a thin layer over
:class:`~hedgekit.execution.KillSwitch`.

The venues are the bot's (a connections file, :mod:`hedgekit.venues.connect`: Hyperliquid, Aster,
Lighter and remote simulated venues; or ``--venue NAME=HOST:PORT``) and the journal is the bot's: the kill is journalled there as an operation of
kind ``"kill"``, and the latch it leaves there is what a bot's journal-backed switch reads
before each open — so a bot running beside this command, or started after it, opens nothing
until ``hedgekit kill --release``. A venue that cannot be built (Lighter without its extra) or
reached is reported not flat beside the others' results, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from hedgekit.cli import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_OK,
    CliError,
    _journal_url,
    _masked,
)

__all__ = ["add_parser", "run"]

_MAX_DEADLINE_S = 3600.0


def _deadline(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= _MAX_DEADLINE_S:
        raise argparse.ArgumentTypeError(f"must be in (0, {_MAX_DEADLINE_S:g}] seconds, got {text}")
    return value


def add_parser(sub: Any, epilog: str, formatter: type[argparse.HelpFormatter]) -> None:
    """Adds ``kill`` to the command line's subcommands."""
    kill = sub.add_parser(
        "kill",
        help="cancel every resting order, flatten every venue reduce-only, latch (no new opens)",
        description=(
            "Engages the kill switch on the bot's venues: latches it in the bot's journal (a bot "
            "whose switch reads that journal opens nothing until it is released), cancels every "
            "order resting at each venue, flattens every position with reduce-only orders, and "
            "repeats until each venue confirms flat (nothing resting, positions flat or below "
            "the venue's minimum order) or the deadline passes. Every step is journalled; a "
            "per-venue summary is printed. Exits 1 naming what is still open if the deadline "
            "passes first. --release lifts the latch; --status shows it."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    kill.add_argument(
        "--journal",
        required=True,
        metavar="URL",
        help="the bot's journal (path, sqlite:///path or postgresql://...): where the kill is "
        "recorded and the latch lives",
    )
    kill.add_argument(
        "--venues",
        type=Path,
        default=None,
        metavar="FILE",
        help="a connections file (hedgekit.venues.connect): one [[venues]] table per venue, "
        "kind remote, hyperliquid, aster or lighter; keys from the environment or key files",
    )
    kill.add_argument(
        "--venue",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="a remote (simulated) venue; repeatable, adds to --venues",
    )
    kill.add_argument(
        "--reason", default=None, metavar="TEXT", help="why (journalled; default 'manual')"
    )
    kill.add_argument(
        "--deadline",
        type=_deadline,
        default=60.0,
        metavar="SECONDS",
        help="give up confirming flat after this long (default 60; the latch stays)",
    )
    what = kill.add_mutually_exclusive_group()
    what.add_argument("--release", action="store_true", help="release the latch; touch nothing")
    what.add_argument("--status", action="store_true", help="show whether the latch is on")
    kill.add_argument("--json", action="store_true", help="print the report as one JSON document")


def run(args: argparse.Namespace) -> int:
    """Runs ``hedgekit kill`` (see :func:`add_parser`)."""
    url = _journal_url(args.journal)
    if args.release or args.status:
        if args.venues is not None or args.venue:
            raise CliError(EXIT_INPUT, "--release and --status take the journal only")
        return asyncio.run(_latch(url, args))
    connections = _connections(args)
    return asyncio.run(_kill(url, connections, args))


def _connections(args: argparse.Namespace) -> list[Any]:
    from hedgekit.venues.connect import ConnectionsError, load_connections, parse_connection

    found: list[Any] = []
    try:
        if args.venues is not None:
            if not args.venues.is_file():
                raise CliError(EXIT_INPUT, f"--venues {args.venues}: no such file")
            found += load_connections(args.venues)
        found += [parse_connection(text) for text in args.venue]
    except ConnectionsError as e:
        where = f"--venues {args.venues}: " if args.venues is not None else ""
        raise CliError(EXIT_INPUT, f"{where}{e}") from None
    except OSError as e:
        raise CliError(EXIT_INPUT, f"--venues {args.venues}: {e.strerror or e}") from None
    if not found:
        raise CliError(EXIT_INPUT, "no venue: give --venues FILE or --venue NAME=HOST:PORT")
    names = [c.name for c in found]
    if len(set(names)) != len(names):
        raise CliError(EXIT_INPUT, f"venue names must be unique: {names}")
    return found


async def _open(url: str) -> Any:
    from hedgekit.journal import open_journal

    try:
        return await open_journal(url)
    except Exception as e:  # noqa: BLE001 - a journal that cannot be opened: exit 4, one line
        raise CliError(EXIT_ERROR, _masked(f"journal {url}: {e}", url)) from None


async def _latch(url: str, args: argparse.Namespace) -> int:
    from hedgekit.execution.kill import read_latch, release_latch

    journal = await _open(url)
    try:
        state = await read_latch(journal)
        if args.status:
            if args.json:
                print(json.dumps({"latched": state.latched, "reason": state.reason}))
            else:
                print(f"latched: {state.reason}" if state.latched else "released")
            return EXIT_OK
        op_id = await release_latch(journal, args.reason or "manual", released=state.reason)
    except CliError:
        raise
    except Exception as e:  # noqa: BLE001 - a journal failure: exit 4, one line
        raise CliError(EXIT_ERROR, _masked(f"journal {url}: {e}", url)) from None
    finally:
        await journal.close()
    was = f" (was latched: {state.reason})" if state.latched else " (it was not latched)"
    print(f"released{was}; journalled as {op_id}")
    return EXIT_OK


async def _kill(url: str, connections: list[Any], args: argparse.Namespace) -> int:
    from hedgekit import FillLedger
    from hedgekit.clock import LoopClock
    from hedgekit.errors import MissingExtraError, VenueError
    from hedgekit.execution.kill import KillConfig, KillReport, KillSwitch, VenueKill
    from hedgekit.tracking import VenueSession
    from hedgekit.venues.connect import ConnectionsError

    clock = LoopClock()
    venues: dict[str, Any] = {}
    unreachable: dict[str, str] = {}
    for c in connections:
        try:
            venues[c.name] = c.venue(clock)
        except ConnectionsError as e:  # a live venue's key is not where its connection says
            for built in venues.values():
                await built.close()
            raise CliError(EXIT_INPUT, str(e)) from None
        except MissingExtraError as e:  # this venue cannot be reached from here; the others can
            unreachable[c.name] = f"cannot build: {e}"
    journal = await _open(url)
    sessions: dict[str, VenueSession] = {}
    reason = args.reason or "manual"
    try:
        for name, venue in venues.items():
            try:
                await venue.connect()
            except (VenueError, TimeoutError, OSError, ValueError) as e:
                unreachable[name] = f"cannot connect: {e}"
        if len(unreachable) == len(connections):
            # Nothing to flatten here; the latch is still set, so the bot opens nothing.
            await _latch_only(journal, url, reason, [c.name for c in connections])
            why = "; ".join(f"venue {n}: {w}" for n, w in unreachable.items())
            raise CliError(EXIT_ERROR, f"{why} (the latch is set in the journal)")
        ledger = FillLedger()
        sessions = {
            name: VenueSession(v, ledger, clock)
            for name, v in venues.items()
            if name not in unreachable
        }
        for session in sessions.values():
            await session.start()
        # Client ids of our own, never a bot's: "k<run>-k..." for each flattening order.
        switch = KillSwitch(
            sessions, clock=clock, journal=journal, id_prefix=f"k{uuid.uuid4().hex[:6]}",
            config=KillConfig(deadline_s=args.deadline),
        )  # fmt: skip
        try:
            report = await switch.engage(reason)
        except Exception as e:  # noqa: BLE001 - a journal that refuses the kill: exit 4
            raise CliError(
                EXIT_ERROR, _masked(f"journal {url}: the kill could not be recorded: {e}", url)
            ) from None
    finally:
        for session in sessions.values():
            await session.close()
        for venue in venues.values():
            await venue.close()
        await journal.close()
    if unreachable:  # a venue the kill could not reach is not flat, whatever the others are
        venues_ = dict(report.venues)
        for name, why in unreachable.items():
            venues_[name] = VenueKill(name, errors=[why])
        report = KillReport(
            report.reason, False, venues_, report.rounds, report.started_ns, report.ended_ns,
            report.op_id,
        )  # fmt: skip
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_kill(report))
    return EXIT_OK if report.flat else EXIT_FAILED


async def _latch_only(journal: Any, url: str, reason: str, venues: list[str]) -> None:
    """Records a kill that could reach no venue: the latch is set all the same."""
    try:
        legs = [{"venue": name} for name in venues]
        op_id = await journal.start_operation("kill", legs, {"reason": reason})
        await journal.finish_operation(op_id, "not_flat", {"reason": reason, "venues": {}})
    except Exception as e:  # noqa: BLE001 - a journal failure: exit 4, one line
        raise CliError(EXIT_ERROR, _masked(f"journal {url}: {e}", url)) from None


def format_kill(report: Any) -> str:
    """A per-venue summary of a :class:`~hedgekit.execution.KillReport`, and what is still open
    when it is not flat."""
    from hedgekit.demo import format_table

    def amounts(d: dict[str, Any] | None) -> str | None:
        return None if d is None else (", ".join(f"{k} {v}" for k, v in d.items()) or "flat")

    rows = [
        [
            v.venue, "yes" if v.flat else "NO", amounts(v.positions),
            amounts(v.dust) if v.dust else None, amounts(v.traded) if v.traded else None,
            len(v.cancelled), len(v.adopted), v.resting, len(v.unresolved), len(v.errors),
        ]
        for v in report.venues.values()
    ]  # fmt: skip
    lines = [
        f"kill switch: {report.reason}  ({report.rounds} round(s), "
        f"{(report.ended_ns - report.started_ns) / 1e9:.1f} s)",
        "",
        format_table(
            [
                "venue",
                "flat",
                "positions",
                "dust",
                "traded",
                "cancelled",
                "found",
                "resting",
                "in doubt",
                "errors",
            ],
            rows,
        ),  # fmt: skip
        "",
    ]
    if report.flat:
        lines.append("every venue flat, nothing resting")
    else:
        for v in report.venues.values():
            if v.flat:
                continue
            what = []
            if v.positions is None and not v.cancelled and v.errors:
                what.append(v.errors[0])  # never reached
                lines.append(f"NOT FLAT {v.venue}: {'; '.join(what)}")
                continue
            if v.positions is None:
                what.append("positions never read")
            elif v.positions:
                what.append(f"positions {amounts(v.positions)}")
            if v.resting:
                what.append(f"{v.resting} order(s) resting at the last read")
            if v.unresolved:
                what.append(f"orders in doubt: {', '.join(v.unresolved)}")
            if v.errors:
                what.append(f"last error: {v.errors[-1]}")
            lines.append(f"NOT FLAT {v.venue}: {'; '.join(what) or 'not confirmed'}")
    lines.append(
        "latched: no new opens until 'hedgekit kill --release --journal URL'"
        + (f" (journal operation {report.op_id})" if report.op_id else "")
    )
    return "\n".join(lines)
