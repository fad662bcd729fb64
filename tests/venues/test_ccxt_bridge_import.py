"""The ccxt bridge where ccxt is not installed: the module imports (the docs build and the
harness module need it to), and making an exchange says which extra is missing, in one line."""

from __future__ import annotations

import sys

import pytest

from hedgekit.venues.ccxt import CcxtVenue, errors


def test_without_ccxt_the_bridge_imports_and_names_the_extra_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ccxt", "ccxt.pro", "ccxt.async_support"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(ImportError) as info:
        CcxtVenue("hyperliquid")
    assert str(info.value) == "the ccxt bridge needs ccxt: pip install 'hedgekit[ccxt]'"
    # the mapping needs no ccxt: it reads exception classes by name
    assert errors.map_error("x", KeyError("not ccxt's")) is None
