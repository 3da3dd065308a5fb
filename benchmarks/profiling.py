"""Profile one scenario of one server kind in-process, with pyinstrument.

``python benchmarks/profile.py KIND SCENARIO [--requests N]``: KIND as in
``apps.BUILDERS`` (bare, floor, route, app), SCENARIO a name from
``apps.SCENARIOS`` (or a unique part of one). Prints pyinstrument's call tree of
N pipelined requests through aiohttp's real server stack.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apps import BUILDERS, SCENARIOS
from inprocess import Connection, raw_request


async def main() -> None:
    from pyinstrument import Profiler  # noqa: PLC0415 (only needed here)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(BUILDERS))
    parser.add_argument("scenario")
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args()
    found = [s for s in SCENARIOS if args.scenario in s[0]]
    if len(found) != 1:
        parser.error(f"scenario {args.scenario!r}: choose one of {[s[0] for s in SCENARIOS]}")
    _, method, path, headers = found[0]
    raw = raw_request(method, path, headers)
    async with Connection(BUILDERS[args.kind]()) as connection:
        await connection.send(raw, 1000)
        profiler = Profiler(interval=0.0001, async_mode="disabled")
        with profiler:
            for _ in range(args.requests // 1000):
                await connection.send(raw, 1000)
    print(profiler.output_text(unicode=True, color=False, show_all="--all" in sys.argv))


if __name__ == "__main__":
    asyncio.run(main())
