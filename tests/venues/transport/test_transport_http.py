"""The REST client against a small aiohttp server that answers 429, 5xx, 4xx, nothing, or
resets: definitive and ambiguous failures kept apart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from hedgekit.errors import (
    AmbiguousOutcomeError,
    OrderRejectedError,
    RateLimitedError,
    VenueDisconnectedError,
    VenueTimeoutError,
    VenueUnavailableError,
    VenueUnreachableError,
)
from hedgekit.venues.transport import Budget, HttpClient, RateLimiter


def run(main: Callable[[], Awaitable[None]], limit: float = 20.0) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await main()

    asyncio.run(bounded())


class Server:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.peers: set[object] = set()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_route("*", "/{name}", self.handle)
        self.runner = web.AppRunner(app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        n = self.hits[name] = self.hits.get(name, 0) + 1
        self.peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        if name == "ok":
            return web.json_response({"echo": (await request.read()).decode()})
        if name == "limited":
            return web.Response(status=429, text="Too many requests", headers={"Retry-After": "2"})
        if name == "overloaded":
            return web.Response(status=503, text="busy")
        if name == "flaky":
            if n == 1:
                return web.Response(status=502, text="bad gateway")
            return web.json_response({"ok": True})
        if name == "refused":
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if name == "slow":
            await asyncio.sleep(5)
            return web.json_response({})
        if name == "reset":
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(1)
            return web.json_response({})
        if name == "garbled":
            return web.Response(status=200, text="<html>proxy error</html>")
        return web.Response(status=404)


def test_a_good_answer_is_parsed_and_the_connection_is_reused() -> None:
    async def main() -> None:
        async with Server() as server:
            client = HttpClient("hl", server.url)
            try:
                for i in range(5):
                    assert await client.post_json("/ok", {"i": i}) == {"echo": f'{{"i":{i}}}'}
            finally:
                await client.close()
                await client.close()
            assert len(server.peers) == 1  # one keep-alive connection for all five
            with pytest.raises(VenueUnreachableError):
                await client.post_json("/ok", {})

    run(main)


@pytest.mark.parametrize(
    ("path", "error", "definitive"),
    [
        ("/limited", RateLimitedError, True),
        ("/refused", OrderRejectedError, True),
        ("/overloaded", VenueUnavailableError, False),
        ("/slow", VenueTimeoutError, False),
        ("/reset", VenueDisconnectedError, False),
        ("/garbled", AmbiguousOutcomeError, False),
    ],
)
def test_failures_are_definitive_or_ambiguous(
    path: str, error: type[Exception], definitive: bool
) -> None:
    async def main() -> None:
        async with Server() as server:
            client = HttpClient("hl", server.url, timeout_s=0.3)
            try:
                with pytest.raises(error) as info:
                    await client.post_json(path, {"type": "order"})
            finally:
                await client.close()
            exc = info.value
            assert getattr(exc, "definitive") is definitive  # noqa: B009
            assert server.hits[path[1:]] == 1  # an action is never sent twice on its own

    run(main)


def test_a_429_carries_its_retry_after_and_slows_the_limiter() -> None:
    async def main() -> None:
        async with Server() as server:
            limiter = RateLimiter("hl", [Budget("ip", 100, 60)])
            client = HttpClient("hl", server.url, limiter=limiter, limiter_timeout_s=0.5)
            try:
                with pytest.raises(RateLimitedError) as info:
                    await client.post_json("/limited", {})
                assert info.value.retry_after_s == 2.0 and info.value.code == 429
                # the venue said wait 2 s: our own limiter now refuses before sending
                with pytest.raises(RateLimitedError):
                    await client.post_json("/ok", {})
                assert "ok" not in server.hits
            finally:
                await client.close()

    run(main)


def test_a_4xx_keeps_the_venues_own_text() -> None:
    async def main() -> None:
        async with Server() as server:
            client = HttpClient("aster", server.url)
            try:
                with pytest.raises(OrderRejectedError) as info:
                    await client.request("GET", "/refused")
            finally:
                await client.close()
            assert info.value.code == 400 and "Invalid symbol." in info.value.message

    run(main)


def test_an_idempotent_read_is_retried_after_an_ambiguous_failure_but_an_action_is_not() -> None:
    async def main() -> None:
        async with Server() as server:
            client = HttpClient("hl", server.url)
            try:
                assert await client.post_json("/flaky", {}, idempotent=True) == {"ok": True}
                assert server.hits["flaky"] == 2
                server.hits.clear()
                with pytest.raises(VenueUnavailableError):
                    await client.post_json("/flaky", {})
                assert server.hits["flaky"] == 1
            finally:
                await client.close()

    run(main)


def test_a_port_nobody_listens_on_is_unreachable_and_definitive() -> None:
    async def main() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = HttpClient("hl", f"http://127.0.0.1:{port}", connect_timeout_s=1)
        try:
            with pytest.raises(VenueUnreachableError) as info:
                await client.post_json("/info", {"type": "meta"})
        finally:
            await client.close()
        assert info.value.definitive

    run(main)
