"""Four processes sharing one limit through Redis while Redis is killed and restarted.

The emulator (in this process) records when each request arrives. Four worker
processes each send GETs with 8 in flight under one shared limit of R/s (burst B)
in a ``RedisStore`` (4 expected processes: each falls back to R/4 while Redis is
away). A few seconds in, the private ``redis-server`` is killed; a few seconds later
a new one starts on the same port, empty. Reported: the most requests that arrived
in any 5 s window, against the bound R * 5 + B (414 against 240 before
the failover and return were made conservative), and the same per second.

Needs ``redis-server`` on the PATH. Run: ``python -m benchmarks.shared_limit_failover``
(``--rounds N`` repeats the run; every round is reported).
"""

import argparse
import asyncio
import bisect
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncgroups as ag
from asyncgroups.testing import serve_emulator
from benchmarks._common import table, write_result
from benchmarks._shared_limit import add_worker_options, free_port, start_redis

RATE = 40.0
BURST = 5
PROCESSES = 4
TASKS = 8
PER_WORKER = 140  # ~14 s at R
KILL_AFTER = 4.0  # seconds after the first request
DOWN_FOR = 4.0
WINDOW = 5.0


@contextlib.contextmanager
def stopping(procs: list["subprocess.Popen[bytes]"]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    store = ag.RedisStore(
        args.redis,
        key_prefix=args.prefix,
        expected_processes=PROCESSES,
        timeout=0.5,
        retry_interval=1.0,
    )
    limit = ag.RateLimit(per_second=args.rate, burst=args.burst, store=store)
    retry = ag.RetryPolicy(max_attempts=10, max_delay=2.0, deadline=120.0)
    backend = ag.connect("neuroio", base_url=args.url, **json.loads(args.creds))
    done = 0
    async with ag.Client(backend, rate_limit=limit, retry=retry) as client:
        todo = iter(range(args.count))

        async def task() -> None:
            nonlocal done
            for _ in todo:
                await client.groups.get(args.group)
                done += 1

        await asyncio.gather(*(task() for _ in range(TASKS)))
    return {"done": done}


def most_in_window(times: list[float], window: float) -> tuple[int, float]:
    """The most arrival times within any ``window`` seconds, and where it starts."""
    return max(
        ((bisect.bisect_right(times, t + window) - i, t) for i, t in enumerate(times)),
        default=(0, 0.0),
    )


async def run_once(kill: bool) -> dict[str, Any]:
    port = free_port()
    redis = f"redis://127.0.0.1:{port}/0"
    servers = [start_redis(port)]
    with stopping(servers):
        async with serve_emulator("neuroio", seed=1) as emu:
            gid = emu.store.seed_group("Eng")
            cmd = [sys.executable, "-m", "benchmarks.shared_limit_failover"]
            cmd += ["--worker", "--url", emu.url, "--redis", redis]
            cmd += ["--creds", json.dumps(emu.credentials), "--group", gid]
            cmd += ["--rate", str(RATE), "--burst", str(BURST)]
            cmd += ["--count", str(PER_WORKER), "--prefix", f"bench:{uuid.uuid4().hex}"]
            procs = [
                await asyncio.create_subprocess_exec(
                    *cmd, stdout=asyncio.subprocess.PIPE
                )
                for _ in range(PROCESSES)
            ]
            async with asyncio.timeout(120):
                while not emu.requests:
                    await asyncio.sleep(0.01)
                first = time.monotonic()
                await asyncio.sleep(KILL_AFTER)
                if kill:
                    servers[0].kill()
                    servers[0].wait(timeout=10)
                killed = time.monotonic()
                await asyncio.sleep(DOWN_FOR)
                if kill:
                    servers.append(start_redis(port))
                restarted = time.monotonic()
                outputs = [(await p.communicate())[0] for p in procs]
            results = [json.loads(out.decode().splitlines()[-1]) for out in outputs]
            times = sorted(r.time for r in emu.requests)
    bound = RATE * WINDOW + BURST
    worst, start = most_in_window(times, WINDOW)
    return {
        "redis_killed": kill,
        "requests": len(times),
        "done": sum(r["done"] for r in results),
        "killed_at": killed - first,  # seconds after the first request
        "restarted_at": restarted - first,
        "seconds": times[-1] - times[0],
        "most_in_5s": worst,
        "bound_5s": bound,
        "ratio_5s": worst / bound,
        "worst_5s_starts_at": start - times[0],
        "most_in_1s": most_in_window(times, 1.0)[0],
        "bound_1s": RATE + BURST,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    add_worker_options(parser, rate=RATE, burst=BURST, count=PER_WORKER)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--baseline", action="store_true", help="also a round with Redis left alone"
    )
    args = parser.parse_args()
    if args.worker:
        sys.stdout.write(json.dumps(asyncio.run(worker(args))) + "\n")
        return
    rows = [asyncio.run(run_once(kill=True)) for _ in range(args.rounds)]
    if args.baseline:
        rows.append(asyncio.run(run_once(kill=False)))
    print(
        f"{PROCESSES} processes x {PER_WORKER} GETs, {TASKS} in flight each, sharing "
        f"{RATE:g}/s (burst {BURST}) through Redis; Redis killed {KILL_AFTER:g} s in, "
        f"restarted empty {DOWN_FOR:g} s later"
    )
    print(
        table(
            [
                "round",
                "Redis",
                "requests",
                "seconds",
                "most in 5 s",
                "bound",
                "ratio",
                "from s",
                "most in 1 s",
            ],
            [
                (
                    n + 1,
                    "killed" if r["redis_killed"] else "left alone",
                    r["requests"],
                    f"{r['seconds']:.1f}",
                    r["most_in_5s"],
                    f"{r['bound_5s']:g}",
                    f"{r['ratio_5s']:.3f}",
                    f"{r['worst_5s_starts_at']:.1f}",
                    r["most_in_1s"],
                )
                for n, r in enumerate(rows)
            ],
        )
    )
    settings = {
        "rate": RATE,
        "burst": BURST,
        "processes": PROCESSES,
        "tasks": TASKS,
        "per_worker": PER_WORKER,
        "kill_after": KILL_AFTER,
        "down_for": DOWN_FOR,
    }
    out = write_result("shared_limit_failover", {"settings": settings, "runs": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
