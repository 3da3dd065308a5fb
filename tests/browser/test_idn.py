"""An international host name, as Chromium sends it.

The page is served under ``http://straße.example:P`` (Chromium is told that every
``*.example`` host is 127.0.0.1); Chromium writes that origin
``http://xn--strae-oqa.example:P``. A configuration that names the Unicode host
must let the page read, in both modes; one that names ``strasse.example`` (how
IDNA 2003 folds it: another domain) must not.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import launch

pytestmark = pytest.mark.browser

FETCH = """async url => {
    try {
        const response = await fetch(url, {method: "PUT", headers: {"X-Token": "1"}});
        return "readable " + response.status + " " + (await response.text());
    } catch (error) {
        return "blocked";
    }
}"""


async def page(request: web.Request) -> web.Response:
    return web.Response(text="<!doctype html><title>page</title>", content_type="text/html")


async def api(request: web.Request) -> web.Response:
    return web.Response(text="done")


async def serve(app: web.Application, host: str) -> TestServer:
    server = TestServer(app, host=host)
    await server.start_server()
    return server


def api_app(mode: str, origin: str) -> web.Application:
    app = web.Application()
    route = app.router.add_put("/", api)
    config = {origin: ResourceOptions(allow_headers=("X-Token",))}
    if mode == "route":
        aiohttp_cors.setup(app, defaults=config).add(route)
    else:
        aiohttp_cors.enable(app, config)
    return app


@pytest.fixture
async def idn_browser() -> Any:
    async for launched in launch("--host-resolver-rules=MAP *.example 127.0.0.1"):
        yield launched


@pytest.mark.parametrize("mode", ["route", "app-wide"])
async def test_a_page_under_a_unicode_host_name(idn_browser, mode):
    page_app = web.Application()
    page_app.router.add_get("/", page)
    page_server = await serve(page_app, "127.0.0.1")
    port = page_server.port
    servers = [page_server]
    context = await idn_browser.new_context()
    try:
        tab = await context.new_page()
        await tab.goto(f"http://straße.example:{port}/")
        origin = await tab.evaluate("location.origin")
        assert origin == f"http://xn--strae-oqa.example:{port}"
        verdicts = {}
        for written in (f"http://straße.example:{port}", f"http://strasse.example:{port}"):
            api_server = await serve(api_app(mode, written), "localhost")
            servers.append(api_server)
            verdicts[written] = await tab.evaluate(FETCH, f"http://localhost:{api_server.port}/")
        assert verdicts == {
            f"http://straße.example:{port}": "readable 200 done",
            f"http://strasse.example:{port}": "blocked",
        }
    finally:
        await context.close()
        for server in servers:
            await server.close()
