"""Every Aster test runs in its own copy of the decimal context: ccxt (the oracle client) sets
the thread's context to ROUND_HALF_UP with Underflow trapped, which would otherwise leak into
the tests that run after it (a fee quantized half-even elsewhere would come out one unit up)."""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _own_decimal_context() -> Iterator[None]:
    with decimal.localcontext():
        yield
