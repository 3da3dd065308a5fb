"""The benchmark's hand-written floors send exactly what the library sends.

The benchmark compares each mode of the library with a floor doing the same
work by hand; the comparison means something only while both answer every
scenario identically. ``benchmarks/run.py`` checks this before measuring; this
test keeps it true as the library changes.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import apps

#: Set by aiohttp itself, equal in content but not in value between two servers.
IGNORED = {"date", "server"}


async def answers(client: Any) -> list[tuple[str, int, dict[str, str], str]]:
    seen = []
    for name, method, path, headers in apps.SCENARIOS:
        async with client.request(method, path, headers=headers) as response:
            kept = {k.lower(): v for k, v in response.headers.items() if k.lower() not in IGNORED}
            seen.append((name, response.status, kept, await response.text()))
    return seen


@pytest.mark.parametrize(
    ("library", "floor"),
    [
        ("route", "floor"),
        ("route", "floor-hook"),
        ("app", "floor-app"),
        ("app", "floor-app-hook"),
        # The variants compared with a mode: the same answers, one origin looked up otherwise.
        ("route+cached", "floor"),
        ("app+cached", "floor-app"),
        ("route+csrf", "floor"),
        ("app+csrf", "floor-app"),
    ],
)
async def test_floor_sends_what_the_library_sends(aiohttp_client: Any, library: str, floor: str):
    library_client = await aiohttp_client(apps.BUILDERS[library]())
    floor_client = await aiohttp_client(apps.BUILDERS[floor]())
    library_answers = await answers(library_client)
    assert library_answers == await answers(floor_client)
    # The scenarios do what their names say.
    by_name = {name: (status, headers) for name, status, headers, _ in library_answers}
    assert "access-control-allow-origin" not in by_name["disallowed GET"][1]
    assert by_name["allowed GET"][1]["access-control-allow-origin"] == apps.ALLOWED
    assert by_name["credentialed GET, expose '*'"][1]["access-control-expose-headers"] == (
        "X-Request-Id,X-Trace,Date,Server"
    )
    assert by_name["allowed preflight"][0] == 200
    assert by_name["rejected preflight"][0] == 403
    assert by_name["GET, 10k origins + 1k patterns"][1]["access-control-allow-origin"] == (
        apps.TENANT
    )


def test_the_chart_draws_the_last_results():
    """docs/performance.svg shows benchmarks/results.json, whose counts are the report's
    (benchmarks/results.md); ``./run bench`` writes all three."""
    root = Path(__file__).resolve().parent.parent
    results = json.loads((root / "benchmarks" / "results.json").read_text())
    counts = results["instructions"]
    report = (root / "benchmarks" / "results.md").read_text()
    for scenario, kinds in counts.items():
        row = next(line for line in report.splitlines() if line.startswith(f"| {scenario} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1:9] == [f"{kinds[kind] / 1000:,.1f}" for kind in apps.KINDS], scenario
    svg = (root / "docs" / "performance.svg").read_text()
    texts = [html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    for scenario, kinds in counts.items():
        assert scenario in texts, scenario
        for mode, floor in (("route", "floor-hook"), ("app", "floor-app-hook")):
            assert f"{kinds[floor] / kinds[mode]:.2f}" in texts, (scenario, mode)
    assert results["title"] in texts
    assert "](performance.svg)" in (root / "docs" / "performance.md").read_text()
