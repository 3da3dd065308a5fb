"""The built-in router adapter: CORS for resources of aiohttp's ``UrlDispatcher``.

Route mode keeps one entry per CORS-enabled resource. Configuration levels are
merged when they change (at ``add`` time, or when the defaults change), so a
request costs a dictionary lookup for its resource and one for its method.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import hdrs, web

from ._headers import ACRM, ORIGIN, PREFLIGHT_VARY, VARY
from ._policy import (
    EMPTY_POLICY,
    PREFLIGHT_FAILED,
    OriginPolicy,
    Pending,
    PreflightAnswer,
    decide_preflight,
    finish_actual,
    log_rejected_preflight,
    merge,
    method_not_allowed,
    preflight_answer,
)
from .mixin import ROUTE_MODE_ENTRIES, CorsViewMixin, implemented_methods, method_config
from .resource_options import EMPTY_CONFIG, ResourceOptions, parse_config

_STATIC_METHODS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD})
_NO_POLICIES: Mapping[str, OriginPolicy] = MappingProxyType({})
_METHOD_SETS: dict[tuple[str, ...], frozenset[str]] = {}


def _method_set(methods: Mapping[str, object]) -> frozenset[str]:
    """``frozenset(methods)``, one shared object per distinct set (thousands of routes)."""
    key = tuple(methods)
    found = _METHOD_SETS.get(key)
    if found is None:
        found = frozenset(key)
        if len(_METHOD_SETS) < 1024:
            _METHOD_SETS[key] = found
    return found


_REJECTED = {VARY: PREFLIGHT_VARY}


def preflight_response(
    request: web.Request, answer: list[tuple[str, str]] | str
) -> web.StreamResponse:
    """The 200 answer of an approved preflight, or the 403 of a rejected one.

    The 403 is returned, not raised: raising costs aiohttp several times the
    work of the whole answer, and the client receives the same response.
    """
    if isinstance(answer, str):
        log_rejected_preflight(request, answer)
        return PreflightAnswer(status=403, text=PREFLIGHT_FAILED + answer, headers=_REJECTED)
    return PreflightAnswer(headers=answer)


def is_preflight(request: web.BaseRequest) -> bool:
    """A preflight is ``OPTIONS`` with both ``Origin`` and ``Access-Control-Request-Method``."""
    headers = request.headers
    return request.method == hdrs.METH_OPTIONS and ACRM in headers and ORIGIN in headers


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
    """CORS state of one resource: its configuration levels, compiled."""

    __slots__ = (
        "__weakref__",
        "_path_resources",
        "_served",
        "adapter",
        "dynamic",
        "fallback",
        "has_head",
        "options_route",
        "policies",
        "resource",
        "resource_config",
        "route_configs",
        "route_methods",
        "view",
        "view_config",
    )

    def __init__(
        self,
        adapter: UrlDispatcherAdapter,
        resource: web.AbstractResource,
        view: type[CorsViewMixin] | None,
    ) -> None:
        self.adapter = adapter
        self.resource = resource
        self.view = view
        self.view_config = parse_config(view.cors_config) if view else EMPTY_CONFIG
        self.resource_config: Mapping[str, ResourceOptions] = EMPTY_CONFIG
        self.route_configs: dict[str, Mapping[str, ResourceOptions]] = {}
        self.options_route: web.AbstractRoute | None = None
        self.policies: Mapping[str, OriginPolicy] = _NO_POLICIES
        self.fallback = EMPTY_POLICY
        self.has_head = False
        self.route_methods: frozenset[str] = frozenset()
        # A view that overrides get_request_config is asked on every request.
        self.dynamic = view is not None and getattr(
            view.get_request_config, "__func__", None
        ) is not getattr(CorsViewMixin.get_request_config, "__func__", None)
        self._served: frozenset[str] | None = None
        self._path_resources: list[web.AbstractResource] | None = None

    def compile(self, defaults: Mapping[str, ResourceOptions]) -> None:
        """Merge the configuration levels into one policy per method."""
        view = self.view
        if view is None:
            configs = self.route_configs
            if self.resource_config or any(configs.values()):
                self.policies = {
                    method: merge(config, self.resource_config, defaults)
                    for method, config in configs.items()
                }
                # A method without a route configuration of its own (HEAD beside a
                # GET route, or PATCH on a resource whose GET route says
                # allow_methods=["PATCH"]) falls back on the route configurations
                # too, the first added first, then the resource's and the defaults.
                self.fallback = merge(*configs.values(), self.resource_config, defaults)
            else:
                # Only the defaults apply: the policy all such resources share.
                self.policies = _NO_POLICIES
                self.fallback = self.adapter.default_policy()
            methods = _method_set(configs)
            if isinstance(self.resource, web.StaticResource):
                methods |= _STATIC_METHODS
            elif self.has_head and hdrs.METH_GET in methods:
                # add_get's HEAD route answers like its GET route, preflights included.
                methods |= {hdrs.METH_HEAD}
            self.route_methods = methods
            return
        added = {**self.resource_config, **self.route_configs.get(hdrs.METH_ANY, {})}
        self.route_methods = implemented_methods(view)
        self.policies = {
            method: merge(method_config(view, method), self.view_config, added, defaults)
            for method in self.route_methods
        }
        self.fallback = merge(self.view_config, added, defaults)

    def policy_for(self, request: web.Request, method: str) -> OriginPolicy:
        """The policy for *method* on this resource."""
        if self.dynamic:
            assert self.view is not None
            return OriginPolicy(parse_config(self.view.get_request_config(request, method)))
        return self.policies.get(method, self.fallback)

    def config_for(self, method: str) -> dict[str, ResourceOptions]:
        """The merged origin -> options mapping for *method*."""
        return self.policies.get(method, self.fallback).as_config()

    def plain_options_methods(self) -> frozenset[str]:
        """What a non-preflight ``OPTIONS`` is told the resource allows (405)."""
        return self._served_methods()

    def _served_methods(self) -> frozenset[str]:
        # Computed at the first request, once the router is frozen.
        served = self._served
        if served is None:
            if self.view is not None:
                served = implemented_methods(self.view)
            else:
                served = frozenset(
                    route.method for route in self.resource if route is not self.options_route
                )
            self._served = served
        return served

    def _serving_entry(self, request: web.Request, method: str) -> ResourceEntry | None:
        """The entry of the resource that will serve the actual *method* request.

        Several resources can share one path; the first, in registration order,
        that has a route for the method serves it, and its configuration decides
        the preflight (which the router always hands to the first one).
        """
        served = self._served
        if served is None:
            served = self._served_methods()
        if method in served or self.view is not None or not isinstance(self.resource, web.Resource):
            return self
        resources = self._path_resources
        if resources is None:
            canonical = self.resource.canonical
            resources = [
                resource
                for resource in request.app.router.resources()
                if resource is not self.resource
                and isinstance(resource, web.Resource)
                and resource.canonical == canonical
            ]
            self._path_resources = resources
        entries = self.adapter.entries
        for resource in resources:
            entry = entries.get(resource)
            if entry is not None:
                if method in entry._served_methods():
                    return entry
            elif any(route.method in (method, hdrs.METH_ANY) for route in resource):
                return None
        return self

    def _preflight_policy(
        self, request: web.Request, method: str
    ) -> tuple[ResourceEntry, OriginPolicy] | None:
        """Who decides a preflight for *method*, and by which policy; ``None``: nobody."""
        entry = self._serving_entry(request, method)
        if entry is None or (entry.view is not None and method not in entry.route_methods):
            # Nobody with CORS serves the method, or the view does not implement it.
            return None
        if entry.dynamic:
            return entry, entry.policy_for(request, method)
        return entry, entry.policies.get(method, entry.fallback)

    def preflight(
        self, request: web.Request, origin: str, method: str
    ) -> web.StreamResponse | None:
        """The answer to a preflight; ``None`` when a predicate must be awaited first."""
        found = self._preflight_policy(request, method)
        if found is None:
            return preflight_response(request, method_not_allowed(method, origin))
        entry, policy = found
        answer = decide_preflight(policy, origin, method, request.headers, entry.route_methods)
        if isinstance(answer, Pending):
            return None
        return preflight_response(request, answer)

    async def answer_preflight(self, request: web.Request) -> web.StreamResponse:
        """Answer a preflight (``Origin`` and the requested method are present)."""
        headers = request.headers
        origin = headers[ORIGIN]
        method = headers[ACRM]
        response = self.preflight(request, origin, method)
        if response is not None:
            return response
        found = self._preflight_policy(request, method)
        assert found is not None
        entry, policy = found
        options = await policy.match_async(origin, request)
        answer = preflight_answer(policy, options, origin, method, headers, entry.route_methods)
        return preflight_response(request, answer)


class UrlDispatcherAdapter:
    """Route-mode CORS for ``web.Resource``, ``web.StaticResource`` and their routes."""

    def __init__(self, defaults: Mapping[str, ResourceOptions]) -> None:
        self.entries: dict[web.AbstractResource, ResourceEntry] = {}
        self._defaults = defaults
        self._default_policy: OriginPolicy | None = None
        # One bound method for all the OPTIONS routes installed.
        self._preflight_handler = self.handle_preflight
        ROUTE_MODE_ENTRIES.register(self)

    def default_policy(self) -> OriginPolicy:
        """The policy of the defaults alone, compiled once per change of the defaults."""
        policy = self._default_policy
        if policy is None:
            policy = self._default_policy = merge(self._defaults)
        return policy

    def set_defaults(self, defaults: Mapping[str, ResourceOptions]) -> None:
        """Use new defaults from now on, for every resource."""
        self._defaults = defaults
        self._default_policy = None
        for entry in self.entries.values():
            entry.compile(defaults)

    def add(self, routing_entity: Any, config: Mapping[str, ResourceOptions]) -> None:
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
        view, has_head = self._check_routes(resource, entry)
        if route is None:
            if entry is not None:
                raise ValueError(f"CORS is already configured for {resource!r} resource.")
        elif entry is not None and route.method in entry.route_configs:
            raise ValueError(
                f"Can't setup CORS for {route!r} route: CORS already configured "
                f"on resource {resource!r} for {route.method} method"
            )
        if entry is None:
            entry = ResourceEntry(self, resource, view)
            if view is None:
                entry.options_route = self._install_options(resource, self._preflight_handler)
            self.entries[resource] = entry
        if route is None:
            entry.resource_config = config
        else:
            entry.route_configs[route.method] = config
        entry.has_head = has_head
        entry.compile(self._defaults)
        ROUTE_MODE_ENTRIES.version += 1

    def _check_routes(
        self, resource: web.AbstractResource, entry: ResourceEntry | None
    ) -> tuple[type[CorsViewMixin] | None, bool]:
        """The resource's view class, if any, and whether it has a HEAD route.

        Raises for routes CORS cannot share the resource with.
        """
        view = None
        has_head = False
        for route in resource:
            method = route.method
            if method == hdrs.METH_HEAD:
                has_head = True
            elif method == hdrs.METH_ANY:
                view = _view_class(route)
            elif method == hdrs.METH_OPTIONS and (
                entry is None or route is not entry.options_route
            ):
                raise ValueError(f"{resource!r} already has OPTIONS handler {route.handler!r}")
        return view, has_head

    @staticmethod
    def _install_options(resource: web.AbstractResource, handler: Any) -> web.AbstractRoute:
        if isinstance(resource, web.Resource):
            return resource.add_route(hdrs.METH_OPTIONS, handler)
        assert isinstance(resource, web.StaticResource)
        resource.set_options_route(handler)
        return next(route for route in resource if route.method == hdrs.METH_OPTIONS)

    async def handle_preflight(self, request: web.Request) -> web.StreamResponse:
        """The ``OPTIONS`` handler installed on CORS-enabled resources."""
        entry = self.entries[request.match_info.route.resource]  # type: ignore[index]
        headers = request.headers
        origin = headers.get(ORIGIN)
        method = headers.get(ACRM)
        if origin is None or method is None:
            raise web.HTTPMethodNotAllowed(request.method, entry.plain_options_methods())
        served = entry._served
        if served is not None and method in served and not entry.dynamic:
            # The common case, inlined: this resource serves the method itself.
            policy = entry.policies.get(method, entry.fallback)
            answer = decide_preflight(policy, origin, method, headers, entry.route_methods)
            if answer.__class__ is list:
                return PreflightAnswer(headers=answer)
            if answer.__class__ is str:
                log_rejected_preflight(request, answer)
                return PreflightAnswer(
                    status=403,
                    text=PREFLIGHT_FAILED + answer,
                    headers=_REJECTED,
                )
        response = entry.preflight(request, origin, method)
        if response is None:
            response = await entry.answer_preflight(request)
        return response

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add CORS headers to every actual response of a CORS-enabled resource."""
        if response.__class__ is PreflightAnswer:
            return
        entry = self.entries.get(request.match_info.route.resource)  # type: ignore[arg-type]
        if entry is None:
            return
        request_headers = request.headers
        origin = request_headers.get(ORIGIN)
        options: ResourceOptions | None = None
        if origin is not None:
            method = request.method
            if method == hdrs.METH_OPTIONS and ACRM in request_headers:
                return  # a preflight someone else answered
            if entry.dynamic:
                policy = entry.policy_for(request, method)
            else:
                policy = entry.policies.get(method, entry.fallback)
            options = policy.exact.get(origin)
            if options is None:
                found = policy.match(origin)
                options = (
                    await policy.match_async(origin, request)
                    if isinstance(found, Pending)
                    else found
                )
        finish_actual(options, origin, response.headers, request)
