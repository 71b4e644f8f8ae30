"""The sync-under-faults check, shared by tests and ``benchmarks/truth_under_faults.py``.

A desired state over :data:`GROUPS` groups is seeded into an emulator; after the
sync, every key the plan touched must have exactly one outcome in the report, and
that outcome must agree with what the emulator's store holds.
"""

import random
from typing import Any

import asyncgroups as ag
from asyncgroups.sync import GroupReport, SyncPlan
from asyncgroups.testing import Emulator

GROUPS = 20
#: Groups each user is bound for (additions).
PER_USER = 5


def seed_state(
    emu: Emulator[Any], memberships: int, rng: random.Random
) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Desired state (additions, or removals on Snip) and each group's id."""
    names = [f"G{i:02d}" for i in range(GROUPS)]
    desired: dict[str, set[str]] = {}
    gids: dict[str, str] = {}
    if emu.name == "snip":
        per_group = memberships // GROUPS
        keys = emu.store.seed_users(4 * per_group)
        for name in names:
            members = rng.sample(keys, 2 * per_group)
            gids[name] = emu.store.seed_group(name, members=members)
            owner = emu.store.members(gids[name]) - set(members)
            desired[name] = set(members[:per_group]) | owner
        return desired, gids
    keys = emu.store.seed_users(memberships // PER_USER)
    for name in names:
        gids[name] = emu.store.seed_group(name)
        desired[name] = set()
    for key in keys:
        for name in rng.sample(names, PER_USER):
            desired[name].add(key)
    return desired, gids


def outcomes(group: GroupReport, key: str) -> list[str]:
    """Every outcome the report gives ``key`` (exactly one if it is consistent)."""
    kinds = {
        "applied": set(group.added) | set(group.removed),
        "failed": group.failed,
        "skipped": group.skipped,
        "unknown": group.unknown,
    }
    return [kind for kind, keys in kinds.items() if key in keys]


def mismatches(
    plan: SyncPlan, report: ag.SyncReport, emu: Emulator[Any], gids: dict[str, str]
) -> list[str]:
    """Keys whose outcome is not exactly one, or not what the store shows."""
    found: list[str] = []
    by_key = {g.key: g for g in report.groups}
    for g in plan.groups:
        stored = emu.store.members(gids[g.key])
        for key in (*g.to_add, *g.to_remove):
            outcome = outcomes(by_key[g.key], key)
            in_place = (key in stored) == (key in g.to_add)
            if len(outcome) != 1:
                found.append(f"{g.key}/{key}: {outcome}")
            elif outcome[0] != "unknown" and (outcome[0] == "applied") != in_place:
                found.append(f"{g.key}/{key}: {outcome[0]}, in place: {in_place}")
    return found
