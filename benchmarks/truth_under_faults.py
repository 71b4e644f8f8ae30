"""8. The report is the truth: a 5,000-membership sync through 30 % faults.

For each built-in backend: 20 groups, 5,000 membership changes (additions on NeuroIO,
Periscope and Graph, each user bound for 5 of the 20 groups; removals on Snip, half of
each group's members), applied with the Client's default retry policy and budget
while the emulator answers 30 % of all requests with a fault (seeded: 10 % 429 with
``Retry-After``, 10 % HTML 503, 10 % connection dropped after applying). Figures,
per backend and seed: keys whose reported outcome is not exactly one of applied,
failed, skipped, unknown, or contradicts the emulator's store (target 0); keys
left unknown; failed; whether a second apply, through the same faults, converges.

This is a correctness figure, not a timing one, so the emulator runs in this
process: the check reads its store directly, key by key. The seeding and the check
are the test suite's (``tests/truth/sync_truth.py``), which runs the same sync at
1,000 memberships.

Run: ``python benchmarks/truth_under_faults.py [--quick] [--memberships N] [--seeds 1 2]``
"""

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.truth.sync_truth import mismatches, seed_state

import asyncgroups as ag
from asyncgroups.testing import serve_emulator
from benchmarks._common import table, write_result

KINDS = ("neuroio", "periscope", "snip", "graph")


async def one(kind: str, memberships: int, seed: int, p: float) -> dict[str, Any]:
    async with serve_emulator(kind, seed=seed) as emu:
        desired, gids = seed_state(emu, memberships, random.Random(seed))
        backend = ag.connect(kind, base_url=emu.url, **emu.credentials)
        prune = kind == "snip"
        async with ag.Client(backend) as client:
            plan = await client.plan_sync(desired, prune=prune)
            emu.faults.random(
                seed=seed, p429=p / 3, p503=p / 3, pdrop=p / 3, retry_after=0.05
            )
            started = time.monotonic()
            report = await client.apply(plan, max_removals=1.0)
            seconds = time.monotonic() - started
        bad = len(mismatches(plan, report, emu, gids))
        async with ag.Client(backend) as client:
            again = await client.plan_sync(desired, prune=prune)
            second = await client.apply(again, max_removals=1.0)
        stored = all(emu.store.members(gids[n]) == keys for n, keys in desired.items())
        return {
            "backend": kind,
            "seed": seed,
            "operations": plan.operations,
            "applied": report.applied,
            "failed": report.failed,
            "unknown": report.unknown,
            "mismatches": bad,
            "requests": report.requests,
            "faults": sum(emu.faults.counts[k] for k in ("429", "503", "drop")),
            "seconds": round(seconds, 1),
            "second_ops": again.operations,
            "converged": second.converged and stored,
        }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 memberships")
    parser.add_argument("--memberships", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    parser.add_argument("--faults", type=float, default=0.3, help="fault rate")
    args = parser.parse_args(argv)
    memberships = 1000 if args.quick else args.memberships
    rows = [
        await one(kind, memberships, seed, args.faults)
        for kind in KINDS
        for seed in args.seeds
    ]
    headers = list(rows[0])
    print(table(headers, [[r[h] for h in headers] for r in rows]))
    ok = all(r["mismatches"] == 0 and r["converged"] for r in rows)
    out = write_result(
        "truth_under_faults",
        {"memberships": memberships, "fault_rate": args.faults, "rows": rows, "ok": ok},
    )
    print(f"{'every report matched its store' if ok else 'MISMATCH'}; wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
