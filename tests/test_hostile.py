"""Hostile requests: whatever a client sends, the answers stay sound.

Requests are written byte by byte on a raw socket (an HTTP client library would
refuse most of them) to live servers, one per configuration and mode. Hypothesis
draws adversarial ``Origin`` values, methods and ``Access-Control-Request-Headers``;
every response is checked against the invariants in ``check_invariants``, and the
connection must answer a plain request afterwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .origin_oracle import serialised
from .rawhttp import Connection, Response, read_response, request_bytes

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

#: name -> (configuration, which Origin values it allows). The second is written
#: independently of the library: the strict shape each key admits.
CONFIGS: dict[str, tuple[dict[str, ResourceOptions], Callable[[str], bool]]] = {
    "exact, credentials": (
        {
            "https://app.example": ResourceOptions(
                allow_credentials=True,
                expose_headers=("X-Id",),
                allow_headers=("X-Token", "Content-Type"),
                allow_methods=("GET", "PUT"),
                max_age=60,
            )
        },
        lambda origin: origin == "https://app.example",
    ),
    "any origin": (
        {"*": ResourceOptions(allow_headers="*", expose_headers="*", allow_methods="*")},
        serialised,  # "null" included: no credentials
    ),
    "patterns, credentials": (
        {
            "https://*.example.com": ResourceOptions(
                allow_credentials=True, allow_headers="*", expose_headers="*"
            ),
            "http://localhost:*": ResourceOptions(allow_credentials=True, allow_methods="*"),
            "null": ResourceOptions(),
        },
        lambda origin: (
            origin == "null"
            or re.fullmatch(r"https://([a-z0-9\-]+\.)+example\.com", origin) is not None
            or re.fullmatch(r"http://localhost(:[1-9][0-9]{0,4})?", origin) is not None
        ),
    ),
}
MODES = ("route", "app-wide")

# -- the servers -----------------------------------------------------------------------


@dataclass
class Server:
    config: str
    mode: str
    port: int = 0
    #: Requests that reached a handler or the user's middleware, by method.
    reached: dict[str, int] = field(default_factory=dict)

    def app(self) -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            self.reached[request.method] = self.reached.get(request.method, 0) + 1
            return web.Response(text="ok", headers={"Vary": "Accept-Encoding", "X-Id": "7"})

        @web.middleware
        async def user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.method == "OPTIONS":
                self.reached["middleware OPTIONS"] = self.reached.get("middleware OPTIONS", 0) + 1
            return await handler(request)

        app = web.Application(middlewares=[user_middleware])
        config = CONFIGS[self.config][0]
        routes = [app.router.add_route(method, "/r", handler) for method in ("GET", "PUT", "POST")]
        app.router.add_get("/ping", ping)
        if self.mode == "route":
            cors = aiohttp_cors.setup(app, defaults=config)
            for route in routes:
                cors.add(route)
        else:
            aiohttp_cors.enable(app, config)
            # Plain OPTIONS requests are the application's; preflights never are.
            app.router.add_route("OPTIONS", "/r", handler)
        return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="pong")


class Live:
    """One server per configuration and mode, on a loop of their own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.servers = [Server(config, mode) for config in CONFIGS for mode in MODES]
        self.test_servers = [TestServer(server.app(), host="127.0.0.1") for server in self.servers]
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        for server, test_server in zip(self.servers, self.test_servers, strict=True):
            await test_server.start_server()
            assert test_server.port is not None
            server.port = test_server.port

    def close(self) -> None:
        async def stop() -> None:
            for test_server in self.test_servers:
                await test_server.close()

        self.loop.run_until_complete(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    servers = Live()
    yield servers
    servers.close()


async def exchange(port: int, raw: bytes) -> Response:
    """Send *raw*; read the answer; then the same connection must still serve a GET."""
    connection = await Connection.open(port)
    try:
        connection.writer.write(raw)
        response = await asyncio.wait_for(read_response(connection.reader), 10)
        if response.status != 400 and not response.closes():
            await connection.still_serves()
        return response
    finally:
        connection.close()


# -- the invariants ----------------------------------------------------------------------


def tokens(value: str) -> list[str]:
    return [element.strip() for element in value.split(",")]


def check_invariants(
    server: Server,
    method: str,
    origins: list[str],
    requested_method: str | None,
    response: Response,
    reached_before: dict[str, int],
) -> None:
    """What must hold of any answer to any request."""
    _, allows = CONFIGS[server.config]
    where = f"{server.mode}/{server.config}: {method} Origin={origins!r} ACRM={requested_method!r}"
    # Nothing here makes a server error; aiohttp's own 400 for bytes it cannot parse is
    # not the CORS layer's, and carries no CORS header.
    assert response.status < 500, f"{response.status} {response.body[:300]!r} for {where}"
    if response.status == 400:
        assert not any(k.lower().startswith("access-control-") for k, _ in response.headers)
        return
    for name, value in response.headers:
        assert not CONTROL.search(value), f"control character in {name}: {value!r} for {where}"
    acao = response.all("Access-Control-Allow-Origin")
    assert len(acao) <= 1, f"{acao} for {where}"
    credentials = response.one("Access-Control-Allow-Credentials")
    if acao:
        if acao[0] == "*":
            assert credentials is None, f"'*' with credentials for {where}"
        else:
            assert acao[0] in origins, f"ACAO {acao[0]!r} was not sent, for {where}"
            assert allows(acao[0]), f"ACAO {acao[0]!r} is not allowed, for {where}"
    else:
        for name, _ in response.headers:
            lower = name.lower()
            assert not lower.startswith("access-control-allow-") and lower != (
                "access-control-expose-headers"
            ), f"{name} without Access-Control-Allow-Origin for {where}"
    for name in ("Access-Control-Allow-Headers", "Access-Control-Expose-Headers"):
        for value in response.all(name):
            assert all(TOKEN.fullmatch(t) for t in tokens(value)), f"{name}: {value!r}, {where}"
    for value in response.all("Access-Control-Allow-Methods"):
        assert all(TOKEN.fullmatch(t) for t in tokens(value)), f"ACAM {value!r}, {where}"
    vary = response.tokens("Vary")
    preflight = method == "OPTIONS" and origins and requested_method is not None
    if preflight:
        assert response.status in (200, 403), f"{response.status} for {where}"
        reached = dict(server.reached)
        if server.mode == "route":  # route mode answers from a route: middlewares see it
            reached.pop("middleware OPTIONS", None)
            reached_before = {k: v for k, v in reached_before.items() if k != "middleware OPTIONS"}
        assert reached == reached_before, f"a preflight reached the application: {where}"
        assert {"origin", "access-control-request-method"} <= vary, f"Vary {vary}, {where}"
        if response.status == 200:
            assert acao and response.all("Access-Control-Allow-Methods"), where
        else:
            assert response.body.isascii() and len(response.body) < 1024, response.body[:300]
            assert not CONTROL.search(response.body.decode()), response.body[:300]
    elif response.status == 200 and method != "OPTIONS":
        assert "accept-encoding" in vary, f"the handler's Vary was lost: {vary}, {where}"
        if origins and acao != ["*"]:
            assert "origin" in vary, f"Vary {vary} without Origin for {where}"


# -- adversarial values ------------------------------------------------------------------

INTERESTING_ORIGINS = [
    "",
    "null",
    "NULL",
    "*",
    "https://app.example",
    "https://app.example/",
    "HTTPS://APP.EXAMPLE",
    "https://App.example",
    "https://app.example:443",
    "https://user:pw@app.example",
    "https://app.example@evil.net",
    "https://app.example.evil.net",
    "https://evil.app.example",
    "https://app.example\t",
    " https://app.example",
    "https://app.example, https://evil.net",
    "https://a.example.com",
    "https://b.c.example.com",
    "https://example.com",
    "https://.example.com",
    "https://a..example.com",
    "https://a.example.com.evil.net",
    "https://aexample.com",
    "https://a.example.com:8443",
    "https://xn--bcher-kva.example.com",
    "https://bücher.example.com",
    "http://a.example.com",
    "http://localhost",
    "http://localhost:3000",
    "http://localhost:0",
    "http://localhost:99999",
    "http://localhost:03000",
    "http://localhost.evil.net",
    "http://127.0.0.1",
    "http://[::1]:8080",
    "file://",
    "javascript:alert(1)",
]
CHUNKS = ["", "/", ".", ":", "@", "%00", "\x00", "\x01", "\x7f", "é", "\udcff", " ", "\t", "*"]


def latin(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


raw_text = st.binary(max_size=40).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").decode("latin-1")
)
origin_values = st.one_of(
    st.sampled_from(INTERESTING_ORIGINS),
    st.builds(
        lambda a, b, c: a + b + c,
        st.sampled_from(CHUNKS),
        st.sampled_from(INTERESTING_ORIGINS),
        st.sampled_from(CHUNKS),
    ),
    raw_text,
    st.integers(60, 8000).map(lambda n: "https://" + "a" * n + ".example.com"),
)
method_values = st.one_of(
    st.sampled_from(
        [
            "GET",
            "PUT",
            "put",
            "POST",
            "DELETE",
            "PATCH",
            "patch",
            "OPTIONS",
            "CONNECT",
            "TRACE",
            "TRACK",
            "FOO",
            "",
            " ",
            "GET, PUT",
            "G\x01T",
            "PÜT",
            "*",
            "PUT ",
        ]
    ),
    raw_text,
)
NAMES = [
    "X-Token",
    "x-token",
    "Content-Type",
    "Authorization",
    "Cookie",
    "X-Other",
    "",
    " ",
    "X Token",
    "x-token\x01",
    "ü",
    "*",
    "a" * 300,
]
header_lists = st.one_of(
    st.builds(
        lambda names, separator: separator.join(names),
        st.lists(st.sampled_from(NAMES), max_size=12),
        st.sampled_from([",", ", ", ",,", " , ", "\t,"]),
    ),
    st.builds(
        lambda name, count: ",".join([name] * count),
        st.sampled_from(["X-Token", "a", "", "x-token,"]),
        st.integers(100, 3000),
    ),
    raw_text,
)


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, bytes]], list[str], str | None]:
    method = draw(st.sampled_from(["OPTIONS", "OPTIONS", "GET", "PUT", "DELETE"]))
    origins = draw(st.lists(origin_values, max_size=2))
    headers = [("Origin", latin(origin)) for origin in origins]
    requested_method = None
    if (method == "OPTIONS" and draw(st.booleans())) or draw(st.integers(0, 9)) == 0:
        requested_method = draw(method_values)
        headers.append(("Access-Control-Request-Method", latin(requested_method)))
    for _ in range(draw(st.integers(0, 3))):
        headers.append(("Access-Control-Request-Headers", latin(draw(header_lists))))
    if draw(st.booleans()):
        headers.append(("Cookie", b"s=1"))
    return method, headers, origins, requested_method


@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, len(CONFIGS) * len(MODES) - 1), hostile_requests())
def test_any_request_gets_a_sound_answer(live: Live, index: int, drawn) -> None:
    server = live.servers[index]
    method, headers, origins, requested_method = drawn
    reached_before = dict(server.reached)
    response = live.loop.run_until_complete(
        exchange(server.port, request_bytes(method, "/r", headers))
    )
    # HTTP drops the spaces and tabs around a header value, and aiohttp decodes header
    # bytes as UTF-8 (undecodable bytes escaped): compare with what the server read.
    sent = [latin(o).decode("utf-8", "surrogateescape").strip(" \t") for o in origins]
    response.headers = [
        (k, v.encode("latin-1").decode("utf-8", "surrogateescape")) for k, v in response.headers
    ]
    check_invariants(server, method, sent, requested_method, response, reached_before)


def test_nothing_is_kept_per_request(live: Live) -> None:
    """A client sending a new Origin, method and header list on every request leaves
    nothing behind: the engines hold their configuration, and no table grows."""
    from aiohttp_cors._engine import ENGINE_KEY

    async def flood(server: Server) -> None:
        connection = await Connection.open(server.port)
        try:
            for n in range(1500):
                origin = f"https://t{n}.example.com".encode()
                await connection.send("GET", "/r", [("Origin", origin)])
                await connection.send(
                    "OPTIONS",
                    "/r",
                    [
                        ("Origin", origin),
                        ("Access-Control-Request-Method", b"PUT"),
                        ("Access-Control-Request-Headers", f"x-{n}, x-{'a' * (n % 5000)}".encode()),
                    ],
                )
        finally:
            connection.close()

    def policies() -> list[object]:
        """Every compiled policy the servers' engines decide with."""
        found = []
        for test_server in live.test_servers:
            engine = test_server.app.get(ENGINE_KEY)
            if engine is None:
                continue
            for entry in engine.routes.values():
                found += [entry.whole.policy, *(scope.policy for scope in entry.scopes.values())]
            if engine.app_wide is not None:
                found.append(engine.app_wide.scope.policy)
        return found

    def sizes() -> list[int]:
        found = []
        for test_server in live.test_servers:
            engine = test_server.app.get(ENGINE_KEY)
            if engine is not None:
                found += [len(engine.routes), len(engine.view_methods)]
                found += [len(engine.preflight_targets), len(engine.route_scopes)]
        return found

    def remembered() -> list[int]:
        """The sizes of the pattern-match memos (one of the memo's two uses)."""
        return [len(policy.matched) for policy in policies()]  # type: ignore[attr-defined]

    before = sizes()
    assert before
    for server in live.servers:
        if server.config == "patterns, credentials":
            live.loop.run_until_complete(flood(server))
    assert sizes() == before
    assert max(remembered()) > 400  # the flood went through the patterns (emptied once)
    assert all(size <= 1024 for size in remembered())
