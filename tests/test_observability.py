"""Tests of hedgekit.observability: redacted structured logs, safe reprs and Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from hedgekit.errors import OrderRejectedError, PostOnlyRejectedError, VenueTimeoutError
from hedgekit.execution.results import (
    AtomicResult,
    CloseResult,
    CloseStatus,
    Incident,
    OpenStatus,
)
from hedgekit.model import Fill, Liquidity, Side
from hedgekit.observability import (
    JsonFormatter,
    KeyValueFormatter,
    Metrics,
    MetricsUnavailableError,
    RedactingFilter,
    configure_logging,
    is_secret_key,
    safe_repr,
    start_metrics_server,
)
from hedgekit.secrets import MASK, Secret

RAW = "sk-live-9f8e7d6c5b4a"
SECRET = Secret(RAW)


@pytest.fixture
def hk_logger() -> Iterator[logging.Logger]:
    """The "hedgekit" logger, restored (handlers, level, propagation) afterwards.

    Propagation stays on: pytest's capture handlers on the root logger then receive every record
    after the redacting handler, which is itself part of what is tested.
    """
    logger = logging.getLogger("hedgekit")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield logger
    for h in list(logger.handlers):
        if h not in handlers:
            logger.removeHandler(h)
    logger.setLevel(level)
    logger.propagate = propagate


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def _log_secret_every_way(logger: logging.Logger) -> None:
    raw = SECRET.reveal()
    logger.info("signing with %s", raw)  # message args
    logger.info("signing with %s", SECRET)  # the Secret object itself
    logger.info(f"request body: {{'key': '{raw}'}}")  # f-string into the message
    logger.info("configured", extra={"api_key": raw})  # secret-looking key
    logger.info("configured", extra={"apiKey": SECRET, "venue": "aster"})
    logger.info(
        "nested",
        extra={"config": {"venue": "hl", "auth": {"private_key": raw, "note": f"k={raw}"}}},
    )  # nested dict extra, by key and by value
    logger.info("list extra", extra={"payload": ["x", raw, {"token": "abcd-efgh"}]})
    logger.info("dict arg %s", {"secret": "hunter22", "other": raw})
    try:
        raise RuntimeError(f"auth failed for key {raw}")
    except RuntimeError:
        logger.exception("venue call failed")  # exception message containing it
    logger.info("with stack", stack_info=True, extra={"detail": f"raw={raw}"})


# ------------------------------------------------------------------------ redaction in logs


@pytest.mark.parametrize("as_json", [True, False])
def test_secret_never_appears_in_logs(hk_logger: logging.Logger, as_json: bool) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json=as_json, stream=stream)
    _log_secret_every_way(logging.getLogger("hedgekit.tracking"))
    out = stream.getvalue()
    assert RAW not in out
    assert "hunter22" not in out
    assert "abcd-efgh" not in out
    assert MASK in out
    assert "venue call failed" in out and "RuntimeError" in out  # the traceback is kept
    assert out.count("\n") >= 10


def test_json_fields_are_masked(hk_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    _log_secret_every_way(logging.getLogger("hedgekit.execution"))
    lines = _json_lines(stream)
    by_msg = {str(rec["message"]): rec for rec in lines}
    assert by_msg["signing with ***"]["logger"] == "hedgekit.execution"
    assert "request body: {'key': '***'}" in by_msg
    configured = [rec for rec in lines if rec["message"] == "configured"]
    assert configured[0]["api_key"] == MASK
    assert configured[1]["apiKey"] == MASK and configured[1]["venue"] == "aster"
    assert by_msg["nested"]["config"] == {
        "venue": "hl",
        "auth": {"private_key": MASK, "note": f"k={MASK}"},
    }
    assert by_msg["list extra"]["payload"] == ["x", MASK, {"token": MASK}]
    assert by_msg["dict arg {'secret': '***', 'other': '***'}"]["level"] == "INFO"
    failed = by_msg["venue call failed"]
    assert failed["level"] == "ERROR"
    assert "RuntimeError: auth failed for key ***" in str(failed["exception"])
    assert by_msg["with stack"]["detail"] == f"raw={MASK}"
    assert "Stack (most recent call last)" in str(by_msg["with stack"]["stack"])


def test_secret_registered_after_handler_install(hk_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    late = Secret("late-registered-value-42")
    logging.getLogger("hedgekit").warning("value %s", late.reveal())
    assert "late-registered-value-42" not in stream.getvalue()


def test_redaction_reaches_other_handlers(hk_logger: logging.Logger) -> None:
    """The filter cleans the record in place and its handler goes first, so a handler installed
    earlier on "hedgekit" and a parent logger's handler both see the record redacted."""
    earlier_stream = io.StringIO()
    earlier = logging.StreamHandler(earlier_stream)
    hk_logger.addHandler(earlier)
    parent_stream = io.StringIO()
    parent = logging.StreamHandler(parent_stream)
    root = logging.getLogger()
    root.addHandler(parent)
    try:
        configure_logging(stream=io.StringIO())
        logging.getLogger("hedgekit.x").error("leak %s", RAW, extra={"password": "pw-123456"})
    finally:
        root.removeHandler(parent)
        hk_logger.removeHandler(earlier)
    for out in (parent_stream.getvalue(), earlier_stream.getvalue()):
        assert RAW not in out
        assert "leak ***" in out


def test_public_filter_and_formatter_on_own_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("myapp.observability-test")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("user %s", RAW, extra={"token": "tok-abcdef", "n": 3, "amount": Decimal("1.5")})
    finally:
        logger.removeHandler(handler)
    (rec,) = _json_lines(stream)
    assert rec == {
        "ts": rec["ts"],
        "level": "INFO",
        "logger": "myapp.observability-test",
        "message": "user ***",
        "token": MASK,
        "n": 3,
        "amount": "1.5",
    }


def test_formatter_alone_still_masks_registered_values() -> None:
    record = logging.makeLogRecord(
        {"msg": "x %s", "args": (RAW,), "name": "a", "levelname": "INFO"}
    )
    assert RAW not in JsonFormatter().format(record)
    assert RAW not in KeyValueFormatter().format(record)


# ------------------------------------------------------------------------ format and handlers


def test_json_lines_shape(hk_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("hedgekit.tracking")
    log.debug("not shown")
    log.warning("mismatch on %s: %d", "BTC", 3, extra={"venue": "hl", "diff": Decimal("0.001")})
    (rec,) = _json_lines(stream)
    assert rec["level"] == "WARNING"
    assert rec["logger"] == "hedgekit.tracking"
    assert rec["message"] == "mismatch on BTC: 3"
    assert rec["venue"] == "hl" and rec["diff"] == "0.001"
    ts = str(rec["ts"])
    assert ts.endswith("Z") and len(ts) == len("2024-01-01T00:00:00.000Z")
    assert "exception" not in rec


def test_reserved_extra_names_do_not_clobber(hk_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    logging.getLogger("hedgekit").info("m", extra={"level": "custom", "ts": 1})
    (rec,) = _json_lines(stream)
    assert rec["level"] == "INFO" and rec["extra_level"] == "custom" and rec["extra_ts"] == 1


def test_key_value_format(hk_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=False, stream=stream)
    logging.getLogger("hedgekit.cli").info(
        "placed", extra={"venue": "aster", "note": "two words", "size": 2}
    )
    line = stream.getvalue().strip()
    assert " INFO hedgekit.cli placed " in line
    assert 'venue=aster note="two words" size=2' in line


def test_configure_twice_installs_one_handler(hk_logger: logging.Logger) -> None:
    before = len(hk_logger.handlers)
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    handler = configure_logging("DEBUG", json=False, stream=second)
    assert len(hk_logger.handlers) == before + 1
    assert handler in hk_logger.handlers
    assert hk_logger.level == logging.DEBUG
    logging.getLogger("hedgekit").debug("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_configure_rejects_unknown_level(hk_logger: logging.Logger) -> None:
    with pytest.raises(ValueError):
        configure_logging("LOUD", stream=io.StringIO())


def test_bad_format_string_is_not_lost(hk_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    logging.getLogger("hedgekit").info("%d items", RAW)
    out = stream.getvalue()
    assert "unformattable" in out and RAW not in out


# -------------------------------------------------------------------------------- reprs


@dataclass
class _VenueConfig:
    venue: str
    api_key: Secret


def test_reprs_never_show_the_value() -> None:
    cfg = _VenueConfig("aster", SECRET)
    for text in (repr(SECRET), str(SECRET), repr(cfg), str(cfg), f"{cfg}", safe_repr(cfg)):
        assert RAW not in text
        assert MASK in text
    assert safe_repr({"k": RAW}) == "{'k': '***'}"
    assert safe_repr(["plain"]) == "['plain']"


def test_safe_repr_survives_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert safe_repr(Broken()) == "<Broken: repr failed>"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("apiKey", True),
        ("X-MBX-APIKEY", True),
        ("private_key", True),
        ("PASSWORD", True),
        ("auth_token", True),
        ("secret", True),
        ("key", True),
        ("monkey", False),
        ("keyboard", False),
        ("venue", False),
        (3, False),
    ],
)
def test_is_secret_key(key: object, secret: bool) -> None:
    assert is_secret_key(key) is secret


# ------------------------------------------------------------------------------ metrics


def _fill(venue: str, side: Side, size: str, price: str, liq: Liquidity, tid: int) -> Fill:
    return Fill(
        venue=venue,
        symbol="BTC",
        client_id=f"hk-{tid}",
        venue_order_id=str(tid),
        trade_id=tid,
        side=side,
        price=Decimal(price),
        size=Decimal(size),
        fee=Decimal(0),
        liquidity=liq,
        ts_ns=tid,
    )


def _open(status: OpenStatus, latency_ns: int | None, exposure: float) -> AtomicResult:
    return AtomicResult(
        status=status,
        reason=None,
        requested=Decimal(1),
        size=Decimal(1),
        legs=(),
        hedge_latency_ns=latency_ns,
        exposure_usd_s=exposure,
        incidents=(Incident(0, "hedge", "hl", "hedged"),),
    )


def _close(status: CloseStatus) -> CloseResult:
    return CloseResult(
        status=status,
        reason=None,
        positions_before={},
        positions_after={},
        legs=(),
        phase="passive",
        exposure_usd_s=2.0,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert resp.status == 200
        return str(resp.read().decode())


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in scrape:\n{text}")


def _feed(metrics: Metrics) -> None:
    metrics.observe_result(_open(OpenStatus.OPENED, 4_000_000, 12.5))  # 4 ms, 12.5 USD*s
    metrics.observe_result(_open(OpenStatus.OPENED, 2_000_000_000, 300.0))  # 2 s
    metrics.observe_result(_open(OpenStatus.NOT_FILLED, None, 0.0))
    metrics.observe_result(_close(CloseStatus.CLOSED))
    on_hl = metrics.fill_listener("hl", asset="BTC")
    on_aster = metrics.fill_listener("aster", asset="BTC")
    order = None  # the listener ignores the order snapshot
    on_hl(_fill("hl", Side.BUY, "0.5", "60000", Liquidity.MAKER, 1), order)  # type: ignore[arg-type]
    on_aster(_fill("aster", Side.SELL, "0.2", "60010", Liquidity.TAKER, 2), order)  # type: ignore[arg-type]
    metrics.observe_rejection("hl", "post_only")
    metrics.observe_error(PostOnlyRejectedError("hl", "would cross"))
    metrics.observe_error(OrderRejectedError("aster", "too small", -4164, reason="min_notional"))
    metrics.observe_error(VenueTimeoutError("aster", "no answer"))
    metrics.observe_error(ValueError("not a venue error"))  # ignored


def test_metrics_served_and_scraped() -> None:
    port = _free_port()
    metrics = start_metrics_server(port)
    try:
        assert metrics.port == port
        _feed(metrics)
        text = _scrape(port)
    finally:
        metrics.close()
    assert _value(text, 'hedgekit_operations_total{kind="open",status="opened"}') == 2
    assert _value(text, 'hedgekit_operations_total{kind="open",status="not_filled"}') == 1
    assert _value(text, 'hedgekit_operations_total{kind="close",status="closed"}') == 1
    assert _value(text, 'hedgekit_incidents_total{kind="hedge"}') == 3
    assert _value(text, 'hedgekit_fills_total{liquidity="maker",venue="hl"}') == 1
    assert _value(text, 'hedgekit_fills_total{liquidity="taker",venue="aster"}') == 1
    assert _value(text, 'hedgekit_fill_notional_total{venue="hl"}') == 30000
    assert _value(text, 'hedgekit_rejections_total{reason="post_only",venue="hl"}') == 2
    assert _value(text, 'hedgekit_rejections_total{reason="min_notional",venue="aster"}') == 1
    assert _value(text, 'hedgekit_venue_errors_total{error="VenueTimeoutError",venue="aster"}') == 1
    # hedge latency: 4 ms and 2 s (the not-filled open has none)
    assert _value(text, "hedgekit_hedge_latency_seconds_count") == 2
    assert _value(text, "hedgekit_hedge_latency_seconds_sum") == pytest.approx(2.004)
    assert _value(text, 'hedgekit_hedge_latency_seconds_bucket{le="0.001"}') == 0
    assert _value(text, 'hedgekit_hedge_latency_seconds_bucket{le="0.005"}') == 1
    assert _value(text, 'hedgekit_hedge_latency_seconds_bucket{le="2.5"}') == 2
    assert _value(text, 'hedgekit_hedge_latency_seconds_bucket{le="30.0"}') == 2
    assert _value(text, 'hedgekit_exposure_usd_seconds_count{kind="open"}') == 3
    assert _value(text, 'hedgekit_exposure_usd_seconds_sum{kind="open"}') == 312.5
    assert _value(text, 'hedgekit_exposure_usd_seconds_bucket{kind="open",le="100.0"}') == 2
    assert _value(text, 'hedgekit_exposure_usd_seconds_sum{kind="close"}') == 2.0
    # net +0.5 - 0.2 = 0.3 BTC, valued at the last fill price 60010
    assert _value(text, 'hedgekit_unhedged_exposure_usd{asset="BTC"}') == pytest.approx(18003)
    # the port is free again
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    metrics.close()  # idempotent
    assert metrics.port is None


def test_exposure_gauge_returns_to_zero_when_hedged() -> None:
    metrics = Metrics()
    metrics.observe_fill(_fill("hl", Side.BUY, "1", "100", Liquidity.MAKER, 1), asset="ETH")
    assert _value(metrics.render().decode(), 'hedgekit_unhedged_exposure_usd{asset="ETH"}') == 100
    metrics.observe_fill(_fill("aster", Side.SELL, "1", "101", Liquidity.TAKER, 2), asset="ETH")
    assert _value(metrics.render().decode(), 'hedgekit_unhedged_exposure_usd{asset="ETH"}') == 0
    metrics.observe_fill(_fill("aster", Side.SELL, "2", "101", Liquidity.TAKER, 3), asset="ETH")
    metrics.reset_exposure()
    assert _value(metrics.render().decode(), 'hedgekit_unhedged_exposure_usd{asset="ETH"}') == 0


def test_fill_listener_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    listener = metrics.fill_listener("hl")
    with caplog.at_level(logging.WARNING, logger="hedgekit.observability"):
        listener("not a fill", None)  # type: ignore[arg-type]
    assert "not recorded" in caplog.text


def test_each_metrics_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.observe_rejection("hl", "other")
    assert 'hedgekit_rejections_total{reason="other",venue="hl"} 1.0' in a.render().decode()
    assert "venue=" not in b.render().decode()


def test_observe_result_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        Metrics().observe_result("opened")  # type: ignore[arg-type]


def test_server_on_ephemeral_port_and_double_serve() -> None:
    with start_metrics_server(0) as metrics:
        port = metrics.port
        assert port
        assert "hedgekit_operations_total" in _scrape(port)
        with pytest.raises(RuntimeError):
            metrics.serve(0)
    assert metrics.port is None


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_server_on_ipv6_loopback() -> None:
    """prometheus-client's server picks the address family from the address."""
    with start_metrics_server(0, addr="::1") as metrics:
        assert metrics.port
        with urllib.request.urlopen(f"http://[::1]:{metrics.port}/metrics", timeout=5) as resp:
            assert "hedgekit_operations_total" in resp.read().decode()
    assert metrics.port is None


def test_port_in_use_raises() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(OSError):
            start_metrics_server(int(s.getsockname()[1]))


def test_missing_prometheus_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MetricsUnavailableError, match="pip install prometheus-client"):
        Metrics()
    assert issubclass(MetricsUnavailableError, ImportError)
