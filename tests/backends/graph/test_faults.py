"""Graph under random faults: a sync converges and its report equals the store."""

from typing import Any

import asyncgroups as ag
from asyncgroups.testing import Emulator

STORM = ag.RetryPolicy(
    max_attempts=30, base_delay=0.001, max_delay=0.02, deadline=120.0, budget=None
)


async def test_sync_through_a_fault_storm_converges_and_reports_the_truth(
    graph: Emulator[Any],
) -> None:
    """20 % 429, 10 % 503, 5 % drops: exact end state, and the report says so."""
    keys = graph.store.seed_users(600)
    desired: dict[str, set[str]] = {}
    before: dict[str, frozenset[str]] = {}
    for i in range(12):
        own = keys[i * 50 : (i + 1) * 50]
        name = f"Team {i}"
        gid = graph.store.seed_group(name, members=own[:30])
        before[name] = graph.store.members(gid)
        desired[name] = set(own[10:50])
    for name in ("New A", "New B"):
        desired[name] = set(keys[:25])
        before[name] = frozenset()
    graph.faults.random(seed=7, p429=0.2, p503=0.1, pdrop=0.05, retry_after=0.01)
    backend = ag.connect("graph", base_url=graph.url, **graph.credentials)
    async with ag.Client(backend, retry=STORM) as client:
        plan = await client.plan_sync(desired, prune=True, create_groups=True)
        report = await client.apply(plan)
    graph.faults.clear()
    assert report.failed == 0, str(report)
    assert report.converged, str(report)
    by_name = {g.display_name: g for g in graph.store.groups.values()}
    assert sorted(by_name) == sorted(desired)  # no group created twice
    for group in report.groups:
        assert group.group_id is not None
        held = graph.store.members(group.group_id)
        assert held == desired[group.key]
        assert set(group.added) == held - before[group.key]
        assert set(group.removed) == before[group.key] - held
        assert group.created == (group.key.startswith("New"))
    counts = graph.faults.counts
    assert counts["429"] > 0
    assert counts["503"] > 0
    assert counts["drop"] > 0
