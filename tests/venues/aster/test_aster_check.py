"""``hedgekit check aster`` against the wire-level fake: an approved V3 API wallet and a good V1
key pass and show the account; an API wallet the user never approved and a wrong V1 secret are
named by the venue's code and fail; an unreachable URL and a key file that holds no key are
reported with their exit codes — and in every case no key or secret reaches the output or the
logs (DEBUG logging on), the fake saw no order, and the listenKey made is gone again."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from asterkit import key_of

from hedgekit._core import EthSigner
from hedgekit.cli import EXIT_ERROR, EXIT_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, main
from hedgekit.testing.fakes.aster import FakeAster
from hedgekit.testing.fakes.threaded import ServerThread

pytestmark = pytest.mark.timeout(60)

USER = EthSigner(key_of("check-user"))
WALLET = EthSigner(key_of("check-api-wallet"))
STRANGER = EthSigner(key_of("check-stranger"))
API_KEY = "ck" + "K3yMaterial" * 4
API_SECRET = "cs" + "S3cretMaterial" * 4
ENVS = (
    "HEDGEKIT_ASTER_KEY",
    "HEDGEKIT_ASTER_USER",
    "HEDGEKIT_ASTER_API_KEY",
    "HEDGEKIT_ASTER_API_SECRET",
    "HEDGEKIT_ASTER_URL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ServerThread[FakeAster]]:
    with ServerThread(
        FakeAster,
        accounts=[USER.address],
        api_keys={API_KEY: (API_SECRET, USER.address)},
        balance=Decimal(25_000),
        funding=False,
        timeout=20.0,
    ) as s:
        s.call(lambda fake: fake.approve_signer(WALLET.address, USER.address))
        yield s
        # read-only: not one order reached the venue, and no listenKey was left behind
        assert s.call(lambda fake: dict(fake.account(USER.address).orders)) == {}
        assert s.call(lambda fake: fake.fills(USER.address)) == []
        assert s.call(lambda fake: dict(fake.listen_keys)) == {}


def _hex(signer: EthSigner) -> str:
    for name in ("check-user", "check-api-wallet", "check-stranger"):
        if EthSigner(key_of(name)).address == signer.address:
            return key_of(name).hex()
    raise AssertionError("unknown signer")


def _run(capfd: pytest.CaptureFixture[str], argv: list[str], *secrets: str) -> tuple[int, str]:
    code = main(["--log", "DEBUG", "--log-format", "text", "check", "aster", *argv])
    out, err = capfd.readouterr()
    for secret in secrets:
        bare = secret.removeprefix("0x").lower()
        for text in (out, err):
            assert bare not in text.lower()
            assert bare[:16] not in text.lower()  # not even a piece of it
    return code, out + err


def test_an_approved_api_wallet_passes_and_the_users_account_is_read(
    server: ServerThread[FakeAster],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = _hex(WALLET)
    monkeypatch.setenv("HEDGEKIT_ASTER_KEY", key)
    monkeypatch.setenv("HEDGEKIT_ASTER_USER", USER.address)
    code, out = _run(capfd, ["--url", server.url], key)
    assert code == EXIT_OK, out
    assert f"API wallet {WALLET.address.lower()} acts for {USER.address.lower()}" in out
    assert "wallet 25000" in out and "0 position(s)" in out
    assert "3 perpetuals trading" in out
    assert "listenKey    created and deleted" in out
    assert "ip 2400 per 60 s" in out
    assert "FAIL" not in out
    assert server.call(lambda fake: fake.verified["v3"]) >= 2  # signed reads, really verified


def test_a_good_v1_key_passes(
    server: ServerThread[FakeAster],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEDGEKIT_ASTER_API_KEY", API_KEY)
    monkeypatch.setenv("HEDGEKIT_ASTER_API_SECRET", API_SECRET)
    code, out = _run(capfd, ["--url", server.url], API_KEY, API_SECRET)
    assert code == EXIT_OK, out
    assert "(v1)" in out and "API key and secret accepted" in out
    assert "wallet 25000" in out
    assert server.call(lambda fake: fake.verified["v1"]) >= 2


def test_an_api_wallet_the_user_never_approved_is_refused_and_named(
    server: ServerThread[FakeAster],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    key = _hex(STRANGER)
    key_file = tmp_path / "wallet.key"
    key_file.write_text("0x" + key + "\n")
    code, out = _run(
        capfd, ["--url", server.url, "--key-file", str(key_file), "--user", USER.address], key
    )
    assert code == EXIT_FAILED
    assert "FAIL credentials" in out and "code -2015" in out
    assert "a check FAILED" in out
    assert "listenKey" not in out  # nothing signed is tried after a refusal


def test_a_wrong_v1_secret_is_refused_and_named(
    server: ServerThread[FakeAster],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "ws" + "NotTheSecret" * 4
    monkeypatch.setenv("HEDGEKIT_ASTER_API_KEY", API_KEY)
    monkeypatch.setenv("HEDGEKIT_ASTER_API_SECRET", wrong)
    code, out = _run(capfd, ["--url", server.url], API_KEY, wrong, API_SECRET)
    assert code == EXIT_FAILED
    assert "refuses the API key or its secret" in out and "code -1022" in out


def test_an_unreachable_url_is_a_runtime_error(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _hex(WALLET)
    monkeypatch.setenv("HEDGEKIT_ASTER_KEY", key)
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9", "--timeout", "2"], key)
    assert code == EXIT_ERROR
    assert "cannot connect" in out


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
    capfd: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    key_file = tmp_path / "bad.key"
    key_file.write_text(content)
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9", "--key-file", str(key_file)], content)
    assert code == EXIT_INPUT
    assert f"--key-file {key_file}: not a" in out


def test_no_credentials_is_a_usage_error(capfd: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capfd, ["--url", "http://127.0.0.1:9"])
    assert code == EXIT_USAGE
    assert "HEDGEKIT_ASTER_KEY" in out and "HEDGEKIT_ASTER_API_SECRET" in out
