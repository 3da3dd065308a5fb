"""The DEBUG log says why a CORS request was refused, and cannot be forged."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions

from .conftest import ORIGIN, OTHER, ok, preflight_headers


async def test_rejections_are_explained(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_headers=("X-A",))})
    cors.add(app.router.add_put("/items/{id}", ok))
    client = await aiohttp_client(app)

    await client.options("/items/1", headers=preflight_headers(headers="x-b"))
    await client.options("/items/1", headers=preflight_headers(origin=OTHER))
    await client.put("/items/1", headers={"Origin": OTHER})
    await client.put("/items/1", headers={"Origin": ORIGIN})  # allowed: nothing logged
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3, messages
    assert "headers are not allowed: X-B" in messages[0]
    assert "'/items/{id}'" in messages[0]
    assert f"origin '{OTHER}' is not allowed" in messages[1]
    assert f"origin '{OTHER}' is not allowed for 'PUT' '/items/1'" in messages[2]
    assert all(record.name == "aiohttp_cors" for record in caplog.records)


async def test_app_mode_logs_and_escapes_request_values(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()})
    app.router.add_get("/x", ok)
    client = await aiohttp_client(app)
    await client.get("/x%0aCORS:%20forged%20line", headers={"Origin": OTHER})
    await client.options("/x", headers=preflight_headers(origin="https://\u00e9vil.example"))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert all("\n" not in message and message.isascii() for message in messages)
    assert "\\nCORS: forged line" in messages[0]
    assert "none: the router found no route" in messages[0]
    assert "preflight rejected" in messages[1]


async def test_nothing_is_logged_above_debug(aiohttp_client, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp_cors")
    app = web.Application()
    aiohttp_cors.enable(app, {ORIGIN: ResourceOptions()})
    app.router.add_get("/x", ok)
    client = await aiohttp_client(app)
    await client.get("/x", headers={"Origin": OTHER})
    await client.options("/x", headers=preflight_headers(origin=OTHER))
    assert not caplog.records


@pytest.mark.parametrize(
    ("configured", "sent", "what"),
    [
        ("https://app.example:8443", "https://app.example", "the port"),
        ("http://app.example", "https://app.example", "the scheme"),
        ("https://app.example/", "https://app.example", "a trailing slash"),
        ("https://app.example", "https://APP.example", "case"),
    ],
)
async def test_a_refused_origin_names_the_configured_one_it_nearly_is(
    aiohttp_client, caplog, configured, sent, what
):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    cors = aiohttp_cors.setup(
        app, defaults={configured: ResourceOptions(), "https://other.example": ResourceOptions()}
    )
    cors.add(app.router.add_put("/x", ok))
    client = await aiohttp_client(app)
    caplog.clear()
    await client.options("/x", headers=preflight_headers(origin=sent))
    await client.put("/x", headers={"Origin": sent})
    await client.put("/x", headers={"Origin": "https://unrelated.example"})
    messages = [record.getMessage() for record in caplog.records]
    near = f"(the configuration has '{configured}', which differs in {what})"
    assert near in messages[0], messages
    assert near in messages[1], messages
    assert "the configuration has" not in messages[2]
    cors.debug = True
    response = await client.put("/x", headers={"Origin": sent})
    assert response.headers["X-CORS-Error"].endswith(near)
    response = await client.options("/x", headers=preflight_headers(origin=sent))
    assert response.headers["X-CORS-Error"].endswith(near)
    assert near not in await response.text()  # the 403's text stays as it was
