"""Origins and origin patterns: parsing configured ones, matching requested ones.

Configured origins are normalised once (scheme and host lower-cased, IDNA
hosts in punycode, default ports dropped). A request's ``Origin`` is matched
as sent, never rewritten: browsers always send the serialized form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

DEFAULT_PORTS: Final = {"http": "80", "https": "443"}

# scheme "://" host [":" port], as a browser serializes it: lower case,
# non-empty labels, punycode hosts, no default port, no leading zero.
_REQUEST_ORIGIN: Final = re.compile(
    r"([a-z][a-z0-9+.\-]*)://([a-z0-9\-]+(?:\.[a-z0-9\-]+)*|\[[0-9a-f:.]+\])(?::([1-9][0-9]{0,4}))?"
)

# What users write: anything shaped like scheme://host[:port], loosely, so that
# mistakes can be named precisely by the validator.
_CONFIGURED: Final = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<userinfo>[^@/?#]*@)?"
    r"(?P<host>\[[^\]]*\]|[^:/?#\[\]]*)(?::(?P<port>[^/?#]*))?(?P<rest>.*)",
    re.DOTALL,
)

#: An origin key: a string (exact, ``"*"``, ``"null"``, ``https://*.example.com``,
#: ``http://localhost:*``), a compiled regular expression, or a predicate.
OriginKey = Any
#: A predicate key: ``predicate(origin, request)`` returns a bool or an awaitable one.
Predicate = Callable[[str, Any], Any]


class OriginPattern(str):
    """A configured origin or origin pattern, normalised: the string itself is the
    normalised form (``https://*.example.com``), its parts are attributes."""

    scheme: str
    host: str
    port: str  # "" for the scheme's default port, or for any port
    subdomains: bool
    any_port: bool

    @classmethod
    def build(
        cls, scheme: str, host: str, port: str, subdomains: bool, any_port: bool
    ) -> OriginPattern:
        shown = f"*.{host}" if subdomains else host
        suffix = ":*" if any_port else (f":{port}" if port else "")
        pattern = cls(f"{scheme}://{shown}{suffix}")
        pattern.scheme, pattern.host, pattern.port = scheme, host, port
        pattern.subdomains, pattern.any_port = subdomains, any_port
        return pattern

    @property
    def is_pattern(self) -> bool:
        """Whether it stands for more than one origin."""
        return self.subdomains or self.any_port


def parse_origin(text: str) -> tuple[OriginPattern | None, list[str]]:
    """Parse a configured origin or pattern; return it and what is wrong with it.

    Problems that normalisation fixes (case, IDNA, default port) are not
    reported; everything else is, with the fix.
    """
    match = _CONFIGURED.fullmatch(text.strip())
    if match is None:
        return None, [
            f"{text!r} is not an origin: write scheme://host[:port], e.g. 'https://app.example'"
        ]
    problems = []
    if text != text.strip():
        problems.append(f"{text!r} has surrounding white space: remove it")
    scheme = match["scheme"].lower()
    if scheme not in DEFAULT_PORTS:
        problems.append(
            f"{text!r} has the scheme {scheme!r}: only 'http' and 'https' origins are supported"
        )
    if match["userinfo"]:
        problems.append(f"{text!r} has user information ('user@'): an origin never does")
    rest = match["rest"]
    if rest:
        part = "a trailing slash" if rest == "/" else f"{rest!r} after the host"
        problems.append(f"{text!r} has {part}: an origin is scheme://host[:port] only")
    host = match["host"]
    subdomains = host.startswith("*.")
    if subdomains:
        host = host[2:]
    normalized_host, host_problem = _normalize_host(host)
    if host_problem:
        problems.append(f"{text!r}: {host_problem}")
    port = match["port"]
    any_port = port == "*"
    if port is None or any_port:
        port = ""
    elif not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        problems.append(f"{text!r} has the port {port!r}: a port is a number from 1 to 65535")
        port = ""
    else:
        port = str(int(port))
        if DEFAULT_PORTS.get(scheme) == port:
            port = ""
    if problems:
        return None, problems
    return OriginPattern.build(scheme, normalized_host, port, subdomains, any_port), []


def _normalize_host(host: str) -> tuple[str, str | None]:
    if host.startswith("["):
        inner = host[1:-1].lower()
        if not inner or not re.fullmatch(r"[0-9a-f:.]+", inner):
            return host, f"{host!r} is not an IPv6 address"
        return f"[{inner}]", None
    if not host:
        return host, "the host is missing"
    if "*" in host:
        return host, "a wildcard may only stand as the first label ('https://*.example.com')"
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError:
        return host, f"{host!r} is not a valid host name"
    labels = ascii_host.split(".")
    if any(not label for label in labels):
        return host, f"{host!r} has an empty label (a leading, doubled or trailing dot)"
    if not all(re.fullmatch(r"[a-z0-9\-]+", label) for label in labels):
        return host, f"{host!r} has characters a host name cannot have"
    return ascii_host, None


def split_request_origin(origin: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of a request's Origin in serialized form, else ``None``."""
    match = _REQUEST_ORIGIN.fullmatch(origin)
    if match is None:
        return None
    return match[1], match[2], match[3] or ""
