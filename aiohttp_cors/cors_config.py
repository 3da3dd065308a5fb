"""``CorsConfig``: route-mode CORS for one application."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, cast

from aiohttp import web

from . import _csrf
from ._config import CorsConfigError, Unsafe, compile_config, problems_in
from ._decision import debug_preflight, finish_actual, origin_not_allowed, preflight
from ._engine import PreflightAnswer, engine_of, logger, refuse
from ._headers import ACRH, ACRM, ORIGIN, PREFLIGHT_VARY
from ._origins import parse_origin
from ._policy import OriginPolicy, merged
from ._router import UrlDispatcherAdapter
from .abc import AbstractRouterAdapter
from .resource_options import Config, ResourceOptions, parse_options

__all__ = ("APP_CONFIG_KEY", "CorsConfig")

_T = TypeVar("_T")
_NO_CONFIG: Mapping[Any, ResourceOptions] = MappingProxyType({})


async def _resolved(config: Any) -> Mapping[str, ResourceOptions]:
    """A custom adapter's configuration, whether its method returned it or a coroutine."""
    if inspect.isawaitable(config):
        config = await config
    return cast(Mapping[str, ResourceOptions], config)


def _spelled(origin: Any) -> Any:
    """The key *origin* is kept under: its normalised form, if it parses."""
    if isinstance(origin, str) and origin not in ("*", "null"):
        return parse_origin(origin)[0] or origin
    return origin


class _Defaults(dict[str, ResourceOptions]):
    """The defaults mapping: validated on every change, which takes effect at once.
    Every operation takes any spelling of an origin (``HTTPS://App.Example:443``)."""

    __slots__ = ("_changed",)

    def __init__(self, config: Mapping[str, ResourceOptions], changed: Any) -> None:
        super().__init__(config)
        self._changed = changed

    def __getitem__(self, origin: str) -> ResourceOptions:
        return super().__getitem__(_spelled(origin))

    def __contains__(self, origin: object) -> bool:
        return super().__contains__(_spelled(origin))

    def get(self, origin: str, default: Any = None) -> Any:
        return super().get(_spelled(origin), default)

    def __setitem__(self, origin: str, options: Any) -> None:
        ((key, parsed),) = compile_config({origin: options}).items()  # normalised
        super().__setitem__(key, parsed)
        self._changed()

    def __delitem__(self, origin: str) -> None:
        super().__delitem__(_spelled(origin))
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(compile_config(dict(*args, **kwargs)))
        self._changed()

    def __ior__(self, other: Any) -> _Defaults:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, origin: str, options: Any = None) -> ResourceOptions:
        ((key, parsed),) = compile_config({origin: parse_options(options)}).items()
        if key not in self:
            self[key] = parsed
        return self[key]

    def pop(self, origin: str, *default: Any) -> Any:
        result = super().pop(_spelled(origin), *default)
        self._changed()
        return result

    def popitem(self) -> tuple[str, ResourceOptions]:
        result = super().popitem()
        self._changed()
        return result

    def clear(self) -> None:
        super().clear()
        self._changed()


class CorsConfig:
    """CORS configuration of an application, route by route.

    ``defaults`` apply to every resource added with :meth:`add`, below the
    configuration given there.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        defaults: Config | None = None,
        router_adapter: AbstractRouterAdapter | None = None,
        csrf_protection: bool | None = None,
        csrf_exempt_prefixes: Iterable[str] = (),
        debug: bool | None = None,
        strict: bool = False,
        unsafe: Unsafe = Unsafe.NONE,
    ) -> None:
        _check_debug(debug)
        self._strict = strict
        self._unsafe = unsafe
        if router_adapter is not None and (csrf_protection is not None or csrf_exempt_prefixes):
            raise CorsConfigError(
                [
                    "csrf_protection needs the built-in router adapter: "
                    "leave router_adapter out, or protect the routes yourself"
                ]
            )
        if router_adapter is None:
            engine = engine_of(app)
            problems = _csrf.configure(engine, csrf_protection, csrf_exempt_prefixes, "setup()")
            if problems:
                raise CorsConfigError(problems)
            if csrf_protection and not engine.routing_guarded:
                _csrf.guard_routing(engine)
                engine.routing_guarded = True
        self._app = app
        self._defaults = _Defaults(self._compiled(defaults, "defaults"), self._defaults_changed)
        self._builtin: UrlDispatcherAdapter | None = None
        self._router_adapter = router_adapter
        self._debug = False
        if router_adapter is None:
            self._builtin = UrlDispatcherAdapter(app, self._defaults)
        else:
            app.on_response_prepare.append(self._on_response_prepare)
        if debug is not None:
            self.debug = debug

    @property
    def debug(self) -> bool:
        """Debug mode: a refused request says why in ``X-CORS-Error``, and a preflight
        refused for its method or a request header is answered so that the browser's
        console names it (docs/debugging.md). Switchable while serving."""
        return engine_of(self._app).debug if self._builtin is not None else self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise CorsConfigError([f"debug={value!r}: give True or False"])
        if self._builtin is not None:
            engine_of(self._app).set_debug(value)
        self._debug = value

    @property
    def defaults(self) -> dict[str, ResourceOptions]:
        """Origin -> options used where ``add`` was given no entry for an origin."""
        return self._defaults

    @defaults.setter
    def defaults(self, config: Config | None) -> None:
        self._defaults = _Defaults(self._compiled(config, "defaults"), self._defaults_changed)
        self._defaults_changed()

    def _defaults_changed(self) -> None:
        if self._builtin is not None:
            self._builtin.set_defaults(self._defaults)

    def _compiled(self, config: Config | None, where: str) -> dict[Any, ResourceOptions]:
        """*config* compiled: with ``strict``, every problem an error as in ``enable()``;
        without, 0.8.1's errors, and a WARNING for each other problem, in the same words."""
        if self._strict:
            return compile_config(config, strict=True, unsafe=self._unsafe)
        compiled = compile_config(config)
        for problem in problems_in(config, self._unsafe):
            logger.warning(
                "CORS configuration (%s): %s (setup(..., strict=True) makes this an error)",
                where,
                problem,
            )
        return compiled

    def csrf_exempt(self, routing_entity: _T) -> _T:
        """Let cross-site pages send unsafe requests to this route or resource (a payment
        callback, a webhook checked by its signature): the write guard skips it."""
        _csrf.exempt_entity(engine_of(self._app), routing_entity)
        return routing_entity

    def add(self, routing_entity: _T, config: Config | None = None, webview: bool = False) -> _T:
        """Enable CORS on a resource, a static resource or a route, and return it.

        *config* (origin -> options) is validated before anything changes, and
        takes precedence over the defaults.
        """
        if webview:
            warnings.warn(
                "the 'webview' argument of CorsConfig.add() is deprecated and ignored: "
                "class-based views are recognised automatically",
                DeprecationWarning,
                stacklevel=2,
            )
        where = f"add({_shown(routing_entity)})"
        parsed = self._compiled(config, where) if config is not None else _NO_CONFIG
        if self._builtin is not None:
            self._builtin.add(routing_entity, parsed)
        else:
            assert self._router_adapter is not None
            self._router_adapter.add_preflight_handler(
                routing_entity, self._preflight_handler, webview=webview
            )
            self._router_adapter.set_config_for_routing_entity(routing_entity, parsed)
        return routing_entity

    # With a custom router adapter the adapter is asked on every request.

    async def _preflight_handler(self, request: web.Request) -> web.StreamResponse:
        assert self._router_adapter is not None
        headers = request.headers
        origin = headers.get(ORIGIN)
        method = headers.get(ACRM)
        if origin is None or method is None:
            raise web.HTTPMethodNotAllowed(request.method, ())
        config = await _resolved(
            self._router_adapter.get_preflight_request_config(request, origin, method)
        )
        policy = OriginPolicy(merged(config, self._defaults))
        options = await policy.options_for(origin, request)
        if options is None:
            answer: list[tuple[str, str]] | str = origin_not_allowed(origin, policy.empty)
        else:
            # The adapter answered for the requested method: allow_methods=None allows it.
            served = (method,) if config else ()
            lines = headers.getall(ACRH, [])
            answer = preflight(options, origin, method, lines, served, PREFLIGHT_VARY)
        if isinstance(answer, str):
            shown = None
            if self._debug:
                served = (method,) if config else ()
                lines = headers.getall(ACRH, [])
                shown = debug_preflight(options, origin, method, served, answer, lines)
            return refuse(request, answer, shown=shown)
        return PreflightAnswer(headers=answer)

    async def _on_response_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        adapter = self._router_adapter
        assert adapter is not None
        if not adapter.is_cors_enabled_on_request(request) or adapter.is_preflight_request(request):
            return
        config = await _resolved(adapter.get_non_preflight_request_config(request))
        policy = OriginPolicy(merged(config, self._defaults))
        origin = request.headers.get(ORIGIN)
        options = None if origin is None else await policy.options_for(origin, request)
        finish_actual(options, origin, response.headers)


def _shown(routing_entity: object) -> str:
    """A route or resource as a developer wrote it: ``GET /items/{id}``."""
    route = routing_entity if isinstance(routing_entity, web.AbstractRoute) else None
    resource = route.resource if route is not None else routing_entity
    path = getattr(resource, "canonical", None)
    if path is None:
        return repr(routing_entity)
    return f"{route.method} {path}" if route is not None else path


def _check_debug(value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise CorsConfigError([f"debug={value!r}: give True or False"])


#: Where ``setup`` stores the application's ``CorsConfig``.
APP_CONFIG_KEY = web.AppKey("aiohttp_cors", CorsConfig)
