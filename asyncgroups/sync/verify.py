"""Verifying an apply: re-read the groups it touched and settle what they show.

Reads only (the Client's members listings). A change whose answer was lost, or
that failed with an error although the server applied it, is settled by what the
re-read shows (:meth:`~asyncgroups.sync.outcome.Outcome.settle`); whatever still
differs from the plan's intent is recorded as drift.
"""

from collections.abc import Mapping

from asyncgroups.sync.observe import observe
from asyncgroups.sync.outcome import Outcome
from asyncgroups.sync.port import SyncClient
from asyncgroups.sync.report import GroupDrift
from asyncgroups.sync.syncplan import SyncPlan

__all__ = ["verify"]


async def verify(
    client: SyncClient,
    plan: SyncPlan,
    outcomes: Mapping[str, Outcome],
    concurrency: int | None,
) -> bool:
    """Re-read every group with an id; ``True`` if each matches the plan's intent."""
    live = {o.group_id: o for o in outcomes.values() if o.group_id is not None}
    observed = await observe(client, list(live), concurrency=concurrency)
    verified = True
    for gid, outcome in live.items():
        seen = observed[gid]
        outcome.settle(seen.keys, complete=seen.complete)
        if not seen.complete:
            outcome.drift = GroupDrift(incomplete=True, error=seen.error)
            verified = False
            continue
        g = outcome.plan
        expected = set(g.desired) - set(g.unsupported) - set(g.unknown)
        missing = expected - seen.keys
        unexpected: set[str] = set()
        if plan.prune:
            unexpected = set(seen.keys) - set(g.desired) - set(g.unsupported)
        if missing or unexpected:
            outcome.drift = GroupDrift(missing, unexpected)
            verified = False
    return verified
