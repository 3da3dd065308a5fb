"""Origins and origin patterns: parsing configured ones, matching requested ones.

Configured origins are normalised once to what a browser sends (URL Standard):
scheme and host lower-cased, international hosts in their IDNA 2008 / UTS #46
ASCII form (the ``idna`` package, non-transitional), IPv4 hosts in dotted
decimal, IPv6 hosts compressed, default ports dropped. A request's ``Origin`` is
never rewritten: only one that is already serialised the way browsers serialise
origins (Fetch) reaches a pattern, a regular expression or a predicate.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any, Final

import idna

DEFAULT_PORTS: Final = {"http": "80", "https": "443"}
#: No browser sends a longer ``Origin`` (a host name has at most 253 characters):
#: anything longer is refused before any pattern, regex or predicate sees it.
MAX_ORIGIN_LENGTH: Final = 300

# scheme "://" host [":" port], as a browser serialises it: lower case, ASCII
# labels (hosts in punycode), IPv4 or bracketed IPv6, no leading zero in a port.
_REQUEST_ORIGIN: Final = re.compile(
    r"([a-z][a-z0-9+.\-]*)://([a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*\.?|\[[0-9a-f:]+\])"
    r"(?::([1-9][0-9]{0,4}))?"
)
_NUMBER: Final = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")

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
    """*host* as a browser serialises it, or what is wrong with it."""
    if host.startswith("["):
        canonical = _ipv6(host[1:-1]) if host.endswith("]") else None
        return (canonical, None) if canonical else (host, f"{host!r} is not an IPv6 address")
    if not host:
        return host, "the host is missing"
    if "*" in host:
        return host, "a wildcard may only stand as the first label ('https://*.example.com')"
    if host.endswith(".") or ".." in host or host.startswith("."):
        return host, f"{host!r} has an empty label (a leading, doubled or trailing dot)"
    ascii_host, error = _idna(host)
    if ascii_host is None:
        return host, (
            f"{host!r} is not a host name IDNA 2008 allows (UTS #46 processing refuses "
            f"it: {error}): allow its origin with a regex or a predicate"
        )
    labels = ascii_host.split(".")
    if any(not label for label in labels):
        return host, f"{host!r} has an empty label (a leading, doubled or trailing dot)"
    if _NUMBER.fullmatch(labels[-1]):  # the URL Standard reads the host as IPv4
        address = _ipv4(labels)
        if address is None:
            return host, f"{host!r} is not an IPv4 address"
        return address, None
    return ascii_host, None


def _ipv4(parts: list[str]) -> str | None:
    """The dotted-decimal form of an IPv4 host as the URL Standard reads it (``127.1``,
    ``0x7f.0.0.1`` and ``2130706433`` are all ``127.0.0.1``), else ``None``."""
    try:
        numbers = [
            int(part[2:] or "0", 16)
            if part[:2] in ("0x", "0X")
            else int(part, 8 if part[0] == "0" else 10)
            for part in parts
        ]
    except (ValueError, IndexError):
        return None
    *head, last = numbers
    if len(numbers) > 4 or any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = sum(number << (8 * (3 - index)) for index, number in enumerate(head)) + last
    return ".".join(str(value >> shift & 255) for shift in (24, 16, 8, 0))


def _ipv6(text: str) -> str | None:
    """``[address]`` as the URL Standard serialises it (the first longest run of two or
    more zero pieces compressed, no embedded IPv4), else ``None``."""
    try:
        value = int(ipaddress.IPv6Address(text)) if "%" not in text else None
    except ValueError:
        return None
    if value is None:
        return None
    pieces = [value >> (16 * (7 - index)) & 0xFFFF for index in range(8)]
    start, length = -1, 1
    for index in range(8):
        run = next((n for n in range(8 - index) if pieces[index + n]), 8 - index)
        if run > length:
            start, length = index, run
    out, index = "[", 0
    while index < 8:
        if index == start:
            out += "::" if index == 0 else ":"
            index += length
        else:
            out += f"{pieces[index]:x}" + (":" if index < 7 else "")
            index += 1
    return out + "]"


def split_request_origin(origin: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of a request's ``Origin`` if it is an origin serialised as
    browsers serialise one (Fetch), else ``None``; ``null`` has no parts."""
    if len(origin) > MAX_ORIGIN_LENGTH:
        return None
    match = _REQUEST_ORIGIN.fullmatch(origin)
    if match is None:
        return None
    scheme, host, port = match[1], match[2], match[3] or ""
    if port and (int(port) > 65535 or DEFAULT_PORTS.get(scheme) == port):
        return None
    if host[0] == "[":
        canonical: str | None = _ipv6(host[1:-1])
    elif _NUMBER.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):  # IPv4, dotted decimal
        canonical = _ipv4(host.split("."))
    else:  # punycode labels are checked: browsers never send broken ones
        canonical = _idna(host)[0] if "xn--" in host else host
    if canonical != host:
        return None
    return scheme, host, port


def _idna(host: str) -> tuple[str | None, str]:
    """*host* in its IDNA 2008 / UTS #46 ASCII form, or ``None`` and why there is none."""
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii"), ""
    except UnicodeError as error:  # idna.IDNAError is one, and so are the codec's
        return None, str(error)


def origin_parts(text: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of an origin written loosely (any case, a default port)."""
    match = _REQUEST_ORIGIN.fullmatch(text.lower())
    if match is None:
        return None
    scheme, host, port = match[1], match[2], match[3] or ""
    return scheme, host, "" if DEFAULT_PORTS.get(scheme) == port else port
