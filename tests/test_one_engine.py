"""One decision per request, in both modes: the route that serves the method in
question decides, looked up along the application chain.

Each of the numbered tests reproduces, over real HTTP, a request that used to be
decided by the wrong policy (route mode and app-wide mode had two pipelines).
"""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ORIGIN, OTHER, ok, preflight_headers

CREDENTIALED = {ORIGIN: ResourceOptions(allow_credentials=True, allow_headers="*")}


def cors_of(resp) -> str | None:
    return resp.headers.get("Access-Control-Allow-Origin")


async def spa(request: web.Request) -> web.Response:
    return web.Response(text="index.html")


async def test_1_a_catch_all_does_not_decide_for_an_excluded_or_overridden_route(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, CREDENTIALED)
    cors.exclude(app.router.add_post("/admin", ok))
    cors.add(app.router.add_put("/strict", ok), {ORIGIN: ResourceOptions(allow_headers="*")})
    app.router.add_route("*", "/{tail:.*}", spa)  # an SPA fallback, added last
    client = await aiohttp_client(app)

    resp = await client.options("/admin", headers=preflight_headers(method="POST"))
    assert cors_of(resp) is None  # the browser never sends the POST
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = await client.options("/strict", headers=preflight_headers(method="PUT"))
    assert resp.status == 200
    assert cors_of(resp) == ORIGIN
    assert "Access-Control-Allow-Credentials" not in resp.headers  # the override's options
    resp = await client.options("/page", headers=preflight_headers(method="GET"))
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"  # the catch-all's own
    resp = await client.options("/admin")  # a plain OPTIONS still reaches the fallback
    assert await resp.text() == "index.html"


@pytest.mark.parametrize("change", ["exclude", "add"])
async def test_2_the_head_route_of_add_get_follows_its_get_route(aiohttp_client, change):
    app = web.Application()
    cors = aiohttp_cors.enable(app, CREDENTIALED)
    route = app.router.add_get("/x", ok)
    if change == "exclude":
        cors.exclude(route)
    else:
        cors.add(route, {OTHER: ResourceOptions(), ORIGIN: ResourceOptions()})
    app.router.add_head("/y", ok)  # a HEAD route of its own: the application's policy
    client = await aiohttp_client(app)

    resp = await client.head("/x", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert cors_of(resp) == (None if change == "exclude" else ORIGIN)
    resp = await client.head("/x", headers={"Origin": OTHER})
    assert cors_of(resp) == (None if change == "exclude" else OTHER)
    resp = await client.options("/x", headers=preflight_headers(method="HEAD"))
    assert resp.status == (405 if change == "exclude" else 200)
    resp = await client.head("/y", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


async def test_3_a_sub_application_can_be_excluded_or_overridden_as_a_whole(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, CREDENTIALED)
    admin, partner = web.Application(), web.Application()
    admin.router.add_put("/users", ok)
    partner.router.add_put("/orders", ok)
    cors.exclude(app.add_subapp("/admin", admin))
    cors.add(app.add_subapp("/partner", partner), {OTHER: ResourceOptions()})
    client = await aiohttp_client(app)

    resp = await client.put("/admin/users", headers={"Origin": ORIGIN})
    assert cors_of(resp) is None
    resp = await client.get("/admin/missing", headers={"Origin": ORIGIN})
    assert resp.status == 404
    assert cors_of(resp) is None
    resp = await client.options("/admin/users", headers=preflight_headers())
    assert resp.status == 405
    assert cors_of(resp) is None
    resp = await client.put("/partner/orders", headers={"Origin": OTHER})
    assert cors_of(resp) == OTHER
    resp = await client.options("/partner/orders", headers=preflight_headers(origin=OTHER))
    assert resp.status == 200


async def echo_socket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    await socket.close()
    return socket


@pytest.mark.parametrize("own", [None, False])
async def test_4_a_sub_application_keeps_its_parents_websocket_guard(aiohttp_client, own):
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()}, guard_websockets=True)
    sub = web.Application()
    aiohttp_cors.enable(sub, {ORIGIN: ResourceOptions()}, guard_websockets=own)
    sub.router.add_get("/ws", echo_socket)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    handshake = {"Origin": OTHER, "Connection": "Upgrade", "Upgrade": "websocket"}
    handshake |= {"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    resp = await client.get("/sub/ws", headers=handshake)
    # Inherited: refused. Switched off explicitly by the sub-application: let through.
    assert resp.status == (403 if own is None else 101)


@web.middleware
async def require_token(request: web.Request, handler):
    if request.headers.get("Authorization") != "Bearer good":
        raise web.HTTPUnauthorized(text="no token")
    return await handler(request)


async def test_5_sub_application_preflights_come_before_the_parents_middlewares(
    aiohttp_client, caplog
):
    caplog.set_level(logging.WARNING, logger="aiohttp_cors")
    app = web.Application(middlewares=[require_token])
    aiohttp_cors.enable(app)  # nothing allowed at the top, but its middleware comes first
    sub = web.Application()
    aiohttp_cors.enable(sub, {ORIGIN: ResourceOptions(allow_headers=("Authorization",))})
    sub.router.add_put("/x", ok)
    app.add_subapp("/api", sub)
    client = await aiohttp_client(app)
    resp = await client.options("/api/x", headers=preflight_headers(headers="authorization"))
    assert resp.status == 200
    assert cors_of(resp) == ORIGIN
    assert not caplog.records


async def test_5_without_cors_at_the_top_the_late_preflight_is_reported(aiohttp_client, caplog):
    caplog.set_level(logging.WARNING, logger="aiohttp_cors")
    app = web.Application(middlewares=[require_token])
    sub = web.Application()
    aiohttp_cors.enable(sub, {ORIGIN: ResourceOptions()})
    sub.router.add_put("/x", ok)
    app.add_subapp("/api", sub)
    client = await aiohttp_client(app)
    for _ in range(2):
        resp = await client.options("/api/x", headers=preflight_headers())
        assert resp.status == 401  # the parent's middleware: aiohttp runs it first
        resp = await client.options(
            "/api/x", headers={**preflight_headers(), "Authorization": "Bearer good"}
        )
        assert resp.status == 200
    (record,) = caplog.records  # once
    assert "call aiohttp_cors.enable() on the top application" in record.getMessage()


async def test_6_an_excluded_routes_preflight_gets_no_cors_headers(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, CREDENTIALED)
    cors.exclude(app.router.add_post("/admin", ok))
    resource = app.router.add_resource("/mixed")
    resource.add_route("GET", ok)
    cors.exclude(resource.add_route("DELETE", ok))
    client = await aiohttp_client(app)
    for path, method in (("/admin", "POST"), ("/mixed", "DELETE")):
        resp = await client.options(path, headers=preflight_headers(method=method))
        assert resp.status == 405, path
        assert cors_of(resp) is None, path
        assert "Access-Control-Allow-Credentials" not in resp.headers, path
    resp = await client.options("/mixed", headers=preflight_headers(method="GET"))
    assert resp.status == 200


async def test_7_route_mode_head_follows_get_only(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/x", ok), {ORIGIN: ResourceOptions(expose_headers=("X-A",))})
    cors.add(
        app.router.add_post("/x", ok),
        {OTHER: ResourceOptions(allow_credentials=True, expose_headers=("X-B",))},
    )
    client = await aiohttp_client(app)
    resp = await client.head("/x", headers={"Origin": OTHER})
    assert cors_of(resp) is None
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = await client.head("/x", headers={"Origin": ORIGIN})
    assert cors_of(resp) == ORIGIN
    assert resp.headers["Access-Control-Expose-Headers"] == "X-A"
    resp = await client.options("/x", headers=preflight_headers(origin=OTHER, method="HEAD"))
    assert resp.status == 403
    resp = await client.post("/x", headers={"Origin": OTHER})
    assert cors_of(resp) == OTHER


@pytest.mark.parametrize("mode", ["route", "app-wide"])
async def test_several_origin_lines_allow_nothing(aiohttp_client, caplog, mode):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    config = {ORIGIN: ResourceOptions(), OTHER: ResourceOptions()}
    route = app.router.add_put("/x", ok)
    if mode == "route":
        aiohttp_cors.setup(app, defaults=config).add(route)
    else:
        aiohttp_cors.enable(app, config)
    client = await aiohttp_client(app)
    two = [("Origin", ORIGIN), ("Origin", OTHER)]
    resp = await client.put("/x", headers=two)
    assert resp.status == 200
    assert cors_of(resp) is None
    assert resp.headers["Vary"] == "Origin"
    resp = await client.options("/x", headers=[*two, ("Access-Control-Request-Method", "PUT")])
    assert resp.status == 403
    assert cors_of(resp) is None
    assert "several 'Origin' headers" in await resp.text()
    assert sum("several 'Origin' headers" in r.getMessage() for r in caplog.records) == 2
    # The first line decides nothing either way.
    for first in (ORIGIN, "https://elsewhere.example"):
        lines = [("Origin", first), ("Origin", OTHER), ("Access-Control-Request-Method", "PUT")]
        resp = await client.options("/x", headers=lines)
        assert resp.status == 403
        assert cors_of(resp) is None
        resp = await client.put("/x", headers=lines[:2])
        assert cors_of(resp) is None


async def test_a_parents_policy_covers_sub_applications_without_their_own(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()}, allow_private_network=True)
    plain, own = web.Application(), web.Application()
    plain.router.add_put("/x", ok)
    own.router.add_put("/x", ok)
    aiohttp_cors.enable(own, {OTHER: ResourceOptions()})  # its own policy, PNA inherited
    app.add_subapp("/plain", plain)
    app.add_subapp("/own", own)
    client = await aiohttp_client(app)
    pna = {"Access-Control-Request-Private-Network": "true"}
    resp = await client.options("/plain/x", headers={**preflight_headers(), **pna})
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    resp = await client.options("/own/x", headers={**preflight_headers(origin=OTHER), **pna})
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    assert "Access-Control-Request-Private-Network" in resp.headers["Vary"]
    resp = await client.put("/own/x", headers={"Origin": ORIGIN})
    assert cors_of(resp) is None


async def test_route_mode_preflight_is_decided_by_the_serving_route(aiohttp_client):
    """Route mode's OPTIONS route of one resource does not approve a method that
    another resource on the same path serves without CORS."""
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_methods="*")})
    cors.add(app.router.add_resource("/items", name="a").add_route("GET", ok))
    app.router.add_resource("/items", name="b").add_route("DELETE", ok)
    client = await aiohttp_client(app)
    resp = await client.options("/items", headers=preflight_headers(method="DELETE"))
    assert resp.status == 403
    resp = await client.options("/items", headers=preflight_headers(method="PATCH"))
    assert resp.status == 200  # served by nobody: allow_methods="*" of the resource decides


async def test_a_dynamic_resources_options_route_decides_per_path(aiohttp_client):
    """The OPTIONS route of a dynamic resource takes preflights for many paths, each
    served by its own route: what one path found is not reused for another."""
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/{name}", ok), {ORIGIN: ResourceOptions()})  # first
    open_ = app.router.add_put(r"/{name:open\d*}", ok)
    cors.add(open_, {ORIGIN: ResourceOptions(allow_methods="*")})
    app.router.add_put(r"/{name:admin\d*}", ok)  # without CORS
    client = await aiohttp_client(app)
    for n in range(2):
        resp = await client.options(f"/open{n}", headers=preflight_headers(method="PUT"))
        assert cors_of(resp) == ORIGIN
        resp = await client.options(f"/admin{n}", headers=preflight_headers(method="PUT"))
        assert (resp.status, cors_of(resp)) == (403, None)


async def test_a_sub_applications_new_configuration_applies_at_once(aiohttp_client):
    """The parent's engine decides for the sub-application's routes; what it found
    there must follow the sub-application's configuration when it changes."""
    app, sub = web.Application(), web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()})
    sub_cors = aiohttp_cors.enable(sub, {OTHER: ResourceOptions(allow_methods="*")})
    sub.router.add_put("/x", ok)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    resp = await client.options("/sub/x", headers=preflight_headers(origin=OTHER, method="PUT"))
    assert cors_of(resp) == OTHER
    assert cors_of(await client.put("/sub/x", headers={"Origin": OTHER})) == OTHER
    sub_cors.reconfigure({ORIGIN: ResourceOptions(allow_methods="*")})
    resp = await client.options("/sub/x", headers=preflight_headers(origin=OTHER, method="PUT"))
    assert (resp.status, cors_of(resp)) == (403, None)
    assert cors_of(await client.put("/sub/x", headers={"Origin": OTHER})) is None
    assert cors_of(await client.put("/sub/x", headers={"Origin": ORIGIN})) == ORIGIN


async def test_app_wide_gives_each_resource_an_options_route_at_start_up(aiohttp_client, tmp_path):
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()})
    sub = web.Application()
    sub.router.add_put("/x", ok)
    app.router.add_get("/a", ok)
    app.router.add_static("/files", tmp_path)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)

    def options_routes(application: web.Application) -> int:
        return sum(route.method == "OPTIONS" for route in application.router.routes())

    assert options_routes(sub) == 1
    assert options_routes(app) == 3  # its own two, and the sub-application's
    for path, method in (("/a", "GET"), ("/files/f", "GET"), ("/sub/x", "PUT")):
        resp = await client.options(path, headers=preflight_headers(method=method))
        assert resp.status == 200, path
        resp = await client.options(path)  # a plain OPTIONS: aiohttp's 405, as before
        assert resp.status == 405, path
        assert "OPTIONS" not in resp.headers["Allow"], path


@pytest.mark.parametrize("mode", ["route", "app-wide"])
async def test_a_preflight_for_options_is_not_served_by_the_librarys_own_route(
    aiohttp_client, mode
):
    app = web.Application()
    route = app.router.add_get("/x", ok)
    if mode == "route":
        aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()}).add(route)
    else:
        aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()})
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=preflight_headers(method="OPTIONS"))
    assert resp.status == 403  # allow_methods=None: nothing serves OPTIONS here


#: Methods aiohttp's parser takes (it refuses unknown ones with a 400).
ANY_METHODS = ("GET", "POST", "PATCH", "DELETE", "PROPFIND", "MKCOL", "LOCK", "SEARCH", "PURGE")


async def test_what_the_engine_learns_is_bounded_by_the_routes(aiohttp_client):
    """Requests with any method, on any path, leave one entry per route at most: the
    tables of serving routes and their scopes are filled from the application's
    routes, not from requests."""
    from aiohttp_cors._engine import ENGINE_KEY

    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions(allow_methods="*")})
    app.router.add_get("/x", ok)
    put = app.router.add_put("/x", ok)
    app.router.add_route("*", "/any", ok)
    client = await aiohttp_client(app)
    for n in range(50):
        for path in ("/x", "/any"):
            await client.options(path, headers=preflight_headers(method=f"M{n}"))
        await client.options("/x", headers=preflight_headers(method="PUT"))
        method = ANY_METHODS[n % len(ANY_METHODS)]
        await client.request(method, "/any", headers={"Origin": ORIGIN})
        await client.request(method, f"/missing/{n}", headers={"Origin": ORIGIN})
        await client.put("/x", headers={"Origin": ORIGIN})
    engine = app[ENGINE_KEY]
    assert len(engine.preflight_targets) == 1  # (OPTIONS of /x, PUT)
    assert list(engine.route_scopes) == [put]


async def test_no_options_route_where_a_dynamic_catch_all_could_take_the_path(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, CREDENTIALED)
    cors.exclude(app.router.add_post("/admin/{id}", ok))
    app.router.add_route("*", "/{tail:.*}", spa)
    client = await aiohttp_client(app)
    resp = await client.options("/admin/7")
    assert await resp.text() == "index.html"  # plain OPTIONS: still the application's
    resp = await client.options("/admin/7", headers=preflight_headers(method="POST"))
    assert cors_of(resp) is None


async def test_views_report_their_configuration_anywhere(aiohttp_client):
    from aiohttp_cors import CorsViewMixin

    seen = {}

    class Probe(web.View, CorsViewMixin):
        cors_config = {"https://*.example.com": ResourceOptions(), "http://localhost:*": {}}

        async def get(self) -> web.Response:
            seen.update(self.get_request_config(self.request, "GET"))
            return web.Response()

    app = web.Application()
    sub = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(sub.router.add_view("/probe", Probe))
    sub.router.add_view("/bare", Probe)  # a view CORS does not know
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    await client.get("/sub/probe")
    assert set(seen) == {"https://*.example.com", "http://localhost:*"}
    resp = await client.options("/sub/bare")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET"
    lone = web.Application()
    lone.router.add_view("/probe", Probe)
    client = await aiohttp_client(lone)
    resp = await client.options("/probe", headers=preflight_headers(method="GET"))
    assert resp.status == 405  # no CORS anywhere: the view's own 405
