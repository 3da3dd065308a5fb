"""Every Python block of the README and docs/ runs, and the quick start does what it says."""

from __future__ import annotations

import re
import sys
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


# -- the documentation site (mkdocs.yml) and the README's links to it ----------------

MKDOCS_YML = (ROOT / "mkdocs.yml").read_text()
SITE_URL = re.findall(r"^site_url: *(\S+)$", MKDOCS_YML, re.MULTILINE)[0]
BLOB_URL = "https://github.com/aio-libs/aiohttp-cors/blob/main/"
#: Pages of the site generated from files at the repository root (docs/_mkdocs/hooks.py).
GENERATED = {"index": ROOT / "README.md", "changelog": ROOT / "CHANGELOG.md"}
FENCED = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)
LINK_TARGET = re.compile(r"\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)|^ {0,3}\[[^\]]+\]:\s*(\S+)", re.M)


def prose(markdown: str) -> str:
    """*markdown* without its fenced code blocks."""
    return FENCED.sub("", markdown)


def link_targets(path: Path) -> list[str]:
    """Every link (and image) target of a Markdown file, code blocks left out."""
    return [a or b for a, b in LINK_TARGET.findall(prose(path.read_text()))]


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown page's headings, as the site and GitHub make them:
    markup dropped, lower case, punctuation removed, each space a "-" (mkdocs.yml's
    toc slugify); a repeated one gets "_1", "_2", ... as on the site."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", prose(path.read_text()), re.M):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        unique, number = slug, 0
        while unique in found:
            number += 1
            unique = f"{slug}_{number}"
        found.add(unique)
    return found


def site_page(url: str) -> tuple[Path, str]:
    """The Markdown source of a URL of the docs site, and the anchor it names."""
    path, _, anchor = url[len(SITE_URL) :].partition("#")
    assert path == "" or path.endswith("/"), f"{url}: a page's URL ends with /"
    name = path.rstrip("/") or "index"
    source = GENERATED.get(name, ROOT / "docs" / f"{name}.md")
    assert "/" not in name and source.is_file(), f"{url}: no such page ({source})"
    return source, anchor


def test_readme_links_are_absolute():
    # PyPI shows the README: a relative link there leads nowhere.
    targets = link_targets(ROOT / "README.md")
    assert len(targets) > 20
    relative = [t for t in targets if not re.match(r"https?://", t)]
    assert not relative, f"README.md: use {SITE_URL}PAGE/ or {BLOB_URL}PATH: {relative}"


@pytest.mark.parametrize(
    "url", sorted({t for t in link_targets(ROOT / "README.md") if t.startswith(SITE_URL)})
)
def test_readme_link_to_the_site_names_a_page(url):
    source, anchor = site_page(url)
    if anchor:
        assert anchor in anchors(source), f"{url}: no heading '{anchor}' in {source.name}"


def github_links() -> list[Any]:
    found = []
    for path in [*DOCS, ROOT / "CHANGELOG.md"]:
        for target in link_targets(path):
            if target.startswith(BLOB_URL):
                found.append(pytest.param(target, id=f"{path.name}:{target[len(BLOB_URL) :]}"))
    return found


@pytest.mark.parametrize("url", github_links())
def test_github_link_names_a_file(url):
    path = url[len(BLOB_URL) :].partition("#")[0]
    assert (ROOT / path).exists(), f"{url}: no {path} in the repository"


def test_site_build_is_strict():
    # Any warning fails the build, and these are warnings: a link to a missing page or
    # anchor (the README's links included: docs/_mkdocs/hooks.py maps them back to
    # pages), a link out of docs/, a page left out of the nav.
    assert re.search(r"^strict: true$", MKDOCS_YML, re.MULTILINE)
    validation = MKDOCS_YML.split("\nvalidation:\n", 1)[1].split("\n\n", 1)[0]
    for setting in ["omitted_files", "not_found", "anchors", "unrecognized_links"]:
        assert re.search(rf"^ +{setting}: warn$", validation, re.MULTILINE), setting


def test_every_page_is_in_the_nav():
    listed = re.findall(r"^\s*- [^:\n]+: (\S+\.md)$", MKDOCS_YML, re.MULTILINE)
    pages = {path.name for path in (ROOT / "docs").glob("*.md")}
    assert sorted(listed) == sorted(pages | {f"{name}.md" for name in GENERATED})
    assert listed[0] == "index.md"


def test_docs_url_is_pyproject_documentation_url():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib: Python 3.11+")
    import tomllib

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Documentation"] == SITE_URL
    assert urls["Changelog"] == SITE_URL + "changelog/"
    repo = re.search(r"^repo_url: *(\S+)$", MKDOCS_YML, re.MULTILINE)
    assert repo is not None
    assert urls["Source"] == repo.group(1)
    assert urls["Source"] + "/blob/main/" == BLOB_URL


def test_guide_has_the_request_diagram():
    # A mermaid block: GitHub and the site draw it; it is not Python, so not run above.
    guide = (ROOT / "docs" / "guide.md").read_text()
    diagram = re.search(r"^```mermaid\n(.*?)^```", guide, re.DOTALL | re.MULTILINE)
    assert diagram is not None
    assert "flowchart" in diagram.group(1)
    for said in ["Allow-Origin", "Allow-Credentials", "Allow-Methods", "Allow-Headers"]:
        assert said in diagram.group(1)
    for said in ["Max-Age", "Expose-Headers", "Vary: Origin", "X-CORS-Error", "403"]:
        assert said in diagram.group(1)
    assert all("flowchart" not in block for block in (p.values[0] for p in blocks()))
