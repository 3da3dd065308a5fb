"""The decision: the headers of an answer, or why a preflight fails.

Pure functions of the options that apply, the origin and what the request asks
for; no routing, no I/O, no state.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Final

from multidict import CIMultiDict

from ._headers import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    ACMA,
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
#: The response header that says why CORS refused, in debug mode.
ERROR_HEADER: Final = "X-CORS-Error"


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


def credentials_not_allowed(origin: str) -> str:
    """Why a request with credentials (cookies, ``Authorization``) cannot read the
    response, for debug mode."""
    return (
        f"credentials are not allowed for '{printable(origin)}' origin "
        "(allow_credentials=False): a page that sends them cannot read the response"
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
    if not method_allowed(options, method, served):
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


def method_allowed(options: ResourceOptions, method: str, served: Container[str]) -> bool:
    """Whether *options* allow *method* (*served*: what ``allow_methods=None`` allows)."""
    compiled = options._compiled
    methods = compiled.methods
    if methods is not None:
        return method in methods
    if compiled.any_method:
        return TOKEN_RE.fullmatch(method) is not None
    return method in served


def debug_preflight(
    options: ResourceOptions | None,
    origin: str,
    method: str,
    served: Container[str],
    reason: str,
    requested_headers: list[str],
) -> list[tuple[str, str]]:
    """The CORS headers of a preflight refused for its method or a request header, in
    debug mode, for an origin that is allowed: its ``Access-Control-Allow-Origin`` (and
    ``-Credentials``), ``Access-Control-Max-Age: 0`` (a browser keeps nothing of it),
    and, when the method passed, that method alone and those of the requested headers
    that passed, never ``*``. A browser then names the method or header refused itself,
    and lets nothing through that the 403 would refuse: no other method or header is
    listed, for this or for any later request.

    Nothing (a 403 then) for an origin not allowed (*options* ``None``), for headers no
    browser sends (*reason*), and for a refused ``GET``, ``HEAD`` or ``POST``, which a
    browser takes as allowed whatever the list says.
    """
    if options is None or reason == MALFORMED_REQUEST_HEADERS:
        return []
    passed = method_allowed(options, method, served)
    if not passed and method in ("GET", "HEAD", "POST"):  # browsers send them upper-cased
        return []  # browsers never check these against Access-Control-Allow-Methods
    compiled = options._compiled
    headers: list[tuple[str, str]] = [(ACAO, origin), (ACMA, "0")]
    if compiled.credentials:
        headers.append((ACAC, "true"))
    requested = parse_request_headers(requested_headers)
    if passed and method != "*" and requested is not None:
        headers.append((ACAM, method))  # a header is what was refused
        allowed = compiled.allowed_headers
        listed = [name for name in requested.names if name in allowed and name != "*"]
        if listed:
            headers.append((ACAH, ", ".join(listed)))
    return headers


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
