"""1. Overhead: our Client vs raw aiohttp, 5,000 NeuroIO group reads, 16 at once.

The NeuroIO emulator runs in its own process with no added latency. Each round does
the same reads with a bare ``aiohttp.ClientSession`` (same session settings, JSON
decoded) and with ``client.groups.get`` (the one path: counting, retries, limiter,
models); rounds are interleaved, the order alternating, so drift hits both alike.
Figures: the ratio of the client process's median CPU time per read (the library's
own cost, the figure that holds on a shared machine; target <= 1.10) and, beside
it, of median wall times (which mostly measure the emulator).

Run: ``python benchmarks/overhead.py [--quick] [--rounds N] [--reads N]``
"""

import argparse
import asyncio
import statistics
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
    verdict,
    write_result,
)
from benchmarks._emulator_process import emulator_process

CONCURRENCY = 16
TARGET = 1.10


async def measure(
    url: str, token: str, gids: list[str], rounds: int, n: int
) -> dict[str, Any]:
    raw_wall: list[float] = []
    raw_cpu: list[float] = []
    ours_wall: list[float] = []
    ours_cpu: list[float] = []
    # warm-up: imports, connections, the emulator's caches
    await raw_group_reads(url, token, gids, 300, CONCURRENCY)
    async with neuroio_client(url, token) as client:
        await client_group_reads(client, gids, 300, CONCURRENCY)

    async def raw() -> None:
        wall, cpu = await raw_group_reads(url, token, gids, n, CONCURRENCY)
        raw_wall.append(wall)
        raw_cpu.append(cpu)

    async def ours() -> None:
        async with neuroio_client(url, token) as client:
            wall, cpu = await client_group_reads(client, gids, n, CONCURRENCY)
            assert client.stats.requests == n, client.stats
        ours_wall.append(wall)
        ours_cpu.append(cpu)

    for round_ in range(rounds):
        # alternate which runs first, so neither always meets a warmer emulator
        for run in (raw, ours) if round_ % 2 == 0 else (ours, raw):
            await run()
    wall_ratio = statistics.median(ours_wall) / statistics.median(raw_wall)
    cpu_ratio = statistics.median(ours_cpu) / statistics.median(raw_cpu)
    return {
        "reads": n,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "raw_wall_s": raw_wall,
        "ours_wall_s": ours_wall,
        "raw_cpu_s": raw_cpu,
        "ours_cpu_s": ours_cpu,
        "raw_rps": n / statistics.median(raw_wall),
        "ours_rps": n / statistics.median(ours_wall),
        "raw_cpu_us_per_read": 1e6 * statistics.median(raw_cpu) / n,
        "ours_cpu_us_per_read": 1e6 * statistics.median(ours_cpu) / n,
        "wall_ratio": wall_ratio,
        "cpu_ratio": cpu_ratio,
        "target": TARGET,
        "met": cpu_ratio <= TARGET,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--reads", type=int, default=5000)
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 15)
    with emulator_process("neuroio", groups=20) as emu:
        result = asyncio.run(
            measure(
                emu.url, emu.credentials["token"], emu.group_ids, rounds, args.reads
            )
        )
    result["quick"] = args.quick
    out = write_result("overhead", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["variant", "CPU us/read", "CPU ratio", "reads/s (median)", "wall ratio"],
            [
                [
                    "raw aiohttp",
                    result["raw_cpu_us_per_read"],
                    1.0,
                    result["raw_rps"],
                    1.0,
                ],
                [
                    "asyncgroups Client",
                    result["ours_cpu_us_per_read"],
                    result["cpu_ratio"],
                    result["ours_rps"],
                    result["wall_ratio"],
                ],
            ],
        )
    )
    print(
        f"client CPU ratio {result['cpu_ratio']:.3f} (target <= {TARGET}: "
        f"{verdict(result['cpu_ratio'], TARGET, at_most=True)}); "
        f"wall ratio {result['wall_ratio']:.3f} -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
