"""A worker process for the scale tests: one Client sharing a Redis rate limit.

``hammer`` sends ``--count`` GETs with ``--tasks`` in flight; ``sync`` runs one
shard of a sharded sync (``--desired`` JSON file, ``--shard I/N``) with prune.
Prints one JSON line with what it did; exit code 0 when it finished.
"""

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import asyncgroups as ag
from asyncgroups.sync.shard import shard_desired


def build_client(args: argparse.Namespace) -> ag.Client:
    store = ag.RedisStore(
        args.redis,
        key_prefix=args.prefix,
        expected_processes=4,
        timeout=1.0,
        retry_interval=1.0,
    )
    limit = ag.RateLimit(per_second=args.rate, burst=args.burst, store=store)
    backend = ag.connect(args.backend, base_url=args.url, **json.loads(args.creds))
    retry = ag.RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=2.0, deadline=60)
    return ag.Client(backend, rate_limit=limit, retry=retry, timeout=10.0)


async def hammer(args: argparse.Namespace) -> dict[str, Any]:
    done = 0
    async with build_client(args) as client:
        remaining = iter(range(args.count))

        async def task() -> None:
            nonlocal done
            for _ in remaining:
                await client.groups.get(args.group)
                done += 1

        await asyncio.gather(*(task() for _ in range(args.tasks)))
        return {"done": done, "throttled": client.stats.throttled}


async def sync(args: argparse.Namespace) -> dict[str, Any]:
    desired = json.loads(Path(args.desired).read_text())
    mine = shard_desired(desired, args.shard)
    async with build_client(args) as client:
        plan = await client.plan_sync(mine, prune=True)
        report = await client.apply(plan, max_removals=1000)
        return {"groups": sorted(mine), "converged": report.converged}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("hammer", "sync"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--backend", default="neuroio")
    parser.add_argument("--creds", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--burst", type=int, required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--group", default="")
    parser.add_argument("--desired", default="")
    parser.add_argument("--shard", default="1/1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.monotonic()
    run = hammer if args.mode == "hammer" else sync
    result = asyncio.run(run(args))
    result["seconds"] = time.monotonic() - started
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
