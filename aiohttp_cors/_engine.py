"""The engine: which policy decides a request, and the answer that goes on the wire.

One :class:`Engine` per application that uses CORS, in ``app[ENGINE_KEY]``. Both
modes feed it: route mode registers resources (:class:`RouteScopes`), app-wide
mode sets a snapshot (:class:`AppWide`). Every request is decided the same way:

1. the route that serves the method in question (the request's own method, or
   for a preflight the requested one) at the request's path, asked of aiohttp's
   router;
2. the scope that applies to that route, looked up along the application chain
   (``request.match_info.apps``), most specific first: a route-mode resource, an
   app-wide override of the route or its resource, then the innermost
   application: what an enclosing application said about it as a
   sub-application (``add``/``exclude``), else its own ``enable()``;
3. the decision (:mod:`._decision`) on that scope's policy.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Final, Protocol, cast

from aiohttp import hdrs, web

from ._decision import (
    ERROR_HEADER,
    PREFLIGHT_FAILED,
    SEVERAL_ORIGINS,
    credentials_not_allowed,
    debug_preflight,
    finish_actual,
    logged,
    method_not_allowed,
    origin_not_allowed,
    preflight,
)
from ._headers import (
    ACAPN,
    ACRH,
    ACRM,
    ACRPN,
    MAX_REQUEST_HEADER_LINES,
    ORIGIN,
    PNA_PREFLIGHT_VARY,
    PREFLIGHT_VARY,
    VARY,
)
from ._memo import Memo
from ._policy import EMPTY_POLICY, OriginPolicy, Pending
from .resource_options import ResourceOptions

#: The library's logger: at DEBUG it says why each CORS request was refused.
logger: Final = logging.getLogger("aiohttp_cors")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_NO_LINES: Final[list[str]] = []
# Beyond the line cap every preflight is refused alike: the first lines tell them apart.
_KEY_LINES: Final = MAX_REQUEST_HEADER_LINES + 1
#: A preflight's answer: the headers of the 200, or the reason of the 403.
Answer = list[tuple[str, str]] | str
_ANY: Final = hdrs.METH_ANY
_GET: Final = hdrs.METH_GET
_HEAD: Final = hdrs.METH_HEAD
#: The methods the write guard lets through: a browser sends them cross-site freely,
#: and HTTP says they change nothing.
SAFE_METHODS: Final = frozenset({hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS})
#: What the write guard decided for an unsafe request it let through because its
#: route's policy allows the origin: (the request, the options, the origin). The
#: response's CORS headers follow it rather than deciding again (one decision a
#: request, 1,000 instructions saved). aiohttp handles each request in a task of its
#: own, which has its own copy of the context: nothing set here outlives the request.
GUARD_DECIDED: Final[ContextVar[tuple[object, ResourceOptions, str] | None]] = ContextVar(
    "aiohttp_cors_guard_decided", default=None
)


class PreflightAnswer(web.Response):
    """A preflight answered by this library: the prepare hooks leave it alone."""


class Scope:
    """What decides a request: a compiled policy, the methods that
    ``allow_methods=None`` allows, and the app-wide extras (``None``: inherited)."""

    __slots__ = ("_unserved", "answers", "methods", "policy", "private_network", "vary")

    def __init__(
        self,
        policy: OriginPolicy,
        methods: Container[str],
        private_network: bool | None = False,
    ) -> None:
        self.policy = policy
        self.methods = methods
        self.private_network = private_network
        self.vary = PNA_PREFLIGHT_VARY if private_network else PREFLIGHT_VARY
        #: Preflight answers decided under this scope, by origin, requested method,
        #: requested headers and Vary: all an answer depends on when no predicate
        #: decides (browsers repeat the same few preflights: 1.5 us saved on each).
        self.answers: Memo[tuple[str, str, str | tuple[str, ...], str], Answer] = Memo(1024, 1024)
        self._unserved: Scope | None = None

    def unserved(self) -> Scope:
        """This scope for a method no route serves: ``allow_methods=None`` allows nothing.
        Made once, so that its memo serves the next such requests too."""
        if self._unserved is None:
            self._unserved = Scope(self.policy, (), self.private_network)
        return self._unserved

    def answer(
        self, options: ResourceOptions | None, origin: str, method: str, lines: list[str], vary: str
    ) -> Answer:
        """A preflight's answer, given the options the origin has (``None``: none)."""
        if options is None:
            return origin_not_allowed(origin, self.policy.empty)
        return preflight(options, origin, method, lines, self.methods, vary)


class Everything:
    """The methods of app-wide scopes: whatever the route that serves it."""

    __slots__ = ()

    def __contains__(self, method: object) -> bool:
        return True


#: Marks an app-wide exclusion: nothing of CORS applies.
EXCLUDED: Final = Scope(EMPTY_POLICY, ())
#: Marks a scope looked up on every request (enclosing applications may change theirs).
UNDECIDED: Final = Scope(EMPTY_POLICY, ())


class RouteScopes(Protocol):
    """A route-mode resource: the scope of each method (``options`` for the view check)."""

    def scope(self, request: web.Request, method: str, preflight: bool) -> Scope | None: ...

    def static_scope(self, method: str) -> Scope: ...


class AppWide(Protocol):
    """An app-wide snapshot: the application's scope and its overrides."""

    scope: Scope
    guard_websockets: bool | None
    #: (resource, method or None for all) -> scope, or EXCLUDED.
    routes: dict[tuple[web.AbstractResource, str | None], Scope]
    #: id(sub-application) -> scope, or EXCLUDED.
    subapps: dict[int, Scope]


#: Where a method is served: application chain, resource, configured method, served.
Target = tuple[Sequence[web.Application], "web.AbstractResource | None", str, bool]
#: A preflight's target, the scope deciding it and whether Private Network Access is on.
Decided = tuple[Target, "Scope | None", bool]


class WithMethod:
    """The request as seen by the router, with another method: aiohttp's router
    reads the method, the URL and the headers (for domains), nothing else."""

    __slots__ = ("_request", "method")

    def __init__(self, request: web.Request, method: str) -> None:
        self._request = request
        self.method = method

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def view_methods(view: type) -> frozenset[str]:
    """The HTTP methods a class-based view answers itself (CORS's ``options`` aside)."""
    return frozenset(
        method
        for method in hdrs.METH_ALL
        if method != hdrs.METH_OPTIONS and callable(getattr(view, method.lower(), None))
    )


class Engine:
    """CORS for one application: its route-mode resources, its app-wide snapshot."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.routes: dict[web.AbstractResource, RouteScopes] = {}
        self.app_wide: AppWide | None = None
        #: Route mode's defaults (for views not added with ``CorsConfig.add``).
        self.route_defaults: Mapping[Any, ResourceOptions] = {}
        # One bound method each, for every route installed and the hook.
        self.options_handler: Handler = self.answer_options
        self.warned_late = False
        #: Cross-origin write protection as this application set it (``None``: as the
        #: enclosing application says), and what it exempts.
        self.csrf_protection: bool | None = None
        self.csrf_exempt: set[object] = set()
        self.csrf_exempt_prefixes: tuple[str, ...] = ()
        #: Debug mode: refusals say why, on the wire (docs/debugging.md). Set it with
        #: :meth:`set_debug`.
        self.debug = False
        #: Whether the application has sub-applications (app-wide mode sets it at start-up).
        self.nested = False
        #: Whether route mode's guard watches the application's router (``guard_routing``).
        self.routing_guarded = False
        # Found once, as the router is frozen while serving (``forget`` empties both
        # when a configuration changes): 2 us a preflight saved, 0.4 us a response.
        #: (OPTIONS route of a plain resource, requested method) -> where that method is
        #: served at its path, and in an application of its own its scope.
        self.preflight_targets: dict[tuple[web.AbstractRoute, str], Decided] = {}
        #: route of one method, in an application of its own -> its responses' scope
        #: (``EXCLUDED`` where excluded).
        self.route_scopes: dict[web.AbstractRoute, Scope | None] = {}
        #: the same routes -> the policy the write guard asks (``None``: the guard has
        #: nothing to say there).
        self.guarded_routes: dict[web.AbstractRoute, OriginPolicy | None] = {}
        #: view class -> the methods it implements.
        self.view_methods: dict[type, frozenset[str]] = {}
        app.on_response_prepare.append(self.on_response_prepare)

    # -- set-up -------------------------------------------------------------------

    def set_debug(self, value: bool) -> None:
        """Turn debug mode on or off for the requests this application decides, and for
        those of the applications inside it."""
        self.debug = value

    def install_options(self, resource: web.AbstractResource) -> None:
        """Give *resource* the ``OPTIONS`` route through which its preflights reach the
        engine (the application's own ``OPTIONS`` requests get aiohttp's 405 there)."""
        if isinstance(resource, web.StaticResource):
            resource.set_options_route(self.options_handler)
        else:
            assert isinstance(resource, web.Resource)
            resource.add_route(hdrs.METH_OPTIONS, self.options_handler)

    def forget(self) -> None:
        """Drop what was decided under the previous configuration."""
        self.preflight_targets.clear()
        self.route_scopes.clear()
        self.guarded_routes.clear()

    # -- which route serves, and which scope applies ------------------------------

    async def serving(self, request: web.Request, method: str) -> tuple[Target, bool]:
        """Where *method* is served at the request's path: the application chain, the
        resource, the method whose configuration applies (a HEAD route made by
        ``add_get`` follows its GET route), whether a route serves it at all (if not,
        the resource the path leads to); then whether that is so for every request
        routed here (another method than the request's, at a plain resource)."""
        match_info = request.match_info
        route = match_info.route
        serving, apps, fixed = route, match_info.apps, False
        served = match_info.http_exception is None
        if method != request.method:
            resolved = await self._resolve(request, method)
            serving, apps = resolved.route, (apps[0], *resolved.apps)
            served = resolved.http_exception is None
            fixed = isinstance(route.resource, web.PlainResource) and serving.method == method
        if served and not installed(serving):
            configured = self.configured_method(serving, method)
            return (apps, serving.resource, configured or method, bool(configured)), fixed
        if match_info.http_exception is None:
            return (match_info.apps, route.resource, method, False), False
        allowed = getattr(match_info.http_exception, "allowed_methods", None)
        if not allowed:
            return (match_info.apps, None, method, False), False
        resolved = await self._resolve(request, min(allowed))
        return ((apps[0], *resolved.apps), resolved.route.resource, method, False), False

    async def _resolve(self, request: web.Request, method: str) -> web.UrlMappingMatchInfo:
        """What aiohttp's router finds for *method* at the request's path."""
        router = request.match_info.apps[0].router
        return await router.resolve(cast(web.Request, WithMethod(request, method)))

    def configured_method(self, route: web.AbstractRoute, method: str) -> str | None:
        """The method whose configuration applies to *route* serving *method*: a HEAD
        route made by ``add_get`` follows its GET route. ``None``: the route does not
        serve *method* (a view that does not implement it)."""
        registered = route.method
        if registered == _ANY:
            methods = self._view_methods(route.handler)
            return method if not methods or method in methods else None
        if registered == _HEAD and route.resource is not None:
            for sibling in route.resource:
                if sibling.method == _GET and sibling.handler is route.handler:
                    return _GET
        return registered

    def _view_methods(self, handler: object) -> frozenset[str]:
        """The methods a class-based view implements; empty for anything else."""
        if not (isinstance(handler, type) and issubclass(handler, web.View)):
            return frozenset()
        methods = self.view_methods.get(handler)
        if methods is None:
            methods = self.view_methods[handler] = view_methods(handler)
        return methods

    def scope(self, request: web.Request, target: Target, preflight: bool = False) -> Scope | None:
        """The scope deciding *target* (for a preflight, or an actual response); ``None``
        when no CORS configuration covers it or it is excluded."""
        found = self._chain_scope(request, target, preflight)
        if found is None or found is EXCLUDED:
            return None
        return found if target[3] else found.unserved()

    async def response_scope(self, request: web.Request) -> Scope | None:
        """The scope deciding the response to *request* (for its own method), ``EXCLUDED``
        where an exclusion says so; kept in ``route_scopes`` where that is fixed."""
        match_info = request.match_info
        route = match_info.route
        scope = self.route_scopes.get(route, UNDECIDED)
        if scope is not UNDECIDED:
            return scope
        apps, method = match_info.apps, request.method
        if match_info.http_exception is None:
            scope = self.routed_scope(request, route, apps)
            if len(apps) == 1 and route.method == method:
                self.route_scopes[route] = scope
            return scope
        return self.actual_scope(request, (await self.serving(request, method))[0])

    def routed_scope(
        self, request: web.Request, route: web.AbstractRoute, apps: Sequence[web.Application]
    ) -> Scope | None:
        """The scope deciding the responses of *route* to the request's own method, the
        request going through *apps*; ``EXCLUDED`` where an exclusion says so."""
        method = request.method
        configured = self.configured_method(route, method)
        return self.actual_scope(
            request, (apps, route.resource, configured or method, bool(configured))
        )

    def actual_scope(self, request: web.Request, target: Target) -> Scope | None:
        scope = self._chain_scope(request, target, False)
        if scope is not None and scope is not EXCLUDED and not target[3]:
            scope = scope.unserved()
        return scope

    def _chain_scope(self, request: web.Request, target: Target, preflight: bool) -> Scope | None:
        """The most specific scope along the application chain: a route-mode resource,
        an app-wide override of the route or resource, then for each application from
        the innermost: what an enclosing application said about it, its own policy."""
        apps, resource, method, _ = target
        inner_first = engines(apps)[::-1]
        if resource is not None:
            for engine in inner_first:
                entry = engine.routes.get(resource)
                if entry is not None:
                    return entry.scope(request, method, preflight)
            for engine in inner_first:
                if engine.app_wide is not None:
                    found = _override(engine.app_wide.routes, resource, method)
                    if found is not None:
                        return found
        for level in range(len(apps) - 1, -1, -1):
            for engine in engines(apps[:level]):  # the applications enclosing this one
                subapps = engine.app_wide.subapps if engine.app_wide is not None else None
                if subapps and id(apps[level]) in subapps:
                    return subapps[id(apps[level])]
            own: Engine | None = apps[level].get(ENGINE_KEY)
            if own is not None and own.app_wide is not None:
                return own.app_wide.scope
        return None

    def inherited(self, apps: Sequence[web.Application], flag: str) -> bool:
        """An app-wide flag where the innermost application that set it says."""
        for app in reversed(apps):
            engine = app.get(ENGINE_KEY)
            wide = engine.app_wide if engine is not None else None
            value = getattr(wide, flag, None)
            if value is not None:
                return bool(value)
        return False

    # -- preflights ---------------------------------------------------------------

    async def preflight(
        self, request: web.Request, origin: str, method: str
    ) -> web.StreamResponse | None:
        """Answer a preflight from *origin* asking for *method*; ``None`` when no CORS
        configuration covers the requested method there."""
        headers = request.headers
        match_info = request.match_info
        route = match_info.route
        # An unrouted request has a new route each time: never found, never stored.
        decided = self.preflight_targets.get((route, method))
        if decided is None:
            target, fixed = await self.serving(request, method)
            decided = target, UNDECIDED, False
            if fixed:
                if len(target[0]) == 1:
                    decided = target, *self._preflight_scope(request, target)
                self.preflight_targets[route, method] = decided
        target, scope, private_network = decided
        if scope is UNDECIDED:
            scope, private_network = self._preflight_scope(request, target)
        if scope is None:
            return None
        lines = headers.getall(ACRH, _NO_LINES)
        vary = PNA_PREFLIGHT_VARY if private_network else PREFLIGHT_VARY
        answer: Answer
        policy = scope.policy
        if policy.asks:  # a predicate decides: asked every time, never remembered
            found = policy.lookup(origin, request)
            options = await found.settle() if isinstance(found, Pending) else found
            answer = scope.answer(options, origin, method, lines, vary)
        else:
            options = None  # not needed: found again below in debug mode
            requested = lines[0] if len(lines) == 1 else tuple(lines[:_KEY_LINES]) if lines else ()
            key = (origin, method, requested, vary)
            answer = scope.answers.get(key)  # type: ignore[assignment]
            if answer is None:
                answer = scope.answer(policy.match(origin), origin, method, lines, vary)
                scope.answers.put(key, answer, len(origin) + len(method) + sum(map(len, lines)))
        if isinstance(answer, str):
            if self.debug or (len(match_info.apps) > 1 and debugging(match_info.apps)):
                if not policy.asks:
                    options = policy.match(origin)
                shown = debug_preflight(options, origin, method, scope.methods, answer, lines)
                return refuse(request, answer, vary, target[1], shown, policy)
            # Positional: a keyword argument costs a call 700 instructions more.
            return refuse(request, answer, vary, target[1], None, policy)
        if len(headers.getall(ORIGIN)) > 1:  # asked only of an allowed origin (0.1 us)
            return refuse(request, SEVERAL_ORIGINS, vary, target[1], self.debug_shown(request))
        if ACRPN in headers:
            answer = _private_network(request, private_network, answer)
        return PreflightAnswer(headers=answer)

    def _preflight_scope(self, request: web.Request, target: Target) -> tuple[Scope | None, bool]:
        """The scope deciding a preflight for *target*; whether Private Network Access is on."""
        scope = self.scope(request, target, preflight=True)
        if scope is None:
            return None, False
        private_network = scope.private_network
        if private_network is None:
            private_network = self.inherited(target[0], "private_network")
        return scope, private_network

    async def answer_options(self, request: web.Request) -> web.StreamResponse:
        """Answer an ``OPTIONS`` request that reached a route this library installed, or a
        ``CorsViewMixin`` view: a preflight, or aiohttp's 405."""
        headers = request.headers
        origin = headers.get(ORIGIN)
        method = headers.get(ACRM)
        if origin is not None and method is not None:
            response = await self.preflight(request, origin, method)
            if response is not None:
                return response
            resource = request.match_info.route.resource
            if any(resource in e.routes for e in engines(request.match_info.apps)):
                # Route mode answers every preflight of its resources (as 0.8.1 did).
                reason = method_not_allowed(method, origin)
                return refuse(request, reason, shown=self.debug_shown(request))
        raise web.HTTPMethodNotAllowed(request.method, self.path_methods(request))

    def debug_shown(self, request: web.Request) -> list[tuple[str, str]] | None:
        """What :func:`refuse` shows beyond the 403 in debug mode: nothing more (``[]``),
        or ``None`` when debug mode is off."""
        apps = request.match_info.apps
        debug = self.debug or (len(apps) > 1 and debugging(apps))
        return [] if debug else None

    def path_methods(self, request: web.Request) -> set[str]:
        """What the 405 of a plain ``OPTIONS`` lists: the methods the resource serves."""
        route = request.match_info.route
        methods = {r.method for r in route.resource or ()} - {hdrs.METH_OPTIONS, _ANY}
        return methods | self._view_methods(route.handler)

    # -- actual responses ---------------------------------------------------------

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add the CORS headers of every response a CORS scope covers."""
        if response.__class__ is PreflightAnswer:
            return
        match_info = request.match_info
        apps = match_info.apps
        if apps[0] is not self.app and engines(apps)[0] is not self:
            return  # an enclosing application's engine decides
        method = request.method
        headers = request.headers
        if method == hdrs.METH_OPTIONS and ACRM in headers and ORIGIN in headers:
            return  # a preflight this library did not answer: not a CORS answer
        if self.csrf_protection and method not in SAFE_METHODS:
            decided = GUARD_DECIDED.get()
            # Not for a request a middleware replaced (request.clone(...)).
            if decided is not None and decided[0] is request:
                finish_actual(decided[1], decided[2], response.headers)
                return
        scope = self.route_scopes.get(match_info.route, UNDECIDED)
        if scope is UNDECIDED:
            scope = await self.response_scope(request)
        if scope is None or scope is EXCLUDED:
            return
        origin = headers.get(ORIGIN)
        options = None
        if origin is not None:
            policy = scope.policy
            # No coroutine unless a predicate answers with one (0.3 us a response).
            found = policy.lookup(origin, request) if policy.asks else policy.match(origin)
            options = await found.settle() if isinstance(found, Pending) else found
            several = options is not None and len(headers.getall(ORIGIN)) > 1
            if several:
                options = None
            if options is None:
                debug = self.debug or (len(apps) > 1 and debugging(apps))
                if debug or logger.isEnabledFor(logging.DEBUG):
                    reason = SEVERAL_ORIGINS
                    if not several:
                        reason = origin_not_allowed(origin, policy.empty) + policy.near_miss(origin)
                    self._explain(request, response, reason, debug)
            elif (
                (self.debug or (len(apps) > 1 and debugging(apps)))
                and not options.allow_credentials
                and (hdrs.COOKIE in headers or hdrs.AUTHORIZATION in headers)
            ):
                reason = credentials_not_allowed(origin)
                self._explain(request, response, reason, True, "no Allow-Credentials sent")
        finish_actual(options, origin, response.headers)

    @staticmethod
    def _explain(
        request: web.Request,
        response: web.StreamResponse,
        reason: str,
        debug: bool,
        outcome: str = "no CORS headers sent",
    ) -> None:
        """Say why a page cannot read an actual response: at DEBUG, and in debug mode in
        ``X-CORS-Error``."""
        logger.debug(
            "CORS: %s for %s %s (resource %s): %s",
            reason,
            logged(request.method),
            logged(request.path),
            describe(request),
            outcome,
        )
        if debug:
            response.headers[ERROR_HEADER] = reason


def _override(routes: dict[Any, Scope], resource: object, method: str) -> Scope | None:
    """An app-wide override of *method* on *resource*: the route's, else the resource's."""
    return (routes.get((resource, method)) or routes.get((resource, None))) if routes else None


def _private_network(
    request: web.Request, enabled: bool, answer: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """*answer* with the Private Network Access header, if enabled and asked for."""
    value = request.headers[ACRPN]
    if enabled and value.lower() == "true":
        return [*answer, (ACAPN, "true")]
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS: preflight for %s %s asks for Private Network Access "
            "(%s: %s), not enabled: answered without %s",
            logged(request.method),
            logged(request.path),
            ACRPN,
            logged(value),
            ACAPN,
        )
    return answer


def refuse(
    request: web.Request,
    reason: str,
    vary: str = PREFLIGHT_VARY,
    resource: web.AbstractResource | None = None,
    shown: list[tuple[str, str]] | None = None,
    policy: OriginPolicy | None = None,
) -> web.StreamResponse:
    """The 403 of a refused preflight, its reason logged at DEBUG (with the configured
    origin the request's nearly is, if *policy* has one).

    In debug mode (*shown* given) the answer is :func:`debug_refusal`'s.
    """
    if shown is not None or logger.isEnabledFor(logging.DEBUG):
        near = "" if policy is None else policy.near_miss(request.headers.get(ORIGIN, ""))
        _log_refusal(request, reason + near, resource)
        if shown is not None:
            return debug_refusal(reason, reason + near, vary, shown)
    # The body as bytes, its type set: what text= would send, 0.2 us sooner.
    headers = {VARY: vary, hdrs.CONTENT_TYPE: "text/plain; charset=utf-8"}
    return PreflightAnswer(status=403, body=(PREFLIGHT_FAILED + reason).encode(), headers=headers)


def _log_refusal(request: web.Request, said: str, resource: web.AbstractResource | None) -> None:
    sent = request.headers
    logger.debug(
        "CORS: preflight rejected for %s %s (resource %s, Origin %s, "
        "Access-Control-Request-Method %s, Access-Control-Request-Headers %s): %s",
        logged(request.method),
        logged(request.path),
        describe(request, resource),
        logged(sent.get(ORIGIN)),
        logged(sent.get(ACRM)),
        logged(",".join(sent.getall(ACRH, ()))),
        logged(said),
    )


def debug_refusal(
    reason: str, said: str, vary: str, shown: list[tuple[str, str]]
) -> web.StreamResponse:
    """A refused preflight in debug mode: *said* in ``X-CORS-Error``; when *shown* holds
    the CORS headers of the origin (:func:`debug_preflight`), they go out with a 200, so
    that the browser names the method or header refused; else the usual 403."""
    headers = {
        VARY: vary,
        hdrs.CONTENT_TYPE: "text/plain; charset=utf-8",
        ERROR_HEADER: said,
        **dict(shown),
    }
    body = (PREFLIGHT_FAILED + reason).encode()
    return PreflightAnswer(status=200 if shown else 403, body=body, headers=headers)


def installed(route: web.AbstractRoute) -> bool:
    """Whether *route* is an ``OPTIONS`` route this library installed."""
    return getattr(route.handler, "__func__", None) is Engine.answer_options


def debugging(apps: Sequence[web.Application]) -> bool:
    """Whether an application the request goes through is in debug mode (read on
    refusals only, so that turning it on or off while serving takes effect at once).
    The engine deciding asks only for a chain of several applications: alone, its
    application is the chain (2k instructions a refused preflight)."""
    for app in apps:
        engine = app.get(ENGINE_KEY)
        if engine is not None and engine.debug:
            return True
    return False


def engines(apps: Sequence[web.Application]) -> list[Engine]:
    """The engines of an application chain, outermost first."""
    return [engine for app in apps if (engine := app.get(ENGINE_KEY)) is not None]


def engine_of(app: web.Application) -> Engine:
    """The engine of *app*, created on first use."""
    engine = app.get(ENGINE_KEY)
    if engine is None:
        engine = app[ENGINE_KEY] = Engine(app)
    return engine


def describe(request: web.Request, resource: web.AbstractResource | None = None) -> str:
    """The resource a request concerns, for logs (its path pattern)."""
    if resource is not None:
        return logged(resource.canonical)
    match_info = request.match_info
    resource = match_info.route.resource
    if resource is not None:
        return logged(resource.canonical)
    allowed = getattr(match_info.http_exception, "allowed_methods", None)
    if allowed:
        return f"none for {logged(request.method)}: the path serves {', '.join(sorted(allowed))}"
    return "none: the router found no route"


#: Where each application's engine lives.
ENGINE_KEY: Final = web.AppKey("aiohttp_cors_engine", Engine)
