"""The compiled policy: which options an origin gets, found by lookups.

An :class:`OriginPolicy` is built once from a normalised configuration
(:mod:`._config`) and never changes; reconfiguring builds a new one. It knows
nothing of requests or routing, and keeps no state between calls.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Iterator, Mapping
from types import MethodType
from typing import Any, Final

from ._decision import printable
from ._memo import Memo
from ._origins import OriginKey, OriginPattern, Predicate, origin_parts, split_request_origin
from .resource_options import ResourceOptions


class OriginPolicy:
    """Origin -> options for one resource and method, compiled once.

    Matching order: exact origins, subdomain and port wildcards, regular
    expressions (matched in full), predicates, then ``"*"``. Only an origin
    serialised as browsers serialise one (``null`` included) reaches a regular
    expression, a predicate or ``"*"``. ``"*"`` with credentials never matches
    ``null`` (anyone can send ``Origin: null``). The cost does not grow with the
    number of exact origins or wildcard patterns: they are dictionary lookups.
    """

    __slots__ = (
        "any_port",
        "asking",
        "asks",
        "beyond_exact",
        "empty",
        "exact",
        "hosts",
        "matched",
        "patterns",
        "predicates",
        "regexes",
        "star",
        "subdomains",
    )

    def __init__(self, config: Mapping[OriginKey, ResourceOptions]) -> None:
        self.exact: dict[str, ResourceOptions] = {}
        self.subdomains: dict[tuple[str, str, str], ResourceOptions] = {}
        self.any_port: dict[tuple[str, str], ResourceOptions] = {}
        self.regexes: list[tuple[re.Pattern[str], ResourceOptions]] = []
        self.predicates: list[tuple[Predicate, ResourceOptions]] = []
        self.star: ResourceOptions | None = None
        for key, options in config.items():
            if key == "*":
                self.star = options
            elif isinstance(key, re.Pattern):
                self.regexes.append((key, options))
            elif not isinstance(key, str):
                self.predicates.append((key, options))
            elif isinstance(key, OriginPattern) and key.subdomains:
                port = "*" if key.any_port else key.port
                self.subdomains[(key.scheme, key.host, port)] = options
            elif isinstance(key, OriginPattern) and key.any_port:
                self.any_port[(key.scheme, key.host)] = options
            else:
                self.exact[key] = options
        self.patterns = bool(self.subdomains or self.any_port or self.regexes)
        #: The predicates as they are called (:func:`_called`).
        self.asking = [(_called(key), options) for key, options in self.predicates]
        #: Whether predicates must be asked: then only ``lookup`` decides.
        self.asks = bool(self.predicates)
        #: Whether an origin that is not an exact key needs a closer look.
        self.beyond_exact = self.patterns or self.star is not None
        #: What the closer look said about the origins seen recently, by origin: whether
        #: it is well formed, and what the patterns gave it (a page's origin is parsed
        #: and matched once, not on each of its requests: 1.2 us saved a request with
        #: 1,000 wildcard patterns).
        self.matched: Memo[str, tuple[bool, ResourceOptions | None]] = Memo(1024, 256)
        self.empty = not (self.exact or self.patterns or self.predicates or self.star)
        #: host -> the exact keys on it, made when a near miss is first looked for.
        self.hosts: dict[str, list[tuple[str, tuple[str, str, str]]]] | None = None

    def match(self, origin: str) -> ResourceOptions | None:
        """The options for *origin*, ``None`` if not allowed, by lookups alone: for a
        policy without predicates (``asks`` is false)."""
        options = self.exact.get(origin)
        if options is None and self.beyond_exact:
            formed, options = self.matched.get(origin) or self._look_closer(origin)
            if options is None and formed:
                options = self._match_star(origin)
        return options

    def lookup(self, origin: str, request: Any) -> ResourceOptions | Pending | None:
        """The options for *origin*, asking the predicates after the lookups (*request*
        is what they are given); a :class:`Pending` when a predicate answered with an
        awaitable. A predicate that answers at once (a ``CachedOrigins`` that remembers
        the origin) costs no coroutine: 3,500 instructions a request saved."""
        options = self.exact.get(origin)
        if options is not None:
            return options
        formed, options = self.matched.get(origin) or self._look_closer(origin)
        if options is not None or not formed:
            return options
        return self._ask(origin, request, iter(self.asking))

    async def options_for(self, origin: str, request: Any) -> ResourceOptions | None:
        """:meth:`lookup`, its predicates' answers awaited."""
        found = self.lookup(origin, request)
        return await found.settle() if isinstance(found, Pending) else found

    def _ask(
        self, origin: str, request: Any, predicates: Iterator[tuple[Predicate, ResourceOptions]]
    ) -> ResourceOptions | Pending | None:
        """Ask *predicates* (the rest of them, in order), then ``"*"``."""
        for predicate, options in predicates:
            verdict = predicate(origin, request)
            if verdict is True:
                return options
            if verdict is not False and verdict is not None:
                if inspect.isawaitable(verdict):
                    return Pending(self, origin, request, verdict, options, predicates)
                if verdict:
                    return options
        return self._match_star(origin)

    def _match_star(self, origin: str) -> ResourceOptions | None:
        """``"*"``'s options for a well-formed *origin*."""
        star = self.star
        if star is None or (origin == "null" and star.allow_credentials):
            return None
        return star

    def _look_closer(self, origin: str) -> tuple[bool, ResourceOptions | None]:
        """Whether *origin* is well formed, and the options its patterns give it, kept
        in ``matched`` (read there first, without a call: 400 instructions saved): the
        request's ``Origin`` is parsed once here, and only if it is well formed does any
        pattern or regular expression see it."""
        parts = split_request_origin(origin)
        formed = parts is not None or origin == "null"
        options = self._match_patterns(origin, parts) if formed and self.patterns else None
        said = (formed, options)
        self.matched.put(origin, said, len(origin))
        return said

    def _match_patterns(
        self, origin: str, parts: tuple[str, str, str] | None
    ) -> ResourceOptions | None:
        if parts is not None:
            scheme, host, port = parts
            options = self.any_port.get((scheme, host))
            if options is not None:
                return options
            # One lookup per label boundary: "a.b.example.com" tries
            # "b.example.com", "example.com", "com" -- never a suffix that
            # does not start at a dot, never the whole host.
            subdomains = self.subdomains
            dot = host.find(".") if subdomains else -1
            while dot > 0:
                parent = host[dot + 1 :]
                options = subdomains.get((scheme, parent, port)) or subdomains.get(
                    (scheme, parent, "*")
                )
                if options is not None:
                    return options
                dot = host.find(".", dot + 1)
        for regex, options in self.regexes:
            if regex.fullmatch(origin):
                return options
        return None

    def near_miss(self, origin: str) -> str:
        """For a log line about *origin*, refused: the configured exact origin it nearly
        is (the same host, another scheme or port, a trailing slash, other case), as
        ``" (the configuration has ..., which differs in ...)"``; ``""`` if none."""
        parts = origin_parts(origin.rstrip("/"))
        if parts is None or (not self.asks and self.match(origin) is not None):
            return ""
        if self.hosts is None:
            self.hosts = {}
            for key in self.exact:
                key_parts = origin_parts(key.rstrip("/"))
                if key_parts is not None:
                    self.hosts.setdefault(key_parts[1], []).append((key, key_parts))
        for key, (scheme, _, port) in self.hosts.get(parts[1], ()):
            if key == origin:
                continue
            if scheme != parts[0]:
                what = "the scheme"
            elif port != parts[2]:
                what = "the port"
            elif key.endswith("/") or origin.endswith("/"):
                what = "a trailing slash"
            else:
                what = "case"
            return f" (the configuration has {printable(key)!r}, which differs in {what})"
        return ""

    def as_config(self) -> dict[OriginKey, ResourceOptions]:
        """The policy as an origin -> options mapping."""
        config: dict[OriginKey, ResourceOptions] = dict(self.exact)
        for (scheme, host, port), options in self.subdomains.items():
            any_port = port == "*"
            key = OriginPattern.build(scheme, host, "" if any_port else port, True, any_port)
            config[key] = options
        for (scheme, host), options in self.any_port.items():
            config[OriginPattern.build(scheme, host, "", False, True)] = options
        config.update(self.regexes)
        config.update(self.predicates)
        if self.star is not None:
            config["*"] = self.star
        return config


class Pending:
    """A predicate's awaitable answer, and the rest of the policy to ask after it."""

    __slots__ = ("options", "origin", "policy", "request", "rest", "verdict")

    def __init__(
        self,
        policy: OriginPolicy,
        origin: str,
        request: Any,
        verdict: Awaitable[Any],
        options: ResourceOptions,
        rest: Iterator[tuple[Predicate, ResourceOptions]],
    ) -> None:
        self.policy, self.origin, self.request = policy, origin, request
        self.verdict, self.options, self.rest = verdict, options, rest

    async def settle(self) -> ResourceOptions | None:
        """The options: the awaited answers, in the predicates' order."""
        pending = self
        while True:
            if await pending.verdict:
                return pending.options
            found = self.policy._ask(self.origin, self.request, self.rest)
            if not isinstance(found, Pending):
                return found
            pending = found


def _called(predicate: Any) -> Predicate:
    """*predicate* as the policy calls it: an object whose class writes ``__call__`` in
    Python (a ``CachedOrigins``) through its bound ``__call__``, which saves 650
    instructions a call over calling the object."""
    bound = predicate.__call__
    return bound if isinstance(bound, MethodType) else predicate


def merged(*levels: Mapping[OriginKey, ResourceOptions]) -> dict[OriginKey, ResourceOptions]:
    """One configuration from levels given most specific first: the first to name an
    origin decides its options."""
    result: dict[OriginKey, ResourceOptions] = {}
    for level in reversed(levels):
        result.update(level)
    return result


EMPTY_POLICY: Final = OriginPolicy({})
