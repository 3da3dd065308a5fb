"""Configuration: one pass turns what users write into normalised origin -> options.

Each origin string is parsed once, here. Route mode (``setup``/``CorsConfig``,
0.8.1's API) and app-wide mode (``enable``) run the same pass; they differ only
in which problems are errors: route mode raises the first of the problems 0.8.1
raised (with 0.8.1's message), ``enable`` raises one :class:`CorsConfigError`
listing every problem, the strict ones included.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from publicsuffixlist import PublicSuffixList

from ._headers import FORBIDDEN_REQUEST_HEADERS, SAFELISTED_RESPONSE_HEADERS, TOKEN_RE
from ._origins import OriginKey, parse_origin
from .resource_options import ResourceOptions, parse_options

__all__ = ("CorsConfigError", "Unsafe", "compile_config", "problems_in", "validate")

#: Methods a browser refuses to send (Fetch), whatever the server allows.
FORBIDDEN_METHODS: Final = frozenset({"CONNECT", "TRACE", "TRACK"})

#: Above this, max_age means nothing to any browser (Firefox caps at 86400 s,
#: Chromium at 7200 s).
MAX_AGE_LIMIT: Final = 86400

try:  # the parser of the re module (private; read-only use, to find nested repeats)
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_parse as _sre


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    """The Public Suffix List of the ``publicsuffixlist`` package (read once)."""
    return PublicSuffixList()


class Unsafe(enum.Flag):
    """Deliberate unsafe choices that :func:`aiohttp_cors.enable` otherwise refuses."""

    #: No exception: the default.
    NONE = 0

    #: Credentials for origins anyone can produce: ``"*"``, ``"null"``, a regular
    #: expression matching ``null``, or a wildcard on a public suffix.
    CREDENTIALS_WITH_ANY_ORIGIN = enum.auto()

    #: A subdomain wildcard on a public suffix (``https://*.github.io``,
    #: ``https://*.co.uk``), where anyone can register a host.
    WILDCARD_ON_PUBLIC_SUFFIX = enum.auto()

    #: A regular expression with a repeat inside a repeat (``(a+)+``), which can take
    #: exponential time on one crafted ``Origin``.
    NESTED_QUANTIFIERS = enum.auto()


class CorsConfigError(ValueError):
    """A configuration that cannot be served as written; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        super().__init__(
            f"{count} in the CORS configuration:\n" + "\n".join(f"- {p}" for p in problems)
        )


def compile_config(
    config: object, *, strict: bool = False, unsafe: Unsafe = Unsafe.NONE
) -> dict[OriginKey, ResourceOptions]:
    """Validate and normalise an origin -> options mapping (``None`` is empty).

    Configured origins come out normalised (:class:`~._origins.OriginPattern`);
    in lenient mode an origin string that does not parse is kept as written,
    and matched exactly, as 0.8.1 did.
    """
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        if strict:
            raise CorsConfigError(
                [f"the configuration must be a mapping of origins, got {config!r}"]
            )
        raise ValueError(f"Config must be mapping, got '{config!r}'")
    compiled: dict[OriginKey, ResourceOptions] = {}
    problems: list[str] = []
    for key, value in config.items():
        if not isinstance(key, (str, re.Pattern)) and not callable(key):
            if not strict:
                raise ValueError(f"Origin must be string, got '{key!r}'")
            problems.append(
                f"{key!r} is not an origin: use a string, a compiled regex or a predicate"
            )
            continue
        if isinstance(key, re.Pattern) and not isinstance(key.pattern, str):
            problem = f"{key!r} is a bytes regex, and an Origin is text: compile it from a str"
            if not strict:
                raise ValueError(problem)
            problems.append(problem)
            continue
        try:
            options = parse_options(value)
        except ValueError as error:
            if not strict:
                raise
            problems.append(f"the options of {key!r}: {error}")
            continue
        origin: OriginKey = key
        if isinstance(key, str) and key not in ("*", "null"):
            pattern, origin_problems = parse_origin(key)
            origin = key if pattern is None else pattern
            problems += origin_problems
        if strict:
            problems += _origin_problems(key, origin, options, unsafe)
            problems += _option_problems(key, options)
        compiled[origin] = options
    if strict and problems:
        raise CorsConfigError(problems)
    return compiled


def validate(config: object, *, unsafe: Unsafe = Unsafe.NONE) -> None:
    """Check an origin -> options configuration as :func:`aiohttp_cors.enable` does:
    raise one :class:`CorsConfigError` listing every problem, each with its fix."""
    compile_config(config, strict=True, unsafe=unsafe)


def problems_in(config: object, unsafe: Unsafe = Unsafe.NONE) -> list[str]:
    """What :func:`validate` would say about *config* (nothing: ``[]``)."""
    try:
        validate(config, unsafe=unsafe)
    except CorsConfigError as error:
        return error.problems
    except ValueError as error:  # what route mode's own checks raise first
        return [str(error)]
    return []


def _origin_problems(
    written: object, key: OriginKey, options: ResourceOptions, unsafe: Unsafe
) -> list[str]:
    """What strict mode refuses in an origin key, each with its ``Unsafe`` escape."""
    problems = []
    credentials = options.allow_credentials and Unsafe.CREDENTIALS_WITH_ANY_ORIGIN not in unsafe
    fix = "pass unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN"
    if credentials and key in ("*", "null"):
        who = "every origin" if key == "*" else "the 'null' origin, which any page can send"
        problems.append(
            f"{written!r} with allow_credentials=True lets {who} read credentialed answers: "
            f"list the origins you trust, or {fix}"
        )
    if isinstance(key, re.Pattern):
        if credentials and key.fullmatch("null"):
            problems.append(
                f"{written!r} with allow_credentials=True matches 'null', which any page "
                f"can send: make it match only the origins you trust, or {fix}"
            )
        if Unsafe.NESTED_QUANTIFIERS not in unsafe and _nested_repeat(_sre.parse(key.pattern)):
            problems.append(
                f"{written!r} repeats a group that itself repeats: one crafted Origin can "
                "make it run for seconds; write each part once ('https://[a-z0-9-]+"
                "\\.example\\.com'), or pass unsafe=Unsafe.NESTED_QUANTIFIERS"
            )
    parent = getattr(key, "host", "")
    if getattr(key, "subdomains", False) and _public_suffixes().is_public(parent):
        if Unsafe.WILDCARD_ON_PUBLIC_SUFFIX not in unsafe:
            problems.append(
                f"{written!r} covers '{parent}', a public suffix where anyone can register "
                "a host: name your own domain ('https://*.yours.example'), or pass "
                "unsafe=Unsafe.WILDCARD_ON_PUBLIC_SUFFIX"
            )
        if credentials:
            problems.append(
                f"{written!r} with allow_credentials=True lets every host under '{parent}' "
                f"read credentialed answers: name your own domain, or {fix}"
            )
    return problems


def _nested_repeat(items: Any) -> bool:
    """Whether a parsed pattern repeats without bound a part made only of unbounded
    repeats and optional parts (``(a+)+``, ``([a-z]+-?)*``): the ways to split a
    string between them grow exponentially. ``(?:[a-z]+\\.)*`` is fine: each turn
    must end with a dot."""
    for op, argument in items:
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            _, high, body = argument
            if (high == _sre.MAXREPEAT and _only_repeats(body)) or _nested_repeat(body):
                return True
        elif op is _sre.SUBPATTERN:
            if _nested_repeat(argument[-1]):
                return True
        elif op is _sre.BRANCH and any(_nested_repeat(branch) for branch in argument[1]):
            return True
    return False


def _only_repeats(items: Any) -> bool:
    """Whether *items* is nothing but unbounded repeats (one at least), optional
    parts aside, or a group or alternative that is."""
    found = False
    for op, argument in items:
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and argument[1] == _sre.MAXREPEAT:
            found = True
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and argument[0] == 0:
            continue
        elif (op is _sre.SUBPATTERN and _only_repeats(argument[-1])) or (
            op is _sre.BRANCH and any(_only_repeats(branch) for branch in argument[1])
        ):
            found = True
        else:
            return False
    return found


def _option_problems(key: object, options: ResourceOptions) -> list[str]:
    problems = []
    where = f"in the options of {key!r}"
    for option in ("allow_methods", "allow_headers", "expose_headers"):
        names = getattr(options, option)
        if isinstance(names, frozenset) and "*" in names:
            problems.append(
                f"{option} {where}: ['*'] names a {option.split('_')[1][:-1]} called '*', "
                f"which nothing has: did you mean {option}='*' (any)?"
            )
    if isinstance(options.allow_methods, frozenset):
        for method in sorted(options.allow_methods):
            if not TOKEN_RE.fullmatch(method):
                problems.append(f"allow_methods {where}: {method!r} is not a method name")
            elif method in FORBIDDEN_METHODS:
                problems.append(f"allow_methods {where}: browsers never send {method!r}: remove it")
    if isinstance(options.allow_headers, frozenset):
        for name in sorted(options.allow_headers):
            lower = name.lower()
            if not TOKEN_RE.fullmatch(name):
                problems.append(f"allow_headers {where}: {name!r} is not a header name")
            elif lower in FORBIDDEN_REQUEST_HEADERS or lower.startswith(("proxy-", "sec-")):
                problems.append(
                    f"allow_headers {where}: a page can never set {name!r}, so allowing it "
                    "has no effect: remove it"
                )
    if isinstance(options.expose_headers, frozenset):
        for name in sorted(options.expose_headers):
            lower = name.lower()
            if not TOKEN_RE.fullmatch(name):
                problems.append(f"expose_headers {where}: {name!r} is not a header name")
            elif lower in ("set-cookie", "set-cookie2"):
                problems.append(
                    f"expose_headers {where}: browsers never expose {name!r}: remove it"
                )
            elif lower in SAFELISTED_RESPONSE_HEADERS:
                problems.append(
                    f"expose_headers {where}: {name!r} is always readable, exposing it "
                    "has no effect: remove it"
                )
    if options.max_age is not None and options.max_age > MAX_AGE_LIMIT:
        problems.append(
            f"max_age {where}: {options.max_age} s is more than any browser keeps a "
            f"preflight ({MAX_AGE_LIMIT} s at most; Chromium: 7200): use at most {MAX_AGE_LIMIT}"
        )
    return problems
