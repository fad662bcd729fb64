"""A read-only check of live Aster credentials: :func:`check_account`.

It answers the questions to settle before a bot trades: is the venue reachable, is this
machine's clock close enough to the venue's (a V3 nonce must be within 10 s of it, a V1
timestamp within ``recvWindow``), do the credentials sign for an account the venue knows (an
API wallet its user never approved, or a wrong HMAC secret, is refused with the venue's code),
what does the account hold, what rests, can a user-data stream be opened, and what request
budget the venue publishes. Reads only, plus one ``listenKey`` created and deleted; no order is
sent, no socket is opened.

The credentials come in as :class:`~hedgekit.secrets.Secret` values inside
:class:`~hedgekit.venues.aster.signing.AsterCredentials`; they never reach a report, a log line
or an exception.
"""

from __future__ import annotations

import time
from typing import Any

from hedgekit.errors import OrderRejectedError
from hedgekit.venues.aster import parse
from hedgekit.venues.aster.http import AsterHttp
from hedgekit.venues.aster.signing import AsterCredentials, WalletSigner, signer_for
from hedgekit.venues.hyperliquid.check import CheckItem, CheckReport

__all__ = ["MAX_SKEW_MS", "CheckItem", "CheckReport", "check_account"]

MAX_SKEW_MS = 1000
"""The largest clock difference with the venue that passes (V1's default ``recvWindow`` is
5 s and a V3 nonce may be 10 s off; a second leaves room for the network)."""


async def check_account(
    url: str, credentials: AsterCredentials, *, timeout_s: float = 10.0
) -> CheckReport:
    """Checks credentials and connectivity, read-only.

    Args:
        url: The REST base (mainnet or a fake).
        credentials: V3 (API wallet and user) or V1 (API key and secret).
        timeout_s: Each request's timeout.

    Returns:
        The report; :attr:`CheckReport.ok` is false when the venue refuses the credentials
        (an unknown or unapproved signer, a wrong secret) or the clocks are too far apart.
        ``signer`` is the API wallet's address (V3) or ``"api key"`` (V1); ``account`` the
        user's address (V3) or ``"(the key's)"`` (V1).

    Raises:
        ValueError: The credentials are incomplete, or the V3 key is not a private key.
        hedgekit.errors.VenueError: The venue could not be read (unreachable, timed out);
            nothing was sent but reads.
    """
    signer = signer_for(credentials)
    if isinstance(signer, WalletSigner):
        who, account = signer.address.lower(), str(credentials.user).lower()
    else:
        who, account = "api key", "(the key's)"
    report = CheckReport(url, who, account, None)
    http = AsterHttp("aster", url, signer, timeout_s=timeout_s)
    try:
        info = await http.public("exchangeInfo", weight=1)
        symbols = [s for s in info.get("symbols", ()) if s.get("status") == "TRADING"]
        report.add("exchangeInfo", bool(symbols), f"{len(symbols)} perpetuals trading")
        budgets = parse.rate_budgets(info)
        if budgets:
            http.use_budgets(budgets)
        await _skew(http, report)
        try:
            acct = await http.signed("GET", "account", [], weight=5)
        except OrderRejectedError as e:
            report.add("credentials", False, _refusal(credentials, e))
            return report
        report.add("credentials", True, _accepted(credentials, report))
        state = parse.account_state("aster", acct, time.time_ns())
        held = parse.positions("aster", acct.get("positions") or ())
        report.add(
            "account",
            True,
            f"wallet {state.collateral} USDT, margin balance {state.equity}, available "
            f"{state.available}, {len(held)} position(s)"
            + "".join(f", {p.symbol} {p.size}" for p in held.values()),
        )
        orders = await http.signed("GET", "openOrders", [], weight=40)
        report.add("open orders", True, f"{len(orders) if isinstance(orders, list) else 0} resting")
        await _listen_key(http, report)
        report.add("rate limit", True, _headroom(http, budgets))
    finally:
        await http.close()
    return report


async def _skew(http: AsterHttp, report: CheckReport) -> None:
    before = time.time_ns() // 1_000_000
    answer = await http.public("time")
    after = time.time_ns() // 1_000_000
    server = int(answer.get("serverTime", 0)) if isinstance(answer, dict) else 0
    skew = server - (before + after) // 2
    report.add(
        "clock",
        abs(skew) <= MAX_SKEW_MS,
        f"venue time {'+' if skew >= 0 else ''}{skew} ms from ours (round trip "
        f"{after - before} ms; at most ±{MAX_SKEW_MS} ms passes)",
    )


async def _listen_key(http: AsterHttp, report: CheckReport) -> None:
    try:
        created = await http.listen_key("POST")
        ok = isinstance(created, dict) and bool(created.get("listenKey"))
        await http.listen_key("DELETE")
    except OrderRejectedError as e:
        report.add("listenKey", False, f"refused: code {e.code}: {e.message}")
        return
    report.add("listenKey", ok, "created and deleted" if ok else "no key in the answer")


def _headroom(http: AsterHttp, budgets: tuple[Any, ...]) -> str:
    named = {b.name: b for b in budgets} or http.limiter.budgets
    parts = []
    for name, b in named.items():
        left = http.limiter.available(name)
        parts.append(
            f"{name} {b.capacity:g} per {b.window_s:g} s ({b.capacity - left:.0f} spent here)"
        )
    return "; ".join(parts) if parts else "none published"


def _accepted(credentials: AsterCredentials, report: CheckReport) -> str:
    if credentials.scheme == "v3":
        if report.signer == report.account:
            return f"{report.signer} signs as the account itself"
        return f"API wallet {report.signer} acts for {report.account}"
    return "API key and secret accepted"


def _refusal(credentials: AsterCredentials, e: OrderRejectedError) -> str:
    if credentials.scheme == "v3":
        what = (
            "the venue refuses the API wallet for this user (not approved by it, or an unknown "
            "user): every order would be refused"
        )
    else:
        what = "the venue refuses the API key or its secret: every order would be refused"
    return f"{what} (code {e.code}: {e.message})"
