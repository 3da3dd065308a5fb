"""Soak: a mixed workload of 1,000,000 requests per mode on loopback.

``./run soak`` (or ``python benchmarks/soak.py``); options ``--requests N``
(1,000,000), ``--connections N`` (32), ``--mode route|app`` (both by default).

The workload cycles through ordinary requests (no Origin, allowed and refused
origins, credentialed, preflights allowed and rejected, 10k origins + 1k patterns)
and hostile ones: a new Origin on every request, new requested header names on
every preflight, a 5,000-character ``Access-Control-Request-Headers``, unknown
paths and methods. Fresh values on every request keep every bounded memo table
filling and emptying all the run long.

It reports, for each mode: requests served; errors (socket errors, any 5xx, any
status the workload cannot produce, and statuses in other proportions than the
workload's); wrk's latency percentiles; the server's resident memory after start,
after a warm-up of 5% of the requests, and at the end. Target: no errors and less
than 5 MB of growth from the warm-up to the end.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from apps import ACRH, ACRM, ALLOWED, DENIED, TENANT  # noqa: E402
from run import ensure_debian, free_port, pinned  # noqa: E402

#: (method, path, headers, expected status); "{n}" is replaced by a counter.
WORKLOAD = [
    ("GET", "/data", {}, 200),
    ("GET", "/data", {"Origin": ALLOWED}, 200),
    ("GET", "/cred", {"Origin": ALLOWED, "Cookie": "s=1"}, 200),
    ("GET", "/data", {"Origin": DENIED}, 200),
    ("OPTIONS", "/data", {"Origin": ALLOWED, ACRM: "PUT", ACRH: "x-token, content-type"}, 200),
    ("OPTIONS", "/data", {"Origin": DENIED, ACRM: "PUT"}, 403),
    ("GET", "/many", {"Origin": TENANT}, 200),
    ("PUT", "/data", {"Origin": ALLOWED}, 200),
    # hostile: fresh values every time
    ("GET", "/data", {"Origin": "https://r{n}.example"}, 200),
    ("GET", "/many", {"Origin": "https://x{n}.tenant5.example.com"}, 200),
    ("OPTIONS", "/data", {"Origin": "https://r{n}.example", ACRM: "PUT"}, 403),
    ("OPTIONS", "/data", {"Origin": ALLOWED, ACRM: "PUT", ACRH: "x-token, x-h{n}"}, 403),
    ("OPTIONS", "/data", {"Origin": ALLOWED, ACRM: "PUT", ACRH: "x-token," * 625}, 403),
    ("OPTIONS", "/data", {"Origin": ALLOWED, ACRM: "M{n}"}, 403),
    ("GET", "/nowhere-{n}", {"Origin": ALLOWED}, 404),
    ("DELETE", "/data", {"Origin": ALLOWED}, 405),
]


def lua_script() -> str:
    """wrk script: cycle through WORKLOAD, count the statuses seen."""
    entries = []
    for method, path, headers, _ in WORKLOAD:
        pairs = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        entries.append(f"{{{lua_string(method)}, {lua_string(path)}, {{{pairs}}}}}")
    return (
        "local workload = {"
        + ",\n".join(entries)
        + "}\n"
        + """
local n = 0
statuses = {}
local function fill(value) return (string.gsub(value, "{n}", tostring(n))) end
request = function()
  n = n + 1
  local entry = workload[(n % #workload) + 1]
  local headers = {}
  for k, v in pairs(entry[3]) do headers[k] = fill(v) end
  return wrk.format(entry[1], fill(entry[2]), headers)
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do io.write(string.format("STATUS %d %d\\n", status, count)) end
end
"""
    )


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert found is not None
    return int(found.group(1)) / 1024


def run_wrk(wrk: str, port: int, script: str, seconds: float, connections: int) -> dict[str, Any]:
    command = [
        *pinned(1),
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        script,
        f"http://127.0.0.1:{port}/",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    requests = re.search(r"(\d+) requests in", output)
    assert requests is not None, output
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE))
    return {
        "requests": int(requests.group(1)),
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "statuses": {
            int(s): int(c) for s, c in re.findall(r"^STATUS (\d+) (\d+)", output, re.MULTILINE)
        },
        "percentiles": percentiles,
    }


def expected_share() -> dict[int, float]:
    shares: dict[int, float] = {}
    for *_, status in WORKLOAD:
        shares[status] = shares.get(status, 0) + 1 / len(WORKLOAD)
    return shares


def soak(mode: str, wrk: str, script: str, total: int, connections: int) -> dict[str, Any]:
    port = free_port()
    kind = {"route": "route", "app": "app"}[mode]
    server = subprocess.Popen(
        [*pinned(0), sys.executable, str(HERE / "apps.py"), kind, str(port)], cwd=HERE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/data", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        started = rss_mb(server.pid)
        warm_up = run_wrk(wrk, port, script, 3, connections)
        rate = warm_up["requests"] / 3
        warm_target = total // 20
        if warm_up["requests"] < warm_target:
            extra = run_wrk(
                wrk, port, script, (warm_target - warm_up["requests"]) / rate, connections
            )
            warm_up["requests"] += extra["requests"]
        after_warm_up = rss_mb(server.pid)
        runs = [run_wrk(wrk, port, script, total / rate * 1.05, connections)]
        while sum(r["requests"] for r in runs) < total:
            missing = total - sum(r["requests"] for r in runs)
            runs.append(run_wrk(wrk, port, script, missing / rate * 1.1 + 1, connections))
        ended = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
    statuses: dict[int, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    served = sum(r["requests"] for r in runs)
    unexpected = sum(c for s, c in statuses.items() if s not in expected_share())
    # Each connection has at most one request in flight when a run stops.
    tolerance = len(runs) * connections + len(WORKLOAD)
    skewed = [
        f"{status}: {statuses.get(status, 0):,} seen, {share * served:,.0f} expected"
        for status, share in expected_share().items()
        if abs(statuses.get(status, 0) - share * served) > tolerance
    ]
    return {
        "mode": mode,
        "served": served,
        "seconds_rate": rate,
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "server_errors": sum(c for s, c in statuses.items() if s >= 500),
        "unexpected": unexpected,
        "skewed": skewed,
        "statuses": dict(sorted(statuses.items())),
        "percentiles": runs[0]["percentiles"],
        "rss": (started, after_warm_up, ended),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--mode", choices=["route", "app"], action="append")
    args = parser.parse_args()
    wrk = ensure_debian("wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script())
    failed = False
    try:
        lines = [
            "| mode | requests | errors | p50 | p75 | p90 | p99 | RSS start | after warm-up | end "
            "| growth after warm-up |",
            "|---|" + "---:|" * 10,
        ]
        for mode in args.mode or ["route", "app"]:
            print(f"== soak: {mode}, {args.requests:,} requests ==", flush=True)
            result = soak(mode, wrk, script.name, args.requests, args.connections)
            errors = result["socket_errors"] + result["server_errors"] + result["unexpected"]
            growth = result["rss"][2] - result["rss"][1]
            print(f"statuses {result['statuses']}", flush=True)
            for problem in result["skewed"]:
                print(f"skewed: {problem}")
            failed |= bool(errors or result["skewed"] or growth >= 5)
            p = result["percentiles"]
            start, warm, end = result["rss"]
            lines.append(
                f"| {mode} | {result['served']:,} | {errors} | {p.get('50')} | {p.get('75')} | "
                f"{p.get('90')} | {p.get('99')} | {start:.1f} MB | {warm:.1f} MB | {end:.1f} MB "
                f"| {growth:+.1f} MB |"
            )
    finally:
        os.unlink(script.name)
    print("\n".join(lines))
    if failed:
        sys.exit("soak: errors, skewed statuses or memory growth of 5 MB or more")


if __name__ == "__main__":
    main()
