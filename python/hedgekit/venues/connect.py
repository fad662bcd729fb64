"""Venue connections from a file: which venues a command talks to, and how (``hedgekit kill``).

A connections file is TOML, one ``[[venues]]`` table per venue, each named as the bot names it
(the same names its journal and its sessions use)::

    [[venues]]
    name = "sim"
    kind = "remote"              # a simulated venue served by hedgekit.venues.remote.VenueServer
    address = "127.0.0.1:9001"
    request_timeout_s = 5        # optional (default 5; every kind has it)

    [[venues]]
    name = "hl"
    kind = "hyperliquid"         # hedgekit.venues.hyperliquid.HyperliquidVenue
    url = "https://api.hyperliquid.xyz"   # or testnet, or a fake's URL
    account = "0x…"              # the master address every read uses
    vault = "0x…"                # optional: a vault or sub-account the orders are for
    key_env = "HEDGEKIT_HL_KEY"  # the environment variable holding the signer's key (default)
    symbols = ["ETH", "BTC"]     # the coins whose books a close needs to price its orders

    [[venues]]
    name = "aster"
    kind = "aster"               # hedgekit.venues.aster.AsterVenue
    url = "https://fapi.asterdex.com"     # or a fake's URL
    ws_url = "wss://fstream.asterdex.com" # optional (default: mainnet's for mainnet's URL,
                                          # else the URL's own host as ws:// or wss://)
    user = "0x…"                 # V3 (API wallet): the main wallet's address, and the API
    key_env = "HEDGEKIT_ASTER_KEY"        # wallet's key there (default) or in key_file
    chain_id = 1666              # optional V3 EIP-712 chain (714: testnet)
    symbols = ["ETHUSDT"]

    [[venues]]
    name = "aster-v1"
    kind = "aster"
    url = "https://fapi.asterdex.com"
    scheme = "v1"                # V1 (API key): the key and its HMAC secret from
    api_key_env = "HEDGEKIT_ASTER_API_KEY"        # these variables (the defaults), or from
    api_secret_env = "HEDGEKIT_ASTER_API_SECRET"  # api_key_file / api_secret_file
    symbols = ["BTCUSDT"]

    [[venues]]
    name = "lighter"
    kind = "lighter"             # hedgekit.venues.lighter.LighterVenue (the 'lighter' extra)
    url = "https://mainnet.zklighter.elliot.ai"
    ws_url = "wss://…/stream"    # optional (default: the URL's host, /stream)
    account_index = 281          # the account
    api_key_index = 3            # the API key's slot (0..254)
    key_env = "HEDGEKIT_LIGHTER_KEY"      # its private key (default), or key_file
    public_key = "…"             # optional: the key's public key as the venue lists it
    symbols = ["ETH"]

An Aster venue uses exactly one scheme: V3 when it names ``user`` (or ``key_env``/``key_file``),
V1 when it names an ``api_*`` field or says ``scheme = "v1"``; ``scheme`` may also be given
alone with the defaults. Keys are never written in the file: a venue names the environment
variable that holds its key (``key_env``) or a file that does (``key_file``), read only when
the venue is built; an error names the variable or the file, never what it holds. The file is
validated whole before anything connects (:class:`ConnectionsError` names the culprit field),
like a scenario file. A Lighter venue needs ``pip install 'hedgekit[lighter]'`` (its signer):
without it, building it raises :class:`~hedgekit.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta

from hedgekit._schema import convert
from hedgekit.clock import Clock
from hedgekit.errors import HedgekitError
from hedgekit.venues.base import Venue

if TYPE_CHECKING:
    from hedgekit.secrets import Secret

__all__ = [
    "ConnectionsError",
    "VenueConnection",
    "connect_venues",
    "load_connections",
    "parse_connection",
]

_Text = Annotated[str, Meta(min_length=1)]
_Timeout = Annotated[float, Meta(gt=0.0, le=600.0)]
_EnvName = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        extra={"expected": "an environment variable's name (letters, digits, _)"},
    ),
]
_Address = Annotated[
    str,
    Meta(pattern=r"^0x[0-9a-fA-F]{40}$", extra={"expected": "an address (0x and 40 hex digits)"}),
]
_HexKey = Annotated[
    str, Meta(pattern=r"^(0x)?[0-9a-fA-F]{2,}$", extra={"expected": "a hex string"})
]
_ChainId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
_AccountIndex = Annotated[int, Meta(ge=0, le=2**48 - 2)]
_ApiKeyIndex = Annotated[int, Meta(ge=0, le=254)]

# The defaults are the variables `hedgekit check aster` and `hedgekit check lighter` read.
_ASTER_KEY_ENV = "HEDGEKIT_ASTER_KEY"
_ASTER_API_KEY_ENV = "HEDGEKIT_ASTER_API_KEY"
_ASTER_API_SECRET_ENV = "HEDGEKIT_ASTER_API_SECRET"
_LIGHTER_KEY_ENV = "HEDGEKIT_LIGHTER_KEY"
_WS = re.compile(r"^wss?://\S+$")


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


class _AsterSpec(_Table, tag="aster", tag_field="kind"):
    # Scheme fields default to None so that which scheme a table names can be told apart.
    name: _Text
    url: _Text
    ws_url: _Text | None = None
    scheme: Literal["v3", "v1"] | None = None
    user: _Address | None = None
    key_env: _EnvName | None = None
    key_file: _Text | None = None
    chain_id: _ChainId | None = None
    api_key_env: _EnvName | None = None
    api_secret_env: _EnvName | None = None
    api_key_file: _Text | None = None
    api_secret_file: _Text | None = None
    symbols: list[_Text] = []
    request_timeout_s: _Timeout = 5.0


class _LighterSpec(_Table, tag="lighter", tag_field="kind"):
    name: _Text
    url: _Text
    account_index: _AccountIndex
    api_key_index: _ApiKeyIndex
    ws_url: _Text | None = None
    key_env: _EnvName | None = None
    key_file: _Text | None = None
    public_key: _HexKey | None = None
    symbols: list[_Text] = []
    request_timeout_s: _Timeout = 5.0


_Spec = _RemoteSpec | _HyperliquidSpec | _AsterSpec | _LighterSpec


class _File(_Table):
    venues: list[_Spec] = []


@dataclass(frozen=True, slots=True)
class VenueConnection:
    """How to reach one venue. It holds where the keys are, never a key.

    Attributes:
        name: The venue's name (the bot's name for it).
        kind: ``"remote"`` (a :class:`~hedgekit.venues.remote.VenueServer`), ``"hyperliquid"``
            (:class:`~hedgekit.venues.hyperliquid.HyperliquidVenue`), ``"aster"``
            (:class:`~hedgekit.venues.aster.AsterVenue`) or ``"lighter"``
            (:class:`~hedgekit.venues.lighter.LighterVenue`).
        host: Its host (``remote``).
        port: Its port (``remote``).
        request_timeout_s: How long one request waits for its answer.
        url: The REST base URL (the live kinds).
        account: The master address (``hyperliquid``).
        vault: A vault or sub-account (``hyperliquid``), if any.
        key_env: The environment variable holding the signer's key (``hyperliquid``, Aster
            V3, ``lighter``).
        key_file: A file holding it instead.
        symbols: The symbols whose books are kept (the live kinds).
        ws_url: The WebSocket URL, when not the one derived from ``url`` (``aster``,
            ``lighter``).
        scheme: Aster's signing scheme, ``"v3"`` or ``"v1"``.
        user: Aster V3: the main wallet's address.
        chain_id: Aster V3: the EIP-712 chain id (``None``: mainnet's).
        api_key_env: Aster V1: the variable holding the API key.
        api_secret_env: Aster V1: the variable holding its HMAC secret.
        api_key_file: Aster V1: a file holding the API key instead.
        api_secret_file: Aster V1: a file holding the secret instead.
        account_index: Lighter: the account.
        api_key_index: Lighter: the API key's slot.
        public_key: Lighter: the API key's public key, if given.
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
    ws_url: str | None = None
    scheme: str | None = None
    user: str | None = None
    chain_id: int | None = None
    api_key_env: str = _ASTER_API_KEY_ENV
    api_secret_env: str = _ASTER_API_SECRET_ENV
    api_key_file: str | None = None
    api_secret_file: str | None = None
    account_index: int = 0
    api_key_index: int = 0
    public_key: str | None = None

    def venue(self, clock: Clock | None = None) -> Venue:
        """The (not yet connected) venue this describes; a live venue's keys are read now.

        Raises:
            ConnectionsError: A live venue's key is not where the connection says, or is not
                a key of that venue (the error names the variable or file, never the key).
            hedgekit.errors.MissingExtraError: A Lighter venue without the ``lighter`` extra.
        """
        if self.kind == "hyperliquid":
            return self._hyperliquid(clock)
        if self.kind == "aster":
            return self._aster(clock)
        if self.kind == "lighter":
            return self._lighter(clock)
        from hedgekit.venues.remote import RemoteVenue

        return RemoteVenue(
            self.name,
            self.host,
            self.port,
            clock=clock,
            request_timeout_s=self.request_timeout_s,
            connect_timeout_s=self.request_timeout_s,
        )

    def _secret(self, what: str, env: str, path: str | None) -> tuple[Secret, str]:
        """The secret in ``path`` (if given) or ``$env``, and where it was found."""
        from hedgekit.secrets import Secret

        if path is not None:
            try:
                text = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConnectionsError(
                    f"{self.name}.{what}", f"cannot read {path}: {type(exc).__name__}"
                ) from None
            where = path
        else:
            text, where = os.environ.get(env, "").strip(), f"${env}"
        if not text:
            raise ConnectionsError(f"{self.name}.{what}", f"no {what.replace('_', ' ')} in {where}")
        if len(text) < 4:
            raise ConnectionsError(f"{self.name}.{what}", f"{where}: too short to be a key")
        return Secret(text), where

    def _hyperliquid(self, clock: Clock | None) -> Venue:
        from hedgekit.venues.hyperliquid import HyperliquidCredentials, HyperliquidVenue

        key, _ = self._secret("key", self.key_env, self.key_file)
        credentials = HyperliquidCredentials(key, self.account, self.vault)
        return HyperliquidVenue(
            self.url,
            credentials,
            symbols=self.symbols,
            name=self.name,
            clock=clock,
            request_timeout_s=self.request_timeout_s,
        )

    def _aster(self, clock: Clock | None) -> Venue:
        from hedgekit.venues.aster import AsterCredentials, AsterVenue
        from hedgekit.venues.aster.signing import ASTER_CHAIN_ID
        from hedgekit.venues.aster.wire import MAINNET_URL, MAINNET_WS_URL

        if self.scheme == "v1":
            api_key, _ = self._secret("api_key", self.api_key_env, self.api_key_file)
            secret, _ = self._secret("api_secret", self.api_secret_env, self.api_secret_file)
            credentials = AsterCredentials.v1(api_key, secret)
        else:
            from hedgekit.venues.hyperliquid.check import signer_address

            key, where = self._secret("key", self.key_env, self.key_file)
            try:
                signer_address(key)  # the same secp256k1 key as Hyperliquid's
            except ValueError as exc:  # its message never holds the key
                raise ConnectionsError(f"{self.name}.key", f"{where}: {exc}") from None
            credentials = AsterCredentials.v3(
                self.user or "", key, chain_id=self.chain_id or ASTER_CHAIN_ID
            )
        ws_url = self.ws_url
        if ws_url is None and self.url.rstrip("/") == MAINNET_URL:
            ws_url = MAINNET_WS_URL
        return AsterVenue(
            self.url,
            credentials,
            ws_url=ws_url,
            symbols=self.symbols,
            name=self.name,
            clock=clock,
            request_timeout_s=self.request_timeout_s,
        )

    def _lighter(self, clock: Clock | None) -> Venue:
        from hedgekit.errors import InvalidArgumentError
        from hedgekit.venues.lighter import LighterCredentials, LighterVenue

        key, where = self._secret("key", self.key_env, self.key_file)
        credentials = LighterCredentials(
            self.account_index, self.api_key_index, key, self.public_key
        )
        try:
            return LighterVenue(
                self.url,
                credentials,
                ws_url=self.ws_url,
                symbols=self.symbols,
                name=self.name,
                clock=clock,
                request_timeout_s=self.request_timeout_s,
            )
        except InvalidArgumentError:  # the signer refused the key (its words may quote it)
            raise ConnectionsError(
                f"{self.name}.key", f"{where}: not a Lighter API private key"
            ) from None


def _address(text: str, field: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConnectionsError(field, f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _http(url: str, field: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ConnectionsError(f"{field}.url", f"expected an http(s) URL, got {url!r}")
    return url


def _ws(url: str | None, field: str) -> str | None:
    if url is not None and not _WS.match(url):
        raise ConnectionsError(f"{field}.ws_url", f"expected a ws(s):// URL, got {url!r}")
    return url


def _one_of(a: tuple[str, object], b: tuple[str, object], field: str) -> None:
    if a[1] is not None and b[1] is not None:
        raise ConnectionsError(f"{field}.{b[0]}", f"give {a[0]} or {b[0]}, not both")


_V3 = ("user", "key_env", "key_file", "chain_id")
_V1 = ("api_key_env", "api_secret_env", "api_key_file", "api_secret_file")


def _aster(spec: _AsterSpec, field: str) -> VenueConnection:
    v3 = [n for n in _V3 if getattr(spec, n) is not None]
    v1 = [n for n in _V1 if getattr(spec, n) is not None]
    if v3 and v1:
        raise ConnectionsError(
            f"{field}.{v1[0]}",
            f"one scheme only: {', '.join(v3)} (V3) and {', '.join(v1)} (V1) both given",
        )
    scheme = spec.scheme or ("v1" if v1 else "v3")
    wrong = v1 if scheme == "v3" else v3
    if wrong:
        raise ConnectionsError(f"{field}.{wrong[0]}", f"not a field of scheme {scheme!r}")
    if scheme == "v3":
        if spec.user is None:
            raise ConnectionsError(
                f"{field}.user",
                "V3 needs the main wallet's address (0x and 40 hex digits); for V1 "
                '(an API key) give scheme = "v1" or api_key_env / api_secret_env',
            )
        _one_of(("key_env", spec.key_env), ("key_file", spec.key_file), field)
    else:
        _one_of(("api_key_env", spec.api_key_env), ("api_key_file", spec.api_key_file), field)
        _one_of(
            ("api_secret_env", spec.api_secret_env), ("api_secret_file", spec.api_secret_file),
            field,
        )  # fmt: skip
    return VenueConnection(
        spec.name,
        "aster",
        request_timeout_s=spec.request_timeout_s,
        url=_http(spec.url, field),
        key_env=spec.key_env or _ASTER_KEY_ENV,
        key_file=spec.key_file,
        symbols=tuple(spec.symbols),
        ws_url=_ws(spec.ws_url, field),
        scheme=scheme,
        user=spec.user,
        chain_id=spec.chain_id,
        api_key_env=spec.api_key_env or _ASTER_API_KEY_ENV,
        api_secret_env=spec.api_secret_env or _ASTER_API_SECRET_ENV,
        api_key_file=spec.api_key_file,
        api_secret_file=spec.api_secret_file,
    )


def _lighter(spec: _LighterSpec, field: str) -> VenueConnection:
    _one_of(("key_env", spec.key_env), ("key_file", spec.key_file), field)
    return VenueConnection(
        spec.name,
        "lighter",
        request_timeout_s=spec.request_timeout_s,
        url=_http(spec.url, field),
        key_env=spec.key_env or _LIGHTER_KEY_ENV,
        key_file=spec.key_file,
        symbols=tuple(spec.symbols),
        ws_url=_ws(spec.ws_url, field),
        account_index=spec.account_index,
        api_key_index=spec.api_key_index,
        public_key=spec.public_key,
    )


def _connection(spec: _Spec, field: str) -> VenueConnection:
    if isinstance(spec, _AsterSpec):
        return _aster(spec, field)
    if isinstance(spec, _LighterSpec):
        return _lighter(spec, field)
    if isinstance(spec, _HyperliquidSpec):
        return VenueConnection(
            spec.name,
            "hyperliquid",
            request_timeout_s=spec.request_timeout_s,
            url=_http(spec.url, field),
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
