"""``aiohttp_cors.testing``: the verdicts, the assertion messages, and the pytest plugin
as a user's suite opts into it. (That each verdict agrees with Chromium is checked on
every case of the browser suite: tests/browser/harness.py asks ``cors_verdict``.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions
from aiohttp_cors.testing import assert_blocked, assert_readable, cors_verdict

PAGE = "https://app.example"


def api() -> web.Application:
    app = web.Application()
    aiohttp_cors.enable(
        app,
        {
            PAGE: ResourceOptions(
                allow_headers=("X-Token", "Content-Type"),
                expose_headers=("X-Total",),
                allow_credentials=True,
            ),
            "https://public.example": ResourceOptions(),
        },
    )

    async def items(request: web.Request) -> web.Response:
        cookie = request.cookies.get("session", "none")
        headers = {"X-Total": "3", "X-Internal": "1"}
        return web.json_response({"cookie": cookie, "body": await request.text()}, headers=headers)

    app.router.add_route("GET", "/items", items)
    app.router.add_route("PUT", "/items", items)
    return app


async def test_verdicts_of_readable_and_blocked_requests(aiohttp_client):
    client = await aiohttp_client(api())
    verdict = await cors_verdict(client, "/items", origin=PAGE)
    assert verdict.readable
    assert verdict.stage == "response"
    assert verdict.preflight is None  # a simple GET: no preflight
    assert verdict.response is not None and verdict.response.status == 200
    assert "x-total" in verdict.exposed and "x-internal" not in verdict.exposed
    assert (verdict.reason, verdict.code, verdict.suggestion) == ("", "", "")

    verdict = await cors_verdict(
        client, "/items", origin=PAGE, method="PUT", headers={"X-Token": "1"}
    )
    assert verdict.readable
    assert verdict.preflight is not None and verdict.preflight.status == 200

    verdict = await cors_verdict(client, "/items", origin="https://evil.example", method="PUT")
    assert not verdict.readable
    assert (verdict.stage, verdict.code) == ("preflight", "no-allow-origin")
    assert verdict.response is None  # the browser never sends it
    assert "Allow the origin: {'https://evil.example': ResourceOptions(...)}" in (
        verdict.suggestion
    )

    verdict = await cors_verdict(
        client, "/items", origin=PAGE, method="PUT", headers=[("X-Other", "1")]
    )
    # What Chromium says too (a 403 without Allow-Origin); the suggestion reads the
    # library's refusal and names the header.
    assert (verdict.stage, verdict.code) == ("preflight", "no-allow-origin")
    assert "Allow the request headers (X-OTHER)" in verdict.suggestion

    verdict = await cors_verdict(
        client, "/items", origin="https://public.example", credentials=True
    )
    assert (verdict.stage, verdict.code) == ("response", "no-allow-credentials")
    assert str(verdict).startswith("blocked at the response: the request has credentials")


async def test_cookies_go_only_with_credentials(aiohttp_client):
    client = await aiohttp_client(api())
    client.session.cookie_jar.update_cookies({"session": "s1"})
    verdict = await cors_verdict(client, "/items", origin=PAGE)
    assert verdict.response is not None and '"cookie": "none"' in verdict.response.body
    verdict = await cors_verdict(client, "/items", origin=PAGE, credentials=True)
    assert verdict.readable
    assert verdict.response is not None and '"cookie": "s1"' in verdict.response.body


async def test_a_body_is_sent(aiohttp_client):
    client = await aiohttp_client(api())
    verdict = await cors_verdict(
        client,
        "/items",
        origin=PAGE,
        method="PUT",
        headers={"Content-Type": "application/json"},
        body='{"name": "x"}',
    )
    assert verdict.readable
    assert verdict.response is not None
    assert '"body": "{\\"name\\": \\"x\\"}"' in verdict.response.body


async def test_the_assertions_and_their_messages(aiohttp_client):
    client = await aiohttp_client(api())
    verdict = await assert_readable(client, "/items", origin=PAGE, reads=["X-Total"])
    assert verdict.readable
    with pytest.raises(AssertionError) as raised:
        await assert_readable(client, "/items", origin=PAGE, reads=["X-Total", "X-Internal"])
    message = str(raised.value)
    assert message.startswith(
        "GET /items from https://app.example (without credentials): readable, but the page "
        "cannot read X-Internal (exposed: "
    ), message
    assert "x-total" in message and message.endswith("): add them to expose_headers")
    with pytest.raises(AssertionError, match="a browser would block it: blocked at the preflight"):
        await assert_readable(client, "/items", origin="https://evil.example", method="PUT")

    await assert_blocked(client, "/items", origin="https://evil.example", method="PUT")
    await assert_blocked(
        client,
        "/items",
        origin="https://evil.example",
        method="PUT",
        stage="preflight",
        code="no-allow-origin",
    )
    with pytest.raises(AssertionError, match="a browser would let the page read it: readable"):
        await assert_blocked(client, "/items", origin=PAGE)
    with pytest.raises(AssertionError, match="blocked at the preflight, not the response"):
        await assert_blocked(
            client, "/items", origin="https://evil.example", method="PUT", stage="response"
        )
    with pytest.raises(AssertionError, match="blocked for 'no-allow-origin', not 'method'"):
        await assert_blocked(
            client, "/items", origin="https://evil.example", method="PUT", code="method"
        )


ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "testing.md").read_text()
BLOCKS = re.findall(r"^```python\n(.*?)^```", GUIDE, re.DOTALL | re.MULTILINE)


PYTEST_INI = GUIDE.split("```ini\n", 1)[1].split("```", 1)[0]


def test_the_guides_pytest_example_passes_as_a_users_suite(tmp_path: Path):
    """docs/testing.md's conftest and tests, run by pytest as a user's suite would be."""
    conftest, tests = BLOCKS[0], BLOCKS[1]
    assert "pytest_plugins" in conftest
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_cors.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    # The package under test, wherever it is (a checkout, or installed).
    package = str(Path(aiohttp_cors.__file__).resolve().parents[1])
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-q", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": package},
        timeout=120,
        check=False,
    )
    out = ran.stdout + ran.stderr
    assert ran.returncode == 0, out
    assert "4 passed" in out, out


async def test_the_guides_failure_message_is_real(aiohttp_client):
    namespace: dict[str, Any] = {}
    exec(compile(BLOCKS[1], "<docs>", "exec"), namespace)
    client = await aiohttp_client(namespace["make_app"]())
    with pytest.raises(AssertionError) as raised:
        await assert_readable(
            client,
            "/api/items",
            origin="https://app.example",
            method="PUT",
            headers={"X-Trace": "1"},
        )
    shown = GUIDE.split("When an assertion fails", 1)[1].split("```text\n", 1)[1].split("\n```")[0]
    assert f"AssertionError: {raised.value}" == shown
