"""A journal URL's password never reaches text: not the journal's repr, not an exception (its
text, its repr, its traceback), not the command line's stdout or stderr (logs included) — for
URLs that parse and URLs that do not."""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest

from hedgekit.cli import EXIT_ERROR, EXIT_INPUT, EXIT_OK, main
from hedgekit.journal import JournalError, open_journal
from hedgekit.journal.urls import mask_text, mask_url

pytestmark = pytest.mark.timeout(180)

PW = "Hunter2-xyz"
SPECIAL = "p@ss:w/rd-9"  # '@', ':' and '/'
ENCODED = quote(SPECIAL, safe="")

# id: (URL with {base} = host:port/db, the secrets that must never show, opens?)
CASES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "normal": (f"postgresql://postgres:{PW}@{{base}}", (PW,), True),
    "malformed IPv6": (f"postgresql://postgres:{PW}@[::1/{{db}}", (PW,), False),
    "'@' ':' '/' in the password": (
        f"postgresql://postgres:{SPECIAL}@{{base}}",
        (SPECIAL, "rd-9", "w/rd"),
        False,
    ),
    "percent-encoded": (f"postgres://postgres:{ENCODED}@{{base}}", (SPECIAL, ENCODED), True),
    "no password": ("postgresql://postgres@{base}", (), True),
    "password in the query": (
        f"postgresql://postgres@{{base}}?sslmode=disable&password={PW}",
        (PW,),
        True,
    ),
    "unreachable server": (f"postgresql://postgres:{PW}@127.0.0.1:1/{{db}}", (PW,), False),
}


def _url(case: str, pg_url: str) -> str:
    base = pg_url.split("@", 1)[1]
    return CASES[case][0].format(base=base, db=base.rsplit("/", 1)[1])


def _clean(text: str, case: str) -> None:
    for secret in CASES[case][1]:
        assert secret not in text, text


@pytest.mark.parametrize("case", list(CASES))
def test_the_password_never_shows(
    case: str, pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(case, pg_url)
    opens = CASES[case][2]

    async def library() -> str:
        try:
            journal = await open_journal(url, timeout_s=3)
        except JournalError as exc:
            assert not opens, exc
            return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
        assert opens
        async with journal:
            await journal.record(None, "note", {"n": 1})
            return "\n".join([repr(journal), str(journal), journal.url])

    text = asyncio.run(library())
    _clean(text, case)
    if opens and CASES[case][1]:
        assert "***" in text

    try:
        argv = ["--log", "DEBUG", "--log-format", "text", "demo", "--duration", "0.5"]
        code = main([*argv, "--out", str(tmp_path), "--journal", url, "--no-progress"])
    finally:
        logging.getLogger("hedgekit").handlers.clear()
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    _clean(cap.out + cap.err, case)
    if opens:
        assert code == EXIT_OK, cap.err
        (line,) = [x for x in cap.out.splitlines() if x.startswith("journal:")]
        assert line.split()[-1] == mask_url(url)
    else:
        assert code in (EXIT_INPUT, EXIT_ERROR), cap.err
        assert "hedgekit: error: journal " in cap.err

    code = main(["report", "--db", url])
    cap = capsys.readouterr()
    _clean(cap.out + cap.err, case)
    if opens:
        assert code == EXIT_OK, cap.err
    else:
        assert code in (EXIT_INPUT, EXIT_ERROR), cap.err
        assert len(cap.err.strip().splitlines()) == 1, cap.err


def test_a_password_with_unescaped_separators_is_refused_before_connecting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql://u:{SPECIAL}@127.0.0.1:1/db"
    with pytest.raises(JournalError, match="percent-encoded") as info:
        asyncio.run(open_journal(url))
    assert SPECIAL not in str(info.value) and "rd-9" not in str(info.value)
    assert main(["report", "--db", url]) == EXIT_INPUT
    assert "percent-encoded" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw12@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:pw12@[::1/db", "postgresql://u:***@[::1/db"),
        (f"postgresql://u:{SPECIAL}@h/db", "postgresql://u:***@h/db"),
        (f"postgresql://u:{ENCODED}@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db?password=pw12&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://u@[::1]:5432/db", "postgresql://u@[::1]:5432/db"),
        ("sqlite:///dir/j.db", "sqlite:///dir/j.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(masked) == masked


def test_mask_text_masks_the_password_as_written_and_decoded() -> None:
    url = f"postgresql://u:{ENCODED}@h/db"
    text = f'bad URI "{url}"; password {SPECIAL}; another postgres://x:{PW}@y/z'
    out = mask_text(text, url)
    for secret in (SPECIAL, ENCODED, PW):
        assert secret not in out
    assert "postgres://x:***@y/z" in out
