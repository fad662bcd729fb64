"""``hedgekit check hyperliquid`` against the wire-level fake: an approved agent passes, an agent
its master never approved is named and fails, an unreachable URL and a key file that holds no
key are reported with their exit codes — and in every case the key reaches neither the output
nor the logs (DEBUG logging on), and nothing but reads reaches the venue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hlkit import fake_in_thread, wallet

from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_INPUT, EXIT_OK, main
from hedgekit.testing.fakes.hyperliquid import FakeHyperliquid
from hedgekit.testing.fakes.threaded import ServerThread

pytestmark = pytest.mark.timeout(60)

MASTER = wallet("check-master")
AGENT = wallet("check-agent")
STRANGER = wallet("check-stranger")


@pytest.fixture
def server() -> Iterator[ServerThread[FakeHyperliquid]]:
    with fake_in_thread(MASTER.address) as s:
        s.call(lambda fake: fake.approve_agent(AGENT.address, MASTER.address))
        yield s
        # read-only: not one action reached the venue
        assert s.call(lambda fake: fake.account(MASTER.address).requests) == 0
        assert s.call(lambda fake: fake.open_orders(MASTER.address)) == []


def _run(capfd: pytest.CaptureFixture[str], key_hex: str, argv: list[str]) -> tuple[int, str, str]:
    code = main(["--log", "DEBUG", "--log-format", "text", "check", "hyperliquid", *argv])
    out, err = capfd.readouterr()
    bare = key_hex.removeprefix("0x")
    for text in (out, err):
        assert bare.lower() not in text.lower()
        assert bare[:16].lower() not in text.lower()  # not even a piece of it
    return code, out, err


def test_an_approved_agent_passes_and_the_master_is_read(
    server: ServerThread[FakeHyperliquid],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = AGENT.key.hex()
    monkeypatch.setenv("HEDGEKIT_HL_KEY", key)
    monkeypatch.setenv("HEDGEKIT_HL_ACCOUNT", MASTER.address)
    code, out, _ = _run(capfd, key, ["--url", server.url])
    assert code == EXIT_OK
    assert f"agent {AGENT.address.lower()} approved by {MASTER.address.lower()}" in out
    assert "account value 100000" in out  # the master's state, not the agent's empty one
    assert "FAIL" not in out


def test_the_accounts_own_key_passes(
    server: ServerThread[FakeHyperliquid],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = MASTER.key.hex()
    monkeypatch.setenv("HEDGEKIT_HL_KEY", key)
    monkeypatch.delenv("HEDGEKIT_HL_ACCOUNT", raising=False)
    code, out, _ = _run(capfd, key, ["--url", server.url])
    assert code == EXIT_OK
    assert "is the account itself" in out


def test_an_agent_the_master_never_approved_is_named(
    server: ServerThread[FakeHyperliquid],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    key = STRANGER.key.hex()
    monkeypatch.delenv("HEDGEKIT_HL_KEY", raising=False)
    key_file = tmp_path / "agent.key"
    key_file.write_text(key + "\n")
    code, out, _ = _run(
        capfd, key, ["--url", server.url, "--key-file", str(key_file), "--account", MASTER.address]
    )
    assert code == EXIT_FAILED
    assert f"agent {STRANGER.address.lower()} is NOT approved by {MASTER.address.lower()}" in out
    assert "a check FAILED" in out


def test_an_agent_approved_by_another_master_is_named(
    server: ServerThread[FakeHyperliquid],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = wallet("check-other-master")
    server.call(lambda fake: fake.add_account(other.address))
    key = AGENT.key.hex()
    monkeypatch.setenv("HEDGEKIT_HL_KEY", key)
    code, out, _ = _run(capfd, key, ["--url", server.url, "--account", other.address])
    assert code == EXIT_FAILED
    assert f"approved by {MASTER.address.lower()}, not by {other.address.lower()}" in out


def test_an_unreachable_url_is_a_runtime_error(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = AGENT.key.hex()
    monkeypatch.setenv("HEDGEKIT_HL_KEY", key)
    code, out, err = _run(capfd, key, ["--url", "http://127.0.0.1:9", "--timeout", "2"])
    assert code == EXIT_ERROR
    assert "cannot connect" in err
    assert out == ""


@pytest.mark.parametrize(
    "content",
    [
        "not a key at all, but a password-like line",
        "0x" + "zz" * 32,
        "0x" + "ab" * 31,  # 62 digits
        "0x" + "0" * 64,  # out of the curve's range
    ],
)
def test_a_key_file_with_bad_content_is_an_input_error(
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    content: str,
) -> None:
    monkeypatch.delenv("HEDGEKIT_HL_KEY", raising=False)
    key_file = tmp_path / "bad.key"
    key_file.write_text(content)
    code, out, err = _run(
        capfd, content, ["--url", "http://127.0.0.1:9", "--key-file", str(key_file)]
    )
    assert code == EXIT_INPUT
    assert f"--key-file {key_file}: not a" in err
    assert content not in err and content not in out


def test_a_missing_key_file_is_an_input_error(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capfd, "0" * 64, ["--key-file", str(tmp_path / "none.key")])
    assert code == EXIT_INPUT
    assert "no such file" in err
