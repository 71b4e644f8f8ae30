"""6. Memory: iterate 100,000 members of one NeuroIO group; peak RSS growth.

The NeuroIO emulator (own process) holds one group of 100,000 seeded pids (20,000
with --quick). A fresh child process imports asyncgroups, opens a Client, notes its
peak RSS (``resource.getrusage``), iterates every member with
``client.members.list`` (pages of 100, fetched lazily) and reports the peak RSS
growth and tracemalloc's peak (target: growth under 30 MB).

Run: ``python benchmarks/memory.py [--quick] [--members N]``
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table, verdict, write_result
from benchmarks._emulator_process import ROOT, emulator_process

TARGET_MB = 30.0


async def iterate(url: str, token: str, gid: str) -> dict[str, Any]:
    """Runs in the measured child process."""
    import gc
    import resource
    import time
    import tracemalloc

    from benchmarks._common import neuroio_client

    async with neuroio_client(url, token) as client:
        # one request first, so the session, connector and codecs exist
        await client.groups.get(gid)
        gc.collect()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        started = time.perf_counter()
        count = 0
        async for _member in client.members.list(gid):
            count += 1
        seconds = time.perf_counter() - started
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        requests = client.stats.requests
    return {
        "members": count,
        "requests": requests,
        "seconds": seconds,
        "rss_before_kb": before,
        "rss_peak_kb": after,
        "rss_growth_mb": (after - before) / 1024,
        "tracemalloc_peak_mb": traced_peak / 1024 / 1024,
    }


def child(argv: list[str]) -> None:
    url, token, gid = argv
    result = asyncio.run(iterate(url, token, gid))
    sys.stdout.write(json.dumps(result) + "\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return {}
    n = args.members or (20_000 if args.quick else 100_000)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with emulator_process("neuroio", users=n, members=n) as emu:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--child",
                emu.url,
                emu.credentials["token"],
                emu.group_ids[0],
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
            check=True,
        )
    run = json.loads(done.stdout.strip().splitlines()[-1])
    result = {
        "group_size": n,
        **run,
        "target_mb": TARGET_MB,
        "met": run["rss_growth_mb"] < TARGET_MB and run["members"] == n,
        "quick": args.quick,
    }
    out = write_result("memory", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["figure", "value", "target"],
            [
                ["members iterated", f"{run['members']:,} of {n:,}", "all"],
                ["requests", run["requests"], "-"],
                ["seconds", run["seconds"], "-"],
                ["peak RSS growth, MB", run["rss_growth_mb"], f"< {TARGET_MB:.0f}"],
                ["tracemalloc peak, MB", run["tracemalloc_peak_mb"], "-"],
            ],
        )
    )
    print(
        f"RSS growth {run['rss_growth_mb']:.1f} MB "
        f"({verdict(run['rss_growth_mb'], TARGET_MB, at_most=True)}) -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
