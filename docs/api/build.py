"""Builds the HTML API reference with pdoc, offline, and fails on any warning.

    python docs/api/build.py [OUTPUT_DIR]      # default: target/docs

What it adds to a plain ``pdoc`` run (pdoc has no "warnings are errors" flag):

* every warning pdoc (or an import) emits while building is an error;
* the Sphinx roles of the docstrings (``:meth:`X```, ``:class:`~a.B```, ...) are rendered as
  code that pdoc links, and each one must resolve — against the documented object's class, its
  module, then as an absolute dotted path — or the build fails naming it;
* the members ``hedgekit`` re-exports from the compiled ``hedgekit._core`` take their
  signatures and types from ``python/hedgekit/_core.pyi`` (pdoc reads a stub only for the
  module it belongs to, and ``hedgekit._core`` is not a public module).
"""

from __future__ import annotations
import __future__

import importlib
import re
import shutil
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pdoc.doc
import pdoc.doc_pyi
import pdoc.docstrings
import pdoc.extract
import pdoc.render

ROOT = Path(__file__).resolve().parents[2]

# The public modules. ``hedgekit`` lists ``errors`` in ``__all__``, so pdoc adds it while walking
# ``hedgekit``; naming it again would be a (fatal) duplicate warning — it is checked below.
MODULES = [
    "hedgekit",
    "hedgekit.errors",
    "hedgekit.model",
    "hedgekit.clock",
    "hedgekit.runner",
    "hedgekit.execution",
    "hedgekit.tracking",
    "hedgekit.journal",
    "hedgekit.venues",
    "hedgekit.venues.connect",
    "hedgekit.venues.transport",
    "hedgekit.venues.numbers",
    "hedgekit.venues.hyperliquid",
    "hedgekit.venues.hyperliquid.check",
    "hedgekit.venues.aster",
    "hedgekit.venues.aster.check",
    "hedgekit.venues.lighter",
    "hedgekit.venues.lighter.check",
    "hedgekit.venues.ccxt",
    "hedgekit.secrets",
    "hedgekit.observability",
    "hedgekit.frontier",
    "hedgekit.risk",
    "hedgekit.risk.drift",
    "hedgekit.risk.funding_book",
    "hedgekit.risk.monitor",
    "hedgekit.strategies",
    "hedgekit.sweep",
    "hedgekit.simulate_risk",
    "hedgekit.testing",
    "hedgekit.testing.autoload",
    "hedgekit.testing.fakes",
    "hedgekit.testing.fakes.faults",
    "hedgekit.testing.fakes.server",
    "hedgekit.testing.fakes.threaded",
    "hedgekit.testing.fakes.engines",
    "hedgekit.testing.fakes.hyperliquid",
    "hedgekit.testing.fakes.aster",
    "hedgekit.testing.fakes.lighter",
    "hedgekit.testing.conformance",
    "hedgekit.testing.conformance.harness",
    "hedgekit.testing.conformance.wire",
    "hedgekit.testing.conformance.plugin",
    "hedgekit.testing.conformance.checks",
    "hedgekit.testing.conformance.sim",
    "hedgekit.testing.conformance.hyperliquid",
    "hedgekit.testing.conformance.aster",
    "hedgekit.testing.conformance.lighter",
    "hedgekit.testing.conformance.ccxt",
]
IMPLIED = {"hedgekit.errors"}  # walked in from hedgekit.__all__
CORE = "hedgekit._core"

ROLE = re.compile(r":(?:py:)?(?:meth|class|func|attr|exc|mod|data|obj|const):`~?([^`]+)`")


def _roles_to_markdown(docstring: str) -> str:
    """``:meth:`~a.B.c``` -> ```a.B.c``` (pdoc links identifiers in code)."""
    return ROLE.sub(lambda m: f"`{m.group(1)}`", docstring)


_convert = pdoc.docstrings.convert


def _convert_with_roles(docstring: str, docformat: str, source_file: Path | None) -> str:
    return _convert(_roles_to_markdown(docstring), docformat, source_file)


_include_stub = pdoc.doc_pyi.include_typeinfo_from_stub_files


def _include_stub_and_core(module: pdoc.doc.Module) -> None:
    """pdoc's own stub lookup, plus ``_core.pyi`` for the members taken from ``hedgekit._core``."""
    _include_stub(module)
    core = [m for m in module.members.values() if m.taken_from[0] == CORE]
    if not core or module.modulename == CORE:
        return
    stub_file = pdoc.doc_pyi.find_stub_file(CORE)
    if stub_file is None:
        warnings.warn(f"no stub file for {CORE}", stacklevel=2)
        return
    imported = _import_stub(stub_file)
    stub_mod = pdoc.doc.Module(imported)
    with mock.patch.dict("sys.modules", {CORE: imported}), warnings.catch_warnings():
        # An ``eq`` pyclass without ``hash`` has ``__hash__ = None``; the stub inherits object's.
        warnings.filterwarnings("ignore", r"Error processing type stub for hedgekit\.\w+\.__hash__")
        for member in core:
            if isinstance(member, pdoc.doc.Class):
                pdoc.doc_pyi._prepare_module(member)
            pdoc.doc_pyi._patch_doc(member, stub_mod)


def _import_stub(stub_file: Path) -> types.ModuleType:
    """Executes the stub as a module, its annotations postponed (a stub may name a class before
    defining it, which pdoc's own stub import would not survive)."""
    module = types.ModuleType(CORE)
    module.__file__ = str(stub_file)
    code = compile(
        stub_file.read_text(encoding="utf-8"),
        str(stub_file),
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    exec(code, module.__dict__)  # noqa: S102 - our own stub
    return module


def _public_members(ns: pdoc.doc.Namespace[Any]) -> Iterator[pdoc.doc.Doc[Any]]:
    names = getattr(ns.obj, "__all__", None) if isinstance(ns, pdoc.doc.Module) else None
    for name, member in ns.members.items():
        if names is not None:
            if name not in names:
                continue
        elif name.startswith("_") and name != "__init__":
            continue
        if not member.taken_from[0].startswith("hedgekit"):
            continue  # inherited from the standard library (Enum, Exception, ...)
        yield member
        if isinstance(member, pdoc.doc.Class):
            yield from _public_members(member)


def _lookup(base: Any, dotted: str) -> bool:
    obj = base
    for part in dotted.split("."):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif part in _annotations(obj):
            return dotted.endswith(part)  # a declared field: nothing further to look up
        else:
            return False
    return True


def _annotations(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for klass in reversed(getattr(obj, "__mro__", (obj,))):
        out.update(getattr(klass, "__annotations__", {}) or {})
    return out


def _absolute(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        return _lookup(module, ".".join(parts[i:])) if i < len(parts) else True
    return _lookup(__import__("builtins"), dotted)


def _resolves(ref: str, owner: pdoc.doc.Doc[Any], parent: Any | None) -> bool:
    bases: list[Any] = []
    if isinstance(owner, pdoc.doc.Class):
        bases.append(owner.obj)
    if parent is not None:
        bases.append(parent)
    defining = sys.modules.get(owner.taken_from[0])
    bases += [m for m in (defining, sys.modules.get(owner.modulename)) if m is not None]
    return any(_lookup(b, ref) for b in bases) or _absolute(ref)


def unresolved_references(modules: dict[str, pdoc.doc.Module]) -> list[str]:
    """The role references that name nothing. A reference that does not resolve from where it
    stands but names exactly one documented object of another public module by its qualified
    name (``VenueSession.add_fill_listener`` in ``hedgekit.observability``) is accepted."""
    elsewhere: dict[str, set[str]] = {}
    for module in modules.values():
        for member in _public_members(module):
            elsewhere.setdefault(member.qualname, set()).add(
                f"{member.taken_from[0]}.{member.taken_from[1]}"
            )
    problems = []
    for module in modules.values():
        docs: list[tuple[pdoc.doc.Doc[Any], Any | None]] = [(module, None)]
        for member in _public_members(module):
            parent_name = member.qualname.rpartition(".")[0]
            parent = module.get(parent_name) if parent_name else None
            docs.append((member, parent.obj if parent is not None else None))
        for doc, parent in docs:
            for ref in ROLE.findall(doc.docstring):
                if not _resolves(ref, doc, parent) and len(elsewhere.get(ref, ())) != 1:
                    problems.append(f"{doc.fullname}: unresolvable cross-reference {ref!r}")
    return sorted(set(problems))


def build(output: Path) -> list[str]:
    # ``hedgekit.Runner`` is loaded on first use (a module __getattr__, to keep ``import
    # hedgekit`` light); pdoc reads a module's members from its __dict__, so load it first.
    import hedgekit

    hedgekit.Runner  # noqa: B018
    pdoc.render.configure(docformat="google", search=True, show_source=False)
    with (
        mock.patch.object(pdoc.docstrings, "convert", _convert_with_roles),
        mock.patch.object(pdoc.doc_pyi, "include_typeinfo_from_stub_files", _include_stub_and_core),
    ):
        specs = [m for m in MODULES if m not in IMPLIED]
        names = pdoc.extract.walk_specs(specs)
        missing = set(MODULES) - set(names)
        extra = set(names) - set(MODULES)
        problems = [f"module not documented: {m}" for m in sorted(missing)]
        problems += [f"module documented but not public: {m}" for m in sorted(extra)]
        modules = {name: pdoc.doc.Module.from_name(name) for name in names}
        if output.exists():
            shutil.rmtree(output)
        for module in modules.values():
            out = output / f"{module.fullname.replace('.', '/')}.html"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(pdoc.render.html_module(module, modules), encoding="utf-8")
        (output / "index.html").write_text(pdoc.render.html_index(modules), encoding="utf-8")
        (output / "search.js").write_text(pdoc.render.search_index(modules), encoding="utf-8")
        return problems + unresolved_references(modules)


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "docs"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems = build(output)
    problems += [
        f"warning: {w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught
    ]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"docs: {len(problems)} problem(s); warnings are errors", file=sys.stderr)
        return 1
    print(f"docs: {len(modules_in(output))} pages in {output}")
    return 0


def modules_in(output: Path) -> list[Path]:
    return sorted(output.rglob("*.html"))


if __name__ == "__main__":
    sys.exit(main())
