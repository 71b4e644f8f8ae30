"""Apply's checks before writing: the removal limit and drift since planning.

`guard_removals` is pure; `drifted_groups` reads (only the groups the
plan writes) and never writes.
"""

from asyncgroups.errors import SyncAbortedError
from asyncgroups.sync.checks import removal_limit
from asyncgroups.sync.observe import Observed, check_complete, observe_each
from asyncgroups.sync.port import SyncClient
from asyncgroups.sync.syncplan import SyncPlan

__all__ = ["drifted_groups", "guard_removals"]


def guard_removals(plan: SyncPlan, max_removals: int | float | None) -> None:
    """Refuse a plan whose removals in some group exceed ``max_removals``.

    Raises:
        SyncAbortedError: naming each such group.
    """
    over = [
        f"{g.key}: {len(g.to_remove)} of {g.observed_count} "
        f"(limit {removal_limit(g.observed_count, max_removals)})"
        for g in plan.groups
        if len(g.to_remove) > removal_limit(g.observed_count, max_removals)
    ]
    if over:
        raise SyncAbortedError(
            "refusing to apply: removals exceed max_removals in "
            + "; ".join(over)
            + " (raise max_removals to allow it)"
        )


async def drifted_groups(
    client: SyncClient, plan: SyncPlan, concurrency: int | None
) -> list[str]:
    """Group keys the plan writes whose state changed since planning.

    Only the groups the plan adds to or removes from are read: a group it does not
    write cannot be harmed by a stale plan. An incomplete listing of a group with
    removals aborts.
    """
    existing = [
        g for g in plan.groups if g.group_id is not None and (g.to_add or g.to_remove)
    ]
    # Only the fingerprint and completeness are kept of each listing.
    observed = await observe_each(
        client,
        [g.group_id for g in existing if g.group_id],
        lambda _, seen: Observed(
            complete=seen.complete, error=seen.error, digest=seen.fingerprint
        ),
        concurrency=concurrency,
    )
    check_complete(
        {
            g.group_id: observed[g.group_id]
            for g in existing
            if g.group_id and g.to_remove
        }
    )
    drifted = [
        g.key
        for g in existing
        if g.group_id
        and g.complete
        and observed[g.group_id].complete
        and observed[g.group_id].fingerprint != g.fingerprint
    ]
    if any(g.create for g in plan.groups):
        names = set()
        async for group in client.groups.list():
            names.add(group.name if plan.by == "name" else group.id)
        drifted.extend(g.key for g in plan.groups if g.create and g.key in names)
    return drifted
