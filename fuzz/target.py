"""Fuzz target for the parsers and deciders that read what clients send.

``check(data)`` splits *data* into a configuration choice, an ``Origin``, a
requested method, ``Access-Control-Request-Headers`` lines and response header
names, runs them through the code that handles them on every request, and
asserts what must hold whatever the input (see ``check``'s body). Any other
exception, or a failed assertion, is a finding.

Run it with ``./run fuzz`` (atheris, coverage-guided); the test suite replays the
committed corpus in ``fuzz/corpus`` through the same function without atheris.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from multidict import CIMultiDict, CIMultiDictProxy

from aiohttp_cors import ResourceOptions
from aiohttp_cors._config import compile_config
from aiohttp_cors._decision import finish_actual, origin_not_allowed, preflight
from aiohttp_cors._headers import (
    ACRH,
    MAX_REQUEST_HEADERS_LENGTH,
    PREFLIGHT_VARY,
    parse_request_headers,
)
from aiohttp_cors._origins import split_request_origin
from aiohttp_cors._policy import OriginPolicy

CORPUS = Path(__file__).resolve().parent / "corpus"
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SAFE_VALUE = re.compile(r"[\x20-\x7e]*")


def merge(config: dict[object, ResourceOptions]) -> OriginPolicy:
    return OriginPolicy(compile_config(config))


POLICIES = [
    merge({"https://app.example": ResourceOptions(allow_headers=("X-Token",), max_age=5)}),
    merge({"*": ResourceOptions(allow_headers="*", expose_headers="*", allow_methods="*")}),
    merge(
        {
            "https://*.example.com": ResourceOptions(allow_credentials=True, expose_headers="*"),
            "http://localhost:*": ResourceOptions(allow_methods=("GET", "PUT")),
            "null": ResourceOptions(),
            re.compile(r"https://[a-z]{1,8}\.example\.org"): ResourceOptions(),
        }
    ),
    merge({}),
]
ROUTE_METHODS = frozenset({"GET", "PUT"})


def split(data: bytes) -> tuple[int, str, str, list[str], list[str]]:
    """Policy index, Origin, method, request-header lines, response header names.

    Fields are separated by NUL bytes; values are decoded as aiohttp decodes
    header bytes (UTF-8, undecodable bytes escaped).
    """
    fields = data.split(b"\x00")
    text = [f.decode("utf-8", "surrogateescape") for f in fields]
    index = fields[0][0] % len(POLICIES) if fields[0] else 0
    origin = text[1] if len(text) > 1 else ""
    method = text[2] if len(text) > 2 else ""
    lines = text[3].split("\n") if len(text) > 3 and text[3] else []
    names = [n for n in text[4].split("\n") if TOKEN.fullmatch(n)] if len(text) > 4 else []
    return index, origin, method, lines, names


def check(data: bytes) -> None:
    index, origin, method, lines, names = split(data)
    policy = POLICIES[index]

    parsed = parse_request_headers(lines)
    if parsed is not None:
        assert sum(map(len, lines)) <= MAX_REQUEST_HEADERS_LENGTH
        assert all(TOKEN.fullmatch(n) and n == n.lower() for n in parsed.names), parsed.names
        assert len(set(parsed.names)) == len(parsed.names)

    parts = split_request_origin(origin)
    if parts is not None:
        scheme, host, port = parts
        assert origin == f"{scheme}://{host}" + (f":{port}" if port else "")

    assert not policy.asks  # no predicates in these policies
    options = policy.match(origin)
    if index == 0 and options is not None:
        assert origin == "https://app.example"
    if options is not None and origin != "null":
        assert SAFE_VALUE.fullmatch(origin), origin  # only origin-shaped values are echoed

    request_headers = CIMultiDict[str]()
    for line in lines:
        request_headers.add(ACRH, line)
    lines_sent = CIMultiDictProxy(request_headers).getall(ACRH, [])
    if options is None:
        answer: list[tuple[str, str]] | str = origin_not_allowed(origin, policy.empty)
    else:
        answer = preflight(options, origin, method, lines_sent, ROUTE_METHODS, PREFLIGHT_VARY)
    if isinstance(answer, str):
        assert answer.isascii() and SAFE_VALUE.fullmatch(answer), answer
        assert len(answer) < 700
    else:
        assert options is not None
        for name, value in answer:
            assert SAFE_VALUE.fullmatch(value), (name, value)
        got = dict(answer)
        assert got["Access-Control-Allow-Origin"] == origin
        assert TOKEN.fullmatch(got["Access-Control-Allow-Methods"])
        for name in got.get("Access-Control-Allow-Headers", "").split(","):
            assert not name or TOKEN.fullmatch(name)

    response = CIMultiDict[str]((name, "v") for name in names)
    own = response.getall("Access-Control-Allow-Origin", [])
    finish_actual(options, origin, response)
    allow = response.getall("Access-Control-Allow-Origin", [])
    if own:  # the handler answered CORS itself: its headers stay as they are
        assert allow == own
    else:
        assert len(allow) <= 1
    if allow and not own:
        assert options is not None and allow[0] in (origin, "*")
        if allow[0] == "*":
            assert "Access-Control-Allow-Credentials" not in response
    for name, value in response.items():
        if name.lower().startswith("access-control-"):
            assert SAFE_VALUE.fullmatch(value), (name, value)
    assert "origin" in {t.strip().lower() for v in response.getall("Vary") for t in v.split(",")}


def main() -> None:
    import atheris  # noqa: PLC0415  (only the fuzzer needs it)

    atheris.instrument_all()  # coverage feedback from the library's code
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
