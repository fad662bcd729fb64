"""``hedgekit kill`` on live venues from one connections file: Aster (V3 API wallet, V1 API key)
and Lighter reached over the wire at their fakes, each key in a file or an environment variable
(never in the connections file), and all three live venues (Hyperliquid too) in one kill. The
position and the resting orders are a bot's, made by the live adapter in a process of its own;
the judge is each fake's own record: positions flat, nothing resting, and the latch in the
journal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from killkit import (
    API_KEY,
    API_SECRET,
    ASTER_SYMBOL,
    LIGHTER_ACCOUNT,
    D,
    aster_in_thread,
    aster_key,
    aster_sells,
    aster_table,
    flattened_reduce_only,
    kill,
    latched,
    leave_on_aster,
    leave_on_lighter,
    lighter_in_thread,
    lighter_sells,
    lighter_table,
)

from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_OK
from hedgekit.secrets import Secret
from hedgekit.venues.aster import AsterCredentials
from hedgekit.venues.lighter.signing import generate_api_key

sys.path.insert(0, str(Path(__file__).parent / "hyperliquid"))
from hlkit import fake_in_thread, wallet  # noqa: E402
from hyperliquid.exchange import Exchange  # noqa: E402

ALO = {"limit": {"tif": "Alo"}}
IOC = {"limit": {"tif": "Ioc"}}


def test_kill_flattens_an_aster_account_signed_by_its_api_wallet(tmp_path: Path) -> None:
    key, user = aster_key()
    key_file = tmp_path / "aster.key"
    key_file.write_text(key + "\n")
    with aster_in_thread(user) as server:
        leave_on_aster(server.url, AsterCredentials.v3(user, Secret(key)))
        assert server.call(lambda f: f.position(user, ASTER_SYMBOL)) == D("0.5")
        assert len(server.call(lambda f: f.open_orders(user))) == 2

        table = aster_table("aster", server.url, [f'user = "{user}"', f'key_file = "{key_file}"'])
        code, out, err, journal = kill(tmp_path, [table], "--json")
        assert code == EXIT_OK, out + err
        assert server.call(lambda f: f.position(user, ASTER_SYMBOL)) == 0  # the venue's truth
        assert server.call(lambda f: f.open_orders(user)) == []
        assert flattened_reduce_only(aster_sells(server, user), "0.5")
        report = json.loads(out)["venues"]["aster"]
        assert report["flat"] and len(report["adopted"]) == 2  # the bot's orders, found there
        assert D(report["traded"][ASTER_SYMBOL]) == D("0.5")  # sold reduce-only, nothing more
        assert key not in out + err
        assert latched(journal) == "latched: manual"


def test_kill_flattens_a_lighter_account_with_its_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = generate_api_key()
    with lighter_in_thread(public) as server:
        leave_on_lighter(server.url, private.reveal())
        assert server.call(lambda f: f.position(LIGHTER_ACCOUNT, "ETH")) == D("0.5")
        assert len(server.call(lambda f: f.open_orders(LIGHTER_ACCOUNT))) == 2

        monkeypatch.setenv("HEDGEKIT_TEST_LIGHTER_KEY", private.reveal())
        table = lighter_table(
            "lighter",
            server.url,
            ['key_env = "HEDGEKIT_TEST_LIGHTER_KEY"', f'public_key = "{public}"'],
        )
        code, out, err, journal = kill(tmp_path, [table])
        assert code == EXIT_OK, out + err
        assert server.call(lambda f: f.position(LIGHTER_ACCOUNT, "ETH")) == 0
        assert server.call(lambda f: f.open_orders(LIGHTER_ACCOUNT)) == []
        assert flattened_reduce_only(lighter_sells(server), "0.5")
        assert "every venue flat, nothing resting" in out
        assert private.reveal() not in out + err
        assert latched(journal) == "latched: manual"


def test_one_kill_flattens_hyperliquid_aster_and_lighter_from_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = wallet("alice")
    _, user = aster_key("v1-user")
    private, public = generate_api_key()
    secret_file = tmp_path / "aster.secret"
    secret_file.write_text(API_SECRET)
    lighter_file = tmp_path / "lighter.key"
    lighter_file.write_text(private.reveal())
    monkeypatch.setenv("HEDGEKIT_TEST_HL_KEY", alice.key.hex())
    monkeypatch.setenv("HEDGEKIT_TEST_ASTER_API_KEY", API_KEY)
    with (
        fake_in_thread(alice.address) as hl,
        aster_in_thread(user, v1=True) as aster,
        lighter_in_thread(public) as lighter,
    ):
        ex = Exchange(alice, hl.url)
        assert ex.order("ETH", True, 0.3, 3010.0, IOC)["status"] == "ok"  # long 0.3
        assert ex.order("ETH", True, 0.1, 2990.0, ALO)["status"] == "ok"  # one resting
        leave_on_aster(aster.url, AsterCredentials.v1(Secret(API_KEY), Secret(API_SECRET)), "0.7")
        leave_on_lighter(lighter.url, private.reveal(), "0.4")
        assert len(aster.call(lambda f: f.open_orders(user))) == 2
        assert len(lighter.call(lambda f: f.open_orders(LIGHTER_ACCOUNT))) == 2

        tables = [
            f'[[venues]]\nname = "hl"\nkind = "hyperliquid"\nurl = "{hl.url}"\n'
            f'account = "{alice.address}"\nkey_env = "HEDGEKIT_TEST_HL_KEY"\nsymbols = ["ETH"]\n'
            "request_timeout_s = 2\n",
            aster_table(
                "aster",
                aster.url,
                [
                    'api_key_env = "HEDGEKIT_TEST_ASTER_API_KEY"',
                    f'api_secret_file = "{secret_file}"',
                ],
            ),  # fmt: skip
            lighter_table("lighter", lighter.url, [f'key_file = "{lighter_file}"']),
        ]
        code, out, err, journal = kill(tmp_path, tables, "--reason", "all three")
        assert code == EXIT_OK, out + err
        assert hl.call(lambda f: f.position(alice.address, "ETH")) == 0
        assert hl.call(lambda f: f.open_orders(alice.address)) == []
        assert aster.call(lambda f: f.position(user, ASTER_SYMBOL)) == 0
        assert aster.call(lambda f: f.open_orders(user)) == []
        assert flattened_reduce_only(aster_sells(aster, user), "0.7")
        assert lighter.call(lambda f: f.position(LIGHTER_ACCOUNT, "ETH")) == 0
        assert lighter.call(lambda f: f.open_orders(LIGHTER_ACCOUNT)) == []
        assert flattened_reduce_only(lighter_sells(lighter), "0.4")
        for name in ("hl", "aster", "lighter"):
            assert any(line.split()[:2] == [name, "yes"] for line in out.splitlines()), out
        for secret in (alice.key.hex()[2:], API_KEY, API_SECRET, private.reveal()):
            assert secret not in out + err
        assert latched(journal) == "latched: all three"


def test_lighter_without_its_extra_is_a_venue_failure_and_the_others_are_flattened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, user = aster_key("no-extra")
    monkeypatch.setenv("HEDGEKIT_TEST_ASTER_KEY", key)
    monkeypatch.setenv("HEDGEKIT_TEST_LIGHTER_KEY", "ab" * 40)
    monkeypatch.setitem(sys.modules, "lighter", None)  # lighter-sdk not installed
    lighter = lighter_table(
        "lighter", "http://127.0.0.1:1", ['key_env = "HEDGEKIT_TEST_LIGHTER_KEY"']
    )
    with aster_in_thread(user) as server:
        leave_on_aster(server.url, AsterCredentials.v3(user, Secret(key)))
        aster = aster_table(
            "aster", server.url, [f'user = "{user}"', 'key_env = "HEDGEKIT_TEST_ASTER_KEY"']
        )
        code, out, err, journal = kill(tmp_path, [aster, lighter])
        assert code == EXIT_FAILED, out + err
        assert server.call(lambda f: f.position(user, ASTER_SYMBOL)) == 0
        assert server.call(lambda f: f.open_orders(user)) == []
    assert "NOT FLAT lighter: cannot build:" in out and "pip install 'hedgekit[lighter]'" in out
    assert "Traceback" not in out + err and "ab" * 40 not in out + err
    assert latched(journal) == "latched: manual"

    alone = tmp_path / "alone"
    alone.mkdir()
    code, out, err, journal = kill(alone, [lighter])
    assert code == EXIT_ERROR and "hedgekit[lighter]" in err and "latch is set" in err
    assert "Traceback" not in out + err
    assert latched(journal) == "latched: manual"
