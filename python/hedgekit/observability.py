"""Observability for hedgekit: structured, redacted logs and Prometheus metrics.

Logs
    :func:`configure_logging` installs one handler on the ``"hedgekit"`` logger (every hedgekit
    module logs below it, e.g. ``"hedgekit.tracking"``). It writes one JSON object per line
    (:class:`JsonFormatter`) or a readable ``key=value`` line (:class:`KeyValueFormatter`), and
    every record first passes through :class:`RedactingFilter`, which masks secrets with
    :func:`hedgekit.secrets.redact` (registered values, ``api_key=…``/``"apiSecret": "…"``,
    bearer tokens, URL passwords, private keys) in the message, its arguments, ``extra=`` fields
    and exception text, and the values of secret-looking keys (:func:`is_secret_key`:
    ``api_key``, ``password``, ``token``, ...) in ``extra=`` fields and dict arguments. The
    filter and the formatters are public, to attach to handlers of your own.

Metrics
    :class:`Metrics` holds hedgekit's Prometheus series in a registry of its own (two instances
    never collide). Feed it executor results (:meth:`Metrics.observe_result`), fills
    (:meth:`Metrics.fill_listener`, given to
    :meth:`hedgekit.tracking.VenueSession.add_fill_listener`) and rejections
    (:meth:`Metrics.observe_rejection`, :meth:`Metrics.observe_error`). Every label value passes
    through :func:`hedgekit.secrets.redact` (a venue's rejection reason is its text).
    :func:`start_metrics_server` also serves ``/metrics`` over HTTP from a daemon thread (the event
    loop is never blocked) with ``prometheus_client``'s own server
    (:func:`prometheus_client.start_http_server`); ``close()`` stops it and frees the port. Metrics need the
    ``prometheus-client`` package; without it :class:`Metrics` raises
    :class:`MetricsUnavailableError` (an :class:`ImportError`).

Reprs
    :func:`safe_repr` is ``repr`` with secrets masked (:func:`hedgekit.secrets.redact`).

:func:`is_secret_key` is :func:`hedgekit.secrets.is_secret_key`, re-exported: the one definition
of a secret-looking key lives in :mod:`hedgekit.secrets`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json as _json
import logging
import re
import sys
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Final, Self

from hedgekit.errors import OrderRejectedError, VenueError
from hedgekit.execution.results import AtomicResult, CloseResult
from hedgekit.model import Fill
from hedgekit.secrets import MASK, Secret, is_secret_key, redact

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    from hedgekit.tracking.orders import TrackedOrder

__all__ = [
    "EXPOSURE_BUCKETS",
    "HEDGE_LATENCY_BUCKETS",
    "JsonFormatter",
    "KeyValueFormatter",
    "Metrics",
    "MetricsUnavailableError",
    "RedactingFilter",
    "configure_logging",
    "is_secret_key",
    "safe_repr",
    "start_metrics_server",
]

_log = logging.getLogger("hedgekit.observability")

# --------------------------------------------------------------------------------- redaction

_MAX_DEPTH: Final = 12


def _clean(value: Any, depth: int = 0) -> Any:
    """A JSON-friendly copy of ``value`` with secrets masked (by value and by key)."""
    if isinstance(value, Secret):
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, enum.Enum):
        return _clean(value.value, depth + 1)
    if isinstance(value, Decimal):
        return str(value)
    if depth >= _MAX_DEPTH:
        return safe_repr(value)
    if isinstance(value, Mapping):
        return {
            redact(str(k)): (MASK if is_secret_key(k) and v is not None else _clean(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v, depth + 1) for v in value]
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break logging
        text = f"<{type(value).__name__}>"
    return redact(text)


def _clean_arg(value: Any) -> Any:
    """A %-format argument with secrets masked, keeping numbers as numbers (``%d`` works)."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return _clean(value)
    return value


_STANDARD_ATTRS: Final = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record (its non-standard attributes)."""
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _STANDARD_ATTRS and not k.startswith("_")
    }


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in a record, in place, and always lets it through.

    It masks, with :func:`hedgekit.secrets.redact`, every value registered with
    :class:`hedgekit.secrets.Secret` (and any ``Secret`` object) and every secret written in
    text (``api_key=…``, ``Bearer …``, a URL password, ...) in the rendered message
    (``%``-arguments and f-strings alike), in ``extra=`` fields (nested dicts and lists too) and
    in the exception and stack text; values under a key that
    :func:`is_secret_key` recognises are replaced by ``***`` whatever they are. After it, the
    record's ``msg`` is the final, redacted message and ``args`` is empty, so any formatter (and
    handlers further up the logger tree) sees only redacted data.

    Attach it to a *handler* (``handler.addFilter(RedactingFilter())``): a filter on a logger
    does not see records from its child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacts ``record`` in place.

        Args:
            record: The record to clean.

        Returns:
            Always True (the record is kept).
        """
        args = record.args
        if args:
            if isinstance(args, Mapping):
                record.args = _clean(args)
            else:
                record.args = tuple(_clean_arg(a) for a in args)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} (unformattable, args {record.args!r})"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in _extras(record).items():
            setattr(
                record, key, MASK if is_secret_key(key) and value is not None else _clean(value)
            )
        return True


# --------------------------------------------------------------------------------- formatters


def _iso_ts(created: float) -> str:
    """``created`` (epoch seconds) as ISO-8601 UTC with milliseconds: ``2024-05-01T12:00:00.123Z``."""
    ts = _dt.datetime.fromtimestamp(created, tz=_dt.UTC)
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


_BASE_KEYS: Final = ("ts", "level", "logger", "message", "exception", "stack")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line.

    Keys: ``ts`` (ISO-8601 UTC with milliseconds, ``Z`` suffix), ``level``, ``logger``,
    ``message``, then every ``extra=`` field, then ``exception`` (the formatted traceback) and
    ``stack`` when present. An extra field whose name collides with one of those keys is written
    as ``extra_<name>``. Values JSON cannot hold (``Decimal``, objects) are written as strings.
    As a last line of defence every field is redacted before it is serialised (registered
    values, text patterns and secret-looking keys, as :class:`RedactingFilter` does): redacting
    the fields rather than the finished text keeps every line valid JSON whatever the message
    holds.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Renders ``record``.

        Args:
            record: The record.

        Returns:
            One line of JSON, without the trailing newline.
        """
        out: dict[str, Any] = {
            "ts": _iso_ts(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            out[f"extra_{key}" if key in _BASE_KEYS else key] = value
        exc = _exception_text(self, record)
        if exc:
            out["exception"] = exc
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return _json.dumps(_clean(out), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return list(value)
    return redact(str(value))


_NEEDS_QUOTES = re.compile(r'[\s="\\]')


def _kv_value(value: Any) -> str:
    if isinstance(value, str):
        return (
            _json.dumps(value, ensure_ascii=False)
            if _NEEDS_QUOTES.search(value) or not value
            else value
        )
    if value is None or isinstance(value, bool | int | float):
        return _json.dumps(value)
    return _json.dumps(value, ensure_ascii=False, default=_json_default)


class KeyValueFormatter(logging.Formatter):
    """Formats a record as a readable line: ``<ts> <LEVEL> <logger> <message> key=value ...``.

    Values containing spaces, ``=`` or quotes are JSON-quoted; dicts and lists are written as
    JSON. The exception traceback, if any, follows on the next lines. The finished text is passed
    through :func:`hedgekit.secrets.redact`.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Renders ``record``.

        Args:
            record: The record.

        Returns:
            The line (plus traceback lines when the record carries an exception).
        """
        parts = [_iso_ts(record.created), record.levelname, record.name, record.getMessage()]
        parts.extend(f"{k}={_kv_value(v)}" for k, v in _extras(record).items())
        text = " ".join(parts)
        exc = _exception_text(self, record)
        if exc:
            text = f"{text}\n{exc}"
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}"
        return redact(text)


_HANDLER_MARK: Final = "_hedgekit_observability_handler"


def configure_logging(
    level: int | str = "INFO", *, json: bool = True, stream: IO[str] | None = None
) -> logging.Handler:
    """Sends hedgekit's logs to ``stream``, one redacted line per record.

    Installs a :class:`logging.StreamHandler` on the ``"hedgekit"`` logger with a
    :class:`RedactingFilter` and a :class:`JsonFormatter` (or :class:`KeyValueFormatter` with
    ``json=False``), and sets that logger's level. Calling it again replaces the handler it
    installed before (never two). The handler is placed first on the logger and its filter
    redacts records in place, so other handlers on ``"hedgekit"`` and, through propagation (left
    as it is), the root logger's handlers receive the redacted record too. Handlers attached to
    child loggers (``"hedgekit.tracking"``) run before it and are not covered: give them a
    :class:`RedactingFilter` of their own.

    Args:
        level: The ``"hedgekit"`` logger's level (a name such as ``"DEBUG"`` or a number).
        json: One JSON object per line (True) or ``key=value`` text (False).
        stream: Where to write (default ``sys.stderr``).

    Returns:
        The installed handler (for example to remove it again with ``removeHandler``).

    Raises:
        ValueError: An unknown level name.
    """
    logger = logging.getLogger("hedgekit")
    for old in list(logger.handlers):
        if getattr(old, _HANDLER_MARK, False):
            logger.removeHandler(old)
            old.close()
    handler: logging.StreamHandler[IO[str]] = logging.StreamHandler(
        stream if stream is not None else sys.stderr
    )
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json else KeyValueFormatter())
    setattr(handler, _HANDLER_MARK, True)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    # Ours goes first, so handlers already on this logger also see redacted records.
    others = list(logger.handlers)
    for h in others:
        logger.removeHandler(h)
    for h in (handler, *others):
        logger.addHandler(h)
    return handler


def safe_repr(obj: object) -> str:
    """``repr(obj)`` with every secret masked (see :func:`hedgekit.secrets.redact`).

    Args:
        obj: Anything.

    Returns:
        The redacted repr (``<TypeName: repr failed>`` if ``repr`` itself raised).
    """
    try:
        text = repr(obj)
    except Exception:  # noqa: BLE001
        text = f"<{type(obj).__name__}: repr failed>"
    return redact(text)


# ------------------------------------------------------------------------------------ metrics

HEDGE_LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Hedge latency histogram buckets, in seconds (1 ms to 30 s; ``+Inf`` is added)."""

EXPOSURE_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0,
)  # fmt: skip
"""Unhedged exposure histogram buckets, in USD·s (``+Inf`` is added)."""

_INSTALL_HINT: Final = (
    'hedgekit metrics need prometheus-client, the "metrics" extra: pip install "hedgekit[metrics]"'
    " (or pip install prometheus-client)"
)


def _label(value: object) -> str:
    """A Prometheus label value with secrets masked."""
    return redact(str(value))


class MetricsUnavailableError(ImportError):
    """``prometheus_client`` is not installed; ``pip install "hedgekit[metrics]"`` fixes it."""


class Metrics:
    """hedgekit's Prometheus metrics, in a registry of their own.

    Series (with the default ``namespace="hedgekit"``):

    * ``hedgekit_operations_total{kind, status}``: results observed; ``kind`` is ``open`` or
      ``close``, ``status`` the result's status value.
    * ``hedgekit_incidents_total{kind}``: incidents carried by observed results.
    * ``hedgekit_fills_total{venue, liquidity}``: fills seen by fill listeners.
    * ``hedgekit_fill_notional_total{venue}``: their ``price x size`` (quote currency).
    * ``hedgekit_rejections_total{venue, reason}``: definitive order rejections.
    * ``hedgekit_venue_errors_total{venue, error}``: other venue errors (timeouts, ...).
    * ``hedgekit_hedge_latency_seconds``: histogram of results' ``hedge_latency_ns``.
    * ``hedgekit_exposure_usd_seconds{kind}``: histogram of results' ``exposure_usd_s``.
    * ``hedgekit_unhedged_exposure_usd{asset}``: gauge, ``|net signed fill size| x last fill
      price`` over the fills the listeners of one ``asset`` saw (0 when the legs match).

    Every method is cheap and thread-safe, and none raises on odd input from the hot path
    (a fill listener logs and carries on).

    Args:
        registry: Where the series are registered (default: a new ``CollectorRegistry``).
        namespace: Prefix of every series name.

    Raises:
        MetricsUnavailableError: ``prometheus_client`` is not installed.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, namespace: str = "hedgekit"
    ) -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:
            raise MetricsUnavailableError(_INSTALL_HINT) from exc
        self.registry: CollectorRegistry = (
            registry if registry is not None else prom.CollectorRegistry()
        )
        ns, reg = namespace, self.registry
        self.operations: Counter = prom.Counter(
            "operations", "Executor results by kind and status.", ["kind", "status"],
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.incidents: Counter = prom.Counter(
            "incidents", "Incidents carried by executor results.", ["kind"],
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.fills: Counter = prom.Counter(
            "fills", "Fills applied, by venue and liquidity.", ["venue", "liquidity"],
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.fill_notional: Counter = prom.Counter(
            "fill_notional", "Notional (price x size, quote currency) of fills applied.",
            ["venue"], namespace=ns, registry=reg,
        )  # fmt: skip
        self.rejections: Counter = prom.Counter(
            "rejections", "Definitive order rejections, by venue and reason.", ["venue", "reason"],
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.venue_errors: Counter = prom.Counter(
            "venue_errors", "Venue errors other than rejections (timeouts, disconnects, ...).",
            ["venue", "error"], namespace=ns, registry=reg,
        )  # fmt: skip
        self.hedge_latency: Histogram = prom.Histogram(
            "hedge_latency_seconds", "From the first fill to the hedge complete.",
            buckets=HEDGE_LATENCY_BUCKETS, namespace=ns, registry=reg,
        )  # fmt: skip
        self.exposure: Histogram = prom.Histogram(
            "exposure_usd_seconds", "Unhedged exposure integrated over an operation (USD*s).",
            ["kind"], buckets=EXPOSURE_BUCKETS, namespace=ns, registry=reg,
        )  # fmt: skip
        self.unhedged_exposure: Gauge = prom.Gauge(
            "unhedged_exposure_usd", "Current |net fill size| x last fill price, per asset.",
            ["asset"], namespace=ns, registry=reg,
        )  # fmt: skip
        self.liquidation_distance: Gauge = prom.Gauge(
            "liquidation_distance_ratio",
            "How far the mark may move before a pair's leg is liquidated, as a fraction of the "
            "mark (leg=pair: the nearer leg's; NaN: that leg cannot be liquidated by its price).",
            ["pair", "leg"], namespace=ns, registry=reg,
        )  # fmt: skip
        self._lock = threading.Lock()
        self._net: dict[str, tuple[Decimal, Decimal]] = {}  # asset -> (net size, last price)
        self._server: WSGIServer | None = None  # prometheus_client's, while serving
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ observations
    def observe_result(self, result: AtomicResult | CloseResult) -> None:
        """Counts an executor result and records its latency, exposure and incidents.

        Args:
            result: What :meth:`AtomicExecutor.open` (``kind="open"``) or
                :meth:`CloseExecutor.close` (``kind="close"``) returned.

        Raises:
            TypeError: Neither an ``AtomicResult`` nor a ``CloseResult``.
        """
        if isinstance(result, AtomicResult):
            kind = "open"
            if result.hedge_latency_ns is not None:
                self.hedge_latency.observe(result.hedge_latency_ns / 1e9)
        elif isinstance(result, CloseResult):
            kind = "close"
        else:
            raise TypeError(f"expected an AtomicResult or CloseResult, got {type(result).__name__}")
        self.operations.labels(kind=kind, status=_label(result.status.value)).inc()
        self.exposure.labels(kind=kind).observe(float(result.exposure_usd_s))
        for incident in result.incidents:
            self.incidents.labels(kind=_label(incident.kind)).inc()

    def observe_fill(self, fill: Fill, *, venue: str | None = None, asset: str = "default") -> None:
        """Counts one fill and updates the asset's unhedged exposure gauge.

        Args:
            fill: The fill (each fill once: the session's listeners only see new fills).
            venue: The ``venue`` label (default ``fill.venue``).
            asset: Which net position the fill belongs to (the legs of one pair share it).
        """
        name = _label(fill.venue if venue is None else venue)
        asset = _label(asset)
        self.fills.labels(venue=name, liquidity=_label(fill.liquidity.value)).inc()
        self.fill_notional.labels(venue=name).inc(float(fill.price * fill.size))
        with self._lock:
            net, _ = self._net.get(asset, (Decimal(0), Decimal(0)))
            net += fill.side.sign * fill.size
            self._net[asset] = (net, fill.price)
            self.unhedged_exposure.labels(asset=asset).set(float(abs(net) * fill.price))

    def fill_listener(
        self, venue: str, *, asset: str = "default"
    ) -> Callable[[Fill, TrackedOrder], None]:
        """A callback for :meth:`VenueSession.add_fill_listener` that feeds :meth:`observe_fill`.

        Args:
            venue: The ``venue`` label of the fills it sees.
            asset: The net position the fills belong to (give both legs of a pair the same).

        Returns:
            ``callback(fill, order)``; it never raises (a failure is logged).
        """

        def _on_fill(fill: Fill, order: TrackedOrder) -> None:
            try:
                self.observe_fill(fill, venue=venue, asset=asset)
            except Exception:  # noqa: BLE001 - metrics must never break the fill path
                _log.warning("metrics: fill on %s not recorded", venue, exc_info=True)

        return _on_fill

    def reset_exposure(self, asset: str | None = None) -> None:
        """Forgets the net fill size of ``asset`` (every asset with ``None``) and zeroes its gauge.

        Use it when positions are known flat by other means (after a restart, a manual close).

        Args:
            asset: The asset to reset, or ``None`` for all.
        """
        with self._lock:
            assets = list(self._net) if asset is None else [_label(asset)]
            for a in assets:
                self._net.pop(a, None)
                self.unhedged_exposure.labels(asset=a).set(0.0)

    def observe_liquidation_distance(self, pair: str, leg: str, distance: Decimal | None) -> None:
        """Sets the liquidation-distance gauge of one leg (``"long"``, ``"short"``) or of the
        pair (``"pair"``); ``None`` (not liquidatable by its own price) is NaN."""
        self.liquidation_distance.labels(pair=pair, leg=leg).set(
            float("nan") if distance is None else float(distance)
        )

    def observe_rejection(self, venue: str, reason: str) -> None:
        """Counts a definitive rejection.

        Args:
            venue: The venue that rejected.
            reason: The venue-neutral category (:attr:`OrderRejectedError.reason`).
        """
        self.rejections.labels(venue=_label(venue), reason=_label(reason)).inc()

    def observe_error(self, error: BaseException) -> None:
        """Counts a venue error: a rejection by its reason, any other venue error by class.

        Args:
            error: The exception; anything but a :class:`~hedgekit.errors.VenueError` is ignored.
        """
        if isinstance(error, OrderRejectedError):
            self.observe_rejection(error.venue, error.reason)
        elif isinstance(error, VenueError):
            self.venue_errors.labels(
                venue=_label(error.venue), error=_label(type(error).__name__)
            ).inc()

    # ------------------------------------------------------------------------ output
    def render(self) -> bytes:
        """The registry in Prometheus' text exposition format (what ``/metrics`` serves).

        Returns:
            The exposition text, UTF-8.
        """
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> Metrics:
        """Serves ``/metrics`` over HTTP from a daemon thread until :meth:`close`.

        The server is ``prometheus_client``'s own (:func:`prometheus_client.start_http_server`):
        a WSGI server answering each request in a daemon thread, requests not logged, gzip when
        the scraper asks for it, IPv6 addresses accepted.

        Args:
            port: TCP port (0 picks a free one; read it back from :attr:`port`).
            addr: Address to bind (default loopback only).

        Returns:
            ``self``.

        Raises:
            RuntimeError: Already serving.
            OSError: The address cannot be bound.
        """
        from prometheus_client import start_http_server

        if self._server is not None:
            raise RuntimeError("metrics server already running")
        self._server, self._thread = start_http_server(port, addr, self.registry)
        return self

    @property
    def port(self) -> int | None:
        """The port ``/metrics`` is served on, or ``None`` when not serving."""
        return None if self._server is None else int(self._server.server_port)

    def close(self) -> None:
        """Stops the HTTP server (if any) and frees its port. Safe to call twice.

        It returns once the server's thread has stopped: within about half a second (the
        shutdown poll interval of ``prometheus_client``'s server).
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        """Returns ``self``; leaving the block calls :meth:`close`."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Calls :meth:`close`."""
        self.close()


def start_metrics_server(
    port: int, addr: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> Metrics:
    """Creates a :class:`Metrics` and serves its ``/metrics`` over HTTP.

    The server answers from daemon threads, never on the event loop. Stop it with
    ``metrics.close()`` (or use the result as a context manager).

    Args:
        port: TCP port (0 picks a free one; see :attr:`Metrics.port`).
        addr: Address to bind (default loopback; ``"0.0.0.0"`` exposes it on every interface).
        registry: The registry to use (default: a new one, private to this instance).

    Returns:
        The serving :class:`Metrics`.

    Raises:
        MetricsUnavailableError: ``prometheus_client`` is not installed.
        OSError: The address cannot be bound.
    """
    return Metrics(registry).serve(port, addr)
