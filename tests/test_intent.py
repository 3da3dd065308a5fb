"""Random configurations and browser requests: the browser model, fed the library's real
answers, must read exactly what the configuration means to allow.

Each example draws a configuration and a batch of requests, installs the configuration
on live servers (route mode through ``cors.defaults``, app-wide mode through
``reconfigure``), sends each request as a browser shapes it (the preflight only when
needed, the actual request only after a passed preflight) over real HTTP, and compares
the model's verdict with the configuration's intent, computed here independently.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiohttp_cors
from aiohttp_cors import ResourceOptions, Unsafe
from aiohttp_cors._check import exchange
from aiohttp_cors.model import PageRequest

SERVED = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
CUSTOM_RESPONSE = {"X-Total": "7", "X-Id": "abc"}

ORIGINS = (
    "https://a.example",
    "https://b.example",
    "https://x.example.com",
    "https://y.z.example.com",
    "https://example.com",
    "https://example.com.evil.net",
    "https://evilexample.com",
    "http://x.example.com",
    "http://localhost:3000",
    "http://localhost",
    "null",
)
KEYS = (
    "https://a.example",
    "https://b.example",
    "https://example.com",
    "http://localhost:3000",
    "null",
    "*",
    "https://*.example.com",
    "http://localhost:*",
)
REQUEST_HEADERS = (
    ("X-Token", "1"),
    ("x-other", "2"),
    ("Authorization", "Bearer t"),
    ("Content-Type", "text/plain"),
    ("Content-Type", "application/json"),
    ("Accept-Language", "en"),
)


def random_options(rng: random.Random) -> ResourceOptions:
    return ResourceOptions(
        allow_credentials=rng.random() < 0.5,
        expose_headers=rng.choice([(), ("X-Total",), ("x-total", "X-Id"), "*"]),
        allow_headers=rng.choice(
            [(), ("X-Token",), ("x-token", "Authorization"), ("Content-Type", "X-Other"), "*"]
        ),
        allow_methods=rng.choice([None, None, "*", ("GET",), ("PUT", "PATCH"), ("DELETE", "POST")]),
        max_age=rng.choice([None, 0, 60]),
    )


def random_config(rng: random.Random) -> dict[str, ResourceOptions]:
    keys = rng.sample(KEYS, rng.randint(0, 4))
    return {key: random_options(rng) for key in keys}


def random_request(rng: random.Random) -> PageRequest:
    headers: dict[str, tuple[str, str]] = {}
    for name, value in rng.sample(REQUEST_HEADERS, rng.randint(0, 3)):
        headers[name.lower()] = (name, value)  # one Content-Type at most
    return PageRequest(
        origin=rng.choice(ORIGINS),
        method=rng.choice([*SERVED, "put", "delete"]),
        headers=tuple(headers.values()),
        credentials=rng.random() < 0.4,
    )


def _options_for(config: Mapping[str, ResourceOptions], origin: str) -> ResourceOptions | None:
    """Which entry applies: exact, then patterns, then "*" (for null only without
    credentials)."""
    if origin in config and origin != "*":
        return config[origin]
    host = re.fullmatch(r"https://([a-z0-9.\-]+)", origin)
    if "https://*.example.com" in config and host and host[1].endswith(".example.com"):
        return config["https://*.example.com"]
    if "http://localhost:*" in config and re.fullmatch(r"http://localhost(:\d+)?", origin):
        return config["http://localhost:*"]
    if "*" in config and (origin != "null" or not config["*"].allow_credentials):
        return config["*"]
    return None


def intent(config: Mapping[str, ResourceOptions], request: PageRequest) -> set[str] | None:
    """What the configuration means: ``None`` (blocked), or the custom headers readable."""
    options = _options_for(config, request.origin)
    if options is None or (request.credentials and not options.allow_credentials):
        return None
    if request.needs_preflight():
        method = request.sent_method
        methods = options.allow_methods
        if methods is None and method not in SERVED:
            return None
        if isinstance(methods, frozenset) and method not in methods:
            return None
        for name in request.unsafe_header_names():
            if options.allow_headers != "*" and name.upper() not in options.allow_headers:
                return None
    custom = {name.lower() for name in CUSTOM_RESPONSE}
    if options.expose_headers == "*":
        return custom
    return custom & {name.lower() for name in options.expose_headers}


async def respond(request: web.Request) -> web.Response:
    return web.Response(text="ok", headers=CUSTOM_RESPONSE)


def add_route(app: web.Application, method: str) -> web.AbstractRoute:
    if method == "GET":
        return app.router.add_get("/", respond)
    return app.router.add_route(method, "/", respond)


class Live:
    """Two servers on one event loop, reconfigured per example."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        route_app = web.Application()
        self.route_cors = aiohttp_cors.setup(route_app)
        for method in SERVED:
            if method != "HEAD":  # add_get serves HEAD too
                self.route_cors.add(add_route(route_app, method))
        wide_app = web.Application()
        self.app_cors = aiohttp_cors.enable(wide_app, unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN)
        for method in SERVED:
            if method != "HEAD":
                add_route(wide_app, method)
        self.servers = [TestServer(route_app), TestServer(wide_app)]
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        for server in self.servers:
            await server.start_server()
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())

    def configure(self, config: dict[str, ResourceOptions]) -> None:
        self.route_cors.defaults = config
        self.app_cors.reconfigure(config)

    def run(self, requests: list[PageRequest]) -> list[tuple[str, Any]]:
        async def go() -> list[tuple[str, Any]]:
            results = []
            for server in self.servers:
                url = str(server.make_url("/"))
                for request in requests:
                    preflight, actual, verdict = await exchange(self.session, url, request)
                    results.append((url, request, preflight, actual, verdict))
            return results

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        async def stop() -> None:
            await self.session.close()
            for server in self.servers:
                await server.close()

        self.loop.run_until_complete(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    servers = Live()
    yield servers
    servers.close()


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.randoms(use_true_random=False))
def test_the_browser_reads_what_the_configuration_allows(live, rng):
    config = random_config(rng)
    requests = [random_request(rng) for _ in range(8)]
    live.configure(config)
    for url, request, preflight, actual, verdict in live.run(requests):
        expected = intent(config, request)
        where = f"{url} {request} with {config}: preflight {preflight}, actual {actual}"
        assert verdict.readable is (expected is not None), f"{verdict}\n{where}"
        if expected is not None:
            custom = verdict.exposed & {name.lower() for name in CUSTOM_RESPONSE}
            assert custom == expected, where
            assert "content-type" in verdict.exposed
        if request.needs_preflight() and preflight is not None and preflight.status != 200:
            assert actual is None  # a refused preflight: the handler never runs
