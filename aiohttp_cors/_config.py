"""Configuration: one pass turns what users write into normalised origin -> options.

Each origin string is parsed once, here. Route mode (``setup``/``CorsConfig``,
0.8.1's API) and app-wide mode (``enable``) run the same pass; they differ only
in which problems are errors: route mode raises the first of the problems 0.8.1
raised (with 0.8.1's message), ``enable`` raises one :class:`CorsConfigError`
listing every problem, the strict ones included.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final

from ._headers import FORBIDDEN_REQUEST_HEADERS, SAFELISTED_RESPONSE_HEADERS, TOKEN_RE
from ._origins import OriginKey, parse_origin
from .resource_options import ResourceOptions, parse_options

__all__ = ("CorsConfigError", "Unsafe", "compile_config")

#: Methods a browser refuses to send (Fetch), whatever the server allows.
FORBIDDEN_METHODS: Final = frozenset({"CONNECT", "TRACE", "TRACK"})

#: Above this, max_age means nothing to any browser (Firefox caps at 86400 s,
#: Chromium at 7200 s).
MAX_AGE_LIMIT: Final = 86400

# Registrable-domain suffixes under which anyone can get a host name. A
# wildcard on one of these (or on any single label, such as "com") allows
# strangers. Not the whole Public Suffix List: the suffixes met most often.
_SHARED_SUFFIXES: Final = frozenset(
    {
        "ac.uk", "appspot.com", "azurewebsites.net", "blogspot.com", "cloudfront.net",
        "co.in", "co.jp", "co.nz", "co.uk", "co.za", "com.au", "com.br", "com.cn",
        "com.mx", "com.tr", "firebaseapp.com", "github.io", "gitlab.io", "gov.uk",
        "herokuapp.com", "ltd.uk", "ne.jp", "net.au", "netlify.app", "ngrok.io",
        "onrender.com", "org.au", "org.uk", "pages.dev", "plc.uk", "vercel.app",
        "web.app", "workers.dev",
    }
)  # fmt: skip


class Unsafe(enum.Flag):
    """Deliberate unsafe choices that :func:`aiohttp_cors.enable` otherwise refuses."""

    #: No exception: the default.
    NONE = 0

    #: Credentials for origins anyone can produce: ``"*"``, ``"null"``, or a
    #: wildcard on a shared suffix (``https://*.github.io``).
    CREDENTIALS_WITH_ANY_ORIGIN = enum.auto()


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
            problems += _credential_problems(key, origin, options, unsafe)
            problems += _option_problems(key, options)
        compiled[origin] = options
    if strict and problems:
        raise CorsConfigError(problems)
    return compiled


def _credential_problems(
    written: object, key: OriginKey, options: ResourceOptions, unsafe: Unsafe
) -> list[str]:
    if not options.allow_credentials or Unsafe.CREDENTIALS_WITH_ANY_ORIGIN in unsafe:
        return []
    fix = "pass unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN"
    if key in ("*", "null"):
        who = "every origin" if key == "*" else "the 'null' origin, which any page can send"
        return [
            f"{written!r} with allow_credentials=True lets {who} read credentialed answers: "
            f"list the origins you trust, or {fix}"
        ]
    parent = getattr(key, "host", "")
    if getattr(key, "subdomains", False) and ("." not in parent or parent in _SHARED_SUFFIXES):
        return [
            f"{written!r} with allow_credentials=True covers '{parent}', where anyone can "
            f"register a host: name your own domain ('https://*.yours.example'), or {fix}"
        ]
    return []


def _option_problems(key: object, options: ResourceOptions) -> list[str]:
    problems = []
    where = f"in the options of {key!r}"
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
