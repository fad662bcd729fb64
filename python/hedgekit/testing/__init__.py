"""Test doubles for hedgekit and for bots built on it.

:mod:`hedgekit.testing.fakes` holds wire-level fake venues: servers on 127.0.0.1 that speak a
real venue's protocol closely enough that the venue's official client accepts them, backed by the
simulated venue's matching engine, with faults a test can switch on.
"""

__all__: list[str] = []
