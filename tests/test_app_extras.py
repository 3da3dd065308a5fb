"""App-wide opt-ins over real HTTP: Private Network Access answers, the WebSocket origin guard."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ORIGIN, OTHER, ok, preflight_headers

PNA = {"Access-Control-Request-Private-Network": "true"}
ALLOW_PNA = "Access-Control-Allow-Private-Network"


def pna_app(**flags: bool) -> web.Application:
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions(allow_methods=["PUT"])}, **flags)
    app.router.add_put("/api", ok)
    return app


async def test_private_network_answer_when_enabled(aiohttp_client):
    client = await aiohttp_client(pna_app(allow_private_network=True))
    resp = await client.options("/api", headers={**preflight_headers(), **PNA})
    assert resp.status == 200
    assert resp.headers[ALLOW_PNA] == "true"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    vary = [v.strip() for v in resp.headers["Vary"].split(",")]
    assert "Access-Control-Request-Private-Network" in vary
    assert "Origin" in vary


async def test_private_network_not_for_a_plain_preflight_or_a_refused_one(aiohttp_client):
    client = await aiohttp_client(pna_app(allow_private_network=True))
    plain = await client.options("/api", headers=preflight_headers())
    assert plain.status == 200
    assert ALLOW_PNA not in plain.headers
    refused = await client.options("/api", headers={**preflight_headers(OTHER), **PNA})
    assert refused.status == 403
    assert ALLOW_PNA not in refused.headers
    assert "Access-Control-Request-Private-Network" in refused.headers["Vary"]
    wrong_method = await client.options("/api", headers={**preflight_headers(method="GET"), **PNA})
    assert wrong_method.status == 403
    assert ALLOW_PNA not in wrong_method.headers


async def test_private_network_off_by_default(aiohttp_client, caplog):
    client = await aiohttp_client(pna_app())
    with caplog.at_level(logging.DEBUG, logger="aiohttp_cors"):
        resp = await client.options("/api", headers={**preflight_headers(), **PNA})
    # The preflight is still answered as CORS (the browser decides); only PNA is absent.
    assert resp.status == 200
    assert ALLOW_PNA not in resp.headers
    assert "Private-Network" not in resp.headers["Vary"]
    assert "asks for Private Network Access" in caplog.text


def test_flags_must_be_booleans():
    with pytest.raises(aiohttp_cors.CorsConfigError) as info:
        aiohttp_cors.enable(
            web.Application(),
            {"https://app.example/": ResourceOptions()},
            allow_private_network="yes",  # type: ignore[arg-type]
            guard_websockets=1,  # type: ignore[arg-type]
        )
    problems = info.value.problems
    assert len(problems) == 3
    assert "allow_private_network='yes'" in str(info.value)
    assert "guard_websockets=1" in str(info.value)


async def echo_socket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        await socket.send_str("echo " + message.data)
    return socket


def socket_app(guard: bool = True) -> tuple[web.Application, aiohttp_cors.AppCors]:
    app = web.Application()
    cors = aiohttp_cors.enable(
        app, {ORIGIN: ResourceOptions(), "https://*.example.com": ResourceOptions()}
    )
    cors.guard_websockets = guard
    app.router.add_get("/ws", echo_socket)
    return app, cors


async def talk(client, origin: str | None, header: str = "Origin") -> str:
    headers = {header: origin} if origin is not None else {}
    async with client.ws_connect("/ws", headers=headers) as socket:
        await socket.send_str("hi")
        return await socket.receive_str()


@pytest.mark.parametrize(
    "origin",
    [ORIGIN, "https://chat.example.com", None],
    ids=["listed", "wildcard", "no-origin-not-a-browser"],
)
async def test_websocket_guard_lets_allowed_origins_in(aiohttp_client, origin):
    app, _ = socket_app()
    client = await aiohttp_client(app)
    assert await talk(client, origin) == "echo hi"


async def test_websocket_guard_lets_the_same_origin_in(aiohttp_client):
    app, _ = socket_app()
    client = await aiohttp_client(app)
    own = f"http://{client.server.host}:{client.server.port}"
    assert await talk(client, own) == "echo hi"
    assert await talk(client, own.upper().replace("HTTP", "http")) == "echo hi"


@pytest.mark.parametrize(
    "origin",
    [OTHER, "https://example.com", "https://example.com.evil.net", "null", "http://127.0.0.1:1"],
)
async def test_websocket_guard_refuses_other_origins(aiohttp_client, origin, caplog):
    app, _ = socket_app()
    client = await aiohttp_client(app)
    with (
        caplog.at_level(logging.DEBUG, logger="aiohttp_cors"),
        pytest.raises(aiohttp.WSServerHandshakeError) as info,
    ):
        await talk(client, origin)
    assert info.value.status == 403
    assert "WebSocket handshake rejected" in caplog.text
    resp = await client.get("/ws", headers={"Origin": origin, "Upgrade": "websocket"})
    assert resp.status == 403
    assert (await resp.text()).startswith("WebSocket handshake rejected: origin ")


async def test_websocket_guard_reads_the_legacy_origin_header(aiohttp_client):
    app, _ = socket_app()
    client = await aiohttp_client(app)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await talk(client, OTHER, header="Sec-WebSocket-Origin")
    assert await talk(client, ORIGIN, header="Sec-WebSocket-Origin") == "echo hi"


async def test_websocket_guard_is_opt_in(aiohttp_client):
    app, _ = socket_app(guard=False)
    client = await aiohttp_client(app)
    assert await talk(client, OTHER) == "echo hi"


async def test_websocket_guard_follows_overrides_exclusions_and_reconfiguration(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()}, guard_websockets=True)
    cors.add(app.router.add_get("/open", echo_socket), {OTHER: ResourceOptions()})
    cors.exclude(app.router.add_get("/closed", echo_socket))
    client = await aiohttp_client(app)

    async def status(path: str, origin: str) -> int:
        resp = await client.get(path, headers={"Origin": origin, "Upgrade": "websocket"})
        return resp.status

    assert await status("/open", OTHER) != 403
    assert await status("/closed", ORIGIN) == 403
    cors.reconfigure({"https://new.example": ResourceOptions()})
    assert await status("/open", ORIGIN) == 403
    assert await status("/open", "https://new.example") != 403


async def test_websocket_guard_uses_route_mode_config_where_given(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()}, guard_websockets=True)
    route_mode = aiohttp_cors.setup(app)
    route_mode.add(app.router.add_get("/ws", echo_socket), {OTHER: ResourceOptions()})
    assert cors.guard_websockets
    client = await aiohttp_client(app)
    assert await talk(client, OTHER) == "echo hi"
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await talk(client, ORIGIN)


async def test_websocket_guard_leaves_plain_requests_alone(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()}, guard_websockets=True)
    app.router.add_get("/page", ok)
    client = await aiohttp_client(app)
    resp = await client.get("/page", headers={"Origin": OTHER})
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


class _TenantView(web.View, aiohttp_cors.CorsViewMixin):
    cors_config = {"https://view.example": ResourceOptions(expose_headers=("X-View",))}

    async def get(self) -> web.Response:
        return web.Response(text="get", headers={"X-View": "1", "X-Post": "1"})

    @aiohttp_cors.custom_cors({"https://post.example": ResourceOptions()})
    async def post(self) -> web.Response:
        return web.Response(text="post")


async def test_enable_honours_a_views_own_configuration(aiohttp_client):
    app = web.Application()
    aiohttp_cors.enable(app, {"https://app.example": ResourceOptions()})
    app.router.add_view("/view", _TenantView)
    client = await aiohttp_client(app)
    for origin, method, allowed in [
        ("https://view.example", "GET", True),
        ("https://app.example", "GET", True),  # the application's, below the view's
        ("https://post.example", "GET", False),  # custom_cors is the POST method's
        ("https://post.example", "POST", True),
        ("https://view.example", "POST", True),
        ("https://other.example", "POST", False),
    ]:
        response = await client.request(method, "/view", headers={"Origin": origin})
        got = response.headers.get("Access-Control-Allow-Origin")
        assert (got == origin) is allowed, (origin, method)
    response = await client.get("/view", headers={"Origin": "https://view.example"})
    assert response.headers["Access-Control-Expose-Headers"] == "X-View"
    preflight = await client.options(
        "/view",
        headers={"Origin": "https://post.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 200


async def test_enable_reports_a_view_that_decides_per_request(aiohttp_client, caplog):
    class PerRequest(_TenantView):
        @classmethod
        def get_request_config(cls, request, request_method):  # type: ignore[no-untyped-def]
            return {}

    app = web.Application()
    aiohttp_cors.enable(app, {"https://app.example": ResourceOptions()})
    app.router.add_view("/view", PerRequest)
    with caplog.at_level(logging.WARNING, logger="aiohttp_cors"):
        await aiohttp_client(app)
    (record,) = caplog.records
    assert "PerRequest overrides get_request_config, which aiohttp_cors.enable()" in (
        record.getMessage()
    )


async def test_a_views_configuration_is_checked_strictly_at_start_up():
    class Sloppy(web.View, aiohttp_cors.CorsViewMixin):
        cors_config = {"https://view.example/": ResourceOptions()}

        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    aiohttp_cors.enable(app, {})
    app.router.add_view("/view", Sloppy)
    runner = web.AppRunner(app)
    try:
        with pytest.raises(aiohttp_cors.CorsConfigError, match="has a trailing slash"):
            await runner.setup()  # runs the start-up hooks
    finally:
        await runner.cleanup()


async def test_a_views_configuration_goes_over_add_and_under_exclude(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, {"https://app.example": ResourceOptions()})
    added = app.router.add_view("/added", _TenantView)
    cors.add(
        added,
        {
            "https://added.example": ResourceOptions(),
            "https://view.example": ResourceOptions(expose_headers=("X-Post",)),
        },
    )
    cors.exclude(app.router.add_view("/excluded", _TenantView))
    client = await aiohttp_client(app)
    response = await client.get("/added", headers={"Origin": "https://added.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://added.example"
    response = await client.get("/added", headers={"Origin": "https://view.example"})
    assert response.headers["Access-Control-Expose-Headers"] == "X-View"  # the view's wins
    response = await client.get("/excluded", headers={"Origin": "https://view.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("host", "origin", "same"),
    [
        ("chat.test:80", "http://chat.test", True),  # the default port, written out
        ("chat.test", "http://chat.test", True),
        ("Chat.Test:80", "http://chat.test", True),
        ("chat.test:8080", "http://chat.test:8080", True),
        ("chat.test:8080", "http://chat.test", False),
        ("chat.test:80", "http://chat.test:8080", False),
        ("chat.test:443", "https://chat.test", False),  # the request's scheme is http
        ("chat.test:80", "http://other.test", False),
    ],
)
async def test_websocket_guard_reads_a_default_port_in_host(aiohttp_client, host, origin, same):
    """The server's own origin is the request's scheme and ``Host``, the scheme's default
    port left out as an ``Origin`` leaves it out."""
    app, _ = socket_app()
    client = await aiohttp_client(app)
    headers = {"Host": host, "Origin": origin}
    if same:
        async with client.ws_connect("/ws", headers=headers) as socket:
            await socket.send_str("hi")
            assert await socket.receive_str() == "echo hi"
    else:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await client.ws_connect("/ws", headers=headers)
        assert info.value.status == 403
