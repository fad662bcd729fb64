"""Alert hooks: callbacks, a webhook on a local HTTP server, failures contained, secrets masked."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk import Alert, AlertHub, AlertKind

LOGGER = "hedgekit.risk.alerts"


def alert(
    kind: AlertKind = "naked_leg", message: str = "long leg filled, short leg not", ts: int = 1
) -> Alert:
    return Alert(
        kind,
        "BTC/hl-aster",
        ("hyperliquid", "aster"),
        {"size": D("0.5"), "notional": D("30000.25")},
        message,
        ts,
    )


@dataclass
class Server:
    url: str
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    mode: str = "ok"  # ok | error | slow | redirect
    got: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.bodies.append(body)
            state.headers.append(dict(self.headers.items()))
            state.paths.append(self.path)
            if state.mode == "slow":
                time.sleep(0.6)
            code = {"ok": 200, "error": 500, "slow": 200, "redirect": 302}[state.mode]
            self.send_response(code)
            if code == 302:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            state.got.set()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def run(coro: object) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(10):
            await coro  # type: ignore[misc]

    asyncio.run(bounded())


# --------------------------------------------------------------------------------- alerts


def test_alert_is_validated_and_serialised() -> None:
    a = alert(message="api_key=SEKRETVALUE1234 leaked")
    data = json.loads(a.to_json())
    assert data["amounts"] == {"size": "0.5", "notional": "30000.25"}
    assert data["venues"] == ["hyperliquid", "aster"] and data["kind"] == "naked_leg"
    assert "SEKRETVALUE1234" not in a.to_json().decode()
    with pytest.raises(InvalidArgumentError, match="alert kind must be one of"):
        alert(kind="margin_call")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="floats are inexact"):
        Alert("drift", "p", ("a",), {"x": 1.5}, "m", 0)  # type: ignore[dict-item]
    with pytest.raises(InvalidArgumentError, match="ts_ns must be an int"):
        Alert("drift", "p", ("a",), {}, "m", 1.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- callbacks


def test_sync_and_async_callbacks_in_order_and_failures_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def sync_cb(a: Alert) -> None:
        seen.append(f"sync:{a.ts_ns}")

    async def async_cb(a: Alert) -> None:
        await asyncio.sleep(0)
        seen.append(f"async:{a.ts_ns}")

    def broken(a: Alert) -> None:
        raise RuntimeError("hook down, password=hunter2hunter2")

    async def main() -> None:
        hub = AlertHub()
        hub.add(sync_cb)
        hub.add(broken)
        hub.add(async_cb)
        assert hub.emit(alert(ts=1)) and hub.emit(alert(ts=2))  # returns at once
        await hub.drain()
        await hub.close()
        assert hub.failed == 2
        assert not hub.emit(alert(ts=3))  # closed

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert seen == ["sync:1", "async:1", "sync:2", "async:2"]
    assert "hook down" in caplog.text and "hunter2hunter2" not in caplog.text


def test_a_slow_async_callback_is_cut_at_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    async def slow(a: Alert) -> None:
        await asyncio.sleep(30)

    async def main() -> None:
        hub = AlertHub(timeout_s=0.05)
        hub.add(slow)
        hub.emit(alert())
        await hub.drain()
        assert hub.failed == 1
        await hub.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert "TimeoutError" in caplog.text


def test_full_queue_drops_the_oldest(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    async def main() -> None:
        hub = AlertHub(max_queue=2)
        hub.add(lambda a: seen.append(a.ts_ns))
        for ts in range(5):  # no await between: the task has not run yet
            hub.emit(alert(ts=ts))
        assert hub.dropped == 3
        await hub.drain()
        await hub.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert seen == [3, 4]
    assert "dropped the oldest" in caplog.text


def test_close_cancels_the_task_and_is_idempotent() -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def blocker(a: Alert) -> None:
            started.set()
            await asyncio.sleep(30)

        hub = AlertHub(timeout_s=60)
        hub.add(blocker)
        hub.emit(alert())
        await started.wait()
        task = hub._task
        await hub.close()
        await hub.close()
        assert task is not None and task.cancelled()

    run(main())


def test_emit_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        AlertHub().emit(alert())


# --------------------------------------------------------------------------------- webhook


def test_webhook_posts_json(server: Server) -> None:
    async def main() -> None:
        async with AlertHub(server.url + "/hooks/T0KEN-in-path") as hub:
            hub.emit(alert())
        assert hub.posted == 1 and hub.failed == 0

    run(main())
    (body,) = server.bodies
    data = json.loads(body)
    assert data["kind"] == "naked_leg" and data["amounts"]["notional"] == "30000.25"
    assert server.headers[0]["Content-Type"] == "application/json"
    assert server.paths == ["/hooks/T0KEN-in-path"]


def test_webhook_failures_are_logged_not_raised(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "error"

    async def main() -> None:
        hub = AlertHub(server.url + "/hook?token=q5ecretQueryTok")
        hub.emit(alert())
        await hub.drain()
        assert hub.failed == 1 and hub.posted == 0
        await hub.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert "HTTP 500" in caplog.text
    assert "q5ecretQueryTok" not in caplog.text


def test_webhook_redirect_is_a_failure(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    server.mode = "redirect"

    async def main() -> None:
        hub = AlertHub(server.url + "/hook")
        hub.emit(alert())
        await hub.drain()
        assert hub.failed == 1
        await hub.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert "HTTP 302" in caplog.text and len(server.bodies) == 1


def test_webhook_timeout_does_not_block_the_loop(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "slow"
    ticks: list[float] = []

    async def main() -> None:
        hub = AlertHub(server.url + "/hook", timeout_s=0.2)
        hub.emit(alert())
        t0 = time.monotonic()
        while hub.failed == 0 and time.monotonic() - t0 < 5:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)
        await hub.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert len(ticks) > 5  # the loop kept running while the request waited
    assert "alert webhook" in caplog.text and "timed out" in caplog.text


def test_unreachable_webhook_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        hub = AlertHub("http://127.0.0.1:9/hook", timeout_s=1)  # discard port: refused
        hub.emit(alert())
        await hub.drain()
        assert hub.failed == 1
        await hub.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(main())
    assert "alert webhook http://127.0.0.1:9/*** failed" in caplog.text


def test_url_secrets_never_reach_reprs_or_logs(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    host = server.url.removeprefix("http://")
    url = f"http://hookuser:PaSsW0rd-xyz@{host}/services/PATHTOKEN42?sig=QuErYs1gnature"
    secrets = ["PaSsW0rd-xyz", "PATHTOKEN42", "QuErYs1gnature", "hookuser"]
    server.mode = "error"

    async def main() -> None:
        hub = AlertHub(url)
        text = repr(hub) + str(hub) + str(hub.webhook)
        assert hub.webhook == f"http://{host}/***?***"
        for s in secrets:
            assert s not in text
        hub.emit(alert())
        await hub.drain()
        await hub.close()

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        run(main())
    for s in secrets:
        assert s not in caplog.text
    # the credentials went as Basic authorisation, the token in the path as given
    auth = server.headers[0]["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"hookuser:PaSsW0rd-xyz"
    assert server.paths == ["/services/PATHTOKEN42?sig=QuErYs1gnature"]


def test_bad_webhook_urls_are_refused_without_echoing_them() -> None:
    with pytest.raises(InvalidArgumentError, match="http\\(s\\) URL") as exc:
        AlertHub("ftp://u:TopSecretPw@host/x")
    assert "TopSecretPw" not in str(exc.value)
    with pytest.raises(InvalidArgumentError, match="timeout_s must be a positive number"):
        AlertHub(timeout_s=0)
    with pytest.raises(InvalidArgumentError, match="max_queue must be a positive int"):
        AlertHub(max_queue=0)
