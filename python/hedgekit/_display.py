"""Tables and progress bars of the command line, drawn by rich when it is installed.

rich is the ``rich`` extra (``pip install "hedgekit[rich]"``): it and its dependencies
(pygments, markdown-it) weigh about 12 MB, more than the whole core install, which must stay
within 15 MB. Without it the same tables come out of a small plain-text fallback and progress is
one updating line; nothing else changes, so a missing ``rich`` is not reported.

* :func:`render_table`: an aligned table as text. Unless :func:`styled` is on, it is plain: no
  escape codes, no box characters, text left- and numbers right-aligned, two spaces between
  columns, optionally a ``---`` rule under the header, trailing spaces stripped; rich and the
  fallback give the same characters. Styled (the command line turns it on when stdout is a
  terminal and rich is installed), rich adds a bold header and a drawn rule, same layout.
* :class:`ProgressBar`: a progress bar on a terminal (rich's), else the plain updating line.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from types import ModuleType
from typing import IO, Any, Final

__all__ = ["ProgressBar", "render_table", "rich_available", "styled", "terminal_width"]

_STYLED: ContextVar[bool] = ContextVar("hedgekit_display_styled", default=False)
_WIDE: Final = 100_000
"""The console width of a plain render: a table is never wrapped to fit a width it was not
given."""


def _rich() -> ModuleType | None:
    try:
        import rich
    except ImportError:
        return None
    return rich


def rich_available() -> bool:
    """Whether rich is importable."""
    return _rich() is not None


@contextlib.contextmanager
def styled(enabled: bool = True) -> Iterator[None]:
    """Within the block, :func:`render_table` draws for a terminal (escape codes, a bold header)
    when rich is installed. The command line turns it on when stdout is a terminal."""
    token = _STYLED.set(enabled and rich_available())
    try:
        yield
    finally:
        _STYLED.reset(token)


def terminal_width(default: int = 100) -> int:
    """The terminal's width in columns (``default`` when there is none)."""
    return shutil.get_terminal_size((default, 24)).columns


# ------------------------------------------------------------------------------------ tables


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[bool],
    rule: bool = False,
    width: int | None = None,
) -> str:
    """An aligned table as text, without a trailing newline.

    Args:
        headers: Column titles.
        rows: Cells, already formatted as text.
        numeric: Per column, right-aligned (numbers) or left-aligned (text).
        rule: A rule under the header (``---`` when plain).
        width: The widest a line may be (default: as wide as the table). A styled table is
            drawn to fit it; a plain one is cut at it.

    Returns:
        The table's lines.
    """
    if _rich() is not None:
        text = _rich_table(headers, rows, numeric, rule, width, _STYLED.get())
    else:
        text = _plain_table(headers, rows, numeric, rule)
    if width is not None and not _STYLED.get():
        text = "\n".join(line[:width] for line in text.splitlines())
    return text


def _plain_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool], rule: bool
) -> str:
    """The fallback: the layout rich gives a ``box=None``/rule table, in plain Python."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    lines = [line(headers)]
    if rule:  # rich's rule: each column's dashes cover its right padding too, the last's not
        lines.append(" ".join(["-" * (w + 1) for w in widths[:-1]] + ["-" * widths[-1]]))
    lines += [line(r) for r in rows]
    return "\n".join(lines)


def _rule_box(char: str) -> Any:
    """A rich box that draws nothing but ``char`` under the header, columns two spaces apart."""
    from rich.box import Box

    return Box(f"    \n    \n {char}  \n    \n    \n    \n    \n    \n", ascii=char.isascii())


def _rich_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    rule: bool,
    width: int | None,
    style: bool,
) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=_rule_box("─" if style else "-") if rule else None,
        show_edge=False,
        pad_edge=False,
        # Two spaces between columns: one of padding and, with a rule, the box's blank divider.
        padding=(0, 1, 0, 0) if rule else (0, 1),
        header_style="bold" if style else "",
        border_style="dim" if style else "",
        highlight=False,
    )
    for header, num in zip(headers, numeric, strict=True):
        table.add_column(Text(header), justify="right" if num else "left", no_wrap=not style)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: no markup, emoji or highlighting
    out = io.StringIO()
    console = Console(
        file=out,
        width=width if style and width is not None else (terminal_width() if style else _WIDE),
        force_terminal=style,
        color_system="standard" if style else None,
        no_color=not style,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


# ---------------------------------------------------------------------------------- progress


class ProgressBar:
    """Progress of ``total`` steps on ``stream``: rich's bar when rich is installed, else one line
    rewritten in place (``12/6000 seeds, ...``). Use it as a context manager and call
    :meth:`update`; leaving the block ends the line.

    Args:
        total: The number of steps.
        what: What a step is, plural (``"seeds"``, ``"runs"``).
        stream: Where to draw (a terminal: the caller decides whether to show progress at all).
    """

    def __init__(self, total: int, what: str, stream: IO[str]) -> None:
        self.total = total
        self.what = what
        self.stream = stream
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if _rich() is not None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, info="")
        return self

    def update(self, done: int, info: str = "", *, total: int | None = None) -> None:
        """Shows ``done`` of the total steps (``total``, if given, replaces it), with ``info``
        after the figures."""
        if total is not None:
            self.total = total
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total, info=info)
            return
        self.stream.write(f"\r{done}/{self.total} {self.what}" + (f", {info}" if info else ""))
        self.stream.flush()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        else:
            self.stream.write("\n")
            self.stream.flush()
