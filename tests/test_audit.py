"""``python -m aiohttp_cors audit``: each row checked against what the server does.

For every row and every origin it lists, a real request (``aiohttp_cors.testing``,
the browser model) proves a page of that origin can read the route; a request from
an origin it does not list proves a page cannot."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.abc
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

import aiohttp_cors
from aiohttp_cors import CachedOrigins, CorsViewMixin, ResourceOptions, custom_cors
from aiohttp_cors._audit import as_json, audit, load
from aiohttp_cors._check import main
from aiohttp_cors.testing import cors_verdict

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "tests" / "browser" / "static"
UNLISTED = "https://unlisted.example"
#: An origin each kind of key that cannot be enumerated admits in the test application.
SAMPLES = {
    "re:https://(app|admin)\\.regex\\.example": "https://admin.regex.example",
    "tenant": "https://tenant.predicate.example",
}


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok", headers={"X-Total": "1"})


def tenant(origin: str, request: object) -> bool:
    return origin == "https://tenant.predicate.example"


async def load_store(origin: str) -> bool:
    return origin == "https://shop.store.example"


class Items(web.View, CorsViewMixin):
    async def get(self) -> web.Response:
        return web.Response(text="ok")

    @custom_cors({"https://view.example": ResourceOptions(allow_credentials=True)})
    async def post(self) -> web.Response:
        return web.Response(text="ok")


class WideView(web.View, CorsViewMixin):
    cors_config = {"https://wide-view.example": ResourceOptions()}

    async def get(self) -> web.Response:
        return web.Response(text="ok")


def everything(port: int = 8443) -> web.Application:
    """Every kind of row: route mode (a view, a static directory, resources, routes),
    app-wide mode in a sub-application with overrides and an exclusion, a sub-application
    mounted by domain, every kind of origin key, the write guard with an exemption, and
    a route no CORS configuration covers."""
    root = web.Application()
    cors = aiohttp_cors.setup(
        root,
        defaults={
            "https://app.example": ResourceOptions(
                allow_credentials=True, expose_headers=("X-Total",), allow_headers="*", max_age=60
            ),
            "https://*.sub.example": ResourceOptions(allow_methods=("GET", "PUT")),
            "http://localhost:*": ResourceOptions(allow_credentials=True),
        },
        csrf_protection=True,
    )
    cors.add(root.router.add_get("/items/{id}", ok))
    cors.add(root.router.add_put("/items/{id}", ok))
    cors.add(root.router.add_delete("/items/{id}", ok), {"https://admin.example": {}})
    cors.add(root.router.add_view("/view", Items))
    cors.add(root.router.add_static("/static", STATIC))
    cors.csrf_exempt(cors.add(root.router.add_post("/hooks/pay", ok)))
    root.router.add_get("/plain", ok)  # no CORS: "none"

    wide = web.Application()
    app_cors = aiohttp_cors.enable(
        wide,
        {
            re.compile(r"https://(app|admin)\.regex\.example"): ResourceOptions(),
            tenant: ResourceOptions(allow_credentials=True),
            CachedOrigins(load_store): ResourceOptions(expose_headers="*"),
            "null": ResourceOptions(),
        },
        csrf_protection=False,
    )
    wide.router.add_get("/data", ok)
    app_cors.add(wide.router.add_patch("/data", ok), {"https://patch.example": ResourceOptions()})
    app_cors.exclude(wide.router.add_get("/internal", ok))
    wide.router.add_view("/view", WideView)  # its own configuration, taken at start-up
    root.add_subapp("/wide", wide)

    hosted = web.Application()
    aiohttp_cors.enable(hosted, {"*": ResourceOptions()})
    hosted.router.add_get("/", ok)
    root.add_domain(f"api.example:{port}", hosted)  # the test server's port: the Host
    return root


def concrete(row: dict[str, Any]) -> str:
    path = re.sub(r"\{[^}]*\}", "1", row["path"])
    return path + "/hello.txt" if path == "/static" else path


def sample(origin: dict[str, Any]) -> str | None:
    kind, written = origin["kind"], origin["origin"]
    if kind in {"exact", "null"}:
        return written
    if kind == "any":
        return "https://anyone.example"
    if kind == "subdomains":
        return written.replace("*.", "a.", 1)
    if kind == "any-port":
        return written.replace(":*", ":3000")
    if kind == "store":
        return "https://shop.store.example"
    return SAMPLES.get(written)


class Loopback(aiohttp.abc.AbstractResolver):
    """Every host name is this machine: a sub-application mounted by domain is reached
    by its own name."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> Any:
        return [
            {"hostname": host, "host": "127.0.0.1", "port": port, "family": family,
             "proto": 0, "flags": 0}
        ]  # fmt: skip

    async def close(self) -> None:
        pass


async def test_every_listed_origin_reads_and_an_unlisted_one_does_not(aiohttp_server):
    port = unused_port()
    app = everything(port)
    rows = as_json(audit(app))["routes"]
    server = await aiohttp_server(app, port=port)
    connector = aiohttp.TCPConnector(resolver=Loopback())
    async with aiohttp.ClientSession(connector=connector) as client:
        await check_rows(client, rows, port)
    assert any(row["host"] for row in rows) and server.port == port


async def check_rows(client: aiohttp.ClientSession, rows: list[dict[str, Any]], port: int) -> None:
    for row in rows:
        host = row["host"] or f"127.0.0.1:{port}"
        path, method = f"http://{host}{concrete(row)}", row["method"]
        if method in ("HEAD", "OPTIONS"):
            continue  # a page cannot read a HEAD's body; OPTIONS is the application's
        for origin in row["origins"]:
            sent = sample(origin)
            assert sent is not None, origin
            verdict = await cors_verdict(
                client, path, origin=sent, method=method, credentials=origin["credentials"]
            )
            assert verdict.readable, (row, origin, str(verdict))
            sent_total = verdict.response is not None and verdict.response.get("X-Total")
            if origin["expose_headers"] == ["X-Total"] and sent_total:
                assert "x-total" in verdict.exposed
        if not any(origin["kind"] == "any" for origin in row["origins"]):
            verdict = await cors_verdict(client, path, origin=UNLISTED, method=method)
            assert not verdict.readable, (row, str(verdict))


def test_the_rows_of_every_kind(aiohttp_client):
    rows = {(row.host, row.path, row.method): row for row in audit(everything())}
    assert rows[None, "/plain", "GET"].mode == "none"
    assert rows[None, "/plain", "GET"].origins == []
    item = rows[None, "/items/{id}", "GET"]
    assert item.mode == "route"
    assert [o.origin for o in item.origins] == [
        "https://app.example",
        "https://*.sub.example",
        "http://localhost:*",
    ]
    assert item.origins[0].allow_headers == "*" and item.origins[0].max_age == 60
    # DELETE needs a preflight: only the origin whose options allow it is listed.
    assert [o.origin for o in rows[None, "/items/{id}", "DELETE"].origins] == [
        "https://app.example",
        "https://admin.example",
        "http://localhost:*",
    ]
    assert [o.origin for o in rows[None, "/items/{id}", "PUT"].origins] == [
        "https://app.example",
        "https://*.sub.example",
        "http://localhost:*",
    ]
    assert rows[None, "/items/{id}", "PUT"].csrf == "on"
    assert rows[None, "/hooks/pay", "POST"].csrf == "exempt"
    assert rows[None, "/items/{id}", "GET"].csrf is None
    assert "https://view.example" in [o.origin for o in rows[None, "/view", "POST"].origins]
    # The write guard is on: an origin whose allow_methods leave POST out cannot post.
    assert "https://*.sub.example" not in [o.origin for o in rows[None, "/view", "POST"].origins]
    assert rows[None, "/static", "GET"].mode == "route"
    assert rows[None, "/wide/data", "GET"].mode == "app-wide"
    kinds = [o.kind for o in rows[None, "/wide/data", "GET"].origins]
    assert kinds == ["null", "regex", "predicate", "store"]
    assert "https://patch.example" in [o.origin for o in rows[None, "/wide/data", "PATCH"].origins]
    assert "https://patch.example" not in [
        o.origin for o in rows[None, "/wide/data", "GET"].origins
    ]
    assert rows[None, "/wide/internal", "GET"].mode == "excluded"
    assert "https://wide-view.example" in [
        o.origin for o in rows[None, "/wide/view", "GET"].origins
    ]
    assert rows[None, "/wide/data", "PATCH"].csrf == "off"
    hosted = rows["api.example:8443", "/", "GET"]
    assert hosted.mode == "app-wide" and hosted.origins[0].kind == "any"


def test_warnings():
    rows = {(row.host, row.path, row.method): row for row in audit(everything())}
    said = rows[None, "/items/{id}", "GET"].warnings
    assert said == [
        "credentials for a any-port (http://localhost:*): every origin it admits reads "
        "credentialed answers; list the origins you trust"
    ]
    wide = rows[None, "/wide/data", "GET"].warnings
    assert any(w.startswith("credentials for a predicate (") for w in wide), wide
    assert any(w.startswith("'null' is allowed") for w in wide), wide
    assert "cross-origin write protection is off for PATCH, on elsewhere" in (
        rows[None, "/wide/data", "PATCH"].warnings
    )
    app = web.Application()
    cors = aiohttp_cors.setup(
        app,
        defaults={
            "*": ResourceOptions(allow_credentials=True),
            "https://*.github.io": ResourceOptions(),
        },
    )
    cors.add(app.router.add_get("/x", ok))
    (row, _) = audit(app)  # GET, then HEAD
    assert any("'*' with credentials: route mode echoes any origin" in w for w in row.warnings)
    assert any("a public suffix where anyone can register a host" in w for w in row.warnings)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiohttp_cors", "audit", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_the_command_line_on_the_demo():
    table = run("examples.demo:api")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "PATH",
        "METHOD",
        "MODE",
        "CSRF",
        "ORIGIN",
        "CRED",
        "EXPOSE",
        "HEADERS",
        "MAX-AGE",
    ]
    assert lines[-1] == "7 routes and methods, 0 warnings"
    document = run("examples.demo:api", "--json")
    assert document.returncode == 0
    parsed = json.loads(document.stdout)
    assert parsed["warnings"] == 0
    assert {row["path"] for row in parsed["routes"]} == {"/api/hello", "/api/items", "/api/private"}
    assert run("examples.demo:api", "--fail-on", "warning").returncode == 0


async def test_the_demo_rows_hold_against_the_demo(aiohttp_client):
    sys.path.insert(0, str(ROOT))
    app = load("examples.demo:api")
    rows = as_json(audit(app))["routes"]
    client = await aiohttp_client(app)
    for row in rows:
        if row["method"] == "HEAD":
            continue
        for origin in row["origins"]:
            verdict = await cors_verdict(
                client, row["path"], origin=origin["origin"], method=row["method"]
            )
            assert verdict.readable, (row, str(verdict))
        verdict = await cors_verdict(client, row["path"], origin=UNLISTED, method=row["method"])
        assert not verdict.readable
    delete = next(row for row in rows if row["method"] == "DELETE")
    assert delete["origins"] == []  # served, but CORS was not added for DELETE
    verdict = await cors_verdict(
        client, "/api/items", origin="http://127.0.0.1:8080", method="DELETE"
    )
    assert not verdict.readable


FACTORIES = """
import aiohttp_cors
from aiohttp import web


def build():
    app = web.Application()
    aiohttp_cors.enable(app, {"*": aiohttp_cors.ResourceOptions(allow_credentials=True)},
                        unsafe=aiohttp_cors.Unsafe.CREDENTIALS_WITH_ANY_ORIGIN)

    async def hello(request):
        return web.Response()

    app.router.add_get("/", hello)
    return app


async def build_async():
    return build()


app = build()
nothing = 42
"""


@pytest.mark.parametrize("attr", ["app", "build", "build_async"])
def test_an_application_or_a_factory_sync_or_async(tmp_path, monkeypatch, attr):
    (tmp_path / "audited_factories.py").write_text(FACTORIES)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["audit", f"audited_factories:{attr}", "--json"], out) == 0
    rows = json.loads(out.getvalue())["routes"]
    assert rows[0]["origins"][0]["origin"] == "*"
    # '*' with credentials in app-wide mode echoes the origin only under Unsafe: no
    # route-mode warning, but credentials for every origin is still worth a look.
    assert main(["audit", f"audited_factories:{attr}", "--fail-on", "warning"], out) == 0


def test_load_errors_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "audited_errors.py").write_text(
        FACTORIES + "\n\ndef broken():\n    raise RuntimeError('no database')\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["audit", "audited_errors:missing"]) == 2
    assert "has no attribute 'missing'" in capsys.readouterr().err
    assert main(["audit", "audited_errors:nothing"]) == 2
    assert "neither an Application nor a function" in capsys.readouterr().err
    assert main(["audit", "no_such_module_here:app"]) == 2
    assert main(["audit", "audited_errors"]) == 2
    assert "give MODULE:ATTR" in capsys.readouterr().err
    assert main(["audit", "audited_errors:broken"]) == 2
    assert capsys.readouterr().err == (
        "error: loading audited_errors:broken raised RuntimeError: no database\n"
    )


def test_debug_mode_is_a_warning():
    app = web.Application()
    aiohttp_cors.enable(app, {"https://app.example": ResourceOptions()}, debug=True)
    app.router.add_get("/x", ok)
    (row, _) = audit(app)
    assert row.warnings == [
        "debug mode is on: refusals tell any page what is allowed (not for production)"
    ]


def test_fail_on_warning_exits_1(tmp_path, monkeypatch):
    (tmp_path / "audited_warned.py").write_text(
        "import aiohttp_cors\nfrom aiohttp import web\n\n\n"
        "async def hello(request):\n    return web.Response()\n\n\n"
        "app = web.Application()\n"
        "cors = aiohttp_cors.setup(app, defaults={'null': aiohttp_cors.ResourceOptions()})\n"
        "cors.add(app.router.add_get('/', hello))\n"
    )
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["audit", "audited_warned:app"], out) == 0
    assert "warning: 'null' is allowed" in out.getvalue()
    assert main(["audit", "audited_warned:app", "--fail-on", "warning"], io.StringIO()) == 1


def test_the_transcript_in_the_guide_is_real():
    guide = (ROOT / "docs" / "audit.md").read_text()
    command, printed = re.search(
        r"```sh\n(python -m aiohttp_cors audit examples\.demo:api)\n```\n\n```text\n(.*?)```",
        guide,
        re.DOTALL,
    ).groups()
    ran = run(*command.split()[4:])
    assert ran.stdout == printed


def test_the_json_example_in_the_guide_is_a_real_row():
    guide = (ROOT / "docs" / "audit.md").read_text()
    shown = json.loads(re.search(r"```json\n(.*?)```", guide, re.DOTALL).group(1))
    rows = json.loads(run("examples.demo:api", "--json").stdout)["routes"]
    assert shown["routes"][0] in rows
    assert set(shown) == {"routes", "warnings"}
