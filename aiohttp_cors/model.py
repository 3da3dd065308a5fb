"""A model of the browser's side of CORS, after the WHATWG Fetch standard.

Given the request a page makes (origin, method, headers, credentials mode) and
the server's answers (the preflight's, when one is needed, and the actual
response's), :func:`decide` says whether the page can read the response and,
if not, exactly why, the way a browser decides it. It knows nothing about this
library: it judges any server. The test suite checks it against Chromium, and
``python -m aiohttp_cors check`` runs it against live servers.

Not modelled: redirects, the preflight cache, opaque (``no-cors``) requests,
and Private Network Access.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from ._headers import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    ACRH,
    ACRM,
    FORBIDDEN_REQUEST_HEADERS,
    NORMALIZED_METHODS,
    ORIGIN,
    SAFELISTED_RESPONSE_HEADERS,
    TOKEN_RE,
)

__all__ = ("Answer", "PageRequest", "Verdict", "decide")

Headers = Sequence[tuple[str, str]]

#: Whether ``Access-Control-Allow-Headers: *`` covers ``Authorization`` (without
#: credentials) by default: what Chromium does (156, the version the test suite
#: drives), although the Fetch standard excludes it.
STAR_COVERS_AUTHORIZATION: Final = True

#: Methods that never need a preflight (Fetch "CORS-safelisted method").
SAFELISTED_METHODS: Final = frozenset({"GET", "HEAD", "POST"})

_SAFE_CONTENT_TYPES: Final = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
# Fetch "CORS-unsafe request-header byte".
_UNSAFE_BYTE: Final = re.compile(r'[\x00-\x08\x0a-\x1f"():<>?@\[\\\]{}\x7f]')
_LANGUAGE_VALUE: Final = re.compile(r"[0-9A-Za-z *,\-.;=]*")
_RANGE_VALUE: Final = re.compile(r"bytes=([0-9]+)-([0-9]*)")
_MIME_ESSENCE: Final = re.compile(
    r"[ \t\r\n]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+)"
)


def normalize_method(method: str) -> str:
    """The method as a browser sends it: only the six standard names are upper-cased."""
    upper = method.upper()
    return upper if upper in NORMALIZED_METHODS else method


def is_forbidden_request_header(name: str) -> bool:
    """Whether a script is not allowed to set the header *name* (the browser drops it)."""
    lower = name.lower()
    return lower in FORBIDDEN_REQUEST_HEADERS or lower.startswith(("proxy-", "sec-"))


def _safelisted_request_header(name: str, value: str) -> bool:
    """Fetch "CORS-safelisted request-header"."""
    if len(value.encode("utf-8", "surrogateescape")) > 128:
        return False
    lower = name.lower()
    if lower == "accept":
        return not _UNSAFE_BYTE.search(value)
    if lower in ("accept-language", "content-language"):
        return _LANGUAGE_VALUE.fullmatch(value) is not None
    if lower == "content-type":
        if _UNSAFE_BYTE.search(value):
            return False
        essence = _MIME_ESSENCE.match(value)
        return essence is not None and essence[1].lower() in _SAFE_CONTENT_TYPES
    if lower == "range":
        match = _RANGE_VALUE.fullmatch(value)
        return match is not None and (not match[2] or int(match[1]) <= int(match[2]))
    return False


@dataclass(frozen=True)
class PageRequest:
    """A ``fetch()`` a page on *origin* makes, in ``cors`` mode.

    *headers* are the headers the script sets (forbidden ones are dropped, as
    browsers do); *credentials* is the ``include`` credentials mode.
    """

    origin: str
    method: str = "GET"
    headers: Headers = ()
    credentials: bool = False

    @property
    def sent_method(self) -> str:
        return normalize_method(self.method)

    @property
    def author_headers(self) -> list[tuple[str, str]]:
        return [(n, v) for n, v in self.headers if not is_forbidden_request_header(n)]

    def unsafe_header_names(self) -> list[str]:
        """Fetch "CORS-unsafe request-header names": lower-cased, sorted, unique."""
        unsafe: set[str] = set()
        safelisted: set[str] = set()
        size = 0
        for name, value in self.author_headers:
            if _safelisted_request_header(name, value):
                safelisted.add(name.lower())
                size += len(value.encode("utf-8", "surrogateescape"))
            else:
                unsafe.add(name.lower())
        if size > 1024:
            unsafe |= safelisted
        return sorted(unsafe)

    def needs_preflight(self) -> bool:
        return self.sent_method not in SAFELISTED_METHODS or bool(self.unsafe_header_names())

    def preflight_headers(self) -> list[tuple[str, str]]:
        """The headers of the preflight a browser sends for this request."""
        headers: list[tuple[str, str]] = [(ORIGIN, self.origin), (ACRM, self.sent_method)]
        names = self.unsafe_header_names()
        if names:
            headers.append((ACRH, ",".join(names)))
        return headers

    def actual_headers(self) -> list[tuple[str, str]]:
        """The CORS-relevant headers of the actual request (cookies are not modelled)."""
        return [*self.author_headers, (ORIGIN, self.origin)]


@dataclass(frozen=True)
class Answer:
    """A server's answer: its status and its headers, repeated names kept."""

    status: int
    headers: Headers = ()
    #: The start of the body, for messages (a refused preflight's text says why).
    body: str = ""

    def get(self, name: str) -> str | None:
        """Fetch "get": the values of *name* joined by ", ", or ``None``."""
        lower = name.lower()
        values = [value for key, value in self.headers if key.lower() == lower]
        return ", ".join(values) if values else None

    def names(self) -> set[str]:
        return {key.lower() for key, _ in self.headers}


@dataclass(frozen=True)
class Verdict:
    """What the browser makes of an exchange."""

    readable: bool
    #: "preflight" or "response": where the decision was made.
    stage: str
    #: Why the request was blocked ("" when readable).
    reason: str = ""
    #: A short name for the reason: see :data:`CODES`.
    code: str = ""
    #: The response header names (lower case) the page can read, when readable.
    exposed: frozenset[str] = field(default_factory=frozenset)


def _list_values(answer: Answer, name: str) -> list[str] | None:
    """Fetch "extract header list values" for a ``#token`` list; ``None`` if absent.

    Raises ValueError when an element is not a token (a network error in a browser).
    """
    joined = answer.get(name)
    if joined is None:
        return None
    values = [item.strip(" \t") for item in joined.split(",")]
    values = [item for item in values if item]
    bad = [item for item in values if not TOKEN_RE.fullmatch(item)]
    if bad:
        raise ValueError(f"{name} holds {bad[0]!r}, which is not a token")
    return values


#: The reasons a browser blocks a response, by code.
CODES: Final = {
    "no-allow-origin": "the response has no Access-Control-Allow-Origin",
    "several-allow-origins": "Access-Control-Allow-Origin has more than one value",
    "other-origin": "Access-Control-Allow-Origin names another origin",
    "star-with-credentials": "Access-Control-Allow-Origin '*' with a credentialed request",
    "no-allow-credentials": "credentialed request without Access-Control-Allow-Credentials: true",
    "preflight-status": "the preflight's status is not 2xx",
    "bad-list": "Access-Control-Allow-Methods or -Headers does not parse",
    "method": "the method is not in Access-Control-Allow-Methods",
    "authorization": "Authorization is not listed in Access-Control-Allow-Headers",
    "header": "a request header is not in Access-Control-Allow-Headers",
    "no-answer": "the server did not answer",
}


class _Blocked(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _cors_check(request: PageRequest, answer: Answer) -> None:
    """Fetch "CORS check"; raises ``_Blocked`` when it fails."""
    allowed = answer.get(ACAO)
    if allowed is None:
        raise _Blocked("no-allow-origin", f"no {ACAO} header")
    if allowed == "*" and not request.credentials:
        return
    if allowed == "*":
        raise _Blocked(
            "star-with-credentials", f"{ACAO} is '*', which never allows a credentialed request"
        )
    if allowed != request.origin:
        if "," in allowed:
            raise _Blocked(
                "several-allow-origins",
                f"{ACAO} has several values ({allowed!r}); it must have exactly one",
            )
        raise _Blocked(
            "other-origin", f"{ACAO} is {allowed!r}, not the page's origin {request.origin!r}"
        )
    if request.credentials:
        credentials = answer.get(ACAC)
        if credentials != "true":
            shown = "missing" if credentials is None else repr(credentials)
            raise _Blocked(
                "no-allow-credentials",
                f"the request has credentials and {ACAC} is {shown}, not 'true'",
            )


def _check_preflight(request: PageRequest, answer: Answer, star_authorization: bool) -> None:
    """The preflight's part of Fetch "CORS-preflight fetch"; raises ``_Blocked``."""
    _cors_check(request, answer)
    if not 200 <= answer.status <= 299:
        raise _Blocked("preflight-status", f"the status is {answer.status}, not 2xx")
    try:
        methods = _list_values(answer, ACAM) or []
        names = _list_values(answer, ACAH) or []
    except ValueError as error:
        raise _Blocked("bad-list", str(error)) from None
    method = request.sent_method
    wildcard_ok = not request.credentials
    if (
        method not in methods
        and method not in SAFELISTED_METHODS
        and not (wildcard_ok and "*" in methods)
    ):
        listed = ", ".join(methods) or "missing"
        star = " ('*' does not count with credentials)" if "*" in methods else ""
        raise _Blocked("method", f"method {method!r} is not in {ACAM} ({listed}){star}")
    lower_names = {name.lower() for name in names}
    requested = request.unsafe_header_names()
    covered = star_authorization and wildcard_ok and "*" in lower_names
    if "authorization" in requested and "authorization" not in lower_names and not covered:
        star = " ('*' never covers it in the standard)" if "*" in lower_names else ""
        raise _Blocked("authorization", f"header 'authorization' is not in {ACAH}{star}")
    for name in requested:
        if name not in lower_names and not (wildcard_ok and "*" in lower_names):
            star = " ('*' does not count with credentials)" if "*" in lower_names else ""
            raise _Blocked("header", f"header {name!r} is not in {ACAH}{star}")


def exposed_names(request: PageRequest, answer: Answer) -> frozenset[str]:
    """The response header names (lower case) a page can read from a CORS response."""
    present = answer.names() - {"set-cookie", "set-cookie2"}
    try:
        listed = _list_values(answer, ACEH) or []
    except ValueError:
        listed = []
    if "*" in listed and not request.credentials:
        return frozenset(present)
    allowed = SAFELISTED_RESPONSE_HEADERS | {name.lower() for name in listed}
    return frozenset(present & allowed)


def decide(
    request: PageRequest,
    preflight: Answer | None,
    response: Answer | None,
    *,
    star_authorization: bool = STAR_COVERS_AUTHORIZATION,
) -> Verdict:
    """The browser's verdict on *request*.

    *preflight* is the answer to the preflight (needed when
    ``request.needs_preflight()``); *response* is the answer to the actual
    request (``None`` when it was not sent). *star_authorization*: whether
    ``Access-Control-Allow-Headers: *`` lets a request without credentials send
    ``Authorization``; the standard says no (whatwg/fetch#1919), Chromium yes.
    """
    stage = "preflight"
    try:
        if request.needs_preflight():
            if preflight is None:
                raise _Blocked("no-answer", "no answer to the preflight")
            _check_preflight(request, preflight, star_authorization)
        stage = "response"
        if response is None:
            raise _Blocked("no-answer", "no answer to the request")
        _cors_check(request, response)
    except _Blocked as blocked:
        return Verdict(False, stage, blocked.reason, blocked.code)
    return Verdict(True, stage, exposed=exposed_names(request, response))
