"""Alert hooks: risk events to callbacks and, optionally, to a webhook, never blocking the caller.

:meth:`AlertHub.emit` is synchronous and cheap: it puts the :class:`Alert` on a bounded queue
(when full, the oldest queued alert is dropped, counted and logged) and returns. A background
task the hub owns takes alerts in order, calls every callback (a plain function is called on the
event loop, so it must be quick; a coroutine function is awaited with the hub's timeout), then
posts the alert as JSON to the webhook, if one is set, with ``urllib`` in a worker thread
(:func:`asyncio.to_thread`, the request bounded by the same timeout, redirects not followed).
A failing callback or post is logged on ``hedgekit.risk.alerts`` and counted, never raised into
the code that emitted the alert. :meth:`AlertHub.close` cancels the task (after an optional
bounded drain).

Secrets: the alert's text leaves the process through :func:`hedgekit.secrets.redact` /
:func:`~hedgekit.secrets.redact_data`. The webhook URL is held as a
:class:`~hedgekit.secrets.Secret`; its password and query string are registered as secrets too,
and logs and reprs show only ``scheme://host[:port]`` with ``/***`` for a path and ``?***`` for a
query (webhook services commonly put their token in the path). A ``user:password@`` in the URL
is sent as HTTP Basic authorisation, not in the request line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, Self, get_args
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk._exact import dec
from hedgekit.secrets import MASK, Secret, redact, redact_data

__all__ = ["ALERT_KINDS", "Alert", "AlertCallback", "AlertHub", "AlertKind"]

_log = logging.getLogger("hedgekit.risk.alerts")

AlertKind = Literal["naked_leg", "drift", "liquidation_risk", "adl", "liquidation", "kill_switch"]
"""What an alert is about."""

ALERT_KINDS: Final[frozenset[str]] = frozenset(get_args(AlertKind))
"""Every :data:`AlertKind`."""

AlertCallback = Callable[["Alert"], Awaitable[None] | None]
"""A hook: a function or a coroutine function taking an :class:`Alert`."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One risk event.

    Attributes:
        kind: What happened (:data:`AlertKind`).
        pair: The pair it concerns (a name of the caller's choosing).
        venues: The venues involved.
        amounts: Named amounts (sizes, notionals, distances), exact.
        message: A readable account; redacted whenever it leaves the process.
        ts_ns: When it happened (integer ns).

    Raises:
        InvalidArgumentError: An unknown kind or a malformed field.
    """

    kind: AlertKind
    pair: str
    venues: tuple[str, ...]
    amounts: Mapping[str, Decimal] = field(hash=False)
    message: str
    ts_ns: int

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise InvalidArgumentError(
                f"alert kind must be one of {', '.join(sorted(ALERT_KINDS))}, got {self.kind!r}"
            )
        if not isinstance(self.pair, str):
            raise InvalidArgumentError(f"pair must be a str, got {self.pair!r}")
        venues = (self.venues,) if isinstance(self.venues, str) else tuple(self.venues)
        if not all(isinstance(v, str) for v in venues):
            raise InvalidArgumentError(f"venues must be strs, got {venues!r}")
        amounts = {str(k): dec(v, f"amount {k!r}") for k, v in dict(self.amounts).items()}
        if not isinstance(self.message, str):
            raise InvalidArgumentError(f"message must be a str, got {self.message!r}")
        if isinstance(self.ts_ns, bool) or not isinstance(self.ts_ns, int):
            raise InvalidArgumentError(f"ts_ns must be an int, got {self.ts_ns!r}")
        object.__setattr__(self, "venues", venues)
        object.__setattr__(self, "amounts", MappingProxyType(amounts))

    def to_dict(self) -> dict[str, Any]:
        """The alert as JSON-ready data, amounts as decimal strings, secrets masked."""
        data = {
            "kind": self.kind,
            "pair": self.pair,
            "venues": list(self.venues),
            "amounts": {k: str(v) for k, v in self.amounts.items()},
            "message": self.message,
            "ts_ns": self.ts_ns,
        }
        out: dict[str, Any] = redact_data(data)
        return out

    def to_json(self) -> bytes:
        """:meth:`to_dict` as JSON (orjson)."""
        return orjson.dumps(self.to_dict())


class _HttpStatusError(Exception):
    """The webhook answered with a status other than 2xx (a redirect included)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the body and credentials go to the configured host only."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Webhook:
    """The webhook's URL, the pieces of it that must not be shown, and the poster."""

    __slots__ = ("_auth", "_hidden", "_url", "display", "timeout_s")

    def __init__(self, url: str | Secret, timeout_s: float) -> None:
        raw = url.reveal() if isinstance(url, Secret) else url
        if not isinstance(raw, str):
            raise InvalidArgumentError("webhook_url must be a str or a Secret")
        try:
            parts = urlsplit(raw)
            host, port = parts.hostname, parts.port
        except ValueError:
            raise InvalidArgumentError("webhook_url does not parse as a URL") from None
        if parts.scheme not in ("http", "https") or not host:
            raise InvalidArgumentError(
                f"webhook_url must be an http(s) URL with a host, got scheme {parts.scheme!r}"
            )
        netloc = host if ":" not in host else f"[{host}]"
        if port is not None:
            netloc = f"{netloc}:{port}"
        self.display = f"{parts.scheme}://{netloc}"
        if parts.path not in ("", "/"):
            self.display += "/" + MASK
        if parts.query:
            self.display += "?" + MASK
        self._url = Secret(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")))
        self._auth: str | None = None
        hidden = {raw, self._url.reveal(), parts.query, parts.path, parts.netloc}
        if parts.username is not None or parts.password is not None:
            user, pw = unquote(parts.username or ""), unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{pw}".encode()).decode("ascii")
            self._auth = f"Basic {token}"
            hidden |= {user, pw, parts.password or "", token}
            if len(pw) >= 4:
                Secret(pw)
        if len(parts.query) >= 4:
            Secret(parts.query)
        if len(raw) >= 4:
            Secret(raw)
        # longest first, so a piece inside another is replaced after it
        self._hidden = sorted(
            (h for h in hidden if len(h) >= 2 and h != "/"), key=len, reverse=True
        )
        self.timeout_s = timeout_s

    def scrub(self, text: str) -> str:
        """``text`` without any piece of the URL, then :func:`redact`."""
        for piece in self._hidden:
            text = text.replace(piece, MASK)
        return redact(text)

    def post(self, body: bytes) -> int:
        """POSTs ``body`` (blocking: run it in a thread). Returns the HTTP status."""
        headers = {"Content-Type": "application/json", "User-Agent": "hedgekit-alerts"}
        if self._auth is not None:
            headers["Authorization"] = self._auth
        req = urllib.request.Request(self._url.reveal(), data=body, headers=headers, method="POST")
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(req, timeout=self.timeout_s) as resp:
                resp.read()
                status: int = resp.status
                return status
        except urllib.error.HTTPError as exc:
            code = exc.code
            exc.close()  # its response holds the socket
            raise _HttpStatusError(code) from None


def _callback_name(cb: object) -> str:
    return getattr(cb, "__qualname__", None) or type(cb).__name__


class AlertHub:
    """Fans alerts out to callbacks and an optional webhook, from a task of its own.

    Use it on a running event loop; ``async with AlertHub(...) as hub:`` closes it on exit
    (after draining what is queued, for at most ``timeout_s``).

    Args:
        webhook_url: An http(s) URL (a ``str`` or a :class:`~hedgekit.secrets.Secret`) to POST
            each alert to as JSON, or ``None``.
        timeout_s: Bound on one webhook request and on one awaited callback (> 0).
        max_queue: Alerts held while the task catches up (> 0); beyond it the oldest is dropped.

    Attributes:
        dropped: Alerts dropped because the queue was full.
        posted: Webhook posts answered with a 2xx.
        failed: Callbacks that raised or timed out, plus webhook posts that failed.

    Raises:
        InvalidArgumentError: A malformed URL (the message never shows it), a bad timeout or
            queue size.
    """

    def __init__(
        self,
        webhook_url: str | Secret | None = None,
        *,
        timeout_s: float = 5.0,
        max_queue: int = 1024,
    ) -> None:
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise InvalidArgumentError(f"timeout_s must be a positive number, got {timeout_s!r}")
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue <= 0:
            raise InvalidArgumentError(f"max_queue must be a positive int, got {max_queue!r}")
        self._timeout_s = float(timeout_s)
        self._webhook = None if webhook_url is None else _Webhook(webhook_url, self._timeout_s)
        self._callbacks: list[AlertCallback] = []
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped = 0
        self.posted = 0
        self.failed = 0

    def __repr__(self) -> str:
        webhook = None if self._webhook is None else self._webhook.display
        return (
            f"AlertHub(webhook={webhook!r}, callbacks={len(self._callbacks)}, "
            f"queued={self._queue.qsize()}, closed={self._closed})"
        )

    @property
    def webhook(self) -> str | None:
        """The webhook as it may be shown (``scheme://host[:port]/***?***``), or ``None``."""
        return None if self._webhook is None else self._webhook.display

    def add(self, callback: AlertCallback) -> None:
        """Registers ``callback`` (a function or a coroutine function taking an :class:`Alert`);
        callbacks are called in the order they were added."""
        if not callable(callback):
            raise InvalidArgumentError(f"callback must be callable, got {callback!r}")
        self._callbacks.append(callback)

    def add_all(self, callbacks: Iterable[AlertCallback]) -> None:
        """:meth:`add` for each of ``callbacks``."""
        for cb in callbacks:
            self.add(cb)

    def emit(self, alert: Alert) -> bool:
        """Queues ``alert`` for delivery and returns at once (call it on the event loop).

        Returns:
            False when the hub is closed (the alert is logged and discarded), True otherwise.

        Raises:
            InvalidArgumentError: Not an :class:`Alert`.
            RuntimeError: No running event loop.
        """
        if not isinstance(alert, Alert):
            raise InvalidArgumentError(f"emit takes an Alert, got {type(alert).__name__}")
        if self._closed:
            _log.warning("alert hub closed: %s alert for %s discarded", alert.kind, alert.pair)
            return False
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="hedgekit-alert-hub"
            )
        if self._queue.full():
            old = self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            _log.warning(
                "alert queue full: dropped the oldest (%s for %s)", old.kind, redact(old.pair)
            )
        self._queue.put_nowait(alert)
        return True

    async def drain(self) -> None:
        """Waits until every queued alert has been delivered (or has failed)."""
        if self._task is not None:
            await self._queue.join()

    async def close(self, *, drain_timeout_s: float = 0.0) -> None:
        """Stops the hub: waits up to ``drain_timeout_s`` for queued alerts, then cancels the
        task. Alerts still queued are discarded (logged). A webhook request already in its
        thread runs to its own timeout. Idempotent."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        if drain_timeout_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain_timeout_s):
                    await self._queue.join()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        left = self._queue.qsize()
        if left:
            _log.warning("alert hub closed with %d alert(s) undelivered", left)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close(drain_timeout_s=self._timeout_s)

    # ------------------------------------------------------------------------------ delivery

    async def _run(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self._deliver(alert)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must survive anything
                self.failed += 1
                _log.exception("alert delivery failed")
            finally:
                self._queue.task_done()

    async def _deliver(self, alert: Alert) -> None:
        for cb in list(self._callbacks):
            try:
                result = cb(alert)
                if inspect.isawaitable(result):
                    async with asyncio.timeout(self._timeout_s):
                        await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a hook's failure is the hook's
                self.failed += 1
                text = redact(f"{type(exc).__name__}: {exc}")
                if self._webhook is not None:
                    text = self._webhook.scrub(text)
                _log.warning("alert callback %s failed: %s", _callback_name(cb), text)
        if self._webhook is not None:
            await self._post(self._webhook, alert)

    async def _post(self, webhook: _Webhook, alert: Alert) -> None:
        try:
            await asyncio.to_thread(webhook.post, alert.to_json())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a webhook outage must not reach the caller
            self.failed += 1
            detail = str(exc) if isinstance(exc, _HttpStatusError) else repr(exc)
            _log.warning(
                "alert webhook %s failed for %s alert: %s",
                webhook.display,
                alert.kind,
                webhook.scrub(detail),
            )
        else:
            self.posted += 1
