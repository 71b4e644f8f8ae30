"""NeuroIO under random faults: one group, exactly the pids asked for."""

from typing import Any

import asyncgroups as ag
from asyncgroups.testing import Emulator

STORM = ag.RetryPolicy(
    max_attempts=30, base_delay=0.001, max_delay=0.02, deadline=120.0, budget=None
)


async def test_create_and_fill_under_random_faults(neuroio: Emulator[Any]) -> None:
    """429/503/drops at random: one group named so, holding exactly the 5,000 pids."""
    pids = neuroio.store.seed_users(5_000)
    neuroio.faults.random(seed=11, p429=0.2, p503=0.1, pdrop=0.05, retry_after=0.01)
    backend = ag.backends.NeuroIO(
        base_url=neuroio.url, token=neuroio.credentials["token"]
    )
    async with ag.Client(backend, retry=STORM) as client:
        group = await client.groups.create("Stormy")
        result = await client.members.add(group.id, pids)
    assert result.ok, dict(list(result.failed.items())[:3])
    named = [g for g in neuroio.store.groups.values() if g.name == "Stormy"]
    assert [str(g.id) for g in named] == [group.id]
    assert neuroio.store.members(group.id) == frozenset(pids)
    counts = neuroio.faults.counts
    assert counts["429"] > 0
    assert counts["503"] > 0
    assert counts["drop"] > 0
