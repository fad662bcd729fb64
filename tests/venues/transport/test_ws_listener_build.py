"""The compiled WebSocket listener is the one in use wherever the build makes it: a broken
Cython build must fail here, not fall back to the Python listener unnoticed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from hedgekit.venues.transport import ws


def _source_checkout_with_cython() -> bool:
    """Running from a source tree (the ``.pyx`` beside ``ws.py``, which the wheel does not
    carry) in an environment with Cython: what ``make build-prod`` compiles the listener in."""
    pyx = Path(ws.__file__).with_name("_wslistener.pyx")
    return pyx.exists() and importlib.util.find_spec("Cython") is not None


def test_the_compiled_listener_is_in_use_where_make_build_prod_builds_it() -> None:
    if os.environ.get(ws.PURE_PYTHON_ENV) == "1":
        assert ws.LISTENER_IMPL == "python" and ws._listener_class is ws._Listener
    elif _source_checkout_with_cython():
        assert ws.LISTENER_IMPL == "cython", (
            f"the compiled WebSocket listener is not in use ({ws._fallback_reason}): "
            "make build-prod (or python build_ext.py) should have built it"
        )
        assert ws._listener_class.__module__ == "hedgekit.venues.transport._wslistener"
    else:
        compiled = importlib.util.find_spec("hedgekit.venues.transport._wslistener") is not None
        assert ws.LISTENER_IMPL == ("cython" if compiled else "python")


def _impl_in_a_fresh_process(**env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c",
         "from hedgekit.venues.transport import ws; print(ws.LISTENER_IMPL)"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_the_environment_variable_forces_the_python_listener() -> None:
    assert _impl_in_a_fresh_process(**{ws.PURE_PYTHON_ENV: "1"}) == "python"
    assert _impl_in_a_fresh_process(**{ws.PURE_PYTHON_ENV: "0"}) == ws.LISTENER_IMPL or (
        os.environ.get(ws.PURE_PYTHON_ENV) == "1"
    )
