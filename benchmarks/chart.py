"""Draw the benchmark's ratios per scenario and mode as an SVG (docs/performance.svg).

Reads what ``benchmarks/run.py`` wrote to ``benchmarks/results.json``: instructions per
request by scenario and kind. Each bar is a floor's count over a mode's (above 1: less
work than the floor), so every mode is drawn against the floor built with its own
mechanisms, as in the report's tables. ``./run bench`` draws it at the end of a run;
``./run bench --chart`` redraws it from the last results.

matplotlib is the benchmark venv's, not a dependency of the package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
CHART = HERE.parent / "docs" / "performance.svg"

#: (label, mode, its floor): one bar per scenario each.
BARS = [
    ("route mode / floor (prepare hook)", "route", "floor-hook"),
    ("app-wide / floor (middleware + hook)", "app", "floor-app-hook"),
    ("aiohttp-cors 0.8.1 / floor (prepare hook)", "v081", "floor-hook"),
]
COLOURS = ["#2b6cb0", "#2f855a", "#a0aec0"]
TARGET = 0.97


def draw(results: dict[str, Any], output: Path) -> None:
    """Write the chart of *results* (``{"instructions": {scenario: {kind: n}}}``)."""
    # The same results give the same file: no date, no random element ids.
    matplotlib.rcParams["svg.hashsalt"] = "aiohttp_cors"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, small
    counts: dict[str, dict[str, float]] = results["instructions"]
    scenarios = list(counts)
    height = 0.8 / len(BARS)
    figure = Figure(figsize=(8.5, 0.55 * len(scenarios) + 1.6))
    axes = figure.subplots()
    for index, (label, mode, floor) in enumerate(BARS):
        ratios = [counts[name][floor] / counts[name][mode] for name in scenarios]
        offsets = [row + (index - (len(BARS) - 1) / 2) * height for row in range(len(scenarios))]
        bars = axes.barh(offsets, ratios, height=height, label=label, color=COLOURS[index])
        if mode != "v081":
            axes.bar_label(bars, labels=[f"{r:.2f}" for r in ratios], padding=2, fontsize=7)
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.axvline(TARGET, color="#c53030", linewidth=0.8, linestyle="--", label=f"target {TARGET}")
    axes.set_yticks(range(len(scenarios)), scenarios)
    axes.invert_yaxis()
    axes.set_xlim(0.6, 1.75)
    axes.set_xlabel("floor's instructions per request / the mode's (above 1: less work)")
    axes.set_title(results.get("title", "Instructions per request against hand-written floors"))
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(output, format="svg", metadata={"Date": None})


def main_from(results: Path, output: Path) -> None:
    """Draw the chart of the results file *results* into *output*."""
    draw(json.loads(results.read_text()), output)
    print(f"wrote {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--output", type=Path, default=CHART)
    args = parser.parse_args()
    main_from(args.results, args.output)


if __name__ == "__main__":
    main()
