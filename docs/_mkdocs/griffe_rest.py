"""Griffe extension: the package's docstrings, written for Sphinx, as Markdown.

mkdocstrings renders a docstring as Markdown. The package's docstrings use three
reStructuredText forms that Markdown does not know; this extension rewrites them once
the package is loaded (the source files are not touched):

- a role, ``:func:`enable``` or ``:attr:`CorsConfig.debug```: a link to the name's
  entry on the API page when it has one, else the name as code;
- a literal block, a paragraph ending in ``::`` followed by an indented block: a
  fenced Python block;
- a docs page named in the text, ``docs/guide.md``: a link to it;
- an attribute documented by ``#:`` comments (above it, or after it on its line): those
  comments become its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|attr|meth|mod|data|exc|obj|const):`(~?)([\w.]+)`")
LITERAL = re.compile(r"^(?P<text>.*?)(?P<colons> ?::)\n\n(?P<block>(?:(?:[ \t]+.*)?\n)+)", re.M)
DOCS = Path(__file__).resolve().parents[1]
PAGE = re.compile(r"(?<![`/\w])docs/([\w-]+)\.md\b")
# The public modules that the API page renders besides the package itself.
PUBLIC_MODULES = ("testing", "model", "abc")


def hidden(name: str) -> bool:
    """Whether the API page leaves the member *name* out (mkdocs.yml's filters)."""
    return re.match(r"_[^_]", name) is not None or name == "__all__"


def objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    """*obj* and everything it defines, aliases left out."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from objects(member)  # type: ignore[arg-type]


class RestInline(griffe.Extension):
    """See the module's docstring."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "aiohttp_cors":
            return
        self.pkg = pkg
        self.public = self.public_paths(pkg)
        for obj in objects(pkg):
            if obj.is_attribute and obj.docstring is None:
                self.comment_docstring(obj)  # type: ignore[arg-type]
            if obj.docstring is not None:
                text = self.markdown(obj.docstring.value, obj)
                if text != obj.docstring.value:
                    old = obj.docstring
                    obj.docstring = griffe.Docstring(
                        text,
                        lineno=old.lineno,
                        endlineno=old.endlineno,
                        parent=obj,
                        parser=old.parser,
                        parser_options=old.parser_options,
                    )

    # griffe before 1.14 names the same event so.
    on_package_loaded = on_package

    @staticmethod
    def public_paths(pkg: griffe.Module) -> dict[str, str]:
        """Where each object the API page renders lives -> the name it has there."""
        public: dict[str, str] = {}

        def add(obj: griffe.Object | griffe.Alias, path: str) -> None:
            target = obj.final_target if isinstance(obj, griffe.Alias) else obj
            public[target.path] = path
            if target.is_class:
                for name, member in target.members.items():
                    if not member.is_alias and not hidden(name):
                        public[member.path] = f"{path}.{name}"

        for name in map(str, pkg.exports or ()):
            add(pkg[name], f"{pkg.name}.{name}")
        for module_name in PUBLIC_MODULES:
            module = pkg[module_name]
            public[module.path] = module.path
            for name in map(str, module.exports or ()):
                add(module[name], f"{module.path}.{name}")
        return public

    def target(self, name: str, obj: griffe.Object) -> str | None:
        """The API page's identifier of *name* as a docstring of *obj* writes it."""
        first, _, rest = name.lstrip(".").partition(".")
        if name.startswith(".") or first == self.pkg.name:
            path = name.lstrip(".")
            path = path if first == self.pkg.name else f"{obj.module.path}.{path}"
        else:
            try:
                path = obj.resolve(first) + ("." + rest if rest else "")
            except griffe.NameResolutionError:
                return None
        try:
            found = self.pkg[path.removeprefix(self.pkg.name + ".")] if "." in path else self.pkg
        except (KeyError, griffe.AliasResolutionError):
            return None
        if isinstance(found, griffe.Alias):
            try:
                found = found.final_target
            except griffe.AliasResolutionError:
                return None
        return self.public.get(found.path)

    def markdown(self, text: str, obj: griffe.Object) -> str:
        """*text*'s roles and literal blocks in Markdown."""

        def role(match: re.Match[str]) -> str:
            short, name = match[1], match[2]
            shown = f"`{name.rsplit('.', 1)[-1] if short else name.lstrip('.')}`"
            identifier = self.target(name, obj)
            return shown if identifier is None else f"[{shown}][{identifier}]"

        def literal(match: re.Match[str]) -> str:
            lines = match["block"].rstrip("\n").split("\n")
            indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
            code = "\n".join(line[indent:] for line in lines)
            head = match["text"] + (":" if match["text"].strip() else "")
            return f"{head}\n\n```python\n{code}\n```\n\n"

        def page(match: re.Match[str]) -> str:
            exists = (DOCS / f"{match[1]}.md").is_file()
            return f"[{match[0]}]({match[1]}.md)" if exists else match[0]

        text = PAGE.sub(page, ROLE.sub(role, text + "\n"))
        return LITERAL.sub(literal, text).rstrip("\n")

    @staticmethod
    def comment_docstring(attr: griffe.Attribute) -> None:
        """Give *attr* the ``#:`` comments that document it, as its docstring."""
        if attr.lineno is None or attr.filepath is None:
            return
        try:
            lines = attr.lines_collection[attr.filepath]  # type: ignore[index]
        except KeyError:
            return
        comments: list[str] = []
        number = attr.lineno - 2  # the line above, counted from 0
        while number >= 0 and lines[number].strip().startswith("#:"):
            comments.insert(0, lines[number].strip()[2:].strip())
            number -= 1
        if not comments:
            _, found, after = lines[attr.lineno - 1].partition("  #: ")
            if found:
                comments = [after.strip()]
        if comments:
            attr.docstring = griffe.Docstring(
                "\n".join(comments), lineno=number + 2, endlineno=attr.lineno - 1, parent=attr
            )
