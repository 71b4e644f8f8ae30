"""``asyncgroups demo``: the main job, end to end, on the built-in emulators.

No account is needed: the neuroio, periscope, snip, graph and okta emulators start
in this process with random faults switched on (429s with Retry-After, HTML 503 pages,
dropped connections), are seeded, and a desired state of tens of thousands of
memberships is synced to them concurrently, plus a guarded prune on snip and a
prune on Graph (whose changes travel 20 to a ``$batch``, under an OAuth2 token) and on
Okta (one request a membership, paced by its per-endpoint ``X-Rate-Limit-*`` budget). The report
shows requests, retries, 429s and throughput; convergence is proved by planning
again (zero operations) and by reading each emulator's store directly.
"""

import argparse
import asyncio
import contextlib
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

import asyncgroups as ag
from asyncgroups.cli.output import Output, plural
from asyncgroups.cli.sync import progress_callback
from asyncgroups.sync.plan import SyncPlan
from asyncgroups.sync.report import SyncReport
from asyncgroups.testing import Emulator, serve_emulator

__all__ = ["COLUMNS", "LEGEND", "DemoSizes", "register", "run_demo", "show_table"]


@frozen
class DemoSizes:
    """How big the demo's desired state is.

    Attributes:
        neuroio_groups: groups on neuroio.
        neuroio_persons: persons seeded on neuroio.
        neuroio_per_person: groups each person is to join.
        periscope_users: users seeded on periscope.
        periscope_groups: groups every periscope user is to join.
        snip_members: members seeded in snip's group.
        snip_keep: of those, members to keep (the rest are pruned).
        graph_groups: groups on graph.
        graph_users: users seeded on graph.
        graph_per_user: groups each graph user is to be in (one more is pruned).
        okta_groups: groups on okta.
        okta_users: users seeded on okta.
        okta_per_user: groups each okta user is to be in (one more is pruned).
    """

    neuroio_groups: int
    neuroio_persons: int
    neuroio_per_person: int
    periscope_users: int
    periscope_groups: int
    snip_members: int
    snip_keep: int
    graph_groups: int
    graph_users: int
    graph_per_user: int
    okta_groups: int
    okta_users: int
    okta_per_user: int

    @property
    def additions(self) -> int:
        """Memberships the demo adds."""
        return (
            self.neuroio_persons * self.neuroio_per_person
            + self.periscope_users * self.periscope_groups
            + self.graph_users * self.graph_per_user
            + self.okta_users * self.okta_per_user
        )

    @property
    def removals(self) -> int:
        """Memberships the demo prunes."""
        return self.snip_members - self.snip_keep + self.graph_users + self.okta_users


FULL = DemoSizes(8, 4000, 4, 400, 10, 300, 100, 20, 2000, 3, 10, 500, 2)
QUICK = DemoSizes(4, 400, 2, 40, 5, 30, 10, 5, 100, 2, 4, 60, 2)

#: Okta's members budget in the demo, announced in X-Rate-Limit-* headers only.
OKTA_LIMITS = {"limits": {"members": 600}, "window": 5.0}

#: Random fault rates: moderate, as a busy real API might show.
P429, P503, PDROP = 0.05, 0.03, 0.01

RETRY = ag.RetryPolicy(
    max_attempts=20, base_delay=0.02, max_delay=1.0, deadline=120.0, budget=None
)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help=f"sync {FULL.additions + FULL.removals:,} membership changes to the "
        "built-in emulators, under faults",
        description="Start the neuroio, periscope, snip, graph and okta emulators in this "
        "process "
        "with random 429/503/dropped-connection faults, sync a large desired state "
        "to them, and prove convergence. Needs no account and no network.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small desired state (a few seconds)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed for data and faults")
    parser.add_argument(
        "--no-faults", action="store_true", help="run without injected faults"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight per backend"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run_demo)


@frozen
class _Job:
    emulator: Emulator[Any]
    desired: Mapping[str, frozenset[str]]
    gids: Mapping[str, str]
    prune: bool = False
    max_removals: int | None = None


def _seed(emus: Mapping[str, Emulator[Any]], sizes: DemoSizes, seed: int) -> list[_Job]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    jobs: list[_Job] = []

    neuroio = emus["neuroio"]
    pids = neuroio.store.seed_users(sizes.neuroio_persons)
    names = [f"Site {i + 1:02d}" for i in range(sizes.neuroio_groups)]
    gids = {name: neuroio.store.seed_group(name) for name in names}
    wanted: dict[str, set[str]] = {name: set() for name in names}
    for pid in pids:
        for name in rng.sample(names, sizes.neuroio_per_person):
            wanted[name].add(pid)
    jobs.append(_Job(neuroio, {k: frozenset(v) for k, v in wanted.items()}, gids))

    periscope = emus["periscope"]
    emails = periscope.store.seed_users(sizes.periscope_users)
    teams = [f"Team {i + 1:02d}" for i in range(sizes.periscope_groups)]
    gids = {team: periscope.store.seed_group(team) for team in teams}
    jobs.append(_Job(periscope, {team: frozenset(emails) for team in teams}, gids))

    snip = emus["snip"]
    keys = snip.store.seed_users(sizes.snip_members)
    gid = snip.store.seed_group("Alumni", members=keys)
    # The account behind the demo's token owns the group and stays in it.
    owner = snip.store.members(gid) - set(keys)
    keep = frozenset(rng.sample(keys, sizes.snip_keep)) | owner
    jobs.append(
        _Job(
            snip,
            {"Alumni": keep},
            {"Alumni": gid},
            prune=True,
            max_removals=sizes.removals,
        )
    )

    jobs.append(
        _spread(
            emus["graph"],
            "Dept",
            sizes.graph_groups,
            sizes.graph_users,
            sizes.graph_per_user,
            rng,
        )
    )
    jobs.append(
        _spread(
            emus["okta"],
            "Team",
            sizes.okta_groups,
            sizes.okta_users,
            sizes.okta_per_user,
            rng,
        )
    )
    return jobs


def _spread(
    emu: Emulator[Any],
    prefix: str,
    groups: int,
    users: int,
    per_user: int,
    rng: random.Random,
) -> _Job:
    """Each user is to be in ``per_user`` groups and leave the one it is in (a prune)."""
    keys = emu.store.seed_users(users)
    names = [f"{prefix} {i + 1:02d}" for i in range(groups)]
    placed = {name: set[str]() for name in names}
    wanted = {name: set[str]() for name in names}
    for key in keys:
        first, *rest = rng.sample(names, per_user + 1)
        placed[first].add(key)  # in a group it is to leave
        for name in rest:
            wanted[name].add(key)
    gids = {name: emu.store.seed_group(name, members=placed[name]) for name in names}
    desired = {k: frozenset(v) for k, v in wanted.items()}
    return _Job(emu, desired, gids, prune=True, max_removals=users)


def _client(emu: Emulator[Any], concurrency: int) -> ag.Client:
    backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
    return ag.Client(
        backend,
        rate_limit=ag.RateLimit(max_concurrency=concurrency),
        retry=RETRY,
        timeout=10.0,
        concurrency=concurrency,
    )


def _store_converged(job: _Job) -> bool:
    """Whether the emulator's own store holds the desired memberships."""
    for name, keys in job.desired.items():
        members = job.emulator.store.members(job.gids[name])
        if not keys <= members or (job.prune and members != keys):
            return False
    return True


async def run_demo(args: argparse.Namespace, out: Output) -> int:
    """Run the demo; 0 when every backend converged, else 1."""
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        emus: dict[str, Emulator[Any]] = {}
        names = ("neuroio", "periscope", "snip", "graph", "okta")
        for seed_offset, name in enumerate(names):
            options: dict[str, Any] = OKTA_LIMITS if name == "okta" else {}
            emus[name] = await stack.enter_async_context(
                serve_emulator(name, seed=args.seed + seed_offset, **options)
            )
        jobs = _seed(emus, sizes, args.seed)
        if not args.no_faults:
            for i, emu in enumerate(emus.values()):
                emu.faults.random(
                    seed=args.seed * 101 + i,
                    p429=P429,
                    p503=P503,
                    pdrop=PDROP,
                    retry_after=0.05,  # a quick demo: its 429s ask 50 ms
                )
        # One emulator a line: the output fits 80 columns.
        out.info(
            "emulators up, "
            + (
                "no faults:"
                if args.no_faults
                else f"faults on ({P429:.0%} 429, {P503:.0%} HTML 503, "
                f"{PDROP:.0%} dropped):"
            )
        )
        for emu in emus.values():
            out.info(f"  {emu.name:<10} {emu.url}")
        clients = [
            await stack.enter_async_context(_client(job.emulator, args.concurrency))
            for job in jobs
        ]
        plans: list[SyncPlan] = await asyncio.gather(
            *(
                c.plan_sync(job.desired, prune=job.prune)
                for c, job in zip(clients, jobs, strict=True)
            )
        )
        for plan in plans:
            out.info(_plan_text(plan))
        apply_started = time.monotonic()
        # Faults are counted while applying, as the reports count requests.
        before = {e.name: dict(e.faults.counts) for e in emus.values()}
        with out.progress_bars() as bars:
            reports: list[SyncReport] = await asyncio.gather(
                *(
                    c.apply(
                        plan,
                        max_removals=job.max_removals,
                        on_progress=progress_callback(
                            bars.add(f"sync {plan.backend}", plan.operations)
                        ),
                    )
                    for c, job, plan in zip(clients, jobs, plans, strict=True)
                )
            )
        apply_seconds = time.monotonic() - apply_started
        faults = {
            e.name: {
                kind: count - before[e.name].get(kind, 0)
                for kind, count in e.faults.counts.items()
            }
            for e in emus.values()
        }
        replans: list[SyncPlan] = await asyncio.gather(
            *(
                c.plan_sync(job.desired, prune=job.prune)
                for c, job in zip(clients, jobs, strict=True)
            )
        )
        stored = [_store_converged(job) for job in jobs]
    total_seconds = time.monotonic() - started
    converged = (
        all(r.converged for r in reports)
        and all(p.operations == 0 for p in replans)
        and all(stored)
    )
    applied = sum(r.applied for r in reports)
    results: list[dict[str, Any]] = [
        {
            "backend": r.backend,
            "planned": p.operations,
            "applied": r.applied,
            "added": r.added,
            "removed": r.removed,
            "failed": r.failed,
            "requests": r.requests,
            "retries": r.retries,
            "throttled": r.throttled,
            "seconds": round(r.seconds, 3),
            "operations_per_second": round(r.operations_per_second, 1),
            "replan_operations": again.operations,
            "store_matches": ok,
            "faults": faults[r.backend],
        }
        for r, p, again, ok in zip(reports, plans, replans, stored, strict=True)
    ]
    summary = {
        "converged": converged,
        "applied": applied,
        "apply_seconds": round(apply_seconds, 3),
        "operations_per_second": round(applied / apply_seconds, 1)
        if apply_seconds > 0
        else 0.0,
        "total_seconds": round(total_seconds, 3),
        "quick": bool(args.quick),
        "backends": results,
    }
    if out.json_mode:
        out.json(summary)
    else:
        show_table(out, results)
        out.line(
            f"{applied} operations in {apply_seconds:.1f} s "
            f"({summary['operations_per_second']:.0f}/s), {total_seconds:.1f} s in all"
        )
        if converged:
            out.line("converged: a second plan finds 0 operations and")
            out.line("every emulator holds the desired memberships")
        else:
            out.line("NOT converged: see the table above")
            for report in reports:
                if not report.converged:
                    out.line(str(report))
    return 0 if converged else 1


def _plan_text(plan: SyncPlan) -> str:
    """One plan in a line that fits 80 columns."""
    adds = sum(len(g.to_add) for g in plan.groups)
    removes = sum(len(g.to_remove) for g in plan.groups)
    creates = sum(g.create for g in plan.groups)
    return (
        f"plan {plan.backend:<9}: {plural(len(plan.groups), 'group')}, "
        f"{creates} to create, {adds} to add, {removes} to remove "
        f"({plural(plan.operations, 'op')})"
    )


#: The demo table's columns, and the line beneath it that explains them.
COLUMNS = (
    "backend",
    "applied",
    "failed",
    "reqs",
    "retries",
    "faults",
    "secs",
    "ops/s",
    "replan",
)
LEGEND = "faults: 429/503/dropped injected; reqs include retries; replan 0 = converged"


def show_table(out: Output, results: Sequence[Mapping[str, Any]]) -> None:
    """The demo's table (one row per backend) and the legend beneath it.

    Kept narrow (short headers, numbers only) so that it fits 80 columns for
    any number of backends.
    """
    out.table(
        COLUMNS,
        [
            (
                row["backend"],
                row["applied"],
                row["failed"],
                row["requests"],
                row["retries"],
                _faults_text(row["faults"]),
                f"{row['seconds']:.1f}",
                f"{row['operations_per_second']:.0f}",
                row["replan_operations"],
            )
            for row in results
        ],
        title="demo: sync under injected faults",
    )
    out.line(LEGEND)


def _faults_text(counts: Mapping[str, int]) -> str:
    return f"{counts.get('429', 0)}/{counts.get('503', 0)}/{counts.get('drop', 0)}"
