"""The library's Fetch tables hold exactly the standard's entries (``tests/fetch_standard.py``).

Each entry is its own case, both ways: a table missing an entry, holding one too many
or holding a misspelt one fails, and names it.
"""

from __future__ import annotations

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions, Unsafe
from aiohttp_cors._config import FORBIDDEN_METHODS, _public_suffixes, problems_in
from aiohttp_cors._headers import (
    FORBIDDEN_REQUEST_HEADERS,
    NORMALIZED_METHODS,
    NOT_LISTED_FOR_EXPOSE_ALL,
    SAFELISTED_RESPONSE_HEADERS,
)
from aiohttp_cors.model import SAFELISTED_METHODS

from . import fetch_standard as fetch

TABLES = {
    "forbidden request headers": (FORBIDDEN_REQUEST_HEADERS, fetch.FORBIDDEN_REQUEST_HEADERS),
    "safelisted response headers": (SAFELISTED_RESPONSE_HEADERS, fetch.SAFELISTED_RESPONSE_HEADERS),
    "forbidden methods": (FORBIDDEN_METHODS, fetch.FORBIDDEN_METHODS),
    "normalized methods": (NORMALIZED_METHODS, fetch.NORMALIZED_METHODS),
    "safelisted methods": (SAFELISTED_METHODS, fetch.SAFELISTED_METHODS),
}
ENTRIES = [
    pytest.param(table, entry, id=f"{table}: {entry}")
    for table, (library, standard) in TABLES.items()
    for entry in sorted(library | standard)
]


@pytest.mark.parametrize(("table", "entry"), ENTRIES)
def test_each_entry_is_the_standards(table: str, entry: str):
    library, standard = TABLES[table]
    assert (entry in library) == (entry in standard), (
        f"{entry!r} is {'' if entry in library else 'not '}in the library's {table}, "
        f"and {'' if entry in standard else 'not '}in the standard's"
    )


@pytest.mark.parametrize("table", TABLES)
def test_each_table_is_the_standards(table: str):
    library, standard = TABLES[table]
    assert library == standard


def test_what_expose_all_never_lists():
    """``expose_headers="*"`` lists neither what a page reads anyway, nor what it can
    never read, nor the headers of the connection."""
    connection = {"connection", "keep-alive", "proxy-connection", "te", "trailer"}
    connection |= {"transfer-encoding", "upgrade"}
    assert set(NOT_LISTED_FOR_EXPOSE_ALL) == (
        fetch.SAFELISTED_RESPONSE_HEADERS | fetch.FORBIDDEN_RESPONSE_HEADERS | connection
    )


@pytest.mark.parametrize("parent", fetch.PUBLIC_SUFFIXES)
def test_public_suffixes_are_refused_under_a_wildcard(parent: str):
    assert _public_suffixes().is_public(parent)
    (problem,) = problems_in({f"https://*.{parent}": ResourceOptions()})
    assert f"covers '{parent}', a public suffix where anyone can register a host" in problem
    unsafe = Unsafe.WILDCARD_ON_PUBLIC_SUFFIX
    assert problems_in({f"https://*.{parent}": ResourceOptions()}, unsafe) == []


@pytest.mark.parametrize("parent", fetch.NOT_PUBLIC_SUFFIXES)
def test_registrable_domains_are_allowed_under_a_wildcard(parent: str):
    assert not _public_suffixes().is_public(parent)
    config = {f"https://*.{parent}": ResourceOptions(allow_credentials=True)}
    assert problems_in(config) == []
    aiohttp_cors.enable(web.Application(), config)


@pytest.mark.parametrize("method", sorted(fetch.FORBIDDEN_METHODS))
def test_forbidden_methods_are_refused_in_allow_methods(method: str):
    for written in (method, method.lower()):
        (problem,) = problems_in({"https://a.example": ResourceOptions(allow_methods=[written])})
        assert f"browsers never send {method!r}: remove it" in problem


@pytest.mark.parametrize("method", ["GET", "PATCH", "CONNECTX", "TRACKING"])
def test_other_methods_are_fine_in_allow_methods(method: str):
    assert problems_in({"https://a.example": ResourceOptions(allow_methods=[method])}) == []


@pytest.mark.parametrize(
    "name",
    [
        *sorted(fetch.FORBIDDEN_REQUEST_HEADERS),
        *(prefix + "anything" for prefix in fetch.FORBIDDEN_REQUEST_HEADER_PREFIXES),
    ],
)
def test_forbidden_request_headers_are_refused_in_allow_headers(name: str):
    (problem,) = problems_in({"https://a.example": ResourceOptions(allow_headers=[name])})
    assert "a page can never set" in problem


@pytest.mark.parametrize("name", ["X-Token", "Authorization", "Dates", "Proxy", "Secret"])
def test_other_request_headers_are_fine_in_allow_headers(name: str):
    assert problems_in({"https://a.example": ResourceOptions(allow_headers=[name])}) == []


@pytest.mark.parametrize(
    "name", sorted(fetch.SAFELISTED_RESPONSE_HEADERS | fetch.FORBIDDEN_RESPONSE_HEADERS)
)
def test_response_headers_a_page_reads_anyway_or_never(name: str):
    (problem,) = problems_in({"https://a.example": ResourceOptions(expose_headers=[name])})
    said = "browsers never expose" if name in fetch.FORBIDDEN_RESPONSE_HEADERS else "always"
    assert said in problem
