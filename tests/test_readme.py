"""The README's examples type-check under ``mypy --strict``, run as written, do what their
comments say, and say how long they take when that is more than a second."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# "takes about 10 s", "about 2 seconds": the duration the prose before an example announces.
CLAIM = re.compile(r"about (\d+(?:\.\d+)?) ?(?:s|seconds)\b")


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _blocks() -> list[str]:
    blocks = BLOCK.findall(_text())
    assert len(blocks) >= 2, "README has lost its examples"
    return blocks


def _claimed_seconds(index: int) -> float | None:
    """The duration announced between the previous code block and example ``index``."""
    text = _text()
    matches = list(BLOCK.finditer(text))
    start = text.rfind("```", 0, matches[index].start())  # end of the block before, if any
    prose = text[start + 3 if start >= 0 else 0 : matches[index].start()]
    found = CLAIM.search(prose)
    return float(found.group(1)) if found else None


def _run(index: int) -> dict[str, object]:
    """Runs example ``index`` and checks what the README says about its duration."""
    namespace: dict[str, object] = {}
    started = time.perf_counter()
    exec(compile(_blocks()[index], str(README), "exec"), namespace)  # noqa: S102 - our own README
    elapsed = time.perf_counter() - started
    claimed = _claimed_seconds(index)
    if elapsed > 1.0:
        assert claimed is not None, (
            f"example {index + 1} takes {elapsed:.1f} s: the README must say so"
        )
    if claimed is not None:
        assert elapsed <= 3 * claimed + 1, (
            f"example {index + 1}: said about {claimed} s, took {elapsed:.1f} s"
        )
    return namespace


def test_readme_examples_pass_mypy_strict(tmp_path: Path) -> None:
    files = []
    for i, block in enumerate(_blocks()):
        path = tmp_path / f"readme_example_{i + 1}.py"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            *files,
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_readme_bot_example_opens_a_pair() -> None:
    namespace = _run(0)
    assert namespace["status"] in ("opened", "partial", "not_filled")


def test_readme_example_runs() -> None:
    namespace = _run(1)
    assert namespace["size"] == Decimal("2.332")
    assert namespace["price"] == Decimal("3119.91")
    assert namespace["price"] < namespace["ask"]  # type: ignore[operator]


def test_readme_live_example_rests_an_order_at_the_fake() -> None:
    namespace = _run(2)
    assert namespace["state"] == "open"


def test_readme_sync_example_opens_and_closes_through_the_runner() -> None:
    namespace = _run(3)
    assert namespace["statuses"] == ("opened", "closed")
    assert namespace["held"] == {"hyperliquid": {}, "aster": {}}
