"""Wire behaviour of route mode, over real HTTP: what 0.8.1 users rely on, and the engine rules."""

from __future__ import annotations

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CorsViewMixin, ResourceOptions, custom_cors

from .conftest import ORIGIN, OTHER, ok, preflight_headers

CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
)


def no_cors(resp) -> bool:
    return not any(name in resp.headers for name in CORS_HEADERS)


async def custom_headers(request: web.Request) -> web.Response:
    return web.Response(text="body", headers={"X-Server-Custom-Header": "1", "X-Other": "2"})


# --- actual requests ------------------------------------------------------------


async def test_actual_request_allowed_origin(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_get("/x", custom_headers),
        {
            ORIGIN: ResourceOptions(
                allow_credentials=True, expose_headers=("X-Server-Custom-Header", "X-Other")
            )
        },
    )
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "body"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Other,X-Server-Custom-Header"
    assert "Access-Control-Allow-Methods" not in resp.headers
    assert "Access-Control-Max-Age" not in resp.headers


async def test_actual_request_without_credentials_or_expose(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_post("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.post("/x", headers={"Origin": OTHER})
    assert resp.headers["Access-Control-Allow-Origin"] == OTHER  # echoed, never a literal *
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert "Access-Control-Expose-Headers" not in resp.headers


@pytest.mark.parametrize(
    "origin",
    [
        None,
        OTHER,
        "http://client.example:80",
        "https://client.example",
        "HTTP://CLIENT.EXAMPLE",
        "http://client.example/",
    ],
)
async def test_actual_request_not_allowed(aiohttp_client, origin):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_credentials=True)})
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": origin} if origin else {})
    assert resp.status == 200
    assert no_cors(resp)
    assert resp.headers["Vary"] == "Origin"


async def test_resource_without_cors_is_untouched(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_get("/cors", ok))
    app.router.add_get("/plain", ok)
    client = await aiohttp_client(app)
    resp = await client.get("/plain", headers={"Origin": ORIGIN})
    assert no_cors(resp)
    assert "Vary" not in resp.headers
    resp = await client.get("/missing", headers={"Origin": ORIGIN})
    assert resp.status == 404
    assert no_cors(resp)


async def test_expose_star_lists_real_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        resp = web.Response(text="x", headers={"X-One": "1", "Cache-Control": "no-store"})
        resp.headers.add("x-one", "again")
        resp.headers["Set-Cookie"] = "a=b"
        return resp

    app = web.Application()
    cors = aiohttp_cors.setup(
        app, defaults={ORIGIN: ResourceOptions(expose_headers="*", allow_credentials=True)}
    )
    cors.add(app.router.add_get("/x", handler))
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    names = resp.headers["Access-Control-Expose-Headers"].split(",")
    assert "X-One" in names
    assert len([n for n in names if n.lower() == "x-one"]) == 1
    assert not {"cache-control", "set-cookie", "content-type"} & {n.lower() for n in names}


async def get_with_expose_star(aiohttp_client, handler):
    """A GET from ORIGIN to *handler*, served with ``expose_headers="*"``."""
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(expose_headers="*")})
    cors.add(app.router.add_get("/x", handler))
    client = await aiohttp_client(app)
    return await client.get("/x", headers={"Origin": ORIGIN})


NEVER_LISTED = (
    "Cache-Control",
    "Content-Language",
    "Content-Type",
    "Expires",
    "Last-Modified",
    "Pragma",
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Set-Cookie",
    "Set-Cookie2",
    "TE",
    "Trailer",
    "Upgrade",
)


@pytest.mark.parametrize("name", NEVER_LISTED)
async def test_expose_star_leaves_out_each_name_that_needs_no_listing(aiohttp_client, name):
    """Safelisted names, names a page never reads, and those of the connection."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={name: "x", "X-Kept": "1"})
        resp.headers.add(name.upper(), "y")
        await resp.prepare(request)
        await resp.write_eof()
        return resp

    resp = await get_with_expose_star(aiohttp_client, handler)
    listed = {n.lower() for n in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert "x-kept" in listed
    assert name.lower() not in listed


async def test_expose_star_on_a_streamed_response(aiohttp_client):
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        await resp.write(b"streamed")
        return resp

    resp = await get_with_expose_star(aiohttp_client, handler)
    assert await resp.text() == "streamed"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    # Depending on the aiohttp version, Date and Server are set before CORS runs.
    exposed = resp.headers.get("Access-Control-Expose-Headers", "")
    assert {name.lower() for name in exposed.split(",") if name} <= {"date", "server"}


async def test_handler_cors_headers_win_per_header(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(headers={"Access-Control-Expose-Headers": "X-Mine"})

    app = web.Application()
    cors = aiohttp_cors.setup(
        app,
        defaults={ORIGIN: ResourceOptions(expose_headers=("X-Theirs",), allow_credentials=True)},
    )
    cors.add(app.router.add_get("/x", handler))
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers.getall("Access-Control-Expose-Headers") == ["X-Mine"]
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (["Accept-Encoding"], ["Accept-Encoding, Origin"]),
        (["origin"], ["origin"]),
        (["Accept, ORIGIN"], ["Accept, ORIGIN"]),
        (["*"], ["*"]),
        (["Accept", "Cookie"], ["Accept, Cookie, Origin"]),
    ],
)
async def test_vary_is_merged(aiohttp_client, existing, expected):
    async def handler(request: web.Request) -> web.Response:
        resp = web.Response()
        for value in existing:
            resp.headers.add("Vary", value)
        return resp

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_get("/x", handler))
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    assert resp.headers.getall("Vary") == expected


async def test_errors_raised_by_handlers_carry_cors_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPConflict(text="taken")

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_put("/x", handler))
    client = await aiohttp_client(app)
    resp = await client.put("/x", headers={"Origin": ORIGIN})
    assert resp.status == 409
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


# --- preflight ------------------------------------------------------------------


async def test_preflight_success(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_put("/x", ok),
        {
            ORIGIN: ResourceOptions(
                allow_credentials=True,
                allow_headers=("X-Token", "Content-Type"),
                max_age=600,
                expose_headers=("X-Ignored-On-Preflight",),
            )
        },
    )
    client = await aiohttp_client(app)
    resp = await client.options(
        "/x", headers=preflight_headers(method="PUT", headers="content-type,x-token")
    )
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Max-Age"] == "600"
    assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
    assert resp.headers["Access-Control-Allow-Headers"] == "CONTENT-TYPE,X-TOKEN"
    assert "Access-Control-Expose-Headers" not in resp.headers


async def test_preflight_minimal_answer(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_delete("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=preflight_headers(method="DELETE"))
    assert resp.status == 200
    for absent in (
        "Access-Control-Allow-Credentials",
        "Access-Control-Max-Age",
        "Access-Control-Allow-Headers",
    ):
        assert absent not in resp.headers


@pytest.mark.parametrize(
    ("sent", "reflected"),
    [
        ("X-A, x-b", "X-A,X-B"),
        ("x-a,,x-b, ", "X-A,X-B"),
        ("x-a,x-A", "X-A"),
        ("\tx-a ,\tx-b\t", "X-A,X-B"),
    ],
)
async def test_preflight_request_headers_parsing(aiohttp_client, sent, reflected):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_headers=("x-a", "X-B"))})
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=preflight_headers(headers=sent))
    assert resp.status == 200, await resp.text()
    assert resp.headers["Access-Control-Allow-Headers"] == reflected


async def test_preflight_repeated_request_headers_lines(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_headers="*")})
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    headers = [
        ("Origin", ORIGIN),
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "x-a"),
        ("Access-Control-Request-Headers", "authorization, x-b"),
    ]
    resp = await client.options("/x", headers=headers)
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "X-A,AUTHORIZATION,X-B"


@pytest.mark.parametrize(
    "sent",
    [
        "x-a, x b",
        "x-a;",
        "x-(a)",
        "x-" + "a" * 5000,
        ",".join(["x-a"] + [""] * 20),
        "x-\u212aey",
    ],
)
async def test_preflight_malformed_request_headers_are_rejected_cleanly(aiohttp_client, sent):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_headers="*")})
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=preflight_headers(headers=sent))
    assert resp.status == 403
    assert no_cors(resp)
    assert (await resp.text()).startswith("CORS preflight request failed: ")


async def test_allow_headers_star_reflects_authorization_with_credentials(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(
        app,
        defaults={ORIGIN: ResourceOptions(allow_headers="*", allow_credentials=True)},
    )
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.options(
        "/x", headers=preflight_headers(method="GET", headers="authorization,x-custom")
    )
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "AUTHORIZATION,X-CUSTOM"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    ("options", "sent", "reason"),
    [
        (
            ResourceOptions(),
            preflight_headers(origin=OTHER),
            f"origin '{OTHER}' is not allowed",
        ),
        (
            ResourceOptions(),
            preflight_headers(method="PATCH"),
            f"request method 'PATCH' is not allowed for '{ORIGIN}' origin",
        ),
        (
            ResourceOptions(allow_headers=("X-A",)),
            preflight_headers(headers="x-a,x-b,x-c"),
            "headers are not allowed: X-B, X-C",
        ),
        (
            ResourceOptions(allow_methods=["PUT"]),
            preflight_headers(method="put"),
            f"request method 'put' is not allowed for '{ORIGIN}' origin",
        ),
    ],
)
async def test_preflight_rejections(aiohttp_client, options, sent, reason):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: options})
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=sent)
    assert resp.status == 403
    assert await resp.text() == "CORS preflight request failed: " + reason
    assert no_cors(resp)
    assert resp.headers["Vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )


async def test_preflight_no_origins_allowed(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=preflight_headers())
    assert resp.status == 403
    assert await resp.text() == "CORS preflight request failed: no origins are allowed"


@pytest.mark.parametrize("sent", [{}, {"Origin": ORIGIN}, {"Access-Control-Request-Method": "PUT"}])
async def test_plain_options_is_not_a_preflight(aiohttp_client, sent):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    resource = app.router.add_resource("/x")
    cors.add(resource.add_route("PUT", ok))
    cors.add(resource.add_route("GET", ok))
    client = await aiohttp_client(app)
    resp = await client.options("/x", headers=sent)
    assert resp.status == 405
    assert sorted(resp.headers["Allow"].split(",")) == ["GET", "PUT"]


async def test_allow_methods_variants(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_get("/explicit", ok),
        {ORIGIN: ResourceOptions(allow_methods=["get", "PATCH"])},
    )
    cors.add(app.router.add_get("/any", ok), {ORIGIN: ResourceOptions(allow_methods="*")})
    client = await aiohttp_client(app)

    async def status(path: str, method: str) -> int:
        resp = await client.options(path, headers=preflight_headers(method=method))
        return resp.status

    assert await status("/explicit", "GET") == 200
    assert await status("/explicit", "PATCH") == 200
    assert await status("/explicit", "DELETE") == 403
    assert await status("/any", "DELETE") == 200
    assert await status("/any", "anything-token") == 200
    assert await status("/any", "no spaces") == 403


async def test_allow_methods_none_means_methods_added_with_cors(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    resource = cors.add(app.router.add_resource("/x"))
    cors.add(resource.add_route("GET", ok))
    cors.add(resource.add_route("POST", ok))
    resource.add_route("PUT", ok)  # served, but CORS was not added for it
    client = await aiohttp_client(app)
    for method, expected in (("GET", 200), ("POST", 200), ("PUT", 403), ("DELETE", 403)):
        resp = await client.options("/x", headers=preflight_headers(method=method))
        assert resp.status == expected, method
    # actual requests on the resource get CORS headers for every method
    resp = await client.put("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_exact_origin_at_any_level_beats_star(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(
        app, defaults={ORIGIN: ResourceOptions(allow_credentials=True, expose_headers=("X-D",))}
    )
    resource = cors.add(app.router.add_resource("/x"), {"*": ResourceOptions(max_age=1)})
    cors.add(resource.add_route("GET", ok), {"*": ResourceOptions(expose_headers=("X-R",))})
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-D"
    resp = await client.get("/x", headers={"Origin": OTHER})
    assert resp.headers["Access-Control-Expose-Headers"] == "X-R"
    resp = await client.options("/x", headers=preflight_headers(origin=OTHER, method="GET"))
    assert "Access-Control-Max-Age" not in resp.headers  # the route's "*" is more specific


async def test_route_config_beats_resource_config_beats_defaults(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(max_age=1)})
    resource = cors.add(app.router.add_resource("/x"), {ORIGIN: ResourceOptions(max_age=2)})
    cors.add(resource.add_route("GET", ok), {ORIGIN: ResourceOptions(max_age=3)})
    cors.add(resource.add_route("PUT", ok))
    other = app.router.add_resource("/y")
    cors.add(other.add_route("PUT", ok))
    client = await aiohttp_client(app)

    async def max_age(path: str, method: str) -> str:
        resp = await client.options(path, headers=preflight_headers(method=method))
        return resp.headers["Access-Control-Max-Age"]

    assert await max_age("/x", "GET") == "3"
    assert await max_age("/x", "PUT") == "2"
    assert await max_age("/y", "PUT") == "1"


async def test_null_origin_under_star_only_without_credentials(aiohttp_client):
    """``Access-Control-Allow-Origin: *`` admits ``null`` anyway: "*" without credentials
    does too (sandboxed iframes, ``file:`` pages); with credentials it never does."""
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/star", ok), {"*": ResourceOptions()})
    credentialed = {"*": ResourceOptions(allow_credentials=True)}
    cors.add(app.router.add_get("/star-credentials", ok), credentialed)
    cors.add(app.router.add_get("/listed", ok), {"null": ResourceOptions()})
    cors.add(app.router.add_get("/other", ok), {ORIGIN: ResourceOptions()})
    client = await aiohttp_client(app)
    for path in ("/star", "/listed"):
        resp = await client.get(path, headers={"Origin": "null"})
        assert resp.headers["Access-Control-Allow-Origin"] == "null", path
        resp = await client.options(path, headers=preflight_headers(origin="null", method="GET"))
        assert resp.headers["Access-Control-Allow-Origin"] == "null", path
    for path in ("/star-credentials", "/other"):
        resp = await client.get(path, headers={"Origin": "null"})
        assert no_cors(resp), path
        resp = await client.options(path, headers=preflight_headers(origin="null", method="GET"))
        assert (resp.status, no_cors(resp)) == (403, True), path
    resp = await client.get("/star-credentials", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("origin", ["not an origin", "http://a.example,http://b.example", "ftp:/x"])
async def test_star_does_not_echo_malformed_origins(aiohttp_client, origin):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": origin})
    assert no_cors(resp)


# --- static resources and views -------------------------------------------------


async def test_static_resource(aiohttp_client, tmp_path):
    (tmp_path / "file.txt").write_text("static body")
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_static("/static", tmp_path),
        {ORIGIN: ResourceOptions(allow_headers=("X-A",), expose_headers=("X-B",))},
    )
    client = await aiohttp_client(app)
    resp = await client.get("/static/file.txt", headers={"Origin": ORIGIN})
    assert await resp.text() == "static body"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Expose-Headers"] == "X-B"
    resp = await client.options(
        "/static/file.txt", headers=preflight_headers(method="GET", headers="x-a")
    )
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "X-A"
    resp = await client.options("/static/file.txt", headers=preflight_headers(method="PUT"))
    assert resp.status == 403
    resp = await client.options("/static/file.txt")
    assert resp.status == 405


async def test_static_resource_allow_methods(aiohttp_client, tmp_path):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_static("/static", tmp_path),
        {ORIGIN: ResourceOptions(allow_methods=["PUT"])},
    )
    client = await aiohttp_client(app)
    resp = await client.options("/static/any", headers=preflight_headers(method="PUT"))
    assert resp.status == 200


class CorsView(web.View, CorsViewMixin):
    cors_config = {
        ORIGIN: ResourceOptions(allow_headers=("X-View",), expose_headers=("X-Exposed",)),
    }

    async def get(self) -> web.Response:
        return web.Response(text="get", headers={"X-Exposed": "1"})

    @custom_cors({OTHER: ResourceOptions(allow_credentials=True)})
    async def post(self) -> web.Response:
        return web.Response(text="post")

    async def put(self) -> web.Response:
        return web.Response(text="put")


async def test_view_config_levels(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"http://default.example": ResourceOptions()})
    cors.add(app.router.add_route("*", "/view", CorsView))
    client = await aiohttp_client(app)

    resp = await client.get("/view", headers={"Origin": ORIGIN})
    assert await resp.text() == "get"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Exposed"
    # custom_cors applies to its method only
    resp = await client.post("/view", headers={"Origin": OTHER})
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    resp = await client.put("/view", headers={"Origin": OTHER})
    assert no_cors(resp)
    resp = await client.put("/view", headers={"Origin": "http://default.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://default.example"
    # preflights use the same levels
    resp = await client.options("/view", headers=preflight_headers(method="PUT", headers="x-view"))
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "X-VIEW"
    resp = await client.options("/view", headers=preflight_headers(origin=OTHER, method="POST"))
    assert resp.status == 200
    resp = await client.options("/view", headers=preflight_headers(origin=OTHER, method="PUT"))
    assert resp.status == 403


async def test_view_plain_options_and_add_view(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_view("/view", CorsView))
    app.router.add_view("/unregistered", CorsView)
    client = await aiohttp_client(app)
    resp = await client.options("/view")
    assert resp.status == 405
    assert sorted(resp.headers["Allow"].split(",")) == ["GET", "POST", "PUT"]
    resp = await client.options("/view", headers=preflight_headers(method="GET"))
    assert resp.status == 200
    # a view whose route was not added has no CORS
    resp = await client.options("/unregistered", headers=preflight_headers(method="GET"))
    assert resp.status == 405
    assert no_cors(resp)


async def test_view_resource_added_as_resource(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    route = app.router.add_route("*", "/view", CorsView)
    cors.add(route.resource, {"http://res.example": ResourceOptions()})
    client = await aiohttp_client(app)
    resp = await client.options(
        "/view", headers=preflight_headers(origin="http://res.example", method="GET")
    )
    assert resp.status == 200


class DynamicView(web.View, CorsViewMixin):
    @classmethod
    def get_request_config(cls, request, request_method):
        config = dict(super().get_request_config(request, request_method))
        config[request.headers.get("X-Allow-Origin", "http://none.example")] = ResourceOptions()
        return config

    async def get(self) -> web.Response:
        return web.Response(text="dynamic")


async def test_view_overriding_get_request_config(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_route("*", "/view", DynamicView))
    client = await aiohttp_client(app)
    resp = await client.get("/view", headers={"Origin": OTHER, "X-Allow-Origin": OTHER})
    assert resp.headers["Access-Control-Allow-Origin"] == OTHER
    resp = await client.get("/view", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    resp = await client.options("/view", headers=preflight_headers(origin=OTHER, method="GET"))
    assert resp.status == 403


async def test_get_request_config_of_an_unregistered_view(aiohttp_client):
    seen = {}

    class Probe(web.View, CorsViewMixin):
        cors_config = {OTHER: ResourceOptions()}

        async def get(self) -> web.Response:
            seen.update(self.get_request_config(self.request, "GET"))
            return web.Response()

    app = web.Application()
    aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(max_age=5)})
    app.router.add_view("/probe", Probe)
    client = await aiohttp_client(app)
    await client.get("/probe")
    assert seen == {ORIGIN: ResourceOptions(max_age=5), OTHER: ResourceOptions()}


# --- defaults are read at request time -------------------------------------------


async def test_defaults_changes_take_effect(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)

    async def allowed(origin: str) -> bool:
        resp = await client.get("/x", headers={"Origin": origin})
        return "Access-Control-Allow-Origin" in resp.headers

    assert not await allowed(ORIGIN)
    cors.defaults[ORIGIN] = {"allow_credentials": True}
    assert await allowed(ORIGIN)
    assert cors.defaults[ORIGIN] == ResourceOptions(allow_credentials=True)
    cors.defaults.update({OTHER: ResourceOptions()})
    assert await allowed(OTHER)
    del cors.defaults[OTHER]
    assert not await allowed(OTHER)
    cors.defaults.setdefault(OTHER, ResourceOptions())
    cors.defaults |= {"http://third.example": ResourceOptions()}
    assert await allowed("http://third.example")
    assert cors.defaults.pop(OTHER) == ResourceOptions()
    cors.defaults.popitem()
    cors.defaults.clear()
    assert not await allowed(ORIGIN)
    cors.defaults = {"*": ResourceOptions()}
    assert await allowed(OTHER)
    with pytest.raises(ValueError, match="Unexpected keywords"):
        cors.defaults[ORIGIN] = {"nope": 1}


async def test_defaults_take_any_spelling_of_an_origin(aiohttp_client):
    """Each mapping operation on ``defaults`` takes what ``setup(defaults=...)`` takes."""
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"HTTPS://App.Example:443": ResourceOptions()})
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)

    async def allowed(origin: str) -> bool:
        resp = await client.get("/x", headers={"Origin": origin})
        return resp.headers.get("Access-Control-Allow-Origin") == origin

    spellings = ["https://app.example", "HTTPS://APP.EXAMPLE", "https://app.example:443"]
    for spelling in spellings:
        assert spelling in cors.defaults
        assert cors.defaults[spelling] == ResourceOptions()
        assert cors.defaults.get(spelling) == ResourceOptions()
    assert await allowed("https://app.example")
    cors.defaults["https://App.Example:443"] = {"allow_credentials": True}
    assert list(cors.defaults) == ["https://app.example"]
    assert cors.defaults.pop("HTTPS://app.example") == ResourceOptions(allow_credentials=True)
    assert not await allowed("https://app.example")
    cors.defaults["https://straße.example"] = ResourceOptions()
    assert await allowed("https://xn--strae-oqa.example")
    del cors.defaults["https://Straße.example"]
    assert not await allowed("https://xn--strae-oqa.example")
    assert cors.defaults.get("https://nowhere.example", 1) == 1
    assert "not an origin" not in cors.defaults


async def test_resources_sharing_a_path_decide_by_the_serving_resource(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_resource("/items", name="a").add_route("GET", ok))
    app.router.add_resource("/items", name="b").add_route("DELETE", ok)  # no CORS
    cors.add(app.router.add_resource("/items", name="c").add_route("PUT", ok))
    client = await aiohttp_client(app)
    for method, expected in (("GET", 200), ("PUT", 200), ("DELETE", 403), ("PATCH", 403)):
        resp = await client.options("/items", headers=preflight_headers(method=method))
        assert resp.status == expected, method
    resp = await client.delete("/items", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_route_config_covers_head_and_unconfigured_methods(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/x")
    cors.add(resource.add_route("GET", ok), {ORIGIN: ResourceOptions(allow_methods=["PATCH"])})
    resource.add_route("HEAD", ok)
    resource.add_route("PATCH", ok)
    client = await aiohttp_client(app)
    resp = await client.head("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    resp = await client.options("/x", headers=preflight_headers(method="PATCH"))
    assert resp.status == 200
    resp = await client.patch("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


class GetOnlyView(web.View, CorsViewMixin):
    async def get(self) -> web.Response:
        return web.Response(text="get")


@pytest.mark.parametrize("allow_methods", ["*", ["GET", "DELETE"]])
async def test_view_preflight_only_for_implemented_methods(aiohttp_client, allow_methods):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_methods=allow_methods)})
    cors.add(app.router.add_view("/view", GetOnlyView))
    client = await aiohttp_client(app)
    resp = await client.options("/view", headers=preflight_headers(method="GET"))
    assert resp.status == 200
    for method in ("DELETE", "FOO", "__init__"):
        resp = await client.options("/view", headers=preflight_headers(method=method))
        assert resp.status == 403, method


@pytest.mark.parametrize(
    ("origin", "method"),
    [
        (b"http://\xff\xfe.example", b"PUT"),
        (ORIGIN.encode(), b"P\xffT"),
        (b"http://caf\xc3\xa9.example", b"PUT"),
        (b"http://" + b"a" * 6000 + b".example", b"PUT"),
    ],
)
async def test_undecodable_bytes_give_a_clean_403(aiohttp_server, origin, method):
    import asyncio

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_put("/x", ok))
    server = await aiohttp_server(app)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"OPTIONS /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Origin: " + origin + b"\r\nAccess-Control-Request-Method: " + method + b"\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 403 Forbidden", answer[:300]
    assert b"CORS preflight request failed: " in rest
    assert rest.isascii()
    assert len(rest) < 2000


async def test_head_beside_a_cors_get_route_passes_its_preflight(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_get("/", ok))  # aiohttp adds a HEAD route beside it
    client = await aiohttp_client(app)
    resp = await client.options("/", headers=preflight_headers(method="HEAD"))
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Methods"] == "HEAD"
    resp = await client.options("/", headers=preflight_headers(method="PUT"))
    assert resp.status == 403


# --- origins a predicate allows, views that decide per request, shared paths ------------


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_route_mode_actual_requests_from_an_origin_a_predicate_allows(
    aiohttp_client, asynchronous
):
    asked: list[str] = []

    def tenant(origin: str, request: web.Request) -> bool:
        asked.append(origin)
        return origin == OTHER

    async def tenant_async(origin: str, request: web.Request) -> bool:
        return tenant(origin, request)

    options = ResourceOptions(allow_credentials=True, expose_headers=("X-Server-Custom-Header",))
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(
        app.router.add_get("/x", custom_headers),
        {tenant_async if asynchronous else tenant: options},
    )
    client = await aiohttp_client(app)
    for _ in range(2):
        async with client.get("/x", headers={"Origin": OTHER}) as resp:
            assert resp.status == 200
            assert await resp.text() == "body"
            assert resp.headers["Access-Control-Allow-Origin"] == OTHER
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
            assert resp.headers["Access-Control-Expose-Headers"] == "X-Server-Custom-Header"
            assert resp.headers["Vary"] == "Origin"
    async with client.get("/x", headers={"Origin": "http://third.example"}) as resp:
        assert resp.status == 200
        assert no_cors(resp)
        assert resp.headers["Vary"] == "Origin"
    async with client.get("/x", headers={"Origin": ORIGIN}) as resp:  # an exact origin first
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Access-Control-Allow-Credentials" not in resp.headers
    assert asked == [OTHER, OTHER, "http://third.example"]


class PerRequestView(web.View, CorsViewMixin):
    """Allows the origin the request names in ``X-Tenant`` (a tenant's own origin)."""

    @classmethod
    def get_request_config(cls, request, request_method):
        tenant = request.headers.get("X-Tenant")
        if tenant is None:
            return {}
        options = ResourceOptions(allow_headers=("X-Token",), max_age=30, allow_methods=["PUT"])
        return {tenant: options}

    async def get(self) -> web.Response:
        return web.Response(text="get")

    async def put(self) -> web.Response:
        return web.Response(text="put")


async def test_a_view_deciding_per_request_allows_its_preflights(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_view("/view", PerRequestView))
    client = await aiohttp_client(app)
    for _ in range(2):  # nothing of one request's answer is kept for the next
        headers = {**preflight_headers(OTHER, "PUT", "x-token"), "X-Tenant": OTHER}
        async with client.options("/view", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Access-Control-Allow-Origin"] == OTHER
            assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
            assert resp.headers["Access-Control-Allow-Headers"] == "X-TOKEN"
            assert resp.headers["Access-Control-Max-Age"] == "30"
        async with client.options("/view", headers=preflight_headers(OTHER, "PUT")) as resp:
            assert resp.status == 403
            assert no_cors(resp)
    refused = [
        ({**preflight_headers(ORIGIN, "PUT"), "X-Tenant": OTHER}, "origin"),
        ({**preflight_headers(OTHER, "DELETE"), "X-Tenant": OTHER}, "method"),
        ({**preflight_headers(OTHER, "PUT", "x-other"), "X-Tenant": OTHER}, "headers"),
    ]
    for headers, why in refused:
        async with client.options("/view", headers=headers) as resp:
            assert resp.status == 403, why
            assert no_cors(resp), why
    async with client.put("/view", headers={"Origin": OTHER, "X-Tenant": OTHER}) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == OTHER


async def test_a_preflight_for_a_method_another_resource_serves_at_the_path(aiohttp_client):
    """``/items`` serves GET; the PUT at ``/items`` is ``/{name}``'s: its configuration
    decides a preflight for PUT that reaches ``/items``, every time."""
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/items", ok), {ORIGIN: ResourceOptions()})
    cors.add(
        app.router.add_put("/{name}", ok),
        {OTHER: ResourceOptions(allow_headers=("X-Token",), max_age=60)},
    )
    client = await aiohttp_client(app)
    for _ in range(2):  # the second time, from what was found the first time
        async with client.options(
            "/items", headers=preflight_headers(OTHER, "PUT", "x-token")
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Access-Control-Allow-Origin"] == OTHER
            assert resp.headers["Access-Control-Allow-Methods"] == "PUT"
            assert resp.headers["Access-Control-Max-Age"] == "60"
        async with client.options("/items", headers=preflight_headers(ORIGIN, "PUT")) as resp:
            assert resp.status == 403
            text = await resp.text()
            assert text == f"CORS preflight request failed: origin '{ORIGIN}' is not allowed"
        async with client.options("/items", headers=preflight_headers(ORIGIN, "GET")) as resp:
            assert resp.status == 200
        async with client.options("/items", headers=preflight_headers(OTHER, "GET")) as resp:
            assert resp.status == 403
    async with client.put("/items", headers={"Origin": OTHER}) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == OTHER


async def test_a_preflight_reaching_a_dynamic_resource_is_decided_path_by_path(aiohttp_client):
    """``/{name}`` takes the preflights of ``/items`` too, but PUT at ``/items`` is the
    plain resource's (without CORS): what serves the method is found for each path."""
    app = web.Application()
    app.router.add_put("/items", ok)  # first: the router tries it first
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_put("/{name}", ok))
    client = await aiohttp_client(app)
    for path in ("/other", "/items", "/other", "/items"):
        async with client.options(path, headers=preflight_headers(ORIGIN, "PUT")) as resp:
            assert resp.status == (200 if path == "/other" else 403), path
