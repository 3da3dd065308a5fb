"""The decision: the headers of an answer, or why a preflight fails.

Pure functions of the options that apply, the origin and what the request asks
for; no routing, no I/O, no state.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Final

from multidict import CIMultiDict

from ._headers import (
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    TOKEN_RE,
    VARY,
    expose_all_value,
    merge_vary,
    parse_request_headers,
)
from .resource_options import ResourceOptions

#: Prefix of the text of every rejected preflight (403).
PREFLIGHT_FAILED: Final = "CORS preflight request failed: "

MALFORMED_REQUEST_HEADERS: Final = (
    "'Access-Control-Request-Headers' header is malformed or too long"
)
SEVERAL_ORIGINS: Final = "the request has several 'Origin' headers"


def printable(value: str, limit: int = 200) -> str:
    """*value* as printable ASCII for a rejection text: escapes control characters,
    non-ASCII characters and undecodable bytes, caps the length."""
    if len(value) <= limit and value.isascii() and value.isprintable():
        return value
    # Cut before escaping: the work does not depend on how long the value is.
    shown = ascii(value[: limit + 1])[1:-1]
    return shown if len(shown) <= limit else shown[:limit] + "..."


def logged(value: str | None) -> str:
    """*value* for the DEBUG log: quoted, escaped, cut at 200 characters (so that a
    whole log line stays within a few kilobytes, whatever the request carries)."""
    return "None" if value is None else f"'{printable(value)}'"


def method_not_allowed(method: str, origin: str) -> str:
    """The rejection reason for a method the configuration does not allow."""
    return f"request method '{printable(method)}' is not allowed for '{printable(origin)}' origin"


def origin_not_allowed(origin: str, no_origins: bool) -> str:
    """The rejection reason for an origin the policy does not allow."""
    return (
        "no origins are allowed" if no_origins else f"origin '{printable(origin)}' is not allowed"
    )


def preflight(
    options: ResourceOptions,
    origin: str,
    method: str,
    requested_headers: list[str],
    served: Container[str],
    vary: str,
) -> list[tuple[str, str]] | str:
    """Decide a preflight of an allowed origin: the headers of the 200, or the reason.

    *requested_headers* are the ``Access-Control-Request-Headers`` lines;
    *served* the methods that count as allowed when ``allow_methods=None``.
    """
    compiled = options._compiled
    methods = compiled.methods
    if methods is not None:
        method_ok = method in methods
    elif compiled.any_method:
        method_ok = TOKEN_RE.fullmatch(method) is not None
    else:
        method_ok = method in served
    if not method_ok:
        return method_not_allowed(method, origin)
    requested = parse_request_headers(requested_headers)
    if requested is None:
        return MALFORMED_REQUEST_HEADERS
    names = requested.names
    allowed = compiled.allowed_headers
    if names and not compiled.allow_any_header and not allowed.issuperset(names):
        denied = [name for name in names if name not in allowed]
        return "headers are not allowed: " + printable(", ".join(n.upper() for n in denied))
    answer = [(ACAO, origin), *compiled.preflight_headers, (ACAM, method)]
    if names:
        answer.append((ACAH, requested.value))
    answer.append((VARY, vary))
    return answer


def finish_actual(
    options: ResourceOptions | None, origin: str | None, headers: CIMultiDict[str]
) -> None:
    """Complete an actual response: the CORS headers of an allowed origin, and
    ``Vary: Origin`` always, so that no cache hands one origin's answer to another.

    A handler that set ``Access-Control-Allow-Origin`` itself owns the CORS
    headers of its response: they are left as they are. Any other CORS header
    it set wins over the configured one.
    """
    if options is not None and origin is not None and ACAO not in headers:
        compiled = options._compiled
        expose = expose_all_value(headers) if compiled.expose_all else ""
        headers[ACAO] = origin
        for name, value in compiled.actual_headers:
            headers.setdefault(name, value)
        if expose:
            headers.setdefault(ACEH, expose)
    if VARY in headers:
        merge_vary(headers)
    else:
        headers[VARY] = "Origin"
