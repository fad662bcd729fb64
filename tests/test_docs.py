"""The compiled classes document themselves: ``help()``, ``inspect`` and pdoc see what the stub says.

PyO3 turns the ``///`` comments of the ``#[pyclass]``/``#[pymethods]``/``#[pyfunction]`` items of
``rust/hedgekit-py`` into ``__doc__``; those comments are copied from ``python/hedgekit/_core.pyi``
(the user-facing reference) by ``docs/api/sync_rust_docs.py``. These tests hold the two together.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hedgekit import _core

ROOT = Path(__file__).resolve().parent.parent
STUB = ROOT / "python" / "hedgekit" / "_core.pyi"


def _stub() -> ast.Module:
    return ast.parse(STUB.read_text(encoding="utf-8"))


def _params(fn: ast.FunctionDef) -> list[str]:
    """The stub's parameter names, without ``self``/``cls``."""
    a = fn.args
    names = [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]
    if a.vararg:
        names.append(a.vararg.arg)
    if a.kwarg:
        names.append(a.kwarg.arg)
    if names and names[0] in ("self", "cls") and not _is_static(fn):
        names = names[1:]
    return names


def _is_static(fn: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)


def _is_property(fn: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)


# PyO3's own exception class: its documentation is PyO3's, not ours.
NOT_OURS = {"PanicException"}


def _public(name: str) -> bool:
    return not name.startswith("_") and name not in NOT_OURS


def _callables() -> Iterator[tuple[str, Any, ast.FunctionDef]]:
    """(qualified name, runtime object, stub definition) of every public function and method."""
    for node in _stub().body:
        if isinstance(node, ast.FunctionDef) and _public(node.name):
            yield node.name, getattr(_core, node.name), node
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            cls = getattr(_core, node.name)
            for item in node.body:
                if not isinstance(item, ast.FunctionDef) or _is_property(item):
                    continue
                if item.name == "__new__":
                    yield node.name, cls, item  # the constructor: the class's own signature
                elif _public(item.name):
                    yield f"{node.name}.{item.name}", getattr(cls, item.name), item


def _documented() -> Iterator[tuple[str, Any, str | None]]:
    """(qualified name, runtime object, stub docstring) of every public class, method, property
    and function."""
    for node in _stub().body:
        if isinstance(node, ast.FunctionDef) and _public(node.name):
            yield node.name, getattr(_core, node.name), ast.get_docstring(node)
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            cls = getattr(_core, node.name)
            yield node.name, cls, ast.get_docstring(node)
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and _public(item.name):
                    attr = inspect.getattr_static(cls, item.name)
                    if isinstance(attr, staticmethod):
                        attr = attr.__func__
                    yield f"{node.name}.{item.name}", attr, ast.get_docstring(item)


DOCUMENTED = list(_documented())
CALLABLES = list(_callables())


def test_the_stub_covers_every_public_name_of_the_module() -> None:
    stubbed = {n.name for n in _stub().body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    runtime = {
        name
        for name, obj in vars(_core).items()
        if _public(name) and (inspect.isclass(obj) or callable(obj))
    }
    assert runtime <= stubbed, f"not in _core.pyi: {sorted(runtime - stubbed)}"


@pytest.mark.parametrize(("name", "obj", "stub_doc"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_runtime_docstring_matches_the_stub(name: str, obj: Any, stub_doc: str | None) -> None:
    assert stub_doc, f"{name}: no docstring in _core.pyi"
    runtime_doc = inspect.cleandoc(obj.__doc__ or "")
    assert runtime_doc, f"{name}: no __doc__ at run time"
    assert runtime_doc.splitlines()[0] == stub_doc.splitlines()[0], name
    # Word for word, not only the first line: run docs/api/sync_rust_docs.py after editing the stub.
    assert runtime_doc == stub_doc, f"{name}: run `python docs/api/sync_rust_docs.py` and rebuild"


@pytest.mark.parametrize(("name", "obj", "stub_fn"), CALLABLES, ids=[c[0] for c in CALLABLES])
def test_signature_matches_the_stub(name: str, obj: Any, stub_fn: ast.FunctionDef) -> None:
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    assert [p.name for p in params] == _params(stub_fn), name
    assert all(p.default is not Ellipsis for p in params), (
        f"{name}: a default shown as `...`: {sig}"
    )


def test_help_shows_the_signature_and_the_documentation() -> None:
    text = subprocess.run(
        [sys.executable, "-c", "import hedgekit; help(hedgekit.OrderBook)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PAGER": "cat", "TERM": "dumb"},
    ).stdout
    assert "OrderBook(venue='', symbol='')" in text
    assert "An L2 order book with exact prices and sizes" in text
    assert "apply_snapshot(self, /, bids, asks, ts_ns=0)" in text
    assert "Replaces the whole book" in text


def test_rust_doc_comments_are_in_sync_with_the_stub() -> None:
    sync = ROOT / "docs" / "api" / "sync_rust_docs.py"
    run = subprocess.run([sys.executable, str(sync), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
