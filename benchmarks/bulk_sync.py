"""4. Bulk sync vs the rate-limit bound: 100,000 pids into one NeuroIO group.

The NeuroIO emulator (own process) allows 50 requests/s (token bucket, burst 10)
and delays every answer by 20 ms. The Client knows the rate
(``RateLimit(per_second=50, burst=10)``) and syncs 100,000 seeded pids into one
empty group: ``plan_sync`` (lists the group) then ``apply(verify=False)`` (1,000
add requests of 100 pids). Lower bound: 1,000 requests ÷ 50/s = 20 s. Figures:
wall ÷ bound (target <= 1.05), requests ÷ 1,000 (target 1.00 plus the listing),
429s received.

Run: ``python benchmarks/bulk_sync.py [--quick] [--pids N]``
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncgroups as ag
from benchmarks._common import neuroio_client, table, verdict, write_result
from benchmarks._emulator_process import EmulatorProcess, emulator_process

RATE = 50.0
BURST = 10
LATENCY = 0.020
BATCH = 100
TARGET_WALL = 1.05


async def measure(emu: EmulatorProcess, pids: list[str]) -> dict[str, Any]:
    gid = emu.group_ids[0]
    async with neuroio_client(
        emu.url,
        emu.credentials["token"],
        rate_limit=ag.RateLimit(per_second=RATE, burst=BURST),
    ) as client:
        started = time.perf_counter()
        plan = await client.plan_sync({gid: pids}, by="id")
        planned = time.perf_counter()
        report = await client.apply(plan, verify=False)
        wall = time.perf_counter() - started
        stats = client.stats
        return {
            "plan_seconds": planned - started,
            "wall_seconds": wall,
            "requests": stats.requests,
            "throttled": stats.throttled,
            "retries": report.retries,
            "added": report.added,
            "failed": report.failed,
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pids", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.pids or (25_000 if args.quick else 100_000)
    writes = -(-n // BATCH)
    bound = writes / RATE
    with emulator_process(
        "neuroio",
        users=n,
        latency=LATENCY,
        rate_limit=RATE,
        burst=BURST,
        print_keys=True,
    ) as emu:
        run = asyncio.run(measure(emu, emu.key_list))
        server = emu.stats()
    result = {
        "pids": n,
        "write_requests_needed": writes,
        "rate_limit": RATE,
        "burst": BURST,
        "latency_s": LATENCY,
        "bound_seconds": bound,
        **run,
        "server_requests": server["requests"],
        "server_429s": server["faults"].get("429", 0),
        "wall_ratio": run["wall_seconds"] / bound,
        "requests_ratio": run["requests"] / writes,
        "target_wall_ratio": TARGET_WALL,
        "met": run["wall_seconds"] / bound <= TARGET_WALL and run["added"] == n,
        "quick": args.quick,
    }
    out = write_result("bulk_sync", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["figure", "value", "target"],
            [
                ["pids added", f"{run['added']:,} of {n:,}", "all"],
                ["wall seconds", run["wall_seconds"], "-"],
                [f"bound ({writes} ÷ {RATE:.0f}/s)", bound, "-"],
                ["wall ÷ bound", result["wall_ratio"], f"<= {TARGET_WALL}"],
                ["requests", run["requests"], "-"],
                [f"requests ÷ {writes}", result["requests_ratio"], "1.00 + listing"],
                ["429s received (client)", run["throttled"], "-"],
                ["429s sent (server)", result["server_429s"], "-"],
            ],
        )
    )
    print(
        f"wall ÷ bound {result['wall_ratio']:.3f} "
        f"({verdict(result['wall_ratio'], TARGET_WALL, at_most=True)}) -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
