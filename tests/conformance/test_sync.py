"""End-to-end desired-state sync on every backend, checked from both sides."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.sync import desired_from_client
from asyncgroups.testing import Emulator, Fault, serve_emulator

C = ag.Capability
FAST_RETRY = ag.RetryPolicy(
    max_attempts=12, base_delay=0.005, max_delay=0.1, deadline=60.0, budget=None
)


def writes(emulator: Emulator[Any]) -> list[str]:
    """Every request that could change state (anything but GET or a token request)."""
    return [
        f"{r.method} {r.path}"
        for r in emulator.requests
        if r.method != "GET" and not r.path.endswith("/oauth2/v2.0/token")
    ]


def protected(emulator: Emulator[Any], gid: str, seeded: set[str]) -> frozenset[str]:
    """Members the store put in a seeded group beyond those asked for (Snip's owner)."""
    extra: frozenset[str] = emulator.store.members(gid) - seeded
    return extra


async def test_sync_from_empty_creates_groups_and_rerun_sends_no_write(
    backend_name, emulator, client
):
    """Missing groups are created and filled; a second run sends zero writes."""
    if not {C.GROUPS_CREATE, C.MEMBERS_ADD} <= client.capabilities:
        pytest.skip(f"{backend_name} cannot create groups and add members")
    keys = emulator.store.seed_users(30)
    desired = {"sync-a": set(keys[:20]), "sync-b": set(keys[10:])}
    plan = await client.plan_sync(desired, create_groups=True, prune=True)
    assert [g.create for g in plan.groups] == [True, True]
    report = await client.apply(plan)
    assert report.converged, str(report)
    assert report.verified is True
    assert report.created == 2
    for group in report.groups:
        assert group.group_id is not None
        assert emulator.store.members(group.group_id) == desired[group.key]
    emulator.clear_requests()
    again = await client.plan_sync(desired, create_groups=True, prune=True)
    assert again.empty, str(again)
    rerun = await client.apply(again)
    assert rerun.converged
    assert writes(emulator) == []


async def test_prune_removes_exactly_the_extras(backend_name, emulator, client):
    """Prune removes the members not desired, and only those."""
    keys = emulator.store.seed_users(20)
    gid = emulator.store.seed_group("eng", members=keys[:15])
    kept = protected(emulator, gid, set(keys[:15]))
    plan = await client.plan_sync({"eng": keys[:10]}, prune=True)
    assert plan.groups[0].to_remove == tuple(sorted(keys[10:15]))
    assert plan.groups[0].to_add == ()
    report = await client.apply(plan)
    assert set(report.groups[0].removed) == set(keys[10:15])
    assert not report.groups[0].failed
    assert emulator.store.members(gid) == set(keys[:10]) | kept
    # An owner the prune may not remove is skipped: then the sync has not converged.
    assert report.converged is not bool(kept), str(report)


async def test_random_faults_still_converge_exactly(backend_name, emulator, client):
    """Through random 429s, 503s and dropped connections the final state is exact."""
    keys = emulator.store.seed_users(60)
    can_add = C.MEMBERS_ADD in client.capabilities
    gids, kept, desired = {}, {}, {}
    for i in range(6):
        name = f"eng{i}"
        seeded = set(keys[i * 5 : i * 5 + 20])
        gids[name] = emulator.store.seed_group(name, members=seeded)
        kept[name] = protected(emulator, gids[name], seeded)
        desired[name] = set(keys[i * 5 + 10 : i * 5 + (30 if can_add else 20)])
    emulator.faults.random(seed=11, p429=0.1, p503=0.05, pdrop=0.02, retry_after=0.05)
    plan = await client.plan_sync(desired, prune=True)
    report = await client.apply(plan)
    emulator.faults.clear()
    assert report.failed == 0, str(report)
    for name, gid in gids.items():
        assert emulator.store.members(gid) == desired[name] | kept[name]
    assert report.converged is not any(kept.values())
    assert sum(emulator.faults.counts[k] for k in ("429", "503", "drop")) > 0


@pytest.mark.parametrize("backend_name", ["snip"])
async def test_snip_additions_are_unsupported_and_skipped(
    backend_name, emulator, client
):
    """Snip cannot add: additions are unsupported in the plan, skipped in the report."""
    keys = emulator.store.seed_users(5)
    gid = emulator.store.seed_group("eng", members=keys[:2])
    plan = await client.plan_sync({"eng": keys[:4]})
    assert set(plan.groups[0].unsupported) == set(keys[2:4])
    assert plan.operations == 0
    assert "! " in str(plan)
    report = await client.apply(plan)
    assert set(keys[2:4]) <= set(report.groups[0].skipped)
    assert not report.failed
    assert writes(emulator) == []
    assert emulator.store.members(gid) >= set(keys[:2])


#: Per backend: emulator options, backend options, and a predicate matching every
#: page of a members listing after the first (or the one request of an unpaged one).
BROKEN_LISTING: dict[
    str, tuple[dict[str, Any], dict[str, Any], Callable[[web.Request], bool]]
] = {
    "graph": (
        {},
        {"page_size": 20},
        lambda r: (
            r.method == "GET"
            and r.path.endswith("/members")
            and "$skiptoken" in r.query
        ),
    ),
    "neuroio": (
        {},
        {"page_size": 20},
        lambda r: (
            r.method == "GET"
            and r.path.endswith("/pids/")
            and r.query.get("offset", "0") != "0"
        ),
    ),
    "okta": (
        {},
        {"page_size": 20},
        lambda r: (
            r.method == "GET" and r.path.endswith("/users") and "after" in r.query
        ),
    ),
    "periscope": (
        {"users_page_size": 20},
        {},
        lambda r: (
            r.method == "GET"
            and r.path.rstrip("/") == "/api/v1/users"
            and "next_page_start" in r.query
        ),
    ),
    "scim": (
        {},
        {},
        lambda r: r.method == "GET" and r.query.get("attributes") == "members",
    ),
    "snip": (
        {},
        {},
        lambda r: (
            r.method == "GET"
            and re.fullmatch(r"/+api/account/groups/\d+/?", r.path) is not None
        ),
    ),
}


@asynccontextmanager
async def paged(backend_name: str) -> AsyncIterator[tuple[Emulator[Any], ag.Client]]:
    emu_options, backend_options, _ = BROKEN_LISTING[backend_name]
    async with serve_emulator(backend_name, seed=1, **emu_options) as emu:
        backend = ag.connect(
            emu.name, base_url=emu.url, **emu.credentials, **backend_options
        )
        async with ag.Client(backend, retry=FAST_RETRY) as c:
            yield emu, c


async def test_broken_members_listing_refuses_prune(backend_name):
    """A listing that fails after its first page makes prune refuse; nothing is removed."""
    if backend_name not in BROKEN_LISTING:
        pytest.skip(f"no scripted members-listing fault for {backend_name}")
    async with paged(backend_name) as (emulator, client):
        keys = emulator.store.seed_users(50)
        gid = emulator.store.seed_group("eng", members=keys)
        before = emulator.store.members(gid)
        plan = await client.plan_sync({"eng": keys[:45]}, prune=True)
        assert len(plan.groups[0].to_remove) == 5
        emulator.faults.add(Fault.status(500), when=BROKEN_LISTING[backend_name][2])
        with pytest.raises(ag.SyncAbortedError, match="incomplete"):
            await client.plan_sync({"eng": keys[:45]}, prune=True)
        with pytest.raises(ag.SyncAbortedError, match="incomplete"):
            await client.apply(plan)
        assert emulator.faults.counts["500"] >= 2
        assert writes(emulator) == []
        assert emulator.store.members(gid) == before


async def test_max_removals_stops_mass_removal_before_any_request(
    backend_name, emulator, client
):
    """A removal above max_removals aborts before a single request is sent."""
    keys = emulator.store.seed_users(50)
    gid = emulator.store.seed_group("eng", members=keys)
    before = emulator.store.members(gid)
    plan = await client.plan_sync({"eng": keys[:5]}, prune=True)
    emulator.clear_requests()
    with pytest.raises(ag.SyncAbortedError, match="max_removals"):
        await client.apply(plan)
    with pytest.raises(ag.SyncAbortedError, match="max_removals"):
        await client.apply(plan, max_removals=0.5)
    assert emulator.requests == []
    assert emulator.store.members(gid) == before


async def test_bad_keys_are_isolated_and_each_is_named(backend_name, emulator, client):
    """Good keys apply; each bad key is reported with its reason."""
    if C.MEMBERS_ADD not in client.capabilities:
        pytest.skip(f"{backend_name} cannot add members")
    keys = emulator.store.seed_users(12)
    gid = emulator.store.seed_group("eng")
    bad = [
        f"ghost{i}@example.com" if "@" in keys[0] else f"ghost-{i}" for i in range(3)
    ]
    plan = await client.plan_sync({"eng": keys + bad})
    report = await client.apply(plan)
    group = report.groups[0]
    reasons = {**{k: str(e) for k, e in group.failed.items()}, **group.skipped}
    assert set(bad) <= set(reasons)
    assert all(reasons[k] for k in bad)
    assert set(group.added) == set(keys)
    assert emulator.store.members(gid) == set(keys)


async def test_mirror_neuroio_group_into_periscope_with_key_map():
    """1,000 NeuroIO members mirrored into a Periscope group through a key_map converge."""
    async with (
        serve_emulator("neuroio", seed=1) as neuro,
        serve_emulator("periscope", seed=1) as peri,
    ):
        pids = neuro.store.seed_users(1000)
        neuro.store.seed_group("src", members=pids)
        emails = peri.store.seed_users(1000)
        stale = peri.store.seed_users(5)
        peri.store.seed_group("dst", members=emails[:100] + stale)
        key_map = dict(zip(pids, emails, strict=True))
        source = ag.connect("neuroio", base_url=neuro.url, **neuro.credentials)
        target = ag.connect("periscope", base_url=peri.url, **peri.credentials)
        async with (
            ag.Client(source, retry=FAST_RETRY) as src,
            ag.Client(target, retry=FAST_RETRY) as dst,
        ):
            desired = await desired_from_client(src, {"src": "dst"}, key_map=key_map)
            assert desired == {"dst": frozenset(emails)}
            plan = await dst.plan_sync(desired, prune=True)
            assert len(plan.groups[0].to_add) == 900
            assert len(plan.groups[0].to_remove) == 5
            report = await dst.apply(plan)
            assert report.converged, str(report)
            assert peri.store.members("dst") == set(emails)
            assert (await dst.plan_sync(desired, prune=True)).empty


async def test_a_failing_progress_callback_stops_every_write():
    """A bug in ``on_progress`` fails apply and cancels the sibling writes with it."""
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(1000)
        gids = [emu.store.seed_group(f"g{i}") for i in range(5)]
        emu.faults.add(Fault.latency(0.05))
        sent: list[str] = []
        hooks = ag.Hooks(on_request=lambda event: sent.append(event.method))
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)

        def members() -> int:
            return sum(len(emu.store.members(g)) for g in gids)

        def boom(event: Any) -> None:
            raise RuntimeError("progress callback bug")

        async with ag.Client(backend, concurrency=2, hooks=hooks) as client:
            plan = await client.plan_sync({f"g{i}": keys for i in range(5)})
            sent.clear()
            with pytest.raises(RuntimeError, match="progress callback bug"):
                await client.apply(plan, on_progress=boom)
            sent_at_raise, members_at_raise = len(sent), members()
            await asyncio.sleep(0.5)
            assert len(sent) == sent_at_raise  # nothing sent after apply raised
            # only writes already in flight when it raised (at most 2, each of at
            # most max_batch keys to the 5 groups) may have landed since
            assert members() - members_at_raise <= 2 * backend.max_batch * 5
            assert members() < 5000
