"""The CORS decision: which headers an answer carries, or why a preflight fails.

Pure functions over a compiled :class:`OriginPolicy`; no routing, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import Final

from multidict import CIMultiDict

from ._headers import (
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    PREFLIGHT_VARY,
    VARY,
    expose_all_value,
    is_token,
    merge_vary,
    parse_request_headers,
)
from .resource_options import ResourceOptions

#: Prefix of the text of every rejected preflight (403).
PREFLIGHT_FAILED: Final = "CORS preflight request failed: "

# What a browser can send as a serialized origin: scheme "://" host [":" port],
# ASCII only (hosts are punycode). Checked before an origin is echoed because
# of a "*" entry, so that no odd bytes are reflected.
_SERIALIZED_ORIGIN: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9.\-_~%:\[\]]+")


class OriginPolicy:
    """Origin -> options for one resource and method, compiled once.

    An exact entry wins over ``"*"``; ``"*"`` never matches the ``null`` origin
    (anyone can send ``Origin: null``), which is allowed only when listed.
    """

    __slots__ = ("exact", "star")

    def __init__(self, merged: Mapping[str, ResourceOptions]) -> None:
        self.exact: dict[str, ResourceOptions] = {
            origin: options for origin, options in merged.items() if origin != "*"
        }
        self.star: ResourceOptions | None = merged.get("*")

    def __bool__(self) -> bool:
        return bool(self.exact) or self.star is not None

    def match(self, origin: str) -> ResourceOptions | None:
        """The options that apply to *origin*, or ``None`` if it is not allowed."""
        options = self.exact.get(origin)
        if (
            options is None
            and self.star is not None
            and origin != "null"
            and _SERIALIZED_ORIGIN.fullmatch(origin) is not None
        ):
            return self.star
        return options

    def as_config(self) -> dict[str, ResourceOptions]:
        """The policy as an origin -> options mapping."""
        config = dict(self.exact)
        if self.star is not None:
            config["*"] = self.star
        return config


def merge(*levels: Mapping[str, ResourceOptions]) -> OriginPolicy:
    """One policy from configuration levels given most specific first."""
    merged: dict[str, ResourceOptions] = {}
    for level in reversed(levels):
        merged.update(level)
    return OriginPolicy(merged)


EMPTY_POLICY: Final = OriginPolicy({})


def printable(value: str, limit: int = 200) -> str:
    """*value* as ASCII for a rejection text: escapes undecodable bytes, caps the length."""
    shown = value.encode("ascii", "backslashreplace").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit] + "..."


def method_not_allowed(method: str, origin: str) -> str:
    """The rejection reason for a method the configuration does not allow."""
    return f"request method '{printable(method)}' is not allowed for '{printable(origin)}' origin"


def preflight_answer(
    policy: OriginPolicy,
    origin: str,
    method: str,
    request_headers: list[str],
    route_methods: Container[str],
) -> list[tuple[str, str]] | str:
    """Decide a preflight: the headers of the 200 answer, or the rejection reason.

    *request_headers* are the raw ``Access-Control-Request-Headers`` lines;
    *route_methods* are the methods that count as allowed when the options
    say ``allow_methods=None``.
    """
    if not policy:
        return "no origins are allowed"
    options = policy.match(origin)
    if options is None:
        return f"origin '{printable(origin)}' is not allowed"
    compiled = options._compiled
    if compiled.any_method:
        method_ok = is_token(method)
    elif compiled.methods is None:
        method_ok = method in route_methods
    else:
        method_ok = method in compiled.methods
    if not method_ok:
        return method_not_allowed(method, origin)
    names = parse_request_headers(request_headers) if request_headers else []
    if names is None:
        return "'Access-Control-Request-Headers' header is malformed or too long"
    if not compiled.allow_any_header:
        denied = [name for name in names if name not in compiled.allowed_headers]
        if denied:
            return "headers are not allowed: " + ", ".join(name.upper() for name in denied)
    answer = [(ACAO, origin), *compiled.preflight_headers, (ACAM, method)]
    if names:
        answer.append((ACAH, ",".join(name.upper() for name in names)))
    answer.append((VARY, PREFLIGHT_VARY))
    return answer


def add_actual_headers(options: ResourceOptions, origin: str, headers: CIMultiDict[str]) -> None:
    """Add the CORS headers of an allowed actual (non-preflight) response.

    A handler that set ``Access-Control-Allow-Origin`` itself owns the CORS
    headers of its response: they are left as they are. Any other CORS header
    it set wins over the configured one.
    """
    if ACAO in headers:
        return
    compiled = options._compiled
    expose = expose_all_value(headers) if compiled.expose_all else ""
    headers[ACAO] = origin
    for name, value in compiled.actual_headers:
        if name not in headers:
            headers[name] = value
    if expose and ACEH not in headers:
        headers[ACEH] = expose


def finish_actual(policy: OriginPolicy, origin: str | None, headers: CIMultiDict[str]) -> None:
    """Complete an actual response of a CORS-enabled resource.

    ``Vary: Origin`` goes on every such response, with or without an allowed
    Origin, so that no cache hands one origin's answer to another.
    """
    if origin is not None:
        options = policy.match(origin)
        if options is not None:
            add_actual_headers(options, origin, headers)
    merge_vary(headers)
