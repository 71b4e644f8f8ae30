"""Okta: a sync paced per endpoint family by the X-Rate-Limit-* headers alone.

The Okta emulator's members endpoint (``/api/v1/groups/{id}/users``: listings and
membership PUTs) allows ``--limit`` requests per ``--window`` seconds; the groups
endpoint has a budget of its own. Both are announced only in the
``X-Rate-Limit-Limit``/``-Remaining``/``-Reset`` headers of every answer: the Client
is told nothing. A sync adds ``--memberships`` over ``--groups`` empty groups.

Figures: wall ÷ the budget's bound (members-endpoint requests ÷ limit, times window,
the least time the server's budget allows; targets ≤ 1.10), and the share of
requests answered 429 (target ≤ 1 %). The sync must converge, and its report must
equal what the emulator's store holds.

Run: ``python benchmarks/okta_pacing.py [--quick]``
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
from asyncgroups.testing import serve_emulator
from benchmarks._common import table, verdict, write_result


def _members_endpoint(path: str) -> bool:
    """``/api/v1/groups/{id}/users`` and ``.../users/{uid}``: one budget."""
    return path.startswith("/api/v1/groups/") and "/users" in path


async def run(
    memberships: int, groups: int, limit: int, window: float
) -> dict[str, Any]:
    per_group = memberships // groups
    async with serve_emulator(
        "okta", seed=5, limits={"members": limit, "groups": 100}, window=window
    ) as emu:
        keys = emu.store.seed_users(per_group * 2)
        desired: dict[str, set[str]] = {}
        gids: dict[str, str] = {}
        for g in range(groups):
            name = f"Team {g:02d}"
            gids[name] = emu.store.seed_group(name)
            start = (g * 13) % per_group
            desired[name] = set(keys[start : start + per_group])
        backend = ag.connect("okta", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            started = time.perf_counter()
            plan = await client.plan_sync(desired)
            report = await client.apply(plan)
            wall = time.perf_counter() - started
        assert plan.operations == per_group * groups
        assert report.converged, str(report)
        for name, wanted in desired.items():
            assert emu.store.members(gids[name]) == wanted
        members = sum(1 for r in emu.requests if _members_endpoint(r.path))
        limited = sum(emu.store.rate_limited.values())
        total = len(emu.requests)
    bound = members / limit * window
    return {
        "memberships": plan.operations,
        "groups": groups,
        "limit": limit,
        "window": window,
        "requests": total,
        "members_requests": members,
        "answered_429": limited,
        "share_429": limited / total,
        "wall": wall,
        "bound": bound,
        "wall_ratio": wall / bound,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memberships", type=int, default=None)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    memberships = args.memberships or (500 if args.quick else 2000)
    window = 2.5 if args.quick and args.window == 10.0 else args.window
    result = asyncio.run(run(memberships, args.groups, args.limit, window))
    print(
        table(
            ["figure", "value", "target", "verdict"],
            [
                [
                    "wall ÷ budget bound",
                    result["wall_ratio"],
                    "≤ 1.10",
                    verdict(result["wall_ratio"], 1.10, at_most=True),
                ],
                [
                    "share answered 429",
                    result["share_429"],
                    "≤ 0.01",
                    verdict(result["share_429"], 0.01, at_most=True),
                ],
            ],
        )
    )
    print(
        f"{result['memberships']} memberships, {result['requests']} requests "
        f"({result['members_requests']} on the members endpoint), "
        f"{result['answered_429']} answered 429, {result['wall']:.1f} s for a bound "
        f"of {result['bound']:.1f} s"
    )
    write_result("okta_pacing", result)


if __name__ == "__main__":
    main()
