"""Debug mode: refusals say why on the wire, and the browser's own message names the
step that failed; with debug off nothing changes."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CorsConfigError, ResourceOptions
from aiohttp_cors._check import exchange
from aiohttp_cors.model import PageRequest

from .conftest import ORIGIN, OTHER, ok, preflight_headers

OPTIONS = ResourceOptions(
    allow_methods=("GET", "PUT"), allow_headers=("X-Token",), max_age=600, expose_headers="*"
)
WITH_CREDENTIALS = ResourceOptions(
    allow_methods=("GET", "PUT"), allow_headers=("X-Token",), allow_credentials=True
)


METHODS = ("GET", "PUT", "DELETE", "POST", "PATCH")


def build(mode: str, debug: bool | None, config: dict[str, Any] | None = None) -> web.Application:
    """/x serves GET, PUT and DELETE; ORIGIN may use GET and PUT with X-Token."""
    config = config or {ORIGIN: OPTIONS}
    app = web.Application()
    resource = app.router.add_resource("/x")
    routes = [resource.add_route(method, ok) for method in METHODS]
    if mode == "app":
        aiohttp_cors.enable(app, config, debug=debug)
    else:
        cors = aiohttp_cors.setup(app, defaults=config, debug=debug)
        for route in routes:
            cors.add(route)
    return app


def cors_object(app: web.Application) -> Any:
    return app.get(aiohttp_cors.APP_CORS_KEY) or app[aiohttp_cors.APP_CONFIG_KEY]


MODES = pytest.mark.parametrize("mode", ["app", "route"])


@MODES
async def test_a_refused_origin_says_why_and_stays_without_allow_origin(aiohttp_client, mode):
    client = await aiohttp_client(build(mode, True))
    response = await client.options("/x", headers=preflight_headers(origin=OTHER))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["X-CORS-Error"] == f"origin '{OTHER}' is not allowed"
    actual = await client.get("/x", headers={"Origin": OTHER})
    assert actual.status == 200
    assert "Access-Control-Allow-Origin" not in actual.headers
    assert actual.headers["X-CORS-Error"] == f"origin '{OTHER}' is not allowed"


@MODES
async def test_a_refused_method_is_answered_so_that_the_browser_names_it(aiohttp_client, mode):
    client = await aiohttp_client(build(mode, True))
    response = await client.options("/x", headers=preflight_headers(method="DELETE"))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    # No method listed (none but the refused one could name it), no header: nothing
    # that the 403 would refuse, for this request or, cached, for a later one.
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers
    assert response.headers["Access-Control-Max-Age"] == "0"  # nothing refused is cached
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["X-CORS-Error"] == (
        f"request method 'DELETE' is not allowed for '{ORIGIN}' origin"
    )
    assert response.headers["Vary"] == "Origin, Access-Control-Request-Method, " + (
        "Access-Control-Request-Headers"
    )
    assert await response.text() == (
        f"CORS preflight request failed: request method 'DELETE' is not allowed for "
        f"'{ORIGIN}' origin"
    )


@MODES
async def test_a_refused_header_is_answered_so_that_the_browser_names_it(aiohttp_client, mode):
    client = await aiohttp_client(build(mode, True, {ORIGIN: WITH_CREDENTIALS}))
    response = await client.options(
        "/x", headers=preflight_headers(method="PUT", headers="x-other,x-token")
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == "PUT"  # the method asked
    assert response.headers["Access-Control-Allow-Headers"] == "x-token"  # asked, allowed
    assert response.headers["Access-Control-Max-Age"] == "0"
    assert response.headers["X-CORS-Error"] == "headers are not allowed: X-OTHER"


async def test_a_method_no_route_serves_is_named_by_an_empty_list(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()}, debug=True)
    resource = cors.add(app.router.add_resource("/x"))
    cors.add(resource.add_route("GET", ok))
    cors.add(resource.add_route("PATCH", ok))
    client = await aiohttp_client(app)
    response = await client.options("/x", headers=preflight_headers(method="PATCH"))
    assert response.status == 200  # allowed: no X-CORS-Error
    assert "X-CORS-Error" not in response.headers
    response = await client.options("/x", headers=preflight_headers(method="PUT"))
    assert response.status == 200  # no route serves PUT: an empty list names it
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "'PUT' is not allowed" in response.headers["X-CORS-Error"]


@MODES
async def test_a_refused_get_head_or_post_stays_a_403(aiohttp_client, mode):
    """A browser takes these three as allowed whatever Access-Control-Allow-Methods
    lists: debug mode cannot show the origin as allowed for them."""
    client = await aiohttp_client(build(mode, True))
    response = await client.options("/x", headers=preflight_headers(method="POST"))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "'POST' is not allowed" in response.headers["X-CORS-Error"]


@MODES
async def test_credentials_sent_to_an_origin_allowed_without_them(aiohttp_client, mode):
    client = await aiohttp_client(build(mode, True))
    for sent in ({"Cookie": "session=1"}, {"Authorization": "Bearer x"}):
        response = await client.get("/x", headers={"Origin": ORIGIN, **sent})
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["X-CORS-Error"] == (
            f"credentials are not allowed for '{ORIGIN}' origin (allow_credentials=False): "
            "a page that sends them cannot read the response"
        )
    response = await client.get("/x", headers={"Origin": ORIGIN})
    assert "X-CORS-Error" not in response.headers
    allowed = await aiohttp_client(build(mode, True, {ORIGIN: WITH_CREDENTIALS}))
    response = await allowed.get("/x", headers={"Origin": ORIGIN, "Cookie": "session=1"})
    assert "X-CORS-Error" not in response.headers


@MODES
async def test_several_origins_say_so(aiohttp_client, mode):
    client = await aiohttp_client(build(mode, True))
    headers = [("Origin", ORIGIN), ("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT")]
    response = await client.options("/x", headers=headers)
    assert response.status == 403
    assert response.headers["X-CORS-Error"] == "the request has several 'Origin' headers"
    actual = await client.get("/x", headers=[("Origin", ORIGIN), ("Origin", ORIGIN)])
    assert actual.headers["X-CORS-Error"] == "the request has several 'Origin' headers"


@MODES
async def test_debug_off_sends_nothing_more(aiohttp_client, mode):
    for debug in (None, False):
        client = await aiohttp_client(build(mode, debug))
        for headers in (
            preflight_headers(origin=OTHER),
            preflight_headers(method="DELETE"),
            preflight_headers(headers="x-other"),
        ):
            response = await client.options("/x", headers=headers)
            assert response.status == 403
            assert "Access-Control-Allow-Origin" not in response.headers
            assert "X-CORS-Error" not in response.headers
        for headers in ({"Origin": OTHER}, {"Origin": ORIGIN, "Cookie": "a=1"}):
            response = await client.get("/x", headers=headers)
            assert "X-CORS-Error" not in response.headers


@MODES
async def test_debug_is_switched_while_serving(aiohttp_client, mode):
    app = build(mode, None)
    cors = cors_object(app)
    client = await aiohttp_client(app)
    refused = preflight_headers(method="DELETE")
    assert cors.debug is False
    for debug, status in ((False, 403), (True, 200), (False, 403), (True, 200)):
        cors.debug = debug
        assert cors.debug is debug
        response = await client.options("/x", headers=refused)  # remembered: same answer
        assert response.status == status
        assert ("X-CORS-Error" in response.headers) is debug
        response = await client.get("/x", headers={"Origin": OTHER})
        assert ("X-CORS-Error" in response.headers) is debug


async def test_both_objects_of_one_application_share_the_switch(aiohttp_client):
    app = web.Application()
    wide = aiohttp_cors.enable(app, {ORIGIN: OPTIONS})
    routes = aiohttp_cors.setup(app, defaults={ORIGIN: OPTIONS})
    routes.debug = True
    assert wide.debug is True
    wide.debug = False
    assert routes.debug is False


@pytest.mark.parametrize("where", ["top", "sub"])
async def test_debug_reaches_sub_applications(aiohttp_client, where):
    top = web.Application()
    sub = web.Application()
    top_cors = aiohttp_cors.enable(top, {ORIGIN: OPTIONS})
    sub_cors = aiohttp_cors.setup(sub, defaults={ORIGIN: OPTIONS})
    sub_cors.add(sub.router.add_get("/x", ok))
    sub_cors.add(sub.router.add_delete("/x", ok))
    top.router.add_get("/x", ok)
    top.router.add_delete("/x", ok)
    top.add_subapp("/sub", sub)
    (top_cors if where == "top" else sub_cors).debug = True
    client = await aiohttp_client(top)
    inner = await client.options("/sub/x", headers=preflight_headers(method="DELETE"))
    assert inner.status == 200
    assert "X-CORS-Error" in inner.headers
    outer = await client.options("/x", headers=preflight_headers(method="DELETE"))
    assert ("X-CORS-Error" in outer.headers) is (where == "top")
    actual = await client.get("/sub/x", headers={"Origin": OTHER})
    assert "X-CORS-Error" in actual.headers
    # Every refusal of the sub-application's requests says why, whichever engine decides;
    # the top application's own requests only when debug mode is on there.
    several = [("Origin", ORIGIN), ("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT")]
    cookie = {"Origin": ORIGIN, "Cookie": "session=1"}
    for path, said in (("/sub/x", True), ("/x", where == "top")):
        refused = await client.options(path, headers=several)
        assert refused.status == 403
        assert ("X-CORS-Error" in refused.headers) is said, path
        credentials = await client.get(path, headers=cookie)
        assert credentials.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert ("X-CORS-Error" in credentials.headers) is said, path


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_debug_takes_true_or_false(value):
    app = web.Application()
    wide = aiohttp_cors.enable(app, {ORIGIN: OPTIONS})
    routes = aiohttp_cors.setup(app)
    for cors in (wide, routes):
        with pytest.raises(CorsConfigError, match=r"debug=.*: give True or False"):
            cors.debug = value
    if value is not None:
        with pytest.raises(CorsConfigError, match="debug="):
            aiohttp_cors.enable(web.Application(), {}, debug=value)
        with pytest.raises(CorsConfigError, match="debug="):
            aiohttp_cors.setup(web.Application(), debug=value)


async def test_the_debug_log_has_the_same_words(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(build("route", True))
    said = []
    for headers in (preflight_headers(origin=OTHER), preflight_headers(headers="x-other")):
        response = await client.options("/x", headers=headers)
        said.append(response.headers["X-CORS-Error"])
    response = await client.get("/x", headers={"Origin": ORIGIN, "Cookie": "a=1"})
    said.append(response.headers["X-CORS-Error"])
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3, messages
    for words, message in zip(said, messages, strict=True):
        assert words in message


CODES = {
    (OTHER, "PUT", ()): "no-allow-origin",
    (ORIGIN, "DELETE", ()): "method",
    (ORIGIN, "PUT", (("X-Other", "1"),)): "header",
}


@MODES
@pytest.mark.parametrize(("origin", "method", "headers"), list(CODES))
async def test_the_model_names_the_step_in_debug_mode_only(
    aiohttp_client, mode, origin, method, headers
):
    """What ``check`` (the browser model) blames: the failed step itself in debug mode,
    whereas without it every refusal looks like a missing Allow-Origin (403)."""
    request = PageRequest(origin, method, headers)
    for debug in (False, True):
        client = await aiohttp_client(build(mode, debug))
        async with aiohttp.ClientSession() as session:
            _, _, verdict = await exchange(session, str(client.make_url("/x")), request)
        assert not verdict.readable
        assert verdict.stage == "preflight"
        assert verdict.code == (CODES[origin, method, headers] if debug else "no-allow-origin")


LITERAL_STARS = {ORIGIN: ResourceOptions(allow_methods=["*"], allow_headers=["*"])}


@pytest.mark.parametrize(
    ("mode", "config"),
    [("app", None), ("route", None), ("route", LITERAL_STARS)],
    ids=["app", "route", "route, literal stars"],
)
async def test_debug_mode_never_lets_a_page_read_what_it_refuses(aiohttp_client, mode, config):
    """Every combination of origin, method (lower-case ones too), request headers and
    credentials: the browser model's verdict is the same with debug on and off; and the
    debug answers never name a method or header the request did not ask for, nor '*',
    nor let a browser keep them."""
    apps = {debug: await aiohttp_client(build(mode, debug, config)) for debug in (False, True)}
    combinations = itertools.product(
        (ORIGIN, OTHER, "null"),
        ("GET", "PUT", "DELETE", "PATCH", "POST", "patch", "post", "delete"),
        ((), (("X-Token", "1"),), (("X-Other", "1"),), (("Content-Type", "application/json"),)),
        (False, True),
    )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        for origin, method, headers, credentials in combinations:
            request = PageRequest(origin, method, headers, credentials)
            verdicts = []
            for client in apps.values():
                preflight, _, verdict = await exchange(session, str(client.make_url("/x")), request)
                verdicts.append(verdict.readable)
            assert verdicts[0] is verdicts[1], request
            if preflight is not None and "X-CORS-Error" in preflight.names():
                listed = preflight.get("Access-Control-Allow-Methods")
                assert listed in (None, request.sent_method), (request, listed)
                names = preflight.get("Access-Control-Allow-Headers") or ""
                assert "*" not in names, request
                assert set(filter(None, names.split(", "))) <= {
                    name.lower() for name, _ in request.headers
                }, request
                assert preflight.get("Access-Control-Max-Age") in (None, "0"), request


@MODES
async def test_request_headers_no_browser_sends_stay_a_403(aiohttp_client, mode):
    client = await aiohttp_client(build(mode, True))
    response = await client.options("/x", headers=preflight_headers(headers="x-token, (bad)"))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "malformed" in response.headers["X-CORS-Error"]


@MODES
async def test_a_refused_header_lists_the_method_that_passed(aiohttp_client, mode):
    """allow_methods unset: the route serves PUT, so PUT passed; it must be listed, or
    the browser would blame the method instead of the header."""
    client = await aiohttp_client(
        build(mode, True, {ORIGIN: ResourceOptions(allow_headers=["X-A"])})
    )
    response = await client.options("/x", headers=preflight_headers(method="PUT", headers="x-b"))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Methods"] == "PUT"
    assert "Access-Control-Allow-Headers" not in response.headers  # x-b alone was asked
