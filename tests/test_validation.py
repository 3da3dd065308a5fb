"""Fail-fast validation of app-wide configuration: each class of mistake, all at once."""

from __future__ import annotations

import logging
import re

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CorsConfigError, ResourceOptions, Unsafe

from .conftest import ORIGIN, ok

RO = ResourceOptions


def problems_of(config, **kwargs) -> list[str]:
    with pytest.raises(CorsConfigError) as info:
        aiohttp_cors.enable(web.Application(), config, **kwargs)
    assert isinstance(info.value, ValueError)
    for problem in info.value.problems:
        assert problem in str(info.value)
    return info.value.problems


@pytest.mark.parametrize(
    ("origin", "fragment"),
    [
        ("https://app.example/", "has a trailing slash"),
        ("https://app.example/api", "'/api' after the host"),
        ("https://app.example?x=1", "'?x=1' after the host"),
        ("https://app.example#top", "'#top' after the host"),
        ("https://user:pw@app.example", "has user information"),
        ("app.example", "is not an origin: write scheme://host[:port]"),
        ("//app.example", "is not an origin"),
        ("ftp://app.example", "has the scheme 'ftp'"),
        ("https://app.example:0", "has the port '0'"),
        ("https://app.example:70000", "has the port '70000'"),
        ("https://app.example:80a", "has the port '80a'"),
        (" https://app.example", "surrounding white space"),
        ("https://app..example", "has an empty label"),
        ("https://app.example.", "has an empty label"),
        ("https://.example.com", "has an empty label"),
        ("https://app.example\u3002", "has an empty label"),  # a dot once mapped (UTS #46)
        ("https://*.*.example.com", "a wildcard may only stand as the first label"),
        ("https://app*.example.com", "a wildcard may only stand as the first label"),
        ("https://", "the host is missing"),
        ("https://app_example", "is not a host name IDNA 2008 allows"),
        ("https://-app.example", "is not a host name IDNA 2008 allows"),
        ("https://ab--c.example", "is not a host name IDNA 2008 allows"),
        ("https://a b.example", "is not a host name IDNA 2008 allows"),
    ],
)
def test_malformed_origins(origin, fragment):
    (problem,) = problems_of({origin: RO()})
    assert repr(origin) in problem
    assert fragment in problem


@pytest.mark.parametrize("origin", ["*", "null"])
def test_credentials_for_origins_anyone_can_have(origin):
    (problem,) = problems_of({origin: RO(allow_credentials=True)})
    assert repr(origin) in problem
    assert "unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN" in problem
    aiohttp_cors.enable(
        web.Application(),
        {origin: RO(allow_credentials=True)},
        unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN,
    )
    aiohttp_cors.enable(web.Application(), {origin: RO()})  # without credentials: fine


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.com",
        "https://*.github.io",
        "https://*.co.uk",
        "http://*.localhost",
        "https://*.s3.amazonaws.com",
        "https://*.xn--p1ai",  # .рф
        "https://*.рф",
    ],
)
def test_wildcards_on_public_suffixes(origin):
    """The Public Suffix List decides (the publicsuffixlist package), with credentials
    or without; credentials need their own escape on top."""
    (problem,) = problems_of({origin: RO()})
    assert "a public suffix where anyone can register a host" in problem
    assert "unsafe=Unsafe.WILDCARD_ON_PUBLIC_SUFFIX" in problem
    wildcard, credentials = problems_of({origin: RO(allow_credentials=True)})
    assert wildcard == problem
    assert "unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN" in credentials
    (again,) = problems_of(
        {origin: RO(allow_credentials=True)}, unsafe=Unsafe.WILDCARD_ON_PUBLIC_SUFFIX
    )
    assert again == credentials
    aiohttp_cors.enable(web.Application(), {origin: RO()}, unsafe=Unsafe.WILDCARD_ON_PUBLIC_SUFFIX)
    everything = Unsafe.WILDCARD_ON_PUBLIC_SUFFIX | Unsafe.CREDENTIALS_WITH_ANY_ORIGIN
    aiohttp_cors.enable(web.Application(), {origin: RO(allow_credentials=True)}, unsafe=everything)


@pytest.mark.parametrize("origin", ["https://*.example.com", "https://*.app.github.io"])
def test_wildcards_under_a_registrable_domain(origin):
    aiohttp_cors.enable(web.Application(), {origin: RO(allow_credentials=True)})


def test_a_regex_that_matches_null_with_credentials():
    matches_null = re.compile(r"null|https://[a-z]+\.example\.com")
    (problem,) = problems_of({matches_null: RO(allow_credentials=True)})
    assert "matches 'null', which any page can send" in problem
    assert "unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN" in problem
    aiohttp_cors.enable(web.Application(), {matches_null: RO()})
    unsafe = Unsafe.CREDENTIALS_WITH_ANY_ORIGIN
    aiohttp_cors.enable(
        web.Application(), {matches_null: RO(allow_credentials=True)}, unsafe=unsafe
    )
    anything = re.compile(r".*")
    (problem,) = problems_of({anything: RO(allow_credentials=True)})
    assert "matches 'null'" in problem


@pytest.mark.parametrize(
    "pattern",
    [
        r"https://([a-z0-9]+-?)+\.example\.com",
        r"https://(a+)+\.example\.com",
        r"https://(?:\w+\.?)*example\.com",
        r"https://(?:x|[a-z]+)*\.example\.com",
        r"https://((?:[a-z])+)+\.example\.com",
        r"https://(?:x|(?:[a-z]+)+)\.example\.com",  # in one of the alternatives
        r"https://(x|(?:[a-z]+)+)\.example\.com",
    ],
)
def test_regexes_that_repeat_a_repeat(pattern):
    (problem,) = problems_of({re.compile(pattern): RO()})
    assert "repeats a group that itself repeats" in problem
    assert "unsafe=Unsafe.NESTED_QUANTIFIERS" in problem
    aiohttp_cors.enable(
        web.Application(), {re.compile(pattern): RO()}, unsafe=Unsafe.NESTED_QUANTIFIERS
    )


@pytest.mark.parametrize(
    "pattern",
    [
        r"https://[a-z0-9-]+\.example\.com",
        r"https://(?:[a-z0-9-]+\.)*example\.com",  # each turn ends with a dot
        r"https://(?:-[a-z]+)+\.example\.com",
        r"https://(a+){2}\.example\.com",
        r"https://(?:ab)+\.example\.com",
    ],
)
def test_regexes_without_nested_repeats(pattern):
    aiohttp_cors.enable(web.Application(), {re.compile(pattern): RO()})


def test_a_bytes_regex_is_refused_in_both_modes():
    regex = re.compile(rb"https://[a-z]+\.example\.com")
    (problem,) = problems_of({regex: RO(), "https://app.example/": RO()})[:1]
    assert "is a bytes regex, and an Origin is text: compile it from a str" in problem
    with pytest.raises(ValueError, match="compile it from a str"):
        aiohttp_cors.setup(web.Application(), defaults={regex: RO()})


def test_wildcard_on_own_domain_with_credentials_is_fine():
    aiohttp_cors.enable(
        web.Application(),
        {
            "https://*.example.com": RO(allow_credentials=True),
            "http://localhost:*": RO(allow_credentials=True),
            re.compile(r"https://[a-z]+\.example\.org"): RO(allow_credentials=True),
        },
    )


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (RO(allow_methods=["TRACE"]), "browsers never send 'TRACE'"),
        (RO(allow_methods=["connect"]), "browsers never send 'CONNECT'"),
        (RO(allow_methods=["GET PUT"]), "'GET PUT' is not a method name"),
        (RO(allow_headers=["Cookie"]), "a page can never set 'COOKIE'"),
        (RO(allow_headers=["Sec-Fetch-Mode"]), "a page can never set 'SEC-FETCH-MODE'"),
        (RO(allow_headers=["Proxy-Authorization"]), "can never set 'PROXY-AUTHORIZATION'"),
        (RO(allow_headers=["X Token"]), "'X TOKEN' is not a header name"),
        (RO(expose_headers=["Set-Cookie"]), "browsers never expose 'Set-Cookie'"),
        (RO(expose_headers=["Content-Type"]), "'Content-Type' is always readable"),
        (RO(expose_headers=["X:Y"]), "'X:Y' is not a header name"),
        (RO(max_age=100_000), "100000 s is more than any browser keeps a preflight"),
        (
            RO(allow_headers=["*"]),
            "allow_headers in the options of 'http://client.example': ['*'] names a header "
            "called '*', which nothing has: did you mean allow_headers='*' (any)?",
        ),
        (RO(allow_methods=["*"]), "['*'] names a method called '*'"),
        (RO(expose_headers=("*",)), "did you mean expose_headers='*' (any)?"),
    ],
)
def test_options_that_cannot_work(options, fragment):
    (problem,) = problems_of({ORIGIN: options})
    assert fragment in problem
    assert repr(ORIGIN) in problem


def test_bad_option_values_are_reported_with_the_rest():
    found = problems_of(
        {
            "https://a.example/": RO(),
            ORIGIN: {"allow_credentials": "yes"},
            "https://b.example": {"nope": 1},
            "*": RO(allow_credentials=True, expose_headers=["Set-Cookie"], max_age=10**6),
            "ftp://c.example": RO(allow_methods=["TRACE"]),
        }
    )
    assert len(found) == 8, found
    assert any("'allow_credentials' must be boolean" in p for p in found)
    assert any("Unexpected keywords in resource options: nope" in p for p in found)


def test_not_a_mapping():
    (problem,) = problems_of(["https://app.example"])
    assert "must be a mapping" in problem


async def test_add_and_reconfigure_are_checked_and_keep_the_old_policy(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.enable(app, {ORIGIN: RO()})
    route = app.router.add_get("/x", ok)
    with pytest.raises(CorsConfigError):
        cors.add(route, {"https://bad.example/": RO()})
    with pytest.raises(CorsConfigError):
        cors.reconfigure({"*": RO(allow_credentials=True)})
    client = await aiohttp_client(app)
    resp = await client.get("/x", headers={"Origin": ORIGIN})
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    resp = await client.get("/x", headers={"Origin": "https://bad.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_route_mode_stays_lenient():
    app = web.Application()
    cors = aiohttp_cors.setup(
        app,
        defaults={
            "*": RO(allow_credentials=True),
            "https://app.example/": RO(expose_headers=["Content-Type"], max_age=10**6),
        },
    )
    cors.add(app.router.add_get("/x", ok))


@pytest.mark.parametrize("option", ["allow_headers", "expose_headers", "allow_methods"])
def test_a_bare_string_gets_a_did_you_mean(option):
    with pytest.raises(ValueError) as info:
        RO(**{option: "X-Token"})
    assert str(info.value).endswith("got ''X-Token'': did you mean ('X-Token',)?")


MISTAKES = {
    "*": RO(allow_credentials=True, allow_headers=["*"]),
    "https://app.example/": RO(),
    "app.example": RO(),
}


def test_route_mode_warns_once_per_problem_in_enables_words(caplog):
    expected = problems_of(MISTAKES)
    assert len(expected) == 4, expected
    app = web.Application()
    with caplog.at_level(logging.WARNING, logger="aiohttp_cors"):
        cors = aiohttp_cors.setup(app, defaults=MISTAKES)
        cors.add(app.router.add_get("/x", ok), {"https://b.example:99999": RO()})
        cors.add(app.router.add_get("/y", ok))  # no configuration of its own: nothing
    messages = [record.getMessage() for record in caplog.records]
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert len(messages) == 5, messages
    for problem, message in zip(expected, messages, strict=False):
        assert message == (
            f"CORS configuration (defaults): {problem} "
            "(setup(..., strict=True) makes this an error)"
        )
    assert messages[4].startswith("CORS configuration (add(GET /x)): 'https://b.example:99999'")


def test_route_mode_strict_raises_every_problem_and_keeps_unsafe_choices():
    with pytest.raises(CorsConfigError) as info:
        aiohttp_cors.setup(web.Application(), defaults=MISTAKES, strict=True)
    assert info.value.problems == problems_of(MISTAKES)
    app = web.Application()
    cors = aiohttp_cors.setup(app, strict=True)
    with pytest.raises(CorsConfigError, match="has a trailing slash"):
        cors.add(app.router.add_get("/x", ok), {"https://app.example/": RO()})
    with pytest.raises(CorsConfigError, match="has a trailing slash"):
        cors.defaults = {"https://app.example/": RO()}
    unsafe = Unsafe.CREDENTIALS_WITH_ANY_ORIGIN
    aiohttp_cors.setup(
        web.Application(), defaults={"*": RO(allow_credentials=True)}, strict=True, unsafe=unsafe
    )


def test_route_mode_unsafe_silences_its_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="aiohttp_cors"):
        aiohttp_cors.setup(
            web.Application(),
            defaults={"*": RO(allow_credentials=True)},
            unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN,
        )
    assert not caplog.records


def test_validate_is_enables_check_without_an_application():
    aiohttp_cors.validate({ORIGIN: RO(allow_headers="*")})
    aiohttp_cors.validate(None)
    with pytest.raises(CorsConfigError) as info:
        aiohttp_cors.validate(MISTAKES)
    assert info.value.problems == problems_of(MISTAKES)
    aiohttp_cors.validate(
        {"*": RO(allow_credentials=True)}, unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN
    )


def test_enable_with_setups_keyword_says_how_to_write_it():
    with pytest.raises(TypeError) as info:
        aiohttp_cors.enable(web.Application(), defaults={ORIGIN: RO()})  # type: ignore[arg-type]
    assert str(info.value) == (
        "enable() takes the configuration as its second argument: "
        "enable(app, {origin: ResourceOptions(...)}); defaults= is setup()'s, for route mode"
    )


def test_app_cors_add_without_a_configuration_says_what_it_is_for():
    app = web.Application()
    cors = aiohttp_cors.enable(app, {ORIGIN: RO()})
    with pytest.raises(TypeError, match=r"gives a route its own configuration: add\(route, "):
        cors.add(app.router.add_get("/x", ok))
    with pytest.raises(TypeError, match=r"exclude\(route\) takes one out"):
        cors.add(app.router.add_get("/y", ok), None)


async def test_enable_on_a_started_application_says_when_to_call_it():
    app = web.Application()
    app.router.add_get("/x", ok)
    runner = web.AppRunner(app)
    await runner.setup()  # aiohttp freezes the application here
    try:
        with pytest.raises(RuntimeError, match=r"must be called before the application starts"):
            aiohttp_cors.enable(app, {ORIGIN: RO()})
        assert aiohttp_cors.APP_CORS_KEY not in app
    finally:
        await runner.cleanup()
