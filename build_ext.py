"""Compiles the Cython WebSocket listener in place, next to the Python one.

    python build_ext.py

``python/hedgekit/venues/transport/_wslistener.pyx`` → ``_wslistener.<ext suffix>`` beside
``ws.py`` (``make build-prod``, ``make build-dev`` and ``make wheel`` run it after maturin, which
compiles only the Rust extension). Build-time needs: Cython ≥ 3.1, setuptools, a C compiler and
picows (its ``picows.pxd`` is cimported, so the module is tied to that picows minor version and
to this interpreter's CPython version). The generated C and the object files go under
``target/cython``. Without this step ``hedgekit.venues.transport.ws`` uses its Python listener.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PYX = ROOT / "python" / "hedgekit" / "venues" / "transport" / "_wslistener.pyx"
BUILD = ROOT / "target" / "cython"


def main() -> int:
    try:
        import picows
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext
    except ImportError as exc:
        print(f"build_ext.py: {exc}; the Python WebSocket listener is used", file=sys.stderr)
        return 1
    site = Path(picows.__file__).resolve().parent.parent  # where picows/picows.pxd is found
    ext = Extension(
        "hedgekit.venues.transport._wslistener",
        [str(PYX.relative_to(ROOT))],
        include_dirs=[str(site)],
        extra_compile_args=["-g0"],  # the interpreter's own flags (-O3) otherwise
        extra_link_args=["-s"],
    )
    modules = cythonize(
        [ext],
        build_dir=str(BUILD.relative_to(ROOT)),
        include_path=[str(site)],
        compiler_directives={"language_level": 3},
        quiet=True,
    )
    dist = Distribution({"ext_modules": modules, "package_dir": {"": "python"}})
    cmd = build_ext(dist)
    cmd.inplace = True
    cmd.build_temp = str(BUILD / "tmp")
    cmd.build_lib = str(BUILD / "lib")  # inplace: built here, then copied beside ws.py
    cmd.ensure_finalized()
    cmd.run()
    return 0


if __name__ == "__main__":
    import os

    os.chdir(ROOT)
    sys.exit(main())
