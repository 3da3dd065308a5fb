"""App-wide mode over real HTTP: one call covers every route, errors included."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ORIGIN, OTHER, ok, preflight_headers

ALLOWED = {ORIGIN: ResourceOptions(allow_headers=("Authorization", "Content-Type"))}


def cors_of(resp) -> str | None:
    return resp.headers.get("Access-Control-Allow-Origin")


class PlainView(web.View):
    async def get(self) -> web.Response:
        return web.Response(text="view")

    async def put(self) -> web.Response:
        return web.Response(text="view put")


async def test_every_kind_of_route_including_later_ones(aiohttp_client, tmp_path):
    (tmp_path / "f.txt").write_text("file")
    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    routes = web.RouteTableDef()

    @routes.put("/table")
    async def table(request: web.Request) -> web.Response:
        return web.Response(text="table")

    app.add_routes(routes)
    app.router.add_put("/later", ok)
    app.router.add_static("/static", tmp_path)
    app.router.add_view("/view", PlainView)
    sub = web.Application()
    sub.router.add_put("/inner", ok)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)

    for path, method in [
        ("/table", "PUT"),
        ("/later", "PUT"),
        ("/static/f.txt", "GET"),
        ("/view", "PUT"),
        ("/sub/inner", "PUT"),
    ]:
        resp = await client.options(
            path, headers=preflight_headers(method=method, headers="content-type")
        )
        assert resp.status == 200, path
        assert cors_of(resp) == ORIGIN
        resp = await client.request(method, path, headers={"Origin": ORIGIN})
        assert resp.status == 200, path
        assert cors_of(resp) == ORIGIN
        assert "Origin" in resp.headers["Vary"]
        resp = await client.request(method, path, headers={"Origin": OTHER})
        assert cors_of(resp) is None


async def test_auth_middleware_never_sees_preflights(aiohttp_client):
    seen: list[str] = []

    @web.middleware
    async def auth(request: web.Request, handler):
        seen.append(request.method)
        if request.headers.get("Authorization") != "Bearer good":
            raise web.HTTPUnauthorized(text="no token")
        return await handler(request)

    app = web.Application(middlewares=[auth])
    aiohttp_cors.enable(app, ALLOWED)
    app.router.add_delete("/thing", ok)
    client = await aiohttp_client(app)

    resp = await client.options(
        "/thing", headers=preflight_headers(method="DELETE", headers="authorization")
    )
    assert resp.status == 200
    assert seen == []
    resp = await client.delete("/thing", headers={"Origin": ORIGIN, "Authorization": "Bearer good"})
    assert resp.status == 200
    assert cors_of(resp) == ORIGIN
    resp = await client.delete("/thing", headers={"Origin": ORIGIN})
    assert resp.status == 401  # the page can read the 401
    assert cors_of(resp) == ORIGIN
    assert seen == ["DELETE", "DELETE"]


async def test_errors_carry_cors_headers(aiohttp_client):
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("unhandled")

    async def conflict(request: web.Request) -> web.Response:
        raise web.HTTPConflict(text="taken")

    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    app.router.add_get("/boom", boom)
    app.router.add_get("/conflict", conflict)
    app.router.add_get("/only-get", ok)
    client = await aiohttp_client(app)
    for method, path, status in [
        ("GET", "/missing", 404),
        ("POST", "/only-get", 405),
        ("GET", "/conflict", 409),
        ("GET", "/boom", 500),
    ]:
        resp = await client.request(method, path, headers={"Origin": ORIGIN})
        assert resp.status == status, path
        assert cors_of(resp) == ORIGIN, path
        assert resp.headers["Vary"] == "Origin"
        resp = await client.request(method, path)
        assert cors_of(resp) is None
        assert resp.headers["Vary"] == "Origin"


async def test_preflight_methods_follow_the_router(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    app.router.add_get("/only-get", ok)
    client = await aiohttp_client(app)
    resp = await client.options("/only-get", headers=preflight_headers(method="GET"))
    assert resp.status == 200
    resp = await client.options("/only-get", headers=preflight_headers(method="PUT"))
    assert resp.status == 403
    resp = await client.options("/missing", headers=preflight_headers(method="GET"))
    assert resp.status == 403
    assert await resp.text() == (
        f"CORS preflight request failed: request method 'GET' is not allowed for '{ORIGIN}' origin"
    )


async def test_user_options_handlers_get_plain_options(aiohttp_client):
    async def options(request: web.Request) -> web.Response:
        return web.Response(text="my options", headers={"Allow": "GET, OPTIONS"})

    app = web.Application()
    aiohttp_cors.enable(app, {"*": ResourceOptions(allow_methods="*")})
    app.router.add_route("OPTIONS", "/x", options)
    app.router.add_get("/x", ok)
    app.router.add_get("/y", ok)
    client = await aiohttp_client(app)
    resp = await client.options("/x")
    assert await resp.text() == "my options"
    resp = await client.options("/x", headers={"Origin": ORIGIN})
    assert await resp.text() == "my options"
    assert cors_of(resp) == ORIGIN
    resp = await client.options("/x", headers=preflight_headers(method="GET"))
    assert resp.status == 200
    assert await resp.text() == ""
    resp = await client.options("/y")  # no OPTIONS handler: aiohttp's own 405
    assert resp.status == 405


async def test_override_and_exclude(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, ALLOWED)
    public = app.router.add_get("/public", ok)
    assert cors.add(public, {"*": ResourceOptions()}) is public
    internal = cors.exclude(app.router.add_resource("/internal"))
    internal.add_route("GET", ok)
    resource = app.router.add_resource("/mixed")
    cors.exclude(resource.add_route("PUT", ok))
    resource.add_route("GET", ok)
    client = await aiohttp_client(app)

    resp = await client.get("/public", headers={"Origin": OTHER})
    assert cors_of(resp) == OTHER
    resp = await client.get("/public", headers={"Origin": ORIGIN})
    assert cors_of(resp) == ORIGIN  # the app's entries still apply below the override
    resp = await client.get("/internal", headers={"Origin": ORIGIN})
    assert cors_of(resp) is None
    assert "Vary" not in resp.headers
    resp = await client.options("/internal", headers=preflight_headers(method="GET"))
    assert resp.status == 405  # not answered as a preflight
    resp = await client.put("/mixed", headers={"Origin": ORIGIN})
    assert cors_of(resp) is None
    resp = await client.get("/mixed", headers={"Origin": ORIGIN})
    assert cors_of(resp) == ORIGIN
    resp = await client.options("/mixed", headers=preflight_headers(method="PUT"))
    assert resp.status == 405
    resp = await client.options("/mixed", headers=preflight_headers(method="GET"))
    assert resp.status == 200
    resp = await client.post("/internal", headers={"Origin": ORIGIN})  # aiohttp's 405
    assert resp.status == 405
    assert cors_of(resp) is None
    assert "Vary" not in resp.headers  # nothing of CORS where it is excluded
    with pytest.raises(ValueError, match="Resource or route expected"):
        cors.add("nope", {})


async def test_route_mode_wins_where_it_is_used(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    route_cors = aiohttp_cors.setup(app)
    route_cors.add(app.router.add_put("/route-mode", ok), {OTHER: ResourceOptions()})
    app.router.add_put("/app-mode", ok)
    client = await aiohttp_client(app)
    resp = await client.options("/route-mode", headers=preflight_headers(origin=OTHER))
    assert resp.status == 200
    resp = await client.options("/route-mode", headers=preflight_headers(origin=ORIGIN))
    assert resp.status == 403
    resp = await client.put("/route-mode", headers={"Origin": ORIGIN})
    assert cors_of(resp) is None
    resp = await client.put("/app-mode", headers={"Origin": ORIGIN})
    assert cors_of(resp) == ORIGIN


async def test_sub_application_may_override(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    sub = web.Application()
    aiohttp_cors.enable(sub, {OTHER: ResourceOptions()})
    sub.router.add_put("/x", ok)
    app.add_subapp("/sub", sub)
    app.router.add_put("/x", ok)
    client = await aiohttp_client(app)
    resp = await client.put("/sub/x", headers={"Origin": OTHER})
    assert cors_of(resp) == OTHER
    assert resp.headers.getall("Vary") == ["Origin"]
    resp = await client.put("/sub/x", headers={"Origin": ORIGIN})
    assert cors_of(resp) is None
    resp = await client.options("/sub/x", headers=preflight_headers(origin=OTHER))
    assert resp.status == 200
    resp = await client.put("/x", headers={"Origin": ORIGIN})
    assert cors_of(resp) == ORIGIN


def test_enable_twice_is_an_error():
    app = web.Application()
    aiohttp_cors.enable(app)
    with pytest.raises(ValueError, match="already enabled"):
        aiohttp_cors.enable(app)


async def test_reconfigure_under_concurrent_load(aiohttp_client):
    config_a = {ORIGIN: ResourceOptions(expose_headers=("X-A",), allow_credentials=True)}
    config_b = {ORIGIN: ResourceOptions(expose_headers=("X-B",), max_age=1)}

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0)
        return web.Response(text="x")

    app = web.Application()
    cors = aiohttp_cors.enable(app, config_a)
    app.router.add_get("/x", slow)
    client = await aiohttp_client(app)
    stop = asyncio.Event()

    async def flip() -> int:
        flips = 0
        while not stop.is_set():
            cors.reconfigure(config_b if flips % 2 == 0 else config_a)
            flips += 1
            await asyncio.sleep(0)
        return flips

    async def one() -> tuple[str, str | None]:
        resp = await client.get("/x", headers={"Origin": ORIGIN})
        await resp.read()
        return resp.headers["Access-Control-Expose-Headers"], resp.headers.get(
            "Access-Control-Allow-Credentials"
        )

    flipper = asyncio.ensure_future(flip())
    results = []
    for _ in range(20):
        results += await asyncio.gather(*(one() for _ in range(25)))
    stop.set()
    assert await flipper > 10
    # Never a mix of the two (which of them the answers saw depends on the event loop's
    # scheduling, which differs between Python versions).
    assert set(results) <= {("X-A", "true"), ("X-B", None)}
    assert cors.config in (config_a, config_b)
    for config, expected in ((config_b, ("X-B", None)), (config_a, ("X-A", "true"))):
        cors.reconfigure(config)
        assert await one() == expected


async def preflight_status(client, path: str, origin: str, host: str | None = None) -> int:
    headers = preflight_headers(origin=origin, headers="Content-Type")
    if host is not None:
        headers["Host"] = host
    async with client.options(path, headers=headers) as resp:
        return resp.status


async def test_preflights_follow_changes_made_while_serving(aiohttp_client):
    """add, exclude and reconfigure made after the first requests take effect at once."""
    app = web.Application()
    cors = aiohttp_cors.enable(app, ALLOWED)
    route = app.router.add_put("/x", ok)
    client = await aiohttp_client(app)
    for _ in range(2):
        assert await preflight_status(client, "/x", ORIGIN) == 200
        assert await preflight_status(client, "/x", OTHER) == 403
    cors.add(route, {OTHER: ResourceOptions(allow_headers="*")})
    assert await preflight_status(client, "/x", OTHER) == 200
    cors.exclude(route)
    async with client.options("/x", headers=preflight_headers(origin=OTHER)) as resp:
        assert resp.status == 405  # not answered: aiohttp's own 405
        assert cors_of(resp) is None
    cors.reconfigure({OTHER: ResourceOptions(allow_headers="*")})
    assert await preflight_status(client, "/x", ORIGIN) == 405


async def test_preflights_tell_hosts_apart(aiohttp_client):
    """The same path on two domains is two resources, each with its own policy."""
    app = web.Application()
    cors = aiohttp_cors.enable(app, ALLOWED)
    one, two = web.Application(), web.Application()
    special = one.router.add_put("/x", ok)
    two.router.add_put("/x", ok)
    app.add_domain("one.localhost", one)
    app.add_domain("two.localhost", two)
    cors.add(special.resource, {OTHER: ResourceOptions(allow_headers="*")})
    client = await aiohttp_client(app)
    for _ in range(2):
        assert await preflight_status(client, "/x", OTHER, "one.localhost") == 200
        assert await preflight_status(client, "/x", OTHER, "two.localhost") == 403
        assert await preflight_status(client, "/x", ORIGIN, "two.localhost") == 200


async def test_app_wide_preflights_ask_a_predicate_every_time(aiohttp_client):
    asked: list[str] = []

    async def tenant(origin: str, request: web.Request) -> bool:
        asked.append(origin)
        return origin == ORIGIN

    app = web.Application()
    aiohttp_cors.enable(app, {tenant: ResourceOptions(allow_headers="*")})
    app.router.add_put("/x", ok)
    client = await aiohttp_client(app)
    for origin, status in [(ORIGIN, 200), (OTHER, 403)]:
        for _ in range(2):
            assert await preflight_status(client, "/x", origin) == status
    assert asked == [ORIGIN, ORIGIN, OTHER, OTHER]


async def test_route_mode_added_while_serving_takes_over(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    route = app.router.add_put("/x", ok)
    cors = aiohttp_cors.setup(app, defaults={OTHER: ResourceOptions(allow_headers="*")})
    client = await aiohttp_client(app)
    for _ in range(2):
        assert await preflight_status(client, "/x", OTHER) == 403
    cors.add(route)
    assert await preflight_status(client, "/x", OTHER) == 200


@pytest.mark.parametrize("mode", ["route", "app-wide"])
async def test_preflight_answers_kept_within_bounds(aiohttp_client, mode):
    """Preflight answers are kept per scope, by origin, method and requested headers:
    at most 1,024 of them, none whose key is longer than 1,024 characters; a change of
    configuration gives a new scope, so a kept answer is never served after it."""
    from aiohttp_cors._engine import ENGINE_KEY

    app = web.Application()
    route = app.router.add_put("/x", ok)
    config = {ORIGIN: ResourceOptions(allow_headers="*")}
    if mode == "route":
        aiohttp_cors.setup(app, defaults=config).add(route)
    else:
        cors = aiohttp_cors.enable(app, config)
    client = await aiohttp_client(app)
    engine = app[ENGINE_KEY]

    def answers() -> int:
        if mode == "route":
            (entry,) = engine.routes.values()
            return len(entry.whole.answers)
        return len(engine.app_wide.scope.answers)

    room = 1024 - len(ORIGIN) - len("PUT")
    for requested, kept in (("a" * room, 1), ("a" * (room + 1), 1)):
        resp = await client.options("/x", headers=preflight_headers(headers=requested))
        assert resp.status == 200
        assert answers() == kept  # the second key is one character too long
    for n in range(1023):
        assert await preflight_status(client, "/x", f"http://c{n}.example") == 403
    assert answers() == 1024
    assert await preflight_status(client, "/x", ORIGIN) == 200
    assert answers() == 1  # emptied when full, then the new answer kept
    if mode == "app-wide":
        cors.reconfigure({OTHER: ResourceOptions(allow_headers="*")})
        assert await preflight_status(client, "/x", ORIGIN) == 403
        assert await preflight_status(client, "/x", OTHER) == 200


async def test_a_preflight_to_a_route_with_its_own_options_handler(aiohttp_client):
    """The application's own OPTIONS handler gets plain OPTIONS requests; preflights are
    answered before it, for the method they ask about."""
    seen: list[str | None] = []

    async def own_options(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Access-Control-Request-Method"))
        return web.Response(text="own options", headers={"Allow": "PUT, OPTIONS"})

    app = web.Application()
    aiohttp_cors.enable(app, ALLOWED)
    app.router.add_route("OPTIONS", "/x", own_options)
    app.router.add_put("/x", ok)
    client = await aiohttp_client(app)
    for _ in range(2):  # the second time, from what was found the first time
        headers = preflight_headers(method="PUT", headers="content-type")
        async with client.options("/x", headers=headers) as resp:
            assert resp.status == 200
            assert await resp.text() == ""
            assert cors_of(resp) == ORIGIN
            assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
            assert resp.headers["Access-Control-Allow-Headers"] == "CONTENT-TYPE"
        async with client.options("/x", headers=preflight_headers(origin=OTHER)) as resp:
            assert resp.status == 403
            assert cors_of(resp) is None
        async with client.options("/x", headers=preflight_headers(method="DELETE")) as resp:
            assert resp.status == 403  # no route serves DELETE at /x
        async with client.options("/x", headers={"Origin": ORIGIN}) as resp:
            assert await resp.text() == "own options"
            assert cors_of(resp) == ORIGIN
            assert resp.headers["Vary"] == "Origin"
    async with client.options("/x") as resp:
        assert await resp.text() == "own options"
        assert cors_of(resp) is None
    assert seen == [None, None, None]
