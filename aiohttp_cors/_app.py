"""App-wide mode: CORS for every route of an application, in one call.

A middleware, first in the application's list, answers preflights before any
other middleware runs (an authentication middleware never sees one); an
``on_response_prepare`` handler puts CORS headers on every other response,
aiohttp's own 404/405 and the 500 of an unhandled exception included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Mapping
from typing import Any, Final, TypeVar

from aiohttp import hdrs, web

from ._headers import ACRH, ACRM, ORIGIN, PREFLIGHT_VARY, VARY
from ._policy import (
    PREFLIGHT_FAILED,
    OriginPolicy,
    Pending,
    finish_actual,
    log_rejected_preflight,
    merge,
    preflight_answer,
)
from ._validate import Unsafe, validate
from .mixin import ROUTE_MODE_ENTRIES, implemented_methods
from .resource_options import Config, ResourceOptions, parse_config

__all__ = ("APP_CORS_KEY", "AppCors", "enable")

_T = TypeVar("_T")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Excluded:
    """Marks a resource or route that must never be cross-origin."""

    __slots__ = ()


EXCLUDED: Final = _Excluded()


class _AnyMethod:
    """The methods of a ``"*"`` route that is not a view: all of them."""

    __slots__ = ()

    def __contains__(self, method: object) -> bool:
        return True


class _PreflightAnswer(web.Response):
    """A preflight answered by app-wide mode (so the prepare hook leaves it alone)."""


def _served_methods(request: web.Request) -> Container[str]:
    """The methods the application serves at the request's path."""
    match_info = request.match_info
    exception = match_info.http_exception
    if exception is not None:
        # aiohttp's 405 knows the methods of every resource on the path; a 404 has none.
        return getattr(exception, "allowed_methods", ())
    route = match_info.route
    if route.method == hdrs.METH_ANY:
        handler = route.handler
        if isinstance(handler, type) and issubclass(handler, web.View):
            return implemented_methods(handler)
        return _AnyMethod()
    resource = route.resource
    return {r.method for r in resource} if resource is not None else ()


class _State:
    """One immutable snapshot of the policy: replaced whole on reconfiguration."""

    __slots__ = ("config", "override_configs", "overrides", "policy")

    def __init__(
        self,
        config: dict[str, ResourceOptions],
        override_configs: dict[tuple[web.AbstractResource, str | None], Any],
    ) -> None:
        self.config = config
        self.override_configs = override_configs
        self.policy = merge(config)
        overrides: dict[web.AbstractResource, dict[str | None, OriginPolicy | _Excluded]] = {}
        for (resource, method), override in override_configs.items():
            compiled = override if override is EXCLUDED else merge(override, config)
            overrides.setdefault(resource, {})[method] = compiled
        self.overrides = overrides

    def lookup(
        self, resource: web.AbstractResource | None, method: str
    ) -> OriginPolicy | _Excluded:
        """The policy for *method* on *resource* (``None``: no route matched)."""
        if resource is None:
            return self.policy
        per_method = self.overrides.get(resource)
        if per_method is None:
            return self.policy
        found = per_method.get(method)
        if found is None:
            found = per_method.get(None, self.policy)
        return found


async def _resource_at_path(
    request: web.Request, methods: list[str]
) -> web.AbstractResource | None:
    """The resource behind aiohttp's 405 for this path: the one serving one of *methods*.

    Only asked when some resource has an override or is excluded, and only for
    requests the router could not route as they are (preflights, 405s).
    """
    exception = request.match_info.http_exception
    if not isinstance(exception, web.HTTPMethodNotAllowed):
        return None
    candidates = [m for m in methods if m in exception.allowed_methods]
    candidates += sorted(exception.allowed_methods)
    router = request.match_info.apps[0].router
    for method in candidates:
        match_info = await router.resolve(request.clone(method=method))
        if match_info.http_exception is None:
            return match_info.route.resource
    return None


def _owner(request: web.Request) -> AppCors | None:
    """The app-wide CORS of the innermost application (a sub-app may override)."""
    for app in reversed(request.match_info.apps):
        cors = app.get(APP_CORS_KEY)
        if cors is not None:
            return cors
    return None


def _split(routing_entity: Any) -> tuple[web.AbstractResource, str | None]:
    if isinstance(routing_entity, web.AbstractRoute) and routing_entity.resource is not None:
        method = routing_entity.method
        return routing_entity.resource, None if method == hdrs.METH_ANY else method
    if isinstance(routing_entity, web.AbstractResource):
        return routing_entity, None
    raise ValueError(f"Resource or route expected, got {routing_entity!r}")


class AppCors:
    """CORS for a whole application; created by :func:`enable`."""

    def __init__(self, app: web.Application, config: Config | None, unsafe: Unsafe) -> None:
        validate(config, unsafe)
        self._app = app
        self._unsafe = unsafe
        self._state = _State(parse_config(config), {})
        app.middlewares.insert(0, _preflight_middleware)
        app.on_response_prepare.append(self._on_response_prepare)

    @property
    def config(self) -> Mapping[str, ResourceOptions]:
        """The application's origin -> options configuration in force."""
        return dict(self._state.config)

    def add(self, routing_entity: _T, config: Config) -> _T:
        """Give one resource (or one route: one method of it) its own configuration.

        *config* is merged over the application's: its entries win.
        """
        key = _split(routing_entity)
        validate(config, self._unsafe)
        parsed = parse_config(config)
        state = self._state
        self._state = _State(state.config, {**state.override_configs, key: parsed})
        return routing_entity

    def exclude(self, routing_entity: _T) -> _T:
        """Never answer cross-origin for this resource (or route): no CORS headers at all."""
        key = _split(routing_entity)
        state = self._state
        self._state = _State(state.config, {**state.override_configs, key: EXCLUDED})
        return routing_entity

    def reconfigure(self, config: Config | None) -> None:
        """Replace the application's configuration while serving.

        The new policy is built completely, then swapped in with one assignment:
        each request sees either the old policy or the new one, never a mix.
        """
        validate(config, self._unsafe)
        self._state = _State(parse_config(config), self._state.override_configs)

    async def _preflight(
        self, request: web.Request, origin: str, method: str
    ) -> web.StreamResponse | None:
        state = self._state
        resource = request.match_info.route.resource
        if resource is None and state.overrides:
            resource = await _resource_at_path(request, [method])
        if resource is not None and resource in ROUTE_MODE_ENTRIES:
            return None
        policy = state.lookup(resource, method)
        if policy is EXCLUDED:
            return None
        assert isinstance(policy, OriginPolicy)
        answer = preflight_answer(
            policy,
            await policy.match_async(origin, request),
            origin,
            method,
            request.headers.getall(ACRH, []),
            _served_methods(request),
        )
        if isinstance(answer, str):
            log_rejected_preflight(request, answer)
            return _PreflightAnswer(
                status=403, text=PREFLIGHT_FAILED + answer, headers={VARY: PREFLIGHT_VARY}
            )
        return _PreflightAnswer(headers=answer)

    async def _on_response_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        if isinstance(response, _PreflightAnswer) or _owner(request) is not self:
            return
        state = self._state
        resource = request.match_info.route.resource
        if resource is None and state.overrides:
            resource = await _resource_at_path(request, [request.method])
        if resource is not None and resource in ROUTE_MODE_ENTRIES:
            return
        policy = state.lookup(resource, request.method)
        if policy is EXCLUDED:
            return
        assert isinstance(policy, OriginPolicy)
        origin = request.headers.get(ORIGIN)
        options: ResourceOptions | None = None
        if origin is not None:
            found = policy.match(origin)
            options = (
                await policy.match_async(origin, request) if isinstance(found, Pending) else found
            )
        finish_actual(options, origin, response.headers, request)


@web.middleware
async def _preflight_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Answer preflights first; everything else goes on to the application."""
    if request.method == hdrs.METH_OPTIONS:
        headers = request.headers
        origin = headers.get(ORIGIN)
        method = headers.get(ACRM)
        if origin is not None and method is not None:
            owner = _owner(request)
            if owner is not None:
                answer = await owner._preflight(request, origin, method)
                if answer is not None:
                    return answer
    return await handler(request)


#: Where :func:`enable` stores the application's ``AppCors``.
APP_CORS_KEY = web.AppKey("aiohttp_cors_app", AppCors)


def enable(
    app: web.Application, config: Config | None = None, *, unsafe: Unsafe = Unsafe.NONE
) -> AppCors:
    """Enable CORS for every route of *app*, including routes added later.

    *config* maps origins (exact, ``"*"``, ``"null"``, ``https://*.example.com``,
    ``http://localhost:*``, compiled regexes, predicates) to options, as
    ``setup``'s ``defaults`` do. It is checked strictly: every problem is
    reported in one :class:`CorsConfigError`; *unsafe* names deliberate
    exceptions. Routes added with a route-mode ``CorsConfig.add`` keep their own
    configuration.
    """
    if APP_CORS_KEY in app:
        raise ValueError(f"app-wide CORS is already enabled for {app!r}")
    cors = AppCors(app, config, unsafe)
    app[APP_CORS_KEY] = cors
    return cors
