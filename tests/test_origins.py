"""Origin patterns over real HTTP: each kind with allowed and disallowed origins."""

from __future__ import annotations

import functools
import re

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ok, preflight_headers


async def allowed(aiohttp_client, config, origin: str, *, mode: str = "app") -> str | None:
    app = web.Application()
    if mode == "app":
        aiohttp_cors.enable(app, config)
        app.router.add_put("/x", ok)
    else:
        aiohttp_cors.setup(app, defaults=config).add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    actual = await client.put("/x", headers={"Origin": origin})
    preflight = await client.options("/x", headers=preflight_headers(origin=origin))
    verdict = actual.headers.get("Access-Control-Allow-Origin")
    assert verdict == preflight.headers.get("Access-Control-Allow-Origin")
    assert (preflight.status == 200) == (verdict is not None)
    return verdict


SUBDOMAINS = {"https://*.example.com": ResourceOptions()}
PORTS = {"http://localhost:*": ResourceOptions()}
BOTH = {"https://*.example.com:*": ResourceOptions()}
REGEX = {re.compile(r"https://(app|admin)\.example\.org"): ResourceOptions()}

CASES = [
    (SUBDOMAINS, "https://a.example.com", True),
    (SUBDOMAINS, "https://a.b.example.com", True),
    (SUBDOMAINS, "https://xn--bcher-kva.example.com", True),
    (SUBDOMAINS, "https://example.com", False),
    (SUBDOMAINS, "https://.example.com", False),
    (SUBDOMAINS, "https://a..example.com", False),
    (SUBDOMAINS, "https://example.com.evil.net", False),
    (SUBDOMAINS, "https://a.example.com.evil.net", False),
    (SUBDOMAINS, "https://evilexample.com", False),
    (SUBDOMAINS, "https://a.evilexample.com", False),
    (SUBDOMAINS, "http://a.example.com", False),
    (SUBDOMAINS, "https://a.example.com:8443", False),
    (SUBDOMAINS, "HTTPS://A.EXAMPLE.COM", False),
    (SUBDOMAINS, "https://a.example.com/", False),
    (SUBDOMAINS, "https://user@a.example.com", False),
    (SUBDOMAINS, "null", False),
    (PORTS, "http://localhost:3000", True),
    (PORTS, "http://localhost", True),
    (PORTS, "http://localhost:65535", True),
    (PORTS, "https://localhost:3000", False),
    (PORTS, "http://localhost.evil.net:3000", False),
    (PORTS, "http://evil.localhost:3000", False),
    (PORTS, "http://localhost:03000", False),
    (PORTS, "http://localhost:", False),
    (BOTH, "https://a.example.com:8443", True),
    (BOTH, "https://a.example.com", True),
    (BOTH, "https://example.com:8443", False),
    (REGEX, "https://app.example.org", True),
    (REGEX, "https://admin.example.org", True),
    (REGEX, "https://app.example.org.evil.net", False),
    (REGEX, "xhttps://app.example.org", False),
    (REGEX, "https://other.example.org", False),
]


@pytest.mark.parametrize("mode", ["app", "route"])
@pytest.mark.parametrize(("config", "origin", "expected"), CASES)
async def test_patterns(aiohttp_client, config, origin, expected, mode):
    verdict = await allowed(aiohttp_client, config, origin, mode=mode)
    assert verdict == (origin if expected else None)  # echoed exactly as sent


async def test_configured_origins_are_normalised(aiohttp_client):
    config = {
        "HTTPS://App.Example:443": ResourceOptions(),
        "https://bücher.example": ResourceOptions(),
        "http://LOCALHOST:80": ResourceOptions(),
    }
    for origin in ("https://app.example", "https://xn--bcher-kva.example", "http://localhost"):
        assert await allowed(aiohttp_client, config, origin) == origin
    assert await allowed(aiohttp_client, config, "https://App.Example") is None


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_predicate(aiohttp_client, asynchronous):
    calls: list[tuple[str, str]] = []
    allow_list = {"https://tenant-1.example"}

    def check(origin: str, request: web.Request) -> bool:
        calls.append((origin, request.path))
        return origin in allow_list

    async def check_async(origin: str, request: web.Request) -> bool:
        return check(origin, request)

    config = {check_async if asynchronous else check: ResourceOptions(allow_credentials=True)}
    assert await allowed(aiohttp_client, config, "https://tenant-1.example") == (
        "https://tenant-1.example"
    )
    assert await allowed(aiohttp_client, config, "https://tenant-2.example") is None
    assert ("https://tenant-1.example", "/x") in calls


@pytest.mark.parametrize("mode", ["app", "route"])
async def test_predicates_are_asked_in_order_whatever_they_answer_with(aiohttp_client, mode):
    """Sync and async answers, ``True``, truthy values, ``None``, callable objects and a
    ``functools.partial``: each predicate asked once, in order, until one admits."""
    asked: list[str] = []

    async def first(origin: str, request: web.Request) -> bool:
        asked.append("first")
        return origin == "https://a.example"

    def second(origin: str, request: web.Request) -> str | None:
        asked.append("second")
        return "yes" if origin == "https://b.example" else None

    class Third:
        def __call__(self, origin: str, request: web.Request) -> bool:
            asked.append("third")
            return origin == "https://c.example"

    class AsyncCheck:
        async def __call__(self, origin: str, request: web.Request) -> bool:
            asked.append("fourth")
            return origin == "https://d.example"

    class Fourth(AsyncCheck):  # __call__ inherited
        pass

    def fifth(wanted: str, origin: str, request: web.Request) -> bool:
        asked.append("fifth")
        return origin == wanted

    config: dict[object, ResourceOptions] = {
        first: ResourceOptions(expose_headers=("X-1",)),
        second: ResourceOptions(expose_headers=("X-2",)),
        Third(): ResourceOptions(expose_headers=("X-3",)),
        Fourth(): ResourceOptions(expose_headers=("X-4",)),
        functools.partial(fifth, "https://e.example"): ResourceOptions(expose_headers=("X-5",)),
        "*": ResourceOptions(expose_headers=("X-Star",)),
    }
    app = web.Application()
    if mode == "app":
        aiohttp_cors.enable(app, config)
        app.router.add_get("/x", ok)
    else:
        aiohttp_cors.setup(app, defaults=config).add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)
    names = ["first", "second", "third", "fourth", "fifth"]
    for number, origin in enumerate([f"https://{letter}.example" for letter in "abcdef"], start=1):
        asked.clear()
        response = await client.get("/x", headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == origin
        expected = f"X-{number}" if number <= 5 else "X-Star"
        assert response.headers["Access-Control-Expose-Headers"] == expected, origin
        assert asked == names[:number], origin
        asked.clear()
        preflight = await client.options("/x", headers=preflight_headers(origin, "GET"))
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert asked == names[:number], origin


async def test_precedence_between_kinds(aiohttp_client):
    def everyone(origin: str, request: web.Request) -> bool:
        return origin.endswith(".net")

    config = {
        "*": ResourceOptions(expose_headers=("X-Star",)),
        everyone: ResourceOptions(expose_headers=("X-Predicate",)),
        re.compile(r"https://[a-z]+\.example\.com"): ResourceOptions(expose_headers=("X-Regex",)),
        "https://*.example.com": ResourceOptions(expose_headers=("X-Wildcard",)),
        "https://app.example.com": ResourceOptions(expose_headers=("X-Exact",)),
    }
    app = web.Application()
    aiohttp_cors.enable(app, config)
    app.router.add_get("/x", ok)
    client = await aiohttp_client(app)
    for origin, expected in [
        ("https://app.example.com", "X-Exact"),
        ("https://b.example.com", "X-Wildcard"),
        ("https://some.net", "X-Predicate"),
        ("https://other.org", "X-Star"),
    ]:
        resp = await client.get("/x", headers={"Origin": origin})
        assert resp.headers["Access-Control-Expose-Headers"] == expected, origin
    resp = await client.get("/x", headers={"Origin": "null"})
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Star"  # no credentials


async def test_many_origins_and_patterns(aiohttp_client):
    config: dict[object, ResourceOptions] = {
        f"https://site-{n}.example": ResourceOptions() for n in range(10_000)
    }
    config.update({f"https://*.tenant-{n}.example": ResourceOptions() for n in range(1_000)})
    for origin in ("https://site-9999.example", "https://a.tenant-999.example"):
        assert await allowed(aiohttp_client, config, origin) == origin
    assert await allowed(aiohttp_client, config, "https://tenant-999.example") is None


async def test_route_mode_preflights_ask_an_async_predicate_every_time(aiohttp_client):
    """Answers decided by a predicate are never remembered: it is asked on each preflight."""
    asked: list[str] = []

    async def tenant(origin: str, request: web.Request) -> bool:
        asked.append(origin)
        return origin == "https://tenant-1.example"

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={tenant: ResourceOptions(allow_headers="*")})
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    for origin, status in [("https://tenant-1.example", 200), ("https://tenant-2.example", 403)]:
        for _ in range(2):  # the second one takes the path of a resource seen before
            async with client.options(
                "/x",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "PUT",
                    "Access-Control-Request-Headers": "X-Token",
                },
            ) as response:
                assert response.status == status
                assert response.headers.get("Access-Control-Allow-Origin") == (
                    origin if status == 200 else None
                )
    assert asked == ["https://tenant-1.example"] * 2 + ["https://tenant-2.example"] * 2


async def test_the_pattern_memo_keeps_within_its_bounds(aiohttp_client):
    """The one memo (pattern matches by origin) holds at most 1,024 origins of at most
    256 characters, and never changes an answer."""
    from aiohttp_cors._engine import ENGINE_KEY

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"https://*.example.com": ResourceOptions()})
    cors.add(app.router.add_get("/x", ok))
    client = await aiohttp_client(app)
    (policy,) = {entry.whole.policy for entry in app[ENGINE_KEY].routes.values()}

    async def allowed(origin: str) -> bool:
        resp = await client.get("/x", headers={"Origin": origin})
        return resp.headers.get("Access-Control-Allow-Origin") == origin

    at_limit = "https://" + "a" * (256 - len("https://.example.com")) + ".example.com"
    assert len(at_limit) == 256
    for origin in (at_limit, at_limit[:8] + "b" + at_limit[8:]):
        for _ in range(2):  # the second time from the memo, if kept
            assert await allowed(origin)
    assert len(policy.matched) == 1  # the 257-character origin was not kept
    for n in range(1023):
        assert await allowed(f"https://t{n}.example.com")
    assert len(policy.matched) == 1024
    assert not await allowed("https://example.org")
    assert len(policy.matched) == 1  # emptied when full, then the new answer kept
    assert await allowed("https://t5.example.com")


async def test_patterns_set_in_live_defaults_are_patterns(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/x", ok))
    cors.defaults["https://*.example.com"] = ResourceOptions()
    cors.defaults.setdefault("http://localhost:*", ResourceOptions())
    client = await aiohttp_client(app)
    for origin in ("https://a.example.com", "http://localhost:5173"):
        resp = await client.get("/x", headers={"Origin": origin})
        assert resp.headers["Access-Control-Allow-Origin"] == origin
