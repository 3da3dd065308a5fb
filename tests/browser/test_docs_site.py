"""The documentation site: built strictly with MkDocs, then read in Chromium.

The site is built once per run (``mkdocs build --strict`` into a temporary directory)
and served over loopback. The tests are marked ``browser`` with the rest of the suite's
browser tests, so that they run where those do (the newest aiohttp's venv, which has
the ``docs`` extra). mkdocs is looked for in ``AIOHTTP_CORS_MKDOCS``, next to the
running Python, then in ``.venv-docs``; without it they skip with a message on a
developer machine and fail with ``CI=true``, as a missing Chromium does.

Offline: Material would load Mermaid from a CDN to draw the guide's diagram. Nothing
leaves the machine here (requests to other hosts are aborted), so the tests check that
the diagram's source reached the page as a mermaid block, not the drawing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

import aiohttp_cors

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
MKDOCS_YML = (ROOT / "mkdocs.yml").read_text()
#: The nav's pages: (title, Markdown source), in order.
NAV = re.findall(r"^\s*- ([^:\n]+): (\S+\.md)$", MKDOCS_YML, re.MULTILINE)


def find_mkdocs() -> tuple[Path | None, str]:
    """The mkdocs executable to build with, or why there is none."""
    named = os.environ.get("AIOHTTP_CORS_MKDOCS")
    if named:
        found = Path(named)
        return (
            (found, "") if found.is_file() else (None, f"AIOHTTP_CORS_MKDOCS={named}: no such file")
        )
    for candidate in (Path(sys.executable).parent / "mkdocs", ROOT / ".venv-docs/bin/mkdocs"):
        if candidate.is_file():
            return candidate, ""
    return None, 'mkdocs not found (pip install -e ".[docs]", or AIOHTTP_CORS_MKDOCS=path)'


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly: any warning fails the build."""
    mkdocs, reason = find_mkdocs()
    if mkdocs is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the docs site must be built in CI: {reason}")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "WARNING" not in said, said
    return out


@pytest.fixture
async def site(built: Path) -> AsyncIterator[str]:
    """The built site on a loopback port: its base URL."""

    async def serve(request: web.Request) -> web.StreamResponse:
        path = (built / request.match_info["path"]).resolve()
        if not path.is_relative_to(built):
            raise web.HTTPNotFound()
        if path.is_dir():
            if not request.path.endswith("/"):
                raise web.HTTPMovedPermanently(request.path + "/")
            path /= "index.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = unused_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def open_page(browser: Any, base: str, path: str) -> Any:
    """A new page at *base* + *path*; requests to any other host are aborted."""
    page = await browser.new_page()

    async def offline(route: Any) -> None:
        if route.request.url.startswith(base):
            await route.continue_()
        else:
            await route.abort()

    await page.route("**/*", offline)
    response = await page.goto(base + path)
    assert response is not None
    assert response.status == 200
    return page


async def nav_titles(page: Any) -> list[str]:
    """The titles of the pages the primary navigation links to."""
    return await page.eval_on_selector_all(
        "nav.md-nav--primary a.md-nav__link[href]",
        "links => links.map(a => a.textContent.trim())",
    )


async def test_home_page_is_the_readme(browser, site):
    page = await open_page(browser, site, "")
    assert (await page.inner_text("article h1")).rstrip("¶") == "aiohttp_cors"
    codes = await page.eval_on_selector_all("pre > code", "codes => codes.map(c => c.innerText)")
    assert any("aiohttp_cors.setup(" in code for code in codes)
    assert any("aiohttp_cors.enable(" in code for code in codes)
    titles = await nav_titles(page)
    for title, _ in NAV:
        assert title in titles, f"{title} is not in the navigation: {titles}"
    # Material's copy button on code blocks (its class changed in 9.7), the light/dark toggle.
    copy = "button[data-md-type=copy], button.md-clipboard"
    await page.wait_for_selector(copy, state="attached", timeout=10000)
    assert await page.locator("form[data-md-component=palette] label").count() >= 1
    # The README's links to the site are links to the site's own pages here.
    hrefs = await page.eval_on_selector_all("article a[href]", "as => as.map(a => a.href)")
    assert site + "guide/" in hrefs
    assert site + "origins/#origins-from-a-database-cachedorigins" in hrefs
    assert not [href for href in hrefs if href.startswith("https://aio-libs.github.io/")]
    await page.close()


async def test_search_works_offline(browser, site):
    page = await open_page(browser, site, "")
    search = page.locator("input.md-search__input")
    assert await search.count() == 1
    await search.click()
    await search.press_sequentially("preflight", delay=20)  # it searches on keystrokes
    await page.wait_for_selector(".md-search-result__item", timeout=15000)
    assert await page.locator(".md-search-result__item").count() >= 1
    await page.close()


async def test_api_page(browser, site):
    page = await open_page(browser, site, "api/")
    assert (await page.inner_text("article h1")).rstrip("¶") == "API reference"
    signatures = await page.eval_on_selector_all(
        ".doc-signature pre > code", "codes => codes.map(c => c.innerText)"
    )
    assert any(code.startswith("setup(") for code in signatures), signatures[:5]
    assert any(code.startswith("enable(") for code in signatures), signatures[:5]
    ids = await page.eval_on_selector_all("[id]", "elements => elements.map(e => e.id)")
    for name in aiohttp_cors.__all__:
        assert f"aiohttp_cors.{name}" in ids
    assert "API reference" in await nav_titles(page)
    await page.close()


def test_api_page_names_everything_public(built):
    html = (built / "api" / "index.html").read_text()
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    missing = [name for name in aiohttp_cors.__all__ if f"aiohttp_cors.{name}" not in ids]
    assert not missing, f"not on the API page: {missing}"
    from aiohttp_cors import model, testing

    for module in (testing, model):
        for name in module.__all__:
            assert f"{module.__name__}.{name}" in ids
    # Docstrings are Markdown there: no reStructuredText role or "::" left.
    text = re.sub(r"<[^>]+>", "", html)
    assert not re.search(r":(func|class|attr|meth|mod):`", text)
    assert "::\n" not in text


def test_every_page_was_built(built):
    for _, source in NAV:
        name = source.removesuffix(".md")
        assert (built / ("" if name == "index" else name) / "index.html").is_file(), source


def test_guide_diagram_reached_the_page(built):
    html = (built / "guide" / "index.html").read_text()
    diagram = re.search(r'<pre class="mermaid"><code>(.*?)</code></pre>', html, re.DOTALL)
    assert diagram is not None
    assert "flowchart TD" in diagram.group(1)
    assert "X-CORS-Error" in diagram.group(1)


def test_changelog_page_is_the_changelog(built):
    html = (built / "changelog" / "index.html").read_text()
    first = re.search(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert first is not None
    assert re.sub(r"[`*]", "", first.group(1)) in re.sub(r"<[^>]+>", "", html)
