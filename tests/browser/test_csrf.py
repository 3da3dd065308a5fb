"""The write guard in Chromium: what pages of another site can make a server do.

The pages are on ``http://127.0.0.1``: one on a port whose origin the API's CORS
policy allows, the other (the attacker's) on another port. The API is on
``http://localhost``: another site, so Chromium sends ``Sec-Fetch-Site: cross-site``.
Every case reads the API
server's own log: the request arrived (with what ``Sec-Fetch-Site``), the status it
got, and whether the handler ran.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .harness import API_HOST, PAGE_HOST, _serve

pytestmark = pytest.mark.browser

LOG = web.AppKey("csrf_log", list)  # (method, path, status, Sec-Fetch-Site)
RAN = web.AppKey("csrf_ran", list)  # (method, path) of each handler run


async def record(request: web.Request) -> web.Response:
    request.app[RAN].append((request.method, request.path))
    if request.path == "/page":  # the API's own page: a form posting to its own server
        return web.Response(text=form_html("/submit", "application/x-www-form-urlencoded"),
                            content_type="text/html")  # fmt: skip
    return web.Response(text="done")


def access_log(app: web.Application) -> dict[str, Any]:
    """``AppRunner`` options that log every response of *app*'s server in ``app[LOG]``:
    an access log sees them all, those refused before any routing is done too."""

    class Log(AbstractAccessLogger):
        @property
        def enabled(self) -> bool:
            return True

        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            site = request.headers.get("Sec-Fetch-Site")
            app[LOG].append((request.method, request.path, response.status, site))

    return {"access_log_class": Log, "access_log": logging.getLogger("csrf-browser")}


def api_app(page_origin: str, mode: str, protection: bool) -> web.Application:
    app = web.Application()
    app[LOG], app[RAN] = [], []
    options = ResourceOptions(allow_credentials=True, allow_headers=("Content-Type",))
    config = {page_origin: options}
    routes = [
        app.router.add_post("/submit", record),
        app.router.add_post("/json", record),
        app.router.add_post("/exempt", record),
        app.router.add_get("/page", record),
        app.router.add_get("/nav", record),
        app.router.add_get("/img", record),
    ]
    cors: aiohttp_cors.CorsConfig | aiohttp_cors.AppCors
    if mode == "app":
        cors = aiohttp_cors.enable(app, config, csrf_protection=protection)
    else:
        cors = aiohttp_cors.setup(app, defaults=config, csrf_protection=protection)
        for route in routes:
            cors.add(route)
    cors.csrf_exempt(routes[2])
    return app


def form_html(action: str, enctype: str) -> str:
    return (
        f'<!doctype html><form method="post" action="{action}" enctype="{enctype}">'
        '<input name="amount" value="1000"></form>'
        "<script>document.forms[0].submit()</script>"
    )


async def page_handler(request: web.Request) -> web.Response:
    """Pages of the other site: /form?action=&enctype=, /go?to=, /img?src=, /blank."""
    query = request.query
    if request.path == "/form":
        html = form_html(query["action"], query["enctype"])
    elif request.path == "/go":
        html = f"<!doctype html><script>location.href = {json.dumps(query['to'])}</script>"
    elif request.path == "/img":
        html = f'<!doctype html><img src="{query["src"]}">'
    else:
        html = "<!doctype html><title>blank</title>"
    return web.Response(text=html, content_type="text/html")


@dataclass
class Case:
    name: str
    action: str  # "form", "fetch", "go", "img", "own-form"
    path: str
    ran: bool  # whether the handler must have run
    enctype: str = "application/x-www-form-urlencoded"
    init: dict[str, Any] | None = None  # fetch()'s options
    site: str = "cross-site"  # the Sec-Fetch-Site the server must have seen
    protection: bool = True
    page: str = "other"  # the page's origin: "allowed" by the API's policy, or "other"


URLENCODED, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"
NO_CORS = {"method": "POST", "mode": "no-cors", "body": "x"}
JSON_POST = {
    "method": "POST",
    "credentials": "include",
    "headers": {"Content-Type": "application/json"},
    "body": '{"amount": 1000}',
}
CASES = [
    Case("cross-site form POST, urlencoded", "form", "/submit", ran=False),
    Case("cross-site form POST, multipart", "form", "/submit", ran=False, enctype=MULTIPART),
    Case("cross-site no-cors fetch POST", "fetch", "/submit", ran=False, init=NO_CORS),
    Case("credentialed JSON fetch POST, allowed", "fetch", "/json", True, init=JSON_POST,
         page="allowed"),
    Case("cross-site form POST from the allowed origin", "form", "/submit", True, page="allowed"),
    Case("same-origin form POST", "own-form", "/submit", ran=True, site="same-origin"),
    Case("cross-site GET navigation", "go", "/nav", ran=True),
    Case("cross-site <img> GET", "img", "/img", ran=True),
    Case("cross-site form POST to an exempt route", "form", "/exempt", ran=True),
    Case("protection off: cross-site form POST", "form", "/submit", ran=True, protection=False),
]  # fmt: skip


async def until_logged(app: web.Application, path: str, method: str) -> tuple[Any, ...]:
    """The server's log line for *method* *path*, once the request has been answered."""
    for _ in range(500):
        for entry in app[LOG]:
            if entry[0] == method and entry[1] == path:
                return tuple(entry)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{method} {path} never reached the server: log {app[LOG]}")


async def run_case(page: Any, pages: dict[str, str], api_origin: str, case: Case, app: Any) -> str:
    page_origin = pages[case.page]
    url = api_origin + case.path
    method = "GET" if case.action in ("go", "img") else "POST"
    if case.action == "form":
        await page.goto(f"{page_origin}/form?action={url}&enctype={case.enctype}")
    elif case.action == "own-form":
        await page.goto(api_origin + "/page")
    elif case.action == "go":
        await page.goto(f"{page_origin}/go?to={url}")
    elif case.action == "img":
        await page.goto(f"{page_origin}/img?src={url}")
    else:
        await page.goto(page_origin + "/blank")
        said = await page.evaluate(
            """async ({url, init}) => {
                try { const r = await fetch(url, init); return [r.type, r.status]; }
                catch (error) { return ["error", String(error)]; }
            }""",
            {"url": url, "init": case.init},
        )
        if case.ran and said != ["cors", 200]:
            return f"the page could not read the answer: {said}"
    _, _, status, site = await until_logged(app, case.path, method)
    problems = []
    ran = (method, case.path) in app[RAN]
    if ran is not case.ran:
        problems.append(f"the handler {'ran' if ran else 'did not run'}")
    if status != (200 if case.ran else 403):
        problems.append(f"status {status}")
    if site != case.site:
        problems.append(f"Sec-Fetch-Site {site!r}, expected {case.site!r}")
    if case.init is JSON_POST and not any(e[0] == "OPTIONS" for e in app[LOG]):
        problems.append("no preflight before the JSON POST")
    return "; ".join(problems)


@pytest.mark.parametrize("mode", ["route", "app"])
async def test_what_another_site_can_make_the_server_do(browser, mode):
    pages, runners = {}, []
    for name in ("allowed", "other"):
        page_app = web.Application()
        page_app.router.add_get("/{any:.*}", page_handler)
        page_runner, page_port = await _serve(page_app, PAGE_HOST)
        pages[name] = f"http://{PAGE_HOST}:{page_port}"
        runners.append(page_runner)
    failures = []
    context = await browser.new_context()
    try:
        page = await context.new_page()
        for case in CASES:
            app = api_app(pages["allowed"], mode, case.protection)
            runner, port = await _serve(app, API_HOST, **access_log(app))
            runners.append(runner)
            problems = await run_case(page, pages, f"http://{API_HOST}:{port}", case, app)
            if problems:
                failures.append(f"{case.name}: {problems} (log {app[LOG]}, ran {app[RAN]})")
    finally:
        await context.close()
        for runner in runners:
            await runner.cleanup()
    assert not failures, "\n".join(failures)
