"""Errors: every intended error is a HedgekitError; a Rust panic is an exception, not an abort."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hedgekit
from hedgekit import _core, errors


def test_value_errors_are_also_value_errors() -> None:
    for cls in (errors.ConversionError, errors.InvalidOrderError, errors.ParseError):
        assert issubclass(cls, errors.HedgekitError) and issubclass(cls, ValueError)
    assert issubclass(errors.InexactError, errors.ConversionError)
    assert issubclass(errors.BookIntegrityError, errors.HedgekitError)


def test_a_rust_panic_surfaces_as_an_exception_and_python_goes_on() -> None:
    with pytest.raises(errors.RustPanic, match="deliberate panic"):
        _core._panic_for_tests()
    # the interpreter and the extension still work afterwards
    assert hedgekit.Instrument.plain("0.01", "1").round_price("1.005", "buy") == 1


def test_release_build_keeps_unwinding_in_a_fresh_process() -> None:
    code = (
        "from hedgekit import _core, errors\n"
        "try:\n    _core._panic_for_tests()\n"
        "except errors.RustPanic:\n    print('survived')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0 and "survived" in out.stdout
