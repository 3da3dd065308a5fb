"""Route mode's adapter for aiohttp's ``UrlDispatcher``: which scope each method of a
CORS-enabled resource has.

Configuration levels are merged when they change (at ``add`` time, or when the
defaults change); a request costs a dictionary lookup for its resource and one
for its method (:class:`ResourceEntry.scope`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import hdrs, web

from ._config import compile_config
from ._engine import EXCLUDED, Scope, engine_of, installed, view_methods
from ._origins import OriginKey
from ._policy import OriginPolicy, merged
from .mixin import CorsViewMixin, method_config
from .resource_options import ResourceOptions

Levels = Mapping[OriginKey, ResourceOptions]
_STATIC_METHODS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD})
# Shared by the resources that have none of their own: 20,000 of them save 1.3 MB.
_EMPTY: Mapping[Any, Any] = MappingProxyType({})
_NO_SCOPES: Mapping[str, Scope] = _EMPTY


def _view_class(route: web.AbstractRoute) -> type[CorsViewMixin]:
    """The ``CorsViewMixin`` view of a ``"*"`` route; a ``ValueError`` otherwise."""
    handler = route.handler
    if isinstance(handler, type) and issubclass(handler, CorsViewMixin):
        return handler
    if isinstance(handler, type) and issubclass(handler, web.View):
        raise ValueError(
            "web view should be derived from aiohttp_cors.CorsViewMixin"
            " for working with the library"
        )
    raise ValueError(f"{route.resource!r} already has a '*' handler for all methods")


class ResourceEntry:
    """One CORS-enabled resource: its configuration levels, compiled per method."""

    __slots__ = (
        "dynamic",
        "methods",
        "resource",
        "resource_config",
        "route_configs",
        "scopes",
        "view",
        "whole",
    )

    def __init__(self, resource: web.AbstractResource, view: type[CorsViewMixin] | None) -> None:
        self.resource = resource
        self.view = view
        self.resource_config: Levels = _EMPTY
        self.route_configs: dict[str, Levels] = {}
        self.scopes: Mapping[str, Scope] = _NO_SCOPES
        self.whole = EXCLUDED  # until compiled
        self.methods: frozenset[str] = frozenset()
        # A view that overrides get_request_config is asked on every request.
        self.dynamic = view is not None and _asks_per_request(view)

    def compile(self, shared: UrlDispatcherAdapter, defaults: Levels) -> None:
        """Merge the levels into one scope per method, and one for the other methods.

        A method without a route configuration of its own takes, besides the
        resource's configuration and the defaults, the entries of the route
        configurations whose ``allow_methods`` name it (or are ``"*"``).
        """
        view = self.view
        if view is None:
            methods = set(self.route_configs)
            if isinstance(self.resource, web.StaticResource):
                methods |= _STATIC_METHODS
            elif hdrs.METH_GET in methods:
                methods.add(hdrs.METH_HEAD)  # add_get's HEAD route answers like GET
            levels: tuple[Levels, ...] = (self.resource_config, defaults)
            configs = {method: config for method, config in self.route_configs.items() if config}
            if not configs and not self.resource_config:
                # The common case, thousands of times: the defaults for every method.
                self.methods = shared.method_set(methods)
                self.whole, self.scopes = shared.scope(self.methods), _NO_SCOPES
                return
            named = set(configs)
            for config in configs.values():
                for options in config.values():
                    if isinstance(options.allow_methods, frozenset):
                        named |= options.allow_methods
            per_method = {m: configs.get(m) or self._covering(m) for m in named}
            rest = self._covering(None)
        else:
            methods = set(view_methods(view))
            levels = (
                compile_config(view.cors_config),
                {**self.resource_config, **self.route_configs.get(hdrs.METH_ANY, {})},
                defaults,
            )
            per_method = {method: method_config(view, method) for method in methods}
            rest = {}
        self.methods = shared.method_set(methods)
        self.whole = shared.scope(self.methods, rest, *levels)
        self.scopes = {
            method: shared.scope(self.methods, config, *levels)
            for method, config in per_method.items()
        } or _NO_SCOPES

    def _covering(self, method: str | None) -> dict[OriginKey, ResourceOptions]:
        """The route-configuration entries whose ``allow_methods`` allow *method*
        (``None``: any method), the first route added first."""
        found: dict[OriginKey, ResourceOptions] = {}
        for config in self.route_configs.values():
            for origin, options in config.items():
                allowed = options.allow_methods
                if allowed == "*" or (method is not None and allowed and method in allowed):
                    found.setdefault(origin, options)
        return found

    def static_scope(self, method: str) -> Scope:
        """The configured scope of *method*."""
        return self.scopes.get(method, self.whole)

    def scope(self, request: web.Request, method: str, preflight: bool) -> Scope | None:
        """The scope of *method* on this resource; ``None`` for the preflight of a
        method the view does not implement (whatever ``allow_methods`` says)."""
        view = self.view
        if view is not None:
            if preflight and method not in self.methods:
                return None
            if self.dynamic:
                config = compile_config(view.get_request_config(request, method))
                return Scope(OriginPolicy(config), self.methods)
        return self.scopes.get(method, self.whole)


def _asks_per_request(view: type[CorsViewMixin]) -> bool:
    """Whether *view* overrides ``get_request_config``: then it is asked every time."""
    own = getattr(view.get_request_config, "__func__", None)
    return own is not getattr(CorsViewMixin.get_request_config, "__func__", None)


class UrlDispatcherAdapter:
    """Route-mode CORS for ``web.Resource``, ``web.StaticResource`` and their routes."""

    def __init__(self, app: web.Application, defaults: Levels) -> None:
        self.engine = engine_of(app)
        #: The resources this adapter enabled (the engine knows them all).
        self.entries: dict[web.AbstractResource, ResourceEntry] = {}
        self.set_defaults(defaults)

    def set_defaults(self, defaults: Levels) -> None:
        """Use new defaults from now on, for every resource."""
        self._defaults = self.engine.route_defaults = defaults
        # Equal configurations share one policy, equal (policy, methods) one scope, and
        # equal method sets one object: 20,000 resources take 10 MB instead of 23.
        self._policies: dict[tuple[tuple[OriginKey, ResourceOptions], ...], OriginPolicy] = {}
        self._scopes: dict[tuple[OriginPolicy, frozenset[str]], Scope] = {}
        self._method_sets: dict[frozenset[str], frozenset[str]] = {}
        self._default_policy = self._policy(defaults)
        for entry in self.entries.values():
            entry.compile(self, defaults)
        self.engine.forget()

    def _policy(self, config: Levels) -> OriginPolicy:
        key = tuple(config.items())  # configuration keys and options are all hashable
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = OriginPolicy(config)
        return policy

    def scope(self, methods: frozenset[str], *levels: Levels) -> Scope:
        """The scope of *levels* merged (most specific first; none: the defaults)."""
        given = [level for level in levels if level]
        if not levels:
            policy = self._default_policy
        else:
            policy = self._policy(given[0] if len(given) == 1 else merged(*given))
        scope = self._scopes.get((policy, methods))
        if scope is None:
            scope = self._scopes[policy, methods] = Scope(policy, methods)
        return scope

    def method_set(self, methods: set[str]) -> frozenset[str]:
        """*methods* as one object shared by every resource with the same methods."""
        frozen = frozenset(methods)
        return self._method_sets.setdefault(frozen, frozen)

    def add(self, routing_entity: Any, config: Levels) -> None:
        """Enable CORS on a resource or route; everything is checked before anything changes."""
        route: web.AbstractRoute | None = None
        if isinstance(routing_entity, web.ResourceRoute):
            route = routing_entity
            resource = routing_entity.resource
        elif isinstance(routing_entity, (web.Resource, web.StaticResource)):
            resource = routing_entity
        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")
        assert resource is not None
        entry = self.entries.get(resource)
        view, has_options = self._check_routes(resource)
        if route is None:
            if entry is not None:
                raise ValueError(f"CORS is already configured for {resource!r} resource.")
        elif entry is not None and route.method in entry.route_configs:
            raise ValueError(
                f"Can't setup CORS for {route!r} route: CORS already configured "
                f"on resource {resource!r} for {route.method} method"
            )
        new = entry is None
        if entry is None:
            entry = ResourceEntry(resource, view)
        if route is None:
            entry.resource_config = config
        else:
            entry.route_configs[route.method] = config
        # Raises for a view's bad configuration, before anything is registered.
        entry.compile(self, self._defaults)
        if new:
            if view is None and not has_options:
                self.engine.install_options(resource)
            self.entries[resource] = entry
            self.engine.routes[resource] = entry
        self.engine.forget()

    @staticmethod
    def _check_routes(resource: web.AbstractResource) -> tuple[type[CorsViewMixin] | None, bool]:
        """The resource's view class if any, and whether the library's ``OPTIONS`` route
        is there already; raises for routes CORS cannot share the resource with."""
        view = None
        has_options = False
        for route in resource:
            if route.method == hdrs.METH_ANY:
                view = _view_class(route)
            elif route.method == hdrs.METH_OPTIONS:
                if not installed(route):
                    raise ValueError(f"{resource!r} already has OPTIONS handler {route.handler!r}")
                has_options = True
        return view, has_options
