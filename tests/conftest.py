"""Shared helpers: apps are served over real HTTP by pytest-aiohttp's ``aiohttp_client``."""

from __future__ import annotations

from aiohttp import web

ORIGIN = "http://client.example"
OTHER = "http://other.example"


async def ok(request: web.Request) -> web.Response:
    """A plain handler that reports the method it served."""
    return web.Response(text=f"{request.method} handled")


def preflight_headers(
    origin: str = ORIGIN, method: str = "PUT", headers: str | None = None
) -> dict[str, str]:
    """The headers a browser sends on a preflight."""
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return sent
