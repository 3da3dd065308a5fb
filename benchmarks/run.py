"""The benchmark: this library against bare aiohttp, a hand-written floor and 0.8.1.

``./run bench`` (or ``python benchmarks/run.py``) installs what it needs (Debian's
``wrk`` and ``valgrind``; a venv with ``aiohttp-cors==0.8.1`` and the same aiohttp as this one),
checks that the floor and the library send exactly the same headers, then
measures:

- req/s under ``wrk`` on loopback for every scenario of ``apps.SCENARIOS`` and
  every server kind, the kinds interleaved within each round so that machine
  drift cancels out; the median of the rounds, and for each ratio the median of
  the rounds' ratios;
- instructions per request in the server's process, counted by Valgrind's
  callgrind (Debian's ``valgrind``, installed when missing): repeatable where
  timings are not (a memory layout moves them by up to 0.5%), they decide the targets;
- microseconds per request in-process (aiohttp's real server stack, no socket);
- enabling CORS on 20,000 routes (seconds, bytes) and the bytes one request
  allocates with 1 or 20,000 routes, 1 or 11,000 origins.

The Markdown report is printed and written to ``benchmarks/results.md``.
Options: ``--rounds N`` (5), ``--duration S`` (2), ``--connections N`` (16),
``--quick`` (1 round of 1 s, for a smoke run).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chart  # noqa: E402
from apps import GUARDED_WRITE, KINDS, SCENARIOS, Request, bare_equivalent  # noqa: E402
from inprocess import MARKED  # noqa: E402

LABELS = {
    "bare": "bare aiohttp",
    "floor": "floor (in the handlers)",
    "floor-hook": "floor (a prepare hook)",
    "route": "route mode",
    "floor-app": "floor (a middleware)",
    "floor-app-hook": "floor (a middleware and a prepare hook)",
    "app": "app-wide",
    "v081": "0.8.1",
    "route+csrf": "route mode with the write guard",
    "app+csrf": "app-wide with the write guard",
    "route+mw": "route mode, the application having a middleware",
    "route+mw+csrf": "the same with the write guard",
    "route+cached": "route mode, the origin from a CachedOrigins",
    "app+cached": "app-wide, the origin from a CachedOrigins",
}
#: Bare aiohttp calling a prepare hook, or a middleware, that does nothing: aiohttp's
#: own cost of the mechanisms the library relies on (measured with the no-Origin GET).
MECHANISMS = ["bare+hook", "bare+middleware"]
#: Each mode with cross-origin write protection on -> the same mode with it off.
GUARDED = {"route+csrf": "route", "app+csrf": "app", "route+mw+csrf": "route+mw"}
#: The kinds measured for the write guard beyond KINDS.
GUARD_KINDS = [*GUARDED, "route+mw"]
#: Each mode admitting /one's origin through a CachedOrigins -> listing it exactly.
CACHED = {"route+cached": "route", "app+cached": "app"}
CACHED_HIT = "GET, 1 origin"
#: Memory layouts each kind a target is decided on is counted under (see
#: ``instructions``); the others are counted once.
LAYOUTS = 3
TARGET_KINDS = {"floor", "floor-hook", "route", "floor-app-hook", "app", *GUARDED, *CACHED}
#: Each mode of this library and the hand-written floor doing the same work the same way.
PAIRS = [
    ("route", "floor"),
    ("route", "floor-hook"),
    ("app", "floor-app"),
    ("app", "floor-app-hook"),
]
VENV_081 = HERE / ".venv-081"
#: Headers that differ between any two servers for reasons unrelated to CORS.
IGNORED = {"date", "server"}


def ensure_debian(command: str) -> str:
    """The path of *command*, installing Debian's package of that name if need be."""
    found = shutil.which(command)
    if found is None:
        if os.geteuid() != 0:
            sys.exit(f"{command} is missing: install Debian's '{command}' package")
        print(f"== installing Debian's {command} ==", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", command], check=True, env=env)
        found = shutil.which(command)
        assert found is not None
    return found


def ensure_venv_081() -> Path:
    """A venv with aiohttp-cors 0.8.1 beside the same aiohttp version as ours."""
    python = VENV_081 / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV_081)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "aiohttp-cors==0.8.1",
            f"aiohttp=={aiohttp.__version__}",
        ],
        check=True,
    )
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpu: int) -> list[str]:
    """``taskset`` prefix: the servers on one core, wrk on the other."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


def python_for(kind: str) -> str:
    return str(VENV_081 / "bin" / "python") if kind == "v081" else sys.executable


@contextlib.contextmanager
def servers() -> Iterator[dict[str, int]]:
    """Start one server per kind; yield kind -> port."""
    ports = {kind: free_port() for kind in [*KINDS, *MECHANISMS, *GUARD_KINDS, *CACHED]}
    processes = [
        subprocess.Popen(
            [*pinned(0), python_for(kind), str(HERE / "apps.py"), kind, str(port)],
            cwd=HERE,
        )
        for kind, port in ports.items()
    ]
    try:
        deadline = time.monotonic() + 60
        for port in ports.values():
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"a benchmark server did not start on {port}") from None
                    time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def fetch(
    port: int, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, head, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, error.headers, error.read()
    seen = {name.lower(): value for name, value in head.items() if name.lower() not in IGNORED}
    return status, seen, body


def check_same_headers(ports: dict[str, int]) -> None:
    """The floor must send exactly what the library sends, or the comparison is unfair."""
    problems = []
    for name, method, path, headers in SCENARIOS:
        for kind, floor_kind in PAIRS:
            floor = fetch(ports[floor_kind], method, path, headers)
            seen = fetch(ports[kind], method, path, headers)
            if seen != floor:
                problems.append(f"{name}: {LABELS[kind]} sent {seen}, its floor {floor}")
        for guarded, plain in {**GUARDED, **CACHED}.items():  # the same answers, always
            if fetch(ports[guarded], method, path, headers) != fetch(
                ports[plain], method, path, headers
            ):
                problems.append(f"{name}: {guarded} answered otherwise than {plain}")
    if problems:
        sys.exit("the floor does not match the library:\n" + "\n".join(problems))


def wrk_rps(wrk: str, port: int, request: Request, args: argparse.Namespace) -> float:
    method, path, headers = request
    command = [*pinned(1), wrk, "-t1", f"-c{args.connections}", f"-d{args.duration}s"]
    for header, value in headers.items():
        command += ["-H", f"{header}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "{method}"\n')
    try:
        command += ["-s", script.name, f"http://127.0.0.1:{port}{path}"]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(script.name)
    errors = re.search(r"Socket errors: (.*)", output)
    if errors:
        sys.exit(f"wrk saw socket errors against {path}: {errors.group(1)}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found is not None, output
    return float(found.group(1))


Table = dict[str, dict[str, float]]


def empty_samples() -> dict[str, dict[str, list[float]]]:
    kinds = [*KINDS, *MECHANISMS, *GUARD_KINDS, *CACHED]
    return {name: {kind: [] for kind in kinds} for name, *_ in SCENARIOS}


def medians(samples: dict[str, dict[str, list[float]]]) -> Table:
    return {
        name: {kind: statistics.median(values) for kind, values in by_kind.items() if values}
        for name, by_kind in samples.items()
    }


Samples = dict[str, dict[str, list[float]]]


def measure_load(wrk: str, ports: dict[str, int], args: argparse.Namespace) -> Samples:
    """scenario -> kind -> req/s of each round, kinds interleaved and rotated each round."""
    samples = empty_samples()
    for round_number in range(args.rounds):
        shift = round_number % len(KINDS)
        order = KINDS[shift:] + KINDS[:shift]
        print(f"== load, round {round_number + 1} of {args.rounds} ==", flush=True)
        for name, method, path, headers in SCENARIOS:
            kinds = order + MECHANISMS if name == SCENARIOS[0][0] else order
            if name == GUARDED_WRITE:
                kinds = kinds + GUARD_KINDS
            if name == CACHED_HIT:
                kinds = kinds + list(CACHED)
            for kind in kinds:
                request = (method, path, headers)
                if kind.startswith("bare"):
                    request = bare_equivalent(method, path, headers)
                samples[name][kind].append(wrk_rps(wrk, ports[kind], request, args))
    return samples


def paired(samples: Samples, name: str, kind: str, floor: str) -> list[float]:
    """*kind*'s req/s over *floor*'s in each round: the two were measured minutes
    apart at most, so that slow drifts of a shared machine cancel out."""
    return [a / b for a, b in zip(samples[name][kind], samples[name][floor], strict=True)]


def instructions(valgrind: str, kind: str, layout: int = 0) -> dict[str, float]:
    """scenario -> instructions per request in the server's process, counted by
    callgrind (``inprocess.py KIND marked``) under memory layout *layout*.

    A count is the same run after run for one command line and environment. Another
    layout (here: an environment variable of another length) moves it by up to 0.5%:
    CPython 3.11 finds type attributes through a cache indexed by the addresses of
    their names, so which lookups collide there depends on where objects landed."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--dump-before=getppid",
                f"--callgrind-out-file={out}/cg",
                python_for(kind),
                str(HERE / "inprocess.py"),
                kind,
                "marked",
            ],
            cwd=HERE,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0", "BENCH_LAYOUT": "." * 97 * layout},
        )
        totals = {}
        for dump in Path(out).glob("cg.*"):
            found = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
            assert found is not None, dump
            totals[int(dump.suffix[1:])] = int(found.group(1))
    # Dumps 1, 3, 5...: start-up and warm-ups; 2, 4, 6...: each scenario's requests.
    counts = [totals[part] for part in sorted(totals) if part % 2 == 0]
    assert len(counts) == len(SCENARIOS), sorted(totals)
    return {name: count / MARKED for (name, *_), count in zip(SCENARIOS, counts, strict=True)}


def measure_instructions(valgrind: str) -> Table:
    """scenario -> kind -> instructions per request (for the kinds targets are decided
    on, the median of LAYOUTS memory layouts), two counts at a time."""
    print("== instructions per request (callgrind) ==", flush=True)
    kinds = [*KINDS, *GUARD_KINDS, *CACHED]
    runs = [
        (kind, layout)
        for layout in range(LAYOUTS)
        for kind in kinds
        if layout == 0 or kind in TARGET_KINDS
    ]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        measured = list(pool.map(lambda run: instructions(valgrind, *run), runs))
    found: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for (kind, _), counts in zip(runs, measured, strict=True):
        found[kind].append(counts)
    return {
        name: {kind: statistics.median(c[name] for c in found[kind]) for kind in kinds}
        for name, *_ in SCENARIOS
    }


def in_process(kind: str, part: str) -> Any:
    output = subprocess.run(
        [*pinned(0), python_for(kind), str(HERE / "inprocess.py"), kind, part],
        cwd=HERE,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def measure_in_process(rounds: int) -> Table:
    """scenario -> kind -> median microseconds per request, over interleaved rounds."""
    samples = empty_samples()
    for round_number in range(rounds):
        print(f"== in-process, round {round_number + 1} of {rounds} ==", flush=True)
        for kind in KINDS + MECHANISMS:
            for name, micros in in_process(kind, "requests").items():
                samples[name][kind].append(micros)
    return medians(samples)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "-"


def variant_table(counts: Table, variants: dict[str, str], label: str) -> list[str]:
    """Each variant kind's counts beside the kind it varies (its floor here)."""
    lines = [
        "| scenario | "
        + " | ".join(f"{LABELS[plain]} | {label} | **ratio**" for plain in variants.values())
        + " |",
        "|---|" + "---:|" * 3 * len(variants),
    ]
    for name, k in counts.items():
        cells = [
            f"{k[plain] / 1000:,.1f} | {k[kind] / 1000:,.1f} | **{ratio(k[plain], k[kind])}**"
            for kind, plain in variants.items()
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def instructions_report(counts: Table) -> list[str]:
    """The table of instructions per request, and the ratios of each mode to its floors."""
    lines = [
        "## Instructions per request (Valgrind)",
        "",
        "What the server's process executes for one request (Python, aiohttp and C code), "
        "counted by Valgrind's callgrind over 1,000 requests per scenario after a warm-up, "
        "through aiohttp's real server stack in-process. A count is the same run after run "
        "for one command line, and another memory layout moves it by at most 0.5% (some "
        "objects hash by their addresses), where timings on a shared machine vary by 10% "
        "and more. The kernel's "
        "share (socket reads and writes: the same bytes for a mode and its floors) is left "
        "out, which makes these ratios stricter than throughput ratios. Thousands of "
        "instructions; the ratios are the floor's count over the mode's (above 1: less work "
        "than the floor).",
        "",
        "| scenario | bare | floor | floor (hook) | route mode | floor (middleware) "
        "| floor (middleware + hook) | app-wide | 0.8.1 | **route vs floor (hook)** "
        "| **app-wide vs floor (middleware + hook)** | app-wide vs floor (OPTIONS handler) |",
        "|---|" + "---:|" * 11,
    ]
    for name, k in counts.items():
        cells = " | ".join(f"{k[kind] / 1000:,.1f}" for kind in KINDS)
        lines.append(
            f"| {name} | {cells} | **{ratio(k['floor-hook'], k['route'])}** | "
            f"**{ratio(k['floor-app-hook'], k['app'])}** | {ratio(k['floor'], k['app'])} |"
        )
    lines += [
        "",
        "With cross-origin write protection on (`csrf_protection=True`), against the same "
        "mode with it off (its floor here): the guard looks at unsafe methods only. "
        "App-wide mode checks in the middleware it has anyway; route mode, which has none, "
        "while aiohttp's router resolves the request, which every request pays for with a "
        "call (the last columns: route mode in an application with a middleware of its "
        "own that does nothing).",
        "",
        *variant_table(counts, GUARDED, "+ guard"),
        "",
        f"With /one's origin admitted by a `CachedOrigins` (remembered: every request a "
        f"hit) instead of listed exactly (its floor here). Only {CACHED_HIT!r} asks it; "
        "the other scenarios show what its presence on another path costs them.",
        "",
        *variant_table(counts, CACHED, "+ CachedOrigins"),
    ]
    return lines


def report(
    samples: Samples, counts: Table, micros: Table, scale: dict[str, Any], args: argparse.Namespace
) -> str:
    load = medians(samples)
    lines = [
        "# Benchmark results",
        "",
        f"aiohttp {aiohttp.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs ({_cpu_model()}); "
        f"wrk -t1 -c{args.connections} on loopback, {args.rounds} rounds of "
        f"{args.duration} s per cell, servers on one core and wrk on the other.",
        "",
        *targets(samples, counts),
        "",
        *instructions_report(counts),
        "",
        "## Throughput under wrk (requests per second)",
        "",
        "Each mode of this library is compared with hand-written code sending the same "
        "headers (the floor). Bare aiohttp answers a plain GET where the scenario is a "
        "preflight. Requests per second are the medians of the rounds; each ratio is the "
        "median of the ratios of the rounds (the two servers measured in the same round).",
        "",
        "### Route mode",
        "",
        "Floors: CORS written into each handler plus an OPTIONS handler per resource; and "
        "the same with one prepare hook (`on_response_prepare`, route mode's own mechanism) "
        "instead of the handlers.",
        "",
        "| scenario | bare | floor | floor (hook) | route mode | **route / floor** "
        "| **route / floor (hook)** | 0.8.1 | route / 0.8.1 |",
        "|---|" + "---:|" * 8,
    ]

    def rounds(name: str, kind: str, floor: str) -> str:
        return f"{statistics.median(paired(samples, name, kind, floor)):.3f}"

    for name, k in load.items():
        lines.append(
            f"| {name} | {k['bare']:,.0f} | {k['floor']:,.0f} | {k['floor-hook']:,.0f} | "
            f"{k['route']:,.0f} | **{rounds(name, 'route', 'floor')}** | "
            f"**{rounds(name, 'route', 'floor-hook')}** | {k['v081']:,.0f} | "
            f"{rounds(name, 'route', 'v081')} |"
        )
    lines += [
        "",
        "### App-wide mode",
        "",
        "Floors: one hand-written middleware, first, doing CORS for every route; and a "
        "middleware answering preflights plus one prepare hook adding the headers of every "
        "other response (app-wide mode's own mechanism, which also reaches aiohttp's "
        "404/405/500 and responses prepared inside handlers, where a middleware cannot).",
        "",
        "| scenario | bare | floor (middleware) | floor (middleware + hook) | app-wide "
        "| **app-wide / floor (middleware)** | **app-wide / floor (middleware + hook)** "
        "| app-wide / floor (OPTIONS handler) |",
        "|---|" + "---:|" * 7,
    ]
    for name, k in load.items():
        lines.append(
            f"| {name} | {k['bare']:,.0f} | {k['floor-app']:,.0f} | "
            f"{k['floor-app-hook']:,.0f} | {k['app']:,.0f} | "
            f"**{rounds(name, 'app', 'floor-app')}** | "
            f"**{rounds(name, 'app', 'floor-app-hook')}** | {rounds(name, 'app', 'floor')} |"
        )
    first = load[SCENARIOS[0][0]]
    lines += [
        "",
        "aiohttp's own cost of the mechanisms the library relies on (bare aiohttp with one "
        "that does nothing, the no-Origin GET): a prepare hook "
        f"{ratio(first['bare+hook'], first['bare'])} of bare aiohttp, a middleware "
        f"{ratio(first['bare+middleware'], first['bare'])}.",
    ]
    one, many = "GET, 1 origin", "GET, 10k origins + 1k patterns"
    lines += [
        "",
        "10,000 exact origins and 1,000 subdomain patterns, the request matching the last "
        "pattern, against a 1-origin configuration (0.8.1: 11,000 exact origins, the last "
        "one): "
        + ", ".join(
            f"{LABELS[kind]} {ratio(load[many][kind], load[one][kind])}"
            for kind in (
                "floor",
                "floor-hook",
                "route",
                "floor-app",
                "floor-app-hook",
                "app",
                "v081",
            )
        )
        + ".",
        "",
        "## Microseconds per request, in-process",
        "",
        "aiohttp's own server stack (parser, router, middlewares, handler, response "
        "preparation, writer) fed through an in-memory transport: no kernel, less noise. "
        "The last columns are the cost over bare aiohttp.",
        "",
        "| scenario | bare (µs) | + floor | + floor (hook) | + route mode "
        "| + floor (middleware) | + floor (middleware + hook) | + app-wide | + 0.8.1 |",
        "|---|" + "---:|" * 8,
    ]
    measured = ("floor", "floor-hook", "route", "floor-app", "floor-app-hook", "app", "v081")
    for name, k in micros.items():
        extra = " | ".join(f"{k[kind] - k['bare']:+.1f}" for kind in measured)
        lines.append(f"| {name} | {k['bare']:.1f} | {extra} |")
    hook = statistics.median(k["bare+hook"] - k["bare"] for k in micros.values())
    middleware = statistics.median(k["bare+middleware"] - k["bare"] for k in micros.values())
    lines += [
        "",
        f"aiohttp's own cost of the mechanisms the library relies on, measured the same way "
        f"(bare aiohttp with one that does nothing; median over the scenarios): calling a "
        f"prepare hook (`on_response_prepare`) {hook:+.2f} µs per response, calling a "
        f"middleware {middleware:+.2f} µs per request.",
    ]
    libraries = ("route", "app", "v081")
    lines += [
        "",
        "## 20,000 routes",
        "",
        "| | route mode | app-wide | 0.8.1 |",
        "|---|---:|---:|---:|",
        "| enabling CORS on 20,000 routes (s, median of 5) | "
        + " | ".join(f"{scale[k]['startup_seconds']:.3f}" for k in libraries)
        + " |",
        "| memory that takes (MB) | "
        + " | ".join(f"{scale[k]['startup_bytes'] / 1e6:.1f}" for k in libraries)
        + " |",
    ]
    for label in scale["route"]["allocations"]:
        cells = [
            f"{scale[k]['allocations'][label]:,}" if label in scale[k]["allocations"] else "n/a"
            for k in libraries
        ]
        lines.append(f"| bytes allocated by one GET, {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def targets(samples: Samples, counts: Table) -> list[str]:
    """The ratios the project holds itself to, each with the floor it is taken against:
    decided on instructions per request, shown beside the throughput under wrk."""
    preflights = [name for name, method, _, _ in SCENARIOS if method == "OPTIONS"]
    everything = [name for name, *_ in SCENARIOS]
    actual = [name for name in everything if name not in preflights]
    checks = [
        ("route mode vs floor (hook), every scenario", "route", "floor-hook", everything, 0.97),
        (
            "app-wide vs floor (middleware + hook), actual requests",
            "app",
            "floor-app-hook",
            actual,
            0.97,
        ),
        (
            "app-wide vs floor (OPTIONS handler), allowed preflight",
            "app",
            "floor",
            ["allowed preflight"],
            0.85,
        ),
        *(
            (
                f"{LABELS[plain]} with the write guard vs without, {GUARDED_WRITE}",
                guarded,
                plain,
                [GUARDED_WRITE],
                0.97,
            )
            for guarded, plain in GUARDED.items()
            if plain in KINDS  # the two modes as they are benchmarked everywhere else
        ),
        *(
            (
                f"{LABELS[cached]} vs the origin listed, {CACHED_HIT}",
                cached,
                plain,
                [CACHED_HIT],
                0.97,
            )
            for cached, plain in CACHED.items()
        ),
    ]
    lines = [
        "## Targets",
        "",
        "The lowest ratio of the scenarios named, decided on instructions per request "
        "(the median of three memory layouts); throughput under wrk beside it (the lowest "
        "of the scenarios' medians of paired rounds, and the range of all those rounds: "
        "what this machine's noise allows a throughput ratio to show).",
        "",
    ]
    for label, kind, floor, names, target in checks:
        lowest = min(counts[name][floor] / counts[name][kind] for name in names)
        verdict = "met" if lowest >= target else "**missed**"
        rounds = [paired(samples, name, kind, floor) for name in names]
        throughput = min(statistics.median(each) for each in rounds)
        spread = [value for each in rounds for value in each]
        lines.append(
            f"- {label}: **{lowest:.3f}** (target {target}): {verdict}; throughput "
            f"{throughput:.3f} (rounds {min(spread):.2f} to {max(spread):.2f})"
        )
    return lines


def worst_report(worst: dict[str, dict[str, float]]) -> str:
    """The table of ``inprocess.py KIND worst``: CORS work on the largest headers."""
    lines = [
        "",
        "## The largest headers aiohttp accepts",
        "",
        "Preflights carrying header lines of 8,190 bytes (aiohttp's limit), up to 120 of "
        "them, answered 403 by both modes; bare aiohttp serves a GET with the same headers "
        "(what reading them costs aiohttp alone). Microseconds per request, in-process.",
        "",
        "| request | bare GET, same headers (µs) | route mode (µs) | app-wide (µs) "
        "| route minus bare | app-wide minus bare |",
        "|---|" + "---:|" * 5,
    ]
    for name, bare in worst["bare"].items():
        route, app = worst["route"][name], worst["app"][name]
        lines.append(
            f"| {name} | {bare:,.1f} | {route:,.1f} | {app:,.1f} | {route - bare:+,.1f} "
            f"| {app - bare:+,.1f} |"
        )
    return "\n".join(lines) + "\n"


#: The bound on what one ``Origin`` may cost: the costliest shape, per request, against
#: an ordinary refused origin in the same mode and method.
ORIGIN_BOUND = 15.0


def origins_report(costs: dict[str, dict[str, dict[str, float]]]) -> str:
    """The table of ``inprocess.py KIND origins``: the costliest ``Origin`` values."""
    columns = [
        ("bare", "GET"),
        ("route", "GET"),
        ("app", "GET"),
        ("route", "OPTIONS"),
        ("app", "OPTIONS"),
    ]
    titles = {"GET": "GET", "OPTIONS": "preflight"}
    baseline = "ordinary, refused"
    lines = [
        "",
        "## The costliest Origin",
        "",
        "One path whose policy holds 10,000 exact origins, 1,000 wildcard patterns, a "
        "regular expression and a predicate; every request carries a different Origin, so "
        "no memo answers it. Microseconds per request, in-process, and in brackets the "
        f"multiple of the same column's '{baseline}' row. Bare aiohttp serves a GET with "
        "the same Origin (what reading it costs aiohttp alone).",
        "",
        "| Origin | " + " | ".join(f"{kind} {titles[m]} (µs)" for kind, m in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    worst = 0.0
    for name in costs["bare"]["GET"]:
        cells = []
        for kind, method in columns:
            value = costs[kind][method][name]
            multiple = value / costs[kind][method][baseline]
            if kind != "bare":
                worst = max(worst, multiple)
            cells.append(f"{value:,.1f} ({multiple:.1f}x)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    verdict = "met" if worst <= ORIGIN_BOUND else "**missed**"
    lines += [
        "",
        f"- Costliest Origin against an ordinary refused one, same mode and method: "
        f"**{worst:.1f}x** (target at most {ORIGIN_BOUND:.0f}x): {verdict}",
    ]
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


#: How much more the process may hold after 10,000 origins than after 2,000.
CHURN_SLACK = 1.05


def churn_report(churned: dict[str, Any]) -> str:
    """The bytes held as ever more origins go through a bounded CachedOrigins."""
    steps = list(next(iter(churned.values()))["held"])
    lines = [
        "",
        "## Origins from a store, churning",
        "",
        "A `CachedOrigins` that may remember 1,000 origins admits every origin; each "
        "request carries a new one. Bytes the server process holds (tracemalloc, after a "
        "garbage collection) once that many different origins have been served: the "
        "cache's entries, and the engine's own bounded memos.",
        "",
        "| mode | " + " | ".join(f"after {int(n):,}" for n in steps) + " | entries |",
        "|---|" + "---:|" * (len(steps) + 1),
    ]
    worst = 0.0
    for kind, found in churned.items():
        held = found["held"]
        cells = " | ".join(f"{held[n]:,}" for n in steps)
        lines.append(f"| {LABELS[kind]} | {cells} | {found['entries']:,} |")
        worst = max(worst, held[steps[-1]] / held[steps[1]])
        assert found["entries"] <= found["max_entries"], found
    verdict = "met" if worst <= CHURN_SLACK else "**missed**"
    lines += [
        "",
        f"- Held after {int(steps[-1]):,} origins over held after {int(steps[1]):,} (by "
        "then the cache and the engine's memo of 1,024 origins per policy are full), the "
        f"larger of the two modes: **{worst:.3f}** (target at most {CHURN_SLACK}): {verdict}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s: a smoke run")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--chart", action="store_true", help="only redraw docs/performance.svg from results.json"
    )
    args = parser.parse_args()
    if args.chart:
        chart.main_from(chart.RESULTS, chart.CHART)
        return
    if args.quick:
        args.rounds, args.duration = 1, 1
    wrk = ensure_debian("wrk")
    valgrind = ensure_debian("valgrind")
    ensure_venv_081()
    with servers() as ports:
        check_same_headers(ports)
        samples = measure_load(wrk, ports, args)
    counts = measure_instructions(valgrind)
    micros = measure_in_process(max(1, min(args.rounds, 3)))
    print("== 20,000 routes ==", flush=True)
    scale = {kind: in_process(kind, "scale") for kind in ("route", "app", "v081")}
    print("== the largest headers aiohttp accepts ==", flush=True)
    worst = {kind: in_process(kind, "worst") for kind in ("bare", "route", "app")}
    print("== the costliest Origin ==", flush=True)
    origins = {kind: in_process(kind, "origins") for kind in ("bare", "route", "app")}
    print("== origins from a store, churning ==", flush=True)
    churned = {kind: in_process(kind, "churn") for kind in ("route", "app")}
    text = report(samples, counts, micros, scale, args) + worst_report(worst)
    text += origins_report(origins) + churn_report(churned)
    args.output.write_text(text)
    print(text)
    results = {
        "title": f"Instructions per request, aiohttp {aiohttp.__version__}",
        "instructions": counts,
    }
    chart.RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    chart.main_from(chart.RESULTS, chart.CHART)


if __name__ == "__main__":
    main()
