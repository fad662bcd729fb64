"""The README's example runs as written and does what its comments say."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2, "README has lost its examples"
    return blocks


def test_readme_bot_example_opens_a_pair() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_blocks()[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["status"] in ("opened", "partial", "not_filled")


def test_readme_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_blocks()[1], str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["size"] == Decimal("2.332")
    assert namespace["price"] == Decimal("3119.91")
    assert namespace["price"] < namespace["ask"]  # type: ignore[operator]
