"""A sync through 30 % faults: every key's reported outcome is what the store holds.

The faults are the emulators' seeded random ones (429 with Retry-After, HTML 503,
connections dropped after the server applied the request), on every request,
with the Client's default retry policy and budget. The full figure (5,000
memberships over 20 groups per backend) is ``benchmarks/truth_under_faults.py``;
here the same sync runs at 1,000.
"""

import random

import pytest
from tests.truth.sync_truth import mismatches, seed_state

import asyncgroups as ag
from asyncgroups.testing import serve_emulator


@pytest.mark.parametrize(
    ("kind", "memberships"),
    [
        ("neuroio", 1000),
        ("periscope", 1000),
        ("snip", 1000),
        ("graph", 1000),
        ("okta", 300),
    ],
)
async def test_sync_through_30_percent_faults_reports_the_truth(
    kind: str, memberships: int
) -> None:
    async with serve_emulator(kind, seed=7) as emu:
        desired, gids = seed_state(emu, memberships, random.Random(7))
        backend = ag.connect(kind, base_url=emu.url, **emu.credentials)
        prune = kind == "snip"
        async with ag.Client(backend) as client:
            plan = await client.plan_sync(desired, prune=prune)
            assert plan.operations == memberships
            emu.faults.random(seed=7, p429=0.1, p503=0.1, pdrop=0.1, retry_after=0.05)
            report = await client.apply(plan, max_removals=1.0)
        assert mismatches(plan, report, emu, gids) == []
        assert report.unknown == 0, str(report)
        assert report.applied + report.failed == memberships
        counts = emu.faults.counts
        assert min(counts["429"], counts["503"], counts["drop_after"]) > 0
        # a second plan (read without faults: a listing cut short by a fault
        # would make the plan differ for reasons this test is not about) holds
        # exactly what failed, and its apply through the same faults converges
        emu.faults.clear()
        async with ag.Client(backend) as client:
            again = await client.plan_sync(desired, prune=prune)
            assert again.operations == report.failed
            emu.faults.random(seed=8, p429=0.1, p503=0.1, pdrop=0.1, retry_after=0.05)
            second = await client.apply(again, max_removals=1.0)
        assert second.converged, str(second)
        for name, keys in desired.items():
            assert emu.store.members(gids[name]) == keys
