"""The servers the benchmark compares, one application per kind.

Every kind serves the same paths with the same handlers:

- ``bare``: no CORS at all;
- ``floor``: CORS written by hand into the handlers, the least code that sends
  exactly the headers this library sends (the benchmark checks that they match);
- ``route``: this library, route by route (``aiohttp_cors.setup`` + ``cors.add``);
- ``app``: this library, app-wide (``aiohttp_cors.enable``);
- ``v081``: ``aiohttp-cors`` 0.8.1 (same import name, run from its own venv);
- ``route+csrf``, ``app+csrf``: each mode with cross-origin write protection on;
- ``route+mw``, ``route+mw+csrf``: route mode in an application that has a middleware
  of its own (one that does nothing), without and with the write guard;
- ``route+cached``, ``app+cached``: each mode with /one's origin admitted by a
  ``CachedOrigins`` (a store's answer, remembered) instead of listed.

This module imports only aiohttp and ``aiohttp_cors``, so that the 0.8.1 venv
can run it unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

import aiohttp_cors

ALLOWED = "http://app.example.test"
DENIED = "http://evil.example.test"
#: For the many-origins scenarios: matches the last wildcard pattern added.
TENANT = "https://api.tenant999.example.com"
N_EXACT = 10_000
N_PATTERNS = 1_000

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACEH = "Access-Control-Expose-Headers"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACMA = "Access-Control-Max-Age"
ACRM = "Access-Control-Request-Method"
ACRH = "Access-Control-Request-Headers"
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
FAILED = "CORS preflight request failed: "

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def options_kwargs(path: str) -> dict[str, Any]:
    """The ``ResourceOptions`` keyword arguments of each CORS-enabled path."""
    if path == "/cred":
        return {"allow_credentials": True, "expose_headers": "*"}
    return {
        "allow_headers": ("X-Token", "Content-Type"),
        "allow_methods": ("GET", "PUT"),
        "expose_headers": ("X-Request-Id",),
        "max_age": 600,
    }


def many_origins() -> list[str]:
    """10,000 exact origins, then 1,000 subdomain patterns; TENANT matches the last."""
    exact = [f"https://site{i}.example.net" for i in range(N_EXACT)]
    return exact + [f"https://*.tenant{i}.example.com" for i in range(N_PATTERNS)]


def many_origins_081() -> list[str]:
    """0.8.1 has no patterns: 11,000 exact origins, TENANT the last."""
    exact = [f"https://site{i}.example.net" for i in range(N_EXACT + N_PATTERNS - 1)]
    return [*exact, TENANT]


# -- the handlers every kind shares ------------------------------------------------------


async def data(request: web.Request) -> web.Response:
    return web.Response(text="ok", headers={"X-Request-Id": "42"})


async def cred(request: web.Request) -> web.Response:
    return web.Response(text="ok", headers={"X-Request-Id": "42", "X-Trace": "abc"})


def bare_app() -> web.Application:
    app = web.Application()
    for path, handler in (("/data", data), ("/cred", cred), ("/one", data), ("/many", data)):
        resource = app.router.add_resource(path)
        resource.add_route("GET", handler)
        resource.add_route("PUT", handler)
    return app


# -- the floor: CORS by hand -------------------------------------------------------------

#: What expose_headers="*" leaves out: safelisted, never exposable, hop-by-hop.
NOT_LISTED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "set-cookie2",
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
        "set-cookie",
    }
)


def add_actual(
    request: web.Request,
    response: web.StreamResponse,
    allowed: Callable[[str], bool],
    path: str,
    preparing: bool = False,
) -> None:
    """By hand: the CORS headers of an actual response of *path*.

    *preparing*: called from a prepare hook, when aiohttp has already added its
    Date and Server headers (before that, a handler knows they will come).
    """
    headers = response.headers
    origin = request.headers.get("Origin")
    if origin is not None and allowed(origin):
        if path == "/cred":
            names = [k for k in headers if k.lower() not in NOT_LISTED]
            if not preparing:
                names += ["Date", "Server"]
            expose = ",".join(names)
            headers[ACAO] = origin
            headers[ACAC] = "true"
            headers[ACEH] = expose
        else:
            headers[ACAO] = origin
            headers[ACEH] = "X-Request-Id"
    headers["Vary"] = "Origin"


METHODS = frozenset({"GET", "PUT"})
ALLOWED_HEADERS = frozenset({"x-token", "content-type"})


def answer_preflight(
    request: web.Request, origin: str, method: str, allowed: Callable[[str], bool]
) -> web.Response:
    """By hand: the answer to a preflight of a path configured like /data."""
    if not allowed(origin):
        reason = f"origin '{origin}' is not allowed"
    elif method not in METHODS:
        reason = f"request method '{method}' is not allowed for '{origin}' origin"
    else:
        line = ",".join(request.headers.getall(ACRH, ()))
        names = [n for n in (n.strip().lower() for n in line.split(",")) if n]
        denied = [n for n in names if n not in ALLOWED_HEADERS]
        if not denied:
            answer = {ACAO: origin, ACMA: "600", ACAM: method}
            if names:
                answer[ACAH] = ",".join(n.upper() for n in names)
            answer["Vary"] = PREFLIGHT_VARY
            return web.Response(headers=answer)
        reason = "headers are not allowed: " + ", ".join(n.upper() for n in denied)
    return web.Response(status=403, text=FAILED + reason, headers={"Vary": PREFLIGHT_VARY})


def floor_actual(allowed: Callable[[str], bool], path: str) -> Handler:
    """The handler of *path*, CORS headers added by hand."""
    inner = cred if path == "/cred" else data

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await inner(request)
        add_actual(request, response, allowed, path)
        return response

    return handler


def floor_preflight(allowed: Callable[[str], bool]) -> Handler:
    """The OPTIONS handler answering preflights by hand."""

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = request.headers
        origin = headers.get("Origin")
        method = headers.get(ACRM)
        if origin is None or method is None:
            raise web.HTTPMethodNotAllowed("OPTIONS", ["GET", "PUT"])
        return answer_preflight(request, origin, method, allowed)

    return handler


def tenant_matcher() -> Callable[[str], bool]:
    """By hand: a set of exact origins and a dict of wildcard parents, label by label."""
    exact = set()
    parents = set()
    for origin in many_origins():
        if "*." in origin:
            parents.add(origin.split("*.", 1)[1])
        else:
            exact.add(origin)

    def allowed(origin: str) -> bool:
        if origin in exact:
            return True
        if origin.startswith("https://"):
            host = origin[8:]
            dot = host.find(".")
            while dot > 0:
                if host[dot + 1 :] in parents:
                    return True
                dot = host.find(".", dot + 1)
        return False

    return allowed


def matchers() -> dict[str, Callable[[str], bool]]:
    """path -> whether an origin is allowed there."""
    single = {ALLOWED}.__contains__
    return {
        "/data": single,
        "/cred": single,
        "/one": {TENANT}.__contains__,
        "/many": tenant_matcher(),
    }


def floor_app() -> web.Application:
    """The floor of route mode: CORS in each handler, an OPTIONS handler per resource."""
    app = web.Application()
    for path, allowed in matchers().items():
        resource = app.router.add_resource(path)
        handler = floor_actual(allowed, path)
        resource.add_route("GET", handler)
        resource.add_route("PUT", handler)
        resource.add_route("OPTIONS", floor_preflight(allowed))
    return app


def floor_hook_app() -> web.Application:
    """Route mode's floor with route mode's mechanism: one prepare hook, OPTIONS handlers."""
    app = bare_app()
    by_path = matchers()
    for resource in app.router.resources():
        assert isinstance(resource, web.Resource)
        resource.add_route("OPTIONS", floor_preflight(by_path[resource.canonical]))

    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        if request.method != "OPTIONS":
            add_actual(request, response, by_path[request.path], request.path, preparing=True)

    app.on_response_prepare.append(hook)
    return app


def floor_app_wide() -> web.Application:
    """The floor of app-wide mode: one middleware, first, doing CORS for every route."""
    by_path = matchers()

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = by_path[request.path]
        if request.method == "OPTIONS":
            origin = request.headers.get("Origin")
            method = request.headers.get(ACRM)
            if origin is not None and method is not None:
                return answer_preflight(request, origin, method, allowed)
        response = await handler(request)
        add_actual(request, response, allowed, request.path)
        return response

    app = bare_app()
    app.middlewares.append(cors)
    return app


def floor_app_wide_hook() -> web.Application:
    """App-wide mode's floor with app-wide mode's mechanism: a middleware answering
    preflights, and one prepare hook adding the headers of every other response
    (which also reaches aiohttp's own 404/405/500 and responses prepared in handlers)."""
    by_path = matchers()

    @web.middleware
    async def preflights(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS":
            origin = request.headers.get("Origin")
            method = request.headers.get(ACRM)
            if origin is not None and method is not None:
                return answer_preflight(request, origin, method, by_path[request.path])
        return await handler(request)

    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        if request.method != "OPTIONS":
            add_actual(request, response, by_path[request.path], request.path, preparing=True)

    app = bare_app()
    app.middlewares.append(preflights)
    app.on_response_prepare.append(hook)
    return app


# -- the libraries -----------------------------------------------------------------------


def configs(cors: Any, origins: list[str], cached: bool = False) -> dict[str, dict[Any, Any]]:
    """path -> origin -> options, built with the running package's ResourceOptions;
    *cached*: /one's origin is admitted by a ``CachedOrigins`` instead of listed."""
    options = cors.ResourceOptions
    standard = options(**options_kwargs("/data"))
    return {
        "/data": {ALLOWED: standard},
        "/cred": {ALLOWED: options(**options_kwargs("/cred"))},
        "/one": {(tenants() if cached else TENANT): standard},
        "/many": dict.fromkeys(origins, standard),
    }


def tenants() -> Any:
    """The tenant's origin as a store would admit it: remembered an hour."""

    async def load(origin: str) -> bool:
        return origin == TENANT

    return aiohttp_cors.CachedOrigins(load, ttl=3600)


def route_app(
    csrf: bool = False, middleware: bool = False, cached: bool = False
) -> web.Application:
    """Route mode: ``setup`` then ``cors.add`` per resource (0.8.1's API); *middleware*:
    the application has one of its own."""
    app = bare_app()
    if middleware:
        app.middlewares.append(noop_middleware)
    # 0.8.1 has no write guard: the keyword is given only when it is on.
    cors = aiohttp_cors.setup(app, csrf_protection=True) if csrf else aiohttp_cors.setup(app)
    origins = many_origins() if hasattr(aiohttp_cors, "enable") else many_origins_081()
    per_path = configs(aiohttp_cors, origins, cached)
    for resource in list(app.router.resources()):
        cors.add(resource, per_path[resource.canonical])
    return app


def app_wide_app(csrf: bool = False, cached: bool = False) -> web.Application:
    """App-wide mode: one ``enable`` call; the paths with other options override it."""
    app = bare_app()
    per_path = configs(aiohttp_cors, many_origins(), cached)
    cors = aiohttp_cors.enable(app, per_path["/data"], csrf_protection=csrf)
    for resource in list(app.router.resources()):
        if resource.canonical != "/data":
            cors.add(resource, per_path[resource.canonical])
    return app


GUARDED_WRITE = "allowed PUT, cross-site"
#: The kinds of the report's main table, in its column order (``v081``: aiohttp-cors
#: 0.8.1, in a venv of its own).
KINDS = ["bare", "floor", "floor-hook", "route", "floor-app", "floor-app-hook", "app", "v081"]
#: name, method, path, request headers. Preflights are compared with bare aiohttp's
#: plain GET (bare aiohttp has no preflight answer).
SCENARIOS: list[tuple[str, str, str, dict[str, str]]] = [
    ("no Origin", "GET", "/data", {}),
    ("allowed GET", "GET", "/data", {"Origin": ALLOWED}),
    ("credentialed GET, expose '*'", "GET", "/cred", {"Origin": ALLOWED, "Cookie": "s=1"}),
    ("disallowed GET", "GET", "/data", {"Origin": DENIED}),
    (
        "allowed preflight",
        "OPTIONS",
        "/data",
        {"Origin": ALLOWED, ACRM: "PUT", ACRH: "x-token, content-type"},
    ),
    ("rejected preflight", "OPTIONS", "/data", {"Origin": DENIED, ACRM: "PUT"}),
    ("GET, 1 origin", "GET", "/one", {"Origin": TENANT}),
    ("GET, 10k origins + 1k patterns", "GET", "/many", {"Origin": TENANT}),
    # What the write guard checks: an unsafe method, from another site it trusts.
    (GUARDED_WRITE, "PUT", "/data", {"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"}),
]


Request = tuple[str, str, dict[str, str]]


def bare_equivalent(method: str, path: str, headers: dict[str, str]) -> Request:
    """What bare aiohttp is measured with for a scenario: the same request, or a plain GET."""
    if method == "OPTIONS":
        return "GET", path, {}
    return method, path, headers


async def noop_hook(request: web.Request, response: web.StreamResponse) -> None:
    """Does nothing: what aiohttp itself spends calling one prepare hook."""


@web.middleware
async def noop_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Does nothing: what aiohttp itself spends calling one middleware."""
    return await handler(request)


def bare_with_hook() -> web.Application:
    app = bare_app()
    app.on_response_prepare.append(noop_hook)
    return app


def bare_with_middleware() -> web.Application:
    app = bare_app()
    app.middlewares.append(noop_middleware)
    return app


BUILDERS: dict[str, Callable[[], web.Application]] = {
    "bare": bare_app,
    "floor": floor_app,
    "floor-hook": floor_hook_app,
    "floor-app": floor_app_wide,
    "floor-app-hook": floor_app_wide_hook,
    "route": route_app,
    "app": app_wide_app,
    "v081": route_app,
    "route+csrf": lambda: route_app(csrf=True),
    "app+csrf": lambda: app_wide_app(csrf=True),
    "route+mw": lambda: route_app(middleware=True),
    "route+mw+csrf": lambda: route_app(csrf=True, middleware=True),
    "route+cached": lambda: route_app(cached=True),
    "app+cached": lambda: app_wide_app(cached=True),
    # In-process only: aiohttp's own cost of the mechanisms the library relies on.
    "bare+hook": bare_with_hook,
    "bare+middleware": bare_with_middleware,
}


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    web.run_app(BUILDERS[kind](), host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
