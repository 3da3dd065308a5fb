"""In-process figures for one server kind; prints JSON.

``python inprocess.py KIND``, run by ``run.py`` in this repository's venv and
in the 0.8.1 venv alike:

- ``requests``: microseconds per request of each scenario through aiohttp's
  real server stack (HTTP parser, router, middlewares, handler, response
  preparation, writer) with the socket replaced by an in-memory transport;
  the median of 7 batches of 2,000 pipelined requests;
- ``allocations``: peak bytes allocated while handling one allowed GET in an
  app of one route and one origin, in one of 20,000 routes, and in one with
  10,000 origins and 1,000 patterns (equal figures: nothing per request grows
  with routes or origins);
- ``startup``: seconds and bytes it takes to enable CORS on 20,000 routes;
- ``marked``: run under Valgrind's callgrind by ``run.py``, which has it dump its
  counters whenever ``getppid`` is called: each scenario's 1,000 requests are
  sent between two such calls, so that one dump holds their instructions alone;
- ``worst``: microseconds per preflight carrying the largest ``Origin`` and
  ``Access-Control-Request-Headers`` aiohttp accepts (lines of 8,190 bytes, 120
  of them), and per plain GET carrying the same headers (what aiohttp alone
  spends reading them), next to an ordinary preflight;
- ``origins``: microseconds per GET and per preflight through a policy of 10,000
  exact origins, 1,000 wildcard patterns, a regular expression and a predicate,
  for the costliest ``Origin`` values next to an ordinary one. Every request of a
  batch carries a different origin, so that no memo answers it;
- ``churn``: the bytes held after 1,000 to 10,000 different origins admitted by a
  ``CachedOrigins`` of 1,000 entries at most.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import statistics
import sys
import time
import tracemalloc
from typing import Any

from aiohttp import web
from apps import (
    ALLOWED,
    BUILDERS,
    SCENARIOS,
    TENANT,
    bare_equivalent,
    data,
    many_origins,
    options_kwargs,
)

import aiohttp_cors

N_ROUTES = 20_000
#: Requests counted per scenario under callgrind.
MARKED = 1000


class MemoryTransport(asyncio.Transport):
    """Stands in for the socket: counts the responses aiohttp writes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.responses = 0
        self.wanted = 0
        self.done: asyncio.Future[None] | None = None

    def write(self, data: Any) -> None:
        self._count(bytes(data))

    def writelines(self, lines: Any) -> None:
        self._count(b"".join(lines))

    def _count(self, data: bytes) -> None:
        self.responses += data.count(b"HTTP/1.1 ")
        if self.responses >= self.wanted and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def close(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Connection:
    """One keep-alive connection to *app*, through aiohttp's own request handler."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def __aenter__(self) -> Connection:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        assert self.runner.server is not None
        self.protocol = self.runner.server()
        self.transport = MemoryTransport()
        self.protocol.connection_made(self.transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.protocol.connection_lost(None)
        await self.runner.cleanup()

    async def send_all(self, raws: list[bytes]) -> None:
        """Send *raws* pipelined; return once all are answered."""
        transport = self.transport
        transport.responses = 0
        transport.wanted = len(raws)
        transport.done = asyncio.get_running_loop().create_future()
        self.protocol.data_received(b"".join(raws))
        await transport.done

    async def send(self, raw: bytes, count: int) -> None:
        """Send *count* pipelined copies of *raw*; return once all are answered."""
        transport = self.transport
        transport.responses = 0
        transport.wanted = count
        transport.done = asyncio.get_running_loop().create_future()
        self.protocol.data_received(raw * count)
        await transport.done


def raw_request(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def per_request(connection: Connection, raw: bytes, batch: int = 2000) -> float:
    """Microseconds per request: the median of 7 batches of *batch*."""
    await connection.send(raw, max(1, batch // 4))
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        await connection.send(raw, batch)
        timings.append((time.perf_counter() - start) / batch * 1e6)
    return statistics.median(timings)


#: The longest header value that fits aiohttp's 8,190-byte line limit, per header.
def _longest(name: str) -> int:
    return 8190 - len(name) - 4


def worst_requests() -> dict[str, list[tuple[str, str]]]:
    """name -> the headers of a preflight to /data (``Origin``, method, and more)."""
    origin = "https://" + "a" * (_longest("Origin") - 20) + ".example"
    names = ",".join(["x-token"] * (_longest("Access-Control-Request-Headers") // 8))
    method = ("Access-Control-Request-Method", "PUT")
    return {
        "ordinary preflight": [
            ("Origin", ALLOWED),
            method,
            ("Access-Control-Request-Headers", "x-token, content-type"),
        ],
        "longest Origin": [("Origin", origin), method],
        "120 Origin lines, each the longest": [*[("Origin", origin)] * 120, method],
        "longest requested-headers line": [
            ("Origin", ALLOWED),
            method,
            ("Access-Control-Request-Headers", names),
        ],
        "120 requested-headers lines, each the longest": [
            ("Origin", ALLOWED),
            method,
            *[("Access-Control-Request-Headers", names)] * 120,
        ],
    }


def raw_lines(method: str, path: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


#: Origins of the ``origins`` part: name -> the n-th origin of that shape, all distinct.
ORIGIN_SHAPES: dict[str, Any] = {
    # What pages send: a short host refused after every step (the baseline), and
    # one admitted by the regular expression.
    "ordinary, refused": lambda n: f"https://site{n}.example.org",
    "ordinary, admitted by the regex": lambda n: f"https://pr-{n}.preview.example.org",
    # Well formed and as long as allowed: 300 characters, 146 labels to walk up.
    "longest well-formed, 140 labels": lambda n: _padded(f"https://{n}.", "a.", "example"),
    # Well formed, 16 punycode labels, whose validity is checked (the idna package):
    # 253 characters, the longest a host with punycode may be.
    "punycode, 253 characters": lambda n: f"https://{'xn--strae-oqa.' * 16}{_letters(n)}.example",
    # Shaped to make a backtracking expression work, and refused before any runs.
    "regex-hostile, 300 characters": lambda n: _padded(f"https://{n}", "a-", "!.example.org"),
    # The longest Origin line aiohttp accepts: refused by its length alone.
    "longest line, 8,180 characters": lambda n: _padded(
        f"https://{n}", "a", ".example.org", _longest("Origin")
    ),
}


def _padded(start: str, fill: str, end: str, length: int = 300) -> str:
    middle = length - len(start) - len(end)
    return start + (fill * middle)[:middle] + end


def _letters(n: int) -> str:
    """*n* written in the letters a to j, 13 of them: a label of ``xn--strae-oqa``'s length."""
    return "".join("abcdefghij"[int(digit)] for digit in f"{n:013d}")


def origins_app(kind: str) -> web.Application:
    """One path whose policy holds every kind of origin key (none for ``bare``)."""
    app = web.Application()
    resource = app.router.add_resource("/p")
    routes = [resource.add_route("GET", data), resource.add_route("PUT", data)]
    if kind == "bare":
        return app
    options = aiohttp_cors.ResourceOptions(**options_kwargs("/data"))
    partners = {"https://partner.example.net"}
    config: dict[Any, Any] = dict.fromkeys(many_origins(), options)
    config[re.compile(r"https://pr-[0-9]+\.preview\.example\.org")] = options
    config[lambda origin, request: origin in partners] = options
    if kind == "app":
        aiohttp_cors.enable(app, config)
    else:
        cors = aiohttp_cors.setup(app, defaults=config)
        for route in routes:
            cors.add(route)
    return app


async def per_distinct(connection: Connection, raws: list[bytes], batches: int = 7) -> float:
    """Microseconds per request: the median of *batches* batches, each request of each
    batch different (*raws* holds them all, one batch after another)."""
    size = len(raws) // (batches + 1)
    await connection.send_all(raws[:size])  # warm-up
    timings = []
    for batch in range(1, batches + 1):
        start = time.perf_counter()
        await connection.send_all(raws[batch * size : (batch + 1) * size])
        timings.append((time.perf_counter() - start) / size * 1e6)
    return statistics.median(timings)


async def origin_costs(kind: str) -> dict[str, dict[str, float]]:
    """method -> origin shape -> microseconds per request (bare aiohttp: GET only)."""
    methods: list[tuple[str, list[tuple[str, str]]]] = [("GET", [])]
    if kind != "bare":
        methods.append(("OPTIONS", [("Access-Control-Request-Method", "PUT")]))
    costs: dict[str, dict[str, float]] = {method: {} for method, _ in methods}
    async with Connection(origins_app(kind)) as connection:
        for method, extra in methods:
            for name, shape in ORIGIN_SHAPES.items():
                size = 100 if "line" in name else 1000
                raws = [
                    raw_lines(method, "/p", [("Origin", shape(n)), *extra]) for n in range(size * 8)
                ]
                costs[method][name] = await per_distinct(connection, raws)
    return costs


async def allocated(app: web.Application, path: str, origin: str) -> int:
    """Peak bytes allocated while handling one GET (after warming up)."""
    raw = raw_request("GET", path, {"Origin": origin})
    async with Connection(app) as connection:
        await connection.send(raw, 100)
        gc.collect()
        peaks = []
        for _ in range(20):
            tracemalloc.start()
            start = tracemalloc.get_traced_memory()[0]
            await connection.send(raw, 1)
            peaks.append(tracemalloc.get_traced_memory()[1] - start)
            tracemalloc.stop()
    return min(peaks)


def routes_app() -> tuple[web.Application, list[web.AbstractRoute]]:
    app = web.Application()
    return app, [app.router.add_route("GET", f"/r{i}", data) for i in range(N_ROUTES)]


def enable_everywhere(kind: str, app: web.Application, routes: list[web.AbstractRoute]) -> None:
    """What the figure times: CORS for every route, app-wide or route by route."""
    options = aiohttp_cors.ResourceOptions(expose_headers=("X-Request-Id",))
    if kind == "app":
        aiohttp_cors.enable(app, {ALLOWED: options})
    else:
        cors = aiohttp_cors.setup(app, defaults={ALLOWED: options})
        for route in routes:
            cors.add(route)


def many_routes_app(kind: str) -> tuple[web.Application, float, int]:
    """An app of 20,000 routes, CORS enabled on all; the seconds and bytes that took."""
    app, routes = routes_app()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    enable_everywhere(kind, app, routes)
    seconds = time.perf_counter() - start
    memory = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return app, seconds, memory


def startup_seconds(kind: str) -> float:
    """Without tracemalloc (which slows allocation down): the median of 5 runs."""
    timings = []
    for _ in range(5):
        app, routes = routes_app()
        gc.collect()
        start = time.perf_counter()
        enable_everywhere(kind, app, routes)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def one_route_app(kind: str, origins: list[str]) -> web.Application:
    app = web.Application()
    route = app.router.add_route("GET", "/r0", data)
    options = aiohttp_cors.ResourceOptions(expose_headers=("X-Request-Id",))
    config = dict.fromkeys(origins, options)
    if kind == "app":
        aiohttp_cors.enable(app, config)
    else:
        aiohttp_cors.setup(app, defaults=config).add(route)
    return app


#: What a CachedOrigins may remember in the churn figure, and the origins sent.
CHURN_MAX = 1000
CHURN_STEPS = (1000, 2000, 5000, 10_000)


async def churn(kind: str) -> dict[str, Any]:
    """Bytes the process holds (tracemalloc) after 1,000 to 10,000 different origins, each
    admitted by a CachedOrigins that may remember CHURN_MAX of them: flat past that."""

    async def load(origin: str) -> bool:
        return True

    cache = aiohttp_cors.CachedOrigins(load, ttl=3600, max_entries=CHURN_MAX)
    options = aiohttp_cors.ResourceOptions(expose_headers=("X-Request-Id",))
    app = web.Application()
    route = app.router.add_route("GET", "/r0", data)
    if kind == "app":
        aiohttp_cors.enable(app, {cache: options})
    else:
        aiohttp_cors.setup(app, defaults={cache: options}).add(route)
    held: dict[str, int] = {}
    async with Connection(app) as connection:
        await connection.send(raw_request("GET", "/r0", {"Origin": ALLOWED}), 100)  # warm
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        sent = 0
        for total in CHURN_STEPS:
            origins = (f"https://t{n}.tenants.example" for n in range(sent, total))
            await connection.send_all([raw_request("GET", "/r0", {"Origin": o}) for o in origins])
            sent = total
            gc.collect()
            held[str(total)] = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
    return {"held": held, "entries": cache.stats()["entries"], "max_entries": CHURN_MAX}


async def main(kind: str, part: str) -> dict[str, Any]:
    if part == "worst":
        worst = {}
        async with Connection(BUILDERS[kind]()) as connection:
            for name, lines in worst_requests().items():
                method = "GET" if kind == "bare" else "OPTIONS"
                raw = raw_lines(method, "/data", lines)
                worst[name] = await per_request(connection, raw, 2000 if len(raw) < 10_000 else 20)
        return worst
    if part == "origins":
        return await origin_costs(kind)
    if part == "churn":
        return await churn(kind)
    if part in ("requests", "marked"):
        requests = {}
        async with Connection(BUILDERS[kind]()) as connection:
            for name, method, path, headers in SCENARIOS:
                sent = bare_equivalent(method, path, headers) if kind.startswith("bare") else None
                raw = raw_request(*(sent or (method, path, headers)))
                if part == "requests":
                    requests[name] = await per_request(connection, raw)
                    continue
                await connection.send(raw, 50)  # warm: memos filled, code specialised
                os.getppid()  # callgrind dumps here: the warm-up and what came before
                await connection.send(raw, MARKED)
                os.getppid()  # and here: MARKED requests of this scenario, nothing else
        return requests
    # part == "scale": libraries only
    big, _, memory = many_routes_app(kind)
    allocations = {
        "1 route, 1 origin": await allocated(one_route_app(kind, [ALLOWED]), "/r0", ALLOWED),
        f"{N_ROUTES:,} routes": await allocated(big, f"/r{N_ROUTES - 1}", ALLOWED),
    }
    if kind != "v081":  # 0.8.1 has no patterns
        crowded = one_route_app(kind, many_origins())
        allocations["10k origins + 1k patterns"] = await allocated(crowded, "/r0", TENANT)
    return {
        "startup_seconds": startup_seconds(kind),
        "startup_bytes": memory,
        "allocations": allocations,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
