"""``hedgekit kill`` on a live venue: a connections file naming a Hyperliquid venue (its key in a
file or an environment variable, never in the connections file) reaches the wire-level fake, and
the kill ends with the fake's own records flat and nothing resting. The position and the orders
are made by the official SDK, as a bot's other process would have made them."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from hlkit import D, fake_in_thread, wallet
from hyperliquid.exchange import Exchange

from hedgekit.cli import EXIT_INPUT, EXIT_OK, main

ALICE = wallet("alice")
ALO = {"limit": {"tif": "Alo"}}
IOC = {"limit": {"tif": "Ioc"}}


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def connections(tmp_path: Path, url: str, key_line: str) -> Path:
    path = tmp_path / "venues.toml"
    path.write_text(
        f'[[venues]]\nname = "hl"\nkind = "hyperliquid"\nurl = "{url}"\n'
        f'account = "{ALICE.address}"\nsymbols = ["ETH"]\nrequest_timeout_s = 2\n{key_line}\n'
    )
    return path


def test_kill_flattens_a_hyperliquid_account_and_cancels_what_rests(tmp_path: Path) -> None:
    key = ALICE.key.hex()
    key_file = tmp_path / "hl.key"
    key_file.write_text(key + "\n")
    with fake_in_thread(ALICE.address) as server:
        ex = Exchange(ALICE, server.url)
        assert ex.order("ETH", True, 0.3, 3010.0, IOC)["status"] == "ok"  # a long position
        for px in (2990.0, 2980.0):
            assert ex.order("ETH", True, 0.1, px, ALO)["status"] == "ok"  # two orders resting
        assert server.call(lambda f: f.position(ALICE.address, "ETH")) == D("0.3")
        assert len(server.call(lambda f: f.open_orders(ALICE.address))) == 2

        venues = connections(tmp_path, server.url, f'key_file = "{key_file}"')
        journal = str(tmp_path / "j.sqlite3")
        code, out, err = run_cli(
            ["kill", "--journal", journal, "--venues", str(venues), "--deadline", "15"]
        )
        assert code == EXIT_OK, out + err
        assert server.call(lambda f: f.position(ALICE.address, "ETH")) == 0  # the venue's truth
        assert server.call(lambda f: f.open_orders(ALICE.address)) == []
        assert key not in out + err and key[2:] not in out + err
        assert run_cli(["kill", "--status", "--journal", journal])[1].strip() == "latched: manual"


def test_a_missing_key_is_named_by_where_it_should_be(tmp_path: Path) -> None:
    with fake_in_thread(ALICE.address) as server:
        venues = connections(tmp_path, server.url, 'key_env = "HEDGEKIT_TEST_NO_SUCH_KEY"')
        code, _, err = run_cli(["kill", "--journal", str(tmp_path / "j"), "--venues", str(venues)])
        assert code == EXIT_INPUT and "$HEDGEKIT_TEST_NO_SUCH_KEY" in err
        bad = tmp_path / "bad.toml"
        bad.write_text(
            '[[venues]]\nname = "hl"\nkind = "hyperliquid"\nurl = "ftp://x"\naccount = "0x1"\n'
        )
        code, _, err = run_cli(["kill", "--journal", str(tmp_path / "j"), "--venues", str(bad)])
        assert code == EXIT_INPUT and "venues[0].url" in err
