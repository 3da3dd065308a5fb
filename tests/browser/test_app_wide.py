"""App-wide mode in Chromium: every kind of route, error statuses, auth, opt-outs, guards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .harness import PAGE_HOST, Case, handler, hit, run_cases

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parent / "static"


def enabled(
    origin: str, options: ResourceOptions | None = None, middlewares: tuple = ()
) -> tuple[web.Application, aiohttp_cors.AppCors]:
    app = web.Application(middlewares=middlewares)
    return app, aiohttp_cors.enable(app, {origin: options or ResourceOptions()})


def simple_app(origin: str) -> web.Application:
    app, _ = enabled(origin)
    app.router.add_get("/", handler())
    return app


async def crash(request: web.Request) -> web.Response:
    hit(request)
    raise RuntimeError("bug in the handler")


async def conflict(request: web.Request) -> web.Response:
    hit(request)
    raise web.HTTPConflict(text="already there")


def errors_app(origin: str) -> web.Application:
    app, _ = enabled(origin, ResourceOptions(allow_headers=("Content-Type",)))
    app.router.add_get("/", handler())
    app.router.add_get("/crash", crash)
    app.router.add_put("/conflict", conflict)
    return app


@web.middleware
async def require_token(request: web.Request, handler) -> web.StreamResponse:
    if request.headers.get("Authorization") != "Bearer secret":
        raise web.HTTPUnauthorized(text="token required")
    return await handler(request)


def auth_app(origin: str) -> web.Application:
    app, _ = enabled(
        origin,
        ResourceOptions(allow_headers=("Authorization", "X-Client")),
        middlewares=(require_token,),
    )
    app.router.add_put("/", handler("saved"))
    return app


class Items(web.View):
    async def get(self) -> web.Response:
        hit(self.request)
        return web.Response(text="items")

    async def patch(self) -> web.Response:
        hit(self.request)
        return web.Response(text="patched")


def kinds_app(origin: str) -> web.Application:
    app, _ = enabled(origin, ResourceOptions(expose_headers=("X-Kind",)))
    routes = web.RouteTableDef()

    @routes.get("/table")
    async def table(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(text="table", headers={"X-Kind": "table"})

    app.add_routes(routes)
    app.router.add_view("/items", Items)
    app.router.add_static("/static", STATIC)
    sub = web.Application()
    sub.router.add_get("/hello", handler("sub"))
    app.add_subapp("/sub", sub)
    return app


def overrides_app(origin: str) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.enable(app, {"https://elsewhere.example": ResourceOptions()})
    cors.add(app.router.add_get("/opened", handler()), {"*": ResourceOptions()})
    app.router.add_get("/", handler())
    return app


def excluded_app(origin: str) -> web.Application:
    app, cors = enabled(origin)
    cors.exclude(app.router.add_get("/", handler()))
    return app


def reconfigured_app(origin: str) -> web.Application:
    app, cors = enabled(origin)
    cors.reconfigure({"https://elsewhere.example": ResourceOptions()})
    app.router.add_get("/", handler())
    return app


def pattern_app(key: object) -> web.Application:
    app = web.Application()
    aiohttp_cors.enable(app, {key: ResourceOptions()})  # type: ignore[dict-item]
    app.router.add_get("/", handler())
    return app


def sub_override_app(origin: str) -> web.Application:
    app, _ = enabled(origin)
    sub = web.Application()
    aiohttp_cors.enable(sub, {"https://elsewhere.example": ResourceOptions()})
    sub.router.add_get("/hello", handler("sub"))
    app.add_subapp("/sub", sub)
    return app


async def echo_socket(request: web.Request) -> web.WebSocketResponse:
    hit(request)
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        await socket.send_str("echo " + message.data)
    return socket


def socket_app(origin: str) -> web.Application:
    app = web.Application()
    aiohttp_cors.enable(app, {origin: ResourceOptions()}, guard_websockets=True)
    app.router.add_get("/ws", echo_socket)
    return app


JSON_PUT = {"method": "PUT", "headers": {"Content-Type": "application/json"}, "body": "{}"}

CASES = [
    Case("simple GET", simple_app, read={"Vary": None}),
    Case(
        "404 from the router", errors_app, "/missing", status=404, body="404: Not Found", reached=0
    ),
    Case(
        "405 from the router (simple POST)",
        errors_app,
        "/",
        {"method": "POST", "body": "x"},
        status=405,
        body="405: Method Not Allowed",
        reached=0,
    ),
    Case(
        "500 from an unhandled exception",
        errors_app,
        "/crash",
        status=500,
        body=None,
    ),
    Case(
        "409 HTTPException after a preflight",
        errors_app,
        "/conflict",
        JSON_PUT,
        status=409,
        body="already there",
        preflights=1,
    ),
    Case(
        "auth middleware: preflight passes, 401 readable",
        auth_app,
        init={"method": "PUT", "headers": {"X-Client": "1"}},
        status=401,
        body="token required",
        preflights=1,
        reached=0,
    ),
    Case(
        "auth middleware: preflight passes, token accepted",
        auth_app,
        init={"method": "PUT", "headers": {"Authorization": "Bearer secret"}},
        body="saved",
        preflights=1,
    ),
    Case(
        "RouteTableDef route, exposed header",
        kinds_app,
        "/table",
        body="table",
        read={"X-Kind": "table"},
    ),
    Case("class-based view GET", kinds_app, "/items", body="items"),
    Case(
        "class-based view PATCH (preflighted)",
        kinds_app,
        "/items",
        {"method": "PATCH"},
        body="patched",
        preflights=1,
    ),
    Case(
        "class-based view: DELETE not implemented",
        kinds_app,
        "/items",
        {"method": "DELETE"},
        verdict="blocked",
        preflights=1,
        reached=0,
    ),
    Case("static file", kinds_app, "/static/hello.txt", body="static hello\n", reached=0),
    Case("sub-application route", kinds_app, "/sub/hello", body="sub"),
    Case("sub-application 404", kinds_app, "/sub/missing", status=404, body=None, reached=0),
    Case(
        "sub-application with its own config",
        sub_override_app,
        "/sub/hello",
        verdict="blocked",
    ),
    Case("per-route override opens a route", overrides_app, "/opened"),
    Case("origin not in the app config", overrides_app, "/", verdict="blocked"),
    Case("excluded route", excluded_app, verdict="blocked"),
    Case("reconfigured away", reconfigured_app, verdict="blocked"),
    Case("port wildcard", lambda origin: pattern_app(f"http://{PAGE_HOST}:*")),
    Case("full-match regex", lambda origin: pattern_app(re.compile(r"http://127\.0\.0\.1:\d+"))),
    Case(
        "regex matching only a prefix",
        lambda origin: pattern_app(re.compile(r"http://127\.0\.0\.1")),
        verdict="blocked",
    ),
    Case(
        "predicate",
        lambda origin: pattern_app(lambda origin, request: origin.startswith("http://127.")),
    ),
    Case(
        "WebSocket from an allowed origin",
        socket_app,
        "/ws",
        websocket=True,
        status=101,
        body="echo hi",
    ),
    Case(
        "WebSocket from another origin: guard refuses",
        lambda origin: socket_app("https://elsewhere.example"),
        "/ws",
        websocket=True,
        verdict="blocked",
        reached=0,
    ),
]


async def test_app_wide_mode_in_chromium(browser):
    failures = await run_cases(browser, CASES)
    assert not failures, "\n".join(failures)
