"""Cross-origin write protection (``csrf_protection=True``), over real HTTP, in both modes.

Every case checks whether the handler ran, not only the status: a refused request must
never reach a handler or a user middleware.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiohttp_cors
from aiohttp_cors import CorsConfigError, ResourceOptions

from .rawhttp import read_response

ALLOWED = "http://client.example"
EVIL = "http://evil.example"
PARTNER = "https://partner.example.net"  # allowed by a predicate
MODES = ("route", "app")
#: The paths of the application, and what each is.
WRITE, HOOK, HOOKSHOT, CALLBACK, OTHER_PATH = "/write", "/hooks/in", "/hookshot", "/callback", "/x"
RAN = web.AppKey("ran", list)


async def handler(request: web.Request) -> web.Response:
    request.app[RAN].append(("handler", request.method, request.path))
    return web.Response(text="done")


@web.middleware
async def user_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    request.app[RAN].append(("middleware", request.method, request.path))
    return await handler(request)


def config() -> dict[object, ResourceOptions]:
    options = ResourceOptions(allow_credentials=True, allow_headers="*", allow_methods="*")
    return {
        ALLOWED: options,
        "https://*.example.com": options,
        (lambda origin, request: origin == PARTNER): options,
    }


def protected_app(mode: str, protection: bool | None = True, **extra: object) -> web.Application:
    """Writes at /write, /hooks/in (exempt by prefix), /hookshot (not: a prefix is whole
    path segments), /callback (exempt by route), and a second path at /x."""
    app = web.Application(middlewares=[user_middleware])
    app[RAN] = []
    routes = []
    for path in (WRITE, HOOK, HOOKSHOT, CALLBACK, OTHER_PATH):
        resource = app.router.add_resource(path)
        methods = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
        routes += [resource.add_route(method, handler) for method in methods]
    kwargs = {"csrf_protection": protection, "csrf_exempt_prefixes": ["/hooks/"], **extra}
    cors: aiohttp_cors.CorsConfig | aiohttp_cors.AppCors
    if mode == "app":
        cors = aiohttp_cors.enable(app, config(), **kwargs)  # type: ignore[arg-type]
    else:
        cors = aiohttp_cors.setup(app, defaults=config(), **kwargs)  # type: ignore[arg-type]
        for route in routes:
            cors.add(route)
    cors.csrf_exempt(_resource(app, CALLBACK))
    return app


def guarded(
    app: web.Application, mode: str, origins: dict[object, ResourceOptions], *entities: object
) -> aiohttp_cors.CorsConfig | aiohttp_cors.AppCors:
    """The write guard on *app* in *mode*; route mode gives CORS to *entities*."""
    if mode == "app":
        return aiohttp_cors.enable(app, origins, csrf_protection=True)
    cors = aiohttp_cors.setup(app, defaults=origins, csrf_protection=True)
    for entity in entities:
        cors.add(entity)
    return cors


async def check_statuses(client, path: str, cases: list[tuple[str, str, int]]) -> None:
    """Each (method, origin, status): a cross-site request from *origin* gets *status*."""
    for method, origin, status in cases:
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": origin}
        resp = await client.request(method, path, headers=headers)
        assert resp.status == status, (method, origin)


def _resource(app: web.Application, path: str) -> web.AbstractResource:
    return next(r for r in app.router.resources() if r.canonical == path)


def logged_pair(*middlewares: object) -> tuple[web.Application, web.Application]:
    """An application and one to mount in it, both with *middlewares*, sharing one log."""
    app = web.Application(middlewares=middlewares)  # type: ignore[arg-type]
    sub = web.Application(middlewares=middlewares)  # type: ignore[arg-type]
    app[RAN] = sub[RAN] = []
    return app, sub


def ran(app: web.Application, path: str = WRITE) -> bool:
    return any(entry[0] == "handler" and entry[2] == path for entry in app[RAN])


#: (name, method, Sec-Fetch-Site lines, Origin lines, whether it goes through). "OWN"
#: stands for the server's own origin, filled in once the port is known.
CASES = [
    ("no Origin, no Sec-Fetch-Site: not a browser", "POST", [], [], True),
    ("same-origin, even with another Origin", "POST", ["same-origin"], [EVIL], True),
    ("none: the user typed it", "POST", ["none"], [], True),
    ("cross-site from an exact origin", "POST", ["cross-site"], [ALLOWED], True),
    ("cross-site from a wildcard origin", "PUT", ["cross-site"], ["https://a.example.com"], True),
    ("cross-site from a predicate's origin", "DELETE", ["cross-site"], [PARTNER], True),
    ("same-site from an allowed origin", "PATCH", ["same-site"], [ALLOWED], True),
    ("cross-site from another origin", "POST", ["cross-site"], [EVIL], False),
    ("same-site from another origin", "POST", ["same-site"], [EVIL], False),
    ("cross-site without Origin", "POST", ["cross-site"], [], False),
    ("cross-site from the server's own origin", "POST", ["cross-site"], ["OWN"], True),
    ("odd case is not a browser's: another origin", "POST", ["Same-Origin"], [EVIL], False),
    ("odd case is not a browser's: an allowed origin", "POST", ["SAME-ORIGIN"], [ALLOWED], True),
    ("an unknown value, no Origin", "PUT", ["same-origin, none"], [], False),
    ("two Sec-Fetch-Site lines", "POST", ["same-origin", "same-origin"], [EVIL], False),
    (
        "two Sec-Fetch-Site lines, an allowed origin",
        "POST",
        ["none", "cross-site"],
        [ALLOWED],
        True,
    ),
    ("no Sec-Fetch-Site, the server's own origin", "POST", [], ["OWN"], True),
    ("no Sec-Fetch-Site, own origin in capitals", "PUT", [], ["OWN-UPPER"], True),
    ("no Sec-Fetch-Site, an allowed origin", "DELETE", [], [ALLOWED], True),
    ("no Sec-Fetch-Site, another origin", "POST", [], [EVIL], False),
    ("no Sec-Fetch-Site, another port of the server's host", "POST", [], ["OWN-OTHER-PORT"], False),
    ("no Sec-Fetch-Site, https on the server's host", "POST", [], ["OWN-HTTPS"], False),
    ("no Sec-Fetch-Site, null", "POST", [], ["null"], False),
    ("cross-site, null", "POST", ["cross-site"], ["null"], False),
    ("two Origin lines, both allowed", "POST", [], [ALLOWED, ALLOWED], False),
    ("two Origin lines, cross-site", "POST", ["cross-site"], [EVIL, ALLOWED], False),
    ("a pattern's look-alike", "POST", ["cross-site"], ["https://example.com.evil.net"], False),
    ("GET goes through", "GET", ["cross-site"], [EVIL], True),
    ("HEAD goes through", "HEAD", ["cross-site"], [EVIL], True),
]


def filled(lines: list[tuple[str, str]], host: str, port: int) -> list[tuple[str, str]]:
    own = f"http://{host}:{port}"
    stand_ins = {
        "OWN": own,
        "OWN-UPPER": own.upper(),
        "OWN-OTHER-PORT": f"http://{host}:{port + 1}",
        "OWN-HTTPS": f"https://{host}:{port}",
    }
    return [(name, stand_ins.get(value, value)) for name, value in lines]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("name", "method", "sites", "origins", "passes"), CASES, ids=[c[0] for c in CASES]
)
async def test_the_rule(aiohttp_client, mode, name, method, sites, origins, passes):
    app = protected_app(mode)
    client = await aiohttp_client(app)
    lines = [("Sec-Fetch-Site", site) for site in sites] + [("Origin", o) for o in origins]
    headers = filled(lines, client.server.host, client.server.port)
    resp = await client.request(method, WRITE, headers=headers)
    assert ran(app) is passes
    if passes:
        assert resp.status == 200
    else:
        assert resp.status == 403
        assert (await resp.text()).startswith("Cross-origin request refused: ")
        assert app[RAN] == []  # not even the user's middleware saw it


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("path", "passes"),
    [(HOOK, True), (HOOKSHOT, False), (CALLBACK, True), (OTHER_PATH, False)],
    ids=["prefix", "not-a-whole-segment", "exempt-route", "other-path"],
)
async def test_exemptions(aiohttp_client, mode, path, passes):
    app = protected_app(mode)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    resp = await client.post(path, headers=headers)
    assert ran(app, path) is passes
    assert resp.status == (200 if passes else 403)


@pytest.mark.parametrize("mode", MODES)
async def test_exempting_a_resource_exempts_every_method(aiohttp_client, mode):
    app = web.Application()
    app[RAN] = []
    resource = app.router.add_resource("/pay")
    routes = [resource.add_route(m, handler) for m in ("POST", "PUT")]
    cors = guarded(app, mode, config(), resource)
    assert cors.csrf_exempt(resource) is resource
    client = await aiohttp_client(app)
    for route in routes:
        resp = await client.request(route.method, "/pay", headers={"Origin": EVIL})
        assert resp.status == 200


@pytest.mark.parametrize("mode", MODES)
async def test_exempting_a_route_exempts_its_method_alone(aiohttp_client, mode):
    app = web.Application()
    app[RAN] = []
    resource = app.router.add_resource("/pay")
    post, _ = (resource.add_route(m, handler) for m in ("POST", "PUT"))
    cors = guarded(app, mode, config(), resource)
    assert cors.csrf_exempt(post) is post
    client = await aiohttp_client(app)
    assert (await client.post("/pay", headers={"Origin": EVIL})).status == 200
    assert (await client.put("/pay", headers={"Origin": EVIL})).status == 403


@pytest.mark.parametrize("mode", MODES)
async def test_an_exemption_given_while_serving_counts_at_once(aiohttp_client, mode):
    app = protected_app(mode)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    assert (await client.post(WRITE, headers=headers)).status == 403
    cors = app[aiohttp_cors.APP_CORS_KEY] if mode == "app" else app[aiohttp_cors.APP_CONFIG_KEY]
    cors.csrf_exempt(_resource(app, WRITE))
    assert (await client.post(WRITE, headers=headers)).status == 200


@pytest.mark.parametrize("mode", MODES)
async def test_off_by_default_and_when_off(aiohttp_client, mode):
    for protection in (None, False):
        app = protected_app(mode, protection)
        client = await aiohttp_client(app)
        resp = await client.post(WRITE, headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL})
        assert resp.status == 200
        assert ran(app)


async def test_route_mode_guards_only_what_cors_add_covers(aiohttp_client):
    app = web.Application()
    app[RAN] = []
    cors = aiohttp_cors.setup(app, defaults=config(), csrf_protection=True)
    cors.add(app.router.add_post("/covered", handler))
    app.router.add_post("/plain", handler)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    assert (await client.post("/covered", headers=headers)).status == 403
    assert (await client.post("/plain", headers=headers)).status == 200
    assert ran(app, "/plain") and not ran(app, "/covered")


async def test_app_wide_mode_guards_excluded_routes_and_unknown_paths(aiohttp_client):
    """An exclusion takes CORS away, not the guard: only the server's own pages write."""
    app = web.Application()
    app[RAN] = []
    cors = aiohttp_cors.enable(app, config(), csrf_protection=True)
    cors.exclude(app.router.add_post("/excluded", handler))
    client = await aiohttp_client(app)
    own = f"http://{client.server.host}:{client.server.port}"
    for origin, status in ((ALLOWED, 403), (EVIL, 403), (own, 200)):
        resp = await client.post("/excluded", headers={"Origin": origin})
        assert resp.status == status, origin
    resp = await client.post("/nowhere", headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL})
    assert resp.status == 403
    resp = await client.post(
        "/nowhere", headers={"Sec-Fetch-Site": "cross-site", "Origin": ALLOWED}
    )
    assert resp.status == 404


@pytest.mark.parametrize("mode", MODES)
async def test_the_routes_own_policy_decides(aiohttp_client, mode):
    """An override of one route trusts its own origins there, and only there."""
    app = web.Application()
    app[RAN] = []
    special = "https://special.example.org"
    if mode == "app":
        cors: aiohttp_cors.CorsConfig | aiohttp_cors.AppCors = aiohttp_cors.enable(
            app, config(), csrf_protection=True
        )
        cors.add(app.router.add_post("/special", handler), {special: ResourceOptions()})
        app.router.add_post("/plain", handler)
    else:
        cors = aiohttp_cors.setup(app, defaults=config(), csrf_protection=True)
        cors.add(app.router.add_post("/special", handler), {special: ResourceOptions()})
        cors.add(app.router.add_post("/plain", handler))
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": special}
    assert (await client.post("/special", headers=headers)).status == 200
    assert (await client.post("/plain", headers=headers)).status == 403


async def test_a_new_configuration_is_followed_at_once(aiohttp_client):
    """Nothing remembered from the previous policy decides the next request."""
    app = web.Application()
    app[RAN] = []
    cors = aiohttp_cors.enable(app, {ALLOWED: ResourceOptions()}, csrf_protection=True)
    route = app.router.add_post("/w", handler)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": ALLOWED}
    assert (await client.post("/w", headers=headers)).status == 200
    cors.reconfigure({EVIL: ResourceOptions()})
    assert (await client.post("/w", headers=headers)).status == 403
    assert (await client.post("/w", headers={**headers, "Origin": EVIL})).status == 200
    cors.exclude(route)
    assert (await client.post("/w", headers={**headers, "Origin": EVIL})).status == 403


async def test_route_mode_follows_changed_defaults(aiohttp_client):
    app = web.Application()
    app[RAN] = []
    cors = aiohttp_cors.setup(app, defaults={ALLOWED: ResourceOptions()}, csrf_protection=True)
    cors.add(app.router.add_post("/w", handler))
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    assert (await client.post("/w", headers=headers)).status == 403
    cors.defaults[EVIL] = ResourceOptions()
    assert (await client.post("/w", headers=headers)).status == 200
    del cors.defaults[EVIL]
    assert (await client.post("/w", headers=headers)).status == 403


async def test_star_trusts_every_origin(aiohttp_client):
    """'*' says every page may use the route: the guard then refuses no cross-site write
    (docs/csrf.md says to list origins instead)."""
    app = web.Application()
    app[RAN] = []
    aiohttp_cors.enable(app, {"*": ResourceOptions()}, csrf_protection=True)
    app.router.add_post("/w", handler)
    client = await aiohttp_client(app)
    for origin in (EVIL, "null"):
        resp = await client.post("/w", headers={"Sec-Fetch-Site": "cross-site", "Origin": origin})
        assert resp.status == 200


# -- sub-applications -----------------------------------------------------------------


def nested(
    outer: bool | None, inner: bool | None, outer_mode: str, inner_mode: str
) -> web.Application:
    app, sub = logged_pair()
    sub_route = sub.router.add_post("/w", handler)
    if inner_mode == "app":
        aiohttp_cors.enable(sub, config(), csrf_protection=inner)
    else:
        aiohttp_cors.setup(sub, defaults=config(), csrf_protection=inner).add(sub_route)
    if outer_mode == "app":
        aiohttp_cors.enable(app, config(), csrf_protection=outer)
    elif outer_mode == "route":
        aiohttp_cors.setup(app, defaults=config(), csrf_protection=outer)
    app.add_subapp("/sub", sub)
    return app


SETTINGS = {
    "inherits-on": (True, None, True),
    "own-off": (True, False, False),
    "own-on": (None, True, True),
    "own-on-under-off": (False, True, True),
    "neither": (None, None, False),
}
NESTINGS = [
    pytest.param(outer_mode, inner_mode, *setting, id=f"{outer_mode}-{inner_mode}-{name}")
    for outer_mode in ("app", "route", "none")
    for inner_mode in MODES
    for name, setting in SETTINGS.items()
    if outer_mode != "none" or setting[0] is None  # no outer setting without an outer call
]


@pytest.mark.parametrize(("outer_mode", "inner_mode", "outer", "inner", "guarded"), NESTINGS)
async def test_a_sub_application_inherits_unless_it_says(
    aiohttp_client, outer_mode, inner_mode, outer, inner, guarded
):
    app = nested(outer, inner, outer_mode, inner_mode)
    client = await aiohttp_client(app)
    resp = await client.post("/sub/w", headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL})
    assert resp.status == (403 if guarded else 200)
    assert (app[RAN] == []) is guarded
    resp = await client.post("/sub/w", headers={"Sec-Fetch-Site": "cross-site", "Origin": ALLOWED})
    assert resp.status == 200


async def test_an_exempt_prefix_covers_a_sub_applications_paths(aiohttp_client):
    app, sub = logged_pair()
    sub.router.add_post("/in", handler)
    sub.router.add_post("/out", handler)
    aiohttp_cors.enable(app, config(), csrf_protection=True, csrf_exempt_prefixes=["/hooks/in"])
    app.add_subapp("/hooks", sub)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    assert (await client.post("/hooks/in", headers=headers)).status == 200
    assert (await client.post("/hooks/out", headers=headers)).status == 403


# -- behind a proxy -------------------------------------------------------------------


PUBLIC = "https://api.example.org"  # the origin the proxy serves the application at


def proxied_app(mode: str, forwarded: str, listed: bool = False) -> web.Application:
    """An application behind a proxy; *listed*: its public origin is in its policy."""
    app = web.Application()
    app[RAN] = []
    origins = {ALLOWED: ResourceOptions(), **({PUBLIC: ResourceOptions()} if listed else {})}
    guarded(app, mode, origins, app.router.add_post("/w", handler))
    if forwarded == "aiohttp":

        @web.middleware
        async def from_proxy(request: web.Request, handler):  # type: ignore[no-untyped-def]
            # What aiohttp's documentation does behind a trusted proxy.
            scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
            host = request.headers.get("X-Forwarded-Host", request.host)
            return await handler(request.clone(scheme=scheme, host=host))

        app.middlewares.insert(0, from_proxy)
    elif forwarded == "aiohttp-remotes":
        from aiohttp_remotes import XForwardedRelaxed

        app.middlewares.insert(0, XForwardedRelaxed().middleware)
    return app


@pytest.mark.parametrize(
    ("mode", "forwarded", "listed", "passes"),
    [
        ("app", "none", False, False),
        ("app", "aiohttp", False, True),
        ("app", "aiohttp-remotes", False, True),
        # Route mode decides before any middleware: only the policy can name the origin.
        ("route", "aiohttp", False, False),
        ("route", "aiohttp-remotes", False, False),
        ("route", "aiohttp-remotes", True, True),
        ("route", "none", True, True),
    ],
)
async def test_the_own_origin_behind_a_proxy(aiohttp_client, mode, forwarded, listed, passes):
    """Only Host and the scheme make the own origin, as the application sees them: in
    app-wide mode its forwarded handling, placed before CORS, makes X-Forwarded-* count;
    in route mode the public origin is listed in the policy instead."""
    app = proxied_app(mode, forwarded, listed)
    client = await aiohttp_client(app)
    headers = {
        "Origin": PUBLIC,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "api.example.org",
        "X-Forwarded-For": "203.0.113.9",
    }
    resp = await client.post("/w", headers=headers)
    assert resp.status == (200 if passes else 403)
    assert ran(app, "/w") is passes


# -- what a refusal says --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_refusal_names_its_reason_and_logs_escaped_values(aiohttp_client, mode, caplog):
    app = protected_app(mode)
    client = await aiohttp_client(app)
    origin = "http://evil\u202e.example"  # a right-to-left override: escaped
    with caplog.at_level(logging.DEBUG, logger="aiohttp_cors"):
        resp = await client.post(
            WRITE,
            headers={"Sec-Fetch-Site": "cross-site", "Origin": origin.encode().decode("latin-1")},
        )
    text = await resp.text()
    assert resp.status == 403
    assert "not trusted (Sec-Fetch-Site 'cross-site')" in text
    assert text.isascii()
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "POST" in line and "/write" in line and "\u202e" not in line and line.isprintable()
    assert re.search(r"resource '/write'", line)


async def test_the_reasons(aiohttp_client):
    app = protected_app("app")
    client = await aiohttp_client(app)

    async def reason(lines: list[tuple[str, str]]) -> str:
        resp = await client.post(WRITE, headers=lines)
        assert resp.status == 403
        return (await resp.text()).removeprefix("Cross-origin request refused: ")

    assert await reason([("Origin", EVIL)]) == (
        f"origin '{EVIL}' is neither this server's own origin nor allowed"
    )
    assert await reason([("Sec-Fetch-Site", "same-site")]) == (
        "a request with Sec-Fetch-Site 'same-site' and no Origin is refused"
    )
    assert await reason([("Origin", EVIL), ("Origin", ALLOWED)]) == (
        "2 Origin lines (a browser sends one)"
    )
    assert await reason(
        [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Site", "none"), ("Origin", EVIL)]
    ) == (f"2 Sec-Fetch-Site lines (a browser sends one); origin '{EVIL}' is not trusted")


# -- configuration mistakes fail at start-up ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"csrf_protection": 1}, "csrf_protection=1: give True or False"),
        ({"csrf_protection": "yes"}, "csrf_protection='yes': give True or False"),
        ({"csrf_exempt_prefixes": "/hooks"}, "give a list of path prefixes"),
        ({"csrf_exempt_prefixes": 5}, "give a list of path prefixes"),
        ({"csrf_exempt_prefixes": ["hooks"]}, "'hooks' is not a path prefix"),
        ({"csrf_exempt_prefixes": [b"/hooks"]}, "b'/hooks' is not a path prefix"),
        ({"csrf_exempt_prefixes": ["/"]}, "'/' would exempt every path"),
        ({"csrf_exempt_prefixes": ["//"]}, "'//' would exempt every path"),
    ],
)
def test_bad_arguments_are_refused(mode, kwargs, says):
    app = web.Application()
    with pytest.raises(CorsConfigError) as info:
        if mode == "app":
            aiohttp_cors.enable(app, config(), **kwargs)
        else:
            aiohttp_cors.setup(app, defaults=config(), **kwargs)
    assert says in str(info.value)
    assert not app.middlewares  # nothing was installed


def test_one_application_is_given_one_setting():
    app = web.Application()
    aiohttp_cors.setup(app, csrf_protection=True)
    with pytest.raises(CorsConfigError, match="already given csrf_protection=True"):
        aiohttp_cors.enable(app, config(), csrf_protection=False)
    aiohttp_cors.enable(app, config(), csrf_protection=True)  # saying it again is fine


def test_a_custom_router_adapter_cannot_be_guarded():
    from aiohttp_cors.abc import AbstractRouterAdapter

    with pytest.raises(CorsConfigError, match="needs the built-in router adapter"):
        aiohttp_cors.CorsConfig(
            web.Application(),
            router_adapter=object(),  # type: ignore[arg-type]
            csrf_protection=True,
        )
    assert AbstractRouterAdapter  # the adapter interface itself is unchanged


@pytest.mark.parametrize("mode", MODES)
def test_exempting_what_is_not_a_route(mode):
    app = web.Application()
    sub = web.Application()
    resource = app.add_subapp("/sub", sub)
    cors: aiohttp_cors.CorsConfig | aiohttp_cors.AppCors = (
        aiohttp_cors.enable(app, config()) if mode == "app" else aiohttp_cors.setup(app)
    )
    with pytest.raises(ValueError, match="is a sub-application: give it csrf_protection=False"):
        cors.csrf_exempt(resource)
    with pytest.raises(ValueError, match="Resource or route expected"):
        cors.csrf_exempt("/hooks")


# -- properties: nothing the rule refuses reaches a handler -------------------------------


def the_rule(method: str, sites: list[str], origins: list[str], own: str, path: str) -> bool:
    """The rule as docs/csrf.md states it, for the application of ``protected_app``."""
    if method in ("GET", "HEAD", "OPTIONS") or path in (HOOK, CALLBACK):
        return True
    if len(sites) == 1 and sites[0] in ("same-origin", "none"):
        return True
    if not sites and not origins:
        return True
    if len(origins) != 1:
        return False
    origin = origins[0]
    return (
        origin in (ALLOWED, PARTNER)
        or re.fullmatch(r"https://[a-z0-9-]+(\.[a-z0-9-]+)*\.example\.com", origin) is not None
        or origin.lower() == own
    )


class Live:
    """Both modes' applications, served on a loop of their own for Hypothesis."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.apps = {mode: protected_app(mode) for mode in MODES}
        self.servers = {mode: TestServer(app, host="127.0.0.1") for mode, app in self.apps.items()}
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        for server in self.servers.values():
            await server.start_server()
        self.session = aiohttp.ClientSession()

    async def send(self, mode: str, method: str, path: str, lines: list[tuple[str, str]]) -> int:
        server = self.servers[mode]
        url = f"http://127.0.0.1:{server.port}{path}"
        async with self.session.request(method, url, headers=lines) as resp:
            await resp.read()
            return resp.status

    def close(self) -> None:
        async def stop() -> None:
            await self.session.close()
            for server in self.servers.values():
                await server.close()

        self.loop.run_until_complete(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    servers = Live()
    yield servers
    servers.close()


SITES = st.sampled_from(
    ["same-origin", "none", "cross-site", "same-site", "Same-Origin", "NONE", "", "x"]
)
ORIGINS = st.sampled_from(
    [ALLOWED, EVIL, PARTNER, "https://a.example.com", "https://example.com", "null", "OWN",
     "OWN-UPPER", "OWN-OTHER-PORT", "OWN-HTTPS", "http://client.example:80", ALLOWED.upper()]
)  # fmt: skip


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(MODES),
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    st.sampled_from([WRITE, HOOK, HOOKSHOT, CALLBACK, OTHER_PATH]),
    st.lists(SITES, max_size=2),
    st.lists(ORIGINS, max_size=2),
)
def test_no_refused_request_reaches_a_handler(live, mode, method, path, sites, origins):
    server = live.servers[mode]
    own = f"http://127.0.0.1:{server.port}"
    lines = filled(
        [("Sec-Fetch-Site", s) for s in sites] + [("Origin", o) for o in origins],
        "127.0.0.1",
        server.port,
    )
    sent_origins = [value for name, value in lines if name == "Origin"]
    expected = the_rule(method, sites, sent_origins, own, path)
    app = live.apps[mode]
    app[RAN].clear()
    status = live.loop.run_until_complete(live.send(mode, method, path, lines))
    assert status == (200 if expected else 403)
    assert bool(app[RAN]) is expected


@pytest.mark.parametrize("mode", MODES)
async def test_without_host_there_is_no_own_origin(aiohttp_client, mode):
    """A request without Host (HTTP/1.0) has no origin of its own: aiohttp would make one
    up from the socket, which an attacker could name."""
    app = protected_app(mode)
    client = await aiohttp_client(app)
    port = client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for origin in ("http://127.0.0.1", f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
            writer.write(f"POST {WRITE} HTTP/1.0\r\nOrigin: {origin}\r\n\r\n".encode())
            response = await asyncio.wait_for(read_response(reader), 10)
            assert response.status == 403
            assert not ran(app)
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "path",
    ["/hooks/../write", "/hooks/%2E%2E/write", "/hooks%2F..%2Fwrite", "/hooks/in/../../write"],
)
async def test_no_spelling_of_a_path_borrows_an_exemption(aiohttp_client, mode, path):
    """The route that serves the request decides, not how its URL was written."""
    app = protected_app(mode)
    client = await aiohttp_client(app)
    port = client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {EVIL}\r\n"
        writer.write((request + "Content-Length: 0\r\n\r\n").encode())
        response = await asyncio.wait_for(read_response(reader), 10)
    finally:
        writer.close()
    assert response.status in (403, 404), response
    assert not ran(app)
    assert not any(entry[0] == "handler" for entry in app[RAN])


class PerMethodView(web.View, aiohttp_cors.CorsViewMixin):
    """A view whose methods trust different origins."""

    @aiohttp_cors.custom_cors({ALLOWED: ResourceOptions()})
    async def post(self) -> web.Response:
        return await handler(self.request)

    @aiohttp_cors.custom_cors({PARTNER: ResourceOptions()})
    async def put(self) -> web.Response:
        return await handler(self.request)


async def test_a_views_methods_are_guarded_by_their_own_policies(aiohttp_client):
    """One route serves every method of a view: what one method's policy said is
    never used for another."""
    app = web.Application()
    app[RAN] = []
    cors = aiohttp_cors.setup(app, csrf_protection=True)
    cors.add(app.router.add_view("/view", PerMethodView))
    client = await aiohttp_client(app)
    await check_statuses(
        client,
        "/view",
        [
            ("POST", ALLOWED, 200),
            ("PUT", ALLOWED, 403),
            ("PUT", PARTNER, 200),
            ("POST", PARTNER, 403),
        ],
    )


async def test_a_sub_applications_new_configuration_is_followed_at_once(aiohttp_client):
    """The top application's guard decides for its sub-applications, and nothing it
    remembers outlives a change of theirs."""
    app, sub = logged_pair()
    aiohttp_cors.enable(app, csrf_protection=True)
    sub_cors = aiohttp_cors.enable(sub, {ALLOWED: ResourceOptions()})
    sub.router.add_post("/w", handler)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": ALLOWED}
    assert (await client.post("/sub/w", headers=headers)).status == 200
    sub_cors.reconfigure({PARTNER: ResourceOptions()})
    assert (await client.post("/sub/w", headers=headers)).status == 403
    assert (await client.post("/sub/w", headers={**headers, "Origin": PARTNER})).status == 200


async def test_a_sub_applications_guard_runs_before_an_app_wide_parents_middlewares(
    aiohttp_client,
):
    """aiohttp runs a parent's middlewares first: the parent's own CORS middleware, first
    of them, guards for the sub-application that turned the guard on."""
    app = web.Application(middlewares=[user_middleware])
    app[RAN] = []
    aiohttp_cors.enable(app, config())
    sub = web.Application()
    sub[RAN] = app[RAN]
    aiohttp_cors.enable(sub, config(), csrf_protection=True)
    sub.router.add_post("/w", handler)
    app.router.add_post("/w", handler)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    assert (await client.post("/sub/w", headers=headers)).status == 403
    assert app[RAN] == []  # not even the parent's middleware saw it
    assert (await client.post("/w", headers=headers)).status == 200  # the parent's own: off


@pytest.mark.parametrize("mode", MODES)
async def test_an_origin_writes_only_with_the_methods_it_is_allowed(aiohttp_client, mode):
    """allow_methods limits what a trusted origin may send, as it limits its preflights."""
    app = web.Application()
    app[RAN] = []
    limited = {
        ALLOWED: ResourceOptions(allow_methods=["GET", "PUT"]),
        PARTNER: ResourceOptions(),  # None: the routes decide
    }
    routes = [app.router.add_route(m, "/w", handler) for m in ("POST", "PUT", "DELETE")]
    guarded(app, mode, limited, *routes)
    client = await aiohttp_client(app)
    await check_statuses(
        client,
        "/w",
        [
            ("POST", ALLOWED, 403),
            ("PUT", ALLOWED, 200),
            ("DELETE", ALLOWED, 403),
            ("POST", PARTNER, 200),
            ("DELETE", PARTNER, 200),
        ],
    )


async def test_an_exempt_prefix_stops_at_a_sub_application_mounted_by_domain(aiohttp_client):
    app = web.Application()
    app[RAN] = []
    admin = web.Application()
    admin[RAN] = app[RAN]
    admin.router.add_post("/hooks/purge", handler)
    app.router.add_post("/hooks/payment", handler)
    aiohttp_cors.enable(app, config(), csrf_protection=True, csrf_exempt_prefixes=["/hooks"])
    app.add_domain("admin.example", admin)
    client = await aiohttp_client(app)
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    assert (await client.post("/hooks/payment", headers=headers)).status == 200
    resp = await client.post("/hooks/purge", headers={**headers, "Host": "admin.example"})
    assert resp.status == 403
    assert not ran(app, "/hooks/purge")


def test_a_custom_router_adapter_takes_no_guard_setting_at_all():
    for protection in (True, False):
        with pytest.raises(CorsConfigError, match="needs the built-in router adapter"):
            aiohttp_cors.CorsConfig(
                web.Application(),
                router_adapter=object(),  # type: ignore[arg-type]
                csrf_protection=protection,
            )


# -- route mode decides while aiohttp's router resolves the request --------------------

TENANT = web.AppKey("tenant", str)
SUFFIX = web.AppKey("suffix", str)
LEVEL = web.AppKey("level", str)


@pytest.mark.parametrize("mounted", ["prefix", "domain"])
async def test_route_mode_refuses_before_an_enclosing_applications_middlewares(
    aiohttp_client, mounted
):
    """A route-mode sub-application with the guard on refuses before the middlewares of
    the application it is mounted in, which has no CORS of its own."""
    app, sub = logged_pair(user_middleware)
    guarded(sub, "route", config(), sub.router.add_post("/w", handler))
    path = "/sub/w"
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    if mounted == "prefix":
        app.add_subapp("/sub", sub)
    else:
        app.add_domain("api.example", sub)
        path, headers = "/w", {**headers, "Host": "api.example"}
    client = await aiohttp_client(app)
    resp = await client.post(path, headers=headers)
    assert resp.status == 403
    assert (await resp.text()).startswith("Cross-origin request refused: ")
    assert app[RAN] == []
    resp = await client.post(path, headers={**headers, "Origin": ALLOWED})
    assert resp.status == 200
    assert [entry[0] for entry in app[RAN]] == ["middleware", "middleware", "handler"]


async def test_route_mode_answers_preflights_of_guarded_methods_as_cors_says(aiohttp_client):
    """A preflight makes the engine ask the router where the requested method is served:
    that question is not a request, and the guard leaves it alone."""
    app = web.Application()
    app[RAN] = []
    limited = {ALLOWED: ResourceOptions(allow_methods=["PUT"], allow_headers="*")}
    guarded(app, "route", limited, app.router.add_put("/w", handler))
    client = await aiohttp_client(app)
    asked = {"Sec-Fetch-Site": "cross-site", "Access-Control-Request-Method": "PUT"}
    # The refused origin first: the engine remembers where PUT is served after that.
    resp = await client.options("/w", headers={**asked, "Origin": EVIL})
    assert resp.status == 403
    assert (await resp.text()).startswith("CORS preflight request failed: origin ")
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.options("/w", headers={**asked, "Origin": ALLOWED})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize("nested", [False, True])
async def test_what_a_predicate_asked_by_route_mode_sees_of_the_request(aiohttp_client, nested):
    """A predicate is asked before routing is done: the request's match_info (its route
    and applications) and app are there all the same. Nested: the enclosing
    application's guard decides for the sub-application's route."""
    app = web.Application()
    app[RAN] = []
    served = app
    if nested:
        served = web.Application()
        served[RAN] = app[RAN]
    served[TENANT] = "acme"
    app[SUFFIX] = ".example.net"  # found through config_dict from the inner application
    app[LEVEL], served[LEVEL] = "outer", "inner"  # the inner one's value comes first
    seen: list[tuple[object, ...]] = []

    def tenant_origin(origin: str, request: web.Request) -> bool:
        info = request.match_info
        assert request.config_dict[SUFFIX] == ".example.net"
        assert request.config_dict[LEVEL] == "inner"
        seen.append((info["tenant"], request.app is served, tuple(info.apps), info.route.method))
        return (
            origin
            == f"https://{info['tenant']}.example.net"
            == f"https://{request.app[TENANT]}.example.net"
        )

    route = served.router.add_post("/t/{tenant}", handler)
    if nested:
        aiohttp_cors.setup(app, csrf_protection=True)
        aiohttp_cors.setup(served, defaults={tenant_origin: ResourceOptions()}).add(route)
        app.add_subapp("/sub", served)
    else:
        guarded(app, "route", {tenant_origin: ResourceOptions()}, route)
    client = await aiohttp_client(app)
    path = "/sub/t/" if nested else "/t/"
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": "https://acme.example.net"}
    assert (await client.post(path + "acme", headers=headers)).status == 200
    assert (await client.post(path + "other", headers=headers)).status == 403
    # Asked by the guard, and for the CORS headers of the response that went through.
    assert [entry[0] for entry in seen] == ["acme", "acme", "other"]
    chain = (app, served) if nested else (app,)
    assert all(entry[1:] == (True, chain, "POST") for entry in seen)


async def test_a_predicate_asked_by_app_wide_mode_gets_the_request_itself(aiohttp_client):
    """App-wide mode's guard runs once the request is routed: a predicate gets the
    request as a handler would, not the stand-in route mode's guard gives it."""
    seen: list[object] = []

    def partner(origin: str, request: web.Request) -> bool:
        seen.append(request)
        return origin == PARTNER

    app = web.Application()
    app[RAN] = []
    app.router.add_post("/t", handler)
    guarded(app, "app", {partner: ResourceOptions()})
    client = await aiohttp_client(app)
    for origin, status in [(PARTNER, 200), (EVIL, 403)]:
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": origin}
        async with client.post("/t", headers=headers) as resp:
            assert resp.status == status
    # asked by the guard, and for the CORS headers of each answer
    assert len(seen) == 4
    assert all(type(request) is web.Request for request in seen)


class TenantView(web.View, aiohttp_cors.CorsViewMixin):
    """Trusts the origin the URL names, asked on every request."""

    @classmethod
    def get_request_config(cls, request, request_method):  # type: ignore[no-untyped-def]
        tenant = request.match_info["tenant"]
        assert request.app[TENANT] == "acme"
        return {f"https://{tenant}.example.net": ResourceOptions()}

    async def post(self) -> web.Response:
        return await handler(self.request)


@pytest.mark.parametrize("nested", [False, True])
async def test_a_view_asked_per_request_by_route_mode(aiohttp_client, nested):
    app = web.Application()
    app[RAN] = []
    served = app
    if nested:
        served = web.Application()
        served[RAN] = app[RAN]
    served[TENANT] = "acme"
    route = served.router.add_view("/t/{tenant}", TenantView)
    guarded(served, "route", {}, route)
    if nested:
        app.add_subapp("/sub", served)
    client = await aiohttp_client(app)
    path = "/sub/t/" if nested else "/t/"
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": "https://acme.example.net"}
    assert (await client.post(path + "acme", headers=headers)).status == 200
    assert (await client.post(path + "evil", headers=headers)).status == 403
    assert [entry[2] for entry in app[RAN]] == [path + "acme"]


@pytest.mark.parametrize("inner", ["route", "app"])
@pytest.mark.parametrize("own", [None, True])
async def test_an_enclosing_applications_exemptions_stop_where_a_sub_application_decides(
    aiohttp_client, inner, own
):
    """A sub-application that gives its own setting takes the guard over: its own
    exemptions count, not those of the applications around it."""
    app, sub = logged_pair()
    route = sub.router.add_post("/hooks/in", handler)
    if inner == "app":
        aiohttp_cors.enable(sub, config(), csrf_protection=own)
    else:
        aiohttp_cors.setup(sub, defaults=config(), csrf_protection=own).add(route)
    aiohttp_cors.enable(app, config(), csrf_protection=True, csrf_exempt_prefixes=["/sub/hooks"])
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    resp = await client.post(
        "/sub/hooks/in", headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
    )
    assert resp.status == (403 if own else 200)


async def test_route_mode_leaves_a_method_no_route_serves_to_aiohttp(aiohttp_client):
    """Route mode guards what cors.add covers: a method the resource does not serve
    gets aiohttp's 405, as it would without CORS."""
    app = web.Application()
    app[RAN] = []
    guarded(app, "route", config(), app.router.add_get("/r", handler))
    client = await aiohttp_client(app)
    resp = await client.put("/r", headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL})
    assert resp.status == 405
    assert not app[RAN]


async def test_setting_up_twice_guards_once(aiohttp_client):
    asked: list[str] = []

    def partner(origin: str, request: web.Request) -> bool:
        asked.append(origin)
        return origin == PARTNER

    app = web.Application()
    app[RAN] = []
    aiohttp_cors.setup(app, csrf_protection=True)
    cors = aiohttp_cors.setup(app, defaults={partner: ResourceOptions()}, csrf_protection=True)
    cors.add(app.router.add_post("/w", handler))
    client = await aiohttp_client(app)
    resp = await client.post("/w", headers={"Sec-Fetch-Site": "cross-site", "Origin": PARTNER})
    assert resp.status == 200
    assert len(asked) == 2  # once by the guard, once for the response's CORS headers


# -- one decision: the guard's verdict is the response's CORS headers -------------------

SPECIAL = "https://special.example.org"
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Vary",
)


def twin(mode: str, protection: bool) -> web.Application:
    """Defaults at /w; /special has its own policy; /sub/w is a sub-application's."""
    app, sub = logged_pair()
    special = {SPECIAL: ResourceOptions(allow_methods=["PUT"], expose_headers=["X-Total"])}
    routes = [app.router.add_route(m, "/w", handler) for m in ("POST", "PUT")]
    overridden = [app.router.add_route(m, "/special", handler) for m in ("POST", "PUT")]
    sub_route = sub.router.add_post("/w", handler)
    if mode == "app":
        cors = aiohttp_cors.enable(app, config(), csrf_protection=protection)
        for route in overridden:
            cors.add(route, special)
        aiohttp_cors.enable(sub, {ALLOWED: ResourceOptions(expose_headers=["X-Sub"])})
    else:
        cors = aiohttp_cors.setup(app, defaults=config(), csrf_protection=protection)
        for route in routes:
            cors.add(route)
        for route in overridden:
            cors.add(route, special)
        sub_cors = aiohttp_cors.setup(
            sub, defaults={ALLOWED: ResourceOptions(expose_headers=["X-Sub"])}
        )
        sub_cors.add(sub_route)
    app.add_subapp("/sub", sub)
    return app


@pytest.mark.parametrize("mode", MODES)
async def test_the_guard_changes_no_cors_header_of_what_it_lets_through(aiohttp_client, mode):
    """Where the guard lets a request through, its response carries the CORS headers the
    same application sends with the guard off: the guard's decision is the one the
    headers follow, never another route's or another request's."""
    guarded_client = await aiohttp_client(twin(mode, True))
    plain_client = await aiohttp_client(twin(mode, False))
    origins = [ALLOWED, PARTNER, "https://a.example.com", SPECIAL, EVIL]
    through = 0
    for path in ("/w", "/special", "/sub/w"):
        for method in ("POST", "PUT"):
            for origin in origins:
                for sites in ({"Sec-Fetch-Site": "cross-site"}, {}):
                    headers = {**sites, "Origin": origin}
                    guarded_resp = await guarded_client.request(method, path, headers=headers)
                    plain_resp = await plain_client.request(method, path, headers=headers)
                    if guarded_resp.status == 403:
                        continue
                    through += 1
                    case = (path, method, origin, sites)
                    assert guarded_resp.status == plain_resp.status, case
                    for name in CORS_HEADERS:
                        got = guarded_resp.headers.getall(name, [])
                        assert got == plain_resp.headers.getall(name, []), (case, name)
    assert through >= 20


async def streamed(request: web.Request) -> web.StreamResponse:
    """Prepares its response itself, with the request it was given."""
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"done")
    return response


@pytest.mark.parametrize("protection", [True, False])
async def test_a_request_a_middleware_replaced_is_decided_again(aiohttp_client, protection):
    """App-wide mode's guard runs before a middleware that clones the request with other
    headers: a response prepared with the clone gets the clone's CORS headers, as it
    does without the guard."""

    @web.middleware
    async def rewrite(request: web.Request, handler):  # type: ignore[no-untyped-def]
        headers = {**request.headers, "Origin": PARTNER}
        return await handler(request.clone(headers=headers))

    app = web.Application(middlewares=[rewrite])
    app[RAN] = []
    aiohttp_cors.enable(app, config(), csrf_protection=protection)
    app.router.add_post("/w", streamed)
    client = await aiohttp_client(app)
    for _ in range(2):  # the second time, the guard knows the route's policy
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": ALLOWED}
        resp = await client.post("/w", headers=headers)
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == PARTNER
