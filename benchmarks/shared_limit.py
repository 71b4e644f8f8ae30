"""Four processes against one server-enforced limit: a shared Redis limit vs independent ones.

The emulator (in this process) enforces R requests/s (``Fault.rate_limit``, 429 with
``Retry-After: 1`` over it). Four worker processes each send the same number of
GETs: once sharing one limit of R through Redis (``RedisStore``), once each with its
own in-memory limit of R (4R together). Reported side by side: the share of
answers that were 429, and the time until all four finished.

Redis: ``ASYNCGROUPS_TEST_REDIS_URL`` if set, else a private ``redis-server`` on a
free loopback port. Run: ``python -m benchmarks.shared_limit``.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncgroups as ag
from asyncgroups.testing import Fault, serve_emulator
from benchmarks._common import table, write_result
from benchmarks._shared_limit import add_worker_options, free_port, start_redis

RATE = 20.0
BURST = 5
PROCESSES = 4
PER_WORKER = 60


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    url = os.environ.get("ASYNCGROUPS_TEST_REDIS_URL")
    if url:
        yield url
        return
    if shutil.which("redis-server") is None:
        raise SystemExit("needs redis-server or ASYNCGROUPS_TEST_REDIS_URL")
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    store = ag.RedisStore(args.redis, key_prefix=args.prefix) if args.redis else None
    limit = ag.RateLimit(per_second=args.rate, burst=args.burst, store=store)
    retry = ag.RetryPolicy(max_attempts=20, max_delay=5.0, deadline=120.0)
    backend = ag.connect("neuroio", base_url=args.url, **json.loads(args.creds))
    failed = 0
    async with ag.Client(backend, rate_limit=limit, retry=retry) as client:
        todo = iter(range(args.count))

        async def task() -> None:
            nonlocal failed
            for _ in todo:
                try:
                    await client.groups.get(args.group)
                except ag.APIError:
                    failed += 1

        await asyncio.gather(*(task() for _ in range(8)))
        return {"failed": failed, "throttled": client.stats.throttled}


async def run(mode: str, redis: str) -> dict[str, Any]:
    async with serve_emulator("neuroio", seed=1) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.rate_limit(RATE, burst=BURST, retry_after=1))
        cmd = [sys.executable, "-m", "benchmarks.shared_limit", "--worker"]
        cmd += ["--url", emu.url, "--creds", json.dumps(emu.credentials)]
        cmd += ["--rate", str(RATE), "--burst", str(BURST), "--group", gid]
        cmd += ["--count", str(PER_WORKER), "--prefix", f"bench:{uuid.uuid4().hex}"]
        if mode == "shared":
            cmd += ["--redis", redis]
        started = time.monotonic()
        procs = [
            await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
            for _ in range(PROCESSES)
        ]
        async with asyncio.timeout(300):
            outputs = [(await p.communicate())[0] for p in procs]
        seconds = time.monotonic() - started
        results = [json.loads(out.decode().splitlines()[-1]) for out in outputs]
        received = len(emu.requests)
        throttled = emu.faults.counts["rate_limit"]
    return {
        "mode": mode,
        "requests_received": received,
        "throttled_429": throttled,
        "share_429": throttled / received if received else 0.0,
        "failed": sum(r["failed"] for r in results),
        "seconds": seconds,
        "ideal_seconds": (PROCESSES * PER_WORKER - BURST) / RATE,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    add_worker_options(parser, rate=RATE, burst=BURST, count=PER_WORKER)
    args = parser.parse_args()
    if args.worker:
        sys.stdout.write(json.dumps(asyncio.run(worker(args))) + "\n")
        return
    with redis_url() as url:
        rows = [asyncio.run(run(mode, url)) for mode in ("shared", "independent")]
    print(
        f"{PROCESSES} processes x {PER_WORKER} GETs; server enforces {RATE:g}/s "
        f"(burst {BURST}); shared: one Redis limit of {RATE:g}/s; independent: "
        f"{RATE:g}/s each"
    )
    print(
        table(
            ["mode", "received", "429s", "429 share", "failed", "seconds", "ideal s"],
            [
                (
                    r["mode"],
                    r["requests_received"],
                    r["throttled_429"],
                    f"{r['share_429']:.1%}",
                    r["failed"],
                    f"{r['seconds']:.1f}",
                    f"{r['ideal_seconds']:.1f}",
                )
                for r in rows
            ],
        )
    )
    settings = {"rate": RATE, "burst": BURST, "processes": PROCESSES}
    out = write_result(
        "shared_limit",
        {"settings": {**settings, "per_worker": PER_WORKER}, "runs": rows},
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
