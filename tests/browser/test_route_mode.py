"""Route mode (the 0.8.1 API) in Chromium: every option, credentials, methods, caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CorsViewMixin, ResourceOptions, custom_cors

from .harness import PAGE_HOST, Case, handler, hit, run_cases

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parent / "static"
ELSEWHERE = "https://elsewhere.example"
# The page's port is picked at run time; where a configuration is fixed at import
# time (a decorator), a port wildcard names the page.
PAGE_ORIGINS = f"http://{PAGE_HOST}:*"


def routed(
    method: str = "GET",
    key: str | None = None,
    response_headers: dict[str, str] | None = None,
    **options: Any,
):
    """A builder: one route for *method* at "/", CORS for *key* (default: the page)."""

    def build(origin: str) -> web.Application:
        app = web.Application()
        cors = aiohttp_cors.setup(app, defaults={key or origin: ResourceOptions(**options)})
        respond = handler(headers=response_headers)
        if method == "GET":
            route = app.router.add_get("/", respond)  # HEAD too, as a browser expects
        else:
            route = app.router.add_route(method, "/", respond)
        cors.add(route)
        return app

    return build


async def crash(request: web.Request) -> web.Response:
    hit(request)
    raise RuntimeError("bug in the handler")


async def gone(request: web.Request) -> web.Response:
    hit(request)
    raise web.HTTPNotFound(text="no such item")


def errors(origin: str) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={origin: ResourceOptions()})
    cors.add(app.router.add_get("/crash", crash))
    cors.add(app.router.add_get("/gone", gone))
    return app


class Items(CorsViewMixin, web.View):
    async def get(self) -> web.Response:
        hit(self.request)
        return web.Response(text="items")

    @custom_cors({PAGE_ORIGINS: ResourceOptions(allow_headers=("X-Token",))})
    async def put(self) -> web.Response:
        hit(self.request)
        return web.Response(text="put items")


def kinds(origin: str) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={PAGE_ORIGINS: ResourceOptions()})
    cors.add(app.router.add_view("/items", Items))
    cors.add(app.router.add_static("/static", STATIC))
    sub = web.Application()
    sub_cors = aiohttp_cors.setup(sub, defaults={origin: ResourceOptions()})
    sub_cors.add(sub.router.add_get("/hello", handler("sub")))
    app.add_subapp("/sub", sub)
    return app


async def own_headers(request: web.Request) -> web.Response:
    hit(request)
    return web.Response(text="mine", headers={"Access-Control-Allow-Origin": "*"})


def handler_owned(origin: str) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ELSEWHERE: ResourceOptions()})
    cors.add(app.router.add_get("/", own_headers))
    return app


X_TOTAL = {"X-Total": "7"}
CACHEABLE = {"Cache-Control": "max-age=600"}
INCLUDE = {"credentials": "include"}


def put(headers: dict[str, str] | None = None, **init: Any) -> dict[str, Any]:
    return {"method": "PUT", "headers": headers or {}, **init}


CASES = [
    # origins
    Case("exact origin, simple GET", routed()),
    Case(
        "origin not listed: blocked, handler still ran",
        routed(key=ELSEWHERE),
        verdict="blocked",
        says="Allow the origin",
    ),
    Case("'*'", routed(key="*")),
    Case("'*' admits the null origin without credentials", routed(key="*"), origin="null"),
    Case(
        "'*' with credentials does not admit the null origin",
        routed(key="*", allow_credentials=True),
        origin="null",
        verdict="blocked",
    ),
    Case("'null' listed, sandboxed iframe", routed(key="null"), origin="null"),
    Case("null origin, only the page listed", routed(), origin="null", verdict="blocked"),
    # credentials
    Case(
        "credentials: include, allowed",
        routed(allow_credentials=True),
        init=INCLUDE,
    ),
    Case(
        "credentials: include, not allowed",
        routed(),
        init=INCLUDE,
        verdict="blocked",
        says="Set allow_credentials=True",
    ),
    Case(
        "credentials with '*' (route mode accepts it): origin echoed",
        routed(key="*", allow_credentials=True),
        init=INCLUDE,
    ),
    Case(
        "credentials: include, '*' without allow_credentials",
        routed(key="*"),
        init=INCLUDE,
        verdict="blocked",
    ),
    # request headers
    Case(
        "listed custom header",
        routed("PUT", allow_headers=("X-Token",)),
        init=put({"X-Token": "1"}),
        preflights=1,
    ),
    Case(
        "listed custom header, sent in another case",
        routed("PUT", allow_headers=("x-token",)),
        init=put({"X-TOKEN": "1"}),
        preflights=1,
    ),
    Case(
        "unlisted custom header",
        routed("PUT", allow_headers=("X-Token",)),
        init=put({"X-Other": "1"}),
        verdict="blocked",
        preflights=1,
        reached=0,
        says="Allow the request headers (X-OTHER)",
    ),
    Case(
        "one of two headers unlisted",
        routed("PUT", allow_headers=("X-Token",)),
        init=put({"X-Token": "1", "X-Other": "2"}),
        verdict="blocked",
        preflights=1,
        reached=0,
        says="(X-OTHER)",
    ),
    Case(
        "allow_headers '*' with Authorization",
        routed("PUT", allow_headers="*"),
        init=put({"Authorization": "Bearer x", "X-Any": "1"}),
        preflights=1,
    ),
    Case(
        "allow_headers '*' with Authorization and credentials",
        routed("PUT", allow_headers="*", allow_credentials=True),
        init=put({"Authorization": "Bearer x"}, credentials="include"),
        preflights=1,
    ),
    Case(
        "safelisted headers need no preflight",
        routed(),
        init={"headers": {"Accept-Language": "en", "Content-Language": "en"}},
    ),
    # response headers
    Case(
        "exposed header readable",
        routed(response_headers=X_TOTAL, expose_headers=("X-Total",)),
        read={"X-Total": "7"},
    ),
    Case(
        "unexposed header hidden",
        routed(response_headers=X_TOTAL),
        read={"X-Total": None, "Content-Type": "text/plain; charset=utf-8"},
    ),
    Case(
        "expose '*' without credentials",
        routed(response_headers=X_TOTAL, expose_headers="*"),
        read={"X-Total": "7"},
    ),
    Case(
        "expose '*' with credentials",
        routed(response_headers=X_TOTAL, expose_headers="*", allow_credentials=True),
        init=INCLUDE,
        read={"X-Total": "7"},
    ),
    Case(
        "exposed header with credentials",
        routed(response_headers=X_TOTAL, expose_headers=("X-Total",), allow_credentials=True),
        init=INCLUDE,
        read={"X-Total": "7"},
    ),
    # methods
    Case("PUT, methods from the route", routed("PUT"), init=put(), preflights=1),
    Case("DELETE allowed", routed("DELETE"), init={"method": "DELETE"}, preflights=1),
    Case(
        "PUT not in allow_methods",
        routed("PUT", allow_methods=("GET",)),
        init=put(),
        verdict="blocked",
        preflights=1,
        reached=0,
        says="Add 'PUT' to allow_methods",
    ),
    Case(
        "PATCH", routed("PATCH", allow_methods=("PATCH",)), init={"method": "PATCH"}, preflights=1
    ),
    Case(
        "'patch' in lower case is not PATCH",
        routed("PATCH", allow_methods=("PATCH",)),
        init={"method": "patch"},
        verdict="blocked",
        preflights=1,
        reached=0,
        says="make the page send 'PATCH'",
    ),
    Case(
        "'put' in lower case is normalised by the browser",
        routed("PUT"),
        init={"method": "put"},
        preflights=1,
    ),
    Case("HEAD", routed(), init={"method": "HEAD"}, body=""),
    # bodies
    Case(
        "JSON POST without Content-Type allowed",
        routed("POST"),
        init={"method": "POST", "headers": {"Content-Type": "application/json"}, "body": "{}"},
        verdict="blocked",
        preflights=1,
        reached=0,
    ),
    Case(
        "JSON POST (preflighted)",
        routed("POST", allow_headers=("Content-Type",)),
        init={"method": "POST", "headers": {"Content-Type": "application/json"}, "body": "{}"},
        preflights=1,
    ),
    Case(
        "form POST (no preflight)",
        routed("POST"),
        init={
            "method": "POST",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "body": "a=1",
        },
    ),
    Case(
        "form POST from an unlisted origin reaches the handler",
        routed("POST", key=ELSEWHERE),
        init={"method": "POST", "body": "a=1"},
        verdict="blocked",
    ),
    # preflight cache
    Case(
        "max_age: the second request sends no preflight",
        routed("PUT", max_age=600),
        init=put(),
        repeat=2,
        preflights=1,
        reached=2,
    ),
    Case(
        "max_age 0: every request is preflighted",
        routed("PUT", max_age=0),
        init=put(),
        repeat=2,
        preflights=2,
        reached=2,
    ),
    # caches and Vary
    Case(
        "no-cors load, then CORS fetch of the same cacheable URL",
        routed(response_headers=CACHEABLE),
        before="no-cors",
        reached=2,
    ),
    # views, static files, sub-applications
    Case("view GET", kinds, "/items", body="items"),
    Case(
        "view PUT with custom_cors",
        kinds,
        "/items",
        put({"X-Token": "1"}),
        body="put items",
        preflights=1,
    ),
    Case(
        "view DELETE not implemented",
        kinds,
        "/items",
        {"method": "DELETE"},
        verdict="blocked",
        preflights=1,
        reached=0,
    ),
    Case("static file", kinds, "/static/hello.txt", body="static hello\n", reached=0),
    Case("sub-application route", kinds, "/sub/hello", body="sub"),
    # errors
    Case("500 from the handler is readable", errors, "/crash", status=500, body=None),
    Case("404 raised by the handler is readable", errors, "/gone", status=404, body="no such item"),
    Case(
        "router 404 in route mode has no CORS headers",
        errors,
        "/missing",
        verdict="blocked",
        reached=0,
    ),
    # the handler's own headers
    Case("handler sets its own Access-Control-Allow-Origin", handler_owned, body="mine"),
    # refused preflights
    Case(
        "preflight from an unlisted origin",
        routed("PUT", key=ELSEWHERE),
        init=put(),
        verdict="blocked",
        preflights=1,
        reached=0,
    ),
]


async def test_route_mode_in_chromium(browser):
    failures = await run_cases(browser, CASES)
    assert not failures, "\n".join(failures)
