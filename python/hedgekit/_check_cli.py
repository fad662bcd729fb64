"""``hedgekit check hyperliquid``, ``hedgekit check aster`` and ``hedgekit check lighter``:
live credentials and connectivity, read-only, thin layers over
:func:`hedgekit.venues.hyperliquid.check.check_account`,
:func:`hedgekit.venues.aster.check.check_account` and
:func:`hedgekit.venues.lighter.check.check_account`.

Keys and secrets come from the environment or ``--key-file`` and are wrapped in a
:class:`~hedgekit.secrets.Secret` at once; they are never printed or logged, and a file whose
content is not a key is reported without its content.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, CliError

__all__ = [
    "ENV_ACCOUNT",
    "ENV_ASTER_API_KEY",
    "ENV_ASTER_API_SECRET",
    "ENV_ASTER_KEY",
    "ENV_ASTER_URL",
    "ENV_ASTER_USER",
    "ENV_KEY",
    "ENV_LIGHTER_ACCOUNT",
    "ENV_LIGHTER_KEY",
    "ENV_LIGHTER_KEY_INDEX",
    "ENV_LIGHTER_URL",
    "ENV_URL",
    "ENV_VAULT",
    "add_parser",
    "run",
]

ENV_KEY = "HEDGEKIT_HL_KEY"
"""The signer's private key (an agent's, or the account's own)."""
ENV_ACCOUNT = "HEDGEKIT_HL_ACCOUNT"
"""The master (account) address."""
ENV_VAULT = "HEDGEKIT_HL_VAULT"
"""A vault or sub-account address."""
ENV_URL = "HEDGEKIT_HL_URL"
"""The REST base, when neither ``--url`` nor ``--testnet`` is given."""
ENV_ASTER_KEY = "HEDGEKIT_ASTER_KEY"
"""Aster V3: the API wallet's private key."""
ENV_ASTER_USER = "HEDGEKIT_ASTER_USER"
"""Aster V3: the main wallet's address (the account the API wallet acts for)."""
ENV_ASTER_API_KEY = "HEDGEKIT_ASTER_API_KEY"
"""Aster V1: the API key."""
ENV_ASTER_API_SECRET = "HEDGEKIT_ASTER_API_SECRET"
"""Aster V1: the API key's HMAC secret."""
ENV_ASTER_URL = "HEDGEKIT_ASTER_URL"
"""Aster's REST base, when ``--url`` is not given."""
ENV_LIGHTER_KEY = "HEDGEKIT_LIGHTER_KEY"
"""Lighter: the API key's private key."""
ENV_LIGHTER_ACCOUNT = "HEDGEKIT_LIGHTER_ACCOUNT"
"""Lighter: the account index."""
ENV_LIGHTER_KEY_INDEX = "HEDGEKIT_LIGHTER_KEY_INDEX"
"""Lighter: the API key's index (0..254)."""
ENV_LIGHTER_URL = "HEDGEKIT_LIGHTER_URL"
"""Lighter's REST base, when ``--url`` is not given."""


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
    aster = venues.add_parser(
        "aster",
        help="exchangeInfo, clock skew, the account, open orders, a listenKey, rate limits",
        description=(
            "Reads Aster's futures API only: exchangeInfo; the clock's skew from the venue's; "
            "the account (balance, positions) with the credentials (refused credentials are "
            "reported with the venue's code, exit 1); open orders; a user-stream listenKey "
            "created and deleted (the venue hands back the account's live key if one exists: "
            "do not run this beside a bot of the same account); the published request budget. "
            f"V3 (API wallet): the key from ${ENV_ASTER_KEY} or --key-file, the user from "
            f"--user or ${ENV_ASTER_USER}. V1 (API key), when no V3 key is given: "
            f"${ENV_ASTER_API_KEY} and ${ENV_ASTER_API_SECRET}. Nothing is printed or logged "
            f"of a key or secret. The URL from --url or ${ENV_ASTER_URL} (default mainnet)."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    aster.add_argument("--url", metavar="URL", default=None, help="another REST base URL")
    aster.add_argument(
        "--key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"a file holding the API wallet's private key (instead of ${ENV_ASTER_KEY})",
    )
    aster.add_argument("--user", type=_address, default=None, metavar="ADDR")
    aster.add_argument(
        "--chain-id", type=int, default=1666, metavar="N", help="V3 EIP-712 chain (714: testnet)"
    )
    aster.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request")
    lighter = venues.add_parser(
        "lighter",
        help="orderBookDetails, the API key, its nonce, the account, an auth token",
        description=(
            "Reads Lighter's API only: orderBookDetails; the API key registered for the "
            "account (compared with --public-key when given); the key's next nonce; the "
            "account (collateral, positions); an auth token signed by the key, accepted by a "
            "private read (a key that is not the registered one is reported, exit 1). No "
            f"transaction is signed or sent. The key from ${ENV_LIGHTER_KEY} or --key-file, "
            f"the account from --account-index or ${ENV_LIGHTER_ACCOUNT}, the key's index from "
            f"--api-key-index or ${ENV_LIGHTER_KEY_INDEX}; nothing is printed or logged of the "
            f"key or the token. The URL from --url or ${ENV_LIGHTER_URL} (default mainnet). "
            "Needs pip install 'hedgekit[lighter]' (the venue's signer)."
        ),
        epilog=epilog,
        formatter_class=formatter,
    )
    lighter.add_argument("--url", metavar="URL", default=None, help="another REST base URL")
    lighter.add_argument(
        "--key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"a file holding the API key's private key (instead of ${ENV_LIGHTER_KEY})",
    )
    lighter.add_argument("--account-index", type=int, default=None, metavar="N")
    lighter.add_argument("--api-key-index", type=int, default=None, metavar="N")
    lighter.add_argument(
        "--public-key", default=None, metavar="HEX", help="the key's public key, to compare"
    )
    lighter.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request")


def _key(args: argparse.Namespace, env: str = ENV_KEY) -> Any:
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
        text = os.environ.get(env, "").strip()
        if not text:
            raise CliError(EXIT_USAGE, f"no key: set ${env} or give --key-file")
        where = f"${env}"
    if len(text) < 4:
        raise CliError(EXIT_INPUT, f"{where}: not a private key: expected 64 hex digits")
    return Secret(text), where


def _url(args: argparse.Namespace) -> str:
    from hedgekit.venues.hyperliquid.wire import MAINNET_URL, TESTNET_URL

    if args.testnet:
        return TESTNET_URL
    return _base_url(args.url or os.environ.get(ENV_URL) or MAINNET_URL)


def _base_url(url: str) -> str:
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
    """Runs ``hedgekit check <venue>``; the exit code."""
    if args.venue == "aster":
        return _run_aster(args)
    if args.venue == "lighter":
        return _run_lighter(args)
    return _run_hyperliquid(args)


def _aster_credentials(args: argparse.Namespace) -> Any:
    from hedgekit.secrets import Secret
    from hedgekit.venues.aster.signing import AsterCredentials
    from hedgekit.venues.hyperliquid.check import signer_address

    if args.key_file is not None or os.environ.get(ENV_ASTER_KEY, "").strip():
        key, where = _key(args, ENV_ASTER_KEY)
        try:
            signer = signer_address(key)
        except ValueError as e:
            raise CliError(EXIT_INPUT, f"{where}: {e}") from None
        user = _env_address(args.user, ENV_ASTER_USER) or signer
        return AsterCredentials.v3(user, key, chain_id=args.chain_id)
    api_key = os.environ.get(ENV_ASTER_API_KEY, "").strip()
    api_secret = os.environ.get(ENV_ASTER_API_SECRET, "").strip()
    if not api_key or not api_secret:
        raise CliError(
            EXIT_USAGE,
            f"no credentials: set ${ENV_ASTER_KEY} (or give --key-file) for V3, or "
            f"${ENV_ASTER_API_KEY} and ${ENV_ASTER_API_SECRET} for V1",
        )
    return AsterCredentials.v1(Secret(api_key), Secret(api_secret))


def _run_aster(args: argparse.Namespace) -> int:
    from hedgekit.errors import VenueError
    from hedgekit.venues.aster.check import check_account
    from hedgekit.venues.aster.wire import MAINNET_URL

    credentials = _aster_credentials(args)
    url = _base_url(args.url or os.environ.get(ENV_ASTER_URL) or MAINNET_URL)
    try:
        report = asyncio.run(check_account(url, credentials, timeout_s=args.timeout))
    except VenueError as e:
        raise CliError(EXIT_ERROR, f"{url}: {e}") from None
    print(f"aster {report.url} ({credentials.scheme})")
    print(f"  signer  {report.signer}")
    print(f"  account {report.account}")
    return _print_items(report)


def _int_arg(value: int | None, env: str, flag: str) -> int:
    if value is not None:
        return value
    text = os.environ.get(env, "").strip()
    if not text:
        raise CliError(EXIT_USAGE, f"no {flag}: give {flag} or set ${env}")
    try:
        return int(text)
    except ValueError:
        raise CliError(EXIT_USAGE, f"${env}: not an integer") from None


def _run_lighter(args: argparse.Namespace) -> int:
    from hedgekit.errors import InvalidArgumentError, MissingExtraError, VenueError
    from hedgekit.venues.lighter.check import check_account
    from hedgekit.venues.lighter.signing import LighterCredentials
    from hedgekit.venues.lighter.wire import MAINNET_URL

    key, where = _key(args, ENV_LIGHTER_KEY)
    account = _int_arg(args.account_index, ENV_LIGHTER_ACCOUNT, "--account-index")
    index = _int_arg(args.api_key_index, ENV_LIGHTER_KEY_INDEX, "--api-key-index")
    try:
        credentials = LighterCredentials(account, index, key, args.public_key)
    except InvalidArgumentError as e:
        raise CliError(EXIT_USAGE, str(e)) from None
    url = _base_url(args.url or os.environ.get(ENV_LIGHTER_URL) or MAINNET_URL)
    try:
        report = asyncio.run(check_account(url, credentials, timeout_s=args.timeout))
    except MissingExtraError as e:
        raise CliError(EXIT_ERROR, str(e)) from None
    except InvalidArgumentError:
        raise CliError(EXIT_INPUT, f"{where}: not a Lighter API private key") from None
    except VenueError as e:
        raise CliError(EXIT_ERROR, f"{url}: {e}") from None
    print(f"lighter {report.url}")
    print(f"  signer  {report.signer}")
    print(f"  account {report.account}")
    return _print_items(report)


def _print_items(report: Any) -> int:
    for item in report.items:
        mark = "ok  " if item.ok else "FAIL"
        print(f"  {mark} {item.name:<12} {item.detail}")
    print("read-only: no order was sent" + ("" if report.ok else "; a check FAILED"))
    return EXIT_OK if report.ok else EXIT_FAILED


def _run_hyperliquid(args: argparse.Namespace) -> int:
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
    return _print_items(report)
