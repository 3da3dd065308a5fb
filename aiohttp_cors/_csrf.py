"""Cross-origin write protection: refuse unsafe requests that a page of another site
sent, unless the CORS policy of their route trusts that page's origin.

A browser says where a request comes from in ``Sec-Fetch-Site`` (Chrome 76, Firefox
90, Safari 16.4 and later) and ``Origin`` (cross-origin POSTs). The rule, for a method
other than GET, HEAD and OPTIONS, on a route a CORS configuration covers:

1. ``Sec-Fetch-Site: same-origin`` or ``none`` (typed into the address bar): allowed;
2. any other ``Sec-Fetch-Site`` (``cross-site``, ``same-site``, or a value no browser
   sends): allowed only if ``Origin`` is trusted here;
3. no ``Sec-Fetch-Site``: allowed without ``Origin`` (not a browser's request), else
   only if ``Origin`` is trusted here.

Trusted here: the request's own origin (its scheme and ``Host``), or an origin the
policy deciding the route's CORS headers allows. The WebSocket origin guard asks
the same question (:func:`trusted`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Final, cast

from aiohttp import ChainMapProxy, hdrs, web
from multidict import istr

from ._decision import logged, printable
from ._engine import ENGINE_KEY, GUARD_DECIDED, SAFE_METHODS, Engine, WithMethod, describe, logger
from ._headers import ORIGIN
from ._origins import origin_parts
from ._policy import OriginPolicy
from .resource_options import ResourceOptions

# Case-insensitive already: looked up without folding its case on each request.
SEC_FETCH_SITE: Final = istr("Sec-Fetch-Site")
#: Prefix of the text of every 403 the guard sends.
CSRF_REFUSED: Final = "Cross-origin request refused: "
#: What a browser sends for a request its user made, or one from the server's own pages.
_OWN_SITES: Final = ("same-origin", "none")
_NOTHING: Final[list[str]] = []
#: What ``Engine.guarded_routes`` gives for a route not decided yet.
_UNDECIDED: Final = OriginPolicy({})


async def trusted(
    request: web.Request, origin: str, policy: OriginPolicy | None, method: str | None = None
) -> bool:
    """Whether *origin* is the request's own origin (its scheme and ``Host``) or one
    *policy* allows (for *method*, if given: see :func:`writes`)."""
    if policy is not None:
        # Without predicates, no coroutine (0.3 us a request).
        found = await policy.options_for(origin, request) if policy.asks else policy.match(origin)
        if found is not None and (method is None or writes(found, method)):
            return True
    # Host, not request.host: without one, aiohttp would make one up.
    if hdrs.HOST not in request.headers:
        return False
    own = origin_parts(f"{request.scheme}://{request.host}")
    return own is not None and origin_parts(origin) == own


def writes(options: ResourceOptions, method: str) -> bool:
    """Whether an origin with *options* may send *method*: its ``allow_methods`` names
    it (upper-cased, as its preflights compare), or is ``"*"`` or says nothing (then
    the routes decide)."""
    allowed = options._compiled.methods  # None for "*" and for None
    return allowed is None or method.upper() in allowed


def deciding(apps: Sequence[web.Application]) -> int | None:
    """Whose setting applies to a request through *apps* (outermost first): the index of
    the innermost application that gave one, if that turned the guard on; ``None``
    if it is off (no application gave one, or the innermost one that did said no)."""
    for level in range(len(apps) - 1, -1, -1):
        engine = apps[level].get(ENGINE_KEY)
        if engine is not None and engine.csrf_protection is not None:
            return level if engine.csrf_protection else None
    return None


def exempt(apps: Sequence[web.Application], route: web.AbstractRoute) -> bool:
    """Whether an application of *apps* (the one whose setting applies, and those inside
    it) exempted *route*, its resource, or the path pattern its resource has (an
    application's prefixes stop at a sub-application mounted by domain, whose path
    patterns say nothing of its host)."""
    resource = route.resource
    canonical = resource.canonical if resource is not None else None
    for level, app in enumerate(apps):
        engine = app.get(ENGINE_KEY)
        if engine is None:
            continue
        if route in engine.csrf_exempt or resource in engine.csrf_exempt:
            return True
        if canonical is None or not engine.csrf_exempt_prefixes:
            continue
        if any(_by_domain(apps[j], apps[j + 1]) for j in range(level, len(apps) - 1)):
            continue
        for prefix in engine.csrf_exempt_prefixes:
            if canonical == prefix or canonical.startswith(prefix + "/"):
                return True
    return False


def _by_domain(parent: web.Application, child: web.Application) -> bool:
    """Whether *child* is mounted in *parent* with ``add_domain``."""
    for resource in parent.router.resources():
        info = resource.get_info()
        if info.get("app") is child:
            return "rule" in info
    return False


def passes(
    engine: Engine, request: web.Request, method: str, match_info: web.UrlMappingMatchInfo
) -> bool:
    """Whether an unsafe request (of *method*) goes on, as far as this can tell without a
    coroutine: the usual answers (a remembered route whose policy trusts the origin with
    this method, the server's own pages, not a browser's request). ``False``: ask
    :func:`refusal`. Saves a request the guard lets through 2,500 instructions."""
    headers = request.headers
    origins = headers.getall(ORIGIN, _NOTHING)
    # Kept for the guarded routes of a lone application alone: 1,000 instructions a
    # request saved.
    policy = engine.guarded_routes.get(match_info.route, _UNDECIDED)
    if policy is None:
        return True  # off, exempt, or no CORS configuration covers it
    if len(origins) == 1 and policy is not _UNDECIDED:
        origin = origins[0]
        # An exact origin without a call (500 instructions), as options_for() would
        # find it first; then the lookups, if no predicate is to be asked.
        options = policy.exact.get(origin)
        if options is None and not policy.asks:
            options = policy.match(origin)
        if options is not None:
            # What writes() says, for a method sent in capitals (as browsers send the
            # usual ones), with no call: 2,000 instructions a request saved.
            allowed = options._compiled.methods
            if allowed is None or method in allowed:
                GUARD_DECIDED.set((request, options, origin))
                return True
    site = headers.get(SEC_FETCH_SITE)
    if site is None:
        return not origins  # no browser sends an unsafe request without either
    return site in _OWN_SITES and len(headers.getall(SEC_FETCH_SITE)) == 1


async def refusal(
    engine: Engine,
    request: web.Request,
    match_info: web.UrlMappingMatchInfo,
    apps: Sequence[web.Application],
    routing: bool = False,
) -> str | None:
    """The text of the 403 of an unsafe request that :func:`passes` could not let
    through, if the rule refuses it; ``None`` if it may go on.

    *apps*: the applications the request goes through, as far as they are known. In
    app-wide mode's middleware (which also runs the check for its sub-applications, so
    that it comes before this application's middlewares), all of them. While the router
    is still resolving the request (*routing*: route mode's guard, :func:`guard_routing`),
    the application that turned the guard on and those inside it."""
    headers = request.headers
    origin = headers.get(ORIGIN)
    policy = engine.guarded_routes.get(match_info.route, _UNDECIDED)
    if policy is _UNDECIDED:
        asked = _asked(request, match_info, apps, routing)
        policy = await _guarding(engine, asked, match_info, apps, routing)
    if policy is None:
        return None  # off, exempt, or no CORS configuration covers it
    if origin is not None and len(headers.getall(ORIGIN)) == 1:
        asked = _asked(request, match_info, apps, routing)
        if await trusted(asked, origin, policy, request.method):
            return None
    sites = headers.getall(SEC_FETCH_SITE, _NOTHING)
    reason = _reason(sites, headers.getall(ORIGIN, _NOTHING))
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS: cross-origin %s %s refused (resource %s): %s",
            logged(request.method),
            logged(request.path),
            describe(request, match_info.route.resource),
            logged(reason),
        )
    return CSRF_REFUSED + reason


async def _guarding(
    engine: Engine,
    request: web.Request,
    match_info: web.UrlMappingMatchInfo,
    apps: Sequence[web.Application],
    routing: bool,
) -> OriginPolicy | None:
    """The policy that says which origins may write here: the one deciding the request's
    CORS headers (an excluded route's is empty: only the server's own origin is trusted
    there); ``None`` where the guard has nothing to say."""
    route = match_info.route
    level = deciding(apps)
    routed = match_info.http_exception is None
    scope = None
    if level is None or exempt(apps[level:], route):
        pass
    elif routed:
        scope = engine.routed_scope(request, route, apps)
    elif not routing:
        scope = await engine.response_scope(request)
    # else route mode: a request no route serves is left to aiohttp
    policy = None if scope is None else scope.policy
    # Kept like response_scope keeps its answer, and dropped with it (Engine.forget).
    if len(apps) == 1 and route.method == request.method and routed:
        engine.guarded_routes[route] = policy
    return policy


def _reason(sites: list[str], origins: list[str]) -> str:
    if not origins:
        said = f"Sec-Fetch-Site '{printable(sites[0])}'"
        return f"a request with {said} and no Origin is refused"
    if len(origins) > 1:
        return f"{len(origins)} Origin lines (a browser sends one)"
    origin = f"origin '{printable(origins[0])}'"
    if len(sites) > 1:
        return f"{len(sites)} Sec-Fetch-Site lines (a browser sends one); {origin} is not trusted"
    if sites:
        return f"{origin} is not trusted (Sec-Fetch-Site '{printable(sites[0])}')"
    return f"{origin} is neither this server's own origin nor allowed"


def configure(engine: Engine, protection: object, prefixes: object, called: str) -> list[str]:
    """Check the guard's arguments to *called* (``setup()`` or ``enable()``); if they are
    right, set them on *engine*. The problems found, each naming its fix."""
    problems = []
    if protection is not None and not isinstance(protection, bool):
        problems.append(f"csrf_protection={protection!r}: give True or False")
    elif protection is not None and engine.csrf_protection not in (None, protection):
        problems.append(
            f"csrf_protection={protection!r}: this application's CORS was already given "
            f"csrf_protection={engine.csrf_protection!r}; give it in one call"
        )
    found: list[str] = []
    if isinstance(prefixes, str) or not _iterable(prefixes):
        problems.append(
            f"csrf_exempt_prefixes={prefixes!r}: give a list of path prefixes, "
            "such as ['/webhooks']"
        )
    else:
        for prefix in prefixes:  # type: ignore[attr-defined]
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                problems.append(
                    f"csrf_exempt_prefixes: {prefix!r} is not a path prefix: "
                    "give one starting with '/', such as '/webhooks'"
                )
            elif prefix.rstrip("/") == "":
                problems.append(
                    f"csrf_exempt_prefixes: {prefix!r} would exempt every path: "
                    f"give {called} csrf_protection=False instead"
                )
            else:
                found.append(prefix.rstrip("/"))
    if not problems:
        if isinstance(protection, bool):
            engine.csrf_protection = protection
        engine.csrf_exempt_prefixes = (*engine.csrf_exempt_prefixes, *found)
        engine.forget()
    return problems


def _iterable(value: object) -> bool:
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def exempt_entity(engine: Engine, routing_entity: object) -> None:
    """Exempt a route (one method) or a resource (all of them) from the guard."""
    if isinstance(routing_entity, (web.AbstractRoute, web.AbstractResource)):
        subapp = (
            routing_entity.get_info().get("app")
            if isinstance(routing_entity, web.AbstractResource)
            else None
        )
        if isinstance(subapp, web.Application):
            raise ValueError(
                f"{routing_entity!r} is a sub-application: give it csrf_protection=False "
                "in its own setup() or enable() instead"
            )
        engine.csrf_exempt.add(routing_entity)
        engine.forget()
        return
    raise ValueError(f"Resource or route expected, got {routing_entity!r}")


def _asked(
    request: web.Request,
    match_info: web.UrlMappingMatchInfo,
    apps: Sequence[web.Application],
    routing: bool,
) -> web.Request:
    """The request as a predicate or a view's ``get_request_config`` is given it."""
    return cast(web.Request, _Routing(request, match_info, apps)) if routing else request


class _Routing:
    """A request the router is still resolving, as user code that route mode's guard
    asks (a predicate, a view's ``get_request_config``) sees it: ``match_info`` (its
    route, and the applications known so far: the one that turned the guard on and
    those inside it), ``app`` and ``config_dict`` work, everything else is the request's
    own."""

    __slots__ = ("_request", "match_info")

    def __init__(
        self,
        request: web.Request,
        match_info: web.UrlMappingMatchInfo,
        apps: Sequence[web.Application],
    ) -> None:
        self._request = request
        info = web.UrlMappingMatchInfo(dict(match_info), match_info.route)
        for app in reversed(apps):
            info.add_app(app)
        info.freeze()
        self.match_info = info

    @property
    def app(self) -> web.Application:
        return self.match_info.current_app

    @property
    def config_dict(self) -> ChainMapProxy:
        return ChainMapProxy(list(reversed(self.match_info.apps)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def guard_routing(engine: Engine) -> None:
    """Route mode's guard: it decides while the application's router resolves a request,
    before any middleware runs (aiohttp asks the router first, then runs the middlewares
    of every application on the way), and raises the 403.

    Not a middleware: once an application has one, aiohttp takes its middleware path on
    every request, 14,000 instructions (7% of a request) that a guarded PUT would pay
    on top of the check; here a safe request pays one call (1,300 instructions)."""
    resolve = engine.app.router.resolve

    def resolving(request: web.Request) -> Awaitable[web.UrlMappingMatchInfo]:
        method = request.method
        if method in SAFE_METHODS:
            return resolve(request)
        return guarded(request, method)

    async def guarded(request: web.Request, method: str) -> web.UrlMappingMatchInfo:
        match_info = await resolve(request)
        # The engine asking where another method is served (a preflight's) is let be.
        if not passes(engine, request, method, match_info) and not isinstance(request, WithMethod):
            apps = (engine.app, *match_info.apps)
            refused = await refusal(engine, request, match_info, apps, routing=True)
            if refused is not None:
                raise web.HTTPForbidden(text=refused)
        return match_info

    engine.app.router.resolve = resolving  # type: ignore[method-assign,assignment]
