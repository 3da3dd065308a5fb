"""Cookies across origins in Chromium: CORS allowing credentials is not enough when
the page and the API are different *sites* (127.0.0.1 and localhost are); on one site
(localhost on two ports) a credentialed fetch sends the API's cookie back.

docs/guide.md's cookie section says what these tests show."""

from __future__ import annotations

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .harness import _serve

pytestmark = pytest.mark.browser

PAGE = "<!doctype html><title>cookies</title>"
#: The page sets the API's cookie with a credentialed fetch, then asks which cookie the
#: API received on a second one.
ROUND_TRIP = """
async (api) => {
  await fetch(api + "/set", {credentials: "include"});
  const response = await fetch(api + "/echo", {credentials: "include"});
  return await response.text();
}
"""


def api(page_origin: str, attributes: str) -> web.Application:
    async def set_cookie(request: web.Request) -> web.Response:
        return web.Response(text="set", headers={"Set-Cookie": f"session=s1; Path=/{attributes}"})

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=request.cookies.get("session", "none"))

    app = web.Application()
    aiohttp_cors.enable(app, {page_origin: ResourceOptions(allow_credentials=True)})
    app.router.add_get("/set", set_cookie)
    app.router.add_get("/echo", echo)
    return app


@pytest.mark.parametrize(
    ("page_host", "attributes", "sent"),
    [
        ("127.0.0.1", "", "none"),  # another site: SameSite=Lax (the default) stays home
        ("127.0.0.1", "; SameSite=Lax", "none"),
        # Third-party cookies: Chromium here sends them no more.
        ("127.0.0.1", "; SameSite=None; Secure", "none"),
        ("localhost", "", "s1"),  # the same site on another port: sent
        ("localhost", "; SameSite=Strict", "s1"),
        ("localhost", "; SameSite=None; Secure", "s1"),  # Secure is fine on localhost
    ],
)
async def test_which_cookies_a_credentialed_fetch_sends(browser, page_host, attributes, sent):
    page_app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    page_app.router.add_get("/", page)
    page_runner, page_port = await _serve(page_app, page_host)
    page_origin = f"http://{page_host}:{page_port}"
    api_runner, api_port = await _serve(api(page_origin, attributes), "localhost")
    context = await browser.new_context()
    try:
        tab = await context.new_page()
        await tab.goto(page_origin + "/")
        received = await tab.evaluate(ROUND_TRIP, f"http://localhost:{api_port}")
        assert received == sent
    finally:
        await context.close()
        await page_runner.cleanup()
        await api_runner.cleanup()
