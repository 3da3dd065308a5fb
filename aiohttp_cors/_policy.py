"""The CORS decision: which headers an answer carries, or why a preflight fails.

Pure functions over a compiled :class:`OriginPolicy`; no routing, no I/O.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Container, Mapping
from typing import Any, Final

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ._headers import (
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    ACRH,
    ACRM,
    MAX_REQUEST_HEADER_LINES,
    ORIGIN,
    PREFLIGHT_VARY,
    VARY,
    expose_all_value,
    is_token,
    merge_vary,
    parse_request_headers,
    remember,
)
from ._origins import Predicate, parse_origin, split_request_origin
from .resource_options import ResourceOptions

#: The library's logger: at DEBUG it says why each CORS request was refused.
logger: Final = logging.getLogger("aiohttp_cors")

#: Prefix of the text of every rejected preflight (403).
PREFLIGHT_FAILED: Final = "CORS preflight request failed: "

# What a browser can send as a serialized origin: scheme "://" host [":" port],
# ASCII only (hosts are punycode). Checked before an origin is echoed because
# of a "*" entry, so that no odd bytes are reflected.
_SERIALIZED_ORIGIN: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9.\-_~%:\[\]]+")


# What the patterns of a policy said about an origin, for the origins seen
# recently: a page's origin is matched once, not on each of its requests.
# Bounded (emptied when full; long origins are not kept), so that no client
# can make it grow; policies are immutable, so an entry never goes stale.
_PATTERN_MATCHES: dict[tuple[OriginPolicy, str], ResourceOptions | None] = {}
_MEMO_MAX: Final = 1024
_MEMO_ORIGIN_MAX: Final = 256


class PreflightAnswer(web.Response):
    """A preflight answered by this library: the prepare hooks leave it alone."""


class Pending:
    """``match`` could not decide without asking a predicate (see ``match_async``)."""

    __slots__ = ()


PENDING: Final = Pending()


class OriginPolicy:
    """Origin -> options for one resource and method, compiled once.

    Matching order: exact origins, subdomain and port wildcards, regular
    expressions (matched in full), predicates, then ``"*"``. ``"*"`` never
    matches the ``null`` origin (anyone can send ``Origin: null``), which is
    allowed only when listed. The cost does not grow with the number of exact
    origins or wildcard patterns: they are dictionary lookups.
    """

    __slots__ = (
        "any_port",
        "empty",
        "exact",
        "patterns",
        "predicates",
        "regexes",
        "star",
        "subdomains",
    )

    def __init__(self, merged: Mapping[Any, ResourceOptions]) -> None:
        self.exact: dict[str, ResourceOptions] = {}
        self.subdomains: dict[tuple[str, str, str], ResourceOptions] = {}
        self.any_port: dict[tuple[str, str], ResourceOptions] = {}
        self.regexes: list[tuple[re.Pattern[str], ResourceOptions]] = []
        self.predicates: list[tuple[Predicate, ResourceOptions]] = []
        self.star: ResourceOptions | None = None
        for key, options in merged.items():
            if key == "*":
                self.star = options
            elif isinstance(key, re.Pattern):
                self.regexes.append((key, options))
            elif not isinstance(key, str):
                self.predicates.append((key, options))
            elif "*" not in key:
                self.exact[key] = options
            else:
                pattern, _ = parse_origin(key)
                if pattern is None:
                    self.exact[key] = options
                elif pattern.subdomains:
                    port = "*" if pattern.any_port else pattern.port
                    self.subdomains[(pattern.scheme, pattern.host, port)] = options
                else:
                    self.any_port[(pattern.scheme, pattern.host)] = options
        self.patterns = bool(self.subdomains or self.any_port or self.regexes)
        self.empty = not (self.exact or self.patterns or self.predicates or self.star)

    def __bool__(self) -> bool:
        return not self.empty

    def match(self, origin: str) -> ResourceOptions | Pending | None:
        """The options for *origin*: ``None`` if not allowed, ``PENDING`` to ask predicates."""
        options = self.exact.get(origin)
        if options is not None:
            return options
        if self.patterns:
            key = (self, origin)
            try:
                options = _PATTERN_MATCHES[key]
            except KeyError:
                options = self._match_patterns(origin)
                if len(origin) <= _MEMO_ORIGIN_MAX:
                    remember(_PATTERN_MATCHES, key, options, _MEMO_MAX)
            if options is not None:
                return options
        if self.predicates:
            return PENDING
        return self._match_star(origin)

    async def match_async(self, origin: str, request: Any) -> ResourceOptions | None:
        """``match``, asking the predicates (sync or async) where needed."""
        options = self.match(origin)
        if not isinstance(options, Pending):
            return options
        for predicate, predicate_options in self.predicates:
            verdict = predicate(origin, request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if verdict:
                return predicate_options
        return self._match_star(origin)

    def _match_star(self, origin: str) -> ResourceOptions | None:
        star = self.star
        if star is not None and origin != "null" and _SERIALIZED_ORIGIN.fullmatch(origin):
            return star
        return None

    def _match_patterns(self, origin: str) -> ResourceOptions | None:
        parts = split_request_origin(origin)
        if parts is not None:
            scheme, host, port = parts
            if self.any_port:
                options = self.any_port.get((scheme, host))
                if options is not None:
                    return options
            if self.subdomains:
                # One lookup per label boundary: "a.b.example.com" tries
                # "b.example.com", "example.com", "com" -- never a suffix
                # that does not start at a dot, never the whole host.
                subdomains = self.subdomains
                dot = host.find(".")
                while dot > 0:
                    parent = host[dot + 1 :]
                    options = subdomains.get((scheme, parent, port))
                    if options is None:
                        options = subdomains.get((scheme, parent, "*"))
                    if options is not None:
                        return options
                    dot = host.find(".", dot + 1)
        for regex, options in self.regexes:
            if regex.fullmatch(origin):
                return options
        return None

    def as_config(self) -> dict[Any, ResourceOptions]:
        """The policy as an origin -> options mapping."""
        config: dict[Any, ResourceOptions] = dict(self.exact)
        for (scheme, host, port), options in self.subdomains.items():
            suffix = f":{port}" if port else ""
            config[f"{scheme}://*.{host}{suffix}"] = options
        for (scheme, host), options in self.any_port.items():
            config[f"{scheme}://{host}:*"] = options
        config.update(self.regexes)
        config.update(self.predicates)
        if self.star is not None:
            config["*"] = self.star
        return config


def merge(*levels: Mapping[Any, ResourceOptions]) -> OriginPolicy:
    """One policy from configuration levels given most specific first.

    Equal merged configurations share one policy: an application that enables
    CORS on thousands of routes with the same options compiles it once.
    """
    merged: dict[Any, ResourceOptions] = {}
    for level in reversed(levels):
        merged.update(level)
    try:
        key = tuple(merged.items())
        return _POLICIES[key]
    except TypeError:  # an unhashable predicate: compiled for itself
        return OriginPolicy(merged)
    except KeyError:
        pass
    policy = OriginPolicy(merged)
    remember(_POLICIES, key, policy, _POLICIES_MAX)
    return policy


# Compiled policies by content (bounded: emptied when full, which only loses sharing).
_POLICIES: dict[tuple[tuple[Any, ResourceOptions], ...], OriginPolicy] = {}
_POLICIES_MAX: Final = 4096


EMPTY_POLICY: Final = OriginPolicy({})


def printable(value: str, limit: int = 200) -> str:
    """*value* as printable ASCII for a rejection text: escapes control characters,
    non-ASCII characters and undecodable bytes, caps the length."""
    if len(value) <= limit and value.isascii() and value.isprintable():
        return value
    # Cut before escaping: the work does not depend on how long the value is.
    shown = ascii(value[: limit + 1])[1:-1]
    return shown if len(shown) <= limit else shown[:limit] + "..."


def method_not_allowed(method: str, origin: str) -> str:
    """The rejection reason for a method the configuration does not allow."""
    return f"request method '{printable(method)}' is not allowed for '{printable(origin)}' origin"


def preflight_answer(
    policy: OriginPolicy,
    options: ResourceOptions | None,
    origin: str,
    method: str,
    request_headers: CIMultiDictProxy[str],
    route_methods: Container[str],
    vary: str = PREFLIGHT_VARY,
) -> list[tuple[str, str]] | str:
    """Decide a preflight: the headers of the 200 answer, or the rejection reason.

    *request_headers* are the preflight's headers; *route_methods* are the
    methods that count as allowed when the options say ``allow_methods=None``.
    """
    if options is None:
        if policy.empty:
            return "no origins are allowed"
        return f"origin '{printable(origin)}' is not allowed"
    compiled = options._compiled
    methods = compiled.methods
    if methods is not None:
        method_ok = method in methods
    elif compiled.any_method:
        method_ok = is_token(method)
    else:
        method_ok = method in route_methods
    if not method_ok:
        return method_not_allowed(method, origin)
    requested = parse_request_headers(request_headers.getall(ACRH, _NO_LINES))
    if requested is None:
        return MALFORMED_REQUEST_HEADERS
    names = requested.names
    allowed = compiled.allowed_headers
    if names and not compiled.allow_any_header and not requested.names_set <= allowed:
        denied = [name for name in names if name not in allowed]
        return "headers are not allowed: " + printable(", ".join(n.upper() for n in denied))
    answer = [(ACAO, origin), *compiled.preflight_headers, (ACAM, method)]
    if names:
        answer.append((ACAH, requested.value))
    answer.append((VARY, vary))
    return answer


_NO_LINES: Final[list[str]] = []
MALFORMED_REQUEST_HEADERS: Final = (
    "'Access-Control-Request-Headers' header is malformed or too long"
)


def decide_preflight(
    policy: OriginPolicy,
    origin: str,
    method: str,
    request_headers: CIMultiDictProxy[str],
    route_methods: Container[str],
    vary: str = PREFLIGHT_VARY,
) -> list[tuple[str, str]] | str | Pending:
    """``preflight_answer`` for the options *policy* has for *origin*, remembered.

    Browsers repeat the same few preflights; each distinct one is decided once
    (bounded: emptied when full, long values not kept). ``PENDING`` when a
    predicate must be asked (see ``preflight_answer``). The answer is shared:
    copy it before changing it.
    """
    lines = request_headers.getall(ACRH, _NO_LINES)
    if len(lines) > MAX_REQUEST_HEADER_LINES:
        return MALFORMED_REQUEST_HEADERS  # nothing done per line; nothing remembered
    requested: str | tuple[str, ...] = lines[0] if len(lines) == 1 else tuple(lines)
    methods = route_methods if isinstance(route_methods, frozenset) else None
    key = (policy, methods, origin, method, requested, vary)
    try:
        return _ANSWERS[key]
    except KeyError:
        pass
    options = policy.match(origin)
    if isinstance(options, Pending):
        return options
    answer = preflight_answer(policy, options, origin, method, request_headers, route_methods, vary)
    if (
        methods is not None
        or options is None
        or options._compiled.methods is not None
        or options._compiled.any_method
    ) and len(origin) + len(method) + sum(map(len, lines)) <= _ANSWER_KEY_MAX:
        remember(_ANSWERS, key, answer, _MEMO_MAX)
    return answer


_ANSWERS: dict[tuple[Any, ...], list[tuple[str, str]] | str] = {}
_ANSWER_KEY_MAX: Final = 1024


def add_actual_headers(options: ResourceOptions, origin: str, headers: CIMultiDict[str]) -> None:
    """Add the CORS headers of an allowed actual (non-preflight) response.

    A handler that set ``Access-Control-Allow-Origin`` itself owns the CORS
    headers of its response: they are left as they are. Any other CORS header
    it set wins over the configured one.
    """
    if ACAO in headers:
        return
    compiled = options._compiled
    if compiled.expose_all:
        expose = expose_all_value(headers)
        headers[ACAO] = origin
        for name, value in compiled.actual_headers:
            headers.setdefault(name, value)
        if expose:
            headers.setdefault(ACEH, expose)
        return
    headers[ACAO] = origin
    for name, value in compiled.actual_headers:
        headers.setdefault(name, value)


def finish_actual(
    options: ResourceOptions | None,
    origin: str | None,
    headers: CIMultiDict[str],
    request: Any,
) -> None:
    """Complete an actual response of a CORS-enabled resource.

    ``Vary: Origin`` goes on every such response, with or without an allowed
    Origin, so that no cache hands one origin's answer to another.
    """
    if origin is not None:
        if options is not None:
            add_actual_headers(options, origin, headers)
        elif logger.isEnabledFor(logging.DEBUG):
            log_refused_origin(request, origin)
    if VARY in headers:
        merge_vary(headers)
    else:
        headers[VARY] = "Origin"


def log_refused_origin(request: Any, origin: str) -> None:
    """Say at DEBUG that an actual request's origin got no CORS headers."""
    logger.debug(
        "CORS: origin %s is not allowed for %s %s (resource %s): no CORS headers sent",
        ascii(origin),
        ascii(request.method),
        ascii(request.path),
        describe_resource(request),
    )


def log_rejected_preflight(request: Any, reason: str, resource: str | None = None) -> None:
    """Say at DEBUG why a preflight failed; request-controlled values are escaped.

    *resource* describes the resource when the request's own routing does not.
    """
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS: preflight rejected for %s %s (resource %s, Origin %s, "
            "Access-Control-Request-Method %s, Access-Control-Request-Headers %s): %s",
            ascii(request.method),
            ascii(request.path),
            resource or describe_resource(request),
            ascii(request.headers.get(ORIGIN)),
            ascii(request.headers.get(ACRM)),
            ascii(",".join(request.headers.getall(ACRH, ()))),
            ascii(reason),
        )


def describe_resource(request: Any) -> str:
    """The resource a request was routed to, for logs (its path pattern)."""
    match_info = request.match_info
    resource = match_info.route.resource
    if resource is not None:
        return ascii(resource.canonical)
    allowed = getattr(match_info.http_exception, "allowed_methods", None)
    if allowed:
        served = ", ".join(sorted(allowed))
        return f"none for {request.method!a}: the path serves {served}"
    return "none: the router found no route"
