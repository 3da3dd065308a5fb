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
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import hdrs, web
from multidict import istr

from ._decision import logged, printable
from ._engine import ENGINE_KEY, UNDECIDED, Engine, Handler, Scope, describe, engines, logger
from ._headers import ORIGIN
from ._origins import origin_parts
from .resource_options import ResourceOptions

# Case-insensitive already: looked up without folding its case on each request.
SEC_FETCH_SITE: Final = istr("Sec-Fetch-Site")
#: Prefix of the text of every 403 the guard sends.
CSRF_REFUSED: Final = "Cross-origin request refused: "
#: The methods the guard lets through: a browser sends them cross-site freely, and
#: HTTP says they change nothing.
SAFE_METHODS: Final = frozenset({hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS})
#: What a browser sends for a request its user made, or one from the server's own pages.
_OWN_SITES: Final = ("same-origin", "none")
_NOTHING: Final[list[str]] = []


async def trusted(
    request: web.Request, origin: str, scope: Scope | None, method: str | None = None
) -> bool:
    """Whether *origin* is the request's own origin (its scheme and ``Host``) or one
    *scope*'s policy allows (for *method*, if given: see :func:`writes`)."""
    if scope is not None:
        policy = scope.policy
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


def protected(engine: Engine, apps: Sequence[web.Application]) -> bool:
    """Whether the guard is on for a request to the innermost of *apps*: the setting of
    the innermost application that has one (off if none has)."""
    for found in reversed(engines(apps)):
        if found.csrf_protection is not None:
            return found.csrf_protection
    return False


def exempt(apps: Sequence[web.Application], route: web.AbstractRoute) -> bool:
    """Whether an application of the chain exempted *route*, its resource, or the path
    pattern its resource has (an application's prefixes stop at a sub-application
    mounted by domain, whose path patterns say nothing of its host)."""
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


async def refusal(engine: Engine, request: web.Request) -> web.StreamResponse | None:
    """The 403 of an unsafe request the rule refuses; ``None`` if it may go on.

    Called for unsafe methods by the middleware of each application that turned the
    guard on (a sub-application may have turned it off again: ``protected``), and by
    app-wide mode's middleware for its sub-applications' requests, which may have
    turned it on, so that the guard runs before the enclosing application's
    middlewares too."""
    headers = request.headers
    site = headers.get(SEC_FETCH_SITE)
    origin = headers.get(ORIGIN)
    if site is None and origin is None:
        return None  # no browser sends an unsafe request without either
    if site in _OWN_SITES and len(headers.getall(SEC_FETCH_SITE)) == 1:
        return None
    match_info = request.match_info
    # Kept for the guarded routes of a lone application alone: 1,000 instructions a
    # request saved.
    scope = engine.guarded_routes.get(match_info.route, UNDECIDED)
    if scope is UNDECIDED:
        if not protected(engine, match_info.apps):
            return None
        scope = await _guarding(engine, request)
    if scope is None:
        return None  # exempt, or no CORS configuration covers it
    if origin is not None and len(headers.getall(ORIGIN)) == 1:
        policy = scope.policy
        # The policy's lookups first, without a coroutine (0.2 us a request).
        if not policy.asks:
            # An exact origin without a call (500 instructions); then every lookup.
            options = policy.exact.get(origin) or policy.match(origin)
            if options is not None:
                # What writes() says, for a method sent in capitals (as browsers send
                # the usual ones), with no call: 2,000 instructions a request saved.
                allowed = options._compiled.methods
                if allowed is None or request.method in allowed:
                    return None
        if await trusted(request, origin, scope, request.method):
            return None
    sites = headers.getall(SEC_FETCH_SITE, _NOTHING)
    return _refuse(request, _reason(sites, headers.getall(ORIGIN, _NOTHING)))


async def _guarding(engine: Engine, request: web.Request) -> Scope | None:
    """The scope whose policy says which origins may write here: the one deciding the
    request's CORS headers (an excluded route's has an empty policy: only the server's
    own origin is trusted there); ``None`` where the guard has nothing to say."""
    match_info = request.match_info
    route = match_info.route
    apps = match_info.apps
    scope = None if exempt(apps, route) else await engine.response_scope(request)
    # Kept like response_scope keeps its answer, and dropped with it (Engine.forget).
    if len(apps) == 1 and route.method == request.method and match_info.http_exception is None:
        engine.guarded_routes[route] = scope
    return scope


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


def _refuse(request: web.Request, reason: str) -> web.StreamResponse:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS: cross-origin %s %s refused (resource %s): %s",
            logged(request.method),
            logged(request.path),
            describe(request),
            logged(reason),
        )
    return web.Response(status=403, text=CSRF_REFUSED + reason)


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


def middleware(engine: Engine) -> Any:
    """Route mode's guard: a middleware first in the application's list (app-wide mode's
    middleware runs the same check)."""

    @web.middleware
    async def cors_write_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse unsafe cross-origin requests the policy does not trust."""
        if request.method not in SAFE_METHODS:
            refused = await refusal(engine, request)
            if refused is not None:
                return refused
        return await handler(request)

    return cors_write_guard
