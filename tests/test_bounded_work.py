"""The largest ``Origin`` and ``Access-Control-Request-Headers`` aiohttp lets through
cost the CORS layer a bounded amount of work, and get a clean answer.

aiohttp's server accepts header lines of up to 8190 bytes and (since 3.10) up to 128
of them. ``benchmarks/inprocess.py KIND worst`` reports the microseconds; here the
answers are checked over real HTTP, and the growth of the work with the size of the
input is checked directly: a hundred times more input may not cost more than a few
times the work, whatever its shape (the values are capped, then rejected, before
anything proportional to them is done twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

import aiohttp_cors
from aiohttp_cors import ResourceOptions
from aiohttp_cors._config import compile_config
from aiohttp_cors._decision import preflight as decide_preflight
from aiohttp_cors._headers import ACRH, PREFLIGHT_VARY
from aiohttp_cors._policy import OriginPolicy

from .conftest import ORIGIN, ok
from .rawhttp import Connection

LINE = 8190 - len("Access-Control-Request-Headers: ") - 2
#: Header lines the server accepts besides Host and Origin (aiohttp >= 3.10: 128 in all).
LINES = 120
CONFIG = {ORIGIN: ResourceOptions(allow_headers=("X-Token",))}


def worst_cases() -> dict[str, list[tuple[str, bytes]]]:
    names = b",".join([b"x-token"] * (LINE // 8))
    return {
        "longest Origin": [
            ("Origin", b"https://" + b"a" * (LINE - 20) + b".example"),
            ("Access-Control-Request-Method", b"PUT"),
        ],
        "longest requested-headers line": [
            ("Origin", ORIGIN.encode()),
            ("Access-Control-Request-Method", b"PUT"),
            ("Access-Control-Request-Headers", names),
        ],
        "most requested-headers lines": [
            ("Origin", ORIGIN.encode()),
            ("Access-Control-Request-Method", b"PUT"),
            *[("Access-Control-Request-Headers", names)] * LINES,
        ],
        "thousands of empty elements": [
            ("Origin", ORIGIN.encode()),
            ("Access-Control-Request-Method", b"PUT"),
            ("Access-Control-Request-Headers", b"," * LINE),
        ],
        "most Origin lines": [
            *[("Origin", b"https://" + b"a" * (LINE - 20) + b".example")] * LINES,
            ("Access-Control-Request-Method", b"PUT"),
        ],
    }


@pytest.mark.parametrize("mode", ["route", "app-wide"])
async def test_the_largest_values_get_a_clean_403(aiohttp_server: Any, mode: str):
    app = web.Application()
    route = app.router.add_put("/x", ok)
    app.router.add_get("/ping", ok)
    if mode == "route":
        aiohttp_cors.setup(app, defaults=CONFIG).add(route)
    else:
        aiohttp_cors.enable(app, CONFIG)
    server = await aiohttp_server(app)
    for name, headers in worst_cases().items():
        connection = await Connection.open(server.port)
        try:
            response = await connection.send("OPTIONS", "/x", headers)
            assert response.status == 403, (name, response.status, response.body[:200])
            assert "Access-Control-Allow-Origin" not in dict(response.headers), name
            assert len(response.body) < 700, name
            await connection.still_serves()
        finally:
            connection.close()


def fastest(action: Callable[[], object], repeat: int = 7, number: int = 20) -> float:
    """Seconds per call: the best of *repeat* batches (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            action()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def preflight(origin: str, lines: list[str]) -> Callable[[], object]:
    policy = OriginPolicy(compile_config(CONFIG))
    headers = CIMultiDict[str]()
    for line in lines:
        headers.add(ACRH, line)
    proxy = CIMultiDictProxy(headers)
    methods = frozenset({"PUT"})

    def decide() -> object:
        # What the engine does with a preflight's values.
        options = policy.match(origin)
        if not isinstance(options, ResourceOptions):
            return "origin not allowed"
        return decide_preflight(
            options, origin, "PUT", proxy.getall(ACRH, []), methods, PREFLIGHT_VARY
        )

    return decide


@pytest.mark.parametrize(
    ("at_cap", "beyond"),
    [
        # a line as long as the cap (4,096 characters), and one 100 times longer
        ((ORIGIN, ["x-token," * 500]), (ORIGIN, ["x-token," * 50_000])),
        # the cap filled with one-letter names, and 100 lines of twice that
        ((ORIGIN, ["a," * 2000]), (ORIGIN, ["a," * 4000] * 100)),
        # the most lines allowed (16), and 1,000 times as many
        ((ORIGIN, ["x-token,x-token"] * 16), (ORIGIN, ["x-token"] * 16_000)),
        # an Origin of 80 characters, and one of 8,000
        (("https://" + "a" * 64 + ".example", []), ("https://" + "a" * 7984 + ".example", [])),
    ],
    ids=["longer line", "more long lines", "more lines", "longer origin"],
)
def test_work_beyond_the_caps_costs_no_more_than_at_them(at_cap, beyond):
    """Input far beyond the caps is turned away at a cost of the order of the caps, plus
    reading the header lines once (as aiohttp's parser did before, at a greater cost)."""
    base = fastest(preflight(*at_cap))
    grown = fastest(preflight(*beyond))
    headers = CIMultiDictProxy(CIMultiDict[str]((ACRH, line) for line in beyond[1]))
    reading = fastest(lambda: headers.getall(ACRH, ()))
    assert grown < 3 * (base + reading), (
        f"{grown * 1e6:.1f} us against {base * 1e6:.1f} us (+ {reading * 1e6:.1f} us to read)"
    )
