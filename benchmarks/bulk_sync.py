"""4. Bulk sync vs the rate-limit bound: 100,000 pids into one NeuroIO group.

The NeuroIO emulator (own process) allows 50 requests/s (token bucket, burst 10)
and delays every answer by 20 ms. The Client knows the rate
(``RateLimit(per_second=50, burst=10)``) and syncs 100,000 seeded pids into one
empty group: ``plan_sync`` (lists the group) then ``apply(verify=False)`` (1,000
add requests of 100 pids). Lower bound: 1,000 requests ÷ 50/s = 20 s. Figures:
wall ÷ bound (target <= 1.05), requests ÷ 1,000 (target 1.00 plus the listing),
429s received. With ``--client-defaults`` the Client is given no ``RateLimit`` and
learns the limit (target <= 1.15; results/bulk_sync_defaults.json). With
``--fixed-rate`` the ``RateLimit`` does not adapt (``adaptive=False``: the whole
burst at once, the configuration of the first figures; results/bulk_sync_fixed.json).

Run: ``python benchmarks/bulk_sync.py [--quick] [--pids N] [--client-defaults | --fixed-rate]
[--retry-after exact]``
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
#: With the Client's defaults (no RateLimit: it learns the limit).
TARGET_WALL_DEFAULTS = 1.15


async def measure(
    emu: EmulatorProcess,
    pids: list[str],
    *,
    defaults: bool = False,
    adaptive: bool = True,
) -> dict[str, Any]:
    gid = emu.group_ids[0]
    kwargs: dict[str, Any] = {}
    if not defaults:
        kwargs["rate_limit"] = ag.RateLimit(
            per_second=RATE, burst=BURST, adaptive=adaptive
        )
    async with neuroio_client(emu.url, emu.credentials["token"], **kwargs) as client:
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
    parser.add_argument(
        "--client-defaults",
        action="store_true",
        help="no RateLimit: the Client's defaults learn the server's limit",
    )
    parser.add_argument(
        "--fixed-rate",
        action="store_true",
        help="a RateLimit that does not adapt (adaptive=False, the whole burst)",
    )
    parser.add_argument(
        "--retry-after",
        choices=("integer", "exact"),
        default="integer",
        help="the emulator's Retry-After: whole seconds (as real APIs send; the "
        "default) or the exact wait (as the first figures were measured)",
    )
    args = parser.parse_args(argv)
    target = TARGET_WALL_DEFAULTS if args.client_defaults else TARGET_WALL
    n = args.pids or (25_000 if args.quick else 100_000)
    writes = -(-n // BATCH)
    bound = writes / RATE
    with emulator_process(
        "neuroio",
        users=n,
        latency=LATENCY,
        rate_limit=RATE,
        burst=BURST,
        retry_after=args.retry_after,
        print_keys=True,
    ) as emu:
        run = asyncio.run(
            measure(
                emu,
                emu.key_list,
                defaults=args.client_defaults,
                adaptive=not args.fixed_rate,
            )
        )
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
        "client_defaults": args.client_defaults,
        "fixed_rate": args.fixed_rate,
        "retry_after": args.retry_after,
        "target_wall_ratio": target,
        "met": run["wall_seconds"] / bound <= target and run["added"] == n,
        "quick": args.quick,
    }
    name = "bulk_sync_defaults" if args.client_defaults else "bulk_sync"
    if args.fixed_rate:
        name += "_fixed"
    if args.retry_after == "exact":
        name += "_exact"
    out = write_result(name, result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["figure", "value", "target"],
            [
                ["pids added", f"{run['added']:,} of {n:,}", "all"],
                ["wall seconds", run["wall_seconds"], "-"],
                [f"bound ({writes} ÷ {RATE:.0f}/s)", bound, "-"],
                ["wall ÷ bound", result["wall_ratio"], f"<= {target}"],
                ["requests", run["requests"], "-"],
                [f"requests ÷ {writes}", result["requests_ratio"], "1.00 + listing"],
                ["429s received (client)", run["throttled"], "-"],
                ["429s sent (server)", result["server_429s"], "-"],
            ],
        )
    )
    print(
        f"wall ÷ bound {result['wall_ratio']:.3f} "
        f"({verdict(result['wall_ratio'], target, at_most=True)}) -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
