"""A journaled apply resumes where it stopped, re-reading only unfinished groups.

Real HTTP against the NeuroIO emulator: an apply is cancelled part-way (writes in
flight), then resumed from its journal. The resumed apply sends only what is
left, lists only the groups whose writes were open, and reports outcomes across
both runs; the store ends equal to the desired state.
"""

import asyncio
import os
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.errors import InvalidInputError, SyncAbortedError
from asyncgroups.sync import ProgressEvent, RedisJournal, SQLiteJournal, partial_report
from asyncgroups.sync.journal import Entry, JournalStore, plan_fingerprint
from asyncgroups.testing import Emulator, serve_emulator

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
GROUPS = 12


def _seed(emu: Emulator[Any]) -> tuple[dict[str, set[str]], dict[str, str]]:
    rng = random.Random(3)
    pids = emu.store.seed_users(400)
    desired: dict[str, set[str]] = {}
    gids: dict[str, str] = {}
    for i in range(GROUPS):
        now = rng.sample(pids, 120)
        gids[f"G{i:02d}"] = emu.store.seed_group(f"G{i:02d}", members=now)
        desired[f"G{i:02d}"] = set(now[:100]) | set(rng.sample(pids, 130))
    return desired, gids


def _listings(emu: Emulator[Any]) -> set[str]:
    """The groups whose members were listed (by path)."""
    return {
        r.path.split("/")[-3]
        for r in emu.requests
        if r.method == "GET" and r.path.endswith("/pids/")
    }


async def _interrupted(
    client: ag.Client, plan: ag.SyncPlan, journal: JournalStore, after: int
) -> ag.SyncReport | None:
    """Apply with ``journal``; cancel it once ``after`` chunks settled."""
    settled = asyncio.Event()
    seen = 0

    def progress(event: ProgressEvent) -> None:
        nonlocal seen
        seen += 1
        if seen >= after:
            settled.set()

    task = asyncio.create_task(
        client.apply(plan, max_removals=1.0, journal=journal, on_progress=progress)
    )
    waiter = asyncio.create_task(settled.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        return task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError as exc:
        return partial_report(exc)
    return None


@pytest.fixture(params=["sqlite", "redis"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> JournalStore:
    if request.param == "sqlite":
        return SQLiteJournal(tmp_path / "sync.journal")
    url = os.environ.get("ASYNCGROUPS_TEST_REDIS_URL")
    if not url:
        pytest.skip("ASYNCGROUPS_TEST_REDIS_URL is not set")
    return RedisJournal(url, f"asyncgroups-test:{uuid.uuid4().hex}")


async def test_a_cancelled_apply_resumes_and_converges(journal: JournalStore) -> None:
    async with serve_emulator("neuroio", seed=4) as emu:
        desired, gids = _seed(emu)
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, concurrency=4) as client:
            plan = await client.plan_sync(desired, prune=True)
            first = await _interrupted(client, plan, journal, after=6)
            assert first is not None
            assert not first.converged
            done_before = {
                (g.key, k) for g in first.groups for k in (*g.added, *g.removed)
            }
            assert done_before
            emu.clear_requests()
            second = await client.apply(plan, max_removals=1.0, journal=journal)
        assert second.resumed
        assert second.converged, str(second)
        assert second.applied == plan.operations
        # Only the groups with writes left open were listed before writing.
        entries = journal.open(plan_fingerprint(plan))
        journal.close()
        assert any(e.kind == "checked" for e in entries)
        writes = [r for r in emu.requests if r.method in WRITES]
        assert len(writes) < len([e for e in entries if e.kind == "intent"])
        for name, gid in gids.items():
            assert emu.store.members(gid) == desired[name]


async def test_the_resumed_run_reads_only_unfinished_groups(tmp_path: Path) -> None:
    async with serve_emulator("neuroio", seed=8) as emu:
        desired, gids = _seed(emu)
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, concurrency=4) as client:
            plan = await client.plan_sync(desired, prune=True)
            store = SQLiteJournal(tmp_path / "j")
            await _interrupted(client, plan, store, after=3)
            from asyncgroups.sync.resume import replay

            reader = SQLiteJournal(tmp_path / "j")
            state = replay(reader.open(plan_fingerprint(plan)))
            reader.close()
            open_groups = state.unfinished_groups
            emu.clear_requests()
            report = await client.apply(
                plan, max_removals=1.0, journal=SQLiteJournal(tmp_path / "j"),
                verify=False,
            )  # fmt: skip
        assert _listings(emu) == open_groups
        assert open_groups
        pages = [r for r in emu.requests if r.method == "GET"]
        assert report.drift_reads == len(pages)
        assert report.converged or report.verified is None
        for name, gid in gids.items():
            assert emu.store.members(gid) == desired[name]


async def test_a_journal_of_another_plan_is_refused(tmp_path: Path) -> None:
    async with serve_emulator("neuroio", seed=9) as emu:
        desired, _ = _seed(emu)
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            plan = await client.plan_sync(desired, prune=True)
            other = await client.plan_sync({k: set() for k in desired}, prune=False)
            path = tmp_path / "j"
            other_run = SQLiteJournal(path)
            other_run.open(plan_fingerprint(other))
            other_run.close()
            emu.clear_requests()
            with pytest.raises(SyncAbortedError, match="another plan"):
                await client.apply(plan, max_removals=1.0, journal=SQLiteJournal(path))
            with pytest.raises(InvalidInputError):
                await client.apply(plan, journal=SQLiteJournal(path), replan=True)
        assert emu.requests == []


def test_entries_round_trip_and_the_plan_is_kept(tmp_path: Path) -> None:
    store = SQLiteJournal(tmp_path / "j")
    assert store.read_plan() is None
    assert store.open("f" * 64, '{"plan": 1}') == []
    entry = Entry("intent", "add", ("1", "2"), ("a\nb", "é"))
    store.append([entry, Entry("checked")])
    store.close()
    again = SQLiteJournal(tmp_path / "j")
    assert again.open("f" * 64) == [entry, Entry("checked")]
    again.close()
    assert again.read_plan() == '{"plan": 1}'


async def test_drift_check_and_verify_read_only_written_groups() -> None:
    async with serve_emulator("neuroio", seed=10) as emu:
        pids = emu.store.seed_users(50)
        gids = [emu.store.seed_group(f"G{i}", members=pids[:10]) for i in range(20)]
        desired = {f"G{i}": set(pids[:10]) for i in range(20)}
        desired["G3"] = set(pids[:12])
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            plan = await client.plan_sync(desired, prune=True)
            emu.clear_requests()
            report = await client.apply(plan)
        assert _listings(emu) == {gids[3]}
        assert report.drift_reads == 1
        assert report.verify_reads == 1
        assert report.converged


async def test_a_stale_plan_still_refuses_to_prune_a_member_added_since() -> None:
    async with serve_emulator("neuroio", seed=11) as emu:
        pids = emu.store.seed_users(30)
        gid = emu.store.seed_group("G", members=pids[:12])
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            plan = await client.plan_sync({"G": set(pids[:10])}, prune=True)
            emu.store.groups[int(gid)].pids[pids[20]] = None
            with pytest.raises(SyncAbortedError, match="changed since planning"):
                await client.apply(plan)
        assert pids[20] in emu.store.members(gid)
        assert emu.store.members(gid) >= set(pids[:12])
