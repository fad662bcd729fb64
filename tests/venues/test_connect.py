"""Connections files (``hedgekit.venues.connect``) with the live kinds ``aster`` and ``lighter``:
every field checked before anything connects (the error names the field), a valid file read
back as written, the keys read only when a venue is built — and never echoed: an error names the
variable or the file, never what it holds."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import string
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgekit._check_cli import (
    ENV_ASTER_API_KEY,
    ENV_ASTER_API_SECRET,
    ENV_ASTER_KEY,
    ENV_LIGHTER_KEY,
)
from hedgekit.errors import MissingExtraError
from hedgekit.venues.aster import AsterVenue
from hedgekit.venues.aster.wire import MAINNET_URL, MAINNET_WS_URL
from hedgekit.venues.connect import (
    ConnectionsError,
    VenueConnection,
    connect_venues,
    load_connections,
)
from hedgekit.venues.hyperliquid import HyperliquidVenue
from hedgekit.venues.lighter import LighterVenue
from hedgekit.venues.remote import RemoteVenue

USER = "0x" + "ab" * 20
ASTER_KEY = hashlib.sha256(b"hedgekit-connect-test-key").hexdigest()  # its own: secrets register
ASTER = {"name": "aster", "kind": "aster", "url": "http://127.0.0.1:9", "user": USER}
LIGHTER = {
    "name": "lighter", "kind": "lighter", "url": "http://127.0.0.1:9",
    "account_index": 281, "api_key_index": 3,
}  # fmt: skip
ENV = "HEDGEKIT_TEST_CONNECT_KEY"
_SETTINGS = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def file_of(tmp_path: Path, *tables: dict[str, Any]) -> Path:
    path = tmp_path / "venues.toml"
    path.write_text(
        "\n".join(
            "[[venues]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in t.items())
            for t in tables
        )
    )
    return path


def error_of(tmp_path: Path, table: dict[str, Any]) -> ConnectionsError:
    with pytest.raises(ConnectionsError) as info:
        load_connections(file_of(tmp_path, table))
    return info.value


# ------------------------------------------------------------------------- validation

BAD_ASTER = [
    ({"url": "ftp://x"}, "url", "http(s) URL"),
    ({"ws_url": "http://x"}, "ws_url", "ws(s)://"),
    ({"scheme": "v2"}, "scheme", "one of v1, v3"),
    ({"user": "0x1234"}, "user", "an address"),
    ({"user": 7}, "user", "an address"),
    ({"key_env": "NOT A NAME"}, "key_env", "environment variable"),
    ({"key_env": ""}, "key_env", "environment variable"),
    ({"key_file": ""}, "key_file", "non-empty"),
    ({"chain_id": 0}, "chain_id", "at least 1"),
    ({"chain_id": "1666"}, "chain_id", "integer"),
    ({"symbols": "ETHUSDT"}, "symbols", "a list"),
    ({"symbols": [""]}, "symbols[0]", "non-empty"),
    ({"request_timeout_s": 0}, "request_timeout_s", "between"),
    ({"request_timeout_s": 601}, "request_timeout_s", "between"),
    ({"request_timeout_s": "5"}, "request_timeout_s", "a number"),
    ({"key_env": "A", "key_file": "/k"}, "key_file", "not both"),
    ({"api_key_env": "A"}, "api_key_env", "one scheme only"),
    ({"scheme": "v1"}, "user", "not a field of scheme 'v1'"),
    ({"scheme": "v3", "user": None, "api_secret_env": "S"}, "api_secret_env", "scheme 'v3'"),
    ({"user": None}, "user", "V3 needs the main wallet's address"),
    ({"user": None, "api_key_env": "K", "api_key_file": "/k"}, "api_key_file", "not both"),
    ({"user": None, "api_secret_env": "S", "api_secret_file": "/s"}, "api_secret_file", "not both"),
    ({"user": None, "api_key_env": "1K"}, "api_key_env", "environment variable"),
    ({"user": None, "api_secret_env": 5}, "api_secret_env", "environment variable"),
    ({"user": None, "api_key_file": ""}, "api_key_file", "non-empty"),
    ({"user": None, "api_secret_file": ""}, "api_secret_file", "non-empty"),
    ({"colour": "red"}, "", "unknown field(s): colour"),
]  # fmt: skip

BAD_LIGHTER = [
    ({"url": "wss://x"}, "url", "http(s) URL"),
    ({"ws_url": "https://x"}, "ws_url", "ws(s)://"),
    ({"account_index": -1}, "account_index", "at least 0"),
    ({"account_index": 2**48 - 1}, "account_index", "at most"),
    ({"account_index": 1.5}, "account_index", "integer"),
    ({"account_index": "281"}, "account_index", "integer"),
    ({"account_index": None}, "account_index", "is required"),
    ({"api_key_index": 255}, "api_key_index", "at most 254"),
    ({"api_key_index": -1}, "api_key_index", "at least 0"),
    ({"api_key_index": None}, "api_key_index", "is required"),
    ({"key_env": "1X"}, "key_env", "environment variable"),
    ({"key_env": "A", "key_file": "/k"}, "key_file", "not both"),
    ({"key_file": ""}, "key_file", "non-empty"),
    ({"public_key": "not hex"}, "public_key", "hex"),
    ({"symbols": [1]}, "symbols[0]", "string"),
    ({"request_timeout_s": -1}, "request_timeout_s", "between"),
    ({"user": USER}, "", "unknown field(s): user"),
]


def _table(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    table = dict(base)
    for k, v in change.items():
        if v is None:
            table.pop(k, None)
        else:
            table[k] = v
    return table


@pytest.mark.parametrize(("change", "field", "words"), BAD_ASTER)
def test_every_aster_field_is_checked_and_named(
    tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    e = error_of(tmp_path, _table(ASTER, change))
    assert e.field == ("venues[0]." + field if field else "venues[0]")
    assert words in str(e)


@pytest.mark.parametrize(("change", "field", "words"), BAD_LIGHTER)
def test_every_lighter_field_is_checked_and_named(
    tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    e = error_of(tmp_path, _table(LIGHTER, change))
    assert e.field == ("venues[0]." + field if field else "venues[0]")
    assert words in str(e)


def test_a_bad_venue_is_named_by_its_place_in_the_file(tmp_path: Path) -> None:
    remote = {"name": "sim", "kind": "remote", "address": "127.0.0.1:9001"}
    with pytest.raises(ConnectionsError) as info:
        load_connections(file_of(tmp_path, remote, ASTER, _table(LIGHTER, {"api_key_index": 999})))
    assert info.value.field == "venues[2].api_key_index"
    with pytest.raises(ConnectionsError, match="unique"):
        load_connections(file_of(tmp_path, ASTER, _table(LIGHTER, {"name": "aster"})))


# ------------------------------------------------------------------ defaults and schemes


def test_schemes_and_defaults(tmp_path: Path) -> None:
    v3, v1, v1_files, lighter = load_connections(
        file_of(
            tmp_path,
            ASTER,
            {"name": "b", "kind": "aster", "url": MAINNET_URL, "scheme": "v1"},
            {
                "name": "c",
                "kind": "aster",
                "url": "https://x",
                "api_key_file": "/k",
                "api_secret_file": "/s",
            },
            LIGHTER,
        )  # fmt: skip
    )
    assert (v3.scheme, v3.user, v3.key_env, v3.key_file) == ("v3", USER, "HEDGEKIT_ASTER_KEY", None)
    assert (v1.scheme, v1.api_key_env, v1.api_secret_env) == (
        "v1", "HEDGEKIT_ASTER_API_KEY", "HEDGEKIT_ASTER_API_SECRET",
    )  # fmt: skip
    assert (v1_files.scheme, v1_files.api_key_file, v1_files.api_secret_file) == ("v1", "/k", "/s")
    assert (lighter.key_env, lighter.ws_url, lighter.public_key) == (
        "HEDGEKIT_LIGHTER_KEY", None, None,
    )  # fmt: skip
    assert lighter.request_timeout_s == 5.0 and lighter.symbols == ()
    # the same variables as `hedgekit check aster` / `hedgekit check lighter` read
    assert (v3.key_env, v1.api_key_env, v1.api_secret_env, lighter.key_env) == (
        ENV_ASTER_KEY, ENV_ASTER_API_KEY, ENV_ASTER_API_SECRET, ENV_LIGHTER_KEY,
    )  # fmt: skip


# ---------------------------------------------------------------------------- properties

_name = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
_env = st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,15}\Z")
_path = st.text(string.ascii_letters + string.digits + "/._-", min_size=1, max_size=20)
_symbols = st.lists(st.text(string.ascii_uppercase, min_size=1, max_size=8), max_size=3)
_timeout = st.floats(min_value=0.001, max_value=600.0, allow_nan=False)
_url = st.sampled_from(["http://127.0.0.1:9", "https://fapi.asterdex.com", "http://h/x"])
_ws = st.none() | st.sampled_from(["ws://127.0.0.1:9", "wss://fstream.asterdex.com/x"])


@st.composite
def aster_tables(draw: st.DrawFn) -> dict[str, Any]:
    t: dict[str, Any] = {"name": draw(_name), "kind": "aster", "url": draw(_url)}
    t["symbols"], t["request_timeout_s"] = draw(_symbols), draw(_timeout)
    if (ws := draw(_ws)) is not None:
        t["ws_url"] = ws
    if draw(st.booleans()):  # V3
        t["user"] = "0x" + draw(st.text("0123456789abcdefABCDEF", min_size=40, max_size=40))
        key = draw(st.sampled_from(["key_env", "key_file", None]))
        if key is not None:
            t[key] = draw(_env if key == "key_env" else _path)
        if draw(st.booleans()):
            t["chain_id"] = draw(st.integers(1, 2**31 - 1))
    else:
        for what in ("api_key", "api_secret"):
            how = draw(st.sampled_from(["_env", "_file", None]))
            if how is not None:
                t[what + how] = draw(_env if how == "_env" else _path)
        if draw(st.booleans()) or not any(k.startswith("api_") for k in t):
            t["scheme"] = "v1"
    return t


@st.composite
def lighter_tables(draw: st.DrawFn) -> dict[str, Any]:
    t: dict[str, Any] = {"name": draw(_name), "kind": "lighter", "url": draw(_url)}
    t["account_index"] = draw(st.integers(0, 2**48 - 2))
    t["api_key_index"] = draw(st.integers(0, 254))
    t["symbols"], t["request_timeout_s"] = draw(_symbols), draw(_timeout)
    if (ws := draw(_ws)) is not None:
        t["ws_url"] = ws
    key = draw(st.sampled_from(["key_env", "key_file", None]))
    if key is not None:
        t[key] = draw(_env if key == "key_env" else _path)
    if draw(st.booleans()):
        t["public_key"] = draw(st.text("0123456789abcdef", min_size=2, max_size=80))
    return t


def _expected(t: dict[str, Any]) -> dict[str, Any]:
    """What the connection holds for table ``t`` (defaults filled in)."""
    want = {k: v for k, v in t.items() if k != "kind"}
    want["symbols"] = tuple(t["symbols"])
    if t["kind"] == "lighter":
        want.setdefault("key_env", "HEDGEKIT_LIGHTER_KEY")
        return want
    want["scheme"] = "v3" if "user" in t else "v1"
    want.setdefault("key_env", "HEDGEKIT_ASTER_KEY")
    want.setdefault("api_key_env", "HEDGEKIT_ASTER_API_KEY")
    want.setdefault("api_secret_env", "HEDGEKIT_ASTER_API_SECRET")
    return want


@_SETTINGS
@given(st.lists(aster_tables() | lighter_tables(), min_size=1, max_size=4))
def test_a_valid_file_reads_back_as_written(tmp_path: Path, tables: list[dict[str, Any]]) -> None:
    for i, t in enumerate(tables):
        t["name"] = f"{t['name']}-{i}"  # names are unique
    found = load_connections(file_of(tmp_path, *tables))
    assert [c.kind for c in found] == [t["kind"] for t in tables]
    for c, t in zip(found, tables):
        for key, value in _expected(t).items():
            assert getattr(c, key) == value, key


_WRONG: dict[str, st.SearchStrategy[Any]] = {
    "url": st.sampled_from(["127.0.0.1:9", "ws://h", "", 5]),
    "ws_url": st.sampled_from(["http://h", "h:1", "", 1.5]),
    "account_index": st.integers(max_value=-1) | st.integers(min_value=2**48 - 1, max_value=2**62)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(string.digits, max_size=3),
    "api_key_index": st.integers(max_value=-1) | st.integers(min_value=255, max_value=2**62)
    | st.booleans(),
    "key_env": st.sampled_from(["", "1A", "A-B", "A B", "$X"]) | st.integers(),
    "public_key": st.sampled_from(["", "x", "0x", "ghij"]) | st.integers(),
    "symbols": st.sampled_from(["ETH", [""], [1], 3]),
    "request_timeout_s": st.floats(max_value=0.0, allow_nan=False)
    | st.floats(min_value=600.0001, allow_nan=False, allow_infinity=False)
    | st.text(string.digits, max_size=3),
}  # fmt: skip


@_SETTINGS
@given(st.sampled_from(sorted(_WRONG)), st.data())
def test_a_wrong_value_is_named_by_its_field(tmp_path: Path, key: str, data: st.DataObject) -> None:
    table = dict(LIGHTER, **{key: data.draw(_WRONG[key])})
    e = error_of(tmp_path, table)
    assert e.field.startswith(f"venues[0].{key}"), e
    assert "\n" not in str(e)


# ------------------------------------------------------------------- keys, built late


def _build(tmp_path: Path, table: dict[str, Any]) -> Any:
    (conn,) = load_connections(file_of(tmp_path, table))
    return conn.venue()


def _close(*venues: Any) -> None:
    async def close() -> None:
        for v in venues:
            await v.close()

    asyncio.run(close())


def test_keys_are_read_when_the_venue_is_built_not_when_the_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    (conn,) = load_connections(file_of(tmp_path, dict(ASTER, key_env=ENV)))  # no key yet: fine
    with pytest.raises(ConnectionsError, match=rf"aster\.key: no key in \${ENV}"):
        conn.venue()
    monkeypatch.setenv(ENV, ASTER_KEY)
    venue = conn.venue()
    assert isinstance(venue, AsterVenue) and venue.name == "aster"
    _close(venue)


def test_each_kind_builds_its_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hedgekit.venues.lighter.signing import generate_api_key

    private, public = generate_api_key()
    monkeypatch.setenv("HEDGEKIT_TEST_HL", ASTER_KEY)
    monkeypatch.setenv("HEDGEKIT_TEST_ASTER", ASTER_KEY)
    monkeypatch.setenv("HEDGEKIT_ASTER_API_KEY", "an-api-key")
    monkeypatch.setenv("HEDGEKIT_ASTER_API_SECRET", "an-api-secret")
    (tmp_path / "l.key").write_text(private.reveal() + "\n")
    conns = load_connections(
        file_of(
            tmp_path,
            {"name": "sim", "kind": "remote", "address": "127.0.0.1:9001"},
            {
                "name": "hl",
                "kind": "hyperliquid",
                "url": "http://127.0.0.1:9",
                "account": USER,
                "key_env": "HEDGEKIT_TEST_HL",
            },
            {
                "name": "a3",
                "kind": "aster",
                "url": MAINNET_URL,
                "user": USER,
                "key_env": "HEDGEKIT_TEST_ASTER",
                "symbols": ["ETHUSDT"],
            },
            {
                "name": "a1",
                "kind": "aster",
                "url": "http://127.0.0.1:9",
                "scheme": "v1",
                "ws_url": "ws://127.0.0.1:8",
            },
            dict(
                LIGHTER,
                key_file=str(tmp_path / "l.key"),
                public_key=public,
                ws_url="ws://127.0.0.1:7/stream",
                symbols=["ETH"],
            ),
        )  # fmt: skip
    )
    venues = connect_venues(conns)
    try:
        assert [type(v) for v in venues.values()] == [
            RemoteVenue, HyperliquidVenue, AsterVenue, AsterVenue, LighterVenue,
        ]  # fmt: skip
        a3, a1, lighter = venues["a3"], venues["a1"], venues["lighter"]
        assert isinstance(a3, AsterVenue) and isinstance(a1, AsterVenue)
        assert a3.streams.ws_base == MAINNET_WS_URL  # mainnet's socket for mainnet's URL
        assert a3.symbols == ("ETHUSDT",) and a1.streams.ws_base == "ws://127.0.0.1:8"
        assert a1.http.signer.version == "v1" and a3.http.signer.version == "v3"
        assert isinstance(lighter, LighterVenue)
        assert (lighter.account_index, lighter.api_key_index) == (281, 3)
        assert lighter._ws_url == "ws://127.0.0.1:7/stream"
    finally:
        _close(*venues.values())


SECRET_JUNK = "zz-this-is-no-key-but-a-secret-all-the-same-zz"


@pytest.mark.parametrize(
    "table",
    [dict(ASTER, key_env=ENV), dict(LIGHTER, key_env=ENV)],
    ids=["aster-v3", "lighter"],
)
def test_a_key_that_is_not_one_is_named_by_where_it_is_never_by_what(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    table: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(ENV, SECRET_JUNK)
    (conn,) = load_connections(file_of(tmp_path, table))
    assert SECRET_JUNK not in repr(conn)
    with pytest.raises(ConnectionsError) as info:
        conn.venue()
    assert f"${ENV}" in str(info.value) and SECRET_JUNK not in str(info.value)
    assert info.value.__suppress_context__  # no chained error that might quote it
    key_file = tmp_path / "junk.key"
    key_file.write_text(SECRET_JUNK)
    (conn,) = load_connections(
        file_of(tmp_path, _table(table, {"key_env": None, "key_file": str(key_file)}))
    )
    with pytest.raises(ConnectionsError) as info:
        conn.venue()
    assert str(key_file) in str(info.value) and SECRET_JUNK not in str(info.value)
    assert SECRET_JUNK not in caplog.text


def test_v1_secrets_stay_out_of_reprs_and_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(ENV, SECRET_JUNK)
    secret_file = tmp_path / "secret"
    secret_file.write_text("another-secret-of-some-length")
    table = _table(ASTER, {"user": None, "api_key_env": ENV, "api_secret_file": str(secret_file)})
    (conn,) = load_connections(file_of(tmp_path, table))
    venue = conn.venue()
    try:
        assert isinstance(venue, AsterVenue) and venue.http.signer.version == "v1"
        shown = repr(conn) + repr(venue) + repr(vars(venue))
        assert SECRET_JUNK not in shown and "another-secret" not in shown
    finally:
        _close(venue)
    assert SECRET_JUNK not in caplog.text and "another-secret" not in caplog.text


def test_a_key_file_that_cannot_be_read_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such.key"
    for table in (dict(ASTER, key_file=str(missing)), dict(LIGHTER, key_file=str(missing))):
        (conn,) = load_connections(file_of(tmp_path, table))
        with pytest.raises(ConnectionsError, match=r"key: cannot read .*no-such\.key"):
            conn.venue()
    monkeypatch.setenv("HEDGEKIT_ASTER_API_KEY", "an-api-key")
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    (conn,) = load_connections(
        file_of(
            tmp_path, _table(ASTER, {"user": None, "scheme": "v1", "api_secret_file": str(empty)})
        )
    )
    with pytest.raises(ConnectionsError, match=r"aster\.api_secret: no api secret in .*empty\.key"):
        conn.venue()


def test_lighter_without_its_extra_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "ab" * 40)
    monkeypatch.setitem(sys.modules, "lighter", None)  # lighter-sdk not installed
    (conn,) = load_connections(file_of(tmp_path, dict(LIGHTER, key_env=ENV)))  # the file is fine
    with pytest.raises(MissingExtraError) as info:
        conn.venue()
    assert info.value.extra == "lighter" and "pip install 'hedgekit[lighter]'" in str(info.value)


def test_a_connection_holds_no_key() -> None:
    fields = set(VenueConnection.__dataclass_fields__)
    assert not fields & {"key", "private_key", "api_secret", "secret", "signer_key"}
