"""Shared test configuration: hypothesis profiles chosen by HYPOTHESIS_PROFILE (dev, ci, thorough)."""

from __future__ import annotations

import importlib.util
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# tests/ccxt needs ccxt, which cannot share an environment with the Lighter SDK (urllib3 pins):
# `make test-ccxt` runs that folder in the ccxt environment; elsewhere it is not collected.
# (This folder on sys.path makes `ccxt` a namespace package here, with no origin: not ccxt.)
_ccxt = importlib.util.find_spec("ccxt")
if _ccxt is None or _ccxt.origin is None:
    collect_ignore = ["ccxt"]
