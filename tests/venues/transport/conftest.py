"""The WebSocket client's tests run against both listeners: the compiled one
(``_wslistener.pyx``, what ``make build-prod`` builds and the wheel ships) and the Python
fallback. A compiled listener that is not built fails its half of the tests; it is never
skipped."""

from __future__ import annotations

import pytest

from hedgekit.venues.transport import ws


@pytest.fixture(params=["python", "cython"])
def listener(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[object]:
    """Makes every :class:`WsClient` of the test read its frames with one listener; returns
    that listener's class."""
    cls: type[object]
    if request.param == "cython":
        try:
            from hedgekit.venues.transport._wslistener import Listener
        except ImportError as exc:
            pytest.fail(f"the compiled WebSocket listener is not built ({exc}): make build-prod")
        cls = Listener
    else:
        cls = ws._Listener
    monkeypatch.setattr(ws, "_listener_class", cls)
    monkeypatch.setattr(ws, "LISTENER_IMPL", request.param)
    return cls
