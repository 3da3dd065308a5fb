"""The tables of the Fetch standard that CORS depends on, written out from the standard.

The browser model (``aiohttp_cors.model``) takes its tables from the engine
(``aiohttp_cors._headers``), so a test that runs the model cannot notice a wrong entry
there: both sides would be wrong alike. These copies are kept apart from the library on
purpose; ``tests/test_fetch_standard.py`` holds the library's tables to them entry by
entry, and the model's tests draw their cases from them.

Sections of https://fetch.spec.whatwg.org/ in brackets.
"""

from __future__ import annotations

import string
from typing import Final

# -- methods [Methods] ----------------------------------------------------------------

#: "CORS-safelisted method": never preflighted.
SAFELISTED_METHODS: Final = frozenset({"GET", "HEAD", "POST"})
#: "forbidden method": a browser never sends one (compared case-insensitively).
FORBIDDEN_METHODS: Final = frozenset({"CONNECT", "TRACE", "TRACK"})
#: "normalize a method": the names a browser upper-cases; any other is sent as written.
NORMALIZED_METHODS: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})

# -- request headers [Terminology: Headers] ---------------------------------------------

#: "forbidden request-header" names: a script's ``fetch()`` cannot set them.
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
#: ... and every name that starts with one of these.
FORBIDDEN_REQUEST_HEADER_PREFIXES: Final = ("proxy-", "sec-")

#: "CORS-safelisted request-header" names (with a value that passes the rules below).
SAFELISTED_REQUEST_HEADERS: Final = frozenset(
    {"accept", "accept-language", "content-language", "content-type", "range"}
)
#: A safelisted value is at most this many bytes ...
MAX_SAFELISTED_VALUE: Final = 128
#: ... and those of one request together at most this many ("CORS-unsafe request-header
#: names": beyond it, every safelisted name counts as unsafe).
MAX_SAFELISTED_TOTAL: Final = 1024
#: The essences of a safelisted ``Content-Type`` (parameters aside, any case).
SAFELISTED_CONTENT_TYPES: Final = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
#: "CORS-unsafe request-header byte": not allowed in ``Accept`` and ``Content-Type``.
UNSAFE_BYTES: Final = (frozenset(range(0x20)) - {0x09}) | {
    0x22,  # "
    0x28,  # (
    0x29,  # )
    0x3A,  # :
    0x3C,  # <
    0x3E,  # >
    0x3F,  # ?
    0x40,  # @
    0x5B,  # [
    0x5C,  # \
    0x5D,  # ]
    0x7B,  # {
    0x7D,  # }
    0x7F,  # DEL
}
#: The only bytes of a safelisted ``Accept-Language`` or ``Content-Language``.
LANGUAGE_BYTES: Final = frozenset((string.ascii_letters + string.digits + " *,-.;=").encode())

#: Values of each safelisted name, and whether the name stays safelisted with it, as the
#: library reads the rules (``Range``: one range, ``bytes=N-`` or ``bytes=N-M``, N <= M).
SAFELISTED_VALUES: Final[dict[str, list[tuple[str, bool]]]] = {
    "accept": [
        ("*/*", True),
        ("text/html, application/xhtml+xml;q=0.9", True),
        ("text/html\t", True),
        ("application/json (x)", False),
        ("a" * MAX_SAFELISTED_VALUE, True),
        ("a" * (MAX_SAFELISTED_VALUE + 1), False),
    ],
    "accept-language": [
        ("en-GB, fr;q=0.5, *", True),
        ("de-CH", True),
        ("en_GB", False),
        ("en/GB", False),
        ("zh-Hant:TW", False),
    ],
    "content-language": [
        ("en, de", True),
        ("en\t", False),
        ("é", False),
    ],
    "content-type": [
        ("text/plain", True),
        ("TEXT/PLAIN; charset=utf-8", True),
        ("multipart/form-data; boundary=something", True),
        ("application/x-www-form-urlencoded", True),
        ("application/json", False),
        ("text/csv", False),
        ("text/plain; charset=(utf-8)", False),
        ("text/plainx", False),
    ],
    "range": [
        ("bytes=0-", True),
        ("bytes=0-499", True),
        ("bytes=500-500", True),
        ("bytes=500-499", False),
        ("bytes=-500", False),
        ("bytes=0-1,5-9", False),
        ("items=0-9", False),
        ("bytes = 0-9", False),
    ],
}

# -- response headers [Terminology: Headers] --------------------------------------------

#: "CORS-safelisted response-header name": readable without ``Access-Control-Expose-Headers``.
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
#: "forbidden response-header name": never readable by a page, exposed or not.
FORBIDDEN_RESPONSE_HEADERS: Final = frozenset({"set-cookie", "set-cookie2"})

# -- the Public Suffix List (publicsuffix.org), as the library uses it -------------------

#: Parents under which anyone can register a host: ``https://*.<parent>`` is refused by
#: strict mode (the ICANN and private sections both count; an unknown top-level name is
#: a suffix too).
PUBLIC_SUFFIXES: Final = (
    "com",
    "co.uk",
    "github.io",
    "s3.amazonaws.com",
    "localhost",
    "xn--p1ai",
    "not-a-top-level-name",
)
#: Registrable domains and hosts below them: a wildcard on them is allowed.
NOT_PUBLIC_SUFFIXES: Final = (
    "example.com",
    "app.example.com",
    "example.co.uk",
    "app.github.io",
    "bucket.s3.amazonaws.com",
    "example.xn--p1ai",
)
