"""Every Python block of the README and docs/ runs, and the quick start does what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks() -> list[Any]:
    found = []
    for path in DOCS:
        for number, match in enumerate(BLOCK.finditer(path.read_text()), 1):
            found.append(pytest.param(match.group(1), id=f"{path.name}-{number}"))
    return found


def run_block(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(source, "<docs>", "exec"), namespace)
    return namespace


# A block followed by "prints" and a text block must print exactly that.
PRINTS = re.compile(
    r"^```python\n((?:(?!^```).)*?)^```\n\nprints\n\n```text\n(.*?)^```",
    re.DOTALL | re.MULTILINE,
)


def printing_blocks() -> list[Any]:
    found = []
    for path in DOCS:
        for number, match in enumerate(PRINTS.finditer(path.read_text()), 1):
            found.append(pytest.param(match.group(1), match.group(2), id=f"{path.name}-{number}"))
    return found


@pytest.mark.parametrize(("source", "printed"), printing_blocks())
def test_block_prints_what_the_docs_say(source, printed, capsys):
    run_block(source)
    assert capsys.readouterr().out == printed


def test_docs_have_examples():
    assert len(blocks()) >= 6
    assert printing_blocks()


@pytest.mark.parametrize("source", blocks())
def test_block_runs(source):
    run_block(source)


async def test_readme_quick_start(aiohttp_client):
    source = BLOCK.search((ROOT / "README.md").read_text())
    assert source is not None
    app = run_block(source.group(1))["app"]
    assert isinstance(app, web.Application)
    client = await aiohttp_client(app)
    resp = await client.get("/api/hello", headers={"Origin": "https://app.example"})
    assert await resp.json() == {"hello": "world"}
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Request-Id"
    resp = await client.get("/api/hello", headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, x-anything",
    }
    resp = await client.options("/api/hello", headers=preflight)
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "AUTHORIZATION,X-ANYTHING"
    assert resp.headers["Access-Control-Max-Age"] == "3600"
