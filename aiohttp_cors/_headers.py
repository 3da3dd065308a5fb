"""Header names, safelists and the small parsers CORS needs.

Everything here is shared by the set-up code (validation) and the request path
(parsing what a client sent); nothing here knows about aiohttp routing.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import hdrs
from multidict import CIMultiDict

ORIGIN: Final = hdrs.ORIGIN
VARY: Final = hdrs.VARY
ACAO: Final = hdrs.ACCESS_CONTROL_ALLOW_ORIGIN
ACAC: Final = hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS
ACEH: Final = hdrs.ACCESS_CONTROL_EXPOSE_HEADERS
ACAM: Final = hdrs.ACCESS_CONTROL_ALLOW_METHODS
ACAH: Final = hdrs.ACCESS_CONTROL_ALLOW_HEADERS
ACMA: Final = hdrs.ACCESS_CONTROL_MAX_AGE
ACRM: Final = hdrs.ACCESS_CONTROL_REQUEST_METHOD
ACRH: Final = hdrs.ACCESS_CONTROL_REQUEST_HEADERS

ACRPN: Final = "Access-Control-Request-Private-Network"
ACAPN: Final = "Access-Control-Allow-Private-Network"

#: ``Vary`` of every preflight answer: each of these request headers changes it.
PREFLIGHT_VARY: Final = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
#: ``Vary`` of preflight answers when Private Network Access answers are enabled.
PNA_PREFLIGHT_VARY: Final = f"{PREFLIGHT_VARY}, {ACRPN}"

#: RFC 9110 ``token``: what a header name or a method may consist of.
TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

#: Request headers a script can never set (Fetch "forbidden request-header"):
#: a browser drops them from ``fetch()``.
FORBIDDEN_REQUEST_HEADERS: Final = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)

#: Response headers a page can read without ``Access-Control-Expose-Headers`` (Fetch).
SAFELISTED_RESPONSE_HEADERS: Final = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)

#: Left out of the list sent for ``expose_headers="*"``: the safelisted names,
#: those that can never be exposed, and those of the connection, not of the content.
NOT_LISTED_FOR_EXPOSE_ALL: Final = SAFELISTED_RESPONSE_HEADERS | {
    "connection",
    "keep-alive",
    "proxy-connection",
    "set-cookie",
    "set-cookie2",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}

#: The methods browsers upper-case before sending (Fetch "normalize a method").
NORMALIZED_METHODS: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})

#: Upper bound on the total length of ``Access-Control-Request-Headers``
#: (all its lines together) that a preflight may carry.
MAX_REQUEST_HEADERS_LENGTH: Final = 4096
#: Upper bound on empty list elements (``a,,b``) tolerated in that header.
MAX_EMPTY_ELEMENTS: Final = 16
#: Upper bound on the number of lines of that header (browsers send one).
MAX_REQUEST_HEADER_LINES: Final = 16


class RequestedHeaders:
    """The parsed ``Access-Control-Request-Headers`` of a preflight."""

    __slots__ = ("names", "value")

    def __init__(self, names: tuple[str, ...]) -> None:
        #: The requested names lower-cased, in request order, without duplicates.
        self.names = names
        #: What ``Access-Control-Allow-Headers`` answers when all are allowed.
        self.value = ",".join(names).upper()


NO_REQUESTED_HEADERS: Final = RequestedHeaders(())

# Token characters, list separators and the white space around them: one pass
# over the whole value checks every name's characters at once.
_HEADER_LIST: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z \t,]*")


def parse_request_headers(lines: list[str]) -> RequestedHeaders | None:
    """Parse the ``Access-Control-Request-Headers`` lines of a preflight.

    Returns the requested names, or ``None`` when the value is too long, has
    too many empty elements or too many lines, or holds something that is not
    a header name. The work is a few passes over a value whose length is
    capped, whatever a client sends.
    """
    if len(lines) == 1:
        text = lines[0]
        if len(text) > MAX_REQUEST_HEADERS_LENGTH:
            return None
    elif not lines:
        return NO_REQUESTED_HEADERS
    elif len(lines) > MAX_REQUEST_HEADER_LINES or sum(map(len, lines)) > MAX_REQUEST_HEADERS_LENGTH:
        return None  # counted before anything is done per line
    else:
        text = ",".join(lines)
    if _HEADER_LIST.fullmatch(text) is None:
        return None
    names: dict[str, None] = {}
    empty = 0
    for element in text.lower().split(","):
        name = element.strip(" \t")
        if not name:
            empty += 1
            if empty > MAX_EMPTY_ELEMENTS:
                return None
        elif " " in name or "\t" in name:
            return None  # white space inside a name
        else:
            names[name] = None
    return RequestedHeaders(tuple(names))


def merge_vary(headers: CIMultiDict[str], name: str = "Origin") -> None:
    """Add *name* to the response's ``Vary`` unless it is already covered.

    Existing values are kept; several ``Vary`` lines are folded into one.
    """
    values = headers.getall(VARY, ())
    if not values:
        headers[VARY] = name
        return
    wanted = name.lower()
    for value in values:
        for element in value.split(","):
            token = element.strip().lower()
            if token in (wanted, "*"):
                return
    headers[VARY] = ", ".join([*values, name])


def expose_all_value(headers: CIMultiDict[str]) -> str:
    """The ``Access-Control-Expose-Headers`` value for ``expose_headers="*"``.

    Lists the names the response carries, minus those a page may read anyway
    and those that can never be exposed; compared case-insensitively, each
    name once, as the response spells it.
    """
    seen: set[str] = set()
    listed: list[str] = []
    for key in headers:
        lower = key.lower()
        if lower in NOT_LISTED_FOR_EXPOSE_ALL or lower in seen:
            continue
        seen.add(lower)
        listed.append(str(key))
    return ",".join(listed)
