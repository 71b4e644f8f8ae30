"""2. Physical bound: 2,000 group reads at 20 ms latency, 16 at once.

The NeuroIO emulator (own process) delays every answer by 20 ms, so 16 requests at
once can never beat 16 / 0.020 s = 800 reads/s. Figure: our achieved rate divided
by that bound (target >= 0.85); raw aiohttp is measured beside it for reference.

Run: ``python benchmarks/physical_bound.py [--quick] [--reads N]``
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
    verdict,
    write_result,
)
from benchmarks._emulator_process import emulator_process

CONCURRENCY = 16
LATENCY = 0.020
TARGET = 0.85


async def measure(
    url: str, token: str, gids: list[str], n: int, rounds: int
) -> dict[str, Any]:
    bound = CONCURRENCY / LATENCY
    ours: list[float] = []
    raw: list[float] = []
    for _ in range(rounds):
        async with neuroio_client(url, token) as client:
            wall, _ = await client_group_reads(client, gids, n, CONCURRENCY)
        ours.append(n / wall)
        wall, _ = await raw_group_reads(url, token, gids, n, CONCURRENCY)
        raw.append(n / wall)
    best_ours, best_raw = max(ours), max(raw)
    return {
        "reads": n,
        "concurrency": CONCURRENCY,
        "latency_s": LATENCY,
        "bound_rps": bound,
        "rounds": rounds,
        "ours_rps": ours,
        "raw_rps": raw,
        "ours_ratio": best_ours / bound,
        "raw_ratio": best_raw / bound,
        "target": TARGET,
        "met": best_ours / bound >= TARGET,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 3
    with emulator_process("neuroio", groups=20, latency=LATENCY) as emu:
        result = asyncio.run(
            measure(
                emu.url, emu.credentials["token"], emu.group_ids, args.reads, rounds
            )
        )
    result["quick"] = args.quick
    out = write_result("physical_bound", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["variant", "reads/s (best)", "÷ bound (800/s)"],
            [
                ["asyncgroups Client", max(result["ours_rps"]), result["ours_ratio"]],
                ["raw aiohttp", max(result["raw_rps"]), result["raw_ratio"]],
            ],
        )
    )
    print(
        f"ratio {result['ours_ratio']:.3f} (target >= {TARGET}: "
        f"{verdict(result['ours_ratio'], TARGET, at_most=False)}) -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
