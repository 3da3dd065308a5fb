"""Origins exactly as browsers send them.

Configured hosts are stored in the form a browser sends (IDNA 2008 / UTS #46 for
international names, dotted decimal for IPv4, compressed IPv6); only an ``Origin``
serialised the way browsers serialise one reaches a pattern, a regular expression,
a predicate or ``"*"``. The oracle is ``tests/origin_oracle.py`` (the ``idna`` and
``ipaddress`` packages), never the library.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from aiohttp import web
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import aiohttp_cors
from aiohttp_cors import ResourceOptions, Unsafe
from aiohttp_cors._config import compile_config
from aiohttp_cors._policy import OriginPolicy

from .conftest import ok, preflight_headers
from .origin_oracle import ascii_host, serialised

MODES = ("route", "app-wide")


def serve(mode: str, config: dict, **kwargs) -> web.Application:
    app = web.Application()
    route = app.router.add_get("/x", ok)
    if mode == "route":
        aiohttp_cors.setup(app, defaults=config).add(route)
    else:
        aiohttp_cors.enable(app, config, **kwargs)
    return app


async def allowed(client, origin: str) -> bool:
    resp = await client.get("/x", headers={"Origin": origin})
    return resp.headers.get("Access-Control-Allow-Origin") == origin


# -- 1. international host names --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_unicode_host_is_kept_as_browsers_send_it(aiohttp_client, mode):
    """Not folded the IDNA 2003 way: 'straße' is not 'strasse', another domain."""
    config = {
        "https://straße.example": ResourceOptions(allow_credentials=True),
        "https://ÄPFEL.example:443": ResourceOptions(),
        "https://例え.テスト": ResourceOptions(),
    }
    client = await aiohttp_client(serve(mode, config))
    assert await allowed(client, "https://xn--strae-oqa.example")
    assert await allowed(client, "https://xn--pfel-koa.example")
    assert await allowed(client, "https://xn--r8jz45g.xn--zckzah")
    assert not await allowed(client, "https://strasse.example")
    resp = await client.options(
        "/x", headers=preflight_headers(origin="https://xn--strae-oqa.example", method="GET")
    )
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


async def test_a_host_without_a_browser_form_is_refused(aiohttp_client):
    """A zero-width joiner between two Latin letters makes no host name: it is refused,
    never dropped (that would grant 'https://ab.example')."""
    joined = "https://a\u200db.example"
    with pytest.raises(aiohttp_cors.CorsConfigError, match="is not a host name IDNA 2008 allows"):
        aiohttp_cors.enable(web.Application(), {joined: ResourceOptions()})
    client = await aiohttp_client(serve("route", {joined: ResourceOptions()}))  # as 0.8.1: kept
    assert not await allowed(client, "https://ab.example")


#: Labels drawn from all of Unicode, but not the characters that end a host.
LABEL = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
        blacklist_characters=":/?#@[]*%\\.",
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LABEL, min_size=1, max_size=3))
def test_configured_hosts_follow_the_url_standard(labels):
    host = ".".join(labels)
    expected = ascii_host(host)
    # Hosts ending in a number (decimal, or 0x and hex digits) are IPv4 addresses: below.
    assume(expected is None or not re.search(r"(^|\.)([0-9]+|0x[0-9a-f]*)\.?$", expected))
    config = {f"https://{host}": ResourceOptions()}
    try:
        (key,) = compile_config(config, strict=True)
    except aiohttp_cors.CorsConfigError:
        key = None
    if expected is not None and all(re.fullmatch(r"[a-z0-9\-]+", x) for x in expected.split(".")):
        assert key == f"https://{expected}"
    else:
        assert key is None, (host, expected)


# -- 8. addresses written as no browser writes them ---------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_addresses_are_kept_as_browsers_send_them(aiohttp_client, mode):
    config = {
        "http://127.1": ResourceOptions(),
        "http://0x7f.0.0.2:8080": ResourceOptions(),
        "http://[0:0:0:0:0:0:0:1]": ResourceOptions(),
        "http://[::FFFF:127.0.0.1]:80": ResourceOptions(),
        "http://[2001:DB8:0:0:1:0:0:1]": ResourceOptions(),
    }
    client = await aiohttp_client(serve(mode, config))
    for origin in (
        "http://127.0.0.1",
        "http://127.0.0.2:8080",
        "http://[::1]",
        "http://[::ffff:7f00:1]",
        "http://[2001:db8::1:0:0:1]",
    ):
        assert await allowed(client, origin), origin
    for never_sent in ("http://127.1", "http://[0:0:0:0:0:0:0:1]", "http://[::ffff:127.0.0.1]"):
        assert not await allowed(client, never_sent), never_sent


@pytest.mark.parametrize(
    "origin",
    [
        "http://256.0.0.1",
        "http://1.2.3.4.5",
        "http://1.2.3.4.0",  # five parts, whatever the last one
        "http://0.0.0.0.0",
        "http://09.1",
        "http://[::1%25eth0]",
        "http://[1::2::3]",
    ],
)
def test_addresses_that_are_none_are_refused(origin):
    with pytest.raises(aiohttp_cors.CorsConfigError, match=r"is not an IPv(4|6) address"):
        aiohttp_cors.enable(web.Application(), {origin: ResourceOptions()})


# -- 6. what reaches a pattern, a regex, a predicate or "*" --------------------------------

SCHEMES = ["http", "https", "HTTPS", "Http", "chrome-extension", "ws"]
HOSTS = st.one_of(
    st.sampled_from(
        [
            "app.example",
            "App.Example",
            "straße.example",
            "xn--strae-oqa.example",
            "xn--zz.example",
            "a_b.example",
            "example.com.",
            "127.0.0.1",
            "127.1",
            "0x7f.0.0.1",
            "1.2.3.04",
            "1.2.3.4.",
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "[::FFFF:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[fe80::1%25eth0]",
            "u@app.example",
            "",
        ]
    ),
    st.from_regex(r"[a-zA-Z0-9_\-]{1,9}(\.[a-zA-Z0-9_\-]{1,9}){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    st.ip_addresses(v=6).map(lambda address: f"[{address.exploded}]"),
    st.lists(LABEL, min_size=1, max_size=3).map(".".join),
)
PORTS = st.sampled_from(["", "", ":80", ":443", ":8080", ":0", ":08080", ":65535", ":65536"])
TAILS = st.sampled_from(["", "", "", "/", "/path", "?q", "#f", " ", "\x00"])


@st.composite
def origin_shaped(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.sampled_from(["null", "NULL", "null ", "", "https://" + "a" * 300]))
    return draw(st.sampled_from(SCHEMES)) + "://" + draw(HOSTS) + draw(PORTS) + draw(TAILS)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(origin_shaped())
def test_only_serialised_origins_reach_user_code(origin):
    asked: list[str] = []

    def predicate(value: str, request: object) -> bool:
        asked.append(value)
        return False

    options = ResourceOptions()
    policy = OriginPolicy(compile_config({predicate: options}))
    asyncio.run(policy.options_for(origin, None))
    assert asked == ([origin] if serialised(origin) else []), origin
    star = OriginPolicy(compile_config({"*": options}))
    assert (star.match(origin) is options) == serialised(origin), origin


@pytest.mark.parametrize("mode", MODES)
async def test_a_regex_never_sees_what_no_browser_sends(aiohttp_client, mode):
    """A regex that backtracks for seconds on some strings: the ones shaped so (here, an
    Origin ending in '!') never reach it."""
    slow = re.compile(r"https://([a-z0-9]+-?)+\.example\.com")
    asked = []

    def predicate(origin: str, request: web.Request) -> bool:
        asked.append(origin)
        return False

    config = {slow: ResourceOptions(), predicate: ResourceOptions()}
    app = serve(mode, config, unsafe=Unsafe.NESTED_QUANTIFIERS)
    client = await aiohttp_client(app)
    started = time.perf_counter()
    for origin in ("https://" + "a" * 40 + "!", "HTTPS://" + "a" * 40, "https://a.example/x"):
        resp = await client.get("/x", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in resp.headers
    assert time.perf_counter() - started < 1
    assert asked == []
    assert await allowed(client, "https://a-b.example.com")


# -- 7. the DEBUG log stays bounded ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_debug_lines_are_bounded_whatever_the_request(aiohttp_client, caplog, mode):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(serve(mode, {"https://app.example": ResourceOptions()}))
    long = "x" * 8000
    headers = [("Origin", "https://" + long), ("Access-Control-Request-Method", "Y" * 8000)]
    headers += [("Access-Control-Request-Headers", long)] * 40
    resp = await client.options("/x" + "/p" * 1000, headers=headers)
    assert resp.status in (403, 404)
    resp = await client.options("/x", headers=headers)
    assert resp.status == 403
    resp = await client.get("/x", headers={"Origin": "https://" + long})
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp_cors"]
    assert lines
    assert max(map(len, lines)) < 2000
