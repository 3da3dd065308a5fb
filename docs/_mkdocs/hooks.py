"""MkDocs hook: the site's home page is README.md, its changelog page CHANGELOG.md.

Both are generated at build time from the files at the repository root, never copied.

The README links with absolute URLs (PyPI shows it, where a relative link goes
nowhere): ``https://aio-libs.github.io/aiohttp-cors/guide/#options`` for a page of this
site, ``https://github.com/aio-libs/aiohttp-cors/blob/main/...`` for any other file.
On the site, each link to a page of the site becomes the relative link to its Markdown
source again (``guide.md#options``), so that the strict build checks it like any other
link: a page or an anchor that does not exist fails the build.

CHANGELOG.md links relatively from the repository root (``docs/guide.md``), which
works on GitHub; here those links are mapped the same way.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
#: Generated pages: their name in the site, the file they come from.
GENERATED = {"index.md": "README.md", "changelog.md": "CHANGELOG.md"}
#: What a relative link from the repository root to one of those files becomes.
ROOT_PAGES = {source: page for page, source in GENERATED.items()}

# A Markdown link's or image's target, ``](target)`` (with an optional title), and a
# reference definition, ``[name]: target``.
LINK = re.compile(r"(\]\()(<[^>]*>|[^)\s]+)((?:\s+\"[^\"]*\")?\))")
DEFINITION = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*)(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)


def site_page(url: str, site_url: str) -> str | None:
    """The Markdown source a URL of this site points to (``guide.md#options``), or
    ``None`` for a URL elsewhere."""
    if not url.startswith(site_url):
        return None
    path, hash_, anchor = url[len(site_url) :].partition("#")
    path = path.strip("/")
    if path.endswith(".html") or "?" in path:
        raise PluginError(f"{url}: link to pages of the site as {site_url}PAGE/")
    page = (path or "index") + ".md"
    return page + hash_ + anchor


def repository_target(target: str, blob_url: str) -> str:
    """What a link relative to the repository root becomes on the site."""
    path, hash_, anchor = target.partition("#")
    if not path:
        return target  # an anchor of the page itself
    posix = PurePosixPath(path)
    if path in ROOT_PAGES:
        return ROOT_PAGES[path] + hash_ + anchor
    if posix.parts[0] == "docs" and posix.suffix == ".md":
        return str(posix.relative_to("docs")) + hash_ + anchor
    if not (ROOT / path).exists():
        raise PluginError(f"link to {target}: no such file in the repository")
    return blob_url + path + hash_ + anchor


def map_target(target: str, site_url: str, blob_url: str) -> str:
    """A link target of README.md or CHANGELOG.md, as the site's page needs it."""
    bare = target[1:-1] if target.startswith("<") else target
    page = site_page(bare, site_url)
    if page is not None:
        return page
    if re.match(r"[a-z][a-z0-9+.-]*:", bare) or bare.startswith("/"):
        return target  # another site, mailto:, ...: as it is
    return repository_target(bare, blob_url)


def rewrite_links(markdown: str, site_url: str, blob_url: str) -> str:
    """*markdown* with every link target mapped by :func:`map_target` (code blocks kept)."""

    def prose(text: str) -> str:
        text = LINK.sub(
            lambda m: m[1] + map_target(m[2], site_url, blob_url) + m[3],
            text,
        )
        return DEFINITION.sub(lambda m: m[1] + map_target(m[2], site_url, blob_url), text)

    parts = []
    done = 0
    for block in FENCE.finditer(markdown):
        parts += [prose(markdown[done : block.start()]), block[0]]
        done = block.end()
    parts.append(prose(markdown[done:]))
    return "".join(parts)


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    """Add the generated pages."""
    site_url = config.site_url or ""
    blob_url = (config.repo_url or "").rstrip("/") + "/blob/main/"
    for page, source in GENERATED.items():
        if files.get_file_from_path(page) is not None:
            raise PluginError(f"docs/{page} is generated from {source}: remove it")
        content = rewrite_links((ROOT / source).read_text(encoding="utf-8"), site_url, blob_url)
        files.append(File.generated(config, page, content=content))
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any, **kwargs: Any) -> Any:
    """``mkdocs serve`` rebuilds when the sources of the generated pages or the
    docstrings change."""
    for path in [*GENERATED.values(), "aiohttp_cors"]:
        server.watch(str(ROOT / path))
    return server
