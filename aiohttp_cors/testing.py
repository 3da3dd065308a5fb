"""Helpers for your own tests: would a browser let a page read this response?

``await cors_verdict(client, "/api/items", origin="https://app.example", method="PUT")``
sends, through an aiohttp ``TestClient``, the preflight (when a browser would send one)
and the request, shaped as a browser shapes them, and returns the browser model's
verdict (:mod:`aiohttp_cors.model`, the same one ``python -m aiohttp_cors check`` uses),
with the reason and a suggested fix when the page would be blocked.
:func:`assert_readable` and :func:`assert_blocked` wrap it with failure messages that
say what the browser would say.

As a pytest plugin (``pytest_plugins = ["aiohttp_cors.testing"]`` in a ``conftest.py``)
it also provides the fixtures ``cors_verdict``, ``assert_readable`` and
``assert_blocked``. See docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from ._check import exchange, suggestion
from .model import Answer, PageRequest

__all__ = ("CorsVerdict", "assert_blocked", "assert_readable", "cors_verdict")


@dataclass(frozen=True)
class CorsVerdict:
    """What a browser makes of one cross-origin request."""

    #: Whether the page can read the response.
    readable: bool
    #: ``"preflight"`` or ``"response"``: where the browser decided.
    stage: str
    #: Why it is blocked (``""`` when readable).
    reason: str
    #: A short name for the reason (:data:`aiohttp_cors.model.CODES`), ``""`` if readable.
    code: str
    #: A change to the server's configuration that would make it readable (``""`` if so).
    suggestion: str
    #: The response header names (lower case) the page can read, when readable.
    exposed: frozenset[str]
    #: The answers: the preflight's (``None`` if none was needed), the request's
    #: (``None`` if the preflight failed).
    preflight: Answer | None
    response: Answer | None

    def __str__(self) -> str:
        if self.readable:
            return f"readable (headers the page can read: {', '.join(sorted(self.exposed))})"
        return f"blocked at the {self.stage}: {self.reason}. Fix: {self.suggestion}"


async def cors_verdict(
    client: TestClient[Any, Any] | aiohttp.ClientSession,
    path: str,
    *,
    origin: str,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    credentials: bool = False,
    body: bytes | str | None = None,
) -> CorsVerdict:
    """The verdict of a browser on a page of *origin* calling ``fetch(path, ...)`` with
    *method*, the request *headers* the script sets and ``credentials: "include"`` if
    *credentials*. Cookies of the client's jar go with the request only then.

    *client* may also be an ``aiohttp.ClientSession``, *path* then a full URL: any
    server, not only a test one (``examples/demo.py`` asks its API this way). The
    session is used as it is, cookies included, with or without *credentials*."""
    sent = tuple(headers.items() if isinstance(headers, dict) else headers)
    request = PageRequest(origin=origin, method=method, headers=sent, credentials=credentials)
    data = body.encode() if isinstance(body, str) else body
    if isinstance(client, aiohttp.ClientSession):
        url, session = path, client
    else:
        url, session = str(client.make_url(path)), client.session
    if credentials or session is client:
        preflight, response, verdict = await exchange(session, url, request, body=data)
    else:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
            preflight, response, verdict = await exchange(session, url, request, body=data)
    answer = preflight if verdict.stage == "preflight" else response
    return CorsVerdict(
        readable=verdict.readable,
        stage=verdict.stage,
        reason=verdict.reason,
        code=verdict.code,
        suggestion="" if verdict.readable else suggestion(verdict, request, answer),
        exposed=verdict.exposed,
        preflight=preflight,
        response=response,
    )


def _called(path: str, origin: str, method: str, credentials: bool) -> str:
    mode = "with" if credentials else "without"
    return f"{method} {path} from {origin} ({mode} credentials)"


async def assert_readable(
    client: TestClient[Any, Any] | aiohttp.ClientSession,
    path: str,
    *,
    origin: str,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    credentials: bool = False,
    body: bytes | str | None = None,
    reads: Sequence[str] = (),
) -> CorsVerdict:
    """Fail unless a browser lets the page read the response, and each response header
    named in *reads*; return the verdict."""
    verdict = await cors_verdict(
        client,
        path,
        origin=origin,
        method=method,
        headers=headers,
        credentials=credentials,
        body=body,
    )
    called = _called(path, origin, method, credentials)
    if not verdict.readable:
        raise AssertionError(f"{called}: a browser would block it: {verdict}")
    hidden = [name for name in reads if name.lower() not in verdict.exposed]
    if hidden:
        raise AssertionError(
            f"{called}: readable, but the page cannot read {', '.join(hidden)} "
            f"(exposed: {', '.join(sorted(verdict.exposed))}): add them to expose_headers"
        )
    return verdict


async def assert_blocked(
    client: TestClient[Any, Any] | aiohttp.ClientSession,
    path: str,
    *,
    origin: str,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] | dict[str, str] = (),
    credentials: bool = False,
    body: bytes | str | None = None,
    stage: str | None = None,
    code: str | None = None,
) -> CorsVerdict:
    """Fail unless a browser blocks the page from reading the response (at *stage*,
    for the reason *code*, when given); return the verdict."""
    verdict = await cors_verdict(
        client,
        path,
        origin=origin,
        method=method,
        headers=headers,
        credentials=credentials,
        body=body,
    )
    called = _called(path, origin, method, credentials)
    if verdict.readable:
        raise AssertionError(f"{called}: a browser would let the page read it: {verdict}")
    if stage is not None and verdict.stage != stage:
        raise AssertionError(f"{called}: blocked at the {verdict.stage}, not the {stage}")
    if code is not None and verdict.code != code:
        raise AssertionError(f"{called}: blocked for {verdict.code!r}, not {code!r}: {verdict}")
    return verdict


try:
    import pytest
except ImportError:  # the helpers work without pytest; the fixtures need it
    pass
else:

    @pytest.fixture(name="cors_verdict")
    def _cors_verdict_fixture() -> Callable[..., Any]:
        """:func:`aiohttp_cors.testing.cors_verdict`."""
        return cors_verdict

    @pytest.fixture(name="assert_readable")
    def _assert_readable_fixture() -> Callable[..., Any]:
        """:func:`aiohttp_cors.testing.assert_readable`."""
        return assert_readable

    @pytest.fixture(name="assert_blocked")
    def _assert_blocked_fixture() -> Callable[..., Any]:
        """:func:`aiohttp_cors.testing.assert_blocked`."""
        return assert_blocked
