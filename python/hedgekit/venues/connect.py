"""Venue connections from a file: which venues a command talks to, and how (``hedgekit kill``).

A connections file is TOML, one ``[[venues]]`` table per venue, each named as the bot names it
(the same names its journal and its sessions use)::

    [[venues]]
    name = "sim"
    kind = "remote"              # a simulated venue served by hedgekit.venues.remote.VenueServer
    address = "127.0.0.1:9001"
    request_timeout_s = 5        # optional (default 5)

    [[venues]]
    name = "hl"
    kind = "hyperliquid"         # hedgekit.venues.hyperliquid.HyperliquidVenue
    url = "https://api.hyperliquid.xyz"   # or testnet, or a fake's URL
    account = "0x…"              # the master address every read uses
    vault = "0x…"                # optional: a vault or sub-account the orders are for
    key_env = "HEDGEKIT_HL_KEY"  # the environment variable holding the signer's key (default)
    symbols = ["ETH", "BTC"]     # the coins whose books a close needs to price its orders

Keys are never written in the file: a venue names the environment variable that holds its key
(``key_env``) or a file that does (``key_file``, read when the venue is built). The file is
validated whole before anything connects (:class:`ConnectionsError` names the culprit field),
like a scenario file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from hedgekit._schema import convert
from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError
from hedgekit.venues.base import Venue

__all__ = [
    "ConnectionsError",
    "VenueConnection",
    "connect_venues",
    "load_connections",
    "parse_connection",
]

_Text = Annotated[str, Meta(min_length=1)]
_Timeout = Annotated[float, Meta(gt=0.0, le=600.0)]


class ConnectionsError(HedgekitError, ValueError):
    """A connections file or ``NAME=ADDRESS`` argument is malformed.

    Attributes:
        field: Where, as a dotted path (``"venues[1].address"``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class _Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A table of a connections file: an unknown key is an error."""


class _RemoteSpec(_Table, tag="remote", tag_field="kind"):
    name: _Text
    address: _Text
    request_timeout_s: _Timeout = 5.0


class _HyperliquidSpec(_Table, tag="hyperliquid", tag_field="kind"):
    name: _Text
    url: _Text
    account: _Text
    vault: _Text | None = None
    key_env: _Text = "HEDGEKIT_HL_KEY"
    key_file: _Text | None = None
    symbols: list[_Text] = []
    request_timeout_s: _Timeout = 5.0


class _File(_Table):
    venues: list[_RemoteSpec | _HyperliquidSpec] = []


@dataclass(frozen=True, slots=True)
class VenueConnection:
    """How to reach one venue.

    Attributes:
        name: The venue's name (the bot's name for it).
        kind: ``"remote"`` (a :class:`~hedgekit.venues.remote.VenueServer`) or
            ``"hyperliquid"`` (:class:`~hedgekit.venues.hyperliquid.HyperliquidVenue`).
        host: Its host (``remote``).
        port: Its port (``remote``).
        request_timeout_s: How long one request waits for its answer.
        url: The REST base URL (``hyperliquid``).
        account: The master address (``hyperliquid``).
        vault: A vault or sub-account (``hyperliquid``), if any.
        key_env: The environment variable holding the signer's key (``hyperliquid``).
        key_file: A file holding it instead (``hyperliquid``).
        symbols: The coins whose books are kept (``hyperliquid``).
    """

    name: str
    kind: str
    host: str = ""
    port: int = 0
    request_timeout_s: float = 5.0
    url: str = ""
    account: str = ""
    vault: str | None = None
    key_env: str = "HEDGEKIT_HL_KEY"
    key_file: str | None = None
    symbols: tuple[str, ...] = field(default_factory=tuple)

    def venue(self, clock: Clock | None = None) -> Venue:
        """The (not yet connected) venue this describes.

        Raises:
            ConnectionsError: A live venue's key is not where the connection says (the error
                names the variable or file, never the key).
        """
        if self.kind == "hyperliquid":
            return self._hyperliquid(clock)
        from hedgekit.venues.remote import RemoteVenue

        return RemoteVenue(
            self.name,
            self.host,
            self.port,
            clock=clock,
            request_timeout_s=self.request_timeout_s,
            connect_timeout_s=self.request_timeout_s,
        )

    def _hyperliquid(self, clock: Clock | None) -> Venue:
        from hedgekit.secrets import Secret
        from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue

        if self.key_file is not None:
            try:
                key = Path(self.key_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConnectionsError(
                    f"{self.name}.key_file", f"cannot read {self.key_file}: {type(exc).__name__}"
                ) from None
        else:
            key = os.environ.get(self.key_env, "").strip()
        if not key:
            where = self.key_file or f"${self.key_env}"
            raise ConnectionsError(f"{self.name}.key", f"no signing key in {where}")
        credentials = HyperliquidCredentials(Secret(key), self.account, self.vault)
        return HyperliquidVenue(
            self.url,
            credentials,
            symbols=self.symbols,
            name=self.name,
            clock=clock,
            request_timeout_s=self.request_timeout_s,
        )


def _address(text: str, field: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConnectionsError(field, f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _connection(spec: _RemoteSpec | _HyperliquidSpec, field: str) -> VenueConnection:
    if isinstance(spec, _HyperliquidSpec):
        if not spec.url.startswith(("http://", "https://")):
            raise ConnectionsError(f"{field}.url", f"expected an http(s) URL, got {spec.url!r}")
        return VenueConnection(
            spec.name,
            "hyperliquid",
            request_timeout_s=spec.request_timeout_s,
            url=spec.url,
            account=spec.account,
            vault=spec.vault,
            key_env=spec.key_env,
            key_file=spec.key_file,
            symbols=tuple(spec.symbols),
        )
    host, port = _address(spec.address, f"{field}.address")
    return VenueConnection(spec.name, "remote", host, port, spec.request_timeout_s)


def _unique(found: list[VenueConnection], field: str) -> list[VenueConnection]:
    names = [c.name for c in found]
    if len(set(names)) != len(names):
        raise ConnectionsError(field, f"venue names must be unique: {names}")
    return found


def load_connections(path: str | Path) -> list[VenueConnection]:
    """Reads and validates a connections file.

    Raises:
        FileNotFoundError: No such file.
        ConnectionsError: It does not parse, or a field is missing, unknown or invalid.
    """
    p = Path(path)
    try:
        data: Any = tomllib.loads(p.read_bytes().decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConnectionsError("", f"{p.name} does not parse: {exc}") from None
    for table in data.get("venues", []) if isinstance(data.get("venues"), list) else []:
        if isinstance(table, dict):
            table.setdefault("kind", "remote")  # the kind a file of one kind may leave out
    spec = convert(data, _File, ConnectionsError)
    if not spec.venues:
        raise ConnectionsError("venues", "at least one [[venues]] table is required")
    found = [_connection(v, f"venues[{i}]") for i, v in enumerate(spec.venues)]
    return _unique(found, "venues")


def parse_connection(text: str) -> VenueConnection:
    """A remote venue given as ``NAME=HOST:PORT`` (the command line's ``--venue``).

    Raises:
        ConnectionsError: Not of that form.
    """
    name, sep, address = text.partition("=")
    if not sep or not name:
        raise ConnectionsError("--venue", f"expected NAME=HOST:PORT, got {text!r}")
    host, port = _address(address, "--venue")
    return VenueConnection(name, "remote", host, port)


def connect_venues(
    connections: list[VenueConnection], clock: Clock | None = None
) -> dict[str, Venue]:
    """The venues the connections describe, by name (not yet connected).

    Raises:
        ConnectionsError: Two connections share a name.
    """
    _unique(list(connections), "venues")
    return {c.name: c.venue(clock) for c in connections}
