"""A read-only check of live Hyperliquid credentials: :func:`check_account`.

It answers the questions to settle before a bot trades: is the venue reachable, does the key
sign for the account it is meant to (an **agent** wallet signing for a master that has not
approved it is the most common live mistake: every order is refused with ``User or API Wallet …
does not exist``), what does the account hold, what rests, how much of the request budget is
used. Only ``/info`` is read; nothing is signed and sent, no socket is opened.

The key comes in as a :class:`~hedgekit.secrets.Secret` and is used once, to derive the
signer's address; it never reaches a report, a log line or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgekit.errors import HedgekitError, VenueError
from hedgekit.secrets import Secret
from hedgekit.venues.hyperliquid import parse
from hedgekit.venues.hyperliquid.http import HyperliquidHttp
from hedgekit.venues.hyperliquid.signing import ActionSigner

__all__ = ["CheckItem", "CheckReport", "check_account", "signer_address"]


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One line of a check.

    Attributes:
        name: What was checked (``"meta"``, ``"signer"``, ``"account"``, …).
        ok: Whether it passed.
        detail: What was found (addresses, counts, amounts; never a key).
    """

    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class CheckReport:
    """What :func:`check_account` found.

    Attributes:
        url: The REST base read.
        signer: The address the key signs as.
        account: The master address every read uses.
        vault: The vault or sub-account acted for, if any.
        items: Every check, in order.
    """

    url: str
    signer: str
    account: str
    vault: str | None
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(i.ok for i in self.items)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Appends one check's outcome."""
        self.items.append(CheckItem(name, ok, detail))


def signer_address(key: Secret) -> str:
    """The lowercase address ``key`` signs as.

    Raises:
        ValueError: ``key`` is not a private key (64 hex digits, ``0x`` optional, in the
            curve's range); the message never holds the key.
    """
    text = key.reveal().strip()
    body = text.removeprefix("0x")
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise ValueError("not a private key: expected 64 hex digits (0x optional)")
    try:
        return ActionSigner(Secret(text)).address.lower()
    except (ValueError, HedgekitError):
        raise ValueError("not a usable private key (outside the curve's range)") from None


async def check_account(
    url: str,
    key: Secret,
    *,
    account: str | None = None,
    vault: str | None = None,
    timeout_s: float = 10.0,
) -> CheckReport:
    """Checks credentials and connectivity, read-only.

    Args:
        url: The REST base (mainnet, testnet or a fake).
        key: The signer's private key (an agent's, or the account's own).
        account: The master address; ``None``: the key is the account's own.
        vault: A vault or sub-account the orders would be for; its state is read.
        timeout_s: Each request's timeout.

    Returns:
        The report; :attr:`CheckReport.ok` is false when the signer cannot trade for the
        account (not approved, approved by another master, an unknown account).

    Raises:
        ValueError: ``key`` is not a private key.
        hedgekit.errors.VenueError: The venue could not be read (unreachable, timed out,
            refused); nothing was sent but reads.
    """
    signer = signer_address(key)
    master = (account or signer).lower()
    report = CheckReport(url, signer, master, vault.lower() if vault else None)
    http = HyperliquidHttp("hyperliquid", url, timeout_s=timeout_s)
    try:
        meta = await http.info({"type": "meta"})
        universe = meta.get("universe", []) if isinstance(meta, dict) else []
        report.add("meta", bool(universe), f"{len(universe)} perpetuals listed")
        await _roles(http, report)
        user = report.vault or master
        state = await http.info({"type": "clearinghouseState", "user": user})
        if not isinstance(state, dict):
            raise VenueError("hyperliquid", "clearinghouseState unreadable")
        acct = parse.account_state("hyperliquid", state)
        held = parse.positions("hyperliquid", state)
        report.add(
            "state",
            True,
            f"{user}: account value {acct.equity} USDC, {len(held)} position(s)"
            + "".join(f", {p.symbol} {p.size}" for p in held.values()),
        )
        orders = await http.info({"type": "frontendOpenOrders", "user": user})
        report.add("open orders", True, f"{len(orders) if isinstance(orders, list) else 0} resting")
        limit = await http.info({"type": "userRateLimit", "user": master})
        report.add("rate limit", True, _rate_limit(limit))
    finally:
        await http.close()
    return report


async def _roles(http: HyperliquidHttp, report: CheckReport) -> None:
    """The signer's role (``userRole``): the account itself, or an agent approved by it."""
    role = await http.info({"type": "userRole", "user": report.signer})
    kind = role.get("role") if isinstance(role, dict) else None
    data: dict[str, Any] = (role.get("data") or {}) if isinstance(role, dict) else {}
    signer, master = report.signer, report.account
    if signer == master:
        if kind == "user":
            report.add("signer", True, f"{signer} is the account itself")
        elif kind == "agent":
            report.add(
                "signer",
                False,
                f"{signer} is an agent of {data.get('user')}: give that address as the account",
            )
        else:
            report.add("signer", False, f"{signer}: the venue knows no such account ({kind})")
        return
    approver = str(data.get("user", "")).lower()
    if kind == "agent" and approver == master:
        report.add("signer", True, f"agent {signer} approved by {master}")
    elif kind == "agent":
        report.add(
            "signer",
            False,
            f"agent {signer} is approved by {approver}, not by {master}: orders would trade "
            f"{approver}'s account",
        )
    elif kind == "user":
        report.add(
            "signer",
            False,
            f"{signer} is an account of its own, not an agent of {master}: its orders would "
            "trade itself",
        )
    else:
        report.add(
            "signer",
            False,
            f"agent {signer} is NOT approved by {master}: every order would be refused "
            f"(approve it from {master} with approveAgent)",
        )
    master_role = await http.info({"type": "userRole", "user": master})
    mkind = master_role.get("role") if isinstance(master_role, dict) else None
    report.add(
        "account",
        mkind in ("user", "vault", "subAccount"),
        f"{master}: role {mkind}",
    )


def _rate_limit(answer: Any) -> str:
    if not isinstance(answer, dict):
        return "unreadable"
    used = answer.get("nRequestsUsed")
    cap = answer.get("nRequestsCap")
    vol = Decimal(str(answer.get("cumVlm", "0")))
    return f"{used} of {cap} requests used (volume {vol} USDC)"
