"""Copies the docstrings of ``python/hedgekit/_core.pyi`` into the PyO3 sources as ``///`` comments.

The stub is the user-facing reference; PyO3 turns the ``///`` comments of ``#[pyclass]``,
``#[pymethods]`` and ``#[pyfunction]`` items into the runtime ``__doc__``, so this keeps the two
word for word (``tests/test_docs.py`` checks that they agree).

    python docs/api/sync_rust_docs.py          # rewrite rust/hedgekit-py/src/*.rs
    python docs/api/sync_rust_docs.py --check  # exit 1 if a file would change

Only doc comments are touched: for every class, method, property and function that the stub
documents, the ``///`` lines directly above the Rust item (among its attributes) are replaced.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "hedgekit" / "_core.pyi"
SOURCES = sorted((ROOT / "rust" / "hedgekit-py" / "src").glob("*.rs"))

Key = tuple[str | None, str]


def stub_docs() -> dict[Key, str]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    docs: dict[Key, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            if (doc := ast.get_docstring(node)) is not None:
                docs[(None, node.name)] = doc
        elif isinstance(node, ast.ClassDef):
            if (doc := ast.get_docstring(node)) is not None:
                docs[(node.name, "<class>")] = doc
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef)
                    and (doc := ast.get_docstring(item)) is not None
                ):
                    docs[(node.name, item.name)] = doc
    return docs


def _preamble_start(lines: list[str], item: int) -> int:
    """The first line of the attributes and doc comments directly above line ``item``."""
    start = item
    while start > 0 and lines[start - 1].lstrip().startswith(("#[", "///")):
        start -= 1
    return start


def _doc_lines(doc: str, indent: str) -> list[str]:
    return [f"{indent}///{' ' + line if line else ''}" for line in doc.splitlines()]


def sync_file(text: str, docs: dict[Key, str], used: set[Key]) -> str:
    lines = text.split("\n")
    # Pass 1: Rust type name -> Python class name.
    py_names: dict[str, str] = {}
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#[pyclass"):
            m = re.search(r'name\s*=\s*"(\w+)"', line)
            j = i + 1
            while not re.match(r"\s*pub (struct|enum) ", lines[j]):
                j += 1
            rust = re.match(r"\s*pub (?:struct|enum) (\w+)", lines[j]).group(1)  # type: ignore[union-attr]
            py_names[rust] = m.group(1) if m else rust
    # Pass 2: collect (item line, key), then rewrite bottom-up so indices stay valid.
    targets: list[tuple[int, Key]] = []
    impl_class: str | None = None
    for i, line in enumerate(lines):
        if impl_class is not None and line == "}":
            impl_class = None
            continue
        m = re.match(r"impl (\w+) \{", line)
        if m and any(
            lines[k].strip() == "#[pymethods]" for k in range(_preamble_start(lines, i), i)
        ):
            impl_class = py_names[m.group(1)]
            continue
        m = re.match(r"\s*pub (?:struct|enum) (\w+)", line)
        if m and m.group(1) in py_names:
            targets.append((i, (py_names[m.group(1)], "<class>")))
            continue
        m = re.match(r"\s*(?:pub(?:\(crate\))? )?fn (\w+)", line)
        if not m:
            continue
        attrs = [lines[k].strip() for k in range(_preamble_start(lines, i), i)]
        name = m.group(1)
        if impl_class is not None and line.startswith("    fn ") and "#[new]" not in attrs:
            if not name.startswith("_"):
                targets.append((i, (impl_class, name)))
        elif "#[pyfunction]" in attrs and not name.startswith("_"):
            targets.append((i, (None, name)))
    for i, key in reversed(targets):
        if key not in docs:
            raise SystemExit(f"{key}: documented nowhere in {STUB.name}")
        used.add(key)
        start = _preamble_start(lines, i)
        indent = re.match(r"\s*", lines[i]).group(0)  # type: ignore[union-attr]
        block = [ln for ln in lines[start:i] if not ln.lstrip().startswith("///")]
        lines[start:i] = _doc_lines(docs[key], indent) + block
    return "\n".join(lines)


def main() -> int:
    check = "--check" in sys.argv[1:]
    docs = stub_docs()
    used: set[Key] = set()
    changed = []
    for path in SOURCES:
        old = path.read_text(encoding="utf-8")
        new = sync_file(old, docs, used)
        if new != old:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(f"{'out of date' if check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
