"""The ccxt tests: run by ``make test-ccxt`` in the ccxt environment (``.venv-ccxt``), because
ccxt pins a urllib3 that the Lighter SDK of the main environment cannot share.

ccxt is imported here, not guarded: run in an environment without it, this folder fails at once
instead of passing by skipping. Every test runs in its own copy of the decimal context: ccxt sets
the thread's context to ROUND_HALF_UP with Underflow trapped, which would otherwise leak into the
tests that run after it.
"""

from __future__ import annotations

import decimal
import sys
from collections.abc import Iterator
from pathlib import Path

import ccxt  # noqa: F401  (the environment is the point: no ccxt, no run)
import pytest

# the Aster fake's test kit (keys, signing helpers) lives beside the Aster tests
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "venues" / "aster"))


@pytest.fixture(autouse=True)
def _own_decimal_context() -> Iterator[None]:
    with decimal.localcontext():
        yield
