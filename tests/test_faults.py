"""Faults and unusual responses: CORS headers are complete or absent, never half there,
and the connection keeps serving.

Every handler below misbehaves or answers in an unusual way (raises, times out, is
cancelled, streams, sends a file, answers chunked or to HEAD, prepares its response
itself, upgrades to a WebSocket). Each runs in route mode and app-wide mode, for an
allowed and a refused origin, over a raw keep-alive connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ORIGIN, OTHER
from .rawhttp import Connection, Dropped, Response

CONFIG = {ORIGIN: ResourceOptions(allow_credentials=True, expose_headers=("X-Id",))}
CORS_HEADERS = {
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
}
FILE_TEXT = b"file contents\n" * 100

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="pong")


async def raises_http_error(request: web.Request) -> web.Response:
    raise web.HTTPConflict(text="taken", headers={"X-Id": "1"})


async def raises(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


async def times_out(request: web.Request) -> web.Response:
    await asyncio.wait_for(asyncio.sleep(1), 0.01)
    return web.Response(text="never")


async def streams(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"X-Id": "1"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for n in range(5):
        await response.write(b"chunk %d\n" % n)
    await response.write_eof()
    return response


async def chunked(request: web.Request) -> web.Response:
    response = web.Response(text="chunked body", headers={"X-Id": "1"})
    response.enable_chunked_encoding()
    return response


async def sends_a_file(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[FILE], headers={"X-Id": "1"})


async def prepared_then_returns_another(request: web.Request) -> web.StreamResponse:
    """Prepares and finishes its response, then returns a different object."""
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"early")
    await response.write_eof()
    return response


async def prepared_then_raises(request: web.Request) -> web.StreamResponse:
    """The headers are on the wire when it fails: aiohttp can only close the connection."""
    response = web.StreamResponse()
    response.content_length = 100
    await response.prepare(request)
    await response.write(b"partial")
    raise RuntimeError("failed half-way")


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        await ws.send_str("echo " + message.data)
    return ws


FILE = web.AppKey("file", Path)
HANDLERS: dict[str, Handler] = {
    "raises an HTTP error": raises_http_error,
    "raises": raises,
    "times out": times_out,
    "streams": streams,
    "chunked": chunked,
    "sends a file": sends_a_file,
    "prepares its own response": prepared_then_returns_another,
}


def path(name: str) -> str:
    return "/" + name.replace(" ", "-")


def make_app(mode: str, tmp_path: Path, extra: dict[str, Handler] | None = None) -> web.Application:
    (tmp_path / "f.txt").write_bytes(FILE_TEXT)
    app = web.Application()
    app[FILE] = tmp_path / "f.txt"
    app.router.add_get("/ping", ping)
    handlers = {**HANDLERS, **(extra or {})}
    routes = {
        name: app.router.add_get("/" + name.replace(" ", "-"), h) for name, h in handlers.items()
    }
    if mode == "route":
        cors = aiohttp_cors.setup(app, defaults=CONFIG)
        for route in routes.values():
            cors.add(route)
    else:
        aiohttp_cors.enable(app, CONFIG)
    return app


def assert_cors(response: Response, origin: str, where: str) -> None:
    """Complete CORS headers for the allowed origin, none for another; Vary names Origin."""
    present = {k.lower() for k, _ in response.headers} & CORS_HEADERS
    if origin == ORIGIN:
        assert present == CORS_HEADERS, f"{where}: {response.headers}"
        assert response.all("Access-Control-Allow-Origin") == [ORIGIN], where
        assert response.one("Access-Control-Allow-Credentials") == "true", where
        assert "x-id" in response.tokens("Access-Control-Expose-Headers"), where
    else:
        assert not present, f"{where}: {response.headers}"
    assert "origin" in response.tokens("Vary"), f"{where}: {response.headers}"


@pytest.mark.parametrize("mode", ["route", "app-wide"])
@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_unusual_handlers(
    aiohttp_server: Any, tmp_path: Path, mode: str, origin: str, method: str
):
    server = await aiohttp_server(make_app(mode, tmp_path))
    connection = await Connection.open(server.port)
    try:
        for name in HANDLERS:
            if method == "HEAD" and name == "streams":
                continue  # aiohttp writes what a handler streams even to a HEAD request
            where = f"{mode} {method} {name!r} from {origin}"
            response = await connection.send(method, path(name), [("Origin", origin.encode())])
            # A timeout is aiohttp's 500, or its 504 since aiohttp 3.10.
            expected = {"raises an HTTP error": {409}, "raises": {500}, "times out": {500, 504}}
            assert response.status in expected.get(name, {200}), where
            assert_cors(response, origin, where)
            if method == "GET" and name == "sends a file":
                assert response.body == FILE_TEXT
            if method == "GET" and name == "streams":
                assert response.body == b"".join(b"chunk %d\n" % n for n in range(5))
            if response.closes():
                connection.close()
                connection = await Connection.open(server.port)
            await connection.still_serves()
    finally:
        connection.close()


@pytest.mark.parametrize("mode", ["route", "app-wide"])
@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
async def test_failure_after_the_headers_were_sent(
    aiohttp_server: Any, tmp_path: Path, mode, origin
):
    """The headers went out complete; the body cannot be finished, so aiohttp closes the
    connection. The server goes on serving other connections."""
    app = make_app(mode, tmp_path, {"prepared then raises": prepared_then_raises})
    server = await aiohttp_server(app)
    connection = await Connection.open(server.port)
    try:
        connection.writer.write(
            b"GET /prepared-then-raises HTTP/1.1\r\nHost: x\r\nOrigin: "
            + origin.encode()
            + b"\r\n\r\n"
        )
        head = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode("latin-1").split("\r\n")[1:-2]
        headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines)]
        assert_cors(Response(200, headers, b""), origin, f"{mode} prepared then raises")
        rest = await asyncio.wait_for(connection.reader.read(), 10)
        assert rest == b"partial"  # then the connection is closed: the body stays short
    finally:
        connection.close()
    fresh = await Connection.open(server.port)
    try:
        await fresh.still_serves()
    finally:
        fresh.close()


@pytest.mark.parametrize("mode", ["route", "app-wide"])
async def test_cancelled_handler(aiohttp_server: Any, tmp_path: Path, mode: str):
    """A client that goes away cancels its handler; nothing leaks into other requests."""
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return web.Response(text="late")

    server = await aiohttp_server(make_app(mode, tmp_path, {"slow": slow}))
    gone = await Connection.open(server.port)
    gone.writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\nOrigin: " + ORIGIN.encode() + b"\r\n\r\n")
    await asyncio.wait_for(started.wait(), 10)
    gone.close()
    await asyncio.wait_for(cancelled.wait(), 10)
    connection = await Connection.open(server.port)
    try:
        response = await connection.send(
            "GET", "/raises-an-HTTP-error", [("Origin", ORIGIN.encode())]
        )
        assert_cors(response, ORIGIN, f"{mode} after a cancelled handler")
        await connection.still_serves()
    finally:
        connection.close()


@pytest.mark.parametrize("mode", ["route", "app-wide"])
@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
async def test_websocket_upgrade(aiohttp_client: Any, tmp_path: Path, mode: str, origin: str):
    """Browsers do not apply CORS to WebSocket handshakes; whatever CORS headers the
    101 carries are complete (route mode adds them for an allowed origin, as on any
    response of the resource) or absent, and messages flow."""
    client = await aiohttp_client(make_app(mode, tmp_path, {"ws": websocket}))
    async with client.ws_connect("/ws", headers={"Origin": origin}) as ws:
        upgrade = ws._response
        assert upgrade.status == 101
        present = {k.lower() for k in upgrade.headers} & CORS_HEADERS
        assert present in (set(), CORS_HEADERS if origin == ORIGIN else set()), upgrade.headers
        await ws.send_str("hello")
        assert (await ws.receive_str()) == "echo hello"
    response = await client.get("/ping")
    assert response.status == 200


async def test_a_dropped_connection_is_reported(aiohttp_server: Any):
    """The raw client tells a dropped connection from an answer (the tests rely on it)."""

    async def drops(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.1)
        return web.Response()

    app = web.Application()
    app.router.add_get("/", drops)
    server = await aiohttp_server(app)
    connection = await Connection.open(server.port)
    try:
        with pytest.raises(Dropped):
            await connection.send("GET", "/")
    finally:
        connection.close()


_ = aiohttp  # the WebSocket test's client comes from aiohttp_client
