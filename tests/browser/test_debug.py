"""Debug mode in Chromium: its console names the step that failed (origin, method,
header, credentials) with debug on; with debug off, what it says is unchanged.

The expected words are Chromium's own: if a Chromium release words them otherwise,
this fails, and docs/debugging.md's table of console messages must follow.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .harness import Case, handler, model_problems, observe

pytestmark = pytest.mark.browser

NO_ALLOW_ORIGIN = (
    "Response to preflight request doesn't pass access control check: "
    "No 'Access-Control-Allow-Origin' header is present on the requested resource."
)
CREDENTIALS = (
    "Response to preflight request doesn't pass access control check: The value of the "
    "'Access-Control-Allow-Credentials' header in the response is '' which must be 'true' "
    "when the request's credentials mode is 'include'."
)
#: step -> (fetch()'s init, origin allowed?, the console's words: debug off, debug on)
STEPS: dict[str, tuple[dict[str, Any], bool, str, str]] = {
    "origin": ({"method": "PUT"}, False, NO_ALLOW_ORIGIN, NO_ALLOW_ORIGIN),
    "method": (
        {"method": "DELETE"},
        True,
        NO_ALLOW_ORIGIN,
        "Method DELETE is not allowed by Access-Control-Allow-Methods in preflight response.",
    ),
    "header": (
        {"method": "PUT", "headers": {"X-Other": "1"}},
        True,
        NO_ALLOW_ORIGIN,
        "Request header field x-other is not allowed by Access-Control-Allow-Headers in "
        "preflight response.",
    ),
    "credentials": ({"method": "PUT", "credentials": "include"}, True, CREDENTIALS, CREDENTIALS),
}


def api(mode: str, debug: bool, allowed: bool) -> Any:
    def build(page: str) -> web.Application:
        origin = page if allowed else "https://elsewhere.example"
        config = {origin: ResourceOptions(allow_methods=("GET", "PUT"), allow_headers=("X-A",))}
        app = web.Application()
        resource = app.router.add_resource("/")
        routes = [resource.add_route(method, handler()) for method in ("GET", "PUT", "DELETE")]
        if mode == "app":
            aiohttp_cors.enable(app, config, debug=debug)
        else:
            cors = aiohttp_cors.setup(app, defaults=config, debug=debug)
            for route in routes:
                cors.add(route)
        return app

    return build


@pytest.mark.parametrize("mode", ["app", "route"])
async def test_the_console_names_the_failed_step_in_debug_mode(browser, mode):
    cases = [
        Case(
            f"{step}, debug {'on' if debug else 'off'}",
            api(mode, debug, allowed),
            init=init,
            verdict="blocked",
            preflights=1,
            reached=0,
        )
        for step, (init, allowed, _, _) in STEPS.items()
        for debug in (False, True)
    ]
    page_origin, observations = await observe(browser, cases)
    failures = []
    expectations = [(step, debug) for step in STEPS for debug in (False, True)]
    for seen, (step, debug) in zip(observations, expectations, strict=True):
        expected = STEPS[step][3 if debug else 2]
        console = " ".join(seen.console)
        if seen.seen.get("verdict") != "blocked" or expected not in console:
            failures.append(f"{seen.case.name}: {seen.seen}; console: {console or 'nothing'}")
        if len(seen.log) != 1 or seen.hits:
            failures.append(f"{seen.case.name}: log {seen.log}, handler ran {len(seen.hits)}")
        # check (the browser model) blames what Chromium blames, in both modes.
        failures += [f"{seen.case.name}: {p}" for p in await model_problems(page_origin, seen)]
    assert not failures, "\n".join(failures)
