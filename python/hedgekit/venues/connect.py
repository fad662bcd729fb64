"""Venue connections from a file: which venues a command talks to, and how (``hedgekit kill``).

A connections file is TOML, one ``[[venues]]`` table per venue, each named as the bot names it
(the same names its journal and its sessions use)::

    [[venues]]
    name = "hl"
    kind = "remote"              # a simulated venue served by hedgekit.venues.remote.VenueServer
    address = "127.0.0.1:9001"
    request_timeout_s = 5        # optional (default 5)

``remote`` is the only kind today; the live adapters add theirs here, with their keys named by
environment variable (never written in the file). The file is validated whole before anything
connects (:class:`ConnectionsError` names the culprit field), like a scenario file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

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


class _VenueSpec(_Table):
    name: _Text
    address: _Text
    kind: Literal["remote"] = "remote"
    request_timeout_s: _Timeout = 5.0


class _File(_Table):
    venues: list[_VenueSpec] = []


@dataclass(frozen=True, slots=True)
class VenueConnection:
    """How to reach one venue.

    Attributes:
        name: The venue's name (the bot's name for it).
        kind: ``"remote"``: a :class:`~hedgekit.venues.remote.VenueServer`.
        host: Its host.
        port: Its port.
        request_timeout_s: How long one request waits for its answer.
    """

    name: str
    kind: str
    host: str
    port: int
    request_timeout_s: float = 5.0

    def venue(self, clock: Clock | None = None) -> Venue:
        """The (not yet connected) venue this describes."""
        from hedgekit.venues.remote import RemoteVenue

        return RemoteVenue(
            self.name,
            self.host,
            self.port,
            clock=clock,
            request_timeout_s=self.request_timeout_s,
            connect_timeout_s=self.request_timeout_s,
        )


def _address(text: str, field: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConnectionsError(field, f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _connection(spec: _VenueSpec, field: str) -> VenueConnection:
    host, port = _address(spec.address, f"{field}.address")
    return VenueConnection(spec.name, spec.kind, host, port, spec.request_timeout_s)


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
