"""The examples run: the demo starts from the command line and its API answers as configured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import unused_port

ROOT = Path(__file__).resolve().parents[1]


async def test_demo_command_serves_page_and_api():
    page_port, api_port = unused_port(), unused_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples" / "demo.py"),
            "--page-port",
            str(page_port),
            "--api-port",
            str(api_port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        addresses = json.loads(process.stdout.readline())
        assert addresses == {
            "page": f"http://127.0.0.1:{page_port}/",
            "api": f"http://localhost:{api_port}",
        }
        assert "Open http://127.0.0.1:" in process.stdout.readline()
        page_origin = f"http://127.0.0.1:{page_port}"
        api = f"http://127.0.0.1:{api_port}"
        async with ClientSession() as session:
            async with session.get(addresses["page"]) as resp:
                assert f"http://localhost:{api_port}" in await resp.text()
            async with session.get(api + "/api/hello", headers={"Origin": page_origin}) as resp:
                assert resp.headers["Access-Control-Allow-Origin"] == page_origin
                assert resp.headers["Access-Control-Allow-Credentials"] == "true"
            async with session.get(api + "/api/private", headers={"Origin": page_origin}) as resp:
                assert "Access-Control-Allow-Origin" not in resp.headers
            preflight = {"Origin": page_origin, "Access-Control-Request-Method": "DELETE"}
            async with session.options(api + "/api/items", headers=preflight) as resp:
                assert resp.status == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
