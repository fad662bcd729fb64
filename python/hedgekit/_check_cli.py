"""``hedgekit check hyperliquid``: live credentials and connectivity, read-only, a thin layer
over :func:`hedgekit.venues.hyperliquid.check.check_account`.

The key comes from ``HEDGEKIT_HL_KEY`` or ``--key-file`` and is wrapped in a
:class:`~hedgekit.secrets.Secret` at once; it is never printed or logged, and a file whose
content is not a key is reported without its content.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, CliError

__all__ = ["ENV_ACCOUNT", "ENV_KEY", "ENV_URL", "ENV_VAULT", "add_parser", "run"]

ENV_KEY = "HEDGEKIT_HL_KEY"
"""The signer's private key (an agent's, or the account's own)."""
ENV_ACCOUNT = "HEDGEKIT_HL_ACCOUNT"
"""The master (account) address."""
ENV_VAULT = "HEDGEKIT_HL_VAULT"
"""A vault or sub-account address."""
ENV_URL = "HEDGEKIT_HL_URL"
"""The REST base, when neither ``--url`` nor ``--testnet`` is given."""


def add_parser(sub: Any, epilog: str, formatter: type[argparse.HelpFormatter]) -> None:
    """Adds ``check`` to the command line's subcommands."""
    from hedgekit.cli import _address, _Parser

    check = sub.add_parser(
        "check",
        help="verify live credentials and connectivity, read-only (no order is sent)",
        description="Checks a live venue's credentials and connectivity; reads only.",
        epilog=epilog,
        formatter_class=formatter,
    )
    venues = check.add_subparsers(dest="venue", metavar="VENUE", parser_class=_Parser)
    venues.required = True
    hl = venues.add_parser(
        "hyperliquid",
        help="meta, the account's state, the agent's approval, open orders, rate limit",
        description=(
            "Reads Hyperliquid's /info only: meta; the signer's role (the account itself, or an "
            "agent approved by the account: an agent its master has not approved is reported, "
            "exit 1); the account's state at the master (or vault) address; open orders; the "
            f"rate-limit status. The key comes from ${ENV_KEY} or --key-file and is never "
            f"printed or logged; the account from --account or ${ENV_ACCOUNT} (default: the "
            f"key's own address), the vault from --vault or ${ENV_VAULT}; the URL from --url, "
            f"--testnet or ${ENV_URL} (default mainnet)."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    where = hl.add_mutually_exclusive_group()
    where.add_argument("--testnet", action="store_true", help="the testnet URL")
    where.add_argument("--url", metavar="URL", default=None, help="another REST base URL")
    hl.add_argument(
        "--key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"a file holding the private key (instead of ${ENV_KEY})",
    )
    hl.add_argument("--account", type=_address, default=None, metavar="ADDR")
    hl.add_argument("--vault", type=_address, default=None, metavar="ADDR")
    hl.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request")


def _key(args: argparse.Namespace) -> Any:
    from hedgekit.secrets import Secret

    if args.key_file is not None:
        path: Path = args.key_file
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise CliError(EXIT_INPUT, f"--key-file {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else "not a text file"
            raise CliError(EXIT_INPUT, f"--key-file {path}: {why}") from None
        where = f"--key-file {path}"
    else:
        text = os.environ.get(ENV_KEY, "").strip()
        if not text:
            raise CliError(EXIT_USAGE, f"no key: set ${ENV_KEY} or give --key-file")
        where = f"${ENV_KEY}"
    if len(text) < 4:
        raise CliError(EXIT_INPUT, f"{where}: not a private key: expected 64 hex digits")
    return Secret(text), where


def _url(args: argparse.Namespace) -> str:
    from hedgekit.venues.hyperliquid.wire import MAINNET_URL, TESTNET_URL

    if args.testnet:
        return TESTNET_URL
    url = args.url or os.environ.get(ENV_URL) or MAINNET_URL
    if not url.startswith(("http://", "https://")):
        raise CliError(EXIT_USAGE, f"--url {url}: expected http:// or https://")
    return str(url).rstrip("/")


def _env_address(value: str | None, env: str) -> str | None:
    from hedgekit.cli import _address

    if value is not None:
        return value
    text = os.environ.get(env)
    if not text:
        return None
    try:
        return _address(text.strip())
    except argparse.ArgumentTypeError as e:
        raise CliError(EXIT_USAGE, f"${env}: {e}") from None


def run(args: argparse.Namespace) -> int:
    """Runs ``hedgekit check hyperliquid``; the exit code."""
    from hedgekit.errors import VenueError
    from hedgekit.venues.hyperliquid.check import check_account, signer_address

    key, where = _key(args)
    try:
        signer_address(key)
    except ValueError as e:
        raise CliError(EXIT_INPUT, f"{where}: {e}") from None
    url = _url(args)
    account = _env_address(args.account, ENV_ACCOUNT)
    vault = _env_address(args.vault, ENV_VAULT)
    try:
        report = asyncio.run(
            check_account(url, key, account=account, vault=vault, timeout_s=args.timeout)
        )
    except VenueError as e:
        raise CliError(EXIT_ERROR, f"{url}: {e}") from None
    print(f"hyperliquid {report.url}")
    print(f"  signer  {report.signer}")
    print(f"  account {report.account}" + (f" (vault {report.vault})" if report.vault else ""))
    for item in report.items:
        mark = "ok  " if item.ok else "FAIL"
        print(f"  {mark} {item.name:<12} {item.detail}")
    print("read-only: no order was sent" + ("" if report.ok else "; a check FAILED"))
    return EXIT_OK if report.ok else EXIT_FAILED
