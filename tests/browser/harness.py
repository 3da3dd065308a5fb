"""Table-driven CORS cases in Chromium: a page on one origin, the API on another.

The page is served from ``http://127.0.0.1:P1``; every case gets its own API server
(its own configuration) on ``http://localhost:P``. The page runs the case's
``fetch`` (or WebSocket) and reports what the browser let it read; the API server
logs every request it answered, so a case can also say how many preflights the
browser sent and how many times the handler ran.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port

from aiohttp_cors.model import PageRequest
from aiohttp_cors.testing import cors_verdict

PAGE_HOST: Final = "127.0.0.1"
API_HOST: Final = "localhost"

# Requests the API servers answered, per server: (method, preflight?, path, status).
LOG: Final = web.AppKey("browser_log", list)
# Handler runs, per server (any sub-application's handler counts for the root's log).
HITS: Final = web.AppKey("browser_hits", list)


def hit(request: web.Request) -> None:
    """Record that a handler ran (call it from every case handler)."""
    request.config_dict[HITS].append((request.method, request.path))


def handler(
    text: str = "ok", status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[web.Request], Any]:
    """A case handler answering *text* with *status* and *headers*."""

    async def handle(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(text=text, status=status, headers=headers)

    return handle


@dataclass
class Case:
    """One request a page makes, and what the browser must make of it."""

    name: str
    build: Callable[[str], web.Application]  # given the page's origin
    path: str = "/"
    init: dict[str, Any] = field(default_factory=dict)  # fetch()'s second argument
    verdict: str = "readable"  # or "blocked"
    status: int | None = 200  # what the page reads (readable cases)
    body: str | None = "ok"  # None: not checked
    read: dict[str, str | None] = field(default_factory=dict)  # header -> value the page sees
    preflights: int = 0  # preflights the server received
    reached: int = 1  # handler runs
    repeat: int = 1  # the fetch is made this many times (max_age caching)
    origin: str = "page"  # "page", or "null" for a sandboxed iframe
    before: str | None = None  # "no-cors": the URL is first loaded without CORS
    websocket: bool = False  # open a WebSocket to the path instead of fetch()
    says: str | None = None  # expected in ``check``'s suggestion (blocked cases)


# Runs in the page (or in the sandboxed iframe): the case's requests, and what the
# browser let the script see.
FETCH_JS: Final = """
async ({url, init, read, repeat, before, websocket}) => {
  if (websocket) {
    return await new Promise(resolve => {
      const socket = new WebSocket(url.replace(/^http/, "ws"));
      socket.onopen = () => socket.send("hi");
      socket.onmessage = event => {
        resolve({verdict: "readable", status: 101, body: event.data, headers: {}});
        socket.close();
      };
      socket.onerror = () => resolve({verdict: "blocked", error: "WebSocket error"});
    });
  }
  if (before === "no-cors") {
    await fetch(url, {mode: "no-cors"});
  }
  let result;
  for (let i = 0; i < repeat; i++) {
    try {
      const response = await fetch(url, init);
      const body = await response.text();
      const headers = {};
      for (const name of read) headers[name] = response.headers.get(name);
      result = {verdict: "readable", status: response.status, body, headers};
    } catch (error) {
      result = {verdict: "blocked", error: String(error)};
    }
  }
  return result;
}
"""

# The sandboxed iframe (its origin is "null") runs FETCH_JS on request.
SANDBOX_HTML: Final = (
    "<!doctype html><script>const run = "
    + FETCH_JS
    + """;
window.addEventListener("message", async event => {
  parent.postMessage(await run(event.data), "*");
});
parent.postMessage("ready", "*");
</script>"""
)

PAGE_HTML: Final = """<!doctype html><html><head><meta charset="utf-8"><title>cases</title>
</head><body><script>
window.inSandbox = (args) => new Promise(resolve => {
  const frame = document.createElement("iframe");
  frame.sandbox = "allow-scripts";
  frame.srcdoc = SANDBOX;
  window.addEventListener("message", function listen(event) {
    if (event.source !== frame.contentWindow) return;
    if (event.data === "ready") { frame.contentWindow.postMessage(args, "*"); return; }
    window.removeEventListener("message", listen);
    // Removed later: Chromium reports why it blocked a fetch after the fetch has
    // failed, and a report from a frame already gone never reaches the console.
    setTimeout(() => frame.remove(), 3000);
    resolve(event.data);
  });
  document.body.appendChild(frame);
});
</script></body></html>"""


async def _log_request(request: web.Request, response: web.StreamResponse) -> None:
    preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    request.config_dict[LOG].append((request.method, preflight, request.path, response.status))


async def _serve(app: web.Application, host: str, **options: Any) -> tuple[web.AppRunner, int]:
    """Serve *app* on *host*, on a free port; *options* go to ``AppRunner``."""
    runner = web.AppRunner(app, **{"access_log": None, **options})
    await runner.setup()
    port = unused_port()
    await web.TCPSite(runner, host, port).start()
    return runner, port


def _check(case: Case, seen: dict[str, Any], log: list[Any], hits: list[Any]) -> list[str]:
    """What differs between the case's expectations and what happened."""
    problems = []
    if seen.get("verdict") != case.verdict:
        problems.append(f"expected {case.verdict}, browser said {seen}")
    elif case.verdict == "readable":
        if case.status is not None and seen["status"] != case.status:
            problems.append(f"status {seen['status']}, expected {case.status}")
        if case.body is not None and seen["body"] != case.body:
            problems.append(f"body {seen['body']!r}, expected {case.body!r}")
        for name, value in case.read.items():
            if seen["headers"].get(name) != value:
                problems.append(
                    f"header {name} read as {seen['headers'].get(name)!r}, expected {value!r}"
                )
    preflights = sum(1 for entry in log if entry[1])
    if preflights != case.preflights:
        problems.append(f"{preflights} preflights reached the server, expected {case.preflights}")
    if len(hits) != case.reached:
        problems.append(f"the handler ran {len(hits)} times, expected {case.reached}")
    return problems


@dataclass
class Observation:
    """What happened for one case: the page's view, the server's log, the console."""

    case: Case
    seen: dict[str, Any]
    log: list[Any]
    hits: list[Any]
    console: list[str]


async def observe(browser: Any, cases: list[Case]) -> tuple[str, list[Observation]]:
    """Run *cases* in one fresh browser context: the page's origin, and each observation."""
    page_app = web.Application()

    async def page_handler(request: web.Request) -> web.Response:
        # "</script>" inside the inline script's string would end the script early.
        html = PAGE_HTML.replace("SANDBOX", json.dumps(SANDBOX_HTML).replace("</", "<\\/"))
        return web.Response(text=html, content_type="text/html")

    page_app.router.add_get("/", page_handler)
    page_runner, page_port = await _serve(page_app, PAGE_HOST)
    runners = [page_runner]
    observations: list[Observation] = []
    context = await browser.new_context()
    try:
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page_origin = f"http://{PAGE_HOST}:{page_port}"
        await page.goto(page_origin + "/")
        for case in cases:
            app = case.build(page_origin)
            app[LOG] = []
            app[HITS] = []
            app.on_response_prepare.append(_log_request)
            runner, port = await _serve(app, API_HOST)
            runners.append(runner)
            console.clear()
            args = {
                "url": f"http://{API_HOST}:{port}{case.path}",
                "init": case.init,
                "read": list(case.read),
                "repeat": case.repeat,
                "before": case.before,
                "websocket": case.websocket,
            }
            if case.origin == "null":
                seen = await page.evaluate("args => window.inSandbox(args)", args)
            else:
                seen = await page.evaluate(FETCH_JS, args)
            await asyncio.sleep(0)  # let the server finish logging the last response
            if seen.get("verdict") == "blocked" and not case.websocket:
                await _console_settled(console)
            observations.append(Observation(case, seen, app[LOG], app[HITS], list(console)))
    finally:
        await context.close()
        for runner in runners:
            await runner.cleanup()
    return page_origin, observations


async def _console_settled(console: list[str], timeout: float = 2.0) -> None:
    """Wait until Chromium has reported why it blocked a request.

    The report reaches the console event asynchronously, after the page's own
    script has already seen the failure (later still from a sandboxed iframe).
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while (
        not any("blocked by CORS policy" in line for line in console)
        and asyncio.get_running_loop().time() < deadline
    ):
        await asyncio.sleep(0.01)


# Chromium's console wording -> the model's code for the same reason.
CONSOLE_CODES: Final = [
    ("does not have HTTP ok status", "preflight-status"),
    ("No 'Access-Control-Allow-Origin' header", "no-allow-origin"),
    ("contains multiple values", "several-allow-origins"),
    ("must not be the wildcard '*' when the request's credentials mode", "star-with-credentials"),
    ("that is not equal to the supplied origin", "other-origin"),
    ("'Access-Control-Allow-Credentials' header in the response is", "no-allow-credentials"),
    ("is not allowed by Access-Control-Allow-Methods", "method"),
    ("Request header field authorization is not allowed", "authorization"),
    ("is not allowed by Access-Control-Allow-Headers", "header"),
]


def console_code(console: list[str]) -> str | None:
    """The reason Chromium gave for blocking, as a model code."""
    text = " ".join(console)
    for wording, code in CONSOLE_CODES:
        if wording in text:
            return code
    return None


async def model_problems(page_origin: str, seen: Observation) -> list[str]:
    """What ``check`` and ``aiohttp_cors.testing`` (the model fed a twin server's answers,
    through ``cors_verdict``) say differently from Chromium."""
    case = seen.case
    if case.websocket or case.before or case.repeat > 1:
        return []  # outside the model: WebSockets, the HTTP cache, the preflight cache
    init = case.init
    request = PageRequest(
        origin="null" if case.origin == "null" else page_origin,
        method=init.get("method", "GET"),
        headers=tuple(init.get("headers", {}).items()),
        credentials=init.get("credentials") == "include",
    )
    twin = case.build(page_origin)
    twin[LOG] = []
    twin[HITS] = []
    async with TestClient(TestServer(twin, host=PAGE_HOST)) as client:
        verdict = await cors_verdict(
            client,
            case.path,
            origin=request.origin,
            method=request.method,
            headers=request.headers,
            credentials=request.credentials,
        )
    browser_verdict = seen.seen.get("verdict")
    if verdict.readable is not (browser_verdict == "readable"):
        return [f"check says {verdict}, Chromium says {browser_verdict}"]
    if verdict.readable:
        # The response headers the page read: exactly those the model says it can.
        return [
            f"check says {name} is {'' if name.lower() in verdict.exposed else 'not '}"
            f"readable, Chromium read {value!r}"
            for name, value in seen.seen.get("headers", {}).items()
            if (value is not None) is not (name.lower() in verdict.exposed)
        ]
    code = console_code(seen.console)
    if code != verdict.code:
        return [f"check blames {verdict.code!r} ({verdict.reason}), Chromium {code!r}"]
    preflight_failed = any(entry[1] for entry in seen.log) and not seen.hits
    if preflight_failed is not (verdict.stage == "preflight"):
        return [f"check blocks at the {verdict.stage}, Chromium did not"]
    if case.says is not None and case.says not in verdict.suggestion:
        return [f"check suggests {verdict.suggestion!r}, expected {case.says!r} in it"]
    return []


async def run_cases(browser: Any, cases: list[Case]) -> list[str]:
    """Run *cases*; a line per failed case, naming it and what the browser said.

    Each case is also run through ``check`` against a twin server: its verdict, and
    for blocked cases its reason and stage, must be Chromium's.
    """
    page_origin, observations = await observe(browser, cases)
    failures = []
    for seen in observations:
        problems = _check(seen.case, seen.seen, seen.log, seen.hits)
        problems += await model_problems(page_origin, seen)
        if problems:
            said = "; ".join(seen.console) or "nothing"
            failures.append(f"{seen.case.name}: {'; '.join(problems)} (console: {said})")
    return failures
