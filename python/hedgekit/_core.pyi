"""Type stubs and Python-facing documentation of ``hedgekit._core`` (the Rust extension).

Numbers: APIs that take prices and sizes accept ``Decimal``, ``str`` or ``int`` and convert them
exactly (a ``float`` is refused unless the API's name says ``float``). Hot-path APIs named
``*_raw`` take and return raw fixed-point integers: ``raw == value * 10**SCALE`` exactly.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

SCALE: Final[int]
"""Decimal places of the raw fixed-point representation (9)."""
__version__: Final[str]

class PanicException(BaseException):
    """A Rust panic surfaced as a Python exception (a bug in hedgekit; never a process abort)."""

def _panic_for_tests() -> None: ...

# --- instrument (rules and rounding) ---
# --- end instrument ---

# --- book ---
# --- end book ---

# --- ledger ---
# --- end ledger ---

# --- pricing ---
# --- end pricing ---
