"""``python -m aiohttp_cors audit MODULE:ATTR``: which origins may read each route.

The application is loaded as ``python -m aiohttp.web`` loads one (an ``Application``,
or a function returning one, sync or async, called without arguments) and never
served. For every route and method the router knows, the engine itself says which
scope decides its responses (the lookups a request there goes through: route mode's
resources, app-wide overrides, sub-applications), and the row shows that scope's
policy: origins and patterns, and the options each gets; for a method that needs a
preflight, only those whose preflight the engine's own method check lets through, and
where the write guard is on, only those it lets write.
The audit decides nothing of its own.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from aiohttp import hdrs, web
from aiohttp.test_utils import make_mocked_request

from . import _csrf
from ._app import adopt_views
from ._config import _public_suffixes
from ._decision import method_allowed
from ._engine import EXCLUDED, SAFE_METHODS, Engine, engines, installed
from ._origins import OriginPattern
from .model import SAFELISTED_METHODS
from .resource_options import ResourceOptions

EXIT_CLEAN = 0
EXIT_WARNINGS = 1
EXIT_ERROR = 2

#: Methods listed for a route of any method (``add_route("*", ...)``) with a plain handler.
_ANY_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Origin:
    """One configuration key of a route's policy, and the options it gives."""

    origin: str
    #: exact, null, any ("*"), subdomains, any-port, regex, predicate, store.
    kind: str
    credentials: bool
    expose_headers: list[str] | str
    allow_headers: list[str] | str
    #: ``None``: the methods the route serves.
    allow_methods: list[str] | str | None
    max_age: int | None


@dataclass
class Row:
    """One route and method."""

    path: str
    #: The host rule of a sub-application mounted by domain, else ``None``.
    host: str | None
    method: str
    #: route, app-wide, excluded or none.
    mode: str
    origins: list[Origin] = field(default_factory=list)
    #: For an unsafe method: on, off or exempt; ``None`` for a safe one.
    csrf: str | None = None
    warnings: list[str] = field(default_factory=list)


def _kind(key: Any) -> str:
    if key == "*":
        return "any"
    if key == "null":
        return "null"
    if isinstance(key, re.Pattern):
        return "regex"
    if isinstance(key, OriginPattern) and key.subdomains:
        return "subdomains"
    if isinstance(key, OriginPattern) and key.any_port:
        return "any-port"
    if isinstance(key, str):
        return "exact"
    return "store" if type(key).__name__ == "CachedOrigins" else "predicate"


def _shown(key: Any) -> str:
    if isinstance(key, re.Pattern):
        return f"re:{key.pattern}"
    if isinstance(key, str):
        return key
    return getattr(key, "__qualname__", None) or repr(key)


def _names(value: str | frozenset[str]) -> list[str] | str:
    return value if isinstance(value, str) else sorted(value)


def _origin(key: Any, options: ResourceOptions) -> Origin:
    methods = options.allow_methods
    return Origin(
        origin=_shown(key),
        kind=_kind(key),
        credentials=options.allow_credentials,
        expose_headers=_names(options.expose_headers),
        allow_headers=_names(options.allow_headers),
        allow_methods=None if methods is None else _names(methods),
        max_age=options.max_age,
    )


def _routes(
    app: web.Application, apps: tuple[web.Application, ...], host: str | None
) -> Iterator[tuple[tuple[web.Application, ...], str | None, web.AbstractRoute]]:
    """Every route of *app* and of its sub-applications, with its application chain."""
    for resource in app.router.resources():
        info = resource.get_info()
        subapp = info.get("app")
        if isinstance(subapp, web.Application):
            domain = getattr(info.get("rule"), "canonical", None)
            yield from _routes(subapp, (*apps, subapp), domain or host)
            continue
        for route in resource:
            if not installed(route):
                yield apps, host, route


def _methods(route: web.AbstractRoute, engine: Engine | None) -> list[str]:
    if route.method != hdrs.METH_ANY:
        return [route.method]
    handler = route.handler
    if isinstance(handler, type) and issubclass(handler, web.View):
        return sorted(engine._view_methods(handler) if engine else ())
    return list(_ANY_METHODS)


def audit(app: web.Application) -> list[Row]:
    """One row per route and method of *app* (sub-applications included)."""
    adopt_views(app)  # what start-up does with CorsViewMixin views under enable()
    rows = []
    for apps, host, route in _routes(app, (app,), None):
        resource = route.resource
        chain = engines(apps)
        engine = chain[-1] if chain else None
        path = resource.canonical if resource is not None else "?"
        for method in _methods(route, engine):
            row = Row(path, host, method, "none")
            rows.append(row)
            if engine is None or resource is None:
                continue
            request = make_mocked_request(method, path, app=apps[-1])
            configured = engine.configured_method(route, method)
            target = (apps, resource, configured or method, bool(configured))
            try:
                scope = engine.actual_scope(request, target)
            except Exception as error:  # a view deciding per request, on a real one
                row.mode = "route"
                row.warnings.append(f"decided per request ({type(error).__name__}): not shown")
                continue
            if any(resource in each.routes for each in chain):
                row.mode = "route"
            elif scope is EXCLUDED:
                row.mode = "excluded"
            elif scope is not None:
                row.mode = "app-wide"
            if scope is not None and scope is not EXCLUDED:
                policy = scope.policy.as_config()
                if method not in SAFELISTED_METHODS:  # its preflight must pass too
                    preflight = engine.scope(request, target, preflight=True)
                    policy = {
                        key: options
                        for key, options in policy.items()
                        if _preflight_passes(preflight, key, method)
                    }
                if method not in SAFE_METHODS:
                    row.csrf = _csrf_state(apps, route, scope)
                if row.csrf == "on":  # the write guard lets these origins through
                    policy = {k: o for k, o in policy.items() if _csrf.writes(o, method)}
                row.origins = [_origin(key, options) for key, options in policy.items()]
            elif method not in SAFE_METHODS:
                row.csrf = _csrf_state(apps, route, scope)
            if any(each.debug for each in chain) and row.mode != "none":
                row.warnings.append(
                    "debug mode is on: refusals tell any page what is allowed (not for production)"
                )
    _warn(rows)
    return rows


def _preflight_passes(scope: Any, key: Any, method: str) -> bool:
    """Whether a preflight for *method* from the origins of *key* passes under *scope*
    (the engine's method check). The engine decides a preflight with the same scope as
    the actual request, or with none (a method a view does not implement)."""
    options = None if scope is None else scope.policy.as_config().get(key)
    return options is not None and method_allowed(options, method, scope.methods)


def _csrf_state(apps: Sequence[web.Application], route: web.AbstractRoute, scope: Any) -> str:
    """What the write guard does for an unsafe method of *route*: as ``_csrf`` decides."""
    level = _csrf.deciding(apps)
    if level is None:
        return "off"
    if _csrf.exempt(apps[level:], route):
        return "exempt"
    return "on" if scope is not None else "off"


def _warn(rows: list[Row]) -> None:
    guarded = any(row.csrf == "on" for row in rows)
    for row in rows:
        for origin in row.origins:
            if not origin.credentials:
                continue
            if origin.kind in ("subdomains", "any-port", "regex", "predicate"):
                row.warnings.append(
                    f"credentials for a {origin.kind} ({origin.origin}): every origin it "
                    "admits reads credentialed answers; list the origins you trust"
                )
            if origin.kind == "any" and row.mode == "route":
                row.warnings.append(
                    "'*' with credentials: route mode echoes any origin with "
                    "Access-Control-Allow-Credentials: every site reads credentialed answers"
                )
        for origin in row.origins:
            if origin.kind == "subdomains":
                parent = origin.origin.split("*.", 1)[1].split(":", 1)[0]
                if _public_suffixes().is_public(parent):
                    row.warnings.append(
                        f"{origin.origin} is a wildcard on '{parent}', a public suffix where "
                        "anyone can register a host"
                    )
            if origin.kind == "null":
                row.warnings.append(
                    "'null' is allowed: any page can send Origin: null (sandboxed frames, "
                    "file: URLs)"
                )
        if guarded and row.csrf == "off":
            row.warnings.append(
                f"cross-origin write protection is off for {row.method}, on elsewhere"
            )


def _cell(values: list[str] | str | None, none: str = "-") -> str:
    if values is None:
        return none
    if isinstance(values, str):
        return values
    return ", ".join(values) or "-"


def render(rows: list[Row], out: TextIO) -> None:
    """The rows as a text table, warnings under their row."""
    header = ["PATH", "METHOD", "MODE", "CSRF", "ORIGIN", "CRED", "EXPOSE", "HEADERS", "MAX-AGE"]
    lines: list[list[str]] = []
    notes: dict[int, list[str]] = {}
    for row in rows:
        path = row.path if row.host is None else f"{row.host}{row.path}"
        first = [path, row.method, row.mode, row.csrf or "-"]
        if not row.origins:
            lines.append([*first, "-", "", "", "", ""])
        for number, origin in enumerate(row.origins):
            lead = first if number == 0 else ["", "", "", ""]
            lines.append(
                [
                    *lead,
                    origin.origin,
                    "yes" if origin.credentials else "no",
                    _cell(origin.expose_headers),
                    _cell(origin.allow_headers),
                    "-" if origin.max_age is None else str(origin.max_age),
                ]
            )
        if row.warnings:
            notes[len(lines) - 1] = row.warnings
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def show(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    print(show(header), file=out)
    for index, line in enumerate(lines):
        print(show(line), file=out)
        for note in notes.get(index, ()):
            print(f"    warning: {note}", file=out)
    count = sum(len(row.warnings) for row in rows)
    print(f"{len(rows)} routes and methods, {count} warning{'s' if count != 1 else ''}", file=out)


def as_json(rows: list[Row]) -> dict[str, Any]:
    """The rows as the JSON document ``--json`` prints (docs/audit.md)."""
    return {
        "routes": [asdict(row) for row in rows],
        "warnings": sum(len(row.warnings) for row in rows),
    }


def load(target: str) -> web.Application:
    """The application *target* (``module:attr``) names, as ``python -m aiohttp.web``
    finds one: the attribute itself, or what calling it returns (awaited if need be)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{target!r}: give MODULE:ATTR, such as 'myapp.main:create_app'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    try:
        found = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not isinstance(found, web.Application):
        if not callable(found):
            raise ValueError(f"{target!r} is neither an Application nor a function")
        found = found()
        if inspect.isawaitable(found):
            found = asyncio.run(_awaited(found))
    if not isinstance(found, web.Application):
        raise ValueError(f"{target!r} gave {found!r}, not an aiohttp Application")
    return found


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def run(target: str, as_json_output: bool, fail_on: str | None, out: TextIO) -> int:
    """The ``audit`` command: print the table (or JSON); the exit status."""
    app = load(target)
    rows = audit(app)
    if as_json_output:
        json.dump(as_json(rows), out, indent=2)
        print(file=out)
    else:
        render(rows, out)
    warned = any(row.warnings for row in rows)
    return EXIT_WARNINGS if fail_on == "warning" and warned else EXIT_CLEAN
