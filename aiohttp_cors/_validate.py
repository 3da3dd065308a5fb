"""Fail-fast validation of app-wide configuration: every problem, reported at once.

Route mode (``setup``/``CorsConfig``) keeps accepting what aiohttp-cors 0.8.1
accepted; :func:`aiohttp_cors.enable` is strict and runs these checks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final

from ._headers import FORBIDDEN_REQUEST_HEADERS, SAFELISTED_RESPONSE_HEADERS, TOKEN_RE
from ._origins import parse_origin
from .resource_options import ResourceOptions, parse_options

__all__ = ("CorsConfigError", "Unsafe", "validate")

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


def validate(config: object, unsafe: Unsafe = Unsafe.NONE) -> None:
    """Check a whole origin -> options configuration; raise one error listing every problem."""
    if config is None:
        return
    if not isinstance(config, Mapping):
        raise CorsConfigError([f"the configuration must be a mapping of origins, got {config!r}"])
    problems: list[str] = []
    for key, value in config.items():
        try:
            options = parse_options(value)
        except ValueError as error:
            problems.append(f"the options of {key!r}: {error}")
            continue
        problems += _check_key(key, options, unsafe)
        problems += _check_options(key, options)
    if problems:
        raise CorsConfigError(problems)


def _check_key(key: object, options: ResourceOptions, unsafe: Unsafe) -> list[str]:
    credentials_ok = Unsafe.CREDENTIALS_WITH_ANY_ORIGIN in unsafe
    if isinstance(key, re.Pattern) or (callable(key) and not isinstance(key, str)):
        return []
    if not isinstance(key, str):
        return [f"{key!r} is not an origin: use a string, a compiled regex or a predicate"]
    if key in ("*", "null"):
        if options.allow_credentials and not credentials_ok:
            who = "every origin" if key == "*" else "the 'null' origin, which any page can send"
            return [
                f"{key!r} with allow_credentials=True lets {who} read credentialed answers: "
                "list the origins you trust, or pass unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN"
            ]
        return []
    pattern, problems = parse_origin(key)
    if pattern is None:
        return problems
    if pattern.subdomains and options.allow_credentials and not credentials_ok:
        parent = pattern.host
        if "." not in parent or parent in _SHARED_SUFFIXES:
            return [
                f"{key!r} with allow_credentials=True covers '{parent}', where anyone can "
                "register a host: name your own domain ('https://*.yours.example'), or pass "
                "unsafe=Unsafe.CREDENTIALS_WITH_ANY_ORIGIN"
            ]
    return []


def _check_options(key: object, options: ResourceOptions) -> list[str]:
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
