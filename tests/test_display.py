"""Tables and progress bars of the command line (``hedgekit._display``): rich draws them when it is
installed, a plain fallback otherwise, and a plain table is the same text either way."""

from __future__ import annotations

import io
import re
import sys

import pytest

from hedgekit import _display
from hedgekit._display import ProgressBar, render_table, styled
from hedgekit.demo import format_table

ANSI = re.compile(r"\x1b\[[0-9;]*m")

TABLES = [
    (["#", "kind", "took ms", "exposure USD·s"], [["1", "open", "123", "4,567.0"], ["2", "close", "5", "-"]]),
    (["venue", "ops", "detail"], [["A", "4", "[market_factor] :smile: *x*"], ["BB", "10", ""]]),
    (["only"], [["x"]]),
    (["a", "b"], []),
]  # fmt: skip


@pytest.fixture
def no_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    assert not _display.rich_available()


def _all(rule: bool) -> list[str]:
    return [
        render_table(
            h, r, numeric=[c in ("#", "took ms", "exposure USD·s", "ops") for c in h], rule=rule
        )
        for h, r in TABLES
    ]


@pytest.mark.parametrize("rule", [False, True])
def test_rich_and_the_fallback_give_the_same_plain_text(
    rule: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rich")
    drawn = _all(rule)
    monkeypatch.setitem(sys.modules, "rich", None)
    assert _all(rule) == drawn
    for text in drawn:
        assert not ANSI.search(text)
        assert text.replace("·", "").isascii()
        assert all(line == line.rstrip() for line in text.splitlines())


def test_plain_layout(no_rich: None) -> None:
    text = format_table(["#", "venue", "size"], [[1, "hl", "0.5"], [10, "aster", None]])
    assert text.splitlines() == [
        " #  venue  size",
        "--- ------ ----",
        " 1  hl      0.5",
        "10  aster     -",
    ]


def test_cells_are_text_not_markup() -> None:
    text = render_table(["detail"], [["[bold]x[/bold] :smile:"]], numeric=[False])
    assert "[bold]x[/bold] :smile:" in text


def test_styled_tables_only_on_request() -> None:
    pytest.importorskip("rich")
    plain = render_table(["a", "n"], [["x", "1"]], numeric=[False, True], rule=True)
    with styled(True):
        fancy = render_table(["a", "n"], [["x", "1"]], numeric=[False, True], rule=True)
    assert not ANSI.search(plain)
    assert ANSI.search(fancy)
    assert [ANSI.sub("", line).rstrip() for line in fancy.splitlines()] == [
        line.replace("-", "─") for line in plain.splitlines()
    ]


def test_styled_report_blocks_fit_the_width() -> None:
    pytest.importorskip("rich")
    rows = [["venue-" + "x" * 30, "1" * 40]]
    with styled(True):
        text = render_table(["venue", "n"], rows, numeric=[False, True], width=50)
    assert max(len(ANSI.sub("", line)) for line in text.splitlines()) <= 50
    plain = render_table(["venue", "n"], rows, numeric=[False, True], width=50)
    assert max(len(line) for line in plain.splitlines()) <= 50


def test_styled_without_rich_stays_plain(no_rich: None) -> None:
    with styled(True):
        text = render_table(["a"], [["x"]], numeric=[False], rule=True)
    assert text == "a\n-\nx"


def test_progress_fallback_is_one_updating_line(no_rich: None) -> None:
    out = io.StringIO()
    with ProgressBar(10, "runs", out) as bar:
        bar.update(3)
        bar.update(10, "done", total=10)
    assert out.getvalue() == "\r3/10 runs\r10/10 runs, done\n"


def test_rich_progress_bar_reaches_the_total() -> None:
    pytest.importorskip("rich")
    out = io.StringIO()
    with ProgressBar(10, "seeds", out) as bar:
        bar.update(4, "fast")
        bar.update(12, "all", total=12)
    text = out.getvalue()
    assert "12/12" in text and "seeds" in text and "all" in text
