"""7. Concurrency scaling: group reads at 1, 4, 16 and 64 at once, 20 ms latency.

The NeuroIO emulator (own process) delays every answer by 20 ms. For each level our
Client and raw aiohttp do the same reads side by side; the figures are reads/s,
each one's share of the physical bound (level / 0.020 s) and ours ÷ raw.

Run: ``python benchmarks/concurrency.py [--quick]``
"""

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    client_group_reads,
    neuroio_client,
    raw_group_reads,
    table,
    write_result,
)
from benchmarks._emulator_process import emulator_process

LATENCY = 0.020
LEVELS = (1, 4, 16, 64)


def reads_for(level: int, quick: bool) -> int:
    """About 2 s (1 s quick) of work at the bound, at least 100 reads."""
    seconds = 1.0 if quick else 2.0
    return max(100, int(seconds * level / LATENCY))


async def measure(
    url: str, token: str, gids: list[str], quick: bool
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for level in LEVELS:
        n = reads_for(level, quick)
        async with neuroio_client(url, token, concurrency=level) as client:
            ours_wall, _ = await client_group_reads(client, gids, n, level)
        raw_wall, _ = await raw_group_reads(url, token, gids, n, level)
        bound = level / LATENCY
        rows.append(
            {
                "concurrency": level,
                "reads": n,
                "bound_rps": bound,
                "ours_rps": n / ours_wall,
                "raw_rps": n / raw_wall,
                "ours_of_bound": n / ours_wall / bound,
                "raw_of_bound": n / raw_wall / bound,
                "ours_vs_raw": raw_wall / ours_wall,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    with emulator_process("neuroio", groups=20, latency=LATENCY) as emu:
        rows = asyncio.run(
            measure(emu.url, emu.credentials["token"], emu.group_ids, args.quick)
        )
    result = {"latency_s": LATENCY, "levels": rows, "quick": args.quick}
    out = write_result("concurrency", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            [
                "at once",
                "bound/s",
                "ours/s",
                "raw/s",
                "ours ÷ bound",
                "raw ÷ bound",
                "ours ÷ raw",
            ],
            [
                [
                    r["concurrency"],
                    r["bound_rps"],
                    r["ours_rps"],
                    r["raw_rps"],
                    r["ours_of_bound"],
                    r["raw_of_bound"],
                    r["ours_vs_raw"],
                ]
                for r in rows
            ],
        )
    )
    print(f"-> {out}")
    return result


if __name__ == "__main__":
    main()
