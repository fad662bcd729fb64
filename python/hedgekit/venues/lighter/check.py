"""A read-only check of a live Lighter API key: :func:`check_account`.

It answers the questions to settle before a bot trades: is the venue reachable and which
perpetuals are active (``orderBookDetails``), is the API key registered for the account and is
it the configured one (``apikeys``), where its nonce stands (``nextNonce``), what the account
holds (``account``), and whether the venue accepts an auth token signed by the key (a private
read). Reads only: no transaction is signed or sent, no socket is opened.

The native signer exports no way to derive a public key from a private one offline, so the
key is proven by the venue itself: it verifies the auth token's signature against the public
key it has registered for (account, key index). A public key given in the credentials is
compared with the registered one too.

The private key is a :class:`~hedgekit.secrets.Secret` inside
:class:`~hedgekit.venues.lighter.signing.LighterCredentials`; neither it nor the auth token
reaches a report, a log line or an exception.
"""

from __future__ import annotations

import time

from hedgekit.errors import OrderRejectedError
from hedgekit.venues.hyperliquid.check import CheckItem, CheckReport
from hedgekit.venues.lighter import parse
from hedgekit.venues.lighter.http import LighterHttp
from hedgekit.venues.lighter.signing import LighterCredentials, LighterSigner

__all__ = ["CheckItem", "CheckReport", "check_account"]


def _hex(key: str) -> str:
    return key.lower().removeprefix("0x")


async def check_account(
    url: str, credentials: LighterCredentials, *, timeout_s: float = 10.0
) -> CheckReport:
    """Checks an API key and connectivity, read-only.

    Args:
        url: The REST base (mainnet, testnet or a fake).
        credentials: The account, the key's index and its private key.
        timeout_s: Each request's timeout.

    Returns:
        The report (``signer`` = ``"api key <index>"``, ``account`` = the account index);
        :attr:`CheckReport.ok` is false when the key is not registered, is not the configured
        one, or the venue refuses its auth token.

    Raises:
        hedgekit.errors.MissingExtraError: ``lighter-sdk`` is not installed.
        hedgekit.errors.InvalidArgumentError: The signer refused the private key.
        hedgekit.errors.VenueError: The venue could not be read; nothing was sent but reads.
    """
    signer = LighterSigner(credentials, url)
    report = CheckReport(
        url, f"api key {credentials.api_key_index}", str(credentials.account_index), None
    )
    http = LighterHttp("lighter", url, timeout_s=timeout_s)
    acct = credentials.account_index
    try:
        details = await http.get("orderBookDetails")
        insts = parse.instruments("lighter", details)
        report.add("markets", bool(insts), f"{len(insts)} perpetuals active")
        keys = await http.get(
            "apikeys", {"account_index": acct, "api_key_index": credentials.api_key_index}
        )
        mine = [
            k for k in keys.get("api_keys") or ()
            if int(k.get("api_key_index", -1)) == credentials.api_key_index
        ]  # fmt: skip
        if not mine:
            report.add("api key", False, f"no key {credentials.api_key_index} on account {acct}")
            return report
        else:
            registered = _hex(str(mine[0].get("public_key", "")))
            if credentials.public_key is None:
                report.add(
                    "api key", True,
                    f"registered (public key {registered[:12]}…); proven by the auth check",
                )  # fmt: skip
            else:
                same = registered == _hex(credentials.public_key)
                report.add(
                    "api key", same,
                    "the registered public key is the configured one" if same else
                    f"the registered public key {registered[:12]}… is not the configured one",
                )  # fmt: skip
        nonce = await http.next_nonce(acct, credentials.api_key_index)
        report.add("nonce", nonce >= 0, f"next nonce {nonce}")
        body = await http.get("account", {"by": "index", "value": acct})
        rows = body.get("accounts") or []
        if not rows:
            report.add("account", False, f"the venue knows no account {acct}")
            return report
        state = parse.account_state("lighter", rows[0], time.time_ns())
        held = parse.positions(
            "lighter", list(rows[0].get("positions") or ()),
            {i.market_id: s for s, i in insts.items()}, time.time_ns(),
        )  # fmt: skip
        report.add(
            "account", True,
            f"collateral {state.collateral}, equity {state.equity}, available "
            f"{state.available}, {len(held)} position(s)"
            + "".join(f", {p.symbol} {p.size}" for p in held.values()),
        )  # fmt: skip
        market = min((i.market_id for i in insts.values()), default=0)
        token = signer.auth_token(int(time.time()) + 600)
        try:
            active = await http.get(
                "accountActiveOrders", {"account_index": acct, "market_id": market}, auth=token
            )
        except OrderRejectedError as e:
            report.add(
                "auth", False,
                f"the venue refuses the key's auth token (code {e.code}: {e.message}): the "
                "key is not the one registered, and every order would be refused",
            )  # fmt: skip
            return report
        n = len(active.get("orders") or ())
        report.add("auth", True, f"auth token accepted ({n} order(s) resting on market {market})")
    finally:
        await http.close()
        signer.close()
    return report
