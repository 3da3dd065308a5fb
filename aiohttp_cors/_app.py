"""App-wide mode: CORS for every route of an application, in one call.

A middleware, first in the application's list, answers preflights before any
other middleware runs (an authentication middleware never sees one); an
``on_response_prepare`` handler puts CORS headers on every other response,
aiohttp's own 404/405 and the 500 of an unhandled exception included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aiohttp import hdrs, web

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

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
    remember,
)
from ._origins import DEFAULT_PORTS, split_request_origin
from ._policy import (
    PREFLIGHT_FAILED,
    OriginPolicy,
    Pending,
    PreflightAnswer,
    decide_preflight,
    describe_resource,
    finish_actual,
    log_rejected_preflight,
    logger,
    merge,
    preflight_answer,
    printable,
)
from ._validate import CorsConfigError, Unsafe, validate
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

    __slots__ = ("config", "override_configs", "overrides", "policy", "preflights")

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
        #: Preflights decided under this snapshot, by route mode's version, host, path,
        #: origin, method and requested headers: what a preflight gets depends on
        #: nothing else, unless a predicate decides (never remembered). Bounded:
        #: emptied when full.
        self.preflights: dict[_PreflightKey, list[tuple[str, str]] | str] = {}

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
    request: web.Request,
    method: str,
    memo: dict[tuple[str, str, str], web.AbstractResource | None],
) -> web.AbstractResource | None:
    """The resource behind aiohttp's 405 for this path: the one serving *method*, if any.

    Only asked when some resource has an override or is excluded, and only for
    requests the router could not route as they are (preflights, 405s). The
    answers for recent (host, path, method) are kept in *memo* (bounded: emptied
    when full).
    """
    exception = request.match_info.http_exception
    if not isinstance(exception, web.HTTPMethodNotAllowed):
        return None
    path = request.rel_url.raw_path
    key = (request.host, path, method)
    try:
        return memo[key]
    except KeyError:
        pass
    allowed = exception.allowed_methods
    candidates = [method] if method in allowed else []
    candidates += sorted(allowed)
    router = request.match_info.apps[0].router
    found = None
    for candidate in candidates:
        match_info = await router.resolve(request.clone(method=candidate))
        if match_info.http_exception is None:
            found = match_info.route.resource
            break
    if len(path) + len(key[0]) <= _MEMO_PATH_MAX:
        remember(memo, key, found, _MEMO_MAX)
    return found


_NO_LINES: Final[list[str]] = []
_MEMO_MAX: Final = 1024
_MEMO_PATH_MAX: Final = 512
_PREFLIGHT_KEY_MAX: Final = 2048
_KEY_LINES: Final = MAX_REQUEST_HEADER_LINES + 1
#: Route mode's version, host, path, origin, requested method, requested headers
#: (one line, or all of them).
_PreflightKey = tuple[int, str, str, str, str, "str | tuple[str, ...]"]


def _owner(request: web.Request) -> AppCors | None:
    """The app-wide CORS of the innermost application (a sub-app may override)."""
    for app in reversed(request.match_info.apps):
        cors = app.get(APP_CORS_KEY)
        if cors is not None:
            return cors
    return None


#: Prefix of the text of every WebSocket handshake the origin guard refuses (403).
WEBSOCKET_REFUSED: Final = "WebSocket handshake rejected: "


def _is_websocket_handshake(request: web.Request) -> bool:
    if request.method != hdrs.METH_GET:
        return False
    upgrade = request.headers.get(hdrs.UPGRADE)
    return upgrade is not None and "websocket" in upgrade.lower()


def _origin_parts(origin: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of *origin*, lower-cased, without the scheme's default port."""
    parts = split_request_origin(origin.lower())
    if parts is None:
        return None
    scheme, host, port = parts
    return scheme, host, "" if DEFAULT_PORTS.get(scheme) == port else port


def _same_origin(request: web.Request, origin: str) -> bool:
    """Whether *origin* is the origin the request was sent to (its scheme and ``Host``)."""
    parts = _origin_parts(origin)
    return parts is not None and parts == _origin_parts(f"{request.scheme}://{request.host}")


def _split(routing_entity: Any) -> tuple[web.AbstractResource, str | None]:
    if isinstance(routing_entity, web.AbstractRoute) and routing_entity.resource is not None:
        method = routing_entity.method
        return routing_entity.resource, None if method == hdrs.METH_ANY else method
    if isinstance(routing_entity, web.AbstractResource):
        return routing_entity, None
    raise ValueError(f"Resource or route expected, got {routing_entity!r}")


class AppCors:
    """CORS for a whole application; created by :func:`enable`."""

    def __init__(
        self,
        app: web.Application,
        config: Config | None,
        unsafe: Unsafe,
        allow_private_network: bool = False,
        guard_websockets: bool = False,
    ) -> None:
        problems = [
            f"{name}={flag!r}: give True or False"
            for name, flag in (
                ("allow_private_network", allow_private_network),
                ("guard_websockets", guard_websockets),
            )
            if not isinstance(flag, bool)
        ]
        try:
            validate(config, unsafe)
        except CorsConfigError as error:
            problems[:0] = error.problems
        if problems:
            raise CorsConfigError(problems)
        self._app = app
        self._unsafe = unsafe
        self._private_network = allow_private_network
        self._preflight_vary = PNA_PREFLIGHT_VARY if allow_private_network else PREFLIGHT_VARY
        self._guard_websockets = False
        self.guard_websockets = guard_websockets
        self._at_path: dict[tuple[str, str, str], web.AbstractResource | None] = {}
        self._state = _State(parse_config(config), {})
        app.middlewares.insert(0, _preflight_middleware(self))
        app.on_response_prepare.append(self._on_response_prepare)

    #: Whether any AppCors ever guarded WebSocket handshakes: if not, the
    #: middleware does not even look for one.
    _any_guard = False

    @property
    def guard_websockets(self) -> bool:
        """Refuse (403) WebSocket handshakes from origins the policy does not allow."""
        return self._guard_websockets

    @guard_websockets.setter
    def guard_websockets(self, value: bool) -> None:
        self._guard_websockets = value
        if value:
            AppCors._any_guard = True

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

    async def _decide(
        self, request: web.Request, origin: str, method: str, key: _PreflightKey
    ) -> list[tuple[str, str]] | str | None:
        """Decide a preflight: the headers of the 200 answer, the reason for a 403, or
        ``None`` when it is not this policy's to answer (excluded, route mode).

        Answers that depend only on *key* are remembered in the snapshot in force.
        """
        state = self._state
        resource = request.match_info.route.resource
        if resource is None and state.overrides:
            resource = await _resource_at_path(request, method, self._at_path)
        if resource is not None and ROUTE_MODE_ENTRIES.adapters and resource in ROUTE_MODE_ENTRIES:
            return None
        policy = state.lookup(resource, method)
        if policy is EXCLUDED:
            return None
        assert isinstance(policy, OriginPolicy)
        headers = request.headers
        vary = self._preflight_vary
        answer = decide_preflight(policy, origin, method, headers, _served_methods(request), vary)
        if isinstance(answer, Pending):
            # A predicate decides: asked every time, never remembered.
            return preflight_answer(
                policy,
                await policy.match_async(origin, request),
                origin,
                method,
                headers,
                _served_methods(request),
                vary,
            )
        if isinstance(answer, str) and logger.isEnabledFor(logging.DEBUG):
            if resource is None:
                resource = await _resource_at_path(request, method, self._at_path)
            where = ascii(resource.canonical) if resource is not None else None
            log_rejected_preflight(request, answer, where)
        requested = key[5]
        size = len(key[1]) + len(key[2]) + len(origin) + len(method)
        size += len(requested) if isinstance(requested, str) else sum(map(len, requested))
        if size <= _PREFLIGHT_KEY_MAX:
            remember(state.preflights, key, answer, _MEMO_MAX)
        return answer

    def _respond(
        self, request: web.Request, answer: list[tuple[str, str]] | str
    ) -> web.StreamResponse:
        """The response to a preflight decided by ``_decide``."""
        if isinstance(answer, str):
            return PreflightAnswer(
                status=403, text=PREFLIGHT_FAILED + answer, headers={VARY: self._preflight_vary}
            )
        headers = request.headers
        if ACRPN in headers:
            if self._private_network and headers[ACRPN].lower() == "true":
                answer = [*answer, (ACAPN, "true")]  # the answer may be shared: a copy
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "CORS: preflight for %s %s asks for Private Network Access "
                    "(%s: %s), not enabled: answered without %s",
                    ascii(request.method),
                    ascii(request.path),
                    ACRPN,
                    ascii(headers[ACRPN]),
                    ACAPN,
                )
        return PreflightAnswer(headers=answer)

    async def _websocket_refusal(self, request: web.Request, origin: str) -> str | None:
        """Why a WebSocket handshake from *origin* must be refused, or ``None``."""
        if _same_origin(request, origin):
            return None
        state = self._state
        resource = request.match_info.route.resource
        entry = ROUTE_MODE_ENTRIES.get(resource) if resource is not None else None
        if entry is not None:
            policy: OriginPolicy | _Excluded = OriginPolicy(entry.config_for(hdrs.METH_GET))
        else:
            policy = state.lookup(resource, hdrs.METH_GET)
        if isinstance(policy, OriginPolicy) and await policy.match_async(origin, request):
            return None
        return f"origin '{printable(origin)}' is not allowed"

    async def _on_response_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        if response.__class__ is PreflightAnswer:
            return
        match_info = request.match_info
        if len(match_info.apps) > 1 and _owner(request) is not self:
            return  # a sub-application's own app-wide CORS answers
        state = self._state
        if state.overrides or ROUTE_MODE_ENTRIES.adapters:
            resource = match_info.route.resource
            if resource is None and state.overrides:
                try:
                    resource = self._at_path[request.host, request.rel_url.raw_path, request.method]
                except KeyError:
                    resource = await _resource_at_path(request, request.method, self._at_path)
            if (
                resource is not None
                and ROUTE_MODE_ENTRIES.adapters
                and resource in ROUTE_MODE_ENTRIES
            ):
                return
            policy = state.lookup(resource, request.method)
            if policy is EXCLUDED:
                return
            assert isinstance(policy, OriginPolicy)
        else:
            policy = state.policy
        origin = request.headers.get(ORIGIN)
        options: ResourceOptions | None = None
        if origin is not None:
            found = policy.match(origin)
            options = (
                await policy.match_async(origin, request) if isinstance(found, Pending) else found
            )
        finish_actual(options, origin, response.headers, request)


def _preflight_middleware(cors: AppCors) -> Middleware:
    """The middleware of *cors*'s application, first in its list."""

    @web.middleware
    async def cors_preflights(request: web.Request, handler: _Handler) -> web.StreamResponse:
        """Answer preflights first; everything else goes on to the application."""
        if request.method == hdrs.METH_OPTIONS:
            headers = request.headers
            origin = headers.get(ORIGIN)
            method = headers.get(ACRM)
            if origin is not None and method is not None:
                # Alone in the chain, the application is cors's own.
                owner = cors if len(request.match_info.apps) == 1 else _owner(request)
                if owner is not None:
                    lines = headers.getall(ACRH, _NO_LINES)
                    key: _PreflightKey = (
                        ROUTE_MODE_ENTRIES.version,
                        request.host,
                        request.rel_url.raw_path,
                        origin,
                        method,
                        # Beyond the line cap every preflight is refused alike: the
                        # first lines are enough to tell.
                        lines[0] if len(lines) == 1 else tuple(lines[:_KEY_LINES]),
                    )
                    answer = owner._state.preflights.get(key)
                    if answer is None or (
                        answer.__class__ is str and logger.isEnabledFor(logging.DEBUG)
                    ):
                        answer = await owner._decide(request, origin, method, key)
                    if answer is not None:
                        return owner._respond(request, answer)
        elif AppCors._any_guard and _is_websocket_handshake(request):
            headers = request.headers
            origin = headers.get(ORIGIN) or headers.get(_LEGACY_WEBSOCKET_ORIGIN)
            owner = _owner(request)
            if origin is not None and owner is not None and owner.guard_websockets:
                refusal = await owner._websocket_refusal(request, origin)
                if refusal is not None:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug(
                            "CORS: WebSocket handshake rejected for %s (resource %s): %s",
                            ascii(request.path),
                            describe_resource(request),
                            ascii(refusal),
                        )
                    return web.Response(status=403, text=WEBSOCKET_REFUSED + refusal)
        return await handler(request)

    return cors_preflights


# Sent instead of Origin by browsers of the pre-RFC 6455 protocol drafts.
_LEGACY_WEBSOCKET_ORIGIN: Final = "Sec-WebSocket-Origin"


#: Where :func:`enable` stores the application's ``AppCors``.
APP_CORS_KEY = web.AppKey("aiohttp_cors_app", AppCors)


def enable(
    app: web.Application,
    config: Config | None = None,
    *,
    unsafe: Unsafe = Unsafe.NONE,
    allow_private_network: bool = False,
    guard_websockets: bool = False,
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
    neither the server's own origin nor allowed by the policy.
    """
    if APP_CORS_KEY in app:
        raise ValueError(f"app-wide CORS is already enabled for {app!r}")
    cors = AppCors(app, config, unsafe, allow_private_network, guard_websockets)
    app[APP_CORS_KEY] = cors
    return cors
