"""The ``hedgekit`` command line (also ``python -m hedgekit``).

Commands:

``hedgekit --version``
    Prints ``hedgekit X.Y.Z``.

``hedgekit demo [--seed N] [--duration MINUTES] [--out DIR] [--journal URL] [--op N] [--no-progress]``
    Runs the reference funding-arbitrage strategy on two simulated venues (Hyperliquid-style and
    Aster-style) on the virtual clock: an hour of venue time in seconds. Shows a progress line on
    stderr (a line per event when stderr is not a terminal or with ``--no-progress``), prints a
    report of every operation on stdout, writes ``DIR/timeline.png`` of the whole run (every
    operation, positions, unhedged exposure, funding earned and PnL; ``--op N`` adds a panel of
    operation N's fills; skipped with one line without matplotlib: ``pip install
    "hedgekit[plot]"``) and journals every operation. Each run gets a journal of its own: a fresh
    ``DIR/journal-<UTC timestamp>.sqlite3`` (its path is printed), unless ``--journal`` names one.

``hedgekit run --config FILE|example [--seed N] [--duration MINUTES] [--out DIR] [--journal URL] [--op N] [--no-progress]``
    The same run on the same simulated venues, with the strategy configured from a TOML file
    (``hedgekit.strategies.funding_arb.FundingArbConfig``); ``--config example`` uses the example
    shipped inside the package (``hedgekit/examples/funding_arb.toml``). Its ``symbols`` must
    name the simulated venues (``hyperliquid = "ETH"``, ``aster = "ETHUSDT"``). A missing or
    malformed file exits 3 with one line naming the field.

``hedgekit simulate SCENARIO [--json] [--seed N]``
    Runs a scenario file (``docs/scenarios.md``) and prints a summary, or with ``--json`` the full
    report as one JSON document.

``hedgekit report [--db URL] [--by venue,symbol] [--period 1h] [--plot FILE] [--json]``
    Execution-quality statistics from a journal (default: the newest demo journal in
    ``hedgekit-demo/``), as tables within 100 columns (or a narrower terminal's width; periods
    as ISO-8601 UTC, latencies as
    durations), funding booked per venue next to fees and slippage; with ``--json`` the rows as
    one JSON document; optionally a PNG of slippage and markouts. The journal is opened read-only and never changed: a file that is not a journal
    (another database, an empty file), or a journal written by a newer hedgekit, exits 3; a
    journal of an older schema is read as it is.

``hedgekit sweep --seeds N [--start S] [--jobs J] [--profile P] [--out DIR] [--json]``
    The adversarial fault sweep (:mod:`hedgekit.sweep`): N seeded random scenarios with injected
    faults, run in parallel and checked against the venues' own truth. Prints seeds per minute,
    violations per invariant, the per-profile table, and the command that replays each failing
    seed (its scenario is written to ``DIR/sweep-<seed>.json``). Exits 1 on any violation, crash,
    hang or status that disagrees with the venues.

``hedgekit frontier SCENARIO --seeds N [--start S] [--policies P1,P2,...] [--jobs J] [--out DIR] [--ray ADDRESS]``
    The exposure/cost frontier of open policies (:mod:`hedgekit.frontier`): every policy (named
    ``AtomicConfig`` overrides such as ``immediate-ioc`` or ``taker_both``, and the baselines
    ``market-both`` and ``limit-wait``; ``all`` by default) opens the scenario's pair on the
    same N seeds, on J worker processes or as Ray tasks (``--ray ADDRESS``, or ``--ray local``
    for a local instance of 2 CPUs; needs ``pip install "hedgekit[ray]"``). Prints the table and
    writes ``DIR/frontier.md``, ``DIR/frontier.json`` and ``DIR/frontier.png`` (skipped, with a
    note, without matplotlib); the table and the JSON are byte-identical whatever J or Ray.
    Exits 0 once written: the frontier measures, it does not judge (broken pairs are a number
    of its table; ``hedgekit sweep`` checks the invariants).

``hedgekit kill --journal URL (--venues FILE | --venue NAME=HOST:PORT ...) [--reason TEXT] [--deadline S] [--json]``
    The kill switch (:class:`hedgekit.execution.KillSwitch`) on the bot's venues (a connections
    file, :mod:`hedgekit.venues.connect`): latches it in the bot's journal, cancels every order
    resting at each venue, flattens every position reduce-only and repeats until each venue
    confirms flat, journalling every step; prints a per-venue summary. Exits 1 naming what is
    still open when the deadline passes first. ``hedgekit kill --release --journal URL`` lifts
    the latch, ``--status`` shows it.

``hedgekit fake hyperliquid [--port P] [--account ADDR]... [--balance USD] [--seed N]``
    Serves a wire-level fake of Hyperliquid (:mod:`hedgekit.testing.fakes.hyperliquid`) on
    127.0.0.1: ``POST /info``, ``POST /exchange`` and ``GET /ws``, as the official SDK expects
    them, backed by the simulated matching engine. Prints exactly one line, the base URL, once
    it serves, and runs until interrupted. Each ``--account`` opens an account with ``--balance``
    USDC; with none, any signer gets one on first sight. ``--port 0`` picks a free port. Needs
    the ``live`` extra (aiohttp).

``hedgekit fake aster [--port P] [--account USER]... [--api-key KEY --api-secret SECRET] [--balance USD] [--seed N]``
    Serves a wire-level fake of Aster futures (:mod:`hedgekit.testing.fakes.aster`) on
    127.0.0.1: REST under ``/fapi/v1..v4`` (V3 API-wallet signatures and V1 HMAC) and the
    WebSockets (``/ws/<stream>``, ``/stream?streams=``, ``/ws/<listenKey>``) on the same port,
    backed by the simulated matching engine. Prints one line, the base URL, once it serves.
    Each ``--account`` opens a V3 account; ``--api-key``/``--api-secret`` add a V1 key with an
    account of its own; with neither, any V3 signer gets an account on first sight.

``hedgekit fake lighter [--port P] [--account-index N --api-key-index I --public-key PUB] [--balance USD] [--seed N]``
    Serves a wire-level fake of Lighter (:mod:`hedgekit.testing.fakes.lighter`) on 127.0.0.1:
    REST under ``/api/v1/`` (``sendTx`` and the reads lighter-sdk makes) and the WebSocket at
    ``/stream``, backed by the simulated matching engine. Prints one line, the base URL, once it
    serves. ``--public-key`` (as ``lighter.create_api_key()`` gives it) registers API key
    ``--api-key-index`` of account ``--account-index`` with ``--balance`` USDC; signatures are
    not verified, fields and nonces are.

Exit codes (scripts may rely on them):

====  ======================================================================================
0     Success.
1     The operation ran but an invariant failed, or an operation ended exposed (for ``sweep``:
      any violation, crash, hang or lie).
2     Usage error: bad arguments (argparse).
3     An input is missing or malformed: scenario or config file, journal URL or file.
4     A runtime error: a venue or the journal failed.
130   Interrupted (Ctrl-C).
====  ======================================================================================

Errors are printed as ``hedgekit: error: <message>`` (the message names the culprit field of a
malformed file), without a traceback. A journal URL's password is never printed (``user:***@``).

Tables are plain aligned text, without escape codes, whenever stdout is not a terminal; on a
terminal, with the ``rich`` extra installed (``pip install "hedgekit[rich]"``), rich draws them
with bold headers (the report within the terminal's width or 100 columns, whichever is less).
``sweep`` and ``frontier`` show progress on stderr when it is a terminal: rich's progress bar,
or one updating line without rich.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NoReturn

from hedgekit._display import ProgressBar, styled, terminal_width

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
"""Success."""
EXIT_FAILED = 1
"""The operation ran but an invariant failed or an operation ended exposed."""
EXIT_USAGE = 2
"""Bad arguments."""
EXIT_INPUT = 3
"""An input file or URL is missing or malformed."""
EXIT_ERROR = 4
"""A runtime error (venue or journal failure)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C."""

_EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the operation ran but an invariant failed / an operation ended exposed
  2    usage error (bad arguments)
  3    input file missing or malformed (scenario, config, journal URL)
  4    runtime error (venue or journal failure)
  130  interrupted (Ctrl-C)
"""

_NS = 1_000_000_000

_log = logging.getLogger("hedgekit.cli")

DEMO_DIR = Path("hedgekit-demo")
"""Where ``hedgekit demo`` and ``hedgekit run`` write by default, and ``report`` reads."""


def version() -> str:
    """hedgekit's version: the installed distribution's, else ``hedgekit.__version__``."""
    from importlib import metadata

    try:
        return metadata.version("hedgekit")
    except metadata.PackageNotFoundError:
        import hedgekit

        return str(getattr(hedgekit, "__version__", "unknown"))


class CliError(Exception):
    """An error the command line reports as ``hedgekit: error: <message>`` with ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """An argparse parser that raises instead of exiting, so :func:`main` returns the code."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise CliError(EXIT_USAGE, message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# ------------------------------------------------------------------------------ arguments


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not 0.5 <= value <= 24 * 60:
        raise argparse.ArgumentTypeError(f"must be between 0.5 and 1440 minutes, got {text}")
    return value


_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?\s*$")
_UNITS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_period(text: str) -> int:
    """A period such as ``90s``, ``15m``, ``1h``, ``1d`` (a bare number is seconds), in ns.

    Raises:
        argparse.ArgumentTypeError: Not a positive period.
    """
    m = _PERIOD.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a period (like 30s, 15m, 1h, 1d): {text!r}")
    ns = int(Decimal(m.group(1)) * _UNITS[m.group(2)] * _NS)
    if ns <= 0:
        raise argparse.ArgumentTypeError(f"the period must be positive, got {text!r}")
    return ns


def _seed_count(text: str) -> int:
    value = _positive_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least one seed")
    return value


def _jobs(text: str) -> int:
    value = _positive_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least one job")
    return value


def _sweep_profile(text: str) -> str:
    from hedgekit.sweep import profile_for

    try:
        profile_for(0, text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


_FRONTIER_MAX_SEEDS = 1_000_000
_FRONTIER_MAX_JOBS = 1024


def _frontier_seeds(text: str) -> int:
    value = _seed_count(text)
    if value > _FRONTIER_MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"at most {_FRONTIER_MAX_SEEDS} seeds, got {value}")
    return value


def _frontier_jobs(text: str) -> int:
    value = _jobs(text)
    if value > _FRONTIER_MAX_JOBS:
        raise argparse.ArgumentTypeError(f"at most {_FRONTIER_MAX_JOBS} jobs, got {value}")
    return value


def _policies(text: str) -> list[Any]:
    from hedgekit.frontier import UnknownPolicyError, resolve_policies

    try:
        return resolve_policies(text)
    except UnknownPolicyError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _group_by(text: str) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    allowed = ("venue", "symbol", "kind")
    bad = [k for k in keys if k not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown grouping {bad}: use a comma list of {', '.join(allowed)}"
        )
    return keys


def _positive_op(text: str) -> int:
    value = _positive_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("operations are numbered from 1")
    return value


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The options ``demo`` and ``run`` share."""
    p.add_argument(
        "--seed", type=_positive_int, default=1, help="seed of the simulated venues (default 1)"
    )
    p.add_argument(
        "--duration",
        type=_minutes,
        default=60.0,
        metavar="MINUTES",
        help="venue time to simulate, in minutes (default 60; virtual time, it takes seconds)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEMO_DIR,
        metavar="DIR",
        help="where the PNG and the journal go (default ./hedgekit-demo/)",
    )
    p.add_argument(
        "--journal",
        metavar="URL",
        default=None,
        help="journal URL (sqlite:///path.db, postgresql://...; default a fresh "
        "DIR/journal-<UTC timestamp>.sqlite3 per run)",
    )
    p.add_argument(
        "--op",
        type=_positive_op,
        default=None,
        metavar="N",
        help="add a panel of operation N's fills and exposure to the PNG",
    )
    p.add_argument(
        "--no-progress", action="store_true", help="no progress line: a line per event instead"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``hedgekit`` argument parser (every command and option)."""
    parser = _Parser(
        prog="hedgekit",
        description="hedgekit: atomic two-venue delta-neutral execution — demo, scenarios, reports.",
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"hedgekit {version()}",
        help="print hedgekit's version and exit",
    )
    parser.add_argument(
        "--log",
        metavar="LEVEL",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default=None,
        help="write hedgekit's logs to stderr at this level (secrets are always redacted)",
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="one JSON object per line (default) or key=value text",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="run the funding-arbitrage strategy on simulated venues (virtual time)",
        description=(
            "Runs the reference funding-arbitrage strategy on two simulated venues "
            "(Hyperliquid-style and Aster-style: latency, queues, a moving market, duplicated "
            "fills) whose funding diverges, persists and flips, on the virtual clock. Prints a "
            "report, writes a PNG timeline and a journal to --out."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(demo)
    demo.add_argument(
        "--wire",
        action="store_true",
        help="the Hyperliquid leg through the live adapter to the wire-level fake on 127.0.0.1 "
        "(real sockets, real signatures), in real time; exits 1 if the fake's positions or "
        "resting orders disagree with the ledger",
    )
    demo.add_argument(
        "--wire-aster",
        action="store_true",
        help="with --wire: the Aster leg too, through the live Aster adapter (V3 API-wallet "
        "signing) to the wire-level Aster fake on 127.0.0.1, judged by that fake's record",
    )
    demo.add_argument(
        "--seconds",
        type=_wire_seconds,
        default=None,
        metavar="S",
        help="with --wire: real seconds to run (default 30)",
    )

    run = sub.add_parser(
        "run",
        help="run the funding-arbitrage strategy from a TOML config on simulated venues",
        description=(
            "Runs the funding-arbitrage strategy configured by a TOML file (or the example "
            "shipped inside the package: --config example) on the demo's two simulated venues, "
            "on the virtual clock. Its symbols must name the simulated venues (hyperliquid = "
            '"ETH", aster = "ETHUSDT"). Prints a report, writes a PNG and a journal.'
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="the strategy's TOML file, or 'example' for the one shipped inside the package",
    )
    _add_run_options(run)

    sim = sub.add_parser(
        "simulate",
        help="run a scenario file on simulated venues and check the invariants",
        description="Runs a scenario file (docs/scenarios.md) and checks every invariant.",
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument(
        "scenario", type=Path, metavar="SCENARIO", help="a .toml or .json scenario file"
    )
    sim.add_argument(
        "--json", action="store_true", help="print the full report as one JSON document"
    )
    sim.add_argument(
        "--seed", type=_positive_int, default=None, help="override the scenario's seed"
    )

    rep = sub.add_parser(
        "report",
        help="execution-quality statistics from a journal",
        description="Execution-quality statistics (slippage, fees, funding per venue, maker "
        "share, hedge latency, exposure, markouts) from a journal.",
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="journal URL or SQLite path (default: the newest hedgekit-demo/journal-*.sqlite3)",
    )
    rep.add_argument(
        "--by",
        type=_group_by,
        default=["venue", "symbol"],
        metavar="KEYS",
        help="group by a comma list of venue, symbol, kind (default venue,symbol)",
    )
    rep.add_argument(
        "--period",
        type=parse_period,
        default=None,
        metavar="PERIOD",
        help="also group by time bucket (30m, 1h, 1d)",
    )
    rep.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="FILE",
        help="write a PNG of slippage and markouts",
    )
    rep.add_argument("--json", action="store_true", help="print the rows as one JSON document")

    sweep = sub.add_parser(
        "sweep",
        help="run many seeded random scenarios under injected faults and count what breaks",
        description=(
            "The adversarial fault sweep: each seed draws two simulated venues, a market, an open "
            "or a close and a set of faults (light for even seeds and heavy for odd ones by "
            "default), runs it and checks every invariant against the venues' own truth. A "
            "failing seed's scenario is written to --out, replayable with 'hedgekit simulate'."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument(
        "--seeds", type=_seed_count, required=True, metavar="N", help="how many seeds to run"
    )
    sweep.add_argument(
        "--start", type=_positive_int, default=0, metavar="S", help="the first seed (default 0)"
    )
    sweep.add_argument(
        "--jobs",
        type=_jobs,
        default=os.cpu_count() or 1,
        metavar="J",
        help="worker processes (default: one per CPU)",
    )
    sweep.add_argument(
        "--profile",
        type=_sweep_profile,
        default="mixed",
        metavar="P",
        help="faults: mixed (default), light, heavy, none or only:<fault>",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write each failing seed's scenario here as sweep-<seed>.json",
    )
    sweep.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="wall-clock seconds one seed may take before it counts as a hang (default 60)",
    )
    sweep.add_argument("--json", action="store_true", help="print the summary as one JSON document")

    front = sub.add_parser(
        "frontier",
        help="exposure against cost of open policies on the same seeded simulated venues",
        description=(
            "Runs every policy's open of the scenario's pair on the same N seeds (the "
            "scenario's seed plus 0..N-1, offset by --start) and writes, per policy, median and "
            "p99 exposure, cost and markout-adjusted cost, maker share, full-size opens, broken "
            "pairs and oversize legs, read from the venues' records: DIR/frontier.md (also "
            "printed), DIR/frontier.json and DIR/frontier.png. Definitions: pydoc "
            "hedgekit.frontier."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    front.add_argument(
        "scenario", type=Path, metavar="SCENARIO", help="a .toml or .json scenario file (an open)"
    )
    front.add_argument(
        "--seeds",
        type=_frontier_seeds,
        required=True,
        metavar="N",
        help=f"seeds per policy (1 to {_FRONTIER_MAX_SEEDS})",
    )
    front.add_argument(
        "--start",
        type=_positive_int,
        default=0,
        metavar="S",
        help="offset of the first seed from the scenario's seed (default 0)",
    )
    front.add_argument(
        "--policies",
        type=_policies,
        default="all",
        metavar="P1,P2,...",
        help="a comma list of policies, or all (default)",
    )
    front.add_argument(
        "--jobs",
        type=_frontier_jobs,
        default=os.cpu_count() or 1,
        metavar="J",
        help=f"worker processes (default: one per CPU, at most {_FRONTIER_MAX_JOBS}; ignored with --ray)",
    )
    front.add_argument(
        "--out",
        type=Path,
        default=Path("hedgekit-frontier"),
        metavar="DIR",
        help="where frontier.md, frontier.json and frontier.png go (default ./hedgekit-frontier/)",
    )
    front.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run the tasks on a Ray cluster at ADDRESS, or 'local' to start one of 2 CPUs",
    )
    from hedgekit import _kill_cli

    _kill_cli.add_parser(sub, _EXIT_CODES_HELP, argparse.RawDescriptionHelpFormatter)
    from hedgekit import _check_cli

    _check_cli.add_parser(sub, _EXIT_CODES_HELP, argparse.RawDescriptionHelpFormatter)
    fake = sub.add_parser(
        "fake",
        help="serve a wire-level fake venue on 127.0.0.1 (for tests of venue clients)",
        description="Serves a fake venue that speaks the real venue's protocol.",
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    venues = fake.add_subparsers(dest="venue", metavar="VENUE", parser_class=_Parser)
    venues.required = True
    hl = venues.add_parser(
        "hyperliquid",
        help="Hyperliquid perps: POST /info, POST /exchange, GET /ws on one port",
        description=(
            "Serves a fake Hyperliquid on 127.0.0.1 that hyperliquid-python-sdk accepts, backed "
            "by the simulated matching engine. Prints one line, its URL, once it serves; runs "
            "until interrupted."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hl.add_argument("--port", type=_port, default=0, help="the port (default 0: a free one)")
    hl.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="ADDR",
        type=_address,
        help="an account's address (repeatable; none: any signer gets an account)",
    )
    hl.add_argument(
        "--balance",
        type=_usd,
        default=Decimal(100_000),
        metavar="USD",
        help="every account's starting USDC (default 100000)",
    )
    hl.add_argument("--seed", type=_positive_int, default=0, help="seeds the fake (default 0)")
    ast = venues.add_parser(
        "aster",
        help="Aster futures: /fapi/v1..v4 REST and the WebSockets on one port",
        description=(
            "Serves a fake Aster futures venue on 127.0.0.1 that ccxt's aster (V3) and "
            "binanceusdm (V1 HMAC) accept, backed by the simulated matching engine. Prints one "
            "line, its URL, once it serves; runs until interrupted."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ast.add_argument("--port", type=_port, default=0, help="the port (default 0: a free one)")
    ast.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="USER",
        type=_address,
        help="a V3 user's address (repeatable; none and no key: any signer gets an account)",
    )
    ast.add_argument("--api-key", metavar="KEY", help="a V1 API key (with --api-secret)")
    ast.add_argument("--api-secret", metavar="SECRET", help="the V1 key's HMAC secret")
    ast.add_argument(
        "--balance",
        type=_usd,
        default=Decimal(100_000),
        metavar="USD",
        help="every account's starting USDT (default 100000)",
    )
    ast.add_argument("--seed", type=_positive_int, default=0, help="seeds the fake (default 0)")
    lt = venues.add_parser(
        "lighter",
        help="Lighter perps: /api/v1 REST (sendTx and reads) and /stream on one port",
        description=(
            "Serves a fake Lighter on 127.0.0.1 that lighter-sdk accepts (fields, integer "
            "scaling and nonces checked; signatures cannot be), backed by the simulated matching "
            "engine. Prints one line, its URL, once it serves; runs until interrupted."
        ),
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lt.add_argument("--port", type=_port, default=0, help="the port (default 0: a free one)")
    lt.add_argument("--account-index", type=_positive_int, metavar="N", help="the account's index")
    lt.add_argument(
        "--api-key-index",
        type=_positive_int,
        default=3,
        metavar="I",
        help="the API key's index, 0..254 (default 3)",
    )
    lt.add_argument(
        "--public-key", metavar="PUB", help="the API key's public key (hex, 0x optional)"
    )
    lt.add_argument(
        "--balance",
        type=_usd,
        default=Decimal(100_000),
        metavar="USD",
        help="every account's starting USDC (default 100000)",
    )
    lt.add_argument("--seed", type=_positive_int, default=0, help="seeds the fake (default 0)")
    return parser


def _wire_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 5 <= value <= 600:
        raise argparse.ArgumentTypeError(f"must be in [5, 600] seconds, got {text}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _address(text: str) -> str:
    body = text[2:] if text.startswith("0x") else ""
    if len(body) != 40 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise argparse.ArgumentTypeError(f"an address is 0x and 40 hex digits, got {text!r}")
    return text.lower()


def _usd(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite amount >= 0, got {text!r}")
    return value


# -------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code (see the module docstring).
    """
    parser = build_parser()
    handler: logging.Handler | None = None
    logger = logging.getLogger("hedgekit")
    level = logger.level
    try:
        try:
            args = parser.parse_args(list(argv) if argv is not None else None)
        except _Exit as e:
            return e.code
        if args.log is not None:
            from hedgekit.observability import configure_logging

            handler = configure_logging(args.log, json=args.log_format == "json", stream=sys.stderr)
        # Tables are plain text unless stdout is a terminal (and rich is installed).
        with styled(sys.stdout.isatty()):
            return _command(args)
    except CliError as e:
        _error(str(e))
        return e.code
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        # main() called from Python (a test, an embedding program) leaves logging as it found
        # it: --log's handler writes to this run's stderr, which may not outlive it.
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
            logger.setLevel(level)


def _command(args: argparse.Namespace) -> int:
    if args.command in ("demo", "run"):
        return _demo(args)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "frontier":
        return _frontier(args)
    if args.command == "kill":
        from hedgekit import _kill_cli

        return _kill_cli.run(args)
    if args.command == "fake":
        return _fake(args)
    if args.command == "check":
        from hedgekit import _check_cli

        return _check_cli.run(args)
    return _report(args)


def _error(message: str) -> None:
    print(f"hedgekit: error: {message}", file=sys.stderr)


# -------------------------------------------------------------------------------- fake


def _fake(args: argparse.Namespace) -> int:
    """Serves the fake until interrupted (Ctrl-C exits 130 through :func:`main`)."""
    try:
        from hedgekit.testing.fakes.aster import FakeAster
        from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
        from hedgekit.testing.fakes.lighter import FakeLighter
        from hedgekit.testing.fakes.server import FakeServer
    except ImportError as e:  # pragma: no cover - the live extra is missing
        raise CliError(
            EXIT_ERROR, f'the fake needs aiohttp: pip install "hedgekit[live]" ({e})'
        ) from None
    if args.venue == "aster" and (args.api_key is None) != (args.api_secret is None):
        raise CliError(EXIT_USAGE, "--api-key and --api-secret go together")
    if args.venue == "lighter":
        if (args.account_index is None) != (args.public_key is None):
            raise CliError(EXIT_USAGE, "--account-index and --public-key go together")
        if not 0 <= args.api_key_index <= 254:
            raise CliError(EXIT_USAGE, "--api-key-index must be in 0..254")
        if args.public_key is not None:
            try:
                int(args.public_key.removeprefix("0x"), 16)
            except ValueError:
                raise CliError(EXIT_USAGE, "--public-key must be hex") from None

    async def serve() -> None:
        fake: FakeServer
        if args.venue == "lighter":
            keys = []
            if args.account_index is not None:
                keys.append((args.account_index, args.api_key_index, args.public_key))
            fake = FakeLighter(keys, balance=args.balance, seed=args.seed, port=args.port)
        elif args.venue == "aster":
            aster = FakeAster(
                accounts=args.account, balance=args.balance, seed=args.seed, port=args.port
            )
            if args.api_key is not None:
                aster.add_api_key(args.api_key, args.api_secret)
            fake = aster
        else:
            fake = FakeHyperliquid(
                accounts=args.account, balance=args.balance, seed=args.seed, port=args.port
            )
        try:
            await fake.start()
        except OSError as e:
            raise CliError(
                EXIT_ERROR, f"cannot serve on 127.0.0.1:{args.port}: {e.strerror or e}"
            ) from None
        try:
            print(fake.url, flush=True)
            _log.info("fake %s: serving on %s", args.venue, fake.url)
            await asyncio.Event().wait()  # until interrupted
        finally:
            await fake.stop()

    asyncio.run(serve())
    return EXIT_OK


# -------------------------------------------------------------------------------- simulate


def _simulate(args: argparse.Namespace) -> int:
    from hedgekit.scenario import ScenarioError
    from hedgekit.simulate import simulate

    path: Path = args.scenario
    if not path.is_file():
        raise CliError(EXIT_INPUT, f"{path}: no such scenario file")
    # The run itself logs only what goes wrong (warnings and errors of the sessions and
    # executors): what the command does is logged here, so --log INFO/DEBUG always shows it.
    _log.info(
        "simulate: scenario %s, seed %s", path, "as written" if args.seed is None else args.seed
    )
    try:
        report = simulate(path, seed=args.seed)
    except ScenarioError as e:
        raise CliError(EXIT_INPUT, f"{path}: {e}") from None
    except FileNotFoundError as e:
        raise CliError(EXIT_INPUT, f"{path}: {e.strerror or e}") from None
    except OSError as e:
        raise CliError(EXIT_INPUT, f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - any failure of the run is reported, never a traceback
        raise CliError(EXIT_ERROR, f"the simulation failed: {type(e).__name__}: {e}") from None
    _log_simulation(report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_simulation(report))
    result = report.get("result", {})
    failed = not report.get("all_invariants_held", False) or result.get("status") == "exposed"
    return EXIT_FAILED if failed else EXIT_OK


def _log_simulation(report: dict[str, Any]) -> None:
    """Logs a simulation's outcome: the result at INFO, legs and invariants at DEBUG."""
    r = report.get("result", {})
    _log.info(
        "simulate: %s %s in %.3f s of virtual time",
        report.get("kind"),
        r.get("status"),
        report.get("virtual_s", 0.0),
        extra={"scenario": report.get("scenario"), "seed": report.get("seed")},
    )
    for leg in r.get("legs", []):
        _log.debug(
            "leg %s %s %s: filled %s of %s in %d fill(s)",
            leg.get("venue"),
            leg.get("symbol"),
            leg.get("side"),
            leg.get("filled"),
            leg.get("target"),
            len(leg.get("fills", [])),
        )
    for inc in r.get("incidents", []):
        _log.debug("incident %s on %s: %s", inc.get("kind"), inc.get("venue"), inc.get("detail"))
    for name, inv in report.get("invariants", {}).items():
        held = bool(inv.get("held"))
        _log.log(
            logging.DEBUG if held else logging.WARNING,
            "invariant %s %s: %s",
            name,
            "held" if held else "FAILED",
            inv.get("detail"),
        )


def format_simulation(report: dict[str, Any]) -> str:
    """A readable summary of a :func:`hedgekit.simulate.simulate` report: status, legs and
    whether each invariant held."""
    from hedgekit.demo import format_table

    r = report["result"]
    lines = [
        f"scenario: {report['scenario']}  (seed {report['seed']}, {report['kind']})",
        f"status:   {r['status']}" + (f" — {r['reason']}" if r.get("reason") else ""),
        f"virtual time: {report['virtual_s']:.3f} s; exposure {r.get('exposure_usd_s', 0.0):,.1f} USD·s",
        "",
    ]
    if "legs" not in r:  # a risk control run over time (docs/scenarios.md): what it did
        lines.append(f"positions: {r['positions_before']} -> {r['positions_after']}")
        for e in r.get("events", []):
            parts = [str(e.get("action"))] + [str(e[k]) for k in ("status", "detail") if e.get(k)]
            if isinstance(e.get("drift"), dict):
                parts.append(f"gap {e['drift']['gap']}")
            if e.get("after"):
                parts.append(f"after {e['after']}")
            lines.append("  " + "; ".join(parts))
        for name, v in (r.get("kill") or {}).get("venues", {}).items():
            lines.append(
                f"  kill {name}: {'flat' if v['flat'] else 'NOT flat'}; cancelled "
                f"{len(v['cancelled'])}; traded {v['traded'] or 'nothing'}; errors {len(v['errors'])}"
            )
        lines += [f"  {k}: {r[k]}" for k in ("opens", "open_statuses", "fees") if k in r]
        r = {**r, "legs": []}
    rows = [
        [
            leg["venue"],
            leg["symbol"],
            leg["side"],
            leg["target"],
            leg["filled"],
            leg["net"],
            leg["avg_price"],
            leg["fees"],
            None if leg["maker_share"] is None else f"{leg['maker_share'] * 100:.0f}%",
            None if leg["cost_bps"] is None else f"{leg['cost_bps']:.2f}",
            len(leg["fills"]),
        ]
        for leg in r["legs"]
    ]
    lines.append(
        ""
        if not rows
        else format_table(
            [
                "venue",
                "symbol",
                "side",
                "target",
                "filled",
                "net",
                "avg price",
                "fees",
                "maker",
                "cost bps",
                "fills",
            ],
            rows,
        )
    )
    if r.get("incidents"):
        lines += ["", "incidents:"]
        lines.append(
            format_table(
                ["+ms", "kind", "venue", "detail"],
                [
                    [
                        f"{(i['ts_ns'] - r['started_ns']) / 1e6:.0f}",
                        i["kind"],
                        i["venue"] or "",
                        i["detail"],
                    ]
                    for i in r["incidents"]
                ],
            )
        )
    lines += ["", "invariants:"]
    lines.append(
        format_table(
            ["invariant", "held", "detail"],
            [
                [k, "yes" if v["held"] else "NO", v["detail"]]
                for k, v in report["invariants"].items()
            ],
        )
    )
    held = report["all_invariants_held"]
    lines += ["", "all invariants held" if held else "AN INVARIANT FAILED"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- sweep


def _sweep(args: argparse.Namespace) -> int:
    from hedgekit.sweep import SweepSummary, format_summary, run_sweep

    out: Path | None = args.out
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CliError(EXIT_INPUT, f"--out {out}: {e.strerror or e}") from None
    if not args.timeout > 0:
        raise CliError(EXIT_USAGE, f"--timeout must be positive, got {args.timeout}")
    live = not args.json and sys.stderr.isatty()
    total = args.seeds
    bar = ProgressBar(total, "seeds", sys.stderr)

    def progress(summary: SweepSummary) -> None:
        t = summary.total
        bar.update(
            summary.seeds,
            f"{summary.seeds_per_minute:.0f}/min, "
            f"failed {t.failed} (lies {t.lies}, crashes {t.crashes}, hangs {t.hangs})",
        )

    seeds = range(args.start, args.start + total)
    try:
        with bar if live else contextlib.nullcontext():
            summary = run_sweep(
                seeds, args.jobs, args.profile, out, args.timeout,
                on_progress=progress if live else None,
            )  # fmt: skip
    except OSError as e:
        raise CliError(EXIT_ERROR, f"the sweep failed: {e}") from None
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(format_summary(summary))
    return EXIT_OK if summary.clean else EXIT_FAILED


# -------------------------------------------------------------------------------- frontier


def _frontier(args: argparse.Namespace) -> int:
    import time

    from hedgekit import frontier
    from hedgekit.scenario import ScenarioError

    path: Path = args.scenario
    out: Path = args.out
    policies = args.policies  # resolved by the argument's type, the default "all" included
    if not path.is_file():
        raise CliError(EXIT_INPUT, f"{path}: no such scenario file")
    try:
        frontier.load_frontier_scenario(path)
    except ScenarioError as e:
        raise CliError(EXIT_INPUT, f"{path}: {e}") from None
    except OSError as e:
        raise CliError(EXIT_INPUT, f"{path}: {e.strerror or e}") from None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError(EXIT_INPUT, f"--out {out}: {e.strerror or e}") from None
    if args.ray is not None:
        try:
            frontier.require_ray()
        except frontier.RayUnavailableError as e:
            raise CliError(EXIT_INPUT, str(e)) from None
    live = sys.stderr.isatty()
    bar = ProgressBar(args.seeds * len(policies), "runs", sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.update(done, total=total)

    started = time.perf_counter()
    try:
        with bar if live else contextlib.nullcontext():
            result = frontier.run_frontier(
                path,
                args.seeds,
                policies,
                start=args.start,
                jobs=args.jobs,
                ray_address=args.ray,
                on_progress=progress if live else None,
            )
    except ScenarioError as e:
        raise CliError(EXIT_INPUT, f"{path}: {e}") from None
    except frontier.RayUnavailableError as e:
        raise CliError(EXIT_INPUT, str(e)) from None
    except frontier.FrontierRunError as e:
        raise CliError(EXIT_ERROR, f"a run failed: {e}") from None
    except Exception as e:  # noqa: BLE001 - a pool or cluster failure, never a traceback
        text = " ".join(str(e).split())[:500]
        raise CliError(EXIT_ERROR, f"the frontier failed: {type(e).__name__}: {text}") from None
    wall = time.perf_counter() - started
    try:
        written = frontier.write_outputs(result, out)
    except OSError as e:
        raise CliError(EXIT_INPUT, f"--out {out}: {e.strerror or e}") from None
    print(frontier.format_markdown(result), end="")
    print()
    print(f"table: {written['md']}")
    print(f"json:  {written['json']}")
    try:
        png = frontier.plot_frontier(result, out / "frontier.png")
    except ImportError as e:
        print(f"png:   skipped ({e})")
    except OSError as e:
        raise CliError(
            EXIT_INPUT, f"--out {out}: {out / 'frontier.png'}: {e.strerror or e}"
        ) from None
    else:
        print(f"png:   {png}")
    where = f"Ray ({args.ray})" if args.ray is not None else f"{args.jobs} job(s)"
    runs = len(result.seeds) * len(result.policies)
    print(f"{runs} runs in {wall:.1f} s wall on {where}", file=sys.stderr)
    return EXIT_OK


# ------------------------------------------------------------------------------------ demo


class _Progress:
    """A single updating status line on a terminal, or one line per event otherwise."""

    def __init__(self, stream: IO[str], live: bool) -> None:
        self.stream = stream
        self.live = live
        self._width = 0

    def event(self, event: Any, status: Any) -> None:
        from hedgekit.strategies.funding_arb import Closed, Monitored, Opened, Skipped

        t = int(status.elapsed_s)
        div = "-" if status.divergence is None else f"{float(status.divergence) * 100:+.1f}%/yr"
        clock = f"{t // 3600:d}:{t % 3600 // 60:02d}:{t % 60:02d}"
        if self.live:
            pct = min(100.0, status.elapsed_s / status.total_s * 100)
            line = f"venue time {clock} ({pct:3.0f}%)  state {status.state:<4}  divergence {div}"
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()
            return
        if isinstance(event, Opened):
            what = f"opened long {event.opportunity.long_venue} / short {event.opportunity.short_venue} ({event.result.status.value})"
        elif isinstance(event, Closed):
            what = f"closed: {event.reason} ({event.result.status.value})"
        elif isinstance(event, Skipped):
            what = f"skipped: {event.reason}"
        elif isinstance(event, Monitored):
            what = "monitored"
        else:  # pragma: no cover
            what = type(event).__name__
        print(
            f"[{clock}] {status.state:<4} divergence {div:>12}  {what}",
            file=self.stream,
            flush=True,
        )

    def done(self) -> None:
        if self.live and self._width:
            self.stream.write("\n")
            self.stream.flush()


def _masked(text: str, url: str) -> str:
    """``text`` about journal ``url`` on one line, the URL's password masked wherever it is."""
    from hedgekit.journal.urls import mask_text

    return " ".join(mask_text(text, url).split())


def _scheme(url: str) -> str:
    """The scheme of ``url`` as it may be shown (a malformed one may hold anything)."""
    scheme = url.split("://", 1)[0].lower()
    return scheme if re.fullmatch(r"[a-z][a-z0-9+.\-]*", scheme) else "(malformed)"


def _check_postgres_url(url: str, what: str) -> None:
    """Refuses (exit 3) a PostgreSQL URL that cannot be used as written."""
    from hedgekit.journal.urls import mask_url, url_problem

    problem = url_problem(url)
    if problem is not None:
        message = f"{what} {mask_url(url)}: malformed URL: {problem}"
        raise CliError(EXIT_INPUT, _masked(message, url))


def _journal_url(text: str) -> str:
    """Checks a journal URL's form (the journal itself is opened later)."""
    if text.startswith("sqlite:"):
        rest = text[len("sqlite:") :]
        if rest in ("", "//"):
            return text
        if not rest.startswith("///") or len(rest) == 3:
            raise CliError(
                EXIT_INPUT,
                _masked(
                    f"malformed SQLite journal URL {text!r}: use sqlite:///relative/path.db or "
                    "sqlite:////absolute/path.db",
                    text,
                ),
            )
        parent = Path(rest[3:]).parent
        if not parent.is_dir():
            raise CliError(
                EXIT_INPUT, _masked(f"journal {text!r}: no such directory {parent}", text)
            )
        return text
    if "://" in text:
        scheme = _scheme(text)
        if scheme not in ("postgresql", "postgres"):
            raise CliError(
                EXIT_INPUT,
                f"unknown journal URL scheme {scheme!r}: use a path, sqlite:///path or postgresql://...",
            )
        _check_postgres_url(text, "journal")
        return text
    if not Path(text).parent.is_dir():
        raise CliError(
            EXIT_INPUT, _masked(f"journal {text!r}: no such directory {Path(text).parent}", text)
        )
    return text


def fresh_journal_path(out: Path) -> Path:
    """A journal file of its own for one run in ``out``: ``journal-<UTC timestamp>.sqlite3``
    (``-2``, ``-3``, ... appended when runs start in the same second); never an existing file."""
    import datetime as dt

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"journal-{stamp}.sqlite3"
    n = 1
    while path.exists():
        n += 1
        path = out / f"journal-{stamp}-{n}.sqlite3"
    return path


def newest_journal(out: Path = DEMO_DIR) -> Path | None:
    """The journal of the latest run in ``out`` (the newest ``journal-*.sqlite3``, else a
    ``journal.sqlite3`` of older hedgekit versions), or ``None``."""
    found = [p for p in out.glob("journal-*.sqlite3") if p.is_file()]
    if found:
        return max(found, key=lambda p: (p.stat().st_mtime_ns, p.name))
    legacy = out / "journal.sqlite3"
    return legacy if legacy.is_file() else None


def _load_config(source: str) -> Any:
    """The ``run`` command's strategy configuration (exit 3 on a missing or malformed file)."""
    from hedgekit import demo as demo_mod
    from hedgekit.strategies.funding_arb import ConfigError

    if source != demo_mod.EXAMPLE_CONFIG and not Path(source).is_file():
        raise CliError(EXIT_INPUT, f"--config {source}: no such file")
    try:
        return demo_mod.load_config(source)
    except ConfigError as e:
        raise CliError(EXIT_INPUT, f"--config {source}: {' '.join(str(e).split())}") from None
    except OSError as e:
        raise CliError(EXIT_INPUT, f"--config {source}: {e.strerror or e}") from None


def _demo(args: argparse.Namespace) -> int:
    """``demo`` and ``run``: one funding-arbitrage run on the simulated venues."""
    from hedgekit import demo as demo_mod

    config = _load_config(args.config) if args.command == "run" else None
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError(EXIT_INPUT, f"--out {out}: {e.strerror or e}") from None
    journal_path: Path | None = None
    if args.journal is None:
        journal_path = fresh_journal_path(out)
        url = f"sqlite:///{journal_path}"
    else:
        url = _journal_url(args.journal)
    live = not args.no_progress and sys.stderr.isatty()
    progress = _Progress(sys.stderr, live)
    wire = getattr(args, "wire", False)
    if getattr(args, "seconds", None) is not None and not wire:
        raise CliError(EXIT_USAGE, "--seconds goes with --wire")
    aster_wire = getattr(args, "wire_aster", False)
    if aster_wire and not wire:
        raise CliError(EXIT_USAGE, "--wire-aster goes with --wire")
    try:
        if wire:
            from hedgekit import demo_wire

            run = demo_wire.run_wire_demo(
                args.seed,
                args.seconds or demo_wire.WIRE_DURATION_S,
                journal_url=url,
                on_event=progress.event,
                aster_wire=aster_wire,
            )
        else:
            run = demo_mod.run_demo(
                args.seed,
                args.duration * 60.0,
                journal_url=url,
                on_event=progress.event,
                config=config,
            )
    except ImportError as e:
        raise CliError(EXIT_ERROR, f"the journal is unavailable: {e}") from None
    except Exception as e:  # noqa: BLE001 - any failure of the run is reported, never a traceback
        progress.done()
        if type(e).__module__.startswith("hedgekit.journal"):
            raise CliError(EXIT_ERROR, _masked(f"journal {url}: {e}", url)) from None
        raise CliError(
            EXIT_ERROR, _masked(f"the demo failed: {type(e).__name__}: {e}", url)
        ) from None
    progress.done()
    print(demo_mod.format_report(run))
    print()
    op: int | None = args.op
    bad_op = op is not None and op > len(run.operations)
    png_path = out / "timeline.png"
    try:
        png = demo_mod.plot_run(run, png_path, op=None if bad_op else op)
    except ImportError as e:  # no "plot" extra: the demo still runs, the PNG is skipped
        print(f"timeline PNG: skipped ({e})")
    except OSError as e:
        raise CliError(EXIT_INPUT, f"--out {out}: {png_path}: {e.strerror or e}") from None
    else:
        detail = f", with operation #{op}" if op is not None and not bad_op else ""
        print(f"timeline PNG: {png} (the whole run{detail})")
    print(f"journal:      {journal_path if journal_path is not None else _masked(url, url)}")
    if run.wire is None:
        print(f"wall time:    {run.wall_s:.1f} s for {run.duration_s / 60:.0f} min of venue time")
    else:
        print(f"wall time:    {run.wall_s:.1f} s (real time, over the wire)")
    if run.journal_errors:
        _error(_masked(f"journal writes failed: {run.journal_errors[0]}", url))
        return EXIT_ERROR
    if bad_op:
        _error(f"--op {op}: the run has {len(run.operations)} operation(s)")
        return EXIT_USAGE
    wrong = [m for w in (run.wire, run.wire_aster) if w is not None for m in w.mismatches]
    if wrong:
        _error("the venue's truth disagrees with the ledger: " + "; ".join(wrong))
        return EXIT_FAILED
    return EXIT_FAILED if run.exposed else EXIT_OK


# ---------------------------------------------------------------------------------- report


def _report(args: argparse.Namespace) -> int:
    """Reads the journal read-only: it is never created, migrated or written (a file that is not
    a journal, or an empty one, is refused with exit 3 and left as it was). A journal of an older
    schema is read as it is (every schema version so far has the same tables and columns)."""
    if args.db is None:
        newest = newest_journal(DEMO_DIR)
        if newest is None:
            raise CliError(
                EXIT_INPUT,
                f"--db: no journal in {DEMO_DIR}/ (run 'hedgekit demo' first, or give --db URL)",
            )
        db = str(newest)
    else:
        db = args.db
    sqlite_path: str | None
    if db.startswith("sqlite:"):
        rest = db[len("sqlite:") :]
        sqlite_path = rest[3:] if rest.startswith("///") and len(rest) > 3 else None
        if sqlite_path is None:
            raise CliError(
                EXIT_INPUT,
                _masked(
                    f"--db {db!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db",
                    db,
                ),
            )
    elif "://" in db:
        scheme = _scheme(db)
        if scheme not in ("postgresql", "postgres"):
            raise CliError(EXIT_INPUT, f"--db: unknown journal URL scheme {scheme!r}")
        _check_postgres_url(db, "--db")
        sqlite_path = None
    else:
        sqlite_path = db
    if sqlite_path is not None and not os.path.isfile(sqlite_path):
        raise CliError(EXIT_INPUT, _masked(f"--db: no such journal file {sqlite_path}", db))
    try:
        from hedgekit.journal import JournalSchemaError, open_journal
        from hedgekit.journal.stats import REPORT_WIDTH, execution_stats, format_report
    except ImportError as e:
        raise CliError(EXIT_ERROR, f"the journal is unavailable: {e}") from None

    import asyncio

    async def read() -> list[Any]:
        journal = await open_journal(db, read_only=True)
        try:
            return list(await execution_stats(journal, group_by=args.by, period_ns=args.period))
        finally:
            await journal.close()

    try:
        rows = asyncio.run(read())
    except JournalSchemaError as e:  # not a journal, or a schema this hedgekit cannot read
        raise CliError(EXIT_INPUT, _masked(f"journal {db}: {e}", db)) from None
    except ValueError as e:
        raise CliError(EXIT_USAGE, _masked(str(e), db)) from None
    except Exception as e:  # noqa: BLE001 - a journal failure of any kind is reported
        raise CliError(EXIT_ERROR, _masked(f"journal {db}: {e}", db)) from None
    if args.json:
        print(json.dumps({"rows": [r.to_dict() for r in rows]}, indent=2))
    else:
        width = min(REPORT_WIDTH, terminal_width()) if sys.stdout.isatty() else REPORT_WIDTH
        print(format_report(rows, period_ns=args.period, width=width))
    if args.plot is not None:
        try:
            path = plot_stats(rows, args.plot)
        except ImportError as e:  # --plot asked for a PNG the "plot" extra would draw
            raise CliError(EXIT_INPUT, f"--plot {args.plot}: {e}") from None
        except OSError as e:  # an unwritable path, a directory: an input the user gave
            raise CliError(EXIT_INPUT, f"--plot {args.plot}: {e.strerror or e}") from None
        print(f"plot: {path}")
    return EXIT_OK


def plot_stats(rows: Sequence[Any], path: Path) -> Path:
    """A PNG of the report's rows: mean slippage per group and mean markout per horizon.

    Args:
        rows: :class:`hedgekit.journal.stats.StatsRow` rows.
        path: Where to write it.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # the "plot" extra is not installed: one line naming it
        raise ImportError('matplotlib is not installed: pip install "hedgekit[plot]"') from exc

    fig = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    labels = [
        "/".join(str(x) for x in (r.venue, r.symbol, r.kind) if x is not None) or "all"
        for r in rows
    ]
    slips = [r.slippage_bps_mean if r.slippage_bps_mean is not None else 0.0 for r in rows]
    ax1.bar(range(len(rows)), slips, color="tab:blue")
    ax1.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=8)
    ax1.set_ylabel("mean slippage (bps, + is worse)")
    ax1.axhline(0.0, color="black", linewidth=0.6)
    for r, label in zip(rows, labels, strict=True):
        hs = sorted(h for h, v in r.markout_bps.items() if v is not None)
        if hs:
            ax2.plot(hs, [r.markout_bps[h] for h in hs], marker="o", label=label)
    ax2.set_xlabel("horizon (s)")
    ax2.set_ylabel("mean markout (bps, + is our way)")
    ax2.axhline(0.0, color="black", linewidth=0.6)
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend(fontsize=8)
    fig.suptitle("execution quality")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(out), format="png")
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
