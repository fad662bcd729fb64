"""``hedgekit check lighter`` against the wire-level fake: a registered key passes and shows the
account, its nonce and an accepted auth token; a key index the account does not have and a
public key that is not the registered one fail; an unreachable URL, a bad key file and missing
settings get their exit codes — and in no case does the private key or the auth token reach the
output or the logs (DEBUG logging on), and no transaction reaches the venue."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from lighter_adapterkit import ACCOUNT, KEY_INDEX, Key, new_key  # noqa: E402

from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, main  # noqa: E402
from hedgekit.testing.fakes.lighter import FakeLighter  # noqa: E402
from hedgekit.testing.fakes.threaded import ServerThread  # noqa: E402

pytestmark = pytest.mark.timeout(60)

ENVS = (
    "HEDGEKIT_LIGHTER_KEY",
    "HEDGEKIT_LIGHTER_ACCOUNT",
    "HEDGEKIT_LIGHTER_KEY_INDEX",
    "HEDGEKIT_LIGHTER_URL",
)
KEY = new_key()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ServerThread[FakeLighter]]:
    with ServerThread(
        FakeLighter,
        api_keys=[(ACCOUNT, KEY_INDEX, KEY.public)],
        balance=Decimal(25_000),
        funding=False,
        ping_interval_s=None,
        timeout=20.0,
    ) as s:
        nonce = s.call(lambda fake: fake.next_nonce(ACCOUNT, KEY_INDEX))
        yield s
        # read-only: no transaction reached the venue
        assert s.call(lambda fake: fake.next_nonce(ACCOUNT, KEY_INDEX)) == nonce
        assert s.call(lambda fake: dict(fake.account(ACCOUNT).orders)) == {}


def _run(
    capfd: pytest.CaptureFixture[str], argv: list[str], key: Key | None = KEY
) -> tuple[int, str]:
    code = main(["--log", "DEBUG", "--log-format", "text", "check", "lighter", *argv])
    out, err = capfd.readouterr()
    if key is not None:
        bare = key.private.removeprefix("0x").lower()
        for text in (out, err):
            assert bare not in text.lower()
            assert bare[:16] not in text.lower()  # not even a piece of it
            assert f":{ACCOUNT}:{KEY_INDEX}:" not in text  # no auth token
    return code, out + err


def _env(monkeypatch: pytest.MonkeyPatch, key: Key = KEY, index: int = KEY_INDEX) -> None:
    monkeypatch.setenv("HEDGEKIT_LIGHTER_KEY", key.private)
    monkeypatch.setenv("HEDGEKIT_LIGHTER_ACCOUNT", str(ACCOUNT))
    monkeypatch.setenv("HEDGEKIT_LIGHTER_KEY_INDEX", str(index))


def test_a_registered_key_passes_and_the_account_is_read(
    server: ServerThread[FakeLighter],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch)
    code, out = _run(capfd, ["--url", server.url, "--public-key", KEY.public])
    assert code == EXIT_OK, out
    assert "3 perpetuals active" in out
    assert "the registered public key is the configured one" in out
    assert "next nonce 0" in out
    assert "collateral 25000" in out and "0 position(s)" in out
    assert "auth token accepted" in out
    assert "FAIL" not in out


def test_a_key_index_the_account_does_not_have_fails(
    server: ServerThread[FakeLighter],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, index=KEY_INDEX + 1)
    code, out = _run(capfd, ["--url", server.url])
    assert code == EXIT_FAILED
    assert "FAIL api key" in out and f"no key {KEY_INDEX + 1} on account {ACCOUNT}" in out


def test_a_public_key_that_is_not_the_registered_one_fails(
    server: ServerThread[FakeLighter],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    other = new_key()
    key_file = tmp_path / "lighter.key"
    key_file.write_text(other.private + "\n")
    monkeypatch.setenv("HEDGEKIT_LIGHTER_ACCOUNT", str(ACCOUNT))
    code, out = _run(
        capfd,
        ["--url", server.url, "--key-file", str(key_file), "--api-key-index", str(KEY_INDEX),
         "--public-key", other.public],
        other,
    )  # fmt: skip
    assert code == EXIT_FAILED
    assert "is not the configured one" in out and "a check FAILED" in out


def test_an_unreachable_url_is_a_runtime_error(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch)
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9", "--timeout", "2"])
    assert code == EXIT_ERROR
    assert "cannot connect" in out


def test_a_key_file_without_a_key_is_an_input_error(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "bad.key"
    key_file.write_text("not a key at all, but a password-like line")
    monkeypatch.setenv("HEDGEKIT_LIGHTER_ACCOUNT", str(ACCOUNT))
    monkeypatch.setenv("HEDGEKIT_LIGHTER_KEY_INDEX", str(KEY_INDEX))
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9", "--key-file", str(key_file)])
    assert code == EXIT_INPUT
    assert f"--key-file {key_file}: not a Lighter API private key" in out
    assert "password-like" not in out


def test_missing_settings_are_usage_errors(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9"])
    assert code == EXIT_USAGE and "HEDGEKIT_LIGHTER_KEY" in out
    monkeypatch.setenv("HEDGEKIT_LIGHTER_KEY", KEY.private)
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9"])
    assert code == EXIT_USAGE and "--account-index" in out
