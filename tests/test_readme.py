"""The README's example runs as written and does what its comments say."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no python example"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["size"] == Decimal("2.332")
    assert namespace["price"] == Decimal("3119.91")
    assert namespace["price"] < namespace["ask"]  # type: ignore[operator]
