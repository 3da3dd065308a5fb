"""Regression tests for aiohttp-cors 0.8.1's known route-mode defects.

Each test uses only 0.8.1's public API and fails when run against 0.8.1
(``.ci/run`` checks that); the numbers follow the reference list of defects.
"""

from __future__ import annotations

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CorsViewMixin, ResourceOptions

from .conftest import ORIGIN, OTHER, ok, preflight_headers


async def test_1_vary_origin_on_every_response(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="x", headers={"Vary": "Accept-Encoding"})

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_get("/plain", ok))
    cors.add(app.router.add_get("/varied", handler))
    client = await aiohttp_client(app)

    for origin in (ORIGIN, OTHER, None):
        headers = {"Origin": origin} if origin else {}
        resp = await client.get("/plain", headers=headers)
        assert resp.headers["Vary"] == "Origin", origin
    resp = await client.get("/varied", headers={"Origin": ORIGIN})
    assert resp.headers.getall("Vary") == ["Accept-Encoding, Origin"]
    resp = await client.options("/plain", headers=preflight_headers(method="GET"))
    assert resp.status == 200
    assert resp.headers["Vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )


async def test_2_handler_setting_cors_headers_keeps_the_connection(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            text="own",
            headers={
                "Access-Control-Allow-Origin": "https://chosen.example",
                "Access-Control-Allow-Credentials": "true",
            },
        )

    app = web.Application()
    cors = aiohttp_cors.setup(
        app, defaults={ORIGIN: ResourceOptions(expose_headers=("X-Configured",))}
    )
    cors.add(app.router.add_get("/own", handler))
    client = await aiohttp_client(app)

    resp = await client.get("/own", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "own"
    assert resp.headers.getall("Access-Control-Allow-Origin") == ["https://chosen.example"]
    assert "Access-Control-Expose-Headers" not in resp.headers


class _GetOnlyView(web.View, CorsViewMixin):
    async def get(self) -> web.Response:
        return web.Response(text="view get")


async def test_3_view_answers_405_for_a_method_it_lacks(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_route("*", "/view", _GetOnlyView))
    client = await aiohttp_client(app)

    resp = await client.delete("/view")
    assert resp.status == 405
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.delete("/view", headers={"Origin": ORIGIN})
    assert resp.status == 405
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_4_views_in_a_sub_application(aiohttp_client):
    app = web.Application()
    sub = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_headers=("X-Token",))})
    route = sub.router.add_route("*", "/view", _GetOnlyView)
    app.add_subapp("/sub", sub)
    cors.add(route)
    client = await aiohttp_client(app)

    resp = await client.options(
        "/sub/view", headers=preflight_headers(method="GET", headers="x-token")
    )
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    resp = await client.get("/sub/view", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_5_view_preflights_use_add_config_and_real_methods(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_route("*", "/view", _GetOnlyView),
        {ORIGIN: ResourceOptions(allow_headers=("X-Token",))},
    )
    client = await aiohttp_client(app)

    resp = await client.options("/view", headers=preflight_headers(method="GET", headers="x-token"))
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    for not_a_method in ("__init__", "get", "dispatch", "POST"):
        resp = await client.options("/view", headers=preflight_headers(method=not_a_method))
        assert resp.status == 403, not_a_method
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_6_star_with_credentials_never_allows_null(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(
        app, defaults={"*": ResourceOptions(allow_credentials=True, allow_methods="*")}
    )
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)

    resp = await client.get("/x", headers={"Origin": "null"})
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = await client.options("/x", headers=preflight_headers(origin="null", method="GET"))
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_10_two_resources_on_one_path(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    first = app.router.add_resource("/items", name="list")
    second = app.router.add_resource("/items", name="create")
    cors.add(first.add_route("GET", ok))
    cors.add(second.add_route("PUT", ok))
    client = await aiohttp_client(app)

    resp = await client.options("/items", headers=preflight_headers(method="PUT"))
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
    resp = await client.put("/items", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_11a_max_age_true_is_rejected():
    with pytest.raises(ValueError, match="'max_age' must be non-negative integer"):
        ResourceOptions(max_age=True)


async def test_11b_mapping_options_accept_allow_methods(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_put("/x", ok), {ORIGIN: {"allow_methods": ["PUT"]}})
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=preflight_headers(method="PUT"))
    assert resp.status == 200


async def test_11c_expose_star_skips_safelisted_names_in_any_case(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            text="x", headers={"content-language": "en", "X-Custom": "1", "pragma": "no-cache"}
        )

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(expose_headers="*")})
    cors.add(app.router.add_get("/x", handler))
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    exposed = [
        name.strip().lower() for name in resp.headers["Access-Control-Expose-Headers"].split(",")
    ]
    assert "x-custom" in exposed
    assert not {"content-language", "pragma", "content-type", "content-length"} & set(exposed)


class _BadConfigView(web.View, CorsViewMixin):
    cors_config = {ORIGIN: {"unknown_option": 1}}

    async def get(self) -> web.Response:
        return web.Response(text="never")


def test_12_no_partial_state_when_validation_fails():
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    view_route = app.router.add_route("*", "/view", _BadConfigView)
    route = app.router.add_get("/x", ok)
    before = [(r.method, r.resource) for r in app.router.routes()]
    # The view's own configuration is checked when it is added, and a failed
    # add leaves nothing behind: the same error again, not "already configured".
    for _ in range(2):
        with pytest.raises(ValueError, match="Unexpected keywords in resource options"):
            cors.add(view_route)
        with pytest.raises(ValueError, match="Unexpected keywords in resource options"):
            cors.add(route, {ORIGIN: {"unknown_option": 1}})
    assert [(r.method, r.resource) for r in app.router.routes()] == before
    cors.add(route, {ORIGIN: ResourceOptions()})
    assert "OPTIONS" in [r.method for r in app.router.routes()]
