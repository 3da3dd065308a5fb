"""Two origins on one machine: a page on 127.0.0.1 calling an API on localhost.

Run it with ``./run demo`` (or ``python examples/demo.py --page-port 8080
--api-port 8081``) and open the printed address in a browser: the page makes
cross-origin calls that the API's CORS configuration allows, and others that
it does not, and shows what the browser let it read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

import aiohttp
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions
from aiohttp_cors.testing import cors_verdict

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aiohttp_cors demo</title>
<style>
 body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem; max-width: 60rem; }
 table { border-collapse: collapse; width: 100%; }
 td, th { border: 1px solid #ccc; padding: .4rem .6rem; text-align: left; vertical-align: top; }
 .readable { color: #0a6b0a; font-weight: bold; }
 .blocked { color: #b00020; font-weight: bold; }
 code { background: #f3f3f3; padding: 0 .2rem; }
 .why { font-size: 13px; color: #444; margin-top: .3rem; }
</style></head>
<body>
<h1>aiohttp_cors demo</h1>
<p>This page is served from <code>__PAGE__</code>; the API lives on another origin,
<code>__API__</code>. Each row is a <code>fetch()</code> from this page; the browser decides
whether the page may read the answer.</p>
<table><thead><tr><th>call</th><th>expected</th><th>what the browser said</th></tr></thead>
<tbody id="results"></tbody></table>
<p id="summary"></p>
<script>
const API = "__API__";
const cases = [
  ["simple GET /api/hello", "readable", API + "/api/hello", {}],
  ["PUT /api/items with JSON and X-Request-Id (preflighted)", "readable", API + "/api/items",
   {method: "PUT", headers: {"Content-Type": "application/json", "X-Request-Id": "42"},
    body: JSON.stringify({name: "demo"})}],
  ["GET /api/hello with cookies (credentials: include)", "readable", API + "/api/hello",
   {credentials: "include"}],
  ["read the exposed header X-Total-Count", "readable", API + "/api/items", {}, "X-Total-Count"],
  ["GET /api/private (only https://admin.example may read it)", "blocked",
   API + "/api/private", {}],
  ["PUT /api/items with an unlisted header X-Secret", "blocked", API + "/api/items",
   {method: "PUT", headers: {"X-Secret": "1"}}],
  ["DELETE /api/items (method not allowed)", "blocked", API + "/api/items", {method: "DELETE"}],
];
async function run() {
  const rows = document.getElementById("results");
  let agree = 0;
  for (const [label, expected, url, init, header] of cases) {
    let verdict, detail;
    try {
      const resp = await fetch(url, init);
      const text = await resp.text();
      verdict = "readable";
      detail = resp.status + " " + text;
      if (header) detail += " — " + header + ": " + resp.headers.get(header);
    } catch (err) {
      verdict = "blocked";
      detail = String(err);
    }
    if (verdict === expected) agree++;
    const tr = document.createElement("tr");
    tr.dataset.verdict = verdict;
    tr.innerHTML = `<td>${label}</td><td>${expected}</td>` +
      `<td class="${verdict}">${verdict}</td>`;
    tr.lastChild.title = detail;
    tr.lastChild.append(document.createElement("br"), document.createTextNode(detail));
    if (verdict === "blocked") {
      // Why: the page's own server asks the API what the browser asked, and the
      // browser model of python -m aiohttp_cors check judges the answers.
      const why = await (await fetch("/why", {method: "POST", body: JSON.stringify({
        path: url.slice(API.length), method: init.method || "GET",
        headers: init.headers || {}, credentials: init.credentials === "include",
        body: init.body || null})})).json();
      const said = document.createElement("div");
      said.className = "why";
      said.dataset.stage = why.stage;
      for (const [name, text] of [["at the", why.stage], ["why", why.reason],
                                  ["fix", why.suggestion]]) {
        const line = document.createElement("div");
        line.className = name === "at the" ? "stage" : name;
        line.textContent = `${name}: ${text}`;
        said.append(line);
      }
      tr.lastChild.append(said);
    }
    rows.append(tr);
  }
  const summary = document.getElementById("summary");
  summary.textContent = `${agree} of ${cases.length} calls behaved as the configuration intends.`;
  summary.dataset.done = String(agree === cases.length);
}
run();
</script>
</body></html>
"""


def api_app(page_origin: str) -> web.Application:
    """The API: CORS allows *page_origin*, with a few deliberate limits."""

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    async def items(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        return web.json_response(
            {"method": request.method, "got": body}, headers={"X-Total-Count": "3"}
        )

    async def private(request: web.Request) -> web.Response:
        return web.json_response({"secret": 42})

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    page_may_call = {
        page_origin: ResourceOptions(
            allow_credentials=True,
            allow_headers=("Content-Type", "X-Request-Id"),
            expose_headers=("X-Total-Count",),
            max_age=600,
        )
    }
    cors.add(app.router.add_get("/api/hello", hello), page_may_call)
    items_resource = cors.add(app.router.add_resource("/api/items"), page_may_call)
    cors.add(items_resource.add_route("GET", items))
    cors.add(items_resource.add_route("PUT", items))
    items_resource.add_route("DELETE", items)  # served, but CORS is not added for DELETE
    cors.add(
        app.router.add_get("/api/private", private),
        {"https://admin.example": ResourceOptions()},
    )
    return app


def api() -> web.Application:
    """The API as ``./run demo`` serves it, for ``python -m aiohttp_cors audit
    examples.demo:api`` (the page's origin on its default port)."""
    return api_app("http://127.0.0.1:8080")


def page_app(api_origin: str, page_origin: str) -> web.Application:
    """The page that calls the API from another origin, and says why a call was blocked."""
    html = PAGE.replace("__API__", api_origin).replace("__PAGE__", page_origin)

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    async def why(request: web.Request) -> web.Response:
        """The browser model's verdict on one of the page's calls, the API asked again."""
        call = await request.json()
        async with aiohttp.ClientSession() as session:
            verdict = await cors_verdict(
                session,
                api_origin + call["path"],
                origin=page_origin,
                method=call["method"],
                headers=call["headers"],
                credentials=call["credentials"],
                body=call["body"],
            )
        return web.json_response(
            {"stage": verdict.stage, "reason": verdict.reason, "suggestion": verdict.suggestion}
        )

    async def no_icon(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/why", why)
    app.router.add_get("/favicon.ico", no_icon)
    return app


async def serve(page_port: int, api_port: int) -> tuple[web.AppRunner, web.AppRunner, str]:
    """Start both servers on loopback; return their runners and the page's address."""
    page_origin = f"http://127.0.0.1:{page_port}"
    api_origin = f"http://localhost:{api_port}"
    api = web.AppRunner(api_app(page_origin), access_log=None)
    await api.setup()
    await web.TCPSite(api, "localhost", api_port).start()
    page = web.AppRunner(page_app(api_origin, page_origin), access_log=None)
    await page.setup()
    await web.TCPSite(page, "127.0.0.1", page_port).start()
    return page, api, page_origin + "/"


async def main(page_port: int, api_port: int) -> None:
    page, api, address = await serve(page_port, api_port)
    print(json.dumps({"page": address, "api": f"http://localhost:{api_port}"}))
    print(f"Open {address} in a browser (Ctrl+C stops the demo).", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await page.cleanup()
        await api.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page-port", type=int, default=8080, help="port of the page (8080)")
    parser.add_argument("--api-port", type=int, default=8081, help="port of the API (8081)")
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(options.page_port, options.api_port))
