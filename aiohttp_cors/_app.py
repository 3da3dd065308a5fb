"""App-wide mode: CORS for every route of an application, in one call.

A middleware, first in the application's list, answers preflights before any
other middleware runs (an authentication middleware never sees one); the
engine's ``on_response_prepare`` hook puts CORS headers on every other response,
aiohttp's own 404/405 and the 500 of an unhandled exception included. At
start-up every resource without an ``OPTIONS`` route gets one (where that takes
no ``OPTIONS`` request away from a handler of the application), so that a
preflight is routed like any request instead of through aiohttp's 405.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar

from aiohttp import hdrs, web

from . import _csrf
from ._config import CorsConfigError, Unsafe, compile_config
from ._decision import logged, printable
from ._engine import (
    ENGINE_KEY,
    EXCLUDED,
    SAFE_METHODS,
    Engine,
    Everything,
    Handler,
    Scope,
    describe,
    engine_of,
    installed,
    logger,
    view_methods,
)
from ._headers import ACRM, ORIGIN
from ._origins import OriginKey
from ._policy import OriginPolicy, merged
from ._router import _asks_per_request
from .mixin import CorsViewMixin, method_config
from .resource_options import Config, ResourceOptions

__all__ = ("APP_CORS_KEY", "AppCors", "enable")

_T = TypeVar("_T")
_EXCLUDE: Final = "exclude"
#: What an override names: (resource, method or None), or id() of a sub-application.
_Key = Any

#: Prefix of the text of every WebSocket handshake the origin guard refuses (403).
WEBSOCKET_REFUSED: Final = "WebSocket handshake rejected: "
# Sent instead of Origin by browsers of the pre-RFC 6455 protocol drafts.
_LEGACY_WEBSOCKET_ORIGIN: Final = "Sec-WebSocket-Origin"
_EVERYTHING: Final = Everything()


class _Snapshot:
    """One immutable state of an application's app-wide CORS: replaced whole."""

    __slots__ = (
        "config",
        "guard_websockets",
        "overrides",
        "private_network",
        "routes",
        "scope",
        "subapps",
    )

    def __init__(
        self,
        engine: Engine,
        config: dict[OriginKey, ResourceOptions],
        overrides: dict[_Key, tuple[Any, Any]],
        private_network: bool | None,
        guard_websockets: bool | None,
    ) -> None:
        self.config = config
        self.overrides = overrides
        self.private_network = private_network
        self.guard_websockets = guard_websockets
        # Compiled for this snapshot alone: reconfiguring all day must not accumulate.
        self.scope = Scope(OriginPolicy(config), _EVERYTHING, private_network)
        self.routes: dict[tuple[web.AbstractResource, str | None], Scope] = {}
        self.subapps: dict[int, Scope] = {}
        for key, (subapp, override) in overrides.items():
            scope = EXCLUDED
            if override is not _EXCLUDE:
                scope = Scope(OriginPolicy(merged(override, config)), _EVERYTHING, private_network)
            if subapp is not None:
                self.subapps[key] = scope
            else:
                self.routes[key] = scope

    def with_changes(self, engine: Engine, **changes: Any) -> _Snapshot:
        state = {
            name: getattr(self, name)
            for name in ("config", "overrides", "private_network", "guard_websockets")
        }
        return _Snapshot(engine, **{**state, **changes})


def _key(routing_entity: Any) -> tuple[_Key, web.Application | None]:
    """What an override names (a route's resource and method, a resource, or a
    sub-application), and the sub-application if it is one."""
    if isinstance(routing_entity, web.AbstractRoute) and routing_entity.resource is not None:
        method = routing_entity.method
        return (routing_entity.resource, None if method == hdrs.METH_ANY else method), None
    if isinstance(routing_entity, web.AbstractResource):
        subapp = routing_entity.get_info().get("app")
        if isinstance(subapp, web.Application):
            return id(subapp), subapp
        return (routing_entity, None), None
    raise ValueError(f"Resource or route expected, got {routing_entity!r}")


class AppCors:
    """CORS for a whole application; created by :func:`enable`."""

    def __init__(
        self,
        app: web.Application,
        config: Config | None,
        unsafe: Unsafe,
        allow_private_network: bool | None = None,
        guard_websockets: bool | None = None,
        csrf_protection: bool | None = None,
        csrf_exempt_prefixes: Iterable[str] = (),
        debug: bool | None = None,
    ) -> None:
        flags = (
            ("allow_private_network", allow_private_network),
            ("guard_websockets", guard_websockets),
            ("debug", debug),
        )
        problems = [
            f"{name}={flag!r}: give True or False"
            for name, flag in flags
            if flag is not None and not isinstance(flag, bool)
        ]
        try:
            compiled = compile_config(config, strict=True, unsafe=unsafe)
        except CorsConfigError as error:
            problems[:0] = error.problems
        engine = engine_of(app)
        if not problems:
            problems = _csrf.configure(engine, csrf_protection, csrf_exempt_prefixes, "enable()")
        if problems:
            raise CorsConfigError(problems)
        self._app = app
        self._unsafe = unsafe
        self._engine = engine
        self._engine.app_wide = _Snapshot(
            self._engine, compiled, {}, allow_private_network, guard_websockets
        )
        app.middlewares.insert(0, _middleware(self._engine))
        app.on_startup.append(self._install_options)
        if debug is not None:
            engine.set_debug(debug)

    @property
    def _state(self) -> _Snapshot:
        state = self._engine.app_wide
        assert isinstance(state, _Snapshot)
        return state

    def _change(self, **changes: Any) -> None:
        # The new state is built completely, then swapped in with one assignment.
        self._engine.app_wide = self._state.with_changes(self._engine, **changes)
        self._engine.forget()

    @property
    def guard_websockets(self) -> bool:
        """Refuse (403) WebSocket handshakes from origins the policy does not allow."""
        return bool(self._state.guard_websockets)

    @guard_websockets.setter
    def guard_websockets(self, value: bool) -> None:
        self._change(guard_websockets=value)

    @property
    def debug(self) -> bool:
        """Debug mode: a refused request says why in ``X-CORS-Error``, and a preflight
        refused for its method or a request header is answered so that the browser's
        console names it (docs/debugging.md). Switchable while serving."""
        return self._engine.debug

    @debug.setter
    def debug(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise CorsConfigError([f"debug={value!r}: give True or False"])
        self._engine.set_debug(value)

    @property
    def config(self) -> Mapping[OriginKey, ResourceOptions]:
        """The application's origin -> options configuration in force."""
        return dict(self._state.config)

    def add(self, routing_entity: _T, config: Config | None = None) -> _T:
        """Give one resource, route (one method of a resource) or sub-application its own
        configuration, merged over the application's: its entries win."""
        if config is None:
            raise TypeError(
                "AppCors.add() gives a route its own configuration: add(route, {origin: "
                "ResourceOptions(...)}). Every route already has enable()'s configuration "
                "without add(); exclude(route) takes one out."
            )
        key, subapp = _key(routing_entity)
        parsed = compile_config(config, strict=True, unsafe=self._unsafe)
        self._change(overrides={**self._state.overrides, key: (subapp, parsed)})
        return routing_entity

    def exclude(self, routing_entity: _T) -> _T:
        """Never answer cross-origin for this resource, route or sub-application: no CORS
        headers at all, and its preflights are left to the application."""
        key, subapp = _key(routing_entity)
        self._change(overrides={**self._state.overrides, key: (subapp, _EXCLUDE)})
        return routing_entity

    def csrf_exempt(self, routing_entity: _T) -> _T:
        """Let cross-site pages send unsafe requests to this route or resource (a payment
        callback, a webhook checked by its signature): the write guard skips it."""
        _csrf.exempt_entity(self._engine, routing_entity)
        return routing_entity

    def reconfigure(self, config: Config | None) -> None:
        """Replace the application's configuration while serving.

        The new policy is built completely, then swapped in with one assignment:
        each request sees either the old policy or the new one, never a mix.
        """
        self._change(config=compile_config(config, strict=True, unsafe=self._unsafe))

    def _adopt_views(self, resources: list[web.AbstractResource]) -> None:
        """Honour the configuration ``CorsViewMixin`` views carry (``cors_config``, a
        method's ``custom_cors``) as overrides of their resource's methods, more specific
        than an override given with :meth:`add`, as in route mode; checked strictly. A
        view that decides per request (its own ``get_request_config``) is reported: it
        is not asked here."""
        overrides = dict(self._state.overrides)
        for resource in resources:
            for route in resource:
                view = _view_of(route)
                if view is None:
                    continue
                if _asks_per_request(view):
                    logger.warning(
                        "CORS: the view %s overrides get_request_config, which "
                        "aiohttp_cors.enable() does not call: give its configuration with "
                        "cors.add(route, config), or serve it in route mode (cors.add)",
                        view.__qualname__,
                    )
                    continue
                shared = compile_config(view.cors_config, strict=True, unsafe=self._unsafe)
                for method in view_methods(view):
                    own = {**shared, **method_config(view, method)}
                    if not own:
                        continue
                    given = overrides.get((resource, method)) or overrides.get((resource, None))
                    if given is not None and given[1] is _EXCLUDE:
                        continue
                    below = given[1] if given is not None else {}
                    overrides[resource, method] = (None, {**below, **own})
        if overrides != self._state.overrides:
            self._change(overrides=overrides)

    async def _install_options(self, app: web.Application) -> None:
        """Give each resource of the application (and its sub-applications) an
        ``OPTIONS`` route, where no handler of the application could take plain
        ``OPTIONS`` requests at that path."""
        # Whether requests may be for a sub-application (found once, the router frozen).
        self._engine.nested = any(
            isinstance(resource.get_info().get("app"), web.Application)
            for resource in self._app.router.resources()
        )
        resources = list(_resources(self._app))
        self._adopt_views(resources)
        # Resources whose handlers receive OPTIONS requests: an OPTIONS or a "*" route.
        takers = [
            resource
            for resource in resources
            if any(r.method == hdrs.METH_ANY or _own_options(r) for r in resource)
        ]
        for resource in resources:
            if (
                isinstance(resource, (web.Resource, web.StaticResource))
                and not any(
                    route.method in (hdrs.METH_OPTIONS, hdrs.METH_ANY) for route in resource
                )
                and not any(_may_overlap(taker, resource) for taker in takers)
            ):
                self._engine.install_options(resource)


def adopt_views(app: web.Application) -> None:
    """Have every ``enable()`` of *app* and of its sub-applications take in their views'
    own configurations, as they do at start-up (``audit`` does it without starting)."""
    cors = app.get(APP_CORS_KEY)
    if cors is not None:
        cors._adopt_views(list(_resources(app)))
    for resource in app.router.resources():
        subapp = resource.get_info().get("app")
        if isinstance(subapp, web.Application):
            adopt_views(subapp)


def _view_of(route: web.AbstractRoute) -> type[CorsViewMixin] | None:
    handler = route.handler
    if isinstance(handler, type) and issubclass(handler, CorsViewMixin):
        return handler
    return None


def _resources(app: web.Application) -> Iterator[web.AbstractResource]:
    for resource in app.router.resources():
        subapp = resource.get_info().get("app")
        if isinstance(subapp, web.Application):
            yield from _resources(subapp)
        else:
            yield resource


def _own_options(route: web.AbstractRoute) -> bool:
    return route.method == hdrs.METH_OPTIONS and not installed(route)


def _may_overlap(one: web.AbstractResource, other: web.AbstractResource) -> bool:
    """Whether a path could reach both resources (when unsure: yes)."""
    if one is other:
        return False
    plain = [r for r in (one, other) if isinstance(r, web.PlainResource)]
    if len(plain) == 2:
        return one.canonical == other.canonical
    if len(plain) == 1:
        path = plain[0].canonical
        rest = other if plain[0] is one else one
        if isinstance(rest, web.DynamicResource):
            return rest.get_info()["pattern"].fullmatch(path) is not None
        if isinstance(rest, web.StaticResource):
            return path.startswith(rest.canonical.rstrip("/") + "/")
    return True


def _middleware(engine: Engine) -> Any:
    """The middleware of *engine*'s application, first in its list."""

    @web.middleware
    async def cors_preflights(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer preflights first; everything else goes on to the application."""
        method = request.method
        headers = request.headers
        if method == hdrs.METH_OPTIONS:
            origin = headers.get(ORIGIN)
            requested = headers.get(ACRM)
            if origin is not None and requested is not None:
                response = await engine.preflight(request, origin, requested)
                if response is not None:
                    if len(request.match_info.apps) > 1 and not engine.warned_late:
                        _warn_if_late(engine, request)
                    return response
        elif method == hdrs.METH_GET:
            if hdrs.UPGRADE in headers:
                refused = await _guard(engine, request)
                if refused is not None:
                    return refused
        elif method not in SAFE_METHODS and (engine.csrf_protection or engine.nested):
            # A sub-application's guard runs here, before this application's middlewares.
            match_info = request.match_info
            if not _csrf.passes(engine, request, method, match_info):
                text = await _csrf.refusal(engine, request, match_info, match_info.apps)
                if text is not None:
                    return web.Response(status=403, text=text)
        return await handler(request)

    return cors_preflights


async def _guard(engine: Engine, request: web.Request) -> web.StreamResponse | None:
    """The 403 of a WebSocket handshake from an origin that is neither the server's
    own (the request's scheme and ``Host``) nor allowed, when the guard is on."""
    headers = request.headers
    origin = headers.get(ORIGIN) or headers.get(_LEGACY_WEBSOCKET_ORIGIN)
    if origin is None or "websocket" not in headers[hdrs.UPGRADE].lower():
        return None
    if not engine.inherited(request.match_info.apps, "guard_websockets"):
        return None
    scope = engine.scope(request, (await engine.serving(request, hdrs.METH_GET))[0])
    if await _csrf.trusted(request, origin, None if scope is None else scope.policy):
        return None
    refusal = f"origin '{printable(origin)}' is not allowed"
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS: WebSocket handshake rejected for %s (resource %s): %s",
            logged(request.path),
            describe(request),
            logged(refusal),
        )
    return web.Response(status=403, text=WEBSOCKET_REFUSED + refusal)


def _warn_if_late(engine: Engine, request: web.Request) -> None:
    """Say once if a sub-application's preflights went through its parents' middlewares."""
    apps = request.match_info.apps
    if apps[0].get(ENGINE_KEY) is engine or not any(app.middlewares for app in apps[:-1]):
        return
    engine.warned_late = True
    logger.warning(
        "CORS: preflights of the sub-application at %s pass through its parent "
        "applications' middlewares before they are answered (aiohttp gives a "
        "sub-application no hold on them): call aiohttp_cors.enable() on the top "
        "application too, so that they are answered first",
        logged(request.path),
    )


#: Where :func:`enable` stores the application's ``AppCors``.
APP_CORS_KEY = web.AppKey("aiohttp_cors_app", AppCors)


def enable(
    app: web.Application,
    config: Config | None = None,
    *,
    unsafe: Unsafe = Unsafe.NONE,
    allow_private_network: bool | None = None,
    guard_websockets: bool | None = None,
    csrf_protection: bool | None = None,
    csrf_exempt_prefixes: Iterable[str] = (),
    debug: bool | None = None,
    defaults: None = None,
) -> AppCors:
    """Enable CORS for every route of *app*, including routes added later.

    *config* maps origins (exact, ``"*"``, ``"null"``, ``https://*.example.com``,
    ``http://localhost:*``, compiled regexes, predicates) to options, as
    ``setup``'s ``defaults`` do. It is checked strictly: every problem is
    reported in one :class:`CorsConfigError`; *unsafe* names deliberate
    exceptions. Routes added with a route-mode ``CorsConfig.add`` keep their own
    configuration.

    *allow_private_network* answers Private Network Access preflights
    (``Access-Control-Request-Private-Network: true``) of allowed requests with
    ``Access-Control-Allow-Private-Network: true`` (a legacy Chromium protocol).
    *guard_websockets* refuses (403) WebSocket handshakes whose ``Origin`` is
    neither the server's own origin nor allowed by the policy. Left at ``None``,
    both follow the enclosing application's ``enable()`` (off at the top).

    *csrf_protection* refuses (403) requests of unsafe methods (not GET, HEAD or
    OPTIONS) that a page of another origin sent, unless the policy of their route
    allows that origin (docs/csrf.md); left at ``None``, it follows the enclosing
    application. *csrf_exempt_prefixes* lists path prefixes (``"/webhooks"``) whose
    routes take cross-site requests all the same; :meth:`AppCors.csrf_exempt` names
    single routes or resources.

    *debug* turns debug mode on (:attr:`AppCors.debug`, docs/debugging.md): never in
    production, as refusals then say what would be allowed.

    *defaults* is not a parameter: given (as with ``setup``), it raises a ``TypeError``
    that says how to pass the configuration.
    """
    if defaults is not None:
        raise TypeError(
            "enable() takes the configuration as its second argument: "
            "enable(app, {origin: ResourceOptions(...)}); defaults= is setup()'s, for route mode"
        )
    if app.frozen:
        raise RuntimeError(
            "aiohttp_cors.enable() must be called before the application starts (it adds a "
            "middleware, and aiohttp freezes the application when it starts): call it where "
            "the application is built"
        )
    if APP_CORS_KEY in app:
        raise ValueError(f"app-wide CORS is already enabled for {app!r}")
    cors = AppCors(
        app,
        config,
        unsafe,
        allow_private_network,
        guard_websockets,
        csrf_protection,
        csrf_exempt_prefixes,
        debug,
    )
    app[APP_CORS_KEY] = cors
    return cors
