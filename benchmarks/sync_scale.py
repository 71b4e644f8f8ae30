"""11. A sync at scale: 100,000 and 1,000,000 memberships, plan and apply.

The NeuroIO emulator (own process, no latency, no faults, no client rate limit,
its seeded store kept off its own garbage collector) holds G groups x 100
members (G = 1,000 or 10,000; every pid in 5 groups); the desired state removes
10 members of every group and adds 10 others (scattered: each added pid is bound
for its own set of groups). Each size runs in a fresh process, so its peak RSS
is its own. Measured in the same process and run (the bare aiohttp baselines
with the collector set as a sync sets it: ``asyncgroups.sync.heap``):

* raw fetch: bare aiohttp GETs of the same pages ``plan_sync`` reads (the group
  listing, then every group's members; same limit/offset, same concurrency), JSON
  decoded, keys collected: the bound for ``plan_sync``'s CPU;
* plain sets: the diff of desired and observed as Python sets;
* ``plan_sync`` and ``apply`` (drift check, writes, verification): wall, CPU;
* raw writes: bare aiohttp sending the apply's write requests again (idempotent:
  set semantics), for CPU per request;
* requests ÷ minimum: the writes apply sent ÷ the per-group minimum
  (``ceil(adds / 100) + ceil(removals / 100)`` per group);
* peak RSS ÷ the RSS with the desired state loaded.

Targets at 1M: writes ≤ 1.05 x minimum, plan CPU ≤ 2 x raw fetch CPU, apply CPU per
request ≤ 2 x raw aiohttp's, peak RSS ≤ 2 x desired; 100k -> 1M multiplies each
cost by ≤ 11.

The 100k size runs seven times (``--small-runs``) and the 1M size five times
(``--big-runs``), each in a fresh process, the sizes taking turns, and each
size's figures are the medians: a 100k apply lasts about two seconds and moved by
up to 50 % between runs of the same code (1.42-2.16 s), a 1M apply's CPU by 20 %
(16.7-20.5 s); the growth 100k -> 1M divides one by the other, so a drift of the
machine's speed during the run must touch both alike. Beside the checks, the raw
fetch's own growth is shown: what the tenfold heap costs bare aiohttp in the same
processes.

Run: ``python benchmarks/sync_scale.py [--quick] [--small-runs N] [--big-runs N]``
(``--quick``: 100k only; the full run, and ``run_all.py`` without ``--quick``,
adds 1M).
"""

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncgroups as ag
from asyncgroups.sync.heap import frozen_heap
from benchmarks._common import raw_session, table, verdict, write_result
from benchmarks._emulator_process import EmulatorProcess, emulator_process

HERE = Path(__file__).resolve()
EACH = 100
CHANGE = 10
SHARE = 5
BATCH = 100
PAGE = 100
TARGET_WRITES = 1.05
TARGET_CPU = 2.0
TARGET_RSS = 2.0
TARGET_GROWTH = 11.0


def rss_bytes() -> int:
    """This process's resident set now."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize()


def peak_rss_bytes() -> int:
    """This process's peak resident set (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def desired_state(keys: list[str], groups: int) -> dict[str, frozenset[str]]:
    """Every group loses 10 random members and gains 10 random other pids."""
    users = len(keys)
    rng = random.Random(7)
    desired: dict[str, frozenset[str]] = {}
    for i in range(groups):
        base = i * EACH
        drop = set(rng.sample(range(EACH), CHANGE))
        now = [keys[(base + j) % users] for j in range(EACH) if j not in drop]
        new = [
            keys[(base + EACH + rng.randrange(users - 2 * EACH)) % users]
            for _ in range(CHANGE)
        ]
        desired[f"bench-{i}"] = frozenset(now + new)
    return desired


async def _bounded(
    items: list[str], concurrency: int, one: Callable[[str], Awaitable[None]]
) -> None:
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await one(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def raw_fetch(
    emu: EmulatorProcess, gids: list[str], concurrency: int
) -> dict[str, float]:
    """The pages ``plan_sync`` reads, with bare aiohttp: wall, CPU, requests.

    The group listing (to resolve names), then every group's member pages, the
    same limit/offset and concurrency; JSON decoded, keys collected.
    """
    headers = {"Authorization": f"Token {emu.credentials['token']}"}
    requests = 0
    members = 0
    async with raw_session(max(100, concurrency)) as session:

        async def one(gid: str) -> None:
            nonlocal requests, members
            keys: set[str] = set()
            offset = 0
            while True:
                url = f"{emu.url}/v1/groups/persons/{gid}/pids/"
                params = {"limit": str(PAGE), "offset": str(offset)}
                async with session.get(url, headers=headers, params=params) as resp:
                    data = await resp.json()
                requests += 1
                page = data["results"]
                keys.update(item["pid"] for item in page)
                offset += len(page)
                if not page or offset >= data["count"]:
                    break
            members += len(keys)

        wall, cpu = time.perf_counter(), time.process_time()
        offset = 0
        names: dict[str, str] = {}
        while True:
            url = f"{emu.url}/v1/groups/persons/"
            params = {"limit": str(PAGE), "offset": str(offset)}
            async with session.get(url, headers=headers, params=params) as resp:
                data = await resp.json()
            requests += 1
            names.update((item["name"], str(item["id"])) for item in data["results"])
            offset += len(data["results"])
            if not data["results"] or offset >= data["count"]:
                break
        await _bounded(gids, concurrency, one)
        return {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "requests": requests,
            "members": members,
        }


async def raw_writes(
    emu: EmulatorProcess, writes: list[tuple[str, list[str]]], concurrency: int
) -> dict[str, float]:
    """Send ``(group id, pids)`` adds with bare aiohttp (already in place: no-ops)."""
    headers = {"Authorization": f"Token {emu.credentials['token']}"}
    async with raw_session(max(100, concurrency)) as session:
        queue = list(range(len(writes)))

        async def one(index: str) -> None:
            gid, pids = writes[int(index)]
            body = {"groups_ids": [int(gid)], "pids": pids}
            url = f"{emu.url}/v1/groups/persons/pids/"
            async with session.post(url, headers=headers, json=body) as resp:
                await resp.read()
                assert resp.status < 300, resp.status

        wall, cpu = time.perf_counter(), time.process_time()
        await _bounded([str(i) for i in queue], concurrency, one)
        return {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "requests": len(writes),
        }


async def measure(memberships: int) -> dict[str, Any]:
    groups = memberships // EACH
    users = memberships // SHARE
    with emulator_process(
        "neuroio", users=users, groups=groups, members_each=EACH, print_keys=True
    ) as emu:
        keys = emu.key_list
        baseline = rss_bytes()
        desired = desired_state(keys, groups)
        loaded = rss_bytes()
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            concurrency = client.concurrency
            # The bare aiohttp baselines run with the collector set as a sync
            # sets it (asyncgroups.sync.heap): its CPU is not charged collections
            # over the desired state that plan_sync and apply are spared.
            with frozen_heap():
                raw = await raw_fetch(emu, emu.group_ids, concurrency)
            started, cpu = time.perf_counter(), time.process_time()
            plan = await client.plan_sync(desired, prune=True)
            plan_wall = time.perf_counter() - started
            plan_cpu = time.process_time() - cpu
            observed = {
                g.key: (set(g.desired) - set(g.to_add)) | set(g.to_remove)
                for g in plan.groups
            }
            sets_cpu = time.process_time()
            for name, wanted in desired.items():
                seen = observed[name]
                _ = (wanted - seen, seen - wanted)
            sets_cpu = time.process_time() - sets_cpu
            del observed
            minimum = sum(
                -(-len(g.to_add) // BATCH) + -(-len(g.to_remove) // BATCH)
                for g in plan.groups
            )
            started, cpu = time.perf_counter(), time.process_time()
            report = await client.apply(plan, max_removals=CHANGE)
            apply_wall = time.perf_counter() - started
            apply_cpu = time.process_time() - cpu
        peak = peak_rss_bytes()
        writes = report.requests - report.drift_reads - report.verify_reads
        again = [(str(g.group_id), list(g.to_add)) for g in plan.groups if g.to_add] * 2
        with frozen_heap():
            raw_w = await raw_writes(emu, again[: max(1, writes)], concurrency)
    return {
        "memberships": memberships,
        "groups": groups,
        "adds": sum(len(g.to_add) for g in plan.groups),
        "removals": sum(len(g.to_remove) for g in plan.groups),
        "converged": report.converged,
        "raw_fetch_wall": raw["wall"],
        "raw_fetch_cpu": raw["cpu"],
        "raw_fetch_requests": raw["requests"],
        "plain_sets_cpu": sets_cpu,
        "plan_wall": plan_wall,
        "plan_cpu": plan_cpu,
        "plan_cpu_per_membership_us": plan_cpu / memberships * 1e6,
        "apply_wall": apply_wall,
        "apply_cpu": apply_cpu,
        "apply_requests": report.requests,
        "apply_writes": writes,
        "drift_reads": report.drift_reads,
        "verify_reads": report.verify_reads,
        "minimum_writes": minimum,
        "writes_ratio": writes / minimum,
        "apply_cpu_per_request_ms": apply_cpu / report.requests * 1e3,
        "raw_write_cpu_per_request_ms": raw_w["cpu"] / raw_w["requests"] * 1e3,
        "plan_cpu_ratio": plan_cpu / raw["cpu"],
        "apply_cpu_ratio": (apply_cpu / report.requests)
        / (raw_w["cpu"] / raw_w["requests"]),
        "rss_desired_loaded": loaded,
        "desired_bytes": loaded - baseline,
        "peak_rss": peak,
        "rss_ratio": peak / loaded,
    }


def run_one(memberships: int) -> dict[str, Any]:
    """One size in a fresh process (its own peak RSS)."""
    done = subprocess.run(
        [sys.executable, str(HERE), "--one", str(memberships)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def median_run(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """The field-by-field median of repeated runs of one size."""
    merged = dict(repeats[0])
    for key, value in merged.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            merged[key] = statistics.median(r[key] for r in repeats)
    merged["converged"] = all(r["converged"] for r in repeats)
    merged["repeats"] = len(repeats)
    return merged


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k only")
    parser.add_argument(
        "--small-runs", type=int, default=7, help="runs of the 100k size (median)"
    )
    parser.add_argument(
        "--big-runs", type=int, default=5, help="runs of the 1M size (median)"
    )
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        one = asyncio.run(measure(args.one))
        print(json.dumps(one))
        return one
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    repeats = {100_000: max(1, args.small_runs), 1_000_000: max(1, args.big_runs)}
    # The sizes take turns, each size's runs spread evenly over the whole
    # (100k, 1M, 100k, 1M, 100k, 100k, 1M, ...): a machine that slows down or
    # speeds up during the run moves both sizes' figures alike, not the growth
    # between them.
    done: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    turns = sorted(
        ((i + 0.5) / repeats[size], size)
        for size in sizes
        for i in range(repeats[size])
    )
    for _, size in turns:
        done[size].append(run_one(size))
    runs = {str(n): median_run(done[n]) for n in sizes}
    spread = {
        str(n): {c: sorted(r[c] for r in done[n]) for c in ("plan_cpu", "apply_cpu")}
        for n in sizes
    }
    big = runs[str(sizes[-1])]
    result: dict[str, Any] = {"runs": runs, "spread": spread, "quick": args.quick}
    checks = {
        "writes ÷ minimum": (big["writes_ratio"], TARGET_WRITES),
        "plan CPU ÷ raw fetch CPU": (big["plan_cpu_ratio"], TARGET_CPU),
        "apply CPU/request ÷ raw": (big["apply_cpu_ratio"], TARGET_CPU),
        "peak RSS ÷ desired loaded": (big["rss_ratio"], TARGET_RSS),
    }
    if len(sizes) == 2:
        small = runs[str(sizes[0])]
        for cost in ("plan_cpu", "apply_cpu", "apply_requests", "peak_rss"):
            checks[f"{cost} 1M ÷ 100k"] = (big[cost] / small[cost], TARGET_GROWTH)
    result["checks"] = {k: {"value": v, "target": t} for k, (v, t) in checks.items()}
    if len(sizes) == 2:
        result["raw_fetch_cpu_growth"] = (
            big["raw_fetch_cpu"] / runs[str(sizes[0])]["raw_fetch_cpu"]
        )
    result["met"] = all(v <= t for v, t in checks.values()) and all(
        r["converged"] for r in runs.values()
    )
    out = write_result("sync_scale", result)
    print(__doc__.splitlines()[0])
    rows = [
        [
            f"{int(n):,}",
            r["plan_wall"],
            r["plan_cpu"],
            r["raw_fetch_cpu"],
            r["plain_sets_cpu"],
            r["apply_wall"],
            r["apply_cpu"],
            f"{r['apply_writes']:,}/{r['minimum_writes']:,}",
            f"{r['drift_reads']:,}+{r['verify_reads']:,}",
            r["apply_cpu_per_request_ms"],
            r["raw_write_cpu_per_request_ms"],
            f"{r['peak_rss'] / 2**20:.0f}/{r['rss_desired_loaded'] / 2**20:.0f}",
        ]
        for n, r in runs.items()
    ]
    headers = ["memberships", "plan s", "plan CPU", "raw CPU", "sets CPU",
               "apply s", "apply CPU", "writes/min", "reads d+v",
               "ms CPU/req", "raw ms/req", "peak/desired MiB"]  # fmt: skip
    print(table(headers, rows))
    print(
        table(
            ["check", "value", "target", "verdict"],
            [
                [k, v, f"<= {t}", verdict(v, t, at_most=True)]
                for k, (v, t) in checks.items()
            ],
        )
    )
    if "raw_fetch_cpu_growth" in result:
        print(
            "for reference, not a check: raw fetch CPU 1M ÷ 100k "
            f"{result['raw_fetch_cpu_growth']:.2f}"
        )
    for n, costs in spread.items():
        each = ", ".join(
            f"{c} " + " ".join(f"{v:.2f}" for v in values)
            for c, values in costs.items()
        )
        print(f"each run at {int(n):,}: {each}")
    print(f"-> {out}")
    return result


if __name__ == "__main__":
    main()
