"""A sync through 20 % 429 / 10 % 503 / 5 % drops converges and reports the store."""

import random
from typing import Any

from tests.backends.okta.conftest import FAST
from tests.truth.sync_truth import mismatches

import asyncgroups as ag
from asyncgroups.testing import serve_emulator


async def test_a_sync_through_faults_converges_and_its_report_is_the_store() -> None:
    async with serve_emulator("okta", seed=9) as emu:
        rng = random.Random(9)
        keys = emu.store.seed_users(60)
        desired: dict[str, set[str]] = {}
        gids: dict[str, str] = {}
        for g in range(8):
            name = f"Team {g}"
            gids[name] = emu.store.seed_group(name, members=rng.sample(keys, 10))
            desired[name] = set(rng.sample(keys, 25))
        backend = ag.connect("okta", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=FAST) as client:
            plan = await client.plan_sync(desired, prune=True)
            emu.faults.random(seed=9, p429=0.2, p503=0.1, pdrop=0.05, retry_after=0.05)
            report: Any = await client.apply(plan, max_removals=1.0)
            counts = dict(emu.faults.counts)
            assert mismatches(plan, report, emu, gids) == []
            again = await client.plan_sync(desired, prune=True)
        assert report.converged, str(report)
        assert again.operations == 0
        assert min(counts["429"], counts["503"]) > 0
        assert counts.get("drop_before", 0) + counts.get("drop_after", 0) > 0
        for name, wanted in desired.items():
            assert emu.store.members(gids[name]) == wanted
