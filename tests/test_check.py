"""``python -m aiohttp_cors check`` against servers answering in each way the model tells apart."""

from __future__ import annotations

import asyncio
import io
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

import aiohttp_cors
from aiohttp_cors import ResourceOptions
from aiohttp_cors._check import _parser, _run

ROOT = Path(__file__).resolve().parents[1]
PAGE = "https://app.example"
ACAO = "Access-Control-Allow-Origin"

# Case -> (preflight status, preflight headers, actual headers), served by any server.
ANSWERS: dict[str, tuple[int, dict[str, str], list[tuple[str, str]]]] = {
    "readable": (204, {ACAO: PAGE, "Access-Control-Allow-Methods": "PUT"}, [(ACAO, PAGE)]),
    "no-allow-origin": (200, {}, []),
    "several-allow-origins": (200, {}, [(ACAO, PAGE), (ACAO, PAGE)]),
    "other-origin": (200, {}, [(ACAO, "https://other.example")]),
    "star-with-credentials": (200, {}, [(ACAO, "*")]),
    "no-allow-credentials": (200, {}, [(ACAO, PAGE)]),
    "preflight-status": (401, {ACAO: PAGE, "Access-Control-Allow-Methods": "PUT"}, []),
    "bad-list": (200, {ACAO: PAGE, "Access-Control-Allow-Methods": "PUT;"}, []),
    "method": (200, {ACAO: PAGE, "Access-Control-Allow-Methods": "GET"}, []),
    "authorization": (
        200,
        {ACAO: PAGE, "Access-Control-Allow-Methods": "*", "Access-Control-Allow-Headers": "*"},
        [(ACAO, PAGE)],
    ),
    "header": (200, {ACAO: PAGE, "Access-Control-Allow-Headers": "x-a"}, []),
}

# Case -> the command-line arguments a user would give.
ARGS = {
    "readable": ["--method", "PUT"],
    "no-allow-origin": [],
    "several-allow-origins": [],
    "other-origin": [],
    "star-with-credentials": ["--credentials"],
    "no-allow-credentials": ["--credentials"],
    "preflight-status": ["--method", "PUT"],
    "bad-list": ["--method", "PUT"],
    "method": ["--method", "PUT"],
    "authorization": ["--header", "Authorization:Bearer x", "--spec"],
    "header": ["--header", "X-A", "--header", "X-B:2"],
}

SUGGESTS = {
    "readable": "",
    "no-allow-origin": "Allow the origin",
    "several-allow-origins": "let only one of them set it",
    "other-origin": "The server allows 'https://other.example'",
    "star-with-credentials": "allow_credentials=True",
    "no-allow-credentials": "Set allow_credentials=True",
    "preflight-status": "Answer preflights before other middlewares",
    "bad-list": "comma-separated tokens",
    "method": "Add 'PUT' to allow_methods",
    "authorization": "List 'Authorization' in allow_headers",
    "header": "(x-b)",
}


async def raw(request: web.Request) -> web.Response:
    status, preflight, actual = ANSWERS[request.match_info["case"]]
    if request.method == "OPTIONS":
        return web.Response(status=status, headers=preflight)
    response = web.Response(text="answer")
    for name, value in actual:
        response.headers.add(name, value)
    return response


@pytest.fixture
async def raw_url(aiohttp_server):
    app = web.Application()
    app.router.add_route("*", "/{case}", raw)
    server = await aiohttp_server(app)
    return lambda case: str(server.make_url(f"/{case}"))


async def check(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = await _run(_parser().parse_args(["check", *argv]), out)
    return status, out.getvalue()


@pytest.mark.parametrize("case", list(ANSWERS))
async def test_each_verdict_with_its_reason_and_fix(raw_url, case):
    status, out = await check(raw_url(case), "--origin", PAGE, *ARGS[case])
    if case == "readable":
        assert status == 0, out
        assert "verdict: READABLE" in out
        return
    assert status == 1, out
    verdict = next(line for line in out.splitlines() if line.startswith("verdict:"))
    assert verdict.startswith("verdict: BLOCKED at the "), out
    assert aiohttp_cors.model.CODES[case]  # a known code
    assert SUGGESTS[case] in out, out


async def test_check_against_this_library(aiohttp_server):
    app = web.Application()
    aiohttp_cors.enable(
        app, {PAGE: ResourceOptions(allow_headers=("X-Token",), expose_headers=("X-Total",))}
    )

    async def items(request: web.Request) -> web.Response:
        return web.Response(text="[]", headers={"X-Total": "0"})

    app.router.add_put("/items", items)
    server = await aiohttp_server(app)
    url = str(server.make_url("/items"))
    status, out = await check(url, "--origin", PAGE, "--method", "PUT", "--header", "X-Token:1")
    assert status == 0, out
    assert "x-total" in out
    assert "preflight: 200" in out
    status, out = await check(url, "--origin", PAGE, "--method", "PUT", "--header", "X-Other")
    assert status == 1
    assert "BLOCKED at the preflight" in out
    assert "preflight: 403" in out
    assert "headers are not allowed: X-OTHER" in out
    assert "Allow the request headers (X-OTHER)" in out
    status, out = await check(url, "--origin", "https://evil.example", "--method", "PUT")
    assert status == 1
    assert "no Access-Control-Allow-Origin header" in out


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(*argv: str) -> Ran:
    """The real command, in a child process (the test's server keeps serving meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiohttp_cors",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def test_authorization_under_star_as_chromium_or_as_the_standard(raw_url):
    """By default ``check`` judges as Chromium does, which lets
    ``Access-Control-Allow-Headers: *`` cover Authorization; ``--spec`` as the standard."""
    args = (raw_url("authorization"), "--origin", PAGE, "--header", "Authorization:Bearer x")
    status, out = await check(*args)
    assert status == 0, out
    status, out = await check(*args, "--spec")
    assert status == 1
    assert "'*' never covers it in the standard" in out
    status, out = await check(*args, "--spec", "--header", "X-A")
    assert status == 1


async def test_the_command_line_exit_statuses(raw_url):
    readable = await run_cli("check", raw_url("readable"), "--origin", PAGE, "--method", "PUT")
    assert readable.returncode == 0, readable.stdout + readable.stderr
    blocked = await run_cli("check", raw_url("other-origin"), "--origin", PAGE)
    assert blocked.returncode == 1
    assert "suggestion:" in blocked.stdout
    usage = await run_cli("check", raw_url("readable"), "--origin", "https://app.example/path")
    assert usage.returncode == 2
    assert "is not an origin" in usage.stderr
    missing = await run_cli("check", "http://127.0.0.1:9/x", "--origin", PAGE, "--timeout", "5")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: http://127.0.0.1:9/x")


TRANSCRIPT = re.compile(
    r"^```sh\npython -m aiohttp_cors check ([^\n]*)\n```\n\n```text\n(.*?)^```", re.M | re.S
)


async def test_the_transcripts_in_the_debugging_guide_are_real():
    """docs/debugging.md shows `check` against the demo: run each, compare the output."""
    sys.path.insert(0, str(ROOT / "examples"))
    import demo

    transcripts = TRANSCRIPT.findall((ROOT / "docs" / "debugging.md").read_text())
    assert len(transcripts) == 2
    page_port, api_port = unused_port(), unused_port()
    page_runner, api_runner, _ = await demo.serve(page_port, api_port)
    try:
        for command, printed in transcripts:
            argv = shlex.split(
                command.replace(":8080", f":{page_port}").replace(":8081", f":{api_port}")
            )
            out = io.StringIO()
            await _run(_parser().parse_args(["check", *argv]), out)
            shown = out.getvalue().replace(f":{page_port}", ":8080")
            assert shown.replace(f":{api_port}", ":8081") == printed
    finally:
        await page_runner.cleanup()
        await api_runner.cleanup()


async def test_read_header_says_whether_the_page_can_read_it(aiohttp_server):
    app = web.Application()
    aiohttp_cors.enable(
        app,
        {
            PAGE: ResourceOptions(expose_headers=("X-Total",)),
            "https://star.example": ResourceOptions(allow_credentials=True),
        },
    )

    async def star(request: web.Request) -> web.Response:
        # A literal '*' (set by the handler), which browsers ignore with credentials.
        headers = {"X-Page": "1", "Access-Control-Expose-Headers": "*"}
        return web.Response(text="[]", headers=headers)

    async def items(request: web.Request) -> web.Response:
        return web.Response(text="[]", headers={"X-Total": "0", "X-Page": "1", "Set-Cookie": "a=1"})

    app.router.add_get("/items", items)
    app.router.add_get("/star", star)
    server = await aiohttp_server(app)
    url = str(server.make_url("/items"))
    status, out = await check(url, "--origin", PAGE, "--read-header", "X-Total")
    assert status == 0, out
    assert "header X-Total" not in out
    status, out = await check(url, "--origin", PAGE, "--read-header", "x-page")
    assert status == 1, out
    assert "header x-page: in the response but not exposed: the page reads null. " in out
    assert "Add 'x-page' to expose_headers." in out
    status, out = await check(url, "--origin", PAGE, "--read-header", "X-Missing")
    assert status == 1
    assert "header X-Missing: not in the response: the handler does not send it" in out
    status, out = await check(url, "--origin", PAGE, "--read-header", "Set-Cookie")
    assert status == 1
    assert "never readable by a page" in out
    url = str(server.make_url("/star"))
    args = ("--origin", "https://star.example", "--read-header", "X-Page")
    status, out = await check(url, *args)
    assert status == 0, out
    status, out = await check(url, *args, "--credentials")
    assert status == 1
    assert "not exposed ('*' does not count with credentials)" in out


async def test_body_is_sent_with_the_request(aiohttp_server):
    received: list[bytes] = []

    async def echo(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    aiohttp_cors.enable(app, {PAGE: ResourceOptions()})
    app.router.add_post("/echo", echo)
    server = await aiohttp_server(app)
    url = str(server.make_url("/echo"))
    status, out = await check(url, "--origin", PAGE, "--method", "POST", "--body", '{"a": 1}')
    assert status == 0, out
    status, out = await check(url, "--origin", PAGE, "--method", "POST")
    assert status == 0, out
    assert received == [b'{"a": 1}', b""]


async def test_the_suggestion_follows_from_what_answered(aiohttp_server):
    @web.middleware
    async def auth(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.path.startswith("/behind") and "Authorization" not in request.headers:
            raise web.HTTPUnauthorized(text="log in first")
        return await handler(request)

    app = web.Application(middlewares=[auth])
    cors = aiohttp_cors.setup(app, defaults={PAGE: ResourceOptions(allow_headers="*")})
    cors.add(app.router.add_put("/behind-auth", ok_handler))
    app.router.add_put("/no-cors", ok_handler)
    guarded = web.Application()
    guarded_cors = aiohttp_cors.setup(
        guarded, defaults={PAGE: ResourceOptions(allow_methods=["GET"])}, csrf_protection=True
    )
    guarded_cors.add(guarded.router.add_post("/form", ok_handler))
    app.add_subapp("/guarded", guarded)
    open_app = web.Application()
    open_cors = aiohttp_cors.setup(open_app, defaults={PAGE: ResourceOptions()})
    open_cors.add(open_app.router.add_get("/x", ok_handler))
    app.add_subapp("/open", open_app)
    server = await aiohttp_server(app)

    def url(path: str) -> str:
        return str(server.make_url(path))

    # Route mode: the preflight met the authentication middleware first.
    _, out = await check(url("/behind-auth"), "--origin", PAGE, "--method", "PUT")
    assert "The preflight got 401 from something that answered before CORS" in out, out
    assert "use aiohttp_cors.enable(), which answers preflights before any middleware" in out
    # Nothing at that URL.
    _, out = await check(url("/nowhere"), "--origin", PAGE)
    assert "The response got 404: check the URL" in out, out
    # A route CORS was never added to.
    _, out = await check(url("/no-cors"), "--origin", PAGE, "--method", "PUT")
    assert "nothing of CORS answered: is CORS enabled for this route at all" in out, out
    # The write guard: a simple POST from an origin the policy lets read, not write.
    _, out = await check(url("/guarded/form"), "--origin", PAGE, "--method", "POST")
    assert "The write guard refused it" in out, out
    # CORS covers the route; the origin is simply not allowed: no "is CORS enabled".
    _, out = await check(url("/open/x"), "--origin", "https://evil.example")
    assert "Allow the origin: {'https://evil.example'" in out, out
    assert "is CORS enabled" not in out and "answered before CORS" not in out, out
    # This library's own 403 to a preflight is not "something before CORS".
    _, out = await check(url("/open/x"), "--origin", "https://evil.example", "--method", "PUT")
    assert "preflight: 403" in out and "Allow the origin: {'https://evil.example'" in out, out
    assert "answered before CORS" not in out, out


async def ok_handler(request: web.Request) -> web.Response:
    return web.Response(text="ok")
