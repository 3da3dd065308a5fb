"""The caps on what a request may carry, and on the length of a refusal's text, exactly:
a value at the cap passes, one more refuses (route mode and app-wide mode, over HTTP)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ORIGIN, ok
from .rawhttp import Connection

#: The caps, as documented (docs/robustness.md): written out, not imported.
MAX_REQUEST_HEADERS_LENGTH = 4096
MAX_REQUEST_HEADER_LINES = 16
MAX_EMPTY_ELEMENTS = 16
MAX_ORIGIN_LENGTH = 300
#: The most characters of a value a refusal's text or a log line shows (then "...").
SHOWN = 200

FAILED = "CORS preflight request failed: "
MALFORMED = FAILED + "'Access-Control-Request-Headers' header is malformed or too long"


def app_for(mode: str, config: dict[Any, ResourceOptions]) -> web.Application:
    app = web.Application()
    route = app.router.add_put("/x", ok)
    app.router.add_get("/ping", ok)
    if mode == "route":
        aiohttp_cors.setup(app, defaults=config).add(route)
    else:
        aiohttp_cors.enable(app, config)
    return app


MODES = pytest.mark.parametrize("mode", ["route", "app-wide"])


async def preflight(
    connection: Connection, lines: list[str], origin: str = ORIGIN, method: str = "PUT"
) -> tuple[int, str, str | None]:
    """A preflight with these ``Access-Control-Request-Headers`` lines: the status, the
    body, and the ``Access-Control-Allow-Headers`` answered."""
    headers = [("Origin", origin.encode()), ("Access-Control-Request-Method", method.encode())]
    headers += [("Access-Control-Request-Headers", line.encode()) for line in lines]
    response = await connection.send("OPTIONS", "/x", headers)
    return response.status, response.body.decode(), response.one("Access-Control-Allow-Headers")


@MODES
async def test_one_requested_headers_line_of_at_most_4096_characters(aiohttp_server, mode):
    server = await aiohttp_server(app_for(mode, {ORIGIN: ResourceOptions(allow_headers="*")}))
    connection = await Connection.open(server.port)
    try:
        longest = "x-" + "a" * (MAX_REQUEST_HEADERS_LENGTH - 2)
        assert await preflight(connection, [longest]) == (200, "", longest.upper())
        too_long = longest + "a"
        assert await preflight(connection, [too_long]) == (403, MALFORMED, None)
        # the same with a list: the cap is on the line, whatever it holds
        names = [f"x-{n:04}" for n in range(MAX_REQUEST_HEADERS_LENGTH // 7)]
        line = ",".join(names)
        line += "," + "x" * (MAX_REQUEST_HEADERS_LENGTH - len(line) - 1)
        assert len(line) == MAX_REQUEST_HEADERS_LENGTH
        assert (await preflight(connection, [line]))[0] == 200
        assert (await preflight(connection, [line + "x"]))[0] == 403
    finally:
        connection.close()


@MODES
async def test_requested_headers_lines_of_at_most_4096_characters_together(aiohttp_server, mode):
    server = await aiohttp_server(app_for(mode, {ORIGIN: ResourceOptions(allow_headers="*")}))
    connection = await Connection.open(server.port)
    try:
        half = MAX_REQUEST_HEADERS_LENGTH // 2
        first, second = "x-" + "a" * (half - 2), "x-" + "b" * (half - 2)
        allowed = f"{first},{second}".upper()
        assert await preflight(connection, [first, second]) == (200, "", allowed)
        assert await preflight(connection, [first, second + "b"]) == (403, MALFORMED, None)
        assert await preflight(connection, [first + "a", second]) == (403, MALFORMED, None)
    finally:
        connection.close()


@MODES
async def test_at_most_16_requested_headers_lines(aiohttp_server, mode):
    server = await aiohttp_server(app_for(mode, {ORIGIN: ResourceOptions(allow_headers="*")}))
    connection = await Connection.open(server.port)
    try:
        lines = [f"x-{n}" for n in range(MAX_REQUEST_HEADER_LINES)]
        assert await preflight(connection, lines) == (200, "", ",".join(lines).upper())
        # The first 16 lines as before, one more: refused, not the answer kept for them.
        assert await preflight(connection, [*lines, "x-a"]) == (403, MALFORMED, None)
        assert await preflight(connection, [*lines, *lines]) == (403, MALFORMED, None)
        assert (await preflight(connection, lines))[0] == 200
    finally:
        connection.close()


@MODES
async def test_at_most_16_empty_requested_headers_elements(aiohttp_server, mode):
    server = await aiohttp_server(app_for(mode, {ORIGIN: ResourceOptions(allow_headers="*")}))
    connection = await Connection.open(server.port)
    try:
        most = "x-a" + "," * MAX_EMPTY_ELEMENTS
        assert await preflight(connection, [most]) == (200, "", "X-A")
        assert await preflight(connection, [most + ","]) == (403, MALFORMED, None)
        assert await preflight(connection, [" , ,x-a, , "]) == (200, "", "X-A")
        # over several lines, the empty elements of all of them count
        lines = ["x-a" + "," * (MAX_EMPTY_ELEMENTS // 2 - 1), ",x-b" + "," * 7]
        assert (await preflight(connection, lines))[0] == 200
        assert (await preflight(connection, [*lines, ""]))[0] == 200  # an empty line: 1 more
        assert (await preflight(connection, [*lines, ",", ""]))[0] == 403
    finally:
        connection.close()


@MODES
async def test_requested_headers_on_several_lines_are_one_list(aiohttp_server, mode):
    """Browsers send one line; the lines of a client that sends several are one list,
    checked as a whole against the allowed names."""
    config = {ORIGIN: ResourceOptions(allow_headers=("X-A", "X-B", "X-C"))}
    server = await aiohttp_server(app_for(mode, config))
    connection = await Connection.open(server.port)
    try:
        assert await preflight(connection, ["x-a", "X-B, x-c"]) == (200, "", "X-A,X-B,X-C")
        assert await preflight(connection, ["x-b", "x-a,x-b"]) == (200, "", "X-B,X-A")
        status, body, allowed = await preflight(connection, ["x-a", "x-d, x-b", "x-e"])
        assert (status, body, allowed) == (403, FAILED + "headers are not allowed: X-D, X-E", None)
        status, body, _ = await preflight(connection, ["x-a", "x b"])
        assert (status, body) == (403, MALFORMED)
    finally:
        connection.close()


@MODES
async def test_an_origin_of_at_most_300_characters(aiohttp_server, mode):
    """Longer than any browser sends: refused before any pattern or ``"*"`` sees it."""
    server = await aiohttp_server(app_for(mode, {"*": ResourceOptions()}))
    connection = await Connection.open(server.port)
    try:
        longest = "https://" + "a" * (MAX_ORIGIN_LENGTH - len("https://.example")) + ".example"
        assert len(longest) == MAX_ORIGIN_LENGTH
        for origin, allowed in [(longest, True), (longest[:8] + "a" + longest[8:], False)]:
            response = await connection.send("PUT", "/x", [("Origin", origin.encode())])
            assert response.status == 200
            assert response.one("Access-Control-Allow-Origin") == (origin if allowed else None)
            status, _, _ = await preflight(connection, [], origin)
            assert status == (200 if allowed else 403)
    finally:
        connection.close()


def origin_of(length: int, letter: str = "a") -> str:
    return "https://" + letter * (length - len("https://.example")) + ".example"


@MODES
async def test_a_refusal_shows_at_most_200_characters_of_the_origin(aiohttp_server, mode):
    server = await aiohttp_server(app_for(mode, {ORIGIN: ResourceOptions()}))
    connection = await Connection.open(server.port)
    try:
        shown = origin_of(SHOWN)
        status, body, _ = await preflight(connection, [], shown)
        assert (status, body) == (403, f"{FAILED}origin '{shown}' is not allowed")
        status, body, _ = await preflight(connection, [], shown + "x")
        assert (status, body) == (403, f"{FAILED}origin '{shown}...' is not allowed")
        longest = f"{FAILED}origin '{'x' * SHOWN}...' is not allowed"
        for sent in (origin_of(MAX_ORIGIN_LENGTH), "x" * 6000):
            _, body, _ = await preflight(connection, [], sent)
            assert len(body) == len(longest), body
        # escaped, then cut: never more than 200 characters of a value shown
        _, body, _ = await preflight(connection, [], "é" * 1000)
        escaped = "\\xe9" * (SHOWN // 4)
        assert body == f"{FAILED}origin '{escaped}...' is not allowed"
    finally:
        connection.close()


@MODES
async def test_a_refusal_shows_at_most_200_characters_of_the_method(aiohttp_server, mode):
    config = {ORIGIN: ResourceOptions(allow_methods=("PUT",))}
    server = await aiohttp_server(app_for(mode, config))
    connection = await Connection.open(server.port)
    try:
        method = "M" * SHOWN
        tail = f"' is not allowed for '{ORIGIN}' origin"
        status, body, _ = await preflight(connection, [], ORIGIN, method)
        assert (status, body) == (403, f"{FAILED}request method '{method}{tail}")
        status, body, _ = await preflight(connection, [], ORIGIN, method + "M")
        assert (status, body) == (403, f"{FAILED}request method '{method}...{tail}")
    finally:
        connection.close()


@MODES
async def test_a_refusal_shows_at_most_200_characters_of_the_headers(aiohttp_server, mode):
    server = await aiohttp_server(app_for(mode, {ORIGIN: ResourceOptions(allow_headers=("X-A",))}))
    connection = await Connection.open(server.port)
    try:
        name = "x-" + "b" * (SHOWN - 2)
        said = FAILED + "headers are not allowed: "
        assert await preflight(connection, ["x-a", name]) == (403, said + name.upper(), None)
        status, body, _ = await preflight(connection, ["x-a", name + "b"])
        assert (status, body) == (403, said + name.upper() + "...")
        # two names of 100: 202 characters with their separator
        names = ["x-" + "c" * 98, "x-" + "d" * 98]
        status, body, _ = await preflight(connection, names)
        assert body == said + ", ".join(names).upper()[:SHOWN] + "..."
    finally:
        connection.close()


async def test_a_log_line_shows_at_most_200_characters_of_a_value(aiohttp_server, caplog):
    server = await aiohttp_server(app_for("route", {ORIGIN: ResourceOptions()}))
    connection = await Connection.open(server.port)
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp_cors"):
            await preflight(connection, [], origin_of(SHOWN))
            await preflight(connection, [], origin_of(SHOWN + 1, "b"))
    finally:
        connection.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"Origin '{origin_of(SHOWN)}'" in logged
    assert f"Origin '{origin_of(SHOWN + 1, 'b')[:SHOWN]}...'" in logged
